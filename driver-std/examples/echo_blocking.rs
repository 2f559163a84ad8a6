//! A blocking server on a path: it authenticates each client, then echoes
//! one frame back with the fd that came with it. The clients are threads of
//! this process, so the example runs to completion on its own.
//!
//! Each client sends the write end of a pipe; the echo brings the server's
//! copy of it back, and the client proves it works by writing through it.

use std::os::fd::OwnedFd;
use std::thread;

use mon_ipc_std::{
    ClientOptions, Listener, ServerOptions, SocketKind, client, connect, server_with,
};

const CLIENTS: usize = 3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("mon-ipc-echo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("echo.sock");
    let listener = Listener::bind(&path, SocketKind::Stream)?;

    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let path = path.clone();
            thread::spawn(move || run_client(&path, i))
        })
        .collect();

    let me = nix::unistd::geteuid().as_raw();
    for _ in 0..CLIENTS {
        let sock = listener.accept()?;
        // Authorization: only our own user.
        let mut conn = server_with(sock, &ServerOptions::default(), |peer| {
            peer.uid() == Some(me)
        })?;
        let peer = &conn.peer; // the server always knows its client
        println!(
            "server: client pid {:?} uid {:?} gid {:?} ({}), pidfd: {}",
            peer.pid(),
            peer.uid(),
            peer.gid(),
            peer.source.name(),
            peer.pidfd.is_some()
        );
        let Some(mut msg) = conn.channel.recv()? else {
            continue;
        };
        let payload = msg.payload.clone();
        let fds: Vec<OwnedFd> = msg.fds.by_ref().collect();
        drop(msg);
        conn.channel.push(payload, fds)?;
        conn.channel.flush_all()?;
    }
    for c in clients {
        c.join().expect("client thread")?;
    }
    drop(listener);
    std::fs::remove_dir(&dir)?;
    println!("echo_blocking: {CLIENTS} clients served");
    Ok(())
}

fn run_client(path: &std::path::Path, i: usize) -> Result<(), mon_ipc_std::Error> {
    let sock = connect(path, SocketKind::Stream)?;
    let mut conn = client(sock, &ClientOptions::default().mutual(true))?;
    let server = conn.peer.as_ref().expect("mutual authentication");
    println!("client {i}: server pid {:?}", server.pid());
    let (r, w) = nix::unistd::pipe().map_err(|_| mon_ipc_std::Error::Closed)?;
    conn.channel.send(format!("ping {i}").as_bytes(), [w])?;
    let mut echo = conn.channel.recv()?.ok_or(mon_ipc_std::Error::Closed)?;
    let fd = echo.fds.next().expect("the fd comes back");
    assert_eq!(echo.payload, format!("ping {i}").as_bytes());
    drop(echo);
    nix::unistd::write(&fd, b"pong").map_err(|_| mon_ipc_std::Error::Closed)?;
    let mut buf = [0u8; 4];
    nix::unistd::read(&r, &mut buf).map_err(|_| mon_ipc_std::Error::Closed)?;
    assert_eq!(&buf, b"pong");
    println!("client {i}: echo and fd ok");
    Ok(())
}
