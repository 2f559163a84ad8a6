//! What the kernel says about the process at the other end of a socket.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use mon_ipc::{CredentialPolicy, Credentials, GID_UNKNOWN, SocketCredentials, UID_UNKNOWN, Ucred};

use crate::error::{Error, Result};
use crate::platform::System;
use crate::sys;
use crate::sys::proc::PidfdPid;
use crate::sys::sockopt::PeerPidfd;

/// The peer's `SO_PEERCRED`: pid, euid and egid when the connection was
/// made. The pid may since have been reused; see [`peer_pidfd`].
///
/// Elsewhere than Linux: `LOCAL_PEERCRED` (FreeBSD), `getpeereid` and
/// `LOCAL_PEERPID` (macOS), `LOCAL_PEEREID` (NetBSD), `SO_PEERCRED`
/// (OpenBSD); the pid is unknown where the system does not tell it. A
/// socket with no credentials recorded gives unknown ids, as on Linux.
pub fn peer_credentials(sock: impl AsFd) -> Result<Ucred> {
    Ok(
        sys::sockopt::peer_cred(sock.as_fd())?.unwrap_or(Ucred::from_raw(
            0,
            UID_UNKNOWN,
            GID_UNKNOWN,
        )),
    )
}

/// A pidfd of the peer process (`SO_PEERPIDFD`), which names the process
/// itself, not a pid number that may be reused.
///
/// [`Error::KernelTooOld`] before Linux 6.5 and on every other system (no
/// pidfds there), [`Error::PeerGone`] if the peer has exited and been
/// reaped.
pub fn peer_pidfd(sock: impl AsFd) -> Result<OwnedFd> {
    match sys::sockopt::peer_pidfd(sock.as_fd())? {
        PeerPidfd::Fd(fd) => match sys::proc::kernel_pidfd_pid(fd.as_fd()) {
            PidfdPid::Gone => Err(Error::PeerGone),
            _ => Ok(fd),
        },
        PeerPidfd::Unsupported => Err(Error::KernelTooOld("SO_PEERPIDFD")),
        PeerPidfd::Gone => Err(Error::PeerGone),
    }
}

/// The pid a pidfd refers to, from `/proc/self/fdinfo`: `None` if the
/// process is gone or cannot be seen from here, or `pidfd` is no pidfd.
/// Any fd may be passed, also one a peer sent (no ioctl is made on it).
/// Always `None` elsewhere than Linux.
pub fn pidfd_pid(pidfd: impl AsFd) -> Option<u32> {
    match sys::proc::pidfd_pid(pidfd.as_fd()) {
        PidfdPid::Pid(p) => u32::try_from(p).ok(),
        _ => None,
    }
}

/// Everything the socket says about the peer, for the core's policy: the
/// triple and the supplementary groups, and a pidfd if `pidfd`. The caller
/// skips `SO_PEERPIDFD` where `SO_PASSPIDFD` works: the handshake message
/// then brings a pidfd of its sender, which is the one the core prefers.
pub(crate) fn socket_credentials(
    sock: BorrowedFd<'_>,
    pidfd: bool,
) -> Result<SocketCredentials<OwnedFd>> {
    let mut creds = SocketCredentials {
        ucred: sys::sockopt::peer_cred(sock)?,
        ..SocketCredentials::default()
    };
    creds.groups = sys::sockopt::peer_groups(sock)?;
    if pidfd {
        creds.pidfd = match sys::sockopt::peer_pidfd(sock)? {
            PeerPidfd::Fd(fd) => Some(fd),
            PeerPidfd::Unsupported | PeerPidfd::Gone => None,
        };
    }
    Ok(creds)
}

/// The policy of this system: Linux (and FreeBSD) deliver message
/// credentials; Linux reports invisible processes with its overflow ids
/// ([`System::policy`]).
pub(crate) fn policy() -> CredentialPolicy {
    System::CURRENT.policy(sys::proc::overflow())
}

/// Keeps the peer's pidfd only if it provably refers to the process whose
/// pid is reported: the pidfd must name that very pid (`PIDFD_GET_INFO`, or
/// `fdinfo`).
///
/// By construction it should: `SCM_PIDFD` and the `SCM_CREDENTIALS` pid
/// come from the same `struct pid`, and the core takes `SO_PEERPIDFD` only
/// when `SO_PEERCRED` names the same pid. But a peer that exited and was
/// reaped keeps its pid *number* in both, a number the system may already
/// have given to another process, while its pidfd shows `Pid: -1`. Such a
/// pidfd can act on nothing; it is dropped, and so is one whose pid cannot
/// be read (no `/proc`, another pid namespace).
pub(crate) fn check_pidfd(creds: &mut Credentials<OwnedFd>) {
    let Some(fd) = &creds.pidfd else { return };
    // The kernel made this pidfd (`SCM_PIDFD` / `SO_PEERPIDFD`): the ioctl is safe.
    let fits = match sys::proc::kernel_pidfd_pid(fd.as_fd()) {
        PidfdPid::Pid(p) => creds.pid().map(|q| q.get()) == u32::try_from(p).ok(),
        PidfdPid::Gone | PidfdPid::Unknown => false,
    };
    if !fits {
        creds.pidfd = None;
    }
}

/// What every server side (native and D-Bus) does first: `SO_PASSCRED` on
/// if it is not, `SO_PASSPIDFD` on where the kernel has it (`SCM_PIDFD` is
/// made when the message is read, so turning it on now is never too late),
/// then the socket's credentials of the client. Also whether pidfds come
/// with messages.
pub(crate) fn prepare_server(fd: BorrowedFd<'_>) -> Result<(SocketCredentials<OwnedFd>, bool)> {
    if !sys::sockopt::passcred(fd)? {
        sys::sockopt::set_passcred(fd, true)?;
    }
    let pidfd = sys::sockopt::set_passpidfd(fd, true)?;
    Ok((socket_credentials(fd, !pidfd)?, pidfd))
}
