#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Runs test_afpacket_order (frames in bursts and idle gaps across the wake
# ring's switches: none reordered, none lost) on a fresh veth pair.
#   test_afpacket_order.sh PATH/TO/test_afpacket_order SECONDS [PORT_ARGS]
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/netns.sh"
bin="$1"
[ -x "$bin" ] || { echo "usage: $0 path/to/test_afpacket_order SECONDS [PORT_ARGS]"; exit 1; }
weir_require_veth
weir_timeout 60
weir_topo_pair -n
weir_nsexec a "$bin" "$(weir_if a b)" "$(weir_ns b)" "$(weir_if b a)" "$2" ${3:+"$3"}
