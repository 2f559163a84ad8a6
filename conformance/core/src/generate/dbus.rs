//! D-Bus authentication cases (`docs/DBUS.md`, the D-Bus specification's
//! "Authentication Protocol" and its state tables), for both sides of
//! `mon_ipc::dbus`. They follow what D-Bus's own auth-script tests
//! (`test/data/auth/*.auth-script` in dbus) cover: extra bytes after
//! `BEGIN`, mechanisms and `REJECTED`, `CANCEL`, a wrong uid, no
//! credentials, garbage and overlong lines, fd negotiation, `DATA` with an
//! empty response, `ANONYMOUS`, EOF at each point, fds during the
//! authentication; and the successful exchanges byte for byte.
//!
//! The expectations come from the specification and `docs/DBUS.md`: the
//! server's lines (`OK <guid>`, `REJECTED EXTERNAL[ ANONYMOUS]`, `DATA`,
//! `AGREE_UNIX_FD`, `ERROR "..."`), the failure bound (6 answers, the 7th
//! failure closes without one), the line bound (16 KiB without `\r\n`), and
//! the rule that EOF after a `REJECTED` fails with that rejection's reason.
//! The text inside `ERROR "..."` is this implementation's (flag `ErrorText`).

use super::draft::*;
use crate::model::{
    Config, Creds, DbusClientConfig, DbusMechanism, DbusOutcome, DbusServerConfig, Event, Expected,
    Input, Leftover, MessageCreds, MisuseCall, Outcome, Peer, PeerSocket, Role, Socket,
};

/// The server's guid in these cases.
const GUID: [u8; 16] = [
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
];
/// It as `OK` carries it.
const GUID_HEX: &str = "0123456789abcdef0123456789abcdef";
/// The default line bound (dbus-daemon's): 16 KiB without `\r\n`.
const MAX_LINE: usize = 16 * 1024;
/// libdbus's failure bound.
const MAX_FAILURES: u32 = 6;
/// `hex("1000")`: EXTERNAL's response for the client's uid 1000.
const UID_1000: &str = "31303030";
/// A first D-Bus message's opening bytes (little-endian method call, version 1).
const MESSAGE: &[u8] = b"l\x01\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00";

fn ok_line() -> Vec<u8> {
    format!("OK {GUID_HEX}\r\n").into_bytes()
}

fn line(s: &str) -> Vec<u8> {
    format!("{s}\r\n").into_bytes()
}

// ---- configurations ----

fn client_config(mechanism: DbusMechanism, uid: Option<u32>, unix_fd: bool) -> DbusClientConfig {
    DbusClientConfig {
        mechanism,
        uid,
        unix_fd,
        require_unix_fd: false,
        max_line: MAX_LINE as u64,
    }
}

fn ccfg(d: DbusClientConfig) -> Config {
    Config {
        socket: Socket::Stream,
        limits: None,
        mutual: None,
        credential_policy: None,
        peer_socket: None,
        max_shm_size: None,
        dbus_client: Some(d),
        dbus_server: None,
    }
}

/// EXTERNAL claiming uid 1000, asking for fd passing: what the driver's
/// `client_config()` gives a process of uid 1000.
fn external() -> Config {
    ccfg(client_config(DbusMechanism::External, Some(1000), true))
}

fn server_config() -> DbusServerConfig {
    DbusServerConfig {
        guid: GUID.as_slice().into(),
        unix_fd: true,
        allow_anonymous: false,
        max_line: MAX_LINE as u64,
        max_failures: MAX_FAILURES,
    }
}

fn scfg_with(d: DbusServerConfig, socket_creds: Option<Creds>, message: MessageCreds) -> Config {
    Config {
        socket: Socket::Stream,
        limits: None,
        mutual: None,
        credential_policy: Some(crate::model::Policy {
            message_credentials: message,
            ..linux()
        }),
        peer_socket: Some(PeerSocket {
            credentials: socket_creds,
            pidfd: None,
        }),
        max_shm_size: None,
        dbus_client: None,
        dbus_server: Some(d),
    }
}

/// The default server: EXTERNAL only, fd passing agreed, the client's
/// socket credentials known, message credentials required (Linux).
fn scfg() -> Config {
    scfg_with(server_config(), Some(CLIENT), MessageCreds::Required)
}

// ---- expectations ----

fn done(mechanism: DbusMechanism, unix_fd: bool, peer: Option<Peer>, left: Leftover) -> Expected {
    Expected {
        outcome: Outcome::Authenticated,
        error: None,
        version: None,
        limits: None,
        peer,
        leftover: Some(left),
        frames: None,
        dbus: Some(DbusOutcome {
            mechanism,
            guid: GUID_HEX.to_owned(),
            unix_fd,
        }),
    }
}

/// The server authenticated the client by EXTERNAL: socket and message
/// credentials agree (source both).
fn external_ok(unix_fd: bool, left: Leftover) -> Expected {
    done(
        DbusMechanism::External,
        unix_fd,
        peer(CLIENT, "both", None),
        left,
    )
}

/// The client is in (a client learns nothing about the server's identity).
fn client_ok(mechanism: DbusMechanism, unix_fd: bool, left: Leftover) -> Expected {
    done(mechanism, unix_fd, None, left)
}

// ---- events ----

/// A read carrying the client's credentials (`SO_PASSCRED` labels every read).
fn rc(bytes: &[u8]) -> Event {
    rdc(bytes, CLIENT)
}

/// The NUL byte and `AUTH EXTERNAL <hex(1000)>`, as one read with credentials.
fn nul_auth() -> Event {
    rc(&cat(b"\0", &line(&format!("AUTH EXTERNAL {UID_1000}"))))
}

fn cat(a: &[u8], b: &[u8]) -> Vec<u8> {
    [a, b].concat()
}

/// A line of `n` printable bytes starting with `prefix`, without `\r\n`.
fn long_line(prefix: &[u8], n: usize) -> Vec<u8> {
    let mut v = prefix.to_vec();
    v.resize(n, b'A');
    v
}

