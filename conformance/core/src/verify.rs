//! `verify`: load, replay, report. The JSON report lists every case with
//! its status so that it can be diffed against the committed
//! `conformance/expected-results.json`; [`crate::report`] prints and
//! writes it.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::load::{LoadError, load_dir};
use crate::model::Role;
use crate::replay::run_case;
use crate::report::{Entry, Status, count};

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
    /// Passed or failed.
    pub status: Status,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Entry for CaseResult {
    fn status(&self) -> Status {
        self.status
    }

    fn label(&self) -> String {
        format!("{} {}", self.tc_id, self.name)
    }

    fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// How many passed.
    pub passed: usize,
    /// How many failed.
    pub failed: usize,
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

/// Replays every case under `dir` whose name contains `filter`.
pub fn verify(dir: &Path, filter: Option<&str>) -> Result<Run, LoadError> {
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
                let run = run_case(group, case);
                states.extend(run.states);
                results.push(CaseResult {
                    file: file.clone(),
                    tc_id: case.tc_id,
                    name: case.name.clone(),
                    status: if run.result.is_ok() {
                        Status::Passed
                    } else {
                        Status::Failed
                    },
                    reason: run.result.err(),
                });
            }
        }
    }
    results.sort_by_key(|r| r.tc_id);
    let passed = count(&results, Status::Passed);
    Ok(Run {
        report: Report {
            schema: REPORT_SCHEMA.to_owned(),
            passed,
            failed: results.len() - passed,
            results,
        },
        states,
        codes,
    })
}
