//! The D-Bus profile against every D-Bus implementation installable here
//! (docs/DBUS.md, "Other implementations"), each over a real socket to a
//! first method call and its reply:
//!
//! - our client against servers: `dbus-broker` (run as a private bus) and
//!   a GDBus peer-to-peer server (GIO, through python3-gi);
//! - our server against clients: `gdbus call` (GIO), `busctl` (sd-bus),
//!   `dbus-send` (libdbus), jeepney (Python) and dbus-next (JavaScript).
//!
//! (`dbus-daemon` as a server: `tests/dbus_interop.rs`.)
//!
//! Each test prints `SKIPPED: <implementation>: <why>` when its program is
//! missing, and fails instead under `CI=true`, where `.ci/run` installs
//! them all. Every test prints one `PEER` line with what it saw: the
//! matrix in docs/DBUS.md is made of them.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use mon_ipc_std::dbus::{self, Mechanism};
use mon_ipc_std::{Listener, SocketKind};
use mon_ipc_testkit::TempDir;
use mon_ipc_testkit::dbus_daemon::{Daemon, have};
use mon_ipc_testkit::dbus_message::{
    Message, ReadError, hello_message, method_call, method_return, read_message,
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Debian's Python, where python3-gi and python3-jeepney are (a `python3`
/// earlier in `PATH` may be another one).
const PYTHON: &str = "/usr/bin/python3";

/// Whether a requirement of `implementation` is met; `false` means skip
/// (never under `CI=true`: `.ci/run` installs everything named here).
fn available(implementation: &str, missing: Option<String>) -> bool {
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
fn programs(names: &[&str], install: &str) -> Option<String> {
    let missing: Vec<&str> = names.iter().copied().filter(|p| !have(p)).collect();
    (!missing.is_empty()).then(|| format!("{missing:?} not installed ({install})"))
}

/// `None` if Debian's Python imports `module`.
fn python_module(module: &str, install: &str) -> Option<String> {
    let ok = Command::new(PYTHON)
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!ok).then(|| format!("{PYTHON} cannot import {module} ({install})"))
}

/// Where `.ci/run` installs the npm packages: `target/dbus-peers` of the
/// workspace (`MON_DBUS_NODE_MODULES` overrides it).
fn node_modules() -> PathBuf {
    std::env::var_os("MON_DBUS_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dbus-peers/node_modules")
        })
}

/// The version of a Debian package, for the `PEER` line.
fn deb_version(package: &str) -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", package])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|| "?".into())
}

/// A child process, killed by its pid and reaped on drop.
struct Reaped(Option<Child>);

