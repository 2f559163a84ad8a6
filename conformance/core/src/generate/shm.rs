//! Shared-memory frame cases (PROTOCOL.md 4.2, kind 1): exactly one fd, a payload
//! that starts with `size: u64` and `seals: u32`, then optional application
//! bytes. The receiver checks the announced seals include shrink, grow and
//! seal, then the size against its own cap (the driver then checks the fd
//! itself the same way: seals first, so the size can no longer change).

use super::draft::*;
use super::wire::{SEAL_WRITE, SEALS, cat, frame, header, shm_frame, shm_payload};
use crate::model::{Config, Role, Socket};

const DEC: Role = Role::FrameDecoder;
const ENC: Role = Role::FrameEncoder;

fn cfg(socket: Socket, cap: Option<u64>) -> Config {
    let mut c = codec_cfg(socket, lim_default());
    c.max_shm_size = cap;
    c
}

fn dd(name: &str, comment: &str) -> Draft {
    Draft::new(
        DEC,
        cfg(Socket::Stream, None),
        &format!("shm-{name}"),
        comment,
    )
    .flags(&["SharedMemory"])
}

fn dcap(cap: u64, name: &str, comment: &str) -> Draft {
    Draft::new(
        DEC,
        cfg(Socket::Stream, Some(cap)),
        &format!("shm-{name}"),
        comment,
    )
    .flags(&["SharedMemory", "Limits"])
}

fn de(name: &str, comment: &str) -> Draft {
    Draft::new(
        ENC,
        cfg(Socket::Stream, None),
        &format!("shm-{name}"),
        comment,
    )
    .flags(&["SharedMemory"])
}

const MIB: u64 = 1 << 20;
const GIB4: u64 = 4 << 30;

