//! The replay loop every authentication case shares (the native handshake
//! and the D-Bus profile): before every input (`in`, `eof`, `decide`,
//! `misuse`) the replay asks the side for its output until it wants input,
//! and compares the concatenated output since the previous input with the
//! case's `out` events. Inputs may be re-chunked down to single bytes. Once
//! the side says `Done`, later input belongs to what comes after the
//! authentication (the message channel, the D-Bus connection): it is
//! appended to what the case calls `leftover`.

use std::collections::BTreeSet;

use super::misuse::expect_call;
use super::subject::{
    Answer, Authenticated, Code, Implementation, Party, PartyStep, Read, Setup, Stop,
};
use crate::model::{Event, Expected, Leftover, MisuseCall, Outcome, Output, Peer, Role, TestCase};
use crate::{Fd, Ledger};

/// What differs between the native handshake and the D-Bus profile.
#[derive(Clone, Copy)]
struct Profile(Role);

impl Profile {
    /// The profile, for messages.
    fn name(self) -> &'static str {
        if self.0.is_dbus() {
            "D-Bus"
        } else {
            "handshake"
        }
    }

    /// Whether a side may pause at `Decide` for a `decide` event (the
    /// D-Bus server decides by itself).
    fn decides(self) -> bool {
        !self.0.is_dbus()
    }

    /// A state left within the `step` that produced `out`, which `state()`
    /// therefore never shows between calls: the D-Bus client's `send_*`
    /// states are named by the line they send (docs/DBUS.md).
    fn passed_through(self, out: &[u8]) -> Option<&'static str> {
        if self.0 != Role::DbusClient {
            return None;
        }
        let name = match out {
            [0, ..] => "send_auth",
            b"DATA\r\n" => "send_data",
            b"CANCEL\r\n" => "send_cancel",
            b"NEGOTIATE_UNIX_FD\r\n" => "send_negotiate",
            b"BEGIN\r\n" => "send_begin",
            _ => return None,
        };
        Some(name)
    }

    /// Output bytes as a mismatch message shows them: D-Bus lines as text.
    fn show(self, bytes: &[u8]) -> String {
        if self.0.is_dbus() {
            format!("{:?}", String::from_utf8_lossy(bytes))
        } else {
            hex::encode(bytes)
        }
    }

    /// Checks what is particular to the profile's success: version and
    /// limits; mechanism, guid and fd passing.
    fn check_done(self, done: &Authenticated, want: &Expected) -> Result<(), String> {
        if self.0.is_dbus() {
            if done.dbus != want.dbus {
                return Err(format!("expected {:?}, got {:?}", want.dbus, done.dbus));
            }
            return Ok(());
        }
        if done.version != want.version {
            return Err(format!(
                "expected version {:?}, got {:?}",
                want.version, done.version
            ));
        }
        if done.limits != want.limits {
            return Err(format!(
                "expected limits {:?}, got {:?}",
                want.limits, done.limits
            ));
        }
        Ok(())
    }
}

