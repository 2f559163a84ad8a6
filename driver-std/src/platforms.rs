// What each system provides, with the man page of every system call, and
// what stays unverified there: rendered as this module's documentation so
// that docs.rs shows it with the crate. The text is
// `driver-std/PLATFORMS.md`, a link to `docs/PLATFORMS.md` that the
// published package carries. The module has no items; the same facts as
// data, tested, are in the private `platform` module.
#![doc = include_str!("../PLATFORMS.md")]
