//! The `ipc` benchmark: every case through the public API of `mon-ipc-std`
//! and, in the same run, with raw syscalls (`mon_ipc_bench::raw`), plus the
//! peer crates and Python where they fit. Run it pinned to one CPU:
//! `bench/run.sh` (3 runs, median and spread, ours / raw / ratio table).
//!
//! `MON_BENCH_QUICK=1` shortens every case (CI smoke run); criterion's own
//! filters work as usual (`cargo bench -p mon-ipc-bench -- fd_rt`).
//!
//! Benchmark ids are `<case>/<variant>`: `ours*` is the public API, `raw*`
//! the bare syscalls, anything else a peer.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput};
use mon_ipc::{Decoder, Encoder, Kind, Limits, ReadFlags};
use mon_ipc_bench::echo::{Chan, connected, ours_echo, raw_echo, raw_echo_with};
use mon_ipc_bench::measure::{
    CpuTime, Variant, config, cpu_now, quick, run_case, selected, variant,
};
use mon_ipc_bench::raw;
use mon_ipc_bench::server::{Server, sock_path};
use mon_ipc_std::{
    ClientHandshake, ClientOptions, Listener, Progress, ServerConnection, ServerHandshake,
    ServerOptions, SocketKind,
};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

const PAYLOAD: [u8; 64] = [0x5a; 64];
/// Messages per iteration of the one-way cases (then one acknowledgement).
const ONEWAY_BATCH: usize = 256;
/// Frames per `flush` in the batched case.
const FRAMES_PER_FLUSH: usize = 16;

/// Cases (a), (b), (f): 64 B + `nfds` fds, one round trip per iteration.
fn fd_roundtrip(c: &mut Criterion<CpuTime>, group: &str, kind: SocketKind, nfds: usize) {
    let ev = raw::eventfd().unwrap();
    let ev = &ev;
    let mut threads = Vec::new();
    // Ours: the sender keeps its fds, as the raw case's does, and lends
    // them to `send_borrowed` for the sendmsg.
    let limits = Limits::new(nfds.max(32) as u8, mon_ipc::DEFAULT_MAX_PAYLOAD).unwrap();
    let (mut client, server) = connected(kind, limits);
    threads.push(ours_echo(server, nfds, false));
    let lent: Vec<BorrowedFd<'_>> = (0..nfds).map(|_| ev.as_fd()).collect();
    let ours = variant("ours", move || {
        client.send_borrowed(&PAYLOAD, &lent).unwrap();
        drop(client.recv().unwrap().unwrap());
    });
    // Ours through the owning API: `send` takes `OwnedFd`s and closes them
    // once sent, so a sender that keeps its fd passes a duplicate.
    let (mut client, server) = connected(kind, limits);
    threads.push(ours_echo(server, nfds, false));
    let ours_owned = variant("ours_owned", move || {
        client
            .send(&PAYLOAD, (0..nfds).map(|_| ev.try_clone().unwrap()))
            .unwrap();
        drop(client.recv().unwrap().unwrap());
    });
    let ty = match kind {
        SocketKind::Stream => libc::SOCK_STREAM,
        SocketKind::Seqpacket => libc::SOCK_SEQPACKET,
    };
    // Raw: case (a), (b) or (f) of `mon_ipc_bench::raw`; the sender keeps
    // its fds.
    let dups: Vec<OwnedFd> = (0..nfds).map(|_| ev.try_clone().unwrap()).collect();
    let raws: Vec<RawFd> = dups.iter().map(|f| f.as_raw_fd()).collect();
    let (client, server) = raw::socketpair(ty).unwrap();
    threads.push(raw_echo(server, nfds, false));
    let raw = variant("raw", move || {
        assert_eq!(raw::send_fds(&client, &PAYLOAD, &raws).unwrap(), 64);
        assert!(raw::read_exact(&client, &mut [0u8; 1]).unwrap());
    });
    // Raw with what the owning API adds: dup before and close after.
    let (client, server) = raw::socketpair(ty).unwrap();
    threads.push(raw_echo(server, nfds, false));
    let mut tmp: Vec<OwnedFd> = Vec::with_capacity(nfds);
    let mut tmp_raw: Vec<RawFd> = Vec::with_capacity(nfds);
    let raw_dup = variant("raw_dup", move || {
        tmp.extend((0..nfds).map(|_| ev.try_clone().unwrap()));
        tmp_raw.extend(tmp.iter().map(|f| f.as_raw_fd()));
        assert_eq!(raw::send_fds(&client, &PAYLOAD, &tmp_raw).unwrap(), 64);
        tmp.clear();
        tmp_raw.clear();
        assert!(raw::read_exact(&client, &mut [0u8; 1]).unwrap());
    });
    // Raw as an fd-capable channel must be: the reply read with recvmsg
    // (room for 32 fds) and sent with sendmsg.
    let (client, server) = raw::socketpair(ty).unwrap();
    threads.push(raw_echo_with(server, nfds, false, true));
    let raws2: Vec<RawFd> = dups.iter().map(|f| f.as_raw_fd()).collect();
    let (mut cbuf, mut got) = (raw::CmsgBuf::for_fds(32), Vec::with_capacity(32));
    let raw_msg = variant("raw_msg", move || {
        assert_eq!(raw::send_fds(&client, &PAYLOAD, &raws2).unwrap(), 64);
        let (n, _) = raw::recv_fds(&client, &mut [0u8; 1], &mut cbuf, &mut got).unwrap();
        assert_eq!(n, 1);
    });
    let mut variants = vec![ours, ours_owned, raw, raw_dup, raw_msg];
    let mut pairs = vec![
        ("ours", "raw"),
        ("ours_owned", "raw"),
        ("ours_owned", "raw_dup"),
        ("raw_dup", "raw"),
        ("ours", "raw_msg"),
        ("raw_msg", "raw"),
    ];
    let peers = kind == SocketKind::Stream && nfds == 1;
    if peers {
        variants.extend(peer_variants(ev, &mut threads));
        pairs.extend([("sendfd", "raw"), ("passfd", "raw"), ("uds", "raw")]);
    }
    let tp = (nfds > 1).then_some(Throughput::Elements(nfds as u64));
    run_case(c, group, tp, &mut variants, &pairs, |g| {
        if !peers {
            return;
        }
        // Python's socket.send_fds / recv_fds, both ends in Python (the
        // peer a forked process), timed by Python itself.
        if let Some(mut py) = Python::spawn() {
            g.bench_function("python", |b| b.iter_custom(|iters| py.run(iters)));
        } else {
            eprintln!("python3 not available: python peer skipped");
        }
    });
    drop(variants);
    for t in threads {
        t.join().unwrap();
    }
}

