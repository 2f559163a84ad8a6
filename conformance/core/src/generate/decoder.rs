//! Frame decoder cases (PROTOCOL.md 4.4). A header is checked before any of its
//! payload is buffered: kind, reserved, payload length, fd count. On a
//! stream the fds of one read belong to the last frame whose header begins
//! in it; fds with no such frame, a count that differs from `nfds`, and a
//! frame announcing fds whose first read brought none are errors, and every
//! fd involved is closed. On seqpacket one record is exactly one frame.

use super::draft::*;
use super::wire::{PAYLOAD, cat, frame, header};
use crate::model::{Config, Input, MisuseCall, Role, Socket};

const DEC: Role = Role::FrameDecoder;

fn st() -> Config {
    codec_cfg(Socket::Stream, lim_default())
}

fn d(name: &str, comment: &str) -> Draft {
    Draft::new(DEC, st(), name, comment)
}

fn dl(limits: crate::model::WireLimits, name: &str, comment: &str) -> Draft {
    Draft::new(DEC, codec_cfg(Socket::Stream, limits), name, comment).flags(&["Limits"])
}

pub(super) fn cases() -> Vec<Draft> {
    let mut v = basic();
    v.extend(attribution());
    v.extend(headers());
    v.extend(eofs());
    v.extend(misuse_cases());
    v.extend(seqpacket());
    v.extend(check_order());
    v.extend(empty_reads());
    v
}

fn basic() -> Vec<Draft> {
    let a = frame(b"alpha", 0);
    let b = frame(b"beta", 0);
    let big: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    vec![
        d("no-input", "Nothing read yet: no frame, no error.")
            .events(vec![])
            .expect(open(vec![])),
        d("one-frame", "One data frame in one read.")
            .flags(&["Canonical"])
            .events(vec![rd0(&a)])
            .expect(open(vec![data(b"alpha", &[])])),
        d("empty-payload", "A frame with an empty payload.")
            .events(vec![rd0(&frame(b"", 0))])
            .expect(open(vec![data(b"", &[])])),
        d("two-frames-one-read", "Two fd-less frames in one read.")
            .flags(&["Canonical"])
            .events(vec![rd0(&cat(&[&a, &b]))])
            .expect(open(vec![data(b"alpha", &[]), data(b"beta", &[])])),
        d("header-split", "A header split over three reads.")
            .events(vec![rd0(&a[..3]), rd0(&a[3..6]), rd0(&a[6..])])
            .expect(open(vec![data(b"alpha", &[])])),
        d(
            "large-payload-many-reads",
            "A 1000-byte payload over several reads.",
        )
        .events(vec![
            rd0(&frame(&big, 0)[..100]),
            rd0(&frame(&big, 0)[100..700]),
            rd0(&frame(&big, 0)[700..]),
        ])
        .expect(open(vec![data(&big, &[])])),
        d(
            "partial-frame-open",
            "Half a frame and no EOF: nothing yet, no error.",
        )
        .events(vec![rd0(&a[..10])])
        .expect(open(vec![])),
        d(
            "frame-with-fd",
            "One frame with one fd, which comes with the frame's first byte.",
        )
        .flags(&["Canonical"])
        .events(vec![rdf(&frame(b"fd", 1), &["fd1"])])
        .expect(open(vec![data(b"fd", &["fd1"])])),
        d("frame-with-three-fds", "Three fds for one frame, in order.")
            .events(vec![rdf(&frame(b"three", 3), &["fd1", "fd2", "fd3"])])
            .expect(open(vec![data(b"three", &["fd1", "fd2", "fd3"])])),
        d(
            "fd-only-frame",
            "An empty payload carrying one fd (the manual's send_fd).",
        )
        .events(vec![rdf(&frame(b"", 1), &["fd1"])])
        .expect(open(vec![data(b"", &["fd1"])])),
        d(
            "mixed-frames",
            "Fd-less, fd-carrying, fd-less: each in its own read.",
        )
        .events(vec![
            rd0(&a),
            rdf(&frame(b"x", 2), &["fd1", "fd2"]),
            rd0(&b),
        ])
        .expect(open(vec![
            data(b"alpha", &[]),
            data(b"x", &["fd1", "fd2"]),
            data(b"beta", &[]),
        ])),
        d(
            "consecutive-fd-frames",
            "Two fd-carrying frames, each its own sendmsg and read.",
        )
        .events(vec![
            rdf(&frame(b"1", 1), &["fd1"]),
            rdf(&frame(b"2", 1), &["fd2"]),
        ])
        .expect(open(vec![data(b"1", &["fd1"]), data(b"2", &["fd2"])])),
        dl(
            lim(32, 5),
            "payload-at-limit",
            "A payload of exactly the negotiated maximum.",
        )
        .events(vec![rd0(&a)])
        .expect(open(vec![data(b"alpha", &[])])),
        d("fds-at-limit", "32 fds, the negotiated maximum.")
            .flags(&["Limits"])
            .events({
                let ids: Vec<String> = (1..=32).map(|i| format!("fd{i}")).collect();
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                vec![rdf(&frame(b"", 32), &refs)]
            })
            .expect({
                let ids: Vec<String> = (1..=32).map(|i| format!("fd{i}")).collect();
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                open(vec![data(b"", &refs)])
            }),
        dl(
            lim(253, PAYLOAD),
            "fds-253",
            "253 fds in one frame, the most one sendmsg can carry.",
        )
        .events({
            let ids: Vec<String> = (1..=253).map(|i| format!("fd{i}")).collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            vec![rdf(&frame(b"many", 253), &refs)]
        })
        .expect({
            let ids: Vec<String> = (1..=253).map(|i| format!("fd{i}")).collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            open(vec![data(b"many", &refs)])
        }),
        dl(
            lim(0, 0),
            "zero-limits-empty-frame",
            "With both limits 0, an empty fd-less frame is still legal.",
        )
        .events(vec![rd0(&frame(b"", 0))])
        .expect(open(vec![data(b"", &[])])),
    ]
}

