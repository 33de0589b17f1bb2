#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# weir-fwd in l2 mode as a bump in the wire: hosts a and b share one subnet,
# the namespace in between does not forward, so only weir-fwd (AF_PACKET on
# both veths) joins them. Checks that ARP and ping pass, that --delay adds
# its propagation delay both ways (RTT >= 2 x delay), that the telemetry
# socket answers with valid JSON, and that SIGINT stops weir-fwd cleanly with
# a summary and no leaked buffer, promptly even after it went idle.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
FWD=$BUILD/apps/weir-fwd
STAT=$BUILD/apps/weir-stat

weir_require_veth
weir_require_cmd ping python3
[ -x "$FWD" ] || weir_skip "weir-fwd not built at $FWD"
weir_timeout 90

weir_topo_line -n a dut b || exit 1
weir_nsexec a ip addr add 10.99.0.1/24 dev "$(weir_if a dut)"
weir_nsexec b ip addr add 10.99.0.2/24 dev "$(weir_if b dut)"
P0="afpacket:$(weir_if dut a)"
P1="afpacket:$(weir_if dut b)"
SOCK=/tmp/weir-fwd-test-$$.sock
OUT=/tmp/weir-fwd-test-$$.out
weir_on_cleanup "rm -f $SOCK $OUT"

fail() { echo "FAIL: $*"; [ -f "$OUT" ] && cat "$OUT"; exit 1; }

# Without weir-fwd the hosts cannot reach each other.
weir_nsexec a ping -c1 -W1 10.99.0.2 >/dev/null 2>&1 && fail "a reaches b without weir-fwd"
# Forget the failed ARP entry, or the kernel holds the next pings for its
# 1 s solicit timer and the RTTs below would measure that.
weir_nsexec a ip neigh flush dev "$(weir_if a dut)"

weir_bg dut "$FWD" -p "$P0" -p "$P1" --mode l2 --delay 10ms --stats-socket "$SOCK" --json >"$OUT" 2>&1
FWD_PID=$WEIR_BG_PID
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || fail "weir-fwd did not create its stats socket"

weir_nsexec a ping -c5 -i0.2 -W2 10.99.0.2 >/tmp/weir-ping-$$ 2>&1 || { cat /tmp/weir-ping-$$; rm -f /tmp/weir-ping-$$; fail "ping a -> b through weir-fwd failed"; }
MIN=$(sed -n 's/.*= \([0-9.]*\)\/.*/\1/p' /tmp/weir-ping-$$)
rm -f /tmp/weir-ping-$$
echo "ping RTT min ${MIN} ms with --delay 10ms each way"
python3 -c "import sys; sys.exit(0 if 19.5 <= float('$MIN') <= 40 else 1)" ||
	fail "RTT min $MIN ms is not about 2 x 10 ms"

if [ -x "$STAT" ]; then
	"$STAT" "$SOCK" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["app"]=="weir-fwd"; assert d["ports"][0]["rx_packets"]>0, d' ||
		fail "telemetry JSON is not valid or shows no traffic"
else
	python3 - "$SOCK" <<'PY' || fail "telemetry JSON is not valid or shows no traffic"
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
buf = b""
while True:
    d = s.recv(65536)
    if not d: break
    buf += d
d = json.loads(buf)
assert d["app"] == "weir-fwd" and d["ports"][0]["rx_packets"] > 0, d
PY
fi

# An idle lcore sleeps with no deadline of its own: SIGINT must still wake
# it at once, not when its 10 s backstop runs out (teardown takes 0.1-0.3 s).
sleep 1.5
T0=$(date +%s%N)
kill -INT "$FWD_PID"
wait "$FWD_PID"
RC=$?
STOP_MS=$((($(date +%s%N) - T0) / 1000000))
[ "$RC" = 0 ] || fail "weir-fwd exited with $RC after SIGINT"
echo "idle weir-fwd stopped ${STOP_MS} ms after SIGINT"
[ "$STOP_MS" -lt 900 ] || fail "an idle weir-fwd took $STOP_MS ms to stop after SIGINT"
[ -S "$SOCK" ] && fail "stats socket left behind"
python3 - "$OUT" <<'PY' || fail "summary JSON wrong"
import json, sys
txt = open(sys.argv[1]).read()
d = json.loads(txt[txt.index("{"):])
p0, p1 = d["ports"]
# ICMP echo requests went 0 -> 1, replies 1 -> 0; every frame received
# was sent on by the other port.
assert p0["rx_packets"] >= 5 and p1["rx_packets"] >= 5, d
assert p0["rx_packets"] == p1["tx_packets"] and p1["rx_packets"] == p0["tx_packets"], d
assert d["leaked"] == 0, d["leaked"]
PY
echo "PASS: l2 bump in the wire, delay, telemetry, clean stop"
