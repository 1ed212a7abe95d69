#!/usr/bin/env bats
# ubd-loop: a file or a block device served through io_uring.  Images live
# in /tmp, a tmpfs in the guest (so its files take buffered I/O there on
# Linux 6.1); O_DIRECT is tested on a loop device over such a file.
# ubd-compat: yes (also runs against the kernel's ublk_drv: common.bash)

load common
bats_require_minimum_version 1.5.0

IMG=/tmp/ubd-loop.img
MNT=/tmp/ubd-mnt-loop

setup_file() {
	ubd_load
}

teardown() {
	ubd_cleanup
	umount -q "$MNT" 2>/dev/null || true
	umount -q /tmp/ubd-ro 2>/dev/null || true
	losetup -D 2>/dev/null || true
	rm -f "$IMG" /tmp/ubd-loop-*.img
}

# allocated 512-byte blocks of a file
blocks() {
	stat -c %b "$1"
}

# a bad command line: status $1, one line naming $2, nothing left behind
bad_input() {
	run_fails ubd-loop "$@"
}

@test "--daemon prints the device, keeps serving, SIGTERM removes it" {
	truncate -s 64M "$IMG"
	run --separate-stderr ubd-loop --file "$IMG" --daemon
	[ "$status" = 0 ]
	[ "$output" = /dev/${UBD_PFX}b0 ]
	[ -b /dev/${UBD_PFX}b0 ]
	pid=$(pgrep -x ubd-loop)
	[ -n "$pid" ]
	grep -qx "backing_file=$IMG" /run/ubd/0
	grep -qx "target=loop" /run/ubd/0
	[ "$(blockdev --getsize64 /dev/${UBD_PFX}b0)" = 67108864 ]
	kill -TERM "$pid"
	wait_for 10 no_servers ubd-loop
	[ ! -e /dev/${UBD_PFX}b0 ]
	[ -z "$(ubd_ids)" ]
	[ ! -e /run/ubd/0 ]
}

@test "serves a device made by 'ubdctl add'; list shows the image" {
	[ -x "$UBD_BUILDDIR/cmd/ubdctl" ] || skip "ubdctl is not built"
	truncate -s 64M "$IMG"
	id=$(ubdctl add)
	serve_bg "/dev/${UBD_PFX}b$id" ubd-loop -n "$id" --file "$IMG"
	run ubdctl list
	echo "$output"
	[[ "$output" == *"$IMG"* ]]
	dd if=/dev/urandom of=/tmp/ubd-loop-data.img bs=1M count=4 status=none
	dd if=/tmp/ubd-loop-data.img of="/dev/${UBD_PFX}b$id" bs=1M oflag=direct status=none
	cmp -n 4M "$IMG" /tmp/ubd-loop-data.img
	# the server did not add it, so it leaves it for ubdctl del
	kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
	[ -e "/sys/class/${UBD_PFX}-char/${UBD_PFX}c$id" ]
	ubdctl del "$id"
	[ -z "$(ubd_ids)" ]
}

@test "ext4 made, filled and unmounted comes back identical on a new server" {
	truncate -s 256M "$IMG"
	dev=$(ubd-loop --file "$IMG" --daemon)
	mkfs.ext4 -q -F "$dev"
	mkdir -p "$MNT"
	mount "$dev" "$MNT"
	head -c 100M /dev/urandom >"$MNT/data"
	sync
	sum1=$(sha256sum <"$MNT/data")
	umount "$MNT"
	pkill -TERM -x ubd-loop
	wait_for 10 no_servers ubd-loop
	wait_for 10 test ! -e "$dev"

	dev=$(ubd-loop --file "$IMG" --daemon)
	fsck.ext4 -n -f "$dev"
	mount "$dev" "$MNT"
	sum2=$(sha256sum <"$MNT/data")
	umount "$MNT"
	echo "$sum1 / $sum2"
	[ "$sum1" = "$sum2" ]
}

