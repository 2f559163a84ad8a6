//! `client_auth`: arbitrary bytes, credentials, fds and EOF into the
//! client side of the handshake. Oracle: see [`crate::handshake`].

use mon_ipc::hello::Reply;
use mon_ipc::{ClientAuth, ClientConfig};

use crate::fd::Ledger;
use crate::handshake::{Script, drive};

/// The input.
pub type Input = Script;

/// Runs one input.
pub fn run(input: &Input) {
    let ledger = Ledger::default();
    let config = ClientConfig {
        mutual: input.mutual,
        socket: input.kind(),
        policy: input.policy(),
        ..ClientConfig::default()
    };
    let client = ClientAuth::new(config, input.socket_creds(&ledger));
    let reply = Reply {
        version: 1,
        status: 0,
        max_fds: 16,
        max_payload: 4096,
        reserved: 0,
    };
    // A client has no decision to take: Accept and Deny do nothing.
    drive(input, &ledger, client, reply.to_bytes(), |_, _| Ok(()));
}
