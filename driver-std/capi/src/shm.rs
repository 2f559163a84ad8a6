//! `mon_ipc_shm_*`, `mon_ipc_send_shm` and `mon_ipc_recv_shm`: shared-memory
//! regions ([`SharedMemory`]) for C, and the shared-memory frame (kind 1,
//! PROTOCOL.md 4.2) sent and received without state, like
//! `mon_ipc_send_fd` / `mon_ipc_recv_fd`, by the driver's
//! [`mon_ipc_std::send_shm`] / [`mon_ipc_std::recv_shm`] (the receive is in
//! `channels.rs`, since a client handshake may have left a channel).

use std::ffi::c_int;

use mon_ipc::frame::SHM_HEADER_LEN;
use mon_ipc::{DEFAULT_MAX_PAYLOAD, UsageError};
use mon_ipc_std::{Error, SharedMemory};

use crate::codes::{MON_E_NO_MEMORY, MON_OK};
use crate::fd::{CFd, set_errno};

/// A shared-memory region: a sealed memfd and its mapping. Opaque to C.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct mon_shm {
    pub(crate) region: SharedMemory,
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

/// Sends `region` in one shared-memory frame with `app` as the
/// application's bytes (`F_SEAL_SEAL` added if it is not there yet),
/// waiting on a non-blocking socket. At most what the C API's handshakes
/// advertise: 16 MiB of payload, the 12-byte header included.
pub(crate) fn send(sock: CFd, region: &SharedMemory, app: &[u8]) -> c_int {
    if SHM_HEADER_LEN.saturating_add(app.len()) > DEFAULT_MAX_PAYLOAD as usize {
        return crate::codes::of_error(&Error::Protocol(UsageError::SendTooLarge.into()));
    }
    match mon_ipc_std::send_shm(sock, region, app) {
        Ok(()) => MON_OK,
        Err(e) => crate::channels::driver_error(&e),
    }
}
