//! The programs of the `dbus` benchmark: a private `dbus-daemon` in a
//! temporary directory ([`Daemon`]) and the libdbus client
//! `bench/c/libdbus_hello.c`, compiled at run time ([`build_libdbus`]) and
//! run as a subprocess ([`Libdbus`]).
//!
//! Both inherit the CPU affinity of the benchmark (`taskset -c 0` in
//! `bench/run.sh`), so the daemon, our client and libdbus share one CPU.

use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

/// A private `dbus-daemon` listening on `<dir>/bus`, with a minimal
/// session configuration (EXTERNAL only, everything allowed). On drop it
/// is killed by its pid and reaped, and its temporary directory removed.
pub struct Daemon {
    child: Child,
    dir: PathBuf,
    /// The socket it listens on.
    pub bus: PathBuf,
    /// The address it printed, e.g. `unix:path=/tmp/.../bus,guid=...`.
    pub address: String,
}

/// Whether `program` can be run (`command -v`).
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A fresh private directory in the temporary directory.
fn temp_dir(tag: &str) -> io::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "mon-ipc-bench-{tag}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

impl Daemon {
    /// Starts `dbus-daemon --nofork --print-address` and waits until it has
    /// printed its address (it listens by then). `Err` is the reason to
    /// skip: not installed, or it did not start (with what it printed on
    /// stderr).
    pub fn start() -> Result<Daemon, String> {
        if !have("dbus-daemon") {
            return Err("dbus-daemon not found (apt-get install dbus)".into());
        }
        let dir = temp_dir("dbus").map_err(|e| format!("temporary directory: {e}"))?;
        match Self::start_in(&dir) {
            Ok((child, bus, address)) => Ok(Daemon {
                child,
                dir,
                bus,
                address,
            }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    fn start_in(dir: &Path) -> Result<(Child, PathBuf, String), String> {
        let bus = dir.join("bus");
        let conf = dir.join("bus.conf");
        std::fs::write(
            &conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                bus.display()
            ),
        )
        .map_err(|e| format!("writing {}: {e}", conf.display()))?;
        // Its stderr (a warning about the fd limit when not root) goes to a
        // file, shown if it fails to start.
        let errlog = dir.join("stderr");
        let err = std::fs::File::create(&errlog).map_err(|e| e.to_string())?;
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .args(["--nofork", "--print-address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(|e| format!("dbus-daemon does not start: {e}"))?;
        let mut line = String::new();
        let read = child
            .stdout
            .take()
            .map(|out| BufReader::new(out).read_line(&mut line));
        if !matches!(read, Some(Ok(n)) if n > 0) || !line.starts_with("unix:path=") {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&errlog).unwrap_or_default();
            return Err(format!(
                "dbus-daemon did not start: printed {line:?}, stderr {stderr:?}"
            ));
        }
        Ok((child, bus, line.trim().to_string()))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The CPUs it may run on (`sched_getaffinity` of its pid).
    pub fn cpus(&self) -> Vec<usize> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        match nix::sched::sched_getaffinity(pid) {
            Ok(set) => (0..nix::sched::CpuSet::count())
                .filter(|&i| set.is_set(i).unwrap_or(false))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Its temporary directory (removed on drop): a place for the compiled
    /// libdbus client too.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Compiles `bench/c/libdbus_hello.c` into `dir` with `cc`, and says how.
///
/// With the headers if `pkg-config --exists dbus-1` (after installing
/// `libdbus-1-dev` with apt-get when running as root with
/// `MON_BENCH_INSTALL=1`), else, or if that fails, with the program's own
/// prototypes against the runtime library (`-l:libdbus-1.so.3`), which
/// needs no `-dev` package. `Err` is the reason to skip the libdbus
/// variants.
pub fn build_libdbus(dir: &Path) -> Result<(PathBuf, &'static str), String> {
    if !have("cc") {
        return Err("cc not found".into());
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("c/libdbus_hello.c");
    let exe = dir.join("libdbus_hello");
    let pkg = |args: &[&str]| {
        Command::new("pkg-config")
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let mut headers = pkg(&["--exists", "dbus-1"]).is_some();
    let may_install = nix::unistd::geteuid().is_root()
        && std::env::var_os("MON_BENCH_INSTALL").is_some_and(|v| v == "1");
    if !headers && may_install {
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-qq", "libdbus-1-dev"])
            .stdout(Stdio::null())
            .status();
        headers = pkg(&["--exists", "dbus-1"]).is_some();
    }
    let cc = |extra_before: &[String], extra_after: &[String]| -> Result<(), String> {
        let out = Command::new("cc")
            .args(["-std=c99", "-O2", "-Wall"])
            .args(extra_before)
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .args(extra_after)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    let split = |s: Option<String>| -> Vec<String> {
        s.unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    if headers {
        let mut cflags = split(pkg(&["--cflags", "dbus-1"]));
        cflags.push("-DMON_DBUS_HEADERS".into());
        if cc(&cflags, &split(pkg(&["--libs", "dbus-1"]))).is_ok() {
            return Ok((exe, "<dbus/dbus.h>, pkg-config dbus-1"));
        }
    }
    match cc(&[], &["-l:libdbus-1.so.3".to_string()]) {
        Ok(()) => Ok((exe, "own prototypes, -l:libdbus-1.so.3")),
        Err(e) => Err(format!(
            "cannot build bench/c/libdbus_hello.c (libdbus-1.so.3 missing? apt-get install libdbus-1-3): {}",
            e.trim()
        )),
    }
}

/// The libdbus client as a subprocess, for one mode (`"handshake"` or
/// `"hello"`): given N on its stdin, it runs N connections to the bus and
/// answers their total wall time and the median of one.
pub struct Libdbus {
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<ChildStdout>,
}

impl Libdbus {
    /// Starts `exe` (from [`build_libdbus`]) for the bus at `address`.
    pub fn spawn(exe: &Path, address: &str, mode: &str) -> io::Result<Libdbus> {
        let mut child = Command::new(exe)
            .args([address, mode])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take();
        let out = child.stdout.take().map(BufReader::new);
        match out {
            Some(out) => Ok(Libdbus { child, stdin, out }),
            None => Err(io::Error::other("no stdout")),
        }
    }

    /// Runs `iters` connections: (total, median of one), as timed by the
    /// subprocess itself (`CLOCK_MONOTONIC` around each iteration).
    pub fn run(&mut self, iters: u64) -> io::Result<(Duration, Duration)> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::other("closed"))?;
        writeln!(stdin, "{iters}")?;
        stdin.flush()?;
        let mut line = String::new();
        self.out.read_line(&mut line)?;
        let mut nums = line.split_whitespace().map(str::parse::<u64>);
        match (nums.next(), nums.next()) {
            (Some(Ok(total)), Some(Ok(median))) => {
                Ok((Duration::from_nanos(total), Duration::from_nanos(median)))
            }
            _ => Err(io::Error::other(format!(
                "libdbus client answered {line:?} (see its stderr)"
            ))),
        }
    }
}

impl Drop for Libdbus {
    fn drop(&mut self) {
        // End of its stdin: it exits; kill it anyway if it is stuck.
        drop(self.stdin.take());
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
            if !matches!(self.child.try_wait(), Ok(Some(_))) {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}
