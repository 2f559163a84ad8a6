//! # mon-ipc-capi: the manual's C API
//!
//! `libmonitor.so` / `libmonitor.a` with the header
//! `include/monitor/monitor.h`: the "Inter-Process Communication" chapter of
//! the Mercury Monitor reference manual, function for function, on top of
//! [`mon_ipc_std`]. C programs include `<monitor/monitor.h>` and link
//! `-lmonitor`; see the crate's `README.md` for the build and link commands
//! and the table of return codes.
//!
//! What the C API adds to the driver, and nothing more:
//!
//! - the manual's `void *state`: a handle into a registry of
//!   [`ClientHandshake`](mon_ipc_std::ClientHandshake) /
//!   [`ServerHandshake`](mon_ipc_std::ServerHandshake) states, so that
//!   a wrong, ended or foreign handle is an error, never a crash;
//! - [`mon_ipc_creds`] with the manual's sentinels for unknown ids;
//! - a negative error code per failure ([`codes`](crate#return-codes)), with
//!   [`mon_ipc_strerror`] giving the stable code string of PROTOCOL.md and
//!   [`mon_ipc_last_errno`] the `errno` of an I/O error;
//! - [`mon_buffer`], the manual's byte buffer;
//! - [`mon_shm`], a shared-memory region (a sealed memfd and its mapping),
//!   handed over with [`mon_ipc_send_shm`] / [`mon_ipc_recv_shm`], which
//!   checks the fd before it maps anything (PROTOCOL.md 4.2).
//!
//! Every entry point catches panics (`catch_unwind`) and returns
//! [`MON_E_INTERNAL`] instead: nothing unwinds into C.
//!
//! # File descriptors
//!
//! The C API's fds are plain `int`s that the caller owns: the library never
//! closes them. The caller keeps the socket open during every call given
//! it, and during a handshake until `*_end`. A received fd
//! (`mon_ipc_recv_fd`) belongs to the caller and has `FD_CLOEXEC` set.
//!
//! # Return codes
//!
//! `0` success; [`MON_CONTINUE`] (1), [`MON_WANT_READ`] (2),
//! [`MON_WANT_WRITE`] (3): call the step again (when the socket is ready);
//! negative: an error, fixed numbers listed in the header and `README.md`
//! (`-1` to `-10` the C API and the system, `-11` to `-17` the driver's
//! shared-memory refusals and access errors, `-100` to `-139` the peer's
//! errors, `-200` to `-209` usage errors of PROTOCOL.md section 5).
#![allow(unsafe_code)]

mod auth;
mod channels;
mod codes;
mod fd;
mod shm;

use std::ffi::{c_char, c_int, c_void};
use std::os::fd::IntoRawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};

use auth::Role;
pub use codes::{
    MON_CONTINUE, MON_E_CLOSED, MON_E_INTERNAL, MON_E_INVALID_ARGUMENT, MON_E_IO,
    MON_E_KERNEL_TOO_OLD, MON_E_NO_MEMORY, MON_E_PEER_GONE, MON_E_TIMEOUT, MON_E_TOO_MANY_FDS,
    MON_E_UNSUPPORTED_SOCKET, MON_OK, MON_WANT_READ, MON_WANT_WRITE,
};
use fd::{CFd, clear_errno, set_errno};
pub use shm::mon_shm;

/// The manual's `MON_IPC_PID_UNKNOWN`: `(pid_t)0`.
pub const MON_IPC_PID_UNKNOWN: libc::pid_t = 0;
/// The manual's `MON_IPC_GID_UNKNOWN`: `(gid_t)-1`.
pub const MON_IPC_GID_UNKNOWN: libc::gid_t = libc::gid_t::MAX;
/// The unknown uid, `(uid_t)-1` (the manual names none).
pub const MON_IPC_UID_UNKNOWN: libc::uid_t = libc::uid_t::MAX;

/// The manual's `mon_ipc_creds`: a process's pid, effective uid and
/// effective gid, with [`MON_IPC_PID_UNKNOWN`], [`MON_IPC_UID_UNKNOWN`] and
/// [`MON_IPC_GID_UNKNOWN`] where the kernel gave none.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct mon_ipc_creds {
    /// The process ID.
    pub pid: libc::pid_t,
    /// The effective user ID.
    pub uid: libc::uid_t,
    /// The effective group ID.
    pub gid: libc::gid_t,
}
pub(crate) use mon_ipc_creds as MonIpcCreds;

