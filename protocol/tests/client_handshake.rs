//! The client side of the v1 handshake, tested from `docs/PROTOCOL.md`
//! sections 2, 3.1, 3.2, 3.4 and 3.5; plus the C sentinel conversions of
//! `Ucred` and the error codes.

mod common;

use std::collections::HashSet;

use common::*;
use mon_ipc::{
    Ancillary, Attach, ClientAuth, ClientConfig, CredentialPolicy, CredentialSource, Error,
    GID_UNKNOWN, Limits, MessageCredentials, PID_UNKNOWN, PeerError, SocketCredentials, SocketKind,
    Step, UID_UNKNOWN, Ucred, UsageError,
};

fn cli_limits() -> Limits {
    limits(10, 1000)
}

fn srv_limits() -> Limits {
    limits(7, 4096)
}

fn config() -> ClientConfig {
    ClientConfig {
        limits: cli_limits(),
        ..ClientConfig::default()
    }
}

fn mutual() -> ClientConfig {
    ClientConfig {
        mutual: true,
        ..config()
    }
}

/// A client that has already produced its hello, waiting for the reply.
fn client_with(cfg: ClientConfig, server: SocketCredentials<Fd>) -> ClientAuth<Fd> {
    let mut c = ClientAuth::new(cfg, server);
    let mut out = Vec::new();
    assert_eq!(c.step(&mut out), Step::Send(Attach::OwnCredentials));
    assert_eq!(out.len(), 16);
    assert_eq!(c.step(&mut out), Step::NeedInput);
    assert_eq!(out.len(), 16, "the hello is produced once");
    c
}

fn client() -> ClientAuth<Fd> {
    client_with(config(), SocketCredentials::new(SERVER))
}

fn mutual_client() -> ClientAuth<Fd> {
    client_with(mutual(), SocketCredentials::new(SERVER))
}

fn accepted() -> [u8; 16] {
    reply_with(1, 0, srv_limits())
}

/// Expects the client to have failed with `code`, stickily.
#[track_caller]
fn expect_failed(c: &mut ClientAuth<Fd>, code: &str) {
    let mut out = Vec::new();
    for _ in 0..2 {
        match c.step(&mut out) {
            Step::Failed(e) => assert_eq!(e.code(), code),
            other => panic!("expected Failed({code}), got {other:?}"),
        }
    }
    assert!(out.is_empty(), "nothing sent after failing");
}

/// Feeds one read that must fail with `code`.
#[track_caller]
fn feed_fails(c: &mut ClientAuth<Fd>, bytes: &[u8], anc: Ancillary<Fd>, code: &str) {
    let e = c.receive(bytes, anc).expect_err("expected an error");
    assert_eq!(e.code(), code);
    expect_failed(c, code);
}

#[track_caller]
fn done(mut c: ClientAuth<Fd>) -> mon_ipc::Established<Fd> {
    let mut out = Vec::new();
    assert_eq!(c.step(&mut out), Step::Done);
    assert!(out.is_empty());
    c.finish().expect("finish")
}

// ---------------------------------------------------------------------------
// The hello.

#[test]
fn hello_bytes_are_exact_with_default_config() {
    let mut c = ClientAuth::<Fd>::new(ClientConfig::default(), SocketCredentials::default());
    let mut out = Vec::new();
    assert_eq!(c.step(&mut out), Step::Send(Attach::OwnCredentials));
    assert_eq!(
        out,
        [
            0x4D, 0x4F, 0x4E, 0x00, // magic
            1,    // version
            0,    // flags
            32, 0, // max fds, LE
            0x00, 0x00, 0x00, 0x01, // 16 MiB, LE
            0, 0, 0, 0, // reserved
        ]
    );
}

#[test]
fn hello_bytes_are_exact_with_mutual_and_custom_limits() {
    let cfg = ClientConfig {
        limits: limits(253, 0x0403_0201),
        mutual: true,
        ..ClientConfig::default()
    };
    let mut c = ClientAuth::<Fd>::new(cfg, SocketCredentials::default());
    let mut out = b"x".to_vec();
    assert_eq!(c.step(&mut out), Step::Send(Attach::OwnCredentials));
    assert_eq!(
        out,
        [
            b'x', 0x4D, 0x4F, 0x4E, 0x00, 1, 1, 253, 0, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0
        ],
        "appended to the caller's buffer"
    );
}

