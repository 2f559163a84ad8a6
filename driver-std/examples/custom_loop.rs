//! A driver of its own: the sans-io core (`mon_ipc`) on a hand-written
//! poll(2) loop, with `mon_ipc_std::raw` for the system calls — no
//! `unsafe`, no `nix`. What a driver for another event loop does, rule by
//! rule (each is explained in `mon_ipc::embedding`, the embedding guide).
//!
//! One thread, one loop: a server accepts a client from a non-blocking
//! listener, both run their handshake step by step, then the client sends
//! three frames (one with an fd) and closes, and the server receives them
//! until EOF.
//!
//! Run: `cargo run -p mon-ipc-std --example custom_loop`

use std::io::ErrorKind;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use mon_ipc::{
    Attach, ClientAuth, ClientConfig, Decoder, Encoder, Handshake, Kind, Limits, ReadFlags,
    ServerAuth, ServerConfig, SocketCredentials, Step,
};
use mon_ipc_std::{Error, Listener, SocketKind, raw};

type Result<T> = std::result::Result<T, Error>;

/// `EAGAIN` from a call on a non-blocking socket.
fn would_block(e: &Error) -> bool {
    e.io_error()
        .is_some_and(|io| io.kind() == ErrorKind::WouldBlock)
}

/// What a party waits for before it can go on.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Wait {
    Read,
    Write,
    Done,
}

/// One side of the handshake on its socket: the core's state machine, the
/// output of its last `Send` step and how much of it went out, and what
/// to attach to it.
struct Auth<H> {
    sock: OwnedFd,
    side: H,
    out: Vec<u8>,
    sent: usize,
    /// Kept until the whole message is out: every `sendmsg` of it carries
    /// the same credentials, a short write's rest too.
    attach: Attach,
    /// The control buffer of each read: exactly what the protocol allows.
    room: raw::Room,
}

impl<H: Handshake<OwnedFd, Error = mon_ipc::Error>> Auth<H> {
    fn new(sock: OwnedFd, side: H, room: raw::Room) -> Self {
        Auth {
            sock,
            side,
            out: Vec::new(),
            sent: 0,
            attach: Attach::Nothing,
            room,
        }
    }

    /// Steps until the socket would block or the handshake is done.
    fn drive(&mut self) -> Result<Wait> {
        loop {
            if self.sent < self.out.len() {
                // The *effective* ids, attached explicitly: the kernel's own
                // would carry the real ones.
                let creds = (self.attach == Attach::OwnCredentials).then(raw::own_credentials);
                match raw::send(&self.sock, &[&self.out[self.sent..]], creds, &[]) {
                    Ok(n) => self.sent += n,
                    Err(e) if would_block(&e) => return Ok(Wait::Write),
                    Err(e) => return Err(e),
                }
                continue;
            }
            self.out.clear();
            self.sent = 0;
            match self.side.step(&mut self.out) {
                Step::Send(attach) => self.attach = attach,
                Step::NeedInput => {
                    if !self.read()? {
                        return Ok(Wait::Read);
                    }
                }
                Step::Decide => {
                    // Input after the hello and before the reply is refused
                    // (PROTOCOL.md 3.3, check 8): look once, without waiting.
                    self.read()?;
                    if let Some(peer) = self.side.peer() {
                        println!("server: client pid {:?} uid {:?}", peer.pid(), peer.uid());
                        // The authorization: here, everyone.
                        self.side.accept().map_err(Error::Protocol)?;
                    }
                }
                Step::Done => return Ok(Wait::Done),
                Step::Failed(e) => return Err(Error::Protocol(e)),
            }
        }
    }

    /// One read handed to the core; `false` on `EAGAIN`.
    fn read(&mut self) -> Result<bool> {
        let mut buf = [0u8; 4096];
        match raw::recv(&self.sock, &mut buf, self.room) {
            // EOF: no bytes, no fds, no MSG_CTRUNC (its credentials, if
            // any, are no one's).
            Ok((0, anc)) if anc.fds.is_empty() && !anc.ctrunc => {
                let _ = self.side.receive_eof(); // errors are sticky: `step` reports them
            }
            // The ancillary data whole: fds, `ctrunc` and `trunc` too.
            Ok((n, anc)) => {
                let _ = self.side.receive(&buf[..n], anc);
            }
            Err(e) if would_block(&e) => return Ok(false),
            Err(e) => return Err(e),
        }
        Ok(true)
    }
}

