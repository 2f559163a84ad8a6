//! The server side of the v1 handshake, tested from `docs/PROTOCOL.md`
//! sections 2, 3.1-3.3 and 3.5 (the order of checks, and what each reply
//! carries).

mod common;

use common::*;
use mon_ipc::{
    Ancillary, Attach, CredentialPolicy, CredentialSource, Error, Limits, MessageCredentials,
    Overflow, ServerAuth, ServerConfig, SocketCredentials, SocketKind, Step, Ucred, UsageError,
};

/// The server's own limits in most tests: deliberately not the defaults, so
/// a reply that echoes the client's limits is caught.
fn srv_limits() -> Limits {
    limits(7, 4096)
}

fn config() -> ServerConfig {
    ServerConfig {
        limits: srv_limits(),
        ..ServerConfig::default()
    }
}

fn seqpacket() -> ServerConfig {
    ServerConfig {
        socket: SocketKind::Seqpacket,
        ..config()
    }
}

fn unavailable() -> ServerConfig {
    ServerConfig {
        policy: CredentialPolicy {
            message: MessageCredentials::Unavailable,
            ..CredentialPolicy::default()
        },
        ..config()
    }
}

/// A stream server whose socket credentials are the client's.
fn server() -> ServerAuth<Fd> {
    ServerAuth::new(config(), SocketCredentials::new(CLIENT))
}

fn server_with(cfg: ServerConfig, socket: SocketCredentials<Fd>) -> ServerAuth<Fd> {
    ServerAuth::new(cfg, socket)
}

/// Expects the server to send a refusal with `status` (byte 4 = 1, the
/// server's highest; the server's own limits) attaching `attach`, then to
/// fail with `code`, stickily.
#[track_caller]
fn expect_refusal(s: &mut ServerAuth<Fd>, status: u8, code: &str, attach: Attach) {
    let mut out = Vec::new();
    assert_eq!(s.step(&mut out), Step::Send(attach), "reply step");
    assert_eq!(out, reply_with(1, status, srv_limits()), "reply bytes");
    match s.step(&mut out) {
        Step::Failed(e) => assert_eq!(e.code(), code),
        other => panic!("expected Failed({code}), got {other:?}"),
    }
    assert_eq!(out.len(), 16, "nothing more is sent after the reply");
    match s.step(&mut out) {
        Step::Failed(e) => assert_eq!(e.code(), code, "sticky"),
        other => panic!("expected Failed({code}) again, got {other:?}"),
    }
    assert!(s.peer().is_none());
}

/// Expects `Decide`, accepts, expects the status-0 reply, `Done`, and
/// returns what `finish` gives.
#[track_caller]
fn expect_accept(mut s: ServerAuth<Fd>, attach: Attach) -> mon_ipc::Established<Fd> {
    let mut out = Vec::new();
    assert_eq!(s.step(&mut out), Step::Decide);
    assert!(out.is_empty(), "nothing sent before the decision");
    assert!(s.peer().is_some(), "peer known while deciding");
    s.accept().expect("accept");
    assert_eq!(s.step(&mut out), Step::Send(attach));
    assert_eq!(out, reply_with(1, 0, srv_limits()));
    assert_eq!(s.step(&mut out), Step::Done);
    assert_eq!(out.len(), 16);
    s.finish().expect("finish")
}

#[track_caller]
fn code(r: Result<(), Error>) -> &'static str {
    r.expect_err("expected an error").code()
}

// ---------------------------------------------------------------------------
// The happy path.

#[test]
fn valid_hello_is_accepted_with_exact_reply_and_outcome() {
    let mut s = server();
    let mut out = Vec::new();
    assert_eq!(s.step(&mut out), Step::NeedInput);
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    assert_eq!(est.version, 1);
    assert_eq!(est.socket, SocketKind::Stream);
    assert_eq!(est.limits, limits(7, 4096));
    let peer = est.peer.expect("server always reports the peer");
    assert_eq!(peer.ucred, CLIENT);
    assert_eq!(peer.source, CredentialSource::Both);
    assert_eq!(peer.pid().map(|p| p.get()), Some(4242));
    assert_eq!((peer.uid(), peer.gid()), (Some(1000), Some(100)));
    assert_eq!(peer.groups, None);
    assert_eq!(peer.pidfd, None);
    assert_eq!(est.leftover, mon_ipc::Leftover::default());
}

#[test]
fn seqpacket_record_of_exactly_16_bytes_is_accepted() {
    let mut s = server_with(seqpacket(), SocketCredentials::new(CLIENT));
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    assert_eq!(est.socket, SocketKind::Seqpacket);
}

#[test]
fn negotiated_limits_are_fieldwise_min_and_reply_holds_servers_own() {
    // Client offers fewer fds but a larger payload than the server (7, 4096).
    let mut s = server();
    s.receive(&msg(1, 0, 3, 1 << 20, 0), creds(CLIENT)).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    assert_eq!(est.limits, limits(3, 4096));

    // Client offers more fds but a smaller payload.
    let mut s = server();
    s.receive(&msg(1, 0, 253, 10, 0), creds(CLIENT)).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    assert_eq!(est.limits, limits(7, 10));
}

#[test]
fn zero_limits_are_legal() {
    let mut s = server();
    s.receive(&msg(1, 0, 0, 0, 0), creds(CLIENT)).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    assert_eq!(est.limits, limits(0, 0));
}

#[test]
fn limit_of_exactly_253_fds_is_accepted() {
    let mut s = server();
    s.receive(&msg(1, 0, 253, MIB16, 0), creds(CLIENT)).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    assert_eq!(est.limits, limits(7, 4096));
}

