//! Property: the outcome of an exchange does not depend on how the kernel
//! splits reads. The same scenario (handshake, frames the server sends right
//! behind its reply, frames both ways with fds) runs with every read taking
//! everything, one byte, and random sizes; all three must agree on every
//! byte and fd, and every fd must end delivered or dropped exactly once.
//!
//! Scenarios come from `arbitrary` over bytes drawn from fixed seeds, so a
//! failure names its seed.

use arbitrary::{Arbitrary, Unstructured};
use mon_ipc::pair::{Pair, ReadSizes};
use mon_ipc::{ClientConfig, Limits, ServerConfig, SocketKind};
use mon_ipc_testkit::Rng;
use mon_ipc_testkit::{Fd, Ledger};

const SEEDS: u64 = 1500;

#[derive(Arbitrary, Debug, Clone)]
struct FrameSpec {
    payload: Vec<u8>,
    nfds: u8,
}

#[derive(Debug, Clone)]
struct Scenario {
    seqpacket: bool,
    mutual: bool,
    client_fds: u8,
    server_fds: u8,
    client_payload: u16,
    /// The server's caller denies when this is 0 mod 8.
    deny: u8,
    /// Each frame's sender: 0 the server right behind its reply, 1 the
    /// client, 2 the server. Last, so that it takes the rest of the input.
    frames: Vec<(u8, FrameSpec)>,
}

impl Scenario {
    fn frames(&self, who: u8) -> impl Iterator<Item = &FrameSpec> {
        self.frames
            .iter()
            .filter(move |(w, _)| w % 3 == who)
            .map(|(_, f)| f)
    }
}

/// What one run observed, comparable across chunkings.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    handshake: Result<(), &'static str>,
    client_sent: Vec<Result<(), &'static str>>,
    server_sent: Vec<Result<(), &'static str>>,
    client_got: Result<Frames, &'static str>,
    server_got: Result<Frames, &'static str>,
}

fn run(s: &Scenario, reads: impl Fn() -> ReadSizes) -> (Observed, Ledger, u32) {
    let log = Ledger::new();
    let mut next_id = 0u32;
    // Mostly within any limit, sometimes beyond the negotiated one.
    let mut fds = |n: u8| -> Vec<Fd> {
        let n = if n >= 224 { n % 16 } else { n % 4 };
        (0..n)
            .map(|_| {
                next_id += 1;
                log.issue(next_id)
            })
            .collect()
    };
    let socket = if s.seqpacket {
        SocketKind::Seqpacket
    } else {
        SocketKind::Stream
    };
    let client = ClientConfig {
        limits: Limits::new(2 + s.client_fds % 8, u32::from(s.client_payload)).unwrap(),
        mutual: s.mutual,
        socket,
        ..ClientConfig::default()
    };
    let server = ServerConfig {
        limits: Limits::new(s.server_fds % 10, 1 << 16).unwrap(),
        socket,
        ..ServerConfig::default()
    };
    let mut pair = Pair::new(client, server);
    pair.accept = s.deny % 8 != 0;
    pair.client_reads = reads();
    pair.server_reads = reads();
    pair.server_early = s
        .frames(0)
        .map(|f| (f.payload.clone(), fds(f.nfds)))
        .collect();
    let handshake = pair.handshake().map_err(|e| e.code());
    let mut client_sent = Vec::new();
    let mut server_sent = Vec::new();
    let (mut client_got, mut server_got) = (Ok(vec![]), Ok(vec![]));
    if handshake.is_ok() {
        for f in s.frames(1) {
            let r = pair.client_sends(&f.payload, fds(f.nfds));
            client_sent.push(r.map_err(|e| e.code()));
        }
        for f in s.frames(2) {
            let r = pair.server_sends(&f.payload, fds(f.nfds));
            server_sent.push(r.map_err(|e| e.code()));
        }
        pair.to_client.close();
        pair.to_server.close();
        client_got = owned(pair.client_receives_all());
        server_got = owned(pair.server_receives_all());
    }
    drop(pair);
    let observed = Observed {
        handshake,
        client_sent,
        server_sent,
        client_got,
        server_got,
    };
    (observed, log, next_id)
}

type Frames = Vec<(Vec<u8>, Vec<u32>)>;

fn owned(r: Result<Vec<(bytes::Bytes, Vec<Fd>)>, mon_ipc::Error>) -> Result<Frames, &'static str> {
    r.map(|frames| {
        frames
            .into_iter()
            .map(|(p, fds)| (p.to_vec(), fds.into_iter().map(Fd::deliver).collect()))
            .collect()
    })
    .map_err(|e| e.code())
}

