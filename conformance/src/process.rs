//! Waiting for a child process without trusting it to exit.

use std::process::{Child, ExitStatus};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Waits for the child until `deadline` (plus a second for it to exit);
/// kills it then. `None` if it had to be killed.
pub(crate) fn wait_bounded(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (tx, rx) = mpsc::channel();
    // Waits without reaping, so that the pid cannot be reused before the
    // kill below (only `child.wait` reaps).
    let waiter = std::thread::spawn(move || {
        use nix::sys::wait::{Id, WaitPidFlag, waitid};
        let r = waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT);
        let _ = tx.send(r.is_ok());
    });
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_secs(1));
    let killed = match rx.recv_timeout(left) {
        Ok(_) => false,
        Err(_) => {
            let _ = child.kill();
            true
        }
    };
    let status = child.wait().ok();
    let _ = waiter.join();
    if killed { None } else { status }
}