#[test]
fn v2_client_with_flag_bits_and_reserved_is_accepted_as_version_1() {
    for version in [2u8, 3, 255] {
        let mut s = server();
        // Bit 0 clear, bits 1-7 set; reserved nonzero: a v1 server ignores both.
        s.receive(&msg(version, 0xFE, 32, MIB16, 0xDEAD_BEEF), creds(CLIENT))
            .unwrap();
        let est = expect_accept(s, Attach::Nothing);
        assert_eq!(est.version, 1, "negotiated version for client v{version}");
    }
}

#[test]
fn v2_client_mutual_bit_is_still_honoured() {
    let mut s = server();
    s.receive(&msg(2, 0xFF, 32, MIB16, 1), creds(CLIENT))
        .unwrap();
    let est = expect_accept(s, Attach::OwnCredentials);
    assert_eq!(est.version, 1);
}

#[test]
fn mutual_hello_accepted_reply_attaches_own_credentials() {
    let mut s = server();
    s.receive(&hello(true), creds(CLIENT)).unwrap();
    expect_accept(s, Attach::OwnCredentials);
}

// ---------------------------------------------------------------------------
// Check 1: fds attached to the hello (4, hello_fds), fds closed.

#[test]
fn check1_fds_with_hello_are_refused_and_closed() {
    let log = Ledger::new();
    let mut s = server();
    let anc = Ancillary {
        fds: log.fds(2),
        ..creds(CLIENT)
    };
    s.receive(&hello(false), anc).unwrap();
    log.assert_all_dropped();
    expect_refusal(&mut s, 4, "hello_fds", Attach::Nothing);
}

#[test]
fn check1_ctrunc_on_hello_is_hello_fds() {
    let mut s = server();
    let anc = Ancillary {
        ctrunc: true,
        ..creds(CLIENT)
    };
    s.receive(&hello(false), anc).unwrap();
    expect_refusal(&mut s, 4, "hello_fds", Attach::Nothing);
}

#[test]
fn check1_fds_on_a_later_piece_of_the_hello() {
    let log = Ledger::new();
    let mut s = server();
    let h = hello(false);
    s.receive(&h[..10], creds(CLIENT)).unwrap();
    let anc = Ancillary {
        fds: log.fds(1),
        ..creds(CLIENT)
    };
    s.receive(&h[10..], anc).unwrap();
    log.assert_all_dropped();
    expect_refusal(&mut s, 4, "hello_fds", Attach::Nothing);
}

#[test]
fn scm_pidfd_is_not_an_fd_attached_to_the_hello() {
    let log = Ledger::new();
    let mut s = server();
    let pidfd = log.fd();
    let anc = Ancillary {
        pidfd: Some(pidfd),
        ..creds(CLIENT)
    };
    s.receive(&hello(false), anc).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    let p = est.peer.unwrap();
    assert_eq!(p.pidfd.as_ref().map(Fd::id), Some(1));
    log.assert_dropped(&[]);
    drop(p);
    log.assert_all_dropped();
}

// ---------------------------------------------------------------------------
// Check 2: EOF before 16 bytes.

