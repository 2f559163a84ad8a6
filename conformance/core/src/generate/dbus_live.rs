//! How each D-Bus case grades a live implementation (`TestCase::live`,
//! docs/VECTORS.md "Live runs"): for every line the case expects, the
//! commands the D-Bus specification allows there, and what must hold at
//! the end. Derived from the case's own lines by the rules below, each
//! quoting the sentence of the specification's "Authentication Protocol"
//! section it rests on; where no sentence says "must", the line is the
//! implementation's choice (a deviation is a NOTE, not a failure).
//!
//! Also which cases have no live meaning: a real kernel attaches the
//! client's real credentials, fds and `MSG_CTRUNC` cannot be injected into
//! a live peer's reads, a caller's misuse is not on the wire, and a
//! configuration no live peer has (a server without fd passing, one
//! offering `ANONYMOUS`, no `SO_PEERCRED`) cannot be met.

use crate::model::{
    Config, Event, Expected, Live, LiveEnd, LiveExpect, LiveLine, MessageCreds, Outcome, Role,
    TestCase,
};

use super::draft::CLIENT;

/// "AUTH command" (no arguments).
const AUTH_LIST: &str = "AUTH command: \"If an AUTH command has no arguments, it is a request to list available mechanisms. The server must respond with a REJECTED command listing the mechanisms it understands, or with an error.\" (the list itself is the server's choice)";
/// "AUTH command" (a mechanism the server does not support).
const AUTH_UNSUPPORTED: &str = "AUTH command: \"If the server does not support the mechanism given in the AUTH command, it must send either a REJECTED command listing the mechanisms it does support, or an error.\" (the list is the server's choice)";
/// "AUTH command" (success).
const AUTH_OK: &str = "AUTH command: \"If authentication succeeds after exchanging DATA commands, an OK command must be sent to the client.\" (the guid is the server's: any 32 hex digits)";
/// "AUTH command" (a challenge).
const AUTH_REPLIES: &str = "AUTH command: \"The AUTH command is sent by the client to the server. The server replies with DATA, OK or REJECTED.\" (an empty DATA challenge for EXTERNAL without a response is the server's choice)";
/// A failed attempt.
const AUTH_FAILED: &str = "REJECTED Command: \"The REJECTED command indicates that the current authentication exchange has failed\"; ERROR Command: the server \"did not understand the arguments to the command\". Never OK: the client is not who it claims.";
/// "CANCEL Command".
const CANCEL: &str = "CANCEL Command: \"On receiving the CANCEL command, the server must send a REJECTED command and abort the current authentication exchange.\"";
/// CANCEL outside an exchange: the text and the state diagram differ.
const CANCEL_IDLE: &str = "CANCEL Command: \"At any time up to sending the BEGIN command, the client may send a CANCEL command. On receiving the CANCEL command, the server must send a REJECTED command\"; the server state diagram (WaitingForAuth) has no CANCEL and answers \"anything else\" with ERROR: either is allowed";
/// "ERROR Command" (from the client).
const CLIENT_ERROR: &str = "ERROR Command: \"The ERROR command can be sent in either direction. If sent by the client, the server replies with REJECTED.\"";
/// "DATA Command".
const DATA: &str =
    "DATA Command: \"If sent by the client, the server replies with DATA, OK or REJECTED.\"";
