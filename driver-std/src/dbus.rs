//! The D-Bus authentication profile on real sockets: step-wise (for
//! non-blocking sockets and event loops) and blocking, around the core's
//! [`mon_ipc::dbus::ClientAuth`] and [`mon_ipc::dbus::ServerAuth`].
//!
//! The loop is the one of [`Authenticating`](crate::Authenticating): at most
//! one `sendmsg` or `recvmsg` per step, [`Progress`] for what to wait for,
//! `EINTR` retried, `EAGAIN` reported. What differs is the outcome: not a
//! mon-ipc [`Connection`](crate::Connection) but the socket and an
//! [`Authenticated`] (guid, fd agreement, the client's credentials, and
//! every byte after `BEGIN`), ready for a D-Bus message layer.
//!
//! ```no_run
//! use mon_ipc_std::{SocketKind, dbus};
//! let sock = mon_ipc_std::connect("/run/user/1000/bus", SocketKind::Stream)?;
//! let (sock, auth) = dbus::client(sock, &dbus::client_config(), None)?;
//! assert!(auth.guid.len() == 32);
//! # Ok::<(), dbus::Error>(())
//! ```

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

pub use mon_ipc::dbus::{
    AuthError, Authenticated, ClientConfig, ClientMechanism, DbusError, Mechanism, ServerConfig,
};
use mon_ipc::dbus::{ClientAuth, ServerAuth};
use mon_ipc::{Handshake, Step};

use crate::handshake::Progress;
use crate::handshake_io::{Exchange, Io};
use crate::peer;
use crate::sys;
use crate::sys::msg::Ctrl;

/// A failure of the D-Bus authentication: the peer's or the caller's (with
/// its `dbus_` or usage code), or the system's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The authentication failed or the API was misused.
    Auth(AuthError),
    /// A system call failed or the timeout expired.
    Driver(crate::Error),
}

impl Error {
    /// The stable code: `dbus_...`, a usage code, or the driver's.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Auth(e) => e.code(),
            Error::Driver(e) => e.code(),
        }
    }
}

