//! # mon-ipc: the sans-io core of the Mercury Monitor IPC layer
//!
//! Two local processes authenticate each other over a UNIX domain socket
//! with credentials the kernel attests (pid, uid, gid), then exchange frames
//! that carry bytes and file descriptors. This crate is the protocol alone:
//! state machines that take bytes and ancillary data in and hand bytes and
//! ancillary data out. It never makes a syscall, reads no clock, draws no
//! random number and has no `unsafe`; `mon-ipc-std` binds it to real sockets.
//!
//! - [`ClientAuth`] and [`ServerAuth`]: the handshake. Ask `step` what is
//!   needed next ([`Step`]); feed reads to `receive`; flush what `step`
//!   appended to your buffer; `finish` gives the peer's [`Credentials`] and
//!   the [`Leftover`] input that belongs to the channel.
//! - [`Encoder`] and [`Decoder`]: the frames, with the fd attribution rule
//!   that makes fd passing over a stream socket exact.
//!
//! Everything is generic over the fd handle type `F`: `OwnedFd` in the
//! driver, so every fd the core drops is closed; a token in tests and fuzzing.
//! The normative specification, [PROTOCOL.md](spec), is part of these
//! docs; the items cite its sections, e.g.
//! [§4.4](spec#44-receiving-and-the-fd-attribution-rule) for the fd
//! attribution rule.
//!
//! To run these state machines on an event loop of your own, read the
//! [`embedding`] guide: what a driver must do that the core cannot.
//!
//! With the `pair` feature, `mon_ipc::pair` wires the two cores together
//! over a simulated socket, as tests and examples do:
//!
//! ```
//! # #[cfg(feature = "pair")] {
//! use mon_ipc::pair::Pair;
//! let mut pair = Pair::<u32>::new(Default::default(), Default::default());
//! pair.handshake().unwrap();
//! pair.client_sends(b"hello", vec![7]).unwrap();
//! let (payload, fds) = pair.server_receives().unwrap();
//! assert_eq!((&payload[..], &fds[..]), (&b"hello"[..], &[7][..]));
//! # }
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod client;
mod code;
mod creds;
pub mod dbus;
mod decoder;
pub mod embedding;
mod encoder;
mod error;
mod established;
mod event;
pub mod frame;
mod handshake;
pub mod hello;
mod limits;
#[cfg(feature = "pair")]
#[cfg_attr(docsrs, doc(cfg(feature = "pair")))]
pub mod pair;
mod policy;
mod server;
pub mod spec;
mod status;

pub use client::{ClientAuth, ClientConfig};
pub use code::ErrorCode;
pub use creds::{
    CredentialSource, Credentials, GID_UNKNOWN, Overflow, PID_UNKNOWN, UID_UNKNOWN, Ucred,
};
pub use decoder::{DEFAULT_MAX_SHM_SIZE, Decoder, Fds, Frame, ReadFlags, STREAM_READ_CHUNK};
pub use encoder::{BATCH_BYTES, Encoder, Transmit};
pub use error::{Error, PeerError, UsageError};
pub use established::Established;
pub use event::{
    Ancillary, Attach, CredentialPolicy, Leftover, MessageCredentials, SocketKind, Step,
};
pub use frame::{Kind, ShmHeader};
pub use handshake::Handshake;
pub use limits::{DEFAULT_MAX_FDS, DEFAULT_MAX_PAYLOAD, Limits, MAX_FDS_PER_FRAME};
pub use policy::SocketCredentials;
pub use server::{ServerAuth, ServerConfig};
pub use status::Status;

/// The README's example, compiled and run as a doctest (it needs `pair`).
#[cfg(all(doctest, feature = "pair"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
