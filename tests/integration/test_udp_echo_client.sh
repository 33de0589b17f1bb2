#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench/udp_echo_client --xdp, the bench's default client, against both of
# the bench's servers: Linux (bench/udp_echo_server on a veth with the
# address; Linux drops a datagram whose IPv4 or UDP checksum is wrong, so
# replies prove the client's headers right) and weir-echo on afxdp. Each
# run, a closed loop of 32 in flight for 1 s, must get replies and lose
# none; the kernel on the client's side must still answer ARP and ping
# while the client's XDP program is attached (it steers only UDP to the
# client's port). Usage: test_udp_echo_client.sh      (~10 s)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
CLIENT=$BUILD/bench/udp_echo_client
SERVER=$BUILD/bench/udp_echo_server
ECHO=$BUILD/apps/weir-echo

weir_require_veth
for b in "$CLIENT" "$SERVER" "$ECHO"; do
	[ -x "$b" ] || weir_skip "$b not built"
done
# The driver list comes with the error for an unknown one.
"$CLIENT" 127.0.0.1 7 --duration 0.1 --xdp none: --src 127.0.0.1 --src-port 1 \
	--dst-mac 0:0:0:0:0:1 2>&1 | grep -q "afxdp" || weir_skip "built without afxdp (libxdp)"
weir_timeout 60

weir_topo_pair a b || exit 1
IFA=$(weir_if a b)
IFB=$(weir_if b a)
CA=$(weir_ip a b)
SA=$(weir_ip b a)
TMP=$(mktemp -d /tmp/weir-uec-XXXXXX)
weir_on_cleanup "rm -rf $TMP"
fail() { echo "FAIL: $*"; cat "$TMP"/*.err 2>/dev/null; exit 1; }

# run NAME: the client for 1 s; checks its line; pings during it.
run() {
	local out replies lost
	weir_nsexec a "$CLIENT" "$SA" 7 --window 32 --duration 1 --warmup 0.2 \
		--xdp "afxdp:$IFA?prog=weir&udp_port=40000&csum=keep" --src "$CA" --src-port 40000 \
		--dst-mac "$(weir_mac b a)" >"$TMP/$1.out" 2>"$TMP/client.err" &
	local pid=$!
	sleep 0.6
	weir_nsexec a ping -c 2 -i 0.2 -W 1 "$SA" >/dev/null || fail "$1: no ping while the client runs"
	wait "$pid" || fail "$1: the client failed"
	out=$(cat "$TMP/$1.out")
	replies=$(echo "$out" | awk '{print $2}')
	lost=$(echo "$out" | awk '{for (i = 1; i < NF; i++) if ($i == "lost") print $(i + 1)}')
	echo "$1: $out"
	[ "${replies:-0}" -gt 1000 ] || fail "$1: only ${replies:-0} replies"
	[ "$lost" = 0 ] || fail "$1: $lost requests lost"
}

weir_bg b "$SERVER" "$SA" 7 >/dev/null 2>"$TMP/server.err"
spid=$WEIR_BG_PID
sleep 0.3
run linux
weir_kill "$spid"

weir_nsexec b ip addr flush dev "$IFB"
weir_bg b "$ECHO" -p "afxdp:$IFB" -a "$SA/24" -u 7 --quiet >/dev/null 2>"$TMP/echo.err"
for _ in $(seq 50); do
	weir_nsexec a ping -c 1 -W 0.2 "$SA" >/dev/null 2>&1 && break
	sleep 0.1
done
run weir-echo
echo "PASS"
