//! The replay loop every authentication case shares (the native handshake
//! and the D-Bus profile): before every input (`in`, `eof`, `decide`,
//! `misuse`) the replay asks the core for its output until it wants input,
//! and compares the concatenated output since the previous input with the
//! case's `out` events. Inputs may be re-chunked down to single bytes. Once
//! the core says `Done`, later input belongs to what comes after the
//! authentication (the message channel, the D-Bus connection): it is
//! appended to what the case calls `leftover`.

use std::collections::BTreeSet;

use mon_ipc::{Ancillary, Attach, Credentials, ErrorCode, Handshake, Step};

use super::config::ucred;
use super::misuse::expect_call;
use crate::chunking::Plan;
use crate::model::{
    Decision, Event, Expected, Leftover, MisuseCall, Outcome, Output, Peer, Role, TestCase,
};
use crate::{Fd, Ledger};

/// What the replay needs to know of a profile (native, D-Bus) beyond the
/// core's [`Handshake`] trait, which drives either side of it.
pub(super) trait Profile {
    /// What `finish` gives on success.
    type Output;
    /// The profile, for messages ("handshake", "D-Bus").
    const NAME: &'static str;
    /// Whether a side may pause at `Step::Decide` for a `decide` event.
    const DECIDES: bool;

    /// A state left within the `step` that produced `out`, which `state()`
    /// therefore never shows between calls.
    fn passed_through(_role: Role, _out: &[u8]) -> Option<&'static str> {
        None
    }
    /// Output bytes as a mismatch message shows them.
    fn show(bytes: &[u8]) -> String;
    /// Checks what is particular to the profile's success (version and
    /// limits; mechanism, guid and fd passing), and gives what all share.
    fn check_done<'d>(
        done: &'d Self::Output,
        want: &Expected,
    ) -> Result<(&'d Option<Credentials<Fd>>, &'d mon_ipc::Leftover<Fd>), String>;
}

