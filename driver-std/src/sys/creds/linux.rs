//! Linux: `SO_PEERCRED`, `SO_PEERGROUPS`, `SO_PEERPIDFD` (`socket(7)`,
//! `unix(7)`), and `SCM_CREDENTIALS` with `SO_PASSCRED` / `SO_PASSPIDFD`
//! for message credentials (`unix(7)`).

use std::mem::size_of;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};

use mon_ipc::Ucred;
use nix::errno::Errno;
use nix::libc::{self, c_int};
use nix::sys::socket::{getsockopt, setsockopt, sockopt};

use super::PeerPidfd;
use super::decode;
use crate::error::{Error, Result};
use crate::sys::msg::Claim;
use crate::sys::os;
use crate::sys::sockopt::{get_int, get_raw, set_int};

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

/// The control message of message credentials: `SCM_CREDENTIALS`.
pub(crate) const MSG_CREDS_TYPE: c_int = libc::SCM_CREDENTIALS;

/// Its data: the kernel's `struct ucred`, `{pid, uid, gid}`.
pub(crate) const MSG_CREDS_LEN: usize = size_of::<libc::ucred>();

/// `SCM_CREDENTIALS` data claiming `c`: pid, uid, gid, as `struct ucred`
/// holds them. The kernel checks the claim: an unprivileged sender can
/// only state its own ids.
pub(crate) fn encode_claim(c: Claim) -> [u8; MSG_CREDS_LEN] {
    let mut b = [0u8; MSG_CREDS_LEN];
    b[0..4].copy_from_slice(&c.pid.to_ne_bytes());
    b[4..8].copy_from_slice(&c.uid.to_ne_bytes());
    b[8..12].copy_from_slice(&c.gid.to_ne_bytes());
    b
}

/// `SCM_CREDENTIALS` data (at least [`MSG_CREDS_LEN`] bytes) as a triple.
pub(crate) fn decode_message(data: &[u8]) -> Option<Ucred> {
    let int = |i: usize| {
        let mut a = [0u8; 4];
        a.copy_from_slice(data.get(i..i + 4)?);
        Some(u32::from_ne_bytes(a))
    };
    Some(decode::triple(int(0)? as i32, int(4)?, int(8)?))
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

/// Whether `SO_PASSPIDFD` is on (the tests' check that accepted sockets
/// inherit it from the listener).
#[cfg(test)]
pub(crate) fn passpidfd(sock: BorrowedFd<'_>) -> Result<bool> {
    Ok(get_int(sock, SO_PASSPIDFD)? != 0)
}

/// `SO_PEERCRED`: the peer's pid, euid and egid when it connected (or, for
/// the client, when the server called `listen` or `socketpair`). Always
/// `Some` on Linux: a socket without a peer reports unknown ids, which
/// count as absent.
///
/// The pid stays what it was even after the peer exits and is reaped: it
/// may by now belong to another process. Only a pidfd names a process.
pub(crate) fn peer_cred(sock: BorrowedFd<'_>) -> Result<Option<Ucred>> {
    let c = getsockopt(&sock, sockopt::PeerCredentials)
        .map_err(|e| os("getsockopt(SO_PEERCRED)", e))?;
    Ok(Some(Ucred::from_raw(
        c.pid().max(0) as u32,
        c.uid(),
        c.gid(),
    )))
}

/// `SO_PEERGROUPS`: the peer's supplementary groups, or `None` if the kernel
/// predates it. A buffer too small gives `ERANGE` with `optlen` set to the
/// size needed: retry with that size (the groups were fixed at connect time,
/// so one retry suffices; a few are allowed).
pub(crate) fn peer_groups(sock: BorrowedFd<'_>) -> Result<Option<Vec<u32>>> {
    const GID: usize = size_of::<libc::gid_t>();
    let mut buf = vec![0u8; 32 * GID];
    for _ in 0..4 {
        match get_raw(sock, libc::SOL_SOCKET, SO_PEERGROUPS, &mut buf) {
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

/// `SO_PEERPIDFD`.
///
/// Seen on Linux 6.18: when the peer exited and was reaped before we ask,
/// this may still succeed, with a pidfd whose `fdinfo` shows `Pid: -1`; so
/// a pidfd must be checked against the pid it is reported with
/// ([`crate::sys::proc::pidfd_pid`]).
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
