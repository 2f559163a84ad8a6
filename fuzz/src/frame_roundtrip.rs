//! `frame_roundtrip`: arbitrary frames through the encoder, arbitrary short
//! writes, the kernel's read merging (the in-memory `Wire`) at arbitrary
//! read sizes, then the decoder. Oracle: every frame the encoder accepted
//! comes back identical (kind, payload, the very same fds, in order), no
//! error, and every fd is delivered or dropped once.

use arbitrary::Arbitrary;
use bytes::Bytes;
use mon_ipc::frame::seals;
use mon_ipc::pair::{Read, Wire};
use mon_ipc::{Decoder, Encoder, Kind, Limits, ReadFlags, ShmHeader, SocketKind, Ucred};

use mon_ipc_testkit::{Fd, Ledger};

/// A frame to send.
#[derive(Arbitrary, Debug, PartialEq)]
pub struct FrameIn {
    pub payload: Vec<u8>,
    pub nfds: u8,
    pub shm: Option<(u64, u32)>,
    /// Send the payload as a shared `Bytes` (vectored, no copy).
    pub shared: bool,
}

/// The input.
#[derive(Arbitrary, Debug, PartialEq)]
pub struct Input {
    pub seqpacket: bool,
    pub max_fds: u8,
    pub frames: Vec<FrameIn>,
    /// Bytes each `sendmsg` writes (cycled; 0 = all offered).
    pub writes: Vec<u8>,
    /// Bytes each read asks for (cycled; 0 = everything).
    pub reads: Vec<u8>,
}

type Sent = (Kind, Vec<u8>, Vec<u32>);

fn cycle(sizes: &[u8], i: usize) -> usize {
    match sizes.get(i % sizes.len().max(1)).copied().unwrap_or(0) {
        0 => usize::MAX,
        n => usize::from(n),
    }
}

/// Runs one input.
pub fn run(input: &Input) {
    let ledger = Ledger::default();
    let socket = crate::socket(input.seqpacket);
    let limits = Limits::new(input.max_fds % 254, 1 << 16).unwrap();
    let mut enc = Encoder::<Fd>::new(limits, socket);
    let mut wire = Wire::new(socket);
    let mut sent: Vec<Sent> = Vec::new();
    for f in input.frames.iter().take(64) {
        let kind = match f.shm {
            Some((size, s)) => Kind::SharedMemory(ShmHeader {
                size,
                seals: s | seals::REQUIRED,
            }),
            None => Kind::Data,
        };
        let fds = ledger.fds(usize::from(f.nfds % 8));
        let ids: Vec<u32> = fds.iter().map(Fd::id).collect();
        let pushed = if f.shared {
            enc.push(kind, Bytes::from(f.payload.clone()), fds)
        } else {
            enc.push_copy(kind, &f.payload, fds)
        };
        if pushed.is_ok() {
            sent.push((kind, f.payload.clone(), ids));
        }
    }
    let me = Ucred::known(1, 1, 1);
    let mut w = 0;
    loop {
        let mut slices = [&[][..]; 8];
        let Some(t) = enc.transmit(&mut slices) else {
            break;
        };
        let mut bytes: Vec<u8> = slices[..t.slices].concat();
        assert_eq!(bytes.len(), t.len);
        if socket == SocketKind::Stream {
            bytes.truncate(cycle(&input.writes, w));
        }
        w += 1;
        let mut fds = Vec::new();
        enc.advance_with(bytes.len(), |fd| fds.push(fd)).unwrap();
        wire.send(&bytes, me, fds);
    }
    wire.close();
    let mut dec = Decoder::<Fd>::new(limits, socket).with_max_shm_size(u64::MAX);
    let mut got: Vec<Sent> = Vec::new();
    let mut r = 0;
    loop {
        while let Some(f) = dec.next_frame().expect("a frame the encoder made") {
            let ids = f.fds.map(Fd::deliver).collect();
            got.push((f.kind, f.payload.to_vec(), ids));
        }
        let size = if socket == SocketKind::Seqpacket {
            usize::MAX
        } else {
            cycle(&input.reads, r)
        };
        r += 1;
        match wire.read(size) {
            Read::Data(bytes, anc) => {
                let flags = ReadFlags {
                    ctrunc: anc.ctrunc,
                    trunc: anc.trunc,
                };
                dec.receive(&bytes, anc.fds, flags)
                    .expect("a read of encoder output");
            }
            Read::Eof => {
                dec.receive_eof().unwrap();
                assert!(dec.next_frame().unwrap().is_none());
                break;
            }
            Read::WouldBlock => unreachable!("the wire was closed"),
        }
    }
    assert_eq!(got, sent);
    drop(dec);
    ledger.assert_accounted();
}
