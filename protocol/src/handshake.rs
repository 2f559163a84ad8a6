//! What every handshake profile has in common, so that one driver loop
//! serves the native handshake and D-Bus, client and server.

use bytes::BufMut;

use crate::code::ErrorCode;
use crate::creds::Credentials;
use crate::error::UsageError;
use crate::event::{Ancillary, Step};

/// A handshake state machine of one profile and one side.
///
/// | type | profile, side | `Output` | `Error` |
/// |---|---|---|---|
/// | [`ClientAuth`](crate::ClientAuth) | native, client | [`Established`](crate::Established) | [`Error`](crate::Error) |
/// | [`ServerAuth`](crate::ServerAuth) | native, server | [`Established`](crate::Established) | [`Error`](crate::Error) |
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
    /// While [`Step::Decide`]: accept the peer. At any other time (and
    /// always on a side that never decides) a misuse that fails the side
    /// with `no_decision_pending`, sticky like every error.
    fn accept(&mut self) -> Result<(), Self::Error>;
    /// While [`Step::Decide`]: refuse the peer. At any other time, as
    /// [`accept`](Handshake::accept): `no_decision_pending`.
    fn deny(&mut self) -> Result<(), Self::Error>;
    /// The current state's name, from the side's `STATES` table.
    fn state(&self) -> &'static str;
    /// After [`Step::Done`]: the outcome.
    fn finish(self) -> Result<Self::Output, Self::Error>;
}
