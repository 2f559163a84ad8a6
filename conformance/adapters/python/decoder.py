#!/usr/bin/env python3
"""A minimal replay adapter: the mon-ipc frame decoder in Python.

`mon-ipc-conformance replay --exec python3 decoder.py` replays every test
vector against this program through the JSON-lines protocol of
docs/VECTORS.md ("Replaying against another program"). It implements only
the frame decoder (role `frame_decoder`), written from docs/PROTOCOL.md
section 4, and answers `unimplemented` to everything else. Standard library
only. Fds are names: the decoder holds them, hands them out with frames and
reports those it closes.
"""

import json
import struct
import sys

HEADER_LEN = 8
MAX_FDS = 253  # SCM_MAX_FD
DEFAULT_MAX_SHM = 4 << 30
REQUIRED_SEALS = 1 | 2 | 4  # F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW


class ChannelError(Exception):
    """A decoder error: its code (PROTOCOL.md section 5)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Decoder:
    """PROTOCOL.md 4.4: frames out of reads, fds attributed to frames."""

    def __init__(self, max_fds, max_payload, seqpacket, max_shm):
        self.max_fds = max_fds
        self.max_payload = max_payload
        self.seqpacket = seqpacket
        self.max_shm = max_shm
        self.buf = bytearray()  # unconsumed bytes; buf[0] is at stream offset `pos`
        self.pos = 0  # stream offset of the next header
        self.end = 0  # stream offset after the last byte read
        self.header = None  # (kind, length, fds) once the next header is checked
        self.origin = None  # (fds, end) of the read in which the next header began
        self.ready = []  # complete frames, not yet delivered
        self.error = None
        self.eof = False
        self.held = []  # every fd given and not yet delivered or closed
        self.closed = []  # fds closed since the last reply

    def fail(self, code):
        """Errors are sticky; every fd held is closed."""
        self.closed += self.held
        self.held, self.ready, self.header, self.origin = [], [], None, None
        self.error = code
        return code

    def receive(self, data, fds, ctrunc, trunc):
        self.held += fds
        if self.error:
            return self.fail(self.error)
        if self.eof:
            return self.fail("unexpected_input")
        if self.ready:
            return self.fail("frames_pending")
        try:
            if self.seqpacket:
                self.record(data, fds, ctrunc, trunc)
            else:
                self.stream(data, fds, ctrunc)
        except ChannelError as e:
            return self.fail(e.code)
        return None

    def receive_eof(self):
        if self.error:
            return self.error
        if self.eof:
            return self.fail("unexpected_input")
        self.eof = True
        if self.buf or self.header is not None:
            return self.fail("eof_in_frame")
        return None

    def check_header(self, head):
        """The header checks, in the order of PROTOCOL.md 4.4."""
        length, nfds, kind, reserved = struct.unpack("<IBBH", head)
        if kind > 1:
            raise ChannelError("frame_bad_kind")
        if reserved != 0:
            raise ChannelError("frame_reserved")
        if length > self.max_payload:
            raise ChannelError("frame_too_large")
        if nfds > self.max_fds:
            raise ChannelError("frame_too_many_fds")
        if kind == 1 and nfds != 1:
            raise ChannelError("shm_fd_count")
        if kind == 1 and length < 12:
            raise ChannelError("shm_short")
        return kind, length, nfds

    def frame(self, kind, payload, fds):
        """A whole frame; a shared-memory one's announcement checked (4.2)."""
        if kind == 0:
            return {"kind": "data", "payload": payload.hex(), "shm": None, "fds": fds}
        size, seals = struct.unpack("<QI", payload[:12])
        if seals & REQUIRED_SEALS != REQUIRED_SEALS:
            raise ChannelError("shm_seals")
        if size > self.max_shm:
            raise ChannelError("shm_too_large")
        shm = {"size": size, "seals": seals}
        return {"kind": "shm", "payload": payload[12:].hex(), "shm": shm, "fds": fds}

    def stream(self, data, fds, ctrunc):
        """One read of a stream, checked as PROTOCOL.md 4.4 orders it."""
        if ctrunc:
            raise ChannelError("control_truncated")
        if len(fds) > self.max_fds:
            raise ChannelError("fd_count_mismatch")
        start, self.end = self.end, self.end + len(data)
        this_read = (list(fds), self.end)
        began = False
        frames = []
        self.buf += data
        while True:
            if self.header is None:
                if self.pos >= self.end:
                    break
                if self.pos >= start:  # the next header begins in this read
                    began = True
                    self.origin = this_read
                if len(self.buf) < HEADER_LEN:
                    break
                kind, length, nfds = self.check_header(bytes(self.buf[:HEADER_LEN]))
                origin_fds, origin_end = self.origin
                # Last to begin in its read: no other header begins there after it.
                last = self.pos + HEADER_LEN + length >= origin_end
                if not last and nfds > 0:
                    raise ChannelError("fds_misplaced" if origin_fds else "fds_missing")
                if last and nfds > 0 and not origin_fds:
                    raise ChannelError("fds_missing")
                if last and len(origin_fds) != nfds:
                    raise ChannelError("fd_count_mismatch")
                self.header = (kind, length, origin_fds if last else [])
                if last:
                    self.origin = None
            kind, length, owned = self.header
            if len(self.buf) < HEADER_LEN + length:
                break
            payload = bytes(self.buf[HEADER_LEN : HEADER_LEN + length])
            del self.buf[: HEADER_LEN + length]
            self.pos += HEADER_LEN + length
            self.header = None
            frames.append(self.frame(kind, payload, owned))
        if fds and not began:
            raise ChannelError("fds_without_frame")
        # No error in this read: its complete frames are delivered.
        self.ready += frames

    def record(self, data, fds, ctrunc, trunc):
        """One seqpacket record: exactly one frame."""
        if ctrunc:
            raise ChannelError("control_truncated")
        if len(fds) > self.max_fds:
            raise ChannelError("fd_count_mismatch")
        if not data:
            raise ChannelError("fds_without_frame")
        if trunc:
            raise ChannelError("record_truncated")
        if len(data) < HEADER_LEN:
            raise ChannelError("record_size")
        kind, length, nfds = self.check_header(bytes(data[:HEADER_LEN]))
        if len(data) != HEADER_LEN + length:
            raise ChannelError("record_size")
        if nfds > 0 and not fds:
            raise ChannelError("fds_missing")
        if len(fds) != nfds:
            raise ChannelError("fd_count_mismatch")
        self.ready.append(self.frame(kind, bytes(data[HEADER_LEN:]), list(fds)))

    def next_frame(self):
        if self.error or not self.ready:
            return None
        frame = self.ready.pop(0)
        self.held = [fd for fd in self.held if fd not in frame["fds"]]
        return frame


