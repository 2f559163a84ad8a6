//! The message channel on a real socket: frames with their fds
//! ([`Channel`]).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mon_ipc::{Decoder, Encoder, Kind, Leftover, Limits, ReadFlags, SocketKind};

use crate::error::{Error, Result};
use crate::shm::SharedMemory;
use crate::sys;
use crate::sys::msg::{Ctrl, Dest, MAX_IOV};

/// A received frame. Its fds borrow the channel: take them (or drop the
/// iterator, which closes the ones not taken) before the next receive.
#[derive(Debug)]
pub struct Message<'a> {
    /// Data, or shared memory with its announced size and seals.
    pub kind: Kind,
    /// The payload, a slice of the receive buffer (no copy).
    pub payload: Bytes,
    /// The frame's fds, in the order they were sent.
    pub fds: std::vec::Drain<'a, OwnedFd>,
}

impl Message<'_> {
    /// The frame with its fds taken out of the channel: a message that
    /// borrows nothing (what [`Channel::recv_owned`] gives).
    pub fn into_owned(self) -> OwnedMessage {
        OwnedMessage {
            kind: self.kind,
            payload: self.payload,
            fds: self.fds.collect(),
        }
    }

    /// The shared-memory region of a kind-1 frame, checked and mapped
    /// ([`SharedMemory::from_fd`]), with the application's bytes.
    /// [`Error::ShmExpected`] for a data frame, whose fds are closed.
    ///
    /// Unlike [`Channel::recv_shm`], a refusal here does not fail the
    /// channel: the caller should close the connection itself.
    pub fn into_shm(mut self) -> Result<ShmMessage> {
        ShmMessage::of(self.kind, self.payload, self.fds.next())
    }
}

/// A received frame that borrows nothing: kind, payload and fds. What
/// [`Channel::recv_owned`] and the async channel give; a [`Message`]
/// becomes one with [`Message::into_owned`].
///
/// It costs one `Vec` per frame that has fds (none for a frame without):
/// a loop that wants no allocation per frame uses [`Channel::recv`].
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
    /// with the application's bytes ([`Message::into_shm`]).
    pub fn into_shm(self) -> Result<ShmMessage> {
        ShmMessage::of(self.kind, self.payload, self.fds.into_iter().next())
    }
}

/// A received shared-memory frame: the region, checked and mapped, and
/// the application's bytes that followed the 12-byte header.
#[derive(Debug)]
pub struct ShmMessage {
    /// The region.
    pub region: SharedMemory,
    /// The application's bytes (no copy).
    pub payload: Bytes,
}

impl ShmMessage {
    /// The region of a frame of `kind` whose first fd is `fd`, checked and
    /// mapped; [`Error::ShmExpected`] for a data frame.
    pub(crate) fn of(kind: Kind, payload: Bytes, fd: Option<OwnedFd>) -> Result<ShmMessage> {
        let Kind::SharedMemory(header) = kind else {
            return Err(Error::ShmExpected);
        };
        // The core hands a kind-1 frame over with exactly one fd.
        let fd = fd.ok_or(Error::Protocol(mon_ipc::PeerError::ShmFdCount.into()))?;
        Ok(ShmMessage {
            region: SharedMemory::from_fd(fd, header)?,
            payload,
        })
    }
}

/// What a non-blocking receive gave.
#[derive(Debug)]
pub enum Recv<'a> {
    /// A frame.
    Frame(Message<'a>),
    /// The socket gave `EAGAIN`: wait until it is readable.
    WouldBlock,
    /// The peer closed the connection at a frame boundary.
    Eof,
}

/// What a non-blocking flush achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flush {
    /// Everything queued was sent.
    Done,
    /// The socket gave `EAGAIN`: wait until it is writable, then flush again.
    WouldBlock,
}

