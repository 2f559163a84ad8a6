//! The calls a fuzzer or a property test drives one handshake side with,
//! as an `Arbitrary` model: `fuzz`'s `client_auth` / `server_auth` targets
//! and `protocol/tests/bad_input.rs` draw the same events.

use arbitrary::Arbitrary;
use mon_ipc::hello::HELLO_LEN;
use mon_ipc::{Ancillary, Ucred};

use crate::fd::{Fd, Ledger};

/// A credential triple drawn from a small set, so that agreement,
/// disagreement, unknown and invisible ids all come up often.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
pub struct Ids(pub u8, pub u8, pub u8);

impl Ids {
    /// As the kernel would report it: pid 0 to 2; uid and gid each the
    /// overflow id (65534), unknown (`u32::MAX`), root or 1000.
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
        /// The bytes read.
        bytes: Vec<u8>,
        /// `SCM_CREDENTIALS`.
        creds: Option<Ids>,
        /// `SCM_PIDFD`.
        pidfd: bool,
        /// `nfds % 5` fds.
        nfds: u8,
        /// `MSG_CTRUNC`.
        ctrunc: bool,
        /// `MSG_TRUNC`.
        trunc: bool,
    },
    /// A correct handshake message (hello or reply) with a byte flipped
    /// when `flip.0` is odd: byte `flip.1 % 16`, xor `flip.2`.
    Message {
        /// (odd: flip, offset, xor).
        flip: (u8, u8, u8),
        /// `SCM_CREDENTIALS`.
        creds: Option<Ids>,
    },
    /// End of file.
    Eof,
    /// Only the `step` every event is preceded by.
    Step,
    /// The server's caller accepts (nothing on a client).
    Accept,
    /// The server's caller denies (nothing on a client).
    Deny,
}

/// An event as the call to make, with its fds minted.
#[derive(Debug)]
pub enum Call {
    /// `receive(bytes, ancillary)`.
    Receive(Vec<u8>, Ancillary<Fd>),
    /// `receive_eof()`.
    Eof,
    /// Nothing but the `step`.
    Step,
    /// The server's decision: accept (`true`) or deny.
    Decide(bool),
}

impl Event {
    /// The call this event makes on a side whose peer's correct
    /// handshake message is `message`, minting its fds from `ledger`.
    pub fn call(&self, message: [u8; HELLO_LEN], ledger: &Ledger) -> Call {
        match self {
            Event::Read {
                bytes,
                creds,
                pidfd,
                nfds,
                ctrunc,
                trunc,
            } => Call::Receive(
                bytes.clone(),
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
                let anc = Ancillary {
                    creds: creds.map(Ids::ucred),
                    ..Ancillary::default()
                };
                Call::Receive(m.to_vec(), anc)
            }
            Event::Eof => Call::Eof,
            Event::Step => Call::Step,
            Event::Accept => Call::Decide(true),
            Event::Deny => Call::Decide(false),
        }
    }
}
