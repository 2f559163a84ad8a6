//! What both handshake sides have in common, so that one driver loop
//! serves both.

use bytes::BufMut;

use crate::client::ClientAuth;
use crate::error::Error;
use crate::established::Established;
use crate::event::{Ancillary, Step};
use crate::server::ServerAuth;

/// A handshake state machine: [`ClientAuth`] or [`ServerAuth`].
///
/// A driver loop over this trait needs to know nothing about the side:
///
/// ```
/// use mon_ipc::{Handshake, Step};
/// fn drive<F, H: Handshake<F>>(side: &mut H, out: &mut Vec<u8>) -> &'static str {
///     match side.step(out) {
///         Step::NeedInput => "read",
///         Step::Send(_) => "write",
///         Step::Decide => "decide",
///         Step::Done => "done",
///         Step::Failed(e) => e.code(),
///     }
/// }
/// ```
pub trait Handshake<F> {
    /// What the side needs next (see [`Step`]).
    fn step(&mut self, out: &mut impl BufMut) -> Step;
    /// One read: its bytes and ancillary data.
    fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error>;
    /// EOF on the socket.
    fn receive_eof(&mut self) -> Result<(), Error>;
    /// After `Done`: the outcome.
    fn finish(self) -> Result<Established<F>, Error>;
}

impl<F> Handshake<F> for ClientAuth<F> {
    fn step(&mut self, out: &mut impl BufMut) -> Step {
        ClientAuth::step(self, out)
    }
    fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error> {
        ClientAuth::receive(self, bytes, anc)
    }
    fn receive_eof(&mut self) -> Result<(), Error> {
        ClientAuth::receive_eof(self)
    }
    fn finish(self) -> Result<Established<F>, Error> {
        ClientAuth::finish(self)
    }
}

impl<F> Handshake<F> for ServerAuth<F> {
    fn step(&mut self, out: &mut impl BufMut) -> Step {
        ServerAuth::step(self, out)
    }
    fn receive(&mut self, bytes: &[u8], anc: Ancillary<F>) -> Result<(), Error> {
        ServerAuth::receive(self, bytes, anc)
    }
    fn receive_eof(&mut self) -> Result<(), Error> {
        ServerAuth::receive_eof(self)
    }
    fn finish(self) -> Result<Established<F>, Error> {
        ServerAuth::finish(self)
    }
}
