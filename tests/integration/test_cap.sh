#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# weir-cap against tools nobody here wrote (tshark, capinfos, tcpdump).
# The input is a pcap of eight kinds of frames (cap_frames.py) replayed by
# the pcap: driver, so most cases need neither root nor a network.
#
#   test_cap.sh read     pcapng and pcap files (and -w - into tshark -r -):
#                        same frame count, same bytes, monotonic ns
#                        timestamps; capinfos sees the ISBs, whose counters
#                        (read by an independent pcapng reader) say what
#                        was received and dropped; -s cuts frames
#   test_cap.sh filter   each of a set of filters selects exactly the frames
#                        tcpdump -r FILE -w - FILTER selects
#   test_cap.sh rotate   -C (every file under the size, all frames kept),
#                        -G (files at wall-clock second boundaries, every
#                        frame inside its file's second), -W (only the last
#                        N kept), SIGHUP (a new file, nothing lost)
#   test_cap.sh signal   SIGINT and SIGTERM mid-capture: exit 0, a complete
#                        file holding exactly the frames reported captured
#   test_cap.sh signal_twice  a clean stop that cannot finish: the capture
#                        goes to a FIFO whose reader stopped reading, so
#                        the writer blocks; a first SIGINT (SIGTERM) leaves
#                        weir-cap waiting, a second one ends it at once:
#                        exit 130 (143), one line saying so, the telemetry
#                        socket removed. And through a FIFO whose reader
#                        reads, one SIGINT still leaves a complete capture
#   test_cap.sh full     a 256 KiB tmpfs fills up: said once, naming the
#                        file; capture stops; file valid to its last block
#   test_cap.sh inline   cases read, rotate and signal with the writer inline
#                        in the receive lcore; auto picks it for one CPU;
#                        live inline (root)
#   test_cap.sh live     afpacket on a veth in a namespace, weir-gen on the
#                        other end: every frame sent is in the file (root)
#   test_cap.sh live_xdp the same through an afxdp port (weir-cap's deeper
#                        AF_XDP RX ring) (root)
#   test_cap.sh mirror   capture from a running weir-fwd (-i app:SOCKET):
#                        the frames it forwarded, both ports, with their
#                        direction, none dropped (root)
#   test_cap.sh mirror_gen  the same from a weir-gen on a null: port: weir-cap
#                        ends when the app exits, the file holds what it
#                        reported
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
CAP=$BUILD/apps/weir-cap
GEN=$BUILD/apps/weir-gen
CASE=${1:?usage: test_cap.sh read|filter|rotate|signal|signal_twice|full|live|live_xdp|inline|mirror|mirror_gen}
[ -x "$CAP" ] || weir_skip "weir-cap not built under $BUILD (needs libpcap)"
weir_require_cmd tshark capinfos tcpdump python3
FAILS=0
XARGS=() # more weir-cap options (case inline)
TMP=$(mktemp -d /tmp/weir-test-cap.XXXXXX)
weir_on_cleanup "rm -rf $TMP"
IN=$TMP/in.pcap
python3 "$HERE/cap_frames.py" "$IN" 400 || weir_skip "cap_frames.py failed"

fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}

nframes() {
	capinfos -c -M "$1" 2>/dev/null | awk '/Number of packets/ {print $NF}'
}

# hexdump FILE: each frame's bytes as one hex line, as tshark reads them.
hexdump() {
	tshark -r "$1" -x 2>/dev/null | python3 -c '
import sys
frame = []
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line.strip():
        if frame:
            print("".join(frame)); frame = []
        continue
    frame.append("".join(line[6:6 + 16 * 3].split()))
if frame:
    print("".join(frame))
'
}

