//! Frame encoder cases (PROTOCOL.md 4.3): every frame is an 8-byte header and its
//! payload; a frame carrying fds starts its own sendmsg, with exactly its
//! fds, and is alone in it; fd-less frames may share one. The caller's
//! frame is checked against the negotiated limits before it is queued, and
//! a refused frame leaves the queue as it was, its fds closed.

use super::draft::*;
use super::wire::{PAYLOAD, cat, frame};
use crate::model::{Config, MisuseCall, Role, Socket, WireLimits};

const ENC: Role = Role::FrameEncoder;

fn d(name: &str, comment: &str) -> Draft {
    Draft::new(ENC, codec_cfg(Socket::Stream, lim_default()), name, comment)
}

fn dl(limits: WireLimits, name: &str, comment: &str) -> Draft {
    Draft::new(ENC, codec_cfg(Socket::Stream, limits), name, comment).flags(&["Limits"])
}

fn sq(name: &str, comment: &str) -> Draft {
    let c: Config = codec_cfg(Socket::Seqpacket, lim_default());
    Draft::new(ENC, c, name, comment).flags(&["Seqpacket"])
}

fn fd_ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("fd{i}")).collect()
}

pub(super) fn cases() -> Vec<Draft> {
    let a = frame(b"alpha", 0);
    let b = frame(b"beta", 0);
    let big: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    let ids253 = fd_ids(253);
    let refs253: Vec<&str> = ids253.iter().map(String::as_str).collect();
    let ids33 = fd_ids(33);
    let refs33: Vec<&str> = ids33.iter().map(String::as_str).collect();
    vec![
        d("one-frame", "One data frame: header (len, nfds 0, kind 0, reserved 0) then the payload.")
            .flags(&["Canonical"])
            .events(vec![push(b"alpha", &[], None), flush(), out(&a)])
            .expect(ok()),
        d("empty-payload", "An empty frame is its 8-byte header.")
            .events(vec![push(b"", &[], None), flush(), out(&frame(b"", 0))])
            .expect(ok()),
        d("batch", "Two fd-less frames flushed together: the bytes are the two frames back to back (they may share a sendmsg).")
            .flags(&["Batching"])
            .events(vec![push(b"alpha", &[], None), push(b"beta", &[], None), flush(), out(&cat(&[&a, &b]))])
            .expect(ok()),
        d("frame-with-fd", "A frame with one fd: the fd is attached to the frame's first byte.")
            .flags(&["Canonical", "ShortWrite"])
            .events(vec![push(b"fd", &["fd1"], None), flush(), out_fds(&frame(b"fd", 1), &["fd1"])])
            .expect(ok()),
        d("fd-only-frame", "An empty payload with one fd (the manual's send_fd).")
            .flags(&["ShortWrite"])
            .events(vec![push(b"", &["fd1"], None), flush(), out_fds(&frame(b"", 1), &["fd1"])])
            .expect(ok()),
        d("fd-frame-alone", "Fd-less, fd-carrying, fd-less: the fd frame starts its own sendmsg and nothing follows it there.")
            .flags(&["Batching", "ShortWrite"])
            .events(vec![
                push(b"alpha", &[], None),
                push(b"x", &["fd1", "fd2"], None),
                push(b"beta", &[], None),
                flush(),
                out(&a),
                out_fds(&frame(b"x", 2), &["fd1", "fd2"]),
                out(&b),
            ])
            .expect(ok()),
        d("two-fd-frames", "Two fd-carrying frames: two sendmsgs, each with its own fds.")
            .flags(&["Batching", "ShortWrite"])
            .events(vec![
                push(b"1", &["fd1"], None),
                push(b"2", &["fd2"], None),
                flush(),
                out_fds(&frame(b"1", 1), &["fd1"]),
                out_fds(&frame(b"2", 1), &["fd2"]),
            ])
            .expect(ok()),
        d("flush-each", "Push and flush twice.")
            .events(vec![push(b"alpha", &[], None), flush(), out(&a), push(b"beta", &[], None), flush(), out(&b)])
            .expect(ok()),
        d("flush-empty", "A flush with nothing queued sends nothing.")
            .events(vec![flush()])
            .expect(ok()),
        d("large-payload", "A 5000-byte payload.")
            .events(vec![push(&big, &[], None), flush(), out(&frame(&big, 0))])
            .expect(ok()),
        dl(lim(253, PAYLOAD), "fds-253", "253 fds, the most one sendmsg carries.")
            .flags(&["ShortWrite"])
            .events(vec![push(b"", &refs253, None), flush(), out_fds(&frame(b"", 253), &refs253)])
            .expect(ok()),
        d("too-many-fds", "33 fds over a maximum of 32: refused, nothing queued, the fds closed.")
            .flags(&["Limits", "FdsClosed"])
            .events(vec![push(b"", &refs33, Some("send_too_many_fds")), flush()])
            .expect(fail("send_too_many_fds")),
        dl(lim(32, 5), "payload-at-limit", "A payload of exactly the maximum.")
            .events(vec![push(b"alpha", &[], None), flush(), out(&a)])
            .expect(ok()),
        dl(lim(32, 4), "too-large", "A payload one byte above the maximum: refused.")
            .flags(&["FdsClosed"])
            .events(vec![push(b"alpha", &["fd1"], Some("send_too_large")), flush()])
            .expect(fail("send_too_large")),
        dl(lim(0, 0), "zero-limits-empty", "With both limits 0, an empty fd-less frame goes.")
            .events(vec![push(b"", &[], None), flush(), out(&frame(b"", 0))])
            .expect(ok()),
        dl(lim(0, 0), "zero-limits-one-byte", "With a maximum payload of 0, one byte is too large.")
            .events(vec![push(b"x", &[], Some("send_too_large")), flush()])
            .expect(fail("send_too_large")),
        dl(lim(0, 0), "zero-limits-one-fd", "With a maximum of 0 fds, one fd is too many.")
            .flags(&["FdsClosed"])
            .events(vec![push(b"", &["fd1"], Some("send_too_many_fds")), flush()])
            .expect(fail("send_too_many_fds")),
        dl(lim(32, 4), "refused-frame-leaves-queue", "A refused frame between two good ones: the queue holds just the good ones.")
            .events(vec![
                push(b"a", &[], None),
                push(b"toolong", &[], Some("send_too_large")),
                push(b"b", &[], None),
                flush(),
                out(&cat(&[&frame(b"a", 0), &frame(b"b", 0)])),
            ])
            .expect(fail("send_too_large")),
        d("advance-past-end", "The caller reports more bytes sent than were queued: refused; the queue is unchanged and still goes out.")
            .flags(&["ApiMisuse"])
            .events(vec![
                push(b"alpha", &[], None),
                Event::misuse_advance(),
                flush(),
                out(&a),
            ])
            .expect(fail("advance_past_end")),
        {
            let mut c = codec_cfg(Socket::Stream, lim_default());
            c.limits = Some(lim(254, PAYLOAD));
            Draft::new(ENC, c, "config-limit-254", "An encoder configured for 254 fds per frame is refused.")
                .flags(&["Config", "Limits"])
                .events(vec![])
                .expect(fail("limit_out_of_range"))
        },
        sq("records", "On seqpacket every frame is its own record.")
            .flags(&["Canonical"])
            .events(vec![push(b"alpha", &[], None), push(b"beta", &[], None), flush(), out(&a), out(&b)])
            .expect(ok()),
        sq("record-with-fds", "A record with its fds.")
            .events(vec![push(b"alpha", &[], None), push(b"x", &["fd1"], None), flush(), out(&a), out_fds(&frame(b"x", 1), &["fd1"])])
            .expect(ok()),
        sq("too-many-fds", "33 fds on seqpacket: refused.")
            .flags(&["Limits", "FdsClosed"])
            .events(vec![push(b"", &refs33, Some("send_too_many_fds")), flush()])
            .expect(fail("send_too_many_fds")),
    ]
}

/// Sugar for the one misuse an encoder case uses.
trait MisuseAdvance {
    fn misuse_advance() -> crate::model::Event;
}

use crate::model::Event;

impl MisuseAdvance for Event {
    fn misuse_advance() -> Event {
        misuse(MisuseCall::AdvancePastEnd, Some("advance_past_end"))
    }
}
