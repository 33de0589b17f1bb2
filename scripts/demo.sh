#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `make demo`: weir's main job in about a minute. Bufferbloat, A/B/C: the
# same 100 Mbit/s bottleneck with a 40 ms base RTT (weir-fwd between
# network namespaces), under RRUL-like load (4 Cubic flows each way), with a
# long FIFO, a short FIFO and fq_codel in weir's scheduler, plus the
# kernel's own tbf on the same path as the baseline (weir-fwd on afxdp
# ports, weir-bloat's default). Prints the table (RTT, goodput, the
# bottleneck's wire utilisation from weir-fwd's --stats-socket, the load's
# goodput ceiling, fq_codel's three checks) and where the picture is,
# captures a short pcap of the probe traffic and shows that tshark reads it. weir-bloat removes its namespaces itself, also on
# Ctrl-C; this script removes nothing else because it makes nothing else.
#
# usage: scripts/demo.sh [BUILD_DIR]     (make demo passes $(BUILD))
set -euo pipefail

build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"

if [ "$(id -u)" -ne 0 ]; then
	echo "weir demo: needs root (it makes network namespaces, veths and qdiscs)." >&2
	echo "           run: sudo make demo" >&2
	exit 1
fi
fwd=$build/apps/weir-fwd
bloat=$build/apps/weir-bloat
[ -x "$bloat" ] || bloat=$src/apps/weir-bloat.py
if [ ! -x "$fwd" ]; then
	echo "weir demo: $fwd is not built (run: make build)" >&2
	exit 1
fi

out=$build/demo/bloat
rm -rf "$out"
mkdir -p "$out"
pcap=$out/probes.pcap

# 4 runs x (2 s idle + 8 s loaded + 2 s idle + ~1.5 s setup) ~ 55 s.
echo "weir demo: bufferbloat A/B/C through weir-fwd (about a minute)"
echo "+ $bloat --sched fifo-long,fifo-short,fq_codel,kernel-tbf --idle 2s --load 8s --out $out --pcap $pcap"
rc=0
"$bloat" --weir-fwd "$fwd" --sched fifo-long,fifo-short,fq_codel,kernel-tbf \
	--rate 100mbit --delay 20ms --long-buffer 300ms --short-buffer 5ms \
	--idle 2s --load 8s --flows 4 --cc cubic \
	--out "$out" --pcap "$pcap" --pcap-count 400 || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "weir demo: weir-bloat failed (exit $rc); what ran is in $out" >&2
	exit "$rc"
fi

echo
echo "weir demo: probe traffic captured in $pcap; tshark reads it:"
if command -v tshark >/dev/null; then
	n=$(tshark -r "$pcap" 2>/dev/null | wc -l)
	tshark -r "$pcap" -c 6 2>/dev/null | sed 's/^/  /'
	echo "  ... $n packets (ICMP echo and UDP probes, first run)"
	[ "$n" -gt 0 ] || { echo "weir demo: the capture is empty" >&2; exit 1; }
else
	tcpdump -nr "$pcap" -c 6 2>/dev/null | sed 's/^/  /'
fi
echo
echo "weir demo: table: $out/summary.txt"
echo "weir demo: every sample: $out/samples.csv and $out/report.json"
echo "weir demo: picture (latency over time and CDFs): $(cd "$out" && pwd)/latency.svg"
