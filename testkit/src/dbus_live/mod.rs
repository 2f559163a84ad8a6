//! The D-Bus vectors against live implementations over real sockets
//! (docs/VECTORS.md "Live runs", docs/DBUS.md "Vectors against live
//! implementations"): the server-role cases by our scripted client against
//! a running server ([`against_server::run`], many connections to one
//! server), the client-role cases by our scripted server against one
//! client process per case ([`against_client::run`]). Each case is graded
//! by its vector's `live` rules: PASSED, NOTE (a choice differs), FAILED
//! (a requirement, with the bytes), or N/A (with the reason). [`matrix`]
//! runs a role against a list of implementations and checks the FAILED
//! ones against the known deviations.

pub mod against_client;
pub mod against_server;
mod lines;
pub mod matrix;
mod report;
mod wire;

pub use report::{CaseReport, Counts, Grade, Side, escaped};
