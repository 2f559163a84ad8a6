//! The tokio driver on real sockets: both profiles' handshakes, the
//! server's decision as an async step, fds both ways, shared memory, a
//! listener, a stalled peer beside live ones, and `recv` dropped at every
//! await point. Every test counts the process's open fds.

mod common;

use std::future::Future;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use common::{FdCheck, serial, temp_path};
use mon_ipc::frame::Header;
use mon_ipc_std::tokio::{self as mt, AsyncChannel, AsyncHandshake, Paused};
use mon_ipc_std::{
    ClientHandshake, ClientOptions, ServerHandshake, ServerOptions, SharedMemory, SocketKind, dbus,
    raw, socketpair,
};

/// Runs `test` on a fresh current-thread runtime, under the lock that
/// keeps the tests of this file apart, and checks that every fd opened
/// since (the runtime's own included) is closed at the end.
fn on_runtime(test: impl Future<Output = ()>) {
    let _g = serial();
    let fds = FdCheck::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(test);
    drop(rt);
    fds.assert_same();
}

/// Both native sides on a socketpair of `kind`, as channels.
async fn native_pair(kind: SocketKind) -> (AsyncChannel, AsyncChannel) {
    let pair = socketpair(kind).unwrap();
    let (s, c) = tokio::join!(
        mt::server(pair.server, &ServerOptions::default()),
        mt::client(pair.client, &ClientOptions::default().mutual(true)),
    );
    let (s, c) = (s.unwrap(), c.unwrap());
    let me = std::process::id();
    assert_eq!(s.peer.pid().map(u32::from), Some(me));
    assert_eq!(
        c.peer.as_ref().and_then(|p| p.pid()).map(u32::from),
        Some(me)
    );
    (AsyncChannel::new(s).unwrap(), AsyncChannel::new(c).unwrap())
}

/// A pipe: the write end goes over the socket, and a byte written through
/// the received fd comes out of the read end.
fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe().unwrap()
}

fn through(write_end: &OwnedFd, read_end: &OwnedFd, byte: u8) {
    nix::unistd::write(write_end, &[byte]).unwrap();
    let mut b = [0u8];
    nix::unistd::read(read_end, &mut b).unwrap();
    assert_eq!(b[0], byte);
}

#[test]
fn native_handshake_then_fds_both_ways() {
    on_runtime(async {
        for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
            let (mut server, mut client) = native_pair(kind).await;
            let (r1, w1) = pipe();
            client.send(b"to the server", vec![w1]).await.unwrap();
            let m = server.recv().await.unwrap().unwrap();
            assert_eq!(&m.payload[..], b"to the server");
            assert_eq!(m.fds.len(), 1);
            through(&m.fds[0], &r1, 1);
            let (r2, w2) = pipe();
            server.send(b"to the client", vec![w2]).await.unwrap();
            let m2 = client.recv().await.unwrap().unwrap();
            assert_eq!(&m2.payload[..], b"to the client");
            through(&m2.fds[0], &r2, 2);
            drop(client);
            assert!(
                server.recv().await.unwrap().is_none(),
                "EOF at a frame boundary"
            );
        }
    });
}

#[test]
fn dbus_handshake_of_both_sides() {
    on_runtime(async {
        let pair = socketpair(SocketKind::Stream).unwrap();
        let (s, c) = tokio::join!(
            mt::dbus_server(pair.server, &dbus::ServerOptions::new([9; 16])),
            mt::dbus_client(pair.client, &dbus::ClientOptions::default()),
        );
        let ((_ss, s), (_cs, c)) = (s.unwrap(), c.unwrap());
        assert_eq!(c.guid, "09".repeat(16));
        assert!(s.unix_fd && c.unix_fd);
        let uid = nix::unistd::geteuid().as_raw();
        assert_eq!(s.peer.as_ref().and_then(|p| p.uid()), Some(uid));
        drop((_ss, _cs, s, c));
    });
}

