//! Building blocks for writing cases tersely: a [`Draft`] per case, and
//! small constructors for events, configurations and expectations.

use crate::model::{
    Config, Creds, Decision, Event, Expected, FrameKind, FrameOut, Input, Leftover, MessageCreds,
    MisuseCall, Outcome, Output, Peer, PeerSocket, Policy, Push, Role, Shm, Socket, TestCase,
    Verdict, WireLimits,
};

use super::wire::{FDS, PAYLOAD};

/// The client as its kernel reports it (uid and gid differ, so a swap shows).
pub(crate) const CLIENT: Creds = Creds {
    pid: 4242,
    uid: 1000,
    gid: 100,
};
/// The server as its kernel reports it.
pub(crate) const SERVER: Creds = Creds {
    pid: 77,
    uid: 0,
    gid: 0,
};
/// What Linux reports for a process it cannot map: pid 0, overflow ids.
pub(crate) const INVISIBLE: Creds = Creds {
    pid: 0,
    uid: 65534,
    gid: 65534,
};

/// A case before it gets its tcId.
#[derive(Debug, Clone)]
pub struct Draft {
    role: Role,
    config: Config,
    name: String,
    comment: String,
    flags: Vec<String>,
    result: Verdict,
    events: Vec<Event>,
    expected: Expected,
}

impl Draft {
    /// A valid case with no events yet, expected to fail until told otherwise.
    pub fn new(role: Role, config: Config, name: &str, comment: &str) -> Self {
        let prefix = match role {
            Role::ClientHandshake => "client",
            Role::ServerHandshake => "server",
            Role::FrameDecoder => "decoder",
            Role::FrameEncoder => "encoder",
            Role::DbusClient => "dbus-client",
            Role::DbusServer => "dbus-server",
        };
        let sock = match config.socket {
            Socket::Stream => "stream",
            Socket::Seqpacket => "seqpacket",
        };
        Draft {
            role,
            config,
            name: format!("{prefix}/{sock}/{name}"),
            comment: comment.to_owned(),
            flags: Vec::new(),
            result: Verdict::Valid,
            events: Vec::new(),
            expected: Expected {
                outcome: Outcome::Failed,
                error: Some("not_finished".to_owned()),
                version: None,
                limits: None,
                peer: None,
                leftover: None,
                frames: None,
                dbus: None,
            },
        }
    }

    /// Adds flags.
    pub fn flags(mut self, flags: &[&str]) -> Self {
        self.flags.extend(flags.iter().map(|f| (*f).to_owned()));
        self
    }

    /// Sets the events.
    pub fn events(mut self, events: Vec<Event>) -> Self {
        self.events = events;
        self
    }

    /// Sets the expectation; a failure makes the case invalid unless it
    /// was marked acceptable.
    pub fn expect(mut self, expected: Expected) -> Self {
        if expected.outcome == Outcome::Failed && self.result == Verdict::Valid {
            self.result = Verdict::Invalid;
        }
        self.expected = expected;
        self
    }

    /// Marks the case acceptable: either outcome is defensible, the
    /// expectation records this project's choice.
    pub(crate) fn acceptable(mut self) -> Self {
        self.result = Verdict::Acceptable;
        self
    }

    /// The case with its id, and the group it belongs to.
    pub(crate) fn into_case(self, tc_id: u32) -> (Role, Config, TestCase) {
        let mut flags = self.flags;
        flags.sort();
        flags.dedup();
        (
            self.role,
            self.config,
            TestCase {
                tc_id,
                name: self.name,
                comment: self.comment,
                flags,
                result: self.result,
                events: self.events,
                expected: self.expected,
                live: None,
            },
        )
    }
}

// ---- configurations ----

/// Limits.
pub(crate) fn lim(max_fds: u32, max_payload: u32) -> WireLimits {
    WireLimits {
        max_fds,
        max_payload,
    }
}

/// The default limits: 32 fds, 16 MiB.
pub fn lim_default() -> WireLimits {
    lim(FDS.into(), PAYLOAD)
}

/// Linux's policy: message credentials required, overflow ids 65534.
pub(crate) fn linux() -> Policy {
    Policy {
        message_credentials: MessageCreds::Required,
        overflow_uid: 65534,
        overflow_gid: 65534,
    }
}

/// A handshake config with the peer's socket credentials.
pub fn hs_config(socket: Socket, peer: Option<Creds>, mutual: Option<bool>) -> Config {
    Config {
        socket,
        limits: Some(lim_default()),
        mutual,
        credential_policy: Some(linux()),
        peer_socket: Some(PeerSocket {
            credentials: peer,
            pidfd: None,
        }),
        max_shm_size: None,
        dbus_client: None,
        dbus_server: None,
    }
}

/// The default server: stream, the client's socket credentials known.
pub(crate) fn server_cfg() -> Config {
    hs_config(Socket::Stream, Some(CLIENT), None)
}

/// The default client: stream, not mutual, the server's socket credentials known.
pub(crate) fn client_cfg(mutual: bool) -> Config {
    hs_config(Socket::Stream, Some(SERVER), Some(mutual))
}

/// A frame codec config.
pub fn codec_cfg(socket: Socket, limits: WireLimits) -> Config {
    Config {
        socket,
        limits: Some(limits),
        mutual: None,
        credential_policy: None,
        peer_socket: None,
        max_shm_size: None,
        dbus_client: None,
        dbus_server: None,
    }
}

// ---- events ----

/// A read with no ancillary data.
pub(crate) fn input(bytes: &[u8]) -> Input {
    Input {
        bytes: bytes.into(),
        ..Input::default()
    }
}

/// A read event.
pub(crate) fn rd(i: Input) -> Event {
    Event::In(i)
}

