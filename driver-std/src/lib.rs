//! # mon-ipc-std: the `mon-ipc` core on real UNIX sockets
//!
//! Authenticates local processes with credentials the kernel attests, then
//! passes frames with file descriptors, over `AF_UNIX` `SOCK_STREAM` or
//! `SOCK_SEQPACKET` sockets, blocking or not. The protocol itself lives in
//! the sans-io [`mon_ipc`] crate; this crate makes the system calls, with
//! all of the kernel's details (ancillary data, `SO_PASSCRED`, pidfds,
//! `EAGAIN`) in one place.
//!
//! - Sockets: [`Listener`] (its [`Accepted`] connections),
//!   [`socketpair()`], [`connect`] give sockets prepared for the handshake
//!   (`SO_PASSCRED` on where it must be); on Linux also in the abstract
//!   namespace ([`Listener::bind_abstract`], [`connect_abstract`]);
//!   [`connect_timeout`] bounds the wait for a full backlog, [`try_connect`]
//!   does not wait.
//! - Blocking: [`client`], [`server`], [`server_with`], with a timeout.
//! - Step-wise, for non-blocking sockets and event loops:
//!   [`ClientHandshake`], [`ServerHandshake`] and [`Progress`]; both are
//!   [`Authenticating`], the one driver of every handshake profile, and
//!   [`Side`] names the sides so one generic function can run any of them.
//! - The D-Bus authentication profile on the same driver: [`dbus`].
//! - With the `tokio` feature, `mon_ipc_std::tokio`: the handshakes of
//!   both profiles, a listener and an `AsyncChannel` as futures (example:
//!   `driver-std/examples/tokio_echo.rs`).
//! - After the handshake: a [`Connection`] with the peer's [`Credentials`]
//!   (a [`ServerConnection`] always has them, a [`ClientConnection`] with
//!   mutual authentication) and a [`Channel`] of frames with up to the negotiated number of fds.
//! - Shared memory: a sealed memfd region ([`SharedMemory`]) handed over
//!   with [`Channel::send_shm`] and checked before it is mapped by
//!   [`Channel::recv_shm`].
//! - The manual's [`send_fd`] / [`recv_fd`].
//! - [`raw`]: single system calls with explicit ancillary data, and the
//!   socket options and `poll` a driver of its own needs: the supported
//!   building blocks for running the [`mon_ipc`] core on another event
//!   loop ([`mon_ipc::embedding`] is the guide).
//!
//! # Blocking, non-blocking, timeouts
//!
//! Which calls wait, whatever the socket's `O_NONBLOCK`:
//!
//! - **Always wait** (with `poll`, never returning `EAGAIN`), bounded by a
//!   deadline where one is given: the stateless manual calls
//!   ([`send_fd`], [`recv_fd`], [`recv_fd_with`], [`send_shm`],
//!   [`recv_shm`], and their `_timeout` forms); [`Channel`]'s blocking
//!   calls ([`Channel::recv`], [`Channel::recv_shm`], [`Channel::send`],
//!   [`Channel::send_borrowed`], [`Channel::send_shm`],
//!   [`Channel::flush_all`]), bounded by the channel's read / write
//!   timeout; the blocking handshakes ([`client`], [`server`],
//!   [`server_with`]), bounded by their options' timeout; [`connect`]
//!   (while the listener's backlog is full; [`connect_timeout`] bounds it)
//!   and [`Listener::accept`] on a blocking listener.
//! - **Return at once** with `WouldBlock` (or the step-wise equivalent)
//!   on a non-blocking socket: [`Channel::try_recv`] ([`Recv::WouldBlock`]),
//!   [`Channel::flush`] ([`Flush::WouldBlock`]),
//!   [`Channel::try_send_borrowed`] ([`TrySend::WouldBlock`]), the step-wise handshakes
//!   ([`Progress::WantRead`] / [`Progress::WantWrite`]),
//!   [`Listener::try_accept`], [`try_connect`], and the single system
//!   calls of [`raw`] (which follow the socket's mode).
//!
//! An event loop that must never be held by a peer uses only the second
//! group, and keeps a deadline per connection itself.
//!
//! # Timeouts
//!
//! A deadline that passes is [`Error::Timeout`]. What it leaves behind:
//!
//! - **Stateless calls** ([`send_fd_timeout`], [`recv_fd_timeout`],
//!   [`send_shm_timeout`], [`recv_shm_timeout`]; one deadline for the
//!   whole frame): nothing is appended to the caller's buffer, every fd
//!   that arrived is closed, no fd leaks. If no byte of the frame had been
//!   sent or received (always so on `SOCK_SEQPACKET`, where a record goes
//!   and comes whole) the socket is untouched and still usable. If part of
//!   the frame had moved (a stream only), the socket's framing is lost —
//!   these calls keep no state to finish the frame — and the socket must
//!   be closed.
//! - **[`Channel`]** (its read and write timeouts): not a channel error;
//!   nothing is lost: partial input stays in the decoder, queued frames
//!   stay queued, a send timed out mid-frame keeps its unsent bytes for
//!   the next flush ([`Channel`]'s "Blocking and timeouts").
//! - **[`connect_timeout`]**: no connection; the socket is closed.
//! - **Handshakes**: the connection is closed without a reply.
//!
//! The API takes and returns `OwnedFd`, `BorrowedFd` and `AsFd`, never
//! raw descriptors. Every system call and every `unsafe` block is in one
//! private module, `sys`.
//!
//! # Platforms
//!
//! Runtime-tested: Linux. Compile-checked: FreeBSD, macOS, NetBSD and
//! OpenBSD (`cargo check` only there, with nightly's `-Zbuild-std`).
//! [`platforms`] names each system call with its man page, and what stays
//! unverified without running there.
//!
//! | | peer pid | message credentials | `SOCK_SEQPACKET` | pidfd | shared memory |
//! |---|---|---|---|---|---|
//! | Linux | `SO_PEERCRED` (`unix(7)`) | `SCM_CREDENTIALS` (`unix(7)`) | yes | 6.5+ | sealed memfd (`memfd_create(2)`) |
//! | FreeBSD 13+ | `LOCAL_PEERCRED` (`unix(4)`) | `SCM_CREDS` (`unix(4)`) | yes | no | sealed memfd (`memfd_create(3)`) |
//! | macOS | `LOCAL_PEERPID` (`<sys/un.h>`), ids by `getpeereid(3)` | none | no: `EPROTONOSUPPORT` | no | no: `ENOSYS` |
//! | NetBSD | `LOCAL_PEEREID` (`unix(4)`) | none | yes | no | no: `ENOSYS` |
//! | OpenBSD | `SO_PEERCRED` (`getsockopt(2)`) | none | yes | no | no: `ENOSYS` |
//!
//! Without message credentials the socket credentials alone authenticate
//! the peer ([`CredentialSource::Socket`](mon_ipc::CredentialSource)); a
//! pid the system cannot tell is `None` (the C API's
//! `MON_IPC_PID_UNKNOWN`). On macOS, received fds become close-on-exec
//! only right after `recvmsg` (no `MSG_CMSG_CLOEXEC`): a `fork` + `exec` in
//! another thread in between inherits them.
//!
//! ```
//! use mon_ipc_std::{ClientOptions, ServerOptions, SocketKind};
//! let pair = mon_ipc_std::socketpair(SocketKind::Stream)?;
//! let client = std::thread::spawn(move || {
//!     let mut conn = mon_ipc_std::client(pair.client, &ClientOptions::default())?;
//!     conn.channel.send(b"hello", [])
//! });
//! let mut conn = mon_ipc_std::server(pair.server, &ServerOptions::default())?;
//! assert_eq!(conn.peer.pid(), Some(std::process::id().try_into().unwrap()));
//! let msg = conn.channel.recv()?.unwrap();
//! assert_eq!(&msg.payload[..], b"hello");
//! # drop(msg);
//! client.join().unwrap()?;
//! # Ok::<(), mon_ipc_std::Error>(())
//! ```
#![deny(unsafe_code)]

