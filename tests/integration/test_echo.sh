#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# weir-echo against the Linux kernel on one veth pair: weir-echo
# (10.199.1.1/24, UDP ports 7 and 9000) on an afpacket or afxdp port in
# node a, whose interface has no address of its own; Linux at 10.199.1.2/24
# in node b, its veth as Linux makes it (tx checksum offload, TSO, GSO on)
# or, with "csumoff", with tx checksumming off. Checks, from b:
#   - ping gets replies, also ping -s 8000 (fragmented both ways);
#   - a Linux UDP socket's datagrams of 1 to 65507 bytes (1, 1472, 1473,
#     8000, 65507, the fragment boundaries, 20 random sizes) come back
#     byte-exact from both UDP ports;
#   - Linux's neighbour entry for weir has weir's MAC (REACHABLE/STALE),
#     also after it was deleted (weir answered a request), and weir's
#     --json summary shows it answered ARP;
#   - no checksum error on either side (Linux's InCsumErrors, weir's
#     ip/udp/icmp_rx_csum), no drop of weir's own but the expected ones,
#     exit 0 with no leaked buffer.
# "2q": two queues, two lcores, two stacks; clients on fresh sockets until
# both lcores have echoed (ARP replies one stack receives reach the other).
# "vlan": Linux's address on an 802.1Q subinterface (VID 100) of its veth,
# weir-echo with --vlan 100.
# Usage: test_echo.sh afpacket|afxdp [csumoff|2q|vlan]      (~2-10 s)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
BIN=$BUILD/apps/weir-echo
KIND=${1:?usage: $0 afpacket|afxdp [csumoff|2q|vlan]}
CSUM=${2:-}
Q=1
[ "$CSUM" = 2q ] && Q=2

weir_require_veth
weir_require_cmd ping python3
[ -x "$BIN" ] || weir_skip "weir-echo not built at $BIN"
weir_timeout 60

OPTS=(-n -q $Q)
[ "$CSUM" = csumoff ] || OPTS+=(-o)
weir_topo_pair "${OPTS[@]}" a b || exit 1
IFA=$(weir_if a b)
IFB=$(weir_if b a)
WEIR=10.199.1.1
LINUX=10.199.1.2
VLAN=()
if [ "$CSUM" = vlan ]; then
	weir_nsexec b ip link add link "$IFB" name "v$$" type vlan id 100 || weir_skip "no 802.1Q"
	weir_nsexec b ip link set "v$$" up
	IFB=v$$
	VLAN=(--vlan 100)
fi
weir_nsexec b ip addr add $LINUX/24 dev "$IFB"
TMP=$(mktemp -d /tmp/weir-echo-XXXXXX)
weir_on_cleanup "rm -rf $TMP"
fail() { echo "FAIL: $*"; echo "--- weir-echo:"; cat "$TMP/echo.err" "$TMP/echo.out" 2>/dev/null; exit 1; }
echo "Linux's $IFB: $(weir_nsexec b ethtool -k "$IFB" | grep -E '^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload):' | tr -s '\n' ' ')"

csum_errors() {
	weir_nsexec b awk '/^(Udp|Icmp):/ { if (!h[$1]++) { for (i=2;i<=NF;i++) col[$1,$i]=i } else s += $col[$1,"InCsumErrors"] } END { print s+0 }' /proc/net/snmp
}
CSUM0=$(csum_errors)

weir_bg a "$BIN" -p "$KIND:$IFA?queues=$Q" -q $Q -a $WEIR/24 -u 7 -u 9000 -s "$TMP/echo.sock" "${VLAN[@]}" --json \
	>"$TMP/echo.out" 2>"$TMP/echo.err"
ECHO_PID=$WEIR_BG_PID
for _ in $(seq 100); do
	[ -S "$TMP/echo.sock" ] && break
	kill -0 "$ECHO_PID" 2>/dev/null || break
	sleep 0.1
done
[ -S "$TMP/echo.sock" ] || fail "weir-echo did not start"

weir_nsexec b ping -c 3 -i 0.2 -W 2 $WEIR >"$TMP/ping" 2>&1 || { cat "$TMP/ping"; fail "ping"; }
tail -1 "$TMP/ping"
weir_nsexec b ping -c 2 -i 0.3 -W 3 -s 8000 $WEIR >"$TMP/ping" 2>&1 ||
	{ cat "$TMP/ping"; fail "ping -s 8000"; }
grep -q "8008 bytes from $WEIR" "$TMP/ping" || { cat "$TMP/ping"; fail "ping -s 8000 replies"; }
echo "ping -s 8000: $(grep -c 'bytes from' "$TMP/ping") replies"

