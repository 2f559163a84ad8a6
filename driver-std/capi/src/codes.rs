//! The C API's return codes: 0, positive "call again" codes (and
//! [`MON_DECIDE`], "decide, then call again"), and a
//! fixed table of negative error codes; `mon_ipc_strerror` names them.
//!
//! The numbers are part of the ABI: they are written out here (and in
//! `include/monitor/monitor.h`) one by one, never derived from the order of
//! an enum. Ranges:
//!
//! | range | what |
//! |---|---|
//! | `-1` to `-99` | the C API and the operating system (`invalid_argument`, `io`, ...) |
//! | `-100` to `-199` | the peer's errors of [PROTOCOL.md §5](mon_ipc::spec#5-error-codes) ([`mon_ipc::PeerError`]) |
//! | `-200` to `-299` | usage errors of [PROTOCOL.md §5](mon_ipc::spec#5-error-codes) ([`mon_ipc::UsageError`]) |
//!
//! A code added to the protocol gets the next free number of its range;
//! a number is never reused. The tests check that every code of
//! [`mon_ipc::Error::all`] has a number, that the numbers and names are
//! unique, and that the header defines exactly this table.

use std::ffi::{CStr, c_char, c_int};
use std::panic::catch_unwind;

/// Success.
pub const MON_OK: c_int = 0;
/// More steps are needed: call `*_step` again.
pub const MON_CONTINUE: c_int = 1;
/// The socket would block: call `*_step` again once it is readable.
pub const MON_WANT_READ: c_int = 2;
/// The socket would block: call `*_step` again once it is writable.
pub const MON_WANT_WRITE: c_int = 3;

/// A NULL pointer, a negative or closed fd, an unknown, busy or
/// already-ended state, a state of the other role, or a step on another fd
/// than the one the state was made for.
pub const MON_E_INVALID_ARGUMENT: c_int = -1;
/// A system call failed; `mon_ipc_last_errno()` (and `errno`) say why.
pub const MON_E_IO: c_int = -2;
/// A blocking send or receive found no room / no input until the
/// deadline of `mon_ipc_set_timeout`; its partial frame is kept (call
/// again to resume).
pub const MON_E_TIMEOUT: c_int = -3;
/// `mon_ipc_recv_fd`: the peer closed the connection at a frame boundary.
pub const MON_E_CLOSED: c_int = -4;
/// The fd is not an `AF_UNIX` `SOCK_STREAM` or `SOCK_SEQPACKET` socket.
pub const MON_E_UNSUPPORTED_SOCKET: c_int = -5;
/// More than 253 fds in one `sendmsg`.
pub const MON_E_TOO_MANY_FDS: c_int = -6;
/// The kernel lacks a feature that was asked for.
pub const MON_E_KERNEL_TOO_OLD: c_int = -7;
/// The peer process is gone.
pub const MON_E_PEER_GONE: c_int = -8;
/// Memory could not be allocated (`mon_buffer_append`).
pub const MON_E_NO_MEMORY: c_int = -9;
/// A bug in the library (a caught panic); the state is unusable.
pub const MON_E_INTERNAL: c_int = -10;

/// `mon_ipc_send_fd` / `mon_ipc_send_shm` with another buffer or fd
/// while part of an earlier frame is still unsent on the socket: call
/// again with the same arguments (or `mon_ipc_forget` and close).
pub const MON_E_SEND_PENDING: c_int = -18;

/// `fd_count_mismatch`: also what `mon_ipc_recv_fd` says of a frame with
/// more than one fd.
pub(crate) const FD_COUNT_MISMATCH: c_int = -131;

/// `mon_ipc_auth_server_step` of a state made by
/// `mon_ipc_auth_server_init_decide`: the client is authenticated and its
/// credentials are in `*creds`; call `mon_ipc_auth_server_accept` or
/// `mon_ipc_auth_server_deny`, then step again.
pub const MON_DECIDE: c_int = 4;

/// `no_decision_pending`: `accept` / `deny` while no decision is pending.
pub(crate) const NO_DECISION_PENDING: c_int = -201;

/// One row of the table: number, stable code, header macro suffix.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Code {
    pub(crate) number: c_int,
    pub(crate) name: &'static CStr,
}

