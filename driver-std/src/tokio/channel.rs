//! The channel as futures.

use std::os::fd::OwnedFd;

use bytes::Bytes;
use mon_ipc::Kind;
use tokio::io::unix::AsyncFd;

use super::ready;
use crate::channel::{Channel, Flush, Recv, ShmMessage};
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::shm::SharedMemory;
use crate::sys;

/// A received frame that borrows nothing: kind, payload and fds.
#[derive(Debug)]
pub struct OwnedMessage {
    /// Data, or shared memory with its announced size and seals.
    pub kind: Kind,
    /// The payload (a slice of the receive buffer, no copy).
    pub payload: Bytes,
    /// The frame's fds, in the order they were sent.
    pub fds: Vec<OwnedFd>,
}

impl OwnedMessage {
    /// The shared-memory region of a kind-1 frame, checked and mapped,
    /// with the application's bytes ([`crate::Message::into_shm`]).
    pub fn into_shm(self) -> Result<ShmMessage> {
        let Kind::SharedMemory(header) = self.kind else {
            return Err(Error::ShmExpected);
        };
        let fd = self
            .fds
            .into_iter()
            .next()
            .ok_or(Error::Protocol(mon_ipc::PeerError::ShmFdCount.into()))?;
        Ok(ShmMessage {
            region: SharedMemory::from_fd(fd, header)?,
            payload: self.payload,
        })
    }
}

/// An authenticated [`Channel`] on tokio's reactor.
///
/// | method | cancel-safe | a dropped future leaves |
/// |---|---|---|
/// | [`recv`](AsyncChannel::recv) | yes | nothing: a frame is returned whole in the poll that completes it; partial input stays in the decoder |
/// | [`send`](AsyncChannel::send), [`send_shm`](AsyncChannel::send_shm) | no | the frame queued, possibly partly sent: the next `send` or [`flush`](AsyncChannel::flush) sends the rest first; never twice |
/// | [`flush`](AsyncChannel::flush) | yes | what is not sent yet, queued |
///
/// Errors are sticky, as on [`Channel`].
#[derive(Debug)]
pub struct AsyncChannel {
    io: AsyncFd<Channel<OwnedFd>>,
}

impl AsyncChannel {
    /// Registers an authenticated connection's channel with the current
    /// runtime's reactor, turning `O_NONBLOCK` on. Must be called within a
    /// runtime.
    pub fn new(conn: Connection<OwnedFd>) -> Result<AsyncChannel> {
        AsyncChannel::from_channel(conn.channel)
    }

    /// Registers a channel.
    pub fn from_channel(channel: Channel<OwnedFd>) -> Result<AsyncChannel> {
        sys::sock::set_nonblocking(std::os::fd::AsFd::as_fd(&channel), true)?;
        let io = sys::reactor::register(channel).map_err(|e| sys::from_io("epoll_ctl", &e))?;
        Ok(AsyncChannel { io })
    }

    /// The channel, for what has no future (limits, `push`).
    pub fn get_ref(&self) -> &Channel<OwnedFd> {
        self.io.get_ref()
    }

    /// Deregisters the channel and gives its socket back, dropping
    /// anything queued.
    pub fn into_inner(self) -> OwnedFd {
        self.io.into_inner().into_inner()
    }

    /// The next frame; `None` when the peer closed at a frame boundary.
    pub async fn recv(&mut self) -> Result<Option<OwnedMessage>> {
        loop {
            // The frame borrows the channel: make it owned before any await.
            let got = match self.io.get_mut().try_recv()? {
                Recv::Frame(m) => Some(Some(OwnedMessage {
                    kind: m.kind,
                    payload: m.payload,
                    fds: m.fds.collect(),
                })),
                Recv::Eof => Some(None),
                Recv::WouldBlock => None,
            };
            match got {
                Some(m) => return Ok(m),
                // After EAGAIN only: clearing loses no wake-up.
                None => ready(self.io.readable_mut().await)?.clear_ready(),
            }
        }
    }

    /// Sends one data frame with its fds (closed once sent); what is
    /// queued goes first. The frame is queued at the first poll, so a
    /// dropped future leaves it queued for the next `send` or `flush`.
    pub async fn send(&mut self, payload: &[u8], fds: Vec<OwnedFd>) -> Result<()> {
        self.io.get_mut().push_copy(payload, fds)?;
        self.flush().await
    }

    /// Sends `region` in a shared-memory frame (see
    /// [`Channel::send_shm`]); queued as [`send`](AsyncChannel::send) is.
    pub async fn send_shm(&mut self, region: &SharedMemory, payload: &[u8]) -> Result<()> {
        self.io.get_mut().push_shm(region, payload)?;
        self.flush().await
    }

    /// Sends everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        while self.io.get_mut().flush()? == Flush::WouldBlock {
            ready(self.io.writable_mut().await)?.clear_ready();
        }
        Ok(())
    }
}
