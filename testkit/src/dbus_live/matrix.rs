//! One role's vectors against a list of implementations, as the tests that
//! make docs/DBUS.md's matrix run them (`driver-std/tests/dbus_live.rs`
//! for the installed ones, `interop/zbus/tests/zbus_live.rs` for zbus):
//! every case graded, a `LIVE` line per case and a `MATRIX` line per
//! implementation printed, and the FAILED ones checked against the one
//! list of known deviations, [`KNOWN_FAILED`].

use std::path::Path;

use mon_ipc_conformance_core::load::load_file;
use mon_ipc_conformance_core::model::{Config, TestCase};

use super::report::{CaseReport, Counts, Grade};
use super::{against_client, against_server};
use crate::dbus_peers::{ClientImpl, ServerImpl, available};

/// Deviations from a requirement of the specification found in third-party
/// implementations: (implementation, tcId). docs/DBUS.md explains each.
/// A FAILED not listed here, or a listed one that passes, fails the run
/// (only the implementations that ran are checked).
pub const KNOWN_FAILED: &[(&str, u32)] = &[
    // An unknown or misplaced command answered with ERROR, then the
    // connection closed: "must continue as if the command causing the
    // ERROR had never been received".
    ("dbus-broker", 7017),
    ("dbus-broker", 7020),
    ("dbus-broker", 7022),
    ("dbus-broker", 7031),
    // GDBus's server closes on CANCEL, on the client's ERROR, on an unknown
    // command and on AUTH while waiting for DATA, without a reply; it
    // answers CANCEL after OK with ERROR instead of REJECTED.
    ("GDBus server (GIO, python3-gi)", 7015),
    ("GDBus server (GIO, python3-gi)", 7016),
    ("GDBus server (GIO, python3-gi)", 7017),
    ("GDBus server (GIO, python3-gi)", 7018),
    ("GDBus server (GIO, python3-gi)", 7019),
    ("GDBus server (GIO, python3-gi)", 7020),
    ("GDBus server (GIO, python3-gi)", 7021),
    ("GDBus server (GIO, python3-gi)", 7031),
    ("GDBus server (GIO, python3-gi)", 7062),
    // libdbus's EXTERNAL client, given a DATA challenge after its initial
    // response, answers nothing and does not close: the exchange hangs
    // (the timeout of the run).
    ("dbus-send (libdbus)", 6013),
    ("dbus-send (libdbus)", 6014),
    // zbus's server closes, without a reply, on a line it cannot parse: an
    // unknown command, an unknown mechanism, an EXTERNAL response that is
    // not a decimal uid; it answers CANCEL and ERROR while waiting for
    // DATA with ERROR instead of REJECTED.
    ("zbus-server (zbus, Rust)", 7013),
    ("zbus-server (zbus, Rust)", 7015),
    ("zbus-server (zbus, Rust)", 7019),
    ("zbus-server (zbus, Rust)", 7020),
    ("zbus-server (zbus, Rust)", 7031),
    ("zbus-server (zbus, Rust)", 7040),
    ("zbus-server (zbus, Rust)", 7042),
    ("zbus-server (zbus, Rust)", 7062),
];

/// Every case of `vectors/<file>` with its group's configuration, by tcId.
pub fn configured_cases(file: &str) -> Vec<(Config, TestCase)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vectors")
        .join(file);
    let loaded = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut v: Vec<(Config, TestCase)> = loaded
        .file
        .test_groups
        .into_iter()
        .flat_map(|g| {
            let config = g.config;
            g.tests.into_iter().map(move |t| (config.clone(), t))
        })
        .collect();
    v.sort_by_key(|(_, c)| c.tc_id);
    v
}

/// Every case of `vectors/<file>`, by tcId.
pub fn cases(file: &str) -> Vec<TestCase> {
    configured_cases(file).into_iter().map(|(_, c)| c).collect()
}

/// Our effective uid: the live client's in the server-role cases, the
/// live client's (a child of ours) in the client-role ones.
pub fn uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Prints a `LIVE` line per report and the `MATRIX` line with the counts;
/// returns the FAILED ones as (`name`, tcId).
pub fn report(name: &str, version: &str, role: &str, reports: &[CaseReport]) -> Vec<(String, u32)> {
    for r in reports {
        eprintln!("LIVE {name} ({role}): {r}");
    }
    eprintln!(
        "MATRIX {name} {version} ({role}, {} cases): {}",
        reports.len(),
        Counts::of(reports)
    );
    reports
        .iter()
        .filter(|r| r.grade == Grade::Failed)
        .map(|r| (name.to_owned(), r.tc_id))
        .collect()
}

/// Panics unless `failed` are exactly the [`KNOWN_FAILED`] of the
/// implementations in `ran`.
pub fn check_known(mut failed: Vec<(String, u32)>, ran: &[&str]) {
    failed.sort();
    let mut known: Vec<(String, u32)> = KNOWN_FAILED
        .iter()
        .filter(|(name, _)| ran.contains(name))
        .map(|(name, id)| ((*name).to_owned(), *id))
        .collect();
    known.sort();
    assert_eq!(
        failed, known,
        "FAILED cases (left) against the known ones (right)"
    );
}

/// The server-role cases (`dbus_server.json`) against each of `servers`
/// that is available (one instance each, one connection per case);
/// panics as [`check_known`] does.
pub fn server_role(servers: &[ServerImpl]) {
    let cases = cases("dbus_server.json");
    let available = servers.iter().filter(|s| available(s.name, (s.missing)()));
    graded(
        "server",
        available.map(|s| {
            let running = (s.start)().unwrap_or_else(|e| panic!("{}: {e}", s.name));
            let reports = cases
                .iter()
                .map(|c| against_server::run(c, &running, uid()))
                .collect();
            (s.name, running.version.clone(), reports)
        }),
    );
}

/// The client-role cases (`dbus_client.json`) against each of `clients`
/// that is available (one process per case); panics as [`check_known`]
/// does.
pub fn client_role(clients: &[ClientImpl]) {
    let cases = cases("dbus_client.json");
    let available = clients.iter().filter(|c| available(c.name, (c.missing)()));
    graded(
        "client",
        available.map(|c| {
            let reports = cases
                .iter()
                .map(|case| against_client::run(case, c, uid()))
                .collect();
            (c.name, (c.version)(), reports)
        }),
    );
}

/// Reports each implementation's run (name, version, reports) as it
/// comes, then checks the FAILED ones of all against [`KNOWN_FAILED`].
fn graded(role: &str, runs: impl Iterator<Item = (&'static str, String, Vec<CaseReport>)>) {
    let mut failed = Vec::new();
    let mut ran = Vec::new();
    for (name, version, reports) in runs {
        failed.extend(report(name, &version, role, &reports));
        ran.push(name);
    }
    check_known(failed, &ran);
}
