//! Fuzz seeds from the test vectors: each case written as the exact bytes
//! from which `arbitrary` (1.5) builds the target's input, so a campaign
//! starts from every situation the vectors name.
//!
//! `arbitrary`'s encoding, as its source has it: integers little-endian,
//! `bool` is a byte's low bit, an enum variant is `(u32 * variants) >> 32`,
//! and every collection element is preceded by a "keep going" byte (1) and
//! ended by a 0. `tests/seeds.rs` decodes every seed back and compares, so
//! a change in `arbitrary`'s encoding fails the build instead of silently
//! weakening the seeds.

use mon_ipc_conformance_core::model::{
    Creds, Decision, Event as VEvent, Role, TestCase, TestGroup,
};
use mon_ipc_testkit::events::{Event, Ids};

use crate::frame_decoder::{self, Call};
use crate::frame_roundtrip::{self, FrameIn};
use crate::handshake::Script;

/// Bytes in `arbitrary`'s layout.
#[derive(Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    fn bool(&mut self, b: bool) {
        self.0.push(u8::from(b));
    }
    fn u8(&mut self, x: u8) {
        self.0.push(x);
    }
    fn u16(&mut self, x: u16) {
        self.0.extend(x.to_le_bytes());
    }
    fn u32(&mut self, x: u32) {
        self.0.extend(x.to_le_bytes());
    }
    fn u64(&mut self, x: u64) {
        self.0.extend(x.to_le_bytes());
    }
    /// Variant `k` of `n`: the smallest `u32` that maps to it.
    fn variant(&mut self, k: u32, n: u32) {
        let v = (u64::from(k) << 32).div_ceil(u64::from(n));
        self.u32(v as u32);
    }
    fn items<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        for item in items {
            self.bool(true);
            each(self, item);
        }
        self.bool(false);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.items(b, |e, x| e.u8(*x));
    }
    fn option<T>(&mut self, o: &Option<T>, each: impl FnOnce(&mut Self, &T)) {
        self.bool(o.is_some());
        if let Some(x) = o {
            each(self, x);
        }
    }
    fn ids(&mut self, ids: &Ids) {
        self.u8(ids.0);
        self.u8(ids.1);
        self.u8(ids.2);
    }
}

/// The harness's small credential alphabet closest to `c` (see `Ids`).
fn ids(c: &Creds) -> Ids {
    let id = |x: u32| match x {
        65534 => 0,
        u32::MAX => 1,
        0 => 2,
        _ => 3,
    };
    Ids(u8::from(c.pid != 0), id(c.uid), id(c.gid))
}

/// A handshake case as a `client_auth` / `server_auth` script.
pub fn script(group: &TestGroup, case: &TestCase) -> Script {
    let cfg = &group.config;
    let peer = cfg.peer_socket.as_ref();
    let events = case
        .events
        .iter()
        .filter_map(|ev| match ev {
            VEvent::In(i) => Some(Event::Read {
                bytes: i.bytes.0.clone(),
                creds: i.creds.as_ref().map(ids),
                pidfd: i.pidfd.is_some(),
                nfds: i.fds.len().min(255) as u8,
                ctrunc: i.ctrunc,
                trunc: i.trunc,
            }),
            VEvent::Eof => Some(Event::Eof),
            VEvent::Out(_) => Some(Event::Step),
            VEvent::Decide { decision } => Some(match decision {
                Decision::Accept => Event::Accept,
                Decision::Deny => Event::Deny,
            }),
            _ => None,
        })
        .collect();
    Script {
        seqpacket: cfg.socket == mon_ipc_conformance_core::model::Socket::Seqpacket,
        mutual: cfg.mutual.unwrap_or(false),
        no_message_creds: cfg.credential_policy.is_some_and(|p| {
            p.message_credentials == mon_ipc_conformance_core::model::MessageCreds::Unavailable
        }),
        socket: peer.and_then(|p| p.credentials.as_ref()).map(ids),
        socket_pidfd: peer.is_some_and(|p| p.pidfd.is_some()),
        events,
    }
}

/// Encodes a script.
pub fn encode_script(s: &Script) -> Vec<u8> {
    let mut e = Enc::default();
    e.bool(s.seqpacket);
    e.bool(s.mutual);
    e.bool(s.no_message_creds);
    e.option(&s.socket, Enc::ids);
    e.bool(s.socket_pidfd);
    e.items(&s.events, |e, ev| match ev {
        Event::Read {
            bytes,
            creds,
            pidfd,
            nfds,
            ctrunc,
            trunc,
        } => {
            e.variant(0, 6);
            e.bytes(bytes);
            e.option(creds, Enc::ids);
            e.bool(*pidfd);
            e.u8(*nfds);
            e.bool(*ctrunc);
            e.bool(*trunc);
        }
        Event::Message { flip, creds } => {
            e.variant(1, 6);
            e.u8(flip.0);
            e.u8(flip.1);
            e.u8(flip.2);
            e.option(creds, Enc::ids);
        }
        Event::Eof => e.variant(2, 6),
        Event::Step => e.variant(3, 6),
        Event::Accept => e.variant(4, 6),
        Event::Deny => e.variant(5, 6),
    });
    e.0
}

