//! The client side of the v1 handshake: [`ClientAuth`].

use bytes::BufMut;

use crate::error::{Error, PeerError, UsageError};
use crate::established::Established;
use crate::event::{Ancillary, Attach, CredentialPolicy, Leftover, SocketKind, Step};
use crate::handshake::Handshake;
use crate::hello::{self, HELLO_LEN, Hello, Reply, Status, VERSION};
use crate::limits::Limits;
use crate::policy::{CredCheck, SocketCredentials};

/// How a client authenticates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientConfig {
    /// What this client accepts per frame.
    pub limits: Limits,
    /// Ask the server to attach its credentials to the reply, and judge them
    /// with the same policy the server applies to us.
    pub mutual: bool,
    /// The socket type.
    pub socket: SocketKind,
    /// How the server's credentials are judged when `mutual` is set.
    pub policy: CredentialPolicy,
}

/// The client's handshake state machine. `F` is the fd handle type.
///
/// Its states, by the names [`state`](ClientAuth::state) gives
/// ([`STATES`](ClientAuth::STATES)):
///
/// ```text
///  send_hello --step: Send(OwnCredentials)--> await_reply --reply ok--> done
///                                                 |
///                                                 +--bad reply / refused / EOF--> failed
/// ```
///
/// Call order: [`step`](ClientAuth::step) until it says something other
/// than `NeedInput` or `Send`; after `NeedInput` give one read to
/// [`receive`](ClientAuth::receive) (or EOF to
/// [`receive_eof`](ClientAuth::receive_eof)); after `Send` flush the output
/// buffer. On `Done`, [`finish`](ClientAuth::finish).
///
/// The reply is judged in the order of
/// [PROTOCOL.md §3.4](crate::spec#34-the-client): per
/// read, `MSG_CTRUNC`, the seqpacket record size, fds in a read that does
/// not complete the reply, EOF; once 16 bytes are in, the magic, the
/// reserved field, the status, the limit, a refusal, the version, fds with
/// no frame header after the reply, then (mutual only) the server's
/// credentials.
///
/// ```
/// use mon_ipc::{Ancillary, ClientAuth, ClientConfig, SocketCredentials, Step, Attach};
/// let mut client = ClientAuth::<()>::new(ClientConfig::default(), SocketCredentials::default());
/// let mut out = Vec::new();
/// assert_eq!(client.step(&mut out), Step::Send(Attach::OwnCredentials));
/// assert_eq!(&out[..4], b"MON\0");
/// assert_eq!(client.step(&mut out), Step::NeedInput);
/// // The server's reply: accepted, version 1, 32 fds, 16 MiB.
/// let reply = [b'M', b'O', b'N', 0, 1, 0, 32, 0, 0, 0, 0, 1, 0, 0, 0, 0];
/// client.receive(&reply, Ancillary::default()).unwrap();
/// assert_eq!(client.step(&mut out), Step::Done);
/// assert_eq!(client.finish().unwrap().limits.max_fds(), 32);
/// ```
#[derive(Debug)]
pub struct ClientAuth<F> {
    config: ClientConfig,
    state: State<F>,
    /// The server's highest version, from a status-2 reply.
    server_version: Option<u8>,
}

#[derive(Debug)]
enum State<F> {
    SendHello(CredCheck<F>),
    AwaitReply {
        buf: [u8; HELLO_LEN],
        got: usize,
        check: CredCheck<F>,
    },
    Done(Established<F>),
    Taken,
    Failed(Error),
}

impl<F> ClientAuth<F> {
    /// A client about to send its hello. `server` holds the server's socket
    /// credentials; they matter only for mutual authentication.
    pub fn new(config: ClientConfig, server: SocketCredentials<F>) -> Self {
        ClientAuth {
            config,
            state: State::SendHello(CredCheck::new(config.policy, server)),
            server_version: None,
        }
    }

    /// What the client needs next; on `Send`, the hello has been appended to `out`.
    pub fn step(&mut self, out: &mut impl BufMut) -> Step {
        match &self.state {
            State::SendHello(_) => {
                let State::SendHello(check) = core::mem::replace(&mut self.state, State::Taken)
                else {
                    return Step::Failed(UsageError::NotFinished.into()); // matched above
                };
                out.put_slice(&Hello::new(self.config.limits, self.config.mutual).to_bytes());
                self.state = State::AwaitReply {
                    buf: [0; HELLO_LEN],
                    got: 0,
                    check,
                };
                Step::Send(Attach::OwnCredentials)
            }
            State::AwaitReply { .. } => Step::NeedInput,
            State::Done(_) => Step::Done,
            State::Taken => Step::Failed(UsageError::NotFinished.into()),
            State::Failed(e) => Step::Failed(*e),
        }
    }

    /// One read from the socket: its bytes and ancillary data.
    ///
    /// Returns the sticky error if the client has failed. Bytes beyond the
    /// reply, and the fds of the read that completes it, are kept for the
    /// message channel ([`Established::leftover`]).
    pub fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error> {
        let result = self.on_read(bytes, anc);
        self.settle(result)
    }

    /// The peer closed the connection (a read returned 0).
    pub fn receive_eof(&mut self) -> Result<(), Error> {
        let result = match self.state {
            State::AwaitReply { .. } => Err(PeerError::ReplyShort.into()),
            _ => Err(UsageError::UnexpectedInput.into()),
        };
        self.settle(result)
    }

