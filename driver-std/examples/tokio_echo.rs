//! The step-wise API under tokio, with `AsyncFd`: both sides of a
//! socketpair authenticate as tasks on one thread, then exchange a frame
//! with an fd. (tokio is only a dev-dependency: the crate itself has no
//! runtime.)
//!
//! `Progress::WantRead` / `WantWrite` and `Recv::WouldBlock` are returned
//! only after the kernel said `EAGAIN`, so clearing tokio's readiness on
//! them never loses a wake-up.

use std::os::fd::OwnedFd;

use mon_ipc_std::{
    Authenticating, Channel, ClientHandshake, ClientOptions, Flush, Progress, Recv,
    ServerHandshake, ServerOptions, Side, SocketKind, set_nonblocking, socketpair,
};
use tokio::io::unix::AsyncFd;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Registers an object that owns its fd with tokio's reactor.
///
/// tokio 1.54 deprecated the safe `AsyncFd::new` for `unsafe register`,
/// because an arbitrary `AsRawFd` may close or swap its fd while
/// registered. Ours cannot: the handshakes and channels of mon-ipc-std own
/// their socket (an `OwnedFd`) for their whole life. So the safe
/// constructor's contract holds, and this project keeps `unsafe` out of
/// everything but the driver's `sys` module and the C API.
#[allow(deprecated)]
fn register<T: std::os::fd::AsRawFd>(inner: T) -> std::io::Result<AsyncFd<T>> {
    AsyncFd::new(inner)
}

/// Runs a handshake of any profile and either side to its end: `Side`
/// names them all, so one generic function serves.
async fn authenticate<H: Side>(
    hs: Authenticating<H, OwnedFd>,
) -> Result<H::Finished<OwnedFd>, BoxError> {
    let mut afd = register(hs)?;
    loop {
        match afd.get_mut().step()? {
            Progress::Continue | Progress::Decide => {}
            Progress::WantRead => afd.readable_mut().await?.clear_ready(),
            Progress::WantWrite => afd.writable_mut().await?.clear_ready(),
            Progress::Done => return Ok(afd.into_inner().finish()?),
        }
    }
}

/// Receives one frame: its payload and fds.
async fn recv(ch: &mut AsyncFd<Channel<OwnedFd>>) -> Result<(Vec<u8>, Vec<OwnedFd>), BoxError> {
    loop {
        let got = match ch.get_mut().try_recv()? {
            Recv::Frame(mut m) => Some((m.payload.to_vec(), m.fds.by_ref().collect())),
            Recv::WouldBlock => None,
            Recv::Eof => return Err("peer closed".into()),
        };
        match got {
            Some(frame) => return Ok(frame),
            None => ch.readable_mut().await?.clear_ready(),
        }
    }
}

/// Sends everything queued.
async fn flush(ch: &mut AsyncFd<Channel<OwnedFd>>) -> Result<(), BoxError> {
    while ch.get_mut().flush()? == Flush::WouldBlock {
        ch.writable_mut().await?.clear_ready();
    }
    Ok(())
}

async fn server(sock: OwnedFd) -> Result<(), BoxError> {
    let conn = authenticate(ServerHandshake::new(sock, &ServerOptions::default())?).await?;
    let peer = conn.peer.as_ref().expect("server knows its client");
    println!("server: client pid {:?} uid {:?}", peer.pid(), peer.uid());
    let mut ch = register(conn.channel)?;
    let (payload, fds) = recv(&mut ch).await?;
    println!(
        "server: got {:?} with {} fd(s), echoing",
        String::from_utf8_lossy(&payload),
        fds.len()
    );
    ch.get_mut().push_copy(&payload, fds)?;
    flush(&mut ch).await
}

async fn client(sock: OwnedFd) -> Result<(), BoxError> {
    let opts = ClientOptions::default().mutual(true);
    let conn = authenticate(ClientHandshake::new(sock, &opts)?).await?;
    println!(
        "client: server pid {:?}",
        conn.peer.as_ref().and_then(|p| p.pid())
    );
    let mut ch = register(conn.channel)?;
    let (r, w) = nix::unistd::pipe()?;
    ch.get_mut().push_copy(b"hello from tokio", [w])?;
    flush(&mut ch).await?;
    let (payload, fds) = recv(&mut ch).await?;
    assert_eq!(payload, b"hello from tokio");
    nix::unistd::write(&fds[0], b"!")?;
    let mut b = [0u8; 1];
    nix::unistd::read(&r, &mut b)?;
    assert_eq!(&b, b"!");
    println!("client: echo and fd ok");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let pair = socketpair(SocketKind::Stream)?;
    set_nonblocking(&pair.server, true)?;
    set_nonblocking(&pair.client, true)?;
    let (s, c) = tokio::join!(server(pair.server), client(pair.client));
    s?;
    c?;
    println!("tokio_echo: done");
    Ok(())
}