/// "NEGOTIATE_UNIX_FD Command".
const NEGOTIATE: &str = "NEGOTIATE_UNIX_FD Command: \"On receiving NEGOTIATE_UNIX_FD the server must respond with either AGREE_UNIX_FD or ERROR.\" (which one is the server's choice)";
/// NEGOTIATE_UNIX_FD before OK.
const NEGOTIATE_EARLY: &str = "NEGOTIATE_UNIX_FD Command: \"This command may only be sent after the connection is authenticated\"; AGREE_UNIX_FD \"may only be sent after the connection is authenticated\": ERROR (\"does not accept the given command in the current context\")";
/// A command out of its state.
const OUT_OF_CONTEXT: &str = "ERROR Command: the receiver \"does not accept the given command in the current context\"; the server state diagram (WaitingForData) answers it with ERROR. A REJECTED (abandoning the exchange) is also allowed";
/// "Future Extensions".
const UNKNOWN: &str = "Future Extensions: \"If a client or server receives an unknown command it shall respond with ERROR and not consider this fatal.\"; Invalid Protocol and Spec Extensions: \"In the authentication protocol ... unknown commands result in an ERROR rather than a disconnect.\" (the ERROR text is the server's choice)";
/// Every line gets its reply.
const ONE_REPLY: &str = "Authentication Protocol: \"the server must respond to each line from the client with a single-line reply, with one exception: there is no reply to the BEGIN command\" (closing instead fails)";
/// After an ERROR reply.
const MUST_CONTINUE: &str = "and ERROR Command: \"If an ERROR is sent, the server or client that sent the error must continue as if the command causing the ERROR had never been received.\"";
/// libdbus's failure bound, which the cases use: past it, closing is a choice.
const FAILURE_BOUND: usize = 6;
/// Closing after the failure bound.
const BOUND: &str = "after 6 failed attempts closing instead is the server's choice (the specification sets no bound; libdbus closes after 6, this implementation at the 7th)";
/// Longer lines are about the line bound.
const LONG_LINE: usize = 1024;
/// The line bound.
const LINE_BOUND: &str = "The specification sets no bound on a line's length: how long a line a server reads, and whether it closes on a longer one, is its choice";
/// A response that is not hex.
const NOT_HEX: &str = "Protocol Overview: \"DATA <data in hex encoding>\", and AUTH's initial response is \"as if it were the argument to an initial DATA command\": a response that is not hex is invalid protocol, which \"should result in immediately dropping the connection\" (Invalid Protocol and Spec Extensions); a REJECTED or an ERROR is allowed too";
/// The NUL byte.
const NUL_FIRST: &str = "Special credentials-passing nul byte: \"Immediately after connecting to the server, the client must send a single nul byte.\" The AUTH line after it (mechanism, initial response) is the client's choice; a client of another kind makes the case not applicable at run time";
/// The client after OK.
const AFTER_OK: &str = "OK Command: \"The client may now proceed with negotiating Unix file descriptor passing. To do that it shall send NEGOTIATE_UNIX_FD to the server. Otherwise, the client must respond to the OK command by sending a BEGIN command, followed by its stream of messages, or by disconnecting.\" (whether it negotiates is the client's choice)";
/// The client after AGREE_UNIX_FD.
const AFTER_AGREE: &str = "AGREE_UNIX_FD Command: \"On receiving AGREE_UNIX_FD the client must respond with BEGIN, followed by its stream of messages, or by disconnecting.\"";
/// The client after ERROR to NEGOTIATE_UNIX_FD.
const AFTER_FD_ERROR: &str = "OK Command: \"If the client negotiates Unix file descriptor passing, the first octet received by the client after the \\r\\n of the AGREE_UNIX_FD or ERROR reply must be the first octet of the authenticated/encrypted stream\": the negotiation is over, BEGIN (or a disconnect) comes next";
/// The client's answers to challenges and errors.
const CLIENT_CHOICE: &str = "No \"must\": how a client answers a DATA challenge, an ERROR or a line it cannot expect is its mechanism's and its own choice (the client state diagrams suggest DATA, CANCEL or ERROR)";
/// The message stream after BEGIN (server).
const STREAM: &str = "BEGIN Command: \"The first octet received by the server after the \\r\\n of the BEGIN command from the client must be the first octet of the authenticated/encrypted stream of D-Bus messages.\" A method call sent right after BEGIN gets its reply";
/// No OK, no stream (server).
const NO_STREAM: &str = "OK Command: \"The OK command indicates that the client has been authenticated\": without it no D-Bus message may be answered. Closing without a reply (this implementation's choice) is what \"Invalid Protocol and Spec Extensions\" recommends (\"should ... dropping the connection\"); answering lines instead is a NOTE";
/// The message stream after BEGIN (client).
const CLIENT_STREAM: &str = "OK Command: the client responds \"by sending a BEGIN command, followed by its stream of messages\": it makes its call and exits successfully";
/// No BEGIN without OK (client).
const NO_BEGIN: &str = "BEGIN Command: \"The BEGIN command acknowledges that the client has received an OK command from the server\": the server sent none, so the client must not send BEGIN";
/// A client that requires fd passing.
const REQUIRE_FD_CHOICE: &str = "The server refused fd passing after a valid OK: whether the client requires it (and gives up) or goes on without (BEGIN) is its choice; this case's client requires it";
/// A malformed or misplaced OK.
const NO_BEGIN_CHOICE: &str = "The server's OK is malformed or out of place: whether the client accepts it (and sends BEGIN) is its choice; this implementation refuses it";
/// The client hung up, or the server did.
const HANG_UP: &str = "The case ends with a hang-up: nothing is left to observe";

