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
# That is the worst case: at 15 ns a packet any per-packet filter is more
# than 5%. The veth part (root) is the issue's "while it forwards" on real
# ports: weir-gen (GEN_CPU) -> veth -> weir-fwd io (FWD_CPU) -> veth -> a
# namespace whose veth drops in XDP, once per VETH_RUNS entry DRV:RATE
# (DRV afpacket or afxdp, for weir-fwd's ports and the generator's; RATE
# pps offered, or "line": 64-byte frames, 8 flows, as fast as weir-gen
# goes, as in bench/fwd.sh); with no capture and with the same mirror,
# alternating: the forwarded rate and weir-fwd's CPU per forwarded packet
# (schedstat of all its threads over the window, which includes the
# kernel's work in its sendto and in its polls), medians, and the cost of
# the mirror in both. On this 2-CPU machine weir-cap shares CAP_CPU with
# the generator (GEN_CPU): idle it still takes ~10% of a CPU, so at line
# rate the generator offers less while a mirror runs, and a forwarder
# offered less spends more CPU per packet (its polls are spread over
# fewer): a fixed rate the generator holds either way (afxdp:600000) is
# the fair comparison of CPU per packet.
#
#   bench/mirror.sh [BUILD_DIR]
#   env: REPS=5 WIN=2 FWD_CPU=1 CAP_CPU=0 FILTER="udp port 1" PARTS="null veth"
#        VETH_RUNS="afpacket:200000 afpacket:line afxdp:line afxdp:600000" GEN_CPU=0
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/rows.sh"
build=${1:-build}
FWD="$build/apps/weir-fwd" CAP="$build/apps/weir-cap" STAT="$build/apps/weir-stat"
REPS=${REPS:-5} WIN=${WIN:-2} FWD_CPU=${FWD_CPU:-1} CAP_CPU=${CAP_CPU:-0}
FILTER=${FILTER:-udp port 1} PARTS=${PARTS:-null veth}
VETH_RUNS=${VETH_RUNS:-afpacket:200000 afpacket:line afxdp:line afxdp:600000} GEN_CPU=${GEN_CPU:-0}
GEN="$build/apps/weir-gen"
[ -x "$FWD" ] && [ -x "$CAP" ] && [ -x "$STAT" ] || { echo "build first: no $FWD, $CAP or $STAT"; exit 1; }
tmp=$(mktemp -d /tmp/weir-bench-mirror.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
med() { printf "%s\n" "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
rng() { printf "%s\n" "$@" | sort -g | sed -n '1p;$p' | tr '\n' '-' | sed 's/-$//'; }

# rx_at [SOCK rx|tx PORT]: "seconds packets" now (default: port 0's rx).
rx_at() {
	local t n
	t=$(date +%s.%N)
	n=$("$STAT" "${1:-$tmp/s.sock}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ports"][int(sys.argv[2])][sys.argv[1] + "_packets"])' "${2:-rx}" "${3:-0}")
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

null_part() {
	local r n m N=() M=()
	echo "mirror cost: weir-fwd io over null ports on CPU $FWD_CPU, ${WIN}s windows x $REPS;"
	echo "  mirror: weir-cap -i app:SOCK?port=0 -i app:SOCK?port=1 (both ways) '$FILTER' on CPU $CAP_CPU"
	for r in $(seq "$REPS"); do
		n=$(round 0)
		m=$(round 1)
		echo "  round $r: no capture $n Mpps, mirror active $m Mpps"
		N+=("$n") M+=("$m")
	done
	n=$(med "${N[@]}") m=$(med "${M[@]}")
	echo "no capture:    median $n Mpps (${N[*]})"
	echo "mirror active: median $m Mpps (${M[*]})"
	awk -v n="$n" -v m="$m" 'BEGIN {printf "slowdown with a mirror matching nothing: %.1f%% (goal < 5%%)\n", (1 - m / n) * 100}'
	bench_row mirror "weir-fwd null io, mirror matching nothing vs none" Mpps higher "$m" "$n" \
		"no capture" "$(printf "%s\n" "${M[@]}" | sort -g | sed -n '1p;$p' | tr '\n' '-' | sed 's/-$//')" \
		"$(printf "%s\n" "${N[@]}" | sort -g | sed -n '1p;$p' | tr '\n' '-' | sed 's/-$//')" "$REPS"
}

# veth_round MIRROR(0|1) DRV RATE: "Mpps ns_per_packet" of weir-fwd over
# the window.
veth_round() {
	local fpid cpid=0 gpid t0 n0 t1 n1 c0 c1 gspec="$2:$GA" rate=(-r "$3pps")
	[ "$2" = afpacket ] && gspec+="?qdisc_bypass=1"
	[ "$3" = line ] && rate=(-r line -s 64 -f 8)
	rm -f "$tmp/v.sock"
	weir_bg fwd "$FWD" --quiet -p "$2:$FA" -p "$2:$FB" -m io --cores "$FWD_CPU" \
		--stats-socket "$tmp/v.sock" >"$tmp/fwd.log" 2>&1
	fpid=$WEIR_BG_PID
	for _ in $(seq 50); do [ -S "$tmp/v.sock" ] && break; sleep 0.1; done
	if [ "$1" = 1 ]; then
		"$CAP" --quiet -i "app:$tmp/v.sock?port=0" -i "app:$tmp/v.sock?port=1" \
			--cores "$CAP_CPU,$CAP_CPU" -w /dev/null "$FILTER" 2>"$tmp/cap.err" &
		cpid=$!
		pids+=("$cpid")
	fi
	weir_bg gen "$GEN" --quiet -p "$gspec" -m tx "${rate[@]}" \
		-t $((WIN + 3))s --cores "$GEN_CPU" >"$tmp/gen.log" 2>&1
	gpid=$WEIR_BG_PID
	sleep 1.5
	c0=$(cat /proc/"$fpid"/task/*/schedstat | awk '{s += $1} END {printf "%d", s}')
	read -r t0 n0 < <(rx_at "$tmp/v.sock" tx 1)
	sleep "$WIN"
	read -r t1 n1 < <(rx_at "$tmp/v.sock" tx 1)
	c1=$(cat /proc/"$fpid"/task/*/schedstat | awk '{s += $1} END {printf "%d", s}')
	[ "$cpid" != 0 ] && { kill -INT "$cpid"; wait "$cpid"; }
	wait "$gpid" 2>/dev/null
	kill -INT "$fpid"
	wait "$fpid" 2>/dev/null
	awk -v a="$n0" -v b="$n1" -v s="$t0" -v e="$t1" -v c="$((c1 - c0))" \
		'BEGIN {printf "%.3f %.0f\n", (b - a) / (e - s) / 1e6, (b > a ? c / (b - a) : 0)}'
}

# veth_rows DRV RATE: alternating rounds without and with a mirror, and
# the rows.
veth_rows() {
	local r n m nc mc NR=() MR=() NC=() MC=() what
	what="weir-fwd $1 veth at $([ "$2" = line ] && echo "line rate (64 B)" || echo "$(($2 / 1000)) kpps")"
	echo "mirror cost on veth: weir-gen $1 $2 (CPU $GEN_CPU) -> $1 -> weir-fwd io (CPU $FWD_CPU) -> $1 -> sink (XDP drop), ${WIN}s windows x $REPS"
	for r in $(seq "$REPS"); do
		read -r n nc < <(veth_round 0 "$1" "$2")
		read -r m mc < <(veth_round 1 "$1" "$2")
		echo "  round $r: no capture $n Mpps $nc ns/pkt, mirror active $m Mpps $mc ns/pkt"
		[ "$nc" = 0 ] || [ "$mc" = 0 ] && echo "  round $r: weir-fwd forwarded nothing in a window ($tmp/fwd.log of the last round: $(tail -1 "$tmp/fwd.log" 2>/dev/null))"
		NR+=("$n") MR+=("$m") NC+=("$nc") MC+=("$mc")
	done
	n=$(med "${NR[@]}") m=$(med "${MR[@]}") nc=$(med "${NC[@]}") mc=$(med "${MC[@]}")
	echo "no capture:    median $n Mpps (${NR[*]}), $nc ns CPU/pkt (${NC[*]})"
	echo "mirror active: median $m Mpps (${MR[*]}), $mc ns CPU/pkt (${MC[*]})"
	awk -v n="$n" -v m="$m" -v nc="$nc" -v mc="$mc" 'BEGIN {
		if (n > 0) printf "rate with a mirror matching nothing: %+.1f%%", (m / n - 1) * 100
		if (nc > 0) printf ", CPU per packet %+.1f%%", (mc / nc - 1) * 100
		print " (goal: within 5%)" }'
	bench_row mirror "$what, rate, mirror matching nothing vs none" \
		Mpps higher "$m" "$n" "no capture" "$(rng "${MR[@]}")" "$(rng "${NR[@]}")" "$REPS"
	bench_row mirror "$what, CPU per packet, mirror matching nothing vs none" \
		ns/pkt lower "$mc" "$nc" "no capture" "$(rng "${MC[@]}")" "$(rng "${NC[@]}")" "$REPS" \
		"schedstat of weir-fwd's threads, kernel work in its syscalls included"
}

veth_part() {
	local run
	[ "$(id -u)" = 0 ] || { echo "mirror veth: needs root (namespaces); skipped"; return 0; }
	[ -x "$GEN" ] || { echo "mirror veth: no $GEN; skipped"; return 0; }
	command -v clang >/dev/null || { echo "mirror veth: no clang for the sink's XDP drop; skipped"; return 0; }
	. "$here/../tests/integration/lib/netns.sh"
	# Its trap replaced ours: the same cleanup, through it.
	weir_on_cleanup 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"'
	weir_require_veth
	weir_topo_line -n gen fwd sink
	GA=$(weir_if gen fwd) FA=$(weir_if fwd gen) FB=$(weir_if fwd sink) SI=$(weir_if sink fwd)
	# The sink drops in XDP (as bench/fwd.sh's): no stack work on any CPU,
	# and afxdp's native redirect into FB needs a program on its peer.
	printf '%s\n' '#include <linux/bpf.h>' '#include <bpf/bpf_helpers.h>' \
		'SEC("xdp") int sink_drop(struct xdp_md *ctx) { return XDP_DROP; }' \
		'char _license[] SEC("license") = "GPL";' >"$tmp/drop.c"
	clang -target bpf -O2 -I/usr/include/"$(gcc -print-multiarch)" -c "$tmp/drop.c" \
		-o "$tmp/drop.o" || return 1
	weir_nsexec sink ip link set "$SI" up
	weir_nsexec sink ip link set dev "$SI" xdpdrv obj "$tmp/drop.o" sec xdp || return 1
	for run in $VETH_RUNS; do
		veth_rows "${run%%:*}" "${run#*:}"
	done
}

for part in $PARTS; do
	case "$part" in
	null) null_part ;;
	veth) veth_part ;;
	*) echo "PARTS: null, veth (not $part)"; exit 1 ;;
	esac
done
