//! Replaying a client or server handshake case.
//!
//! Before every input (`in`, `eof`, `decide`, `misuse`) the replay asks the
//! core for its output until it wants input, and compares the concatenated
//! output since the previous input with the case's `out` events. Once the
//! core says `Done`, later input belongs to the message channel: it is
//! appended to what the case calls `leftover`.

use std::collections::BTreeSet;
use std::rc::Rc;

use mon_ipc::{
    Ancillary, Attach, ClientAuth, ClientConfig, Error, Established, ServerAuth, ServerConfig, Step,
};

use super::config::{limits, peer_socket, policy, socket, ucred};
use super::misuse::expect_call;
use crate::chunking::Plan;
use crate::fdtoken::{Fd, Ledger};
use crate::model::{
    Decision, Event, Expected, Leftover, MisuseCall, Outcome, Output, Peer, Role, TestCase,
    TestGroup,
};

/// Either side, so one loop drives both.
enum Side {
    Client(ClientAuth<Fd>),
    Server(ServerAuth<Fd>),
}

impl Side {
    fn step(&mut self, out: &mut Vec<u8>) -> Step {
        match self {
            Side::Client(c) => c.step(out),
            Side::Server(s) => s.step(out),
        }
    }
    fn receive(&mut self, bytes: &[u8], anc: Ancillary<Fd>) {
        // Errors are sticky: `step` and `finish` report them.
        let _ = match self {
            Side::Client(c) => c.receive(bytes, anc),
            Side::Server(s) => s.receive(bytes, anc),
        };
    }
    fn receive_eof(&mut self) -> Result<(), Error> {
        match self {
            Side::Client(c) => c.receive_eof(),
            Side::Server(s) => s.receive_eof(),
        }
    }
    fn state(&self) -> &'static str {
        match self {
            Side::Client(c) => c.state(),
            Side::Server(s) => s.state(),
        }
    }
    fn decide(&mut self, d: Decision) -> Result<(), Error> {
        match (self, d) {
            (Side::Server(s), Decision::Accept) => s.accept(),
            (Side::Server(s), Decision::Deny) => s.deny(),
            (Side::Client(_), _) => Ok(()),
        }
    }
    fn finish(self) -> Result<Established<Fd>, Error> {
        match self {
            Side::Client(c) => c.finish(),
            Side::Server(s) => s.finish(),
        }
    }
}

/// The replay's running state for one plan.
struct Run {
    side: Side,
    role: Role,
    done: bool,
    /// Output since the last input: bytes and whether credentials are attached.
    sent: Vec<(Vec<u8>, bool)>,
    /// Expected output since the last input.
    want: Vec<Output>,
    /// Input after `Done`, for the channel.
    channel: Vec<u8>,
    channel_fds: Vec<Fd>,
    channel_eof: bool,
}

