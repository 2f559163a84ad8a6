//! `vector_split`: a vector replayed at fuzz-chosen split points gives the
//! same result as unsplit (`docs/VECTORS.md`: inputs may be re-chunked
//! freely). The input is raw bytes: two (little-endian) choose the case
//! among every vector in `vectors/`, the rest seed the cut; that layout is
//! what `mon-ipc-conformance fuzz-seeds` writes, one seed per case.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use mon_ipc_conformance_core::chunking::Plan;
use mon_ipc_conformance_core::load::load_dir;
use mon_ipc_conformance_core::model::{TestCase, TestGroup};
use mon_ipc_conformance_core::replay::{rechunkable, run_plan};

/// Every case of `vectors/` that may be re-chunked, with its group.
pub fn cases() -> &'static [(TestGroup, TestCase)] {
    static CASES: OnceLock<Vec<(TestGroup, TestCase)>> = OnceLock::new();
    CASES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
        let files = load_dir(&dir).expect("the committed vectors load");
        let mut all = Vec::new();
        for loaded in files {
            for group in loaded.file.test_groups {
                for case in &group.tests {
                    if rechunkable(&group, case) {
                        all.push((group.clone(), case.clone()));
                    }
                }
            }
        }
        all
    })
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let cases = cases();
    let index = usize::from(u16::from_le_bytes([
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(0),
    ]));
    let (group, case) = &cases[index % cases.len()];
    let mut seed = [0u8; 8];
    for (s, d) in seed.iter_mut().zip(data.iter().skip(2)) {
        *s = *d;
    }
    let mut states = BTreeSet::new();
    let whole = run_plan(group, case, Plan::Whole, &mut states);
    let split = run_plan(
        group,
        case,
        Plan::Random(u64::from_le_bytes(seed)),
        &mut states,
    );
    assert_eq!(whole, split, "tcId {} cut with seed {seed:?}", case.tc_id);
    assert_eq!(whole, Ok(()), "tcId {} fails unsplit", case.tc_id);
}
