#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The weir stack against the Linux kernel's, on one veth pair: stack_host
# (the weir stack on an afpacket or afxdp port, 10.199.1.1/24) in node a,
# whose interface has no address for Linux to answer with; Linux at
# 10.199.1.2/24 in node b. Checks, from b:
#   - weir resolves Linux's MAC (its greeting reaches a Linux UDP socket)
#     and Linux resolves weir's (ip neigh shows the port's MAC; once more
#     after the entry is deleted, so weir has to answer a request);
#   - ping gets replies, also ping -s 8000 and -s 65507 (fragmented both
#     ways, reassembled by each side);
#   - a Linux UDP socket's datagrams of 1 to 65507 bytes come back from
#     weir's echo byte-exact (every size 1..100 and 1400..1520, the
#     fragment boundaries, 64 KiB, 60 random ones);
#   - Linux counted no checksum error (/proc/net/snmp InCsumErrors);
#   - stack_host exits cleanly with no leaked buffer and no bad-checksum
#     drop of its own.
# Usage: test_stack.sh PATH/TO/stack_host afpacket|afxdp [offload]
# "offload" keeps the veths' tx checksum offload on (Linux's default), so
# Linux's frames reach weir with partial checksums.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BIN=${1:?usage: $0 stack_host afpacket|afxdp [offload]}
KIND=${2:?usage: $0 stack_host afpacket|afxdp [offload]}
OFFLOAD=${3:-}

weir_require_veth
weir_require_cmd ping python3
[ -x "$BIN" ] || weir_skip "stack_host not built at $BIN"
weir_timeout 160

OPTS=(-n)
[ "$OFFLOAD" = offload ] && OPTS+=(-o)
weir_topo_pair "${OPTS[@]}" a b || exit 1
IFA=$(weir_if a b)
IFB=$(weir_if b a)
WEIR=10.199.1.1
LINUX=10.199.1.2
weir_nsexec b ip addr add $LINUX/24 dev "$IFB"
TMP=$(mktemp -d /tmp/weir-stack-XXXXXX)
weir_on_cleanup "rm -rf $TMP"
fail() { echo "FAIL: $*"; echo "--- stack_host:"; cat "$TMP/host.log" 2>/dev/null; exit 1; }

csum_errors() {
	weir_nsexec b awk '/^(Udp|Icmp):/ { if (!h[$1]++) { for (i=2;i<=NF;i++) col[$1,$i]=i } else s += $col[$1,"InCsumErrors"] } END { print s+0 }' /proc/net/snmp
}
CSUM0=$(csum_errors)

# Linux listens for weir's greeting before weir starts.
weir_bg b python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 9999)); s.settimeout(20)
d, a = s.recvfrom(100)
open(sys.argv[2], "w").write("%s %s:%d\n" % (d.decode(), a[0], a[1]))
' $LINUX "$TMP/hello"
HELLO_PID=$WEIR_BG_PID
sleep 0.3

weir_bg a "$BIN" "$KIND:$IFA" $WEIR/24 -u 7 -s $LINUX:9999 >"$TMP/host.out" 2>"$TMP/host.log"
HOST_PID=$WEIR_BG_PID
for _ in $(seq 100); do
	grep -q '^ready' "$TMP/host.out" && break
	kill -0 "$HOST_PID" 2>/dev/null || break
	sleep 0.1
done
grep -q '^ready' "$TMP/host.out" || fail "stack_host did not start"

wait "$HELLO_PID" || fail "weir's greeting never reached Linux (weir could not resolve Linux?)"
grep -q "^hello from weir $WEIR:7" "$TMP/hello" || fail "greeting wrong: $(cat "$TMP/hello")"
echo "weir resolved Linux and greeted it: $(cat "$TMP/hello")"

