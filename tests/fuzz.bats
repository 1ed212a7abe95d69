#!/usr/bin/env bats
# ubd-fuzz: random and mutated control and io commands from several threads.
# A kernel problem (oops, WARN, hung task) fails the run through the harness;
# here: every device goes away, its id comes back, and the driver still serves.
#
#   UBD_FUZZ_COUNT=N   commands (default 5000; 100000 with STRESS=1)
#   UBD_FUZZ_SEED=S    replay a seed (the seed is printed in the TAP stream)
#   UBD_FUZZ_ARGS=...  more options for ubd-fuzz (e.g. -t 8, -k)

load common

setup_file() {
	ubd_load
}

FUZZ="$UBD_BUILDDIR/tests/ubd-fuzz"

@test "ubd-fuzz: random and mutated commands from several threads" {
	local count=${UBD_FUZZ_COUNT:-5000} seed
	[ -z "${STRESS:-}" ] || count=${UBD_FUZZ_COUNT:-100000}
	seed=${UBD_FUZZ_SEED:-$(( ($(date +%s) ^ $$) & 0x7fffffff ))}
	echo "# ubd-fuzz -n $count -s $seed ${UBD_FUZZ_ARGS:-}" >&3
	run "$FUZZ" -n "$count" -s "$seed" ${UBD_FUZZ_ARGS:-}
	echo "$output"
	echo "$output" | grep '^ubd-fuzz: ' | sed 's/^/# /' >&3
	[ "$status" -eq 0 ]
	line=$(echo "$output" | grep '^ubd-fuzz: summary:')
	[[ "$line" =~ adds=([0-9]+)\ dels=([0-9]+)\ devices_left=([0-9]+)\ ids_leaked=([0-9]+) ]]
	# it got past the first checks: devices were made and deleted
	[ "${BASH_REMATCH[1]}" -gt 0 ]
	[ "${BASH_REMATCH[2]}" -gt 0 ]
	[ "${BASH_REMATCH[3]}" -eq 0 ]
	[ "${BASH_REMATCH[4]}" -eq 0 ]
}

@test "no device is left after the fuzzer" {
	ubd_cleanup
	[ -z "$(ubd_ids)" ] || { echo "devices left: $(ubd_ids)"; false; }
}

@test "ubd-null still serves io afterwards" {
	serve_bg /dev/ubdb0 ubd-null -s 64M
	dd if=/dev/urandom of=/dev/ubdb0 bs=64k count=16 oflag=direct
	dd if=/dev/ubdb0 bs=1M count=4 iflag=direct status=none | cmp -n 4194304 - /dev/zero
	kill "$SERVER_PID"
	wait "$SERVER_PID" || true
	wait_for 10 test ! -e /dev/ubdb0
}

teardown_file() {
	ubd_cleanup
}

@test "module unloads cleanly" {
	ubd_assert_unload
}
