#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# weir-fwd --mode l3 as the router between Linux hosts in three subnets,
# the hosts' veths left with Linux's default offloads (partial checksums,
# TSO/GSO: on afpacket TCP crosses as 64 KiB super-frames):
#
#   a 10.77.1.1 --- 10.77.1.2 [weir-fwd l3] 10.77.2.1 (fq_codel) --- 10.77.2.2 b
#                              10.77.3.1 (--mtu 1000) --- 10.77.3.2 c
#
# The router's namespace has no addresses of its own (the kernel there
# neither answers ARP nor forwards): weir answers ARP and ping for its
# addresses, resolves the hosts, and routes. Checks: ping both ways; UDP
# echoed byte-exact (sizes up to 20000: fragmented by the sender, and
# 1400-byte datagrams without DF fragmented by weir to c's 1000-byte MTU,
# also sent as one UDP GSO super-frame, which weir cuts, then fragments);
# `ping -M do` above that MTU gets "Frag needed" with mtu 1000; iperf3 TCP
# (Cubic, 3 s) at a sane rate with no stalled second (towards b through
# fq_codel, so afpacket's super-frames, routed whole with the TTL and
# checksum changed once, are segmented in software before the qdisc); `ping -t 1` gets
# Time exceeded from weir's address; an address without a route gets Net
# Unreachable, until `route add` on the stats socket routes it (and
# after `route del` it is again); raw frames with martian addresses, a directed broadcast and
# a bad header checksum are dropped and counted; no checksum errors on the
# hosts; weir-fwd's counters agree
# and it exits cleanly (no leaked buffer).
# Usage: test_fwd_l3.sh afpacket|afxdp
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
FWD=$BUILD/apps/weir-fwd
KIND=${1:?usage: $0 afpacket|afxdp}

weir_require_veth
weir_require_cmd iperf3 ping python3
[ -x "$FWD" ] || weir_skip "weir-fwd not built at $FWD"
weir_timeout 58

weir_topo_line -o -F a r b || exit 1
weir_node_add c || exit 1
weir_link_add -o r c || exit 1
weir_nsexec c ip route add default via "$(weir_ip r c)"
for p in a b c; do
	weir_nsexec r ip addr flush dev "$(weir_if r $p)"
done
A=$(weir_ip a r) B=$(weir_ip b r) C=$(weir_ip c r)
RA=$(weir_ip r a) RB=$(weir_ip r b) RC=$(weir_ip r c)
TMP=$(mktemp -d /tmp/weir-l3-$$.XXXX)
weir_on_cleanup "rm -rf $TMP"
fail() { echo "FAIL: $*"; echo "--- weir-fwd:"; tail -30 "$TMP/fwd.out"; exit 1; }

csum_errors() { # NS -> Tcp and Udp InCsumErrors + Ip InHdrErrors (bad IP checksums)
	weir_nsexec "$1" awk '/^(Ip|Tcp|Udp):/ { if (!h[$1]++) { for (i=2;i<=NF;i++) col[$1,$i]=i; next }
		s += $1 == "Ip:" ? $col[$1,"InHdrErrors"] : $col[$1,"InCsumErrors"] } END { print s+0 }' /proc/net/snmp
}

weir_bg r "$FWD" --mode l3 --cores 1 --quiet --json \
	-p "$KIND:$(weir_if r a)" --addr "0@$RA/24" \
	-p "$KIND:$(weir_if r b)" --addr "1@$RB/24" \
	-p "$KIND:$(weir_if r c)" --addr "2@$RC/24" --mtu 2@1000 --egress "1@fq_codel" \
	--stats-socket "$TMP/fwd.sock" >"$TMP/fwd.out" 2>&1
FWD_PID=$WEIR_BG_PID
ok=0
for _ in $(seq 50); do
	weir_nsexec a ping -c1 -W1 "$B" >/dev/null 2>&1 && { ok=1; break; }
	kill -0 "$FWD_PID" 2>/dev/null || fail "weir-fwd exited at start"
done
[ $ok = 1 ] || fail "no ping from a to b through weir-fwd"

# --- ping: the router itself, both ways through it, fragmented ----------
# a forgets weir's MAC: weir must answer a's ARP request.
weir_nsexec a ip neigh flush dev "$(weir_if a r)"
weir_nsexec a ping -c2 -i0.2 -W1 -q "$RA" >/dev/null || fail "weir does not answer ping on $RA"
weir_nsexec a ip neigh show dev "$(weir_if a r)" | grep -q "$RA .*lladdr" ||
	fail "a has no ARP entry for $RA"

weir_nsexec b ping -c3 -i0.2 -W1 -q "$A" >/dev/null || fail "no ping from b to a"
weir_nsexec a ping -c3 -i0.2 -W1 -q "$C" >/dev/null || fail "no ping from a to c"
weir_nsexec a ping -c2 -i0.2 -W1 -q -s 8000 "$B" >/dev/null || fail "no 8000-byte ping a to b"
echo "ping: a <-> b, a -> c, weir's own address, 8000-byte (fragmented) pings: ok"

