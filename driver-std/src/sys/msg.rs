//! `sendmsg` and `recvmsg` with ancillary data, without a heap allocation
//! per message: the send control buffer lives on the stack, the receive
//! control buffer is allocated once per connection ([`Ctrl`]), and control
//! messages are parsed here rather than by `nix` (whose `ScmRights`
//! allocates a `Vec` per message).
//!
//! The message credentials' control message is each system's
//! ([`super::creds`]: `SCM_CREDENTIALS` on Linux, `SCM_CREDS` on FreeBSD,
//! none elsewhere). Two calls differ on macOS, which lacks the flags used
//! here: `MSG_NOSIGNAL` (instead `SO_NOSIGPIPE` is set before each send)
//! and `MSG_CMSG_CLOEXEC` (instead `FD_CLOEXEC` is set on each received fd
//! right after `recvmsg`, see [`recvmsg`]).

use std::mem::{MaybeUninit, size_of};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

use bytes::BytesMut;
use mon_ipc::Ucred;
use nix::errno::Errno;
use nix::libc::{self, c_int, c_uint};

use super::creds::{self, MSG_CREDS_LEN, MSG_CREDS_TYPE};
use super::os;
use crate::error::{Error, Result};

/// `SCM_MAX_FD` (include/net/scm.h): the most fds one `sendmsg` may carry.
/// Linux answers 254 with `EINVAL`; [`sendmsg`] refuses before the call.
/// The protocol's bound on every system.
pub(crate) const SCM_MAX_FD: usize = 253;

/// `SCM_PIDFD` (Linux 6.5+, `include/linux/socket.h`): a pidfd of the
/// process whose `SCM_CREDENTIALS` came with the read. `libc` lacks it.
#[cfg(target_os = "linux")]
pub(crate) const SCM_PIDFD: c_int = 0x04;

/// Most slices one `sendmsg` takes; more is sent as a short write.
pub(crate) const MAX_IOV: usize = 32;

const FD_SIZE: usize = size_of::<RawFd>();
const HDR_SIZE: usize = size_of::<libc::cmsghdr>();

/// `CMSG_SPACE(n)`: a control message with `n` data bytes, padded.
pub(crate) const fn cmsg_space(n: usize) -> usize {
    // SAFETY: CMSG_SPACE is arithmetic on its argument; it touches no memory.
    unsafe { libc::CMSG_SPACE(n as c_uint) as usize }
}

/// `CMSG_LEN(n)`: a control message with `n` data bytes, unpadded.
pub(crate) const fn cmsg_len(n: usize) -> usize {
    // SAFETY: CMSG_LEN is arithmetic on its argument; it touches no memory.
    unsafe { libc::CMSG_LEN(n as c_uint) as usize }
}

/// `CMSG_ALIGN`: where the next control message begins. The system's own
/// alignment (`long` on Linux and the BSDs, 4 bytes on macOS), as
/// `CMSG_SPACE(n) - CMSG_SPACE(0)`.
const fn cmsg_align(n: usize) -> usize {
    cmsg_space(n) - cmsg_space(0)
}

/// Whether the system has message credentials (Linux, FreeBSD).
const HAS_CREDS: bool = MSG_CREDS_LEN != 0;

/// Room for message credentials, or none where the system has none.
const fn creds_space() -> usize {
    if !HAS_CREDS {
        0
    } else {
        cmsg_space(MSG_CREDS_LEN)
    }
}

/// The largest control data we ever send: credentials and 253 fds.
const SEND_CTRL: usize = creds_space() + cmsg_space(SCM_MAX_FD * FD_SIZE);

/// Credentials to attach as message credentials: `{pid, uid, gid}` as
/// Linux's `struct ucred` holds them (FreeBSD's kernel fills in its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) pid: i32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// The send control buffer, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct SendCtrl([MaybeUninit<u8>; SEND_CTRL]);

/// Writes one control message header at `off` and zeroes the padding after
/// its data; returns where its data begins. The caller writes all
/// `data_len` data bytes (zeroing them first cost ~1 000 instructions per
/// frame of 253 fds).
#[inline]
fn put_header(buf: &mut [MaybeUninit<u8>], off: usize, ty: c_int, data_len: usize) -> usize {
    for b in &mut buf[off + cmsg_len(data_len)..off + cmsg_space(data_len)] {
        b.write(0);
    }
    put_cmsghdr(buf, off, ty, data_len)
}

