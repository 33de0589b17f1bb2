#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# weir-fwd between Linux hosts as users have them: the veths keep Linux's
# default offloads (no ethtool at all: tx-checksumming, TSO and GSO on), so
# frames reach weir with partial checksums and, on AF_PACKET, as 64 KiB GSO
# super-frames. Usage: test_fwd_offload.sh afpacket|afxdp|dpdk_afxdp CASE, CASE one of
#   tcp     iperf3 TCP, Cubic then BBR, through an unshaped weir-fwd
#   shaped  4 Cubic flows through "tbf rate 100mbit burst 32k / fq_codel"
#           with 20 ms each way: goodput >= 90% of the ceiling, loaded ping
#           p99 <= idle + 10 ms
#   shaped6 the same over IPv6 (TCPv6 super-frames segmented by weir)
#   udp     iperf3 UDP (partial checksums, no GSO)
# Every case also checks that neither host counted a checksum error
# (/proc/net/snmp InCsumErrors) and that weir-fwd exits cleanly.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
FWD=$BUILD/apps/weir-fwd
KIND=${1:?usage: $0 afpacket|afxdp|dpdk_afxdp tcp|shaped|udp}
CASE=${2:?usage: $0 afpacket|afxdp tcp|shaped|udp}

weir_require_veth
weir_require_cmd iperf3 ping python3
[ -x "$FWD" ] || weir_skip "weir-fwd not built at $FWD"
weir_timeout 150

# -o: keep Linux's default offloads on every veth.
if [ "$CASE" = shaped6 ]; then
	weir_topo_line -o -6 -n a dut b || exit 1
	weir_nsexec a ip -6 addr add fd00:98::1/64 dev "$(weir_if a dut)" nodad
	weir_nsexec b ip -6 addr add fd00:98::2/64 dev "$(weir_if b dut)" nodad
	A=fd00:98::1 B=fd00:98::2
else
	weir_topo_line -o -n a dut b || exit 1
	weir_nsexec a ip addr add 10.98.0.1/24 dev "$(weir_if a dut)"
	weir_nsexec b ip addr add 10.98.0.2/24 dev "$(weir_if b dut)"
	A=10.98.0.1 B=10.98.0.2
fi
OUT=/tmp/weir-fwd-offload-$$.out
weir_on_cleanup "rm -f $OUT /tmp/weir-offload-$$.*"
fail() { echo "FAIL: $*"; [ -f "$OUT" ] && tail -30 "$OUT"; exit 1; }

# What the test relies on: the hosts' defaults really are on.
TXCSUM=$(weir_nsexec a ethtool -k "$(weir_if a dut)" 2>/dev/null | sed -n 's/^tx-checksumming: \([a-z]*\).*/\1/p')
echo "sender's veth: tx-checksumming ${TXCSUM:-unknown} (Linux's default, left alone)"

csum_errors() { # NS -> sum of Tcp, Udp and Udp6 InCsumErrors
	weir_nsexec "$1" awk '/^(Tcp|Udp):/ { if (!h[$1]++) { for (i=2;i<=NF;i++) col[$1,$i]=i } else s += $col[$1,"InCsumErrors"] }
		$1 == "Udp6InCsumErrors" { s += $2 } END { print s+0 }' /proc/net/snmp /proc/net/snmp6 2>/dev/null
}

EGRESS=()
DELAY=()
if [ "$CASE" = shaped ] || [ "$CASE" = shaped6 ]; then
	EGRESS=(-e "tbf rate 100mbit burst 32k / fq_codel")
	DELAY=(--delay 20ms)
fi
P0="$KIND:$(weir_if dut a)" P1="$KIND:$(weir_if dut b)"
if [ "$KIND" = dpdk_afxdp ]; then
	# The dpdk: bridge on DPDK's net_af_xdp (csum=auto completes partial
	# checksums); net_af_xdp leaks its xsk_umem (see dpdk-lsan.supp).
	export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$HERE/dpdk-lsan.supp:print_suppressions=0"
	P0="dpdk:net_af_xdp0,iface=$(weir_if dut a)" P1="dpdk:net_af_xdp1,iface=$(weir_if dut b)"
fi
weir_bg dut "$FWD" -p "$P0" -p "$P1" --mode l2 \
	"${EGRESS[@]}" "${DELAY[@]}" --cores 1 --quiet --json >"$OUT" 2>&1
FWD_PID=$WEIR_BG_PID
ok=0
for _ in $(seq 50); do
	weir_nsexec a ping -c1 -W1 "$B" >/dev/null 2>&1 && { ok=1; break; }
	kill -0 "$FWD_PID" 2>/dev/null || fail "weir-fwd exited at start"
done
[ $ok = 1 ] || fail "no ping through weir-fwd"

weir_bg b iperf3 -s -1 -B "$B" -p 5201 >/dev/null 2>&1
sleep 0.3