impl Reaped {
    /// Waits for it to exit by itself (the caller has made sure it should:
    /// its peer has closed or answered), with what it printed; killed by
    /// its pid (a `None`) if it is still running after [`TIMEOUT`].
    fn output(mut self) -> Option<Output> {
        let child = self.0.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
        let out = rx.recv_timeout(TIMEOUT).ok();
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

fn spawn(cmd: &mut Command) -> Reaped {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} does not start: {e}"));
    Reaped(Some(child))
}

/// Waits until `fd` is readable, at most [`TIMEOUT`].
fn wait_readable(fd: impl AsFd, what: &str) {
    let ms = u16::try_from(TIMEOUT.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    assert!(
        poll(&mut fds, PollTimeout::from(ms)).unwrap() > 0,
        "{what}: nothing within {TIMEOUT:?}"
    );
}

// ---------------------------------------------------------------------
// Our server against real clients.

/// What our server saw of one client.
struct Served {
    /// Whether the client asked for fd passing (and we agreed).
    unix_fd: bool,
    /// The members of the calls it made, in order.
    calls: Vec<String>,
    /// Its exit status and output; `None` if it did not exit by itself.
    output: Option<Output>,
}

/// Binds a socket, starts `client` (made from the address), authenticates
/// it with our server, then answers each method call it makes (`Hello`
/// with the unique name `:1.1`, anything else with an empty return) until
/// it closes; then waits for it to exit.
fn serve(implementation: &str, client: impl FnOnce(&str) -> Command) -> Served {
    let dir = TempDir::new("dbus-peer").unwrap();
    let path = dir.path().join("ours");
    let listener = Listener::bind(&path, SocketKind::Stream).unwrap();
    let address = format!("unix:path={}", path.display());
    let child = spawn(&mut client(&address));

    wait_readable(&listener, &format!("{implementation} connects"));
    let sock = OwnedFd::from(listener.accept().unwrap());
    let opts = dbus::ServerOptions::new(*b"mon-ipc-dbus-srv").timeout(Some(TIMEOUT));
    let (sock, auth) = dbus::server(sock, &opts)
        .unwrap_or_else(|e| panic!("{implementation}: our server's handshake: {e}"));
    assert_eq!(auth.mechanism, Mechanism::External, "{implementation}");
    let peer = auth.peer.as_ref().expect("the client's credentials");
    assert_eq!(
        peer.uid(),
        Some(nix::unistd::geteuid().as_raw()),
        "{implementation}"
    );

    let mut sock = UnixStream::from(sock);
    sock.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut buf = auth.leftover.bytes;
    let mut calls = Vec::new();
    let mut serial = 0;
    loop {
        let m: Message = match read_message(&mut sock, &mut buf) {
            Ok(m) => m,
            Err(ReadError::Eof) => break,
            Err(e) => panic!("{implementation}: reading its messages after {calls:?}: {e:?}"),
        };
        if m.head.kind != 1 {
            continue;
        }
        let member = m.member.clone().unwrap_or_default();
        if m.flags & 1 == 0 {
            serial += 1;
            let name = (member == "Hello").then_some(":1.1");
            sock.write_all(&method_return(serial, m.serial, name))
                .unwrap();
        }
        calls.push(member);
    }
    Served {
        unix_fd: auth.unix_fd,
        calls,
        output: child.output(),
    }
}

/// Asserts what every client must have done: a successful exit after a
/// `Ping`, and prints the `PEER` line.
fn check_served(implementation: &str, version: &str, served: &Served) {
    let out = served.output.as_ref().unwrap_or_else(|| {
        panic!(
            "{implementation} did not exit within {TIMEOUT:?} after calls {:?}",
            served.calls
        )
    });
    assert!(
        out.status.success(),
        "{implementation} failed: {}, stdout {:?}, stderr {:?}, calls {:?}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        served.calls
    );
    assert!(
        served.calls.iter().any(|c| c == "Ping"),
        "{implementation} made its call: {:?}",
        served.calls
    );
    eprintln!(
        "PEER {implementation} {version} (client) -> our server: EXTERNAL, unix fds {}, calls {:?}, PASSED",
        served.unix_fd, served.calls
    );
}

#[test]
fn dbus_send_calls_our_server() {
    let name = "dbus-send (libdbus)";
    if !available(name, programs(&["dbus-send"], "apt-get install dbus")) {
        return;
    }
    let served = serve(name, |address| {
        let mut c = Command::new("dbus-send");
        c.arg(format!("--address={address}")).args([
            "--print-reply",
            "--reply-timeout=5000",
            "--dest=org.freedesktop.DBus",
            "/",
            "org.freedesktop.DBus.Peer.Ping",
        ]);
        c
    });
    check_served(name, &deb_version("dbus"), &served);
    assert!(served.unix_fd, "libdbus asks for fd passing");
    // With `--address`, dbus-send does not register (no `Hello`).
    assert_eq!(served.calls, ["Ping"]);
}

#[test]
fn gdbus_call_calls_our_server() {
    let name = "gdbus call (GIO)";
    if !available(name, programs(&["gdbus"], "apt-get install libglib2.0-bin")) {
        return;
    }
    let served = serve(name, |address| {
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
    });
    check_served(name, &deb_version("libglib2.0-bin"), &served);
    assert!(served.unix_fd, "GDBus asks for fd passing on a UNIX socket");
    assert_eq!(served.calls.first().map(String::as_str), Some("Hello"));
}

#[test]
fn busctl_calls_our_server() {
    let name = "busctl (sd-bus)";
    if !available(name, programs(&["busctl"], "apt-get install systemd")) {
        return;
    }
    let served = serve(name, |address| {
        let mut c = Command::new("busctl");
        c.arg(format!("--address={address}")).args([
            "call",
            "org.freedesktop.DBus",
            "/",
            "org.freedesktop.DBus.Peer",
            "Ping",
        ]);
        c
    });
    check_served(name, &deb_version("systemd"), &served);
    assert!(served.unix_fd, "sd-bus asks for fd passing");
}

#[test]
fn jeepney_calls_our_server() {
    let name = "jeepney (Python)";
    let install = "apt-get install python3-jeepney";
    let missing = programs(&[PYTHON], install).or_else(|| python_module("jeepney", install));
    if !available(name, missing) {
        return;
    }
    const SCRIPT: &str = "
import sys
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection
conn = open_dbus_connection(bus=sys.argv[1], enable_fds=True)
peer = DBusAddress('/', bus_name='org.freedesktop.DBus', interface='org.freedesktop.DBus.Peer')
conn.send_and_get_reply(new_method_call(peer, 'Ping'), timeout=5)
print(conn.unique_name)
conn.close()
";
    let served = serve(name, |address| {
        let mut c = Command::new(PYTHON);
        c.args(["-c", SCRIPT, address]);
        c
    });
    check_served(name, &deb_version("python3-jeepney"), &served);
    assert!(served.unix_fd, "asked with enable_fds=True");
    assert_eq!(served.calls, ["Hello", "Ping"]);
    assert_eq!(
        String::from_utf8_lossy(&served.output.as_ref().unwrap().stdout).trim(),
        ":1.1"
    );
}

#[test]
fn dbus_next_calls_our_server() {
    let name = "dbus-next (JavaScript)";
    let modules = node_modules();
    let missing = programs(&["node"], "apt-get install nodejs").or_else(|| {
        (!modules.join("dbus-next").is_dir()).then(|| {
            format!(
                "no dbus-next in {} (npm install --prefix target/dbus-peers dbus-next)",
                modules.display()
            )
        })
    });
    if !available(name, missing) {
        return;
    }
    const SCRIPT: &str = "
const dbus = require('dbus-next');
const bus = dbus.sessionBus({ busAddress: process.argv[1], negotiateUnixFd: true });
bus.call(new dbus.Message({
  destination: 'org.freedesktop.DBus', path: '/',
  interface: 'org.freedesktop.DBus.Peer', member: 'Ping',
})).then(() => { console.log(bus.name); process.exit(0); },
         (e) => { console.error(e); process.exit(1); });
";
    let served = serve(name, |address| {
        let mut c = Command::new("node");
        c.env("NODE_PATH", &modules).args(["-e", SCRIPT, address]);
        c
    });
    let version = std::fs::read_to_string(modules.join("dbus-next/package.json"))
        .ok()
        .and_then(|p| {
            let at = p.find("\"version\"")?;
            p[at..].split('"').nth(3).map(str::to_string)
        })
        .unwrap_or_else(|| "?".into());
    check_served(name, &version, &served);
    assert_eq!(served.calls, ["Hello", "Ping"]);
    assert_eq!(
        String::from_utf8_lossy(&served.output.as_ref().unwrap().stdout).trim(),
        ":1.1"
    );
}

// ---------------------------------------------------------------------
// Our client against real servers.

/// Authenticates to the server at `path` with our client, sends `call`
/// (serial 1) and reads until its reply: (the handshake's outcome, the
/// reply).
fn call(path: &Path, call: &[u8]) -> (dbus::Authenticated<OwnedFd>, Message) {
    let sock = mon_ipc_std::connect(path, SocketKind::Stream).unwrap();
    let opts = dbus::ClientOptions::default().timeout(Some(TIMEOUT));
    let (sock, auth) = dbus::client(sock, &opts).unwrap();
    assert_eq!(auth.mechanism, Mechanism::External);
    assert_eq!(auth.guid.len(), 32);
    assert!(auth.leftover.bytes.is_empty() && !auth.leftover.eof);
    let mut sock = UnixStream::from(sock);
    sock.set_read_timeout(Some(TIMEOUT)).unwrap();
    sock.write_all(call).unwrap();
    let mut buf = Vec::new();
    loop {
        // A signal (NameAcquired) may come before or after the reply.
        let m = read_message(&mut sock, &mut buf).unwrap();
        if m.reply_serial == Some(1) {
            return (auth, m);
        }
    }
}

/// The string that a reply's body starts with (signature `s`).
fn body_string(m: &Message) -> String {
    let len = m.head.u32_at(&m.body, 0) as usize;
    String::from_utf8_lossy(&m.body[4..4 + len]).into_owned()
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

#[test]
fn our_client_says_hello_to_dbus_broker() {
    let name = "dbus-broker";
    let missing = programs(
        &[
            "dbus-broker-launch",
            "systemd-socket-activate",
            "unshare",
            "dbus-daemon",
            PYTHON,
        ],
        "apt-get install dbus-broker dbus systemd",
    );
    if !available(name, missing) {
        return;
    }
    // The bus that stands for systemd's; its directory holds ours too.
    let manager_bus = Daemon::start().expect("dbus-daemon starts");
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
    let stderr = broker.0.as_mut().unwrap().stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let listening = lines.by_ref().find_map(|l| {
        let l = l.ok()?;
        l.starts_with("Listening on ").then_some(l)
    });
    assert!(
        listening.is_some(),
        "dbus-broker's launcher did not start: {:?}",
        broker.output()
    );
    // Drain the rest so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));

    let (auth, reply) = call(&bus, &hello_message());
    assert_eq!(reply.head.kind, 2, "a METHOD_RETURN, not an error");
    let unique = body_string(&reply);
    assert!(unique.starts_with(':'), "unique name {unique:?}");
    assert!(auth.unix_fd, "dbus-broker agrees to fd passing");
    eprintln!(
        "PEER {name} {} (server) <- our client: EXTERNAL, guid {}, unix fds {}, Hello -> {unique}, PASSED",
        deb_version("dbus-broker"),
        auth.guid,
        auth.unix_fd
    );
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

#[test]
fn our_client_calls_a_gdbus_server() {
    let name = "GDBus server (GIO, python3-gi)";
    let install = "apt-get install python3-gi";
    let missing = programs(&[PYTHON], install).or_else(|| python_module("gi", install));
    if !available(name, missing) {
        return;
    }
    let dir = TempDir::new("gdbus-server").unwrap();
    let path = dir.path().join("gdbus");
    let mut server = spawn(Command::new(PYTHON).args(["-c", GDBUS_SERVER]).arg(&path));
    let stdout = server.0.as_mut().unwrap().stdout.take().unwrap();
    let mut line = String::new();
    let n = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
    assert!(
        n > 0,
        "the GDBus server did not start: {:?}",
        server.output()
    );
    assert!(line.starts_with("unix:path="), "{line:?}");

    let ping = method_call(1, None, "/", "org.freedesktop.DBus.Peer", "Ping");
    let (auth, reply) = call(&path, &ping);
    assert_eq!(reply.head.kind, 2, "a METHOD_RETURN, not an error");
    assert!(auth.unix_fd, "GDBus agrees to fd passing");
    eprintln!(
        "PEER {name} {} (server) <- our client: EXTERNAL, guid {}, unix fds {}, Ping returned, PASSED",
        deb_version("libglib2.0-0"),
        auth.guid,
        auth.unix_fd
    );
}
