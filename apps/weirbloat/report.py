# SPDX-License-Identifier: BSD-3-Clause
"""weir-bloat: The table, the verdicts, the SVG picture and report.json."""

import json
import math
import os
import sys
from .common import (FRAME, HDR, PROG, SETTLE_S, create_file, fmt_rate)


def f1(v, w=6, d=None):
    if d is None:    # RTTs: two decimals below 10 ms, where they matter
        d = 2 if isinstance(v, (int, float)) and abs(v) < 10 else 1
    return f"{v:{w}.{d}f}" if isinstance(v, (int, float)) else f"{'-':>{w}}"


def table(results, a):
    hdr = (f"{'scheduler':<17} {'idle':>6} {'p50':>6} {'p90':>6} {'p99':>6} {'max':>6} "
           f"{'udp99':>6} | {'up':>6} {'down':>6} {'up%':>5} {'dn%':>5} {'jain':>5} | "
           f"{'lk-up':>5} {'lk-dn':>5} {'ceil%':>5} {'gc-up':>5} {'gc-dn':>5} | "
           f"{'drops':>7} {'marks':>6} {'lost':>5}")
    lines = [f"weir-bloat: bottleneck {fmt_rate(a.rate_bps)}, base RTT {2 * a.delay_s * 1e3:g} ms "
             f"(+{a.delay_s * 1e3:g} ms each way), {a.flows}+{a.flows} {a.cc} flows, "
             f"phases idle {a.idle_s:g}s / loaded {a.load_s:g}s / idle {a.idle_s:g}s, "
             f"weir-fwd ports {a.port_kind}",
             "RTT in ms (ICMP unless noted; loaded = during the TCP load); up/down: goodput in "
             "Mbit/s (TCP payload, receiver side), up%/dn%: goodput as % of the rate",
             hdr, "-" * len(hdr)]
    for r in results:
        s = r.get("summary")
        if not s:
            lines.append(f"{r['scheduler'] + '*':<17} (no data, see the note below)")
            continue
        i, u, g, q = s["icmp_rtt_ms"], s["udp_rtt_ms"], s["goodput"], r.get("qdisc", {})
        lk = s.get("link", {})
        lu, ld = lk.get("up", {}), lk.get("down", {})
        ceil = [x["ceiling_pct"] for x in (lu, ld) if x.get("ceiling_pct") is not None]
        jn = g["jain_all"]
        lost = i["lost_loaded"] + u["lost_loaded"]
        tag = r["scheduler"] + ("" if r["complete"] else "*")
        lines.append(
            f"{tag:<17} {f1(i['idle_p50'])} {f1(i['loaded_p50'])} {f1(i['loaded_p90'])} "
            f"{f1(i['loaded_p99'])} {f1(i['loaded_max'])} {f1(u['loaded_p99'])} | "
            f"{f1(g['up_mbps'], d=1)} {f1(g['down_mbps'], d=1)} {f1(g['up_pct'], 5, 0)} {f1(g['down_pct'], 5, 0)} "
            f"{f1(jn, 5, 3)} | {f1(lu.get('util_pct'), 5, 1)} {f1(ld.get('util_pct'), 5, 1)} "
            f"{f1(min(ceil) if ceil else None, 5, 1)} {f1(g.get('up_pct_of_ceiling'), 5, 1)} "
            f"{f1(g.get('down_pct_of_ceiling'), 5, 1)} | "
            f"{q.get('drops', '-'):>7} {q.get('marks', '-'):>6} {lost:>5}")
    lines.append("goodput per flow (Mbit/s):")
    for r in results:
        g = (r.get("summary") or {}).get("goodput")
        if not g or not g["per_flow"]:
            continue
        per = {d: " ".join(f"{f['mbps']:.1f}" for f in g["per_flow"] if f["dir"] == d) for d in ("up", "down")}
        lines.append(f"  {r['scheduler']:<17} up [{per['up']}]  down [{per['down']}]  "
                     f"Jain up {f1(g['jain_up'], 1, 3)} down {f1(g['jain_down'], 1, 3)}")
    lines.append(f"lk-up/lk-dn: bottleneck wire utilisation during the load, per direction: frame "
                 "bytes sent (Ethernet header to payload end; no FCS, preamble or gap: what the "
                 f"shaper charges) x 8 / (rate x time), over the busiest {a.load_s:g} s of the "
                 "loaded phase (iperf3's data time, as goodput)")
    lines.append(f"ceil%: most TCP goodput this load can reach on a full link: payload "
                 f"{FRAME - HDR}/{FRAME} of a full-size frame ({100 * (FRAME - HDR) / FRAME:.1f}%) "
                 "less the reverse flows' ACK share, measured from the link's frame counts (lower "
                 "direction shown); gc-up/gc-dn: goodput as % of that ceiling")
    for r in results:
        lk = (r.get("summary") or {}).get("link")
        if lk and "up" in lk:
            lines.append(f"  {r['scheduler']:<17} link " + "; ".join(
                f"{d} {lk[d]['mbps']:.1f} Mbit/s of frames in {lk[d]['seconds']:.1f} s, ACK "
                f"share {lk[d]['ack_share_pct']:.1f}%, ceiling {lk[d]['ceiling_pct']:.1f}%"
                for d in ("up", "down")) +
                f"; whole phase ({lk['up']['seconds_phase']:.1f} s, with iperf3's setup and "
                f"end) up {lk['up']['util_phase_pct']:.1f}% down {lk['down']['util_phase_pct']:.1f}%"
                + (f"; steady, after the first {SETTLE_S:g} s (TCP's start and its first backing "
                   f"off) up {lk['up']['util_steady_pct']:.1f}% down {lk['down']['util_steady_pct']:.1f}%"
                   if "util_steady_pct" in lk["up"] and "util_steady_pct" in lk["down"] else "")
                + (f"; idle link, % of the window (first {SETTLE_S:g} s: queue empty/held; after: empty/held) "
                   + " ".join(f"{d} {x['start_empty']:.1f}/{x['start_queued']:.1f} "
                              f"{x['steady_empty']:.1f}/{x['steady_queued']:.1f}"
                              for d, x in ((d, lk[d]["lost_pts"]) for d in ("up", "down")))
                   if "lost_pts" in lk["up"] and "lost_pts" in lk["down"] else ""))
    if any(not r["complete"] for r in results):
        lines.append("* incomplete run (interrupted or failed); figures cover what ran")
    for r in results:
        for n in r.get("notes", []):
            lines.append(f"note: {r['scheduler']}: {n}")
    return "\n".join(lines)


