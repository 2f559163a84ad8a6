//! Fds that do not match their frames: every case is an error, and every
//! fd involved is closed.

mod common;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::thread;

use common::{FdCheck, pipe, serial};
use mon_ipc::frame::Header;
use mon_ipc_std::raw::{self, Room};
use mon_ipc_std::{
    ClientConnection, ClientOptions, Error, Limits, ServerConnection, ServerOptions, SocketKind,
    client, server, set_nonblocking, socketpair,
};

const KINDS: [SocketKind; 2] = [SocketKind::Stream, SocketKind::Seqpacket];

fn connect_pair(
    kind: SocketKind,
    copts: ClientOptions,
) -> (ClientConnection<OwnedFd>, ServerConnection<OwnedFd>) {
    let pair = socketpair(kind).unwrap();
    let c = thread::spawn(move || client(pair.client, &copts).unwrap());
    let s = server(
        pair.server,
        &ServerOptions::default().limits(Limits::new(253, 1 << 20).unwrap()),
    )
    .unwrap();
    (c.join().unwrap(), s)
}

fn header(len: u32, nfds: u8) -> [u8; 8] {
    Header {
        len,
        nfds,
        kind: 0,
        reserved: 0,
    }
    .to_bytes()
}

/// The server's error after the client put `sends` on the wire raw.
fn server_error(kind: SocketKind, copts: ClientOptions, sends: &[(&[&[u8]], usize)]) -> Error {
    let (c, mut s) = connect_pair(kind, copts);
    let (_r, w) = pipe();
    let sock = c.channel.into_inner();
    for (bytes, nfds) in sends {
        let fds: Vec<BorrowedFd<'_>> = (0..*nfds).map(|_| w.as_fd()).collect();
        raw::send(&sock, bytes, None, &fds).unwrap();
    }
    s.channel
        .recv()
        .map(|m| m.map(|m| m.fds.len()))
        .unwrap_err()
}

#[test]
fn more_than_253_fds_are_refused_before_the_syscall() {
    let _g = serial();
    let fds = FdCheck::new();
    for kind in KINDS {
        let pair = socketpair(kind).unwrap();
        // With SO_PASSCRED on, credentials would take 32 bytes of the
        // control buffer and leave room for 245 fds only.
        raw::pass_credentials(&pair.server, false).unwrap();
        let (_r, w) = pipe();
        let many: Vec<BorrowedFd<'_>> = (0..254).map(|_| w.as_fd()).collect();
        assert_eq!(
            raw::send(&pair.client, &[b"x"], None, &many),
            Err(Error::TooManyFds(254))
        );
        // Nothing was sent.
        set_nonblocking(&pair.server, true).unwrap();
        let e = raw::recv(&pair.server, &mut [0u8; 8], Room::default()).unwrap_err();
        assert_eq!(e.io_error().unwrap().kind(), std::io::ErrorKind::WouldBlock);
        // 253 is the kernel's maximum, and goes through.
        assert_eq!(raw::send(&pair.client, &[b"x"], None, &many[..253]), Ok(1));
        let room = Room {
            fds: 253,
            ..Room::default()
        };
        let (n, anc) = raw::recv(&pair.server, &mut [0u8; 8], room).unwrap();
        assert_eq!((n, anc.fds.len(), anc.ctrunc), (1, 253, false));
    }
    fds.assert_same();
}

#[test]
fn the_control_buffer_takes_exactly_the_fds_it_has_room_for() {
    let _g = serial();
    let fds = FdCheck::new();
    let pair = socketpair(SocketKind::Stream).unwrap();
    raw::pass_credentials(&pair.server, false).unwrap();
    let (r, w) = pipe();
    raw::send(&pair.client, &[b"x"], None, &[r.as_fd(), w.as_fd()]).unwrap();
    // CMSG_LEN(4): one fd installed, the other closed by the kernel, MSG_CTRUNC.
    let room = Room {
        fds: 1,
        ..Room::default()
    };
    let (n, anc) = raw::recv(&pair.server, &mut [0u8; 8], room).unwrap();
    assert_eq!((n, anc.fds.len(), anc.ctrunc), (1, 1, true));
    drop((anc, pair, r, w));
    fds.assert_same();
}

#[test]
fn a_frame_with_253_fds_passes_the_channel_and_254_is_refused() {
    let _g = serial();
    let fds = FdCheck::new();
    for kind in KINDS {
        let copts = ClientOptions::default().limits(Limits::new(253, 1 << 20).unwrap());
        let (mut c, mut s) = connect_pair(kind, copts);
        let (_r, w) = pipe();
        let dups = |n| {
            (0..n)
                .map(|_| w.try_clone().unwrap())
                .collect::<Vec<OwnedFd>>()
        };
        c.channel.send(b"max", dups(253)).unwrap();
        assert_eq!(s.channel.recv().unwrap().unwrap().fds.len(), 253);
        assert_eq!(
            c.channel.send(b"over", dups(254)).unwrap_err().code(),
            "send_too_many_fds"
        );
    }
    fds.assert_same();
}