# isbs FILE: "ifid ifrecv ifdrop osdrop" of each ISB, one a line.
isbs() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off = 0
while off + 12 <= len(d):
    btype, blen = struct.unpack_from("<II", d, off)
    if blen < 12 or off + blen > len(d) or struct.unpack_from("<I", d, off + blen - 4)[0] != blen:
        sys.exit("torn block at %d" % off)
    if btype == 5:
        ifid = struct.unpack_from("<I", d, off + 8)[0]
        v = {}
        o = off + 20
        while o < off + blen - 4:
            code, olen = struct.unpack_from("<HH", d, o)
            if code == 0:
                break
            if olen == 8:
                v[code] = struct.unpack_from("<Q", d, o + 4)[0]
            o += 4 + (olen + 3) // 4 * 4
        print(ifid, v.get(4, "-"), v.get(5, "-"), v.get(7, "-"))
    off += blen
PY
}

# monotonic FILE: the frames' epoch times have 9 decimals and never go back.
monotonic() {
	tshark -r "$1" -T fields -e frame.time_epoch 2>/dev/null | python3 -c '
import sys
last = None
for t in sys.stdin:
    t = t.strip()
    s, _, ns = t.partition(".")
    if len(ns) != 9:
        sys.exit("not nanoseconds: " + t)
    v = int(s) * 10**9 + int(ns)
    if last is not None and v < last:
        sys.exit("time goes back by %d ns at %s" % (last - v, t))
    last = v
'
}

