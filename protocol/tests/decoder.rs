//! The frame decoder: every transition and every error code, with a
//! counting fd handle so that every fd is seen delivered or dropped.

use mon_ipc::frame::{HEADER_LEN, Header, seals};
use mon_ipc::{
    Decoder, Error, Kind, Leftover, Limits, PeerError, ReadFlags, ShmHeader, SocketKind, UsageError,
};
use mon_ipc_testkit::{Fd, Ledger};

fn header(len: u32, nfds: u8, kind: u8, reserved: u16) -> [u8; HEADER_LEN] {
    Header {
        len,
        nfds,
        kind,
        reserved,
    }
    .to_bytes()
}

fn frame(payload: &[u8], nfds: u8) -> Vec<u8> {
    let mut f = header(payload.len() as u32, nfds, 0, 0).to_vec();
    f.extend_from_slice(payload);
    f
}

fn stream() -> Decoder<Fd> {
    Decoder::new(Limits::new(4, 1024).unwrap(), SocketKind::Stream)
}

fn seqpacket() -> Decoder<Fd> {
    Decoder::new(Limits::new(4, 1024).unwrap(), SocketKind::Seqpacket)
}

/// Drains every complete frame as (payload, fd ids).
type Frames = Vec<(Vec<u8>, Vec<u32>)>;

fn drain(dec: &mut Decoder<Fd>) -> Result<Frames, Error> {
    let mut out = Vec::new();
    while let Some(f) = dec.next_frame()? {
        out.push((f.payload.to_vec(), f.fds.map(|fd| fd.deliver()).collect()));
    }
    Ok(out)
}

fn peer(e: PeerError) -> Error {
    Error::Peer(e)
}

#[test]
fn one_frame_without_fds() {
    let mut dec = stream();
    dec.receive(&frame(b"abc", 0), [], ReadFlags::default())
        .unwrap();
    assert_eq!(drain(&mut dec).unwrap(), [(b"abc".to_vec(), vec![])]);
    assert!(!dec.is_closed());
}

#[test]
fn fds_go_to_the_last_header_of_their_read() {
    // The kernel glues fd-less data *before* an fd-carrying message.
    let log = Ledger::new();
    let mut dec = stream();
    let mut read = frame(b"first", 0);
    read.extend(frame(b"second", 2));
    dec.receive(&read, log.issue_all(&[10, 11]), ReadFlags::default())
        .unwrap();
    assert_eq!(
        drain(&mut dec).unwrap(),
        [
            (b"first".to_vec(), vec![]),
            (b"second".to_vec(), vec![10, 11])
        ]
    );
    assert_eq!(log.dropped(), Vec::<u32>::new());
}

#[test]
fn fds_arrive_with_the_first_byte_of_their_frame() {
    // A read of 1 byte brings the fds; the rest follows without.
    let log = Ledger::new();
    let mut dec = stream();
    let bytes = frame(b"payload", 1);
    dec.receive(&bytes[..1], log.issue_all(&[5]), ReadFlags::default())
        .unwrap();
    for b in &bytes[1..] {
        assert_eq!(drain(&mut dec).unwrap(), []);
        dec.receive(std::slice::from_ref(b), [], ReadFlags::default())
            .unwrap();
    }
    assert_eq!(drain(&mut dec).unwrap(), [(b"payload".to_vec(), vec![5])]);
}

#[test]
fn a_frame_split_across_reads_keeps_its_fds() {
    let log = Ledger::new();
    let mut dec = stream();
    let mut bytes = frame(b"a", 0);
    bytes.extend(frame(&[7; 100], 3));
    // Read 1: frame "a" and 4 bytes of the next header, with its fds.
    dec.receive(
        &bytes[..13],
        log.issue_all(&[1, 2, 3]),
        ReadFlags::default(),
    )
    .unwrap();
    assert_eq!(drain(&mut dec).unwrap(), [(b"a".to_vec(), vec![])]);
    dec.receive(&bytes[13..50], [], ReadFlags::default())
        .unwrap();
    assert_eq!(drain(&mut dec).unwrap(), []);
    dec.receive(&bytes[50..], [], ReadFlags::default()).unwrap();
    assert_eq!(drain(&mut dec).unwrap(), [(vec![7; 100], vec![1, 2, 3])]);
}

