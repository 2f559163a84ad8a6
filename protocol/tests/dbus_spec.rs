//! docs/PROTOCOL.md section 9 and `DbusError` name the same codes, and
//! each row's core code is the one `DbusError::core` gives.

use mon_ipc::dbus::DbusError;

const SPEC: &str = include_str!("../../docs/PROTOCOL.md");

/// (code, core code) of each row of section 9's table.
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
            let code = |c: &'static str| c.trim_matches('`');
            (code(cells[1]), code(cells[cells.len() - 2]))
        })
        .collect()
}

#[test]
fn every_dbus_code_has_a_row() {
    let rows = rows();
    for e in DbusError::ALL {
        let row = rows.iter().find(|(c, _)| *c == e.code());
        assert_eq!(
            row.map(|r| r.1),
            Some(e.core().code()),
            "PROTOCOL.md section 9 lacks `{}` or names another core code",
            e.code()
        );
    }
}

#[test]
fn every_row_is_a_dbus_code() {
    let rows = rows();
    assert_eq!(rows.len(), DbusError::ALL.len(), "one row per code");
    for (code, _) in rows {
        assert!(
            DbusError::from_code(code).is_some(),
            "PROTOCOL.md names unknown code `{code}`"
        );
    }
}
