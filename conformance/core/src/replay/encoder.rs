//! Replaying a frame encoder case.
//!
//! Inputs are `push`, `flush` and `misuse`; the outputs between two inputs
//! are compared as one byte string plus the places where fds are attached.
//! The plan becomes a write budget: `bytes` sends one byte per `sendmsg`,
//! as if every write were short, which checks that fds go with a frame's
//! first byte and never again. An fd-carrying `sendmsg` must start where the
//! case's fd-carrying `out` starts and end no later than it ends (the frame
//! is alone in its `sendmsg`). On seqpacket the records must match exactly.

use mon_ipc::{Encoder, Error, Kind, ShmHeader};

use super::config::{limits, socket};
use super::misuse::expect_call;
use crate::chunking::Plan;
use crate::model::{Event, FrameKind, MisuseCall, Outcome, Output, Socket, TestCase, TestGroup};
use crate::{Fd, Ledger};

/// One simulated `sendmsg`: bytes and the fds attached.
type Sent = (Vec<u8>, Vec<String>);

pub(super) fn run(
    group: &TestGroup,
    case: &TestCase,
    plan: Plan,
    ledger: &Ledger,
) -> Result<(), String> {
    let c = &group.config;
    let mut first_error: Option<&'static str> = None;
    let lim = match limits(c.limits.ok_or("config.limits missing")?) {
        Ok(l) => l,
        Err(e) => return outcome(Some(Error::from(e).code()), case),
    };
    let mut enc = Encoder::<Fd>::new(lim, socket(c.socket));
    let mut rng = plan.rng();
    let mut sent: Vec<Sent> = Vec::new();
    let mut want: Vec<Output> = Vec::new();
    for (i, event) in case.events.iter().enumerate() {
        if let Event::Out(o) = event {
            want.push(o.clone());
            continue;
        }
        compare(&sent, &want, c.socket, i)?;
        sent.clear();
        want.clear();
        let at = format!("events[{i}]");
        match event {
            Event::Push(p) => {
                let kind = match (p.kind, p.shm) {
                    (FrameKind::Shm, Some(s)) => Kind::SharedMemory(ShmHeader {
                        size: s.size,
                        seals: s.seals,
                    }),
                    _ => Kind::Data,
                };
                let fds = ledger.issue_all(&p.fds);
                // Alternate the copying and the zero-copy entry points.
                let r = if plan == Plan::Whole {
                    enc.push_copy(kind, &p.payload.0, fds)
                } else {
                    enc.push(kind, p.payload.0.clone().into(), fds)
                };
                let got = r.err().map(|e| e.code());
                first_error = first_error.or(got);
                expect_call(&format!("{at} push"), got, p.error.as_ref())?;
            }
            Event::Flush => flush(&mut enc, plan, &mut rng, &mut sent)?,
            Event::Misuse { call, error } => {
                let got = match call {
                    MisuseCall::AdvancePastEnd => enc.advance(enc.queued_bytes() + 1),
                    other => return Err(format!("{at}: {other:?} is not an encoder call")),
                }
                .err()
                .map(|e| e.code());
                first_error = first_error.or(got);
                expect_call(&format!("{at} {call:?}"), got, error.as_ref())?;
            }
            other => return Err(format!("{at}: {other:?} is not an encoder event")),
        }
    }
    compare(&sent, &want, c.socket, case.events.len())?;
    outcome(first_error, case)
}

/// Sends everything queued, each `sendmsg` limited by the plan's budget.
fn flush(
    enc: &mut Encoder<Fd>,
    plan: Plan,
    rng: &mut crate::chunking::SplitMix,
    sent: &mut Vec<Sent>,
) -> Result<(), String> {
    for _ in 0..1_000_000 {
        let mut slices = [&[][..]; 8];
        let Some(t) = enc.transmit(&mut slices) else {
            return Ok(());
        };
        let bytes: Vec<u8> = slices[..t.slices].concat();
        if bytes.is_empty() {
            return Err("transmit offered an empty sendmsg".into());
        }
        let n = plan.piece(bytes.len(), rng);
        let mut fds = Vec::new();
        enc.advance_with(n, |fd: Fd| fds.push(fd.id()))
            .map_err(|e| format!("advance({n}) refused: {}", e.code()))?;
        sent.push((bytes[..n].to_vec(), fds));
    }
    Err("flush did not end".into())
}

/// Compares one window of output.
fn compare(sent: &[Sent], want: &[Output], sock: Socket, i: usize) -> Result<(), String> {
    let got: Vec<u8> = sent.iter().flat_map(|(b, _)| b.clone()).collect();
    let exp: Vec<u8> = want.iter().flat_map(|o| o.bytes.0.clone()).collect();
    if got != exp {
        return Err(format!(
            "output before events[{i}]: expected {:?}, got {:?}",
            hex::encode(exp),
            hex::encode(got)
        ));
    }
    if want.iter().any(|o| o.own_credentials) {
        return Err(format!(
            "events before [{i}]: frames never attach credentials"
        ));
    }
    let spans = |lens: Vec<(usize, Vec<String>)>| {
        let mut at = 0;
        lens.into_iter()
            .map(|(len, fds)| {
                let span = (at, len, fds);
                at += len;
                span
            })
            .collect::<Vec<_>>()
    };
    let got_spans = spans(sent.iter().map(|(b, f)| (b.len(), f.clone())).collect());
    let exp_spans = spans(
        want.iter()
            .map(|o| (o.bytes.0.len(), o.fds.clone()))
            .collect(),
    );
    if sock == Socket::Seqpacket {
        if got_spans != exp_spans {
            return Err(format!(
                "records before events[{i}]: expected {exp_spans:?}, got {got_spans:?}"
            ));
        }
        return Ok(());
    }
    let got_fd: Vec<_> = got_spans.iter().filter(|s| !s.2.is_empty()).collect();
    let exp_fd: Vec<_> = exp_spans.iter().filter(|s| !s.2.is_empty()).collect();
    let same = got_fd.len() == exp_fd.len()
        && got_fd
            .iter()
            .zip(&exp_fd)
            .all(|(g, e)| g.0 == e.0 && g.1 <= e.1 && g.2 == e.2);
    if !same {
        return Err(format!(
            "fds before events[{i}]: expected (offset, len, fds) {exp_fd:?}, got {got_fd:?}"
        ));
    }
    Ok(())
}

fn outcome(first_error: Option<&'static str>, case: &TestCase) -> Result<(), String> {
    let want = &case.expected;
    let ok = match want.outcome {
        Outcome::Failed => first_error.is_some() && first_error == want.error.as_deref(),
        _ => first_error.is_none(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected outcome {:?} {:?}, first error was {first_error:?}",
            want.outcome, want.error
        ))
    }
}
