//! # mon-ipc-capi: the manual's C API
//!
//! `libmonitor.so` / `libmonitor.a` with the header
//! `include/monitor/monitor.h`: the "Inter-Process Communication" chapter of
//! the Mercury Monitor reference manual, function for function, on top of
//! [`mon_ipc_std`]. C programs include `<monitor/monitor.h>` and link
//! `-lmonitor`; the crate's README (its crates.io page) gives the build and
//! link commands and the table of return codes.
//!
//! What the C API adds to the driver, and nothing more:
//!
//! - the manual's `void *state`: a handle into a registry of
//!   [`ClientHandshake`](mon_ipc_std::ClientHandshake) /
//!   [`ServerHandshake`](mon_ipc_std::ServerHandshake) states, so that
//!   a wrong, ended or foreign handle is an error, never a crash;
//! - [`mon_ipc_creds`] with the manual's sentinels for unknown ids;
//! - a negative error code per failure ([`codes`](crate#return-codes)), with
//!   [`mon_ipc_strerror`] giving the stable code string of
//!   [PROTOCOL.md §5](mon_ipc::spec#5-error-codes) and
//!   [`mon_ipc_last_errno`] the `errno` of an I/O error;
//! - [`mon_buffer`], the manual's byte buffer;
//! - beyond the manual, parity with the Rust driver's handshake: mutual
//!   authentication ([`mon_ipc_auth_client_init_mutual`]), the server's
//!   own accept / deny decision ([`mon_ipc_auth_server_init_decide`]), and
//!   listening sockets prepared for it ([`mon_ipc_listen`],
//!   [`mon_ipc_prepare_listener`]);
//! - [`mon_shm`], a shared-memory region (a sealed memfd and its mapping),
//!   handed over with [`mon_ipc_send_shm`] / [`mon_ipc_recv_shm`], which
//!   checks the fd before it maps anything
//!   ([PROTOCOL.md §4.2](mon_ipc::spec#42-shared-memory-frames-kind-1)).
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
//! # Non-blocking sockets and timeouts
//!
//! [`mon_ipc_recv_fd`], [`mon_ipc_send_fd`], [`mon_ipc_recv_shm`] and
//! [`mon_ipc_send_shm`] return [`MON_WANT_READ`] / [`MON_WANT_WRITE`] on a
//! non-blocking socket and resume the same frame on the next call; on a
//! blocking socket they wait, at most [`mon_ipc_set_timeout`]'s time
//! ([`MON_E_TIMEOUT`], the partial frame kept likewise). The partial
//! frames, a client handshake's channel and the timeout live in a
//! per-socket registry (`channels.rs`, keyed by fd and socket identity),
//! freed by [`mon_ipc_forget`] before `close`.
//!
//! # Return codes
//!
//! `0` success; [`MON_CONTINUE`] (1), [`MON_WANT_READ`] (2),
//! [`MON_WANT_WRITE`] (3): call the step again (when the socket is ready);
//! [`MON_DECIDE`] (4): a deciding server's client is authenticated
//! ([`mon_ipc_auth_server_init_decide`]);
//! negative: an error, fixed numbers listed in the header and the README
//! (`-1` to `-10` the C API and the system, `-11` to `-17` the driver's
//! shared-memory refusals and access errors, `-18`
//! [`MON_E_SEND_PENDING`], `-100` to `-139` the peer's errors, `-200` to
//! `-209` usage errors of [PROTOCOL.md §5](mon_ipc::spec#5-error-codes)).
#![allow(unsafe_code)]

mod auth;
mod buffer;
mod channels;
mod codes;
mod fd;
mod guard;
mod listen;
mod shm;
mod sys;

pub use auth::{
    mon_ipc_auth_client_end, mon_ipc_auth_client_init, mon_ipc_auth_client_step,
    mon_ipc_auth_server_end, mon_ipc_auth_server_init, mon_ipc_auth_server_step,
};
pub use auth::{
    mon_ipc_auth_client_init_mutual, mon_ipc_auth_server_accept, mon_ipc_auth_server_deny,
    mon_ipc_auth_server_init_decide,
};
pub use buffer::{
    mon_buffer, mon_buffer_append, mon_buffer_clear, mon_buffer_data, mon_buffer_free,
    mon_buffer_length, mon_buffer_new,
};
pub use channels::{mon_ipc_forget, mon_ipc_recv_fd, mon_ipc_send_fd, mon_ipc_set_timeout};
pub use codes::MON_DECIDE;
pub use codes::{
    MON_CONTINUE, MON_E_CLOSED, MON_E_INTERNAL, MON_E_INVALID_ARGUMENT, MON_E_IO,
    MON_E_KERNEL_TOO_OLD, MON_E_NO_MEMORY, MON_E_PEER_GONE, MON_E_SEND_PENDING, MON_E_TIMEOUT,
    MON_E_TOO_MANY_FDS, MON_E_UNSUPPORTED_SOCKET, MON_OK, MON_WANT_READ, MON_WANT_WRITE,
    mon_ipc_strerror,
};
pub use fd::mon_ipc_last_errno;
pub use listen::{mon_ipc_listen, mon_ipc_prepare_listener};
pub use shm::{
    mon_ipc_recv_shm, mon_ipc_send_shm, mon_ipc_shm_create, mon_ipc_shm_data, mon_ipc_shm_data_mut,
    mon_ipc_shm_fd, mon_ipc_shm_free, mon_ipc_shm_read, mon_ipc_shm_seal_read_only,
    mon_ipc_shm_size, mon_ipc_shm_write, mon_shm,
};

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
