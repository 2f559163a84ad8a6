//! The D-Bus vectors against zbus over real sockets, both roles, through
//! the crate's two programs and testkit's live runner (the same
//! `dbus_live::matrix` as `driver-std/tests/dbus_live.rs`, here because
//! only this crate's tests know where the programs are):
//!
//! - `vectors/dbus_server.json` by our scripted client against one
//!   `zbus-server --many` (one connection per case);
//! - `vectors/dbus_client.json` by our scripted server against
//!   `zbus-client` (one process per case).
//!
//! Each case prints a `LIVE` line, each role a `MATRIX` line (docs/DBUS.md,
//! "The vectors against live implementations"); a FAILED must be one of
//! testkit's `matrix::KNOWN_FAILED`, and each of zbus's must still fail.
//! Nothing to skip: the programs are built with the test.

use std::io::{BufRead, BufReader};
use std::process::Command;

use mon_ipc_testkit::TempDir;
use mon_ipc_testkit::dbus_live::matrix;
use mon_ipc_testkit::dbus_peers::{
    ClientImpl, FirstCall, RunningServer, ServerImpl, cargo_lock_version, spawn,
};

/// zbus's server (`zbus-server --many`), once it says `ready`.
fn start_zbus_server() -> Result<RunningServer, String> {
    let dir = TempDir::new("zbus-live").map_err(|e| e.to_string())?;
    let path = dir.path().join("zbus");
    let mut server = spawn(
        Command::new(env!("CARGO_BIN_EXE_zbus-server"))
            .arg(&path)
            .arg("--many"),
    );
    let child = server.0.as_mut().ok_or("not started")?;
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let mut line = String::new();
    BufReader::new(stdout.ok_or("no stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if line != "ready\n" {
        return Err(format!(
            "zbus-server did not start: printed {line:?}, {:?}",
            server.output()
        ));
    }
    // One line per failed handshake: drained so that it never blocks on a
    // full pipe (the cases' bytes say what happened).
    let stderr = stderr.ok_or("no stderr")?;
    std::thread::spawn(move || BufReader::new(stderr).lines().for_each(drop));
    Ok(RunningServer::spawned(
        path,
        FirstCall::Ping,
        cargo_lock_version("zbus"),
        server,
        dir,
    ))
}

#[test]
fn server_cases_against_zbus() {
    matrix::server_role(&[ServerImpl {
        name: "zbus-server (zbus, Rust)",
        missing: || None,
        start: start_zbus_server,
    }]);
}

#[test]
fn client_cases_against_zbus() {
    matrix::client_role(&[ClientImpl {
        name: "zbus-client (zbus, Rust)",
        missing: || None,
        version: || cargo_lock_version("zbus"),
        command: |address| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_zbus-client"));
            c.arg(address);
            c
        },
    }]);
}
