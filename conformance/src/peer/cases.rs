//! The shim cases: stable names, what the program under test does in each,
//! and the outcome the runner expects. `docs/SHIM.md` is the normative
//! text; this table is shared by the runner and the reference shim.

use mon_ipc::SocketKind;

/// The side the program under test plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The program speaks first; the runner is the server.
    Client,
    /// The runner is the client.
    Server,
}

impl Role {
    /// `client` or `server`, as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
        }
    }
}

/// One frame of a case: payload length and fd count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    /// Payload bytes ([`payload`] gives them).
    pub len: usize,
    /// Fds carried.
    pub nfds: usize,
}

const fn f(len: usize, nfds: usize) -> FrameSpec {
    FrameSpec { len, nfds }
}

/// Frames with 0, 1 and many fds.
pub const FRAMES_0_1_MANY: &[FrameSpec] = &[f(5, 0), f(6, 1), f(7, 4)];
/// The frames of the echo cases.
pub const ECHO_FRAMES: &[FrameSpec] = &[f(5, 0), f(3000, 1), f(9, 3)];
/// The frames the runner sends right behind its reply.
pub const EARLY_FRAMES: &[FrameSpec] = &[f(5, 0), f(6, 1)];
/// The one frame of the `send_fd` / `recv_fd` cases.
pub const MANUAL_FRAME: &[FrameSpec] = &[f(12, 1)];
/// The frame the program must hold in `server/recv-cloexec`.
pub const HOLD_FRAME: &[FrameSpec] = &[f(4, 1)];
/// The payload of the frame the program sends while it holds that fd.
pub const HELD: &[u8] = b"held";
/// Size of the shared-memory region of `server/shm`.
pub const SHM_SIZE: usize = 4096;
/// Application bytes after the shared-memory header in `server/shm`.
pub const SHM_APP_LEN: usize = 5;

/// Byte `k` of the payload of frame `i`: `(k + 7 i) mod 251`. The same
/// pattern fills the shared-memory region (as frame 1).
pub fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|k| ((k + 7 * i) % 251) as u8).collect()
}

/// The marker for fd `j` of frame `i`: the ASCII text `i:j`.
pub fn marker(i: usize, j: usize) -> Vec<u8> {
    format!("{i}:{j}").into_bytes()
}

/// What the program does once the handshake is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read until EOF; any frame is an error.
    Idle,
    /// Receive exactly these frames, check each payload, write the marker
    /// into each fd (a pipe's write end), close them, then read until EOF.
    Recv(&'static [FrameSpec]),
    /// Send these frames, each fd the read end of a new pipe holding its
    /// marker (write end closed), then read until EOF.
    Send(&'static [FrameSpec]),
    /// Send every frame received back, same payload and same fds, until EOF.
    Echo,
    /// Receive [`HOLD_FRAME`], send [`HELD`] (no fd) while holding its fd,
    /// read until EOF, then write the marker into the fd and close it.
    Hold,
    /// The manual's `recv_fd`: receive [`MANUAL_FRAME`], marker, then EOF.
    RecvFd,
    /// The manual's `send_fd`: send [`MANUAL_FRAME`], then read until EOF.
    SendFd,
    /// Receive one shared-memory frame and check region and bytes, then EOF.
    Shm,
    /// Receive frames until EOF, closing their fds (adversarial input).
    Drain,
}

/// The outcome the runner expects of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Exit 0.
    Success,
    /// Exit 1 with this code (stream, seqpacket) on the last stderr line.
    Fail(&'static str, &'static str),
}

impl Expect {
    /// The code expected on `kind`, if failure is expected.
    pub fn code(self, kind: SocketKind) -> Option<&'static str> {
        match (self, kind) {
            (Expect::Success, _) => None,
            (Expect::Fail(s, _), SocketKind::Stream) => Some(s),
            (Expect::Fail(_, q), SocketKind::Seqpacket) => Some(q),
        }
    }
}

