//! The client side of D-Bus authentication: [`ClientAuth`].

use alloc::string::String;
use alloc::vec::Vec;

use bytes::BufMut;

use super::{
    Authenticated, DEFAULT_MAX_LINE, DbusError, Error, Mechanism, external_response, split,
    take_line,
};
use crate::error::UsageError;
use crate::event::{Ancillary, Attach, Leftover, Step};

/// The mechanism a client tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientMechanism {
    /// `EXTERNAL`: with `Some(uid)` the uid is sent as the initial response
    /// (the driver gives the effective uid); with `None` no initial
    /// response is sent and the empty `DATA` challenge is answered with an
    /// empty `DATA` ("whatever the kernel says I am").
    External {
        /// The uid to claim.
        uid: Option<u32>,
    },
    /// `ANONYMOUS`, with no trace information.
    Anonymous,
}

/// How a D-Bus client authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// The mechanism to try.
    pub mechanism: ClientMechanism,
    /// Send `NEGOTIATE_UNIX_FD` after `OK`.
    pub unix_fd: bool,
    /// Fail with `dbus_unix_fd_refused` if the server refuses fd passing
    /// (otherwise go on without it).
    pub require_unix_fd: bool,
    /// The longest line accepted, without `\r\n`.
    pub max_line: usize,
}

impl ClientConfig {
    /// `EXTERNAL` claiming `uid`, asking for fd passing (not requiring it).
    pub fn external(uid: u32) -> Self {
        ClientConfig {
            mechanism: ClientMechanism::External { uid: Some(uid) },
            ..ClientConfig::default()
        }
    }
}

impl Default for ClientConfig {
    /// `EXTERNAL` without an initial response, asking for fd passing.
    fn default() -> Self {
        ClientConfig {
            mechanism: ClientMechanism::External { uid: None },
            unix_fd: true,
            require_unix_fd: false,
            max_line: DEFAULT_MAX_LINE,
        }
    }
}

/// The D-Bus client's authentication state machine.
///
/// Its states, by the names [`state`](ClientAuth::state) gives
/// ([`STATES`](ClientAuth::STATES)), and the lines it sends:
///
/// ```text
///  send_auth --Send(OwnCredentials): NUL, AUTH--> await_auth
///  await_auth --OK <guid>--> send_negotiate (if unix_fd) or send_begin
///  await_auth --DATA (empty, first time)--> send_data --DATA--> await_auth
///  await_auth --DATA <challenge> / ERROR--> send_cancel --CANCEL--> await_reject --REJECTED--> failed(dbus_rejected)
///  await_auth --REJECTED <mechanisms>--> failed(dbus_rejected)
///  send_negotiate --NEGOTIATE_UNIX_FD--> await_agree --AGREE_UNIX_FD / ERROR--> send_begin
///  send_begin --BEGIN--> done
///  anything else, garbage, overlong line, fds, EOF: failed
/// ```
///
/// ```
/// use mon_ipc::dbus::{ClientAuth, ClientConfig, ClientMechanism};
/// use mon_ipc::{Ancillary, Attach, Step};
/// let mut client = ClientAuth::<()>::new(ClientConfig::external(1000));
/// let mut out = Vec::new();
/// assert_eq!(client.step(&mut out), Step::Send(Attach::OwnCredentials));
/// assert_eq!(out, b"\0AUTH EXTERNAL 31303030\r\n");
/// out.clear();
/// assert_eq!(client.step(&mut out), Step::NeedInput);
/// client.receive(b"OK 0123456789abcdef0123456789abcdef\r\n", Ancillary::default()).unwrap();
/// assert_eq!(client.step(&mut out), Step::Send(Attach::Nothing));
/// assert_eq!(out, b"NEGOTIATE_UNIX_FD\r\n");
/// out.clear();
/// assert_eq!(client.step(&mut out), Step::NeedInput);
/// client.receive(b"AGREE_UNIX_FD\r\n", Ancillary::default()).unwrap();
/// assert_eq!(client.step(&mut out), Step::Send(Attach::Nothing));
/// assert_eq!(out, b"BEGIN\r\n");
/// assert_eq!(client.step(&mut out), Step::Done);
/// let done = client.finish().unwrap();
/// assert!(done.unix_fd);
/// assert_eq!(done.guid, "0123456789abcdef0123456789abcdef");
/// ```
#[derive(Debug)]
pub struct ClientAuth<F> {
    config: ClientConfig,
    state: State<F>,
    buf: Vec<u8>,
    /// How far the current line has been scanned.
    scanned: usize,
    eof: bool,
    guid: String,
    unix_fd: bool,
    data_sent: bool,
    mechanisms: Option<String>,
}

