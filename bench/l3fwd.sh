#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench/l3fwd: 64-byte IPv4 forwarding rate of weir-fwd --mode l3 against
# the Linux kernel's own IPv4 forwarding (ip_forward=1) on the same veth
# path, with dpdk-testpmd io forwarding (no routing at all) as the ceiling;
# same generator, same cores, runs alternating, medians of RUNS.
#
#   bench/l3fwd.sh [BUILD_DIR] [SECONDS] [RUNS] [afxdp|afpacket]
#   env KWORK=both (default: one after the other) | sender | napi
#
# A line of namespaces gen -> dut -> sink: gen 10.77.1.1, dut 10.77.1.2 and
# 10.77.2.1, sink 10.77.2.2. weir-gen in gen on CPU 0 sends 64-byte UDP to
# the sink's address (8 flows), to dut's MAC, at line rate. In dut, one at
# a time on CPU 1:
#   kernel   ip_forward=1: routes, decrements TTL, resolves the sink by ARP
#   weir     weir-fwd --mode l3 over DRIVER ports, the same addresses and
#            route (ip_forward=0 meanwhile), ARP and LPM of its own
#   testpmd  dpdk-testpmd --forward-mode=io over net_af_xdp / net_af_packet
#            vdevs (--no-huge): frames moved untouched, the no-routing ceiling
# The sink drops IPv4 in XDP (ARP passes, so both routers can resolve it),
# and the rate is what reached it (its veth's XDP counter) after a 2 s
# warm-up, over SECONDS.
#
# Where the kernel's work runs. On a veth the receive side (the XDP program,
# the AF_XDP/AF_PACKET copy, and for the kernel router all of the routing)
# runs on the CPU that sent the frame, unless the receiving veth has
# threaded NAPI. KWORK=sender leaves it there (as bench/fwd.sh): the
# kernel router then forwards on the generator's CPU 0, beside weir-gen.
# KWORK=napi gives dut's ingress veth GRO (so it has NAPI) and threaded
# NAPI pinned to CPU 1, so
# every forwarder, the kernel included, does all its work on CPU 1 (weir
# and testpmd share it with that NAPI thread). Both are printed; neither
# is the whole truth on two CPUs. Under bench/run each mode's medians go
# into the table (bench/lib/rows.sh).
set -uo pipefail

build=${1:-build}
secs=${2:-5}
runs=${3:-3}
drv=${4:-afxdp}
kwork=${KWORK:-both}
FWD=$build/apps/weir-fwd
GEN=$build/apps/weir-gen
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/rows.sh"
gcpu=0
fcpu=$(($(nproc) - 1))

for b in "$FWD" "$GEN"; do
	[ -x "$b" ] || { echo "l3fwd.sh: $b not built (ninja -C $build)" >&2; exit 1; }
done
case "$drv" in afxdp | afpacket) ;; *) echo "l3fwd.sh: driver afxdp or afpacket, not $drv" >&2; exit 1 ;; esac
case "$kwork" in sender | napi | both) ;; *) echo "l3fwd.sh: KWORK=sender, napi or both, not $kwork" >&2; exit 1 ;; esac
command -v dpdk-testpmd >/dev/null || { echo "l3fwd.sh: dpdk-testpmd not found; skipping" >&2; exit 77; }
command -v clang >/dev/null || { echo "l3fwd.sh: clang (for the sink's XDP program) not found; skipping" >&2; exit 77; }

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
minmax() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }

. "$HERE/../tests/integration/lib/netns.sh"
weir_require_veth
weir_topo_line -F gen dut sink || exit 1
GI=$(weir_if gen dut) D0=$(weir_if dut gen) D1=$(weir_if dut sink) SI=$(weir_if sink dut)
G=$(weir_ip gen dut) R0=$(weir_ip dut gen) R1=$(weir_ip dut sink) S=$(weir_ip sink dut)
DMAC=$(weir_mac dut gen)
tmp=$(mktemp -d /tmp/weir-bench-l3-XXXXXX)
weir_on_cleanup "rm -rf $tmp"
printf '%s\n' '#include <linux/bpf.h>' '#include <linux/if_ether.h>' \
	'#include <bpf/bpf_helpers.h>' '#include <bpf/bpf_endian.h>' \
	'SEC("xdp") int sink_drop(struct xdp_md *ctx) {' \
	'	void *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;' \
	'	struct ethhdr *eh = d;' \
	'	if ((void *)(eh + 1) <= e && eh->h_proto == bpf_htons(ETH_P_ARP))' \
	'		return XDP_PASS;' \
	'	return XDP_DROP;' \
	'}' 'char _license[] SEC("license") = "GPL";' >"$tmp/drop.c"
clang -target bpf -O2 -I/usr/include/"$(gcc -print-multiarch)" -c "$tmp/drop.c" -o "$tmp/drop.o" ||
	exit 1
# The path works (before the sink drops what reaches it): gen pings sink.
weir_nsexec dut sysctl -qw net.ipv4.ip_forward=1
weir_nsexec gen ping -c1 -W1 -q "$S" >/dev/null 2>&1 ||
	{ echo "l3fwd.sh: no ping through the kernel router" >&2; exit 1; }
weir_nsexec dut sysctl -qw net.ipv4.ip_forward=0
weir_nsexec sink ip link set dev "$SI" xdpdrv obj "$tmp/drop.o" sec xdp || exit 1

