//! Every system call of the crate, and every `unsafe` block.
//!
//! The rest of the crate is `#![deny(unsafe_code)]` and sees only safe
//! functions that take and return `OwnedFd` / `BorrowedFd`. Each `unsafe`
//! block here says why it is sound. What the kernel was seen to do
//! ([PROTOCOL.md §1](mon_ipc::spec#1-transport) sums it up) is written at
//! the code that depends on it.
//!
//! - [`msg`]: `sendmsg` / `recvmsg` with `SCM_RIGHTS`, `SCM_CREDENTIALS`
//!   (FreeBSD: `SCM_CREDS`) and `SCM_PIDFD`, without a heap allocation per
//!   message;
//! - [`creds`]: who the peer is, from each system's own interface
//!   (`SO_PEERCRED`, `LOCAL_PEERCRED`, `getpeereid`, `LOCAL_PEEREID`);
//! - [`sockopt`]: the generic socket options, and the socket's kind;
//! - [`sock`]: creating, binding, connecting sockets; `poll`;
//! - [`proc`]: our own ids, and what `/proc` says about pidfds and ids;
//! - [`memfd`]: sealed memfds and their mappings;
//! - `shm_slice`: the slice views of `SharedMemory`, made of a mapping;
//! - [`inherit`]: a socket handed to a child at a fixed fd, and taken over there;
//! - `reactor` (feature `tokio`): registering our sockets with tokio.
//!
//! Linux is the reference; FreeBSD, macOS, NetBSD and OpenBSD take the
//! paths chosen with `cfg(target_os)` where their interfaces differ, each
//! citing the man page it follows. Only Linux is run; the others are
//! compile-checked (`.ci/run`; [`platforms`](crate::platforms) lists what
//! that leaves unverified).

pub(crate) mod creds;
pub(crate) mod inherit;
pub(crate) mod memfd;
pub(crate) mod msg;
pub(crate) mod proc;
#[cfg(feature = "tokio")]
pub(crate) mod reactor;
mod shm_slice;
pub(crate) mod sock;
pub(crate) mod sockopt;

use nix::errno::Errno;

use crate::error::Error;

/// The driver's error for a failed system call.
pub(crate) fn os(syscall: &'static str, errno: Errno) -> Error {
    Error::Io {
        syscall,
        errno: errno as i32,
    }
}

/// The driver's error for an `io::Error` of the async runtime (a readiness
/// wait): its `errno`, or `EIO` if it has none.
#[cfg(feature = "tokio")]
pub(crate) fn from_io(syscall: &'static str, e: &std::io::Error) -> Error {
    Error::Io {
        syscall,
        errno: e.raw_os_error().unwrap_or(Errno::EIO as i32),
    }
}

/// Runs `f` again while it fails with `EINTR`: a signal handler that ran
/// during a blocking call is no reason to fail it.
pub(crate) fn retry<T>(
    syscall: &'static str,
    mut f: impl FnMut() -> nix::Result<T>,
) -> Result<T, Error> {
    loop {
        match f() {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(os(syscall, e)),
            Ok(v) => return Ok(v),
        }
    }
}
