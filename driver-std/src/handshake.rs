//! The step-wise handshake: one generic loop over [`mon_ipc::Handshake`]
//! for both sides, one system call per step, for blocking and non-blocking
//! sockets alike.
//!
//! See [`Authenticating`] for the call order.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use mon_ipc::{ClientAuth, ClientConfig, Credentials, ServerAuth, ServerConfig, SocketKind, Step};

use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::handshake_io::{Exchange, Io};
use crate::options::{ClientOptions, ServerOptions};
use crate::peer;
use crate::socket::pass_credentials;
use crate::sys;
use crate::sys::msg::Ctrl;

/// What a step achieved; see [`Authenticating`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Progress {
    /// Progress was made; call `step` again.
    Continue,
    /// Wait until the socket is readable, then call `step` again.
    WantRead,
    /// Wait until the socket is writable, then call `step` again.
    WantWrite,
    /// Server only: the client is authenticated; see
    /// [`ServerHandshake::peer`], then call `accept` or `deny`.
    Decide,
    /// Authenticated: call `finish`.
    Done,
}

pub(crate) mod sealed {
    use std::os::fd::OwnedFd;

    /// What the generic loop needs beyond [`mon_ipc::Handshake`].
    pub trait Side: mon_ipc::Handshake<OwnedFd> {
        /// Whether this is the server side.
        const SERVER: bool;
        /// Accepts a pending decision (server only).
        fn accept_now(&mut self) -> Result<(), mon_ipc::Error>;
        /// Whether a decision is pending (server only).
        fn deciding(&self) -> bool;
    }
}
use sealed::Side;

impl Side for ClientAuth<OwnedFd> {
    const SERVER: bool = false;
    fn accept_now(&mut self) -> Result<(), mon_ipc::Error> {
        Err(mon_ipc::UsageError::NoDecisionPending.into())
    }
    fn deciding(&self) -> bool {
        false
    }
}

impl Side for ServerAuth<OwnedFd> {
    const SERVER: bool = true;
    fn accept_now(&mut self) -> Result<(), mon_ipc::Error> {
        self.accept()
    }
    fn deciding(&self) -> bool {
        self.peer().is_some()
    }
}

/// A handshake in progress on socket `S`, for side `H`
/// ([`ClientHandshake`] or [`ServerHandshake`]).
///
/// Call [`Authenticating::step`] until it returns [`Progress::Done`], then
/// [`Authenticating::finish`]:
///
/// | `step` returns | meaning | the manual's |
/// |---|---|---|
/// | `Continue` | a read or write went through (maybe partly): call again | `MON_CONTINUE` |
/// | `WantRead` | the read gave `EAGAIN`: wait until readable | `MON_WANT_READ` |
/// | `WantWrite` | the write gave `EAGAIN`: wait until writable | `MON_WANT_WRITE` |
/// | `Decide` | server with [`ServerOptions::decide`]: `accept` or `deny` | (the C API accepts) |
/// | `Done` | authenticated: `finish` | `0` |
/// | `Err(e)` | failed; `e` is sticky; close the socket | an error code |
///
/// `WantRead` / `WantWrite` come only from an `EAGAIN` the kernel returned,
/// so an edge-triggered poller (tokio's `AsyncFd`) may clear its readiness
/// on them. `EINTR` is retried inside the step.
#[derive(Debug)]
pub struct Authenticating<H, S> {
    sock: S,
    side: H,
    /// Pending output, the read control buffer, the blocking switches.
    pub(crate) io: Exchange,
    /// `SO_PASSCRED` (and `SO_PASSPIDFD`) to clear once the peer's
    /// message is in: while on, the kernel splits reads where credentials
    /// change and spends control-buffer room meant for fds.
    passcred_set: bool,
    /// Accept without pausing at `Decide`.
    auto_accept: bool,
    /// A fatal system call error, returned again by every later step.
    dead: Option<Error>,
}