// ============================================================== client

fn dc(config: Config, name: &str, comment: &str) -> Draft {
    Draft::new(Role::DbusClient, config, name, comment)
}

/// The client's first output: the NUL byte and `AUTH`, with its credentials.
fn auth_out(auth: &str) -> Event {
    out_creds(&cat(b"\0", &line(auth)))
}

fn auth_1000() -> Event {
    auth_out(&format!("AUTH EXTERNAL {UID_1000}"))
}

/// Client cases: tcIds 6001 on.
pub(super) fn client_cases() -> Vec<Draft> {
    let ext = DbusMechanism::External;
    let no_fd = ccfg(client_config(ext, Some(1000), false));
    let no_uid = ccfg(client_config(ext, None, true));
    let anonymous = ccfg(client_config(DbusMechanism::Anonymous, None, true));
    let mut require = client_config(ext, Some(1000), true);
    require.require_unix_fd = true;
    let require = ccfg(require);
    let rejected = |name: &str, comment: &str, cfg: Config, events: Vec<Event>| {
        dc(cfg, name, comment)
            .flags(&["Sasl"])
            .events(events)
            .expect(fail("dbus_rejected"))
    };
    let after_ok = |name: &str, comment: &str, reply: &[u8], code: &str, flags: &[&str]| {
        dc(external(), name, comment)
            .flags(flags)
            .events(vec![
                auth_1000(),
                rd0(&ok_line()),
                out(&line("NEGOTIATE_UNIX_FD")),
                rd0(reply),
            ])
            .expect(fail(code))
    };
    let first_reply = |name: &str, comment: &str, reply: &[u8], code: &str, flags: &[&str]| {
        dc(external(), name, comment)
            .flags(flags)
            .events(vec![auth_1000(), rd0(reply)])
            .expect(fail(code))
    };
    vec![
        // ---- successful exchanges, byte for byte ----
        dc(external(), "external-unix-fd", "What our client exchanged with dbus-daemon (docs/DBUS.md, interop test 1): the NUL byte and AUTH EXTERNAL hex(\"1000\") in one write with SCM_CREDENTIALS, OK <guid>, NEGOTIATE_UNIX_FD, AGREE_UNIX_FD, BEGIN.")
            .flags(&["Canonical", "UnixFd"])
            .events(vec![
                auth_1000(),
                rd0(&ok_line()),
                out(&line("NEGOTIATE_UNIX_FD")),
                rd0(&line("AGREE_UNIX_FD")),
                out(&line("BEGIN")),
            ])
            .expect(client_ok(ext, true, nothing())),
        dc(no_fd.clone(), "external-no-unix-fd", "Without fd passing: BEGIN follows OK at once.")
            .flags(&["Canonical"])
            .events(vec![auth_1000(), rd0(&ok_line()), out(&line("BEGIN"))])
            .expect(client_ok(ext, false, nothing())),
        dc(no_fd.clone(), "guid-upper-case", "The guid is hex digits of either case; the client reports it in lower case.")
            .flags(&["Sasl"])
            .events(vec![
                auth_1000(),
                rd0(&line(&format!("OK {}", GUID_HEX.to_ascii_uppercase()))),
                out(&line("BEGIN")),
            ])
            .expect(client_ok(ext, false, nothing())),
        dc(no_uid.clone(), "external-empty-data", "EXTERNAL without an initial response: the server's empty DATA challenge is answered with an empty DATA (\"whatever the kernel says I am\"), then OK.")
            .flags(&["Canonical", "Sasl"])
            .events(vec![
                auth_out("AUTH EXTERNAL"),
                rd0(&line("DATA")),
                out(&line("DATA")),
                rd0(&ok_line()),
                out(&line("NEGOTIATE_UNIX_FD")),
                rd0(&line("AGREE_UNIX_FD")),
                out(&line("BEGIN")),
            ])
            .expect(client_ok(ext, true, nothing())),
        dc(anonymous.clone(), "anonymous", "AUTH ANONYMOUS without trace information; the server says OK.")
            .flags(&["Canonical", "Sasl"])
            .events(vec![
                auth_out("AUTH ANONYMOUS"),
                rd0(&ok_line()),
                out(&line("NEGOTIATE_UNIX_FD")),
                rd0(&line("AGREE_UNIX_FD")),
                out(&line("BEGIN")),
            ])
            .expect(client_ok(DbusMechanism::Anonymous, true, nothing())),
        dc(external(), "unix-fd-refused-goes-on", "The server answers NEGOTIATE_UNIX_FD with ERROR: a client that does not require fds sends BEGIN without them.")
            .flags(&["UnixFd"])
            .events(vec![
                auth_1000(),
                rd0(&ok_line()),
                out(&line("NEGOTIATE_UNIX_FD")),
                rd0(&line("ERROR \"fd passing refused\"")),
                out(&line("BEGIN")),
            ])
            .expect(client_ok(ext, false, nothing())),
        dc(require.clone(), "unix-fd-refused-required", "The server refuses fd passing and the client requires it: dbus_unix_fd_refused, no BEGIN.")
            .flags(&["UnixFd"])
            .events(vec![
                auth_1000(),
                rd0(&ok_line()),
                out(&line("NEGOTIATE_UNIX_FD")),
                rd0(&line("ERROR")),
            ])
            .expect(fail("dbus_unix_fd_refused")),
        dc(require, "unix-fd-agreed-required", "A client requiring fds gets AGREE_UNIX_FD.")
            .flags(&["UnixFd"])
            .events(vec![
                auth_1000(),
                rd0(&ok_line()),
                out(&line("NEGOTIATE_UNIX_FD")),
                rd0(&line("AGREE_UNIX_FD")),
                out(&line("BEGIN")),
            ])
            .expect(client_ok(ext, true, nothing())),
        // ---- leftover and EOF after the end ----
        dc(external(), "bytes-after-agree", "Bytes after the last line the client expects are not part of the authentication: they are the leftover, never consumed.")
            .flags(&["AfterBegin"])
            .events(vec![
                auth_1000(),
                rd0(&ok_line()),
                out(&line("NEGOTIATE_UNIX_FD")),
                rd0(&cat(&line("AGREE_UNIX_FD"), MESSAGE)),
                out(&line("BEGIN")),
            ])
            .expect(client_ok(ext, true, left(MESSAGE, &[], false))),
        dc(no_fd.clone(), "eof-after-ok", "The server closes right after OK: the authentication is over (BEGIN is sent); the EOF belongs to the connection.")
            .flags(&["AfterBegin", "Eof"])
            .events(vec![
                auth_1000(),
                rd0(&ok_line()),
                out(&line("BEGIN")),
                eof(),
            ])
            .expect(client_ok(ext, false, left(b"", &[], true))),
        // ---- refusals ----
        rejected("rejected", "REJECTED with the server's mechanism list: the client does not try another mechanism (docs/DBUS.md), it fails with dbus_rejected.", external(), vec![
            auth_1000(),
            rd0(&line("REJECTED EXTERNAL ANONYMOUS")),
        ]),
        rejected("rejected-empty-list", "REJECTED with no mechanism at all.", external(), vec![
            auth_1000(),
            rd0(&line("REJECTED")),
        ]),
        rejected("data-challenge-cancel", "A non-empty DATA challenge EXTERNAL cannot answer: the client sends CANCEL, the server REJECTED.", external(), vec![
            auth_1000(),
            rd0(&line("DATA 6368616c6c656e6765")),
            out(&line("CANCEL")),
            rd0(&line("REJECTED EXTERNAL")),
        ]),
        rejected("data-with-initial-response-cancel", "An empty DATA after the client already gave its uid: nothing to answer, so CANCEL (only a client without an initial response answers DATA).", external(), vec![
            auth_1000(),
            rd0(&line("DATA")),
            out(&line("CANCEL")),
            rd0(&line("REJECTED EXTERNAL")),
        ]),
        rejected("second-data-cancel", "A second empty DATA after the client's DATA: CANCEL, then REJECTED.", no_uid.clone(), vec![
            auth_out("AUTH EXTERNAL"),
            rd0(&line("DATA")),
            out(&line("DATA")),
            rd0(&line("DATA")),
            out(&line("CANCEL")),
            rd0(&line("REJECTED EXTERNAL")),
        ]),
        rejected("error-cancel", "ERROR in answer to AUTH: the client cancels; the server's REJECTED ends it.", external(), vec![
            auth_1000(),
            rd0(&line("ERROR \"Unknown command\"")),
            out(&line("CANCEL")),
            rd0(&line("REJECTED EXTERNAL")),
        ]),
        dc(external(), "ok-after-cancel", "After CANCEL only REJECTED may come; an OK is an unexpected reply.")
            .flags(&["Sasl"])
            .events(vec![
                auth_1000(),
                rd0(&line("ERROR")),
                out(&line("CANCEL")),
                rd0(&ok_line()),
            ])
            .expect(fail("dbus_unexpected_reply")),
        // ---- malformed replies ----
        first_reply("bad-guid-short", "OK with a guid of 4 hex digits instead of 32.", &line("OK 0123"), "dbus_bad_guid", &["Malformed"]),
        first_reply("bad-guid-missing", "OK without a guid.", &line("OK"), "dbus_bad_guid", &["Malformed"]),
        first_reply("bad-guid-not-hex", "OK with 32 characters that are not all hex digits.", &line("OK 0123456789abcdef0123456789abcdeg"), "dbus_bad_guid", &["Malformed"]),
        first_reply("unknown-command", "A line the client cannot expect (garbage): dbus_unexpected_reply (the client sends no ERROR).", &line("HELLO THERE"), "dbus_unexpected_reply", &["Malformed"]),
        first_reply("agree-before-ok", "AGREE_UNIX_FD before OK.", &line("AGREE_UNIX_FD"), "dbus_unexpected_reply", &["Malformed"]),
        after_ok("rejected-after-negotiate", "REJECTED in answer to NEGOTIATE_UNIX_FD.", &line("REJECTED EXTERNAL"), "dbus_unexpected_reply", &["Malformed", "UnixFd"]),
        after_ok("ok-twice", "A second OK in answer to NEGOTIATE_UNIX_FD.", &ok_line(), "dbus_unexpected_reply", &["Malformed", "UnixFd"]),
        first_reply("control-byte", "A byte that is not printable ASCII inside a line.", b"OK \x01\r\n", "dbus_bad_line", &["Malformed"]),
        first_reply("non-ascii", "UTF-8 is not printable ASCII.", b"REJECTED \xc3\xa9\r\n", "dbus_bad_line", &["Malformed"]),
        first_reply("cr-without-lf", "\\r not followed by \\n.", b"OK\rX\n", "dbus_bad_line", &["Malformed"]),
        first_reply("bare-lf", "A line ended by \\n alone.", b"OK\n", "dbus_bad_line", &["Malformed"]),
        first_reply("overlong-line", "A line of 16 KiB + 1 bytes with no end in sight: dbus_line_too_long as soon as the bound is passed.", &long_line(b"REJECTED ", MAX_LINE + 1), "dbus_line_too_long", &["Malformed", "Bounds"]),
        // ---- ancillary data ----
        dc(external(), "fds", "Fds arrive with the server's OK: dbus_fds, and they are closed.")
            .flags(&["FdsClosed"])
            .events(vec![auth_1000(), rdf(&ok_line(), &["fd1", "fd2"])])
            .expect(fail("dbus_fds")),
        dc(external(), "ctrunc", "MSG_CTRUNC on a read of the authentication.")
            .flags(&["Malformed"])
            .events(vec![
                auth_1000(),
                rd(Input {
                    ctrunc: true,
                    ..input(&ok_line())
                }),
            ])
            .expect(fail("dbus_control_truncated")),
        // ---- EOF at each point ----
        dc(external(), "eof-before-reply", "The server closes before answering AUTH.")
            .flags(&["Eof"])
            .events(vec![auth_1000(), eof()])
            .expect(fail("dbus_eof")),
        dc(external(), "eof-mid-line", "The server closes inside its OK line.")
            .flags(&["Eof"])
            .events(vec![auth_1000(), rd0(b"OK 0123456789"), eof()])
            .expect(fail("dbus_eof")),
        dc(external(), "eof-before-agree", "The server closes instead of answering NEGOTIATE_UNIX_FD.")
            .flags(&["Eof", "UnixFd"])
            .events(vec![
                auth_1000(),
                rd0(&ok_line()),
                out(&line("NEGOTIATE_UNIX_FD")),
                eof(),
            ])
            .expect(fail("dbus_eof")),
        dc(external(), "eof-after-cancel", "The server closes instead of answering CANCEL.")
            .flags(&["Eof", "Sasl"])
            .events(vec![
                auth_1000(),
                rd0(&line("ERROR")),
                out(&line("CANCEL")),
                eof(),
            ])
            .expect(fail("dbus_eof")),
        dc(no_uid, "eof-after-data", "The server closes after the client's DATA.")
            .flags(&["Eof", "Sasl"])
            .events(vec![
                auth_out("AUTH EXTERNAL"),
                rd0(&line("DATA")),
                out(&line("DATA")),
                eof(),
            ])
            .expect(fail("dbus_eof")),
        // ---- the caller ----
        dc(external(), "eof-after-failure", "Errors are sticky: once the client failed (EOF before a reply), reporting EOF again returns that same error, dbus_eof.")
            .flags(&["ApiMisuse", "Eof"])
            .events(vec![
                auth_1000(),
                eof(),
                misuse(MisuseCall::ReceiveEof, Some("dbus_eof")),
            ])
            .expect(fail("dbus_eof")),
        dc(no_fd.clone(), "eof-after-done", "Reporting EOF to a client that is done is the caller's error unexpected_input (the connection's reads are the caller's own after BEGIN); errors are sticky, so finish reports it too.")
            .flags(&["ApiMisuse"])
            .events(vec![
                auth_1000(),
                rd0(&ok_line()),
                out(&line("BEGIN")),
                misuse(MisuseCall::ReceiveEof, Some("unexpected_input")),
            ])
            .expect(fail("unexpected_input")),
        dc(anonymous, "incomplete", "The events end while the client waits for OK: finish is not_finished.")
            .flags(&["Incomplete"])
            .events(vec![auth_out("AUTH ANONYMOUS")])
            .expect(fail("not_finished")),
    ]
}

