#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/ab-guest.sh - the guest half of bench/ab (see there).  One line per
# run: round, device, IOPS, and for ubd the queue threads' migrations and
# sleeps (voluntary switches) during the run; then the medians.
set -u
# shellcheck source=bench/stats.sh
. "$(dirname "$0")/stats.sh"
# shellcheck source=bench/vda.sh
. "$(dirname "$0")/vda.sh"
W=/tmp/ab
mkdir -p "$W"
# A on the kernel's ublk driver, beside ours (bench/ab ublk)
if [ -n "${AB_UBLK_KO:-}" ]; then
	insmod "$AB_UBLK_KO" || exit 1
fi
read -ra MORE_ARGS <<<"${SERVER_ARGS:-}"
if [ "$MODE" = loop-vda ]; then
	vda_loop_file || exit 1
	DEV_ARGS=(--file "$VDA_FILE" -q "$Q" -d "$DEPTH")
else
	modprobe null_blk nr_devices=1 queue_mode=2 submit_queues="$Q" poll_queues=0 \
		irqmode=0 home_node=0 gb=1 hw_queue_depth="$DEPTH" || exit 1
	KDEV=/dev/nullb0
	DEV_ARGS=(-q "$Q" -d "$DEPTH" -s 1G)
fi
echo none >"/sys/block/${KDEV#/dev/}/queue/scheduler"

# thread counters of process $1: "comm migrations voluntary" per queue thread
threads() {
	local t
	for t in /proc/"$1"/task/*; do
		grep -q -- '-q' "$t/comm" 2>/dev/null || continue
		echo "$(cat "$t/comm") $(awk '/^se.nr_migrations/ { m = $3 }
			/^nr_voluntary_switches/ { v = $3 } END { print m, v }' "$t/sched")"
	done
}

fio_iops() { # $1 = device
	fio --name=ab --filename="$1" --rw="$RW" --bs="$BS" --iodepth="$QD" \
		--direct=1 --ioengine=io_uring --time_based --runtime="$RUNTIME" \
		--ramp_time="$RAMP" --cpus_allowed=0 --numjobs=1 \
		--output-format=json 2>/dev/null |
		jq '.jobs[0] | (.read.iops + .write.iops) | floor'
}

# the driver of build $1 (A|B), when the two have their own: the one loaded
# at boot is B's
loaded=B
load_driver() {
	local ko=$AB_KO_A
	[ -n "$AB_KO_A" ] && [ "$1" != "$loaded" ] || return 0
	[ "$1" = B ] && ko=$AB_KO_B
	rmmod ubd_drv && insmod "$ko" || { echo "$1: cannot load $ko" >&2; return 1; }
	loaded=$1
}

run() { # $1 = round, $2 = K|A|B
	local dev=$KDEV pid="" iops before after
	if [ "$2" != K ]; then
		local bin=$AB_A ctl=${AB_CTL_A:-/dev/ubd-control}
		[ "$2" = B ] && bin=$AB_B ctl=/dev/ubd-control
		load_driver "$2" || return 1
		dev=$("$bin" --control "$ctl" "${DEV_ARGS[@]}" "${MORE_ARGS[@]}" \
			--daemon 2>"$W/err") ||
			{ echo "$2: $(cat "$W/err")" >&2; return 1; }
		pid=$(cmd/ubdctl --control "$ctl" list -J -O NAME,PID |
			jq -r --arg d "$dev" '.[][] | select(.name == $d) | .pid')
		echo none >"/sys/block/${dev#/dev/}/queue/scheduler"
		before=$(threads "$pid")
	fi
	iops=$(fio_iops "$dev")
	echo "$2 $iops" >>"$W/runs"
	if [ -n "$pid" ]; then
		after=$(threads "$pid")
		echo "r$1 $2 $iops $(paste -d' ' <(echo "$before") <(echo "$after") |
			awk '{ printf "%s migr %d sleeps %d  ", $1, $5 - $2, $6 - $3 }')"
		kill -TERM "$pid"
		while [ -d "/proc/$pid" ]; do sleep 0.1; done
	else
		echo "r$1 $2 $iops"
	fi
}

: >"$W/runs"
order=(K A B)
for r in $(seq "$ROUNDS"); do
	for i in 0 1 2; do
		run "$r" "${order[(i + r) % 3]}" || exit 1
	done
done
k=$(awk '$1 == "K" { print $2 }' "$W/runs" | median)
for s in A B; do
	u=$(awk -v s=$s '$1 == s { print $2 }' "$W/runs" | median)
	echo "$s: median $u IOPS, kernel $k: U/K $(ratio "$u" "$k")"
done
