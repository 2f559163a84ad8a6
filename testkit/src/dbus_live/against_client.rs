//! The client-role cases (`dbus_client.json`) against a live client: our
//! scripted server listens, starts one client process per case, grades
//! each line the client sends where the case expects its `out` lines,
//! writes the case's `in` lines, then checks the end: the client makes its
//! call (our server answers it) and exits 0, or it never sends `BEGIN`.

use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::sync::mpsc::Receiver;

use mon_ipc_conformance_core::model::{Event, LiveExpect, TestCase};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::lines::{Flow, args, command, judge, split, substitute_uid};
use super::report::{CaseReport, Side, escaped};
use super::wire::{Read1, Wire};
use crate::TempDir;
use crate::dbus_message::answer_calls;
use crate::dbus_peers::{ClientImpl, Reaped, TIMEOUT, spawn};

/// How many lines a client may send after the case's end before the run
/// stops answering (a client that retries forever).
const MAX_AFTER: usize = 16;

/// A live client under test: a process, or the caller's own code on a
/// thread (which sends its outcome when it ends).
#[derive(Debug)]
pub enum Running {
    /// A client program.
    Process(Reaped),
    /// In-process: `Ok` if it made its call, else what went wrong.
    Thread(Receiver<Result<(), String>>),
}

impl Running {
    /// Waits (at most [`TIMEOUT`]) for it to end by itself: `Ok` if it
    /// succeeded, `Err` with what it said; `None` if it did not end.
    fn outcome(self) -> Option<Result<(), String>> {
        match self {
            Running::Process(p) => p.output().map(|o| {
                if o.status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "{}: {}",
                        o.status,
                        String::from_utf8_lossy(&o.stderr).trim()
                    ))
                }
            }),
            Running::Thread(rx) => rx.recv_timeout(TIMEOUT).ok(),
        }
    }
}

/// Plays `case` against a new process of `client`; `uid` is the client's.
pub fn run(case: &TestCase, client: &ClientImpl, uid: u32) -> CaseReport {
    run_with(case, uid, |address| {
        Running::Process(spawn(&mut (client.command)(address)))
    })
}

/// Plays `case` against the client that `start` starts, given our
/// server's address; `uid` is the client's.
pub fn run_with(case: &TestCase, uid: u32, start: impl FnOnce(&str) -> Running) -> CaseReport {
    let mut r = CaseReport::new(case.tc_id, &case.name);
    let Some(live) = case.live.as_ref() else {
        return r.not_applicable("no live rules in the vector");
    };
    if let Some(why) = &live.not_applicable {
        return r.not_applicable(why);
    }
    let dir = match TempDir::new("dbus-live") {
        Ok(d) => d,
        Err(e) => {
            r.fail(format!("temporary directory: {e}"));
            return r;
        }
    };
    let path = dir.path().join("server");
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            r.fail(format!("bind {}: {e}", path.display()));
            return r;
        }
    };
    let process = start(&format!("unix:path={}", path.display()));
    let Some(wire) = accept(&listener, &mut r) else {
        return r;
    };
    play(case, uid, wire, process, r)
}

