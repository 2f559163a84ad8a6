//! The frame decoder: reads in, frames with their fds out ([`Decoder`]).

use alloc::vec::Vec;
use core::fmt;

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{Error, PeerError, UsageError};
use crate::event::{Leftover, SocketKind};
use crate::frame::{HEADER_LEN, Header, KIND_SHM, Kind, SHM_HEADER_LEN, ShmHeader};
use crate::limits::Limits;

/// How much a stream read asks for when no frame is partly buffered.
pub const STREAM_READ_CHUNK: usize = 16 * 1024;

/// Default cap on the size of a shared-memory region a receiver accepts: 4 GiB.
pub const DEFAULT_MAX_SHM_SIZE: u64 = 4 << 30;

/// Flags the kernel returned with one read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReadFlags {
    /// `MSG_CTRUNC`: control data was lost (fds closed by the kernel).
    pub ctrunc: bool,
    /// `MSG_TRUNC`: a seqpacket record was longer than the buffer.
    pub trunc: bool,
}

/// A decoded frame. Its fds borrow the decoder: take them (or let the
/// iterator drop, which drops, i.e. closes, the ones not taken) before
/// asking for the next frame.
pub struct Frame<'a, F> {
    /// Data or shared memory (with the announced size and seals).
    pub kind: Kind,
    /// The application payload, a slice of the receive buffer (no copy).
    /// For a shared-memory frame, what follows its 12-byte header.
    pub payload: Bytes,
    /// The frame's fds, in the order they were sent.
    pub fds: Fds<'a, F>,
}

impl<F: fmt::Debug> fmt::Debug for Frame<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("kind", &self.kind)
            .field("payload", &self.payload)
            .field("fds", &self.fds.len())
            .finish()
    }
}

/// The fds of one [`Frame`], in order. Dropping it drops the rest. A
/// `Fds` leaked without its `Drop` (`mem::forget`) cannot hand its fds to
/// the next frame: the decoder drops what is left unclaimed first.
//
// The frame's fds are the first `left` of the decoder's queue, in reverse
// order (`next_frame` reverses them), so that each is taken from the end
// of that run: `Vec::remove` then moves only the fds of later frames,
// usually none. (A `Vec::Drain` would lose the later frames' fds if
// leaked.) `left` is the decoder's own count, for the `mem::forget` case
// above.
pub struct Fds<'a, F> {
    queue: &'a mut Vec<F>,
    left: &'a mut usize,
}

impl<F> Iterator for Fds<'_, F> {
    type Item = F;
    fn next(&mut self) -> Option<F> {
        let i = self.left.checked_sub(1)?;
        // `left <= queue.len()` always; the check keeps a broken invariant
        // from becoming a panic.
        if i >= self.queue.len() {
            return None;
        }
        *self.left = i;
        Some(self.queue.remove(i))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (*self.left, Some(*self.left))
    }
}

impl<F> ExactSizeIterator for Fds<'_, F> {}

impl<F> Drop for Fds<'_, F> {
    fn drop(&mut self) {
        drop_front(self.queue, self.left);
    }
}

/// Shows this frame's fds only, not the rest of the queue.
impl<F: core::fmt::Debug> core::fmt::Debug for Fds<'_, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.queue.iter().take(*self.left).rev())
            .finish()
    }
}

/// Drops the first `*count` fds of `queue` and sets `*count` to 0.
fn drop_front<F>(queue: &mut Vec<F>, count: &mut usize) {
    let n = core::mem::take(count).min(queue.len());
    queue.drain(..n).for_each(drop);
}

