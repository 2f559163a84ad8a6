//! What a successful handshake hands to the message channel.

use crate::creds::Credentials;
use crate::event::{Leftover, SocketKind};
use crate::limits::Limits;

/// The outcome of a successful handshake, from `finish`.
#[derive(Debug)]
pub struct Established<F> {
    /// The negotiated protocol version (1).
    pub version: u8,
    /// The limits both directions use: the minimum of both sides'.
    pub limits: Limits,
    /// The socket type.
    pub socket: SocketKind,
    /// The peer's credentials: always on the server; on the client only
    /// with mutual authentication.
    pub peer: Option<Credentials<F>>,
    /// Input that belongs to the message channel.
    pub leftover: Leftover<F>,
}
