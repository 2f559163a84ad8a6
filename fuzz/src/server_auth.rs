//! `server_auth`: arbitrary bytes, credentials, fds, EOF and decisions into
//! the server side of the handshake. Oracle: see [`crate::handshake`].

use mon_ipc::{ServerAuth, ServerConfig};
use mon_ipc_testkit::wire;

use crate::handshake::{Script, drive};
use mon_ipc_testkit::Ledger;

/// The input.
pub type Input = Script;

/// Runs one input.
pub fn run(input: &Input) {
    let ledger = Ledger::default();
    let config = ServerConfig {
        socket: input.kind(),
        policy: input.policy(),
        ..ServerConfig::default()
    };
    let server = ServerAuth::new(config, input.socket_creds(&ledger));
    let hello = wire::hello(input.mutual);
    drive(input, &ledger, server, hello, |s, accept| {
        if accept { s.accept() } else { s.deny() }
    });
}
