//! `SOL_SOCKET` options: who the peer is, and which credentials the kernel
//! attaches to what we read.

use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use mon_ipc::{SocketKind, Ucred};
use nix::errno::Errno;
use nix::libc::{self, c_int, c_void, socklen_t};
use nix::sys::socket::{getsockopt, setsockopt, sockopt};

use super::{os, retry};
use crate::error::{Error, Result};

/// `SO_PEERGROUPS` (Linux 4.13+). `libc` lacks it for Linux.
#[cfg(not(any(target_arch = "sparc", target_arch = "sparc64")))]
const SO_PEERGROUPS: c_int = 59;
#[cfg(any(target_arch = "sparc", target_arch = "sparc64"))]
const SO_PEERGROUPS: c_int = 0x003d;

/// `SO_PASSPIDFD` (Linux 6.5+): receive `SCM_PIDFD` with each read.
#[cfg(not(any(target_arch = "sparc", target_arch = "sparc64")))]
const SO_PASSPIDFD: c_int = 76;
#[cfg(any(target_arch = "sparc", target_arch = "sparc64"))]
const SO_PASSPIDFD: c_int = 0x0055;

/// `SO_PEERPIDFD` (Linux 6.5+): a pidfd of the peer that connected.
#[cfg(not(any(target_arch = "sparc", target_arch = "sparc64")))]
const SO_PEERPIDFD: c_int = 77;
#[cfg(any(target_arch = "sparc", target_arch = "sparc64"))]
const SO_PEERPIDFD: c_int = 0x0056;

/// `getsockopt(SOL_SOCKET, opt)` into `buf`; returns the `optlen` the
/// kernel reported, which on `ERANGE` is the size it needs.
fn get_raw(sock: BorrowedFd<'_>, opt: c_int, buf: &mut [u8]) -> (Result<()>, usize) {
    let mut len = buf.len() as socklen_t;
    let r = retry("getsockopt", || {
        // SAFETY: `buf` is exclusively borrowed and `len` is its length; the
        // kernel writes at most `len` bytes into it and updates `len`.
        let r = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                buf.as_mut_ptr().cast::<c_void>(),
                &mut len,
            )
        };
        Errno::result(r).map(drop)
    });
    (r, len as usize)
}

fn get_int(sock: BorrowedFd<'_>, opt: c_int) -> Result<c_int> {
    let mut b = [0u8; size_of::<c_int>()];
    get_raw(sock, opt, &mut b).0?;
    Ok(c_int::from_ne_bytes(b))
}

fn set_int(sock: BorrowedFd<'_>, opt: c_int, v: c_int) -> Result<()> {
    retry("setsockopt", || {
        // SAFETY: the kernel reads `size_of::<c_int>()` bytes from `&v`,
        // which lives across the call.
        let r = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&v as *const c_int).cast::<c_void>(),
                size_of::<c_int>() as socklen_t,
            )
        };
        Errno::result(r).map(drop)
    })
}

/// The socket's type, if it is an `AF_UNIX` stream or seqpacket socket.
pub(crate) fn unix_kind(sock: BorrowedFd<'_>) -> Result<SocketKind> {
    let domain = get_int(sock, libc::SO_DOMAIN).map_err(|e| match e {
        Error::Io { errno, .. } if errno == libc::ENOTSOCK => Error::UnsupportedSocket,
        e => e,
    })?;
    if domain != libc::AF_UNIX {
        return Err(Error::UnsupportedSocket);
    }
    match get_int(sock, libc::SO_TYPE)? {
        libc::SOCK_STREAM => Ok(SocketKind::Stream),
        libc::SOCK_SEQPACKET => Ok(SocketKind::Seqpacket),
        _ => Err(Error::UnsupportedSocket),
    }
}

/// Turns `SO_PASSCRED` on or off.
pub(crate) fn set_passcred(sock: BorrowedFd<'_>, on: bool) -> Result<()> {
    setsockopt(&sock, sockopt::PassCred, &on).map_err(|e| os("setsockopt(SO_PASSCRED)", e))
}

/// Whether `SO_PASSCRED` is on.
pub(crate) fn passcred(sock: BorrowedFd<'_>) -> Result<bool> {
    getsockopt(&sock, sockopt::PassCred).map_err(|e| os("getsockopt(SO_PASSCRED)", e))
}