@test "a tmpfs image falls back to buffered I/O with a notice" {
	ubd_only "time budget of the compatibility pass: the backing store is" \
		"ubd-loop's business"
	[ "$(stat -f -c %T /tmp)" = tmpfs ] || skip "/tmp is not tmpfs"
	truncate -s 64M "$IMG"
	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG"
	cat "$BATS_TEST_TMPDIR/server.log"
	if grep -q "using buffered I/O" "$BATS_TEST_TMPDIR/server.log"; then
		grep -qx "direct_io=0" /run/ubd/0
	else
		# tmpfs has O_DIRECT since Linux 6.6
		grep -qx "direct_io=1" /run/ubd/0
	fi
	[ "$(grep -c . "$BATS_TEST_TMPDIR/server.log")" -le 2 ]
}

# the data of a file in RAM moves through a shared mapping (io_data)
has_flag() { # FLAG: does device 0 have it?
	ubdctl list -J -O FLAGS 0 | jq -e --arg f "$1" \
		'.ubddevices[0].flags | contains($f)' >/dev/null
}

@test "a tmpfs image is served through a shared mapping, --no-mmap without" {
	[ "$(stat -f -c %T /tmp)" = tmpfs ] || skip "/tmp is not tmpfs"
	truncate -s 64M "$IMG"
	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG" -q 2
	grep -q "through a shared mapping" "$BATS_TEST_TMPDIR/server.log" ||
		skip "tmpfs has O_DIRECT here (Linux 6.6+)"
	# the mapping needs the driver to ask where a WRITE's data goes
	has_flag NEED_GET_DATA
	fio_verify /dev/${UBD_PFX}b0 --numjobs=2 --offset_increment=32M
	# what the device wrote is in the file, at once: no cache between
	printf 'mapped-%0505d' 7 | dd of=/dev/${UBD_PFX}b0 bs=512 seek=9 \
		oflag=direct conv=notrunc status=none
	[ "$(dd if="$IMG" bs=512 skip=9 count=1 status=none | head -c 12)" = \
		"mapped-00000" ]
	# ... and what is written to the file, the device reads
	printf 'file-%0507d' 3 | dd of="$IMG" bs=512 seek=11 conv=notrunc \
		status=none
	[ "$(dd if=/dev/${UBD_PFX}b0 bs=512 skip=11 count=1 iflag=direct \
		status=none | head -c 10)" = "file-00000" ]
	kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
	wait_for 10 test ! -e /dev/${UBD_PFX}b0

	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG" --no-mmap
	not grep -q "shared mapping" "$BATS_TEST_TMPDIR/server.log"
	not has_flag NEED_GET_DATA
	fio_verify /dev/${UBD_PFX}b0
}

@test "a mapped tmpfs image with --user-copy, --offset, and grown past the mapping" {
	ubd_only "the compatibility pass has no user copy on 6.1"
	[ "$(stat -f -c %T /tmp)" = tmpfs ] || skip "/tmp is not tmpfs"
	truncate -s 72M "$IMG"
	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG" --user-copy \
		--offset 8M
	grep -q "through a shared mapping" "$BATS_TEST_TMPDIR/server.log" ||
		skip "tmpfs has O_DIRECT here (Linux 6.6+)"
	not has_flag NEED_GET_DATA
	fio_verify /dev/${UBD_PFX}b0
	printf 'offset-%0505d' 1 | dd of=/dev/${UBD_PFX}b0 bs=512 seek=2 \
		oflag=direct conv=notrunc status=none
	[ "$(dd if="$IMG" bs=1M skip=8 status=none | dd bs=512 skip=2 \
		count=1 status=none | head -c 12)" = "offset-00000" ]
	# the file grows; the device follows, past the end of the mapping
	truncate -s 136M "$IMG"
	size_is() { [ "$(blockdev --getsize64 /dev/${UBD_PFX}b0)" = "$1" ]; }
	wait_for 10 size_is $((128 << 20))
	fio_verify /dev/${UBD_PFX}b0 --offset=60M --size=8M
	printf 'grown-%0506d' 2 | dd of=/dev/${UBD_PFX}b0 bs=1M seek=100 \
		oflag=direct conv=notrunc status=none
	[ "$(dd if="$IMG" bs=1M skip=108 count=1 status=none | head -c 11)" = \
		"grown-00000" ]
}

