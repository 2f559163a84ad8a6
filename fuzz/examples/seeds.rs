//! Writes fuzz seeds from the test vectors: `DIR/TARGET/<tcId>` for every
//! case (see `mon_ipc_fuzz::seed`), and for `vector_split` one seed per
//! re-chunkable case.
//!
//! Run: `cargo run --manifest-path fuzz/Cargo.toml --example seeds -- fuzz/seeds`

use std::path::{Path, PathBuf};
use std::{env, fs};

use mon_ipc_conformance_core::load::load_dir;
use mon_ipc_fuzz::{seed, vector_split};

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(env::args().nth(1).unwrap_or_else(|| "seeds".into()));
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors");
    let files = load_dir(&vectors).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut written = 0;
    for loaded in &files {
        for group in &loaded.file.test_groups {
            for case in &group.tests {
                let Some((target, bytes)) = seed::seed(group, case) else {
                    continue;
                };
                fs::create_dir_all(out.join(target))?;
                fs::write(out.join(target).join(case.tc_id.to_string()), bytes)?;
                written += 1;
            }
        }
    }
    let dir = out.join("vector_split");
    fs::create_dir_all(&dir)?;
    for (i, (_, case)) in vector_split::cases().iter().enumerate() {
        let mut bytes = (i as u16).to_le_bytes().to_vec();
        bytes.extend([0; 8]);
        fs::write(dir.join(case.tc_id.to_string()), bytes)?;
        written += 1;
    }
    println!("{written} seeds written under {}", out.display());
    Ok(())
}
