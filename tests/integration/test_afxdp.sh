#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Runs one case of the afxdp driver's integration tests on fresh veth pairs:
# weir's afxdp port on node a, Linux (AF_PACKET sockets, UDP sockets, ping)
# on the other end. test_afxdp (the C helper) checks every byte and that no
# pool buffer leaked.
#   test_afxdp.sh PATH/TO/test_afxdp CASE
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/netns.sh"
bin="$1"
case_="$2"
[ -x "$bin" ] || { echo "usage: $0 path/to/test_afxdp CASE"; exit 1; }
weir_require_veth
weir_timeout 100
tmp=$(mktemp -d /tmp/weir-afxdp-XXXXXX)
weir_on_cleanup "rm -rf $tmp"
fail=0

# Starts the weir side in the background, output in $tmp/$1.log, and waits
# until it says ready (or dies).
weir_side() {
	local log="$tmp/$1.log" node="$2"
	shift 2
	weir_bg "$node" "$bin" "$@" >"$log" 2>&1
	for _ in $(seq 100); do
		grep -q '^ready' "$log" && return 0
		kill -0 "$WEIR_BG_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$log"
	echo "FAIL: weir side did not start"
	exit 1
}

# Waits for the background weir side, shows its output, records failure.
weir_wait() {
	local log="$tmp/$1.log" rc
	wait "$WEIR_BG_PID"
	rc=$?
	cat "$log"
	[ $rc = 0 ] || { echo "FAIL: $1 (exit $rc)"; fail=1; }
}

check() {
	local what="$1"
	shift
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

N=2000
case "$case_" in
rx | rx_skb)
	mode=native
	[ "$case_" = rx_skb ] && mode=skb
	weir_topo_pair -n
	A=$(weir_if a b) B=$(weir_if b a)
	weir_side rx a rx "afxdp:$A?mode=$mode&zerocopy=auto" $N 20
	grep -q "$mode mode" "$tmp/rx.log" || { echo "FAIL: the port did not report $mode mode"; fail=1; }
	weir_nsexec b "$bin" rawtx "$B" $N
	weir_wait rx
	;;
rx_2q)
	weir_topo_pair -n -q 2
	A=$(weir_if a b) B=$(weir_if b a)
	weir_side rx a rx "afxdp:$A?queues=2&mode=native" $N 20
	# A copy-mode AF_XDP socket sends on its own queue, and a veth delivers
	# on the peer's RX queue of the same number: weir on b with two queues
	# feeds both of a's (AF_PACKET would pick one queue per CPU, not per flow).
	check "weir sends on 2 queues" weir_nsexec b "$bin" tx "afxdp:$B?queues=2&mode=native" $N
	weir_wait rx
	check "both queues received" grep -Eq 'q0=[1-9][0-9]* q1=[1-9]' "$tmp/rx.log"
	;;
tx | tx_2q)
	q=1
	[ "$case_" = tx_2q ] && q=2
	weir_topo_pair -n -q $q
	A=$(weir_if a b) B=$(weir_if b a)
	weir_bg b "$bin" rawrx "$B" $N 20 >"$tmp/rawrx.log" 2>&1
	rx_pid=$WEIR_BG_PID
	for _ in $(seq 50); do grep -q ready "$tmp/rawrx.log" && break; sleep 0.1; done
	check "weir sends $N frames on $q queue(s)" weir_nsexec a "$bin" tx "afxdp:$A?queues=$q&mode=native" $N
	wait $rx_pid || fail=1
	cat "$tmp/rawrx.log"
	;;
steer)
	# weir takes UDP to port 9000; ping and UDP to 9001 stay with Linux.
	weir_topo_pair
	A=$(weir_if a b) B=$(weir_if b a)
	ipa=$(weir_ip a b)
	weir_side steer a steer "afxdp:$A?prog=weir&udp_port=9000&mode=native" 9000 50
	weir_bg a "$bin" udprx 9001 20 10 >"$tmp/udprx.log" 2>&1
	k_pid=$WEIR_BG_PID
	check "Linux still answers ping while weir owns the queue" weir_nsexec b ping -c 3 -i 0.2 -W 2 "$ipa"
	weir_nsexec b "$bin" udptx "$ipa" 9000 50
	weir_nsexec b "$bin" udptx "$ipa" 9001 20
	weir_wait steer
	wait $k_pid || fail=1
	cat "$tmp/udprx.log"
	;;
