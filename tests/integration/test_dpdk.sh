#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The dpdk: bridge end to end, one case per run (argument):
#   ring   weir-gen over dpdk:net_ring0 (a DPDK loopback in memory): every
#          probe sent comes back, in order, and no frame was copied.
#   tap    weir-fwd between dpdk:net_tap0 and dpdk:net_tap1; the two taps
#          DPDK makes are moved into two namespaces whose Linux stacks then
#          talk through weir: ping, UDP datagrams of 1..1472 bytes echoed
#          back byte-exact, weir-gen probes reflected, none lost.
#   afxdp  the same over veth pairs, with weir-fwd on
#          dpdk:net_af_xdp0,iface=... ports in the middle namespace.
#   tap_2q two queue pairs on multiqueue taps (weir-fwd -q 2): flows spread
#          over both queues, none lost.
#   cap    weir-cap on a dpdk:net_tap0 port: what Linux sends on the tap is
#          in the file, as tshark reads it.
#   intr   RX interrupts on net_tap: an idle weir-fwd sleeps (wake-ups
#          counted against rxintr=0 polling) and wakes for frames.
# In each but cap (weir-cap reports no xstats), the bridge's copy counters (xstats rx_copied, tx_copied) of
# every dpdk: port must be 0: the fast path moved no payload. Skips with
# the reason when weir was built without DPDK or cannot run here.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
FWD=$BUILD/apps/weir-fwd
GEN=$BUILD/apps/weir-gen
CASE=${1:-ring}

[ -x "$FWD" ] && [ -x "$GEN" ] || weir_skip "weir-fwd/weir-gen not built under $BUILD"
[ "${WEIR_HAVE_DPDK:-1}" = 1 ] ||
	weir_skip "weir was built without libdpdk (apt-get install libdpdk-dev, then meson setup again)"
weir_require_cmd python3
weir_timeout 55
# DPDK 22.11's net_af_xdp never frees the xsk_umem it makes (libxdp).
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$HERE/dpdk-lsan.supp:print_suppressions=0"
TMP=$(mktemp -d /tmp/weir-dpdk.XXXXXX)
[ -n "${KEEP:-}" ] && echo "keeping $TMP"
[ -n "${KEEP:-}" ] || weir_on_cleanup "rm -rf $TMP"

# check_copies FILE: every dpdk: port of a weir JSON summary copied nothing.
check_copies() {
	python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ports = [p for p in d["ports"] if p["spec"].startswith("dpdk:")]
assert ports, "no dpdk: port in the summary"
for p in ports:
    x = p["xstats"]
    assert x["rx_copied"] == 0 and x["tx_copied"] == 0, \
        f'{p["spec"]}: copied rx {x["rx_copied"]} tx {x["tx_copied"]}'
    print(f'{p["spec"]}: rx {p["rx_packets"]} tx {p["tx_packets"]}, copied 0/0, '
          f'dpdk_rx_good_packets {x.get("dpdk_rx_good_packets")}')
PY
}

case_ring() {
	"$GEN" -p dpdk:net_ring0 -r 200kpps -n 50000 -f 8 -s 64-1500 --quiet --json \
		>"$TMP/gen.json" 2>"$TMP/gen.err" || { cat "$TMP/gen.err"; return 1; }
	python3 - "$TMP/gen.json" <<'PY' || return 1
import json, sys
d = json.load(open(sys.argv[1]))
tx, rx = d["tx"]["packets"], d["rx"]
assert tx == 50000 and rx["probes"] == tx and rx["lost"] == 0 and rx["reordered"] == 0, \
    f"sent {tx}, back {rx}"
assert d["leaked"] == 0, "buffers leaked"
print(f"ring: {tx} probes of 64-1500 bytes sent and back, none lost or reordered")
PY
	check_copies "$TMP/gen.json"
}

# UDP datagrams of every size class from gen to an echo server in sink,
# each checked byte for byte when it comes back (both directions).
udp_echo() {
	local dst=$1
	weir_bg sink python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7007))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d, a)'
	sleep 0.3
	weir_nsexec gen python3 - "$dst" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
