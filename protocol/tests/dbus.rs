//! The D-Bus authentication profile: every transition of both sides and
//! every `dbus_` code, with input delivered whole and one byte per read.

use std::collections::BTreeSet;

use mon_ipc::dbus::{
    ClientAuth, ClientConfig, ClientMechanism, DbusError, Error, Mechanism, ServerAuth,
    ServerConfig,
};
use mon_ipc::{
    Ancillary, Attach, CredentialPolicy, ErrorCode, Handshake, MessageCredentials,
    SocketCredentials, Step, Ucred, UsageError,
};

const ME: Ucred = Ucred::known(42, 1000, 1000);
const GUID: [u8; 16] = [0xa5; 16];
const GUID_HEX: &str = "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5";
const SERVER_GUID: &str = "0123456789abcdef0123456789ABCDEF";

/// Delivery: whole, or one byte per read.
const CHUNKS: [usize; 2] = [usize::MAX, 1];

fn ok_line() -> String {
    format!("OK {GUID_HEX}\r\n")
}

fn server_with(config: ServerConfig) -> ServerAuth<u32> {
    ServerAuth::new(config, SocketCredentials::new(ME))
}

fn server() -> ServerAuth<u32> {
    server_with(ServerConfig::new(GUID))
}

/// Runs the server over `input` in reads of `chunk` bytes, each carrying
/// `creds`; returns its output, the last step, and how many bytes it read.
fn run_server(
    s: &mut ServerAuth<u32>,
    input: &[u8],
    chunk: usize,
    creds: Option<Ucred>,
) -> (Vec<u8>, Step<Error>, usize) {
    let mut out = Vec::new();
    let mut fed = 0;
    loop {
        match s.step(&mut out) {
            Step::Send(a) => assert_eq!(a, Attach::Nothing),
            Step::NeedInput if fed < input.len() => {
                let n = chunk.min(input.len() - fed);
                let anc = Ancillary {
                    creds,
                    ..Ancillary::default()
                };
                let _ = s.receive(&input[fed..fed + n], anc);
                fed += n;
            }
            step => return (out, step, fed),
        }
    }
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap()
}

fn server_code(s: &ServerAuth<u32>) -> &'static str {
    s.error().expect("failed").code()
}

// ---------------------------------------------------------------- server

#[test]
fn server_external_with_fds_and_leftover() {
    let input = b"\0AUTH EXTERNAL 31303030\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\nl\x01\x00\x01rest";
    let after_begin = input.len() - 8;
    for chunk in CHUNKS {
        let mut s = server();
        assert_eq!(s.state(), "await_nul");
        let (out, step, fed) = run_server(&mut s, input, chunk, Some(ME));
        assert_eq!(step, Step::Done);
        assert_eq!(s.state(), "done");
        assert_eq!(text(&out), format!("{}AGREE_UNIX_FD\r\n", ok_line()));
        let a = s.finish().unwrap();
        assert_eq!(a.mechanism, Mechanism::External);
        assert!(a.unix_fd);
        assert_eq!(a.guid, GUID_HEX);
        assert_eq!(a.peer.unwrap().uid(), Some(1000));
        // Every byte read after BEGIN\r\n, none consumed, none dropped.
        assert_eq!(a.leftover.bytes, &input[after_begin..fed]);
        assert!(!a.leftover.eof);
        if chunk == usize::MAX {
            assert_eq!(a.leftover.bytes, b"l\x01\x00\x01rest");
        }
    }
}

#[test]
fn server_states_in_order() {
    let mut s = server();
    let mut out = Vec::new();
    let mut seen = vec![s.state()];
    for line in [
        &b"\0AUTH EXTERNAL\r\n"[..],
        b"DATA\r\n",
        b"NEGOTIATE_UNIX_FD\r\n",
        b"BEGIN\r\n",
    ] {
        s.receive(line, Ancillary::with_creds(ME)).unwrap();
        while let Step::Send(_) = s.step(&mut out) {}
        seen.push(s.state());
    }
    assert_eq!(
        seen,
        [
            "await_nul",
            "waiting_for_data",
            "waiting_for_begin",
            "waiting_for_begin",
            "done"
        ]
    );
    assert_eq!(
        text(&out),
        format!("DATA\r\n{}AGREE_UNIX_FD\r\n", ok_line())
    );
    let mut f = server();
    f.receive(b"x", Ancillary::with_creds(ME)).unwrap_err();
    assert_eq!(f.state(), "failed");
    let all: BTreeSet<_> = seen
        .into_iter()
        .chain(["waiting_for_auth", "failed"])
        .collect();
    assert_eq!(all, ServerAuth::<u32>::STATES.iter().copied().collect());
}

