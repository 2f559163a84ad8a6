//! The raw-syscall baseline: bare `libc` calls, no framing and no
//! allocation per operation. Every case of the benchmarks runs through the
//! public API and, in the same run on the same CPU, with these primitives,
//! so the ratio shows what the protocol and the driver add to the kernel's
//! own work.
//!
//! One `sendmsg` with at most one control message built on the stack, one
//! `recvmsg` into a control buffer allocated once, fds closed by dropping
//! `OwnedFd`s. The raw cases, by the letters the benchmarks name them with
//! (the fd passed is an eventfd; the echo is [`crate::echo::raw_echo`]):
//!
//! | case | one operation |
//! |---|---|
//! | (a) | `SOCK_STREAM` socketpair: 64 B + 1 fd (`SCM_RIGHTS`) there; the echo checks 64 B + 1 fd and no `MSG_CTRUNC`, closes the fd, writes 1 byte back |
//! | (b) | (a) over `SOCK_SEQPACKET` |
//! | (c) | 64 B + 1 fd one way, back to back; timed from the first send to the last receive |
//! | (d) | 64 bytes there and 64 back by `write` / `read`, no control messages |
//! | (e) | a connection to an `SO_PASSCRED` listener: an 8-byte hello with an explicit `SCM_CREDENTIALS`, checked by the server, and an 8-byte reply |
//! | (f) | (a) with 253 fds (`SCM_MAX_FD`) in one `sendmsg` |
#![allow(unsafe_code)]

use std::io;
use std::mem::{MaybeUninit, size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `SCM_MAX_FD`: the most fds one `sendmsg` may carry.
pub const SCM_MAX_FD: usize = 253;

/// Control buffer words: room for `SCM_MAX_FD` fds.
const CBUF_WORDS: usize = 136;

fn ok(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn okn(r: isize) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// `socketpair(AF_UNIX, ty | SOCK_CLOEXEC)`; `ty` is `SOCK_STREAM` or
/// `SOCK_SEQPACKET`.
pub fn socketpair(ty: libc::c_int) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds the call writes.
    ok(unsafe { libc::socketpair(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) })?;
    // SAFETY: socketpair just created both; nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A fresh eventfd: the fd the cases pass around.
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall.
    let fd = ok(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) })?;
    // SAFETY: eventfd just created it; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `write(2)` until all of `buf` is written.
pub fn write_all(fd: &impl AsRawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is a live slice of `buf.len()` bytes.
        let n = okn(unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })?;
        buf = &buf[n..];
    }
    Ok(())
}

/// Reads exactly `buf.len()` bytes; `false` on EOF before the first byte.
pub fn read_exact(fd: &impl AsRawFd, buf: &mut [u8]) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        let rest = &mut buf[got..];
        // SAFETY: `rest` is an exclusively borrowed slice of `rest.len()` bytes.
        let n = okn(unsafe { libc::read(fd.as_raw_fd(), rest.as_mut_ptr().cast(), rest.len()) })?;
        if n == 0 {
            return if got == 0 {
                Ok(false)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        got += n;
    }
    Ok(true)
}

/// One `sendmsg(MSG_NOSIGNAL)` of `data` with at most one `SOL_SOCKET`
/// control message of type `cmsg_type` carrying `payload` (none if empty).
pub fn send_msg(
    sock: &impl AsRawFd,
    data: &[u8],
    cmsg_type: libc::c_int,
    payload: &[u8],
) -> io::Result<usize> {
    let mut cbuf = MaybeUninit::<[u64; CBUF_WORDS]>::uninit();
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut _,
        iov_len: data.len(),
    };
    // SAFETY: msghdr is integers and pointers: all zeroes is valid.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !payload.is_empty() {
        // SAFETY: arithmetic only.
        let space = unsafe { libc::CMSG_SPACE(payload.len() as u32) } as usize;
        assert!(space <= size_of::<[u64; CBUF_WORDS]>());
        // SAFETY: `space` bytes fit the buffer (asserted); the cmsg header
        // and data written below lie inside those `space` bytes.
        unsafe {
            std::ptr::write_bytes(cbuf.as_mut_ptr().cast::<u8>(), 0, space);
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = space as _;
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = cmsg_type;
            (*c).cmsg_len = libc::CMSG_LEN(payload.len() as u32) as _;
            std::ptr::copy_nonoverlapping(payload.as_ptr(), libc::CMSG_DATA(c), payload.len());
        }
    }
    // SAFETY: `msg` points to live iovec and control bytes for the call.
    okn(unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) })
}

