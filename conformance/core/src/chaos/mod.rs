//! Both cores connected in memory through the simulated kernel socket of
//! `mon_ipc::pair::Wire`, with faults injected into the sendmsgs: byte
//! flips, dropped fds, extra fds, a peer that hangs up mid-message. A
//! [`Scenario`] is drawn from arbitrary bytes, so the same harness serves
//! `cargo test` (seeded) and a fuzz target.
//!
//! The oracle ([`check`]): no panic; the decoder's buffer and fd queue stay
//! within their documented bounds; every fd is delivered or closed exactly
//! once; without faults both sides reach the same handshake outcome and
//! every frame arrives identical; with faults, every frame sent before the
//! first fault still arrives identical, and anything after may only be lost
//! or reported as an error.

mod net;
mod oracle;
mod run;
mod scenario;

use mon_ipc::Ucred;

pub use oracle::check;
pub use run::{Observed, run};
pub use scenario::{Fault, FrameSpec, Scenario};

/// What the client's kernel reports for it.
pub const CLIENT: Ucred = Ucred::known(4242, 1000, 100);
/// What the server's kernel reports for it.
pub const SERVER: Ucred = Ucred::known(77, 0, 0);
