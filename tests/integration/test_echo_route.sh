#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# weir-echo's routes, changed at run time, with Linux as the routers:
# weir-echo (10.199.1.1/24) in node a; in node b Linux holds two next hops
# with different MACs: 10.199.1.3 on its veth and 10.199.1.4 on a macvlan
# on top of it, and a client address 10.199.2.5 (on lo) outside weir's
# subnet. weir-echo starts with the route 10.199.2.0/24 via 10.199.1.3 from
# its --config file. Checks:
#   - the echoes to 10.199.2.5 arrive through .3 (not the macvlan), so weir resolved
#     .3 by ARP itself (it never heard from it); `route get` names the route,
#     .3 and the veth's MAC, REACHABLE or STALE;
#   - `route del` makes the same echo fail (no route: ip_drop_no_route,
#     echo_refused counted), `route get` says unreachable;
#   - `route add ... via 10.199.1.4` moves the echoes to the macvlan, and
#     `route get` shows the macvlan's MAC;
#   - bad commands get {"error": ...} and change nothing.
# "2q": two queues, two lcores, two stacks: every change reaches both.
# Usage: test_echo_route.sh afpacket|afxdp [2q]      (~5 s)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
BIN=$BUILD/apps/weir-echo
STAT=$BUILD/apps/weir-stat
KIND=${1:?usage: $0 afpacket|afxdp [2q]}
Q=1
[ "${2:-}" = 2q ] && Q=2

weir_require_veth
weir_require_cmd python3
[ -x "$BIN" ] || weir_skip "weir-echo not built at $BIN"
weir_timeout 60

weir_topo_pair -n -o -q $Q a b || exit 1
IFA=$(weir_if a b)
IFB=$(weir_if b a)
MV=mv$$
WEIR=10.199.1.1
CLIENT=10.199.2.5
TMP=$(mktemp -d /tmp/weir-echo-route-XXXXXX)
weir_on_cleanup "rm -rf $TMP"
fail() { echo "FAIL: $*"; echo "--- weir-echo:"; cat "$TMP/echo.err" 2>/dev/null; exit 1; }

# Two next hops in b with their own MACs; each answers ARP only for its own
# address (arp_ignore=1), the client's requests name the veth's address
# (arp_announce=2), and replies may come in on either (rp_filter=0).
weir_nsexec b ip link add "$MV" link "$IFB" type macvlan mode bridge || weir_skip "no macvlan"
weir_nsexec b sh -e -c "
	for i in all default $IFB; do
		sysctl -qw net.ipv4.conf.\$i.arp_ignore=1 net.ipv4.conf.\$i.arp_announce=2 net.ipv4.conf.\$i.rp_filter=0
	done
	ip addr add 10.199.1.2/24 dev $IFB
	ip addr add 10.199.1.3/24 dev $IFB
	ip link set $MV up
	sysctl -qw net.ipv4.conf.$MV.arp_ignore=1 net.ipv4.conf.$MV.rp_filter=0
	ip addr add 10.199.1.4/24 dev $MV noprefixroute
	ip addr add $CLIENT/32 dev lo
	ip route add $WEIR/32 dev $IFB src 10.199.1.2
" || fail "setting up node b"
MAC_B=$(weir_nsexec b cat "/sys/class/net/$IFB/address")
MAC_MV=$(weir_nsexec b cat "/sys/class/net/$MV/address")

cat >"$TMP/echo.conf" <<CONF
[echo]
port = $KIND:$IFA?queues=$Q
queues = $Q
addr = $WEIR/24
udp-port = 7
route = 10.199.2.0/24 via 10.199.1.3
stats-socket = $TMP/echo.sock
CONF
weir_bg a "$BIN" --config "$TMP/echo.conf" --json >"$TMP/echo.out" 2>"$TMP/echo.err"
ECHO_PID=$WEIR_BG_PID
for _ in $(seq 100); do
	[ -S "$TMP/echo.sock" ] && break
	kill -0 "$ECHO_PID" 2>/dev/null || break
	sleep 0.1
done
[ -S "$TMP/echo.sock" ] || fail "weir-echo did not start"

cmd() { "$STAT" -s "$TMP/echo.sock" -x "$*"; }
rx() { weir_nsexec b cat "/sys/class/net/$1/statistics/rx_packets"; }
# json FILE EXPR: evaluates a python expression over the document d.
jq_() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
SIZES=$(printf '64,%.0s' $(seq 20))64