#[test]
fn hello_with_zero_limits() {
    let cfg = ClientConfig {
        limits: limits(0, 0),
        ..ClientConfig::default()
    };
    let mut c = ClientAuth::<Fd>::new(cfg, SocketCredentials::default());
    let mut out = Vec::new();
    c.step(&mut out);
    assert_eq!(out, msg(1, 0, 0, 0, 0));
}

#[test]
fn receive_before_the_hello_is_sent_is_usage_error() {
    let mut c = ClientAuth::<Fd>::new(config(), SocketCredentials::default());
    let e = c.receive(&accepted(), none()).unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::UnexpectedInput));
    expect_failed(&mut c, "unexpected_input");
}

// ---------------------------------------------------------------------------
// Accepted replies.

#[test]
fn accepted_reply_is_done_with_min_limits() {
    let mut c = client();
    c.receive(&accepted(), none()).unwrap();
    let est = done(c);
    assert_eq!(est.version, 1);
    assert_eq!(est.socket, SocketKind::Stream);
    assert_eq!(est.limits, limits(7, 1000), "field-wise min");
    assert!(est.peer.is_none(), "no peer without mutual");
    assert_eq!(est.leftover, mon_ipc::Leftover::default());
}

#[test]
fn accepted_reply_with_zero_limits() {
    let mut c = client();
    c.receive(&reply_with(1, 0, limits(0, 0)), none()).unwrap();
    assert_eq!(done(c).limits, limits(0, 0));
}

#[test]
fn accepted_reply_with_253_fds() {
    let mut c = client();
    c.receive(&msg(1, 0, 253, u32::MAX, 0), none()).unwrap();
    assert_eq!(done(c).limits, limits(10, 1000));
}

#[test]
fn reply_delivered_one_byte_at_a_time() {
    let mut c = client();
    let r = accepted();
    let mut out = Vec::new();
    for b in &r[..15] {
        c.receive(&[*b], none()).unwrap();
        assert_eq!(c.step(&mut out), Step::NeedInput);
    }
    c.receive(&r[15..], none()).unwrap();
    let est = done(c);
    assert_eq!(est.limits, limits(7, 1000));
    assert!(est.leftover.bytes.is_empty());
}

#[test]
fn reply_plus_frame_bytes_and_fds_in_one_read_go_to_leftover() {
    let log = Ledger::new();
    let mut c = client();
    let frame = [5, 0, 0, 0, 2, 0, 0, 0, b'h', b'e', b'l', b'l', b'o', 9, 9];
    let mut read = accepted().to_vec();
    read.extend_from_slice(&frame);
    let anc = Ancillary {
        fds: log.fds(2),
        ..none()
    };
    c.receive(&read, anc).unwrap();
    log.assert_dropped(&[]);
    let est = done(c);
    assert_eq!(est.leftover.bytes, frame.to_vec());
    assert_eq!(
        est.leftover.fds.iter().map(Fd::id).collect::<Vec<_>>(),
        vec![1, 2],
        "the fds, in order"
    );
    assert!(!est.leftover.eof);
    drop(est);
    log.assert_all_dropped();
}

