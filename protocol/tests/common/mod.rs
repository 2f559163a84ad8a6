//! Helpers shared by the handshake test suites.
//!
//! `TestFd` is a counting fd handle: each one has an id and logs that id
//! into a shared drop log when it is dropped, so a test can assert that every
//! fd it gave to the core was closed exactly once or handed back.

#![allow(dead_code, unreachable_pub)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use mon_ipc::hello::HELLO_LEN;
use mon_ipc::{Ancillary, Limits, Ucred};

/// A fake file descriptor that records its own drop.
#[derive(Debug)]
pub struct TestFd {
    pub id: u32,
    log: Rc<RefCell<Vec<u32>>>,
}

impl PartialEq for TestFd {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for TestFd {}

impl Drop for TestFd {
    fn drop(&mut self) {
        self.log.borrow_mut().push(self.id);
    }
}

/// Hands out `TestFd`s with fresh ids and keeps their drop log.
#[derive(Debug, Default)]
pub struct FdLog {
    log: Rc<RefCell<Vec<u32>>>,
    next: Cell<u32>,
    issued: RefCell<Vec<u32>>,
}

impl FdLog {
    pub fn new() -> Self {
        FdLog {
            log: Rc::default(),
            next: Cell::new(100),
            issued: RefCell::default(),
        }
    }

    /// A new fd with a fresh id.
    pub fn fd(&self) -> TestFd {
        let id = self.next.get();
        self.next.set(id + 1);
        self.issued.borrow_mut().push(id);
        TestFd {
            id,
            log: Rc::clone(&self.log),
        }
    }

    /// `n` new fds.
    pub fn fds(&self, n: usize) -> Vec<TestFd> {
        (0..n).map(|_| self.fd()).collect()
    }

    /// Every id dropped so far, sorted.
    pub fn dropped(&self) -> Vec<u32> {
        let mut v = self.log.borrow().clone();
        v.sort_unstable();
        v
    }

    /// Every id issued so far, sorted.
    pub fn issued(&self) -> Vec<u32> {
        let mut v = self.issued.borrow().clone();
        v.sort_unstable();
        v
    }

    /// Asserts that exactly `ids` (each once, nothing else) have been dropped.
    #[track_caller]
    pub fn assert_dropped(&self, ids: &[u32]) {
        let mut want = ids.to_vec();
        want.sort_unstable();
        assert_eq!(self.dropped(), want, "fds dropped (each exactly once)");
    }

    /// Asserts that every issued fd except `kept` has been dropped exactly
    /// once, and none of `kept` has been dropped.
    #[track_caller]
    pub fn assert_all_dropped_except(&self, kept: &[u32]) {
        let want: Vec<u32> = self
            .issued()
            .into_iter()
            .filter(|id| !kept.contains(id))
            .collect();
        assert_eq!(self.dropped(), want, "fds dropped (each exactly once)");
    }

    /// Asserts that every issued fd has been dropped exactly once.
    #[track_caller]
    pub fn assert_all_dropped(&self) {
        self.assert_all_dropped_except(&[]);
    }
}

/// The client's credentials as the kernel would report them.
pub const CLIENT: Ucred = Ucred::known(4242, 1000, 100);
/// The server's credentials as the kernel would report them.
pub const SERVER: Ucred = Ucred::known(77, 0, 0);
/// What Linux reports for a process it cannot map: pid 0, overflow ids.
pub const INVISIBLE: Ucred = Ucred::from_raw(0, 65534, 65534);

pub const MIB16: u32 = 16 << 20;

/// 16 handshake bytes: magic, byte 4, byte 5, max fds (LE u16), max
/// payload (LE u32), reserved (LE u32).
pub fn msg(b4: u8, b5: u8, max_fds: u16, max_payload: u32, reserved: u32) -> [u8; HELLO_LEN] {
    msg_magic(*b"MON\0", b4, b5, max_fds, max_payload, reserved)
}

/// Same as [`msg`] with an explicit magic.
pub fn msg_magic(
    magic: [u8; 4],
    b4: u8,
    b5: u8,
    max_fds: u16,
    max_payload: u32,
    reserved: u32,
) -> [u8; HELLO_LEN] {
    let mut m = [0u8; HELLO_LEN];
    m[0..4].copy_from_slice(&magic);
    m[4] = b4;
    m[5] = b5;
    m[6..8].copy_from_slice(&max_fds.to_le_bytes());
    m[8..12].copy_from_slice(&max_payload.to_le_bytes());
    m[12..16].copy_from_slice(&reserved.to_le_bytes());
    m
}

/// A v1 hello with default limits (32 fds, 16 MiB).
pub fn hello_v1(mutual: bool) -> [u8; HELLO_LEN] {
    msg(1, u8::from(mutual), 32, MIB16, 0)
}

/// A reply as a server with `limits` sends it.
pub fn reply(version: u8, status: u8, limits: Limits) -> [u8; HELLO_LEN] {
    msg(
        version,
        status,
        limits.max_fds().into(),
        limits.max_payload(),
        0,
    )
}

pub fn limits(max_fds: u8, max_payload: u32) -> Limits {
    Limits::new(max_fds, max_payload).expect("valid limits")
}

/// Ancillary data with credentials only.
pub fn creds(c: Ucred) -> Ancillary<TestFd> {
    Ancillary::with_creds(c)
}

/// Ancillary data with nothing.
pub fn none() -> Ancillary<TestFd> {
    Ancillary::default()
}
