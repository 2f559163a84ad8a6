//! `mon_ipc_shm_*`, `mon_ipc_send_shm` and `mon_ipc_recv_shm`: shared-memory
//! regions ([`SharedMemory`]) for C, and the shared-memory frame (kind 1,
//! [PROTOCOL.md §4.2](mon_ipc::spec#42-shared-memory-frames-kind-1)) sent and
//! received like `mon_ipc_send_fd` / `mon_ipc_recv_fd`, resumable, by
//! `channels.rs`.

use std::ffi::{c_int, c_void};

use mon_ipc::frame::SHM_HEADER_LEN;
use mon_ipc::{DEFAULT_MAX_PAYLOAD, UsageError};
use mon_ipc_std::{Error, SharedMemory};

use crate::buffer::mon_buffer;
use crate::channels;
use crate::codes::MON_OK;
use crate::fd::CFd;
use crate::guard::{guard, guard_void, invalid};

/// A shared-memory region: a sealed memfd and its mapping. Opaque to C.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mon_shm {
    pub(crate) region: SharedMemory,
}

/// Sends `region` in one shared-memory frame with `app` as the
/// application's bytes (`F_SEAL_SEAL` added if it is not there yet),
/// resumable like `mon_ipc_send_fd`. At most what the C API's handshakes
/// advertise: 16 MiB of payload, the 12-byte header included.
pub(crate) fn send(sock: CFd, region: &SharedMemory, app: &[u8]) -> c_int {
    if SHM_HEADER_LEN.saturating_add(app.len()) > DEFAULT_MAX_PAYLOAD as usize {
        return crate::codes::of_error(&Error::Protocol(UsageError::SendTooLarge.into()));
    }
    channels::send_shm(sock, region, app)
}

/// Whether `[a, a + alen)` and `[b, b + blen)` overlap.
fn overlaps(a: usize, alen: usize, b: usize, blen: usize) -> bool {
    alen > 0 && blen > 0 && a < b.saturating_add(blen) && b < a.saturating_add(alen)
}

/// The mapping's address, or NULL for a region of size 0.
fn mapping_ptr(shm: &mon_shm) -> *mut c_void {
    if shm.region.is_empty() {
        return std::ptr::null_mut();
    }
    // SAFETY: the slice only yields its address and is dropped at once:
    // no Rust code reads through it (the driver reads and writes the
    // mapping with volatile accesses through its own pointer), so another
    // writer of the region cannot change bytes under a live reference. The
    // address stays valid until the mapping is replaced
    // (`seal_read_only`) or unmapped (`mon_ipc_shm_free`), which the
    // header documents.
    let p = unsafe { shm.region.as_slice() }.as_ptr();
    p.cast_mut().cast()
}

/// Creates a shared-memory region of `size` bytes, all zero, readable and
/// writable: a memfd sealed against shrinking and growing, mapped. On
/// success `*shm` is the region (free it with [`mon_ipc_shm_free`]); on
/// error `*shm` is NULL. 0, [`MON_E_INVALID_ARGUMENT`] (`shm` NULL),
/// [`MON_E_IO`] or [`MON_E_NO_MEMORY`]. Size 0 is legal and maps nothing.
///
/// # Safety
///
/// `shm` is NULL or valid for writing one pointer.
///
/// [`MON_E_INVALID_ARGUMENT`]: crate::MON_E_INVALID_ARGUMENT
/// [`MON_E_IO`]: crate::MON_E_IO
/// [`MON_E_NO_MEMORY`]: crate::MON_E_NO_MEMORY
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_shm_create(size: usize, shm: *mut *mut mon_shm) -> c_int {
    guard(|| {
        if shm.is_null() {
            return invalid();
        }
        // SAFETY: not NULL; the caller's contract.
        unsafe { shm.write(std::ptr::null_mut()) };
        match mon_ipc_std::SharedMemory::create(size) {
            Ok(region) => {
                let boxed = Box::into_raw(Box::new(mon_shm { region }));
                // SAFETY: not NULL; the caller's contract.
                unsafe { shm.write(boxed) };
                MON_OK
            }
            Err(e) => channels::driver_error(&e),
        }
    })
}

/// Makes the region read-only for good, before it is sent: adds
/// `F_SEAL_WRITE | F_SEAL_SEAL` and maps it again read-only (the address
/// changes). 0 (also if it already is read-only), [`MON_E_INVALID_ARGUMENT`]
/// or [`MON_E_IO`] (`EPERM`: already sealed, e.g. sent or received;
/// `EBUSY`: another writable mapping of it exists).
///
/// # Safety
///
/// `shm` is NULL or a live region, not used by another thread during the
/// call. Pointers from [`mon_ipc_shm_data`] are invalid afterwards.
///
/// [`MON_E_INVALID_ARGUMENT`]: crate::MON_E_INVALID_ARGUMENT
/// [`MON_E_IO`]: crate::MON_E_IO
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_shm_seal_read_only(shm: *mut mon_shm) -> c_int {
    guard(|| {
        // SAFETY: NULL or live, used by no one else (the caller's contract).
        let Some(shm) = (unsafe { shm.as_mut() }) else {
            return invalid();
        };
        match shm.region.seal_read_only() {
            Ok(()) => MON_OK,
            Err(e) => channels::driver_error(&e),
        }
    })
}

