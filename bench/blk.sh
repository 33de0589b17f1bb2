#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The block path, weir-blk (on uring:) against fio's io_uring engine:
# 4 KiB random reads, same file, same CPU (taskset), same O_DIRECT,
# registered-buffer (fixed=1 / --fixedbufs, plus --registerfiles) and
# SQPOLL settings per row, weir-blk and fio alternating, RUNS times;
# medians, min-max and the ratio weir/fio of IOPS, p50/p99 latency
# (submission to completion, fio's lat) and CPU per I/O, twice: the
# submitting thread's utime+stime over the run (what fio's usr_cpu+sys_cpu
# measure; weir-blk's cpu_ns_per_io is the same), and the whole process's
# from /usr/bin/time, start-up included, which also counts the kernel
# threads working for it (io-wq workers, where a read is punted to them,
# as buffered reads on tmpfs are; the SQPOLL thread): divided by the I/Os.
#
# Without SQPOLL both wait for completions in the kernel: weir-blk's
# default (uring wait=1: submit and wait in one io_uring_enter; batch=2 with
# O_DIRECT: at most two SQEs per enter, unplugged), fio's too (one
# io_uring_enter with GETEVENTS per I/O). With SQPOLL fio never enters to
# wait: it spins on its completion queue (engines/io_uring.c getevents);
# weir-blk by default spins for spin=100 us, then sleeps.
#
#   disk-qd1, disk-qd32     a file on BLK_DIR (default /tmp), O_DIRECT:
#                           reads reach the device
#   disk-qd1-sqpoll         the kernel's polling thread on SQCPU (default 0;
#                           sq_cpu= / --sqthread_poll_cpu), the program on
#                           CPU (default 1); weir-blk's defaults
#   disk-qd1-sqpoll-sleep   weir-blk's SQPOLL as above, sleeping at once
#                           (spin=0), against fio without SQPOLL: both
#                           sleep in io_uring_enter for every completion.
#                           fio's io_uring engine cannot sleep under SQPOLL
#                           (its getevents enters the kernel only without
#                           it), so against fio's SQPOLL row it would be
#                           sleeping against spinning.
#   disk-qd1-sqpoll-spin    the same, weir-blk spinning without end (wait=0)
#   disk-qd1-sqp1cpu        program and poller both on CPU, as a single-core
#                           deployment would have them (weir-blk's spin is
#                           off there by itself: it would hold off the poller)
#   tmpfs-qd1, tmpfs-qd32   a file on /dev/shm, buffered (direct=0: older
#                           tmpfs has no O_DIRECT, and where it has, it is
#                           the same page cache): the CPU is the limit,
#                           software overhead shows. tmpfs refuses
#                           RWF_NOWAIT, so io_uring hands each read to an
#                           io-wq thread; weir-blk's inline=auto reads it in
#                           its own thread instead, so the CPU row is the
#                           process's (both threads); fio's psync engine
#                           (a pread per I/O, one in flight) runs too
#   raid5                   full-stripe sequential writes on 4 member files
#                           against raid0 over 4 others (each member written
#                           64 KiB per I/O: the members' sum), both weir-blk,
#                           one job on CPU
#
# Files are made once (real data, so reads hit allocated blocks) and
# removed on exit.
#
#   bench/blk.sh [BUILD_DIR] [SECONDS] [RUNS]
#   env: CPU, SQCPU, BLK_DIR, BLK_MB (disk file size, default 1024),
#        RAID=0 to skip the RAID5 rows, ROWS="disk-qd1 tmpfs-qd1" for some
set -uo pipefail

