//! The step-wise API on non-blocking sockets: many handshakes interleaved
//! in one `poll` loop, and a frame far larger than the socket buffer
//! written in pieces.

mod common;

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{FdCheck, pipe, read_fd, serial, temp_path, write_fd};
use mon_ipc_std::{
    Channel, ClientConnection, ClientHandshake, ClientOptions, Flush, Listener, Progress, Recv,
    ServerConnection, ServerHandshake, ServerOptions, SocketKind, connect, set_nonblocking,
    socketpair,
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// One handshake of either side.
enum Hs {
    Client(ClientHandshake<OwnedFd>),
    Server(ServerHandshake<OwnedFd>),
}

/// What a handshake is waiting for, or its result.
enum State {
    Run(Hs, PollFlags),
    Client(ClientConnection<OwnedFd>),
    Server(ServerConnection<OwnedFd>),
}

impl State {
    fn fd(&self) -> Option<(std::os::fd::BorrowedFd<'_>, PollFlags)> {
        match self {
            State::Run(Hs::Client(h), ev) => Some((h.as_fd(), *ev)),
            State::Run(Hs::Server(h), ev) => Some((h.as_fd(), *ev)),
            _ => None,
        }
    }

    /// Steps until the handshake must wait or is done.
    fn advance(self) -> State {
        let State::Run(mut hs, _) = self else {
            return self;
        };
        loop {
            let p = match &mut hs {
                Hs::Client(h) => h.step().unwrap(),
                Hs::Server(h) => h.step().unwrap(),
            };
            match p {
                Progress::Continue => {}
                Progress::WantRead => return State::Run(hs, PollFlags::POLLIN),
                Progress::WantWrite => return State::Run(hs, PollFlags::POLLOUT),
                Progress::Decide => {
                    let Hs::Server(h) = &mut hs else {
                        panic!("a client decided")
                    };
                    // The caller's policy: this very process only.
                    let pid = h.peer().unwrap().pid().map(|p| p.get());
                    assert_eq!(pid, Some(std::process::id()));
                    h.accept().unwrap();
                }
                Progress::Done => {
                    return match hs {
                        Hs::Client(h) => State::Client(h.finish().unwrap()),
                        Hs::Server(h) => State::Server(h.finish().unwrap()),
                    };
                }
            }
        }
    }
}

#[test]
fn many_nonblocking_handshakes_interleave_in_one_poll_loop() {
    let _g = serial();
    let fds = FdCheck::new();
    const PAIRS: usize = 40;
    const CONNECTS: usize = 40;
    let copts = ClientOptions::default().mutual(true);
    let sopts = ServerOptions::default().decide(true);
    let mut states = Vec::new();
    for i in 0..PAIRS {
        let kind = if i % 2 == 0 {
            SocketKind::Stream
        } else {
            SocketKind::Seqpacket
        };
        let p = socketpair(kind).unwrap();
        set_nonblocking(&p.client, true).unwrap();
        set_nonblocking(&p.server, true).unwrap();
        let c = ClientHandshake::new(p.client, &copts).unwrap();
        let s = ServerHandshake::new(p.server, &sopts).unwrap();
        states.push(State::Run(Hs::Client(c), PollFlags::POLLOUT));
        states.push(State::Run(Hs::Server(s), PollFlags::POLLIN));
    }
    let path = temp_path("poll-loop");
    let listener = Listener::bind(&path, SocketKind::Stream).unwrap();
    listener.set_nonblocking(true).unwrap();
    for _ in 0..CONNECTS {
        let sock = connect(&path, SocketKind::Stream).unwrap();
        set_nonblocking(&sock, true).unwrap();
        let c = ClientHandshake::new(sock, &copts).unwrap();
        states.push(State::Run(Hs::Client(c), PollFlags::POLLOUT));
    }
    let mut accepted = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        states = states.into_iter().map(State::advance).collect();
        while let Some(sock) = listener.try_accept().unwrap() {
            set_nonblocking(&sock, true).unwrap();
            let s = ServerHandshake::new(OwnedFd::from(sock), &sopts).unwrap();
            states.push(State::Run(Hs::Server(s), PollFlags::POLLIN).advance());
            accepted += 1;
        }
        let mut pfds: Vec<PollFd<'_>> = states
            .iter()
            .filter_map(State::fd)
            .map(|(fd, ev)| PollFd::new(fd, ev))
            .collect();
        if pfds.is_empty() && accepted == CONNECTS {
            break;
        }
        pfds.push(PollFd::new(listener.as_fd(), PollFlags::POLLIN));
        assert!(Instant::now() < deadline, "handshakes did not finish");
        poll(&mut pfds, PollTimeout::from(1000u16)).unwrap();
    }
    let (mut clients, mut servers): (Vec<_>, Vec<_>) = (Vec::new(), Vec::new());
    for s in states {
        match s {
            State::Client(c) => clients.push(c),
            State::Server(s) => servers.push(s),
            State::Run(..) => unreachable!("loop ends when all are done"),
        }
    }
    assert_eq!(
        (clients.len(), servers.len()),
        (PAIRS + CONNECTS, PAIRS + CONNECTS)
    );
    for c in &clients {
        // Mutual: every client knows its server is this process too.
        assert_eq!(
            c.peer.as_ref().unwrap().pid().map(|p| p.get()),
            Some(std::process::id())
        );
    }
    drop((clients, servers, listener));
    fds.assert_same();
}

