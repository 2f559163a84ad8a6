//! `replay --exec`: another program as an [`Implementation`], spoken to in
//! the JSON-lines protocol ([`super::protocol`]).
//!
//! Fds are symbolic: the program is given their names, and the bridge
//! keeps the tokens of the case's ledger for it. It hands a token back to
//! the replay when the program delivers that fd (in a frame, a `sendmsg`,
//! the leftover or the peer's pidfd) and drops it when the program reports
//! it closed; a name it does not hold fails the case (delivered or closed
//! twice, or never given), and so does a token still held when the run
//! has ended (a lost fd). The replay's ledger then checks the rest, as for
//! the in-tree core.
//!
//! One child serves every case of a vector file; it is started again for
//! the next file, and after a case in which it crashed, hung (no reply
//! before the case's deadline) or wrote something that is not a reply.

use std::time::{Duration, Instant};

use mon_ipc_conformance_core::Fd;
use mon_ipc_conformance_core::model::{
    Creds, Decision, FrameKind, MisuseCall, Peer, Push, TestCase,
};
use mon_ipc_conformance_core::replay::subject::{
    Answer, AuthPeer, Authenticated, Code, Frame, FrameDecoder, FrameEncoder, Implementation,
    Party, PartyStep, Read, Received, Sent, Setup, Stop,
};

use super::child::{Child, NoLine};
use super::protocol::{FinishKind, Reply, Request, StepKind};

/// A program under test.
pub struct Exec {
    program: Vec<String>,
    timeout: Duration,
    child: Option<Child>,
    /// The vector file the child has served.
    file: Option<String>,
    /// When the current case's time is up.
    deadline: Instant,
    /// Tokens of the fds the program holds, by name.
    held: Vec<Fd>,
    /// A `configure` was sent and its `end` not yet.
    in_run: bool,
    /// The last reply line, for messages.
    last_reply: String,
}

impl Exec {
    /// `program` (path and arguments), with `timeout` for each case.
    pub fn new(program: Vec<String>, timeout: Duration) -> Exec {
        Exec {
            program,
            timeout,
            child: None,
            file: None,
            deadline: Instant::now() + timeout,
            held: Vec::new(),
            in_run: false,
            last_reply: String::new(),
        }
    }

    /// Closes the program's input and lets it exit.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            drop(child.finish());
        }
    }

    /// Sends `req`, awaits the reply, and settles its `closed` fds; an
    /// `unimplemented` or `failed` reply stops the case.
    fn call(&mut self, req: &Request) -> Answer<Reply> {
        let what = req.kind();
        if self.child.is_none() {
            let child = Child::spawn(&self.program)
                .map_err(|e| format!("cannot start {}: {e}", self.program.join(" ")))?;
            self.child = Some(child);
        }
        let Some(child) = &self.child else {
            return Err("no program".into());
        };
        let line = serde_json::to_string(req).map_err(|e| format!("{what}: {e}"))?;
        child.send(&line);
        let got = child.recv(self.deadline);
        let last = child
            .last_stderr()
            .map_or(String::new(), |l| format!("; its last stderr line: {l}"));
        let line = match got {
            Ok(line) => line,
            Err(NoLine::Timeout) => {
                self.child = None; // killed and reaped
                return Err(format!(
                    "no reply to {what} within the case's {} s: killed{last}",
                    self.timeout.as_secs_f32()
                )
                .into());
            }
            Err(NoLine::Closed) => {
                let (status, stderr) = self.child.take().map_or((None, None), Child::finish);
                let how = status.map_or("closed its output and did not exit".to_owned(), |s| {
                    format!("exited ({s})")
                });
                let last = stderr.map_or(String::new(), |l| format!("; its last stderr line: {l}"));
                return Err(
                    format!("the program {how} instead of replying to {what}{last}").into(),
                );
            }
            Err(NoLine::Bad(why)) => {
                self.child = None;
                return Err(format!("the program wrote {why} in reply to {what}{last}").into());
            }
        };
        self.last_reply = shorten(&line);
        let reply: Reply = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                self.child = None; // out of step with the bridge
                return Err(format!("malformed reply to {what}: {e}: {}", shorten(&line)).into());
            }
        };
        for name in &reply.closed {
            drop(self.take(name, what, "closed")?);
        }
        if let Some(why) = reply.unimplemented {
            return Err(Stop::Unimplemented(why));
        }
        if let Some(why) = reply.failed {
            return Err(format!("the program failed at {what}: {why}").into());
        }
        Ok(reply)
    }

    /// The token of `name`, which the program gives up (closed or delivered).
    fn take(&mut self, name: &str, what: &str, how: &str) -> Answer<Fd> {
        match self.held.iter().position(|f| f.id() == name) {
            Some(i) => Ok(self.held.swap_remove(i)),
            None => Err(format!(
                "reply to {what}: {how} fd {name:?}, which the program does not hold \
                 (never given, or already closed or delivered)"
            )
            .into()),
        }
    }

    fn take_all(&mut self, names: &[String], what: &str, how: &str) -> Answer<Vec<Fd>> {
        names.iter().map(|n| self.take(n, what, how)).collect()
    }

    /// Hands `fds` to the program: their names, for the request.
    fn give(&mut self, fds: Vec<Fd>) -> Vec<String> {
        let names = fds.iter().map(Fd::id).collect();
        self.held.extend(fds);
        names
    }

    /// `ok` or `error`, as a call's result.
    fn result(&mut self, req: &Request) -> Answer<Option<Code>> {
        let r = self.call(req)?;
        match (r.ok, r.error) {
            (true, None) => Ok(None),
            (false, Some(code)) => Ok(Some(code)),
            _ => Err(self.unexpected(req, "ok or error")),
        }
    }

    fn configure(
        &mut self,
        setup: &Setup<'_>,
        pidfd: Option<Fd>,
    ) -> Answer<Result<Session<'_>, Code>> {
        self.held.extend(pidfd);
        self.in_run = true;
        let req = Request::Configure {
            tc_id: setup.tc_id,
            name: setup.name.to_owned(),
            flags: setup.flags.to_vec(),
            plan: setup.plan.to_string(),
            role: setup.role,
            config: setup.config.clone(),
        };
        Ok(match self.result(&req)? {
            None => Ok(Session(self)),
            Some(code) => Err(code),
        })
    }

    fn receive(&mut self, read: Read<'_>) -> Answer<Reply> {
        let pidfd = read.pidfd.map(|f| {
            let name = f.id();
            self.held.push(f);
            name
        });
        let fds = self.give(read.fds);
        self.call(&Request::Receive {
            bytes: read.bytes.into(),
            creds: read.creds,
            pidfd,
            fds,
            ctrunc: read.ctrunc,
            trunc: read.trunc,
        })
    }
}

