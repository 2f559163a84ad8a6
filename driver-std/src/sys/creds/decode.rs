//! The credential structures of every system, read into the core's
//! [`Ucred`]: pure functions, compiled on every target, so that what the
//! BSD and macOS paths decide is unit-tested on Linux too.

// Each system's module uses its own decoders; all are tested everywhere.
#![cfg_attr(not(test), allow(dead_code))]

use mon_ipc::{GID_UNKNOWN, Ucred};

/// A triple of pid, effective uid and effective gid, as `SO_PEERCRED`
/// (Linux `socket(7)`, OpenBSD `getsockopt(2)`), `LOCAL_PEEREID` (NetBSD
/// `unix(4)`) and `LOCAL_PEERPID` + `getpeereid(3)` (macOS) give them. A
/// pid of 0 or less is unknown.
pub(crate) fn triple(pid: i32, euid: u32, egid: u32) -> Ucred {
    Ucred::from_raw(pid.max(0) as u32, euid, egid)
}

/// FreeBSD's `struct cmsgcred` (`unix(4)`, `SCM_CREDS` that the sender attaches
/// and the kernel fills in): the pid, the **effective** uid (`cmcred_euid`) and
/// the **effective** gid, which is the first of `cmcred_groups` (the kernel
/// puts it there, FreeBSD 15 included, where `cr_gid` left the group array:
/// `sys/kern/uipc_usrreq.c`, `unp_internalize`). `cmcred_uid` and `cmcred_gid`
/// are the *real* ids and are not used ([PROTOCOL.md
/// §2](mon_ipc::spec#2-credentials)). No group at all: the gid is unknown, so
/// the piece counts as absent.
pub(crate) fn cmsgcred(pid: i32, euid: u32, ngroups: i16, groups: &[u32]) -> Ucred {
    let gid = first_group(ngroups, groups);
    Ucred::from_raw(pid.max(0) as u32, euid, gid)
}

/// The `struct xucred` of `LOCAL_PEERCRED` (FreeBSD `unix(4)`): the
/// effective uid, the effective gid as `cr_groups[0]` (`cr_gid` in
/// `<sys/ucred.h>`), and `cr_pid` (FreeBSD 13 and later; 0 before, which is
/// an unknown pid). A layout version other than `XUCRED_VERSION` (0) is
/// not understood: `None`.
pub(crate) fn xucred(
    version: u32,
    uid: u32,
    ngroups: i16,
    groups: &[u32],
    pid: i32,
) -> Option<Ucred> {
    if version != 0 {
        return None;
    }
    Some(Ucred::from_raw(
        pid.max(0) as u32,
        uid,
        first_group(ngroups, groups),
    ))
}

/// The first of the `ngroups` valid entries of `groups`, or unknown.
fn first_group(ngroups: i16, groups: &[u32]) -> u32 {
    if ngroups < 1 {
        return GID_UNKNOWN;
    }
    groups.first().copied().unwrap_or(GID_UNKNOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freebsd_message_credentials_are_the_effective_ids() {
        // A set-uid, set-gid sender: real 1000/1000, effective 0/5. The
        // real ids are not arguments at all: they cannot leak in.
        let c = cmsgcred(4242, 0, 3, &[5, 1000, 20]);
        assert_eq!(c.to_raw(), (4242, 0, 5));
    }

    #[test]
    fn freebsd_message_credentials_without_groups_have_no_gid() {
        let c = cmsgcred(4242, 1000, 0, &[7; 16]);
        assert_eq!((c.uid(), c.gid()), (Some(1000), None));
        let c = cmsgcred(4242, 1000, -1, &[7; 16]);
        assert_eq!(c.gid(), None);
    }

    #[test]
    fn xucred_without_a_pid_reports_pid_unknown() {
        // FreeBSD 12 zeroes the union where 13 puts cr_pid.
        let c = xucred(0, 1000, 2, &[1000, 20], 0).unwrap();
        assert_eq!(c.to_raw(), (mon_ipc::PID_UNKNOWN, 1000, 1000));
        assert_eq!(c.pid(), None);
        let c = xucred(0, 1000, 2, &[1000, 20], 77).unwrap();
        assert_eq!(c.to_raw(), (77, 1000, 1000));
    }

    #[test]
    fn xucred_of_an_unknown_layout_is_refused() {
        assert_eq!(xucred(1, 1000, 1, &[1000], 77), None);
    }

    #[test]
    fn a_negative_pid_is_unknown() {
        assert_eq!(triple(-1, 1000, 100).pid(), None);
        assert_eq!(triple(0, 1000, 100).to_raw(), (0, 1000, 100));
    }
}
