//! The `sweep` benchmark: one-way throughput against message size and
//! against fds per message, through the public API of `mon-ipc-std` and,
//! in the same run, with raw syscalls (`mon_ipc_bench::raw`). The points
//! of the plots in `docs/PERFORMANCE.md` (`src/bin/plot.rs` draws them).
//!
//! Every point is the `fd_oneway` case of `benches/ipc.rs` with another
//! message: a sender thread sends a batch of messages over a socketpair
//! (after a real handshake for ours), the receiver thread checks each one
//! (length, fd count, no `MSG_CTRUNC`), closes its fds, and acknowledges
//! the batch with one message; an iteration is one batch and its
//! acknowledgement.
//!
//! - `sweep_size_<N>`: fd-less messages of N bytes (64 B to 1 MiB) on a
//!   stream socket. `ours` sends with `Channel::send` (no copy: header and
//!   payload in one `sendmsg`), `ours_copy` queues with `push_copy` (the
//!   payload copied into the encoder) and flushes, `ours_shared` pushes a
//!   shared `Bytes` (no copy) and flushes; `raw` is one `write` and
//!   `read`s of exactly N bytes (no framing). Throughput: bytes of payload.
//! - `sweep_fds_<k>`: 64 B + k fds (0 to 253, `SCM_MAX_FD`) on a stream
//!   socket, limits of 253 fds on both sides. `ours` sends the same k fds
//!   every time with `Channel::send_borrowed`, `ours_owned` with
//!   `Channel::send`, which takes `OwnedFd`s: k `dup`s, closed once sent.
//!   `raw` passes the same k fds every time (`sendmsg` / `recvmsg`),
//!   `raw_dup` also `dup`s them before and closes the duplicates after, as
//!   `ours_owned` does. Throughput: messages.
//!
//! Run it pinned: `RUNS=1 bench/run.sh sweep` (criterion's filter `sweep`
//! skips the other targets' cases). Each point has fewer samples than the
//! `ipc` cases (20, 1 s) to keep the whole sweep near 2.5 minutes;
//! `MON_BENCH_QUICK=1` makes it a smoke run of about 15 s.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use mon_ipc::{DEFAULT_MAX_PAYLOAD, Limits, MAX_FDS_PER_FRAME};
use mon_ipc_bench::echo::connected;
use mon_ipc_bench::measure::{CpuTime, config, quick, run_case, selected, variant};
use mon_ipc_bench::raw;
use mon_ipc_std::SocketKind;

/// The message sizes of the size sweep, in bytes.
const SIZES: [usize; 8] = [
    64,
    256,
    1 << 10,
    4 << 10,
    16 << 10,
    64 << 10,
    256 << 10,
    1 << 20,
];

/// The fd counts of the fd sweep (253 is `SCM_MAX_FD`).
const FDS: [usize; 10] = [0, 1, 2, 4, 8, 16, 32, 64, 128, 253];

/// The payload of every message of the fd sweep.
const PAYLOAD: [u8; 64] = [0x5a; 64];

/// Messages per batch of `size` bytes: 256, or fewer for large messages
/// (at most ~8 MiB per batch, at least 8 messages).
fn size_batch(size: usize) -> usize {
    ((8 << 20) / size).clamp(8, 256)
}

/// Messages per batch with `k` fds: 256, or fewer for many fds (about
/// 2 048 fds per batch, at least 16 messages).
fn fds_batch(k: usize) -> usize {
    if k <= 8 { 256 } else { (2048 / k).max(16) }
}

