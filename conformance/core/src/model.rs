//! The vector file format, as Rust types that serialize to exactly the JSON
//! in `vectors/` (see `docs/VECTORS.md` and `vectors/schema/`).
//!
//! Field names are camelCase like Wycheproof's (`tcId`, `testGroups`), so a
//! reader in any language meets familiar names. Every struct denies unknown
//! fields: a misspelt field in a hand-edited vector is an error, not a
//! silently ignored expectation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hexbytes::Hex;

/// The schema name every vector file declares.
pub const SCHEMA: &str = "mon-ipc-vectors";
/// The schema version this crate reads and writes.
pub const SCHEMA_VERSION: &str = "1";

/// One vector file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VectorFile {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: String,
    /// Free text: what the file covers.
    pub header: Vec<String>,
    /// What each flag used by a case means.
    pub notes: BTreeMap<String, Note>,
    /// How many cases the file holds, over all groups.
    pub number_of_tests: usize,
    /// Cases grouped by role and configuration.
    pub test_groups: Vec<TestGroup>,
}

/// The meaning of one flag.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Note {
    /// `BASIC`, `EDGE_CASE`, `MALFORMED`, `CREDENTIALS`, `API_MISUSE`, ...
    pub bug_type: String,
    /// What the flag says about a case, and how a replayer treats it.
    pub description: String,
}

/// Cases that share a role and a configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestGroup {
    /// Which state machine the cases drive.
    pub role: Role,
    /// How that state machine is configured.
    pub config: Config,
    /// The cases.
    pub tests: Vec<TestCase>,
}

/// The side of the protocol a group exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The client's handshake: sends the hello, judges the reply.
    ClientHandshake,
    /// The server's handshake: judges the hello, sends the reply.
    ServerHandshake,
    /// The frame decoder: reads in, frames out.
    FrameDecoder,
    /// The frame encoder: frames in, `sendmsg`s out.
    FrameEncoder,
    /// The D-Bus profile's client (`mon_ipc::dbus::ClientAuth`): sends the
    /// NUL byte and `AUTH`, judges the server's lines (docs/DBUS.md).
    DbusClient,
    /// The D-Bus profile's server (`mon_ipc::dbus::ServerAuth`): judges the
    /// NUL byte's credentials and the client's lines, hands over every byte
    /// after `BEGIN`.
    DbusServer,
}

impl Role {
    /// The snake_case name used in the files.
    pub fn name(self) -> &'static str {
        match self {
            Role::ClientHandshake => "client_handshake",
            Role::ServerHandshake => "server_handshake",
            Role::FrameDecoder => "frame_decoder",
            Role::FrameEncoder => "frame_encoder",
            Role::DbusClient => "dbus_client",
            Role::DbusServer => "dbus_server",
        }
    }

    /// Whether the role is one of the D-Bus profile's sides.
    pub fn is_dbus(self) -> bool {
        matches!(self, Role::DbusClient | Role::DbusServer)
    }
}

/// `SOCK_STREAM` or `SOCK_SEQPACKET`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Socket {
    /// A byte stream: reads may be re-chunked.
    Stream,
    /// Records: one read is one record, never split.
    Seqpacket,
}

/// The configuration of the state machine under test.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The socket type.
    pub socket: Socket,
    /// The side's own limits (handshake) or the negotiated ones (frames).
    /// Wider than the wire types so that out-of-range values can be tested.
    /// Required for every role but the D-Bus ones, which have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<WireLimits>,
    /// Client only: ask for the server's credentials (hello flag bit 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutual: Option<bool>,
    /// Handshakes only: how the peer's credentials are judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_policy: Option<Policy>,
    /// Handshakes only: what the kernel reported about the peer when the
    /// connection was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_socket: Option<PeerSocket>,
    /// Decoder only: the largest shared-memory region accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_shm_size: Option<u64>,
    /// `dbus_client` only (and required there): how the client authenticates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbus_client: Option<DbusClientConfig>,
    /// `dbus_server` only (and required there): how the server authenticates.
    /// The server also uses `credentialPolicy` and `peerSocket`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbus_server: Option<DbusServerConfig>,
}

/// A SASL mechanism of the D-Bus profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbusMechanism {
    /// `EXTERNAL`: the kernel's credentials.
    External,
    /// `ANONYMOUS`.
    Anonymous,
}

/// A D-Bus client's configuration (`mon_ipc::dbus::ClientConfig`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DbusClientConfig {
    /// The mechanism the client tries.
    pub mechanism: DbusMechanism,
    /// `external` only: the uid sent as the initial response; null sends
    /// none and answers the empty `DATA` challenge with an empty `DATA`.
    pub uid: Option<u32>,
    /// Send `NEGOTIATE_UNIX_FD` after `OK`.
    pub unix_fd: bool,
    /// Fail with `dbus_unix_fd_refused` if the server answers it with `ERROR`.
    pub require_unix_fd: bool,
    /// The longest line accepted, without `\r\n`.
    pub max_line: u64,
}

