//! Shared by the real-socket tests: fd accounting, serialization, helper
//! processes.
//!
//! Every test counts the process's open fds (`/proc/self/fd`) before and
//! after: nothing may leak, whatever the peer did. The count is
//! process-wide, so the tests of one file run one at a time ([`serial`]).
//!
//! Tests that need another process re-execute their own test binary with
//! `MON_IPC_HELPER` set, running only the test named `helper`: a fresh
//! process, so nothing unsafe happens between `fork` and `exec` (std's
//! `Command` does that part), and the helper can do anything.
#![allow(dead_code, unreachable_pub)]

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};

/// Takes the file's test lock, so that fd counts are not disturbed by
/// another test of the same binary.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The number of open fds of this process.
pub fn fd_count() -> usize {
    // read_dir holds one fd of its own while it runs: the same every time.
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Records the fd count; [`FdCheck::assert_same`] compares.
///
/// The count is the process's, and libtest's own threads open fds for a
/// moment now and then (seen: fd 4 listed, then gone before `readlink`,
/// while the harness's main thread was starting the next test thread), so
/// one reading can be one too high. A test's own fds do not come and go by
/// themselves, so the reading is taken several times: the lowest is the
/// baseline, and the check passes if any reading matches it. A leak stays
/// in every reading, and fails.
pub struct FdCheck(usize);

/// Readings per check: enough to see past another thread's open-close.
const READINGS: usize = 16;

impl FdCheck {
    pub fn new() -> Self {
        FdCheck(readings().min().unwrap_or_else(fd_count))
    }

    pub fn assert_same(&self) {
        let mut seen = Vec::with_capacity(READINGS);
        for now in readings() {
            if now == self.0 {
                return;
            }
            seen.push(now);
        }
        panic!("open fds: {} before, {seen:?} after", self.0);
    }
}

/// [`READINGS`] fd counts, yielding between them.
fn readings() -> impl Iterator<Item = usize> {
    (0..READINGS).map(|_| {
        std::thread::yield_now();
        fd_count()
    })
}

/// A fresh socket path in a fresh directory anyone may enter; the
/// directory is removed when this is dropped.
pub struct TempSock(PathBuf);

impl std::ops::Deref for TempSock {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempSock {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempSock {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn temp_path(name: &str) -> TempSock {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!(
        "mon-ipc-std-{}-{name}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    TempSock(dir.join("sock"))
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Says, visibly, that a check was skipped: written to the stderr file
/// itself, which the test harness does not capture (it captures only the
/// `print!` family).
pub fn skipped(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {what}");
}

/// Lets anyone connect to a listener's socket file.
pub fn open_to_all(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
}

/// The helper's mode, if this process is a helper.
pub fn helper_mode() -> Option<String> {
    std::env::var("MON_IPC_HELPER").ok()
}

/// Starts this test binary again as a helper in `mode`, with `args` in
/// `MON_IPC_ARGS`. Its stdout is a pipe the test can read lines from
/// ([`read_line`]); the test harness's own output goes to stderr.
pub fn spawn_helper(mode: &str, args: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "helper", "--nocapture", "--test-threads=1", "-q"])
        .env("MON_IPC_HELPER", mode)
        .env("MON_IPC_ARGS", args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads the next line the helper [`tell`]s (to synchronise with it, no
/// sleeps), skipping the test harness's own output.
pub fn read_line(child: &mut Child) -> String {
    use std::io::Read;
    let out = child.stdout.as_mut().unwrap();
    loop {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while out.read(&mut b).unwrap() == 1 && b[0] != b'\n' {
            line.push(b[0]);
        }
        let line = String::from_utf8(line).unwrap();
        if let Some(told) = line.strip_prefix('@') {
            return told.to_owned();
        }
        assert!(
            !line.is_empty() || b[0] == b'\n',
            "helper closed its stdout"
        );
    }
}

/// In a helper: tells the test something, one line.
pub fn tell(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "@{line}").unwrap();
    out.flush().unwrap();
}

/// The helper's arguments.
pub fn helper_args() -> String {
    std::env::var("MON_IPC_ARGS").unwrap_or_default()
}

/// Waits for a helper and checks that it succeeded.
pub fn wait_ok(mut child: Child) {
    let status = child.wait().unwrap();
    assert!(status.success(), "helper failed: {status}");
}

/// Drops to uid and gid 65534 with no supplementary groups.
pub fn become_nobody() {
    use nix::unistd::{Gid, Uid, setgid, setgroups, setuid};
    setgroups(&[]).unwrap();
    setgid(Gid::from_raw(65534)).unwrap();
    setuid(Uid::from_raw(65534)).unwrap();
}

/// A pipe; returns (read end, write end).
pub fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe().unwrap()
}

/// Writes `data` to `fd`.
pub fn write_fd(fd: impl AsFd, data: &[u8]) {
    assert_eq!(nix::unistd::write(fd, data).unwrap(), data.len());
}

/// Reads what is there from `fd`.
pub fn read_fd(fd: impl AsFd) -> Vec<u8> {
    let mut buf = [0u8; 256];
    let n = nix::unistd::read(fd, &mut buf).unwrap();
    buf[..n].to_vec()
}

/// Mappings of memfds in this process (`/proc/self/maps` lines naming one).
pub fn memfd_maps() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|l| l.contains("/memfd:"))
        .count()
}

/// Resident memory of this process in bytes (`/proc/self/statm`).
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// In a test: binds a listener on a fresh path, starts the helper `mode`
/// with the path (and `extra` after a space), and accepts and
/// authenticates its connection.
pub fn serve_helper(
    name: &str,
    mode: &str,
    extra: &str,
) -> (mon_ipc_std::ServerConnection<OwnedFd>, Child, TempSock) {
    let path = temp_path(name);
    let listener = mon_ipc_std::Listener::bind(&path, mon_ipc::SocketKind::Stream).unwrap();
    let child = spawn_helper(mode, &format!("{} {extra}", path.to_str().unwrap()));
    let sock = OwnedFd::from(listener.accept().unwrap());
    let conn = mon_ipc_std::server(sock, &mon_ipc_std::ServerOptions::default()).unwrap();
    (conn, child, path)
}

/// In a helper started by [`serve_helper`]: connects and authenticates;
/// returns the connection and the extra argument.
pub fn helper_connect() -> (mon_ipc_std::Connection<OwnedFd>, String) {
    let args = helper_args();
    let (path, extra) = args.split_once(' ').unwrap_or((&args, ""));
    let sock = mon_ipc_std::connect(path, mon_ipc::SocketKind::Stream).unwrap();
    let conn = mon_ipc_std::client(sock, &mon_ipc_std::ClientOptions::default()).unwrap();
    (conn, extra.to_owned())
}

/// The deadline of the timeout tests: long enough that "at least the
/// deadline" means something, short enough for a quick suite.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_millis(300);

/// How late past its deadline a timed-out call may return in a test: far
/// beyond any scheduling delay. A tight bound (it was twice the deadline)
/// fails on a loaded machine, where a woken thread may wait for a CPU
/// longer than the deadline itself (seen in a parallel run with both cores
/// busy); what this still catches is a call that ignores its deadline.
/// That the deadline is one per call, not renewed by each read, is tested
/// by a peer that trickles bytes (`channel_timeouts.rs`).
pub const LATE: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `f`, which must time out, and checks that it took at least
/// [`DEADLINE`] and returned within [`LATE`] of it.
pub fn times_out<T: std::fmt::Debug>(what: &str, f: impl FnOnce() -> mon_ipc_std::Result<T>) {
    let start = std::time::Instant::now();
    let r = f();
    let took = start.elapsed();
    assert_eq!(r.unwrap_err(), mon_ipc_std::Error::Timeout, "{what}");
    assert!(took >= DEADLINE, "{what}: timed out early, after {took:?}");
    assert!(
        took < DEADLINE + LATE,
        "{what}: timed out late, after {took:?}"
    );
}
