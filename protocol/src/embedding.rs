//! # Embedding guide: driving the core from another event loop
//!
//! `mon-ipc-std` is one driver of this crate's state machines; a program
//! with an event loop of its own (glib, a game loop, an async runtime other
//! than tokio, a C reactor) can be another. This page lists everything
//! such a driver must do that the state machines cannot do for it, because
//! they make no system call. Most of it is about what the kernel attaches
//! to a message and when. The normative text is the specification,
//! [PROTOCOL.md](crate::spec) (its sections are linked below); each rule
//! here is stated in full.
//!
//! `mon_ipc_std::raw` makes every system call below correctly and safely
//! (no `unsafe`, no `nix` in your code), and the complete example
//! `driver-std/examples/custom_loop.rs` in the repository runs both sides
//! of a connection on a hand-written `poll(2)` loop with nothing else; it
//! is run by the project's CI.
//!
//! ## The loop
//!
//! Both handshake sides ([`ClientAuth`](crate::ClientAuth),
//! [`ServerAuth`](crate::ServerAuth), and the D-Bus ones) are
//! [`Handshake`](crate::Handshake)s, driven the same way:
//!
//! ```text
//! loop:
//!     if output of the last Send step is not all written:
//!         sendmsg(rest, with the credentials that step asked for)   // EAGAIN: wait writable
//!         continue
//!     clear the output; match side.step(&mut output):
//!         Send(attach)  => remember attach; write it (above)
//!         NeedInput     => recvmsg; receive(bytes, ancillary) or receive_eof()   // EAGAIN: wait readable
//!         Decide        => (server) look for trailing input; peer(); accept() or deny()
//!         Done          => (server) SO_PASSCRED off; finish(): Established { limits, socket, peer, leftover }
//!         Failed(e)     => close the socket; e.code() is the stable code
//! ```
//!
//! Then frames: an [`Encoder`](crate::Encoder) (push; `transmit` gives the
//! slices and fds of one `sendmsg`; `advance` by what was sent) and a
//! [`Decoder`](crate::Decoder) (one read per `receive`/`commit_read`,
//! then `next_frame` until `None`), made with the negotiated limits, the
//! decoder given the handshake's [`Leftover`](crate::Leftover) first.
//!
//! ## The rules
//!
//! **1. `SO_PASSCRED` on before the client can write** ([PROTOCOL.md §3.3 The
//! server](crate::spec#33-the-server)). Linux attaches credentials to a
//! message when it is *sent*, and only if the receiving socket has
//! `SO_PASSCRED` on at that moment. A hello sent before the server turned it
//! on arrives without them and is refused (status 3, `no_credentials`). So
//! turn it on where no hello can slip past: on the listening socket before
//! `accept` (accepted sockets inherit it), or on the server's end of a
//! socketpair before the other end is handed out. `mon_ipc_std::Listener` and
//! `mon_ipc_std::socketpair` do; `mon_ipc_std::raw::pass_credentials` does it
//! on any socket. A client with mutual authentication turns it on before its
//! hello, for the reply. Turn `SO_PASSPIDFD` on too where the kernel has it
//! (Linux 6.5+): every read then brings a pidfd of the sender.
//!
//! **2. `SO_PASSCRED` off after `Done`.** While on, the kernel attaches
//! credentials to every read, never merges into one read messages whose
//! credentials differ, and spends control-buffer room meant for fds. Once
//! the handshake message is in, turn it (and `SO_PASSPIDFD`) off, before
//! the channel's first read.
//!
//! **3. Attach the *effective* ids, explicitly** ([PROTOCOL.md §3.1 The
//! hello](crate::spec#31-the-hello-client-to-server)). On
//! [`Step::Send`](crate::Step::Send) with
//! [`Attach::OwnCredentials`](crate::Attach::OwnCredentials), send
//! `SCM_CREDENTIALS` holding this process's pid, effective uid and effective
//! gid (`mon_ipc_std::raw::own_credentials`). Credentials the kernel adds on
//! its own carry the *real* ids, which differ from the `SO_PEERCRED` the
//! server compares them with in a set-uid program: it would be refused as a
//! mismatch (status 5).
//!
//! **4. Keep the `Attach` across partial writes.** If a `sendmsg` of a
//! handshake message writes only part of it, every later `sendmsg` of the
//! rest carries the same credentials: keep the step's `Attach` until the
//! output is all written. A rest sent without them would reach the server
//! with the kernel's own (real ids), or split its read.
//!
//! **5. `MSG_NOSIGNAL` on every `sendmsg`** ([PROTOCOL.md §4.3
//! Sending](crate::spec#43-sending)). A peer that closed must give `EPIPE`,
//! not kill the process with `SIGPIPE`.
//!
//! **6. `MSG_CMSG_CLOEXEC` on every `recvmsg`** ([PROTOCOL.md §4.4
//! Receiving](crate::spec#44-receiving-and-the-fd-attribution-rule)). Fds a
//! peer sends must not leak into programs this process starts. Take ownership
//! of every fd in the control data at once, so that none leaks on an error
//! path.
//!
//! **7. The control buffer's size** ([PROTOCOL.md
//! §1](crate::spec#1-transport), [§3.3](crate::spec#33-the-server),
//! [§4.4](crate::spec#44-receiving-and-the-fd-attribution-rule)). Give each
//! read room for exactly what the protocol allows:
//!
//! | read | `SCM_CREDENTIALS` | `SCM_RIGHTS` | `SCM_PIDFD` |
//! |---|---|---|---|
//! | server, the hello | yes | none | if `SO_PASSPIDFD` is on |
//! | client, the reply | with mutual authentication | the negotiated fds (the first frames may come with it) | with mutual authentication and `SO_PASSPIDFD` |
//! | the channel | no (`SO_PASSCRED` is off) | the negotiated fds | no |
//!
//! Size the fd room with `CMSG_LEN(4 * n)`, not `CMSG_SPACE`:
//! `CMSG_SPACE(4)` already fits two fds (alignment), and the kernel
//! installs as many fds as fit. It closes the rest and sets `MSG_CTRUNC`;
//! with room for more than allowed, close the surplus yourself and report
//! a truncation. With `SO_PASSPIDFD` on, a buffer without room for the
//! pidfd sets `MSG_CTRUNC` on every read. `mon_ipc_std::raw::Room` sizes
//! it so.
//!
//! **8. Hand `MSG_CTRUNC` (and `MSG_TRUNC`) to the core.** They are how the
//! core learns that the kernel dropped fds (short buffer, `EMFILE`, a
//! security module) or cut a seqpacket record: set
//! [`Ancillary::ctrunc`](crate::Ancillary) / `trunc` for a handshake read,
//! [`ReadFlags`](crate::ReadFlags) for a channel read. The core refuses
//! (`hello_fds`, `control_truncated`). Never drop them.
//!
//! **9. What counts as EOF** ([PROTOCOL.md §1
//! Transport](crate::spec#1-transport)). A read of 0 bytes with no fds and no
//! `MSG_CTRUNC` is EOF, whatever else it carries: on a stream with
//! `SO_PASSCRED` on, the EOF read brings credentials of no one (pid 0, uid 0,
//! gid 0); ignore them and call `receive_eof`. A 0-byte read with fds or
//! `MSG_CTRUNC` is a read like any other. Linux reports `ECONNRESET` once
//! when the peer closed with our bytes unread: on seqpacket the records still
//! queued follow it, so read again before taking it as EOF.
//!
//! **10. The overflow ids** ([PROTOCOL.md §2
//! Credentials](crate::spec#2-credentials)). A process this one cannot see
//! (another user namespace, say) is reported with pid 0 and the overflow uid
//! and gid (`/proc/sys/kernel/overflowuid`, `overflowgid`, normally 65534).
//! Its credentials count as absent. Put this system's overflow ids in the
//! configs' [`CredentialPolicy`](crate::CredentialPolicy)
//! (`mon_ipc_std::raw::credential_policy` reads them); with the defaults,
//! such a peer would pass as user 65534.
//!
//! **11. The server's socket credentials.** [`ServerAuth::new`](crate::ServerAuth::new)
//! takes what the socket says about the client
//! ([`SocketCredentials`](crate::SocketCredentials)): `SO_PEERCRED`,
//! `SO_PEERGROUPS`, and `SO_PEERPIDFD` where `SO_PASSPIDFD` is missing
//! (`mon_ipc_std::raw::socket_credentials`). The core compares them with
//! the hello's message credentials.
//!
//! **12. Trailing input before the reply** ([PROTOCOL.md
//! §3.3](crate::spec#33-the-server), check 8). The server reads no further
//! than the 16-byte hello. Before it accepts at `Decide`, it makes one read
//! without waiting and hands what comes to `receive`: input that arrived
//! after the hello is refused (status 4).
//!
//! **13. Fds go with the first byte of their frame** ([PROTOCOL.md §4.3
//! Sending](crate::spec#43-sending)). Send exactly what
//! [`Encoder::transmit`](crate::Encoder::transmit) gives in one `sendmsg`,
//! with its fds; after a short write, the rest follows without them
//! (`transmit` again after `advance`). On the receiving side, one
//! [`Decoder`](crate::Decoder) read per `recvmsg`, with that read's fds: the
//! decoder's fd attribution depends on knowing where each read began and
//! ended.
//!
//! **14. Seqpacket.** Raise `SO_SNDBUF` to fit the largest record you may
//! send, or advertise less; never advertise a payload above 4 194 296
//! bytes (Linux refuses records above about 4 MiB with `ENOBUFS`).
//!
//! ## State diagrams
//!
//! Each side's states are drawn on its type: [`ClientAuth`](crate::ClientAuth),
//! [`ServerAuth`](crate::ServerAuth),
//! [`dbus::ClientAuth`](crate::dbus::ClientAuth),
//! [`dbus::ServerAuth`](crate::dbus::ServerAuth); `state()` names the
//! current one.
