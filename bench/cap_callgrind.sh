#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Instructions per captured frame: weir-cap (afpacket port, writer inline,
# FORMAT pcapng or pcap) under callgrind while weir-gen in another
# namespace offers PPS 64-byte frames for SECS seconds over a veth. Prints
# the frames in the file, the instructions of the whole run per frame (with
# start-up and idle polls), and per frame the inclusive and self
# instructions of the functions of the receive and write paths
# (callgrind_annotate; file:function, the file being where an inlined body
# came from), which do not depend on how long the tool sat idle. Callgrind
# runs the tool ~50x slower: PPS must stay well below what it then keeps up
# with (the kernel drops what does not fit the ring; the figures count only
# captured frames). At PPS=20000 an afpacket block (retired after 1 ms)
# carries ~20 frames: per-burst costs weigh more than at full rate.
#
#   bench/cap_callgrind.sh [BUILD_DIR]     (as root)
#   env: PPS=20000 SECS=3 FORMAT=pcapng GEN_CPU=0 CAP_CPU=1 OUT=DIR (keeps
#        the callgrind.out there)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/integration/lib/netns.sh"

build=${1:-build}
CAP="$build/apps/weir-cap" GEN="$build/apps/weir-gen"
PPS=${PPS:-20000} SECS=${SECS:-3} FORMAT=${FORMAT:-pcapng} GEN_CPU=${GEN_CPU:-0} CAP_CPU=${CAP_CPU:-1}
[ -x "$CAP" ] && [ -x "$GEN" ] || { echo "no $CAP or $GEN: build first"; exit 1; }
weir_require_veth
weir_require_cmd valgrind callgrind_annotate capinfos
weir_timeout 300
weir_topo_pair -n gen dut
G=$(weir_if gen dut)
D=$(weir_if dut gen)
tmp=$(mktemp -d /var/tmp/weir-cap-callgrind.XXXXXX)
weir_on_cleanup "rm -rf '$tmp'"
out=${OUT:-$tmp}

weir_bg dut taskset -c "$CAP_CPU" valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
	"$CAP" --quiet -i "afpacket:$D" -w "$tmp/f" -F "$FORMAT" --cores "$CAP_CPU,$CAP_CPU" \
	2>"$tmp/vg.err"
pid=$WEIR_BG_PID
sleep 4 # valgrind's start
weir_nsexec gen "$GEN" --quiet -p "afpacket:$G?qdisc_bypass=1" -m tx -r "${PPS}pps" \
	-n $((PPS * SECS)) --cores "$GEN_CPU" >"$tmp/gen" 2>&1
sleep 2
kill -INT "$pid"
wait "$pid" 2>/dev/null
sent=$(awk '/tx:/ {print $2; exit}' "$tmp/gen")
got=$(capinfos -c -M "$tmp/f" 2>/dev/null | awk '/Number of packets/ {print $NF}')
echo "weir-cap -F $FORMAT under callgrind: ${got:-0} frames in the file of ${sent:-0} sent at $PPS pps"
[ "${got:-0}" -gt 0 ] || { tail -5 "$tmp/vg.err"; exit 1; }

# per_frame yes|no TOP: "N (P%)  file:function [object]" lines, per frame.
per_frame() {
	callgrind_annotate --inclusive="$1" "$out/callgrind.out" 2>/dev/null |
		awk -v n="$got" -v top="$2" '
		/PROGRAM TOTALS/ {v = $1; gsub(",", "", v); printf "  %-44s %8.1f\n", "whole run (with start-up)", v / n; next}
		/^ *[0-9,]+ \( *[0-9.]+%\)  / && $0 !~ /ld-linux|dl-|libc-start|below main|start_thread|lcore_main|app_main|cap_setup|pool_create/ {
			v = $1; gsub(",", "", v); f = $0; sub(/^[^)]*\) +/, "", f); sub(/ .*$/, "", f); sub(/^.*\//, "", f)
			if (v / n >= 1 && ++k <= top) printf "  %-44s %8.1f\n", f, v / n
		}'
}
echo "inclusive instructions per frame:"
per_frame yes 25
echo "self instructions per frame:"
per_frame no 25
