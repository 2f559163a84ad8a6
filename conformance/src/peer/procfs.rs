//! What the runner reads about the program under test in `/proc/PID`:
//! which of the runner's objects it still holds, and an fd's flags.
//!
//! Objects are compared by identity, `(st_dev, st_ino)` of the open file
//! (a pipe's two ends share one inode; a socket and a memfd have their
//! own), which `stat` through `/proc/PID/fd/N` gives for the object the fd
//! refers to. Fd numbers and counts are never compared: a program's
//! runtime may open fds of its own.

use std::os::fd::BorrowedFd;
use std::os::unix::fs::MetadataExt;

/// `(st_dev, st_ino)` of an open file.
pub type Ident = (u64, u64);

/// The identity of the object `fd` refers to.
pub fn ident(fd: BorrowedFd<'_>) -> nix::Result<Ident> {
    let st = nix::sys::stat::fstat(fd)?;
    Ok((st.st_dev, st.st_ino))
}

/// The state letter of `/proc/PID/stat` (`R`, `S`, `Z`, ...).
fn state(pid: u32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(") ")?.1.chars().next()
}

/// Which of `objects` the live process `pid` holds an fd of, described as
/// `fd N (what)`. An error if the process has exited (it must wait for
/// its stdin to close, `docs/SHIM.md`).
pub fn held(pid: u32, objects: &[(Ident, String)]) -> Result<Vec<String>, String> {
    let gone = || {
        "the program exited before its standard input was closed (SHIM.md: it must wait for EOF on stdin)"
            .to_owned()
    };
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).map_err(|_| gone())?;
    let mut out = Vec::new();
    for entry in dir.flatten() {
        // The fd may close while we look; then it holds nothing.
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        let id = (meta.dev(), meta.ino());
        for (obj, what) in objects {
            if *obj == id {
                out.push(format!(
                    "fd {} ({what})",
                    entry.file_name().to_string_lossy()
                ));
            }
        }
    }
    if matches!(state(pid), None | Some('Z') | Some('X')) {
        return Err(gone());
    }
    Ok(out)
}

/// Checks that `fd` is a pipe end open for writing (`write`) or reading.
pub fn expect_pipe_end(fd: BorrowedFd<'_>, write: bool) -> Result<(), String> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let st = nix::sys::stat::fstat(fd).map_err(|e| format!("fstat: {e}"))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFIFO {
        return Err("not a pipe".to_owned());
    }
    let fl = fcntl(fd, FcntlArg::F_GETFL).map_err(|e| format!("fcntl: {e}"))?;
    let mode = OFlag::from_bits_truncate(fl) & OFlag::O_ACCMODE;
    let want = if write {
        OFlag::O_WRONLY
    } else {
        OFlag::O_RDONLY
    };
    if mode != want {
        return Err(format!(
            "the wrong end of the pipe (expected the {} end)",
            if write { "write" } else { "read" }
        ));
    }
    Ok(())
}

/// Checks that the fd of `pid` referring to `obj` has `O_CLOEXEC` in
/// `/proc/PID/fdinfo/N` (a receiver must use `MSG_CMSG_CLOEXEC`).
pub fn check_cloexec(pid: u32, obj: Ident) -> Result<(), String> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).map_err(|e| format!("/proc: {e}"))?;
    let mut found = false;
    for entry in dir.flatten() {
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        if (meta.dev(), meta.ino()) != obj {
            continue;
        }
        found = true;
        let n = entry.file_name().to_string_lossy().into_owned();
        let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{n}"))
            .map_err(|e| format!("fdinfo: {e}"))?;
        let flags = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            .ok_or("no flags in fdinfo")?;
        if flags & libc::O_CLOEXEC as u32 == 0 {
            return Err(format!(
                "the received pipe is fd {n} without close-on-exec (receive with MSG_CMSG_CLOEXEC)"
            ));
        }
    }
    if found {
        Ok(())
    } else {
        Err("the program does not hold the pipe it was sent".to_owned())
    }
}
