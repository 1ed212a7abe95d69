# SPDX-License-Identifier: GPL-2.0-or-later
# bench/jobs.sh - the fio jobs of bench/run and their settings; sourced by
# bench/run (host) and bench/guest.sh (guest).  Every knob can be set in the
# environment; QUICK=1 changes the defaults only.
#
# A job is "name rw bs iodepth".

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	ROUNDS=${ROUNDS:-1}
	RUNTIME=${RUNTIME:-3}
	RAMP=${RAMP:-1}
	DEPTHS=${DEPTHS:-"1 32"}
else
	ROUNDS=${ROUNDS:-2}
	RUNTIME=${RUNTIME:-10}
	RAMP=${RAMP:-2}
	DEPTHS=${DEPTHS:-"1 32 64"}
fi
# device pairs, in this order: null-q1 null-q1-ngd null-q1-uc null-q2
# loop-tmpfs loop-vda.  null-qN-ngd and null-qN-uc are ubd-null in its other
# data-path modes (--need-get-data, --user-copy), against null_blk again;
# they run MODE_JOBS only.  nbd-mem (kernel nbd vs ubd-nbd on one nbdkit
# export) runs when named.
PAIRS=${PAIRS:-"null-q1 null-q1-ngd null-q1-uc null-q2 loop-tmpfs loop-vda"}
# size of ubd-null and null_blk (GiB), of the loop backing files (MiB), of the
# virtio disk image (MiB; it holds the ext4 file system of loop-vda)
NULL_GB=${NULL_GB:-1}
FILE_MB=${FILE_MB:-512}
DISK_MB=${DISK_MB:-1024}
# how QEMU serves that disk (tests/vm/run --disk-aio): io_uring submits each
# batch the guest kicks with one io_uring_enter; threads hands every request
# to a worker thread of its own
DISK_AIO=${DISK_AIO:-io_uring}
# tags per queue of every device (null_blk hw_queue_depth, ubd -d)
DEPTH=${DEPTH:-128}
# I/O scheduler set on every device under test ("keep": leave the default)
SCHED=${SCHED:-none}

JOBS=()
for d in $DEPTHS; do JOBS+=("randread-4k-qd$d randread 4k $d"); done
for d in $DEPTHS; do JOBS+=("randwrite-4k-qd$d randwrite 4k $d"); done
JOBS+=("read-128k-qd32 read 128k 32" "write-128k-qd32 write 128k 32")
# the jobs of the mode pairs (null-qN-ngd, null-qN-uc)
MODE_JOBS=("randread-4k-qd32 randread 4k 32" "randwrite-4k-qd32 randwrite 4k 32"
	   "read-128k-qd32 read 128k 32")
# ONLY="name ...": just these jobs, of both lists (an A/B of one row needs
# many rounds of it, not of the rest)
ONLY=${ONLY:-}
if [ -n "$ONLY" ]; then
	bench_only() { # keep the jobs of array $1 that ONLY names
		local -n list=$1
		local kept=() j
		for j in "${list[@]}"; do
			[[ " $ONLY " == *" ${j%% *} "* ]] && kept+=("$j")
		done
		list=("${kept[@]}")
	}
	bench_only JOBS
	bench_only MODE_JOBS
fi

# is $1 a pair of ubd-null in another data-path mode?
bench_mode_pair() {
	case $1 in null-q*-ngd | null-q*-uc) return 0 ;; *) return 1 ;; esac
}

# the jobs of pair $1 into the array PAIR_JOBS
bench_pair_jobs() {
	if bench_mode_pair "$1"; then
		PAIR_JOBS=("${MODE_JOBS[@]}")
	else
		PAIR_JOBS=("${JOBS[@]}")
	fi
}

# number of fio runs of one bench/run
bench_nruns() {
	local p n=0
	for p in $PAIRS; do
		bench_pair_jobs "$p"
		n=$((n + ROUNDS * 2 * ${#PAIR_JOBS[@]}))
	done
	echo "$n"
}
