#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# weir's virtio: port against DPDK's vhost-user backend, which nobody here
# wrote: dpdk-testpmd --no-huge with net_vhost0 in io mode (every frame
# sent back as it came) and macswap mode (MACs swapped). virtio_tool
# (beside this script) sends frames of many sizes, one buffer each or as
# chains of 300-byte segments, with mergeable RX buffers on and off, and
# checks that each comes back once, byte for byte, and that no pool buffer
# is out after the port closes.
#
#   test_virtio.sh VIRTIO_TOOL loop     the matrix above, split and packed
#                                       rings, 1 and 4 queue pairs, and
#                                       interrupt mode (wait_fd woken),
#                                       partial checksums finished by DPDK,
#                                       TCP GSO super-frames (tso=1) taken
#                                       whole and sent back exact
#   test_virtio.sh VIRTIO_TOOL server   weir listens (server=1), testpmd
#                                       connects as a client
#   test_virtio.sh VIRTIO_TOOL reconnect
#                                       testpmd is stopped and started again
#                                       under a running port (reconnect=1):
#                                       frames flow again, nothing comes
#                                       back damaged, no buffer is lost
#   test_virtio.sh VIRTIO_TOOL ping     weir-fwd between an afpacket port
#                                       (a veth to a Linux namespace) and a
#                                       virtio port to testpmd in icmpecho
#                                       mode: Linux's ping (ARP, ICMP)
#                                       answered by DPDK through weir
#   test_virtio.sh VIRTIO_TOOL afxdp    weir-gen -> virtio -> testpmd (io,
#                                       net_vhost0 + net_af_xdp0 on a veth)
#                                       -> a Linux namespace counts them
#   test_virtio.sh VIRTIO_TOOL hostile VHOST_EVIL
#                                       a backend of weir's own breaks the
#                                       protocol or the rings on purpose
#                                       (no features, wrong or no replies,
#                                       garbage used ids, index jumps, bad
#                                       lengths, double completions, a
#                                       close mid-run, fewer queues than
#                                       asked for): each refused with
#                                       its message, the port dead, no
#                                       buffer out after close (no DPDK)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
TOOL=${1:?usage: test_virtio.sh VIRTIO_TOOL CASE}
CASE=${2:?usage: test_virtio.sh VIRTIO_TOOL CASE}
[ -x "$TOOL" ] || weir_skip "$TOOL not built"
if [ "$CASE" != hostile ]; then
	weir_require_cmd dpdk-testpmd
	weir_require_root # testpmd's runtime directory is /var/run/dpdk
fi
weir_timeout 55
FAILS=0
TMP=$(mktemp -d /tmp/weir-test-virtio.XXXXXX)
SOCK=$TMP/vhost.sock
TP_PID=
TP_VDEV_EXTRA= # more net_vhost0 devargs (",tso=1")
weir_on_cleanup "[ -z \"\$TP_PID\" ] || weir_kill \$TP_PID; rm -rf $TMP /var/run/dpdk/weirvt$$"

fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}

# testpmd_start MODE [client] [QUEUES]: net_vhost on $SOCK in forwarding
# mode MODE; waits for the socket unless it is to connect to weir's.
testpmd_start() {
	local mode="$1" client=0 i nq=${3:-1}
	[ "${2:-}" = client ] && client=1
	rm -f "$SOCK"
	# --stats-period keeps it running without a terminal to read from.
	dpdk-testpmd --no-huge -m 512 --no-pci --file-prefix "weirvt$$" -l 0,1 \
		--vdev "net_vhost0,iface=$SOCK,client=$client,queues=$nq$TP_VDEV_EXTRA" -- --auto-start \
		--forward-mode="$mode" --total-num-mbufs 16384 --stats-period 60 \
		--rxq="$nq" --txq="$nq" \
		>"$TMP/testpmd.log" 2>&1 </dev/null &
	TP_PID=$!
	[ $client = 1 ] && return 0
	for i in $(seq 100); do
		[ -S "$SOCK" ] && return 0
		kill -0 $TP_PID 2>/dev/null || break
		sleep 0.1
	done
	tail -5 "$TMP/testpmd.log"
	weir_skip "dpdk-testpmd did not open $SOCK (its log is above)"
}

testpmd_stop() {
	weir_kill $TP_PID
	TP_PID=
}

