//! The manual's `mon_ipc_send_fd` / `mon_ipc_recv_fd`: one frame each, with
//! 0 or 1 fd, on an authenticated socket, keeping no state between calls;
//! and the same for one shared-memory region (`send_shm` / `recv_shm`).
//!
//! Every call here waits for its whole frame, even on a non-blocking
//! socket (it waits with `poll`): none returns `EAGAIN`. The `_timeout`
//! forms bound that wait with one deadline for the whole frame; the state
//! they leave after a timeout is in the crate docs (`# Timeouts`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use mon_ipc::frame::{HEADER_LEN, Header, KIND_SHM, SHM_HEADER_LEN};
use mon_ipc::{
    DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_SHM_SIZE, Kind, Limits, PeerError, ShmHeader, SocketKind,
    UsageError,
};

use crate::error::{Error, Result};
use crate::shm::SharedMemory;
use crate::sys;
use crate::sys::msg::{Ctrl, Dest, Received};

/// The instant a timeout ends, counted from now; `None` (wait forever) for
/// no timeout, or for one so long that it does not fit in an `Instant`.
#[inline]
pub(crate) fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

/// Sends `buf` as one data frame, with `fd` attached if given, in one
/// `sendmsg` (a short write on a stream is finished without the fd).
///
/// Blocks until the whole frame is sent, even on a non-blocking socket
/// (it waits with `poll`). [`send_fd_timeout`] with `None`.
pub fn send_fd(sock: impl AsFd, buf: &[u8], fd: Option<BorrowedFd<'_>>) -> Result<()> {
    send_fd_timeout(sock, buf, fd, None)
}

/// [`send_fd`] within `timeout` for the whole frame (`None`: no limit):
/// [`Error::Timeout`] when the socket stays full that long. `Some(ZERO)`
/// sends what the socket takes at once and waits for nothing.
///
/// Blocks (waits with `poll`) until the frame is out or the deadline
/// passes, whether the socket is blocking or not; never `EAGAIN`.
/// After a timeout: nothing was sent and the socket is usable, or, on a
/// stream, part of the frame was sent and the socket must be closed
/// ([module docs](crate#timeouts)). `fd` stays the caller's either way.
pub fn send_fd_timeout(
    sock: impl AsFd,
    buf: &[u8],
    fd: Option<BorrowedFd<'_>>,
    timeout: Option<Duration>,
) -> Result<()> {
    send_frame(sock.as_fd(), Kind::Data, buf, fd, deadline(timeout))
}

/// Sends `region` as one shared-memory frame with `payload` after its
/// header: the stateless counterpart of
/// [`Channel::send_shm`](crate::Channel::send_shm). Adds `F_SEAL_SEAL` if
/// the region lacks it, and announces the seals actually on the memfd.
///
/// Blocks until the whole frame is sent, even on a non-blocking socket.
/// [`send_shm_timeout`] with `None`.
pub fn send_shm(sock: impl AsFd, region: &SharedMemory, payload: &[u8]) -> Result<()> {
    send_shm_timeout(sock, region, payload, None)
}

/// [`send_shm`] within `timeout` for the whole frame (`None`: no limit).
/// Blocks (waits with `poll`) even on a non-blocking socket. The state
/// after [`Error::Timeout`] is that of [`send_fd_timeout`]; the caller
/// keeps the region either way.
pub fn send_shm_timeout(
    sock: impl AsFd,
    region: &SharedMemory,
    payload: &[u8],
    timeout: Option<Duration>,
) -> Result<()> {
    let deadline = deadline(timeout);
    region.seal()?;
    let kind = Kind::SharedMemory(region.header()?);
    send_frame(sock.as_fd(), kind, payload, Some(region.as_fd()), deadline)
}

/// One frame of `kind` (its shared-memory header first), `fd` on the
/// first `sendmsg`, waiting on a non-blocking socket until `deadline`.
fn send_frame(
    sock: BorrowedFd<'_>,
    kind: Kind,
    buf: &[u8],
    fd: Option<BorrowedFd<'_>>,
    deadline: Option<Instant>,
) -> Result<()> {
    let shm = match kind {
        Kind::SharedMemory(h) => Some(h.to_bytes()),
        Kind::Data => None,
    };
    let shm: &[u8] = shm.as_ref().map_or(&[], |h| &h[..]);
    let len = u32::try_from(shm.len() + buf.len()).map_err(|_| UsageError::SendTooLarge)?;
    let header = Header {
        len,
        nfds: fd.is_some().into(),
        kind: kind.byte(),
        reserved: 0,
    }
    .to_bytes();
    send_whole(sock, [&header[..], shm, buf], fd.as_slice(), deadline).map_err(|p| p.error)
}