/// The header alone: [`put_header`] for a message whose padding is
/// already zero.
#[inline]
fn put_cmsghdr(buf: &mut [MaybeUninit<u8>], off: usize, ty: c_int, data_len: usize) -> usize {
    let room = &mut buf[off..off + HDR_SIZE];
    // SAFETY: cmsghdr is plain integers (and, on musl, padding): all zeroes is a valid value.
    let mut h: libc::cmsghdr = unsafe { std::mem::zeroed() };
    h.cmsg_len = cmsg_len(data_len) as _;
    h.cmsg_level = libc::SOL_SOCKET;
    h.cmsg_type = ty;
    // SAFETY: `room` is HDR_SIZE bytes of `buf`, so the write stays inside
    // it; write_unaligned has no alignment requirement.
    unsafe { ptr::write_unaligned(room.as_mut_ptr().cast::<libc::cmsghdr>(), h) };
    off + cmsg_len(0)
}

#[inline]
fn put_bytes(buf: &mut [MaybeUninit<u8>], at: usize, bytes: &[u8]) {
    for (d, s) in buf[at..at + bytes.len()].iter_mut().zip(bytes) {
        d.write(*s);
    }
}

/// One `sendmsg(MSG_NOSIGNAL)` of `iov` (at most [`MAX_IOV`] slices; more
/// makes a short write), with message credentials if `creds` (where the
/// system has them: `SCM_CREDENTIALS`, `SCM_CREDS`; elsewhere nothing is
/// attached) and `SCM_RIGHTS` if `fds`. `EINTR` is retried. Returns the
/// bytes sent.
///
/// `MSG_NOSIGNAL`: a peer that closed must give `EPIPE`, not kill us with
/// `SIGPIPE`. macOS has no such flag: `SO_NOSIGPIPE` is set on the socket
/// first (one `setsockopt` per send; the socket may be the caller's, so
/// this cannot be done once when it is made). More than 253 fds is
/// [`Error::TooManyFds`], before the call.
#[inline]
pub(crate) fn sendmsg<'f>(
    sock: BorrowedFd<'_>,
    iov: &[&[u8]],
    creds: Option<Claim>,
    fds: impl ExactSizeIterator<Item = BorrowedFd<'f>>,
    dontwait: bool,
) -> Result<usize> {
    let nfds = fds.len();
    if nfds > SCM_MAX_FD {
        return Err(Error::TooManyFds(nfds));
    }
    // Only the `niov` iovecs the kernel reads are written: zeroing all 32
    // cost ~60 instructions per frame (callgrind), a tenth of the send path.
    let mut iovecs = [const { MaybeUninit::<libc::iovec>::uninit() }; MAX_IOV];
    let niov = iov.len().min(MAX_IOV);
    for (v, s) in iovecs.iter_mut().zip(iov) {
        v.write(libc::iovec {
            iov_base: s.as_ptr().cast_mut().cast(),
            iov_len: s.len(),
        });
    }
    let mut ctrl = SendCtrl([const { MaybeUninit::uninit() }; SEND_CTRL]);
    let mut used = 0;
    if let Some(c) = creds.filter(|_| HAS_CREDS) {
        let at = put_header(&mut ctrl.0, used, MSG_CREDS_TYPE, MSG_CREDS_LEN);
        put_bytes(&mut ctrl.0, at, &creds::encode_claim(c));
        used += cmsg_space(MSG_CREDS_LEN);
    }
    if nfds > 0 {
        // The fds first, then the header with the count actually written:
        // `put_header` does not zero the data, so a `len()` that promised
        // more than the iterator gave must not leave unwritten bytes for the
        // kernel to read as fd numbers (`ExactSizeIterator` is a safe trait).
        let at = used + cmsg_len(0);
        // The padding is zeroed first, as the last 8 bytes of the message
        // (the fds then overwrite what is not padding): zeroing the 0 or 4
        // bytes after the fds one by one became a `memset` call.
        let end = used + cmsg_space(nfds * FD_SIZE);
        ctrl.0[end - 8..end].fill(MaybeUninit::new(0));
        let mut written = 0;
        // One bounds check for the whole room (`SEND_CTRL` has room for
        // `SCM_MAX_FD`), then one 4-byte store per fd: byte-wise copies
        // through `put_bytes` cost ~25 instructions per fd.
        let room = &mut ctrl.0[at..at + nfds * FD_SIZE];
        for (slot, fd) in room.chunks_exact_mut(FD_SIZE).zip(fds) {
            // SAFETY: `slot` is FD_SIZE bytes of the buffer, and
            // write_unaligned has no alignment requirement.
            unsafe { ptr::write_unaligned(slot.as_mut_ptr().cast::<RawFd>(), fd.as_raw_fd()) };
            written += 1;
        }
        if written == nfds {
            put_cmsghdr(&mut ctrl.0, used, libc::SCM_RIGHTS, written * FD_SIZE);
            used += cmsg_space(written * FD_SIZE);
        } else if written > 0 {
            put_header(&mut ctrl.0, used, libc::SCM_RIGHTS, written * FD_SIZE);
            used += cmsg_space(written * FD_SIZE);
        }
    }
    // SAFETY: msghdr is plain integers and pointers: all zeroes is valid (no iov, no control).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // MaybeUninit<iovec> has the layout of iovec; the first `niov` are written.
    msg.msg_iov = iovecs.as_mut_ptr().cast();
    msg.msg_iovlen = niov as _;
    if used > 0 {
        msg.msg_control = ctrl.0.as_mut_ptr().cast();
        msg.msg_controllen = used as _;
    }
    let flags = NOSIGNAL | if dontwait { libc::MSG_DONTWAIT } else { 0 };
    #[cfg(target_os = "macos")]
    super::sockopt::set_int(sock, libc::SO_NOSIGPIPE, 1)?;
    loop {
        // SAFETY: `msg` points to `niov` initialized iovecs that borrow live slices and to
        // `used` initialized control bytes, all alive for the call; the kernel
        // only reads them. The fds in SCM_RIGHTS are borrowed, so open.
        let r = unsafe { raw_sendmsg(sock.as_raw_fd(), &msg, flags) };
        if r >= 0 {
            return Ok(r as usize);
        }
        match Errno::last() {
            Errno::EINTR => continue,
            e => return Err(os("sendmsg", e)),
        }
    }
}

