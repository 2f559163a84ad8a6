//! `Channel`'s read and write timeouts: a silent peer makes a blocking
//! receive or send return `Error::Timeout` at the deadline (one per call:
//! a trickling peer does not renew it), and
//! the channel stays usable: a frame split across a timeout arrives once,
//! with its fd; a send timed out mid-frame is finished by the next flush.

mod common;

use std::os::fd::{AsFd, OwnedFd};
use std::thread;
use std::time::{Duration, Instant};

use common::{DEADLINE, FdCheck, LATE, serial, times_out};
use mon_ipc_std::{
    Channel, ClientOptions, Error, ServerOptions, SocketKind, client, raw, server, set_nonblocking,
};

/// An authenticated (client, server) pair of channels.
fn channels(kind: SocketKind) -> (Channel<OwnedFd>, Channel<OwnedFd>) {
    let pair = mon_ipc_std::socketpair(kind).unwrap();
    let c = thread::spawn(move || client(pair.client, &ClientOptions::default()).unwrap());
    let s = server(pair.server, &ServerOptions::default()).unwrap();
    (c.join().unwrap().channel, s.channel)
}

#[test]
fn a_zero_timeout_is_refused_as_std_refuses_it() {
    let _g = serial();
    let (mut c, _s) = channels(SocketKind::Stream);
    c.set_read_timeout(Some(DEADLINE)).unwrap();
    let e = c.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(
        e.io_error().unwrap().kind(),
        std::io::ErrorKind::InvalidInput
    );
    assert_eq!(c.read_timeout(), Some(DEADLINE), "unchanged");
    let e = c.set_write_timeout(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(
        e.io_error().unwrap().kind(),
        std::io::ErrorKind::InvalidInput
    );
    assert_eq!(c.write_timeout(), None);
    c.set_write_timeout(Some(DEADLINE)).unwrap();
    assert_eq!(c.write_timeout(), Some(DEADLINE));
    c.set_read_timeout(None).unwrap();
    assert_eq!(c.read_timeout(), None);
}

#[test]
fn recv_times_out_and_a_frame_split_across_the_timeout_arrives_once() {
    let _g = serial();
    for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
        for nonblocking in [false, true] {
            let what = format!("{kind:?} nb={nonblocking}");
            let fds = FdCheck::new();
            let (c, mut s) = channels(kind);
            set_nonblocking(&s, nonblocking).unwrap();
            s.set_read_timeout(Some(DEADLINE)).unwrap();
            times_out(&format!("{what}: silent peer"), || {
                s.recv().map(|m| m.is_some())
            });
            times_out(&format!("{what}: recv_shm"), || {
                s.recv_shm().map(|m| m.is_some())
            });
            let (r, w) = nix::unistd::pipe().unwrap();
            let payload = b"split across a timeout";
            let header = mon_ipc::frame::Header {
                len: payload.len() as u32,
                nfds: 1,
                kind: 0,
                reserved: 0,
            }
            .to_bytes();
            if kind == SocketKind::Stream {
                // Half the header, with the fd on its first byte.
                raw::send(c.get_ref(), &[&header[..4]], None, &[w.as_fd()]).unwrap();
                times_out(&format!("{what}: half a header"), || {
                    s.recv().map(|m| m.is_some())
                });
                raw::send(c.get_ref(), &[&header[4..], &payload[..5]], None, &[]).unwrap();
                times_out(&format!("{what}: half a payload"), || {
                    s.recv().map(|m| m.is_some())
                });
                raw::send(c.get_ref(), &[&payload[5..]], None, &[]).unwrap();
            } else {
                raw::send(c.get_ref(), &[&header[..], payload], None, &[w.as_fd()]).unwrap();
            }
            drop(w);
            let mut m = s.recv().unwrap().expect("the frame");
            assert_eq!(&m.payload[..], payload, "{what}");
            let fd = m.fds.next().expect("its fd");
            assert!(m.fds.next().is_none(), "{what}: one fd");
            drop(m);
            // The fd is the pipe's write end.
            nix::unistd::write(&fd, b"x").unwrap();
            let mut b = [0u8; 1];
            assert_eq!(nix::unistd::read(&r, &mut b).unwrap(), 1);
            // Once: nothing more is there.
            times_out(&format!("{what}: after the frame"), || {
                s.recv().map(|m| m.is_some())
            });
            drop((fd, r, c, s));
            fds.assert_same();
        }
    }
}

