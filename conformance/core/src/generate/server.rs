//! Server handshake cases. The expectations follow the order of checks of
//! PROTOCOL.md 3.3: fds (4), EOF before 16 bytes (4), seqpacket record
//! size (4), magic (4), version (2), flags and reserved (4), limits (4),
//! bytes beyond the hello before the reply (4), credentials (3, then 5),
//! decision (1).
//! Every status but 0 ends the connection after the reply; the reply always
//! carries byte 4 = 1 (negotiated or the server's highest) and the server's
//! own limits; bit 0 of a parsed hello makes the server attach its
//! credentials to the reply.

use super::draft::*;
use super::wire::{FDS, PAYLOAD, cat, hello, hello_limits, msg, reply};
use crate::model::{Config, Creds, Input, MessageCreds, MisuseCall, PeerSocket, Role, Socket};

const SH: Role = Role::ServerHandshake;

fn ok_reply() -> [u8; 16] {
    reply(1, 0, FDS, PAYLOAD)
}

fn refusal(status: u8) -> [u8; 16] {
    reply(1, status, FDS, PAYLOAD)
}

fn accepted() -> crate::model::Expected {
    authed(lim_default(), peer(CLIENT, "both", None), nothing())
}

fn d(name: &str, comment: &str) -> Draft {
    Draft::new(SH, server_cfg(), name, comment)
}

fn ds(config: Config, name: &str, comment: &str) -> Draft {
    Draft::new(SH, config, name, comment)
}

/// A refusal of the default hello's bytes with this status and error.
fn refused(
    name: &str,
    comment: &str,
    flags: &[&str],
    hello: impl AsRef<[u8]>,
    status: u8,
    code: &str,
) -> Draft {
    d(name, comment)
        .flags(flags)
        .events(vec![rdc(hello.as_ref(), CLIENT), out(&refusal(status))])
        .expect(fail(code))
}

