//! `pair`: both cores connected through the in-memory kernel model, with
//! fuzz-chosen read sizes and faults on chosen `sendmsg`s: an fd dropped or
//! added, bytes cut (optionally with a hang-up), bytes flipped.
//!
//! Oracles, by what was injected:
//! - always: no panic, bounded decoder buffers, every fd delivered or
//!   dropped exactly once;
//! - no fault: both sides agree on the handshake (both done with the same
//!   limits and each other's credentials, or the refusal the other sent),
//!   and every frame either side sent arrives identical, with its fds;
//! - fd faults only: the frames a side receives are a prefix of those sent
//!   (a frame whose fds were tampered with is never delivered).
//!
//! Byte faults can forge any message (the kernel does not corrupt bytes,
//! and the protocol has no checksum), so they only get the first oracle.

use arbitrary::Arbitrary;
use mon_ipc::pair::{Read, Wire};
use mon_ipc::{
    Ancillary, ClientAuth, ClientConfig, Decoder, Encoder, Error, Established, Handshake, Kind,
    Limits, ReadFlags, ServerAuth, ServerConfig, SocketCredentials, SocketKind, Step, Ucred,
};

use mon_ipc_testkit::{Fd, Ledger};

/// What goes wrong with one `sendmsg`.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Fault {
    DropFd,
    AddFd,
    Cut { at: u16, hang_up: bool },
    Flip { at: u16, xor: u8 },
}

/// A frame to send: payload and fd count.
#[derive(Arbitrary, Debug)]
pub struct FrameIn {
    pub payload: Vec<u8>,
    pub nfds: u8,
}

/// The input.
#[derive(Arbitrary, Debug)]
pub struct Input {
    pub seqpacket: bool,
    pub mutual: bool,
    pub deny: bool,
    pub client_limits: (u8, u16),
    pub server_limits: (u8, u16),
    pub client_reads: Vec<u8>,
    pub server_reads: Vec<u8>,
    /// Faults by `sendmsg` index, counted over both directions.
    pub faults: Vec<(u8, Fault)>,
    pub early: Vec<FrameIn>,
    pub client_frames: Vec<FrameIn>,
    pub server_frames: Vec<FrameIn>,
}

const CLIENT: Ucred = Ucred::known(4242, 1000, 1000);
const SERVER: Ucred = Ucred::known(1, 0, 0);
/// The largest read the harness makes.
const MAX_READ: usize = 256 * 16;

type Frames = Vec<(Vec<u8>, Vec<u32>)>;

struct Net<'a> {
    input: &'a Input,
    ledger: &'a Ledger,
    to_server: Wire<Fd>,
    to_client: Wire<Fd>,
    sent: usize,
    reads: [usize; 2],
}

impl Net<'_> {
    /// One `sendmsg`, with the faults planned for it.
    fn send(&mut self, to_server: bool, bytes: &[u8], mut fds: Vec<Fd>) {
        let index = self.sent;
        self.sent += 1;
        let mut bytes = bytes.to_vec();
        let mut hang_up = false;
        // At most one fault per sendmsg: an fd dropped *and* one added on
        // the same message is a substitution, which no receiver can detect
        // (the count is right); a lone drop or addition always is.
        let fault = self
            .input
            .faults
            .iter()
            .find(|(i, _)| usize::from(*i) == index);
        if let Some((_, fault)) = fault {
            match *fault {
                Fault::DropFd => drop(fds.pop()),
                Fault::AddFd => fds.push(self.ledger.fd()),
                Fault::Cut { at, hang_up: h } => {
                    bytes.truncate(usize::from(at));
                    hang_up |= h;
                }
                Fault::Flip { at, xor } => {
                    if let Some(b) = bytes.get_mut(usize::from(at)) {
                        *b ^= xor;
                    }
                }
            }
        }
        let (wire, creds) = if to_server {
            (&mut self.to_server, CLIENT)
        } else {
            (&mut self.to_client, SERVER)
        };
        wire.send(&bytes, creds, fds);
        if hang_up {
            wire.close();
        }
    }

    /// One read by the client (`false`) or the server (`true`).
    fn read(&mut self, server: bool) -> Read<Fd> {
        let sizes = if server {
            &self.input.server_reads
        } else {
            &self.input.client_reads
        };
        let i = &mut self.reads[usize::from(server)];
        let size = match sizes.get(*i % sizes.len().max(1)) {
            Some(&n) if n > 0 && !self.input.seqpacket => usize::from(n),
            _ => MAX_READ,
        };
        *i += 1;
        if server {
            self.to_server.read(size)
        } else {
            self.to_client.read(size)
        }
    }
}

