#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench/idle: what an idle weir-fwd costs, and how soon it forwards the first
# frame after idling. A benchmark, not a test: it prints figures and checks
# nothing but the counters.
#
#   bench/idle.sh [BUILD_DIR] [IDLE_SECONDS] [PINGS] [BEFORE_BUILD_DIR]
#   env: KINDS="afxdp afpacket"  SHAPES="plain shaped"  BUSY=1  GEN=0
#        AFP_ARGS="wake=0" (added to afpacket port specs)
#
# Namespaces a -- dut -- b (tests/integration/lib/netns.sh): a and b share
# one subnet and dut does not forward, so only weir-fwd joins them. weir-fwd
# runs in dut on the last CPU (taskset and --cores), over afxdp: or
# afpacket: ports, "plain" or "shaped" (-e "tbf rate 100mbit burst 32k /
# fq_codel" --delay 20ms). Per case:
#
#   cpu%       weir-fwd's utime+stime from /proc/PID/stat (all its threads:
#              lcore, main, telemetry) over IDLE_SECONDS with no traffic, as
#              % of one core (10 ms ticks); sched% the same from the threads'
#              run time in /proc/PID/task/*/schedstat (ns).
#   first      the first frame after idle: PINGS ICMP echoes a -> b, 1 s
#              apart (bench/idle.py), so each request is the first frame in a
#              second. Its one-way time from a's interface to b's, both
#              timestamps the kernel's as the frame passes (packet sockets,
#              SO_TIMESTAMPNS), minus --delay: p50, p90, max in us.
#   reply      the same for the replies b -> a (p50): they come while
#              weir-fwd may still be awake from the request.
#   rtt        median round trip seen by the pinger, minus 2 x --delay.
#   stop       milliseconds from SIGINT to exit.
#   stats      after the pings and 1.2 s of idle, weir-stat's counters must
#              add up: each port sent what the other received, qdiscs sent
#              what their port sent, nothing left in a queue or delay line.
#
# References: "kernel" is the same pings with weir-fwd replaced by a Linux
# bridge in dut (what the veths take without weir). With BUSY=1, "busy" is
# the same weir-fwd kept busy-polling by a second port pair of null: ports
# (they always have frames, so its lcore never sleeps); on a shared machine
# that reference is worse, not better: a thread that never sleeps waits for
# its turn behind other jobs, one woken from a sleep runs at once. With
# BEFORE_BUILD_DIR (a build of an older tree, e.g. `git archive 67de493`
# built elsewhere), "before" is its weir-fwd measured the same way.
#
# Then weir-gen's receive side (GEN=0 skips it), in dut on the veth facing a,
# nothing else running there: "-m rx" and "-m reflect", its idle CPU the same
# way, then PINGS probes 1 s apart from a weir-gen in a (-r 1pps, on an afxdp
# port: an afpacket one would add its own retire timer to the round trips;
# SENDER=afpacket to have it anyway):
# for rx, the one-way latency the receiver itself measured (its histogram:
# from the probe's scheduled send time to the receiving lcore's clock after
# the burst, so its own wake-up included); for reflect, the round trip the
# sender measured (-m txrx). Absolute figures: there is no kernel reference.
#
# afpacket's first frame used to wait for the TPACKET_V3 block retire timer
# (the RX fd becomes readable when the kernel retires the block, not when
# the frame lands in it: 0-1 ms, median 244-796 us here). A one-queue port
# takes light traffic through its per-frame wake ring (afpacket_wake.c, on
# by default), so the first frame wakes weir at once; with AFP_ARGS=wake=0
# it waits for the timer (timeout_us=1000; kernels that round it to jiffies
# make that up to 4 ms at HZ=250). The machine may be shared: figures are noisy, medians
# are quoted; the first-frame times are the ones to trust.
set -uo pipefail

build=${1:-build}
secs=${2:-10}
pings=${3:-20}
before=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/rows.sh"
. "$HERE/../tests/integration/lib/netns.sh"
ncpu=$(nproc)
fcpu=$((ncpu - 1))
pcpu=0
hz=$(getconf CLK_TCK)
KINDS=${KINDS:-afxdp afpacket}
SHAPES=${SHAPES:-plain shaped}
SHAPE_Q="tbf rate 100mbit burst 32k / fq_codel"

