//! The other end of the protocol: the in-tree core served over JSON lines,
//! as the `mon-ipc-replay-adapter` binary does. `replay --exec` against it
//! must give what `verify` gives, case for case: that shows the protocol
//! carries everything the replay needs.
//!
//! Fds arrive as names; the server mints a token of its own ledger for
//! each, hands the tokens to the core, and reports in every reply the
//! names of the tokens the core dropped meanwhile (`closed`). Tokens the
//! core hands back go out by name, delivered, not closed.

use std::io::{self, BufRead, Write};

use mon_ipc_conformance_core::chunking::Plan;
use mon_ipc_conformance_core::model::{Leftover, Peer, Push, Role};
use mon_ipc_conformance_core::replay::InTree;
use mon_ipc_conformance_core::replay::subject::{
    Answer, Authenticated, Code, FrameDecoder, FrameEncoder, Party, PartyStep, Read, Setup, Stop,
};
use mon_ipc_conformance_core::{Fd, Ledger};

use super::protocol::{FinishKind, Reply, Request, StepKind};

/// The state machine of the current run.
enum Machine {
    None,
    Party(Box<dyn Party>),
    Decoder(Box<dyn FrameDecoder>),
    Encoder(Box<dyn FrameEncoder>),
}

/// The server's state between requests.
struct Server {
    machine: Machine,
    ledger: Ledger,
    /// Names already reported closed, sorted.
    reported: Vec<String>,
    /// Closed by the run that `end` or `configure` ended, not yet reported.
    pending: Vec<String>,
}

/// Serves requests from `input` until it ends, one reply line each.
pub fn serve(input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    let mut server = Server {
        machine: Machine::None,
        ledger: Ledger::new(),
        reported: Vec::new(),
        pending: Vec::new(),
    };
    for line in input.lines() {
        let line = line?;
        let req: Request = serde_json::from_str(&line)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("request: {e}")))?;
        let mut reply = match server.handle(req) {
            Ok(r) => r,
            Err(Stop::Failed(why)) => Reply {
                failed: Some(why),
                ..Reply::default()
            },
            Err(Stop::Unimplemented(why)) => Reply {
                unimplemented: Some(why),
                ..Reply::default()
            },
        };
        reply.closed = std::mem::take(&mut server.pending);
        reply.closed.extend(server.newly_closed());
        let text = serde_json::to_string(&reply).map_err(io::Error::other)?;
        writeln!(output, "{text}")?;
        output.flush()?;
    }
    Ok(())
}

fn delivered(fds: Vec<Fd>) -> Vec<String> {
    fds.into_iter().map(Fd::deliver).collect()
}

impl Server {
    /// The names the core dropped since the last reply.
    fn newly_closed(&mut self) -> Vec<String> {
        let mut all = self.ledger.dropped();
        let mut new = Vec::new();
        let mut old = self.reported.iter().peekable();
        for name in &all {
            if old.peek() == Some(&name) {
                old.next();
            } else {
                new.push(name.clone());
            }
        }
        std::mem::swap(&mut self.reported, &mut all);
        new
    }

    fn not_for(&self, what: &str) -> Stop {
        let role = match self.machine {
            Machine::None => "no state machine",
            Machine::Party(_) => "a handshake side",
            Machine::Decoder(_) => "a decoder",
            Machine::Encoder(_) => "an encoder",
        };
        Stop::Failed(format!("{what} is not a request for {role}"))
    }

