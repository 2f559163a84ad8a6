//! # mon-ipc-conformance: the conformance tools that need an operating system
//!
//! The vectors, their loader, generator and replay are in
//! `mon-ipc-conformance-core`, which needs no OS; this crate adds what runs
//! over real sockets and processes:
//!
//! - [`record`]: real exchanges over real sockets through `mon-ipc-std`,
//!   written as vectors under `vectors/recorded/`;
//! - [`peer`]: the `peer --exec` runner that verifies another program over
//!   real sockets (`docs/SHIM.md`), and the case table of its reference shim;
//! - [`bridge`]: `replay --exec`, every vector replayed against another
//!   program through a JSON-lines protocol (`docs/VECTORS.md`), and the
//!   in-tree core behind that protocol (`mon-ipc-replay-adapter`).
//!
//! The `mon-ipc-conformance` binary drives both crates (`verify`,
//! `generate`, `record`, `peer`, `replay`); the format and the replay rules are in
//! `docs/VECTORS.md`.
#![forbid(unsafe_code)]

pub mod bridge;
pub mod peer;
mod process;
pub mod record;