# --- UDP echo, byte-exact ------------------------------------------------
cat >"$TMP/udp.py" <<'PY'
import os, socket, sys
mode, addr = sys.argv[1], sys.argv[2]
if mode == "server":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 7777))
    while True:
        d, peer = s.recvfrom(65535)
        s.sendto(d, peer)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# DF clear: a datagram above the next link's MTU is the router's to fragment.
s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER = IP_PMTUDISC_DONT
s.settimeout(1.0)
bad = 0
for size in [int(x) for x in sys.argv[3].split(",")]:
    for i in range(3):
        d = os.urandom(size)
        for attempt in range(3):
            s.sendto(d, (addr, 7777))
            try:
                r, _ = s.recvfrom(65535)
                break
            except socket.timeout:
                r = None
        if r != d:
            print("size %d: %s" % (size, "no echo" if r is None else "echo differs"))
            bad += 1
print("udp echo to %s, sizes %s: %s" % (addr, sys.argv[3], "ok" if not bad else "%d bad" % bad))
sys.exit(1 if bad else 0)
PY
weir_bg b python3 "$TMP/udp.py" server "$B"
weir_bg c python3 "$TMP/udp.py" server "$C"
sleep 0.3
weir_nsexec a python3 "$TMP/udp.py" client "$B" 1,64,1472,1473,4000,20000 || fail "UDP a <-> b"
weir_nsexec a python3 "$TMP/udp.py" client "$C" 64,972,973,1400,1472 || fail "UDP a <-> c (weir fragments)"

# UDP GSO (UDP_SEGMENT) without DF towards c: on afpacket one super-frame
# of three 1400-byte datagrams reaches weir, each too big for c's 1000-byte
# MTU: weir cuts it into its datagrams and fragments each (c reassembles).
cat >"$TMP/ugso.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_PMTUDISC_DONT: DF clear
s.setsockopt(17, 103, 1400)             # SOL_UDP, UDP_SEGMENT: 1400-byte datagrams
s.settimeout(1.0)
bad = 0
for i in range(3):
    d = os.urandom(3 * 1400)
    want = {d[k:k + 1400] for k in range(0, len(d), 1400)}
    s.sendto(d, (sys.argv[1], 7777))
    got = set()
    try:
        while len(got) < 3:
            got.add(s.recvfrom(65535)[0])
    except socket.timeout:
        pass
    if got != want:
        print("round %d: %d of 3 datagrams echoed intact" % (i, len(got & want)))
        bad += 1
print("udp gso 3 x 1400 B to %s: %s" % (sys.argv[1], "ok" if not bad else "%d bad" % bad))
sys.exit(1 if bad else 0)
PY
weir_nsexec a python3 "$TMP/ugso.py" "$C" || fail "UDP GSO a -> c (weir segments, then fragments)"

# --- DF set above c's MTU: fragmentation needed, with the MTU ----------
weir_nsexec a ip route flush cache >/dev/null 2>&1
OUT=$(weir_nsexec a ping -c1 -W1 -M do -s 1200 "$C" 2>&1)
echo "$OUT" | grep -q "mtu = 1000" || { echo "$OUT"; fail "no ICMP fragmentation needed (mtu 1000) for DF ping to c"; }
echo "ping -M do -s 1200 to c: $(echo "$OUT" | grep -m1 -o 'From .*')"

# --- TCP: iperf3, Cubic ---------------------------------------------------
weir_bg b iperf3 -s -1 -B "$B" -p 5201 >/dev/null 2>&1
sleep 0.3
weir_nsexec a timeout 20 iperf3 -c "$B" -p 5201 -t 3 -C cubic -J >"$TMP/iperf.json" 2>&1 ||
	{ cat "$TMP/iperf.json"; fail "iperf3 failed"; }
python3 - "$TMP/iperf.json" "$KIND" <<'PY' || fail "TCP through weir-fwd l3"
import json, sys
d = json.load(open(sys.argv[1]))
bps = d["end"]["sum_received"]["bits_per_second"]
ivals = [i["sum"]["bits_per_second"] for i in d["intervals"]]
print("%s TCP cubic a -> b: %.2f Gbit/s, %d retransmits, slowest second %.2f Gbit/s"
      % (sys.argv[2], bps / 1e9, d["end"]["sum_sent"].get("retransmits", 0), min(ivals) / 1e9))
assert bps >= 1e8, "only %.0f bit/s" % bps
assert min(ivals) >= 1e7, "a stalled second: %s" % ivals
PY

# --- TTL and unreachables --------------------------------------------------
OUT=$(weir_nsexec a ping -c1 -W1 -t 1 "$B" 2>&1)
echo "$OUT" | grep -q "From $RA.*Time to live exceeded" ||
	{ echo "$OUT"; fail "ping -t 1 to b: no Time exceeded from $RA"; }