pub(super) fn cases() -> Vec<Draft> {
    let mut v = vec![
        dd("basic", "A 4096-byte sealed region, no application bytes.")
            .flags(&["Canonical"])
            .events(vec![rdf(&shm_frame(4096, SEALS, b""), &["memfd"])])
            .expect(open(vec![shm(4096, SEALS, b"", "memfd")])),
        dd("with-app-bytes", "Application bytes after the 12-byte header are the frame's payload.")
            .events(vec![rdf(&shm_frame(4096, SEALS, b"meta"), &["memfd"])])
            .expect(open(vec![shm(4096, SEALS, b"meta", "memfd")])),
        dd("size-0", "A region of size 0 is legal (and is not mapped).")
            .events(vec![rdf(&shm_frame(0, SEALS, b""), &["memfd"])])
            .expect(open(vec![shm(0, SEALS, b"", "memfd")])),
        dd("extra-seals", "Seals beyond the required ones (F_SEAL_WRITE) are fine.")
            .events(vec![rdf(&shm_frame(64, SEALS | SEAL_WRITE, b""), &["memfd"])])
            .expect(open(vec![shm(64, SEALS | SEAL_WRITE, b"", "memfd")])),
        dd("between-data-frames", "A shared-memory frame between two data frames.")
            .events(vec![rd0(&frame(b"a", 0)), rdf(&shm_frame(8, SEALS, b""), &["memfd"]), rd0(&frame(b"b", 0))])
            .expect(open(vec![data(b"a", &[]), shm(8, SEALS, b"", "memfd"), data(b"b", &[])])),
        dd("header-split", "The shared-memory header split over reads, the fd on the first.")
            .events(vec![rdf(&shm_frame(8, SEALS, b"")[..10], &["memfd"]), rd0(&shm_frame(8, SEALS, b"")[10..])])
            .expect(open(vec![shm(8, SEALS, b"", "memfd")])),
        dd("no-seals", "No seals at all: the region could shrink under the receiver (SIGBUS).")
            .flags(&["FdsClosed"])
            .events(vec![rdf(&shm_frame(4096, 0, b""), &["memfd"])])
            .expect(fail_after("shm_seals", vec![])),
        dd("seals-before-size", "Missing seals and a size over the cap: seals are checked first.")
            .flags(&["FdsClosed", "CheckOrder"])
            .events(vec![rdf(&shm_frame(GIB4 + 1, 0x2 | 0x4, b""), &["memfd"])])
            .expect(fail_after("shm_seals", vec![])),
        dd("size-default-cap", "4 GiB is the default cap: exactly that is accepted.")
            .events(vec![rdf(&shm_frame(GIB4, SEALS, b""), &["memfd"])])
            .expect(open(vec![shm(GIB4, SEALS, b"", "memfd")])),
        dd("size-over-default-cap", "One byte over the default 4 GiB cap.")
            .flags(&["FdsClosed", "Limits"])
            .events(vec![rdf(&shm_frame(GIB4 + 1, SEALS, b""), &["memfd"])])
            .expect(fail_after("shm_too_large", vec![])),
        dd("size-max-u64", "The largest u64 size.")
            .flags(&["FdsClosed", "Limits"])
            .events(vec![rdf(&shm_frame(u64::MAX, SEALS, b""), &["memfd"])])
            .expect(fail_after("shm_too_large", vec![])),
        dcap(MIB, "size-at-cap", "A receiver capped at 1 MiB accepts exactly 1 MiB.")
            .events(vec![rdf(&shm_frame(MIB, SEALS, b""), &["memfd"])])
            .expect(open(vec![shm(MIB, SEALS, b"", "memfd")])),
        dcap(MIB, "size-over-cap", "A receiver capped at 1 MiB refuses 1 MiB + 1.")
            .flags(&["FdsClosed"])
            .events(vec![rdf(&shm_frame(MIB + 1, SEALS, b""), &["memfd"])])
            .expect(fail_after("shm_too_large", vec![])),
        dd("no-fd", "A shared-memory header announcing no fd.")
            .events(vec![rd0(&cat(&[&header(12, 0, 1, 0), &shm_payload(8, SEALS, b"")]))])
            .expect(fail_after("shm_fd_count", vec![])),
        dd("two-fds", "A shared-memory header announcing two fds.")
            .flags(&["FdsClosed"])
            .events(vec![rdf(&cat(&[&header(12, 2, 1, 0), &shm_payload(8, SEALS, b"")]), &["memfd", "extra"])])
            .expect(fail_after("shm_fd_count", vec![])),
        dd("payload-11", "A payload of 11 bytes cannot hold the 12-byte header.")
            .flags(&["FdsClosed"])
            .events(vec![rdf(&cat(&[&header(11, 1, 1, 0), &shm_payload(8, SEALS, b"")[..11]]), &["memfd"])])
            .expect(fail_after("shm_short", vec![])),
        dd("payload-0", "An empty shared-memory payload.")
            .flags(&["FdsClosed"])
            .events(vec![rdf(&header(0, 1, 1, 0), &["memfd"])])
            .expect(fail_after("shm_short", vec![])),
        dd("too-large-frame", "A shared-memory frame whose payload exceeds the negotiated maximum: the generic header check.")
            .flags(&["FdsClosed", "Limits"])
            .events(vec![rdf(&header((16 << 20) + 1, 1, 1, 0), &["memfd"])])
            .expect(fail_after("frame_too_large", vec![])),
    ];
    for (name, seals) in [
        ("no-seal-seal", 0x2 | 0x4),
        ("no-seal-shrink", 0x1 | 0x4),
        ("no-seal-grow", 0x1 | 0x2),
    ] {
        v.push(
            dd(name, "One of shrink, grow and seal is missing.")
                .flags(&["FdsClosed"])
                .events(vec![rdf(&shm_frame(4096, seals, b""), &["memfd"])])
                .expect(fail_after("shm_seals", vec![])),
        );
    }
    let sq = |name: &str, comment: &str| {
        Draft::new(
            DEC,
            cfg(Socket::Seqpacket, None),
            &format!("shm-{name}"),
            comment,
        )
        .flags(&["SharedMemory", "Seqpacket"])
    };
    v.push(
        sq("record", "A shared-memory frame as one record.")
            .events(vec![rdf(&shm_frame(4096, SEALS, b"m"), &["memfd"])])
            .expect(open(vec![shm(4096, SEALS, b"m", "memfd")])),
    );
    v.push(
        sq("record-no-seals", "A shared-memory record without seals.")
            .flags(&["FdsClosed"])
            .events(vec![rdf(&shm_frame(4096, 0x1, b""), &["memfd"])])
            .expect(fail_after("shm_seals", vec![])),
    );
    v.extend([
        de("send", "The sender writes kind 1, nfds 1, len 12 + application bytes, then size and seals, with the memfd on the first byte.")
            .flags(&["Canonical", "ShortWrite"])
            .events(vec![push_shm(4096, SEALS, b"", &["memfd"], None), flush(), out_fds(&shm_frame(4096, SEALS, b""), &["memfd"])])
            .expect(ok()),
        de("send-app-bytes", "With application bytes.")
            .flags(&["ShortWrite"])
            .events(vec![push_shm(64, SEALS | SEAL_WRITE, b"hello", &["memfd"], None), flush(), out_fds(&shm_frame(64, SEALS | SEAL_WRITE, b"hello"), &["memfd"])])
            .expect(ok()),
        de("send-no-fd", "A shared-memory frame without its fd is refused.")
            .events(vec![push_shm(4096, SEALS, b"", &[], Some("send_shm_fd_count")), flush()])
            .expect(fail("send_shm_fd_count")),
        de("send-two-fds", "A shared-memory frame with two fds is refused, both closed.")
            .flags(&["FdsClosed"])
            .events(vec![push_shm(4096, SEALS, b"", &["memfd", "extra"], Some("send_shm_fd_count")), flush()])
            .expect(fail("send_shm_fd_count")),
        Draft::new(ENC, codec_cfg(Socket::Stream, lim(32, 12)), "shm-send-at-limit", "The 12-byte header counts in the payload: exactly 12 fits a maximum of 12.")
            .flags(&["SharedMemory", "Limits"])
            .events(vec![push_shm(1, SEALS, b"", &["memfd"], None), flush(), out_fds(&shm_frame(1, SEALS, b""), &["memfd"])])
            .expect(ok()),
        Draft::new(ENC, codec_cfg(Socket::Stream, lim(32, 12)), "shm-send-too-large", "12 + 1 application byte exceeds a maximum of 12.")
            .flags(&["SharedMemory", "Limits", "FdsClosed"])
            .events(vec![push_shm(1, SEALS, b"x", &["memfd"], Some("send_too_large")), flush()])
            .expect(fail("send_too_large")),
        Draft::new(ENC, cfg(Socket::Seqpacket, None), "shm-send-record", "On seqpacket a shared-memory frame is one record.")
            .flags(&["SharedMemory", "Seqpacket"])
            .events(vec![push_shm(4096, SEALS, b"", &["memfd"], None), flush(), out_fds(&shm_frame(4096, SEALS, b""), &["memfd"])])
            .expect(ok()),
    ]);
    v.extend(check_order());
    v
}

