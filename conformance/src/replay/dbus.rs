//! Replaying a D-Bus client or server case (`mon_ipc::dbus`).
//!
//! The same rules as the native handshake: before every input (`in`,
//! `eof`, `misuse`) the replay asks the core for its output until it wants
//! input, and compares the concatenated output since the previous input
//! with the case's `out` events. Inputs may be re-chunked down to single
//! bytes. Once the core says `Done`, later input belongs to the D-Bus
//! connection: it is appended to what the case calls `leftover`. The error
//! compared is the precise one (`ClientAuth::error` / `ServerAuth::error`,
//! a `dbus_` code or a usage code), not the nearest core error.

use std::collections::BTreeSet;
use std::rc::Rc;

use mon_ipc::dbus::{
    AuthError, Authenticated, ClientAuth, ClientConfig, ClientMechanism, Mechanism, ServerAuth,
    ServerConfig,
};
use mon_ipc::{Ancillary, Attach, Step};

use super::config::{peer_socket, policy, ucred};
use super::misuse::expect_call;
use crate::chunking::Plan;
use crate::fdtoken::{Fd, Ledger};
use crate::model::{
    DbusMechanism, DbusOutcome, Event, Expected, Leftover, MisuseCall, Outcome, Output, Peer, Role,
    TestCase, TestGroup,
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
    fn receive_eof(&mut self) -> Result<(), AuthError> {
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
    fn finish(self) -> Result<Authenticated<Fd>, AuthError> {
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
    /// Input after `Done`, for the connection.
    channel: Vec<u8>,
    channel_fds: Vec<Fd>,
    channel_eof: bool,
}

impl Run {
    fn note(&self, states: &mut BTreeSet<(Role, &'static str)>) {
        states.insert((self.role, self.side.state()));
    }

    /// Steps until the core wants input (or has ended).
    fn pump(&mut self, states: &mut BTreeSet<(Role, &'static str)>) -> Result<(), String> {
        loop {
            let mut out = Vec::new();
            let step = self.side.step(&mut out);
            self.note(states);
            match step {
                Step::Send(a) => {
                    if let Some(name) = self.passed_through(&out) {
                        states.insert((self.role, name));
                    }
                    self.sent.push((out, a == Attach::OwnCredentials));
                }
                Step::Done => {
                    self.done = true;
                    return Ok(());
                }
                Step::NeedInput | Step::Failed(_) => return Ok(()),
                other => return Err(format!("a D-Bus side never returns {other:?}")),
            }
        }
    }

    /// The client's `send_*` states are left within the `step` that
    /// produces their line, so `state()` never shows them between calls
    /// (docs/DBUS.md); the line sent names the state that sent it.
    fn passed_through(&self, line: &[u8]) -> Option<&'static str> {
        if self.role != Role::DbusClient {
            return None;
        }
        let name = match line {
            [0, ..] => "send_auth",
            b"DATA\r\n" => "send_data",
            b"CANCEL\r\n" => "send_cancel",
            b"NEGOTIATE_UNIX_FD\r\n" => "send_negotiate",
            b"BEGIN\r\n" => "send_begin",
            _ => return None,
        };
        Some(name)
    }

    /// Compares and clears the output windows.
    fn compare(&mut self, at: &str) -> Result<(), String> {
        let got: Vec<u8> = self.sent.iter().flat_map(|(b, _)| b.clone()).collect();
        let want: Vec<u8> = self.want.iter().flat_map(|o| o.bytes.0.clone()).collect();
        if got != want {
            return Err(format!(
                "output {at}: expected {:?}, got {:?}",
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&got)
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
                "output {at}: D-Bus authentication never attaches fds, case wants {:?}",
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

fn side(group: &TestGroup, ledger: &Rc<Ledger>) -> Result<Side, String> {
    let c = &group.config;
    let line = |n: u64| usize::try_from(n).map_err(|_| "config: maxLine too large".to_owned());
    match group.role {
        Role::DbusClient => {
            let d = c.dbus_client.ok_or("config.dbusClient missing")?;
            Ok(Side::Client(ClientAuth::new(ClientConfig {
                mechanism: match d.mechanism {
                    DbusMechanism::External => ClientMechanism::External { uid: d.uid },
                    DbusMechanism::Anonymous => ClientMechanism::Anonymous,
                },
                unix_fd: d.unix_fd,
                require_unix_fd: d.require_unix_fd,
                max_line: line(d.max_line)?,
            })))
        }
        Role::DbusServer => {
            let d = c.dbus_server.as_ref().ok_or("config.dbusServer missing")?;
            let guid: [u8; 16] = d
                .guid
                .0
                .as_slice()
                .try_into()
                .map_err(|_| "config.dbusServer.guid is not 16 bytes")?;
            Ok(Side::Server(ServerAuth::new(
                ServerConfig {
                    guid,
                    policy: policy(c.credential_policy),
                    unix_fd: d.unix_fd,
                    anonymous: d.allow_anonymous,
                    max_line: line(d.max_line)?,
                    max_failures: d.max_failures,
                },
                peer_socket(c, ledger),
            )))
        }
        other => Err(format!("{} is not a D-Bus role", other.name())),
    }
}

fn run_with(
    group: &TestGroup,
    case: &TestCase,
    plan: Plan,
    states: &mut BTreeSet<(Role, &'static str)>,
    ledger: &Rc<Ledger>,
) -> Result<(), String> {
    let mut run = Run {
        side: side(group, ledger)?,
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
        run.pump(states)?;
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
                    run.pump(states)?;
                }
            }
            Event::Eof if run.done => run.channel_eof = true,
            Event::Eof => {
                let _ = run.side.receive_eof();
                run.note(states);
            }
            Event::Misuse { call, error } => {
                let got = match call {
                    MisuseCall::ReceiveEof => run.side.receive_eof().err().map(AuthError::code),
                    other => {
                        return Err(format!("events[{i}]: {other:?} is not a D-Bus call"));
                    }
                };
                run.note(states);
                expect_call(&format!("events[{i}] {call:?}"), got, error.as_ref())?;
            }
            other => return Err(format!("events[{i}]: {other:?} is not a D-Bus event")),
        }
    }
    run.pump(states)?;
    run.compare("at the end")?;
    let extra = Leftover {
        bytes: run.channel.into(),
        fds: run.channel_fds.iter().map(|f| f.id().to_owned()).collect(),
        eof: run.channel_eof,
    };
    compare_outcome(run.side.finish(), &extra, &case.expected)
}

/// Compares `finish` (plus what the connection received after it) with the case.
fn compare_outcome(
    got: Result<Authenticated<Fd>, AuthError>,
    extra: &Leftover,
    want: &Expected,
) -> Result<(), String> {
    let describe = || match (&want.outcome, &want.error) {
        (Outcome::Failed, Some(code)) => format!("error {code}"),
        _ => "authenticated".to_owned(),
    };
    let done = match (got, want.outcome) {
        (Err(e), Outcome::Failed) if Some(e.code()) == want.error.as_deref() => return Ok(()),
        (Err(e), _) => return Err(format!("expected {}, got error {}", describe(), e.code())),
        (Ok(_), Outcome::Failed) => {
            return Err(format!("expected {}, got authenticated", describe()));
        }
        (Ok(done), _) => done,
    };
    let outcome = DbusOutcome {
        mechanism: match done.mechanism {
            Mechanism::External => DbusMechanism::External,
            Mechanism::Anonymous => DbusMechanism::Anonymous,
        },
        guid: done.guid.clone(),
        unix_fd: done.unix_fd,
    };
    if Some(&outcome) != want.dbus.as_ref() {
        return Err(format!("expected {:?}, got {outcome:?}", want.dbus));
    }
    let peer = done.peer.as_ref().map(|p| {
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
    let mut bytes = done.leftover.bytes.clone();
    bytes.extend_from_slice(&extra.bytes.0);
    let mut fds: Vec<String> = done
        .leftover
        .fds
        .iter()
        .map(|f| f.id().to_owned())
        .collect();
    fds.extend(extra.fds.iter().cloned());
    let left = Leftover {
        bytes: bytes.into(),
        fds,
        eof: done.leftover.eof || extra.eof,
    };
    if Some(&left) != want.leftover.as_ref() {
        return Err(format!(
            "expected leftover {:?}, got {left:?}",
            want.leftover
        ));
    }
    Ok(())
}