build=$(cd "${1:-build}" && pwd)
secs=${2:-5}
runs=${3:-3}
. "$(dirname "$0")/lib/rows.sh"
mm() { awk -v c="$1" '{print $c}' "$2" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {if (NR) printf "%s-%s", lo, hi}'; }
cpu=${CPU:-1}
sqcpu=${SQCPU:-0}
dir=${BLK_DIR:-/tmp}
mb=${BLK_MB:-1024}
wblk="$build/apps/weir-blk"

[ -x "$wblk" ] || { echo "blk.sh: $wblk not built (ninja -C $build apps/weir-blk)"; exit 1; }
for c in fio taskset python3 /usr/bin/time; do
	command -v "$c" >/dev/null || { echo "blk.sh: SKIP: $c not installed"; exit 77; }
done
tmp=$(mktemp -d "$dir/weir-blk-bench-XXXXXX")
shm=/dev/shm/weir-blk-bench-$$
trap 'rm -rf "$tmp" "$shm"' EXIT

# --- the files ---------------------------------------------------------
fstype=$(df --output=fstype "$dir" | tail -1)
disk="$tmp/disk"
echo "== blk bench: 4 KiB random reads, ${secs}s per run, $runs runs, CPU $cpu (SQPOLL thread on $sqcpu)"
echo "disk file: $disk ($mb MiB on $fstype, $(df --output=source "$dir" | tail -1))"
dd if=/dev/urandom of="$disk" bs=1M count="$mb" status=none || { echo "blk.sh: cannot write $disk"; exit 1; }
sync
disk_ok=1
if ! dd if="$disk" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null; then
	echo "blk.sh: $fstype under $dir does not do O_DIRECT: disk rows skipped (set BLK_DIR)"
	disk_ok=0
fi
case $fstype in tmpfs | overlay | ramfs)
	echo "blk.sh: $dir is $fstype, not a disk: the disk rows measure memory (set BLK_DIR)" ;;
esac
if [ "$(stat -f -c %T /dev/shm)" = tmpfs ]; then
	head -c 256M /dev/urandom >"$shm"
else
	echo "blk.sh: /dev/shm is not tmpfs: tmpfs rows skipped"
	shm=
fi

# --- one run of each: prints "iops p50_us p99_us cpu_ns_per_io proc_cpu_ns" --
weir_run() { # FILE QD DIRECT SQPOLL_CPU (-: no SQPOLL) KEYS (-: none)
	local spec="uring:$1?direct=$3&qd=$2&fixed=1"
	[ "$4" != - ] && spec+="&sqpoll=1&sq_cpu=$4"
	[ "$5" != - ] && spec+="&$5"
	/usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c "$cpu" "$wblk" -d "$spec" \
		--rw randread --bs 4k --iodepth "$2" --runtime "${secs}s" --json --quiet \
		>"$tmp/weir.json" 2>"$tmp/weir.err"
	python3 - "$tmp/weir.json" "$tmp/time" <<'EOF' || { sed 's/^/  weir: /' "$tmp/weir.err" >&2; echo "0 0 0 0 0"; }
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
ios = max(d["read"]["ios"], 1)
proc = sum(float(x) for x in open(sys.argv[2]).read().split()[-2:])
print("%.0f %.2f %.2f %.0f %.0f" % (d["iops"], d["lat_ns"]["p50"] / 1e3, d["lat_ns"]["p99"] / 1e3,
                                    d["cpu_ns_per_io"], proc * 1e9 / ios))
EOF
}
fio_run() { # FILE QD DIRECT SQPOLL_CPU (-: no SQPOLL) [ENGINE (default io_uring)]
	local sq=() eng=(--ioengine=io_uring --fixedbufs --registerfiles) qd=$2
	[ "$4" != - ] && sq=(--sqthread_poll=1 --sqthread_poll_cpu="$4")
	# A synchronous engine has one I/O in flight (fio caps it, and says
	# so on stdout, before the JSON).
	[ "${5:-io_uring}" != io_uring ] && eng=(--ioengine="$5") qd=1
	/usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c "$cpu" fio --name=blk --filename="$1" \
		"${eng[@]}" --direct="$3" --rw=randread --bs=4k --iodepth="$qd" \
		"${sq[@]}" --time_based --runtime="$secs" --cpus_allowed="$cpu" \
		--lat_percentiles=1 --output-format=json >"$tmp/fio.json" 2>"$tmp/fio.err"
	python3 - "$tmp/fio.json" "$tmp/time" <<'EOF' || { sed 's/^/  fio: /' "$tmp/fio.err" >&2; echo "0 0 0 0 0"; }
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
r = j["read"]
p = r["lat_ns"]["percentile"]
ios = max(r["total_ios"], 1)
cpu = (j["usr_cpu"] + j["sys_cpu"]) / 100 * j["job_runtime"] / 1e3
proc = sum(float(x) for x in open(sys.argv[2]).read().split()[-2:])
print("%.0f %.2f %.2f %.0f %.0f" % (r["iops"], p["50.000000"] / 1e3, p["99.000000"] / 1e3,
                                    cpu * 1e9 / ios, proc * 1e9 / ios))
EOF
}

# median (min-max) of column $1 of file $2
stat_col() {
	awk -v c="$1" '{print $c}' "$2" | sort -g |
		awk '{v[NR] = $1} END {if (NR) printf "%s (%s-%s)", v[int((NR + 1) / 2)], v[1], v[NR]; else print "n/a"}'
}
med_col() { awk -v c="$1" '{print $c}' "$2" | sort -g | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : 0}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }

# name file qd direct sqpoll-cpu weir-keys [fio's sqpoll-cpu, if not weir's]
all=()
[ "$disk_ok" = 1 ] && all+=("disk-qd1 $disk 1 1 - -" "disk-qd32 $disk 32 1 - -"
	"disk-qd1-sqpoll $disk 1 1 $sqcpu -" "disk-qd1-sqpoll-sleep $disk 1 1 $sqcpu spin=0 -"
	"disk-qd1-sqpoll-spin $disk 1 1 $sqcpu wait=0" "disk-qd1-sqp1cpu $disk 1 1 $cpu -")
[ -n "$shm" ] && all+=("tmpfs-qd1 $shm 1 0 - -" "tmpfs-qd32 $shm 32 0 - -")
rows=()
for row in "${all[@]}"; do
	[ -z "${ROWS:-}" ] || [[ " $ROWS " == *" ${row%% *} "* ]] && rows+=("$row")
done

for row in "${rows[@]}"; do
	set -- $row
	: >"$tmp/$1.w"; : >"$tmp/$1.f"; : >"$tmp/$1.p"
	for i in $(seq "$runs"); do
		w=$(weir_run "$2" "$3" "$4" "$5" "$6")
		f=$(fio_run "$2" "$3" "$4" "${7:-$5}")
		echo "$1 run $i: iops p50_us p99_us thread_cpu_ns/io process_cpu_ns/io: weir $w, fio $f"
		echo "$w" >>"$tmp/$1.w"; echo "$f" >>"$tmp/$1.f"
		# tmpfs: fio's psync engine too (one pread per I/O in fio's own
		# thread, what weir's inline=auto does; one in flight whatever
		# the iodepth), so the anchor is honest about the easy way.
		if [[ $1 == tmpfs-* ]]; then
			p=$(fio_run "$2" "$3" "$4" "$5" psync)
			echo "$1 run $i: fio psync $p"
			echo "$p" >>"$tmp/$1.p"
		fi
	done
done

echo
echo "== results: median (min-max) of $runs runs; ratio = weir/fio of the medians"
printf "%-20s %-6s %-24s %-22s %-22s %-22s %-22s\n" row "" IOPS "p50 us" "p99 us" \
	"CPU ns/IO thread" "CPU ns/IO process"
for row in "${rows[@]}"; do
	set -- $row
	for t in w f p; do
		[ -s "$tmp/$1.$t" ] || continue
		name=weir; [ $t = f ] && name=fio; [ $t = p ] && name=psync
		printf "%-20s %-6s %-24s %-22s %-22s %-22s %-22s\n" "$([ $t = w ] && echo "$1")" \
			$name "$(stat_col 1 "$tmp/$1.$t")" "$(stat_col 2 "$tmp/$1.$t")" \
			"$(stat_col 3 "$tmp/$1.$t")" "$(stat_col 4 "$tmp/$1.$t")" \
			"$(stat_col 5 "$tmp/$1.$t")"
	done
	r=()
	for c in 1 2 3 4 5; do r+=("$(ratio "$(med_col $c "$tmp/$1.w")" "$(med_col $c "$tmp/$1.f")")"); done
	printf "%-20s %-6s %-24s %-22s %-22s %-22s %-22s\n" "" ratio "${r[@]}"
	if [ -s "$tmp/$1.p" ]; then
		r=()
		for c in 1 2 3 4 5; do r+=("$(ratio "$(med_col $c "$tmp/$1.w")" "$(med_col $c "$tmp/$1.p")")"); done
		printf "%-20s %-6s %-24s %-22s %-22s %-22s %-22s\n" "" /psync "${r[@]}"
	fi
	# tmpfs: io_uring's reads are done by its io-wq threads, outside fio's
	# thread; weir's inline ones in its own. Only the process counts both.
	cc=4 cn=thread anchor="fio io_uring" what=$1
	[[ $1 == tmpfs-* ]] && cc=5 cn=process
	# Against fio without SQPOLL: weir's thread sleeps while its poller
	# spins on another CPU, so only the process's CPU counts the poller.
	[ "${7:-$5}" != "$5" ] && anchor="fio io_uring, no SQPOLL (it spins under SQPOLL)" \
		what="$1, both sleeping per I/O" cc=5 cn=process
	bench_row blk "4 KiB random read IOPS, $what" IOPS higher "$(med_col 1 "$tmp/$1.w")" \
		"$(med_col 1 "$tmp/$1.f")" "$anchor" "$(mm 1 "$tmp/$1.w")" "$(mm 1 "$tmp/$1.f")" "$runs"
	bench_row blk "4 KiB random read p50, $what" us lower "$(med_col 2 "$tmp/$1.w")" \
		"$(med_col 2 "$tmp/$1.f")" "$anchor" "$(mm 2 "$tmp/$1.w")" "$(mm 2 "$tmp/$1.f")" "$runs"
	bench_row blk "CPU per I/O ($cn), $what" ns lower "$(med_col $cc "$tmp/$1.w")" \
		"$(med_col $cc "$tmp/$1.f")" "$anchor" "$(mm $cc "$tmp/$1.w")" "$(mm $cc "$tmp/$1.f")" "$runs"
