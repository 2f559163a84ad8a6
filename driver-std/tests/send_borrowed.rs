//! `Channel::send_borrowed`: frames whose fds stay the caller's. The fds
//! must arrive with their frame exactly once, the caller's must stay open,
//! queued frames must go first, limits must refuse before sending, and a
//! short write on a stream must be finished without the fds.

mod common;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::thread;

use common::{FdCheck, pipe, read_fd, serial, write_fd};
use mon_ipc_std::{
    Channel, ClientOptions, Error, Limits, ServerOptions, SocketKind, client, server, socketpair,
};

/// A channel pair after a real handshake over a socketpair of `kind`.
fn channels(kind: SocketKind, limits: Limits) -> (Channel<OwnedFd>, Channel<OwnedFd>) {
    let pair = socketpair(kind).unwrap();
    let copts = ClientOptions::default().limits(limits);
    let c = thread::spawn(move || client(pair.client, &copts).unwrap());
    let s = server(pair.server, &ServerOptions::default().limits(limits)).unwrap();
    (c.join().unwrap().channel, s.channel)
}

/// Receives one frame: its payload, and for each fd what can be read from
/// it after writing `probe` into the matching pipe write end.
fn recv_and_probe(ch: &mut Channel<OwnedFd>) -> (Vec<u8>, Vec<OwnedFd>) {
    let m = ch.recv().unwrap().expect("a frame");
    (m.payload.to_vec(), m.fds.collect())
}

#[test]
fn fds_arrive_with_the_frame_and_stay_open_at_the_sender() {
    let _g = serial();
    let fds = FdCheck::new();
    for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
        let (mut a, mut b) = channels(kind, Limits::default());
        let pipes: Vec<(OwnedFd, OwnedFd)> = (0..3).map(|_| pipe()).collect();
        let ends: Vec<BorrowedFd<'_>> = pipes.iter().map(|(_, w)| w.as_fd()).collect();
        a.send_borrowed(b"three write ends", &ends).unwrap();
        a.send_borrowed(b"", &[]).unwrap();
        let (payload, got) = recv_and_probe(&mut b);
        assert_eq!(payload, b"three write ends", "{kind:?}");
        assert_eq!(got.len(), 3);
        // Each received fd is the matching pipe's write end; the sender's
        // own fds are still open (they were only borrowed).
        for (i, (fd, (r, w))) in got.iter().zip(&pipes).enumerate() {
            write_fd(fd, &[i as u8]);
            write_fd(w, &[i as u8 + 10]);
            assert_eq!(read_fd(r), [i as u8, i as u8 + 10]);
        }
        let (payload, got) = recv_and_probe(&mut b);
        assert!(payload.is_empty() && got.is_empty(), "{kind:?}");
    }
    fds.assert_same();
}

#[test]
fn queued_frames_go_first() {
    let _g = serial();
    let (mut a, mut b) = channels(SocketKind::Stream, Limits::default());
    let (r, w) = pipe();
    a.push_copy(b"queued", []).unwrap();
    a.push_copy(b"queued with fd", [r]).unwrap();
    a.send_borrowed(b"borrowed", &[w.as_fd()]).unwrap();
    assert_eq!(a.queued_bytes(), 0);
    let (p1, f1) = recv_and_probe(&mut b);
    let (p2, f2) = recv_and_probe(&mut b);
    let (p3, f3) = recv_and_probe(&mut b);
    assert_eq!((&p1[..], f1.len()), (&b"queued"[..], 0));
    assert_eq!((&p2[..], f2.len()), (&b"queued with fd"[..], 1));
    assert_eq!((&p3[..], f3.len()), (&b"borrowed"[..], 1));
    write_fd(&f3[0], b"x");
    assert_eq!(read_fd(&f2[0]), b"x");
}

#[test]
fn limits_refuse_before_sending_and_the_channel_stays_usable() {
    let _g = serial();
    let fds = FdCheck::new();
    let limits = Limits::new(2, 16).unwrap();
    let (mut a, mut b) = channels(SocketKind::Stream, limits);
    let (r, w) = pipe();
    let three = [r.as_fd(), w.as_fd(), w.as_fd()];
    let err = a.send_borrowed(b"x", &three).unwrap_err();
    assert_eq!(err, Error::from(mon_ipc::UsageError::SendTooManyFds));
    let err = a.send_borrowed(&[0; 17], &[]).unwrap_err();
    assert_eq!(err, Error::from(mon_ipc::UsageError::SendTooLarge));
    a.send_borrowed(&[1; 16], &three[..2]).unwrap();
    let (p, f) = recv_and_probe(&mut b);
    assert_eq!((p, f.len()), (vec![1; 16], 2));
    drop((f, a, b, r, w));
    fds.assert_same();
}

/// A 4 MiB frame on a non-blocking stream cannot go in one `sendmsg` (the
/// socket buffer is far smaller, and a non-blocking `sendmsg` returns what
/// fitted): the rest goes without the fds, which must arrive once, and the
/// channel waits for the socket in between.
#[test]
fn a_short_write_is_finished_without_the_fds() {
    let _g = serial();
    let fds = FdCheck::new();
    let (mut a, mut b) = channels(SocketKind::Stream, Limits::default());
    let fl = nix::fcntl::fcntl(a.get_ref(), nix::fcntl::FcntlArg::F_GETFL).unwrap();
    let fl = nix::fcntl::OFlag::from_bits_retain(fl) | nix::fcntl::OFlag::O_NONBLOCK;
    nix::fcntl::fcntl(a.get_ref(), nix::fcntl::FcntlArg::F_SETFL(fl)).unwrap();
    let payload: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    let expect = payload.clone();
    let reader = thread::spawn(move || {
        let (p, f) = recv_and_probe(&mut b);
        assert_eq!(p, expect);
        assert_eq!(f.len(), 2);
        let (p, f2) = recv_and_probe(&mut b);
        assert_eq!((p, f2.len()), (b"next".to_vec(), 0));
        assert!(b.recv().unwrap().is_none(), "nothing after");
        f
    });
    let (r, w) = pipe();
    a.send_borrowed(&payload, &[r.as_fd(), w.as_fd()]).unwrap();
    a.send_borrowed(b"next", &[]).unwrap();
    drop(a);
    let got = reader.join().unwrap();
    write_fd(&got[1], b"y");
    assert_eq!(read_fd(&r), b"y");
    drop((got, r, w));
    fds.assert_same();
}

/// `send` (owned fds) takes the same path: too many fds are refused with
/// every one of them closed, nothing sent, and the channel still usable;
/// then a frame with fds and a large payload goes through.
#[test]
fn send_refuses_too_many_fds_closes_them_and_goes_on() {
    let _g = serial();
    let fds = FdCheck::new();
    let (mut a, mut b) = channels(SocketKind::Stream, Limits::new(2, 1 << 20).unwrap());
    let three: Vec<OwnedFd> = (0..3).map(|_| pipe().0).collect();
    let err = a.send(b"x", three).unwrap_err();
    assert_eq!(err, Error::from(mon_ipc::UsageError::SendTooManyFds));
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 253) as u8).collect();
    let expect = big.clone();
    let reader = thread::spawn(move || {
        let (p, f) = recv_and_probe(&mut b);
        assert_eq!((p, f.len()), (expect, 2));
        assert!(
            b.recv().unwrap().is_none(),
            "the refused frame never went out"
        );
    });
    let (r, w) = pipe();
    a.send(&big, [r, w]).unwrap();
    drop(a);
    reader.join().unwrap();
    fds.assert_same();
}