/// The peer crates on case (a): each sends 64 B + 1 fd its way, the echo
/// receives it its way, closes the fd and writes 1 byte.
fn peer_variants<'a>(ev: &'a OwnedFd, threads: &mut Vec<JoinHandle<()>>) -> Vec<Variant<'a>> {
    use sendfd::{RecvWithFd, SendWithFd};
    let fd = ev.as_raw_fd();
    let close = |raw_fd: RawFd| {
        // SAFETY: a fd the peer crate just received for us; closed once.
        drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw_fd) })
    };
    let mut out = Vec::new();
    // sendfd
    let (client, server) = UnixStream::pair().unwrap();
    threads.push(thread::spawn(move || {
        let (mut buf, mut fds) = ([0u8; 64], [0 as RawFd; 1]);
        loop {
            let (n, nf) = server.recv_with_fd(&mut buf, &mut fds).unwrap();
            if n == 0 {
                return;
            }
            assert_eq!((n, nf), (64, 1));
            close(fds[0]);
            raw::write_all(&server, &[1]).unwrap();
        }
    }));
    out.push(variant("sendfd", move || {
        assert_eq!(client.send_with_fd(&PAYLOAD, &[fd]).unwrap(), 64);
        assert!(raw::read_exact(&client, &mut [0u8; 1]).unwrap());
    }));
    // passfd: its payload is a 4-byte dummy (its receiver reads 4 bytes).
    {
        use passfd::FdPassingExt;
        let (client, server) = UnixStream::pair().unwrap();
        threads.push(thread::spawn(move || {
            while let Ok(f) = server.recv_fd() {
                close(f);
                raw::write_all(&server, &[1]).unwrap();
            }
        }));
        out.push(variant("passfd", move || {
            client.send_fd(fd).unwrap();
            assert!(raw::read_exact(&client, &mut [0u8; 1]).unwrap());
        }));
    }
    // uds
    {
        use uds::UnixStreamExt;
        let (client, server) = UnixStream::pair().unwrap();
        threads.push(thread::spawn(move || {
            let (mut buf, mut fds) = ([0u8; 64], [0 as RawFd; 1]);
            loop {
                let (n, nf) = server.recv_fds(&mut buf, &mut fds).unwrap();
                if n == 0 {
                    return;
                }
                assert_eq!((n, nf), (64, 1));
                close(fds[0]);
                raw::write_all(&server, &[1]).unwrap();
            }
        }));
        out.push(variant("uds", move || {
            assert_eq!(client.send_fds(&PAYLOAD, &[fd]).unwrap(), 64);
            assert!(raw::read_exact(&client, &mut [0u8; 1]).unwrap());
        }));
    }
    out
}

/// `bench/py_peer.py` as a subprocess: given N on stdin, it does N round
/// trips and answers with the nanoseconds they took.
struct Python {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Python {
    fn spawn() -> Option<Python> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("py_peer.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        let out = BufReader::new(child.stdout.take()?);
        Some(Python { child, out })
    }