def verdicts(results):
    out, ok = [], True
    for r in results:
        s = r.get("summary")
        name = r["scheduler"]
        if name not in ("fq_codel", "fq_codel-trend") or not s:
            continue
        i, g, lk = s["icmp_rtt_ms"], s["goodput"], s.get("link", {})
        need = (i["idle_p50"], i["loaded_p99"], g["up_pct"], g["down_pct"],
                g.get("up_pct_of_ceiling"), g.get("down_pct_of_ceiling"))
        if None in need or "up" not in lk or "down" not in lk:
            out.append(f"{name}: not enough data for a verdict (RTT, goodput and link counters "
                       "are all needed)")
            ok = False
            continue
        lat_ok = i["loaded_p99"] <= i["idle_p50"] + 10
        ut_ok = min(lk["up"]["util_pct"], lk["down"]["util_pct"]) >= 90
        gc_ok = min(g["up_pct_of_ceiling"], g["down_pct_of_ceiling"]) >= 90
        ok = ok and lat_ok and ut_ok and gc_ok
        pf = lambda v: "PASS" if v else "FAIL"     # noqa: E731
        out.append(f"{name} check 1, latency: loaded p99 {i['loaded_p99']:.1f} ms <= idle "
                   f"{i['idle_p50']:.1f} + 10 ms: {pf(lat_ok)}")
        out.append(f"{name} check 2, link utilisation: up {lk['up']['util_pct']:.1f}% down "
                   f"{lk['down']['util_pct']:.1f}% of the rate (busiest {lk['up']['seconds']:.1f} s) >= 90%: "
                   f"{pf(ut_ok)}")
        out.append(f"{name} check 3, goodput vs ceiling: up {g['up_pct']:.1f}/"
                   f"{lk['up']['ceiling_pct']:.1f} = {g['up_pct_of_ceiling']:.1f}%, down "
                   f"{g['down_pct']:.1f}/{lk['down']['ceiling_pct']:.1f} = "
                   f"{g['down_pct_of_ceiling']:.1f}% >= 90%: {pf(gc_ok)} (raw goodput, % of the "
                   f"rate, is up%/dn% in the table)")
    return out, ok