done
echo "(goals, issue 13: IOPS ratio >= 1.0, QD1 p50 ratio <= 1.0, CPU ratio <= 0.8. The process"
echo " column adds the kernel threads (io-wq workers, the SQPOLL poller) and start-up, for both.)"

[ "${RAID:-1}" = 1 ] || exit 0

# --- RAID5 full-stripe writes against the members' sum ---------------------
# 4 members, 64 KiB chunks: a full stripe is 3 x 64 KiB of data plus its
# parity chunk, so the array's data rate can reach 3/4 of what the members
# take together. The baseline is raid0 over 4 other files on the same file
# system, 256 KiB per I/O: each member written 64 KiB per I/O, QD each,
# from one thread on the same CPU, as the array's members are.
rmb=${RAID_MB:-128} rqd=${RAID_QD:-8}
r5=() r0=()
for m in 0 1 2 3; do
	truncate -s "${rmb}M" "$tmp/m$m" "$tmp/z$m"
	r5+=("uring:$tmp/m$m") r0+=("uring:$tmp/z$m")
done
arr="raid5:$(IFS=,; echo "${r5[*]}")?direct=1&qd=$((rqd + 1))"
base="raid0:$(IFS=,; echo "${r0[*]}")?direct=1&qd=$((rqd + 1))"
# raid create writes the superblocks and zeroes the members once.
"$wblk" raid create "$arr&chunk=64k" >/dev/null && "$wblk" raid create "$base&chunk=64k" >/dev/null ||
	{ echo "blk.sh: cannot create the arrays"; exit 1; }
wr_run() { # SPEC BS: "MB/s of data, and the array's kinds of writes"
	taskset -c "$cpu" "$wblk" -d "$1" --rw write --bs "$2" --iodepth "$rqd" --runtime "${secs}s" \
		--json --quiet 2>"$tmp/raid.err" | tail -1 >"$tmp/raid.json"
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); x = d["xstats"]
print("%.1f %s" % (d["mbps"], " ".join("%s=%d" % (k, x.get(k, 0)) for k in
      ("full_stripe_writes", "rmw_writes", "rcw_writes"))))' "$tmp/raid.json" 2>/dev/null ||
		{ sed 's/^/  weir-blk: /' "$tmp/raid.err" >&2; echo 0; }
}
: >"$tmp/raid.w"; : >"$tmp/raid.m"
for i in $(seq "$runs"); do
	a=$(wr_run "$arr" 192k) b=$(wr_run "$base" 256k)
	echo "raid5 run $i: array ${a%% *} MB/s of data (${a#* }), members' sum (raid0) ${b%% *} MB/s"
	echo "${a%% *}" >>"$tmp/raid.w"; echo "${b%% *}" >>"$tmp/raid.m"
done
ra=$(med_col 1 "$tmp/raid.w") rm_=$(med_col 1 "$tmp/raid.m")
echo
echo "== raid5 full-stripe sequential writes (4 x $rmb MiB members, chunk 64k, QD $rqd): median (min-max)"
echo "array data MB/s:         $(stat_col 1 "$tmp/raid.w")"
echo "members' sum MB/s:       $(stat_col 1 "$tmp/raid.m")"
echo "array / members' sum:    $(ratio "$ra" "$rm_") (ideal 0.75: one chunk in four is parity)"
bench_row blk "RAID5 full-stripe write, data MB/s (ideal 0.75x)" MB/s higher "$ra" "$rm_" \
	"its members' sum (raid0)" "$(mm 1 "$tmp/raid.w")" "$(mm 1 "$tmp/raid.m")" "$runs"
