//! zbus against mon-ipc's D-Bus profile, both ways, each over a real
//! socket to a method call and its reply, through the crate's two
//! programs (so that they are what the live-vector runner starts):
//!
//! - `our_client_calls_a_zbus_server`: `zbus-server`; our blocking client
//!   authenticates, then calls `org.monipc.Interop.Whoami`, whose reply is
//!   zbus's view of us (uid, pid) and an fd;
//! - `zbus_client_calls_our_server`: `zbus-client --fd` against our
//!   blocking server, which answers its `Ping` and its `Give` (with an fd).
//!
//! Each test prints a `PEER` line for the matrix in docs/DBUS.md.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mon_ipc_std::dbus::{self, Mechanism};
use mon_ipc_std::{Listener, SocketKind, raw};
use mon_ipc_testkit::TempDir;
use mon_ipc_testkit::dbus_message::{Message, answer_calls_with, method_call, read_message};
use mon_ipc_testkit::dbus_peers::{Reaped, TIMEOUT, cargo_lock_version, spawn};
use mon_ipc_zbus_interop::{INTERFACE, PATH, PIPE_CONTENT};

/// zbus's version, for the `PEER` line: the one Cargo.lock holds.
fn zbus() -> String {
    format!("zbus {}", cargo_lock_version("zbus"))
}

/// A socket read through [`raw::recv`], which keeps the fds that come
/// with the bytes (a plain `read` would close them), so that
/// [`read_message`] can read from it; writes go to the socket.
struct WithFds<'a> {
    sock: &'a UnixStream,
    fds: Vec<OwnedFd>,
}

impl Read for WithFds<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = raw::Room {
            fds: 4,
            ..raw::Room::default()
        };
        let (n, ancillary) =
            raw::recv(self.sock, buf, room).map_err(|e| std::io::Error::other(e.to_string()))?;
        if ancillary.ctrunc {
            return Err(std::io::Error::other("more than 4 fds in one read"));
        }
        self.fds.extend(ancillary.fds);
        Ok(n)
    }
}

impl Write for WithFds<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sock.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the pipe behind a passed fd holds.
fn pipe_content(fd: OwnedFd) -> Vec<u8> {
    let mut got = Vec::new();
    std::fs::File::from(fd).read_to_end(&mut got).unwrap();
    got
}

/// This process's effective uid.
fn euid() -> u32 {
    raw::own_credentials().to_raw().1
}

