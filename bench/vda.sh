# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench/vda.sh - sourced by the guest halves of bench/ab and bench/profile.

# ext4 on the virtio disk, a 512 MiB file on it at VDA_FILE (written, not
# sparse: both drivers then read allocated blocks), and loop with direct I/O
# over it; the loop device in KDEV.
VDA_FILE=/mnt/vda/loop.img
vda_loop_file() {
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 /dev/vda || return 1
	mkdir -p /mnt/vda && mount -t ext4 /dev/vda /mnt/vda || return 1
	dd if=/dev/zero of="$VDA_FILE" bs=1M count=512 oflag=direct conv=fsync status=none ||
		return 1
	modprobe loop
	# shellcheck disable=SC2034 # the caller's
	KDEV=$(losetup --direct-io=on -f --show "$VDA_FILE")
}
