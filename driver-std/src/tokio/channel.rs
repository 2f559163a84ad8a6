//! The channel as futures.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};

use mon_ipc::Limits;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::ready;
use crate::channel::{Channel, Flush, OwnedMessage, Recv, TrySend};
use crate::connection::Connection;
use crate::error::{Error, Result};
use crate::shm::SharedMemory;
use crate::sys;

/// An authenticated [`Channel`] on tokio's reactor.
///
/// | method | cancel-safe | a dropped future leaves |
/// |---|---|---|
/// | [`recv`](AsyncChannel::recv) | yes | nothing: a frame is returned whole in the poll that completes it; partial input stays in the decoder |
/// | [`send`](AsyncChannel::send), [`send_shm`](AsyncChannel::send_shm) | no | the frame queued, possibly partly sent: the next send or [`flush`](AsyncChannel::flush) sends the rest first; never twice |
/// | [`send_borrowed`](AsyncChannel::send_borrowed) | no | nothing, if the frame was not begun; else its unsent rest queued (its fds went with its first byte), sent first by the next send or `flush`; never twice |
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
    shared: Shared,
}

/// What the halves share. Field order matters: the registration goes
/// before the channel, which holds the other reference to the socket.
///
/// The socket is registered for reading only. With writing too, every
/// read of the peer (which frees room in the socket's send buffer) raises
/// an `EPOLLOUT` edge that wakes the reactor for nothing: in a round trip
/// (send, then await the reply) the runtime then made two `epoll_wait`
/// where one does (`bench/examples/async_loop.rs` under `strace -c`: 1.92
/// per round trip). A send that finds the socket full registers a
/// duplicate of the socket for writing for as long as it waits
/// ([`Shared::when_writable`]): `dup`, two `epoll_ctl` and a `close`,
/// only when the peer reads more slowly than we write.
#[derive(Debug)]
struct Shared {
    io: AsyncFd<Arc<OwnedFd>>,
    channel: Mutex<Channel<Arc<OwnedFd>>>,
}

/// The receiving calls, the same on the channel and its receiving halves.
macro_rules! recv_calls {
    () => {
        /// The next frame; `None` when the peer closed at a frame
        /// boundary. Cancel-safe: a frame is returned whole in the poll
        /// that completes it, partial input stays in the decoder.
        pub async fn recv(&mut self) -> Result<Option<OwnedMessage>> {
            self.shared.recv().await
        }
    };
}

