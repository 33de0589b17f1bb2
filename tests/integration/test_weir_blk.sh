#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# weir-blk end to end, on loop devices, files and tmpfs this script makes
# (backing files in a fresh directory under /tmp, loop devices attached
# with losetup --find): everything it attached is detached and everything
# it made removed by an EXIT trap, also when a check fails. It kills only
# the weir-blk it started, by PID, and never touches a device it did not
# attach.
#   test_weir_blk.sh PATH/TO/weir-blk modes|raid5|raid1|crash|rate|fio|badinput
#
#   modes     every driver mode writes the whole device with verify headers
#             and reads it back identical (--verify-only against the state
#             file: every block, its exact generation), then a random mixed
#             load with reordering checks itself
#   raid5/1   a member's device shrinks to 1 MiB (its data gone, I/O errors)
#             in the middle of a verified load: no mismatch; rebuild onto a
#             spare with weir-blk raid rebuild; every durable block intact
#             even with another member failed afterwards (so the rebuilt one
#             serves data); a restart refuses the stale and a foreign member
#   crash     kill -9 in the middle of a verified write load with flushes:
#             every write reported durable is intact; a durable block zeroed
#             behind its back is found
#   rate      --rate: weir-blk stopped (SIGSTOP) for 300 ms mid-run; every
#             I/O due meanwhile counts its wait (p99 near the stall), where
#             a closed loop's p99 hardly moves (coordinated omission)
#   fio       fio writes a pattern weir-blk checks, weir-blk writes one fio
#             checks, and a wrong pattern fails on both sides
#   badinput  misaligned --bs, past the end, a read-only device written, a
#             full file system, too deep a queue, a bad key: clear errors
set -u
blk="$1"
case_="$2"
[ -x "$blk" ] || { echo "usage: $0 path/to/weir-blk modes|raid5|raid1|crash|rate|fio|badinput"; exit 1; }

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || skip "needs root (loop devices)"
for c in losetup truncate python3; do
	command -v "$c" >/dev/null 2>&1 || skip "needs '$c' in PATH"
done

dir=$(mktemp -d /tmp/weir-wblk-$$-XXXXXX)
shm=/dev/shm/weir-wblk-$$
loops=()
mnt=""
pid=""
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	for l in "${loops[@]}"; do
		losetup -d "$l" 2>/dev/null
	done
	rm -rf "$dir" "$shm"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# mkloop NAME SIZE [losetup options]: a loop device over $dir/NAME.img, in $REPLY.
mkloop() {
	local f="$dir/$1.img"
	[ -e "$f" ] || truncate -s "$2" "$f"
	REPLY=$(losetup --find --show ${3:-} "$f" 2>&1) || skip "losetup cannot attach a loop device: $REPLY"
	loops+=("$REPLY")
}
# wb ARGS: weir-blk must succeed; its output in $OUT.
wb() {
	echo "+ [$(date +%T.%3N)] weir-blk $*"
	local rc=0
	OUT=$(timeout 60 "$blk" "$@" 2>&1) || rc=$?
	[ "$rc" = 0 ] || { echo "$OUT"; fail "weir-blk $* (exit $rc)"; }
	echo "$OUT" | sed 's/^/    /'
}
# wb_fails NEEDLE ARGS: weir-blk must fail, saying NEEDLE.
wb_fails() {
	local needle="$1" rc
	shift
	echo "+ weir-blk $* (must fail)"
	OUT=$(timeout 60 "$blk" "$@" 2>&1)
	rc=$?
	echo "$OUT" | sed 's/^/    /'
	[ "$rc" != 0 ] || fail "weir-blk $* succeeded"
	[ "$rc" != 124 ] || fail "weir-blk $* timed out"
	grep -qF -- "$needle" <<<"$OUT" || fail "weir-blk $* did not say '$needle'"
}
# json FIELD.PATH: a value from the --json summary in $OUT.
json() {
	python3 -c 'import json, sys
d = json.loads(sys.stdin.read().strip().splitlines()[-1])
for k in sys.argv[1].split("."): d = d[k]
print(d)' "$1" <<<"$OUT"
}
# A verified pass that must find every block of the device written.
verify_all() { # SPEC STATE
	wb -d "$1" --verify-only --verify-state "$2" --bs 64k --iodepth 8 --json
	[ "$(json verify.mismatches)" = 0 ] || fail "mismatches on $1"
}

