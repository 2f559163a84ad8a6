//! Every error code of the core and every state of both handshake sides is
//! exercised by at least one vector. The lists come from the core itself
//! (`Error::all()`, `ClientAuth::STATES`, `ServerAuth::STATES`), so a new
//! code or state without a vector fails the build.

use std::path::PathBuf;

use mon_ipc::{ClientAuth, Error, ServerAuth};
use mon_ipc_conformance::model::Role;
use mon_ipc_conformance::verify::verify;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors")
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
