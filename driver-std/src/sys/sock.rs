//! Creating, binding, connecting and waiting on `AF_UNIX` sockets.
//!
//! macOS lacks three things used here (its `socket(2)`, `accept(2)`,
//! `unix(4)`): `SOCK_CLOEXEC` and `accept4` (so `FD_CLOEXEC` is set right
//! after the call, with the same window as in [`super::msg::recvmsg`]),
//! and `SOCK_SEQPACKET` for `AF_UNIX` (refused before the call, with
//! `EPROTONOSUPPORT`).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use mon_ipc::SocketKind;
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{self, AddressFamily, Backlog, SockFlag, SockType, UnixAddr, sockopt};
use nix::sys::time::TimeVal;

use super::{os, retry};
use crate::error::{Error, Result};

#[cfg(not(target_os = "macos"))]
fn sock_type(kind: SocketKind, _syscall: &'static str) -> Result<SockType> {
    Ok(match kind {
        SocketKind::Stream => SockType::Stream,
        SocketKind::Seqpacket => SockType::SeqPacket,
    })
}

/// macOS has no `AF_UNIX` `SOCK_SEQPACKET`: a clear error before the call.
#[cfg(target_os = "macos")]
fn sock_type(kind: SocketKind, syscall: &'static str) -> Result<SockType> {
    match kind {
        SocketKind::Stream => Ok(SockType::Stream),
        SocketKind::Seqpacket => Err(os(syscall, Errno::EPROTONOSUPPORT)),
    }
}

/// `SOCK_CLOEXEC` where the system has it (not macOS).
#[cfg(not(target_os = "macos"))]
const CLOEXEC: SockFlag = SockFlag::SOCK_CLOEXEC;
#[cfg(target_os = "macos")]
const CLOEXEC: SockFlag = SockFlag::empty();

/// Nothing to do where `SOCK_CLOEXEC` / `accept4` did it.
#[cfg(not(target_os = "macos"))]
fn cloexec(fd: OwnedFd) -> Result<OwnedFd> {
    Ok(fd)
}

/// `fcntl(F_SETFD, FD_CLOEXEC)` right after the call (macOS).
#[cfg(target_os = "macos")]
fn cloexec(fd: OwnedFd) -> Result<OwnedFd> {
    use nix::fcntl::FdFlag;
    fcntl(&fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|e| os("fcntl(F_SETFD)", e))?;
    Ok(fd)
}

/// `socketpair(AF_UNIX, kind | SOCK_CLOEXEC)`.
pub(crate) fn socketpair(kind: SocketKind) -> Result<(OwnedFd, OwnedFd)> {
    const CALL: &str = "socketpair: no SOCK_SEQPACKET for AF_UNIX on this system";
    let (a, b) = socket::socketpair(AddressFamily::Unix, sock_type(kind, CALL)?, None, CLOEXEC)
        .map_err(|e| os("socketpair", e))?;
    Ok((cloexec(a)?, cloexec(b)?))
}

/// `socket(AF_UNIX, kind | SOCK_CLOEXEC)`.
pub(crate) fn socket(kind: SocketKind) -> Result<OwnedFd> {
    const CALL: &str = "socket: no SOCK_SEQPACKET for AF_UNIX on this system";
    let fd = socket::socket(AddressFamily::Unix, sock_type(kind, CALL)?, CLOEXEC, None)
        .map_err(|e| os("socket", e))?;
    cloexec(fd)
}

fn addr(path: &Path) -> Result<UnixAddr> {
    UnixAddr::new(path).map_err(|e| os("bind", e))
}

/// `bind` to a path, then `listen`.
pub(crate) fn bind_listen(sock: BorrowedFd<'_>, path: &Path) -> Result<()> {
    let a = addr(path)?;
    socket::bind(sock.as_raw_fd(), &a).map_err(|e| os("bind", e))?;
    socket::listen(&sock, Backlog::MAXCONN).map_err(|e| os("listen", e))
}

