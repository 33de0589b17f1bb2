#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# AF_XDP on veth pairs, weir against dpdk-testpmd with net_af_xdp:
#
#     gen ns --veth--> dut ns --veth--> sink ns (XDP_DROP)
#
# The generator runs on CPU 0 (the veth receive work, XDP program and the
# copy into the AF_XDP ring run there too, in its softirq), the system under
# test on CPU 1. Same generator, same cores, same 64-byte frames for both.
# testpmd's main lcore (idle at its prompt) sits on the other CPU: sharing
# one CPU with its forwarding lcore stalls it (0.003 Mpps).
#
#   1. generator choice: testpmd txonly vs weir's afxdp gen, each into
#      weir's receiver; the faster one generates for everything after.
#   2. rxonly: weir (bench/afxdp rx) vs testpmd --forward-mode=rxonly.
#   3. forwarding dut: weir (bench/afxdp fwd, one pool = one shared UMEM,
#      no copy) vs testpmd --forward-mode=io over two net_af_xdp ports.
#   4. the in-kernel ceiling: an XDP program of our own on the dut's
#      ingress veth redirecting to its egress veth (xdp-bench from Debian
#      fails on this kernel: missing tracepoints).
#   5. CPU per forwarded packet at a fixed rate below saturation (weir gen
#      paced): weir in interrupt mode and polling, testpmd (always polls).
#
#   bench/afxdp.sh [BUILD_DIR] [SECONDS] [RUNS]
set -uo pipefail

build=$(cd "${1:-build}" && pwd)
secs=${2:-5}
runs=${3:-3}
rate=${RATE:-200000}
here=$(cd "$(dirname "$0")" && pwd)
bench="$build/bench/afxdp"
. "$here/../tests/integration/lib/netns.sh"
. "$here/lib/rows.sh"

[ -x "$bench" ] || { echo "afxdp.sh: $bench not built (ninja -C $build bench/afxdp)"; exit 1; }
weir_require_veth
weir_require_cmd dpdk-testpmd clang taskset ethtool
[ "$(nproc)" -ge 2 ] || weir_skip "needs 2 CPUs (generator and system under test)"
weir_timeout 1500
tmp=$(mktemp -d /tmp/weir-afxdp-bench-XXXXXX)
weir_on_cleanup "rm -rf $tmp"

weir_topo_line -n gen dut sink
G=$(weir_if gen dut) DI=$(weir_if dut gen) DO=$(weir_if dut sink) S=$(weir_if sink dut)
# The generator's frames must be accepted by the dut: promiscuous veths.
for n in "gen $G" "dut $DI" "dut $DO" "sink $S"; do
	set -- $n
	weir_nsexec "$1" ip link set "$2" promisc on
done

mc=$(gcc -print-multiarch)
cat >"$tmp/drop.c" <<'EOF'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int sink_drop(struct xdp_md *ctx) { return XDP_DROP; }
char _license[] SEC("license") = "GPL";
EOF
clang -target bpf -O2 -g -I/usr/include/"$mc" -c "$tmp/drop.c" -o "$tmp/drop.o"
# The sink drops in XDP, so what the dut sends costs the sink nothing and a
# native redirect into DO (which needs an XDP program on its peer) works.
weir_nsexec sink ip link set dev "$S" xdpdrv obj "$tmp/drop.o" sec xdp

sink_count() { # XDP packets seen by the sink's veth
	weir_nsexec sink ethtool -S "$S" 2>/dev/null | awk '/rx_queue_0_xdp_packets/ {print $2}'
}

# --- generators: run for $secs on CPU 0, print packets sent ----------------
gen_testpmd() {
	local log="$tmp/gen-testpmd.log"
	{ echo start; sleep "$secs"; echo stop; sleep 0.5; echo quit; } |
		weir_nsexec gen timeout -k 5 $((secs + 30)) dpdk-testpmd -l 0,1 --main-lcore 1 --no-huge -m 512 \
			--no-pci --file-prefix "weir-afxdp-gen-$$" --vdev "net_af_xdp0,iface=$G" -- \
			-i --forward-mode=txonly --txpkts=60 --total-num-mbufs 32768 --nb-cores=1 \
			--burst=64 >"$log" 2>&1
	awk '/Accumulated forward statistics/ {a = 1} a && /TX-packets:/ {print $6; exit}' "$log"
}
gen_weir() { # [PPS]
	weir_nsexec gen taskset -c 0 "$bench" gen "afxdp:$G?mode=native" "$secs" "${1:-0}" \
		2>"$tmp/gen-weir.err" | sed -n 's/.*packets=\([0-9]*\).*/\1/p'
}
gen() { if [ "$GEN" = weir ]; then gen_weir "$@"; else gen_testpmd; fi; }

