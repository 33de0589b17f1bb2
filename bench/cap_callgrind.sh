#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Instructions per captured frame: weir-cap (afpacket port, writer inline,
# FORMAT pcapng or pcap) under callgrind while weir-gen in another
# namespace offers PPS 64-byte frames for SECS seconds over a veth. Prints
# the frames in the file, the instructions of the whole run per frame, and
# the inclusive instructions per frame of the functions of the receive and
# write paths (# "N (P%)  file:function [object]": per frame, the functions (file:function,
# the file being where an inlined body came from) of the capture path.
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
