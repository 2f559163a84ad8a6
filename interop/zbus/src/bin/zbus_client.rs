//! `zbus-client <address> [--fd]`: connects to the D-Bus address
//! (`unix:path=...`) with zbus's peer-to-peer client, calls
//! `org.freedesktop.DBus.Peer.Ping` at `/`, and with `--fd` then
//! `org.monipc.Interop.Give` with one fd; prints one line per returned
//! call and exits 0, or exits 1 with the reason on stderr.

use std::process::ExitCode;

use mon_ipc_zbus_interop::{connect, give_fd, ping};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (address, with_fd) = match args.as_slice() {
        [address] => (address, false),
        [address, flag] if flag == "--fd" => (address, true),
        _ => {
            eprintln!("usage: zbus-client <address> [--fd]");
            return ExitCode::from(2);
        }
    };
    let run = || -> zbus::Result<()> {
        let conn = connect(address)?;
        ping(&conn)?;
        println!("Ping returned");
        if with_fd {
            give_fd(&conn)?;
            println!("Give returned");
        }
        conn.close()
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zbus-client: {e}");
            ExitCode::FAILURE
        }
    }
}