    fn handle(&mut self, req: Request) -> Answer<Reply> {
        match req {
            Request::Configure {
                tc_id,
                name,
                flags,
                plan,
                role,
                config,
            } => {
                self.end();
                let plan: Plan = plan.parse()?;
                let setup = Setup {
                    role,
                    config: &config,
                    plan,
                    tc_id,
                    name: &name,
                    flags: &flags,
                };
                let made = match role {
                    Role::FrameDecoder => InTree::decoder(&setup)?.map(Machine::Decoder),
                    Role::FrameEncoder => InTree::encoder(&setup)?.map(Machine::Encoder),
                    _ => {
                        let pidfd = config.peer_socket.as_ref().and_then(|p| p.pidfd.clone());
                        let pidfd = pidfd.map(|id| self.ledger.issue(id));
                        InTree::party(&setup, pidfd)?.map(Machine::Party)
                    }
                };
                Ok(match made {
                    Ok(m) => {
                        self.machine = m;
                        Reply::ok()
                    }
                    Err(code) => Reply::error(code),
                })
            }
            Request::Receive {
                bytes,
                creds,
                pidfd,
                fds,
                ctrunc,
                trunc,
            } => {
                let read = Read {
                    bytes: &bytes.0,
                    creds,
                    pidfd: pidfd.map(|id| self.ledger.issue(id)),
                    fds: self.ledger.issue_all(&fds),
                    ctrunc,
                    trunc,
                };
                match &mut self.machine {
                    Machine::Party(p) => p.receive(read).map(|()| Reply::ok()),
                    Machine::Decoder(d) => d.receive(read).map(Reply::result),
                    _ => Err(self.not_for("receive")),
                }
            }
            Request::Eof => match &mut self.machine {
                Machine::Party(p) => p.receive_eof().map(Reply::result),
                Machine::Decoder(d) => d.receive_eof().map(Reply::result),
                _ => Err(self.not_for("eof")),
            },
            Request::Step { max } => match &mut self.machine {
                Machine::Party(p) => Ok(party_step(p.step()?)),
                Machine::Decoder(d) => Ok(match d.next_frame()? {
                    Ok(Some(f)) => Reply {
                        kind: Some(f.kind),
                        payload: Some(f.payload.into()),
                        shm: f.shm,
                        fds: Some(delivered(f.fds)),
                        ..Reply::step(StepKind::Frame)
                    },
                    Ok(None) => Reply::step(StepKind::NeedInput),
                    Err(code) => failed_step(code),
                }),
                Machine::Encoder(e) => {
                    let max = max.map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
                    Ok(match e.transmit(max)? {
                        Some(s) => Reply {
                            bytes: Some(s.bytes.into()),
                            fds: Some(delivered(s.fds)),
                            ..Reply::step(StepKind::Send)
                        },
                        None => Reply::step(StepKind::NeedInput),
                    })
                }
                Machine::None => Err(self.not_for("step")),
            },
            Request::Decide { decision } => match &mut self.machine {
                Machine::Party(p) => p.decide(decision).map(|()| Reply::ok()),
                _ => Err(self.not_for("decide")),
            },
            Request::Push {
                kind,
                payload,
                shm,
                fds,
            } => {
                let push = Push {
                    kind,
                    payload,
                    shm,
                    fds: Vec::new(),
                    error: None,
                };
                let fds = self.ledger.issue_all(&fds);
                match &mut self.machine {
                    Machine::Encoder(e) => e.push(&push, fds).map(Reply::result),
                    _ => Err(self.not_for("push")),
                }
            }
            Request::Misuse { call } => match &mut self.machine {
                Machine::Party(p) => p.misuse(call).map(Reply::result),
                Machine::Decoder(d) => d.misuse(call).map(Reply::result),
                Machine::Encoder(e) => e.misuse(call).map(Reply::result),
                Machine::None => Err(self.not_for("misuse")),
            },
            Request::Finish => match std::mem::replace(&mut self.machine, Machine::None) {
                Machine::Party(p) => Ok(match p.finish()? {
                    Ok(done) => authenticated(done),
                    Err(code) => Reply {
                        outcome: Some(FinishKind::Failed),
                        error: Some(code),
                        ..Reply::default()
                    },
                }),
                Machine::Decoder(mut d) => {
                    let closed = d.is_closed();
                    self.machine = Machine::Decoder(d);
                    Ok(Reply {
                        outcome: Some(if closed? {
                            FinishKind::Closed
                        } else {
                            FinishKind::Open
                        }),
                        ..Reply::default()
                    })
                }
                other => {
                    self.machine = other;
                    Err(self.not_for("finish"))
                }
            },
            Request::End => {
                self.end();
                Ok(Reply::ok())
            }
        }
    }

    /// Drops the run's state machine (its fds are closed, and reported in
    /// the next reply); the next run starts a new ledger.
    fn end(&mut self) {
        self.machine = Machine::None;
        let closed = self.newly_closed();
        self.pending.extend(closed);
        self.ledger = Ledger::new();
        self.reported.clear();
    }
}

fn failed_step(code: Code) -> Reply {
    Reply {
        error: Some(code),
        ..Reply::step(StepKind::Failed)
    }
}

fn party_step(step: PartyStep) -> Reply {
    match step {
        PartyStep::Send {
            bytes,
            own_credentials,
        } => Reply {
            bytes: Some(bytes.into()),
            own_credentials,
            ..Reply::step(StepKind::Send)
        },
        PartyStep::NeedInput => Reply::step(StepKind::NeedInput),
        PartyStep::Decide => Reply::step(StepKind::Decide),
        PartyStep::Done => Reply::step(StepKind::Done),
        PartyStep::Failed(code) => failed_step(code),
    }
}

fn authenticated(done: Authenticated) -> Reply {
    let peer = done.peer.map(|p| Peer {
        pid: p.creds.pid,
        uid: p.creds.uid,
        gid: p.creds.gid,
        source: p.source,
        pidfd: p.pidfd.map(Fd::deliver),
    });
    Reply {
        outcome: Some(FinishKind::Authenticated),
        version: done.version,
        limits: done.limits,
        dbus: done.dbus,
        peer,
        leftover: Some(Leftover {
            bytes: done.leftover.bytes.into(),
            fds: delivered(done.leftover.fds),
            eof: done.leftover.eof,
        }),
        ..Reply::default()
    }
}