/// The live grading of `case`, a case of a D-Bus role.
pub(super) fn annotate(role: Role, config: &Config, case: &TestCase) -> Live {
    match role {
        Role::DbusServer => server(config, case),
        _ => client(config, case),
    }
}

/// `\r\n`-terminated lines of `bytes`, without the terminator, and what
/// follows the last one.
fn split_lines(bytes: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut lines = Vec::new();
    let mut rest = bytes;
    while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
        lines.push(rest[..at].to_vec());
        rest = &rest[at + 2..];
    }
    (lines, rest.to_vec())
}

fn command(line: &[u8]) -> &[u8] {
    line.split(|b| *b == b' ').next().unwrap_or_default()
}

fn args(line: &[u8]) -> &[u8] {
    line.iter()
        .position(|b| *b == b' ')
        .map_or(&[][..], |at| &line[at + 1..])
}

fn is_hex(s: &[u8]) -> bool {
    s.len() % 2 == 0 && s.iter().all(u8::is_ascii_hexdigit)
}

fn rule(allowed: &[&str], why: &str) -> LiveLine {
    LiveLine {
        allowed: allowed.iter().map(|s| (*s).to_owned()).collect(),
        or_disconnect: false,
        nul_first: false,
        why: why.to_owned(),
    }
}

fn end(expect: LiveExpect, required: bool, why: &str) -> LiveEnd {
    LiveEnd {
        expect,
        required,
        why: why.to_owned(),
    }
}

fn concat<'a>(events: &'a [Event], pick: fn(&'a Event) -> Option<&'a [u8]>) -> Vec<u8> {
    events.iter().filter_map(pick).flatten().copied().collect()
}

fn input(e: &Event) -> Option<&[u8]> {
    match e {
        Event::In(i) => Some(&i.bytes.0),
        _ => None,
    }
}

fn output(e: &Event) -> Option<&[u8]> {
    match e {
        Event::Out(o) => Some(&o.bytes.0),
        _ => None,
    }
}

fn ends_with_eof(case: &TestCase) -> bool {
    matches!(case.events.last(), Some(Event::Eof))
}

/// Reasons shared by both roles: misuse, an unfinished exchange, injected
/// ancillary data.
fn common_not_applicable(case: &TestCase) -> Option<String> {
    if case
        .events
        .iter()
        .any(|e| matches!(e, Event::Misuse { .. }))
    {
        return Some("a call against the API's contract: a caller's error, not on the wire".into());
    }
    if case.expected.error.as_deref() == Some("not_finished") {
        return Some("the events stop mid-exchange (finish too early): a caller's error".into());
    }
    let injected = case.events.iter().any(|e| match e {
        Event::In(i) => !i.fds.is_empty() || i.ctrunc || i.pidfd.is_some() || i.trunc,
        _ => false,
    });
    injected.then(|| "injected fds or MSG_CTRUNC: a live peer's reads cannot be given them".into())
}

// ---------------------------------------------------------------- server