/// `connect` to a path. `EINTR` is not retried: a connect interrupted
/// goes on in the background, and a second call would fail.
pub(crate) fn connect(sock: BorrowedFd<'_>, path: &Path) -> Result<()> {
    let a = addr(path)?;
    socket::connect(sock.as_raw_fd(), &a).map_err(|e| os("connect", e))
}

/// `connect` to a path, waiting at most `timeout` (not zero) for room in
/// the listener's backlog.
///
/// How `AF_UNIX` differs from TCP here: its `connect` never answers
/// `EINPROGRESS`. It completes at once, or, when the listener's backlog is
/// full, sleeps until there is room (blocking socket) or fails with
/// `EAGAIN` (non-blocking one). And `poll` cannot tell when room appears:
/// an unconnected stream socket polls `POLLOUT | POLLHUP` at once. So the
/// TCP recipe (non-blocking connect, poll for `POLLOUT`, `SO_ERROR`) would
/// spin. What bounds the kernel's sleep is the socket's `SO_SNDTIMEO`:
/// the blocking connect then gives `EAGAIN` when it runs out. It is set to
/// the time left before each try (`EINTR`: the connection was not made,
/// so the call is made again) and cleared afterwards.
///
/// The BSDs and macOS do not wait at all: a full backlog refuses the
/// connection at once with `ECONNREFUSED` (their `listen(2)`), an error
/// here like any other. (Not run there.)
pub(crate) fn connect_timeout(sock: BorrowedFd<'_>, path: &Path, timeout: Duration) -> Result<()> {
    let a = addr(path)?;
    let deadline = Instant::now().checked_add(timeout);
    let r = loop {
        let left = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => timeout,
        };
        if left.is_zero() {
            break Err(Error::Timeout);
        }
        set_send_timeout(sock, left)?;
        match socket::connect(sock.as_raw_fd(), &a) {
            Ok(()) => break Ok(()),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => break Err(Error::Timeout),
            Err(e) => break Err(os("connect", e)),
        }
    };
    // The timeout was the connect's, not the socket's.
    set_send_timeout(sock, Duration::ZERO)?;
    r
}

/// `connect` on a non-blocking socket: `false` when the listener's
/// backlog is full (`EAGAIN`; `AF_UNIX` has no connect in progress).
pub(crate) fn try_connect(sock: BorrowedFd<'_>, path: &Path) -> Result<bool> {
    let a = addr(path)?;
    loop {
        match socket::connect(sock.as_raw_fd(), &a) {
            Ok(()) => return Ok(true),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Ok(false),
            Err(e) => return Err(os("connect", e)),
        }
    }
}

/// `SO_SNDTIMEO`: zero is no timeout; anything else is rounded up to a
/// whole microsecond (so it never becomes zero) and capped at `i32::MAX`
/// seconds (the kernel treats that as forever anyway).
fn set_send_timeout(sock: BorrowedFd<'_>, t: Duration) -> Result<()> {
    let us = t.as_nanos().div_ceil(1000);
    let secs = (us / 1_000_000).min(i32::MAX as u128) as i64;
    let usecs = (us % 1_000_000) as i64;
    let tv = TimeVal::new(secs as _, usecs as _);
    socket::setsockopt(&sock, sockopt::SendTimeout, &tv).map_err(|e| os("setsockopt", e))
}

/// `accept4(SOCK_CLOEXEC)`, `EINTR` retried; `EAGAIN` is an error the
/// caller may test for.
#[cfg(not(target_os = "macos"))]
pub(crate) fn accept(listener: BorrowedFd<'_>) -> Result<OwnedFd> {
    let raw = retry("accept4", || {
        socket::accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC)
    })?;
    // SAFETY: accept4 just returned this new fd; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// macOS: `accept`, then `FD_CLOEXEC` (no `accept4`); `EINTR` retried.