/// Starts `zbus-server` on a socket in `dir`; returns it and the socket's
/// path once it says `ready`.
fn zbus_server(dir: &TempDir) -> (Reaped, PathBuf) {
    let path = dir.path().join("zbus");
    let mut server = spawn(Command::new(env!("CARGO_BIN_EXE_zbus-server")).arg(&path));
    let mut line = String::new();
    BufReader::new(server.0.as_mut().unwrap().stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n", "zbus-server: {:?}", server.output());
    (server, path)
}

/// Authenticates to the zbus server at `path` with our client configured
/// so, then calls `Whoami` (serial 1); returns the handshake's outcome,
/// the first message that came back, and the fds that came with it.
fn whoami(
    path: &Path,
    config: dbus::ClientConfig,
) -> (dbus::Authenticated<OwnedFd>, Message, Vec<OwnedFd>) {
    let sock = mon_ipc_std::connect(path, SocketKind::Stream).unwrap();
    let opts = dbus::ClientOptions::default()
        .config(config)
        .timeout(Some(TIMEOUT));
    let (sock, auth) = dbus::client(sock, &opts).unwrap();
    assert_eq!(auth.mechanism, Mechanism::External);
    assert_eq!(auth.guid.len(), 32);
    assert!(auth.leftover.bytes.is_empty() && !auth.leftover.eof);

    let sock = UnixStream::from(sock);
    sock.set_read_timeout(Some(TIMEOUT)).unwrap();
    (&sock)
        .write_all(&method_call(1, None, PATH, INTERFACE, "Whoami"))
        .unwrap();
    let mut input = WithFds {
        sock: &sock,
        fds: Vec::new(),
    };
    let reply = read_message(&mut input, &mut Vec::new()).unwrap();
    (auth, reply, input.fds)
}

/// Checks that `reply` is `Whoami`'s return with our uid, our pid and one
/// fd, the pipe's; returns the uid and pid.
fn check_whoami(reply: &Message, mut fds: Vec<OwnedFd>) -> (u32, u32) {
    assert_eq!(
        (reply.head.kind, reply.reply_serial),
        (2, Some(1)),
        "a METHOD_RETURN to our call, not an error: {reply:?}"
    );
    // Body `(uuh)`: uid, pid, index of the fd among the message's fds.
    let at = |i| reply.head.u32_at(&reply.body, i);
    assert_eq!(at(0), euid(), "zbus's view of our uid");
    assert_eq!(at(4), std::process::id(), "zbus's view of our pid");
    assert_eq!(at(8), 0, "the fd's index");
    assert_eq!(reply.unix_fds, Some(1));
    assert_eq!(fds.len(), 1, "one fd came with the reply");
    assert_eq!(pipe_content(fds.pop().unwrap()), PIPE_CONTENT);
    (at(0), at(4))
}

/// Our client (as configured) against `zbus-server`, which must exit 0
/// once we close.
fn our_client_against_zbus(config: dbus::ClientConfig, auth_line: &str) {
    let dir = TempDir::new("zbus-server").unwrap();
    let (server, path) = zbus_server(&dir);
    let (auth, reply, fds) = whoami(&path, config);
    assert!(auth.unix_fd, "zbus agrees to fd passing");
    let (uid, pid) = check_whoami(&reply, fds);
    let out = server.output().expect("zbus-server exits once we close");
    assert!(out.status.success(), "zbus-server: {out:?}");
    eprintln!(
        "PEER {} (peer server) <- our client ({auth_line}): EXTERNAL, guid {}, unix fds {}, Whoami -> (uid {uid}, pid {pid}, fd), PASSED",
        zbus(),
        auth.guid,
        auth.unix_fd
    );
}

#[test]
fn our_client_calls_a_zbus_server() {
    our_client_against_zbus(
        dbus::ClientConfig::external(euid()),
        "AUTH EXTERNAL <hex uid>",
    );
}

#[test]
fn our_client_without_initial_response_calls_a_zbus_server() {
    // `AUTH EXTERNAL`, zbus's `DATA`, our empty `DATA`.
    our_client_against_zbus(dbus::ClientConfig::default(), "AUTH EXTERNAL, DATA");
}

/// One call our server received: its member, its UNIX_FDS, and the fds
/// that came with it.
struct Call {
    member: String,
    unix_fds: Option<u32>,
    fds: Vec<OwnedFd>,
}

/// What our server saw of one `zbus-client` run.
struct Served {
    auth: dbus::Authenticated<OwnedFd>,
    /// zbus-client's pid.
    pid: u32,
    calls: Vec<Call>,
    /// Its exit status and output.
    output: Output,
}

/// Starts `zbus-client <address> [args]` against our blocking server
/// (configured with `config`), checks the credentials it sees (our uid,
/// the client's pid), then answers each call with testkit's
/// `answer_calls_with` (`Hello` with the unique name `:1.1`, anything else
/// with an empty return), keeping each call's fds, until the client
/// closes; then waits for it to exit.
fn serve_zbus_client(config: dbus::ServerConfig, args: &[&str]) -> Served {
    let dir = TempDir::new("zbus-client").unwrap();
    let path = dir.path().join("ours");
    let listener = Listener::bind(&path, SocketKind::Stream).unwrap();
    let address = format!("unix:path={}", path.display());
    let client = spawn(
        Command::new(env!("CARGO_BIN_EXE_zbus-client"))
            .arg(&address)
            .args(args),
    );
    let readable = raw::Interest {
        fd: listener.as_fd(),
        read: true,
        write: false,
    };
    assert_eq!(
        raw::poll(&[readable], Some(TIMEOUT)).unwrap(),
        [true],
        "zbus-client connects: {:?}",
        client.output()
    );
    let sock = OwnedFd::from(listener.accept().unwrap());
    let opts = dbus::ServerOptions::new(*b"mon-ipc-zbus-srv")
        .config(config)
        .timeout(Some(TIMEOUT));
    let (sock, auth) = dbus::server(sock, &opts).unwrap();
    assert_eq!(auth.mechanism, Mechanism::External);
    let peer = auth.peer.as_ref().expect("the client's credentials");
    let pid = client.0.as_ref().unwrap().id();
    assert_eq!(peer.uid(), Some(euid()));
    assert_eq!(peer.pid().map(|p| p.get()), Some(pid), "zbus-client's pid");

    let sock = UnixStream::from(sock);
    sock.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut input = WithFds {
        sock: &sock,
        fds: Vec::new(),
    };
    let mut calls: Vec<Call> = Vec::new();
    answer_calls_with(&mut input, auth.leftover.bytes.clone(), |m, input| {
        calls.push(Call {
            member: m.member.clone().unwrap_or_default(),
            unix_fds: m.unix_fds,
            fds: std::mem::take(&mut input.fds),
        })
    })
    .unwrap_or_else(|e| panic!("reading zbus-client's messages: {e:?}"));
    let output = client.output().expect("zbus-client exits once it is done");
    Served {
        auth,
        pid,
        calls,
        output,
    }
}

impl Served {
    /// Each call's member, UNIX_FDS and number of fds received.
    fn seen(&self) -> Vec<(&str, Option<u32>, usize)> {
        self.calls
            .iter()
            .map(|c| (c.member.as_str(), c.unix_fds, c.fds.len()))
            .collect()
    }
}

#[test]
fn zbus_client_calls_our_server() {
    let config = dbus::ServerConfig::new(*b"mon-ipc-zbus-srv");
    let mut served = serve_zbus_client(config, &["--fd"]);
    let out = &served.output;
    assert!(out.status.success(), "zbus-client: {out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Ping returned\nGive returned\n"
    );
    assert!(served.auth.unix_fd, "zbus asks for fd passing");
    assert_eq!(served.seen(), [("Ping", None, 0), ("Give", Some(1), 1)]);
    let fd = served.calls.pop().unwrap().fds.pop().unwrap();
    assert_eq!(pipe_content(fd), PIPE_CONTENT);
    eprintln!(
        "PEER {} (client) -> our server: EXTERNAL, uid {}, pid {}, unix fds {}, calls [Ping, Give(fd)], PASSED",
        zbus(),
        euid(),
        served.pid,
        served.auth.unix_fd
    );
}

#[test]
fn zbus_client_sends_no_fd_when_our_server_refuses_them() {
    // Our server answers `NEGOTIATE_UNIX_FD` with `ERROR`: zbus goes on
    // without fds, and refuses to send `Give` (zbus::Error::Unsupported)
    // rather than send an fd that was not agreed.
    let config = dbus::ServerConfig {
        unix_fd: false,
        ..dbus::ServerConfig::new(*b"mon-ipc-zbus-srv")
    };
    let served = serve_zbus_client(config, &["--fd"]);
    let out = &served.output;
    assert!(!served.auth.unix_fd);
    assert_eq!(served.seen(), [("Ping", None, 0)]);
    assert_eq!(out.status.code(), Some(1), "zbus-client: {out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Ping returned\n");
    // zbus::Error::Unsupported, before anything was sent.
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "zbus-client: Connection support is lacking\n"
    );
}
