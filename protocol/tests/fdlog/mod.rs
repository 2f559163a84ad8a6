//! A counting fd handle: every `Fd` is either taken (delivered to the
//! application) or dropped (closed), and the log says which, so a test can
//! show that no fd is lost or closed twice.
#![allow(dead_code)]

pub(crate) mod rng;

use std::cell::RefCell;
use std::rc::Rc;

/// Ids of the fds dropped so far.
#[derive(Clone, Default)]
pub(crate) struct FdLog(Rc<RefCell<Vec<u32>>>);

/// A fake fd that records its drop.
#[derive(Debug)]
pub(crate) struct Fd {
    id: u32,
    log: Option<Rc<RefCell<Vec<u32>>>>,
}

impl std::fmt::Debug for FdLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FdLog({:?})", self.0.borrow())
    }
}

impl FdLog {
    pub(crate) fn new() -> Self {
        FdLog::default()
    }

    pub(crate) fn fd(&self, id: u32) -> Fd {
        Fd {
            id,
            log: Some(self.0.clone()),
        }
    }

    pub(crate) fn fds(&self, ids: &[u32]) -> Vec<Fd> {
        ids.iter().map(|&id| self.fd(id)).collect()
    }

    /// The ids dropped, sorted.
    pub(crate) fn dropped(&self) -> Vec<u32> {
        let mut d = self.0.borrow().clone();
        d.sort_unstable();
        d
    }
}

impl Fd {
    /// Delivers the fd: it will not be logged as dropped.
    pub(crate) fn take(mut self) -> u32 {
        self.log = None;
        self.id
    }

    pub(crate) fn id(&self) -> u32 {
        self.id
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        if let Some(log) = &self.log {
            log.borrow_mut().push(self.id);
        }
    }
}
