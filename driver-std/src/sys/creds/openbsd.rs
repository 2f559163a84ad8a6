//! OpenBSD: `SO_PEERCRED` (`getsockopt(2)`), a `struct sockpeercred` with
//! the peer's effective uid, effective gid and pid. OpenBSD has no message
//! credentials: the policy is `MessageCredentials::Unavailable`.

use std::os::fd::BorrowedFd;

use mon_ipc::Ucred;
use nix::errno::Errno;
use nix::libc;

use super::decode;
use crate::error::Result;
use crate::sys::os;
use crate::sys::sockopt::{Plain, get_plain};

// SAFETY: `struct sockpeercred` is three integers: every bit pattern is valid.
unsafe impl Plain for libc::sockpeercred {}

/// `SO_PEERCRED`: uid, gid and pid of the peer as of `connect` or `bind`
/// (for the client: the listener's). `None` when the socket has none
/// recorded (`ENOTCONN`, `EINVAL`).
pub(crate) fn peer_cred(sock: BorrowedFd<'_>) -> Result<Option<Ucred>> {
    match get_plain::<libc::sockpeercred>(sock, libc::SOL_SOCKET, libc::SO_PEERCRED) {
        Ok((c, _)) => Ok(Some(decode::triple(c.pid, c.uid, c.gid))),
        Err(Errno::EINVAL | Errno::ENOTCONN) => Ok(None),
        Err(e) => Err(os("getsockopt(SO_PEERCRED)", e)),
    }
}