#[test]
fn fds_of_two_frames_held_at_once_go_each_to_its_own_in_order() {
    // Read 1: frame A's header and part of its payload, with A's 3 fds;
    // read 2: the rest of A and all of B, with B's 2 fds. Both frames'
    // fds are then held at once, A's first.
    let log = Ledger::new();
    let mut dec = stream();
    let mut bytes = frame(b"aaaa", 3);
    bytes.extend(frame(b"bb", 2));
    dec.receive(
        &bytes[..10],
        log.issue_all(&[1, 2, 3]),
        ReadFlags::default(),
    )
    .unwrap();
    dec.receive(&bytes[10..], log.issue_all(&[4, 5]), ReadFlags::default())
        .unwrap();
    assert_eq!(dec.held_fds(), 5);
    // A: its first fd taken, the iterator dropped with the other two.
    let mut a = dec.next_frame().unwrap().unwrap();
    assert_eq!((&a.payload[..], a.fds.len()), (&b"aaaa"[..], 3));
    assert_eq!(a.fds.next().map(|fd| fd.deliver()), Some(1));
    drop(a);
    assert_eq!(log.dropped(), [2, 3]);
    // B: appended after what the vector already holds.
    let mut got = log.issue_all(&[9]);
    let (_, payload) = dec.next_frame_into(&mut got).unwrap().unwrap();
    assert_eq!(&payload[..], b"bb");
    let ids: Vec<u32> = got.into_iter().map(|fd| fd.deliver()).collect();
    assert_eq!(ids, [9, 4, 5]);
    assert_eq!(dec.held_fds(), 0);
}

#[test]
fn incomplete_header_with_fds_is_checked_when_it_completes() {
    let log = Ledger::new();
    let mut dec = stream();
    let bytes = frame(b"xy", 2);
    dec.receive(&bytes[..3], log.issue_all(&[1]), ReadFlags::default())
        .unwrap();
    let e = dec
        .receive(&bytes[3..], [], ReadFlags::default())
        .unwrap_err();
    assert_eq!(e, peer(PeerError::FdCountMismatch));
    assert_eq!(log.dropped(), [1]);
}

#[test]
fn fds_in_a_read_where_no_header_begins() {
    let log = Ledger::new();
    let mut dec = stream();
    let bytes = frame(b"0123456789", 0);
    dec.receive(&bytes[..10], [], ReadFlags::default()).unwrap();
    let e = dec
        .receive(&bytes[10..], log.issue_all(&[9]), ReadFlags::default())
        .unwrap_err();
    assert_eq!(e.code(), "fds_without_frame");
    assert_eq!(log.dropped(), [9]);
}

#[test]
fn fds_on_an_empty_read_have_no_frame() {
    let log = Ledger::new();
    let mut dec = stream();
    let e = dec
        .receive(&[], log.issue_all(&[4]), ReadFlags::default())
        .unwrap_err();
    assert_eq!(e, peer(PeerError::FdsWithoutFrame));
    assert_eq!(log.dropped(), [4]);
}

#[test]
fn a_header_announcing_fds_must_be_last_in_its_read() {
    let log = Ledger::new();
    let mut dec = stream();
    let mut read = frame(b"has fd", 1);
    read.extend(frame(b"after", 0));
    let e = dec
        .receive(&read, log.issue_all(&[1]), ReadFlags::default())
        .unwrap_err();
    assert_eq!(e, peer(PeerError::FdsMisplaced));
    assert_eq!(log.dropped(), [1]);
}

#[test]
fn a_frame_announcing_fds_whose_read_brought_none() {
    let mut dec = stream();
    let e = dec
        .receive(&frame(b"x", 1), [], ReadFlags::default())
        .unwrap_err();
    assert_eq!(e, peer(PeerError::FdsMissing));
    // Not last in its read, and the read brought none: missing, not misplaced.
    let mut dec = stream();
    let mut read = frame(b"x", 1);
    read.extend(frame(b"y", 0));
    let e = dec.receive(&read, [], ReadFlags::default()).unwrap_err();
    assert_eq!(e, peer(PeerError::FdsMissing));
}

