//! The one thing every error of the crate has: a stable code.

use core::fmt;

/// An error with a stable lower-case code, as used in `vectors/`.
///
/// A driver generic over [`Handshake`](crate::Handshake) reports a failure by its code
/// without knowing the profile: `hello_bad_magic` for the native
/// handshake, `dbus_bad_guid` for D-Bus, `not_finished` for a misuse.
pub trait ErrorCode: Copy + fmt::Debug + fmt::Display {
    /// The stable code.
    fn code(self) -> &'static str;
}
