//! `mon-ipc-replay-adapter`: the in-tree core behind the JSON-lines
//! protocol of `replay --exec` (docs/VECTORS.md). `replay --exec` against
//! it must give what `verify` gives, case for case; it is also a
//! reference for writing an adapter.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    match mon_ipc_conformance::bridge::serve::serve(stdin, stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mon-ipc-replay-adapter: {e}");
            ExitCode::FAILURE
        }
    }
}