/// The order of the shared-memory checks (PROTOCOL.md 4.2, 4.4): the
/// generic header checks first, then `nfds` before `len`; the announced
/// seals and size are checked when the whole frame is in. Appended after
/// the older cases so that their tcIds stay put.
fn check_order() -> Vec<Draft> {
    vec![
        dd("no-fd-and-short", "Kind 1 with no fd and a payload of 11 bytes: the fd count is checked before the length.")
            .flags(&["CheckOrder"])
            .events(vec![rd0(&cat(&[&header(11, 0, 1, 0), &shm_payload(8, SEALS, b"")[..11]]))])
            .expect(fail_after("shm_fd_count", vec![])),
        dd("two-fds-and-empty", "Kind 1 with two fds and an empty payload: shm_fd_count, not shm_short; both fds closed.")
            .flags(&["CheckOrder", "FdsClosed"])
            .events(vec![rdf(&header(0, 2, 1, 0), &["memfd", "extra"])])
            .expect(fail_after("shm_fd_count", vec![])),
        dd("too-many-fds", "Kind 1 announcing 33 fds over a maximum of 32: the generic header check comes before the shared-memory ones.")
            .flags(&["CheckOrder", "Limits"])
            .events(vec![rd0(&header(12, 33, 1, 0))])
            .expect(fail_after("frame_too_many_fds", vec![])),
        dd("reserved", "Kind 1 with reserved field 1 and no fd: frame_reserved before shm_fd_count.")
            .flags(&["CheckOrder", "Malformed"])
            .events(vec![rd0(&cat(&[&header(12, 0, 1, 1), &shm_payload(8, SEALS, b"")]))])
            .expect(fail_after("frame_reserved", vec![])),
        dd("announcement-on-complete-frame", "Seals announced without shrink, grow and seal, and EOF before the frame's application bytes are in: the announcement is checked when the frame is complete, so this is eof_in_frame.")
            .flags(&["CheckOrder", "Eof", "FdsClosed"])
            .events(vec![rdf(&shm_frame(4096, 0, b"app")[..8 + 12], &["memfd"]), eof()])
            .expect(fail_after("eof_in_frame", vec![])),
    ]
}
