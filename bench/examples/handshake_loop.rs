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
//! ```
//!
//! Per handshake: (total - setup) / N, both sides together. Per side:
//! `strace -f -qq -o trace ...` and count the lines per thread id (the
//! server's thread is the one that calls `accept4`).

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