/// A receive control buffer with room for exactly what one connection
/// accepts, allocated once.
///
/// Linux fills it in this order: `SCM_CREDENTIALS`, `SCM_RIGHTS`, then
/// `SCM_PIDFD` (net/core/scm.c, `scm_recv_unix`). It installs as many fds as
/// fit in `(remaining - CMSG_LEN(0)) / 4`, sets `MSG_CTRUNC` and closes the
/// rest. `CMSG_SPACE(4)` already fits 2 fds (alignment padding), so the fd
/// room is `CMSG_LEN(4 * n)` and comes last: that caps a read at exactly
/// `n` fds. When a pidfd is also expected its room follows, and fds can
/// take it: [`recvmsg`] closes any fd beyond `n` and reports a truncation.
#[derive(Debug)]
pub(crate) struct Ctrl {
    buf: Box<[u64]>,
    len: usize,
    max_fds: usize,
}

impl Ctrl {
    /// Room for message credentials if `creds` (`SCM_CREDENTIALS`,
    /// `SCM_CREDS`; none where the system has none), `SCM_PIDFD` if `pidfd`,
    /// and `max_fds` fds (at most 253).
    pub(crate) fn new(max_fds: usize, creds: bool, pidfd: bool) -> Ctrl {
        let max_fds = max_fds.min(SCM_MAX_FD);
        let mut len = 0;
        if creds {
            len += creds_space();
        }
        if max_fds > 0 {
            len += cmsg_len(max_fds * FD_SIZE);
        }
        if pidfd {
            len = cmsg_align(len) + cmsg_space(FD_SIZE);
        }
        Ctrl {
            buf: vec![0u64; len.div_ceil(8)].into_boxed_slice(),
            len,
            max_fds,
        }
    }

