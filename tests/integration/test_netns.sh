#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Self-test of lib/netns.sh: a pair and a line pass traffic, queues are set,
# and nothing is left behind after a normal exit, a failure, or a watchdog
# timeout; the stale-namespace reaper removes what a SIGKILLed run made, and
# nothing else: not a namespace that only looks like weir's, not one of a run
# whose processes still live. Skips (77) when not root or without veth.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/netns.sh"
weir_require_veth

fail() { echo "FAIL: $*"; exit 1; }

# Children with their own topologies: exit 0, exit 3 mid-way, watchdog.
child() {
	bash -c ". '$here/lib/netns.sh'; weir_topo_pair -q 4; echo \$\$; $1" 2>/dev/null
}
for how in "exit 0" "false; exit 3" "weir_timeout 1; sleep 30"; do
	pid=$(child "$how" | head -1)
	[ -n "$pid" ] || fail "child ($how) printed no pid"
	left=$(ip netns list | grep -c "^weir-$pid-") || true
	[ "$left" = 0 ] || fail "child ($how) left $left namespaces behind"
done

nsleft() { ip netns list | grep -c "^weir-$1-" || true; }

# A SIGKILLed run: no cleanup ran, the reaper removes its namespaces.
pid=$(child 'kill -9 $$' | head -1)
[ "$(nsleft "$pid")" = 2 ] || fail "SIGKILLed child ($pid) should have left 2 namespaces"
weir_reap_stale
[ "$(nsleft "$pid")" = 0 ] || fail "reaper left the SIGKILLed child's namespaces"

# Bug: the reaper deleted any weir-<digits>-* namespace whose number was no
# live PID. One of that shape that no run listed survives it.
sleep 0 &
dead=$!
wait "$dead"
foreign="weir-$dead-a"
ip netns add "$foreign" || fail "cannot create $foreign"
weir_on_cleanup "ip netns del $foreign 2>/dev/null"
weir_reap_stale
ip netns list | grep -qx "$foreign" || fail "regression: reaper deleted $foreign, which no run made"
ip netns del "$foreign"

# A run whose shell died while a process it started still runs in its
# namespace: kept until that process ends, then reaped.
read -r pid bg < <(child 'weir_bg a sleep 30 >/dev/null; echo $$ $WEIR_BG_PID; kill -9 $$' | tail -1)
[ -n "$bg" ] || fail "child printed no background pid"
weir_on_cleanup "kill $bg 2>/dev/null"
weir_reap_stale
[ "$(nsleft "$pid")" = 2 ] || fail "reaper deleted the namespaces of a live run ($pid, sleep $bg)"
kill "$bg"
while kill -0 "$bg" 2>/dev/null; do sleep 0.1; done
weir_reap_stale
[ "$(nsleft "$pid")" = 0 ] || fail "reaper kept the namespaces once the run ($pid) was over"

weir_topo_pair -q 2
weir_nsexec a ping -c1 -W2 "$(weir_ip b a)" >/dev/null || fail "no ping across the pair"
weir_nsexec a ip -d link show "$(weir_if a b)" | grep -q "numrxqueues 2" || fail "veth has not 2 rx queues"

weir_topo_line l m r
weir_nsexec l ping -c1 -W2 "$(weir_ip r m)" >/dev/null || fail "no ping along the line l-m-r"
[ "$(weir_mac a b)" != "$(weir_mac b a)" ] || fail "both ends have one MAC"
echo "PASS: netns harness (pair, line, queues, cleanup on exit/failure/timeout, reaper)"
