#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# `make bench`: every side-by-side benchmark, one after the other, each
# against its anchor in the same run (DPDK, testpmd, the kernel), printing
# medians and ratios. Run it on a quiet machine, as root (the veth benches
# make their own namespaces). Output also goes to BUILD/bench-results.txt.
#
#   scripts/bench.sh [BUILD_DIR]      env: QUICK=1 for shorter runs
set -uo pipefail
b=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
out="$b/bench-results.txt"
secs=5 runs=3 idle=10 pings=20
[ "${QUICK:-0}" = 1 ] && secs=2 runs=1 idle=3 pings=5

run() {
	echo "=== $*"
	"$@" 2>&1
	echo
}

{
	echo "weir benchmarks, $(date -u '+%F %T') UTC, $(nproc) CPUs, kernel $(uname -r)"
	[ -x "$b/bench/micro" ] && run "$b/bench/micro"
	run "$src/bench/nullfwd.sh" "$b" "$secs" "$runs"
	run "$b/bench/qdisc" 10 5
	[ -x "$b/apps/weir-blk" ] && run "$src/bench/blk.sh" "$b" "$secs" "$runs"
	if [ "$(id -u)" -eq 0 ]; then
		REPS=$runs SECS=$secs run "$src/bench/afpacket.sh" "$b"
		[ -x "$b/bench/afxdp" ] && run "$src/bench/afxdp.sh" "$b" "$secs" "$runs"
		run "$src/bench/fwd.sh" "$b" "$secs" "$runs" all
		run "$src/bench/tcp_fwd.sh" "$b" "$((secs * 2))" "$runs"
		run "$src/bench/idle.sh" "$b" "$idle" "$pings"
	else
		echo "=== veth benchmarks skipped: they need root (namespaces, AF_PACKET, AF_XDP)"
	fi
} | tee "$out"
echo "weir: results in $out"
