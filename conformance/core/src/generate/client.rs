//! Client handshake cases. The client sends its hello first, with its own
//! credentials attached, then judges the reply (PROTOCOL.md 3.2 and 3.4):
//! magic, reserved field, status, limits; a refusal names
//! its status; an accepted version must be one the client speaks. With
//! mutual authentication the client applies the server's credential policy
//! to the reply. Everything after the reply belongs to the channel.

use super::draft::*;
use super::wire::{FDS, PAYLOAD, cat, frame, hello, hello_limits, msg, reply, reply_ok};
use crate::model::{Config, Creds, Input, MessageCreds, MisuseCall, PeerSocket, Role, Socket};

const CH: Role = Role::ClientHandshake;

fn d(name: &str, comment: &str) -> Draft {
    Draft::new(CH, client_cfg(false), name, comment)
}

fn dm(name: &str, comment: &str) -> Draft {
    Draft::new(CH, client_cfg(true), &format!("mutual-{name}"), comment).flags(&["Mutual"])
}

fn dc(config: Config, name: &str, comment: &str) -> Draft {
    Draft::new(CH, config, name, comment)
}

/// The client's hello, as it must appear on the wire.
fn hello_out(mutual: bool) -> crate::model::Event {
    out_creds(&hello(mutual))
}

fn done() -> crate::model::Expected {
    authed(lim_default(), None, nothing())
}

/// A non-mutual client that gets `reply` in one read and fails with `code`.
fn bad_reply(name: &str, comment: &str, flags: &[&str], reply: [u8; 16], code: &str) -> Draft {
    d(name, comment)
        .flags(flags)
        .events(vec![hello_out(false), rd0(&reply)])
        .expect(fail(code))
}

