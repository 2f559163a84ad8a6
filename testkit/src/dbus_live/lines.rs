//! Lines of the SASL exchange: splitting, the live substitutions, and the
//! comparison of a live line with the case's under its `live` rule.

use mon_ipc_conformance_core::model::LiveLine;

use super::report::{CaseReport, escaped};
use super::wire::Read1;

/// `\r\n`-terminated lines of `bytes`, without the terminator.
pub(super) fn split(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut rest = bytes;
    while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
        lines.push(rest[..at].to_vec());
        rest = &rest[at + 2..];
    }
    lines
}

/// A line's command (its first word).
pub(super) fn command(line: &[u8]) -> &[u8] {
    line.split(|b| *b == b' ').next().unwrap_or_default()
}

/// What follows the command.
pub(super) fn args(line: &[u8]) -> &[u8] {
    line.iter()
        .position(|b| *b == b' ')
        .map_or(&[][..], |at| &line[at + 1..])
}

/// The uid the cases use for "the client" (`CLIENT` of the generator).
const CASE_UID: u32 = 1000;

/// The uid an `EXTERNAL` response claims in `case` terms, mapped to live
/// terms: the case's client uid becomes `live`; any other uid stays wrong
/// (if it happens to be `live`, another one is used).
fn live_uid(claimed: u32, live: u32) -> u32 {
    if claimed == CASE_UID {
        live
    } else if claimed == live {
        if live == 0 { 1 } else { 0 }
    } else {
        claimed
    }
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Hex of decimal digits back to the number, if it is one.
fn unhex_uid(h: &[u8]) -> Option<u32> {
    if h.is_empty() || h.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = h
        .chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
        .collect();
    let digits = String::from_utf8(bytes?).ok()?;
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| digits.parse().ok())?
}

/// `bytes` with every `EXTERNAL` response (`AUTH EXTERNAL <hex>`,
/// `DATA <hex>`) claiming a decimal uid rewritten for the live uid.
pub(super) fn substitute_uid(bytes: &[u8], live: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        let (line, end) = match rest.windows(2).position(|w| w == b"\r\n") {
            Some(at) => (&rest[..at], Some(at)),
            None => (rest, None),
        };
        out.extend_from_slice(&rewrite(line, live));
        match end {
            Some(at) => {
                out.extend_from_slice(b"\r\n");
                rest = &rest[at + 2..];
            }
            None => return out,
        }
    }
}

fn rewrite(line: &[u8], live: u32) -> Vec<u8> {
    let (nul, body) = match line.strip_prefix(b"\0") {
        Some(b) => (&b"\0"[..], b),
        None => (&b""[..], line),
    };
    let prefix: &[u8] = if body.starts_with(b"AUTH EXTERNAL ") {
        b"AUTH EXTERNAL "
    } else if body.starts_with(b"DATA ") {
        b"DATA "
    } else {
        return line.to_vec();
    };
    match unhex_uid(&body[prefix.len()..]) {
        Some(uid) => [
            nul,
            prefix,
            hex(&live_uid(uid, live).to_string()).as_bytes(),
        ]
        .concat(),
        None => line.to_vec(),
    }
}

/// Whether `guid` is 32 hex digits.
fn is_guid(guid: &[u8]) -> bool {
    guid.len() == 32 && guid.iter().all(u8::is_ascii_hexdigit)
}

/// Whether to go on playing the case after a line.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Flow {
    /// The line was the case's (arguments may differ).
    Go,
    /// It was not, or none came: the rest of the case assumed it.
    Stop,
}