/// The region's size in bytes; 0 for NULL.
///
/// # Safety
///
/// `shm` is NULL or a live region.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_shm_size(shm: *const mon_shm) -> usize {
    // SAFETY: NULL or live (the caller's contract).
    unsafe { shm.as_ref() }.map_or(0, |s| s.region.len())
}

/// The mapping, for reading; NULL for a NULL or empty region. The bytes
/// may change under the reader while a peer writes the region (unless it
/// is sealed read-only), but the region never shrinks: all
/// [`mon_ipc_shm_size`] bytes stay readable until [`mon_ipc_shm_free`].
///
/// # Safety
///
/// `shm` is NULL or a live region.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_shm_data(shm: *const mon_shm) -> *const c_void {
    // SAFETY: NULL or live (the caller's contract).
    unsafe { shm.as_ref() }.map_or(std::ptr::null(), |s| mapping_ptr(s).cast_const())
}

/// The mapping, for writing; NULL for a NULL or empty region and for a
/// region mapped read-only.
///
/// # Safety
///
/// `shm` is NULL or a live region.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_shm_data_mut(shm: *mut mon_shm) -> *mut c_void {
    // SAFETY: NULL or live (the caller's contract); only read here.
    match unsafe { shm.cast_const().as_ref() } {
        Some(s) if s.region.is_writable() => mapping_ptr(s),
        _ => std::ptr::null_mut(),
    }
}

/// Copies `len` bytes at `offset` of the region into `buf`: 0,
/// [`MON_E_INVALID_ARGUMENT`] (NULL `shm`, NULL `buf` with `len` > 0, or
/// `buf` inside the region) or [`MON_E_SHM_OUT_OF_RANGE`](crate#return-codes).
///
/// # Safety
///
/// `shm` is NULL or a live region; `buf` is valid for writing `len` bytes
/// when `len` > 0.
///
/// [`MON_E_INVALID_ARGUMENT`]: crate::MON_E_INVALID_ARGUMENT
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_shm_read(
    shm: *const mon_shm,
    offset: usize,
    buf: *mut c_void,
    len: usize,
) -> c_int {
    guard(|| {
        // SAFETY: NULL or live (the caller's contract).
        let Some(shm) = (unsafe { shm.as_ref() }) else {
            return invalid();
        };
        if len > 0 && buf.is_null() {
            return invalid();
        }
        let map = mapping_ptr(shm).addr();
        if overlaps(buf.addr(), len, map, shm.region.len()) {
            return invalid();
        }
        let out: &mut [u8] = if len == 0 {
            &mut []
        } else {
            // SAFETY: not NULL, valid for writing `len` bytes (the caller's
            // contract) and outside the mapping (checked), so nothing else
            // touches them during the copy.
            unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) }
        };
        match shm.region.read_at(offset, out) {
            Ok(()) => MON_OK,
            Err(e) => channels::driver_error(&e),
        }
    })
}

/// Copies `len` bytes from `data` into the region at `offset`: 0,
/// [`MON_E_INVALID_ARGUMENT`] (NULL `shm`, NULL `data` with `len` > 0, or
/// `data` inside the region), [`MON_E_SHM_OUT_OF_RANGE`](crate#return-codes) or
/// [`MON_E_SHM_READ_ONLY`](crate#return-codes).
///
/// # Safety
///
/// `shm` is NULL or a live region not used by another thread during the
/// call; `data` is valid for reading `len` bytes when `len` > 0.
///
/// [`MON_E_INVALID_ARGUMENT`]: crate::MON_E_INVALID_ARGUMENT
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_shm_write(
    shm: *mut mon_shm,
    offset: usize,
    data: *const c_void,
    len: usize,
) -> c_int {
    guard(|| {
        // SAFETY: NULL or live, used by no one else (the caller's contract).
        let Some(shm) = (unsafe { shm.as_mut() }) else {
            return invalid();
        };
        if len > 0 && data.is_null() {
            return invalid();
        }
        let map = mapping_ptr(shm).addr();
        if overlaps(data.addr(), len, map, shm.region.len()) {
            return invalid();
        }
        let src: &[u8] = if len == 0 {
            &[]
        } else {
            // SAFETY: not NULL, valid for reading `len` bytes (the caller's
            // contract) and outside the mapping (checked), so the copy
            // does not change them.
            unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
        };
        match shm.region.write_at(offset, src) {
            Ok(()) => MON_OK,
            Err(e) => channels::driver_error(&e),
        }
    })
}

