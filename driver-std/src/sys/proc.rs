//! Our own ids, and what `/proc` says about ids and pidfds.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::OnceLock;

use mon_ipc::Overflow;
use nix::unistd::{getegid, geteuid, getpid};

use super::msg::Claim;

/// The credentials this process attaches to its handshake message: its
/// pid, *effective* uid and *effective* gid, which is what `SO_PEERCRED`
/// reports. Credentials the kernel adds by itself carry the *real* ids, so
/// a set-uid program would look like a mismatch without this.
pub(crate) fn own_claim() -> Claim {
    Claim {
        pid: getpid().as_raw(),
        uid: geteuid().as_raw(),
        gid: getegid().as_raw(),
    }
}

/// `/proc/sys/kernel/overflow{uid,gid}`: the ids Linux reports for a process
/// it cannot map into our user namespace (65534 unless changed). Read once.
pub(crate) fn overflow() -> Overflow {
    static CACHE: OnceLock<Overflow> = OnceLock::new();
    *CACHE.get_or_init(|| {
        let read = |name: &str| -> Option<u32> {
            std::fs::read_to_string(format!("/proc/sys/kernel/{name}"))
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        let d = Overflow::default();
        Overflow {
            uid: read("overflowuid").unwrap_or(d.uid),
            gid: read("overflowgid").unwrap_or(d.gid),
        }
    })
}

/// The process a pidfd refers to, from the `Pid:` line of its fdinfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PidfdPid {
    /// The process lives (or is a zombie), with this pid in our namespace.
    Pid(i32),
    /// `Pid: -1`: the process exited and was reaped.
    Gone,
    /// `Pid: 0` (not visible in our pid namespace), no `Pid:` line (not a
    /// pidfd), or `/proc` is not there.
    Unknown,
}

/// Reads `/proc/self/fdinfo/N` for the pidfd `fd`.
pub(crate) fn pidfd_pid(fd: BorrowedFd<'_>) -> PidfdPid {
    let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())) else {
        return PidfdPid::Unknown;
    };
    let pid = info
        .lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|v| v.trim().parse::<i32>().ok());
    match pid {
        Some(-1) => PidfdPid::Gone,
        Some(p) if p > 0 => PidfdPid::Pid(p),
        _ => PidfdPid::Unknown,
    }
}
