#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run every bats suite in ONE boot of the guest and print one TAP stream:
# the suites' tests, then one test for the guest kernel's log (no oops,
# BUG, WARNING, hung task or stall) and one for finishing in time.
#
#   UBD_SUITES="tests/null.bats"  run only these suites
#   UBD_GUEST_TIMEOUT=3000        seconds for the whole boot
#   UBD_TAP_OFFSET=N              number the tests from N+1 (the caller
#                                 printed tests 1..N of the stream itself)
# The driver under test is common.bash's: UBD_KO, UBD_MOD, UBD_PFX and
# UBD_CONTROL reach the guest (tests/ublk-compat.sh sets them).
set -u
src=${UBD_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${UBD_BUILDDIR:-$src}
export UBD_SRCDIR=$src UBD_BUILDDIR=$build

if [ -n "${UBD_SUITES:-}" ]; then
	suites=$UBD_SUITES
else
	suites=$(ls "$src"/tests/*.bats)
fi

n=${UBD_TAP_OFFSET:-0}
tap() {
	n=$((n + 1))
	echo "$1 $n - $2"
}

ko=${UBD_KO:-$src/drivers/ubd_drv.ko}
if [ ! -f "$ko" ]; then
	tap "not ok" "$ko is built (run 'make module')"
	echo "1..$n"
	exit 1
fi

# Four CPUs, so that 4-queue devices really have four queues.  --timing
# puts each test's time in its line: where the run's minutes go.
rc_file=$(mktemp)
{
	"$src/tests/vm/run" --cpus 4 --mem 2048 \
		--timeout "${UBD_GUEST_TIMEOUT:-3000}" \
		--env UBD_SRCDIR --env UBD_BUILDDIR -- \
		bats --tap --timing $suites
	echo $? >"$rc_file"
} | {
	# renumber bats' tests into our stream; its plan line is dropped
	while IFS= read -r line; do
		case $line in
		1..*) ;;
		"ok "*|"not ok "*)
			n=$((n + 1))
			echo "$line" | sed -E "s/^(not )?ok [0-9]+/\1ok $n/"
			;;
		*) echo "$line" ;;
		esac
	done
	echo "$n" >"$rc_file.n"
}
rc=$(cat "$rc_file")
n=$(cat "$rc_file.n")
rm -f "$rc_file" "$rc_file.n"

if [ "$rc" = 125 ]; then
	tap "not ok" "guest kernel log is clean (see the vm: lines above)"
else
	tap "ok" "guest kernel log is clean"
fi
if [ "$rc" = 124 ]; then
	tap "not ok" "guest suites finished within the timeout"
else
	tap "ok" "guest suites finished within the timeout"
fi
echo "1..$n"
