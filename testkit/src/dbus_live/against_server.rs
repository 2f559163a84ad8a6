//! The server-role cases (`dbus_server.json`) against a live server: our
//! scripted client writes the case's `in` bytes (the live uid substituted)
//! over a new connection per case, and grades each line the server sends
//! where the case expects its `out` lines, then the end.

use std::os::unix::net::UnixStream;

use mon_ipc_conformance_core::model::{Event, LiveExpect, TestCase};

use super::lines::{Flow, judge, split, substitute_uid};
use super::report::{CaseReport, Side, escaped};
use super::wire::Wire;
use crate::dbus_message::{ReadError, read_message};
use crate::dbus_peers::RunningServer;

/// Plays `case` against `server`; `uid` is ours (the live client's).
pub fn run(case: &TestCase, server: &RunningServer, uid: u32) -> CaseReport {
    let r = CaseReport::new(case.tc_id, &case.name);
    let Some(live) = case.live.as_ref() else {
        return r.not_applicable("no live rules in the vector");
    };
    if let Some(why) = &live.not_applicable {
        return r.not_applicable(why);
    }
    match UnixStream::connect(&server.path).and_then(|s| Wire::new(s, Side::Client)) {
        Ok(wire) => play(case, server, uid, wire, r),
        Err(e) => {
            let mut r = r;
            r.fail(format!("cannot connect to {}: {e}", server.path.display()));
            r
        }
    }
}

fn play(
    case: &TestCase,
    server: &RunningServer,
    uid: u32,
    mut wire: Wire,
    mut r: CaseReport,
) -> CaseReport {
    let live = case.live.as_ref().expect("checked by run");
    let call = server.first_call.message();
    // The case's message start after BEGIN (12 bytes: a method call,
    // serial 1, no body) becomes the server's whole first call.
    let start: &[u8] = case
        .expected
        .leftover
        .as_ref()
        .map_or(&[], |l| l.bytes.0.as_slice());
    let mut call_sent = false;
    let mut rules = live.lines.iter();
    for e in &case.events {
        match e {
            Event::In(i) => {
                let mut bytes = substitute_uid(&i.bytes.0, uid);
                if !start.is_empty() && call.starts_with(start) && bytes.ends_with(start) {
                    bytes.truncate(bytes.len() - start.len());
                    bytes.extend_from_slice(&call);
                    call_sent = true;
                }
                wire.send(&mut r, &bytes);
            }
            Event::Out(o) => {
                for expected in split(&o.bytes.0) {
                    let Some(rule) = rules.next() else {
                        r.fail("the vector has fewer live rules than lines".into());
                        return r;
                    };
                    let got = wire.line(&mut r);
                    if judge(&mut r, rule, &expected, got) == Flow::Stop {
                        return r;
                    }
                }
            }
            Event::Eof => wire.hang_up(),
            _ => {}
        }
    }
    match live.end.expect {
        LiveExpect::Authenticated => {
            if !call_sent {
                wire.send(&mut r, &call);
            }
            if let Err(what) = reply(&mut wire, &mut r) {
                r.deviate(live.end.required, format!("{what} ({})", live.end.why));
            }
        }
        LiveExpect::NotAuthenticated => {
            // A method call (ended by "\r\n" in case the server still reads
            // lines): it must not be answered.
            wire.send(&mut r, &[&call[..], b"\r\n"].concat());
            not_answered(&mut wire, &mut r, live.end.required, &live.end.why);
        }
        LiveExpect::Nothing => {}
    }
    r
}

/// Reads messages until the reply to serial 1.
fn reply(wire: &mut Wire, r: &mut CaseReport) -> Result<(), String> {
    loop {
        let mut buf = std::mem::take(&mut wire.buf);
        let m = read_message(&mut Tap(&mut wire.sock, r), &mut buf);
        wire.buf = buf;
        match m {
            Ok(m) if m.reply_serial == Some(1) => return Ok(()),
            Ok(_) => {}
            Err(ReadError::Eof) => {
                return Err("closed instead of answering the method call after BEGIN".into());
            }
            Err(e) => return Err(format!("no reply to the method call after BEGIN: {e:?}")),
        }
    }
}

/// After a failed authentication: closing is the case's (a choice),
/// answering lines a NOTE, answering the call as a message FAILED.
fn not_answered(wire: &mut Wire, r: &mut CaseReport, required: bool, why: &str) {
    match wire.fill(r) {
        Ok(false) if wire.buf.is_empty() => return,
        Err(()) if wire.buf.is_empty() => {
            r.fail("timeout: neither closed nor answered after the failed authentication".into());
            return;
        }
        _ => {}
    }
    let first = std::mem::take(&mut wire.buf);
    if matches!(first.first(), Some(b'l' | b'B')) && first.get(1) == Some(&2) {
        r.deviate(
            required,
            format!("answered a method call without OK ({why})"),
        );
    } else {
        r.note(format!(
            "did not close without a reply: answered \"{}\" (closing is this implementation's choice; the specification says \"should\")",
            escaped(&first)
        ));
    }
}

/// Reads from the socket, logging what comes.
struct Tap<'a>(&'a mut UnixStream, &'a mut CaseReport);

impl std::io::Read for Tap<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = std::io::Read::read(self.0, out)?;
        self.1.wrote(Side::Server, &out[..n]);
        Ok(n)
    }
}