    /// Every state's name, in the order of the state diagram of
    /// [`ClientAuth`].
    pub const STATES: &'static [&'static str] = &["send_hello", "await_reply", "done", "failed"];

    /// The current state's name (one of [`STATES`](ClientAuth::STATES)),
    /// for logs, transcripts and vector coverage.
    pub fn state(&self) -> &'static str {
        match self.state {
            State::SendHello(_) => "send_hello",
            State::AwaitReply { .. } => "await_reply",
            State::Done(_) => "done",
            State::Taken | State::Failed(_) => "failed",
        }
    }

    /// The server's highest version, if it answered "unsupported version".
    pub fn server_version(&self) -> Option<u8> {
        self.server_version
    }

    /// After `Done`: the negotiated parameters, the server's credentials (if
    /// mutual) and the leftover input for the channel.
    pub fn finish(self) -> Result<Established<F>, Error> {
        match self.state {
            State::Done(est) => Ok(est),
            State::Failed(e) => Err(e),
            _ => Err(UsageError::NotFinished.into()),
        }
    }

    fn settle(&mut self, result: Result<(), Error>) -> Result<(), Error> {
        if let State::Failed(e) = self.state {
            return Err(e);
        }
        if let Err(e) = result {
            self.state = State::Failed(e);
        }
        result
    }

    fn on_read(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error> {
        let State::AwaitReply { buf, got, check } = &mut self.state else {
            return Err(UsageError::UnexpectedInput.into());
        };
        if anc.ctrunc {
            return Err(PeerError::ControlTruncated.into());
        }
        if bytes.is_empty() && anc.fds.is_empty() && anc.creds.is_none() {
            return Ok(());
        }
        let take = (HELLO_LEN - *got).min(bytes.len());
        buf[*got..*got + take].copy_from_slice(&bytes[..take]);
        *got += take;
        let rest = &bytes[take..];
        if self.config.mutual {
            check.piece(anc.creds, anc.pidfd);
        }
        if self.config.socket == SocketKind::Seqpacket && (bytes.len() != HELLO_LEN || anc.trunc) {
            return Err(PeerError::ReplyRecordSize.into());
        }
        if *got < HELLO_LEN {
            if !anc.fds.is_empty() {
                return Err(PeerError::FdsWithoutFrame.into());
            }
            return Ok(());
        }
        let reply = *buf;
        let State::AwaitReply { check, .. } = core::mem::replace(&mut self.state, State::Taken)
        else {
            return Err(UsageError::UnexpectedInput.into()); // matched above
        };
        let (version, limits) = self.judge(&reply)?;
        // The read that completed the reply: its fds belong to the last frame
        // header beginning in it (PROTOCOL 4.4). With no byte after the reply
        // (always so on seqpacket, where the reply is a record of its own)
        // there is none.
        if rest.is_empty() && !anc.fds.is_empty() {
            return Err(PeerError::FdsWithoutFrame.into());
        }
        let peer = if self.config.mutual {
            Some(check.conclude()?)
        } else {
            None
        };
        self.state = State::Done(Established {
            version,
            limits: self.config.limits.min(limits),
            socket: self.config.socket,
            peer,
            leftover: Leftover {
                bytes: rest.into(),
                fds: anc.fds,
                eof: false,
            },
        });
        Ok(())
    }

    /// Checks the reply, in the order
    /// [PROTOCOL.md §3.4](crate::spec#34-the-client) gives.
    fn judge(&mut self, m: &[u8; HELLO_LEN]) -> Result<(u8, Limits), PeerError> {
        let reply = Reply::parse(m).map_err(|_| PeerError::ReplyBadMagic)?;
        if reply.reserved != 0 {
            return Err(PeerError::ReplyReserved);
        }
        let status = Status::from_byte(reply.status).ok_or(PeerError::ReplyBadStatus)?;
        let limits = hello::limits_from_wire(reply.max_fds, reply.max_payload)
            .map_err(|_| PeerError::ReplyLimit)?;
        match status {
            Status::Accepted => {}
            Status::Denied => return Err(PeerError::RefusedDenied),
            Status::UnsupportedVersion => {
                self.server_version = Some(reply.version);
                return Err(PeerError::RefusedVersion);
            }
            Status::NoCredentials => return Err(PeerError::RefusedNoCredentials),
            Status::Malformed => return Err(PeerError::RefusedMalformed),
            Status::CredentialsMismatch => return Err(PeerError::RefusedCredentialsMismatch),
        }
        if reply.version == 0 || reply.version > VERSION {
            return Err(PeerError::ReplyBadVersion);
        }
        Ok((reply.version, limits))
    }
}

impl<F> Handshake<F> for ClientAuth<F> {
    type Output = Established<F>;
    type Error = Error;

    fn step(&mut self, out: &mut impl BufMut) -> Step {
        ClientAuth::step(self, out)
    }
    fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error> {
        ClientAuth::receive(self, bytes, anc)
    }
    fn receive_eof(&mut self) -> Result<(), Error> {
        ClientAuth::receive_eof(self)
    }
    fn accept(&mut self) -> Result<(), Error> {
        self.settle(Err(UsageError::NoDecisionPending.into()))
    }
    fn deny(&mut self) -> Result<(), Error> {
        self.settle(Err(UsageError::NoDecisionPending.into()))
    }
    fn state(&self) -> &'static str {
        ClientAuth::state(self)
    }
    fn finish(self) -> Result<Established<F>, Error> {
        ClientAuth::finish(self)
    }
}