/// Sends 64 KiB frames with a pipe's fd to a peer that does not read,
/// until one times out; then the peer reads everything: every frame sent
/// or begun arrives whole, with its fd.
#[test]
fn send_times_out_when_the_peer_stops_reading_and_the_frame_is_finished_later() {
    let _g = serial();
    for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
        for borrowed in [false, true] {
            let what = format!("{kind:?} borrowed={borrowed}");
            let fds = FdCheck::new();
            let (mut c, mut s) = channels(kind);
            set_nonblocking(&c, true).unwrap();
            c.set_write_timeout(Some(DEADLINE)).unwrap();
            let (_r, w) = nix::unistd::pipe().unwrap();
            let mut sent = 0u32;
            let start = Instant::now();
            loop {
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "{what}: never full"
                );
                let frame = vec![(sent % 251) as u8; 64 * 1024];
                let t = Instant::now();
                let r = match borrowed {
                    true => c.send_borrowed(&frame, &[w.as_fd()]),
                    false => c.send(&frame, [w.try_clone().unwrap()]),
                };
                match r {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        let took = t.elapsed();
                        assert_eq!(e, Error::Timeout, "{what}");
                        assert!(took >= DEADLINE, "{what}: early, {took:?}");
                        assert!(took < DEADLINE + LATE, "{what}: late, {took:?}");
                        break;
                    }
                }
            }
            // A frame begun and timed out is kept, and counts.
            if c.queued_bytes() > 0 {
                assert_eq!(kind, SocketKind::Stream, "a record goes whole");
                sent += 1;
            }
            times_out(&format!("{what}: flush_all"), || {
                if c.queued_bytes() == 0 {
                    // Nothing pending: queue a frame that cannot go.
                    c.push_copy(&vec![0u8; 64 * 1024], [])?;
                    sent += 1;
                }
                c.flush_all()
            });
            let reader = thread::spawn(move || {
                let mut got = 0u32;
                let mut padding = false;
                while let Some(mut m) = s.recv().unwrap() {
                    assert!(!padding, "the padding frame is the last one");
                    let fill = m.payload.first().copied();
                    assert_eq!(m.payload.len(), 64 * 1024);
                    assert!(m.payload.iter().all(|b| Some(*b) == fill), "a torn frame");
                    match m.fds.by_ref().count() {
                        1 => assert_eq!(fill, Some((got % 251) as u8), "frame {got}"),
                        // The padding frame of the flush_all check.
                        n => {
                            assert_eq!((fill, n), (Some(0), 0), "frame {got}");
                            padding = true;
                        }
                    }
                    got += 1;
                }
                got
            });
            c.set_write_timeout(None).unwrap();
            c.flush_all().unwrap();
            assert_eq!(c.queued_bytes(), 0);
            drop(c);
            assert_eq!(reader.join().unwrap(), sent, "{what}");
            drop((_r, w));
            fds.assert_same();
        }
    }
}

