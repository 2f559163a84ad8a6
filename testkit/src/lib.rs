//! # mon-ipc-testkit: what the mon-ipc tests share
//!
//! Not published: the helpers that the core's tests, the fuzz harnesses,
//! the driver's tests and the benchmarks would otherwise each write again.
//! The two that the published `mon-ipc-conformance-core` needs at run time
//! (its replay counts fds with the ledger; its generator writes hellos)
//! live there and are re-exported here: a published crate cannot depend on
//! this one.
//!
//! - [`fd`]: a counting fd token ([`Fd`]) and its [`Ledger`], which proves
//!   that every fd handed to a core ended once, closed or delivered.
//! - [`wire`]: the 16-byte hello and reply, byte by byte.
//! - [`events`]: the `Arbitrary` model of the calls on one handshake side.
//! - [`Rng`]: seeded bytes for property tests.
//! - [`dbus_message`]: the D-Bus `Hello` call, and the fixed header of a
//!   reply, and a minimal answering loop. With the `dbus-daemon` feature,
//!   `dbus_daemon` starts a private `dbus-daemon`, `dbus_peers` every other
//!   D-Bus implementation installable here (one table entry each), and
//!   `dbus_live` plays the D-Bus vectors against them over real sockets.
//! - [`TempDir`]: a temporary directory removed on drop.
//!
//! A core's own unit tests cannot use it: the testkit links the `mon-ipc`
//! library, whose types differ from those of the crate under test. Its
//! integration tests (`tests/`) can.

#[cfg(feature = "dbus-daemon")]
pub mod dbus_daemon;
#[cfg(feature = "dbus-daemon")]
pub mod dbus_live;
pub mod dbus_message;
#[cfg(feature = "dbus-daemon")]
pub mod dbus_peers;
pub mod events;
mod rng;
mod temp_dir;

pub use mon_ipc_conformance_core::{fd, wire};

pub use fd::{Fd, Ledger};
pub use rng::Rng;
pub use temp_dir::TempDir;
