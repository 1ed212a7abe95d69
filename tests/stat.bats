#!/usr/bin/env bats
# ubd-stat: its figures against known fio workloads and against the
# block layer's own counters, its output formats, and its errors.
# ubd-compat: yes (also runs against the kernel's ublk_drv: common.bash)

bats_require_minimum_version 1.5.0

load common

setup_file() {
	ubd_load
}

teardown() {
	ubd_cleanup
}

# field $1 (1-based, Documentation/block/stat.rst) of /sys/block/${UBD_PFX}b0/stat
disk_stat() {
	awk -v f="$1" '{ print $f }' /sys/block/${UBD_PFX}b0/stat
}

# awk as an assertion: true when the expression $1 holds
holds() {
	awk "BEGIN { exit !($1) }"
}

@test "--help prints the usage on stdout and exits 0" {
	ubd_only "options parsed before any driver is opened: nothing of the ABI"
	run --separate-stderr ubd-stat --help
	[ "$status" = 0 ]
	[ -z "$stderr" ]
	[[ "${lines[0]}" == "Usage:" ]]
	[[ "$output" == *"Options:"* ]]
	[[ "$output" == *"Available output columns:"* ]]
	[[ "${lines[-1]}" == "For more details see ubd-stat(8)." ]]
}

@test "bad options: one line naming the value, status 2" {
	ubd_only "options parsed before any driver is opened: nothing of the ABI"
	run --separate-stderr ubd-stat -i 0
	[ "$status" = 2 ]
	[ "$stderr" = "ubd-stat: interval '0' out of range: must be 0.1..3600 seconds" ]
	[ -z "$output" ]
	run --separate-stderr ubd-stat -i abc
	[ "$status" = 2 ]
	[ "$stderr" = "ubd-stat: invalid interval 'abc': not a number of seconds (e.g. 2, 0.5)" ]
	run --separate-stderr ubd-stat -i 3601
	[ "$status" = 2 ]
	[[ "$stderr" == *"'3601' out of range"* ]]
	run --separate-stderr ubd-stat -i 1 -c 0
	[ "$status" = 2 ]
	[ "$stderr" = "ubd-stat: count '0' out of range: must be 1..4294967295" ]
	run --separate-stderr ubd-stat -c 2
	[ "$status" = 2 ]
	[ "$stderr" = "ubd-stat: --count needs --interval" ]
	run --separate-stderr ubd-stat -O r/s,bogus
	[ "$status" = 2 ]
	[ "$stderr" = "ubd-stat: unknown column 'bogus'" ]
	run --separate-stderr ubd-stat --bogus
	[ "$status" = 2 ]
	[ "${#stderr_lines[@]}" = 2 ]
	[ "${stderr_lines[1]}" = "Try 'ubd-stat --help' for more information." ]
}