/// The server awaits its own authorization before it answers: accepted,
/// the client gets its connection; denied, the client gets the refusal.
#[test]
fn the_server_decides_after_an_await() {
    on_runtime(async {
        for allow in [true, false] {
            let pair = socketpair(SocketKind::Stream).unwrap();
            let opts = ServerOptions::default().decide(true);
            let mut server =
                AsyncHandshake::new(ServerHandshake::new(pair.server, &opts).unwrap()).unwrap();
            let mut client = AsyncHandshake::new(
                ClientHandshake::new(pair.client, &ClientOptions::default()).unwrap(),
            )
            .unwrap();
            let server = async {
                assert_eq!(server.run().await?, Paused::Decide);
                let uid = server.peer().and_then(|p| p.uid());
                // The policy's own await (a database, another service).
                tokio::task::yield_now().await;
                if allow && uid == Some(nix::unistd::geteuid().as_raw()) {
                    server.accept()?;
                } else {
                    server.deny()?;
                }
                assert_eq!(server.run().await?, Paused::Done);
                server.finish()
            };
            let client = async {
                client.run().await?;
                client.finish()
            };
            let (s, c) = tokio::join!(server, client);
            if allow {
                assert!(s.unwrap().peer.uid().is_some());
                assert!(c.is_ok());
            } else {
                assert_eq!(s.unwrap_err().code(), "denied");
                assert_eq!(c.unwrap_err().code(), "refused_denied");
            }
        }
    });
}

#[test]
fn listener_accepts_and_connect_connects() {
    on_runtime(async {
        let path = temp_path("tokio-listener");
        for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
            let listener = mt::Listener::bind(&*path, kind).unwrap();
            assert_eq!(listener.kind(), kind);
            let server = async {
                let sock = listener.accept().await?;
                let mut ch = AsyncChannel::new(mt::server(sock, &ServerOptions::default()).await?)?;
                let m = ch.recv().await?.expect("a frame");
                ch.send(&m.payload, m.fds).await
            };
            let client = async {
                let sock = mt::connect(&*path, kind).await?;
                let mut ch = AsyncChannel::new(mt::client(sock, &ClientOptions::default()).await?)?;
                let (r, w) = pipe();
                ch.send(b"echo", vec![w]).await?;
                let m = ch.recv().await?.expect("the echo");
                assert_eq!(&m.payload[..], b"echo");
                through(&m.fds[0], &r, 3);
                Ok::<_, mon_ipc_std::Error>(())
            };
            let (s, c) = tokio::join!(server, client);
            s.unwrap();
            c.unwrap();
            drop(listener);
        }
    });
}

#[test]
fn shared_memory_frames() {
    on_runtime(async {
        let (mut server, mut client) = native_pair(SocketKind::Stream).await;
        let mut region = SharedMemory::create(1 << 16).unwrap();
        region.write_at(100, b"pages, not copies").unwrap();
        client.send_shm(&region, b"app").await.unwrap();
        let m = server.recv().await.unwrap().unwrap().into_shm().unwrap();
        assert_eq!(&m.payload[..], b"app");
        let mut got = [0u8; 17];
        m.region.read_at(100, &mut got).unwrap();
        assert_eq!(&got, b"pages, not copies");
        drop((m, region, server, client));
    });
}

/// One connection's peer sends half a frame header and stalls; the other
/// connections, served by the same single-threaded runtime, complete.
#[test]
fn a_peer_stalled_mid_frame_blocks_no_other_connection() {
    on_runtime(async {
        let (mut stalled_server, stalled_client) = native_pair(SocketKind::Stream).await;
        let stalled_sock = stalled_client.into_inner();
        let header = Header {
            len: 10,
            nfds: 0,
            kind: 0,
            reserved: 0,
        }
        .to_bytes();
        raw::send(&stalled_sock, &[&header[..4]], None, &[]).unwrap();
        let stalled = tokio::spawn(async move { stalled_server.recv().await.map(|m| m.is_some()) });

        let mut live = Vec::new();
        for _ in 0..10 {
            let (mut s, mut c) = native_pair(SocketKind::Stream).await;
            live.push(tokio::spawn(async move {
                for i in 0..10u8 {
                    let (r, w) = pipe();
                    c.send(&[i; 100], vec![w]).await?;
                    let m = s.recv().await?.expect("a frame");
                    assert_eq!(&m.payload[..], &[i; 100]);
                    through(&m.fds[0], &r, i);
                }
                Ok::<_, mon_ipc_std::Error>(())
            }));
        }
        for t in live {
            t.await.unwrap().unwrap();
        }
        assert!(
            !stalled.is_finished(),
            "still waiting for the rest of its frame"
        );
        // The peer goes away mid-frame: the receiver sees the cut frame.
        drop(stalled_sock);
        assert!(stalled.await.unwrap().is_err());
    });
}

