//! What every flag means. A file carries the notes of the flags it uses.

use std::collections::BTreeMap;

use crate::model::Note;

/// Every flag the generator may use.
pub(crate) fn all() -> BTreeMap<&'static str, Note> {
    let n = |bug: &str, d: &str| Note {
        bug_type: bug.to_owned(),
        description: d.to_owned(),
    };
    BTreeMap::from([
        (
            "Canonical",
            n(
                "BASIC",
                "The exchange exactly as two conforming peers produce it.",
            ),
        ),
        (
            "Malformed",
            n(
                "MALFORMED",
                "The peer's bytes break the wire format; the case names the defined error.",
            ),
        ),
        (
            "CheckOrder",
            n(
                "MALFORMED",
                "Several defects at once: the first in the specified order of checks decides the error.",
            ),
        ),
        (
            "Version",
            n(
                "FUTURE_PROOFING",
                "Version negotiation: a higher client version is answered with 1 and its unknown fields ignored; version 0 is unsupported.",
            ),
        ),
        (
            "Limits",
            n(
                "EDGE_CASE",
                "The fds-per-frame and payload limits: announced, negotiated as the minimum, enforced before any allocation.",
            ),
        ),
        (
            "Credentials",
            n(
                "AUTHENTICATION",
                "The credential policy: message credentials on every read of a handshake message, socket credentials, uid and gid compared, pid taken from the first read.",
            ),
        ),
        (
            "Pidfd",
            n(
                "AUTHENTICATION",
                "Which pidfd is reported: SCM_PIDFD of the first read of the message, else SO_PEERPIDFD only when its pid is the reported pid, else none. Every other pidfd is closed.",
            ),
        ),
        (
            "Mutual",
            n(
                "AUTHENTICATION",
                "Mutual authentication: hello flag bit 0; the server attaches its credentials to its reply and the client judges them.",
            ),
        ),
        (
            "Eof",
            n(
                "EDGE_CASE",
                "The peer closes the connection at a given point.",
            ),
        ),
        (
            "Leftover",
            n(
                "EDGE_CASE",
                "Bytes, fds or EOF that follow the server's reply belong to the message channel: `expected.leftover` is everything the channel receives, in order, whether the handshake's own read brought it or a later one.",
            ),
        ),
        (
            "FdAttribution",
            n(
                "EDGE_CASE",
                "On a stream socket the fds of one read belong to the last frame whose header begins in that read; any other header there must announce none.",
            ),
        ),
        (
            "Seqpacket",
            n(
                "EDGE_CASE",
                "SOCK_SEQPACKET: one read is one record and one message; records are never re-chunked; MSG_TRUNC is an error.",
            ),
        ),
        (
            "SharedMemory",
            n(
                "EDGE_CASE",
                "Kind 1 frames: one sealed memfd, the size and seals header, the receiver's checks (seals, then size).",
            ),
        ),
        (
            "FdsClosed",
            n(
                "RESOURCE",
                "Fds arrive where none may: every one of them must be closed exactly once (a replay counts them).",
            ),
        ),
        (
            "ReadBoundaries",
            n(
                "EDGE_CASE",
                "The read boundaries are what the case tests (for example fd-less bytes the kernel glued before an fd-carrying message): replay every `in` event as exactly one read, never re-chunked.",
            ),
        ),
        (
            "ApiMisuse",
            n(
                "API_MISUSE",
                "Drives the in-tree Rust API against its contract, to pin the caller-error codes. Replayed as written. Other implementations may skip these cases.",
            ),
        ),
        (
            "Incomplete",
            n(
                "EDGE_CASE",
                "The events end before the handshake does: asking for the outcome then is the caller error `not_finished`.",
            ),
        ),
        (
            "Config",
            n(
                "API_MISUSE",
                "The configuration itself is out of range and refused before any I/O.",
            ),
        ),
        (
            "Decision",
            n(
                "AUTHENTICATION",
                "The server caller's authorization decision, and bytes that arrive while it is pending.",
            ),
        ),
        (
            "Batching",
            n(
                "BASIC",
                "Fd-less frames may share a sendmsg; an fd-carrying frame starts its own and is alone in it. Outputs are compared as one byte string, fds by offset.",
            ),
        ),
        (
            "Recorded",
            n(
                "BASIC",
                "Captured from real sockets by `mon-ipc-conformance record` on Linux: the read boundaries, credentials, pidfds and fds are what the kernel delivered (the ids are those of the recording machine). The expectation follows from the spec and the scenario, not from the core's answer. Replayed as recorded.",
            ),
        ),
        (
            "Sasl",
            n(
                "AUTHENTICATION",
                "D-Bus: the SASL exchange of the D-Bus specification's state tables: AUTH and its mechanisms, REJECTED with the server's list, DATA, CANCEL, ERROR.",
            ),
        ),
        (
            "NulCredentials",
            n(
                "AUTHENTICATION",
                "D-Bus: the server judges the SCM_CREDENTIALS of the read that brings the NUL byte (later reads' are ignored) against SO_PEERCRED with the native policy; EXTERNAL's claimed uid must be that uid. A failure there is a REJECTED, not fatal at once; EOF after it fails with its reason.",
            ),
        ),
        (
            "UnixFd",
            n(
                "EDGE_CASE",
                "D-Bus: NEGOTIATE_UNIX_FD after OK, answered with AGREE_UNIX_FD or, by a server without fd passing, ERROR.",
            ),
        ),
        (
            "AfterBegin",
            n(
                "EDGE_CASE",
                "D-Bus: every byte after the line that ends the authentication (BEGIN\\r\\n for the server, the last expected line for the client), in its read and in later reads, and later fds and EOF, belong to the D-Bus connection: `expected.leftover`. The authentication consumes none.",
            ),
        ),
        (
            "Bounds",
            n(
                "RESOURCE",
                "D-Bus: lines of at most 16 KiB without \\r\\n (longer fails as soon as the bound is passed), and at most 6 REJECTED / ERROR answers (the 7th failure closes without a reply).",
            ),
        ),
        (
            "ErrorText",
            n(
                "EDGE_CASE",
                "D-Bus: the explanation inside the server's ERROR \"...\" is free text that the specification does not fix; the vector has this implementation's. Another implementation may compare only up to the command.",
            ),
        ),
        (
            "ShortWrite",
            n(
                "EDGE_CASE",
                "Replays also send one byte per sendmsg: fds go with the first byte of their frame only.",
            ),
        ),
    ])
}
