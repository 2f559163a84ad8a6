//! Every error code's `Display`: a sentence for people, then the stable
//! code in parentheses. The table is the expected text, written out, so
//! that a changed sentence shows up here as a deliberate edit.

use mon_ipc::dbus::DbusError;
use mon_ipc::{Error, PeerError, UsageError};

/// `(code, Display)` for every code of [`Error`] and [`DbusError`].
const DISPLAY: &[(&str, &str)] = &[
    (
        "eof_before_hello",
        "the connection closed before the hello (eof_before_hello)",
    ),
    (
        "hello_fds",
        "the hello came with file descriptors (hello_fds)",
    ),
    (
        "hello_short",
        "the connection closed inside the hello (hello_short)",
    ),
    (
        "hello_record_size",
        "the hello's record is not 16 bytes (hello_record_size)",
    ),
    (
        "hello_bad_magic",
        "hello has a bad magic number (hello_bad_magic)",
    ),
    (
        "hello_unsupported_version",
        "hello offers no version this server speaks (hello_unsupported_version)",
    ),
    (
        "hello_reserved",
        "hello has reserved bits set (hello_reserved)",
    ),
    (
        "hello_limit",
        "hello offers more than 253 fds per frame (hello_limit)",
    ),
    (
        "hello_trailing_bytes",
        "bytes followed the hello before the reply (hello_trailing_bytes)",
    ),
    (
        "no_credentials",
        "the peer's credentials are missing or incomplete (no_credentials)",
    ),
    (
        "credentials_mismatch",
        "the socket's and the message's credentials differ (credentials_mismatch)",
    ),
    ("denied", "the server's caller denied the client (denied)"),
    (
        "reply_short",
        "the connection closed before the whole reply (reply_short)",
    ),
    (
        "reply_record_size",
        "the reply's record is not 16 bytes (reply_record_size)",
    ),
    (
        "reply_bad_magic",
        "reply has a bad magic number (reply_bad_magic)",
    ),
    (
        "reply_reserved",
        "reply has its reserved field set (reply_reserved)",
    ),
    (
        "reply_bad_status",
        "reply has an unknown status (reply_bad_status)",
    ),
    (
        "reply_bad_version",
        "reply accepts a version the client does not speak (reply_bad_version)",
    ),
    (
        "reply_limit",
        "reply offers more than 253 fds per frame (reply_limit)",
    ),
    ("refused_denied", "the server denied us (refused_denied)"),
    (
        "refused_version",
        "the server speaks none of our versions (refused_version)",
    ),
    (
        "refused_no_credentials",
        "the server saw no credentials of ours (refused_no_credentials)",
    ),
    (
        "refused_malformed",
        "the server found our hello malformed (refused_malformed)",
    ),
    (
        "refused_credentials_mismatch",
        "the server found our credentials inconsistent (refused_credentials_mismatch)",
    ),
    (
        "control_truncated",
        "control data was truncated: file descriptors were lost (control_truncated)",
    ),
    (
        "frame_too_large",
        "a frame's payload is above the negotiated maximum (frame_too_large)",
    ),
    (
        "frame_too_many_fds",
        "a frame announces more fds than negotiated (frame_too_many_fds)",
    ),
    (
        "frame_bad_kind",
        "a frame has an unknown kind (frame_bad_kind)",
    ),
    (
        "frame_reserved",
        "a frame header has its reserved field set (frame_reserved)",
    ),
    (
        "fds_without_frame",
        "file descriptors arrived in a read where no frame begins (fds_without_frame)",
    ),
    (
        "fds_misplaced",
        "a frame announcing fds is not the last to begin in its read (fds_misplaced)",
    ),
    (
        "fd_count_mismatch",
        "a frame brought fewer fds than it announced (fd_count_mismatch)",
    ),
    (
        "fds_missing",
        "a frame announcing fds began in a read without fds (fds_missing)",
    ),
    (
        "record_truncated",
        "a record was longer than the receive buffer (record_truncated)",
    ),
    (
        "record_size",
        "a record's size does not match its frame header (record_size)",
    ),
    (
        "eof_in_frame",
        "the connection closed inside a frame (eof_in_frame)",
    ),
    (
        "shm_fd_count",
        "a shared-memory frame does not carry exactly one fd (shm_fd_count)",
    ),
    (
        "shm_short",
        "a shared-memory frame is shorter than its header (shm_short)",
    ),
    (
        "shm_seals",
        "a shared-memory frame announces too few seals (shm_seals)",
    ),
    (
        "shm_too_large",
        "a shared-memory region is larger than the receiver accepts (shm_too_large)",
    ),
    (
        "unexpected_input",
        "input was given while the state machine was not reading (unexpected_input)",
    ),
    (
        "no_decision_pending",
        "accept or deny was called with no decision pending (no_decision_pending)",
    ),
    (
        "not_finished",
        "finish was called before the handshake was done (not_finished)",
    ),
    (
        "limit_out_of_range",
        "a configured limit is out of range (limit_out_of_range)",
    ),
    (
        "send_too_many_fds",
        "a frame to send has more fds than the peer accepts (send_too_many_fds)",
    ),
    (
        "send_too_large",
        "a frame to send is larger than the peer accepts (send_too_large)",
    ),
    (
        "send_shm_fd_count",
        "a shared-memory frame to send does not have exactly one fd (send_shm_fd_count)",
    ),
    (
        "buffer_tampered",
        "the decoder's buffer was changed behind its back (buffer_tampered)",
    ),
    (
        "frames_pending",
        "a read was started with complete frames still buffered (frames_pending)",
    ),
    (
        "advance_past_end",
        "advance was told of more bytes than were offered (advance_past_end)",
    ),
    (
        "dbus_eof",
        "the connection closed during the D-Bus authentication (dbus_eof)",
    ),
    (
        "dbus_line_too_long",
        "a D-Bus authentication line is too long (dbus_line_too_long)",
    ),
    (
        "dbus_bad_line",
        "a D-Bus authentication line has a byte that is not printable ASCII (dbus_bad_line)",
    ),
    (
        "dbus_fds",
        "file descriptors arrived during the D-Bus authentication (dbus_fds)",
    ),
    (
        "dbus_control_truncated",
        "control data was truncated during the D-Bus authentication (dbus_control_truncated)",
    ),
    (
        "dbus_nul_byte",
        "the D-Bus client's first byte is not NUL (dbus_nul_byte)",
    ),
    (
        "dbus_no_credentials",
        "D-Bus EXTERNAL without usable kernel credentials (dbus_no_credentials)",
    ),
    (
        "dbus_credentials_mismatch",
        "D-Bus EXTERNAL with socket and message credentials that differ (dbus_credentials_mismatch)",
    ),
    (
        "dbus_uid_mismatch",
        "D-Bus EXTERNAL claims a uid that is not the kernel's (dbus_uid_mismatch)",
    ),
    (
        "dbus_bad_response",
        "the D-Bus EXTERNAL response is not hex-encoded digits (dbus_bad_response)",
    ),
    (
        "dbus_mechanism_rejected",
        "D-Bus AUTH names no mechanism or one not offered (dbus_mechanism_rejected)",
    ),
    (
        "dbus_too_many_failures",
        "too many failed D-Bus authentication attempts (dbus_too_many_failures)",
    ),
    (
        "dbus_begin_unauthenticated",
        "D-Bus BEGIN before OK (dbus_begin_unauthenticated)",
    ),
    (
        "dbus_rejected",
        "the D-Bus server rejected us (dbus_rejected)",
    ),
    (
        "dbus_bad_guid",
        "the D-Bus server's OK has no valid guid (dbus_bad_guid)",
    ),
    (
        "dbus_unexpected_reply",
        "an unexpected D-Bus authentication reply (dbus_unexpected_reply)",
    ),
    (
        "dbus_unix_fd_refused",
        "the D-Bus server refused fd passing (dbus_unix_fd_refused)",
    ),
];

