//! The 16-byte handshake messages (`docs/PROTOCOL.md` §3.1, §3.2),
//! written out byte by byte, independently of the core's own encoders: a
//! test that built its input with the core's encoder would only test the
//! core against itself.

use mon_ipc::hello::HELLO_LEN;

/// "MON\0".
pub const MAGIC: [u8; 4] = *b"MON\0";
/// The default most fds per frame, as a hello carries it.
pub const DEFAULT_MAX_FDS: u16 = 32;
/// The default largest payload, 16 MiB.
pub const DEFAULT_MAX_PAYLOAD: u32 = 16 << 20;

/// A handshake message: magic, byte 4, byte 5, max fds (LE u16), max
/// payload (LE u32), reserved (LE u32). Any values, so tests can write
/// malformed ones.
pub fn msg(b4: u8, b5: u8, max_fds: u16, max_payload: u32, reserved: u32) -> [u8; HELLO_LEN] {
    msg_magic(MAGIC, b4, b5, max_fds, max_payload, reserved)
}

/// [`msg`] with another magic.
pub fn msg_magic(
    magic: [u8; 4],
    b4: u8,
    b5: u8,
    max_fds: u16,
    max_payload: u32,
    reserved: u32,
) -> [u8; HELLO_LEN] {
    let mut m = [0u8; HELLO_LEN];
    m[0..4].copy_from_slice(&magic);
    m[4] = b4;
    m[5] = b5;
    m[6..8].copy_from_slice(&max_fds.to_le_bytes());
    m[8..12].copy_from_slice(&max_payload.to_le_bytes());
    m[12..16].copy_from_slice(&reserved.to_le_bytes());
    m
}

/// A v1 hello with the default limits.
pub fn hello(mutual: bool) -> [u8; HELLO_LEN] {
    hello_limits(mutual, DEFAULT_MAX_FDS, DEFAULT_MAX_PAYLOAD)
}

/// A v1 hello with these limits.
pub fn hello_limits(mutual: bool, max_fds: u16, max_payload: u32) -> [u8; HELLO_LEN] {
    msg(1, u8::from(mutual), max_fds, max_payload, 0)
}

/// A reply: version (on a refusal, the server's highest), status, the
/// server's limits.
pub fn reply(version: u8, status: u8, max_fds: u16, max_payload: u32) -> [u8; HELLO_LEN] {
    msg(version, status, max_fds, max_payload, 0)
}

/// The accepting reply of a server with the default limits.
pub fn reply_ok() -> [u8; HELLO_LEN] {
    reply(1, 0, DEFAULT_MAX_FDS, DEFAULT_MAX_PAYLOAD)
}

#[cfg(test)]
mod tests {
    use mon_ipc::Limits;
    use mon_ipc::hello::{Hello, Reply};

    use super::*;

    /// The builders agree with the core's encoders on what both can write.
    #[test]
    fn the_core_writes_the_same_bytes() {
        let lim = Limits::default();
        assert_eq!(u32::from(DEFAULT_MAX_FDS), u32::from(lim.max_fds()));
        assert_eq!(DEFAULT_MAX_PAYLOAD, lim.max_payload());
        for mutual in [false, true] {
            assert_eq!(hello(mutual), Hello::new(lim, mutual).to_bytes());
        }
        let core = Reply {
            version: 1,
            status: 0,
            max_fds: DEFAULT_MAX_FDS,
            max_payload: DEFAULT_MAX_PAYLOAD,
            reserved: 0,
        };
        assert_eq!(reply_ok(), core.to_bytes());
    }
}
