//! One seqpacket record must fit the sender's socket buffer.
//!
//! Linux refuses a `SOCK_SEQPACKET` record longer than `sk_sndbuf - 32` with
//! `EMSGSIZE` (net/unix/af_unix.c, `unix_dgram_sendmsg`). The default
//! `sk_sndbuf` is 212 992 bytes and `SO_SNDBUF` is capped by
//! `net.core.wmem_max`, far below the default 16 MiB payload limit. So a side
//! first raises `SO_SNDBUF` to fit the frames it advertises, and advertises
//! less if the kernel will not give it that much ([PROTOCOL.md
//! §4.3](mon_ipc::spec#43-sending)): the negotiated limit is the smaller of
//! both sides', so neither ever sends a record its own buffer cannot hold.
//!
//! The send buffer is not the only bound. Seen on Linux 6.18 with
//! `wmem_max` at 4 MiB (so `sk_sndbuf` 8 MiB): a record of 4 263 616 bytes
//! went through, one byte more failed with `ENOBUFS`. The record's linear
//! part is one `kmalloc`, capped at `KMALLOC_MAX_SIZE` (4 MiB), and only
//! `MAX_SKB_FRAGS` pages (17 by default) go beside it. So records are also
//! kept within [`MAX_RECORD`]. (A 4 MiB allocation can still fail under
//! severe memory fragmentation; that is an `ENOBUFS` error, not a surprise
//! of size. Larger payloads belong in shared memory.)
//!
//! `SO_SNDBUFFORCE` is not used: the protocol's limits must not depend on
//! whether the process happens to be privileged.

use std::os::fd::BorrowedFd;

use mon_ipc::frame::HEADER_LEN;
use mon_ipc::{Limits, SocketKind};

use crate::error::Result;
use crate::sys;

/// The largest seqpacket record this driver advertises: 4 MiB, whose linear
/// part always fits one `kmalloc` (see the module docs).
const MAX_RECORD: usize = 4 << 20;

/// What the kernel keeps of `sk_sndbuf` for a record's own bookkeeping.
const RECORD_OVERHEAD: usize = 32;

/// The limits to advertise on this socket: `wanted`, with the payload
/// lowered on seqpacket to what one record in the send buffer can carry.
pub(crate) fn fit(sock: BorrowedFd<'_>, kind: SocketKind, wanted: Limits) -> Result<Limits> {
    if kind == SocketKind::Stream {
        return Ok(wanted);
    }
    let need = (wanted.max_payload() as usize)
        .saturating_add(HEADER_LEN)
        .min(MAX_RECORD)
        .saturating_add(RECORD_OVERHEAD);
    if sys::sockopt::sndbuf(sock)? < need {
        // The kernel doubles the value; a failure just leaves it as it was.
        let _ = sys::sockopt::set_sndbuf(sock, need.div_ceil(2));
    }
    let record = sys::sockopt::sndbuf(sock)?
        .saturating_sub(RECORD_OVERHEAD)
        .min(MAX_RECORD);
    let room = record.saturating_sub(HEADER_LEN);
    let payload = u32::try_from(room).unwrap_or(u32::MAX);
    Ok(wanted.min(Limits::new(wanted.max_fds(), payload).unwrap_or(wanted)))
}
