//! One live connection as the runner sees it: writes and `\r\n` lines,
//! each logged in the case's transcript, with a timeout on every read.

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;

use super::report::{CaseReport, Side};
use crate::dbus_peers::TIMEOUT;

/// A line longer than this (without `\r\n`) is reported as it stands.
const MAX_LINE: usize = 64 * 1024;

/// What a read brought.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Read1 {
    /// One line, without `\r\n`.
    Line(Vec<u8>),
    /// The peer closed (or reset) the connection; the bytes before it
    /// that ended no line.
    Closed(Vec<u8>),
    /// Nothing within the timeout; the bytes that ended no line.
    TimedOut(Vec<u8>),
}

/// Our end of the connection.
pub(super) struct Wire {
    pub(super) sock: UnixStream,
    /// Bytes read and not yet consumed.
    pub(super) buf: Vec<u8>,
    /// Who we are on the wire.
    us: Side,
}

impl Wire {
    pub(super) fn new(sock: UnixStream, us: Side) -> std::io::Result<Wire> {
        sock.set_read_timeout(Some(TIMEOUT))?;
        sock.set_write_timeout(Some(TIMEOUT))?;
        Ok(Wire {
            sock,
            buf: Vec::new(),
            us,
        })
    }

    fn them(&self) -> Side {
        match self.us {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    /// Writes `bytes`; a peer that has closed is not an error here (the
    /// next read reports it).
    pub(super) fn send(&mut self, r: &mut CaseReport, bytes: &[u8]) {
        r.wrote(self.us, bytes);
        let _ = self.sock.write_all(bytes);
    }

    /// Our side's EOF.
    pub(super) fn hang_up(&mut self) {
        let _ = self.sock.shutdown(Shutdown::Write);
    }

    /// Reads more bytes into `buf`: `Ok(false)` at EOF (or reset).
    pub(super) fn fill(&mut self, r: &mut CaseReport) -> Result<bool, ()> {
        let mut chunk = [0u8; 4096];
        loop {
            match self.sock.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    r.wrote(self.them(), &chunk[..n]);
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(());
                }
                Err(_) => return Ok(false),
            }
        }
    }

    /// The next `\r\n` line.
    pub(super) fn line(&mut self, r: &mut CaseReport) -> Read1 {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..at].to_vec();
                self.buf.drain(..at + 2);
                return Read1::Line(line);
            }
            if self.buf.len() > MAX_LINE {
                return Read1::Line(std::mem::take(&mut self.buf));
            }
            match self.fill(r) {
                Ok(true) => {}
                Ok(false) => return Read1::Closed(std::mem::take(&mut self.buf)),
                Err(()) => return Read1::TimedOut(std::mem::take(&mut self.buf)),
            }
        }
    }
}