/// A D-Bus server's configuration (`mon_ipc::dbus::ServerConfig`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DbusServerConfig {
    /// The server's guid: 16 bytes, sent as 32 lower-case hex digits with `OK`.
    pub guid: Hex,
    /// Answer `NEGOTIATE_UNIX_FD` with `AGREE_UNIX_FD` (else `ERROR`).
    pub unix_fd: bool,
    /// Offer and accept `ANONYMOUS`.
    pub allow_anonymous: bool,
    /// The longest line accepted, without `\r\n`.
    pub max_line: u64,
    /// How many `REJECTED` / `ERROR` answers before the server closes.
    pub max_failures: u32,
}

/// Most fds per frame and largest payload per frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WireLimits {
    /// Most fds per frame (legal: 0 to 253).
    pub max_fds: u32,
    /// Largest payload per frame, in bytes.
    pub max_payload: u32,
}

/// The credential policy of a handshake side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// Whether the system delivers credentials with messages.
    pub message_credentials: MessageCreds,
    /// The uid Linux reports for an unmappable process.
    pub overflow_uid: u32,
    /// The gid Linux reports for an unmappable process.
    pub overflow_gid: u32,
}

/// Whether every handshake message must carry message credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageCreds {
    /// Linux, FreeBSD: a message without them is refused.
    Required,
    /// macOS: socket credentials alone decide.
    Unavailable,
}

/// Socket credentials of the peer (`SO_PEERCRED`, `SO_PEERPIDFD`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PeerSocket {
    /// `SO_PEERCRED`, or null where the system has none.
    pub credentials: Option<Creds>,
    /// A symbolic pidfd from `SO_PEERPIDFD`, or null.
    pub pidfd: Option<String>,
}

/// A `{pid, uid, gid}` triple as the kernel reports it: pid 0 and
/// uid/gid 4294967295 mean unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Creds {
    /// Process id (0: unknown).
    pub pid: u32,
    /// Effective user id.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
}

/// Whether an implementation must accept the case's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Conforming input; the expected outcome is success.
    Valid,
    /// Non-conforming input (or a misused API); the outcome is an error.
    Invalid,
    /// Either is defensible; the expectation records this project's choice.
    Acceptable,
}

/// One test case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestCase {
    /// Unique over all files, never reused.
    pub tc_id: u32,
    /// Unique, readable: `role/socket/what`.
    pub name: String,
    /// Why the case exists and what the spec says about it.
    pub comment: String,
    /// Keys of the file's `notes`.
    pub flags: Vec<String>,
    /// valid / invalid / acceptable.
    pub result: Verdict,
    /// Inputs and expected outputs, in order.
    pub events: Vec<Event>,
    /// What the state machine ends with.
    pub expected: Expected,
    /// D-Bus roles only: how a live implementation is judged by this case
    /// (docs/VECTORS.md, "Live runs").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<Live>,
}

/// How a D-Bus case judges a live implementation over a real socket: which
/// of its expectations the D-Bus specification requires (a deviation is
/// FAILED) and which are this implementation's choices (a deviation is a
/// NOTE). The vector's own expectations stay exact; this only grades them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Live {
    /// Why the case has no live meaning (forged credentials, injected fds,
    /// a caller's error, a configuration no live peer has); absent: it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
    /// One entry per `\r\n` line of the case's `out` events, in order.
    pub lines: Vec<LiveLine>,
    /// What the live peer must do after the last event.
    pub end: LiveEnd,
}

/// What a live peer may send where the case expects one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveLine {
    /// The commands the specification allows here (a line's first word);
    /// empty: any line is the implementation's choice. The case's own line
    /// is always among them; another allowed one is a NOTE.
    pub allowed: Vec<String>,
    /// The peer may close the connection instead (a NOTE, not FAILED).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub or_disconnect: bool,
    /// Client only, first line: the NUL byte must come before it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nul_first: bool,
    /// The specification's sentence (section "Authentication Protocol")
    /// that requires it, or why it is a choice.
    pub why: String,
}

/// What a live peer must do once the case's events are played.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveEnd {
    /// What is checked.
    pub expect: LiveExpect,
    /// A deviation is FAILED (`true`) or a NOTE (`false`).
    pub required: bool,
    /// The specification's sentence, or why it is a choice.
    pub why: String,
}

/// The end state a live run checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveExpect {
    /// The message stream has begun: a method call gets its reply (server
    /// role), or the client makes its call and exits 0 (client role).
    Authenticated,
    /// No message stream: the server answers no method call (it should
    /// close, a NOTE if it answers lines instead); the client sends no
    /// `BEGIN`.
    NotAuthenticated,
    /// Nothing left to observe (the case ends with a hang-up).
    Nothing,
}

