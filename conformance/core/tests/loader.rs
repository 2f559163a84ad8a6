//! A malformed vector file gives an error naming the file, the case and the
//! field, and never a panic.

use std::path::Path;

use mon_ipc_conformance_core::generate::{all_files, render};
use mon_ipc_conformance_core::load::parse;

/// The server file with one textual substitution applied.
fn broken(from: &str, to: &str) -> String {
    let (_, f) = all_files().into_iter().nth(1).expect("server file");
    let text = render(&f);
    assert!(text.contains(from), "fixture: {from:?} not found");
    text.replacen(from, to, 1)
}

fn error_of(text: &str) -> String {
    parse(Path::new("vectors/x.json"), text)
        .expect_err("must be refused")
        .to_string()
}

#[test]
fn not_json() {
    let e = error_of("{ nope");
    assert!(e.starts_with("vectors/x.json"), "{e}");
    assert!(e.contains("not JSON"), "{e}");
}

#[test]
fn bad_hex_names_case_and_field() {
    let e = error_of(&broken("\"bytes\": \"4d4f4e00", "\"bytes\": \"zz4f4e00"));
    assert!(e.contains("tcId 2001 (server/stream/accept)"), "{e}");
    // Events are internally tagged, so the path ends at the event.
    assert!(e.contains("events[0]"), "{e}");
    assert!(e.contains("invalid hex"), "{e}");
}

#[test]
fn missing_field() {
    let e = error_of(&broken("\"result\": \"valid\",", ""));
    assert!(e.contains("tcId 2001"), "{e}");
    assert!(e.contains("result"), "{e}");
}

#[test]
fn unknown_field() {
    let e = error_of(&broken(
        "\"result\": \"valid\",",
        "\"result\": \"valid\", \"reslut\": 1,",
    ));
    assert!(e.contains("reslut"), "{e}");
}

#[test]
fn unknown_error_code() {
    let e = error_of(&broken("\"error\": \"denied\"", "\"error\": \"dennied\""));
    assert!(e.contains("expected.error"), "{e}");
    assert!(e.contains("unknown error code \"dennied\""), "{e}");
}

#[test]
fn unknown_event_type() {
    let e = error_of(&broken("\"type\": \"eof\"", "\"type\": \"hangup\""));
    assert!(e.contains("events["), "{e}");
}

#[test]
fn wrong_schema_and_count() {
    let e = error_of(&broken(
        "\"schema\": \"mon-ipc-vectors\"",
        "\"schema\": \"other\"",
    ));
    assert!(e.contains("field `schema`"), "{e}");
    let e = error_of(&broken("\"numberOfTests\": ", "\"numberOfTests\": 1"));
    assert!(e.contains("numberOfTests"), "{e}");
}

#[test]
fn fd_used_twice() {
    let e = error_of(&broken("\"fd2\"", "\"fd1\""));
    assert!(e.contains("used twice"), "{e}");
}

#[test]
fn flag_without_note() {
    let e = error_of(&broken("\"Canonical\"\n", "\"Canonicall\"\n"));
    assert!(e.contains("has no note"), "{e}");
}

#[test]
fn truncated_files_never_panic() {
    let (_, f) = all_files().into_iter().next().expect("client file");
    let text = render(&f);
    for cut in (0..text.len()).step_by(997) {
        let _ = parse(Path::new("x.json"), &text[..cut]);
    }
}
