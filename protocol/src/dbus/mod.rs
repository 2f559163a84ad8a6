//! The D-Bus authentication protocol (the D-Bus specification, section
//! "Authentication Protocol"), as a second profile of the same sans-io core.
//!
//! - [`ClientAuth`]: sends the NUL byte with [`Attach::OwnCredentials`],
//!   `AUTH EXTERNAL <hex(uid)>` (or `AUTH ANONYMOUS`), answers an empty
//!   `DATA` challenge, optionally `NEGOTIATE_UNIX_FD`, then `BEGIN`.
//! - [`ServerAuth`]: takes the client's uid from the kernel credentials of
//!   the read that brought the NUL byte (or the socket's), checks it
//!   against the uid the client claims, answers `OK <guid>`,
//!   `REJECTED <mechanisms>`, `DATA`, `ERROR`, `AGREE_UNIX_FD`, and hands
//!   every byte after `BEGIN\r\n` to the caller as leftover.
//!
//! Both follow the native handshake's event model ([`Step`], `receive`,
//! `receive_eof`, `finish`) and implement [`Handshake`](crate::Handshake)
//! with their own outcome ([`Authenticated`]) and their own error
//! ([`Error`]): stable codes prefixed `dbus_` ([`DbusError`]) plus the
//! caller's misuse (the core's [`UsageError`] codes).
//!
//! Their state diagrams are on [`ClientAuth`] and [`ServerAuth`]; the
//! `dbus_` codes, with the native code each corresponds to, are in
//! [PROTOCOL.md §9](crate::spec#9-d-bus-profile-error-codes).
//!
//! The mechanisms are `EXTERNAL` and `ANONYMOUS` (the latter on the server only
//! when [`ServerConfig::anonymous`]); `DBUS_COOKIE_SHA1` is not implemented.
//! After `REJECTED` the client does not try another mechanism: it fails with
//! `dbus_rejected` and reports the server's list ([`ClientAuth::mechanisms`]).
//! The server never pauses for a decision (no
//! [`Step::Decide`](crate::Step::Decide)): `EXTERNAL`'s uid check is its
//! decision.
//!
//! [`Step`]: crate::Step
//! [`Attach::OwnCredentials`]: crate::Attach::OwnCredentials

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::creds::Credentials;
use crate::error::UsageError;
use crate::event::Leftover;

mod client;
mod server;

pub use client::{ClientAuth, ClientConfig, ClientMechanism};
pub use server::{ServerAuth, ServerConfig};

/// The longest line either side accepts, without its `\r\n`: 16 KiB, as
/// dbus-daemon's default.
pub const DEFAULT_MAX_LINE: usize = 16 * 1024;

/// How many `REJECTED` and `ERROR` answers a server gives before it closes
/// the connection (libdbus: 6).
pub const DEFAULT_MAX_FAILURES: u32 = 6;

crate::error::codes! {
    /// What the D-Bus peer did wrong, or how it refused us. Stable codes,
    /// prefixed `dbus_`, the D-Bus profile's own (the native handshake's
    /// are [`PeerError`](crate::PeerError)).
    pub enum DbusError {
        // --- Either side. ---
        /// The connection closed before the authentication ended.
        Eof = "dbus_eof" => "the connection closed during the D-Bus authentication",
        /// A line longer than the configured maximum (16 KiB by default).
        LineTooLong = "dbus_line_too_long" => "a D-Bus authentication line is too long",
        /// A byte that is not printable ASCII outside a `\r\n` line end.
        BadLine = "dbus_bad_line"
            => "a D-Bus authentication line has a byte that is not printable ASCII",
        /// File descriptors arrived during the authentication (closed).
        Fds = "dbus_fds" => "file descriptors arrived during the D-Bus authentication",
        /// The kernel set `MSG_CTRUNC` on a read of the authentication.
        ControlTruncated = "dbus_control_truncated"
            => "control data was truncated during the D-Bus authentication",

        // --- The server judging the client. ---
        /// The first byte is not NUL.
        NulByte = "dbus_nul_byte" => "the D-Bus client's first byte is not NUL",
        /// EXTERNAL, but the kernel gave no usable credentials: rejected.
        NoCredentials = "dbus_no_credentials" => "D-Bus EXTERNAL without usable kernel credentials",
        /// EXTERNAL, but socket and message credentials differ: rejected.
        CredentialsMismatch = "dbus_credentials_mismatch"
            => "D-Bus EXTERNAL with socket and message credentials that differ",
        /// EXTERNAL, and the claimed uid is not the kernel's: rejected.
        UidMismatch = "dbus_uid_mismatch" => "D-Bus EXTERNAL claims a uid that is not the kernel's",
        /// EXTERNAL's response is not hex-encoded decimal digits: rejected.
        BadResponse = "dbus_bad_response"
            => "the D-Bus EXTERNAL response is not hex-encoded digits",
        /// `AUTH` named no mechanism or one the server does not offer: rejected.
        MechanismRejected = "dbus_mechanism_rejected"
            => "D-Bus AUTH names no mechanism or one not offered",
        /// More failures (`REJECTED` or `ERROR` answers) than allowed.
        TooManyFailures = "dbus_too_many_failures"
            => "too many failed D-Bus authentication attempts",
        /// `BEGIN` before the server said `OK`.
        BeginUnauthenticated = "dbus_begin_unauthenticated" => "D-Bus BEGIN before OK",

        // --- The client judging the server. ---
        /// The server answered `REJECTED` (see [`ClientAuth::mechanisms`]).
        Rejected = "dbus_rejected" => "the D-Bus server rejected us",
        /// The server's `OK` does not carry a 32-digit hex guid.
        BadGuid = "dbus_bad_guid" => "the D-Bus server's OK has no valid guid",
        /// A line the client cannot expect in its state.
        UnexpectedReply = "dbus_unexpected_reply" => "an unexpected D-Bus authentication reply",
        /// The server refused `NEGOTIATE_UNIX_FD` and the client requires fds.
        UnixFdRefused = "dbus_unix_fd_refused" => "the D-Bus server refused fd passing",
    }
}