fn attribution() -> Vec<Draft> {
    let a = frame(b"alpha", 0);
    let f = frame(b"fd", 1);
    vec![
        d("glued-before-fd-frame", "The kernel glued an fd-less frame before an fd-carrying one into one read: the fd belongs to the last header that begins in the read.")
            .flags(&["FdAttribution", "ReadBoundaries"])
            .events(vec![rdf(&cat(&[&a, &f]), &["fd1"])])
            .expect(open(vec![data(b"alpha", &[]), data(b"fd", &["fd1"])])),
        d("glued-three-before-fd-frame", "Three fd-less frames glued before an fd-carrying one.")
            .flags(&["FdAttribution", "ReadBoundaries"])
            .events(vec![rdf(&cat(&[&a, &a, &a, &f]), &["fd1"])])
            .expect(open(vec![data(b"alpha", &[]), data(b"alpha", &[]), data(b"alpha", &[]), data(b"fd", &["fd1"])])),
        d("glued-tail-before-fd-frame", "The tail of an earlier frame glued before an fd-carrying frame: the earlier header began in an earlier read, the fd belongs to the new one.")
            .flags(&["FdAttribution", "ReadBoundaries"])
            .events(vec![rd0(&a[..9]), rdf(&cat(&[&a[9..], &f]), &["fd1"])])
            .expect(open(vec![data(b"alpha", &[]), data(b"fd", &["fd1"])])),
        d("fd-on-header-start-split", "The fd comes with the first 3 bytes of its frame's header; the rest follows: the header began in the read that brought the fd.")
            .flags(&["FdAttribution"])
            .events(vec![rdf(&f[..3], &["fd1"]), rd0(&f[3..])])
            .expect(open(vec![data(b"fd", &["fd1"])])),
        d("fds-without-frame", "Fds in a read in which no header begins (the rest of a header begun earlier): error, fds closed.")
            .flags(&["FdAttribution", "FdsClosed"])
            .events(vec![rd0(&a[..4]), rdf(&a[4..], &["fd1"])])
            .expect(fail_after("fds_without_frame", vec![])),
        d("fds-in-payload-read", "Fds with bytes from the middle of a payload.")
            .flags(&["FdAttribution", "FdsClosed"])
            .events(vec![rd0(&a[..10]), rdf(&a[10..], &["fd1", "fd2"])])
            .expect(fail_after("fds_without_frame", vec![])),
        d("fds-misplaced", "One read holds a frame announcing an fd and, after it, an fd-less frame: the fd would belong to the last one, so the first announcing fds is an error.")
            .flags(&["FdAttribution", "ReadBoundaries", "FdsClosed"])
            .events(vec![rdf(&cat(&[&f, &a]), &["fd1"])])
            .expect(fail_after("fds_misplaced", vec![])),
        d("fds-missing-then-frame", "A frame announcing an fd followed by an fd-less frame, and no fds in any read.")
            .flags(&["FdAttribution"])
            .events(vec![rd0(&cat(&[&f, &a]))])
            .expect(fail_after("fds_missing", vec![])),
        d("fd-count-short", "The frame announces 2 fds, its read brought 1: error, the fd closed.")
            .flags(&["FdAttribution", "FdsClosed"])
            .events(vec![rdf(&frame(b"two", 2), &["fd1"])])
            .expect(fail_after("fd_count_mismatch", vec![])),
        d("fd-count-long", "The frame announces 1 fd, its read brought 2: error, both closed.")
            .flags(&["FdAttribution", "FdsClosed"])
            .events(vec![rdf(&f, &["fd1", "fd2"])])
            .expect(fail_after("fd_count_mismatch", vec![])),
        d("fds-missing", "The frame announces an fd, its read brought none.")
            .flags(&["FdAttribution"])
            .events(vec![rd0(&f)])
            .expect(fail_after("fds_missing", vec![])),
        d("fds-missing-split-header", "The header announcing an fd is split over two reads, neither with fds.")
            .flags(&["FdAttribution"])
            .events(vec![rd0(&f[..3]), rd0(&f[3..])])
            .expect(fail_after("fds_missing", vec![])),
        d("fds-missing-after-good-frame", "A good frame, then a frame announcing an fd that did not come.")
            .flags(&["FdAttribution"])
            .events(vec![rd0(&a), rd0(&f)])
            .expect(fail_after("fds_missing", vec![data(b"alpha", &[])])),
        d("ctrunc", "MSG_CTRUNC: control data (fds) was lost; the fds that did arrive are closed.")
            .flags(&["FdsClosed"])
            .events(vec![rd(Input { fds: ids(&["fd1"]), ctrunc: true, ..input(&f) })])
            .expect(fail_after("control_truncated", vec![])),
        d("ctrunc-no-fds", "MSG_CTRUNC on a read that delivered no fds at all.")
            .events(vec![rd(Input { ctrunc: true, ..input(&a) })])
            .expect(fail_after("control_truncated", vec![])),
    ]
}

