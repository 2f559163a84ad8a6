//! `send_shm` / `recv_shm`: the stateless pair beside `send_fd` / `recv_fd`
//! (what the C API's `mon_ipc_send_shm` / `mon_ipc_recv_shm` call).

mod common;

use bytes::BytesMut;
use common::{FdCheck, memfd_maps, serial};
use mon_ipc::frame::seals;
use mon_ipc_std::{SocketKind, SocketPair, raw, recv_fd, recv_shm, send_fd, send_shm};

/// A socketpair as after a handshake: `SO_PASSCRED` off again (it is on
/// only until the hello is in, and its credentials would take the room of
/// the one fd these calls accept).
fn socketpair(kind: SocketKind) -> SocketPair {
    let pair = mon_ipc_std::socketpair(kind).unwrap();
    raw::pass_credentials(&pair.server, false).unwrap();
    pair
}

#[test]
fn a_region_crosses_with_its_application_bytes() {
    let _g = serial();
    for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
        let (fds, maps) = (FdCheck::new(), memfd_maps());
        let pair = socketpair(kind);
        let mut region = mon_ipc_std::SharedMemory::create(8192).unwrap();
        region.write_at(4096, b"shared page").unwrap();
        send_shm(&pair.client, &region, b"app bytes").unwrap();
        let mut buf = BytesMut::from(&b"kept:"[..]);
        let got = recv_shm(&pair.server, &mut buf).unwrap();
        assert_eq!(
            &buf[..],
            b"kept:app bytes",
            "{kind:?}: the shm header is not in buf"
        );
        assert_eq!(got.len(), 8192);
        assert_eq!(got.seals().unwrap() & seals::REQUIRED, seals::REQUIRED);
        let mut read = [0u8; 11];
        got.read_at(4096, &mut read).unwrap();
        assert_eq!(&read, b"shared page", "{kind:?}");
        drop((got, region, pair));
        fds.assert_same();
        assert_eq!(memfd_maps(), maps, "{kind:?}: a mapping leaked");
    }
}

#[test]
fn a_data_frame_is_refused_and_buf_is_unchanged() {
    let _g = serial();
    let fds = FdCheck::new();
    let pair = socketpair(SocketKind::Stream);
    let (_r, w) = nix::unistd::pipe().unwrap();
    send_fd(&pair.client, b"data", Some(std::os::fd::AsFd::as_fd(&w))).unwrap();
    let mut buf = BytesMut::from(&b"before"[..]);
    let e = recv_shm(&pair.server, &mut buf).unwrap_err();
    assert_eq!(e.code(), "shm_expected");
    assert_eq!(&buf[..], b"before");
    drop((_r, w, pair));
    fds.assert_same();
}

#[test]
fn recv_fd_takes_a_region_unchecked_without_its_header() {
    let _g = serial();
    let fds = FdCheck::new();
    let pair = socketpair(SocketKind::Stream);
    let region = mon_ipc_std::SharedMemory::create(64).unwrap();
    send_shm(&pair.client, &region, b"x").unwrap();
    let mut buf = BytesMut::new();
    let fd = recv_fd(&pair.server, &mut buf).unwrap();
    assert!(fd.is_some());
    assert_eq!(&buf[..], b"x");
    drop((fd, region, pair));
    fds.assert_same();
}
