//! Accepting and connecting without blocking the runtime.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mon_ipc::SocketKind;
use tokio::io::unix::AsyncFd;

use crate::error::{Error, Result};
use crate::socket::Accepted;
use crate::{socket, sys};

use super::ready;

/// A path listener on tokio's reactor, with `SO_PASSCRED` on before the
/// first `accept`.
///
/// Why not `tokio::net::UnixListener`: it binds without `SO_PASSCRED`, so a
/// client's hello that arrives before the server turns it on carries no
/// credentials and is refused ([PROTOCOL.md §3.3](mon_ipc::spec#33-the-server);
/// the reason is on [`crate::Listener`]); and it has no `SOCK_SEQPACKET`. This
/// is that listener, registered with the reactor.
#[derive(Debug)]
pub struct Listener {
    io: AsyncFd<socket::Listener>,
}

impl Listener {
    /// Binds a new socket of `kind` to `path` and listens. Must be called
    /// within a runtime.
    pub fn bind(path: impl AsRef<Path>, kind: SocketKind) -> Result<Listener> {
        Listener::from_std(socket::Listener::bind(path, kind)?)
    }

    /// Registers a listener made by [`crate::Listener`] (e.g.
    /// [`from_fd`](crate::Listener::from_fd) for one inherited from a
    /// service manager), turning `O_NONBLOCK` on.
    pub fn from_std(listener: socket::Listener) -> Result<Listener> {
        listener.set_nonblocking(true)?;
        let io = sys::reactor::register(listener).map_err(|e| sys::from_io("epoll_ctl", &e))?;
        Ok(Listener { io })
    }

    /// The socket type of the connections.
    pub fn kind(&self) -> SocketKind {
        self.io.get_ref().kind()
    }

    /// Accepts one connection: an [`Accepted`] socket, non-blocking,
    /// ready for [`server`](crate::tokio::server) or an
    /// [`AsyncHandshake`](crate::tokio::AsyncHandshake) (of a
    /// [`ServerHandshake`](crate::ServerHandshake) made on its
    /// `OwnedFd::from(sock)`). Cancel-safe.
    ///
    /// Authenticate each connection in a task of its own: a client that
    /// stalls its handshake must not hold up the next `accept`.
    pub async fn accept(&self) -> Result<Accepted> {
        loop {
            let mut guard = ready(self.io.readable().await)?;
            match self.io.get_ref().try_accept()? {
                Some(sock) => {
                    sys::sock::set_nonblocking(sock.as_fd(), true)?;
                    return Ok(sock);
                }
                None => guard.clear_ready(),
            }
        }
    }
}

/// Connects a new non-blocking socket of `kind` to a listener's path.
///
/// An `AF_UNIX` connect completes at once, or, when the listener's backlog
/// is full, fails with `EAGAIN` on a non-blocking socket; and no readiness
/// event says when room appears (see [`crate::connect_timeout`]), so the
/// reactor cannot wait for it. Then this waits where the kernel can: a
/// blocking connect on tokio's blocking pool, which sleeps until the
/// listener accepts, in slices of [`CONNECT_SLICE`] so that a dropped
/// future frees the pool's thread within one slice (its socket is then
/// closed). Cancel-safe: a dropped future connects nothing.
///
/// tokio's own `UnixStream::connect` returns the `EAGAIN` instead, which
/// leaves every caller to spin.
pub async fn connect(path: impl AsRef<Path>, kind: SocketKind) -> Result<OwnedFd> {
    let fd = sys::sock::socket(kind)?;
    sys::sock::set_nonblocking(fd.as_fd(), true)?;
    if sys::sock::try_connect(fd.as_fd(), path.as_ref())? {
        return Ok(fd);
    }
    let path = path.as_ref().to_owned();
    let dropped = Arc::new(AtomicBool::new(false));
    let _on_drop = SetOnDrop(Arc::clone(&dropped));
    let wait = tokio::task::spawn_blocking(move || {
        sys::sock::set_nonblocking(fd.as_fd(), false)?;
        loop {
            match sys::sock::connect_timeout(fd.as_fd(), &path, CONNECT_SLICE) {
                Ok(()) => break,
                Err(Error::Timeout) if !dropped.load(Ordering::Relaxed) => {}
                Err(e) => return Err(e),
            }
        }
        sys::sock::set_nonblocking(fd.as_fd(), true)?;
        Ok(fd)
    });
    // A join error: the closure panicked (it does not), or the runtime is
    // shutting down.
    wait.await
        .map_err(|_| sys::os("connect", nix::errno::Errno::ECANCELED))?
}

/// How long one blocking connect of [`connect`] waits for room in a full
/// backlog before it checks whether its future was dropped.
pub const CONNECT_SLICE: Duration = Duration::from_millis(100);

/// Sets its flag when dropped: tells [`connect`]'s blocking wait that
/// nobody awaits it any more.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
