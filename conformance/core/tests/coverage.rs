//! Every error code of the core and every state of both handshake sides is
//! exercised by at least one vector. The lists come from the core itself
//! (`Error::all()`, `ClientAuth::STATES`, `ServerAuth::STATES`), so a new
//! code or state without a vector fails the build. The same holds for the
//! D-Bus profile (`DbusError::ALL`, `dbus::ClientAuth::STATES`,
//! `dbus::ServerAuth::STATES`), whose codes must be named by a passing
//! case of a D-Bus role.

use std::path::PathBuf;

use mon_ipc::dbus::DbusError;
use mon_ipc::{ClientAuth, Error, ServerAuth, dbus};
use mon_ipc_conformance_core::model::Role;
use mon_ipc_conformance_core::verify::verify;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vectors")
}

#[test]
fn every_error_code_has_a_vector() {
    let run = verify(&vectors(), None).expect("vectors load");
    let missing: Vec<&str> = Error::all()
        .map(Error::code)
        .filter(|c| !run.codes.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "error codes without a vector: {missing:?}"
    );
}

#[test]
fn every_handshake_state_is_reached_by_a_vector() {
    let run = verify(&vectors(), None).expect("vectors load");
    let mut missing = Vec::new();
    for (role, states) in [
        (Role::ClientHandshake, ClientAuth::<()>::STATES),
        (Role::ServerHandshake, ServerAuth::<()>::STATES),
        (Role::DbusClient, dbus::ClientAuth::<()>::STATES),
        (Role::DbusServer, dbus::ServerAuth::<()>::STATES),
    ] {
        for s in states {
            if !run.states.contains(&(role, *s)) {
                missing.push(format!("{}: {s}", role.name()));
            }
        }
    }
    assert!(missing.is_empty(), "states no vector reaches: {missing:?}");
}

#[test]
fn at_least_200_cases() {
    let run = verify(&vectors(), None).expect("vectors load");
    assert!(
        run.report.results.len() >= 200,
        "{} cases",
        run.report.results.len()
    );
}

#[test]
fn every_dbus_code_has_a_passing_dbus_vector() {
    let run = verify(&vectors(), Some("dbus-")).expect("vectors load");
    // Codes named by the expectations of D-Bus cases that pass.
    let passing: std::collections::BTreeSet<u32> = run
        .report
        .results
        .iter()
        .filter(|r| r.status == mon_ipc_conformance_core::report::Status::Passed)
        .map(|r| r.tc_id)
        .collect();
    let files = mon_ipc_conformance_core::load::load_dir(&vectors()).expect("vectors load");
    let mut named = std::collections::BTreeSet::new();
    for loaded in &files {
        for group in loaded.file.test_groups.iter().filter(|g| g.role.is_dbus()) {
            for case in group.tests.iter().filter(|c| passing.contains(&c.tc_id)) {
                named.extend(mon_ipc_conformance_core::replay::codes_named(case));
            }
        }
    }
    let missing: Vec<&str> = DbusError::ALL
        .iter()
        .map(|e| e.code())
        .filter(|c| !named.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "D-Bus error codes without a passing vector: {missing:?}"
    );
}