echo "ping -t 1 to b: $(echo "$OUT" | grep -m1 -o 'From .*')"
OUT=$(weir_nsexec a ping -c1 -W1 10.200.0.1 2>&1)
echo "$OUT" | grep -q "From $RA.*Destination Net Unreachable" ||
	{ echo "$OUT"; fail "ping to an address without a route: no Net Unreachable from $RA"; }
echo "ping 10.200.0.1 (no route): $(echo "$OUT" | grep -m1 -o 'From .*')"

# --- routes changed at run time, on the telemetry socket ---------------
STAT=$BUILD/apps/weir-stat
rcmd() { # CMD -> the reply; fails on an error reply
	local out
	out=$("$STAT" -s "$TMP/fwd.sock" -x "route $1" 2>&1)
	echo "$out" | grep -q '"error"' && fail "route $1: $out"
	echo "$out"
}
rcmd "add 10.200.0.0/16 via $B" >/dev/null
rcmd "get 10.200.0.1" | grep -q "\"$B\"" || fail "route get 10.200.0.1 does not name $B: $(rcmd "get 10.200.0.1")"
rcmd show | grep -q "10.200.0.0/16" || fail "route show lacks the added route"
# Now routed towards b, which drops it: no reply, and no unreachable.
OUT=$(weir_nsexec a ping -c1 -W1 10.200.0.1 2>&1)
echo "$OUT" | grep -q "Unreachable" && { echo "$OUT"; fail "10.200.0.1 still unreachable after route add"; }
rcmd "del 10.200.0.0/16" >/dev/null
OUT=$(weir_nsexec a ping -c1 -W1 10.200.0.1 2>&1)
echo "$OUT" | grep -q "Destination Net Unreachable" ||
	{ echo "$OUT"; fail "10.200.0.1 routed after route del"; }
echo "route add/get/show/del on the stats socket: ok"

# --- martians and broken headers, sent raw from a to weir's MAC -------
cat >"$TMP/raw.py" <<'PY'
import socket, struct, sys
ifname, dmac, smac, a, b, bcast = sys.argv[1:7]
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
ip4 = lambda s: socket.inet_aton(s)
def csum(h):
    s = sum(struct.unpack("!%dH" % (len(h) // 2), h))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def frame(src, dst, good=True):
    udp = struct.pack("!HHHH", 9, 9, 8 + 18, 0) + bytes(18)
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, ip4(src), ip4(dst))
    ck = csum(h) ^ (0 if good else 0x0101)
    h = h[:10] + struct.pack("!H", ck) + h[12:]
    return mac(dmac) + mac(smac) + b"\x08\x00" + h + udp
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
for f in [frame("127.0.0.1", b), frame("224.0.0.1", b), frame(a, "127.0.0.1"),
          frame(a, bcast), frame(a, b, good=False)]:
    s.send(f)
PY
weir_nsexec a python3 "$TMP/raw.py" "$(weir_if a r)" "$(weir_mac r a)" "$(weir_mac a r)" "$A" "$B" \
	10.77.2.255 || fail "could not send raw frames"
sleep 0.3

for n in a b c; do
	e=$(csum_errors $n)
	[ "$e" = 0 ] || fail "host $n counted $e checksum or IP header errors"
done
echo "InCsumErrors (TCP, UDP) and InHdrErrors (IP): 0 on a, b, c"

kill -INT "$FWD_PID"
wait "$FWD_PID"
RCODE=$?
[ "$RCODE" = 0 ] || fail "weir-fwd exited with $RCODE after SIGINT"
python3 - "$TMP/fwd.out" "$KIND" <<'PY' || fail "weir-fwd's counters"
import json, sys
txt = open(sys.argv[1]).read()
d = json.loads(txt[txt.index("{"):])
q = d["ports"][1]["queues"][0]
print("port 1 (fq_codel): super-frames segmented %d into %d, errors %d"
      % (q["gso_frames"], q["gso_segments"], q["gso_errors"]))
assert q["gso_errors"] == 0
if sys.argv[2] == "afpacket":  # TCP arrives as super-frames: routed whole, cut before the qdisc
    assert q["gso_frames"] > 0, "no super-frame reached port 1's qdisc"

c = d["l3"]["counters"]
s = d["l3"]["stack"]
print("weir-fwd l3: " + ", ".join("%s %d" % kv for kv in c.items() if kv[1]))
for k in ["forwarded", "ttl_exceeded", "no_route", "fragmented", "frag_needed", "icmp_sent"]:
    assert c[k] > 0, k + " is 0"
assert c["gso_too_big"] == 0, "a super-frame too big for c's MTU was dropped, not cut"
# Exactly what raw.py sent: two martian sources, one martian destination,
# one directed broadcast, one bad header checksum.
want = {"martian_source": 2, "martian_destination": 1, "directed_broadcast": 1, "bad_header": 1,
        "csum_errors": 0}
for k, v in want.items():
    assert c[k] == v, "%s: %d, expected %d" % (k, c[k], v)
assert s["arp_tx_replies"] > 0 and s["icmp_tx_echo_replies"] > 0, "the stack answered nothing"
PY
echo "PASS"