pub(super) fn cases() -> Vec<Draft> {
    let mut v = vec![
        d("accept", "A v1 hello with the client's credentials; the caller accepts; the reply is status 0 with the server's limits.")
            .flags(&["Canonical"])
            .events(vec![rdc(&hello(false), CLIENT), accept(), out(&ok_reply())])
            .expect(accepted()),
        d("accept-mutual", "Hello flag bit 0: the reply carries the server's own credentials.")
            .flags(&["Canonical", "Mutual"])
            .events(vec![rdc(&hello(true), CLIENT), accept(), out_creds(&ok_reply())])
            .expect(accepted()),
        d("deny", "The caller denies an authenticated client: status 1, then the connection ends.")
            .flags(&["Canonical", "Decision"])
            .events(vec![rdc(&hello(false), CLIENT), deny(), out(&refusal(1))])
            .expect(fail("denied")),
        d("deny-mutual", "A denial of a mutual hello still carries the server's credentials.")
            .flags(&["Decision", "Mutual"])
            .events(vec![rdc(&hello(true), CLIENT), deny(), out_creds(&refusal(1))])
            .expect(fail("denied")),
        d("hello-in-two-reads", "The hello arrives in two reads, each with the same credentials.")
            .flags(&["Credentials"])
            .events(vec![rdc(&hello(false)[..8], CLIENT), rdc(&hello(false)[8..], CLIENT), accept(), out(&ok_reply())])
            .expect(accepted()),
        d("hello-in-sixteen-reads", "One byte per read, each with credentials.")
            .flags(&["Credentials"])
            .events({
                let mut e: Vec<_> = hello(false).iter().map(|b| rdc(&[*b], CLIENT)).collect();
                e.extend([accept(), out(&ok_reply())]);
                e
            })
            .expect(accepted()),
        d("pieces-from-forked-child", "The second read's credentials carry another pid (a forked child) but the same uid and gid: accepted, the pid reported is the first read's.")
            .flags(&["Credentials"])
            .events(vec![
                rdc(&hello(false)[..5], CLIENT),
                rdc(&hello(false)[5..], Creds { pid: 4243, ..CLIENT }),
                accept(),
                out(&ok_reply()),
            ])
            .expect(accepted()),
        d("piece-without-credentials", "Every read of the hello must carry message credentials; the second carries none: status 3.")
            .flags(&["Credentials"])
            .events(vec![rdc(&hello(false)[..8], CLIENT), rd0(&hello(false)[8..]), out(&refusal(3))])
            .expect(fail("no_credentials")),
        d("piece-other-uid", "The second read's credentials have another uid: status 5.")
            .flags(&["Credentials"])
            .events(vec![
                rdc(&hello(false)[..8], CLIENT),
                rdc(&hello(false)[8..], Creds { uid: 1001, ..CLIENT }),
                out(&refusal(5)),
            ])
            .expect(fail("credentials_mismatch")),
        d("piece-other-gid", "The second read's credentials have another gid: status 5.")
            .flags(&["Credentials"])
            .events(vec![
                rdc(&hello(false)[..8], CLIENT),
                rdc(&hello(false)[8..], Creds { gid: 101, ..CLIENT }),
                out(&refusal(5)),
            ])
            .expect(fail("credentials_mismatch")),
        refused("no-credentials", "A hello with no message credentials where the system has them: status 3.", &["Credentials"], hello(false), 3, "no_credentials")
            .events(vec![rd0(&hello(false)), out(&refusal(3))]),
        refused("invisible-credentials", "pid 0 with the overflow uid and gid: a process the server cannot see is not authenticated (status 3).", &["Credentials"], hello(false), 3, "no_credentials")
            .events(vec![rdc(&hello(false), INVISIBLE), out(&refusal(3))]),
        refused("message-uid-differs", "Message credentials with another uid than the socket's: the socket was handed over (status 5).", &["Credentials"], hello(false), 5, "credentials_mismatch")
            .events(vec![rdc(&hello(false), Creds { uid: 0, ..CLIENT }), out(&refusal(5))]),
        refused("message-gid-differs", "Message credentials with another gid than the socket's: status 5.", &["Credentials"], hello(false), 5, "credentials_mismatch")
            .events(vec![rdc(&hello(false), Creds { gid: 0, ..CLIENT }), out(&refusal(5))]),
        d("message-pid-differs", "Only the pid differs between socket and message credentials (a fork after connect): accepted, the message's pid reported.")
            .flags(&["Credentials"])
            .events(vec![rdc(&hello(false), Creds { pid: 5000, ..CLIENT }), accept(), out(&ok_reply())])
            .expect(authed(lim_default(), peer(Creds { pid: 5000, ..CLIENT }, "both", None), nothing())),
        ds(hs_config(Socket::Stream, None, None), "no-socket-credentials", "No SO_PEERCRED on this system, message credentials present: accepted on those alone.")
            .flags(&["Credentials"])
            .events(vec![rdc(&hello(false), CLIENT), accept(), out(&ok_reply())])
            .expect(authed(lim_default(), peer(CLIENT, "message", None), nothing())),
        ds(hs_config(Socket::Stream, None, None), "no-credentials-at-all", "Neither socket nor message credentials: status 3.")
            .flags(&["Credentials"])
            .events(vec![rd0(&hello(false)), out(&refusal(3))])
            .expect(fail("no_credentials")),
        refused("message-uid-unknown", "Message credentials with an unknown uid vouch for nobody: they count as absent (status 3).", &["Credentials"], hello(false), 3, "no_credentials")
            .events(vec![rdc(&hello(false), Creds { uid: u32::MAX, ..CLIENT }), out(&refusal(3))]),
        refused("message-gid-unknown", "Message credentials with an unknown gid count as absent (status 3).", &["Credentials"], hello(false), 3, "no_credentials")
            .events(vec![rdc(&hello(false), Creds { gid: u32::MAX, ..CLIENT }), out(&refusal(3))]),
        d("message-pid-zero-visible", "pid 0 with known, mapped ids (a pid namespace the server cannot see into) counts; the pid is reported unknown.")
            .flags(&["Credentials"])
            .events(vec![rdc(&hello(false), Creds { pid: 0, ..CLIENT }), accept(), out(&ok_reply())])
            .expect(authed(lim_default(), peer(Creds { pid: 0, ..CLIENT }, "both", None), nothing())),
        ds(hs_config(Socket::Stream, Some(Creds { uid: u32::MAX, ..CLIENT }), None), "socket-uid-unknown", "Socket credentials with an unknown uid count as absent; the message's decide.")
            .flags(&["Credentials"])
            .events(vec![rdc(&hello(false), CLIENT), accept(), out(&ok_reply())])
            .expect(authed(lim_default(), peer(CLIENT, "message", None), nothing())),
        ds(hs_config(Socket::Stream, Some(Creds { pid: 0, ..CLIENT }), None), "socket-pid-unknown", "The socket credentials lack a pid; uid and gid agree with the message's: accepted, the message's pid reported.")
            .flags(&["Credentials"])
            .events(vec![rdc(&hello(false), CLIENT), accept(), out(&ok_reply())])
            .expect(accepted()),
    ];
    v.extend(macos_cases());
    v.extend(pidfd_cases());
    v.extend(magic_cases());
    v.extend(version_cases());
    v.extend(flag_cases());
    v.extend(limit_cases());
    v.extend(trailing_cases());
    v.extend(eof_cases());
    v.extend(fd_cases());
    v.extend(order_cases());
    v.extend(seqpacket_cases());
    v.extend(misuse_cases());
    v
}

