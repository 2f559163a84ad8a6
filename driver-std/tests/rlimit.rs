//! A receiver that may not open another fd (`RLIMIT_NOFILE` reached):
//! the kernel cannot install the fds of a frame, drops them and sets
//! `MSG_CTRUNC`; the channel fails with `control_truncated` and nothing
//! leaks. Its own test binary: it changes a process-wide limit.

mod common;

use std::os::fd::{AsFd, OwnedFd};
use std::thread;

use common::{FdCheck, pipe, serial};
use mon_ipc_std::{
    ClientConnection, ClientOptions, ServerConnection, ServerOptions, SocketKind, client, server,
    socketpair,
};
use nix::sys::resource::{Resource, getrlimit, setrlimit};

fn connect_pair(kind: SocketKind) -> (ClientConnection<OwnedFd>, ServerConnection<OwnedFd>) {
    let pair = socketpair(kind).unwrap();
    let c = thread::spawn(move || client(pair.client, &ClientOptions::default()).unwrap());
    let s = server(pair.server, &ServerOptions::default()).unwrap();
    (c.join().unwrap(), s)
}

/// The lowest fd number not in use: the limit that leaves no room.
fn lowest_free_fd() -> u64 {
    let probe = nix::unistd::dup(std::io::stdin().as_fd()).unwrap();
    use std::os::fd::AsRawFd;
    probe.as_raw_fd() as u64
}

#[test]
fn receiver_at_its_fd_limit_gets_an_error_and_leaks_nothing() {
    let _g = serial();
    let fds = FdCheck::new();
    for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
        let (mut c, mut s) = connect_pair(kind);
        let (r, w) = pipe();
        c.channel.send(b"two fds", [r, w]).unwrap();
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let limit = lowest_free_fd();
        setrlimit(Resource::RLIMIT_NOFILE, limit, hard).unwrap();
        let got = s.channel.recv().map(|m| m.map(|m| m.fds.len()));
        setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
        assert_eq!(got.unwrap_err().code(), "control_truncated", "{kind:?}");
        // The sender still works; the receiver's channel is closed for good.
        assert_eq!(s.channel.recv().unwrap_err().code(), "control_truncated");
    }
    fds.assert_same();
}