#[test]
fn server_external_empty_response_and_data() {
    for (input, replies) in [
        (&b"\0AUTH EXTERNAL\r\nDATA\r\nBEGIN\r\n"[..], "DATA\r\n"),
        (b"\0AUTH EXTERNAL\r\nDATA 31303030\r\nBEGIN\r\n", "DATA\r\n"),
        (b"\0AUTH EXTERNAL \r\nBEGIN\r\n", ""),
    ] {
        for chunk in CHUNKS {
            let mut s = server();
            let (out, step, _) = run_server(&mut s, input, chunk, Some(ME));
            assert_eq!(step, Step::Done, "{input:?}");
            assert_eq!(text(&out), format!("{replies}{}", ok_line()));
            let a = s.finish().unwrap();
            assert!(!a.unix_fd);
            assert!(a.leftover.bytes.is_empty());
        }
    }
}

/// Input that ends in a rejection; then EOF gives the rejection's reason.
fn rejected(s: &mut ServerAuth<u32>, input: &[u8], creds: Option<Ucred>, reason: DbusError) {
    for chunk in CHUNKS {
        let mut fresh = ServerAuth::new(ServerConfig::new(GUID), SocketCredentials::new(ME));
        let t = if chunk == 1 { &mut fresh } else { &mut *s };
        let (out, step, _) = run_server(t, input, chunk, creds);
        assert_eq!(step, Step::NeedInput, "{input:?}");
        assert!(text(&out).ends_with("REJECTED EXTERNAL\r\n"), "{out:?}");
        assert_eq!(t.state(), "waiting_for_auth");
        assert_eq!(t.last_rejection(), Some(reason));
        t.receive_eof().unwrap();
        assert!(matches!(t.step(&mut Vec::new()), Step::Failed(_)));
        assert_eq!(server_code(t), reason.code());
        assert_eq!(t.error(), Some(Error::Peer(reason)));
    }
}

#[test]
fn server_rejects_wrong_uid() {
    rejected(
        &mut server(),
        b"\0AUTH EXTERNAL 30\r\n",
        Some(ME),
        DbusError::UidMismatch,
    );
    rejected(
        &mut server(),
        b"\0AUTH EXTERNAL\r\nDATA 31\r\n",
        Some(ME),
        DbusError::UidMismatch,
    );
}

#[test]
fn server_rejects_bad_response() {
    for input in [
        &b"\0AUTH EXTERNAL 3x\r\n"[..],
        b"\0AUTH EXTERNAL 313\r\n",
        b"\0AUTH EXTERNAL 41\r\n",
        b"\0AUTH EXTERNAL 3432393439363732393536\r\n",
    ] {
        rejected(&mut server(), input, Some(ME), DbusError::BadResponse);
    }
}

#[test]
fn server_rejects_unknown_mechanisms() {
    for input in [
        &b"\0AUTH KERBEROS_V4 00\r\n"[..],
        b"\0AUTH\r\n",
        b"\0AUTH ANONYMOUS\r\n",
        b"\0ERROR \"no\"\r\n",
    ] {
        rejected(&mut server(), input, Some(ME), DbusError::MechanismRejected);
    }
}

#[test]
fn server_rejects_missing_credentials() {
    rejected(
        &mut server(),
        b"\0AUTH EXTERNAL 31303030\r\n",
        None,
        DbusError::NoCredentials,
    );
    // No socket credentials either, and message credentials not required.
    for chunk in CHUNKS {
        let mut config = ServerConfig::new(GUID);
        config.policy = CredentialPolicy {
            message: MessageCredentials::Unavailable,
            ..CredentialPolicy::default()
        };
        let mut s = ServerAuth::<u32>::new(config, SocketCredentials::default());
        let (out, _, _) = run_server(&mut s, b"\0AUTH EXTERNAL\r\nDATA\r\n", chunk, None);
        assert_eq!(text(&out), "DATA\r\nREJECTED EXTERNAL\r\n");
        assert_eq!(s.last_rejection(), Some(DbusError::NoCredentials));
    }
}

#[test]
fn server_socket_credentials_alone_where_messages_carry_none() {
    let mut config = ServerConfig::new(GUID);
    config.policy.message = MessageCredentials::Unavailable;
    for chunk in CHUNKS {
        let mut s = server_with(config);
        let (_, step, _) = run_server(
            &mut s,
            b"\0AUTH EXTERNAL 31303030\r\nBEGIN\r\n",
            chunk,
            None,
        );
        assert_eq!(step, Step::Done);
        assert_eq!(s.finish().unwrap().peer.unwrap().uid(), Some(1000));
    }
}

#[test]
fn server_rejects_credentials_mismatch() {
    rejected(
        &mut server(),
        b"\0AUTH EXTERNAL 32303030\r\n",
        Some(Ucred::known(43, 2000, 2000)),
        DbusError::CredentialsMismatch,
    );
}

