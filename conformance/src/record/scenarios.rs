//! The recorded scenarios and the expectations that follow from them.

use std::os::fd::OwnedFd;

use mon_ipc::{
    ClientAuth, ClientConfig, CredentialPolicy, Encoder, Established, Kind, Limits, ServerAuth,
    ServerConfig, ShmHeader, SocketCredentials, SocketKind, Step, Ucred,
};
use mon_ipc_std::raw;

use super::live::{End, Got, peer_creds};
use mon_ipc_conformance_core::generate::draft::{
    Draft, authed, closed, codec_cfg, data, fail, fail_after, hs_config, lim_default, nothing,
    peer, shm,
};
use mon_ipc_conformance_core::model::{Creds, Event, FrameOut, Role, Socket};

/// One exchange to record.
pub(super) struct Scenario {
    pub(super) name: &'static str,
    socket: SocketKind,
    mutual: bool,
    deny: bool,
    /// Frames the client sends after the handshake: kind, payload, fd count.
    frames: Vec<(Kind, &'static [u8], usize)>,
    /// Send only the first half of the last frame, then close.
    hang_up: bool,
}

const SEALS: u32 = 0x1 | 0x2 | 0x4;

pub(super) fn all() -> Vec<Scenario> {
    let s = |name, socket, mutual, deny, frames, hang_up| Scenario {
        name,
        socket,
        mutual,
        deny,
        frames,
        hang_up,
    };
    let shm_kind = Kind::SharedMemory(ShmHeader {
        size: 4096,
        seals: SEALS,
    });
    use SocketKind::{Seqpacket, Stream};
    vec![
        s("plain", Stream, false, false, vec![], false),
        s("mutual", Stream, true, false, vec![], false),
        s("denied", Stream, false, true, vec![], false),
        s(
            "frames-0-1-many-fds",
            Stream,
            false,
            false,
            vec![
                (Kind::Data, b"zero", 0),
                (Kind::Data, b"one", 1),
                (Kind::Data, b"many", 5),
            ],
            false,
        ),
        s(
            "shm-frame",
            Stream,
            false,
            false,
            vec![(shm_kind, b"app", 1)],
            false,
        ),
        s(
            "hang-up-mid-frame",
            Stream,
            false,
            false,
            vec![
                (Kind::Data, b"whole", 0),
                (Kind::Data, b"cut in the middle", 1),
            ],
            true,
        ),
        s(
            "seqpacket-frames",
            Seqpacket,
            false,
            false,
            vec![(Kind::Data, b"rec", 1), (Kind::Data, b"", 0)],
            false,
        ),
        s("seqpacket-mutual", Seqpacket, true, false, vec![], false),
    ]
}

fn ucred(c: Creds) -> Ucred {
    Ucred::from_raw(c.pid, c.uid, c.gid)
}

fn sock(k: SocketKind) -> Socket {
    match k {
        SocketKind::Stream => Socket::Stream,
        SocketKind::Seqpacket => Socket::Seqpacket,
    }
}

/// An fd to send: any open file will do, the core never looks at it.
fn some_fd() -> Result<OwnedFd, String> {
    std::fs::File::open("/dev/null")
        .map(OwnedFd::from)
        .map_err(|e| format!("/dev/null: {e}"))
}

/// Names a driver error after the call that failed.
fn err(what: &'static str) -> impl Fn(mon_ipc_std::Error) -> String {
    move |e| format!("{what}: {e:?}")
}

/// Records one scenario; returns the server's, the client's and (with
/// frames) the receiving decoder's view.
pub(super) fn run(s: &Scenario) -> Result<Vec<Draft>, String> {
    let pair = mon_ipc_std::socketpair(s.socket).map_err(err("socketpair"))?;
    mon_ipc_std::set_nonblocking(&pair.server, true).map_err(err("O_NONBLOCK"))?;
    mon_ipc_std::set_nonblocking(&pair.client, true).map_err(err("O_NONBLOCK"))?;
    let client_seen = peer_creds(&pair.server)?;
    let server_seen = peer_creds(&pair.client)?;
    if s.mutual {
        raw::pass_credentials(&pair.client, true).map_err(err("SO_PASSCRED"))?;
    }
    let mut c = End::new(pair.client);
    let mut sv = End::new(pair.server);
    let policy = CredentialPolicy::default();
    let mut client = ClientAuth::<OwnedFd>::new(
        ClientConfig {
            limits: Limits::default(),
            mutual: s.mutual,
            socket: s.socket,
            policy,
        },
        SocketCredentials::new(ucred(server_seen)),
    );
    let mut server = ServerAuth::<OwnedFd>::new(
        ServerConfig {
            limits: Limits::default(),
            socket: s.socket,
            policy,
        },
        SocketCredentials::new(ucred(client_seen)),
    );
    let (c_ok, s_ok) = handshake(&mut c, &mut sv, &mut client, &mut server, s.deny)?;
    let server_hs: Vec<Event> = std::mem::take(&mut sv.log);
    let client_hs: Vec<Event> = std::mem::take(&mut c.log);
    let mut drafts = vec![
        server_view(s, client_seen, server_hs)?,
        client_view(s, server_seen, client_hs)?,
    ];
    if c_ok && s_ok && !s.frames.is_empty() {
        let est = client
            .finish()
            .map_err(|e| format!("client: {}", e.code()))?;
        drop(server.finish());
        raw::pass_credentials(sv.sock.as_ref().ok_or("closed")?, false)
            .map_err(err("SO_PASSCRED"))?;
        send_frames(s, &mut c, est)?;
        loop {
            match sv.recv(1 << 16)? {
                Got::Eof => break,
                Got::Data(..) => {}
                Got::WouldBlock => return Err("the server's read would block before EOF".into()),
            }
        }
        drafts.push(decoder_view(s, std::mem::take(&mut sv.log)));
    }
    Ok(drafts)
}

/// Both cores, alternating, until both have ended.
fn handshake(
    c: &mut End,
    sv: &mut End,
    client: &mut ClientAuth<OwnedFd>,
    server: &mut ServerAuth<OwnedFd>,
    deny: bool,
) -> Result<(bool, bool), String> {
    let (mut c_end, mut s_end) = (None, None);
    for _ in 0..10_000 {
        if s_end.is_none() {
            let mut out = Vec::new();
            match server.step(&mut out) {
                Step::NeedInput => match sv.recv(1 << 16)? {
                    Got::Data(b, anc) => drop(server.receive(&b, anc)),
                    Got::Eof => drop(server.receive_eof()),
                    Got::WouldBlock => {}
                },
                Step::Send(a) => sv.send(&out, a == mon_ipc::Attach::OwnCredentials, Vec::new())?,
                Step::Decide => {
                    let decision = if deny {
                        mon_ipc_conformance_core::model::Decision::Deny
                    } else {
                        mon_ipc_conformance_core::model::Decision::Accept
                    };
                    sv.log.push(Event::Decide { decision });
                    let _ = if deny { server.deny() } else { server.accept() };
                }
                Step::Done => s_end = Some(true),
                Step::Failed(_) => {
                    sv.close();
                    s_end = Some(false);
                }
            }
        }
        if c_end.is_none() {
            let mut out = Vec::new();
            match client.step(&mut out) {
                Step::NeedInput => match c.recv(1 << 16)? {
                    Got::Data(b, anc) => drop(client.receive(&b, anc)),
                    Got::Eof => drop(client.receive_eof()),
                    Got::WouldBlock => {}
                },
                Step::Send(a) => c.send(&out, a == mon_ipc::Attach::OwnCredentials, Vec::new())?,
                Step::Decide => {}
                Step::Done => c_end = Some(true),
                Step::Failed(_) => c_end = Some(false),
            }
        }
        if let (Some(a), Some(b)) = (c_end, s_end) {
            return Ok((a, b));
        }
    }
    Err("the handshake did not end".into())
}

/// The client sends the scenario's frames (the last one cut in half when
/// it hangs up), then closes.
fn send_frames(s: &Scenario, c: &mut End, est: Established<OwnedFd>) -> Result<(), String> {
    let mut enc = Encoder::<OwnedFd>::new(est.limits, est.socket);
    for (i, (kind, payload, nfds)) in s.frames.iter().enumerate() {
        let fds = (0..*nfds)
            .map(|_| some_fd())
            .collect::<Result<Vec<_>, _>>()?;
        enc.push_copy(*kind, payload, fds)
            .map_err(|e| format!("push: {}", e.code()))?;
        let cut = s.hang_up && i + 1 == s.frames.len();
        loop {
            let mut slices = [&[][..]; 8];
            let Some(t) = enc.transmit(&mut slices) else {
                break;
            };
            let bytes = slices[..t.slices].concat();
            let mut fds = Vec::new();
            enc.advance_with(bytes.len(), |fd| fds.push(fd))
                .map_err(|e| format!("advance: {}", e.code()))?;
            let bytes = if cut {
                &bytes[..bytes.len() / 2]
            } else {
                &bytes[..]
            };
            c.send(bytes, false, fds)?;
        }
    }
    c.close();
    Ok(())
}

fn first_in(events: &[Event]) -> Option<(Option<Creds>, Option<String>)> {
    events.iter().find_map(|e| match e {
        Event::In(i) => Some((i.creds, i.pidfd.clone())),
        _ => None,
    })
}

fn server_view(s: &Scenario, client: Creds, events: Vec<Event>) -> Result<Draft, String> {
    let cfg = hs_config(sock(s.socket), Some(client), None);
    let d = Draft::new(
        Role::ServerHandshake,
        cfg,
        &format!("recorded-{}", s.name),
        "The server's side of a recorded exchange. Expected: the first read's message credentials and SCM_PIDFD are reported (source both: SO_PEERCRED agrees), or the caller's denial.",
    )
    .flags(&["Recorded", "ReadBoundaries"])
    .events(events.clone());
    if s.deny {
        return Ok(d.expect(fail("denied")));
    }
    let Some((Some(creds), pidfd)) = first_in(&events) else {
        return Err("the kernel delivered the hello without credentials".into());
    };
    Ok(d.expect(authed(
        lim_default(),
        peer(creds, "both", pidfd.as_deref()),
        nothing(),
    )))
}

fn client_view(s: &Scenario, server: Creds, events: Vec<Event>) -> Result<Draft, String> {
    let cfg = hs_config(sock(s.socket), Some(server), Some(s.mutual));
    let d = Draft::new(
        Role::ClientHandshake,
        cfg,
        &format!("recorded-{}", s.name),
        "The client's side of a recorded exchange: its hello with its own credentials, the server's reply.",
    )
    .flags(&["Recorded", "ReadBoundaries"])
    .events(events.clone());
    if s.deny {
        return Ok(d.expect(fail("refused_denied")));
    }
    if !s.mutual {
        return Ok(d.expect(authed(lim_default(), None, nothing())));
    }
    let Some((Some(creds), pidfd)) = first_in(&events) else {
        return Err("the kernel delivered the mutual reply without credentials".into());
    };
    Ok(d.expect(authed(
        lim_default(),
        peer(creds, "both", pidfd.as_deref()),
        nothing(),
    )))
}

fn decoder_view(s: &Scenario, events: Vec<Event>) -> Draft {
    let mut next_fd = 0;
    let mut frames: Vec<FrameOut> = s
        .frames
        .iter()
        .map(|(kind, payload, nfds)| {
            let ids: Vec<String> = (0..*nfds)
                .map(|_| {
                    next_fd += 1;
                    format!("fd{next_fd}")
                })
                .collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            match kind {
                Kind::SharedMemory(h) => shm(h.size, h.seals, payload, refs[0]),
                Kind::Data => data(payload, &refs),
            }
        })
        .collect();
    let d = Draft::new(
        Role::FrameDecoder,
        codec_cfg(sock(s.socket), lim_default()),
        &format!("recorded-{}", s.name),
        "The server's reads after a recorded handshake. Expected: the frames as the client sent them, their fds in arrival order, then EOF.",
    )
    .flags(&["Recorded", "ReadBoundaries"])
    .events(events);
    if s.hang_up {
        frames.pop();
        d.expect(fail_after("eof_in_frame", frames))
    } else {
        d.expect(closed(frames))
    }
}
