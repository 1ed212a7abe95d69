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
# device pairs, in this order: null-q1 null-q2 loop-tmpfs loop-vda;
# nbd-mem (kernel nbd vs ubd-nbd on one nbdkit export) runs when named
PAIRS=${PAIRS:-"null-q1 null-q2 loop-tmpfs loop-vda"}
# size of ubd-null and null_blk (GiB), of the loop backing files (MiB), of the
# virtio disk image (MiB; it holds the ext4 file system of loop-vda)
NULL_GB=${NULL_GB:-1}
FILE_MB=${FILE_MB:-512}
DISK_MB=${DISK_MB:-1024}
# tags per queue of every device (null_blk hw_queue_depth, ubd -d)
DEPTH=${DEPTH:-128}
# I/O scheduler set on every device under test ("keep": leave the default)
SCHED=${SCHED:-none}

JOBS=()
for d in $DEPTHS; do JOBS+=("randread-4k-qd$d randread 4k $d"); done
for d in $DEPTHS; do JOBS+=("randwrite-4k-qd$d randwrite 4k $d"); done
JOBS+=("read-128k-qd32 read 128k 32" "write-128k-qd32 write 128k 32")

# number of fio runs of one bench/run
bench_nruns() {
	set -- $PAIRS
	echo $((ROUNDS * $# * 2 * ${#JOBS[@]}))
}
