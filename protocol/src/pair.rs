//! An in-memory driver: the client core wired to the server core through a
//! simulated UNIX socket, for tests, examples, conformance and fuzzing.
//!
//! [`Wire`] models one direction of a socket with the kernel's rules, as
//! observed on Linux ([PROTOCOL.md §1](crate::spec#1-transport)):
//!
//! - each `sendmsg` is one message with its credentials and fds;
//! - stream: a read may merge consecutive messages, but stops after a
//!   message whose fds it delivered, and (with `SO_PASSCRED` on) never
//!   merges messages whose credentials differ; the fds come with the first
//!   byte of their message, even on a short read;
//! - seqpacket: a read returns one record; a short buffer loses the rest of
//!   the record and sets `MSG_TRUNC`.
//!
//! How many bytes each read asks for is the caller's choice ([`ReadSizes`]),
//! which is how tests re-chunk the same exchange.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

use bytes::Bytes;

use crate::client::{ClientAuth, ClientConfig};
use crate::creds::Ucred;
use crate::decoder::{Decoder, ReadFlags};
use crate::encoder::Encoder;
use crate::error::{Error, PeerError};
use crate::established::Established;
use crate::event::{Ancillary, SocketKind, Step};
use crate::frame::Kind;
use crate::handshake::Handshake;
use crate::policy::SocketCredentials;
use crate::server::{ServerAuth, ServerConfig};

/// One `sendmsg` in flight.
#[derive(Debug)]
struct Message<F> {
    bytes: Vec<u8>,
    read: usize,
    creds: Ucred,
    fds: Vec<F>,
}

/// What one read returned.
#[derive(Debug)]
pub enum Read<F> {
    /// Bytes (at least one) and ancillary data.
    Data(Vec<u8>, Ancillary<F>),
    /// Nothing queued: the read would block.
    WouldBlock,
    /// The sender closed and everything was read.
    Eof,
}

/// One direction of a simulated UNIX socket.
#[derive(Debug)]
pub struct Wire<F> {
    socket: SocketKind,
    queue: VecDeque<Message<F>>,
    closed: bool,
    /// `SO_PASSCRED` on the receiving end.
    pub passcred: bool,
}

impl<F> Wire<F> {
    /// An empty direction.
    pub fn new(socket: SocketKind) -> Self {
        Wire {
            socket,
            queue: VecDeque::new(),
            closed: false,
            passcred: false,
        }
    }

    /// One `sendmsg`: `creds` is what the kernel records for it (explicit
    /// `SCM_CREDENTIALS`, or the sender's real ids).
    pub fn send(&mut self, bytes: &[u8], creds: Ucred, fds: Vec<F>) {
        if self.closed || (bytes.is_empty() && fds.is_empty()) {
            return;
        }
        self.queue.push_back(Message {
            bytes: bytes.into(),
            read: 0,
            creds,
            fds,
        });
    }

    /// The sender shuts down its end.
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// One `recvmsg` asking for at most `max` bytes (at least 1).
    pub fn read(&mut self, max: usize) -> Read<F> {
        let max = max.max(1);
        if self.queue.is_empty() {
            return if self.closed {
                Read::Eof
            } else {
                Read::WouldBlock
            };
        }
        let mut out = Vec::new();
        let mut anc = Ancillary::default();
        match self.socket {
            SocketKind::Seqpacket => {
                if let Some(m) = self.queue.pop_front() {
                    let n = m.bytes.len().min(max);
                    out.extend_from_slice(&m.bytes[..n]);
                    anc.trunc = n < m.bytes.len();
                    anc.fds = m.fds;
                    anc.creds = self.passcred.then_some(m.creds);
                }
            }
            SocketKind::Stream => {
                while let Some(m) = self.queue.front_mut() {
                    if out.len() == max {
                        break;
                    }
                    if self.passcred && !out.is_empty() && anc.creds != Some(m.creds) {
                        break;
                    }
                    if self.passcred && out.is_empty() {
                        anc.creds = Some(m.creds);
                    }
                    let got_fds = m.read == 0 && !m.fds.is_empty();
                    if got_fds {
                        anc.fds = core::mem::take(&mut m.fds);
                    }
                    let n = (m.bytes.len() - m.read).min(max - out.len());
                    out.extend_from_slice(&m.bytes[m.read..m.read + n]);
                    m.read += n;
                    if m.read == m.bytes.len() {
                        self.queue.pop_front();
                    }
                    if got_fds {
                        break;
                    }
                }
            }
        }
        Read::Data(out, anc)
    }
}

/// The size of each read, in order: a fixed size, or a caller's sequence.
pub enum ReadSizes {
    /// Every read asks for this many bytes (`usize::MAX`: all at once).
    Fixed(usize),
    /// Each read asks for what the function returns (at least 1 is used).
    Each(Box<dyn FnMut() -> usize>),
}

impl ReadSizes {
    fn next(&mut self) -> usize {
        match self {
            ReadSizes::Fixed(n) => *n,
            ReadSizes::Each(f) => f(),
        }
    }
}

