//! The two I/O steps of every handshake driver (the native one in
//! `handshake.rs`, the D-Bus one in `dbus.rs`): one `sendmsg` of pending
//! output, one `recvmsg` fed to a [`Handshake`]. Each caller decides what
//! an error means for it.

use std::os::fd::{BorrowedFd, OwnedFd};

use mon_ipc::{Ancillary, Attach, Handshake};

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

/// One `sendmsg` of `bytes`, with our credentials if `attach` asks.
pub(crate) fn write(
    sock: BorrowedFd<'_>,
    bytes: &[u8],
    attach: Attach,
    dontwait: bool,
) -> Result<Io> {
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
pub(crate) fn read<H: Handshake<OwnedFd>>(
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
            let anc = Ancillary {
                creds: got.creds,
                pidfd: got.pidfd,
                fds,
                ctrunc: got.ctrunc,
                trunc: got.trunc,
            };
            let _ = side.receive(&buf[..got.len], anc);
            Ok(Io::Moved(got.len))
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