/// `recv` dropped at each await point: the sender writes each frame one
/// byte per `sendmsg`, its fd on the first byte; after every byte the
/// reactor gets a turn and a fresh `recv` future is polled once and dropped. Each frame arrives exactly
/// once, with its fd, and no fd is left open.
#[test]
fn recv_dropped_at_every_await_point_loses_and_duplicates_nothing() {
    on_runtime(async {
        for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
            let (mut server, client) = native_pair(kind).await;
            let sock = client.into_inner();
            let mut cx = Context::from_waker(Waker::noop());
            let mut delivered = Vec::new();
            let mut pipes = Vec::new();
            for n in 0..3u8 {
                let payload = [n; 5];
                let (r, w) = pipe();
                let header = Header {
                    len: 5,
                    nfds: 1,
                    kind: 0,
                    reserved: 0,
                }
                .to_bytes();
                let frame: Vec<u8> = header.iter().chain(&payload).copied().collect();
                // On seqpacket a record is the unit: one cut, the whole frame.
                let pieces: Vec<&[u8]> = match kind {
                    SocketKind::Seqpacket => vec![&frame[..]],
                    _ => frame.chunks(1).collect(),
                };
                for (i, piece) in pieces.iter().enumerate() {
                    let with: Vec<_> = if i == 0 { vec![w.as_fd()] } else { Vec::new() };
                    raw::send(&sock, &[piece], None, &with).unwrap();
                    // A turn of the reactor, so that it sees the byte (the
                    // channel waits for readiness once it read `EAGAIN`).
                    tokio::task::yield_now().await;
                    let mut recv = pin!(server.recv());
                    if let Poll::Ready(got) = recv.as_mut().poll(&mut cx) {
                        let m = got.unwrap().expect("a frame, not EOF");
                        assert_eq!(i, pieces.len() - 1, "a frame before its last byte");
                        delivered.push((m.payload.to_vec(), m.fds));
                    }
                }
                drop(w);
                pipes.push(r);
            }
            assert_eq!(delivered.len(), 3, "each frame exactly once");
            for (n, ((payload, fds), r)) in delivered.iter().zip(&pipes).enumerate() {
                assert_eq!(payload, &[n as u8; 5]);
                assert_eq!(fds.len(), 1);
                through(&fds[0], r, n as u8);
            }
            drop((delivered, pipes, sock));
            assert!(server.recv().await.unwrap().is_none());
        }
    });
}

/// Full duplex through split halves: the client's send half pushes 8 MiB
/// of frames with fds while its receive half takes the echoes, in two
/// tasks; the server echoes through its own two halves. With one
/// direction at a time this would deadlock: far more than the socket
/// buffers hold is in flight both ways.
#[test]
fn split_halves_in_two_tasks_run_full_duplex() {
    on_runtime(async {
        const FRAMES: usize = 128;
        const SIZE: usize = 64 << 10;
        let (server, client) = native_pair(SocketKind::Stream).await;
        let (mut srx, mut stx) = server.into_split();
        let (queue, mut queued) = tokio::sync::mpsc::unbounded_channel();
        let server_rx = tokio::spawn(async move {
            while let Some(m) = srx.recv().await? {
                let _ = queue.send(m);
            }
            Ok::<_, mon_ipc_std::Error>(())
        });
        let server_tx = tokio::spawn(async move {
            while let Some(m) = queued.recv().await {
                stx.send(&m.payload, m.fds).await?;
            }
            Ok::<_, mon_ipc_std::Error>(())
        });
        let mut client = client;
        let (mut crx, mut ctx) = client.split();
        let (r, w) = pipe();
        let sending = async {
            for i in 0..FRAMES {
                let fd = w.try_clone().unwrap();
                ctx.send(&vec![i as u8; SIZE], vec![fd]).await?;
            }
            Ok::<_, mon_ipc_std::Error>(())
        };
        let receiving = async {
            for i in 0..FRAMES {
                let m = crx.recv().await?.expect("an echo");
                assert_eq!(m.payload.len(), SIZE);
                assert!(m.payload.iter().all(|&b| b == i as u8));
                through(&m.fds[0], &r, i as u8);
            }
            Ok::<_, mon_ipc_std::Error>(())
        };
        let (s, r2) = tokio::join!(sending, receiving);
        s.unwrap();
        r2.unwrap();
        drop(client); // EOF for the server's receive half
        server_rx.await.unwrap().unwrap();
        server_tx.await.unwrap().unwrap();
        drop((w, r));
    });
}

