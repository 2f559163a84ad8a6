//! One handshake side under arbitrary input and arbitrary call order.
//!
//! Oracle: no panic; at most one 16-byte message out; a failure is sticky
//! (every later step and call reports the first error); every error is one
//! of the core's codes; every fd (hello fds, pidfds) is dropped or delivered
//! exactly once, whatever state the side is left in.

use arbitrary::Arbitrary;
use mon_ipc::{
    CredentialPolicy, Error, Established, Handshake, MessageCredentials, SocketCredentials,
    SocketKind, Step,
};
use mon_ipc_testkit::events::{Call, Event, Ids};
use mon_ipc_testkit::{Fd, Ledger};

/// The configuration and the calls.
#[derive(Arbitrary, Debug, PartialEq)]
pub struct Script {
    pub seqpacket: bool,
    pub mutual: bool,
    pub no_message_creds: bool,
    pub socket: Option<Ids>,
    pub socket_pidfd: bool,
    pub events: Vec<Event>,
}

impl Script {
    /// The socket type.
    pub fn kind(&self) -> SocketKind {
        crate::socket(self.seqpacket)
    }

    /// The credential policy.
    pub fn policy(&self) -> CredentialPolicy {
        CredentialPolicy {
            message: if self.no_message_creds {
                MessageCredentials::Unavailable
            } else {
                MessageCredentials::Required
            },
            ..CredentialPolicy::default()
        }
    }

    /// The peer's socket credentials.
    pub fn socket_creds(&self, ledger: &Ledger) -> SocketCredentials<Fd> {
        SocketCredentials {
            ucred: self.socket.map(Ids::ucred),
            groups: Some(vec![10, 20]),
            pidfd: self.socket_pidfd.then(|| ledger.fd()),
        }
    }
}

/// Drives `side` through the script. `message` builds a correct handshake
/// message for the side's peer; `decide` is called for Accept (true) and
/// Deny (false).
pub fn drive<H: Handshake<Fd, Error = Error, Output = Established<Fd>>>(
    script: &Script,
    ledger: &Ledger,
    mut side: H,
    message: [u8; 16],
    mut decide: impl FnMut(&mut H, bool) -> Result<(), Error>,
) {
    let mut out = Vec::new();
    let mut failed: Option<Error> = None;
    let check = |r: Result<(), Error>, failed: &mut Option<Error>| {
        if let Err(e) = r {
            assert!(Error::all().any(|k| k == e), "unknown error {e:?}");
            if let Some(first) = failed {
                assert_eq!(*first, e, "errors are sticky");
            }
        }
    };
    for ev in &script.events {
        match side.step(&mut out) {
            Step::Failed(e) => {
                check(Err(e), &mut failed);
                failed.get_or_insert(e);
            }
            step => assert!(failed.is_none(), "{step:?} after failing"),
        }
        assert!(out.len() <= 16, "one handshake message at most");
        let r = match ev.call(message, ledger) {
            Call::Receive(bytes, anc) => side.receive(&bytes, anc),
            Call::Eof => side.receive_eof(),
            Call::Step => Ok(()),
            Call::Decide(accept) => decide(&mut side, accept),
        };
        check(r, &mut failed);
    }
    // Whatever the state: finishing and dropping releases every fd.
    match side.finish() {
        Ok(est) => {
            if let Some(peer) = est.peer {
                assert!(
                    peer.uid().is_some() && peer.gid().is_some(),
                    "authenticated nobody"
                );
                drop(peer);
            }
            drop(est.leftover);
        }
        Err(e) => check(Err(e), &mut failed),
    }
    ledger.assert_accounted();
}
