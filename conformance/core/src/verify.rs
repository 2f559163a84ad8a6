//! `verify` and `replay --exec`: load, replay, report. One loop for both:
//! [`replay`] runs every case on any [`Implementation`], and [`verify`] is
//! that with the in-tree core plugged in. The JSON report lists every case
//! with its status so that `verify`'s can be diffed against the committed
//! `conformance/expected-results.json`; [`crate::report`] prints and
//! writes it.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::load::{LoadError, load_dir};
use crate::model::Role;
use crate::replay::subject::{Implementation, Stop};
use crate::replay::{InTree, replay_case};
use crate::report::{Status, count};

/// The report's schema name.
pub const REPORT_SCHEMA: &str = "mon-ipc-conformance-report";

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaseResult {
    /// The vector file, relative to the vectors directory.
    pub file: String,
    /// The case's id.
    pub tc_id: u32,
    /// The case's name.
    pub name: String,
    /// Passed, failed or unimplemented.
    pub status: Status,
    /// Why it failed, or why the implementation does not implement it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

crate::report_entry!(CaseResult, |r| format!("{} {}", r.tc_id, r.name));

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// `replay --exec`: the program and its arguments; absent for `verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<Vec<String>>,
    /// How many passed.
    pub passed: usize,
    /// How many failed.
    pub failed: usize,
    /// How many the implementation does not implement; absent when none
    /// (always for `verify`: the in-tree core implements every case).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unimplemented: usize,
    /// Every case, by tcId.
    pub results: Vec<CaseResult>,
}

/// What a run found, including the states it drove the cores through.
#[derive(Debug, Clone)]
pub struct Run {
    /// The report.
    pub report: Report,
    /// (role, state) pairs seen, for coverage.
    pub states: BTreeSet<(Role, &'static str)>,
    /// Error codes named by the vectors' expectations.
    pub codes: BTreeSet<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Replays every case under `dir` whose name contains `filter` on the
/// in-tree core.
pub fn verify(dir: &Path, filter: Option<&str>) -> Result<Run, LoadError> {
    replay(dir, filter, &mut InTree)
}

/// Replays every case under `dir` whose name contains `filter` on `imp`.
pub fn replay(
    dir: &Path,
    filter: Option<&str>,
    imp: &mut dyn Implementation,
) -> Result<Run, LoadError> {
    let files = load_dir(dir)?;
    let mut results = Vec::new();
    let mut states = BTreeSet::new();
    let mut codes = BTreeSet::new();
    for loaded in &files {
        let file = loaded
            .path
            .strip_prefix(dir)
            .unwrap_or(&loaded.path)
            .display()
            .to_string();
        for group in &loaded.file.test_groups {
            for case in &group.tests {
                if filter.is_some_and(|f| !case.name.contains(f)) {
                    continue;
                }
                codes.extend(crate::replay::codes_named(case));
                imp.start_case(&file, case);
                let (status, reason) = match replay_case(imp, group, case, &mut states) {
                    Ok(()) => (Status::Passed, None),
                    Err(Stop::Failed(why)) => (Status::Failed, Some(why)),
                    Err(Stop::Unimplemented(why)) => (Status::Unimplemented, Some(why)),
                };
                results.push(CaseResult {
                    file: file.clone(),
                    tc_id: case.tc_id,
                    name: case.name.clone(),
                    status,
                    reason,
                });
            }
        }
    }
    results.sort_by_key(|r| r.tc_id);
    Ok(Run {
        report: Report {
            schema: REPORT_SCHEMA.to_owned(),
            program: None,
            passed: count(&results, Status::Passed),
            failed: count(&results, Status::Failed),
            unimplemented: count(&results, Status::Unimplemented),
            results,
        },
        states,
        codes,
    })
}
