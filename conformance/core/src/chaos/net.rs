//! The two directions of the simulated socket, with the faults applied to
//! each sendmsg and an optional transcript.

use mon_ipc::Ucred;
use mon_ipc::pair::{Read, Wire};

use super::scenario::Fault;
use super::{CLIENT, SERVER};
use crate::{Fd, Ledger};

/// Which way a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dir {
    ToServer,
    ToClient,
}

/// The two directions of the socket, the faults, and an optional log.
pub(super) struct Net {
    pub(super) to_server: Wire<Fd>,
    pub(super) to_client: Wire<Fd>,
    pub(super) sent: usize,
    pub(super) faults: Vec<Fault>,
    pub(super) first_fault: Option<usize>,
    pub(super) ledger: Ledger,
    pub(super) reads: Vec<usize>,
    pub(super) read_at: usize,
    pub(super) log: Option<Vec<String>>,
}

impl Net {
    fn wire(&mut self, dir: Dir) -> &mut Wire<Fd> {
        match dir {
            Dir::ToServer => &mut self.to_server,
            Dir::ToClient => &mut self.to_client,
        }
    }

    pub(super) fn say(&mut self, line: String) {
        if let Some(log) = &mut self.log {
            log.push(line);
        }
    }

    /// One sendmsg, after the faults meant for it.
    pub(super) fn send(&mut self, dir: Dir, bytes: &[u8], creds: Option<Ucred>, mut fds: Vec<Fd>) {
        let idx = self.sent;
        self.sent += 1;
        let mut bytes = bytes.to_vec();
        let mut hang_up = false;
        let faults: Vec<Fault> = self
            .faults
            .iter()
            .copied()
            .filter(|f| f.msg() == idx)
            .collect();
        for f in faults {
            self.first_fault.get_or_insert(idx);
            match f {
                Fault::Flip { at, mask, .. } if !bytes.is_empty() => {
                    let i = at % bytes.len();
                    bytes[i] ^= mask;
                }
                Fault::DropFd { .. } => drop(fds.pop()),
                Fault::ExtraFd { .. } => fds.push(self.ledger.issue(format!("extra{idx}"))),
                Fault::HangUp { keep, .. } => {
                    bytes.truncate(keep.min(bytes.len()));
                    hang_up = true;
                }
                Fault::Flip { .. } => {}
            }
        }
        let who = if dir == Dir::ToServer {
            "client"
        } else {
            "server"
        };
        let ids: Vec<String> = fds.iter().map(Fd::id).collect();
        let line = format!(
            "{who} sendmsg {} bytes{}{}: {}",
            bytes.len(),
            creds.map_or(String::new(), |c| format!(" creds={}", show(c))),
            if ids.is_empty() {
                String::new()
            } else {
                format!(" fds={ids:?}")
            },
            hex::encode(&bytes)
        );
        self.say(line);
        // The kernel records the sender's ids whether or not they are attached explicitly.
        let recorded = if dir == Dir::ToServer { CLIENT } else { SERVER };
        let wire = self.wire(dir);
        wire.send(&bytes, creds.unwrap_or(recorded), fds);
        if hang_up {
            wire.close();
            self.say(format!("{who} hangs up"));
        }
    }

    fn next_read_size(&mut self) -> usize {
        let n = self
            .reads
            .get(self.read_at % self.reads.len().max(1))
            .copied()
            .unwrap_or(1 << 16);
        self.read_at += 1;
        n
    }

    pub(super) fn read(&mut self, dir: Dir) -> Read<Fd> {
        let n = self.next_read_size();
        let r = self.wire(dir).read(n);
        let who = if dir == Dir::ToServer {
            "server"
        } else {
            "client"
        };
        let line = match &r {
            Read::Data(b, anc) => {
                let ids: Vec<String> = anc.fds.iter().map(Fd::id).collect();
                format!(
                    "{who} recvmsg {} bytes{}{}{}: {}",
                    b.len(),
                    anc.creds
                        .map_or(String::new(), |c| format!(" creds={}", show(c))),
                    if ids.is_empty() {
                        String::new()
                    } else {
                        format!(" fds={ids:?}")
                    },
                    if anc.trunc { " MSG_TRUNC" } else { "" },
                    hex::encode(b)
                )
            }
            Read::Eof => format!("{who} recvmsg EOF"),
            Read::WouldBlock => String::new(),
        };
        if !line.is_empty() {
            self.say(line);
        }
        r
    }
}

pub(super) fn show(c: Ucred) -> String {
    let (p, u, g) = c.to_raw();
    format!("{p}/{u}/{g}")
}
