#!/usr/bin/env python3
"""Pairs criterion's medians into the ours / raw / ratio table.

Usage: report.py RUNDIR...  (each a CRITERION_HOME of one run of `ipc`)
Each value is the median of the runs' medians, with [min..max] across runs.
Times are per operation: per round trip, per message (one-way cases, whose
criterion iteration is a batch), per handshake (scale, whose iteration is a
round of N).
"""
import json
import os
import statistics
import sys

# (label, ours id, reference id, kind, target, what)
# kind "time": ratio = ours / ref, target is a maximum.
# kind "rate": ratio = ref_time / ours_time (rate ratio), target a minimum.
ROWS = [
    ("fd round trip, stream (64 B + 1 fd)", "fd_rt_stream/ours", "fd_rt_stream/raw", "time", 1.05),
    ("fd round trip, seqpacket", "fd_rt_seqpacket/ours", "fd_rt_seqpacket/raw", "time", 1.05),
    ("one-way fd throughput (per msg)", "fd_oneway/ours", "fd_oneway/raw", "rate", 0.95),
    ("64 B frame round trip, no fd", "bytes_rt_64/ours", "bytes_rt_64/raw", "time", None),
    ("connect + handshake, plain", "handshake/ours", "handshake/raw_1rtt", "time", 1.10),
    ("connect + handshake, mutual", "handshake/ours_mutual", "handshake/raw_1rtt", "time", 1.10),
    ("253 fds in one frame (per frame)", "fds_253/ours", "fds_253/raw", "rate", 0.95),
    ("batched fd-less 64 B (per frame)", "batched_64/ours", "batched_64/raw", "rate", 5.0),
]
# What the owning API costs, and the limit of batching: for reading the misses.
REFS = [
    ("raw + dup/close of the fd, stream rt", "fd_rt_stream/raw_dup", "fd_rt_stream/raw"),
    ("raw, reply by sendmsg/recvmsg, stream rt", "fd_rt_stream/raw_msg", "fd_rt_stream/raw"),
    ("ours owning (send + dup) vs raw, stream rt", "fd_rt_stream/ours_owned", "fd_rt_stream/raw"),
    ("ours owning vs raw + dup/close, stream rt", "fd_rt_stream/ours_owned", "fd_rt_stream/raw_dup"),
    ("ours vs raw by sendmsg/recvmsg, stream rt", "fd_rt_stream/ours", "fd_rt_stream/raw_msg"),
    ("raw + dup/close, seqpacket rt", "fd_rt_seqpacket/raw_dup", "fd_rt_seqpacket/raw"),
    ("raw, reply by sendmsg/recvmsg, seqpacket rt", "fd_rt_seqpacket/raw_msg", "fd_rt_seqpacket/raw"),
    ("ours owning vs raw, seqpacket rt", "fd_rt_seqpacket/ours_owned", "fd_rt_seqpacket/raw"),
    ("ours owning vs raw + dup/close, seqpacket rt", "fd_rt_seqpacket/ours_owned", "fd_rt_seqpacket/raw_dup"),
    ("ours vs raw by sendmsg/recvmsg, seqpacket rt", "fd_rt_seqpacket/ours", "fd_rt_seqpacket/raw_msg"),
    ("raw + dup/close, one-way (per msg)", "fd_oneway/raw_dup", "fd_oneway/raw"),
    ("ours owning vs raw, one-way (per msg)", "fd_oneway/ours_owned", "fd_oneway/raw"),
    ("ours owning vs raw + dup/close, one-way", "fd_oneway/ours_owned", "fd_oneway/raw_dup"),
    ("raw + 253 dup/close (per frame)", "fds_253/raw_dup", "fds_253/raw"),
    ("ours owning vs raw (per frame)", "fds_253/ours_owned", "fds_253/raw"),
    ("ours owning vs raw + 253 dup/close", "fds_253/ours_owned", "fds_253/raw_dup"),
    ("raw 64 B rt by sendmsg/recvmsg", "bytes_rt_64/raw_msg", "bytes_rt_64/raw"),
    ("ours vs raw by sendmsg/recvmsg, 64 B rt", "bytes_rt_64/ours", "bytes_rt_64/raw_msg"),
    ("raw 1-RTT with SO_PASSPIDFD vs without", "handshake/raw_1rtt_pidfd", "handshake/raw_1rtt"),
    ("ours plain vs raw 1-RTT with SO_PASSPIDFD", "handshake/ours", "handshake/raw_1rtt_pidfd"),
    ("raw, 16 frames per write (per frame)", "batched_64/raw_batched", "batched_64/raw"),
    ("ours batched vs raw batched", "batched_64/ours", "batched_64/raw_batched"),
]
PEERS = ["sendfd", "passfd", "uds", "python"]


