//! What a chaos run varies, drawn from arbitrary bytes.

use arbitrary::{Result as AResult, Unstructured};
use mon_ipc::Limits;

/// A fault applied to the `msg`-th sendmsg of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// XOR one byte with a nonzero mask.
    Flip {
        /// Which sendmsg.
        msg: usize,
        /// Which byte (modulo the length).
        at: usize,
        /// The XOR mask.
        mask: u8,
    },
    /// The kernel drops the last fd.
    DropFd {
        /// Which sendmsg.
        msg: usize,
    },
    /// An extra fd arrives.
    ExtraFd {
        /// Which sendmsg.
        msg: usize,
    },
    /// Only a prefix is sent, then the sender hangs up.
    HangUp {
        /// Which sendmsg.
        msg: usize,
        /// How many bytes still go out.
        keep: usize,
    },
}

impl Fault {
    pub(super) fn msg(&self) -> usize {
        match *self {
            Fault::Flip { msg, .. }
            | Fault::DropFd { msg }
            | Fault::ExtraFd { msg }
            | Fault::HangUp { msg, .. } => msg,
        }
    }
}

/// One frame to send after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSpec {
    /// Sent by the client (else by the server).
    pub from_client: bool,
    /// The payload.
    pub payload: Vec<u8>,
    /// How many fds.
    pub nfds: usize,
}

/// Everything a run varies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Seqpacket instead of stream.
    pub seqpacket: bool,
    /// Mutual authentication.
    pub mutual: bool,
    /// The server's caller denies.
    pub deny: bool,
    /// The client's limits.
    pub client_limits: Limits,
    /// The server's limits.
    pub server_limits: Limits,
    /// Read sizes, used in turn.
    pub reads: Vec<usize>,
    /// The frames.
    pub frames: Vec<FrameSpec>,
    /// The faults.
    pub faults: Vec<Fault>,
}

impl Scenario {
    /// Draws a bounded scenario.
    pub fn arbitrary(u: &mut Unstructured<'_>) -> AResult<Self> {
        let limits = |u: &mut Unstructured<'_>| -> AResult<Limits> {
            let fds = u.int_in_range(0..=8u8)?;
            let payload = u.int_in_range(0..=300u32)?;
            Ok(Limits::new(fds, payload).unwrap_or_default())
        };
        let seqpacket = u.ratio(1, 4)?;
        let mutual = u.arbitrary()?;
        let deny = u.ratio(1, 8)?;
        let client_limits = limits(u)?;
        let server_limits = limits(u)?;
        let mut reads = Vec::new();
        for _ in 0..u.int_in_range(1..=6)? {
            reads.push(if seqpacket {
                1 << 16
            } else {
                u.int_in_range(1..=40)?
            });
        }
        let mut frames = Vec::new();
        for _ in 0..u.int_in_range(0..=8)? {
            let len = u.int_in_range(0..=80usize)?;
            frames.push(FrameSpec {
                from_client: u.arbitrary()?,
                payload: (0..len).map(|i| i as u8).collect(),
                nfds: u.int_in_range(0..=3)?,
            });
        }
        let mut faults = Vec::new();
        for _ in 0..u.int_in_range(0..=2)? {
            let msg = u.int_in_range(0..=12usize)?;
            faults.push(match u.int_in_range(0..=3u8)? {
                0 => Fault::Flip {
                    msg,
                    at: u.int_in_range(0..=100)?,
                    mask: u.int_in_range(1..=255)?,
                },
                1 => Fault::DropFd { msg },
                2 => Fault::ExtraFd { msg },
                _ => Fault::HangUp {
                    msg,
                    keep: u.int_in_range(0..=30)?,
                },
            });
        }
        Ok(Scenario {
            seqpacket,
            mutual,
            deny,
            client_limits,
            server_limits,
            reads,
            frames,
            faults,
        })
    }
}
