#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench/fwd: 64-byte forwarding rate of weir-fwd against dpdk-testpmd's io
# forwarding, same drivers, same cores, runs alternating, median of RUNS.
#
#   bench/fwd.sh [BUILD_DIR] [SECONDS] [RUNS] [null|afpacket|afxdp|dpdk_null|dpdk_afxdp|all]
#   env: AFP_ARGS="wake=0" (added to weir-fwd's afpacket port specs),
#        AFXDP_ARGS="mode=native" (to its afxdp port specs; the row says so;
#        weir-fwd's default on a veth is mode=skb)
#
# null:      weir-fwd -p null: -p null: -m io  vs
#            dpdk-testpmd --vdev net_null0 --vdev net_null1 --forward-mode=io
#            (framework overhead only: no kernel involved)
# dpdk_null: weir-fwd -p dpdk:net_null0 -p dpdk:net_null1 -m io (weir on
#            DPDK's own null PMD, through the dpdk: bridge) vs the same
#            testpmd: what the bridge costs with no device work at all.
# dpdk_afxdp: weir-fwd over dpdk:net_af_xdp0,iface=... ports vs testpmd io
#            over the same net_af_xdp vdevs on the same veths, same cores
#            (csum=keep: testpmd io does not look at checksums either).
# afpacket,  a line of namespaces gen -> dut -> sink on veths; weir-gen at
# afxdp:     line rate (64 B, 8 flows) in gen on CPU 0; the forwarder in dut
#            on CPU 1: weir-fwd -m io over afpacket:/afxdp: ports vs testpmd
#            io over net_af_packet/net_af_xdp vdevs on the same veths.
#            With two CPUs the generator and the forwarder share the machine
#            with the kernel's veth work, so these figures are noisy and may
#            be generator-bound: compare the ratio, not the absolute rate.
#
# Both forwarders are measured the same way: a counter sample after a 2 s
# warm-up and another SECONDS later (testpmd: "show port stats all" Tx-pps
# of the egress ports; weir-fwd: tx_packets from its stats socket). On the
# veths the figure reported is what the sink received over the same window
# (its veth's XDP counter): the sink drops in XDP, as in bench/afxdp.sh, so
# what the forwarder sends costs no kernel stack work. Without it the sink's
# stack (run on the forwarder's CPU, in its sendto's softirq, on a veth)
# held both forwarders to ~1.07 Mpps instead of ~1.6-1.7.
set -uo pipefail

build=${1:-build}
secs=${2:-5}
runs=${3:-3}
which=${4:-all}
FWD=$build/apps/weir-fwd
GEN=$build/apps/weir-gen
STAT=$build/apps/weir-stat
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/rows.sh"
ncpu=$(nproc)
fcpu=$((ncpu - 1))
mcpu=0

for b in "$FWD" "$GEN" "$STAT"; do
	[ -x "$b" ] || { echo "fwd.sh: $b not built (ninja -C $build)" >&2; exit 1; }
done
command -v dpdk-testpmd >/dev/null || { echo "fwd.sh: dpdk-testpmd not found; skipping" >&2; exit 77; }

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
minmax() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }

# weir_rate NSWRAP SECS ARGS... : Mpps sent by weir-fwd's egress ports
# (all ports' tx) between two samples of its stats socket.
weir_rate() {
	local wrap=$1 sock pid a b
	shift
	sock=/tmp/weir-bench-fwd-$$.sock
	rm -f "$sock"
	$wrap "$FWD" "$@" -c "$fcpu" --quiet --stats-socket "$sock" >/dev/null 2>&1 &
	pid=$!
	sink_rate_start
	sleep 2
	a=$("$STAT" "$sock" 2>/dev/null)
	sleep "$secs"
	b=$("$STAT" "$sock" 2>/dev/null)
	kill -INT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ -n "${SINK_RATE:-}" ]; then wait "$SINK_RATE" 2>/dev/null; cat "$SINK_OUT"; return; fi
	python3 - "$a" "$b" <<'PY'
import json, sys
try:
    a, b = (json.loads(x) for x in sys.argv[1:3])
except Exception:
    print("nan"); sys.exit(0)
tx = lambda d: sum(p["tx_packets"] for p in d["ports"])
print(f"{(tx(b) - tx(a)) / (b['uptime_s'] - a['uptime_s']) / 1e6:.3f}")
PY
}