// ============================================================== server

fn ds(config: Config, name: &str, comment: &str) -> Draft {
    Draft::new(Role::DbusServer, config, name, comment)
}

fn d(name: &str, comment: &str) -> Draft {
    ds(scfg(), name, comment)
}

/// `REJECTED` as the default server sends it.
fn rejected_line() -> Vec<u8> {
    line("REJECTED EXTERNAL")
}

fn unknown() -> Vec<u8> {
    line("ERROR \"Unknown command\"")
}

/// A rejected EXTERNAL attempt, then the client hangs up: the failure is
/// the rejection's reason.
fn rejected_then_eof(name: &str, comment: &str, cfg: Config, first: Event, code: &str) -> Draft {
    ds(cfg, name, comment)
        .flags(&["NulCredentials", "Eof"])
        .events(vec![first, out(&rejected_line()), eof()])
        .expect(fail(code))
}

/// The rest of a successful exchange after `OK`: `BEGIN` alone.
/// `events`, then the client's `AUTH EXTERNAL` for uid 1000, answered
/// `OK`, and `BEGIN`: a case that recovers and then succeeds.
fn then_auth_ok(mut events: Vec<Event>) -> Vec<Event> {
    events.extend([
        rc(&line(&format!("AUTH EXTERNAL {UID_1000}"))),
        out(&ok_line()),
        begin(),
    ]);
    events
}

