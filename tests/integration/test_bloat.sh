#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# weir-bloat end to end, kept short (~25 s): one fq_codel run through
# weir-fwd (2 s idle, 6 s loaded, 2 s idle) whose report must parse and make
# sense (all three phases sampled, idle RTT = the emulated base RTT, both
# directions carried load, the link utilisation and goodput ceiling from
# weir-fwd's telemetry are there and consistent, the probe pcap reads
# back); then bad input
# (unknown option, impossible rate, a port that fails to open) must give a
# clear message and a non-zero exit; an --out that is someone else's, a
# symlink or world-writable is refused, and symlinks planted where results
# go are replaced, not followed; and Ctrl-C in the loaded phase must
# remove the namespaces and still leave a report of what ran.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/netns.sh"

weir_require_root
weir_require_cmd iperf3 ping tcpdump tshark python3 ethtool taskset tc
# No weir_timeout: every step below is bounded (weir-bloat bounds its phases
# and children); meson's timeout is the backstop.

build=${WEIR_BUILD:-$here/../../build}
bloat=$build/apps/weir-bloat
fwd=$build/apps/weir-fwd
[ -x "$bloat" ] || { echo "FAIL: $bloat not built"; exit 1; }
[ -x "$fwd" ] || { echo "FAIL: $fwd not built"; exit 1; }
if "$fwd" -p null: -p null: --egress "fifo" -t 0.1s --quiet 2>&1 | grep -q "has no scheduler"; then
	weir_skip "weir-fwd in $build was built without the scheduler (qdisc/)"
fi

tmp=$(mktemp -d /tmp/weir-test-bloat.XXXXXX)
weir_on_cleanup "rm -rf '$tmp'"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# Names of the namespaces a weir-bloat with this PID makes (wb-<pid>-<token>-<run>-<role>).
leftover_ns() { ip netns list | awk '{print $1}' | grep -E "^wb-$1-[0-9a-f]{6}-[0-9]+-[cdrs]$" || true; }

# --- 1. a short fq_codel run, end to end ------------------------------------
"$bloat" --weir-fwd "$fwd" --sched fq_codel --rate 100mbit --delay 20ms \
	--idle 2s --load 6s --flows 2 --out "$tmp/run" --pcap "$tmp/probes.pcap" \
	--pcap-count 200 --tcp-trace >"$tmp/run.out" 2>&1 &
pid=$!
wait $pid
rc=$?
cat "$tmp/run.out"
[ "$rc" -eq 0 ] || fail "weir-bloat exited $rc"
[ -z "$(leftover_ns $pid)" ] || fail "namespaces left: $(leftover_ns $pid)"
python3 - "$tmp/run" <<'EOF' || fails=$((fails + 1))
import csv, json, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
j = json.load(open(f"{d}/report.json"))
bad = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        bad.append(what)
r = j["runs"][0]
s = r["summary"]
check(len(j["runs"]) == 1 and r["scheduler"] == "fq_codel" and r["complete"], "one complete fq_codel run")
rows = list(csv.DictReader(open(f"{d}/samples.csv")))
check(len(rows) == len(j["samples"]) > 0, f"samples.csv has every sample ({len(rows)} rows)")
for kind in ("icmp_rtt_ms", "udp_rtt_ms"):
    for ph in ("idle1", "loaded", "idle2"):
        n = sum(1 for x in rows if x["kind"] == kind and x["phase"] == ph and x["value"])
        check(n >= 20, f"{kind} samples in {ph}: {n}")
i = s["icmp_rtt_ms"]
# 2 x 20 ms emulated delay: the idle RTT is the base RTT, not the veth's 0.05 ms.
check(i["idle_p50"] is not None and 39.5 <= i["idle_p50"] <= 50, f"idle RTT {i['idle_p50']} ms ~ 40 ms base RTT")
check(i["loaded_p50"] is not None and i["loaded_p50"] >= i["idle_p50"] - 1, f"loaded p50 {i['loaded_p50']} >= idle")
g = s["goodput"]
check(len(g["per_flow"]) == 4, f"4 flows measured ({len(g['per_flow'])})")
for dr in ("up", "down"):
    v = g[f"{dr}_mbps"]
    check(v is not None and 30 <= v <= 100, f"goodput {dr} {v} Mbit/s (30..100 on a 100 Mbit/s link)")
check(g["jain_all"] is not None and 0.25 <= g["jain_all"] <= 1.0, f"Jain's index {g['jain_all']}")
# Latency under load stays near the base RTT with fq_codel. The median, not
# the tail: on a shared 2-core machine a descheduled forwarder shows up in
# p99, while a FIFO's standing queue moves the median (70-300 ms here). The
# tight tail claim (p99 <= idle + 10 ms) is measured by make demo / README.
check(i["loaded_p50"] is not None and i["loaded_p50"] <= i["idle_p50"] + 20,
      f"fq_codel loaded p50 {i['loaded_p50']} ms <= idle + 20 ms (p99 {i['loaded_p99']})")
