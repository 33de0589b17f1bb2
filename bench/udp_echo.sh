#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench/udp_echo: request/response UDP echo, 64-byte datagrams, weir-echo
# against the Linux kernel's UDP stack with a fast echo server
# (bench/udp_echo_server.c: recvmmsg/sendmmsg batches of 64; blocking, and
# with --spin polling like weir's lcore), on the same veth path: client
# namespace (udp_echo_client, CPU 0) -- veth -- server namespace (the
# server on CPU 1; for weir, afxdp or afpacket on the veth, which then has
# no address; for Linux, the same veth with the address). Same client, same
# cores, RUNS rounds with the servers' order alternating, medians.
#
# The client must cost less per request than the servers, or it measures
# itself. Over a kernel UDP socket (CLIENT=socket) it did not: with
# sendmmsg/recvmmsg batches of 64 its CPU was ~97% busy (the client 60-68%,
# its veth's NAPI thread 29-37%: ~7 us a request) while the servers were
# 50-60% busy, so both came out near the client's ~140k/s. CLIENT=xdp (the
# default) sends and receives whole frames on an afxdp port on its veth
# (udp_echo_client_xdp.c; weir's XDP program takes only UDP to the
# client's port, the kernel keeps answering ARP): the same datagrams, with
# full checksums, for both servers, without the kernel's UDP send and
# receive on the client's CPU.
# WINDOW 64 by default: at 16 the round trip, not a server, bounded the
# rate (16 in flight / ~90 us p50, with the client spinning and its NAPI
# thread sharing CPU 0, ~150-180k/s for either server); 64 saturates both
# servers (weir ~2.3x its rate at 16, Linux ~1.3x), and at 256 the extra
# window is pure queueing (weir +23% rate for 8x the p99; Linux's p99
# grows 1.4x). Both servers are measured at the same window; the
# one-in-flight figures give the RTT with no queue.
#   (a) closed loop, WINDOW requests in flight: replies/s, p50/p99 RTT;
#       and one request in flight (ping-pong): p50/p99 RTT, the latency
#       of one request through each stack with no queue;
#       and during the closed loop each side's CPU per reply and busy
#       share (its threads and its veth's NAPI thread): which CPU, if
#       either, limits the rate;
#   (b) fixed rate RATE/s (below saturation): the server's CPU per request
#       (its threads' run time from /proc/PID/task/*/schedstat over the
#       run / replies), and p50/p99 RTT at that rate.
# The kernel's receive work for a veth runs on the sending CPU unless
# KWORK=threaded (the default here): GRO and threaded NAPI on both veths,
# each NAPI thread pinned to its receiver's CPU, so the server's CPU does
# the server's receive work (for Linux the UDP receive, for weir the
# AF_XDP/AF_PACKET copy) and the client's CPU the client's; the server
# veth's NAPI thread then counts in (b). TSO is turned off on both veths
# for it: a veth sends a frame through the peer's NAPI only if the frame
# can be aggregated or the sending veth has no TSO (veth_xmit), and a
# UDP datagram from a socket cannot, so with TSO on Linux's receive work
# ran on the client's CPU inside the client's sendmmsg (not counted in (b),
# 1.5-2.5 us a request), while weir's, behind XDP (which turns the peer's
# TSO off itself), ran in the server veth's NAPI thread and was counted.
# KWORK=none leaves it where the kernel puts it.
#
#   bench/udp_echo.sh [BUILD_DIR] [SECONDS] [RUNS] [WINDOW] [RATE] [SERVERS]
#   SERVERS: default "weir-afxdp linux linux-spin" (also weir-afpacket)
#   CLIENT=xdp|socket: the client's path (above)
#   WAIT=1 (default): the closed-loop client sleeps on its queue while the
#     window is full; 0 polls. Its CPU also runs its veth's NAPI thread,
#     which carries the replies: a polling client shares that CPU with it
#     by the scheduler's slices, and the p99 became slices (at
#     window 64: weir 1171 us polling (3 runs) vs 410 sleeping (1), Linux
#     5112 vs 4489; rates 350k vs 297k and 77k vs 120k; shared machine).
#   ECHO_ARGS: more weir-echo options (e.g. "--spin 0", the fixed 512-poll spin)
#   PERF=PREFIX: perf record of the server's CPU during (b), to PREFIX.SERVER.RUN
set -uo pipefail

