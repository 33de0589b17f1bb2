#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Receive Mpps of 64-byte frames on a veth pair: weir's afpacket driver
# (zero-copy TPACKET_V3) against DPDK's net_af_packet (TPACKET_V2, one copy
# per frame into an mbuf), dpdk-testpmd --no-huge in rxonly mode. Same
# sender (weir's afpacket tx, qdisc_bypass=1, pinned to GEN_CPU), same
# receiving core (RX_CPU), alternated REPS times in one run; prints each
# round, the medians, min-max and the ratio weir/DPDK.
#
#   bench/afpacket.sh [BUILD_DIR]       (as root)
#   env: REPS=3 SECS=4 SIZE=64 GEN_CPU=0 RX_CPU=1 TP_FRAMECNT=4096
#        RATE=300000 KWORK=none|rps|threaded AFP_ARGS=wake=0 (weir's port)
#
# On a veth the kernel's receive work (skb delivery and the copy into the
# packet ring) runs on the sender's CPU, so the sender's rate is printed
# too: a receiver that gets everything offered is "not the bottleneck".
# Hence a second measure: the sender paced at RATE pps (below saturation),
# the receiver process's CPU time (utime + stime from /proc/PID/stat, the
# same for all three) over the sender's run, per packet received: weir
# polling, weir in interrupt mode (sleeps on its wait fd when idle) and
# testpmd (always polls). KWORK=rps steers the veth's receive work to RX_CPU
# (rps_cpus), KWORK=threaded turns on GRO + threaded NAPI on the receiving
# veth with the NAPI thread pinned to RX_CPU: either moves the kernel's copy
# off the sender's CPU (it is then not in the receiver process's CPU time).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/integration/lib/netns.sh"
. "$here/lib/rows.sh"

build=${1:-build}
bin="$build/bench/afpacket"
REPS=${REPS:-3} SECS=${SECS:-4} SIZE=${SIZE:-64}
GEN_CPU=${GEN_CPU:-0} RX_CPU=${RX_CPU:-1} TP_FRAMECNT=${TP_FRAMECNT:-4096}
RATE=${RATE:-300000} KWORK=${KWORK:-none}
[ -x "$bin" ] || { echo "no $bin: build first (ninja -C $build bench/afpacket)"; exit 1; }
weir_require_veth
weir_require_cmd dpdk-testpmd awk
weir_timeout $((REPS * (5 * SECS + 50) + 30))
weir_topo_pair -n gen dut
G=$(weir_if gen dut)
D=$(weir_if dut gen)
tmp=$(mktemp -d /tmp/weir-bench-afpacket.XXXXXX)
weir_on_cleanup "rm -rf '$tmp'"
mask=$(printf %x $((1 << RX_CPU)))
case "$KWORK" in
none) ;;
rps) weir_nsexec dut sh -c "echo $mask >/sys/class/net/$D/queues/rx-0/rps_cpus" || exit 1 ;;
threaded)
	weir_nsexec dut ethtool -K "$D" gro on >/dev/null || exit 1
	weir_nsexec dut sh -c "echo 1 >/sys/class/net/$D/threaded" || exit 1
	sleep 0.2
	for p in $(pgrep -f "napi/$D-"); do taskset -p "$mask" "$p" >/dev/null; done
	[ -n "$(pgrep -f "napi/$D-")" ] || { echo "KWORK=threaded: no NAPI thread for $D"; exit 1; }
	;;
*) echo "KWORK=$KWORK: none, rps or threaded"; exit 1 ;;
esac
# cpu_ticks PID: the process's utime + stime, in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# gen: prints the sender's packets and seconds into $tmp/gen
gen() {
	weir_nsexec gen "$bin" gen "afpacket:$G?qdisc_bypass=1" "$SECS" "$GEN_CPU" "$SIZE" \
		"${PPS:-0}" >"$tmp/gen"
}

