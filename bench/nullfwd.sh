#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Forwarding between two null ports on one pinned core, weir against DPDK:
# bench/nullfwd (weir, null: ports) and dpdk-testpmd (net_null vdevs,
# --forward-mode=macswap), same core, same 64-byte frames, same burst of
# 32, runs alternating. testpmd is driven through a pipe: start, wait for
# it to settle, "show port stats all" (sets testpmd's own rate baseline),
# wait SECONDS, "show port stats all" again; its Tx-pps over that window,
# summed over both ports, is its forwarding rate.
#
#   bench/nullfwd.sh [BUILD_DIR] [SECONDS] [RUNS] [CPU]
#
# Prints each run, then the medians and the ratio weir/testpmd (> 1: weir
# forwards more packets per second).
set -euo pipefail

build=${1:-build}
secs=${2:-5}
runs=${3:-3}
ncpu=$(nproc)
cpu=${4:-$((ncpu - 1))}
main_cpu=$(( cpu == 0 ? (ncpu > 1 ? 1 : 0) : 0 ))
nullfwd="$build/bench/nullfwd"
. "$(dirname "$0")/lib/rows.sh"

if [ ! -x "$nullfwd" ]; then
  echo "nullfwd.sh: $nullfwd not built (ninja -C $build bench/nullfwd)" >&2
  exit 1
fi
if ! command -v dpdk-testpmd >/dev/null; then
  echo "nullfwd.sh: dpdk-testpmd not found (apt-get install dpdk-dev); skipping" >&2
  exit 77
fi
if [ "$main_cpu" = "$cpu" ]; then
  echo "nullfwd.sh: testpmd needs a second CPU for its main lcore" >&2
  exit 77
fi

tp_pid=
cleanup() { [ -n "$tp_pid" ] && kill "$tp_pid" 2>/dev/null || true; }
trap cleanup EXIT

# Prints testpmd's Mpps (Tx-pps of both ports over the last window).
run_testpmd() {
  local log
  log=$(mktemp /tmp/weir-nullfwd-testpmd.XXXXXX)
  { echo "start"; sleep 2; echo "show port stats all"; sleep "$secs"
    echo "show port stats all"; echo "stop"; echo "quit"; } |
    dpdk-testpmd -l "$main_cpu,$cpu" --main-lcore "$main_cpu" --no-huge -m 512 --no-pci \
      --file-prefix "weir-nullfwd-$$" --vdev net_null0 --vdev net_null1 -- \
      -i --forward-mode=macswap --total-num-mbufs 32768 --nb-cores=1 --burst=32 \
      --rxq=1 --txq=1 >"$log" 2>&1 &
  tp_pid=$!
  wait "$tp_pid" || { echo "nullfwd.sh: testpmd failed, log: $log" >&2; exit 1; }
  tp_pid=
  # The last two Tx-pps lines are the two ports over the timed window.
  local mpps
  mpps=$(grep -o 'Tx-pps: *[0-9]*' "$log" | awk '{print $2}' | tail -n 2 |
    awk '{s += $1; n++} END {if (n == 2) printf "%.2f", s / 1e6}')
  if [ -z "$mpps" ]; then
    echo "nullfwd.sh: no Tx-pps in testpmd's output, log: $log" >&2
    exit 1
  fi
  rm -f "$log"
  echo "$mpps"
}

run_weir() {
  "$nullfwd" -c "$cpu" -t "$secs" | awk '/^nullfwd:/ {print $2}'
}

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "null-port forwarding, macswap, 64-byte frames, burst 32, CPU $cpu, ${secs}s x $runs"
w_all=() t_all=()
for i in $(seq 1 "$runs"); do
  w=$(run_weir)
  t=$(run_testpmd)
  echo "run $i: weir $w Mpps, testpmd $t Mpps"
  w_all+=("$w") t_all+=("$t")
done
w_med=$(printf '%s\n' "${w_all[@]}" | median)
t_med=$(printf '%s\n' "${t_all[@]}" | median)
w_rng=$(printf '%s\n' "${w_all[@]}" | sort -g | sed -n '1p;$p' | paste -sd-)
t_rng=$(printf '%s\n' "${t_all[@]}" | sort -g | sed -n '1p;$p' | paste -sd-)
echo "weir nullfwd:        $w_med Mpps (median, $w_rng)"
echo "dpdk-testpmd macswap: $t_med Mpps (median, $t_rng)"
awk -v w="$w_med" -v t="$t_med" 'BEGIN {printf "ratio weir/testpmd:  %.2fx\n", w / t}'
bench_row nullfwd "null-port macswap, 64 B" Mpps higher "$w_med" "$t_med" "dpdk-testpmd macswap" \
	"$w_rng" "$t_rng" "$runs"