weir_nsexec b ping -c 3 -i 0.2 -W 2 $WEIR >"$TMP/ping" 2>&1 || { cat "$TMP/ping"; fail "ping"; }
tail -2 "$TMP/ping"
MAC=$(weir_nsexec a cat "/sys/class/net/$IFA/address")
NEIGH=$(weir_nsexec b ip neigh show $WEIR dev "$IFB")
echo "Linux: $NEIGH"
echo "$NEIGH" | grep -qi "lladdr $MAC" || fail "Linux did not resolve weir's MAC $MAC: $NEIGH"
for s in 8000 65507; do
	weir_nsexec b ping -c 2 -i 0.3 -W 3 -s $s $WEIR >"$TMP/ping" 2>&1 ||
		{ cat "$TMP/ping"; fail "ping -s $s"; }
	grep -q "$((s + 8)) bytes from $WEIR" "$TMP/ping" || { cat "$TMP/ping"; fail "ping -s $s replies"; }
	echo "ping -s $s: $(grep -c 'bytes from' "$TMP/ping") replies"
done

weir_nsexec b python3 - $WEIR <<'PY' || fail "UDP echo"
import random, socket, sys
addr = (sys.argv[1], 7)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.settimeout(1.0)
rng = random.Random(11)
sizes = list(range(1, 101)) + list(range(1400, 1521)) + [2951, 2952, 2953, 4000, 8000, 8972,
         8973, 9000, 16384, 32768, 50000, 65000, 65506, 65507]
sizes += [rng.randint(1, 65507) for _ in range(60)]
lost = 0
for n in sizes:
    data = bytes(rng.getrandbits(8) for _ in range(min(n, 64))) * (n // 64 + 1)
    data = data[:n]
    for attempt in range(3):
        s.sendto(data, addr)
        try:
            while True:
                got, frm = s.recvfrom(70000)
                if got == data or len(got) != n:
                    break   # a stale echo of a retried size is skipped
        except socket.timeout:
            lost += 1
            continue
        break
    else:
        sys.exit("no echo of %d bytes in 3 tries" % n)
    if frm != addr or got != data:
        sys.exit("echo of %d bytes differs (%d bytes from %s)" % (n, len(got), frm))
print("UDP echo: %d datagrams of 1..65507 bytes byte-exact (%d retried)" % (len(sizes), lost))
PY

# Linux learnt weir's MAC from weir's own request; make it ask.
weir_nsexec b ip neigh del $WEIR dev "$IFB" 2>/dev/null
weir_nsexec b ping -c 1 -W 2 $WEIR >/dev/null 2>&1 || fail "ping after Linux forgot weir's MAC"
weir_nsexec b ip neigh show $WEIR dev "$IFB" | grep -qi "lladdr $MAC" ||
	fail "Linux did not resolve weir's MAC again"

CSUM1=$(csum_errors)
[ "$CSUM1" = "$CSUM0" ] || fail "Linux counted $((CSUM1 - CSUM0)) checksum errors"

kill -TERM "$HOST_PID"
wait "$HOST_PID"
RC=$?
[ "$RC" = 0 ] || fail "stack_host exited with $RC"
for c in udp_rx_csum ip_rx_csum icmp_rx_csum eth_tx_queue_full eth_tx_nobufs; do
	grep -q "stack_host: $c " "$TMP/host.log" && fail "stack_host counted $c"
done
grep -E "frag_reassembled|ip_tx_fragments|arp_rx_replies|arp_tx_replies|icmp_tx_echo|csum" "$TMP/host.log"
counter() { sed -n "s/^stack_host: $1 //p" "$TMP/host.log"; }
[ "$(counter arp_tx_replies)" -gt 0 ] 2>/dev/null || fail "weir never answered Linux's ARP request"
if [ "$OFFLOAD" = offload ]; then
	# Linux's partial checksums were vouched for by the driver (afpacket's
	# vnet header, afxdp's completion), not summed again by the stack.
	[ "$(counter udp_rx_csum_trusted)" -gt 0 ] 2>/dev/null || fail "no offloaded checksum on receive"
	# afpacket's port takes partial checksums: the stack left them so.
	if [ "$KIND" = afpacket ]; then
		[ "$(counter udp_tx_csum_partial)" -gt 0 ] 2>/dev/null || fail "no partial checksum sent"
	fi
fi
echo "PASS: $KIND${OFFLOAD:+ with offload}"
exit 0
