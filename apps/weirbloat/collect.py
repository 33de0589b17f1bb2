# SPDX-License-Identifier: BSD-3-Clause
"""weir-bloat: Turning one run's files into results: RTTs per phase, goodput, the link's own counters."""

import json
import os
from .common import FRAME, HDR, SETTLE_S
from .samples import (jain, parse_iperf, parse_ping, parse_udp, pct, phase_of)


def parse_fwd_stats(path):
    """Drops and marks from weir-fwd's JSON summary (the last line that
    parses as {"app":"weir-fwd",...}): scheduler drops (limit and AQM), ECN
    marks, and frames the forwarder itself lost. {} when it printed none
    (killed, or crashed)."""
    try:
        txt = open(path, errors="replace").read()
    except OSError:
        return {}
    at = txt.rfind('{"app":"weir-fwd"')
    while at >= 0:
        try:
            j = json.JSONDecoder().raw_decode(txt[at:])[0]   # it may span lines
        except ValueError:
            at = txt.rfind('{"app":"weir-fwd"', 0, at)
            continue
        st = {"drops": 0, "drops_aqm": 0, "drops_limit": 0, "marks": 0, "overlimits": 0,
              "fwd_losses": 0, "per_port": {}}
        for p in j.get("ports", []):
            pp = {"rx_missed": p.get("rx_missed", 0) + p.get("rx_nombuf", 0),
                  "tx_dropped": p.get("tx_dropped", 0) + p.get("tx_errors", 0)}
            for q in p.get("queues", []):
                qd = q.get("qdisc") or {}
                for k_out, k_in in (("drops", "drops"), ("drops_aqm", "drops_aqm"),
                                    ("drops_limit", "drops_limit"), ("marks", "ecn_marks"),
                                    ("overlimits", "overlimits")):
                    st[k_out] += qd.get(k_in, 0)
                    pp[k_out] = pp.get(k_out, 0) + qd.get(k_in, 0)
                pp["tx_dropped"] += q.get("fwd_tx_drops", 0)
                pp["emu_overflow"] = pp.get("emu_overflow", 0) + q.get("emu_overflow", 0)
            st["fwd_losses"] += pp["rx_missed"] + pp["tx_dropped"] + pp.get("emu_overflow", 0)
            st["per_port"][p.get("spec", str(p.get("id")))] = pp
        st["pool_in_use_at_exit"] = j.get("pool", {}).get("in_use")
        return st
    return {}


def link_window(link, i, j, a):
    """Utilisation and goodput ceiling per direction between samples i, j.

    Ceiling: the link carries this direction's data in full-size frames
    (FRAME bytes, FRAME - HDR of them payload) and the reverse flows' ACKs
    (about HDR bytes each). With B bytes in N frames, n_full = (B - HDR*N) /
    (FRAME - HDR) frames were full-size; the rest of B is the ACK share. On
    a 100% busy link goodput would be payload fraction x (1 - ACK share) of
    the rate: the most this load can get."""
    secs = link[j]["t"] - link[i]["t"]
    out = {}
    for d in ("up", "down"):
        db = link[j][d][0] - link[i][d][0]
        dn = link[j][d][1] - link[i][d][1]
        full = min(max((db - HDR * dn) / (FRAME - HDR), 0), dn) if dn else 0
        ack_share = (db - full * FRAME) / db if db else None
        payload = (FRAME - HDR) / FRAME
        out[d] = {
            "seconds": round(secs, 3), "tx_bytes": db, "tx_packets": dn,
            "mbps": db * 8 / secs / 1e6, "util_pct": 100 * db * 8 / (a.rate_bps * secs),
            "full_size_frames": round(full), "small_frames": round(dn - full),
            "payload_fraction_pct": 100 * payload,
            "ack_share_pct": 100 * ack_share if ack_share is not None else None,
            "ceiling_pct": 100 * payload * (1 - ack_share) if ack_share is not None else None,
        }
    return out


