//! The manual's `mon_ipc_send_fd` / `mon_ipc_recv_fd`: one frame each, with
//! 0 or 1 fd, on an authenticated socket, keeping no state between calls;
//! and the same for one shared-memory region (`send_shm` / `recv_shm`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

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

/// Sends `buf` as one data frame, with `fd` attached if given, in one
/// `sendmsg` (a short write on a stream is finished without the fd).
pub fn send_fd(sock: impl AsFd, buf: &[u8], fd: Option<BorrowedFd<'_>>) -> Result<()> {
    send_frame(sock.as_fd(), Kind::Data, buf, fd)
}

/// Sends `region` as one shared-memory frame with `payload` after its
/// header: the stateless counterpart of
/// [`Channel::send_shm`](crate::Channel::send_shm). Adds `F_SEAL_SEAL` if
/// the region lacks it, and announces the seals actually on the memfd.
pub fn send_shm(sock: impl AsFd, region: &SharedMemory, payload: &[u8]) -> Result<()> {
    region.seal()?;
    let kind = Kind::SharedMemory(region.header()?);
    send_frame(sock.as_fd(), kind, payload, Some(region.as_fd()))
}

/// One frame of `kind` (its shared-memory header first), `fd` on the
/// first `sendmsg`, waiting on a non-blocking socket.
fn send_frame(
    sock: BorrowedFd<'_>,
    kind: Kind,
    buf: &[u8],
    fd: Option<BorrowedFd<'_>>,
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
    send_whole(sock, [&header[..], shm, buf], fd.as_slice())
}

/// Sends the concatenated `parts` as one frame, `fds` with its first byte,
/// finishing a short write without them and waiting on a non-blocking
/// socket. (Shared with [`Channel::send_borrowed`](crate::Channel::send_borrowed).)
pub(crate) fn send_whole<const N: usize, F: AsFd>(
    sock: BorrowedFd<'_>,
    parts: [&[u8]; N],
    fds: &[F],
) -> Result<()> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut sent = 0;
    while sent < total {
        // The unsent tails of the parts.
        let mut skip = sent;
        let tails = parts.map(|p| {
            let cut = skip.min(p.len());
            skip -= cut;
            &p[cut..]
        });
        let with = if sent == 0 { fds } else { &[] };
        match sys::msg::sendmsg(sock, &tails, None, with.iter().map(AsFd::as_fd), false) {
            Ok(n) => sent += n,
            Err(e) if e.is_would_block() => sys::sock::wait(sock, true, None)?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
pub fn recv_fd(sock: impl AsFd, buf: &mut BytesMut) -> Result<Option<OwnedFd>> {
    recv_fd_with(sock, buf, DEFAULT_MAX_PAYLOAD)
}

/// [`recv_fd`] with a payload limit. A clean EOF before the frame is
/// [`Error::Closed`]. On any error nothing is appended and every fd that
/// arrived is closed.
pub fn recv_fd_with(
    sock: impl AsFd,
    buf: &mut BytesMut,
    max_payload: u32,
) -> Result<Option<OwnedFd>> {
    recv_frame(sock.as_fd(), buf, max_payload).map(|(_, fd)| fd)
}

/// Receives one shared-memory frame sent by [`send_shm`]: appends the
/// application bytes to `buf` and returns the region, checked and mapped
/// ([`SharedMemory::from_fd`]). A data frame is [`Error::ShmExpected`]; on
/// any error nothing is appended, nothing is mapped and every fd is closed.
pub fn recv_shm(sock: impl AsFd, buf: &mut BytesMut) -> Result<SharedMemory> {
    let start = buf.len();
    let r = match recv_frame(sock.as_fd(), buf, DEFAULT_MAX_PAYLOAD)? {
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
) -> Result<(Kind, Option<OwnedFd>)> {
    let limits = Limits::new(1, max_payload)?;
    let start = buf.len();
    let r = match sys::sockopt::unix_kind(sock)? {
        SocketKind::Stream => recv_stream(sock, buf, limits),
        SocketKind::Seqpacket => recv_record(sock, buf, limits),
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
/// appended to the `BytesMut`), waiting on a non-blocking socket.
/// `ECONNRESET` reads as EOF.
fn recv_wait(
    sock: BorrowedFd<'_>,
    head: &mut [u8],
    mut spare: Option<(&mut BytesMut, usize)>,
    ctrl: &mut Ctrl,
    fds: &mut Vec<OwnedFd>,
    peek: bool,
) -> Result<Received> {
    loop {
        let dest = match spare.as_mut() {
            None => Dest::Slice(&mut *head),
            Some((b, max)) if head.is_empty() => Dest::Spare(b, *max),
            Some((b, max)) => Dest::HeadSpare(&mut *head, b, *max),
        };
        match sys::msg::recvmsg(sock, dest, ctrl, fds, false, peek) {
            Err(e) if e.is_would_block() => sys::sock::wait(sock, false, None)?,
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
) -> Result<(Header, Option<OwnedFd>)> {
    let mut ctrl = Ctrl::new(1, false, false);
    let mut fds = Vec::new();
    let mut hdr = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        let had = fds.len();
        let r = recv_wait(sock, &mut hdr[got..], None, &mut ctrl, &mut fds, false)?;
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
        let r = recv_wait(sock, &mut [], Some((buf, left)), &mut ctrl, &mut fds, false)?;
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
) -> Result<(Header, Option<OwnedFd>)> {
    let mut ctrl = Ctrl::new(1, false, false);
    let mut fds = Vec::new();
    let mut hdr = [0u8; HEADER_LEN];
    // A peek with no control buffer installs no fd: they stay queued with
    // the record (the kernel sets MSG_CTRUNC on the peek alone).
    let p = recv_wait(sock, &mut hdr, None, &mut Ctrl::none(), &mut fds, true)?;
    if p.len < HEADER_LEN {
        // Take the short record off the queue, with its fds.
        let r = recv_wait(sock, &mut hdr, None, &mut ctrl, &mut fds, false)?;
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
    let r = recv_wait(sock, &mut hdr, Some((buf, len)), &mut ctrl, &mut fds, false)?;
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