/// The client's handshake.
pub type ClientHandshake<S> = Authenticating<ClientAuth<OwnedFd>, S>;
/// The server's handshake.
pub type ServerHandshake<S> = Authenticating<ServerAuth<OwnedFd>, S>;

impl<S: AsFd> ClientHandshake<S> {
    /// Starts the client side on a connected socket. With mutual
    /// authentication this turns `SO_PASSCRED` on before the hello goes
    /// out, so that the reply cannot come without the server's credentials.
    pub fn new(sock: S, opts: &ClientOptions) -> Result<Self> {
        let fd = sock.as_fd();
        let kind = sys::sockopt::unix_kind(fd)?;
        let limits = crate::seqpacket::fit(fd, kind, opts.limits)?;
        let (server, pidfd) = if opts.mutual {
            let pidfd = pass_credentials(fd)?;
            (peer::socket_credentials(fd, !pidfd)?, pidfd)
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
        Ok(Self::with(
            sock,
            ClientAuth::new(config, server),
            ctrl,
            opts.mutual,
            false,
        ))
    }
}

impl<S: AsFd> ServerHandshake<S> {
    /// Starts the server side on an accepted socket (or the server end of
    /// a socketpair). `SO_PASSCRED` should already be on ([`Listener`],
    /// [`socketpair`]); if it is not, it is turned on now, and a hello that
    /// came before is refused for lack of credentials.
    ///
    /// [`Listener`]: crate::Listener
    /// [`socketpair`]: crate::socketpair()
    pub fn new(sock: S, opts: &ServerOptions) -> Result<Self> {
        let fd = sock.as_fd();
        let kind = sys::sockopt::unix_kind(fd)?;
        let limits = crate::seqpacket::fit(fd, kind, opts.limits)?;
        if !sys::sockopt::passcred(fd)? {
            sys::sockopt::set_passcred(fd, true)?;
        }
        // SCM_PIDFD is made when the message is read, so turning this on
        // now is never too late.
        let pidfd = sys::sockopt::set_passpidfd(fd, true)?;
        let client = peer::socket_credentials(fd, !pidfd)?;
        let config = ServerConfig {
            limits,
            socket: kind,
            policy: peer::policy(),
        };
        // No room for fds: a hello with fds is refused, and the kernel
        // reports the ones that did not fit with MSG_CTRUNC.
        let ctrl = Ctrl::new(0, true, pidfd);
        let side = ServerAuth::new(config, client);
        Ok(Self::with(sock, side, ctrl, true, !opts.decide))
    }

    /// While [`Progress::Decide`]: the authenticated client. Its pidfd is
    /// the kernel's; [`finish`](Authenticating::finish) drops it if it no
    /// longer names a live process with the reported pid.
    pub fn peer(&self) -> Option<&Credentials<OwnedFd>> {
        self.side.peer()
    }

    /// While [`Progress::Decide`]: accept the client; `step` sends the reply
    /// (a refusal instead, if the client sent more while waiting).
    pub fn accept(&mut self) -> Result<()> {
        self.probe_trailing()?;
        if !self.side.deciding() {
            return Ok(()); // refused for trailing input: `step` sends it
        }
        Ok(self.side.accept()?)
    }