/// A codec group's limits (every codec group has them; the loader checks).
fn limits(
    cfg: &mon_ipc_conformance_core::model::Config,
) -> mon_ipc_conformance_core::model::WireLimits {
    cfg.limits
        .unwrap_or(mon_ipc_conformance_core::model::WireLimits {
            max_fds: u32::from(mon_ipc::DEFAULT_MAX_FDS),
            max_payload: mon_ipc::DEFAULT_MAX_PAYLOAD,
        })
}

/// A decoder case as a `frame_decoder` input.
pub fn decoder_input(group: &TestGroup, case: &TestCase) -> frame_decoder::Input {
    let cfg = &group.config;
    let mut calls: Vec<Call> = case
        .events
        .iter()
        .filter_map(|ev| match ev {
            VEvent::In(i) => Some(Call::Read {
                bytes: i.bytes.0.clone(),
                nfds: i.fds.len().min(255) as u8,
                ctrunc: i.ctrunc,
                trunc: i.trunc,
                drain_first: true,
            }),
            VEvent::Eof => Some(Call::Eof),
            _ => None,
        })
        .collect();
    calls.push(Call::Drain);
    frame_decoder::Input {
        seqpacket: cfg.socket == mon_ipc_conformance_core::model::Socket::Seqpacket,
        max_fds: limits(cfg).max_fds.min(253) as u8,
        max_payload: limits(cfg).max_payload.min(u32::from(u16::MAX)) as u16,
        calls,
    }
}

/// Encodes a decoder input.
pub fn encode_decoder(i: &frame_decoder::Input) -> Vec<u8> {
    let mut e = Enc::default();
    e.bool(i.seqpacket);
    e.u8(i.max_fds);
    e.u16(i.max_payload);
    e.items(&i.calls, |e, c| match c {
        Call::Read {
            bytes,
            nfds,
            ctrunc,
            trunc,
            drain_first,
        } => {
            e.variant(0, 4);
            e.bytes(bytes);
            e.u8(*nfds);
            e.bool(*ctrunc);
            e.bool(*trunc);
            e.bool(*drain_first);
        }
        Call::Frame {
            len,
            nfds,
            kind,
            payload,
            fds,
        } => {
            e.variant(1, 4);
            e.u16(*len);
            e.u8(*nfds);
            e.u8(*kind);
            e.u16(*payload);
            e.u8(*fds);
        }
        Call::Eof => e.variant(2, 4),
        Call::Drain => e.variant(3, 4),
    });
    e.0
}

/// An encoder case as a `frame_roundtrip` input.
pub fn roundtrip_input(group: &TestGroup, case: &TestCase) -> frame_roundtrip::Input {
    let cfg = &group.config;
    let frames = case
        .events
        .iter()
        .filter_map(|ev| match ev {
            VEvent::Push(p) => Some(FrameIn {
                payload: p.payload.0.clone(),
                nfds: p.fds.len().min(255) as u8,
                shm: p.shm.map(|s| (s.size, s.seals)),
                shared: false,
            }),
            _ => None,
        })
        .collect();
    frame_roundtrip::Input {
        seqpacket: cfg.socket == mon_ipc_conformance_core::model::Socket::Seqpacket,
        max_fds: limits(cfg).max_fds.min(253) as u8,
        frames,
        writes: Vec::new(),
        reads: Vec::new(),
    }
}

/// Encodes a roundtrip input.
pub fn encode_roundtrip(i: &frame_roundtrip::Input) -> Vec<u8> {
    let mut e = Enc::default();
    e.bool(i.seqpacket);
    e.u8(i.max_fds);
    e.items(&i.frames, |e, f| {
        e.bytes(&f.payload);
        e.u8(f.nfds);
        e.option(&f.shm, |e, (size, seals)| {
            e.u64(*size);
            e.u32(*seals);
        });
        e.bool(f.shared);
    });
    e.bytes(&i.writes);
    e.bytes(&i.reads);
    e.0
}

/// The target a case seeds, and its seed bytes; `None` for a role no
/// target exercises (the D-Bus profile has no fuzz target yet: its cases
/// still reach `vector_split`, which replays every re-chunkable vector).
pub fn seed(group: &TestGroup, case: &TestCase) -> Option<(&'static str, Vec<u8>)> {
    Some(match group.role {
        Role::ClientHandshake => ("client_auth", encode_script(&script(group, case))),
        Role::ServerHandshake => ("server_auth", encode_script(&script(group, case))),
        Role::FrameDecoder => ("frame_decoder", encode_decoder(&decoder_input(group, case))),
        Role::FrameEncoder => (
            "frame_roundtrip",
            encode_roundtrip(&roundtrip_input(group, case)),
        ),
        Role::DbusClient | Role::DbusServer => return None,
    })
}
