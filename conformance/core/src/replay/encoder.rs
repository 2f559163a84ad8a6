//! Replaying a frame encoder case.
//!
//! Inputs are `push`, `flush` and `misuse`; the outputs between two inputs
//! are compared as one byte string plus the places where fds are attached.
//! The plan becomes a write budget: `bytes` sends one byte per `sendmsg`,
//! as if every write were short, which checks that fds go with a frame's
//! first byte and never again. An fd-carrying `sendmsg` must start where the
//! case's fd-carrying `out` starts and end no later than it ends (the frame
//! is alone in its `sendmsg`). On seqpacket the records must match exactly.

use super::misuse::expect_call;
use super::subject::{Answer, Code, FrameEncoder, Implementation, Setup};
use crate::chunking::{Plan, SplitMix};
use crate::model::{Event, MisuseCall, Outcome, Output, Socket, TestCase};
use crate::{Fd, Ledger};

/// One simulated `sendmsg`: bytes and the fds attached.
type Sent = (Vec<u8>, Vec<String>);

pub(super) fn run(
    imp: &mut dyn Implementation,
    setup: &Setup<'_>,
    case: &TestCase,
    ledger: &Ledger,
) -> Answer<()> {
    let (plan, sock) = (setup.plan, setup.config.socket);
    let mut first_error: Option<Code> = None;
    let mut enc = match imp.encoder(setup)? {
        Ok(e) => e,
        Err(code) => return outcome(Some(code), case),
    };
    let mut rng = plan.rng();
    let mut sent: Vec<Sent> = Vec::new();
    let mut want: Vec<Output> = Vec::new();
    for (i, event) in case.events.iter().enumerate() {
        if let Event::Out(o) = event {
            want.push(o.clone());
            continue;
        }
        compare(&sent, &want, sock, i)?;
        sent.clear();
        want.clear();
        let at = format!("events[{i}]");
        match event {
            Event::Push(p) => {
                let got = enc.push(p, ledger.issue_all(&p.fds))?;
                first_error = first_error.or(got.clone());
                expect_call(&format!("{at} push"), got, p.error.as_ref())?;
            }
            Event::Flush => flush(&mut *enc, plan, &mut rng, &mut sent)?,
            Event::Misuse { call, error } => {
                if *call != MisuseCall::AdvancePastEnd {
                    return Err(format!("{at}: {call:?} is not an encoder call").into());
                }
                let got = enc.misuse(*call)?;
                first_error = first_error.or(got.clone());
                expect_call(&format!("{at} {call:?}"), got, error.as_ref())?;
            }
            other => return Err(format!("{at}: {other:?} is not an encoder event").into()),
        }
    }
    compare(&sent, &want, sock, case.events.len())?;
    outcome(first_error, case)
}

/// Sends everything queued, each `sendmsg` limited by the plan's budget.
fn flush(
    enc: &mut dyn FrameEncoder,
    plan: Plan,
    rng: &mut SplitMix,
    sent: &mut Vec<Sent>,
) -> Answer<()> {
    for _ in 0..1_000_000 {
        let max = plan.budget(rng);
        let Some(s) = enc.transmit(max)? else {
            return Ok(());
        };
        if s.bytes.is_empty() || s.bytes.len() > max {
            return Err(format!(
                "a sendmsg of {} bytes, with a write budget of {max}",
                s.bytes.len()
            )
            .into());
        }
        sent.push((s.bytes, s.fds.iter().map(Fd::id).collect()));
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

fn outcome(first_error: Option<Code>, case: &TestCase) -> Answer<()> {
    let want = &case.expected;
    let ok = match want.outcome {
        Outcome::Failed => first_error.is_some() && first_error == want.error,
        _ => first_error.is_none(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected outcome {:?} {:?}, first error was {first_error:?}",
            want.outcome, want.error
        )
        .into())
    }
}