fn headers() -> Vec<Draft> {
    let a = frame(b"alpha", 0);
    let mut v = vec![
        d("too-large-header-only", "A header announcing one byte more than the negotiated maximum, alone: refused on the header, before any payload.")
            .flags(&["Limits"])
            .events(vec![rd0(&header(PAYLOAD + 1, 0, 0, 0))])
            .expect(fail_after("frame_too_large", vec![])),
        d("too-large-max-u32", "A header announcing 4 GiB - 1 bytes.")
            .flags(&["Limits"])
            .events(vec![rd0(&header(u32::MAX, 0, 0, 0))])
            .expect(fail_after("frame_too_large", vec![])),
        dl(lim(32, 4), "too-large-small-limit", "A 5-byte payload over a negotiated maximum of 4.")
            .events(vec![rd0(&a)])
            .expect(fail_after("frame_too_large", vec![])),
        dl(lim(0, 0), "zero-limits-one-byte", "With a maximum payload of 0, a 1-byte frame is too large.")
            .events(vec![rd0(&frame(b"x", 0))])
            .expect(fail_after("frame_too_large", vec![])),
        d("too-many-fds-header", "A header announcing 33 fds over a maximum of 32, with no fds in its read.")
            .flags(&["Limits"])
            .events(vec![rd0(&header(0, 33, 0, 0))])
            .expect(fail_after("frame_too_many_fds", vec![])),
        dl(lim(0, PAYLOAD), "zero-fds-limit", "With a maximum of 0 fds, a header announcing 1 is refused.")
            .events(vec![rd0(&header(0, 1, 0, 0))])
            .expect(fail_after("frame_too_many_fds", vec![])),
        d("too-many-fds-in-read", "A read bringing 33 fds, more than any frame may carry, is refused before attribution (PROTOCOL 8).")
            .flags(&["Limits", "FdsClosed"])
            .events({
                let ids: Vec<String> = (1..=33).map(|i| format!("fd{i}")).collect();
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                vec![rdf(&header(0, 33, 0, 0), &refs)]
            })
            .expect(fail_after("fd_count_mismatch", vec![])),
        d("too-many-fds-255", "A header announcing 255 fds.")
            .flags(&["Limits"])
            .events(vec![rd0(&header(3, 255, 0, 0))])
            .expect(fail_after("frame_too_many_fds", vec![])),
        d("good-then-bad-header", "A good frame and a bad header in one read: the error stands; the good frame may or may not be delivered first, depending on the reads.")
            .flags(&["Malformed"])
            .events(vec![rd0(&cat(&[&a, &header(0, 0, 2, 0)]))])
            .expect(fail_after("frame_bad_kind", vec![data(b"alpha", &[])])),
        d("bad-header-closes-fds", "An fd-carrying frame with kind 2: refused, the fd closed.")
            .flags(&["Malformed", "FdsClosed"])
            .events(vec![rdf(&cat(&[&header(1, 1, 2, 0), b"z"]), &["fd1"])])
            .expect(fail_after("frame_bad_kind", vec![])),
    ];
    for kind in [2u8, 3, 0x80, 0xFF] {
        v.push(
            d(
                &format!("bad-kind-{kind}"),
                &format!("A header with kind {kind}."),
            )
            .flags(&["Malformed"])
            .events(vec![rd0(&cat(&[&header(2, 0, kind, 0), b"zz"]))])
            .expect(fail_after("frame_bad_kind", vec![])),
        );
    }
    for r in [1u16, 0x100, 0x8000] {
        v.push(
            d(
                &format!("reserved-{r:#06x}"),
                &format!("A header whose reserved field is {r:#x}."),
            )
            .flags(&["Malformed"])
            .events(vec![rd0(&cat(&[&header(2, 0, 0, r), b"zz"]))])
            .expect(fail_after("frame_reserved", vec![])),
        );
    }
    v
}

