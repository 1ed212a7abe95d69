#!/usr/bin/env bats
# Reliability: servers that go away, stall, crash, crawl or never answer,
# under heavy io.  Nothing may hang, every device must go away, the
# module must unload.
# ubd-compat: yes (also runs against the kernel's ublk_drv: common.bash)
# Under it, one case each of delete and kill -9 runs (null, 2 queues); the
# kill -9 limits are ublk 6.1's: it polls for a dead server every 5 s.
#
# STRESS: by default every delete/kill case runs once (~2.5 min in the
# guest with 4 CPUs); STRESS=1 runs each of them 5 times and keeps fio
# running 3 s (not 1.5 s) before the delete or kill.
#
# Figures are printed as TAP comments: "# del during fio: ...",
# "# kill->error 0.123 s ...", "# stall-queue: del took ...".

load common
load generic

IMG=/tmp/ubd-generic-death.img

setup_file() {
	ubd_load
}

teardown() {
	ubd_cleanup
	rm -f "$IMG"
}

ROUNDS=${STRESS:+5}
ROUNDS=${ROUNDS:-1}
RUN_SECS=${STRESS:+3}
RUN_SECS=${RUN_SECS:-1.5}

# start the server of target $1 with $2 queues on device 0 (it adds it)
start_target() {
	case $1 in
	null) serve_bg /dev/${UBD_PFX}b0 ubd-null -q "$2" -d 128 -s 256M ;;
	loop)
		truncate -s 128M "$IMG"
		serve_bg /dev/${UBD_PFX}b0 ubd-loop --file "$IMG" -q "$2" -d 128
		;;
	esac
	wait_for 10 dev_state_is 0 LIVE
}

# 1. DEL from outside while fio hammers the device
del_during_fio() {
	local target=$1 nq=$2 r t0 t1 st fst errs
	for r in $(seq "$ROUNDS"); do
		start_target "$target" "$nq"
		heavy_fio /dev/${UBD_PFX}b0 "$BATS_TEST_TMPDIR/fio.json"
		wait_busy 0
		sleep "$RUN_SECS"
		ended "$FIO_PID" && { echo "fio ended before the delete:";
			cat "$BATS_TEST_TMPDIR/fio.json.err"; return 1; }
		stamp t0
		st=0
		timeout 30 ubdctl del 0 || st=$?
		stamp t1
		echo "round $r: ubdctl del: status $st after $(elapsed "$t0" "$t1") s"
		[ "$st" = 0 ]
		wait_ended 15 "$FIO_PID"
		status_of fst "$FIO_PID"
		errs=$(fio_errors "$BATS_TEST_TMPDIR/fio.json" || echo "?")
		echo "round $r: fio exit $fst, error sum $errs after $(elapsed "$t0" "$(now)") s"
		head -3 "$BATS_TEST_TMPDIR/fio.json.err"
		echo "# del during fio ($target, $nq queue(s)): del ${st}" \
			"in $(elapsed "$t0" "$t1") s, fio exit $fst errors $errs" >&3
		[ "$fst" != 0 ]
		wait_ended 10 "$SERVER_PID"
		status_of st "$SERVER_PID"
		echo "server exit $st"; cat "$BATS_TEST_TMPDIR/server.log"
		[ "$st" = 0 ]
		assert_all_gone
	done
}

@test "delete during heavy fio: null, 1 queue" {
	ubd_only "time budget of the compatibility pass: "null, 2 queues" covers it"
	del_during_fio null 1
}

@test "delete during heavy fio: null, 2 queues" {
	del_during_fio null 2
}

@test "delete during heavy fio: loop, 1 queue" {
	ubd_only "time budget of the compatibility pass: "null, 2 queues" covers it"
	del_during_fio loop 1
}

@test "delete during heavy fio: loop, 2 queues" {
	ubd_only "time budget of the compatibility pass: "null, 2 queues" covers it"
	del_during_fio loop 2
}

