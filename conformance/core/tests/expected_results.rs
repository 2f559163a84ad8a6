//! The replay report equals the committed `conformance/expected-results.json`:
//! a case that starts or stops passing, or a renumbered case, is a reviewed
//! diff. Regenerate with
//! `cargo run -p mon-ipc-conformance -- verify --json conformance/expected-results.json`.

use std::path::PathBuf;

use mon_ipc_conformance_core::report::render;
use mon_ipc_conformance_core::verify::verify;

#[test]
fn report_matches_expected_results() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let run = verify(&root.join("../../vectors"), None).expect("vectors load");
    let got = render(&run.report);
    let want = std::fs::read_to_string(root.join("../expected-results.json"))
        .expect("conformance/expected-results.json is committed");
    if got != want {
        let diff: Vec<String> = got
            .lines()
            .zip(want.lines())
            .enumerate()
            .filter(|(_, (g, w))| g != w)
            .take(10)
            .map(|(i, (g, w))| format!("line {}: got {g:?}, committed {w:?}", i + 1))
            .collect();
        panic!(
            "the report differs from expected-results.json ({} vs {} lines):\n{}",
            got.lines().count(),
            want.lines().count(),
            diff.join("\n")
        );
    }
}
