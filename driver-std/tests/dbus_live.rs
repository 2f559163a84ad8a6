//! The D-Bus vectors against live implementations over real sockets
//! (docs/DBUS.md, "The vectors against live implementations"; the rules
//! in docs/VECTORS.md, "Live runs"):
//!
//! - `vectors/dbus_server.json` by our scripted client against each server
//!   of `dbus_peers::servers()` (one instance, one connection per case),
//!   and against our own server (`mon_ipc_std::dbus`), which must pass
//!   every case that applies: the check that the runner and the `live`
//!   rules agree with the vectors;
//! - `vectors/dbus_client.json` by our scripted server against each client
//!   of `dbus_peers::clients()` (one process per case), and against our own
//!   client (`mon_ipc_std::dbus`, configured as each case's client, on a
//!   thread), which must pass every case that applies.
//!
//! Each case prints a `LIVE` line (grade, findings, and for a NOTE or a
//! FAILED the bytes exchanged), each implementation a `MATRIX` line with
//! its counts: docs/DBUS.md's matrix is made of them. A FAILED must be one
//! of testkit's `matrix::KNOWN_FAILED` (each explained in docs/DBUS.md), and
//! each of those must still fail: a new deviation or a fixed one both fail
//! the test. (zbus, in a crate of its own, runs through the same
//! `matrix` in `interop/zbus/tests/zbus_live.rs`.)
//! Missing programs print `SKIPPED` (and fail under `CI=true`).

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use mon_ipc::dbus::{ClientConfig, ClientMechanism};
use mon_ipc_conformance_core::model::{DbusClientConfig, DbusMechanism};
use mon_ipc_std::{Listener, SocketKind, dbus};
use mon_ipc_testkit::TempDir;
use mon_ipc_testkit::dbus_live::against_client::Running;
use mon_ipc_testkit::dbus_live::matrix::{self, cases, configured_cases, report, uid};
use mon_ipc_testkit::dbus_live::{CaseReport, Counts, Grade, against_client, against_server};
use mon_ipc_testkit::dbus_message::{answer_calls, read_message};
use mon_ipc_testkit::dbus_peers::{FirstCall, RunningServer, TIMEOUT, clients, servers};

/// Our own server (`mon_ipc_std::dbus`, the default configuration: fds
/// agreed, EXTERNAL only), one thread per connection, answering `Ping`.
fn our_server(dir: &TempDir) -> RunningServer {
    let path = dir.path().join("ours");
    let listener = Listener::bind(&path, SocketKind::Stream).unwrap();
    std::thread::spawn(move || {
        while let Ok(sock) = listener.accept() {
            std::thread::spawn(move || {
                let opts = dbus::ServerOptions::new(*b"mon-ipc-dbus-srv").timeout(Some(TIMEOUT));
                if let Ok((sock, auth)) = dbus::server(OwnedFd::from(sock), &opts) {
                    let mut sock = UnixStream::from(sock);
                    let _ = sock.set_read_timeout(Some(TIMEOUT));
                    let _ = answer_calls(&mut sock, auth.leftover.bytes);
                }
            });
        }
    });
    RunningServer::at(path, FirstCall::Ping, "this tree".into())
}

#[test]
fn our_server_passes_every_live_server_case() {
    let dir = TempDir::new("dbus-live-ours").unwrap();
    let ours = our_server(&dir);
    let reports: Vec<CaseReport> = cases("dbus_server.json")
        .iter()
        .map(|c| against_server::run(c, &ours, uid()))
        .collect();
    report("mon-ipc-std", &ours.version, "server", &reports);
    let off: Vec<String> = reports
        .iter()
        .filter(|r| !matches!(r.grade, Grade::Passed | Grade::NotApplicable))
        .map(ToString::to_string)
        .collect();
    assert!(off.is_empty(), "our own server: {off:#?}");
    let counts = Counts::of(&reports);
    assert!(counts.passed > counts.not_applicable, "{counts}");
}

/// Our own client (`mon_ipc_std::dbus`) configured as the case's client
/// (the case's uid is the live one), on a thread: it authenticates, calls
/// `Ping` and reads the reply.
fn our_client(config: &DbusClientConfig, address: &str) -> Running {
    let path = PathBuf::from(address.trim_start_matches("unix:path="));
    let mechanism = match config.mechanism {
        DbusMechanism::External => ClientMechanism::External {
            uid: config.uid.map(|_| uid()),
        },
        DbusMechanism::Anonymous => ClientMechanism::Anonymous,
    };
    let opts = dbus::ClientOptions {
        config: ClientConfig {
            mechanism,
            unix_fd: config.unix_fd,
            require_unix_fd: config.require_unix_fd,
            max_line: config.max_line as usize,
        },
        timeout: Some(TIMEOUT),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let call = || -> Result<(), String> {
            let sock =
                mon_ipc_std::connect(&path, SocketKind::Stream).map_err(|e| e.to_string())?;
            let (sock, auth) = dbus::client(sock, &opts).map_err(|e| e.to_string())?;
            let mut sock = UnixStream::from(sock);
            sock.set_read_timeout(Some(TIMEOUT))
                .map_err(|e| e.to_string())?;
            sock.write_all(&FirstCall::Ping.message())
                .map_err(|e| e.to_string())?;
            let mut buf = auth.leftover.bytes;
            loop {
                let m = read_message(&mut sock, &mut buf).map_err(|e| format!("{e:?}"))?;
                if m.reply_serial == Some(1) {
                    return Ok(());
                }
            }
        };
        let _ = tx.send(call());
    });
    Running::Thread(rx)
}

#[test]
fn our_client_passes_every_live_client_case() {
    let reports: Vec<CaseReport> = configured_cases("dbus_client.json")
        .iter()
        .map(|(config, case)| {
            let client = config.dbus_client.expect("a dbus_client group");
            against_client::run_with(case, uid(), |address| our_client(&client, address))
        })
        .collect();
    report("mon-ipc-std", "this tree", "client", &reports);
    let off: Vec<String> = reports
        .iter()
        .filter(|r| !matches!(r.grade, Grade::Passed | Grade::NotApplicable))
        .map(ToString::to_string)
        .collect();
    assert!(off.is_empty(), "our own client: {off:#?}");
    let counts = Counts::of(&reports);
    assert!(counts.passed > counts.not_applicable, "{counts}");
}

#[test]
fn server_cases_against_live_servers() {
    matrix::server_role(&servers());
}

#[test]
fn client_cases_against_live_clients() {
    matrix::client_role(&clients());
}
