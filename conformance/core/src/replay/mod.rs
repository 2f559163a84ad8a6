//! Runs a case against an implementation ([`subject::Implementation`]:
//! the in-tree core, [`InTree`], or another program through
//! `replay --exec`), under every plan of [`Plan::for_case`], and says
//! whether it did what the case expects. One replay for all: `verify` is
//! this replay with the in-tree core plugged in directly.

mod decoder;
mod encoder;
mod in_tree;
mod misuse;
mod script;
pub mod subject;

use std::collections::BTreeSet;

use crate::Ledger;
use crate::chunking::Plan;
use crate::model::{Role, Socket, TestCase, TestGroup};
use subject::{Implementation, Setup, Stop};

pub use in_tree::{InTree, limits, policy};

/// What replaying one case on the in-tree core found.
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

/// Replays `case` once on `imp`, cut by `plan`; records the handshake
/// states seen.
pub fn replay_plan(
    imp: &mut dyn Implementation,
    group: &TestGroup,
    case: &TestCase,
    plan: Plan,
    states: &mut BTreeSet<(Role, &'static str)>,
) -> Result<(), Stop> {
    // Every fd a run hands to the implementation must come out of it
    // exactly once, whatever the outcome the case expects.
    let ledger = Ledger::new();
    let setup = Setup {
        role: group.role,
        config: &group.config,
        plan,
        tc_id: case.tc_id,
        name: &case.name,
        flags: &case.flags,
    };
    let result = match group.role {
        Role::ClientHandshake | Role::ServerHandshake | Role::DbusClient | Role::DbusServer => {
            script::run(imp, &setup, case, states, &ledger)
        }
        Role::FrameDecoder => decoder::run(imp, &setup, case, &ledger),
        Role::FrameEncoder => encoder::run(imp, &setup, case, &ledger),
    };
    let ended = imp.end();
    result?;
    ended?;
    ledger.check().map_err(Stop::Failed)
}

/// Replays `case` on `imp` under each of its plans; stops at the first
/// failure (prefixed with the plan that showed it) or the first thing
/// `imp` does not implement. `states` collects the handshake states seen.
pub fn replay_case(
    imp: &mut dyn Implementation,
    group: &TestGroup,
    case: &TestCase,
    states: &mut BTreeSet<(Role, &'static str)>,
) -> Result<(), Stop> {
    for plan in Plan::for_case(case.tc_id, rechunkable(group, case)) {
        match replay_plan(imp, group, case, plan, states) {
            Ok(()) => {}
            Err(Stop::Failed(reason)) => {
                return Err(Stop::Failed(format!("[plan {plan}] {reason}")));
            }
            Err(unimplemented) => return Err(unimplemented),
        }
    }
    Ok(())
}

/// The in-tree core never answers `Unimplemented`; should it, the run
/// fails saying so.
fn in_tree_result(r: Result<(), Stop>) -> Result<(), String> {
    r.map_err(|stop| match stop {
        Stop::Failed(reason) => reason,
        Stop::Unimplemented(reason) => format!("the in-tree core: unimplemented: {reason}"),
    })
}

/// Replays `case` once on the in-tree core, cut by `plan`; records the
/// handshake states seen.
pub fn run_plan(
    group: &TestGroup,
    case: &TestCase,
    plan: Plan,
    states: &mut BTreeSet<(Role, &'static str)>,
) -> Result<(), String> {
    in_tree_result(replay_plan(&mut InTree, group, case, plan, states))
}

/// Replays `case` on the in-tree core under each of its plans; stops at
/// the first failure.
pub fn run_case(group: &TestGroup, case: &TestCase) -> CaseRun {
    let mut states = BTreeSet::new();
    let result = in_tree_result(replay_case(&mut InTree, group, case, &mut states));
    CaseRun { result, states }
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