check("drops" in r["qdisc"], f"weir-fwd's scheduler stats read (drops {r['qdisc'].get('drops')})")
# Link utilisation from weir-fwd's --stats-socket telemetry: both directions
# measured, figures in range (no threshold near 90%: under ASan or on a busy
# machine the forwarder may not fill the link; make demo measures that).
lk = s.get("link", {})
for dr in ("up", "down"):
    x = lk.get(dr) or {}
    u, c, ack = x.get("util_pct"), x.get("ceiling_pct"), x.get("ack_share_pct")
    check(isinstance(u, float) and 30 <= u <= 105 and x.get("tx_packets", 0) > 1000,
          f"link {dr}: utilisation {u}% over {x.get('seconds')} s ({x.get('tx_packets')} frames)")
    check(isinstance(c, float) and 85 <= c <= 95.7 and 0 <= ack <= 10,
          f"link {dr}: goodput ceiling {c}% (ACK share {ack}%)")
    gc = g.get(f"{dr}_pct_of_ceiling")
    # goodput cannot beat what the frames carried: payload <= utilisation
    check(gc is not None and isinstance(u, float) and g[f"{dr}_pct"] <= u * 1.02,
          f"goodput {dr} {g[f'{dr}_pct']}% of the rate <= link {u}%; {gc}% of the ceiling")
    # The idle link time, split by when and whether packets were queued,
    # adds up to what the utilisation misses.
    lp = x.get("lost_pts") or {}
    check(len(lp) == 4 and isinstance(u, float) and abs(sum(lp.values()) - max(100 - u, 0)) < 1.0,
          f"link {dr}: idle time split {lp} sums to 100 - {u}")
n = sum(1 for x in rows if x["kind"] == "link_mbps" and x["value"])
check(n >= 20, f"link_mbps samples in samples.csv: {n}")
# The AQM's timeline (drops and marks per sample, backlog) from the same
# telemetry, and with --tcp-trace the senders' windows from ss: per
# direction, drops and marks per sample and the windows of 2 flows seen;
# both directions' per-sample drops add up to no more than the run's total
# (the samples span only the load).
aqm = 0
for dr in ("up", "down"):
    drops = [float(x["value"]) for x in rows if x["kind"] == "drops_aqm" and x["flow"] == dr]
    marks = [float(x["value"]) for x in rows if x["kind"] == "ecn_marks" and x["flow"] == dr]
    check(len(drops) >= 20 and len(marks) == len(drops) and min(drops + marks) >= 0,
          f"{dr}: drops_aqm/ecn_marks per sample ({len(drops)} samples, {sum(drops):g} drops)")
    aqm += sum(drops) + sum(marks)
    cw = [float(x["value"]) for x in rows if x["kind"] == "cwnd_pkts" and x["flow"] == dr]
    check(len(cw) >= 20 and max(cw) >= 20, f"{dr}: senders' summed cwnd sampled ({len(cw)}, max {max(cw or [0]):g} pkts)")
check(aqm <= r["qdisc"]["drops_aqm"] + r["qdisc"]["marks"],
      f"sampled AQM drops+marks {aqm:g} within the run's total ({r['qdisc']['drops_aqm']} + {r['qdisc']['marks']})")
check(sum(1 for v in j["verdicts"] if v.startswith("fq_codel check ")) == 3,
      "three fq_codel verdict lines (latency, utilisation, goodput/ceiling)")
ET.parse(f"{d}/latency.svg")
check(True, "latency.svg is well-formed XML")
sys.exit(1 if bad else 0)
EOF
n=$(tshark -r "$tmp/probes.pcap" -Y "icmp or udp.port == 7777" 2>/dev/null | wc -l)
[ "$n" -ge 50 ] && ok "tshark reads $n probe packets from the pcap" || fail "pcap has $n probe packets"

