#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Self-test of lib/netns.sh: a pair and a line pass traffic, queues are set,
# and nothing is left behind after a normal exit, a failure, or a watchdog
# timeout. Skips (77) when not root or without veth.
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

weir_topo_pair -q 2
weir_nsexec a ping -c1 -W2 "$(weir_ip b a)" >/dev/null || fail "no ping across the pair"
weir_nsexec a ip -d link show "$(weir_if a b)" | grep -q "numrxqueues 2" || fail "veth has not 2 rx queues"

weir_topo_line l m r
weir_nsexec l ping -c1 -W2 "$(weir_ip r m)" >/dev/null || fail "no ping along the line l-m-r"
[ "$(weir_mac a b)" != "$(weir_mac b a)" ] || fail "both ends have one MAC"
echo "PASS: netns harness (pair, line, queues, cleanup on exit/failure/timeout)"
