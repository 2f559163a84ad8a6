//! What every handshake profile has in common, so that one driver loop
//! serves the native handshake and D-Bus, client and server.

use core::fmt;

use bytes::BufMut;

use crate::client::ClientAuth;
use crate::creds::Credentials;
use crate::error::{Error, UsageError};
use crate::established::Established;
use crate::event::{Ancillary, Step};
use crate::server::ServerAuth;

/// An error with a stable lower-case code, as used in `vectors/`.
///
/// A driver generic over [`Handshake`] reports a failure by its code
/// without knowing the profile: `hello_bad_magic` for the native
/// handshake, `dbus_bad_guid` for D-Bus, `not_finished` for a misuse.
pub trait ErrorCode: Copy + fmt::Debug + fmt::Display {
    /// The stable code.
    fn code(self) -> &'static str;
}

/// A handshake state machine of one profile and one side.
///
/// | type | profile, side | `Output` | `Error` |
/// |---|---|---|---|
/// | [`ClientAuth`] | native, client | [`Established`] | [`Error`] |
/// | [`ServerAuth`] | native, server | [`Established`] | [`Error`] |
/// | [`dbus::ClientAuth`](crate::dbus::ClientAuth) | D-Bus, client | [`dbus::Authenticated`](crate::dbus::Authenticated) | [`dbus::Error`](crate::dbus::Error) |
/// | [`dbus::ServerAuth`](crate::dbus::ServerAuth) | D-Bus, server | [`dbus::Authenticated`](crate::dbus::Authenticated) | [`dbus::Error`](crate::dbus::Error) |
///
/// Each profile keeps its own outcome and its own stable error codes; what
/// they share is the event model. A driver loop asks [`step`] what is
/// needed next and does it: read and [`receive`] (or [`receive_eof`]),
/// send what `step` appended to its buffer, or, on [`Step::Decide`],
/// look at [`peer`] and [`accept`] or [`deny`]. After [`Step::Done`],
/// [`finish`] gives the outcome. The loop needs to know nothing about the
/// profile:
///
/// ```
/// use mon_ipc::{ErrorCode, Handshake, Step};
/// fn what_next<F, H: Handshake<F>>(side: &mut H, out: &mut Vec<u8>) -> &'static str {
///     match side.step(out) {
///         Step::NeedInput => "read",
///         Step::Send(_) => "write",
///         Step::Decide => "decide",
///         Step::Done => "done",
///         Step::Failed(e) => e.code(),
///     }
/// }
/// let mut native = mon_ipc::ClientAuth::<u32>::new(Default::default(), Default::default());
/// assert_eq!(what_next(&mut native, &mut Vec::new()), "write"); // the hello
/// let config = mon_ipc::dbus::ClientConfig::external(1000);
/// let mut dbus = mon_ipc::dbus::ClientAuth::<u32>::new(config);
/// assert_eq!(what_next(&mut dbus, &mut Vec::new()), "write"); // "\0AUTH EXTERNAL ..."
/// ```
///
/// [`step`]: Handshake::step
/// [`receive`]: Handshake::receive
/// [`receive_eof`]: Handshake::receive_eof
/// [`peer`]: Handshake::peer
/// [`accept`]: Handshake::accept
/// [`deny`]: Handshake::deny
/// [`finish`]: Handshake::finish
pub trait Handshake<F> {
    /// What a successful handshake gives.
    type Output;
    /// The profile's error: sticky, with a stable code.
    type Error: ErrorCode + From<UsageError>;

    /// What the side needs next (see [`Step`]); on [`Step::Send`] the bytes
    /// to send were appended to `out`.
    fn step(&mut self, out: &mut impl BufMut) -> Step<Self::Error>;
    /// One read: its bytes and ancillary data. The side owns every fd in
    /// `anc` from now on.
    fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Self::Error>;
    /// EOF on the socket.
    fn receive_eof(&mut self) -> Result<(), Self::Error>;
    /// While [`Step::Decide`]: the authenticated peer. `None` otherwise,
    /// and always for sides that never decide.
    fn peer(&self) -> Option<&Credentials<F>> {
        None
    }
    /// While [`Step::Decide`]: accept the peer.
    fn accept(&mut self) -> Result<(), Self::Error> {
        Err(UsageError::NoDecisionPending.into())
    }
    /// While [`Step::Decide`]: refuse the peer.
    fn deny(&mut self) -> Result<(), Self::Error> {
        Err(UsageError::NoDecisionPending.into())
    }
    /// The current state's name, from the side's `STATES` table.
    fn state(&self) -> &'static str;
    /// After [`Step::Done`]: the outcome.
    fn finish(self) -> Result<Self::Output, Self::Error>;
}

impl<F> Handshake<F> for ClientAuth<F> {
    type Output = Established<F>;
    type Error = Error;

    fn step(&mut self, out: &mut impl BufMut) -> Step {
        ClientAuth::step(self, out)
    }
    fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error> {
        ClientAuth::receive(self, bytes, anc)
    }
    fn receive_eof(&mut self) -> Result<(), Error> {
        ClientAuth::receive_eof(self)
    }
    fn state(&self) -> &'static str {
        ClientAuth::state(self)
    }
    fn finish(self) -> Result<Established<F>, Error> {
        ClientAuth::finish(self)
    }
}

impl<F> Handshake<F> for ServerAuth<F> {
    type Output = Established<F>;
    type Error = Error;

    fn step(&mut self, out: &mut impl BufMut) -> Step {
        ServerAuth::step(self, out)
    }
    fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error> {
        ServerAuth::receive(self, bytes, anc)
    }
    fn receive_eof(&mut self) -> Result<(), Error> {
        ServerAuth::receive_eof(self)
    }
    fn peer(&self) -> Option<&Credentials<F>> {
        ServerAuth::peer(self)
    }
    fn accept(&mut self) -> Result<(), Error> {
        ServerAuth::accept(self)
    }
    fn deny(&mut self) -> Result<(), Error> {
        ServerAuth::deny(self)
    }
    fn state(&self) -> &'static str {
        ServerAuth::state(self)
    }
    fn finish(self) -> Result<Established<F>, Error> {
        ServerAuth::finish(self)
    }
}