#[test]
fn last_reply_byte_plus_frame_bytes_after_byte_at_a_time() {
    let log = Ledger::new();
    let mut c = client();
    let r = accepted();
    for b in &r[..15] {
        c.receive(&[*b], none()).unwrap();
    }
    let mut read = vec![r[15]];
    read.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0]);
    let anc = Ancillary {
        fds: log.fds(1),
        ..none()
    };
    c.receive(&read, anc).unwrap();
    let est = done(c);
    assert_eq!(est.leftover.bytes, vec![0, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(est.leftover.fds.len(), 1);
    log.assert_dropped(&[]);
}

#[test]
fn fds_in_a_read_that_does_not_complete_the_reply() {
    let log = Ledger::new();
    let mut c = client();
    let anc = Ancillary {
        fds: log.fds(3),
        ..none()
    };
    feed_fails(&mut c, &accepted()[..10], anc, "fds_without_frame");
    log.assert_all_dropped();
}

#[test]
fn fds_with_a_reply_and_nothing_after_it() {
    // The read completes the reply and brings fds, but no frame header
    // begins in it: the fds have no frame (PROTOCOL 3.4).
    let log = Ledger::new();
    let mut c = client();
    let mut first = none();
    c.receive(&accepted()[..9], std::mem::take(&mut first))
        .unwrap();
    let anc = Ancillary {
        fds: log.fds(2),
        ..none()
    };
    feed_fails(&mut c, &accepted()[9..], anc, "fds_without_frame");
    log.assert_all_dropped();
}

#[test]
fn ctrunc_is_control_truncated_and_fds_closed() {
    let log = Ledger::new();
    let mut c = client();
    let anc = Ancillary {
        fds: log.fds(1),
        ctrunc: true,
        ..none()
    };
    feed_fails(&mut c, &accepted()[..4], anc, "control_truncated");
    log.assert_all_dropped();
}

#[test]
fn ctrunc_on_the_read_that_completes_the_reply() {
    let log = Ledger::new();
    let mut c = client();
    let mut read = accepted().to_vec();
    read.extend_from_slice(&[0; 8]);
    let anc = Ancillary {
        fds: log.fds(2),
        ctrunc: true,
        ..none()
    };
    feed_fails(&mut c, &read, anc, "control_truncated");
    log.assert_all_dropped();
}

#[test]
fn fds_with_a_refusal_are_closed() {
    let log = Ledger::new();
    let mut c = client();
    let anc = Ancillary {
        fds: log.fds(2),
        ..none()
    };
    feed_fails(
        &mut c,
        &reply_with(1, 1, srv_limits()),
        anc,
        "refused_denied",
    );
    log.assert_all_dropped();
}

// ---------------------------------------------------------------------------
// Reply defects.

#[test]
fn eof_before_the_reply_is_reply_short() {
    for n in 0..16 {
        let mut c = client();
        if n > 0 {
            c.receive(&accepted()[..n], none()).unwrap();
        }
        let e = c.receive_eof().unwrap_err();
        assert_eq!(e.code(), "reply_short", "after {n} bytes");
        expect_failed(&mut c, "reply_short");
    }
}

#[test]
fn reply_bad_magic() {
    for magic in [*b"MON\x01", *b"NOM\0", [0; 4]] {
        let mut c = client();
        let r = msg_magic(magic, 1, 0, 7, 4096, 0);
        feed_fails(&mut c, &r, none(), "reply_bad_magic");
    }
}

#[test]
fn reply_reserved_nonzero() {
    for byte in 12..16 {
        let mut c = client();
        let mut r = accepted();
        r[byte] = 1;
        feed_fails(&mut c, &r, none(), "reply_reserved");
    }
}

#[test]
fn reply_unknown_status() {
    for status in [6u8, 7, 0x80, 255] {
        let mut c = client();
        feed_fails(
            &mut c,
            &reply_with(1, status, srv_limits()),
            none(),
            "reply_bad_status",
        );
    }
}

#[test]
fn refusal_statuses_map_to_refused_codes() {
    let cases = [
        (1u8, "refused_denied"),
        (2, "refused_version"),
        (3, "refused_no_credentials"),
        (4, "refused_malformed"),
        (5, "refused_credentials_mismatch"),
    ];
    for (status, code) in cases {
        let mut c = client();
        feed_fails(&mut c, &reply_with(1, status, srv_limits()), none(), code);
        if status != 2 {
            assert_eq!(c.server_version(), None, "status {status}");
        }
    }
}

#[test]
fn status_2_records_the_servers_highest_version() {
    let mut c = client();
    assert_eq!(c.server_version(), None);
    feed_fails(
        &mut c,
        &reply_with(9, 2, srv_limits()),
        none(),
        "refused_version",
    );
    assert_eq!(c.server_version(), Some(9));
}

#[test]
fn accepted_version_0_is_reply_bad_version() {
    let mut c = client();
    feed_fails(
        &mut c,
        &reply_with(0, 0, srv_limits()),
        none(),
        "reply_bad_version",
    );
}

#[test]
fn accepted_version_2_is_reply_bad_version() {
    let mut c = client();
    feed_fails(
        &mut c,
        &reply_with(2, 0, srv_limits()),
        none(),
        "reply_bad_version",
    );
}

#[test]
fn reply_limit_out_of_range() {
    // 256 = 0x0100 would read as 0 if the u16 were truncated to a byte.
    for fds in [254u16, 256, u16::MAX] {
        let mut c = client();
        feed_fails(&mut c, &msg(1, 0, fds, 4096, 0), none(), "reply_limit");
    }
}

#[test]
fn refusal_with_a_different_version_byte_is_still_the_refusal() {
    // On a status other than 0, byte 4 is the server's highest, not an
    // accepted version: it must not be judged as one.
    let mut c = client();
    feed_fails(
        &mut c,
        &reply_with(7, 1, srv_limits()),
        none(),
        "refused_denied",
    );
}

// ---------------------------------------------------------------------------
// Seqpacket.

fn seq() -> ClientConfig {
    ClientConfig {
        socket: SocketKind::Seqpacket,
        ..config()
    }
}

#[test]
fn seqpacket_reply_of_16_bytes_is_accepted() {
    let mut c = client_with(seq(), SocketCredentials::new(SERVER));
    c.receive(&accepted(), none()).unwrap();
    assert_eq!(done(c).socket, SocketKind::Seqpacket);
}

#[test]
fn seqpacket_reply_of_wrong_size_or_truncated() {
    let mut c = client_with(seq(), SocketCredentials::new(SERVER));
    feed_fails(&mut c, &accepted()[..15], none(), "reply_record_size");

    let mut c = client_with(seq(), SocketCredentials::new(SERVER));
    let mut r = accepted().to_vec();
    r.push(0);
    feed_fails(&mut c, &r, none(), "reply_record_size");

    let mut c = client_with(seq(), SocketCredentials::new(SERVER));
    let anc = Ancillary {
        trunc: true,
        ..none()
    };
    feed_fails(&mut c, &accepted(), anc, "reply_record_size");
}

// ---------------------------------------------------------------------------
// Mutual authentication: the server's credentials judged like the client's.

#[test]
fn mutual_accepted_reports_server_credentials() {
    let log = Ledger::new();
    let mut c = mutual_client();
    let anc = Ancillary {
        pidfd: Some(log.fd()),
        ..creds(SERVER)
    };
    c.receive(&accepted(), anc).unwrap();
    let est = done(c);
    let p = est.peer.expect("mutual reports the server");
    assert_eq!(p.ucred, SERVER);
    assert_eq!(p.source, CredentialSource::Both);
    assert_eq!(p.pidfd.as_ref().map(Fd::id), Some(1));
    log.assert_dropped(&[]);
}

#[test]
fn mutual_reply_without_credentials_is_no_credentials() {
    let mut c = mutual_client();
    feed_fails(&mut c, &accepted(), none(), "no_credentials");
}

#[test]
fn mutual_reply_with_invisible_credentials_is_no_credentials() {
    let mut c = mutual_client();
    feed_fails(&mut c, &accepted(), creds(INVISIBLE), "no_credentials");
}

#[test]
fn mutual_reply_with_other_uid_is_credentials_mismatch() {
    let mut c = mutual_client();
    feed_fails(
        &mut c,
        &accepted(),
        creds(Ucred::known(77, 1000, 0)),
        "credentials_mismatch",
    );
}

#[test]
fn mutual_reply_with_other_gid_is_credentials_mismatch() {
    let mut c = mutual_client();
    feed_fails(
        &mut c,
        &accepted(),
        creds(Ucred::known(77, 0, 1000)),
        "credentials_mismatch",
    );
}

#[test]
fn mutual_reply_in_pieces_each_needs_credentials() {
    let mut c = mutual_client();
    let r = accepted();
    c.receive(&r[..5], creds(SERVER)).unwrap();
    feed_fails(&mut c, &r[5..], none(), "no_credentials");
}

#[test]
fn mutual_reply_in_pieces_with_differing_uid_is_mismatch() {
    let mut c = client_with(mutual(), SocketCredentials::default());
    let r = accepted();
    c.receive(&r[..5], creds(SERVER)).unwrap();
    feed_fails(
        &mut c,
        &r[5..],
        creds(Ucred::known(77, 5, 0)),
        "credentials_mismatch",
    );
}

#[test]
fn mutual_reply_in_pieces_reports_first_pid() {
    let mut c = mutual_client();
    let r = accepted();
    for (i, b) in r.iter().enumerate() {
        c.receive(&[*b], creds(Ucred::known(77 + i as u32, 0, 0)))
            .unwrap();
    }
    let p = done(c).peer.unwrap();
    assert_eq!(p.pid().map(|p| p.get()), Some(77));
}

#[test]
fn mutual_with_unavailable_message_credentials_uses_socket() {
    let cfg = ClientConfig {
        policy: CredentialPolicy {
            message: MessageCredentials::Unavailable,
            ..CredentialPolicy::default()
        },
        ..mutual()
    };
    let mut c = client_with(cfg, SocketCredentials::new(SERVER));
    c.receive(&accepted(), none()).unwrap();
    let p = done(c).peer.unwrap();
    assert_eq!(p.ucred, SERVER);
    assert_eq!(p.source, CredentialSource::Socket);
}

#[test]
fn mutual_so_peerpidfd_rules() {
    // Reported when its pid is the reported pid...
    let log = Ledger::new();
    let socket = SocketCredentials {
        ucred: Some(SERVER),
        groups: Some(vec![4, 5]),
        pidfd: Some(log.fd()),
    };
    let mut c = client_with(mutual(), socket);
    c.receive(&accepted(), creds(SERVER)).unwrap();
    let p = done(c).peer.unwrap();
    assert_eq!(p.pidfd.as_ref().map(Fd::id), Some(1));
    assert_eq!(p.groups, Some(vec![4, 5]));
    drop(p);
    log.assert_all_dropped();

    // ...dropped when the reply came from another pid.
    let log = Ledger::new();
    let socket = SocketCredentials {
        ucred: Some(SERVER),
        groups: None,
        pidfd: Some(log.fd()),
    };
    let mut c = client_with(mutual(), socket);
    c.receive(&accepted(), creds(Ucred::known(78, 0, 0)))
        .unwrap();
    let p = done(c).peer.unwrap();
    assert!(p.pidfd.is_none());
    log.assert_all_dropped();
}

#[test]
fn mutual_refusal_is_the_refusal_not_a_credential_error() {
    // The server refused us; its missing credentials do not hide why.
    let mut c = mutual_client();
    feed_fails(
        &mut c,
        &reply_with(1, 3, srv_limits()),
        none(),
        "refused_no_credentials",
    );
}

#[test]
fn non_mutual_ignores_server_credentials_and_closes_pidfds() {
    let log = Ledger::new();
    let socket = SocketCredentials {
        ucred: Some(SERVER),
        groups: None,
        pidfd: Some(log.fd()),
    };
    let mut c = client_with(config(), socket);
    let anc = Ancillary {
        pidfd: Some(log.fd()),
        ..creds(Ucred::known(1, 12345, 12345))
    };
    c.receive(&accepted(), anc).unwrap();
    let est = done(c);
    assert!(est.peer.is_none());
    assert!(est.leftover.fds.is_empty());
    log.assert_all_dropped();
}

#[test]
fn non_mutual_accepts_a_reply_without_credentials() {
    let mut c = client_with(config(), SocketCredentials::default());
    c.receive(&accepted(), none()).unwrap();
    assert!(done(c).peer.is_none());
}

// ---------------------------------------------------------------------------
// Sticky errors and call order.

#[test]
fn errors_are_sticky_and_later_fds_closed() {
    let log = Ledger::new();
    let mut c = client();
    feed_fails(
        &mut c,
        &reply_with(1, 6, srv_limits()),
        none(),
        "reply_bad_status",
    );
    let anc = Ancillary {
        fds: log.fds(1),
        pidfd: Some(log.fd()),
        ..creds(SERVER)
    };
    assert_eq!(
        c.receive(&accepted(), anc).unwrap_err().code(),
        "reply_bad_status"
    );
    log.assert_all_dropped();
    assert_eq!(c.receive_eof().unwrap_err().code(), "reply_bad_status");
    expect_failed(&mut c, "reply_bad_status");
    assert_eq!(c.finish().unwrap_err().code(), "reply_bad_status");
}

#[test]
fn receive_after_done_is_usage_error() {
    let log = Ledger::new();
    let mut c = client();
    c.receive(&accepted(), none()).unwrap();
    let mut out = Vec::new();
    assert_eq!(c.step(&mut out), Step::Done);
    let anc = Ancillary {
        fds: log.fds(1),
        ..none()
    };
    assert_eq!(
        c.receive(b"frame", anc).unwrap_err().code(),
        "unexpected_input"
    );
    log.assert_all_dropped();
    expect_failed(&mut c, "unexpected_input");
}

#[test]
fn finish_before_done_is_not_finished() {
    let c = client();
    assert_eq!(c.finish().unwrap_err().code(), "not_finished");
    let mut c = client();
    c.receive(&accepted()[..8], none()).unwrap();
    assert_eq!(c.finish().unwrap_err().code(), "not_finished");
}

// ---------------------------------------------------------------------------
// Ucred: the C sentinels.

#[test]
fn ucred_sentinels_are_the_manuals() {
    assert_eq!(PID_UNKNOWN, 0);
    assert_eq!(UID_UNKNOWN, u32::MAX);
    assert_eq!(GID_UNKNOWN, u32::MAX);
}

#[test]
fn ucred_from_raw_to_raw_is_lossless() {
    let values = [0u32, 1, 2, 1000, 65534, u32::MAX - 1, u32::MAX];
    for &pid in &values {
        for &uid in &values {
            for &gid in &values {
                let c = Ucred::from_raw(pid, uid, gid);
                assert_eq!(c.to_raw(), (pid, uid, gid));
                assert_eq!(Ucred::from_raw(pid, uid, gid), c);
                assert_eq!(c.pid().map(|p| p.get()), (pid != 0).then_some(pid));
                assert_eq!(c.uid(), (uid != u32::MAX).then_some(uid));
                assert_eq!(c.gid(), (gid != u32::MAX).then_some(gid));
            }
        }
    }
}

#[test]
fn ucred_unknown_fields() {
    let c = Ucred::new(None, None, None);
    assert_eq!(c.to_raw(), (0, u32::MAX, u32::MAX));
    assert_eq!((c.pid(), c.uid(), c.gid()), (None, None, None));

    // Some(u32::MAX) is the C "unknown" and reads back as None.
    let c = Ucred::new(None, Some(u32::MAX), Some(u32::MAX));
    assert_eq!((c.uid(), c.gid()), (None, None));
    assert_eq!(c, Ucred::new(None, None, None));

    let c = Ucred::known(0, 5, 6);
    assert_eq!(c.pid(), None);
    assert_eq!(c.to_raw(), (0, 5, 6));

    let c = Ucred::new(std::num::NonZeroU32::new(9), Some(0), Some(0));
    assert_eq!(c.to_raw(), (9, 0, 0));
    assert_eq!((c.uid(), c.gid()), (Some(0), Some(0)), "root is known");
}

#[test]
fn invisible_means_pid_0_and_both_overflow_ids() {
    let o = mon_ipc::Overflow::default();
    assert_eq!((o.uid, o.gid), (65534, 65534));
    assert!(INVISIBLE.is_invisible(o));
    assert!(!Ucred::known(1, 65534, 65534).is_invisible(o));
    assert!(!Ucred::from_raw(0, 1000, 65534).is_invisible(o));
    assert!(!Ucred::from_raw(0, 65534, 1000).is_invisible(o));
}

// ---------------------------------------------------------------------------
// Error codes.

fn is_lower_snake_case(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('_')
        && !s.contains("__")
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[test]
fn error_codes_are_unique_snake_case_and_round_trip() {
    let all: Vec<Error> = PeerError::ALL
        .iter()
        .map(|e| Error::Peer(*e))
        .chain(UsageError::ALL.iter().map(|e| Error::Usage(*e)))
        .collect();
    assert_eq!(all, Error::all().collect::<Vec<_>>());
    let mut seen = HashSet::new();
    for e in &all {
        let code = e.code();
        assert!(is_lower_snake_case(code), "{code:?}");
        assert!(seen.insert(code), "duplicate code {code:?}");
        assert_eq!(Error::from_code(code), Some(*e), "{code}");
    }
    assert_eq!(seen.len(), all.len());
    assert_eq!(Error::from_code("no_such_code"), None);
    assert_eq!(Error::from_code(""), None);
    assert_eq!(Error::from_code("NO_CREDENTIALS"), None);
}

#[test]
fn error_codes_used_by_the_handshake_exist() {
    for code in [
        "eof_before_hello",
        "hello_fds",
        "hello_short",
        "hello_record_size",
        "hello_bad_magic",
        "hello_unsupported_version",
        "hello_reserved",
        "hello_limit",
        "hello_trailing_bytes",
        "no_credentials",
        "credentials_mismatch",
        "denied",
        "reply_short",
        "reply_record_size",
        "reply_bad_magic",
        "reply_reserved",
        "reply_bad_status",
        "reply_bad_version",
        "reply_limit",
        "refused_denied",
        "refused_version",
        "refused_no_credentials",
        "refused_malformed",
        "refused_credentials_mismatch",
        "control_truncated",
        "fds_without_frame",
        "unexpected_input",
        "no_decision_pending",
        "not_finished",
    ] {
        assert!(Error::from_code(code).is_some(), "{code}");
    }
}

#[test]
fn hello_errors_map_to_the_reply_status() {
    use mon_ipc::Status;
    let cases = [
        (PeerError::HelloFds, Some(Status::Malformed)),
        (PeerError::HelloShort, Some(Status::Malformed)),
        (PeerError::HelloRecordSize, Some(Status::Malformed)),
        (PeerError::HelloBadMagic, Some(Status::Malformed)),
        (
            PeerError::HelloUnsupportedVersion,
            Some(Status::UnsupportedVersion),
        ),
        (PeerError::HelloReserved, Some(Status::Malformed)),
        (PeerError::HelloLimit, Some(Status::Malformed)),
        (PeerError::HelloTrailingBytes, Some(Status::Malformed)),
        (PeerError::NoCredentials, Some(Status::NoCredentials)),
        (
            PeerError::CredentialsMismatch,
            Some(Status::CredentialsMismatch),
        ),
        (PeerError::Denied, Some(Status::Denied)),
        (PeerError::EofBeforeHello, None),
    ];
    for (e, status) in cases {
        assert_eq!(e.status(), status, "{e:?}");
    }
    for (s, b) in [
        (Status::Accepted, 0u8),
        (Status::Denied, 1),
        (Status::UnsupportedVersion, 2),
        (Status::NoCredentials, 3),
        (Status::Malformed, 4),
        (Status::CredentialsMismatch, 5),
    ] {
        assert_eq!(s as u8, b);
        assert_eq!(Status::from_byte(b), Some(s));
    }
    assert_eq!(Status::from_byte(6), None);
}

/// The client never decides: `accept` / `deny` through `Handshake` are a
/// misuse that fails it, stickily, as on the server outside `Decide`.
#[test]
fn accept_or_deny_on_the_client_fails_it_with_no_decision_pending() {
    use mon_ipc::Handshake;
    let misuse = Error::Usage(UsageError::NoDecisionPending);
    for accept in [true, false] {
        let mut c = client();
        let r = if accept {
            Handshake::accept(&mut c)
        } else {
            Handshake::deny(&mut c)
        };
        assert_eq!(r, Err(misuse));
        assert_eq!(c.step(&mut Vec::new()), Step::Failed(misuse));
        assert_eq!(c.state(), "failed");
        assert_eq!(c.finish().unwrap_err(), misuse);
    }
}