fn eofs() -> Vec<Draft> {
    let a = frame(b"alpha", 0);
    vec![
        d("eof-clean", "EOF after whole frames: closed cleanly.")
            .flags(&["Eof", "Canonical"])
            .events(vec![rd0(&a), rd0(&a), eof()])
            .expect(closed(vec![data(b"alpha", &[]), data(b"alpha", &[])])),
        d("eof-immediately", "EOF before any frame: closed cleanly.")
            .flags(&["Eof"])
            .events(vec![eof()])
            .expect(closed(vec![])),
        d("eof-in-header", "EOF after 5 bytes of a header.")
            .flags(&["Eof"])
            .events(vec![rd0(&a[..5]), eof()])
            .expect(fail_after("eof_in_frame", vec![])),
        d(
            "eof-in-payload",
            "EOF inside a payload, after a whole frame.",
        )
        .flags(&["Eof"])
        .events(vec![rd0(&cat(&[&a, &a[..10]])), eof()])
        .expect(fail_after("eof_in_frame", vec![data(b"alpha", &[])])),
        d(
            "eof-in-fd-frame",
            "EOF inside an fd-carrying frame: its fd is closed.",
        )
        .flags(&["Eof", "FdsClosed"])
        .events(vec![rdf(&frame(b"payload", 1)[..10], &["fd1"]), eof()])
        .expect(fail_after("eof_in_frame", vec![])),
    ]
}

fn misuse_cases() -> Vec<Draft> {
    let a = frame(b"alpha", 0);
    vec![
        d("read-before-drain", "A read is started while a complete frame waits: the caller must drain first (this bounds the buffer).")
            .flags(&["ApiMisuse"])
            .events(vec![rd0(&a), misuse(MisuseCall::ReadBeforeDrain, Some("frames_pending"))])
            .expect(fail_after("frames_pending", vec![])),
        d("buffer-shrunk", "The caller removes a buffered byte behind the decoder's back.")
            .flags(&["ApiMisuse"])
            .events(vec![rd0(&a[..6]), misuse(MisuseCall::ShrinkBuffer, Some("buffer_tampered"))])
            .expect(fail_after("buffer_tampered", vec![])),
        d("input-after-eof", "Input after EOF: the kernel cannot do that, the caller did.")
            .flags(&["ApiMisuse"])
            .events(vec![eof(), rd0(&a)])
            .expect(fail_after("unexpected_input", vec![])),
    ]
}