    /// No control buffer at all: any fd or credential sets `MSG_CTRUNC`
    /// and is dropped by the kernel (nothing is installed).
    pub(crate) fn none() -> Ctrl {
        Ctrl::new(0, false, false)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the u64 buffer is initialized (zeroed at creation, then
        // written only by the kernel), u8 has no alignment requirement, and
        // `len <= 8 * buf.len()`.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.len) }
    }
}

/// Where the bytes of one read go.
pub(crate) enum Dest<'a> {
    /// Into a slice.
    Slice(&'a mut [u8]),
    /// Appended to a `BytesMut`, at most this many bytes of its spare capacity.
    Spare(&'a mut BytesMut, usize),
    /// First into the slice, then appended to the `BytesMut` (a seqpacket
    /// record: header apart, payload in place).
    HeadSpare(&'a mut [u8], &'a mut BytesMut, usize),
}

/// What one `recvmsg` brought besides fds.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// Bytes read (0 with no control data: EOF).
    pub(crate) len: usize,
    /// Message credentials (`SCM_CREDENTIALS`, `SCM_CREDS`).
    pub(crate) creds: Option<Ucred>,
    /// `SCM_PIDFD`, when the kernel could make one.
    pub(crate) pidfd: Option<OwnedFd>,
    /// `MSG_CTRUNC`, or fds beyond the cap that were closed here.
    pub(crate) ctrunc: bool,
    /// `MSG_TRUNC`: the record was longer than the buffer.
    pub(crate) trunc: bool,
}

impl Received {
    /// The core's view of this read, with the `SCM_RIGHTS` fds it brought.
    pub(crate) fn ancillary(self, fds: Vec<OwnedFd>) -> mon_ipc::Ancillary<OwnedFd> {
        mon_ipc::Ancillary {
            creds: self.creds,
            pidfd: self.pidfd,
            fds,
            ctrunc: self.ctrunc,
            trunc: self.trunc,
        }
    }
}

/// One `recvmsg(MSG_CMSG_CLOEXEC)` into `dest`, `EINTR` retried. Fds of
/// `SCM_RIGHTS` are appended to `fds` (at most the `ctrl`'s cap; reserve
/// that capacity to keep this allocation-free); the others are closed.
///
/// macOS has no `MSG_CMSG_CLOEXEC`: `FD_CLOEXEC` is set on each fd right
/// after the call. Until then, a `fork` + `exec` in another thread of this
/// process passes the new fds to that program: a window std's own
/// `UnixStream` on macOS has too. Avoid spawning while fds are received, or
/// receive them in a process that does not spawn.
///
/// Inlined: at the channel's call site `dest` and `peek` are constants, so
/// the unused branches go, and the result is not returned through memory.
#[inline]
pub(crate) fn recvmsg(
    sock: BorrowedFd<'_>,
    dest: Dest<'_>,
    ctrl: &mut Ctrl,
    fds: &mut Vec<OwnedFd>,
    dontwait: bool,
    peek: bool,
) -> Result<Received> {
    let empty = || libc::iovec {
        iov_base: ptr::null_mut(),
        iov_len: 0,
    };
    let mut iov = [empty(), empty()];
    let mut niov = 1;
    let (head, mut spare) = match dest {
        Dest::Slice(s) => (s, None),
        Dest::Spare(b, max) => (&mut [][..], Some((b, max))),
        Dest::HeadSpare(s, b, max) => (s, Some((b, max))),
    };
    iov[0].iov_base = head.as_mut_ptr().cast();
    iov[0].iov_len = head.len();
    let mut spare_len = 0;
    if let Some((b, max)) = &mut spare {
        let s = b.spare_capacity_mut();
        spare_len = s.len().min(*max);
        let i = usize::from(!head.is_empty());
        iov[i].iov_base = s.as_mut_ptr().cast();
        iov[i].iov_len = spare_len;
        niov = i + 1;
    }
    // SAFETY: msghdr is plain integers and pointers: all zeroes is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = niov as _;
    if ctrl.len > 0 {
        msg.msg_control = ctrl.buf.as_mut_ptr().cast();
        msg.msg_controllen = ctrl.len as _;
    }
    let mut flags = CMSG_CLOEXEC;
    if dontwait {
        flags |= libc::MSG_DONTWAIT;
    }
    if peek {
        flags |= libc::MSG_PEEK;
    }
    // ECONNRESET is the socket's pending error (`sk_err`), reported once
    // and cleared, not the state of its queue: when the peer closed with
    // our input unread, Linux reports it *before* the records still queued
    // on seqpacket (after the queued bytes on a stream). Reading again
    // gets those records, then EOF; taking the reset as EOF at once lost
    // them (a refusal read as `reply_short`). So it is retried once.
    let mut reset = false;
    let n = loop {
        // SAFETY: the iovecs point to `head` and to the spare capacity of the
        // BytesMut (at most `spare_len` bytes), the control pointer to
        // `ctrl.len` bytes of `ctrl.buf`; all are exclusively borrowed and
        // alive for the call, which writes only inside them.
        let r = unsafe { raw_recvmsg(sock.as_raw_fd(), &mut msg, flags) };
        if r >= 0 {
            break r as usize;
        }
        match Errno::last() {
            Errno::EINTR => continue,
            Errno::ECONNRESET if !reset => reset = true,
            e => return Err(os("recvmsg", e)),
        }
    };
    if let Some((b, _)) = spare {
        let into_spare = n.saturating_sub(head.len()).min(spare_len);
        // SAFETY: the kernel wrote `into_spare` bytes at the start of the
        // spare capacity (the second iovec, or the only one with no head),
        // and `into_spare <= spare_len <= capacity - len`.
        unsafe { b.set_len(b.len() + into_spare) };
    }
    let controllen = (msg.msg_controllen as usize).min(ctrl.len);
    let mut got = Received {
        len: n,
        ctrunc: msg.msg_flags & libc::MSG_CTRUNC != 0,
        trunc: msg.msg_flags & libc::MSG_TRUNC != 0,
        ..Received::default()
    };
    parse(ctrl, controllen, fds, &mut got);
    Ok(got)
}

/// Walks the control messages the kernel wrote, taking ownership of every
/// fd in them at once so that none can leak.
#[inline]
fn parse(ctrl: &Ctrl, controllen: usize, fds: &mut Vec<OwnedFd>, got: &mut Received) {
    let bytes = &ctrl.bytes()[..controllen];
    let mut taken = 0;
    let mut off = 0;
    while off + HDR_SIZE <= bytes.len() {
        // SAFETY: `off + HDR_SIZE <= bytes.len()`: the read stays inside the
        // buffer; cmsghdr is plain integers, valid for any bytes.
        let h: libc::cmsghdr = unsafe { ptr::read_unaligned(bytes.as_ptr().add(off).cast()) };
        let clen = h.cmsg_len as usize;
        if clen < cmsg_len(0) {
            break;
        }
        // Some systems leave `cmsg_len` unclamped on truncation: never read
        // past what the kernel says it wrote.
        let data = bytes
            .get(off + cmsg_len(0)..(off + clen).min(bytes.len()))
            .unwrap_or(&[]);
        match (h.cmsg_level, h.cmsg_type) {
            (libc::SOL_SOCKET, libc::SCM_RIGHTS) => {
                for raw in data.chunks_exact(FD_SIZE).map(int) {
                    let Some(fd) = own(raw) else { continue };
                    if taken < ctrl.max_fds {
                        fds.push(fd);
                        taken += 1;
                    } else {
                        got.ctrunc = true;
                    }
                }
            }
            // Too short a one is ignored.
            (libc::SOL_SOCKET, MSG_CREDS_TYPE) if HAS_CREDS => {
                if let Some(c) = creds::decode_message(data) {
                    got.creds = Some(c);
                }
            }
            // The kernel puts `-errno` here when it could not make a pidfd
            // (the sender was already reaped): not an fd.
            #[cfg(target_os = "linux")]
            (libc::SOL_SOCKET, SCM_PIDFD) if data.len() >= FD_SIZE => {
                got.pidfd = own(int(&data[..FD_SIZE]));
            }
            _ => {}
        }
        off += cmsg_align(clen);
    }
}

#[inline]
fn int(b: &[u8]) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    i32::from_ne_bytes(a)
}

