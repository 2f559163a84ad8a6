//! The D-Bus implementations installable here, as the tests start them
//! (docs/DBUS.md, "Other implementations"): servers (`dbus-daemon`,
//! `dbus-broker`, a GDBus peer-to-peer server) and clients (`dbus-send`,
//! `gdbus call`, `busctl`, jeepney, dbus-next). One table entry each, so
//! that `tests/dbus_peers.rs` and `tests/dbus_live.rs` run the same ones.
//!
//! A missing program is a reason to skip ([`available`] prints `SKIPPED`),
//! except under `CI=true`, where `.ci/run` installs them all.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::TempDir;
use crate::dbus_daemon::{Daemon, have};

/// How long a peer gets for one step (to connect, to answer, to exit).
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Debian's Python, where python3-gi and python3-jeepney are (a `python3`
/// earlier in `PATH` may be another one).
pub const PYTHON: &str = "/usr/bin/python3";

/// Whether a requirement of `implementation` is met; `false` means skip
/// (never under `CI=true`: `.ci/run` installs everything named here).
pub fn available(implementation: &str, missing: Option<String>) -> bool {
    let Some(why) = missing else {
        return true;
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{implementation}: {why}, and CI=true (.ci/run installs it)");
    }
    // Straight to stderr: the test harness captures `eprintln!`.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {implementation}: {why}");
    false
}

/// `None` if every program is there, else which are not.
pub fn programs(names: &[&str], install: &str) -> Option<String> {
    let missing: Vec<&str> = names.iter().copied().filter(|p| !have(p)).collect();
    (!missing.is_empty()).then(|| format!("{missing:?} not installed ({install})"))
}

/// `None` if Debian's Python imports `module`.
pub fn python_module(module: &str, install: &str) -> Option<String> {
    let ok = Command::new(PYTHON)
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!ok).then(|| format!("{PYTHON} cannot import {module} ({install})"))
}

/// Where `.ci/run` installs the npm packages: `target/dbus-peers` of the
/// workspace (`MON_DBUS_NODE_MODULES` overrides it).
pub fn node_modules() -> PathBuf {
    std::env::var_os("MON_DBUS_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dbus-peers/node_modules")
        })
}

/// The version of a Debian package, for the report.
pub fn deb_version(package: &str) -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", package])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|| "?".into())
}

/// The version of a crate in the workspace's `Cargo.lock` (the first
/// entry of that name), for the report.
pub fn cargo_lock_version(package: &str) -> String {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock"))
        .unwrap_or_default();
    let entry = format!("name = \"{package}\"\nversion = \"");
    lock.find(&entry)
        .and_then(|at| lock[at + entry.len()..].split('"').next())
        .map(str::to_string)
        .unwrap_or_else(|| "?".into())
}

/// A child process, killed by its pid and reaped on drop.
#[derive(Debug)]
pub struct Reaped(pub Option<Child>);

impl Reaped {
    /// Waits for it to exit by itself (the caller has made sure it should:
    /// its peer has closed or answered), with what it printed; killed by
    /// its pid (a `None`) if it is still running after [`TIMEOUT`].
    pub fn output(mut self) -> Option<Output> {
        let child = self.0.take()?;
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || tx.send(child.wait_with_output().ok()));
        let out = rx.recv_timeout(TIMEOUT).ok().flatten();
        if out.is_none() {
            // Still ours to kill: the waiter has not reaped it.
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        let _ = waiter.join();
        out
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `cmd` with its stdin closed and its output piped.
pub fn spawn(cmd: &mut Command) -> Reaped {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} does not start: {e}"));
    Reaped(Some(child))
}

// ---------------------------------------------------------------- servers

/// What a server implementation answers after `BEGIN`: a bus answers
/// `Hello`, a peer-to-peer server `org.freedesktop.DBus.Peer.Ping`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstCall {
    /// `org.freedesktop.DBus.Hello` (a bus).
    Hello,
    /// `org.freedesktop.DBus.Peer.Ping` on `/` (a peer-to-peer server).
    Ping,
}

