//! docs/PROTOCOL.md and the code name the same error codes: a code added to
//! the code without its row in the specification fails here, and so does a
//! row for a code that does not exist.

use mon_ipc::Error;

/// `protocol/PROTOCOL.md` links to `docs/PROTOCOL.md`, so that the published
/// package carries the specification and these tests build from it.
const SPEC: &str = include_str!("../PROTOCOL.md");

/// The codes in the first column of the error tables of section 5.
fn table_codes() -> Vec<&'static str> {
    let section = SPEC
        .split("## 5. Error codes")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("PROTOCOL.md has section 5");
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect()
}

#[test]
fn every_error_code_has_a_row() {
    let rows = table_codes();
    for e in Error::all() {
        assert!(
            rows.contains(&e.code()),
            "PROTOCOL.md section 5 lacks `{}`",
            e.code()
        );
    }
}

#[test]
fn every_row_is_an_error_code() {
    let rows = table_codes();
    assert_eq!(
        rows.len(),
        Error::all().count(),
        "one row per code, no duplicates"
    );
    for code in rows {
        assert!(
            Error::from_code(code).is_some(),
            "PROTOCOL.md names unknown code `{code}`"
        );
    }
}