#[test]
fn fd_count_differs_from_nfds() {
    let log = Ledger::new();
    let mut dec = stream();
    let e = dec
        .receive(
            &frame(b"x", 2),
            log.issue_all(&[1, 2, 3]),
            ReadFlags::default(),
        )
        .unwrap_err();
    assert_eq!(e, peer(PeerError::FdCountMismatch));
    assert_eq!(log.dropped(), [1, 2, 3]);
}

#[test]
fn more_fds_in_a_read_than_any_frame_may_carry() {
    let log = Ledger::new();
    let mut dec = stream(); // max 4
    let e = dec
        .receive(
            &frame(b"x", 4),
            log.issue_all(&[1, 2, 3, 4, 5]),
            ReadFlags::default(),
        )
        .unwrap_err();
    assert_eq!(e, peer(PeerError::FdCountMismatch));
    assert_eq!(log.dropped().len(), 5);
}

#[test]
fn control_truncated_drops_every_fd() {
    let log = Ledger::new();
    let mut dec = stream();
    let flags = ReadFlags {
        ctrunc: true,
        trunc: false,
    };
    let e = dec
        .receive(&frame(b"x", 1), log.issue_all(&[8]), flags)
        .unwrap_err();
    assert_eq!(e, peer(PeerError::ControlTruncated));
    assert_eq!(log.dropped(), [8]);
}

#[test]
fn header_checks_come_before_any_payload() {
    // Each bad header is refused as soon as its 8 bytes are in.
    let cases = [
        (header(1, 0, 2, 0), PeerError::FrameBadKind),
        (header(1, 0, 0, 1), PeerError::FrameReserved),
        (header(1025, 0, 0, 0), PeerError::FrameTooLarge),
        (header(1, 5, 0, 0), PeerError::FrameTooManyFds),
        (header(20, 2, 1, 0), PeerError::ShmFdCount),
        (header(20, 0, 1, 0), PeerError::ShmFdCount),
        (header(11, 1, 1, 0), PeerError::ShmShort),
        // Order: kind before reserved before length before fds.
        (header(u32::MAX, 200, 9, 9), PeerError::FrameBadKind),
        (header(u32::MAX, 200, 0, 9), PeerError::FrameReserved),
        (header(u32::MAX, 200, 0, 0), PeerError::FrameTooLarge),
    ];
    for (h, want) in cases {
        let log = Ledger::new();
        let mut dec = stream();
        let fds = log.issue_all(&vec![1; usize::from(h[4]).min(4)]);
        let e = dec.receive(&h, fds, ReadFlags::default()).unwrap_err();
        assert_eq!(e, peer(want), "header {h:?}");
        assert_eq!(log.dropped().len(), usize::from(h[4]).min(4));
    }
}

#[test]
fn limits_of_zero_are_legal() {
    let mut dec = Decoder::<Fd>::new(Limits::new(0, 0).unwrap(), SocketKind::Stream);
    dec.receive(&frame(b"", 0), [], ReadFlags::default())
        .unwrap();
    assert_eq!(drain(&mut dec).unwrap(), [(vec![], vec![])]);
    let e = dec
        .receive(&frame(b"x", 0), [], ReadFlags::default())
        .unwrap_err();
    assert_eq!(e, peer(PeerError::FrameTooLarge));
}

fn shm_frame(size: u64, seals_: u32, app: &[u8]) -> Vec<u8> {
    let shm = ShmHeader {
        size,
        seals: seals_,
    };
    let mut f = header((12 + app.len()) as u32, 1, 1, 0).to_vec();
    f.extend(shm.to_bytes());
    f.extend_from_slice(app);
    f
}