@test "fio crc32c verify passes with 1 queue and with several" {
	truncate -s 128M "$IMG"
	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG"
	fio_verify /dev/${UBD_PFX}b0
	kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
	wait_for 10 test ! -e /dev/${UBD_PFX}b0

	# one queue per CPU at most: 4 where the guest has them
	nq=$(( $(nproc) >= 4 ? 4 : 2 ))
	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG" -q "$nq" -d 64
	[ "$(ls /sys/block/${UBD_PFX}b0/mq | wc -l)" = "$nq" ]
	fio_verify /dev/${UBD_PFX}b0 --numjobs="$nq" --offset_increment=32M
}

@test "O_DIRECT on a block device backing store, and --buffered" {
	ubd_only "time budget of the compatibility pass: the backing store is" \
		"ubd-loop's business, the fio verify test covers the driver"
	truncate -s 128M /tmp/ubd-loop-back.img
	modprobe loop 2>/dev/null || true
	lo=$(losetup -f --show /tmp/ubd-loop-back.img)
	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$lo"
	cat "$BATS_TEST_TMPDIR/server.log"
	not grep -q "buffered" "$BATS_TEST_TMPDIR/server.log"
	grep -qx "direct_io=1" /run/ubd/0
	grep -qx "backing_file=$lo" /run/ubd/0
	[ "$(cat /sys/block/${UBD_PFX}b0/queue/logical_block_size)" = \
	  "$(blockdev --getss "$lo")" ]
	fio_verify /dev/${UBD_PFX}b0
	# ios within the registered start of the buffers (32K) and beyond
	not grep -q "no registered buffers" "$BATS_TEST_TMPDIR/server.log"
	fio_verify /dev/${UBD_PFX}b0 --bsrange=4k-128k --size=16M
	kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
	wait_for 10 test ! -e /dev/${UBD_PFX}b0

	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$lo" --buffered
	not grep -q "buffered" "$BATS_TEST_TMPDIR/server.log"
	grep -qx "direct_io=0" /run/ubd/0
	fio_verify /dev/${UBD_PFX}b0
	kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
	wait_for 10 test ! -e /dev/${UBD_PFX}b0

	# an offset O_DIRECT cannot use: buffered, said in one line
	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$lo" --offset 100 --size 64M
	cat "$BATS_TEST_TMPDIR/server.log"
	grep -q "offset '100' is not a multiple of its 512-byte direct I/O alignment; using buffered I/O" \
		"$BATS_TEST_TMPDIR/server.log"
	grep -qx "direct_io=0" /run/ubd/0
	fio_verify /dev/${UBD_PFX}b0
}

@test "discard punches holes in the image, write zeroes reads back zeroes" {
	truncate -s 64M "$IMG"
	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG"
	[ "$(cat /sys/block/${UBD_PFX}b0/queue/discard_max_bytes)" -gt 0 ]
	head -c 32M /dev/urandom >"$BATS_TEST_TMPDIR/data"
	dd if="$BATS_TEST_TMPDIR/data" of=/dev/${UBD_PFX}b0 bs=1M oflag=direct status=none
	before=$(blocks "$IMG")
	blkdiscard -o 0 -l 16M /dev/${UBD_PFX}b0
	after=$(blocks "$IMG")
	echo "blocks: $before -> $after"
	[ "$after" -le $((before - 16 * 2048)) ]
	cmp -n 16M /dev/${UBD_PFX}b0 /dev/zero
	# reading the holes (once written, so known to a mapping server)
	# leaves them holes
	echo "blocks after reading the holes: $(blocks "$IMG")"
	[ "$(blocks "$IMG")" -le "$after" ]

	blkdiscard -z -o 16M -l 8M /dev/${UBD_PFX}b0
	dd if=/dev/${UBD_PFX}b0 bs=1M skip=16 count=8 iflag=direct status=none |
		cmp - <(head -c 8M /dev/zero)
	# the data past the zeroed range is still there, byte for byte
	cmp <(dd if=/dev/${UBD_PFX}b0 bs=1M skip=24 count=8 iflag=direct status=none) \
		<(dd if="$BATS_TEST_TMPDIR/data" bs=1M skip=24 status=none)
}