pub(super) fn cases() -> Vec<Draft> {
    let mut v = vec![
        d("accept", "The hello goes out with the client's credentials; the server accepts.")
            .flags(&["Canonical"])
            .events(vec![hello_out(false), rd0(&reply_ok())])
            .expect(done()),
        d("reply-in-two-reads", "The reply arrives in two reads.")
            .events(vec![hello_out(false), rd0(&reply_ok()[..5]), rd0(&reply_ok()[5..])])
            .expect(done()),
        d("reply-one-byte-reads", "The reply arrives one byte per read.")
            .events({
                let mut e = vec![hello_out(false)];
                e.extend(reply_ok().iter().map(|b| rd0(&[*b])));
                e
            })
            .expect(done()),
        d("reply-credentials-ignored", "Without mutual authentication the client does not judge credentials on the reply.")
            .events(vec![hello_out(false), rdc(&reply_ok(), Creds { uid: 5, ..SERVER })])
            .expect(done()),
        d("server-smaller-limits", "The server accepts 4 fds and 4096 bytes: both sides use those.")
            .flags(&["Limits"])
            .events(vec![hello_out(false), rd0(&reply(1, 0, 4, 4096))])
            .expect(authed(lim(4, 4096), None, nothing())),
        d("server-zero-limits", "A server that accepts no fds and only empty frames.")
            .flags(&["Limits"])
            .events(vec![hello_out(false), rd0(&reply(1, 0, 0, 0))])
            .expect(authed(lim(0, 0), None, nothing())),
        d("server-max-limits", "A server at 253 fds and the largest payload: the client's own limits win.")
            .flags(&["Limits"])
            .events(vec![hello_out(false), rd0(&reply(1, 0, 253, u32::MAX))])
            .expect(done()),
        {
            let mut c = client_cfg(false);
            c.limits = Some(lim(8, 1024));
            dc(c, "client-smaller-limits", "The client's own smaller limits are in its hello and win.")
                .flags(&["Limits"])
                .events(vec![out_creds(&hello_limits(false, 8, 1024)), rd0(&reply_ok())])
                .expect(authed(lim(8, 1024), None, nothing()))
        },
        {
            let mut c = client_cfg(false);
            c.limits = Some(lim(253, u32::MAX));
            dc(c, "client-max-limits", "A client at the largest legal limits.")
                .flags(&["Limits"])
                .events(vec![out_creds(&hello_limits(false, 253, u32::MAX)), rd0(&reply(1, 0, 253, u32::MAX))])
                .expect(authed(lim(253, u32::MAX), None, nothing()))
        },
        {
            let mut c = client_cfg(false);
            c.limits = Some(lim(254, PAYLOAD));
            dc(c, "config-limit-254", "A client configured with 254 fds per frame is refused before it sends anything.")
                .flags(&["Config", "Limits"])
                .events(vec![])
                .expect(fail("limit_out_of_range"))
        },
        d("incomplete-no-reply", "The hello is sent and no reply came yet.")
            .flags(&["Incomplete"])
            .events(vec![hello_out(false)])
            .expect(fail("not_finished")),
        d("incomplete-half-reply", "Half a reply and no EOF yet.")
            .flags(&["Incomplete"])
            .events(vec![hello_out(false), rd0(&reply_ok()[..8])])
            .expect(fail("not_finished")),
        d("eof-after-done", "The caller gives the handshake an EOF after it is done: a caller error, sticky.")
            .flags(&["ApiMisuse"])
            .events(vec![hello_out(false), rd0(&reply_ok()), misuse(MisuseCall::ReceiveEof, Some("unexpected_input"))])
            .expect(fail("unexpected_input")),
        d("ctrunc", "MSG_CTRUNC on the reply's read: control data was lost.")
            .events(vec![hello_out(false), rd(Input { ctrunc: true, ..input(&reply_ok()) })])
            .expect(fail("control_truncated")),
        d("fds-with-reply-only", "An fd with a read that completes the reply and holds nothing after it: no frame header begins there (PROTOCOL 3.4 and 8).")
            .flags(&["FdsClosed", "Leftover"])
            .events(vec![hello_out(false), rdf(&reply_ok(), &["fd1"])])
            .expect(fail("fds_without_frame")),
        d("fds-with-partial-reply", "Fds in a read that does not complete the reply: no frame can own them.")
            .flags(&["FdsClosed"])
            .events(vec![hello_out(false), rdf(&reply_ok()[..8], &["fd1"])])
            .expect(fail("fds_without_frame")),
    ];
    for (status, code) in [
        (1u8, "refused_denied"),
        (2, "refused_version"),
        (3, "refused_no_credentials"),
        (4, "refused_malformed"),
        (5, "refused_credentials_mismatch"),
    ] {
        v.push(bad_reply(
            &format!("status-{status}"),
            &format!("The server answers status {status}."),
            &["Canonical"],
            reply(1, status, FDS, PAYLOAD),
            code,
        ));
    }
    v.push(bad_reply(
        "status-2-higher-version",
        "Status 2 carries the server's highest version in byte 4, whatever it is.",
        &["Version"],
        reply(7, 2, FDS, PAYLOAD),
        "refused_version",
    ));
    v.push(bad_reply("status-1-any-version", "On a refusal byte 4 is the server's highest version, not a negotiated one: no version error.", &["Version"], reply(9, 1, FDS, PAYLOAD), "refused_denied"));
    for s in [6u8, 0x80, 0xFF] {
        v.push(bad_reply(
            &format!("status-{s}"),
            "An unknown status: malformed reply.",
            &["Malformed"],
            reply(1, s, FDS, PAYLOAD),
            "reply_bad_status",
        ));
    }
    for i in 0..4 {
        let mut r = reply_ok();
        r[i] ^= 0x01;
        v.push(bad_reply(
            &format!("bad-magic-byte-{i}"),
            &format!("Byte {i} of the reply's magic is wrong."),
            &["Malformed"],
            r,
            "reply_bad_magic",
        ));
    }
    for (i, r) in [1u32, 0x8000_0000].into_iter().enumerate() {
        v.push(bad_reply(
            &format!("reserved-{i}"),
            &format!("The reply's reserved field is {r:#x}."),
            &["Malformed"],
            msg(1, 0, FDS, PAYLOAD, r),
            "reply_reserved",
        ));
    }
    for ver in [0u8, 2, 255] {
        v.push(bad_reply(
            &format!("accepted-version-{ver}"),
            &format!("Status 0 with version {ver}, which this client does not speak."),
            &["Version", "Malformed"],
            reply(ver, 0, FDS, PAYLOAD),
            "reply_bad_version",
        ));
    }
    for fds in [254u16, 0xFFFF] {
        v.push(bad_reply(
            &format!("limit-fds-{fds}"),
            &format!("The reply offers {fds} fds per frame, above 253."),
            &["Limits", "Malformed"],
            reply(1, 0, fds, PAYLOAD),
            "reply_limit",
        ));
    }
    for n in [0usize, 1, 8, 15] {
        v.push(
            d(
                &format!("eof-after-{n}-bytes"),
                &format!("EOF after {n} bytes of the reply."),
            )
            .flags(&["Eof"])
            .events(if n == 0 {
                vec![hello_out(false), eof()]
            } else {
                vec![hello_out(false), rd0(&reply_ok()[..n]), eof()]
            })
            .expect(fail("reply_short")),
        );
    }
    v.extend(leftover_cases());
    v.extend(mutual_cases());
    v.extend(seqpacket_cases());
    v
}

