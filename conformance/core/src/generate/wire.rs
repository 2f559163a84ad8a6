//! The wire layouts of PROTOCOL.md sections 3 and 4, written out byte by byte
//! from the spec, independently of the core's own encoders: a vector built
//! with the core's encoder would only test the core against itself.

pub(crate) use crate::wire::{
    DEFAULT_MAX_FDS as FDS, DEFAULT_MAX_PAYLOAD as PAYLOAD, hello, hello_limits, msg, reply,
    reply_ok,
};

/// A frame header.
pub(crate) fn header(len: u32, nfds: u8, kind: u8, reserved: u16) -> Vec<u8> {
    let mut h = len.to_le_bytes().to_vec();
    h.push(nfds);
    h.push(kind);
    h.extend_from_slice(&reserved.to_le_bytes());
    h
}

/// A data frame: header announcing `nfds`, then the payload.
pub(crate) fn frame(payload: &[u8], nfds: u8) -> Vec<u8> {
    let mut f = header(payload.len() as u32, nfds, 0, 0);
    f.extend_from_slice(payload);
    f
}

/// The payload of a shared-memory frame: size (u64 LE), seals (u32 LE), app bytes.
pub(crate) fn shm_payload(size: u64, seals: u32, app: &[u8]) -> Vec<u8> {
    let mut p = size.to_le_bytes().to_vec();
    p.extend_from_slice(&seals.to_le_bytes());
    p.extend_from_slice(app);
    p
}

/// A whole shared-memory frame with one fd.
pub(crate) fn shm_frame(size: u64, seals: u32, app: &[u8]) -> Vec<u8> {
    let p = shm_payload(size, seals, app);
    let mut f = header(p.len() as u32, 1, 1, 0);
    f.extend_from_slice(&p);
    f
}

/// `F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW`: the seals every region needs.
pub(crate) const SEALS: u32 = 0x1 | 0x2 | 0x4;
/// `F_SEAL_WRITE`.
pub(crate) const SEAL_WRITE: u32 = 0x8;

/// Concatenates byte strings.
pub(crate) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}
