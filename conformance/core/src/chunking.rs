//! How a replay re-chunks a case's inputs (docs/VECTORS.md, "Replay rules").
//!
//! An `in` event may be split into several reads, down to one byte each;
//! its fds, pidfd and `ctrunc` stay on the first piece, its credentials on
//! every piece (with `SO_PASSCRED` on, the kernel labels every read). Events
//! are never merged, seqpacket records never split, and cases flagged
//! `ReadBoundaries` or `ApiMisuse` are replayed only as written. The same
//! plans double as write budgets for the encoder (short writes).

use std::fmt;

/// A deterministic 64-bit generator (splitmix64): the plans must be the
/// same on every machine so that a failure report names a reproducible plan.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `1..=max` (`max` at least 1).
    pub fn between_1_and(&mut self, max: usize) -> usize {
        1 + (self.next_u64() % max.max(1) as u64) as usize
    }
}

/// One way of cutting the inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Each event is one read.
    Whole,
    /// Every read is one byte.
    Bytes,
    /// Reads of 1 to 9 bytes, drawn from this seed.
    Random(u64),
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Plan::Whole => f.write_str("whole"),
            Plan::Bytes => f.write_str("bytes"),
            Plan::Random(s) => write!(f, "random:{s}"),
        }
    }
}

impl std::str::FromStr for Plan {
    type Err = String;

    /// The names [`Plan`]'s `Display` writes: `whole`, `bytes`, `random:SEED`.
    fn from_str(s: &str) -> Result<Plan, String> {
        match s {
            "whole" => Ok(Plan::Whole),
            "bytes" => Ok(Plan::Bytes),
            _ => s
                .strip_prefix("random:")
                .and_then(|seed| seed.parse().ok())
                .map(Plan::Random)
                .ok_or_else(|| format!("{s:?} is not a plan (whole, bytes, random:SEED)")),
        }
    }
}

impl Plan {
    /// The plans for a case: `Whole` only if it may not be re-chunked,
    /// else whole, single bytes and three seeded random cuts.
    pub fn for_case(tc_id: u32, rechunk: bool) -> Vec<Plan> {
        if !rechunk {
            return vec![Plan::Whole];
        }
        let seed = u64::from(tc_id) * 1000;
        vec![
            Plan::Whole,
            Plan::Bytes,
            Plan::Random(seed + 1),
            Plan::Random(seed + 2),
            Plan::Random(seed + 3),
        ]
    }

    /// A generator for this plan's random choices.
    pub fn rng(&self) -> SplitMix {
        SplitMix::new(match self {
            Plan::Random(s) => *s,
            _ => 0,
        })
    }

    /// The most the next piece may hold, whatever is left: unbounded
    /// (`usize::MAX`) for `Whole`. As the encoder's write budget, the
    /// most the next `sendmsg` may send.
    pub fn budget(&self, rng: &mut SplitMix) -> usize {
        match self {
            Plan::Whole => usize::MAX,
            Plan::Bytes => 1,
            Plan::Random(_) => rng.between_1_and(9),
        }
    }

    /// The next piece length for `left` remaining bytes (`left` at least 1).
    pub fn piece(&self, left: usize, rng: &mut SplitMix) -> usize {
        self.budget(rng).min(left)
    }

    /// Cuts `bytes` into pieces; an empty input stays one empty piece.
    pub fn split<'a>(&self, bytes: &'a [u8], rng: &mut SplitMix) -> Vec<&'a [u8]> {
        if bytes.is_empty() {
            return vec![bytes];
        }
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (a, b) = rest.split_at(self.piece(rest.len(), rng));
            out.push(a);
            rest = b;
        }
        out
    }
}
