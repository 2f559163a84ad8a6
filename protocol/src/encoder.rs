//! The frame encoder: a send queue that knows which frames may share a
//! `sendmsg` ([`Encoder`]).

use alloc::collections::VecDeque;
use alloc::collections::vec_deque;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::UsageError;
use crate::event::SocketKind;
use crate::frame::{HEADER_LEN, Header, Kind, SHM_HEADER_LEN};
use crate::limits::Limits;

/// Most bytes batched into one `sendmsg` of fd-less frames.
pub const BATCH_BYTES: usize = 64 * 1024;

/// From this payload size on, `push_copy` aligns its copy to the source
/// (see `Encoder::align_arena_for`): below it `memcpy` does not use
/// `rep movsb`, and the padding would cost more than it saves.
const ALIGNED_COPY_MIN: usize = 2048;

/// One queued frame: its header (and a copied payload) in the arena, or a
/// shared payload outside it.
#[derive(Debug)]
struct Pending {
    /// Bytes of this frame in the arena (header, shm header, copied payload).
    arena_len: usize,
    /// A payload sent from the caller's `Bytes` without copying.
    shared: Option<Bytes>,
    /// Fds still to attach (0 once the first byte went out).
    nfds: usize,
}

impl Pending {
    fn len(&self) -> usize {
        self.arena_len + self.shared.as_ref().map_or(0, Bytes::len)
    }
}

/// A payload to queue: copied into the arena, or kept as shared `Bytes`.
enum Payload<'a> {
    Copy(&'a [u8]),
    Shared(Bytes),
}

/// What to send next: `slices` entries of the caller's slice array, with
/// these fds attached.
#[derive(Debug)]
pub struct Transmit<'a, F> {
    /// How many entries of the array passed to `transmit` are filled.
    pub slices: usize,
    /// Total bytes in those slices.
    pub len: usize,
    /// The fds to attach (`SCM_RIGHTS`), in order.
    pub fds: vec_deque::Iter<'a, F>,
}

/// The frame encoder and send queue. `F` is the fd handle type; the queue
/// owns the fds until their frame's first byte has been sent, then drops
/// them (the kernel holds its own reference from then on).
///
/// On a stream socket the kernel attaches `SCM_RIGHTS` to the first byte of
/// the `sendmsg` that carries them. So every frame that carries fds starts
/// its own `sendmsg`, with exactly its fds and no other frame; fd-less frames
/// may be batched into one vectored `sendmsg`. After a short write the rest
/// follows without fds (the fds went with the first byte). On seqpacket
/// every frame is its own record.
///
/// Call order: [`push`](Encoder::push) frames; then, while
/// [`transmit`](Encoder::transmit) gives something, `sendmsg` those slices
/// with those fds and report the bytes written with
/// [`advance`](Encoder::advance).
///
/// ```
/// use mon_ipc::{Encoder, Kind, Limits, SocketKind};
/// let mut enc = Encoder::<&str>::new(Limits::default(), SocketKind::Stream);
/// enc.push_copy(Kind::Data, b"no fd", []).unwrap();
/// enc.push_copy(Kind::Data, b"with fd", ["pipe"]).unwrap();
/// // The slice array borrows the encoder: declare it anew for each send.
/// let mut iov = [&[][..]; 8];
/// let t = enc.transmit(&mut iov).unwrap();
/// assert_eq!((t.slices, t.len, t.fds.len()), (1, 8 + 5, 0)); // the fd-less frame alone
/// enc.advance(8 + 5).unwrap();
/// let mut iov = [&[][..]; 8];
/// let t = enc.transmit(&mut iov).unwrap();
/// assert_eq!(t.fds.copied().collect::<Vec<_>>(), ["pipe"]);
/// enc.advance(8 + 7).unwrap();
/// assert!(enc.is_empty());
/// ```
#[derive(Debug)]
pub struct Encoder<F> {
    limits: Limits,
    socket: SocketKind,
    /// Headers and copied payloads of the queued frames, in order;
    /// `arena[0]` belongs to the head frame.
    arena: BytesMut,
    queue: VecDeque<Pending>,
    fds: VecDeque<F>,
    /// Bytes of the head frame already sent.
    head_sent: usize,
    queued: usize,
}