# testpmd_rate NSWRAP VDEV0 VDEV1 : Mpps, Tx-pps summed over both ports.
testpmd_rate() {
	local wrap=$1 v0=$2 v1=$3 log tpid
	log=$(mktemp /tmp/weir-bench-fwd-tp.XXXXXX)
	{ echo "start"; sleep 2; echo "show port stats all"; sleep "$secs"
	  echo "show port stats all"; echo "stop"; echo "quit"; } |
		$wrap dpdk-testpmd -l "$mcpu,$fcpu" --main-lcore "$mcpu" --no-huge -m 512 --no-pci \
			--file-prefix "weir-bench-fwd-$$" --vdev "$v0" --vdev "$v1" -- \
			-i --forward-mode=io --total-num-mbufs 32768 --nb-cores=1 --burst=32 \
			--rxq=1 --txq=1 >"$log" 2>&1 &
	tpid=$!
	sink_rate_start
	wait "$tpid"
	if [ -n "${SINK_RATE:-}" ]; then wait "$SINK_RATE" 2>/dev/null; cat "$SINK_OUT"; rm -f "$log"; return; fi
	grep -o 'Tx-pps: *[0-9]*' "$log" | awk '{print $2}' | tail -n 2 |
		awk '{s += $1; n++} END {if (n == 2) printf "%.3f\n", s / 1e6; else print "nan"}'
	rm -f "$log"
}

# sink_rate_start: when SINK_COUNT is set, samples it after the same 2 s
# warm-up and SECONDS later, in the background; the Mpps goes to SINK_OUT.
sink_rate_start() {
	SINK_RATE=
	[ -n "${SINK_COUNT:-}" ] || return 0
	(
		sleep 2
		a=$($SINK_COUNT); t0=$(date +%s.%N)
		sleep "$secs"
		b=$($SINK_COUNT); t1=$(date +%s.%N)
		awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" \
			'BEGIN {if (a != "" && b != "") printf "%.3f\n", (b - a) / (t1 - t0) / 1e6; else print "nan"}'
	) >"$SINK_OUT" &
	SINK_RATE=$!
}

report() {
	local name=$1 w t
	shift
	w=$(printf '%s\n' "${W[@]}" | median)
	t=$(printf '%s\n' "${T[@]}" | median)
	printf '%s: weir-fwd %s Mpps (%s), testpmd io %s Mpps (%s), ratio weir/testpmd %s\n' \
		"$name" "$w" "$(printf '%s\n' "${W[@]}" | minmax)" "$t" \
		"$(printf '%s\n' "${T[@]}" | minmax)" \
		"$(awk -v w="$w" -v t="$t" 'BEGIN {if (t > 0) printf "%.2f", w / t; else print "n/a"}')"
	bench_row fwd "io forwarding 64 B, $name" Mpps higher "$w" "$t" "testpmd io" \
		"$(printf '%s\n' "${W[@]}" | minmax)" "$(printf '%s\n' "${T[@]}" | minmax)" "$runs"
}

bench_null() {
	W=() T=()
	echo "null ports, io forwarding, 64 B, burst 32, forwarder on CPU $fcpu, ${secs}s x $runs"
	for i in $(seq 1 "$runs"); do
		W+=("$(weir_rate "" -p "null:?size=64" -p "null:?size=64" -m io)")
		T+=("$(testpmd_rate "" net_null0,size=64 net_null1,size=64)")
		echo "  run $i: weir-fwd ${W[-1]} Mpps, testpmd ${T[-1]} Mpps"
	done
	report "null"
}

bench_dpdk_null() {
	W=() T=()
	echo "DPDK net_null ports, io forwarding, 64 B, burst 32, forwarder on CPU $fcpu, ${secs}s x $runs"
	for i in $(seq 1 "$runs"); do
		W+=("$(weir_rate "" -p "dpdk:net_null0,size=64" -p "dpdk:net_null1,size=64" -m io)")
		T+=("$(testpmd_rate "" net_null0,size=64 net_null1,size=64)")
		echo "  run $i: weir-fwd (dpdk:) ${W[-1]} Mpps, testpmd ${T[-1]} Mpps"
	done
	report "dpdk_null"
}

