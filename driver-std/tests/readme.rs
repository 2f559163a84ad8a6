//! The workspace README's Rust examples are the crate READMEs' own, which
//! run as doctests (`ReadmeDoctests` in each crate): a block edited in one
//! place only fails here. Not in the published package (it reads the
//! repository's README).

use std::path::Path;

/// The ```rust blocks of a Markdown file.
fn rust_blocks(markdown: &str) -> Vec<String> {
    markdown
        .split("```rust\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn the_workspace_readme_shows_the_doctested_examples() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read_to_string(here.join(p)).unwrap();
    let root = rust_blocks(&read("../README.md"));
    let mut tested = rust_blocks(&read("README.md"));
    tested.extend(rust_blocks(&read("../protocol/README.md")));
    assert_eq!(root.len(), 2, "the in-memory taste and the real socket");
    for block in &root {
        assert!(
            tested.contains(block),
            "README.md shows a Rust block that no crate README doctests:\n{block}"
        );
    }
}
