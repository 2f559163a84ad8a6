//! The frame encoder: batching rules, partial writes, limits, fd ownership.

use bytes::Bytes;
use mon_ipc::frame::{HEADER_LEN, Header, seals};
use mon_ipc::{BATCH_BYTES, Encoder, Kind, Limits, ShmHeader, SocketKind, UsageError};
use mon_ipc_testkit::{Fd, Ledger};

fn enc(socket: SocketKind) -> Encoder<Fd> {
    Encoder::new(Limits::new(4, 1 << 20).unwrap(), socket)
}

/// One simulated `sendmsg` of everything `transmit` offers: the bytes, the
/// fd ids, and the fds moved out of the encoder as the kernel would.
fn send_all(enc: &mut Encoder<Fd>) -> Option<(Vec<u8>, Vec<u32>)> {
    send_some(enc, usize::MAX)
}

fn send_some(enc: &mut Encoder<Fd>, max: usize) -> Option<(Vec<u8>, Vec<u32>)> {
    let mut slices = [&[][..]; 8];
    let t = enc.transmit(&mut slices)?;
    let ids: Vec<u32> = t.fds.map(Fd::id).collect();
    let mut bytes: Vec<u8> = slices[..t.slices].concat();
    assert_eq!(bytes.len(), t.len);
    bytes.truncate(max);
    let mut moved = Vec::new();
    enc.advance_with(bytes.len(), |fd| moved.push(fd.deliver()))
        .unwrap();
    assert!(
        moved.is_empty() || moved == ids,
        "the fds leave with the first byte"
    );
    Some((bytes, ids))
}

fn frame(payload: &[u8], nfds: u8) -> Vec<u8> {
    let mut f = Header {
        len: payload.len() as u32,
        nfds,
        kind: 0,
        reserved: 0,
    }
    .to_bytes()
    .to_vec();
    f.extend_from_slice(payload);
    f
}

#[test]
fn fd_less_frames_share_a_sendmsg() {
    let mut e = enc(SocketKind::Stream);
    for p in [&b"a"[..], b"bb", b"ccc"] {
        e.push_copy(Kind::Data, p, []).unwrap();
    }
    let (bytes, fds) = send_all(&mut e).unwrap();
    assert_eq!(
        bytes,
        [frame(b"a", 0), frame(b"bb", 0), frame(b"ccc", 0)].concat()
    );
    assert!(fds.is_empty());
    assert!(send_all(&mut e).is_none());
    assert!(e.is_empty());
}

#[test]
fn an_fd_frame_is_alone_in_its_sendmsg() {
    let log = Ledger::new();
    let mut e = enc(SocketKind::Stream);
    e.push_copy(Kind::Data, b"before", []).unwrap();
    e.push_copy(Kind::Data, b"fds", log.issue_all(&[1, 2]))
        .unwrap();
    e.push_copy(Kind::Data, b"after1", []).unwrap();
    e.push_copy(Kind::Data, b"after2", []).unwrap();
    e.push_copy(Kind::Data, b"fds2", log.issue_all(&[3]))
        .unwrap();
    assert_eq!(send_all(&mut e).unwrap(), (frame(b"before", 0), vec![]));
    assert_eq!(send_all(&mut e).unwrap(), (frame(b"fds", 2), vec![1, 2]));
    assert_eq!(
        send_all(&mut e).unwrap(),
        ([frame(b"after1", 0), frame(b"after2", 0)].concat(), vec![])
    );
    assert_eq!(send_all(&mut e).unwrap(), (frame(b"fds2", 1), vec![3]));
    assert!(send_all(&mut e).is_none());
    assert_eq!(
        log.dropped(),
        Vec::<u32>::new(),
        "every fd was sent, none closed"
    );
}

#[test]
fn after_a_short_write_the_rest_follows_without_fds() {
    let log = Ledger::new();
    let mut e = enc(SocketKind::Stream);
    e.push_copy(Kind::Data, b"0123456789", log.issue_all(&[9]))
        .unwrap();
    e.push_copy(Kind::Data, b"next", []).unwrap();
    let (first, fds) = send_some(&mut e, 3).unwrap();
    assert_eq!((first.len(), fds), (3, vec![9]));
    // The rest of the fd frame may now be batched with what follows.
    let (rest, fds) = send_all(&mut e).unwrap();
    assert!(fds.is_empty());
    assert_eq!(
        [first, rest].concat(),
        [frame(b"0123456789", 1), frame(b"next", 0)].concat()
    );
    assert_eq!(e.queued_bytes(), 0);
}

