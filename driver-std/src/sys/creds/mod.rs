//! Who the peer is: each system's own interface for the credentials of an
//! `AF_UNIX` peer, behind one set of functions.
//!
//! Every module below provides the same items:
//!
//! - `peer_cred`: the socket credentials (`None` where the socket has none
//!   recorded, e.g. not connected);
//! - `peer_groups`, `peer_pidfd`: what else the socket tells (Linux only);
//! - `set_passcred` / `passcred` / `set_passpidfd`: the receiver's switches
//!   for message credentials (Linux only; elsewhere nothing to switch);
//! - `MSG_CREDS_TYPE` / `MSG_CREDS_LEN`, `encode_claim`, `decode_message`:
//!   the control message that carries message credentials (`MSG_CREDS_LEN`
//!   is 0 where the system has none; `decode_message` is then never called).
//!
//! What each system provides, and the man page each use comes from, is
//! in [`platforms`](crate::platforms). Only Linux is run; the others are
//! compile-checked (`.ci/platforms`).

mod decode;

#[cfg(not(target_os = "linux"))]
mod absent;
#[cfg(not(target_os = "linux"))]
pub(crate) use absent::*;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(target_os = "freebsd")]
mod freebsd;
#[cfg(target_os = "freebsd")]
pub(crate) use freebsd::*;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
pub(crate) use macos::*;

#[cfg(target_os = "netbsd")]
mod netbsd;
#[cfg(target_os = "netbsd")]
pub(crate) use netbsd::*;

#[cfg(target_os = "openbsd")]
mod openbsd;
#[cfg(target_os = "openbsd")]
pub(crate) use openbsd::*;

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "macos",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
compile_error!(
    "mon-ipc-std supports Linux, FreeBSD, macOS, NetBSD and OpenBSD (docs/PLATFORMS.md); \
     this system's peer credentials are not implemented"
);

/// What `SO_PEERPIDFD` gave.
// Only Linux makes pidfds.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
#[derive(Debug)]
pub(crate) enum PeerPidfd {
    /// A pidfd of the peer process.
    Fd(std::os::fd::OwnedFd),
    /// The kernel predates `SO_PEERPIDFD` (Linux < 6.5): `ENOPROTOOPT`
    /// (or `EINVAL` from some backports). Always so on other systems,
    /// which have no pidfds.
    Unsupported,
    /// The peer process is gone (`ESRCH`), or the socket has no peer
    /// process to name (`ENODATA`, `ENOTCONN`).
    Gone,
}
