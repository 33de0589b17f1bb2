#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Capture to a file: the highest offered rate of 64-byte frames at which a
# capture tool writes to a file with less than 0.1% loss, for weir-cap
# (afpacket port, pcapng; weirxdp: an afxdp port), tcpdump -w and dumpcap
# (if installed), on the same veth, with the same generator (weir-gen -m
# tx on GEN_CPU, over GEN_PORT: afxdp, or afpacket with qdisc_bypass) and
# the capture on CAP_CPU (one CPU for every tool: weir-cap's --cores N,N
# puts its writer inline in the receive lcore). Each rate is a trial of
# SECS seconds of frames; loss is 1 - (frames in the file / frames the
# generator sent). Rates go up by STEP x from START until a trial loses
# more; then BISECT halvings of the last interval. Each tool is measured
# REPS times, alternating; medians and the ratio are printed.
#
# Method: what bounds the search. On a veth there is no NIC: the
# receiving kernel's work (the skb, the copy into each tool's packet
# ring, the stack after it) runs where the sender's veth_xmit runs, on
# GEN_CPU, unless KWORK=rps moves it to CAP_CPU (rps_cpus on the capture
# veth, as a NIC's interrupt on the capture core would: the tool then
# shares its CPU with the kernel's delivery to it). So the loss part first
# measures the ceiling: the generator alone (nothing capturing) asked for
# far more than it can send, and with each tool capturing. A tool that
# loses nothing at the highest rate the generator reaches is reported as
# a lower bound ("+"): the generator, not the tool, was the limit. Both
# tools always run under the same GEN_PORT, KWORK, CPUs and file system.
#
# The second part is not bound by the generator: CPU time per captured
# frame at a fixed offered rate CPU_PPS below every tool's limit, CPU_SECS
# of frames, each tool REPS times alternating: the on-CPU time of all the
# capturing process's threads (/proc/PID/task/*/schedstat: utime + stime
# in ns) from just before the generator starts until 1.5 s after it ends
# (libpcap's tools get their last ring block after 1 s), divided by the
# frames in the file. It does not count the kernel's delivery into the
# ring (on the sender's CPU, or in softirq), which the ceiling part shows.
#
#   bench/capture.sh [BUILD_DIR]       (as root)
#   env: REPS=3 SECS=2 START=100000 STEP=1.5 BISECT=2 GEN_CPU=0 CAP_CPU=1
#        DIR=/var/tmp (where the files go) TOOLS="weir tcpdump dumpcap"
#        (weirpcap: weir-cap -F pcap, classic pcap like tcpdump's -w, 16
#        bytes of record header a frame against pcapng's 44; weirxdp:
#        weir-cap -i afxdp:, the frames taken by XDP before the stack)
#        KWORK=none|rps GEN_PORT=afxdp|afpacket PARTS="ceiling loss cpu file"
#        CPU_PPS=300000 CPU_SECS=4
#
# A rate the generator cannot reach (its own rate below 90% of the one
# asked) caps the search: a tool that keeps up with everything offered is
# reported as a lower bound.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/integration/lib/netns.sh"
. "$here/lib/rows.sh"

build=${1:-build}
CAP="$build/apps/weir-cap" GEN="$build/apps/weir-gen"
REPS=${REPS:-3} SECS=${SECS:-2} START=${START:-100000} STEP=${STEP:-1.5} BISECT=${BISECT:-2}
GEN_CPU=${GEN_CPU:-0} CAP_CPU=${CAP_CPU:-1} DIR=${DIR:-/var/tmp} KWORK=${KWORK:-none}
TOOLS=${TOOLS:-weir tcpdump dumpcap}
PARTS=${PARTS:-ceiling loss cpu file} GEN_PORT=${GEN_PORT:-afxdp} CPU_PPS=${CPU_PPS:-300000} CPU_SECS=${CPU_SECS:-4}
[ -x "$CAP" ] && [ -x "$GEN" ] || { echo "no $CAP or $GEN: build first"; exit 1; }
weir_require_veth
weir_require_cmd tcpdump capinfos awk
command -v dumpcap >/dev/null || TOOLS=${TOOLS/dumpcap/}
weir_timeout 1500
weir_topo_pair -n gen dut
G=$(weir_if gen dut)
D=$(weir_if dut gen)
case "$KWORK" in
none) ;;
rps) weir_nsexec dut sh -c "printf %x $((1 << CAP_CPU)) >/sys/class/net/$D/queues/rx-0/rps_cpus" || exit 1 ;;
*) echo "KWORK=$KWORK: none or rps"; exit 1 ;;
esac
case "$GEN_PORT" in
afxdp) GSPEC="afxdp:$G" ;;
afpacket) GSPEC="afpacket:$G?qdisc_bypass=1" ;;
*) echo "GEN_PORT=$GEN_PORT: afxdp or afpacket"; exit 1 ;;
esac
tmp=$(mktemp -d "$DIR/weir-bench-capture.XXXXXX")
weir_on_cleanup "rm -rf '$tmp'"

