#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench/fwd_cpu: CPU time per forwarded 64-byte packet, weir-fwd against
# dpdk-testpmd io, on DPDK's net_null vdevs (weir through the dpdk:
# bridge) and on weir's own null: ports. On a shared machine a Mpps figure
# mostly says how much of the CPU the forwarder got; CPU time (perf stat
# task-clock of the forwarder's process) per packet sent says what each
# packet costs, whoever else runs.
#
#   bench/fwd_cpu.sh [BUILD_DIR] [SECONDS] [RUNS]
#
# Prints per run: packets/s of wall time, ns of CPU per packet, the share
# of a CPU the forwarder got; then the medians and the CPU-time ratio
# testpmd/weir (higher is better for weir, as in bench/fwd).
set -uo pipefail

build=${1:-build}
secs=${2:-3}
runs=${3:-3}
FWD=$build/apps/weir-fwd
STAT=$build/apps/weir-stat
fcpu=$(($(nproc) - 1))

for b in "$FWD" "$STAT"; do
	[ -x "$b" ] || { echo "fwd_cpu.sh: $b not built (ninja -C $build)" >&2; exit 1; }
done
for c in dpdk-testpmd perf; do
	command -v "$c" >/dev/null || { echo "fwd_cpu.sh: $c not found; skipping" >&2; exit 77; }
done
. "$(dirname "$0")/lib/rows.sh"
TMP=$(mktemp -d /tmp/weir-fwd-cpu.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# task_ms PID: ms of CPU the process's threads run over the next secs.
task_ms() {
	perf stat -x, -e task-clock -p "$1" -o "$TMP/perf" -- sleep "$secs" >/dev/null 2>&1
	grep ',task-clock' "$TMP/perf" | cut -d, -f1
}

# weir_run SPEC0 SPEC1: "packets ms" over one window.
weir_run() {
	local sock=$TMP/fwd.sock pid a b ms
	taskset -c "$fcpu" "$FWD" -p "$1" -p "$2" -m io -c "$fcpu" --quiet --stats-socket "$sock" \
		>/dev/null 2>&1 &
	pid=$!
	sleep 2
	a=$("$STAT" "$sock" 2>/dev/null)
	ms=$(task_ms "$pid")
	b=$("$STAT" "$sock" 2>/dev/null)
	kill -INT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	python3 - "$a" "$b" "$ms" <<'PY'
import json, sys
try:
    a, b = (json.loads(x) for x in sys.argv[1:3])
    tx = lambda d: sum(p["tx_packets"] for p in d["ports"])
    print(tx(b) - tx(a), sys.argv[3])
except Exception:
    print("0 0")
PY
}

# testpmd_run: "packets ms" over one window (TX-packets of both ports).
testpmd_run() {
	local log=$TMP/tp.log pid tp ms
	coproc TP { dpdk-testpmd -l "0,$fcpu" --main-lcore 0 --no-huge -m 512 --no-pci \
		--file-prefix "weir-fwd-cpu-$$" --vdev net_null0,size=64 --vdev net_null1,size=64 -- \
		-i --forward-mode=io --total-num-mbufs 32768 --nb-cores=1 --burst=32 \
		--rxq=1 --txq=1 >"$log" 2>&1; }
	pid=$TP_PID
	sleep 3
	echo start >&"${TP[1]}"
	sleep 2
	tp=$(pgrep -P "$pid" dpdk-testpmd || echo "$pid")
	echo "show port stats all" >&"${TP[1]}"
	sleep 0.2
	ms=$(task_ms "$tp")
	echo "show port stats all" >&"${TP[1]}"
	sleep 0.3
	echo stop >&"${TP[1]}"
	echo quit >&"${TP[1]}"
	wait "$pid" 2>/dev/null
	grep -o 'TX-packets: *[0-9]*' "$log" | awk '{print $2}' | head -n 4 | paste -sd' ' |
		awk -v ms="$ms" 'NF == 4 {print ($3 + $4) - ($1 + $2), ms; next} {print "0 0"}'
}

show() { # NAME "packets ms"
	awk -v n="$1" -v s="$secs" '{if ($1 > 0) printf "  %-8s %7.2f Mpps, %6.2f ns CPU/pkt, %3.0f%% of a CPU\n", n, $1 / s / 1e6, $2 * 1e6 / $1, $2 / s / 10; else printf "  %-8s failed\n", n}' <<<"$2"
}

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "CPU time per forwarded packet, 64 B io, forwarder on CPU $fcpu, ${secs}s x $runs"
D=() T=() N=()
for i in $(seq 1 "$runs"); do
	r=$(weir_run "dpdk:net_null0,size=64" "dpdk:net_null1,size=64"); show "dpdk:" "$r"
	D+=("$(awk '$1 > 0 {print $2 * 1e6 / $1}' <<<"$r")")
	r=$(testpmd_run); show testpmd "$r"
	T+=("$(awk '$1 > 0 {print $2 * 1e6 / $1}' <<<"$r")")
	r=$(weir_run "null:" "null:"); show "null:" "$r"
	N+=("$(awk '$1 > 0 {print $2 * 1e6 / $1}' <<<"$r")")
done
d=$(printf '%s\n' "${D[@]}" | median)
t=$(printf '%s\n' "${T[@]}" | median)
n=$(printf '%s\n' "${N[@]}" | median)
awk -v d="$d" -v t="$t" -v n="$n" 'BEGIN {printf "medians: weir-fwd dpdk:net_null %.1f ns/pkt, testpmd io %.1f, weir-fwd null: %.1f; ratio testpmd/weir (dpdk:) %.2f\n", d, t, n, (d > 0 ? t / d : 0)}'
bench_row fwd_cpu "CPU per forwarded 64 B packet, weir-fwd dpdk:net_null vs testpmd io" ns lower \
	"$d" "$t" "testpmd io" "" "" "$runs" "perf stat task-clock of the forwarder"
bench_row fwd_cpu "CPU per forwarded 64 B packet, weir-fwd null: vs testpmd io net_null" ns lower \
	"$n" "$t" "testpmd io" "" "" "$runs" "weir's own null ports against DPDK's"