#[test]
fn shared_memory_frame() {
    let log = Ledger::new();
    let mut dec = stream().with_max_shm_size(1 << 20);
    let all = seals::REQUIRED | seals::WRITE;
    dec.receive(
        &shm_frame(4096, all, b"app"),
        log.issue_all(&[3]),
        ReadFlags::default(),
    )
    .unwrap();
    let f = dec.next_frame().unwrap().unwrap();
    assert_eq!(
        f.kind,
        Kind::SharedMemory(ShmHeader {
            size: 4096,
            seals: all
        })
    );
    assert_eq!(&f.payload[..], b"app");
    assert_eq!(f.fds.map(|fd| fd.deliver()).collect::<Vec<_>>(), [3]);
}

#[test]
fn shared_memory_frame_size_zero_is_legal() {
    let log = Ledger::new();
    let mut dec = stream();
    dec.receive(
        &shm_frame(0, seals::REQUIRED, b""),
        log.issue_all(&[3]),
        ReadFlags::default(),
    )
    .unwrap();
    let f = dec.next_frame().unwrap().unwrap();
    assert!(matches!(
        f.kind,
        Kind::SharedMemory(ShmHeader { size: 0, .. })
    ));
}

#[test]
fn shared_memory_announced_fields_are_checked() {
    let cases = [
        (
            shm_frame(10, seals::SHRINK | seals::GROW, b""),
            PeerError::ShmSeals,
        ),
        (
            shm_frame(10, seals::SEAL | seals::GROW, b""),
            PeerError::ShmSeals,
        ),
        (
            shm_frame((1 << 20) + 1, seals::REQUIRED, b""),
            PeerError::ShmTooLarge,
        ),
    ];
    for (bytes, want) in cases {
        let log = Ledger::new();
        let mut dec = stream().with_max_shm_size(1 << 20);
        dec.receive(&bytes, log.issue_all(&[3]), ReadFlags::default())
            .unwrap();
        assert_eq!(dec.next_frame().unwrap_err(), peer(want));
        assert_eq!(log.dropped(), [3], "{want:?}: the memfd is closed");
    }
}

#[test]
fn eof_inside_a_frame() {
    let log = Ledger::new();
    let mut dec = stream();
    let bytes = frame(b"abcdef", 1);
    dec.receive(&bytes[..9], log.issue_all(&[1]), ReadFlags::default())
        .unwrap();
    dec.receive_eof().unwrap();
    assert_eq!(dec.next_frame().unwrap_err(), peer(PeerError::EofInFrame));
    assert_eq!(log.dropped(), [1]);
}

#[test]
fn eof_inside_a_header() {
    let mut dec = stream();
    dec.receive(&[1, 0, 0], [], ReadFlags::default()).unwrap();
    dec.receive_eof().unwrap();
    assert_eq!(dec.next_frame().unwrap_err().code(), "eof_in_frame");
}

#[test]
fn clean_eof_after_the_last_frame() {
    let mut dec = stream();
    dec.receive(&frame(b"last", 0), [], ReadFlags::default())
        .unwrap();
    dec.receive_eof().unwrap();
    assert!(!dec.is_closed(), "a frame is still buffered");
    assert_eq!(drain(&mut dec).unwrap(), [(b"last".to_vec(), vec![])]);
    assert!(dec.is_closed());
    assert!(dec.next_frame().unwrap().is_none());
}

#[test]
fn errors_are_sticky() {
    let log = Ledger::new();
    let mut dec = stream();
    let e = dec
        .receive(&header(1, 0, 7, 0), [], ReadFlags::default())
        .unwrap_err();
    assert_eq!(dec.next_frame().unwrap_err(), e);
    assert_eq!(dec.receive_eof().unwrap_err(), e);
    assert_eq!(
        dec.receive(&frame(b"ok", 1), log.issue_all(&[6]), ReadFlags::default())
            .unwrap_err(),
        e
    );
    assert!(dec.read_buffer().is_err());
    assert_eq!(log.dropped(), [6], "fds given after the error are dropped");
}

