//! Socket options: the generic `getsockopt` / `setsockopt` helpers, what
//! kind of socket an fd is, and the send buffer. Who the peer is (the
//! credential options, which differ per system) is [`super::creds`]'s.

use std::mem::{MaybeUninit, size_of};
use std::os::fd::{AsRawFd, BorrowedFd};

use mon_ipc::SocketKind;
use nix::errno::Errno;
use nix::libc::{self, c_int, c_void, socklen_t};
use nix::sys::socket::{getsockopt, setsockopt, sockopt};

use super::{os, retry};
use crate::error::{Error, Result};

pub(crate) use super::creds::{
    PeerPidfd, passcred, peer_cred, peer_groups, peer_pidfd, set_passcred, set_passpidfd,
};

/// `getsockopt(level, opt)` into `buf`; returns the `optlen` the kernel
/// reported, which on `ERANGE` is the size it needs.
pub(super) fn get_raw(
    sock: BorrowedFd<'_>,
    level: c_int,
    opt: c_int,
    buf: &mut [u8],
) -> (Result<()>, usize) {
    let mut len = buf.len() as socklen_t;
    let r = retry("getsockopt", || {
        // SAFETY: `buf` is exclusively borrowed and `len` is its length; the
        // kernel writes at most `len` bytes into it and updates `len`.
        let r = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                level,
                opt,
                buf.as_mut_ptr().cast::<c_void>(),
                &mut len,
            )
        };
        Errno::result(r).map(drop)
    });
    (r, len as usize)
}

/// A C struct made of integers only (arrays and unions of them included),
/// for which every bit pattern is a valid value: what [`get_plain`] may
/// read from the kernel.
///
/// # Safety
///
/// Implement it only for such types.
#[cfg_attr(any(target_os = "linux", target_os = "macos"), allow(dead_code))]
pub(super) unsafe trait Plain: Copy {}

/// `getsockopt(level, opt)` into a `T`, zeroed first; also returns the
/// `optlen` the kernel reported (how much of `T` it wrote). `EINTR` is
/// retried.
#[cfg_attr(any(target_os = "linux", target_os = "macos"), allow(dead_code))]
pub(super) fn get_plain<T: Plain>(
    sock: BorrowedFd<'_>,
    level: c_int,
    opt: c_int,
) -> std::result::Result<(T, usize), Errno> {
    let mut v = MaybeUninit::<T>::zeroed();
    let mut len = size_of::<T>() as socklen_t;
    loop {
        // SAFETY: `v` is `size_of::<T>()` writable bytes, exclusively
        // borrowed; the kernel writes at most `len` bytes there.
        let r = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                level,
                opt,
                v.as_mut_ptr().cast::<c_void>(),
                &mut len,
            )
        };
        match Errno::result(r) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(_) => break,
        }
    }
    // SAFETY: `T: Plain`: all zeroes, and whatever the kernel wrote over
    // them, is a valid `T`.
    Ok((unsafe { v.assume_init() }, len as usize))
}

/// `getsockopt(SOL_SOCKET, opt)` of an `int`.
pub(super) fn get_int(sock: BorrowedFd<'_>, opt: c_int) -> Result<c_int> {
    let mut b = [0u8; size_of::<c_int>()];
    get_raw(sock, libc::SOL_SOCKET, opt, &mut b).0?;
    Ok(c_int::from_ne_bytes(b))
}

/// `setsockopt(SOL_SOCKET, opt)` of an `int`.
#[cfg_attr(not(any(target_os = "linux", target_os = "macos")), allow(dead_code))]
pub(super) fn set_int(sock: BorrowedFd<'_>, opt: c_int, v: c_int) -> Result<()> {
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

/// The socket's type, if it is an `AF_UNIX` stream or seqpacket socket:
/// [`check_unix`] and [`socket_type`], two system calls.
pub(crate) fn unix_kind(sock: BorrowedFd<'_>) -> Result<SocketKind> {
    check_unix(sock)?;
    socket_type(sock)
}

/// The socket's type (`SO_TYPE`), if it is stream or seqpacket, whatever
/// its family: for a caller that learns the family another way (a
/// credential only `AF_UNIX` carries, [`crate::peer::kind_and_peer`]).
/// Not a socket (`ENOTSOCK`) is [`Error::UnsupportedSocket`].
pub(crate) fn socket_type(sock: BorrowedFd<'_>) -> Result<SocketKind> {
    match get_int(sock, libc::SO_TYPE).map_err(not_a_socket)? {
        libc::SOCK_STREAM => Ok(SocketKind::Stream),
        libc::SOCK_SEQPACKET => Ok(SocketKind::Seqpacket),
        _ => Err(Error::UnsupportedSocket),
    }
}

/// [`Error::UnsupportedSocket`] unless the socket's family is `AF_UNIX`.
pub(crate) fn check_unix(sock: BorrowedFd<'_>) -> Result<()> {
    if domain(sock)? != libc::AF_UNIX {
        return Err(Error::UnsupportedSocket);
    }
    Ok(())
}

/// The socket's address family: `SO_DOMAIN` (Linux `socket(7)`).
#[cfg(target_os = "linux")]
fn domain(sock: BorrowedFd<'_>) -> Result<c_int> {
    get_int(sock, libc::SO_DOMAIN).map_err(not_a_socket)
}

/// The socket's address family, from `getsockname(2)`: macOS and NetBSD
/// have no `SO_DOMAIN`, and FreeBSD only since 13. An unbound `AF_UNIX`
/// socket still reports its family (an empty `sockaddr_un`).
#[cfg(not(target_os = "linux"))]
fn domain(sock: BorrowedFd<'_>) -> Result<c_int> {
    use nix::sys::socket::{SockaddrLike, SockaddrStorage, getsockname};
    let a = getsockname::<SockaddrStorage>(sock.as_raw_fd())
        .map_err(|e| not_a_socket(os("getsockname", e)))?;
    Ok(a.family().map_or(-1, |f| f as c_int))
}

fn not_a_socket(e: Error) -> Error {
    match e {
        Error::Io { errno, .. } if errno == libc::ENOTSOCK => Error::UnsupportedSocket,
        e => e,
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