fn macos(peer: Option<Creds>) -> Config {
    let mut c = hs_config(Socket::Stream, peer, None);
    if let Some(p) = c.credential_policy.as_mut() {
        p.message_credentials = MessageCreds::Unavailable;
    }
    c
}

fn macos_cases() -> Vec<Draft> {
    vec![
        ds(
            macos(Some(CLIENT)),
            "no-message-credentials-system",
            "A system without per-message credentials (macOS): socket credentials alone decide.",
        )
        .flags(&["Credentials"])
        .events(vec![rd0(&hello(false)), accept(), out(&ok_reply())])
        .expect(authed(
            lim_default(),
            peer(CLIENT, "socket", None),
            nothing(),
        )),
        ds(
            macos(None),
            "no-message-credentials-system-no-socket",
            "No per-message credentials and no socket credentials: status 3.",
        )
        .flags(&["Credentials"])
        .events(vec![rd0(&hello(false)), out(&refusal(3))])
        .expect(fail("no_credentials")),
        ds(
            macos(Some(INVISIBLE)),
            "no-message-credentials-system-invisible",
            "Socket credentials of a process the server cannot see: status 3.",
        )
        .flags(&["Credentials"])
        .events(vec![rd0(&hello(false)), out(&refusal(3))])
        .expect(fail("no_credentials")),
        {
            let mut c = hs_config(Socket::Stream, Some(CLIENT), None);
            if let Some(p) = c.credential_policy.as_mut() {
                p.overflow_uid = 70000;
                p.overflow_gid = 70001;
            }
            ds(c, "invisible-custom-overflow", "The overflow ids are configurable (/proc/sys/kernel/overflow{uid,gid}): pid 0 with those ids is invisible, status 3.")
                .flags(&["Credentials"])
                .events(vec![rdc(&hello(false), Creds { pid: 0, uid: 70000, gid: 70001 }), out(&refusal(3))])
                .expect(fail("no_credentials"))
        },
    ]
}

fn with_pidfd(peer: Creds, pidfd: &str) -> Config {
    let mut c = server_cfg();
    c.peer_socket = Some(PeerSocket {
        credentials: Some(peer),
        pidfd: Some(pidfd.to_owned()),
    });
    c
}

fn pidfd_read(bytes: &[u8], creds: Creds, pidfd: &str) -> crate::model::Event {
    rd(Input {
        creds: Some(creds),
        pidfd: Some(pidfd.to_owned()),
        ..input(bytes)
    })
}

fn pidfd_cases() -> Vec<Draft> {
    vec![
        d("scm-pidfd-reported", "SCM_PIDFD came with the hello: it is the pidfd reported.")
            .flags(&["Pidfd"])
            .events(vec![pidfd_read(&hello(false), CLIENT, "pidfd1"), accept(), out(&ok_reply())])
            .expect(authed(lim_default(), peer(CLIENT, "both", Some("pidfd1")), nothing())),
        ds(with_pidfd(CLIENT, "sockpidfd"), "socket-pidfd-same-pid", "No SCM_PIDFD; SO_PEERPIDFD's pid equals the reported pid: it is reported.")
            .flags(&["Pidfd"])
            .events(vec![rdc(&hello(false), CLIENT), accept(), out(&ok_reply())])
            .expect(authed(lim_default(), peer(CLIENT, "both", Some("sockpidfd")), nothing())),
        ds(with_pidfd(CLIENT, "sockpidfd"), "socket-pidfd-other-pid", "SO_PEERPIDFD is of the connecting process, the hello came from a fork: no pidfd reported, the socket's is closed.")
            .flags(&["Pidfd", "FdsClosed"])
            .events(vec![rdc(&hello(false), Creds { pid: 4300, ..CLIENT }), accept(), out(&ok_reply())])
            .expect(authed(lim_default(), peer(Creds { pid: 4300, ..CLIENT }, "both", None), nothing())),
        ds(with_pidfd(CLIENT, "sockpidfd"), "scm-pidfd-preferred", "Both SCM_PIDFD and SO_PEERPIDFD: the message's wins, the other is closed.")
            .flags(&["Pidfd", "FdsClosed"])
            .events(vec![pidfd_read(&hello(false), CLIENT, "pidfd1"), accept(), out(&ok_reply())])
            .expect(authed(lim_default(), peer(CLIENT, "both", Some("pidfd1")), nothing())),
        d("scm-pidfd-on-second-piece", "Only the first read's SCM_PIDFD counts (the reported pid is the first read's); a pidfd on a later piece is closed.")
            .flags(&["Pidfd", "FdsClosed"])
            .events(vec![
                rdc(&hello(false)[..8], CLIENT),
                pidfd_read(&hello(false)[8..], CLIENT, "pidfd2"),
                accept(),
                out(&ok_reply()),
            ])
            .expect(accepted()),
        d("scm-pidfd-but-refused", "A pidfd arrives with a hello that is then refused (no usable credentials): it is closed.")
            .flags(&["Pidfd", "FdsClosed", "Credentials"])
            .events(vec![pidfd_read(&hello(false), INVISIBLE, "pidfd1"), out(&refusal(3))])
            .expect(fail("no_credentials")),
    ]
}

