//! The core's errors: [`Error`], [`PeerError`], [`UsageError`].

use core::fmt;

use crate::code::ErrorCode;
use crate::status::Status;

/// An error enum with stable codes: `Variant = "code",` per line.
macro_rules! codes {
    (
        $(#[$enum_meta:meta])*
        pub enum $name:ident {
            $( $(#[$meta:meta])* $variant:ident = $code:literal, )*
        }
    ) => {
        $(#[$enum_meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$meta])* $variant, )*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];

            /// The stable code, as used in `vectors/` and `docs/PROTOCOL.md`.
            pub const fn code(self) -> &'static str {
                match self {
                    $( $name::$variant => $code, )*
                }
            }

            /// The variant whose code is `code`, if any.
            pub fn from_code(code: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|e| e.code() == code)
            }
        }
    };
}
pub(crate) use codes;

codes! {
    /// The peer broke the protocol, failed authentication, or refused us.
    /// The connection is unusable and must be closed.
    pub enum PeerError {
        // --- The server judging the client's hello. ---
        /// The connection closed before any byte of the hello: closed without a reply.
        EofBeforeHello = "eof_before_hello",
        /// File descriptors came with the hello, or its control data was
        /// truncated (which only fds can cause). Status 4; the fds are closed.
        HelloFds = "hello_fds",
        /// The connection closed after 1 to 15 bytes of the hello. Status 4.
        HelloShort = "hello_short",
        /// On a seqpacket socket, the hello's record is not exactly 16 bytes. Status 4.
        HelloRecordSize = "hello_record_size",
        /// The hello does not start with `MON\0`. Status 4.
        HelloBadMagic = "hello_bad_magic",
        /// The client's highest version is 0. Status 2.
        HelloUnsupportedVersion = "hello_unsupported_version",
        /// A v1 hello with flag bits 1-7 or the reserved field not zero. Status 4.
        HelloReserved = "hello_reserved",
        /// The hello offers more than 253 fds per frame. Status 4.
        HelloLimit = "hello_limit",
        /// Bytes beyond the 16 of the hello arrived before the reply was sent. Status 4.
        HelloTrailingBytes = "hello_trailing_bytes",
        /// The peer's credentials are missing, invisible, or incomplete.
        /// Status 3 when the server sees it about the client.
        NoCredentials = "no_credentials",
        /// Socket and message credentials differ in uid or gid (the socket was
        /// handed to another identity). Status 5 when the server sees it.
        CredentialsMismatch = "credentials_mismatch",
        /// The server's caller denied the authenticated client. Status 1.
        Denied = "denied",

        // --- The client judging the server's reply. ---
        /// The connection closed before the 16 bytes of the reply.
        ReplyShort = "reply_short",
        /// On a seqpacket socket, the reply's record is not exactly 16 bytes.
        ReplyRecordSize = "reply_record_size",
        /// The reply does not start with `MON\0`.
        ReplyBadMagic = "reply_bad_magic",
        /// The reply's reserved field is not zero.
        ReplyReserved = "reply_reserved",
        /// The reply's status byte is not one of 0 to 5.
        ReplyBadStatus = "reply_bad_status",
        /// The reply accepts a version the client does not speak.
        ReplyBadVersion = "reply_bad_version",
        /// The reply offers more than 253 fds per frame.
        ReplyLimit = "reply_limit",
        /// The server answered status 1: it denied us.
        RefusedDenied = "refused_denied",
        /// The server answered status 2: it speaks none of our versions.
        RefusedVersion = "refused_version",
        /// The server answered status 3: it saw no credentials of ours.
        RefusedNoCredentials = "refused_no_credentials",
        /// The server answered status 4: it found our hello malformed.
        RefusedMalformed = "refused_malformed",
        /// The server answered status 5: our credentials disagreed.
        RefusedCredentialsMismatch = "refused_credentials_mismatch",

        // --- Either side: ancillary data. ---
        /// The kernel set `MSG_CTRUNC`: control data (fds) was lost.
        ControlTruncated = "control_truncated",

        // --- The message channel: frame decoder. ---
        /// A header announces a payload above the negotiated maximum.
        FrameTooLarge = "frame_too_large",
        /// A header announces more fds than the negotiated maximum.
        FrameTooManyFds = "frame_too_many_fds",
        /// A header's kind is neither 0 (data) nor 1 (shared memory).
        FrameBadKind = "frame_bad_kind",
        /// A header's reserved field is not zero.
        FrameReserved = "frame_reserved",
        /// Fds arrived in a read in which no frame header begins.
        FdsWithoutFrame = "fds_without_frame",
        /// A header announcing fds is not the last header to begin in its read.
        FdsMisplaced = "fds_misplaced",
        /// A read brought fds for its last frame, but not as many as announced.
        FdCountMismatch = "fd_count_mismatch",
        /// A frame announcing fds began in a read that brought none.
        FdsMissing = "fds_missing",
        /// On a seqpacket socket, a record was longer than the buffer (`MSG_TRUNC`).
        RecordTruncated = "record_truncated",
        /// On a seqpacket socket, a record is not exactly `8 + len` bytes.
        RecordSize = "record_size",
        /// The connection closed inside a frame.
        EofInFrame = "eof_in_frame",
        /// A shared-memory frame does not announce exactly one fd.
        ShmFdCount = "shm_fd_count",
        /// A shared-memory frame's payload is shorter than its 12-byte header.
        ShmShort = "shm_short",
        /// A shared-memory frame announces seals without shrink, grow and seal.
        ShmSeals = "shm_seals",
        /// A shared-memory frame announces a size above the receiver's cap.
        ShmTooLarge = "shm_too_large",
    }
}

codes! {
    /// The caller used the API against its documented contract. Also sticky:
    /// a state machine driven wrongly cannot be trusted to be in step with
    /// the peer.
    pub enum UsageError {
        /// Input or EOF was given while the state machine was not waiting for it.
        UnexpectedInput = "unexpected_input",
        /// `accept` or `deny` was called with no decision pending.
        NoDecisionPending = "no_decision_pending",
        /// `finish` was called before the handshake was done.
        NotFinished = "not_finished",
        /// A configured limit is out of range (more than 253 fds per frame).
        LimitOutOfRange = "limit_out_of_range",
        /// A frame to send has more fds than the peer accepts (or than 253).
        SendTooManyFds = "send_too_many_fds",
        /// A frame to send has a payload larger than the peer accepts.
        SendTooLarge = "send_too_large",
        /// A shared-memory frame to send does not have exactly one fd.
        SendShmFdCount = "send_shm_fd_count",
        /// The decoder's receive buffer was shortened or changed behind its back.
        BufferTampered = "buffer_tampered",
        /// A read was started while complete frames were still buffered:
        /// drain `next_frame` first.
        FramesPending = "frames_pending",
        /// `advance` was told more bytes were sent than were offered.
        AdvancePastEnd = "advance_past_end",
    }
}

impl PeerError {
    /// The status the server replies with when it sees this error about the
    /// client's hello, or `None` if it closes without a reply (or the error
    /// is not about a hello).
    pub const fn status(self) -> Option<Status> {
        use PeerError::*;
        match self {
            HelloFds | HelloShort | HelloRecordSize | HelloBadMagic | HelloReserved
            | HelloLimit | HelloTrailingBytes => Some(Status::Malformed),
            HelloUnsupportedVersion => Some(Status::UnsupportedVersion),
            NoCredentials => Some(Status::NoCredentials),
            CredentialsMismatch => Some(Status::CredentialsMismatch),
            Denied => Some(Status::Denied),
            _ => None,
        }
    }
}

/// Any error of the native handshake and the frame codec, split as h11
/// splits them: what the peer did ([`PeerError`]) and what the caller did
/// ([`UsageError`]).
///
/// Every variant has a stable lower-case [`code`](Error::code). The codes
/// are the vocabulary of `vectors/` and of the C API's documentation: a
/// third-party implementation maps its own failures onto them. They never
/// change meaning; new ones may be added (the enums are `#[non_exhaustive]`).
///
/// The D-Bus profile has its own error, [`dbus::Error`](crate::dbus::Error),
/// with its own `dbus_` codes.
///
/// Errors are sticky: once a state machine has failed, every later call
/// returns the same error, and the connection must be closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The peer misbehaved, failed authentication or refused.
    Peer(PeerError),
    /// The caller misused the API.
    Usage(UsageError),
}

impl Error {
    /// The stable code (see [`PeerError`] and [`UsageError`]).
    pub const fn code(self) -> &'static str {
        match self {
            Error::Peer(e) => e.code(),
            Error::Usage(e) => e.code(),
        }
    }

    /// Every error the core can produce.
    pub fn all() -> impl Iterator<Item = Error> {
        PeerError::ALL
            .iter()
            .map(|e| Error::Peer(*e))
            .chain(UsageError::ALL.iter().map(|e| Error::Usage(*e)))
    }

    /// The error whose code is `code`, if any.
    pub fn from_code(code: &str) -> Option<Error> {
        Error::all().find(|e| e.code() == code)
    }
}

impl ErrorCode for Error {
    fn code(self) -> &'static str {
        Error::code(self)
    }
}

impl From<PeerError> for Error {
    fn from(e: PeerError) -> Self {
        Error::Peer(e)
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Self {
        Error::Usage(e)
    }
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer error: {}", self.code())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "API misuse: {}", self.code())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Peer(e) => e.fmt(f),
            Error::Usage(e) => e.fmt(f),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PeerError {}
#[cfg(feature = "std")]
impl std::error::Error for UsageError {}
#[cfg(feature = "std")]
impl std::error::Error for Error {}