/// A failure of a D-Bus state machine: the peer's or the caller's. The
/// D-Bus counterpart of the native handshake's [`crate::Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The peer misbehaved, failed authentication or refused.
    Peer(DbusError),
    /// The caller misused the API (the core's [`UsageError`] codes).
    Usage(UsageError),
}

impl DbusError {
    /// Whether the server refused us (`dbus_rejected`, or
    /// `dbus_unix_fd_refused` when we require fds): it followed the
    /// protocol, and asking again the same way gets the same answer.
    pub const fn is_refusal(self) -> bool {
        matches!(self, DbusError::Rejected | DbusError::UnixFdRefused)
    }
}

impl Error {
    /// The stable code: `dbus_...` or a usage code.
    pub const fn code(self) -> &'static str {
        match self {
            Error::Peer(e) => e.code(),
            Error::Usage(e) => e.code(),
        }
    }
}

impl crate::code::ErrorCode for Error {
    fn code(self) -> &'static str {
        Error::code(self)
    }
}

impl From<DbusError> for Error {
    fn from(e: DbusError) -> Self {
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
impl std::error::Error for DbusError {}
#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// The SASL mechanism that succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `EXTERNAL`: the kernel's credentials.
    External,
    /// `ANONYMOUS`: no one in particular.
    Anonymous,
}

impl Mechanism {
    /// The name on the wire.
    pub const fn name(self) -> &'static str {
        match self {
            Mechanism::External => "EXTERNAL",
            Mechanism::Anonymous => "ANONYMOUS",
        }
    }
}

/// The outcome of a successful D-Bus authentication, from `finish`.
#[derive(Debug)]
pub struct Authenticated<F> {
    /// The mechanism that succeeded.
    pub mechanism: Mechanism,
    /// The server's guid: 32 lower-case hex digits.
    pub guid: String,
    /// Both sides agreed on passing fds (`AGREE_UNIX_FD`).
    pub unix_fd: bool,
    /// Server side, `EXTERNAL`: the client's credentials (the uid it
    /// claimed and the kernel attested). `None` on the client and for
    /// `ANONYMOUS`.
    pub peer: Option<Credentials<F>>,
    /// Server: every byte after `BEGIN\r\n` (the first D-Bus messages).
    /// Client: any byte after the last line it expected (normally none).
    /// `eof` if the connection closed behind them. Never any fds.
    pub leftover: Leftover<F>,
}

