//! The core's errors: [`Error`], [`PeerError`], [`UsageError`].

use core::fmt;

use crate::code::ErrorCode;
use crate::status::Status;

/// An error enum with stable codes and what they mean:
/// `Variant = "code" => "description",` per line. `Display` writes
/// `description (code)`: the sentence for people, the code for programs
/// and for searching the documentation.
macro_rules! codes {
    (
        $(#[$enum_meta:meta])*
        pub enum $name:ident {
            $( $(#[$meta:meta])* $variant:ident = $code:literal => $description:literal, )*
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

            /// The stable code, as used in the test vectors and in the tables
            /// of [PROTOCOL.md](crate::spec) (§5; the D-Bus codes §9).
            pub const fn code(self) -> &'static str {
                match self {
                    $( $name::$variant => $code, )*
                }
            }

            /// The variant whose code is `code`, if any.
            pub fn from_code(code: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|e| e.code() == code)
            }

            /// What happened, as a lower-case phrase for people (`Display`
            /// adds the code).
            pub const fn description(self) -> &'static str {
                match self {
                    $( $name::$variant => $description, )*
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{} ({})", self.description(), self.code())
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
        EofBeforeHello = "eof_before_hello" => "the connection closed before the hello",
        /// File descriptors came with the hello, or its control data was
        /// truncated (which only fds can cause). Status 4; the fds are closed.
        HelloFds = "hello_fds" => "the hello came with file descriptors",
        /// The connection closed after 1 to 15 bytes of the hello. Status 4.
        HelloShort = "hello_short" => "the connection closed inside the hello",
        /// On a seqpacket socket, the hello's record is not exactly 16 bytes. Status 4.
        HelloRecordSize = "hello_record_size" => "the hello's record is not 16 bytes",
        /// The hello does not start with `MON\0`. Status 4.
        HelloBadMagic = "hello_bad_magic" => "hello has a bad magic number",
        /// The client's highest version is 0. Status 2.
        HelloUnsupportedVersion = "hello_unsupported_version"
            => "hello offers no version this server speaks",
        /// A v1 hello with flag bits 1-7 or the reserved field not zero. Status 4.
        HelloReserved = "hello_reserved" => "hello has reserved bits set",
        /// The hello offers more than 253 fds per frame. Status 4.
        HelloLimit = "hello_limit" => "hello offers more than 253 fds per frame",
        /// Bytes beyond the 16 of the hello arrived before the reply was sent. Status 4.
        HelloTrailingBytes = "hello_trailing_bytes" => "bytes followed the hello before the reply",
        /// The peer's credentials are missing, invisible, or incomplete.
        /// Status 3 when the server sees it about the client.
        NoCredentials = "no_credentials" => "the peer's credentials are missing or incomplete",
        /// Socket and message credentials differ in uid or gid (the socket was
        /// handed to another identity). Status 5 when the server sees it.
        CredentialsMismatch = "credentials_mismatch"
            => "the socket's and the message's credentials differ",
        /// The server's caller denied the authenticated client. Status 1.
        Denied = "denied" => "the server's caller denied the client",

        // --- The client judging the server's reply. ---
        /// The connection closed before the 16 bytes of the reply.
        ReplyShort = "reply_short" => "the connection closed before the whole reply",
        /// On a seqpacket socket, the reply's record is not exactly 16 bytes.
        ReplyRecordSize = "reply_record_size" => "the reply's record is not 16 bytes",
        /// The reply does not start with `MON\0`.
        ReplyBadMagic = "reply_bad_magic" => "reply has a bad magic number",
        /// The reply's reserved field is not zero.
        ReplyReserved = "reply_reserved" => "reply has its reserved field set",
        /// The reply's status byte is not one of 0 to 5.
        ReplyBadStatus = "reply_bad_status" => "reply has an unknown status",
        /// The reply accepts a version the client does not speak.
        ReplyBadVersion = "reply_bad_version"
            => "reply accepts a version the client does not speak",
        /// The reply offers more than 253 fds per frame.
        ReplyLimit = "reply_limit" => "reply offers more than 253 fds per frame",
        /// The server answered status 1: it denied us.
        RefusedDenied = "refused_denied" => "the server denied us",
        /// The server answered status 2: it speaks none of our versions.
        RefusedVersion = "refused_version" => "the server speaks none of our versions",
        /// The server answered status 3: it saw no credentials of ours.
        RefusedNoCredentials = "refused_no_credentials" => "the server saw no credentials of ours",
        /// The server answered status 4: it found our hello malformed.
        RefusedMalformed = "refused_malformed" => "the server found our hello malformed",
        /// The server answered status 5: our credentials disagreed.
        RefusedCredentialsMismatch = "refused_credentials_mismatch"
            => "the server found our credentials inconsistent",

        // --- Either side: ancillary data. ---
        /// The kernel set `MSG_CTRUNC`: control data (fds) was lost.
        ControlTruncated = "control_truncated"
            => "control data was truncated: file descriptors were lost",

        // --- The message channel: frame decoder. ---
        /// A header announces a payload above the negotiated maximum.
        FrameTooLarge = "frame_too_large" => "a frame's payload is above the negotiated maximum",
        /// A header announces more fds than the negotiated maximum.
        FrameTooManyFds = "frame_too_many_fds" => "a frame announces more fds than negotiated",
        /// A header's kind is neither 0 (data) nor 1 (shared memory).
        FrameBadKind = "frame_bad_kind" => "a frame has an unknown kind",
        /// A header's reserved field is not zero.
        FrameReserved = "frame_reserved" => "a frame header has its reserved field set",
        /// Fds arrived in a read in which no frame header begins.
        FdsWithoutFrame = "fds_without_frame"
            => "file descriptors arrived in a read where no frame begins",
        /// A header announcing fds is not the last header to begin in its read.
        FdsMisplaced = "fds_misplaced"
            => "a frame announcing fds is not the last to begin in its read",
        /// A read brought fds for its last frame, but not as many as announced.
        FdCountMismatch = "fd_count_mismatch" => "a frame brought fewer fds than it announced",
        /// A frame announcing fds began in a read that brought none.
        FdsMissing = "fds_missing" => "a frame announcing fds began in a read without fds",
        /// On a seqpacket socket, a record was longer than the buffer (`MSG_TRUNC`).
        RecordTruncated = "record_truncated" => "a record was longer than the receive buffer",
        /// On a seqpacket socket, a record is not exactly `8 + len` bytes.
        RecordSize = "record_size" => "a record's size does not match its frame header",
        /// The connection closed inside a frame.
        EofInFrame = "eof_in_frame" => "the connection closed inside a frame",
        /// A shared-memory frame does not announce exactly one fd.
        ShmFdCount = "shm_fd_count" => "a shared-memory frame does not carry exactly one fd",
        /// A shared-memory frame's payload is shorter than its 12-byte header.
        ShmShort = "shm_short" => "a shared-memory frame is shorter than its header",
        /// A shared-memory frame announces seals without shrink, grow and seal.
        ShmSeals = "shm_seals" => "a shared-memory frame announces too few seals",
        /// A shared-memory frame announces a size above the receiver's cap.
        ShmTooLarge = "shm_too_large"
            => "a shared-memory region is larger than the receiver accepts",
    }
}

codes! {
    /// The caller used the API against its documented contract. Also sticky:
    /// a state machine driven wrongly cannot be trusted to be in step with
    /// the peer.
    pub enum UsageError {
        /// Input or EOF was given while the state machine was not waiting for it.
        UnexpectedInput = "unexpected_input"
            => "input was given while the state machine was not reading",
        /// `accept` or `deny` was called with no decision pending.
        NoDecisionPending = "no_decision_pending"
            => "accept or deny was called with no decision pending",
        /// `finish` was called before the handshake was done.
        NotFinished = "not_finished" => "finish was called before the handshake was done",
        /// A configured limit is out of range (more than 253 fds per frame).
        LimitOutOfRange = "limit_out_of_range" => "a configured limit is out of range",
        /// A frame to send has more fds than the peer accepts (or than 253).
        SendTooManyFds = "send_too_many_fds"
            => "a frame to send has more fds than the peer accepts",
        /// A frame to send has a payload larger than the peer accepts.
        SendTooLarge = "send_too_large" => "a frame to send is larger than the peer accepts",
        /// A shared-memory frame to send does not have exactly one fd.
        SendShmFdCount = "send_shm_fd_count"
            => "a shared-memory frame to send does not have exactly one fd",
        /// The decoder's receive buffer was shortened or changed behind its back.
        BufferTampered = "buffer_tampered" => "the decoder's buffer was changed behind its back",
        /// A read was started while complete frames were still buffered:
        /// drain `next_frame` first.
        FramesPending = "frames_pending"
            => "a read was started with complete frames still buffered",
        /// `advance` was told more bytes were sent than were offered.
        AdvancePastEnd = "advance_past_end" => "advance was told of more bytes than were offered",
    }
}

impl PeerError {
    /// Whether the server refused us: it answered a hello with a status
    /// other than 0 (the `refused_` codes). The peer followed the protocol;
    /// asking again with the same credentials and versions gets the same
    /// answer.
    pub const fn is_refusal(self) -> bool {
        use PeerError::*;
        matches!(
            self,
            RefusedDenied
                | RefusedVersion
                | RefusedNoCredentials
                | RefusedMalformed
                | RefusedCredentialsMismatch
        )
    }

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
