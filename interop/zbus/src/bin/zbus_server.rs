//! `zbus-server <socket path> [--many]`: binds a UNIX stream socket at the
//! path, prints `ready` once it listens, accepts one connection and serves
//! it with zbus's peer-to-peer server ([`mon_ipc_zbus_interop::serve`])
//! until the client closes it; then exits 0. Exits 1 (with the reason on
//! stderr) if anything fails, the handshake included.
//!
//! With `--many` it accepts connections until it is killed, each served on
//! a thread of its own (a handshake that fails is reported on stderr and
//! ends that connection only): the live-vector runner makes one connection
//! per case.

use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let (path, many) = match args.as_slice() {
        [path] => (path, false),
        [path, flag] if flag == "--many" => (path, true),
        _ => {
            eprintln!("usage: zbus-server <socket path> [--many]");
            return ExitCode::from(2);
        }
    };
    match run(path, many) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zbus-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &std::ffi::OsStr, many: bool) -> Result<(), Box<dyn std::error::Error>> {
    let listener = UnixListener::bind(path)?;
    let mut out = std::io::stdout();
    writeln!(out, "ready")?;
    out.flush()?;
    if !many {
        let (stream, _) = listener.accept()?;
        return serve(stream);
    }
    loop {
        let (stream, _) = listener.accept()?;
        std::thread::spawn(move || {
            if let Err(e) = serve(stream) {
                eprintln!("zbus-server: {e}");
            }
        });
    }
}

/// Serves one connection until the client closes it.
fn serve(stream: UnixStream) -> Result<(), Box<dyn std::error::Error>> {
    let conn = mon_ipc_zbus_interop::serve(stream)?;
    conn.closed();
    Ok(())
}
