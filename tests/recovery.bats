#!/usr/bin/env bats
# Devices that outlive their server: user recovery (on, reissue, fail-io),
# ubdctl recover and quiesce for a planned hand-over, and resizing
# (ubdctl resize, ubd-loop following its grown file).
# ubd-compat: yes

load common
load generic
bats_require_minimum_version 1.5.0

IMG=/tmp/ubd-recovery.img
MNT=/tmp/ubd-mnt-recovery
DEV=/dev/${UBD_PFX}b0

setup_file() {
	ubd_load
}

teardown() {
	umount -q "$MNT" 2>/dev/null || true
	ubd_cleanup
	rm -f "$IMG"
}

# device 0 has completed more than $1 ios
ios_over() {
	[ "$(dev_ios 0)" -gt "$1" ]
}

# $DEV has $1 bytes
size_is() {
	[ "$(blockdev --getsize64 "$DEV")" = "$1" ]
}

# the pid of the server of device 0, from the driver
server_pid() {
	dev_field 0 pid
}

# kill -9 the server of device 0 and wait until the driver has noticed
crash_server() {
	local pid want=$1
	pid=$(server_pid)
	[ -n "$pid" ] && [ "$pid" -gt 0 ] || { echo "no server pid"; return 1; }
	kill -9 "$pid"
	wait_for 10 dev_state_is 0 "$want" || {
		echo "device 0 is $(dev_field 0 state), not $want, after the kill"
		return 1
	}
	wait_for 10 ended "$pid"
}

# a verifying write job on $DEV in the background: FIO_PID, json in $1
verify_fio() {
	local out=$1; shift
	fio --name=v --filename="$DEV" --rw=randwrite --bs=4k --size=96M \
		--iodepth=16 --ioengine=io_uring --direct=1 \
		--verify=crc32c --do_verify=1 --verify_fatal=1 \
		--output-format=json --output="$out" "$@" \
		>/dev/null 2>"$out.err" &
	FIO_PID=$!
}

# fio ($1, its json in $2) ended with status 0 and no error at all
fio_clean() {
	local st
	wait_ended 120 "$1" || return 1
	status_of st "$1"
	if [ "$st" != 0 ] || ! jq -e '.jobs[0].error == 0' "$2" >/dev/null; then
		echo "fio status $st:"; cat "$2.err"; jq '.jobs[0].error' "$2"
		return 1
	fi
}

@test "add refuses a bad recovery mode; --recover needs -n; recover needs a recovery device" {
	run -2 ubdctl add --recovery=sometimes
	[[ $output == *"invalid recovery mode 'sometimes'"* ]]
	run -2 ubd-null --recover
	[[ $output == *"--recover needs the device"* ]]
	[ -z "$(ubd_ids)" ]

	ubdctl add -n 0
	run -1 ubd-null --recover -n 0
	echo "$output"
	[[ $output == *"added without recovery"* ]]
	run -2 ubdctl recover 0
	[[ $output == *"added without recovery"* ]]
	run -2 ubdctl quiesce 0
	[[ $output == *"cannot be quiesced"* ]]
	run -1 ubdctl recover 7
	[[ $output == *"device 7 does not exist"* ]]
}

@test "list shows the recovery flags a device was added with" {
	require_feature USER_RECOVERY_REISSUE
	ubdctl add -n 0 --recovery=reissue
	run ubdctl list -J -O ID,FLAGS
	echo "$output"
	[[ $output == *USER_RECOVERY* ]]
	[[ $output == *USER_RECOVERY_REISSUE* ]]
}

@test "reissue: a server killed under fio --verify is replaced; fio sees no error" {
	require_feature USER_RECOVERY_REISSUE
	truncate -s 128M "$IMG"
	run -0 ubd-loop --file "$IMG" -n 0 -q 2 --recovery=reissue --daemon
	[ "${lines[-1]}" = "$DEV" ]
	verify_fio "$BATS_TEST_TMPDIR/fio.json"
	wait_for 60 ios_over 2000
	ended "$FIO_PID" && { echo "fio ended before the kill"; cat "$BATS_TEST_TMPDIR/fio.json.err"; return 1; }

	crash_server QUIESCED
	run -0 ubdctl recover 0
	echo "$output"
	[ "${lines[-1]}" = "$DEV" ]
	dev_state_is 0 LIVE
	fio_clean "$FIO_PID" "$BATS_TEST_TMPDIR/fio.json"
	jq '.jobs[0].write.total_ios' "$BATS_TEST_TMPDIR/fio.json"
}

@test "on: io held by the dead server fails, io issued meanwhile waits and succeeds" {
	ubd_only "a stalled server holds START for ever on ublk 6.1 (no START timeout)"
	# the server holds every io and never answers
	run -0 ubd-null -n 0 -s 64M --recovery --fault stall-queue=0 --daemon
	# in flight at the server when it dies
	dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct 2>"$BATS_TEST_TMPDIR/dd1" &
	local dd1=$!
	wait_for 20 in_flight
	crash_server QUIESCED
	wait_ended 10 "$dd1"
	local st
	status_of st "$dd1"
	[ "$st" != 0 ] || { echo "the held read did not fail"; return 1; }

	# issued while nobody serves: waits
	dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct 2>"$BATS_TEST_TMPDIR/dd2" &
	local dd2=$!
	sleep 1
	ended "$dd2" && { echo "the read did not wait for recovery"; cat "$BATS_TEST_TMPDIR/dd2"; return 1; }
	# the new server runs without the delay
	ubd-null -n 0 -s 64M --recover --daemon
	wait_ended 10 "$dd2"
	status_of st "$dd2"
	[ "$st" = 0 ] || { cat "$BATS_TEST_TMPDIR/dd2"; return 1; }
	dev_state_is 0 LIVE
}