fn leftover_cases() -> Vec<Draft> {
    let f = frame(b"first", 0);
    let g = frame(b"with-fd", 1);
    vec![
        d("leftover-bytes", "A frame glued behind the reply in one read belongs to the channel.")
            .flags(&["Leftover"])
            .events(vec![hello_out(false), rd0(&cat(&[&reply_ok(), &f]))])
            .expect(authed(lim_default(), None, left(&f, &[], false))),
        d("leftover-later-read", "A frame with an fd in the read after the reply belongs to the channel.")
            .flags(&["Leftover"])
            .events(vec![hello_out(false), rd0(&reply_ok()), rdf(&g, &["fd1"])])
            .expect(authed(lim_default(), None, left(&g, &["fd1"], false))),
        d("leftover-glued-fds", "The kernel glues the fd-less reply before an fd-carrying frame in one read: the fd goes to the channel with the frame.")
            .flags(&["Leftover", "ReadBoundaries"])
            .events(vec![hello_out(false), rdf(&cat(&[&reply_ok(), &g]), &["fd1"])])
            .expect(authed(lim_default(), None, left(&g, &["fd1"], false))),
        d("leftover-eof", "EOF right after the reply belongs to the channel: the handshake succeeded.")
            .flags(&["Leftover", "Eof"])
            .events(vec![hello_out(false), rd0(&reply_ok()), eof()])
            .expect(authed(lim_default(), None, left(b"", &[], true))),
        d("leftover-frames-then-eof", "Two frames and EOF after the reply.")
            .flags(&["Leftover", "Eof"])
            .events(vec![hello_out(false), rd0(&cat(&[&reply_ok(), &f, &f])), eof()])
            .expect(authed(lim_default(), None, left(&cat(&[&f, &f]), &[], true))),
        d("leftover-partial-frame", "Half a frame after the reply: the channel gets it as it is.")
            .flags(&["Leftover"])
            .events(vec![hello_out(false), rd0(&cat(&[&reply_ok(), &f[..3]]))])
            .expect(authed(lim_default(), None, left(&f[..3], &[], false))),
    ]
}