/// The manual's `mon_buffer`: a growable byte buffer, opaque to C.
#[allow(non_camel_case_types)]
#[derive(Debug, Default)]
pub struct mon_buffer {
    data: Vec<u8>,
}

/// Runs an entry point, turning a panic into [`MON_E_INTERNAL`].
fn guard(f: impl FnOnce() -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(|| {
        clear_errno();
        f()
    }))
    .unwrap_or(MON_E_INTERNAL)
}

/// Runs a `void` entry point, swallowing a panic.
fn guard_void(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        clear_errno();
        f()
    }));
}

fn invalid() -> c_int {
    set_errno(libc::EINVAL);
    MON_E_INVALID_ARGUMENT
}

/// Starts the client side of the authentication on the connected socket
/// `fd`. Returns [`MON_CONTINUE`] with `*state` set (call
/// [`mon_ipc_auth_client_step`]), or a negative error code with `*state`
/// NULL.
///
/// # Safety
///
/// `state` is NULL or valid for writing one pointer; `fd` stays open until
/// [`mon_ipc_auth_client_end`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_client_init(fd: c_int, state: *mut *mut c_void) -> c_int {
    guard(|| auth::init(Role::Client, fd, std::ptr::null_mut(), state))
}

/// Performs the next step of the client's authentication: 0 when
/// authenticated, [`MON_CONTINUE`] to call again, [`MON_WANT_READ`] /
/// [`MON_WANT_WRITE`] to call again once the non-blocking `fd` is
/// readable / writable, or a negative error code (sticky: every later step
/// returns it again).
///
/// # Safety
///
/// None beyond the C API's contract: `state` is looked up, never
/// dereferenced, so any value gives at worst `MON_E_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_client_step(fd: c_int, state: *mut c_void) -> c_int {
    guard(|| auth::step(Role::Client, fd, state))
}

/// Frees a client state. NULL, an unknown or already-freed state, and a
/// server state are ignored.
///
/// # Safety
///
/// None: `state` is looked up, never dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_client_end(state: *mut c_void) {
    guard_void(|| auth::end(Role::Client, state))
}

/// Starts the server side of the authentication on the accepted socket (or
/// socketpair end) `fd`; on success `*creds` will hold the client's
/// credentials. Returns [`MON_CONTINUE`] with `*state` set, or a negative
/// error code with `*state` NULL.
///
/// # Safety
///
/// `state` is NULL or valid for writing one pointer; `creds` is NULL or
/// valid for writing one `mon_ipc_creds` until the authentication ends;
/// `fd` stays open until [`mon_ipc_auth_server_end`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_server_init(
    fd: c_int,
    creds: *mut mon_ipc_creds,
    state: *mut *mut c_void,
) -> c_int {
    guard(|| auth::init(Role::Server, fd, creds, state))
}

/// Performs the next step of the server's authentication; the returns are
/// those of [`mon_ipc_auth_client_step`]. On 0 the `creds` given to
/// [`mon_ipc_auth_server_init`] hold the client's credentials.
///
/// # Safety
///
/// The `creds` pointer given to `init` is still valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_server_step(fd: c_int, state: *mut c_void) -> c_int {
    guard(|| auth::step(Role::Server, fd, state))
}

/// Frees a server state. NULL, an unknown or already-freed state, and a
/// client state are ignored.
///
/// # Safety
///
/// None: `state` is looked up, never dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_server_end(state: *mut c_void) {
    guard_void(|| auth::end(Role::Server, state))
}

