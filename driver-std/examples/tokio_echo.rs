//! An echo server and its client on tokio, with `mon_ipc_std::tokio`
//! (feature `tokio`): a listener with `SO_PASSCRED` set before accept,
//! one task per connection, the server's decision awaited like any other
//! step, and a frame with an fd each way.
//!
//! Run: `cargo run -p mon-ipc-std --example tokio_echo` (the examples have
//! the feature on).

use std::os::fd::OwnedFd;

use mon_ipc_std::tokio::{self as mt, AsyncChannel, AsyncHandshake, Paused};
use mon_ipc_std::{ClientOptions, Result, ServerHandshake, ServerOptions, SocketKind};

/// The server's policy: here, same user only. A real one might ask a
/// database; the handshake waits for it without blocking the runtime.
async fn allowed(uid: Option<u32>) -> bool {
    uid == Some(nix::unistd::geteuid().as_raw())
}

/// Serves one connection: authenticate, then echo every frame with its fds.
async fn serve(sock: OwnedFd) -> Result<()> {
    let opts = ServerOptions::default().decide(true);
    let mut hs = AsyncHandshake::new(ServerHandshake::new(sock, &opts)?)?;
    if hs.run().await? == Paused::Decide {
        match allowed(hs.peer().and_then(|p| p.uid())).await {
            true => hs.accept()?,
            false => hs.deny()?,
        }
        hs.run().await?;
    }
    let conn = hs.finish()?;
    let peer = &conn.peer; // the server always knows its client
    println!("server: client pid {:?} uid {:?}", peer.pid(), peer.uid());
    let mut ch = AsyncChannel::new(conn)?;
    while let Some(m) = ch.recv().await? {
        println!(
            "server: got {:?} with {} fd(s), echoing",
            String::from_utf8_lossy(&m.payload),
            m.fds.len()
        );
        ch.send(&m.payload, m.fds).await?;
    }
    Ok(())
}

async fn client(path: &std::path::Path) -> Result<()> {
    let sock = mt::connect(path, SocketKind::Stream).await?;
    let conn = mt::client(sock, &ClientOptions::default().mutual(true)).await?;
    println!(
        "client: server pid {:?}",
        conn.peer.as_ref().and_then(|p| p.pid())
    );
    let mut ch = AsyncChannel::new(conn)?;
    let (r, w) = nix::unistd::pipe().expect("pipe");
    ch.send(b"hello from tokio", vec![w]).await?;
    let m = ch.recv().await?.expect("the echo");
    assert_eq!(&m.payload[..], b"hello from tokio");
    nix::unistd::write(&m.fds[0], b"!").expect("write");
    let mut b = [0u8; 1];
    nix::unistd::read(&r, &mut b).expect("read");
    assert_eq!(&b, b"!");
    println!("client: echo and fd ok");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("mon-ipc-tokio-echo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("sock");
    let listener = mt::Listener::bind(&path, SocketKind::Stream)?;
    let server = tokio::spawn(async move {
        // One connection for the example; a server loops, a task each.
        let sock = listener.accept().await?;
        tokio::spawn(serve(sock.into())).await.expect("serve task")
    });
    client(&path).await?;
    server.await.expect("server task")?;
    let _ = std::fs::remove_dir_all(&dir);
    println!("tokio_echo: done");
    Ok(())
}