# bench_veth DRV: DRV is afpacket or afxdp (weir's own drivers against
# testpmd's vdevs for the same sockets), or dpdk_afxdp (weir-fwd on
# testpmd's very vdevs, through the dpdk: bridge).
bench_veth() {
	local drv=$1 name=$1 tp0 tp1 gpid
	(
		. "$HERE/../tests/integration/lib/netns.sh"
		weir_require_veth
		weir_topo_line -n gen dut sink || exit 1
		GI=$(weir_if gen dut); D0=$(weir_if dut gen); D1=$(weir_if dut sink)
		SI=$(weir_if sink dut)
		# The sink drops in XDP, as bench/afxdp.sh's does: a weir-gen in rx
		# mode would compete for CPU, and the kernel stack's work (on the
		# forwarder's CPU) would set the rate instead of the forwarder.
		weir_nsexec sink ip link set "$SI" up
		tmp=$(mktemp -d /tmp/weir-bench-fwd-XXXXXX)
		weir_on_cleanup "rm -rf $tmp"
		printf '%s\n' '#include <linux/bpf.h>' '#include <bpf/bpf_helpers.h>' \
			'SEC("xdp") int sink_drop(struct xdp_md *ctx) { return XDP_DROP; }' \
			'char _license[] SEC("license") = "GPL";' >"$tmp/drop.c"
		clang -target bpf -O2 -I/usr/include/"$(gcc -print-multiarch)" -c "$tmp/drop.c" \
			-o "$tmp/drop.o" || exit 1
		weir_nsexec sink ip link set dev "$SI" xdpdrv obj "$tmp/drop.o" sec xdp || exit 1
		SINK_OUT=$tmp/sink-rate
		sink_count() { weir_nsexec sink ethtool -S "$SI" | awk '/rx_queue_0_xdp_packets/ {print $2}'; }
		SINK_COUNT=sink_count
		if [ "$drv" = afpacket ]; then
			tp0="net_af_packet0,iface=$D0"; tp1="net_af_packet1,iface=$D1"
		else
			tp0="net_af_xdp0,iface=$D0"; tp1="net_af_xdp1,iface=$D1"
		fi
		local w0="$drv:$D0" w1="$drv:$D1" gdrv=$drv
		if [ "$drv" = afpacket ] && [ -n "${AFP_ARGS:-}" ]; then
			w0+="?$AFP_ARGS"; w1+="?$AFP_ARGS"
		fi
		# e.g. AFXDP_ARGS=mode=native: the row is named after it.
		if [ "$drv" = afxdp ] && [ -n "${AFXDP_ARGS:-}" ]; then
			w0+="?$AFXDP_ARGS"; w1+="?$AFXDP_ARGS"; name="afxdp?$AFXDP_ARGS"
		fi
		if [ "$drv" = dpdk_afxdp ]; then
			w0="dpdk:$tp0?csum=keep"; w1="dpdk:$tp1?csum=keep"; gdrv=afxdp
		fi
		weir_bg gen taskset -c "$mcpu" "$GEN" -p "$gdrv:$GI" -m tx -r line -s 64 -f 8 --quiet
		W=() T=()
		echo "$drv veths, io forwarding, 64 B from weir-gen line rate on CPU $mcpu, forwarder on CPU $fcpu, sink XDP_DROP, Mpps counted at the sink, ${secs}s x $runs"
		for i in $(seq 1 "$runs"); do
			W+=("$(weir_rate "ip netns exec $(weir_ns dut)" -p "$w0" -p "$w1" -m io)")
			T+=("$(testpmd_rate "ip netns exec $(weir_ns dut)" "$tp0" "$tp1")")
			echo "  run $i: weir-fwd ${W[-1]} Mpps, testpmd ${T[-1]} Mpps"
		done
		report "$name"
	)
}

case "$which" in
null) bench_null ;;
dpdk_null) bench_dpdk_null ;;
afpacket | afxdp | dpdk_afxdp) bench_veth "$which" ;;
all) bench_null; bench_dpdk_null; bench_veth afpacket; bench_veth afxdp; bench_veth dpdk_afxdp ;;
*) echo "fwd.sh: unknown case '$which' (null, afpacket, afxdp, dpdk_null, dpdk_afxdp, all)" >&2; exit 1 ;;
esac