#[test]
fn server_only_the_nul_reads_credentials_count() {
    // Credentials on the NUL byte's read; later reads without them are fine.
    let mut s = server();
    s.receive(b"\0", Ancillary::with_creds(ME)).unwrap();
    s.receive(b"AUTH EXTERNAL 31303030\r\nBEGIN\r\n", Ancillary::default())
        .unwrap();
    let mut out = Vec::new();
    while let Step::Send(_) = s.step(&mut out) {}
    assert_eq!(s.state(), "done");
}

#[test]
fn server_anonymous_when_offered() {
    let mut config = ServerConfig::new(GUID);
    config.anonymous = true;
    for chunk in CHUNKS {
        let mut s = server_with(config);
        let (out, step, _) = run_server(
            &mut s,
            b"\0AUTH\r\nAUTH ANONYMOUS 74726163\r\nBEGIN\r\n",
            chunk,
            None,
        );
        assert_eq!(step, Step::Done);
        assert_eq!(
            text(&out),
            format!("REJECTED EXTERNAL ANONYMOUS\r\n{}", ok_line())
        );
        let a = s.finish().unwrap();
        assert_eq!(a.mechanism, Mechanism::Anonymous);
        assert!(a.peer.is_none());
    }
}

#[test]
fn server_cancel_error_and_unknown_commands() {
    let cases: &[(&[u8], &str, &str)] = &[
        // CANCEL after OK: back to waiting_for_auth, then a new AUTH.
        (
            b"\0AUTH EXTERNAL 31303030\r\nCANCEL\r\nAUTH EXTERNAL 31303030\r\n",
            "OK|REJECTED EXTERNAL|OK",
            "waiting_for_begin",
        ),
        // CANCEL while waiting for data.
        (
            b"\0AUTH EXTERNAL\r\nCANCEL\r\n",
            "DATA|REJECTED EXTERNAL",
            "waiting_for_auth",
        ),
        // ERROR while waiting for data or for BEGIN.
        (
            b"\0AUTH EXTERNAL\r\nERROR\r\n",
            "DATA|REJECTED EXTERNAL",
            "waiting_for_auth",
        ),
        (
            b"\0AUTH EXTERNAL 31303030\r\nERROR x\r\n",
            "OK|REJECTED EXTERNAL",
            "waiting_for_auth",
        ),
        // CANCEL, DATA, NEGOTIATE_UNIX_FD and nonsense while waiting for AUTH.
        (
            b"\0CANCEL\r\nDATA\r\nNEGOTIATE_UNIX_FD\r\nHELLO\r\n",
            "ERROR|ERROR|ERROR|ERROR",
            "waiting_for_auth",
        ),
        // AUTH while waiting for data or BEGIN; nonsense in both.
        (
            b"\0AUTH EXTERNAL\r\nAUTH EXTERNAL\r\nFOO\r\n",
            "DATA|ERROR|ERROR",
            "waiting_for_data",
        ),
        (
            b"\0AUTH EXTERNAL 31303030\r\nAUTH EXTERNAL\r\nDATA\r\n",
            "OK|ERROR|ERROR",
            "waiting_for_begin",
        ),
    ];
    for (input, replies, state) in cases {
        for chunk in CHUNKS {
            let mut s = server();
            let (out, step, _) = run_server(&mut s, input, chunk, Some(ME));
            assert_eq!(step, Step::NeedInput);
            let got: Vec<&str> = text(&out)
                .split_terminator("\r\n")
                .map(|l| match l.split_once(' ') {
                    Some(("OK", _)) => "OK",
                    Some(("ERROR", _)) => "ERROR",
                    _ => l,
                })
                .collect();
            assert_eq!(got.join("|"), *replies, "{input:?}");
            assert_eq!(s.state(), *state, "{input:?}");
        }
    }
}

#[test]
fn server_refuses_fd_passing_when_configured() {
    let mut config = ServerConfig::new(GUID);
    config.unix_fd = false;
    for chunk in CHUNKS {
        let mut s = server_with(config);
        let input = b"\0AUTH EXTERNAL 31303030\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n";
        let (out, step, _) = run_server(&mut s, input, chunk, Some(ME));
        assert_eq!(step, Step::Done);
        assert!(text(&out).ends_with("ERROR \"fd passing refused\"\r\n"));
        assert!(!s.finish().unwrap().unix_fd);
    }
}

#[test]
fn server_rejection_forgets_fd_agreement() {
    let input = b"\0AUTH EXTERNAL 31303030\r\nNEGOTIATE_UNIX_FD\r\nCANCEL\r\nAUTH EXTERNAL 31303030\r\nBEGIN\r\n";
    let mut s = server();
    let (_, step, _) = run_server(&mut s, input, 1, Some(ME));
    assert_eq!(step, Step::Done);
    assert!(!s.finish().unwrap().unix_fd);
}

