//! Handshakes of either profile as futures.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use mon_ipc::Credentials;
use mon_ipc::dbus::Authenticated;
use tokio::io::unix::AsyncFd;

use crate::connection::{ClientConnection, ServerConnection};
use crate::error::{Error, Result};
use crate::handshake::{Authenticating, ClientHandshake, Progress, ServerHandshake, Side};
use crate::options::{ClientOptions, ServerOptions};
use crate::{dbus, sys};

use super::ready;

/// Where [`AsyncHandshake::run`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Paused {
    /// The server authenticated its client and waits for the caller:
    /// look at [`peer`](AsyncHandshake::peer), then
    /// [`accept`](AsyncHandshake::accept) or [`deny`](AsyncHandshake::deny),
    /// and `run` again. Only with [`ServerOptions::decide`].
    Decide,
    /// The handshake is done: [`finish`](AsyncHandshake::finish).
    Done,
}

/// A handshake of any profile and side ([`Side`]) on tokio's reactor.
///
/// The server's decision is an async step: `run` returns
/// [`Paused::Decide`], the caller awaits whatever its policy needs (a
/// database, another service), then accepts or denies and runs again.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> mon_ipc_std::Result<()> {
/// use mon_ipc_std::tokio::{AsyncHandshake, Paused};
/// use mon_ipc_std::{ClientHandshake, ClientOptions, ServerHandshake, ServerOptions, SocketKind};
/// # async fn allowed(uid: Option<u32>) -> bool { uid.is_some() }
/// let pair = mon_ipc_std::socketpair(SocketKind::Stream)?;
/// let mut client = AsyncHandshake::new(ClientHandshake::new(pair.client, &ClientOptions::default())?)?;
/// let opts = ServerOptions::default().decide(true);
/// let mut server = AsyncHandshake::new(ServerHandshake::new(pair.server, &opts)?)?;
/// let server = async {
///     if server.run().await? == Paused::Decide {
///         match allowed(server.peer().and_then(|p| p.uid())).await {
///             true => server.accept()?,
///             false => server.deny()?,
///         }
///         server.run().await?;
///     }
///     server.finish()
/// };
/// let (server, client) = tokio::join!(server, async { client.run().await?; client.finish() });
/// assert!(server?.peer.uid().is_some() && client.is_ok());
/// # Ok(()) }
/// ```
///
/// Cancel safety: `run` is cancel-safe. Each step is one system call whose
/// effect is kept in the handshake before the next await, so a dropped
/// `run` loses nothing, and the next `run` continues where it stopped.
#[derive(Debug)]
pub struct AsyncHandshake<H: Side> {
    io: AsyncFd<Authenticating<H, OwnedFd>>,
}

impl<H: Side> AsyncHandshake<H> {
    /// Registers the handshake with the current runtime's reactor, turning
    /// `O_NONBLOCK` on for its socket. Must be called within a runtime.
    pub fn new(hs: Authenticating<H, OwnedFd>) -> Result<Self> {
        sys::sock::set_nonblocking(hs.get_ref().as_fd(), true)?;
        let io = sys::reactor::register(hs).map_err(|e| sys::from_io("epoll_ctl", &e))?;
        Ok(AsyncHandshake { io })
    }

    /// Steps until the server must decide or the handshake is done.
    pub async fn run(&mut self) -> Result<Paused> {
        let mut progress = self.io.get_mut().step()?;
        loop {
            let mut guard = match progress {
                Progress::Continue => {
                    progress = self.io.get_mut().step()?;
                    continue;
                }
                Progress::Decide => return Ok(Paused::Decide),
                Progress::Done => return Ok(Paused::Done),
                Progress::WantRead => ready(self.io.readable_mut().await)?,
                Progress::WantWrite => ready(self.io.writable_mut().await)?,
            };
            // The step again, under the guard: if it says EAGAIN again,
            // clearing clears only the readiness this step saw. Clearing
            // a guard taken after the first EAGAIN could clear an event
            // that came in between (another worker of a multi-thread
            // runtime may have turned the reactor meanwhile), and with
            // edge-triggered epoll that wake-up would be lost for good.
            let waited = progress;
            progress = guard.get_inner_mut().step()?;
            if progress == waited {
                guard.clear_ready();
            }
        }
    }

