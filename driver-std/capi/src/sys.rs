//! The few system calls of the resumable send and receive (`channels.rs`):
//! one `recvmsg` / `sendmsg` with at most one fd, `poll` with a deadline,
//! and the socket's mode. (Its type is the driver's
//! [`raw::socket_kind`](mon_ipc_std::raw::socket_kind).)
//!
//! A `recvmsg` / `sendmsg` here passes `MSG_DONTWAIT` when its call has a
//! deadline (`dontwait`): a blocking socket then waits in [`wait`], which
//! knows the deadline, never in the kernel, which does not. Without a
//! deadline it follows the socket's mode, as the driver's stateless calls
//! do: a blocking socket waits in the call itself, which saves the
//! `EAGAIN` and the `poll` of a frame not there yet, and sends a large
//! frame in one `sendmsg`.

use std::ffi::c_int;
use std::mem::MaybeUninit;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

use crate::codes::{MON_E_IO, MON_E_TIMEOUT};
use crate::fd::set_errno;

/// This thread's `errno` after a failed call.
pub(crate) fn errno() -> c_int {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `MON_E_IO` with `errno` recorded.
pub(crate) fn io(errno: c_int) -> c_int {
    set_errno(errno);
    MON_E_IO
}

/// Whether `fd` has `O_NONBLOCK`.
pub(crate) fn is_nonblocking(fd: RawFd) -> Result<bool, c_int> {
    // SAFETY: `fcntl(F_GETFL)` takes any integer and touches no memory of
    // ours.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fl == -1 {
        return Err(io(errno()));
    }
    Ok(fl & libc::O_NONBLOCK != 0)
}

/// What one `recvmsg` brought.
#[derive(Debug, Default)]
pub(crate) struct Got {
    /// Bytes read (0 and no fds: EOF).
    pub(crate) n: usize,
    /// The fds of `SCM_RIGHTS`, owned (`FD_CLOEXEC`).
    pub(crate) fds: Vec<OwnedFd>,
    /// `MSG_CTRUNC`: the kernel dropped control data.
    pub(crate) ctrunc: bool,
}

/// Room for one `SCM_RIGHTS` with a few fds plus `SCM_CREDENTIALS` (sent
/// on every message of a socket with `SO_PASSCRED`), 8-byte aligned.
#[repr(C, align(8))]
struct CtrlBuf([MaybeUninit<u8>; 128]);

/// Appends at most `max` bytes to `v` with one
/// `recvmsg(MSG_CMSG_CLOEXEC)`, `MSG_DONTWAIT` if `dontwait`. `Err(errno)`;
/// `EINTR` is retried and `ECONNRESET` reads as EOF (Linux says so when
/// the peer closed with our bytes unread).
pub(crate) fn recv_some(
    fd: RawFd,
    v: &mut Vec<u8>,
    max: usize,
    dontwait: bool,
) -> Result<Got, c_int> {
    let spare = v.spare_capacity_mut();
    let len = spare.len().min(max);
    let mut iov = libc::iovec {
        iov_base: spare.as_mut_ptr().cast(),
        iov_len: len,
    };
    let mut ctrl = CtrlBuf([MaybeUninit::uninit(); 128]);
    // SAFETY: msghdr is plain integers and pointers: all zeroes is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl.0.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of::<CtrlBuf>() as _;
    let flags = CMSG_CLOEXEC | if dontwait { libc::MSG_DONTWAIT } else { 0 };
    let n = loop {
        // SAFETY: `msg` points to one iovec of `len` writable bytes (the
        // Vec's spare capacity) and to the control buffer of
        // `msg_controllen` bytes, all alive during the call.
        let r = unsafe { libc::recvmsg(fd, &mut msg, flags) };
        if r >= 0 {
            break r as usize;
        }
        match errno() {
            libc::EINTR => continue,
            libc::ECONNRESET => return Ok(Got::default()),
            e => return Err(e),
        }
    };
    // SAFETY: the kernel wrote `n` <= `len` bytes at the start of the
    // spare capacity.
    unsafe { v.set_len(v.len() + n) };
    let mut got = Got {
        n,
        fds: Vec::new(),
        ctrunc: msg.msg_flags & libc::MSG_CTRUNC != 0,
    };
    // SAFETY: `msg` is the header the kernel filled; the CMSG macros only
    // walk its control buffer within `msg_controllen`.
    let mut c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !c.is_null() {
        // SAFETY: `c` points to a complete cmsghdr inside the control
        // buffer (CMSG_FIRSTHDR / CMSG_NXTHDR checked its bounds); read
        // unaligned to be safe.
        let h = unsafe { c.read_unaligned() };
        // SAFETY: as above; CMSG_DATA is within the same message.
        let data = unsafe { libc::CMSG_DATA(c) };
        let head = data.addr() - c.addr();
        let bytes = (h.cmsg_len as usize).saturating_sub(head);
        if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_RIGHTS {
            for i in 0..bytes / std::mem::size_of::<c_int>() {
                // SAFETY: within the message's data, which the kernel
                // filled with `int` fds it installed for us.
                let raw = unsafe { data.add(i * 4).cast::<c_int>().read_unaligned() };
                // SAFETY: a new fd the kernel just installed for this
                // process; nothing else owns it.
                let fd = unsafe { OwnedFd::from_raw_fd(raw) };
                cloexec(&fd);
                got.fds.push(fd);
            }
        }
        // SAFETY: as for CMSG_FIRSTHDR.
        c = unsafe { libc::CMSG_NXTHDR(&msg, c) };
    }
    Ok(got)
}

