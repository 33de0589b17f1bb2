#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Least privilege: once its ports are open a weir app keeps only what they
# need to close and sets no_new_privs. As root on an afpacket port,
# weir-gen runs with no capability left (effective, permitted, bounding)
# and still receives; on an afxdp port it keeps CAP_NET_ADMIN,
# CAP_SYS_ADMIN and CAP_BPF (the XDP program's detach) and nothing else,
# and the program is gone after exit. As an unprivileged user (nobody,
# via setpriv) with CAP_NET_RAW alone it runs on afpacket; without it, it
# says which capability is missing. Root only (namespaces).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
GEN=$BUILD/apps/weir-gen
[ -x "$GEN" ] || weir_skip "weir-gen not built under $BUILD"
weir_require_root
weir_require_veth
weir_require_cmd setpriv
weir_timeout 90
TMP=$(mktemp -d /tmp/weir-test-privs.XXXXXX)
chmod 755 "$TMP"
[ -n "${KEEP:-}" ] || weir_on_cleanup "rm -rf $TMP"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
weir_topo_pair -n a b || exit 1
IFA=$(weir_if a b)
IFB=$(weir_if b a)

# Receives in b for a while; sends probes from a; prints the receiver's
# /proc status lines of interest into $TMP/$1.status, its output into $1.out.
run_rx() {
	local tag="$1" spec="$2"
	shift 2
	weir_bg b "$@" "$GEN" -p "$spec" -m rx -t 3s --json >"$TMP/$tag.out" 2>&1
	local pid=$WEIR_BG_PID
	sleep 1
	grep -E '^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs):' "/proc/$pid/status" >"$TMP/$tag.status" 2>/dev/null
	weir_nsexec a "$GEN" -p "afpacket:$IFA" -r 1kpps -n 500 --quiet >/dev/null 2>&1
	wait "$pid"
	echo $? >"$TMP/$tag.rc"
}
field() { awk -v k="$2:" '$1 == k {print $2}' "$TMP/$1.status"; }
probes() { python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print(json.loads(t[t.index("{"):])["rx"]["probes"])' "$TMP/$1.out" 2>/dev/null || echo 0; }

run_rx pkt "afpacket:$IFB"
[ "$(field pkt CapEff)" = 0000000000000000 ] && [ "$(field pkt CapPrm)" = 0000000000000000 ] &&
	[ "$(field pkt CapBnd)" = 0000000000000000 ] && [ "$(field pkt NoNewPrivs)" = 1 ] ||
	fail "afpacket as root: after setup $(tr '\n' ' ' <"$TMP/pkt.status")"
[ "$(cat "$TMP/pkt.rc")" = 0 ] && [ "$(probes pkt)" = 500 ] ||
	fail "afpacket as root without capabilities: exit $(cat "$TMP/pkt.rc"), $(probes pkt) of 500 probes"

if "$GEN" --help 2>&1 | grep -q afxdp || [ -e "$BUILD/pmd/libweir_pmd_afxdp.a" ]; then
	run_rx xdp "afxdp:$IFB"
	if grep -q "afxdp" "$TMP/xdp.out" && grep -qi "unknown driver" "$TMP/xdp.out"; then
		echo "SKIP (part): no afxdp driver in this build"
	else
		# CAP_NET_ADMIN 12, CAP_SYS_ADMIN 21, CAP_BPF 39
		[ "$(field xdp CapEff)" = 0000008000201000 ] && [ "$(field xdp NoNewPrivs)" = 1 ] ||
			fail "afxdp as root: after setup $(tr '\n' ' ' <"$TMP/xdp.status")"
		[ "$(cat "$TMP/xdp.rc")" = 0 ] && [ "$(probes xdp)" = 500 ] ||
			fail "afxdp: exit $(cat "$TMP/xdp.rc"), $(probes xdp) of 500 probes: $(tail -3 "$TMP/xdp.out")"
		weir_nsexec b ip link show "$IFB" | grep -q xdp &&
			fail "afxdp: the XDP program is still attached after exit"
	fi
fi

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
run_rx raw "afpacket:$IFB" "${NOBODY[@]}" --inh-caps=+net_raw --ambient-caps=+net_raw
[ "$(cat "$TMP/raw.rc")" = 0 ] && [ "$(probes raw)" = 500 ] ||
	fail "nobody with CAP_NET_RAW: exit $(cat "$TMP/raw.rc"), $(probes raw) probes: $(tail -3 "$TMP/raw.out")"
[ "$(field raw CapEff)" = 0000000000000000 ] || fail "nobody with CAP_NET_RAW kept $(field raw CapEff)"

weir_nsexec b "${NOBODY[@]}" "$GEN" -p "afpacket:$IFB" -m rx -t 1s >"$TMP/none.out" 2>&1
rc=$?
{ [ "$rc" = 2 ] && grep -q "CAP_NET_RAW" "$TMP/none.out"; } ||
	fail "nobody without capabilities: exit $rc, $(cat "$TMP/none.out")"

[ "$FAILS" = 0 ] || { echo "FAIL: $FAILS check(s)"; exit 1; }
echo "PASS: capabilities dropped after setup (afpacket: none, afxdp: the detach's three), no_new_privs; CAP_NET_RAW alone suffices for afpacket"