fn magic_cases() -> Vec<Draft> {
    let mut v = Vec::new();
    for i in 0..4 {
        let mut h = hello(false);
        h[i] ^= 0x20;
        v.push(refused(
            &format!("bad-magic-byte-{i}"),
            &format!("Byte {i} of the magic is wrong: status 4."),
            &["Malformed"],
            h,
            4,
            "hello_bad_magic",
        ));
    }
    v.push(refused(
        "bad-magic-zeros",
        "Sixteen zero bytes: status 4.",
        &["Malformed"],
        vec![0; 16],
        4,
        "hello_bad_magic",
    ));
    v.push(refused(
        "bad-magic-http",
        "Another protocol's greeting: status 4.",
        &["Malformed"],
        b"GET / HTTP/1.1\r\n",
        4,
        "hello_bad_magic",
    ));
    let mut m = hello(true);
    m[3] = 1;
    v.push(refused(
        "bad-magic-mutual-bit",
        "A bad magic: nothing of the hello is parsed, so bit 0 does not ask for credentials.",
        &["Malformed"],
        m,
        4,
        "hello_bad_magic",
    ));
    v
}

fn version_cases() -> Vec<Draft> {
    let mut v = vec![refused("version-0", "Version 0 is below the lowest the server speaks: status 2, byte 4 = the server's highest (1).", &["Version"], msg(0, 0, FDS, PAYLOAD, 0), 2, "hello_unsupported_version")
        .events(vec![rdc(&msg(0, 0, FDS, PAYLOAD, 0), CLIENT), out(&reply(1, 2, FDS, PAYLOAD))])];
    for ver in [2u8, 3, 255] {
        v.push(
            d(&format!("version-{ver}"), "A client whose highest version is above 1: the server answers with the negotiated version 1.")
                .flags(&["Version"])
                .events(vec![rdc(&msg(ver, 0, FDS, PAYLOAD, 0), CLIENT), accept(), out(&ok_reply())])
                .expect(accepted()),
        );
    }
    v.push(
        d("version-2-extensions-ignored", "For a client highest above 1, flag bits 1-7 and the reserved field are how later versions extend the hello: a v1 server ignores them.")
            .flags(&["Version"])
            .events(vec![rdc(&msg(2, 0xFE, FDS, PAYLOAD, 0xFFFF_FFFF), CLIENT), accept(), out(&ok_reply())])
            .expect(accepted()),
    );
    v.push(
        d(
            "version-2-mutual",
            "Bit 0 keeps its meaning in a higher-version hello.",
        )
        .flags(&["Version", "Mutual"])
        .events(vec![
            rdc(&msg(2, 0x81, FDS, PAYLOAD, 7), CLIENT),
            accept(),
            out_creds(&ok_reply()),
        ])
        .expect(accepted()),
    );
    v
}

fn flag_cases() -> Vec<Draft> {
    let mut v = Vec::new();
    for bit in 1..8 {
        let h = msg(1, 1 << bit, FDS, PAYLOAD, 0);
        v.push(refused(
            &format!("flag-bit-{bit}"),
            &format!("A v1 hello with flag bit {bit} set: status 4."),
            &["Malformed"],
            h,
            4,
            "hello_reserved",
        ));
    }
    v.push(
        d("flag-bits-with-mutual", "Bit 0 and bit 1: the hello is parsed, so the refusal carries the server's credentials.")
            .flags(&["Malformed", "Mutual"])
            .events(vec![rdc(&msg(1, 0x03, FDS, PAYLOAD, 0), CLIENT), out_creds(&refusal(4))])
            .expect(fail("hello_reserved")),
    );
    for (i, r) in [1u32, 0x100, 0x1_0000, 0x8000_0000].into_iter().enumerate() {
        v.push(refused(
            &format!("reserved-{i}"),
            &format!("A v1 hello with reserved field {r:#x}: status 4."),
            &["Malformed"],
            msg(1, 0, FDS, PAYLOAD, r),
            4,
            "hello_reserved",
        ));
    }
    v
}

