#!/usr/bin/env bats
# USER_COPY (--user-copy): the server moves the data with pread/pwrite on
# /dev/ubdcN.  The targets with the option end to end, and ubd-uctest at
# the driver's edges (bad offsets, directions, lengths; copies racing with
# the failing of a stuck server's io).

load common
bats_require_minimum_version 1.5.0

IMG=/tmp/ubd-uc.img
MNT=/tmp/ubd-mnt-uc
UCTEST="$UBD_BUILDDIR/tests/ubd-uctest"

setup_file() {
	ubd_load
}

teardown() {
	ubd_cleanup
	umount -q "$MNT" 2>/dev/null || true
	losetup -D 2>/dev/null || true
	rm -f "$IMG" /tmp/ubd-uc-*
}

# the device serves with USER_COPY, as list reports it
has_user_copy() {
	ubdctl list -J -O FLAGS "$1" | tee "$BATS_TEST_TMPDIR/list.json"
	jq -e '.ubddevices[0].flags | contains("USER_COPY")' \
		"$BATS_TEST_TMPDIR/list.json"
	not jq -e '.ubddevices[0].flags | contains("NEED_GET_DATA")' \
		"$BATS_TEST_TMPDIR/list.json"
}

@test "ubd-uctest: bad pread/pwrite get their errno, copies race a failing io" {
	run "$UCTEST"
	echo "$output"
	[ "$status" != 77 ] || skip "the driver lacks USER_COPY"
	echo "# ubd-uctest: $(grep -c '^ok' <<<"$output") checks passed," \
		"$(grep -c '^not ok' <<<"$output") failed" >&3
	grep 'copies from the held WRITE' <<<"$output" | sed 's/^/# /' >&3
	[ "$status" = 0 ]
	not grep -q '^not ok' <<<"$output"
	# it got to the end: the stuck-server part ran
	grep -q 'pread of the failed WRITE after STOP' <<<"$output"
}

@test "ubd-null --user-copy: the flag is granted, reads return zeroes" {
	serve_bg /dev/${UBD_PFX}b0 ubd-null --user-copy -s 64M
	has_user_copy 0
	dd if=/dev/urandom of=/dev/${UBD_PFX}b0 bs=64k count=16 oflag=direct
	dd if=/dev/${UBD_PFX}b0 bs=1M count=4 iflag=direct status=none |
		cmp -n 4194304 - /dev/zero
}

@test "ubd-null --user-copy: fio randrw, 1 and 2 queues, direct and buffered" {
	for q in 1 2; do
		serve_bg /dev/${UBD_PFX}b0 ubd-null --user-copy -q $q -s 256M
		for direct in 1 0; do
			fio --name=t --filename=/dev/${UBD_PFX}b0 --rw=randrw \
				--bs=4k --iodepth=16 --ioengine=io_uring \
				--direct=$direct --runtime=2 --time_based \
				--numjobs=2 --group_reporting \
				--output-format=json >"$BATS_TEST_TMPDIR/fio.json"
			jq -c '.jobs[0] | {error, r: .read.total_ios,
				w: .write.total_ios}' "$BATS_TEST_TMPDIR/fio.json"
			jq -e '.jobs[0] | .error == 0 and .read.total_ios > 100
				and .write.total_ios > 100' \
				"$BATS_TEST_TMPDIR/fio.json"
		done
		kill "$SERVER_PID"; wait "$SERVER_PID"
		wait_for 10 test ! -e /dev/${UBD_PFX}b0
	done
}

@test "ubd-loop --user-copy: fio verify, 1 and 2 queues, direct and buffered" {
	truncate -s 64M "$IMG"
	for q in 1 2; do
		serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG" --user-copy -q $q
		has_user_copy 0
		fio_verify /dev/${UBD_PFX}b0 --direct=1 --numjobs=2 \
			--offset_increment=32M
		fio_verify /dev/${UBD_PFX}b0 --direct=0 --size=16M
		kill "$SERVER_PID"; wait "$SERVER_PID"
		wait_for 10 test ! -e /dev/${UBD_PFX}b0
	done
}

@test "ubd-loop --user-copy: a known pattern lands in the backing file" {
	truncate -s 64M "$IMG"
	# 8 MiB of a repeating, position-dependent pattern
	for i in $(seq 0 2047); do printf '%08x' "$i"; done >/tmp/ubd-uc-unit
	for i in $(seq 1 512); do cat /tmp/ubd-uc-unit; done >/tmp/ubd-uc-pattern
	[ "$(stat -c %s /tmp/ubd-uc-pattern)" = 8388608 ]
	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG" --user-copy -q 2
	dd if=/tmp/ubd-uc-pattern of=/dev/${UBD_PFX}b0 bs=128k seek=40 \
		oflag=direct status=none
	# odd-sized buffered writes at an odd offset (6000 * 3584 bytes)
	dd if=/tmp/ubd-uc-pattern of=/dev/${UBD_PFX}b0 bs=3584 seek=6000 \
		conv=fsync status=none
	cmp -n 8388608 -i 0:5242880 /tmp/ubd-uc-pattern "$IMG"
	cmp -n 8388608 -i 0:21504000 /tmp/ubd-uc-pattern "$IMG"
	# and reads bring it back: direct, and through the page cache
	dd if=/dev/${UBD_PFX}b0 bs=128k skip=40 count=64 iflag=direct \
		status=none | cmp - /tmp/ubd-uc-pattern
	echo 3 >/proc/sys/vm/drop_caches
	cmp -n 8388608 -i 21504000:0 /dev/${UBD_PFX}b0 /tmp/ubd-uc-pattern
}

