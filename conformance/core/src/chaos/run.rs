//! Running a scenario: both handshakes, then the frames, through [`Net`].

use mon_ipc::pair::{Read, Wire};
use mon_ipc::{
    ClientAuth, ClientConfig, CredentialPolicy, Decoder, Encoder, Error, Established, Handshake,
    Kind, Limits, ReadFlags, ServerAuth, ServerConfig, SocketCredentials, SocketKind, Step,
};

use super::net::{Dir, Net, show};
use super::scenario::Scenario;
use super::{CLIENT, SERVER};
use crate::{Fd, Ledger};

/// What one run observed.
#[derive(Debug, Default)]
pub struct Observed {
    /// The client's handshake outcome (error code or "done").
    pub client: String,
    /// The server's.
    pub server: String,
    /// Limits each side negotiated, if done.
    pub limits: (Option<Limits>, Option<Limits>),
    /// Frames sent, in order, per direction (payload, fd ids).
    pub sent: Vec<(bool, Vec<u8>, Vec<String>)>,
    /// Frames received, per direction (from_client, payload, fd ids).
    pub received: Vec<(bool, Vec<u8>, Vec<String>)>,
    /// Channel errors seen by the receiver of each direction.
    pub channel_errors: Vec<(bool, String)>,
    /// Index of the first faulted sendmsg, and how many sendmsgs the
    /// handshake used.
    pub first_fault: Option<usize>,
    /// sendmsgs before the channel phase.
    pub handshake_msgs: usize,
    /// Per direction: frames fully sent before the first fault.
    pub clean_frames: Vec<(bool, usize)>,
    /// The transcript, when asked for.
    pub log: Vec<String>,
    /// A bound that was broken, if any.
    pub bound_broken: Option<String>,
}

/// Runs a scenario; with `log`, records one line per event.
pub fn run(s: &Scenario, log: bool) -> (Observed, Ledger) {
    let ledger = Ledger::new();
    let socket = if s.seqpacket {
        SocketKind::Seqpacket
    } else {
        SocketKind::Stream
    };
    let mut net = Net {
        to_server: Wire::new(socket),
        to_client: Wire::new(socket),
        sent: 0,
        faults: s.faults.clone(),
        first_fault: None,
        ledger: ledger.clone(),
        reads: s.reads.clone(),
        read_at: 0,
        log: log.then(Vec::new),
    };
    net.to_server.passcred = true;
    net.to_client.passcred = s.mutual;
    let policy = CredentialPolicy::default();
    let mut client = ClientAuth::new(
        ClientConfig {
            limits: s.client_limits,
            mutual: s.mutual,
            socket,
            policy,
        },
        SocketCredentials::new(SERVER),
    );
    let mut server = ServerAuth::new(
        ServerConfig {
            limits: s.server_limits,
            socket,
            policy,
        },
        SocketCredentials::new(CLIENT),
    );
    let (c_end, s_end) = handshake(&mut net, &mut client, &mut server, s.deny);
    // Both sides turn SO_PASSCRED off once the handshake message is in.
    net.to_server.passcred = false;
    net.to_client.passcred = false;
    let mut obs = Observed {
        handshake_msgs: net.sent,
        ..Observed::default()
    };
    let c = finish_side(client.finish(), c_end, &mut net, "client");
    let sv = finish_side(server.finish(), s_end, &mut net, "server");
    obs.client = c.0;
    obs.server = sv.0;
    if let (Some(ce), Some(se)) = (c.1, sv.1) {
        obs.limits = (Some(ce.limits), Some(se.limits));
        channel(s, &mut net, ce, se, &mut obs);
    }
    obs.first_fault = net.first_fault;
    obs.log = net.log.take().unwrap_or_default();
    (obs, ledger)
}

