//! The server side of the v1 handshake: [`ServerAuth`].

use bytes::BufMut;

use crate::creds::Credentials;
use crate::error::{Error, PeerError, UsageError};
use crate::established::Established;
use crate::event::{Ancillary, Attach, CredentialPolicy, Leftover, SocketKind, Step};
use crate::handshake::Handshake;
use crate::hello::{self, HELLO_LEN, Hello, Reply, Status, VERSION};
use crate::limits::Limits;
use crate::policy::{CredCheck, SocketCredentials};

/// How a server authenticates clients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerConfig {
    /// What this server accepts per frame; also sent in every reply.
    pub limits: Limits,
    /// The socket type.
    pub socket: SocketKind,
    /// How the client's credentials are judged.
    pub policy: CredentialPolicy,
}

/// The server's handshake state machine. `F` is the fd handle type.
///
/// Its states, by the names [`state`](ServerAuth::state) gives
/// ([`STATES`](ServerAuth::STATES)); `reply(s)` sends a reply of status `s`:
///
/// ```text
///  await_hello --hello ok, creds ok--> decide --accept--> reply(0) --step--> done
///      |                                  |--deny-------> reply(1) --step--> failed(denied)
///      |                                  +--more bytes-> reply(4) --step--> failed(hello_trailing_bytes)
///      |--hello judged bad------------------------------> reply(s) --step--> failed(e)
///      +--EOF before any byte------------------------------------------------> failed(eof_before_hello)
/// ```
///
/// Call order: [`step`](ServerAuth::step) until it says something other
/// than `NeedInput` or `Send`; after `NeedInput` give one read to
/// [`receive`](ServerAuth::receive) (or EOF to
/// [`receive_eof`](ServerAuth::receive_eof)); after `Send` flush the output
/// buffer; on `Decide` look at [`peer`](ServerAuth::peer), then
/// [`accept`](ServerAuth::accept) or [`deny`](ServerAuth::deny). On `Done`,
/// [`finish`](ServerAuth::finish).
///
/// The server answers every hello it can read with a status, then, if the
/// status is not 0, the connection is closed. The checks, in order (the
/// first that fails decides the status;
/// [PROTOCOL.md §3.3](crate::spec#33-the-server) is the normative text):
///
/// 1. fds attached to any read of the hello, or `MSG_CTRUNC` (4, `hello_fds`);
/// 2. EOF after 1 to 15 bytes (4, `hello_short`);
/// 3. on seqpacket, a record that is not exactly 16 bytes (4, `hello_record_size`);
/// 4. magic (4, `hello_bad_magic`);
/// 5. version 0 (2, `hello_unsupported_version`);
/// 6. for a v1 hello, flag bits 1-7 or the reserved field (4, `hello_reserved`);
/// 7. more than 253 fds per frame (4, `hello_limit`);
/// 8. bytes beyond the 16 before the reply is sent (4, `hello_trailing_bytes`);
/// 9. credentials: missing (3, `no_credentials`), then differing (5, `credentials_mismatch`);
/// 10. the caller's decision (1, `denied`).
///
/// ```
/// use mon_ipc::{Ancillary, ServerAuth, ServerConfig, SocketCredentials, Step, Ucred, Attach};
/// let peer = Ucred::known(42, 1000, 1000);
/// let mut server = ServerAuth::<()>::new(ServerConfig::default(), SocketCredentials::new(peer));
/// let mut out = Vec::new();
/// assert_eq!(server.step(&mut out), Step::NeedInput);
/// let hello = [b'M', b'O', b'N', 0, 1, 0, 32, 0, 0, 0, 0, 1, 0, 0, 0, 0];
/// server.receive(&hello, Ancillary::with_creds(peer)).unwrap();
/// assert_eq!(server.step(&mut out), Step::Decide);
/// assert_eq!(server.peer().unwrap().uid(), Some(1000));
/// server.accept().unwrap();
/// assert_eq!(server.step(&mut out), Step::Send(Attach::Nothing));
/// assert_eq!(out[5], 0); // status: accepted
/// assert_eq!(server.step(&mut out), Step::Done);
/// ```
#[derive(Debug)]
pub struct ServerAuth<F> {
    config: ServerConfig,
    state: State<F>,
}

#[derive(Debug)]
enum State<F> {
    AwaitHello(Reading<F>),
    Decide {
        hello: Hello,
        peer: Credentials<F>,
        eof: bool,
    },
    Reply {
        bytes: [u8; HELLO_LEN],
        attach: Attach,
        then: After<F>,
    },
    Done(Established<F>),
    Taken,
    Failed(Error),
}

/// What the server becomes once its reply is flushed.
#[derive(Debug)]
enum After<F> {
    Done(Established<F>),
    Failed(Error),
}

/// The hello as it arrives, with everything the checks need.
#[derive(Debug)]
struct Reading<F> {
    buf: [u8; HELLO_LEN],
    got: usize,
    check: CredCheck<F>,
    fds_seen: bool,
    bad_record: bool,
    trailing: bool,
}