/// Steps one side once; returns `Some(result)` when it has ended, and
/// whether anything happened.
fn step_side<H: Handshake<Fd, Error = Error>>(
    net: &mut Net<'_>,
    side: &mut H,
    server: bool,
    decide: &mut impl FnMut(&mut H),
) -> (Option<Result<(), Error>>, bool) {
    let mut out = Vec::new();
    match side.step(&mut out) {
        Step::NeedInput => match net.read(server) {
            Read::Data(bytes, anc) => {
                let _ = side.receive(&bytes, anc);
                (None, true)
            }
            Read::Eof => {
                let _ = side.receive_eof();
                (None, true)
            }
            Read::WouldBlock => (None, false),
        },
        Step::Send(_) => {
            net.send(!server, &out, Vec::new());
            (None, true)
        }
        Step::Decide => {
            decide(side);
            (None, true)
        }
        Step::Done => (Some(Ok(())), true),
        Step::Failed(e) => {
            // The side closes its end.
            if server {
                net.to_client.close();
            } else {
                net.to_server.close();
            }
            (Some(Err(e)), true)
        }
    }
}

/// Runs one input.
pub fn run(input: &Input) {
    let ledger = Ledger::default();
    let socket = crate::socket(input.seqpacket);
    let limits = |(fds, payload): (u8, u16)| Limits::new(fds % 254, u32::from(payload)).unwrap();
    let (cl, sl) = (limits(input.client_limits), limits(input.server_limits));
    let mut net = Net {
        input,
        ledger: &ledger,
        to_server: Wire::new(socket),
        to_client: Wire::new(socket),
        sent: 0,
        reads: [0, 0],
    };
    net.to_server.passcred = true;
    net.to_client.passcred = input.mutual;
    let client_config = ClientConfig {
        limits: cl,
        mutual: input.mutual,
        socket,
        ..ClientConfig::default()
    };
    let server_config = ServerConfig {
        limits: sl,
        socket,
        ..ServerConfig::default()
    };
    let mut client = ClientAuth::new(client_config, SocketCredentials::new(SERVER));
    let mut server = ServerAuth::new(server_config, SocketCredentials::new(CLIENT));
    let (mut c_end, mut s_end) = (None, None);
    let mut early_sent = Frames::new();
    while c_end.is_none() || s_end.is_none() {
        let mut progress = false;
        if s_end.is_none() {
            let deny = input.deny;
            let (end, p) = step_side(&mut net, &mut server, true, &mut |s: &mut ServerAuth<
                Fd,
            >| {
                let _ = if deny { s.deny() } else { s.accept() };
            });
            if end == Some(Ok(())) {
                // Frames right behind the reply, before the client reads it.
                early_sent = send_frames(&mut net, cl.min(sl), socket, &input.early, false);
            }
            s_end = end;
            progress |= p;
        }
        if c_end.is_none() {
            let (end, p) = step_side(&mut net, &mut client, false, &mut |_: &mut ClientAuth<
                Fd,
            >| {});
            c_end = end;
            progress |= p;
        }
        if !progress {
            break;
        }
    }
    net.to_server.passcred = false;
    net.to_client.passcred = false;
    let c = client.finish();
    let s = server.finish();
    let faults = !input.faults.is_empty();
    let byte_faults = input
        .faults
        .iter()
        .any(|(_, f)| matches!(f, Fault::Cut { .. } | Fault::Flip { .. }));
    if !faults {
        agree(&c, &s, input.deny);
    }
    if let (Ok(c), Ok(s)) = (c, s) {
        let (client_sent, server_sent) = (
            send_frames(&mut net, c.limits, socket, &input.client_frames, true),
            send_frames(&mut net, s.limits, socket, &input.server_frames, false),
        );
        net.to_server.close();
        net.to_client.close();
        let (c_got, c_ok) = receive(&mut net, c, false);
        let (s_got, s_ok) = receive(&mut net, s, true);
        let c_want: Frames = early_sent.into_iter().chain(server_sent).collect();
        if !faults {
            assert_eq!((&c_got, c_ok), (&c_want, true), "client received");
            assert_eq!((&s_got, s_ok), (&client_sent, true), "server received");
        } else if !byte_faults {
            assert!(c_want.starts_with(&c_got), "client got a frame never sent");
            assert!(
                client_sent.starts_with(&s_got),
                "server got a frame never sent"
            );
            // A channel that ended cleanly lost nothing.
            assert!(
                !c_ok || c_got == c_want,
                "client: clean end, frames missing"
            );
            assert!(
                !s_ok || s_got == client_sent,
                "server: clean end, frames missing"
            );
        }
    }
    drop(net);
    ledger.assert_accounted();
}

