//! The C caller's plain `int` descriptors, which the library borrows and
//! never closes, and the thread's last `errno` (`mon_ipc_last_errno`).

use std::cell::Cell;
use std::ffi::c_int;
use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::panic::catch_unwind;

use crate::codes::{MON_E_INVALID_ARGUMENT, MON_E_IO};

thread_local! {
    static LAST_ERRNO: Cell<c_int> = const { Cell::new(0) };
}

/// The `errno` of this thread's last failed call (0 if it had none).
pub(crate) fn last_errno() -> c_int {
    LAST_ERRNO.with(Cell::get)
}

/// Records `errno` for `mon_ipc_last_errno` and sets the C `errno` too.
pub(crate) fn set_errno(errno: c_int) {
    LAST_ERRNO.with(|e| e.set(errno));
    if errno != 0 {
        // SAFETY: the function returns this thread's `errno`, valid for
        // writes for the thread's whole life.
        unsafe { *errno_location() = errno };
    }
}

#[cfg(any(target_os = "openbsd", target_os = "netbsd"))]
use libc::__errno as errno_location;
#[cfg(any(target_os = "linux", target_os = "android"))]
use libc::__errno_location as errno_location;
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
use libc::__error as errno_location;

/// Forgets the last errno, at the start of every call.
pub(crate) fn clear_errno() {
    LAST_ERRNO.with(|e| e.set(0));
}

/// An `int` fd of the C caller, checked to be open when it was made.
///
/// The caller owns it: the library never closes it. Its contract (in the
/// header) is that the fd stays open during every call that is given it,
/// and for a handshake state, until `*_end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CFd(RawFd);

impl CFd {
    /// Checks that `fd` is an open descriptor (`fcntl(F_GETFD)`), else
    /// `MON_E_INVALID_ARGUMENT` with `errno` `EBADF`.
    pub(crate) fn check(fd: c_int) -> Result<CFd, c_int> {
        if fd < 0 {
            set_errno(libc::EBADF);
            return Err(MON_E_INVALID_ARGUMENT);
        }
        // SAFETY: `fcntl(F_GETFD)` takes any integer, reads and writes no
        // memory of ours, and fails with EBADF on a closed descriptor.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            set_errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
            return Err(MON_E_INVALID_ARGUMENT);
        }
        Ok(CFd(fd))
    }

    /// The raw number.
    pub(crate) fn raw(self) -> RawFd {
        self.0
    }

    /// The socket's identity, `(st_dev, st_ino)`: unique among open files,
    /// so a recorded state is never applied to a new socket that reuses
    /// the number of a closed one.
    pub(crate) fn identity(self) -> Result<(u64, u64), c_int> {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `st` is valid for writes of one `struct stat`; `fstat`
        // fills it completely when it returns 0.
        let r = unsafe { libc::fstat(self.0, st.as_mut_ptr()) };
        if r != 0 {
            set_errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
            return Err(MON_E_IO);
        }
        // SAFETY: `fstat` returned 0, so `st` is initialized.
        let st = unsafe { st.assume_init() };
        // The field types vary by target (macOS: a signed `dev_t`); an
        // identity only needs the bits.
        #[allow(clippy::unnecessary_cast)]
        Ok((st.st_dev as u64, st.st_ino as u64))
    }
}

impl AsFd for CFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: a `CFd` is only made by `CFd::check`, which found the fd
        // open and not -1; the C API's documented contract is that the
        // caller, who owns it, keeps it open during the call that gave it
        // to us (and, for a handshake state, until `*_end`). The library
        // never closes it.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

/// The `errno` of this thread's last call that failed with [`MON_E_IO`]
/// or [`MON_E_INVALID_ARGUMENT`] (`EBADF`, `EINVAL`, `EBUSY`); 0 if the
/// last call had none. A failing call also sets `errno` itself.
#[unsafe(no_mangle)]
pub extern "C" fn mon_ipc_last_errno() -> c_int {
    catch_unwind(last_errno).unwrap_or(0)
}
