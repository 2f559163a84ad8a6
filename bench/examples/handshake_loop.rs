//! N blocking handshakes, one after the other: a server thread accepts
//! from a [`Listener`] and authenticates ([`mon_ipc_std::server`]), the
//! main thread connects and authenticates ([`mon_ipc_std::client`]), plain
//! or mutual. For counting the system calls of a handshake, which a timing
//! cannot show (docs/PERFORMANCE.md, "The handshakes"):
//!
//! ```sh
//! cargo build --release -p mon-ipc-bench --example handshake_loop
//! strace -f -c target/release/examples/handshake_loop plain 100
//! strace -f -c target/release/examples/handshake_loop plain 0   # the setup alone
//! perf stat -e raw_syscalls:sys_enter target/release/examples/handshake_loop plain 5000
//! perf trace -s target/release/examples/handshake_loop plain 1000   # per thread
//! ```
//!
//! Per handshake: (total - setup) / N, both sides together; per side, the
//! thread that calls `accept4` is the server. `strace` stops the process at
//! every call, which changes who runs first: under it the server usually
//! reads before the client's hello is sent (`recvmsg` `EAGAIN`, `poll`,
//! `recvmsg`: 2 calls more than without it). `perf` counts without
//! stopping; its figures are the ones in docs/PERFORMANCE.md.

use mon_ipc_std::{ClientOptions, Listener, ServerOptions, SocketKind};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "plain".into());
    let n: usize = args.next().map_or(100, |s| s.parse().expect("a count"));
    let mutual = match mode.as_str() {
        "plain" => false,
        "mutual" => true,
        other => panic!("mode {other:?}: plain or mutual"),
    };
    let name = format!("mon-ipc-handshake-loop-{}", std::process::id());
    let listener = Listener::bind_abstract(name.as_bytes(), SocketKind::Stream).unwrap();
    // Asked once: a `getpid` per handshake would count as the server's.
    let me = Some(std::process::id().try_into().unwrap());
    let server = std::thread::spawn(move || {
        let opts = ServerOptions::default();
        for _ in 0..n {
            let conn = mon_ipc_std::server(listener.accept().unwrap(), &opts).unwrap();
            assert_eq!(conn.peer.pid(), me);
            assert!(conn.peer.uid().is_some());
        }
    });
    let opts = ClientOptions::default().mutual(mutual);
    for _ in 0..n {
        let sock = mon_ipc_std::connect_abstract(name.as_bytes(), SocketKind::Stream).unwrap();
        let conn = mon_ipc_std::client(sock, &opts).unwrap();
        assert_eq!(conn.peer.is_some(), mutual);
    }
    server.join().unwrap();
}