/// Every fd created is delivered or dropped, exactly once.
fn assert_accounted(seed: u64, o: &Observed, log: &Ledger, created: u32) {
    let mut seen = log.dropped();
    for got in [&o.client_got, &o.server_got].into_iter().flatten() {
        for (_, ids) in got {
            seen.extend(ids);
        }
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=created).collect::<Vec<_>>(),
        "seed {seed}: fds lost or doubled"
    );
}

fn scenario(seed: u64) -> Scenario {
    let bytes = Rng::new(seed).bytes(1024);
    let mut u = Unstructured::new(&bytes);
    let mut any = || u8::arbitrary(&mut u).unwrap_or(1);
    let (seqpacket, mutual) = (any() % 2 == 0, any() % 2 == 0);
    let (client_fds, server_fds, deny) = (any(), any(), any());
    let client_payload = u16::from_le_bytes([any(), any()]);
    // Frames until the input runs out (`arbitrary`'s own collections stop
    // with probability 1/2 after each item).
    let mut frames = Vec::new();
    while let Ok(f) = <(u8, FrameSpec)>::arbitrary(&mut u) {
        if u.is_empty() {
            break;
        }
        frames.push(f);
    }
    Scenario {
        seqpacket,
        mutual,
        client_fds,
        server_fds,
        client_payload,
        deny,
        frames,
    }
}

#[test]
fn chunking_does_not_change_the_outcome() {
    let mut delivered_frames = 0;
    let mut with_early = 0;
    for seed in 0..SEEDS {
        let s = scenario(seed);
        let (whole, log, n) = run(&s, || ReadSizes::Fixed(usize::MAX));
        assert_accounted(seed, &whole, &log, n);
        if !s.seqpacket {
            let (bytewise, log, n) = run(&s, || ReadSizes::Fixed(1));
            assert_accounted(seed, &bytewise, &log, n);
            assert_eq!(whole, bytewise, "seed {seed}: byte-at-a-time differs");
            let mut rng = Rng::new(seed ^ 0xC0FFEE);
            let sizes: Vec<usize> = (0..4096)
                .map(|_| 1 + (rng.next_u64() % 40) as usize)
                .collect();
            let (random, log, n) = run(&s, move || {
                let sizes = sizes.clone();
                let mut i = 0;
                ReadSizes::Each(Box::new(move || {
                    i += 1;
                    sizes[i % sizes.len()]
                }))
            });
            assert_accounted(seed, &random, &log, n);
            assert_eq!(whole, random, "seed {seed}: random chunks differ");
        }
        for got in [&whole.server_got, &whole.client_got].into_iter().flatten() {
            delivered_frames += got.len();
        }
        if whole.handshake.is_ok() && s.frames(0).next().is_some() {
            with_early += 1;
        }
    }
    // The property is only worth something if the scenarios exercise it.
    assert!(
        delivered_frames > 2500,
        "only {delivered_frames} frames delivered"
    );
    eprintln!("{delivered_frames} frames delivered, {with_early} runs with early frames");
    assert!(with_early > 250, "only {with_early} runs with early frames");
}

#[test]
fn an_ordinary_exchange_delivers_everything() {
    let s = Scenario {
        seqpacket: false,
        mutual: true,
        client_fds: 4,
        server_fds: 4,
        client_payload: 1000,
        deny: 1,
        frames: vec![
            (0, spec(b"early", 2)),
            (1, spec(b"c1", 0)),
            (2, spec(&[9; 999], 1)),
            (1, spec(b"c2", 3)),
        ],
    };
    for reads in [usize::MAX, 1, 7] {
        let (o, log, n) = run(&s, || ReadSizes::Fixed(reads));
        assert_eq!(o.handshake, Ok(()));
        assert_eq!(
            o.server_got,
            Ok(vec![
                (b"c1".to_vec(), vec![]),
                (b"c2".to_vec(), vec![3, 4, 5])
            ])
        );
        assert_eq!(
            o.client_got,
            Ok(vec![
                (b"early".to_vec(), vec![1, 2]),
                (vec![9; 999], vec![6])
            ])
        );
        assert_eq!(log.dropped(), Vec::<u32>::new());
        assert_eq!(n, 6);
    }
}

fn spec(payload: &[u8], nfds: u8) -> FrameSpec {
    FrameSpec {
        payload: payload.to_vec(),
        nfds,
    }
}
