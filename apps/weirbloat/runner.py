# SPDX-License-Identifier: BSD-3-Clause
"""weir-bloat: One run: the bottleneck (weir-fwd or the kernel tbf), the three phases, teardown."""

import json
import os
import re
import socket
import subprocess
import sys
import time
from .common import (FRAME, Fatal, IPERF_PORT, Interrupted, SIGNALS, SRV_IP, UDP_PORT,
                     create_file, fmt_rate, log, make_dir)
from .options import SCHEDULERS
from .proc import nsexec, run
from .path import Path
from .collect import collect


def weir_tree(sched, a):
    """The bottleneck's qdisc tree for weir-fwd (include/weir/qdisc.h)."""
    pkts_long = max(2, int(a.rate_bps * a.long_s / 8 / FRAME))
    pkts_short = max(2, int(a.rate_bps * a.short_s / 8 / FRAME))
    # catchup: the time weir-fwd's lcore was kept off its CPU while
    # packets waited still counts as link time (the emulated wire was busy);
    # without it a shared machine loses 5-12% of the link (tbf's capped_ns).
    shaper = f"tbf rate {fmt_rate(a.rate_bps)} burst 32k catchup 20ms"
    return {
        "fifo-long": f"{shaper} / fifo limit {pkts_long}",
        "fifo-short": f"{shaper} / fifo limit {pkts_short}",
        "fq_codel": f"{shaper} / fq_codel{' ' + a.fq_codel_opts if a.fq_codel_opts else ''}",
        "fq_codel-trend": f"{shaper} / fq_codel trend{' ' + a.fq_codel_opts if a.fq_codel_opts else ''}",
    }[sched]


def fwd_cmd(fwd, a, p0, p1, egress, delay_s, stats_sock=None):
    """weir-fwd between two ports (see weir-fwd --help): bump in the wire,
    the same tree on both egresses, JSON summary at exit (its stats are
    the report's drops and marks), and with stats_sock its live JSON
    telemetry on that unix socket (read for the link utilisation)."""
    q = f"?{a.port_args}" if a.port_args else ""
    cmd = [fwd, "--mode", "l2", "--port", f"{a.port_kind}:{p0}{q}", "--port", f"{a.port_kind}:{p1}{q}",
           "--cores", str(a.fwd_cpu), "--json", "--quiet"]
    if stats_sock:
        cmd += ["--stats-socket", stats_sock]
    if egress:
        cmd += ["--egress", egress]
    if delay_s > 0:
        cmd += ["--delay", f"{delay_s * 1e3:g}ms"]
    return cmd


