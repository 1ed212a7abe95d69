#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/guest.sh - the guest half of bench/run: runs the fio jobs of
# bench/jobs.sh on each kernel/ubd device pair, alternating the two devices,
# and prints the raw results as one JSON document between the lines
# "@@UBD-BENCH-JSON-BEGIN@@" and "@@UBD-BENCH-JSON-END@@" (also when a job or
# a setup step failed: what was measured so far).  Progress goes to stderr.
# Runs as root in the guest started by bench/run, in the project root, with
# ubd_drv loaded and the benchmark disk as /dev/vda.  Exit: 0, or 1 when a job
# or a device setup failed.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/jobs.sh"
UBD_NULL=$ROOT/cmd/ubd-null
UBD_LOOP=$ROOT/cmd/ubd-loop
UBD_NBD=$ROOT/cmd/ubd-nbd
NBD_PORT=10809
NBDKIT_PID=""
UBDCTL=$ROOT/cmd/ubdctl
W=/tmp/bench
mkdir -p "$W"
RUNS=$W/runs.jsonl PAIRS_OUT=$W/pairs.jsonl NOTES=$W/notes.jsonl
: >"$RUNS"; : >"$PAIRS_OUT"; : >"$NOTES"
CLK_TCK=$(getconf CLK_TCK)
FAILED=0
NRUNS=$(bench_nruns)
N=0
T_START=$(date +%s)

log() { printf 'bench: %s\n' "$*" >&2; }
note() { # a problem worth keeping in the JSON
	log "NOTE: $*"
	jq -cn --arg m "$*" '$m' >>"$NOTES"
	true
}

# ----------------------------------------------------------------- devices --
KDEV="" UDEV="" UPID="" KDESC="" UDESC="" KDIO=null UDIO=null UNOTE=""
VDA_MNT=/mnt/vda

