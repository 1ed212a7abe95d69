#!/usr/bin/env bats
# Reliability: many devices made, served, used and deleted, several at a
# time, with random shapes; nothing may be left behind, no kernel memory
# may leak.
#
# Each cycle: 'ubdctl add -q Q -d D' (Q random in 1..nproc (at most 4),
# D random in 1..256), a server on it (ubd-null, or ubd-loop on a 32M
# image, alternately), fio randrw for FIO_TIME, 'ubdctl del'.  4 worker
# processes run their cycles concurrently.
#
# STRESS: by default each worker runs cycles with 0.3 s of fio until
# CHURN_SECS (120) have passed, at least 8 and at most 50 of them: under
# emulation a cycle takes ~6 s, and 50 fixed cycles took ~5 min of the
# suite.  STRESS=1 runs 4 x 500 = 2000 cycles with 1 s of fio each, with
# no time limit.
#
# Leak check: unreclaimable slab (SUnreclaim in /proc/meminfo), sampled
# after 'echo 3 > /proc/sys/vm/drop_caches' before and after the churn
# (after a warm-up of 4 cycles), may grow by at most LEAK_KIB = 4 MiB;
# Slab, Percpu and MemAvailable are printed too.

load common
load generic

setup_file() {
	ubd_load
}

teardown() {
	ubd_cleanup
	rm -f /tmp/ubd-churn-*.img
}

WORKERS=4
CYCLES=${STRESS:+500}
CYCLES=${CYCLES:-50}
FIO_TIME=${STRESS:+1s}
FIO_TIME=${FIO_TIME:-300ms}
MIN_CYCLES=8
CHURN_SECS=${STRESS:+0}
CHURN_SECS=${CHURN_SECS:-120}
LEAK_KIB=4096

# the time in seconds, without an exec
now_s() {
	printf '%(%s)T' -1
}

# one worker: $1 its number, $2 its most cycles; a line per failure in
# $3, and the cycles it ran appended to $3.cycles.  With $4 (a time from
# now_s) it stops at that time once it ran $MIN_CYCLES.
churn_worker() {
	local w=$1 n=$2 log=$3 end=${4:-} img=/tmp/ubd-churn-$1.img
	local c id q d dev st maxq bad=0 out
	maxq=$(nproc)
	[ "$maxq" -le 4 ] || maxq=4
	truncate -s 32M "$img"
	for ((c = 1; c <= n; c++)); do
		if [ -n "$end" ] && [ "$c" -gt "$MIN_CYCLES" ] &&
			[ "$(now_s)" -ge "$end" ]; then
			break
		fi
		q=$((RANDOM % maxq + 1))
		d=$((RANDOM % 256 + 1))
		if ! id=$(ubdctl add -q "$q" -d "$d" 2>&1); then
			echo "worker $w cycle $c: ubdctl add -q $q -d $d: $id" >>"$log"
			bad=$((bad + 1))
			continue
		fi
		st=0
		# (ubd-loop says on stderr that tmpfs takes buffered I/O)
		if [ $((c % 2)) = 0 ]; then
			dev=$(timeout 30 ubd-null -n "$id" -s 64M --daemon \
				2>"$img.err") || st=$?
		else
			dev=$(timeout 30 ubd-loop -n "$id" --file "$img" \
				--daemon 2>"$img.err") || st=$?
		fi
		if [ "$st" != 0 ] || [ "$dev" != "/dev/${UBD_PFX}b$id" ]; then
			echo "worker $w cycle $c: server on $id (q=$q d=$d): status $st: $dev $(cat "$img.err")" >>"$log"
			bad=$((bad + 1))
		elif ! out=$(timeout 60 fio --name=c --filename="$dev" \
				--rw=randrw --bs=4k --iodepth=$((d < 32 ? d : 32)) \
				--ioengine=io_uring --direct=1 --time_based \
				--runtime="$FIO_TIME" 2>&1 >/dev/null); then
			echo "worker $w cycle $c: fio on $dev (q=$q d=$d) failed: $out" >>"$log"
			bad=$((bad + 1))
		fi
		if ! out=$(timeout 60 ubdctl del "$id" 2>&1); then
			echo "worker $w cycle $c: ubdctl del $id (q=$q d=$d): $out" >>"$log"
			bad=$((bad + 1))
		fi
	done
	echo $((c - 1)) >>"$log.cycles"
	rm -f "$img" "$img.err"
	[ "$bad" = 0 ]
}

# kernel memory figures in KiB: "SUnreclaim Slab Percpu MemAvailable"
kmem() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 2
	echo 3 >/proc/sys/vm/drop_caches
	awk '/^(SUnreclaim|Slab|Percpu|MemAvailable):/ { v[$1] = $2 }
		END { print v["SUnreclaim:"], v["Slab:"], v["Percpu:"],
			v["MemAvailable:"] }' /proc/meminfo
}

@test "churn: 4 workers of add, serve, fio, del cycles; nothing left, no kernel memory leak" {
	local log=$BATS_TEST_TMPDIR/churn.log before after t0 w pids=() st bad=0
	local end= cycles
	: >"$log"
	# warm-up: the first devices allocate caches that stay
	churn_worker 0 4 "$log" || { cat "$log"; return 1; }
	before=($(kmem))
	: >"$log.cycles"
	stamp t0
	[ "$CHURN_SECS" = 0 ] || end=$(($(now_s) + CHURN_SECS))
	for w in $(seq "$WORKERS"); do
		churn_worker "$w" "$CYCLES" "$log" "$end" &
		pids+=($!)
	done
	for w in "${pids[@]}"; do
		wait "$w" || bad=$((bad + 1))
	done
	local secs
	secs=$(elapsed "$t0" "$(now)")
	after=($(kmem))
	local failures
	failures=$(wc -l <"$log")
	cycles=$(awk '{ n += $1 } END { print n + 0 }' "$log.cycles")
	echo "# churn: $cycles cycles in $secs s, fio $FIO_TIME each, $failures failure(s)" >&3
	echo "# churn memory KiB before: SUnreclaim ${before[0]} Slab ${before[1]} Percpu ${before[2]} MemAvailable ${before[3]}" >&3
	echo "# churn memory KiB after:  SUnreclaim ${after[0]} Slab ${after[1]} Percpu ${after[2]} MemAvailable ${after[3]}" >&3
	echo "failures ($failures, workers failed: $bad):"
	head -20 "$log"
	[ "$failures" = 0 ]
	[ "$bad" = 0 ]
	echo "cycles run: $cycles (at least $((WORKERS * MIN_CYCLES)))"
	[ "$cycles" -ge $((WORKERS * MIN_CYCLES)) ]

	echo "devices left: '$(ubd_ids)'; nodes: $(ls /dev/${UBD_PFX}* 2>/dev/null | tr '\n' ' ')"
	[ -z "$(ubd_ids)" ]
	[ "$(ls /dev/${UBD_PFX}* 2>/dev/null)" = "$UBD_CTL_NODE" ]
	no_servers

	local grow=$((after[0] - before[0]))
	echo "SUnreclaim grew by $grow KiB (tolerance $LEAK_KIB KiB)"
	[ "$grow" -le "$LEAK_KIB" ]
}

@test "module unloads cleanly" {
	ubd_assert_unload
}