/// Input after which the server fails at once, without a reply.
fn fatal(s: &mut ServerAuth<u32>, input: &[u8], code: DbusError) -> Vec<u8> {
    let (out, step, _) = run_server(s, input, usize::MAX, Some(ME));
    assert!(matches!(step, Step::Failed(_)), "{input:?}: {step:?}");
    assert_eq!(s.error(), Some(Error::Peer(code)), "{input:?}");
    assert_eq!(step, Step::Failed(Error::Peer(code)));
    // Sticky.
    assert!(matches!(s.step(&mut Vec::new()), Step::Failed(_)));
    assert!(s.receive(b"x", Ancillary::default()).is_err());
    assert_eq!(s.error(), Some(Error::Peer(code)));
    out
}

#[test]
fn server_fatal_errors() {
    let long = |n: usize| {
        let mut v = b"\0AUTH ".to_vec();
        v.resize(n + 1, b'A');
        v
    };
    let mut cases: Vec<(Vec<u8>, DbusError)> = vec![
        (b"AUTH EXTERNAL 30\r\n".to_vec(), DbusError::NulByte),
        (b"\0\x01\x02\r\n".to_vec(), DbusError::BadLine),
        (b"\0AUTH\rX\n".to_vec(), DbusError::BadLine),
        (b"\0AUTH EXTERNAL \xc3\xa9\r\n".to_vec(), DbusError::BadLine),
        (b"\0BEGIN\r\n".to_vec(), DbusError::BeginUnauthenticated),
        (
            b"\0AUTH EXTERNAL\r\nBEGIN\r\n".to_vec(),
            DbusError::BeginUnauthenticated,
        ),
        (long(16 * 1024 + 1), DbusError::LineTooLong),
        (
            [long(16 * 1024 + 1), b"\r\n".to_vec()].concat(),
            DbusError::LineTooLong,
        ),
        (
            [&b"\0"[..], &b"FOO\r\n".repeat(7)].concat(),
            DbusError::TooManyFailures,
        ),
    ];
    for chunk in CHUNKS {
        for (input, code) in &mut cases {
            let mut s = server();
            let (_, step, _) = run_server(&mut s, input, chunk, Some(ME));
            assert!(matches!(step, Step::Failed(_)), "{input:?}");
            assert_eq!(
                s.error(),
                Some(Error::Peer(*code)),
                "{:?}",
                &input[..20.min(input.len())]
            );
        }
    }
    for (input, code) in cases {
        fatal(&mut server(), &input, code);
    }
    // A line of exactly the maximum is answered (an unknown mechanism: REJECTED).
    let mut s = server();
    let (out, step, _) = run_server(
        &mut s,
        &[long(16 * 1024), b"\r\n".to_vec()].concat(),
        usize::MAX,
        Some(ME),
    );
    assert_eq!(step, Step::NeedInput);
    assert!(text(&out).starts_with("REJECTED"));
    // Six failures are answered; the seventh closes.
    let mut s = server();
    let (out, _, _) = run_server(
        &mut s,
        &[&b"\0"[..], &b"FOO\r\n".repeat(7)].concat(),
        1,
        Some(ME),
    );
    assert_eq!(text(&out).matches("ERROR").count(), 6);
    assert_eq!(s.failures(), 7);
}

#[test]
fn server_fds_and_truncation() {
    let mut s = server();
    let anc = Ancillary {
        creds: Some(ME),
        fds: vec![7],
        ..Ancillary::default()
    };
    assert_eq!(s.receive(b"\0", anc), Err(Error::Peer(DbusError::Fds)));
    assert_eq!(server_code(&s), "dbus_fds");
    let mut s = server();
    s.receive(b"\0AUTH", Ancillary::with_creds(ME)).unwrap();
    let anc = Ancillary {
        ctrunc: true,
        ..Ancillary::default()
    };
    assert_eq!(
        s.receive(b" EXTERNAL", anc),
        Err(Error::Peer(DbusError::ControlTruncated))
    );
    assert!(matches!(s.step(&mut Vec::new()), Step::Failed(_)));
}

#[test]
fn server_eof() {
    // Before the NUL byte, inside a line, after a complete BEGIN.
    let mut s = server();
    assert_eq!(s.step(&mut Vec::new()), Step::NeedInput);
    s.receive_eof().unwrap();
    assert!(matches!(s.step(&mut Vec::new()), Step::Failed(_)));
    assert_eq!(server_code(&s), "dbus_eof");

    let mut s = server();
    s.receive(b"\0AUTH EXT", Ancillary::with_creds(ME)).unwrap();
    s.receive_eof().unwrap();
    assert!(matches!(s.step(&mut Vec::new()), Step::Failed(_)));
    assert_eq!(server_code(&s), "dbus_eof");

    let mut s = server();
    s.receive(
        b"\0AUTH EXTERNAL 31303030\r\nBEGIN\r\nl",
        Ancillary::with_creds(ME),
    )
    .unwrap();
    s.receive_eof().unwrap();
    let mut out = Vec::new();
    while let Step::Send(_) = s.step(&mut out) {}
    let a = s.finish().unwrap();
    assert_eq!(a.leftover.bytes, b"l");
    assert!(a.leftover.eof);
}

