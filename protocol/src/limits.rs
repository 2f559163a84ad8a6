//! The two limits each side announces in the handshake.

use crate::error::UsageError;

/// `SCM_MAX_FD`: the most fds Linux accepts in one `sendmsg`, and so the most
/// one frame may carry.
pub const MAX_FDS_PER_FRAME: u8 = 253;

/// Default fds per frame a side accepts.
pub const DEFAULT_MAX_FDS: u8 = 32;

/// Default largest frame payload a side accepts: 16 MiB.
pub const DEFAULT_MAX_PAYLOAD: u32 = 16 << 20;

/// What a side accepts per frame: at most `max_fds` fds and `max_payload`
/// payload bytes (the header's `len`, not counting the 8-byte header).
///
/// After the handshake both directions use [`Limits::min`] of the two sides'
/// limits. Both fields may be 0.
///
/// ```
/// use mon_ipc::Limits;
/// let ours = Limits::new(32, 1 << 20).unwrap();
/// let theirs = Limits::new(4, 16 << 20).unwrap();
/// assert_eq!(ours.min(theirs), Limits::new(4, 1 << 20).unwrap());
/// assert!(Limits::new(254, 0).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    max_fds: u8,
    max_payload: u32,
}

impl Limits {
    /// Checks `max_fds <= 253`.
    pub const fn new(max_fds: u8, max_payload: u32) -> Result<Self, UsageError> {
        if max_fds > MAX_FDS_PER_FRAME {
            return Err(UsageError::LimitOutOfRange);
        }
        Ok(Limits {
            max_fds,
            max_payload,
        })
    }

    /// Most fds per frame (0 to 253).
    pub const fn max_fds(&self) -> u8 {
        self.max_fds
    }

    /// Largest payload per frame, in bytes.
    pub const fn max_payload(&self) -> u32 {
        self.max_payload
    }

    /// The field-wise minimum: what both sides accept.
    pub fn min(self, other: Limits) -> Limits {
        Limits {
            max_fds: self.max_fds.min(other.max_fds),
            max_payload: self.max_payload.min(other.max_payload),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_fds: DEFAULT_MAX_FDS,
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }
}
