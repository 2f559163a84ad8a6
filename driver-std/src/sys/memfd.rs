//! Sealed memfds and their mappings: `memfd_create`, `ftruncate`,
//! `F_ADD_SEALS` / `F_GET_SEALS`, `fstat`, `mmap` / `munmap`, and the
//! volatile accesses to a mapping.
//!
//! A mapping is memory that another process (or another mapping of the same
//! file) can change at any time. It is treated as memory outside the Rust
//! abstract machine, the way [`std::ptr::read_volatile`] describes it: it is
//! only ever read and written with volatile accesses, and no reference to
//! it is made except by [`Mapping::slice`], whose caller must guarantee
//! that nothing writes it while the slice lives.
//!
//! Sealed memfds exist on Linux (`memfd_create(2)`, `fcntl(2)` "File
//! Sealing") and FreeBSD 13+ (`memfd_create(3)`, `fcntl(2)` `F_ADD_SEALS`),
//! with the same seal bits (asserted below: they travel on the wire as
//! Linux's). macOS, NetBSD and OpenBSD have no sealed shared memory (POSIX
//! `shm_open` cannot be sealed, so a receiver could never trust a size):
//! there [`create`] fails with `ENOSYS` and [`seals`] answers `ENOSYS`, so a
//! shared-memory frame cannot be made and one received is refused as
//! `shm_not_memfd`.

use std::ffi::CStr;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::libc;

use super::{os, retry};
use crate::error::Result;

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
mod sealed {
    use super::*;
    use nix::fcntl::SealFlag;
    use nix::sys::memfd::{MFdFlags, memfd_create};

    // The wire carries Linux's seal bits (`mon_ipc::frame::seals`); FreeBSD's
    // `<fcntl.h>` has the same values for the four it knows.
    const _: () = assert!(
        libc::F_SEAL_SEAL == 1
            && libc::F_SEAL_SHRINK == 2
            && libc::F_SEAL_GROW == 4
            && libc::F_SEAL_WRITE == 8
    );

    /// `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL)`.
    /// `MFD_NOEXEC_SEAL` (Linux 6.3+) also seals `F_SEAL_EXEC`; an older kernel
    /// answers `EINVAL` to the unknown flag, and the call is made again without
    /// it (sealing is still allowed).
    #[cfg(target_os = "linux")]
    pub(crate) fn create(name: &CStr) -> Result<OwnedFd> {
        let base = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
        let noexec = MFdFlags::from_bits_retain(libc::MFD_NOEXEC_SEAL);
        match memfd_create(name, base | noexec) {
            Ok(fd) => Ok(fd),
            Err(Errno::EINVAL) => memfd_create(name, base).map_err(|e| os("memfd_create", e)),
            Err(e) => Err(os("memfd_create", e)),
        }
    }

    /// `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)` (FreeBSD 13+,
    /// `memfd_create(3)`; it has no `MFD_NOEXEC_SEAL`).
    #[cfg(target_os = "freebsd")]
    pub(crate) fn create(name: &CStr) -> Result<OwnedFd> {
        let flags = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
        memfd_create(name, flags).map_err(|e| os("memfd_create", e))
    }

    /// `fcntl(F_ADD_SEALS, seals)`.
    pub(crate) fn add_seals(fd: BorrowedFd<'_>, seals: u32) -> Result<()> {
        let flags = SealFlag::from_bits_retain(seals as libc::c_int);
        retry("fcntl(F_ADD_SEALS)", || {
            fcntl(fd, FcntlArg::F_ADD_SEALS(flags))
        })
        .map(drop)
    }

    /// `fcntl(F_GET_SEALS)`: the seals, or the errno (`EINVAL` for a file that
    /// is neither a memfd nor on tmpfs or hugetlbfs).
    pub(crate) fn seals(fd: BorrowedFd<'_>) -> Result<u32, Errno> {
        loop {
            match fcntl(fd, FcntlArg::F_GET_SEALS) {
                Err(Errno::EINTR) => continue,
                r => return r.map(|s| s as u32),
            }
        }
    }
}

/// No sealed memfds on this system (macOS, NetBSD, OpenBSD).
#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
mod sealed {
    use super::*;

    /// What the three calls fail with.
    const NONE: &str =
        "memfd_create: no sealed memfd on this system (shared-memory frames need one)";

