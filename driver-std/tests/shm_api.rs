//! The region's own API, in one process: bounds, sizes, seals.

mod common;

use common::{FdCheck, memfd_maps, serial};
use mon_ipc::frame::seals;
use mon_ipc_std::{Error, SharedMemory};

#[test]
fn accesses_are_bounded_and_words_aligned() {
    let _g = serial();
    let (fds, maps) = (FdCheck::new(), memfd_maps());
    let mut shm = SharedMemory::create(100).unwrap();
    assert_eq!(
        shm.seals().unwrap() & (seals::SHRINK | seals::GROW),
        seals::SHRINK | seals::GROW
    );
    assert_eq!(shm.write_at(96, b"12345"), Err(Error::ShmOutOfRange));
    assert_eq!(shm.write_at(usize::MAX, b"1"), Err(Error::ShmOutOfRange));
    assert_eq!(shm.read_at(101, &mut []), Err(Error::ShmOutOfRange));
    assert_eq!(shm.read_u64(4), Err(Error::ShmOutOfRange));
    assert_eq!(shm.read_u64(96), Err(Error::ShmOutOfRange));
    shm.write_at(3, b"unaligned, and longer than a word")
        .unwrap();
    let mut buf = [0u8; 33];
    shm.read_at(3, &mut buf).unwrap();
    assert_eq!(&buf, b"unaligned, and longer than a word");
    assert_eq!(shm.as_bytes(), None);
    assert_eq!(memfd_maps(), maps + 1);
    drop(shm);
    assert_eq!(memfd_maps(), maps);
    fds.assert_same();
}

#[test]
fn size_zero_is_legal_and_maps_nothing() {
    let _g = serial();
    let maps = memfd_maps();
    let mut shm = SharedMemory::create(0).unwrap();
    assert!(shm.is_empty());
    assert_eq!(memfd_maps(), maps);
    shm.write_at(0, b"").unwrap();
    assert_eq!(shm.read_u64(0), Err(Error::ShmOutOfRange));
    shm.seal_read_only().unwrap();
    assert_eq!(shm.as_bytes(), Some(&[][..]));
    // It crosses a channel like any other region.
    let pair = mon_ipc_std::socketpair(mon_ipc::SocketKind::Seqpacket).unwrap();
    let c = std::thread::spawn(move || {
        let mut conn = mon_ipc_std::client(pair.client, &Default::default()).unwrap();
        conn.channel.send_shm(&shm, b"empty").unwrap();
    });
    let mut conn = mon_ipc_std::server(pair.server, &Default::default()).unwrap();
    let msg = conn.channel.recv_shm().unwrap().unwrap();
    c.join().unwrap();
    assert_eq!((msg.region.len(), &msg.payload[..]), (0, &b"empty"[..]));
    assert_eq!(memfd_maps(), maps);
}

#[test]
fn once_sealed_a_region_cannot_become_read_only() {
    let _g = serial();
    let mut shm = SharedMemory::create(4096).unwrap();
    shm.seal().unwrap();
    shm.seal().unwrap();
    let e = shm.seal_read_only().unwrap_err();
    assert_eq!(e.io_error().unwrap().raw_os_error(), Some(nix::libc::EPERM));
    // The writable mapping is back.
    shm.write_at(0, b"still writable").unwrap();
}

#[test]
fn a_data_frame_is_not_shared_memory() {
    let _g = serial();
    let fds = FdCheck::new();
    let pair = mon_ipc_std::socketpair(mon_ipc::SocketKind::Stream).unwrap();
    let c = std::thread::spawn(move || {
        let mut conn = mon_ipc_std::client(pair.client, &Default::default()).unwrap();
        conn.channel.send(b"data", []).unwrap();
        conn
    });
    let mut conn = mon_ipc_std::server(pair.server, &Default::default()).unwrap();
    assert_eq!(conn.channel.recv_shm().unwrap_err(), Error::ShmExpected);
    drop((conn, c.join().unwrap()));
    fds.assert_same();
}