set_sched() { # $1 = /dev/X; prints the scheduler in use
	local q=/sys/block/${1#/dev/}/queue/scheduler
	if [ "$SCHED" != keep ] && [ -w "$q" ]; then
		echo "$SCHED" >"$q" 2>/dev/null || note "cannot set scheduler $SCHED on $1"
	fi
	sed -n 's/.*\[\(.*\)\].*/\1/p' "$q" 2>/dev/null
}

# start a ubd server with --daemon; sets UDEV, UPID, UNOTE, UDIO
start_ubd() {
	local out err=$W/server.err
	out=$("$@" --daemon 2>"$err") || { note "'$*' failed: $(cat "$err")"; return 1; }
	UDEV=$out
	UNOTE=$(cat "$err")
	[ -n "$UNOTE" ] && log "server: $UNOTE"
	local info
	info=$("$UBDCTL" list -J -O NAME,PID,DIO | jq -c --arg d "$UDEV" '.[][] | select(.name == $d)')
	UPID=$(jq -r '.pid' <<<"$info")
	UDIO=$(jq -r '.dio | tostring' <<<"$info")
	[ -b "$UDEV" ] && [ -d "/proc/$UPID" ] || { note "'$*': no device/server ($UDEV, pid $UPID)"; return 1; }
}

stop_ubd() {
	[ -n "$UPID" ] || return 0
	kill -TERM "$UPID" 2>/dev/null
	local i
	for i in $(seq 100); do [ -d "/proc/$UPID" ] || break; sleep 0.1; done
	[ -d "/proc/$UPID" ] && { note "server $UPID did not exit on SIGTERM"; kill -KILL "$UPID"; }
	UPID="" UDEV=""
}

# losetup with direct I/O if the file allows it; sets KDEV, KDIO
start_loop() {
	local f=$1 err=$W/losetup.err
	modprobe loop || return 1
	if ! KDEV=$(losetup --direct-io=on -f --show "$f" 2>"$err"); then
		log "losetup --direct-io=on: $(cat "$err"); retrying without direct I/O"
		KDEV=$(losetup -f --show "$f") || { note "losetup $f failed"; return 1; }
	fi
	KDIO=$(cat "/sys/block/${KDEV#/dev/}/loop/dio")
	[ "$KDIO" = 1 ] && KDIO=true || KDIO=false
}

make_file() { # $1 = path; a fully written file of FILE_MB MiB
	local flag=""
	[ "${2:-}" = direct ] && flag=oflag=direct
	log "writing $1 ($FILE_MB MiB)"
	dd if=/dev/zero of="$1" bs=1M count="$FILE_MB" $flag conv=fsync status=none
}

pair_up() { # $1 = pair; sets KDEV/KDESC/KDIO UDEV/UPID/UDESC/UDIO
	local p=$1 q
	KDIO=null UDIO=null
	case $p in
	null-q*)
		# null-qN, null-qN-ngd (--need-get-data), null-qN-uc (--user-copy)
		local mode=()
		q=${p#null-q}
		case $q in
		*-ngd) mode=(--need-get-data) ;;
		*-uc) mode=(--user-copy) ;;
		esac
		q=${q%%-*}
		modprobe null_blk nr_devices=1 queue_mode=2 submit_queues="$q" poll_queues=0 \
			irqmode=0 home_node=0 gb="$NULL_GB" hw_queue_depth="$DEPTH" ||
			{ note "modprobe null_blk failed"; return 1; }
		KDEV=/dev/nullb0
		KDESC="null_blk queue_mode=2 submit_queues=$q irqmode=0 gb=$NULL_GB hw_queue_depth=$DEPTH"
		UDESC="ubd-null -q $q -d $DEPTH -s ${NULL_GB}G${mode:+ ${mode[*]}}"
		start_ubd "$UBD_NULL" -q "$q" -d "$DEPTH" -s "${NULL_GB}G" "${mode[@]}" || return 1
		;;
	loop-tmpfs)
		[ -f "$W/loop.img" ] || make_file "$W/loop.img" || return 1
		start_loop "$W/loop.img" || return 1
		KDESC="loop --direct-io=on (dio=$KDIO), file on tmpfs"
		UDESC="ubd-loop -d $DEPTH, file on tmpfs"
		start_ubd "$UBD_LOOP" --file "$W/loop.img" -d "$DEPTH" || return 1
		;;
	nbd-mem)
		# one nbdkit export, served by both clients at once
		ip link set lo up 2>/dev/null
		nbdkit -f -i 127.0.0.1 -p "$NBD_PORT" -P "$W/nbdkit.pid" memory "${NULL_GB}G" \
			2>"$W/nbdkit.err" &
		for q in $(seq 100); do [ -s "$W/nbdkit.pid" ] && break; sleep 0.2; done
		NBDKIT_PID=$(cat "$W/nbdkit.pid" 2>/dev/null)
		[ -n "$NBDKIT_PID" ] || { note "nbdkit did not start: $(cat "$W/nbdkit.err")"; return 1; }
		modprobe nbd nbds_max=2 || { note "modprobe nbd failed"; return 1; }
		nbd-client 127.0.0.1 "$NBD_PORT" /dev/nbd0 >"$W/nbd-client.out" 2>&1 ||
			{ note "nbd-client failed: $(cat "$W/nbd-client.out")"; return 1; }
		KDEV=/dev/nbd0
		KDESC="nbd-client, 1 connection (kernel nbd), nbdkit memory ${NULL_GB}G on 127.0.0.1"
		UDESC="ubd-nbd -q 1 -d $DEPTH, the same nbdkit export"
		start_ubd "$UBD_NBD" --host 127.0.0.1 --port "$NBD_PORT" -q 1 -d "$DEPTH" || return 1
		;;
	loop-vda)
		if ! mountpoint -q "$VDA_MNT"; then
			[ -b /dev/vda ] || { note "no /dev/vda"; return 1; }
			log "mkfs.ext4 /dev/vda"
			mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 /dev/vda ||
				{ note "mkfs.ext4 failed"; return 1; }
			mkdir -p "$VDA_MNT"
			mount -t ext4 /dev/vda "$VDA_MNT" || { note "mount /dev/vda failed"; return 1; }
		fi
		[ -f "$VDA_MNT/loop.img" ] || make_file "$VDA_MNT/loop.img" direct || return 1
		start_loop "$VDA_MNT/loop.img" || return 1
		KDESC="loop --direct-io=on (dio=$KDIO), file on ext4 on virtio-blk"
		UDESC="ubd-loop -d $DEPTH, file on ext4 on virtio-blk"
		start_ubd "$UBD_LOOP" --file "$VDA_MNT/loop.img" -d "$DEPTH" || return 1
		;;
	*) note "unknown pair $p"; return 1 ;;
	esac
}