for b in "$build" ${before:+"$before"}; do
	[ -x "$b/apps/weir-fwd" ] && [ -x "$b/apps/weir-stat" ] && [ -x "$b/apps/weir-gen" ] ||
		{ echo "idle.sh: weir-fwd, weir-gen or weir-stat not built in $b/apps" >&2; exit 1; }
done
weir_require_veth
weir_require_cmd python3 taskset ping
weir_timeout $((600 + 8 * (secs + pings + 10) * 3))

weir_topo_line -n a dut b || exit 1
weir_nsexec a ip addr add 10.99.0.1/24 dev "$(weir_if a dut)"
weir_nsexec b ip addr add 10.99.0.2/24 dev "$(weir_if b dut)"
D0=$(weir_if dut a)
D1=$(weir_if dut b)
TMP=$(mktemp -d /tmp/weir-bench-idle.XXXXXX)
weir_on_cleanup "rm -rf $TMP"

PY=$HERE/idle.py
IDENT=$((0x7700 + $$ % 256))

# median of the numbers on stdin minus BASE ("lost" skipped), or "-".
median_minus() {
	python3 -c '
import sys
b = float(sys.argv[1])
v = sorted(float(x) - b for x in sys.stdin if x.strip() not in ("", "lost"))
print(f"{v[len(v) // 2]:.0f}" if v else "-")' "$1"
}

# stats_ok SOCK STAT: do weir-stat's counters add up after idle?
stats_ok() {
	"$2" "$1" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = d["ports"]
ok = p[0]["rx_packets"] == p[1]["tx_packets"] and p[1]["rx_packets"] == p[0]["tx_packets"]
for x in p[:2]:
    for q in x["queues"]:
        ok &= q["delay_line_pkts"] == 0
        if "qdisc" in q:
            ok &= q["qdisc"]["packets"] == q["tx_packets"] and q["qdisc"]["backlog_pkts"] == 0
print("ok" if ok else "MISMATCH")' 2>/dev/null || echo "unreadable"
}

# probe BASE_US -> "first_p50 first_p90 first_max reply_p50 rtt_p50 n": the
# pings a -> b with both ends' interfaces sniffed.
probe() {
	local base=$1 sa sb r
	weir_nsexec a ip neigh flush dev "$(weir_if a dut)"
	weir_nsexec b ip neigh flush dev "$(weir_if b dut)"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		weir_nsexec a ping -c 1 -W 1 10.99.0.2 >/dev/null 2>&1 && break
	done
	weir_bg a taskset -c "$pcpu" python3 "$PY" sniff "$(weir_if a dut)" "$IDENT" >"$TMP/a.log"
	sa=$WEIR_BG_PID
	weir_bg b taskset -c "$pcpu" python3 "$PY" sniff "$(weir_if b dut)" "$IDENT" >"$TMP/b.log"
	sb=$WEIR_BG_PID
	for _ in $(seq 50); do
		grep -q ready "$TMP/a.log" && grep -q ready "$TMP/b.log" && break
		sleep 0.05
	done
	sleep 1
	r=$(weir_nsexec a taskset -c "$pcpu" python3 "$PY" ping "$pings" 1 10.99.0.2 "$IDENT" |
		median_minus $((2 * base)))
	sleep 0.2
	weir_kill "$sa"
	weir_kill "$sb"
	read -r f50 f90 fmax r50 n <<<"$(python3 "$PY" join "$TMP/a.log" "$TMP/b.log" "$base")"
	echo "$f50 $f90 $fmax $r50 $r $n"
}