fn finish_side(
    r: Result<Established<Fd>, Error>,
    stepped: bool,
    net: &mut Net,
    who: &str,
) -> (String, Option<Established<Fd>>) {
    match r {
        Ok(est) if stepped => {
            let peer = est
                .peer
                .as_ref()
                .map_or("no peer credentials".to_owned(), |p| {
                    format!("peer {} ({})", show(p.ucred), p.source.name())
                });
            net.say(format!(
                "{who} done: {peer}, limits {} fds / {} bytes",
                est.limits.max_fds(),
                est.limits.max_payload()
            ));
            ("done".to_owned(), Some(est))
        }
        Ok(_) => ("stalled".to_owned(), None),
        Err(e) => {
            net.say(format!("{who} failed: {}", e.code()));
            (e.code().to_owned(), None)
        }
    }
}

/// Both handshakes, alternating, until neither can progress. Returns
/// whether each side reached `Done`.
fn handshake(
    net: &mut Net,
    client: &mut ClientAuth<Fd>,
    server: &mut ServerAuth<Fd>,
    deny: bool,
) -> (bool, bool) {
    let (mut c_end, mut s_end) = (None, None);
    for _ in 0..10_000 {
        let mut progress = false;
        if s_end.is_none() {
            let mut out = Vec::new();
            match server.step(&mut out) {
                Step::NeedInput => progress |= feed(net, Dir::ToServer, server),
                Step::Send(a) => {
                    let creds = (a == mon_ipc::Attach::OwnCredentials).then_some(SERVER);
                    net.send(Dir::ToClient, &out, creds, Vec::new());
                    progress = true;
                }
                Step::Decide => {
                    net.say(format!(
                        "server decides: {}",
                        if deny { "deny" } else { "accept" }
                    ));
                    let _ = if deny { server.deny() } else { server.accept() };
                    progress = true;
                }
                Step::Done => s_end = Some(true),
                Step::Failed(_) => {
                    net.to_client.close();
                    s_end = Some(false);
                }
            }
        }
        if c_end.is_none() {
            let mut out = Vec::new();
            match client.step(&mut out) {
                Step::NeedInput => progress |= feed(net, Dir::ToClient, client),
                Step::Send(_) => {
                    net.send(Dir::ToServer, &out, Some(CLIENT), Vec::new());
                    progress = true;
                }
                Step::Decide => {}
                Step::Done => c_end = Some(true),
                Step::Failed(_) => {
                    net.to_server.close();
                    c_end = Some(false);
                }
            }
        }
        if (c_end.is_some() && s_end.is_some()) || !progress {
            break;
        }
    }
    (c_end == Some(true), s_end == Some(true))
}

fn feed<H: Handshake<Fd>>(net: &mut Net, dir: Dir, side: &mut H) -> bool {
    match net.read(dir) {
        Read::Data(b, anc) => {
            let _ = side.receive(&b, anc);
            true
        }
        Read::Eof => {
            let _ = side.receive_eof();
            true
        }
        Read::WouldBlock => false,
    }
}

/// One side's channel.
struct Chan {
    enc: Encoder<Fd>,
    dec: Decoder<Fd>,
    failed: bool,
}

fn chan(est: Established<Fd>, obs: &mut Observed, from_client: bool) -> Chan {
    let mut dec = Decoder::new(est.limits, est.socket);
    let failed = dec.receive_leftover(est.leftover).is_err();
    if failed {
        obs.channel_errors.push((from_client, "leftover".into()));
    }
    Chan {
        enc: Encoder::new(est.limits, est.socket),
        dec,
        failed,
    }
}

