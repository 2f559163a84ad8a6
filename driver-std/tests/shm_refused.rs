//! Shared-memory frames whose fd is not what they announce, forged by a
//! child with `raw::send`: each is refused before anything is mapped, and
//! the fd is closed.

mod common;

use std::os::fd::{AsFd, OwnedFd};

use common::{
    FdCheck, fd_count, helper_connect, helper_mode, memfd_maps, serial, serve_helper, wait_ok,
};
use mon_ipc::frame::{Header, seals};
use mon_ipc_std::{ShmHeader, raw};
use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};

const SIZE: u64 = 4096;

fn memfd(seal: bool) -> OwnedFd {
    let fd = memfd_create(
        c"forged",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )
    .unwrap();
    nix::unistd::ftruncate(&fd, SIZE as i64).unwrap();
    if seal {
        let s = SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL;
        fcntl(&fd, FcntlArg::F_ADD_SEALS(s)).unwrap();
    }
    fd
}

/// Sends one kind-1 frame by hand: the fd of `case`, announced as a
/// sealed region of `SIZE` bytes (or with an extra seal, or twice the size).
#[test]
fn helper() {
    let Some(_) = helper_mode() else { return };
    let (conn, case) = helper_connect();
    let (fd, size, seals) = match case.as_str() {
        "unsealed" => (memfd(false), SIZE, seals::REQUIRED),
        "size" => (memfd(true), SIZE * 2, seals::REQUIRED),
        "seal-not-applied" => (memfd(true), SIZE, seals::REQUIRED | seals::WRITE),
        "file" => (
            std::fs::File::open(std::env::current_exe().unwrap())
                .unwrap()
                .into(),
            SIZE,
            seals::REQUIRED,
        ),
        "pipe" => (common::pipe().0, SIZE, seals::REQUIRED),
        other => panic!("unknown case {other}"),
    };
    let shm = ShmHeader { size, seals }.to_bytes();
    let header = Header {
        len: shm.len() as u32,
        nfds: 1,
        kind: 1,
        reserved: 0,
    }
    .to_bytes();
    let sock = conn.channel.into_inner();
    raw::send(&sock, &[&header, &shm], None, &[fd.as_fd()]).unwrap();
}

/// The receiver's error for `case`; checks that nothing was mapped, that
/// the fd was closed at once, and that the error is sticky.
fn refused(case: &str) -> String {
    let (mut conn, child, _path) = serve_helper(&format!("shm-{case}"), "forged", case);
    let (fds, maps) = (fd_count(), memfd_maps());
    let e = conn.channel.recv_shm().unwrap_err();
    assert_eq!(
        (fd_count(), memfd_maps()),
        (fds, maps),
        "{case}: fd closed, nothing mapped"
    );
    assert_eq!(conn.channel.recv_shm().unwrap_err(), e, "{case}: sticky");
    drop(conn);
    wait_ok(child);
    e.code().to_owned()
}

#[test]
fn forged_regions_are_refused_before_mapping() {
    if helper_mode().is_some() {
        return;
    }
    let _g = serial();
    let fds = FdCheck::new();
    assert_eq!(refused("unsealed"), "shm_seals_missing");
    assert_eq!(refused("seal-not-applied"), "shm_seals_missing");
    assert_eq!(refused("size"), "shm_size_mismatch");
    assert_eq!(refused("pipe"), "shm_not_memfd");
    // A file on tmpfs answers F_GET_SEALS (with F_SEAL_SEAL alone).
    let file = refused("file");
    assert!(
        ["shm_not_memfd", "shm_seals_missing"].contains(&file.as_str()),
        "{file}"
    );
    fds.assert_same();
}
