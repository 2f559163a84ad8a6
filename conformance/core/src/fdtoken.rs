//! A counting fd handle: the cores are generic over the fd type, so the
//! replay hands them tokens that log their own drop. At the end of a case
//! every token must have been dropped exactly once (delivered ones are
//! dropped by the replay after it noted them): none leaked, none closed twice.

use std::cell::RefCell;
use std::rc::Rc;

/// A symbolic fd. Dropping it is "closing" it.
#[derive(Debug)]
pub struct Fd {
    id: String,
    ledger: Rc<Ledger>,
}

impl Fd {
    /// Its symbolic id, as in the vectors.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl PartialEq for Fd {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        self.ledger.dropped.borrow_mut().push(self.id.clone());
    }
}

/// Which tokens were issued and which dropped.
#[derive(Debug, Default)]
pub struct Ledger {
    issued: RefCell<Vec<String>>,
    dropped: RefCell<Vec<String>>,
}

impl Ledger {
    /// A fresh ledger.
    pub fn new() -> Rc<Ledger> {
        Rc::new(Ledger::default())
    }

    /// A new token with this id.
    pub fn issue(self: &Rc<Self>, id: &str) -> Fd {
        self.issued.borrow_mut().push(id.to_owned());
        Fd {
            id: id.to_owned(),
            ledger: Rc::clone(self),
        }
    }

    /// Tokens for these ids.
    pub fn issue_all(self: &Rc<Self>, ids: &[String]) -> Vec<Fd> {
        ids.iter().map(|id| self.issue(id)).collect()
    }

    /// How many tokens are alive right now.
    pub fn alive(&self) -> usize {
        self.issued.borrow().len() - self.dropped.borrow().len()
    }

    /// Once every token should be gone: each issued id dropped exactly once.
    pub fn check_all_dropped(&self) -> Result<(), String> {
        let mut issued = self.issued.borrow().clone();
        let mut dropped = self.dropped.borrow().clone();
        issued.sort();
        dropped.sort();
        if issued == dropped {
            return Ok(());
        }
        let leaked: Vec<_> = issued.iter().filter(|i| !dropped.contains(i)).collect();
        let twice: Vec<_> = dropped
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| &w[0])
            .collect();
        Err(format!(
            "fd accounting: never closed {leaked:?}, closed twice {twice:?}"
        ))
    }
}