impl FirstCall {
    /// The call with serial 1, little-endian, no body.
    pub fn message(self) -> Vec<u8> {
        match self {
            FirstCall::Hello => crate::dbus_message::hello_message(),
            FirstCall::Ping => {
                crate::dbus_message::method_call(1, None, "/", "org.freedesktop.DBus.Peer", "Ping")
            }
        }
    }
}

/// A running server implementation: its socket, kept alive until drop.
#[derive(Debug)]
pub struct RunningServer {
    /// The socket it listens on.
    pub path: PathBuf,
    /// What it answers after `BEGIN`.
    pub first_call: FirstCall,
    /// Its version, for the report.
    pub version: String,
    /// The processes and directories it needs (dropped in order).
    _keep: (Option<Reaped>, Option<Daemon>, Option<TempDir>),
}

impl RunningServer {
    /// A server the caller runs itself (in-process), listening on `path`.
    pub fn at(path: PathBuf, first_call: FirstCall, version: String) -> RunningServer {
        RunningServer {
            path,
            first_call,
            version,
            _keep: (None, None, None),
        }
    }

    /// A server program the caller started (`process`), listening on
    /// `path` in `dir`: both kept until drop (the process killed first).
    pub fn spawned(
        path: PathBuf,
        first_call: FirstCall,
        version: String,
        process: Reaped,
        dir: TempDir,
    ) -> RunningServer {
        RunningServer {
            path,
            first_call,
            version,
            _keep: (Some(process), None, Some(dir)),
        }
    }
}

/// A server implementation: how to check for it and start it.
#[derive(Debug)]
pub struct ServerImpl {
    /// Its name in reports.
    pub name: &'static str,
    /// `None` if it can run here, else why not.
    pub missing: fn() -> Option<String>,
    /// Starts it; `Err` says why it did not.
    pub start: fn() -> Result<RunningServer, String>,
}

/// Every server implementation.
pub fn servers() -> Vec<ServerImpl> {
    vec![
        ServerImpl {
            name: "dbus-daemon",
            missing: || programs(&["dbus-daemon"], "apt-get install dbus"),
            start: || {
                let d = Daemon::start()?;
                Ok(RunningServer {
                    path: d.bus.clone(),
                    first_call: FirstCall::Hello,
                    version: deb_version("dbus"),
                    _keep: (None, Some(d), None),
                })
            },
        },
        ServerImpl {
            name: "dbus-broker",
            missing: || {
                programs(
                    &[
                        "dbus-broker-launch",
                        "systemd-socket-activate",
                        "unshare",
                        "dbus-daemon",
                        PYTHON,
                    ],
                    "apt-get install dbus-broker dbus systemd",
                )
            },
            start: start_broker,
        },
        ServerImpl {
            name: "GDBus server (GIO, python3-gi)",
            missing: || {
                let install = "apt-get install python3-gi";
                programs(&[PYTHON], install).or_else(|| python_module("gi", install))
            },
            start: start_gdbus_server,
        },
    ]
}

/// `dbus-broker` needs systemd around it: its launcher logs to the
/// journal's socket (and exits if it is not there), takes its listening
/// socket by socket activation, and connects to the bus that systemd's
/// manager is on (for service activation). This gives it the three
/// without systemd: a private mount namespace with a stub journal socket
/// (on a tmpfs over `/run/systemd`, so the machine's is untouched), a
/// private `dbus-daemon` as that other bus, and `systemd-socket-activate`.
const BROKER_SCRIPT: &str = r#"
set -e
mount -t tmpfs tmpfs /run/systemd
mkdir /run/systemd/journal
exec "$PYTHON" -c '
import ctypes, os, signal, socket
journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
journal.bind("/run/systemd/journal/socket")
if os.fork() == 0:
    # The stub journal: reads and drops what the launcher logs, and dies
    # with it (PR_SET_PDEATHSIG: the parent is about to exec into it).
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    while True:
        journal.recv(65536)
os.execvp("systemd-socket-activate", ["systemd-socket-activate",
    "-E", "DBUS_SESSION_BUS_ADDRESS", "-l", os.environ["BUS"],
    "dbus-broker-launch", "--scope", "user", "--config-file", os.environ["CONF"]])
