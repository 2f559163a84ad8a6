//! One thread sends 64 B + 1 fd to itself and receives it, N times: through
//! the channel (`ours`) or with bare `sendmsg` / `recvmsg` / `close`
//! (`raw`). For counting user-space instructions per message, which a
//! timing cannot separate from the kernel's work (docs/PERFORMANCE.md):
//!
//! ```sh
//! cargo build --release -p mon-ipc-bench --example fd_loop
//! valgrind --tool=callgrind target/release/examples/fd_loop ours 20000
//! valgrind --tool=callgrind target/release/examples/fd_loop ours 0   # the setup alone
//! ```
//!
//! Per message: (total - setup) / N.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use mon_ipc_bench::echo::connected;
use mon_ipc_bench::raw;
use mon_ipc_std::{Limits, SocketKind};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "ours".into());
    let n: usize = args.next().map_or(20_000, |s| s.parse().expect("a count"));
    let (mut a, mut b) = connected(SocketKind::Stream, Limits::default());
    let fd = OwnedFd::from(std::fs::File::open("/dev/null").expect("/dev/null"));
    let payload = [0x5a; 64];
    match mode.as_str() {
        "ours" => {
            let lent = [fd.as_fd()];
            for _ in 0..n {
                a.send_borrowed(&payload, &lent).unwrap();
                let m = b.recv().unwrap().unwrap();
                assert_eq!((m.payload.len(), m.fds.len()), (64, 1));
            }
        }
        "raw" => {
            // The same 72 bytes (header and payload) as the channel sends.
            let (x, y) = raw::socketpair(libc::SOCK_STREAM).unwrap();
            let (data, fds) = ([0x5a; 72], [fd.as_raw_fd()]);
            let (mut buf, mut cbuf, mut got) = ([0u8; 72], raw::CmsgBuf::for_fds(1), Vec::new());
            for _ in 0..n {
                assert_eq!(raw::send_fds(&x, &data, &fds).unwrap(), 72);
                let (len, _) = raw::recv_fds(&y, &mut buf, &mut cbuf, &mut got).unwrap();
                assert_eq!((len, got.len()), (72, 1));
                got.clear();
            }
        }
        other => panic!("mode {other:?}: ours or raw"),
    }
}