/// What a non-blocking borrowed send ([`Channel::try_send_borrowed`]) did
/// with its frame. The fds stay the caller's in every case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrySend {
    /// The whole frame went out.
    Sent,
    /// Its first bytes went out, with the fds; the channel keeps a copy of
    /// the rest, which [`Channel::flush`] sends.
    Started,
    /// The socket gave `EAGAIN` before the frame's first byte (or while
    /// what was queued before it was being sent): nothing of it was sent
    /// and nothing is kept. Wait until the socket is writable and try again.
    WouldBlock,
}

/// Internal outcome of filling the current frame.
enum Filled {
    /// The frame's kind and payload (its fds are in `frame_fds`).
    Frame(Kind, Bytes),
    WouldBlock,
    Eof,
}

/// Frames over an authenticated socket `S`.
///
/// Sending: frames are queued in the core's [`Encoder`], which knows which
/// may share a `sendmsg` (fd-less ones, batched into one vectored call) and
/// which must not (a frame with fds starts its own `sendmsg`, so that the
/// kernel ties its fds to its first byte). [`Channel::flush`] makes one
/// `sendmsg` per batch; a short write is resumed without the fds.
///
/// Receiving: one `recvmsg` per read, straight into the decoder's buffer
/// (no copy), with a control buffer that has room for exactly the
/// negotiated number of fds. The decoder attributes the fds and checks
/// everything; on any error it closes every fd it holds, and the channel
/// drops its queued output: the connection must then be closed.
///
/// # Blocking and timeouts
///
/// [`recv`](Channel::recv), [`recv_shm`](Channel::recv_shm),
/// [`send`](Channel::send), [`send_borrowed`](Channel::send_borrowed),
/// [`send_shm`](Channel::send_shm) and [`flush_all`](Channel::flush_all)
/// wait until they are done, even on a non-blocking socket (with `poll`);
/// [`try_recv`](Channel::try_recv) and [`flush`](Channel::flush) never wait
/// on a non-blocking socket and say `WouldBlock` instead. The waits are
/// bounded by [`set_read_timeout`](Channel::set_read_timeout) (the
/// receives) and [`set_write_timeout`](Channel::set_write_timeout) (the
/// sends), one deadline per call, after which the call returns
/// [`Error::Timeout`]. A timeout is not a channel error: the channel stays
/// usable, nothing is lost, no fd leaks:
///
/// - a receive that timed out keeps what it read (a partial frame, with
///   its fds) in the decoder; the next receive goes on from there;
/// - frames queued with [`push`](Channel::push) (and `send_shm`'s frame)
///   stay queued; [`flush`](Channel::flush) or `flush_all` sends them later;
/// - a [`send`](Channel::send) / [`send_borrowed`](Channel::send_borrowed)
///   that timed out before its first byte sent nothing (`send`'s fds are
///   closed, `send_borrowed`'s stay the caller's); one that timed out mid
///   frame had its fds sent with the first byte, and the channel keeps a
///   copy of the frame's unsent bytes, sent first by the next `flush`,
///   `flush_all` or send (see [`queued_bytes`](Channel::queued_bytes)).
#[derive(Debug)]
pub struct Channel<S> {
    sock: S,
    encoder: Encoder<OwnedFd>,
    decoder: Decoder<OwnedFd>,
    ctrl: Ctrl,
    /// The fds of the read in progress; capacity for a whole read.
    read_fds: Vec<OwnedFd>,
    /// The fds of the frame `send` is sending; capacity for a whole frame.
    send_fds: Vec<OwnedFd>,
    /// The fds of the frame last returned.
    frame_fds: Vec<OwnedFd>,
    /// The unsent rest of a frame that `send` / `send_borrowed` began and
    /// a timeout interrupted: it goes before anything queued.
    tail: Vec<u8>,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    error: Option<Error>,
}

