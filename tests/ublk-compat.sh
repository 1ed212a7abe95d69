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
tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
kver=$(ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -n 1)

if [ -z "$tarball" ] || [ -z "$kver" ]; then
	echo "1..0 # SKIP linux-source-6.1 or the 6.1 headers are not installed"
	exit 0
fi

tmp=$(mktemp -d -p "$build" .ublk-compat.XXXXXX)  # seen by the guest
trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xaf "$tarball" --strip-components=3 \
	linux-source-6.1/drivers/block/ublk_drv.c
echo 'obj-m += ublk_drv.o' >"$tmp/Kbuild"
if ! make -s -C "$kver" M="$tmp" modules >"$tmp/build.log" 2>&1; then
	sed 's/^/# /' "$tmp/build.log"
	echo "not ok 1 - upstream ublk_drv builds"
	echo "1..1"
	exit 1
fi
echo "ok 1 - upstream ublk_drv.c of linux-source-6.1 builds"

# The suites that opted in (common.bash says how), in one boot of the guest
# through guest.sh, with the upstream module as the driver under test.
# UBD_COMPAT_SUITES="tests/null.bats" runs only these.
suites=${UBD_COMPAT_SUITES:-$(grep -l '^# ubd-compat: yes' "$src"/tests/*.bats)}
UBD_SUITES=$(echo $suites) UBD_TAP_OFFSET=1 \
UBD_PFX=ublk UBD_MOD=ublk_drv UBD_KO="$tmp/ublk_drv.ko" \
UBD_CONTROL=/dev/ublk-control \
	"$src/tests/guest.sh"
