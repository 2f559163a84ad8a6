//! docs/PROTOCOL.md section 9 and `DbusError` name the same codes, each
//! once, with the side that reports it.

use mon_ipc::dbus::DbusError;

/// `protocol/PROTOCOL.md` links to `docs/PROTOCOL.md`, so that the published
/// package carries the specification and these tests build from it.
const SPEC: &str = include_str!("../PROTOCOL.md");

/// (code, side) of each row of section 9's table.
fn rows() -> Vec<(&'static str, &'static str)> {
    let section = SPEC
        .split("## 9. D-Bus profile error codes")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("PROTOCOL.md has section 9");
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`'), cells[2])
        })
        .collect()
}

#[test]
fn every_dbus_code_has_one_row() {
    let rows = rows();
    for e in DbusError::ALL {
        let n = rows.iter().filter(|(c, _)| *c == e.code()).count();
        assert_eq!(n, 1, "PROTOCOL.md section 9: `{}` in {n} rows", e.code());
    }
}

#[test]
fn every_row_is_a_dbus_code_with_a_side() {
    let rows = rows();
    assert_eq!(rows.len(), DbusError::ALL.len(), "one row per code");
    for (code, side) in rows {
        assert!(
            DbusError::from_code(code).is_some(),
            "PROTOCOL.md names unknown code `{code}`"
        );
        assert!(
            ["both", "client", "server"].contains(&side),
            "`{code}`: side `{side}`"
        );
    }
}