/// One frame far larger than the socket's buffers, sent with a borrowed fd
/// to a peer that does not read: the first `sendmsg` takes part of it (and
/// the fd), the timeout comes mid-frame, and the channel keeps exactly the
/// unsent rest; the next flush finishes the frame, which arrives once,
/// whole, with its fd. The fd stays the caller's throughout.
#[test]
fn send_borrowed_timed_out_mid_frame_is_finished_by_the_next_flush() {
    let _g = serial();
    let fds = FdCheck::new();
    let (mut c, mut s) = channels(SocketKind::Stream);
    c.set_write_timeout(Some(DEADLINE)).unwrap();
    let (r, w) = nix::unistd::pipe().unwrap();
    let payload: Vec<u8> = (0..4u32 << 20).map(|i| (i % 253) as u8).collect();
    let frame_len = payload.len() + mon_ipc::frame::HEADER_LEN;
    let start = Instant::now();
    let e = c.send_borrowed(&payload, &[w.as_fd()]).unwrap_err();
    let took = start.elapsed();
    assert_eq!(e, Error::Timeout);
    assert!(took >= DEADLINE && took < DEADLINE + LATE, "took {took:?}");
    let kept = c.queued_bytes();
    assert!(kept > 0 && kept < frame_len, "kept {kept} of {frame_len}");
    // Another send waits behind the rest of the frame, and times out too.
    times_out("a send behind the kept rest", || c.send(b"next", []));
    let reader = thread::spawn(move || {
        let mut m = s.recv().unwrap().expect("the frame");
        let got = (m.payload.clone(), m.fds.by_ref().collect::<Vec<_>>());
        drop(m);
        let next = s.recv().unwrap().map(|m| m.payload.clone());
        (got, next, s.recv().unwrap().is_none())
    });
    c.set_write_timeout(None).unwrap();
    c.flush_all().unwrap();
    c.send(b"after", []).unwrap();
    drop(c);
    let ((got, got_fds), next, eof) = reader.join().unwrap();
    assert!(got[..] == payload[..], "the frame arrived whole");
    assert_eq!(got_fds.len(), 1, "with its fd, once");
    assert_eq!(next.as_deref(), Some(&b"after"[..]), "then the next frame");
    assert!(eof);
    // The fd received is the pipe's write end; ours is still open.
    nix::unistd::write(&got_fds[0], b"x").unwrap();
    nix::unistd::write(&w, b"y").unwrap();
    let mut b = [0u8; 2];
    assert_eq!(nix::unistd::read(&r, &mut b).unwrap(), 2);
    drop((got_fds, r, w));
    fds.assert_same();
}

/// A peer that trickles one byte of a frame every third of the deadline:
/// a receive with a read timeout still returns `Timeout` at its deadline,
/// which is one per call, not renewed by each read. (Were it renewed, the
/// receive would go on until the trickle stops, after twice [`LATE`], and
/// fail `times_out`: checked by renewing it in the channel. The bytes
/// are paced by a sleep: a stimulus, not a synchronisation; on a loaded
/// machine the gaps only grow, which cannot fail a correct channel.)
#[test]
fn a_trickling_peer_does_not_renew_the_read_deadline() {
    let _g = serial();
    let fds = FdCheck::new();
    let (c, mut s) = channels(SocketKind::Stream);
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    let sock = c.into_inner();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickle = {
        let stop = std::sync::Arc::clone(&stop);
        thread::spawn(move || {
            use std::sync::atomic::Ordering;
            let mut frame = mon_ipc::frame::Header {
                len: 4096,
                nfds: 0,
                kind: 0,
                reserved: 0,
            }
            .to_bytes()
            .to_vec();
            frame.resize(8 + 4096, 7);
            let start = Instant::now();
            for b in frame.chunks(1) {
                // Past the deadline plus LATE, so that a renewed deadline
                // would make the receive last longer than `times_out` allows.
                if stop.load(Ordering::Relaxed) || start.elapsed() > 2 * LATE {
                    break;
                }
                raw::send(&sock, &[b], None, &[] as &[std::os::fd::BorrowedFd<'_>]).unwrap();
                thread::sleep(DEADLINE / 3);
            }
            sock
        })
    };
    times_out("a trickled frame", || s.recv().map(|m| m.is_some()));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sock = trickle.join().unwrap();
    drop((sock, s));
    fds.assert_same();
}
