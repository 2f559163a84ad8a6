//! The driver's one error type: the core's protocol errors plus what the
//! operating system can do to us.

use std::fmt;
use std::io;

/// Everything that can go wrong in the driver.
///
/// `Copy`, so that a failed handshake or channel can return the same error
/// on every later call (errors are sticky, as in the core). A system call's
/// error keeps the call's name and the raw `errno`, not an `io::Error`, for
/// that reason; [`Error::io_error`] rebuilds one.
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
    /// (the connection is closed without a reply; PROTOCOL.md: a timeout
    /// never answers), a `_timeout` call's (e.g.
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

impl From<mon_ipc::Error> for Error {
    fn from(e: mon_ipc::Error) -> Self {
        Error::Protocol(e)
    }
}

impl From<mon_ipc::dbus::Error> for Error {
    fn from(e: mon_ipc::dbus::Error) -> Self {
        match e {
            mon_ipc::dbus::Error::Peer(e) => Error::Dbus(e),
            mon_ipc::dbus::Error::Usage(e) => e.into(),
        }
    }
}

impl From<mon_ipc::PeerError> for Error {
    fn from(e: mon_ipc::PeerError) -> Self {
        Error::Protocol(e.into())
    }
}

impl From<mon_ipc::UsageError> for Error {
    fn from(e: mon_ipc::UsageError) -> Self {
        Error::Protocol(e.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => e.fmt(f),
            Error::Dbus(e) => e.fmt(f),
            Error::Io { syscall, errno } => {
                write!(f, "{syscall}: {}", io::Error::from_raw_os_error(*errno))
            }
            Error::Timeout => f.write_str("timed out"),
            Error::TooManyFds(n) => write!(f, "{n} fds in one sendmsg (at most 253)"),
            Error::KernelTooOld(what) => write!(f, "the kernel does not support {what}"),
            Error::PeerGone => f.write_str("the peer process is gone"),
            Error::UnsupportedSocket => {
                f.write_str("not an AF_UNIX SOCK_STREAM or SOCK_SEQPACKET socket")
            }
            Error::Closed => f.write_str("the peer closed the connection"),
            Error::ShmNotMemfd => f.write_str("shared-memory fd is not a memfd"),
            Error::ShmSealsMissing => {
                f.write_str("shared-memory fd lacks a required or announced seal")
            }
            Error::ShmSizeMismatch => f.write_str("shared-memory fd is not of the announced size"),
            Error::ShmNotReadable => f.write_str("shared-memory fd is not open for reading"),
            Error::ShmExpected => f.write_str("a data frame where shared memory was expected"),
            Error::ShmOutOfRange => f.write_str("shared-memory access out of range or misaligned"),
            Error::ShmReadOnly => f.write_str("shared-memory region is mapped read-only"),
        }
    }
}

impl std::error::Error for Error {}

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
