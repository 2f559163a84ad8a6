//! The vector generator: every case written out by hand, with its expected
//! outcome taken from the specification (`docs/PROTOCOL.md` sections 2 to 4,
//! `docs/DBUS.md`), never computed by running the core.
//!
//! `mon-ipc-conformance generate --out vectors/` writes the files; a test
//! checks the committed files equal what this module produces, so the JSON
//! and the reasoning behind each expectation cannot drift apart.
//!
//! tcIds are assigned in the order the cases are written here, from a base
//! per file. Append new cases at the end of their file's list so that
//! existing ids stay put; `conformance/expected-results.json` shows any
//! renumbering as a diff.

mod client;
mod dbus;
mod dbus_live;
mod decoder;
pub mod draft;
mod encoder;
mod notes;
mod server;
mod shm;
pub(crate) mod wire;

use std::collections::BTreeMap;

pub use draft::Draft;

use crate::model::{SCHEMA, SCHEMA_VERSION, TestGroup, VectorFile};

/// The files, by name, in a fixed order.
pub fn all_files() -> Vec<(&'static str, VectorFile)> {
    vec![
        (
            "client_handshake.json",
            file(
                1000,
                &[
                    "The client side of the v1 handshake: sending the hello, judging the reply (docs/PROTOCOL.md 3.1, 3.2, 3.4, 3.5).",
                ],
                client::cases(),
            ),
        ),
        (
            "server_handshake.json",
            file(
                2000,
                &[
                    "The server side of the v1 handshake: the order of checks on the hello, the reply, the credential policy (docs/PROTOCOL.md 2, 3.1-3.3).",
                ],
                server::cases(),
            ),
        ),
        (
            "frame_decoder.json",
            file(
                3000,
                &[
                    "The frame decoder: headers, limits, fd attribution on stream sockets, records on seqpacket (docs/PROTOCOL.md 4.1, 4.4).",
                ],
                decoder::cases(),
            ),
        ),
        (
            "frame_encoder.json",
            file(
                4000,
                &[
                    "The frame encoder: header layout, fds on the first byte of their frame's own sendmsg, the caller's limits (docs/PROTOCOL.md 4.1, 4.3).",
                ],
                encoder::cases(),
            ),
        ),
        (
            "shm_frames.json",
            file(
                5000,
                &[
                    "Shared-memory frames (kind 1): exactly one fd, the 12-byte size and seals header, the receiver's checks (docs/PROTOCOL.md 4.2).",
                ],
                shm::cases(),
            ),
        ),
        (
            "dbus_client.json",
            file(
                6000,
                &[
                    "The D-Bus profile's client (mon_ipc::dbus::ClientAuth): the NUL byte with credentials, AUTH, DATA, CANCEL, NEGOTIATE_UNIX_FD, BEGIN; how it judges the server's lines (docs/DBUS.md).",
                ],
                dbus::client_cases(),
            ),
        ),
        (
            "dbus_server.json",
            file(
                7000,
                &[
                    "The D-Bus profile's server (mon_ipc::dbus::ServerAuth): the NUL byte's credentials, EXTERNAL's uid check, REJECTED, DATA, ERROR, AGREE_UNIX_FD, the line and failure bounds, every byte after BEGIN handed over (docs/DBUS.md).",
                ],
                dbus::server_cases(),
            ),
        ),
    ]
}

/// Assembles one file: numbers the drafts, groups them by role and config
/// (groups in order of first appearance), and keeps the notes it uses.
pub fn file(base: u32, header: &[&str], drafts: Vec<Draft>) -> VectorFile {
    let mut groups: Vec<TestGroup> = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for (i, d) in drafts.into_iter().enumerate() {
        let (role, config, mut case) = d.into_case(base + 1 + i as u32);
        if role.is_dbus() {
            case.live = Some(dbus_live::annotate(role, &config, &case));
        }
        used.extend(case.flags.iter().cloned());
        match groups
            .iter_mut()
            .find(|g| g.role == role && g.config == config)
        {
            Some(g) => g.tests.push(case),
            None => groups.push(TestGroup {
                role,
                config,
                tests: vec![case],
            }),
        }
    }
    let all = notes::all();
    let notes: BTreeMap<_, _> = used
        .into_iter()
        .map(|f| {
            let note = all
                .get(f.as_str())
                .cloned()
                .unwrap_or_else(|| panic!("generator bug: flag {f} has no note"));
            (f, note)
        })
        .collect();
    let mut header: Vec<String> = header.iter().map(|s| (*s).to_owned()).collect();
    header.push(
        "Written by `mon-ipc-conformance generate`; replay rules in docs/VECTORS.md.".to_owned(),
    );
    VectorFile {
        schema: SCHEMA.to_owned(),
        schema_version: SCHEMA_VERSION.to_owned(),
        header,
        notes,
        number_of_tests: groups.iter().map(|g| g.tests.len()).sum(),
        test_groups: groups,
    }
}

/// The files as they are written to disk: pretty JSON with a final newline.
pub fn render(file: &VectorFile) -> String {
    let mut s =
        serde_json::to_string_pretty(file).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// Writes every file into `dir`, replacing what is there.
pub fn write_all(dir: &std::path::Path) -> std::io::Result<Vec<(String, usize)>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, f) in all_files() {
        std::fs::write(dir.join(name), render(&f))?;
        written.push((name.to_owned(), f.number_of_tests));
    }
    Ok(written)
}
