//! The socket of the program under test: put on fd 3 of the child by the
//! runner, taken over by the reference shim (`docs/SHIM.md`). The `unsafe`
//! this needs lives in `mon-ipc-std`'s `sys` module, like every other.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::process::Command;

/// The fd the program under test finds its socket on.
pub const SHIM_FD: i32 = 3;

/// Makes `cmd` start its program with `sock` on fd 3, inheritable. `sock`
/// must stay open until the command is spawned.
pub fn inherit_as_fd3(cmd: &mut Command, sock: BorrowedFd<'_>) {
    mon_ipc_std::raw::pass_to_child(cmd, sock, SHIM_FD);
}

/// The reference shim: takes ownership of the socket inherited as fd 3.
/// `None` if fd 3 is not an open socket.
pub fn inherited_socket() -> Option<OwnedFd> {
    mon_ipc_std::raw::take_inherited_socket(SHIM_FD)
}