#[test]
fn reading_while_frames_are_pending_is_misuse() {
    let mut dec = stream();
    dec.receive(&frame(b"one", 0), [], ReadFlags::default())
        .unwrap();
    let e = dec
        .receive(&frame(b"two", 0), [], ReadFlags::default())
        .unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::FramesPending));
}

#[test]
fn input_after_eof_is_misuse() {
    let mut dec = stream();
    dec.receive_eof().unwrap();
    let e = dec
        .receive(&frame(b"late", 0), [], ReadFlags::default())
        .unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::UnexpectedInput));
}

#[test]
fn a_shortened_buffer_is_detected() {
    let mut dec = stream();
    let buf = dec.read_buffer().unwrap();
    buf.extend_from_slice(&frame(b"hello", 0)[..10]);
    dec.commit_read([], ReadFlags::default()).unwrap();
    dec.read_buffer().unwrap().truncate(4);
    let e = dec.commit_read([], ReadFlags::default()).unwrap_err();
    assert_eq!(e, Error::Usage(UsageError::BufferTampered));
}

#[test]
fn read_buffer_is_zero_copy() {
    // Two frames read straight into the decoder's buffer: the payloads are
    // slices of that one buffer, 8 header bytes apart.
    let mut dec = stream();
    let buf = dec.read_buffer().unwrap();
    assert!(buf.capacity() - buf.len() >= dec_hint());
    buf.extend_from_slice(&frame(b"first", 0));
    buf.extend_from_slice(&frame(b"second", 0));
    dec.commit_read([], ReadFlags::default()).unwrap();
    let a = dec.next_frame().unwrap().unwrap().payload;
    let b = dec.next_frame().unwrap().unwrap().payload;
    assert_eq!(a.as_ptr().wrapping_add(5 + HEADER_LEN), b.as_ptr());
}

fn dec_hint() -> usize {
    mon_ipc::STREAM_READ_CHUNK
}

#[test]
fn read_hint_asks_for_the_rest_of_a_large_frame() {
    let mut dec = Decoder::<Fd>::new(Limits::new(0, 1 << 20).unwrap(), SocketKind::Stream);
    let bytes = frame(&vec![1; 100_000], 0);
    dec.receive(&bytes[..1000], [], ReadFlags::default())
        .unwrap();
    assert_eq!(dec.read_hint(), bytes.len() - 1000);
    assert_eq!(
        Decoder::<Fd>::new(Limits::new(0, 1 << 20).unwrap(), SocketKind::Seqpacket).read_hint(),
        HEADER_LEN + (1 << 20)
    );
}

#[test]
fn leftover_is_one_read() {
    let log = Ledger::new();
    let mut dec = stream();
    let mut bytes = frame(b"early", 0);
    bytes.extend(frame(b"with fd", 1));
    dec.receive_leftover(Leftover {
        bytes,
        fds: log.issue_all(&[42]),
        eof: true,
    })
    .unwrap();
    assert_eq!(
        drain(&mut dec).unwrap(),
        [(b"early".to_vec(), vec![]), (b"with fd".to_vec(), vec![42])]
    );
    assert!(dec.is_closed());
}

#[test]
fn seqpacket_record_is_one_frame() {
    let log = Ledger::new();
    let mut dec = seqpacket();
    dec.receive(
        &frame(b"rec", 2),
        log.issue_all(&[1, 2]),
        ReadFlags::default(),
    )
    .unwrap();
    assert_eq!(drain(&mut dec).unwrap(), [(b"rec".to_vec(), vec![1, 2])]);
    dec.receive(&frame(b"", 0), [], ReadFlags::default())
        .unwrap();
    assert_eq!(drain(&mut dec).unwrap(), [(vec![], vec![])]);
}

#[test]
fn seqpacket_record_size_must_match() {
    let mut long = frame(b"abc", 0);
    long.push(0);
    let cases: [(&[u8], PeerError); 3] = [
        (&[1, 0, 0], PeerError::RecordSize),
        (&frame(b"abc", 0)[..10], PeerError::RecordSize),
        (&long, PeerError::RecordSize),
    ];
    for (rec, want) in cases {
        let mut dec = seqpacket();
        let e = dec.receive(rec, [], ReadFlags::default()).unwrap_err();
        assert_eq!(e, peer(want), "record {rec:?}");
    }
}