# start_tool TOOL FILE: the capture in the background (WEIR_BG_PID).
start_tool() {
	case "$1" in
	weir) weir_bg dut "$CAP" --quiet -i "afpacket:$D" -w "$2" --cores "$CAP_CPU,$CAP_CPU" ;;
	weirpcap) weir_bg dut "$CAP" --quiet -i "afpacket:$D" -w "$2" -F pcap --cores "$CAP_CPU,$CAP_CPU" ;;
	weirxdp) weir_bg dut "$CAP" --quiet -i "afxdp:$D" -w "$2" --cores "$CAP_CPU,$CAP_CPU" ;;
	tcpdump) weir_bg dut taskset -c "$CAP_CPU" tcpdump -i "$D" -n -w "$2" ;;
	dumpcap) weir_bg dut taskset -c "$CAP_CPU" dumpcap -q -i "$D" -w "$2" ;;
	esac
}

# trial TOOL PPS: prints "captured sent behind offered_pps" for one run.
trial() {
	local f="$tmp/t.pcapng" pid sent behind got rate n=$(($2 * SECS))
	rm -f "$f"
	start_tool "$1" "$f" 2>"$tmp/tool.err"
	pid=$WEIR_BG_PID
	sleep 1
	weir_nsexec gen "$GEN" --quiet -p "$GSPEC" -m tx -r "${2}pps" -n "$n" \
		--cores "$GEN_CPU" >"$tmp/gen" 2>&1
	# libpcap hands tcpdump and dumpcap a ring block when it is full or
	# after their 1 s timeout: the last frames wait that long.
	sleep 1.5
	kill -INT "$pid"
	wait "$pid" 2>/dev/null
	sent=$(awk '/tx:/ {print $2; exit}' "$tmp/gen")
	# The generator's own rate (its summary's "N kpps," / "N Mpps,"): what
	# was offered; below 90% of what was asked, the generator is the limit.
	rate=$(awk '/tx:/ {for (i = 1; i < NF; i++) if ($(i + 1) ~ /^[kM]pps/) {
		print int($i * ($(i + 1) ~ /^M/ ? 1e6 : 1e3)); exit}}' "$tmp/gen")
	behind=$(awk -v r="${rate:-0}" -v want="$2" 'BEGIN {print (r < 0.9 * want) ? 1 : 0}')
	[ -s "$tmp/tool.err" ] && sed 's/^/      /' "$tmp/tool.err" | tail -3 >&2
	got=$(capinfos -c -M "$f" 2>/dev/null | awk '/Number of packets/ {print $NF}')
	echo "${got:-0} ${sent:-0} $behind ${rate:-0}"
}

ok() { awk -v g="$1" -v s="$2" 'BEGIN {exit !(s > 0 && g >= s * 0.999)}'; }