/// One point of the size sweep: `size`-byte messages, no fds.
fn size_point(c: &mut Criterion<CpuTime>, size: usize) {
    let group = format!("sweep_size_{size}");
    if !selected(&group) {
        return;
    }
    let batch = size_batch(size);
    let shared = Bytes::from(vec![0x5au8; size]);
    let payload = &shared[..];
    let mut threads = Vec::new();

    // Ours: a sink that checks each frame's length and acknowledges each
    // batch with an empty frame.
    let ours_pair = |threads: &mut Vec<JoinHandle<()>>| {
        let (tx, mut rx) = connected(SocketKind::Stream, Limits::default());
        threads.push(thread::spawn(move || {
            loop {
                for _ in 0..batch {
                    match rx.recv().unwrap() {
                        None => return,
                        Some(m) => assert!(m.payload.len() == size && m.fds.len() == 0),
                    }
                }
                rx.send(&[], []).unwrap();
            }
        }));
        tx
    };
    let mut tx = ours_pair(&mut threads);
    let ours = variant("ours", move || {
        for _ in 0..batch {
            tx.send(payload, []).unwrap();
        }
        drop(tx.recv().unwrap().unwrap());
    });
    let mut tx = ours_pair(&mut threads);
    let ours_copy = variant("ours_copy", move || {
        for _ in 0..batch {
            tx.push_copy(payload, []).unwrap();
            tx.flush_all().unwrap();
        }
        drop(tx.recv().unwrap().unwrap());
    });
    let mut tx = ours_pair(&mut threads);
    let shared = &shared;
    let ours_shared = variant("ours_shared", move || {
        for _ in 0..batch {
            tx.push(shared.clone(), []).unwrap();
            tx.flush_all().unwrap();
        }
        drop(tx.recv().unwrap().unwrap());
    });

    // Raw: `write` of the N bytes, `read`s of exactly N, a 1-byte ack.
    let (tx, rx) = raw::socketpair(libc::SOCK_STREAM).unwrap();
    threads.push(thread::spawn(move || {
        let mut buf = vec![0u8; size];
        loop {
            for _ in 0..batch {
                if !raw::read_exact(&rx, &mut buf).unwrap() {
                    return;
                }
            }
            raw::write_all(&rx, &[1]).unwrap();
        }
    }));
    let raw = variant("raw", move || {
        for _ in 0..batch {
            raw::write_all(&tx, payload).unwrap();
        }
        assert!(raw::read_exact(&tx, &mut [0u8; 1]).unwrap());
    });

    let mut variants = vec![ours, ours_copy, ours_shared, raw];
    let pairs = [
        ("ours", "raw"),
        ("ours_copy", "raw"),
        ("ours_shared", "raw"),
    ];
    let tp = Some(Throughput::Bytes((batch * size) as u64));
    run_case(c, &group, tp, &mut variants, &pairs, |_| {});
    drop(variants);
    for t in threads {
        t.join().unwrap();
    }
}