/// Turns `SO_PASSPIDFD` on or off; `Ok(false)` if the kernel predates it.
pub(crate) fn set_passpidfd(sock: BorrowedFd<'_>, on: bool) -> Result<bool> {
    match set_int(sock, SO_PASSPIDFD, on.into()) {
        Ok(()) => Ok(true),
        Err(Error::Io { errno, .. }) if errno == libc::ENOPROTOOPT || errno == libc::EINVAL => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// `SO_PEERCRED`: the peer's pid, euid and egid when it connected (or, for
/// the client, when the server called `listen` or `socketpair`).
///
/// The pid stays what it was even after the peer exits and is reaped: it
/// may by now belong to another process. Only a pidfd names a process.
pub(crate) fn peer_cred(sock: BorrowedFd<'_>) -> Result<Ucred> {
    let c = getsockopt(&sock, sockopt::PeerCredentials)
        .map_err(|e| os("getsockopt(SO_PEERCRED)", e))?;
    Ok(Ucred::from_raw(c.pid().max(0) as u32, c.uid(), c.gid()))
}

/// `SO_PEERGROUPS`: the peer's supplementary groups, or `None` if the kernel
/// predates it. A buffer too small gives `ERANGE` with `optlen` set to the
/// size needed: retry with that size (the groups were fixed at connect time,
/// so one retry suffices; a few are allowed).
pub(crate) fn peer_groups(sock: BorrowedFd<'_>) -> Result<Option<Vec<u32>>> {
    const GID: usize = size_of::<libc::gid_t>();
    let mut buf = vec![0u8; 32 * GID];
    for _ in 0..4 {
        match get_raw(sock, SO_PEERGROUPS, &mut buf) {
            (Ok(()), len) => {
                let groups = buf[..len.min(buf.len())]
                    .chunks_exact(GID)
                    .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                return Ok(Some(groups));
            }
            (Err(Error::Io { errno, .. }), need) if errno == libc::ERANGE => {
                buf.resize(need.max(buf.len() * 2), 0);
            }
            (Err(Error::Io { errno, .. }), _) if errno == libc::ENOPROTOOPT => return Ok(None),
            (Err(e), _) => return Err(e),
        }
    }
    Err(os("getsockopt(SO_PEERGROUPS)", Errno::ERANGE))
}

/// What `SO_PEERPIDFD` gave.
#[derive(Debug)]
pub(crate) enum PeerPidfd {
    /// A pidfd of the peer process.
    Fd(OwnedFd),
    /// The kernel predates `SO_PEERPIDFD` (Linux < 6.5): `ENOPROTOOPT`
    /// (or `EINVAL` from some backports).
    Unsupported,
    /// The peer process is gone (`ESRCH`), or the socket has no peer
    /// process to name (`ENODATA`, `ENOTCONN`).
    Gone,
}

/// `SO_PEERPIDFD`.
///
/// Seen on Linux 6.18: when the peer exited and was reaped before we ask,
/// this may still succeed, with a pidfd whose `fdinfo` shows `Pid: -1`; so
/// a pidfd must be checked against the pid it is reported with
/// ([`super::proc::pidfd_pid`]).
pub(crate) fn peer_pidfd(sock: BorrowedFd<'_>) -> Result<PeerPidfd> {
    match get_int(sock, SO_PEERPIDFD) {
        Ok(raw) if raw >= 0 => {
            // SAFETY: SO_PEERPIDFD installed this new fd (O_CLOEXEC) in our
            // table for us; nothing else owns it.
            Ok(PeerPidfd::Fd(unsafe { OwnedFd::from_raw_fd(raw) }))
        }
        Ok(_) => Ok(PeerPidfd::Gone),
        Err(Error::Io { errno, .. }) => match errno {
            libc::ENOPROTOOPT | libc::EINVAL => Ok(PeerPidfd::Unsupported),
            libc::EBADF | libc::ENOTSOCK | libc::EFAULT => {
                Err(os("getsockopt(SO_PEERPIDFD)", Errno::from_raw(errno)))
            }
            _ => Ok(PeerPidfd::Gone),
        },
        Err(e) => Err(e),
    }
}

/// `SO_SNDBUF` as the kernel holds it (twice what was set).
pub(crate) fn sndbuf(sock: BorrowedFd<'_>) -> Result<usize> {
    getsockopt(&sock, sockopt::SndBuf).map_err(|e| os("getsockopt(SO_SNDBUF)", e))
}

/// Asks for `SO_SNDBUF` of `bytes`; the kernel caps it at
/// `net.core.wmem_max` and doubles it.
pub(crate) fn set_sndbuf(sock: BorrowedFd<'_>, bytes: usize) -> Result<()> {
    setsockopt(&sock, sockopt::SndBuf, &bytes).map_err(|e| os("setsockopt(SO_SNDBUF)", e))
}
