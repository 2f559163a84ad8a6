//! A single-threaded `poll` loop serving many clients with the step-wise,
//! non-blocking API: handshakes and echoes of all clients interleave, and
//! the loop never blocks on any one of them. The clients are threads using
//! the blocking API, so the example runs to completion on its own.

use std::os::fd::{AsFd, OwnedFd};
use std::thread;

use mon_ipc_std::{
    Channel, ClientOptions, Flush, Listener, Progress, Recv, ServerHandshake, ServerOptions,
    SocketKind, client, connect, set_nonblocking,
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

const CLIENTS: usize = 25;

/// One connection of the server (a channel is bigger than a handshake;
/// boxing it would cost an allocation per connection for nothing here).
#[allow(clippy::large_enum_variant)]
enum Conn {
    Handshake(ServerHandshake<OwnedFd>, PollFlags),
    Open(Channel<OwnedFd>, PollFlags),
    Closed,
}

/// What one receive gave, owned.
enum Got {
    Frame(bytes::Bytes, Vec<OwnedFd>),
    Nothing,
    Eof,
}

impl Conn {
    /// Does all the work possible without blocking; says what to wait for.
    fn run(self) -> Result<Conn, mon_ipc_std::Error> {
        let mut conn = self;
        loop {
            conn = match conn {
                Conn::Handshake(mut hs, _) => match hs.step()? {
                    Progress::Continue | Progress::Decide => {
                        Conn::Handshake(hs, PollFlags::empty())
                    }
                    Progress::WantRead => return Ok(Conn::Handshake(hs, PollFlags::POLLIN)),
                    Progress::WantWrite => return Ok(Conn::Handshake(hs, PollFlags::POLLOUT)),
                    Progress::Done => {
                        let c = hs.finish()?;
                        let peer = &c.peer; // the server always knows its client
                        println!(
                            "server: authenticated pid {:?} uid {:?}",
                            peer.pid(),
                            peer.uid()
                        );
                        Conn::Open(c.channel, PollFlags::empty())
                    }
                },
                Conn::Open(mut ch, _) => {
                    if ch.flush()? == Flush::WouldBlock {
                        return Ok(Conn::Open(ch, PollFlags::POLLOUT));
                    }
                    // The frame borrows the channel: take what it holds first.
                    let got = match ch.try_recv()? {
                        Recv::Frame(mut m) => {
                            Got::Frame(m.payload.clone(), m.fds.by_ref().collect())
                        }
                        Recv::WouldBlock => Got::Nothing,
                        Recv::Eof => Got::Eof,
                    };
                    match got {
                        Got::Frame(payload, fds) => {
                            ch.push(payload, fds)?;
                            Conn::Open(ch, PollFlags::empty())
                        }
                        Got::Nothing => return Ok(Conn::Open(ch, PollFlags::POLLIN)),
                        Got::Eof => return Ok(Conn::Closed),
                    }
                }
                Conn::Closed => return Ok(Conn::Closed),
            }
        }
    }

    fn poll_fd(&self) -> Option<PollFd<'_>> {
        match self {
            Conn::Handshake(hs, ev) => Some(PollFd::new(hs.as_fd(), *ev)),
            Conn::Open(ch, ev) => Some(PollFd::new(ch.as_fd(), *ev)),
            Conn::Closed => None,
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("mon-ipc-poll-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("poll.sock");
    let listener = Listener::bind(&path, SocketKind::Stream)?;
    listener.set_nonblocking(true)?;

    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let path = path.clone();
            thread::spawn(move || run_client(&path, i))
        })
        .collect();

    let mut conns: Vec<Conn> = Vec::new();
    let mut served = 0;
    while served < CLIENTS {
        while let Some(sock) = listener.try_accept()? {
            set_nonblocking(&sock, true)?;
            let hs = ServerHandshake::new(OwnedFd::from(sock), &ServerOptions::default())?;
            conns.push(Conn::Handshake(hs, PollFlags::empty()));
        }
        let mut next = Vec::with_capacity(conns.len());
        for c in conns {
            match c.run() {
                Ok(Conn::Closed) => served += 1,
                Ok(c) => next.push(c),
                Err(e) => {
                    println!("server: connection failed: {e} ({})", e.code());
                    served += 1;
                }
            }
        }
        conns = next;
        let mut fds: Vec<PollFd<'_>> = conns.iter().filter_map(Conn::poll_fd).collect();
        fds.push(PollFd::new(listener.as_fd(), PollFlags::POLLIN));
        if served < CLIENTS {
            poll(&mut fds, PollTimeout::NONE)?;
        }
    }
    for c in clients {
        c.join().expect("client thread")?;
    }
    drop(listener);
    std::fs::remove_dir(&dir)?;
    println!("poll_server: {CLIENTS} clients served by one thread");
    Ok(())
}

fn run_client(path: &std::path::Path, i: usize) -> Result<(), mon_ipc_std::Error> {
    let mut conn = client(
        connect(path, SocketKind::Stream)?,
        &ClientOptions::default(),
    )?;
    let (_r, w) = nix::unistd::pipe().map_err(|_| mon_ipc_std::Error::Closed)?;
    let text = format!("client {i}");
    conn.channel.send(text.as_bytes(), [w])?;
    let echo = conn.channel.recv()?.ok_or(mon_ipc_std::Error::Closed)?;
    assert_eq!(echo.payload, text.as_bytes());
    assert_eq!(echo.fds.len(), 1);
    Ok(())
}
