#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/profile-guest.sh - the guest half of bench/profile (see there).
set -u
cd "$(dirname "$0")/.." || exit 1
SAMPLES=/run/ubd-job/samples
[ -e "$SAMPLES" ] || { echo "profile-guest: no $SAMPLES: run under tests/vm/run --sample" >&2; exit 1; }
modprobe null_blk nr_devices=1 queue_mode=2 submit_queues="$Q" poll_queues=0 \
	irqmode=0 home_node=0 gb=1 hw_queue_depth=128 || exit 1
echo none >/sys/block/nullb0/queue/scheduler
# shellcheck disable=SC2086 # SERVER_ARGS is a list of options
udev=$(cmd/ubd-null -q "$Q" -d 128 -s 1G $SERVER_ARGS --daemon) || exit 1
echo none >"/sys/block/${udev#/dev/}/queue/scheduler"
trap 'cmd/ubdctl del -a' EXIT

W=$(mktemp -d)
nsamples() { wc -l <"$SAMPLES"; }
# fio on DEV; its IOPS on stdout, the samples of its run after the ramp in MARKS
run() {
	local name=$1 dev=$2 fpid first out=$W/fio.json
	fio --name=profile --filename="$dev" --rw="$RW" --bs="$BS" --iodepth="$QD" \
		--direct=1 --ioengine=io_uring --time_based --ramp_time=1 \
		--runtime="$RUNTIME" --cpus_allowed=0 --output-format=json >"$out" &
	fpid=$!
	sleep 1
	first=$(($(nsamples) + 1))
	wait "$fpid" || return 1
	echo "$name $first $(nsamples)" >>"$W/marks"
	jq '.jobs[0] | (.read.iops + .write.iops) | floor' "$out"
}
for r in $(seq "$ROUNDS"); do
	for i in 0 1; do
		# which goes first alternates by round
		if [ $(((i + r) % 2)) = 1 ]; then
			name=null_blk-r$r dev=/dev/nullb0
		else
			name=ubd-null-r$r dev=$udev
		fi
		iops=$(run "$name" "$dev") || exit 1
		echo "$name: $iops IOPS"
	done
done
echo "fio: $RW $BS QD$QD on CPU 0, $Q queue(s)${SERVER_ARGS:+, ubd-null $SERVER_ARGS}; samples: share of each CPU's stops"
python3 bench/profile-report.py "$SAMPLES" "$W/marks" "$TOP"
