//! A single-threaded `poll` server over the step-wise API
//! (`ServerHandshake` + `Channel` on non-blocking sockets) that no peer can
//! hold hostage: 100 clients, of which one stalls after half a frame header
//! and one stops reading while the server sends it 8 MiB. The server keeps
//! a deadline per connection itself (reset by each frame received and each
//! queue drained) and drops the two stalled ones when it passes; every other
//! client completes its echoes, and no fd leaks.
//!
//! The deadlines are armed only once the 98 healthy clients are done and
//! both stalled clients have said (through a socket the server polls) that
//! their stall is in place: the healthy clients thus complete while the
//! stalled connections are open (no peer holds the server hostage), and a
//! healthy client starved of CPU on a loaded machine can never be taken for
//! a stalled one (an idle deadline armed from the start once failed that
//! way in the C version of this test).
//!
//! Nothing here sleeps to synchronise: the clients wait for the server with
//! blocking calls bounded by timeouts, the server with `poll` bounded by its
//! nearest deadline.

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{FdCheck, serial, temp_path};
use mon_ipc_std::{
    Channel, ClientOptions, Flush, Listener, Progress, Recv, ServerHandshake, ServerOptions,
    SocketKind, client, connect_timeout, raw, set_nonblocking,
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

const CLIENTS: usize = 100;
const ROUNDS: usize = 3;
/// The server's per-connection deadline: how long a connection may go
/// without a frame received or its queue drained, once the deadlines are
/// armed (see the module's doc).
const IDLE: Duration = Duration::from_secs(5);
/// What the clients allow the server, far beyond what it needs.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
const FLOOD: usize = 8 << 20;
const FLOOD_FRAME: usize = 64 << 10;

enum State {
    Handshake(Box<ServerHandshake<OwnedFd>>),
    Open(Box<Channel<OwnedFd>>),
    /// Only while `finish` takes the handshake by value.
    Taken,
}

struct Conn {
    state: State,
    want: PollFlags,
    deadline: Instant,
}

enum Outcome {
    /// Waiting for `want`.
    Pending,
    /// The client closed at a frame boundary after its work.
    Completed,
}

/// What one receive gave, owned (the message borrows the channel).
enum Got {
    Frame(Bytes, Vec<OwnedFd>),
    Nothing,
    Eof,
}

impl Conn {
    /// All the work possible without blocking.
    fn run(&mut self, now: Instant) -> mon_ipc_std::Result<Outcome> {
        loop {
            match &mut self.state {
                State::Handshake(hs) => match hs.step()? {
                    Progress::Continue | Progress::Decide => {}
                    Progress::WantRead => return self.wait(PollFlags::POLLIN),
                    Progress::WantWrite => return self.wait(PollFlags::POLLOUT),
                    Progress::Done => {
                        // Finishing takes the handshake by value.
                        let State::Handshake(hs) = std::mem::replace(&mut self.state, State::Taken)
                        else {
                            unreachable!()
                        };
                        self.state = State::Open(Box::new(hs.finish()?.channel));
                        self.deadline = now + IDLE;
                    }
                },
                State::Taken => unreachable!(),
                State::Open(ch) => {
                    let had = ch.queued_bytes();
                    if ch.flush()? == Flush::WouldBlock {
                        return self.wait(PollFlags::POLLOUT);
                    }
                    if had > 0 {
                        self.deadline = now + IDLE;
                    }
                    let got = match ch.try_recv()? {
                        Recv::Frame(mut m) => {
                            Got::Frame(m.payload.clone(), m.fds.by_ref().collect())
                        }
                        Recv::WouldBlock => Got::Nothing,
                        Recv::Eof => Got::Eof,
                    };
                    match got {
                        Got::Frame(payload, fds) => {
                            self.deadline = now + IDLE;
                            if &payload[..] == b"flood" {
                                let chunk = Bytes::from(vec![0x5a; FLOOD_FRAME]);
                                for _ in 0..FLOOD / FLOOD_FRAME {
                                    ch.push(chunk.clone(), [])?;
                                }
                            } else {
                                ch.push(payload, fds)?;
                            }
                        }
                        Got::Nothing => return self.wait(PollFlags::POLLIN),
                        Got::Eof => return Ok(Outcome::Completed),
                    }
                }
            }
        }
    }

    fn wait(&mut self, want: PollFlags) -> mon_ipc_std::Result<Outcome> {
        self.want = want;
        Ok(Outcome::Pending)
    }

    fn poll_fd(&self) -> PollFd<'_> {
        let fd = match &self.state {
            State::Handshake(hs) => hs.as_fd(),
            State::Open(ch) => ch.as_fd(),
            State::Taken => unreachable!(),
        };
        PollFd::new(fd, self.want)
    }
}

