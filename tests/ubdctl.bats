#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# ubdctl in the guest: add, list, features, del, and its command line.
# ubd-compat: yes (also runs against the kernel's ublk_drv: common.bash)

source "$BATS_TEST_DIRNAME/common.bash"

setup_file() {
	ubd_load
}

teardown() {
	ubd_cleanup
}

# serve device $1 with ubd-null in the background (daemon), size $2
serve_null() {
	run ubd-null -n "$1" -s "$2" --daemon
	[ "$status" -eq 0 ] || { echo "ubd-null: $output"; return 1; }
	[ "$output" = "/dev/${UBD_PFX}b$1" ]
	test -b "/dev/${UBD_PFX}b$1"
}

@test "add prints the new id, --show the block device" {
	run ubdctl add
	[ "$status" -eq 0 ]
	[[ $output =~ ^[0-9]+$ ]]
	[ -e "/sys/class/${UBD_PFX}-char/${UBD_PFX}c$output" ]
	local first=$output

	run ubdctl add --show
	[ "$status" -eq 0 ]
	[[ $output =~ ^/dev/${UBD_PFX}b[0-9]+$ ]]
	[ "$output" != "/dev/${UBD_PFX}b$first" ]
	# no disk until a server attaches
	[ ! -e "$output" ]
	[ "$(ubdctl list -n -O STATE "${output#/dev/${UBD_PFX}b}")" = DEAD ]
}

@test "add -n 5, ubd-null -n 5 serves it, list -J tells the truth" {
	run ubdctl add -n 5 -q 2 -d 64 --max-io 128K
	[ "$status" -eq 0 ]
	[ "$output" = 5 ]
	serve_null 5 64M
	local pid
	pid=$(pgrep -x ubd-null)
	[ -n "$pid" ]

	run ubdctl list -J --output-all 5
	[ "$status" -eq 0 ]
	local j=$output
	q() { jq -c ".ubddevices[0].$1" <<<"$j"; }
	[ "$(jq '.ubddevices | length' <<<"$j")" -eq 1 ]
	[ "$(q name)" = "\"/dev/${UBD_PFX}b5\"" ]
	[ "$(q id)" = 5 ]
	[ "$(q state)" = '"LIVE"' ]
	[ "$(q target)" = '"null"' ]
	[ "$(q '"back-file"')" = null ]
	[ "$(q size)" = $((64 << 20)) ]
	[ "$(q queues)" = 2 ]
	[ "$(q depth)" = 64 ]
	[ "$(q '"max-io"')" = $((128 << 10)) ]
	[ "$(q pid)" = "$pid" ]
	[ "$(q ro)" = false ]
	[ "$(q dio)" = false ]
	[ "$(q '"log-sec"')" = 512 ]
	[ "$(q fstype)" = null ]
	[ "$(q mountpoint)" = null ]
	# the flags ADD_DEV granted (ublk 6.1 knows no ioctl encoding)
	if "$UBD_CTLTEST" has CMD_IOCTL_ENCODE >/dev/null; then
		[[ $(q flags) == *CMD_IOCTL_ENCODE* ]]
	else
		[[ $(q flags) != *CMD_IOCTL_ENCODE* ]]
	fi
	# the same device in the list of all of them
	[ "$(ubdctl list -J | jq -c '[.ubddevices[].id]')" = "[5]" ]
}

@test "list -n -O STATE,ID --raw, and human sizes" {
	ubdctl add -n 2 >/dev/null
	ubdctl add -n 4 >/dev/null
	serve_null 4 1536M
	run ubdctl list -n --raw -O STATE,ID
	[ "$status" -eq 0 ]
	[ "$output" = "DEAD 2
LIVE 4" ]
	[ "$(ubdctl list -n -O STATE 4)" = LIVE ]
	[ "$(ubdctl list -n -O SIZE 4 | tr -d ' ')" = 1.5G ]
	[ "$(ubdctl list -n -b -O SIZE 4 | tr -d ' ')" = $((1536 << 20)) ]
	# the heading, and + appends to the default columns
	[ "$(ubdctl list -O +FLAGS | head -n 1 | xargs)" = \
	  "NAME ID STATE TARGET SIZE QUEUES DEPTH PID BACK-FILE FLAGS" ]
}

@test "list with no devices prints nothing; -J an empty array" {
	run ubdctl list
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run ubdctl list -J
	[ "$status" -eq 0 ]
	[ "$(jq -c . <<<"$output")" = '{"ubddevices":[]}' ]
}

@test "list of a missing id: exit 1 with a message" {
	run ubdctl list 7
	[ "$status" -eq 1 ]
	[ "$output" = "ubdctl: device 7 not found" ]
}

@test "features lists NEED_GET_DATA, -J a mask" {
	require_feature GET_FEATURES
	run ubdctl features
	[ "$status" -eq 0 ]
	grep -qx NEED_GET_DATA <<<"$output"
	grep -qx CMD_IOCTL_ENCODE <<<"$output"
	grep -qx UNPRIVILEGED_DEV <<<"$output"
	run ubdctl features -J
	[ "$status" -eq 0 ]
	jq -e '.features | index("NEED_GET_DATA")' <<<"$output"
	# COMP_IN_TASK, NEED_GET_DATA, USER_RECOVERY(_REISSUE), UNPRIVILEGED_DEV,
	# CMD_IOCTL_ENCODE, USER_COPY, USER_RECOVERY_FAIL_IO, UPDATE_SIZE, QUIESCE
	[ "$(jq '.mask' <<<"$output")" -eq $(( (1 << 1) | (1 << 2) | (1 << 3) |
		(1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 9) | (1 << 10) |
		(1 << 12) )) ]
}

@test "features on a driver without GET_FEATURES: status 2, one line saying so" {
	! "$UBD_CTLTEST" has GET_FEATURES >/dev/null ||
		skip "$UBD_MOD has GET_FEATURES"
	run ubdctl features
	echo "$output"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"$UBD_CTL_NODE does not support GET_FEATURES"* ]]
}

# The feature probe behind require_feature (common.bash): with
# GET_FEATURES it must agree with 'ubdctl features'; ublk 6.1 has none, and
# then it must find what 6.1 has and miss what it lacks.
@test "require_feature's probe: what the driver has and lacks" {
	local f st want
	if ubdctl features >/dev/null 2>&1; then
		for f in NEED_GET_DATA USER_RECOVERY USER_COPY UNPRIVILEGED_DEV \
			UPDATE_SIZE QUIESCE ZONED; do
			want=1
			ubdctl features | grep -qx "$f" && want=0
			st=0; "$UBD_CTLTEST" has "$f" || st=$?
			echo "$f: has $st, features says $want"
			[ "$st" = "$want" ]
		done
		"$UBD_CTLTEST" has GET_FEATURES
	else
		for f in NEED_GET_DATA USER_RECOVERY USER_RECOVERY_REISSUE; do
			st=0; "$UBD_CTLTEST" has "$f" || st=$?
			echo "$f: $st (want 0)"
			[ "$st" = 0 ]
		done
		for f in GET_FEATURES DEL_DEV_ASYNC GET_DEV_INFO2 USER_COPY \
			UNPRIVILEGED_DEV UPDATE_SIZE QUIESCE CMD_IOCTL_ENCODE; do
			st=0; "$UBD_CTLTEST" has "$f" || st=$?
			echo "$f: $st (want 1)"
			[ "$st" = 1 ]
		done
	fi
	# the throwaway devices of the probe are gone
	[ -z "$(ubd_ids)" ]
	run "$UBD_CTLTEST" has NO_SUCH_FEATURE
	[ "$status" = 2 ]
	[[ $output == *"unknown feature 'NO_SUCH_FEATURE'"* ]]
}

# ubd-null keeps no data, so no file system can be made and mounted on it.
# The check matches a mount by its device number or, as btrfs needs, by its
# source: a tmpfs whose source is /dev/${UBD_PFX}b5 stands for a file system on the
# disk.  A real ext4 mount is left to the ubd-loop suite.
@test "del refuses a mounted device, naming the mountpoint; --force deletes" {
	ubdctl add -n 5 >/dev/null
	serve_null 5 64M
	mkdir -p /tmp/ubd-mnt5
	mount -t tmpfs /dev/${UBD_PFX}b5 /tmp/ubd-mnt5
	[ "$(ubdctl list -n -O MOUNTPOINT 5)" = /tmp/ubd-mnt5 ]

	run ubdctl del 5
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"/dev/${UBD_PFX}b5 is mounted on /tmp/ubd-mnt5"* ]]
	[ "$(ubd_ids)" = 5 ]

	run ubdctl del --force 5
	[ "$status" -eq 0 ]
	[ -z "$(ubd_ids)" ]
	no_servers
	umount /tmp/ubd-mnt5
}