/// One point of the fd sweep: 64 B + `k` fds per message.
fn fds_point(c: &mut Criterion<CpuTime>, k: usize) {
    let group = format!("sweep_fds_{k}");
    if !selected(&group) {
        return;
    }
    let batch = fds_batch(k);
    let ev = raw::eventfd().unwrap();
    let ev = &ev;
    let mut threads = Vec::new();

    // The k fds every sender but the `dup` ones passes, kept open.
    let dups: Vec<OwnedFd> = (0..k).map(|_| ev.try_clone().unwrap()).collect();
    let dups = &dups;

    // Ours: both sides accept 253 fds per frame.
    let ours_pair = |threads: &mut Vec<JoinHandle<()>>| {
        let limits = Limits::new(MAX_FDS_PER_FRAME, DEFAULT_MAX_PAYLOAD).unwrap();
        let (tx, mut rx) = connected(SocketKind::Stream, limits);
        threads.push(thread::spawn(move || {
            loop {
                for _ in 0..batch {
                    match rx.recv().unwrap() {
                        None => return,
                        // The frame's fds close when `m` is dropped.
                        Some(m) => assert!(m.payload.len() == 64 && m.fds.len() == k),
                    }
                }
                rx.send(&[], []).unwrap();
            }
        }));
        tx
    };
    let mut tx = ours_pair(&mut threads);
    let borrowed: Vec<BorrowedFd<'_>> = dups.iter().map(|f| f.as_fd()).collect();
    let ours = variant("ours", move || {
        for _ in 0..batch {
            tx.send_borrowed(&PAYLOAD, &borrowed).unwrap();
        }
        drop(tx.recv().unwrap().unwrap());
    });
    // The owning send: k duplicates per message, closed by the channel
    // once sent.
    let mut tx = ours_pair(&mut threads);
    let ours_owned = variant("ours_owned", move || {
        for _ in 0..batch {
            tx.send(&PAYLOAD, (0..k).map(|_| ev.try_clone().unwrap()))
                .unwrap();
        }
        drop(tx.recv().unwrap().unwrap());
    });

    // Raw: `sendmsg` with the same k fds each time, `recvmsg` with room
    // for k, every received fd checked and closed, a 1-byte ack.
    let raw_sink = |rx: OwnedFd| {
        thread::spawn(move || {
            let (mut buf, mut cbuf) = ([0u8; 64], raw::CmsgBuf::for_fds(k.max(1)));
            let mut fds = Vec::with_capacity(k);
            loop {
                for _ in 0..batch {
                    let (n, flags) = raw::recv_fds(&rx, &mut buf, &mut cbuf, &mut fds).unwrap();
                    if n == 0 {
                        return;
                    }
                    assert!(n == 64 && fds.len() == k && flags & libc::MSG_CTRUNC == 0);
                    fds.clear();
                }
                raw::write_all(&rx, &[1]).unwrap();
            }
        })
    };
    let raws: Vec<RawFd> = dups.iter().map(|f| f.as_raw_fd()).collect();
    let (tx, rx) = raw::socketpair(libc::SOCK_STREAM).unwrap();
    threads.push(raw_sink(rx));
    let raw = variant("raw", move || {
        for _ in 0..batch {
            assert_eq!(raw::send_fds(&tx, &PAYLOAD, &raws).unwrap(), 64);
        }
        assert!(raw::read_exact(&tx, &mut [0u8; 1]).unwrap());
    });
    // Raw with what the owning API adds: k dups before, k closes after.
    let (tx, rx) = raw::socketpair(libc::SOCK_STREAM).unwrap();
    threads.push(raw_sink(rx));
    let mut tmp: Vec<OwnedFd> = Vec::with_capacity(k);
    let mut tmp_raw: Vec<RawFd> = Vec::with_capacity(k);
    let raw_dup = variant("raw_dup", move || {
        for _ in 0..batch {
            tmp.extend((0..k).map(|_| ev.try_clone().unwrap()));
            tmp_raw.extend(tmp.iter().map(|f| f.as_raw_fd()));
            assert_eq!(raw::send_fds(&tx, &PAYLOAD, &tmp_raw).unwrap(), 64);
            tmp.clear();
            tmp_raw.clear();
        }
        assert!(raw::read_exact(&tx, &mut [0u8; 1]).unwrap());
    });

    // With no fds, `ours_owned` is `ours` and `raw_dup` is `raw`: left out.
    let (mut variants, pairs) = if k == 0 {
        // Dropped now, so that their receivers see EOF before the joins.
        drop((ours_owned, raw_dup));
        (vec![ours, raw], &[("ours", "raw")][..])
    } else {
        let pairs = &[
            ("ours", "raw"),
            ("ours_owned", "raw_dup"),
            ("raw_dup", "raw"),
        ][..];
        (vec![ours, ours_owned, raw, raw_dup], pairs)
    };
    let tp = Some(Throughput::Elements(batch as u64));
    run_case(c, &group, tp, &mut variants, pairs, |_| {});
    drop(variants);
    for t in threads {
        t.join().unwrap();
    }
}

fn main() {
    // Fewer samples per point than `ipc`: 18 points, ~2.5 min in all.
    let c = config();
    let mut c = if quick() {
        // 46 benchmarks: shorter still than `ipc`'s quick mode.
        c.warm_up_time(Duration::from_millis(30))
            .measurement_time(Duration::from_millis(100))
            .nresamples(10_000)
            .configure_from_args()
    } else {
        c.warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1))
            .sample_size(20)
            .configure_from_args()
    };
    eprintln!(
        "mon-ipc-bench sweep: cpus allowed {:?}{}",
        mon_ipc_bench::pinned_cpus(),
        if quick() { " (quick mode)" } else { "" }
    );
    for size in SIZES {
        size_point(&mut c, size);
    }
    for k in FDS {
        fds_point(&mut c, k);
    }
    c.final_summary();
}
