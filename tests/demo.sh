#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The README demo, run inside the guest by './quickstart demo'.
set -euo pipefail
export PATH="$PWD/cmd:$PATH"
img=/tmp/demo.img mnt=/tmp/demo-mnt

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "A 256 MiB image file to serve"
show truncate -s 256M "$img"

step "Create a device, then serve the image on it with ubd-loop"
id=$(ubdctl add)
printf '$ ubdctl add\n%s\n' "$id"
dev=$(ubd-loop --file "$img" -n "$id" --daemon)
printf '$ ubd-loop --file %s -n %s --daemon\n%s\n' "$img" "$id" "$dev"

step "Make a file system and mount it"
show mkfs.ext4 -q -L ubd-demo "$dev"
mkdir -p "$mnt"
show mount "$dev" "$mnt"

step "Write 64 MiB, then read it back through a fresh mount"
show dd if=/dev/urandom of="$mnt/data" bs=1M count=64 status=none
sum1=$(sha256sum <"$mnt/data")
show umount "$mnt"
show mount "$dev" "$mnt"
sum2=$(sha256sum <"$mnt/data")
echo "written: ${sum1%% *}"
echo "read:    ${sum2%% *}"
[ "$sum1" = "$sum2" ] && echo "checksums match"

step "What is configured"
show ubdctl list -O NAME,STATE,TARGET,SIZE,QUEUES,PID,BACK-FILE,FSTYPE,MOUNTPOINT
show df -h "$mnt"

step "Tear down"
show umount "$mnt"
show ubdctl del "$id"
show ubdctl list
echo "(no devices left)"
[ "$sum1" = "$sum2" ]
