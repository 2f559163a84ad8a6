//! Zero heap allocations per frame in steady state: a count, not a timing.
//!
//! A counting global allocator (counting per thread, so parallel tests do
//! not disturb each other) wraps the system allocator. Each test warms a
//! codec up, then counts the allocations over many more frames.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use mon_ipc::{Decoder, Encoder, Kind, Limits, ReadFlags, SocketKind};

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

/// A plain fd token: allocation-free, like `OwnedFd`.
#[derive(Debug)]
struct Token(#[allow(dead_code)] u32);

const FRAMES: usize = 10_000;

/// Encodes `FRAMES` frames of `payload` (every `fd_every`-th with one fd)
/// and decodes them read by read, as a driver would; returns the
/// allocations counted after a warm-up of 100 frames.
fn steady_state(socket: SocketKind, payload: &[u8], fd_every: usize, batch: usize) -> u64 {
    let limits = Limits::new(4, 1 << 20).unwrap();
    let mut enc = Encoder::<Token>::new(limits, socket);
    let mut dec = Decoder::<Token>::new(limits, socket);
    let mut wire = Vec::with_capacity(1 << 20);
    let mut before = None;
    let mut received = 0;
    let mut sent = 0;
    while received < FRAMES {
        if sent >= 100 && before.is_none() {
            before = Some(allocations());
        }
        for _ in 0..batch {
            let fds = (sent % fd_every == 0).then_some(Token(sent as u32));
            enc.push_copy(Kind::Data, payload, fds).unwrap();
            sent += 1;
        }
        loop {
            // One simulated sendmsg / recvmsg pair per transmit.
            let mut slices = [&[][..]; 4];
            let Some(t) = enc.transmit(&mut slices) else {
                break;
            };
            let nfds = t.fds.len();
            wire.clear();
            for s in &slices[..t.slices] {
                wire.extend_from_slice(s);
            }
            let mut got = None;
            enc.advance_with(wire.len(), |fd| got = Some(fd)).unwrap();
            assert_eq!(nfds, usize::from(got.is_some()));
            let buf = dec.read_buffer().unwrap();
            buf.extend_from_slice(&wire);
            dec.commit_read(got, ReadFlags::default()).unwrap();
            while let Some(frame) = dec.next_frame().unwrap() {
                assert_eq!(&frame.payload[..], payload);
                frame.fds.for_each(drop);
                received += 1;
            }
        }
    }
    assert_eq!(received, FRAMES);
    allocations() - before.expect("warmed up")
}

#[test]
fn stream_small_frames_without_fds() {
    assert_eq!(steady_state(SocketKind::Stream, &[7; 64], usize::MAX, 1), 0);
}

#[test]
fn stream_small_frames_with_fds() {
    assert_eq!(steady_state(SocketKind::Stream, &[7; 64], 1, 1), 0);
}

#[test]
fn stream_batched_frames_some_with_fds() {
    assert_eq!(steady_state(SocketKind::Stream, &[7; 64], 3, 16), 0);
}

#[test]
fn seqpacket_frames_with_fds() {
    assert_eq!(steady_state(SocketKind::Seqpacket, &[7; 64], 2, 4), 0);
}

#[test]
fn stream_64k_frames() {
    assert_eq!(
        steady_state(SocketKind::Stream, &vec![7; 64 << 10], 4, 1),
        0
    );
}

#[test]
fn the_counter_counts() {
    // Guards the guard: an allocation between two reads is seen.
    let before = allocations();
    let v: Vec<u8> = Vec::with_capacity(10);
    assert_eq!(allocations() - before, 1);
    drop(v);
}