    /// While [`Paused::Decide`]: the authenticated client.
    pub fn peer(&self) -> Option<&Credentials<OwnedFd>> {
        self.io.get_ref().peer()
    }

    /// While [`Paused::Decide`]: accept the client; `run` sends the reply.
    pub fn accept(&mut self) -> Result<()> {
        self.io.get_mut().accept()
    }

    /// While [`Paused::Decide`]: refuse the client; `run` sends the
    /// refusal and then fails with `denied`.
    pub fn deny(&mut self) -> Result<()> {
        self.io.get_mut().deny()
    }

    /// After [`Paused::Done`]: the outcome ([`Side::Finished`]), its
    /// socket still non-blocking.
    pub fn finish(self) -> Result<H::Finished<OwnedFd>> {
        self.io.into_inner().finish()
    }
}

/// Runs any handshake to its end within `timeout` ([`Error::Timeout`]),
/// accepting at [`Paused::Decide`] (to decide yourself, use
/// [`AsyncHandshake`]). On a timeout or an error the socket is closed
/// without a reply.
pub async fn authenticate<H: Side>(
    hs: Authenticating<H, OwnedFd>,
    timeout: Option<Duration>,
) -> Result<H::Finished<OwnedFd>> {
    let mut hs = AsyncHandshake::new(hs)?;
    let run = async {
        while hs.run().await? == Paused::Decide {
            hs.accept()?;
        }
        Ok::<_, Error>(())
    };
    match timeout {
        None => run.await?,
        Some(t) => tokio::time::timeout(t, run)
            .await
            .map_err(|_| Error::Timeout)??,
    }
    hs.finish()
}

/// The native client on a connected socket, within `opts.timeout`. The
/// options are read at the call, so the future borrows nothing.
pub fn client(
    sock: OwnedFd,
    opts: &ClientOptions,
) -> impl Future<Output = Result<ClientConnection<OwnedFd>>> + use<> {
    let (hs, timeout) = (ClientHandshake::new(sock, opts), opts.timeout);
    async move { authenticate(hs?, timeout).await }
}

/// The native server on an accepted socket (an
/// [`Accepted`](crate::Accepted) or any `OwnedFd`), within
/// `opts.timeout`; every authenticated client is accepted (to decide, use
/// [`AsyncHandshake`]).
pub fn server<T: Into<OwnedFd>>(
    sock: T,
    opts: &ServerOptions,
) -> impl Future<Output = Result<ServerConnection<OwnedFd>>> + use<T> {
    let (hs, timeout) = (ServerHandshake::new(sock.into(), opts), opts.timeout);
    async move { authenticate(hs?, timeout).await }
}

/// The D-Bus client, within `opts.timeout`.
pub fn dbus_client(
    sock: OwnedFd,
    opts: &dbus::ClientOptions,
) -> impl Future<Output = Result<(OwnedFd, Authenticated<OwnedFd>)>> + use<> {
    let (hs, timeout) = (dbus::ClientHandshake::new(sock, opts), opts.timeout);
    async move { authenticate(hs?, timeout).await }
}

/// The D-Bus server on an accepted socket (an
/// [`Accepted`](crate::Accepted) or any `OwnedFd`), within `opts.timeout`.
pub fn dbus_server<T: Into<OwnedFd>>(
    sock: T,
    opts: &dbus::ServerOptions,
) -> impl Future<Output = Result<(OwnedFd, Authenticated<OwnedFd>)>> + use<T> {
    let (hs, timeout) = (dbus::ServerHandshake::new(sock.into(), opts), opts.timeout);
    async move { authenticate(hs?, timeout).await }
}