def load(rundir):
    res = {}
    for group in os.listdir(rundir):
        gdir = os.path.join(rundir, group)
        if not os.path.isdir(gdir) or group == "report":
            continue
        for case in os.listdir(gdir):
            new = os.path.join(gdir, case, "new")
            try:
                est = json.load(open(os.path.join(new, "estimates.json")))
                bm = json.load(open(os.path.join(new, "benchmark.json")))
            except OSError:
                continue
            ns = est["median"]["point_estimate"]
            tp = bm.get("throughput") or {}
            res[f"{group}/{case}"] = (ns, tp)
    return res


def load_paired(rundir):
    res = {}
    try:
        lines = open(os.path.join(rundir, "paired.jsonl")).read().splitlines()
    except OSError:
        return res
    for line in lines:
        p = json.loads(line)
        res[(f"{p['group']}/{p['a']}", f"{p['group']}/{p['b']}")] = p["median"]
    return res


runs = [load(d) for d in sys.argv[1:]]
paired = [load_paired(d) for d in sys.argv[1:]]


def per_op(key):
    """ns per operation in each run (divided by the elements of an iteration)."""
    vals = []
    for r in runs:
        if key in r:
            ns, tp = r[key]
            if "Elements" in tp and not key.startswith("fds_253"):
                ns /= tp["Elements"]
            vals.append(ns)
    return vals


def fmt_ns(v):
    if v >= 1e6:
        return f"{v / 1e6:.3f} ms"
    if v >= 1e3:
        return f"{v / 1e3:.2f} µs"
    return f"{v:.1f} ns"


def stat(vals, f=fmt_ns):
    if not vals:
        return "n/a"
    s = sorted(vals)
    m = statistics.median(s)
    return f"{f(m)} [{f(s[0])}..{f(s[-1])}]" if len(s) > 1 else f(m)


def ratios(a, b, kind):
    """Per-run ratios: from the paired comparison (A and B alternating in
    10 ms slices) where there is one, else from criterion's two medians."""
    out = []
    for p in paired:
        if (a, b) in p:
            out.append(p[(a, b)] if kind == "time" else 1 / p[(a, b)])
    if out:
        return out
    for r in runs:
        if a in r and b in r:
            x, y = r[a][0], r[b][0]
            if a.startswith(("fd_oneway", "batched_64")) != b.startswith(("fd_oneway", "batched_64")):
                continue
            out.append(x / y if kind == "time" else y / x)
    return out


def f2(v):
    return f"{v:.3f}"


print(f"runs: {len(runs)}; values: median of the runs' medians [min..max across runs];")
print("times are CPU time of the pinned process; ratios from the paired comparison")
print("(the two alternating in slices of 10 ms of CPU time,")
print("median of 40 slice ratios per run) where there is one\n")
print("| case | ours | raw | ratio | target | met? |")
print("|---|---|---|---|---|---|")
for label, ours, ref, kind, target in ROWS:
    rs = ratios(ours, ref, kind)
    med = statistics.median(rs) if rs else None
    if target is None:
        tgt, met = "-", "-"
    else:
        op = "<=" if kind == "time" else ">="
        tgt = f"{op} {target:g}" + (" (rate)" if kind == "rate" else "")
        ok = med is not None and (med <= target if kind == "time" else med >= target)
        met = "yes" if ok else "**no**"
    print(f"| {label} | {stat(per_op(ours))} | {stat(per_op(ref))} | {stat(rs, f2)} | {tgt} | {met} |")

print("\nreference points (ratio = first / second, time):\n")
print("| comparison | first | second | ratio |")
print("|---|---|---|---|")
for label, a, b in REFS:
    print(f"| {label} | {stat(per_op(a))} | {stat(per_op(b))} | {stat(ratios(a, b, 'time'), f2)} |")

print("\npeers, fd round trip on a stream (64 B + 1 fd; passfd sends its 4-byte dummy):\n")
print("| implementation | time | ratio to raw |")
print("|---|---|---|")
for p in ["ours", "raw"] + PEERS:
    key = f"fd_rt_stream/{p}"
    if per_op(key):
        print(f"| {p} | {stat(per_op(key))} | {stat(ratios(key, 'fd_rt_stream/raw', 'time'), f2)} |")
    else:
        print(f"| {p} | not run | |")

print("\ncodec alone, one frame per operation:\n")
print("| case | time per frame | frames/s | GB/s |")
print("|---|---|---|---|")
for case in ["encode_64", "decode_64", "encode_64k", "encode_64k_shared", "decode_64k"]:
    key = f"codec/{case}"
    vals = per_op(key)
    if not vals:
        continue
    size = runs[0][key][1].get("Bytes", 0)
    m = statistics.median(vals)
    print(f"| {case} | {stat(vals)} | {1e9 / m / 1e6:.2f} M | {size / m:.2f} |")

