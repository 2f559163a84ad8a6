//! A socket handed to a child process at a fixed fd number, and taken over
//! in the child: what socket activation (systemd's `LISTEN_FDS`) and test
//! runners (the conformance shim's fd 3) do. `std` has no safe form of
//! either: a `pre_exec` hook is `unsafe`, and so is adopting a raw fd.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Mutex;

use nix::libc;

/// Makes `cmd` start its program with `sock` on fd `target`, without
/// `FD_CLOEXEC`. `sock` must stay open until the command is spawned (the
/// borrow cannot say so: the hook runs at `spawn`).
pub(crate) fn put_in_child(cmd: &mut Command, sock: BorrowedFd<'_>, target: RawFd) {
    let fd = sock.as_raw_fd();
    // SAFETY: the hook runs in the child between fork and exec and calls
    // only dup2 and fcntl, which are async-signal-safe, on numbers only; it
    // touches no memory of the parent. dup2 onto `target` closes whatever
    // the child had there and clears FD_CLOEXEC on the copy; when the
    // socket already is `target`, dup2 would do nothing, so the flag is
    // cleared with fcntl instead. If `sock` was closed before spawn, the
    // calls fail with EBADF and spawn returns that error.
    unsafe {
        cmd.pre_exec(move || {
            let r = if fd == target {
                libc::fcntl(target, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, target)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The fd numbers taken over so far: each at most once per process.
static TAKEN: Mutex<Vec<RawFd>> = Mutex::new(Vec::new());

/// Takes ownership of the socket inherited on fd `fd`, once per process;
/// `None` if it is not an open socket or was taken already.
pub(crate) fn take_socket(fd: RawFd) -> Option<OwnedFd> {
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    if taken.contains(&fd) {
        return None;
    }
    // SAFETY: fcntl(F_GETFD) on a number only queries.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: `fd` is open (checked above) and stays open while borrowed:
    // nothing in this function closes it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let st = nix::sys::stat::fstat(borrowed).ok()?;
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return None;
    }
    taken.push(fd);
    // SAFETY: `fd` is an open socket (checked above) that this process
    // inherited: the public wrapper's contract is that it is called before
    // the process opens anything that could own that number, and `TAKEN`
    // makes sure it is adopted once.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}
