//! The rustdoc of the published crates (mon-ipc, mon-ipc-std,
//! mon-ipc-capi) names no repository document as plain text: docs.rs shows
//! the crates without the repository, so a `docs/X.md` there leads nowhere.
//! The specification is rendered in `mon_ipc::spec`, the platform notes in
//! `mon_ipc_std::platforms`; a doc comment cites them with a link, e.g.
//! `[PROTOCOL.md §4.3](crate::spec#43-sending)`. Rustdoc does not check the
//! part after `#`, so this test checks it against the headings.
//!
//! Reads the sources of three crates and `docs/`: left out of the package.

use std::fs;
use std::path::{Path, PathBuf};

/// The source trees whose doc comments are checked.
const SOURCES: &[&str] = &["protocol/src", "driver-std/src", "driver-std/capi/src"];

/// The rendered documents: (the module a link names, the document).
const RENDERED: &[(&str, &str)] = &[
    ("spec", "docs/PROTOCOL.md"),
    ("platforms", "docs/PLATFORMS.md"),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The doc comments of a source, as blocks of consecutive `///` or `//!`
/// lines: (line number of the block's first line, the text without the
/// markers). A link's text may run over two lines, so a block is one text.
fn doc_blocks(source: &str) -> Vec<(usize, String)> {
    let mut blocks: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (i, line) in source.lines().enumerate() {
        let t = line.trim_start();
        let text = match (t.strip_prefix("///"), t.strip_prefix("//!")) {
            (Some(rest), _) if !rest.starts_with('/') => Some(rest),
            (_, Some(rest)) => Some(rest),
            _ => None,
        };
        match (text, open) {
            (Some(text), true) => {
                let block = blocks.last_mut().expect("open block");
                block.1.push('\n');
                block.1.push_str(text);
            }
            (Some(text), false) => blocks.push((i + 1, text.to_string())),
            (None, _) => {}
        }
        open = text.is_some();
    }
    blocks
}

/// Whether `text` names a markdown file: `.md` not followed by a letter,
/// digit or `_` (so `.mdx` or `.md_len` do not count).
fn names_md(text: &str) -> bool {
    text.match_indices(".md").any(|(i, _)| {
        !text[i + 3..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The index of the bracket that closes the one at `open`, nesting counted.
fn closing(text: &[u8], open: usize, (o, c): (u8, u8)) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &b) in text.iter().enumerate().skip(open) {
        if b == o {
            depth += 1;
        } else if b == c {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// A doc block split into its inline links' targets (with the index of the
/// line where each link starts) and the text outside any link (each link's
/// text and target blanked, lines kept).
fn split_links(block: &str) -> (Vec<(usize, String)>, String) {
    let bytes = block.as_bytes();
    let mut outside = bytes.to_vec();
    let mut targets = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'[' {
            if let Some(end) = closing(bytes, i, (b'[', b']')) {
                if bytes.get(end + 1) == Some(&b'(') {
                    if let Some(close) = closing(bytes, end + 1, (b'(', b')')) {
                        let line = block[..i].matches('\n').count();
                        targets.push((line, block[end + 2..close].to_string()));
                        for b in &mut outside[i..=close] {
                            if *b != b'\n' {
                                *b = b' ';
                            }
                        }
                        i = close + 1;
                        continue;
                    }
                }
            }
        }
        i += 1;
    }
    // Only ASCII bytes were blanked, whole links at a time: still UTF-8.
    (targets, String::from_utf8(outside).expect("UTF-8"))
}

/// The id rustdoc (and GitHub) gives a heading: lower case, spaces to `-`,
/// every other character that is not alphanumeric, `-` or `_` dropped.
fn heading_id(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

/// The heading ids of a markdown document.
fn heading_ids(doc: &str) -> Vec<String> {
    doc.lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| heading_id(l.trim_start_matches('#').trim()))
        .collect()
}

/// What is wrong with one doc block, each with the index of its line in the
/// block: plain mentions of a markdown file, link targets that are markdown
/// files, anchors that no heading has.
fn problems(block: &str, anchors: &[(&str, Vec<String>)]) -> Vec<(usize, String)> {
    let (targets, outside) = split_links(block);
    let mut found: Vec<(usize, String)> = outside
        .lines()
        .enumerate()
        .filter(|(_, l)| names_md(l))
        .map(|(i, l)| (i, format!("plain mention: {}", l.trim())))
        .collect();
    for (line, target) in targets {
        if names_md(&target) {
            found.push((line, format!("link to a file: ({target})")));
        }
        let Some((path, fragment)) = target.split_once('#') else {
            continue;
        };
        let module = path.rsplit("::").next().unwrap_or(path);
        if let Some((_, ids)) = anchors.iter().find(|(m, _)| *m == module) {
            if !ids.iter().any(|id| id == fragment) {
                found.push((line, format!("no heading has the id of ({target})")));
            }
        }
    }
    found
}

fn anchors() -> Vec<(&'static str, Vec<String>)> {
    RENDERED
        .iter()
        .map(|&(module, doc)| {
            let text = fs::read_to_string(repo().join(doc)).expect(doc);
            (module, heading_ids(&text))
        })
        .collect()
}

#[test]
fn doc_comments_link_the_documents_they_cite() {
    let anchors = anchors();
    let mut files = Vec::new();
    for dir in SOURCES {
        rust_files(&repo().join(dir), &mut files);
    }
    assert!(files.len() > 20, "the sources were found");
    let mut found = Vec::new();
    for file in &files {
        let source = fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(repo()).unwrap_or(file).display();
        for (first, block) in doc_blocks(&source) {
            for (i, p) in problems(&block, &anchors) {
                found.push(format!("{name}:{}: {p}", first + i));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_check_tells_links_from_mentions() {
    let anchors = anchors();
    let ok = [
        "see [PROTOCOL.md §4.3](crate::spec#43-sending)",
        "see [PROTOCOL.md\n§4.3](mon_ipc::spec#43-sending), and\n[`platforms`](crate::platforms)",
        "the [table](crate::platforms#what-each-system-provides)",
        "a `.mdx` file, `self.md_len`",
    ];
    for block in ok {
        assert_eq!(problems(block, &anchors), [], "{block}");
    }
    let bad = [
        "see docs/PROTOCOL.md section 4.3",
        "(PROTOCOL.md\n4.3)",
        "[link](crate::spec)\nsee PROTOCOL.md",
        "see `docs/PLATFORMS.md`.",
        "[the spec](../docs/PROTOCOL.md)",
        "[PROTOCOL.md §4.3](crate::spec#43-sendin)",
        "[here](crate::platforms#no-such-heading)",
    ];
    for block in bad {
        assert_eq!(problems(block, &anchors).len(), 1, "{block}");
    }
}

#[test]
fn heading_ids_are_rustdocs() {
    // As rustdoc generated them for these headings (checked in target/doc).
    assert_eq!(heading_id("4.3 Sending"), "43-sending");
    assert_eq!(
        heading_id("4.4 Receiving, and the fd attribution rule"),
        "44-receiving-and-the-fd-attribution-rule"
    );
    assert_eq!(heading_id("1. Transport"), "1-transport");
    assert_eq!(
        heading_id("OpenBSD (`cargo check` with nightly `-Zbuild-std`)"),
        "openbsd-cargo-check-with-nightly--zbuild-std"
    );
}

#[test]
fn problems_name_their_line() {
    let anchors = anchors();
    let block = "first\n[x](crate::spec#nope) and\n\nthird docs/X.md";
    let lines: Vec<usize> = problems(block, &anchors).iter().map(|p| p.0).collect();
    assert_eq!(lines, [3, 1]);
}
