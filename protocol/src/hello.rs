//! The 16-byte handshake messages: the client's hello and the server's reply.
//!
//! ```text
//! offset size field
//!  0     4    magic "MON\0" (4D 4F 4E 00)
//!  4     1    hello: highest version spoken; reply: see Reply::version
//!  5     1    hello: flags (bit 0 = mutual); reply: status
//!  6     2    most fds per frame accepted, u16 little-endian (<= 253)
//!  8     4    largest frame payload accepted, u32 little-endian
//! 12     4    reserved, 0
//! ```

use crate::limits::{Limits, MAX_FDS_PER_FRAME};

pub use crate::status::Status;

/// Length of the hello and of the reply.
pub const HELLO_LEN: usize = 16;
/// The first four bytes of both handshake messages.
pub const MAGIC: [u8; 4] = *b"MON\0";
/// The protocol version this crate speaks (it is also the lowest).
pub const VERSION: u8 = 1;
/// Hello flag bit 0: the client asks the server to attach its credentials.
pub const FLAG_MUTUAL: u8 = 0x01;

/// The client's hello, as sent or as parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The highest version the client speaks.
    pub version: u8,
    /// Flag byte; only [`FLAG_MUTUAL`] is defined in v1.
    pub flags: u8,
    /// Most fds per frame as on the wire (not yet checked against 253).
    pub max_fds: u16,
    /// Largest payload per frame.
    pub max_payload: u32,
    /// The reserved field.
    pub reserved: u32,
}

/// The server's reply, as sent or as parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The negotiated version on status 0, the server's highest otherwise.
    pub version: u8,
    /// The status byte.
    pub status: u8,
    /// The server's own most fds per frame.
    pub max_fds: u16,
    /// The server's own largest payload.
    pub max_payload: u32,
    /// The reserved field.
    pub reserved: u32,
}

/// Why 16 bytes are not a well-formed message, in the order checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Defect {
    Magic,
    Limit,
}

fn encode(b4: u8, b5: u8, max_fds: u16, max_payload: u32, reserved: u32) -> [u8; HELLO_LEN] {
    let mut m = [0u8; HELLO_LEN];
    m[0..4].copy_from_slice(&MAGIC);
    m[4] = b4;
    m[5] = b5;
    m[6..8].copy_from_slice(&max_fds.to_le_bytes());
    m[8..12].copy_from_slice(&max_payload.to_le_bytes());
    m[12..16].copy_from_slice(&reserved.to_le_bytes());
    m
}

/// Splits 16 bytes into fields after checking the magic.
fn decode(m: &[u8; HELLO_LEN]) -> Result<(u8, u8, u16, u32, u32), Defect> {
    if m[0..4] != MAGIC {
        return Err(Defect::Magic);
    }
    let le16 = u16::from_le_bytes([m[6], m[7]]);
    let le32 = |i: usize| u32::from_le_bytes([m[i], m[i + 1], m[i + 2], m[i + 3]]);
    Ok((m[4], m[5], le16, le32(8), le32(12)))
}

impl Hello {
    /// The hello a v1 client sends.
    pub fn new(limits: Limits, mutual: bool) -> Self {
        Hello {
            version: VERSION,
            flags: if mutual { FLAG_MUTUAL } else { 0 },
            max_fds: limits.max_fds().into(),
            max_payload: limits.max_payload(),
            reserved: 0,
        }
    }

    /// The 16 wire bytes.
    pub fn to_bytes(&self) -> [u8; HELLO_LEN] {
        encode(
            self.version,
            self.flags,
            self.max_fds,
            self.max_payload,
            self.reserved,
        )
    }

    /// Parses the fields; only the magic is checked here.
    pub(crate) fn parse(m: &[u8; HELLO_LEN]) -> Result<Self, Defect> {
        let (version, flags, max_fds, max_payload, reserved) = decode(m)?;
        Ok(Hello {
            version,
            flags,
            max_fds,
            max_payload,
            reserved,
        })
    }

    /// Whether the client asks for the server's credentials.
    pub fn mutual(&self) -> bool {
        self.flags & FLAG_MUTUAL != 0
    }
}

impl Reply {
    /// The 16 wire bytes.
    pub fn to_bytes(&self) -> [u8; HELLO_LEN] {
        encode(
            self.version,
            self.status,
            self.max_fds,
            self.max_payload,
            self.reserved,
        )
    }

    /// Parses the fields; only the magic is checked here.
    pub(crate) fn parse(m: &[u8; HELLO_LEN]) -> Result<Self, Defect> {
        let (version, status, max_fds, max_payload, reserved) = decode(m)?;
        Ok(Reply {
            version,
            status,
            max_fds,
            max_payload,
            reserved,
        })
    }
}

/// A wire fds field as [`Limits`], if it is at most 253.
pub(crate) fn limits_from_wire(max_fds: u16, max_payload: u32) -> Result<Limits, Defect> {
    match u8::try_from(max_fds) {
        Ok(n) if n <= MAX_FDS_PER_FRAME => Limits::new(n, max_payload).map_err(|_| Defect::Limit),
        _ => Err(Defect::Limit),
    }
}
