//! The channel as futures.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use mon_ipc::{Kind, Limits};
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
        ShmMessage::of(self.kind, self.payload, self.fds.into_iter().next())
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
/// Full duplex from two tasks: [`into_split`](AsyncChannel::into_split)
/// (owned halves, for `tokio::spawn`) or [`split`](AsyncChannel::split)
/// (borrowed halves, for `join!` / `select!`). The halves share the
/// channel; each system call holds its lock, no await does, so a task
/// waiting to receive never holds up one that sends.
///
/// Errors are sticky, as on [`Channel`], and shared by the halves.
#[derive(Debug)]
pub struct AsyncChannel {
    shared: Arc<Shared>,
}

/// What the halves share. Field order matters: the registration goes
/// before the channel, which holds the other reference to the socket.
#[derive(Debug)]
struct Shared {
    io: AsyncFd<Arc<OwnedFd>>,
    channel: Mutex<Channel<Arc<OwnedFd>>>,
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
        sys::sock::set_nonblocking(channel.as_fd(), true)?;
        let mut sock = None;
        let channel = channel.map_socket(|s| {
            let s = Arc::new(s);
            sock = Some(Arc::clone(&s));
            s
        });
        let sock = sock.ok_or(Error::UnsupportedSocket)?;
        let io = sys::reactor::register(sock).map_err(|e| sys::from_io("epoll_ctl", &e))?;
        let channel = Mutex::new(channel);
        Ok(AsyncChannel {
            shared: Arc::new(Shared { io, channel }),
        })
    }

    /// The negotiated limits.
    pub fn limits(&self) -> Limits {
        self.shared.lock().limits()
    }

    /// Deregisters the channel and gives its socket back, dropping
    /// anything queued.
    pub fn into_inner(self) -> OwnedFd {
        self.shared.into_socket()
    }

    /// The next frame; `None` when the peer closed at a frame boundary.
    pub async fn recv(&mut self) -> Result<Option<OwnedMessage>> {
        self.shared.recv().await
    }

    /// Sends one data frame with its fds (closed once sent); what is
    /// queued goes first. The frame is queued at the first poll, so a
    /// dropped future leaves it queued for the next `send` or `flush`.
    pub async fn send(&mut self, payload: &[u8], fds: Vec<OwnedFd>) -> Result<()> {
        self.shared.send(payload, fds).await
    }

    /// Sends `region` in a shared-memory frame (see
    /// [`Channel::send_shm`]); queued as [`send`](AsyncChannel::send) is.
    pub async fn send_shm(&mut self, region: &SharedMemory, payload: &[u8]) -> Result<()> {
        self.shared.send_shm(region, payload).await
    }

    /// Sends everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        self.shared.flush().await
    }

    /// Owned halves, one for each direction, to move into two tasks.
    pub fn into_split(self) -> (OwnedRecvHalf, OwnedSendHalf) {
        let shared = Arc::clone(&self.shared);
        (
            OwnedRecvHalf { shared },
            OwnedSendHalf {
                shared: self.shared,
            },
        )
    }

    /// Borrowed halves, one for each direction, to drive both at once in
    /// one task.
    pub fn split(&mut self) -> (RecvHalf<'_>, SendHalf<'_>) {
        (
            RecvHalf {
                shared: &self.shared,
            },
            SendHalf {
                shared: &self.shared,
            },
        )
    }
}

/// The receiving half of [`AsyncChannel::into_split`].
#[derive(Debug)]
pub struct OwnedRecvHalf {
    shared: Arc<Shared>,
}

/// The sending half of [`AsyncChannel::into_split`].
#[derive(Debug)]
pub struct OwnedSendHalf {
    shared: Arc<Shared>,
}

/// The receiving half of [`AsyncChannel::split`].
#[derive(Debug)]
pub struct RecvHalf<'a> {
    shared: &'a Shared,
}

/// The sending half of [`AsyncChannel::split`].
#[derive(Debug)]
pub struct SendHalf<'a> {
    shared: &'a Shared,
}

impl OwnedRecvHalf {
    /// As [`AsyncChannel::recv`]: cancel-safe.
    pub async fn recv(&mut self) -> Result<Option<OwnedMessage>> {
        self.shared.recv().await
    }
}

impl RecvHalf<'_> {
    /// As [`AsyncChannel::recv`]: cancel-safe.
    pub async fn recv(&mut self) -> Result<Option<OwnedMessage>> {
        self.shared.recv().await
    }
}

impl OwnedSendHalf {
    /// As [`AsyncChannel::send`].
    pub async fn send(&mut self, payload: &[u8], fds: Vec<OwnedFd>) -> Result<()> {
        self.shared.send(payload, fds).await
    }

    /// As [`AsyncChannel::send_shm`].
    pub async fn send_shm(&mut self, region: &SharedMemory, payload: &[u8]) -> Result<()> {
        self.shared.send_shm(region, payload).await
    }

    /// As [`AsyncChannel::flush`].
    pub async fn flush(&mut self) -> Result<()> {
        self.shared.flush().await
    }
}

impl SendHalf<'_> {
    /// As [`AsyncChannel::send`].
    pub async fn send(&mut self, payload: &[u8], fds: Vec<OwnedFd>) -> Result<()> {
        self.shared.send(payload, fds).await
    }

    /// As [`AsyncChannel::send_shm`].
    pub async fn send_shm(&mut self, region: &SharedMemory, payload: &[u8]) -> Result<()> {
        self.shared.send_shm(region, payload).await
    }

    /// As [`AsyncChannel::flush`].
    pub async fn flush(&mut self) -> Result<()> {
        self.shared.flush().await
    }
}

impl Shared {
    /// The channel, for one non-blocking call: never held across an await.
    fn lock(&self) -> MutexGuard<'_, Channel<Arc<OwnedFd>>> {
        // A panic inside a channel call cannot leave it half-updated in a
        // way a later call could misread: its errors are sticky anyway.
        self.channel.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn recv(&self) -> Result<Option<OwnedMessage>> {
        loop {
            // The frame borrows the channel: make it owned under the lock.
            let got = match self.lock().try_recv()? {
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
                // After EAGAIN only: clearing loses no wake-up. (A frame
                // that arrived in between makes the fd ready again.)
                None => ready(self.io.readable().await)?.clear_ready(),
            }
        }
    }

    async fn send(&self, payload: &[u8], fds: Vec<OwnedFd>) -> Result<()> {
        self.lock().push_copy(payload, fds)?;
        self.flush().await
    }

    async fn send_shm(&self, region: &SharedMemory, payload: &[u8]) -> Result<()> {
        self.lock().push_shm(region, payload)?;
        self.flush().await
    }

    async fn flush(&self) -> Result<()> {
        loop {
            let state = self.lock().flush()?;
            match state {
                Flush::Done => return Ok(()),
                Flush::WouldBlock => ready(self.io.writable().await)?.clear_ready(),
            }
        }
    }

    /// The socket, once no half is left.
    fn into_socket(self: Arc<Self>) -> OwnedFd {
        match Arc::try_unwrap(self) {
            Ok(Shared { io, channel }) => {
                drop(io.into_inner());
                let channel = channel.into_inner().unwrap_or_else(|e| e.into_inner());
                match Arc::try_unwrap(channel.into_inner()) {
                    Ok(fd) => fd,
                    // Only the registration held another reference.
                    Err(_) => unreachable!("the socket has one owner once deregistered"),
                }
            }
            Err(_) => unreachable!("AsyncChannel owns the only reference"),
        }
    }
}
