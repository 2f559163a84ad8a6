//! Sockets prepared for the handshake: a listener and a socketpair whose
//! server side has `SO_PASSCRED` on before any client can write (why: see
//! [`Listener`]). (Linux's switch: other systems have none to turn on,
//! see [`platforms`](crate::platforms).)

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mon_ipc::SocketKind;

use crate::error::Result;
use crate::sys;

/// A listening `AF_UNIX` socket with `SO_PASSCRED` (and `SO_PASSPIDFD`
/// where the kernel has it) on, so every connection it accepts is ready for
/// [`server`](crate::server). Removes its socket file when dropped, if it
/// created it.
///
/// Why this matters ([PROTOCOL.md §3.3](mon_ipc::spec#33-the-server)):
/// Linux attaches
/// credentials to a message when it is *sent*, and only if the receiver (or
/// the sender) has `SO_PASSCRED` on at that moment. A hello sent before the
/// server turned it on arrives with pid 0 and the overflow ids, and is
/// refused with status 3. So the server turns it on where no hello can slip
/// past: on the listening socket (a connection accepted from it inherits the
/// flag, and data sent to a connection not yet accepted carries credentials
/// anyway), or on its end of a socketpair before the other end is handed
/// out ([`socketpair`]).
#[derive(Debug)]
pub struct Listener {
    fd: OwnedFd,
    kind: SocketKind,
    path: Option<PathBuf>,
}

impl Listener {
    /// Binds a new socket of `kind` to `path` and listens.
    pub fn bind(path: impl AsRef<Path>, kind: SocketKind) -> Result<Listener> {
        let fd = sys::sock::socket(kind)?;
        pass_credentials(fd.as_fd())?;
        sys::sock::bind_listen(fd.as_fd(), path.as_ref())?;
        Ok(Listener {
            fd,
            kind,
            path: Some(path.as_ref().to_owned()),
        })
    }

    /// Binds a new socket of `kind` to `name` in Linux's abstract
    /// namespace, and listens: an address with no file, gone when the
    /// listener closes (nothing to unlink, no stale file after a crash),
    /// and reachable from this network namespace only, by anyone who
    /// knows the name (no file permission guards it: authorize clients by
    /// their credentials, which the handshake gives). `name` is the
    /// address without its leading NUL byte, at most 107 bytes
    /// ([`Error::Io`](crate::Error::Io) with `ENAMETOOLONG` beyond); a
    /// name in use is `EADDRINUSE`. Clients use [`connect_abstract`].
    ///
    /// ```
    /// use mon_ipc_std::{ClientOptions, ServerOptions, SocketKind};
    /// let name = format!("mon-ipc-doc-{}", std::process::id());
    /// let listener = mon_ipc_std::Listener::bind_abstract(name.as_bytes(), SocketKind::Stream)?;
    /// let client = std::thread::spawn(move || {
    ///     let sock = mon_ipc_std::connect_abstract(name.as_bytes(), SocketKind::Stream)?;
    ///     mon_ipc_std::client(sock, &ClientOptions::default()).map(drop)
    /// });
    /// let conn = mon_ipc_std::server(listener.accept()?, &ServerOptions::default())?;
    /// assert_eq!(conn.peer.pid(), Some(std::process::id().try_into().unwrap()));
    /// client.join().unwrap()?;
    /// # Ok::<(), mon_ipc_std::Error>(())
    /// ```
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn bind_abstract(name: &[u8], kind: SocketKind) -> Result<Listener> {
        let fd = sys::sock::socket(kind)?;
        pass_credentials(fd.as_fd())?;
        sys::sock::bind_listen_abstract(fd.as_fd(), name)?;
        Ok(Listener {
            fd,
            kind,
            path: None,
        })
    }

    /// Wraps a socket that is already listening (e.g. inherited from a
    /// service manager) and turns `SO_PASSCRED` on. Connections that are
    /// already queued were made before; their data carried credentials
    /// anyway (Linux attaches them to data sent to a socket not yet accepted).
    pub fn from_fd(fd: OwnedFd) -> Result<Listener> {
        let kind = sys::sockopt::unix_kind(fd.as_fd())?;
        pass_credentials(fd.as_fd())?;
        Ok(Listener {
            fd,
            kind,
            path: None,
        })
    }

    /// The socket type of the connections.
    pub fn kind(&self) -> SocketKind {
        self.kind
    }

    /// Accepts one connection (`accept4` with `SOCK_CLOEXEC`): an
    /// [`Accepted`] socket, ready for [`server`](crate::server). On a
    /// non-blocking listener an empty queue is an [`Error::Io`] with
    /// `EAGAIN`: see [`Listener::try_accept`].
    ///
    /// [`Error::Io`]: crate::Error::Io
    pub fn accept(&self) -> Result<Accepted> {
        let fd = sys::sock::accept(self.fd.as_fd())?;
        Ok(Accepted {
            fd,
            kind: self.kind,
        })
    }