class Adapter:
    """The protocol: one request in, one reply out."""

    def __init__(self):
        self.decoder = None

    def handle(self, req):
        kind = req["type"]
        if kind == "configure":
            return self.configure(req)
        if kind == "end":
            closed = self.decoder.held + self.decoder.closed if self.decoder else []
            self.decoder = None
            return {"ok": True, "closed": closed}
        dec = self.decoder
        if dec is None:
            return {"unimplemented": f"{kind} without a decoder"}
        if kind == "receive":
            err = dec.receive(bytes.fromhex(req["bytes"]), req["fds"], req["ctrunc"], req["trunc"])
            return {"error": err} if err else {"ok": True}
        if kind == "eof":
            err = dec.receive_eof()
            return {"error": err} if err else {"ok": True}
        if kind == "step":
            if dec.error:
                return {"step": "failed", "error": dec.error}
            frame = dec.next_frame()
            if frame is None:
                return {"step": "need_input"}
            return dict(step="frame", **frame)
        if kind == "finish":
            return {"outcome": "closed" if dec.eof else "open"}
        if kind == "misuse" and req["call"] == "read_before_drain":
            err = dec.fail("frames_pending") if dec.ready else None
            return {"error": err} if err else {"ok": True}
        return {"unimplemented": f"{kind} {req.get('call', '')}".strip()}

    def configure(self, req):
        self.decoder = None
        closed = []
        peer = req["config"].get("peerSocket") or {}
        if peer.get("pidfd"):
            closed.append(peer["pidfd"])  # never used: closed at once
        if req["role"] != "frame_decoder":
            return {"unimplemented": f"role {req['role']}", "closed": closed}
        config = req["config"]
        limits = config["limits"]
        if limits["maxFds"] > MAX_FDS:
            return {"error": "limit_out_of_range", "closed": closed}
        self.decoder = Decoder(
            limits["maxFds"],
            limits["maxPayload"],
            config["socket"] == "seqpacket",
            config.get("maxShmSize", DEFAULT_MAX_SHM),
        )
        return {"ok": True, "closed": closed}


def main():
    adapter = Adapter()
    for line in sys.stdin:
        reply = adapter.handle(json.loads(line))
        dec = adapter.decoder
        if dec is not None and dec.closed:
            reply["closed"] = reply.get("closed", []) + dec.closed
            dec.closed = []
        if not reply.get("closed"):
            reply.pop("closed", None)
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