/// Takes ownership of an fd the kernel installed for us in this read.
#[inline]
fn own(raw: RawFd) -> Option<OwnedFd> {
    // SAFETY: `raw` comes from SCM_RIGHTS or SCM_PIDFD of the recvmsg that
    // just returned: the kernel installed it in our table for us, and
    // nothing else knows it yet, so we are its only owner. Negative values
    // are error codes, never fds.
    let fd = (raw >= 0).then(|| unsafe { OwnedFd::from_raw_fd(raw) })?;
    cloexec(&fd);
    Some(fd)
}

/// `MSG_NOSIGNAL` where the system has it.
#[cfg(not(target_os = "macos"))]
const NOSIGNAL: c_int = libc::MSG_NOSIGNAL;
/// macOS: none; `SO_NOSIGPIPE` instead (see [`sendmsg`]).
#[cfg(target_os = "macos")]
const NOSIGNAL: c_int = 0;

/// `MSG_CMSG_CLOEXEC` where the system has it.
#[cfg(not(target_os = "macos"))]
const CMSG_CLOEXEC: c_int = libc::MSG_CMSG_CLOEXEC;
/// macOS: none; [`cloexec`] after the call instead.
#[cfg(target_os = "macos")]
const CMSG_CLOEXEC: c_int = 0;