@test "del waits for the device to go and the server to exit" {
	ubdctl add -n 3 >/dev/null
	serve_null 3 16M
	local pid
	pid=$(ubdctl list -n -O PID 3 | tr -d ' ')
	[ -n "$pid" ]
	run ubdctl del 3
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ ! -e /sys/class/${UBD_PFX}-char/${UBD_PFX}c3 ]
	[ ! -e /proc/"$pid" ] || grep -q '^State:.*Z' /proc/"$pid"/status
	# the id can be taken again at once
	[ "$(ubdctl add -n 3)" = 3 ]
}

@test "del of an unknown id, and a double del, exit 1" {
	run ubdctl del 7
	[ "$status" -eq 1 ]
	[ "$output" = "ubdctl: device 7 not found" ]
	ubdctl add -n 6 >/dev/null
	run ubdctl del 6
	[ "$status" -eq 0 ]
	run ubdctl del 6
	[ "$status" -eq 1 ]
	[ "$output" = "ubdctl: device 6 not found" ]
}

@test "del -a deletes every device, served or not" {
	ubdctl add -n 1 >/dev/null
	ubdctl add -n 8 >/dev/null
	serve_null 8 16M
	run ubdctl del -a
	[ "$status" -eq 0 ]
	[ -z "$(ubd_ids)" ]
	no_servers
	run ubdctl del -a 1
	[ "$status" -eq 2 ]
}