# iperf3 client run: prints "bits_per_second retransmits" of the receiver.
iperf() {
	weir_nsexec a timeout 40 iperf3 -c "$B" -p 5201 -J "$@" >/tmp/weir-offload-$$.json 2>&1 ||
		{ cat /tmp/weir-offload-$$.json; fail "iperf3 $* failed"; }
	python3 - /tmp/weir-offload-$$.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e = d["end"]
if "sum_received" in e:
    print(e["sum_received"]["bits_per_second"], e["sum_sent"].get("retransmits", 0))
else:  # UDP
    s = e["sum"]
    print(s["bits_per_second"] * (1 - s["lost_percent"] / 100), s["lost_packets"])
PY
}
restart_server() {
	weir_bg b iperf3 -s -1 -B "$B" -p 5201 >/dev/null 2>&1
	sleep 0.3
}
ge() { python3 -c "import sys; sys.exit(0 if float('$1') >= float('$2') else 1)"; }

case "$CASE" in
tcp)
	for cc in cubic bbr; do
		read -r BPS RETR < <(iperf -t 3 -C "$cc")
		echo "$KIND unshaped TCP $cc: $(python3 -c "print(round($BPS/1e9,2))") Gbit/s, $RETR retransmits"
		# The bug this pins: 0 bit/s with default offloads.
		ge "$BPS" 2e8 || fail "TCP $cc through weir-fwd: only $BPS bit/s"
		restart_server
	done
	;;
shaped | shaped6)
	# Ceiling: payload bytes per 1514-byte frame, TCP timestamps on:
	# 1448 over IPv4, 1428 over IPv6.
	MSS=1448
	[ "$CASE" = shaped6 ] && MSS=1428
	CEIL=$(python3 -c "print(100e6 * $MSS / 1514)")
	# Timing on a shared 2-core machine: a forwarder descheduled by other
	# jobs for tens of ms shows as RTT spikes that are not weir's queue.
	# Up to two retries (a clean clone's make test once missed in two
	# attempts in a row, 57 and 53 ms p99, and passed at 45 ms right
	# after); every attempt is printed, a pass needs both checks in one
	# attempt.
	why=
	for attempt in 1 2 3; do
		IDLE=$(weir_nsexec a ping -c 20 -i 0.05 -q "$B" | sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/\1/p')
		weir_nsexec a ping -c 150 -i 0.05 "$B" >/tmp/weir-offload-$$.ping 2>&1 &
		PING=$!
		read -r BPS RETR < <(iperf -t 8 -O 2 -P 4 -C cubic)
		wait $PING
		restart_server
		P99=$(python3 - /tmp/weir-offload-$$.ping <<'PY'
import re, sys
rtt = sorted(float(m) for m in re.findall(r"time=([0-9.]+)", open(sys.argv[1]).read()))
print(rtt[min(len(rtt) - 1, int(0.99 * len(rtt)))] if rtt else 1e9)
PY
)
		echo "$KIND $CASE 100mbit/fq_codel, attempt $attempt: goodput $(python3 -c "print(round($BPS/1e6,1))") Mbit/s = $(python3 -c "print(round(100*$BPS/$CEIL,1))")% of the $(python3 -c "print(round($CEIL/1e6,1))") ceiling, $RETR retransmits; ping idle avg $IDLE ms, loaded p99 $P99 ms"
		why=
		ge "$BPS" "$(python3 -c "print(0.9 * $CEIL)")" || why="goodput $BPS below 90% of the ceiling"
		ge "$(python3 -c "print(float('$IDLE') + 10)")" "$P99" || why="$why${why:+; }loaded ping p99 $P99 ms > idle $IDLE + 10 ms"
		[ -z "$why" ] && break
	done
	[ -z "$why" ] || fail "$why"
	;;
udp)
	read -r BPS LOST < <(iperf -u -b 200M -l 1400 -t 3)
	echo "$KIND UDP: $(python3 -c "print(round($BPS/1e6,1))") Mbit/s received, $LOST lost"
	ge "$BPS" 1e8 || fail "UDP through weir-fwd: only $BPS bit/s arrived"
	;;
*)
	fail "unknown case $CASE"
	;;
esac

A_ERR=$(csum_errors a)
B_ERR=$(csum_errors b)
echo "InCsumErrors: a $A_ERR, b $B_ERR"
[ "$A_ERR" = 0 ] && [ "$B_ERR" = 0 ] || fail "a host counted checksum errors (a $A_ERR, b $B_ERR)"

kill -INT "$FWD_PID"
wait "$FWD_PID"
RC=$?
[ "$RC" = 0 ] || fail "weir-fwd exited with $RC after SIGINT"
python3 - "$OUT" "$KIND" "$CASE" <<'PY' || fail "weir-fwd's counters"
import json, sys
kind, case = sys.argv[2], sys.argv[3]
txt = open(sys.argv[1]).read()
d = json.loads(txt[txt.index("{"):])
x = [p["xstats"] for p in d["ports"]]
seg = sum(q["gso_frames"] for p in d["ports"] for q in p["queues"])
gso_err = sum(q["gso_errors"] for p in d["ports"] for q in p["queues"])
csum = sum(v for p in x for k, v in p.items() if "csum_completed" in k)
print("weir-fwd: super-frames segmented %d (errors %d), checksums completed %d" % (seg, gso_err, csum))
assert gso_err == 0, "segmentation failed"
# What each path must have done for the hosts to see valid frames.
if kind in ("afxdp", "dpdk_afxdp"):
    assert csum > 0, "AF_XDP frames from a tx-checksumming sender, yet no checksum completed"
if kind == "afpacket" and case.startswith("shaped"):
    assert seg > 0, "super-frames reached a shaper unsegmented"
PY
echo "PASS"
