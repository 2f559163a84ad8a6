//! NetBSD: `LOCAL_PEEREID` (`unix(4)`), a `struct unpcbid` with the
//! peer's pid, effective uid and effective gid. No message credentials
//! are used: NetBSD's `LOCAL_CREDS` is the receiver's switch and, on a
//! stream, rides on the first read only, which the protocol's "every
//! piece carries credentials" cannot rest on; the policy is
//! `MessageCredentials::Unavailable`.

use std::os::fd::BorrowedFd;

use mon_ipc::Ucred;
use nix::errno::Errno;
use nix::libc;

use super::decode;
use crate::error::Result;
use crate::sys::os;
use crate::sys::sockopt::{Plain, get_plain};

// SAFETY: `struct unpcbid` is three integers: every bit pattern is valid.
unsafe impl Plain for libc::unpcbid {}

/// `getsockopt(0, LOCAL_PEEREID)`: pid, euid and egid of the peer as of
/// `connect` (for the client: `listen`). `None` when the socket has none
/// recorded (`EINVAL`, `ENOTCONN`).
pub(crate) fn peer_cred(sock: BorrowedFd<'_>) -> Result<Option<Ucred>> {
    match get_plain::<libc::unpcbid>(sock, 0, libc::LOCAL_PEEREID) {
        Ok((c, _)) => Ok(Some(decode::triple(c.unp_pid, c.unp_euid, c.unp_egid))),
        Err(Errno::EINVAL | Errno::ENOTCONN) => Ok(None),
        Err(e) => Err(os("getsockopt(LOCAL_PEEREID)", e)),
    }
}
