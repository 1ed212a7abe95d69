#!/usr/bin/env bats
# Reliability: real file systems on ubd-loop (2 queues, a 256M image in
# /tmp): a verified mixed fio workload, a clean fsck; then crash
# consistency: files written and fsync'd one by one, the server killed
# with -9 in the middle, the image attached again, the journal replayed,
# fsck clean and every file recorded as fsync'd before the kill intact.
# ubd-compat: yes (also runs against the kernel's ublk_drv: common.bash)
# Under it: only the ext4 crash case (the others are the same ABI paths).
#
# STRESS: by default the fio job writes 2 x 48M and the crash test kills
# the server after >= 30 fsync'd files (~1.5 min in the guest with 4 CPUs);
# STRESS=1 runs fio for 2 x 96M and 3 crash rounds per file system, each
# killing after >= 100 files.

load common
load generic

IMG=/tmp/ubd-generic-fs.img
MNT=/tmp/ubd-mnt-generic
LIST=/tmp/ubd-generic-fs.sums

setup_file() {
	ubd_load
}

teardown() {
	umount -q "$MNT" 2>/dev/null || true
	ubd_cleanup
	rm -f "$IMG" "$LIST"
}

FIO_SIZE=${STRESS:+96M}
FIO_SIZE=${FIO_SIZE:-48M}
CRASH_ROUNDS=${STRESS:+3}
CRASH_ROUNDS=${CRASH_ROUNDS:-1}
CRASH_FILES=${STRESS:+100}
CRASH_FILES=${CRASH_FILES:-30}

# mkfs.xfs refuses file systems under 300M unless run the fstests way
export TEST_DIR=/tmp TEST_DEV=/dev/null QA_CHECK_FS=1

mkfs_on() {
	case $1 in
	ext4) mkfs.ext4 -q -F "$2" ;;
	xfs) mkfs.xfs -q -f "$2" ;;
	esac
}

# read-only check of an unmounted file system; prints its report
fsck_clean() {
	local st=0
	case $1 in
	ext4) fsck.ext4 -fn "$2" 2>&1 || st=$? ;;
	xfs) xfs_repair -n "$2" 2>&1 || st=$? ;;
	esac
	echo "fsck of $1 on $2: status $st"
	return "$st"
}

new_loop() {
	local dev
	dev=$(timeout 60 ubd-loop --file "$IMG" -q 2 --daemon) || return 1
	[ "$dev" = /dev/${UBD_PFX}b0 ] || { echo "server gave '$dev'"; return 1; }
	wait_for 10 dev_state_is 0 LIVE
}

stop_loop() {
	local pid
	pid=$(dev_field 0 pid)
	kill -TERM "$pid"
	wait_for 20 no_servers
	wait_for 10 test ! -e /dev/${UBD_PFX}b0
}

fs_fio_fsck() {
	local fs=$1 errs
	truncate -s 256M "$IMG"
	new_loop
	mkfs_on "$fs" /dev/${UBD_PFX}b0
	mkdir -p "$MNT"
	mount /dev/${UBD_PFX}b0 "$MNT"
	fio --name=mix --directory="$MNT" --size="$FIO_SIZE" --rw=randrw \
		--rwmixread=40 --bsrange=4k-64k --ioengine=io_uring \
		--direct=1 --iodepth=16 --numjobs=2 --verify=crc32c \
		--verify_fatal=1 --output-format=json \
		--output="$BATS_TEST_TMPDIR/fio.json" || true
	sed -i -n '/^{/,$p' "$BATS_TEST_TMPDIR/fio.json"
	echo "fio on $fs: $(jq -c '[.jobs[] | {error, r: .read.io_bytes, w: .write.io_bytes}]' "$BATS_TEST_TMPDIR/fio.json")"
	echo "# $fs: fio randrw+crc32c verify: $(jq -c '[.jobs[] | {error, r: .read.io_bytes, w: .write.io_bytes}]' "$BATS_TEST_TMPDIR/fio.json")" >&3
	jq -e '[.jobs[] | .error == 0 and .write.io_bytes > 0
		and .read.io_bytes >= .write.io_bytes] | all' \
		"$BATS_TEST_TMPDIR/fio.json"
	rm -f "$MNT"/mix.*
	umount "$MNT"
	fsck_clean "$fs" /dev/${UBD_PFX}b0
	echo "# $fs: fsck after fio clean" >&3
	stop_loop
}

