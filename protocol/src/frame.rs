//! The message channel's frame: an 8-byte header, then `len` payload bytes.
//!
//! ```text
//! offset size field
//!  0     4    len: payload bytes, u32 little-endian
//!  4     1    nfds: fds carried with the frame
//!  5     1    kind: 0 data, 1 shared memory
//!  6     2    reserved, 0
//! ```
//!
//! A shared-memory frame (kind 1) carries exactly one fd, a sealed memfd,
//! and its payload begins with a 12-byte [`ShmHeader`].

use crate::error::PeerError;
use crate::limits::Limits;

/// Length of a frame header.
pub const HEADER_LEN: usize = 8;
/// Length of the shared-memory header at the start of a kind-1 payload.
pub const SHM_HEADER_LEN: usize = 12;
/// Header `kind` of a data frame.
pub const KIND_DATA: u8 = 0;
/// Header `kind` of a shared-memory frame.
pub const KIND_SHM: u8 = 1;

/// Linux seal bits (`F_SEAL_*` of `fcntl(2)`), as they travel in [`ShmHeader::seals`].
pub mod seals {
    /// `F_SEAL_SEAL`: no more seals can be added.
    pub const SEAL: u32 = 0x0001;
    /// `F_SEAL_SHRINK`: the file cannot shrink.
    pub const SHRINK: u32 = 0x0002;
    /// `F_SEAL_GROW`: the file cannot grow.
    pub const GROW: u32 = 0x0004;
    /// `F_SEAL_WRITE`: the contents cannot change.
    pub const WRITE: u32 = 0x0008;
    /// `F_SEAL_FUTURE_WRITE`: no new writable mappings.
    pub const FUTURE_WRITE: u32 = 0x0010;
    /// Seals every shared-memory frame must announce (and the fd must carry).
    pub const REQUIRED: u32 = SEAL | SHRINK | GROW;
}

/// A frame header's fields as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Payload bytes after the header.
    pub len: u32,
    /// Fds carried with the frame.
    pub nfds: u8,
    /// 0 data, 1 shared memory.
    pub kind: u8,
    /// Must be 0.
    pub reserved: u16,
}

impl Header {
    /// The 8 wire bytes.
    #[inline]
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..4].copy_from_slice(&self.len.to_le_bytes());
        h[4] = self.nfds;
        h[5] = self.kind;
        h[6..8].copy_from_slice(&self.reserved.to_le_bytes());
        h
    }

    /// Splits 8 wire bytes into fields; no check.
    #[inline]
    pub fn from_bytes(h: &[u8; HEADER_LEN]) -> Self {
        Header {
            len: u32::from_le_bytes([h[0], h[1], h[2], h[3]]),
            nfds: h[4],
            kind: h[5],
            reserved: u16::from_le_bytes([h[6], h[7]]),
        }
    }

    /// The checks made on a header before any of its payload is buffered,
    /// in this order: kind, reserved, length, fd count, then the
    /// shared-memory rules (exactly one fd, room for the 12-byte header).
    #[inline]
    pub fn check(&self, limits: Limits) -> Result<(), PeerError> {
        if self.kind > KIND_SHM {
            return Err(PeerError::FrameBadKind);
        }
        if self.reserved != 0 {
            return Err(PeerError::FrameReserved);
        }
        if self.len > limits.max_payload() {
            return Err(PeerError::FrameTooLarge);
        }
        if self.nfds > limits.max_fds() {
            return Err(PeerError::FrameTooManyFds);
        }
        if self.kind == KIND_SHM {
            if self.nfds != 1 {
                return Err(PeerError::ShmFdCount);
            }
            if (self.len as usize) < SHM_HEADER_LEN {
                return Err(PeerError::ShmShort);
            }
        }
        Ok(())
    }

    /// Header plus payload.
    #[inline]
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + self.len as usize
    }
}

/// The fields that open a shared-memory frame's payload.
///
/// ```text
/// offset size field
///  0     8    size: the memfd's size in bytes, u64 little-endian
///  8     4    seals: F_SEAL_* bits the sender applied, u32 little-endian
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShmHeader {
    /// The region's exact size.
    pub size: u64,
    /// The seals the sender applied (see [`seals`]).
    pub seals: u32,
}

impl ShmHeader {
    /// The 12 wire bytes.
    pub fn to_bytes(&self) -> [u8; SHM_HEADER_LEN] {
        let mut b = [0u8; SHM_HEADER_LEN];
        b[0..8].copy_from_slice(&self.size.to_le_bytes());
        b[8..12].copy_from_slice(&self.seals.to_le_bytes());
        b
    }

    /// Parses the first 12 bytes of a kind-1 payload.
    pub fn parse(p: &[u8]) -> Result<Self, PeerError> {
        let b: &[u8; SHM_HEADER_LEN] = p
            .get(..SHM_HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(PeerError::ShmShort)?;
        let mut size = [0u8; 8];
        size.copy_from_slice(&b[0..8]);
        Ok(ShmHeader {
            size: u64::from_le_bytes(size),
            seals: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
        })
    }

    /// The receiver's checks on the announced fields: the required seals,
    /// then the size against the receiver's cap. (The driver then checks
    /// the fd itself: `F_GET_SEALS`, then `fstat`.)
    pub fn check(&self, max_size: u64) -> Result<(), PeerError> {
        if self.seals & seals::REQUIRED != seals::REQUIRED {
            return Err(PeerError::ShmSeals);
        }
        if self.size > max_size {
            return Err(PeerError::ShmTooLarge);
        }
        Ok(())
    }
}

/// What a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Kind 0: application bytes and 0 or more fds.
    Data,
    /// Kind 1: a sealed memfd (the frame's one fd) of this size and seals.
    SharedMemory(ShmHeader),
}

impl Kind {
    /// The header's `kind` byte.
    pub fn byte(&self) -> u8 {
        match self {
            Kind::Data => KIND_DATA,
            Kind::SharedMemory(_) => KIND_SHM,
        }
    }
}
