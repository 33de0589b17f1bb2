#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# What capturing from a running app costs it: weir-fwd forwarding between
# two null: ports (io mode, one lcore on FWD_CPU: CPU-bound, the worst
# case for a per-burst cost), its rate over a window of WIN seconds read
# from its stats socket, with no capture, and with weir-cap (on CAP_CPU)
# mirroring both ports both ways through a filter no frame matches (so
# the tap's cost, not the copying, is measured). Alternated REPS times;
# medians and the slowdown are printed. No root needed.
#
#   bench/mirror.sh [BUILD_DIR]
#   env: REPS=5 WIN=2 FWD_CPU=1 CAP_CPU=0 FILTER="udp port 1"
set -u
. "$(dirname "$0")/lib/rows.sh"
build=${1:-build}
FWD="$build/apps/weir-fwd" CAP="$build/apps/weir-cap" STAT="$build/apps/weir-stat"
REPS=${REPS:-5} WIN=${WIN:-2} FWD_CPU=${FWD_CPU:-1} CAP_CPU=${CAP_CPU:-0}
FILTER=${FILTER:-udp port 1}
[ -x "$FWD" ] && [ -x "$CAP" ] && [ -x "$STAT" ] || { echo "build first: no $FWD, $CAP or $STAT"; exit 1; }
tmp=$(mktemp -d /tmp/weir-bench-mirror.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

# rx_at: "seconds rx_packets_of_port_0" now.
rx_at() {
	local t n
	t=$(date +%s.%N)
	n=$("$STAT" "$tmp/s.sock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ports"][0]["rx_packets"])')
	echo "$t $n"
}

# round MIRROR(0|1): prints weir-fwd's Mpps over the window.
round() {
	local fpid cpid=0 t0 n0 t1 n1
	rm -f "$tmp/s.sock"
	"$FWD" --quiet -p null: -p null: -m io --cores "$FWD_CPU" --stats-socket "$tmp/s.sock" \
		-t $((WIN + 3))s >/dev/null 2>&1 &
	fpid=$!
	pids+=("$fpid")
	for _ in $(seq 50); do [ -S "$tmp/s.sock" ] && break; sleep 0.1; done
	if [ "$1" = 1 ]; then
		"$CAP" --quiet -i "app:$tmp/s.sock?port=0" -i "app:$tmp/s.sock?port=1" \
			--cores "$CAP_CPU,$CAP_CPU" -w /dev/null "$FILTER" 2>"$tmp/cap.err" &
		cpid=$!
		pids+=("$cpid")
	fi
	sleep 1
	read -r t0 n0 < <(rx_at)
	sleep "$WIN"
	read -r t1 n1 < <(rx_at)
	[ "$cpid" != 0 ] && { kill -INT "$cpid"; wait "$cpid"; }
	wait "$fpid"
	awk -v a="$n0" -v b="$n1" -v s="$t0" -v e="$t1" 'BEGIN {printf "%.2f\n", (b - a) / (e - s) / 1e6}'
}

echo "mirror cost: weir-fwd io over null ports on CPU $FWD_CPU, ${WIN}s windows x $REPS;"
echo "  mirror: weir-cap -i app:SOCK?port=0 -i app:SOCK?port=1 (both ways) '$FILTER' on CPU $CAP_CPU"
N=() M=()
for r in $(seq "$REPS"); do
	n=$(round 0)
	m=$(round 1)
	echo "  round $r: no capture $n Mpps, mirror active $m Mpps"
	N+=("$n") M+=("$m")
done
med() { printf "%s\n" "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
n=$(med "${N[@]}") m=$(med "${M[@]}")
echo "no capture:    median $n Mpps (${N[*]})"
echo "mirror active: median $m Mpps (${M[*]})"
awk -v n="$n" -v m="$m" 'BEGIN {printf "slowdown with a mirror matching nothing: %.1f%% (goal < 5%%)\n", (1 - m / n) * 100}'
bench_row mirror "weir-fwd null io, mirror matching nothing vs none" Mpps higher "$m" "$n" \
	"no capture" "$(printf "%s\n" "${M[@]}" | sort -g | sed -n '1p;$p' | tr '\n' '-' | sed 's/-$//')" \
	"$(printf "%s\n" "${N[@]}" | sort -g | sed -n '1p;$p' | tr '\n' '-' | sed 's/-$//')" "$REPS"
