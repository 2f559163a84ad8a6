//! `zbus-server <socket path>`: binds a UNIX stream socket at the path,
//! prints `ready` once it listens, accepts one connection and serves it
//! with zbus's peer-to-peer server ([`mon_ipc_zbus_interop::serve`]) until
//! the client closes it; then exits 0. Exits 1 (with the reason on stderr)
//! if anything fails, the handshake included.

use std::io::Write;
use std::os::unix::net::UnixListener;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: zbus-server <socket path>");
        return ExitCode::from(2);
    };
    match run(&path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zbus-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &std::ffi::OsStr) -> Result<(), Box<dyn std::error::Error>> {
    let listener = UnixListener::bind(path)?;
    let mut out = std::io::stdout();
    writeln!(out, "ready")?;
    out.flush()?;
    let (stream, _) = listener.accept()?;
    let conn = mon_ipc_zbus_interop::serve(stream)?;
    conn.closed();
    Ok(())
}
