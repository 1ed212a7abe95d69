#!/usr/bin/env bats
# Unprivileged devices (UNPRIVILEGED_DEV): users without CAP_SYS_ADMIN add
# and serve devices of their own; the driver checks every later command
# against the permissions of the device's /dev/ubdcN.
#
# The users have no passwd entries, only numbers:
#   A  uid 1001, in the group 1500 that may use the control node
#   B  uid 1002, in the group 1500 too, but not the owner
#   C  uid 1003, not in the group
# The guest has no udevd, so setup_file does what udev/60-ubd.rules would
# do to /dev/ubd-control (with the group 1500 in place of "ubd").

load common
bats_require_minimum_version 1.5.0

A_UID=1001
B_UID=1002
C_UID=1003
GRP=1500
CTLTEST="$UBD_BUILDDIR/tests/ubd-ctltest"
PARAM=/sys/module/$UBD_MOD/parameters/ubds_max

as_a() { setpriv --reuid $A_UID --regid $A_UID --groups $GRP "$@"; }
as_b() { setpriv --reuid $B_UID --regid $B_UID --groups $GRP "$@"; }
as_c() { setpriv --reuid $C_UID --regid $C_UID --clear-groups "$@"; }

# what the udev rule does to the control node
control_to_group() {
	chgrp $GRP /dev/$UBD_PFX-control
	chmod 0660 /dev/$UBD_PFX-control
}

setup_file() {
	ubd_load
	control_to_group
	# as a fresh boot has it: systemd-tmpfiles makes it from ubd.conf
	rm -rf "$UBD_RUN_DIR"
	install -d -m 1777 "$UBD_RUN_DIR"
}

teardown() {
	ubd_cleanup
	rm -f /tmp/ubd-unpriv*
	[ ! -w "$PARAM" ] || echo 64 >"$PARAM"
}

# A serves device 0 with ubd-null in the background
a_serves() {
	serve_bg /dev/${UBD_PFX}b0 as_a ubd-null -n 0 -s 64M "$@"
}

@test "A in the group adds and serves a ubd-null device; root does io on it" {
	a_serves
	# devtmpfs made the char node for its owner, mode 0600
	run stat -c '%u:%g %a' /dev/${UBD_PFX}c0
	echo "ubdc0: $output"
	[ "$output" = "$A_UID:$A_UID 600" ]
	run cat /sys/class/$UBD_PFX-char/${UBD_PFX}c0/owner
	echo "owner attribute: $output"
	[ "$output" = "$A_UID $A_UID" ]
	# the server runs as A, and its pid is the device's server
	run ps -o uid= -p "$(pgrep -x ubd-null)"
	[ "${output// /}" = $A_UID ]

	dd if=/dev/urandom of=/dev/${UBD_PFX}b0 bs=64k count=16 oflag=direct
	dd if=/dev/${UBD_PFX}b0 bs=1M count=4 iflag=direct status=none |
		cmp -n 4194304 - /dev/zero
	fio --name=t --filename=/dev/${UBD_PFX}b0 --rw=randrw --bs=4k \
		--iodepth=8 --ioengine=io_uring --direct=1 --size=64M \
		--io_size=8M --output-format=json >/tmp/ubd-unpriv-fio.json
	run jq '.jobs[0].error' /tmp/ubd-unpriv-fio.json
	[ "$output" = 0 ]
}

@test "A serves a file with ubd-loop; fio verify as root passes" {
	truncate -s 64M /tmp/ubd-unpriv.img
	chown $A_UID:$A_UID /tmp/ubd-unpriv.img
	serve_bg /dev/${UBD_PFX}b0 as_a ubd-loop --file /tmp/ubd-unpriv.img --buffered
	fio --name=verify --filename=/dev/${UBD_PFX}b0 --ioengine=io_uring \
		--direct=1 --rw=randwrite --bs=4k --iodepth=16 --size=32M \
		--verify=crc32c --verify_fatal=1 --do_verify=1 \
		--verify_state_save=0 --output-format=json >/tmp/ubd-unpriv-fio.json
	run jq '.jobs[0].error' /tmp/ubd-unpriv-fio.json
	[ "$output" = 0 ]
}

@test "A reads its info and params; list as A shows owner, flags and target" {
	a_serves
	run as_a "$CTLTEST" path info2 0 /dev/${UBD_PFX}c0
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == "ok id=0 owner=$A_UID "* ]]
	run as_a "$CTLTEST" path params 0 /dev/${UBD_PFX}c0
	[ "$output" = ok ]

	run as_a ubdctl list -J -O NAME,STATE,TARGET,OWNER,UID 0
	echo "$output"
	[ "$status" = 0 ]
	run jq -r '.ubddevices[0] | "\(.state) \(.target) \(.owner) \(.uid)"' <<<"$output"
	[ "$output" = "LIVE null $A_UID $A_UID" ]
	run as_a ubdctl list -n -O FLAGS 0
	[[ "$output" == *UNPRIVILEGED_DEV* ]]
	# the state file is A's, in the sticky directory
	run stat -c '%u %a' "$UBD_RUN_DIR/0" "$UBD_RUN_DIR"
	echo "$output"
	[ "${lines[0]}" = "$A_UID 644" ]
	[ "${lines[1]}" = "0 1777" ]
	# and root's list shows it the same
	run ubdctl list -n -O TARGET,OWNER 0
	[ "$(echo $output)" = "null $A_UID" ]
}

