//! Process credentials as the kernel reports them: [`Ucred`], the bare
//! triple, and [`Credentials`], what a handshake concludes about a peer.

use alloc::vec::Vec;
use core::num::NonZeroU32;

/// The manual's `MON_IPC_PID_UNKNOWN`: the pid could not be determined.
pub const PID_UNKNOWN: u32 = 0;
/// The manual's `MON_IPC_GID_UNKNOWN` (`(gid_t)-1`): the gid could not be
/// determined. The manual names no sentinel for the uid; `(uid_t)-1` serves,
/// since no process can run as it (`setuid(-1)` means "leave unchanged").
pub const GID_UNKNOWN: u32 = u32::MAX;
/// The unknown uid, `(uid_t)-1`. See [`GID_UNKNOWN`].
pub const UID_UNKNOWN: u32 = u32::MAX;

/// The `{pid, uid, gid}` of a process, each possibly unknown: the bare
/// triple that both `SO_PEERCRED` and `SCM_CREDENTIALS` carry (and the
/// manual's `mon_ipc_creds`).
///
/// The C API's sentinels (pid 0, uid and gid `-1`) are not values here: a
/// `Ucred` holds `None` instead, and [`Ucred::from_raw`] / [`Ucred::to_raw`]
/// convert losslessly in both directions.
///
/// ```
/// use mon_ipc::Ucred;
/// let c = Ucred::from_raw(0, 1000, u32::MAX);
/// assert_eq!((c.pid(), c.uid(), c.gid()), (None, Some(1000), None));
/// assert_eq!(c.to_raw(), (0, 1000, u32::MAX));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ucred {
    pid: Option<NonZeroU32>,
    uid: u32,
    gid: u32,
}

impl Ucred {
    /// Builds a triple. `Some(u32::MAX)` as uid or gid is the C API's
    /// "unknown" and becomes `None`, so that the conversion to the C
    /// sentinels stays lossless.
    pub const fn new(pid: Option<NonZeroU32>, uid: Option<u32>, gid: Option<u32>) -> Self {
        let uid = match uid {
            Some(u) => u,
            None => UID_UNKNOWN,
        };
        let gid = match gid {
            Some(g) => g,
            None => GID_UNKNOWN,
        };
        Ucred { pid, uid, gid }
    }

    /// A triple with every field known.
    ///
    /// A pid of 0 or a uid or gid of `u32::MAX` still reads back as unknown.
    pub const fn known(pid: u32, uid: u32, gid: u32) -> Self {
        Self::from_raw(pid, uid, gid)
    }

    /// From the C representation: pid 0 and uid/gid `u32::MAX` are unknown.
    pub const fn from_raw(pid: u32, uid: u32, gid: u32) -> Self {
        Ucred {
            pid: NonZeroU32::new(pid),
            uid,
            gid,
        }
    }

    /// To the C representation, with the sentinels for unknown fields.
    pub const fn to_raw(self) -> (u32, u32, u32) {
        let pid = match self.pid {
            Some(p) => p.get(),
            None => PID_UNKNOWN,
        };
        (pid, self.uid, self.gid)
    }

    /// The process id, if known.
    pub const fn pid(&self) -> Option<NonZeroU32> {
        self.pid
    }

    /// The effective user id, if known.
    pub const fn uid(&self) -> Option<u32> {
        if self.uid == UID_UNKNOWN {
            None
        } else {
            Some(self.uid)
        }
    }

    /// The effective group id, if known.
    pub const fn gid(&self) -> Option<u32> {
        if self.gid == GID_UNKNOWN {
            None
        } else {
            Some(self.gid)
        }
    }

    /// Whether the kernel could not map this process into the receiver's
    /// namespaces: Linux then reports pid 0 and the overflow uid and gid.
    ///
    /// Such credentials count as absent
    /// ([PROTOCOL.md §2](crate::spec#2-credentials)): we do not vouch for
    /// who we cannot see.
    pub fn is_invisible(&self, overflow: Overflow) -> bool {
        self.pid.is_none() && self.uid == overflow.uid && self.gid == overflow.gid
    }
}

/// The ids Linux reports for a process it cannot map into the receiver's
/// user namespace (`/proc/sys/kernel/overflowuid` and `overflowgid`, 65534
/// unless changed). The core has no file system; the driver reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Overflow {
    /// `/proc/sys/kernel/overflowuid`.
    pub uid: u32,
    /// `/proc/sys/kernel/overflowgid`.
    pub gid: u32,
}

impl Default for Overflow {
    fn default() -> Self {
        Overflow {
            uid: 65534,
            gid: 65534,
        }
    }
}

/// Which kernel mechanisms vouched for a peer's credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialSource {
    /// Only the socket credentials (`SO_PEERCRED`, `getpeereid`), recorded
    /// when the connection was made. Used where the system has no
    /// per-message credentials.
    Socket,
    /// Only message credentials (`SCM_CREDENTIALS`), recorded when the
    /// handshake message was sent.
    Message,
    /// Both, agreeing on uid and gid. The pid reported is the message's.
    Both,
}

impl CredentialSource {
    /// A stable lower-case name: `socket`, `message` or `both`.
    pub const fn name(self) -> &'static str {
        match self {
            CredentialSource::Socket => "socket",
            CredentialSource::Message => "message",
            CredentialSource::Both => "both",
        }
    }
}

/// What a handshake established about the peer: the [`Ucred`] triple,
/// where it came from ([`CredentialSource`]), and what else the kernel
/// offered (supplementary groups, a pidfd).
///
/// `F` is the driver's fd handle type (`OwnedFd` in `mon-ipc-std`); it
/// carries the pidfd, which lets a server signal or wait for the peer
/// without the pid-reuse race.
#[derive(Debug, PartialEq, Eq)]
pub struct Credentials<F> {
    /// pid, uid and gid.
    pub ucred: Ucred,
    /// Where they came from.
    pub source: CredentialSource,
    /// Supplementary groups (`SO_PEERGROUPS`), where the driver could read them.
    pub groups: Option<Vec<u32>>,
    /// A pidfd of exactly the process whose pid is reported, or `None`.
    pub pidfd: Option<F>,
}

impl<F> Credentials<F> {
    /// The process id, if known.
    pub fn pid(&self) -> Option<NonZeroU32> {
        self.ucred.pid()
    }

    /// The effective user id, if known.
    pub fn uid(&self) -> Option<u32> {
        self.ucred.uid()
    }

    /// The effective group id, if known.
    pub fn gid(&self) -> Option<u32> {
        self.ucred.gid()
    }
}