# search TOOL: the highest rate with < 0.1% loss (and "+" when that is
# as fast as the generator went).
search() {
	local tool=$1 r=$START good=0 bad=0 got sent behind rate top="" offered=0
	while :; do
		read -r got sent behind rate < <(trial "$tool" "$r")
		echo "    $tool asked $r pps, offered $rate: $got of $sent$([ "$behind" = 1 ] && echo ' (the generator fell short)')" >&2
		if ok "$got" "$sent"; then
			good=$r
			[ "$rate" -gt "$offered" ] && offered=$rate
			[ "$behind" = 1 ] && { top="+"; break; }
			r=$(awk -v r="$r" -v s="$STEP" 'BEGIN {printf "%d", r * s}')
		else
			bad=$r
			break
		fi
	done
	for _ in $(seq "$BISECT"); do
		[ "$bad" -gt 0 ] || break
		r=$(((good + bad) / 2))
		read -r got sent behind rate < <(trial "$tool" "$r")
		echo "    $tool asked $r pps, offered $rate: $got of $sent" >&2
		if ok "$got" "$sent"; then
			good=$r
			[ "$rate" -gt "$offered" ] && offered=$rate
		else
			bad=$r
		fi
	done
	echo "$offered$top"
}

declare -A R
med() { printf "%s\n" $1 | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
rng() { printf "%s\n" $1 | sort -g | sed -n '1p;$p' | tr '\n' '-' | sed 's/-$//'; }

loss_part() {
	echo "capture bench: ${SECS}s of 64-byte frames per trial, generator weir-gen over $GEN_PORT on CPU $GEN_CPU, capture on CPU $CAP_CPU, files in $DIR, kernel receive work: $KWORK"
	echo "  weir:    weir-cap -i afpacket:$D -w F.pcapng --cores $CAP_CPU,$CAP_CPU"
	echo "  tcpdump: taskset -c $CAP_CPU tcpdump -i $D -n -w F ($(tcpdump --version 2>&1 | head -1))"
	command -v dumpcap >/dev/null && echo "  dumpcap: taskset -c $CAP_CPU dumpcap -q -i $D -w F"
	for rep in $(seq "$REPS"); do
		for t in $TOOLS; do
			v=$(search "$t")
			echo "  round $rep: $t $v pps"
			R[$t]="${R[$t]:-} ${v%+}"
			[ "${v%+}" != "$v" ] && R[$t.top]=1
		done
	done
	for t in $TOOLS; do
		printf "%-8s median %s pps (rounds:%s)%s\n" "$t" "$(med "${R[$t]}")" "${R[$t]}" \
			"${R[$t.top]:+ (as fast as the generator went: a lower bound)}"
	done
	w=$(med "${R[weir]}")
	for t in $TOOLS; do
		[ "$t" = weir ] && continue
		awk -v a="$w" -v b="$(med "${R[$t]}")" -v t="$t" \
			'BEGIN {if (b > 0) printf "ratio weir-cap/%s: %.2fx (goal >= 3x tcpdump)\n", t, a / b}'
	done
	for t in $TOOLS; do
		[ "$t" = weir ] && continue
		bench_row capture "64 B to a file, < 0.1% loss, KWORK=$KWORK (weir-cap vs $t)" pps higher "$w" \
			"$(med "${R[$t]}")" "$t -w" "$(rng "${R[weir]}")" "$(rng "${R[$t]}")" "$REPS" \
			"${R[weir.top]:+weir-cap kept up with all the generator offered (a lower bound)}"
	done
}

# ceil_trial TOOL|none: prints "offered_pps captured sent": the generator
# asked for CEIL_PPS for SECS, TOOL capturing (none: nothing).
ceil_trial() {
	local f="$tmp/x.pcapng" pid="" got=0 sent rate
	rm -f "$f"
	if [ "$1" != none ]; then
		start_tool "$1" "$f" 2>"$tmp/tool.err"
		pid=$WEIR_BG_PID
		sleep 1
	fi
	weir_nsexec gen "$GEN" --quiet -p "$GSPEC" -m tx -r "$CEIL_PPS" -t "${SECS}s" \
		--cores "$GEN_CPU" >"$tmp/gen" 2>&1
	if [ -n "$pid" ]; then
		sleep 1.5
		kill -INT "$pid"
		wait "$pid" 2>/dev/null
		got=$(capinfos -c -M "$f" 2>/dev/null | awk '/Number of packets/ {print $NF}')
	fi
	sent=$(awk '/tx:/ {print $2; exit}' "$tmp/gen")
	rate=$(awk '/tx:/ {for (i = 1; i < NF; i++) if ($(i + 1) ~ /^[kM]pps/) {
		print int($i * ($(i + 1) ~ /^M/ ? 1e6 : 1e3)); exit}}' "$tmp/gen")
	echo "${rate:-0} ${got:-0} ${sent:-0}"
}