#[test]
fn eof_before_any_byte_closes_without_reply() {
    let mut s = server();
    let r = s.receive_eof();
    assert_eq!(code(r), "eof_before_hello");
    let mut out = Vec::new();
    match s.step(&mut out) {
        Step::Failed(e) => assert_eq!(e.code(), "eof_before_hello"),
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(out.is_empty(), "no reply");
    assert_eq!(
        s.finish().unwrap_err().code(),
        "eof_before_hello",
        "finish gives the sticky error"
    );
}

#[test]
fn check2_eof_after_1_to_15_bytes_is_hello_short() {
    for n in 1..16 {
        let mut s = server();
        s.receive(&hello(false)[..n], creds(CLIENT)).unwrap();
        let mut out = Vec::new();
        assert_eq!(s.step(&mut out), Step::NeedInput, "after {n} bytes");
        s.receive_eof().unwrap();
        expect_refusal(&mut s, 4, "hello_short", Attach::Nothing);
    }
}

#[test]
fn eof_right_after_complete_hello_is_answered_then_channel_sees_eof() {
    let mut s = server();
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    let mut out = Vec::new();
    assert_eq!(s.step(&mut out), Step::Decide);
    s.receive_eof().unwrap();
    let est = expect_accept(s, Attach::Nothing);
    assert!(est.leftover.eof);
    assert!(est.leftover.bytes.is_empty());
    assert!(est.leftover.fds.is_empty());
}

// ---------------------------------------------------------------------------
// Check 3: seqpacket record size.

#[test]
fn check3_seqpacket_record_of_15_bytes() {
    let mut s = server_with(seqpacket(), SocketCredentials::new(CLIENT));
    s.receive(&hello(false)[..15], creds(CLIENT)).unwrap();
    expect_refusal(&mut s, 4, "hello_record_size", Attach::Nothing);
}

#[test]
fn check3_seqpacket_record_of_17_bytes() {
    let mut s = server_with(seqpacket(), SocketCredentials::new(CLIENT));
    let mut rec = hello(false).to_vec();
    rec.push(0);
    s.receive(&rec, creds(CLIENT)).unwrap();
    expect_refusal(&mut s, 4, "hello_record_size", Attach::Nothing);
}

#[test]
fn check3_seqpacket_msg_trunc() {
    let mut s = server_with(seqpacket(), SocketCredentials::new(CLIENT));
    let anc = Ancillary {
        trunc: true,
        ..creds(CLIENT)
    };
    s.receive(&hello(false), anc).unwrap();
    expect_refusal(&mut s, 4, "hello_record_size", Attach::Nothing);
}

// ---------------------------------------------------------------------------
// Check 4: magic.

#[test]
fn check4_bad_magic() {
    for magic in [*b"MON\x01", *b"mon\0", *b"NOM\0", [0; 4], [0xFF; 4]] {
        let mut s = server();
        s.receive(&msg_magic(magic, 1, 0, 32, MIB16, 0), creds(CLIENT))
            .unwrap();
        expect_refusal(&mut s, 4, "hello_bad_magic", Attach::Nothing);
    }
}

#[test]
fn bad_magic_with_mutual_bit_attaches_nothing() {
    // The flag byte of a message that is not a hello means nothing.
    let mut s = server();
    s.receive(&msg_magic(*b"XON\0", 1, 1, 32, MIB16, 0), creds(CLIENT))
        .unwrap();
    expect_refusal(&mut s, 4, "hello_bad_magic", Attach::Nothing);
}

// ---------------------------------------------------------------------------
// Check 5: version 0 (2, byte 4 = the server's highest, 1).

#[test]
fn check5_version_0_is_unsupported_with_servers_highest_in_byte_4() {
    let mut s = server();
    s.receive(&msg(0, 0, 32, MIB16, 0), creds(CLIENT)).unwrap();
    // expect_refusal checks byte 4 == 1.
    expect_refusal(&mut s, 2, "hello_unsupported_version", Attach::Nothing);
}

// ---------------------------------------------------------------------------
// Check 6: v1 flag bits 1-7 and reserved field (4, hello_reserved).

#[test]
fn check6_v1_flag_bits_1_to_7() {
    for bit in 1..8 {
        let mut s = server();
        s.receive(&msg(1, 1 << bit, 32, MIB16, 0), creds(CLIENT))
            .unwrap();
        expect_refusal(&mut s, 4, "hello_reserved", Attach::Nothing);
    }
}

#[test]
fn check6_v1_reserved_field_nonzero() {
    for byte in 0..4 {
        let mut s = server();
        let mut h = hello(false);
        h[12 + byte] = 0x80;
        s.receive(&h, creds(CLIENT)).unwrap();
        expect_refusal(&mut s, 4, "hello_reserved", Attach::Nothing);
    }
}

// ---------------------------------------------------------------------------
// Check 7: limit out of range (4, hello_limit).

#[test]
fn check7_more_than_253_fds() {
    // 256 = 0x0100 would read as 0 if the u16 were truncated to a byte.
    for fds in [254u16, 255, 256, 0x01FD, u16::MAX] {
        let mut s = server();
        s.receive(&msg(1, 0, fds, MIB16, 0), creds(CLIENT)).unwrap();
        expect_refusal(&mut s, 4, "hello_limit", Attach::Nothing);
    }
}

#[test]
fn check7_applies_to_v2_hellos_too() {
    let mut s = server();
    s.receive(&msg(2, 0, 254, MIB16, 0), creds(CLIENT)).unwrap();
    expect_refusal(&mut s, 4, "hello_limit", Attach::Nothing);
}

// ---------------------------------------------------------------------------
// Check 8: bytes beyond the 16 before the reply (4, hello_trailing_bytes).

#[test]
fn check8_trailing_bytes_in_the_hello_read() {
    let mut s = server();
    let mut r = hello(false).to_vec();
    r.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
    s.receive(&r, creds(CLIENT)).unwrap();
    expect_refusal(&mut s, 4, "hello_trailing_bytes", Attach::Nothing);
}

#[test]
fn check8_bytes_arriving_during_decide() {
    let log = Ledger::new();
    let mut s = server_with(
        config(),
        SocketCredentials {
            ucred: Some(CLIENT),
            groups: None,
            pidfd: Some(log.fd()),
        },
    );
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    let mut out = Vec::new();
    assert_eq!(s.step(&mut out), Step::Decide);
    s.receive(&[0], creds(CLIENT)).unwrap();
    expect_refusal(&mut s, 4, "hello_trailing_bytes", Attach::Nothing);
    // The peer's pidfd held for the decision is closed.
    log.assert_all_dropped();
    // No decision is pending any more.
    assert_eq!(code(s.accept()), "hello_trailing_bytes", "sticky");
}

#[test]
fn fds_arriving_during_decide_are_refused_and_closed() {
    let log = Ledger::new();
    let mut s = server();
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    let mut out = Vec::new();
    assert_eq!(s.step(&mut out), Step::Decide);
    let anc = Ancillary {
        fds: log.fds(1),
        ..creds(CLIENT)
    };
    s.receive(&[], anc).unwrap();
    log.assert_all_dropped();
    // PROTOCOL.md 3.3, check 8: an fd is input beyond the hello too, not
    // only bytes.
    assert_eq!(s.step(&mut out), Step::Send(Attach::Nothing));
    assert_eq!(out[5], 4);
    match s.step(&mut out) {
        Step::Failed(e) => assert!(
            ["hello_trailing_bytes", "hello_fds"].contains(&e.code()),
            "{e:?}"
        ),
        other => panic!("expected Failed, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Check 9: credentials (3, then 5).

#[test]
fn check9_no_message_credentials_is_status_3() {
    let mut s = server();
    s.receive(&hello(false), none()).unwrap();
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
}

#[test]
fn check9_no_credentials_at_all_is_status_3() {
    let mut s = server_with(config(), SocketCredentials::default());
    s.receive(&hello(false), none()).unwrap();
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
}

#[test]
fn check9_uid_mismatch_is_status_5() {
    let mut s = server();
    s.receive(&hello(false), creds(Ucred::known(4242, 1001, 100)))
        .unwrap();
    expect_refusal(&mut s, 5, "credentials_mismatch", Attach::Nothing);
}

#[test]
fn check9_gid_mismatch_is_status_5() {
    let mut s = server();
    s.receive(&hello(false), creds(Ucred::known(4242, 1000, 101)))
        .unwrap();
    expect_refusal(&mut s, 5, "credentials_mismatch", Attach::Nothing);
}

#[test]
fn check9_pid_difference_alone_is_accepted_and_message_pid_reported() {
    // The process may fork after connecting; the hello's sender is reported.
    let mut s = server();
    s.receive(&hello(false), creds(Ucred::known(5555, 1000, 100)))
        .unwrap();
    let est = expect_accept(s, Attach::Nothing);
    let p = est.peer.unwrap();
    assert_eq!(p.pid().map(|p| p.get()), Some(5555));
    assert_eq!(p.source, CredentialSource::Both);
}

#[test]
fn message_credentials_without_socket_credentials_are_source_message() {
    let mut s = server_with(config(), SocketCredentials::default());
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    let p = est.peer.unwrap();
    assert_eq!(p.ucred, CLIENT);
    assert_eq!(p.source, CredentialSource::Message);
}

#[test]
fn invisible_message_credentials_count_as_absent() {
    let mut s = server();
    s.receive(&hello(false), creds(INVISIBLE)).unwrap();
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
}

#[test]
fn invisible_message_and_socket_credentials_count_as_absent() {
    let mut s = server_with(config(), SocketCredentials::new(INVISIBLE));
    s.receive(&hello(false), creds(INVISIBLE)).unwrap();
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
}

#[test]
fn invisible_socket_credentials_alone_count_as_absent() {
    let mut s = server_with(unavailable(), SocketCredentials::new(INVISIBLE));
    s.receive(&hello(false), none()).unwrap();
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
}

#[test]
fn invisibility_uses_the_configured_overflow_ids() {
    let cfg = ServerConfig {
        policy: CredentialPolicy {
            overflow: Overflow { uid: 99, gid: 98 },
            ..CredentialPolicy::default()
        },
        ..config()
    };
    let mut s = server_with(cfg, SocketCredentials::default());
    s.receive(&hello(false), creds(Ucred::from_raw(0, 99, 98)))
        .unwrap();
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
}

#[test]
fn uid_65534_with_a_real_pid_is_accepted() {
    let nobody = Ucred::known(321, 65534, 65534);
    let mut s = server_with(config(), SocketCredentials::new(nobody));
    s.receive(&hello(false), creds(nobody)).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    let p = est.peer.unwrap();
    assert_eq!(p.ucred, nobody);
    assert_eq!(p.source, CredentialSource::Both);
}

#[test]
fn unknown_uid_and_gid_are_not_credentials() {
    // error.rs: no_credentials covers credentials "missing, invisible, or
    // incomplete". A triple whose uid and gid are unknown vouches for nobody.
    let incomplete = Ucred::from_raw(4242, u32::MAX, u32::MAX);
    let mut s = server_with(config(), SocketCredentials::new(incomplete));
    s.receive(&hello(false), creds(incomplete)).unwrap();
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
}

#[test]
fn unavailable_message_credentials_socket_decides() {
    let mut s = server_with(unavailable(), SocketCredentials::new(CLIENT));
    s.receive(&hello(false), none()).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    let p = est.peer.unwrap();
    assert_eq!(p.ucred, CLIENT);
    assert_eq!(p.source, CredentialSource::Socket);
}

#[test]
fn unavailable_message_credentials_and_no_socket_credentials_is_status_3() {
    let mut s = server_with(unavailable(), SocketCredentials::default());
    s.receive(&hello(false), none()).unwrap();
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
}

#[test]
fn supplementary_groups_are_passed_through() {
    let socket = SocketCredentials {
        ucred: Some(CLIENT),
        groups: Some(vec![100, 27, 999]),
        pidfd: None,
    };
    let mut s = server_with(config(), socket);
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    assert_eq!(est.peer.unwrap().groups, Some(vec![100, 27, 999]));
}

#[test]
fn check10_deny_is_status_1_then_denied() {
    let log = Ledger::new();
    let mut s = server();
    let anc = Ancillary {
        pidfd: Some(log.fd()),
        ..creds(CLIENT)
    };
    s.receive(&hello(false), anc).unwrap();
    let mut out = Vec::new();
    assert_eq!(s.step(&mut out), Step::Decide);
    s.deny().unwrap();
    expect_refusal(&mut s, 1, "denied", Attach::Nothing);
    log.assert_all_dropped();
    assert_eq!(s.finish().unwrap_err().code(), "denied");
}

// ---------------------------------------------------------------------------
// Several reads for one hello.

#[test]
fn hello_one_byte_per_read_each_with_credentials_reports_first_pid() {
    let mut s = server();
    let h = hello(false);
    for (i, b) in h.iter().enumerate() {
        // Same uid and gid, a different pid on every piece.
        let c = Ucred::known(6000 + i as u32, 1000, 100);
        s.receive(&[*b], creds(c)).unwrap();
    }
    let est = expect_accept(s, Attach::Nothing);
    let p = est.peer.unwrap();
    assert_eq!(
        p.pid().map(|p| p.get()),
        Some(6000),
        "the first piece's pid"
    );
    assert_eq!(p.source, CredentialSource::Both);
}

#[test]
fn hello_piece_without_credentials_is_no_credentials() {
    for missing in [0usize, 1, 2] {
        let mut s = server();
        let h = hello(false);
        let cuts = [0, 5, 11, 16];
        for piece in 0..3 {
            let anc = if piece == missing {
                none()
            } else {
                creds(CLIENT)
            };
            s.receive(&h[cuts[piece]..cuts[piece + 1]], anc).unwrap();
        }
        expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
    }
}

#[test]
fn hello_piece_with_invisible_credentials_is_no_credentials() {
    let mut s = server();
    let h = hello(false);
    s.receive(&h[..8], creds(CLIENT)).unwrap();
    s.receive(&h[8..], creds(INVISIBLE)).unwrap();
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
}

#[test]
fn hello_pieces_with_differing_uid_is_mismatch() {
    // No socket credentials: only the pieces disagree with each other.
    let mut s = server_with(config(), SocketCredentials::default());
    let h = hello(false);
    s.receive(&h[..8], creds(CLIENT)).unwrap();
    s.receive(&h[8..], creds(Ucred::known(4242, 0, 100)))
        .unwrap();
    expect_refusal(&mut s, 5, "credentials_mismatch", Attach::Nothing);
}

#[test]
fn hello_pieces_with_differing_gid_is_mismatch() {
    let mut s = server_with(config(), SocketCredentials::default());
    let h = hello(false);
    s.receive(&h[..3], creds(CLIENT)).unwrap();
    s.receive(&h[3..9], creds(CLIENT)).unwrap();
    s.receive(&h[9..], creds(Ucred::known(4242, 1000, 0)))
        .unwrap();
    expect_refusal(&mut s, 5, "credentials_mismatch", Attach::Nothing);
}

#[test]
fn hello_later_piece_disagreeing_with_socket_credentials_is_mismatch() {
    // The first piece agrees with the socket; the second agrees with neither.
    let mut s = server();
    let h = hello(false);
    s.receive(&h[..8], creds(CLIENT)).unwrap();
    s.receive(&h[8..], creds(Ucred::known(4242, 2000, 2000)))
        .unwrap();
    expect_refusal(&mut s, 5, "credentials_mismatch", Attach::Nothing);
}

// ---------------------------------------------------------------------------
// pidfd rules.

#[test]
fn scm_pidfd_of_first_piece_is_reported_others_closed() {
    let log = Ledger::new();
    let socket_pidfd = log.fd(); // id 1
    let mut s = server_with(
        config(),
        SocketCredentials {
            ucred: Some(CLIENT),
            groups: None,
            pidfd: Some(socket_pidfd),
        },
    );
    let h = hello(false);
    let first = log.fd(); // id 2
    s.receive(
        &h[..6],
        Ancillary {
            pidfd: Some(first),
            ..creds(CLIENT)
        },
    )
    .unwrap();
    let second = log.fd(); // id 3
    s.receive(
        &h[6..],
        Ancillary {
            pidfd: Some(second),
            ..creds(Ucred::known(9999, 1000, 100))
        },
    )
    .unwrap();
    let est = expect_accept(s, Attach::Nothing);
    let p = est.peer.unwrap();
    assert_eq!(p.pid().map(|p| p.get()), Some(4242));
    assert_eq!(p.pidfd.as_ref().map(Fd::id), Some(2));
    log.assert_all_dropped_except(&[2]);
    drop(p);
    log.assert_all_dropped();
}

#[test]
fn scm_pidfd_of_a_later_piece_is_not_reported() {
    // PROTOCOL.md 2: the pidfd comes from SCM_PIDFD on the first piece's
    // read, else from SO_PEERPIDFD when its pid is the reported pid.
    let log = Ledger::new();
    let socket_pidfd = log.fd(); // id 1, pid 4242
    let mut s = server_with(
        config(),
        SocketCredentials {
            ucred: Some(CLIENT),
            groups: None,
            pidfd: Some(socket_pidfd),
        },
    );
    let h = hello(false);
    s.receive(&h[..6], creds(CLIENT)).unwrap();
    let later = log.fd(); // id 2, a pidfd of another process
    s.receive(
        &h[6..],
        Ancillary {
            pidfd: Some(later),
            ..creds(Ucred::known(9999, 1000, 100))
        },
    )
    .unwrap();
    let est = expect_accept(s, Attach::Nothing);
    let p = est.peer.unwrap();
    assert_eq!(p.pid().map(|p| p.get()), Some(4242));
    assert_eq!(p.pidfd.as_ref().map(Fd::id), Some(1));
    log.assert_all_dropped_except(&[1]);
}

#[test]
fn so_peerpidfd_reported_when_its_pid_is_the_reported_pid() {
    let log = Ledger::new();
    let mut s = server_with(
        config(),
        SocketCredentials {
            ucred: Some(CLIENT),
            groups: None,
            pidfd: Some(log.fd()),
        },
    );
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    let p = est.peer.unwrap();
    assert_eq!(p.pidfd.as_ref().map(Fd::id), Some(1));
    log.assert_dropped(&[]);
    drop(p);
    log.assert_all_dropped();
}

#[test]
fn so_peerpidfd_dropped_when_the_hello_came_from_another_pid() {
    let log = Ledger::new();
    let mut s = server_with(
        config(),
        SocketCredentials {
            ucred: Some(CLIENT),
            groups: None,
            pidfd: Some(log.fd()),
        },
    );
    // A forked child (same ids, other pid) sends the hello.
    s.receive(&hello(false), creds(Ucred::known(5555, 1000, 100)))
        .unwrap();
    let est = expect_accept(s, Attach::Nothing);
    let p = est.peer.unwrap();
    assert_eq!(p.pid().map(|p| p.get()), Some(5555));
    assert!(p.pidfd.is_none());
    log.assert_all_dropped();
}

#[test]
fn so_peerpidfd_reported_with_socket_only_credentials() {
    let log = Ledger::new();
    let mut s = server_with(
        unavailable(),
        SocketCredentials {
            ucred: Some(CLIENT),
            groups: None,
            pidfd: Some(log.fd()),
        },
    );
    s.receive(&hello(false), none()).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    let p = est.peer.unwrap();
    assert_eq!(p.source, CredentialSource::Socket);
    assert_eq!(p.pidfd.as_ref().map(Fd::id), Some(1));
}

#[test]
fn so_peerpidfd_without_a_socket_pid_is_dropped() {
    let log = Ledger::new();
    let mut s = server_with(
        config(),
        SocketCredentials {
            ucred: Some(Ucred::from_raw(0, 1000, 100)),
            groups: None,
            pidfd: Some(log.fd()),
        },
    );
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    let est = expect_accept(s, Attach::Nothing);
    assert!(est.peer.unwrap().pidfd.is_none());
    log.assert_all_dropped();
}

#[test]
fn every_pidfd_is_closed_on_refusal() {
    let log = Ledger::new();
    let mut s = server_with(
        config(),
        SocketCredentials {
            ucred: Some(CLIENT),
            groups: None,
            pidfd: Some(log.fd()),
        },
    );
    let anc = Ancillary {
        pidfd: Some(log.fd()),
        ..creds(Ucred::known(4242, 1, 1))
    };
    s.receive(&hello(false), anc).unwrap();
    expect_refusal(&mut s, 5, "credentials_mismatch", Attach::Nothing);
    log.assert_all_dropped();
    drop(s);
    log.assert_all_dropped();
}

#[test]
fn pidfd_on_a_hello_judged_malformed_is_closed() {
    let log = Ledger::new();
    let mut s = server();
    let anc = Ancillary {
        pidfd: Some(log.fd()),
        ..creds(CLIENT)
    };
    s.receive(&msg_magic(*b"BAD!", 1, 0, 32, MIB16, 0), anc)
        .unwrap();
    expect_refusal(&mut s, 4, "hello_bad_magic", Attach::Nothing);
    drop(s);
    log.assert_all_dropped();
}

// ---------------------------------------------------------------------------
// Mutual flag on refusals: OwnCredentials on every reply once the hello's
// flag byte could be read.

#[test]
fn mutual_refusals_attach_own_credentials() {
    type Case = (&'static str, [u8; 16], Option<Ucred>, u8, &'static str);
    let cases: [Case; 6] = [
        (
            "version 0",
            msg(0, 1, 32, MIB16, 0),
            Some(CLIENT),
            2,
            "hello_unsupported_version",
        ),
        (
            "reserved",
            msg(1, 0x03, 32, MIB16, 0),
            Some(CLIENT),
            4,
            "hello_reserved",
        ),
        (
            "limit",
            msg(1, 1, 254, MIB16, 0),
            Some(CLIENT),
            4,
            "hello_limit",
        ),
        ("no creds", hello(true), None, 3, "no_credentials"),
        (
            "mismatch",
            hello(true),
            Some(Ucred::known(4242, 1, 1)),
            5,
            "credentials_mismatch",
        ),
        (
            "invisible",
            hello(true),
            Some(INVISIBLE),
            3,
            "no_credentials",
        ),
    ];
    for (name, h, c, status, want) in cases {
        let mut s = server();
        let anc = match c {
            Some(c) => creds(c),
            None => none(),
        };
        s.receive(&h, anc).unwrap();
        let mut out = Vec::new();
        assert_eq!(
            s.step(&mut out),
            Step::Send(Attach::OwnCredentials),
            "{name}"
        );
        assert_eq!(out, reply_with(1, status, srv_limits()), "{name}");
        match s.step(&mut out) {
            Step::Failed(e) => assert_eq!(e.code(), want, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn mutual_trailing_bytes_attach_own_credentials() {
    let mut s = server();
    let mut r = hello(true).to_vec();
    r.push(0);
    s.receive(&r, creds(CLIENT)).unwrap();
    expect_refusal(&mut s, 4, "hello_trailing_bytes", Attach::OwnCredentials);
}

#[test]
fn mutual_deny_attaches_own_credentials() {
    let mut s = server();
    s.receive(&hello(true), creds(CLIENT)).unwrap();
    let mut out = Vec::new();
    assert_eq!(s.step(&mut out), Step::Decide);
    s.deny().unwrap();
    expect_refusal(&mut s, 1, "denied", Attach::OwnCredentials);
}

#[test]
fn mutual_bytes_during_decide_attach_own_credentials() {
    let mut s = server();
    s.receive(&hello(true), creds(CLIENT)).unwrap();
    let mut out = Vec::new();
    assert_eq!(s.step(&mut out), Step::Decide);
    s.receive(b"x", creds(CLIENT)).unwrap();
    expect_refusal(&mut s, 4, "hello_trailing_bytes", Attach::OwnCredentials);
}

#[test]
fn mutual_hello_with_fds_reply_attaches_own_credentials() {
    let log = Ledger::new();
    let mut s = server();
    let anc = Ancillary {
        fds: log.fds(1),
        ..creds(CLIENT)
    };
    s.receive(&hello(true), anc).unwrap();
    log.assert_all_dropped();
    expect_refusal(&mut s, 4, "hello_fds", Attach::OwnCredentials);
}

#[test]
fn mutual_seqpacket_wrong_record_size_attaches_own_credentials() {
    let mut s = server_with(seqpacket(), SocketCredentials::new(CLIENT));
    let mut rec = hello(true).to_vec();
    rec.push(0);
    s.receive(&rec, creds(CLIENT)).unwrap();
    expect_refusal(&mut s, 4, "hello_record_size", Attach::OwnCredentials);
}

#[test]
fn mutual_short_hello_with_flag_byte_attaches_own_credentials() {
    let mut s = server();
    s.receive(&hello(true)[..15], creds(CLIENT)).unwrap();
    s.receive_eof().unwrap();
    expect_refusal(&mut s, 4, "hello_short", Attach::OwnCredentials);
}

// ---------------------------------------------------------------------------
// Precedence between checks.

#[test]
fn precedence_fds_beat_bad_magic() {
    let log = Ledger::new();
    let mut s = server();
    let anc = Ancillary {
        fds: log.fds(1),
        ..creds(CLIENT)
    };
    s.receive(&msg_magic(*b"XXXX", 1, 0, 32, MIB16, 0), anc)
        .unwrap();
    log.assert_all_dropped();
    expect_refusal(&mut s, 4, "hello_fds", Attach::Nothing);
}

#[test]
fn precedence_fds_beat_short() {
    let log = Ledger::new();
    let mut s = server();
    let anc = Ancillary {
        fds: log.fds(1),
        ..creds(CLIENT)
    };
    s.receive(&hello(false)[..5], anc).unwrap();
    s.receive_eof().unwrap();
    log.assert_all_dropped();
    expect_refusal(&mut s, 4, "hello_fds", Attach::Nothing);
}

#[test]
fn precedence_fds_beat_record_size() {
    let log = Ledger::new();
    let mut s = server_with(seqpacket(), SocketCredentials::new(CLIENT));
    let anc = Ancillary {
        fds: log.fds(1),
        ..creds(CLIENT)
    };
    s.receive(&hello(false)[..15], anc).unwrap();
    log.assert_all_dropped();
    expect_refusal(&mut s, 4, "hello_fds", Attach::Nothing);
}

#[test]
fn precedence_short_beats_bad_magic() {
    let mut s = server();
    s.receive(b"XXXXX", creds(CLIENT)).unwrap();
    s.receive_eof().unwrap();
    expect_refusal(&mut s, 4, "hello_short", Attach::Nothing);
}

#[test]
fn precedence_record_size_beats_bad_magic() {
    let mut s = server_with(seqpacket(), SocketCredentials::new(CLIENT));
    let mut rec = msg_magic(*b"XXXX", 0, 0, 999, 0, 1).to_vec();
    rec.push(0);
    s.receive(&rec, none()).unwrap();
    expect_refusal(&mut s, 4, "hello_record_size", Attach::Nothing);
}

#[test]
fn precedence_bad_magic_beats_version_0() {
    let mut s = server();
    s.receive(&msg_magic(*b"MOM\0", 0, 0, 32, MIB16, 0), creds(CLIENT))
        .unwrap();
    expect_refusal(&mut s, 4, "hello_bad_magic", Attach::Nothing);
}

#[test]
fn precedence_bad_magic_beats_everything_after_it() {
    // Bad magic, version 0, reserved bits, 254 fds, trailing bytes, no creds.
    let mut s = server();
    let mut r = msg_magic(*b"MON\x7f", 0, 0xFE, 254, 0, 5).to_vec();
    r.push(1);
    s.receive(&r, none()).unwrap();
    expect_refusal(&mut s, 4, "hello_bad_magic", Attach::Nothing);
}

#[test]
fn precedence_version_0_beats_reserved_limit_trailing_and_credentials() {
    let mut s = server();
    let mut r = msg(0, 0xFE, 254, 0, 9).to_vec();
    r.push(1);
    s.receive(&r, none()).unwrap();
    expect_refusal(&mut s, 2, "hello_unsupported_version", Attach::Nothing);
}

#[test]
fn precedence_reserved_beats_too_many_fds() {
    let mut s = server();
    s.receive(&msg(1, 0x10, 254, MIB16, 0), creds(CLIENT))
        .unwrap();
    expect_refusal(&mut s, 4, "hello_reserved", Attach::Nothing);
}

#[test]
fn precedence_limit_beats_trailing_bytes() {
    let mut s = server();
    let mut r = msg(1, 0, 300, MIB16, 0).to_vec();
    r.extend_from_slice(b"more");
    s.receive(&r, creds(CLIENT)).unwrap();
    expect_refusal(&mut s, 4, "hello_limit", Attach::Nothing);
}

#[test]
fn precedence_trailing_bytes_beat_missing_credentials() {
    let mut s = server();
    let mut r = hello(false).to_vec();
    r.push(0);
    s.receive(&r, none()).unwrap();
    expect_refusal(&mut s, 4, "hello_trailing_bytes", Attach::Nothing);
}

#[test]
fn precedence_trailing_bytes_beat_mismatched_credentials() {
    let mut s = server();
    let mut r = hello(false).to_vec();
    r.push(0);
    s.receive(&r, creds(Ucred::known(4242, 0, 0))).unwrap();
    expect_refusal(&mut s, 4, "hello_trailing_bytes", Attach::Nothing);
}

#[test]
fn precedence_no_credentials_beats_mismatch_with_socket() {
    // Piece 1 disagrees with the socket credentials; piece 2 has none.
    let mut s = server();
    let h = hello(false);
    s.receive(&h[..8], creds(Ucred::known(4242, 0, 0))).unwrap();
    s.receive(&h[8..], none()).unwrap();
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
}

#[test]
fn precedence_no_credentials_beats_mismatch_between_pieces() {
    let mut s = server_with(config(), SocketCredentials::default());
    let h = hello(false);
    s.receive(&h[..4], creds(CLIENT)).unwrap();
    s.receive(&h[4..8], creds(Ucred::known(4242, 3, 3)))
        .unwrap();
    s.receive(&h[8..], none()).unwrap();
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
}

#[test]
fn precedence_credentials_are_judged_before_the_decision() {
    // A hello with bad credentials never reaches Decide: there is no peer
    // to decide on and the refusal is queued at once.
    let mut s = server();
    s.receive(&hello(false), none()).unwrap();
    assert!(s.peer().is_none());
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
}

// ---------------------------------------------------------------------------
// API contract: decisions, sticky errors.

#[test]
fn accept_without_pending_decision_is_usage_error() {
    let mut s = server();
    let e = s.accept().unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::NoDecisionPending));
    assert_eq!(e.code(), "no_decision_pending");
    let mut out = Vec::new();
    assert_eq!(s.step(&mut out), Step::Failed(e), "sticky");
    assert!(out.is_empty());
    assert_eq!(
        code(s.receive(&hello(false), creds(CLIENT))),
        "no_decision_pending"
    );
}

#[test]
fn deny_without_pending_decision_is_usage_error() {
    let mut s = server();
    s.receive(&hello(false)[..4], creds(CLIENT)).unwrap();
    assert_eq!(code(s.deny()), "no_decision_pending");
    let mut out = Vec::new();
    match s.step(&mut out) {
        Step::Failed(e) => assert_eq!(e.code(), "no_decision_pending"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn accept_after_accept_is_usage_error() {
    let mut s = server();
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    let mut out = Vec::new();
    assert_eq!(s.step(&mut out), Step::Decide);
    s.accept().unwrap();
    assert_eq!(code(s.accept()), "no_decision_pending");
}

#[test]
fn receive_after_failed_returns_the_sticky_error_and_closes_fds() {
    let log = Ledger::new();
    let mut s = server();
    s.receive(&hello(false), none()).unwrap();
    expect_refusal(&mut s, 3, "no_credentials", Attach::Nothing);
    let anc = Ancillary {
        fds: log.fds(2),
        pidfd: Some(log.fd()),
        ..creds(CLIENT)
    };
    assert_eq!(code(s.receive(b"frame", anc)), "no_credentials");
    log.assert_all_dropped();
    assert_eq!(code(s.receive_eof()), "no_credentials");
    assert_eq!(code(s.accept()), "no_credentials");
    assert_eq!(code(s.deny()), "no_credentials");
    let mut out = Vec::new();
    match s.step(&mut out) {
        Step::Failed(e) => assert_eq!(e.code(), "no_credentials"),
        other => panic!("{other:?}"),
    }
    assert!(out.is_empty(), "the reply is not sent twice");
    assert_eq!(s.finish().unwrap_err().code(), "no_credentials");
}

#[test]
fn receive_after_done_is_usage_error_and_sticky() {
    let log = Ledger::new();
    let mut s = server();
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    let mut out = Vec::new();
    assert_eq!(s.step(&mut out), Step::Decide);
    s.accept().unwrap();
    assert_eq!(s.step(&mut out), Step::Send(Attach::Nothing));
    assert_eq!(s.step(&mut out), Step::Done);
    let anc = Ancillary {
        fds: log.fds(1),
        ..none()
    };
    assert_eq!(code(s.receive(b"x", anc)), "unexpected_input");
    log.assert_all_dropped();
    match s.step(&mut out) {
        Step::Failed(e) => assert_eq!(e.code(), "unexpected_input"),
        other => panic!("{other:?}"),
    }
    assert_eq!(code(s.receive_eof()), "unexpected_input");
    assert_eq!(s.finish().unwrap_err().code(), "unexpected_input");
}

#[test]
fn finish_before_done_is_not_finished() {
    let s = server();
    assert_eq!(s.finish().unwrap_err().code(), "not_finished");
    let mut s = server();
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    assert_eq!(s.finish().unwrap_err().code(), "not_finished");
}

#[test]
fn step_in_await_hello_sends_nothing() {
    let mut s = server();
    let mut out = Vec::new();
    for _ in 0..3 {
        assert_eq!(s.step(&mut out), Step::NeedInput);
    }
    s.receive(&hello(false)[..7], creds(CLIENT)).unwrap();
    assert_eq!(s.step(&mut out), Step::NeedInput);
    assert!(out.is_empty());
}

#[test]
fn reply_is_appended_to_the_callers_buffer() {
    let mut s = server();
    s.receive(&hello(false), creds(CLIENT)).unwrap();
    let mut out = b"prefix".to_vec();
    assert_eq!(s.step(&mut out), Step::Decide);
    s.accept().unwrap();
    assert_eq!(s.step(&mut out), Step::Send(Attach::Nothing));
    assert_eq!(&out[..6], b"prefix");
    assert_eq!(out[6..], reply_with(1, 0, srv_limits()));
}