@test "the disk's reads leave the image's atime alone" {
	truncate -s 64M "$IMG"
	# old enough that relatime would renew it on the first read
	touch -a -d 2001-01-01 "$IMG"
	before=$(stat -c %X "$IMG")
	ubd-loop --file "$IMG" --no-mmap --daemon >/dev/null
	dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=64k count=64 iflag=direct status=none
	[ "$(stat -c %X "$IMG")" = "$before" ]
}

@test "--offset and --size map the device onto a window of the file" {
	head -c 8M /dev/zero | tr '\0' 'x' >"$IMG"
	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG" --offset 1M --size 4M
	[ "$(blockdev --getsize64 /dev/${UBD_PFX}b0)" = 4194304 ]
	head -c 4M /dev/urandom >/tmp/ubd-loop-data.img
	dd if=/tmp/ubd-loop-data.img of=/dev/${UBD_PFX}b0 bs=1M oflag=direct status=none
	sync
	cmp <(dd if="$IMG" bs=1M skip=1 count=4 status=none) /tmp/ubd-loop-data.img
	# nothing outside the window was touched
	[ "$(head -c 1M "$IMG" | tr -d x | wc -c)" = 0 ]
	[ "$(tail -c 3M "$IMG" | tr -d x | wc -c)" = 0 ]
}

@test "--read-only exports a read-only device; a read-only file needs it" {
	mkdir -p /tmp/ubd-ro
	mount -t tmpfs -o size=16M tmpfs /tmp/ubd-ro
	truncate -s 8M /tmp/ubd-ro/img
	mount -o remount,ro /tmp/ubd-ro
	bad_input 1 "use --read-only" --file /tmp/ubd-ro/img

	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file /tmp/ubd-ro/img --read-only
	[ "$(blockdev --getro /dev/${UBD_PFX}b0)" = 1 ]
	grep -qx "read_only=1" /run/ubd/0
	not dd if=/dev/zero of=/dev/${UBD_PFX}b0 bs=4k count=1 oflag=direct status=none
	cmp -n 1M /dev/${UBD_PFX}b0 /dev/zero
}

@test "bad inputs: one line naming the value, the right status, nothing left" {
	bad_input 1 "cannot open '/tmp/nope.img': No such file or directory" \
		--file /tmp/nope.img
	mkdir -p /tmp/ubd-loop-dir
	bad_input 1 "'/tmp/ubd-loop-dir'" --file /tmp/ubd-loop-dir
	bad_input 1 "'/tmp/ubd-loop-dir'" --file /tmp/ubd-loop-dir --read-only
	rmdir /tmp/ubd-loop-dir

	head -c 1000 /dev/zero >"$IMG"
	bad_input 1 "size 1000" --file "$IMG"
	truncate -s 0 "$IMG"
	bad_input 1 "empty" --file "$IMG"
	truncate -s 1M "$IMG"
	bad_input 2 "size '1000'" --file "$IMG" --size 1000
	bad_input 2 "offset '2M'" --file "$IMG" --offset 2M
	bad_input 2 "size '2M'" --file "$IMG" --size 2M
	bad_input 2 "offset '512K' + size '768K'" --file "$IMG" \
		--offset 512K --size 768K
	bad_input 2 "'12abc'" --file "$IMG" -d 12abc
	bad_input 2 "'1x'" --file "$IMG" --offset 1x
	bad_input 2 "no --file" -q 1
	bad_input 2 "'extra'" --file "$IMG" extra
	run ubd-loop --file "$IMG" --bogus
	[ "$status" = 2 ]
	[ -z "$(ubd_ids)" ]
}

