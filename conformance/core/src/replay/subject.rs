//! The implementation under test, as the replay sees it.
//!
//! The replay (`replay/script.rs`, `replay/decoder.rs`, `replay/encoder.rs`)
//! drives these traits and nothing else, so that the same rules judge the
//! in-tree core ([`super::InTree`], called directly) and any other
//! implementation (`replay --exec`, which speaks the JSON-lines protocol of
//! docs/VECTORS.md to a child process). Everything crossing them is in the
//! vectors' terms: symbolic fds as [`Fd`] tokens of the case's ledger,
//! credentials as [`Creds`], error codes as their names.

use crate::Fd;
use crate::chunking::Plan;
use crate::model::{
    Config, Creds, DbusOutcome, Decision, FrameKind, MisuseCall, Push, Role, Shm, TestCase,
    WireLimits,
};

/// An error code, as the implementation names it (PROTOCOL.md section 5).
pub type Code = String;

/// Why a call did not give an answer the replay can judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The case fails, for this reason: a disagreement with the case, or an
    /// implementation that crashed, hung or answered nonsense.
    Failed(String),
    /// The implementation does not implement what the case needs, for this
    /// reason: the case is reported `UNIMPLEMENTED`, neither passed nor failed.
    Unimplemented(String),
}

impl From<String> for Stop {
    fn from(reason: String) -> Self {
        Stop::Failed(reason)
    }
}

impl From<&str> for Stop {
    fn from(reason: &str) -> Self {
        Stop::Failed(reason.to_owned())
    }
}

/// The answer to one call.
pub type Answer<T> = Result<T, Stop>;

/// What a state machine is made for: the implementation needs the role
/// and the configuration (and the in-tree core the plan, to alternate its
/// entry points); the rest names the case to a program under test.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// The role of the case's group.
    pub role: Role,
    /// The group's configuration.
    pub config: &'a Config,
    /// How the inputs are cut in this run.
    pub plan: Plan,
    /// The case's id.
    pub tc_id: u32,
    /// The case's name.
    pub name: &'a str,
    /// The case's flags.
    pub flags: &'a [String],
}

/// An implementation of the protocol: makes a state machine for each run
/// of a case. A configuration it refuses is answered with the error code
/// (`Ok(Err(code))`), which the case's expectation judges like any other.
pub trait Implementation {
    /// A case begins (the file is the vector file, relative to the
    /// vectors directory). The in-tree core needs nothing; a child process
    /// is (re)started here.
    fn start_case(&mut self, _file: &str, _case: &TestCase) {}

    /// A handshake side (native or D-Bus, by `setup.role`); `pidfd` is the
    /// one of `config.peerSocket`, which the side owns from now on.
    fn party(
        &mut self,
        setup: &Setup<'_>,
        pidfd: Option<Fd>,
    ) -> Answer<Result<Box<dyn Party + '_>, Code>>;

    /// A frame decoder.
    fn decoder(&mut self, setup: &Setup<'_>) -> Answer<Result<Box<dyn FrameDecoder + '_>, Code>>;

    /// A frame encoder.
    fn encoder(&mut self, setup: &Setup<'_>) -> Answer<Result<Box<dyn FrameEncoder + '_>, Code>>;

    /// The run is over (its state machine has been dropped): whatever fds
    /// the implementation still holds are closed now. Called after every
    /// run, whatever its result.
    fn end(&mut self) -> Answer<()> {
        Ok(())
    }
}

/// One read (`recvmsg`) as a state machine is given it.
#[derive(Debug, Default)]
pub struct Read<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// `SCM_CREDENTIALS`.
    pub creds: Option<Creds>,
    /// `SCM_PIDFD`.
    pub pidfd: Option<Fd>,
    /// `SCM_RIGHTS`, in order.
    pub fds: Vec<Fd>,
    /// `MSG_CTRUNC`.
    pub ctrunc: bool,
    /// `MSG_TRUNC`.
    pub trunc: bool,
}

/// What a handshake side needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartyStep {
    /// Send these bytes, with the sender's credentials attached or not.
    Send {
        /// The bytes.
        bytes: Vec<u8>,
        /// `SCM_CREDENTIALS` with the sender's pid, euid and egid.
        own_credentials: bool,
    },
    /// Read.
    NeedInput,
    /// The caller accepts or denies the authenticated client.
    Decide,
    /// Authenticated.
    Done,
    /// Failed with this code.
    Failed(Code),
}

