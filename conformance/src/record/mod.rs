//! `record`: real client/server exchanges over a real socketpair through
//! `mon-ipc-std`'s raw `sendmsg` / `recvmsg`, with a tap on every call
//! (module `live`), written as vectors that `verify` replays.
//!
//! The cores only produce the traffic. Each recorded case's expectation
//! follows from the scenario and the spec (the server reports the first
//! read's message credentials and its `SCM_PIDFD`; a denied client gets
//! `refused_denied`; frames arrive as sent, their fds in arrival order; a
//! peer that hangs up inside a frame is `eof_in_frame`), never from what
//! the core concluded.

mod live;
mod scenarios;

use std::path::Path;

use mon_ipc_conformance_core::generate::{file, render};

/// The file `record` writes, inside its output directory.
pub const FILE: &str = "recorded.json";

/// Records every scenario and writes `DIR/recorded.json`; returns the case count.
pub fn record(dir: &Path) -> Result<usize, String> {
    let mut drafts = Vec::new();
    for s in scenarios::all() {
        drafts.extend(scenarios::run(&s).map_err(|e| format!("scenario {}: {e}", s.name))?);
    }
    let f = file(
        9000,
        &[
            "Exchanges recorded from real AF_UNIX sockets (Linux): every sendmsg and recvmsg as the kernel performed it.",
        ],
        drafts,
    );
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(FILE);
    std::fs::write(&path, render(&f)).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(f.number_of_tests)
}