case_read() {
	local fmt f
	hexdump "$IN" >"$TMP/in.hex"
	for fmt in pcapng pcap; do
		f=$TMP/out.$fmt
		"$CAP" "${XARGS[@]}" --quiet -i "pcap:$IN?speed=max" -w "$f" -F $fmt 2>"$TMP/err" ||
			fail "$fmt: weir-cap exit $?: $(cat "$TMP/err")"
		[ "$(nframes "$f")" = 400 ] || fail "$fmt: capinfos counts $(nframes "$f") frames, want 400"
		hexdump "$f" >"$TMP/out.hex"
		cmp -s "$TMP/in.hex" "$TMP/out.hex" || fail "$fmt: the bytes differ from the input"
		monotonic "$f" || fail "$fmt: timestamps"
		grep -q "^400 captured, 0 dropped by weir, 0 dropped by the kernel" "$TMP/err" ||
			fail "$fmt: summary: $(cat "$TMP/err")"
		echo "ok: $fmt: 400 frames, same bytes, ns timestamps"
	done
	# The driver's own reader of classic pcap (pmd/pcap_read.c) against
	# tshark's: the input rewritten big-endian with microsecond stamps:
	# the same bytes and wire lengths come out (the times are the
	# replay's).
	python3 - "$IN" "$TMP/be.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
m = struct.unpack_from("<I", d)[0]
assert m in (0xa1b2c3d4, 0xa1b23c4d), hex(m)
div = 1000 if m == 0xa1b23c4d else 1
out = [struct.pack(">IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
off = 24
while off + 16 <= len(d):
    s, frac, cap, ln = struct.unpack_from("<IIII", d, off)
    out.append(struct.pack(">IIII", s, frac // div, cap, ln) + d[off + 16:off + 16 + cap])
    off += 16 + cap
open(sys.argv[2], "wb").write(b"".join(out))
PY
	"$CAP" "${XARGS[@]}" --quiet -i "pcap:$TMP/be.pcap?speed=max" -w "$TMP/be.out" -F pcap 2>/dev/null
	hexdump "$TMP/be.pcap" >"$TMP/be.hex"
	hexdump "$TMP/be.out" >"$TMP/out.hex"
	[ -s "$TMP/be.hex" ] && cmp -s "$TMP/be.hex" "$TMP/out.hex" ||
		fail "big-endian us pcap: the bytes differ from what tshark reads"
	[ "$(tshark -r "$TMP/be.pcap" -T fields -e frame.len 2>/dev/null | md5sum)" = \
	  "$(tshark -r "$TMP/be.out" -T fields -e frame.len 2>/dev/null | md5sum)" ] ||
		fail "big-endian us pcap: wire lengths differ"
	echo "ok: big-endian microsecond pcap: same frames and lengths as tshark reads"
	f=$TMP/out.pcapng
	capinfos -I "$f" >"$TMP/ci" 2>&1
	grep -q "Number of stat entries = 1" "$TMP/ci" || fail "capinfos -I: $(grep -i stat "$TMP/ci")"
	grep -q "Name = pcap:" "$TMP/ci" || fail "capinfos -I: no interface name"
	isbs "$f" >"$TMP/isb" || fail "isb: $(cat "$TMP/isb")"
	[ "$(tail -1 "$TMP/isb")" = "0 400 0 0" ] || fail "ISB: $(cat "$TMP/isb"), want 0 400 0 0"
	# Periodic ISBs: a slow replay (400 frames at 2 kpps) with 50 ms ones.
	"$CAP" "${XARGS[@]}" --quiet -i "pcap:$IN?pps=2000" -w "$f" --isb-interval 50ms 2>"$TMP/err" ||
		fail "periodic: weir-cap exit $?"
	isbs "$f" >"$TMP/isb"
	[ "$(wc -l <"$TMP/isb")" -ge 3 ] || fail "periodic ISBs: only $(wc -l <"$TMP/isb")"
	python3 -c 'import sys; v=[int(l.split()[1]) for l in open(sys.argv[1])]; sys.exit(v != sorted(v) or v[-1] != 400)' \
		"$TMP/isb" || fail "periodic ISBs do not count up to 400: $(tr '\n' ' ' <"$TMP/isb")"
	echo "ok: ISBs: $(wc -l <"$TMP/isb") (isb_ifrecv $(awk '{print $2}' "$TMP/isb" | tr '\n' ' '))"
	# Two interfaces: two IDBs, frames on both.
	"$CAP" "${XARGS[@]}" --quiet -i "pcap:$IN?speed=max" -i "pcap:$IN?speed=max" -w "$f" 2>/dev/null
	[ "$(tshark -r "$f" -T fields -e frame.interface_id 2>/dev/null | sort | uniq -c | wc -l)" = 2 ] ||
		fail "two interfaces: not two interface ids"
	[ "$(nframes "$f")" = 800 ] || fail "two interfaces: $(nframes "$f") frames, want 800"
	# Standard output into tshark, -c, -s.
	n=$("$CAP" "${XARGS[@]}" --quiet -i "pcap:$IN?speed=max" -w - -c 25 -s 60 2>/dev/null | tshark -r - 2>/dev/null | wc -l)
	[ "$n" = 25 ] || fail "-w - -c 25 | tshark -r -: $n frames"
	"$CAP" "${XARGS[@]}" --quiet -i "pcap:$IN?speed=max" -w "$f" -s 60 2>/dev/null
	[ "$(tshark -r "$f" -T fields -e frame.cap_len 2>/dev/null | sort -un | tail -1)" = 60 ] ||
		fail "-s 60: frames longer than 60 bytes kept"
	[ "$(tshark -r "$f" -T fields -e frame.len 2>/dev/null | sort -un | tail -1)" -gt 60 ] ||
		fail "-s 60: wire lengths lost"
	echo "ok: two interfaces, -w - | tshark -r -, -c, -s"
}

case_filter() {
	local f a b n
	while IFS= read -r f; do
		"$CAP" --quiet -i "pcap:$IN?speed=max" -w "$TMP/w.pcap" -F pcap "$f" 2>"$TMP/err" ||
			{ fail "'$f': weir-cap exit $?: $(cat "$TMP/err")"; continue; }
		tcpdump -r "$IN" -w - "$f" 2>/dev/null >"$TMP/t.pcap"
		a=$(hexdump "$TMP/w.pcap" | md5sum)
		b=$(hexdump "$TMP/t.pcap" | md5sum)
		n=$(nframes "$TMP/t.pcap")
		[ "$a" = "$b" ] || fail "'$f': weir-cap $(nframes "$TMP/w.pcap") frames, tcpdump $n, or other bytes"
		[ "$n" -gt 0 ] && [ "$n" -lt 400 ] || fail "'$f': tcpdump selects $n of 400 (not a test)"
		echo "ok: '$f': $n frames, as tcpdump"
	done <<'EOF'
udp port 53
host 10.0.0.1
udp port 53 and host 10.0.0.1
vlan
vlan 100 and udp port 53
arp
ip6
tcp[tcpflags] & tcp-syn != 0
tcp and not tcp[tcpflags] & tcp-syn != 0
icmp
not ip
greater 200
ether dst ff:ff:ff:ff:ff:ff
src net 192.168.0.0/16
EOF
}

# file_times FILE: "first last" frame epoch seconds (integer part).
file_times() {
	tshark -r "$1" -T fields -e frame.time_epoch 2>/dev/null | sed -n '1p;$p' |
		cut -d. -f1 | tr '\n' ' '
}

case_rotate() {
	local f n total
	# -C 1: 40 passes of 400 frames (about 2.7 MB) in files of at most 1 MB.
	mkdir "$TMP/c"
	"$CAP" "${XARGS[@]}" --quiet -i "pcap:$IN?speed=max&loop=40" -w "$TMP/c/x.pcapng" -C 1 2>"$TMP/err" ||
		fail "-C: exit $?: $(cat "$TMP/err")"
	total=0
	for f in "$TMP"/c/x_*.pcapng; do
		[ "$(stat -c %s "$f")" -le 1000000 ] || fail "-C 1: $f is $(stat -c %s "$f") bytes"
		total=$((total + $(nframes "$f")))
	done
	n=$(ls "$TMP"/c | wc -l)
	[ "$n" = 3 ] || fail "-C 1: $n files, want 3: $(ls "$TMP/c")"
	[ "$total" = 16000 ] || fail "-C 1: $total frames in all, want 16000"
	ls "$TMP/c" | grep -qE '^x_00001_[0-9]{14}\.pcapng$' || fail "-C: names: $(ls "$TMP/c")"
	echo "ok: -C 1: $n files, $total frames, each <= 1000000 bytes"
	# -G 1: 2.4 s of frames at 1 kpps, a file per wall-clock second.
	mkdir "$TMP/g"
	"$CAP" "${XARGS[@]}" --quiet -i "pcap:$IN?pps=1000&loop=6" -w "$TMP/g/y.pcap" -F pcap -G 1 2>"$TMP/err" ||
		fail "-G: exit $?"
	total=0
	for f in "$TMP"/g/y_*.pcap; do
		local stamp start t
		stamp=$(basename "$f" | sed -E 's/^y_[0-9]{5}_([0-9]{14})\.pcap$/\1/')
		start=$(date -u -d "${stamp:0:8} ${stamp:8:2}:${stamp:10:2}:${stamp:12:2}" +%s)
		n=$(nframes "$f")
		total=$((total + n))
		[ "$n" = 0 ] && continue
		for t in $(file_times "$f"); do
			[ "$t" = "$start" ] || fail "-G 1: $f holds a frame of second $t"
		done
	done
	[ "$total" = 2400 ] || fail "-G 1: $total frames in all, want 2400"
	[ "$(ls "$TMP/g" | wc -l)" -ge 3 ] || fail "-G 1: only $(ls "$TMP/g" | wc -l) files"
	echo "ok: -G 1: $(ls "$TMP/g" | wc -l) files at second boundaries, $total frames"
	# -W 2: the same with only the last two files kept.
	mkdir "$TMP/w"
	"$CAP" "${XARGS[@]}" --quiet -i "pcap:$IN?pps=1000&loop=6" -w "$TMP/w/z.pcapng" -G 1 -W 2 2>/dev/null
	n=$(ls "$TMP/w" | wc -l)
	[ "$n" = 2 ] || fail "-W 2: $n files left: $(ls "$TMP/w")"
	ls "$TMP/w" | grep -q "_00001_" && fail "-W 2: the first file is still there"
	echo "ok: -W 2: $(ls "$TMP/w" | tr '\n' ' ')"
	# SIGHUP: a new file at once, nothing lost.
	mkdir "$TMP/h"
	"$CAP" "${XARGS[@]}" --quiet -i "pcap:$IN?pps=1000&loop=3" -w "$TMP/h/h.pcapng" 2>/dev/null &
	local pid=$!
	sleep 0.5
	kill -HUP $pid
	sleep 0.3
	kill -HUP $pid
	wait $pid || fail "SIGHUP: exit $?"
	n=$(ls "$TMP/h" | wc -l)
	total=0
	for f in "$TMP"/h/*; do total=$((total + $(nframes "$f"))); done
	[ "$n" = 3 ] || fail "SIGHUP twice: $n files: $(ls "$TMP/h")"
	[ "$total" = 1200 ] || fail "SIGHUP: $total frames in all, want 1200"
	echo "ok: SIGHUP twice: $(ls "$TMP/h" | tr '\n' ' '), $total frames"
}

case_signal() {
	local sig f n said
	for sig in INT TERM; do
		f=$TMP/s.pcapng
		"$CAP" "${XARGS[@]}" --quiet -i "pcap:$IN?pps=5000&loop=100" -w "$f" 2>"$TMP/err" &
		local pid=$!
		sleep 1
		kill -$sig $pid
		wait $pid || fail "SIG$sig: exit $?"
		said=$(sed -n 's/^\([0-9]*\) captured.*/\1/p' "$TMP/err")
		n=$(nframes "$f")
		tshark -r "$f" >/dev/null 2>"$TMP/ts" || fail "SIG$sig: tshark: $(cat "$TMP/ts")"
		isbs "$f" >/dev/null || fail "SIG$sig: the file ends in a torn block"
		[ -n "$said" ] && [ "$said" = "$n" ] || fail "SIG$sig: reported $said captured, the file holds $n"
		[ "${n:-0}" -gt 1000 ] || fail "SIG$sig: only $n frames in 1 s at 5 kpps"
		echo "ok: SIG$sig: $n frames reported and in the file"
	done
}

# One stuck stop: a reader that holds the FIFO open and never reads.
stuck_twice() {
	local sig=$1 want=$2 rd pid rc t0 t1 lines sock=$TMP/cap.sock
	sleep 60 <"$TMP/fifo" &
	rd=$!
	weir_on_cleanup "kill $rd 2>/dev/null"
	"$CAP" --quiet -i null: -w - --stats-socket "$sock" >"$TMP/fifo" 2>"$TMP/err" &
	pid=$!
	weir_on_cleanup "kill -KILL $pid 2>/dev/null"
	sleep 1.5 # 64 KiB of pipe are full well before
	kill -$sig $pid
	sleep 1.5
	kill -0 $pid 2>/dev/null || fail "SIG$sig: weir-cap finished although its output blocks (test is void)"
	[ -S "$sock" ] || fail "SIG$sig: no telemetry socket while stuck"
	t0=$(date +%s%N)
	kill -$sig $pid
	for _ in $(seq 30); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	t1=$(date +%s%N)
	kill -0 $pid 2>/dev/null && fail "SIG$sig twice: weir-cap still waits 3 s later"
	kill $rd 2>/dev/null # lets a weir-cap that still waits finish
	wait $pid
	rc=$?
	wait $rd 2>/dev/null
	[ "$rc" = "$want" ] || fail "SIG$sig twice: exit $rc, not $want: $(cat "$TMP/err")"
	[ $(((t1 - t0) / 1000000)) -lt 1000 ] || fail "SIG$sig twice: took $(((t1 - t0) / 1000000)) ms to exit"
	lines=$(grep -c . "$TMP/err")
	[ "$lines" = 1 ] && grep -q "^weir-cap: SIG$sig again: exiting now" "$TMP/err" ||
		fail "SIG$sig twice: want one line saying so, got: $(cat "$TMP/err")"
	[ -e "$sock" ] && fail "SIG$sig twice: the telemetry socket was left behind"
	echo "ok: SIG$sig, stuck, SIG$sig: exit $rc after $(((t1 - t0) / 1000000)) ms: $(cat "$TMP/err")"
}

case_signal_twice() {
	local f=$TMP/fifo.pcapng pid rd n said
	mkfifo "$TMP/fifo"
	stuck_twice INT 130
	stuck_twice TERM 143
	# The same FIFO, read: one SIGINT and the capture is complete.
	cat "$TMP/fifo" >"$f" &
	rd=$!
	"$CAP" --quiet -i "pcap:$IN?pps=5000&loop=100" -w - >"$TMP/fifo" 2>"$TMP/err" &
	pid=$!
	sleep 1
	kill -INT $pid
	wait $pid || fail "SIGINT into a read FIFO: exit $?: $(cat "$TMP/err")"
	wait $rd
	said=$(sed -n 's/^\([0-9]*\) captured.*/\1/p' "$TMP/err")
	n=$(nframes "$f")
	tshark -r "$f" >/dev/null 2>"$TMP/ts" || fail "SIGINT into a FIFO: tshark: $(cat "$TMP/ts")"
	isbs "$f" >/dev/null || fail "SIGINT into a FIFO: the stream ends in a torn block"
	[ -n "$said" ] && [ "$said" = "$n" ] && [ "$n" -gt 1000 ] ||
		fail "SIGINT into a FIFO: reported $said captured, the stream holds $n"
	echo "ok: SIGINT into a read FIFO: exit 0, $n frames reported and in the stream"
}

case_full() {
	[ "$(id -u)" = 0 ] || weir_skip "full disk: mounting a tmpfs needs root"
	weir_require_cmd unshare
	local fmt n
	for fmt in pcapng pcap; do
		mkdir -p "$TMP/mnt"
		unshare -m sh -c "mount -t tmpfs -o size=256k weircapfull '$TMP/mnt' &&
			'$CAP' --quiet -i 'pcap:$IN?speed=max&loop=20' -w '$TMP/mnt/f.$fmt' -F $fmt 2>'$TMP/full.err';
			echo \$? >'$TMP/rc'; cp '$TMP/mnt/f.$fmt' '$TMP/f.$fmt'" || { fail "$fmt: tmpfs"; continue; }
		[ "$(cat "$TMP/rc")" = 2 ] || fail "$fmt: exit $(cat "$TMP/rc") (want 2)"
		[ "$(grep -c "No space left on device" "$TMP/full.err")" -ge 1 ] &&
			[ "$(grep -c "capture stopped" "$TMP/full.err")" = 1 ] ||
			fail "$fmt: the error is not said once: $(cat "$TMP/full.err")"
		grep -q "f.$fmt: write failed" "$TMP/full.err" || fail "$fmt: the message does not name the file"
		tshark -r "$TMP/f.$fmt" >/dev/null 2>"$TMP/ts.err" || fail "$fmt: tshark: $(cat "$TMP/ts.err")"
		grep -v "Running as user" "$TMP/ts.err" | grep -q . && fail "$fmt: tshark complains: $(cat "$TMP/ts.err")"
		[ "$fmt" = pcapng ] && { isbs "$TMP/f.$fmt" >/dev/null || fail "$fmt: torn block"; }
		n=$(nframes "$TMP/f.$fmt")
		[ "$n" -gt 100 ] || fail "$fmt: only $n frames kept"
		grep -q "^$n captured" "$TMP/full.err" || fail "$fmt: file holds $n, summary: $(grep captured "$TMP/full.err")"
		echo "ok: $fmt: disk full after $n frames, all reported, file valid"
	done
}

# The writer inline in the receive lcore (--writer inline, or auto when
# --cores puts both on one CPU): everything case_read checks, and the mode
# said in --json; a live capture with both on one CPU (root).
case_inline() {
	local cpu j
	XARGS=(--writer inline)
	case_read
	case_rotate
	case_signal
	cpu=$(taskset -pc $$ | sed 's/.*: *//; s/[,-].*//')
	j=$("$CAP" --json -i "pcap:$IN?speed=max" -w "$TMP/j.pcapng" --cores "$cpu,$cpu" 2>/dev/null)
	echo "$j" | grep -q '"writer":"inline"' || fail "--cores $cpu,$cpu: not inline: $j"
	j=$("$CAP" --json -i "pcap:$IN?speed=max" -w "$TMP/j.pcapng" --cores "$cpu,$cpu" \
		--writer thread 2>/dev/null)
	echo "$j" | grep -q '"writer":"thread"' || fail "--writer thread: not a thread: $j"
	"$CAP" -i "pcap:$IN?speed=max" -w "$TMP/j.pcapng" --cores "$cpu" 2>/dev/null &&
		fail "--cores with one CPU for two lcores accepted"
	j=$(taskset -c "$cpu" "$CAP" --json -i "pcap:$IN?speed=max" -w "$TMP/j.pcapng" 2>/dev/null)
	echo "$j" | grep -q '"writer":"inline"' || fail "one CPU allowed: not inline: $j"
	echo "ok: auto: inline with --cores N,N or one CPU allowed, thread when asked"
	[ "$(id -u)" = 0 ] && [ -x "$GEN" ] || { echo "ok: (live inline skipped: needs root and weir-gen)"; return; }
	XARGS=(--cores "$cpu,$cpu")
	case_live
}

case_live() {
	weir_require_root
	weir_require_veth
	[ -x "$GEN" ] || weir_skip "weir-gen not built"
	weir_topo_pair a b
	local f=$TMP/live.pcapng ifb drv=${LIVE_DRV:-afpacket}
	ifb=$(weir_if b a)
	weir_nsexec b "$CAP" "${XARGS[@]}" --quiet -i "$drv:$ifb" -w "$f" -c 20000 udp 2>"$TMP/err" &
	local pid=$!
	sleep 0.5
	weir_nsexec a "$GEN" --quiet -p "afpacket:$(weir_if a b)" -m tx -r 50kpps -n 20000 >/dev/null 2>&1 ||
		fail "weir-gen failed"
	weir_timeout 10 wait $pid 2>/dev/null || { kill $pid 2>/dev/null; fail "weir-cap did not end on -c 20000"; }
	wait $pid 2>/dev/null
	[ "$(nframes "$f")" = 20000 ] || fail "live: $(nframes "$f") frames in the file, want 20000: $(cat "$TMP/err")"
	monotonic "$f" || fail "live: timestamps"
	[ "$(tshark -r "$f" -Y 'udp.dstport == 9' 2>/dev/null | wc -l)" = 20000 ] || fail "live: not weir-gen's frames"
	echo "ok: live: 20000 frames from weir-gen over afpacket, captured by $drv: $(head -1 "$TMP/err")"
}

# A running weir-fwd between two namespaces, unchanged: weir-cap mirrors
# what port 0 receives and port 1 sends through the app's stats socket
# while weir-gen's frames pass; both files' counts are what weir-fwd
# forwarded, no drops reported; after weir-cap leaves, the tap is gone.
case_mirror() {
	weir_require_root
	weir_require_veth
	[ -x "$GEN" ] && [ -x "$BUILD/apps/weir-fwd" ] || weir_skip "weir-gen/weir-fwd not built"
	weir_topo_line -n gen fwd sink
	local f=$TMP/mirror.pcapng sock=$TMP/fwd.sock n=20000 fpid cpid fwd_tx
	weir_bg fwd "$BUILD/apps/weir-fwd" --quiet -p "afpacket:$(weir_if fwd gen)" \
		-p "afpacket:$(weir_if fwd sink)" --stats-socket "$sock" >"$TMP/fwd.out" 2>&1
	fpid=$WEIR_BG_PID
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	weir_bg fwd "$CAP" --quiet -i "app:$sock?port=0&dir=rx" -i "app:$sock?port=1&dir=tx" \
		-w "$f" -c $((2 * n)) udp 2>"$TMP/err"
	cpid=$WEIR_BG_PID
	sleep 0.5
	weir_nsexec gen "$GEN" --quiet -p "afpacket:$(weir_if gen fwd)" -m tx -r 50kpps -n $n \
		>/dev/null 2>&1 || fail "weir-gen failed"
	weir_run_to 10 tail --pid=$cpid -f /dev/null || { kill $cpid; fail "weir-cap did not end on -c"; }
	wait $cpid || fail "weir-cap exit $?: $(cat "$TMP/err")"
	weir_run_to 5 "$BUILD/apps/weir-stat" -x help "$sock" >"$TMP/help" 2>&1
	# The sessions ended with weir-cap's connection: port 0 is free again.
	weir_run_to 5 "$BUILD/apps/weir-stat" -x "capture port=0" "$sock" >"$TMP/again" 2>&1
	weir_run_to 5 "$BUILD/apps/weir-stat" -x "capture port=7" "$sock" >"$TMP/bad" 2>&1
	kill -INT $fpid
	wait $fpid
	fwd_tx=$(sed -n 's/.*port 1 .*| tx \([0-9]*\) .*/\1/p' "$TMP/fwd.out")
	[ "$fwd_tx" = $n ] || fail "weir-fwd sent $fwd_tx on port 1, want $n: $(cat "$TMP/fwd.out")"
	[ "$(nframes "$f")" = $((2 * n)) ] || fail "mirror: $(nframes "$f") frames, want $((2 * n)): $(cat "$TMP/err")"
	grep -q "^$((2 * n)) captured, 0 dropped by weir" "$TMP/err" || fail "mirror: $(head -1 "$TMP/err")"
	[ "$(tshark -r "$f" -Y 'frame.interface_id == 0 && frame.p2p_dir == 1' 2>/dev/null | wc -l)" = $n ] ||
		fail "mirror: port 0 frames are not $n inbound"
	[ "$(tshark -r "$f" -Y 'frame.interface_id == 1 && frame.p2p_dir == 0' 2>/dev/null | wc -l)" = $n ] ||
		fail "mirror: port 1 frames are not $n outbound"
	grep -q capture "$TMP/help" || fail "the app does not list the capture command: $(cat "$TMP/help")"
	grep -q '"capture":true' "$TMP/again" || fail "port 0 still taken after weir-cap left: $(cat "$TMP/again")"
	grep -q 'no port 7' "$TMP/bad" || fail "capture port=7: $(cat "$TMP/bad")"
	echo "ok: mirror: weir-fwd forwarded $fwd_tx; the file holds $n received on port 0 and $n sent on port 1, none dropped"
}

# No root: a weir-gen sending to a null: port for 2 s, captured through
# its stats socket; weir-cap ends by itself when the app exits, and the
# file holds what it reported, all outbound, at the generator's rate.
case_mirror_gen() {
	[ -x "$GEN" ] || weir_skip "weir-gen not built"
	local f=$TMP/gen.pcapng sock=$TMP/gen.sock gpid n said
	"$GEN" --quiet -p null: -m tx -r 10kpps -t 2s --stats-socket "$sock" >/dev/null 2>&1 &
	gpid=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	weir_run_to 15 "$CAP" --quiet -i "app:$sock?dir=tx" -w "$f" 2>"$TMP/err" ||
		fail "weir-cap exit $? (it must end when the app does): $(cat "$TMP/err")"
	wait $gpid
	n=$(nframes "$f")
	said=$(sed -n 's/^\([0-9]*\) captured.*/\1/p' "$TMP/err")
	[ "$n" = "$said" ] || fail "mirror_gen: reported $said captured, the file holds $n"
	[ "${n:-0}" -gt 5000 ] && [ "$n" -le 20000 ] || fail "mirror_gen: $n frames in ~1.5 s at 10 kpps"
	[ "$(tshark -r "$f" -Y 'frame.p2p_dir == 0 && udp' 2>/dev/null | wc -l)" = "$n" ] ||
		fail "mirror_gen: not all outbound UDP"
	echo "ok: mirror_gen: $n frames from a running weir-gen; weir-cap ended with it"
}

case "$CASE" in
read) case_read ;;
filter) case_filter ;;
rotate) case_rotate ;;
signal) case_signal ;;
signal_twice) case_signal_twice ;;
full) case_full ;;
live) case_live ;;
live_xdp) LIVE_DRV=afxdp case_live ;;
inline) case_inline ;;
mirror) case_mirror ;;
mirror_gen) case_mirror_gen ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
[ "$FAILS" = 0 ] || { echo "FAIL: $FAILS check(s)"; exit 1; }
echo "PASS: cap $CASE"