impl Run {
    fn note(&self, states: &mut BTreeSet<(Role, &'static str)>) {
        states.insert((self.role, self.side.state()));
    }

    /// Steps until the core wants input (or has ended).
    fn pump(&mut self, states: &mut BTreeSet<(Role, &'static str)>) {
        loop {
            let mut out = Vec::new();
            let step = self.side.step(&mut out);
            self.note(states);
            match step {
                Step::Send(a) => self.sent.push((out, a == Attach::OwnCredentials)),
                Step::Done => {
                    self.done = true;
                    return;
                }
                _ => return,
            }
        }
    }

    /// Compares and clears the output windows.
    fn compare(&mut self, at: &str) -> Result<(), String> {
        let got: Vec<u8> = self.sent.iter().flat_map(|(b, _)| b.clone()).collect();
        let want: Vec<u8> = self.want.iter().flat_map(|o| o.bytes.0.clone()).collect();
        if got != want {
            return Err(format!(
                "output {at}: expected {:?}, got {:?}",
                hex::encode(want),
                hex::encode(got)
            ));
        }
        let want_creds = self.want.iter().any(|o| o.own_credentials);
        if let Some((_, c)) = self
            .sent
            .iter()
            .find(|(b, c)| !b.is_empty() && *c != want_creds)
        {
            return Err(format!(
                "output {at}: expected own_credentials {want_creds}, got {c}"
            ));
        }
        if let Some(o) = self.want.iter().find(|o| !o.fds.is_empty()) {
            return Err(format!(
                "output {at}: a handshake never attaches fds, case wants {:?}",
                o.fds
            ));
        }
        self.sent.clear();
        self.want.clear();
        Ok(())
    }
}

pub(super) fn run(
    group: &TestGroup,
    case: &TestCase,
    plan: Plan,
    states: &mut BTreeSet<(Role, &'static str)>,
) -> Result<(), String> {
    let ledger = Ledger::new();
    let result = run_with(group, case, plan, states, &ledger);
    result.and_then(|()| ledger.check_all_dropped())
}

fn run_with(
    group: &TestGroup,
    case: &TestCase,
    plan: Plan,
    states: &mut BTreeSet<(Role, &'static str)>,
    ledger: &Rc<Ledger>,
) -> Result<(), String> {
    let c = &group.config;
    let lim = match limits(c.limits.ok_or("config.limits missing")?) {
        Ok(l) => l,
        Err(e) => return compare_outcome(Err(e.into()), &Leftover::default(), &case.expected),
    };
    let side = match group.role {
        Role::ClientHandshake => Side::Client(ClientAuth::new(
            ClientConfig {
                limits: lim,
                mutual: c.mutual.unwrap_or(false),
                socket: socket(c.socket),
                policy: policy(c.credential_policy),
            },
            peer_socket(c, ledger),
        )),
        _ => Side::Server(ServerAuth::new(
            ServerConfig {
                limits: lim,
                socket: socket(c.socket),
                policy: policy(c.credential_policy),
            },
            peer_socket(c, ledger),
        )),
    };
    let mut run = Run {
        side,
        role: group.role,
        done: false,
        sent: Vec::new(),
        want: Vec::new(),
        channel: Vec::new(),
        channel_fds: Vec::new(),
        channel_eof: false,
    };
    run.note(states);
    let mut rng = plan.rng();
    for (i, event) in case.events.iter().enumerate() {
        if let Event::Out(o) = event {
            run.want.push(o.clone());
            continue;
        }
        run.pump(states);
        run.compare(&format!("before events[{i}]"))?;
        match event {
            Event::In(input) => {
                for (k, piece) in plan.split(&input.bytes.0, &mut rng).into_iter().enumerate() {
                    let first = k == 0;
                    let fds = if first {
                        ledger.issue_all(&input.fds)
                    } else {
                        Vec::new()
                    };
                    let pidfd = input.pidfd.as_deref().filter(|_| first);
                    if run.done {
                        run.channel.extend_from_slice(piece);
                        run.channel_fds.extend(fds);
                        run.channel_fds.extend(pidfd.map(|id| ledger.issue(id)));
                        continue;
                    }
                    let anc = Ancillary {
                        creds: input.creds.map(ucred),
                        pidfd: pidfd.map(|id| ledger.issue(id)),
                        fds,
                        ctrunc: first && input.ctrunc,
                        trunc: input.trunc,
                    };
                    run.side.receive(piece, anc);
                    run.note(states);
                    run.pump(states);
                }
            }
            Event::Eof if run.done => run.channel_eof = true,
            Event::Eof => {
                let _ = run.side.receive_eof();
                run.note(states);
            }
            Event::Decide { decision } => {
                let _ = run.side.decide(*decision);
                run.note(states);
            }
            Event::Misuse { call, error } => {
                let got = match call {
                    MisuseCall::ReceiveEof => run.side.receive_eof().err().map(Error::code),
                    other => return Err(format!("events[{i}]: {other:?} is not a handshake call")),
                };
                run.note(states);
                expect_call(&format!("events[{i}] {call:?}"), got, error.as_ref())?;
            }
            Event::Out(_) | Event::Push(_) | Event::Flush => {}
        }
    }
    run.pump(states);
    run.compare("at the end")?;
    let extra = Leftover {
        bytes: run.channel.into(),
        fds: run.channel_fds.iter().map(|f| f.id().to_owned()).collect(),
        eof: run.channel_eof,
    };
    compare_outcome(run.side.finish(), &extra, &case.expected)
}

/// Compares `finish` (plus what the channel received after it) with the case.
fn compare_outcome(
    got: Result<Established<Fd>, Error>,
    extra: &Leftover,
    want: &Expected,
) -> Result<(), String> {
    let est = match (got, want.outcome) {
        (Err(e), Outcome::Failed) if Some(e.code()) == want.error.as_deref() => return Ok(()),
        (Err(e), _) => {
            return Err(format!(
                "expected {}, got error {}",
                describe(want),
                e.code()
            ));
        }
        (Ok(_), Outcome::Failed) => {
            return Err(format!("expected {}, got authenticated", describe(want)));
        }
        (Ok(est), _) => est,
    };
    if Some(est.version) != want.version {
        return Err(format!(
            "expected version {:?}, got {}",
            want.version, est.version
        ));
    }
    let lim = (est.limits.max_fds().into(), est.limits.max_payload());
    if want.limits.map(|l| (l.max_fds, l.max_payload)) != Some(lim) {
        return Err(format!("expected limits {:?}, got {lim:?}", want.limits));
    }
    let peer = est.peer.as_ref().map(|p| {
        let (pid, uid, gid) = p.ucred.to_raw();
        Peer {
            pid,
            uid,
            gid,
            source: p.source.name().to_owned(),
            pidfd: p.pidfd.as_ref().map(|f| f.id().to_owned()),
        }
    });
    if peer != want.peer {
        return Err(format!("expected peer {:?}, got {peer:?}", want.peer));
    }
    let mut bytes = est.leftover.bytes.clone();
    bytes.extend_from_slice(&extra.bytes.0);
    let mut fds: Vec<String> = est.leftover.fds.iter().map(|f| f.id().to_owned()).collect();
    fds.extend(extra.fds.iter().cloned());
    let left = Leftover {
        bytes: bytes.into(),
        fds,
        eof: est.leftover.eof || extra.eof,
    };
    if Some(&left) != want.leftover.as_ref() {
        return Err(format!(
            "expected leftover {:?}, got {left:?}",
            want.leftover
        ));
    }
    Ok(())
}

fn describe(want: &Expected) -> String {
    match (&want.outcome, &want.error) {
        (Outcome::Failed, Some(code)) => format!("error {code}"),
        _ => "authenticated".to_owned(),
    }
}