fn begin() -> Event {
    rc(&line("BEGIN"))
}

/// Server cases: tcIds 7001 on.
pub(super) fn server_cases() -> Vec<Draft> {
    let no_fd = {
        let mut c = server_config();
        c.unix_fd = false;
        scfg_with(c, Some(CLIENT), MessageCreds::Required)
    };
    let anon = {
        let mut c = server_config();
        c.allow_anonymous = true;
        scfg_with(c, Some(CLIENT), MessageCreds::Required)
    };
    let fatal = |name: &str, comment: &str, bytes: &[u8], code: &str| {
        d(name, comment)
            .flags(&["Malformed"])
            .events(vec![rc(bytes)])
            .expect(fail(code))
    };
    let mut v = vec![
        // ---- successful exchanges, byte for byte ----
        d("libdbus", "What dbus-send (libdbus) sent our server (docs/DBUS.md, interop test 2): the NUL byte with SCM_CREDENTIALS, AUTH EXTERNAL hex(\"1000\"), NEGOTIATE_UNIX_FD after OK, BEGIN after AGREE_UNIX_FD, and its first message in the same read as BEGIN: the message is the leftover, byte for byte.")
            .flags(&["Canonical", "AfterBegin", "UnixFd"])
            .events(vec![
                rc(b"\0"),
                rc(&line(&format!("AUTH EXTERNAL {UID_1000}"))),
                out(&ok_line()),
                rc(&line("NEGOTIATE_UNIX_FD")),
                out(&line("AGREE_UNIX_FD")),
                rc(&cat(&line("BEGIN"), MESSAGE)),
            ])
            .expect(external_ok(true, left(MESSAGE, &[], false))),
        d("no-unix-fd", "AUTH EXTERNAL with the right uid, OK, BEGIN: no fd passing.")
            .flags(&["Canonical"])
            .events(vec![nul_auth(), out(&ok_line()), begin()])
            .expect(external_ok(false, nothing())),
        d("pipelined", "The whole client side in one read: every line is answered in order, BEGIN ends it, the rest is the leftover.")
            .flags(&["AfterBegin", "UnixFd"])
            .events(vec![
                rc(&[
                    &b"\0"[..],
                    &line(&format!("AUTH EXTERNAL {UID_1000}")),
                    &line("NEGOTIATE_UNIX_FD"),
                    &line("BEGIN"),
                    MESSAGE,
                ]
                .concat()),
                out(&cat(&ok_line(), &line("AGREE_UNIX_FD"))),
            ])
            .expect(external_ok(true, left(MESSAGE, &[], false))),
        d("extra-bytes-after-begin", "D-Bus's extra-bytes script: bytes after BEGIN, in its read and in later reads, fds of a later read, then EOF, all belong to the connection; the authentication consumes none.")
            .flags(&["AfterBegin", "Eof"])
            .events(vec![
                nul_auth(),
                out(&ok_line()),
                rc(&cat(&line("BEGIN"), b"\r\nAUTH EXTERNAL")),
                rdf(MESSAGE, &["fd1"]),
                eof(),
            ])
            .expect(external_ok(
                false,
                left(&cat(b"\r\nAUTH EXTERNAL", MESSAGE), &["fd1"], true),
            )),
        d("begin-byte-then-eof", "The whole authentication and one byte of the first message in one read, then EOF: BEGIN succeeds, the byte and the EOF are the leftover.")
            .flags(&["AfterBegin", "Eof"])
            .events(vec![
                rc(&cat(&[&b"\0"[..], &line(&format!("AUTH EXTERNAL {UID_1000}"))].concat(), &cat(&line("BEGIN"), b"l"))),
                out(&ok_line()),
                eof(),
            ])
            .expect(external_ok(false, left(b"l", &[], true))),
        d("external-empty-data", "AUTH EXTERNAL without a response: the server sends an empty DATA challenge; the client's empty DATA means \"the uid the kernel saw\": OK.")
            .flags(&["Canonical", "Sasl"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH EXTERNAL"))),
                out(&line("DATA")),
                rc(&line("DATA")),
                out(&ok_line()),
                begin(),
            ])
            .expect(external_ok(false, nothing())),
        d("external-data-uid", "AUTH EXTERNAL without a response, then the uid in DATA.")
            .flags(&["Sasl"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH EXTERNAL"))),
                out(&line("DATA")),
                rc(&line(&format!("DATA {UID_1000}"))),
                out(&ok_line()),
                begin(),
            ])
            .expect(external_ok(false, nothing())),
        d("external-empty-initial-response", "AUTH EXTERNAL followed by a space and an empty initial response: an empty response is \"the uid the kernel saw\" (DBUS.md); OK at once, no DATA round.")
            .flags(&["Sasl"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH EXTERNAL "))),
                out(&ok_line()),
                begin(),
            ])
            .expect(external_ok(false, nothing()))
            .acceptable(),
        ds(anon.clone(), "anonymous", "ANONYMOUS offered and used: OK, no peer credentials reported.")
            .flags(&["Canonical", "Sasl"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH ANONYMOUS"))),
                out(&ok_line()),
                begin(),
            ])
            .expect(done(DbusMechanism::Anonymous, false, None, nothing())),
        ds(anon.clone(), "anonymous-trace", "ANONYMOUS with trace information (hex of \"trace\", RFC 4505): ignored, OK.")
            .flags(&["Sasl"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH ANONYMOUS 7472616365"))),
                out(&ok_line()),
                begin(),
            ])
            .expect(done(DbusMechanism::Anonymous, false, None, nothing())),
        ds(anon, "anonymous-offered-rejected-lists-it", "A server offering ANONYMOUS lists it in REJECTED.")
            .flags(&["Sasl", "Eof"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH KERBEROS_V4"))),
                out(&line("REJECTED EXTERNAL ANONYMOUS")),
                eof(),
            ])
            .expect(fail("dbus_mechanism_rejected")),
        // ---- mechanisms ----
        d("anonymous-not-offered", "ANONYMOUS when the server does not offer it: REJECTED EXTERNAL; the client hangs up: dbus_mechanism_rejected.")
            .flags(&["Sasl", "Eof"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH ANONYMOUS"))),
                out(&rejected_line()),
                eof(),
            ])
            .expect(fail("dbus_mechanism_rejected")),
        d("unknown-mechanism", "An unknown mechanism is rejected with the list of the supported ones.")
            .flags(&["Sasl", "Eof"])
            .events(vec![
                rc(&cat(b"\0", &line(&format!("AUTH DBUS_COOKIE_SHA1 {UID_1000}")))),
                out(&rejected_line()),
                eof(),
            ])
            .expect(fail("dbus_mechanism_rejected")),
        d("mechanisms-then-external", "D-Bus's mechanisms script: AUTH without a mechanism asks for the list (REJECTED EXTERNAL), then EXTERNAL succeeds; the failure count does not matter below the bound.")
            .flags(&["Sasl"])
            .events(then_auth_ok(vec![
                rc(&cat(b"\0", &line("AUTH"))),
                out(&rejected_line()),
            ]))
            .expect(external_ok(false, nothing())),
        // ---- CANCEL and ERROR ----
        d("cancel-in-data", "D-Bus's cancel script: CANCEL while waiting for DATA: REJECTED, back to waiting for AUTH; then EXTERNAL succeeds.")
            .flags(&["Sasl"])
            .events(then_auth_ok(vec![
                rc(&cat(b"\0", &line("AUTH EXTERNAL"))),
                out(&line("DATA")),
                rc(&line("CANCEL")),
                out(&rejected_line()),
            ]))
            .expect(external_ok(false, nothing())),
        d("cancel-after-ok-forgets-fds", "CANCEL after OK and AGREE_UNIX_FD: REJECTED, back to waiting for AUTH, and the fd agreement is forgotten.")
            .flags(&["Sasl", "UnixFd"])
            .events(then_auth_ok(vec![
                nul_auth(),
                out(&ok_line()),
                rc(&line("NEGOTIATE_UNIX_FD")),
                out(&line("AGREE_UNIX_FD")),
                rc(&line("CANCEL")),
                out(&rejected_line()),
            ]))
            .expect(external_ok(false, nothing())),
        d("cancel-before-auth", "CANCEL while waiting for AUTH is not a command of that state: ERROR, same state.")
            .flags(&["Sasl", "ErrorText"])
            .events(then_auth_ok(vec![
                rc(&cat(b"\0", &line("CANCEL"))),
                out(&unknown()),
            ]))
            .expect(external_ok(false, nothing())),
        d("error-before-auth", "ERROR from the client while waiting for AUTH: REJECTED; the client hangs up: dbus_mechanism_rejected.")
            .flags(&["Sasl", "Eof"])
            .events(vec![
                rc(&cat(b"\0", &line("ERROR \"no idea\""))),
                out(&rejected_line()),
                eof(),
            ])
            .expect(fail("dbus_mechanism_rejected")),
        d("error-in-data", "ERROR while waiting for DATA: REJECTED.")
            .flags(&["Sasl", "Eof"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH EXTERNAL"))),
                out(&line("DATA")),
                rc(&line("ERROR")),
                out(&rejected_line()),
                eof(),
            ])
            .expect(fail("dbus_mechanism_rejected")),
        // ---- garbage lines ----
        d("unknown-command", "D-Bus's invalid-command script: an unknown command is answered with ERROR and the state stays; the exchange then succeeds.")
            .flags(&["Malformed", "ErrorText"])
            .events(then_auth_ok(vec![
                rc(&cat(b"\0", &line("NONEXISTENT_COMMAND"))),
                out(&unknown()),
            ]))
            .expect(external_ok(false, nothing())),
        d("auth-in-data", "AUTH while waiting for DATA is not a command of that state: ERROR.")
            .flags(&["Malformed", "ErrorText"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH EXTERNAL"))),
                out(&line("DATA")),
                rc(&line(&format!("AUTH EXTERNAL {UID_1000}"))),
                out(&unknown()),
                rc(&line("DATA")),
                out(&ok_line()),
                begin(),
            ])
            .expect(external_ok(false, nothing())),
        d("negotiate-before-ok", "NEGOTIATE_UNIX_FD before OK: ERROR (not a command of that state), no fds agreed.")
            .flags(&["Malformed", "ErrorText", "UnixFd"])
            .events(then_auth_ok(vec![
                rc(&cat(b"\0", &line("NEGOTIATE_UNIX_FD"))),
                out(&unknown()),
            ]))
            .expect(external_ok(false, nothing())),
        ds(no_fd, "unix-fd-refused", "A server without fd support answers NEGOTIATE_UNIX_FD with ERROR; BEGIN then authenticates without fds.")
            .flags(&["UnixFd", "ErrorText"])
            .events(vec![
                nul_auth(),
                out(&ok_line()),
                rc(&line("NEGOTIATE_UNIX_FD")),
                out(&line("ERROR \"fd passing refused\"")),
                begin(),
            ])
            .expect(external_ok(false, nothing())),
        fatal("not-nul", "The first byte is not NUL: dbus_nul_byte, no reply.", &line(&format!("AUTH EXTERNAL {UID_1000}")), "dbus_nul_byte"),
        fatal("control-byte", "A byte that is not printable ASCII: dbus_bad_line, no reply.", b"\0\x01\x02\r\n", "dbus_bad_line"),
        fatal("cr-without-lf", "\\r not followed by \\n.", b"\0AUTH\rX\n", "dbus_bad_line"),
        fatal("non-ascii", "UTF-8 in the response: not printable ASCII.", b"\0AUTH EXTERNAL \xc3\xa9\r\n", "dbus_bad_line"),
        fatal("second-nul", "A second NUL byte where a line starts: not printable ASCII.", b"\0\0AUTH EXTERNAL\r\n", "dbus_bad_line"),
        // ---- bounds ----
        d("overlong-line", "A line of 16 KiB + 1 bytes: dbus_line_too_long as soon as the bound is passed, no reply.")
            .flags(&["Malformed", "Bounds"])
            .events(vec![rc(&cat(b"\0", &long_line(b"AUTH ", MAX_LINE + 1)))])
            .expect(fail("dbus_line_too_long")),
        d("longest-line", "A line of exactly 16 KiB is read and answered (an unknown mechanism: REJECTED).")
            .flags(&["Bounds", "Eof"])
            .events(vec![
                rc(&[&b"\0"[..], &long_line(b"AUTH ", MAX_LINE), b"\r\n"].concat()),
                out(&rejected_line()),
                eof(),
            ])
            .expect(fail("dbus_mechanism_rejected")),
        d("too-many-failures", "Seven unknown commands: six ERROR answers, the seventh failure closes without a reply.")
            .flags(&["Bounds", "ErrorText"])
            .events(vec![
                rc(&cat(b"\0", &line("FOO").repeat(7))),
                out(&unknown().repeat(6)),
            ])
            .expect(fail("dbus_too_many_failures")),
        d("too-many-rejections", "Seven wrong uids: six REJECTED, the seventh closes without a reply.")
            .flags(&["Bounds", "NulCredentials"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH EXTERNAL 30").repeat(7))),
                out(&rejected_line().repeat(6)),
            ])
            .expect(fail("dbus_too_many_failures")),
        d("six-failures-then-ok", "Six failures are answered; the seventh attempt succeeds.")
            .flags(&["Bounds"])
            .events(then_auth_ok(vec![
                rc(&cat(b"\0", &line("AUTH EXTERNAL 30").repeat(6))),
                out(&rejected_line().repeat(6)),
            ]))
            .expect(external_ok(false, nothing())),
        // ---- BEGIN too early ----
        fatal("begin-first", "BEGIN before any AUTH: dbus_begin_unauthenticated, no reply.", b"\0BEGIN\r\n", "dbus_begin_unauthenticated"),
        d("begin-in-data", "BEGIN while waiting for DATA: dbus_begin_unauthenticated.")
            .flags(&["Malformed"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH EXTERNAL"))),
                out(&line("DATA")),
                begin(),
            ])
            .expect(fail("dbus_begin_unauthenticated")),
        d("begin-after-rejected", "BEGIN after REJECTED: dbus_begin_unauthenticated.")
            .flags(&["Malformed"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH EXTERNAL 30"))),
                out(&rejected_line()),
                begin(),
            ])
            .expect(fail("dbus_begin_unauthenticated")),
    ];
    v.extend(credential_cases());
    v.extend(ancillary_and_eof_cases());
    v
}

