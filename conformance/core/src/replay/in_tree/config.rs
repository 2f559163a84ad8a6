//! From a group's `config` to the core's configuration types.

use mon_ipc::{
    CredentialPolicy, Limits, MessageCredentials, Overflow, SocketCredentials, SocketKind, Ucred,
    UsageError,
};

use crate::Fd;
use crate::model::{Config, Creds, MessageCreds, Policy, Socket, WireLimits};

/// The core's limits; out-of-range values are the core's own error.
pub fn limits(l: WireLimits) -> Result<Limits, UsageError> {
    let fds = u8::try_from(l.max_fds).map_err(|_| UsageError::LimitOutOfRange)?;
    Limits::new(fds, l.max_payload)
}

/// The core's credential policy (default: required, overflow 65534).
pub fn policy(p: Option<Policy>) -> CredentialPolicy {
    let Some(p) = p else {
        return CredentialPolicy::default();
    };
    CredentialPolicy {
        message: match p.message_credentials {
            MessageCreds::Required => MessageCredentials::Required,
            MessageCreds::Unavailable => MessageCredentials::Unavailable,
        },
        overflow: Overflow {
            uid: p.overflow_uid,
            gid: p.overflow_gid,
        },
    }
}

pub(super) fn socket(s: Socket) -> SocketKind {
    match s {
        Socket::Stream => SocketKind::Stream,
        Socket::Seqpacket => SocketKind::Seqpacket,
    }
}

pub(super) fn ucred(c: Creds) -> Ucred {
    Ucred::from_raw(c.pid, c.uid, c.gid)
}

/// `config.peerSocket`, with its pidfd (issued by the replay) in place.
pub(super) fn peer_socket(config: &Config, pidfd: Option<Fd>) -> SocketCredentials<Fd> {
    let Some(p) = &config.peer_socket else {
        return SocketCredentials::default();
    };
    SocketCredentials {
        ucred: p.credentials.map(ucred),
        groups: None,
        pidfd,
    }
}