/// Sends the concatenated `parts` as one frame, `fds` with its first byte,
/// finishing a short write without them and waiting on a non-blocking
/// socket until `deadline`. (Shared with
/// [`Channel::send_borrowed`](crate::Channel::send_borrowed).)
///
/// With a deadline every `sendmsg` is `MSG_DONTWAIT`, so that a blocking
/// socket cannot block past it inside the system call. On
/// [`Error::Timeout`], `Err(Partial { sent, .. })` says how many bytes
/// went out (0: none, and the fds were not sent).
#[inline]
pub(crate) fn send_whole<const N: usize, F: AsFd>(
    sock: BorrowedFd<'_>,
    parts: [&[u8]; N],
    fds: &[F],
    deadline: Option<Instant>,
) -> Result<(), Partial> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut sent = 0;
    let dontwait = deadline.is_some();
    let partial = |error, sent| Partial { error, sent };
    while sent < total {
        // (Most frames go whole at the first call: no tails to cut.)
        let tails = if sent == 0 { parts } else { tails(parts, sent) };
        let with = if sent == 0 { fds } else { &[] };
        match sys::msg::sendmsg(sock, &tails, None, with.iter().map(AsFd::as_fd), dontwait) {
            Ok(n) => sent += n,
            Err(e) if e.is_would_block() => {
                sys::sock::wait(sock, true, deadline).map_err(|e| partial(e, sent))?
            }
            Err(e) => return Err(partial(e, sent)),
        }
    }
    Ok(())
}

/// The unsent tails of `parts` once `sent` bytes of them went out.
pub(crate) fn tails<const N: usize>(parts: [&[u8]; N], sent: usize) -> [&[u8]; N] {
    let mut skip = sent;
    parts.map(|p| {
        let cut = skip.min(p.len());
        skip -= cut;
        &p[cut..]
    })
}

/// A [`send_whole`] that failed after `sent` bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Partial {
    pub(crate) error: Error,
    pub(crate) sent: usize,
}

impl From<Partial> for Error {
    fn from(p: Partial) -> Error {
        p.error
    }
}

/// Receives one frame sent by [`send_fd`] (or any frame with at most one
/// fd): appends its payload to `buf` and returns its fd, if it had one.
/// Payloads above 16 MiB are refused; see [`recv_fd_with`]. A
/// shared-memory frame's fd is returned unchecked, with the application
/// bytes after its header: [`recv_shm`] checks and maps it.
///
/// Having no state, `recv_fd` must never read a byte of the next frame: on
/// a stream it reads the 8-byte header (the fd comes with the frame's first
/// byte), then exactly the payload; on seqpacket it peeks at the header to
/// size the buffer, then reads the record. That is two `recvmsg` per frame
/// where a [`Channel`](crate::Channel) needs one; use a channel where speed
/// matters. It waits on a non-blocking socket, as [`send_fd`] does.
///
/// Blocks until a whole frame arrived, even on a non-blocking socket (it
/// waits with `poll`). [`recv_fd_timeout`] with the default limit and
/// `None`.
pub fn recv_fd(sock: impl AsFd, buf: &mut BytesMut) -> Result<Option<OwnedFd>> {
    recv_fd_timeout(sock, buf, DEFAULT_MAX_PAYLOAD, None)
}

/// [`recv_fd`] with a payload limit. A clean EOF before the frame is
/// [`Error::Closed`]. On any error nothing is appended and every fd that
/// arrived is closed. Blocks, as [`recv_fd`] does; [`recv_fd_timeout`]
/// with `None`.
pub fn recv_fd_with(
    sock: impl AsFd,
    buf: &mut BytesMut,
    max_payload: u32,
) -> Result<Option<OwnedFd>> {
    recv_fd_timeout(sock, buf, max_payload, None)
}