#[test]
fn server_misuse() {
    let s = server();
    assert_eq!(
        s.finish().unwrap_err(),
        Error::Usage(UsageError::NotFinished)
    );
    let mut s = server();
    s.receive_eof().unwrap();
    assert_eq!(
        s.receive_eof(),
        Err(Error::Usage(UsageError::UnexpectedInput))
    );
    let mut s = server();
    s.receive(
        b"\0AUTH EXTERNAL 31303030\r\nBEGIN\r\n",
        Ancillary::with_creds(ME),
    )
    .unwrap();
    let mut out = Vec::new();
    while let Step::Send(_) = s.step(&mut out) {}
    assert_eq!(s.step(&mut out), Step::Done);
    assert_eq!(
        s.receive(b"more", Ancillary::default()),
        Err(Error::Usage(UsageError::UnexpectedInput))
    );
    assert_eq!(s.error(), Some(Error::Usage(UsageError::UnexpectedInput)));
    // Creds-only empty reads are ignored before the NUL byte.
    let mut s = server();
    s.receive(b"", Ancillary::with_creds(ME)).unwrap();
    assert_eq!(s.state(), "await_nul");
}

// ---------------------------------------------------------------- client

/// Runs the client, feeding `replies` in reads of `chunk` bytes; returns
/// what it sent, the last step, and the ancillary data of each send.
fn run_client(
    c: &mut ClientAuth<u32>,
    replies: &[u8],
    chunk: usize,
) -> (Vec<u8>, Step<Error>, Vec<Attach>) {
    let mut out = Vec::new();
    let mut attach = Vec::new();
    let mut fed = 0;
    loop {
        match c.step(&mut out) {
            Step::Send(a) => attach.push(a),
            Step::NeedInput if fed < replies.len() => {
                let n = chunk.min(replies.len() - fed);
                let _ = c.receive(&replies[fed..fed + n], Ancillary::default());
                fed += n;
            }
            step => return (out, step, attach),
        }
    }
}

fn client_code(c: &ClientAuth<u32>) -> &'static str {
    c.error().expect("failed").code()
}

#[test]
fn client_external_with_fds() {
    let replies = format!("OK {SERVER_GUID}\r\nAGREE_UNIX_FD\r\n");
    for chunk in CHUNKS {
        let mut c = ClientAuth::new(ClientConfig::external(1000));
        assert_eq!(c.state(), "send_auth");
        let (out, step, attach) = run_client(&mut c, replies.as_bytes(), chunk);
        assert_eq!(step, Step::Done);
        assert_eq!(
            out,
            b"\0AUTH EXTERNAL 31303030\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n"
        );
        assert_eq!(
            attach,
            [Attach::OwnCredentials, Attach::Nothing, Attach::Nothing]
        );
        let a = c.finish().unwrap();
        assert!(a.unix_fd);
        assert_eq!(a.guid, SERVER_GUID.to_ascii_lowercase());
        assert!(a.peer.is_none() && a.leftover.bytes.is_empty());
    }
}

#[test]
fn client_states_in_order() {
    let mut c = ClientAuth::<u32>::new(ClientConfig::default());
    let mut out = Vec::new();
    let mut seen = vec![c.state()];
    let mut push = |c: &ClientAuth<u32>| seen.push(c.state());
    c.step(&mut out);
    push(&c);
    c.receive(b"DATA\r\n", Ancillary::default()).unwrap();
    push(&c);
    c.step(&mut out); // sends DATA
    push(&c);
    c.receive(
        format!("OK {SERVER_GUID}\r\n").as_bytes(),
        Ancillary::default(),
    )
    .unwrap();
    c.step(&mut out); // sends NEGOTIATE_UNIX_FD
    push(&c);
    c.receive(b"AGREE_UNIX_FD\r\n", Ancillary::default())
        .unwrap();
    c.step(&mut out); // sends BEGIN
    push(&c);
    assert_eq!(
        out,
        b"\0AUTH EXTERNAL\r\nDATA\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n"
    );
    assert_eq!(
        seen,
        [
            "send_auth",
            "await_auth",
            "await_auth",
            "await_auth",
            "await_agree",
            "done"
        ]
    );
}

#[test]
fn client_send_states_are_named() {
    // send_data, send_negotiate, send_begin and send_cancel are passed
    // within one step; the names exist for transcripts.
    for s in [
        "send_auth",
        "await_auth",
        "send_data",
        "send_cancel",
        "await_reject",
        "send_negotiate",
        "await_agree",
        "send_begin",
        "done",
        "failed",
    ] {
        assert!(ClientAuth::<u32>::STATES.contains(&s));
    }
    let mut c = ClientAuth::<u32>::new(ClientConfig::external(0));
    run_client(&mut c, b"ERROR\r\n", 1);
    assert_eq!(c.state(), "await_reject");
}

