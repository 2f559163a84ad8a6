//! `frame_decoder`: arbitrary reads (bytes, fd counts, `MSG_CTRUNC`,
//! `MSG_TRUNC`), EOF and drains into the frame decoder, stream and seqpacket.
//!
//! Oracle: no panic; the buffer never holds more than one frame plus one
//! read; at most twice the per-frame fd limit is held; every frame is within
//! the limits; errors are sticky; every fd is dropped or delivered once.

use arbitrary::Arbitrary;
use mon_ipc::frame::Header;
use mon_ipc::{Decoder, Error, Limits, ReadFlags};

use mon_ipc_testkit::{Fd, Ledger};

/// One call on the decoder.
#[derive(Arbitrary, Debug, PartialEq)]
pub enum Call {
    /// Raw bytes as one read.
    Read {
        bytes: Vec<u8>,
        nfds: u8,
        ctrunc: bool,
        trunc: bool,
        drain_first: bool,
    },
    /// A plausible header (and some payload) as one read.
    Frame {
        len: u16,
        nfds: u8,
        kind: u8,
        payload: u16,
        fds: u8,
    },
    Eof,
    Drain,
}

/// The input.
#[derive(Arbitrary, Debug, PartialEq)]
pub struct Input {
    pub seqpacket: bool,
    pub max_fds: u8,
    pub max_payload: u16,
    pub calls: Vec<Call>,
}

/// Drains complete frames, checking them; returns how many.
pub fn drain(dec: &mut Decoder<Fd>) -> Result<usize, Error> {
    let limits = dec.limits();
    let mut n = 0;
    while let Some(f) = dec.next_frame()? {
        assert!(f.payload.len() <= limits.max_payload() as usize);
        assert!(f.fds.len() <= usize::from(limits.max_fds()));
        f.fds.for_each(|fd| {
            fd.deliver();
        });
        n += 1;
    }
    Ok(n)
}

/// Runs one input.
pub fn run(input: &Input) {
    let ledger = Ledger::default();
    let socket = crate::socket(input.seqpacket);
    let limits = Limits::new(input.max_fds % 254, u32::from(input.max_payload)).unwrap();
    let mut dec = Decoder::new(limits, socket).with_max_shm_size(1 << 20);
    let mut failed: Option<Error> = None;
    let mut biggest_read = 0;
    for call in &input.calls {
        let r = match call {
            Call::Read {
                bytes,
                nfds,
                ctrunc,
                trunc,
                drain_first,
            } => {
                if *drain_first {
                    let _ = drain(&mut dec);
                }
                biggest_read = biggest_read.max(bytes.len());
                let flags = ReadFlags {
                    ctrunc: *ctrunc,
                    trunc: *trunc,
                };
                dec.receive(bytes, ledger.fds(usize::from(*nfds)), flags)
            }
            Call::Frame {
                len,
                nfds,
                kind,
                payload,
                fds,
            } => {
                let _ = drain(&mut dec);
                let mut read = Header {
                    len: u32::from(*len),
                    nfds: *nfds,
                    kind: kind % 3,
                    reserved: 0,
                }
                .to_bytes()
                .to_vec();
                read.resize(8 + usize::from(*payload), 0x5A);
                biggest_read = biggest_read.max(read.len());
                dec.receive(&read, ledger.fds(usize::from(*fds)), ReadFlags::default())
            }
            Call::Eof => dec.receive_eof(),
            Call::Drain => drain(&mut dec).map(|_| ()),
        };
        match (r, failed) {
            (Err(e), None) => failed = Some(e),
            (Err(e), Some(first)) => assert_eq!(e, first, "errors are sticky"),
            (Ok(()), Some(first)) => panic!("success after {first:?}"),
            (Ok(()), None) => {}
        }
        assert!(dec.buffered_bytes() <= 8 + usize::from(input.max_payload) + biggest_read);
        assert!(dec.held_fds() <= 2 * usize::from(limits.max_fds()));
    }
    drop(dec);
    ledger.assert_accounted();
}