# killed_load DEV STATE SECS: a verified random-write load on DEV (its
# durable blocks recorded in STATE), killed with SIGKILL after SECS seconds.
killed_load() {
	echo "+ weir-blk -d $1 --rw randwrite --verify --fsync 32 (kill -9 after $3 s)"
	"$blk" -d "$1" --rw randwrite --bs 8k --iodepth 16 --verify --fsync 32 \
		--verify-state "$2" -t 30s --quiet >/dev/null 2>&1 &
	pid=$!
	sleep "$3"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	pid=""
}

case "$case_" in
modes)
	mkloop m 8M
	dev=$REPLY
	mkdir -p "$shm"
	truncate -s 8M "$dir/file" "$shm/file"
	n=0
	for spec in "uring:$dev?direct=1" "uring:$dev?direct=0" "uring:$dev?direct=1&fixed=0" \
		"uring:$dev?direct=1&sqpoll=1" "uring:$dev?direct=1&sqpoll=1&sq_cpu=0&wait=1" \
		"uring:$dev?direct=1&wait=0" "uring:$dev?direct=1&wait=1&lbs=4096" \
		"uring:$dir/file?direct=1" "uring:$shm/file?direct=0" "uring:$shm/file?direct=0&inline=0" \
		"uring:$dir/file?direct=0&inline=1"; do
		n=$((n + 1))
		st="$dir/state$n"
		wb -d "$spec" --rw write --bs 16k --iodepth 8 --verify --verify-state "$st" --json
		want=$(json write.bytes)
		verify_all "$spec" "$st"
		blocks=$(json verify.blocks)
		[ "$(json read.bytes)" = "$want" ] || fail "$spec: read $(json read.bytes) of $want bytes"
		[ "$(json verify.durable_at_start)" = "$blocks" ] ||
			fail "$spec: $(json verify.durable_at_start) of $blocks blocks recorded durable"
		# Wait mode is what was asked: sleeping unless polling was, or the
		# I/O is done in submit (inline=auto on tmpfs, inline=1).
		case $spec in
		*wait=0*) [ "$(json wait)" = False ] || fail "$spec waits" ;;
		*inline=1 | "uring:$shm/file?direct=0")
			[ "$(json wait)" = False ] && [ "$(json xstats.inline)" = 1 ] &&
				[ "$(json xstats.inline_ios)" -gt 0 ] || fail "$spec is not inline" ;;
		*) [ "$(json wait)" = True ] || fail "$spec does not wait" ;;
		esac
		# Reordered asynchronous writes and reads over the same blocks.
		wb -d "$spec" --rw randrw --bs 8k --iodepth 16 --verify --verify-state "$st" -t 500ms --json
		[ "$(json verify.blocks)" -gt 0 ] || fail "$spec: randrw verified nothing"
		verify_all "$spec" "$st"
	done
	;;