fn limit_cases() -> Vec<Draft> {
    let mut v = Vec::new();
    for fds in [254u16, 255, 256, 0xFFFF] {
        v.push(refused(
            &format!("limit-fds-{fds}"),
            &format!("The hello offers {fds} fds per frame, above 253 (SCM_MAX_FD): status 4."),
            &["Limits", "Malformed"],
            hello_limits(false, fds, PAYLOAD),
            4,
            "hello_limit",
        ));
    }
    let ok = |name: &str, comment: &str, fds: u16, payload: u32, neg: (u32, u32)| {
        d(name, comment)
            .flags(&["Limits"])
            .events(vec![
                rdc(&hello_limits(false, fds, payload), CLIENT),
                accept(),
                out(&ok_reply()),
            ])
            .expect(authed(
                lim(neg.0, neg.1),
                peer(CLIENT, "both", None),
                nothing(),
            ))
    };
    v.push(ok(
        "limit-fds-253",
        "253 fds is the largest legal offer; the server's 32 is smaller and wins.",
        253,
        PAYLOAD,
        (32, PAYLOAD),
    ));
    v.push(ok(
        "limit-fds-0",
        "0 fds per frame is legal: the channel then carries no fds.",
        0,
        PAYLOAD,
        (0, PAYLOAD),
    ));
    v.push(ok(
        "limit-payload-0",
        "A largest payload of 0 is legal: only empty frames.",
        FDS,
        0,
        (32, 0),
    ));
    v.push(ok(
        "limit-payload-max",
        "The largest u32 payload is legal; the server's 16 MiB wins.",
        FDS,
        u32::MAX,
        (32, PAYLOAD),
    ));
    v.push(ok(
        "limit-smaller-client",
        "Both sides use the smaller of the two limits.",
        4,
        4096,
        (4, 4096),
    ));
    let mut c = server_cfg();
    c.limits = Some(lim(0, 0));
    v.push(
        ds(
            c,
            "server-limits-zero",
            "A server that accepts no fds and only empty frames says so in its reply.",
        )
        .flags(&["Limits"])
        .events(vec![
            rdc(&hello(false), CLIENT),
            accept(),
            out(&reply(1, 0, 0, 0)),
        ])
        .expect(authed(lim(0, 0), peer(CLIENT, "both", None), nothing())),
    );
    let mut c = server_cfg();
    c.limits = Some(lim(253, u32::MAX));
    v.push(
        ds(
            c,
            "server-limits-max",
            "A server at the largest limits; the client's smaller ones win.",
        )
        .flags(&["Limits"])
        .events(vec![
            rdc(&hello(false), CLIENT),
            accept(),
            out(&reply(1, 0, 253, u32::MAX)),
        ])
        .expect(accepted()),
    );
    let mut c = server_cfg();
    c.limits = Some(lim(254, PAYLOAD));
    v.push(
        ds(
            c,
            "config-limit-254",
            "A server configured with 254 fds per frame is refused before any I/O.",
        )
        .flags(&["Config", "Limits"])
        .events(vec![])
        .expect(fail("limit_out_of_range")),
    );
    v
}

fn trailing_cases() -> Vec<Draft> {
    let h = hello(false);
    vec![
        refused("trailing-byte", "A 17th byte arrives with the hello, before any reply: status 4.", &["Malformed"], cat(&[&h, &[0]]), 4, "hello_trailing_bytes"),
        refused("trailing-second-hello", "Two hellos in a row: the second is bytes beyond the hello, status 4.", &["Malformed"], cat(&[&h, &h]), 4, "hello_trailing_bytes"),
        d("trailing-byte-mutual", "Bytes beyond a mutual hello: status 4 with the server's credentials.")
            .flags(&["Malformed", "Mutual"])
            .events(vec![rdc(&cat(&[&hello(true), b"x"]), CLIENT), out_creds(&refusal(4))])
            .expect(fail("hello_trailing_bytes")),
        d("bytes-while-deciding", "The hello is complete and the caller has not decided yet when another byte arrives: it counts as bytes beyond the hello (status 4).")
            .flags(&["Malformed", "Decision"])
            .events(vec![rdc(&h, CLIENT), rdc(b"x", CLIENT), out(&refusal(4))])
            .expect(fail("hello_trailing_bytes")),
        d("bytes-while-deciding-no-credentials", "Bytes without credentials while the decision is pending: still bytes beyond the hello (status 4).")
            .flags(&["Malformed", "Decision"])
            .events(vec![rdc(&h, CLIENT), rd0(b"frame"), out(&refusal(4))])
            .expect(fail("hello_trailing_bytes")),
        d("eof-while-deciding", "EOF while the decision is pending is not an error: the hello is answered, and the channel sees the EOF.")
            .flags(&["Eof", "Decision", "Leftover"])
            .events(vec![rdc(&h, CLIENT), eof(), accept(), out(&ok_reply())])
            .expect(authed(lim_default(), peer(CLIENT, "both", None), left(b"", &[], true))),
        d("eof-after-accept", "EOF right after the reply belongs to the channel.")
            .flags(&["Eof", "Leftover"])
            .events(vec![rdc(&h, CLIENT), accept(), out(&ok_reply()), eof()])
            .expect(authed(lim_default(), peer(CLIENT, "both", None), left(b"", &[], true))),
        d("frames-after-accept", "A frame (with an fd) after the reply belongs to the channel.")
            .flags(&["Leftover"])
            .events(vec![rdc(&h, CLIENT), accept(), out(&ok_reply()), rdf(&super::wire::frame(b"hi", 1), &["fd1"])])
            .expect(authed(lim_default(), peer(CLIENT, "both", None), left(&super::wire::frame(b"hi", 1), &["fd1"], false))),
    ]
}