impl<F> Encoder<F> {
    /// An encoder for frames within `limits` (the negotiated ones).
    pub fn new(limits: Limits, socket: SocketKind) -> Self {
        Encoder {
            limits,
            socket,
            arena: BytesMut::new(),
            queue: VecDeque::new(),
            fds: VecDeque::new(),
            head_sent: 0,
            queued: 0,
        }
    }

    /// Queues a frame, copying the payload (best for small frames: no
    /// allocation once warmed up).
    ///
    /// On error nothing is queued, the fds are dropped, and the encoder stays
    /// usable: a refused frame never reached the wire, so unlike the
    /// decoder's, the encoder's errors are not sticky.
    pub fn push_copy<I>(&mut self, kind: Kind, payload: &[u8], fds: I) -> Result<(), UsageError>
    where
        I: IntoIterator<Item = F>,
    {
        self.push_payload(kind, Payload::Copy(payload), fds)
    }

    /// Queues a frame whose payload is sent from `payload` without copying
    /// (a vectored `sendmsg`); best for large payloads. Errors as
    /// [`push_copy`](Encoder::push_copy).
    pub fn push<I>(&mut self, kind: Kind, payload: Bytes, fds: I) -> Result<(), UsageError>
    where
        I: IntoIterator<Item = F>,
    {
        self.push_payload(kind, Payload::Shared(payload), fds)
    }

    fn push_payload<I>(
        &mut self,
        kind: Kind,
        payload: Payload<'_>,
        fds: I,
    ) -> Result<(), UsageError>
    where
        I: IntoIterator<Item = F>,
    {
        let len = match &payload {
            Payload::Copy(p) => p.len(),
            Payload::Shared(b) => b.len(),
        };
        let nfds = self.take_fds(fds);
        self.check(kind, len, nfds)?;
        if let Payload::Copy(p) = payload {
            if self.arena.is_empty() && p.len() >= ALIGNED_COPY_MIN {
                self.align_arena_for(p, HEADER_LEN + shm_extra(kind));
            }
        }
        let start = self.arena.len();
        self.put_headers(kind, len, nfds);
        let shared = match payload {
            Payload::Copy(p) => {
                self.arena.extend_from_slice(p);
                None
            }
            Payload::Shared(b) => Some(b),
        };
        self.enqueue(self.arena.len() - start, shared, nfds);
        Ok(())
    }

