#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench/tcp_fwd: unshaped TCP goodput between two Linux hosts through
# weir-fwd (afpacket and afxdp ports) and through a Linux bridge, on the same
# namespaces and cores: cli -- mid -- srv, iperf3 with FLOWS Cubic flows for
# SECS seconds, median of RUNS, forwarder pinned to the last CPU, iperf3 to
# CPU 0. Two host settings:
#   (a) default offloads: the veths as Linux makes them (tx-checksumming,
#       TSO/GSO on): 64 KiB super-frames with partial checksums;
#   (b) checksum offload off on the hosts' veths (ethtool -K tx off, which
#       also turns TSO off): wire-size frames with real checksums.
# Prints Gbit/s, retransmits and the ratio weir/bridge per setting, and for
# weir-fwd what shows where its limit is: wdrop, the frames weir lost over
# all runs of the path (the kernel's drops at its full RX rings, frames cut,
# its own TX drops: every one is a retransmit; a super-frame is 45), and from the forwarder's
# /proc/PID/task/*/schedstat its CPU time and its time waiting on a run
# queue for a CPU, as % of the run's wall time (medians over the runs).
#
#   bench/tcp_fwd.sh [BUILD_DIR] [SECONDS] [RUNS] [FLOWS]
# FWD_ARGS adds options to weir-fwd (e.g. FWD_ARGS="--gro off"), PORT_ARGS
# to both port specs (e.g. PORT_ARGS="?blocks=256"); PATHS
# chooses the paths (default "bridge afpacket afxdp afxdp_native"; afxdp is
# weir-fwd's default on a veth, skb mode, whose gso_rx takes the senders'
# super-frames whole; afxdp_native is mode=native, which turns a veth
# peer's TSO off), HOSTS the settings
# (default "on off").
set -uo pipefail

build=${1:-build}
secs=${2:-10}
runs=${3:-3}
flows=${4:-4}
FWD=$build/apps/weir-fwd
. "$(dirname "$0")/lib/rows.sh"
ncpu=$(nproc)
fcpu=$((ncpu - 1))
tag=$$
C=tfc$tag S=tfs$tag M=tfm$tag
SUMMARY=$(mktemp /tmp/tcp_fwd.XXXXXX)

[ "$(id -u)" = 0 ] || { echo "tcp_fwd.sh: needs root (namespaces)" >&2; exit 77; }
[ -x "$FWD" ] || { echo "tcp_fwd.sh: $FWD not built (ninja -C $build)" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "tcp_fwd.sh: needs iperf3" >&2; exit 77; }

cleanup() {
	[ -n "${FPID:-}" ] && kill "$FPID" 2>/dev/null && wait "$FPID" 2>/dev/null
	[ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	for n in $C $S $M; do ip netns del "$n" 2>/dev/null; done
}
trap 'cleanup; rm -f "$SUMMARY"' EXIT INT TERM

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
minmax() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }

# topo OFFLOAD(on|off): fresh namespaces, veths made inside them.
topo() {
	cleanup
	FPID= SPID=
	for n in $C $S $M; do
		ip netns add $n
		ip -n $n link set lo up
	done
	ip -n $C link add c0 type veth peer name m0 netns $M
	ip -n $S link add s0 type veth peer name m1 netns $M
	if [ "$1" = off ]; then
		ip netns exec $C ethtool -K c0 tx off >/dev/null
		ip netns exec $S ethtool -K s0 tx off >/dev/null
	fi
	ip -n $C addr add 10.97.0.1/24 dev c0
	ip -n $S addr add 10.97.0.2/24 dev s0
	for d in "$C c0" "$S s0" "$M m0" "$M m1"; do ip -n ${d% *} link set ${d#* } up; done
	ip netns exec $S taskset -c 0 iperf3 -s -B 10.97.0.2 >/dev/null 2>&1 &
	SPID=$!
}

# mid KIND: start the forwarder in M (bridge, afpacket, afxdp).
mid() {
	case $1 in
	bridge)
		ip -n $M link add br0 type bridge stp_state 0 forward_delay 0
		ip -n $M link set m0 master br0
		ip -n $M link set m1 master br0
		ip -n $M link set br0 up
		# The bridge's forwarding runs in softirq on whichever CPU the
		# veth's xmit runs: it cannot be pinned, only its peers can.
		;;
	*)
		# afxdp_native: afxdp ports in native mode (weir-fwd's default on
		# a veth is skb mode, whose gso_rx lets the senders keep TSO).
		local drv=${1%_native} args=${PORT_ARGS:-}
		[ "$1" = afxdp_native ] && args="?mode=native${args:+&${args#\?}}"
		ip netns exec $M taskset -c "$fcpu" "$FWD" -p "$drv:m0$args" -p "$drv:m1$args" --mode l2 \
			--cores "$fcpu" --quiet --json ${FWD_ARGS:-} >"$SUMMARY" 2>/dev/null &
		FPID=$!
		;;
	esac
	for _ in $(seq 50); do
		ip netns exec $C ping -c1 -W1 10.97.0.2 >/dev/null 2>&1 && return 0
	done
	echo "tcp_fwd.sh: no path through $1" >&2
	return 1
}