'
"#;

/// Starts `dbus-broker` as a private bus (needs root: `unshare --mount`).
pub fn start_broker() -> Result<RunningServer, String> {
    // The bus that stands for systemd's; its directory holds ours too.
    let manager_bus = Daemon::start()?;
    let bus = manager_bus.dir().join("broker");
    let conf = manager_bus.dir().join("bus.conf");
    let mut broker = spawn(
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(BROKER_SCRIPT)
            .env("PYTHON", PYTHON)
            .env("BUS", &bus)
            .env("CONF", &conf)
            .env("DBUS_SESSION_BUS_ADDRESS", &manager_bus.address),
    );
    // systemd-socket-activate listens before it runs the launcher, and
    // says so on stderr: "Listening on <path> as 3."
    let stderr = broker.0.as_mut().and_then(|c| c.stderr.take());
    let mut lines = BufReader::new(stderr.ok_or("no stderr")?).lines();
    let listening = lines.by_ref().find_map(|l| {
        let l = l.ok()?;
        l.starts_with("Listening on ").then_some(l)
    });
    if listening.is_none() {
        return Err(format!(
            "dbus-broker's launcher did not start: {:?}",
            broker.output()
        ));
    }
    // Drain the rest so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Ok(RunningServer {
        path: bus,
        first_call: FirstCall::Hello,
        version: deb_version("dbus-broker"),
        _keep: (Some(broker), Some(manager_bus), None),
    })
}

/// A GDBus peer-to-peer server (`Gio.DBusServer`): prints its address,
/// keeps every connection; GDBus itself answers
/// `org.freedesktop.DBus.Peer` on any object path.
const GDBUS_SERVER: &str = "
import sys
from gi.repository import Gio, GLib
conns = []
def new_connection(server, conn):
    conns.append(conn)
    return True
server = Gio.DBusServer.new_sync('unix:path=' + sys.argv[1], Gio.DBusServerFlags.NONE,
                                 Gio.dbus_generate_guid(), None, None)
server.connect('new-connection', new_connection)
server.start()
print(server.get_client_address(), flush=True)
GLib.MainLoop().run()
";

