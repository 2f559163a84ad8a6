//! `server_auth`: arbitrary bytes, credentials, fds, EOF and decisions into
//! the server side of the handshake. Oracle: see [`crate::handshake`].

use mon_ipc::hello::Hello;
use mon_ipc::{Limits, ServerAuth, ServerConfig};

use crate::fd::Ledger;
use crate::handshake::{Script, drive};

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
    let hello = Hello::new(Limits::default(), input.mutual);
    drive(input, &ledger, server, hello.to_bytes(), |s, accept| {
        if accept { s.accept() } else { s.deny() }
    });
}