/// `send` dropped after its first poll, with the socket full: each frame
/// stays queued (part of it maybe sent) and the next `flush` finishes it.
/// Every frame arrives exactly once, whole, with its fd.
#[test]
fn send_dropped_at_its_await_point_leaves_the_frame_queued_not_lost() {
    on_runtime(async {
        const SIZE: usize = 256 << 10;
        let (mut server, mut client) = native_pair(SocketKind::Stream).await;
        let (r, w) = pipe();
        let mut cx = Context::from_waker(Waker::noop());
        let mut pending = 0;
        for i in 0..4u8 {
            let fd = w.try_clone().unwrap();
            let payload = vec![i; SIZE];
            let mut send = pin!(client.send(&payload, vec![fd]));
            if send.as_mut().poll(&mut cx).is_pending() {
                pending += 1; // dropped with the frame queued
            }
        }
        assert!(pending > 0, "the socket filled up");
        let receiving = async {
            for i in 0..4u8 {
                let m = server.recv().await?.expect("a frame");
                assert_eq!(m.payload.len(), SIZE);
                assert!(m.payload.iter().all(|&b| b == i));
                through(&m.fds[0], &r, i);
            }
            Ok::<_, mon_ipc_std::Error>(())
        };
        let (f, rcv) = tokio::join!(client.flush(), receiving);
        f.unwrap();
        rcv.unwrap();
        drop(client);
        assert!(server.recv().await.unwrap().is_none(), "nothing sent twice");
        drop((w, r));
    });
}

/// `send_borrowed` dropped at its await point: a frame it began is
/// finished by the next flush (its fd went with its first byte), a frame
/// it did not begin is not sent at all; none twice, and the caller's fd
/// stays open and usable throughout.
#[test]
fn send_borrowed_dropped_at_its_await_point_sends_a_begun_frame_once() {
    on_runtime(async {
        const SIZE: usize = 256 << 10;
        let (mut server, mut client) = native_pair(SocketKind::Stream).await;
        let (r, w) = pipe();
        let mut cx = Context::from_waker(Waker::noop());
        let mut pending = 0;
        for i in 0..4u8 {
            let (payload, fds) = (vec![i; SIZE], [w.as_fd()]);
            let mut send = pin!(client.send_borrowed(&payload, &fds));
            if send.as_mut().poll(&mut cx).is_pending() {
                pending += 1;
            }
        }
        assert!(pending > 0, "the socket filled up");
        let receiving = async {
            let mut got = Vec::new();
            while let Some(m) = server.recv().await? {
                assert_eq!(m.payload.len(), SIZE);
                let i = m.payload[0];
                assert!(m.payload.iter().all(|&b| b == i), "frame {i} whole");
                through(&m.fds[0], &r, i);
                got.push(i);
            }
            Ok::<_, mon_ipc_std::Error>(got)
        };
        let sending = async {
            let flushed = client.flush().await;
            drop(client); // EOF for the receiver
            flushed
        };
        let (f, got) = tokio::join!(sending, receiving);
        f.unwrap();
        let got = got.unwrap();
        // The first frame was begun (a 256 KiB frame does not fit a socket
        // buffer at once); every frame delivered came once, in order.
        assert_eq!(got.first(), Some(&0));
        assert!(
            got.windows(2).all(|p| p[0] < p[1]),
            "in order, once: {got:?}"
        );
        through(&w, &r, 9); // still the caller's
    });
}

