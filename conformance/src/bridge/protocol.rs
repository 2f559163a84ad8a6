//! The JSON-lines protocol of `replay --exec` (docs/VECTORS.md, "Replaying
//! against another program"): one [`Request`] per line to the program's
//! standard input, one [`Reply`] per line back on its standard output.
//!
//! The messages reuse the vectors' own types and spelling (hex byte
//! strings, camelCase fields, symbolic fd names), so that a program that
//! reads the vectors already reads the protocol. Both ends deny unknown
//! fields: a misspelt field is an error, not a silently ignored answer.

use mon_ipc_conformance_core::hexbytes::Hex;
use mon_ipc_conformance_core::model::{
    Config, Creds, DbusOutcome, Decision, FrameKind, Leftover, MisuseCall, Peer, Role, Shm,
    WireLimits,
};
use serde::{Deserialize, Serialize};

/// One message to the program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Request {
    /// A run of a case begins: make the state machine. The program owns
    /// `config.peerSocket.pidfd` from now on.
    Configure {
        /// The case's id.
        tc_id: u32,
        /// The case's name.
        name: String,
        /// The case's flags (a program may refuse `ApiMisuse` cases here).
        flags: Vec<String>,
        /// How this run cuts the inputs: `whole`, `bytes` or `random:SEED`.
        plan: String,
        /// The role.
        role: Role,
        /// The group's configuration, as in the vector file.
        config: Config,
    },
    /// One read (`recvmsg`); the program owns its fds from now on.
    Receive {
        /// The bytes.
        bytes: Hex,
        /// `SCM_CREDENTIALS`.
        creds: Option<Creds>,
        /// `SCM_PIDFD`, symbolic.
        pidfd: Option<String>,
        /// `SCM_RIGHTS`, symbolic, in order.
        fds: Vec<String>,
        /// `MSG_CTRUNC`.
        ctrunc: bool,
        /// `MSG_TRUNC`.
        trunc: bool,
    },
    /// The read returned 0.
    Eof,
    /// Handshakes: what next; decoder: the next frame; encoder: one
    /// `sendmsg` of at most `max` bytes (no limit if absent).
    Step {
        /// Encoder only: the write budget.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u64>,
    },
    /// Native server: the caller's decision.
    Decide {
        /// accept or deny.
        decision: Decision,
    },
    /// Encoder: queue one frame; the program owns its fds from now on.
    Push {
        /// data or shm.
        kind: FrameKind,
        /// The application payload.
        payload: Hex,
        /// For shm: the announced size and seals.
        shm: Option<Shm>,
        /// The fds, symbolic.
        fds: Vec<String>,
    },
    /// A call that breaks the in-tree API's contract (flag `ApiMisuse`).
    Misuse {
        /// Which.
        call: MisuseCall,
    },
    /// Handshakes: the outcome; decoder: whether EOF closed the channel.
    Finish,
    /// The run is over: drop the state machine, close every fd still held.
    End,
}

impl Request {
    /// The `type`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Configure { .. } => "configure",
            Request::Receive { .. } => "receive",
            Request::Eof => "eof",
            Request::Step { .. } => "step",
            Request::Decide { .. } => "decide",
            Request::Push { .. } => "push",
            Request::Misuse { .. } => "misuse",
            Request::Finish => "finish",
            Request::End => "end",
        }
    }
}

/// What a `step` reply says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Handshakes: send `bytes` (with `ownCredentials`); encoder: a
    /// `sendmsg` of `bytes` with `fds`.
    Send,
    /// Nothing to do until the next input (decoder: no complete frame;
    /// encoder: nothing queued).
    NeedInput,
    /// Native server: waiting for `decide`.
    Decide,
    /// Handshakes: authenticated.
    Done,
    /// Failed with `error`.
    Failed,
    /// Decoder: a frame (`kind`, `payload`, `shm`, `fds`).
    Frame,
}

/// What a `finish` reply says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishKind {
    /// Handshakes: with `version` and `limits` (native) or `dbus`, `peer`
    /// and `leftover`.
    Authenticated,
    /// Handshakes: with `error`.
    Failed,
    /// Decoder: no EOF yet.
    Open,
    /// Decoder: EOF after a whole number of frames.
    Closed,
}

/// One answer from the program. Exactly one of `ok`, `error`,
/// `unimplemented`, `failed`, `step` and `outcome` says what kind of
/// answer it is (`error` also goes with a failed `step` or `outcome`);
/// `closed` may go with any.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reply {
    /// The call succeeded.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ok: bool,
    /// The call returned this error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The program does not implement this (the case is `UNIMPLEMENTED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unimplemented: Option<String>,
    /// The program broke, for this reason (the case fails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// The answer to `step`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepKind>,
    /// `send`: the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Hex>,
    /// Handshake `send`: the sender's credentials are attached.
    #[serde(default, skip_serializing_if = "is_false")]
    pub own_credentials: bool,
    /// Encoder `send` and decoder `frame`: the fds, symbolic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fds: Option<Vec<String>>,
    /// Decoder `frame`: data or shm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FrameKind>,
    /// Decoder `frame`: the application payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Hex>,
    /// Decoder `frame` of kind shm: size and seals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm: Option<Shm>,
    /// The answer to `finish`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<FinishKind>,
    /// Native `authenticated`: the negotiated version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
    /// Native `authenticated`: the negotiated limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<WireLimits>,
    /// D-Bus `authenticated`: mechanism, guid, fd passing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbus: Option<DbusOutcome>,
    /// `authenticated`: the peer, if the side learns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<Peer>,
    /// `authenticated`: what belongs to the channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leftover: Option<Leftover>,
    /// Fds the program closed while handling the request, symbolic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Reply {
    /// `{"ok": true}`.
    pub fn ok() -> Reply {
        Reply {
            ok: true,
            ..Reply::default()
        }
    }

    /// `{"error": code}`.
    pub fn error(code: String) -> Reply {
        Reply {
            error: Some(code),
            ..Reply::default()
        }
    }

    /// `{"ok": true}` or `{"error": code}`.
    pub fn result(code: Option<String>) -> Reply {
        code.map_or_else(Reply::ok, Reply::error)
    }

    /// A `step` reply of this kind.
    pub fn step(kind: StepKind) -> Reply {
        Reply {
            step: Some(kind),
            ..Reply::default()
        }
    }
}