/// Lower-case hex of `bytes`, appended to `out`.
pub(crate) fn hex_encode(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

/// Decodes hex (either case); `None` if odd or not hex.
pub(crate) fn hex_decode(hex: &[u8]) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    hex.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// EXTERNAL's response: the uid as decimal ASCII digits, hex-encoded.
pub(crate) fn external_response(uid: u32) -> Vec<u8> {
    let mut out = Vec::new();
    hex_encode(alloc::format!("{uid}").as_bytes(), &mut out);
    out
}

/// The uid in an EXTERNAL response, if it is hex-encoded decimal digits.
pub(crate) fn parse_external(hex: &[u8]) -> Option<u32> {
    let digits = hex_decode(hex)?;
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let uid = digits
        .iter()
        .try_fold(0u64, |n, d| Some(n * 10 + u64::from(d - b'0')))?;
    u32::try_from(uid).ok()
}

/// What the line reader found at the front of its buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A complete line of `len` bytes (without `\r\n`).
    Complete(usize),
    /// Not yet complete; bytes before this index need no second look.
    Partial(usize),
}

/// Looks for the first line in `buf`: printable ASCII up to `\r\n`.
/// `from` is what the last call's `Partial` said (0 for a new line), so
/// that a line delivered one byte per read is scanned once, not
/// quadratically.
pub(crate) fn find_line(buf: &[u8], from: usize, max: usize) -> Result<Line, DbusError> {
    for (i, &b) in buf.iter().enumerate().skip(from) {
        match b {
            b'\r' => {
                return match buf.get(i + 1) {
                    Some(b'\n') if i <= max => Ok(Line::Complete(i)),
                    Some(b'\n') => Err(DbusError::LineTooLong),
                    Some(_) => Err(DbusError::BadLine),
                    None if i > max => Err(DbusError::LineTooLong),
                    None => Ok(Line::Partial(i)),
                };
            }
            0x20..=0x7e if i < max => {}
            0x20..=0x7e => return Err(DbusError::LineTooLong),
            _ => return Err(DbusError::BadLine),
        }
    }
    Ok(Line::Partial(buf.len()))
}

/// Takes the first complete line off the front of `buf` (without its
/// `\r\n`); `None` while it is incomplete. `scanned` carries
/// [`find_line`]'s resume point between calls (0 for a new line).
pub(crate) fn take_line(
    buf: &mut Vec<u8>,
    scanned: &mut usize,
    max: usize,
) -> Result<Option<Vec<u8>>, DbusError> {
    match find_line(buf, *scanned, max)? {
        Line::Complete(n) => {
            *scanned = 0;
            Ok(Some(buf.drain(..n + 2).take(n).collect()))
        }
        Line::Partial(at) => {
            *scanned = at;
            Ok(None)
        }
    }
}

/// Splits a line into its command and its argument (after one space).
pub(crate) fn split(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(external_response(1000), b"31303030");
        assert_eq!(parse_external(b"31303030"), Some(1000));
        assert_eq!(parse_external(b"30"), Some(0));
        assert_eq!(parse_external(b"3"), None);
        assert_eq!(parse_external(b"zz"), None);
        assert_eq!(parse_external(b"41"), None); // "A"
        assert_eq!(parse_external(b""), None);
        assert_eq!(parse_external(b"3432393439363732393536"), None); // 4294967296
    }

    #[test]
    fn lines() {
        assert_eq!(find_line(b"OK\r\n", 0, 10), Ok(Line::Complete(2)));
        assert_eq!(find_line(b"OK\r", 0, 10), Ok(Line::Partial(2)));
        assert_eq!(find_line(b"OK", 0, 10), Ok(Line::Partial(2)));
        assert_eq!(find_line(b"O\x01", 2, 10), Ok(Line::Partial(2)));
        assert_eq!(find_line(b"O\rK", 0, 10), Err(DbusError::BadLine));
        assert_eq!(find_line(b"O\nK", 0, 10), Err(DbusError::BadLine));
        assert_eq!(find_line(b"\xff", 0, 10), Err(DbusError::BadLine));
        assert_eq!(find_line(b"0123456789\r\n", 0, 10), Ok(Line::Complete(10)));
        assert_eq!(
            find_line(b"0123456789A", 0, 10),
            Err(DbusError::LineTooLong)
        );
        assert_eq!(
            find_line(b"0123456789A\r\n", 0, 10),
            Err(DbusError::LineTooLong)
        );
        assert_eq!(
            split(b"AUTH EXTERNAL 30"),
            (&b"AUTH"[..], &b"EXTERNAL 30"[..])
        );
        assert_eq!(split(b"BEGIN"), (&b"BEGIN"[..], &b""[..]));
    }

    #[test]
    fn codes_are_unique_and_prefixed() {
        for (i, e) in DbusError::ALL.iter().enumerate() {
            assert!(e.code().starts_with("dbus_"));
            assert_eq!(DbusError::from_code(e.code()), Some(*e));
            assert!(DbusError::ALL[..i].iter().all(|o| o.code() != e.code()));
        }
    }
}