/// Replays `case` on `party` (a side of profile `P`) once, cut by `plan`;
/// records the states seen.
pub(super) fn replay<P: Profile, H: Handshake<Fd, Output = P::Output>>(
    party: H,
    role: Role,
    case: &TestCase,
    plan: Plan,
    states: &mut BTreeSet<(Role, &'static str)>,
    ledger: &Ledger,
) -> Result<(), String> {
    let mut run = Run {
        party,
        role,
        done: false,
        sent: Vec::new(),
        want: Vec::new(),
        after: Vec::new(),
        after_fds: Vec::new(),
        after_eof: false,
    };
    run.note(states);
    let mut rng = plan.rng();
    for (i, event) in case.events.iter().enumerate() {
        if let Event::Out(o) = event {
            run.want.push(o.clone());
            continue;
        }
        run.pump::<P>(states)?;
        run.compare::<P>(&format!("before events[{i}]"))?;
        match event {
            Event::In(input) => {
                for (k, piece) in plan.split(&input.bytes.0, &mut rng).into_iter().enumerate() {
                    let first = k == 0;
                    let fds = if first {
                        ledger.issue_all(&input.fds)
                    } else {
                        Vec::new()
                    };
                    let pidfd = input.pidfd.clone().filter(|_| first);
                    if run.done {
                        run.after.extend_from_slice(piece);
                        run.after_fds.extend(fds);
                        run.after_fds.extend(pidfd.map(|id| ledger.issue(id)));
                        continue;
                    }
                    let anc = Ancillary {
                        creds: input.creds.map(ucred),
                        pidfd: pidfd.map(|id| ledger.issue(id)),
                        fds,
                        ctrunc: first && input.ctrunc,
                        trunc: input.trunc,
                    };
                    let _ = run.party.receive(piece, anc); // sticky: `step` reports it
                    run.note(states);
                    run.pump::<P>(states)?;
                }
            }
            Event::Eof if run.done => run.after_eof = true,
            Event::Eof => {
                let _ = run.party.receive_eof();
                run.note(states);
            }
            Event::Decide { decision } if P::DECIDES => {
                let _ = match decision {
                    Decision::Accept => run.party.accept(),
                    Decision::Deny => run.party.deny(),
                };
                run.note(states);
            }
            Event::Misuse { call, error } => {
                let got = match call {
                    MisuseCall::ReceiveEof => run.party.receive_eof().err().map(ErrorCode::code),
                    other => {
                        return Err(format!("events[{i}]: {other:?} is not a {} call", P::NAME));
                    }
                };
                run.note(states);
                expect_call(&format!("events[{i}] {call:?}"), got, error.as_ref())?;
            }
            other => {
                return Err(format!("events[{i}]: {other:?} is not a {} event", P::NAME));
            }
        }
    }
    run.pump::<P>(states)?;
    run.compare::<P>("at the end")?;
    let extra = Leftover {
        bytes: run.after.into(),
        fds: run.after_fds.iter().map(|f| f.id()).collect(),
        eof: run.after_eof,
    };
    let got = run.party.finish().map_err(ErrorCode::code);
    compare_outcome::<P>(got, &extra, &case.expected)
}

/// The replay's running state for one plan.
struct Run<H> {
    party: H,
    role: Role,
    done: bool,
    /// Output since the last input: bytes and whether credentials are attached.
    sent: Vec<(Vec<u8>, bool)>,
    /// Expected output since the last input.
    want: Vec<Output>,
    /// Input after `Done`.
    after: Vec<u8>,
    after_fds: Vec<Fd>,
    after_eof: bool,
}

impl<H: Handshake<Fd>> Run<H> {
    fn note(&self, states: &mut BTreeSet<(Role, &'static str)>) {
        states.insert((self.role, self.party.state()));
    }

    /// Steps until the core wants input (or has ended).
    fn pump<P: Profile>(
        &mut self,
        states: &mut BTreeSet<(Role, &'static str)>,
    ) -> Result<(), String> {
        loop {
            let mut out = Vec::new();
            let step = self.party.step(&mut out);
            self.note(states);
            match step {
                Step::Send(a) => {
                    if let Some(name) = P::passed_through(self.role, &out) {
                        states.insert((self.role, name));
                    }
                    self.sent.push((out, a == Attach::OwnCredentials));
                }
                Step::Done => {
                    self.done = true;
                    return Ok(());
                }
                Step::NeedInput | Step::Failed(_) => return Ok(()),
                Step::Decide if P::DECIDES => return Ok(()),
                other => return Err(format!("a {} side never returns {other:?}", P::NAME)),
            }
        }
    }

    /// Compares and clears the output windows.
    fn compare<P: Profile>(&mut self, at: &str) -> Result<(), String> {
        let got: Vec<u8> = self.sent.iter().flat_map(|(b, _)| b.clone()).collect();
        let want: Vec<u8> = self.want.iter().flat_map(|o| o.bytes.0.clone()).collect();
        if got != want {
            return Err(format!(
                "output {at}: expected {}, got {}",
                P::show(&want),
                P::show(&got)
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
                "output {at}: a {} side never attaches fds, case wants {:?}",
                P::NAME,
                o.fds
            ));
        }
        self.sent.clear();
        self.want.clear();
        Ok(())
    }
}

/// Compares `finish` (plus what came after it) with the case.
pub(super) fn compare_outcome<P: Profile>(
    got: Result<P::Output, &'static str>,
    extra: &Leftover,
    want: &Expected,
) -> Result<(), String> {
    let describe = || match (&want.outcome, &want.error) {
        (Outcome::Failed, Some(code)) => format!("error {code}"),
        _ => "authenticated".to_owned(),
    };
    let done = match (got, want.outcome) {
        (Err(code), Outcome::Failed) if Some(code) == want.error.as_deref() => return Ok(()),
        (Err(code), _) => return Err(format!("expected {}, got error {code}", describe())),
        (Ok(_), Outcome::Failed) => {
            return Err(format!("expected {}, got authenticated", describe()));
        }
        (Ok(done), _) => done,
    };
    let (peer, leftover) = P::check_done(&done, want)?;
    let peer = peer.as_ref().map(|p| {
        let (pid, uid, gid) = p.ucred.to_raw();
        Peer {
            pid,
            uid,
            gid,
            source: p.source.name().to_owned(),
            pidfd: p.pidfd.as_ref().map(|f| f.id()),
        }
    });
    if peer != want.peer {
        return Err(format!("expected peer {:?}, got {peer:?}", want.peer));
    }
    let mut bytes = leftover.bytes.clone();
    bytes.extend_from_slice(&extra.bytes.0);
    let mut fds: Vec<String> = leftover.fds.iter().map(|f| f.id()).collect();
    fds.extend(extra.fds.iter().cloned());
    let left = Leftover {
        bytes: bytes.into(),
        fds,
        eof: leftover.eof || extra.eof,
    };
    if Some(&left) != want.leftover.as_ref() {
        return Err(format!(
            "expected leftover {:?}, got {left:?}",
            want.leftover
        ));
    }
    Ok(())
}
