//! `mon_ipc_auth_*`: the handshake states behind the manual's `void *state`.
//!
//! A state lives in a registry, keyed by its address, which is what C
//! holds. The library never dereferences a `void *` it is given: it looks it
//! up. So an unknown pointer, a state of the other role, a state used by two
//! threads at once, and a state already ended are each an error code (or a
//! no-op for `*_end`), never a crash.

use std::collections::BTreeMap;
use std::ffi::{c_int, c_void};
use std::sync::{Mutex, MutexGuard};

use mon_ipc::{DEFAULT_MAX_PAYLOAD, Limits};
use mon_ipc_std::{ClientHandshake, ClientOptions, Progress, ServerHandshake, ServerOptions};

use crate::codes::{
    MON_CONTINUE, MON_E_INTERNAL, MON_E_INVALID_ARGUMENT, MON_OK, MON_WANT_READ, MON_WANT_WRITE,
    of_error,
};
use crate::fd::{CFd, set_errno};
use crate::guard::{guard, guard_void};
use crate::{MonIpcCreds, channels, mon_ipc_creds};

/// Which side a state belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Client,
    Server,
}

#[derive(Debug)]
enum Phase {
    Client(Box<ClientHandshake<CFd>>),
    /// The handshake and where the credentials go (an exposed address: a
    /// raw pointer would make the registry `!Send`).
    Server(Box<ServerHandshake<CFd>>, usize),
    Done,
    /// Sticky: the code, and its errno for `MON_E_IO`.
    Failed(c_int, c_int),
}

#[derive(Debug)]
pub(crate) struct State {
    role: Role,
    fd: CFd,
    phase: Phase,
}

/// Live states by address. A state being stepped is taken out, so a
/// second thread using it at the same time gets `MON_E_INVALID_ARGUMENT`.
static STATES: Mutex<BTreeMap<usize, Box<State>>> = Mutex::new(BTreeMap::new());

fn states() -> MutexGuard<'static, BTreeMap<usize, Box<State>>> {
    // A panic while the lock is held cannot leave the map half-updated
    // (every operation on it is one call), so poisoning is ignored.
    STATES.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the C API offers and accepts per frame: `send_fd` / `recv_fd` carry
/// 0 or 1 fd, so advertising more would be a lie.
fn limits() -> Limits {
    Limits::new(1, DEFAULT_MAX_PAYLOAD).unwrap_or_default()
}

/// `*_init`: a new state in the registry, its handle written to `*out`.
pub(crate) fn init(role: Role, fd: c_int, creds: *mut MonIpcCreds, out: *mut *mut c_void) -> c_int {
    if out.is_null() {
        set_errno(libc::EINVAL);
        return MON_E_INVALID_ARGUMENT;
    }
    // SAFETY: `out` is not NULL, and the caller passes a `void **` valid
    // for one write (the manual's contract).
    unsafe { out.write(std::ptr::null_mut()) };
    if role == Role::Server && creds.is_null() {
        set_errno(libc::EINVAL);
        return MON_E_INVALID_ARGUMENT;
    }
    let fd = match CFd::check(fd) {
        Ok(fd) => fd,
        Err(code) => return code,
    };
    let phase = match role {
        Role::Client => {
            let opts = ClientOptions::default().limits(limits()).timeout(None);
            ClientHandshake::new(fd, &opts).map(|hs| Phase::Client(Box::new(hs)))
        }
        Role::Server => {
            let opts = ServerOptions::default().limits(limits()).timeout(None);
            ServerHandshake::new(fd, &opts)
                .map(|hs| Phase::Server(Box::new(hs), creds.expose_provenance()))
        }
    };
    let phase = match phase {
        Ok(p) => p,
        Err(e) => return fail(&e).0,
    };
    let state = Box::new(State { role, fd, phase });
    let key = std::ptr::from_ref::<State>(&state).expose_provenance();
    states().insert(key, state);
    // SAFETY: as above.
    unsafe { out.write(std::ptr::with_exposed_provenance_mut(key)) };
    MON_CONTINUE
}

/// `*_step`.
pub(crate) fn step(role: Role, fd: c_int, handle: *mut c_void) -> c_int {
    let key = handle.expose_provenance();
    let Some(mut state) = states().remove(&key) else {
        set_errno(libc::EINVAL);
        return MON_E_INVALID_ARGUMENT;
    };
    let r = state.step(role, fd);
    states().insert(key, state);
    r
}

/// `*_end`: frees a state of this role; anything else is ignored (with
/// `errno` `EINVAL` for `mon_ipc_last_errno`).
pub(crate) fn end(role: Role, handle: *mut c_void) {
    if handle.is_null() {
        return;
    }
    let key = handle.expose_provenance();
    let mut map = states();
    match map.get(&key) {
        Some(s) if s.role == role => {
            let state = map.remove(&key);
            drop(map);
            drop(state);
        }
        _ => set_errno(libc::EINVAL),
    }
}

/// The code of a driver error, with its errno recorded.
fn fail(e: &mon_ipc_std::Error) -> (c_int, c_int) {
    let errno = match e {
        mon_ipc_std::Error::Io { errno, .. } => *errno,
        _ => 0,
    };
    set_errno(errno);
    (of_error(e), errno)
}

fn progress(p: Progress) -> c_int {
    match p {
        Progress::Continue | Progress::Decide => MON_CONTINUE,
        Progress::WantRead => MON_WANT_READ,
        Progress::WantWrite => MON_WANT_WRITE,
        Progress::Done => MON_OK,
    }
}