raid5 | raid1)
	command -v mkfs.ext4 >/dev/null 2>&1 || skip "needs mkfs.ext4 (member 1 on its own file system)"
	n=3
	[ "$case_" = raid1 ] && n=2
	# Member 1 is a file on an ext4 of its own, so it can die at once and
	# for good: a file system shut down (EXT4_IOC_SHUTDOWN) fails every
	# I/O with EIO. (A loop device whose file is truncated would instead
	# read zeroes until it is resized: a lying disk, not a dead one.)
	mkloop fs1 40M
	mkfs.ext4 -q -F "$REPLY" >/dev/null 2>&1 || fail "mkfs.ext4 on $REPLY"
	mnt="$dir/mnt1"
	mkdir -p "$mnt"
	mount "$REPLY" "$mnt" || { mnt=""; skip "cannot mount ext4 here"; }
	truncate -s 16M "$mnt/m1"
	mkloop m0 16M; m0=$REPLY
	members="uring:$m0,uring:$mnt/m1?direct=1"
	rest="uring:$m0"
	if [ "$n" = 3 ]; then
		mkloop m2 16M; m2=$REPLY
		members="uring:$m0,[uring:$mnt/m1?direct=1],uring:$m2"
		rest="uring:$m0,uring:$m2"
	fi
	[ "$n" = 2 ] && members="uring:$m0,[uring:$mnt/m1?direct=1]"
	mkloop spare 16M
	spare=$REPLY
	spec="$case_:$members"
	st="$dir/state"
	wb raid create "$spec?chunk=16k"
	# A verified mixed load; member 1's file system dies under it after a
	# second.
	echo "+ weir-blk -d $spec --rw randrw --verify (member 1 dies in 1 s)"
	timeout 60 "$blk" -d "$spec" --rw randrw --bs 16k --iodepth 8 --verify --fsync 16 \
		--verify-state "$st" -t 4s --json >"$dir/load.out" 2>&1 &
	pid=$!
	sleep 1
	python3 -c 'import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587d, struct.pack("I", 2))  # EXT4_IOC_SHUTDOWN, NOLOGFLUSH' "$mnt" ||
		fail "cannot shut down the file system under member 1"
	wait "$pid" || { cat "$dir/load.out"; fail "the load failed when member 1 died"; }
	pid=""
	OUT=$(cat "$dir/load.out")
	echo "$OUT" | sed 's/^/    /'
	[ "$(json verify.mismatches)" = 0 ] || fail "mismatches with member 1 gone"
	[ "$(json verify.blocks)" -gt 0 ] || fail "nothing was verified"
	grep -q "member 1 .* failed" <<<"$OUT" || fail "member 1's failure was not reported"
	# Restart without it: degraded, every durable block still there.
	wb raid status "$case_:$rest"
	grep -qE "^  1: (failed|missing)" <<<"$OUT" || fail "member 1 not marked failed"
	verify_all "$case_:$rest" "$st"
	# Rebuild onto the spare; then every durable block, from the new set.
	wb raid rebuild "$case_:$rest" 1 "uring:$spare" --rate 64m
	grep -q "^  1: active     uring:$spare" <<<"$OUT" || fail "spare not active after the rebuild"
	new="$case_:uring:$m0,uring:$spare${m2:+,uring:${m2:-}}"
	verify_all "$new" "$st"
	# With member 0 failed by hand, the rebuilt member must serve its data.
	wb raid fail "$new" 0
	verify_all "$new" "$st"
	# A restart: the member failed by hand is stale, and left out.
	wb raid assemble "$new"
	grep -q "stale" <<<"$OUT" || fail "stale member 0 was not said"
	# A member of another array is refused.
	mkloop f0 16M; f0=$REPLY
	mkloop f1 16M
	wb raid create "raid1:uring:$f0,uring:$REPLY"
	wb_fails "belongs to another array" raid assemble "$case_:uring:$spare,uring:$f0"
	;;
crash)
	mkloop c 32M
	dev="uring:$REPLY?direct=1"
	st="$dir/state"
	killed_load "$dev" "$st" 2
	# The dead process's rings are torn down by the kernel a little later;
	# until then the device is held (O_EXCL), as weir-blk would say.
	python3 -c 'import os, sys, time