impl<F> ServerAuth<F> {
    /// A server waiting for a hello. `client` holds the socket credentials
    /// the driver read when the connection was accepted.
    pub fn new(config: ServerConfig, client: SocketCredentials<F>) -> Self {
        ServerAuth {
            config,
            state: State::AwaitHello(Reading {
                buf: [0; HELLO_LEN],
                got: 0,
                check: CredCheck::new(config.policy, client),
                fds_seen: false,
                bad_record: false,
                trailing: false,
            }),
        }
    }

    /// What the server needs next; on `Send`, the reply has been appended to `out`.
    pub fn step(&mut self, out: &mut impl BufMut) -> Step {
        match &self.state {
            State::AwaitHello(_) => Step::NeedInput,
            State::Decide { .. } => Step::Decide,
            State::Reply { .. } => {
                let State::Reply {
                    bytes,
                    attach,
                    then,
                } = core::mem::replace(&mut self.state, State::Taken)
                else {
                    return Step::Failed(UsageError::NotFinished.into()); // matched above
                };
                out.put_slice(&bytes);
                self.state = match then {
                    After::Done(est) => State::Done(est),
                    After::Failed(e) => State::Failed(e),
                };
                Step::Send(attach)
            }
            State::Done(_) => Step::Done,
            State::Taken => Step::Failed(UsageError::NotFinished.into()),
            State::Failed(e) => Step::Failed(*e),
        }
    }

    /// One read from the socket: its bytes and ancillary data.
    ///
    /// Returns `Err` only when the server has failed with nothing left to
    /// send. A bad hello is answered: `receive` returns `Ok`, `step` gives
    /// the reply to send, then `Failed`.
    pub fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error> {
        match &mut self.state {
            State::AwaitHello(r) => {
                if anc.ctrunc || !anc.fds.is_empty() {
                    r.fds_seen = true;
                }
                if bytes.is_empty() && !r.fds_seen && anc.creds.is_none() {
                    return Ok(());
                }
                if self.config.socket == SocketKind::Seqpacket
                    && (bytes.len() != HELLO_LEN || anc.trunc)
                {
                    r.bad_record = true;
                }
                let take = (HELLO_LEN - r.got).min(bytes.len());
                r.buf[r.got..r.got + take].copy_from_slice(&bytes[..take]);
                r.got += take;
                r.trailing |= bytes.len() > take;
                r.check.piece(anc.creds, anc.pidfd);
                if r.got == HELLO_LEN || r.bad_record {
                    self.judge(false);
                }
                Ok(())
            }
            State::Decide { hello, .. } => {
                if bytes.is_empty() && anc.fds.is_empty() && !anc.ctrunc {
                    return Ok(());
                }
                let mutual = hello.mutual();
                self.refuse(PeerError::HelloTrailingBytes, mutual);
                Ok(())
            }
            _ => self.fail(UsageError::UnexpectedInput.into()),
        }
    }

    /// The peer closed the connection (a read returned 0).
    pub fn receive_eof(&mut self) -> Result<(), Error> {
        match &mut self.state {
            State::AwaitHello(r) if r.got == 0 => self.fail(PeerError::EofBeforeHello.into()),
            State::AwaitHello(_) => {
                self.judge(true);
                Ok(())
            }
            State::Decide { eof, .. } => {
                *eof = true;
                Ok(())
            }
            _ => self.fail(UsageError::UnexpectedInput.into()),
        }
    }