const fn c(number: c_int, name: &'static CStr) -> Code {
    Code { number, name }
}

/// Every return code of the C API, with its stable string. Written out by
/// hand: the numbers are ABI.
pub(crate) const TABLE: &[Code] = &[
    c(MON_OK, c"ok"),
    c(MON_CONTINUE, c"continue"),
    c(MON_WANT_READ, c"want_read"),
    c(MON_WANT_WRITE, c"want_write"),
    // The C API and the operating system; the names of the driver's
    // `mon_ipc_std::Error::code` where it has one.
    c(MON_E_INVALID_ARGUMENT, c"invalid_argument"),
    c(MON_E_IO, c"io"),
    c(MON_E_TIMEOUT, c"timeout"),
    c(MON_E_CLOSED, c"closed"),
    c(MON_E_UNSUPPORTED_SOCKET, c"unsupported_socket"),
    c(MON_E_TOO_MANY_FDS, c"too_many_fds"),
    c(MON_E_KERNEL_TOO_OLD, c"kernel_too_old"),
    c(MON_E_PEER_GONE, c"peer_gone"),
    c(MON_E_NO_MEMORY, c"no_memory"),
    c(MON_E_INTERNAL, c"internal"),
    // Shared-memory refusals of the driver (PROTOCOL.md section 4.2).
    c(-11, c"shm_not_memfd"),
    c(-12, c"shm_seals_missing"),
    c(-13, c"shm_size_mismatch"),
    c(-14, c"shm_not_readable"),
    c(-15, c"shm_expected"),
    c(-16, c"shm_out_of_range"),
    c(-17, c"shm_read_only"),
    // The C API's resumable sends.
    c(MON_E_SEND_PENDING, c"send_pending"),
    // Peer errors, PROTOCOL.md section 5.
    c(-100, c"eof_before_hello"),
    c(-101, c"hello_fds"),
    c(-102, c"hello_short"),
    c(-103, c"hello_record_size"),
    c(-104, c"hello_bad_magic"),
    c(-105, c"hello_unsupported_version"),
    c(-106, c"hello_reserved"),
    c(-107, c"hello_limit"),
    c(-108, c"hello_trailing_bytes"),
    c(-109, c"no_credentials"),
    c(-110, c"credentials_mismatch"),
    c(-111, c"denied"),
    c(-112, c"reply_short"),
    c(-113, c"reply_record_size"),
    c(-114, c"reply_bad_magic"),
    c(-115, c"reply_reserved"),
    c(-116, c"reply_bad_status"),
    c(-117, c"reply_bad_version"),
    c(-118, c"reply_limit"),
    c(-119, c"refused_denied"),
    c(-120, c"refused_version"),
    c(-121, c"refused_no_credentials"),
    c(-122, c"refused_malformed"),
    c(-123, c"refused_credentials_mismatch"),
    c(-124, c"control_truncated"),
    c(-125, c"frame_too_large"),
    c(-126, c"frame_too_many_fds"),
    c(-127, c"frame_bad_kind"),
    c(-128, c"frame_reserved"),
    c(-129, c"fds_without_frame"),
    c(-130, c"fds_misplaced"),
    c(FD_COUNT_MISMATCH, c"fd_count_mismatch"),
    c(-132, c"fds_missing"),
    c(-133, c"record_truncated"),
    c(-134, c"record_size"),
    c(-135, c"eof_in_frame"),
    c(-136, c"shm_fd_count"),
    c(-137, c"shm_short"),
    c(-138, c"shm_seals"),
    c(-139, c"shm_too_large"),
    // Usage errors, PROTOCOL.md section 5.
    c(-200, c"unexpected_input"),
    c(-201, c"no_decision_pending"),
    c(-202, c"not_finished"),
    c(-203, c"limit_out_of_range"),
    c(-204, c"send_too_many_fds"),
    c(-205, c"send_too_large"),
    c(-206, c"send_shm_fd_count"),
    c(-207, c"buffer_tampered"),
    c(-208, c"frames_pending"),
    c(-209, c"advance_past_end"),
    // Added later, out of order (the numbers say where they belong).
    c(MON_DECIDE, c"decide"),
];

