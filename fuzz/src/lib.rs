//! Fuzz harnesses for `mon-ipc`. Each module is one target: its `Input`
//! (built by `arbitrary`) and its `run`, which panics when an oracle fails.
//! The targets in `fuzz_targets/` only call `run`, so the same harnesses
//! run under `cargo test` on seeded inputs (see `tests/`).

pub mod client_auth;
pub mod frame_decoder;
pub mod frame_roundtrip;
pub mod handshake;
pub mod pair;
pub mod seed;
pub mod server_auth;
pub mod vector_split;

/// The socket type a harness runs on.
pub fn socket(seqpacket: bool) -> mon_ipc::SocketKind {
    if seqpacket {
        mon_ipc::SocketKind::Seqpacket
    } else {
        mon_ipc::SocketKind::Stream
    }
}