/// Replays `case` once on `imp`'s side for it, cut by `setup.plan`;
/// records the states seen.
pub(super) fn run(
    imp: &mut dyn Implementation,
    setup: &Setup<'_>,
    case: &TestCase,
    states: &mut BTreeSet<(Role, &'static str)>,
    ledger: &Ledger,
) -> Answer<()> {
    let profile = Profile(setup.role);
    let pidfd = setup
        .config
        .peer_socket
        .as_ref()
        .and_then(|p| p.pidfd.clone())
        .map(|id| ledger.issue(id));
    let party = match imp.party(setup, pidfd)? {
        Ok(p) => p,
        Err(code) => {
            let none = Leftover::default();
            return compare_outcome(profile, Err(code), &none, &case.expected);
        }
    };
    let mut run = Run {
        party,
        profile,
        done: false,
        sent: Vec::new(),
        want: Vec::new(),
        after: Vec::new(),
        after_fds: Vec::new(),
        after_eof: false,
    };
    run.note(states);
    let mut rng = setup.plan.rng();
    for (i, event) in case.events.iter().enumerate() {
        if let Event::Out(o) = event {
            run.want.push(o.clone());
            continue;
        }
        run.pump(states)?;
        run.compare(&format!("before events[{i}]"))?;
        match event {
            Event::In(input) => {
                let pieces = setup.plan.split(&input.bytes.0, &mut rng);
                for (k, piece) in pieces.into_iter().enumerate() {
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
                    run.party.receive(Read {
                        bytes: piece,
                        creds: input.creds,
                        pidfd: pidfd.map(|id| ledger.issue(id)),
                        fds,
                        ctrunc: first && input.ctrunc,
                        trunc: input.trunc,
                    })?;
                    run.note(states);
                    run.pump(states)?;
                }
            }
            Event::Eof if run.done => run.after_eof = true,
            Event::Eof => {
                run.party.receive_eof()?;
                run.note(states);
            }
            Event::Decide { decision } if profile.decides() => {
                run.party.decide(*decision)?;
                run.note(states);
            }
            Event::Misuse { call, error } => {
                if *call != MisuseCall::ReceiveEof {
                    return Err(
                        format!("events[{i}]: {call:?} is not a {} call", profile.name()).into(),
                    );
                }
                let got = run.party.misuse(*call)?;
                run.note(states);
                expect_call(&format!("events[{i}] {call:?}"), got, error.as_ref())?;
            }
            other => {
                return Err(
                    format!("events[{i}]: {other:?} is not a {} event", profile.name()).into(),
                );
            }
        }
    }
    run.pump(states)?;
    run.compare("at the end")?;
    let extra = Leftover {
        bytes: run.after.into(),
        fds: run.after_fds.iter().map(Fd::id).collect(),
        eof: run.after_eof,
    };
    let got = run.party.finish()?;
    compare_outcome(profile, got, &extra, &case.expected)
}

/// The replay's running state for one plan.
struct Run<'a> {
    party: Box<dyn Party + 'a>,
    profile: Profile,
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

impl Run<'_> {
    fn note(&self, states: &mut BTreeSet<(Role, &'static str)>) {
        if let Some(s) = self.party.state() {
            states.insert((self.profile.0, s));
        }
    }

    /// Steps until the side wants input (or has ended).
    fn pump(&mut self, states: &mut BTreeSet<(Role, &'static str)>) -> Answer<()> {
        loop {
            let step = self.party.step()?;
            self.note(states);
            match step {
                PartyStep::Send {
                    bytes,
                    own_credentials,
                } => {
                    if let Some(name) = self.profile.passed_through(&bytes) {
                        states.insert((self.profile.0, name));
                    }
                    self.sent.push((bytes, own_credentials));
                }
                PartyStep::Done => {
                    self.done = true;
                    return Ok(());
                }
                PartyStep::NeedInput | PartyStep::Failed(_) => return Ok(()),
                PartyStep::Decide if self.profile.decides() => return Ok(()),
                PartyStep::Decide => {
                    return Err(
                        format!("a {} side never returns Decide", self.profile.name()).into(),
                    );
                }
            }
        }
    }

    /// Compares and clears the output windows.
    fn compare(&mut self, at: &str) -> Result<(), String> {
        let got: Vec<u8> = self.sent.iter().flat_map(|(b, _)| b.clone()).collect();
        let want: Vec<u8> = self.want.iter().flat_map(|o| o.bytes.0.clone()).collect();
        if got != want {
            return Err(format!(
                "output {at}: expected {}, got {}",
                self.profile.show(&want),
                self.profile.show(&got)
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
                self.profile.name(),
                o.fds
            ));
        }
        self.sent.clear();
        self.want.clear();
        Ok(())
    }
}

/// Compares `finish` (plus what came after it) with the case.
fn compare_outcome(
    profile: Profile,
    got: Result<Authenticated, Code>,
    extra: &Leftover,
    want: &Expected,
) -> Answer<()> {
    let describe = || match (&want.outcome, &want.error) {
        (Outcome::Failed, Some(code)) => format!("error {code}"),
        _ => "authenticated".to_owned(),
    };
    let done = match (got, want.outcome) {
        (Err(code), Outcome::Failed) if Some(&code) == want.error.as_ref() => return Ok(()),
        (Err(code), _) => return Err(format!("expected {}, got error {code}", describe()).into()),
        (Ok(_), Outcome::Failed) => {
            return Err(Stop::Failed(format!(
                "expected {}, got authenticated",
                describe()
            )));
        }
        (Ok(done), _) => done,
    };
    profile.check_done(&done, want)?;
    let peer = done.peer.as_ref().map(|p| Peer {
        pid: p.creds.pid,
        uid: p.creds.uid,
        gid: p.creds.gid,
        source: p.source.clone(),
        pidfd: p.pidfd.as_ref().map(Fd::id),
    });
    if peer != want.peer {
        return Err(format!("expected peer {:?}, got {peer:?}", want.peer).into());
    }
    let mut bytes = done.leftover.bytes.clone();
    bytes.extend_from_slice(&extra.bytes.0);
    let mut fds: Vec<String> = done.leftover.fds.iter().map(Fd::id).collect();
    fds.extend(extra.fds.iter().cloned());
    let left = Leftover {
        bytes: bytes.into(),
        fds,
        eof: done.leftover.eof || extra.eof,
    };
    if Some(&left) != want.leftover.as_ref() {
        return Err(format!("expected leftover {:?}, got {left:?}", want.leftover).into());
    }
    Ok(())
}
