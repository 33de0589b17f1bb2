#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The pcap: driver against tools nobody here wrote. pcap_tool (beside this
# script) writes and replays through the driver and prints each frame in
# hex; tshark, capinfos and text2pcap (Wireshark) and libpcap check it.
#
#   test_pcap.sh PCAP_TOOL write    frames written (pcapng and pcap) read by
#                                   tshark: same count, bytes, outbound
#                                   flag, monotonic ns timestamps; ISBs
#                                   counted by capinfos, their isb_ifrecv
#                                   read by a Python pcapng reader; replayed
#                                   through libpcap, the same frames
#   test_pcap.sh PCAP_TOOL replay   files made by text2pcap and editcap
#                                   replay as the frames they were made of
#   test_pcap.sh PCAP_TOOL timing   a file with 5 ms gaps replays at its
#                                   timing (and at speed=2, pps=): elapsed
#                                   time, p99 deviation reported and bounded
#                                   (runs the scheduler kept off the CPU
#                                   for >= 20 ms at once are run again)
#   test_pcap.sh PCAP_TOOL bad      truncated, corrupt-header, text and
#                                   missing files: refused with a message or
#                                   read up to the damage, never a crash
#   test_pcap.sh PCAP_TOOL full     a 256 KiB tmpfs fills up mid-write: said
#                                   once, port stops, file valid (root)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
TOOL=${1:?usage: test_pcap.sh PCAP_TOOL CASE}
CASE=${2:?usage: test_pcap.sh PCAP_TOOL CASE}
[ -x "$TOOL" ] || weir_skip "$TOOL not built"
weir_require_cmd tshark
weir_require_cmd capinfos
weir_require_cmd text2pcap
weir_require_cmd editcap
weir_require_cmd python3
FAILS=0
TMP=$(mktemp -d /tmp/weir-test-pcap.XXXXXX)
weir_on_cleanup "rm -rf $TMP"

fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}

# tshark_hex FILE: each frame's bytes as one hex line, as tshark reads them.
tshark_hex() {
	tshark -r "$1" -x 2>/dev/null | python3 -c '
import sys
frame = []
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line.strip():
        if frame:
            print("".join(frame)); frame = []
        continue
    # "0000  02 00 00 ...   ascii": offset, two spaces, 16 bytes max
    frame.append("".join(line[6:6 + 16 * 3].split()))
if frame:
    print("".join(frame))
'
}

# isb_recv FILE: isb_ifrecv of each Interface Statistics Block, one a line
# (an independent reader of the pcapng layout, little-endian sections).
isb_recv() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off = 0
while off + 12 <= len(d):
    btype, blen = struct.unpack_from("<II", d, off)
    if blen < 12 or off + blen > len(d):
        sys.exit("torn block at %d" % off)
    if struct.unpack_from("<I", d, off + blen - 4)[0] != blen:
        sys.exit("trailing length differs at %d" % off)
    if btype == 5:
        o = off + 20
        while o < off + blen - 4:
            code, olen = struct.unpack_from("<HH", d, o)
            if code == 0:
                break
            if code == 4:
                print(struct.unpack_from("<Q", d, o + 4)[0])
            o += 4 + (olen + 3) // 4 * 4
    off += blen
PY
}