impl<S: AsFd> Channel<S> {
    /// A channel within `limits` (the negotiated ones), given the
    /// handshake's leftover input first. An error in the leftover is kept
    /// and returned by the first receive.
    pub(crate) fn new(
        sock: S,
        limits: Limits,
        kind: SocketKind,
        leftover: Leftover<OwnedFd>,
    ) -> Self {
        let max_fds = usize::from(limits.max_fds());
        let mut decoder = Decoder::new(limits, kind);
        let error = decoder.receive_leftover(leftover).err().map(Error::from);
        Channel {
            sock,
            encoder: Encoder::new(limits, kind),
            decoder,
            ctrl: Ctrl::new(max_fds, false, false),
            read_fds: Vec::with_capacity(max_fds),
            send_fds: Vec::with_capacity(max_fds),
            frame_fds: Vec::with_capacity(max_fds),
            tail: Vec::new(),
            read_timeout: None,
            write_timeout: None,
            error,
        }
    }

    /// The same channel over `f(socket)` (the async driver shares the
    /// socket between the channel and the reactor).
    #[cfg(feature = "tokio")]
    pub(crate) fn map_socket<T>(self, f: impl FnOnce(S) -> T) -> Channel<T> {
        Channel {
            sock: f(self.sock),
            encoder: self.encoder,
            decoder: self.decoder,
            ctrl: self.ctrl,
            read_fds: self.read_fds,
            send_fds: self.send_fds,
            frame_fds: self.frame_fds,
            tail: self.tail,
            read_timeout: self.read_timeout,
            write_timeout: self.write_timeout,
            error: self.error,
        }
    }

    /// The negotiated limits, which every frame sent or received must keep.
    pub fn limits(&self) -> Limits {
        self.decoder.limits()
    }

    /// The socket.
    pub fn get_ref(&self) -> &S {
        &self.sock
    }