    /// While [`Progress::Decide`]: deny the client; `step` sends the refusal
    /// and then fails with `denied`.
    pub fn deny(&mut self) -> Result<()> {
        Ok(self.side.deny()?)
    }
}

impl<H: Side, S: AsFd> Authenticating<H, S> {
    fn with(sock: S, side: H, ctrl: Ctrl, passcred_set: bool, auto_accept: bool) -> Self {
        Authenticating {
            sock,
            side,
            io: Exchange::new(ctrl, mon_ipc::hello::HELLO_LEN),
            passcred_set,
            auto_accept,
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
        let step = self.io.next_step(|out| self.side.step(out));
        // The server's "peer message is in" is every step past reading the
        // hello; the client's is the end (its Send is its own hello).
        let peer_in = match step {
            Step::NeedInput => false,
            Step::Done | Step::Failed(_) => true,
            Step::Send(_) | Step::Decide => H::SERVER,
        };
        if peer_in {
            self.clear_passcred(matches!(step, Step::Failed(_)))?;
        }
        match step {
            Step::NeedInput if self.io.wait_first() => Ok(Progress::WantRead),
            Step::NeedInput => self.read(false),
            Step::Send(attach) => {
                self.io.attach(attach);
                self.write()
            }
            Step::Decide if self.auto_accept => {
                self.probe_trailing()?;
                if self.side.deciding() {
                    self.side.accept_now()?;
                }
                Ok(Progress::Continue)
            }
            Step::Decide => Ok(Progress::Decide),
            Step::Done => Ok(Progress::Done),
            Step::Failed(e) => Err(e.into()),
        }
    }

    /// After [`Progress::Done`]: the connection, with the peer's credentials
    /// (always on the server; on the client with mutual authentication) and
    /// a [`Channel`](crate::Channel) already given the handshake's leftover.
    pub fn finish(self) -> Result<Connection<S>> {
        if let Some(e) = self.dead {
            return Err(e);
        }
        let est = self.side.finish()?;
        Ok(Connection::new(self.sock, est))
    }

    /// The socket.
    pub fn get_ref(&self) -> &S {
        &self.sock
    }

    /// The socket type.
    pub fn kind(&self) -> Result<SocketKind> {
        sys::sockopt::unix_kind(self.sock.as_fd())
    }

    fn clear_passcred(&mut self, best_effort: bool) -> Result<()> {
        if !self.passcred_set {
            return Ok(());
        }
        self.passcred_set = false;
        let fd = self.sock.as_fd();
        let r = sys::sockopt::set_passcred(fd, false)
            .and_then(|()| sys::sockopt::set_passpidfd(fd, false).map(drop));
        match r {
            Err(e) if !best_effort => Err(self.die(e)),
            _ => Ok(()),
        }
    }

    fn die(&mut self, e: Error) -> Error {
        self.dead = Some(e);
        e
    }

    fn write(&mut self) -> Result<Progress> {
        match self.io.write(self.sock.as_fd()) {
            Ok(Io::Moved(_)) => Ok(Progress::Continue),
            Ok(Io::WouldBlock) => Ok(Progress::WantWrite),
            Err(e) => {
                // A refusal the peer can no longer read: the refusal's
                // reason is the better error (e.g. hello_short after the
                // client died), and it is sticky in the core already.
                let mut scratch = Vec::new();
                match self.side.step(&mut scratch) {
                    Step::Failed(p) => Err(self.die(p.into())),
                    _ => Err(self.die(e)),
                }
            }
        }
    }

    /// PROTOCOL 3.3, check 8: input that arrives after the hello and before
    /// the reply is refused (status 4). Once the hello is in the server reads
    /// no further, so before it answers it looks for such input without
    /// blocking: one `recvmsg`, normally `EAGAIN`. Data makes the core queue
    /// the refusal; EOF is recorded for the channel.
    fn probe_trailing(&mut self) -> Result<()> {
        self.read(true).map(drop)
    }

    fn read(&mut self, dontwait: bool) -> Result<Progress> {
        match self.io.read(self.sock.as_fd(), &mut self.side, dontwait) {
            Ok(Io::Moved(_)) => Ok(Progress::Continue),
            Ok(Io::WouldBlock) => Ok(Progress::WantRead),
            Err(e) => Err(self.die(e)),
        }
    }
}

impl<H, S: AsFd> AsFd for Authenticating<H, S> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

/// For pollers that want a raw fd (tokio's `AsyncFd`).
impl<H, S: AsFd> AsRawFd for Authenticating<H, S> {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_fd().as_raw_fd()
    }
}