build=${1:-build}
secs=${2:-5}
runs=${3:-3}
window=${4:-64}
rate=${5:-50000}
servers=${6:-weir-afxdp linux linux-spin}
kwork=${KWORK:-threaded}
cmode=${CLIENT:-xdp}
cwait=${WAIT:-1}
CPORT=40000
ECHO=$build/apps/weir-echo
CLIENT_BIN=$build/bench/udp_echo_client
SERVER=$build/bench/udp_echo_server
. "$(dirname "$0")/lib/rows.sh"
tag=$$
C=uec$tag S=ues$tag CI=uc$tag SI=us$tag
CA=10.98.0.1 SA=10.98.0.2
ncpu=$(nproc)
scpu=$((ncpu - 1))
ccpu=0

[ "$(id -u)" = 0 ] || { echo "udp_echo.sh: needs root (namespaces)" >&2; exit 77; }
case $cmode in xdp | socket) ;; *) echo "udp_echo.sh: CLIENT=$cmode: xdp or socket" >&2; exit 1 ;; esac
for b in "$ECHO" "$CLIENT_BIN" "$SERVER"; do
	[ -x "$b" ] || { echo "udp_echo.sh: $b not built (ninja -C $build)" >&2; exit 1; }
done

SPID=
stop_server() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	SPID=
}
cleanup() {
	stop_server
	for n in $C $S; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$TMP"
}
TMP=$(mktemp -d /tmp/weir-udp-echo-XXXXXX)
trap cleanup EXIT INT TERM

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
minmax() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }

for n in $C $S; do
	ip netns add $n
	ip -n $n link set lo up
done
ip -n $C link add $CI type veth peer name $SI netns $S
ip -n $C addr add $CA/24 dev $CI
ip -n $C link set $CI up
ip -n $S link set $SI up
# napi_pin NS IF CPU: the interface's receive work in a kernel thread on CPU.
napi_pin() {
	ip netns exec "$1" ethtool -K "$2" gro on tso off >/dev/null || return 1
	ip netns exec "$1" sh -c "echo 1 >/sys/class/net/$2/threaded" || return 1
	sleep 0.2
	for p in $(pgrep -f "napi/$2-"); do taskset -pc "$3" "$p" >/dev/null; done
	[ -n "$(pgrep -f "napi/$2-")" ] || { echo "udp_echo.sh: no NAPI thread for $2" >&2; return 1; }
}
case $kwork in
none) ;;
threaded) napi_pin $C $CI $ccpu && napi_pin $S $SI $scpu || exit 1 ;;
*) echo "udp_echo.sh: KWORK=$kwork: none or threaded" >&2; exit 1 ;;
esac

# start_server NAME: the server on CPU scpu, ready when the client's ping works.
start_server() {
	ip -n $S addr flush dev $SI
	case $1 in
	weir-*)
		ip netns exec $S "$ECHO" -p "${1#weir-}:$SI" -a $SA/24 -u 7 -c $scpu --quiet ${ECHO_ARGS:-} \
			>"$TMP/srv.out" 2>&1 &
		;;
	linux | linux-spin)
		ip -n $S addr add $SA/24 dev $SI
		ip netns exec $S taskset -c $scpu "$SERVER" $SA 7 ${1#linux} \
			>"$TMP/srv.out" 2>&1 &
		;;
	esac
	SPID=$!
	for _ in $(seq 50); do
		if ip netns exec $C ping -c 1 -W 0.2 $SA >/dev/null 2>&1; then
			# Attaching XDP may have made the NAPI threads anew.
			[ "$kwork" = threaded ] && for p in $(pgrep -f "napi/$SI-"); do
				taskset -pc $scpu "$p" >/dev/null
			done
			return 0
		fi
		sleep 0.1
	done
	echo "udp_echo.sh: $1 does not answer:" >&2
	cat "$TMP/srv.out" >&2
	return 1
}

# CPU time (ns) of every thread of the server so far, and of its veth's
# NAPI thread (KWORK=threaded; it may be re-created when XDP attaches).
server_ns() {
	local napi=
	[ "$kwork" = threaded ] && napi=$(for p in $(pgrep -f "napi/$SI-"); do echo /proc/$p/schedstat; done)
	cat /proc/"$SPID"/task/*/schedstat $napi 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
}

# CPU time (ns) of the client PID's threads so far, and of its veth's
# NAPI thread (KWORK=threaded), which delivers the replies to it.
client_ns() {
	local napi=
	[ "$kwork" = threaded ] && napi=$(for p in $(pgrep -f "napi/$CI-"); do echo /proc/$p/schedstat; done)
	cat /proc/"$1"/task/*/schedstat $napi 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
}