def lost_split(ts, i, j, a):
    """Where the link's idle time went between samples i and j, per
    direction, in points of that window: in its first SETTLE_S s (TCP's
    start and first backing off) or after, and with the scheduler's queue
    empty at either end of a sample (the senders sent too little) or
    holding packets at both ends (the shaper or the forwarder's core fell
    short: with packets queued the link should read 100%). None without the
    backlog counters (the kernel tbf)."""
    out = {}
    secs = ts[j]["t"] - ts[i]["t"]
    for d in ("up", "down"):
        if secs <= 0 or any(f"{d}_q" not in ts[k] for k in range(i, j + 1)):
            return None
        lost = {"start_empty": 0.0, "start_queued": 0.0, "steady_empty": 0.0, "steady_queued": 0.0}
        for k in range(i + 1, j + 1):
            dt = ts[k]["t"] - ts[k - 1]["t"]
            idle = max(dt - (ts[k][d][0] - ts[k - 1][d][0]) * 8 / a.rate_bps, 0.0)
            part = "start" if ts[k]["t"] - ts[i]["t"] <= SETTLE_S else "steady"
            held = ts[k][f"{d}_q"].get("backlog_pkts", 0) and ts[k - 1][f"{d}_q"].get("backlog_pkts", 0)
            lost[f"{part}_{'queued' if held else 'empty'}"] += 100 * idle / secs
        out[d] = {k: round(v, 2) for k, v in lost.items()}
    return out


def link_summary(link, a, samples, run_t0):
    """Per direction, from the bottleneck's tx counters sampled through the
    loaded phase: wire utilisation (frame bytes sent / what the rate allows
    in that time) and the goodput ceiling of this load on that link.

    Two windows. 'load' (the figures the table and --check use): the
    busiest --load seconds of the phase, which is when iperf3's data flowed,
    the same time its goodput is counted over. 'phase' (JSON and the notes
    line): first to last sample, which also holds iperf3's connection setup
    and its end-of-test exchange, when no bulk data flows (0.5-1 s here, so
    it reads a few % lower). 'steady' (JSON util_steady_pct and the notes
    line): the load window less its first SETTLE_S seconds, which hold
    TCP's slow start and the flows' backing off from the AQM's first drops
    (a dip of 1-2 s that every loss-based TCP goes through once, and that
    weighs ~3% in an 8 s load): the utilisation a longer load tends to."""
    out = {}
    ts = [x for x in link if x.get("t") is not None]
    if len(ts) < 2 or ts[-1]["t"] <= ts[0]["t"]:
        return out
    best = None
    for i in range(len(ts)):
        for j in range(len(ts) - 1, i, -1):
            if ts[j]["t"] - ts[i]["t"] <= a.load_s + 0.05:
                b = sum(ts[j][d][0] - ts[i][d][0] for d in ("up", "down"))
                if best is None or b > best[0]:
                    best = (b, i, j)
                break
    load = link_window(ts, best[1], best[2], a) if best and best[2] > best[1] else {}
    phase = link_window(ts, 0, len(ts) - 1, a)
    steady = {}
    if load:
        k = next((k for k in range(best[1], best[2]) if ts[k]["t"] >= ts[best[1]]["t"] + SETTLE_S), None)
        if k is not None and ts[best[2]]["t"] - ts[k]["t"] >= 1:
            steady = link_window(ts, k, best[2], a)
    lost = lost_split(ts, best[1], best[2], a) if load else None
    for d in ("up", "down"):
        if d in load:
            out[d] = dict(load[d], window_start_s=round(ts[best[1]]["t"] - run_t0, 3),
                          util_phase_pct=phase[d]["util_pct"], seconds_phase=phase[d]["seconds"])
            if lost:
                out[d]["lost_pts"] = lost[d]
            if d in steady:
                out[d].update(util_steady_pct=steady[d]["util_pct"], seconds_steady=steady[d]["seconds"])
    for prev, cur in zip(ts, ts[1:]):
        dt = cur["t"] - prev["t"]
        if dt <= 0:
            continue
        t = round(cur["t"] - run_t0, 4)
        for d in ("up", "down"):
            samples.append({"t": t, "phase": "loaded", "kind": "link_mbps",
                            "flow": d, "value": round((cur[d][0] - prev[d][0]) * 8 / dt / 1e6, 3)})
            samples.extend(timeline(prev, cur, d, t))
    return out


def timeline(prev, cur, d, t):
    """What the scheduler did between two link samples (drops and marks,
    and its backlog at the second) and, with --tcp-trace, the senders'
    summed congestion window: the samples that explain the link's dips."""
    out = []
    pq, cq = prev.get(d + "_q"), cur.get(d + "_q")
    if pq and cq:
        for k in ("drops_aqm", "drops_limit", "ecn_marks"):
            out.append({"t": t, "phase": "loaded", "kind": k, "flow": d, "value": cq[k] - pq[k]})
        out.append({"t": t, "phase": "loaded", "kind": "backlog_pkts", "flow": d,
                    "value": cq["backlog_pkts"]})
    cw = cur.get("cwnd", {}).get(d)
    if cw:
        out.append({"t": t, "phase": "loaded", "kind": "cwnd_pkts", "flow": d, "value": cw["cwnd_pkts"]})
    return out