/// The number of a stable code string, if the table has it.
pub(crate) fn by_name(name: &str) -> Option<c_int> {
    TABLE
        .iter()
        .find(|c| c.name.to_bytes() == name.as_bytes())
        .map(|c| c.number)
}

/// The stable code string of a number; `"unknown"` if it has none.
pub(crate) fn name_of(number: c_int) -> &'static CStr {
    TABLE
        .iter()
        .find(|c| c.number == number)
        .map_or(c"unknown", |c| c.name)
}

/// The number of a driver error (protocol codes included); a code missing
/// from the table (impossible while the tests pass) is `MON_E_INTERNAL`.
pub(crate) fn of_error(e: &mon_ipc_std::Error) -> c_int {
    by_name(e.code()).unwrap_or(MON_E_INTERNAL)
}

/// The stable code string of a return code (`"ok"`, `"continue"`,
/// `"want_read"`, `"want_write"`, `"io"`, `"hello_bad_magic"`, ...), or
/// `"unknown"`. The string is static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn mon_ipc_strerror(code: c_int) -> *const c_char {
    catch_unwind(|| name_of(code))
        .unwrap_or(c"internal")
        .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_protocol_code_has_a_number() {
        for e in mon_ipc::Error::all() {
            let n = by_name(e.code()).unwrap_or_else(|| panic!("no number for {}", e.code()));
            let range = match e {
                mon_ipc::Error::Peer(_) => -199..=-100,
                mon_ipc::Error::Usage(_) => -299..=-200,
            };
            assert!(range.contains(&n), "{} = {n} outside its range", e.code());
            assert_eq!(of_error(&mon_ipc_std::Error::Protocol(e)), n);
        }
    }

    #[test]
    fn every_driver_code_has_a_number() {
        for code in mon_ipc_std::Error::DRIVER_CODES {
            let n = by_name(code).unwrap_or_else(|| panic!("no number for {code}"));
            assert!((-99..=-1).contains(&n), "{code} = {n}");
            assert_ne!(n, MON_E_INTERNAL, "{code}");
        }
    }

    #[test]
    fn numbers_and_names_are_unique() {
        let numbers: HashSet<_> = TABLE.iter().map(|c| c.number).collect();
        let names: HashSet<_> = TABLE.iter().map(|c| c.name).collect();
        assert_eq!(numbers.len(), TABLE.len());
        assert_eq!(names.len(), TABLE.len());
        // Exactly the protocol's codes in the protocol ranges.
        let protocol = TABLE.iter().filter(|c| c.number <= -100).count();
        assert_eq!(protocol, mon_ipc::Error::all().count());
    }

    #[test]
    fn names_round_trip() {
        for c in TABLE {
            assert_eq!(name_of(c.number), c.name);
            assert_eq!(by_name(c.name.to_str().unwrap()), Some(c.number));
        }
        assert_eq!(name_of(-12345), c"unknown");
        assert_eq!(by_name("no_decision_pending"), Some(NO_DECISION_PENDING));
    }

    /// The header defines exactly the table: `MON_E_<CODE>` (or
    /// `MON_<CODE>` for the positive ones) with the same number.
    #[test]
    fn header_matches_table() {
        let header = include_str!("../include/monitor/monitor.h");
        let mut defined = std::collections::HashMap::new();
        for line in header.lines() {
            let mut words = line.split_whitespace();
            if words.next() != Some("#define") {
                continue;
            }
            let (Some(name), Some(value)) = (words.next(), words.next()) else {
                continue;
            };
            if !name.starts_with("MON_") || name.starts_with("MON_IPC_") {
                continue;
            }
            let value: c_int = value.trim_matches(['(', ')']).parse().unwrap();
            assert!(
                defined.insert(name.to_string(), value).is_none(),
                "{name} twice"
            );
        }
        for c in TABLE.iter().filter(|c| c.number != MON_OK) {
            let code = c.name.to_str().unwrap().to_uppercase();
            let name = if c.number > 0 {
                format!("MON_{code}")
            } else {
                format!("MON_E_{code}")
            };
            assert_eq!(defined.remove(&name), Some(c.number), "{name}");
        }
        assert!(defined.is_empty(), "not in the table: {defined:?}");
    }
}