@test "a missing device: status 1; a device with no disk: status 1" {
	run --separate-stderr ubd-stat 7
	[ "$status" = 1 ]
	[ "$stderr" = "ubd-stat: device 7 not found" ]
	[ -z "$output" ]

	ubdctl add -n 3
	run --separate-stderr ubd-stat 3
	[ "$status" = 1 ]
	[ "$stderr" = "ubd-stat: device 3 has no disk (state DEAD)" ]
	# not LIVE: left out of the default report, which is then empty
	run --separate-stderr ubd-stat
	[ "$status" = 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	run ubd-stat -J
	[ "$status" = 0 ]
	[ "$(echo "$output" | jq -c .)" = '{"ubdstat":[]}' ]
}

@test "the since-start report counts the ios fio did" {
	local t0 t1 before after json
	stamp t0
	serve_bg /dev/${UBD_PFX}b0 ubd-null -q 2 -s 256M
	stamp t1
	before=$(disk_stat 1)
	fio --name=r --filename=/dev/${UBD_PFX}b0 --rw=randread --bs=4k --direct=1 \
		--ioengine=psync --size=256M --number_ios=500 \
		--output="$BATS_TEST_TMPDIR/fio.out"
	after=$(disk_stat 1)
	echo "reads: before $before after $after"
	[ "$((after - before))" = 500 ]

	json=$(ubd-stat -J -O +rareq-sz,ELAPSED,QUEUES,PID,STATE)
	echo "$json"
	local t2
	stamp t2
	[ "$(echo "$json" | jq '.ubdstat | length')" = 1 ]
	[ "$(echo "$json" | jq -r '.ubdstat[0].device')" = /dev/${UBD_PFX}b0 ]
	[ "$(echo "$json" | jq '.ubdstat[0].queues')" = 2 ]
	[ "$(echo "$json" | jq '.ubdstat[0].pid')" = "$SERVER_PID" ]
	[ "$(echo "$json" | jq -r '.ubdstat[0].state')" = LIVE ]
	# every figure is a JSON number
	[ "$(echo "$json" | jq '[.ubdstat[0] | del(.device, .state) | .[] |
		type] | unique | join(",")')" = '"number"' ]

	local rps elapsed
	rps=$(echo "$json" | jq '.ubdstat[0]["r/s"]')
	elapsed=$(echo "$json" | jq '.ubdstat[0].elapsed')
	# the report covers the life of the disk, which began while serve_bg ran
	holds "$elapsed >= $t2 - $t1 - 0.5 && $elapsed <= $t2 - $t0 + 0.5"
	# r/s times that time gives back the counter of the block layer
	holds "($rps * $elapsed - $after) ^ 2 <= 4"
	holds "$(echo "$json" | jq '.ubdstat[0]["rareq-sz"]') >= 3.9"
	[ "$(echo "$json" | jq '.ubdstat[0]["w/s"]')" = 0 ]
	[ "$(echo "$json" | jq '.ubdstat[0]["wmb/s"]')" = 0 ]
}

@test "-i 1 -c 2 -y: r/s follows a 200 IOPS read load, wMB/s stays 0" {
	serve_bg /dev/${UBD_PFX}b0 ubd-null -s 256M
	fio --name=r --filename=/dev/${UBD_PFX}b0 --rw=randread --bs=4k --direct=1 \
		--ioengine=psync --size=256M --rate_iops=200 --runtime=8 \
		--time_based --output="$BATS_TEST_TMPDIR/fio.out" &
	local fio=$! start
	# wait for the reads to flow, then one more second for the rate
	start=$(disk_stat 1)
	wait_for 20 sh -c "[ \$(awk '{ print \$1 }' /sys/block/${UBD_PFX}b0/stat) -gt $((start + 50)) ]"
	sleep 1

	# builtins only at the edges: a read missed between the counter and
	# the clock, or the clock and ubd-stat, counts against the bound below
	local before t0 t1 after
	read -r before _ </sys/block/${UBD_PFX}b0/stat
	stamp t0
	run --separate-stderr ubd-stat -J -i 1 -c 2 -y -O +ELAPSED
	stamp t1
	read -r after _ </sys/block/${UBD_PFX}b0/stat
	wait "$fio"
	echo "$output"
	[ "$status" = 0 ]
	[ -z "$stderr" ]
	# two reports, one object each, of the one device
	[ "$(echo "$output" | jq -s 'length')" = 2 ]
	[ "$(echo "$output" | jq -s '[.[].ubdstat | length] | join(",")')" = '"1,1"' ]

	# the reads the reports count, against the block layer's counter
	# read just around ubd-stat: never more, and fewer only by what the
	# moments outside its two intervals can hold (fio catches up in bursts
	# after a stall of the emulated guest, hence 400/s)
	local reads secs r
	reads=$(echo "$output" | jq -s '[.[].ubdstat[0] | .["r/s"] * .elapsed] | add')
	secs=$(echo "$output" | jq -s '[.[].ubdstat[0].elapsed] | add')
	echo "# r/s: $(echo "$output" | jq -sc '[.[].ubdstat[0]["r/s"]]'), $reads reads in ${secs}s; counter +$((after - before)) in $(awk "BEGIN { print $t1 - $t0 }")s" >&3
	holds "$secs >= 1.9 && $secs <= 2.5"
	holds "$reads <= $after - $before + 1"
	holds "$reads >= $after - $before - 400 * ($t1 - $t0 - $secs) - 5"
	# and the rate, over both intervals, is about the one fio keeps
	holds "$reads / $secs >= 100 && $reads / $secs <= 250"
	for r in $(echo "$output" | jq '.ubdstat[0]["wmb/s"]'); do
		holds "$r == 0"
	done
	for r in $(echo "$output" | jq '.ubdstat[0]["%util"]'); do
		holds "$r >= 0 && $r <= 100"
	done
}

@test "table, -O, -n and --raw" {
	serve_bg /dev/${UBD_PFX}b0 ubd-null
	run ubd-stat
	[ "$status" = 0 ]
	echo "$output"
	[ "${#lines[@]}" = 2 ]
	[ "$(echo "${lines[0]}" | xargs)" = "DEVICE r/s w/s rMB/s wMB/s r_await w_await aqu-sz inflight %util" ]
	[[ "${lines[1]}" == "/dev/${UBD_PFX}b0 "* ]]

	run ubd-stat -n --raw -O DEVICE,QUEUES,PID,inflight 0
	[ "$status" = 0 ]
	[ "$output" = "/dev/${UBD_PFX}b0 1 $SERVER_PID 0" ]

	run ubd-stat --output-all
	[ "$status" = 0 ]
	[ "$(echo "${lines[0]}" | wc -w)" = 20 ]
}

@test "SIGINT between reports: exit 0 after a whole report" {
	serve_bg /dev/${UBD_PFX}b0 ubd-null
	ubd-stat -J -i 0.2 >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! st=0
	sleep 1.5
	kill -INT "$pid"
	wait "$pid" || st=$?
	cat "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err"
	[ "$st" = 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	# whole objects only: jq parses the stream
	local n
	n=$(jq -s 'length' "$BATS_TEST_TMPDIR/out")
	[ "$n" -ge 3 ]
}

@test "-i: a new device shows from the next report; a given one gone: status 1" {
	serve_bg /dev/${UBD_PFX}b0 ubd-null
	local out=$BATS_TEST_TMPDIR/out st=0 pid
	# 6 s of reports: the second server must be live before the last
	ubd-stat -J -O DEVICE,ELAPSED -i 0.5 -c 12 >"$out" &
	pid=$!
	sleep 1
	serve_bg /dev/${UBD_PFX}b1 ubd-null -n 1
	wait "$pid"
	cat "$out"
	[ "$(jq -s '.[0].ubdstat | length' "$out")" = 1 ]
	[ "$(jq -s '.[-1].ubdstat | length' "$out")" = 2 ]
	# after the first report, every row covers one interval (0.5 s, and
	# a stalled guest may stretch one), none the life of a disk (device
	# 0's is over 6 s by the last report)
	holds "$(jq -s '[.[1:][].ubdstat[].elapsed] | max' "$out") < 1.5"

	ubd-stat -i 0.3 1 >"$out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	sleep 1
	kill "$SERVER_PID"
	wait "$pid" || st=$?
	cat "$BATS_TEST_TMPDIR/err"
	[ "$st" = 1 ]
	[ "$(cat "$BATS_TEST_TMPDIR/err")" = "ubd-stat: device 1 has gone" ]
}

@test "a write error on stdout: status 2" {
	serve_bg /dev/${UBD_PFX}b0 ubd-null
	run --separate-stderr sh -c 'ubd-stat >/dev/full'
	[ "$status" = 2 ]
	[[ "$stderr" == "ubd-stat: write error: No space left on device" ]]
}

@test "module unloads cleanly" {
	ubd_assert_unload
}
