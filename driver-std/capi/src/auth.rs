//! `mon_ipc_auth_*`: the handshake states behind the manual's `void *state`.
//!
//! A state lives in a registry, keyed by its address, which is what C
//! holds. The library never dereferences a `void *` it is given: it looks it
//! up. So an unknown pointer, a state of the other role, a state used by two
//! threads at once, and a state already ended are each an error code (or a
//! no-op for `*_end`), never a crash.
//!
//! Beyond the manual, for parity with the Rust driver: a client that asks
//! for the server's credentials ([`mon_ipc_auth_client_init_mutual`],
//! `ClientOptions::mutual`), and a server that decides itself whether to
//! accept an authenticated client ([`mon_ipc_auth_server_init_decide`],
//! [`MON_DECIDE`](crate::MON_DECIDE), [`mon_ipc_auth_server_accept`],
//! [`mon_ipc_auth_server_deny`]; `ServerOptions::decide`).

use std::collections::BTreeMap;
use std::ffi::{c_int, c_void};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use mon_ipc::{DEFAULT_MAX_PAYLOAD, Limits};
use mon_ipc_std::{ClientHandshake, ClientOptions, Progress, ServerHandshake, ServerOptions};

use crate::codes::{
    MON_CONTINUE, MON_DECIDE, MON_E_INTERNAL, MON_E_INVALID_ARGUMENT, MON_OK, MON_WANT_READ,
    MON_WANT_WRITE, NO_DECISION_PENDING, of_error,
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

/// What `*_init` asks for, beyond the manual's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ask {
    /// The manual: the client learns nothing of the server, the server
    /// accepts every authenticated client.
    Default,
    /// Client: mutual authentication, the server's credentials written to
    /// `creds`. Server: pause with `MON_DECIDE` for the caller's decision.
    More,
}

#[derive(Debug)]
enum Phase {
    /// The handshake and where the server's credentials go (mutual
    /// authentication; 0 if not asked for).
    Client(Box<ClientHandshake<CFd>>, usize),
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
    /// Server: `MON_DECIDE` is returned (`mon_ipc_auth_server_init_decide`).
    decide: bool,
    /// On a blocking socket the step waits (with `poll`) at most until
    /// then: the socket's `mon_ipc_set_timeout` at init, else
    /// `DEFAULT_TIMEOUT` (10 s), counted from init. A non-blocking socket
    /// never waits: its caller's poll loop runs the clock.
    deadline: Option<Instant>,
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
/// `creds` is where the peer's credentials go: required for the server and
/// the mutual client, NULL for the manual's client.
pub(crate) fn init(
    role: Role,
    ask: Ask,
    fd: c_int,
    creds: *mut MonIpcCreds,
    out: *mut *mut c_void,
) -> c_int {
    if out.is_null() {
        set_errno(libc::EINVAL);
        return MON_E_INVALID_ARGUMENT;
    }
    // SAFETY: `out` is not NULL, and the caller passes a `void **` valid
    // for one write (the manual's contract).
    unsafe { out.write(std::ptr::null_mut()) };
    let wants_creds = role == Role::Server || ask == Ask::More;
    if wants_creds && creds.is_null() {
        set_errno(libc::EINVAL);
        return MON_E_INVALID_ARGUMENT;
    }
    let fd = match CFd::check(fd) {
        Ok(fd) => fd,
        Err(code) => return code,
    };
    let phase = match role {
        Role::Client => {
            let opts = ClientOptions::default()
                .limits(limits())
                .timeout(None)
                .mutual(ask == Ask::More);
            ClientHandshake::new(fd, &opts)
                .map(|hs| Phase::Client(Box::new(hs), creds.expose_provenance()))
        }
        Role::Server => {
            let opts = ServerOptions::default()
                .limits(limits())
                .timeout(None)
                .decide(ask == Ask::More);
            ServerHandshake::new(fd, &opts)
                .map(|hs| Phase::Server(Box::new(hs), creds.expose_provenance()))
        }
    };
    let phase = match phase {
        Ok(p) => p,
        Err(e) => return fail(&e).0,
    };
    let decide = role == Role::Server && ask == Ask::More;
    let timeout = crate::channels::timeout_of(fd).unwrap_or(mon_ipc_std::DEFAULT_TIMEOUT);
    let state = Box::new(State {
        role,
        fd,
        decide,
        deadline: Instant::now().checked_add(timeout),
        phase,
    });
    let key = std::ptr::from_ref::<State>(&state).expose_provenance();
    states().insert(key, state);
    // SAFETY: as above.
    unsafe { out.write(std::ptr::with_exposed_provenance_mut(key)) };
    MON_CONTINUE
}

/// Runs `f` on the state `handle` of `role` for `fd`, taken out of the
/// registry meanwhile (so a second thread gets `MON_E_INVALID_ARGUMENT`).
fn with_state(
    role: Role,
    fd: c_int,
    handle: *mut c_void,
    f: impl FnOnce(&mut State) -> c_int,
) -> c_int {
    let key = handle.expose_provenance();
    let Some(mut state) = states().remove(&key) else {
        set_errno(libc::EINVAL);
        return MON_E_INVALID_ARGUMENT;
    };
    let r = match state.check(role, fd) {
        Ok(()) => f(&mut state),
        Err(code) => code,
    };
    states().insert(key, state);
    r
}

/// `*_step`.
pub(crate) fn step(role: Role, fd: c_int, handle: *mut c_void) -> c_int {
    with_state(role, fd, handle, State::step)
}

/// What the server's caller decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Accept,
    Deny,
}