/// What the runner does that a well-behaved peer would not: the fault the
/// case puts the program to. Declared here, next to the case, and played
/// by the runner; the program's side is the case's [`Action`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    /// The handshake by the book, then the frames of the case's [`Action`].
    Plain,
    /// Replies with status 1, denied (client cases).
    Denied,
    /// Its reply or hello with magic `MOX\0`.
    BadMagic,
    /// Its reply or hello with a nonzero reserved field.
    Reserved,
    /// Only the first 8 bytes of its reply or hello (seqpacket: an 8-byte
    /// record), then it hangs up.
    Truncated,
    /// A pipe attached to its reply or hello.
    WithFd,
    /// 4 more bytes in the hello's `sendmsg` (server cases).
    Trailing,
    /// The hello sent before the program starts, while `SO_PASSCRED` is
    /// off on both ends, so that it arrives without the sender's
    /// credentials (server cases).
    HelloWithoutCredentials,
    /// Two frames (one with a pipe) right behind the reply, before reading
    /// anything (client cases).
    EarlyFrames,
    /// After the handshake: a frame announcing 1 fd carries 2 pipes.
    SurplusFds,
    /// After the handshake: a pipe arrives in a read in which no frame
    /// header begins.
    FdsWithoutFrame,
    /// After the handshake: a header announcing the negotiated maximum + 1
    /// bytes.
    OversizedFrame,
    /// After the handshake: a frame header with a nonzero reserved field.
    FrameReserved,
    /// After the handshake: half a frame, then it hangs up.
    HangupMidFrame,
}

/// One case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Case {
    /// Stable name, `role/what`.
    pub name: &'static str,
    /// The program's role.
    pub role: Role,
    /// Mutual authentication: asked for by the program (client cases) or
    /// by the runner (server cases).
    pub mutual: bool,
    /// Server cases: the program denies the (authenticated) client.
    pub deny: bool,
    /// What the program does after the handshake.
    pub action: Action,
    /// What the runner expects.
    pub expect: Expect,
    /// What the runner does out of the ordinary; `summary` says it in words.
    pub script: Script,
    /// One line: what the runner does.
    pub summary: &'static str,
}

impl Case {
    /// The most fds a frame of the case carries, either way, in one read.
    /// The program must
    /// advertise at least that many per frame (SHIM.md §2): more would only
    /// lock out an implementation whose frames carry fewer, such as the C
    /// API's one fd (`mon_ipc_send_fd` / `mon_ipc_recv_fd`), from every
    /// case, the ones it can do included.
    pub fn fds_needed(&self) -> usize {
        let most = |specs: &[FrameSpec]| specs.iter().map(|s| s.nfds).max().unwrap_or(0);
        match self.action {
            Action::Idle => 0,
            Action::Recv(specs) | Action::Send(specs) => most(specs),
            Action::Echo => most(ECHO_FRAMES),
            Action::Hold => most(HOLD_FRAME),
            Action::RecvFd | Action::SendFd => most(MANUAL_FRAME),
            // The region's memfd.
            Action::Shm => 1,
            Action::Drain => match self.script {
                // A frame announcing 1 fd carries 2: with room for only 1
                // the read is `control_truncated` (PROTOCOL.md 4.4), not
                // the `fd_count_mismatch` the case is about.
                Script::SurplusFds => 2,
                // A frame announcing 1 fd, and one more fd in a later read.
                Script::FdsWithoutFrame => 1,
                _ => 0,
            },
        }
    }
}

const fn ok(name: &'static str, role: Role, action: Action, summary: &'static str) -> Case {
    Case {
        name,
        role,
        mutual: false,
        deny: false,
        action,
        expect: Expect::Success,
        script: Script::Plain,
        summary,
    }
}

const fn bad(
    name: &'static str,
    role: Role,
    action: Action,
    code: (&'static str, &'static str),
    script: Script,
    summary: &'static str,
) -> Case {
    Case {
        name,
        role,
        mutual: false,
        deny: false,
        action,
        expect: Expect::Fail(code.0, code.1),
        script,
        summary,
    }
}

const fn same(code: &'static str) -> (&'static str, &'static str) {
    (code, code)
}

use Action::*;
use Role::{Client, Server};
use Script::*;

