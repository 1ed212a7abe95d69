#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Host test: bench/table's figures from a made-up bench/run result, whose
# answers are worked out by hand: the medians' ratio (U/K), each round's
# ratio (U/K-ROUNDS), failed runs left out.  TAP.
srcdir=${UBD_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
check() { # $1 = description; the rest: the command that must succeed
	local what=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
	fi
}

# run PAIR JOB SIDE ROUND IOPS [OK]
run() {
	printf '{"pair":"%s","job":"%s","side":"%s","round":%d,"ok":%s,"iops":%s,"mbps":1,"clat_p50_us":1,"clat_p99_us":2,"server_cpu_s":%s}\n' \
		"$1" "$2" "$3" "$4" "${6:-true}" "$5" "$([ "$3" = ubd ] && echo 3 || echo null)"
}
{
	# null-q1: kernel 100, 200, 300; ubd 50, 220, 150.  Medians 200 and
	# 150: 0.75.  Rounds: 0.5, 1.1, 0.5.
	run null-q1 rr kernel 1 100; run null-q1 rr ubd 1 50
	run null-q1 rr kernel 2 200; run null-q1 rr ubd 2 220
	run null-q1 rr kernel 3 300; run null-q1 rr ubd 3 150
	# loop-vda: round 2's kernel run failed, so round 2 has no ratio and
	# the kernel's median is of 10 and 30.  Medians 20 and 40: 2.  Rounds
	# 1 and 3: 4 and 1.5.
	run loop-vda rr kernel 1 10; run loop-vda rr ubd 1 40
	run loop-vda rr kernel 2 1000 false; run loop-vda rr ubd 2 40
	run loop-vda rr kernel 3 30; run loop-vda rr ubd 3 45
} | jq -s '{meta: {kernel: "k", fio: "fio", rounds: 3, runtime_s: 1, ramp_s: 1,
	scheduler: "none", guest_cpus: 2, guest_mem_mb: 1},
	pairs: [{pair: "null-q1"}, {pair: "loop-vda"}] |
		map(. + {kernel: {dev: "K", desc: "k", direct_io: true, hw_queues: 1},
			 ubd: {dev: "U", desc: "u", direct_io: true, hw_queues: 1}}),
	jobs: [{name: "rr"}], runs: ., notes: []}' >"$tmp/result.json"

"$srcdir/bench/table" "$tmp/result.json" >"$tmp/out" 2>&1
check "bench/table reads the result" test -s "$tmp/out"
# the row's fields: PAIR JOB K-IOPS (min-max) U-IOPS (min-max) U/K U/K-ROUNDS ...
row() { awk -v p="$1" '$1 == p { print $7, $8 }' "$tmp/out"; }
check "null-q1: U/K of the medians is 0.75, the rounds 0.5-1.1" \
	test "$(row null-q1)" = "0.75 0.5-1.1"
check "loop-vda: a failed run is left out of the median and its round" \
	test "$(row loop-vda)" = "2 1.5-4"
check "the header names the rounds' column" grep -q "U/K-ROUNDS" "$tmp/out"
echo "1..$n"