/// Who the client is: its claim against the kernel's credentials.
fn credential_cases() -> Vec<Draft> {
    let other = Creds {
        pid: 4242,
        uid: 1001,
        gid: 100,
    };
    vec![
        rejected_then_eof("wrong-uid", "D-Bus's external-failed script: the client claims uid 0, the kernel says 1000: REJECTED; the client hangs up: dbus_uid_mismatch.", scfg(), rc(&cat(b"\0", &line("AUTH EXTERNAL 30"))), "dbus_uid_mismatch"),
        ds(scfg(), "wrong-uid-in-data", "The wrong uid in DATA after an empty challenge: REJECTED, then dbus_uid_mismatch.")
            .flags(&["NulCredentials", "Eof", "Sasl"])
            .events(vec![
                rc(&cat(b"\0", &line("AUTH EXTERNAL"))),
                out(&line("DATA")),
                rc(&line("DATA 30")),
                out(&rejected_line()),
                eof(),
            ])
            .expect(fail("dbus_uid_mismatch")),
        d("wrong-uid-then-right", "A wrong uid, REJECTED, then the right one: OK.")
            .flags(&["NulCredentials"])
            .events(then_auth_ok(vec![
                rc(&cat(b"\0", &line("AUTH EXTERNAL 30"))),
                out(&rejected_line()),
            ]))
            .expect(external_ok(false, nothing())),
        rejected_then_eof("bad-response-not-digits", "D-Bus's external-silly script: the response is hex but not decimal digits (\"zz\"): REJECTED, then dbus_bad_response.", scfg(), rc(&cat(b"\0", &line("AUTH EXTERNAL 7a7a"))), "dbus_bad_response"),
        rejected_then_eof("bad-response-not-hex", "D-Bus's invalid-hex-encoding script: the response is not hex: REJECTED, then dbus_bad_response.", scfg(), rc(&cat(b"\0", &line("AUTH EXTERNAL 3g"))), "dbus_bad_response"),
        rejected_then_eof("bad-response-uid-overflow", "The uid 4294967296 does not fit 32 bits: REJECTED, then dbus_bad_response.", scfg(), rc(&cat(b"\0", &line("AUTH EXTERNAL 34323934393637323936"))), "dbus_bad_response"),
        rejected_then_eof("no-message-credentials", "The NUL byte's read carries no SCM_CREDENTIALS and the system requires them: EXTERNAL is REJECTED (not fatal at once, as dbus-daemon), then dbus_no_credentials.", scfg(), rd0(&cat(b"\0", &line(&format!("AUTH EXTERNAL {UID_1000}")))), "dbus_no_credentials"),
        ds(scfg(), "credentials-only-after-nul", "Only the read that brings the NUL byte counts: credentials on later reads do not help.")
            .flags(&["NulCredentials", "Eof"])
            .events(vec![
                rd0(b"\0"),
                rc(&line(&format!("AUTH EXTERNAL {UID_1000}"))),
                out(&rejected_line()),
                eof(),
            ])
            .expect(fail("dbus_no_credentials")),
        rejected_then_eof("no-credentials-at-all", "Neither socket nor message credentials: REJECTED, then dbus_no_credentials.", scfg_with(server_config(), None, MessageCreds::Unavailable), rd0(&cat(b"\0", &line(&format!("AUTH EXTERNAL {UID_1000}")))), "dbus_no_credentials"),
        rejected_then_eof("invisible-credentials", "Message credentials of a process the kernel cannot map (pid 0, overflow ids) count as absent: dbus_no_credentials.", scfg(), rdc(&cat(b"\0", &line("AUTH EXTERNAL 3635353334")), INVISIBLE), "dbus_no_credentials"),
        rejected_then_eof("credentials-mismatch", "Message credentials (uid 1001) differ from the socket's (uid 1000): REJECTED, then dbus_credentials_mismatch.", scfg(), rdc(&cat(b"\0", &line("AUTH EXTERNAL 31303031")), other), "dbus_credentials_mismatch"),
        ds(scfg_with(server_config(), Some(CLIENT), MessageCreds::Unavailable), "socket-credentials-alone", "Where messages carry no credentials (macOS), SO_PEERCRED alone decides: source socket.")
            .flags(&["NulCredentials"])
            .events(vec![
                rd0(&cat(b"\0", &line(&format!("AUTH EXTERNAL {UID_1000}")))),
                out(&ok_line()),
                rd0(&line("BEGIN")),
            ])
            .expect(done(
                DbusMechanism::External,
                false,
                peer(CLIENT, "socket", None),
                nothing(),
            )),
        ds(scfg_with(server_config(), None, MessageCreds::Required), "message-credentials-alone", "No SO_PEERCRED, but the NUL byte's read carries the client's credentials: source message.")
            .flags(&["NulCredentials"])
            .events(vec![nul_auth(), out(&ok_line()), begin()])
            .expect(done(
                DbusMechanism::External,
                false,
                peer(CLIENT, "message", None),
                nothing(),
            )),
        ds(scfg(), "anonymous-without-credentials-rejected", "ANONYMOUS not offered, no credentials: the mechanism decides first: dbus_mechanism_rejected.")
            .flags(&["NulCredentials", "Sasl", "Eof"])
            .events(vec![
                rd0(&cat(b"\0", &line("AUTH ANONYMOUS"))),
                out(&rejected_line()),
                eof(),
            ])
            .expect(fail("dbus_mechanism_rejected")),
    ]
}

