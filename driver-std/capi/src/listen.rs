//! `mon_ipc_listen` / `mon_ipc_prepare_listener`: the server's socket made
//! ready for the handshake, as the Rust driver's `Listener` does.
//!
//! Why ([PROTOCOL.md §3.3](mon_ipc::spec#33-the-server)): Linux attaches
//! credentials to a message when it is *sent*, and only if the receiving socket
//! (or the sender) has `SO_PASSCRED` on at that moment. A hello sent before the
//! server turned it on arrives without them and is refused (`no_credentials`).
//! Turned on on the listening socket, it is on for every connection accepted
//! from it (they inherit it, and data sent to a connection not yet accepted
//! carries credentials anyway), before any client can write. `SO_PASSPIDFD`
//! (where the kernel has it) is turned on with it, so that accepted sockets
//! inherit it too: the server's handshake then makes no call for it (it turns
//! `SO_PASSPIDFD` on itself only on a socket with `SO_PASSCRED` off; on one
//! prepared without it, the client's pidfd comes from `SO_PEERPIDFD`).

use std::ffi::{CStr, c_char, c_int};
use std::os::fd::{AsFd, BorrowedFd};

use crate::codes::{MON_E_INVALID_ARGUMENT, MON_E_IO, MON_OK};
use crate::fd::{CFd, set_errno};
use crate::guard::{guard, invalid};

/// The calling thread's `errno`, recorded for `mon_ipc_last_errno`.
fn os_error() -> c_int {
    set_errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    MON_E_IO
}

/// `fd` is an `AF_UNIX` `SOCK_STREAM` or `SOCK_SEQPACKET` socket; then
/// `SO_PASSCRED` on.
fn prepare(fd: BorrowedFd<'_>) -> c_int {
    if let Err(e) = mon_ipc_std::raw::socket_kind(fd) {
        return crate::channels::driver_error(&e);
    }
    pass_credentials(fd)
}

/// Other systems have no `SO_PASSCRED` (Linux `unix(7)`): FreeBSD's
/// message credentials are the sender's to attach (`unix(4)`), and macOS,
/// NetBSD and OpenBSD have none the protocol uses. Nothing to turn on.
#[cfg(not(target_os = "linux"))]
fn pass_credentials(_fd: BorrowedFd<'_>) -> c_int {
    MON_OK
}

/// `SO_PASSCRED` on, and `SO_PASSPIDFD` where the kernel has it.
#[cfg(target_os = "linux")]
fn pass_credentials(fd: BorrowedFd<'_>) -> c_int {
    match mon_ipc_std::raw::pass_credentials(fd, true) {
        Ok(_) => MON_OK,
        Err(e) => crate::channels::driver_error(&e),
    }
}

/// `socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`; `Err` with `errno` set.
#[cfg(not(target_os = "macos"))]
fn stream_socket() -> Result<c_int, ()> {
    // SAFETY: `socket` takes integers only.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 { Err(()) } else { Ok(fd) }
}

/// macOS has no `SOCK_CLOEXEC` (`socket(2)`): `socket`, then `FD_CLOEXEC`
/// (another thread's `fork` + `exec` in between inherits the socket).
#[cfg(target_os = "macos")]
fn stream_socket() -> Result<c_int, ()> {
    // SAFETY: `socket` takes integers only.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
    if fd < 0 {
        return Err(());
    }
    // SAFETY: `fcntl(F_SETFD)` on the socket just made; integers only.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        close_keeping_errno(fd);
        return Err(());
    }
    Ok(fd)
}

/// Closes a socket this module made, keeping the `errno` of the failure.
fn close_keeping_errno(fd: c_int) {
    let saved = crate::fd::last_errno();
    // SAFETY: `fd` was returned by `socket` in this call and nobody else
    // has it.
    unsafe { libc::close(fd) };
    set_errno(saved);
}

