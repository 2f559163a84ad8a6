//! A counting fd token and its ledger.
//!
//! The cores are generic over the fd handle type, so a test hands them
//! tokens instead of real fds. Every token minted is written in the
//! ledger, and it writes its own end there: dropped (the core or the test
//! closed it) or delivered (the application got it, [`Fd::deliver`]). A
//! leak (no end) or a double close (two ends) shows as a mismatch between
//! what was minted and what ended, whatever state the core was left in.
//!
//! Ids are `u32` unless a test names its fds otherwise: the conformance
//! replay uses the vectors' names (`Ledger<String>`).

use std::cell::RefCell;
use std::fmt::Debug;
use std::rc::Rc;

/// What happened to the tokens of one ledger, in order.
#[derive(Debug)]
struct Book<I> {
    minted: Vec<I>,
    dropped: Vec<I>,
    delivered: Vec<I>,
}

/// Mints tokens and records their ends. Clones share one record.
#[derive(Debug)]
pub struct Ledger<I = u32>(Rc<RefCell<Book<I>>>);

/// A fake fd: dropping it is closing it. Two tokens are equal when their
/// ids are.
pub struct Fd<I: Clone = u32> {
    id: I,
    /// `None` once delivered.
    book: Option<Rc<RefCell<Book<I>>>>,
}

impl<I> Default for Ledger<I> {
    fn default() -> Self {
        Ledger(Rc::new(RefCell::new(Book {
            minted: Vec::new(),
            dropped: Vec::new(),
            delivered: Vec::new(),
        })))
    }
}

impl<I> Clone for Ledger<I> {
    fn clone(&self) -> Self {
        Ledger(Rc::clone(&self.0))
    }
}

impl<I: Clone + Ord + Debug> Ledger<I> {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// A token with this id. Ids need not be unique: each token minted
    /// must end once all the same.
    pub fn issue(&self, id: I) -> Fd<I> {
        self.0.borrow_mut().minted.push(id.clone());
        Fd {
            id,
            book: Some(Rc::clone(&self.0)),
        }
    }

    /// A token for each of `ids`, in order.
    pub fn issue_all(&self, ids: &[I]) -> Vec<Fd<I>> {
        ids.iter().map(|id| self.issue(id.clone())).collect()
    }

    /// The ids minted so far, sorted.
    pub fn issued(&self) -> Vec<I> {
        sorted(&self.0.borrow().minted)
    }

    /// The ids dropped so far, sorted (twice if dropped twice).
    pub fn dropped(&self) -> Vec<I> {
        sorted(&self.0.borrow().dropped)
    }

    /// The ids delivered so far, sorted.
    pub fn delivered(&self) -> Vec<I> {
        sorted(&self.0.borrow().delivered)
    }

    /// Once no token should be alive: every token minted ended exactly
    /// once, dropped or delivered. `Err` names the ids that never ended
    /// and those that ended once too often.
    pub fn check(&self) -> Result<(), String> {
        let book = self.0.borrow();
        let minted = sorted(&book.minted);
        let mut ended = book.dropped.clone();
        ended.extend(book.delivered.iter().cloned());
        ended.sort();
        if minted == ended {
            return Ok(());
        }
        Err(format!(
            "fd accounting: never closed or delivered {:?}, closed or delivered twice {:?}",
            minus(&minted, &ended),
            minus(&ended, &minted)
        ))
    }

    /// Panics unless [`check`](Self::check) passes.
    #[track_caller]
    pub fn assert_accounted(&self) {
        if let Err(e) = self.check() {
            panic!("{e}");
        }
    }

    /// Asserts that exactly `ids` (each once, nothing else) have been
    /// dropped.
    #[track_caller]
    pub fn assert_dropped(&self, ids: &[I]) {
        assert_eq!(
            self.dropped(),
            sorted(ids),
            "fds dropped (each exactly once)"
        );
    }

    /// Asserts that every token minted but those of `kept` (still held)
    /// has been dropped exactly once, and none of `kept` has.
    #[track_caller]
    pub fn assert_all_dropped_except(&self, kept: &[I]) {
        let want: Vec<I> = self
            .issued()
            .into_iter()
            .filter(|id| !kept.contains(id))
            .collect();
        assert_eq!(self.dropped(), want, "fds dropped (each exactly once)");
    }

