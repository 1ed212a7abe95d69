#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/profile-guest.sh - the guest half of bench/profile (see there).
set -u
cd "$(dirname "$0")/.." || exit 1
SAMPLES=/run/ubd-job/samples
[ -e "$SAMPLES" ] || { echo "profile-guest: no $SAMPLES: run under tests/vm/run --sample" >&2; exit 1; }
if [ "$MODE" = loop-vda ]; then
	# shellcheck source=bench/vda.sh
	. bench/vda.sh
	vda_loop_file || exit 1
	kdev=$KDEV kname=loop server=(cmd/ubd-loop --file "$VDA_FILE")
else
	modprobe null_blk nr_devices=1 queue_mode=2 submit_queues="$Q" poll_queues=0 \
		irqmode=0 home_node=0 gb=1 hw_queue_depth=128 || exit 1
	kdev=/dev/nullb0 kname=null_blk server=(cmd/ubd-null -s 1G)
fi
echo none >"/sys/block/${kdev#/dev/}/queue/scheduler"
# shellcheck disable=SC2086 # SERVER_ARGS is a list of options
udev=$("${server[@]}" -q "$Q" -d 128 $SERVER_ARGS --daemon) || exit 1
echo none >"/sys/block/${udev#/dev/}/queue/scheduler"
trap 'cmd/ubdctl del -a' EXIT
uname=${server[0]#cmd/}
spid=$(cmd/ubdctl list -J -O NAME,PID | jq -r --arg d "$udev" '.[][] | select(.name == $d) | .pid')

W=$(mktemp -d)
nsamples() { wc -l <"$SAMPLES"; }
# "OWNER START END FILE" for each executable mapping of process $2
exec_maps() {
	awk -v o="$1" '$2 ~ /x/ { split($1, a, "-"); print o, a[1], a[2], ($6 == "" ? "[anon]" : $6) }' \
		"/proc/$2/maps"
}
# fio on DEV; its IOPS on stdout, the samples of its run after the ramp in
# MARKS, with where fio's and the server's code lies (fio's job process is a
# fork of the one started here: the same mappings)
run() {
	local name=$1 dev=$2 fpid first out=$W/fio.json
	fio --name=profile --filename="$dev" --rw="$RW" --bs="$BS" --iodepth="$QD" \
		--direct=1 --ioengine=io_uring --time_based --ramp_time=1 \
		--runtime="$RUNTIME" --cpus_allowed=0 --output-format=json >"$out" &
	fpid=$!
	sleep 1
	first=$(($(nsamples) + 1))
	{ exec_maps fio "$fpid" && exec_maps "$uname" "$spid"; } >"$W/maps-$name"
	wait "$fpid" || return 1
	echo "$name $first $(nsamples) $W/maps-$name" >>"$W/marks"
	jq '.jobs[0] | (.read.iops + .write.iops) | floor' "$out"
}
for r in $(seq "$ROUNDS"); do
	for i in 0 1; do
		# which goes first alternates by round
		if [ $(((i + r) % 2)) = 1 ]; then
			name=$kname-r$r dev=$kdev
		else
			name=$uname-r$r dev=$udev
		fi
		iops=$(run "$name" "$dev") || exit 1
		echo "$name: $iops IOPS"
	done
done
echo "fio: $RW $BS QD$QD on CPU 0, $Q queue(s)${SERVER_ARGS:+, $uname $SERVER_ARGS}; samples: share of each CPU's stops"
python3 bench/profile-report.py "$SAMPLES" "$W/marks" "$TOP"
