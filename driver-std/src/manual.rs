//! The manual's `mon_ipc_send_fd` / `mon_ipc_recv_fd`: one frame each, with
//! 0 or 1 fd, on an authenticated socket, keeping no state between calls.
//!
//! Having no state, `recv_fd` must never read a byte of the next frame: on
//! a stream it reads the 8-byte header (the fd comes with the frame's first
//! byte), then exactly the payload; on seqpacket it peeks at the header to
//! size the buffer, then reads the record. That is two `recvmsg` per frame
//! where a [`Channel`](crate::Channel) needs one; use a channel where speed
//! matters. Both calls wait on a non-blocking socket.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use bytes::BytesMut;
use mon_ipc::frame::{HEADER_LEN, Header, KIND_DATA};
use mon_ipc::{DEFAULT_MAX_PAYLOAD, Limits, PeerError, SocketKind, UsageError};

use crate::error::{Error, Result};
use crate::sys;
use crate::sys::msg::{Ctrl, Dest, Received};

/// Sends `buf` as one data frame, with `fd` attached if given, in one
/// `sendmsg` (a short write on a stream is finished without the fd).
pub fn send_fd(sock: impl AsFd, buf: &[u8], fd: Option<BorrowedFd<'_>>) -> Result<()> {
    let sock = sock.as_fd();
    let len = u32::try_from(buf.len()).map_err(|_| UsageError::SendTooLarge)?;
    let header = Header {
        len,
        nfds: fd.is_some().into(),
        kind: KIND_DATA,
        reserved: 0,
    }
    .to_bytes();
    let total = HEADER_LEN + buf.len();
    let mut sent = 0;
    while sent < total {
        let (h, b) = if sent < HEADER_LEN {
            (&header[sent..], buf)
        } else {
            (&[][..], &buf[sent - HEADER_LEN..])
        };
        let fds = fd.filter(|_| sent == 0).into_iter();
        match sys::msg::sendmsg(sock, &[h, b], None, fds, false) {
            Ok(n) => sent += n,
            Err(e) if e.is_would_block() => sys::sock::wait(sock, true, None)?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Receives one frame sent by [`send_fd`] (or any frame with at most one
/// fd): appends its payload to `buf` and returns its fd, if it had one.
/// Payloads above 16 MiB are refused; see [`recv_fd_with`].
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
    let sock = sock.as_fd();
    let limits = Limits::new(1, max_payload)?;
    let start = buf.len();
    let r = match sys::sockopt::unix_kind(sock)? {
        SocketKind::Stream => recv_stream(sock, buf, limits),
        SocketKind::Seqpacket => recv_record(sock, buf, limits),
    };
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
) -> Result<Option<OwnedFd>> {
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
    Ok(fds.pop())
}

fn recv_record(
    sock: BorrowedFd<'_>,
    buf: &mut BytesMut,
    limits: Limits,
) -> Result<Option<OwnedFd>> {
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
    Ok(fds.pop())
}
