//! A private `dbus-daemon` for the tests and benchmarks that talk to the
//! reference implementation of the D-Bus profile.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::temp_dir::TempDir;

/// A `dbus-daemon` listening on `<dir>/bus`, with a minimal session
/// configuration (EXTERNAL only, everything allowed). On drop it is killed
/// by its pid and reaped, and its temporary directory removed.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// The socket it listens on.
    pub bus: PathBuf,
    /// The address it printed, e.g. `unix:path=/tmp/.../bus,guid=...`.
    pub address: String,
    /// Removed once `child` is reaped.
    dir: TempDir,
}

/// Whether `program` can be run (`command -v`).
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
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
        let dir = TempDir::new("dbus").map_err(|e| format!("temporary directory: {e}"))?;
        let (child, bus, address) = start_in(dir.path())?;
        Ok(Daemon {
            child,
            bus,
            address,
            dir,
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its temporary directory (removed on drop), a place for other files
    /// of the test too.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