impl Drop for Exec {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Exec {
    /// A reply of the wrong kind.
    fn unexpected(&self, req: &Request, want: &str) -> Stop {
        Stop::Failed(format!(
            "reply to {}: expected {want}, got {}",
            req.kind(),
            self.last_reply
        ))
    }
}

fn shorten(line: &str) -> String {
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line.to_owned(),
    }
}

impl Implementation for Exec {
    fn start_case(&mut self, file: &str, _case: &TestCase) {
        if self.file.as_deref() != Some(file) {
            self.stop();
            self.file = Some(file.to_owned());
        }
        self.deadline = Instant::now() + self.timeout;
    }

    fn party(
        &mut self,
        setup: &Setup<'_>,
        pidfd: Option<Fd>,
    ) -> Answer<Result<Box<dyn Party + '_>, Code>> {
        Ok(self
            .configure(setup, pidfd)?
            .map(|s| Box::new(s) as Box<dyn Party>))
    }

    fn decoder(&mut self, setup: &Setup<'_>) -> Answer<Result<Box<dyn FrameDecoder + '_>, Code>> {
        Ok(self
            .configure(setup, None)?
            .map(|s| Box::new(s) as Box<dyn FrameDecoder>))
    }

    fn encoder(&mut self, setup: &Setup<'_>) -> Answer<Result<Box<dyn FrameEncoder + '_>, Code>> {
        Ok(self
            .configure(setup, None)?
            .map(|s| Box::new(s) as Box<dyn FrameEncoder>))
    }

    fn end(&mut self) -> Answer<()> {
        if !std::mem::take(&mut self.in_run) {
            return Ok(());
        }
        if self.child.is_none() {
            // It crashed or was killed: the case has failed already.
            self.held.clear();
            return Ok(());
        }
        let r = self.call(&Request::End);
        let lost: Vec<String> = self.held.drain(..).map(|f| f.id()).collect();
        r?;
        if !lost.is_empty() {
            return Err(
                format!("fd accounting: the program never closed or delivered {lost:?}").into(),
            );
        }
        Ok(())
    }
}

/// One run on the program: the state machine lives there.
struct Session<'a>(&'a mut Exec);

