//! The committed vector files are exactly what the generator writes, so an
//! expectation can only change through the reviewed generator source.

use std::path::PathBuf;

use mon_ipc_conformance_core::generate::{all_files, render};

#[test]
fn committed_vectors_equal_the_generator() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vectors");
    for (name, file) in all_files() {
        let committed = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("vectors/{name}: {e}"));
        assert!(
            committed == render(&file),
            "vectors/{name} differs from the generator: run \
             `cargo run -p mon-ipc-conformance -- generate --out vectors`"
        );
    }
}

#[test]
fn generation_is_deterministic() {
    let a: Vec<String> = all_files().iter().map(|(_, f)| render(f)).collect();
    let b: Vec<String> = all_files().iter().map(|(_, f)| render(f)).collect();
    assert_eq!(a, b);
}
