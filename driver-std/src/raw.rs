//! The building blocks of a driver for another event loop: single
//! system calls with explicit ancillary data, the socket options the
//! handshake needs, and a `poll`. Supported API, for code that runs the
//! sans-io core ([`mon_ipc::ClientAuth`], [`mon_ipc::ServerAuth`],
//! [`mon_ipc::Encoder`], [`mon_ipc::Decoder`]) on its own loop with no
//! `unsafe` and no `nix`; the rules such a loop must keep are
//! [`mon_ipc::embedding`], and `driver-std/examples/custom_loop.rs` is
//! one, complete.
//!
//! What each call does for you, so that a custom loop cannot get it wrong:
//!
//! - [`send`]: `MSG_NOSIGNAL` (a closed peer is `EPIPE`, not `SIGPIPE`),
//!   `SCM_CREDENTIALS` exactly as given (pass [`own_credentials`], the
//!   *effective* ids, on every `sendmsg` of a handshake message whose
//!   step said [`Attach::OwnCredentials`](mon_ipc::Attach)), `SCM_RIGHTS`
//!   refused above 253 fds before the call, `EINTR` retried;
//! - [`recv`]: `MSG_CMSG_CLOEXEC`, a control buffer of exactly the
//!   [`Room`] asked for (`CMSG_LEN` for the fds), every fd owned at once
//!   (surplus ones closed and reported as `ctrunc`), `MSG_CTRUNC` and
//!   `MSG_TRUNC` reported in the [`Ancillary`], `EINTR` retried;
//! - [`pass_credentials`], [`socket_credentials`], [`credential_policy`]:
//!   what a server's core needs about its client and this system.
//!
//! It also serves tests and the conformance runner, which put on the wire
//! what the protocol itself never would (a forged frame, 254 fds, claimed
//! credentials): no framing, no checks beyond the kernel's and
//! `SCM_MAX_FD`. Every call follows the socket's blocking mode: on a
//! non-blocking socket `EAGAIN` is an [`Error::Io`](crate::Error::Io)
//! whose [`io_error`](crate::Error::io_error) is of kind `WouldBlock`.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use mon_ipc::{Ancillary, CredentialPolicy, SocketCredentials, SocketKind, Ucred};

use crate::error::Result;
use crate::sys;
use crate::sys::msg::{Claim, Ctrl, Dest};

pub use crate::peer::peer_credentials;

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
/// nothing is attached (no message credentials there: see
/// [`platforms`](crate::platforms)).
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

/// The control-buffer room of one [`recv`]: what the protocol allows in
/// that read, no more. A server's hello read: `creds`, `pidfd` (if
/// `SO_PASSPIDFD` is on), no fds (a hello with fds is refused, and the
/// kernel reports them with `MSG_CTRUNC`). A client's reply read: the
/// negotiated fds (the first frames may come with the reply), and
/// `creds` / `pidfd` with mutual authentication. The channel's reads: the
/// negotiated fds only, once `SO_PASSCRED` is off.
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
///
/// EOF is 0 bytes with no fds and no `ctrunc` (on a stream with
/// `SO_PASSCRED` on, the EOF read carries credentials of no one: ignore
/// them). Hand anything else to the core with its ancillary data
/// whole: `ctrunc` and `trunc` are how the core learns that the kernel
/// dropped fds or cut a record.
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
/// off; returns whether `SO_PASSPIDFD` is supported (then every read
/// brings a pidfd: give [`Room::pidfd`]). Linux only: elsewhere there is
/// nothing to turn on, and this returns `false`.
///
/// A server turns it on before its client can write (a [`Listener`]
/// does, on the listening socket) and off once the handshake is done:
/// while on, the kernel attaches credentials to every read, splits reads
/// where they change and spends control-buffer room meant for fds. A
/// client with mutual authentication turns it on before its hello.
///
/// [`Listener`]: crate::Listener
pub fn pass_credentials(sock: impl AsFd, on: bool) -> Result<bool> {
    sys::sockopt::set_passcred(sock.as_fd(), on)?;
    sys::sockopt::set_passpidfd(sock.as_fd(), on)
}

/// What the socket says about its peer, for [`mon_ipc::ServerAuth::new`]
/// (and a mutual client): `SO_PEERCRED`, `SO_PEERGROUPS` and, if
/// `pidfd`, `SO_PEERPIDFD` where the kernel has it. Ask for the pidfd
/// only where [`pass_credentials`] said `SO_PASSPIDFD` is missing: with
/// it, the handshake message brings a pidfd of its sender, which the core
/// prefers.
pub fn socket_credentials(sock: impl AsFd, pidfd: bool) -> Result<SocketCredentials<OwnedFd>> {
    let sock = sock.as_fd();
    crate::peer::socket_credentials(sock, sys::sockopt::peer_cred(sock)?, pidfd)
}

/// How this system's credentials are judged, for the cores' configs
/// (`ClientConfig::policy`, `ServerConfig::policy`): message credentials
/// required (Linux delivers them), and the overflow ids of
/// `/proc/sys/kernel/overflow{uid,gid}` that mark a process this one
/// cannot see, whose credentials then count as absent.
pub fn credential_policy() -> CredentialPolicy {
    crate::peer::policy()
}

/// One fd for [`poll`] and what to wait for.
#[derive(Clone, Copy, Debug)]
pub struct Interest<'a> {
    /// The fd.
    pub fd: BorrowedFd<'a>,
    /// Wait until it is readable (`POLLIN`).
    pub read: bool,
    /// Wait until it is writable (`POLLOUT`).
    pub write: bool,
}

/// `poll(2)`: waits until one of `fds` is ready for what it asks, or
/// `timeout` passes (`None`: no timeout), and says for each whether it
/// is (an error or a hang-up counts as ready: the next call reports it).
/// All `false` after a timeout. `EINTR` waits again for what is left.
///
/// ```
/// use std::time::Duration;
/// use mon_ipc_std::{SocketKind, raw};
/// let pair = mon_ipc_std::socketpair(SocketKind::Stream)?;
/// let readable = |fd| raw::Interest { fd, read: true, write: false };
/// let ready = raw::poll(&[readable(pair.server.as_fd())], Some(Duration::from_millis(1)))?;
/// assert_eq!(ready, [false]); // nothing sent yet
/// raw::send(&pair.client, &[b"x"], None, &[])?;
/// assert_eq!(raw::poll(&[readable(pair.server.as_fd())], None)?, [true]);
/// # use std::os::fd::AsFd;
/// # Ok::<(), mon_ipc_std::Error>(())
/// ```
pub fn poll(fds: &[Interest<'_>], timeout: Option<Duration>) -> Result<Vec<bool>> {
    let set: Vec<_> = fds.iter().map(|i| (i.fd, i.read, i.write)).collect();
    sys::sock::poll_set(&set, timeout)
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
