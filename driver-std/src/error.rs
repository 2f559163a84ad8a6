//! The driver's one error type: the core's protocol errors plus what the
//! operating system can do to us.

use std::fmt;
use std::io;
use std::sync::OnceLock;

use mon_ipc::PeerError;
use mon_ipc::dbus::DbusError;
use nix::errno::Errno;

/// Everything that can go wrong in the driver.
///
/// `Copy`, so that a failed handshake or channel can return the same error
/// on every later call (errors are sticky, as in the core). A system call's
/// error keeps the call's name and the raw `errno`, not an `io::Error`, for
/// that reason; [`Error::io_error`] rebuilds one, and `source()` lends one.
///
/// What a caller usually needs:
///
/// - [`code`](Error::code): the stable code, for programs and logs
///   (`hello_bad_magic`, `refused_denied`, `timeout`, `io`);
/// - `Display`: a sentence with the code, e.g. `hello has a bad magic
///   number (hello_bad_magic)`, or `sendmsg failed with ECONNRESET (io)`;
///   `source()` is the `io::Error` of [`Error::Io`] (its text is the OS's
///   message, which the sentence does not repeat). [`Error::Protocol`] and
///   [`Error::Dbus`] *are* the core's error: they show its sentence and
///   have no source of their own, so that a report walking the chain does
///   not say the same thing twice;
/// - what to do next: [`is_peer_fault`](Error::is_peer_fault) (close, and
///   blame the peer), [`is_refused`](Error::is_refused) (the peer said no:
///   asking again the same way gets the same answer),
///   [`is_timeout`](Error::is_timeout) (a deadline passed);
/// - matching: the core's [`PeerError`](crate::PeerError) and
///   [`UsageError`](crate::UsageError) are re-exported, and so is the
///   `mon_ipc` crate, for its [`Error`](mon_ipc::Error):
///   `Error::Protocol(mon_ipc::Error::Peer(PeerError::RefusedDenied))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The core rejected something the peer did, or the caller misused it.
    /// [`mon_ipc::Error::code`] gives the stable code of `vectors/`.
    Protocol(mon_ipc::Error),
    /// The D-Bus peer broke the D-Bus authentication protocol, failed
    /// authentication or refused us (a `dbus_` code; the caller's misuse of
    /// a D-Bus side is [`Error::Protocol`] with a usage code).
    Dbus(mon_ipc::dbus::DbusError),
    /// A system call failed.
    Io {
        /// The system call, e.g. `"sendmsg"`.
        syscall: &'static str,
        /// Its `errno`.
        errno: i32,
    },
    /// A deadline passed before the call finished: a handshake's timeout
    /// (the connection is closed without a reply;
    /// [PROTOCOL.md §3.3](mon_ipc::spec#33-the-server): a timeout never
    /// answers), a `_timeout` call's (e.g.
    /// [`recv_fd_timeout`](crate::recv_fd_timeout)), a
    /// [`Channel`](crate::Channel)'s read or write timeout, or
    /// [`connect_timeout`](crate::connect_timeout)'s. Each call documents
    /// the state it leaves behind (summed up in the crate docs).
    Timeout,
    /// More fds than `SCM_MAX_FD` (253) in one `sendmsg`: refused before
    /// the system call, which would fail with `EINVAL` anyway.
    TooManyFds(usize),
    /// The running kernel lacks a feature that was asked for by name
    /// (e.g. `"SO_PEERPIDFD"`, Linux 6.5+).
    KernelTooOld(&'static str),
    /// The peer process is gone: it exited and was reaped, so the kernel
    /// cannot give a pidfd for it any more.
    PeerGone,
    /// The socket is not an `AF_UNIX` `SOCK_STREAM` or `SOCK_SEQPACKET` socket.
    UnsupportedSocket,
    /// The peer closed the connection at a frame boundary (`recv_fd`).
    Closed,
    /// A shared-memory frame's fd is not a memfd: `F_GET_SEALS` fails on
    /// it (a pipe, a socket, a file on disk) or it is not a regular file.
    /// Nothing was mapped; the fd was closed.
    ShmNotMemfd,
    /// A shared-memory frame's fd lacks `F_SEAL_SHRINK`, `F_SEAL_GROW` or
    /// `F_SEAL_SEAL`, or a seal the frame announced. Nothing was mapped;
    /// the fd was closed.
    ShmSealsMissing,
    /// A shared-memory frame's fd is not exactly the announced size.
    /// Nothing was mapped; the fd was closed.
    ShmSizeMismatch,
    /// A shared-memory frame's fd is not open for reading, so it cannot
    /// be mapped. Nothing was mapped; the fd was closed.
    ShmNotReadable,
    /// [`Channel::recv_shm`](crate::Channel::recv_shm) received a data
    /// frame; its fds were closed.
    ShmExpected,
    /// An access to a [`SharedMemory`](crate::SharedMemory) region beyond
    /// its end, or a word access that is not naturally aligned.
    ShmOutOfRange,
    /// A write to a region mapped read-only (sealed with `F_SEAL_WRITE` or
    /// `F_SEAL_FUTURE_WRITE`, or received on a read-only fd).
    ShmReadOnly,
}

