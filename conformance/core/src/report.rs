//! The report that `verify` and `peer --exec` both print and write: one
//! `PASSED` / `FAILED` line per case, the summary line, and the JSON file.
//! One rendering for both, so that the two reports read alike and whatever
//! parses one parses the other.

use serde::{Deserialize, Serialize};

/// How one case went; in the JSON report, `passed`, `failed` or
/// `unimplemented`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Everything the case checks held.
    Passed,
    /// Something did not; the entry's reason says what.
    Failed,
    /// The program under test does not implement the case (`peer` only).
    Unimplemented,
}

/// One case's entry in a report.
pub trait Entry {
    /// How it went.
    fn status(&self) -> Status;
    /// Which case it was, as printed between the parentheses.
    fn label(&self) -> String;
    /// Why it failed.
    fn reason(&self) -> Option<&str>;
}

/// Implements [`Entry`] for a result type whose `status: Status` and
/// `reason: Option<String>` fields say how the case went, labelled by the
/// closure-like expression: `report_entry!(CaseResult, |r| r.name.clone());`.
/// One implementation for `verify`'s, `replay`'s and `peer`'s results.
#[macro_export]
macro_rules! report_entry {
    ($ty:ty, |$r:ident| $label:expr) => {
        impl $crate::report::Entry for $ty {
            fn status(&self) -> $crate::report::Status {
                self.status
            }

            fn label(&self) -> String {
                let $r = self;
                $label
            }

            fn reason(&self) -> Option<&str> {
                self.reason.as_deref()
            }
        }
    };
}

/// `PASSED (label)`, `UNIMPLEMENTED (label)` or `FAILED (label): reason`.
pub fn line(entry: &impl Entry) -> String {
    let label = entry.label();
    match entry.status() {
        Status::Passed => format!("PASSED ({label})"),
        Status::Unimplemented => format!("UNIMPLEMENTED ({label})"),
        Status::Failed => format!("FAILED ({label}): {}", entry.reason().unwrap_or("")),
    }
}

/// How many of `entries` have `status`.
pub fn count<E: Entry>(entries: &[E], status: Status) -> usize {
    entries.iter().filter(|e| e.status() == status).count()
}

/// One line per entry, then the summary line `N passed, M failed`.
pub fn lines<E: Entry>(entries: &[E]) -> Vec<String> {
    let mut out: Vec<String> = entries.iter().map(line).collect();
    out.push(format!(
        "{} passed, {} failed",
        count(entries, Status::Passed),
        count(entries, Status::Failed)
    ));
    out
}

/// A report as written to `--json`: pretty, with a final newline.
pub fn render(report: &impl Serialize) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
    s.push('\n');
    s
}
