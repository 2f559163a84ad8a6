//! One end of a real socket with a tap on every `sendmsg` and `recvmsg`:
//! the bytes, the credentials the kernel delivered, the fds (named
//! symbolically in arrival order), `MSG_CTRUNC`, `MSG_TRUNC` and EOF, logged
//! as vector events from this end's point of view.

use std::io::ErrorKind;
use std::os::fd::{AsFd, OwnedFd};

use mon_ipc::{Ancillary, Ucred};
use mon_ipc_std::raw::{self, Room};

use mon_ipc_conformance_core::model::{Creds, Event, Input, Output};

/// One end, its log, and its fd naming.
pub(crate) struct End {
    pub(crate) sock: Option<OwnedFd>,
    pub(crate) log: Vec<Event>,
    received: usize,
    pidfds: usize,
    sent: usize,
}

/// What one `recvmsg` gave.
pub(crate) enum Got {
    Data(Vec<u8>, Ancillary<OwnedFd>),
    Eof,
    WouldBlock,
}

fn creds(c: Ucred) -> Creds {
    let (pid, uid, gid) = c.to_raw();
    Creds { pid, uid, gid }
}

impl End {
    pub(crate) fn new(sock: OwnedFd) -> Self {
        End {
            sock: Some(sock),
            log: Vec::new(),
            received: 0,
            pidfds: 0,
            sent: 0,
        }
    }

    fn fd(&self) -> Result<std::os::fd::BorrowedFd<'_>, String> {
        self.sock
            .as_ref()
            .map(AsFd::as_fd)
            .ok_or_else(|| "socket already closed".to_owned())
    }

    /// One logical send: the first `sendmsg` carries `creds` and the fds;
    /// the rest of a short write follows without them (every `sendmsg`
    /// that carries bytes of a credentialed message repeats the claim).
    pub(crate) fn send(
        &mut self,
        bytes: &[u8],
        own_creds: bool,
        fds: Vec<OwnedFd>,
    ) -> Result<(), String> {
        let claim = own_creds.then(raw::own_credentials);
        let ids: Vec<String> = fds
            .iter()
            .map(|_| {
                self.sent += 1;
                format!("sent{}", self.sent)
            })
            .collect();
        let mut at = 0;
        let mut first = true;
        while at < bytes.len() || first {
            let borrowed: Vec<_> = if first {
                fds.iter().map(AsFd::as_fd).collect()
            } else {
                Vec::new()
            };
            match raw::send(self.fd()?, &[&bytes[at..]], claim, &borrowed) {
                Ok(n) => {
                    self.log.push(Event::Out(Output {
                        bytes: bytes[at..at + n].into(),
                        own_credentials: own_creds,
                        fds: if first { ids.clone() } else { Vec::new() },
                    }));
                    at += n;
                    first = false;
                }
                Err(e) if would_block(&e) => std::thread::yield_now(),
                Err(e) => return Err(format!("sendmsg: {e:?}")),
            }
            if bytes.is_empty() {
                break;
            }
        }
        Ok(())
    }

    /// One `recvmsg` of up to `max` bytes, logged as an `in` (or `eof`).
    pub(crate) fn recv(&mut self, max: usize) -> Result<Got, String> {
        let mut buf = vec![0u8; max];
        let room = Room {
            fds: 253,
            creds: true,
            pidfd: true,
        };
        let sock = self.fd()?;
        match raw::recv(sock, &mut buf, room) {
            Ok((0, anc)) if anc.fds.is_empty() && !anc.trunc => {
                self.log.push(Event::Eof);
                Ok(Got::Eof)
            }
            Ok((n, anc)) => {
                let fds: Vec<String> = anc
                    .fds
                    .iter()
                    .map(|_| {
                        self.received += 1;
                        format!("fd{}", self.received)
                    })
                    .collect();
                let pidfd = anc.pidfd.as_ref().map(|_| {
                    self.pidfds += 1;
                    format!("pidfd{}", self.pidfds)
                });
                buf.truncate(n);
                self.log.push(Event::In(Input {
                    bytes: buf.clone().into(),
                    creds: anc.creds.map(creds),
                    pidfd,
                    fds,
                    ctrunc: anc.ctrunc,
                    trunc: anc.trunc,
                }));
                Ok(Got::Data(buf, anc))
            }
            Err(e) if would_block(&e) => Ok(Got::WouldBlock),
            Err(e)
                if e.io_error()
                    .is_some_and(|io| io.kind() == ErrorKind::ConnectionReset) =>
            {
                self.log.push(Event::Eof);
                Ok(Got::Eof)
            }
            Err(e) => Err(format!("recvmsg: {e:?}")),
        }
    }

    /// Closes this end: the peer reads EOF.
    pub(crate) fn close(&mut self) {
        self.sock = None;
    }
}

fn would_block(e: &mon_ipc_std::Error) -> bool {
    e.io_error()
        .is_some_and(|io| io.kind() == ErrorKind::WouldBlock)
}

/// The SO_PEERCRED of a socket, as a vector triple.
pub(crate) fn peer_creds(sock: &OwnedFd) -> Result<Creds, String> {
    mon_ipc_std::peer_credentials(sock)
        .map(creds)
        .map_err(|e| format!("SO_PEERCRED: {e:?}"))
}