/// `mon_ipc_auth_server_accept` / `_deny`.
pub(crate) fn decide(fd: c_int, handle: *mut c_void, decision: Decision) -> c_int {
    with_state(Role::Server, fd, handle, |s| s.decide(decision))
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
        Progress::Continue => MON_CONTINUE,
        Progress::Decide => MON_DECIDE,
        Progress::WantRead => MON_WANT_READ,
        Progress::WantWrite => MON_WANT_WRITE,
        Progress::Done => MON_OK,
    }
}

/// The C view of a peer's credentials, with the manual's sentinels.
fn creds_of(peer: &mon_ipc::Credentials<std::os::fd::OwnedFd>) -> MonIpcCreds {
    MonIpcCreds {
        pid: peer
            .pid()
            .and_then(|p| libc::pid_t::try_from(p.get()).ok())
            .unwrap_or(crate::MON_IPC_PID_UNKNOWN),
        uid: peer.uid().unwrap_or(crate::MON_IPC_UID_UNKNOWN),
        gid: peer.gid().unwrap_or(crate::MON_IPC_GID_UNKNOWN),
    }
}

/// Writes `c` to the caller's `mon_ipc_creds` at the exposed address
/// `addr` (non-zero: checked non-NULL at init).
fn write_creds(addr: usize, c: MonIpcCreds) {
    let creds: *mut MonIpcCreds = std::ptr::with_exposed_provenance_mut(addr);
    // SAFETY: `addr` is the address of the `mon_ipc_creds` given to
    // `*_init`, checked non-NULL there, and the documented contract is that
    // it points to a `mon_ipc_creds` that stays valid until the
    // authentication ends. `write` needs no initialized value there.
    unsafe { creds.write(c) };
}

impl State {
    /// The role and fd a call names are this state's, and the fd is open.
    fn check(&self, role: Role, fd: c_int) -> Result<(), c_int> {
        if role != self.role || fd != self.fd.raw() {
            set_errno(libc::EINVAL);
            return Err(MON_E_INVALID_ARGUMENT);
        }
        CFd::check(fd).map(drop)
    }