fn eof_cases() -> Vec<Draft> {
    let mut v = vec![
        d(
            "eof-before-hello",
            "The connection closes before any byte: closed without a reply.",
        )
        .flags(&["Eof"])
        .events(vec![eof()])
        .expect(fail("eof_before_hello")),
    ];
    for n in [1usize, 4, 8, 15] {
        v.push(
            d(
                &format!("eof-after-{n}-bytes"),
                &format!("EOF after {n} bytes of the hello: status 4."),
            )
            .flags(&["Eof", "Malformed"])
            .events(vec![
                rdc(&hello(false)[..n], CLIENT),
                eof(),
                out(&refusal(4)),
            ])
            .expect(fail("hello_short")),
        );
    }
    v.push(
        d("eof-after-short-bad-magic", "EOF after 10 bytes whose magic is wrong: EOF before 16 bytes is checked before the magic.")
            .flags(&["Eof", "CheckOrder"])
            .events(vec![rdc(&[0xFF; 10], CLIENT), eof(), out(&refusal(4))])
            .expect(fail("hello_short")),
    );
    v.push(
        d(
            "incomplete-nothing",
            "No input at all: the server is still waiting for the hello.",
        )
        .flags(&["Incomplete"])
        .events(vec![])
        .expect(fail("not_finished")),
    );
    v.push(
        d(
            "incomplete-half-hello",
            "Half a hello and no EOF: still waiting.",
        )
        .flags(&["Incomplete"])
        .events(vec![rdc(&hello(false)[..8], CLIENT)])
        .expect(fail("not_finished")),
    );
    v.push(
        d(
            "incomplete-deciding",
            "A complete hello and no decision: the caller must decide before the outcome.",
        )
        .flags(&["Incomplete", "Decision"])
        .events(vec![rdc(&hello(false), CLIENT)])
        .expect(fail("not_finished")),
    );
    v
}

fn fd_cases() -> Vec<Draft> {
    let h = hello(false);
    vec![
        d("fds-with-hello", "An fd attached to the hello: status 4, the fd closed.")
            .flags(&["Malformed", "FdsClosed"])
            .events(vec![rdcf(&h, CLIENT, &["fd1"]), out(&refusal(4))])
            .expect(fail("hello_fds")),
        d("fds-with-hello-three", "Three fds attached to the hello: all closed.")
            .flags(&["Malformed", "FdsClosed"])
            .events(vec![rdcf(&h, CLIENT, &["fd1", "fd2", "fd3"]), out(&refusal(4))])
            .expect(fail("hello_fds")),
        d("fds-with-second-piece", "The fd comes with the second read of the hello: still fds attached to the hello.")
            .flags(&["Malformed", "FdsClosed"])
            .events(vec![rdc(&h[..10], CLIENT), rdcf(&h[10..], CLIENT, &["fd1"]), out(&refusal(4))])
            .expect(fail("hello_fds")),
        d("fds-with-mutual-hello", "An fd with a hello showing the magic and bit 0: refused (status 4), and the reply still carries the server's credentials.")
            .flags(&["Malformed", "FdsClosed", "Mutual"])
            .events(vec![rdcf(&hello(true), CLIENT, &["fd1"]), out_creds(&refusal(4))])
            .expect(fail("hello_fds")),
        d("eof-after-8-bytes-mutual", "EOF after 8 bytes that show the magic and bit 0: the refusal carries the server's credentials.")
            .flags(&["Eof", "Mutual"])
            .events(vec![rdc(&hello(true)[..8], CLIENT), eof(), out_creds(&refusal(4))])
            .expect(fail("hello_short")),
        d("eof-after-5-bytes-mutual", "EOF after 5 bytes: the flags byte never came, so no credentials are attached.")
            .flags(&["Eof", "Mutual"])
            .events(vec![rdc(&hello(true)[..5], CLIENT), eof(), out(&refusal(4))])
            .expect(fail("hello_short")),
        d("fds-while-deciding", "An fd-carrying read while the decision is pending counts as trailing input (status 4); the fd is closed.")
            .flags(&["Decision", "FdsClosed"])
            .events(vec![rdc(&h, CLIENT), rdcf(b"x", CLIENT, &["fd1"]), out(&refusal(4))])
            .expect(fail("hello_trailing_bytes")),
        d("ctrunc-with-hello", "MSG_CTRUNC on the hello's read: only fds can overflow the control buffer, so it counts as fds attached (status 4).")
            .flags(&["Malformed"])
            .events(vec![rd(Input { creds: Some(CLIENT), ctrunc: true, ..input(&h) }), out(&refusal(4))])
            .expect(fail("hello_fds")),
    ]
}

