//! `client_auth`: arbitrary bytes, credentials, fds and EOF into the
//! client side of the handshake. Oracle: see [`crate::handshake`].

use mon_ipc::{ClientAuth, ClientConfig};
use mon_ipc_testkit::wire;

use crate::handshake::{Script, drive};
use mon_ipc_testkit::Ledger;

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
    let reply = wire::reply(1, 0, 16, 4096);
    // A client has no decision to take: Accept and Deny do nothing.
    drive(input, &ledger, client, reply, |_, _| Ok(()));
}