/// Receives one frame from the socket `source_fd`: appends its payload to
/// `dst` and stores its fd (owned by the caller, `FD_CLOEXEC`) in
/// `*fd_received`, or -1 if it carried none. Waits for the whole frame,
/// also on a non-blocking socket. 0 or a negative error code; on error
/// nothing is appended, `*fd_received` is -1 and every fd that arrived is
/// closed (a frame with more than one fd is an error).
///
/// # Safety
///
/// `dst` is NULL or from [`mon_buffer_new`]; `fd_received` is NULL or valid
/// for writing one `int`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_recv_fd(
    source_fd: c_int,
    dst: *mut mon_buffer,
    fd_received: *mut c_int,
) -> c_int {
    guard(|| {
        if fd_received.is_null() || dst.is_null() {
            if !fd_received.is_null() {
                // SAFETY: not NULL; the caller's contract.
                unsafe { fd_received.write(-1) };
            }
            return invalid();
        }
        // SAFETY: not NULL; the caller's contract.
        unsafe { fd_received.write(-1) };
        let sock = match CFd::check(source_fd) {
            Ok(s) => s,
            Err(code) => return code,
        };
        // SAFETY: `dst` is not NULL and came from `mon_buffer_new` (the
        // caller's contract); no other reference to it exists in this call.
        let dst = unsafe { &mut *dst };
        match channels::recv(sock, &mut dst.data) {
            Ok(Some(fd)) => {
                // SAFETY: not NULL; the caller's contract.
                unsafe { fd_received.write(fd.into_raw_fd()) };
                MON_OK
            }
            Ok(None) => MON_OK,
            Err(code) => code,
        }
    })
}

/// Sends the bytes of `src` as one frame on the socket `target_fd`, with
/// the fd `fd_to_send` attached (the caller keeps it; the peer gets a
/// duplicate). Extension: `fd_to_send` = -1 sends the data without an fd.
/// Waits until the whole frame is sent, also on a non-blocking socket.
/// 0 or a negative error code.
///
/// # Safety
///
/// `src` is NULL or from [`mon_buffer_new`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_send_fd(
    target_fd: c_int,
    src: *mut mon_buffer,
    fd_to_send: c_int,
) -> c_int {
    guard(|| {
        if src.is_null() || fd_to_send < -1 {
            return invalid();
        }
        let fd = match fd_to_send {
            -1 => None,
            n => match CFd::check(n) {
                Ok(fd) => Some(fd),
                Err(code) => return code,
            },
        };
        let sock = match CFd::check(target_fd) {
            Ok(s) => s,
            Err(code) => return code,
        };
        // SAFETY: `src` is not NULL and came from `mon_buffer_new` (the
        // caller's contract); it is only read.
        let src = unsafe { &*src };
        channels::send(sock, &src.data, fd)
    })
}

/// The stable code string of a return code (`"ok"`, `"continue"`,
/// `"want_read"`, `"want_write"`, `"io"`, `"hello_bad_magic"`, ...), or
/// `"unknown"`. The string is static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn mon_ipc_strerror(code: c_int) -> *const c_char {
    catch_unwind(|| codes::name_of(code))
        .unwrap_or(c"internal")
        .as_ptr()
}

/// The `errno` of this thread's last call that failed with [`MON_E_IO`]
/// or [`MON_E_INVALID_ARGUMENT`] (`EBADF`, `EINVAL`, `EBUSY`); 0 if the
/// last call had none. A failing call also sets `errno` itself.
#[unsafe(no_mangle)]
pub extern "C" fn mon_ipc_last_errno() -> c_int {
    catch_unwind(fd::last_errno).unwrap_or(0)
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

// ---------------------------------------------------------------------
// Shared memory (PROTOCOL.md 4.2, docs/SHARED-MEMORY.md)

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
/// The peer gets its own fd of the region; the caller keeps `shm`. Waits
/// until the whole frame is sent, also on a non-blocking socket. 0 or a
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
        shm::send(sock, &shm.region, app)
    })
}

/// Receives one shared-memory frame from the socket `source_fd`, checks
/// its fd and maps it: on success `*shm` is the region (free it with
/// [`mon_ipc_shm_free`]) and the application's bytes are appended to
/// `app_bytes`. Before mapping anything it checks (PROTOCOL.md 4.2) the
/// announced seals and size, then that the fd is a memfd
/// (`MON_E_SHM_NOT_MEMFD`) carrying shrink, grow, seal and every announced
/// seal (`MON_E_SHM_SEALS_MISSING`), of exactly the announced size
/// (`MON_E_SHM_SIZE_MISMATCH`), open for reading
/// (`MON_E_SHM_NOT_READABLE`). A data frame is `MON_E_SHM_EXPECTED`. On
/// any error `*shm` is NULL, nothing is appended or mapped and every fd
/// that came is closed; the frame was consumed, but a refusal is a channel
/// error: close the connection. Waits for the whole frame, also on a
/// non-blocking socket.
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
