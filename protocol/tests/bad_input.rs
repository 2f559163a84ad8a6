//! Property: any byte sequence, any ancillary-data schedule and any order of
//! API calls ends in a defined state or a defined error: no panic, bounded
//! output and buffers, sticky errors, and every fd handed to the core is
//! dropped (closed) or delivered exactly once.

use arbitrary::{Arbitrary, Unstructured};
use mon_ipc::{
    ClientAuth, ClientConfig, Decoder, Error, Limits, ReadFlags, ServerAuth, ServerConfig,
    SocketCredentials, SocketKind, Step,
};
use mon_ipc_testkit::events::{Call, Event, Ids};
use mon_ipc_testkit::{Fd, Ledger, Rng, wire};

const SEEDS: u64 = 3000;

#[derive(Debug)]
struct Script {
    seqpacket: bool,
    mutual: bool,
    events: Vec<Event>,
}

fn script(seed: u64) -> Script {
    let bytes = Rng::new(seed).bytes(1024);
    let mut u = Unstructured::new(&bytes);
    let mut events = Vec::new();
    // Half the scripts open with a clean message, a quarter also accept,
    // so that the deep states (Decide, Done, leftover) get their share.
    let clean = Event::Message {
        flip: (0, 0, 0),
        creds: Some(PEER),
    };
    match seed % 4 {
        0 => events.extend([clean, Event::Step, Event::Accept]),
        1 => events.push(clean),
        _ => {}
    }
    events.extend(until_empty(&mut u));
    Script {
        seqpacket: seed % 5 == 0,
        mutual: seed % 3 == 0,
        events,
    }
}

/// Items drawn until the input runs out. (`arbitrary`'s own collections
/// stop with probability 1/2 after each item, `take_rest` included.)
fn until_empty<'a, T: Arbitrary<'a>>(u: &mut Unstructured<'a>) -> Vec<T> {
    let mut items = Vec::new();
    while !u.is_empty() {
        match T::arbitrary(u) {
            Ok(item) => items.push(item),
            Err(_) => break,
        }
    }
    items
}

/// The peer's credentials: those of the socket, and of every clean
/// message.
const PEER: Ids = Ids(1, 3, 3);

/// Everything minted was dropped exactly once (nothing was delivered).
fn all_dropped(seed: u64, ledger: &Ledger) {
    assert_eq!(
        ledger.dropped(),
        ledger.issued(),
        "seed {seed}: an fd leaked or was dropped twice"
    );
}

/// Feeds a script to one side through the common `Handshake` calls.
fn drive(seed: u64, s: &Script, server: bool) -> bool {
    let ledger = Ledger::new();
    let socket = if s.seqpacket {
        SocketKind::Seqpacket
    } else {
        SocketKind::Stream
    };
    let peer = SocketCredentials {
        ucred: Some(PEER.ucred()),
        groups: Some(vec![1, 2]),
        pidfd: Some(ledger.fd()),
    };
    let mut client = (!server).then(|| {
        ClientAuth::new(
            ClientConfig {
                mutual: s.mutual,
                socket,
                ..ClientConfig::default()
            },
            SocketCredentials {
                ucred: peer.ucred,
                groups: None,
                pidfd: None,
            },
        )
    });
    let mut srv = server.then(|| {
        ServerAuth::new(
            ServerConfig {
                socket,
                ..ServerConfig::default()
            },
            peer,
        )
    });
    // The correct message of the side's peer.
    let message = if server {
        wire::hello(true)
    } else {
        wire::reply(1, 0, 8, 1024)
    };
    let mut out = Vec::new();
    let mut failed: Option<Error> = None;
    let mut reached_done = false;
    for ev in &s.events {
        let step = match (&mut client, &mut srv) {
            (Some(c), _) => c.step(&mut out),
            (_, Some(sv)) => sv.step(&mut out),
            _ => unreachable!(),
        };
        reached_done |= step == Step::Done;
        if let Step::Failed(e) = step {
            assert!(
                Error::all().any(|k| k == e),
                "seed {seed}: unknown error {e:?}"
            );
            if let Some(prev) = failed {
                assert_eq!(prev, e, "seed {seed}: errors are sticky");
            }
            failed = Some(e);
        }
        assert!(
            out.len() <= 16,
            "seed {seed}: more than one handshake message out"
        );
        let r = match ev.call(message, &ledger) {
            Call::Receive(bytes, anc) => match (&mut client, &mut srv) {
                (Some(c), _) => c.receive(&bytes, anc),
                (_, Some(sv)) => sv.receive(&bytes, anc),
                _ => unreachable!(),
            },
            Call::Eof => match (&mut client, &mut srv) {
                (Some(c), _) => c.receive_eof(),
                (_, Some(sv)) => sv.receive_eof(),
                _ => unreachable!(),
            },
            Call::Step => Ok(()),
            Call::Decide(accept) => srv
                .as_mut()
                .map_or(Ok(()), |sv| if accept { sv.accept() } else { sv.deny() }),
        };
        if let (Err(e), Some(prev)) = (r, failed) {
            assert_eq!(
                e, prev,
                "seed {seed}: a failed side reports its first error"
            );
        }
    }
    // Whatever the state, finishing and dropping releases every fd.
    let outcome = match (client, srv) {
        (Some(c), _) => c.finish(),
        (_, Some(sv)) => sv.finish(),
        _ => unreachable!(),
    };
    drop(outcome);
    all_dropped(seed, &ledger);
    reached_done
}