/// The region's memfd, borrowed: it stays the region's (do not close it)
/// and is closed by [`mon_ipc_shm_free`]. -1 for NULL.
///
/// # Safety
///
/// `shm` is NULL or a live region.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_shm_fd(shm: *const mon_shm) -> c_int {
    use std::os::fd::{AsFd, AsRawFd};
    // SAFETY: NULL or live (the caller's contract).
    unsafe { shm.as_ref() }.map_or(-1, |s| s.region.as_fd().as_raw_fd())
}

/// Unmaps the region and closes its fd; NULL is ignored.
///
/// # Safety
///
/// `shm` is NULL or from [`mon_ipc_shm_create`] / [`mon_ipc_recv_shm`]
/// and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_shm_free(shm: *mut mon_shm) {
    guard_void(|| {
        if !shm.is_null() {
            // SAFETY: from `Box::into_raw` in `mon_ipc_shm_create` or
            // `mon_ipc_recv_shm`, not yet freed (the caller's contract).
            drop(unsafe { Box::from_raw(shm) });
        }
    })
}

/// Sends the region as one shared-memory frame on the socket `target_fd`,
/// with the bytes of `app_bytes` (NULL: none) after the frame's 12-byte
/// header. First adds `F_SEAL_SEAL`, so that after this no seal can be
/// added (nor [`mon_ipc_shm_seal_read_only`]) and the size never changes.
/// The peer gets its own fd of the region; the caller keeps `shm`. On a
/// non-blocking socket `MON_WANT_WRITE` and on a blocking one with a
/// timeout `MON_E_TIMEOUT`, resumable as for `mon_ipc_send_fd`. 0 or a
/// negative error code (`MON_E_SEND_TOO_LARGE` for more than 16 MiB - 12
/// application bytes).
///
/// # Safety
///
/// `shm` is NULL or a live region; `app_bytes` is NULL or a live buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_send_shm(
    target_fd: c_int,
    shm: *const mon_shm,
    app_bytes: *const mon_buffer,
) -> c_int {
    guard(|| {
        // SAFETY: NULL or live (the caller's contract); only read.
        let Some(shm) = (unsafe { shm.as_ref() }) else {
            return invalid();
        };
        // SAFETY: NULL or live (the caller's contract); only read.
        let app = unsafe { app_bytes.as_ref() }.map_or(&[][..], |b| &b.data[..]);
        let sock = match CFd::check(target_fd) {
            Ok(s) => s,
            Err(code) => return code,
        };
        send(sock, &shm.region, app)
    })
}

/// Receives one shared-memory frame from the socket `source_fd`, checks
/// its fd and maps it: on success `*shm` is the region (free it with
/// [`mon_ipc_shm_free`]) and the application's bytes are appended to
/// `app_bytes`. Before mapping anything it checks
/// ([PROTOCOL.md §4.2](mon_ipc::spec#42-shared-memory-frames-kind-1)) the
/// announced seals and size, then that the fd is a memfd
/// (`MON_E_SHM_NOT_MEMFD`) carrying shrink, grow, seal and every announced
/// seal (`MON_E_SHM_SEALS_MISSING`), of exactly the announced size
/// (`MON_E_SHM_SIZE_MISMATCH`), open for reading
/// (`MON_E_SHM_NOT_READABLE`). A data frame is `MON_E_SHM_EXPECTED`. On
/// any error `*shm` is NULL, nothing is appended or mapped and every fd
/// that came is closed; the frame was consumed, but a refusal is a channel
/// error: close the connection. On a non-blocking socket
/// `MON_WANT_READ` and on a blocking one with a timeout `MON_E_TIMEOUT`,
/// resumable as for `mon_ipc_recv_fd`.
///
/// # Safety
///
/// `app_bytes` is NULL or a live buffer; `shm` is NULL or valid for
/// writing one pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_recv_shm(
    source_fd: c_int,
    app_bytes: *mut mon_buffer,
    shm: *mut *mut mon_shm,
) -> c_int {
    guard(|| {
        if shm.is_null() {
            return invalid();
        }
        // SAFETY: not NULL; the caller's contract.
        unsafe { shm.write(std::ptr::null_mut()) };
        // SAFETY: NULL or live, with no other reference to it during this
        // call (the caller's contract).
        let Some(app) = (unsafe { app_bytes.as_mut() }) else {
            return invalid();
        };
        let sock = match CFd::check(source_fd) {
            Ok(s) => s,
            Err(code) => return code,
        };
        match channels::recv_shm(sock, &mut app.data) {
            Ok(region) => {
                let boxed = Box::into_raw(Box::new(mon_shm { region }));
                // SAFETY: not NULL; the caller's contract.
                unsafe { shm.write(boxed) };
                MON_OK
            }
            Err(code) => code,
        }
    })
}