case_write() {
	local fmt f n=500 extra
	for fmt in pcapng pcap; do
		f=$TMP/w.$fmt
		extra=
		[ $fmt = pcapng ] && extra="&if_name=weir-test&stats_ms=10"
		"$TOOL" write "pcap:$f?mode=w&format=$fmt$extra" \
			$n 1000 >"$TMP/sent.hex" 2>"$TMP/w.err" || { fail "$fmt: write: $(cat "$TMP/w.err")"; continue; }
		[ "$(wc -l <"$TMP/sent.hex")" = $n ] || fail "$fmt: pcap_tool wrote $(wc -l <"$TMP/sent.hex") frames"
		tshark_hex "$f" >"$TMP/tshark.hex"
		cmp -s "$TMP/sent.hex" "$TMP/tshark.hex" ||
			fail "$fmt: tshark reads other bytes ($(wc -l <"$TMP/tshark.hex") frames)"
		tshark -r "$f" -T fields -e frame.len -e frame.time_epoch 2>/dev/null >"$TMP/fields"
		python3 - "$TMP/fields" "$TMP/sent.hex" <<'PY' || fail "$fmt: lengths/timestamps"
import sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
sent = [len(l.strip()) // 2 for l in open(sys.argv[2])]
lens = [int(r[0]) for r in rows]
assert lens == sent, "frame lengths differ"
ts = [r[1] for r in rows]
assert all(len(t.split(".")[1]) == 9 for t in ts), "not nanosecond timestamps: %s" % ts[0]
ns = [int(t.replace(".", "")) for t in ts]
assert all(b >= a for a, b in zip(ns, ns[1:])), "timestamps go back"
assert ns[-1] > ns[0], "timestamps never advance"
PY
		"$TOOL" read "pcap:$f?speed=max" >"$TMP/back.hex" 2>"$TMP/r.err" ||
			fail "$fmt: replay: $(cat "$TMP/r.err")"
		cmp -s "$TMP/sent.hex" "$TMP/back.hex" || fail "$fmt: replay through libpcap differs"
		capinfos "$f" >"$TMP/capinfos" 2>&1
		grep -q "Number of packets = *$n\|Number of packets: *$n" "$TMP/capinfos" ||
			fail "$fmt: capinfos: $(grep -i 'number of packets' "$TMP/capinfos")"
		grep -q "nanoseconds" "$TMP/capinfos" || fail "$fmt: capinfos: not nanosecond precision"
		[ "$fmt" = pcapng ] || continue
		# pcapng only: outbound flag, interface name, statistics blocks.
		[ "$(tshark -r "$f" -T fields -e frame.packet_flags_direction 2>/dev/null | sort -u)" = 0x00000002 ] ||
			fail "pcapng: not every frame is marked outbound"
		[ "$(tshark -r "$f" -T fields -e frame.interface_name 2>/dev/null | sort -u)" = weir-test ] ||
			fail "pcapng: if_name not weir-test"
		local stats
		stats=$(sed -n 's/.*Number of stat entries = \([0-9]*\).*/\1/p' "$TMP/capinfos")
		[ "${stats:-0}" -ge 3 ] || fail "pcapng: capinfos sees ${stats:-no} statistics blocks (want periodic + final)"
		isb_recv "$f" >"$TMP/isb" || fail "pcapng: $(cat "$TMP/isb")"
		[ "$(tail -1 "$TMP/isb")" = $n ] || fail "pcapng: last isb_ifrecv $(tail -1 "$TMP/isb"), want $n"
		echo "ok: $fmt: $n frames, tshark and libpcap agree; ${stats:-0} ISBs, isb_ifrecv $(tr '\n' ' ' <"$TMP/isb")"
	done
}

# frames_hex N: N Ethernet frames of varied lengths as hex lines.
frames_hex() {
	python3 -c "
import sys
for i in range(int(sys.argv[1])):
    n = 60 + (i * 97) % 1450
    print(''.join('%02x' % ((i * 3 + j) & 255) for j in range(n)))
" "$1"
}

# to_text2pcap GAP_US < hex lines: text2pcap input, frames GAP_US apart.
to_text2pcap() {
	python3 -c "
import sys
gap = int(sys.argv[1])
for i, l in enumerate(sys.stdin):
    h = l.strip()
    t = i * gap
    print('10:%02d:%02d.%06d' % (t // 60000000, t // 1000000 % 60, t % 1000000))
    for o in range(0, len(h) // 2, 16):
        print('%06x ' % o + ' '.join(h[2 * k:2 * k + 2] for k in range(o, min(o + 16, len(h) // 2))))
    print()
" "$1"
}

case_replay() {
	local f
	frames_hex 200 >"$TMP/in.hex"
	to_text2pcap 100 <"$TMP/in.hex" >"$TMP/in.txt"
	text2pcap -q -F pcap -t '%H:%M:%S.%f' "$TMP/in.txt" "$TMP/t2p.pcap" >/dev/null 2>&1 || fail "text2pcap (pcap)"
	text2pcap -q -F pcapng -t '%H:%M:%S.%f' "$TMP/in.txt" "$TMP/t2p.pcapng" >/dev/null 2>&1 || fail "text2pcap (pcapng)"
	editcap -F pcapng -T ether "$TMP/t2p.pcap" "$TMP/editcap.pcapng" || fail "editcap"
	editcap -F nsecpcap "$TMP/t2p.pcap" "$TMP/editcap.nsec.pcap" || fail "editcap nsec"
	for f in t2p.pcap t2p.pcapng editcap.pcapng editcap.nsec.pcap; do
		"$TOOL" read "pcap:$TMP/$f?speed=max" >"$TMP/out.hex" 2>"$TMP/r.err" ||
			{ fail "$f: $(cat "$TMP/r.err")"; continue; }
		cmp -s "$TMP/in.hex" "$TMP/out.hex" || fail "$f: replayed frames differ ($(wc -l <"$TMP/out.hex") frames)"
	done
	# loop=3: three passes of the same frames.
	"$TOOL" read "pcap:$TMP/t2p.pcapng?speed=max&loop=3" >"$TMP/out.hex" 2>"$TMP/r.err"
	cat "$TMP/in.hex" "$TMP/in.hex" "$TMP/in.hex" | cmp -s - "$TMP/out.hex" || fail "loop=3"
	grep -q "replay_passes=3" "$TMP/r.err" || fail "loop=3: $(grep passes "$TMP/r.err")"
	echo "ok: text2pcap/editcap files (pcap, pcapng, nsec pcap) replay byte for byte, loop=3"
}

# replay_timed SPEC MIN_MS MAX_MS: replays, checks the elapsed time and
# the p99 deviation the port reports (loose: a shared, noisy machine). A
# run that misses either bound while pcap_tool was kept off its CPU for
# DESCHED_MS or more at once (its desched_max_ns, the kernel's run-queue
# wait) says nothing about the replay's timing: it is run again, up to 3
# times. A miss without such a wait fails at once, and so does a third
# descheduled miss: a loaded machine can delay the verdict, not pass it.
DESCHED_MS=20
replay_timed() {
	local spec=$1 min=$2 max=$3 t0 t1 ms p99 n why desched try
	n=$(wc -l <"$TMP/in.hex")
	for try in 1 2 3; do
		t0=$(date +%s%N)
		"$TOOL" read "$spec" >"$TMP/out.hex" 2>"$TMP/r.err" || { fail "$spec: $(cat "$TMP/r.err")"; return; }
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		[ "$(wc -l <"$TMP/out.hex")" = $n ] || { fail "$spec: $(wc -l <"$TMP/out.hex") of $n frames"; return; }
		grep -q "deviation from the schedule p50 .* p99 .* late" "$TMP/r.err" ||
			{ fail "$spec: no timing report at close: $(tail -1 "$TMP/r.err")"; return; }
		p99=$(sed -n 's/^replay_dev_p99_ns=//p' "$TMP/r.err")
		desched=$(sed -n 's/^desched_max_ns=\([0-9]*\).*/\1/p' "$TMP/r.err")
		[ -n "$p99" ] && [ -n "$desched" ] || { fail "$spec: no replay_dev_p99_ns or desched_max_ns"; return; }
		why=""
		{ [ $ms -ge $min ] && [ $ms -le $max ]; } || why="took $ms ms, want $min..$max"
		# 50 ms: two cores shared with other builds; a quiet machine
		# reads tens to hundreds of microseconds here.
		[ "$p99" -lt 50000000 ] || why="${why:+$why; }p99 deviation $p99 ns (want < 50 ms)"
		if [ -z "$why" ]; then
			echo "ok: $spec: $ms ms, p99 deviation $((p99 / 1000)) us, longest run-queue wait $((desched / 1000)) us; $(grep -o 'p50.*' "$TMP/r.err")"
			return
		fi
		if [ "$desched" -lt $((DESCHED_MS * 1000000)) ] || [ $try = 3 ]; then
			fail "$spec: $why (longest run-queue wait $((desched / 1000)) us, run $try)"
			return
		fi
		echo "note: $spec: $why, but pcap_tool waited $((desched / 1000000)) ms for a CPU at once: run again"
	done
}

case_timing() {
	frames_hex 201 >"$TMP/in.hex"
	to_text2pcap 5000 <"$TMP/in.hex" >"$TMP/in.txt" # 5 ms gaps: 1 s of file
	text2pcap -q -F pcapng -t '%H:%M:%S.%f' "$TMP/in.txt" "$TMP/gaps.pcapng" >/dev/null 2>&1 || fail "text2pcap"
	replay_timed "pcap:$TMP/gaps.pcapng" 1000 1600
	replay_timed "pcap:$TMP/gaps.pcapng?speed=2" 500 900
	replay_timed "pcap:$TMP/gaps.pcapng?pps=400" 500 900
	cmp -s "$TMP/in.hex" "$TMP/out.hex" || fail "timed replay changed the frames"
}

# expect_refused FILE PATTERN: opening pcap:FILE fails and says PATTERN.
expect_refused() {
	local out rc
	out=$("$TOOL" read "pcap:$1?speed=max" 2>&1 >/dev/null)
	rc=$?
	{ [ $rc = 1 ] && grep -q -- "$2" <<<"$out"; } ||
		fail "$1: exit $rc, said: $out (want exit 1 and: $2)"
}

case_bad() {
	local size keep out rc
	frames_hex 20 >"$TMP/in.hex"
	to_text2pcap 100 <"$TMP/in.hex" >"$TMP/in.txt"
	text2pcap -q -F pcapng "$TMP/in.txt" "$TMP/ok.pcapng" >/dev/null 2>&1
	text2pcap -q -F pcap "$TMP/in.txt" "$TMP/ok.pcap" >/dev/null 2>&1
	echo "hello, I am not a capture file" >"$TMP/text.pcap"
	expect_refused "$TMP/text.pcap" "not a capture file libpcap can read"
	expect_refused "$TMP/missing.pcap" "No such file"
	head -c 10 "$TMP/ok.pcap" >"$TMP/short.pcap"
	expect_refused "$TMP/short.pcap" "truncated"
	# Corrupt header: the magic number's first byte.
	cp "$TMP/ok.pcap" "$TMP/magic.pcap"
	printf '\x00' | dd of="$TMP/magic.pcap" bs=1 seek=0 conv=notrunc status=none
	expect_refused "$TMP/magic.pcap" "not a capture file"
	# A pcapng SHB whose length is absurd.
	cp "$TMP/ok.pcapng" "$TMP/shb.pcapng"
	printf '\xff\xff\xff\x7f' | dd of="$TMP/shb.pcapng" bs=1 seek=4 conv=notrunc status=none
	expect_refused "$TMP/shb.pcapng" "not a capture file"
	# Truncated in the middle of a packet: read up to the damage, say so.
	for f in ok.pcap ok.pcapng; do
		size=$(stat -c %s "$TMP/$f")
		keep=$((size * 2 / 3))
		head -c $keep "$TMP/$f" >"$TMP/cut.$f"
		out=$("$TOOL" read "pcap:$TMP/cut.$f?speed=max" 2>&1 >"$TMP/out.hex")
		rc=$?
		{ [ $rc = 0 ] && grep -q "damaged after [0-9]* frames" <<<"$out" &&
			grep -q "replay_damaged=1" <<<"$out"; } ||
			fail "cut.$f: exit $rc, said: $out"
		head -n "$(wc -l <"$TMP/out.hex")" "$TMP/in.hex" | cmp -s - "$TMP/out.hex" ||
			fail "cut.$f: the frames before the damage differ"
		[ "$(wc -l <"$TMP/out.hex")" -ge 5 ] || fail "cut.$f: only $(wc -l <"$TMP/out.hex") frames before the damage"
	done
	echo "ok: text, missing, short, bad magic, bad SHB refused; cut files read up to the damage"
}

case_full() {
	[ "$(id -u)" = 0 ] || weir_skip "full disk: mounting a tmpfs needs root"
	weir_require_cmd unshare
	local fmt
	for fmt in pcapng pcap; do
		mkdir -p "$TMP/mnt"
		unshare -m sh -c "mount -t tmpfs -o size=256k weirfull '$TMP/mnt' &&
			'$TOOL' write 'pcap:$TMP/mnt/f.$fmt?mode=w&format=$fmt' 3000 >/dev/null 2>'$TMP/full.err';
			echo \$? >'$TMP/rc'; cp '$TMP/mnt/f.$fmt' '$TMP/f.$fmt'" || { fail "$fmt: tmpfs"; continue; }
		[ "$(cat "$TMP/rc")" = 1 ] || fail "$fmt: pcap_tool exit $(cat "$TMP/rc") (want 1: port died)"
		[ "$(grep -c "No space left on device" "$TMP/full.err")" = 1 ] ||
			fail "$fmt: the error is not said exactly once: $(cat "$TMP/full.err")"
		grep -q "f.$fmt" "$TMP/full.err" || fail "$fmt: the message does not name the file"
		# The file reads to its end without error, in tshark and libpcap.
		tshark -r "$TMP/f.$fmt" >/dev/null 2>"$TMP/ts.err" || fail "$fmt: tshark: $(cat "$TMP/ts.err")"
		"$TOOL" read "pcap:$TMP/f.$fmt?speed=max" >"$TMP/out.hex" 2>"$TMP/r.err" ||
			fail "$fmt: replay: $(cat "$TMP/r.err")"
		grep -q "replay_damaged=0" "$TMP/r.err" || fail "$fmt: the file ends on a torn block"
		[ "$(wc -l <"$TMP/out.hex")" -gt 100 ] || fail "$fmt: only $(wc -l <"$TMP/out.hex") frames kept"
		echo "ok: $fmt: disk full after $(wc -l <"$TMP/out.hex") frames: $(grep -m1 'No space' "$TMP/full.err")"
	done
}

case "$CASE" in
write) case_write ;;
replay) case_replay ;;
timing) case_timing ;;
bad) case_bad ;;
full) case_full ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
[ "$FAILS" = 0 ] || { echo "FAIL: $FAILS check(s)"; exit 1; }
echo "PASS: pcap $CASE"
