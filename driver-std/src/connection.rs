//! What a finished handshake gives: the peer and the channel.

use std::os::fd::{AsFd, OwnedFd};

use mon_ipc::{Credentials, Established};

use crate::channel::Channel;
use crate::error::{Error, Result};
use crate::peer;

/// An authenticated connection: the channel, and `P`, what the handshake
/// established about the peer.
///
/// `P` differs by side, so that a server never unwraps what it always
/// has: the server authenticates every client, so its
/// [`ServerConnection`] has the client's [`Credentials`]; the client
/// learns the server's only with mutual authentication
/// ([`ClientOptions::mutual`](crate::ClientOptions::mutual)), so its
/// [`ClientConnection`] has an `Option`. `Connection<S>` is the client's.
#[derive(Debug)]
pub struct Connection<S, P = Option<Credentials<OwnedFd>>> {
    /// The peer's credentials (see `P` above). Their pidfd, if any,
    /// refers to exactly the process whose pid is reported (checked in
    /// `/proc/self/fdinfo`).
    pub peer: P,
    /// The negotiated protocol version.
    pub version: u8,
    /// The message channel, already given any input the handshake read
    /// beyond its own message.
    pub channel: Channel<S>,
}

/// What the native client's handshake gives ([`client`](crate::client)):
/// the server's credentials with mutual authentication, else `None`.
pub type ClientConnection<S> = Connection<S, Option<Credentials<OwnedFd>>>;

/// What the native server's handshake gives ([`server`](crate::server)):
/// the client's credentials, always.
pub type ServerConnection<S> = Connection<S, Credentials<OwnedFd>>;

impl<S: AsFd, P> Connection<S, P> {
    /// The connection of `est` on `sock`, with `peer` for what `est` says
    /// about the peer.
    fn with(sock: S, est: Established<OwnedFd>, peer: P) -> Self {
        Connection {
            peer,
            version: est.version,
            channel: Channel::new(sock, est.limits, est.socket, est.leftover),
        }
    }
}

impl<S: AsFd> ClientConnection<S> {
    pub(crate) fn client(sock: S, mut est: Established<OwnedFd>) -> Self {
        let mut creds = est.peer.take();
        if let Some(c) = &mut creds {
            peer::check_pidfd(c);
        }
        Connection::with(sock, est, creds)
    }
}

impl<S: AsFd> ServerConnection<S> {
    /// The server's connection. The core reports the client on every
    /// server that finishes; without one (which it never gives) the
    /// handshake fails as a client without credentials would.
    pub(crate) fn server(sock: S, mut est: Established<OwnedFd>) -> Result<Self> {
        let mut creds = est
            .peer
            .take()
            .ok_or(Error::Protocol(mon_ipc::PeerError::NoCredentials.into()))?;
        peer::check_pidfd(&mut creds);
        Ok(Connection::with(sock, est, creds))
    }
}
