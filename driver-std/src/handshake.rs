//! The step-wise handshake: one generic loop over [`mon_ipc::Handshake`]
//! for every profile and side (native and D-Bus, client and server), one
//! system call per step, for blocking and non-blocking sockets alike.
//!
//! See [`Authenticating`] for the call order and [`Side`] for what varies.

use std::num::NonZeroU32;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use mon_ipc::{Credentials, Handshake, SocketKind, Step};

use crate::error::{Error, Result};
use crate::handshake_io::{Exchange, Io};
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
    /// [`Authenticating::peer`], then call `accept` or `deny`.
    Decide,
    /// Authenticated: call `finish`.
    Done,
}

mod sealed {
    pub trait Sealed {}
    impl<F> Sealed for mon_ipc::ClientAuth<F> {}
    impl<F> Sealed for mon_ipc::ServerAuth<F> {}
    impl<F> Sealed for mon_ipc::dbus::ClientAuth<F> {}
    impl<F> Sealed for mon_ipc::dbus::ServerAuth<F> {}
}

/// A handshake side this driver can run: the core's state machine of one
/// profile and one side, over owned fds.
///
/// | `H` | step-wise alias | blocking call | [`Side::Finished<S>`] |
/// |---|---|---|---|
/// | [`mon_ipc::ClientAuth`] | [`ClientHandshake`] | [`client`](crate::client) | [`ClientConnection<S>`](crate::ClientConnection) |
/// | [`mon_ipc::ServerAuth`] | [`ServerHandshake`] | [`server`](crate::server) | [`ServerConnection<S>`](crate::ServerConnection) |
/// | [`mon_ipc::dbus::ClientAuth`] | [`dbus::ClientHandshake`](crate::dbus::ClientHandshake) | [`dbus::client`](crate::dbus::client) | `(S, `[`dbus::Authenticated`](crate::dbus::Authenticated)`)` |
/// | [`mon_ipc::dbus::ServerAuth`] | [`dbus::ServerHandshake`](crate::dbus::ServerHandshake) | [`dbus::server`](crate::dbus::server) | `(S, `[`dbus::Authenticated`](crate::dbus::Authenticated)`)` |
///
/// Name it to write one function over every side, e.g. a poll loop:
///
/// ```
/// use std::os::fd::AsFd;
/// use mon_ipc_std::{Authenticating, Progress, Side};
///
/// /// Runs any handshake on a blocking socket, accepting every peer.
/// fn run<H: Side, S: AsFd>(mut hs: Authenticating<H, S>) -> mon_ipc_std::Result<H::Finished<S>> {
///     loop {
///         match hs.step()? {
///             Progress::Decide => hs.accept()?,
///             Progress::Done => return hs.finish(),
///             _ => {} // a blocking socket: every step makes progress
///         }
///     }
/// }
///
/// let pair = mon_ipc_std::socketpair(mon_ipc_std::SocketKind::Stream)?;
/// let opts = mon_ipc_std::dbus::ServerOptions::new([7; 16]);
/// let server = std::thread::spawn(move || {
///     run(mon_ipc_std::dbus::ServerHandshake::new(pair.server, &opts)?)
/// });
/// let opts = mon_ipc_std::dbus::ClientOptions::default();
/// let (_sock, auth) = run(mon_ipc_std::dbus::ClientHandshake::new(pair.client, &opts)?)?;
/// assert_eq!(auth.guid, "07".repeat(16));
/// server.join().unwrap()?;
/// # Ok::<(), mon_ipc_std::Error>(())
/// ```
///
/// Sealed: the driver knows what each side needs from the socket
/// (`SO_PASSCRED` and when to clear it, the control buffer's room).
pub trait Side: Handshake<OwnedFd> + sealed::Sealed {
    /// What [`Authenticating::finish`] gives on socket `S`.
    type Finished<S>;

    /// Whether this side reads its peer's message first (the server): its
    /// peer's credentials are all in once it sends or decides.
    #[doc(hidden)]
    const SERVER: bool;

    /// The outcome on `sock`.
    #[doc(hidden)]
    fn finished<S: AsFd>(sock: S, output: Self::Output) -> Result<Self::Finished<S>>;

    /// The core's failure as the driver's [`Error`]. A method rather than
    /// a `From` bound: `Error` converts from the core's errors that a
    /// caller's `?` meets, not from every profile's combined error.
    #[doc(hidden)]
    fn error(e: Self::Error) -> Error;

    /// While deciding: the peer, mutable, for the driver to add the
    /// socket's pidfd ([`Authenticating::with_peer_pidfd_later`]). `None`
    /// on sides that never decide.
    #[doc(hidden)]
    fn pending_peer_mut(&mut self) -> Option<&mut Credentials<OwnedFd>> {
        None
    }
}

