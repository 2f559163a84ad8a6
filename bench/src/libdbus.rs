//! The libdbus client of the `dbus` benchmark, `bench/c/libdbus_hello.c`,
//! compiled at run time ([`build_libdbus`]) and run as a subprocess
//! ([`Libdbus`]) against the testkit's private `dbus-daemon`.
//!
//! Both inherit the CPU affinity of the benchmark (`taskset -c 0` in
//! `bench/run.sh`), so the daemon, our client and libdbus share one CPU.

use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use mon_ipc_testkit::dbus_daemon::have;

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