/// A handshake side: the native client or server, or a D-Bus side.
pub trait Party {
    /// One read. An error is sticky and shows at the next `step`.
    fn receive(&mut self, read: Read<'_>) -> Answer<()>;
    /// EOF; the error code if the call returned one.
    fn receive_eof(&mut self) -> Answer<Option<Code>>;
    /// What the side needs next.
    fn step(&mut self) -> Answer<PartyStep>;
    /// The caller's decision (only while `Decide`).
    fn decide(&mut self, decision: Decision) -> Answer<()>;
    /// An API misuse ([`MisuseCall::ReceiveEof`]); the code it returned.
    fn misuse(&mut self, call: MisuseCall) -> Answer<Option<Code>>;
    /// The outcome (after `Done`, or to learn the error).
    fn finish(self: Box<Self>) -> Answer<Result<Authenticated, Code>>;
    /// The state's name from the core's `STATES` table, for coverage;
    /// `None` from an implementation that does not tell.
    fn state(&self) -> Option<&'static str> {
        None
    }
}

/// A successful handshake, in the vectors' terms.
#[derive(Debug, Default)]
pub struct Authenticated {
    /// Native: the negotiated version.
    pub version: Option<u8>,
    /// Native: the negotiated limits.
    pub limits: Option<WireLimits>,
    /// D-Bus: what the authentication agreed on.
    pub dbus: Option<DbusOutcome>,
    /// The peer's credentials, if the side learns them.
    pub peer: Option<AuthPeer>,
    /// What the side read that belongs to the channel.
    pub leftover: Received,
}

/// The authenticated peer.
#[derive(Debug)]
pub struct AuthPeer {
    /// pid, uid, gid.
    pub creds: Creds,
    /// `socket`, `message` or `both`.
    pub source: String,
    /// Its pidfd.
    pub pidfd: Option<Fd>,
}

/// Bytes and fds handed on, and whether EOF followed.
#[derive(Debug, Default)]
pub struct Received {
    /// Bytes, in order.
    pub bytes: Vec<u8>,
    /// Fds, in order.
    pub fds: Vec<Fd>,
    /// EOF followed.
    pub eof: bool,
}

/// A frame the decoder delivered.
#[derive(Debug)]
pub struct Frame {
    /// data or shm.
    pub kind: FrameKind,
    /// The application payload.
    pub payload: Vec<u8>,
    /// For shm: size and seals.
    pub shm: Option<Shm>,
    /// The frame's fds.
    pub fds: Vec<Fd>,
}

/// A frame decoder.
pub trait FrameDecoder {
    /// One read; the error code if the call returned one.
    fn receive(&mut self, read: Read<'_>) -> Answer<Option<Code>>;
    /// EOF; the error code if the call returned one.
    fn receive_eof(&mut self) -> Answer<Option<Code>>;
    /// The next complete frame, `None` if there is none yet.
    fn next_frame(&mut self) -> Answer<Result<Option<Frame>, Code>>;
    /// An API misuse; the code it returned.
    fn misuse(&mut self, call: MisuseCall) -> Answer<Option<Code>>;
    /// How many fds the decoder holds (given, neither delivered nor closed).
    fn held_fds(&self) -> usize;
    /// Whether EOF ended the channel cleanly.
    fn is_closed(&mut self) -> Answer<bool>;
}

/// One `sendmsg` of the encoder: bytes and the fds attached.
#[derive(Debug)]
pub struct Sent {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The fds attached to the first byte.
    pub fds: Vec<Fd>,
}

/// A frame encoder.
pub trait FrameEncoder {
    /// Queues a frame; the error code if it was refused (its fds closed).
    fn push(&mut self, push: &Push, fds: Vec<Fd>) -> Answer<Option<Code>>;
    /// One `sendmsg` of at most `max` bytes (at least one), or `None` if
    /// nothing is queued.
    fn transmit(&mut self, max: usize) -> Answer<Option<Sent>>;
    /// An API misuse; the code it returned.
    fn misuse(&mut self, call: MisuseCall) -> Answer<Option<Code>>;
}