    /// `ENOSYS`: shared-memory frames cannot be made here.
    pub(crate) fn create(_name: &CStr) -> Result<OwnedFd> {
        Err(os(NONE, Errno::ENOSYS))
    }

    /// `ENOSYS`: nothing here can be sealed.
    pub(crate) fn add_seals(_fd: BorrowedFd<'_>, _seals: u32) -> Result<()> {
        Err(os(NONE, Errno::ENOSYS))
    }

    /// `ENOSYS`: no fd here is sealed, so a received one is `shm_not_memfd`.
    pub(crate) fn seals(_fd: BorrowedFd<'_>) -> Result<u32, Errno> {
        Err(Errno::ENOSYS)
    }
}

pub(crate) use sealed::{add_seals, create, seals};

/// `ftruncate(fd, len)`, `EINTR` retried.
pub(crate) fn set_len(fd: BorrowedFd<'_>, len: u64) -> Result<()> {
    let len = i64::try_from(len).map_err(|_| os("ftruncate", Errno::EFBIG))?;
    retry("ftruncate", || nix::unistd::ftruncate(fd, len))
}

/// What `fstat` and `F_GETFL` say about a file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileInfo {
    /// A regular file (a memfd is one).
    pub(crate) regular: bool,
    /// `st_size`.
    pub(crate) size: u64,
    /// Open for reading.
    pub(crate) readable: bool,
    /// Open for writing.
    pub(crate) writable: bool,
}

/// `fstat` and `fcntl(F_GETFL)`.
pub(crate) fn info(fd: BorrowedFd<'_>) -> Result<FileInfo> {
    let st = retry("fstat", || nix::sys::stat::fstat(fd))?;
    let fl = retry("fcntl(F_GETFL)", || fcntl(fd, FcntlArg::F_GETFL))?;
    let mode = OFlag::from_bits_retain(fl) & OFlag::O_ACCMODE;
    Ok(FileInfo {
        regular: st.st_mode & libc::S_IFMT == libc::S_IFREG,
        size: u64::try_from(st.st_size).unwrap_or(0),
        readable: mode == OFlag::O_RDONLY || mode == OFlag::O_RDWR,
        writable: mode == OFlag::O_WRONLY || mode == OFlag::O_RDWR,
    })
}

/// A `MAP_SHARED` mapping of a whole file of nonzero size, unmapped on drop.
///
/// Only the volatile accessors below touch its memory. The file must be
/// sealed against shrinking before it is mapped ([`Mapping::new`]'s
/// contract), so that every byte of the mapping stays backed: no access
/// can fault with `SIGBUS`.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    writable: bool,
}

// SAFETY: the mapping is plain memory owned by this value: nothing about it
// is tied to the thread that made it. Writes need `&mut Mapping`, so threads
// that share a `&Mapping` only read.
unsafe impl Send for Mapping {}
// SAFETY: see `Send`; the shared methods only read (volatile).
unsafe impl Sync for Mapping {}

impl Mapping {
    /// `mmap(NULL, len, PROT_READ [| PROT_WRITE], MAP_SHARED, fd, 0)`.
    ///
    /// The caller has checked that `fd` is a file of exactly `len > 0`
    /// bytes sealed with `F_SEAL_SHRINK` (so the size can never drop below
    /// `len`): that is what keeps every access in bounds of the file.
    pub(crate) fn new(fd: BorrowedFd<'_>, len: usize, writable: bool) -> Result<Mapping> {
        use std::os::fd::AsRawFd;
        let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
        // SAFETY: a fresh mapping at an address the kernel chooses: it
        // replaces nothing, so no memory this process uses is affected.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(os("mmap", Errno::last()));
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or(os("mmap", Errno::EINVAL))?;
        Ok(Mapping { ptr, len, writable })
    }

