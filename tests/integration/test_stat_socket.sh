#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The stats socket as a user and an attacker meet it: weir-stat against a
# running weir-fwd (the document, "help", an unknown command failing with
# exit 2); the socket file is 0600 and another user (nobody, via setpriv)
# is refused; weir-stat gives up on a server that never answers
# (--timeout) and does not pass a hostile server's terminal escape bytes to
# a terminal (a pty), while a pipe still gets the bytes as sent. Root only
# for the other-user case.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
FWD=$BUILD/apps/weir-fwd
STAT=$BUILD/apps/weir-stat
[ -x "$FWD" ] && [ -x "$STAT" ] || weir_skip "weir-fwd/weir-stat not built under $BUILD"
weir_require_cmd python3
weir_timeout 60
TMP=$(mktemp -d /tmp/weir-test-stat.XXXXXX)
weir_on_cleanup "rm -rf $TMP"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

"$FWD" -p null: -p null: -m io -t 20s --quiet -s "$TMP/fwd.sock" >/dev/null 2>"$TMP/fwd.err" &
FPID=$!
weir_on_cleanup "kill $FPID 2>/dev/null"
for _ in $(seq 100); do [ -S "$TMP/fwd.sock" ] && break; sleep 0.05; done

"$STAT" "$TMP/fwd.sock" | python3 -c 'import json,sys; assert json.load(sys.stdin)["app"] == "weir-fwd"' ||
	fail "weir-stat PATH: no weir-fwd document"
"$STAT" -x help "$TMP/fwd.sock" | grep -q '"stats"' || fail "weir-stat -x help lists no commands"
"$STAT" -x nosuch "$TMP/fwd.sock" >"$TMP/nosuch" 2>&1
rc=$?
{ [ "$rc" = 2 ] && grep -q "unknown command 'nosuch'" "$TMP/nosuch"; } ||
	fail "unknown command: exit $rc, $(cat "$TMP/nosuch")"
mode=$(stat -c %a "$TMP/fwd.sock")
[ "$mode" = 600 ] || fail "socket mode $mode, not 600"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$TMP"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$STAT" "$TMP/fwd.sock" \
		>"$TMP/nobody" 2>&1
	rc=$?
	{ [ "$rc" = 2 ] && grep -q "Permission denied" "$TMP/nobody"; } ||
		fail "another user read the socket: exit $rc, $(cat "$TMP/nobody")"
	# Even with the file opened up, the server checks the peer's uid.
	chmod 666 "$TMP/fwd.sock"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$STAT" "$TMP/fwd.sock" \
		>"$TMP/nobody2" 2>&1
	grep -q "permission denied" "$TMP/nobody2" && ! grep -q '"app"' "$TMP/nobody2" ||
		fail "SO_PEERCRED: another user was served: $(cat "$TMP/nobody2")"
	chmod 600 "$TMP/fwd.sock"
else
	echo "SKIP (part): the other-user cases need root and setpriv"
fi

# A hostile server: never answers (one socket), or answers with escapes.
python3 - "$TMP" <<'PY' &
import os, socket, sys, threading, time
d = sys.argv[1]
def serve(path, data):
    s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(4)
    while True:
        c, _ = s.accept()
        if data is None:
            threading.Thread(target=lambda c=c: (time.sleep(30), c.close()), daemon=True).start()
        else:
            c.sendall(data); c.close()
threading.Thread(target=serve, args=(d + "/mute.sock", None), daemon=True).start()
threading.Thread(target=serve, args=(d + "/esc.sock", b'\x1b]0;owned\x07{"x":"\x1b[2J"}\n'), daemon=True).start()
time.sleep(40)
PY
PPID_HOSTILE=$!
weir_on_cleanup "kill $PPID_HOSTILE 2>/dev/null"
for _ in $(seq 100); do [ -S "$TMP/esc.sock" ] && [ -S "$TMP/mute.sock" ] && break; sleep 0.05; done

t0=$(date +%s%N)
"$STAT" --timeout 300ms "$TMP/mute.sock" >/dev/null 2>"$TMP/mute"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
{ [ "$rc" = 2 ] && grep -q "no answer within --timeout" "$TMP/mute" && [ "$ms" -lt 5000 ]; } ||
	fail "mute server: exit $rc after $ms ms: $(cat "$TMP/mute")"

python3 - "$STAT" "$TMP/esc.sock" <<'PY' || FAILS=$((FAILS + 1))
import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.run([sys.argv[1], sys.argv[2]], stdout=s, stderr=subprocess.DEVNULL)
os.close(s)
out = b""
try:
    while True:
        b = os.read(m, 4096)
        if not b: break
        out += b
except OSError:
    pass
piped = subprocess.run([sys.argv[1], sys.argv[2]], capture_output=True).stdout
ok = b"\x1b" not in out and b"\\x1b" in out and b"\x07" not in out and b"\x1b[2J" in piped
print(("" if ok else "FAIL: ") + f"escapes: to a tty {out[:60]!r}; to a pipe {piped[:30]!r}")
sys.exit(0 if ok else 1)
PY

[ "$FAILS" = 0 ] || { echo "FAIL: $FAILS check(s)"; exit 1; }
echo "PASS: stats socket: commands, 0600 and peer check, weir-stat timeout and escaping"