@test "fail-io: with no server io fails at once; after recovery it works" {
	require_feature USER_RECOVERY_FAIL_IO
	run -0 ubd-null -n 0 -s 64M --recovery=fail-io --daemon
	crash_server FAIL_IO
	local t0 t1
	stamp t0
	run ! dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct
	stamp t1
	echo "# fail-io: read failed after $(elapsed "$t0" "$t1") s" >&3
	lt "$(elapsed "$t0" "$t1")" 3
	run -0 ubdctl recover 0
	dd if="$DEV" of=/dev/null bs=4k count=16 iflag=direct
	dev_state_is 0 LIVE
}

@test "recovering twice in a row keeps the data" {
	require_feature USER_RECOVERY
	head -c 32M /dev/urandom >"$IMG"
	local sum
	sum=$(md5sum <"$IMG")
	ubd-loop --file "$IMG" -n 0 --recovery --daemon
	crash_server QUIESCED
	ubdctl recover 0
	crash_server QUIESCED
	ubdctl recover 0
	[ "$(md5sum <"$DEV")" = "$sum" ]
	# the suffix "ubdctl recover" adds does not pile up
	grep -c '^arg=--recover$' "$UBD_RUN_DIR/0"
	[ "$(grep -c '^arg=--recover$' "$UBD_RUN_DIR/0")" = 1 ]
}

@test "a device waiting for recovery can be deleted; waiting io fails" {
	require_feature USER_RECOVERY
	run -0 ubd-null -n 0 -s 64M --recovery --daemon
	crash_server QUIESCED
	dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null &
	local dd=$!
	sleep 0.5
	timeout 20 ubdctl del 0
	wait_ended 10 "$dd"
	local st
	status_of st "$dd"
	[ "$st" != 0 ]
	assert_all_gone
}

@test "quiesce: a planned hand-over under fio --verify fails no io" {
	require_feature QUIESCE
	truncate -s 128M "$IMG"
	ubd-loop --file "$IMG" -n 0 -q 2 --recovery --daemon
	local old
	old=$(server_pid)
	verify_fio "$BATS_TEST_TMPDIR/fio.json"
	wait_for 60 ios_over 2000
	ended "$FIO_PID" && { echo "fio ended before the quiesce"; return 1; }

	ubdctl quiesce 0
	dev_state_is 0 QUIESCED
	wait_ended 10 "$old"
	run -0 ubdctl recover 0
	[ "${lines[-1]}" = "$DEV" ]
	[ "$(server_pid)" != "$old" ]
	fio_clean "$FIO_PID" "$BATS_TEST_TMPDIR/fio.json"
}

@test "quiesce gives up with a clear error when io does not drain" {
	require_feature QUIESCE
	run -0 ubd-null -n 0 -s 64M --recovery --fault stall-queue=0 --daemon
	dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null &
	local dd=$!
	wait_for 20 in_flight
	run -2 ubdctl quiesce --timeout 300 0
	echo "$output"
	[[ $output == *"still in flight after 300 ms; nothing changed"* ]]
	dev_state_is 0 LIVE
	in_flight
	not ended "$dd"
	# a live device: the server's death ends it and fails the read
	kill -9 "$(server_pid)"
	wait_ended 15 "$dd"
	local st
	status_of st "$dd"
	[ "$st" != 0 ]
}

@test "resize: ubdctl resize changes the disk; bad sizes are refused" {
	require_feature UPDATE_SIZE
	run -0 ubd-null -n 0 -s 64M --daemon
	ubdctl resize 0 256M
	[ "$(blockdev --getsize64 "$DEV")" = $((256 << 20)) ]
	ubdctl resize 0 16M
	[ "$(blockdev --getsize64 "$DEV")" = $((16 << 20)) ]
	run -2 ubdctl resize 0 1000
	[[ $output == *"size '1000'"* ]]
	run -2 ubdctl resize 0
	[[ $output == *"no size given"* ]]
	run -1 ubdctl resize 5 1G
	[[ $output == *"device 5 does not exist"* ]]
	[ "$(blockdev --getsize64 "$DEV")" = $((16 << 20)) ]
}

@test "ubd-loop follows its grown file; a mounted ext4 grows with resize2fs" {
	require_feature UPDATE_SIZE
	truncate -s 64M "$IMG"
	mkfs.ext4 -q -F "$IMG"
	ubd-loop --file "$IMG" -n 0 --daemon
	mkdir -p "$MNT"
	mount "$DEV" "$MNT"
	local before after
	before=$(df -k --output=size "$MNT" | tail -n1)
	truncate -s 160M "$IMG"
	wait_for 10 size_is $((160 << 20)) || {
		echo "size stayed $(blockdev --getsize64 "$DEV")"; return 1; }
	resize2fs "$DEV"
	after=$(df -k --output=size "$MNT" | tail -n1)
	echo "ext4: $before KiB -> $after KiB"
	[ "$after" -gt $((before * 2)) ]
	umount "$MNT"
	e2fsck -fn "$DEV"
}

@test "the module unloads" {
	ubd_assert_unload
}