#[test]
fn server_survives_any_input() {
    let done = (0..SEEDS)
        .filter(|&seed| drive(seed, &script(seed), true))
        .count();
    assert!(
        done > 50,
        "only {done} scripts reached Done: too few get far"
    );
}

#[test]
fn client_survives_any_input() {
    let done = (0..SEEDS)
        .filter(|&seed| drive(seed, &script(seed), false))
        .count();
    assert!(
        done > 50,
        "only {done} scripts reached Done: too few get far"
    );
}

#[derive(Arbitrary, Debug)]
enum DecoderEvent {
    Read {
        /// 0: read without draining the frames first (misuse).
        drain_first: u8,
        bytes: Vec<u8>,
        /// Prefix the read with a plausible header of this length and fds.
        header: Option<(u16, u8, bool)>,
        nfds: u8,
        ctrunc: bool,
        trunc: bool,
    },
    /// A well-formed data frame with its fds, as one read.
    Frame {
        len: u16,
        nfds: u8,
    },
    Eof,
    Drain,
}

#[derive(Debug)]
struct DecoderScript {
    seqpacket: bool,
    max_fds: u8,
    events: Vec<DecoderEvent>,
}

/// Returns every complete frame, checking each against the limits.
fn drain(dec: &mut Decoder<Fd>) -> Result<usize, Error> {
    let limits = dec.limits();
    let mut n = 0;
    while let Some(f) = dec.next_frame()? {
        assert!(f.payload.len() <= limits.max_payload() as usize);
        assert!(f.fds.len() <= usize::from(limits.max_fds()));
        n += 1;
    }
    Ok(n)
}

#[test]
fn decoder_survives_any_input() {
    const MAX_PAYLOAD: u32 = 1024;
    const MAX_READ: usize = 600;
    let mut frames = 0;
    for seed in 0..SEEDS {
        let bytes = Rng::new(seed).bytes(1024);
        let mut u = Unstructured::new(&bytes);
        let s = DecoderScript {
            seqpacket: u.arbitrary().unwrap(),
            max_fds: u.arbitrary().unwrap(),
            events: until_empty(&mut u),
        };
        let socket = if s.seqpacket {
            SocketKind::Seqpacket
        } else {
            SocketKind::Stream
        };
        let limits = Limits::new(s.max_fds % 6, MAX_PAYLOAD).unwrap();
        let mut dec = Decoder::new(limits, socket);
        let ledger = Ledger::new();
        let mut failed = None;
        for ev in &s.events {
            let r = match ev {
                DecoderEvent::Read {
                    drain_first,
                    bytes,
                    header,
                    nfds,
                    ctrunc,
                    trunc,
                } => {
                    if *drain_first != 0 {
                        frames += drain(&mut dec).unwrap_or(0);
                    }
                    let mut read = Vec::new();
                    if let Some((len, n, shm)) = header {
                        let h = mon_ipc::frame::Header {
                            len: u32::from(*len % 1100),
                            nfds: n % 6,
                            kind: u8::from(*shm),
                            reserved: 0,
                        };
                        read.extend(h.to_bytes());
                    }
                    read.extend(bytes);
                    read.truncate(MAX_READ);
                    let flags = ReadFlags {
                        ctrunc: *ctrunc,
                        trunc: *trunc,
                    };
                    dec.receive(&read, ledger.fds(usize::from(nfds % 6)), flags)
                }
                DecoderEvent::Frame { len, nfds } => {
                    let n = nfds % (limits.max_fds() + 1);
                    let len = usize::from(*len) % 200;
                    let h = mon_ipc::frame::Header {
                        len: len as u32,
                        nfds: n,
                        kind: 0,
                        reserved: 0,
                    };
                    let mut read = h.to_bytes().to_vec();
                    read.resize(8 + len, 0xAB);
                    frames += drain(&mut dec).unwrap_or(0);
                    dec.receive(&read, ledger.fds(usize::from(n)), ReadFlags::default())
                }
                DecoderEvent::Eof => dec.receive_eof(),
                DecoderEvent::Drain => drain(&mut dec).map(|n| frames += n),
            };
            match (r, failed) {
                (Err(e), None) => failed = Some(e),
                (Err(e), Some(prev)) => assert_eq!(e, prev, "seed {seed}: sticky"),
                (Ok(()), Some(prev)) => panic!("seed {seed}: success after {prev:?}"),
                (Ok(()), None) => {}
            }
            assert!(
                dec.buffered_bytes() <= 8 + MAX_PAYLOAD as usize + MAX_READ,
                "seed {seed}: buffer grew to {}",
                dec.buffered_bytes()
            );
            assert!(
                dec.held_fds() <= 2 * usize::from(limits.max_fds()),
                "seed {seed}"
            );
            if failed.is_some() && dec.next_frame().is_err() {
                // Start over on a fresh connection, keeping the fd log.
                dec = Decoder::new(limits, socket);
                failed = None;
            }
        }
        drop(dec);
        all_dropped(seed, &ledger);
    }
    eprintln!("{frames} frames decoded");
    assert!(
        frames > 1000,
        "only {frames} frames decoded: the inputs are too random"
    );
}