/// Grades what the live peer sent where the case expects `expected`.
pub(super) fn judge(r: &mut CaseReport, rule: &LiveLine, expected: &[u8], got: Read1) -> Flow {
    let want = escaped(expected);
    let line = match got {
        Read1::Line(l) => l,
        Read1::Closed(rest) => {
            let what = format!(
                "closed instead of sending \"{want}\" (unended bytes \"{}\"; {})",
                escaped(&rest),
                rule.why
            );
            r.deviate(!rule.or_disconnect && !rule.allowed.is_empty(), what);
            return Flow::Stop;
        }
        Read1::TimedOut(rest) => {
            r.fail(format!(
                "timeout waiting for \"{want}\" (unended bytes \"{}\")",
                escaped(&rest)
            ));
            return Flow::Stop;
        }
    };
    let got = escaped(&line);
    let cmd = command(&line);
    let allowed = rule.allowed.is_empty() || rule.allowed.iter().any(|a| a.as_bytes() == cmd);
    if cmd != command(expected) {
        let what = format!(
            "sent \"{got}\" where the case expects \"{want}\" ({})",
            rule.why
        );
        r.deviate(!allowed, what);
        return Flow::Stop;
    }
    if cmd == b"OK" && is_guid(args(&line)) != is_guid(args(expected)) {
        r.note(format!(
            "OK with a guid that is not 32 hex digits: \"{got}\""
        ));
    } else if cmd != b"OK" && line != expected {
        r.note(format!(
            "sent \"{got}\" where the case expects \"{want}\" (the arguments are a choice)"
        ));
    }
    Flow::Go
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dbus_live::Grade;

    #[test]
    fn the_case_uid_becomes_the_live_one_and_a_wrong_one_stays_wrong() {
        // 1000 -> 0 (root); the case's wrong uid 0 is root's: it becomes 1.
        let case = b"\0AUTH EXTERNAL 31303030\r\nAUTH EXTERNAL 30\r\nDATA 31303030\r\n";
        assert_eq!(
            substitute_uid(case, 0),
            b"\0AUTH EXTERNAL 30\r\nAUTH EXTERNAL 31\r\nDATA 30\r\n"
        );
        // For uid 1000 nothing changes; not decimal digits, not hex, or no
        // response: untouched; a line without its end too.
        let other =
            b"AUTH EXTERNAL 7a7a\r\nAUTH EXTERNAL 3g\r\nAUTH EXTERNAL\r\nAUTH EXTERNAL 3130";
        assert_eq!(substitute_uid(other, 1000), other);
        assert_eq!(substitute_uid(case, 1000), case);
    }

    fn rule(allowed: &[&str], or_disconnect: bool) -> LiveLine {
        LiveLine {
            allowed: allowed.iter().map(|s| (*s).to_owned()).collect(),
            or_disconnect,
            nul_first: false,
            why: "why".into(),
        }
    }

    fn grade(rule: &LiveLine, expected: &[u8], got: Read1) -> (Grade, Flow) {
        let mut r = CaseReport::new(1, "case");
        let flow = judge(&mut r, rule, expected, got);
        (r.grade, flow)
    }

    #[test]
    fn a_line_is_graded_by_its_rule() {
        let ok = b"OK 0123456789abcdef0123456789abcdef";
        let line = |l: &[u8]| Read1::Line(l.to_vec());
        let only_ok = rule(&["OK"], false);
        // Another guid, still 32 hex digits: the same line.
        let other_guid = b"OK ffffffffffffffffffffffffffffffff";
        assert_eq!(
            grade(&only_ok, ok, line(other_guid)),
            (Grade::Passed, Flow::Go)
        );
        assert_eq!(grade(&only_ok, ok, line(b"OK 12")), (Grade::Note, Flow::Go));
        assert_eq!(
            grade(&only_ok, ok, line(b"REJECTED")),
            (Grade::Failed, Flow::Stop)
        );
        let closed = || Read1::Closed(Vec::new());
        assert_eq!(grade(&only_ok, ok, closed()), (Grade::Failed, Flow::Stop));
        assert_eq!(
            grade(&only_ok, ok, Read1::TimedOut(Vec::new())),
            (Grade::Failed, Flow::Stop)
        );
        // Another allowed command, other arguments, or a permitted close.
        let either = rule(&["REJECTED", "ERROR"], true);
        let rejected = b"REJECTED EXTERNAL";
        assert_eq!(
            grade(&either, rejected, line(b"ERROR")),
            (Grade::Note, Flow::Stop)
        );
        let list = b"REJECTED EXTERNAL ANONYMOUS";
        assert_eq!(
            grade(&either, rejected, line(list)),
            (Grade::Note, Flow::Go)
        );
        assert_eq!(
            grade(&either, rejected, closed()),
            (Grade::Note, Flow::Stop)
        );
        // A choice: anything is a NOTE at most.
        let any = rule(&[], false);
        assert_eq!(
            grade(&any, b"CANCEL", line(b"BEGIN")),
            (Grade::Note, Flow::Stop)
        );
    }
}