#[test]
fn a_frame_announcing_more_fds_than_arrived_is_an_error() {
    let _g = serial();
    let fds = FdCheck::new();
    for kind in KINDS {
        let h = header(3, 2);
        let e = server_error(kind, ClientOptions::default(), &[(&[&h, b"abc"], 1)]);
        assert_eq!(e.code(), "fd_count_mismatch", "{kind:?}");
    }
    fds.assert_same();
}

#[test]
fn a_frame_announcing_an_fd_that_never_came_is_an_error() {
    let _g = serial();
    let fds = FdCheck::new();
    for kind in KINDS {
        let h = header(3, 1);
        let e = server_error(kind, ClientOptions::default(), &[(&[&h, b"abc"], 0)]);
        assert_eq!(e.code(), "fds_missing", "{kind:?}");
    }
    fds.assert_same();
}

#[test]
fn fds_arriving_with_no_frame_are_an_error() {
    let _g = serial();
    let fds = FdCheck::new();
    // Stream: the fds come with the second half of a frame's payload, after
    // the receiver read the first half. (Sent before that read, the halves
    // would be glued into one read, and the fds would belong to the frame:
    // `fd_count_mismatch`.)
    let (c, mut s) = connect_pair(SocketKind::Stream, ClientOptions::default());
    let (r, w) = pipe();
    let sock = c.channel.into_inner();
    raw::send(&sock, &[&header(10, 0), b"1234"], None, &[]).unwrap();
    set_nonblocking(s.channel.get_ref(), true).unwrap();
    assert!(matches!(
        s.channel.try_recv().unwrap(),
        mon_ipc_std::Recv::WouldBlock
    ));
    raw::send(&sock, &[b"567890"], None, &[w.as_fd()]).unwrap();
    let e = s
        .channel
        .recv()
        .map(|m| m.map(|m| m.fds.len()))
        .unwrap_err();
    assert_eq!(e.code(), "fds_without_frame");
    drop((sock, s, r, w));
    // Seqpacket: an empty record with an fd.
    let e = server_error(SocketKind::Seqpacket, ClientOptions::default(), &[(&[], 1)]);
    assert_eq!(e.code(), "fds_without_frame");
    fds.assert_same();
}

#[test]
fn more_fds_than_negotiated_are_cut_by_the_kernel_and_closed() {
    let _g = serial();
    let fds = FdCheck::new();
    for kind in KINDS {
        // The control buffer has room for exactly 2 fds (CMSG_LEN(8)).
        let copts = ClientOptions::default().limits(Limits::new(2, 1 << 20).unwrap());
        let h = header(3, 2);
        let e = server_error(kind, copts, &[(&[&h, b"abc"], 3)]);
        assert_eq!(e.code(), "control_truncated", "{kind:?}");
    }
    fds.assert_same();
}

#[test]
fn fds_sent_with_the_hello_are_refused_and_closed() {
    let _g = serial();
    let fds = FdCheck::new();
    for kind in KINDS {
        let pair = socketpair(kind).unwrap();
        let (_r, w) = pipe();
        let hello = mon_ipc::hello::Hello::new(Limits::default(), false).to_bytes();
        let me = Some(raw::own_credentials());
        raw::send(&pair.client, &[&hello], me, &[w.as_fd()]).unwrap();
        let e = server(pair.server, &ServerOptions::default()).unwrap_err();
        assert_eq!(e.code(), "hello_fds", "{kind:?}");
        let mut reply = [0u8; 16];
        let (n, _) = raw::recv(&pair.client, &mut reply, Room::default()).unwrap();
        assert_eq!((n, reply[5]), (16, 4), "status 4: malformed");
    }
    fds.assert_same();
}

#[test]
fn a_hello_without_credentials_is_refused() {
    let _g = serial();
    let fds = FdCheck::new();
    for kind in KINDS {
        // SO_PASSCRED off until after the hello was sent: the kernel attached
        // nothing, and reports pid 0 with the overflow ids.
        let (server_end, client_end) = {
            let p = socketpair(kind).unwrap();
            raw::pass_credentials(&p.server, false).unwrap();
            (p.server, p.client)
        };
        let hello = mon_ipc::hello::Hello::new(Limits::default(), false).to_bytes();
        raw::send(&client_end, &[&hello], None, &[]).unwrap();
        let e = server(server_end, &ServerOptions::default()).unwrap_err();
        assert_eq!(e.code(), "no_credentials", "{kind:?}");
    }
    fds.assert_same();
}
