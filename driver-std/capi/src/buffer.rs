//! The manual's `mon_buffer`: a growable byte buffer, opaque to C, and its
//! functions.

use std::ffi::{c_int, c_void};
use std::panic::catch_unwind;

use crate::codes::{MON_E_NO_MEMORY, MON_OK};
use crate::fd::set_errno;
use crate::guard::{guard, guard_void, invalid};

/// The manual's `mon_buffer`: a growable byte buffer, opaque to C.
#[allow(non_camel_case_types)]
#[derive(Debug, Default)]
pub struct mon_buffer {
    pub(crate) data: Vec<u8>,
}

/// A new, empty buffer, or NULL if memory ran out.
#[unsafe(no_mangle)]
pub extern "C" fn mon_buffer_new() -> *mut mon_buffer {
    catch_unwind(|| Box::into_raw(Box::<mon_buffer>::default())).unwrap_or(std::ptr::null_mut())
}

/// Frees a buffer; NULL is ignored.
///
/// # Safety
///
/// `buf` is NULL or from [`mon_buffer_new`] and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_buffer_free(buf: *mut mon_buffer) {
    guard_void(|| {
        if !buf.is_null() {
            // SAFETY: from `Box::into_raw` in `mon_buffer_new`, not yet
            // freed (the caller's contract).
            drop(unsafe { Box::from_raw(buf) });
        }
    })
}

/// The buffer's bytes (valid until the buffer is next changed), or NULL
/// for a NULL buffer. Never NULL for a buffer, even an empty one.
///
/// # Safety
///
/// `buf` is NULL or a live buffer from [`mon_buffer_new`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_buffer_data(buf: *const mon_buffer) -> *const u8 {
    static EMPTY: u8 = 0;
    // SAFETY: NULL or live (the caller's contract).
    match unsafe { buf.as_ref() } {
        None => std::ptr::null(),
        Some(b) if b.data.is_empty() => &EMPTY,
        Some(b) => b.data.as_ptr(),
    }
}

/// The number of bytes in the buffer; 0 for NULL.
///
/// # Safety
///
/// `buf` is NULL or a live buffer from [`mon_buffer_new`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_buffer_length(buf: *const mon_buffer) -> usize {
    // SAFETY: NULL or live (the caller's contract).
    unsafe { buf.as_ref() }.map_or(0, |b| b.data.len())
}

/// Appends `len` bytes from `data`: 0, [`MON_E_INVALID_ARGUMENT`] (NULL
/// buffer, or NULL data with `len` > 0) or [`MON_E_NO_MEMORY`]. `data` may
/// point into the buffer's own bytes.
///
/// # Safety
///
/// `buf` is NULL or a live buffer; `data` is valid for reading `len` bytes
/// when `len` > 0.
///
/// [`MON_E_INVALID_ARGUMENT`]: crate::MON_E_INVALID_ARGUMENT
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_buffer_append(
    buf: *mut mon_buffer,
    data: *const c_void,
    len: usize,
) -> c_int {
    guard(|| {
        // SAFETY: NULL or live, and not aliased by a reference during this
        // call (the caller's contract).
        let Some(b) = (unsafe { buf.as_mut() }) else {
            return invalid();
        };
        if len == 0 {
            return MON_OK;
        }
        if data.is_null() {
            return invalid();
        }
        // Bytes of the buffer itself would move when it grows: copy them
        // within it instead.
        let start = b.data.as_ptr().addr();
        let own = data.addr().wrapping_sub(start);
        if own < b.data.len() {
            if own + len > b.data.len() {
                return invalid();
            }
            if b.data.try_reserve(len).is_err() {
                set_errno(libc::ENOMEM);
                return MON_E_NO_MEMORY;
            }
            b.data.extend_from_within(own..own + len);
            return MON_OK;
        }
        if b.data.try_reserve(len).is_err() {
            set_errno(libc::ENOMEM);
            return MON_E_NO_MEMORY;
        }
        // SAFETY: `data` is not NULL and valid for reading `len` bytes (the
        // caller's contract), and they are not the buffer's, so growing it
        // above did not free them.
        let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
        b.data.extend_from_slice(bytes);
        MON_OK
    })
}

/// Empties the buffer (keeping its memory); NULL is ignored.
///
/// # Safety
///
/// `buf` is NULL or a live buffer from [`mon_buffer_new`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_buffer_clear(buf: *mut mon_buffer) {
    guard_void(|| {
        // SAFETY: NULL or live (the caller's contract).
        if let Some(b) = unsafe { buf.as_mut() } {
            b.data.clear();
        }
    })
}

/// Appends `bytes` to `dst`, or `no_memory` with nothing appended.
pub(crate) fn append(dst: &mut Vec<u8>, bytes: &[u8]) -> Result<(), c_int> {
    if dst.try_reserve(bytes.len()).is_err() {
        set_errno(libc::ENOMEM);
        return Err(MON_E_NO_MEMORY);
    }
    dst.extend_from_slice(bytes);
    Ok(())
}
