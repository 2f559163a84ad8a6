//! Our own ids, and what `/proc` says about ids and pidfds. Pidfds and
//! `/proc/sys/kernel/overflow*` are Linux's (`pidfd_open(2)`, `proc(5)`):
//! elsewhere no pidfd exists and the overflow ids are not read.

use std::os::fd::{AsRawFd, BorrowedFd};

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
#[cfg(target_os = "linux")]
pub(crate) fn overflow() -> Overflow {
    use std::sync::OnceLock;
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

/// Not Linux: no overflow ids to read (the policy ignores them,
/// [`crate::platform::System::policy`]).
#[cfg(not(target_os = "linux"))]
pub(crate) fn overflow() -> Overflow {
    Overflow::default()
}

/// The pid of the process the pidfd `fd` refers to, as seen from our pid
/// namespace; `fd` must be a pidfd the kernel gave us (`SCM_PIDFD`,
/// `SO_PEERPIDFD`, `pidfd_open`), never an fd from elsewhere: see
/// [`pidfd_pid`] for those.
///
/// Asks the kernel with one `ioctl(PIDFD_GET_INFO)` (Linux 6.13+) and falls
/// back to reading `/proc/self/fdinfo/N` where that ioctl is unknown. The
/// ioctl is the fast path of every handshake that yields a pidfd: the
/// `fdinfo` read costs `openat` + `statx` + 4 `read`s + `close` and a
/// `String` (it reports size 0, so `read_to_string` reads until EOF in
/// steps), and with it the plain handshake measured 1.25x slower.
///
/// `ESRCH` from the ioctl means either "reaped" or "not visible in our pid
/// namespace" (the kernel reports both alike); `fdinfo` tells them apart
/// (`Pid: -1` against `Pid: 0`), and a dying peer is rare enough to pay for it.
// The measurement: docs/PERFORMANCE.md in the repository.
#[cfg(target_os = "linux")]
pub(crate) fn kernel_pidfd_pid(fd: BorrowedFd<'_>) -> PidfdPid {
    match pidfd_get_info_pid(fd) {
        Ok(p) if p > 0 => PidfdPid::Pid(p),
        Ok(_) | Err(_) => pidfd_pid(fd),
    }
}

/// Not Linux: no pidfds, so nothing names a process.
#[cfg(not(target_os = "linux"))]
pub(crate) fn kernel_pidfd_pid(_fd: BorrowedFd<'_>) -> PidfdPid {
    PidfdPid::Unknown
}

/// `PIDFD_GET_INFO` = `_IOWR(PIDFS_IOCTL_MAGIC 0xFF, 11, struct pidfd_info)`
/// with the 64-byte version-0 struct.
#[cfg(target_os = "linux")]
const PIDFD_GET_INFO: nix::libc::Ioctl = 0xC040_FF0B_u32 as nix::libc::Ioctl;
/// `PIDFD_INFO_PID`: ask for (and, back in `mask`, confirm) `pid` / `tgid`.
#[cfg(target_os = "linux")]
const PIDFD_INFO_PID: u64 = 1;

/// `struct pidfd_info` of `<linux/pidfd.h>`, version 0 (64 bytes): `mask`
/// then `cgroupid`, then `pid` at byte offset 16 (the rest unread here).
#[cfg(target_os = "linux")]
#[repr(C)]
#[derive(Default)]
struct PidfdInfo {
    mask: u64,
    cgroupid: u64,
    pid: u32,
    tgid: u32,
    rest: [u32; 10],
}

/// One `ioctl(fd, PIDFD_GET_INFO)` for the pid: `Err` if the kernel does
/// not know the ioctl (`ENOTTY`, `EINVAL` before 6.13) or the process is
/// reaped or invisible (`ESRCH`).
///
/// Only for fds known to be pidfds: an ioctl number means what the driver
/// behind the fd says it means, and some legacy drivers dispatch on its
/// number alone, ignoring the size encoded in it. An fd a peer sent us could
/// be any device.
#[cfg(target_os = "linux")]
fn pidfd_get_info_pid(fd: BorrowedFd<'_>) -> Result<i32, nix::errno::Errno> {
    const _: () = assert!(std::mem::size_of::<PidfdInfo>() == 64);
    let mut info = PidfdInfo {
        mask: PIDFD_INFO_PID,
        ..PidfdInfo::default()
    };
    // SAFETY: `fd` is a valid descriptor for the duration of the call, and
    // a pidfd (the callers' contract), whose ioctl handler (`pidfd_ioctl`)
    // writes at most the size `PIDFD_GET_INFO` encodes, 64 bytes (it copies
    // `min(usize, sizeof(kinfo))`), into `info`, a writable struct of exactly
    // that size. Before Linux 6.13 pidfds answer it with `ENOTTY`.
    let r = unsafe { nix::libc::ioctl(fd.as_raw_fd(), PIDFD_GET_INFO, &raw mut info) };
    if r < 0 {
        return Err(nix::errno::Errno::last());
    }
    if info.mask & PIDFD_INFO_PID == 0 {
        return Err(nix::errno::Errno::EINVAL);
    }
    i32::try_from(info.pid).map_err(|_| nix::errno::Errno::EINVAL)
}

/// The pid of the process the pidfd `fd` refers to, from
/// `/proc/self/fdinfo/N`: safe for any fd (one that is no pidfd has no
/// `Pid:` line and gives [`PidfdPid::Unknown`]). Elsewhere than Linux
/// there is no such file, and always [`PidfdPid::Unknown`].
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};
    use std::process::Command;

    use super::*;

    /// `pidfd_open(pid, 0)`; the tests' only way to a pidfd of a child.
    fn pidfd_open(pid: u32) -> OwnedFd {
        // SAFETY: a plain system call with integer arguments; on success it
        // returns a new descriptor that nothing else owns.
        let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
        assert!(fd >= 0, "pidfd_open: {}", nix::errno::Errno::last());
        // SAFETY: `fd` was just returned by the kernel and is ours alone.
        unsafe { OwnedFd::from_raw_fd(fd as i32) }
    }

    #[test]
    fn ioctl_and_fdinfo_agree_on_a_live_process() {
        let me = pidfd_open(std::process::id());
        let want = PidfdPid::Pid(std::process::id() as i32);
        assert_eq!(pidfd_pid(me.as_fd()), want);
        assert_eq!(kernel_pidfd_pid(me.as_fd()), want);
        match pidfd_get_info_pid(me.as_fd()) {
            Ok(p) => assert_eq!(p, std::process::id() as i32),
            // Visible skip: the fdinfo path alone was tested above.
            Err(e) => eprintln!("PIDFD_GET_INFO not supported here ({e}): only fdinfo tested"),
        }
    }

    #[test]
    fn a_zombie_has_its_pid_and_a_reaped_child_is_gone() {
        let mut child = Command::new("true").spawn().unwrap();
        let fd = pidfd_open(child.id());
        // Not yet reaped: a zombie still names its pid.
        nix::sys::wait::waitid(
            nix::sys::wait::Id::PIDFd(fd.as_fd()),
            nix::sys::wait::WaitPidFlag::WEXITED | nix::sys::wait::WaitPidFlag::WNOWAIT,
        )
        .unwrap();
        assert_eq!(
            kernel_pidfd_pid(fd.as_fd()),
            PidfdPid::Pid(child.id() as i32)
        );
        child.wait().unwrap();
        assert_eq!(pidfd_pid(fd.as_fd()), PidfdPid::Gone);
        assert_eq!(kernel_pidfd_pid(fd.as_fd()), PidfdPid::Gone);
        assert!(pidfd_get_info_pid(fd.as_fd()).is_err());
    }

    #[test]
    fn a_descriptor_that_is_no_pidfd_is_unknown() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(pidfd_pid(a.as_fd()), PidfdPid::Unknown);
    }
}