fn seqpacket() -> Vec<Draft> {
    let sq = |name: &str, comment: &str| {
        Draft::new(
            DEC,
            codec_cfg(Socket::Seqpacket, lim_default()),
            name,
            comment,
        )
        .flags(&["Seqpacket"])
    };
    let a = frame(b"alpha", 0);
    let f = frame(b"fd", 1);
    vec![
        sq("one-record", "One record, one frame.")
            .flags(&["Canonical"])
            .events(vec![rd0(&a)])
            .expect(open(vec![data(b"alpha", &[])])),
        sq("records-with-fds", "Two records, the second with two fds.")
            .events(vec![rd0(&a), rdf(&frame(b"fds", 2), &["fd1", "fd2"])])
            .expect(open(vec![
                data(b"alpha", &[]),
                data(b"fds", &["fd1", "fd2"]),
            ])),
        sq("empty-payload", "A record holding just a header.")
            .events(vec![rd0(&frame(b"", 0))])
            .expect(open(vec![data(b"", &[])])),
        sq("eof-clean", "EOF after whole records.")
            .flags(&["Eof"])
            .events(vec![rd0(&a), eof()])
            .expect(closed(vec![data(b"alpha", &[])])),
        sq("record-shorter-than-header", "A 5-byte record.")
            .events(vec![rd0(&a[..5])])
            .expect(fail_after("record_size", vec![])),
        sq(
            "record-short-payload",
            "A record with less payload than its header announces.",
        )
        .events(vec![rd0(&a[..10])])
        .expect(fail_after("record_size", vec![])),
        sq(
            "record-two-frames",
            "Two frames in one record: a record is exactly one frame.",
        )
        .events(vec![rd0(&cat(&[&a, &a]))])
        .expect(fail_after("record_size", vec![])),
        sq(
            "record-extra-byte",
            "A record one byte longer than its frame.",
        )
        .events(vec![rd0(&cat(&[&a, &[0]]))])
        .expect(fail_after("record_size", vec![])),
        sq(
            "record-truncated",
            "MSG_TRUNC: the record was longer than the buffer.",
        )
        .events(vec![rd(Input {
            trunc: true,
            ..input(&a)
        })])
        .expect(fail_after("record_truncated", vec![])),
        sq(
            "record-truncated-fds",
            "MSG_TRUNC on a record with an fd: the fd is closed.",
        )
        .flags(&["FdsClosed"])
        .events(vec![rd(Input {
            trunc: true,
            fds: ids(&["fd1"]),
            ..input(&f)
        })])
        .expect(fail_after("record_truncated", vec![])),
        sq(
            "empty-record-with-fds",
            "A zero-byte record carrying an fd: no frame owns it.",
        )
        .flags(&["FdsClosed"])
        .events(vec![rdf(b"", &["fd1"])])
        .expect(fail_after("fds_without_frame", vec![])),
        sq("fds-missing", "A record announcing an fd, without one.")
            .events(vec![rd0(&f)])
            .expect(fail_after("fds_missing", vec![])),
        sq("fd-count-long", "A record announcing 1 fd, with 2.")
            .flags(&["FdsClosed"])
            .events(vec![rdf(&f, &["fd1", "fd2"])])
            .expect(fail_after("fd_count_mismatch", vec![])),
        sq("bad-kind", "A record whose header has kind 7.")
            .flags(&["Malformed"])
            .events(vec![rd0(&cat(&[&header(1, 0, 7, 0), b"q"]))])
            .expect(fail_after("frame_bad_kind", vec![])),
        sq(
            "too-large",
            "A record whose header announces more than the maximum.",
        )
        .flags(&["Limits"])
        .events(vec![rd0(&header(PAYLOAD + 1, 0, 0, 0))])
        .expect(fail_after("frame_too_large", vec![])),
        sq(
            "ctrunc",
            "MSG_CTRUNC on a record: error, the fds that arrived closed.",
        )
        .flags(&["FdsClosed"])
        .events(vec![rd(Input {
            ctrunc: true,
            fds: ids(&["fd1"]),
            ..input(&f)
        })])
        .expect(fail_after("control_truncated", vec![])),
    ]
}