#[test]
fn client_empty_data_exchange() {
    for chunk in CHUNKS {
        let mut c = ClientAuth::new(ClientConfig {
            unix_fd: false,
            ..ClientConfig::default()
        });
        let replies = format!("DATA\r\nOK {SERVER_GUID}\r\n");
        let (out, step, _) = run_client(&mut c, replies.as_bytes(), chunk);
        assert_eq!(step, Step::Done);
        assert_eq!(out, b"\0AUTH EXTERNAL\r\nDATA\r\nBEGIN\r\n");
        assert!(!c.finish().unwrap().unix_fd);
    }
}

#[test]
fn client_cancels_then_is_rejected() {
    for (config, replies, sent) in [
        // A challenge EXTERNAL cannot answer.
        (
            ClientConfig::external(1000),
            "DATA 6e6f6e6365\r\nREJECTED EXTERNAL\r\n",
            "\0AUTH EXTERNAL 31303030\r\nCANCEL\r\n",
        ),
        // A second empty challenge.
        (
            ClientConfig::default(),
            "DATA\r\nDATA\r\nREJECTED EXTERNAL\r\n",
            "\0AUTH EXTERNAL\r\nDATA\r\nCANCEL\r\n",
        ),
        // ERROR from the server.
        (
            ClientConfig::external(1000),
            "ERROR \"what\"\r\nREJECTED EXTERNAL\r\n",
            "\0AUTH EXTERNAL 31303030\r\nCANCEL\r\n",
        ),
    ] {
        for chunk in CHUNKS {
            let mut c = ClientAuth::new(config);
            let (out, step, _) = run_client(&mut c, replies.as_bytes(), chunk);
            assert!(matches!(step, Step::Failed(_)));
            assert_eq!(text(&out), sent);
            assert_eq!(client_code(&c), "dbus_rejected");
            assert_eq!(c.mechanisms(), Some("EXTERNAL"));
        }
    }
}

#[test]
fn client_anonymous() {
    let mut c = ClientAuth::new(ClientConfig {
        mechanism: ClientMechanism::Anonymous,
        unix_fd: false,
        ..ClientConfig::default()
    });
    let (out, step, _) = run_client(&mut c, format!("OK {SERVER_GUID}\r\n").as_bytes(), 1);
    assert_eq!(step, Step::Done);
    assert_eq!(out, b"\0AUTH ANONYMOUS\r\nBEGIN\r\n");
    assert_eq!(c.finish().unwrap().mechanism, Mechanism::Anonymous);
}

#[test]
fn client_fd_passing_refused() {
    let replies = format!("OK {SERVER_GUID}\r\nERROR \"no\"\r\n");
    for chunk in CHUNKS {
        let mut c = ClientAuth::new(ClientConfig::external(5));
        let (out, step, _) = run_client(&mut c, replies.as_bytes(), chunk);
        assert_eq!(step, Step::Done);
        assert!(out.ends_with(b"NEGOTIATE_UNIX_FD\r\nBEGIN\r\n"));
        assert!(!c.finish().unwrap().unix_fd);

        let mut c = ClientAuth::new(ClientConfig {
            require_unix_fd: true,
            ..ClientConfig::external(5)
        });
        let (out, step, _) = run_client(&mut c, replies.as_bytes(), chunk);
        assert!(matches!(step, Step::Failed(_)));
        assert!(out.ends_with(b"NEGOTIATE_UNIX_FD\r\n"));
        assert_eq!(client_code(&c), "dbus_unix_fd_refused");
    }
}

#[test]
fn client_leftover_after_the_last_line() {
    let replies = format!("OK {SERVER_GUID}\r\nxyz");
    let mut c = ClientAuth::new(ClientConfig {
        unix_fd: false,
        ..ClientConfig::external(1)
    });
    let (_, step, _) = run_client(&mut c, replies.as_bytes(), usize::MAX);
    assert_eq!(step, Step::Done);
    assert_eq!(c.finish().unwrap().leftover.bytes, b"xyz");
}

