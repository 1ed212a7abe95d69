#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Our tools against the kernel's own ublk driver: builds drivers/block/
# ublk_drv.c of Debian's linux-source-6.1 out of tree (at test time, into a
# temp dir: none of its code is ours), boots the guest with it, and serves
# /dev/ublkbN with ubd-null through /dev/ublk-control.  Prints TAP.
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

# the checks run in the guest and print TAP from 2 on
cat >"$tmp/guest.sh" <<'GUEST'
export PATH="$UBD_BUILDDIR/cmd:$PATH"
n=1
t() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
ubd-null --control /dev/ublk-control -q 2 -s 64M >/tmp/srv.log 2>&1 &
pid=$!
for i in $(seq 100); do [ -b /dev/ublkb0 ] && break; sleep 0.1; done
sed 's/^/# /' /tmp/srv.log
t "ubd-null serves /dev/ublkb0 through /dev/ublk-control (legacy opcodes)" "[ -b /dev/ublkb0 ]"
t "reads return zeroes" "dd if=/dev/ublkb0 bs=4k count=256 iflag=direct status=none | cmp -n 1048576 - /dev/zero"
t "fio randrw finishes without errors" "fio --name=t --filename=/dev/ublkb0 --rw=randrw --bs=4k --iodepth=16 --ioengine=io_uring --direct=1 --runtime=2 --time_based --output-format=json | jq -e '.jobs[0].error == 0 and .jobs[0].read.total_ios > 0' >/dev/null"
t "ubdctl list -J shows it LIVE with the server's pid" "ubdctl --control /dev/ublk-control list -J | jq -e --argjson p $pid '.ubddevices[0] | .state == \"LIVE\" and .pid == \$p and .queues == 2' >/dev/null"
ubdctl --control /dev/ublk-control features >/dev/null 2>&1; fst=$?
t "ubdctl features says GET_FEATURES is missing, status 2" "[ $fst = 2 ]"
kill $pid; wait $pid; st=$?
t "SIGTERM: the server exits 0 and deletes the device" "[ $st = 0 ] && [ ! -e /dev/ublkb0 ] && [ -z \"\$(ls /sys/class/ublk-char 2>/dev/null)\" ]"
t "ublk_drv unloads" "rmmod ublk_drv"
echo "1..$n"
GUEST

"$src/tests/vm/run" --cpus 2 --module "$tmp/ublk_drv.ko" \
	--env UBD_BUILDDIR -- bash "$tmp/guest.sh"
