//! `mon_ipc_send_fd` / `mon_ipc_recv_fd` (and the transport of
//! `mon_ipc_send_shm` / `mon_ipc_recv_shm`), and the per-socket state they
//! keep.
//!
//! # The per-socket registry
//!
//! The calls take no state argument, so what a socket needs between calls
//! lives here, keyed by the fd number *and* the socket's identity
//! (`st_dev`, `st_ino`): an entry whose socket was closed and whose number
//! was reused is never applied to the new socket (it is dropped, with the
//! fds it holds, when the number is next used, or when an entry is added).
//! An entry holds:
//!
//! - the client handshake's [`Channel`]: the read that brings the client
//!   the server's reply may also bring the server's first frames and their
//!   fds ([PROTOCOL.md
//!   §3.5](mon_ipc::spec#35-input-after-the-handshake-message)), which
//!   must not be lost, so `recv_fd` / `recv_shm` on that socket receive
//!   through it from then on (until EOF or `mon_ipc_forget`);
//! - a partial incoming frame (stream sockets): created when a receive
//!   returns `MON_WANT_READ` or `MON_E_TIMEOUT` after part of a frame
//!   arrived, freed when the frame completes, on EOF, on any error and by
//!   `mon_ipc_forget`. Its fd (which comes with the frame's first byte) is
//!   held here meanwhile, so none is lost;
//! - a partial outgoing frame: created when a send returns
//!   `MON_WANT_WRITE` or `MON_E_TIMEOUT` after part of the frame went out,
//!   with a copy of the frame to compare retries against; freed when the
//!   frame is out, on error and by `mon_ipc_forget`;
//! - the limits a server's handshake negotiated, where they are below the
//!   plain receive's own (1 fd, 16 MiB: a client that advertised less, and
//!   always on seqpacket): frames are checked against them (until EOF or
//!   `mon_ipc_forget`);
//! - the timeout of `mon_ipc_set_timeout`, until `mon_ipc_forget`.
//!
//! An entry with none of these is removed. Receiving and sending have a
//! half each, so one thread may receive while another sends.
//!
//! The plain receive never reads ahead of its frame: the header first,
//! then exactly the payload; so no bytes of a next frame stay here between
//! frames, and a socket between frames has no entry at all.