    fn step(&mut self) -> c_int {
        let decide = self.decide;
        // A blocking socket: the manual's step may block, but not for ever.
        let blocking = match crate::sys::is_nonblocking(self.fd.raw()) {
            Ok(nonblocking) => !nonblocking,
            Err(code) => return code,
        };
        let deadline = self.deadline;
        let r = match &mut self.phase {
            Phase::Done => return MON_OK,
            Phase::Failed(code, errno) => {
                set_errno(*errno);
                return *code;
            }
            Phase::Client(hs, _) if blocking => hs.step_until(deadline),
            Phase::Client(hs, _) => hs.step(),
            Phase::Server(hs, creds) => match if blocking {
                hs.step_until(deadline)
            } else {
                hs.step()
            } {
                // `mon_ipc_auth_server_init_decide`: the caller decides on
                // the credentials, which it finds in its `creds` already.
                Ok(Progress::Decide) if decide => match hs.peer() {
                    Some(peer) => {
                        write_creds(*creds, creds_of(peer));
                        Ok(Progress::Decide)
                    }
                    // The driver always has them while deciding.
                    None => return self.internal(),
                },
                // Not asked for (`ServerOptions::decide` is off), but if it
                // comes: the manual's server accepts.
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

    /// `accept` / `deny`: while a decision is pending, hands it to the
    /// driver (the next steps send the reply or the refusal). At any other
    /// time a misuse that fails the handshake with `no_decision_pending`,
    /// sticky, as in the driver; a handshake failed already keeps its error.
    fn decide(&mut self, decision: Decision) -> c_int {
        let r = match &mut self.phase {
            Phase::Server(hs, _) => match decision {
                Decision::Accept => hs.accept(),
                Decision::Deny => hs.deny(),
            },
            Phase::Failed(code, errno) => {
                set_errno(*errno);
                return *code;
            }
            Phase::Done | Phase::Client(..) => {
                self.phase = Phase::Failed(NO_DECISION_PENDING, 0);
                return NO_DECISION_PENDING;
            }
        };
        match r {
            Ok(()) => MON_OK,
            Err(e) => self.failed(&e),
        }
    }

    fn internal(&mut self) -> c_int {
        self.phase = Phase::Failed(MON_E_INTERNAL, 0);
        MON_E_INTERNAL
    }

    fn failed(&mut self, e: &mon_ipc_std::Error) -> c_int {
        let (code, errno) = fail(e);
        self.phase = Phase::Failed(code, errno);
        code
    }

    /// After `Progress::Done`: the server (and the mutual client) writes
    /// the peer's credentials; the client keeps its channel, which may hold
    /// the first frames already.
    fn finish(&mut self) -> c_int {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Client(hs, creds) => match hs.finish() {
                Ok(conn) => {
                    match (creds, &conn.peer) {
                        (0, _) => {}
                        (creds, Some(peer)) => write_creds(creds, creds_of(peer)),
                        // Mutual authentication always gives them.
                        (_, None) => return self.internal(),
                    }
                    match channels::register(self.fd, conn.channel) {
                        Ok(()) => MON_OK,
                        Err(code) => {
                            self.phase = Phase::Failed(code, crate::fd::last_errno());
                            code
                        }
                    }
                }
                Err(e) => self.failed(&e),
            },
            Phase::Server(hs, creds) => match hs.finish() {
                Ok(conn) => {
                    write_creds(creds, creds_of(&conn.peer));
                    // The plain receive checks frames against these,
                    // not its own (a client may have advertised less).
                    match channels::negotiated(self.fd, conn.channel.limits()) {
                        Ok(()) => MON_OK,
                        Err(code) => {
                            self.phase = Phase::Failed(code, crate::fd::last_errno());
                            code
                        }
                    }
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
    guard(|| init(Role::Client, Ask::Default, fd, std::ptr::null_mut(), state))
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
    guard(|| init(Role::Server, Ask::Default, fd, creds, state))
}

/// Performs the next step of the server's authentication; the returns are
/// those of [`mon_ipc_auth_client_step`], and for a state of
/// [`mon_ipc_auth_server_init_decide`] also [`MON_DECIDE`](crate::MON_DECIDE).
/// On 0 the `creds` given to `init` hold the client's credentials.
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

/// Starts the client side of a mutual authentication on the connected
/// socket `fd`: as [`mon_ipc_auth_client_init`], and the client also asks
/// for the server's credentials, which the kernel attaches to the reply
/// (`SO_PASSCRED` is turned on on `fd` before the hello goes out). They
/// are checked as the server checks the client's (a reply without them, or
/// with ids that contradict the socket's, fails the step). When
/// [`mon_ipc_auth_client_step`] returns 0, `*server_creds` holds the
/// server's pid, effective uid and effective gid: the caller judges them
/// (and closes the socket if it does not trust them).
///
/// Returns [`MON_CONTINUE`] with `*state` set, or a negative error code
/// with `*state` NULL (`MON_E_INVALID_ARGUMENT` for a NULL
/// `server_creds`).
///
/// # Safety
///
/// `state` is NULL or valid for writing one pointer; `server_creds` is
/// NULL or valid for writing one `mon_ipc_creds` until the authentication
/// ends; `fd` stays open until [`mon_ipc_auth_client_end`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_client_init_mutual(
    fd: c_int,
    server_creds: *mut mon_ipc_creds,
    state: *mut *mut c_void,
) -> c_int {
    guard(|| init(Role::Client, Ask::More, fd, server_creds, state))
}

/// Starts the server side of the authentication as
/// [`mon_ipc_auth_server_init`], except that the server decides itself
/// whether to accept the client: once the client is authenticated,
/// [`mon_ipc_auth_server_step`] returns [`MON_DECIDE`](crate::MON_DECIDE)
/// with `*creds` filled; the caller then calls
/// [`mon_ipc_auth_server_accept`] or [`mon_ipc_auth_server_deny`] and goes
/// on stepping. Accepted: the steps end with 0 (and `*creds` again).
/// Denied: the steps send the refusal (the client's step fails with
/// `MON_E_REFUSED_DENIED`) and then fail with `MON_E_DENIED`. A step
/// before the decision returns `MON_DECIDE` again.
///
/// # Safety
///
/// As [`mon_ipc_auth_server_init`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_server_init_decide(
    fd: c_int,
    creds: *mut mon_ipc_creds,
    state: *mut *mut c_void,
) -> c_int {
    guard(|| init(Role::Server, Ask::More, fd, creds, state))
}

/// Accepts the client after [`mon_ipc_auth_server_step`] returned
/// [`MON_DECIDE`](crate::MON_DECIDE): 0, then step on (the next steps send
/// the reply). Before sending it, the server looks once more (without
/// blocking) for input the client may have sent while it waited: such a
/// client is refused after all
/// ([PROTOCOL.md §3.3](mon_ipc::spec#33-the-server)), and the steps fail.
///
/// With no decision pending (a state of `mon_ipc_auth_server_init`, or
/// before `MON_DECIDE`, or after the decision): `MON_E_NO_DECISION_PENDING`,
/// and the handshake fails with it (sticky, as every error); on a
/// handshake that failed already, its error. `MON_E_INVALID_ARGUMENT` as
/// for a step (unknown or client state, another fd).
///
/// # Safety
///
/// None: `state` is looked up, never dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_server_accept(fd: c_int, state: *mut c_void) -> c_int {
    guard(|| decide(fd, state, Decision::Accept))
}

/// Denies the client after [`mon_ipc_auth_server_step`] returned
/// [`MON_DECIDE`](crate::MON_DECIDE): 0, then step on; the next steps send
/// the refusal (status "denied": the client's step fails with
/// `MON_E_REFUSED_DENIED`) and then fail with `MON_E_DENIED`. With no
/// decision pending, as [`mon_ipc_auth_server_accept`].
///
/// # Safety
///
/// None: `state` is looked up, never dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mon_ipc_auth_server_deny(fd: c_int, state: *mut c_void) -> c_int {
    guard(|| decide(fd, state, Decision::Deny))
}

#[cfg(test)]
mod tests {
    use mon_ipc::{CredentialSource, Credentials, PID_UNKNOWN, Ucred};

    use super::*;

    /// Where the system cannot tell the peer's pid (macOS when
    /// `LOCAL_PEERPID` fails, FreeBSD before 13), the C caller sees
    /// `MON_IPC_PID_UNKNOWN` beside the known ids.
    #[test]
    fn an_unknown_pid_is_the_manuals_sentinel() {
        let peer = Credentials::<std::os::fd::OwnedFd> {
            ucred: Ucred::from_raw(PID_UNKNOWN, 501, 20),
            source: CredentialSource::Socket,
            groups: None,
            pidfd: None,
        };
        let c = creds_of(&peer);
        assert_eq!(c.pid, crate::MON_IPC_PID_UNKNOWN);
        assert_eq!((c.uid, c.gid), (501, 20));
    }
}
