#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Runs one case of test_afpacket on a fresh veth pair (two queues per veth):
# weir's afpacket port on node a's end, a plain AF_PACKET socket on node b's.
#   test_afpacket.sh PATH/TO/test_afpacket CASE
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/netns.sh"
bin="$1"
case_="$2"
[ -x "$bin" ] || { echo "usage: $0 path/to/test_afpacket rx|tx|fanout|hold|idle|wake|errors|vanish"; exit 1; }
weir_require_veth
weir_timeout 100
weir_topo_pair -n -q 2
weir_nsexec a "$bin" "$(weir_if a b)" "$(weir_ns b)" "$(weir_if b a)" "$case_"