    /// Bounds the wait of every receive that waits ([`recv`](Channel::recv),
    /// [`recv_shm`](Channel::recv_shm)): one deadline per call, then
    /// [`Error::Timeout`] with the channel still usable (see
    /// [`Channel`]'s "Blocking and timeouts"). `None` (the default) waits
    /// forever. As with std's `UnixStream::set_read_timeout`, a zero
    /// duration is refused: [`Error::Io`] with `EINVAL`
    /// (`io::ErrorKind::InvalidInput`), and the timeout is unchanged.
    ///
    /// The socket's `SO_RCVTIMEO` is neither set nor obeyed: the channel
    /// waits with `poll` (on a non-blocking socket, or with a timeout set
    /// on a blocking one, whose reads then use `MSG_DONTWAIT`), so a
    /// kernel timeout would bound one `recvmsg`, not the call, and does
    /// nothing on a non-blocking socket. The timeout lives in the channel.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.read_timeout = nonzero(timeout)?;
        Ok(())
    }

    /// Bounds the wait of every send that waits ([`send`](Channel::send),
    /// [`send_borrowed`](Channel::send_borrowed),
    /// [`send_shm`](Channel::send_shm), [`flush_all`](Channel::flush_all)):
    /// one deadline per call, then [`Error::Timeout`] with the channel
    /// still usable and the unsent bytes kept (see [`Channel`]'s "Blocking
    /// and timeouts"). `None` (the default) waits forever; a zero duration
    /// is refused as by [`set_read_timeout`](Channel::set_read_timeout).
    /// `SO_SNDTIMEO` is not used, for the same reason.
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.write_timeout = nonzero(timeout)?;
        Ok(())
    }

    /// The receives' timeout ([`set_read_timeout`](Channel::set_read_timeout)).
    pub fn read_timeout(&self) -> Option<Duration> {
        self.read_timeout
    }

    /// The sends' timeout ([`set_write_timeout`](Channel::set_write_timeout)).
    pub fn write_timeout(&self) -> Option<Duration> {
        self.write_timeout
    }

    /// Gives the socket back, dropping anything queued.
    pub fn into_inner(self) -> S {
        self.sock
    }

    /// Queues a data frame whose payload is sent without copying.
    /// A frame beyond the limits is refused here, with nothing queued
    /// and the fds closed; the channel stays usable.
    pub fn push(&mut self, payload: Bytes, fds: impl IntoIterator<Item = OwnedFd>) -> Result<()> {
        self.push_frame(Kind::Data, payload, fds)
    }

    /// Queues a frame of any kind (see [`mon_ipc::ShmHeader`]).
    pub fn push_frame(
        &mut self,
        kind: Kind,
        payload: Bytes,
        fds: impl IntoIterator<Item = OwnedFd>,
    ) -> Result<()> {
        self.check()?;
        Ok(self.encoder.push(kind, payload, fds)?)
    }

    /// Queues a data frame, copying the payload (best for small ones).
    pub fn push_copy(
        &mut self,
        payload: &[u8],
        fds: impl IntoIterator<Item = OwnedFd>,
    ) -> Result<()> {
        self.check()?;
        Ok(self.encoder.push_copy(Kind::Data, payload, fds)?)
    }

    /// Bytes queued and not yet sent, including the rest of a frame whose
    /// send timed out mid-way.
    pub fn queued_bytes(&self) -> usize {
        self.tail.len() + self.encoder.queued_bytes()
    }

    /// Sends what is queued, one `sendmsg` per batch, until done or `EAGAIN`.
    /// Never waits on a non-blocking socket.
    pub fn flush(&mut self) -> Result<Flush> {
        self.flush_with(false)
    }

    /// [`flush`](Channel::flush), with `MSG_DONTWAIT` if `dontwait`.
    fn flush_with(&mut self, dontwait: bool) -> Result<Flush> {
        self.check()?;
        while !self.tail.is_empty() {
            let none = std::iter::empty::<BorrowedFd<'_>>();
            match sys::msg::sendmsg(self.sock.as_fd(), &[&self.tail], None, none, dontwait) {
                Ok(n) => drop(self.tail.drain(..n.min(self.tail.len()))),
                Err(e) if e.is_would_block() => return Ok(Flush::WouldBlock),
                Err(e) => return Err(self.fail(e)),
            }
        }
        // `is_empty` first: building the slice array only to learn that
        // nothing is left cost ~100 instructions per flush.
        while !self.encoder.is_empty() {
            let mut slices: [&[u8]; MAX_IOV] = [&[]; MAX_IOV];
            let Some(t) = self.encoder.transmit(&mut slices) else {
                return Ok(Flush::Done);
            };
            let fds = t.fds.map(AsFd::as_fd);
            let r = sys::msg::sendmsg(self.sock.as_fd(), &slices[..t.slices], None, fds, dontwait);
            match r {
                Ok(n) => {
                    if let Err(e) = self.encoder.advance(n) {
                        return Err(self.fail(e.into()));
                    }
                }
                Err(e) if e.is_would_block() => return Ok(Flush::WouldBlock),
                Err(e) => return Err(self.fail(e)),
            }
        }
        Ok(Flush::Done)
    }

    /// Sends everything queued, waiting for the socket if it is
    /// non-blocking (with `poll`), at most the write timeout: after
    /// [`Error::Timeout`] what is left stays queued.
    pub fn flush_all(&mut self) -> Result<()> {
        self.flush_until(crate::manual::deadline(self.write_timeout))
    }

    /// [`flush_all`](Channel::flush_all) until `deadline`.
    fn flush_until(&mut self, deadline: Option<Instant>) -> Result<()> {
        while self.flush_with(deadline.is_some())? == Flush::WouldBlock {
            sys::sock::wait(self.sock.as_fd(), true, deadline)?;
        }
        Ok(())
    }

    /// Sends one data frame and waits until it is out (what is queued goes
    /// first). The fds are closed once sent; a sender that keeps its fds
    /// should use [`send_borrowed`](Channel::send_borrowed), which saves a
    /// `dup` and a `close` per fd. A frame beyond the limits is refused with
    /// nothing sent and the fds closed; the channel stays usable.
    ///
    /// Waits until the frame is out, even on a non-blocking socket, at most
    /// the write timeout; after [`Error::Timeout`] see [`Channel`]'s
    /// "Blocking and timeouts" (the fds are closed either way).
    ///
    /// The payload goes from `payload` to the kernel without a copy into
    /// the queue: besides the copy itself, that copy ran at a third of the
    /// raw rate for 4-256 KiB payloads on AMD EPYC (`rep movsb` with the
    /// destination 8 bytes ahead of the source).
    // The measurements: docs/PERFORMANCE.md in the repository.
    pub fn send(&mut self, payload: &[u8], fds: impl IntoIterator<Item = OwnedFd>) -> Result<()> {
        // A reused vector: no allocation, and no more than the limit is
        // taken from `fds` (the rest are closed at once).
        let mut owned = std::mem::take(&mut self.send_fds);
        let max = usize::from(self.limits().max_fds());
        let mut too_many = false;
        for fd in fds {
            match owned.len() < max {
                true => owned.push(fd),
                false => too_many = true,
            }
        }
        let r = match too_many {
            true => self
                .check()
                .and(Err(mon_ipc::UsageError::SendTooManyFds.into())),
            false => self.send_now(payload, &owned),
        };
        owned.clear();
        self.send_fds = owned;
        r
    }

    /// Sends one data frame whose fds stay the caller's, and waits until it
    /// is out; what is queued goes first.
    ///
    /// Why: [`send`](Channel::send) and the queue own the fds they send and
    /// close them once sent, so a sender that keeps its fds must `dup` each one
    /// (and the channel then closes the duplicate): with 253 fds that doubles
    /// the cost of the frame. Here the fds are only borrowed for the `sendmsg`,
    /// in which the kernel takes its own references. The payload is not copied
    /// either.
    ///
    /// The fds go with the frame's first byte; on a stream a short write is
    /// finished without them, as the queue does. A frame beyond the limits
    /// is refused before anything is sent, and the channel stays usable.
    ///
    /// Waits until the frame is out, even on a non-blocking socket, at most
    /// the write timeout. After [`Error::Timeout`] the fds stay the
    /// caller's; they were sent if any byte of the frame was, and the
    /// channel then keeps a copy of the frame's unsent bytes, which the
    /// next `flush`, `flush_all` or send finishes (see [`Channel`]'s
    /// "Blocking and timeouts").
    ///
    /// ```no_run
    /// # fn f(ch: &mut mon_ipc_std::Channel<std::os::fd::OwnedFd>, file: &std::fs::File) -> mon_ipc_std::Result<()> {
    /// use std::os::fd::AsFd;
    /// ch.send_borrowed(b"here is the log file", &[file.as_fd()])?;
    /// // `file` is still open here, and was never duplicated.
    /// # Ok(()) }
    /// ```
    // The measurements: docs/PERFORMANCE.md in the repository.
    pub fn send_borrowed(&mut self, payload: &[u8], fds: &[BorrowedFd<'_>]) -> Result<()> {
        self.send_now(payload, fds)
    }

    /// [`send_borrowed`](Channel::send_borrowed) that never waits on a
    /// non-blocking socket (nor, with `MSG_DONTWAIT`, on a blocking one):
    /// what is queued goes first, then one `sendmsg` of the frame. For poll
    /// loops that keep their fds: the queue ([`push`](Channel::push)) owns
    /// what it sends, so it costs a `dup` and a `close` per fd.
    ///
    /// [`TrySend::Started`] when the socket took only part of the frame: its
    /// fds went with the first byte, and the rest is kept for
    /// [`flush`](Channel::flush) (wait until writable, then flush until
    /// [`Flush::Done`]). [`TrySend::WouldBlock`]: nothing of the frame was
    /// sent; try again once writable. A frame beyond the limits is refused
    /// before anything is sent, and the channel stays usable.
    ///
    /// ```no_run
    /// # fn f(ch: &mut mon_ipc_std::Channel<std::os::fd::OwnedFd>, file: &std::fs::File) -> mon_ipc_std::Result<()> {
    /// use std::os::fd::AsFd;
    /// use mon_ipc_std::TrySend;
    /// match ch.try_send_borrowed(b"log", &[file.as_fd()])? {
    ///     TrySend::Sent => {}
    ///     TrySend::Started => { /* wait for POLLOUT, then ch.flush() */ }
    ///     TrySend::WouldBlock => { /* wait for POLLOUT, then try again */ }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_send_borrowed<F: AsFd>(&mut self, payload: &[u8], fds: &[F]) -> Result<TrySend> {
        self.check()?;
        let header = self.encoder.data_header(payload.len(), fds.len())?;
        if (!self.encoder.is_empty() || !self.tail.is_empty())
            && self.flush_with(true)? == Flush::WouldBlock
        {
            return Ok(TrySend::WouldBlock);
        }
        let parts = [&header[..], payload];
        let with = fds.iter().map(AsFd::as_fd);
        match sys::msg::sendmsg(self.sock.as_fd(), &parts, None, with, true) {
            Ok(n) if n >= header.len() + payload.len() => Ok(TrySend::Sent),
            Ok(n) => {
                for part in crate::manual::tails(parts, n) {
                    self.tail.extend_from_slice(part);
                }
                Ok(TrySend::Started)
            }
            Err(e) if e.is_would_block() => Ok(TrySend::WouldBlock),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// [`send_borrowed`](Channel::send_borrowed) for any fd handle.
    fn send_now<F: AsFd>(&mut self, payload: &[u8], fds: &[F]) -> Result<()> {
        self.check()?;
        let header = self.encoder.data_header(payload.len(), fds.len())?;
        let deadline = crate::manual::deadline(self.write_timeout);
        // (The check spares the common case `flush`'s 32-slice array.)
        if !self.encoder.is_empty() || !self.tail.is_empty() {
            self.flush_until(deadline)?;
        }
        let parts = [&header[..], payload];
        match crate::manual::send_whole(self.sock.as_fd(), parts, fds, deadline) {
            Ok(()) => Ok(()),
            Err(p) if p.error == Error::Timeout => {
                // Nothing sent: nothing to keep. Otherwise the fds went with
                // the first byte: keep the rest, so that the frame can be
                // finished.
                if p.sent > 0 {
                    for part in crate::manual::tails(parts, p.sent) {
                        self.tail.extend_from_slice(part);
                    }
                }
                Err(Error::Timeout)
            }
            Err(p) => Err(self.fail(p.error)),
        }
    }

    /// Sends `region` in a shared-memory frame (kind 1) with `payload` as
    /// the application's bytes, and waits until it is out. The region is
    /// sealed with `F_SEAL_SEAL` first (if it is not yet), and the frame
    /// announces its size and the seals on it. A duplicate of its fd is
    /// sent; the caller keeps the region and its mapping.
    ///
    /// Waits until the frame is out, even on a non-blocking socket, at most
    /// the write timeout: after [`Error::Timeout`] the frame stays queued
    /// (with its duplicate fd) and `flush` / `flush_all` sends it later.
    pub fn send_shm(&mut self, region: &SharedMemory, payload: &[u8]) -> Result<()> {
        self.push_shm(region, payload)?;
        self.flush_all()
    }

    /// Queues what [`send_shm`](Channel::send_shm) sends, without sending
    /// it ([`flush`](Channel::flush) does).
    pub fn push_shm(&mut self, region: &SharedMemory, payload: &[u8]) -> Result<()> {
        self.check()?;
        region.seal()?;
        let kind = Kind::SharedMemory(region.header()?);
        let fd = sys::memfd::dup(region.as_fd())?;
        Ok(self.encoder.push_copy(kind, payload, [fd])?)
    }

    /// Receives the next frame, which must be a shared-memory frame, and
    /// checks and maps its region ([`SharedMemory::from_fd`]); `None` when
    /// the peer closed at a frame boundary.
    ///
    /// A region that fails the checks, or a data frame
    /// ([`Error::ShmExpected`]), is a channel error: nothing is mapped,
    /// every fd is closed, and every later call returns the same error.
    /// For channels that mix data and shared memory, use
    /// [`recv`](Channel::recv) and [`Message::into_shm`].
    ///
    /// Waits as [`recv`](Channel::recv) does, at most the read timeout.
    pub fn recv_shm(&mut self) -> Result<Option<ShmMessage>> {
        let r = match self.recv()? {
            Some(m) => m.into_shm(),
            None => return Ok(None),
        };
        match r {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.is_shm_refusal() => Err(self.fail(e)),
            Err(e) => Err(e),
        }
    }

    /// Receives the next frame, waiting for it (with `poll`) even if the
    /// socket is non-blocking; `None` when the peer closed at a frame
    /// boundary. Waits at most the read timeout: after [`Error::Timeout`]
    /// what was read of the frame stays in the decoder, with its fds, and
    /// the next receive goes on from there.
    pub fn recv(&mut self) -> Result<Option<Message<'_>>> {
        let deadline = crate::manual::deadline(self.read_timeout);
        Ok(match self.fill(Some(deadline))? {
            Filled::Frame(kind, payload) => Some(self.message(kind, payload)),
            Filled::Eof => None,
            Filled::WouldBlock => return Err(sys::os("recvmsg", nix::errno::Errno::EAGAIN)),
        })
    }

    /// [`recv`](Channel::recv), with the frame's fds taken out of the
    /// channel: the message borrows nothing, so it can be kept, sent to
    /// another thread or held across the next receive. `None` when the
    /// peer closed at a frame boundary. Waits as `recv` does.
    ///
    /// ```
    /// use mon_ipc_std::{ClientOptions, ServerOptions, SocketKind};
    /// let pair = mon_ipc_std::socketpair(SocketKind::Stream)?;
    /// let client = std::thread::spawn(move || {
    ///     let mut conn = mon_ipc_std::client(pair.client, &ClientOptions::default())?;
    ///     let file = std::fs::File::open("/dev/null").unwrap();
    ///     conn.channel.send(b"one", [file.into()])?;
    ///     conn.channel.send(b"two", [])
    /// });
    /// let mut conn = mon_ipc_std::server(pair.server, &ServerOptions::default())?;
    /// let first = conn.channel.recv_owned()?.expect("a frame");
    /// let second = conn.channel.recv_owned()?.expect("a frame");
    /// // Both held at once: the first one's fd is still open.
    /// assert_eq!((&first.payload[..], first.fds.len()), (&b"one"[..], 1));
    /// assert_eq!((&second.payload[..], second.fds.len()), (&b"two"[..], 0));
    /// client.join().unwrap()?;
    /// assert!(conn.channel.recv_owned()?.is_none()); // the client closed
    /// # Ok::<(), mon_ipc_std::Error>(())
    /// ```
    pub fn recv_owned(&mut self) -> Result<Option<OwnedMessage>> {
        Ok(self.recv()?.map(Message::into_owned))
    }

    /// Receives the next frame if one is buffered or can be read without
    /// waiting. [`Recv::WouldBlock`] only after the kernel said `EAGAIN`.
    pub fn try_recv(&mut self) -> Result<Recv<'_>> {
        let filled = self.fill(None)?;
        Ok(self.recv_of(filled))
    }

    fn recv_of(&mut self, filled: Filled) -> Recv<'_> {
        match filled {
            Filled::Frame(kind, payload) => Recv::Frame(self.message(kind, payload)),
            Filled::Eof => Recv::Eof,
            Filled::WouldBlock => Recv::WouldBlock,
        }
    }

    fn message(&mut self, kind: Kind, payload: Bytes) -> Message<'_> {
        Message {
            kind,
            payload,
            fds: self.frame_fds.drain(..),
        }
    }

    /// Makes the next frame current: from the buffer, or by reading;
    /// `block` is `None` for no waiting, or `Some` deadline to wait until.
    fn fill(&mut self, block: Option<Option<Instant>>) -> Result<Filled> {
        self.check()?;
        self.frame_fds.clear();
        loop {
            // Nothing buffered and no EOF seen: no frame to look for (a
            // decoder error is the channel's too, and `read_buffer` says it).
            let empty = self.decoder.buffered_bytes() == 0 && !self.decoder.is_closed();
            if !empty {
                match self.buffered()? {
                    Filled::WouldBlock => {}
                    filled => return Ok(filled),
                }
            }
            // With a deadline, a blocking socket must not block in recvmsg.
            let dontwait = matches!(block, Some(Some(_)));
            match self.read_once(dontwait) {
                Ok(()) => {}
                Err(e) if e.is_would_block() => match block {
                    Some(deadline) => sys::sock::wait(self.sock.as_fd(), false, deadline)?,
                    None => return Ok(Filled::WouldBlock),
                },
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// The next frame if the decoder holds a whole one, or the EOF it saw;
    /// `WouldBlock` if it needs input.
    fn buffered(&mut self) -> Result<Filled> {
        match self.decoder.next_frame_into(&mut self.frame_fds) {
            Ok(Some((kind, payload))) => return Ok(Filled::Frame(kind, payload)),
            Ok(None) => {}
            Err(e) => return Err(self.fail(e.into())),
        }
        Ok(match self.decoder.is_closed() {
            true => Filled::Eof,
            false => Filled::WouldBlock,
        })
    }

    /// [`try_recv`](Channel::try_recv) without reading: a frame the
    /// decoder holds, EOF it saw, or `WouldBlock`.
    #[cfg(feature = "tokio")]
    pub(crate) fn try_recv_buffered(&mut self) -> Result<Recv<'_>> {
        self.check()?;
        self.frame_fds.clear();
        let filled = self.buffered()?;
        Ok(self.recv_of(filled))
    }

    /// One `recvmsg` into the decoder's buffer, committed with its fds.
    fn read_once(&mut self, dontwait: bool) -> Result<()> {
        let buf = self.decoder.read_buffer()?;
        let r = sys::msg::recvmsg(
            self.sock.as_fd(),
            Dest::Spare(buf, usize::MAX),
            &mut self.ctrl,
            &mut self.read_fds,
            dontwait,
            false,
        );
        match r {
            // 0 bytes and no control data: EOF. (On seqpacket an empty
            // record reads the same; the protocol never sends one.)
            Ok(got) if got.len == 0 && self.read_fds.is_empty() && !got.ctrunc => {
                Ok(self.decoder.receive_eof()?)
            }
            Ok(got) => {
                let flags = ReadFlags {
                    ctrunc: got.ctrunc,
                    trunc: got.trunc,
                };
                Ok(self.decoder.commit_read(self.read_fds.drain(..), flags)?)
            }
            Err(e) if e.is_reset() => Ok(self.decoder.receive_eof()?),
            Err(e) => Err(e),
        }
    }

    fn check(&self) -> Result<()> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// A channel error: sticky; queued output is dropped ([PROTOCOL.md
    /// §4.4](mon_ipc::spec#44-receiving-and-the-fd-attribution-rule)).
    fn fail(&mut self, e: Error) -> Error {
        self.encoder.clear();
        self.tail = Vec::new();
        *self.error.get_or_insert(e)
    }
}

/// `timeout`, with `Some(ZERO)` refused as std refuses it.
fn nonzero(timeout: Option<Duration>) -> Result<Option<Duration>> {
    match timeout {
        Some(t) if t.is_zero() => Err(sys::os("setsockopt", nix::errno::Errno::EINVAL)),
        t => Ok(t),
    }
}

impl<S: AsFd> AsFd for Channel<S> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

/// For pollers that want a raw fd (tokio's `AsyncFd`).
impl<S: AsFd> AsRawFd for Channel<S> {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_fd().as_raw_fd()
    }
}
