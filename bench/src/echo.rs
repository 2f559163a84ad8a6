//! The echo peers of the round-trip cases: a channel pair after a real
//! handshake, the public API's echo thread and the raw-syscall one.

use std::os::fd::OwnedFd;
use std::thread::{self, JoinHandle};

use mon_ipc::Limits;
use mon_ipc_std::{Channel, ClientOptions, ServerOptions, SocketKind};

use crate::raw;

/// The channel of every case: fds owned.
pub type Chan = Channel<OwnedFd>;

/// A handshake over a socketpair of `kind` with `limits` on both sides.
pub fn connected(kind: SocketKind, limits: Limits) -> (Chan, Chan) {
    let pair = mon_ipc_std::socketpair(kind).unwrap();
    let copts = ClientOptions::default().limits(limits);
    let client = thread::spawn(move || mon_ipc_std::client(pair.client, &copts).unwrap());
    let server =
        mon_ipc_std::server(pair.server, &ServerOptions::default().limits(limits)).unwrap();
    (client.join().unwrap().channel, server.channel)
}

/// The public API's echo: receive a frame (checking its fd count), close
/// its fds, reply with an empty frame (or the payload, if `echo`).
pub fn ours_echo(mut ch: Chan, nfds: usize, echo: bool) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 64];
        loop {
            let n = match ch.recv().unwrap() {
                None => return,
                Some(m) => {
                    assert_eq!(m.fds.len(), nfds);
                    let n = m.payload.len().min(64);
                    buf[..n].copy_from_slice(&m.payload[..n]);
                    n
                } // the frame's fds close here
            };
            let reply = if echo { &buf[..n] } else { &[][..] };
            ch.send(reply, []).unwrap();
        }
    })
}

/// The raw echo: recvmsg 64 B + `nfds` fds, check, close, reply 1 byte
/// (or the 64 bytes, if `echo`): the far end of the raw cases (a), (b), (f)
/// and (d) of [`crate::raw`].
pub fn raw_echo(sock: OwnedFd, nfds: usize, echo: bool) -> JoinHandle<()> {
    raw_echo_with(sock, nfds, echo, false)
}

/// [`raw_echo`]; with `msg`, every read is a `recvmsg` with room for 32
/// fds and every reply a `sendmsg`, as any channel that may carry fds must
/// do (the plain raw echo uses `read` / `write` where it can).
pub fn raw_echo_with(sock: OwnedFd, nfds: usize, echo: bool, msg: bool) -> JoinHandle<()> {
    thread::spawn(move || {
        let (mut buf, mut cbuf) = ([0u8; 64], raw::CmsgBuf::for_fds(nfds.max(32)));
        let mut fds = Vec::with_capacity(nfds.max(32));
        loop {
            if echo && !msg {
                if !raw::read_exact(&sock, &mut buf).unwrap() {
                    return;
                }
                raw::write_all(&sock, &buf).unwrap();
                continue;
            }
            let (n, flags) = raw::recv_fds(&sock, &mut buf, &mut cbuf, &mut fds).unwrap();
            if n == 0 {
                return;
            }
            assert!(n == 64 && fds.len() == nfds && flags & libc::MSG_CTRUNC == 0);
            fds.clear();
            let reply = if echo { &buf[..] } else { &[1u8][..] };
            match msg {
                true => assert_eq!(raw::send_fds(&sock, reply, &[]).unwrap(), reply.len()),
                false => raw::write_all(&sock, reply).unwrap(),
            }
        }
    })
}