# Nanoseconds the forwarder ran and waited to run: "run wait" (0 0 with no
# forwarder), summed over its threads.
sched_ns() {
	[ -n "${FPID:-}" ] || { echo "0 0"; return; }
	cat /proc/"$FPID"/task/*/schedstat 2>/dev/null | awk '{r += $1; w += $2} END {printf "%.0f %.0f\n", r, w}'
}

# Frames weir lost, from weir-fwd's JSON summary on stdin: its ports' RX
# misses (the kernel's drops at a full ring), buffer shortages, TX errors
# and drops, the wake ring's drops, frames cut (afpacket's rx_truncated).
weir_drops() {
	python3 -c 'import json,sys
try:
    d = json.load(sys.stdin)
except ValueError:
    print("-"); sys.exit()
n = 0
for p in d["ports"]:
    n += p["rx_missed"] + p["rx_nombuf"] + p["tx_errors"] + p["tx_dropped"]
    n += sum(q["fwd_tx_drops"] for q in p["queues"])
    n += p["xstats"].get("rx_wake_drops", 0) + p["xstats"].get("rx_truncated", 0)
print(n)'
}

# One iperf3 run: "Gbit/s retransmits".
one() {
	ip netns exec $C taskset -c 0 iperf3 -c 10.97.0.2 -t "$secs" -P "$flows" -C cubic -J 2>/dev/null |
		python3 -c 'import json,sys
d = json.load(sys.stdin)["end"]
print("%.3f %d" % (d["sum_received"]["bits_per_second"] / 1e9, d["sum_sent"].get("retransmits", 0)))'
}

echo "tcp_fwd: $flows Cubic flows x ${secs}s, median of $runs; forwarder on CPU $fcpu, iperf3 on CPU 0"
printf "%-11s %-9s %8s %12s %6s %7s %6s %5s %5s\n" hosts path Gbit/s min-max retr ratio \
	wdrop cpu% wait%
for off in ${HOSTS:-on off}; do
	declare -A med=()
	for kind in ${PATHS:-bridge afpacket afxdp afxdp_native}; do
		topo "$off"
		mid $kind || continue
		vals=() retr=() cpu=() wait=()
		for _ in $(seq "$runs"); do
			read -r r0 w0 < <(sched_ns)
			t0=$(date +%s%N)
			read -r g r < <(one) || { g=0; r=0; }
			t1=$(date +%s%N)
			read -r r1 w1 < <(sched_ns)
			vals+=("$g")
			retr+=("$r")
			cpu+=("$(((r1 - r0) * 100 / (t1 - t0)))")
			wait+=("$(((w1 - w0) * 100 / (t1 - t0)))")
		done
		wdrop=-
		if [ -n "${FPID:-}" ]; then
			kill -INT "$FPID" 2>/dev/null && wait "$FPID" 2>/dev/null
			wdrop=$(weir_drops <"$SUMMARY")
			cpu=("$(printf '%s\n' "${cpu[@]}" | median)")
			wait=("$(printf '%s\n' "${wait[@]}" | median)")
		else
			cpu=(-) wait=(-)
		fi
		FPID=
		m=$(printf '%s\n' "${vals[@]}" | median)
		med[$kind]=$m
		ratio=-
		[ "$kind" != bridge ] && ratio=$(python3 -c "print('%.2fx' % ($m / ${med[bridge]}) if ${med[bridge]} else '-')")
		printf "%-11s %-9s %8s %12s %6s %7s %6s %5s %5s\n" "offload-$off" "$kind" "$m" \
			"$(printf '%s\n' "${vals[@]}" | minmax)" "$(printf '%s\n' "${retr[@]}" | median)" "$ratio" \
			"$wdrop" "${cpu[0]}" "${wait[0]}"
		[ "$kind" != bridge ] && bench_row tcp_fwd "TCP through weir-fwd $kind, hosts' offloads $off" \
			Gbit/s higher "$m" "${med[bridge]}" "Linux bridge" \
			"$(printf '%s\n' "${vals[@]}" | minmax)" "" "$runs" "$flows Cubic flows"
	done
	unset med
done
