//! The canonical exchanges as readable transcripts, one line per event.
//! A change in behaviour shows up as a reviewed snapshot diff
//! (`cargo insta review`, or `INSTA_UPDATE=always` to rewrite).

use mon_ipc_conformance_core::transcript::{canonical, render};

#[test]
fn canonical_transcripts() {
    for (name, scenario) in canonical() {
        insta::assert_snapshot!(name, render(&scenario));
    }
}