impl core::fmt::Debug for ReadSizes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ReadSizes::Fixed(n) => write!(f, "Fixed({n})"),
            ReadSizes::Each(_) => f.write_str("Each(..)"),
        }
    }
}

/// One side's channel after the handshake.
#[derive(Debug)]
pub struct Channel<F> {
    /// The frame encoder.
    pub encoder: Encoder<F>,
    /// The frame decoder.
    pub decoder: Decoder<F>,
}

/// A received frame, owned.
pub type Received<F> = (Bytes, Vec<F>);

/// The client and server cores connected in memory.
#[derive(Debug)]
pub struct Pair<F> {
    client_config: ClientConfig,
    server_config: ServerConfig,
    /// What the client's kernel records for it.
    pub client_creds: Ucred,
    /// What the server's kernel records for it.
    pub server_creds: Ucred,
    /// Client to server.
    pub to_server: Wire<F>,
    /// Server to client.
    pub to_client: Wire<F>,
    /// Read sizes of the client's reads.
    pub client_reads: ReadSizes,
    /// Read sizes of the server's reads.
    pub server_reads: ReadSizes,
    /// Whether the server's caller accepts the client.
    pub accept: bool,
    /// Frames the server sends right behind its reply, before the client
    /// has read it.
    pub server_early: Vec<(Vec<u8>, Vec<F>)>,
    /// The client's channel, once established.
    pub client: Option<Channel<F>>,
    /// The server's channel, once established.
    pub server: Option<Channel<F>>,
}

/// Both sides' handshake outcomes.
#[derive(Debug)]
pub struct Outcome<F> {
    /// The client's.
    pub client: Result<Established<F>, Error>,
    /// The server's.
    pub server: Result<Established<F>, Error>,
}

impl<F> Pair<F> {
    /// A pair on the configs' socket type (the client's), with client
    /// credentials (4242, 1000, 1000) and server credentials (1, 0, 0).
    pub fn new(client_config: ClientConfig, server_config: ServerConfig) -> Self {
        let socket = client_config.socket;
        let mut to_server = Wire::new(socket);
        to_server.passcred = true;
        Pair {
            client_config,
            server_config,
            client_creds: Ucred::known(4242, 1000, 1000),
            server_creds: Ucred::known(1, 0, 0),
            to_server,
            to_client: Wire::new(socket),
            client_reads: ReadSizes::Fixed(usize::MAX),
            server_reads: ReadSizes::Fixed(usize::MAX),
            accept: true,
            server_early: Vec::new(),
            client: None,
            server: None,
        }
    }