# run NAME ARGS...: one virtio_tool run that must pass. weir runs on CPU
# 0, testpmd's forwarding lcore polls CPU 1: a round trip that has to
# share testpmd's CPU waits for the scheduler's time slice.
run() {
	local name="$1"
	shift
	if weir_run_to 20 taskset -c 0 "$TOOL" "$@" >"$TMP/out" 2>&1; then
		echo "ok: $name: $(grep -m1 -E '^(sent|irq:|csum:|gso:)' "$TMP/out")"
	else
		fail "$name (virtio_tool $*):"
		cat "$TMP/out"
	fi
}

SMALL=60,61,64,65,127,128,129,256,500,999,1000,1400,1514,1900,1920
BIG=$SMALL,1921,2048,3000,4096,9000,9018

case "$CASE" in
loop)
	for mode in io macswap; do
		testpmd_start $mode
		run "$mode mrg_rxbuf=1 single" "virtio:$SOCK?mrg_rxbuf=1" $mode 200 $SMALL
		run "$mode mrg_rxbuf=1 chained" "virtio:$SOCK?mrg_rxbuf=1" $mode 200 $BIG chain
		run "$mode mrg_rxbuf=0 single" "virtio:$SOCK?mrg_rxbuf=0" $mode 200 $SMALL
		run "$mode mrg_rxbuf=0 chained" "virtio:$SOCK?mrg_rxbuf=0" $mode 200 $SMALL chain
		run "$mode queue_size=64" "virtio:$SOCK?queue_size=64" $mode 300 64,1514,4000 chain
		# The same over packed virtqueues.
		run "$mode packed mrg_rxbuf=1 single" "virtio:$SOCK?packed=1" $mode 200 $SMALL
		run "$mode packed mrg_rxbuf=1 chained" "virtio:$SOCK?packed=1" $mode 200 $BIG chain
		run "$mode packed mrg_rxbuf=0 chained" "virtio:$SOCK?packed=1&mrg_rxbuf=0" $mode 200 $SMALL chain
		run "$mode packed queue_size=64" "virtio:$SOCK?packed=1&queue_size=64" $mode 300 64,1514,4000 chain
		# Without VIRTIO_F_IN_ORDER (weir takes it by default).
		if [ $mode = io ]; then
			run "io in_order=0 chained" "virtio:$SOCK?in_order=0" io 200 $BIG chain
			run "io packed in_order=0 chained" "virtio:$SOCK?packed=1&in_order=0" io 200 $BIG chain
			# Without event index suppression and checksum offloads.
			run "io event_idx=0 csum=0" "virtio:$SOCK?event_idx=0&csum=0" io 200 $SMALL
			run "io packed event_idx=0 csum=0" "virtio:$SOCK?packed=1&event_idx=0&csum=0" io 200 $SMALL
		fi
		testpmd_stop
	done
	# Multiqueue: four queue pairs, frames on each come back on it.
	testpmd_start io server 4
	run "io queues=4" "virtio:$SOCK?queues=4" io 200 64,1000,3000 chain
	run "io packed queues=4" "virtio:$SOCK?queues=4&packed=1" io 200 64,1000,3000 chain
	grep -q "queue pair(s)" "$TMP/out" && grep -q "4 queue pair(s)" "$TMP/out" ||
		fail "queues=4 did not open 4 queue pairs: $(grep 'queue pair' "$TMP/out")"
	testpmd_stop
	# Frames that span RX buffers came back chained (mergeable RX).
	testpmd_start io
	run "io rx chains counted" "virtio:$SOCK" io 100 3000 chain
	grep -q "chained rx 100" "$TMP/out" || fail "3000-byte frames did not arrive as chains: $(grep '^sent' "$TMP/out")"
	# Interrupt mode: an idle queue's wait_fd is woken by testpmd.
	run "io interrupt wake-ups" "virtio:$SOCK" irq 50 64
	run "io packed interrupt wake-ups" "virtio:$SOCK?packed=1" irq 50 64
	# Partial UDP checksums go out in the virtio-net header (NEEDS_CSUM,
	# csum_start/offset) and testpmd's vhost finishes them: what comes back
	# equals the frame checksummed in software.
	run "io csum offload" "virtio:$SOCK" csum 200 300
	run "io packed csum offload" "virtio:$SOCK?packed=1" csum 200 1400
	testpmd_stop
	# TSO: with tso=1 testpmd's vhost offers HOST_TSO4; a 4000-byte TCP
	# super-frame (gso_size 1448 in the virtio-net header, a chain of
	# buffers) arrives there as one frame and comes back whole, exact.
	TP_VDEV_EXTRA=,tso=1
	testpmd_start io
	TP_VDEV_EXTRA=
	run "io gso super-frames" "virtio:$SOCK" gso 100 4000
	run "io packed gso super-frames" "virtio:$SOCK?packed=1" gso 100 9000
	testpmd_stop
	;;