round_weir() {
	local pid total sent secs
	weir_bg dut "$bin" rx "afpacket:$D${AFP_ARGS:+?$AFP_ARGS}" 0 "$RX_CPU" ${RX_IDLE:+idle} >"$tmp/rx"
	pid=$WEIR_BG_PID
	sleep 0.5
	c0=$(cpu_ticks "$pid")
	gen
	sleep 0.2
	c1=$(cpu_ticks "$pid")
	kill -INT "$pid"
	wait "$pid"
	total=$(awk -F'total=' 'NF > 1 {split($2, a, " "); print a[1]}' "$tmp/rx")
	sent=$(awk -F'packets=' '{split($2, a, " "); print a[1]}' "$tmp/gen")
	secs=$(awk -F'seconds=' '{split($2, a, " "); print a[1]}' "$tmp/gen")
	echo "$total $sent $secs $((c1 - c0))"
	awk -F'cpu=' -v n="$sent" 'NF > 1 && n > 0 {printf "%.1f\n", $2 * 1e9 / n}' "$tmp/gen" \
		>>"$tmp/gencpu"
}

round_dpdk() {
	local pid total sent secs i
	weir_bg dut dpdk-testpmd -l "$GEN_CPU,$RX_CPU" --main-lcore "$GEN_CPU" --no-huge -m 512 \
		--no-pci --file-prefix "weir-afp-$$" --log-level=lib.eal:error \
		--vdev "net_af_packet0,iface=$D,framecnt=$TP_FRAMECNT" -- \
		--forward-mode=rxonly --total-num-mbufs 32768 --stats-period 1 >"$tmp/tp" 2>&1
	pid=$WEIR_BG_PID
	for i in $(seq 100); do
		grep -q "Rx-pps" "$tmp/tp" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q "Rx-pps" "$tmp/tp"; then
		echo "dpdk-testpmd did not start:" >&2
		tail -20 "$tmp/tp" >&2
		return 1
	fi
	c0=$(cpu_ticks "$pid")
	gen
	sleep 0.2
	c1=$(cpu_ticks "$pid")
	kill -INT "$pid"
	wait "$pid"
	total=$(awk '/Accumulated forward statistics/ {f = 1} f && /RX-packets:/ {print $2; exit}' "$tmp/tp")
	sent=$(awk -F'packets=' '{split($2, a, " "); print a[1]}' "$tmp/gen")
	secs=$(awk -F'seconds=' '{split($2, a, " "); print a[1]}' "$tmp/gen")
	echo "$total $sent $secs $((c1 - c0))"
}

echo "afpacket rx bench: ${SIZE}-byte frames, ${SECS}s x $REPS, sender cpu $GEN_CPU, receiver cpu $RX_CPU, kernel receive work: $KWORK"
echo "  weir:  afpacket:$D${AFP_ARGS:+?$AFP_ARGS} (TPACKET_V3 zero-copy)"
echo "  dpdk:  dpdk-testpmd rxonly, net_af_packet0,iface=$D,framecnt=$TP_FRAMECNT"
W=() T=()
for r in $(seq "$REPS"); do
	read -r wt ws wsec < <(round_weir 2>"$tmp/rx.err" | tail -1) || true
	[ -s "$tmp/rx.err" ] && cat "$tmp/rx.err" >&2
	read -r tt ts tsec < <(round_dpdk | tail -1) || true
	[ -n "$wt" ] && [ -n "$tt" ] || { echo "round $r failed"; cat "$tmp/rx" "$tmp/gen" >&2; exit 1; }
	w=$(awk -v n="$wt" -v s="$wsec" 'BEGIN {printf "%.3f", n / s / 1e6}')
	t=$(awk -v n="$tt" -v s="$tsec" 'BEGIN {printf "%.3f", n / s / 1e6}')
	wo=$(awk -v n="$ws" -v s="$wsec" 'BEGIN {printf "%.3f", n / s / 1e6}')
	to=$(awk -v n="$ts" -v s="$tsec" 'BEGIN {printf "%.3f", n / s / 1e6}')
	printf "  round %d: weir %s Mpps (offered %s, got %s of %s)   dpdk %s Mpps (offered %s, got %s of %s)\n" \
		"$r" "$w" "$wo" "$wt" "$ws" "$t" "$to" "$tt" "$ts"
	W+=("$w") T+=("$t")