# echoes_via veth|macvlan: 21 echoes to the client arrive through that next
# hop. The veth counts every frame (the macvlan's too: it is the lower
# device), so the macvlan's own counter tells the two apart.
echoes_via() {
	local a0 b0 a1 b1 mv
	a0=$(rx "$IFB"); b0=$(rx "$MV")
	weir_nsexec b python3 "$HERE/lib/udp_echo_client.py" --bind $CLIENT $WEIR 7 "$SIZES" ||
		fail "UDP echo to $CLIENT"
	a1=$(rx "$IFB"); b1=$(rx "$MV")
	mv=$((b1 - b0))
	echo "  frames in: veth +$((a1 - a0)), macvlan +$mv"
	[ $((a1 - a0)) -ge 21 ] || fail "the echoes did not come in"
	if [ "$1" = veth ]; then
		[ $mv -le 3 ] || fail "$mv frames went to the macvlan (10.199.1.4), not to .3"
	else
		[ $mv -ge 21 ] || fail "only $mv frames went to the macvlan (10.199.1.4)"
	fi
}

echo "route show: $(cmd route show)"
R=$(cmd route show)
[ "$(jq_ "$R" '[r["gateway"] for r in d["routes"] if r["dst"] == "10.199.2.0/24"]')" = "['10.199.1.3']" ] ||
	fail "the --config route is missing: $R"

echo "via 10.199.1.3 (the veth, from --config):"
echoes_via veth
G=$(cmd route get $CLIENT)
echo "route get $CLIENT: $G"
[ "$(jq_ "$G" 'd["route"], d["gateway"], d["lladdr"], d["neigh"] in ("REACHABLE", "STALE")')" = \
  "('10.199.2.0/24', '10.199.1.3', '$MAC_B', True)" ] || fail "route get before the change: $G"

R=$(cmd route del 10.199.2.0/24)
echo "route del: $R"
[ "$(jq_ "$R" 'd.get("ok"), d.get("stacks")')" = "(True, $Q)" ] || fail "route del: $R"
G=$(cmd route get $CLIENT)
echo "route get $CLIENT: $G"
[ "$(jq_ "$G" '"no route" in d.get("error", "")')" = True ] || fail "route get after del: $G"
if weir_nsexec b python3 - $CLIENT $WEIR <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0)); s.settimeout(1.0)
s.sendto(b"x" * 64, (sys.argv[2], 7))
try:
    s.recvfrom(100); sys.exit(0)
except socket.timeout:
    sys.exit(1)
PY
then fail "an echo came back with no route to it"; fi
D=$("$STAT" "$TMP/echo.sock")
[ "$(jq_ "$D" 'd["echo_refused"] >= 1 and d["drops"]["ip_drop_no_route"] >= 1')" = True ] ||
	fail "the unroutable echo was not counted: $(jq_ "$D" 'd["echo_refused"], d["drops"]["ip_drop_no_route"]')"
echo "no route: echo refused and counted (ip_drop_no_route)"

R=$(cmd route add 10.199.2.0/24 via 10.199.1.4)
echo "route add: $R"
[ "$(jq_ "$R" 'd.get("ok"), d.get("stacks")')" = "(True, $Q)" ] || fail "route add: $R"
echo "via 10.199.1.4 (the macvlan):"
echoes_via macvlan
G=$(cmd route get $CLIENT)
echo "route get $CLIENT: $G"
[ "$(jq_ "$G" 'd["gateway"], d["lladdr"]')" = "('10.199.1.4', '$MAC_MV')" ] ||
	fail "route get after the change: $G"

for bad in "route add 10.199.3.0/24 via 10.5.5.5" "route add 10.199.2.0/24 via 10.199.1.3" \
	   "route del 10.99.0.0/16" "route get nonsense" "route frobnicate" "route add 1.2.3.4/40 via 10.199.1.3"; do
	R=$(cmd "$bad")
	echo "$bad: $R"
	[ "$(jq_ "$R" '"error" in d')" = True ] || fail "'$bad' was not refused"
done
[ "$(jq_ "$(cmd route show)" 'd["count"]')" = 2 ] || fail "a refused command changed the table"

kill -TERM "$ECHO_PID"
wait "$ECHO_PID" || fail "weir-echo exited with $?"
[ "$(jq_ "$(cat "$TMP/echo.out")" 'd["leaked"]')" = 0 ] || fail "leaked buffers"
echo "PASS: $KIND${2:+ $2}"
exit 0