/// An authenticated (client, server) stream pair, both non-blocking.
fn nonblocking_channels() -> (Channel<OwnedFd>, Channel<OwnedFd>) {
    let p = socketpair(SocketKind::Stream).unwrap();
    let c = std::thread::spawn(move || {
        mon_ipc_std::client(p.client, &ClientOptions::default()).unwrap()
    });
    let s = mon_ipc_std::server(p.server, &ServerOptions::default()).unwrap();
    let (c, s) = (c.join().unwrap().channel, s.channel);
    set_nonblocking(c.get_ref(), true).unwrap();
    set_nonblocking(s.get_ref(), true).unwrap();
    (c, s)
}

#[test]
fn a_frame_larger_than_the_socket_buffer_is_written_in_pieces() {
    let _g = serial();
    let fds = FdCheck::new();
    let (mut c, mut s) = nonblocking_channels();
    let payload: Bytes = (0..8u32 << 20).map(|i| i as u8).collect::<Vec<u8>>().into();
    let (r, w) = pipe();
    c.push(payload.clone(), [w]).unwrap();
    let (mut would_block, mut got) = (0, None);
    while got.is_none() {
        if c.flush().unwrap() == Flush::WouldBlock {
            would_block += 1;
        }
        match s.try_recv().unwrap() {
            Recv::Frame(mut m) => got = Some((m.payload.clone(), m.fds.next().unwrap())),
            Recv::WouldBlock => {}
            Recv::Eof => panic!("unexpected EOF"),
        }
    }
    let (data, fd) = got.unwrap();
    assert!(
        would_block > 0,
        "8 MiB should not fit the socket buffer at once"
    );
    assert!(data == payload, "payload intact");
    write_fd(&fd, b"!");
    assert_eq!(read_fd(&r), b"!");
    drop((c, s, r, fd));
    fds.assert_same();
}

/// `try_send_borrowed` on a full socket: a frame larger than the buffer
/// is `Started` (its fd sent with its first byte, the rest kept), the next
/// frame is `WouldBlock` with nothing of it sent; flushing finishes the
/// first, the second is sent when tried again. Each frame arrives once,
/// whole, with its fd, and the sender's fd is never closed.
#[test]
fn try_send_borrowed_starts_a_frame_or_sends_nothing() {
    use mon_ipc_std::TrySend;
    let _g = serial();
    let fds = FdCheck::new();
    let (mut c, mut s) = nonblocking_channels();
    let big = vec![1u8; 4 << 20];
    let (r, w) = pipe();
    let lent = [w.as_fd()];
    assert_eq!(c.try_send_borrowed(&big, &lent).unwrap(), TrySend::Started);
    assert!(c.queued_bytes() > 0);
    assert_eq!(
        c.try_send_borrowed(b"second", &lent).unwrap(),
        TrySend::WouldBlock
    );
    let mut got = Vec::new();
    let mut second_sent = false;
    while got.len() < 2 {
        if c.flush().unwrap() == Flush::Done && !second_sent {
            second_sent = c.try_send_borrowed(b"second", &lent).unwrap() != TrySend::WouldBlock;
        }
        match s.try_recv().unwrap() {
            Recv::Frame(mut m) => {
                let fd = m.fds.next().expect("the frame's fd");
                assert!(m.fds.next().is_none());
                got.push((m.payload.clone(), fd));
            }
            Recv::WouldBlock => {}
            Recv::Eof => panic!("unexpected EOF"),
        }
    }
    assert!(got[0].0 == big[..], "the first frame whole");
    assert_eq!(&got[1].0[..], b"second");
    for (i, (_, fd)) in got.iter().enumerate() {
        write_fd(fd, &[i as u8]);
        assert_eq!(read_fd(&r), [i as u8]);
    }
    write_fd(&w, b"!"); // still the sender's
    assert_eq!(read_fd(&r), b"!");
    assert!(
        matches!(s.try_recv().unwrap(), Recv::WouldBlock),
        "nothing twice"
    );
    drop((c, s, r, w, got));
    fds.assert_same();
}