fwd)
	# b -> [a: weir forwards between its two ports, one pool] -> c
	weir_topo_line -n b a c
	Ain=$(weir_if a b) Aout=$(weir_if a c) B=$(weir_if b a) C=$(weir_if c a)
	weir_bg c "$bin" rawrx "$C" $N 20 >"$tmp/rawrx.log" 2>&1
	rx_pid=$WEIR_BG_PID
	for _ in $(seq 50); do grep -q ready "$tmp/rawrx.log" && break; sleep 0.1; done
	weir_side fwd a fwd "afxdp:$Ain?mode=native" "afxdp:$Aout?mode=native" $N
	grep -q "UMEM shared" "$tmp/fwd.log" || { echo "FAIL: the second port did not share the UMEM"; fail=1; }
	weir_nsexec b "$bin" rawtx "$B" $N
	weir_wait fwd
	wait $rx_pid || fail=1
	cat "$tmp/rawrx.log"
	;;
multibuf)
	# Jumbo frames over XDP multi-buffer: native mode needs a frags-aware
	# program (weir's); skb mode works with any.
	weir_topo_pair -n -m 9000
	A=$(weir_if a b) B=$(weir_if b a)
	for spec in "prog=weir&mode=native" "mode=skb"; do
		# fill=2048: every buffer the 500 frames take (up to 5 each,
		# ~1350 in all) is in the fill ring before the first arrives, so a
		# receiver the scheduler holds off on a loaded machine still
		# gets them all (this case tests chains, not refill under load).
		weir_side rx a rx "afxdp:$A?$spec&multibuf=on&fill=2048" 500 20 1000 8000
		weir_nsexec b "$bin" rawtx "$B" 500 1000 8000
		# rx checks lengths against its own frame_len: same range.
		weir_wait rx
		check "$spec: jumbo frames arrived as chains" grep -Eq '[1-9][0-9]* multi-buffer' "$tmp/rx.log"
	done
	;;
idle)
	weir_topo_pair -n
	A=$(weir_if a b) B=$(weir_if b a)
	weir_side idle a idle "afxdp:$A?mode=native" 3
	sleep 3
	weir_nsexec b "$bin" rawtx "$B" 1
	weir_wait idle
	;;
errors)
	weir_topo_pair -n -q 2
	A=$(weir_if a b)
	bad() { # what, spec, expected words in the message
		local out
		out=$(weir_nsexec a env ${ENVS:-} "$bin" badopen "$2" 2>&1)
		echo "$out"
		if echo "$out" | grep -q "refused" && echo "$out" | grep -qi "$3"; then
			echo "ok: $1"
		else
			echo "FAIL: $1 (expected a message with '$3')"
			fail=1
		fi
	}
	bad "no such interface" "afxdp:nosuch0" "no such interface"
	bad "queue out of range" "afxdp:$A?start_queue=1&queues=2" "out of range"
	bad "native XDP on an interface without it (lo)" "afxdp:lo?mode=native" "native"
	bad "zerocopy=on on veth" "afxdp:$A?zerocopy=on&mode=native" "zerocopy=on cannot be had"
	bad "frame_size that is not the pool's" "afxdp:$A?frame_size=4096" "pool"
	bad "steering without weir's program" "afxdp:$A?udp_port=9000" "prog=weir"
	bad "bad mode value" "afxdp:$A?mode=fast" "native|skb|auto"
	bad "gso_rx in native mode" "afxdp:$A?mode=native&gso_rx=on" "needs mode=skb"
	bad "gso_rx with a user's program" "afxdp:$A?mode=skb&prog=/nonexistent.o" "prog=weir"
	ENVS="LIBXDP_BPFFS=/nonexistent/bpffs" bad "no bpffs" "afxdp:$A" "bpffs"
	if command -v clang >/dev/null; then
		cat >"$tmp/bad.c" <<-'EOF'
			#include <linux/bpf.h>
			#include <bpf/bpf_helpers.h>
			SEC("xdp") int bad(struct xdp_md *ctx)
			{
				/* No bounds check: the verifier must refuse. */
				return *(int *)(long)(ctx->data + 100) ? XDP_PASS : XDP_DROP;
			}
			char _license[] SEC("license") = "GPL";
		EOF
		clang -target bpf -O2 -g -I/usr/include/"$(gcc -print-multiarch)" -c "$tmp/bad.c" -o "$tmp/bad.o"
		bad "program load failure shows the verifier log" "afxdp:$A?prog=$tmp/bad.o" "verifier"
	else
		echo "skip: no clang to build a bad program"
	fi
	;;
vanish)
	weir_topo_pair -n
	A=$(weir_if a b) B=$(weir_if b a)
	weir_side vanish a vanish "afxdp:$A?mode=native"
	weir_nsexec b "$bin" rawtx "$B" 100
	sleep 0.5
	ip -n "$(weir_ns b)" link del "$B"
	weir_wait vanish
	;;
*)
	echo "unknown case $case_"
	exit 1
	;;
esac
[ $fail = 0 ] && echo "PASS: afxdp $case_"
exit $fail