    /// Every state's name, in the order of the state diagram of
    /// [`ServerAuth`].
    pub const STATES: &'static [&'static str] =
        &["await_hello", "decide", "reply", "done", "failed"];

    /// The current state's name (one of [`STATES`](ServerAuth::STATES)),
    /// for logs, transcripts and vector coverage.
    pub fn state(&self) -> &'static str {
        match self.state {
            State::AwaitHello(_) => "await_hello",
            State::Decide { .. } => "decide",
            State::Reply { .. } => "reply",
            State::Done(_) => "done",
            State::Taken | State::Failed(_) => "failed",
        }
    }

    /// While `Decide`: the authenticated client's credentials.
    pub fn peer(&self) -> Option<&Credentials<F>> {
        match &self.state {
            State::Decide { peer, .. } => Some(peer),
            _ => None,
        }
    }

    /// While `Decide`: the client's credentials, mutable, so that a driver
    /// can drop a pidfd it could not verify before anyone decides on it.
    pub fn peer_mut(&mut self) -> Option<&mut Credentials<F>> {
        match &mut self.state {
            State::Decide { peer, .. } => Some(peer),
            _ => None,
        }
    }

    /// While `Decide`: accept the client. `step` then gives the reply.
    pub fn accept(&mut self) -> Result<(), Error> {
        let State::Decide { .. } = self.state else {
            return self.fail(UsageError::NoDecisionPending.into());
        };
        let State::Decide { hello, peer, eof } = core::mem::replace(&mut self.state, State::Taken)
        else {
            return self.fail(UsageError::NoDecisionPending.into()); // matched above
        };
        let reply = Reply {
            version: hello.version.min(VERSION),
            status: Status::Accepted as u8,
            max_fds: self.config.limits.max_fds().into(),
            max_payload: self.config.limits.max_payload(),
            reserved: 0,
        };
        let client_limits =
            hello::limits_from_wire(hello.max_fds, hello.max_payload).unwrap_or(self.config.limits);
        self.state = State::Reply {
            bytes: reply.to_bytes(),
            attach: attach_for(hello.mutual()),
            then: After::Done(Established {
                version: reply.version,
                limits: self.config.limits.min(client_limits),
                socket: self.config.socket,
                peer: Some(peer),
                leftover: Leftover {
                    eof,
                    ..Leftover::default()
                },
            }),
        };
        Ok(())
    }

    /// While `Decide`: deny the client. `step` then gives the reply with
    /// status 1, then `Failed(denied)`.
    pub fn deny(&mut self) -> Result<(), Error> {
        let State::Decide { hello, .. } = &self.state else {
            return self.fail(UsageError::NoDecisionPending.into());
        };
        let mutual = hello.mutual();
        self.refuse(PeerError::Denied, mutual);
        Ok(())
    }

    /// After `Done`: the client's credentials and the negotiated parameters.
    pub fn finish(self) -> Result<Established<F>, Error> {
        match self.state {
            State::Done(est) => Ok(est),
            State::Failed(e) => Err(e),
            _ => Err(UsageError::NotFinished.into()),
        }
    }

    fn fail(&mut self, e: Error) -> Result<(), Error> {
        if let State::Failed(sticky) = self.state {
            return Err(sticky);
        }
        self.state = State::Failed(e);
        Err(e)
    }

    /// Queues a reply with the status for `e`, then `Failed(e)`.
    fn refuse(&mut self, e: PeerError, mutual: bool) {
        let status = e.status().unwrap_or(Status::Malformed);
        let reply = Reply {
            version: VERSION,
            status: status as u8,
            max_fds: self.config.limits.max_fds().into(),
            max_payload: self.config.limits.max_payload(),
            reserved: 0,
        };
        self.state = State::Reply {
            bytes: reply.to_bytes(),
            attach: attach_for(mutual),
            then: After::Failed(e.into()),
        };
    }

    /// The hello is complete (or can never be): apply checks 1-9.
    fn judge(&mut self, eof: bool) {
        let State::AwaitHello(r) = core::mem::replace(&mut self.state, State::Taken) else {
            return; // judge is called in AwaitHello only
        };
        // PROTOCOL.md 3.2: with flag bit 0 set the server attaches its own
        // credentials to the reply, whatever the status. Bit 0 counts as set
        // once the first six bytes show our magic and a flags byte with
        // bit 0, even when the hello is refused for what came with it or
        // after.
        let mutual = r.got >= 6 && r.buf[..4] == hello::MAGIC && r.buf[5] & hello::FLAG_MUTUAL != 0;
        let early = if r.fds_seen {
            Some(PeerError::HelloFds)
        } else if r.got < HELLO_LEN && eof {
            Some(PeerError::HelloShort)
        } else if r.bad_record {
            Some(PeerError::HelloRecordSize)
        } else {
            None
        };
        if let Some(e) = early {
            return self.refuse(e, mutual);
        }
        let hello = match Hello::parse(&r.buf) {
            Ok(h) => h,
            Err(_) => return self.refuse(PeerError::HelloBadMagic, false),
        };
        let late = if hello.version == 0 {
            Some(PeerError::HelloUnsupportedVersion)
        } else if hello.version == VERSION
            && (hello.flags & !hello::FLAG_MUTUAL != 0 || hello.reserved != 0)
        {
            Some(PeerError::HelloReserved)
        } else if hello::limits_from_wire(hello.max_fds, hello.max_payload).is_err() {
            Some(PeerError::HelloLimit)
        } else if r.trailing {
            Some(PeerError::HelloTrailingBytes)
        } else {
            None
        };
        if let Some(e) = late {
            return self.refuse(e, mutual);
        }
        match r.check.conclude() {
            Ok(peer) => self.state = State::Decide { hello, peer, eof },
            Err(e) => self.refuse(e, mutual),
        }
    }
}

fn attach_for(mutual: bool) -> Attach {
    if mutual {
        Attach::OwnCredentials
    } else {
        Attach::Nothing
    }
}

impl<F> Handshake<F> for ServerAuth<F> {
    type Output = Established<F>;
    type Error = Error;

    fn step(&mut self, out: &mut impl BufMut) -> Step {
        ServerAuth::step(self, out)
    }
    fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error> {
        ServerAuth::receive(self, bytes, anc)
    }
    fn receive_eof(&mut self) -> Result<(), Error> {
        ServerAuth::receive_eof(self)
    }
    fn peer(&self) -> Option<&Credentials<F>> {
        ServerAuth::peer(self)
    }
    fn accept(&mut self) -> Result<(), Error> {
        ServerAuth::accept(self)
    }
    fn deny(&mut self) -> Result<(), Error> {
        ServerAuth::deny(self)
    }
    fn state(&self) -> &'static str {
        ServerAuth::state(self)
    }
    fn finish(self) -> Result<Established<F>, Error> {
        ServerAuth::finish(self)
    }
}