/// The fds of `send_borrowed` stay the caller's: sent, never closed or
/// duplicated by the channel.
#[test]
fn send_borrowed_leaves_the_fds_with_the_caller() {
    on_runtime(async {
        for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
            let (mut server, mut client) = native_pair(kind).await;
            let (r, w) = pipe();
            for i in 0..3u8 {
                client.send_borrowed(&[i; 3], &[w.as_fd()]).await.unwrap();
                let m = server.recv().await.unwrap().expect("a frame");
                assert_eq!(&m.payload[..], &[i; 3]);
                through(&m.fds[0], &r, i);
            }
            through(&w, &r, 7);
        }
    });
}

/// A frame the channel read before it was registered (two frames in one
/// read of the blocking channel) comes from the first poll of `recv`:
/// no readiness event will ever announce it, the socket being empty.
#[test]
fn a_frame_buffered_before_registration_needs_no_readiness() {
    on_runtime(async {
        let pair = socketpair(SocketKind::Stream).unwrap();
        let client = std::thread::spawn(move || {
            mon_ipc_std::client(pair.client, &ClientOptions::default()).unwrap()
        });
        let server = mon_ipc_std::server(pair.server, &ServerOptions::default()).unwrap();
        let mut client = client.join().unwrap().channel;
        let mut server = server.channel;
        client.push_copy(b"one", []).unwrap();
        client.push_copy(b"two", []).unwrap();
        client.flush_all().unwrap(); // both frames in one sendmsg
        assert_eq!(&server.recv().unwrap().unwrap().payload[..], b"one");
        let mut server = AsyncChannel::from_channel(server).unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        let mut recv = pin!(server.recv());
        match recv.as_mut().poll(&mut cx) {
            Poll::Ready(m) => assert_eq!(&m.unwrap().unwrap().payload[..], b"two"),
            Poll::Pending => panic!("the buffered frame waited for readiness"),
        }
    });
}

/// A listener with a backlog of 1, filled until a non-blocking connect
/// says `EAGAIN`.
fn full_listener(path: &std::path::Path) -> (OwnedFd, Vec<OwnedFd>) {
    use nix::sys::socket::{
        AddressFamily, Backlog, SockFlag, SockType, UnixAddr, bind, connect, listen, socket,
    };
    let unix = |flags| socket(AddressFamily::Unix, SockType::Stream, flags, None).unwrap();
    let listener = unix(SockFlag::SOCK_CLOEXEC);
    let addr = UnixAddr::new(path).unwrap();
    bind(listener.as_raw_fd(), &addr).unwrap();
    listen(&listener, Backlog::new(1).unwrap()).unwrap();
    let mut queued = Vec::new();
    loop {
        let c = unix(SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK);
        match connect(c.as_raw_fd(), &addr) {
            Ok(()) => queued.push(c),
            Err(nix::errno::Errno::EAGAIN) => return (listener, queued),
            Err(e) => panic!("connect: {e}"),
        }
    }
}

/// A full backlog: `connect` waits (it does not fail with `EAGAIN`, and
/// does not spin) until the listener accepts, then connects.
#[test]
fn connect_waits_for_room_in_a_full_backlog() {
    on_runtime(async {
        let path = temp_path("tokio-backlog");
        let (listener, queued) = full_listener(&path);
        let mut connecting = pin!(mt::connect(&*path, SocketKind::Stream));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(
            connecting.as_mut().poll(&mut cx).is_pending(),
            "the backlog is full"
        );
        // Room for one: the waiting connect gets it.
        let first = nix::sys::socket::accept(listener.as_raw_fd()).unwrap();
        let sock = connecting.await.expect("connected once there was room");
        assert_eq!(raw::socket_kind(&sock).unwrap(), SocketKind::Stream);
        nix::unistd::close(first).unwrap(); // accept gives a raw fd
        drop((sock, queued, listener));
    });
}

/// A `connect` dropped while it waits for room frees its thread and
/// closes its socket (the runtime's end checks every fd).
#[test]
fn connect_dropped_while_waiting_leaves_nothing() {
    on_runtime(async {
        let path = temp_path("tokio-backlog-drop");
        let (listener, queued) = full_listener(&path);
        let mut connecting = Box::pin(mt::connect(&*path, SocketKind::Stream));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(
            connecting.as_mut().poll(&mut cx).is_pending(),
            "the backlog is full"
        );
        drop(connecting);
        drop((queued, listener));
    });
}