/// Headers with several defects at once: the first check in the order of
/// PROTOCOL.md 4.4 (kind, reserved, len, nfds) decides. Appended after the
/// older cases so that their tcIds stay put.
fn check_order() -> Vec<Draft> {
    let f = frame(b"payload", 1);
    let sq = |name: &str, comment: &str| {
        Draft::new(
            DEC,
            codec_cfg(Socket::Seqpacket, lim_default()),
            name,
            comment,
        )
        .flags(&["Seqpacket", "Malformed", "CheckOrder"])
    };
    vec![
        d("bad-kind-and-reserved", "Kind 2 and reserved field 1 in one header: the kind is checked first.")
            .flags(&["Malformed", "CheckOrder"])
            .events(vec![rd0(&cat(&[&header(2, 0, 2, 1), b"zz"]))])
            .expect(fail_after("frame_bad_kind", vec![])),
        d("bad-kind-and-too-large", "Kind 3 and a length above the maximum: the kind is checked first.")
            .flags(&["Malformed", "CheckOrder", "Limits"])
            .events(vec![rd0(&header(PAYLOAD + 1, 0, 3, 0))])
            .expect(fail_after("frame_bad_kind", vec![])),
        d("reserved-and-too-large", "Reserved field 1 and a length above the maximum: the reserved field is checked first.")
            .flags(&["Malformed", "CheckOrder", "Limits"])
            .events(vec![rd0(&header(PAYLOAD + 1, 0, 0, 1))])
            .expect(fail_after("frame_reserved", vec![])),
        d("too-large-and-too-many-fds", "A length above the maximum and 33 fds over a maximum of 32: the length is checked first.")
            .flags(&["CheckOrder", "Limits"])
            .events(vec![rd0(&header(PAYLOAD + 1, 33, 0, 0))])
            .expect(fail_after("frame_too_large", vec![])),
        d("too-many-fds-before-attribution", "A header announcing 33 fds over a maximum of 32, its read with one fd: the header check comes before the fd count of the read is compared.")
            .flags(&["CheckOrder", "Limits", "FdsClosed"])
            .events(vec![rdf(&header(0, 33, 0, 0), &["fd1"])])
            .expect(fail_after("frame_too_many_fds", vec![])),
        sq("seqpacket-bad-kind-and-reserved", "A record whose header has kind 2 and reserved field 1: the kind is checked first.")
            .events(vec![rd0(&cat(&[&header(1, 0, 2, 1), b"q"]))])
            .expect(fail_after("frame_bad_kind", vec![])),
        d("fd-frame-completed-by-fds-without-frame", "A frame announcing 1 fd brings it with its header; the read that completes its payload brings another fd and no header begins in it: fds_without_frame, and the frame completed by that read is not delivered: both fds are closed.")
            .flags(&["FdAttribution", "FdsClosed"])
            .events(vec![rdf(&f[..11], &["fd1"]), rdf(&f[11..], &["fd2"])])
            .expect(fail_after("fds_without_frame", vec![])),
        d("good-fd-frame-then-fds-without-frame", "A complete fd-carrying frame is delivered; the next read brings the first 3 bytes of another such frame with its fd; the read with the rest brings one more fd and no header begins in it: fds_without_frame; the first frame and its fd are the caller's, the other two fds are closed.")
            .flags(&["FdAttribution", "FdsClosed"])
            .events(vec![rdf(&f, &["fd1"]), rdf(&f[..3], &["fd2"]), rdf(&f[3..], &["fd3"])])
            .expect(fail_after("fds_without_frame", vec![data(b"payload", &["fd1"])])),
    ]
}

/// Reads of 0 bytes as the core sees them (PROTOCOL.md 1): EOF is the
/// driver's call, told to the core as `eof`; an empty read handed to the
/// core is judged by its ancillary data alone.
fn empty_reads() -> Vec<Draft> {
    let a = frame(b"alpha", 0);
    vec![
        d("empty-read", "A read of 0 bytes with no ancillary data between two halves of a frame changes nothing.")
            .flags(&["ReadBoundaries"])
            .events(vec![rd0(&a[..6]), rd0(b""), rd0(&a[6..])])
            .expect(open(vec![data(b"alpha", &[])])),
        d("empty-read-with-fds", "A read of 0 bytes with an fd: no header begins in it.")
            .flags(&["FdAttribution", "FdsClosed", "ReadBoundaries"])
            .events(vec![rdf(b"", &["fd1"])])
            .expect(fail_after("fds_without_frame", vec![])),
        d("empty-read-ctrunc", "A read of 0 bytes with MSG_CTRUNC: control_truncated like any read (a receiver whose control buffer has the room PROTOCOL.md requires never sees this on the EOF read).")
            .flags(&["ReadBoundaries"])
            .events(vec![rd(Input { ctrunc: true, ..input(b"") })])
            .expect(fail_after("control_truncated", vec![])),
    ]
}
