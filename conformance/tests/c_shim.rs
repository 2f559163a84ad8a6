//! `peer --exec` against the C shim, `driver-std/capi/shim/mon-ipc-c-shim.c`:
//! the C API (`<monitor/monitor.h>`, `libmonitor.a`) verified by the same
//! cases as the reference shim. Every case passes on both socket types
//! except [`UNIMPLEMENTED`], which the shim answers with 89: the C API's
//! known gaps. A case that newly fails, or newly answers 89, fails the test;
//! so does one of the list that starts passing (update the list, and the
//! gaps in the C API README).
//!
//! The shim is compiled with the system compiler (`$CC`, else `cc`) as
//! strict C11 against the header and the `libmonitor.a` of this target
//! directory, which the test builds first (`cargo build -p mon-ipc-capi`, a
//! no-op when it is up to date). With `MON_CAPI_VALGRIND=1` (what `.ci/run`
//! sets) the shim runs under valgrind, which must find no error and no
//! leak: about a minute for the 78 runs, against a few seconds without.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mon_ipc::SocketKind;
use mon_ipc_conformance::peer::cases::CASES;
use mon_ipc_conformance::peer::runner::{Options, run};
use mon_ipc_conformance_core::report::Status;

#[path = "../../driver-std/capi/tests/libmonitor/mod.rs"]
mod libmonitor;

/// The cases the C API cannot express, with why (the shim prints the same
/// reason on stderr).
const UNIMPLEMENTED: &[(&str, &str)] = &[
    ("client/recv-fds", "a frame with 4 fds"),
    ("client/send-fds", "a frame with 4 fds"),
    ("client/echo", "a frame with 3 fds"),
    ("server/recv-fds", "a frame with 4 fds"),
    ("server/send-fds", "a frame with 4 fds"),
    ("server/echo", "a frame with 3 fds"),
    (
        "server/surplus-fds",
        "2 fds in one read: control_truncated with a 1-fd limit",
    ),
    ("client/mutual-echo", "a frame with 3 fds"),
    ("server/mutual-echo", "a frame with 3 fds"),
    (
        "client/surplus-fds",
        "2 fds in one read: control_truncated with a 1-fd limit",
    ),
];

const CFLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"];

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

fn build_shim() -> PathBuf {
    let capi = workspace().join("driver-std/capi");
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mon-ipc-c-shim");
    let out = Command::new(libmonitor::cc())
        .args(CFLAGS)
        .arg("-I")
        .arg(capi.join("include"))
        .arg(capi.join("shim/mon-ipc-c-shim.c"))
        .arg(libmonitor::lib_dir().join("libmonitor.a"))
        .args(libmonitor::NATIVE_LIBS)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "compiling mon-ipc-c-shim.c failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Whether to run the shim under valgrind: only with `MON_CAPI_VALGRIND=1`
/// (it takes about a minute), which then requires it installed.
fn valgrind() -> bool {
    if std::env::var("MON_CAPI_VALGRIND").as_deref() != Ok("1") {
        eprintln!("SKIPPED valgrind of the C shim: set MON_CAPI_VALGRIND=1 to run it");
        return false;
    }
    assert!(
        libmonitor::valgrind_installed(),
        "MON_CAPI_VALGRIND=1 but valgrind is not installed"
    );
    true
}

#[test]
fn the_c_shim_passes_every_case_but_the_c_apis_gaps() {
    for (name, _) in UNIMPLEMENTED {
        assert!(CASES.iter().any(|c| c.name == *name), "no case {name}");
    }
    let shim = build_shim().display().to_string();
    let mut program: Vec<String> = Vec::new();
    let under_valgrind = valgrind();
    if under_valgrind {
        // The same flags as the C tests' (tests/c_api.rs): an error or a
        // definite or possible leak is exit 99, which fails the case.
        program.push("valgrind".into());
        program.extend(libmonitor::VALGRIND.iter().map(|a| a.to_string()));
    }
    program.push(shim);
    let report = run(&Options {
        program,
        filter: None,
        sockets: vec![SocketKind::Stream, SocketKind::Seqpacket],
        // Generous: a loaded machine, and valgrind's start-up.
        timeout: Duration::from_secs(if under_valgrind { 120 } else { 30 }),
    });
    let failed: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Failed)
        .map(|r| format!("{} {}: {:?}", r.name, r.socket, r.reason))
        .collect();
    assert!(failed.is_empty(), "failed:\n{}", failed.join("\n"));
    let mut unimplemented: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Unimplemented)
        .map(|r| format!("{} {}", r.name, r.socket))
        .collect();
    let mut expected: Vec<_> = UNIMPLEMENTED
        .iter()
        .flat_map(|(name, _)| ["stream", "seqpacket"].map(|s| format!("{name} {s}")))
        .collect();
    unimplemented.sort();
    expected.sort();
    assert_eq!(unimplemented, expected, "the cases answered 89");
    assert_eq!(
        report.passed,
        2 * (CASES.len() - UNIMPLEMENTED.len()),
        "every other case passes on both socket types"
    );
    assert!(report.verdict());
}
