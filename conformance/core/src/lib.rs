//! # mon-ipc-conformance-core: test vectors for the mon-ipc protocol
//!
//! Users verify their own implementations of the protocol against the JSON
//! vectors in `vectors/`; we verify ours against them on every build. This
//! crate holds the part of that which needs no operating system (no
//! sockets, no processes), so that the fuzz targets can depend on it alone;
//! `mon-ipc-conformance` adds the command line, recording over real sockets
//! and the `peer --exec` runner:
//!
//! - [`generate`]: every case written out with its expectation taken from the
//!   specification (never computed by running the core, which would test
//!   the core against itself), and the `generate` subcommand that writes the
//!   files;
//! - [`load`]: a loader whose errors name the file, the case and the field;
//! - [`replay`]: runs every case against an implementation (the in-tree
//!   core, or another program through `replay --exec`), re-chunking the
//!   inputs several ways ([`chunking`]) and counting fds ([`fd`]'s ledger,
//!   with the vectors' fd names as ids);
//! - [`verify`]: the `verify` subcommand's engine and its JSON report;
//! - [`report`]: the `PASSED` / `FAILED` lines and the JSON report, shared
//!   by `verify` and the `peer --exec` runner;
//! - [`chaos`]: both cores connected in memory under arbitrary chunking and
//!   faults, shared with the fuzz targets;
//! - [`transcript`]: the canonical exchanges rendered one line per event;
//! - [`fd`] and [`wire`]: the counting fd token and the handshake messages
//!   written byte by byte, which the workspace's tests share through
//!   `mon-ipc-testkit`.
//!
//! The format and the replay rules are in `docs/VECTORS.md`.
#![forbid(unsafe_code)]

pub mod chaos;
pub mod chunking;
pub mod fd;
pub mod generate;
pub mod hexbytes;
pub mod load;
pub mod model;
pub mod replay;
pub mod report;
pub mod transcript;
pub mod verify;
pub mod wire;

/// The fd token of the replay and the chaos runs, named as the vectors
/// name fds.
pub type Fd = fd::Fd<String>;
/// The ledger of those tokens.
pub type Ledger = fd::Ledger<String>;
