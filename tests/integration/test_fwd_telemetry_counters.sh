#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Regression: weir-fwd's telemetry and control threads read the drivers'
# per-queue counters, plain fields the lcores write (a data race). Now each
# lcore republishes its queues' counters with relaxed atomic stores and
# only those copies are read while it runs. Two queues on null: ports in io
# mode: while traffic flows, telemetry shows both queues counting, never
# going backwards between reads, and port totals no larger than the sum of
# the queues read after them; the final summary adds up exactly (the last
# publish happens before the lcores exit). Against a ThreadSanitizer build
# (WEIR_BUILD=build-tsan, meson -Db_sanitize=thread) it also fails on any
# race report in the port counters. No root needed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
FWD=$BUILD/apps/weir-fwd
STAT=$BUILD/apps/weir-stat
[ -x "$FWD" ] && [ -x "$STAT" ] || weir_skip "weir-fwd/weir-stat not built under $BUILD"
weir_require_cmd python3
weir_timeout 60
TMP=$(mktemp -d /tmp/weir-test-tele.XXXXXX)
weir_on_cleanup "rm -rf $TMP"
SOCK=$TMP/fwd.sock
TSAN=0
ldd "$FWD" 2>/dev/null | grep -q libtsan && TSAN=1

fail() {
	echo "FAIL: $*"
	echo "--- weir-fwd said:"
	cat "$TMP/err"
	exit 1
}

# TSan's address-space layout needs ASLR off on some kernels.
run=("$FWD")
[ "$TSAN" = 1 ] && command -v setarch >/dev/null && run=(setarch -R "$FWD")
TSAN_OPTIONS="halt_on_error=0 report_signal_unsafe=0 ${TSAN_OPTIONS:-}" \
	"${run[@]}" -p "null:?queues=2" -p "null:?queues=2" -m io -q 2 -t 2s \
	--stats-socket "$SOCK" --json --quiet >"$TMP/sum.json" 2>"$TMP/err" </dev/null &
PID=$!
weir_on_cleanup "weir_kill $PID"
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || fail "no stats socket"
sleep 0.5
"$STAT" "$SOCK" >"$TMP/t1.json" || fail "weir-stat (first read)"
sleep 0.3
"$STAT" "$SOCK" >"$TMP/t2.json" || fail "weir-stat (second read)"
wait "$PID"
RC=$?
[ "$RC" = 0 ] || [ "$TSAN" = 1 ] || fail "weir-fwd exited $RC"

python3 - "$TMP/t1.json" "$TMP/t2.json" "$TMP/sum.json" <<'PY' || fail "counters"
import json, sys
t1, t2 = (json.load(open(p)) for p in sys.argv[1:3])
txt = open(sys.argv[3]).read()
end = json.loads(txt[txt.index("{"):])
keys = ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes"]
for d, name in ((t1, "first read"), (t2, "second read")):
    for p in d["ports"]:
        qs = p["queues"]
        assert len(qs) == 2 and all(q["rx_packets"] > 0 for q in qs), (name, p)
        for k in keys:
            # Port totals are read before the queues: never above their sum.
            assert p[k] <= sum(q[k] for q in qs), (name, k, p)
for a, b in zip(t1["ports"], t2["ports"]):
    for k in keys:
        assert b[k] >= a[k], ("went backwards", k, a[k], b[k])
    for qa, qb in zip(a["queues"], b["queues"]):
        for k in keys:
            assert qb[k] >= qa[k], ("queue went backwards", k, qa, qb)
p0, p1 = end["ports"]
for p in end["ports"]:
    for k in keys:
        assert p[k] == sum(q[k] for q in p["queues"]), ("final", k, p)
# null: transmit never refuses: what one port received, the other sent.
assert p0["rx_packets"] == p1["tx_packets"] > 0 and p1["rx_packets"] == p0["tx_packets"], end
assert end["leaked"] == 0, end
print(f"telemetry: {t2['ports'][0]['rx_packets']} packets on port 0 at the second read, "
      f"{p0['rx_packets']} at the end, queues add up")
PY

if [ "$TSAN" = 1 ]; then
	if grep -A30 "WARNING: ThreadSanitizer: data race" "$TMP/err" |
		grep -Eq "port_stats|qctr_publish"; then
		fail "ThreadSanitizer: a data race on the port counters"
	fi
	echo "ThreadSanitizer: no race on the port counters" \
		"($(grep -c 'WARNING: ThreadSanitizer' "$TMP/err") report(s) elsewhere)"
fi
echo "PASS: weir-fwd telemetry reads published per-queue counters"