/// A handshake in progress on socket `S`, for side `H` (see [`Side`]):
/// [`ClientHandshake`], [`ServerHandshake`],
/// [`dbus::ClientHandshake`](crate::dbus::ClientHandshake) or
/// [`dbus::ServerHandshake`](crate::dbus::ServerHandshake).
///
/// Call [`step`](Authenticating::step) until it returns
/// [`Progress::Done`], then [`finish`](Authenticating::finish):
///
/// | `step` returns | meaning | the manual's |
/// |---|---|---|
/// | `Continue` | a read or write went through (maybe partly): call again | `MON_CONTINUE` |
/// | `WantRead` | the read gave `EAGAIN`: wait until readable | `MON_WANT_READ` |
/// | `WantWrite` | the write gave `EAGAIN`: wait until writable | `MON_WANT_WRITE` |
/// | `Decide` | native server with [`ServerOptions::decide`](crate::ServerOptions::decide): look at [`peer`](Authenticating::peer), then [`accept`](Authenticating::accept) or [`deny`](Authenticating::deny) | `MON_DECIDE` (`mon_ipc_auth_server_init_decide`) |
/// | `Done` | authenticated: `finish` | `0` |
/// | `Err(e)` | failed; `e` is sticky; close the socket | an error code |
///
/// `WantRead` / `WantWrite` come only from an `EAGAIN` the kernel returned,
/// so an edge-triggered poller (tokio's `AsyncFd`) may clear its readiness
/// on them. `EINTR` is retried inside the step.
///
/// ```
/// use mon_ipc_std::{ClientHandshake, ClientOptions, Progress, ServerHandshake, ServerOptions};
/// let pair = mon_ipc_std::socketpair(mon_ipc_std::SocketKind::Stream)?;
/// mon_ipc_std::set_nonblocking(&pair.client, true)?;
/// mon_ipc_std::set_nonblocking(&pair.server, true)?;
/// let mut client = ClientHandshake::new(pair.client, &ClientOptions::default())?;
/// let mut server = ServerHandshake::new(pair.server, &ServerOptions::default().decide(true))?;
/// // One thread, both sides: step whichever can move.
/// let (mut c_done, mut s_done) = (false, false);
/// while !(c_done && s_done) {
///     if !c_done {
///         c_done = client.step()? == Progress::Done;
///     }
///     if !s_done {
///         match server.step()? {
///             Progress::Decide => {
///                 let uid = server.peer().and_then(|p| p.uid());
///                 if uid == Some(nix::unistd::geteuid().as_raw()) {
///                     server.accept()?
///                 } else {
///                     server.deny()?
///                 }
///             }
///             Progress::Done => s_done = true,
///             _ => {} // WantRead / WantWrite: a poller would wait here
///         }
///     }
/// }
/// let (client, server) = (client.finish()?, server.finish()?);
/// assert_eq!(server.peer.pid(), Some(std::process::id().try_into().unwrap()));
/// # drop(client);
/// # Ok::<(), mon_ipc_std::Error>(())
/// ```
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
    /// The socket credentials' pid, when the peer's pidfd is to come from
    /// `SO_PEERPIDFD` if its message brought none (see
    /// [`with_peer_pidfd_later`](Authenticating::with_peer_pidfd_later)).
    peer_pidfd_later: Option<NonZeroU32>,
    /// A fatal error, returned again by every later step.
    dead: Option<Error>,
}

/// The native client's handshake ([`Authenticating::step`], `finish`).
pub type ClientHandshake<S> = Authenticating<mon_ipc::ClientAuth<OwnedFd>, S>;
/// The native server's handshake ([`Authenticating::step`], `peer`,
/// `accept`, `deny`, `finish`).
pub type ServerHandshake<S> = Authenticating<mon_ipc::ServerAuth<OwnedFd>, S>;

impl<H: Side, S: AsFd> Authenticating<H, S> {
    /// A driver for `side` on `sock`, reading through `ctrl`. The profile
    /// constructors (`ClientHandshake::new`, ...) prepare the socket.
    pub(crate) fn with(
        sock: S,
        side: H,
        ctrl: Ctrl,
        passcred_set: bool,
        auto_accept: bool,
        out_cap: usize,
    ) -> Self {
        Authenticating {
            sock,
            side,
            io: Exchange::new(ctrl, out_cap),
            passcred_set,
            auto_accept,
            peer_pidfd_later: None,
            dead: None,
        }
    }