    fn run(&mut self, iters: u64) -> Duration {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{iters}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        Duration::from_nanos(line.trim().parse().expect("python peer answer"))
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Case (c): 64 B + 1 fd one way, [`ONEWAY_BATCH`] messages per iteration,
/// then one acknowledgement: timed from the first send to the last receive.
fn fd_oneway(c: &mut Criterion<CpuTime>) {
    let ev = raw::eventfd().unwrap();
    let ev = &ev;
    let mut threads = Vec::new();
    let ours_sink = |mut rx: Chan| {
        thread::spawn(move || {
            loop {
                for _ in 0..ONEWAY_BATCH {
                    match rx.recv().unwrap() {
                        None => return,
                        Some(m) => assert_eq!(m.fds.len(), 1),
                    }
                }
                rx.send(&[], []).unwrap();
            }
        })
    };
    let (mut tx, rx) = connected(SocketKind::Stream, Limits::default());
    threads.push(ours_sink(rx));
    let lent = [ev.as_fd()];
    let ours = variant("ours", move || {
        for _ in 0..ONEWAY_BATCH {
            tx.send_borrowed(&PAYLOAD, &lent).unwrap();
        }
        drop(tx.recv().unwrap().unwrap());
    });
    let (mut tx, rx) = connected(SocketKind::Stream, Limits::default());
    threads.push(ours_sink(rx));
    let ours_owned = variant("ours_owned", move || {
        for _ in 0..ONEWAY_BATCH {
            tx.send(&PAYLOAD, [ev.try_clone().unwrap()]).unwrap();
        }
        drop(tx.recv().unwrap().unwrap());
    });
    let raw_sink = |rx: OwnedFd| {
        thread::spawn(move || {
            let (mut buf, mut cbuf, mut fds) =
                ([0u8; 64], raw::CmsgBuf::for_fds(1), Vec::with_capacity(1));
            loop {
                for _ in 0..ONEWAY_BATCH {
                    let (n, _) = raw::recv_fds(&rx, &mut buf, &mut cbuf, &mut fds).unwrap();
                    if n == 0 {
                        return;
                    }
                    assert!(n == 64 && fds.len() == 1);
                    fds.clear();
                }
                raw::write_all(&rx, &[1]).unwrap();
            }
        })
    };
    let (tx, rx) = raw::socketpair(libc::SOCK_STREAM).unwrap();
    threads.push(raw_sink(rx));
    let fd = [ev.as_raw_fd()];
    let raw = variant("raw", move || {
        for _ in 0..ONEWAY_BATCH {
            assert_eq!(raw::send_fds(&tx, &PAYLOAD, &fd).unwrap(), 64);
        }
        assert!(raw::read_exact(&tx, &mut [0u8; 1]).unwrap());
    });
    let (tx, rx) = raw::socketpair(libc::SOCK_STREAM).unwrap();
    threads.push(raw_sink(rx));
    let raw_dup = variant("raw_dup", move || {
        for _ in 0..ONEWAY_BATCH {
            let d = ev.try_clone().unwrap();
            assert_eq!(raw::send_fds(&tx, &PAYLOAD, &[d.as_raw_fd()]).unwrap(), 64);
        }
        assert!(raw::read_exact(&tx, &mut [0u8; 1]).unwrap());
    });
    let mut variants = vec![ours, ours_owned, raw, raw_dup];
    let pairs = [
        ("ours", "raw"),
        ("ours_owned", "raw"),
        ("ours_owned", "raw_dup"),
        ("raw_dup", "raw"),
    ];
    let tp = Some(Throughput::Elements(ONEWAY_BATCH as u64));
    run_case(c, "fd_oneway", tp, &mut variants, &pairs, |_| {});
    drop(variants);
    for t in threads {
        t.join().unwrap();
    }
}

/// Case (d): a 64 B frame there and back, no fds.
fn bytes_roundtrip(c: &mut Criterion<CpuTime>) {
    let (mut client, server) = connected(SocketKind::Stream, Limits::default());
    let mut threads = vec![ours_echo(server, 0, true)];
    let ours = variant("ours", move || {
        client.send(&PAYLOAD, []).unwrap();
        let m = client.recv().unwrap().unwrap();
        assert_eq!(m.payload.len(), 64);
    });
    let (client, server) = raw::socketpair(libc::SOCK_STREAM).unwrap();
    threads.push(raw_echo(server, 0, true));
    let mut buf = [0u8; 64];
    let raw = variant("raw", move || {
        raw::write_all(&client, &PAYLOAD).unwrap();
        assert!(raw::read_exact(&client, &mut buf).unwrap());
    });
    let (client, server) = raw::socketpair(libc::SOCK_STREAM).unwrap();
    threads.push(raw_echo_with(server, 0, true, true));
    let (mut cbuf, mut got) = (raw::CmsgBuf::for_fds(32), Vec::with_capacity(32));
    let raw_msg = variant("raw_msg", move || {
        assert_eq!(raw::send_fds(&client, &PAYLOAD, &[]).unwrap(), 64);
        let (n, _) = raw::recv_fds(&client, &mut [0u8; 64], &mut cbuf, &mut got).unwrap();
        assert_eq!(n, 64);
    });
    let mut variants = vec![ours, raw, raw_msg];
    let pairs = [("ours", "raw"), ("ours", "raw_msg"), ("raw_msg", "raw")];
    run_case(c, "bytes_rt_64", None, &mut variants, &pairs, |_| {});
    drop(variants);
    for t in threads {
        t.join().unwrap();
    }
}

/// Batched fd-less 64 B frames one way: ours pushes [`FRAMES_PER_FLUSH`]
/// frames per `flush` (one `sendmsg`), the receiver reads 16 KiB at a time;
/// raw sends one 64 B message per `write` and reads one per `read`.
fn batched(c: &mut Criterion<CpuTime>) {
    let (mut tx, mut rx) = connected(SocketKind::Stream, Limits::default());
    let mut threads = vec![thread::spawn(move || {
        loop {
            for _ in 0..ONEWAY_BATCH {
                match rx.recv().unwrap() {
                    None => return,
                    Some(m) => assert_eq!(m.payload.len(), 64),
                }
            }
            rx.send(&[], []).unwrap();
        }
    })];
    let ours = variant("ours", move || {
        for _ in 0..ONEWAY_BATCH / FRAMES_PER_FLUSH {
            for _ in 0..FRAMES_PER_FLUSH {
                tx.push_copy(&PAYLOAD, []).unwrap();
            }
            tx.flush_all().unwrap();
        }
        drop(tx.recv().unwrap().unwrap());
    });
    let (tx, rx) = raw::socketpair(libc::SOCK_STREAM).unwrap();
    threads.push(thread::spawn(move || {
        let mut buf = [0u8; 64];
        loop {
            for _ in 0..ONEWAY_BATCH {
                if !raw::read_exact(&rx, &mut buf).unwrap() {
                    return;
                }
            }
            raw::write_all(&rx, &[1]).unwrap();
        }
    }));
    let raw = variant("raw", move || {
        for _ in 0..ONEWAY_BATCH {
            raw::write_all(&tx, &PAYLOAD).unwrap();
        }
        assert!(raw::read_exact(&tx, &mut [0u8; 1]).unwrap());
    });
    // The limit of batching: the same 16 framed messages per write,
    // prebuilt, and 16 KiB reads.
    const FRAME: usize = 72;
    let (tx, rx) = raw::socketpair(libc::SOCK_STREAM).unwrap();
    threads.push(thread::spawn(move || {
        let mut buf = vec![0u8; 16 << 10];
        let mut have = 0usize;
        loop {
            while have < ONEWAY_BATCH * FRAME {
                // SAFETY: `buf` is an exclusively borrowed live buffer.
                let n = unsafe { libc::read(rx.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n <= 0 {
                    return;
                }
                have += n as usize;
            }
            have -= ONEWAY_BATCH * FRAME;
            raw::write_all(&rx, &[1]).unwrap();
        }
    }));
    let block = vec![0x5au8; FRAME * FRAMES_PER_FLUSH];
    let raw_batched = variant("raw_batched", move || {
        for _ in 0..ONEWAY_BATCH / FRAMES_PER_FLUSH {
            raw::write_all(&tx, &block).unwrap();
        }
        assert!(raw::read_exact(&tx, &mut [0u8; 1]).unwrap());
    });
    let mut variants = vec![ours, raw, raw_batched];
    let pairs = [("ours", "raw"), ("ours", "raw_batched")];
    let tp = Some(Throughput::Elements(ONEWAY_BATCH as u64));
    run_case(c, "batched_64", tp, &mut variants, &pairs, |_| {});
    drop(variants);
    for t in threads {
        t.join().unwrap();
    }
}

/// Ours (plain and mutual) against raw (e), with and without a pidfd:
/// one complete, sequential connection per iteration.
fn handshake(c: &mut Criterion<CpuTime>) {
    const SO_PASSPIDFD: libc::c_int = 76;
    const SCM_PIDFD: libc::c_int = 4;
    let ours_srv = Server::start(
        "hs",
        |path| {
            let l = Listener::bind(path, SocketKind::Stream).unwrap();
            Box::new(move || l.accept().ok().map(OwnedFd::from))
        },
        |fd| drop(mon_ipc_std::server(fd, &ServerOptions::default()).unwrap()),
    );
    let cred = raw::self_cred();
    // Raw (e): a SO_PASSCRED listener; the client sends an 8-byte hello
    // with SCM_CREDENTIALS, the server checks it and replies 8 bytes. With
    // `pidfd`, the listener also has SO_PASSPIDFD, so the hello brings an
    // SCM_PIDFD too (which the server closes), as ours does.
    let raw_srv = |tag: &str, pidfd: bool| {
        Server::start(
            tag,
            |path| {
                let l = UnixListener::bind(path).unwrap();
                raw::setsockopt_int(&l, libc::SO_PASSCRED, 1).unwrap();
                if pidfd {
                    raw::setsockopt_int(&l, SO_PASSPIDFD, 1).unwrap();
                }
                Box::new(move || l.accept().ok().map(|(s, _)| OwnedFd::from(s)))
            },
            move |conn| {
                // CMSG_SPACE(40) = CMSG_SPACE(12) + CMSG_SPACE(4): ucred and pidfd.
                let mut cbuf = raw::CmsgBuf::for_payload(40);
                let (mut buf, mut got, mut pidfd_got) = ([0u8; 8], None, None);
                let (n, flags) = raw::recv_msg(&conn, &mut buf, &mut cbuf, |l, t, d| {
                    if l == libc::SOL_SOCKET && t == libc::SCM_CREDENTIALS {
                        // SAFETY: SCM_CREDENTIALS data is a struct ucred.
                        got = Some(unsafe { d.as_ptr().cast::<libc::ucred>().read_unaligned() });
                    } else if l == libc::SOL_SOCKET && t == SCM_PIDFD {
                        let fd = RawFd::from_ne_bytes(d[..4].try_into().unwrap());
                        // SAFETY: the kernel just installed this pidfd for us.
                        let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
                        pidfd_got = Some(fd);
                    }
                })
                .unwrap();
                assert!(n == 8 && flags & libc::MSG_CTRUNC == 0);
                let got = got.expect("SCM_CREDENTIALS");
                assert!(got.pid == cred.pid && got.uid == cred.uid && got.gid == cred.gid);
                assert_eq!(pidfd_got.is_some(), pidfd);
                raw::write_all(&conn, b"welcome!").unwrap();
            },
        )
    };
    let raw_plain = raw_srv("raw", false);
    let raw_pidfd = raw_srv("rawpidfd", true);
    let ours_client = |mutual: bool| {
        let opts = ClientOptions::default().mutual(mutual);
        let path = ours_srv.path.clone();
        move || {
            let sock = mon_ipc_std::connect(&path, SocketKind::Stream).unwrap();
            drop(mon_ipc_std::client(sock, &opts).unwrap());
        }
    };
    let raw_client = |srv: &Server| {
        let path = srv.path.clone();
        move || {
            let conn = UnixStream::connect(&path).unwrap();
            assert_eq!(raw::send_creds(&conn, b"hello!!!", cred).unwrap(), 8);
            assert!(raw::read_exact(&conn, &mut [0u8; 8]).unwrap());
        }
    };
    let mut variants = vec![
        variant("ours", ours_client(false)),
        variant("ours_mutual", ours_client(true)),
        variant("raw_1rtt", raw_client(&raw_plain)),
        variant("raw_1rtt_pidfd", raw_client(&raw_pidfd)),
    ];
    let pairs = [
        ("ours", "raw_1rtt"),
        ("ours_mutual", "raw_1rtt"),
        ("ours", "raw_1rtt_pidfd"),
        ("raw_1rtt_pidfd", "raw_1rtt"),
    ];
    run_case(c, "handshake", None, &mut variants, &pairs, |_| {});
}

/// The codec alone: encode (push, transmit, advance) and decode (append
/// one read, commit, next frame) of one frame per iteration.
fn codec(c: &mut Criterion<CpuTime>) {
    let mut g = c.benchmark_group("codec");
    let limits = Limits::default();
    for (name, len) in [("64", 64usize), ("64k", 64 << 10)] {
        g.throughput(Throughput::Bytes((len + 8) as u64));
        let payload = vec![0x5au8; len];
        let shared = Bytes::from(payload.clone());
        let mut enc = Encoder::<OwnedFd>::new(limits, SocketKind::Stream);
        let mut wire = Vec::new();
        enc.push_copy(Kind::Data, &payload, []).unwrap();
        {
            let mut s = [&[][..]; 4];
            let t = enc.transmit(&mut s).unwrap();
            for x in &s[..t.slices] {
                wire.extend_from_slice(x);
            }
            let n = t.len;
            enc.advance(n).unwrap();
        }
        let encode = |enc: &mut Encoder<OwnedFd>| {
            let mut s = [&[][..]; 4];
            let t = enc.transmit(&mut s).unwrap();
            let n = black_box(t.len);
            black_box(&s);
            enc.advance(n).unwrap();
        };
        g.bench_function(format!("encode_{name}"), |b| {
            b.iter(|| {
                enc.push_copy(Kind::Data, black_box(&payload), []).unwrap();
                encode(&mut enc);
            })
        });
        if len > 64 {
            g.bench_function(format!("encode_{name}_shared"), |b| {
                b.iter(|| {
                    enc.push(Kind::Data, shared.clone(), []).unwrap();
                    encode(&mut enc);
                })
            });
        }
        // As the driver reads: each read fills at most the spare capacity
        // `read_buffer` reserved (16 KiB, or the rest of a started frame),
        // then is committed; so a 64 KiB frame takes two reads.
        let mut dec = Decoder::<OwnedFd>::new(limits, SocketKind::Stream);
        g.bench_function(format!("decode_{name}"), |b| {
            b.iter(|| {
                let mut rest = black_box(&wire[..]);
                loop {
                    let buf = dec.read_buffer().unwrap();
                    let n = rest.len().min(buf.capacity() - buf.len());
                    buf.extend_from_slice(&rest[..n]);
                    rest = &rest[n..];
                    dec.commit_read([], ReadFlags::default()).unwrap();
                    if rest.is_empty() {
                        break;
                    }
                }
                let f = dec.next_frame().unwrap().unwrap();
                black_box(f.payload.len());
            })
        });
    }
    g.finish();
}

fn fd_stream(c: &mut Criterion<CpuTime>) {
    fd_roundtrip(c, "fd_rt_stream", SocketKind::Stream, 1);
}

fn fd_seqpacket(c: &mut Criterion<CpuTime>) {
    fd_roundtrip(c, "fd_rt_seqpacket", SocketKind::Seqpacket, 1);
}

fn fds_253(c: &mut Criterion<CpuTime>) {
    fd_roundtrip(c, "fds_253", SocketKind::Stream, 253);
}

/// 64 B + 1 fd round trips from a `mon_ipc_std::tokio::AsyncChannel` on a
/// current-thread runtime, against the blocking `Channel` doing the same
/// and raw syscalls, the echo side being the blocking channel's (or the
/// raw echo) in every variant. Both channels send with the borrowing API
/// (`send_borrowed`: no `dup` per fd); `tokio_owned` / `ours_owned` send
/// a duplicate through the owning `send`, for the record. One iteration
/// is `ASYNC_BATCH` round trips in one `block_on`, so that entering the
/// runtime is not what is measured.
fn async_fd_roundtrip(c: &mut Criterion<CpuTime>) {
    const ASYNC_BATCH: usize = 16;
    let ev = raw::eventfd().unwrap();
    let ev = &ev;
    let mut threads = Vec::new();
    let limits = Limits::default();
    let mut blocking_pair = |name, owned: bool| {
        let (mut client, server) = connected(SocketKind::Stream, limits);
        threads.push(ours_echo(server, 1, false));
        variant(name, move || {
            for _ in 0..ASYNC_BATCH {
                match owned {
                    true => client.send(&PAYLOAD, [ev.try_clone().unwrap()]).unwrap(),
                    false => client.send_borrowed(&PAYLOAD, &[ev.as_fd()]).unwrap(),
                }
                drop(client.recv().unwrap().unwrap());
            }
        })
    };
    let blocking = blocking_pair("ours", false);
    let blocking_owned = blocking_pair("ours_owned", true);
    let rt = std::rc::Rc::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap(),
    );
    let mut tokio_pair = |name, owned: bool| {
        let (client, server) = connected(SocketKind::Stream, limits);
        threads.push(ours_echo(server, 1, false));
        let mut client = {
            let _in = rt.enter();
            mon_ipc_std::tokio::AsyncChannel::from_channel(client).unwrap()
        };
        let rt = std::rc::Rc::clone(&rt);
        variant(name, move || {
            rt.block_on(async {
                for _ in 0..ASYNC_BATCH {
                    match owned {
                        true => client.send(&PAYLOAD, vec![ev.try_clone().unwrap()]).await,
                        false => client.send_borrowed(&PAYLOAD, &[ev.as_fd()]).await,
                    }
                    .unwrap();
                    drop(client.recv().await.unwrap().unwrap());
                }
            })
        })
    };
    let tokio = tokio_pair("tokio", false);
    let tokio_owned = tokio_pair("tokio_owned", true);
    let (client, server) = raw::socketpair(libc::SOCK_STREAM).unwrap();
    threads.push(raw_echo(server, 1, false));
    let raw_fd = ev.as_raw_fd();
    let raw = variant("raw", move || {
        for _ in 0..ASYNC_BATCH {
            assert_eq!(raw::send_fds(&client, &PAYLOAD, &[raw_fd]).unwrap(), 64);
            assert!(raw::read_exact(&client, &mut [0u8; 1]).unwrap());
        }
    });
    let mut variants = vec![blocking, tokio, blocking_owned, tokio_owned, raw];
    let pairs = [
        ("tokio", "ours"),
        ("tokio", "raw"),
        ("ours", "raw"),
        ("tokio_owned", "ours_owned"),
    ];
    run_case(c, "async_fd_rt", None, &mut variants, &pairs, |_| {});
    drop(variants); // closes the client ends: the echo threads see EOF
    for t in threads {
        t.join().unwrap();
    }
}

/// One round of the scale case: a single thread, one epoll, no blocking
/// call: `n` clients connect (as fast as the listen backlog takes them)
/// and handshake step-wise with a server that accepts and handshakes them
/// step-wise, all `n` in flight at once. Returns the CPU time until every
/// handshake on both sides is done; the connections are closed afterwards,
/// untimed.
fn scale_round(listener: &Listener, path: &Path, n: usize) -> Duration {
    const LISTENER: u64 = u64::MAX;
    let copts = ClientOptions::default();
    let sopts = ServerOptions::default();
    let ep = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).unwrap();
    ep.add(listener, EpollEvent::new(EpollFlags::EPOLLIN, LISTENER))
        .unwrap();
    let addr = nix::sys::socket::UnixAddr::new(path).unwrap();
    let mut clients: Vec<Option<ClientHandshake<OwnedFd>>> = Vec::with_capacity(n);
    let mut servers: Vec<Option<ServerHandshake<OwnedFd>>> = Vec::with_capacity(n);
    let mut done_c = 0;
    let mut done_s: Vec<ServerConnection<OwnedFd>> = Vec::with_capacity(n);
    let mut events = vec![EpollEvent::empty(); 1024];
    let start = cpu_now();
    while done_c < n || done_s.len() < n {
        // Open clients until the backlog is full.
        while clients.len() < n {
            use nix::sys::socket::{AddressFamily, SockFlag, SockType, connect, socket};
            let fd = socket(
                AddressFamily::Unix,
                SockType::Stream,
                SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
                None,
            )
            .unwrap();
            match connect(fd.as_raw_fd(), &addr) {
                Ok(()) => {}
                Err(nix::errno::Errno::EAGAIN) => break,
                Err(e) => panic!("connect: {e}"),
            }
            let token = 2 * clients.len() as u64;
            let mut hs = ClientHandshake::new(fd, &copts).unwrap();
            match drive_client(&mut hs) {
                Progress::Done => {
                    drop(hs.finish().unwrap());
                    done_c += 1;
                    clients.push(None);
                }
                p => {
                    ep.add(&hs, EpollEvent::new(interest(p), token)).unwrap();
                    clients.push(Some(hs));
                }
            }
        }
        let got = ep.wait(&mut events, EpollTimeout::NONE).unwrap();
        for ev in &events[..got] {
            let token = ev.data();
            if token == LISTENER {
                while let Some(fd) = listener.try_accept().unwrap() {
                    mon_ipc_std::set_nonblocking(&fd, true).unwrap();
                    let token = 2 * servers.len() as u64 + 1;
                    let mut hs = ServerHandshake::new(fd.into(), &sopts).unwrap();
                    match drive_server(&mut hs) {
                        Progress::Done => {
                            done_s.push(server_done(hs));
                            servers.push(None);
                        }
                        p => {
                            ep.add(&hs, EpollEvent::new(interest(p), token)).unwrap();
                            servers.push(Some(hs));
                        }
                    }
                }
            } else if token % 2 == 0 {
                let slot = &mut clients[(token / 2) as usize];
                let hs = slot.as_mut().unwrap();
                match drive_client(hs) {
                    Progress::Done => {
                        let hs = slot.take().unwrap();
                        ep.delete(&hs).unwrap();
                        // The client closes at once (see `scale`).
                        let conn = hs.finish().unwrap();
                        assert!(conn.peer.is_none());
                        done_c += 1;
                    }
                    p => ep
                        .modify(&*hs, &mut EpollEvent::new(interest(p), token))
                        .unwrap(),
                }
            } else {
                let slot = &mut servers[(token / 2) as usize];
                let hs = slot.as_mut().unwrap();
                match drive_server(hs) {
                    Progress::Done => {
                        let hs = slot.take().unwrap();
                        ep.delete(&hs).unwrap();
                        done_s.push(server_done(hs));
                    }
                    p => ep
                        .modify(&*hs, &mut EpollEvent::new(interest(p), token))
                        .unwrap(),
                }
            }
        }
    }
    cpu_now() - start
}

/// The server keeps every connection open until the round ends, but
/// closes the peer's pidfd (see `scale`).
fn server_done(hs: ServerHandshake<OwnedFd>) -> ServerConnection<OwnedFd> {
    let mut conn = hs.finish().unwrap();
    drop(conn.peer.pidfd.take());
    conn
}

fn interest(p: Progress) -> EpollFlags {
    match p {
        Progress::WantWrite => EpollFlags::EPOLLOUT,
        _ => EpollFlags::EPOLLIN,
    }
}

fn drive_client(hs: &mut ClientHandshake<OwnedFd>) -> Progress {
    loop {
        match hs.step().unwrap() {
            Progress::Continue => {}
            p => return p,
        }
    }
}

fn drive_server(hs: &mut ServerHandshake<OwnedFd>) -> Progress {
    loop {
        match hs.step().unwrap() {
            Progress::Continue => {}
            p => return p,
        }
    }
}

fn scale(c: &mut Criterion<CpuTime>) {
    let sizes: &[usize] = if quick() {
        &[10, 100]
    } else {
        &[10, 1000, 10_000]
    };
    let max = *sizes.iter().max().unwrap() as u64;
    // The server keeps its N connections until the end of a round; a
    // client closes its socket as soon as its handshake is done, and the
    // server closes the pidfd it gets with each client: a hard
    // RLIMIT_NOFILE of 20 000 that cannot be raised (no CAP_SYS_RESOURCE,
    // as on the machine of docs/PERFORMANCE.md) is too few for 3 fds per
    // connection. At most a listen backlog (4 096) of clients plus one
    // epoll batch are in flight beside the server's N.
    let have = mon_ipc_bench::raise_nofile(3 * max + 256).unwrap();
    let need = (3 * max + 256).min(max + 6000);
    assert!(
        have >= need,
        "RLIMIT_NOFILE {have} is too low (need {need})"
    );
    let path = sock_path("scale");
    let _ = std::fs::remove_file(&path);
    let listener = Listener::bind(&path, SocketKind::Stream).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut g = c.benchmark_group("scale");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    if !quick() {
        g.measurement_time(Duration::from_secs(4));
    }
    for &n in sizes {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("{n}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| scale_round(&listener, &path, n)).sum())
        });
    }
    g.finish();
}

/// One round of the async scale case on a current-thread runtime: `n`
/// client tasks connect to a `mon_ipc_std::tokio::Listener`, authenticate
/// and send 10 frames with an fd each, to a server that runs a task per
/// connection (handshake, then receive the 10 frames). All `n`
/// connections are open at once at the end of the round (the servers keep
/// theirs until every client is done). Returns the process's CPU time for
/// the round.
fn async_scale_round(rt: &tokio::runtime::Runtime, path: &Path, n: usize) -> Duration {
    use mon_ipc_std::tokio as mt;
    rt.block_on(async {
        let listener = mt::Listener::bind(path, SocketKind::Stream).unwrap();
        let start = cpu_now();
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
        let server = tokio::spawn(async move {
            for _ in 0..n {
                let sock = listener.accept().await.unwrap();
                let done = done_tx.clone();
                tokio::spawn(async move {
                    let mut conn = mt::server(sock, &ServerOptions::default()).await.unwrap();
                    conn.peer.pidfd = None; // 3 fds a connection would not fit
                    let mut ch = mt::AsyncChannel::new(conn).unwrap();
                    for _ in 0..10 {
                        let m = ch.recv().await.unwrap().unwrap();
                        assert_eq!(m.fds.len(), 1);
                    }
                    let _ = done.send(ch); // kept open until the round ends
                });
            }
        });
        let ev = std::sync::Arc::new(raw::eventfd().unwrap());
        // At most CONNECTING clients between connect and the end of their
        // handshake: fewer than the listen backlog (4 096), so that no
        // connect finds it full (`connect` would then wait on tokio's
        // blocking pool, whose threads are not what this case measures).
        const CONNECTING: usize = 1024;
        let connecting = std::sync::Arc::new(tokio::sync::Semaphore::new(CONNECTING));
        let clients: Vec<_> = (0..n)
            .map(|_| {
                let (path, ev) = (path.to_owned(), std::sync::Arc::clone(&ev));
                let connecting = std::sync::Arc::clone(&connecting);
                tokio::spawn(async move {
                    let permit = connecting.acquire_owned().await.unwrap();
                    let sock = mt::connect(&path, SocketKind::Stream).await.unwrap();
                    let conn = mt::client(sock, &ClientOptions::default()).await.unwrap();
                    drop(permit);
                    let mut ch = mt::AsyncChannel::new(conn).unwrap();
                    for _ in 0..10 {
                        ch.send(&PAYLOAD, vec![ev.try_clone().unwrap()])
                            .await
                            .unwrap();
                    }
                    ch
                })
            })
            .collect();
        let mut open = Vec::with_capacity(2 * n);
        for c in clients {
            open.push(c.await.unwrap());
        }
        server.await.unwrap();
        for _ in 0..n {
            open.push(done_rx.recv().await.unwrap());
        }
        let took = cpu_now() - start;
        drop(open);
        took
    })
}

/// The async driver at scale: per-connection CPU cost with 10, 1 000 and
/// as many concurrent connections as RLIMIT_NOFILE allows up to 10 000
/// (2 fds a connection: both ends stay open until the round ends).
fn async_scale(c: &mut Criterion<CpuTime>) {
    let have = mon_ipc_bench::raise_nofile(2 * 10_000 + 512).unwrap();
    let top = usize::try_from(have.saturating_sub(512) / 2)
        .unwrap_or(usize::MAX)
        .min(10_000);
    let sizes: Vec<usize> = if quick() {
        vec![10, 100]
    } else {
        vec![10, 1000, top]
    };
    eprintln!("async_scale: RLIMIT_NOFILE {have}, sizes {sizes:?}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let path = sock_path("async-scale");
    let mut g = c.benchmark_group("async_scale");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    if !quick() {
        g.measurement_time(Duration::from_secs(4));
    }
    for &n in &sizes {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("{n}"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let _ = std::fs::remove_file(&path);
                        async_scale_round(&rt, &path, n)
                    })
                    .sum()
            })
        });
    }
    g.finish();
    let _ = std::fs::remove_file(&path);
}

fn announce(_: &mut Criterion<CpuTime>) {
    eprintln!(
        "mon-ipc-bench: cpus allowed {:?}{}",
        mon_ipc_bench::pinned_cpus(),
        if quick() { " (quick mode)" } else { "" }
    );
}

/// A group name and the function that benches it.
type Case = (&'static str, fn(&mut Criterion<CpuTime>));

fn main() {
    let mut c = config();
    announce(&mut c);
    let cases: [Case; 11] = [
        ("fd_rt_stream", fd_stream),
        ("async_fd_rt", async_fd_roundtrip),
        ("fd_rt_seqpacket", fd_seqpacket),
        ("fds_253", fds_253),
        ("fd_oneway", fd_oneway),
        ("bytes_rt_64", bytes_roundtrip),
        ("handshake", handshake),
        ("batched_64", batched),
        ("codec", codec),
        ("scale", scale),
        ("async_scale", async_scale),
    ];
    for (group, run) in cases {
        if selected(group) {
            run(&mut c);
        }
    }
    c.final_summary();
}