pair_down() {
	stop_ubd
	case $KDEV in
	/dev/nullb*) rmmod null_blk 2>/dev/null || { sleep 1; rmmod null_blk; } || note "rmmod null_blk failed" ;;
	/dev/loop*) losetup -d "$KDEV" || note "losetup -d $KDEV failed" ;;
	/dev/nbd*) nbd-client -d "$KDEV" >/dev/null 2>&1 || note "nbd-client -d $KDEV failed" ;;
	esac
	if [ -n "$NBDKIT_PID" ]; then
		kill "$NBDKIT_PID" 2>/dev/null
		wait "$NBDKIT_PID" 2>/dev/null
		NBDKIT_PID=""
		rm -f "$W/nbdkit.pid"
	fi
	KDEV=""
}

# ------------------------------------------------------------------ fio run --
cpu_ticks() { # utime+stime of process $1 (all its threads), in ticks
	[ -r "/proc/$1/stat" ] || { echo 0; return; }
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# Where the time went, for the run's record: per CPU the run and wait time
# (/proc/schedstat), and per thread of server $1 (if any) its CPU at the
# moment, run and wait time, migrations and context switches.  One JSON
# object; sched_delta makes the differences of two.  Read before and after
# fio, not during: nothing more runs beside the job.
sched_snap() {
	local t
	{
		awk '/^cpu[0-9]/ { print "cpu", substr($1, 4), $8, $9 }' /proc/schedstat
		[ -n "$1" ] && for t in /proc/"$1"/task/*; do
			[ -r "$t/schedstat" ] || continue
			echo "thread ${t##*/} $(cat "$t/comm" 2>/dev/null | tr -c 'A-Za-z0-9_.\n-' _)" \
				"$(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{ print $37 }')" \
				"$(awk '{ print $1, $2 }' "$t/schedstat" 2>/dev/null)" \
				"$(awk '/^se.nr_migrations|^nr_voluntary_switches|^nr_involuntary_switches/ { printf "%s ", $3 }' "$t/sched" 2>/dev/null)"
		done
	} | awk 'BEGIN { printf "{\"cpus\":{" }
		$1 == "cpu" { printf "%s\"%s\":[%s,%s]", nc++ ? "," : "", $2, $3, $4 }
		$1 == "thread" && NF == 9 { t[nt++] = sprintf("\"%s\":{\"comm\":\"%s\",\"cpu\":%s,\"run\":%s,\"wait\":%s,\"migr\":%s,\"vol\":%s,\"invol\":%s}", $2, $3, $4, $5, $6, $7, $8, $9) }
		END { printf "},\"threads\":{"; for (i = 0; i < nt; i++) printf "%s%s", i ? "," : "", t[i]; print "}}" }'
}

# the record of sched_snap $1 (before) to $2 (after), times in ms
sched_delta() {
	jq -cn --argjson a "$1" --argjson b "$2" '
		def ms: . / 1e6 | round;
		{cpus: [$b.cpus | to_entries[] | .key as $c |
			{cpu: ($c | tonumber), busy_ms: ((.value[0] - $a.cpus[$c][0]) | ms),
			 wait_ms: ((.value[1] - $a.cpus[$c][1]) | ms)}],
		 threads: [$b.threads | to_entries[] | select($a.threads[.key]) |
			.key as $t | .value as $v | $a.threads[$t] as $o |
			{comm: $v.comm, cpu_end: $v.cpu, run_ms: (($v.run - $o.run) | ms),
			 wait_ms: (($v.wait - $o.wait) | ms), migrations: ($v.migr - $o.migr),
			 vol_cs: ($v.vol - $o.vol), invol_cs: ($v.invol - $o.invol)}]}' 2>/dev/null ||
		echo null
}

# run_job ROUND PAIR SIDE DEV PID JOBNAME RW BS QD
run_job() {
	local round=$1 pair=$2 side=$3 dev=$4 pid=$5 name=$6 rw=$7 bs=$8 qd=$9
	local out=$W/fio.json err=$W/fio.err c0=0 c1=0 rc dir s0 sched
	N=$((N + 1))
	[ -n "$pid" ] && c0=$(cpu_ticks "$pid")
	s0=$(sched_snap "$pid")
	fio --name="$name" --filename="$dev" --rw="$rw" --bs="$bs" --iodepth="$qd" \
		--direct=1 --ioengine=io_uring --time_based --runtime="$RUNTIME" \
		--ramp_time="$RAMP" --cpus_allowed=0 --numjobs=1 \
		--output-format=json --output="$out" 2>"$err"
	rc=$?
	[ -n "$pid" ] && c1=$(cpu_ticks "$pid")
	sched=$(sched_delta "$s0" "$(sched_snap "$pid")")
	case $rw in *read) dir=read ;; *) dir=write ;; esac
	local cpu=null
	[ -n "$pid" ] && cpu=$(awk -v a="$c0" -v b="$c1" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / t }')
	if [ $rc -eq 0 ] && jq -e '.jobs[0]' "$out" >/dev/null 2>&1 &&
		[ "$(jq '.jobs[0].error' "$out")" = 0 ]; then
		jq -c --argjson round "$round" --arg pair "$pair" --arg side "$side" \
			--arg dev "$dev" --arg job "$name" --arg dir "$dir" \
			--argjson cpu "$cpu" --argjson sched "$sched" '.jobs[0] as $j | $j[$dir] as $d | {
				round: $round, pair: $pair, side: $side, dev: $dev, job: $job,
				ok: true,
				iops: $d.iops,
				mbps: ($d.bw_bytes / 1e6),
				clat_p50_us: ($d.clat_ns.percentile["50.000000"] / 1000),
				clat_p99_us: ($d.clat_ns.percentile["99.000000"] / 1000),
				clat_mean_us: ($d.clat_ns.mean / 1000),
				ios: $d.total_ios,
				fio_usr_cpu: $j.usr_cpu, fio_sys_cpu: $j.sys_cpu,
				fio_ctx: $j.ctx,
				server_cpu_s: $cpu, sched: $sched }' "$out" >>"$RUNS"
		log "[$N/$NRUNS] r$round $pair $side $name: $(tail -n1 "$RUNS" |
			jq -r '"\(.iops | floor) IOPS, \(.mbps * 10 | floor / 10) MB/s, p99 \(.clat_p99_us) us" +
				(if .server_cpu_s then ", server \(.server_cpu_s) s CPU" else "" end)')"
	else
		FAILED=1
		local msg
		msg=$(tail -n 5 "$err" | tr '\n' ' ')
		note "fio $name on $dev ($pair $side, round $round) failed: rc $rc: $msg"
		jq -cn --argjson round "$round" --arg pair "$pair" --arg side "$side" \
			--arg dev "$dev" --arg job "$name" --arg err "$msg" --argjson rc "$rc" \
			'{round: $round, pair: $pair, side: $side, dev: $dev, job: $job,
			  ok: false, fio_rc: $rc, error: $err}' >>"$RUNS"
	fi
}