/// The server: waiting for its client, authenticating it, then receiving.
enum Server {
    Accepting,
    Auth(Auth<ServerAuth<OwnedFd>>),
    Channel(OwnedFd, Decoder<OwnedFd>, Vec<u8>),
    Closed,
}

/// The client: authenticating, then sending its queue, then closed.
enum Client {
    Auth(Auth<ClientAuth<OwnedFd>>),
    Channel(OwnedFd, Encoder<OwnedFd>),
    Closed,
}

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("mon-ipc-custom-loop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|_| Error::Closed)?;
    let path = dir.join("sock");
    // SO_PASSCRED on the listening socket, before any client can write.
    let listener = Listener::bind(&path, SocketKind::Stream)?;
    listener.set_nonblocking(true)?;

    let sock = mon_ipc_std::connect(&path, SocketKind::Stream)?;
    mon_ipc_std::set_nonblocking(&sock, true)?;
    let config = ClientConfig {
        limits: Limits::default(),
        mutual: false,
        socket: raw::socket_kind(&sock)?,
        policy: raw::credential_policy(),
    };
    // The read of the reply may bring the first frames and their fds.
    let room = raw::Room {
        fds: config.limits.max_fds().into(),
        ..raw::Room::default()
    };
    let side = ClientAuth::new(config, SocketCredentials::default());
    let mut client = Client::Auth(Auth::new(sock, side, room));
    let mut server = Server::Accepting;
    let mut received = Vec::new();

    while !matches!((&server, &client), (Server::Closed, Client::Closed)) {
        let s_wait = step_server(&mut server, &listener, &mut received)?;
        let c_wait = step_client(&mut client)?;
        // Wait for what each needs: one poll(2) for the whole loop.
        let mut set = Vec::new();
        for (fd, w) in [
            (server_fd(&server, &listener), s_wait),
            (client_fd(&client), c_wait),
        ] {
            if let (Some(fd), Some(w)) = (fd, w) {
                let (read, write) = (w == Wait::Read, w == Wait::Write);
                set.push(raw::Interest { fd, read, write });
            }
        }
        if !set.is_empty() {
            raw::poll(&set, Some(Duration::from_secs(10)))?;
        }
    }
    drop(listener);
    std::fs::remove_dir_all(&dir).map_err(|_| Error::Closed)?;
    assert_eq!(received, ["one", "two (with 1 fd)", "three"]);
    println!(
        "custom_loop: {} frames over a hand-written poll loop",
        received.len()
    );
    Ok(())
}

fn server_fd<'a>(s: &'a Server, l: &'a Listener) -> Option<BorrowedFd<'a>> {
    match s {
        Server::Accepting => Some(l.as_fd()),
        Server::Auth(a) => Some(a.sock.as_fd()),
        Server::Channel(sock, ..) => Some(sock.as_fd()),
        Server::Closed => None,
    }
}

fn client_fd(c: &Client) -> Option<BorrowedFd<'_>> {
    match c {
        Client::Auth(a) => Some(a.sock.as_fd()),
        Client::Channel(sock, _) => Some(sock.as_fd()),
        Client::Closed => None,
    }
}