#[test]
fn one_thread_serves_100_clients_and_drops_the_stalled_ones() {
    let _g = serial();
    let fds = FdCheck::new();
    let path = temp_path("poll-server");
    let listener = Listener::bind(&*path, SocketKind::Stream).unwrap();
    listener.set_nonblocking(true).unwrap();

    // Each stalled client writes one byte here once its stall is in place.
    let (mut stalls, stalled) = UnixStream::pair().unwrap();
    stalls.set_nonblocking(true).unwrap();
    let start = Instant::now();
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let path = path.to_path_buf();
        let role = match i {
            17 => Role::HalfHeader,
            61 => Role::StopsReading,
            _ => Role::Echo,
        };
        let stalled = stalled.try_clone().unwrap();
        clients.push(thread::spawn(move || run_client(&path, i, role, stalled)));
    }
    drop(stalled);

    let mut conns: Vec<Conn> = Vec::new();
    let (mut completed, mut dropped, mut accepted) = (0, Vec::new(), 0);
    let (mut stalls_in_place, mut armed) = (0, None);
    while completed + dropped.len() < CLIENTS {
        // Not a timing check: a guard so that a bug fails instead of hanging.
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the server hung"
        );
        let now = Instant::now();
        let mut b = [0u8; 2];
        match stalls.read(&mut b) {
            Ok(n) => stalls_in_place += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("the stall signal: {e}"),
        }
        if armed.is_none() && completed == CLIENTS - 2 && stalls_in_place == 2 {
            armed = Some(now);
            for c in &mut conns {
                c.deadline = now + IDLE;
            }
        }
        while let Some(sock) = listener.try_accept().unwrap() {
            set_nonblocking(&sock, true).unwrap();
            let hs = ServerHandshake::new(OwnedFd::from(sock), &ServerOptions::default()).unwrap();
            accepted += 1;
            conns.push(Conn {
                state: State::Handshake(Box::new(hs)),
                want: PollFlags::empty(),
                deadline: now + IDLE,
            });
        }
        let mut next = Vec::with_capacity(conns.len());
        for mut c in conns {
            match c.run(now) {
                Ok(Outcome::Completed) => completed += 1,
                Ok(Outcome::Pending) => match armed {
                    Some(at) if now >= c.deadline => dropped.push(now.duration_since(at)),
                    _ => next.push(c),
                },
                Err(e) => panic!("a connection failed: {e} ({})", e.code()),
            }
        }
        conns = next;
        // Wait for a socket, or until the nearest deadline.
        let now = Instant::now();
        let nearest = armed.and(conns.iter().map(|c| c.deadline).min());
        let timeout = match nearest {
            Some(d) => {
                let ms = d.saturating_duration_since(now).as_millis() + 1;
                PollTimeout::try_from(ms.min(10_000) as i32).unwrap()
            }
            None => PollTimeout::from(1000u16),
        };
        let mut pfds: Vec<PollFd<'_>> = conns.iter().map(Conn::poll_fd).collect();
        pfds.push(PollFd::new(listener.as_fd(), PollFlags::POLLIN));
        pfds.push(PollFd::new(stalls.as_fd(), PollFlags::POLLIN));
        poll(&mut pfds, timeout).unwrap();
    }
    assert_eq!(accepted, CLIENTS);
    for c in clients {
        c.join().expect("a client failed");
    }
    let took = start.elapsed();
    assert_eq!(completed, CLIENTS - 2, "every other client completed");
    assert_eq!(dropped.len(), 2, "the two stalled clients were dropped");
    for d in &dropped {
        assert!(*d >= IDLE, "dropped {d:?} after the deadlines were armed");
    }
    eprintln!("100 clients: {completed} completed, 2 dropped, in {took:?}");
    drop((listener, path, stalls));
    fds.assert_same();
}

#[derive(Clone, Copy)]
enum Role {
    Echo,
    HalfHeader,
    StopsReading,
}

fn run_client(path: &Path, i: usize, role: Role, mut stalled: UnixStream) {
    let sock = connect_timeout(path, SocketKind::Stream, CLIENT_TIMEOUT).unwrap();
    let opts = ClientOptions::default().timeout(Some(CLIENT_TIMEOUT));
    let mut ch = client(sock, &opts).unwrap().channel;
    ch.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    ch.set_write_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    match role {
        Role::Echo => {
            for round in 0..ROUNDS {
                let (r, w) = nix::unistd::pipe().unwrap();
                let text = format!("client {i} round {round}");
                ch.send(text.as_bytes(), [w]).unwrap();
                let mut m = ch.recv().unwrap().expect("an echo");
                assert_eq!(&m.payload[..], text.as_bytes());
                let fd = m.fds.next().expect("the echoed fd");
                assert!(m.fds.next().is_none());
                drop(m);
                // It is our pipe's write end.
                nix::unistd::write(&fd, b"x").unwrap();
                let mut b = [0u8; 1];
                assert_eq!(nix::unistd::read(&r, &mut b).unwrap(), 1);
            }
        }
        Role::HalfHeader => {
            raw::send(ch.get_ref(), &[&[8u8, 0, 0, 0][..]], None, &[]).unwrap();
            stalled.write_all(b"h").unwrap();
            // Until the server drops us: EOF (nothing was sent to us).
            match ch.recv() {
                Ok(None) => {}
                Err(e) if e.io_error().is_some() => {}
                other => panic!("half header: {other:?}"),
            }
        }
        Role::StopsReading => {
            ch.send(b"flood", []).unwrap();
            stalled.write_all(b"r").unwrap();
            // Never read; wait for the server to hang up.
            let mut p = [PollFd::new(ch.as_fd(), PollFlags::empty())];
            let ms = PollTimeout::try_from(CLIENT_TIMEOUT.as_millis() as i32).unwrap();
            assert_eq!(poll(&mut p, ms).unwrap(), 1, "the server never hung up");
            assert!(p[0].revents().unwrap().contains(PollFlags::POLLHUP));
        }
    }
}
