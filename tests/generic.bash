# Shared by the generic-*.bats reliability suites (after "load common").
#
# STRESS=1 (passed into the guest by tests/vm/run) makes every suite run
# longer; each suite says how in its header.

STRESS=${STRESS:-0}
[ "$STRESS" = 0 ] && STRESS=
CTLTEST="$UBD_BUILDDIR/tests/ubd-ctltest"

# read_end VAR FILE: the time a background command stamped in FILE (with
# stamp) as it ended
read_end() {
	read -r "$1" <"$2"
}

# wait up to $1 s for process $2 to end; say where it is stuck if it does not
wait_ended() {
	local secs=$1 pid=$2
	wait_for "$secs" ended "$pid" && return 0
	echo "pid $pid ($(cat /proc/$pid/comm 2>/dev/null)) still running after ${secs}s:"
	ps -o pid,stat,wchan:32,args -p "$pid" || true
	cat "/proc/$pid/stack" 2>/dev/null || true
	return 1
}

# status_of VAR PID: the exit status of background child PID, which has
# ended, into VAR.  Not in a $(...): a subshell cannot wait for its
# parent's children, and takes one its parent has not reaped yet for failed.
status_of() {
	local _st=0
	wait "$2" || _st=$?
	printf -v "$1" '%s' "$_st"
}

# a device's field in 'ubdctl list -J' (lower-case names): dev_field ID state
dev_field() {
	ubdctl list -J | jq -r --argjson id "$1" --arg f "$2" \
		'.ubddevices[] | select(.id == $id) | .[$f]'
}

dev_state_is() {
	[ "$(dev_field "$1" state)" = "$2" ]
}

# the first CPU of hardware queue $2 of /dev/${UBD_PFX}b$1
queue_cpu() {
	sed -E 's/[ ,].*//' "/sys/block/${UBD_PFX}b$1/mq/$2/cpu_list"
}

# nothing of the device left: no node, no driver device, no server
assert_all_gone() {
	local ids
	ids=$(ubd_ids) || true
	find_servers ubd-null ubd-loop
	echo "left: ids='$ids' nodes='$(ls /dev/${UBD_PFX}b* 2>/dev/null)'" \
		"servers='${SERVER_PIDS[*]}'"
	[ -z "$ids" ]
	not ls /dev/${UBD_PFX}b* >/dev/null 2>&1
	[ "${#SERVER_PIDS[@]}" = 0 ]
}

# heavy fio in the background on $1, json into $2: FIO_PID
#   heavy_fio /dev/${UBD_PFX}b0 out.json [more fio options]
heavy_fio() {
	local dev=$1 out=$2; shift 2
	fio --name=heavy --filename="$dev" --rw=randrw --bsrange=4k-128k \
		--iodepth=64 --ioengine=io_uring --direct=1 --numjobs=2 \
		--runtime=120 --time_based --output-format=json \
		--output="$out" "$@" >/dev/null 2>"$out.err" &
	FIO_PID=$!
}

# io completed by /dev/${UBD_PFX}b$1 so far
dev_ios() {
	awk '{ print $1 + $5 }' "/sys/block/${UBD_PFX}b$1/stat" 2>/dev/null || echo 0
}

# wait up to 60 s (fio starts slowly under emulation) until /dev/${UBD_PFX}b$1
# has completed 200 more ios than when called
wait_busy() {
	local base
	base=$(dev_ios "$1")
	wait_for 60 eval '[ "$(dev_ios '"$1"')" -gt $((base + 200)) ]' || {
		echo "/dev/${UBD_PFX}b$1 not busy: $(dev_ios "$1") ios (was $base)"
		return 1
	}
}

# fio's json (after any warnings it printed first): errors of all jobs
fio_errors() {
	sed -n '/^{/,$p' "$1" | jq '[.jobs[].error] | add'
}

fio_ios() {
	sed -n '/^{/,$p' "$1" |
		jq '[.jobs[] | .read.total_ios + .write.total_ios] | add'
}
