//! What every entry point does around its body: no panic unwinds into C,
//! and the thread's last `errno` starts clear.

use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::codes::{MON_E_INTERNAL, MON_E_INVALID_ARGUMENT};
use crate::fd::{clear_errno, set_errno};

/// Runs an entry point, turning a panic into [`MON_E_INTERNAL`].
pub(crate) fn guard(f: impl FnOnce() -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(|| {
        clear_errno();
        f()
    }))
    .unwrap_or(MON_E_INTERNAL)
}

/// Runs a `void` entry point, swallowing a panic.
pub(crate) fn guard_void(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        clear_errno();
        f()
    }));
}

/// A bad argument: `errno` `EINVAL` and [`MON_E_INVALID_ARGUMENT`].
pub(crate) fn invalid() -> c_int {
    set_errno(libc::EINVAL);
    MON_E_INVALID_ARGUMENT
}
