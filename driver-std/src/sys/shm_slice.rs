//! `SharedMemory::as_bytes` and `as_slice` make a `&[u8]` of a mapping
//! ([`Mapping::slice`]), which takes `unsafe`; this is the one file of `sys`
//! that knows the type, which `shm` builds on `memfd`'s functions.
//!
//! [`Mapping::slice`]: super::memfd::Mapping::slice

use crate::shm::SharedMemory;

/// The slice views of [`SharedMemory`], here because they need `unsafe`.
impl SharedMemory {
    /// The region as a slice, if it is sealed with `F_SEAL_WRITE`: then no
    /// one can change it, and a plain slice is sound. `None` otherwise.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        if !self.is_immutable() {
            return None;
        }
        // SAFETY: F_SEAL_WRITE is on the fd (checked when it was sealed or
        // received; seals are never removed): no write(2), no writable
        // mapping, no hole punching can change the bytes while `self` lives.
        Some(self.mapping().map_or(&[], |m| unsafe { m.slice() }))
    }

    /// The region as a slice, whatever its seals.
    ///
    /// # Safety
    ///
    /// While the slice lives, no one may write the region: not another
    /// process, not another mapping of the same file in this process, not
    /// `write(2)` on any fd of it. Shared memory that changes under a
    /// `&[u8]` is undefined behaviour (the compiler may, for example, read
    /// a byte twice and see two values). Establish it by protocol (the peer
    /// has finished writing and promised to stop) or use
    /// [`read_at`](SharedMemory::read_at) instead.
    pub unsafe fn as_slice(&self) -> &[u8] {
        match self.mapping() {
            // SAFETY: the caller promises that nothing writes while the slice lives.
            Some(m) => unsafe { m.slice() },
            None => &[],
        }
    }
}
