//! Helpers shared by the handshake test suites: the credentials the
//! kernel reports for each side, and short ways to write ancillary data.
//! The counting fd token and the message builders are the testkit's.

#![allow(dead_code, unreachable_pub, unused_imports)]

use mon_ipc::{Ancillary, Limits, Ucred};
pub use mon_ipc_testkit::wire::{hello, msg, msg_magic, reply};
pub use mon_ipc_testkit::{Fd, Ledger};

/// The client's credentials as the kernel would report them.
pub const CLIENT: Ucred = Ucred::known(4242, 1000, 100);
/// The server's credentials as the kernel would report them.
pub const SERVER: Ucred = Ucred::known(77, 0, 0);
/// What Linux reports for a process it cannot map: pid 0, overflow ids.
pub const INVISIBLE: Ucred = Ucred::from_raw(0, 65534, 65534);

pub const MIB16: u32 = 16 << 20;

pub fn limits(max_fds: u8, max_payload: u32) -> Limits {
    Limits::new(max_fds, max_payload).expect("valid limits")
}

/// A reply as a server with `limits` sends it.
pub fn reply_with(version: u8, status: u8, limits: Limits) -> [u8; 16] {
    reply(
        version,
        status,
        limits.max_fds().into(),
        limits.max_payload(),
    )
}

/// Ancillary data with credentials only.
pub fn creds(c: Ucred) -> Ancillary<Fd> {
    Ancillary::with_creds(c)
}

/// Ancillary data with nothing.
pub fn none() -> Ancillary<Fd> {
    Ancillary::default()
}