/// One `sendmsg(MSG_NOSIGNAL)` (`MSG_DONTWAIT` if `dontwait`) of the
/// concatenated `parts` less their first `skip` bytes, with `fd` in
/// `SCM_RIGHTS` if given. Bytes sent, or `Err(errno)`; `EINTR` is retried.
pub(crate) fn send_some(
    sock: RawFd,
    parts: &[&[u8]],
    skip: usize,
    fd: Option<RawFd>,
    dontwait: bool,
) -> Result<usize, c_int> {
    let mut iov = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; 4];
    let mut niov = 0;
    let mut skip = skip;
    for p in parts {
        let cut = skip.min(p.len());
        skip -= cut;
        let p = &p[cut..];
        if p.is_empty() || niov == iov.len() {
            continue;
        }
        iov[niov] = libc::iovec {
            iov_base: p.as_ptr().cast_mut().cast(),
            iov_len: p.len(),
        };
        niov += 1;
    }
    let mut ctrl = CtrlBuf([MaybeUninit::new(0); 128]);
    // SAFETY: msghdr is plain integers and pointers: all zeroes is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = niov as _;
    if let Some(fd) = fd {
        let size = std::mem::size_of::<c_int>() as u32;
        // SAFETY: CMSG_SPACE is arithmetic.
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(size) } as _;
        msg.msg_control = ctrl.0.as_mut_ptr().cast();
        // SAFETY: the control buffer (128 bytes, 8-aligned, zeroed) holds
        // CMSG_SPACE(4) bytes, so CMSG_FIRSTHDR is a complete header in it
        // and CMSG_DATA has room for one int.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(size) as _;
            libc::CMSG_DATA(c).cast::<c_int>().write_unaligned(fd);
        }
    }
    let flags = NOSIGNAL | if dontwait { libc::MSG_DONTWAIT } else { 0 };
    #[cfg(target_os = "macos")]
    nosigpipe(sock)?;
    loop {
        // SAFETY: `msg` points to `niov` iovecs of readable bytes borrowed
        // from `parts`, and to the control buffer, alive during the call.
        let r = unsafe { libc::sendmsg(sock, &msg, flags) };
        if r >= 0 {
            return Ok(r as usize);
        }
        match errno() {
            libc::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// `MSG_CMSG_CLOEXEC` where the system has it.
#[cfg(not(target_os = "macos"))]
const CMSG_CLOEXEC: c_int = libc::MSG_CMSG_CLOEXEC;
/// macOS has none (`recv(2)`): [`cloexec`] after the call instead.
#[cfg(target_os = "macos")]
const CMSG_CLOEXEC: c_int = 0;

/// Nothing to do: `MSG_CMSG_CLOEXEC` made the fd close-on-exec.
#[cfg(not(target_os = "macos"))]
fn cloexec(_fd: &OwnedFd) {}

/// macOS: `FD_CLOEXEC` right after `recvmsg`. Until then another thread's
/// `fork` + `exec` inherits the fd (the Rust driver documents the same
/// window). It cannot fail on an open fd we own.
#[cfg(target_os = "macos")]
fn cloexec(fd: &OwnedFd) {
    use std::os::fd::AsRawFd;
    // SAFETY: `fcntl(F_SETFD)` on an fd we own; integers only.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
}

/// `MSG_NOSIGNAL` where the system has it.
#[cfg(not(target_os = "macos"))]
const NOSIGNAL: c_int = libc::MSG_NOSIGNAL;
/// macOS: none; [`nosigpipe`] before each send instead.
#[cfg(target_os = "macos")]
const NOSIGNAL: c_int = 0;

/// macOS: `SO_NOSIGPIPE` on the caller's socket (`setsockopt(2)`), so that
/// a peer that closed gives `EPIPE` rather than `SIGPIPE`. Set before every
/// send: the socket is the caller's, and may be new.
#[cfg(target_os = "macos")]
fn nosigpipe(sock: RawFd) -> Result<(), c_int> {
    let on: c_int = 1;
    // SAFETY: `on` is an `int`, valid for reads of the length given.
    let r = unsafe {
        libc::setsockopt(
            sock,
            libc::SOL_SOCKET,
            libc::SO_NOSIGPIPE,
            std::ptr::from_ref(&on).cast(),
            std::mem::size_of::<c_int>() as libc::socklen_t,
        )
    };
    if r == 0 { Ok(()) } else { Err(errno()) }
}

/// Waits until `fd` is readable (or writable, `write`), or until
/// `deadline` ([`MON_E_TIMEOUT`]). Error and hang-up count as ready.
pub(crate) fn wait(fd: RawFd, write: bool, deadline: Option<Instant>) -> Result<(), c_int> {
    let events = if write { libc::POLLOUT } else { libc::POLLIN };
    loop {
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(MON_E_TIMEOUT);
                }
                // Round up: a 0 ms poll would spin until the deadline.
                left.as_millis().saturating_add(1).min(c_int::MAX as u128) as c_int
            }
        };
        let mut p = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        match unsafe { libc::poll(&mut p, 1, ms) } {
            0 => continue,
            n if n > 0 => return Ok(()),
            _ => match errno() {
                libc::EINTR => continue,
                e => return Err(io(e)),
            },
        }
    }
}

/// Whether a frame is readable now on a seqpacket socket: a 1-byte
/// `MSG_PEEK | MSG_DONTWAIT` (nothing is consumed, no fd installed).
pub(crate) fn peek_ready(fd: RawFd) -> Result<bool, c_int> {
    let mut b = 0u8;
    loop {
        // SAFETY: one writable byte.
        let r = unsafe {
            libc::recv(
                fd,
                std::ptr::from_mut(&mut b).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if r >= 0 {
            return Ok(true);
        }
        match errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return Ok(false),
            // Let the receive itself report it.
            _ => return Ok(true),
        }
    }
}
