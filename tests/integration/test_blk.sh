#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Block path on loop devices and files this script makes (backing files in
# a fresh directory under /tmp, loop devices attached with losetup --find):
# everything it attached is detached, and everything it made removed, by an
# EXIT trap, also when a check fails or a step times out (60 s each). It never touches
# a device it did not attach.
#   test_blk.sh PATH/TO/test_blk modes|readonly|full|badinput|raid5|raid1
set -u
bin="$1"
case_="$2"
[ -x "$bin" ] || { echo "usage: $0 path/to/test_blk modes|readonly|full|badinput|raid5|raid1"; exit 1; }

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || skip "needs root (loop devices)"
for c in losetup truncate; do
	command -v "$c" >/dev/null 2>&1 || skip "needs '$c' in PATH"
done

dir=$(mktemp -d /tmp/weir-blk-$$-XXXXXX)
shm=/dev/shm/weir-blk-$$
loops=()
mnt=""
cleanup() {
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
run() {
	echo "+ test_blk $*"
	timeout 60 "$bin" "$@" || fail "test_blk $*"
}
# runs test_blk and wants NEEDLE in what it prints
run_says() {
	local needle="$1" out
	shift
	echo "+ test_blk $*"
	out=$(timeout 60 "$bin" "$@" 2>&1) || { echo "$out"; fail "test_blk $*"; }
	echo "$out"
	grep -qF -- "$needle" <<<"$out" || fail "test_blk $1 did not say '$needle'"
}

case "$case_" in
modes)
	# Also the regression test for an O_EXCL block device that stayed busy
	# right after close (io_uring's deferred teardown held the registered
	# file): every open below comes straight after the last one's close.
	mkloop m 16M
	dev=$REPLY
	gen=1
	for keys in direct=1 direct=0 "direct=1&fixed=0" "direct=1&sqpoll=1" \
		"direct=0&sqpoll=1&fixed=0" "direct=1&lbs=4096" "direct=1&merge=0&qd=4"; do
		run rw "uring:$dev?$keys" $gen
		gen=$((gen + 1))
	done
	run_says "iopoll=1: the device has no poll queues" rw "uring:$dev?direct=1&iopoll=1" $gen
	# An IOPOLL ring beside an ordinary one: a loop device refuses polled
	# I/O (EOPNOTSUPP), which is said once, and everything goes through
	# the ordinary ring from then on.
	gen=$((gen + 1))
	run_says "the device refused polled I/O" rw "uring:$dev?direct=1&iopoll=force" $gen
	run verify "uring:$dev?direct=1" $gen
	truncate -s 8M "$dir/file"
	run rw "uring:$dir/file?direct=1" 1
	mkdir -p "$shm" && truncate -s 8M "$shm/file"
	run rw "uring:$shm/file?direct=0" 2
	run rw "uring:$shm/file?direct=1&sqpoll=1" 3
	;;
readonly)
	mkloop r 4M
	run rw "uring:$REPLY" 1
	mkloop r 4M -r
	run_says "read-only" refuse "uring:$REPLY" "add ro=1"
	run ro "uring:$REPLY?ro=1"
	;;
full)
	command -v mkfs.ext4 >/dev/null 2>&1 || skip "needs mkfs.ext4"
	mkloop fs 24M
	mkfs.ext4 -q -F "$REPLY" >/dev/null 2>&1 || fail "mkfs.ext4 on $REPLY"
	mnt="$dir/mnt"
	mkdir -p "$mnt"
	mount "$REPLY" "$mnt" || { mnt=""; skip "cannot mount ext4 here"; }
	truncate -s 64M "$mnt/sparse"
	run full "uring:$mnt/sparse?direct=1"
	;;
badinput)
	mkloop b 8M
	run pastend "uring:$REPLY"
	mkloop s4k 8M "--sector-size 4096"
	run_says "lbs=512 is below the device's 4096-byte block" refuse "uring:$REPLY?lbs=512" "use lbs=4096"
	run rw "uring:$REPLY" 1
	mkloop c0 8M; c0=$REPLY
	mkloop c1 8M; c1=$REPLY
	mkloop c2 8M; c2=$REPLY
	run rw "raid5:uring:$c0,uring:$c1,uring:$c2?create=1" 1
	# Damage member 2's superblock (in the device this script attached).
	printf 'weir' | dd of="$c2" bs=1 seek=$((4096 + 100)) conv=notrunc status=none
	run_says "corrupt superblock (checksum" refuse "raid5:uring:$c0,uring:$c1,uring:$c2" "take it out of the spec"
	run verify "raid5:uring:$c0,uring:$c1" 1
	run_says "already belongs to a raid5 array" refuse "raid5:uring:$c0,uring:$c1,uring:$c2?create=1" "force=1"
	;;
raid5 | raid1)
	n=3
	[ "$case_" = raid1 ] && n=2
	members=""
	for i in $(seq 0 $((n - 1))); do
		mkloop "m$i" 8M
		eval "m$i=$REPLY"
		members="$members${members:+,}uring:$REPLY"
	done
	mkloop spare 8M
	spare=$REPLY
	spec="$case_:$members?direct=1"
	run rw "$spec&create=1" 1
	# Member 1's device shrinks under the array: I/O past 1 MiB fails
	# with EIO from the block layer, mid-run.
	run degrade "$spec" 1 "truncate -s 1M $dir/m1.img && losetup -c $m1" "uring:$spare?direct=1"
	# Restart: member 0 was failed by hand (stale now), 1 is the spare.
	if [ "$case_" = raid5 ]; then
		run_says "stale" verify "raid5:uring:$m2,uring:$spare,uring:$m0?direct=1" 7
		run verify "raid5:uring:$spare,uring:$m2?direct=1" 7
	else
		run_says "stale" verify "raid1:uring:$spare,uring:$m0?direct=1" 7
	fi
	# A member of another array is refused.
	mkloop f0 8M; f0=$REPLY
	mkloop f1 8M; f1=$REPLY
	mkloop f2 8M; f2=$REPLY
	run rw "raid5:uring:$f0,uring:$f1,uring:$f2?create=1&chunk=16k" 2
	run_says "belongs to another array" refuse "$case_:uring:$spare,uring:$f1?direct=1" "take it out of the spec"
	;;
*)
	fail "unknown case $case_"
	;;
esac
echo "PASS: $case_"