done
stats() { printf "%s\n" "$@" | sort -g | awk '{a[NR] = $1} END {printf "%s %s %s", a[int((NR + 1) / 2)], a[1], a[NR]}'; }
read -r wm wmin wmax < <(stats "${W[@]}")
read -r tm tmin tmax < <(stats "${T[@]}")
echo "sender CPU per packet with weir receiving (ns, its kernel receive work included): $(tr '\n' ' ' <"$tmp/gencpu")"
: >"$tmp/gencpu"
echo "weir afpacket rx:     median $wm Mpps (min-max $wmin-$wmax)"
echo "dpdk net_af_packet:   median $tm Mpps (min-max $tmin-$tmax)"
awk -v a="$wm" -v b="$tm" 'BEGIN {if (b > 0) printf "ratio weir/dpdk: %.2fx (goal >= 1.5x)\n", a / b; else print "ratio: dpdk received nothing"}'
bench_row afpacket "afpacket rx, 64 B" Mpps higher "$wm" "$tm" "DPDK net_af_packet" \
	"$wmin-$wmax" "$tmin-$tmax" "$REPS" "veth: generator-bound"

# CPU per packet at RATE pps: ns of receiver process CPU per packet received
hz=$(getconf CLK_TCK)
nspp() { awk -v c="$1" -v n="$2" -v hz="$hz" 'BEGIN {if (n > 0) printf "%.1f", c / hz * 1e9 / n; else print "nan"}'; }
echo "receiver CPU per packet, sender paced at $RATE pps (${SECS}s x $REPS; /proc/PID/stat utime+stime over the sender's run)"
P=() I=() D2=()
for r in $(seq "$REPS"); do
	read -r pt ps psec pc < <(PPS=$RATE round_weir 2>/dev/null | tail -1) || true
	read -r it is isec ic < <(PPS=$RATE RX_IDLE=1 round_weir 2>/dev/null | tail -1) || true
	read -r dt ds dsec dc < <(PPS=$RATE round_dpdk | tail -1) || true
	P+=("$(nspp "${pc:-0}" "${pt:-0}")") I+=("$(nspp "${ic:-0}" "${it:-0}")") D2+=("$(nspp "${dc:-0}" "${dt:-0}")")
	printf "  round %d: weir poll %s ns/pkt (got %s of %s), weir irq %s ns/pkt (got %s of %s), dpdk %s ns/pkt (got %s of %s)\n" \
		"$r" "${P[-1]}" "$pt" "$ps" "${I[-1]}" "$it" "$is" "${D2[-1]}" "$dt" "$ds"
done
read -r pm pmin pmax < <(stats "${P[@]}")
read -r im imin imax < <(stats "${I[@]}")
read -r dm dmin dmax < <(stats "${D2[@]}")
echo "sender CPU per packet, weir poll then irq each round (ns): $(tr '\n' ' ' <"$tmp/gencpu")"
echo "weir poll:  median $pm ns/pkt (min-max $pmin-$pmax)"
echo "weir irq:   median $im ns/pkt (min-max $imin-$imax)"
echo "dpdk:       median $dm ns/pkt (min-max $dmin-$dmax)"
bench_row afpacket "afpacket rx CPU/pkt @ $RATE pps (irq)" ns lower "$im" "$dm" "DPDK net_af_packet" \
	"$imin-$imax" "$dmin-$dmax" "$REPS"
awk -v p="$pm" -v i="$im" -v d="$dm" -v a="$wm" -v b="$tm" 'BEGIN {
	printf "ratio Mpps weir/dpdk: %.2fx; CPU per packet dpdk/weir: irq %.2fx, poll %.2fx (> 1: weir spends less; goal >= 1.5x)\n", a / b, d / i, d / p }'