def read_fwd_telemetry(path, timeout=2.0):
    """One JSON document from weir-fwd's --stats-socket: a client that
    half-closes at once gets the document and the server closes, as
    weir-stat reads it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    return json.loads(buf.decode())


def link_counters(kind, path, sock):
    """Bytes and frames sent so far on each bottleneck egress: 'up' is the
    server side (r1, carries client->server data and the down flows'
    ACKs), 'down' the client side (r0). weir: its ports' tx counters;
    kernel: tbf's own sent counters. Both count Ethernet frames from the
    destination MAC to the end of the payload (no FCS, preamble or gap),
    which is also what both shapers charge against the rate."""
    t = time.time()
    if kind == "weir":
        j = read_fwd_telemetry(sock)
        ports = {p["id"]: p for p in j["ports"]}
        out = {"t": t, "up": (ports[1]["tx_bytes"], ports[1]["tx_packets"]),
               "down": (ports[0]["tx_bytes"], ports[0]["tx_packets"])}
        for d, pid in (("up", 1), ("down", 0)):
            # The scheduler's own counters at the same instant: when it
            # dropped or marked, and what it held (the timeline of the AQM).
            qs = [q.get("qdisc") or {} for q in ports[pid].get("queues", [])]
            out[d + "_q"] = {k: sum(q.get(k, 0) for q in qs)
                             for k in ("drops_aqm", "drops_limit", "ecn_marks", "backlog_pkts")}
        return out
    out = {"t": t}
    for dev, d in (("r1", "up"), ("r0", "down")):
        r = run(nsexec(path.rtr, ["tc", "-s", "-j", "qdisc", "show", "dev", dev]), check=False)
        q = [q for q in json.loads(r.stdout) if q.get("kind") == "tbf"][0]
        out[d] = (q["bytes"], q["packets"])
    return out


def tcp_cwnd(path):
    """Per direction, the load's senders' congestion windows (packets)
    summed, from `ss -tin` on each end: 'up' the client's sending sockets,
    'down' the server's. A socket sends when it has sent more than it
    received (the control connection and the receivers do not)."""
    out = {}
    for d, ns in (("up", path.cli), ("down", path.srv)):
        r = run(nsexec(ns, ["ss", "-tinH", "state", "established"]), check=False, timeout=5)
        cwnd = flows = 0
        for blk in re.split(r"\n(?=\S)", r.stdout):
            num = dict(re.findall(r"\b(cwnd|bytes_sent|bytes_received):(\d+)", blk))
            sent, got = int(num.get("bytes_sent", 0)), int(num.get("bytes_received", 0))
            if f":{IPERF_PORT}" not in blk or sent <= max(got, 100000):
                continue
            flows += 1
            cwnd += int(num.get("cwnd", 0))
        out[d] = {"cwnd_pkts": cwnd, "flows": flows}
    return out


def run_one(idx, sched, a, fwd, outdir, kids, first, results):
    """One scheduler: build the path, idle / loaded / idle, tear down. The
    result is appended to `results` first thing, so whatever happens, what
    ran is reported."""
    kind = SCHEDULERS[sched][0]
    rdir = os.path.join(outdir, f"{idx}-{sched}")
    make_dir(rdir, "run directory")
    res = {"scheduler": sched, "bottleneck": kind, "dir": rdir, "complete": False,
           "rate_bps": a.rate_bps, "delay_ms": a.delay_s * 1e3, "notes": []}
    results.append(res)
    need_dly = kind == "kernel" and a.delay_s > 0
    if (kind == "weir" or need_dly) and not fwd:
        raise Fatal(f"{sched}: needs weir-fwd, which is not built (build it, or pass --weir-fwd PATH)")
    path = Path(f"-{os.getpid()}-{a.token}-{idx}-", need_dly, a.offloads)
    sock = None
    started = []
    ph = {}
    try:
        path.setup()
        fwd_proc = None
        if kind == "weir":
            tree = weir_tree(sched, a)
            res["tree"] = tree
            # In our private directory: short enough for a unix socket
            # path (107 bytes), and nobody else can put anything there.
            sock = os.path.join(a.sock_dir, f"weir-fwd-{idx}.sock")
            cmd = nsexec(path.rtr, fwd_cmd(fwd, a, "r0", "r1", tree, a.delay_s, sock))
        else:
            limit = int(a.rate_bps * (a.long_s if sched == "kernel-tbf" else a.short_s) / 8)
            res["tree"] = f"tbf rate {fmt_rate(a.rate_bps)} burst 32k limit {limit}"
            path.kernel_bottleneck(a.rate_bps, max(limit, 3000))
            cmd = nsexec(path.dly, fwd_cmd(fwd, a, "d0", "d1", None, a.delay_s)) if need_dly else None
        if cmd:
            res["fwd_cmd"] = " ".join(cmd[4:])
            fwd_proc = kids.start("weir-fwd", cmd, os.path.join(rdir, "weir-fwd.log"), a.fwd_cpu)
        if kind == "kernel" and not need_dly:
            res["notes"].append("no delay emulation (weir-fwd absent or --delay 0)")
        if a.ecn:
            for ns in (path.cli, path.srv):
                run(nsexec(ns, ["sysctl", "-qw", "net.ipv4.tcp_ecn=1"]))

        srv = kids.start("iperf3-server", nsexec(path.srv, ["iperf3", "-s", "-p", str(IPERF_PORT)]),
                         os.path.join(rdir, "iperf3-server.log"), a.load_cpu)
        refl = kids.start("udp-reflector",
                          nsexec(path.srv, [sys.executable, os.path.realpath(sys.argv[0]),
                                            "_udp-reflect", str(UDP_PORT)]),
                          os.path.join(rdir, "udp-reflector.log"), a.load_cpu)
        started += [srv, refl]

        # The path must forward before we measure anything on it.
        ok = False
        deadline = time.time() + 8
        while time.time() < deadline:
            if fwd_proc and fwd_proc.poll() is not None:
                msg = open(fwd_proc.weir_out, errors="replace").read().strip()
                raise Fatal(f"{sched}: weir-fwd exited ({fwd_proc.returncode}) before the test: "
                            f"{msg[-800:] or '(no output)'}")
            r = run(nsexec(path.cli, ["ping", "-c", "1", "-W", "1", SRV_IP]), check=False)
            if fwd_proc and fwd_proc.poll() is not None:
                continue     # report the forwarder's own words above
            if r.returncode == 0:
                ok = True
                break
        if not ok:
            raise Fatal(f"{sched}: no path from client to server through the bottleneck "
                        f"(see {rdir}/weir-fwd.log)")
        time.sleep(0.3)

        if first and a.pcap:
            # tcpdump opens the path itself: hand it a file made just now.
            create_file(os.path.abspath(a.pcap)).close()
            cap = kids.start("tcpdump", nsexec(path.cli, [
                "tcpdump", "-i", "c0", "-U", "-s", "128", "-Z", "root", "-c", str(a.pcap_count),
                "-w", os.path.abspath(a.pcap), f"icmp or udp port {UDP_PORT}"]),
                os.path.join(rdir, "tcpdump.log"), a.load_cpu)
            started.append(cap)
            time.sleep(0.5)

        t0 = time.time()
        ph["t0"] = t0
        ping = kids.start("ping", nsexec(path.cli, ["ping", "-D", "-O", "-n", "-i", f"{a.probe_s:g}",
                                                     "-W", "2", SRV_IP]),
                          os.path.join(rdir, "ping.txt"), a.load_cpu)
        udp = kids.start("udp-probe", nsexec(path.cli, [sys.executable, os.path.realpath(sys.argv[0]),
                                                        "_udp-probe", SRV_IP, str(UDP_PORT),
                                                        str(a.probe_s)]),
                         os.path.join(rdir, "udp.txt"), a.load_cpu)
        started += [ping, udp]
        log(f"[{sched}] idle {a.idle_s:g}s")
        ph["load_start"] = ph["load_end"] = t0 + a.idle_s + 3600
        time.sleep(a.idle_s)
        ph["load_start"] = time.time()
        ph["load_end"] = ph["load_start"] + a.load_s + 3600
        log(f"[{sched}] loaded {a.load_s:g}s: {a.flows} {a.cc} flows up + {a.flows} down")
        link = res["link_samples"] = []

        def sample_link():
            # Best effort: a failed read costs the utilisation figure (the
            # report says so), never the run.
            try:
                s = link_counters(kind, path, sock)
                if a.tcp_trace:
                    s["cwnd"] = tcp_cwnd(path)
                link.append(s)
            except (OSError, ValueError, KeyError, IndexError, Fatal,
                    subprocess.TimeoutExpired) as e:
                if not any(n.startswith("link counters") for n in res["notes"]):
                    res["notes"].append(f"link counters: {e}")

        sample_link()
        ipc = kids.start("iperf3", nsexec(path.cli, [
            "iperf3", "-c", SRV_IP, "-p", str(IPERF_PORT), "--bidir", "-P", str(a.flows),
            "-C", a.cc, "-t", f"{a.load_s:g}", "-i", "0.5", "-J"]),
            os.path.join(rdir, "iperf3.json"), a.load_cpu)
        started.append(ipc)
        # Counters every 0.25 s while the load runs (the time series in
        # samples.csv); the first and last samples bound the loaded phase,
        # and the busiest --load seconds between them are iperf3's data.
        deadline = time.time() + a.load_s + 15
        while ipc.poll() is None:
            if time.time() >= deadline:
                res["notes"].append("iperf3 did not finish in time")
                kids.stop(ipc)
                break
            try:
                ipc.wait(0.25)
            except subprocess.TimeoutExpired:
                sample_link()
        sample_link()
        ph["load_end"] = time.time()
        if ipc.returncode not in (0, None):
            res["notes"].append(f"iperf3 exit {ipc.returncode}")
        log(f"[{sched}] idle {a.idle_s:g}s")
        time.sleep(a.idle_s)
        ph["end"] = time.time()
        res["complete"] = True
    except Interrupted:
        res["notes"].append("interrupted")
        ph.setdefault("end", time.time())
        raise
    finally:
        with SIGNALS.shielded():
            teardown(res, ph, path, kind, started, kids, rdir, a)
    return res


def teardown(res, ph, path, kind, started, kids, rdir, a):
    """Stop in reverse order: probes first (ping prints its summary), then
    load, capture, servers, the forwarder (which prints its final stats on
    SIGINT), and last the namespaces; then what ran is collected."""
    try:
        for pr in reversed(started):
            kids.stop(pr)
        if kind == "kernel":
            try:
                res["qdisc"] = path.kernel_stats()
            except Exception as e:     # stats are best effort; cleanup must go on
                res["notes"].append(f"tc stats: {e}")
        kids.stop_all()
    finally:
        path.teardown()
    if ph:
        ph.setdefault("load_start", ph.get("end", time.time()))
        ph.setdefault("load_end", ph.get("end", time.time()))
        ph.setdefault("end", time.time())
        collect(res, ph, rdir, a)