/// The frame decoder. `F` is the fd handle type.
///
/// The decoder must know where each read (`recvmsg`) began and ended,
/// because that is how fds are attributed on a stream socket: the kernel
/// attaches `SCM_RIGHTS` to the first byte of the `sendmsg` that carried
/// them, and a read that returns fds stops after that `sendmsg`'s bytes. It
/// may however glue fd-less bytes sent *before* them into the same read. So
/// the fds of one read belong to the **last** frame whose header begins in
/// that read, and every other header beginning in it must announce none.
///
/// Call order, for each read:
///
/// 1. [`read_buffer`](Decoder::read_buffer) (or [`receive`](Decoder::receive)
///    with a slice, which copies);
/// 2. append the read's bytes, then [`commit_read`](Decoder::commit_read)
///    with its fds and flags; on EOF, [`receive_eof`](Decoder::receive_eof);
/// 3. [`next_frame`](Decoder::next_frame) until it gives `None`.
///
/// ```
/// use mon_ipc::{Decoder, Limits, SocketKind, Kind, ReadFlags};
/// let mut dec = Decoder::<&str>::new(Limits::default(), SocketKind::Stream);
/// // Two frames in one read: "hi" without fds, then "fd" with one fd.
/// let bytes = [2, 0, 0, 0, 0, 0, 0, 0, b'h', b'i', 2, 0, 0, 0, 1, 0, 0, 0, b'f', b'd'];
/// dec.receive(&bytes, ["pipe"], ReadFlags::default()).unwrap();
/// let mut got = Vec::new();
/// while let Some(frame) = dec.next_frame().unwrap() {
///     // A frame borrows the decoder: take its fds before the next one.
///     got.push((frame.kind, frame.payload, frame.fds.collect::<Vec<_>>()));
/// }
/// assert_eq!(got[0], (Kind::Data, "hi".into(), vec![]));
/// assert_eq!(got[1], (Kind::Data, "fd".into(), vec!["pipe"]));
/// ```
#[derive(Debug)]
pub struct Decoder<F> {
    limits: Limits,
    socket: SocketKind,
    max_shm_size: u64,
    /// Unconsumed input; `buf[0]` is at stream position `base`.
    buf: BytesMut,
    base: u64,
    /// Stream position up to which reads were committed.
    committed: u64,
    /// Stream position where the next header not yet checked begins.
    next_header: u64,
    /// The fd count of the read in which the header at `next_header`
    /// began, when that header was incomplete at the end of its read.
    pending_count: Option<usize>,
    /// Fds of frames not yet returned, in stream order (but for the first
    /// `unclaimed`, which [`Decoder::next_frame`] reversed: see [`Fds`]).
    fds: Vec<F>,
    /// Fds at the front of `fds` that belong to the frame last returned and
    /// were not taken from its [`Fds`] yet (see there).
    unclaimed: usize,
    eof: bool,
    error: Option<Error>,
}

impl<F> Decoder<F> {
    /// A decoder for frames within `limits` (the negotiated ones).
    pub fn new(limits: Limits, socket: SocketKind) -> Self {
        Decoder {
            limits,
            socket,
            max_shm_size: DEFAULT_MAX_SHM_SIZE,
            buf: BytesMut::new(),
            base: 0,
            committed: 0,
            next_header: 0,
            pending_count: None,
            fds: Vec::new(),
            unclaimed: 0,
            eof: false,
            error: None,
        }
    }

    /// Sets the largest shared-memory region this receiver accepts.
    pub fn with_max_shm_size(mut self, max: u64) -> Self {
        self.max_shm_size = max;
        self
    }

