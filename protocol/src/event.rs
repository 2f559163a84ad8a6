//! What goes into and comes out of the state machines besides bytes.

use alloc::vec::Vec;

use crate::creds::{Overflow, Ucred};
use crate::error::Error;

/// The socket type the connection runs on. It changes how boundaries count:
/// on `Seqpacket` one read is one record, and a record is one message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SocketKind {
    /// `SOCK_STREAM`: a byte stream; reads may split or merge messages.
    #[default]
    Stream,
    /// `SOCK_SEQPACKET`: records with boundaries; one read returns one record.
    Seqpacket,
}

/// The ancillary data the kernel delivered with one read (`recvmsg`).
///
/// Give it to the handshake together with that read's bytes. Every fd in it
/// is owned by the state machine from then on: kept, handed over, or dropped
/// (which closes it, for `OwnedFd`).
#[derive(Debug)]
pub struct Ancillary<F> {
    /// `SCM_CREDENTIALS` of this read, if any.
    pub creds: Option<Ucred>,
    /// `SCM_PIDFD` of this read, if any: a pidfd of the sender of `creds`.
    pub pidfd: Option<F>,
    /// `SCM_RIGHTS` of this read, in order.
    pub fds: Vec<F>,
    /// The kernel set `MSG_CTRUNC`: some control data did not fit.
    pub ctrunc: bool,
    /// The kernel set `MSG_TRUNC`: a seqpacket record did not fit the buffer.
    pub trunc: bool,
}

impl<F> Default for Ancillary<F> {
    fn default() -> Self {
        Ancillary {
            creds: None,
            pidfd: None,
            fds: Vec::new(),
            ctrunc: false,
            trunc: false,
        }
    }
}

impl<F> Ancillary<F> {
    /// Ancillary data with message credentials and nothing else.
    pub fn with_creds(creds: Ucred) -> Self {
        Ancillary {
            creds: Some(creds),
            ..Ancillary::default()
        }
    }
}

/// Control data the driver must attach to the bytes a [`Step::Send`] produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attach {
    /// Nothing.
    Nothing,
    /// `SCM_CREDENTIALS` with this process's pid, *effective* uid and
    /// *effective* gid, on every `sendmsg` that carries any of these bytes.
    /// (Credentials the kernel adds by itself carry the real ids, which a
    /// set-uid program would see reported as a mismatch.)
    OwnCredentials,
}

/// What a handshake state machine needs next. Call `step` to get it.
///
/// | step | the driver does | C API return |
/// |---|---|---|
/// | `NeedInput` | read; give bytes and ancillary data to `receive`, or EOF to `receive_eof` | `MON_WANT_READ` if the read would block, else `MON_CONTINUE` |
/// | `Send(a)` | send all the bytes appended to `out`, attaching `a`, before calling `step` again | `MON_WANT_WRITE` if the write would block, else `MON_CONTINUE` |
/// | `Decide` | server only: call `accept` or `deny` (the C API accepts) | `MON_CONTINUE` |
/// | `Done` | call `finish` for the peer's credentials and leftover input | `0` |
/// | `Failed(e)` | close the connection | a negative error code |
///
/// `E` is the profile's error: [`Error`] for the native handshake,
/// [`dbus::Error`](crate::dbus::Error) for D-Bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<E = Error> {
    /// Read from the socket.
    NeedInput,
    /// Bytes were appended to the caller's output buffer: send them with
    /// this ancillary data.
    Send(Attach),
    /// The client is authenticated; the caller decides whether to accept it.
    Decide,
    /// The handshake succeeded.
    Done,
    /// The handshake failed; the error is sticky.
    Failed(E),
}

/// Bytes and fds a handshake read but that belong to the message channel.
///
/// The server may send frames right behind its reply, so the client's read
/// that completes the reply can bring the first frames and their fds. They
/// are one read's tail: give them to the frame decoder as one read
/// ([`Decoder::receive_leftover`](crate::Decoder::receive_leftover)).
#[derive(Debug, PartialEq, Eq)]
pub struct Leftover<F> {
    /// Bytes after the handshake message, from the read that completed it.
    pub bytes: Vec<u8>,
    /// The fds of that read.
    pub fds: Vec<F>,
    /// EOF was seen after the handshake message.
    pub eof: bool,
}

impl<F> Default for Leftover<F> {
    fn default() -> Self {
        Leftover {
            bytes: Vec::new(),
            fds: Vec::new(),
            eof: false,
        }
    }
}

/// Whether this system delivers credentials with messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MessageCredentials {
    /// Linux (`SCM_CREDENTIALS`), FreeBSD (`SCM_CREDS`): every handshake
    /// message must carry them; a message without them is `no_credentials`.
    #[default]
    Required,
    /// macOS and others: socket credentials alone decide.
    Unavailable,
}

/// How a side judges the credentials of its peer
/// ([PROTOCOL.md §2](crate::spec#2-credentials)): the server applies it to
/// the client's hello, and with mutual authentication the client applies
/// it to the server's reply.
///
/// No credentials at all: reject. Socket and message credentials that differ
/// in uid or gid: reject (the socket was handed to another identity).
/// Otherwise accept, reporting the message's pid. A message that arrives in
/// several reads must carry credentials on every read, all agreeing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CredentialPolicy {
    /// Whether handshake messages must carry message credentials.
    pub message: MessageCredentials,
    /// The ids Linux reports for an unmappable process.
    pub overflow: Overflow,
}
