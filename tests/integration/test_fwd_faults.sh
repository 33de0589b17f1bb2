#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Faults under a running weir-fwd (l2, hosts a -- dut -- b, one subnet), as
# an operator causes them, for afpacket and afxdp ports (argument KIND):
#   - a link goes down and comes back up: weir-fwd stays up, says so, and
#     ping passes again;
#   - the MTU is raised on every hop while it runs (9000; 3000 for afxdp,
#     the most a veth with XDP allows): 4000 / 2800-byte pings pass (frames
#     longer than the ports opened with), and again after the MTU goes back
#     down;
#   - the far namespace is deleted (its veth, and so weir-fwd's port, goes
#     with it): weir-fwd stops on its own with one clear message, exit 2,
#     the summary says every buffer came back.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
FWD=$BUILD/apps/weir-fwd
KIND=${1:-afpacket}

weir_require_veth
weir_require_cmd ping python3
[ -x "$FWD" ] || weir_skip "weir-fwd not built at $FWD"
weir_timeout 90
TMP=$(mktemp -d /tmp/weir-test-faults.XXXXXX)
weir_on_cleanup "rm -rf $TMP"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

weir_topo_line -o -n a dut b || exit 1
IA=$(weir_if a dut) IB=$(weir_if b dut) DA=$(weir_if dut a) DB=$(weir_if dut b)
weir_nsexec a ip addr add 10.98.0.1/24 dev "$IA"
weir_nsexec b ip addr add 10.98.0.2/24 dev "$IB"

weir_bg dut "$FWD" -p "$KIND:$DA" -p "$KIND:$DB" --json >"$TMP/out" 2>"$TMP/err"
FPID=$WEIR_BG_PID
pings() { weir_nsexec a ping -c3 -i0.2 -W2 "$@" 10.98.0.2 >"$TMP/ping" 2>&1; }
ok=0
for _ in $(seq 20); do pings && { ok=1; break; }; sleep 0.25; done
[ "$ok" = 1 ] || { fail "$KIND: no ping through weir-fwd at all: $(tail -3 "$TMP/err")"; exit 1; }

# Link down and up (weir-fwd's side towards b).
weir_nsexec dut ip link set "$DB" down
sleep 0.5
weir_nsexec a ping -c1 -W1 10.98.0.2 >/dev/null 2>&1 && fail "$KIND: ping passed a link that is down"
weir_nsexec dut ip link set "$DB" up
ok=0
for _ in $(seq 20); do pings && { ok=1; break; }; sleep 0.25; done
kill -0 "$FPID" 2>/dev/null || fail "$KIND: weir-fwd died on link down/up: $(tail -3 "$TMP/err")"
[ "$ok" = 1 ] || fail "$KIND: no ping after the link came back: $(tail -3 "$TMP/err")"

# The MTU raised on every hop, then lowered again.
# A veth whose peer runs an XDP program without frags support (libxdp's
# dispatcher) takes at most ~3.5 KB: afxdp ports get 3000 (frames still
# longer than one 2 KiB UMEM frame: multi-buffer chains).
MTU=9000 SIZE=4000
[ "$KIND" = afxdp ] && MTU=3000 SIZE=2800
for n in a:"$IA" dut:"$DA" dut:"$DB" b:"$IB"; do
	weir_nsexec "${n%%:*}" ip link set "${n#*:}" mtu "$MTU" 2>&1 | sed "s/^/ip link ${n#*:} mtu $MTU: /"
done
ok=0
for _ in $(seq 12); do pings -s "$SIZE" -M do && { ok=1; break; }; sleep 0.25; done
[ "$ok" = 1 ] || fail "$KIND: $SIZE-byte pings after the MTU went to $MTU: $(tail -2 "$TMP/ping"; tail -3 "$TMP/err")"
for n in a:"$IA" dut:"$DA" dut:"$DB" b:"$IB"; do weir_nsexec "${n%%:*}" ip link set "${n#*:}" mtu 1500; done
ok=0
for _ in $(seq 12); do pings && { ok=1; break; }; sleep 0.25; done
[ "$ok" = 1 ] || fail "$KIND: no ping after the MTU went back to 1500"

# The far namespace goes, with its veth and weir-fwd's port towards it,
# while weir-fwd is idle: 3 s without a frame, so its lcore sleeps until a
# frame comes (an AF_XDP socket whose device is gone never wakes it: the
# port asks to be polled now and then, weir_port_idle_poll_ns).
sleep 3
ip netns del "$(weir_ns b)"
# The kernel tears a namespace down later, in a work queue (seconds on a
# loaded machine): the 5 s start when weir-fwd's veth is really gone.
for _ in $(seq 200); do weir_nsexec dut ip link show "$DB" >/dev/null 2>&1 || break; sleep 0.1; done
weir_nsexec dut ip link show "$DB" >/dev/null 2>&1 && fail "$KIND: $DB still there 20 s after its peer's namespace was deleted"
rc=
for _ in $(seq 50); do kill -0 "$FPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$FPID" 2>/dev/null; then
	fail "$KIND: weir-fwd still runs 5 s after its port's interface went away"
	kill -INT "$FPID"
fi
wait "$FPID"
rc=$?
msgs=$(grep -c "went away\|vanished\|no longer exists" "$TMP/err")
{ [ "$rc" = 2 ] && [ "$msgs" -ge 1 ]; } ||
	fail "$KIND: after the namespace went: exit $rc, stderr: $(tail -4 "$TMP/err")"
grep -q '"leaked":0' "$TMP/out" || [ ! -s "$TMP/out" ] ||
	fail "$KIND: buffers leaked: $(tail -c 300 "$TMP/out")"

[ "$FAILS" = 0 ] || { echo "FAIL: $FAILS check(s)"; exit 1; }
echo "PASS: $KIND: link down/up, MTU 1500 -> $MTU -> 1500, interface gone: weir-fwd coped"
