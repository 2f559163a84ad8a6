//! Zero heap allocations per frame in steady state: a count, not a timing.
//!
//! `allocation_counter` (a counting global allocator, per thread, so that
//! parallel tests do not disturb each other; a `realloc` counts as an
//! allocation) measures each test: it warms a codec up, then counts the
//! allocations over many more frames.

use allocation_counter::measure;
use mon_ipc::{Decoder, Encoder, Kind, Limits, ReadFlags, SocketKind};

/// A plain fd token: allocation-free, like `OwnedFd`.
#[derive(Debug)]
struct Token(#[allow(dead_code)] u32);

const FRAMES: usize = 10_000;

/// An encoder and a decoder joined by a simulated socket.
struct Codec<'p> {
    enc: Encoder<Token>,
    dec: Decoder<Token>,
    wire: Vec<u8>,
    payload: &'p [u8],
    fd_every: usize,
    batch: usize,
    sent: usize,
    received: usize,
}

impl Codec<'_> {
    /// One batch: `batch` frames (every `fd_every`-th with one fd) pushed,
    /// then transmitted and decoded read by read, as a driver would.
    fn pass(&mut self) {
        for _ in 0..self.batch {
            let fds = (self.sent % self.fd_every == 0).then_some(Token(self.sent as u32));
            self.enc.push_copy(Kind::Data, self.payload, fds).unwrap();
            self.sent += 1;
        }
        loop {
            // One simulated sendmsg / recvmsg pair per transmit.
            let mut slices = [&[][..]; 4];
            let Some(t) = self.enc.transmit(&mut slices) else {
                break;
            };
            let nfds = t.fds.len();
            self.wire.clear();
            for s in &slices[..t.slices] {
                self.wire.extend_from_slice(s);
            }
            let mut got = None;
            self.enc
                .advance_with(self.wire.len(), |fd| got = Some(fd))
                .unwrap();
            assert_eq!(nfds, usize::from(got.is_some()));
            let buf = self.dec.read_buffer().unwrap();
            buf.extend_from_slice(&self.wire);
            self.dec.commit_read(got, ReadFlags::default()).unwrap();
            while let Some(frame) = self.dec.next_frame().unwrap() {
                assert_eq!(&frame.payload[..], self.payload);
                frame.fds.for_each(drop);
                self.received += 1;
            }
        }
    }
}

/// Runs `FRAMES` frames of `payload` through a codec after a warm-up of
/// 100; returns the allocations counted over those `FRAMES`.
fn steady_state(socket: SocketKind, payload: &[u8], fd_every: usize, batch: usize) -> u64 {
    let limits = Limits::new(4, 1 << 20).unwrap();
    let mut c = Codec {
        enc: Encoder::new(limits, socket),
        dec: Decoder::new(limits, socket),
        wire: Vec::with_capacity(1 << 20),
        payload,
        fd_every,
        batch,
        sent: 0,
        received: 0,
    };
    while c.sent < 100 {
        c.pass();
    }
    let start = c.received;
    let counted = measure(|| {
        while c.received < start + FRAMES {
            c.pass();
        }
    });
    assert!(c.received >= start + FRAMES);
    counted.count_total
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
    // Guards the guard: an allocation (and a reallocation) is seen.
    let counted = measure(|| {
        let mut v: Vec<u8> = Vec::with_capacity(10);
        v.reserve(100);
    });
    assert_eq!(counted.count_total, 2);
}
