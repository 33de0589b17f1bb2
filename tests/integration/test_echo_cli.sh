#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# weir-echo's options and exit codes, on a null: port (no root needed):
# bad usage exits 1 with a message naming the option, a route the stack
# refuses at setup exits 2 naming it, a short run on a null port (frames of
# nobody's MAC) exits 0 with a JSON summary that counts every frame as a
# drop by reason and leaks nothing; --config takes routes and UDP ports.
set -u
BUILD=${WEIR_BUILD:-$(cd "$(dirname "$0")/../../build" && pwd)}
BIN=$BUILD/apps/weir-echo
[ -x "$BIN" ] || { echo "SKIP: weir-echo not built at $BIN"; exit 77; }
TMP=$(mktemp -d /tmp/weir-echo-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect RC PATTERN ARGS...: weir-echo ARGS exits RC and says PATTERN.
expect() {
	local rc=$1 pat=$2 got
	shift 2
	"$BIN" "$@" >"$TMP/out" 2>&1
	got=$?
	[ "$got" = "$rc" ] || fail "weir-echo $*: exit $got, not $rc: $(cat "$TMP/out")"
	grep -q -- "$pat" "$TMP/out" || fail "weir-echo $*: no '$pat' in: $(cat "$TMP/out")"
	echo "ok: weir-echo $* -> $rc ($(head -1 "$TMP/out"))"
}
expect 0 "Route commands\|route show" --help
expect 1 "give a port and an address" -p null:
expect 1 "no prefix length" -p null: -a 10.0.0.1
expect 1 "--addr" -p null: -a 10.0.0.1/33
expect 1 "given twice" -p null: -a 10.0.0.1/24 -u 7 -u 7
expect 1 "--udp-port" -p null: -a 10.0.0.1/24 -u 0
expect 1 "at most 16" -p null: -a 10.0.0.1/24 $(for i in $(seq 17); do echo -u $((i + 100)); done)
expect 1 "--vlan" -p null: -a 10.0.0.1/24 --vlan 4095
expect 1 "not MIN:MAX" -p null: -a 10.0.0.1/24 --spin 50
expect 1 "above MAX" -p null: -a 10.0.0.1/24 --spin 60:50
expect 1 "--spin" -p null: -a 10.0.0.1/24 --spin 4:0
expect 2 "not on a connected subnet" -p null: -a 10.0.0.1/24 --route "10.9.0.0/16 via 172.16.0.1"
expect 2 "not on a connected subnet" -p null: -a 10.0.0.1/24 -g 10.1.0.1

cat >"$TMP/echo.conf" <<CONF
[echo]
port = null:
addr = 10.0.0.1/24
gateway = 10.0.0.254
route = 10.9.0.0/16 via 10.0.0.3
route = add 10.10.0.0/16 via 10.0.0.4
udp-port = 7
udp-port = 9000
CONF
"$BIN" --config "$TMP/echo.conf" -t 0.3s --json >"$TMP/run.json" 2>"$TMP/err" ||
	fail "a null-port run exited $?: $(cat "$TMP/err")"
python3 - "$TMP/run.json" <<'PY' || fail "the null-port run's summary"
import json, sys
d = json.load(open(sys.argv[1]))
st, drops = d["stack"], d["drops"]
assert d["leaked"] == 0, d["leaked"]
assert [p["port"] for p in d["udp_ports"]] == [7, 9000], d["udp_ports"]
assert st["eth_rx_frames"] > 1000, st["eth_rx_frames"]
# null: frames go to nobody's MAC: every one a drop, by reason.
assert drops["eth_rx_not_ours"] == st["eth_rx_frames"] == d["drops_total"], drops
print("ok: a --config run on null: took %d frames, all counted as eth_rx_not_ours" % st["eth_rx_frames"])
PY
echo "PASS"