/// Nothing to do: `MSG_CMSG_CLOEXEC` made the fd close-on-exec.
#[cfg(not(target_os = "macos"))]
fn cloexec(_fd: &OwnedFd) {}

/// `fcntl(F_SETFD, FD_CLOEXEC)` on a received fd (macOS). It cannot fail
/// on an open fd we own.
#[cfg(target_os = "macos")]
fn cloexec(fd: &OwnedFd) {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
}

/// `sendmsg(2)`. On Linux through `syscall(2)`: glibc's `sendmsg` is a
/// pthread cancellation point, and in a multi-threaded process it switches
/// asynchronous cancellation on and off around the call (~40 user-space
/// instructions each way, callgrind: 838 -> 758 per fd message in
/// `bench/examples/fd_loop.rs` with `recvmsg` below). Rust never cancels a
/// thread, so nothing is lost; the system call is the same.
///
/// # Safety
/// As `libc::sendmsg`.
#[inline]
unsafe fn raw_sendmsg(fd: RawFd, msg: *const libc::msghdr, flags: libc::c_int) -> isize {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: the caller's contract is sendmsg's; `syscall` passes the
    // three arguments through unchanged and sets errno as `sendmsg` does.
    unsafe {
        libc::syscall(libc::SYS_sendmsg, fd, msg, flags) as isize
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    // SAFETY: the caller's contract is sendmsg's.
    unsafe {
        libc::sendmsg(fd, msg, flags) as isize
    }
}

/// `recvmsg(2)`; on Linux through `syscall(2)`, for the reason given at
/// [`raw_sendmsg`].
///
/// # Safety
/// As `libc::recvmsg`.
#[inline]
unsafe fn raw_recvmsg(fd: RawFd, msg: *mut libc::msghdr, flags: libc::c_int) -> isize {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: the caller's contract is recvmsg's; `syscall` passes the
    // three arguments through unchanged and sets errno as `recvmsg` does.
    unsafe {
        libc::syscall(libc::SYS_recvmsg, fd, msg, flags) as isize
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    // SAFETY: the caller's contract is recvmsg's.
    unsafe {
        libc::recvmsg(fd, msg, flags) as isize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_buffers_have_exactly_the_room_asked_for() {
        assert_eq!(Ctrl::none().len, 0);
        // The fd room is CMSG_LEN, not CMSG_SPACE: CMSG_SPACE(4) = 24 would
        // let the kernel install 2 fds where 1 was meant.
        assert_eq!(Ctrl::new(1, false, false).len, cmsg_len(4));
        assert_eq!(Ctrl::new(253, false, false).len, cmsg_len(253 * 4));
        assert_eq!(Ctrl::new(999, false, false).max_fds, SCM_MAX_FD);
        assert_eq!(Ctrl::new(0, true, false).len, cmsg_space(MSG_CREDS_LEN));
        assert_eq!(
            Ctrl::new(0, true, true).len,
            cmsg_space(MSG_CREDS_LEN) + cmsg_space(FD_SIZE)
        );
    }

    #[test]
    fn cmsg_align_is_the_systems() {
        for n in 0..64 {
            let a = size_of::<usize>();
            assert_eq!(cmsg_align(n), (n + a - 1) & !(a - 1), "{n}");
        }
    }

    #[test]
    fn parse_never_reads_past_what_the_kernel_wrote() {
        // A header claiming more data than the buffer holds (cmsg_len not
        // clamped on truncation): only whole ints inside the buffer count,
        // and here there are none.
        let mut ctrl = Ctrl::new(0, true, false);
        // SAFETY: zeroed cmsghdr is valid.
        let mut h: libc::cmsghdr = unsafe { std::mem::zeroed() };
        h.cmsg_len = 4096 as _;
        h.cmsg_level = libc::SOL_SOCKET;
        h.cmsg_type = libc::SCM_CREDENTIALS;
        // SAFETY: the buffer holds at least HDR_SIZE bytes (32 >= 16).
        unsafe { ptr::write_unaligned(ctrl.buf.as_mut_ptr().cast::<libc::cmsghdr>(), h) };
        let mut fds = Vec::new();
        let mut got = Received::default();
        let len = ctrl.len;
        parse(&ctrl, len, &mut fds, &mut got);
        assert!(fds.is_empty());
        // 16 data bytes are inside: enough for a ucred of zeroes.
        assert_eq!(got.creds, Some(Ucred::from_raw(0, 0, 0)));
    }
}