/// Starts a GDBus peer-to-peer server; returns once it listens.
pub fn start_gdbus_server() -> Result<RunningServer, String> {
    let dir = TempDir::new("gdbus-server").map_err(|e| e.to_string())?;
    let path = dir.path().join("gdbus");
    let mut server = spawn(Command::new(PYTHON).args(["-c", GDBUS_SERVER]).arg(&path));
    let stdout = server.0.as_mut().and_then(|c| c.stdout.take());
    let mut line = String::new();
    let n = BufReader::new(stdout.ok_or("no stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if n == 0 || !line.starts_with("unix:path=") {
        return Err(format!(
            "the GDBus server did not start: printed {line:?}, {:?}",
            server.output()
        ));
    }
    Ok(RunningServer {
        path,
        first_call: FirstCall::Ping,
        version: deb_version("libglib2.0-0"),
        _keep: (Some(server), None, Some(dir)),
    })
}

// ---------------------------------------------------------------- clients

/// A client implementation: one process per authentication, given the
/// server's address; it must make a `Ping` call and exit 0.
#[derive(Debug)]
pub struct ClientImpl {
    /// Its name in reports.
    pub name: &'static str,
    /// `None` if it can run here, else why not.
    pub missing: fn() -> Option<String>,
    /// Its version, for the report.
    pub version: fn() -> String,
    /// The command that connects to `address` and calls `Ping`.
    pub command: fn(&str) -> Command,
}

/// jeepney: `Hello`, `Ping`, prints its unique name.
const JEEPNEY: &str = "
import sys
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection
conn = open_dbus_connection(bus=sys.argv[1], enable_fds=True)
peer = DBusAddress('/', bus_name='org.freedesktop.DBus', interface='org.freedesktop.DBus.Peer')
conn.send_and_get_reply(new_method_call(peer, 'Ping'), timeout=5)
print(conn.unique_name)
conn.close()
";

/// dbus-next: `Hello`, `Ping`, prints its unique name.
const DBUS_NEXT: &str = "
const dbus = require('dbus-next');
const bus = dbus.sessionBus({ busAddress: process.argv[1], negotiateUnixFd: true });
bus.call(new dbus.Message({
  destination: 'org.freedesktop.DBus', path: '/',
  interface: 'org.freedesktop.DBus.Peer', member: 'Ping',
})).then(() => { console.log(bus.name); process.exit(0); },
         (e) => { console.error(e); process.exit(1); });
";

/// Every client implementation.
pub fn clients() -> Vec<ClientImpl> {
    vec![
        ClientImpl {
            name: "dbus-send (libdbus)",
            missing: || programs(&["dbus-send"], "apt-get install dbus"),
            version: || deb_version("dbus"),
            command: |address| {
                let mut c = Command::new("dbus-send");
                c.arg(format!("--address={address}")).args([
                    "--print-reply",
                    "--reply-timeout=5000",
                    "--dest=org.freedesktop.DBus",
                    "/",
                    "org.freedesktop.DBus.Peer.Ping",
                ]);
                c
            },
        },
        ClientImpl {
            name: "gdbus call (GIO)",
            missing: || programs(&["gdbus"], "apt-get install libglib2.0-bin"),
            version: || deb_version("libglib2.0-bin"),
            command: |address| {
                let mut c = Command::new("gdbus");
                c.args(["call", "--address", address]).args([
                    "--dest",
                    "org.freedesktop.DBus",
                    "--object-path",
                    "/",
                    "--method",
                    "org.freedesktop.DBus.Peer.Ping",
                ]);
                c
            },
        },
        ClientImpl {
            name: "busctl (sd-bus)",
            missing: || programs(&["busctl"], "apt-get install systemd"),
            version: || deb_version("systemd"),
            command: |address| {
                let mut c = Command::new("busctl");
                c.arg(format!("--address={address}")).args([
                    "call",
                    "org.freedesktop.DBus",
                    "/",
                    "org.freedesktop.DBus.Peer",
                    "Ping",
                ]);
                c
            },
        },
        ClientImpl {
            name: "jeepney (Python)",
            missing: || {
                let install = "apt-get install python3-jeepney";
                programs(&[PYTHON], install).or_else(|| python_module("jeepney", install))
            },
            version: || deb_version("python3-jeepney"),
            command: |address| {
                let mut c = Command::new(PYTHON);
                c.args(["-c", JEEPNEY, address]);
                c
            },
        },
        ClientImpl {
            name: "dbus-next (JavaScript)",
            missing: || {
                let modules = node_modules();
                programs(&["node"], "apt-get install nodejs").or_else(|| {
                    (!modules.join("dbus-next").is_dir()).then(|| {
                        format!(
                            "no dbus-next in {} (npm install --prefix target/dbus-peers dbus-next)",
                            modules.display()
                        )
                    })
                })
            },
            version: || {
                std::fs::read_to_string(node_modules().join("dbus-next/package.json"))
                    .ok()
                    .and_then(|p| {
                        let at = p.find("\"version\"")?;
                        p[at..].split('"').nth(3).map(str::to_string)
                    })
                    .unwrap_or_else(|| "?".into())
            },
            command: |address| {
                let mut c = Command::new("node");
                c.env("NODE_PATH", node_modules())
                    .args(["-e", DBUS_NEXT, address]);
                c
            },
        },
    ]
}

/// The client implementation called `name` (a name of [`clients`]).
pub fn client(name: &str) -> ClientImpl {
    clients()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no client implementation {name:?}"))
}

/// The server implementation called `name` (a name of [`servers`]).
pub fn server(name: &str) -> ServerImpl {
    servers()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no server implementation {name:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_from_cargo_lock() {
        // The workspace's crates are in it too, with the workspace's version.
        assert_eq!(cargo_lock_version("mon-ipc"), env!("CARGO_PKG_VERSION"));
        assert_eq!(cargo_lock_version("mon-ipc-no-such-crate"), "?");
    }
}