server)
	# testpmd as a client retries every second. Let it start its port
	# before weir listens: a vhost device that connects during testpmd's
	# probe, before the port starts, receives but never sends (DPDK 22.11).
	testpmd_start io client
	sleep 1.5
	run "server=1, testpmd connects" "virtio:$SOCK?server=1" io 200 $SMALL
	testpmd_stop
	;;
reconnect)
	testpmd_start io
	for ring in 0 1; do
		taskset -c 0 "$TOOL" "virtio:$SOCK?reconnect=1&packed=$ring" reconnect 25 1000 \
			>"$TMP/out" 2>&1 &
		TOOL_PID=$!
		sleep 2
		T0=$(date +%s.%N)
		testpmd_stop
		sleep 0.5
		testpmd_start io
		T1=$(date +%s.%N)
		wait $TOOL_PID
		rc=$?
		if [ $rc = 0 ]; then
			echo "ok: backend restart survived (packed=$ring): $(grep '^reconnect:' "$TMP/out")"
		else
			fail "backend restart, packed=$ring (rc $rc; testpmd was away $(echo "$T1 - $T0" | bc) s):"
			cat "$TMP/out"
		fi
	done
	testpmd_stop
	;;
ping)
	BUILD=${WEIR_BUILD:-$HERE/../../build}
	FWD=$BUILD/apps/weir-fwd
	[ -x "$FWD" ] || weir_skip "weir-fwd not built at $FWD"
	weir_require_veth
	weir_require_cmd ping
	weir_topo_pair -n a dut || exit 1
	weir_nsexec a ip addr add 10.77.0.1/24 dev "$(weir_if a dut)"
	testpmd_start icmpecho
	# afxdp: the shared (memfd) pool is the UMEM too, so a frame goes
	# from the veth to the backend without a copy in weir.
	for drv in afpacket afxdp; do
		weir_nsexec a ip neigh flush dev "$(weir_if a dut)"
		weir_bg dut "$FWD" -p "$drv:$(weir_if dut a)" -p "virtio:$SOCK" --mode io -c 0 \
			--duration 20s >"$TMP/fwd.log" 2>&1
		FWD_PID=$WEIR_BG_PID
		sleep 1
		if weir_nsexec a ping -c 5 -i 0.2 -W 2 10.77.0.2 >"$TMP/ping" 2>&1; then
			echo "ok: ping through weir-fwd ($drv <-> virtio) to testpmd: $(grep -o '[0-9]* received' "$TMP/ping"), $(grep -o 'rtt.*' "$TMP/ping")"
		else
			fail "ping 10.77.0.2 (testpmd icmpecho behind weir-fwd $drv <-> virtio):"
			cat "$TMP/ping" "$TMP/fwd.log"
		fi
		weir_nsexec a ip neigh show 10.77.0.2 | grep -qi "56:48:4f:53:54:00" ||
			fail "$drv: ARP for 10.77.0.2 was not answered by testpmd's port: $(weir_nsexec a ip neigh show)"
		kill -INT "$FWD_PID" 2>/dev/null
		wait "$FWD_PID"
		grep -qi "error\|leak" "$TMP/fwd.log" && fail "weir-fwd ($drv): $(cat "$TMP/fwd.log")"
	done
	testpmd_stop
	;;