@test "ext4 on ubd-loop (2 queues): fio randrw with crc32c verify, fsck.ext4 -fn clean" {
	ubd_only "time budget of the compatibility pass: the ext4 crash case" \
		"and loop.bats's fio verify cover it"
	fs_fio_fsck ext4
}

@test "xfs on ubd-loop (2 queues): fio randrw with crc32c verify, xfs_repair -n clean" {
	ubd_only "time budget of the compatibility pass: the ext4 case covers it"
	fs_fio_fsck xfs
}

# write file i, fsync it and its directory, then record its sha256 in
# $LIST (on /tmp, another fs); stops at the first error
fsync_writer() {
	local i=0 sz f
	mkdir -p "$MNT/d"
	sync "$MNT/d"
	while :; do
		i=$((i + 1))
		sz=$(((RANDOM % 64 + 1) * 4096 + RANDOM % 4096))
		f=d/f$i
		dd if=/dev/urandom of="$MNT/$f" bs="$sz" count=1 conv=fsync \
			status=none 2>/dev/null || break
		sync "$MNT/d" 2>/dev/null || break
		(cd "$MNT" && sha256sum "$f") >>"$LIST" || break
	done
}

files_recorded() {
	[ "$(wc -l <"$LIST")" -ge "$1" ]
}

crash_round() {
	local fs=$1 r=$2 wr pid n t0 bad
	: >"$LIST"
	new_loop
	mount /dev/${UBD_PFX}b0 "$MNT"
	fsync_writer &
	wr=$!
	wait_for 120 files_recorded "$CRASH_FILES" || {
		echo "only $(wc -l <"$LIST") files written in 120 s"; return 1; }
	pid=$(dev_field 0 pid)
	stamp t0
	kill -9 "$pid"
	wait_ended 20 "$wr"
	n=$(wc -l <"$LIST")
	echo "round $r: writer stopped $(elapsed "$t0" "$(now)") s after kill -9, $n files fsync'd"
	wait_for "$UBD_DEAD_SECS" dev_state_is 0 DEAD || { echo "state $(dev_field 0 state)"; return 1; }
	wait_for 10 no_servers
	umount "$MNT"
	timeout 30 ubdctl del 0

	new_loop
	mount /dev/${UBD_PFX}b0 "$MNT"
	dmesg | grep -E "EXT4-fs \(${UBD_PFX}b0\)|XFS \(${UBD_PFX}b0\)" | tail -4
	umount "$MNT"
	fsck_clean "$fs" /dev/${UBD_PFX}b0
	mount -o ro /dev/${UBD_PFX}b0 "$MNT"
	bad=0
	(cd "$MNT" && sha256sum --quiet -c "$LIST") || bad=1
	echo "round $r: $n fsync'd files checked, bad=$bad, $(ls "$MNT/d" | wc -l) files on disk"
	echo "# $fs crash round $r: $n fsync'd files before kill -9, all intact: $([ $bad = 0 ] && echo yes || echo NO); fsck clean" >&3
	umount "$MNT"
	stop_loop
	[ "$bad" = 0 ]
}

crash_test() {
	local fs=$1 r
	truncate -s 256M "$IMG"
	new_loop
	mkfs_on "$fs" /dev/${UBD_PFX}b0
	stop_loop
	mkdir -p "$MNT"
	for r in $(seq "$CRASH_ROUNDS"); do
		crash_round "$fs" "$r"
	done
}

@test "ext4 crash: kill -9 during fsync'd writes, replay, fsck clean, fsync'd files intact" {
	crash_test ext4
}

@test "xfs crash: kill -9 during fsync'd writes, replay, xfs_repair clean, fsync'd files intact" {
	ubd_only "time budget of the compatibility pass: the ext4 case covers it"
	crash_test xfs
}

@test "module unloads cleanly" {
	ubd_assert_unload
}