/// [`recv_fd_with`] within `timeout` for the whole frame (`None`: no
/// limit): [`Error::Timeout`] when the frame has not arrived by then.
/// `Some(ZERO)` takes a frame already queued whole and waits for nothing.
///
/// Blocks (waits with `poll`) until the frame is in or the deadline
/// passes, whether the socket is blocking or not; never `EAGAIN`. After a
/// timeout nothing is appended and every fd that arrived is closed; if
/// part of the frame was read (only on a stream) the socket's framing is
/// lost and it must be closed, otherwise it is usable
/// ([module docs](crate#timeouts)).
pub fn recv_fd_timeout(
    sock: impl AsFd,
    buf: &mut BytesMut,
    max_payload: u32,
    timeout: Option<Duration>,
) -> Result<Option<OwnedFd>> {
    recv_frame(sock.as_fd(), buf, max_payload, deadline(timeout)).map(|(_, fd)| fd)
}

/// Receives one shared-memory frame sent by [`send_shm`]: appends the
/// application bytes to `buf` and returns the region, checked and mapped
/// ([`SharedMemory::from_fd`]). A data frame is [`Error::ShmExpected`]; on
/// any error nothing is appended, nothing is mapped and every fd is closed.
///
/// Blocks until a whole frame arrived, even on a non-blocking socket.
/// [`recv_shm_timeout`] with `None`.
pub fn recv_shm(sock: impl AsFd, buf: &mut BytesMut) -> Result<SharedMemory> {
    recv_shm_timeout(sock, buf, None)
}

/// [`recv_shm`] within `timeout` for the whole frame (`None`: no limit).
/// Blocks (waits with `poll`) even on a non-blocking socket. The state
/// after [`Error::Timeout`] is that of [`recv_fd_timeout`]: nothing
/// appended, nothing mapped, every fd closed.
pub fn recv_shm_timeout(
    sock: impl AsFd,
    buf: &mut BytesMut,
    timeout: Option<Duration>,
) -> Result<SharedMemory> {
    let deadline = deadline(timeout);
    let start = buf.len();
    let r = match recv_frame(sock.as_fd(), buf, DEFAULT_MAX_PAYLOAD, deadline)? {
        (Kind::SharedMemory(h), Some(fd)) => SharedMemory::from_fd(fd, h),
        // The core's header checks give a kind-1 frame exactly one fd.
        (Kind::SharedMemory(_), None) => Err(PeerError::ShmFdCount.into()),
        (Kind::Data, _) => Err(Error::ShmExpected),
    };
    if r.is_err() {
        buf.truncate(start);
    }
    r
}

/// One frame: its kind (with the shared-memory header checked and taken
/// off the payload) and its fd. On error `buf` is as it was.
fn recv_frame(
    sock: BorrowedFd<'_>,
    buf: &mut BytesMut,
    max_payload: u32,
    deadline: Option<Instant>,
) -> Result<(Kind, Option<OwnedFd>)> {
    let limits = Limits::new(1, max_payload)?;
    let start = buf.len();
    let r = match sys::sockopt::unix_kind(sock)? {
        SocketKind::Stream => recv_stream(sock, buf, limits, deadline),
        SocketKind::Seqpacket => recv_record(sock, buf, limits, deadline),
    }
    .and_then(|(header, fd)| {
        if header.kind != KIND_SHM {
            return Ok((Kind::Data, fd));
        }
        let shm = ShmHeader::parse(&buf[start..])?;
        shm.check(DEFAULT_MAX_SHM_SIZE)?;
        // Take the 12-byte header out from between the earlier bytes of
        // `buf` and the application bytes.
        let end = buf.len();
        buf.copy_within(start + SHM_HEADER_LEN..end, start);
        buf.truncate(end - SHM_HEADER_LEN);
        Ok((Kind::SharedMemory(shm), fd))
    });
    if r.is_err() {
        buf.truncate(start);
    }
    r
}

/// One `recvmsg` into `head`, then `spare` (at most that many bytes
/// appended to the `BytesMut`), waiting on a non-blocking socket until
/// `deadline` (with one, `MSG_DONTWAIT`, so that a blocking socket cannot
/// block past it). `ECONNRESET` reads as EOF.
fn recv_wait(
    sock: BorrowedFd<'_>,
    head: &mut [u8],
    mut spare: Option<(&mut BytesMut, usize)>,
    ctrl: &mut Ctrl,
    fds: &mut Vec<OwnedFd>,
    peek: bool,
    deadline: Option<Instant>,
) -> Result<Received> {
    loop {
        let dest = match spare.as_mut() {
            None => Dest::Slice(&mut *head),
            Some((b, max)) if head.is_empty() => Dest::Spare(b, *max),
            Some((b, max)) => Dest::HeadSpare(&mut *head, b, *max),
        };
        match sys::msg::recvmsg(sock, dest, ctrl, fds, deadline.is_some(), peek) {
            Err(e) if e.is_would_block() => sys::sock::wait(sock, false, deadline)?,
            Err(e) if e.is_reset() => return Ok(Received::default()),
            other => return other,
        }
    }
}

