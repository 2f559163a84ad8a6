//! Registration with tokio's reactor, the one `unsafe` step of the async
//! driver.
//!
//! tokio 1.54 made `AsyncFd::register` `unsafe` (and deprecated the safe
//! `AsyncFd::new`): an arbitrary `AsRawFd` could close or swap its fd while
//! the reactor still watches the number, which could then name another
//! file. [`OwnsFd`] marks the types of this crate for which that cannot
//! happen, so the check is made once, here.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::handshake::{Authenticating, Side};
use crate::socket::Listener;

/// A type that owns one fd for its whole life: `as_raw_fd` always gives
/// the same open fd, closed only when the value is dropped (or taken out
/// by consuming it, which ends the registration first).
pub(crate) trait OwnsFd: AsRawFd {}

impl OwnsFd for OwnedFd {}
impl OwnsFd for Listener {}
impl<H: Side> OwnsFd for Authenticating<H, OwnedFd> {}
/// The socket shared by an async channel's registration and its channel:
/// closed when the last of them drops, and the registration drops first.
impl OwnsFd for std::sync::Arc<OwnedFd> {}

/// Registers `inner` with the current runtime's reactor, for reading and
/// writing.
pub(crate) fn register<T: OwnsFd>(inner: T) -> io::Result<AsyncFd<T>> {
    register_for(inner, Interest::READABLE | Interest::WRITABLE)
}

/// Registers `inner` with the current runtime's reactor for `interest`
/// only: the reactor then wakes for no other event.
pub(crate) fn register_for<T: OwnsFd>(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
    // SAFETY: `T: OwnsFd`: the fd `inner.as_raw_fd()` gives is open, stays
    // the same and stays open until `inner` is dropped, which the `AsyncFd`
    // does only after deregistering it (or `into_inner` hands it back after
    // deregistering). That is `register_with_interest`'s whole contract.
    Ok(unsafe { AsyncFd::register_with_interest(inner, interest) }?)
}