COLORS = ["#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b"]


def svg_report(results, a, path):
    """Latency over time (log scale, ICMP dots, loaded phase shaded) for every
    scheduler, and the CDFs of their loaded RTT, in one self-made SVG."""
    W, H = 1000, 780
    L, R = 70, 20
    pw = W - L - R
    top = (60, 390)     # time series panel y range
    bot = (460, 730)    # CDF panel
    rt = [s["value"] for r in results for s in r.get("samples", [])
          if s["kind"].endswith("rtt_ms") and s["value"] is not None]
    if not rt:
        rt = [1.0]
    lo = 10 ** math.floor(math.log10(max(min(rt), 0.01)))
    hi = 10 ** math.ceil(math.log10(max(rt) * 1.05))
    if hi <= lo:
        hi = lo * 10
    tmax = max([r["phases"]["idle2"][1] for r in results if r.get("phases")] + [1])

    def ly(v, y0, y1):
        v = min(max(v, lo), hi)
        return y1 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (y1 - y0)

    def lx(v):
        v = min(max(v, lo), hi)
        return L + (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * pw

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="16">weir-bloat: RTT through a '
         f'{fmt_rate(a.rate_bps)} bottleneck, base RTT {2 * a.delay_s * 1e3:g} ms, '
         f'{a.flows}+{a.flows} {a.cc} flows</text>',
         f'<text x="{W / 2}" y="42" text-anchor="middle" fill="#555">ICMP RTT over time (log scale); '
         f'shaded: loaded phase</text>']
    # shaded loaded phase (from the first run that has one)
    for r in results:
        if r.get("phases"):
            s, e = r["phases"]["loaded"]
            x0, x1 = L + s / tmax * pw, L + e / tmax * pw
            o.append(f'<rect x="{x0:.1f}" y="{top[0]}" width="{max(x1 - x0, 0):.1f}" '
                     f'height="{top[1] - top[0]}" fill="#eee"/>')
            break
    for y0, y1, title in ((top[0], top[1], "RTT (ms)"),):
        o.append(f'<rect x="{L}" y="{y0}" width="{pw}" height="{y1 - y0}" fill="none" stroke="#888"/>')
        o.append(f'<text x="18" y="{(y0 + y1) / 2}" transform="rotate(-90 18 {(y0 + y1) / 2})" '
                 f'text-anchor="middle">{title}</text>')
    dec = lo
    while dec <= hi * 1.0001:
        for mul in (1, 2, 5):
            v = dec * mul
            if lo <= v <= hi:
                y = ly(v, *top)
                x = lx(v)
                o.append(f'<line x1="{L}" x2="{L + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
                o.append(f'<text x="{L - 5}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
                o.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bot[0]}" y2="{bot[1]}" stroke="#ddd"/>')
                o.append(f'<text x="{x:.1f}" y="{bot[1] + 15}" text-anchor="middle">{v:g}</text>')
        dec *= 10
    step = 1 if tmax <= 15 else 2 if tmax <= 30 else 5 if tmax <= 80 else 10
    t = 0
    while t <= tmax:
        x = L + t / tmax * pw
        o.append(f'<text x="{x:.1f}" y="{top[1] + 15}" text-anchor="middle">{t:g}</text>')
        t += step
    o.append(f'<text x="{L + pw / 2}" y="{top[1] + 32}" text-anchor="middle">time since start of run (s)</text>')
    for n, r in enumerate(results):
        c = COLORS[n % len(COLORS)]
        pts = [(s["t"], s["value"]) for s in r.get("samples", []) if s["kind"] == "icmp_rtt_ms"
               and s["value"] is not None]
        if pts:
            d = " ".join(f"{'M' if k == 0 else 'L'}{L + t / tmax * pw:.1f},{ly(v, *top):.1f}"
                         for k, (t, v) in enumerate(pts))
            o.append(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="1.2" opacity="0.85"/>')
        lost = [s["t"] for s in r.get("samples", []) if s["kind"] == "icmp_rtt_ms" and s["value"] is None]
        for t in lost:
            o.append(f'<text x="{L + t / tmax * pw:.1f}" y="{top[0] + 10}" fill="{c}" '
                     f'text-anchor="middle" font-size="9">x</text>')
    # CDF panel
    o.append(f'<text x="{W / 2}" y="{bot[0] - 12}" text-anchor="middle" fill="#555">CDF of RTT during '
             f'the loaded phase (ICMP + UDP probes; log x)</text>')
    o.append(f'<rect x="{L}" y="{bot[0]}" width="{pw}" height="{bot[1] - bot[0]}" fill="none" stroke="#888"/>')
    for fr in (0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0):
        y = bot[1] - fr * (bot[1] - bot[0])
        o.append(f'<line x1="{L}" x2="{L + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        if fr != 1.0:      # 0.99 and 1 would overprint
            o.append(f'<text x="{L - 5}" y="{y + 4:.1f}" text-anchor="end">{fr:g}</text>')
    o.append(f'<text x="{L + pw / 2}" y="{bot[1] + 32}" text-anchor="middle">RTT (ms)</text>')
    for n, r in enumerate(results):
        c = COLORS[n % len(COLORS)]
        v = sorted(s["value"] for s in r.get("samples", []) if s["kind"].endswith("rtt_ms")
                   and s["phase"] == "loaded" and s["value"] is not None)
        if v:
            d = " ".join(f"{'M' if k == 0 else 'L'}{lx(x):.1f},{bot[1] - (k + 1) / len(v) * (bot[1] - bot[0]):.1f}"
                         for k, x in enumerate(v))
            o.append(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="2"/>')
        s = r.get("summary", {}).get("icmp_rtt_ms", {})
        label = (f"{r['scheduler']}: idle {f1(s.get('idle_p50')).strip()} ms, loaded p99 "
                 f"{f1(s.get('loaded_p99')).strip()} ms")
        o.append(f'<rect x="{L + 10}" y="{top[0] + 8 + n * 18}" width="12" height="12" fill="{c}"/>')
        o.append(f'<text x="{L + 28}" y="{top[0] + 18 + n * 18}">{label}</text>')
    o.append("</svg>")
    with create_file(path) as f:
        f.write("\n".join(o) + "\n")


def write_report(results, a, outdir, started_at):
    csv_path = os.path.join(outdir, "samples.csv")
    with create_file(csv_path) as f:
        f.write("run,scheduler,t_s,phase,kind,flow,value\n")
        for n, r in enumerate(results):
            for s in r.get("samples", []):
                v = "" if s["value"] is None else s["value"]
                f.write(f"{n},{r['scheduler']},{s['t']},{s['phase']},{s['kind']},{s['flow']},{v}\n")
    ver, ok = verdicts(results)
    rep = {
        "tool": PROG, "started": started_at, "argv": sys.argv[1:],
        "config": {"rate_bps": a.rate_bps, "delay_ms_each_way": a.delay_s * 1e3,
                   "base_rtt_ms": 2 * a.delay_s * 1e3, "long_buffer_ms": a.long_s * 1e3,
                   "short_buffer_ms": a.short_s * 1e3, "idle_s": a.idle_s, "load_s": a.load_s,
                   "flows_each_way": a.flows, "cc": a.cc, "ecn": a.ecn,
                   "probe_interval_ms": a.probe_s * 1e3, "port_kind": a.port_kind,
                   "offloads": a.offloads,
                   "port_args": a.port_args},
        "runs": [{k: v for k, v in r.items() if k != "samples"} for r in results],
        "verdicts": ver,
        "samples": [dict(s, run=n, scheduler=r["scheduler"]) for n, r in enumerate(results)
                    for s in r.get("samples", [])],
    }
    with create_file(os.path.join(outdir, "report.json")) as f:
        json.dump(rep, f, indent=1)
    svg = os.path.join(outdir, "latency.svg")
    svg_report(results, a, svg)
    txt = table(results, a)
    if ver:
        txt += "\n" + "\n".join(ver)
    with create_file(os.path.join(outdir, "summary.txt")) as f:
        f.write(txt + "\n")
    return txt, svg, ok


# ---------------------------------------------------------------- main