for _ in range(100):
    try:
        os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit("still busy 10 s after the kill")' "$REPLY" || fail "the device stayed busy"
	wb -d "$dev" --verify-only --verify-state "$st" --bs 64k --iodepth 8
	durable=$(sed -n 's/.*(\([0-9]*\) blocks were durable.*/\1/p' <<<"$OUT")
	[ "${durable:-0}" -gt 100 ] || fail "only ${durable:-0} blocks were durable after 2 s"
	grep -q " 0 mismatches" <<<"$OUT" || fail "a durable write was lost"
	# The check can fail: zero a block the state file says is durable.
	lba=$(python3 -c 'import struct, sys
d = open(sys.argv[1], "rb").read()[64:]
print(next(i for i in range(len(d) // 4) if struct.unpack_from("<I", d, 4 * i)[0]))' "$st")
	lbs=$(blockdev --getss "$REPLY")
	dd if=/dev/zero of="$REPLY" bs="$lbs" seek="$lba" count=1 oflag=direct conv=notrunc status=none
	wb_fails "lba $lba: no weir-blk header: a lost write" -d "$dev" --verify-only \
		--verify-state "$st" --bs 64k --iodepth 8
	# The same on tmpfs, where inline=auto writes in the submitting thread.
	mkdir -p "$shm"
	truncate -s 16M "$shm/crash"
	dev="uring:$shm/crash?direct=0"
	killed_load "$dev" "$dir/state2" 1
	wb -d "$dev" --verify-only --verify-state "$dir/state2" --bs 64k --iodepth 8 --json
	[ "$(json xstats.inline)" = 1 ] || fail "$dev: not inline"
	[ "$(json verify.durable_at_start)" -gt 100 ] ||
		fail "only $(json verify.durable_at_start) blocks durable after 1 s inline"
	[ "$(json verify.mismatches)" = 0 ] || fail "inline: a durable write was lost"
	;;
rate)
	mkdir -p "$shm"
	truncate -s 16M "$shm/file"
	stall() { # ARGS: weir-blk --json output in $OUT, stopped for 300 ms after 1 s
		echo "+ weir-blk $* (SIGSTOP for 300 ms after 1 s)"
		"$blk" "$@" --json >"$dir/rate.out" 2>&1 &
		pid=$!
		sleep 1
		kill -STOP "$pid"; sleep 0.3; kill -CONT "$pid"
		wait "$pid" || { cat "$dir/rate.out"; fail "weir-blk $*"; }
		pid=""
		OUT=$(cat "$dir/rate.out")
		echo "$OUT" | sed 's/^/    /'
	}
	stall -d "uring:$shm/file?direct=0" --rw randread --iodepth 4 --rate 2000 -t 2s
	iops=$(json iops) p99=$(json lat_ns.p99) max=$(json lat_ns.max)
	[ "$iops" -ge 1800 ] && [ "$iops" -le 2200 ] || fail "--rate 2000 ran at $iops IOPS"
	# 600 of 4000 I/Os were due during the stall, waiting up to 300 ms.
	[ "$p99" -ge 150000000 ] || fail "p99 $p99 ns: the stall was not counted for the I/Os it held back"
	[ "$max" -ge 250000000 ] || fail "max $max ns: shorter than the stall"
	stall -d "uring:$shm/file?direct=0" --rw randread --iodepth 4 -t 2s
	p99=$(json lat_ns.p99)
	[ "$p99" -lt 50000000 ] || fail "closed loop p99 $p99 ns: expected only the 4 stalled I/Os to be slow"
	;;
fio)
	command -v fio >/dev/null 2>&1 || skip "needs fio"
	f="$dir/fio.img"
	truncate -s 16M "$f"
	fio_() { timeout 60 fio --name=interop --filename="$f" --size=16M --bs=4k --ioengine=io_uring \
		--direct=1 "$@" 2>&1; }
	echo "+ fio writes 0xdeadbeef"
	fio_ --rw=write --verify=pattern --verify_pattern=0xdeadbeef --do_verify=0 >/dev/null ||
		fail "fio write"
	wb -d "uring:$f" --rw read --bs 64k --iodepth 8 --pattern 0xdeadbeef
	grep -q "32768 blocks checked, 0 mismatches" <<<"$OUT" || fail "weir-blk did not check every block"
	wb_fails "the pattern has 0xdf there" -d "uring:$f" --rw read --bs 64k --pattern 0xdfadbeef
	wb -d "uring:$f" --rw write --bs 16k --iodepth 8 --pattern 0x5aa5c33c
	echo "+ fio reads and verifies 0x5aa5c33c"
	out=$(fio_ --rw=read --verify=pattern --verify_pattern=0x5aa5c33c) || { echo "$out"; fail "fio verify"; }
	grep -q "err= 0" <<<"$out" || { echo "$out"; fail "fio verify"; }
	echo "+ fio reads and verifies 0x5aa5c33d (must fail)"
	out=$(fio_ --rw=read --verify=pattern --verify_pattern=0x5aa5c33d) && fail "fio verified a wrong pattern"
	grep -q "verify failed" <<<"$out" || { echo "$out"; fail "fio did not say why"; }
	;;
badinput)
	mkloop b 8M
	b=$REPLY
	wb_fails "--bs 1000" -d "uring:$b" --bs 1000
	wb_fails "not a whole number of the 4096-byte logical blocks" -d "uring:$b?lbs=4096" --bs 6k
	wb_fails "past the end" -d "uring:$b" --size 16M
	wb_fails "add qd=257" -d "uring:$b" --iodepth 256 --fsync 4 --rw randwrite
	wb_fails "unknown key 'qdd'" -d "uring:$b?qdd=3"
	wb_fails "open read-only (drop ro=1" -d "uring:$b?ro=1" --rw write
	mkloop r 4M -r
	wb_fails "the block device is read-only" -d "uring:$REPLY" --rw write
	wb -d "uring:$REPLY?ro=1" --rw randread -t 200ms
	command -v mkfs.ext4 >/dev/null 2>&1 || skip "needs mkfs.ext4 (for the full file system)"
	mkloop fs 24M
	mkfs.ext4 -q -F "$REPLY" >/dev/null 2>&1 || fail "mkfs.ext4 on $REPLY"
	mnt="$dir/mnt"
	mkdir -p "$mnt"
	mount "$REPLY" "$mnt" || { mnt=""; skip "cannot mount ext4 here"; }
	truncate -s 64M "$mnt/sparse"
	wb_fails "the file system under it is full" -d "uring:$mnt/sparse?direct=1" --rw write --bs 64k
	;;
*)
	fail "unknown case $case_"
	;;
esac
echo "PASS: $case_"