def collect(res, ph, rdir, a):
    t0 = ph["t0"] if "t0" in ph else ph["end"]
    res["phases"] = {"idle1": [0, ph["load_start"] - t0], "loaded": [ph["load_start"] - t0, ph["load_end"] - t0],
                     "idle2": [ph["load_end"] - t0, ph["end"] - t0]}
    samples = []
    for kind, data in (("icmp", parse_ping(os.path.join(rdir, "ping.txt"))),
                       ("udp", parse_udp(os.path.join(rdir, "udp.txt")))):
        for t, rtt in data:
            if t < t0 - 1 or t > ph["end"] + 1:
                continue
            samples.append({"t": round(t - t0, 4), "phase": phase_of(t, ph), "kind": f"{kind}_rtt_ms",
                            "flow": kind, "value": rtt})
    ip = parse_iperf(os.path.join(rdir, "iperf3.json"))
    flows = []
    if ip and ip.get("error"):
        res["notes"].append(f"iperf3: {ip['error']}")
    if ip and ip.get("flows") is not None:
        flows = ip["flows"]
        base = ph["load_start"] - t0
        for (s, e, sock, d, mbps) in ip["intervals"]:
            samples.append({"t": round(base + e, 4), "phase": "loaded", "kind": "goodput_mbps",
                            "flow": f"{d}-{sock}", "value": round(mbps, 3)})
    res["samples"] = samples
    if any(f["counted_at"] == "sender" for f in flows):
        res["notes"].append("some goodput counted at the sender (the server's counts never came)")

    def rtts(kind, phase):
        return [s["value"] for s in samples if s["kind"] == kind and s["phase"] in phase
                and s["value"] is not None]

    def lost(kind, phase):
        return sum(1 for s in samples if s["kind"] == kind and s["phase"] in phase and s["value"] is None)

    summ = {}
    for kind in ("icmp_rtt_ms", "udp_rtt_ms"):
        idle = rtts(kind, ("idle1",))
        idle_after = rtts(kind, ("idle2",))
        ld = rtts(kind, ("loaded",))
        summ[kind] = {
            "idle_p50": pct(idle, 50), "idle_after_p50": pct(idle_after, 50),
            "loaded_p50": pct(ld, 50), "loaded_p90": pct(ld, 90), "loaded_p99": pct(ld, 99),
            "loaded_max": max(ld) if ld else None,
            "n_idle": len(idle), "n_loaded": len(ld),
            "lost_loaded": lost(kind, ("loaded",)), "lost_idle": lost(kind, ("idle1", "idle2")),
        }
    up = [f["mbps"] for f in flows if f["dir"] == "up"]
    down = [f["mbps"] for f in flows if f["dir"] == "down"]
    rate_m = a.rate_bps / 1e6
    retx = [f["retransmits"] for f in flows if f.get("retransmits") is not None]
    summ["goodput"] = {
        "up_mbps": sum(up) if up else None, "down_mbps": sum(down) if down else None,
        "up_pct": 100 * sum(up) / rate_m if up else None,
        "down_pct": 100 * sum(down) / rate_m if down else None,
        "total_mbps": (sum(up) + sum(down)) if flows else None,
        "per_flow": [{"dir": f["dir"], "port": f["port"], "mbps": round(f["mbps"], 3),
                      "counted_at": f["counted_at"], "retransmits": f.get("retransmits")}
                     for f in flows],
        "jain_up": jain(up), "jain_down": jain(down), "jain_all": jain(up + down),
        "retransmits_client_sent": sum(retx) if retx else None,
    }
    summ["link"] = link_summary(res.get("link_samples") or [], a, samples, t0)
    for d in ("up", "down"):
        lk, gp = summ["link"].get(d), summ["goodput"][f"{d}_pct"]
        summ["goodput"][f"{d}_pct_of_ceiling"] = (
            100 * gp / lk["ceiling_pct"] if lk and lk.get("ceiling_pct") and gp is not None else None)
    if res["bottleneck"] == "weir":
        res["qdisc"] = parse_fwd_stats(os.path.join(rdir, "weir-fwd.log"))
    res.setdefault("qdisc", {})
    res["summary"] = summ


# ---------------------------------------------------------------- report
