//! # mon-ipc-zbus-interop: zbus as a peer of mon-ipc's D-Bus profile
//!
//! Not published. [zbus](https://docs.rs/zbus) (Rust) in both roles of a
//! peer-to-peer D-Bus connection (no bus, no `Hello`), so that the tests
//! (`tests/zbus_peer.rs`) and the live-vector runner can put
//! `mon_ipc_std::dbus`'s client and server in front of it:
//!
//! - [`serve`]: zbus's server on an accepted socket, serving [`Probe`] at
//!   [`PATH`]; the program `zbus-server <socket path>` around it.
//! - [`connect`], [`ping`], [`give_fd`]: zbus's client; the program
//!   `zbus-client <address> [--fd]` around them.
//!
//! A crate of its own so that building driver-std's tests does not
//! compile zbus.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;

use zbus::blocking::Connection;
use zbus::blocking::connection::Builder;
use zbus::{Guid, interface};

/// The object path [`Probe`] is served at.
pub const PATH: &str = "/";
/// [`Probe`]'s interface.
pub const INTERFACE: &str = "org.monipc.Interop";
/// What the pipe behind an fd passed by either role holds.
pub const PIPE_CONTENT: &[u8] = b"zbus\n";

/// The object zbus's server serves: what the server saw of its client,
/// and an fd, which zbus sends only if fd passing was agreed.
#[derive(Debug, Default)]
pub struct Probe;

#[interface(name = "org.monipc.Interop")]
impl Probe {
    /// The client's uid and pid as zbus's server reads them from the
    /// socket (`SO_PEERCRED`), and the read end of a pipe holding
    /// [`PIPE_CONTENT`]: signature `(uuh)`. zbus refuses to send a
    /// message with an fd on a connection without fd passing, so a reply
    /// at all says zbus agreed to it.
    async fn whoami(
        &self,
        #[zbus(connection)] conn: &zbus::Connection,
    ) -> zbus::fdo::Result<(u32, u32, zbus::zvariant::OwnedFd)> {
        let creds = conn
            .peer_creds()
            .await
            .map_err(|e| zbus::fdo::Error::IOError(e.to_string()))?;
        let missing = || zbus::fdo::Error::Failed("no peer credentials".into());
        let uid = creds.unix_user_id().ok_or_else(missing)?;
        let pid = creds.process_id().ok_or_else(missing)?;
        let fd = filled_pipe().map_err(|e| zbus::fdo::Error::IOError(e.to_string()))?;
        Ok((uid, pid, fd.into()))
    }
}

/// The read end of a pipe holding [`PIPE_CONTENT`], its write end closed.
pub fn filled_pipe() -> std::io::Result<OwnedFd> {
    let (reader, mut writer) = std::io::pipe()?;
    writer.write_all(PIPE_CONTENT)?;
    Ok(reader.into())
}

/// zbus's peer-to-peer server on an accepted socket: authenticates the
/// client (zbus offers `EXTERNAL` and agrees to fd passing on a UNIX
/// socket) and serves [`Probe`] at [`PATH`] on zbus's own executor
/// thread. zbus's object server also answers `org.freedesktop.DBus.Peer`
/// (`Ping`) and `Introspectable` there.
pub fn serve(stream: UnixStream) -> zbus::Result<Connection> {
    Builder::async_io_unix_stream(stream)
        .server(Guid::generate())?
        .p2p()
        .serve_at(PATH, Probe)?
        .build()
}

/// zbus's peer-to-peer client on a D-Bus address (`unix:path=...`):
/// authenticates (`EXTERNAL`, asking for fd passing) and sends no
/// `Hello`.
pub fn connect(address: &str) -> zbus::Result<Connection> {
    Builder::address(address)?.p2p().build()
}

/// Calls `org.freedesktop.DBus.Peer.Ping` at `/`, which every server
/// answers: ours, dbus-daemon, GDBus, zbus.
pub fn ping(conn: &Connection) -> zbus::Result<()> {
    conn.call_method(
        None::<&str>,
        "/",
        Some("org.freedesktop.DBus.Peer"),
        "Ping",
        &(),
    )?;
    Ok(())
}

/// Calls `Give` of [`INTERFACE`] at [`PATH`] with one fd (signature `h`):
/// the read end of a pipe holding [`PIPE_CONTENT`]. Fails before sending
/// (`zbus::Error::Unsupported`) if fd passing was not agreed.
pub fn give_fd(conn: &Connection) -> zbus::Result<()> {
    let fd = filled_pipe()?;
    conn.call_method(
        None::<&str>,
        PATH,
        Some(INTERFACE),
        "Give",
        &(zbus::zvariant::Fd::from(&fd),),
    )?;
    Ok(())
}
