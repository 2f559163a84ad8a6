//! A peer process that dies in the middle of the handshake or of a frame:
//! the other side gets a clean error, and no fd leaks.

mod common;

use std::os::fd::AsFd;

use common::{
    FdCheck, helper_args, helper_mode, pipe, read_line, serial, spawn_helper, tell, temp_path,
    wait_ok,
};
use mon_ipc::frame::Header;
use mon_ipc::hello::Hello;
use mon_ipc_std::raw::{self, Room};
use mon_ipc_std::{
    ClientOptions, Limits, Listener, Progress, ServerHandshake, ServerOptions, SocketKind, client,
    connect, server,
};

fn hello() -> [u8; 16] {
    Hello::new(Limits::default(), false).to_bytes()
}

/// The dying peers.
#[test]
fn helper() {
    let Some(mode) = helper_mode() else { return };
    let path = helper_args();
    let me = Some(raw::own_credentials());
    match mode.as_str() {
        "partial-hello" => {
            let sock = connect(&path, SocketKind::Stream).unwrap();
            raw::send(&sock, &[&hello()[..7]], me, &[]).unwrap();
        }
        "hello-then-exit" => {
            let sock = connect(&path, SocketKind::Stream).unwrap();
            raw::send(&sock, &[&hello()], me, &[]).unwrap();
        }
        "read-hello-and-die" => {
            let listener = Listener::bind(&path, SocketKind::Stream).unwrap();
            tell("ready");
            let sock = listener.accept().unwrap();
            let mut buf = [0u8; 16];
            let (n, _) = raw::recv(
                &sock,
                &mut buf,
                Room {
                    creds: true,
                    ..Room::default()
                },
            )
            .unwrap();
            assert_eq!(n, 16);
        }
        "dies-mid-frame" => {
            let sock = connect(&path, SocketKind::Stream).unwrap();
            let conn = client(sock, &ClientOptions::default()).unwrap();
            let (_r, w) = pipe();
            let header = Header {
                len: 100,
                nfds: 1,
                kind: 0,
                reserved: 0,
            }
            .to_bytes();
            let sock = conn.channel.into_inner();
            raw::send(&sock, &[&header, &[0u8; 10]], None, &[w.as_fd()]).unwrap();
        }
        other => panic!("unknown helper mode {other}"),
    }
    // Dying is returning: the process exits and the kernel closes its fds.
}

fn listen(name: &str) -> (Listener, common::TempSock) {
    let path = temp_path(name);
    let l = Listener::bind(&path, SocketKind::Stream).unwrap();
    (l, path)
}

#[test]
fn client_dying_inside_its_hello_is_hello_short() {
    if helper_mode().is_some() {
        return;
    }
    let _g = serial();
    let fds = FdCheck::new();
    let (listener, path) = listen("partial");
    let child = spawn_helper("partial-hello", path.to_str().unwrap());
    let e = server(listener.accept().unwrap(), &ServerOptions::default()).unwrap_err();
    assert_eq!(e.code(), "hello_short");
    wait_ok(child);
    drop(listener);
    fds.assert_same();
}

#[test]
fn server_dying_before_its_reply_is_reply_short() {
    if helper_mode().is_some() {
        return;
    }
    let _g = serial();
    let fds = FdCheck::new();
    let path = temp_path("server-dies");
    let mut child = spawn_helper("read-hello-and-die", path.to_str().unwrap());
    assert_eq!(read_line(&mut child), "ready");
    let sock = connect(&path, SocketKind::Stream).unwrap();
    let e = client(sock, &ClientOptions::default()).unwrap_err();
    assert_eq!(e.code(), "reply_short");
    wait_ok(child);
    fds.assert_same();
}

#[test]
fn client_reaped_after_a_complete_hello_is_authenticated_but_unreachable() {
    if helper_mode().is_some() {
        return;
    }
    let _g = serial();
    let fds = FdCheck::new();
    let (listener, path) = listen("reaped");
    let child = spawn_helper("hello-then-exit", path.to_str().unwrap());
    let pid = child.id();
    // Reaped before the server reads anything: its pid may be reused now.
    wait_ok(child);
    let opts = ServerOptions::default().decide(true);
    let mut hs = ServerHandshake::new(listener.accept().unwrap(), &opts).unwrap();
    loop {
        match hs.step().unwrap() {
            Progress::Continue => {}
            Progress::Decide => break,
            p => panic!("blocking socket gave {p:?}"),
        }
    }
    let peer = hs.peer().unwrap();
    assert_eq!(peer.pid().map(|p| p.get()), Some(pid));
    if let Some(pidfd) = &peer.pidfd {
        // Never a pidfd of a live process: the sender is gone.
        assert_eq!(mon_ipc_std::pidfd_pid(pidfd), None);
    }
    hs.accept().unwrap();
    let e = loop {
        match hs.step() {
            Ok(Progress::Continue) => {}
            Ok(p) => panic!("reply to a dead peer gave {p:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(
        e.io_error().map(|e| e.raw_os_error()),
        Some(Some(nix::libc::EPIPE))
    );
    drop(hs);
    drop(listener);
    fds.assert_same();
}

#[test]
fn peer_dying_inside_a_frame_with_an_fd_is_eof_in_frame() {
    if helper_mode().is_some() {
        return;
    }
    let _g = serial();
    let fds = FdCheck::new();
    let (listener, path) = listen("mid-frame");
    let child = spawn_helper("dies-mid-frame", path.to_str().unwrap());
    let mut conn = server(listener.accept().unwrap(), &ServerOptions::default()).unwrap();
    let e = conn.channel.recv().unwrap_err();
    assert_eq!(e.code(), "eof_in_frame");
    // Sticky.
    assert_eq!(conn.channel.recv().unwrap_err().code(), "eof_in_frame");
    wait_ok(child);
    drop(conn);
    drop(listener);
    fds.assert_same();
}