/// The header's checks, then its fd count against the fds its read brought.
fn check_header(h: &[u8; HEADER_LEN], limits: Limits, got_fds: usize) -> Result<Header> {
    let header = Header::from_bytes(h);
    header.check(limits)?;
    let e = match (header.nfds, got_fds) {
        (0, 0) | (1, 1) => return Ok(header),
        (_, 0) => PeerError::FdsMissing,
        _ => PeerError::FdCountMismatch,
    };
    Err(e.into())
}

fn recv_stream(
    sock: BorrowedFd<'_>,
    buf: &mut BytesMut,
    limits: Limits,
    deadline: Option<Instant>,
) -> Result<(Header, Option<OwnedFd>)> {
    let mut ctrl = Ctrl::new(1, false, false);
    let mut fds = Vec::new();
    let mut hdr = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        let had = fds.len();
        let r = recv_wait(
            sock,
            &mut hdr[got..],
            None,
            &mut ctrl,
            &mut fds,
            false,
            deadline,
        )?;
        if r.ctrunc {
            return Err(PeerError::ControlTruncated.into());
        }
        if r.len == 0 && fds.len() == had {
            return Err(if got == 0 {
                Error::Closed
            } else {
                PeerError::EofInFrame.into()
            });
        }
        // Fds belong to the read in which the frame's first byte arrived.
        if got > 0 && fds.len() > had {
            return Err(PeerError::FdsWithoutFrame.into());
        }
        got += r.len;
    }
    let header = check_header(&hdr, limits, fds.len())?;
    let mut left = header.len as usize;
    buf.reserve(left);
    while left > 0 {
        let r = recv_wait(
            sock,
            &mut [],
            Some((buf, left)),
            &mut ctrl,
            &mut fds,
            false,
            deadline,
        )?;
        if r.ctrunc || fds.len() > usize::from(header.nfds) {
            return Err(PeerError::FdsWithoutFrame.into());
        }
        if r.len == 0 {
            return Err(PeerError::EofInFrame.into());
        }
        left -= r.len.min(left);
    }
    Ok((header, fds.pop()))
}

fn recv_record(
    sock: BorrowedFd<'_>,
    buf: &mut BytesMut,
    limits: Limits,
    deadline: Option<Instant>,
) -> Result<(Header, Option<OwnedFd>)> {
    let mut ctrl = Ctrl::new(1, false, false);
    let mut fds = Vec::new();
    let mut hdr = [0u8; HEADER_LEN];
    // A peek with no control buffer installs no fd: they stay queued with
    // the record (the kernel sets MSG_CTRUNC on the peek alone).
    let p = recv_wait(
        sock,
        &mut hdr,
        None,
        &mut Ctrl::none(),
        &mut fds,
        true,
        deadline,
    )?;
    if p.len < HEADER_LEN {
        // Take the short record off the queue, with its fds.
        let r = recv_wait(sock, &mut hdr, None, &mut ctrl, &mut fds, false, deadline)?;
        return Err(match (r.len, fds.len(), r.ctrunc) {
            (0, 0, false) => Error::Closed,
            (0, _, _) => PeerError::FdsWithoutFrame.into(),
            _ => PeerError::RecordSize.into(),
        });
    }
    // Checked before anything is allocated for the payload.
    let peeked = Header::from_bytes(&hdr);
    peeked.check(limits)?;
    let len = peeked.len as usize;
    buf.reserve(len);
    let r = recv_wait(
        sock,
        &mut hdr,
        Some((buf, len)),
        &mut ctrl,
        &mut fds,
        false,
        deadline,
    )?;
    if r.trunc {
        return Err(PeerError::RecordTruncated.into());
    }
    if r.ctrunc {
        return Err(PeerError::ControlTruncated.into());
    }
    let header = check_header(&hdr, limits, fds.len())?;
    if r.len != header.frame_len() {
        return Err(PeerError::RecordSize.into());
    }
    Ok((header, fds.pop()))
}
