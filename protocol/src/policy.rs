//! The credential policy both sides apply to the peer's handshake message
//! (its rules are documented on [`CredentialPolicy`]).

use alloc::vec::Vec;

use crate::creds::{CredentialSource, Credentials, Ucred};
use crate::error::PeerError;
use crate::event::{CredentialPolicy, MessageCredentials};

/// Socket credentials, read by the driver when the connection was made
/// (`SO_PEERCRED`, `SO_PEERGROUPS`, `SO_PEERPIDFD`).
#[derive(Debug)]
pub struct SocketCredentials<F> {
    /// `SO_PEERCRED`, or `None` where the system has none.
    pub ucred: Option<Ucred>,
    /// `SO_PEERGROUPS`, where available.
    pub groups: Option<Vec<u32>>,
    /// `SO_PEERPIDFD`: a pidfd of the process that connected (or listened).
    /// Reported only if its pid is the pid the handshake reports.
    pub pidfd: Option<F>,
}

impl<F> Default for SocketCredentials<F> {
    fn default() -> Self {
        SocketCredentials {
            ucred: None,
            groups: None,
            pidfd: None,
        }
    }
}

impl<F> SocketCredentials<F> {
    /// Socket credentials with the triple only.
    pub fn new(ucred: Ucred) -> Self {
        SocketCredentials {
            ucred: Some(ucred),
            ..SocketCredentials::default()
        }
    }
}

/// Collects the message credentials of every read that carries part of the
/// peer's handshake message, then concludes.
#[derive(Debug)]
pub(crate) struct CredCheck<F> {
    policy: CredentialPolicy,
    socket: SocketCredentials<F>,
    first: Option<Ucred>,
    first_pidfd: Option<F>,
    pieces: usize,
    missing: bool,
    mismatch: bool,
}

impl<F> CredCheck<F> {
    pub(crate) fn new(policy: CredentialPolicy, socket: SocketCredentials<F>) -> Self {
        CredCheck {
            policy,
            socket,
            first: None,
            first_pidfd: None,
            pieces: 0,
            missing: false,
            mismatch: false,
        }
    }

    /// Records the message credentials of one read that carried part of the
    /// message. Invisible credentials count as absent.
    pub(crate) fn piece(&mut self, creds: Option<Ucred>, pidfd: Option<F>) {
        let creds = creds.filter(|c| self.usable(c));
        self.pieces += 1;
        match (creds, self.pieces) {
            (None, _) => self.missing = true,
            (Some(c), 1) => {
                self.first = Some(c);
                self.first_pidfd = pidfd;
            }
            (Some(c), _) => {
                if self.first.is_some_and(|f| !same_identity(f, c)) {
                    self.mismatch = true;
                }
            }
        }
    }

    /// Applies the policy to what was collected.
    pub(crate) fn conclude(self) -> Result<Credentials<F>, PeerError> {
        let socket = self.socket.ucred.filter(|c| self.usable(c));
        let message = if self.missing { None } else { self.first };
        if self.policy.message == MessageCredentials::Required && message.is_none() {
            return Err(PeerError::NoCredentials);
        }
        if self.mismatch {
            return Err(PeerError::CredentialsMismatch);
        }
        let (ucred, source) = match (socket, message) {
            (None, None) => return Err(PeerError::NoCredentials),
            (Some(s), None) => (s, CredentialSource::Socket),
            (None, Some(m)) => (m, CredentialSource::Message),
            (Some(s), Some(m)) if !same_identity(s, m) => {
                return Err(PeerError::CredentialsMismatch);
            }
            (Some(_), Some(m)) => (m, CredentialSource::Both),
        };
        let socket_pidfd_fits = socket.is_some_and(|s| s.pid().is_some() && s.pid() == ucred.pid());
        let pidfd = match (message.and(self.first_pidfd), self.socket.pidfd) {
            (Some(p), _) => Some(p),
            (None, Some(p)) if socket_pidfd_fits => Some(p),
            _ => None,
        };
        Ok(Credentials {
            ucred,
            source,
            groups: self.socket.groups,
            pidfd,
        })
    }
}

impl<F> CredCheck<F> {
    /// Credentials vouch for someone only if uid and gid are known and the
    /// process is visible; otherwise they count as absent. (A pid alone may
    /// be unknown: a peer in a pid namespace we cannot see still has ids.)
    fn usable(&self, c: &Ucred) -> bool {
        c.uid().is_some() && c.gid().is_some() && !c.is_invisible(self.policy.overflow)
    }
}

/// uid and gid agree; the pid is not compared (a process may fork after
/// connecting, and the child may send the hello).
fn same_identity(a: Ucred, b: Ucred) -> bool {
    a.uid() == b.uid() && a.gid() == b.gid()
}