    /// Starts the empty arena so that a copy of `src` placed after `headers`
    /// bytes lands at `src`'s own address modulo 64.
    ///
    /// Why: on AMD EPYC (Zen) with glibc 2.36, `memcpy` of 2 KiB and more
    /// is `rep movsb`, which ran at ~2 GB/s instead of ~35 GB/s when the
    /// destination was 8 to 24 bytes ahead of the source modulo 64: exactly
    /// what an 8-byte header in front of a copy of a 16-byte-aligned heap
    /// buffer gives. `push_copy` of 4-256 KiB frames then ran at a third of
    /// the raw rate. Only when nothing is queued: the queued frames' bytes
    /// must stay contiguous. The padding is skipped (`advance`), so it is
    /// never sent.
    // The measurements: docs/PERFORMANCE.md in the repository ("Throughput
    // against message size and fds per message").
    fn align_arena_for(&mut self, src: &[u8], headers: usize) {
        self.arena.reserve(headers + src.len() + 63);
        let dst = self.arena.as_ptr() as usize + headers;
        let pad = (src.as_ptr() as usize).wrapping_sub(dst) % 64;
        self.arena.put_bytes(0, pad);
        self.arena.advance(pad);
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Bytes queued and not yet sent, for backpressure.
    pub fn queued_bytes(&self) -> usize {
        self.queued
    }

    /// Frames queued, including a partly sent one.
    pub fn queued_frames(&self) -> usize {
        self.queue.len()
    }

    /// Fills `slices` with the bytes of the next `sendmsg` and says which
    /// fds to attach, or `None` if nothing is queued (or `slices` is empty).
    /// Two entries are enough for any frame (header, shared payload); more
    /// let more shared payloads join a batch.
    pub fn transmit<'a>(&'a self, slices: &mut [&'a [u8]]) -> Option<Transmit<'a, F>> {
        let head = self.queue.front()?;
        if slices.is_empty() {
            return None;
        }
        let mut t = Transmit {
            slices: 0,
            len: 0,
            fds: self.fds.range(..head.nfds),
        };
        // Copied frames lie back to back in the arena: consecutive arena
        // parts merge into one slice, so a batch of small frames is one iovec.
        let mut open_arena: Option<usize> = None;
        let mut arena_at = 0;
        for (i, frame) in self.queue.iter().enumerate() {
            let skip = if i == 0 { self.head_sent } else { 0 };
            if i > 0 {
                let joinable =
                    frame.nfds == 0 && head.nfds == 0 && self.socket == SocketKind::Stream;
                let need = usize::from(open_arena.is_none()) + usize::from(frame.shared.is_some());
                if !joinable || t.len + frame.len() > BATCH_BYTES || t.slices + need > slices.len()
                {
                    break;
                }
            }
            let arena_skip = skip.min(frame.arena_len);
            let (start, end) = (arena_at + arena_skip, arena_at + frame.arena_len);
            arena_at = end;
            if start < end {
                match open_arena {
                    Some(open) => slices[t.slices - 1] = &self.arena[open..end],
                    None => {
                        slices[t.slices] = &self.arena[start..end];
                        t.slices += 1;
                        open_arena = Some(start);
                    }
                }
                t.len += end - start;
            }
            let shared = frame.shared.as_deref().unwrap_or(&[]);
            let part = &shared[(skip - arena_skip).min(shared.len())..];
            if !part.is_empty() {
                if t.slices == slices.len() {
                    break;
                }
                slices[t.slices] = part;
                t.slices += 1;
                t.len += part.len();
                open_arena = None;
            }
        }
        Some(t)
    }

    /// Records that `sent` bytes of the last [`transmit`](Encoder::transmit)
    /// went out. Frames fully sent leave the queue; the fds of a frame whose
    /// first byte went out are dropped.
    pub fn advance(&mut self, sent: usize) -> Result<(), UsageError> {
        self.advance_with(sent, drop)
    }

    /// Like [`advance`](Encoder::advance), but the fds whose frame's first
    /// byte went out are given to `sent_fd` instead of dropped: for an
    /// in-memory transport that moves them to the receiver.
    pub fn advance_with(
        &mut self,
        mut sent: usize,
        mut sent_fd: impl FnMut(F),
    ) -> Result<(), UsageError> {
        if sent > self.queued {
            return Err(UsageError::AdvancePastEnd);
        }
        self.queued -= sent;
        while sent > 0 {
            let Some(head) = self.queue.front_mut() else {
                break;
            };
            if head.nfds > 0 {
                self.fds.drain(..head.nfds).for_each(&mut sent_fd);
                head.nfds = 0;
            }
            let rest = head.len() - self.head_sent;
            if sent < rest {
                self.head_sent += sent;
                break;
            }
            sent -= rest;
            let arena_len = head.arena_len;
            self.queue.pop_front();
            self.arena.advance(arena_len);
            self.head_sent = 0;
        }
        if self.queue.is_empty() {
            self.arena.clear();
        }
        Ok(())
    }

    /// Drops everything queued (after a connection error), closing the fds.
    pub fn clear(&mut self) {
        self.queue.clear();
        self.fds.clear();
        self.arena.clear();
        self.head_sent = 0;
        self.queued = 0;
    }

    fn take_fds<I: IntoIterator<Item = F>>(&mut self, fds: I) -> usize {
        let before = self.fds.len();
        self.fds.extend(fds);
        self.fds.len() - before
    }

    /// The header of a data frame of `payload_len` bytes and `nfds` fds
    /// that the caller sends itself, outside the queue, after checking it
    /// against the limits as [`push`](Encoder::push) does.
    ///
    /// For a driver's send path that borrows the fds instead of owning
    /// them: the kernel takes its own references during `sendmsg`, so a
    /// caller that keeps its fds need not `dup` them for the queue (and
    /// the queue need not close the duplicates). The caller must send the
    /// header, the payload and the fds exactly as [`transmit`](Encoder::transmit)
    /// would: the fds with the frame's first byte, and only once the queue
    /// is empty.
    ///
    /// ```
    /// use mon_ipc::{Encoder, Limits, SocketKind, UsageError};
    /// let enc = Encoder::<()>::new(Limits::new(2, 64).unwrap(), SocketKind::Stream);
    /// assert_eq!(enc.data_header(5, 1), Ok([5, 0, 0, 0, 1, 0, 0, 0]));
    /// assert_eq!(enc.data_header(65, 0), Err(UsageError::SendTooLarge));
    /// assert_eq!(enc.data_header(0, 3), Err(UsageError::SendTooManyFds));
    /// ```
    pub fn data_header(
        &self,
        payload_len: usize,
        nfds: usize,
    ) -> Result<[u8; HEADER_LEN], UsageError> {
        self.limits_allow(Kind::Data, payload_len, nfds)?;
        Ok(header(Kind::Data, payload_len, nfds).to_bytes())
    }

    /// Whether a frame is within the peer's limits.
    fn limits_allow(&self, kind: Kind, payload_len: usize, nfds: usize) -> Result<(), UsageError> {
        let len = payload_len.saturating_add(shm_extra(kind));
        if matches!(kind, Kind::SharedMemory(_)) && nfds != 1 {
            Err(UsageError::SendShmFdCount)
        } else if nfds > usize::from(self.limits.max_fds()) {
            Err(UsageError::SendTooManyFds)
        } else if len > self.limits.max_payload() as usize {
            Err(UsageError::SendTooLarge)
        } else {
            Ok(())
        }
    }

    /// Checks the frame against the peer's limits; on error drops the fds
    /// just taken.
    fn check(&mut self, kind: Kind, payload_len: usize, nfds: usize) -> Result<(), UsageError> {
        let result = self.limits_allow(kind, payload_len, nfds);
        if result.is_err() {
            self.fds.truncate(self.fds.len() - nfds);
        }
        result
    }

    fn put_headers(&mut self, kind: Kind, payload_len: usize, nfds: usize) {
        self.arena
            .extend_from_slice(&header(kind, payload_len, nfds).to_bytes());
        if let Kind::SharedMemory(shm) = kind {
            self.arena.extend_from_slice(&shm.to_bytes());
        }
    }

    fn enqueue(&mut self, arena_len: usize, shared: Option<Bytes>, nfds: usize) {
        let frame = Pending {
            arena_len,
            shared,
            nfds,
        };
        self.queued += frame.len();
        self.queue.push_back(frame);
    }
}

/// The header of a frame that passed [`Encoder::limits_allow`].
fn header(kind: Kind, payload_len: usize, nfds: usize) -> Header {
    Header {
        // Both fit: checked against the u32 and u8 limits.
        len: (payload_len + shm_extra(kind)) as u32,
        nfds: nfds as u8,
        kind: kind.byte(),
        reserved: 0,
    }
}

fn shm_extra(kind: Kind) -> usize {
    match kind {
        Kind::Data => 0,
        Kind::SharedMemory(_) => SHM_HEADER_LEN,
    }
}
