#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# weir-fwd's software GRO (--gro, on by default) between Linux hosts over
# afpacket ports: 4 Cubic flows of iperf3 TCP for 3 s, then the receiver's
# checksum errors and weir's counters. Usage: test_fwd_gro.sh CASE, one of
#   default   the hosts' veths as Linux makes them (TSO: super-frames
#             already; GRO has little to merge, must break nothing)
#   csumoff   the hosts' checksum offload off (ethtool -K tx off, which
#             turns TSO off): 1500-byte frames with real checksums, which
#             weir verifies and coalesces into super-frames
#   csumoff6  the same over IPv6
#   off       csumoff with --gro off: nothing coalesced
#   xdp       afxdp ports in native mode (mode=native: weir-fwd's default
#             on a veth is skb mode), the hosts' defaults (the XDP program turns the
#             sender's TSO off: 1500-byte frames with partial checksums);
#             the super-frames leave by the ports' GSO companion socket
#             (gso_tx, default auto), in order with the XDP ring
#   xdpoff    xdp with gso_tx=off: the egress cannot send super-frames
#             whole, so nothing is coalesced
#   xdpskb    afxdp ports as weir-fwd opens them on a veth: skb mode
#             (gso_rx auto: on): the
#             sender keeps TSO, its super-frames reach weir whole by the
#             port's packet socket (gso_rx) with their metadata and leave
#             whole by gso_tx; no reordering between the two channels
#             worth a retransmit storm (weir's drop counters are asserted)
# Passes when data flows (>= 200 Mbit/s), the receiver counts no checksum
# error (InCsumErrors), weir verified and coalesced (csumoff*) or not
# (off), weir dropped nothing it was handed, and exits cleanly.
# Retransmits are printed (the kernel's drops on a busy shared machine are
# not weir's: weir's own drop counters are what is asserted).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/netns.sh"
BUILD=${WEIR_BUILD:-$HERE/../../build}
FWD=$BUILD/apps/weir-fwd
CASE=${1:?usage: $0 default|csumoff|csumoff6|off|xdp|xdpoff|xdpskb}

weir_require_veth
weir_require_cmd iperf3 ping python3 ethtool
[ -x "$FWD" ] || weir_skip "weir-fwd not built at $FWD"
weir_timeout 50

# -o: Linux's default offloads on every veth; weir's own ends keep them
# (they take the super-frames), the hosts' ends lose tx-checksumming below.
if [ "$CASE" = csumoff6 ]; then
	weir_topo_line -o -6 -n a dut b || exit 1
	weir_nsexec a ip -6 addr add fd00:97::1/64 dev "$(weir_if a dut)" nodad
	weir_nsexec b ip -6 addr add fd00:97::2/64 dev "$(weir_if b dut)" nodad
	A=fd00:97::1 B=fd00:97::2
else
	weir_topo_line -o -n a dut b || exit 1
	weir_nsexec a ip addr add 10.97.0.1/24 dev "$(weir_if a dut)"
	weir_nsexec b ip addr add 10.97.0.2/24 dev "$(weir_if b dut)"
	A=10.97.0.1 B=10.97.0.2
fi
if [ "$CASE" != default ] && [ "${CASE#xdp}" = "$CASE" ]; then
	weir_nsexec a ethtool -K "$(weir_if a dut)" tx off >/dev/null
	weir_nsexec b ethtool -K "$(weir_if b dut)" tx off >/dev/null
fi
OUT=/tmp/weir-fwd-gro-$$.out
weir_on_cleanup "rm -f $OUT /tmp/weir-gro-$$.*"
fail() { echo "FAIL: $*"; [ -f "$OUT" ] && tail -30 "$OUT"; exit 1; }

csum_errors() { # NS -> Tcp InCsumErrors (IPv4 and IPv6 share the counter)
	weir_nsexec "$1" awk '/^Tcp:/ { if (!h++) { for (i=2;i<=NF;i++) col[$i]=i } else s += $col["InCsumErrors"] }
		END { print s+0 }' /proc/net/snmp
}

GRO=on KIND=afpacket ARGS=
[ "$CASE" = off ] && GRO=off
[ "${CASE#xdp}" != "$CASE" ] && KIND=afxdp
[ "$CASE" = xdp ] && ARGS="?mode=native"
[ "$CASE" = xdpoff ] && ARGS="?mode=native&gso_tx=off"
weir_bg dut "$FWD" -p "$KIND:$(weir_if dut a)$ARGS" -p "$KIND:$(weir_if dut b)$ARGS" --mode l2 \
	--gro "$GRO" --cores 1 --quiet --json >"$OUT" 2>&1
FWD_PID=$WEIR_BG_PID
ok=0
for _ in $(seq 50); do
	weir_nsexec a ping -c1 -W1 "$B" >/dev/null 2>&1 && { ok=1; break; }
	kill -0 "$FWD_PID" 2>/dev/null || fail "weir-fwd exited at start"