impl Party for Session<'_> {
    fn receive(&mut self, read: Read<'_>) -> Answer<()> {
        // A handshake's error is sticky and reported by `step`.
        FrameDecoder::receive(self, read).map(drop)
    }

    fn receive_eof(&mut self) -> Answer<Option<Code>> {
        self.0.result(&Request::Eof)
    }

    fn step(&mut self) -> Answer<PartyStep> {
        let req = Request::Step { max: None };
        let r = self.0.call(&req)?;
        Ok(match (r.step, r.bytes, r.error) {
            (Some(StepKind::Send), Some(bytes), None) => PartyStep::Send {
                bytes: bytes.0,
                own_credentials: r.own_credentials,
            },
            (Some(StepKind::NeedInput), None, None) => PartyStep::NeedInput,
            (Some(StepKind::Decide), None, None) => PartyStep::Decide,
            (Some(StepKind::Done), None, None) => PartyStep::Done,
            (Some(StepKind::Failed), None, Some(code)) => PartyStep::Failed(code),
            _ => {
                return Err(self.0.unexpected(
                    &req,
                    "step send (with bytes), need_input, decide, done or failed (with error)",
                ));
            }
        })
    }

    fn decide(&mut self, decision: Decision) -> Answer<()> {
        self.0.result(&Request::Decide { decision }).map(drop)
    }

    fn misuse(&mut self, call: MisuseCall) -> Answer<Option<Code>> {
        self.0.result(&Request::Misuse { call })
    }

    fn finish(self: Box<Self>) -> Answer<Result<Authenticated, Code>> {
        let req = Request::Finish;
        let r = self.0.call(&req)?;
        match (r.outcome, r.error) {
            (Some(FinishKind::Failed), Some(code)) => Ok(Err(code)),
            (Some(FinishKind::Authenticated), None) => {
                let peer = match r.peer {
                    Some(p) => Some(self.0.auth_peer(p)?),
                    None => None,
                };
                let left = r.leftover.unwrap_or_default();
                let fds = self.0.take_all(&left.fds, "finish", "delivered")?;
                Ok(Ok(Authenticated {
                    version: r.version,
                    limits: r.limits,
                    dbus: r.dbus,
                    peer,
                    leftover: Received {
                        bytes: left.bytes.0,
                        fds,
                        eof: left.eof,
                    },
                }))
            }
            _ => Err(self
                .0
                .unexpected(&req, "outcome authenticated, or failed with error")),
        }
    }
}

impl Exec {
    fn auth_peer(&mut self, p: Peer) -> Answer<AuthPeer> {
        let pidfd = match &p.pidfd {
            Some(name) => Some(self.take(name, "finish", "delivered")?),
            None => None,
        };
        Ok(AuthPeer {
            creds: Creds {
                pid: p.pid,
                uid: p.uid,
                gid: p.gid,
            },
            source: p.source,
            pidfd,
        })
    }
}

impl FrameDecoder for Session<'_> {
    fn receive(&mut self, read: Read<'_>) -> Answer<Option<Code>> {
        let r = self.0.receive(read)?;
        match (r.ok, r.error) {
            (true, None) => Ok(None),
            (false, Some(code)) => Ok(Some(code)),
            _ => Err("reply to receive: expected ok or error".into()),
        }
    }

    fn receive_eof(&mut self) -> Answer<Option<Code>> {
        self.0.result(&Request::Eof)
    }

    fn next_frame(&mut self) -> Answer<Result<Option<Frame>, Code>> {
        let req = Request::Step { max: None };
        let r = self.0.call(&req)?;
        Ok(match (r.step, r.error) {
            (Some(StepKind::Frame), None) => {
                let (Some(kind), Some(payload)) = (r.kind, r.payload) else {
                    return Err(self.0.unexpected(&req, "a frame with kind and payload"));
                };
                if (kind == FrameKind::Shm) != r.shm.is_some() {
                    return Err(self.0.unexpected(&req, "shm with a frame of kind shm only"));
                }
                let fds = self
                    .0
                    .take_all(&r.fds.unwrap_or_default(), "step", "delivered")?;
                Ok(Some(Frame {
                    kind,
                    payload: payload.0,
                    shm: r.shm,
                    fds,
                }))
            }
            (Some(StepKind::NeedInput), None) => Ok(None),
            (Some(StepKind::Failed), Some(code)) => Err(code),
            _ => {
                return Err(self
                    .0
                    .unexpected(&req, "step frame, need_input, or failed with error"));
            }
        })
    }

    fn misuse(&mut self, call: MisuseCall) -> Answer<Option<Code>> {
        self.0.result(&Request::Misuse { call })
    }

    fn held_fds(&self) -> usize {
        self.0.held.len()
    }

    fn is_closed(&mut self) -> Answer<bool> {
        let req = Request::Finish;
        let r = self.0.call(&req)?;
        match (r.outcome, r.error) {
            (Some(FinishKind::Open), None) => Ok(false),
            (Some(FinishKind::Closed), None) => Ok(true),
            _ => Err(self.0.unexpected(&req, "outcome open or closed")),
        }
    }
}

impl FrameEncoder for Session<'_> {
    fn push(&mut self, p: &Push, fds: Vec<Fd>) -> Answer<Option<Code>> {
        let fds = self.0.give(fds);
        self.0.result(&Request::Push {
            kind: p.kind,
            payload: p.payload.clone(),
            shm: p.shm,
            fds,
        })
    }

    fn transmit(&mut self, max: usize) -> Answer<Option<Sent>> {
        let req = Request::Step {
            max: (max != usize::MAX).then_some(max as u64),
        };
        let r = self.0.call(&req)?;
        match (r.step, r.bytes, r.error) {
            (Some(StepKind::Send), Some(bytes), None) => {
                let fds = self
                    .0
                    .take_all(&r.fds.unwrap_or_default(), "step", "sent")?;
                Ok(Some(Sent {
                    bytes: bytes.0,
                    fds,
                }))
            }
            (Some(StepKind::NeedInput), None, None) => Ok(None),
            _ => Err(self
                .0
                .unexpected(&req, "step send (with bytes) or need_input")),
        }
    }

    fn misuse(&mut self, call: MisuseCall) -> Answer<Option<Code>> {
        self.0.result(&Request::Misuse { call })
    }
}
