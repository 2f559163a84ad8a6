//! FreeBSD (`unix(4)`): socket credentials from `LOCAL_PEERCRED` (a
//! `struct xucred`, with `cr_pid` since FreeBSD 13), message credentials
//! from `SCM_CREDS` with a `struct cmsgcred` that the sender attaches and
//! the kernel fills in.

use std::mem::size_of;
use std::os::fd::BorrowedFd;
use std::ptr;

use mon_ipc::Ucred;
use nix::errno::Errno;
use nix::libc::{self, c_int};

use super::decode;
use crate::error::Result;
use crate::sys::msg::Claim;
use crate::sys::os;
use crate::sys::sockopt::{Plain, get_plain};

/// The control message of message credentials: `SCM_CREDS`.
pub(crate) const MSG_CREDS_TYPE: c_int = libc::SCM_CREDS;

/// Its data: a `struct cmsgcred`.
pub(crate) const MSG_CREDS_LEN: usize = size_of::<libc::cmsgcred>();

/// `SCM_CREDS` data to attach: zeroes. The kernel overwrites all of it
/// with the sender's own pid and ids, so `_c` cannot be claimed (unlike
/// Linux, where a privileged sender may state other ids).
pub(crate) fn encode_claim(_c: Claim) -> [u8; MSG_CREDS_LEN] {
    [0; MSG_CREDS_LEN]
}

/// A received `struct cmsgcred` as the effective triple
/// ([`decode::cmsgcred`]); `None` if `data` is too short to hold one.
pub(crate) fn decode_message(data: &[u8]) -> Option<Ucred> {
    if data.len() < MSG_CREDS_LEN {
        return None;
    }
    // SAFETY: `data` holds at least `size_of::<cmsgcred>()` bytes (checked
    // above); `cmsgcred` is integers only, valid for any bytes;
    // `read_unaligned` has no alignment requirement.
    let c: libc::cmsgcred = unsafe { ptr::read_unaligned(data.as_ptr().cast()) };
    Some(decode::cmsgcred(
        c.cmcred_pid,
        c.cmcred_euid,
        c.cmcred_ngroups,
        &c.cmcred_groups,
    ))
}

// SAFETY: `struct xucred` is integers, an array of integers and a union
// of a `pid_t` with pointer-sized padding: every bit pattern is valid.
unsafe impl Plain for libc::xucred {}

/// `LOCAL_PEERCRED`: the peer's effective uid and gid, and its pid where
/// the kernel records it (13 and later), as of `connect` (for the client:
/// `listen`). `None` when the socket has none recorded (`EINVAL`, or not
/// connected: `ENOTCONN`).
pub(crate) fn peer_cred(sock: BorrowedFd<'_>) -> Result<Option<Ucred>> {
    match get_plain::<libc::xucred>(sock, libc::SOL_LOCAL, libc::LOCAL_PEERCRED) {
        Ok((x, _)) => {
            // SAFETY: a union of integers and padding, zeroed before the
            // call: any bits read as a `pid_t` are a valid one (0 before
            // FreeBSD 13, which zeroes the whole struct).
            let pid = unsafe { x.cr_pid__c_anonymous_union.cr_pid };
            decode::xucred(x.cr_version, x.cr_uid, x.cr_ngroups, &x.cr_groups, pid)
                .map(Some)
                .ok_or_else(|| {
                    os(
                        "getsockopt(LOCAL_PEERCRED): unknown xucred version",
                        Errno::EINVAL,
                    )
                })
        }
        Err(Errno::EINVAL | Errno::ENOTCONN) => Ok(None),
        Err(e) => Err(os("getsockopt(LOCAL_PEERCRED)", e)),
    }
}