fn listen(path: *const c_char, backlog: c_int) -> c_int {
    if path.is_null() {
        return invalid();
    }
    // SAFETY: `path` is not NULL, and the caller passes a NUL-terminated
    // string (the contract in the header).
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    // SAFETY: `sockaddr_un` is plain old data: all zeroes is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    // A path, NUL-terminated in `sun_path` (no abstract names: those start
    // with a NUL).
    if bytes.is_empty() || bytes.len() >= addr.sun_path.len() {
        set_errno(if bytes.is_empty() {
            libc::EINVAL
        } else {
            libc::ENAMETOOLONG
        });
        return MON_E_INVALID_ARGUMENT;
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, &b) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = b as c_char;
    }
    let fd = match stream_socket() {
        Ok(fd) => fd,
        Err(()) => return os_error(),
    };
    // SAFETY: `fd` is the socket just made, open until this function
    // closes it or returns it.
    let r = prepare(unsafe { BorrowedFd::borrow_raw(fd) });
    if r != MON_OK {
        close_keeping_errno(fd);
        return r;
    }
    // SAFETY: `addr` is a valid `sockaddr_un` of the length given.
    let r = unsafe {
        libc::bind(
            fd,
            std::ptr::from_ref(&addr).cast(),
            std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
        )
    };
    if r != 0 {
        let code = os_error();
        close_keeping_errno(fd);
        return code;
    }
    // SAFETY: `listen` takes integers only.
    if unsafe { libc::listen(fd, backlog) } != 0 {
        let code = os_error();
        close_keeping_errno(fd);
        // The socket file is ours (bind just made it): leave nothing behind.
        // SAFETY: `path` is the NUL-terminated string checked above.
        unsafe { libc::unlink(path) };
        return code;
    }
    fd
}

/// Creates a listening `AF_UNIX` `SOCK_STREAM` socket bound to the file
/// system `path`, with `SO_PASSCRED` (and `SO_PASSPIDFD` where the kernel
/// has it) on before it listens (as the Rust
/// driver's `Listener::bind`), so that every connection accepted from it is
/// ready for [`mon_ipc_auth_server_init`](crate::mon_ipc_auth_server_init):
/// no client's hello can arrive without the kernel's credentials. The fd
/// has `FD_CLOEXEC` and is blocking.
///
/// Returns the fd (the caller's: close it, and unlink `path`, when done),
/// or a negative error code: `MON_E_INVALID_ARGUMENT` (NULL or empty
/// `path`; errno `ENAMETOOLONG` if it does not fit a `sockaddr_un`),
/// `MON_E_IO` with errno (`socket`, `bind`: e.g. `EADDRINUSE` if `path`
/// exists, `listen`). `backlog` is `listen(2)`'s.
///
/// # Safety
///
/// `path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_listen(path: *const c_char, backlog: c_int) -> c_int {
    guard(|| listen(path, backlog))
}

/// Makes a socket the server will accept connections from (or a
/// socketpair end it will authenticate on) ready for the handshake: checks
/// that `fd` is an `AF_UNIX` `SOCK_STREAM` or `SOCK_SEQPACKET` socket and
/// turns `SO_PASSCRED` (and `SO_PASSPIDFD` where the kernel has it) on. Call it before any client can connect (right
/// after `socket`, before `listen`; or before handing out the other end of
/// a socketpair), for listeners [`mon_ipc_listen`] does not make: an
/// inherited one, a `SOCK_SEQPACKET` one, an abstract address. On a socket
/// that is already listening it is still right for connections that come
/// later, and those already queued carried credentials anyway (as the Rust
/// driver's `Listener::from_fd`).
///
/// Returns 0, `MON_E_INVALID_ARGUMENT` (negative or closed fd),
/// `MON_E_UNSUPPORTED_SOCKET` (not an `AF_UNIX` stream or seqpacket
/// socket) or `MON_E_IO` with errno. The fd stays the caller's.
///
/// # Safety
///
/// None: `fd` is checked to be open.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_prepare_listener(fd: c_int) -> c_int {
    guard(|| match CFd::check(fd) {
        Ok(fd) => prepare(fd.as_fd()),
        Err(code) => code,
    })
}
