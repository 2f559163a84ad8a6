//! `connect_timeout` and `try_connect` against a listener whose backlog is
//! full: an `AF_UNIX` connect then waits for the server to accept, and
//! only a deadline bounds it.

mod common;

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use common::{FdCheck, serial, temp_path};
use mon_ipc_std::{Error, SocketKind, connect_timeout, try_connect};
use nix::sys::socket::{self, AddressFamily, Backlog, SockFlag, SockType, UnixAddr};

const DEADLINE: Duration = Duration::from_millis(300);

/// A listener on `path` with a backlog of 0 (Linux then queues one
/// connection), never accepting.
fn tiny_listener(path: &std::path::Path, kind: SocketKind) -> OwnedFd {
    let ty = match kind {
        SocketKind::Stream => SockType::Stream,
        SocketKind::Seqpacket => SockType::SeqPacket,
    };
    let fd = socket::socket(AddressFamily::Unix, ty, SockFlag::SOCK_CLOEXEC, None).unwrap();
    socket::bind(fd.as_raw_fd(), &UnixAddr::new(path).unwrap()).unwrap();
    socket::listen(&fd, Backlog::new(0).unwrap()).unwrap();
    fd
}

/// Connects with `try_connect` until the backlog is full.
fn fill_backlog(path: &std::path::Path, kind: SocketKind) -> Vec<OwnedFd> {
    let mut pending = Vec::new();
    loop {
        assert!(pending.len() < 64, "the backlog never filled");
        match try_connect(path, kind).unwrap() {
            Some(fd) => pending.push(fd),
            None => return pending,
        }
    }
}

#[test]
fn connect_times_out_on_a_full_backlog() {
    let _g = serial();
    for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
        let fds = FdCheck::new();
        let path = temp_path("connect-timeout");
        let listener = tiny_listener(&path, kind);
        let pending = fill_backlog(&path, kind);
        assert!(
            !pending.is_empty(),
            "{kind:?}: a backlog of 0 still queues one"
        );
        for _ in 0..2 {
            let start = Instant::now();
            let e = connect_timeout(&*path, kind, DEADLINE).unwrap_err();
            let took = start.elapsed();
            assert_eq!(e, Error::Timeout, "{kind:?}");
            assert!(took >= DEADLINE, "{kind:?}: early, after {took:?}");
            assert!(
                took < DEADLINE + common::LATE,
                "{kind:?}: late, after {took:?}"
            );
        }
        // Room again: one accepted, the next connect goes through at once,
        // blocking and without a send timeout left on it.
        let accepted = socket::accept(listener.as_raw_fd()).unwrap();
        let sock = connect_timeout(&*path, kind, DEADLINE).unwrap();
        let t: nix::sys::time::TimeVal =
            socket::getsockopt(&sock, socket::sockopt::SendTimeout).unwrap();
        assert_eq!(
            (t.tv_sec(), t.tv_usec()),
            (0, 0),
            "{kind:?}: SO_SNDTIMEO cleared"
        );
        let fl = nix::fcntl::fcntl(sock.as_fd(), nix::fcntl::FcntlArg::F_GETFL).unwrap();
        assert_eq!(fl & nix::libc::O_NONBLOCK, 0, "{kind:?}: blocking");
        drop((sock, pending, listener));
        nix::unistd::close(accepted).unwrap();
        drop(path);
        fds.assert_same();
    }
}

#[test]
fn try_connect_gives_a_non_blocking_socket_and_connect_errors_stay_errors() {
    let _g = serial();
    let fds = FdCheck::new();
    let path = temp_path("try-connect");
    let listener = tiny_listener(&path, SocketKind::Stream);
    let sock = try_connect(&*path, SocketKind::Stream).unwrap().unwrap();
    let fl = nix::fcntl::fcntl(sock.as_fd(), nix::fcntl::FcntlArg::F_GETFL).unwrap();
    assert_ne!(fl & nix::libc::O_NONBLOCK, 0);
    let missing = path.with_file_name("missing");
    let e = connect_timeout(&missing, SocketKind::Stream, DEADLINE).unwrap_err();
    assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::NotFound);
    assert!(try_connect(&missing, SocketKind::Stream).is_err());
    let e = connect_timeout(&*path, SocketKind::Stream, Duration::ZERO).unwrap_err();
    assert_eq!(
        e.io_error().unwrap().kind(),
        std::io::ErrorKind::InvalidInput
    );
    drop((sock, listener, path));
    fds.assert_same();
}