#[test]
fn byte_at_a_time_writes_lose_nothing() {
    let log = Ledger::new();
    let mut e = enc(SocketKind::Stream);
    e.push_copy(Kind::Data, b"abc", []).unwrap();
    e.push(
        Kind::Data,
        Bytes::from_static(b"shared"),
        log.issue_all(&[1]),
    )
    .unwrap();
    e.push_copy(Kind::Data, b"z", []).unwrap();
    let mut wire = Vec::new();
    let mut fds_seen = Vec::new();
    while let Some((b, fds)) = send_some(&mut e, 1) {
        wire.extend(b);
        fds_seen.push((wire.len(), fds));
    }
    let want = [frame(b"abc", 0), frame(b"shared", 1), frame(b"z", 0)].concat();
    assert_eq!(wire, want);
    let with_fds: Vec<_> = fds_seen
        .into_iter()
        .filter(|(_, f)| !f.is_empty())
        .collect();
    // The fd rode on the first byte of the second frame.
    assert_eq!(with_fds, [(HEADER_LEN + 3 + 1, vec![1])]);
}

#[test]
fn copied_frames_merge_into_one_slice() {
    let mut e = enc(SocketKind::Stream);
    for i in 0..100u8 {
        e.push_copy(Kind::Data, &[i; 3], []).unwrap();
    }
    let mut slices = [&[][..]; 2];
    let t = e.transmit(&mut slices).unwrap();
    assert_eq!((t.slices, t.len), (1, 100 * (HEADER_LEN + 3)));
    let want: Vec<u8> = (0..100u8).flat_map(|i| frame(&[i; 3], 0)).collect();
    assert_eq!(slices[0], &want[..]);
}

#[test]
fn seqpacket_sends_one_frame_per_record() {
    let mut e = enc(SocketKind::Seqpacket);
    e.push_copy(Kind::Data, b"one", []).unwrap();
    e.push_copy(Kind::Data, b"two", []).unwrap();
    assert_eq!(send_all(&mut e).unwrap().0, frame(b"one", 0));
    assert_eq!(send_all(&mut e).unwrap().0, frame(b"two", 0));
}

#[test]
fn shared_payload_is_not_copied() {
    let mut e = enc(SocketKind::Stream);
    let payload = Bytes::from(vec![5u8; 4096]);
    e.push(Kind::Data, payload.clone(), []).unwrap();
    let mut slices = [&[][..]; 4];
    let t = e.transmit(&mut slices).unwrap();
    assert_eq!(t.slices, 2);
    assert_eq!(slices[0].len(), HEADER_LEN);
    assert_eq!(slices[1].as_ptr(), payload.as_ptr());
}

#[test]
fn batches_are_capped() {
    let mut e = enc(SocketKind::Stream);
    let big = vec![0u8; BATCH_BYTES / 2];
    for _ in 0..3 {
        e.push_copy(Kind::Data, &big, []).unwrap();
    }
    let (first, _) = send_all(&mut e).unwrap();
    assert_eq!(
        first.len(),
        HEADER_LEN + big.len(),
        "a second frame would pass the cap"
    );
    // A few slices only: batching stops when the array is full.
    let mut e = enc(SocketKind::Stream);
    for _ in 0..10 {
        e.push(Kind::Data, Bytes::from_static(b"x"), []).unwrap();
    }
    let mut slices = [&[][..]; 4];
    let t = e.transmit(&mut slices).unwrap();
    assert_eq!((t.slices, t.len), (4, 2 * (HEADER_LEN + 1)));
}

#[test]
fn shared_memory_frame_layout() {
    let log = Ledger::new();
    let mut e = enc(SocketKind::Stream);
    let shm = ShmHeader {
        size: 1 << 16,
        seals: seals::REQUIRED,
    };
    e.push_copy(Kind::SharedMemory(shm), b"meta", log.issue_all(&[7]))
        .unwrap();
    let (bytes, fds) = send_all(&mut e).unwrap();
    let mut want = Header {
        len: 12 + 4,
        nfds: 1,
        kind: 1,
        reserved: 0,
    }
    .to_bytes()
    .to_vec();
    want.extend(shm.to_bytes());
    want.extend(b"meta");
    assert_eq!((bytes, fds), (want, vec![7]));
}

#[test]
fn frames_beyond_the_peer_limits_are_refused_and_their_fds_dropped() {
    let log = Ledger::new();
    let mut e = Encoder::new(Limits::new(2, 16).unwrap(), SocketKind::Stream);
    let shm = Kind::SharedMemory(ShmHeader {
        size: 1,
        seals: seals::REQUIRED,
    });
    assert_eq!(
        e.push_copy(Kind::Data, b"x", log.issue_all(&[1, 2, 3])),
        Err(UsageError::SendTooManyFds)
    );
    assert_eq!(
        e.push_copy(Kind::Data, &[0; 17], log.issue_all(&[4])),
        Err(UsageError::SendTooLarge)
    );
    assert_eq!(
        e.push_copy(shm, b"", log.issue_all(&[5, 6])),
        Err(UsageError::SendShmFdCount)
    );
    assert_eq!(e.push_copy(shm, b"", []), Err(UsageError::SendShmFdCount));
    // 12 bytes of shm header + 5 = 17 > 16.
    assert_eq!(
        e.push_copy(shm, b"12345", log.issue_all(&[7])),
        Err(UsageError::SendTooLarge)
    );
    assert_eq!(log.dropped(), [1, 2, 3, 4, 5, 6, 7]);
    assert!(e.is_empty());
    // Not sticky: a frame within the limits still goes out.
    e.push_copy(Kind::Data, &[0; 16], log.issue_all(&[8, 9]))
        .unwrap();
    assert_eq!(send_all(&mut e).unwrap().1, [8, 9]);
}