/// A read with these message credentials.
pub(crate) fn rdc(bytes: &[u8], creds: Creds) -> Event {
    Event::In(Input {
        creds: Some(creds),
        ..input(bytes)
    })
}

/// A read with no ancillary data.
pub(crate) fn rd0(bytes: &[u8]) -> Event {
    Event::In(input(bytes))
}

/// A read with these fds.
pub(crate) fn rdf(bytes: &[u8], fds: &[&str]) -> Event {
    Event::In(Input {
        fds: ids(fds),
        ..input(bytes)
    })
}

/// A read with credentials and fds.
pub(crate) fn rdcf(bytes: &[u8], creds: Creds, fds: &[&str]) -> Event {
    Event::In(Input {
        creds: Some(creds),
        fds: ids(fds),
        ..input(bytes)
    })
}

/// Expected output without ancillary data.
pub(crate) fn out(bytes: &[u8]) -> Event {
    Event::Out(Output {
        bytes: bytes.into(),
        ..Output::default()
    })
}

/// Expected output with the sender's own credentials attached.
pub(crate) fn out_creds(bytes: &[u8]) -> Event {
    Event::Out(Output {
        bytes: bytes.into(),
        own_credentials: true,
        fds: Vec::new(),
    })
}

/// Expected output with fds attached.
pub(crate) fn out_fds(bytes: &[u8], fds: &[&str]) -> Event {
    Event::Out(Output {
        bytes: bytes.into(),
        own_credentials: false,
        fds: ids(fds),
    })
}

/// The peer closed.
pub(crate) fn eof() -> Event {
    Event::Eof
}

/// The server's caller accepts.
pub(crate) fn accept() -> Event {
    Event::Decide {
        decision: Decision::Accept,
    }
}

/// The server's caller denies.
pub(crate) fn deny() -> Event {
    Event::Decide {
        decision: Decision::Deny,
    }
}

/// A misuse call and the error it must return.
pub(crate) fn misuse(call: MisuseCall, error: Option<&str>) -> Event {
    Event::Misuse {
        call,
        error: error.map(str::to_owned),
    }
}

/// The encoder queues a data frame.
pub(crate) fn push(payload: &[u8], fds: &[&str], error: Option<&str>) -> Event {
    Event::Push(Push {
        kind: FrameKind::Data,
        payload: payload.into(),
        shm: None,
        fds: ids(fds),
        error: error.map(str::to_owned),
    })
}

/// The encoder queues a shared-memory frame.
pub(crate) fn push_shm(
    size: u64,
    seals: u32,
    app: &[u8],
    fds: &[&str],
    error: Option<&str>,
) -> Event {
    Event::Push(Push {
        kind: FrameKind::Shm,
        payload: app.into(),
        shm: Some(Shm { size, seals }),
        fds: ids(fds),
        error: error.map(str::to_owned),
    })
}

/// The encoder sends what is queued.
pub(crate) fn flush() -> Event {
    Event::Flush
}

pub(crate) fn ids(fds: &[&str]) -> Vec<String> {
    fds.iter().map(|f| (*f).to_owned()).collect()
}

// ---- expectations ----

fn blank(outcome: Outcome) -> Expected {
    Expected {
        outcome,
        error: None,
        version: None,
        limits: None,
        peer: None,
        leftover: None,
        frames: None,
        dbus: None,
    }
}

/// Failed with this code.
pub fn fail(code: &str) -> Expected {
    Expected {
        error: Some(code.to_owned()),
        ..blank(Outcome::Failed)
    }
}

/// A decoder that failed with this code after (at most) these frames.
pub fn fail_after(code: &str, frames: Vec<FrameOut>) -> Expected {
    Expected {
        frames: Some(frames),
        ..fail(code)
    }
}

/// Authenticated at version 1.
pub fn authed(limits: WireLimits, peer: Option<Peer>, leftover: Leftover) -> Expected {
    Expected {
        version: Some(1),
        limits: Some(limits),
        peer,
        leftover: Some(leftover),
        ..blank(Outcome::Authenticated)
    }
}

/// The peer as reported.
pub fn peer(c: Creds, source: &str, pidfd: Option<&str>) -> Option<Peer> {
    Some(Peer {
        pid: c.pid,
        uid: c.uid,
        gid: c.gid,
        source: source.to_owned(),
        pidfd: pidfd.map(str::to_owned),
    })
}

/// What the channel receives.
pub(crate) fn left(bytes: &[u8], fds: &[&str], eof: bool) -> Leftover {
    Leftover {
        bytes: bytes.into(),
        fds: ids(fds),
        eof,
    }
}

/// Nothing for the channel.
pub fn nothing() -> Leftover {
    Leftover::default()
}

/// A decoder with no error and more input possible.
pub(crate) fn open(frames: Vec<FrameOut>) -> Expected {
    Expected {
        frames: Some(frames),
        ..blank(Outcome::Open)
    }
}

/// A decoder that saw a clean EOF.
pub fn closed(frames: Vec<FrameOut>) -> Expected {
    Expected {
        frames: Some(frames),
        ..blank(Outcome::Closed)
    }
}

/// An encoder whose calls all behaved as the events say.
pub(crate) fn ok() -> Expected {
    blank(Outcome::Ok)
}

/// A decoded data frame.
pub fn data(payload: &[u8], fds: &[&str]) -> FrameOut {
    FrameOut {
        kind: FrameKind::Data,
        payload: payload.into(),
        shm: None,
        fds: ids(fds),
    }
}

/// A decoded shared-memory frame.
pub fn shm(size: u64, seals: u32, app: &[u8], fd: &str) -> FrameOut {
    FrameOut {
        kind: FrameKind::Shm,
        payload: app.into(),
        shm: Some(Shm { size, seals }),
        fds: ids(&[fd]),
    }
}