mod blocking;
mod channel;
mod connection;
pub mod dbus;
mod error;
mod handshake;
mod handshake_io;
mod manual;
mod native;
mod options;
mod peer;
mod platform;
pub mod platforms;
pub mod raw;
mod seqpacket;
mod shm;
mod socket;
#[allow(unsafe_code)]
mod sys;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;

pub use blocking::{client, server, server_with};
pub use channel::{Channel, Flush, Message, OwnedMessage, Recv, ShmMessage, TrySend};
pub use connection::{ClientConnection, Connection, ServerConnection};
pub use error::{Error, Result};
pub use handshake::{Authenticating, ClientHandshake, Progress, ServerHandshake, Side};
pub use manual::{
    recv_fd, recv_fd_timeout, recv_fd_with, recv_shm, recv_shm_timeout, send_fd, send_fd_timeout,
    send_shm, send_shm_timeout,
};
pub use options::{ClientOptions, DEFAULT_TIMEOUT, ServerOptions};
pub use peer::{peer_credentials, peer_pidfd, pidfd_pid};
pub use shm::SharedMemory;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub use socket::connect_abstract;
pub use socket::{
    Accepted, Incoming, Listener, SocketPair, connect, connect_timeout, set_nonblocking,
    socketpair, try_connect,
};

pub use mon_ipc::{Credentials, Kind, Limits, PeerError, ShmHeader, SocketKind, Ucred, UsageError};

/// The core, re-exported: its [`Error`](mon_ipc::Error) is inside
/// [`Error::Protocol`], and matching on it needs no dependency of one's own.
pub use mon_ipc;

/// The README's example (a client and a server on a path), compiled and
/// run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
