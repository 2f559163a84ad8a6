//! macOS: the effective uid and gid from `getpeereid(3)`, the pid from
//! `LOCAL_PEERPID` (`<sys/un.h>`; no man page documents it). No message
//! credentials: XNU accepts only `SCM_RIGHTS` from a sender (its
//! `SCM_CREDS` constant is not implemented), so the policy is
//! `MessageCredentials::Unavailable`.

use std::os::fd::BorrowedFd;

use mon_ipc::Ucred;
use nix::errno::Errno;
use nix::sys::socket::{getsockopt, sockopt};

use super::decode;
use crate::error::Result;
use crate::sys::os;

/// `getpeereid(3)`: the effective uid and gid of the peer as of `connect`
/// (for the client: `listen`), and `LOCAL_PEERPID` for its pid; a pid that
/// cannot be read is unknown (`MON_IPC_PID_UNKNOWN`), not an error. `None`
/// when the socket has no credentials recorded (`EINVAL`, `ENOTCONN`).
///
/// Not verified on a Mac: XNU answers `LOCAL_PEERPID` with the pid of the
/// process that last used the peer's socket, which need not be the one
/// that connected. The pid is reported, never compared
/// ([PROTOCOL.md §2](mon_ipc::spec#2-credentials)).
pub(crate) fn peer_cred(sock: BorrowedFd<'_>) -> Result<Option<Ucred>> {
    let (uid, gid) = match nix::unistd::getpeereid(sock) {
        Ok(ids) => ids,
        Err(Errno::EINVAL | Errno::ENOTCONN) => return Ok(None),
        Err(e) => return Err(os("getpeereid", e)),
    };
    let pid = getsockopt(&sock, sockopt::LocalPeerPid).unwrap_or(0);
    Ok(Some(decode::triple(pid, uid.as_raw(), gid.as_raw())))
}