afxdp)
	BUILD=${WEIR_BUILD:-$HERE/../../build}
	GEN=$BUILD/apps/weir-gen
	[ -x "$GEN" ] || weir_skip "weir-gen not built at $GEN"
	weir_require_veth
	weir_topo_pair -n a dut || exit 1
	IFA=$(weir_if a dut)
	rm -f "$SOCK"
	# testpmd inside dut, its second port an AF_XDP socket on dut's veth.
	weir_bg dut dpdk-testpmd --no-huge -m 512 --no-pci --file-prefix "weirvt$$" -l 0,1 \
		--vdev "net_vhost0,iface=$SOCK,client=0" --vdev "net_af_xdp0,iface=$(weir_if dut a)" \
		-- --auto-start --forward-mode=io --total-num-mbufs 16384 --stats-period 60 \
		>"$TMP/testpmd.log" 2>&1 </dev/null
	TP_PID=$WEIR_BG_PID
	for i in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
	[ -S "$SOCK" ] || { tail -5 "$TMP/testpmd.log"; weir_skip "testpmd with net_af_xdp did not start (log above)"; }
	sleep 1
	before=$(weir_nsexec a cat /sys/class/net/$IFA/statistics/rx_packets)
	weir_run_to 20 taskset -c 0 "$GEN" -p "virtio:$SOCK" -m tx -r 20kpps -n 2000 -s 100 \
		--dst-mac "$(weir_mac a dut)" --quiet >"$TMP/gen.log" 2>&1 ||
		fail "weir-gen over virtio: $(cat "$TMP/gen.log")"
	sleep 0.5
	after=$(weir_nsexec a cat /sys/class/net/$IFA/statistics/rx_packets)
	got=$((after - before))
	if [ "$got" -ge 2000 ]; then
		echo "ok: weir-gen -> virtio -> testpmd -> AF_XDP -> Linux: $got frames arrived (2000 sent)"
	else
		fail "Linux saw $got of 2000 frames sent through virtio and testpmd's AF_XDP port"
		cat "$TMP/gen.log"
		tail -20 "$TMP/testpmd.log"
	fi
	testpmd_stop
	;;
hostile)
	EVIL=${3:?usage: test_virtio.sh VIRTIO_TOOL hostile VHOST_EVIL}
	# evil MODE WANT TOOL_ARGS...: the tool against vhost_evil in MODE must
	# end (open refused or port dead) with a message matching WANT.
	evil() {
		local m="$1" want="$2" pid i
		shift 2
		rm -f "$SOCK"
		"$EVIL" "$SOCK" "$m" 2>"$TMP/evil.err" &
		pid=$!
		for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
		weir_run_to 20 taskset -c 0 "$TOOL" "virtio:$SOCK${SPEC_EXTRA:-}" "$@" >"$TMP/out" 2>&1
		weir_kill $pid
		if ! grep -q -- "$want" "$TMP/out"; then
			fail "$m: no message matching '$want':"
			cat "$TMP/out"
		elif grep -q "pool in use after close: [1-9]" "$TMP/out"; then
			fail "$m: buffers lost: $(grep 'pool in use' "$TMP/out")"
		elif grep -q "^hostile:.*dead 0" "$TMP/out"; then
			fail "$m: the port is still alive: $(grep '^hostile:' "$TMP/out")"
		else
			echo "ok: $m: $(grep -m1 -o "$want.*" "$TMP/out")"
		fi
	}
	evil nofeatures "without VIRTIO_F_VERSION_1" hostile 10 64
	evil badreply "answers request 2 (SET_FEATURES) instead" hostile 10 64
	evil silent "no reply to GET_FEATURES within 5000 ms" hostile 10 64
	evil garbage "used id 3735928559 is out of range" hostile 100 64
	evil bigidx "used index 1000 is more than 256 entries past 0" hostile 100 64
	evil badlen "used length 1048576 for a 1932-byte buffer" hostile 100 64
	evil dup "TX used id [0-9]* is not a chain in flight" hostile 100 64
	evil close "backend closed the connection" hostile 100 64
	# A backend taking its memory by ADD_MEM_REG: it can only find the
	# rings and TX frames it completes if weir sent the regions that way.
	evil memslots "backend closed the connection" hostile 100 64
	grep -q "vhost_evil: closed the connection after" "$TMP/evil.err" ||
		fail "memslots: the backend did not complete 500 TX frames: $(cat "$TMP/evil.err")"
	# Partial checksums both ways: weir's own backend echoes each frame
	# with its header, so it comes back partial (GUEST_CSUM) and weir's
	# completion must give the bytes it computes in software.
	rm -f "$SOCK"
	"$EVIL" "$SOCK" echo 2>"$TMP/evil.err" &
	pid=$!
	for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
	if weir_run_to 20 taskset -c 0 "$TOOL" "virtio:$SOCK" csum 200 300 >"$TMP/out" 2>&1 &&
		grep -q "(200 still partial" "$TMP/out"; then
		echo "ok: echo: $(grep '^csum:' "$TMP/out")"
	else
		fail "echo: partial checksums did not come back partial and right:"
		cat "$TMP/out" "$TMP/evil.err"
	fi
	weir_kill $pid
	SPEC_EXTRA="?queues=4" evil fewqueues "queues=4 but the backend has 2 queue pairs" hostile 10 64
	;;
*)
	echo "unknown case $CASE"
	exit 2
	;;
esac
[ $FAILS = 0 ] && echo "PASS: virtio $CASE" || echo "FAILED: $FAILS check(s)"
[ $FAILS = 0 ]