impl State {
    fn step(&mut self, role: Role, fd: c_int) -> c_int {
        if role != self.role || fd != self.fd.raw() {
            set_errno(libc::EINVAL);
            return MON_E_INVALID_ARGUMENT;
        }
        if let Err(code) = CFd::check(fd) {
            return code;
        }
        let r = match &mut self.phase {
            Phase::Done => return MON_OK,
            Phase::Failed(code, errno) => {
                set_errno(*errno);
                return *code;
            }
            Phase::Client(hs) => hs.step(),
            Phase::Server(hs, _) => match hs.step() {
                // Not asked for (`ServerOptions::decide` is off), but if it
                // comes: the C API has no authorization hook, it accepts.
                Ok(Progress::Decide) => hs.accept().map(|()| Progress::Continue),
                other => other,
            },
        };
        match r {
            Ok(Progress::Done) => self.finish(),
            Ok(p) => progress(p),
            Err(e) => self.failed(&e),
        }
    }

    fn failed(&mut self, e: &mon_ipc_std::Error) -> c_int {
        let (code, errno) = fail(e);
        self.phase = Phase::Failed(code, errno);
        code
    }

    /// After `Progress::Done`: the server writes the credentials; the
    /// client keeps its channel, which may hold the first frames already.
    fn finish(&mut self) -> c_int {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Client(hs) => match hs.finish() {
                Ok(conn) => match channels::register(self.fd, conn.channel) {
                    Ok(()) => MON_OK,
                    Err(code) => {
                        self.phase = Phase::Failed(code, crate::fd::last_errno());
                        code
                    }
                },
                Err(e) => self.failed(&e),
            },
            Phase::Server(hs, creds) => match hs.finish() {
                Ok(conn) => {
                    let Some(peer) = conn.peer else {
                        // The server always has the peer's credentials.
                        self.phase = Phase::Failed(MON_E_INTERNAL, 0);
                        return MON_E_INTERNAL;
                    };
                    let c = MonIpcCreds {
                        pid: peer
                            .pid()
                            .and_then(|p| libc::pid_t::try_from(p.get()).ok())
                            .unwrap_or(0),
                        uid: peer.uid().unwrap_or(libc::uid_t::MAX),
                        gid: peer.gid().unwrap_or(libc::gid_t::MAX),
                    };
                    let creds: *mut MonIpcCreds = std::ptr::with_exposed_provenance_mut(creds);
                    // SAFETY: `creds` was checked non-NULL at init, and the
                    // manual's contract is that it points to a
                    // `mon_ipc_creds` that stays valid until the
                    // authentication succeeds. `write` needs no initialized
                    // value there.
                    unsafe { creds.write(c) };
                    MON_OK
                }
                Err(e) => self.failed(&e),
            },
            other => {
                self.phase = other;
                MON_E_INTERNAL
            }
        }
    }
}

/// Starts the client side of the authentication on the connected socket
/// `fd`. Returns [`MON_CONTINUE`] with `*state` set (call
/// [`mon_ipc_auth_client_step`]), or a negative error code with `*state`
/// NULL.
///
/// # Safety
///
/// `state` is NULL or valid for writing one pointer; `fd` stays open until
/// [`mon_ipc_auth_client_end`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_client_init(fd: c_int, state: *mut *mut c_void) -> c_int {
    guard(|| init(Role::Client, fd, std::ptr::null_mut(), state))
}

/// Performs the next step of the client's authentication: 0 when
/// authenticated, [`MON_CONTINUE`] to call again, [`MON_WANT_READ`] /
/// [`MON_WANT_WRITE`] to call again once the non-blocking `fd` is
/// readable / writable, or a negative error code (sticky: every later step
/// returns it again).
///
/// # Safety
///
/// None beyond the C API's contract: `state` is looked up, never
/// dereferenced, so any value gives at worst `MON_E_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_client_step(fd: c_int, state: *mut c_void) -> c_int {
    guard(|| step(Role::Client, fd, state))
}

/// Frees a client state. NULL, an unknown or already-freed state, and a
/// server state are ignored.
///
/// # Safety
///
/// None: `state` is looked up, never dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_client_end(state: *mut c_void) {
    guard_void(|| end(Role::Client, state))
}

/// Starts the server side of the authentication on the accepted socket (or
/// socketpair end) `fd`; on success `*creds` will hold the client's
/// credentials. Returns [`MON_CONTINUE`] with `*state` set, or a negative
/// error code with `*state` NULL.
///
/// # Safety
///
/// `state` is NULL or valid for writing one pointer; `creds` is NULL or
/// valid for writing one `mon_ipc_creds` until the authentication ends;
/// `fd` stays open until [`mon_ipc_auth_server_end`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_server_init(
    fd: c_int,
    creds: *mut mon_ipc_creds,
    state: *mut *mut c_void,
) -> c_int {
    guard(|| init(Role::Server, fd, creds, state))
}

/// Performs the next step of the server's authentication; the returns are
/// those of [`mon_ipc_auth_client_step`]. On 0 the `creds` given to
/// [`mon_ipc_auth_server_init`] hold the client's credentials.
///
/// # Safety
///
/// The `creds` pointer given to `init` is still valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_server_step(fd: c_int, state: *mut c_void) -> c_int {
    guard(|| step(Role::Server, fd, state))
}

/// Frees a server state. NULL, an unknown or already-freed state, and a
/// client state are ignored.
///
/// # Safety
///
/// None: `state` is looked up, never dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_server_end(state: *mut c_void) {
    guard_void(|| end(Role::Server, state))
}