# --- systems under test: start on CPU 1, return after the generator ------
# Each prints "packets cpu_ns_per_pkt".
dut_weir() { # rx|fwd [idle] [PPS]
	local mode=$1 idle=${2:-} pps=${3:-0} log="$tmp/dut-weir.log" pid
	if [ "$mode" = rx ]; then
		weir_bg dut taskset -c 1 "$bench" rx "afxdp:$DI?mode=native" 1000 $idle >"$log" 2>&1
	else
		weir_bg dut taskset -c 1 "$bench" fwd "afxdp:$DI?mode=native" \
			"afxdp:$DO?mode=native" 1000 $idle >"$log" 2>&1
	fi
	pid=$WEIR_BG_PID
	sleep 1.5
	gen "$pps" >"$tmp/sent"
	sleep 0.5
	kill -INT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	sed -n 's/.*packets=\([0-9]*\) cpu_ns_per_pkt=\([0-9.]*\).*/\1 \2/p' "$log"
}
dut_testpmd() { # rxonly|io [PPS]
	local mode=$1 pps=${2:-0} log="$tmp/dut-testpmd.log" pid vdevs
	vdevs=(--vdev "net_af_xdp0,iface=$DI")
	[ "$mode" = io ] && vdevs+=(--vdev "net_af_xdp1,iface=$DO")
	# Driven through a pipe: start, outlive the generator, stop, quit.
	{ echo start; sleep $((secs + 3)); echo stop; sleep 0.5; echo quit; } |
		weir_nsexec dut timeout -k 5 $((secs + 40)) dpdk-testpmd -l 0,1 --main-lcore 0 \
			--no-huge -m 512 --no-pci --file-prefix "weir-afxdp-dut-$$" "${vdevs[@]}" -- \
			-i --forward-mode="$mode" --total-num-mbufs 32768 --nb-cores=1 --burst=64 \
			>"$log" 2>&1 &
	pid=$!
	sleep 1.5
	gen "$pps" >"$tmp/sent"
	wait "$pid" 2>/dev/null
	if [ "$mode" = rxonly ]; then
		awk '/Accumulated forward statistics/ {a = 1} a && /RX-packets:/ {print $2; exit}' "$log"
	else
		awk '/Accumulated forward statistics/ {a = 1} a && /TX-packets:/ {print $6; exit}' "$log"
	fi
}

median() { sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print 0}'; }
mpps() { awk -v p="$1" -v s="$secs" 'BEGIN {printf "%.3f", p / s / 1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }

echo "== afxdp bench: 64-byte frames, ${secs}s per run, $runs runs, gen CPU 0, dut CPU 1"

# 1. generator choice
GEN=testpmd
r=$(dut_weir rx)
tp_gen=$(echo "$r" | awk '{print $1}')
tp_sent=$(cat "$tmp/sent")
GEN=weir
r=$(dut_weir rx)
w_gen=$(echo "$r" | awk '{print $1}')
w_sent=$(cat "$tmp/sent")
echo "generator: testpmd txonly sent $(mpps "${tp_sent:-0}") Mpps (weir received $(mpps "${tp_gen:-0}")); weir gen sent $(mpps "${w_sent:-0}") Mpps (weir received $(mpps "${w_gen:-0}"))"
if [ "${w_gen:-0}" -gt "${tp_gen:-0}" ]; then GEN=weir; else GEN=testpmd; fi
echo "generator used below: $GEN (the faster one into the same receiver)"

# 2. rxonly
: >"$tmp/rx.w"; : >"$tmp/rx.t"
for i in $(seq "$runs"); do
	w=$(dut_weir rx | awk '{print $1}')
	t=$(dut_testpmd rxonly)
	echo "rx run $i: weir $(mpps "${w:-0}") Mpps, testpmd $(mpps "${t:-0}") Mpps (generator sent $(mpps "$(cat "$tmp/sent")"))"
	echo "${w:-0}" >>"$tmp/rx.w"; echo "${t:-0}" >>"$tmp/rx.t"
done
rw=$(median <"$tmp/rx.w"); rt=$(median <"$tmp/rx.t")

# 3. forwarding
: >"$tmp/fw.w"; : >"$tmp/fw.t"
for i in $(seq "$runs"); do
	s0=$(sink_count)
	w=$(dut_weir fwd | awk '{print $1}')
	s1=$(sink_count)
	t=$(dut_testpmd io)
	s2=$(sink_count)
	echo "fwd run $i: weir $(mpps "${w:-0}") Mpps (sink saw $(mpps $((s1 - s0)))), testpmd $(mpps "${t:-0}") Mpps (sink saw $(mpps $((s2 - s1))))"
	echo "${w:-0}" >>"$tmp/fw.w"; echo "${t:-0}" >>"$tmp/fw.t"
done
fw=$(median <"$tmp/fw.w"); ft=$(median <"$tmp/fw.t")

# 4. in-kernel ceiling: XDP_REDIRECT dut ingress -> egress, no user space.
ifx=$(weir_nsexec dut cat "/sys/class/net/$DO/ifindex")
cat >"$tmp/redir.c" <<EOF
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int dut_redirect(struct xdp_md *ctx) { return bpf_redirect($ifx, 0); }
char _license[] SEC("license") = "GPL";
EOF
clang -target bpf -O2 -g -I/usr/include/"$mc" -c "$tmp/redir.c" -o "$tmp/redir.o"
weir_nsexec dut ip link set dev "$DI" xdpdrv obj "$tmp/redir.o" sec xdp
: >"$tmp/k"
for i in $(seq "$runs"); do
	s0=$(sink_count)
	gen >/dev/null
	s1=$(sink_count)
	echo "kernel XDP redirect run $i: $(mpps $((s1 - s0))) Mpps at the sink"
	echo $((s1 - s0)) >>"$tmp/k"
done
weir_nsexec dut ip link set dev "$DI" xdpdrv off
kx=$(median <"$tmp/k")

# 5. CPU per forwarded packet at a fixed rate (weir gen paced, both sides)
GEN=weir
r=$(dut_weir fwd idle "$rate"); wi_ns=$(echo "$r" | awk '{print $2}'); wi_n=$(echo "$r" | awk '{print $1}')
r=$(dut_weir fwd "" "$rate"); wp_ns=$(echo "$r" | awk '{print $2}')
t=$(dut_testpmd io "$rate")
# testpmd polls all the time: its CPU per packet is its core time over what
# it forwarded.
tp_ns=$(awk -v n="${t:-0}" -v s="$secs" 'BEGIN {if (n > 0) printf "%.1f", s * 1e9 / n; else print "n/a"}')

echo
echo "== results (median of $runs; generator: $GEN for 1-4 as chosen above)"
printf "%-34s %10s %10s %8s\n" "" weir testpmd ratio
printf "%-34s %10s %10s %8s\n" "rxonly Mpps" "$(mpps "$rw")" "$(mpps "$rt")" "$(ratio "$rw" "$rt")"
printf "%-34s %10s %10s %8s\n" "forward Mpps" "$(mpps "$fw")" "$(mpps "$ft")" "$(ratio "$fw" "$ft")"
printf "%-34s %10s\n" "kernel XDP redirect ceiling Mpps" "$(mpps "$kx")"
printf "%-34s %10s %10s %8s\n" "fwd CPU ns/pkt @ $((rate / 1000)) kpps (irq)" "$wi_ns" "$tp_ns" "$(ratio "$tp_ns" "$wi_ns")"
printf "%-34s %10s %10s %8s\n" "fwd CPU ns/pkt @ $((rate / 1000)) kpps (poll)" "$wp_ns" "$tp_ns" "$(ratio "$tp_ns" "$wp_ns")"
echo "(ns/pkt ratio is testpmd/weir: > 1 means weir spends less CPU per packet; weir forwarded $wi_n packets in interrupt mode)"
bench_row afxdp "afxdp rxonly, 64 B" Mpps higher "$(mpps "$rw")" "$(mpps "$rt")" "testpmd net_af_xdp" "" "" "$runs" \
	"veth: generator-bound"
bench_row afxdp "afxdp forward, 64 B" Mpps higher "$(mpps "$fw")" "$(mpps "$ft")" "testpmd net_af_xdp" "" "" "$runs"
bench_row afxdp "afxdp fwd CPU/pkt @ $((rate / 1000)) kpps (irq)" ns lower "$wi_ns" "$tp_ns" "testpmd net_af_xdp" \
	"" "" 1