# 2. kill -9 of the server while fio hammers the device
kill_during_fio() {
	local target=$1 nq=$2 r t0 t1 t2 secs st
	for r in $(seq "$ROUNDS"); do
		start_target "$target" "$nq"
		heavy_fio /dev/${UBD_PFX}b0 "$BATS_TEST_TMPDIR/fio.json"
		wait_busy 0
		sleep "$RUN_SECS"
		ended "$FIO_PID" && { echo "fio ended before the kill:";
			cat "$BATS_TEST_TMPDIR/fio.json.err"; return 1; }
		# a light reader next to fio: its end is the first error
		# (fio's own end includes its teardown, slow under emulation);
		# it stamps its end itself, so that the polls of wait_ended
		# and fio's load on the CPUs stay out of the measure
		(
			dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k iflag=direct \
				2>"$BATS_TEST_TMPDIR/dd.err" || true
			stamp t1; echo "$t1" >"$BATS_TEST_TMPDIR/dd.end"
		) &
		local dd=$!
		sleep 0.5
		not ended "$dd"
		stamp t0
		kill -9 "$SERVER_PID"
		wait_ended "$KILL_END_SECS" "$dd"
		read_end t1 "$BATS_TEST_TMPDIR/dd.end"
		wait_ended 10 "$FIO_PID"
		stamp t2
		secs=$(elapsed "$t0" "$t1")
		status_of st "$FIO_PID"
		echo "# kill->error $secs s ($target, $nq queue(s));" \
			"fio ended after $(elapsed "$t0" "$t2") s, exit $st" >&3
		echo "round $r: reader ended ${secs}s after kill -9: $(head -1 "$BATS_TEST_TMPDIR/dd.err")"
		echo "fio exit $st $(elapsed "$t0" "$t2") s after kill -9; $(head -2 "$BATS_TEST_TMPDIR/fio.json.err")"
		grep -q "Input/output error" "$BATS_TEST_TMPDIR/dd.err"
		[ "$st" != 0 ]
		lt "$secs" "$KILL_ERR_SECS"
		lt "$(elapsed "$t0" "$t2")" "$KILL_END_SECS"
		wait_for "$UBD_DEAD_SECS" dev_state_is 0 DEAD || {
			echo "state: $(dev_field 0 state)"; return 1; }
		echo "pid in list: $(dev_field 0 pid)"
		[ ! -e /dev/${UBD_PFX}b0 ]
		st=0
		timeout 30 ubdctl del 0 || st=$?
		echo "ubdctl del: $st"
		[ "$st" = 0 ]
		assert_all_gone
	done
}

# (under the compatibility pass: within $KILL_ERR_SECS s, see above)
@test "kill -9 during heavy fio: null, 2 queues: io fails within 1 s, DEAD, del works" {
	if ubd_compat; then
		echo "# $UBD_MOD: io must fail within $KILL_ERR_SECS s of kill -9" >&3
	fi
	kill_during_fio null 2
}

@test "kill -9 during heavy fio: loop, 2 queues: io fails within 1 s, DEAD, del works" {
	ubd_only "time budget of the compatibility pass: "null, 2 queues" covers it"
	kill_during_fio loop 2
}

# 3. one queue of two misbehaves.  The server runs on CPU 0 (queue 0), so
# that add_disk()'s partition read reaches the healthy queue: on the bad
# queue it would hit the START_DEV hang of the "silent server" test.
@test "queue 1 stalls (stall-queue=1): queue 0 serves, del fails the held io and the server exits" {
	ubd_only "failing the io a live server holds at del is ubd_drv's stop" \
		"grace; ublk 6.1 has no io timeout and its del_gendisk waits for" \
		"that io for ever"
	serve_bg /dev/${UBD_PFX}b0 taskset -c 0 ubd-null -q 2 -s 256M \
		--fault stall-queue=1
	wait_for 10 dev_state_is 0 LIVE
	local c0 c1 t0 t1 st
	c0=$(queue_cpu 0 0) c1=$(queue_cpu 0 1)
	echo "queue 0 on CPU $c0, queue 1 on CPU $c1"
	taskset -c "$c1" dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k count=1 skip=77 \
		iflag=direct 2>"$BATS_TEST_TMPDIR/dd.err" &
	local dd=$!
	taskset -c "$c0" fio --name=q0 --filename=/dev/${UBD_PFX}b0 --rw=randread \
		--bs=4k --iodepth=16 --ioengine=io_uring --direct=1 \
		--runtime=2 --time_based --output-format=json \
		--output="$BATS_TEST_TMPDIR/fio.json"
	echo "queue 0 while queue 1 stalls: errors $(fio_errors "$BATS_TEST_TMPDIR/fio.json") ios $(fio_ios "$BATS_TEST_TMPDIR/fio.json")"
	[ "$(fio_errors "$BATS_TEST_TMPDIR/fio.json")" = 0 ]
	[ "$(fio_ios "$BATS_TEST_TMPDIR/fio.json")" -gt 10 ]
	echo "the reader on queue 1 must still wait"
	not ended "$dd"

	stamp t0
	st=0
	timeout 30 ubdctl del 0 || st=$?
	stamp t1
	echo "# stall-queue: del took $(elapsed "$t0" "$t1") s (status $st)" >&3
	echo "del status $st after $(elapsed "$t0" "$t1") s"
	[ "$st" = 0 ]
	lt "$(elapsed "$t0" "$t1")" 10
	wait_ended 5 "$dd"
	status_of st "$dd"
	echo "queue 1 reader: exit $st: $(cat "$BATS_TEST_TMPDIR/dd.err")"
	[ "$st" != 0 ]
	wait_ended 10 "$SERVER_PID"
	status_of st "$SERVER_PID"
	echo "server exit $st"; cat "$BATS_TEST_TMPDIR/server.log"
	[ "$st" = 0 ]
	assert_all_gone
}