MAC=$(weir_nsexec a cat "/sys/class/net/$IFA/address")
NEIGH=$(weir_nsexec b ip neigh show $WEIR dev "$IFB")
echo "Linux: $NEIGH"
echo "$NEIGH" | grep -qiE "lladdr $MAC (REACHABLE|STALE|DELAY|PROBE)" ||
	fail "Linux did not resolve weir's MAC $MAC: $NEIGH"

SIZES=1,2,17,64,100,1471,1472,1473,1480,1481,2952,2953,4000,8000,8972,8973,9000,16384,32768,65000,65506,65507
weir_nsexec b python3 "$HERE/lib/udp_echo_client.py" $WEIR 7,9000 $SIZES 20 || fail "UDP echo"

if [ $Q = 2 ]; then
	for i in $(seq 16); do
		weir_nsexec b python3 "$HERE/lib/udp_echo_client.py" $WEIR 7 1,1473,8000 >/dev/null ||
			fail "UDP echo on a fresh socket"
		"$BUILD/apps/weir-stat" "$TMP/echo.sock" >"$TMP/live.json" 2>&1
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if all(l["echoed"] for l in d["lcores"]) else 1)' \
			"$TMP/live.json" && break
	done
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("per lcore echoed:", [l["echoed"] for l in d["lcores"]], "ARP replies copied:", d["arp_copied"]); sys.exit(0 if all(l["echoed"] for l in d["lcores"]) else 1)' \
		"$TMP/live.json" || fail "after 16 fresh sockets, one lcore never echoed"
fi

# Linux learnt weir's MAC from weir's gratuitous ARP or its answer; make it ask again.
weir_nsexec b ip neigh del $WEIR dev "$IFB" 2>/dev/null
weir_nsexec b ping -c 1 -W 2 $WEIR >/dev/null 2>&1 || fail "ping after Linux forgot weir's MAC"
weir_nsexec b ip neigh show $WEIR dev "$IFB" | grep -qi "lladdr $MAC" ||
	fail "Linux did not resolve weir's MAC again"

# While it runs: the telemetry document parses and counts what happened.
"$BUILD/apps/weir-stat" "$TMP/echo.sock" >"$TMP/live.json" 2>&1 || fail "weir-stat: $(cat "$TMP/live.json")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["app"]=="weir-echo" and d["echoed"]>0, d' \
	"$TMP/live.json" || fail "telemetry document"

CSUM1=$(csum_errors)
[ "$CSUM1" = "$CSUM0" ] || fail "Linux counted $((CSUM1 - CSUM0)) checksum errors"

kill -TERM "$ECHO_PID"
wait "$ECHO_PID"
RC=$?
[ "$RC" = 0 ] || fail "weir-echo exited with $RC"
python3 - "$TMP/echo.out" "$KIND" "$CSUM" <<'PY' || fail "weir-echo's summary"
import json, sys
d = json.load(open(sys.argv[1]))
st, drops = d["stack"], d["drops"]
show = ["eth_rx_frames", "arp_rx_requests", "arp_tx_replies", "arp_tx_gratuitous",
        "icmp_tx_echo_replies", "frag_reassembled", "ip_tx_fragments", "udp_rx_delivered",
        "udp_rx_csum_trusted", "udp_tx_csum_partial"]
print("weir-echo: " + " ".join("%s=%d" % (k, st[k]) for k in show))
print("weir-echo drops: " + (" ".join("%s=%d" % kv for kv in drops.items() if kv[1]) or "none"))
assert d["leaked"] == 0, "leaked %d" % d["leaked"]
assert st["arp_tx_replies"] > 0, "weir never answered Linux's ARP request"
assert st["icmp_tx_echo_replies"] >= 6, "ping replies"
assert st["frag_reassembled"] > 0 and st["ip_tx_fragments"] > 0, "no fragments"
assert sum(p["rx_datagrams"] for p in d["udp_ports"]) == d["echoed"] > 2 * 40, d["udp_ports"]
assert d["echo_refused"] == 0
# Frames weir must not drop: bad checksums, full queues, missing buffers.
for k in ["ip_rx_csum", "udp_rx_csum", "icmp_rx_csum", "eth_tx_queue_full", "eth_tx_nobufs",
          "udp_rx_queue_full", "ip_drop_nobufs", "frag_drop_nobufs", "frag_drop_budget_total",
          "frag_drop_budget_source", "ip_drop_no_route"]:
    assert drops[k] == 0, "%s = %d" % (k, drops[k])
if sys.argv[3] == "":
    # Linux's partial checksums, vouched for by the driver.
    assert st["udp_rx_csum_trusted"] > 0, "no offloaded checksum on receive"
    if sys.argv[2] == "afpacket":
        assert st["udp_tx_csum_partial"] > 0, "no partial checksum sent"
PY
echo "PASS: $KIND${CSUM:+ $CSUM}"
exit 0