sink_count() { weir_nsexec sink ethtool -S "$SI" | awk '/rx_queue_0_xdp_packets/ {print $2}'; }
# sink_rate: Mpps that reached the sink over SECONDS, after the warm-up.
sink_rate() {
	local a b t0 t1
	sleep "${1:-2}"
	a=$(sink_count); t0=$(date +%s.%N)
	sleep "$secs"
	b=$(sink_count); t1=$(date +%s.%N)
	awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" \
		'BEGIN {if (a != "" && b != "") printf "%.3f\n", (b - a) / (t1 - t0) / 1e6; else print "nan"}'
}

kernel_rate() {
	weir_nsexec dut sysctl -qw net.ipv4.ip_forward=1
	sink_rate
	weir_nsexec dut sysctl -qw net.ipv4.ip_forward=0
}

weir_rate() {
	local pid
	# Not through a shell function: $! must be weir-fwd's own PID.
	ip netns exec "$(weir_ns dut)" taskset -c "$fcpu" "$FWD" --mode l3 -c "$fcpu" --quiet \
		-p "$drv:$D0" --addr "0@$R0/24" -p "$drv:$D1" --addr "1@$R1/24" >"$tmp/weir.out" 2>&1 &
	pid=$!
	sink_rate
	kill -INT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || { echo "l3fwd.sh: weir-fwd failed:" >&2; cat "$tmp/weir.out" >&2; }
}

testpmd_rate() {
	local v0 v1 tpid
	if [ "$drv" = afxdp ]; then v0="net_af_xdp0,iface=$D0" v1="net_af_xdp1,iface=$D1"
	else v0="net_af_packet0,iface=$D0" v1="net_af_packet1,iface=$D1"; fi
	{ echo "start"; sleep $((secs + 4)); echo "stop"; echo "quit"; } |
		weir_nsexec dut dpdk-testpmd -l "$gcpu,$fcpu" --main-lcore "$gcpu" --no-huge -m 512 \
			--no-pci --file-prefix "weir-bench-l3-$$" --vdev "$v0" --vdev "$v1" -- \
			-i --forward-mode=io --total-num-mbufs 32768 --nb-cores=1 --burst=32 \
			--rxq=1 --txq=1 >"$tmp/testpmd.out" 2>&1 &
	tpid=$!
	sink_rate 3
	wait "$tpid"
}

weir_bg gen taskset -c "$gcpu" "$GEN" -p "$drv:$GI" -m tx -r line -s 64 -f 8 \
	--src-ip "$G" --dst-ip "$S" --dst-mac "$DMAC" --quiet
sleep 1

# One KWORK mode: RUNS of kernel, weir, testpmd alternating; report, rows.
bench_mode() {
	local mode=$1 k w t K=() W=() T=()
	# A veth receives through NAPI only with an XDP program or GRO on;
	# GRO on makes the kernel router's path NAPI too (UDP is not merged
	# for forwarding: rx-udp-gro-forwarding stays off).
	if [ "$mode" = napi ]; then
		weir_nsexec dut ethtool -K "$D0" gro on >/dev/null 2>&1
		weir_threaded_napi dut gen "$fcpu" || exit 1
	else
		weir_nsexec dut sh -c "echo 0 > /sys/class/net/$D0/threaded" 2>/dev/null
		weir_nsexec dut ethtool -K "$D0" gro off >/dev/null 2>&1
	fi
	echo "l3fwd: 64 B IPv4 UDP, $G -> $S through dut, weir-gen on CPU $gcpu ($drv, line rate, 8 flows),"
	echo "       forwarders on CPU $fcpu, kernel work KWORK=$mode, sink XDP_DROP counts, ${secs}s x $runs"
	for i in $(seq 1 "$runs"); do
		K+=("$(kernel_rate)")
		W+=("$(weir_rate)")
		T+=("$(testpmd_rate)")
		echo "  run $i: kernel ${K[-1]} Mpps, weir-fwd l3 ${W[-1]} Mpps, testpmd io ${T[-1]} Mpps"
	done
	grep -h "l3:" "$tmp/weir.out" | tail -1 | sed 's/^/  last weir-fwd run:/'
	k=$(printf '%s\n' "${K[@]}" | median)
	w=$(printf '%s\n' "${W[@]}" | median)
	t=$(printf '%s\n' "${T[@]}" | median)
	printf 'l3fwd %s KWORK=%s: weir-fwd l3 %s Mpps (%s), kernel ip_forward %s Mpps (%s), testpmd io %s Mpps (%s); ratio weir/kernel %s, weir/testpmd %s\n' \
		"$drv" "$mode" "$w" "$(printf '%s\n' "${W[@]}" | minmax)" "$k" \
		"$(printf '%s\n' "${K[@]}" | minmax)" "$t" "$(printf '%s\n' "${T[@]}" | minmax)" \
		"$(ratio "$w" "$k")" "$(ratio "$w" "$t")"
	bench_row l3fwd "64 B IPv4 forwarding, $drv, kernel work on the $([ "$mode" = napi ] && echo "forwarder's CPU" || echo "sender's CPU")" \
		Mpps higher "$w" "$k" "kernel ip_forward" "$(printf '%s\n' "${W[@]}" | minmax)" \
		"$(printf '%s\n' "${K[@]}" | minmax)" "$runs"
	bench_row l3fwd "same, against testpmd io (no routing), kernel work KWORK=$mode" \
		Mpps higher "$w" "$t" "testpmd io" "$(printf '%s\n' "${W[@]}" | minmax)" \
		"$(printf '%s\n' "${T[@]}" | minmax)" "$runs"
}

case "$kwork" in
both) bench_mode sender; bench_mode napi ;;
*) bench_mode "$kwork" ;;
esac
