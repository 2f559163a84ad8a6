//! Shared memory between two real processes: what one writes the other
//! reads, in the same pages, and the sealed size cannot change.

mod common;

use common::{
    FdCheck, helper_connect, helper_mode, memfd_maps, read_line, serial, serve_helper, tell,
    wait_ok,
};
use mon_ipc::frame::seals;
use mon_ipc_std::{Error, SharedMemory};
use nix::errno::Errno;
use nix::unistd::ftruncate;

const SIZE: usize = 64 << 10;

/// The senders.
#[test]
fn helper() {
    let Some(mode) = helper_mode() else { return };
    let (mut conn, _) = helper_connect();
    let mut shm = SharedMemory::create(SIZE).unwrap();
    shm.write_at(0, b"from the child").unwrap();
    shm.write_u64(SIZE - 8, 0x0123_4567_89ab_cdef).unwrap();
    if mode == "read-only" {
        shm.seal_read_only().unwrap();
    }
    conn.channel.send_shm(&shm, b"app bytes").unwrap();
    // After the hand-over the sender cannot change the size either.
    let shrink = ftruncate(&shm, (SIZE / 2) as i64);
    let grow = ftruncate(&shm, (SIZE * 2) as i64);
    tell(&format!("shrink {shrink:?} grow {grow:?}"));
    match mode.as_str() {
        "writer" => {
            // The parent wrote; we write again; each reads the other's bytes.
            let go = conn.channel.recv().unwrap().unwrap();
            assert_eq!(&go.payload[..], b"go");
            drop(go);
            let mut buf = [0u8; 15];
            shm.read_at(8192, &mut buf).unwrap();
            shm.write_at(4096, b"second write").unwrap();
            conn.channel.send(&buf, []).unwrap();
        }
        "read-only" => {
            assert_eq!(shm.write_at(0, b"x"), Err(Error::ShmReadOnly));
        }
        other => panic!("unknown helper mode {other}"),
    }
}

#[test]
fn a_child_writes_and_the_parent_reads_the_same_pages() {
    if helper_mode().is_some() {
        return;
    }
    let _g = serial();
    let (fds, maps) = (FdCheck::new(), memfd_maps());
    let (mut conn, mut child, _path) = serve_helper("shm-writer", "writer", "");
    let mut msg = conn.channel.recv_shm().unwrap().unwrap();
    assert_eq!(&msg.payload[..], b"app bytes");
    let shm = &mut msg.region;
    assert_eq!((shm.len(), shm.is_writable()), (SIZE, true));
    let mut buf = [0u8; 14];
    shm.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"from the child");
    assert_eq!(shm.read_u64(SIZE - 8).unwrap(), 0x0123_4567_89ab_cdef);
    let have = shm.seals().unwrap();
    assert_eq!(have & seals::REQUIRED, seals::REQUIRED);
    // Neither side can change the size after the hand-over.
    let eperm = format!(
        "shrink {:?} grow {:?}",
        Err::<(), _>(Errno::EPERM),
        Err::<(), _>(Errno::EPERM)
    );
    assert_eq!(read_line(&mut child), eperm);
    assert_eq!(ftruncate(&*shm, 0), Err(Errno::EPERM));
    // Live sharing, both ways: no copy was handed over.
    shm.write_at(8192, b"from the parent").unwrap();
    conn.channel.send(b"go", []).unwrap();
    let echo = conn.channel.recv().unwrap().unwrap();
    assert_eq!(&echo.payload[..], b"from the parent");
    drop(echo);
    let mut buf = [0u8; 12];
    shm.read_at(4096, &mut buf).unwrap();
    assert_eq!(&buf, b"second write");
    assert_eq!(memfd_maps(), maps + 1);
    drop((msg, conn));
    wait_ok(child);
    assert_eq!(memfd_maps(), maps);
    fds.assert_same();
}

#[test]
fn a_read_only_region_is_mapped_read_only_and_is_a_safe_slice() {
    if helper_mode().is_some() {
        return;
    }
    let _g = serial();
    let (fds, maps) = (FdCheck::new(), memfd_maps());
    let (mut conn, mut child, _path) = serve_helper("shm-ro", "read-only", "");
    let mut msg = conn.channel.recv_shm().unwrap().unwrap();
    let shm = &mut msg.region;
    assert!(!shm.is_writable());
    assert_eq!(shm.seals().unwrap() & seals::WRITE, seals::WRITE);
    assert_eq!(&shm.as_bytes().unwrap()[..14], b"from the child");
    assert_eq!(shm.write_at(0, b"x"), Err(Error::ShmReadOnly));
    assert_eq!(shm.write_u64(0, 1), Err(Error::ShmReadOnly));
    assert!(read_line(&mut child).starts_with("shrink Err(EPERM)"));
    drop((msg, conn));
    wait_ok(child);
    assert_eq!(memfd_maps(), maps);
    fds.assert_same();
}
