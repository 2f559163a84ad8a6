//! Credentials of real other processes, as root: a child that becomes
//! uid 65534 before connecting, and one that becomes 65534 after.
//!
//! The children are this test binary run again as helpers (see `common`),
//! so nothing but `exec` happens between `fork` and the child's code.

mod common;

use common::{
    FdCheck, become_nobody, helper_args, helper_mode, open_to_all, serial, spawn_helper, temp_path,
    wait_ok,
};
use mon_ipc_std::{ClientOptions, Listener, ServerOptions, SocketKind, client, connect, server};

const NOBODY: u32 = 65534;

/// The children's side.
#[test]
fn helper() {
    let Some(mode) = helper_mode() else { return };
    let path = helper_args();
    let opts = ClientOptions::default();
    match mode.as_str() {
        "nobody-connects" => {
            become_nobody();
            let sock = connect(&path, SocketKind::Stream).unwrap();
            let mut conn = client(sock, &opts).unwrap();
            // Stay alive until the server has looked at our pidfd.
            assert!(conn.channel.recv().unwrap().is_none());
        }
        "root-connects-then-nobody" => {
            let sock = connect(&path, SocketKind::Stream).unwrap();
            become_nobody();
            let e = client(sock, &opts).unwrap_err();
            assert_eq!(e.code(), "refused_credentials_mismatch");
        }
        other => panic!("unknown helper mode {other}"),
    }
}

fn root_only() -> bool {
    if !nix::unistd::geteuid().is_root() {
        common::skipped("needs root to setuid a child");
        return false;
    }
    true
}

#[test]
fn child_that_setuids_before_connecting_is_reported_as_nobody() {
    if helper_mode().is_some() || !root_only() {
        return;
    }
    let _g = serial();
    let fds = FdCheck::new();
    let path = temp_path("nobody");
    let listener = Listener::bind(&path, SocketKind::Stream).unwrap();
    open_to_all(&path);
    let child = spawn_helper("nobody-connects", path.to_str().unwrap());
    let conn = server(listener.accept().unwrap(), &ServerOptions::default()).unwrap();
    let peer = &conn.peer;
    assert_eq!(peer.uid(), Some(NOBODY));
    assert_eq!(peer.gid(), Some(NOBODY));
    assert_eq!(peer.pid().map(|p| p.get()), Some(child.id()));
    assert_eq!(
        peer.groups.as_deref(),
        Some(&[][..]),
        "setgroups([]) before setuid"
    );
    match &peer.pidfd {
        Some(pidfd) => assert_eq!(mon_ipc_std::pidfd_pid(pidfd), Some(child.id())),
        None => common::skipped("pidfd check: kernel without SCM_PIDFD / SO_PEERPIDFD"),
    }
    drop(conn);
    wait_ok(child);
    drop(listener);
    fds.assert_same();
}

#[test]
fn child_that_setuids_after_connecting_is_a_credentials_mismatch() {
    if helper_mode().is_some() || !root_only() {
        return;
    }
    let _g = serial();
    let fds = FdCheck::new();
    let path = temp_path("mismatch");
    let listener = Listener::bind(&path, SocketKind::Stream).unwrap();
    let child = spawn_helper("root-connects-then-nobody", path.to_str().unwrap());
    let e = server(listener.accept().unwrap(), &ServerOptions::default()).unwrap_err();
    assert_eq!(e.code(), "credentials_mismatch");
    wait_ok(child);
    drop(listener);
    fds.assert_same();
}