# run BUILD KIND SHAPE MODE -> "cpu% sched% first_p50 first_p90 first_max
# reply_p50 rtt_p50 n stop_ms stats rc"
run() {
	local b=$1 kind=$2 shape=$3 mode=$4 pid s0 s1 dt r t0 t1 rc base=0 stat
	local q=
	[ "$kind" = afpacket ] && [ -n "${AFP_ARGS:-}" ] && q="?$AFP_ARGS"
	local -a args=(-p "$kind:$D0$q" -p "$kind:$D1$q" -c "$fcpu" --quiet)
	local sock=$TMP/fwd.sock
	if [ "$shape" = shaped ]; then
		args+=(--delay 20ms --delay-limit 4096)
		base=20000
		if [ "$mode" = busy ]; then
			args+=(-e "0@$SHAPE_Q" -e "1@$SHAPE_Q")
		else
			args+=(-e "$SHAPE_Q")
		fi
	fi
	[ "$mode" = busy ] && args+=(-p null: -p null:)
	rm -f "$sock"
	weir_bg dut taskset -c "$fcpu" "$b/apps/weir-fwd" "${args[@]}" --stats-socket "$sock" \
		>"$TMP/fwd.out" 2>&1
	pid=$WEIR_BG_PID
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	weir_nsexec a ping -c 3 -i 0.2 -W 1 10.99.0.2 >/dev/null 2>&1
	sleep 2
	s0=$(python3 "$PY" cpu "$pid")
	dt=$secs
	[ "$mode" = busy ] && dt=2
	sleep "$dt"
	s1=$(python3 "$PY" cpu "$pid")
	r=$(probe "$base")
	sleep 1.2
	stat=$(stats_ok "$sock" "$b/apps/weir-stat")
	t0=$(date +%s%N)
	kill -INT "$pid"
	while kill -0 "$pid" 2>/dev/null && [ $(($(date +%s%N) - t0)) -lt 5000000000 ]; do
		sleep 0.005
	done
	t1=$(date +%s%N)
	wait "$pid" 2>/dev/null
	rc=$?
	echo "$(cpu_pct "$s0" "$s1" "$dt") $r $(((t1 - t0) / 1000000)) $stat $rc"
}

# bridge -> the same fields for a Linux bridge in dut instead of weir-fwd.
bridge() {
	local r
	weir_nsexec dut ip link add wbr$$ type bridge
	weir_nsexec dut ip link set "$D0" master wbr$$
	weir_nsexec dut ip link set "$D1" master wbr$$
	weir_nsexec dut ip link set wbr$$ up
	r=$(probe 0)
	weir_nsexec dut ip link del wbr$$
	echo "- - $r - - -"
}

# cpu_pct S0 S1 SECS -> "cpu% sched%" from two `idle.py cpu` samples.
cpu_pct() {
	python3 -c '
import sys
a, b, secs, hz = sys.argv[1].split(), sys.argv[2].split(), float(sys.argv[3]), int(sys.argv[4])
print(f"{(int(b[0]) - int(a[0])) / hz / secs * 100:.2f} {(int(b[1]) - int(a[1])) / 1e9 / secs * 100:.3f}")
' "$1" "$2" "$3" "$hz"
}

# gen_run BUILD KIND MODE -> "cpu% sched% p50 p90 max n stop_ms rc": weir-gen
# -m MODE (rx or reflect) in dut on the veth facing a, probed from a.
gen_run() {
	local b=$1 kind=$2 mode=$3 pid s0 s1 t0 t1 rc smode=tx key=latency sock=$TMP/gen.sock
	[ "$mode" = reflect ] && smode=txrx key=rtt
	rm -f "$sock"
	weir_bg dut taskset -c "$fcpu" "$b/apps/weir-gen" -p "$kind:$D0" -m "$mode" -c "$fcpu" \
		--quiet --json --stats-socket "$sock" >"$TMP/gen-rx.json" 2>"$TMP/gen-rx.err"
	pid=$WEIR_BG_PID
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	sleep 2
	s0=$(python3 "$PY" cpu "$pid")
	sleep "$secs"
	s1=$(python3 "$PY" cpu "$pid")
	weir_nsexec a taskset -c "$pcpu" "$build/apps/weir-gen" -p "${SENDER:-afxdp}:$(weir_if a dut)" \
		-m "$smode" -r 1pps -n "$pings" --drain 1s -c "$pcpu" --dst-mac "$(weir_mac dut a)" \
		--quiet --json >"$TMP/gen-tx.json" 2>"$TMP/gen-tx.err"
	t0=$(date +%s%N)
	kill -INT "$pid"
	while kill -0 "$pid" 2>/dev/null && [ $(($(date +%s%N) - t0)) -lt 5000000000 ]; do
		sleep 0.005
	done
	t1=$(date +%s%N)
	wait "$pid" 2>/dev/null
	rc=$?
	local from=$TMP/gen-rx.json
	[ "$mode" = reflect ] && from=$TMP/gen-tx.json
	echo "$(cpu_pct "$s0" "$s1" "$secs") $(python3 "$PY" hist "$from" "$key") $(((t1 - t0) / 1000000)) $rc"
}