fn mutual_cases() -> Vec<Draft> {
    let with_pidfd = |bytes: &[u8], creds: Creds, pidfd: &str| {
        rd(Input {
            creds: Some(creds),
            pidfd: Some(pidfd.to_owned()),
            ..input(bytes)
        })
    };
    let mut v = vec![
        dm("accept", "Mutual: the reply carries the server's credentials, which agree with its socket's.")
            .flags(&["Canonical", "Credentials"])
            .events(vec![hello_out(true), rdc(&reply_ok(), SERVER)])
            .expect(authed(lim_default(), peer(SERVER, "both", None), nothing())),
        dm("reply-in-two-reads", "Mutual, the reply in two reads, each with credentials.")
            .flags(&["Credentials"])
            .events(vec![hello_out(true), rdc(&reply_ok()[..3], SERVER), rdc(&reply_ok()[3..], SERVER)])
            .expect(authed(lim_default(), peer(SERVER, "both", None), nothing())),
        dm("no-credentials", "Mutual, but the reply carries no credentials.")
            .flags(&["Credentials"])
            .events(vec![hello_out(true), rd0(&reply_ok())])
            .expect(fail("no_credentials")),
        dm("piece-without-credentials", "Mutual, the reply's second read carries no credentials.")
            .flags(&["Credentials"])
            .events(vec![hello_out(true), rdc(&reply_ok()[..3], SERVER), rd0(&reply_ok()[3..])])
            .expect(fail("no_credentials")),
        dm("invisible", "Mutual, the server is a process the client cannot see.")
            .flags(&["Credentials"])
            .events(vec![hello_out(true), rdc(&reply_ok(), INVISIBLE)])
            .expect(fail("no_credentials")),
        dm("uid-mismatch", "Mutual, the reply's uid differs from the socket's: the socket was handed over.")
            .flags(&["Credentials"])
            .events(vec![hello_out(true), rdc(&reply_ok(), Creds { uid: 33, ..SERVER })])
            .expect(fail("credentials_mismatch")),
        dm("gid-mismatch", "Mutual, the reply's gid differs from the socket's.")
            .flags(&["Credentials"])
            .events(vec![hello_out(true), rdc(&reply_ok(), Creds { gid: 33, ..SERVER })])
            .expect(fail("credentials_mismatch")),
        dm("piece-mismatch", "Mutual, the reply's second read has another uid.")
            .flags(&["Credentials"])
            .events(vec![hello_out(true), rdc(&reply_ok()[..3], SERVER), rdc(&reply_ok()[3..], Creds { uid: 9, ..SERVER })])
            .expect(fail("credentials_mismatch")),
        dm("pid-differs", "Mutual, only the pid differs from the socket's (a server worker process): accepted, the message's pid.")
            .flags(&["Credentials"])
            .events(vec![hello_out(true), rdc(&reply_ok(), Creds { pid: 78, ..SERVER })])
            .expect(authed(lim_default(), peer(Creds { pid: 78, ..SERVER }, "both", None), nothing())),
        dm("scm-pidfd", "Mutual, SCM_PIDFD with the reply: reported.")
            .flags(&["Pidfd"])
            .events(vec![hello_out(true), with_pidfd(&reply_ok(), SERVER, "pidfd1")])
            .expect(authed(lim_default(), peer(SERVER, "both", Some("pidfd1")), nothing())),
        dm("leftover", "Mutual, a frame glued behind the reply.")
            .flags(&["Leftover"])
            .events(vec![hello_out(true), rdc(&cat(&[&reply_ok(), &frame(b"x", 0)]), SERVER)])
            .expect(authed(lim_default(), peer(SERVER, "both", None), left(&frame(b"x", 0), &[], false))),
        dm("refused-with-credentials", "Mutual, the server denies us; its reply carries its credentials.")
            .events(vec![hello_out(true), rdc(&reply(1, 1, FDS, PAYLOAD), SERVER)])
            .expect(fail("refused_denied")),
    ];
    let mut c = client_cfg(true);
    c.peer_socket = Some(PeerSocket {
        credentials: None,
        pidfd: None,
    });
    v.push(
        dc(
            c,
            "mutual-no-socket-credentials",
            "Mutual, no socket credentials on this system: the reply's alone decide.",
        )
        .flags(&["Mutual", "Credentials"])
        .events(vec![hello_out(true), rdc(&reply_ok(), SERVER)])
        .expect(authed(
            lim_default(),
            peer(SERVER, "message", None),
            nothing(),
        )),
    );
    let mut c = client_cfg(true);
    if let Some(p) = c.credential_policy.as_mut() {
        p.message_credentials = MessageCreds::Unavailable;
    }
    v.push(
        dc(
            c,
            "mutual-no-message-credentials-system",
            "Mutual on a system without per-message credentials: the socket's decide.",
        )
        .flags(&["Mutual", "Credentials"])
        .events(vec![hello_out(true), rd0(&reply_ok())])
        .expect(authed(
            lim_default(),
            peer(SERVER, "socket", None),
            nothing(),
        )),
    );
    let mut c = client_cfg(true);
    c.peer_socket = Some(PeerSocket {
        credentials: Some(SERVER),
        pidfd: Some("sockpidfd".into()),
    });
    v.push(
        dc(
            c.clone(),
            "mutual-socket-pidfd",
            "Mutual, SO_PEERPIDFD of the server with the reported pid: reported.",
        )
        .flags(&["Mutual", "Pidfd"])
        .events(vec![hello_out(true), rdc(&reply_ok(), SERVER)])
        .expect(authed(
            lim_default(),
            peer(SERVER, "both", Some("sockpidfd")),
            nothing(),
        )),
    );
    v.push(
        dc(
            c,
            "mutual-socket-pidfd-other-pid",
            "Mutual, SO_PEERPIDFD of another pid than the reply's: closed, none reported.",
        )
        .flags(&["Mutual", "Pidfd", "FdsClosed"])
        .events(vec![
            hello_out(true),
            rdc(&reply_ok(), Creds { pid: 99, ..SERVER }),
        ])
        .expect(authed(
            lim_default(),
            peer(Creds { pid: 99, ..SERVER }, "both", None),
            nothing(),
        )),
    );
    v
}

