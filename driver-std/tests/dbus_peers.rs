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
use std::path::Path;
use std::process::{Command, Output};

use mon_ipc_std::dbus::{self, Mechanism};
use mon_ipc_std::{Listener, SocketKind};
use mon_ipc_testkit::TempDir;
use mon_ipc_testkit::dbus_message::{Message, answer_calls, hello_message, read_message};
use mon_ipc_testkit::dbus_peers::{FirstCall, TIMEOUT, available, client, server, spawn};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

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
fn serve(implementation: &str, client: fn(&str) -> Command) -> Served {
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
    let calls = answer_calls(&mut sock, auth.leftover.bytes).unwrap_or_else(|(calls, e)| {
        panic!("{implementation}: reading its messages after {calls:?}: {e:?}")
    });
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

/// Serves the client implementation `name` (of `dbus_peers::clients`), if
/// it is installed, and checks what every client must do.
fn serve_client(name: &str) -> Option<Served> {
    let c = client(name);
    if !available(name, (c.missing)()) {
        return None;
    }
    let served = serve(name, c.command);
    check_served(name, &(c.version)(), &served);
    Some(served)
}

/// Its standard output, trimmed.
fn printed(served: &Served) -> String {
    let out = served.output.as_ref().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn dbus_send_calls_our_server() {
    let Some(served) = serve_client("dbus-send (libdbus)") else {
        return;
    };
    assert!(served.unix_fd, "libdbus asks for fd passing");
    // With `--address`, dbus-send does not register (no `Hello`).
    assert_eq!(served.calls, ["Ping"]);
}

#[test]
fn gdbus_call_calls_our_server() {
    let Some(served) = serve_client("gdbus call (GIO)") else {
        return;
    };
    assert!(served.unix_fd, "GDBus asks for fd passing on a UNIX socket");
    assert_eq!(served.calls.first().map(String::as_str), Some("Hello"));
}

#[test]
fn busctl_calls_our_server() {
    let Some(served) = serve_client("busctl (sd-bus)") else {
        return;
    };
    assert!(served.unix_fd, "sd-bus asks for fd passing");
}

#[test]
fn jeepney_calls_our_server() {
    let Some(served) = serve_client("jeepney (Python)") else {
        return;
    };
    assert!(served.unix_fd, "asked with enable_fds=True");
    assert_eq!(served.calls, ["Hello", "Ping"]);
    assert_eq!(printed(&served), ":1.1");
}

#[test]
fn dbus_next_calls_our_server() {
    let Some(served) = serve_client("dbus-next (JavaScript)") else {
        return;
    };
    assert_eq!(served.calls, ["Hello", "Ping"]);
    assert_eq!(printed(&served), ":1.1");
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

#[test]
fn our_client_says_hello_to_dbus_broker() {
    let name = "dbus-broker";
    let s = server(name);
    if !available(name, (s.missing)()) {
        return;
    }
    let broker = (s.start)().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(broker.first_call, FirstCall::Hello);
    let (auth, reply) = call(&broker.path, &hello_message());
    assert_eq!(reply.head.kind, 2, "a METHOD_RETURN, not an error");
    let unique = body_string(&reply);
    assert!(unique.starts_with(':'), "unique name {unique:?}");
    assert!(auth.unix_fd, "dbus-broker agrees to fd passing");
    eprintln!(
        "PEER {name} {} (server) <- our client: EXTERNAL, guid {}, unix fds {}, Hello -> {unique}, PASSED",
        broker.version, auth.guid, auth.unix_fd
    );
}

#[test]
fn our_client_calls_a_gdbus_server() {
    let name = "GDBus server (GIO, python3-gi)";
    let s = server(name);
    if !available(name, (s.missing)()) {
        return;
    }
    let gdbus = (s.start)().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(gdbus.first_call, FirstCall::Ping);
    let (auth, reply) = call(&gdbus.path, &FirstCall::Ping.message());
    assert_eq!(reply.head.kind, 2, "a METHOD_RETURN, not an error");
    assert!(auth.unix_fd, "GDBus agrees to fd passing");
    eprintln!(
        "PEER {name} {} (server) <- our client: EXTERNAL, guid {}, unix fds {}, Ping returned, PASSED",
        gdbus.version, auth.guid, auth.unix_fd
    );
}
