//! The server side of D-Bus authentication: [`ServerAuth`].

use alloc::string::String;
use alloc::vec::Vec;

use bytes::BufMut;

use super::{
    Authenticated, DEFAULT_MAX_FAILURES, DEFAULT_MAX_LINE, DbusError, Error, Mechanism, hex_encode,
    parse_external, split, take_line,
};
use crate::creds::Credentials;
use crate::error::UsageError;
use crate::event::{Ancillary, Attach, CredentialPolicy, Leftover, Step};
use crate::policy::{CredCheck, SocketCredentials};

/// How a D-Bus server authenticates its clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// The server's guid, sent hex-encoded with `OK` (the core draws no
    /// random numbers: the caller makes it, e.g. from `/dev/urandom`).
    pub guid: [u8; 16],
    /// How the client's kernel credentials are judged.
    pub policy: CredentialPolicy,
    /// Answer `NEGOTIATE_UNIX_FD` with `AGREE_UNIX_FD` (else `ERROR`).
    pub unix_fd: bool,
    /// Offer and accept `ANONYMOUS`.
    pub anonymous: bool,
    /// The longest line accepted, without `\r\n`.
    pub max_line: usize,
    /// How many `REJECTED` / `ERROR` answers before the server closes.
    pub max_failures: u32,
}

impl ServerConfig {
    /// EXTERNAL only, fd passing agreed, the default bounds.
    pub fn new(guid: [u8; 16]) -> Self {
        ServerConfig {
            guid,
            policy: CredentialPolicy::default(),
            unix_fd: true,
            anonymous: false,
            max_line: DEFAULT_MAX_LINE,
            max_failures: DEFAULT_MAX_FAILURES,
        }
    }
}

/// The D-Bus server's authentication state machine.
///
/// Its states, by the names [`state`](ServerAuth::state) gives
/// ([`STATES`](ServerAuth::STATES)), and the lines it answers with:
///
/// ```text
///  await_nul --NUL byte (credentials of its read)--> waiting_for_auth
///  waiting_for_auth  --AUTH EXTERNAL <uid ok>/AUTH ANONYMOUS--> OK <guid>  --> waiting_for_begin
///  waiting_for_auth  --AUTH EXTERNAL (no response)-----------> DATA        --> waiting_for_data
///  waiting_for_auth  --AUTH <bad>/AUTH/ERROR------------------> REJECTED    (failure)
///  waiting_for_data  --DATA [<uid>]---------------------------> OK / REJECTED
///  waiting_for_data  --CANCEL/ERROR---------------------------> REJECTED    --> waiting_for_auth
///  waiting_for_begin --NEGOTIATE_UNIX_FD----------------------> AGREE_UNIX_FD / ERROR
///  waiting_for_begin --CANCEL/ERROR---------------------------> REJECTED    --> waiting_for_auth
///  waiting_for_begin --BEGIN----------------------------------> done (the rest is leftover)
///  any other line: ERROR (failure); BEGIN unauthenticated, garbage,
///  overlong line, fds, EOF, too many failures: failed (no reply)
/// ```
///
/// ```
/// use mon_ipc::dbus::{ServerAuth, ServerConfig};
/// use mon_ipc::{Ancillary, SocketCredentials, Step, Ucred};
/// let me = Ucred::known(42, 1000, 1000);
/// let mut server = ServerAuth::<()>::new(ServerConfig::new([0xab; 16]), SocketCredentials::new(me));
/// let mut out = Vec::new();
/// assert_eq!(server.step(&mut out), Step::NeedInput);
/// server.receive(b"\0AUTH EXTERNAL 31303030\r\nBEGIN\r\nl\x01", Ancillary::with_creds(me)).unwrap();
/// assert!(matches!(server.step(&mut out), Step::Send(_)));
/// assert!(out.starts_with(b"OK abababab"));
/// assert_eq!(server.step(&mut out), Step::Done);
/// let done = server.finish().unwrap();
/// assert_eq!(done.peer.unwrap().uid(), Some(1000));
/// assert_eq!(done.leftover.bytes, b"l\x01");
/// ```
#[derive(Debug)]
pub struct ServerAuth<F> {
    config: ServerConfig,
    state: State<F>,
    check: Option<CredCheck<F>>,
    /// The client's kernel credentials, or why there are none.
    peer: Result<Credentials<F>, DbusError>,
    buf: Vec<u8>,
    /// How far the current line has been scanned.
    scanned: usize,
    eof: bool,
    unix_fd: bool,
    failures: u32,
    last_rejection: Option<DbusError>,
}

#[derive(Debug)]
enum State<F> {
    AwaitNul,
    WaitingForAuth,
    WaitingForData,
    WaitingForBegin(Mechanism),
    Done(Authenticated<F>),
    Failed(Error),
}