emit() {
	trap - EXIT
	pair_down 2>/dev/null
	mountpoint -q "$VDA_MNT" && umount "$VDA_MNT"
	local jobs
	jobs=$(printf '%s\n' "${JOBS[@]}" "${MODE_JOBS[@]}" | awk '!seen[$0]++' | jq -R 'split(" ") | {name: .[0], rw: .[1], bs: .[2], iodepth: (.[3] | tonumber)}' | jq -s -c .)
	echo "@@UBD-BENCH-JSON-BEGIN@@"
	jq -n --slurpfile runs "$RUNS" --slurpfile pairs "$PAIRS_OUT" --slurpfile notes "$NOTES" \
		--argjson jobs "$jobs" \
		--arg kernel "$(uname -r)" --arg fio "$(fio --version)" \
		--argjson quick "$QUICK" --argjson rounds "$ROUNDS" \
		--argjson runtime "$RUNTIME" --argjson ramp "$RAMP" \
		--argjson cpus "$(nproc)" --argjson mem_mb "$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)" \
		--argjson guest_s "$(($(date +%s) - T_START))" --arg sched "$SCHED" \
		--argjson failed "$FAILED" \
		'{meta: {kernel: $kernel, fio: $fio, quick: ($quick == 1), rounds: $rounds,
			 runtime_s: $runtime, ramp_s: $ramp, guest_cpus: $cpus,
			 guest_mem_mb: $mem_mb, scheduler: $sched, guest_seconds: $guest_s,
			 fio_cpus_allowed: "0", failed: ($failed == 1)},
		  jobs: $jobs, pairs: $pairs, notes: $notes, runs: $runs}'
	echo "@@UBD-BENCH-JSON-END@@"
}
trap 'emit; exit 1' EXIT