#[derive(Debug)]
enum State<F> {
    SendAuth,
    AwaitAuth,
    SendData,
    SendCancel,
    AwaitReject,
    SendNegotiate,
    AwaitAgree,
    SendBegin,
    Done(Authenticated<F>),
    Failed(Error),
}

impl<F> ClientAuth<F> {
    /// A client about to send the NUL byte and `AUTH`.
    pub fn new(config: ClientConfig) -> Self {
        ClientAuth {
            config,
            state: State::SendAuth,
            buf: Vec::new(),
            scanned: 0,
            eof: false,
            guid: String::new(),
            unix_fd: false,
            data_sent: false,
            mechanisms: None,
        }
    }

    /// Every state's name, in the order of the state diagram of
    /// [`ClientAuth`].
    pub const STATES: &'static [&'static str] = &[
        "send_auth",
        "await_auth",
        "send_data",
        "send_cancel",
        "await_reject",
        "send_negotiate",
        "await_agree",
        "send_begin",
        "done",
        "failed",
    ];

    /// The current state's name (one of [`STATES`](ClientAuth::STATES)).
    pub fn state(&self) -> &'static str {
        match self.state {
            State::SendAuth => "send_auth",
            State::AwaitAuth => "await_auth",
            State::SendData => "send_data",
            State::SendCancel => "send_cancel",
            State::AwaitReject => "await_reject",
            State::SendNegotiate => "send_negotiate",
            State::AwaitAgree => "await_agree",
            State::SendBegin => "send_begin",
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

    /// The mechanisms the server listed in its `REJECTED`, if it sent one.
    pub fn mechanisms(&self) -> Option<&str> {
        self.mechanisms.as_deref()
    }

    /// What the client needs next; on `Send`, its line was appended to
    /// `out` (the first one with the NUL byte before it). A failure is
    /// sticky; [`error`](ClientAuth::error) gives it again.
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
        loop {
            let (line, next): (&[u8], State<F>) = match &self.state {
                State::SendAuth => {
                    out.put_u8(0);
                    match self.config.mechanism {
                        ClientMechanism::External { uid: Some(uid) } => {
                            out.put_slice(b"AUTH EXTERNAL ");
                            out.put_slice(&external_response(uid));
                        }
                        ClientMechanism::External { uid: None } => {
                            out.put_slice(b"AUTH EXTERNAL");
                        }
                        ClientMechanism::Anonymous => out.put_slice(b"AUTH ANONYMOUS"),
                    }
                    out.put_slice(b"\r\n");
                    self.state = State::AwaitAuth;
                    return Ok(Step::Send(Attach::OwnCredentials));
                }
                State::SendData => {
                    self.data_sent = true;
                    (b"DATA", State::AwaitAuth)
                }
                State::SendCancel => (b"CANCEL", State::AwaitReject),
                State::SendNegotiate => (b"NEGOTIATE_UNIX_FD", State::AwaitAgree),
                State::SendBegin => {
                    let mechanism = match self.config.mechanism {
                        ClientMechanism::Anonymous => Mechanism::Anonymous,
                        ClientMechanism::External { .. } => Mechanism::External,
                    };
                    let done = Authenticated {
                        mechanism,
                        guid: core::mem::take(&mut self.guid),
                        unix_fd: self.unix_fd,
                        peer: None,
                        leftover: Leftover {
                            bytes: core::mem::take(&mut self.buf),
                            fds: Vec::new(),
                            eof: self.eof,
                        },
                    };
                    (b"BEGIN", State::Done(done))
                }
                State::AwaitAuth | State::AwaitReject | State::AwaitAgree => {
                    let max = self.config.max_line;
                    let Some(line) = take_line(&mut self.buf, &mut self.scanned, max)? else {
                        if self.eof {
                            return Err(DbusError::Eof.into());
                        }
                        return Ok(Step::NeedInput);
                    };
                    self.state = self.on_line(&line)?;
                    continue;
                }
                State::Done(_) => return Ok(Step::Done),
                State::Failed(e) => return Err(*e),
            };
            out.put_slice(line);
            out.put_slice(b"\r\n");
            self.state = next;
            return Ok(Step::Send(Attach::Nothing));
        }
    }

    /// The next state after one line from the server.
    fn on_line(&mut self, line: &[u8]) -> Result<State<F>, DbusError> {
        let (cmd, arg) = split(line);
        match (&self.state, cmd) {
            (State::AwaitAuth | State::AwaitReject, b"REJECTED") => {
                self.mechanisms = Some(String::from_utf8_lossy(arg).into_owned());
                Err(DbusError::Rejected)
            }
            (State::AwaitAuth, b"OK") => {
                if arg.len() != 32 || !arg.iter().all(u8::is_ascii_hexdigit) {
                    return Err(DbusError::BadGuid);
                }
                self.guid = String::from_utf8_lossy(arg).to_ascii_lowercase();
                Ok(if self.config.unix_fd {
                    State::SendNegotiate
                } else {
                    State::SendBegin
                })
            }
            (State::AwaitAuth, b"DATA")
                if arg.is_empty()
                    && !self.data_sent
                    && self.config.mechanism == (ClientMechanism::External { uid: None }) =>
            {
                Ok(State::SendData)
            }
            (State::AwaitAuth, b"DATA" | b"ERROR") => Ok(State::SendCancel),
            (State::AwaitAgree, b"AGREE_UNIX_FD") => {
                self.unix_fd = true;
                Ok(State::SendBegin)
            }
            (State::AwaitAgree, b"ERROR") if self.config.require_unix_fd => {
                Err(DbusError::UnixFdRefused)
            }
            (State::AwaitAgree, b"ERROR") => Ok(State::SendBegin),
            _ => Err(DbusError::UnexpectedReply),
        }
    }

    /// One read from the socket. Fds end the authentication (`dbus_fds`).
    pub fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error> {
        let result = self.on_read(bytes, anc);
        self.settle(result)
    }

    /// The peer closed the connection.
    pub fn receive_eof(&mut self) -> Result<(), Error> {
        let result = match self.state {
            State::AwaitAuth | State::AwaitReject | State::AwaitAgree if !self.eof => {
                self.eof = true;
                Ok(())
            }
            _ => Err(UsageError::UnexpectedInput.into()),
        };
        self.settle(result)
    }

    /// After `Done`: the server's guid, whether fds may be passed, and any
    /// byte that came after the last line the client expected.
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
        if !matches!(
            self.state,
            State::AwaitAuth | State::AwaitReject | State::AwaitAgree
        ) || self.eof
        {
            return Err(UsageError::UnexpectedInput.into());
        }
        if anc.ctrunc {
            return Err(DbusError::ControlTruncated.into());
        }
        if !anc.fds.is_empty() {
            return Err(DbusError::Fds.into());
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }
}

impl<F> crate::Handshake<F> for ClientAuth<F> {
    type Output = Authenticated<F>;
    type Error = Error;

    fn step(&mut self, out: &mut impl BufMut) -> Step<Error> {
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
    fn finish(self) -> Result<Authenticated<F>, Error> {
        ClientAuth::finish(self)
    }
}