fn accept(listener: &UnixListener, r: &mut CaseReport) -> Option<Wire> {
    let ms = u16::try_from(TIMEOUT.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
    if !matches!(poll(&mut fds, PollTimeout::from(ms)), Ok(n) if n > 0) {
        r.fail(format!("the client did not connect within {TIMEOUT:?}"));
        return None;
    }
    match listener
        .accept()
        .and_then(|(s, _)| Wire::new(s, Side::Server))
    {
        Ok(w) => Some(w),
        Err(e) => {
            r.fail(format!("accept: {e}"));
            None
        }
    }
}

/// A client that first asks for the mechanisms (a bare `AUTH`, as GDBus
/// does: the specification's "Example of finding out mechanisms then
/// picking one") is answered `REJECTED <the case's mechanism>`; its next
/// line stands for its first. `None`: it closed or timed out (reported).
fn mechanisms_first(
    wire: &mut Wire,
    r: &mut CaseReport,
    line: &[u8],
    want: &[u8],
) -> Option<Vec<u8>> {
    if line != b"AUTH" || want == b"AUTH" {
        return Some(line.to_vec());
    }
    let mechanism = command(args(want)).to_vec();
    wire.send(r, &[b"REJECTED ", &mechanism[..], b"\r\n"].concat());
    match wire.line(r) {
        Read1::Line(l) => Some(l),
        other => {
            r.fail(format!("after REJECTED to its bare AUTH: {other:?}"));
            None
        }
    }
}

/// An `AUTH` line's shape: the mechanism and whether it has a response.
/// (`ANONYMOUS`'s response is optional trace information: not part of it.)
fn shape(line: &[u8]) -> (&[u8], bool) {
    let rest = args(line);
    let mechanism = command(rest);
    (
        mechanism,
        mechanism != b"ANONYMOUS" && !args(rest).is_empty(),
    )
}

fn play(
    case: &TestCase,
    uid: u32,
    mut wire: Wire,
    process: Running,
    mut r: CaseReport,
) -> CaseReport {
    let live = case.live.as_ref().expect("checked by run");
    let mut rules = live.lines.iter();
    let mut rejected = b"EXTERNAL".to_vec();
    let mut began = false;
    let mut first = true;
    for e in &case.events {
        match e {
            Event::Out(o) => {
                for expected in split(&substitute_uid(&o.bytes.0, uid)) {
                    let Some(rule) = rules.next() else {
                        r.fail("the vector has fewer live rules than lines".into());
                        return finish(r, wire, process);
                    };
                    let mut got = wire.line(&mut r);
                    let mut expected = expected;
                    if first {
                        first = false;
                        match (got, expected.strip_prefix(b"\0")) {
                            (Read1::Line(l), Some(want)) => {
                                let Some(l) = l.strip_prefix(b"\0") else {
                                    r.fail(format!(
                                        "the first byte is not NUL: \"{}\" ({})",
                                        escaped(&l),
                                        rule.why
                                    ));
                                    return finish(r, wire, process);
                                };
                                let l = match mechanisms_first(&mut wire, &mut r, l, want) {
                                    Some(l) => l,
                                    None => return finish(r, wire, process),
                                };
                                let l = l.as_slice();
                                if command(l) == b"AUTH" && shape(l) != shape(want) {
                                    let why = format!(
                                        "this client sends \"{}\", the case is for one that sends \"{}\"",
                                        escaped(l),
                                        escaped(want)
                                    );
                                    return finish(r.not_applicable(&why), wire, process);
                                }
                                got = Read1::Line(l.to_vec());
                                expected = want.to_vec();
                            }
                            (other, _) => got = other,
                        }
                    }
                    if let Read1::Line(l) = &got {
                        began |= l.as_slice() == b"BEGIN";
                    }
                    if judge(&mut r, rule, &expected, got) == Flow::Stop {
                        return finish(r, wire, process);
                    }
                }
            }
            Event::In(i) => {
                for l in split(&i.bytes.0) {
                    let list = args(&l);
                    let sane = list
                        .iter()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b" _".contains(b));
                    if command(&l) == b"REJECTED" && !list.is_empty() && sane {
                        rejected = args(&l).to_vec();
                    }
                }
                wire.send(&mut r, &i.bytes.0);
            }
            Event::Eof => wire.hang_up(),
            _ => {}
        }
    }
    match live.end.expect {
        LiveExpect::Authenticated if began => {
            let buf = std::mem::take(&mut wire.buf);
            let calls = match answer_calls(&mut wire.sock, buf) {
                Ok(calls) => calls,
                Err((calls, e)) => {
                    r.fail(format!(
                        "its messages after BEGIN: {e:?} after calls {calls:?}"
                    ));
                    calls
                }
            };
            drop(wire);
            match process.outcome() {
                Some(Ok(())) if calls.iter().any(|c| c == "Ping") => {}
                out => r.deviate(
                    live.end.required,
                    format!("calls {calls:?}, outcome {out:?} ({})", live.end.why),
                ),
            }
            return r;
        }
        LiveExpect::NotAuthenticated => answer_after_failure(
            &mut wire,
            &mut r,
            &rejected,
            live.end.required,
            &live.end.why,
        ),
        _ => {}
    }
    finish(r, wire, process)
}

/// After the case's last line: answer what the client tries next as a
/// server that accepts nothing (`REJECTED` with the case's list, `ERROR`
/// to the rest) until it closes; a `BEGIN` is a deviation.
fn answer_after_failure(
    wire: &mut Wire,
    r: &mut CaseReport,
    rejected: &[u8],
    required: bool,
    why: &str,
) {
    let mut errors = 0;
    for _ in 0..MAX_AFTER {
        let line = match wire.line(r) {
            Read1::Line(l) => l,
            Read1::Closed(_) => return,
            Read1::TimedOut(rest) => {
                r.fail(format!(
                    "timeout: the client neither closed nor sent a line (unended bytes \"{}\")",
                    escaped(&rest)
                ));
                return;
            }
        };
        let answer: Vec<u8> = match command(&line) {
            b"BEGIN" => {
                r.deviate(required, format!("sent BEGIN after the case's end ({why})"));
                return;
            }
            // The client refuses our REJECTED in turn: replying again
            // would go on forever. Hang up; it must not BEGIN after that.
            b"ERROR" if errors > 0 => {
                wire.hang_up();
                errors += 1;
                continue;
            }
            b"ERROR" => {
                errors += 1;
                [b"REJECTED ", rejected, b"\r\n"].concat()
            }
            b"AUTH" | b"CANCEL" | b"DATA" => [b"REJECTED ", rejected, b"\r\n"].concat(),
            _ => b"ERROR \"Unknown command\"\r\n".to_vec(),
        };
        wire.send(r, &answer);
    }
    r.note(format!("still sending lines after {MAX_AFTER} answers"));
}

/// Closes our end and reaps the client (killed if it does not exit).
fn finish(r: CaseReport, wire: Wire, process: Running) -> CaseReport {
    drop(wire);
    drop(process.outcome());
    r
}
