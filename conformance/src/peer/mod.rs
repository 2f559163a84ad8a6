//! `peer --exec`: verifies a third-party implementation over real sockets,
//! BoGo style. The program under test gets a connected socket as fd 3, a
//! role, a case and a socket type; the runner plays the other side with
//! real credentials and real fds and checks every byte, credential and fd,
//! the exit status and the error code, and that nothing it handed over is
//! still open in the program. The contract is `docs/SHIM.md`.
//!
//! - [`cases`]: the case table, shared with the reference shim
//!   (`src/bin/mon-ipc-shim.rs`);
//! - [`runner`]: the runner and its report;
//! - [`procfs`]: what it reads in `/proc/PID`;
//! - [`os`]: the socket on fd 3, in the child and in the shim (the `unsafe`
//!   it needs is in `mon-ipc-std`'s `sys` module).

pub mod cases;
pub mod os;
pub mod procfs;
pub mod runner;
