//! One handshake side under arbitrary input and arbitrary call order.
//!
//! Oracle: no panic; at most one 16-byte message out; a failure is sticky
//! (every later step and call reports the first error); every error is one
//! of the core's codes; every fd (hello fds, pidfds) is dropped or delivered
//! exactly once, whatever state the side is left in.

use arbitrary::Arbitrary;
use mon_ipc::{
    Ancillary, CredentialPolicy, Error, Established, Handshake, MessageCredentials,
    SocketCredentials, SocketKind, Step, Ucred,
};

use crate::fd::{Fd, Ledger};

/// A credential triple drawn from a small set, so that agreement,
/// disagreement, unknown and invisible ids all come up often.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
pub struct Ids(pub u8, pub u8, pub u8);

impl Ids {
    /// As the kernel would report it.
    pub fn ucred(self) -> Ucred {
        let id = |x: u8| match x % 5 {
            0 => 65534,
            1 => u32::MAX,
            2 => 0,
            _ => 1000,
        };
        Ucred::from_raw(u32::from(self.0 % 3), id(self.1), id(self.2))
    }
}

/// One call on the state machine.
#[derive(Arbitrary, Debug, PartialEq)]
pub enum Event {
    /// A read with its ancillary data.
    Read {
        bytes: Vec<u8>,
        creds: Option<Ids>,
        pidfd: bool,
        nfds: u8,
        ctrunc: bool,
        trunc: bool,
    },
    /// A correct handshake message (hello or reply) with a byte flipped
    /// when `flip.0` is odd.
    Message {
        flip: (u8, u8, u8),
        creds: Option<Ids>,
    },
    Eof,
    Step,
    Accept,
    Deny,
}

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
        let r = match ev {
            Event::Read {
                bytes,
                creds,
                pidfd,
                nfds,
                ctrunc,
                trunc,
            } => side.receive(
                bytes,
                Ancillary {
                    creds: creds.map(Ids::ucred),
                    pidfd: pidfd.then(|| ledger.fd()),
                    fds: ledger.fds(usize::from(nfds % 5)),
                    ctrunc: *ctrunc,
                    trunc: *trunc,
                },
            ),
            Event::Message { flip, creds } => {
                let mut m = message;
                if flip.0 % 2 == 1 {
                    m[usize::from(flip.1 % 16)] ^= flip.2;
                }
                side.receive(
                    &m,
                    Ancillary {
                        creds: creds.map(Ids::ucred),
                        ..Ancillary::default()
                    },
                )
            }
            Event::Eof => side.receive_eof(),
            Event::Step => Ok(()),
            Event::Accept => decide(&mut side, true),
            Event::Deny => decide(&mut side, false),
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
    ledger.check();
}
