# SPDX-License-Identifier: BSD-3-Clause
"""weir-bloat: Parsing what ping, the UDP probe and iperf3 wrote, and the statistics on it."""

import json
import math
import re


def parse_ping(path):
    """ping -D -O output -> [(t_send_wall, rtt_ms or None)]."""
    out = []
    rx = re.compile(r"^\[(\d+\.\d+)\] .*icmp_seq=(\d+) .*time=([0-9.]+) ms")
    lost = re.compile(r"^\[(\d+\.\d+)\] no answer yet for icmp_seq=(\d+)")
    seen = set()
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return out
    for line in lines:
        m = rx.match(line)
        if m:
            rtt = float(m.group(3))
            seq = int(m.group(2))
            if seq in seen:
                continue
            seen.add(seq)
            out.append((float(m.group(1)) - rtt / 1e3, rtt))
            continue
        m = lost.match(line)
        if m:
            # -O reports a probe outstanding after the next one is due; it
            # may still come back (then the later line counts).
            out.append((float(m.group(1)), None, int(m.group(2))))
    # Keep 'no answer' only for sequence numbers that never came back.
    res = []
    for e in out:
        if len(e) == 3:
            if e[2] not in seen:
                seen.add(e[2])
                res.append((e[0], None))
        else:
            res.append(e)
    res.sort()
    return res


def parse_udp(path):
    res = []
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return res
    for line in lines:
        f = line.split()
        try:
            if f[0] == "lost":
                res.append((float(f[2]), None))
            elif len(f) == 3:
                res.append((float(f[1]), float(f[2])))
        except (IndexError, ValueError):
            continue
    res.sort()
    return res


def parse_iperf(path):
    """iperf3 -J --bidir output -> (flows, interval samples, retransmits).
    A flow's goodput is what its receiver got, over the receiver's time."""
    try:
        j = json.load(open(path))
    except (OSError, ValueError):
        return None
    if "error" in j and not j.get("end"):
        return {"error": j["error"]}
    start = j.get("start", {})
    t0 = start.get("timestamp", {}).get("timesecs")
    conn = {c["socket"]: c for c in start.get("connected", [])}
    flows = []
    for s in j.get("end", {}).get("streams", []):
        snd, rcv = s.get("sender", {}), s.get("receiver", {})
        sock = snd.get("socket", rcv.get("socket"))
        # In --bidir the client is the sender of 'up' streams.
        direction = "up" if snd.get("sender", True) else "down"
        nbytes, secs, side = rcv.get("bytes", 0), rcv.get("seconds", 0), "receiver"
        if not nbytes and snd.get("bytes"):
            # An interrupted client never got the server's counts: the
            # sender's bytes are the best that is left (an upper bound).
            nbytes, secs, side = snd["bytes"], snd.get("seconds", 0), "sender"
        flows.append({
            "socket": sock, "dir": direction,
            "port": conn.get(sock, {}).get("local_port"),
            "bytes": nbytes, "seconds": secs, "counted_at": side,
            "mbps": (nbytes * 8 / secs / 1e6) if secs else 0.0,
            "retransmits": snd.get("retransmits"),
        })
    samples = []
    for iv in j.get("intervals", []):
        for st in iv.get("streams", []):
            direction = "up" if st.get("sender", True) else "down"
            samples.append((st.get("start", 0), st.get("end", 0), st.get("socket"), direction,
                            st.get("bits_per_second", 0) / 1e6))
    return {"t0": t0, "flows": flows, "intervals": samples, "error": j.get("error")}


# ---------------------------------------------------------------- statistics

def pct(vals, q):
    if not vals:
        return None
    v = sorted(vals)
    k = (len(v) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def jain(xs):
    xs = [x for x in xs if x is not None]
    if not xs or sum(x * x for x in xs) == 0:
        return None
    return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs))


def phase_of(t, ph):
    if t < ph["load_start"]:
        return "idle1"
    if t < ph["load_end"]:
        return "loaded"
    return "idle2"


# ---------------------------------------------------------------- one run