/// Fds, MSG_CTRUNC, EOF at each point, and the caller.
fn ancillary_and_eof_cases() -> Vec<Draft> {
    vec![
        d("fds-with-nul", "Fds with the NUL byte: dbus_fds, closed, no reply.")
            .flags(&["FdsClosed"])
            .events(vec![rdcf(&cat(b"\0", &line(&format!("AUTH EXTERNAL {UID_1000}"))), CLIENT, &["fd1"])])
            .expect(fail("dbus_fds")),
        d("fds-during-auth", "Fds with NEGOTIATE_UNIX_FD (fds are only for messages after BEGIN): dbus_fds, closed.")
            .flags(&["FdsClosed", "UnixFd"])
            .events(vec![nul_auth(), out(&ok_line()), rdcf(&line("NEGOTIATE_UNIX_FD"), CLIENT, &["fd1", "fd2"])])
            .expect(fail("dbus_fds")),
        d("fds-with-begin", "A first message with fds in the same read as BEGIN: the fds arrive with the read's first byte, which is BEGIN's: dbus_fds (libdbus writes BEGIN alone; docs/DBUS.md).")
            .flags(&["FdsClosed", "AfterBegin"])
            .events(vec![nul_auth(), out(&ok_line()), rdcf(&cat(&line("BEGIN"), MESSAGE), CLIENT, &["fd1"])])
            .expect(fail("dbus_fds"))
            .acceptable(),
        d("fds-after-begin", "Fds on the read after BEGIN belong to the connection: the leftover.")
            .flags(&["AfterBegin"])
            .events(vec![nul_auth(), out(&ok_line()), begin(), rdcf(MESSAGE, CLIENT, &["fd1"])])
            .expect(external_ok(false, left(MESSAGE, &["fd1"], false))),
        d("ctrunc", "MSG_CTRUNC on the NUL byte's read: dbus_control_truncated.")
            .flags(&["Malformed"])
            .events(vec![rd(Input {
                creds: Some(CLIENT),
                ctrunc: true,
                ..input(&cat(b"\0", &line(&format!("AUTH EXTERNAL {UID_1000}"))))
            })])
            .expect(fail("dbus_control_truncated")),
        d("ctrunc-later", "MSG_CTRUNC on a later read of the authentication.")
            .flags(&["Malformed"])
            .events(vec![
                nul_auth(),
                out(&ok_line()),
                rd(Input {
                    creds: Some(CLIENT),
                    ctrunc: true,
                    ..input(&line("BEGIN"))
                }),
            ])
            .expect(fail("dbus_control_truncated")),
        d("eof-first", "EOF before the NUL byte: dbus_eof.")
            .flags(&["Eof"])
            .events(vec![eof()])
            .expect(fail("dbus_eof")),
        d("eof-after-nul", "EOF right after the NUL byte.")
            .flags(&["Eof"])
            .events(vec![rc(b"\0"), eof()])
            .expect(fail("dbus_eof")),
        d("eof-mid-line", "EOF inside the AUTH line.")
            .flags(&["Eof"])
            .events(vec![rc(b"\0AUTH EXT"), eof()])
            .expect(fail("dbus_eof")),
        d("eof-in-data", "EOF while waiting for DATA.")
            .flags(&["Eof", "Sasl"])
            .events(vec![rc(&cat(b"\0", &line("AUTH EXTERNAL"))), out(&line("DATA")), eof()])
            .expect(fail("dbus_eof")),
        d("eof-before-begin", "EOF after OK, before BEGIN.")
            .flags(&["Eof"])
            .events(vec![nul_auth(), out(&ok_line()), eof()])
            .expect(fail("dbus_eof")),
        d("eof-after-error", "EOF after an ERROR answer (not a rejection): dbus_eof.")
            .flags(&["Eof", "ErrorText"])
            .events(vec![rc(&cat(b"\0", &line("FOO"))), out(&unknown()), eof()])
            .expect(fail("dbus_eof")),
        d("eof-after-begin", "EOF after BEGIN: authenticated, the EOF belongs to the connection.")
            .flags(&["Eof", "AfterBegin"])
            .events(vec![nul_auth(), out(&ok_line()), begin(), eof()])
            .expect(external_ok(false, left(b"", &[], true))),
        d("eof-after-failure", "Errors are sticky: once the server failed (EOF before the NUL byte), reporting EOF again returns that same error, dbus_eof.")
            .flags(&["ApiMisuse", "Eof"])
            .events(vec![eof(), misuse(MisuseCall::ReceiveEof, Some("dbus_eof"))])
            .expect(fail("dbus_eof")),
        d("eof-after-done", "Reporting EOF to a server that is done is the caller's error unexpected_input; errors are sticky, so finish reports it too.")
            .flags(&["ApiMisuse"])
            .events(vec![
                nul_auth(),
                out(&ok_line()),
                begin(),
                misuse(MisuseCall::ReceiveEof, Some("unexpected_input")),
            ])
            .expect(fail("unexpected_input")),
        d("incomplete", "The events end while the server waits for BEGIN: finish is not_finished.")
            .flags(&["Incomplete"])
            .events(vec![nul_auth(), out(&ok_line())])
            .expect(fail("not_finished")),
        d("eof-after-ok-pipelined-agree", "OK and AGREE_UNIX_FD answered from one read, then EOF before BEGIN.")
            .flags(&["Eof", "UnixFd"])
            .events(vec![
                rc(&[&b"\0"[..], &line(&format!("AUTH EXTERNAL {UID_1000}")), &line("NEGOTIATE_UNIX_FD")].concat()),
                out(&cat(&ok_line(), &line("AGREE_UNIX_FD"))),
                eof(),
            ])
            .expect(fail("dbus_eof")),
    ]
}