@test "queue 1 thread dies (exit-queue=1) under io on both queues: all io fails, DEAD, del works" {
	ubd_only "the 2 s to fail queue 0's io is ubd_drv's per-queue death" \
		"watch; ublk 6.1 notices a dead queue thread by polling every 5 s"
	id=$(ubdctl add -q 2)
	[ "$id" = 0 ]
	serve_bg /dev/${UBD_PFX}b0 taskset -c 0 ubd-null -n 0 -s 256M \
		--fault exit-queue=1
	wait_for 10 dev_state_is 0 LIVE
	local c0 c1 t0 t1 st
	c0=$(queue_cpu 0 0) c1=$(queue_cpu 0 1)
	echo "queue 0 on CPU $c0, queue 1 on CPU $c1"
	heavy_fio /dev/${UBD_PFX}b0 "$BATS_TEST_TMPDIR/fio.json" --numjobs=1 \
		--cpus_allowed="$c0"
	wait_busy 0
	not ended "$FIO_PID"
	# a light reader on queue 0: its end, which it stamps itself, is
	# queue 0's first error
	(
		st=0
		taskset -c "$c0" dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k \
			iflag=direct 2>"$BATS_TEST_TMPDIR/dd0.err" || st=$?
		stamp t2; echo "$t2" >"$BATS_TEST_TMPDIR/dd0.end"
		echo "$st" >"$BATS_TEST_TMPDIR/dd0.st"
	) &
	local dd0=$!
	sleep 0.5
	not ended "$dd0"
	stamp t0
	taskset -c "$c1" dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k count=1 skip=77 \
		iflag=direct 2>"$BATS_TEST_TMPDIR/dd.err" && {
		echo "the read on queue 1 succeeded"; return 1; }
	stamp t1
	wait_ended 10 "$dd0"
	local t2
	read_end t2 "$BATS_TEST_TMPDIR/dd0.end"
	echo "queue 1 reader failed after $(elapsed "$t0" "$t1") s: $(cat "$BATS_TEST_TMPDIR/dd.err")"
	wait_ended 10 "$FIO_PID"
	local t3
	stamp t3
	echo "# exit-queue: from the io on queue 1: it failed in $(elapsed "$t0" "$t1") s," \
		"queue 0's reader in $(elapsed "$t0" "$t2") s, its fio ended in $(elapsed "$t0" "$t3") s" >&3
	echo "queue 0 reader ended $(elapsed "$t0" "$t2") s after: $(head -1 "$BATS_TEST_TMPDIR/dd0.err")"
	status_of st "$FIO_PID"
	# (writes after del_gendisk() get ENOSPC: the capacity is 0 then)
	echo "queue 0 fio: exit $st $(elapsed "$t0" "$t3") s after: $(head -2 "$BATS_TEST_TMPDIR/fio.json.err")"
	[ "$st" != 0 ]
	# the queue 0 reader ends with EIO, or with EOF once del_gendisk()
	# has zeroed the capacity: either way it ends, which is checked above
	echo "queue 0 reader: exit $(cat "$BATS_TEST_TMPDIR/dd0.st")"
	lt "$(elapsed "$t0" "$t2")" 2
	lt "$(elapsed "$t0" "$t3")" 5
	wait_for 5 dev_state_is 0 DEAD || {
		echo "state: $(dev_field 0 state)"; return 1; }
	[ ! -e /dev/${UBD_PFX}b0 ]
	wait_ended 10 "$SERVER_PID"
	status_of st "$SERVER_PID"
	echo "server exit $st"; cat "$BATS_TEST_TMPDIR/server.log"
	st=0
	timeout 30 ubdctl del 0 || st=$?
	echo "ubdctl del: $st"
	[ "$st" = 0 ]
	assert_all_gone
}