    /// Accepts one connection, or `None` if none is queued on a
    /// non-blocking listener.
    pub fn try_accept(&self) -> Result<Option<Accepted>> {
        match self.accept() {
            Ok(sock) => Ok(Some(sock)),
            Err(e) if e.is_would_block() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The connections as they come: [`accept`](Listener::accept) again
    /// and again, as std's `UnixListener::incoming`. The iterator never
    /// ends; an error is one item (a client that gave up in the queue, a
    /// full fd table: the next call may well succeed), so the caller
    /// decides whether to go on. For a blocking listener: on a
    /// non-blocking one an empty queue is an `EAGAIN` item, and a poll
    /// loop uses [`try_accept`](Listener::try_accept).
    ///
    /// ```no_run
    /// use mon_ipc_std::{Listener, ServerOptions, SocketKind};
    /// let listener = Listener::bind("/run/monitor.sock", SocketKind::Stream)?;
    /// for sock in listener.incoming() {
    ///     let conn = mon_ipc_std::server(sock?, &ServerOptions::default())?;
    ///     println!("client pid {:?}", conn.peer.pid());
    /// }
    /// # Ok::<(), mon_ipc_std::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// Sets or clears `O_NONBLOCK` on the listener (accepted sockets do
    /// not inherit it).
    pub fn set_nonblocking(&self, on: bool) -> Result<()> {
        sys::sock::set_nonblocking(self.fd.as_fd(), on)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = sys::sock::unlink(p);
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A connection accepted from a [`Listener`]: a socket that had
/// `SO_PASSCRED` on before its client could write (it inherited the
/// listener's), so its client's hello carries credentials. Give it to
/// [`server`](crate::server) or [`ServerHandshake::new`](crate::ServerHandshake::new)
/// (it is [`AsFd`]), or take its fd with `OwnedFd::from`. Blocking (the
/// listener's `O_NONBLOCK` is not inherited).
#[derive(Debug)]
pub struct Accepted {
    fd: OwnedFd,
    kind: SocketKind,
}

impl Accepted {
    /// The socket type (the listener's).
    pub fn kind(&self) -> SocketKind {
        self.kind
    }
}

impl AsFd for Accepted {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Accepted {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<Accepted> for OwnedFd {
    fn from(sock: Accepted) -> OwnedFd {
        sock.fd
    }
}

/// The connections of a [`Listener`] as they come:
/// [`Listener::incoming`]. Never ends.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a Listener,
}

impl Iterator for Incoming<'_> {
    type Item = Result<Accepted>;

    fn next(&mut self) -> Option<Result<Accepted>> {
        Some(self.listener.accept())
    }
}

/// The two ends of a socketpair: hand `client` to the client, keep `server`.
#[derive(Debug)]
pub struct SocketPair {
    /// The end the server authenticates on: `SO_PASSCRED` is already on.
    pub server: OwnedFd,
    /// The end for the client.
    pub client: OwnedFd,
}

/// A connected pair of `kind` (`SOCK_CLOEXEC`), with `SO_PASSCRED` (and
/// `SO_PASSPIDFD` where available) on the server end before anyone can
/// write to it (why: see [`Listener`]).
pub fn socketpair(kind: SocketKind) -> Result<SocketPair> {
    let (server, client) = sys::sock::socketpair(kind)?;
    pass_credentials(server.as_fd())?;
    Ok(SocketPair { server, client })
}

/// Connects a new socket of `kind` to a listener's path.
///
/// Blocks while the listener's backlog is full (`AF_UNIX` connects wait
/// for the server to accept), for as long as that lasts: see
/// [`connect_timeout`] and [`try_connect`].
pub fn connect(path: impl AsRef<Path>, kind: SocketKind) -> Result<OwnedFd> {
    let fd = sys::sock::socket(kind)?;
    sys::sock::connect(fd.as_fd(), path.as_ref())?;
    Ok(fd)
}

/// Connects a new socket of `kind` to a listener's name in Linux's
/// abstract namespace ([`Listener::bind_abstract`]). Blocks while the
/// listener's backlog is full, as [`connect`] does.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn connect_abstract(name: &[u8], kind: SocketKind) -> Result<OwnedFd> {
    let fd = sys::sock::socket(kind)?;
    sys::sock::connect_abstract(fd.as_fd(), name)?;
    Ok(fd)
}

/// [`connect`], waiting at most `timeout` for room in the listener's
/// backlog: [`Error::Timeout`](crate::Error::Timeout) then, with the new
/// socket closed. A zero `timeout` is refused, as std's
/// `TcpStream::connect_timeout` refuses it: [`Error::Io`](crate::Error::Io)
/// with `EINVAL` (`io::ErrorKind::InvalidInput`).
///
/// Blocks (up to `timeout`). The socket returned is blocking, with no
/// send timeout left on it. An `AF_UNIX` connect has no "in progress"
/// state to poll for (see [`try_connect`]); the wait is the kernel's
/// own, bounded with `SO_SNDTIMEO` while the call lasts.
pub fn connect_timeout(
    path: impl AsRef<Path>,
    kind: SocketKind,
    timeout: Duration,
) -> Result<OwnedFd> {
    if timeout.is_zero() {
        return Err(crate::Error::Io {
            syscall: "connect",
            errno: nix::libc::EINVAL,
        });
    }
    let fd = sys::sock::socket(kind)?;
    sys::sock::connect_timeout(fd.as_fd(), path.as_ref(), timeout)?;
    Ok(fd)
}

/// Connects without blocking: a new non-blocking socket (`O_NONBLOCK`
/// on, ready for the step-wise handshake), connected; or `None` when the
/// listener's backlog is full.
///
/// Never blocks. On `AF_UNIX` a connect completes at once or fails with
/// `EAGAIN` (backlog full): there is no connect in progress to wait for
/// with `poll` (an unconnected socket polls writable at once), so `None`
/// means "try again later" (on a timer), or use [`connect_timeout`].
pub fn try_connect(path: impl AsRef<Path>, kind: SocketKind) -> Result<Option<OwnedFd>> {
    let fd = sys::sock::socket(kind)?;
    sys::sock::set_nonblocking(fd.as_fd(), true)?;
    Ok(sys::sock::try_connect(fd.as_fd(), path.as_ref())?.then_some(fd))
}

/// Sets or clears `O_NONBLOCK` on a socket, for the step-wise API.
pub fn set_nonblocking(sock: impl AsFd, on: bool) -> Result<()> {
    sys::sock::set_nonblocking(sock.as_fd(), on)
}

/// `SO_PASSCRED` on, and `SO_PASSPIDFD` where the kernel has it (then
/// `true`): the receiving side of a handshake message.
pub(crate) fn pass_credentials(sock: BorrowedFd<'_>) -> Result<bool> {
    sys::sockopt::set_passcred(sock, true)?;
    sys::sockopt::set_passpidfd(sock, true)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::fd::AsFd;

    use mon_ipc::SocketKind;

    use super::*;
    use crate::{ClientOptions, Error, ServerOptions};

    /// What `peer::prepare_server` counts on: a connection accepted from a
    /// [`Listener`] has `SO_PASSCRED` and `SO_PASSPIDFD` on without being
    /// told (Linux copies them from the listener, `unix_sock_inherit_flags`
    /// in `net/unix/af_unix.c`; since 6.16 the flags live on the `sock`,
    /// copied at connect). Checked on the kernel the tests run on.
    #[test]
    fn accepted_sockets_inherit_the_listeners_switches() {
        for kind in [SocketKind::Stream, SocketKind::Seqpacket] {
            let name = format!("mon-ipc-inherit-{}-{kind:?}", std::process::id());
            let listener = Listener::bind_abstract(name.as_bytes(), kind).unwrap();
            let _client = connect_abstract(name.as_bytes(), kind).unwrap();
            let accepted = listener.accept().unwrap();
            assert!(sys::sockopt::passcred(accepted.as_fd()).unwrap());
            match sys::creds::passpidfd(listener.as_fd()) {
                Ok(true) => assert!(sys::creds::passpidfd(accepted.as_fd()).unwrap()),
                r => eprintln!("SKIPPED: no SO_PASSPIDFD on this kernel ({r:?})"),
            }
        }
    }

    /// A server socket that someone else prepared with `SO_PASSCRED` only:
    /// the hello brings no `SCM_PIDFD`, and the client's pidfd comes from
    /// `SO_PEERPIDFD` instead, as before the server stopped turning
    /// `SO_PASSPIDFD` on for prepared sockets.
    #[test]
    fn a_socket_with_passcred_alone_still_gets_the_clients_pidfd() {
        let (server, client) = sys::sock::socketpair(SocketKind::Stream).unwrap();
        sys::sockopt::set_passcred(server.as_fd(), true).unwrap();
        assert!(!sys::creds::passpidfd(server.as_fd()).unwrap_or(false));
        let t = std::thread::spawn(move || crate::client(client, &ClientOptions::default()));
        let conn = crate::server(server, &ServerOptions::default()).unwrap();
        t.join().unwrap().unwrap();
        match crate::peer::socket_pidfd(conn.channel.get_ref().as_fd()) {
            Ok(Some(_)) => assert!(conn.peer.pidfd.is_some(), "no pidfd from SO_PEERPIDFD"),
            r => eprintln!("SKIPPED: no SO_PEERPIDFD on this kernel ({r:?})"),
        }
        // Both switches are off once the hello is in.
        assert!(!sys::sockopt::passcred(conn.channel.get_ref().as_fd()).unwrap());
    }

    /// A server whose family check now rests on `SO_PEERCRED` (and a mutual
    /// client) still refuses what is not `AF_UNIX`, with the same error.
    #[test]
    fn a_tcp_socket_is_still_unsupported() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        let e = crate::ServerHandshake::new(s, &ServerOptions::default()).unwrap_err();
        assert!(matches!(e, Error::UnsupportedSocket), "{e:?}");
        let opts = ClientOptions::default().mutual(true);
        let e = crate::ClientHandshake::new(c, &opts).unwrap_err();
        assert!(matches!(e, Error::UnsupportedSocket), "{e:?}");
        let pipe = std::fs::File::open("/dev/null").unwrap();
        let e = crate::ServerHandshake::new(pipe, &ServerOptions::default()).unwrap_err();
        assert!(matches!(e, Error::UnsupportedSocket), "{e:?}");
    }
}
