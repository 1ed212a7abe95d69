# Sourced by every bats suite.  Runs inside the guest, as root, with the
# source tree shared read-only; write only under $BATS_TMPDIR or /tmp.
UBD_SRCDIR=${UBD_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
UBD_BUILDDIR=${UBD_BUILDDIR:-$UBD_SRCDIR}
PATH="$UBD_BUILDDIR/cmd:$PATH"
UBD_KO=${UBD_KO:-$UBD_SRCDIR/drivers/ubd_drv.ko}
# The driver under test: ours, or for the compatibility pass
# (tests/ublk-compat.sh) the kernel's own ublk_drv, built from Debian's
# linux-source-6.1: UBD_PFX=ublk UBD_MOD=ublk_drv UBD_KO=<its .ko>
# UBD_CONTROL=/dev/ublk-control (libubd and ubd-ctltest honour UBD_CONTROL).
# Write node names as /dev/${UBD_PFX}bN, /dev/${UBD_PFX}cN,
# /sys/class/${UBD_PFX}-char, /sys/block/${UBD_PFX}bN and $UBD_CTL_NODE.
#
# How a suite opts into the compatibility pass:
#  1. put the line '# ubd-compat: yes' in its header: tests/ublk-compat.sh
#     runs every tests/*.bats that has it (and no other);
#  2. use the names above, never ubd-literal ones;
#  3. a test about OUR driver (its validation errnos, its timing, its
#     internals) starts with:      ubd_only "why it is not about the ABI"
#  4. a test that needs a feature starts with:   require_feature USER_COPY
#     (a UBD_F_* name without the prefix, or GET_FEATURES, DEL_DEV_ASYNC,
#     GET_DEV_INFO2): it skips, naming the feature, when the driver lacks it;
#  5. keep it short: the whole pass must stay within ~5 minutes in the
#     guest, so a long test that adds nothing under ublk_drv is ubd_only
#     too ("time budget of the compatibility pass").
UBD_PFX=${UBD_PFX:-ubd}
UBD_MOD=${UBD_MOD:-ubd_drv}
UBD_CTL_NODE=/dev/$UBD_PFX-control
UBD_CTLTEST="$UBD_BUILDDIR/tests/ubd-ctltest"
# seconds for the driver to fail io and mark the device DEAD after kill -9
# of its server: ubd_drv watches the server's exit, ublk 6.1 polls every
# 5 s (UBLK_DAEMON_MONITOR_PERIOD), and TCG is slow
if [ "$UBD_MOD" = ubd_drv ]; then
	KILL_ERR_SECS=1.0 KILL_END_SECS=5 UBD_DEAD_SECS=5
else
	KILL_ERR_SECS=12 KILL_END_SECS=20 UBD_DEAD_SECS=15
fi
export UBD_RUN_DIR=/run/ubd

# true under the compatibility pass (a driver that is not ours)
ubd_compat() {
	[ "$UBD_MOD" != ubd_drv ]
}

# skip the test unless the driver under test is ours: ubd_only "reason"
ubd_only() {
	ubd_compat || return 0
	skip "ubd_drv only, not run against $UBD_MOD: $*"
}

# skip the test when the driver lacks feature $1: decided by GET_FEATURES,
# or, for a driver without it (ublk 6.1), by what ADD_DEV grants a
# throwaway device or by whether the command answers EOPNOTSUPP.
require_feature() {
	local why st=0
	why=$("$UBD_CTLTEST" has "$1" 2>&1) || st=$?
	case $st in
	0) return 0 ;;
	1) skip "$UBD_MOD lacks $1 ($why)" ;;
	*) echo "require_feature $1: the probe failed: $why"; return 1 ;;
	esac
}

# Succeeds when the command after it fails.  Write "not cmd", never
# "! cmd": bash's set -e ignores a negated command, so in bats "! cmd"
# fails a test only as its very last line.
not() {
	! "$@"
}

SERVERS="ubd-null ubd-loop ubd-nbd"

ubd_load() {
	grep -q "^$UBD_MOD " /proc/modules || insmod "$UBD_KO"
}

