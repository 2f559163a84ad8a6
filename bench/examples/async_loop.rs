//! 64 B + 1 fd round trips to an echo thread, through the blocking
//! `Channel` (`blocking`) or the tokio `AsyncChannel` on a current-thread
//! runtime (`tokio`): for counting the system calls and user-space
//! instructions per round trip that the async driver adds
//! (docs/PERFORMANCE.md):
//!
//! ```sh
//! cargo build --release -p mon-ipc-bench --example async_loop
//! strace -f -c taskset -c 0 target/release/examples/async_loop tokio 10000
//! valgrind --tool=callgrind target/release/examples/async_loop tokio 10000
//! ```

use std::os::fd::{AsFd, OwnedFd};

use mon_ipc_bench::echo::{connected, ours_echo};
use mon_ipc_std::{Limits, SocketKind};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "tokio".into());
    let n: usize = args.next().map_or(10_000, |s| s.parse().expect("a count"));
    let (mut client, server) = connected(SocketKind::Stream, Limits::default());
    let echo = ours_echo(server, 1, false);
    let fd = OwnedFd::from(std::fs::File::open("/dev/null").expect("/dev/null"));
    let payload = [0x5a; 64];
    match mode.as_str() {
        "blocking" => {
            for _ in 0..n {
                client.send_borrowed(&payload, &[fd.as_fd()]).unwrap();
                drop(client.recv().unwrap().unwrap());
            }
            drop(client); // the echo thread sees EOF
        }
        "tokio" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut client = mon_ipc_std::tokio::AsyncChannel::from_channel(client).unwrap();
                for _ in 0..n {
                    client.send_borrowed(&payload, &[fd.as_fd()]).await.unwrap();
                    drop(client.recv().await.unwrap().unwrap());
                }
            });
        }
        other => panic!("mode {other:?}: blocking or tokio"),
    }
    echo.join().unwrap();
}