fn seqpacket_cases() -> Vec<Draft> {
    let sq = |mutual: bool, name: &str, comment: &str| {
        Draft::new(
            CH,
            hs_config(Socket::Seqpacket, Some(SERVER), Some(mutual)),
            name,
            comment,
        )
        .flags(&["Seqpacket"])
    };
    vec![
        sq(false, "accept", "One 16-byte record: accepted.")
            .flags(&["Canonical"])
            .events(vec![hello_out(false), rd0(&reply_ok())])
            .expect(done()),
        sq(true, "accept-mutual", "Mutual on seqpacket.")
            .flags(&["Mutual"])
            .events(vec![hello_out(true), rdc(&reply_ok(), SERVER)])
            .expect(authed(lim_default(), peer(SERVER, "both", None), nothing())),
        sq(false, "record-15", "A 15-byte reply record.")
            .events(vec![hello_out(false), rd0(&reply_ok()[..15])])
            .expect(fail("reply_record_size")),
        sq(false, "record-24", "A reply record with a frame header glued on: one record is one message.")
            .events(vec![hello_out(false), rd0(&cat(&[&reply_ok(), &frame(b"", 0)]))])
            .expect(fail("reply_record_size")),
        sq(false, "record-truncated", "MSG_TRUNC on the reply's record.")
            .events(vec![hello_out(false), rd(Input { trunc: true, ..input(&reply_ok()) })])
            .expect(fail("reply_record_size")),
        sq(false, "record-with-fds", "An fd with the reply record: on seqpacket the reply is a record of its own, so no frame owns the fd (PROTOCOL 3.5).")
            .flags(&["FdsClosed"])
            .events(vec![hello_out(false), rdf(&reply_ok(), &["fd1"])])
            .expect(fail("fds_without_frame")),
        sq(false, "eof", "EOF instead of a reply.")
            .flags(&["Eof"])
            .events(vec![hello_out(false), eof()])
            .expect(fail("reply_short")),
        sq(false, "leftover-record", "A frame record after the reply record belongs to the channel.")
            .flags(&["Leftover"])
            .events(vec![hello_out(false), rd0(&reply_ok()), rdf(&frame(b"r", 1), &["fd1"])])
            .expect(authed(lim_default(), None, left(&frame(b"r", 1), &["fd1"], false))),
        sq(false, "status-4", "A refusal on seqpacket.")
            .events(vec![hello_out(false), rd0(&reply(1, 4, FDS, PAYLOAD))])
            .expect(fail("refused_malformed")),
    ]
}