/// Every code the core can produce, with its `Display` and description.
fn every_code() -> Vec<(&'static str, String, &'static str)> {
    let mut all = Vec::new();
    for e in PeerError::ALL {
        all.push((e.code(), e.to_string(), e.description()));
        assert_eq!(Error::Peer(*e).to_string(), e.to_string());
    }
    for e in UsageError::ALL {
        all.push((e.code(), e.to_string(), e.description()));
        assert_eq!(Error::Usage(*e).to_string(), e.to_string());
        assert_eq!(mon_ipc::dbus::Error::Usage(*e).to_string(), e.to_string());
    }
    for e in DbusError::ALL {
        all.push((e.code(), e.to_string(), e.description()));
        assert_eq!(mon_ipc::dbus::Error::Peer(*e).to_string(), e.to_string());
    }
    all
}

#[test]
fn display_of_every_code_is_the_table() {
    let all = every_code();
    assert_eq!(all.len(), DISPLAY.len(), "one row per code");
    for (code, shown, _) in &all {
        let row = DISPLAY.iter().find(|(c, _)| c == code);
        assert_eq!(row.map(|r| r.1), Some(shown.as_str()), "{code}");
    }
}

#[test]
fn descriptions_are_lower_case_phrases_and_distinct() {
    let all = every_code();
    for (i, (code, shown, description)) in all.iter().enumerate() {
        assert_eq!(*shown, format!("{description} ({code})"));
        let first = description.chars().next().expect("not empty");
        // Lower case, as Rust error messages are; `D-Bus` is a name.
        assert!(
            first.is_lowercase() || description.starts_with("D-Bus"),
            "{code}: {description}"
        );
        assert!(!description.ends_with('.'), "{code}: {description}");
        assert!(
            all[..i].iter().all(|o| o.2 != *description),
            "{code}: description used twice"
        );
    }
}

#[test]
fn refusals_are_the_refused_codes() {
    for e in PeerError::ALL {
        assert_eq!(e.is_refusal(), e.code().starts_with("refused_"), "{e}");
    }
    let refusals: Vec<_> = DbusError::ALL.iter().filter(|e| e.is_refusal()).collect();
    assert_eq!(
        refusals,
        [&DbusError::Rejected, &DbusError::UnixFdRefused],
        "the D-Bus server's answers that follow the protocol and say no"
    );
}
