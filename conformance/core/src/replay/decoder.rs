//! Replaying a frame decoder case.
//!
//! Frames are drained before every read and at the end (never in between,
//! so a `ReadBeforeDrain` misuse can find complete frames waiting). The
//! frames delivered must equal the case's `frames`; for a failed case they
//! may be a prefix, since how many complete frames come out before a bad
//! header depends on where the reads were cut.

use mon_ipc::{DEFAULT_MAX_SHM_SIZE, Decoder, Error, Kind, ReadFlags};

use super::config::{limits, socket};
use super::misuse::expect_call;
use crate::chunking::Plan;
use crate::model::{Event, FrameKind, FrameOut, MisuseCall, Outcome, Shm, TestCase, TestGroup};
use crate::{Fd, Ledger};

struct Run {
    dec: Decoder<Fd>,
    frames: Vec<FrameOut>,
    error: Option<Error>,
}

impl Run {
    fn drain(&mut self) {
        if self.error.is_some() {
            return;
        }
        loop {
            match self.dec.next_frame() {
                Ok(Some(f)) => {
                    let (kind, shm) = match f.kind {
                        Kind::Data => (FrameKind::Data, None),
                        Kind::SharedMemory(s) => (
                            FrameKind::Shm,
                            Some(Shm {
                                size: s.size,
                                seals: s.seals,
                            }),
                        ),
                    };
                    let payload = f.payload.to_vec().into();
                    let fds = f.fds.map(|fd| fd.id()).collect();
                    self.frames.push(FrameOut {
                        kind,
                        payload,
                        shm,
                        fds,
                    });
                }
                Ok(None) => return,
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
        }
    }

    fn set(&mut self, r: Result<(), Error>) {
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }
}

pub(super) fn run(
    group: &TestGroup,
    case: &TestCase,
    plan: Plan,
    ledger: &Ledger,
) -> Result<(), String> {
    let c = &group.config;
    let lim = match limits(c.limits.ok_or("config.limits missing")?) {
        Ok(l) => l,
        Err(e) => return compare(&[], Some(e.into()), false, case),
    };
    let dec = Decoder::new(lim, socket(c.socket))
        .with_max_shm_size(c.max_shm_size.unwrap_or(DEFAULT_MAX_SHM_SIZE));
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
                    run.drain();
                    if run.error.is_some() {
                        break;
                    }
                    let first = k == 0;
                    let fds = if first {
                        ledger.issue_all(&input.fds)
                    } else {
                        Vec::new()
                    };
                    let flags = ReadFlags {
                        ctrunc: first && input.ctrunc,
                        trunc: input.trunc,
                    };
                    let r = run.dec.receive(piece, fds, flags);
                    run.set(r);
                }
            }
            Event::Eof => {
                run.drain();
                if run.error.is_none() {
                    let r = run.dec.receive_eof();
                    run.set(r);
                }
            }
            Event::Misuse { call, error } => {
                let got = misuse(&mut run.dec, *call).err();
                expect_call(
                    &format!("events[{i}] {call:?}"),
                    got.map(Error::code),
                    error.as_ref(),
                )?;
                if let Some(e) = got {
                    run.error.get_or_insert(e);
                }
            }
            other => return Err(format!("events[{i}]: {other:?} is not a decoder event")),
        }
    }
    run.drain();
    if run.error.is_some() && run.dec.held_fds() != 0 {
        return Err(format!(
            "after error {} the decoder still holds {} fds",
            run.error.map_or("", Error::code),
            run.dec.held_fds()
        ));
    }
    let closed = run.dec.is_closed();
    compare(&run.frames, run.error, closed, case)
}

/// Performs one API misuse on the decoder.
fn misuse(dec: &mut Decoder<Fd>, call: MisuseCall) -> Result<(), Error> {
    match call {
        MisuseCall::ReadBeforeDrain => dec.read_buffer().map(|_| ()),
        MisuseCall::ShrinkBuffer => {
            let buf = dec.read_buffer()?;
            let n = buf.len().saturating_sub(1);
            buf.truncate(n);
            dec.commit_read([], ReadFlags::default())
        }
        MisuseCall::ReceiveEof => dec.receive_eof(),
        MisuseCall::AdvancePastEnd => Ok(()),
    }
}

fn compare(
    frames: &[FrameOut],
    error: Option<Error>,
    closed: bool,
    case: &TestCase,
) -> Result<(), String> {
    let want = &case.expected;
    let want_frames = want.frames.as_deref().unwrap_or(&[]);
    let got = match (error, closed) {
        (Some(e), _) => format!("error {}", e.code()),
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
        ));
    }
    let frames_ok = if want.outcome == Outcome::Failed {
        want_frames.starts_with(frames)
    } else {
        want_frames == frames
    };
    if !frames_ok {
        return Err(format!("expected frames {want_frames:?}, got {frames:?}"));
    }
    Ok(())
}
