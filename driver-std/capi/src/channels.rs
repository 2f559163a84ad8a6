//! `mon_ipc_send_fd` / `mon_ipc_recv_fd`, and the one piece of per-socket
//! state they need.
//!
//! Both calls take no state argument, so each completes its frame before
//! it returns: on a non-blocking socket they wait (`poll`) where the socket
//! would block, and never return half a frame. A byte or fd is therefore
//! never lost or delivered twice, whatever the socket's mode.
//!
//! The one exception to "no state": the read that brings the client the
//! server's reply may also bring the server's first frames and their fds
//! (PROTOCOL.md 3.5), which must not be lost. So a successful client
//! handshake leaves its [`Channel`] here, keyed by the fd *and* the socket's
//! identity (`st_dev`, `st_ino`), and `mon_ipc_recv_fd` on that socket
//! receives through it from then on. An entry whose fd was closed (or now
//! names another file) is dropped the next time the registry is used.

use std::ffi::c_int;
use std::os::fd::{IntoRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use bytes::BytesMut;
use mon_ipc_std::{Channel, SharedMemory};

use crate::buffer::{append, mon_buffer};
use crate::codes::{
    FD_COUNT_MISMATCH, MON_E_CLOSED, MON_E_INVALID_ARGUMENT, MON_E_NO_MEMORY, MON_OK,
};
use crate::fd::{CFd, set_errno};
use crate::guard::{guard, invalid};

#[derive(Debug)]
struct Entry {
    fd: CFd,
    identity: (u64, u64),
    /// `None` while a call is receiving through it.
    channel: Option<Channel<CFd>>,
}

static CHANNELS: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

fn channels() -> MutexGuard<'static, Vec<Entry>> {
    CHANNELS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Drops every entry whose fd no longer names its socket.
fn prune(list: &mut Vec<Entry>) {
    list.retain(|e| CFd::check(e.fd.raw()).is_ok() && e.fd.identity() == Ok(e.identity));
    // The checks of closed fds are no failure of this call.
    crate::fd::clear_errno();
}

/// Keeps a finished client handshake's channel for `recv_fd`.
pub(crate) fn register(fd: CFd, channel: Channel<CFd>) -> Result<(), c_int> {
    let identity = fd.identity()?;
    let mut list = channels();
    prune(&mut list);
    list.retain(|e| e.fd != fd);
    list.push(Entry {
        fd,
        identity,
        channel: Some(channel),
    });
    Ok(())
}

/// Takes the channel of `fd`'s socket out of the registry, if it has one.
/// `Err` if another call is using it right now.
fn take(fd: CFd) -> Result<Option<Channel<CFd>>, c_int> {
    let mut list = channels();
    let Some(i) = list.iter().position(|e| e.fd == fd) else {
        return Ok(None);
    };
    if fd.identity() != Ok(list[i].identity) {
        // The registered socket was closed and the number reused.
        list.swap_remove(i);
        return Ok(None);
    }
    match list[i].channel.take() {
        Some(c) => Ok(Some(c)),
        None => {
            set_errno(libc::EBUSY);
            Err(MON_E_INVALID_ARGUMENT)
        }
    }
}

fn give_back(fd: CFd, channel: Channel<CFd>) {
    let mut list = channels();
    if let Some(e) = list.iter_mut().find(|e| e.fd == fd) {
        e.channel = Some(channel);
    }
}

/// The C code of a driver error; an I/O error's errno is recorded.
pub(crate) fn driver_error(e: &mon_ipc_std::Error) -> c_int {
    if let mon_ipc_std::Error::Io { errno, .. } = e {
        set_errno(*errno);
    }
    crate::codes::of_error(e)
}

/// One frame with 0 or 1 fd; the payload goes into `dst`.
pub(crate) fn recv(sock: CFd, dst: &mut Vec<u8>) -> Result<Option<OwnedFd>, c_int> {
    match take(sock)? {
        Some(mut channel) => {
            let r = recv_channel(&mut channel, dst);
            give_back(sock, channel);
            r
        }
        None => recv_plain(sock, dst),
    }
}

fn recv_channel(channel: &mut Channel<CFd>, dst: &mut Vec<u8>) -> Result<Option<OwnedFd>, c_int> {
    let msg = match channel.recv() {
        Ok(Some(msg)) => msg,
        Ok(None) => return Err(MON_E_CLOSED),
        Err(e) => return Err(driver_error(&e)),
    };
    let mut fds: Vec<OwnedFd> = msg.fds.collect();
    // The negotiated limit is 1 fd per frame, so the channel has refused
    // any frame with more already; this is a second line.
    if fds.len() > 1 {
        return Err(FD_COUNT_MISMATCH);
    }
    if dst.try_reserve(msg.payload.len()).is_err() {
        set_errno(libc::ENOMEM);
        return Err(MON_E_NO_MEMORY);
    }
    dst.extend_from_slice(&msg.payload);
    Ok(fds.pop())
}

fn recv_plain(sock: CFd, dst: &mut Vec<u8>) -> Result<Option<OwnedFd>, c_int> {
    with_bytes_mut(dst, |buf| mon_ipc_std::recv_fd(sock, buf))
}

/// Runs a driver receive on `dst` as a `BytesMut`: zero-copy both ways,
/// the Vec's allocation becomes the BytesMut's and back.
fn with_bytes_mut<T>(
    dst: &mut Vec<u8>,
    recv: impl FnOnce(&mut BytesMut) -> mon_ipc_std::Result<T>,
) -> Result<T, c_int> {
    let mut buf = BytesMut::from(bytes::Bytes::from(std::mem::take(dst)));
    let r = recv(&mut buf);
    *dst = Vec::from(buf);
    r.map_err(|e| driver_error(&e))
}

/// One frame with `fd` attached, if given.
pub(crate) fn send(sock: CFd, payload: &[u8], fd: Option<CFd>) -> c_int {
    use std::os::fd::AsFd;
    let fd = fd.as_ref().map(AsFd::as_fd);
    match mon_ipc_std::send_fd(sock, payload, fd) {
        Ok(()) => MON_OK,
        Err(e) => driver_error(&e),
    }
}

/// One shared-memory frame (`mon_ipc_recv_shm`): through the socket's
/// channel if a client handshake left one (a refusal is then sticky, like
/// every channel error), else by the driver's stateless `recv_shm`. The
/// application's bytes are appended to `app`; on error nothing is
/// appended, nothing stays mapped and the fd is closed.
pub(crate) fn recv_shm(sock: CFd, app: &mut Vec<u8>) -> Result<SharedMemory, c_int> {
    let Some(mut channel) = take(sock)? else {
        return with_bytes_mut(app, |buf| mon_ipc_std::recv_shm(sock, buf));
    };
    let r = match channel.recv_shm() {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(MON_E_CLOSED),
        Err(e) => Err(driver_error(&e)),
    };
    give_back(sock, channel);
    let m = r?;
    append(app, &m.payload)?;
    Ok(m.region)
}

/// Receives one frame from the socket `source_fd`: appends its payload to
/// `dst` and stores its fd (owned by the caller, `FD_CLOEXEC`) in
/// `*fd_received`, or -1 if it carried none. Waits for the whole frame,
/// also on a non-blocking socket. 0 or a negative error code; on error
/// nothing is appended, `*fd_received` is -1 and every fd that arrived is
/// closed (a frame with more than one fd is an error).
///
/// # Safety
///
/// `dst` is NULL or from [`mon_buffer_new`]; `fd_received` is NULL or valid
/// for writing one `int`.
///
/// [`mon_buffer_new`]: crate::mon_buffer_new
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_recv_fd(
    source_fd: c_int,
    dst: *mut mon_buffer,
    fd_received: *mut c_int,
) -> c_int {
    guard(|| {
        if fd_received.is_null() || dst.is_null() {
            if !fd_received.is_null() {
                // SAFETY: not NULL; the caller's contract.
                unsafe { fd_received.write(-1) };
            }
            return invalid();
        }
        // SAFETY: not NULL; the caller's contract.
        unsafe { fd_received.write(-1) };
        let sock = match CFd::check(source_fd) {
            Ok(s) => s,
            Err(code) => return code,
        };
        // SAFETY: `dst` is not NULL and came from `mon_buffer_new` (the
        // caller's contract); no other reference to it exists in this call.
        let dst = unsafe { &mut *dst };
        match recv(sock, &mut dst.data) {
            Ok(Some(fd)) => {
                // SAFETY: not NULL; the caller's contract.
                unsafe { fd_received.write(fd.into_raw_fd()) };
                MON_OK
            }
            Ok(None) => MON_OK,
            Err(code) => code,
        }
    })
}

/// Sends the bytes of `src` as one frame on the socket `target_fd`, with
/// the fd `fd_to_send` attached (the caller keeps it; the peer gets a
/// duplicate). Extension: `fd_to_send` = -1 sends the data without an fd.
/// Waits until the whole frame is sent, also on a non-blocking socket.
/// 0 or a negative error code.
///
/// # Safety
///
/// `src` is NULL or from [`mon_buffer_new`].
///
/// [`mon_buffer_new`]: crate::mon_buffer_new
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_send_fd(
    target_fd: c_int,
    src: *mut mon_buffer,
    fd_to_send: c_int,
) -> c_int {
    guard(|| {
        if src.is_null() || fd_to_send < -1 {
            return invalid();
        }
        let fd = match fd_to_send {
            -1 => None,
            n => match CFd::check(n) {
                Ok(fd) => Some(fd),
                Err(code) => return code,
            },
        };
        let sock = match CFd::check(target_fd) {
            Ok(s) => s,
            Err(code) => return code,
        };
        // SAFETY: `src` is not NULL and came from `mon_buffer_new` (the
        // caller's contract); it is only read.
        let src = unsafe { &*src };
        send(sock, &src.data, fd)
    })
}