# The time in seconds, microseconds after the point: "stamp t0" sets t0
# with no exec and no subshell, for the edges of what a test times (a date
# exec took ~0.1 s under emulation); "$(now)" where a fork does not matter.
stamp() {
	printf -v "$1" '%s' "${EPOCHREALTIME/,/.}"
}
now() {
	echo "${EPOCHREALTIME/,/.}"
}
# seconds from $1 to $2, 3 decimals
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
# $1 < $2 as real numbers
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# wait up to $1 (whole) seconds for the command after it to succeed.  The
# deadline is in microseconds: $SECONDS counts whole seconds, so a wait
# begun just before it ticked was a second short.
wait_for() {
	local secs=$1; shift
	local end=$(( ${EPOCHREALTIME//[!0-9]/} + secs * 1000000 ))
	until "$@"; do
		[ "${EPOCHREALTIME//[!0-9]/}" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# a process that has ended (gone, or a zombie not yet waited for); read
# with builtins, as wait_ended polls it while a test times something
ended() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
	stat=${stat##*) }
	[ -z "$stat" ] || [ "${stat%% *}" = Z ]
}

# device 0 has io in flight
in_flight() {
	local r w
	read -r r w </sys/block/${UBD_PFX}b0/inflight
	[ $((r + w)) -gt 0 ]
}

# ids of the devices the driver has now
ubd_ids() {
	local d
	for d in /sys/class/$UBD_PFX-char/${UBD_PFX}c*; do
		[ -e "$d" ] && echo "${d##*/${UBD_PFX}c}"
	done
}

# SERVER_PIDS: the pids of the running processes named $SERVERS, or the
# names given.  pgrep was ~0.3 s an exec under emulation, and teardown
# ran six.  The scan runs in a subshell without bats' DEBUG trap, which
# would otherwise cost milliseconds for each command of the loop.
# Zombies do not count: a daemon that has exited may wait a moment for
# its reaper, and "ubdctl del" returns once the server has exited.
find_servers() {
	local names=" ${*:-$SERVERS} "
	# shellcheck disable=SC2207 # pids have no spaces
	SERVER_PIDS=($(
		trap - DEBUG
		for f in /proc/[0-9]*/comm; do
			{ read -r comm <"$f"; } 2>/dev/null || continue
			[[ "$names" == *" $comm "* ]] || continue
			f=${f#/proc/}
			ended "${f%/comm}" || echo "${f%/comm}"
		done
	))
}

# no server runs ($SERVERS, or the names given)
no_servers() {
	find_servers "$@"
	[ "${#SERVER_PIDS[@]}" = 0 ]
}

# signal every server: kill_servers [-SIGNAL]
kill_servers() {
	find_servers
	[ "${#SERVER_PIDS[@]}" = 0 ] || kill "$@" "${SERVER_PIDS[@]}" 2>/dev/null || true
}

# Kill every server and delete every device: whatever a failed test left.
ubd_cleanup() {
	local id mnts
	mnts=$(
		trap - DEBUG
		while read -r _ mnt _; do
			[[ "$mnt" != /tmp/ubd-mnt* ]] || echo "$mnt"
		done </proc/mounts
	)
	[ -z "$mnts" ] || umount -q $mnts 2>/dev/null || true
	kill_servers
	wait_for 10 no_servers || kill_servers -9
	wait_for 5 no_servers || true
	if [ -x "$UBD_BUILDDIR/cmd/ubdctl" ]; then
		for id in $(ubd_ids); do
			ubdctl del --force "$id" >/dev/null 2>&1 || true
		done
	fi
}

# the last test of every suite: nothing may be left, the module must unload
ubd_assert_unload() {
	ubd_cleanup
	[ -z "$(ubd_ids)" ] || { echo "devices left: $(ubd_ids)"; return 1; }
	rmmod "$UBD_MOD" || { echo "rmmod failed"; return 1; }
	! ls /dev/${UBD_PFX}b* /dev/${UBD_PFX}c* 2>/dev/null || { echo "nodes left"; return 1; }
}

# start a server in the background and wait until it says its device $1
# is live:
#   serve_bg /dev/ubdb0 ubd-null -q 2
# The node appears with add_disk(), before START_DEV has read the
# partition table and made the device LIVE, and before the server has
# written its state file: a test that went on at the node could find
# neither yet.
serve_bg() {
	local dev=$1; shift
	"$@" >"$BATS_TEST_TMPDIR/server.log" 2>&1 &
	SERVER_PID=$!
	wait_for 20 server_is_live "$dev" || {
		cat "$BATS_TEST_TMPDIR/server.log"
		return 1
	}
}

# the server of serve_bg has said that its device $1 is live
server_is_live() {
	[ -b "$1" ] && grep -qF "$1 is live" "$BATS_TEST_TMPDIR/server.log"
}

# fio randwrite with crc32c verification on $1, every byte written read
# back and checked; more fio options after it (they override)
fio_verify() {
	local dev=$1; shift
	fio --name=verify --filename="$dev" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bs=4k --iodepth=16 --size=32M \
		--verify=crc32c --verify_fatal=1 --do_verify=1 \
		--verify_state_save=0 --output-format=json \
		--output="$BATS_TEST_TMPDIR/fio.json" "$@"
	# fio warns about several writers (the jobs' ranges do not overlap)
	# in the same file, before the JSON
	sed -i -n '/^{/,$p' "$BATS_TEST_TMPDIR/fio.json"
	jq -c '[.jobs[] | {error, w: .write.io_bytes, r: .read.io_bytes}]' \
		"$BATS_TEST_TMPDIR/fio.json"
	jq -e '[.jobs[] | .error == 0 and .read.io_bytes == .write.io_bytes
		and .write.io_bytes > 0] | all' "$BATS_TEST_TMPDIR/fio.json"
}

# A tool run that must fail cleanly: status $2, one stderr line naming
# $3, no device, no server and no state file left behind.
#   run_fails ubd-loop 2 "size '1x'" --file img --size 1x
run_fails() {
	local tool=$1 want=$2 what=$3; shift 3
	run --separate-stderr "$tool" "$@"
	echo "status=$status stderr=$stderr"
	[ "$status" = "$want" ]
	[ "$(printf '%s\n' "$stderr" | wc -l)" = 1 ]
	[[ "$stderr" == "$tool: "*"$what"* ]]
	[ -z "$(ubd_ids)" ]
	no_servers "$tool"
	[ -z "$(ls /run/ubd 2>/dev/null)" ]
}