fn server(config: &Config, case: &TestCase) -> Live {
    let not_applicable =
        common_not_applicable(case).or_else(|| server_config_not_applicable(config, case));
    let sent = concat(&case.events, input);
    let (lines, _) = split_lines(sent.strip_prefix(b"\0").unwrap_or(&sent));
    // Every line up to BEGIN gets one reply, in order; BEGIN none.
    let asked: Vec<&[u8]> = lines
        .iter()
        .map(Vec::as_slice)
        .take_while(|l| *l != b"BEGIN")
        .collect();
    let (replies, _) = split_lines(&concat(&case.events, output));
    let mut ok_seen = false;
    let mut in_data = false;
    let mut failures = 0;
    let mut after_error = false;
    let lines = replies
        .iter()
        .zip(asked)
        .map(|(reply, asked)| {
            let mut r = server_rule(asked, reply, ok_seen, in_data);
            if after_error {
                r.why = format!("{}; {MUST_CONTINUE}", r.why);
            }
            if failures >= FAILURE_BOUND {
                r.or_disconnect = true;
                r.why = format!("{}; {BOUND}", r.why);
            }
            if !r.or_disconnect {
                r.why = format!("{}; {ONE_REPLY}", r.why);
            }
            ok_seen = command(reply) == b"OK" || (ok_seen && command(reply) != b"REJECTED");
            in_data = command(reply) == b"DATA";
            after_error = command(reply) == b"ERROR";
            failures += usize::from(matches!(command(reply), b"REJECTED" | b"ERROR"));
            r
        })
        .collect();
    Live {
        not_applicable,
        lines,
        end: server_end(&case.expected, ends_with_eof(case)),
    }
}

/// A server configuration or credentials that no live server has.
fn server_config_not_applicable(config: &Config, case: &TestCase) -> Option<String> {
    let forged = case.events.iter().any(|e| match e {
        Event::In(i) => i.creds != Some(CLIENT),
        _ => false,
    });
    if forged {
        return Some("forged or missing SCM_CREDENTIALS: the kernel attaches the live client's real credentials to its reads".into());
    }
    let d = config.dbus_server.as_ref()?;
    let why = if !d.unix_fd {
        "a server without fd passing"
    } else if d.allow_anonymous {
        "a server offering ANONYMOUS"
    } else if config
        .credential_policy
        .is_some_and(|p| p.message_credentials != MessageCreds::Required)
    {
        "a system without message credentials"
    } else if config
        .peer_socket
        .as_ref()
        .is_some_and(|p| p.credentials.is_none())
    {
        "a socket without SO_PEERCRED"
    } else {
        return None;
    };
    Some(format!(
        "the vector's configuration ({why}) is not the live server's"
    ))
}

fn server_rule(asked: &[u8], reply: &[u8], ok_seen: bool, in_data: bool) -> LiveLine {
    let reply_is = |c: &[u8]| command(reply) == c;
    if asked.len() > LONG_LINE {
        return LiveLine {
            or_disconnect: true,
            ..rule(&[], LINE_BOUND)
        };
    }
    let response = args(args(asked));
    if matches!(command(asked), b"AUTH" | b"DATA")
        && !is_hex(if command(asked) == b"AUTH" {
            response
        } else {
            args(asked)
        })
    {
        return LiveLine {
            or_disconnect: true,
            ..rule(&["REJECTED", "ERROR"], NOT_HEX)
        };
    }
    match command(asked) {
        b"AUTH" if in_data => rule(&["ERROR", "REJECTED"], OUT_OF_CONTEXT),
        b"AUTH" if args(asked).is_empty() => rule(&["REJECTED", "ERROR"], AUTH_LIST),
        b"AUTH" => {
            let mechanism = command(args(asked));
            if mechanism != b"EXTERNAL" && reply_is(b"REJECTED") {
                rule(&["REJECTED", "ERROR"], AUTH_UNSUPPORTED)
            } else if reply_is(b"OK") && !response.is_empty() {
                rule(&["OK"], AUTH_OK)
            } else if reply_is(b"OK") || reply_is(b"DATA") {
                // No response, or an empty one: a challenge or not is the
                // server's choice.
                rule(&["DATA", "OK", "REJECTED"], AUTH_REPLIES)
            } else {
                rule(&["REJECTED", "ERROR"], AUTH_FAILED)
            }
        }
        b"DATA" if reply_is(b"OK") => rule(&["OK"], AUTH_OK),
        b"DATA" => rule(&["REJECTED", "ERROR"], DATA),
        b"CANCEL" if reply_is(b"REJECTED") => rule(&["REJECTED"], CANCEL),
        b"CANCEL" => rule(&["REJECTED", "ERROR"], CANCEL_IDLE),
        b"ERROR" => rule(&["REJECTED"], CLIENT_ERROR),
        b"NEGOTIATE_UNIX_FD" if ok_seen => rule(&["AGREE_UNIX_FD", "ERROR"], NEGOTIATE),
        b"NEGOTIATE_UNIX_FD" => LiveLine {
            or_disconnect: true,
            ..rule(&["ERROR"], NEGOTIATE_EARLY)
        },
        _ => rule(&["ERROR"], UNKNOWN),
    }
}