@test "ubd-loop --user-copy: ext4 made, filled, checked and remounted" {
	truncate -s 256M "$IMG"
	serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG" --user-copy -q 2
	mkfs.ext4 -q -F /dev/${UBD_PFX}b0
	mkdir -p "$MNT"
	mount /dev/${UBD_PFX}b0 "$MNT"
	head -c 64M /dev/urandom >"$MNT/data"
	cp -r "$UBD_SRCDIR/lib" "$MNT/lib"
	sync
	sum1=$(sha256sum <"$MNT/data")
	umount "$MNT"
	fsck.ext4 -n -f /dev/${UBD_PFX}b0
	echo 3 >/proc/sys/vm/drop_caches
	mount /dev/${UBD_PFX}b0 "$MNT"
	sum2=$(sha256sum <"$MNT/data")
	diff -r "$UBD_SRCDIR/lib" "$MNT/lib"
	umount "$MNT"
	echo "$sum1 / $sum2"
	[ "$sum1" = "$sum2" ]
	# the backing file holds the same file system
	kill "$SERVER_PID"; wait "$SERVER_PID"
	fsck.ext4 -n -f "$IMG"
}

@test "ubd-null --user-copy: a READ failed by STOP before the server answers" {
	# every io waits 4 s in the server; STOP fails what it holds after 2 s,
	# so the data of this READ comes back to a request that has ended:
	# the WRITE of the data fails, its linked COMMIT is cancelled and sent
	# again with the error, and everything still ends cleanly
	ubd-null --user-copy -s 64M --fault delay=4000 \
		>"$BATS_TEST_TMPDIR/server.log" 2>&1 &
	SERVER_PID=$!
	# live: START has read the partition table (4 s a read)
	wait_for 90 grep -q "is live" "$BATS_TEST_TMPDIR/server.log"
	[ "$(blockdev --getsize64 /dev/${UBD_PFX}b0)" = 67108864 ]
	dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k skip=8192 count=1 \
		iflag=direct 2>"$BATS_TEST_TMPDIR/dd.err" &
	local dd_pid=$! st
	sleep 0.5
	kill -TERM "$SERVER_PID"
	st=0; wait "$dd_pid" || st=$?
	echo "dd: $st $(cat "$BATS_TEST_TMPDIR/dd.err")"
	wait_for 20 bash -c "! kill -0 $SERVER_PID 2>/dev/null"
	cat "$BATS_TEST_TMPDIR/server.log"
	[ "$st" != 0 ]
	grep -q "writing the data of a read" "$BATS_TEST_TMPDIR/server.log"
	[ ! -e /dev/${UBD_PFX}b0 ]
	[ -z "$(ubd_ids)" ]
}

@test "--user-copy with --need-get-data is refused, nothing left behind" {
	truncate -s 64M "$IMG"
	for tool in ubd-null "ubd-loop --file $IMG"; do
		run --separate-stderr $tool --user-copy --need-get-data
		echo "$tool: status=$status stderr=$stderr"
		[ "$status" = 2 ]
		[ "$(printf '%s\n' "$stderr" | wc -l)" = 1 ]
		[[ "$stderr" == *"--user-copy and --need-get-data cannot be combined"* ]]
		[ -z "$(ubd_ids)" ]
		no_servers
	done
}

@test "--user-copy on a device made without it fails in one line" {
	id=$(ubdctl add)
	run --separate-stderr ubd-null -n "$id" --user-copy
	echo "status=$status stderr=$stderr"
	[ "$status" = 1 ]
	[ "$(printf '%s\n' "$stderr" | wc -l)" = 1 ]
	[[ "$stderr" == *"device $id was not created with USER_COPY"* ]]
	# the device is ubdctl's: still there, not LIVE, and no server
	run ubdctl list -n -O STATE "$id"
	echo "$output"
	[ "$status" = 0 ]
	[ -n "$output" ]
	[ "$output" != LIVE ]
	no_servers
	ubdctl del "$id"
	[ -z "$(ubd_ids)" ]
}

@test "features names USER_COPY" {
	run ubdctl features
	echo "$output"
	grep -qx USER_COPY <<<"$output"
}

@test "module unloads cleanly" {
	ubd_assert_unload
}