/// Moves the server on; what it waits for, if anything.
fn step_server(s: &mut Server, l: &Listener, got: &mut Vec<String>) -> Result<Option<Wait>> {
    loop {
        match s {
            Server::Accepting => {
                let Some(sock) = l.try_accept()? else {
                    return Ok(Some(Wait::Read));
                };
                let sock = OwnedFd::from(sock);
                mon_ipc_std::set_nonblocking(&sock, true)?;
                // On already (inherited from the listener); this also says
                // whether every read will bring a pidfd.
                let pidfd = raw::pass_credentials(&sock, true)?;
                let client = raw::socket_credentials(&sock, !pidfd)?;
                let config = ServerConfig {
                    limits: Limits::default(),
                    socket: raw::socket_kind(&sock)?,
                    policy: raw::credential_policy(),
                };
                // Room for the credentials and a pidfd; none for fds: a
                // hello with fds is refused (the kernel says MSG_CTRUNC).
                let room = raw::Room {
                    fds: 0,
                    creds: true,
                    pidfd,
                };
                *s = Server::Auth(Auth::new(sock, ServerAuth::new(config, client), room));
            }
            Server::Auth(a) => match a.drive()? {
                Wait::Done => {
                    let Server::Auth(a) = std::mem::replace(s, Server::Closed) else {
                        unreachable!()
                    };
                    // Off once the hello is in: it would split reads and
                    // spend room meant for fds.
                    raw::pass_credentials(&a.sock, false)?;
                    let est = a.side.finish().map_err(Error::Protocol)?;
                    let mut dec = Decoder::new(est.limits, est.socket);
                    dec.receive_leftover(est.leftover)
                        .map_err(Error::Protocol)?;
                    *s = Server::Channel(a.sock, dec, Vec::new());
                }
                w => return Ok(Some(w)),
            },
            Server::Channel(sock, dec, buf) => {
                let mut fds = Vec::new();
                while let Some((kind, payload)) =
                    dec.next_frame_into(&mut fds).map_err(Error::Protocol)?
                {
                    assert_eq!(kind, Kind::Data);
                    got.push(format_frame(&payload, fds.len()));
                    fds.clear(); // closes them
                }
                if dec.is_closed() {
                    *s = Server::Closed;
                    return Ok(None);
                }
                // The channel's reads: room for the negotiated fds only.
                let room = raw::Room {
                    fds: dec.limits().max_fds().into(),
                    ..raw::Room::default()
                };
                buf.resize(dec.read_hint(), 0);
                match raw::recv(&*sock, buf, room) {
                    Ok((0, anc)) if anc.fds.is_empty() && !anc.ctrunc => {
                        dec.receive_eof().map_err(Error::Protocol)?
                    }
                    Ok((n, anc)) => {
                        let flags = ReadFlags {
                            ctrunc: anc.ctrunc,
                            trunc: anc.trunc,
                        };
                        dec.receive(&buf[..n], anc.fds, flags)
                            .map_err(Error::Protocol)?
                    }
                    Err(e) if would_block(&e) => return Ok(Some(Wait::Read)),
                    Err(e) => return Err(e),
                }
            }
            Server::Closed => return Ok(None),
        }
    }
}

fn format_frame(payload: &[u8], fds: usize) -> String {
    let text = String::from_utf8_lossy(payload);
    match fds {
        0 => text.into_owned(),
        n => format!("{text} (with {n} fd)"),
    }
}

/// Moves the client on; what it waits for, if anything.
fn step_client(c: &mut Client) -> Result<Option<Wait>> {
    loop {
        match c {
            Client::Auth(a) => match a.drive()? {
                Wait::Done => {
                    let Client::Auth(a) = std::mem::replace(c, Client::Closed) else {
                        unreachable!()
                    };
                    let est = a.side.finish().map_err(Error::Protocol)?;
                    let mut enc = Encoder::new(est.limits, est.socket);
                    let fd =
                        OwnedFd::from(std::fs::File::open("/dev/null").map_err(|_| Error::Closed)?);
                    let usage = |e: mon_ipc::UsageError| Error::Protocol(e.into());
                    enc.push_copy(Kind::Data, b"one", []).map_err(usage)?;
                    enc.push_copy(Kind::Data, b"two", [fd]).map_err(usage)?;
                    enc.push_copy(Kind::Data, b"three", []).map_err(usage)?;
                    *c = Client::Channel(a.sock, enc);
                }
                w => return Ok(Some(w)),
            },
            Client::Channel(sock, enc) => {
                if enc.is_empty() {
                    *c = Client::Closed; // dropping the socket closes it: EOF
                    return Ok(None);
                }
                let mut slices: [&[u8]; 32] = [&[]; 32];
                let Some(t) = enc.transmit(&mut slices) else {
                    continue;
                };
                // A frame with fds starts its own sendmsg, fds attached to
                // its first byte; `advance` drops them once sent.
                let fds: Vec<BorrowedFd<'_>> = t.fds.map(AsFd::as_fd).collect();
                let sent = match raw::send(&*sock, &slices[..t.slices], None, &fds) {
                    Ok(n) => n,
                    Err(e) if would_block(&e) => return Ok(Some(Wait::Write)),
                    Err(e) => return Err(e),
                };
                drop(fds);
                enc.advance(sent).map_err(|e| Error::Protocol(e.into()))?;
            }
            Client::Closed => return Ok(None),
        }
    }
}