# 6. a slow server: every io takes 1.5 s, the block layer times out at 1 s
@test "slow server (delay=1500, io_timeout 1000 ms): io completes, del works" {
	ubd_only "time budget of the compatibility pass: "delete during heavy fio" covers it"
	local t0 t1 st dev
	stamp t0
	dev=$(timeout 120 ubd-null -s 64M --fault delay=1500 --daemon)
	echo "live after $(elapsed "$t0" "$(now)") s: $dev"
	[ "$dev" = /dev/${UBD_PFX}b0 ]
	echo 1000 >/sys/block/${UBD_PFX}b0/queue/io_timeout
	[ "$(cat /sys/block/${UBD_PFX}b0/queue/io_timeout)" = 1000 ]
	stamp t0
	dd if=/dev/urandom of="$BATS_TEST_TMPDIR/data" bs=4k count=2 status=none
	dd if="$BATS_TEST_TMPDIR/data" of=/dev/${UBD_PFX}b0 bs=4k count=2 \
		oflag=direct status=none
	dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k count=2 skip=9 iflag=direct \
		status=none
	stamp t1
	echo "# delay=1500: 4 ios took $(elapsed "$t0" "$t1") s" >&3
	echo "4 ios took $(elapsed "$t0" "$t1") s"
	lt 5.9 "$(elapsed "$t0" "$t1")"
	lt "$(elapsed "$t0" "$t1")" 30

	# an io in flight when DEL comes: the live server still finishes it
	dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k count=1 skip=20 iflag=direct \
		2>"$BATS_TEST_TMPDIR/dd.err" &
	local dd=$!
	sleep 0.5
	stamp t0
	st=0
	timeout 30 ubdctl del 0 || st=$?
	stamp t1
	echo "del: status $st after $(elapsed "$t0" "$t1") s"
	echo "# delay=1500: del took $(elapsed "$t0" "$t1") s" >&3
	[ "$st" = 0 ]
	lt "$(elapsed "$t0" "$t1")" 10
	wait_ended 5 "$dd"
	status_of st "$dd"
	echo "reader: exit $st $(cat "$BATS_TEST_TMPDIR/dd.err")"
	[ "$st" = 0 ]
	wait_for 10 no_servers
	assert_all_gone
}

# A server that answers no io.  START_DEV reads the partition table through
# it while holding ub->mutex: the driver fails the first unanswered read
# after 5 s and every later one at once, so START ends and other control
# commands are not held; then del fails what the server holds after the 2 s
# stop grace.  (This hung for ever before the driver fixed it.)
@test "silent server: io hangs, del works within a few s, the reader gets an error" {
	ubd_only "failing unanswered io at START and del is ubd_drv's; ublk 6.1" \
		"has no io timeout: START_DEV's partition read never ends and" \
		"holds the device mutex, so del hangs for ever"
	local t0 t1 st del rd
	ubd-null -s 64M --fault silent >"$BATS_TEST_TMPDIR/server.log" 2>&1 &
	SERVER_PID=$!
	wait_for 20 test -b /dev/${UBD_PFX}b0
	dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k count=1 skip=3 iflag=direct \
		2>"$BATS_TEST_TMPDIR/dd.err" &
	rd=$!
	sleep 2
	echo "the reader must be waiting"
	not ended "$rd"
	stamp t0
	ubdctl del 0 >"$BATS_TEST_TMPDIR/del.out" 2>&1 &
	del=$!
	# del took 4.0-6.6 s in 55 runs; 20 s still tells a hang
	if ! wait_ended 20 "$del"; then
		echo "BUG: 'ubdctl del 0' still blocked after 20 s; the server's stack:"
		for t in /proc/"$SERVER_PID"/task/*; do
			cat "$t/stack" 2>/dev/null
		done
		echo "recovering: kill -9 of the server"
		kill -9 "$SERVER_PID"
		wait_ended 10 "$del" || true
		wait_ended 10 "$rd" || true
		timeout 10 ubdctl del 0 || true
		return 1
	fi
	stamp t1
	status_of st "$del"
	echo "del: status $st after $(elapsed "$t0" "$t1") s: $(cat "$BATS_TEST_TMPDIR/del.out")"
	echo "# silent: del took $(elapsed "$t0" "$t1") s" >&3
	[ "$st" = 0 ]
	wait_ended 5 "$rd"
	status_of st "$rd"
	echo "reader: exit $st $(cat "$BATS_TEST_TMPDIR/dd.err")"
	[ "$st" != 0 ]
	wait_ended 10 "$SERVER_PID"
	assert_all_gone
}

@test "module unloads cleanly" {
	ubd_assert_unload
}