# jbd2 writes frozen copies of 1 KiB metadata blocks from a slab cache:
# with 1 KiB blocks and metadata changing while commits run, WRITE requests
# carry slab pages, which the driver must copy page-wise (a copy_to_user()
# of them is a hardened-usercopy BUG).
@test "ext4 with 1 KiB blocks under concurrent metadata churn and fsync" {
	ubd_only "a regression test of ubd_drv's copy of slab pages (time budget" \
		"of the compatibility pass)"
	truncate -s 128M "$IMG"
	dev=$(ubd-loop --file "$IMG" --daemon)
	mkfs.ext4 -q -F -b 1024 "$dev"
	mkdir -p "$MNT"
	mount "$dev" "$MNT"
	# allocating writers keep the bitmaps changing under the commits
	local pids=() p
	for w in 1 2; do
		(
			for i in 1 2 3 4 5 6; do
				dd if=/dev/zero of="$MNT/big$w" bs=1M count=8 \
					conv=fsync status=none
				rm -f "$MNT/big$w"
			done
		) &
		pids+=($!)
	done
	for w in 1 2; do
		(
			end=$((SECONDS + 8))
			i=0
			while [ $SECONDS -lt $end ]; do
				echo "$w $i" >"$MNT/f$w.$((i % 50))"
				[ $((i % 5)) = 0 ] && sync -f "$MNT"
				rm -f "$MNT/f$w.$(((i + 25) % 50))"
				i=$((i + 1))
			done
		) &
		pids+=($!)
	done
	# each writer's status: an error of the file system fails the test
	for p in "${pids[@]}"; do
		wait "$p"
	done
	umount "$MNT"
	fsck.ext4 -fn "$dev"
	pkill -TERM -x ubd-loop
	wait_for 10 no_servers ubd-loop
}

@test "the README flow: ubdctl add, ubd-loop -n, ext4, ubdctl del, attach again" {
	ubd_only "time budget of the compatibility pass: 'serves a device made" \
		"by ubdctl add' and the ext4 test cover it"
	truncate -s 256M "$IMG"
	id=$(ubdctl add)
	dev=$(ubd-loop --file "$IMG" -n "$id" --daemon)
	[ "$dev" = "/dev/${UBD_PFX}b$id" ]
	mkfs.ext4 -q -F "$dev"
	mkdir -p "$MNT"
	mount "$dev" "$MNT"
	head -c 100M /dev/urandom >"$MNT/data"
	sum1=$(sha256sum <"$MNT/data")
	umount "$MNT"
	run ubdctl del "$id"
	echo "del: $status $output"
	[ "$status" = 0 ]
	no_servers ubd-loop
	[ -z "$(ubd_ids)" ]

	id=$(ubdctl add)
	dev=$(ubd-loop --file "$IMG" -n "$id" --daemon)
	mount "$dev" "$MNT"
	sum2=$(sha256sum <"$MNT/data")
	umount "$MNT"
	ubdctl del "$id"
	echo "$sum1 / $sum2"
	[ "$sum1" = "$sum2" ]
}

@test "NEED_GET_DATA: writes arrive in two steps and verify" {
	truncate -s 64M "$IMG"
	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG" --need-get-data -q 2
	ubdctl list -J -O FLAGS 0 | tee "$BATS_TEST_TMPDIR/list.json"
	jq -e '.ubddevices[0].flags | contains("NEED_GET_DATA")' \
		"$BATS_TEST_TMPDIR/list.json"
	fio_verify /dev/${UBD_PFX}b0 --numjobs=2 --offset_increment=32M
}

@test "module unloads cleanly" {
	ubd_assert_unload
}
