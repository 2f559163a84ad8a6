//! The native handshake ([PROTOCOL.md §3](mon_ipc::spec#3-handshake)) on
//! the generic driver: how each
//! side prepares its socket, and what it gives when done.

use std::os::fd::{AsFd, OwnedFd};

use mon_ipc::{ClientAuth, ClientConfig, ServerAuth, ServerConfig};

use crate::connection::{ClientConnection, ServerConnection};
use crate::error::{Error, Result};
use crate::handshake::{Authenticating, ClientHandshake, ServerHandshake, Side};
use crate::options::{ClientOptions, ServerOptions};
use crate::peer;
use crate::socket::pass_credentials;
use crate::sys;
use crate::sys::msg::Ctrl;

impl Side for ClientAuth<OwnedFd> {
    type Finished<S> = ClientConnection<S>;
    const SERVER: bool = false;
    fn finished<S: AsFd>(sock: S, output: Self::Output) -> Result<ClientConnection<S>> {
        Ok(ClientConnection::client(sock, output))
    }

    fn error(e: mon_ipc::Error) -> Error {
        Error::Protocol(e)
    }
}

impl Side for ServerAuth<OwnedFd> {
    type Finished<S> = ServerConnection<S>;
    const SERVER: bool = true;
    fn finished<S: AsFd>(sock: S, output: Self::Output) -> Result<ServerConnection<S>> {
        ServerConnection::server(sock, output)
    }

    fn error(e: mon_ipc::Error) -> Error {
        Error::Protocol(e)
    }

    fn pending_peer_mut(&mut self) -> Option<&mut mon_ipc::Credentials<OwnedFd>> {
        self.peer_mut()
    }
}

impl<S: AsFd> ClientHandshake<S> {
    /// Starts the client side on a connected socket. With mutual
    /// authentication this turns `SO_PASSCRED` on before the hello goes
    /// out, so that the reply cannot come without the server's credentials.
    pub fn new(sock: S, opts: &ClientOptions) -> Result<Self> {
        let fd = sock.as_fd();
        // With mutual authentication `SO_PEERCRED` is read anyway, and
        // shows the family ([`peer::kind_and_peer`]).
        let (kind, ucred) = if opts.mutual {
            peer::kind_and_peer(fd)?
        } else {
            (sys::sockopt::unix_kind(fd)?, None)
        };
        let limits = crate::seqpacket::fit(fd, kind, opts.limits)?;
        let (server, pidfd) = if opts.mutual {
            let pidfd = pass_credentials(fd)?;
            (peer::socket_credentials(fd, ucred, !pidfd)?, pidfd)
        } else {
            (Default::default(), false)
        };
        let config = ClientConfig {
            limits,
            mutual: opts.mutual,
            socket: kind,
            policy: peer::policy(),
        };
        // The read that completes the reply may bring the first frame's fds.
        let ctrl = Ctrl::new(limits.max_fds().into(), opts.mutual, pidfd);
        let side = ClientAuth::new(config, server);
        Ok(Authenticating::with(
            sock,
            side,
            ctrl,
            opts.mutual,
            false,
            mon_ipc::hello::HELLO_LEN,
        ))
    }
}

impl<S: AsFd> ServerHandshake<S> {
    /// Starts the server side on an accepted socket (or the server end of
    /// a socketpair). `SO_PASSCRED` should already be on ([`Listener`],
    /// [`socketpair`]); if it is not, it is turned on now (with
    /// `SO_PASSPIDFD`), and a hello that came before without credentials
    /// is refused for lack of them. A socket that has it on is taken as
    /// prepared and `SO_PASSPIDFD` is left as it is: [`Listener`] and
    /// [`socketpair`] turn it on, so the hello brings the client's pidfd;
    /// otherwise the pidfd comes from `SO_PEERPIDFD`
    /// ([PROTOCOL.md §2](mon_ipc::spec#2-credentials)).
    ///
    /// [`Listener`]: crate::Listener
    /// [`socketpair`]: crate::socketpair()
    pub fn new(sock: S, opts: &ServerOptions) -> Result<Self> {
        let fd = sock.as_fd();
        let prepared = peer::prepare_server(fd, true)?;
        let limits = crate::seqpacket::fit(fd, prepared.kind, opts.limits)?;
        let config = ServerConfig {
            limits,
            socket: prepared.kind,
            policy: peer::policy(),
        };
        // No room for fds: a hello with fds is refused, and the kernel
        // reports the ones that did not fit with MSG_CTRUNC.
        let ctrl = Ctrl::new(0, true, prepared.pidfd);
        let socket_pid = prepared.client.ucred.and_then(|u| u.pid());
        let side = ServerAuth::new(config, prepared.client);
        Ok(Authenticating::with(
            sock,
            side,
            ctrl,
            true,
            !opts.decide,
            mon_ipc::hello::HELLO_LEN,
        )
        .with_peer_pidfd_later(prepared.peer_pidfd_later.then_some(socket_pid).flatten()))
    }
}
