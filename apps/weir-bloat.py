#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""weir-bloat: a bufferbloat meter, flent's RRUL test built in.

It builds a path client -- bottleneck -- server out of network namespaces
and veth pairs, shapes the bottleneck (weir-fwd's scheduler, or the
kernel's own tbf as the comparison baseline), and runs three phases on it:
idle, loaded, idle. Latency probes (ICMP echo answered by the server's
kernel, plus timestamped UDP probes echoed by a reflector) run through all
three; the load is the kernel's TCP (Cubic: this kernel's default, BBR,
keeps queues short by itself and would hide the bloat) in several iperf3
bulk flows in both directions, as RRUL does. The same test runs once per
scheduler, and the report puts them side by side: idle RTT, loaded RTT
p50/p90/p99/max, goodput per flow and total, Jain's fairness, drops/marks,
and the bottleneck itself: its wire utilisation per direction (weir-fwd's
tx counters read from its --stats-socket, or tc's for the kernel tbf) and
the goodput ceiling of this load (payload share of a full-size frame less
the reverse ACKs), so goodput can be judged against what is possible.

Why a script: this is orchestration (namespaces, iperf3, ping, tcpdump), not
a fast path; every sample still comes from real packets. Every child writes
its output to a file in the report directory as it goes, so an interrupted
run (Ctrl-C, a crashed forwarder) still leaves a report of what ran, and
namespaces are always removed (try/finally, and signals turned into an
exception; teardown defers further signals, so a second Ctrl-C cannot cut
it short).

It runs as root, so it writes only into directories it made or the caller
owns, creates each file anew (O_EXCL|O_NOFOLLOW: an old file or a planted
symlink of that name is unlinked, never followed), owner-only and owned by
the user sudo names, keeps weir-fwd's socket in a private temporary
directory, and names its namespaces with its PID and a random token.

Standard library only.
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# The parts live in weirbloat/ beside this script (a copy of it sits in the
# build directory next to weir-fwd, with a copy of the package).
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from weirbloat.common import (Fatal, Interrupted, SIGNALS, check_dir, log, make_dir)  # noqa: E402
from weirbloat.options import build_args  # noqa: E402
from weirbloat.proc import Children, find_weir_fwd  # noqa: E402
from weirbloat.path import udp_probe, udp_reflect  # noqa: E402
from weirbloat.runner import run_one  # noqa: E402
from weirbloat.report import write_report  # noqa: E402


def preflight(a):
    if os.geteuid() != 0:
        raise Fatal("needs root (network namespaces, veths, qdiscs): run it with sudo")
    for tool in ("ip", "tc", "iperf3", "ping", "ethtool", "taskset") + (("tcpdump",) if a.pcap else ()):
        if not shutil.which(tool):
            raise Fatal(f"'{tool}' not found: install it (scripts/deps.sh lists the packages)")
    cc = open("/proc/sys/net/ipv4/tcp_available_congestion_control").read().split()
    if a.cc not in cc:
        raise Fatal(f"--cc {a.cc}: this kernel offers {', '.join(cc)}")


def main(argv):
    if argv and argv[0] == "_udp-reflect":
        udp_reflect(int(argv[1]))
        return 0
    if argv and argv[0] == "_udp-probe":
        signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        udp_probe(argv[1], int(argv[2]), float(argv[3]))
        return 0
    a = build_args(argv)

    signal.signal(signal.SIGINT, SIGNALS.handler)
    signal.signal(signal.SIGTERM, SIGNALS.handler)
    a.token = secrets.token_hex(3)
    a.sock_dir = None
    kids = Children()
    results = []
    status = 0
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        preflight(a)
        fwd = find_weir_fwd(a.weir_fwd)
        make_dir(a.out, "--out")
        if a.pcap:
            check_dir(os.path.dirname(os.path.abspath(a.pcap)), "--pcap's directory")
        a.sock_dir = tempfile.mkdtemp(prefix="weir-bloat-")
        for n, sched in enumerate(a.scheds):
            run_one(n, sched, a, fwd, a.out, kids, n == 0, results)
    except Interrupted as e:
        log(f"interrupted ({e}): namespaces removed; writing the report of what ran")
        status = 130
    except Fatal as e:
        log(str(e))
        if results:
            results[-1]["notes"].append(str(e))
        status = 1
    except subprocess.TimeoutExpired as e:
        log(f"a setup command hung: {e}")
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        kids.stop_all()
        if a.sock_dir:
            shutil.rmtree(a.sock_dir, ignore_errors=True)
    # A run that failed part way is in results with its notes; keep it in
    # the table so the failure shows next to what did run.
    if results and os.path.isdir(a.out):
        txt, svg, ok = write_report(results, a, a.out, started_at)
        print(txt, flush=True)
        print(f"report: {os.path.abspath(a.out)}/report.json, samples.csv; picture: {os.path.abspath(svg)}",
              flush=True)
        if a.check and status == 0 and not ok:
            status = 3
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