#[test]
fn advancing_past_the_queue_is_misuse() {
    let mut e = enc(SocketKind::Stream);
    e.push_copy(Kind::Data, b"abc", []).unwrap();
    assert_eq!(e.advance(HEADER_LEN + 4), Err(UsageError::AdvancePastEnd));
    assert_eq!(e.queued_bytes(), HEADER_LEN + 3, "nothing was consumed");
    e.advance(HEADER_LEN + 3).unwrap();
    assert!(e.is_empty());
}

#[test]
fn advance_drops_sent_fds_and_clear_drops_queued_ones() {
    let log = Ledger::new();
    let mut e = enc(SocketKind::Stream);
    e.push_copy(Kind::Data, b"a", log.issue_all(&[1])).unwrap();
    e.push_copy(Kind::Data, b"b", log.issue_all(&[2])).unwrap();
    e.advance(1).unwrap();
    assert_eq!(log.dropped(), [1], "sent: the sender's copy is closed");
    assert_eq!(e.queued_frames(), 2);
    e.clear();
    assert_eq!(log.dropped(), [1, 2]);
    assert!(e.is_empty() && e.queued_bytes() == 0);
}

#[test]
fn a_limit_above_253_fds_is_refused() {
    assert_eq!(Limits::new(254, 0), Err(UsageError::LimitOutOfRange));
    assert_eq!(Limits::new(255, 1), Err(UsageError::LimitOutOfRange));
    assert_eq!(Limits::new(253, 0).map(|l| l.max_fds()), Ok(253));
}

/// `data_header` (the borrowed-fd send path of a driver) gives the very
/// header `push` queues, and refuses what `push` refuses.
#[test]
fn data_header_is_the_header_push_would_send() {
    let mut e = enc(SocketKind::Stream);
    for (len, nfds) in [(0usize, 0usize), (1, 1), (64, 4), (1 << 20, 0)] {
        let payload = vec![7u8; len];
        let log = Ledger::new();
        e.push_copy(Kind::Data, &payload, (0..nfds as u32).map(|i| log.issue(i)))
            .unwrap();
        let (bytes, _) = send_all(&mut e).unwrap();
        assert_eq!(e.data_header(len, nfds).unwrap(), bytes[..HEADER_LEN]);
    }
    for (len, nfds, err) in [
        ((1 << 20) + 1, 0, UsageError::SendTooLarge),
        (0, 5, UsageError::SendTooManyFds),
        (usize::MAX, 0, UsageError::SendTooLarge),
    ] {
        assert_eq!(e.data_header(len, nfds), Err(err));
        let log = Ledger::new();
        let r = e.push_copy(Kind::Data, &[], (0..nfds as u32).map(|i| log.issue(i)));
        if len == 0 {
            assert_eq!(r, Err(err));
        }
    }
}

/// A large copied payload is placed at its source's alignment in the
/// arena (a `memcpy` speed matter): whatever the source's alignment, and
/// whether or not frames are queued before it, the bytes sent are exactly
/// the frames, with no padding.
#[test]
fn aligned_copies_send_exactly_the_frames() {
    let backing: Vec<u8> = (0..8192 + 64).map(|i| (i % 251) as u8).collect();
    for offset in 0..64 {
        let payload = &backing[offset..offset + 8192];
        let mut e = enc(SocketKind::Stream);
        e.push_copy(Kind::Data, payload, []).unwrap();
        let mut slices = [&[][..]; 8];
        let t = e.transmit(&mut slices).unwrap();
        let copy_at = slices[0].as_ptr() as usize + HEADER_LEN;
        assert_eq!(t.slices, 1);
        assert_eq!(
            copy_at % 64,
            payload.as_ptr() as usize % 64,
            "offset {offset}"
        );
        let (bytes, _) = send_all(&mut e).unwrap();
        assert_eq!(bytes, frame(payload, 0), "offset {offset}");
        // Behind a queued small frame: one batch, contiguous.
        e.push_copy(Kind::Data, b"small", []).unwrap();
        e.push_copy(Kind::Data, payload, []).unwrap();
        let (bytes, _) = send_all(&mut e).unwrap();
        assert_eq!(bytes, [frame(b"small", 0), frame(payload, 0)].concat());
        // Sent in pieces: the same bytes.
        e.push_copy(Kind::Data, payload, []).unwrap();
        let mut got = Vec::new();
        while let Some((b, _)) = send_some(&mut e, 1000) {
            got.extend(b);
        }
        assert_eq!(got, frame(payload, 0), "offset {offset}, in pieces");
        assert!(e.is_empty());
    }
}
