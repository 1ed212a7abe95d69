#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Our tools against the kernel's own ublk driver: builds drivers/block/
# ublk_drv.c of Debian's linux-source-6.1 out of tree (at test time, into a
# temp dir: none of its code is ours), then runs the guest suites that opt
# in ('# ubd-compat: yes', see tests/common.bash) against it in one boot,
# through tests/guest.sh.  Prints one TAP stream.
set -u
src=${UBD_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${UBD_BUILDDIR:-$src}
tmp=$(mktemp -d -p "$build" .ublk-compat.XXXXXX)  # seen by the guest
trap 'rm -rf "$tmp"' EXIT
ko=$("$src/tests/vm/build-ublk" "$tmp" 2>"$tmp/err")
case $? in
0) ;;
77)
	echo "1..0 # SKIP linux-source-6.1 or the 6.1 headers are not installed"
	exit 0
	;;
*)
	cat "$tmp/err"
	echo "not ok 1 - upstream ublk_drv builds"
	echo "1..1"
	exit 1
	;;
esac
echo "ok 1 - upstream ublk_drv.c of linux-source-6.1 builds"

# The suites that opted in (common.bash says how), in one boot of the guest
# through guest.sh, with the upstream module as the driver under test.
# UBD_COMPAT_SUITES="tests/null.bats" runs only these.
suites=${UBD_COMPAT_SUITES:-$(grep -l '^# ubd-compat: yes' "$src"/tests/*.bats)}
UBD_SUITES=$(echo $suites) UBD_TAP_OFFSET=1 \
UBD_PFX=ublk UBD_MOD=ublk_drv UBD_KO="$ko" \
UBD_CONTROL=/dev/ublk-control \
	"$src/tests/guest.sh"
