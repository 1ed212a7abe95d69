#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/busy-cpu-guest.sh - the guest half of bench/busy-cpu (see there).
set -u
# shellcheck source=bench/stats.sh
. "$(dirname "$0")/stats.sh"
modprobe null_blk nr_devices=1 queue_mode=2 submit_queues=1 poll_queues=0 \
	irqmode=0 home_node=0 gb=1 hw_queue_depth=128 || exit 1
echo none >/sys/block/nullb0/queue/scheduler

fio_iops() {
	fio --name=busy-cpu --filename=/dev/nullb0 --rw="$RW" --bs="$BS" \
		--iodepth="$QD" --direct=1 --ioengine=io_uring --time_based \
		--runtime="$RUNTIME" --cpus_allowed=0 --output-format=json |
		jq '.jobs[0] | (.read.iops + .write.iops) | floor'
}

# a busy-loop on every CPU but 0; their pids in BUSY
BUSY=()
busy_start() {
	local c
	for c in $(seq 1 $(($(nproc) - 1))); do
		taskset -c "$c" bash -c 'while :; do :; done' &
		BUSY+=($!)
	done
}
busy_stop() {
	kill "${BUSY[@]}" 2>/dev/null
	wait "${BUSY[@]}" 2>/dev/null
	BUSY=()
}
trap busy_stop EXIT

W=$(mktemp -d)
printf '%-6s %-6s %8s\n' round others IOPS
for r in $(seq "$ROUNDS"); do
	# which goes first alternates by round
	for i in 0 1; do
		if [ $(((i + r) % 2)) = 0 ]; then
			mode=idle
		else
			mode=busy
			busy_start
		fi
		iops=$(fio_iops) || exit 1
		[ "$mode" = busy ] && busy_stop
		echo "$iops" >>"$W/$mode"
		printf '%-6s %-6s %8s\n' "$r" "$mode" "$iops"
	done
done
idle=$(median <"$W/idle")
busy=$(median <"$W/busy")
echo "median IOPS: others idle $idle, others busy $busy: busy/idle $(ratio "$busy" "$idle")"