#[test]
fn client_failures() {
    let long = "A".repeat(16 * 1024 + 1);
    let cases: Vec<(String, DbusError)> = vec![
        (
            "REJECTED EXTERNAL ANONYMOUS\r\n".into(),
            DbusError::Rejected,
        ),
        ("OK 0123\r\n".into(), DbusError::BadGuid),
        (format!("OK {}\r\n", "g".repeat(32)), DbusError::BadGuid),
        ("AGREE_UNIX_FD\r\n".into(), DbusError::UnexpectedReply),
        ("BEGIN\r\n".into(), DbusError::UnexpectedReply),
        (
            format!("OK {SERVER_GUID}\r\nOK {SERVER_GUID}\r\n"),
            DbusError::UnexpectedReply,
        ),
        ("ERROR\r\nOK x\r\n".into(), DbusError::UnexpectedReply),
        ("OK\x01\r\n".into(), DbusError::BadLine),
        (long, DbusError::LineTooLong),
    ];
    for chunk in CHUNKS {
        for (replies, code) in &cases {
            let mut c = ClientAuth::new(ClientConfig::external(1000));
            let (_, step, _) = run_client(&mut c, replies.as_bytes(), chunk);
            assert_eq!(step, Step::Failed(Error::Peer(*code)), "{replies:?}");
            assert_eq!(c.error(), Some(Error::Peer(*code)), "{replies:?}");
            // Sticky.
            assert!(matches!(c.step(&mut Vec::new()), Step::Failed(_)));
            assert!(c.receive(b"x", Ancillary::default()).is_err());
        }
    }
    let mut c = ClientAuth::<u32>::new(ClientConfig::external(1000));
    c.step(&mut Vec::new());
    assert_eq!(c.mechanisms(), None);
    run_client(&mut c, b"REJECTED EXTERNAL ANONYMOUS\r\n", 1);
    assert_eq!(c.mechanisms(), Some("EXTERNAL ANONYMOUS"));
}

#[test]
fn client_eof_fds_truncation_and_misuse() {
    let mut c = ClientAuth::<u32>::new(ClientConfig::external(1000));
    assert_eq!(
        c.receive(b"OK", Ancillary::default()),
        Err(Error::Usage(UsageError::UnexpectedInput))
    );
    let mut c = ClientAuth::<u32>::new(ClientConfig::external(1000));
    assert_eq!(
        c.receive_eof(),
        Err(Error::Usage(UsageError::UnexpectedInput))
    );

    let mut c = ClientAuth::<u32>::new(ClientConfig::external(1000));
    c.step(&mut Vec::new());
    c.receive(b"OK 01", Ancillary::default()).unwrap();
    c.receive_eof().unwrap();
    assert!(matches!(c.step(&mut Vec::new()), Step::Failed(_)));
    assert_eq!(client_code(&c), "dbus_eof");

    let mut c = ClientAuth::<u32>::new(ClientConfig::external(1000));
    c.step(&mut Vec::new());
    let anc = Ancillary {
        fds: vec![3],
        ..Ancillary::default()
    };
    assert_eq!(c.receive(b"OK", anc), Err(Error::Peer(DbusError::Fds)));

    let mut c = ClientAuth::<u32>::new(ClientConfig::external(1000));
    c.step(&mut Vec::new());
    let anc = Ancillary {
        ctrunc: true,
        ..Ancillary::default()
    };
    assert_eq!(
        c.receive(b"OK", anc),
        Err(Error::Peer(DbusError::ControlTruncated))
    );

    let c = ClientAuth::<u32>::new(ClientConfig::external(1000));
    assert_eq!(
        c.finish().unwrap_err(),
        Error::Usage(UsageError::NotFinished)
    );
}

// ------------------------------------------------------- both, generically

/// One generic loop over the `Handshake` trait serves both sides: our
/// client against our server, one byte per read.
fn pump<C: Handshake<u32>, S: Handshake<u32>>(c: &mut C, s: &mut S) {
    let (mut to_s, mut to_c) = (Vec::<u8>::new(), Vec::<u8>::new());
    let (mut c_done, mut s_done) = (false, false);
    for _ in 0..10_000 {
        if !c_done {
            match c.step(&mut to_s) {
                Step::Send(_) => continue,
                Step::NeedInput if !to_c.is_empty() => {
                    let b = to_c.remove(0);
                    c.receive(&[b], Ancillary::default()).unwrap();
                    continue;
                }
                Step::Done => c_done = true,
                Step::NeedInput => {}
                s => panic!("client: {s:?}"),
            }
        }
        if !s_done {
            match s.step(&mut to_c) {
                Step::Send(_) => {}
                Step::NeedInput if !to_s.is_empty() => {
                    let b = to_s.remove(0);
                    s.receive(&[b], Ancillary::with_creds(ME)).unwrap();
                }
                Step::Done => s_done = true,
                Step::NeedInput => {}
                s => panic!("server: {s:?}"),
            }
        }
        if c_done && s_done {
            return;
        }
    }
    panic!("no progress");
}

#[test]
fn our_client_and_server_through_the_trait() {
    let mut c = ClientAuth::<u32>::new(ClientConfig::external(1000));
    let mut s = server();
    pump(&mut c, &mut s);
    let (ce, se) = (Handshake::finish(c).unwrap(), Handshake::finish(s).unwrap());
    assert_eq!(ce.guid, se.guid);
    assert!(ce.unix_fd && se.unix_fd);
    assert_eq!(se.peer.unwrap().uid(), Some(1000));
    assert!(ce.peer.is_none());

    // Without an initial response, without fds.
    let mut c = ClientAuth::<u32>::new(ClientConfig {
        unix_fd: false,
        ..ClientConfig::default()
    });
    let mut s = server();
    pump(&mut c, &mut s);
    assert!(!Handshake::finish(s).unwrap().unix_fd);
}

