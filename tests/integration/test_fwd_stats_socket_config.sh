#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Regression: a stats socket named in a --config file was bound at a garbage
# or empty (abstract) path, because weir-fwd, weir-gen and weir-stat kept a
# pointer into inih's line buffer, which the next line overwrites and which
# is gone once the file is read. Here weir-fwd and weir-gen each take their
# socket path from a config file (with lines after it); the socket must
# appear at exactly that path, weir-stat must read it (given the path on the
# command line and, the same bug in weir-stat, from its own [stat] section),
# and the socket must be gone after SIGINT. ring: ports only: the apps need
# no root and no namespace.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
FWD=$BUILD/apps/weir-fwd
GEN=$BUILD/apps/weir-gen
STAT=$BUILD/apps/weir-stat
[ -x "$FWD" ] && [ -x "$GEN" ] && [ -x "$STAT" ] ||
	weir_skip "weir-fwd/weir-gen/weir-stat not built under $BUILD"
weir_require_cmd python3
weir_timeout 60
TMP=$(mktemp -d /tmp/weir-test-cfgsock.XXXXXX)
weir_on_cleanup "rm -rf $TMP"
FAILS=0

fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}

# check_json APP FILE: FILE is one JSON document from APP's telemetry.
check_json() {
	python3 - "$1" "$2" <<'PY'
import json, sys
app, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
assert d["app"] == app, d
if app == "weir-fwd":
    assert [p["spec"] for p in d["ports"]] == ["ring:cfgfwd", "ring:cfgfwd"], d
else:
    assert d["tx"]["packets"] > 0, d
PY
}

# run_case APP CONF SOCK CMD...: CMD --config CONF must serve APP's
# telemetry at SOCK until SIGINT, then remove it.
run_case() {
	local app=$1 conf=$2 sock=$3 pid rc
	shift 3
	"$@" --config "$conf" --quiet >"$TMP/$app.out" 2>&1 </dev/null &
	pid=$!
	weir_on_cleanup "weir_kill $pid"
	for _ in $(seq 50); do
		[ -S "$sock" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -S "$sock" ]; then
		fail "$app --config: no socket at $sock; $app said: $(cat "$TMP/$app.out")"
		weir_kill "$pid"
		return
	fi
	# Give weir-gen a few packets to report.
	sleep 0.3
	"$STAT" "$sock" >"$TMP/$app.arg.json" 2>"$TMP/$app.stat.err" ||
		fail "weir-stat $sock: $(cat "$TMP/$app.stat.err")"
	check_json "$app" "$TMP/$app.arg.json" ||
		fail "$app telemetry read by path: $(cat "$TMP/$app.arg.json")"
	printf '[stat]\nsocket = %s\ncount = 1\n' "$sock" >"$TMP/stat.conf"
	"$STAT" --config "$TMP/stat.conf" >"$TMP/$app.cfg.json" 2>"$TMP/$app.stat.err" ||
		fail "weir-stat --config (socket = $sock): $(cat "$TMP/$app.stat.err")"
	check_json "$app" "$TMP/$app.cfg.json" ||
		fail "$app telemetry read through weir-stat --config: $(cat "$TMP/$app.cfg.json")"
	kill -INT "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || fail "$app exited $rc after SIGINT: $(cat "$TMP/$app.out")"
	[ -e "$sock" ] && fail "$app left its socket $sock behind"
}

cat >"$TMP/fwd.conf" <<EOF
[fwd]
port = ring:cfgfwd
stats-socket = $TMP/fwd.sock
port = ring:cfgfwd
mode = io
burst = 16
EOF
run_case weir-fwd "$TMP/fwd.conf" "$TMP/fwd.sock" "$FWD"

cat >"$TMP/gen.conf" <<EOF
[gen]
stats-socket = $TMP/gen.sock
port = ring:cfggen
rx-port = ring:cfggen
rate = 1kpps
size = 64
EOF
run_case weir-gen "$TMP/gen.conf" "$TMP/gen.sock" "$GEN"

[ "$FAILS" = 0 ] || { echo "FAIL: $FAILS check(s)"; exit 1; }
echo "PASS: stats sockets named in --config are bound at their path and read by weir-stat"