# --------------------------------------------------------------------- main --
log "$(uname -r), $(nproc) CPUs; pairs: $PAIRS; ${#JOBS[@]} jobs x $ROUNDS rounds;" \
	"runtime $RUNTIME s + ramp $RAMP s; $NRUNS fio runs"
for round in $(seq "$ROUNDS"); do
	for pair in $PAIRS; do
		bench_pair_jobs "$pair"
		# ONLY may leave a pair nothing to run
		[ ${#PAIR_JOBS[@]} -gt 0 ] || continue
		if ! pair_up "$pair"; then
			FAILED=1
			note "setting up $pair (round $round) failed; its jobs are skipped"
			pair_down
			continue
		fi
		ksched=$(set_sched "$KDEV")
		usched=$(set_sched "$UDEV")
		if [ "$round" = 1 ]; then
			jq -cn --arg pair "$pair" --arg kdev "$KDEV" --arg kdesc "$KDESC" \
				--argjson kdio "$KDIO" --arg ksched "$ksched" \
				--arg udev "$UDEV" --arg udesc "$UDESC" --argjson udio "$UDIO" \
				--arg usched "$usched" --arg unote "$UNOTE" \
				--arg kq "$(ls "/sys/block/${KDEV#/dev/}/mq" | wc -l)" \
				--arg uq "$(ls "/sys/block/${UDEV#/dev/}/mq" | wc -l)" \
				'{pair: $pair,
				  kernel: {dev: $kdev, desc: $kdesc, direct_io: $kdio, scheduler: $ksched, hw_queues: ($kq | tonumber)},
				  ubd: {dev: $udev, desc: $udesc, direct_io: $udio, scheduler: $usched, hw_queues: ($uq | tonumber),
					server_notice: (if $unote == "" then null else $unote end)}}' >>"$PAIRS_OUT"
		fi
		log "round $round $pair: $KDEV ($KDESC, sched $ksched) vs $UDEV ($UDESC, pid $UPID, sched $usched)"
		j=0
		for job in "${PAIR_JOBS[@]}"; do
			set -- $job
			# alternate which device goes first, by job and by round
			if [ $(((j + round) % 2)) = 1 ]; then
				run_job "$round" "$pair" kernel "$KDEV" "" "$@"
				run_job "$round" "$pair" ubd "$UDEV" "$UPID" "$@"
			else
				run_job "$round" "$pair" ubd "$UDEV" "$UPID" "$@"
				run_job "$round" "$pair" kernel "$KDEV" "" "$@"
			fi
			j=$((j + 1))
		done
		pair_down
	done
done
log "done in $(($(date +%s) - T_START)) s"
emit
exit "$FAILED"
