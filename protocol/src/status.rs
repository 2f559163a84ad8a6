//! The status byte of the server's reply. Its own module because the
//! errors name the status each one sends ([`PeerError::status`]), and the
//! hello module, which carries it on the wire, depends on the errors through
//! [`Limits`].
//!
//! [`PeerError::status`]: crate::PeerError::status
//! [`Limits`]: crate::Limits

/// The server's answer, byte 5 of the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    /// 0: authenticated; frames follow.
    Accepted = 0,
    /// 1: authenticated, but the server's caller said no.
    Denied = 1,
    /// 2: no common version; byte 4 holds the server's highest.
    UnsupportedVersion = 2,
    /// 3: the server saw no usable credentials of the client.
    NoCredentials = 3,
    /// 4: the hello was malformed.
    Malformed = 4,
    /// 5: socket and message credentials differ in uid or gid.
    CredentialsMismatch = 5,
}

impl Status {
    /// The status with this byte value.
    pub const fn from_byte(b: u8) -> Option<Status> {
        Some(match b {
            0 => Status::Accepted,
            1 => Status::Denied,
            2 => Status::UnsupportedVersion,
            3 => Status::NoCredentials,
            4 => Status::Malformed,
            5 => Status::CredentialsMismatch,
            _ => return None,
        })
    }
}