#[test]
fn seqpacket_truncated_record() {
    let log = Ledger::new();
    let mut dec = seqpacket();
    let flags = ReadFlags {
        ctrunc: false,
        trunc: true,
    };
    let e = dec
        .receive(&frame(b"abc", 1), log.issue_all(&[1]), flags)
        .unwrap_err();
    assert_eq!(e, peer(PeerError::RecordTruncated));
    assert_eq!(log.dropped(), [1]);
}

#[test]
fn seqpacket_fd_rules() {
    let log = Ledger::new();
    let mut dec = seqpacket();
    let e = dec
        .receive(&frame(b"x", 1), [], ReadFlags::default())
        .unwrap_err();
    assert_eq!(e, peer(PeerError::FdsMissing));
    let mut dec = seqpacket();
    let e = dec
        .receive(&frame(b"x", 0), log.issue_all(&[1]), ReadFlags::default())
        .unwrap_err();
    assert_eq!(e, peer(PeerError::FdCountMismatch));
    let mut dec = seqpacket();
    let e = dec
        .receive(&[], log.issue_all(&[2]), ReadFlags::default())
        .unwrap_err();
    assert_eq!(e, peer(PeerError::FdsWithoutFrame));
    assert_eq!(log.dropped(), [1, 2]);
}

#[test]
fn unread_fds_of_a_frame_are_dropped_with_it() {
    let log = Ledger::new();
    let mut dec = stream();
    dec.receive(
        &frame(b"x", 3),
        log.issue_all(&[1, 2, 3]),
        ReadFlags::default(),
    )
    .unwrap();
    let mut f = dec.next_frame().unwrap().unwrap();
    assert_eq!(f.fds.next().map(|fd| fd.deliver()), Some(1));
    drop(f);
    assert_eq!(log.dropped(), [2, 3]);
    drop(dec);
    assert_eq!(log.dropped(), [2, 3], "nothing else was held");
}

#[test]
fn dropping_the_decoder_drops_held_fds() {
    let log = Ledger::new();
    let mut dec = stream();
    dec.receive(
        &frame(b"abcdef", 1)[..9],
        log.issue_all(&[7]),
        ReadFlags::default(),
    )
    .unwrap();
    drop(dec);
    assert_eq!(log.dropped(), [7]);
}

/// A frame whose fd iterator is leaked (`mem::forget`, reachable from safe
/// code) must not hand its fds to the next frame: the decoder drops them
/// (as they would have been dropped) before it goes on.
#[test]
fn a_leaked_frame_keeps_its_fds_from_the_next_frame() {
    let log = Ledger::new();
    let mut dec = stream();
    dec.receive(
        &frame(b"a", 2),
        log.issue_all(&[5, 6]),
        ReadFlags::default(),
    )
    .unwrap();
    {
        let a = dec.next_frame().unwrap().unwrap();
        std::mem::forget(a.fds);
    }
    dec.receive(&frame(b"b", 1), log.issue_all(&[7]), ReadFlags::default())
        .unwrap();
    assert_eq!(drain(&mut dec).unwrap(), [(b"b".to_vec(), vec![7])]);
    assert_eq!(log.dropped(), [5, 6]);
    assert_eq!(dec.held_fds(), 0);
    // The same when part of its fds were taken.
    dec.receive(
        &frame(b"c", 3),
        log.issue_all(&[8, 9, 10]),
        ReadFlags::default(),
    )
    .unwrap();
    {
        let mut c = dec.next_frame().unwrap().unwrap();
        assert_eq!(c.fds.next().map(Fd::deliver), Some(8));
        std::mem::forget(c.fds);
    }
    dec.receive(&frame(b"d", 1), log.issue_all(&[11]), ReadFlags::default())
        .unwrap();
    assert_eq!(drain(&mut dec).unwrap(), [(b"d".to_vec(), vec![11])]);
    assert_eq!(log.dropped(), [5, 6, 9, 10]);
}