sizes = list(range(1, 64)) + list(range(64, 1473, 37)) + [1472] * 20
bad = lost = 0
for i, n in enumerate(sizes):
    msg = os.urandom(n)
    for attempt in range(3):
        s.sendto(msg, (sys.argv[1], 7007))
        try:
            back = s.recv(65535)
            break
        except socket.timeout:
            back = None
    if back is None:
        lost += 1
    elif back != msg:
        bad += 1
print(f"udp echo: {len(sizes)} datagrams of 1..1472 bytes, {bad} differ, {lost} lost")
sys.exit(1 if bad or lost else 0)
PY
}

# weir-gen probes from gen, reflected by weir-gen in sink, counted back.
gen_reflect() {
	local gi=$1 si=$2 rpid
	weir_bg sink "$GEN" -p "afpacket:$si" -m reflect --quiet >/dev/null 2>&1
	rpid=$WEIR_BG_PID
	sleep 0.5
	weir_nsexec gen "$GEN" -p "afpacket:$gi" -r 5kpps -n 5000 -s 64-1500 --quiet --json \
		>"$TMP/probe.json" 2>"$TMP/probe.err" || { cat "$TMP/probe.err"; return 1; }
	weir_kill "$rpid"
	python3 - "$TMP/probe.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
tx, rx = d["tx"]["packets"], d["rx"]
assert tx == 5000 and rx["probes"] == tx and rx["lost"] == 0, f"sent {tx}, back {rx}"
assert d["rtt"]["count"] == tx, f'{d["rtt"]["count"]} round trips of {tx}'
print(f"weir-gen: {tx} probes reflected back through weir-fwd, none lost; "
      f'rtt p50 {d["rtt"]["p50_ns"] / 1000:.0f} us')
PY
}

# start_fwd NODE SPEC0 SPEC1: weir-fwd in NODE, waiting until both ports are up.
start_fwd() {
	local node=$1
	weir_bg "$node" "$FWD" -p "$2" -p "$3" --json --quiet --stats-socket "$TMP/fwd.sock" \
		>"$TMP/fwd.json" 2>"$TMP/fwd.err"
	FPID=$WEIR_BG_PID
	for _ in $(seq 100); do
		[ -S "$TMP/fwd.sock" ] && return 0
		kill -0 "$FPID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TMP/fwd.err"
	return 1
}

stop_fwd() {
	kill -INT "$FPID"
	wait "$FPID"
	local rc=$?
	[ "$rc" = 0 ] || { echo "weir-fwd exited with $rc"; cat "$TMP/fwd.err"; return 1; }
	check_copies "$TMP/fwd.json"
}

traffic() {
	local dst=$1 gi=$2 si=$3
	weir_nsexec gen ping -c 3 -i 0.2 -W 2 "$dst" >"$TMP/ping.out" 2>&1 || { echo "ping failed:"; cat "$TMP/ping.out" "$TMP/fwd.err"; ip -n "$(weir_ns gen)" -s link; return 1; }
	echo "ping: through weir-fwd"
	udp_echo "$dst" || return 1
	gen_reflect "$gi" "$si"
}

case_tap() {
	local ta=wta$$ tb=wtb$$ rc=0
	weir_require_root
	weir_node_add gen
	weir_node_add dut
	weir_node_add sink
	start_fwd dut "dpdk:net_tap0,iface=$ta" "dpdk:net_tap1,iface=$tb" || return 1
	# DPDK made the taps in dut; their file descriptors stay with it.
	ip -n "$(weir_ns dut)" link set "$ta" netns "$(weir_ns gen)" || return 1
	ip -n "$(weir_ns dut)" link set "$tb" netns "$(weir_ns sink)" || return 1
	ip -n "$(weir_ns gen)" addr add 10.88.0.1/24 dev "$ta"
	ip -n "$(weir_ns gen)" link set "$ta" up
	ip -n "$(weir_ns sink)" addr add 10.88.0.2/24 dev "$tb"
	ip -n "$(weir_ns sink)" link set "$tb" up
	weir_nsexec gen sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	weir_nsexec sink sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	traffic 10.88.0.2 "$ta" "$tb" || rc=1
	stop_fwd || rc=1
	return $rc
}

