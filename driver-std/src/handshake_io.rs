//! The two I/O steps of every handshake driver (the native one in
//! `handshake.rs`, the D-Bus one in `dbus.rs`): one `sendmsg` of pending
//! output, one `recvmsg` fed to a [`Handshake`]. Each caller decides what
//! an error means for it.

use std::os::fd::{BorrowedFd, OwnedFd};

use mon_ipc::{Attach, Handshake};

use crate::error::{Error, Result};
use crate::sys;
use crate::sys::msg::{Ctrl, Dest};

/// Bytes one handshake read asks for. The hello and the reply are 16 bytes;
/// the client's read may also bring the first frames, which the channel
/// then gets as leftover (and any rest with its next read).
pub(crate) const READ_BUF: usize = 4096;

/// What one I/O step did.
pub(crate) enum Io {
    /// Bytes moved (`sendmsg` wrote this many; `recvmsg` fed the side).
    Moved(usize),
    /// The kernel said `EAGAIN`.
    WouldBlock,
}

/// The I/O state both handshake drivers keep between steps: the side's
/// pending output, the control buffer for reads, and the blocking driver's
/// switches.
#[derive(Debug)]
pub(crate) struct Exchange {
    /// Output of the side's last `Send` step, and how much of it went out.
    out: Vec<u8>,
    sent: usize,
    /// What to attach to that output.
    attach: Attach,
    ctrl: Ctrl,
    /// `MSG_DONTWAIT` on every call (the blocking drivers, to poll with a
    /// timeout on a blocking socket).
    pub(crate) dontwait: bool,
    /// The blocking drivers' shortcut: after our own output is all out, the
    /// peer's answer is all but never there yet, so the first read waits
    /// (`WantRead`, then `poll`) instead of trying a `recvmsg` that would
    /// only say `EAGAIN`: one system call less per exchange. Off for the
    /// public step-wise API, whose `WantRead` must come from an `EAGAIN`
    /// (edge-triggered pollers).
    pub(crate) poll_before_answer: bool,
    /// Our output went out completely and nothing was read since.
    awaiting_answer: bool,
}

impl Exchange {
    /// Reads through `ctrl`; output buffers start with room for `out_cap`.
    pub(crate) fn new(ctrl: Ctrl, out_cap: usize) -> Self {
        Exchange {
            out: Vec::with_capacity(out_cap),
            sent: 0,
            attach: Attach::Nothing,
            ctrl,
            dontwait: false,
            poll_before_answer: false,
            awaiting_answer: false,
        }
    }

    /// Whether output of the last `Send` step is still to be written.
    pub(crate) fn output_pending(&self) -> bool {
        self.sent < self.out.len()
    }

    /// The side's next step: `step` appends its output (if any) to the
    /// emptied output buffer.
    pub(crate) fn next_step<T>(&mut self, step: impl FnOnce(&mut Vec<u8>) -> T) -> T {
        self.out.clear();
        self.sent = 0;
        step(&mut self.out)
    }

    /// After a `Send(attach)` step: what to attach to its output.
    pub(crate) fn attach(&mut self, attach: Attach) {
        self.attach = attach;
    }

    /// On `NeedInput`: whether to report `WantRead` at once, without a read
    /// (see [`poll_before_answer`](Exchange::poll_before_answer)).
    pub(crate) fn wait_first(&mut self) -> bool {
        self.poll_before_answer && std::mem::take(&mut self.awaiting_answer)
    }

    /// Writes what is pending: one `sendmsg`.
    pub(crate) fn write(&mut self, sock: BorrowedFd<'_>) -> Result<Io> {
        let r = write(sock, &self.out[self.sent..], self.attach, self.dontwait);
        if let Ok(Io::Moved(n)) = r {
            self.sent += n;
            self.awaiting_answer = self.sent == self.out.len();
        }
        r
    }

    /// One `recvmsg` fed to `side`; with `dontwait`, `MSG_DONTWAIT` even if
    /// the exchange blocks (the server's probe for trailing input).
    pub(crate) fn read<H: Handshake<OwnedFd>>(
        &mut self,
        sock: BorrowedFd<'_>,
        side: &mut H,
        dontwait: bool,
    ) -> Result<Io> {
        self.awaiting_answer = false;
        read(sock, &mut self.ctrl, side, self.dontwait || dontwait)
    }
}

/// One `sendmsg` of `bytes`, with our credentials if `attach` asks.
fn write(sock: BorrowedFd<'_>, bytes: &[u8], attach: Attach, dontwait: bool) -> Result<Io> {
    let creds = match attach {
        Attach::OwnCredentials => Some(sys::proc::own_claim()),
        Attach::Nothing => None,
    };
    match sys::msg::sendmsg(sock, &[bytes], creds, std::iter::empty(), dontwait) {
        Ok(n) => Ok(Io::Moved(n)),
        Err(e) if e.is_would_block() => Ok(Io::WouldBlock),
        Err(e) => Err(e),
    }
}

/// One `recvmsg`, given to `side` as a read or as EOF. Errors of `receive`
/// are sticky in the core: the side's next `step` reports them.
fn read<H: Handshake<OwnedFd>>(
    sock: BorrowedFd<'_>,
    ctrl: &mut Ctrl,
    side: &mut H,
    dontwait: bool,
) -> Result<Io, Error> {
    let mut buf = [0u8; READ_BUF];
    let mut fds = Vec::new();
    match sys::msg::recvmsg(sock, Dest::Slice(&mut buf), ctrl, &mut fds, dontwait, false) {
        // EOF. Seen on Linux 6.18: with SO_PASSCRED on, a stream read at
        // EOF still carries an SCM_CREDENTIALS (of no one: pid 0), so
        // credentials do not make a 0-byte read data. (A seqpacket read at
        // EOF has none; an empty record reads the same as EOF, and the
        // protocols never send one.)
        Ok(got) if got.len == 0 && fds.is_empty() && !got.ctrunc => {
            let _ = side.receive_eof();
            Ok(Io::Moved(0))
        }
        Ok(got) => {
            let len = got.len;
            let _ = side.receive(&buf[..len], got.ancillary(fds));
            Ok(Io::Moved(len))
        }
        Err(e) if e.is_would_block() => Ok(Io::WouldBlock),
        // Linux answers ECONNRESET instead of EOF when the peer closed with
        // our bytes unread.
        Err(e) if e.is_reset() => {
            let _ = side.receive_eof();
            Ok(Io::Moved(0))
        }
        Err(e) => Err(e),
    }
}