# --- 2. bad input ------------------------------------------------------------
expect_fail() {   # expect_fail RC PATTERN ARGS...
	local want=$1 pat=$2 out rc
	shift 2
	out=$("$bloat" --weir-fwd "$fwd" "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -q -- "$pat" <<<"$out"; then
		ok "'$*' -> exit $rc: $(grep -m1 -- "$pat" <<<"$out")"
	else
		fail "'$*' -> exit $rc (want $want and '$pat'): $out"
	fi
}
expect_fail 2 "unrecognized arguments: --frobnicate" --frobnicate
expect_fail 2 "impossible bottleneck rate" --rate 0
expect_fail 2 "impossible bottleneck rate" --rate 400gbit
expect_fail 2 "unknown scheduler 'fifo-medium'" --sched fifo-medium
expect_fail 2 "only fq_codel's own words" --fq-codel-opts "ecn / fifo"
# A port that fails to open: weir-fwd's own message, exit 1, nothing left.
"$bloat" --weir-fwd "$fwd" --sched fq_codel --port-args nosuchkey=1 --out "$tmp/bad" \
	>"$tmp/bad.out" 2>&1 &
pid=$!
wait $pid
rc=$?
if [ "$rc" -eq 1 ] && grep -q "unknown key 'nosuchkey'" "$tmp/bad.out"; then
	ok "bad port -> exit 1: $(grep -m1 "unknown key" "$tmp/bad.out")"
else
	fail "bad port -> exit $rc: $(cat "$tmp/bad.out")"
fi
[ -z "$(leftover_ns $pid)" ] && ok "no namespace left after a port failure" || fail "namespaces left: $(leftover_ns $pid)"
[ -f "$tmp/bad/report.json" ] && ok "a failed run still writes its report" || fail "no report after a port failure"

# --- 2b. where a root program may write --------------------------------------
# Bug: result files were opened following symlinks and an --out owned by
# someone else was accepted, so root could be made to overwrite a chosen file.
victim=$tmp/victim
echo "precious" >"$victim"
mkdir -m 0755 "$tmp/foreign"
chown nobody "$tmp/foreign"
expect_fail 1 "owned by uid $(id -u nobody), not by you" --sched fq_codel --out "$tmp/foreign"
[ -z "$(ls -A "$tmp/foreign")" ] && ok "nothing written into a directory owned by nobody" ||
	fail "weir-bloat wrote into $tmp/foreign: $(ls -A "$tmp/foreign")"
ln -s "$tmp/foreign" "$tmp/outlink"
expect_fail 1 "is a symbolic link" --sched fq_codel --out "$tmp/outlink"
mkdir -m 0777 "$tmp/open"
expect_fail 1 "writable by everyone" --sched fq_codel --out "$tmp/open"
# Planted links where the report goes (our own --out, from a former run, or
# a process that could write there): replaced, never followed.
mkdir "$tmp/sym" "$tmp/elsewhere"
for f in report.json summary.txt samples.csv latency.svg; do ln -s "$victim" "$tmp/sym/$f"; done
"$bloat" --weir-fwd "$fwd" --sched fq_codel --port-args nosuchkey=1 --out "$tmp/sym" \
	--pcap "$tmp/sym/p.pcap" >"$tmp/sym.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && [ -f "$tmp/sym/report.json" ] && [ ! -L "$tmp/sym/report.json" ] &&
	ok "planted report.json symlink replaced by a file (exit $rc)" ||
	fail "planted symlinks: exit $rc, $(ls -l "$tmp/sym"): $(cat "$tmp/sym.out")"
[ "$(cat "$victim")" = precious ] && ok "the symlinks' target is untouched" ||
	fail "regression: weir-bloat wrote through a symlink into $victim"
[ "$(stat -c %a "$tmp/sym/report.json")" = 600 ] && ok "report files are owner-only" ||
	fail "report.json has mode $(stat -c %a "$tmp/sym/report.json")"
mkdir "$tmp/sym2"
ln -s "$tmp/elsewhere" "$tmp/sym2/0-fq_codel"
expect_fail 1 "0-fq_codel: is a symbolic link" --sched fq_codel --out "$tmp/sym2"
[ -z "$(ls -A "$tmp/elsewhere")" ] && ok "nothing written through a run-directory symlink" ||
	fail "written through $tmp/sym2/0-fq_codel: $(ls -A "$tmp/elsewhere")"

# --- 3. Ctrl-C in the loaded phase ---------------------------------------------
"$bloat" --weir-fwd "$fwd" --sched fifo-long,fq_codel --idle 1s --load 6s --flows 2 \
	--out "$tmp/int" >"$tmp/int.out" 2>&1 &
pid=$!
sleep 4
# Bug: a second Ctrl-C during teardown left namespaces behind. Three, the
# later two while children are being stopped.
kill -INT "$pid"
sleep 0.05
kill -INT "$pid" 2>/dev/null
sleep 0.1
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
cat "$tmp/int.out"
[ "$rc" -eq 130 ] && ok "Ctrl-C -> exit 130" || fail "Ctrl-C -> exit $rc"
grep -q "SIGINT: finishing teardown first" "$tmp/int.out" &&
	ok "later Ctrl-C came during teardown and were deferred"
[ -z "$(leftover_ns $pid)" ] && ok "no namespace left after three Ctrl-C" ||
	fail "regression: namespaces left after a second Ctrl-C: $(leftover_ns $pid)"
python3 - "$tmp/int" <<'EOF' || fail "report after Ctrl-C"
import json, sys
j = json.load(open(f"{sys.argv[1]}/report.json"))
runs = j["runs"]
assert len(runs) == 1 and not runs[0]["complete"] and "interrupted" in runs[0]["notes"], runs
n = sum(1 for x in j["samples"] if x["phase"] == "loaded" and x["kind"] == "icmp_rtt_ms")
assert n > 10, f"only {n} loaded samples kept"
print(f"ok: report after Ctrl-C keeps the interrupted run ({len(j['samples'])} samples, {n} loaded ICMP)")
EOF

echo "test_bloat: $fails failure(s)"
[ "$fails" -eq 0 ]