# sat_sample PID: each side's CPU over the middle of a closed-loop run
# (from 0.3 s after the warm-up to 0.5 s before the end), to $TMP/sat as
# "SERVER_NS CLIENT_NS ELAPSED_NS": what each CPU spends at saturation,
# and whether either is the limit (near 100% of ELAPSED) or the round trip.
sat_sample() {
	local s0 c0 t0 s1 c1 t1
	sleep 0.4
	s0=$(server_ns) c0=$(client_ns "$1") t0=$(date +%s%N)
	sleep "$(awk -v s="$secs" 'BEGIN {print (s > 1 ? s - 0.8 : 0.2)}')"
	s1=$(server_ns) c1=$(client_ns "$1") t1=$(date +%s%N)
	echo "$((s1 - s0)) $((c1 - c0)) $((t1 - t0))" >"$TMP/sat"
}

# The client: over AF_XDP on its veth (CLIENT=xdp) or a kernel UDP socket
# (CLIENT=socket). The XDP program it attaches may make the veth's NAPI
# thread anew, unpinned: pinned again to the client's CPU during the
# warm-up (0.5 s). SAT=1 in its environment: sat_sample during the run.
client() {
	local xdp=
	[ "$cmode" = xdp ] && xdp="--xdp afxdp:$CI?prog=weir&udp_port=$CPORT&csum=keep --src $CA
		--src-port $CPORT --dst-mac $(ip netns exec $S cat /sys/class/net/$SI/address)"
	ip netns exec $C taskset -c $ccpu "$CLIENT_BIN" $SA 7 --size 64 $xdp "$@" &
	local pid=$!
	if [ "$kwork" = threaded ]; then
		for _ in 1 2 3 4; do
			sleep 0.1
			for p in $(pgrep -f "napi/$CI-"); do taskset -pc $ccpu "$p" >/dev/null; done
		done
	fi
	[ -n "${SAT:-}" ] && sat_sample $pid
	wait $pid
}
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}'; }

declare -A R
last() { echo "$1" | awk '{print $NF}'; }
echo "udp_echo: 64 B UDP request/response, client $cmode on CPU $ccpu, server CPU $scpu, $secs s x $runs runs, KWORK=$kwork,"
echo "window $window (closed loop), fixed rate $rate/s for CPU per request; medians (min-max)"
for r in $(seq "$runs"); do
	order=$servers
	[ $((r % 2)) = 0 ] && order=$(echo "$servers" | tr ' ' '\n' | tac | tr '\n' ' ')
	for s in $order; do
		start_server "$s" || exit 1
		rm -f "$TMP/sat"
		out=$(SAT=1 client --window "$window" --wait "$cwait" --duration "$secs")
		read -r sat_s sat_c sat_t <"$TMP/sat" 2>/dev/null || sat_s=0 sat_c=0 sat_t=0
		pp=$(client --window 1 --wait "$cwait" --duration "$secs")
		c0=$(server_ns)
		ppid=
		if [ -n "${PERF:-}" ]; then
			perf record -q -C $scpu -o "$PERF.$s.$r" -- sleep "$secs" 2>/dev/null &
			ppid=$!
		fi
		fixed=$(client --rate "$rate" --duration "$secs" --warmup 0)
		[ -n "$ppid" ] && wait "$ppid"
		c1=$(server_ns)
		stop_server
		replies=$(echo "$fixed" | field replies)
		R[$s,rate]+="$(echo "$out" | field rate) "
		R[$s,p50]+="$(echo "$out" | field rtt_p50_ns) "
		R[$s,p99]+="$(echo "$out" | field rtt_p99_ns) "
		R[$s,lost]+="$(echo "$out" | field lost) "
		R[$s,pp50]+="$(echo "$pp" | field rtt_p50_ns) "
		R[$s,pp99]+="$(echo "$pp" | field rtt_p99_ns) "
		R[$s,cpu]+="$(( (c1 - c0) / (replies > 0 ? replies : 1) )) "
		R[$s,fp50]+="$(echo "$fixed" | field rtt_p50_ns) "
		R[$s,fp99]+="$(echo "$fixed" | field rtt_p99_ns) "
		sat_r=$(echo "$out" | field rate)
		R[$s,ssat]+="$(awk -v n="$sat_s" -v t="$sat_t" -v r="${sat_r:-0}" 'BEGIN {printf "%.0f", t && r ? n * 1e9 / t / r : 0}') "
		R[$s,csat]+="$(awk -v n="$sat_c" -v t="$sat_t" -v r="${sat_r:-0}" 'BEGIN {printf "%.0f", t && r ? n * 1e9 / t / r : 0}') "
		R[$s,sbusy]+="$(awk -v n="$sat_s" -v t="$sat_t" 'BEGIN {printf "%.0f", t ? n * 100 / t : 0}') "
		R[$s,cbusy]+="$(awk -v n="$sat_c" -v t="$sat_t" 'BEGIN {printf "%.0f", t ? n * 100 / t : 0}') "
		echo "  run $r $s: closed: $out | busy server $(last "${R[$s,sbusy]}")% client $(last "${R[$s,cbusy]}")% | 1 in flight: $pp | fixed: $fixed | server cpu $(( (c1 - c0) / 1000000 )) ms"
	done
