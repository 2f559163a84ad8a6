//! What the kernel says about the process at the other end of a socket.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use mon_ipc::{
    CredentialPolicy, Credentials, GID_UNKNOWN, SocketCredentials, SocketKind, UID_UNKNOWN, Ucred,
};

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

/// The socket's kind and its `SO_PEERCRED`, for a side that reads the
/// socket credentials anyway (the server; the client with mutual
/// authentication): `SO_TYPE` and `SO_PEERCRED`, and `SO_DOMAIN` only when
/// the credentials are unknown. On Linux only an `AF_UNIX` socket has peer
/// credentials (`af_unix.c` alone sets `sk_peer_cred`; every other socket
/// reports uid and gid -1), so known ids already show the family. Even if
/// another family had them, nothing would pass: message credentials come
/// with `AF_UNIX` reads alone (`scm_recv`, and netlink, which is neither
/// stream nor seqpacket), so the handshake would fail `no_credentials`.
/// Elsewhere the family is checked first, as [`sys::sockopt::unix_kind`].
pub(crate) fn kind_and_peer(sock: BorrowedFd<'_>) -> Result<(SocketKind, Option<Ucred>)> {
    if cfg!(target_os = "linux") {
        let kind = sys::sockopt::socket_type(sock)?;
        let ucred = sys::sockopt::peer_cred(sock)?;
        if !ucred.is_some_and(|u| u.uid().is_some() && u.gid().is_some()) {
            sys::sockopt::check_unix(sock)?;
        }
        Ok((kind, ucred))
    } else {
        let kind = sys::sockopt::unix_kind(sock)?;
        Ok((kind, sys::sockopt::peer_cred(sock)?))
    }
}

/// Everything else the socket says about the peer whose `SO_PEERCRED` is
/// `ucred`, for the core's policy: the supplementary groups, and a pidfd
/// if `pidfd`. The caller skips `SO_PEERPIDFD` where `SO_PASSPIDFD` works:
/// the handshake message then brings a pidfd of its sender, which is the
/// one the core prefers.
pub(crate) fn socket_credentials(
    sock: BorrowedFd<'_>,
    ucred: Option<Ucred>,
    pidfd: bool,
) -> Result<SocketCredentials<OwnedFd>> {
    let mut creds = SocketCredentials {
        ucred,
        groups: sys::sockopt::peer_groups(sock)?,
        pidfd: None,
    };
    if pidfd {
        creds.pidfd = socket_pidfd(sock)?;
    }
    Ok(creds)
}

/// `SO_PEERPIDFD`, if the kernel has it and the peer lives.
pub(crate) fn socket_pidfd(sock: BorrowedFd<'_>) -> Result<Option<OwnedFd>> {
    Ok(match sys::sockopt::peer_pidfd(sock)? {
        PeerPidfd::Fd(fd) => Some(fd),
        PeerPidfd::Unsupported | PeerPidfd::Gone => None,
    })
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

/// What a server side has learnt from its socket before the hello.
pub(crate) struct Prepared {
    /// The socket type.
    pub(crate) kind: SocketKind,
    /// The client's socket credentials, for the core.
    pub(crate) client: SocketCredentials<OwnedFd>,
    /// Whether a hello read may bring an `SCM_PIDFD` (room for it in the
    /// control buffer).
    pub(crate) pidfd: bool,
    /// `SO_PASSPIDFD` was left as found (see [`prepare_server`]): if the
    /// hello brings no pidfd, `SO_PEERPIDFD` is the fallback.
    pub(crate) peer_pidfd_later: bool,
}

/// What every server side (native and D-Bus) does first: the socket's kind
/// and the client's socket credentials ([`kind_and_peer`],
/// [`socket_credentials`]), and `SO_PASSCRED` on if it is not.
///
/// A socket that has `SO_PASSCRED` on was prepared by whoever made it
/// ([`Listener`](crate::Listener), [`socketpair`](crate::socketpair()),
/// which turn `SO_PASSPIDFD` on as well, and accepted sockets inherit both,
/// `unix_sock_inherit_flags` in `af_unix.c`; checked by the tests): it is
/// left as it is. With `lazy_pidfd` (a side that can add a pidfd to the
/// peer before anyone decides, the native server) `SO_PASSPIDFD` is not
/// touched: a hello without `SCM_PIDFD` gets `SO_PEERPIDFD` instead, at
/// `Decide`. Otherwise, and on a socket nobody prepared, `SO_PASSPIDFD` is
/// turned on where the kernel has it (`SCM_PIDFD` is made when the message
/// is read, so turning it on now is never too late).
pub(crate) fn prepare_server(fd: BorrowedFd<'_>, lazy_pidfd: bool) -> Result<Prepared> {
    let (kind, ucred) = kind_and_peer(fd)?;
    let prepared = sys::sockopt::passcred(fd)?;
    if !prepared {
        sys::sockopt::set_passcred(fd, true)?;
    }
    let lazy = prepared && lazy_pidfd && cfg!(target_os = "linux");
    let passpidfd = !lazy && sys::sockopt::set_passpidfd(fd, true)?;
    Ok(Prepared {
        kind,
        client: socket_credentials(fd, ucred, !lazy && !passpidfd)?,
        pidfd: lazy || passpidfd,
        peer_pidfd_later: lazy,
    })
}