    /// Copies `dst.len()` bytes from `offset` out of the mapping. The caller
    /// checked `offset + dst.len() <= len`.
    pub(crate) fn copy_out(&self, offset: usize, dst: &mut [u8]) {
        assert!(offset <= self.len && dst.len() <= self.len - offset);
        let mut i = 0;
        // Bytes up to an 8-byte boundary, then words, then the tail.
        while i < dst.len() && (offset + i) % 8 != 0 {
            dst[i] = self.read_byte(offset + i);
            i += 1;
        }
        while dst.len() - i >= 8 {
            // SAFETY: `offset + i` is 8-aligned (the mapping is page-aligned)
            // and `offset + i + 8 <= len` (asserted above), inside the live
            // mapping; any bit pattern is a valid u64.
            let w =
                unsafe { std::ptr::read_volatile(self.ptr.as_ptr().add(offset + i).cast::<u64>()) };
            dst[i..i + 8].copy_from_slice(&w.to_ne_bytes());
            i += 8;
        }
        while i < dst.len() {
            dst[i] = self.read_byte(offset + i);
            i += 1;
        }
    }

    /// Copies `src` into the mapping at `offset`. The caller checked
    /// `offset + src.len() <= len` and that the mapping is writable.
    pub(crate) fn copy_in(&mut self, offset: usize, src: &[u8]) {
        assert!(self.writable && offset <= self.len && src.len() <= self.len - offset);
        let mut i = 0;
        while i < src.len() && (offset + i) % 8 != 0 {
            self.write_byte(offset + i, src[i]);
            i += 1;
        }
        while src.len() - i >= 8 {
            let mut w = [0u8; 8];
            w.copy_from_slice(&src[i..i + 8]);
            // SAFETY: as in `copy_out`; the mapping is PROT_WRITE (asserted)
            // and `&mut self` excludes every other access through it.
            unsafe {
                std::ptr::write_volatile(
                    self.ptr.as_ptr().add(offset + i).cast::<u64>(),
                    u64::from_ne_bytes(w),
                )
            };
            i += 8;
        }
        while i < src.len() {
            self.write_byte(offset + i, src[i]);
            i += 1;
        }
    }

    fn read_byte(&self, at: usize) -> u8 {
        assert!(at < self.len);
        // SAFETY: `at < len`: inside the live mapping.
        unsafe { std::ptr::read_volatile(self.ptr.as_ptr().add(at)) }
    }

    fn write_byte(&mut self, at: usize, b: u8) {
        assert!(self.writable && at < self.len);
        // SAFETY: `at < len`, inside the live PROT_WRITE mapping; `&mut self`.
        unsafe { std::ptr::write_volatile(self.ptr.as_ptr().add(at), b) }
    }

    /// One volatile, naturally aligned `u64` read. The caller checked
    /// `offset % 8 == 0` and `offset + 8 <= len`.
    pub(crate) fn read_u64(&self, offset: usize) -> u64 {
        assert!(offset % 8 == 0 && offset <= self.len && self.len - offset >= 8);
        // SAFETY: aligned (page-aligned base, offset asserted) and inside
        // the live mapping; any bits are a valid u64.
        unsafe { std::ptr::read_volatile(self.ptr.as_ptr().add(offset).cast::<u64>()) }
    }

    /// One volatile, naturally aligned `u64` write. The caller checked
    /// alignment, bounds and that the mapping is writable.
    pub(crate) fn write_u64(&mut self, offset: usize, v: u64) {
        assert!(self.writable && offset % 8 == 0 && offset <= self.len && self.len - offset >= 8);
        // SAFETY: as in `read_u64`; PROT_WRITE and `&mut self` (asserted / by type).
        unsafe { std::ptr::write_volatile(self.ptr.as_ptr().add(offset).cast::<u64>(), v) }
    }

    /// The mapping as a slice.
    ///
    /// # Safety
    ///
    /// While the slice lives, nothing may write the file's bytes: no
    /// process, no other mapping, no `write(2)`. (With `F_SEAL_WRITE` on
    /// the file that holds by construction.)
    pub(crate) unsafe fn slice(&self) -> &[u8] {
        // SAFETY: `len` bytes mapped and readable at `ptr` for as long as
        // `self` lives (the slice borrows it); that they do not change is
        // the caller's promise.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: exactly the range `mmap` returned, unmapped once; no
        // reference into it outlives `self` (slices borrow it).
        let r = unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        debug_assert_eq!(r, 0, "munmap of our own mapping failed");
    }
}

/// `fcntl(F_DUPFD_CLOEXEC)`: a second fd of the same file.
pub(crate) fn dup(fd: BorrowedFd<'_>) -> Result<OwnedFd> {
    fd.try_clone_to_owned().map_err(|e| {
        os(
            "fcntl(F_DUPFD_CLOEXEC)",
            Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        )
    })
}