fn channel(
    s: &Scenario,
    net: &mut Net,
    ce: Established<Fd>,
    se: Established<Fd>,
    obs: &mut Observed,
) {
    let lim = ce.limits;
    // The client's decoder receives what the server sends, and vice versa.
    let mut client = chan(ce, obs, false);
    let mut server = chan(se, obs, true);
    let mut clean = [0usize; 2];
    for (i, f) in s.frames.iter().enumerate() {
        let (tx, dir) = if f.from_client {
            (&mut client, Dir::ToServer)
        } else {
            (&mut server, Dir::ToClient)
        };
        let ids: Vec<String> = (0..f.nfds).map(|k| format!("f{i}.{k}")).collect();
        let fds = net.ledger.issue_all(&ids);
        if tx.enc.push_copy(Kind::Data, &f.payload, fds).is_err() {
            continue;
        }
        let before = net.first_fault;
        loop {
            let mut slices = [&[][..]; 8];
            let Some(t) = tx.enc.transmit(&mut slices) else {
                break;
            };
            let bytes = slices[..t.slices].concat();
            let mut sent = Vec::new();
            if tx
                .enc
                .advance_with(bytes.len(), |fd| sent.push(fd))
                .is_err()
            {
                break;
            }
            let creds = None;
            net.send(dir, &bytes, creds, sent);
        }
        obs.sent.push((f.from_client, f.payload.clone(), ids));
        if before.is_none() && net.first_fault.is_none() {
            clean[usize::from(f.from_client)] += 1;
        }
        // The receiver reads everything queued.
        let rx = if f.from_client {
            &mut server
        } else {
            &mut client
        };
        receive(net, dir, rx, f.from_client, lim, obs);
    }
    obs.clean_frames = vec![(false, clean[0]), (true, clean[1])];
}

fn receive(
    net: &mut Net,
    dir: Dir,
    rx: &mut Chan,
    from_client: bool,
    lim: Limits,
    obs: &mut Observed,
) {
    let mut biggest_read = 0;
    for _ in 0..10_000 {
        if rx.failed {
            // After a channel error the connection is closed: drain and drop.
            while let Read::Data(..) = net.read(dir) {}
            return;
        }
        loop {
            match rx.dec.next_frame() {
                Ok(Some(f)) => {
                    let ids: Vec<String> = f.fds.map(|fd| fd.id()).collect();
                    net.say(format!(
                        "{} frame {} bytes{}: {}",
                        if from_client { "server" } else { "client" },
                        f.payload.len(),
                        if ids.is_empty() {
                            String::new()
                        } else {
                            format!(" fds={ids:?}")
                        },
                        hex::encode(&f.payload)
                    ));
                    obs.received.push((from_client, f.payload.to_vec(), ids));
                }
                Ok(None) => break,
                Err(e) => {
                    obs.channel_errors.push((from_client, e.code().to_owned()));
                    net.say(format!("channel error: {}", e.code()));
                    rx.failed = true;
                    break;
                }
            }
        }
        if rx.failed {
            continue;
        }
        match net.read(dir) {
            Read::Data(b, anc) => {
                biggest_read = biggest_read.max(b.len());
                let flags = ReadFlags {
                    ctrunc: anc.ctrunc,
                    trunc: anc.trunc,
                };
                if let Err(e) = rx.dec.receive(&b, anc.fds, flags) {
                    obs.channel_errors.push((from_client, e.code().to_owned()));
                    net.say(format!("channel error: {}", e.code()));
                    rx.failed = true;
                }
                let max_bytes = 8 + lim.max_payload() as usize + biggest_read;
                if rx.dec.buffered_bytes() > max_bytes {
                    obs.bound_broken = Some(format!(
                        "{} bytes buffered > {max_bytes}",
                        rx.dec.buffered_bytes()
                    ));
                }
                let max_fds = 2 * usize::from(lim.max_fds());
                if rx.dec.held_fds() > max_fds {
                    obs.bound_broken = Some(format!("{} fds held > {max_fds}", rx.dec.held_fds()));
                }
            }
            Read::Eof => {
                let mut r = rx.dec.receive_eof();
                while r.is_ok() {
                    match rx.dec.next_frame() {
                        Ok(Some(f)) => {
                            let ids = f.fds.map(|fd| fd.id()).collect();
                            obs.received.push((from_client, f.payload.to_vec(), ids));
                        }
                        Ok(None) => break,
                        Err(e) => r = Err(e),
                    }
                }
                if let Err(e) = r {
                    obs.channel_errors.push((from_client, e.code().to_owned()));
                    net.say(format!("channel error: {}", e.code()));
                }
                rx.failed = true;
                return;
            }
            Read::WouldBlock => return,
        }
    }
}