/// What one line makes the server do.
enum Answer {
    Ok(Mechanism),
    Reject(DbusError),
    Error(&'static str),
    Data,
    Agree,
    Begin,
}

impl<F> ServerAuth<F> {
    /// A server waiting for the NUL byte. `socket` holds the client's
    /// socket credentials (`SO_PEERCRED`).
    pub fn new(config: ServerConfig, socket: SocketCredentials<F>) -> Self {
        ServerAuth {
            config,
            state: State::AwaitNul,
            check: Some(CredCheck::new(config.policy, socket)),
            peer: Err(DbusError::NoCredentials),
            buf: Vec::new(),
            scanned: 0,
            eof: false,
            unix_fd: false,
            failures: 0,
            last_rejection: None,
        }
    }

    /// Every state's name, in the order of the state diagram of
    /// [`ServerAuth`].
    pub const STATES: &'static [&'static str] = &[
        "await_nul",
        "waiting_for_auth",
        "waiting_for_data",
        "waiting_for_begin",
        "done",
        "failed",
    ];

    /// The current state's name (one of [`STATES`](ServerAuth::STATES)).
    pub fn state(&self) -> &'static str {
        match self.state {
            State::AwaitNul => "await_nul",
            State::WaitingForAuth => "waiting_for_auth",
            State::WaitingForData => "waiting_for_data",
            State::WaitingForBegin(_) => "waiting_for_begin",
            State::Done(_) => "done",
            State::Failed(_) => "failed",
        }
    }

    /// The precise error, once failed.
    pub fn error(&self) -> Option<Error> {
        match self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// `REJECTED` and `ERROR` answers so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Why the last `REJECTED` was sent, if one was.
    pub fn last_rejection(&self) -> Option<DbusError> {
        self.last_rejection
    }

    /// What the server needs next; on `Send`, its answer was appended to `out`.
    /// A failure is sticky; [`error`](ServerAuth::error) gives it again.
    pub fn step(&mut self, out: &mut impl BufMut) -> Step<Error> {
        match self.try_step(out) {
            Ok(step) => step,
            Err(e) => {
                self.state = State::Failed(e);
                Step::Failed(e)
            }
        }
    }

    fn try_step(&mut self, out: &mut impl BufMut) -> Result<Step<Error>, Error> {
        let mech = match &self.state {
            State::AwaitNul if self.eof => return Err(DbusError::Eof.into()),
            State::AwaitNul => return Ok(Step::NeedInput),
            State::Done(_) => return Ok(Step::Done),
            State::Failed(e) => return Err(*e),
            State::WaitingForBegin(m) => Some(*m),
            State::WaitingForAuth | State::WaitingForData => None,
        };
        let Some(line) = take_line(&mut self.buf, &mut self.scanned, self.config.max_line)? else {
            if self.eof {
                return Err(self.last_rejection.unwrap_or(DbusError::Eof).into());
            }
            return Ok(Step::NeedInput);
        };
        let answer = self.answer(&line, mech);
        let mut reply = Vec::new();
        match answer {
            Answer::Begin => {
                let Some(mechanism) = mech else {
                    return Err(DbusError::BeginUnauthenticated.into());
                };
                let peer = match (
                    mechanism,
                    core::mem::replace(&mut self.peer, Err(DbusError::Eof)),
                ) {
                    (Mechanism::External, Ok(p)) => Some(p),
                    _ => None,
                };
                let mut guid = Vec::new();
                hex_encode(&self.config.guid, &mut guid);
                self.state = State::Done(Authenticated {
                    mechanism,
                    guid: String::from_utf8(guid).unwrap_or_default(),
                    unix_fd: self.unix_fd,
                    peer,
                    leftover: Leftover {
                        bytes: core::mem::take(&mut self.buf),
                        fds: Vec::new(),
                        eof: self.eof,
                    },
                });
                return Ok(Step::Done);
            }
            Answer::Ok(m) => {
                reply.extend_from_slice(b"OK ");
                hex_encode(&self.config.guid, &mut reply);
                self.state = State::WaitingForBegin(m);
            }
            Answer::Reject(reason) => {
                self.fail_once()?;
                self.last_rejection = Some(reason);
                reply.extend_from_slice(b"REJECTED EXTERNAL");
                if self.config.anonymous {
                    reply.extend_from_slice(b" ANONYMOUS");
                }
                self.unix_fd = false;
                self.state = State::WaitingForAuth;
            }
            Answer::Error(why) => {
                self.fail_once()?;
                reply.extend_from_slice(b"ERROR \"");
                reply.extend_from_slice(why.as_bytes());
                reply.push(b'"');
            }
            Answer::Data => {
                reply.extend_from_slice(b"DATA");
                self.state = State::WaitingForData;
            }
            Answer::Agree => {
                reply.extend_from_slice(b"AGREE_UNIX_FD");
                self.unix_fd = true;
            }
        }
        reply.extend_from_slice(b"\r\n");
        out.put_slice(&reply);
        Ok(Step::Send(Attach::Nothing))
    }

    fn fail_once(&mut self) -> Result<(), DbusError> {
        self.failures += 1;
        if self.failures > self.config.max_failures {
            return Err(DbusError::TooManyFailures);
        }
        Ok(())
    }

    /// The server's answer to one line, by the specification's state table.
    fn answer(&self, line: &[u8], authed: Option<Mechanism>) -> Answer {
        let (cmd, arg) = split(line);
        let waiting_for_data = matches!(self.state, State::WaitingForData);
        match (cmd, authed) {
            (b"BEGIN", _) => Answer::Begin,
            (b"ERROR", _) => Answer::Reject(DbusError::MechanismRejected),
            (b"CANCEL", Some(_)) => Answer::Reject(DbusError::MechanismRejected),
            (b"CANCEL", None) if waiting_for_data => Answer::Reject(DbusError::MechanismRejected),
            (b"NEGOTIATE_UNIX_FD", Some(_)) if self.config.unix_fd => Answer::Agree,
            (b"NEGOTIATE_UNIX_FD", Some(_)) => Answer::Error("fd passing refused"),
            (b"AUTH", None) if !waiting_for_data => {
                let (mech, resp) = split(arg);
                match mech {
                    b"EXTERNAL" if resp.is_empty() && !arg.ends_with(b" ") => Answer::Data,
                    b"EXTERNAL" => self.external(resp),
                    b"ANONYMOUS" if self.config.anonymous => Answer::Ok(Mechanism::Anonymous),
                    _ => Answer::Reject(DbusError::MechanismRejected),
                }
            }
            (b"DATA", None) if waiting_for_data => self.external(arg),
            _ => Answer::Error("Unknown command"),
        }
    }

    /// EXTERNAL's check: an empty response means "the uid the kernel saw".
    fn external(&self, response: &[u8]) -> Answer {
        let peer = match &self.peer {
            Ok(p) => p,
            Err(e) => return Answer::Reject(*e),
        };
        if response.is_empty() {
            return Answer::Ok(Mechanism::External);
        }
        match parse_external(response) {
            None => Answer::Reject(DbusError::BadResponse),
            Some(uid) if Some(uid) != peer.uid() => Answer::Reject(DbusError::UidMismatch),
            Some(_) => Answer::Ok(Mechanism::External),
        }
    }

    /// One read from the socket: its bytes and ancillary data. The read
    /// that brings the NUL byte must carry the client's credentials (by
    /// the configured policy); fds end the authentication (`dbus_fds`).
    pub fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error> {
        let result = self.on_read(bytes, anc);
        self.settle(result)
    }

    /// The peer closed the connection. Lines already read are still
    /// answered; a `BEGIN` among them still succeeds (leftover `eof`).
    pub fn receive_eof(&mut self) -> Result<(), Error> {
        let result = match self.state {
            State::Done(_) => Err(UsageError::UnexpectedInput.into()),
            _ if self.eof => Err(UsageError::UnexpectedInput.into()),
            _ => {
                self.eof = true;
                Ok(())
            }
        };
        self.settle(result)
    }

    /// After `Done`: the mechanism, the client's credentials and every
    /// byte after `BEGIN\r\n`.
    pub fn finish(self) -> Result<Authenticated<F>, Error> {
        match self.state {
            State::Done(a) => Ok(a),
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
        match self.state {
            State::Done(_) | State::Failed(_) => {
                return Err(UsageError::UnexpectedInput.into());
            }
            _ if self.eof => return Err(UsageError::UnexpectedInput.into()),
            _ => {}
        }
        if anc.ctrunc {
            return Err(DbusError::ControlTruncated.into());
        }
        if !anc.fds.is_empty() {
            return Err(DbusError::Fds.into());
        }
        if bytes.is_empty() {
            return Ok(());
        }
        let bytes = if matches!(self.state, State::AwaitNul) {
            if bytes[0] != 0 {
                return Err(DbusError::NulByte.into());
            }
            if let Some(mut check) = self.check.take() {
                check.piece(anc.creds, anc.pidfd);
                self.peer = check.conclude().map_err(|e| match e {
                    crate::error::PeerError::CredentialsMismatch => DbusError::CredentialsMismatch,
                    _ => DbusError::NoCredentials,
                });
            }
            self.state = State::WaitingForAuth;
            &bytes[1..]
        } else {
            bytes
        };
        self.buf.extend_from_slice(bytes);
        Ok(())
    }
}

impl<F> crate::Handshake<F> for ServerAuth<F> {
    type Output = Authenticated<F>;
    type Error = Error;

    fn step(&mut self, out: &mut impl BufMut) -> Step<Error> {
        ServerAuth::step(self, out)
    }
    fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error> {
        ServerAuth::receive(self, bytes, anc)
    }
    fn receive_eof(&mut self) -> Result<(), Error> {
        ServerAuth::receive_eof(self)
    }
    fn accept(&mut self) -> Result<(), Error> {
        self.settle(Err(UsageError::NoDecisionPending.into()))
    }
    fn deny(&mut self) -> Result<(), Error> {
        self.settle(Err(UsageError::NoDecisionPending.into()))
    }
    fn state(&self) -> &'static str {
        ServerAuth::state(self)
    }
    fn finish(self) -> Result<Authenticated<F>, Error> {
        ServerAuth::finish(self)
    }
}
