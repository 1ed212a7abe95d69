# Sourced by every bats suite.  Runs inside the guest, as root, with the
# source tree shared read-only; write only under $BATS_TMPDIR or /tmp.
UBD_SRCDIR=${UBD_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
UBD_BUILDDIR=${UBD_BUILDDIR:-$UBD_SRCDIR}
PATH="$UBD_BUILDDIR/cmd:$PATH"
UBD_KO=${UBD_KO:-$UBD_SRCDIR/drivers/ubd_drv.ko}
# The driver under test: ours, or for the compatibility pass the kernel's
# ublk_drv (UBD_PFX=ublk UBD_MOD=ublk_drv UBD_CONTROL=/dev/ublk-control).
# Write node names as /dev/${UBD_PFX}bN, /dev/${UBD_PFX}cN.
UBD_PFX=${UBD_PFX:-ubd}
UBD_MOD=${UBD_MOD:-ubd_drv}
export UBD_RUN_DIR=/run/ubd

SERVERS="ubd-null ubd-loop ubd-nbd"

ubd_load() {
	grep -q "^$UBD_MOD " /proc/modules || insmod "$UBD_KO"
}

# wait up to $1 seconds for the command after it to succeed
wait_for() {
	local secs=$1; shift
	local end=$((SECONDS + secs))
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# ids of the devices the driver has now
ubd_ids() {
	local d
	for d in /sys/class/$UBD_PFX-char/${UBD_PFX}c*; do
		[ -e "$d" ] && echo "${d##*/${UBD_PFX}c}"
	done
}

no_servers() {
	local s
	for s in $SERVERS; do
		! pgrep -x "$s" >/dev/null || return 1
	done
}

kill_servers() {
	local s
	for s in $SERVERS; do
		pkill "$@" -x "$s" || true
	done
}

# Kill every server and delete every device: whatever a failed test left.
ubd_cleanup() {
	local id
	umount -q /tmp/ubd-mnt* 2>/dev/null || true
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

# start a server in the background and wait until $2 is a block device:
#   serve_bg /dev/ubdb0 ubd-null -q 2
serve_bg() {
	local dev=$1; shift
	"$@" >"$BATS_TEST_TMPDIR/server.log" 2>&1 &
	SERVER_PID=$!
	wait_for 20 test -b "$dev" || {
		cat "$BATS_TEST_TMPDIR/server.log"
		return 1
	}
}
