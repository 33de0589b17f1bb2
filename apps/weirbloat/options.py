# SPDX-License-Identifier: BSD-3-Clause
"""weir-bloat: The schedulers offered and the command line."""

import argparse
import os
import re
from .common import PROG, parse_rate, parse_time


SCHEDULERS = {
    # name: (bottleneck, description)
    "fifo-long": ("weir", "weir tbf + long fifo"),
    "fifo-short": ("weir", "weir tbf + short fifo"),
    "fq_codel": ("weir", "weir tbf + fq_codel"),
    "fq_codel-trend": ("weir", "weir tbf + fq_codel trend: no drop while the flow's queue drains"),
    "kernel-tbf": ("kernel", "kernel tbf, long buffer"),
    "kernel-tbf-short": ("kernel", "kernel tbf, short buffer"),
}


def build_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Bufferbloat meter (RRUL-like): idle / loaded / idle phases through a "
                    "shaped bottleneck, once per scheduler, reported side by side. Needs root.",
        epilog="schedulers: " + ", ".join(f"{k} ({v[1]})" for k, v in SCHEDULERS.items()) +
               ". Example: weir-bloat --sched fifo-long,fifo-short,fq_codel --out report/")
    p.add_argument("--sched", default="fifo-long,fifo-short,fq_codel",
                   help="comma-separated schedulers to compare (default %(default)s)")
    p.add_argument("--rate", default="100mbit", help="bottleneck rate (default %(default)s)")
    p.add_argument("--delay", default="20ms",
                   help="one-way delay added by weir-fwd in each direction; base RTT is twice "
                        "this (default %(default)s; 0 for none)")
    p.add_argument("--long-buffer", default="300ms",
                   help="long fifo's buffer, as time at the bottleneck rate (default %(default)s)")
    p.add_argument("--short-buffer", default="5ms",
                   help="short fifo's buffer, as time at the bottleneck rate (default %(default)s)")
    p.add_argument("--idle", default="3s", help="idle phase before and after the load (default %(default)s)")
    p.add_argument("--load", default="10s", help="loaded phase (default %(default)s)")
    p.add_argument("--flows", type=int, default=4,
                   help="TCP bulk flows in EACH direction (default %(default)s)")
    p.add_argument("--cc", default="cubic", help="TCP congestion control of the load (default %(default)s)")
    p.add_argument("--ecn", action="store_true", help="let the TCP load negotiate ECN")
    p.add_argument("--fq-codel-opts", default="",
                   help="parameters for weir's fq_codel, as tc takes them (e.g. 'interval 40ms', "
                        "'noecn'; default: none, tc's defaults: target 5ms interval 100ms ecn)")
    p.add_argument("--tcp-trace", action="store_true",
                   help="also sample the load's congestion windows (ss -tin on both ends, with "
                        "the link counters every 0.25 s) into samples.csv (kind cwnd_pkts)")
    p.add_argument("--probe-interval", default="20ms",
                   help="interval of each probe stream, ICMP and UDP (default %(default)s)")
    p.add_argument("--port-kind", default="afxdp", choices=["afxdp", "afpacket"],
                   help="weir-fwd driver for its two ports (default %(default)s; afxdp mounts "
                        "bpffs itself if it is missing. afpacket (without --port-args wake=1, its per-frame "
                        "wake ring) receives in TPACKET_V3 blocks, which a block that does not fill "
                        "hands over only on its retire timer: up to 1 ms on a 6.18 kernel, a jiffy "
                        "on older ones)")
    p.add_argument("--port-args", default=None,
                   help="driver arguments added to both of weir-fwd's port specs (default for "
                        "afpacket: 'blocks=128', a 32 MB RX ring of 256 KiB blocks: zero-copy RX pins ring blocks "
                        "while their frames sit in the delay line and the queue, and the default "
                        "4 MB ring overflows before a 300 ms FIFO fills)")
    p.add_argument("--offloads", default="keep", choices=["keep", "off"],
                   help="the hosts' veth offloads: keep Linux's defaults (tx-checksumming, "
                        "TSO/GSO on: partial checksums and 64 KiB super-frames reach weir-fwd) "
                        "or switch them off with ethtool (default %(default)s)")
    p.add_argument("--weir-fwd", default=None,
                   help="path to weir-fwd (default: next to this program, else $PATH)")
    p.add_argument("--fwd-cpu", type=int, default=1, help="core for weir-fwd (default %(default)s)")
    p.add_argument("--load-cpu", type=int, default=0,
                   help="core for iperf3, probes and capture (default %(default)s)")
    p.add_argument("--out", default="weir-bloat-report", help="report directory (default %(default)s)")
    p.add_argument("--pcap", default=None,
                   help="capture the probe traffic (ICMP and UDP probes) of the first run to this file")
    p.add_argument("--pcap-count", type=int, default=600, help="packets to capture (default %(default)s)")
    p.add_argument("--check", action="store_true",
                   help="exit 3 unless every fq_codel (and fq_codel-trend) run keeps loaded p99 <= idle + 10 ms, "
                        "uses >= 90%% of the bottleneck rate on the wire in each direction, and "
                        "gets >= 90%% of this load's goodput ceiling (payload share of the frames "
                        "less the reverse ACKs) in each direction")
    a = p.parse_args(argv)

    def bad(msg):
        p.error(msg)      # prints usage + message, exits 2

    try:
        a.rate_bps = parse_rate(a.rate)
        a.delay_s = parse_time(a.delay)
        a.long_s = parse_time(a.long_buffer)
        a.short_s = parse_time(a.short_buffer)
        a.idle_s = parse_time(a.idle, "s")
        a.load_s = parse_time(a.load, "s")
        a.probe_s = parse_time(a.probe_interval)
    except ValueError as e:
        bad(str(e))
    if not 1e6 <= a.rate_bps <= 10e9:
        bad(f"--rate {a.rate}: impossible bottleneck rate; it must be between 1mbit and 10gbit "
            "(a veth path through a user-space forwarder carries a few Gbit/s at most, and below "
            "1mbit the probes alone fill the link)")
    if a.delay_s > 1.0:
        bad(f"--delay {a.delay}: at most 1s one way")
    if not 0.0005 <= a.short_s <= a.long_s <= 10:
        bad("buffers: need 0.5ms <= --short-buffer <= --long-buffer <= 10s")
    if a.idle_s < 1 or a.load_s < 2 or a.idle_s > 600 or a.load_s > 3600:
        bad("phases: need --idle >= 1s and --load >= 2s")
    if not 1 <= a.flows <= 32:
        bad(f"--flows {a.flows}: need 1..32 flows per direction")
    if not 0.002 <= a.probe_s <= 1:
        bad("--probe-interval: need 2ms..1s")
    if not re.fullmatch(r"[A-Za-z0-9_. ]*", a.fq_codel_opts):
        bad(f"--fq-codel-opts '{a.fq_codel_opts}': only fq_codel's own words and values "
            "(e.g. 'interval 40ms target 5ms noecn'), no '/' or braces")
    if a.port_args is None:
        a.port_args = "blocks=128" if a.port_kind == "afpacket" else ""
    a.scheds = [s.strip() for s in a.sched.split(",") if s.strip()]
    if not a.scheds:
        bad("--sched: empty list")
    for s in a.scheds:
        if s not in SCHEDULERS:
            bad(f"--sched: unknown scheduler '{s}' (known: {', '.join(SCHEDULERS)})")
    ncpu = os.cpu_count() or 1
    for opt, c in (("--fwd-cpu", a.fwd_cpu), ("--load-cpu", a.load_cpu)):
        if not 0 <= c < ncpu:
            bad(f"{opt} {c}: this machine has cores 0..{ncpu - 1}")
    return a


# ---------------------------------------------------------------- processes