/// One step of a case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// One read: bytes and what the kernel delivered with them.
    In(Input),
    /// The read returned 0: the peer closed.
    Eof,
    /// Expected output: bytes to send and the ancillary data to attach.
    Out(Output),
    /// Server only: the caller's authorization decision.
    Decide {
        /// accept or deny.
        decision: Decision,
    },
    /// Encoder only: queue one frame.
    Push(Push),
    /// Encoder only: send everything queued.
    Flush,
    /// A call that breaks the API contract (flag `ApiMisuse`).
    Misuse {
        /// Which misuse.
        call: MisuseCall,
        /// The error code that call must return, if it returns one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// One read (`recvmsg`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    /// The bytes read.
    pub bytes: Hex,
    /// `SCM_CREDENTIALS` of the read, or null.
    #[serde(default)]
    pub creds: Option<Creds>,
    /// `SCM_PIDFD` of the read, a symbolic id, or null.
    #[serde(default)]
    pub pidfd: Option<String>,
    /// `SCM_RIGHTS` of the read, symbolic ids in order.
    #[serde(default)]
    pub fds: Vec<String>,
    /// `MSG_CTRUNC`.
    #[serde(default)]
    pub ctrunc: bool,
    /// `MSG_TRUNC` (seqpacket).
    #[serde(default)]
    pub trunc: bool,
}

/// Expected output between two inputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Output {
    /// The bytes to send.
    pub bytes: Hex,
    /// Attach `SCM_CREDENTIALS` with the sender's pid, euid and egid.
    #[serde(default)]
    pub own_credentials: bool,
    /// Attach these fds (`SCM_RIGHTS`) to the first byte.
    #[serde(default)]
    pub fds: Vec<String>,
}

/// The server caller's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Accept the authenticated client.
    Accept,
    /// Deny it (status 1).
    Deny,
}

/// A frame given to the encoder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Push {
    /// data or shm.
    pub kind: FrameKind,
    /// The application payload (for shm: what follows the 12-byte header).
    pub payload: Hex,
    /// Shared memory only: the announced size and seals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm: Option<Shm>,
    /// The fds, symbolic.
    #[serde(default)]
    pub fds: Vec<String>,
    /// The error code the push must return (nothing is queued then), or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A frame's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameKind {
    /// Kind 0.
    Data,
    /// Kind 1: a sealed memfd.
    Shm,
}

/// The shared-memory header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shm {
    /// The region's size.
    pub size: u64,
    /// `F_SEAL_*` bits.
    pub seals: u32,
}

/// API misuses a vector can ask for. Only the in-tree API has them all;
/// other implementations skip cases flagged `ApiMisuse`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MisuseCall {
    /// Handshake: report EOF whatever the state.
    ReceiveEof,
    /// Decoder: ask for the read buffer while complete frames wait.
    ReadBeforeDrain,
    /// Decoder: remove the last buffered byte, then commit a read.
    ShrinkBuffer,
    /// Encoder: report one byte more sent than was queued.
    AdvancePastEnd,
}

/// What the state machine ends with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expected {
    /// The kind of ending.
    pub outcome: Outcome,
    /// For `failed`: the error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For `authenticated`: the negotiated version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
    /// For `authenticated`: the negotiated limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<WireLimits>,
    /// For `authenticated`: the peer's credentials; absent for a
    /// non-mutual client, which learns nothing about the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<Peer>,
    /// For `authenticated`: what the message channel receives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leftover: Option<Leftover>,
    /// Decoder: the frames, in order (for an invalid case, those complete
    /// before the offending input; a replay may deliver a prefix of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<Vec<FrameOut>>,
    /// D-Bus roles, `authenticated`: what the authentication agreed on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbus: Option<DbusOutcome>,
}

/// What a successful D-Bus authentication agreed on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DbusOutcome {
    /// The mechanism that succeeded.
    pub mechanism: DbusMechanism,
    /// The server's guid, 32 lower-case hex digits.
    pub guid: String,
    /// Both sides agreed on passing fds (`AGREE_UNIX_FD`).
    pub unix_fd: bool,
}

/// How a case ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Handshake done: the peer is authenticated (or, for a non-mutual
    /// client, the server accepted us).
    Authenticated,
    /// An error, named by `error`.
    Failed,
    /// Decoder: no error, more input may come.
    Open,
    /// Decoder: no error, EOF after a whole number of frames.
    Closed,
    /// Encoder: every call behaved as the events say.
    Ok,
}

/// The authenticated peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// Reported pid (0: unknown).
    pub pid: u32,
    /// Reported uid.
    pub uid: u32,
    /// Reported gid.
    pub gid: u32,
    /// socket, message or both.
    pub source: String,
    /// The pidfd reported, symbolic, or null.
    pub pidfd: Option<String>,
}

/// What the channel receives after the handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leftover {
    /// Bytes, in order.
    pub bytes: Hex,
    /// Fds, in order.
    pub fds: Vec<String>,
    /// Whether EOF followed.
    pub eof: bool,
}

/// A decoded frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameOut {
    /// data or shm.
    pub kind: FrameKind,
    /// The application payload.
    pub payload: Hex,
    /// For shm: the announced size and seals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm: Option<Shm>,
    /// The frame's fds, symbolic.
    pub fds: Vec<String>,
}