/// Every case, in run order.
pub const CASES: &[Case] = &[
    ok(
        "client/handshake",
        Client,
        Idle,
        "accepts the hello (status 0)",
    ),
    Case {
        mutual: true,
        ..ok(
            "client/mutual",
            Client,
            Idle,
            "accepts a mutual hello, reply with its credentials",
        )
    },
    bad(
        "client/refused-denied",
        Client,
        Idle,
        same("refused_denied"),
        Denied,
        "denies the client (status 1), hangs up",
    ),
    bad(
        "client/reply-bad-magic",
        Client,
        Idle,
        same("reply_bad_magic"),
        BadMagic,
        "replies with magic MOX\\0",
    ),
    bad(
        "client/reply-reserved",
        Client,
        Idle,
        same("reply_reserved"),
        Reserved,
        "replies with a nonzero reserved field",
    ),
    bad(
        "client/hangup-mid-reply",
        Client,
        Idle,
        ("reply_short", "reply_record_size"),
        Truncated,
        "sends 8 reply bytes (seqpacket: an 8-byte record), hangs up",
    ),
    bad(
        "client/reply-with-fds",
        Client,
        Idle,
        same("fds_without_frame"),
        WithFd,
        "attaches a pipe to the reply, nothing after it",
    ),
    Case {
        script: EarlyFrames,
        ..ok(
            "client/early-frames",
            Client,
            Recv(EARLY_FRAMES),
            "sends two frames (one with a pipe) right behind the reply",
        )
    },
    ok(
        "client/recv-fds",
        Client,
        Recv(FRAMES_0_1_MANY),
        "sends frames with 0, 1, 4 pipes",
    ),
    ok(
        "client/send-fds",
        Client,
        Send(FRAMES_0_1_MANY),
        "expects frames with 0, 1, 4 pipes",
    ),
    ok(
        "client/echo",
        Client,
        Echo,
        "sends frames with 0, 1, 3 pipes; expects them back, the very same pipe ends",
    ),
    ok(
        "client/send-fd",
        Client,
        SendFd,
        "expects one frame with one pipe (the manual's send_fd)",
    ),
    ok(
        "server/handshake",
        Server,
        Idle,
        "sends a hello; expects status 0",
    ),
    Case {
        mutual: true,
        ..ok(
            "server/mutual",
            Server,
            Idle,
            "sends a mutual hello; expects status 0 with the program's credentials",
        )
    },
    Case {
        deny: true,
        ..bad(
            "server/deny",
            Server,
            Idle,
            same("denied"),
            Plain,
            "sends a hello; the program denies it (status 1)",
        )
    },
    bad(
        "server/bad-magic",
        Server,
        Idle,
        same("hello_bad_magic"),
        BadMagic,
        "sends a hello with magic MOX\\0; expects status 4",
    ),
    bad(
        "server/hello-reserved",
        Server,
        Idle,
        same("hello_reserved"),
        Reserved,
        "sends a hello with a nonzero reserved field; expects status 4",
    ),
    bad(
        "server/hello-fds",
        Server,
        Idle,
        same("hello_fds"),
        WithFd,
        "attaches a pipe to the hello; expects status 4, the pipe closed",
    ),
    bad(
        "server/hello-trailing",
        Server,
        Idle,
        ("hello_trailing_bytes", "hello_record_size"),
        Trailing,
        "sends 4 bytes after the hello in the same sendmsg; expects status 4",
    ),
    bad(
        "server/hangup-mid-hello",
        Server,
        Idle,
        ("hello_short", "hello_record_size"),
        Truncated,
        "sends 8 hello bytes (seqpacket: an 8-byte record), hangs up; expects status 4",
    ),
    bad(
        "server/hello-no-credentials",
        Server,
        Idle,
        same("no_credentials"),
        HelloWithoutCredentials,
        "sends the hello before SO_PASSCRED is on; expects status 3",
    ),
    ok(
        "server/recv-fds",
        Server,
        Recv(FRAMES_0_1_MANY),
        "sends frames with 0, 1, 4 pipes",
    ),
    ok(
        "server/send-fds",
        Server,
        Send(FRAMES_0_1_MANY),
        "expects frames with 0, 1, 4 pipes",
    ),
    ok(
        "server/echo",
        Server,
        Echo,
        "sends frames with 0, 1, 3 pipes; expects them back, the very same pipe ends",
    ),
    ok(
        "server/recv-fd",
        Server,
        RecvFd,
        "sends one frame with one pipe (the manual's recv_fd)",
    ),
    ok(
        "server/recv-cloexec",
        Server,
        Hold,
        "sends a pipe; while the program holds it, checks FD_CLOEXEC in /proc/PID/fdinfo",
    ),
    ok(
        "server/shm",
        Server,
        Shm,
        "sends a sealed 4 KiB memfd in a shared-memory frame",
    ),
    bad(
        "server/surplus-fds",
        Server,
        Drain,
        same("fd_count_mismatch"),
        SurplusFds,
        "a frame announcing 1 fd carries 2 pipes",
    ),
    bad(
        "server/fds-without-frame",
        Server,
        Drain,
        same("fds_without_frame"),
        FdsWithoutFrame,
        "stream: a frame's tail carries a pipe; seqpacket: an empty record with a pipe",
    ),
    bad(
        "server/oversized-frame",
        Server,
        Drain,
        same("frame_too_large"),
        OversizedFrame,
        "a header announcing the negotiated maximum + 1 bytes",
    ),
    bad(
        "server/frame-reserved",
        Server,
        Drain,
        same("frame_reserved"),
        FrameReserved,
        "a frame header with a nonzero reserved field",
    ),
    bad(
        "server/hangup-mid-frame",
        Server,
        Drain,
        ("eof_in_frame", "record_size"),
        HangupMidFrame,
        "half a frame (seqpacket: a short record), then hangs up",
    ),
    Case {
        mutual: true,
        ..ok(
            "client/mutual-echo",
            Client,
            Echo,
            "accepts a mutual hello, replies with its credentials, then sends frames with 0, 1, 3 pipes; expects them back",
        )
    },
    Case {
        mutual: true,
        ..ok(
            "server/mutual-echo",
            Server,
            Echo,
            "sends a mutual hello, then frames with 0, 1, 3 pipes; expects them back",
        )
    },
    bad(
        "client/surplus-fds",
        Client,
        Drain,
        same("fd_count_mismatch"),
        SurplusFds,
        "after the reply, a frame announcing 1 fd carries 2 pipes",
    ),
    bad(
        "client/fds-without-frame",
        Client,
        Drain,
        same("fds_without_frame"),
        FdsWithoutFrame,
        "after the reply, stream: a frame's tail carries a pipe; seqpacket: an empty record with a pipe",
    ),
    bad(
        "client/oversized-frame",
        Client,
        Drain,
        same("frame_too_large"),
        OversizedFrame,
        "after the reply, a header announcing the negotiated maximum + 1 bytes",
    ),
    bad(
        "client/frame-reserved",
        Client,
        Drain,
        same("frame_reserved"),
        FrameReserved,
        "after the reply, a frame header with a nonzero reserved field",
    ),
    bad(
        "client/hangup-mid-frame",
        Client,
        Drain,
        ("eof_in_frame", "record_size"),
        HangupMidFrame,
        "after the reply, half a frame (seqpacket: a short record), then hangs up",
    ),
];

/// The deliberate bugs the reference shim's `--mutant NAME` selects, with
/// what each does wrong (a test requires the runner to catch every one).
pub const MUTANTS: &[(&str, &str)] = &[
    (
        "accept-bad-magic",
        "server: answers a hello with a bad magic with status 0",
    ),
    (
        "skip-credentials",
        "server: replies status 0 before looking at the hello's credentials",
    ),
    ("leak-fd", "keeps a duplicate of every fd it receives"),
    (
        "no-cloexec",
        "received fds lose close-on-exec, as without MSG_CMSG_CLOEXEC",
    ),
    (
        "fds-on-wrong-frame",
        "sends each frame's fds with the next frame",
    ),
    (
        "wrong-nfds",
        "sends frames whose header announces 0 fds while fds are attached",
    ),
    ("wrong-code", "reports every failure as `io`"),
];

/// The case named `name`.
pub fn find(name: &str) -> Option<&'static Case> {
    CASES.iter().find(|c| c.name == name)
}