/// The sending calls, the same on the channel and its sending halves.
macro_rules! send_calls {
    () => {
        /// Sends one data frame with its fds (closed once sent); what is
        /// queued goes first. The frame is sent or queued at the first
        /// poll, so a dropped future leaves it queued (possibly partly
        /// sent) for the next send or [`flush`](AsyncChannel::flush): never
        /// lost, never sent twice. The payload is copied only if the socket
        /// cannot take the frame at once.
        pub async fn send(&mut self, payload: &[u8], fds: Vec<OwnedFd>) -> Result<()> {
            self.shared.send(payload, fds).await
        }

        /// Sends one data frame whose fds stay the caller's (no `dup`, no
        /// `close`: see [`Channel::send_borrowed`]); what is queued goes
        /// first. A dropped future leaves either nothing (the frame was not
        /// begun) or the frame's unsent rest queued, its fds sent with its
        /// first byte, for the next send or [`flush`](AsyncChannel::flush).
        ///
        /// ```no_run
        /// # async fn f(ch: &mut mon_ipc_std::tokio::AsyncChannel, file: &std::fs::File) -> mon_ipc_std::Result<()> {
        /// use std::os::fd::AsFd;
        /// ch.send_borrowed(b"here is the log file", &[file.as_fd()]).await?;
        /// // `file` is still open here, and was never duplicated.
        /// # Ok(()) }
        /// ```
        pub async fn send_borrowed(
            &mut self,
            payload: &[u8],
            fds: &[BorrowedFd<'_>],
        ) -> Result<()> {
            self.shared.send_borrowed(payload, fds).await
        }

        /// Sends `region` in a shared-memory frame (see
        /// [`Channel::send_shm`]); queued at the first poll, as
        /// [`send`](AsyncChannel::send) is.
        pub async fn send_shm(&mut self, region: &SharedMemory, payload: &[u8]) -> Result<()> {
            self.shared.send_shm(region, payload).await
        }

        /// Sends everything queued. Cancel-safe: what is not sent yet
        /// stays queued.
        pub async fn flush(&mut self) -> Result<()> {
            self.shared.flush().await
        }
    };
}

impl AsyncChannel {
    /// Registers an authenticated connection's channel with the current
    /// runtime's reactor, turning `O_NONBLOCK` on. Must be called within a
    /// runtime.
    pub fn new<P>(conn: Connection<OwnedFd, P>) -> Result<AsyncChannel> {
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
        let io = sys::reactor::register_for(sock, Interest::READABLE)
            .map_err(|e| sys::from_io("epoll_ctl", &e))?;
        let channel = Mutex::new(channel);
        Ok(AsyncChannel {
            shared: Shared { io, channel },
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

    recv_calls!();
    send_calls!();

    /// Owned halves, one for each direction, to move into two tasks.
    pub fn into_split(self) -> (OwnedRecvHalf, OwnedSendHalf) {
        let shared = Arc::new(self.shared);
        let send = OwnedSendHalf {
            shared: Arc::clone(&shared),
        };
        (OwnedRecvHalf { shared }, send)
    }

    /// Borrowed halves, one for each direction, to drive both at once in
    /// one task.
    pub fn split(&mut self) -> (RecvHalf<'_>, SendHalf<'_>) {
        let shared = &self.shared;
        (RecvHalf { shared }, SendHalf { shared })
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
    recv_calls!();
}

impl RecvHalf<'_> {
    recv_calls!();
}

impl OwnedSendHalf {
    send_calls!();
}

impl SendHalf<'_> {
    send_calls!();
}

impl Shared {
    /// The channel, for one non-blocking call: never held across an await.
    fn lock(&self) -> MutexGuard<'_, Channel<Arc<OwnedFd>>> {
        // A panic inside a channel call cannot leave it half-updated in a
        // way a later call could misread: its errors are sticky anyway.
        self.channel.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn recv(&self) -> Result<Option<OwnedMessage>> {
        // A frame the decoder holds needs no readiness (the handshake's
        // leftover may hold frames that no readiness event will announce).
        if let Some(m) = owned(self.lock().try_recv_buffered()?) {
            return Ok(m);
        }
        self.when_ready(&self.io, Interest::READABLE, |ch| Ok(owned(ch.try_recv()?)))
            .await
    }

    async fn send(&self, payload: &[u8], fds: Vec<OwnedFd>) -> Result<()> {
        let sent = {
            // Straight to the socket (no copy) when it takes the frame now;
            // the fds are closed once sent, at the end of this block.
            let mut channel = self.lock();
            let sent = channel.try_send_borrowed(payload, &fds)?;
            if sent == TrySend::WouldBlock {
                channel.push_copy(payload, fds)?;
            }
            sent
        };
        match sent {
            // Nothing queued: no second lock for a flush with nothing to do.
            TrySend::Sent => Ok(()),
            TrySend::Started | TrySend::WouldBlock => self.flush().await,
        }
    }

    async fn send_borrowed(&self, payload: &[u8], fds: &[BorrowedFd<'_>]) -> Result<()> {
        let mut sent = self.lock().try_send_borrowed(payload, fds)?;
        if sent == TrySend::WouldBlock {
            sent = self
                .when_writable(|ch| {
                    let sent = ch.try_send_borrowed(payload, fds)?;
                    Ok((sent != TrySend::WouldBlock).then_some(sent))
                })
                .await?;
        }
        match sent {
            TrySend::Started => self.flush().await,
            _ => Ok(()),
        }
    }

    async fn send_shm(&self, region: &SharedMemory, payload: &[u8]) -> Result<()> {
        self.lock().push_shm(region, payload)?;
        self.flush().await
    }

    async fn flush(&self) -> Result<()> {
        // Nothing queued (the common case): no system call.
        if self.lock().flush()? == Flush::Done {
            return Ok(());
        }
        self.when_writable(|ch| Ok((ch.flush()? == Flush::Done).then_some(())))
            .await
    }

    /// [`when_ready`](Shared::when_ready) for writing, through a
    /// registration for writing of a duplicate of the socket, which lives
    /// as long as this wait (see [`Shared`] for why).
    async fn when_writable<T>(
        &self,
        op: impl FnMut(&mut Channel<Arc<OwnedFd>>) -> Result<Option<T>>,
    ) -> Result<T> {
        let dup = self
            .io
            .get_ref()
            .try_clone()
            .map_err(|e| sys::from_io("fcntl", &e))?;
        let io = sys::reactor::register_for(dup, Interest::WRITABLE)
            .map_err(|e| sys::from_io("epoll_ctl", &e))?;
        self.when_ready(&io, Interest::WRITABLE, op).await
    }

    /// Calls `op` (one non-blocking channel call under the lock; `None`:
    /// the kernel said `EAGAIN`) each time the socket is ready for
    /// `interest`, until it gives a result.
    ///
    /// The readiness guard is taken before the call, so that clearing it
    /// after `EAGAIN` clears only the readiness the call saw (tokio's
    /// `AsyncFd` rule). The other order, clearing a guard taken after the
    /// `EAGAIN`, can clear an event that came in between (another worker
    /// of a multi-thread runtime may turn the reactor meanwhile), and with
    /// edge-triggered epoll that wake-up is lost for good.
    async fn when_ready<T, F: AsRawFd>(
        &self,
        io: &AsyncFd<F>,
        interest: Interest,
        mut op: impl FnMut(&mut Channel<Arc<OwnedFd>>) -> Result<Option<T>>,
    ) -> Result<T> {
        loop {
            let mut guard = ready(io.ready(interest).await)?;
            match op(&mut self.lock())? {
                Some(t) => return Ok(t),
                None => guard.clear_ready(),
            }
        }
    }

    /// The socket, deregistered.
    fn into_socket(self) -> OwnedFd {
        let Shared { io, channel } = self;
        drop(io.into_inner());
        let channel = channel.into_inner().unwrap_or_else(|e| e.into_inner());
        match Arc::try_unwrap(channel.into_inner()) {
            Ok(fd) => fd,
            // The registration held the only other reference.
            Err(_) => unreachable!("the socket has one owner once deregistered"),
        }
    }
}

/// A receive's result, owned: `Some(None)` at EOF, `None` if it would block.
fn owned(r: Recv<'_>) -> Option<Option<OwnedMessage>> {
    match r {
        Recv::Frame(m) => Some(Some(m.into_owned())),
        Recv::Eof => Some(None),
        Recv::WouldBlock => None,
    }
}