/// Without faults the two sides must tell the same story.
fn agree(c: &Result<Established<Fd>, Error>, s: &Result<Established<Fd>, Error>, deny: bool) {
    match (c, s) {
        (Ok(c), Ok(s)) => {
            assert!(!deny);
            assert_eq!((c.limits, c.version), (s.limits, s.version));
            let client_seen = s.peer.as_ref().expect("the server always has a peer");
            assert_eq!(client_seen.ucred, CLIENT);
            if let Some(server_seen) = &c.peer {
                assert_eq!(server_seen.ucred, SERVER);
            }
        }
        (Err(c), Err(s)) => {
            let expected = match s.code() {
                "denied" => "refused_denied",
                other => panic!("server failed with {other} without a fault"),
            };
            assert_eq!(c.code(), expected);
        }
        (c, s) => panic!("sides disagree: client {c:?}, server {s:?}"),
    }
}

/// Queues and flushes frames; returns those accepted, with their fd ids.
fn send_frames(
    net: &mut Net<'_>,
    limits: Limits,
    socket: SocketKind,
    frames: &[FrameIn],
    to_server: bool,
) -> Frames {
    let mut enc = Encoder::<Fd>::new(limits, socket);
    let mut sent = Frames::new();
    for f in frames.iter().take(32) {
        let fds = net.ledger.fds(usize::from(f.nfds % 6));
        let ids = fds.iter().map(Fd::id).collect();
        if enc.push_copy(Kind::Data, &f.payload, fds).is_ok() {
            sent.push((f.payload.clone(), ids));
        }
    }
    loop {
        let mut slices = [&[][..]; 8];
        let Some(t) = enc.transmit(&mut slices) else {
            break;
        };
        let bytes: Vec<u8> = slices[..t.slices].concat();
        let mut fds = Vec::new();
        enc.advance_with(bytes.len(), |fd| fds.push(fd)).unwrap();
        net.send(to_server, &bytes, fds);
    }
    sent
}

/// Reads everything one side's wire holds; returns the frames and whether
/// the channel ended without error.
fn receive(net: &mut Net<'_>, est: Established<Fd>, server: bool) -> (Frames, bool) {
    let limits = est.limits;
    let mut dec = Decoder::new(limits, est.socket);
    let mut got = Frames::new();
    let mut ok = dec.receive_leftover(est.leftover).is_ok();
    drop(est.peer);
    while ok {
        loop {
            match dec.next_frame() {
                Ok(Some(f)) => {
                    let ids = f.fds.map(Fd::deliver).collect();
                    got.push((f.payload.to_vec(), ids));
                }
                Ok(None) => break,
                Err(_) => {
                    ok = false;
                    break;
                }
            }
        }
        assert!(dec.buffered_bytes() <= 8 + limits.max_payload() as usize + MAX_READ);
        if !ok || dec.is_closed() {
            break;
        }
        ok = match net.read(server) {
            Read::Data(
                bytes,
                Ancillary {
                    fds, ctrunc, trunc, ..
                },
            ) => dec
                .receive(&bytes, fds, ReadFlags { ctrunc, trunc })
                .is_ok(),
            Read::Eof => dec.receive_eof().is_ok(),
            Read::WouldBlock => unreachable!("both wires are closed"),
        };
    }
    (got, ok)
}
