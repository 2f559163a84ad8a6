//! Replaying a frame decoder case.
//!
//! Frames are drained before every read and at the end (never in between,
//! so a `ReadBeforeDrain` misuse can find complete frames waiting). The
//! frames delivered must equal the case's `frames`; for a failed case they
//! may be a prefix, since how many complete frames come out before a bad
//! header depends on where the reads were cut.

use super::misuse::expect_call;
use super::subject::{Answer, Code, FrameDecoder, Implementation, Read, Setup};
use crate::model::{Event, FrameOut, Outcome, TestCase};
use crate::{Fd, Ledger};

struct Run<'a> {
    dec: Box<dyn FrameDecoder + 'a>,
    frames: Vec<FrameOut>,
    error: Option<Code>,
}

impl Run<'_> {
    fn drain(&mut self) -> Answer<()> {
        if self.error.is_some() {
            return Ok(());
        }
        loop {
            match self.dec.next_frame()? {
                Ok(Some(f)) => self.frames.push(FrameOut {
                    kind: f.kind,
                    payload: f.payload.into(),
                    shm: f.shm,
                    fds: f.fds.iter().map(Fd::id).collect(),
                }),
                Ok(None) => return Ok(()),
                Err(e) => {
                    self.error = Some(e);
                    return Ok(());
                }
            }
        }
    }

    fn set(&mut self, r: Option<Code>) {
        if let Some(e) = r {
            self.error.get_or_insert(e);
        }
    }
}

pub(super) fn run(
    imp: &mut dyn Implementation,
    setup: &Setup<'_>,
    case: &TestCase,
    ledger: &Ledger,
) -> Answer<()> {
    let plan = setup.plan;
    let dec = match imp.decoder(setup)? {
        Ok(d) => d,
        Err(code) => return compare(&[], Some(code), false, case),
    };
    let mut run = Run {
        dec,
        frames: Vec::new(),
        error: None,
    };
    let mut rng = plan.rng();
    for (i, event) in case.events.iter().enumerate() {
        if run.error.is_some() {
            break;
        }
        match event {
            Event::In(input) => {
                for (k, piece) in plan.split(&input.bytes.0, &mut rng).into_iter().enumerate() {
                    run.drain()?;
                    if run.error.is_some() {
                        break;
                    }
                    let first = k == 0;
                    let fds = if first {
                        ledger.issue_all(&input.fds)
                    } else {
                        Vec::new()
                    };
                    let r = run.dec.receive(Read {
                        bytes: piece,
                        fds,
                        ctrunc: first && input.ctrunc,
                        trunc: input.trunc,
                        ..Read::default()
                    })?;
                    run.set(r);
                }
            }
            Event::Eof => {
                run.drain()?;
                if run.error.is_none() {
                    let r = run.dec.receive_eof()?;
                    run.set(r);
                }
            }
            Event::Misuse { call, error } => {
                let got = run.dec.misuse(*call)?;
                expect_call(
                    &format!("events[{i}] {call:?}"),
                    got.clone(),
                    error.as_ref(),
                )?;
                run.set(got);
            }
            other => {
                return Err(format!("events[{i}]: {other:?} is not a decoder event").into());
            }
        }
    }
    run.drain()?;
    if let Some(e) = &run.error {
        let held = run.dec.held_fds();
        if held != 0 {
            return Err(format!("after error {e} the decoder still holds {held} fds").into());
        }
        return compare(&run.frames, run.error, false, case);
    }
    let closed = run.dec.is_closed()?;
    compare(&run.frames, None, closed, case)
}

fn compare(frames: &[FrameOut], error: Option<Code>, closed: bool, case: &TestCase) -> Answer<()> {
    let want = &case.expected;
    let want_frames = want.frames.as_deref().unwrap_or(&[]);
    let got = match (error, closed) {
        (Some(e), _) => format!("error {e}"),
        (None, true) => "closed".to_owned(),
        (None, false) => "open".to_owned(),
    };
    let expected = match (want.outcome, &want.error) {
        (Outcome::Failed, Some(code)) => format!("error {code}"),
        (Outcome::Closed, _) => "closed".to_owned(),
        _ => "open".to_owned(),
    };
    if got != expected {
        return Err(format!(
            "expected {expected}, got {got} (after {} frames)",
            frames.len()
        )
        .into());
    }
    let frames_ok = if want.outcome == Outcome::Failed {
        want_frames.starts_with(frames)
    } else {
        want_frames == frames
    };
    if !frames_ok {
        return Err(format!("expected frames {want_frames:?}, got {frames:?}").into());
    }
    Ok(())
}