    /// At `Decide`, if the peer's message brought no pidfd and the socket
    /// credentials' pid `socket_pid` is the reported pid, the peer gets
    /// the socket's `SO_PEERPIDFD`: the rule of
    /// [PROTOCOL.md §2](mon_ipc::spec#2-credentials) ("else the
    /// `SO_PEERPIDFD` only if ..."), applied after the message instead of
    /// before, so that a server whose socket inherited `SO_PASSPIDFD` from
    /// its listener makes no call for it (`peer::prepare_server`).
    pub(crate) fn with_peer_pidfd_later(mut self, socket_pid: Option<NonZeroU32>) -> Self {
        self.peer_pidfd_later = socket_pid;
        self
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
        // peer's first message; the client's is the end (its first Send is
        // its own message).
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
            Step::Decide => {
                self.add_peer_pidfd()?;
                if self.auto_accept {
                    self.accept()?;
                    Ok(Progress::Continue)
                } else {
                    Ok(Progress::Decide)
                }
            }
            Step::Done => Ok(Progress::Done),
            Step::Failed(e) => Err(H::error(e)),
        }
    }

    /// [`step`](Authenticating::step) for a blocking caller with a clock:
    /// where `step` would say [`Progress::WantRead`] or
    /// [`Progress::WantWrite`], this waits for the socket with `poll`, at
    /// most until `deadline` ([`Error::Timeout`], sticky), and says
    /// [`Progress::Continue`]. It blocks even on a non-blocking socket;
    /// from the first call on, every read and write of the handshake uses
    /// `MSG_DONTWAIT`, so no system call waits past the deadline. `None`
    /// waits forever.
    ///
    /// The blocking [`client`](crate::client) and [`server`](crate::server)
    /// loop on it; it is public for a caller that keeps its own deadline
    /// per handshake and wants to see each step (the C API's step
    /// functions on blocking sockets).
    pub fn step_until(&mut self, deadline: Option<std::time::Instant>) -> Result<Progress> {
        self.io.dontwait = true;
        self.io.poll_before_answer = true;
        let write = match self.step()? {
            Progress::WantRead => false,
            Progress::WantWrite => true,
            other => return Ok(other),
        };
        match sys::sock::wait(self.sock.as_fd(), write, deadline) {
            Ok(()) => Ok(Progress::Continue),
            Err(e) => Err(*self.dead.get_or_insert(e)),
        }
    }

    /// While [`Progress::Decide`]: the authenticated peer. Its pidfd is
    /// the kernel's; [`finish`](Authenticating::finish) drops it if it no
    /// longer names a live process with the reported pid.
    pub fn peer(&self) -> Option<&Credentials<OwnedFd>> {
        self.side.peer()
    }

    /// While [`Progress::Decide`]: accept the peer; `step` sends the reply
    /// (a refusal instead, if the peer sent more while waiting:
    /// [PROTOCOL.md §3.3](mon_ipc::spec#33-the-server), check 8).
    pub fn accept(&mut self) -> Result<()> {
        if self.side.peer().is_none() {
            return self.side.accept().map_err(H::error); // no decision pending
        }
        self.probe_trailing()?;
        if self.side.peer().is_none() {
            return Ok(()); // refused for trailing input: `step` sends it
        }
        self.side.accept().map_err(H::error)
    }

    /// While [`Progress::Decide`]: deny the peer; `step` sends the refusal
    /// and then fails with `denied`.
    pub fn deny(&mut self) -> Result<()> {
        self.side.deny().map_err(H::error)
    }

    /// After [`Progress::Done`]: the outcome ([`Side::Finished`]). For the
    /// native profile a [`Connection`](crate::Connection) with the peer's
    /// credentials (on the server [`ServerConnection`](crate::ServerConnection),
    /// always; on the client [`ClientConnection`](crate::ClientConnection),
    /// with mutual authentication) and a
    /// [`Channel`](crate::Channel) already given the handshake's leftover.
    pub fn finish(self) -> Result<H::Finished<S>> {
        if let Some(e) = self.dead {
            return Err(e);
        }
        let output = self.side.finish().map_err(H::error)?;
        H::finished(self.sock, output)
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

    /// See [`with_peer_pidfd_later`](Authenticating::with_peer_pidfd_later); once.
    fn add_peer_pidfd(&mut self) -> Result<()> {
        let Some(socket_pid) = self.peer_pidfd_later.take() else {
            return Ok(());
        };
        let Some(peer) = self.side.pending_peer_mut() else {
            return Ok(());
        };
        if peer.pidfd.is_some() || peer.pid() != Some(socket_pid) {
            return Ok(());
        }
        match crate::peer::socket_pidfd(self.sock.as_fd()) {
            Ok(fd) => {
                peer.pidfd = fd;
                Ok(())
            }
            Err(e) => Err(self.die(e)),
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
                    Step::Failed(p) => Err(self.die(H::error(p))),
                    _ => Err(self.die(e)),
                }
            }
        }
    }

    /// [PROTOCOL.md §3.3](mon_ipc::spec#33-the-server), check 8: input that
    /// arrives after the hello and before the reply is refused (status 4). Once
    /// the hello is in the server reads no further, so before it answers it
    /// looks for such input without blocking: one `recvmsg`, normally `EAGAIN`.
    /// Data makes the core queue the refusal; EOF is recorded for the channel.
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