# The generator's ceiling: alone, and with each tool capturing all it can.
ceiling_part() {
	local rep t rate got sent
	declare -A X
	CEIL_PPS=${CEIL_PPS:-20mpps}
	echo "ceiling: weir-gen over $GEN_PORT asked $CEIL_PPS for ${SECS}s, KWORK=$KWORK"
	for rep in $(seq "$REPS"); do
		for t in none $TOOLS; do
			read -r rate got sent < <(ceil_trial "$t")
			echo "  round $rep: $t: offered $rate pps$([ "$t" = none ] || awk -v g="$got" -v s="$sent" \
				'BEGIN {printf ", captured %d of %d (%.2f%% lost)", g, s, (s > 0 ? 100 * (1 - g / s) : 0)}')"
			X[$t]="${X[$t]:-} $rate"
		done
	done
	for t in none $TOOLS; do
		printf "ceiling with %-8s median %s pps (rounds:%s)\n" "$t" "$(med "${X[$t]}")" "${X[$t]}"
	done
	# The sender's CPU is saturated in every round: what a capture adds
	# to its time per frame is the kernel's delivery to that tool (with
	# KWORK=none; with rps, only the hand-off to CAP_CPU).
	for t in $TOOLS; do
		awk -v a="$(med "${X[none]}")" -v b="$(med "${X[$t]}")" -v t="$t" 'BEGIN {if (a > 0 && b > 0)
			printf "sender CPU per frame with %s capturing: %+.0f ns (%.0f against %.0f alone)\n",
				t, 1e9 / b - 1e9 / a, 1e9 / b, 1e9 / a}'
	done
}

# cpu_ns PID: on-CPU ns of all of PID's threads so far.
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'
}

# cpu_trial TOOL: prints "ns_per_frame frames sent" for one run at CPU_PPS.
cpu_trial() {
	local f="$tmp/c.pcapng" pid c0 c1 got sent
	rm -f "$f"
	start_tool "$1" "$f" 2>"$tmp/tool.err"
	pid=$WEIR_BG_PID
	sleep 1
	c0=$(cpu_ns "$pid")
	weir_nsexec gen "$GEN" --quiet -p "$GSPEC" -m tx -r "${CPU_PPS}pps" \
		-n $((CPU_PPS * CPU_SECS)) --cores "$GEN_CPU" >"$tmp/gen" 2>&1
	sleep 1.5
	c1=$(cpu_ns "$pid")
	kill -INT "$pid"
	wait "$pid" 2>/dev/null
	sent=$(awk '/tx:/ {print $2; exit}' "$tmp/gen")
	got=$(capinfos -c -M "$f" 2>/dev/null | awk '/Number of packets/ {print $NF}')
	awk -v a="$c0" -v b="$c1" -v n="${got:-0}" -v s="${sent:-0}" \
		'BEGIN {printf "%.0f %d %d\n", (n > 0 ? (b - a) / n : 0), n, s}'
}