case_afxdp() {
	local rc=0
	weir_require_veth
	weir_topo_line -n -F gen dut sink || return 1
	local gi=$(weir_if gen dut) d0=$(weir_if dut gen) d1=$(weir_if dut sink) si=$(weir_if sink dut)
	ip -n "$(weir_ns gen)" addr add 10.88.1.1/24 dev "$gi"
	ip -n "$(weir_ns sink)" addr add 10.88.1.2/24 dev "$si"
	start_fwd dut "dpdk:net_af_xdp0,iface=$d0" "dpdk:net_af_xdp1,iface=$d1" || return 1
	traffic 10.88.1.2 "$gi" "$si" || rc=1
	stop_fwd || rc=1
	return $rc
}

# weir-cap on a dpdk: port: the tap DPDK makes goes to namespace gen,
# whose Linux stack asks for a neighbour nobody is (ARP requests on the
# tap); weir-cap writes 3 of them, and tshark reads 3 ARP frames back.
case_cap() {
	local ta=wtc$$ cpid n
	weir_require_root
	command -v tshark >/dev/null || weir_skip "tshark not installed"
	weir_node_add gen
	weir_node_add dut
	weir_bg dut "$BUILD/apps/weir-cap" -i "dpdk:net_tap0,iface=$ta" -c 3 -t 30s \
		--stats-socket "$TMP/cap.sock" -w "$TMP/cap.pcapng" --quiet --json arp \
		>"$TMP/cap.json" 2>"$TMP/cap.err"
	cpid=$WEIR_BG_PID
	# Its stats socket is up once the port is open and before it receives.
	for _ in $(seq 150); do [ -S "$TMP/cap.sock" ] && break; sleep 0.1; done
	[ -S "$TMP/cap.sock" ] || { echo "weir-cap did not start: $(tail -3 "$TMP/cap.err")"; return 1; }
	ip -n "$(weir_ns dut)" link set "$ta" netns "$(weir_ns gen)" || { cat "$TMP/cap.err"; return 1; }
	ip -n "$(weir_ns gen)" addr add 10.88.2.1/24 dev "$ta"
	ip -n "$(weir_ns gen)" link set "$ta" up
	# Linux asks 3 times per resolution; ask again until weir-cap has 3.
	for _ in $(seq 10); do
		kill -0 "$cpid" 2>/dev/null || break
		weir_nsexec gen ping -c 1 -W 1 10.88.2.9 >/dev/null 2>&1
	done
	wait "$cpid" || { echo "weir-cap exited $?: $(tail -3 "$TMP/cap.err")"; return 1; }
	n=$(tshark -r "$TMP/cap.pcapng" -Y arp 2>/dev/null | wc -l)
	[ "$n" = 3 ] || { echo "tshark read $n ARP frames from weir-cap's file, want 3"; return 1; }
	echo "weir-cap on dpdk:net_tap0: 3 ARP requests from Linux, read back by tshark"
}

# wakeups PID: times the process's threads went to sleep so far.
wakeups() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/^voluntary_ctxt_switches/ {s += $2} END {print s + 0}'
}