done

med() { echo "${R[$1,$2]}" | tr ' ' '\n' | grep . | median; }
rng() { echo "${R[$1,$2]}" | tr ' ' '\n' | grep . | awk -v s="${3:-1}" '{printf "%.1f\n", $1 / s}' | minmax; }
# div A B [SCALE]: A / B (x SCALE) with 2 decimals, by awk.
div() { awk -v a="$1" -v b="$2" -v s="${3:-1}" 'BEGIN {printf "%.2f", b ? a * s / b : 0}'; }
printf '%-14s %26s %22s %22s %16s %16s %22s %12s %12s\n' server "replies/s" "p50 RTT us" \
	"p99 RTT us" "1-in-flight p50" "1-in-flight p99" "cpu ns/req @rate" "p50 us@rate" "p99 us@rate"
for s in $servers; do
	printf '%-14s %9.0f (%14s) %6.1f (%13s) %7.1f (%13s) %16.1f %16.1f %6s (%13s) %12.1f %12.1f\n' "$s" \
		"$(med "$s" rate)" "$(rng "$s" rate 1000)k" \
		"$(div "$(med "$s" p50)" 1000)" "$(rng "$s" p50 1000)" \
		"$(div "$(med "$s" p99)" 1000)" "$(rng "$s" p99 1000)" \
		"$(div "$(med "$s" pp50)" 1000)" "$(div "$(med "$s" pp99)" 1000)" \
		"$(med "$s" cpu)" "$(rng "$s" cpu)" \
		"$(div "$(med "$s" fp50)" 1000)" "$(div "$(med "$s" fp99)" 1000)"
done
# At saturation (the closed loop): each side's CPU per reply and how busy
# it was. Neither near 100%: the round trip of WINDOW, not a CPU, is the limit.
printf '%-14s %30s %30s %14s %14s\n' "at saturation" "server cpu ns/reply" "client cpu ns/reply" \
	"server busy %" "client busy %"
for s in $servers; do
	printf '%-14s %12s (%15s) %12s (%15s) %14s %14s\n' "$s" "$(med "$s" ssat)" "$(rng "$s" ssat)" \
		"$(med "$s" csat)" "$(rng "$s" csat)" "$(med "$s" sbusy)" "$(med "$s" cbusy)"
done
for w in $servers; do
	case $w in weir-*) ;; *) continue ;; esac
	for l in $servers; do
		case $l in linux*) ;; *) continue ;; esac
		echo "ratio $w / $l: rate $(div "$(med "$w" rate)" "$(med "$l" rate)")x," \
		     "p99 $(div "$(med "$w" p99)" "$(med "$l" p99)")x," \
		     "1-in-flight p99 $(div "$(med "$w" pp99)" "$(med "$l" pp99)")x," \
		     "cpu/req $(div "$(med "$w" cpu)" "$(med "$l" cpu)")x," \
		     "p99 at rate $(div "$(med "$w" fp99)" "$(med "$l" fp99)")x"
		bench_row udp_echo "64 B echo replies/s, $w vs $l" replies/s higher "$(med "$w" rate)" \
			"$(med "$l" rate)" "Linux UDP ($l)" "$(rng "$w" rate)" "$(rng "$l" rate)" "$runs"
		bench_row udp_echo "64 B echo p99 RTT, $w vs $l" us lower "$(div "$(med "$w" p99)" 1000)" \
			"$(div "$(med "$l" p99)" 1000)" "Linux UDP ($l)" "" "" "$runs"
		bench_row udp_echo "64 B echo RTT p50, one in flight, $w vs $l" us lower \
			"$(div "$(med "$w" pp50)" 1000)" "$(div "$(med "$l" pp50)" 1000)" "Linux UDP ($l)" \
			"$(rng "$w" pp50 1000)" "$(rng "$l" pp50 1000)" "$runs"
		bench_row udp_echo "CPU per request at a fixed rate, $w vs $l" ns lower "$(med "$w" cpu)" \
			"$(med "$l" cpu)" "Linux UDP ($l)" "$(rng "$w" cpu)" "$(rng "$l" cpu)" "$runs"
		bench_row udp_echo "server CPU per reply at saturation, $w vs $l" ns lower \
			"$(med "$w" ssat)" "$(med "$l" ssat)" "Linux UDP ($l)" "$(rng "$w" ssat)" \
			"$(rng "$l" ssat)" "$runs"
	done
done
