//! The driver on tokio (feature `tokio`): the handshakes of both profiles,
//! a listener and a connect that never block the runtime, and a channel
//! whose calls are futures.
//!
//! Everything here is the same driver as the rest of the crate
//! ([`Authenticating`](crate::Authenticating), [`Channel`](crate::Channel))
//! on a non-blocking socket, waiting for readiness on tokio's reactor
//! instead of in `poll`: no protocol logic of its own, and the same
//! errors.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> mon_ipc_std::Result<()> {
//! use mon_ipc_std::{ClientOptions, ServerOptions, SocketKind, tokio as mt};
//! let pair = mon_ipc_std::socketpair(SocketKind::Stream)?;
//! let (server, client) = tokio::join!(
//!     mt::server(pair.server, &ServerOptions::default()),
//!     mt::client(pair.client, &ClientOptions::default()),
//! );
//! let (mut server, mut client) = (mt::AsyncChannel::new(server?)?, mt::AsyncChannel::new(client?)?);
//! client.send(b"hello", Vec::new()).await?;
//! let msg = server.recv().await?.expect("a frame");
//! assert_eq!(&msg.payload[..], b"hello");
//! # Ok(()) }
//! ```
//!
//! Cancellation: every future here can be dropped at any await point
//! without losing or duplicating a byte or an fd; what each one leaves
//! behind is said on the method and in [`AsyncChannel`]'s table (a send
//! leaves its frame queued once begun, the others leave nothing).
//!
//! Timeouts use tokio's timer: a runtime built without `enable_time`
//! panics on a call with a timeout (tokio's rule), so pass `None` there.

mod channel;
mod handshake;
mod listener;

/// The owned frame, here too where the async channel first gave it.
pub use crate::channel::OwnedMessage;
pub use channel::{AsyncChannel, OwnedRecvHalf, OwnedSendHalf, RecvHalf, SendHalf};
pub use handshake::{
    AsyncHandshake, Paused, authenticate, client, dbus_client, dbus_server, server,
};
pub use listener::{CONNECT_SLICE, Listener, connect};

/// A readiness wait's error as the driver's.
fn ready<T>(r: std::io::Result<T>) -> crate::Result<T> {
    r.map_err(|e| crate::sys::from_io("epoll_wait", &e))
}