/// The driver's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A stable lower-case code: the core's code for [`Error::Protocol`]
    /// and [`Error::Dbus`],
    /// otherwise `io`, `timeout`, `too_many_fds`, `kernel_too_old`,
    /// `peer_gone`, `unsupported_socket`, `closed`, or for shared memory
    /// `shm_not_memfd`, `shm_seals_missing`, `shm_size_mismatch`,
    /// `shm_not_readable`, `shm_expected`, `shm_out_of_range`,
    /// `shm_read_only`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Protocol(e) => e.code(),
            Error::Dbus(e) => e.code(),
            Error::Io { .. } => "io",
            Error::Timeout => "timeout",
            Error::TooManyFds(_) => "too_many_fds",
            Error::KernelTooOld(_) => "kernel_too_old",
            Error::PeerGone => "peer_gone",
            Error::UnsupportedSocket => "unsupported_socket",
            Error::Closed => "closed",
            Error::ShmNotMemfd => "shm_not_memfd",
            Error::ShmSealsMissing => "shm_seals_missing",
            Error::ShmSizeMismatch => "shm_size_mismatch",
            Error::ShmNotReadable => "shm_not_readable",
            Error::ShmExpected => "shm_expected",
            Error::ShmOutOfRange => "shm_out_of_range",
            Error::ShmReadOnly => "shm_read_only",
        }
    }

    /// Whether the peer is to blame: it broke the protocol, hung up in the
    /// middle of it, failed authentication (a [`PeerError`] or a
    /// [`DbusError`] other than a refusal), or handed over shared memory
    /// that fails the receiver's checks (`shm_not_memfd`,
    /// `shm_seals_missing`, `shm_size_mismatch`, `shm_not_readable`,
    /// `shm_expected`). The connection must be closed; this peer will not
    /// do better on a retry. Not `denied`: that is the server's own
    /// decision about a client that did nothing wrong.
    pub fn is_peer_fault(&self) -> bool {
        match self {
            Error::Protocol(mon_ipc::Error::Peer(e)) => !e.is_refusal() && *e != PeerError::Denied,
            Error::Dbus(e) => !e.is_refusal(),
            e => e.is_shm_refusal(),
        }
    }

    /// Whether the peer refused us while following the protocol: the
    /// server answered a non-zero status (`refused_denied`,
    /// `refused_version`, `refused_no_credentials`, `refused_malformed`,
    /// `refused_credentials_mismatch`), or a D-Bus server rejected us
    /// (`dbus_rejected`, `dbus_unix_fd_refused`). Asking again with the same
    /// credentials and options gets the same answer.
    pub fn is_refused(&self) -> bool {
        match self {
            Error::Protocol(mon_ipc::Error::Peer(e)) => e.is_refusal(),
            Error::Dbus(e) => e.is_refusal(),
            _ => false,
        }
    }

    /// Whether a deadline passed ([`Error::Timeout`]): what it leaves
    /// behind depends on the call (the crate docs' "Timeouts").
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout)
    }

    /// The driver's error for a failure of the D-Bus state machines: the
    /// peer's as [`Error::Dbus`], a misuse as [`Error::Protocol`].
    pub(crate) fn from_dbus(e: mon_ipc::dbus::Error) -> Error {
        match e {
            mon_ipc::dbus::Error::Peer(e) => Error::Dbus(e),
            mon_ipc::dbus::Error::Usage(e) => Error::Protocol(e.into()),
        }
    }

    /// For [`Error::Io`], the `io::Error` of its errno.
    pub fn io_error(&self) -> Option<io::Error> {
        match self {
            Error::Io { errno, .. } => Some(io::Error::from_raw_os_error(*errno)),
            _ => None,
        }
    }

    /// The code of every error that is the driver's own (not a protocol
    /// code), in a stable order: for tables such as the C API's numbers.
    pub const DRIVER_CODES: &'static [&'static str] = &[
        "io",
        "timeout",
        "too_many_fds",
        "kernel_too_old",
        "peer_gone",
        "unsupported_socket",
        "closed",
        "shm_not_memfd",
        "shm_seals_missing",
        "shm_size_mismatch",
        "shm_not_readable",
        "shm_expected",
        "shm_out_of_range",
        "shm_read_only",
    ];

    /// Whether the peer sent a shared-memory frame whose fd fails the
    /// receiver's checks, or a data frame where shared memory was expected
    /// (a channel error: the connection must close).
    pub(crate) fn is_shm_refusal(&self) -> bool {
        matches!(
            self,
            Error::ShmNotMemfd
                | Error::ShmSealsMissing
                | Error::ShmSizeMismatch
                | Error::ShmNotReadable
                | Error::ShmExpected
        )
    }

    /// Whether this is `EAGAIN` / `EWOULDBLOCK`.
    pub(crate) fn is_would_block(&self) -> bool {
        matches!(self, Error::Io { errno, .. } if *errno == nix::libc::EAGAIN)
    }

    /// Whether the peer reset the connection: Linux reports `ECONNRESET`
    /// instead of EOF when the peer closed with our bytes still unread in
    /// its queue. For the protocol that is an EOF.
    pub(crate) fn is_reset(&self) -> bool {
        matches!(self, Error::Io { errno, .. } if *errno == nix::libc::ECONNRESET)
    }
}