/// `sendmsg(2)` with `SCM_RIGHTS` carrying `fds` (none if empty).
pub fn send_fds(sock: &impl AsRawFd, data: &[u8], fds: &[RawFd]) -> io::Result<usize> {
    // SAFETY: a slice of i32 viewed as its bytes.
    let bytes = unsafe { std::slice::from_raw_parts(fds.as_ptr().cast::<u8>(), size_of_val(fds)) };
    send_msg(sock, data, libc::SCM_RIGHTS, bytes)
}

/// `sendmsg(2)` with an explicit `SCM_CREDENTIALS`.
pub fn send_creds(sock: &impl AsRawFd, data: &[u8], cred: libc::ucred) -> io::Result<usize> {
    // SAFETY: a ucred viewed as its bytes.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&cred as *const libc::ucred).cast::<u8>(),
            size_of::<libc::ucred>(),
        )
    };
    send_msg(sock, data, libc::SCM_CREDENTIALS, bytes)
}

/// An 8-byte-aligned receive control buffer, allocated once.
pub struct CmsgBuf {
    buf: Vec<u64>,
    len: usize,
}

impl CmsgBuf {
    /// Room for `payload` bytes of control data (`CMSG_SPACE`).
    pub fn for_payload(payload: usize) -> Self {
        // SAFETY: arithmetic only.
        let len = unsafe { libc::CMSG_SPACE(payload as u32) } as usize;
        CmsgBuf {
            buf: vec![0; len.div_ceil(8)],
            len,
        }
    }

    /// Room for `n` fds.
    pub fn for_fds(n: usize) -> Self {
        Self::for_payload(n * size_of::<RawFd>())
    }
}

/// `recvmsg(MSG_CMSG_CLOEXEC)` into `buf`; every control message goes to
/// `on_cmsg(level, type, data)`. Returns (bytes, msg_flags).
pub fn recv_msg(
    sock: &impl AsRawFd,
    buf: &mut [u8],
    cbuf: &mut CmsgBuf,
    mut on_cmsg: impl FnMut(libc::c_int, libc::c_int, &[u8]),
) -> io::Result<(usize, libc::c_int)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is integers and pointers: all zeroes is valid.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.buf.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.len as _;
    // SAFETY: `msg` points to an exclusively borrowed buffer and control buffer.
    let n = okn(unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) })?;
    // SAFETY: the CMSG_* walk stays within `msg_controllen` as the kernel set it.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let len = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
            on_cmsg(
                (*c).cmsg_level,
                (*c).cmsg_type,
                std::slice::from_raw_parts(libc::CMSG_DATA(c), len),
            );
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n, msg.msg_flags))
}

/// `recvmsg(2)`; the fds of `SCM_RIGHTS` are appended to `fds` (reserve
/// their capacity once to keep this allocation-free).
pub fn recv_fds(
    sock: &impl AsRawFd,
    buf: &mut [u8],
    cbuf: &mut CmsgBuf,
    fds: &mut Vec<OwnedFd>,
) -> io::Result<(usize, libc::c_int)> {
    recv_msg(sock, buf, cbuf, |level, ty, data| {
        if level == libc::SOL_SOCKET && ty == libc::SCM_RIGHTS {
            for b in data.chunks_exact(size_of::<RawFd>()) {
                let raw = RawFd::from_ne_bytes(b.try_into().unwrap());
                // SAFETY: the kernel just installed this fd for us.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
    })
}

/// `setsockopt(SOL_SOCKET, opt, v)`.
pub fn setsockopt_int(sock: &impl AsRawFd, opt: libc::c_int, v: libc::c_int) -> io::Result<()> {
    let len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the kernel reads `len` bytes from `&v`, alive for the call.
    ok(unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&v as *const libc::c_int).cast(),
            len,
        )
    })?;
    Ok(())
}

/// `getsockopt(SOL_SOCKET, SO_PEERCRED)`.
pub fn peercred(sock: &impl AsRawFd) -> io::Result<libc::ucred> {
    // SAFETY: ucred is plain integers.
    let mut v: libc::ucred = unsafe { zeroed() };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `v`.
    ok(unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut v as *mut libc::ucred).cast(),
            &mut len,
        )
    })?;
    Ok(v)
}

/// This process's pid, uid and gid.
pub fn self_cred() -> libc::ucred {
    // SAFETY: plain syscalls without arguments.
    unsafe {
        libc::ucred {
            pid: libc::getpid(),
            uid: libc::getuid(),
            gid: libc::getgid(),
        }
    }
}