fn order_cases() -> Vec<Draft> {
    let bad_magic = {
        let mut m = hello(false);
        m[0] = b'X';
        m
    };
    vec![
        d("order-fds-before-magic", "fds and a bad magic: fds are checked first.")
            .flags(&["CheckOrder", "FdsClosed"])
            .events(vec![rdcf(&bad_magic, CLIENT, &["fd1"]), out(&refusal(4))])
            .expect(fail("hello_fds")),
        d("order-fds-before-short", "fds, then EOF after 6 bytes: fds are checked first.")
            .flags(&["CheckOrder", "FdsClosed", "Eof"])
            .events(vec![rdcf(&hello(false)[..6], CLIENT, &["fd1"]), eof(), out(&refusal(4))])
            .expect(fail("hello_fds")),
        refused("order-version-before-reserved", "Version 0 with flag bits and reserved set: the version is checked first (status 2).", &["CheckOrder", "Version"], msg(0, 0xFE, FDS, PAYLOAD, 9), 2, "hello_unsupported_version"),
        refused("order-version-before-limit", "Version 0 with 254 fds: the version is checked first (status 2).", &["CheckOrder", "Version"], msg(0, 0, 254, PAYLOAD, 0), 2, "hello_unsupported_version"),
        refused("order-reserved-before-limit", "Reserved bits and 254 fds: reserved first.", &["CheckOrder"], msg(1, 0x10, 254, PAYLOAD, 0), 4, "hello_reserved"),
        refused("order-magic-before-version", "A bad magic and version 0: the magic first.", &["CheckOrder"], {
            let mut m = msg(0, 0, FDS, PAYLOAD, 0);
            m[1] = 0;
            m
        }, 4, "hello_bad_magic"),
        refused("order-limit-before-trailing", "254 fds and a trailing byte: the limit first.", &["CheckOrder"], cat(&[&hello_limits(false, 254, PAYLOAD), &[1]]), 4, "hello_limit"),
        d("order-reserved-before-credentials", "Reserved bits and no credentials: the hello's format is checked before credentials.")
            .flags(&["CheckOrder", "Credentials"])
            .events(vec![rd0(&msg(1, 0x02, FDS, PAYLOAD, 0)), out(&refusal(4))])
            .expect(fail("hello_reserved")),
        d("order-version-before-credentials", "Version 0 and invisible credentials: status 2 before 3.")
            .flags(&["CheckOrder", "Credentials"])
            .events(vec![rdc(&msg(0, 0, FDS, PAYLOAD, 0), INVISIBLE), out(&refusal(2))])
            .expect(fail("hello_unsupported_version")),
        d("order-limit-before-mismatch", "254 fds and mismatching credentials: the limit first.")
            .flags(&["CheckOrder", "Credentials"])
            .events(vec![rdc(&hello_limits(false, 254, PAYLOAD), Creds { uid: 1, ..CLIENT }), out(&refusal(4))])
            .expect(fail("hello_limit")),
        d("order-trailing-before-credentials", "A trailing byte in the hello's own read, and no credentials: bytes beyond the hello (4) come before credentials (3). Which bytes arrived before the reply depends on the reads, so this case fixes them.")
            .flags(&["CheckOrder", "ReadBoundaries", "Credentials"])
            .events(vec![rd0(&cat(&[&hello(false), &[0]])), out(&refusal(4))])
            .expect(fail("hello_trailing_bytes")),
        d("order-missing-before-mismatch", "One piece without credentials and one with another uid: missing (3) is checked before differing (5).")
            .flags(&["CheckOrder", "Credentials"])
            .events(vec![rd0(&hello(false)[..8]), rdc(&hello(false)[8..], Creds { uid: 5, ..CLIENT }), out(&refusal(3))])
            .expect(fail("no_credentials")),
    ]
}

fn seq_cfg() -> Config {
    hs_config(Socket::Seqpacket, Some(CLIENT), None)
}