    /// Runs both handshakes to their end. On success both channels are set
    /// up (the client's already fed with its leftover input).
    pub fn handshake(&mut self) -> Result<(), Error> {
        let outcome = self.run_handshake();
        match (outcome.client, outcome.server) {
            (Ok(c), Ok(s)) => {
                self.client = Some(channel(c)?);
                self.server = Some(channel(s)?);
                Ok(())
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    /// Runs both handshakes to their end and returns both outcomes.
    pub fn run_handshake(&mut self) -> Outcome<F> {
        self.to_client.passcred = self.client_config.mutual;
        let mut client = ClientAuth::new(
            self.client_config,
            SocketCredentials::new(self.server_creds),
        );
        let mut server = ServerAuth::new(
            self.server_config,
            SocketCredentials::new(self.client_creds),
        );
        let mut out = Vec::new();
        let (mut client_end, mut server_end) = (None, None);
        while client_end.is_none() || server_end.is_none() {
            let mut progress = false;
            if server_end.is_none() {
                match server.step(&mut out) {
                    Step::NeedInput => {
                        progress |= feed(&mut self.to_server, &mut self.server_reads, &mut server);
                    }
                    Step::Send(_) => {
                        // With or without `Attach::OwnCredentials`, the kernel
                        // records the server's ids: it is not set-uid here.
                        self.to_client.send(&out, self.server_creds, Vec::new());
                        out.clear();
                        progress = true;
                    }
                    Step::Decide => {
                        let _ = if self.accept {
                            server.accept()
                        } else {
                            server.deny()
                        };
                        progress = true;
                    }
                    Step::Done => {
                        for (payload, fds) in self.server_early.drain(..) {
                            let mut enc =
                                Encoder::new(self.server_config.limits, self.server_config.socket);
                            if enc.push_copy(Kind::Data, &payload, fds).is_ok() {
                                flush(&mut enc, &mut self.to_client, self.server_creds);
                            }
                        }
                        server_end = Some(Ok(()));
                        progress = true;
                    }
                    Step::Failed(e) => {
                        self.to_client.close();
                        server_end = Some(Err(e));
                        progress = true;
                    }
                }
            }
            if client_end.is_none() {
                match client.step(&mut out) {
                    Step::NeedInput => {
                        progress |= feed(&mut self.to_client, &mut self.client_reads, &mut client);
                    }
                    Step::Send(_) => {
                        self.to_server.send(&out, self.client_creds, Vec::new());
                        out.clear();
                        progress = true;
                    }
                    // A client never decides; nothing to do if it did.
                    Step::Decide => {}
                    Step::Done => {
                        client_end = Some(Ok(()));
                        progress = true;
                    }
                    Step::Failed(e) => {
                        self.to_server.close();
                        client_end = Some(Err(e));
                        progress = true;
                    }
                }
            }
            if !progress {
                // Both wait for input that cannot come: only a bug does this.
                break;
            }
        }
        self.to_server.passcred = false;
        self.to_client.passcred = false;
        Outcome {
            client: client.finish(),
            server: server.finish(),
        }
    }

    /// The client queues and sends one data frame.
    pub fn client_sends(&mut self, payload: &[u8], fds: Vec<F>) -> Result<(), Error> {
        let ch = self
            .client
            .as_mut()
            .ok_or(Error::Usage(crate::UsageError::NotFinished))?;
        ch.encoder.push_copy(Kind::Data, payload, fds)?;
        flush(&mut ch.encoder, &mut self.to_server, self.client_creds);
        Ok(())
    }

    /// The server queues and sends one data frame.
    pub fn server_sends(&mut self, payload: &[u8], fds: Vec<F>) -> Result<(), Error> {
        let ch = self
            .server
            .as_mut()
            .ok_or(Error::Usage(crate::UsageError::NotFinished))?;
        ch.encoder.push_copy(Kind::Data, payload, fds)?;
        flush(&mut ch.encoder, &mut self.to_client, self.server_creds);
        Ok(())
    }

    /// The server reads until nothing more is queued and returns the frames.
    pub fn server_receives_all(&mut self) -> Result<Vec<Received<F>>, Error> {
        let ch = self
            .server
            .as_mut()
            .ok_or(Error::Usage(crate::UsageError::NotFinished))?;
        receive_all(&mut ch.decoder, &mut self.to_server, &mut self.server_reads)
    }

    /// The client reads until nothing more is queued and returns the frames.
    pub fn client_receives_all(&mut self) -> Result<Vec<Received<F>>, Error> {
        let ch = self
            .client
            .as_mut()
            .ok_or(Error::Usage(crate::UsageError::NotFinished))?;
        receive_all(&mut ch.decoder, &mut self.to_client, &mut self.client_reads)
    }

    /// The server receives exactly one frame (an error if none is there).
    pub fn server_receives(&mut self) -> Result<Received<F>, Error> {
        let mut frames = self.server_receives_all()?;
        if frames.len() != 1 {
            return Err(PeerError::EofInFrame.into());
        }
        Ok(frames.remove(0))
    }
}

fn channel<F>(est: Established<F>) -> Result<Channel<F>, Error> {
    let mut decoder = Decoder::new(est.limits, est.socket);
    // A bad frame in the leftover is a channel error, not a handshake
    // error: it is sticky, and the first `next_frame` reports it, exactly
    // as it would had the frame come in a later read.
    let _ = decoder.receive_leftover(est.leftover);
    Ok(Channel {
        encoder: Encoder::new(est.limits, est.socket),
        decoder,
    })
}

/// Reads once and feeds the result; false if the read would block.
/// Errors are not lost: they are sticky, and the next `step` reports them.
fn feed<F>(wire: &mut Wire<F>, sizes: &mut ReadSizes, side: &mut impl Handshake<F>) -> bool {
    match wire.read(sizes.next()) {
        Read::Data(bytes, anc) => {
            let _ = side.receive(&bytes, anc);
            true
        }
        Read::Eof => {
            let _ = side.receive_eof();
            true
        }
        Read::WouldBlock => false,
    }
}

/// Sends everything queued, one `transmit` per simulated `sendmsg`.
pub fn flush<F>(enc: &mut Encoder<F>, wire: &mut Wire<F>, creds: Ucred) {
    let mut bytes = Vec::new();
    loop {
        let mut slices = [&[][..]; 16];
        let Some(t) = enc.transmit(&mut slices) else {
            break;
        };
        bytes.clear();
        for s in &slices[..t.slices] {
            bytes.extend_from_slice(s);
        }
        let mut fds = Vec::new();
        if enc.advance_with(bytes.len(), |fd| fds.push(fd)).is_err() {
            break;
        }
        wire.send(&bytes, creds, fds);
    }
}

/// Reads until the wire would block or ends; returns every frame decoded.
pub fn receive_all<F>(
    dec: &mut Decoder<F>,
    wire: &mut Wire<F>,
    sizes: &mut ReadSizes,
) -> Result<Vec<Received<F>>, Error> {
    let mut frames = Vec::new();
    loop {
        while let Some(frame) = dec.next_frame()? {
            frames.push((frame.payload, frame.fds.collect()));
        }
        match wire.read(sizes.next()) {
            Read::Data(bytes, anc) => {
                let flags = ReadFlags {
                    ctrunc: anc.ctrunc,
                    trunc: anc.trunc,
                };
                dec.receive(&bytes, anc.fds, flags)?;
            }
            Read::Eof => {
                dec.receive_eof()?;
                while let Some(frame) = dec.next_frame()? {
                    frames.push((frame.payload, frame.fds.collect()));
                }
                return Ok(frames);
            }
            Read::WouldBlock => return Ok(frames),
        }
    }
}
