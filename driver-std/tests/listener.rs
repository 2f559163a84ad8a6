//! The listener's typed connections (`Accepted`, `incoming`) and, on
//! Linux, the abstract namespace.

mod common;

use std::thread;

use common::{FdCheck, serial, temp_path};
use mon_ipc_std::{ClientOptions, Error, Listener, ServerOptions, SocketKind, client, server};

const KINDS: [SocketKind; 2] = [SocketKind::Stream, SocketKind::Seqpacket];

/// `incoming` yields each client's socket, typed with the listener's
/// kind; the server authenticates it and gets its credentials.
#[test]
fn incoming_yields_accepted_sockets_of_the_listeners_kind() {
    let _g = serial();
    let fds = FdCheck::new();
    for kind in KINDS {
        let path = temp_path("incoming");
        let listener = Listener::bind(&path, kind).unwrap();
        let p = path.to_path_buf();
        let clients = thread::spawn(move || {
            for i in 0..3u8 {
                let sock = mon_ipc_std::connect(&p, kind).unwrap();
                let mut conn = client(sock, &ClientOptions::default()).unwrap();
                conn.channel.send(&[i], []).unwrap();
            }
        });
        for (i, sock) in listener.incoming().take(3).enumerate() {
            let sock = sock.unwrap();
            assert_eq!(sock.kind(), kind);
            let mut conn = server(sock, &ServerOptions::default()).unwrap();
            assert_eq!(conn.peer.pid().map(u32::from), Some(std::process::id()));
            let msg = conn.channel.recv_owned().unwrap().expect("a frame");
            assert_eq!(&msg.payload[..], &[i as u8]);
        }
        clients.join().unwrap();
    }
    fds.assert_same();
}

/// On a non-blocking listener with nothing queued, `incoming` gives the
/// `EAGAIN` as an item and `try_accept` gives `None`.
#[test]
fn an_empty_non_blocking_queue_is_eagain_or_none() {
    let path = temp_path("incoming-nb");
    let listener = Listener::bind(&path, SocketKind::Stream).unwrap();
    listener.set_nonblocking(true).unwrap();
    let e = listener.incoming().next().unwrap().unwrap_err();
    assert!(
        matches!(e, Error::Io { syscall: "accept4", errno } if errno == nix::libc::EAGAIN),
        "{e:?}"
    );
    assert!(listener.try_accept().unwrap().is_none());
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod abstract_namespace {
    use super::*;

    fn name(what: &str) -> Vec<u8> {
        format!("mon-ipc-test-{what}-{}", std::process::id()).into_bytes()
    }

    /// A handshake and a frame over an abstract address, both kinds; no
    /// file is made, and the name is free again once the listener closes.
    #[test]
    fn handshake_over_an_abstract_address() {
        let _g = serial();
        let fds = FdCheck::new();
        for kind in KINDS {
            let n = name("hs");
            let listener = Listener::bind_abstract(&n, kind).unwrap();
            assert_eq!(listener.kind(), kind);
            let c = n.clone();
            let client = thread::spawn(move || {
                let sock = mon_ipc_std::connect_abstract(&c, kind).unwrap();
                let opts = ClientOptions::default().mutual(true);
                let mut conn = client(sock, &opts).unwrap();
                let server = conn.peer.take().expect("mutual");
                assert_eq!(server.pid().map(u32::from), Some(std::process::id()));
                conn.channel.send(b"abstract", []).unwrap();
            });
            let mut conn = server(listener.accept().unwrap(), &ServerOptions::default()).unwrap();
            assert_eq!(conn.peer.pid().map(u32::from), Some(std::process::id()));
            let msg = conn.channel.recv_owned().unwrap().expect("a frame");
            assert_eq!(&msg.payload[..], b"abstract");
            client.join().unwrap();
            drop((conn, listener));
            // The name went with the listener: it can be bound again.
            drop(Listener::bind_abstract(&n, kind).unwrap());
        }
        fds.assert_same();
    }

    #[test]
    fn a_name_in_use_is_eaddrinuse() {
        let n = name("inuse");
        let _first = Listener::bind_abstract(&n, SocketKind::Stream).unwrap();
        let e = Listener::bind_abstract(&n, SocketKind::Stream).unwrap_err();
        assert!(
            matches!(e, Error::Io { syscall: "bind", errno } if errno == nix::libc::EADDRINUSE),
            "{e:?}"
        );
    }

    /// 107 bytes fit (108 with the leading NUL); 108 are refused.
    #[test]
    fn a_name_longer_than_107_bytes_is_refused() {
        let mut n = name("long");
        n.resize(107, b'x');
        drop(Listener::bind_abstract(&n, SocketKind::Stream).unwrap());
        n.push(b'x');
        let e = Listener::bind_abstract(&n, SocketKind::Stream).unwrap_err();
        assert!(
            matches!(e, Error::Io { errno, .. } if errno == nix::libc::ENAMETOOLONG),
            "{e:?}"
        );
        let e = mon_ipc_std::connect_abstract(&n, SocketKind::Stream).unwrap_err();
        assert!(
            matches!(e, Error::Io { errno, .. } if errno == nix::libc::ENAMETOOLONG),
            "{e:?}"
        );
    }

    /// Nobody listening on the name: `ECONNREFUSED`, as for a path.
    #[test]
    fn connecting_to_an_unbound_name_is_refused() {
        let e = mon_ipc_std::connect_abstract(&name("nobody"), SocketKind::Stream).unwrap_err();
        assert!(
            matches!(e, Error::Io { syscall: "connect", errno } if errno == nix::libc::ECONNREFUSED),
            "{e:?}"
        );
    }
}
