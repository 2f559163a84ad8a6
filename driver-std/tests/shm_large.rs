//! A 1 GiB region crosses between processes without being copied: the
//! receiver's resident memory grows by the pages it touches, not by 1 GiB.

mod common;

use common::{
    FdCheck, helper_connect, helper_mode, memfd_maps, resident_bytes, serial, serve_helper, wait_ok,
};
use mon_ipc_std::SharedMemory;

const GIB: usize = 1 << 30;
const MARKS: [usize; 3] = [0, GIB / 2, GIB - 8];

/// Sends a 1 GiB region with three words written.
#[test]
fn helper() {
    let Some(_) = helper_mode() else { return };
    let (mut conn, _) = helper_connect();
    let mut shm = SharedMemory::create(GIB).unwrap();
    for (i, at) in MARKS.into_iter().enumerate() {
        shm.write_u64(at, 0xfeed_0000 + i as u64).unwrap();
    }
    conn.channel.send_shm(&shm, b"").unwrap();
}

#[test]
fn one_gib_crosses_without_a_copy() {
    if helper_mode().is_some() {
        return;
    }
    let _g = serial();
    let (fds, maps) = (FdCheck::new(), memfd_maps());
    let (mut conn, child, _path) = serve_helper("shm-large", "large", "");
    let before = resident_bytes();
    let msg = conn.channel.recv_shm().unwrap().unwrap();
    assert_eq!(msg.region.len(), GIB);
    for (i, at) in MARKS.into_iter().enumerate() {
        assert_eq!(msg.region.read_u64(at).unwrap(), 0xfeed_0000 + i as u64);
    }
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 16 << 20, "resident memory grew by {grown} bytes");
    drop((msg, conn));
    wait_ok(child);
    assert_eq!(memfd_maps(), maps);
    fds.assert_same();
}