@test "bad values: exit 2, one line naming the value, no device left" {
	local args
	while IFS='|' read -r args value; do
		# shellcheck disable=SC2086
		run ubdctl add $args
		echo "add $args: $status: $output"
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ ${lines[0]} == ubdctl:*"'$value'"* ]]
		[ -z "$(ubd_ids)" ]
	done <<-EOF
		-d 0|0
		-d 5000|5000
		-q 0|0
		-q 1000|1000
		-d 12abc|12abc
		--max-io 3000|3000
		--max-io 6K|6K
		-n 99999999|99999999
	EOF
	run ubdctl del --timeout 0 1
	[ "$status" -eq 2 ]
	[[ $output == *"'0'"* ]]
}

@test "unknown command: exit 2 with the Try line" {
	ubd_only "options parsed before any driver is opened: nothing of the ABI"
	run ubdctl frobnicate
	[ "$status" -eq 2 ]
	[ "${lines[-1]}" = "Try 'ubdctl --help' for more information." ]
	run ubdctl
	[ "$status" -eq 2 ]
	run ubdctl list --frob
	[ "$status" -eq 2 ]
	[ "${lines[-1]}" = "Try 'ubdctl --help' for more information." ]
	run ubdctl list -O NOPE
	[ "$status" -eq 2 ]
	[[ $output == *"'NOPE'"* ]]
}

@test "--help: stdout, exit 0, for ubdctl and each command" {
	ubd_only "options parsed before any driver is opened: nothing of the ABI"
	ubdctl --help >/tmp/help.out 2>/tmp/help.err
	[ ! -s /tmp/help.err ]
	grep -q '^Usage:' /tmp/help.out
	grep -q 'For more details see ubdctl(8).' /tmp/help.out
	local cmd
	for cmd in add del list features; do
		ubdctl "$cmd" --help >/tmp/help.out 2>/tmp/help.err
		[ ! -s /tmp/help.err ]
		grep -q "ubdctl \[options\] $cmd" /tmp/help.out
	done
	run ubdctl --version
	[ "$status" -eq 0 ]
	[[ $output == "ubdctl from ubd "* ]]
}

@test "a write error on stdout is exit 2" {
	run bash -c 'ubdctl list -J >/dev/full'
	[ "$status" -eq 2 ]
	[[ $output == *"write error"* ]]
	require_feature GET_FEATURES
	run bash -c 'ubdctl features >/dev/full'
	[ "$status" -eq 2 ]
	[[ $output == *"write error"* ]]
}

@test "module unloads cleanly" {
	ubd_assert_unload
}