print("\nscale: N concurrent handshakes, one thread, epoll, step-wise API (both sides):\n")
print("| N | per handshake | ratio to N=10 | target |")
print("|---|---|---|---|")
sizes = sorted({int(k.split("/")[1]) for r in runs for k in r if k.startswith("scale/")})
for n in sizes:
    vals = per_op(f"scale/{n}")
    base = per_op(f"scale/{sizes[0]}")
    rs = [a / b for a, b in zip(vals, base)]
    tgt = "<= 1.2" if n == max(sizes) and n != sizes[0] else ""
    print(f"| {n} | {stat(vals)} | {stat(rs, f2)} | {tgt} |")


def dbus_table():
    """D-Bus handshake (bench/benches/dbus.rs): one connection to a private
    dbus-daemon per iteration, wall time; ratios paired where possible."""
    skipped = []
    for d in sys.argv[1:]:
        try:
            skipped += open(os.path.join(d, "dbus_skipped.txt")).read().splitlines()
        except OSError:
            pass
    groups = [("dbus_handshake", "connect + EXTERNAL + NEGOTIATE_UNIX_FD + BEGIN + close"),
              ("dbus_hello", "the same + Hello and its reply (unique name)")]
    if not skipped and not any(per_op(f"{g}/{v}") for g, _ in groups for v in ["ours", "raw", "libdbus"]):
        return
    variants = ["ours", "raw", "libdbus", "native"]
    pairs = [("ours", "raw"), ("ours", "libdbus"), ("libdbus", "raw"), ("ours", "native")]
    print("\nD-Bus handshake: one whole connection to a private dbus-daemon per iteration,")
    print("WALL time (the daemon is another process); native = our handshake to an in-process server:\n")
    for line in sorted(set(skipped)):
        print(line)
    print("| case | " + " | ".join(variants) + " | " + " | ".join(f"{a} / {b}" for a, b in pairs) + " |")
    print("|---" * (1 + len(variants) + len(pairs)) + "|")
    for g, label in groups:
        cells = [stat(per_op(f"{g}/{v}")) if per_op(f"{g}/{v}") else "-" for v in variants]
        rs = [ratios(f"{g}/{a}", f"{g}/{b}", "time") for a, b in pairs]
        cells += [stat(r, f2) if r else "-" for r in rs]
        print(f"| {label} | " + " | ".join(cells) + " |")


dbus_table()


def sweep_tables():
    """The `sweep` benchmark (benches/sweep.rs): one-way throughput against
    message size and against fds per message. Rates: median of the runs'
    medians [min..max]; ratios: ours' rate / raw's (paired)."""

    def rates(key, f):
        return [f(*r[key]) for r in runs if key in r]

    def points(prefix):
        return sorted({int(k.split("/")[0][len(prefix):]) for r in runs for k in r if k.startswith(prefix)})

    def fmt_rate(v):
        for d, s in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
            if v >= d:
                return f"{v / d:.3g}{s}"
        return f"{v:.3g}"

    def fmt_size(n):
        return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB" if n >= 1 << 10 else f"{n} B"

    def ratio(a, b):
        rs = ratios(a, b, "rate")
        return stat(rs, f2) if rs else "-"

    sizes = points("sweep_size_")
    if sizes:
        print("\nsweep: one-way throughput against message size (stream, no fds), MB/s of payload:\n")
        print("| size | ours (`send`) | ours (`push_copy` + `flush_all`) | ours (`push` of shared `Bytes`) | raw (`write`/`read`) "
              "| ours / raw | copy / raw | shared / raw |")
        print("|---|---|---|---|---|---|---|---|")
        mbs = lambda ns, tp: tp["Bytes"] / ns * 1e3
        for n in sizes:
            g = f"sweep_size_{n}"
            cells = [stat(rates(f"{g}/{v}", mbs), fmt_rate) for v in ("ours", "ours_copy", "ours_shared", "raw")]
            cells += [ratio(f"{g}/{v}", f"{g}/raw") for v in ("ours", "ours_copy", "ours_shared")]
            print(f"| {fmt_size(n)} | " + " | ".join(cells) + " |")
    ks = points("sweep_fds_")
    if ks:
        print("\nsweep: one-way throughput against fds per message (64 B + k fds, stream), messages/s (fds/s):\n")
        print("| k | ours (`send_borrowed`) | raw | ours (`send`, k dups) | raw + dup/close "
              "| ours / raw | `send` / raw + dup/close |")
        print("|---|---|---|---|---|---|---|")
        for k in ks:
            g = f"sweep_fds_{k}"
            cells = []
            for v in ("ours", "raw", "ours_owned", "raw_dup"):
                msgs = rates(f"{g}/{v}", lambda ns, tp: tp["Elements"] / ns * 1e9)
                cell = stat(msgs, fmt_rate) if msgs else "-"
                if msgs and k:
                    cell += f" ({fmt_rate(statistics.median(msgs) * k)} fds/s)"
                cells.append(cell)
            cells += [ratio(f"{g}/ours", f"{g}/raw"), ratio(f"{g}/ours_owned", f"{g}/raw_dup")]
            print(f"| {k} | " + " | ".join(cells) + " |")


sweep_tables()
