//! The blocking handshake: the step-wise one, driven with `poll` and a
//! deadline.
//!
//! Every read and write of the handshake uses `MSG_DONTWAIT`, so that a
//! blocking socket never blocks inside a system call: the wait is always
//! `poll` with the time that is left, and the timeout is exact. A timeout
//! closes without a reply (the socket is dropped with the handshake).

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use mon_ipc::Credentials;

use crate::connection::{ClientConnection, ServerConnection};
use crate::error::Result;
use crate::handshake::{Authenticating, ClientHandshake, Progress, ServerHandshake, Side};
use crate::options::{ClientOptions, ServerOptions};

/// Authenticates as a client on a connected socket, waiting at most
/// `opts.timeout`.
///
/// ```no_run
/// use mon_ipc_std::{ClientOptions, SocketKind};
/// let sock = mon_ipc_std::connect("/run/monitor.sock", SocketKind::Stream)?;
/// let mut conn = mon_ipc_std::client(sock, &ClientOptions::default())?;
/// conn.channel.send(b"hello", [])?;
/// # Ok::<(), mon_ipc_std::Error>(())
/// ```
pub fn client<S: AsFd>(sock: S, opts: &ClientOptions) -> Result<ClientConnection<S>> {
    let hs = ClientHandshake::new(sock, opts)?;
    drive(hs, opts.timeout, |_| Ok(()))
}

/// Authenticates a client on an accepted socket (from a [`Listener`] or
/// the server end of a [`socketpair`]) and accepts it.
///
/// [`Listener`]: crate::Listener
/// [`socketpair`]: crate::socketpair()
pub fn server<S: AsFd>(sock: S, opts: &ServerOptions) -> Result<ServerConnection<S>> {
    server_with(sock, opts, |_| true)
}

/// Like [`server`], but `authorize` decides whether an authenticated
/// client is accepted (status 0) or denied (status 1, then `denied`).
pub fn server_with<S: AsFd>(
    sock: S,
    opts: &ServerOptions,
    authorize: impl FnOnce(&Credentials<OwnedFd>) -> bool,
) -> Result<ServerConnection<S>> {
    let hs = ServerHandshake::new(sock, &opts.decide(true))?;
    let mut authorize = Some(authorize);
    drive(hs, opts.timeout, |hs| {
        let ok = match (hs.peer(), authorize.take()) {
            (Some(peer), Some(f)) => f(peer),
            _ => false,
        };
        if ok { hs.accept() } else { hs.deny() }
    })
}

/// Runs a handshake of any profile to its end: `decide` on
/// [`Progress::Decide`].
pub(crate) fn drive<H: Side, S: AsFd>(
    mut hs: Authenticating<H, S>,
    timeout: Option<Duration>,
    mut decide: impl FnMut(&mut Authenticating<H, S>) -> Result<()>,
) -> Result<H::Finished<S>> {
    // A timeout too long for an `Instant` waits forever (no overflow panic).
    let deadline = crate::manual::deadline(timeout);
    loop {
        match hs.step_until(deadline)? {
            Progress::Decide => decide(&mut hs)?,
            Progress::Done => return hs.finish(),
            _ => {}
        }
    }
}