/// From the core's error (`?` on a `mon-ipc` call): [`Error::Protocol`].
impl From<mon_ipc::Error> for Error {
    fn from(e: mon_ipc::Error) -> Self {
        Error::Protocol(e)
    }
}

/// From the peer's half of the core's error: [`Error::Protocol`].
impl From<PeerError> for Error {
    fn from(e: PeerError) -> Self {
        Error::Protocol(e.into())
    }
}

/// From the caller's half of the core's error: [`Error::Protocol`].
impl From<mon_ipc::UsageError> for Error {
    fn from(e: mon_ipc::UsageError) -> Self {
        Error::Protocol(e.into())
    }
}

/// From a D-Bus peer's failure: [`Error::Dbus`].
impl From<DbusError> for Error {
    fn from(e: DbusError) -> Self {
        Error::Dbus(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => e.fmt(f),
            Error::Dbus(e) => e.fmt(f),
            Error::Io { syscall, errno } => match Errno::from_raw(*errno) {
                Errno::UnknownErrno => write!(f, "{syscall} failed with errno {errno} (io)"),
                name => write!(f, "{syscall} failed with {name:?} (io)"),
            },
            Error::TooManyFds(n) => {
                write!(f, "{n} fds in one sendmsg, more than 253 (too_many_fds)")
            }
            Error::KernelTooOld(what) => {
                write!(f, "the kernel does not support {what} (kernel_too_old)")
            }
            e => write!(f, "{} ({})", e.sentence(), e.code()),
        }
    }
}

impl Error {
    /// The sentence of a variant without data of its own.
    fn sentence(&self) -> &'static str {
        match self {
            Error::Timeout => "the deadline passed",
            Error::PeerGone => "the peer process is gone",
            Error::UnsupportedSocket => "not an AF_UNIX SOCK_STREAM or SOCK_SEQPACKET socket",
            Error::Closed => "the peer closed the connection",
            Error::ShmNotMemfd => "the shared-memory fd is not a memfd",
            Error::ShmSealsMissing => "the shared-memory fd lacks a required or announced seal",
            Error::ShmSizeMismatch => "the shared-memory fd is not of the announced size",
            Error::ShmNotReadable => "the shared-memory fd is not open for reading",
            Error::ShmExpected => "a data frame came where shared memory was expected",
            Error::ShmOutOfRange => "a shared-memory access is out of range or misaligned",
            Error::ShmReadOnly => "the shared-memory region is mapped read-only",
            Error::Protocol(_)
            | Error::Dbus(_)
            | Error::Io { .. }
            | Error::TooManyFds(_)
            | Error::KernelTooOld(_) => "",
        }
    }
}