FMT='%-9s %-7s %-7s %6s %7s | %6s %6s %6s %6s %6s %3s | %6s %-6s %s\n'
echo "weir-fwd idle cost and first-frame latency, $(date -u '+%F %T') UTC, $ncpu CPUs, kernel $(uname -r)"
echo "weir-fwd on CPU $fcpu, pings and sniffers on CPU $pcpu; idle ${secs} s; $pings pings 1 s apart;" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "times in us: first = one-way a -> b of the first frame after >= 1 s idle (minus --delay)"
printf "$FMT" kind shape build "cpu%" "sched%" first "p90" max reply rtt n stopms stats rc
declare -A P50
rows="after"
[ -n "$before" ] && rows="$rows before"
[ "${BUSY:-0}" = 1 ] && rows="$rows busy"
KROW=
for kind in $KINDS; do
	for shape in $SHAPES; do
		for which in $rows kernel; do
			if [ "$which" = kernel ]; then
				# The bridge has no port kind nor shape: measured once.
				[ -n "$KROW" ] || KROW=$(bridge)
				out=$KROW
			else
				b=$build mode=idle
				[ "$which" = before ] && b=$before
				[ "$which" = busy ] && mode=busy
				out=$(run "$b" "$kind" "$shape" "$mode")
			fi
			read -r c s f50 f90 fmax r50 rtt n st stat rc <<<"$out"
			P50[$kind,$shape,$which]=$f50
			printf "$FMT" "$kind" "$shape" "$which" "$c" "$s" "$f50" "$f90" "$fmax" "$r50" \
				"$rtt" "$n" "$st" "$stat" "$rc"
		done
	done
done
echo
echo "first frame after idle, one-way, median over the kernel bridge's:"
for kind in $KINDS; do
	for shape in $SHAPES; do
		for which in $rows; do
			python3 -c '
import sys
k, s, w, a, r = sys.argv[1:6]
try: print(f"  {k:9s} {s:7s} {w:7s} {float(a) - float(r):+.0f} us")
except ValueError: print(f"  {k:9s} {s:7s} {w:7s} n/a")' "$kind" "$shape" "$which" \
				"${P50[$kind,$shape,$which]}" "${P50[kernel]:-${P50[$kind,$shape,kernel]}}"
			[ "$which" = after ] || continue
			bench_row idle "first frame after 1 s idle, $kind $shape" us lower \
				"${P50[$kind,$shape,$which]}" "${P50[kernel]:-${P50[$kind,$shape,kernel]}}" \
				"kernel bridge" "" "" "$pings" "one-way, median"
		done
	done
done

[ "${GEN:-1}" = 1 ] || exit 0
echo
echo "weir-gen receiving in dut (nothing else there), probes from a at 1 pps; times in us"
echo "rx: one-way latency the receiver measured; reflect: round trip the sender measured"
GFMT='%-9s %-8s %-7s %6s %7s | %6s %6s %6s %3s | %6s %s\n'
printf "$GFMT" kind mode build "cpu%" "sched%" p50 p90 max n stopms rc
for kind in $KINDS; do
	for mode in rx reflect; do
		for which in $rows; do
			[ "$which" = busy ] && continue
			b=$build
			[ "$which" = before ] && b=$before
			read -r c s p50 p90 mx n st rc <<<"$(gen_run "$b" "$kind" "$mode")"
			printf "$GFMT" "$kind" "$mode" "$which" "$c" "$s" "$p50" "$p90" "$mx" "$n" "$st" "$rc"
		done
	done
done
