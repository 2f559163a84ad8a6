//! What only Linux has, absent on the other systems: the receiver's
//! switches `SO_PASSCRED` and `SO_PASSPIDFD`, `SO_PEERGROUPS` and
//! `SO_PEERPIDFD` (Linux `socket(7)`, `unix(7)`). There is nothing to
//! switch on: FreeBSD's message credentials are the sender's to attach,
//! and macOS, NetBSD and OpenBSD have none the protocol uses.

use std::os::fd::BorrowedFd;

use super::PeerPidfd;
use crate::error::Result;

/// Nothing to turn on or off.
pub(crate) fn set_passcred(_sock: BorrowedFd<'_>, _on: bool) -> Result<()> {
    Ok(())
}

/// `true`: what the receiver can get, it gets without asking.
pub(crate) fn passcred(_sock: BorrowedFd<'_>) -> Result<bool> {
    Ok(true)
}

/// `false`: no pidfds on this system.
pub(crate) fn set_passpidfd(_sock: BorrowedFd<'_>, _on: bool) -> Result<bool> {
    Ok(false)
}

/// `None`: no `SO_PEERGROUPS`. (FreeBSD's and macOS's `xucred` hold at
/// most 16 groups, `XU_NGROUPS`, with no sign of truncation; a cut list is
/// not the peer's groups, so it is not reported.)
pub(crate) fn peer_groups(_sock: BorrowedFd<'_>) -> Result<Option<Vec<u32>>> {
    Ok(None)
}

/// No pidfds on this system.
pub(crate) fn peer_pidfd(_sock: BorrowedFd<'_>) -> Result<PeerPidfd> {
    Ok(PeerPidfd::Unsupported)
}

/// No message credentials on this system (macOS, NetBSD, OpenBSD): the
/// policy is `MessageCredentials::Unavailable`, and socket credentials
/// alone decide.
#[cfg(not(target_os = "freebsd"))]
mod message {
    use mon_ipc::Ucred;
    use nix::libc::c_int;

    use crate::sys::msg::Claim;

    /// No control message type: nothing is attached, nothing matches.
    pub(crate) const MSG_CREDS_TYPE: c_int = -1;

    /// No room for message credentials.
    pub(crate) const MSG_CREDS_LEN: usize = 0;

    /// Nothing to attach.
    pub(crate) fn encode_claim(_c: Claim) -> [u8; MSG_CREDS_LEN] {
        []
    }

    /// Never called: [`MSG_CREDS_TYPE`] matches no control message.
    pub(crate) fn decode_message(_data: &[u8]) -> Option<Ucred> {
        None
    }
}
#[cfg(not(target_os = "freebsd"))]
pub(crate) use message::*;