fn seqpacket_cases() -> Vec<Draft> {
    let h = hello(false);
    let sq = |name: &str, comment: &str| ds(seq_cfg(), name, comment).flags(&["Seqpacket"]);
    vec![
        sq("accept", "One 16-byte record: accepted.")
            .flags(&["Canonical"])
            .events(vec![rdc(&h, CLIENT), accept(), out(&ok_reply())])
            .expect(accepted()),
        sq("accept-mutual", "A mutual hello on seqpacket.")
            .flags(&["Mutual"])
            .events(vec![rdc(&hello(true), CLIENT), accept(), out_creds(&ok_reply())])
            .expect(accepted()),
        sq("record-15", "A 15-byte record: not a hello (status 4), without waiting for more.")
            .events(vec![rdc(&h[..15], CLIENT), out(&refusal(4))])
            .expect(fail("hello_record_size")),
        sq("record-17", "A 17-byte record: status 4.")
            .events(vec![rdc(&cat(&[&h, &[0]]), CLIENT), out(&refusal(4))])
            .expect(fail("hello_record_size")),
        sq("record-32", "Two hellos in one record: status 4.")
            .events(vec![rdc(&cat(&[&h, &h]), CLIENT), out(&refusal(4))])
            .expect(fail("hello_record_size")),
        sq("record-1", "A 1-byte record: status 4.")
            .events(vec![rdc(&h[..1], CLIENT), out(&refusal(4))])
            .expect(fail("hello_record_size")),
        sq("record-truncated", "MSG_TRUNC: the record was longer than the buffer (status 4).")
            .events(vec![rd(Input { creds: Some(CLIENT), trunc: true, ..input(&h) }), out(&refusal(4))])
            .expect(fail("hello_record_size")),
        sq("record-15-mutual", "A 15-byte record showing the magic and bit 0: the refusal carries the server's credentials.")
            .flags(&["Mutual"])
            .events(vec![rdc(&hello(true)[..15], CLIENT), out_creds(&refusal(4))])
            .expect(fail("hello_record_size")),
        sq("record-15-bad-magic", "A short record with a bad magic: the record size is checked before the magic.")
            .flags(&["CheckOrder"])
            .events(vec![rdc(&[0u8; 15], CLIENT), out(&refusal(4))])
            .expect(fail("hello_record_size")),
        sq("record-with-fds", "A record with an fd: fds first (status 4), the fd closed.")
            .flags(&["FdsClosed"])
            .events(vec![rdcf(&h, CLIENT, &["fd1"]), out(&refusal(4))])
            .expect(fail("hello_fds")),
        sq("record-short-with-fds", "A short record with an fd: fds before record size.")
            .flags(&["FdsClosed", "CheckOrder"])
            .events(vec![rdcf(&h[..7], CLIENT, &["fd1"]), out(&refusal(4))])
            .expect(fail("hello_fds")),
        sq("bad-magic", "A 16-byte record with a bad magic: status 4.")
            .events(vec![rdc(&[0xAA; 16], CLIENT), out(&refusal(4))])
            .expect(fail("hello_bad_magic")),
        sq("no-credentials", "A record without credentials: status 3.")
            .events(vec![rd0(&h), out(&refusal(3))])
            .expect(fail("no_credentials")),
        sq("eof-before-hello", "EOF before any record: closed without a reply.")
            .flags(&["Eof"])
            .events(vec![eof()])
            .expect(fail("eof_before_hello")),
        sq("record-while-deciding", "A second record while the decision is pending: bytes beyond the hello (status 4).")
            .flags(&["Decision"])
            .events(vec![rdc(&h, CLIENT), rdc(&super::wire::frame(b"", 0), CLIENT), out(&refusal(4))])
            .expect(fail("hello_trailing_bytes")),
    ]
}

fn misuse_cases() -> Vec<Draft> {
    let h = hello(false);
    vec![
        d("decide-before-hello", "The caller decides before any hello: a caller error, and sticky.")
            .flags(&["ApiMisuse"])
            .events(vec![accept()])
            .expect(fail("no_decision_pending")),
        d("decide-twice", "The caller accepts twice: the second decision has nothing to decide, and the error is sticky.")
            .flags(&["ApiMisuse"])
            .events(vec![rdc(&h, CLIENT), accept(), out(&ok_reply()), accept()])
            .expect(fail("no_decision_pending")),
        d("eof-after-done", "The caller gives the handshake an EOF after it is done: a caller error (the channel should have had it), and sticky.")
            .flags(&["ApiMisuse"])
            .events(vec![rdc(&h, CLIENT), accept(), out(&ok_reply()), misuse(MisuseCall::ReceiveEof, Some("unexpected_input"))])
            .expect(fail("unexpected_input")),
        d("eof-after-failure", "After a refusal the error is sticky: a later EOF returns it again.")
            .flags(&["ApiMisuse"])
            .events(vec![rdc(&[0; 16], CLIENT), out(&refusal(4)), misuse(MisuseCall::ReceiveEof, Some("hello_bad_magic"))])
            .expect(fail("hello_bad_magic")),
    ]
}
