//! The D-Bus authentication profile on real sockets, around the core's
//! [`mon_ipc::dbus::ClientAuth`] and [`mon_ipc::dbus::ServerAuth`].
//!
//! The same driver as the native handshake: step-wise with
//! [`ClientHandshake`] / [`ServerHandshake`] (aliases of
//! [`Authenticating`], at most one `sendmsg` or `recvmsg` per step,
//! [`Progress`](crate::Progress) for what to wait for), blocking with
//! [`client`] / [`server`] and a timeout, and the crate's one
//! [`Error`] (a D-Bus failure is
//! [`Error::Dbus`] with its `dbus_` code). What differs
//! is the outcome: not a mon-ipc [`Connection`](crate::Connection) but the
//! socket and an [`Authenticated`] (guid, fd agreement, the client's
//! credentials, and every byte after `BEGIN`), ready for a D-Bus message
//! layer.
//!
//! ```no_run
//! use mon_ipc_std::{SocketKind, dbus};
//! let sock = mon_ipc_std::connect("/run/user/1000/bus", SocketKind::Stream)?;
//! let (sock, auth) = dbus::client(sock, &dbus::ClientOptions::default())?;
//! assert!(auth.guid.len() == 32);
//! # Ok::<(), mon_ipc_std::Error>(())
//! ```

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

pub use mon_ipc::dbus::{
    Authenticated, ClientConfig, ClientMechanism, DbusError, Mechanism, ServerConfig,
};
use mon_ipc::dbus::{ClientAuth, ServerAuth};

use crate::blocking::drive;
use crate::error::{Error, Result};
use crate::handshake::{Authenticating, Side};
use crate::options::DEFAULT_TIMEOUT;
use crate::peer;
use crate::sys;
use crate::sys::msg::Ctrl;

/// Room for the D-Bus lines a side sends in one step.
const OUT_CAP: usize = 64;

/// The D-Bus client's authentication ([`Authenticating::step`], `finish`).
pub type ClientHandshake<S> = Authenticating<ClientAuth<OwnedFd>, S>;
/// The D-Bus server's authentication ([`Authenticating::step`], `finish`).
/// It never pauses at [`Progress::Decide`](crate::Progress::Decide).
pub type ServerHandshake<S> = Authenticating<ServerAuth<OwnedFd>, S>;

/// Options of the D-Bus client side: the core's [`ClientConfig`] and the
/// blocking call's timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// Mechanism, fd negotiation, line bound.
    pub config: ClientConfig,
    /// Limit of the blocking [`client`] call; `None` waits forever. The
    /// step-wise API has no clock: its caller runs the timer.
    pub timeout: Option<Duration>,
}

impl Default for ClientOptions {
    /// `EXTERNAL` claiming this process's effective uid, asking for fd
    /// passing, the default timeout.
    fn default() -> Self {
        ClientOptions {
            config: ClientConfig::external(sys::proc::own_claim().uid),
            timeout: Some(DEFAULT_TIMEOUT),
        }
    }
}

impl ClientOptions {
    /// With this core configuration.
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// With this timeout for the blocking call.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Options of the D-Bus server side: the core's [`ServerConfig`] (its
/// `policy` is replaced by the driver's, as for the native server) and the
/// blocking call's timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerOptions {
    /// Guid, mechanisms, fd agreement, bounds.
    pub config: ServerConfig,
    /// Limit of the blocking [`server`] call; `None` waits forever.
    pub timeout: Option<Duration>,
}

impl ServerOptions {
    /// EXTERNAL only, fd passing agreed, the default bounds and timeout,
    /// with this guid (sent as 32 hex digits with `OK`).
    pub fn new(guid: [u8; 16]) -> Self {
        ServerOptions {
            config: ServerConfig::new(guid),
            timeout: Some(DEFAULT_TIMEOUT),
        }
    }

    /// With this core configuration.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// With this timeout for the blocking call.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Side for ClientAuth<OwnedFd> {
    type Finished<S> = (S, Authenticated<OwnedFd>);
    const SERVER: bool = false;
    fn finished<S: AsFd>(sock: S, output: Self::Output) -> Result<Self::Finished<S>> {
        Ok((sock, output))
    }

    fn error(e: mon_ipc::dbus::Error) -> Error {
        Error::from_dbus(e)
    }
}

impl Side for ServerAuth<OwnedFd> {
    type Finished<S> = (S, Authenticated<OwnedFd>);
    const SERVER: bool = true;
    fn finished<S: AsFd>(sock: S, mut output: Self::Output) -> Result<Self::Finished<S>> {
        if let Some(p) = output.peer.as_mut() {
            peer::check_pidfd(p);
        }
        Ok((sock, output))
    }

    fn error(e: mon_ipc::dbus::Error) -> Error {
        Error::from_dbus(e)
    }
}

impl<S: AsFd> ClientHandshake<S> {
    /// Starts the client side on a connected stream socket.
    pub fn new(sock: S, opts: &ClientOptions) -> Result<Self> {
        sys::sockopt::unix_kind(sock.as_fd())?;
        let side = ClientAuth::new(opts.config);
        Ok(Authenticating::with(
            sock,
            side,
            Ctrl::none(),
            false,
            true,
            OUT_CAP,
        ))
    }
}

impl<S: AsFd> ServerHandshake<S> {
    /// Starts the server side on an accepted stream socket. `SO_PASSCRED`
    /// (and `SO_PASSPIDFD`) is turned on if it is not (a
    /// [`Listener`](crate::Listener) already does), so that the NUL byte's
    /// read carries the client's credentials; both are turned off once the
    /// client's first line is in.
    pub fn new(sock: S, opts: &ServerOptions) -> Result<Self> {
        let fd = sock.as_fd();
        let prepared = peer::prepare_server(fd, false)?;
        let config = ServerConfig {
            policy: peer::policy(),
            ..opts.config
        };
        let side = ServerAuth::new(config, prepared.client);
        let ctrl = Ctrl::new(0, true, prepared.pidfd);
        Ok(Authenticating::with(sock, side, ctrl, true, true, OUT_CAP))
    }
}

/// Authenticates to a D-Bus server on a connected socket, waiting at most
/// `opts.timeout`. Every wait is `poll`; every call uses `MSG_DONTWAIT`,
/// so a blocking socket works too.
pub fn client<S: AsFd>(sock: S, opts: &ClientOptions) -> Result<(S, Authenticated<OwnedFd>)> {
    drive(ClientHandshake::new(sock, opts)?, opts.timeout, |_| Ok(()))
}

/// Authenticates a D-Bus client on an accepted socket, waiting at most
/// `opts.timeout`. The leftover holds every byte the client sent after
/// `BEGIN`.
pub fn server<S: AsFd>(sock: S, opts: &ServerOptions) -> Result<(S, Authenticated<OwnedFd>)> {
    drive(ServerHandshake::new(sock, opts)?, opts.timeout, |_| Ok(()))
}
