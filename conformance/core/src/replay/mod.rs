//! Runs a case against the in-tree core, under every plan of
//! [`Plan::for_case`], and says whether the core did what the case expects.

mod config;
mod dbus;
mod decoder;
mod encoder;
mod handshake;
mod misuse;
mod script;

use std::collections::BTreeSet;

use crate::Ledger;
use crate::chunking::Plan;
use crate::model::{Role, Socket, TestCase, TestGroup};

pub use config::{limits, policy};

/// What replaying one case found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRun {
    /// `Ok`, or the first disagreement, prefixed with the plan that showed it.
    pub result: Result<(), String>,
    /// Handshake state names the core passed through (for coverage).
    pub states: BTreeSet<(Role, &'static str)>,
}

/// Flags that forbid re-chunking.
pub const EXACT_FLAGS: &[&str] = &["ReadBoundaries", "ApiMisuse"];

/// Whether a case may be re-chunked (docs/VECTORS.md, "Replay rules").
pub fn rechunkable(group: &TestGroup, case: &TestCase) -> bool {
    group.config.socket == Socket::Stream
        && !case.flags.iter().any(|f| EXACT_FLAGS.contains(&f.as_str()))
}

/// Replays `case` once, cut by `plan`; records the handshake states seen.
pub fn run_plan(
    group: &TestGroup,
    case: &TestCase,
    plan: Plan,
    states: &mut BTreeSet<(Role, &'static str)>,
) -> Result<(), String> {
    // Every fd a run hands to the core must come out of it exactly once,
    // whatever the outcome the case expects.
    let ledger = Ledger::new();
    let result = match group.role {
        Role::ClientHandshake | Role::ServerHandshake => {
            handshake::run(group, case, plan, states, &ledger)
        }
        Role::FrameDecoder => decoder::run(group, case, plan, &ledger),
        Role::FrameEncoder => encoder::run(group, case, plan, &ledger),
        Role::DbusClient | Role::DbusServer => dbus::run(group, case, plan, states, &ledger),
    };
    result.and_then(|()| ledger.check())
}

/// Replays `case` under each of its plans; stops at the first failure.
pub fn run_case(group: &TestGroup, case: &TestCase) -> CaseRun {
    let mut states = BTreeSet::new();
    for plan in Plan::for_case(case.tc_id, rechunkable(group, case)) {
        let result = run_plan(group, case, plan, &mut states);
        if let Err(reason) = result {
            return CaseRun {
                result: Err(format!("[plan {plan}] {reason}")),
                states,
            };
        }
    }
    CaseRun {
        result: Ok(()),
        states,
    }
}

/// Every error code a case's expectations name (outcome and calls).
pub fn codes_named(case: &TestCase) -> Vec<String> {
    use crate::model::Event;
    let mut codes: Vec<String> = case.expected.error.iter().cloned().collect();
    for e in &case.events {
        match e {
            Event::Push(p) => codes.extend(p.error.iter().cloned()),
            Event::Misuse { error, .. } => codes.extend(error.iter().cloned()),
            _ => {}
        }
    }
    codes
}