use std::collections::BTreeMap;
use std::ffi::c_int;
use std::os::fd::{IntoRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use mon_ipc::frame::{HEADER_LEN, Header, KIND_SHM, SHM_HEADER_LEN};
use mon_ipc::{DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_SHM_SIZE, Kind, Limits, PeerError, ShmHeader};
use mon_ipc_std::{Channel, Message, Recv, SharedMemory, SocketKind};

use crate::buffer::{append, mon_buffer};
use crate::codes::{
    FD_COUNT_MISMATCH, MON_E_CLOSED, MON_E_INVALID_ARGUMENT, MON_E_NO_MEMORY, MON_E_SEND_PENDING,
    MON_E_TIMEOUT, MON_OK, MON_WANT_READ, MON_WANT_WRITE,
};
use crate::fd::{CFd, clear_errno, set_errno};
use crate::guard::{guard, invalid};
use crate::sys;

/// A frame arriving on a stream socket, between calls.
#[derive(Debug, Default)]
struct PartialRecv {
    /// The header bytes so far (capacity 8).
    head: Vec<u8>,
    /// The header, once all 8 bytes are in and checked.
    header: Option<Header>,
    /// The frame's fd, which came with its first byte.
    fd: Option<OwnedFd>,
    /// The payload so far (capacity: all of it).
    payload: Vec<u8>,
}

/// An fd's number and identity (`st_dev`, `st_ino`).
type FdId = (RawFd, (u64, u64));

/// A frame partly sent.
#[derive(Debug)]
struct PartialSend {
    /// The whole frame, header included.
    frame: Vec<u8>,
    /// Bytes of it already sent.
    sent: usize,
    /// The fd that went with it: its number and identity.
    fd: Option<FdId>,
}

/// The receiving half of an entry.
#[derive(Debug, Default)]
struct RecvHalf {
    channel: Option<Channel<CFd>>,
    partial: Option<PartialRecv>,
    /// A sticky error of the channel path (a shared-memory refusal).
    failed: Option<c_int>,
    /// The limits a server's handshake negotiated, where they are below
    /// the plain receive's own ([`limits`]): every frame is checked
    /// against the negotiated maximum
    /// ([PROTOCOL.md §4.4](mon_ipc::spec#44-receiving-and-the-fd-attribution-rule)).
    /// Until EOF.
    negotiated: Option<Limits>,
}

/// The sending half of an entry.
#[derive(Debug, Default)]
struct SendHalf {
    partial: Option<PartialSend>,
}

trait Half: Default {
    fn is_empty(&self) -> bool;
    fn of(e: &mut Entry) -> &mut Option<Self>;
}

impl Half for RecvHalf {
    fn is_empty(&self) -> bool {
        self.channel.is_none()
            && self.partial.is_none()
            && self.failed.is_none()
            && self.negotiated.is_none()
    }
    fn of(e: &mut Entry) -> &mut Option<Self> {
        &mut e.recv
    }
}

impl Half for SendHalf {
    fn is_empty(&self) -> bool {
        self.partial.is_none()
    }
    fn of(e: &mut Entry) -> &mut Option<Self> {
        &mut e.send
    }
}

#[derive(Debug)]
struct Entry {
    identity: (u64, u64),
    timeout: Option<Duration>,
    /// `None` while a call is using it.
    recv: Option<RecvHalf>,
    /// `None` while a call is using it.
    send: Option<SendHalf>,
}

impl Entry {
    fn new(identity: (u64, u64)) -> Self {
        Entry {
            identity,
            timeout: None,
            recv: Some(RecvHalf::default()),
            send: Some(SendHalf::default()),
        }
    }

    fn is_empty(&self) -> bool {
        self.timeout.is_none()
            && self.recv.as_ref().is_some_and(RecvHalf::is_empty)
            && self.send.as_ref().is_some_and(SendHalf::is_empty)
    }
}

static REGISTRY: Mutex<BTreeMap<RawFd, Entry>> = Mutex::new(BTreeMap::new());

fn registry() -> MutexGuard<'static, BTreeMap<RawFd, Entry>> {
    // Every change to the map is one call: poisoning cannot leave it
    // half-updated.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Drops every entry (not in use) whose fd no longer names its socket.
fn prune(map: &mut BTreeMap<RawFd, Entry>) {
    map.retain(|&fd, e| {
        e.recv.is_none()
            || e.send.is_none()
            || CFd::check(fd).is_ok_and(|c| c.identity() == Ok(e.identity))
    });
    // The checks of closed fds are no failure of this call.
    clear_errno();
}

/// `sock`'s entry, if it has one that is still its socket's; a stale one
/// (the number reused) is dropped.
fn entry(map: &mut BTreeMap<RawFd, Entry>, sock: CFd) -> Option<&mut Entry> {
    let identity = map.get(&sock.raw())?.identity;
    if sock.identity() != Ok(identity) {
        map.remove(&sock.raw());
        clear_errno();
        return None;
    }
    map.get_mut(&sock.raw())
}

/// Takes one half of `sock`'s entry out for a call, with the timeout.
/// `MON_E_INVALID_ARGUMENT` (`EBUSY`) if another call is using it.
fn checkout<H: Half>(sock: CFd) -> Result<(H, Option<Duration>), c_int> {
    let mut map = registry();
    let Some(e) = entry(&mut map, sock) else {
        return Ok((H::default(), None));
    };
    let timeout = e.timeout;
    match H::of(e).take() {
        Some(h) => Ok((h, timeout)),
        None => {
            set_errno(libc::EBUSY);
            Err(MON_E_INVALID_ARGUMENT)
        }
    }
}

/// Puts a half back; removes an entry left with nothing.
fn checkin<H: Half>(sock: CFd, half: H) {
    let mut map = registry();
    if let Some(e) = map.get_mut(&sock.raw()) {
        *H::of(e) = Some(half);
        if e.is_empty() {
            map.remove(&sock.raw());
        }
        return;
    }
    if half.is_empty() {
        return;
    }
    let Ok(identity) = sock.identity() else {
        return;
    };
    prune(&mut map);
    let mut e = Entry::new(identity);
    *H::of(&mut e) = Some(half);
    map.insert(sock.raw(), e);
}

/// Runs `f` on one half of `sock`'s entry.
fn with_half<H: Half, T>(
    sock: CFd,
    f: impl FnOnce(&mut H, Option<Duration>) -> Result<T, c_int>,
) -> Result<T, c_int> {
    let (mut half, timeout) = checkout::<H>(sock)?;
    let r = f(&mut half, timeout);
    checkin(sock, half);
    r
}

/// Keeps a finished client handshake's channel for `recv_fd`.
pub(crate) fn register(fd: CFd, channel: Channel<CFd>) -> Result<(), c_int> {
    let identity = fd.identity()?;
    let mut map = registry();
    prune(&mut map);
    let e = match entry(&mut map, fd) {
        Some(e) => e,
        None => map.entry(fd.raw()).or_insert(Entry::new(identity)),
    };
    // A call receiving on this socket right now is a caller's bug; it
    // would put its half back over this one.
    e.recv = Some(RecvHalf {
        channel: Some(channel),
        ..RecvHalf::default()
    });
    Ok(())
}

/// Keeps the limits a server's handshake on `fd` negotiated for its
/// receives, unless they are the plain receive's own (then nothing is
/// kept: the common case, a client that advertised at least as much).
pub(crate) fn negotiated(fd: CFd, limits: Limits) -> Result<(), c_int> {
    let mut half = RecvHalf::default();
    if limits != self::limits() {
        half.negotiated = Some(limits);
    }
    let identity = fd.identity()?;
    let mut map = registry();
    let e = match entry(&mut map, fd) {
        Some(e) => e,
        None if half.is_empty() => return Ok(()),
        None => {
            prune(&mut map);
            map.entry(fd.raw()).or_insert(Entry::new(identity))
        }
    };
    // A call receiving on this socket right now is a caller's bug; it
    // would put its half back over this one.
    e.recv = Some(half);
    if e.is_empty() {
        map.remove(&fd.raw());
    }
    Ok(())
}

/// The C code of a driver error; an I/O error's errno is recorded.
pub(crate) fn driver_error(e: &mon_ipc_std::Error) -> c_int {
    if let mon_ipc_std::Error::Io { errno, .. } = e {
        set_errno(*errno);
    }
    crate::codes::of_error(e)
}

/// The code of a protocol error found here.
fn peer(e: PeerError) -> c_int {
    crate::codes::of_error(&mon_ipc_std::Error::Protocol(e.into()))
}

/// How a call waits where the socket would block: not at all on a
/// non-blocking socket (`MON_WANT_*`), else with `poll` until the deadline
/// (`None`: for ever).
///
/// The socket's `O_NONBLOCK` is read (`fcntl`) only there, where a system
/// call said `EAGAIN`, never up front: a call that does not have to wait
/// spends no system call on it, and a caller that flips `O_NONBLOCK`
/// between calls (the manual does not forbid it) is obeyed at the next
/// wait. The reads and writes take `MSG_DONTWAIT` only with a deadline
/// ([`sys`]'s module docs), so on a blocking socket without one the
/// kernel waits and `EAGAIN` does not come.
#[derive(Clone, Copy, Debug)]
struct Wait {
    deadline: Option<Instant>,
}

impl Wait {
    /// The deadline of a call starting now, with the socket's timeout.
    fn new(timeout: Option<Duration>) -> Wait {
        Wait {
            deadline: timeout.map(|t| Instant::now() + t),
        }
    }

    /// Whether the reads and writes must not sleep in the kernel.
    fn dontwait(self) -> bool {
        self.deadline.is_some()
    }

    /// After `EAGAIN`: `MON_WANT_*` on a non-blocking socket, else waits
    /// until it is ready (`MON_E_TIMEOUT` at the deadline).
    fn wait(self, sock: CFd, write: bool) -> Result<(), c_int> {
        match sys::is_nonblocking(sock.raw())? {
            true if write => Err(MON_WANT_WRITE),
            true => Err(MON_WANT_READ),
            false => sys::wait(sock.raw(), write, self.deadline),
        }
    }
}

/// Whether a code means "call again": the state is kept.
fn again(code: c_int) -> bool {
    matches!(code, MON_WANT_READ | MON_WANT_WRITE | MON_E_TIMEOUT)
}

/// The limits of the plain receive: 1 fd, 16 MiB, what the C API's
/// handshakes advertise (a server's socket may have lower ones,
/// [`RecvHalf::negotiated`]).
fn limits() -> Limits {
    Limits::new(1, DEFAULT_MAX_PAYLOAD).unwrap_or_default()
}

/// A received frame, owned: its kind, payload (the application's bytes
/// for shared memory: the 12-byte header checked and taken off) and fds.
struct Frame {
    kind: Kind,
    payload: Bytes,
    fds: Vec<OwnedFd>,
    /// A region the driver's seqpacket receive checked and mapped already.
    region: Option<SharedMemory>,
}

impl Frame {
    /// A channel's frame, owned.
    fn of(m: Message<'_>) -> Frame {
        Frame {
            kind: m.kind,
            payload: m.payload,
            fds: m.fds.collect(),
            region: None,
        }
    }
}

/// One frame from a stream socket, resuming `half`'s partial frame.
fn recv_stream(half: &mut RecvHalf, sock: CFd, wait: Wait) -> Result<Frame, c_int> {
    let limits = half.negotiated.unwrap_or_else(limits);
    let mut st = half.partial.take().unwrap_or_default();
    match recv_stream_step(&mut st, sock, wait, limits) {
        Ok(f) => Ok(f),
        Err(code) => {
            if again(code) && !st.head.is_empty() {
                half.partial = Some(st);
            }
            Err(code)
        }
    }
}

fn recv_stream_step(
    st: &mut PartialRecv,
    sock: CFd,
    wait: Wait,
    limits: Limits,
) -> Result<Frame, c_int> {
    loop {
        let header = match st.header {
            Some(h) => h,
            None => {
                if st.head.capacity() < HEADER_LEN {
                    st.head.reserve_exact(HEADER_LEN);
                }
                let had = st.head.len();
                let max = HEADER_LEN - had;
                let got = match sys::recv_some(sock.raw(), &mut st.head, max, wait.dontwait()) {
                    Ok(g) => g,
                    Err(libc::EAGAIN) => {
                        wait.wait(sock, false)?;
                        continue;
                    }
                    Err(e) => return Err(sys::io(e)),
                };
                if got.ctrunc {
                    return Err(peer(PeerError::ControlTruncated));
                }
                if got.n == 0 {
                    return Err(match (had, got.fds.is_empty()) {
                        (0, true) => MON_E_CLOSED,
                        (_, true) => peer(PeerError::EofInFrame),
                        _ => peer(PeerError::FdsWithoutFrame),
                    });
                }
                // Fds belong to the read in which the frame's first byte
                // arrived.
                if had > 0 && !got.fds.is_empty() {
                    return Err(peer(PeerError::FdsWithoutFrame));
                }
                if got.fds.len() > usize::from(limits.max_fds()) {
                    return Err(FD_COUNT_MISMATCH);
                }
                if had == 0 {
                    st.fd = got.fds.into_iter().next();
                }
                let Ok(bytes) = <[u8; HEADER_LEN]>::try_from(&st.head[..]) else {
                    continue;
                };
                let h = Header::from_bytes(&bytes);
                h.check(limits).map_err(peer)?;
                match (h.nfds, st.fd.is_some()) {
                    (0, false) | (1, true) => {}
                    (_, false) => return Err(peer(PeerError::FdsMissing)),
                    _ => return Err(FD_COUNT_MISMATCH),
                }
                if st.payload.try_reserve_exact(h.len as usize).is_err() {
                    set_errno(libc::ENOMEM);
                    return Err(MON_E_NO_MEMORY);
                }
                st.header = Some(h);
                h
            }
        };
        let left = header.len as usize - st.payload.len();
        if left == 0 {
            return frame(header, std::mem::take(&mut st.payload), st.fd.take());
        }
        let got = match sys::recv_some(sock.raw(), &mut st.payload, left, wait.dontwait()) {
            Ok(g) => g,
            Err(libc::EAGAIN) => {
                wait.wait(sock, false)?;
                continue;
            }
            Err(e) => return Err(sys::io(e)),
        };
        if got.ctrunc || !got.fds.is_empty() {
            return Err(peer(PeerError::FdsWithoutFrame));
        }
        if got.n == 0 {
            return Err(peer(PeerError::EofInFrame));
        }
    }
}

/// A complete frame's kind, with a shared-memory header checked and
/// taken off the payload.
fn frame(header: Header, payload: Vec<u8>, fd: Option<OwnedFd>) -> Result<Frame, c_int> {
    let fds: Vec<OwnedFd> = fd.into_iter().collect();
    if header.kind != KIND_SHM {
        return Ok(Frame {
            kind: Kind::Data,
            payload: Bytes::from(payload),
            fds,
            region: None,
        });
    }
    let shm = ShmHeader::parse(&payload).map_err(peer)?;
    shm.check(DEFAULT_MAX_SHM_SIZE).map_err(peer)?;
    Ok(Frame {
        kind: Kind::SharedMemory(shm),
        payload: Bytes::from(payload).slice(SHM_HEADER_LEN..),
        fds,
        region: None,
    })
}

/// One frame through the client handshake's channel, whose reads follow
/// the socket's mode. Without a deadline it reads first (a blocking
/// socket waits in that read) and asks for the mode only after `EAGAIN`.
/// A blocking socket with a deadline is left to the channel's own read
/// timeout (`poll`, `MSG_DONTWAIT` reads), which keeps a partial frame in
/// the channel for the next call, as `MON_E_TIMEOUT` must.
fn recv_channel(channel: &mut Channel<CFd>, sock: CFd, wait: Wait) -> Result<Frame, c_int> {
    if wait.deadline.is_none() {
        if let Some(f) = try_recv_channel(channel)? {
            return Ok(f);
        }
        if sys::is_nonblocking(sock.raw())? {
            return Err(MON_WANT_READ);
        }
    } else if sys::is_nonblocking(sock.raw())? {
        return try_recv_channel(channel)?.ok_or(MON_WANT_READ);
    }
    let timeout = match wait.deadline {
        None => None,
        Some(d) => match d.saturating_duration_since(Instant::now()) {
            left if left.is_zero() => return Err(MON_E_TIMEOUT),
            left => Some(left),
        },
    };
    match channel
        .set_read_timeout(timeout)
        .and_then(|()| channel.recv())
    {
        Ok(Some(m)) => Ok(Frame::of(m)),
        Ok(None) => Err(MON_E_CLOSED),
        Err(e) => Err(driver_error(&e)),
    }
}

/// One `Channel::try_recv`: `None` for `WouldBlock`.
fn try_recv_channel(channel: &mut Channel<CFd>) -> Result<Option<Frame>, c_int> {
    match channel.try_recv() {
        Ok(Recv::Frame(m)) => Ok(Some(Frame::of(m))),
        Ok(Recv::WouldBlock) => Ok(None),
        Ok(Recv::Eof) => Err(MON_E_CLOSED),
        Err(e) => Err(driver_error(&e)),
    }
}

/// One frame, by whichever path the socket takes: its channel, the
/// resumable stream receive, or (seqpacket: a record comes whole or not
/// at all, so there is nothing to resume) the driver's receive once a
/// record is there.
fn recv_any(half: &mut RecvHalf, sock: CFd, wait: Wait, shm: bool) -> Result<Frame, c_int> {
    if let Some(code) = half.failed {
        return Err(code);
    }
    if let Some(channel) = half.channel.as_mut() {
        let r = recv_channel(channel, sock, wait);
        if r.as_ref().err() == Some(&MON_E_CLOSED) {
            half.channel = None;
        }
        return r;
    }
    let r = recv_plain(half, sock, wait, shm);
    if r.as_ref().err() == Some(&MON_E_CLOSED) {
        half.negotiated = None;
    }
    r
}

/// One frame without a channel: the resumable stream receive, or a
/// seqpacket record.
fn recv_plain(half: &mut RecvHalf, sock: CFd, wait: Wait, shm: bool) -> Result<Frame, c_int> {
    if mon_ipc_std::raw::socket_kind(sock).map_err(|e| driver_error(&e))? == SocketKind::Stream {
        return recv_stream(half, sock, wait);
    }
    while !sys::peek_ready(sock.raw())? {
        wait.wait(sock, false)?;
    }
    let mut buf = Vec::new();
    if shm {
        let region = with_bytes_mut(&mut buf, |b| mon_ipc_std::recv_shm(sock, b))?;
        return Ok(Frame {
            kind: Kind::Data,
            payload: Bytes::from(buf),
            fds: Vec::new(),
            region: Some(region),
        });
    }
    let max_payload = half.negotiated.unwrap_or_else(limits).max_payload();
    let fd = with_bytes_mut(&mut buf, |b| {
        mon_ipc_std::recv_fd_with(sock, b, max_payload)
    })?;
    Ok(Frame {
        kind: Kind::Data,
        payload: Bytes::from(buf),
        fds: fd.into_iter().collect(),
        region: None,
    })
}

/// One frame with 0 or 1 fd; the payload goes into `dst`.
pub(crate) fn recv(sock: CFd, dst: &mut Vec<u8>) -> Result<Option<OwnedFd>, c_int> {
    with_half(sock, |half: &mut RecvHalf, timeout| {
        let mut f = recv_any(half, sock, Wait::new(timeout), false)?;
        // The negotiated limit is 1 fd per frame, so a channel has refused
        // any frame with more already; this is a second line.
        if f.fds.len() > 1 {
            return Err(FD_COUNT_MISMATCH);
        }
        append(dst, &f.payload)?;
        Ok(f.fds.pop())
    })
}

/// Runs a driver receive on `dst` as a `BytesMut`: zero-copy both ways,
/// the Vec's allocation becomes the BytesMut's and back.
fn with_bytes_mut<T>(
    dst: &mut Vec<u8>,
    recv: impl FnOnce(&mut BytesMut) -> mon_ipc_std::Result<T>,
) -> Result<T, c_int> {
    let mut buf = BytesMut::from(Bytes::from(std::mem::take(dst)));
    let r = recv(&mut buf);
    *dst = Vec::from(buf);
    r.map_err(|e| driver_error(&e))
}

/// One shared-memory frame (`mon_ipc_recv_shm`). On the channel path a
/// refusal is sticky, like every channel error. The application's bytes
/// are appended to `app`; on error nothing is appended, nothing stays
/// mapped and the fd is closed.
pub(crate) fn recv_shm(sock: CFd, app: &mut Vec<u8>) -> Result<SharedMemory, c_int> {
    with_half(sock, |half: &mut RecvHalf, timeout| {
        let sticky = half.channel.is_some();
        let mut f = recv_any(half, sock, Wait::new(timeout), true)?;
        let r = match (f.kind, f.fds.len()) {
            _ if f.region.is_some() => f.region.take().ok_or(MON_E_INVALID_ARGUMENT),
            (Kind::SharedMemory(h), 1) => {
                let fd = f.fds.into_iter().next().ok_or(MON_E_INVALID_ARGUMENT)?;
                SharedMemory::from_fd(fd, h).map_err(|e| driver_error(&e))
            }
            (Kind::SharedMemory(_), _) => Err(peer(PeerError::ShmFdCount)),
            (Kind::Data, _) => Err(driver_error(&mon_ipc_std::Error::ShmExpected)),
        };
        match r {
            Ok(region) => {
                append(app, &f.payload)?;
                Ok(region)
            }
            Err(code) => {
                if sticky {
                    half.failed = Some(code);
                }
                Err(code)
            }
        }
    })
}

/// Sends the frame made of `parts` with `fd` on its first byte, or
/// resumes the socket's partial frame if it is this one.
fn send_parts(sock: CFd, parts: [&[u8]; 3], fd: Option<CFd>) -> c_int {
    // The fd's identity, needed only once a frame is partly sent.
    let fd_id = || -> Result<Option<FdId>, c_int> {
        fd.map(|f| f.identity().map(|id| (f.raw(), id))).transpose()
    };
    let r = with_half(sock, |half: &mut SendHalf, timeout| {
        let wait = Wait::new(timeout);
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if let Some(p) = &half.partial {
            let mut at = 0;
            let same = p.fd == fd_id()?
                && p.frame.len() == total
                && parts.iter().all(|part| {
                    let eq = p.frame[at..at + part.len()] == **part;
                    at += part.len();
                    eq
                });
            if !same {
                set_errno(libc::EBUSY);
                return Err(MON_E_SEND_PENDING);
            }
            return send_rest(half, sock, wait);
        }
        // Straight from the caller's bytes, the fd with the first byte.
        // The frame is copied only when the call returns with part of it
        // out, for the next call to compare with and resume; a frame that
        // goes out in this call, waits included, is never copied.
        let mut sent = 0;
        while sent < total {
            let with = if sent == 0 { fd.map(CFd::raw) } else { None };
            match sys::send_some(sock.raw(), &parts, sent, with, wait.dontwait()) {
                Ok(n) => sent += n,
                Err(libc::EAGAIN) => match wait.wait(sock, true) {
                    Ok(()) => {}
                    Err(code) if sent > 0 && again(code) => {
                        half.partial = Some(PartialSend {
                            frame: copy(parts, total)?,
                            sent,
                            fd: fd_id()?,
                        });
                        return Err(code);
                    }
                    Err(code) => return Err(code),
                },
                Err(e) => return Err(sys::io(e)),
            }
        }
        Ok(())
    });
    match r {
        Ok(()) => MON_OK,
        Err(code) => code,
    }
}

/// The concatenated `parts` (`total` bytes), or `MON_E_NO_MEMORY`.
fn copy(parts: [&[u8]; 3], total: usize) -> Result<Vec<u8>, c_int> {
    let mut frame = Vec::new();
    if frame.try_reserve_exact(total).is_err() {
        set_errno(libc::ENOMEM);
        return Err(MON_E_NO_MEMORY);
    }
    for part in parts {
        frame.extend_from_slice(part);
    }
    Ok(frame)
}

/// Sends the rest of the partial frame; it stays for a retry on
/// `MON_WANT_WRITE` / `MON_E_TIMEOUT` and is dropped on any other error.
fn send_rest(half: &mut SendHalf, sock: CFd, wait: Wait) -> Result<(), c_int> {
    while let Some(p) = half.partial.as_mut() {
        if p.sent >= p.frame.len() {
            half.partial = None;
            break;
        }
        match sys::send_some(sock.raw(), &[&p.frame], p.sent, None, wait.dontwait()) {
            Ok(n) => p.sent += n,
            Err(libc::EAGAIN) => {
                if let Err(code) = wait.wait(sock, true) {
                    if !again(code) {
                        half.partial = None;
                    }
                    return Err(code);
                }
            }
            Err(e) => {
                half.partial = None;
                return Err(sys::io(e));
            }
        }
    }
    Ok(())
}

/// One data frame with `fd` attached, if given.
pub(crate) fn send(sock: CFd, payload: &[u8], fd: Option<CFd>) -> c_int {
    let Ok(len) = u32::try_from(payload.len()) else {
        return crate::codes::of_error(&mon_ipc_std::Error::Protocol(
            mon_ipc::UsageError::SendTooLarge.into(),
        ));
    };
    let header = Header {
        len,
        nfds: fd.is_some().into(),
        kind: Kind::Data.byte(),
        reserved: 0,
    }
    .to_bytes();
    send_parts(sock, [&header[..], &[], payload], fd)
}

/// One shared-memory frame: `region` (sealed with `F_SEAL_SEAL` first)
/// with `app` after the frame's 12-byte header.
pub(crate) fn send_shm(sock: CFd, region: &SharedMemory, app: &[u8]) -> c_int {
    use std::os::fd::{AsFd, AsRawFd};
    let shm = match region.seal().and_then(|()| region.header()) {
        Ok(h) => h,
        Err(e) => return driver_error(&e),
    };
    let Some(Ok(len)) = SHM_HEADER_LEN.checked_add(app.len()).map(u32::try_from) else {
        return crate::codes::of_error(&mon_ipc_std::Error::Protocol(
            mon_ipc::UsageError::SendTooLarge.into(),
        ));
    };
    let header = Header {
        len,
        nfds: 1,
        kind: KIND_SHM,
        reserved: 0,
    }
    .to_bytes();
    let fd = match CFd::check(region.as_fd().as_raw_fd()) {
        Ok(fd) => fd,
        Err(code) => return code,
    };
    send_parts(sock, [&header[..], &shm.to_bytes()[..], app], Some(fd))
}

/// The timeout `mon_ipc_set_timeout` gave `sock`, if any.
pub(crate) fn timeout_of(sock: CFd) -> Option<Duration> {
    let mut map = registry();
    entry(&mut map, sock).and_then(|e| e.timeout)
}

/// `mon_ipc_set_timeout`.
fn set_timeout(sock: CFd, timeout: Option<Duration>) -> c_int {
    let identity = match sock.identity() {
        Ok(id) => id,
        Err(code) => return code,
    };
    let mut map = registry();
    if entry(&mut map, sock).is_none() {
        if timeout.is_none() {
            return MON_OK;
        }
        prune(&mut map);
        map.insert(sock.raw(), Entry::new(identity));
    }
    if let Some(e) = map.get_mut(&sock.raw()) {
        e.timeout = timeout;
        if e.is_empty() {
            map.remove(&sock.raw());
        }
    }
    MON_OK
}

/// Sets the timeout of the blocking `mon_ipc_send_fd`, `mon_ipc_recv_fd`,
/// `mon_ipc_send_shm` and `mon_ipc_recv_shm` on the socket `fd`:
/// `timeout_ms` milliseconds for each call to complete its frame, or -1
/// for none (the default). At the deadline the call returns
/// [`MON_E_TIMEOUT`] and keeps its partial frame for the next call, as
/// after `MON_WANT_*`. Kept until [`mon_ipc_forget`]. 0 or
/// [`MON_E_INVALID_ARGUMENT`] (closed fd, `timeout_ms` < -1).
#[unsafe(no_mangle)]
pub extern "C" fn mon_ipc_set_timeout(fd: c_int, timeout_ms: c_int) -> c_int {
    guard(|| {
        let timeout = match timeout_ms {
            -1 => None,
            ms if ms >= 0 => Some(Duration::from_millis(ms as u64)),
            _ => return invalid(),
        };
        match CFd::check(fd) {
            Ok(sock) => set_timeout(sock, timeout),
            Err(code) => code,
        }
    })
}

/// Drops everything the library keeps for the socket `fd`: a partial
/// frame (closing the fd it holds), the client handshake's channel, the
/// timeout. Call it before `close(fd)`. 0, or [`MON_E_INVALID_ARGUMENT`]
/// for a negative fd; a socket with nothing kept is no error.
#[unsafe(no_mangle)]
pub extern "C" fn mon_ipc_forget(fd: c_int) -> c_int {
    guard(|| {
        if fd < 0 {
            return invalid();
        }
        let gone = registry().remove(&fd);
        drop(gone);
        MON_OK
    })
}

/// Receives one frame from the socket `source_fd`: appends its payload to
/// `dst` and stores its fd (owned by the caller, `FD_CLOEXEC`) in
/// `*fd_received`, or -1 if it carried none. 0 or a negative error code;
/// on error nothing is appended, `*fd_received` is -1 and every fd that
/// arrived is closed (a frame with more than one fd is an error).
///
/// On a non-blocking socket it never waits: [`MON_WANT_READ`] when the
/// frame is not complete yet; the part that came (and its fd) is kept for
/// the next call on this socket, which continues the same frame. On a
/// blocking socket it waits, at most the socket's `mon_ipc_set_timeout`
/// ([`MON_E_TIMEOUT`], partial frame kept likewise).
///
/// # Safety
///
/// `dst` is NULL or from [`mon_buffer_new`]; `fd_received` is NULL or valid
/// for writing one `int`.
///
/// [`mon_buffer_new`]: crate::mon_buffer_new
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_recv_fd(
    source_fd: c_int,
    dst: *mut mon_buffer,
    fd_received: *mut c_int,
) -> c_int {
    guard(|| {
        if fd_received.is_null() || dst.is_null() {
            if !fd_received.is_null() {
                // SAFETY: not NULL; the caller's contract.
                unsafe { fd_received.write(-1) };
            }
            return invalid();
        }
        // SAFETY: not NULL; the caller's contract.
        unsafe { fd_received.write(-1) };
        let sock = match CFd::check(source_fd) {
            Ok(s) => s,
            Err(code) => return code,
        };
        // SAFETY: `dst` is not NULL and came from `mon_buffer_new` (the
        // caller's contract); no other reference to it exists in this call.
        let dst = unsafe { &mut *dst };
        match recv(sock, &mut dst.data) {
            Ok(Some(fd)) => {
                // SAFETY: not NULL; the caller's contract.
                unsafe { fd_received.write(fd.into_raw_fd()) };
                MON_OK
            }
            Ok(None) => MON_OK,
            Err(code) => code,
        }
    })
}

/// Sends the bytes of `src` as one frame on the socket `target_fd`, with
/// the fd `fd_to_send` attached (the caller keeps it; the peer gets a
/// duplicate). Extension: `fd_to_send` = -1 sends the data without an fd.
/// 0 or a negative error code.
///
/// On a non-blocking socket it never waits: [`MON_WANT_WRITE`] when the
/// socket is full; if part of the frame went out (the fd goes with its
/// first byte), the rest is kept and the next call with the same bytes
/// and fd continues it, never sending a byte or the fd twice; another
/// buffer or fd meanwhile is [`MON_E_SEND_PENDING`]. On a blocking socket
/// it waits, at most the socket's `mon_ipc_set_timeout` ([`MON_E_TIMEOUT`],
/// partial frame kept likewise).
///
/// # Safety
///
/// `src` is NULL or from [`mon_buffer_new`].
///
/// [`mon_buffer_new`]: crate::mon_buffer_new
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_send_fd(
    target_fd: c_int,
    src: *mut mon_buffer,
    fd_to_send: c_int,
) -> c_int {
    guard(|| {
        if src.is_null() || fd_to_send < -1 {
            return invalid();
        }
        let fd = match fd_to_send {
            -1 => None,
            n => match CFd::check(n) {
                Ok(fd) => Some(fd),
                Err(code) => return code,
            },
        };
        let sock = match CFd::check(target_fd) {
            Ok(s) => s,
            Err(code) => return code,
        };
        // SAFETY: `src` is not NULL and came from `mon_buffer_new` (the
        // caller's contract); it is only read.
        let src = unsafe { &*src };
        send(sock, &src.data, fd)
    })
}