# RX interrupts on net_tap: idle, weir-fwd sleeps until a frame comes
# (a few wake-ups in 2 s, against ~1000 a second polling with rxintr=0),
# and the first frames after the quiet spell still get through.
case_intr() {
	local ta=wta$$ tb=wtb$$ rc=0 a poll intr
	weir_require_root
	weir_node_add gen
	weir_node_add dut
	weir_node_add sink
	weir_nsexec dut sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	start_fwd dut "dpdk:net_tap0,iface=$ta?rxintr=0" "dpdk:net_tap1,iface=$tb?rxintr=0" ||
		return 1
	sleep 1; a=$(wakeups "$FPID"); sleep 2; poll=$(($(wakeups "$FPID") - a))
	stop_fwd || return 1
	rm -f "$TMP/fwd.sock"
	start_fwd dut "dpdk:net_tap0,iface=$ta" "dpdk:net_tap1,iface=$tb" || return 1
	sleep 1; a=$(wakeups "$FPID"); sleep 2; intr=$(($(wakeups "$FPID") - a))
	echo "idle 2 s: weir-fwd woke $poll times polling, $intr times on RX interrupts"
	if [ "$intr" -ge 100 ] || [ "$poll" -le $((intr * 5)) ]; then
		echo "RX interrupts did not let weir-fwd sleep"
		rc=1
	fi
	ip -n "$(weir_ns dut)" link set "$ta" netns "$(weir_ns gen)" || return 1
	ip -n "$(weir_ns dut)" link set "$tb" netns "$(weir_ns sink)" || return 1
	ip -n "$(weir_ns gen)" addr add 10.88.3.1/24 dev "$ta"
	ip -n "$(weir_ns gen)" link set "$ta" up
	ip -n "$(weir_ns sink)" addr add 10.88.3.2/24 dev "$tb"
	ip -n "$(weir_ns sink)" link set "$tb" up
	weir_nsexec gen ping -c 3 -i 0.5 -W 2 10.88.3.2 >"$TMP/ping.out" 2>&1 ||
		{ echo "ping after the idle spell failed:"; cat "$TMP/ping.out"; rc=1; }
	[ "$rc" = 0 ] && echo "ping: through weir-fwd woken by RX interrupts"
	stop_fwd || rc=1
	return $rc
}

# Two queue pairs, one lcore each, over multiqueue taps: Linux spreads
# flows over a tap's queues (tun's flow hash); 8 UDP flows of weir-gen
# must use both of weir's queues on the way in, none lost.
case_tap_2q() {
	local ta=wta$$ tb=wtb$$ rc=0
	weir_require_root
	weir_node_add gen
	weir_node_add dut
	weir_node_add sink
	weir_bg dut "$FWD" -p "dpdk:net_tap0,iface=$ta?queues=2" -p "dpdk:net_tap1,iface=$tb?queues=2" \
		-q 2 --json --quiet --stats-socket "$TMP/fwd.sock" >"$TMP/fwd.json" 2>"$TMP/fwd.err"
	FPID=$WEIR_BG_PID
	for _ in $(seq 100); do
		[ -S "$TMP/fwd.sock" ] && break
		sleep 0.1
	done
	[ -S "$TMP/fwd.sock" ] || { cat "$TMP/fwd.err"; return 1; }
	ip -n "$(weir_ns dut)" link set "$ta" netns "$(weir_ns gen)" || return 1
	ip -n "$(weir_ns dut)" link set "$tb" netns "$(weir_ns sink)" || return 1
	ip -n "$(weir_ns gen)" link set "$ta" up
	ip -n "$(weir_ns sink)" link set "$tb" up
	weir_bg sink "$GEN" -p "afpacket:$tb" -m rx --json --quiet >"$TMP/sink.json" 2>&1
	local spid=$WEIR_BG_PID
	sleep 0.5
	weir_nsexec gen "$GEN" -p "afpacket:$ta" -m tx -f 8 -r 5kpps -n 5000 --quiet \
		>/dev/null 2>&1 || rc=1
	sleep 0.5
	kill -INT "$spid"
	wait "$spid"
	stop_fwd || rc=1
	python3 - "$TMP/fwd.json" "$TMP/sink.json" <<'PY' || rc=1
import json, sys
fwd, sink = (json.load(open(f)) for f in sys.argv[1:3])
assert sink["rx"]["probes"] == 5000 and sink["rx"]["lost"] == 0, f'sink: {sink["rx"]}'
q = [fwd["ports"][0]["xstats"][f"dpdk_rx_q{i}_packets"] for i in (0, 1)]
assert min(q) > 0 and sum(q) >= 5000, f"per-queue rx {q}: not spread over both queues"
print(f"2 queues: 5000 probes forwarded, none lost; port 0 queues received {q}")
PY
	return $rc
}

case "$CASE" in
ring) case_ring ;;
tap_2q) case_tap_2q ;;
tap) case_tap ;;
afxdp) case_afxdp ;;
cap) case_cap ;;
intr) case_intr ;;
*) echo "unknown case $CASE (ring, tap, tap_2q, afxdp, cap, intr)"; exit 1 ;;
esac
rc=$?
[ "$rc" = 0 ] && echo "PASS: dpdk $CASE" || echo "FAIL: dpdk $CASE"
exit $rc
