//! The core's frame decoder and encoder as a [`FrameDecoder`] and a
//! [`FrameEncoder`].

use mon_ipc::{DEFAULT_MAX_SHM_SIZE, Decoder, Encoder, Error, Kind, ReadFlags, ShmHeader};

use super::config::{limits, socket};
use crate::Fd;
use crate::chunking::Plan;
use crate::model::{Config, FrameKind, MisuseCall, Push, Shm};
use crate::replay::subject::{
    Answer, Code, Frame, FrameDecoder, FrameEncoder, Read, Sent, Setup, Stop,
};

fn code<E: Into<Error>>(e: E) -> Code {
    e.into().code().to_owned()
}

fn configured(c: &Config) -> Answer<Result<mon_ipc::Limits, Code>> {
    Ok(limits(c.limits.ok_or("config.limits missing")?).map_err(code))
}

/// The decoder `setup` configures, or the code of a refused configuration.
pub(super) fn decoder(setup: &Setup<'_>) -> Answer<Result<Box<dyn FrameDecoder>, Code>> {
    let c = setup.config;
    Ok(configured(c)?.map(|lim| {
        let dec = Decoder::new(lim, socket(c.socket))
            .with_max_shm_size(c.max_shm_size.unwrap_or(DEFAULT_MAX_SHM_SIZE));
        Box::new(dec) as Box<dyn FrameDecoder>
    }))
}

/// The encoder `setup` configures, or the code of a refused configuration.
pub(super) fn encoder(setup: &Setup<'_>) -> Answer<Result<Box<dyn FrameEncoder>, Code>> {
    let c = setup.config;
    // Whole-read runs use the copying entry point, the others the
    // zero-copy one, so that both are replayed.
    let copy = setup.plan == Plan::Whole;
    Ok(configured(c)?.map(|lim| {
        let enc = Encoder::new(lim, socket(c.socket));
        Box::new(CoreEncoder { enc, copy }) as Box<dyn FrameEncoder>
    }))
}

impl FrameDecoder for Decoder<Fd> {
    fn receive(&mut self, read: Read<'_>) -> Answer<Option<Code>> {
        let flags = ReadFlags {
            ctrunc: read.ctrunc,
            trunc: read.trunc,
        };
        Ok(Decoder::receive(self, read.bytes, read.fds, flags)
            .err()
            .map(code))
    }

    fn receive_eof(&mut self) -> Answer<Option<Code>> {
        Ok(Decoder::receive_eof(self).err().map(code))
    }

    fn next_frame(&mut self) -> Answer<Result<Option<Frame>, Code>> {
        Ok(match Decoder::next_frame(self) {
            Ok(Some(f)) => {
                let (kind, shm) = match f.kind {
                    Kind::Data => (FrameKind::Data, None),
                    Kind::SharedMemory(s) => (
                        FrameKind::Shm,
                        Some(Shm {
                            size: s.size,
                            seals: s.seals,
                        }),
                    ),
                };
                Ok(Some(Frame {
                    kind,
                    payload: f.payload.to_vec(),
                    shm,
                    fds: f.fds.collect(),
                }))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(code(e)),
        })
    }

    fn misuse(&mut self, call: MisuseCall) -> Answer<Option<Code>> {
        let r = match call {
            MisuseCall::ReadBeforeDrain => self.read_buffer().map(|_| ()),
            MisuseCall::ShrinkBuffer => match self.read_buffer() {
                Ok(buf) => {
                    let n = buf.len().saturating_sub(1);
                    buf.truncate(n);
                    self.commit_read([], ReadFlags::default())
                }
                Err(e) => Err(e),
            },
            MisuseCall::ReceiveEof => Decoder::receive_eof(self),
            MisuseCall::AdvancePastEnd => Ok(()),
        };
        Ok(r.err().map(code))
    }

    fn held_fds(&self) -> usize {
        Decoder::held_fds(self)
    }

    fn is_closed(&mut self) -> Answer<bool> {
        Ok(Decoder::is_closed(self))
    }
}

/// The core's encoder, and which of its entry points `push` uses.
struct CoreEncoder {
    enc: Encoder<Fd>,
    copy: bool,
}

impl FrameEncoder for CoreEncoder {
    fn push(&mut self, p: &Push, fds: Vec<Fd>) -> Answer<Option<Code>> {
        let kind = match (p.kind, p.shm) {
            (FrameKind::Shm, Some(s)) => Kind::SharedMemory(ShmHeader {
                size: s.size,
                seals: s.seals,
            }),
            _ => Kind::Data,
        };
        let r = if self.copy {
            self.enc.push_copy(kind, &p.payload.0, fds)
        } else {
            self.enc.push(kind, p.payload.0.clone().into(), fds)
        };
        Ok(r.err().map(code))
    }

    fn transmit(&mut self, max: usize) -> Answer<Option<Sent>> {
        let mut slices = [&[][..]; 8];
        let Some(t) = self.enc.transmit(&mut slices) else {
            return Ok(None);
        };
        let bytes: Vec<u8> = slices[..t.slices].concat();
        if bytes.is_empty() {
            return Err("transmit offered an empty sendmsg".into());
        }
        let n = max.min(bytes.len());
        let mut fds = Vec::new();
        self.enc
            .advance_with(n, |fd: Fd| fds.push(fd))
            .map_err(|e| Stop::Failed(format!("advance({n}) refused: {}", e.code())))?;
        Ok(Some(Sent {
            bytes: bytes[..n].to_vec(),
            fds,
        }))
    }

    fn misuse(&mut self, call: MisuseCall) -> Answer<Option<Code>> {
        match call {
            MisuseCall::AdvancePastEnd => Ok(self
                .enc
                .advance(self.enc.queued_bytes() + 1)
                .err()
                .map(code)),
            other => Err(format!("{other:?} is not an encoder call").into()),
        }
    }
}