#[cfg(target_os = "macos")]
pub(crate) fn accept(listener: BorrowedFd<'_>) -> Result<OwnedFd> {
    let raw = retry("accept", || socket::accept(listener.as_raw_fd()))?;
    // SAFETY: accept just returned this new fd; nothing else owns it.
    cloexec(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Sets or clears `O_NONBLOCK`.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> Result<()> {
    let flags = fcntl(fd, FcntlArg::F_GETFL).map_err(|e| os("fcntl", e))?;
    let mut flags = OFlag::from_bits_retain(flags);
    flags.set(OFlag::O_NONBLOCK, on);
    fcntl(fd, FcntlArg::F_SETFL(flags)).map_err(|e| os("fcntl", e))?;
    Ok(())
}

/// Removes a socket file.
pub(crate) fn unlink(path: &Path) -> Result<()> {
    nix::unistd::unlink(path).map_err(|e| os("unlink", e))
}

/// Waits until `fd` is readable (`write` false) or writable, or until
/// `deadline` ([`Error::Timeout`]). `EINTR` restarts the wait with the time
/// that is left. Error and hang-up conditions count as ready: the next
/// read or write reports them.
pub(crate) fn wait(fd: BorrowedFd<'_>, write: bool, deadline: Option<Instant>) -> Result<()> {
    let events = if write {
        PollFlags::POLLOUT
    } else {
        PollFlags::POLLIN
    };
    loop {
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::Timeout);
                }
                // Round up: a 0 ms poll would spin until the deadline.
                let ms = left.as_millis().saturating_add(1).min(i32::MAX as u128);
                PollTimeout::try_from(ms as i32).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [PollFd::new(fd.as_fd(), events)];
        match poll(&mut fds, timeout) {
            Ok(0) => continue,
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(os("poll", e)),
        }
    }
}

/// `bind` to an abstract-namespace name (Linux: the address is a NUL byte
/// and then `name`, no file), then `listen`. A name longer than 107 bytes
/// is `ENAMETOOLONG`; one in use, `EADDRINUSE`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn bind_listen_abstract(sock: BorrowedFd<'_>, name: &[u8]) -> Result<()> {
    let a = UnixAddr::new_abstract(name).map_err(|e| os("bind", e))?;
    socket::bind(sock.as_raw_fd(), &a).map_err(|e| os("bind", e))?;
    socket::listen(&sock, Backlog::MAXCONN).map_err(|e| os("listen", e))
}

/// `connect` to an abstract-namespace name (see [`bind_listen_abstract`]);
/// `EINTR` is not retried, as in [`connect`].
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn connect_abstract(sock: BorrowedFd<'_>, name: &[u8]) -> Result<()> {
    let a = UnixAddr::new_abstract(name).map_err(|e| os("connect", e))?;
    socket::connect(sock.as_raw_fd(), &a).map_err(|e| os("connect", e))
}

/// `poll` on several fds, `EINTR` retried with the time that is left:
/// for each `(fd, read, write)` whether it is ready for what was asked
/// (an error or hang-up counts as ready). `None` waits forever; at the
/// timeout every entry is `false`.
pub(crate) fn poll_set(
    fds: &[(BorrowedFd<'_>, bool, bool)],
    timeout: Option<Duration>,
) -> Result<Vec<bool>> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut set: Vec<PollFd<'_>> = fds
        .iter()
        .map(|&(fd, r, w)| {
            let mut ev = PollFlags::empty();
            ev.set(PollFlags::POLLIN, r);
            ev.set(PollFlags::POLLOUT, w);
            PollFd::new(fd, ev)
        })
        .collect();
    loop {
        let wait = match (timeout, deadline) {
            (None, _) => PollTimeout::NONE,
            (Some(_), None) => PollTimeout::MAX,
            (Some(_), Some(d)) => {
                let left = d.saturating_duration_since(Instant::now());
                let ms = left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128);
                PollTimeout::try_from(ms as i32).unwrap_or(PollTimeout::MAX)
            }
        };
        match poll(&mut set, wait) {
            Ok(_) => break,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(os("poll", e)),
        }
    }
    Ok(set
        .iter()
        .map(|p| !p.revents().unwrap_or(PollFlags::empty()).is_empty())
        .collect())
}