@test "B, in the group but not the owner, may not stop, del or read the device" {
	a_serves
	for cmd in info2 info params stop del; do
		run as_b "$CTLTEST" path $cmd 0 /dev/${UBD_PFX}c0
		echo "B $cmd: $output"
		[ "$status" = 1 ]
		[ "$output" = EACCES ]
	done
	run as_b ubdctl del 0
	echo "ubdctl del as B: $output"
	[ "$status" = 2 ]
	[[ "$output" == *"permission denied"* ]]
	run as_b ubdctl list 0
	echo "ubdctl list 0 as B: $output"
	[ "$status" = 2 ]
	[[ "$output" == *"permission denied"* ]]
	# B's list shows nothing it may not read
	run as_b ubdctl list -n
	[ "$status" = 0 ]
	[ -z "$output" ]
	# B may not open the disk either, whatever its mode
	chmod 0666 /dev/${UBD_PFX}b0
	run as_b dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k count=1
	echo "dd as B: $output"
	[ "$status" != 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
	# nothing changed
	run "$CTLTEST" path info2 0 /dev/${UBD_PFX}c0
	[ "$status" = 0 ]
	run ubdctl list -n -O STATE 0
	[ "$output" = LIVE ]
}

@test "A opens its disk once udev's chown is applied; root's rule file says so" {
	a_serves
	# what the rule does: owner and group from sysfs "owner"
	read -r uid gid </sys/class/$UBD_PFX-char/${UBD_PFX}c0/owner
	chown "$uid:$gid" /dev/${UBD_PFX}b0
	chmod 0600 /dev/${UBD_PFX}b0
	as_a dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k count=16 status=none
	as_a dd if=/dev/zero of=/dev/${UBD_PFX}b0 bs=4k count=16 oflag=direct status=none
	# the rule file reads that attribute, for both nodes
	run grep -c 'ubd-char/.*owner' "$UBD_SRCDIR/udev/60-ubd.rules"
	[ "$output" -ge 2 ]
}

@test "C, not in the group, cannot open the control node" {
	run as_c ubdctl list
	echo "$output"
	[ "$status" = 2 ]
	[[ "$output" == *"/dev/$UBD_PFX-control"*"ermission denied"* ]]
	run as_c ubd-null -s 16M
	echo "$output"
	[ "$status" != 0 ]
	[[ "$output" == *"/dev/$UBD_PFX-control"* ]]
	[ -z "$(ubd_ids)" ]
}

@test "root can del A's device; A can del its own" {
	a_serves
	run ubdctl del 0
	echo "$output"
	[ "$status" = 0 ]
	local st=0
	wait "$SERVER_PID" || st=$?
	cat "$BATS_TEST_TMPDIR/server.log"
	[ "$st" = 0 ]
	[ -z "$(ubd_ids)" ]

	run as_a ubdctl add
	[ "$output" = 0 ]
	run as_a ubdctl del 0
	echo "$output"
	[ "$status" = 0 ]
	[ -z "$(ubd_ids)" ]
}

@test "ubds_max: a third unprivileged add fails clearly; privileged adds still work" {
	ubd_cleanup
	rmmod "$UBD_MOD"
	insmod "$UBD_KO" ubds_max=2
	control_to_group
	[ "$(cat $PARAM)" = 2 ]
	run as_a ubdctl add
	[ "$output" = 0 ]
	run as_a ubdctl add
	[ "$output" = 1 ]
	run as_a ubdctl add
	echo "third: $output"
	[ "$status" = 2 ]
	[[ "$output" == *"ubds_max=2"* ]]
	[ "$(ubd_ids | wc -l)" = 2 ]
	run as_a ubd-null -s 16M
	echo "ubd-null: $output"
	[ "$status" != 0 ]
	[[ "$output" == *"ubds_max=2"* ]]
	[ "$(ubd_ids | wc -l)" = 2 ]
	# root's devices do not count, nor are they limited
	run ubdctl add
	[ "$output" = 2 ]
	run ubdctl add
	[ "$output" = 3 ]
	# deleting one makes room again
	ubdctl del 1
	run as_a ubdctl add
	[ "$output" = 1 ]
	# raised at run time; out of range refused
	echo 3 >"$PARAM"
	run as_a ubdctl add
	[ "$output" = 4 ]
	run sh -c "echo 1048577 >$PARAM"
	[ "$status" != 0 ]
	[ "$(cat $PARAM)" = 3 ]
	ubdctl del -a
	[ -z "$(ubd_ids)" ]
}

@test "USER_COPY, ZERO_COPY and AUTO_BUF_REG refused unprivileged; recovery flags dropped" {
	# each with UNPRIVILEGED_DEV (0x20), without which A gets EPERM
	run as_a "$CTLTEST" add-flags 0
	[ "$output" = EPERM ]
	for flags in 0xa0 0x21 0x820; do
		run as_a "$CTLTEST" add-flags $flags
		echo "A asks $flags: $output"
		[ "$output" = EINVAL ]
	done
	[ -z "$(ubd_ids)" ]
	# USER_RECOVERY | REISSUE | FAIL_IO: granted nothing of them, no error
	run as_a "$CTLTEST" add-flags 0x238
	echo "A asks 0x238: $output"
	[ "$status" = 0 ]
	flags=${output##*flags=}
	(( (flags & 0x218) == 0 ))
	(( (flags & 0x20) == 0x20 ))
	# an admin never gets UNPRIVILEGED_DEV, nor an EINVAL for USER_COPY
	run "$CTLTEST" add-flags 0xa0
	echo "root asks 0xa0: $output"
	[ "$status" = 0 ]
	flags=${output##*flags=}
	(( (flags & 0x20) == 0 ))
	ubdctl del -a
}

@test "forged paths are refused: another device's node, other files, bad lengths" {
	run as_a ubdctl add
	[ "$output" = 0 ]
	run as_a ubdctl add
	[ "$output" = 1 ]
	run ubdctl add
	[ "$output" = 2 ]
	touch /tmp/ubd-unpriv-file
	chown $A_UID /tmp/ubd-unpriv-file
	ln -s /dev/${UBD_PFX}c0 /tmp/ubd-unpriv-link

	expect_path() {
		local want=$1; shift
		run "$@"
		echo "$* -> $output (want $want)"
		[ "${output%% *}" = "$want" ]
	}
	# A owns ubdc1 too: it is still not device 0's node
	expect_path EPERM as_a "$CTLTEST" path stop 0 /dev/${UBD_PFX}c1
	expect_path EPERM as_a "$CTLTEST" path info2 0 /dev/${UBD_PFX}c2
	expect_path EPERM as_a "$CTLTEST" path info2 0 /tmp/ubd-unpriv-file
	expect_path EPERM as_a "$CTLTEST" path del 0 /dev/null
	expect_path ENOENT as_a "$CTLTEST" path info2 0 /tmp/ubd-unpriv-none
	expect_path EINVAL as_a "$CTLTEST" path info2 0 @long
	expect_path EINVAL as_a "$CTLTEST" path stop 0 @none
	# root is checked the same way on an unprivileged device
	expect_path EPERM "$CTLTEST" path stop 0 /dev/${UBD_PFX}c1
	expect_path EINVAL "$CTLTEST" path info 0 @none
	# the right node: through a link, or without a NUL, is fine
	expect_path ok as_a "$CTLTEST" path info2 0 /tmp/ubd-unpriv-link
	expect_path ok as_a "$CTLTEST" path info2 0 @nonul
	# a privileged device needs CAP_SYS_ADMIN, path or not
	expect_path EPERM as_a "$CTLTEST" path info2 2 /dev/${UBD_PFX}c2
	expect_path ok "$CTLTEST" path info2 2 /dev/${UBD_PFX}c2
	[ "$(ubd_ids | wc -l)" = 3 ]
	ubdctl del -a
}

@test "ubd-fuzz as user A: random paths and commands on unprivileged devices" {
	local seed=${UBD_FUZZ_SEED:-$(( ($(date +%s) ^ $$) & 0x7fffffff ))}
	echo "# ubd-fuzz -U $A_UID -n 3000 -s $seed" >&3
	run as_a "$UBD_BUILDDIR/tests/ubd-fuzz" -U $A_UID -n 3000 -s "$seed"
	echo "$output"
	echo "$output" | grep '^ubd-fuzz: ' | sed 's/^/# /' >&3
	[ "$status" = 0 ]
	[[ "$output" == *"with a path, as an unprivileged user"* ]]
	line=$(echo "$output" | grep '^ubd-fuzz: summary:')
	[[ "$line" =~ adds=([0-9]+)\ dels=([0-9]+)\ devices_left=([0-9]+)\ ids_leaked=([0-9]+) ]]
	[ "${BASH_REMATCH[1]}" -gt 0 ]
	[ "${BASH_REMATCH[2]}" -gt 0 ]
	[ "${BASH_REMATCH[3]}" -eq 0 ]
	[ "${BASH_REMATCH[4]}" -eq 0 ]
	# the path checks turned commands away
	[[ "$output" == *" EACCES="* || "$output" == *" EPERM="* ]]
	[ -z "$(ubd_ids)" ]
}

@test "the module unloads" {
	ubd_assert_unload
}
