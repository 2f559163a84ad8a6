//! Zero heap allocations per frame in steady state, through the driver's
//! `Channel` on real sockets: a count, not a timing.
//!
//! `allocation_counter` (a counting global allocator, per thread, so that
//! parallel tests do not disturb each other; a `realloc` counts as an
//! allocation) measures each test: it makes a connection with the real
//! handshake, warms both channels up, then, in one thread, sends and
//! receives many more frames and counts the allocations of the sender and
//! the receiver together.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use allocation_counter::measure;
use mon_ipc_std::{Channel, ClientOptions, Limits, ServerOptions, SocketKind};

const WARM_UP: usize = 200;
const FRAMES: usize = 10_000;

fn connected(kind: SocketKind) -> (Channel<OwnedFd>, Channel<OwnedFd>) {
    let limits = Limits::new(253, 1 << 20).unwrap();
    let pair = mon_ipc_std::socketpair(kind).unwrap();
    let copts = ClientOptions::default().limits(limits);
    let client = std::thread::spawn(move || mon_ipc_std::client(pair.client, &copts).unwrap());
    let server =
        mon_ipc_std::server(pair.server, &ServerOptions::default().limits(limits)).unwrap();
    (client.join().unwrap().channel, server.channel)
}

/// How the sender sends.
#[derive(Clone, Copy, Debug)]
enum Send {
    /// `push_copy` of `batch` frames (fds duplicated: the queue owns
    /// them), then one `flush_all`.
    Queued { batch: usize },
    /// `Channel::send`, fds duplicated (it owns them).
    Owned,
    /// `Channel::send_borrowed`, the same fds every time.
    Borrowed,
}

/// Sends frames of `len` bytes with `nfds` fds each, `how`, and receives
/// them, until `FRAMES` frames went through after the warm-up; returns the
/// allocations per frame counted then.
fn steady_state(kind: SocketKind, len: usize, nfds: usize, how: Send) -> f64 {
    let (mut tx, mut rx) = connected(kind);
    let ev = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
    let lent: Vec<BorrowedFd<'_>> = (0..nfds).map(|_| ev.as_fd()).collect();
    let payload = vec![0x5a; len];
    let mut round = || {
        let batch = match how {
            Send::Queued { batch } => {
                for _ in 0..batch {
                    let fds = (0..nfds).map(|_| ev.try_clone().unwrap());
                    tx.push_copy(&payload, fds).unwrap();
                }
                tx.flush_all().unwrap();
                batch
            }
            Send::Owned => {
                let fds = (0..nfds).map(|_| ev.try_clone().unwrap());
                tx.send(&payload, fds).unwrap();
                1
            }
            Send::Borrowed => {
                tx.send_borrowed(&payload, &lent).unwrap();
                1
            }
        };
        for _ in 0..batch {
            let m = rx.recv().unwrap().unwrap();
            assert_eq!((m.payload.len(), m.fds.len()), (len, nfds));
        }
        batch
    };
    let mut sent = 0;
    while sent < WARM_UP {
        sent += round();
    }
    let n = measure(|| {
        let mut sent = 0;
        while sent < FRAMES {
            sent += round();
        }
    })
    .count_total;
    let per_frame = n as f64 / FRAMES as f64;
    println!(
        "{kind:?} {len} B + {nfds} fd, {how:?}: {n} allocations in {FRAMES} frames ({per_frame} per frame)"
    );
    per_frame
}

#[test]
fn stream_64_bytes_no_fd() {
    assert_eq!(
        steady_state(SocketKind::Stream, 64, 0, Send::Queued { batch: 1 }),
        0.0
    );
}

#[test]
fn stream_64_bytes_one_fd() {
    assert_eq!(
        steady_state(SocketKind::Stream, 64, 1, Send::Queued { batch: 1 }),
        0.0
    );
}

#[test]
fn stream_batched_16_frames_per_flush() {
    assert_eq!(
        steady_state(SocketKind::Stream, 64, 0, Send::Queued { batch: 16 }),
        0.0
    );
}

#[test]
fn stream_253_fds() {
    assert_eq!(
        steady_state(SocketKind::Stream, 64, 253, Send::Queued { batch: 1 }),
        0.0
    );
}

#[test]
fn seqpacket_64_bytes_one_fd() {
    assert_eq!(
        steady_state(SocketKind::Seqpacket, 64, 1, Send::Queued { batch: 1 }),
        0.0
    );
}

#[test]
fn stream_64_kib() {
    assert_eq!(
        steady_state(SocketKind::Stream, 64 << 10, 0, Send::Queued { batch: 1 }),
        0.0
    );
}

#[test]
fn send_with_owned_fds() {
    assert_eq!(steady_state(SocketKind::Stream, 64, 1, Send::Owned), 0.0);
    assert_eq!(steady_state(SocketKind::Stream, 64, 253, Send::Owned), 0.0);
}

#[test]
fn send_borrowed() {
    assert_eq!(steady_state(SocketKind::Stream, 64, 1, Send::Borrowed), 0.0);
    assert_eq!(
        steady_state(SocketKind::Stream, 64, 253, Send::Borrowed),
        0.0
    );
    assert_eq!(
        steady_state(SocketKind::Seqpacket, 64, 1, Send::Borrowed),
        0.0
    );
}

#[test]
fn the_counter_counts() {
    // Guards the guard: an allocation (and a reallocation) is seen.
    let counted = measure(|| {
        let mut v: Vec<u8> = Vec::with_capacity(10);
        v.reserve(100);
    });
    assert_eq!(counted.count_total, 2);
}