    /// Asserts that every token minted has been dropped exactly once.
    #[track_caller]
    pub fn assert_all_dropped(&self) {
        self.assert_all_dropped_except(&[]);
    }
}

impl Ledger<u32> {
    /// A token with a fresh id: one more than the largest minted so far,
    /// so the first is 1.
    pub fn fd(&self) -> Fd {
        let next = self.0.borrow().minted.iter().max().map_or(1, |id| id + 1);
        self.issue(next)
    }

    /// `n` tokens with fresh ids.
    pub fn fds(&self, n: usize) -> Vec<Fd> {
        (0..n).map(|_| self.fd()).collect()
    }
}

impl<I: Clone> Fd<I> {
    /// Its id.
    pub fn id(&self) -> I {
        self.id.clone()
    }

    /// Hands the fd to the application: it ends delivered, not dropped.
    /// Returns its id.
    pub fn deliver(mut self) -> I {
        if let Some(book) = self.book.take() {
            book.borrow_mut().delivered.push(self.id.clone());
        }
        self.id.clone()
    }
}

impl<I: Clone> Drop for Fd<I> {
    fn drop(&mut self) {
        if let Some(book) = self.book.take() {
            book.borrow_mut().dropped.push(self.id.clone());
        }
    }
}

impl<I: Clone + Debug> Debug for Fd<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fd({:?})", self.id)
    }
}

impl<I: Clone + PartialEq> PartialEq for Fd<I> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl<I: Clone + Eq> Eq for Fd<I> {}

fn sorted<I: Clone + Ord>(ids: &[I]) -> Vec<I> {
    let mut v = ids.to_vec();
    v.sort();
    v
}

/// The multiset difference `a - b` of two sorted lists.
fn minus<I: Clone + Ord>(a: &[I], b: &[I]) -> Vec<I> {
    let mut rest = b.iter().peekable();
    let mut out = Vec::new();
    for x in a {
        while rest.next_if(|y| *y < x).is_some() {}
        if rest.next_if(|y| *y == x).is_none() {
            out.push(x.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_count_from_one_and_past_chosen_ones() {
        let l = Ledger::new();
        assert_eq!(l.fd().deliver(), 1);
        let chosen = l.issue(10);
        assert_eq!(l.fds(2).iter().map(Fd::id).collect::<Vec<_>>(), [11, 12]);
        drop(chosen);
        assert_eq!(l.issued(), [1, 10, 11, 12]);
        assert_eq!(l.dropped(), [10, 11, 12]);
        assert_eq!(l.delivered(), [1]);
        l.assert_accounted();
    }

    #[test]
    fn a_leak_and_a_double_end_are_named() {
        let l = Ledger::<String>::new();
        let kept = l.issue("a".into());
        drop(l.issue_all(&["b".into(), "c".into()]));
        assert_eq!(
            l.check(),
            Err(
                "fd accounting: never closed or delivered [\"a\"], closed or delivered twice []"
                    .into()
            )
        );
        // Two ends of one token, written by hand: a token cannot end twice
        // on its own, a buggy core holding a copy of its fd could.
        drop(l.issue("b".into()).deliver());
        l.0.borrow_mut().dropped.push("b".into());
        let e = l.check().unwrap_err();
        assert!(e.ends_with("closed or delivered twice [\"b\"]"), "{e}");
        drop(kept);
    }

    #[test]
    fn equal_ids_are_equal_tokens() {
        let l = Ledger::new();
        assert_eq!(l.issue(3), l.issue(3));
        assert_ne!(l.issue(3), l.issue(4));
        assert_eq!(format!("{:?}", l.issue(5)), "Fd(5)");
        l.assert_all_dropped();
        l.assert_dropped(&[3, 3, 3, 4, 5]);
    }

    #[test]
    fn kept_tokens_are_not_dropped() {
        let l = Ledger::new();
        let kept = l.fd();
        drop(l.fds(2));
        l.assert_all_dropped_except(&[1]);
        drop(kept);
        l.assert_all_dropped();
    }
}