fn server_end(expected: &Expected, hang_up: bool) -> LiveEnd {
    match expected.outcome {
        Outcome::Authenticated => {
            let left = expected.leftover.as_ref();
            let message_start = left.is_some_and(|l| {
                !l.eof && (l.bytes.0.is_empty() || (l.bytes.0.len() == 12 && l.bytes.0[0] == b'l'))
            });
            if message_start {
                end(LiveExpect::Authenticated, true, STREAM)
            } else {
                end(
                    LiveExpect::Nothing,
                    false,
                    "The leftover is not the start of a method call (or EOF follows): nothing to call",
                )
            }
        }
        _ if hang_up => end(LiveExpect::Nothing, false, HANG_UP),
        _ => end(LiveExpect::NotAuthenticated, true, NO_STREAM),
    }
}

// ---------------------------------------------------------------- client

fn client(config: &Config, case: &TestCase) -> Live {
    let not_applicable = common_not_applicable(case).or_else(|| unterminated(case));
    let mut lines = Vec::new();
    let mut last_in: Vec<u8> = Vec::new();
    let mut last_out: Vec<u8> = Vec::new();
    for e in &case.events {
        match e {
            Event::In(i) => {
                if let Some(l) = split_lines(&i.bytes.0).0.pop() {
                    last_in = l;
                }
            }
            Event::Out(o) => {
                for l in split_lines(&o.bytes.0).0 {
                    lines.push(client_rule(lines.is_empty(), &last_in, &last_out));
                    last_out = l;
                }
            }
            _ => {}
        }
    }
    let sent = concat(&case.events, input);
    let ok_sent = split_lines(&sent).0.iter().any(|l| command(l) == b"OK");
    let end = match case.expected.outcome {
        _ if ends_with_eof(case) => end(LiveExpect::Nothing, false, HANG_UP),
        Outcome::Authenticated => end(LiveExpect::Authenticated, true, CLIENT_STREAM),
        _ if config.dbus_client.is_some_and(|c| c.require_unix_fd) => {
            end(LiveExpect::NotAuthenticated, false, REQUIRE_FD_CHOICE)
        }
        _ if ok_sent => end(LiveExpect::NotAuthenticated, false, NO_BEGIN_CHOICE),
        _ => end(LiveExpect::NotAuthenticated, true, NO_BEGIN),
    };
    Live {
        not_applicable,
        lines,
        end,
    }
}

/// A line the server sends without `\r\n` and without hanging up: a live
/// client waits for the rest, so a run could only time out.
fn unterminated(case: &TestCase) -> Option<String> {
    let open = case.events.windows(2).any(|w| match w {
        [Event::In(i), next] => !i.bytes.0.ends_with(b"\r\n") && !matches!(next, Event::Eof),
        _ => false,
    }) || matches!(case.events.last(), Some(Event::In(i)) if !i.bytes.0.ends_with(b"\r\n"));
    open.then(|| "a line without \\r\\n that the server never ends (or the start of a message after it): a live client waits for the rest, a run could only time out".into())
}

fn client_rule(first: bool, last_in: &[u8], last_out: &[u8]) -> LiveLine {
    if first {
        return LiveLine {
            nul_first: true,
            ..rule(&[], NUL_FIRST)
        };
    }
    let (allowed, why): (&[&str], &str) = match command(last_in) {
        b"OK" => (&["BEGIN", "NEGOTIATE_UNIX_FD"], AFTER_OK),
        b"AGREE_UNIX_FD" => (&["BEGIN"], AFTER_AGREE),
        b"ERROR" if last_out == b"NEGOTIATE_UNIX_FD" => (&["BEGIN"], AFTER_FD_ERROR),
        _ => (&[], CLIENT_CHOICE),
    };
    LiveLine {
        or_disconnect: !allowed.is_empty(),
        ..rule(allowed, why)
    }
}
