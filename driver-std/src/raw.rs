//! Single `sendmsg` / `recvmsg` calls with explicit ancillary data, for
//! tests, the conformance runner, and anything that must put on the wire
//! what the protocol itself never would (a forged frame, 254 fds, claimed
//! credentials). No framing, no checks beyond the kernel's and `SCM_MAX_FD`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use mon_ipc::{Ancillary, SocketKind, Ucred};

use crate::error::Result;
use crate::sys;
use crate::sys::msg::{Claim, Ctrl, Dest};

/// This process's pid, effective uid and effective gid: what the handshake
/// attaches.
pub fn own_credentials() -> Ucred {
    let c = sys::proc::own_claim();
    Ucred::from_raw(c.pid.max(0) as u32, c.uid, c.gid)
}

/// One `sendmsg(MSG_NOSIGNAL)` of the slices (at most 32), with
/// `SCM_CREDENTIALS` claiming `creds` (the kernel checks the claim: only a
/// privileged process may claim another pid or id) and `SCM_RIGHTS` with
/// `fds`. More than 253 fds is refused before the call. Returns the bytes
/// sent; follows the socket's blocking mode.
///
/// On FreeBSD `creds` attaches `SCM_CREDS`, which the kernel fills with
/// the sender's own ids whatever `creds` says; on macOS, NetBSD and OpenBSD
/// nothing is attached (no message credentials there: docs/PLATFORMS.md).
pub fn send(
    sock: impl AsFd,
    bytes: &[&[u8]],
    creds: Option<Ucred>,
    fds: &[BorrowedFd<'_>],
) -> Result<usize> {
    let claim = creds.map(|c| {
        let (pid, uid, gid) = c.to_raw();
        Claim {
            pid: pid as i32,
            uid,
            gid,
        }
    });
    sys::msg::sendmsg(sock.as_fd(), bytes, claim, fds.iter().copied(), false)
}

/// The control-buffer room of one [`recv`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Room {
    /// Fds accepted (`CMSG_LEN(4 * fds)`); more are closed and reported
    /// as a truncation.
    pub fds: usize,
    /// Room for `SCM_CREDENTIALS` (FreeBSD: `SCM_CREDS`; none elsewhere).
    pub creds: bool,
    /// Room for `SCM_PIDFD`.
    pub pidfd: bool,
}

/// One `recvmsg(MSG_CMSG_CLOEXEC)` into `buf`; returns the bytes read and
/// the ancillary data. Follows the socket's blocking mode.
pub fn recv(sock: impl AsFd, buf: &mut [u8], room: Room) -> Result<(usize, Ancillary<OwnedFd>)> {
    let mut ctrl = Ctrl::new(room.fds, room.creds, room.pidfd);
    let mut fds = Vec::new();
    let got = sys::msg::recvmsg(
        sock.as_fd(),
        Dest::Slice(buf),
        &mut ctrl,
        &mut fds,
        false,
        false,
    )?;
    Ok((got.len, got.ancillary(fds)))
}

/// The socket's type, if it is an `AF_UNIX` stream or seqpacket socket:
/// `SO_DOMAIN` and `SO_TYPE`. Anything else (another domain or type, or
/// not a socket) is [`Error::UnsupportedSocket`](crate::Error::UnsupportedSocket).
///
/// ```
/// use mon_ipc_std::{Error, SocketKind, raw};
/// let pair = mon_ipc_std::socketpair(SocketKind::Seqpacket)?;
/// assert_eq!(raw::socket_kind(&pair.client)?, SocketKind::Seqpacket);
/// let file = std::fs::File::open("/dev/null").unwrap();
/// assert!(matches!(raw::socket_kind(&file), Err(Error::UnsupportedSocket)));
/// # Ok::<(), mon_ipc_std::Error>(())
/// ```
pub fn socket_kind(sock: impl AsFd) -> Result<SocketKind> {
    sys::sockopt::unix_kind(sock.as_fd())
}

/// Turns `SO_PASSCRED` (and `SO_PASSPIDFD` where the kernel has it) on or
/// off; returns whether `SO_PASSPIDFD` is supported. Linux only: elsewhere
/// there is nothing to turn on, and this returns `false`.
pub fn pass_credentials(sock: impl AsFd, on: bool) -> Result<bool> {
    sys::sockopt::set_passcred(sock.as_fd(), on)?;
    sys::sockopt::set_passpidfd(sock.as_fd(), on)
}

/// Makes `cmd` start its program with `sock` on fd number `fd`, inheritable
/// (every other fd of this crate is close-on-exec): how the conformance
/// runner gives a program under test its socket as fd 3. Keep `sock` open
/// until `cmd` is spawned; if it is closed by then, `spawn` fails with
/// `EBADF`.
pub fn pass_to_child(
    cmd: &mut std::process::Command,
    sock: BorrowedFd<'_>,
    fd: std::os::fd::RawFd,
) {
    sys::inherit::put_in_child(cmd, sock, fd);
}

/// Takes over the socket the parent left on fd number `fd` (see
/// [`pass_to_child`]; systemd's socket activation works the same way).
/// Returns `None` if `fd` is not an open socket, or was taken already: each
/// number is adopted at most once per process.
///
/// Call it first thing in `main`, before the process opens anything: an fd
/// the process opened itself must not be adopted a second time.
pub fn take_inherited_socket(fd: std::os::fd::RawFd) -> Option<OwnedFd> {
    sys::inherit::take_socket(fd)
}