cpu_part() {
	local rep t ns got sent
	declare -A C
	echo "CPU per captured frame at $CPU_PPS pps offered, ${CPU_SECS}s a run (all the tool's threads, /proc schedstat)"
	for rep in $(seq "$REPS"); do
		for t in $TOOLS; do
			read -r ns got sent < <(cpu_trial "$t")
			echo "  round $rep: $t $ns ns/frame ($got of $sent frames)"
			C[$t]="${C[$t]:-} $ns"
		done
	done
	local w
	w=$(med "${C[weir]}")
	for t in $TOOLS; do
		printf "%-8s median %s ns/frame (rounds:%s)\n" "$t" "$(med "${C[$t]}")" "${C[$t]}"
	done
	local wp=${C[weirpcap]:+$(med "${C[weirpcap]}")}
	for t in $TOOLS; do
		[ "$t" = weir ] || [ "$t" = weirpcap ] && continue
		awk -v a="$w" -v b="$(med "${C[$t]}")" -v t="$t" \
			'BEGIN {if (a > 0) printf "ratio %s/weir-cap CPU per frame: %.2fx\n", t, b / a}'
		[ -n "$wp" ] && awk -v a="$wp" -v b="$(med "${C[$t]}")" -v t="$t" \
			'BEGIN {if (a > 0) printf "ratio %s/weir-cap -F pcap CPU per frame: %.2fx\n", t, b / a}'
		bench_row capture "CPU per captured 64 B frame at $((CPU_PPS / 1000)) kpps (weir-cap vs $t)" \
			ns/frame lower "$w" "$(med "${C[$t]}")" "$t -w" "$(rng "${C[weir]}")" \
			"$(rng "${C[$t]}")" "$REPS" "schedstat of all the tool's threads; KWORK=$KWORK"
	done
}

file_part() {
	# The pipelines alone, without the kernel or a generator: N_FILE 64-byte
	# frames from a pcap file to a file, weir-cap (pcap: replay at full speed,
	# the receive lcore and the writer on CAP_CPU) against tcpdump -r -w on the
	# same CPU; frames per second of wall time, medians of REPS.
	N_FILE=${N_FILE:-2000000}
	python3 - "$tmp/in.pcap" "$N_FILE" <<-'PY'
	import struct, sys
	f = bytes.fromhex("ffffffffffff020000000001080045000032000100004011000000000a0000010a000002"
	                  "23280009001e0000") + bytes(22)
	rec = struct.pack("<IIII", 0, 0, len(f), len(f)) + f
	with open(sys.argv[1], "wb") as o:
	    o.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
	    o.write(rec * int(sys.argv[2]))
	PY
	echo "file to file: $N_FILE frames of 64 bytes, on CPU $CAP_CPU"
	FW=() FT=()
	for rep in $(seq "$REPS"); do
		t0=$(date +%s.%N)
		taskset -c "$CAP_CPU" "$CAP" --quiet -i "pcap:$tmp/in.pcap?speed=max" -w "$tmp/o.pcapng" \
			--cores "$CAP_CPU,$CAP_CPU" 2>/dev/null
		t1=$(date +%s.%N)
		taskset -c "$CAP_CPU" tcpdump -r "$tmp/in.pcap" -w "$tmp/o.pcap" 2>/dev/null
		t2=$(date +%s.%N)
		gw=$(capinfos -c -M "$tmp/o.pcapng" | awk '/Number of packets/ {print $NF}')
		gt=$(capinfos -c -M "$tmp/o.pcap" | awk '/Number of packets/ {print $NF}')
		FW+=("$(awk -v n="$gw" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", n / (b - a) / 1e6}')")
		FT+=("$(awk -v n="$gt" -v a="$t1" -v b="$t2" 'BEGIN {printf "%.3f", n / (b - a) / 1e6}')")
		echo "  round $rep: weir-cap ${FW[-1]} Mpps ($gw frames), tcpdump -r -w ${FT[-1]} Mpps ($gt frames)"
	done
	fw=$(med "${FW[*]}") ft=$(med "${FT[*]}")
	echo "file to file: weir-cap median $fw Mpps (${FW[*]}), tcpdump $ft Mpps (${FT[*]})"
	awk -v a="$fw" -v b="$ft" 'BEGIN {if (b > 0) printf "ratio weir-cap/tcpdump, file to file: %.2fx\n", a / b}'
	bench_row capture "64 B pcap file to file, one CPU (weir-cap vs tcpdump -r -w)" Mpps higher "$fw" "$ft" \
		"tcpdump -r -w" "" "" "$REPS" "includes process start-up"
}

for part in $PARTS; do
	case "$part" in
	ceiling) ceiling_part ;;
	loss) loss_part ;;
	cpu) cpu_part ;;
	file) file_part ;;
	*) echo "PARTS: ceiling, loss, cpu, file (not $part)"; exit 1 ;;
	esac
done