impl From<crate::Error> for Error {
    fn from(e: crate::Error) -> Self {
        Error::Driver(e)
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Error::Auth(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Auth(e) => e.fmt(f),
            Error::Driver(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// The `Result` of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the loop needs of a side beyond [`Handshake`].
pub trait Side: Handshake<OwnedFd> + sealed::Sealed {
    /// The precise error once failed.
    fn auth_error(&self) -> Option<AuthError>;
    /// After `Done`: the outcome.
    fn authenticated(self) -> Result<Authenticated<OwnedFd>, AuthError>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for mon_ipc::dbus::ClientAuth<std::os::fd::OwnedFd> {}
    impl Sealed for mon_ipc::dbus::ServerAuth<std::os::fd::OwnedFd> {}
}

impl Side for ClientAuth<OwnedFd> {
    fn auth_error(&self) -> Option<AuthError> {
        self.error()
    }
    fn authenticated(self) -> Result<Authenticated<OwnedFd>, AuthError> {
        self.finish()
    }
}

impl Side for ServerAuth<OwnedFd> {
    fn auth_error(&self) -> Option<AuthError> {
        self.error()
    }
    fn authenticated(self) -> Result<Authenticated<OwnedFd>, AuthError> {
        self.finish()
    }
}

/// A D-Bus authentication in progress on socket `S`, for side `H`
/// ([`Client`] or [`Server`]). Call [`step`](Auth::step) until
/// [`Progress::Done`], waiting for readability or writability on
/// `WantRead` / `WantWrite`, then [`finish`](Auth::finish).
#[derive(Debug)]
pub struct Auth<H, S> {
    sock: S,
    side: H,
    /// Pending output, the read control buffer, the blocking switches.
    io: Exchange,
    passcred_set: bool,
    dead: Option<Error>,
}

/// The client side.
pub type Client<S> = Auth<ClientAuth<OwnedFd>, S>;
/// The server side.
pub type Server<S> = Auth<ServerAuth<OwnedFd>, S>;

/// `EXTERNAL` claiming this process's effective uid, asking for fd passing.
pub fn client_config() -> ClientConfig {
    ClientConfig::external(sys::proc::own_claim().uid)
}

impl<S: AsFd> Client<S> {
    /// Starts the client side on a connected stream socket.
    pub fn new(sock: S, config: ClientConfig) -> Result<Self> {
        sys::sockopt::unix_kind(sock.as_fd())?;
        Ok(Auth::with(
            sock,
            ClientAuth::new(config),
            Ctrl::none(),
            false,
        ))
    }
}

impl<S: AsFd> Server<S> {
    /// Starts the server side on an accepted stream socket. `SO_PASSCRED`
    /// (and `SO_PASSPIDFD`) is turned on if it is not (a
    /// [`Listener`](crate::Listener) already does), so that the NUL byte's
    /// read carries the client's credentials; both are turned off at the end;
    /// the policy is the native handshake's (`config.policy` is replaced).
    pub fn new(sock: S, mut config: ServerConfig) -> Result<Self> {
        let fd = sock.as_fd();
        sys::sockopt::unix_kind(fd)?;
        if !sys::sockopt::passcred(fd)? {
            sys::sockopt::set_passcred(fd, true)?;
        }
        // The NUL byte's read then brings a pidfd of its sender too.
        let pidfd = sys::sockopt::set_passpidfd(fd, true)?;
        let socket = peer::socket_credentials(fd, !pidfd)?;
        config.policy = peer::policy();
        let side = ServerAuth::new(config, socket);
        Ok(Auth::with(sock, side, Ctrl::new(0, true, pidfd), true))
    }
}

impl<H: Side, S: AsFd> Auth<H, S> {
    fn with(sock: S, side: H, ctrl: Ctrl, passcred_set: bool) -> Self {
        Auth {
            sock,
            side,
            io: Exchange::new(ctrl, 64),
            passcred_set,
            dead: None,
        }
    }

    /// Does the next piece of work: at most one `sendmsg` or `recvmsg`.
    pub fn step(&mut self) -> Result<Progress> {
        if let Some(e) = self.dead {
            return Err(e);
        }
        if self.io.output_pending() {
            return self.write();
        }
        match self.io.next_step(|out| self.side.step(out)) {
            Step::NeedInput if self.io.wait_first() => Ok(Progress::WantRead),
            Step::NeedInput => self.read(),
            Step::Send(attach) => {
                self.io.attach(attach);
                self.write()
            }
            Step::Decide => Ok(Progress::Continue), // the D-Bus sides never pause
            Step::Done => {
                self.clear_passcred();
                Ok(Progress::Done)
            }
            Step::Failed(e) => {
                self.clear_passcred();
                let e = match self.side.auth_error() {
                    Some(a) => Error::Auth(a),
                    None => Error::Driver(e.into()),
                };
                Err(self.die(e))
            }
        }
    }

    /// After [`Progress::Done`]: the socket and the outcome.
    pub fn finish(self) -> Result<(S, Authenticated<OwnedFd>)> {
        if let Some(e) = self.dead {
            return Err(e);
        }
        let mut auth = self.side.authenticated()?;
        if let Some(p) = auth.peer.as_mut() {
            peer::check_pidfd(p);
        }
        Ok((self.sock, auth))
    }

    /// The socket.
    pub fn get_ref(&self) -> &S {
        &self.sock
    }

    fn die(&mut self, e: Error) -> Error {
        self.dead = Some(e);
        e
    }

    fn clear_passcred(&mut self) {
        if std::mem::take(&mut self.passcred_set) {
            let fd = self.sock.as_fd();
            let _ = sys::sockopt::set_passcred(fd, false);
            let _ = sys::sockopt::set_passpidfd(fd, false);
        }
    }

    fn write(&mut self) -> Result<Progress> {
        match self.io.write(self.sock.as_fd()) {
            Ok(Io::Moved(_)) => Ok(Progress::Continue),
            Ok(Io::WouldBlock) => Ok(Progress::WantWrite),
            Err(e) => Err(self.die(e.into())),
        }
    }

    fn read(&mut self) -> Result<Progress> {
        match self.io.read(self.sock.as_fd(), &mut self.side, false) {
            Ok(Io::Moved(_)) => Ok(Progress::Continue),
            Ok(Io::WouldBlock) => Ok(Progress::WantRead),
            Err(e) => Err(self.die(e.into())),
        }
    }
}

impl<H, S: AsFd> AsFd for Auth<H, S> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

impl<H, S: AsFd> AsRawFd for Auth<H, S> {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_fd().as_raw_fd()
    }
}

/// Authenticates to a D-Bus server on a connected socket, waiting at most
/// `timeout` (`None`: forever). Every wait is `poll`; every call uses
/// `MSG_DONTWAIT`, so a blocking socket works too.
pub fn client<S: AsFd>(
    sock: S,
    config: &ClientConfig,
    timeout: Option<Duration>,
) -> Result<(S, Authenticated<OwnedFd>)> {
    drive(Client::new(sock, *config)?, timeout)
}

/// Authenticates a D-Bus client on an accepted socket, waiting at most
/// `timeout`. The leftover holds every byte the client sent after `BEGIN`.
pub fn server<S: AsFd>(
    sock: S,
    config: &ServerConfig,
    timeout: Option<Duration>,
) -> Result<(S, Authenticated<OwnedFd>)> {
    drive(Server::new(sock, *config)?, timeout)
}

fn drive<H: Side, S: AsFd>(
    mut auth: Auth<H, S>,
    timeout: Option<Duration>,
) -> Result<(S, Authenticated<OwnedFd>)> {
    auth.io.dontwait = true;
    auth.io.poll_before_answer = true;
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        match auth.step()? {
            Progress::Continue | Progress::Decide => {}
            Progress::WantRead => sys::sock::wait(auth.sock.as_fd(), false, deadline)?,
            Progress::WantWrite => sys::sock::wait(auth.sock.as_fd(), true, deadline)?,
            Progress::Done => return auth.finish(),
        }
    }
}