/// Linux's `MAX_ERRNO`: the largest errno.
const MAX_ERRNO: usize = 4095;

/// The `io::Error` that [`Error::Io`] lends as its source. The error is
/// `Copy` and keeps only the errno, so it cannot own one: each errno's
/// `io::Error` is made on first use and kept for the life of the process
/// (untouched entries cost no memory).
fn io_error_of(errno: i32) -> Option<&'static io::Error> {
    static IO_ERRORS: [OnceLock<io::Error>; MAX_ERRNO + 1] =
        [const { OnceLock::new() }; MAX_ERRNO + 1];
    let slot = IO_ERRORS.get(usize::try_from(errno).ok()?)?;
    Some(slot.get_or_init(|| io::Error::from_raw_os_error(errno)))
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { errno, .. } => io_error_of(*errno).map(|e| e as _),
            // The core's errors have no source; Display already shows them.
            _ => None,
        }
    }
}

/// Into `std::io::Error` (`?` in a function returning `io::Result`):
/// [`Error::Io`] as its errno, [`Error::Timeout`] as `TimedOut`, the rest
/// as `Other` around the error.
impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io { errno, .. } => io::Error::from_raw_os_error(errno),
            Error::Timeout => io::Error::new(io::ErrorKind::TimedOut, e),
            other => io::Error::other(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    /// One of each driver error. The match has no wildcard: a new variant
    /// does not compile here until it is listed, and then the assertions
    /// demand its code in `DRIVER_CODES`.
    fn samples() -> Vec<Error> {
        let all = vec![
            Error::Io {
                syscall: "x",
                errno: 1,
            },
            Error::Timeout,
            Error::TooManyFds(254),
            Error::KernelTooOld("x"),
            Error::PeerGone,
            Error::UnsupportedSocket,
            Error::Closed,
            Error::ShmNotMemfd,
            Error::ShmSealsMissing,
            Error::ShmSizeMismatch,
            Error::ShmNotReadable,
            Error::ShmExpected,
            Error::ShmOutOfRange,
            Error::ShmReadOnly,
        ];
        for e in &all {
            match e {
                Error::Protocol(_) | Error::Dbus(_) => unreachable!("not a driver error"),
                Error::Io { .. }
                | Error::Timeout
                | Error::TooManyFds(_)
                | Error::KernelTooOld(_)
                | Error::PeerGone
                | Error::UnsupportedSocket
                | Error::Closed
                | Error::ShmNotMemfd
                | Error::ShmSealsMissing
                | Error::ShmSizeMismatch
                | Error::ShmNotReadable
                | Error::ShmExpected
                | Error::ShmOutOfRange
                | Error::ShmReadOnly => {}
            }
        }
        all
    }

    /// `Display` of every driver code: a sentence, then the code.
    #[test]
    fn display_of_every_driver_code() {
        let expected = [
            "x failed with EPERM (io)",
            "the deadline passed (timeout)",
            "254 fds in one sendmsg, more than 253 (too_many_fds)",
            "the kernel does not support x (kernel_too_old)",
            "the peer process is gone (peer_gone)",
            "not an AF_UNIX SOCK_STREAM or SOCK_SEQPACKET socket (unsupported_socket)",
            "the peer closed the connection (closed)",
            "the shared-memory fd is not a memfd (shm_not_memfd)",
            "the shared-memory fd lacks a required or announced seal (shm_seals_missing)",
            "the shared-memory fd is not of the announced size (shm_size_mismatch)",
            "the shared-memory fd is not open for reading (shm_not_readable)",
            "a data frame came where shared memory was expected (shm_expected)",
            "a shared-memory access is out of range or misaligned (shm_out_of_range)",
            "the shared-memory region is mapped read-only (shm_read_only)",
        ];
        let shown: Vec<String> = samples().iter().map(Error::to_string).collect();
        assert_eq!(shown, expected);
        let unknown = Error::Io {
            syscall: "recvmsg",
            errno: 100_000,
        };
        assert_eq!(unknown.to_string(), "recvmsg failed with errno 100000 (io)");
        // The core's errors show the core's sentence.
        let core = Error::from(mon_ipc::PeerError::HelloBadMagic);
        assert_eq!(
            core.to_string(),
            "hello has a bad magic number (hello_bad_magic)"
        );
        let dbus = Error::from(mon_ipc::dbus::DbusError::BadGuid);
        assert_eq!(
            dbus.to_string(),
            "the D-Bus server's OK has no valid guid (dbus_bad_guid)"
        );
    }

    /// Every error the driver can return, one of each code.
    fn every_error() -> Vec<Error> {
        let mut all: Vec<Error> = mon_ipc::Error::all().map(Error::from).collect();
        all.extend(
            mon_ipc::dbus::DbusError::ALL
                .iter()
                .map(|e| Error::from(*e)),
        );
        all.extend(samples());
        all
    }

    /// Which codes each predicate holds for, written out.
    #[test]
    fn predicates_of_every_code() {
        let refused = [
            "refused_denied",
            "refused_version",
            "refused_no_credentials",
            "refused_malformed",
            "refused_credentials_mismatch",
            "dbus_rejected",
            "dbus_unix_fd_refused",
        ];
        let not_the_peers_fault = [
            "denied",
            "io",
            "timeout",
            "too_many_fds",
            "kernel_too_old",
            "peer_gone",
            "unsupported_socket",
            "closed",
            "shm_out_of_range",
            "shm_read_only",
        ];
        let all = every_error();
        for e in &all {
            let code = e.code();
            let usage = mon_ipc::UsageError::from_code(code).is_some();
            assert_eq!(e.is_refused(), refused.contains(&code), "{code}");
            assert_eq!(
                e.is_peer_fault(),
                !usage && !refused.contains(&code) && !not_the_peers_fault.contains(&code),
                "{code}"
            );
            assert_eq!(e.is_timeout(), code == "timeout", "{code}");
        }
        // Every listed code exists.
        for code in refused.iter().chain(&not_the_peers_fault) {
            assert!(all.iter().any(|e| e.code() == *code), "{code}");
        }
        // The shared-memory refusals are the peer's fault.
        assert!(Error::ShmSealsMissing.is_peer_fault());
        assert!(Error::from(mon_ipc::PeerError::HelloBadMagic).is_peer_fault());
    }

    #[test]
    fn the_source_of_an_io_error_is_its_io_error() {
        use std::error::Error as _;
        let e = Error::Io {
            syscall: "sendmsg",
            errno: nix::libc::ECONNRESET,
        };
        let source = e.source().expect("an io::Error");
        let io = source.downcast_ref::<std::io::Error>().expect("io::Error");
        assert_eq!(io.raw_os_error(), Some(nix::libc::ECONNRESET));
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);
        // Lent from one place: the same io::Error every time.
        assert!(std::ptr::eq(source, e.source().unwrap()));
        // An errno no kernel gives has none; nor have the others.
        for errno in [-1, 4096] {
            assert!(
                Error::Io {
                    syscall: "x",
                    errno
                }
                .source()
                .is_none()
            );
        }
        for e in every_error().iter().filter(|e| e.code() != "io") {
            assert!(e.source().is_none(), "{}", e.code());
        }
    }

    #[test]
    fn conversions_keep_the_code() {
        fn usage() -> Result<(), Error> {
            Err(mon_ipc::UsageError::NotFinished)?
        }
        fn dbus() -> Result<(), Error> {
            Err(mon_ipc::dbus::DbusError::Rejected)?
        }
        fn core() -> Result<(), Error> {
            Err(mon_ipc::Error::Peer(mon_ipc::PeerError::Denied))?
        }
        assert_eq!(usage().unwrap_err().code(), "not_finished");
        assert_eq!(
            dbus().unwrap_err(),
            Error::Dbus(mon_ipc::dbus::DbusError::Rejected)
        );
        assert_eq!(core().unwrap_err().code(), "denied");
        let dbus_usage = mon_ipc::dbus::Error::Usage(mon_ipc::UsageError::NotFinished);
        assert_eq!(Error::from_dbus(dbus_usage).code(), "not_finished");
        let io = std::io::Error::from(Error::Timeout);
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    }

    #[test]
    fn driver_codes_list_every_variant_once() {
        let codes: Vec<&str> = samples().iter().map(Error::code).collect();
        assert_eq!(codes, Error::DRIVER_CODES);
        let protocol = mon_ipc::Error::all().map(|e| e.code());
        let dbus = mon_ipc::dbus::DbusError::ALL.iter().map(|e| e.code());
        for code in protocol.chain(dbus) {
            assert!(
                !Error::DRIVER_CODES.contains(&code),
                "{code} is a protocol code"
            );
        }
    }
}