done
[ $ok = 1 ] || fail "no ping through weir-fwd"

weir_bg b iperf3 -s -1 -B "$B" -p 5201 >/dev/null 2>&1
sleep 0.3
weir_nsexec a timeout 30 iperf3 -c "$B" -p 5201 -t 3 -P 4 -C cubic -J >/tmp/weir-gro-$$.json 2>&1 ||
	{ cat /tmp/weir-gro-$$.json; fail "iperf3 failed"; }
read -r BPS RETR < <(python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))["end"]
print(e["sum_received"]["bits_per_second"], e["sum_sent"].get("retransmits", 0))' /tmp/weir-gro-$$.json)
echo "$KIND$ARGS, gro $GRO, hosts $CASE: $(python3 -c "print(round($BPS/1e9,2))") Gbit/s, $RETR retransmits"
python3 -c "import sys; sys.exit(0 if $BPS >= 2e8 else 1)" || fail "only $BPS bit/s through weir-fwd"

A_ERR=$(csum_errors a)
B_ERR=$(csum_errors b)
echo "InCsumErrors: a $A_ERR, b $B_ERR"
[ "$A_ERR" = 0 ] && [ "$B_ERR" = 0 ] || fail "a host counted checksum errors (a $A_ERR, b $B_ERR)"

kill -INT "$FWD_PID"
wait "$FWD_PID"
RC=$?
[ "$RC" = 0 ] || fail "weir-fwd exited with $RC after SIGINT"
python3 - "$OUT" "$CASE" <<'PY' || fail "weir-fwd's counters"
import json, sys
case = sys.argv[2]
txt = open(sys.argv[1]).read()
d = json.loads(txt[txt.index("{"):])
qs = [q for p in d["ports"] for q in p["queues"]]
tot = lambda k: sum(q[k] for q in qs)
x = [p["xstats"] for p in d["ports"]]
too_big = sum(v for p in x for k, v in p.items() if "too_big" in k)
print("weir-fwd: gro super-frames %d of %d segments, checksums verified %d (bad %d); "
      "tx drops %d, too big %d, rx missed %d" % (tot("gro_frames"), tot("gro_segments"),
      tot("gro_csum_verified"), tot("gro_csum_bad"), tot("tx_drops") + tot("fwd_tx_drops"),
      too_big, sum(p["rx_missed"] for p in d["ports"])))
assert tot("gro_csum_bad") == 0, "a good sender's segment failed verification"
assert tot("tx_drops") + tot("fwd_tx_drops") == 0 and too_big == 0, "weir dropped frames"
if case.startswith("csumoff"):
    assert tot("gro_frames") > 0 and tot("gro_segments") > 2 * tot("gro_frames"), \
        "1500-byte segments, yet nothing coalesced"
    assert tot("gro_csum_verified") > 0, "segments without checksum word merged unverified"
if case == "off":
    assert tot("gro_frames") == 0, "--gro off, yet super-frames made"
xt = lambda k: sum(p.get(k, 0) for p in x)
if case.startswith("xdp"):
    print("afxdp: super-frames by the packet socket %d (again %d, waits for the XDP ring %d), "
          "kick errors %d" % (xt("tx_gso_sent"), xt("tx_gso_again"), xt("tx_gso_waits"),
          xt("tx_kick_errors")))
    assert xt("tx_kick_errors") == 0, "a send failed"
if case == "xdp":
    assert tot("gro_frames") > 0 and xt("tx_gso_sent") == tot("gro_frames"), \
        "every super-frame GRO made must leave by the packet socket"
if case == "xdpskb":
    print("afxdp gso_rx: super-frames passed %d, short frames of their flows %d, received "
          "by the packet socket %d (no buffer %d, errors %d)" % (xt("steer_passed_big"),
          xt("steer_passed_flow"), xt("rx_gso_frames"), xt("rx_gso_nombuf"), xt("rx_gso_errors")))
    assert xt("native_mode") == 0, "mode=skb, yet attached native"
    assert xt("steer_passed_big") > 0 and xt("tx_gso_sent") > 0, \
        "the sender keeps TSO in skb mode: super-frames must come whole and leave whole"
    assert xt("rx_gso_frames") == xt("steer_passed_big") + xt("steer_passed_flow"), \
        "a frame the program passed to the packet socket was not received"
    assert xt("rx_gso_nombuf") == 0 and xt("rx_gso_errors") == 0, "gso_rx lost frames"
    assert sum(p["rx_missed"] for p in d["ports"]) == 0, "the kernel dropped frames for weir"
if case == "xdpoff":
    assert tot("gro_frames") == 0 and xt("tx_gso_sent") == 0, \
        "gso_tx=off, yet super-frames made or sent whole"
PY
echo "PASS"
