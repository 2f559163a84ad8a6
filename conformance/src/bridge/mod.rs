//! `replay --exec PROGRAM`: every vector replayed against another program,
//! by the same replay as `verify` (`mon_ipc_conformance_core::replay`),
//! through a small JSON-lines protocol on the program's standard input and
//! output (docs/VECTORS.md, "Replaying against another program").
//!
//! - [`protocol`]: the messages;
//! - [`exec`]: the program as an implementation the replay drives;
//! - [`serve`]: the in-tree core behind the same protocol
//!   (`mon-ipc-replay-adapter`), which must give what `verify` gives.

mod child;
pub mod exec;
pub mod protocol;
pub mod serve;

use std::path::Path;
use std::time::Duration;

use mon_ipc_conformance_core::load::LoadError;
use mon_ipc_conformance_core::report::{self, Status};
use mon_ipc_conformance_core::verify::{Report, replay};

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The program and its own arguments.
    pub program: Vec<String>,
    /// Only cases whose name contains this.
    pub filter: Option<String>,
    /// Per-case limit; the program is killed after it.
    pub timeout: Duration,
}

/// The default per-case limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Replays every vector under `dir` against the program.
pub fn run(dir: &Path, opts: &Options) -> Result<Report, LoadError> {
    let mut imp = exec::Exec::new(opts.program.clone(), opts.timeout);
    let run = replay(dir, opts.filter.as_deref(), &mut imp);
    imp.stop();
    let mut report = run?.report;
    report.program = Some(opts.program.clone());
    Ok(report)
}

/// The report's lines ([`report::lines`]), then the unimplemented count.
pub fn lines(report: &Report) -> Vec<String> {
    let mut out = report::lines(&report.results);
    out.push(format!(
        "{} unimplemented",
        report::count(&report.results, Status::Unimplemented)
    ));
    out
}
