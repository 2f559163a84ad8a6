//! A counting fd handle. Every `Fd` ends either delivered to the
//! application (`deliver`) or dropped (closed); the ledger proves that
//! happened exactly once for each, so a leak or a double close fails.

use std::cell::RefCell;
use std::rc::Rc;

#[derive(Default, Debug)]
struct Book {
    created: u32,
    dropped: Vec<u32>,
    delivered: Vec<u32>,
}

/// The ledger of one run.
#[derive(Clone, Default, Debug)]
pub struct Ledger(Rc<RefCell<Book>>);

/// A fake fd that records its fate.
#[derive(Debug)]
pub struct Fd {
    id: u32,
    book: Option<Rc<RefCell<Book>>>,
}

impl Ledger {
    /// A new fd.
    pub fn fd(&self) -> Fd {
        let mut b = self.0.borrow_mut();
        b.created += 1;
        Fd {
            id: b.created,
            book: Some(self.0.clone()),
        }
    }

    /// `n` new fds.
    pub fn fds(&self, n: usize) -> Vec<Fd> {
        (0..n).map(|_| self.fd()).collect()
    }

    /// Panics unless every fd created was dropped or delivered, once.
    pub fn check(&self) {
        let b = self.0.borrow();
        let mut seen: Vec<u32> = b.dropped.iter().chain(&b.delivered).copied().collect();
        seen.sort_unstable();
        let want: Vec<u32> = (1..=b.created).collect();
        assert_eq!(seen, want, "an fd leaked or was closed twice");
    }
}

impl Fd {
    /// Hands the fd to the application; returns its id.
    pub fn deliver(mut self) -> u32 {
        if let Some(book) = self.book.take() {
            book.borrow_mut().delivered.push(self.id);
        }
        self.id
    }

    /// The fd's id.
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        if let Some(book) = self.book.take() {
            book.borrow_mut().dropped.push(self.id);
        }
    }
}