    /// The limits frames are checked against.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether EOF was received and every complete frame returned.
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.eof && self.buf.is_empty()
    }

    /// Bytes buffered: at most one incomplete frame plus the last read,
    /// since a read is refused while complete frames wait.
    #[inline]
    pub fn buffered_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Fds held for frames not yet returned: at most twice the negotiated
    /// most fds per frame (one incomplete frame and the last read's frame).
    pub fn held_fds(&self) -> usize {
        self.fds.len()
    }

    /// How many bytes the next read should ask for: on seqpacket a whole
    /// record of the largest allowed size; on a stream the rest of the frame
    /// being received, or [`STREAM_READ_CHUNK`].
    #[inline]
    pub fn read_hint(&self) -> usize {
        match self.socket {
            SocketKind::Seqpacket => HEADER_LEN.saturating_add(self.limits.max_payload() as usize),
            SocketKind::Stream => {
                let have = self.buf.len();
                let want = match self.front_header() {
                    Some(h) => h.frame_len().saturating_sub(have),
                    None => 0,
                };
                want.max(STREAM_READ_CHUNK)
            }
        }
    }

    /// The buffer to read into: append one read's bytes (up to its spare
    /// capacity, which is at least [`read_hint`](Decoder::read_hint)), then
    /// call [`commit_read`](Decoder::commit_read). Do not change the bytes
    /// already in it.
    #[inline]
    pub fn read_buffer(&mut self) -> Result<&mut BytesMut, Error> {
        self.check_can_read()?;
        let hint = self.read_hint();
        if self.buf.capacity() - self.buf.len() < hint {
            self.reserve(hint);
        }
        Ok(&mut self.buf)
    }

    /// Makes room for `hint` more bytes. On a stream the first buffer has
    /// room for two reads: frames are split off its front, so the spare
    /// room shrinks by each frame read, and with room for one read only
    /// every read reclaimed the buffer (`BytesMut::reserve`, ~60
    /// instructions per message); with two, once per `hint` bytes read.
    fn reserve(&mut self, hint: usize) {
        let first = self.buf.capacity() == 0 && self.socket == SocketKind::Stream;
        self.buf.reserve(match first {
            true => hint.saturating_mul(2),
            false => hint,
        });
    }

    /// Copies one read's bytes in and commits them with its fds and flags.
    pub fn receive<I>(&mut self, bytes: &[u8], fds: I, flags: ReadFlags) -> Result<(), Error>
    where
        I: IntoIterator<Item = F>,
    {
        if let Err(e) = self.check_can_read() {
            fds.into_iter().for_each(drop);
            return Err(e);
        }
        self.buf.extend_from_slice(bytes);
        self.commit_read(fds, flags)
    }

    /// Ends the read begun with [`read_buffer`](Decoder::read_buffer): the
    /// bytes appended since the last commit, with this read's fds and flags.
    ///
    /// Checks every header that becomes complete, and attributes the fds.
    /// On error every fd held is dropped and the error is sticky.
    #[inline]
    pub fn commit_read<I>(&mut self, fds: I, flags: ReadFlags) -> Result<(), Error>
    where
        I: IntoIterator<Item = F>,
    {
        if self.unclaimed > 0 {
            drop_front(&mut self.fds, &mut self.unclaimed);
        }
        let held = self.fds.len();
        self.fds.extend(fds);
        let count = self.fds.len() - held;
        if let Some(e) = self.error {
            return self.fail(e);
        }
        let end = self.base + self.buf.len() as u64;
        if end < self.committed {
            return self.fail(UsageError::BufferTampered.into());
        }
        if self.eof {
            return self.fail(UsageError::UnexpectedInput.into());
        }
        let start = self.committed;
        self.committed = end;
        let result = if flags.ctrunc {
            Err(PeerError::ControlTruncated)
        } else if count > usize::from(self.limits.max_fds()) {
            Err(PeerError::FdCountMismatch)
        } else {
            match self.socket {
                SocketKind::Stream => self.scan_stream(start, end, count),
                SocketKind::Seqpacket => self.scan_record(start, end, count, flags.trunc),
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => self.fail(e.into()),
        }
    }

    /// Gives the leftover of a handshake as the first read.
    pub fn receive_leftover(&mut self, leftover: Leftover<F>) -> Result<(), Error> {
        if !leftover.bytes.is_empty() || !leftover.fds.is_empty() {
            self.receive(&leftover.bytes, leftover.fds, ReadFlags::default())?;
        }
        if leftover.eof {
            self.receive_eof()?;
        }
        Ok(())
    }

    /// The peer closed the connection (a read returned 0).
    pub fn receive_eof(&mut self) -> Result<(), Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.committed != self.base + self.buf.len() as u64 {
            return self.fail(UsageError::BufferTampered.into());
        }
        self.eof = true;
        Ok(())
    }

    /// The next complete frame, or `None` if more input is needed (or, with
    /// [`is_closed`](Decoder::is_closed), the connection ended cleanly).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_, F>>, Error> {
        let Some((kind, payload, nfds)) = self.take_frame()? else {
            return Ok(None);
        };
        if let Some(run) = self.fds.get_mut(..nfds) {
            run.reverse();
        }
        self.unclaimed = nfds;
        Ok(Some(Frame {
            kind,
            payload,
            fds: Fds {
                queue: &mut self.fds,
                left: &mut self.unclaimed,
            },
        }))
    }

    /// Like [`next_frame`](Decoder::next_frame), but appends the frame's fds
    /// to `fds` and returns the kind and payload owned, so no borrow of the
    /// decoder outlives the call. With a reused `fds`, still no allocation.
    ///
    /// ```
    /// use mon_ipc::{Decoder, Kind, Limits, ReadFlags, SocketKind};
    /// let mut dec = Decoder::<u32>::new(Limits::default(), SocketKind::Stream);
    /// dec.receive(&[1, 0, 0, 0, 2, 0, 0, 0, b'x'], [5, 6], ReadFlags::default()).unwrap();
    /// let mut fds = Vec::new();
    /// let (kind, payload) = dec.next_frame_into(&mut fds).unwrap().unwrap();
    /// assert_eq!((kind, &payload[..], &fds[..]), (Kind::Data, &b"x"[..], &[5, 6][..]));
    /// assert!(dec.next_frame_into(&mut fds).unwrap().is_none());
    /// ```
    #[inline]
    pub fn next_frame_into(&mut self, fds: &mut Vec<F>) -> Result<Option<(Kind, Bytes)>, Error> {
        let Some((kind, payload, nfds)) = self.take_frame()? else {
            return Ok(None);
        };
        // The fds move straight over: when the queue holds this frame's
        // fds only and `fds` is empty (the usual case: one frame per read),
        // the two vectors are swapped, which moves no fd at all.
        if nfds == self.fds.len() && fds.is_empty() {
            core::mem::swap(fds, &mut self.fds);
        } else {
            fds.extend(self.fds.drain(..nfds));
        }
        Ok(Some((kind, payload)))
    }

    /// Takes the next complete frame off the buffer: its kind, payload and
    /// how many fds at the front of the queue are its own. The fds of the
    /// frame returned before, if not all taken, are dropped first.
    #[inline]
    fn take_frame(&mut self) -> Result<Option<(Kind, Bytes, usize)>, Error> {
        if self.unclaimed > 0 {
            drop_front(&mut self.fds, &mut self.unclaimed);
        }
        if let Some(e) = self.error {
            return Err(e);
        }
        let complete = self.front_header().filter(|h| {
            let end = self.base + h.frame_len() as u64;
            end <= self.committed && end <= self.next_header
        });
        let Some(header) = complete else {
            if self.eof && !self.buf.is_empty() {
                return Err(self.fail(PeerError::EofInFrame.into()).unwrap_err());
            }
            return Ok(None);
        };
        let mut payload = self.buf.split_to(header.frame_len()).freeze();
        payload.advance(HEADER_LEN);
        self.base += header.frame_len() as u64;
        let kind = if header.kind == KIND_SHM {
            let shm =
                ShmHeader::parse(&payload).and_then(|s| s.check(self.max_shm_size).map(|()| s));
            match shm {
                Ok(s) => {
                    payload.advance(SHM_HEADER_LEN);
                    Kind::SharedMemory(s)
                }
                Err(e) => return Err(self.fail(e.into()).unwrap_err()),
            }
        } else {
            Kind::Data
        };
        // The attribution checks guarantee `nfds` fds are queued; `min`
        // keeps a broken invariant from becoming a panic.
        let nfds = usize::from(header.nfds).min(self.fds.len());
        Ok(Some((kind, payload, nfds)))
    }

    /// The header at the front of the buffer, if its 8 bytes are there.
    #[inline]
    fn front_header(&self) -> Option<Header> {
        let h: &[u8; HEADER_LEN] = self.buf.get(..HEADER_LEN)?.try_into().ok()?;
        Some(Header::from_bytes(h))
    }

    /// Whether a read may begin; a misuse here is sticky like any error.
    #[inline]
    fn check_can_read(&mut self) -> Result<(), Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.eof {
            return self.fail(UsageError::UnexpectedInput.into());
        }
        let front_complete = self
            .front_header()
            .is_some_and(|h| self.base + h.frame_len() as u64 <= self.committed);
        if front_complete {
            return self.fail(UsageError::FramesPending.into());
        }
        Ok(())
    }

    /// Checks the headers that begin in, or complete in, the stream read
    /// `[start, end)` that brought `count` fds.
    #[inline]
    fn scan_stream(&mut self, start: u64, end: u64, count: usize) -> Result<(), PeerError> {
        let mut header_began = false;
        while self.next_header < end {
            let at = self.next_header;
            let began_here = at >= start;
            header_began |= began_here;
            if at + HEADER_LEN as u64 > end {
                if began_here {
                    self.pending_count = Some(count);
                }
                break;
            }
            let header = self.header_at(at);
            header.check(self.limits)?;
            let next = at + header.frame_len() as u64;
            let owned = if began_here {
                (next >= end).then_some(count)
            } else {
                self.pending_count.take()
            };
            attribute(header.nfds, owned, count)?;
            self.next_header = next;
        }
        if count > 0 && !header_began {
            return Err(PeerError::FdsWithoutFrame);
        }
        Ok(())
    }

    /// Checks one seqpacket record `[start, end)` that brought `count` fds.
    fn scan_record(
        &mut self,
        start: u64,
        end: u64,
        count: usize,
        trunc: bool,
    ) -> Result<(), PeerError> {
        self.next_header = end;
        if trunc {
            return Err(PeerError::RecordTruncated);
        }
        if start == end {
            return if count > 0 {
                Err(PeerError::FdsWithoutFrame)
            } else {
                Ok(())
            };
        }
        if end - start < HEADER_LEN as u64 {
            return Err(PeerError::RecordSize);
        }
        let header = self.header_at(start);
        header.check(self.limits)?;
        if header.frame_len() as u64 != end - start {
            return Err(PeerError::RecordSize);
        }
        attribute(header.nfds, Some(count), count)
    }

    #[inline]
    fn header_at(&self, at: u64) -> Header {
        let i = (at - self.base) as usize;
        let mut h = [0u8; HEADER_LEN];
        h.copy_from_slice(&self.buf[i..i + HEADER_LEN]);
        Header::from_bytes(&h)
    }

    fn fail(&mut self, e: Error) -> Result<(), Error> {
        let e = *self.error.get_or_insert(e);
        self.fds.clear();
        self.unclaimed = 0;
        Err(e)
    }
}

/// Checks a header's `nfds` against the fds its read brought. `owned` is the
/// read's count if the header is the last to begin in it, `None` if another
/// header begins after it in the same read.
#[inline]
fn attribute(nfds: u8, owned: Option<usize>, read_count: usize) -> Result<(), PeerError> {
    let nfds = usize::from(nfds);
    match owned {
        None if nfds > 0 && read_count == 0 => Err(PeerError::FdsMissing),
        None if nfds > 0 => Err(PeerError::FdsMisplaced),
        None => Ok(()),
        Some(0) if nfds > 0 => Err(PeerError::FdsMissing),
        Some(n) if n > 0 && n != nfds => Err(PeerError::FdCountMismatch),
        Some(_) => Ok(()),
    }
}