#[test]
fn trait_reports_the_dbus_error_itself() {
    let mut s = server();
    assert!(Handshake::receive(&mut s, b"X", Ancillary::with_creds(ME)).is_err());
    let nul = Error::Peer(DbusError::NulByte);
    assert_eq!(Handshake::step(&mut s, &mut Vec::new()), Step::Failed(nul));
    assert_eq!(ErrorCode::code(nul), "dbus_nul_byte");
    assert_eq!(Handshake::state(&s), "failed");
    // Sticky: a later misuse reports the first error.
    assert_eq!(Handshake::accept(&mut s), Err(nul));
    assert_eq!(Handshake::finish(s).unwrap_err(), nul);
}

/// Neither D-Bus side ever decides: `accept` / `deny` through the trait
/// are a misuse that fails the side, as on the native server outside
/// `Decide`.
#[test]
fn accept_or_deny_on_a_dbus_side_fails_it_with_no_decision_pending() {
    let misuse = Error::Usage(UsageError::NoDecisionPending);
    for accept in [true, false] {
        let mut s = server();
        let r = if accept {
            Handshake::accept(&mut s)
        } else {
            Handshake::deny(&mut s)
        };
        assert_eq!(r, Err(misuse));
        assert_eq!(
            Handshake::step(&mut s, &mut Vec::new()),
            Step::Failed(misuse)
        );
        assert_eq!(Handshake::state(&s), "failed");
        assert_eq!(Handshake::finish(s).unwrap_err(), misuse);

        let mut c = ClientAuth::<u32>::new(ClientConfig::external(1000));
        let r = if accept {
            Handshake::accept(&mut c)
        } else {
            Handshake::deny(&mut c)
        };
        assert_eq!(r, Err(misuse));
        assert_eq!(
            Handshake::step(&mut c, &mut Vec::new()),
            Step::Failed(misuse)
        );
        assert_eq!(Handshake::finish(c).unwrap_err(), misuse);
    }
}

// ------------------------------------------------------------ every code

/// Every `dbus_` code is produced by some input above; this checks it in
/// one place, with the shortest input for each.
#[test]
fn every_code_is_reachable() {
    let mut seen = BTreeSet::new();
    let server_case = |input: &[u8], creds: Option<Ucred>, eof: bool| {
        let mut s = server();
        run_server(&mut s, input, 1, creds);
        if eof {
            let _ = s.receive_eof();
            s.step(&mut Vec::new());
        }
        s.error().map(|e| e.code())
    };
    let server_inputs: &[(&[u8], Option<Ucred>, bool)] = &[
        (b"\0AUTH", Some(ME), true),
        (&[b'\0'; 1], Some(ME), true),
        (b"\0\x7f", Some(ME), false),
        (b"X", Some(ME), false),
        (b"\0AUTH EXTERNAL 31303030\r\n", None, true),
        (
            b"\0AUTH EXTERNAL 31303030\r\n",
            Some(Ucred::known(1, 1000, 7)),
            true,
        ),
        (b"\0AUTH EXTERNAL 30\r\n", Some(ME), true),
        (b"\0AUTH EXTERNAL zz\r\n", Some(ME), true),
        (b"\0AUTH X\r\n", Some(ME), true),
        (b"\0BEGIN\r\n", Some(ME), false),
        (b"\0X\r\nX\r\nX\r\nX\r\nX\r\nX\r\nX\r\n", Some(ME), false),
    ];
    for (input, creds, eof) in server_inputs {
        seen.extend(server_case(input, *creds, *eof));
    }
    let mut s = server();
    s.receive(&[0], Ancillary::with_creds(ME)).unwrap();
    let _ = s.receive(&vec![b'A'; 16 * 1024 + 1], Ancillary::default());
    s.step(&mut Vec::new());
    seen.extend(s.error().map(|e| e.code()));
    let mut s = server();
    let _ = s.receive(
        b"\0",
        Ancillary {
            fds: vec![1],
            ..Ancillary::default()
        },
    );
    seen.extend(s.error().map(|e| e.code()));
    let mut s = server();
    let _ = s.receive(
        b"\0",
        Ancillary {
            ctrunc: true,
            ..Ancillary::default()
        },
    );
    seen.extend(s.error().map(|e| e.code()));
    for (replies, require) in [
        ("REJECTED\r\n", false),
        ("OK 1\r\n", false),
        ("BEGIN\r\n", false),
        ("OK 0123456789abcdef0123456789abcdef\r\nERROR\r\n", true),
    ] {
        let mut c = ClientAuth::<u32>::new(ClientConfig {
            require_unix_fd: require,
            ..ClientConfig::external(1)
        });
        run_client(&mut c, replies.as_bytes(), 1);
        seen.extend(c.error().map(|e| e.code()));
    }
    let all: BTreeSet<_> = DbusError::ALL.iter().map(|e| e.code()).collect();
    assert_eq!(seen, all);
}
