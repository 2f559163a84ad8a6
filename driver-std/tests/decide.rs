//! The server's pause for a decision on real sockets: input that arrives
//! while it is paused is refused with status 4 (PROTOCOL 3.3, check 8),
//! and an accepted client gets its reply.

mod common;

use std::os::fd::OwnedFd;

use common::{FdCheck, serial};
use mon_ipc::hello::{Hello, Reply};
use mon_ipc_std::raw::{self, Room};
use mon_ipc_std::{
    Authenticating, ClientHandshake, ClientOptions, Error, Limits, Progress, ServerHandshake,
    ServerOptions, Side, SocketKind, dbus, socketpair,
};

/// Steps the server until it pauses at `Decide`.
fn until_decide(server: &mut ServerHandshake<OwnedFd>) {
    loop {
        match server.step().unwrap() {
            Progress::Decide => return,
            Progress::Continue => {}
            other => panic!("unexpected {other:?} before the decision"),
        }
    }
}

/// Sends a hello from `sock` as a client would, with its credentials.
fn send_hello(sock: &OwnedFd) {
    let hello = Hello::new(Limits::default(), false).to_bytes();
    raw::send(sock, &[&hello[..]], Some(raw::own_credentials()), &[]).unwrap();
}

fn read_reply(sock: &OwnedFd) -> Reply {
    let mut buf = [0u8; 16];
    let (n, _) = raw::recv(sock, &mut buf, Room::default()).unwrap();
    assert_eq!(n, 16);
    let b = buf;
    Reply {
        version: b[4],
        status: b[5],
        max_fds: u16::from_le_bytes([b[6], b[7]]),
        max_payload: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
        reserved: u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
    }
}

#[test]
fn bytes_sent_while_the_server_decides_are_refused() {
    let _g = serial();
    for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
        let fds = FdCheck::new();
        let pair = socketpair(kind).unwrap();
        let opts = ServerOptions::default().decide(true);
        let mut server = ServerHandshake::new(pair.server, &opts).unwrap();
        send_hello(&pair.client);
        until_decide(&mut server);
        assert!(server.peer().is_some());
        // The client speaks out of turn, after its hello was read.
        raw::send(&pair.client, &[&b"too early"[..]], None, &[]).unwrap();
        server.accept().unwrap();
        let err = loop {
            match server.step() {
                Ok(Progress::Continue) => {}
                Ok(other) => panic!("{kind:?}: unexpected {other:?}"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.code(), "hello_trailing_bytes", "{kind:?}");
        assert!(matches!(err, Error::Protocol(_)));
        assert_eq!(read_reply(&pair.client).status, 4, "{kind:?}: status 4");
        drop((server, pair.client));
        fds.assert_same();
    }
}

#[test]
fn a_quiet_client_is_accepted_after_the_pause() {
    let _g = serial();
    let fds = FdCheck::new();
    let pair = socketpair(SocketKind::Stream).unwrap();
    let mut server =
        ServerHandshake::new(pair.server, &ServerOptions::default().decide(true)).unwrap();
    send_hello(&pair.client);
    until_decide(&mut server);
    server.accept().unwrap();
    loop {
        match server.step().unwrap() {
            Progress::Done => break,
            Progress::Continue => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(read_reply(&pair.client).status, 0);
    let conn = server.finish().unwrap();
    assert_eq!(conn.peer.uid(), Some(nix_euid()));
    drop((conn, pair.client));
    fds.assert_same();
}

/// `accept` or `deny` with no decision pending is the caller's mistake:
/// `no_decision_pending`, sticky like every handshake error, on every
/// profile and side (the one driver serves them all).
#[test]
fn accept_or_deny_without_a_pending_decision_is_a_usage_error() {
    let _g = serial();
    fn check<H: Side>(mut hs: Authenticating<H, OwnedFd>, accept: bool) {
        let r = if accept { hs.accept() } else { hs.deny() };
        assert_eq!(r.unwrap_err().code(), "no_decision_pending");
        assert_eq!(hs.step().unwrap_err().code(), "no_decision_pending");
        assert_eq!(hs.finish().err().unwrap().code(), "no_decision_pending");
    }
    let fds = FdCheck::new();
    for accept in [true, false] {
        let pair = socketpair(SocketKind::Stream).unwrap();
        let opts = ServerOptions::default().decide(true);
        // Before the hello: nothing to decide yet.
        check(ServerHandshake::new(pair.server, &opts).unwrap(), accept);
        check(
            ClientHandshake::new(pair.client, &ClientOptions::default()).unwrap(),
            accept,
        );
        let pair = socketpair(SocketKind::Stream).unwrap();
        let sopts = dbus::ServerOptions::new([7; 16]);
        check(
            dbus::ServerHandshake::new(pair.server, &sopts).unwrap(),
            accept,
        );
        let copts = dbus::ClientOptions::default();
        check(
            dbus::ClientHandshake::new(pair.client, &copts).unwrap(),
            accept,
        );
    }
    fds.assert_same();
}

fn nix_euid() -> u32 {
    raw::own_credentials().uid().unwrap()
}

/// A server that refuses without reading the client's hello and closes:
/// on seqpacket Linux reports ECONNRESET to the client *before* the
/// refusal still queued for it (on a stream, after). The client reads
/// again and sees the refusal itself, on both socket types.
#[test]
fn a_refusal_sent_before_reading_the_hello_reaches_the_client() {
    let _g = serial();
    let fds = FdCheck::new();
    for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
        let pair = socketpair(kind).unwrap();
        mon_ipc_std::set_nonblocking(&pair.client, true).unwrap();
        let mut client = ClientHandshake::new(pair.client, &ClientOptions::default()).unwrap();
        // The hello goes out and stays unread.
        while client.step().unwrap() != Progress::WantRead {}
        let refusal = Reply {
            version: 1,
            status: 1, // denied
            max_fds: 0,
            max_payload: 0,
            reserved: 0,
        };
        raw::send(&pair.server, &[&refusal.to_bytes()[..]], None, &[]).unwrap();
        drop(pair.server);
        let e = loop {
            match client.step() {
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(e.code(), "refused_denied", "{kind:?}");
    }
    fds.assert_same();
}
