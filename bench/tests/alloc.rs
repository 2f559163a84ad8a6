//! Zero heap allocations per frame in steady state, through the driver's
//! `Channel` on real sockets: a count, not a timing.
//!
//! A counting global allocator (per thread, so that parallel tests do not
//! disturb each other) wraps the system allocator. Each test makes a
//! connection with the real handshake, warms both channels up, then, in
//! one thread, sends and receives many more frames and counts the
//! allocations of the sender and the receiver together.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::os::fd::OwnedFd;

use mon_ipc_std::{Channel, ClientOptions, Limits, ServerOptions, SocketKind};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to `System` unchanged; the counter is a
// const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|a| a.set(a.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|a| a.set(a.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCS.with(Cell::get)
}

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

/// Sends `batch` frames of `len` bytes with `nfds` fds each (one `flush`
/// per batch), then receives them, until `FRAMES` frames went through
/// after the warm-up; returns the allocations per frame counted then.
fn steady_state(kind: SocketKind, len: usize, nfds: usize, batch: usize) -> f64 {
    let (mut tx, mut rx) = connected(kind);
    let ev = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
    let payload = vec![0x5a; len];
    let mut before = None;
    let mut sent = 0;
    while sent < WARM_UP + FRAMES {
        if sent >= WARM_UP && before.is_none() {
            before = Some(allocations());
        }
        for _ in 0..batch {
            let fds = (0..nfds).map(|_| ev.try_clone().unwrap());
            tx.push_copy(&payload, fds).unwrap();
        }
        tx.flush_all().unwrap();
        for _ in 0..batch {
            let m = rx.recv().unwrap().unwrap();
            assert_eq!((m.payload.len(), m.fds.len()), (len, nfds));
        }
        sent += batch;
    }
    let n = allocations() - before.unwrap();
    let per_frame = n as f64 / FRAMES as f64;
    println!(
        "{kind:?} {len} B + {nfds} fd, {batch} per flush: {n} allocations in {FRAMES} frames ({per_frame} per frame)"
    );
    per_frame
}

#[test]
fn stream_64_bytes_no_fd() {
    assert_eq!(steady_state(SocketKind::Stream, 64, 0, 1), 0.0);
}

#[test]
fn stream_64_bytes_one_fd() {
    assert_eq!(steady_state(SocketKind::Stream, 64, 1, 1), 0.0);
}

#[test]
fn stream_batched_16_frames_per_flush() {
    assert_eq!(steady_state(SocketKind::Stream, 64, 0, 16), 0.0);
}

#[test]
fn stream_253_fds() {
    assert_eq!(steady_state(SocketKind::Stream, 64, 253, 1), 0.0);
}

#[test]
fn seqpacket_64_bytes_one_fd() {
    assert_eq!(steady_state(SocketKind::Seqpacket, 64, 1, 1), 0.0);
}

#[test]
fn stream_64_kib() {
    assert_eq!(steady_state(SocketKind::Stream, 64 << 10, 0, 1), 0.0);
}

#[test]
fn the_counter_counts() {
    let before = allocations();
    let v: Vec<u8> = Vec::with_capacity(10);
    assert_eq!(allocations() - before, 1);
    drop(v);
}
