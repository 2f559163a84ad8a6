//! The stateless calls' deadlines: `send_fd_timeout`, `recv_fd_timeout`,
//! `send_shm_timeout`, `recv_shm_timeout` against a silent peer return
//! `Error::Timeout` within twice the deadline, and leave what their docs
//! say: nothing appended, every fd closed, the socket usable when no byte
//! of the frame had moved.

mod common;

use std::io::Write;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{DEADLINE, FdCheck, serial, times_out};
use mon_ipc_std::{
    Error, SocketKind, SocketPair, raw, recv_fd_timeout, recv_shm_timeout, send_fd_timeout,
    send_shm_timeout,
};

/// A socketpair as after a handshake (`SO_PASSCRED` off again).
fn socketpair(kind: SocketKind) -> SocketPair {
    let pair = mon_ipc_std::socketpair(kind).unwrap();
    raw::pass_credentials(&pair.server, false).unwrap();
    pair
}

#[test]
fn recv_times_out_on_a_silent_peer_and_the_socket_stays_usable() {
    let _g = serial();
    for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
        for nonblocking in [false, true] {
            let fds = FdCheck::new();
            let pair = socketpair(kind);
            mon_ipc_std::set_nonblocking(&pair.server, nonblocking).unwrap();
            let mut buf = BytesMut::from(&b"kept"[..]);
            times_out(&format!("{kind:?} nb={nonblocking}: recv_fd"), || {
                recv_fd_timeout(&pair.server, &mut buf, 1024, Some(DEADLINE))
            });
            times_out(&format!("{kind:?} nb={nonblocking}: recv_shm"), || {
                recv_shm_timeout(&pair.server, &mut buf, Some(DEADLINE))
            });
            assert_eq!(&buf[..], b"kept");
            // No byte had moved: the next frame arrives whole.
            let (r, w) = nix::unistd::pipe().unwrap();
            send_fd_timeout(&pair.client, b"after", Some(w.as_fd()), Some(DEADLINE)).unwrap();
            drop(w);
            let fd = recv_fd_timeout(&pair.server, &mut buf, 1024, Some(DEADLINE))
                .unwrap()
                .expect("the frame's fd");
            assert_eq!(&buf[..], b"keptafter");
            // The fd is the pipe's write end: writing to it reaches `r`.
            std::fs::File::from(fd).write_all(b"x").unwrap();
            let mut got = [0u8; 1];
            assert_eq!(nix::unistd::read(&r, &mut got).unwrap(), 1);
            // Some(ZERO) takes a frame already queued.
            send_fd_timeout(&pair.client, b"0", None, None).unwrap();
            buf.clear();
            let none = recv_fd_timeout(&pair.server, &mut buf, 1024, Some(Duration::ZERO));
            assert!(none.unwrap().is_none());
            assert_eq!(&buf[..], b"0");
            drop((r, pair));
            fds.assert_same();
        }
    }
}

#[test]
fn recv_timed_out_mid_frame_appends_nothing_and_closes_the_fd() {
    let _g = serial();
    let fds = FdCheck::new();
    let pair = socketpair(SocketKind::Stream);
    let (_r, w) = nix::unistd::pipe().unwrap();
    // Half a header, with an fd on its first byte; the rest never comes.
    let header = mon_ipc::frame::Header {
        len: 4,
        nfds: 1,
        kind: 0,
        reserved: 0,
    }
    .to_bytes();
    raw::send(&pair.client, &[&header[..4]], None, &[w.as_fd()]).unwrap();
    drop(w);
    let mut buf = BytesMut::from(&b"kept"[..]);
    times_out("half a header", || {
        recv_fd_timeout(&pair.server, &mut buf, 1024, Some(DEADLINE))
    });
    assert_eq!(&buf[..], b"kept");
    // A whole header and half the payload.
    let pair2 = socketpair(SocketKind::Stream);
    let (_r2, w2) = nix::unistd::pipe().unwrap();
    raw::send(&pair2.client, &[&header[..], b"ab"], None, &[w2.as_fd()]).unwrap();
    drop(w2);
    times_out("half a payload", || {
        recv_fd_timeout(&pair2.server, &mut buf, 1024, Some(DEADLINE))
    });
    assert_eq!(&buf[..], b"kept");
    // The received fds were closed: the pipes' write ends are gone.
    drop((_r, _r2, pair, pair2));
    fds.assert_same();
}

#[test]
fn send_times_out_when_the_peer_stops_reading() {
    let _g = serial();
    for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
        for nonblocking in [false, true] {
            let fds = FdCheck::new();
            let pair = socketpair(kind);
            mon_ipc_std::set_nonblocking(&pair.client, nonblocking).unwrap();
            let (_r, w) = nix::unistd::pipe().unwrap();
            let frame = vec![7u8; 64 * 1024];
            // Fill the socket: frames go until one times out.
            let start = Instant::now();
            let e = loop {
                match send_fd_timeout(&pair.client, &frame, Some(w.as_fd()), Some(DEADLINE)) {
                    Ok(()) => assert!(start.elapsed() < Duration::from_secs(20), "never full"),
                    Err(e) => break e,
                }
            };
            assert_eq!(e, Error::Timeout);
            let what = format!("{kind:?} nb={nonblocking}");
            times_out(&format!("{what}: send_fd"), || {
                send_fd_timeout(&pair.client, &frame, Some(w.as_fd()), Some(DEADLINE))
            });
            let region = mon_ipc_std::SharedMemory::create(4096).unwrap();
            times_out(&format!("{what}: send_shm"), || {
                send_shm_timeout(&pair.client, &region, &frame, Some(DEADLINE))
            });
            drop((region, _r, w, pair));
            fds.assert_same();
        }
    }
}
