//! What a finished handshake gives: the peer and the channel.

use std::os::fd::{AsFd, OwnedFd};

use mon_ipc::{Credentials, Established};

use crate::channel::Channel;
use crate::peer;

/// An authenticated connection.
#[derive(Debug)]
pub struct Connection<S> {
    /// The peer's credentials: always on the server; on the client only
    /// with mutual authentication. Its pidfd, if any, refers to exactly the
    /// process whose pid is reported (checked in `/proc/self/fdinfo`).
    pub peer: Option<Credentials<OwnedFd>>,
    /// The negotiated protocol version.
    pub version: u8,
    /// The message channel, already given any input the handshake read
    /// beyond its own message.
    pub channel: Channel<S>,
}

impl<S: AsFd> Connection<S> {
    pub(crate) fn new(sock: S, est: Established<OwnedFd>) -> Self {
        let mut creds = est.peer;
        if let Some(c) = &mut creds {
            peer::check_pidfd(c);
        }
        Connection {
            peer: creds,
            version: est.version,
            channel: Channel::new(sock, est.limits, est.socket, est.leftover),
        }
    }
}
