#!/usr/bin/env bats
# ubd-nbd: NBD exports from real servers (nbdkit, qemu-nbd, nbd-server) on
# the guest's loopback, and from tests/nbd-drop.py, a server that breaks
# connections on purpose.

load common
bats_require_minimum_version 1.5.0

IMG=/tmp/ubd-nbd.img
MNT=/tmp/ubd-mnt-nbd
DROP="$UBD_SRCDIR/tests/nbd-drop.py"

setup_file() {
	ubd_load
	ip link set lo up 2>/dev/null || true
}

# the NBD servers this suite started
kill_nbd_servers() {
	local p
	for p in /tmp/ubd-nbd-*.pid; do
		[ -s "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null
		rm -f "$p"
	done
	pkill -9 -f "$DROP" 2>/dev/null || true
	return 0
}

teardown() {
	umount -q "$MNT" 2>/dev/null || true
	ubd_cleanup
	kill_nbd_servers
	rm -f "$IMG" /tmp/ubd-nbd-*
}

listening() {
	[ -n "$(ss -Hltn "sport = :$1")" ]
}

no_nbd_server() {
	! pgrep -x ubd-nbd >/dev/null
}

# nbdkit -v (nbdkit_bg's log) saw $1 connections end with NBD_CMD_DISC
disc_count_is() {
	[ "$(grep -c "client sent NBD_CMD_DISC" /tmp/ubd-nbd-kit.log)" = "$1" ]
}

# nbdkit in the background on 127.0.0.1:$1, the rest its plugin and args
nbdkit_bg() {
	local port=$1; shift
	rm -f /tmp/ubd-nbd-kit.pid
	nbdkit -f -i 127.0.0.1 -p "$port" -P /tmp/ubd-nbd-kit.pid "$@" \
		>>/tmp/ubd-nbd-kit.log 2>&1 &
	wait_for 20 test -s /tmp/ubd-nbd-kit.pid || {
		cat /tmp/ubd-nbd-kit.log
		return 1
	}
}

# a command line or a server that fails: status $1, one stderr line
# containing $2, nothing left behind
fails_cleanly() {
	run_fails ubd-nbd "$@"
}

@test "bad command lines: one line naming the value, exit 2" {
	fails_cleanly 2 "no --host or --unix given"
	fails_cleanly 2 "port '70000' out of range" --host 127.0.0.1 --port 70000
	fails_cleanly 2 "connections '17' out of range" --host 127.0.0.1 --connections 17
	fails_cleanly 2 "--host and --unix exclude each other" --host a --unix /b
	fails_cleanly 2 "unexpected argument 'x'" --host a x
}

@test "refused connection, unknown export, non-NBD and oldstyle servers: one line, exit 1, no device" {
	fails_cleanly 1 "127.0.0.1:10870 export '': cannot connect: Connection refused" \
		--host 127.0.0.1 --port 10870
	fails_cleanly 1 "/tmp/ubd-nbd-none.sock export '': cannot connect" \
		--unix /tmp/ubd-nbd-none.sock
	truncate -s 16M "$IMG"
	qemu-nbd -f raw -x disk -b 127.0.0.1 -p 10871 -t --pid-file /tmp/ubd-nbd-q.pid "$IMG" &
	wait_for 20 test -s /tmp/ubd-nbd-q.pid
	fails_cleanly 1 "127.0.0.1:10871 export 'nope': no such export" \
		--host 127.0.0.1 --port 10871 --export nope
	python3 "$DROP" 10872 garbage &
	python3 "$DROP" 10873 oldstyle &
	wait_for 20 listening 10873
	wait_for 20 listening 10872
	fails_cleanly 1 "127.0.0.1:10872 export '': not an NBD server" \
		--host 127.0.0.1 --port 10872
	fails_cleanly 1 "127.0.0.1:10873 export '': the server speaks only the oldstyle handshake" \
		--host 127.0.0.1 --port 10873
}

@test "nbdkit memory: size, fio verify on 2 queues x 2 connections, discard, write zeroes" {
	nbdkit_bg 10874 memory 256M
	serve_bg /dev/${UBD_PFX}b0 ubd-nbd --host 127.0.0.1 --port 10874 -q 2 --connections 2
	[ "$(blockdev --getsize64 /dev/${UBD_PFX}b0)" = $((256 << 20)) ]
	# nbdkit memory offers flush, FUA, trim and zeroing: all reach the device
	[ "$(cat /sys/block/${UBD_PFX}b0/queue/write_cache)" = "write back" ]
	[ "$(cat /sys/block/${UBD_PFX}b0/queue/fua)" = 1 ]
	[ "$(cat /sys/block/${UBD_PFX}b0/queue/discard_max_bytes)" -gt 0 ]
	[ "$(cat /sys/block/${UBD_PFX}b0/queue/write_zeroes_max_bytes)" -gt 0 ]
	# four connections: two per queue
	[ "$(ss -Htn state established "dport = :10874" | wc -l)" = 4 ]
	fio_verify /dev/${UBD_PFX}b0 --numjobs=2 --offset_increment=64M --fsync=64
	# discard and zeroing: the data reads back as zeros
	dd if=/dev/urandom of=/dev/${UBD_PFX}b0 bs=1M count=4 oflag=direct status=none
	blkdiscard -o 0 -l 2M /dev/${UBD_PFX}b0
	blkdiscard -z -o 2M -l 2M /dev/${UBD_PFX}b0
	cmp -n 4M /dev/${UBD_PFX}b0 /dev/zero
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"
	[ -z "$(ubd_ids)" ]
}

@test "large ios (data received in place): fio verify at 512k, structured and simple replies" {
	nbdkit_bg 10882 memory 128M
	serve_bg /dev/${UBD_PFX}b0 ubd-nbd --host 127.0.0.1 --port 10882 -n 0
	fio_verify /dev/${UBD_PFX}b0 --bs=512k --iodepth=4
	# the same data through simple replies only
	serve_bg /dev/${UBD_PFX}b1 ubd-nbd --host 127.0.0.1 --port 10882 -n 1 --no-structured
	cmp -n 32M /dev/${UBD_PFX}b0 /dev/${UBD_PFX}b1
	dd if=/dev/${UBD_PFX}b1 of=/tmp/ubd-nbd-b1 bs=512k count=64 iflag=direct status=none
	dd if=/dev/${UBD_PFX}b0 of=/tmp/ubd-nbd-b0 bs=512k count=64 iflag=direct status=none
	cmp /tmp/ubd-nbd-b0 /tmp/ubd-nbd-b1
	fio_verify /dev/${UBD_PFX}b1 --bs=256k --iodepth=8
}

@test "nbdkit file: mkfs, mount, write, umount, fsck; the data is in the file" {
	truncate -s 128M "$IMG"
	nbdkit_bg 10875 file "$IMG"
	serve_bg /dev/${UBD_PFX}b0 ubd-nbd --host 127.0.0.1 --port 10875
	mkfs.ext4 -q -F /dev/${UBD_PFX}b0
	mkdir -p "$MNT"
	mount /dev/${UBD_PFX}b0 "$MNT"
	head -c 8M /dev/urandom >"$MNT/data"
	sum=$(md5sum <"$MNT/data")
	umount "$MNT"
	fsck.ext4 -fn /dev/${UBD_PFX}b0
	mount /dev/${UBD_PFX}b0 "$MNT"
	[ "$(md5sum <"$MNT/data")" = "$sum" ]
	umount "$MNT"
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"
	# nothing cached on our side: the image itself is a sound file system
	fsck.ext4 -fn "$IMG"
}

@test "qemu-nbd on a raw image: fio verify; what was written is in the image" {
	truncate -s 64M "$IMG"
	qemu-nbd -f raw -x disk -b 127.0.0.1 -p 10876 -t --cache=writeback \
		--pid-file /tmp/ubd-nbd-q.pid "$IMG" &
	wait_for 20 test -s /tmp/ubd-nbd-q.pid
	serve_bg /dev/${UBD_PFX}b0 ubd-nbd --host 127.0.0.1 --port 10876 --export disk
	[ "$(blockdev --getsize64 /dev/${UBD_PFX}b0)" = $((64 << 20)) ]
	fio_verify /dev/${UBD_PFX}b0
	head -c 4M /dev/urandom >/tmp/ubd-nbd-data
	dd if=/tmp/ubd-nbd-data of=/dev/${UBD_PFX}b0 bs=64k seek=16 oflag=direct conv=fsync status=none
	cmp -n 4M /tmp/ubd-nbd-data /dev/${UBD_PFX}b0 --ignore-initial=0:1M
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"
	cmp -n 4M /tmp/ubd-nbd-data "$IMG" --ignore-initial=0:1M
}

@test "nbd-server: fio verify, read-only export refuses writes" {
	truncate -s 64M "$IMG"
	cat >/tmp/ubd-nbd-server.conf <<-CONF
	[generic]
	listenaddr = 127.0.0.1
	port = 10877
	[disk]
	exportname = $IMG
	flush = true
	fua = true
	trim = true
	[ro]
	exportname = $IMG
	readonly = true
	CONF
	nbd-server -C /tmp/ubd-nbd-server.conf -p /tmp/ubd-nbd-s.pid
	wait_for 20 test -s /tmp/ubd-nbd-s.pid
	# nbd-server greets each connection after a fork that takes seconds
	# in the guest: --daemon returns once the device is live
	[ "$(ubd-nbd --host 127.0.0.1 --port 10877 --export disk -n 0 --daemon)" = /dev/${UBD_PFX}b0 ]
	fio_verify /dev/${UBD_PFX}b0
	[ "$(ubd-nbd --host 127.0.0.1 --port 10877 --export ro -n 1 --daemon)" = /dev/${UBD_PFX}b1 ]
	[ "$(blockdev --getro /dev/${UBD_PFX}b1)" = 1 ]
	run ! dd if=/dev/zero of=/dev/${UBD_PFX}b1 bs=4k count=1 oflag=direct status=none
	# both devices show the same data
	cmp -n 32M /dev/${UBD_PFX}b0 /dev/${UBD_PFX}b1
}

@test "--daemon, --unix, list shows the export; SIGTERM removes the device" {
	rm -f /tmp/ubd-nbd-kit.pid
	nbdkit -U /tmp/ubd-nbd-kit.sock -P /tmp/ubd-nbd-kit.pid memory 64M
	wait_for 20 test -s /tmp/ubd-nbd-kit.pid
	run --separate-stderr ubd-nbd --unix /tmp/ubd-nbd-kit.sock --daemon
	[ "$status" = 0 ]
	[ "$output" = /dev/${UBD_PFX}b0 ]
	grep -qx "target=nbd" /run/ubd/0
	grep -qx "backing_file=nbd:/tmp/ubd-nbd-kit.sock export ''" /run/ubd/0
	dd if=/dev/urandom of=/dev/${UBD_PFX}b0 bs=1M count=1 oflag=direct status=none
	pkill -TERM -x ubd-nbd
	wait_for 10 no_nbd_server
	[ ! -e /dev/${UBD_PFX}b0 ]
	[ -z "$(ubd_ids)" ]
}

@test "leaving: NBD_CMD_DISC on every connection at a stop, and after a failed start" {
	# nbdkit -v logs how each connection ended
	nbdkit_bg 10883 -v memory 64M
	run --separate-stderr ubd-nbd --host 127.0.0.1 --port 10883 -q 2 --connections 2 --daemon
	[ "$status" = 0 ]
	dd if=/dev/urandom of="$output" bs=64k count=16 oflag=direct status=none
	pkill -TERM -x ubd-nbd
	wait_for 10 no_nbd_server
	wait_for 10 disc_count_is 4
	not grep "client closed input socket" /tmp/ubd-nbd-kit.log
	kill_nbd_servers
	# an export too small for a device: refused after the handshake
	rm -f /tmp/ubd-nbd-kit.log
	nbdkit_bg 10884 -v memory 0
	fails_cleanly 1 "the export is empty" --host 127.0.0.1 --port 10884
	wait_for 10 disc_count_is 1
}

@test "--persist: nbdkit killed and restarted during fio verify; fio sees no error" {
	truncate -s 128M "$IMG"
	nbdkit_bg 10878 file "$IMG"
	serve_bg /dev/${UBD_PFX}b0 ubd-nbd --host 127.0.0.1 --port 10878 --persist
	fio_verify /dev/${UBD_PFX}b0 --size=96M >"$BATS_TEST_TMPDIR/fio.out" 2>&1 &
	fio_pid=$!
	sleep 2
	# the kill must come while fio is still at work
	not ended "$fio_pid"
	kill -9 "$(cat /tmp/ubd-nbd-kit.pid)"
	sleep 2
	nbdkit_bg 10878 file "$IMG"
	wait "$fio_pid" || { cat "$BATS_TEST_TMPDIR/fio.out"; false; }
	cat "$BATS_TEST_TMPDIR/server.log"
	grep -q "connection to 127.0.0.1:10878 export '' lost" "$BATS_TEST_TMPDIR/server.log"
	# the retries back off: the reconnection may follow fio's end
	wait_for 15 grep -q "reconnected to 127.0.0.1:10878" "$BATS_TEST_TMPDIR/server.log"
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"
}

@test "--persist: a server away for good; SIGTERM fails the held I/O and ends" {
	nbdkit_bg 10879 memory 64M
	serve_bg /dev/${UBD_PFX}b0 ubd-nbd --host 127.0.0.1 --port 10879 --persist
	kill -9 "$(cat /tmp/ubd-nbd-kit.pid)"
	dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k count=1 skip=100 iflag=direct \
		status=none 2>"$BATS_TEST_TMPDIR/dd.err" &
	dd_pid=$!
	sleep 2
	# held, not failed
	kill -0 "$dd_pid"
	kill -TERM "$SERVER_PID"
	st=0
	wait "$SERVER_PID" || st=$?
	echo "server status $st"
	cat "$BATS_TEST_TMPDIR/server.log"
	st=0
	wait "$dd_pid" || st=$?
	echo "dd status $st: $(cat "$BATS_TEST_TMPDIR/dd.err")"
	[ "$st" != 0 ]
	grep -q "Input/output error" "$BATS_TEST_TMPDIR/dd.err"
	[ -z "$(ubd_ids)" ]
}

@test "a server that drops the connection mid-reply: I/O fails with EIO, the device stops, exit 1" {
	python3 "$DROP" 10880 drop &
	wait_for 20 listening 10880
	serve_bg /dev/${UBD_PFX}b0 ubd-nbd --host 127.0.0.1 --port 10880
	# the data before the trap is served
	dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k count=1 skip=100 iflag=direct status=none
	run ! dd if=/dev/${UBD_PFX}b0 of=/dev/null bs=4k count=1 skip=2048 iflag=direct
	echo "$output"
	[[ "$output" == *"Input/output error"* ]]
	st=0
	wait "$SERVER_PID" || st=$?
	cat "$BATS_TEST_TMPDIR/server.log"
	[ "$st" = 1 ]
	grep -q "connection to 127.0.0.1:10880 export '' lost (the server closed the connection); failing I/O and stopping the device" \
		"$BATS_TEST_TMPDIR/server.log"
	wait_for 10 test ! -e /dev/${UBD_PFX}b0
	[ -z "$(ubd_ids)" ]
}

@test "a server that drops the connection mid-reply, with --persist: the read is sent again and succeeds" {
	python3 "$DROP" 10881 drop-once &
	wait_for 20 listening 10881
	serve_bg /dev/${UBD_PFX}b0 ubd-nbd --host 127.0.0.1 --port 10881 --persist
	head -c 4096 /dev/urandom >/tmp/ubd-nbd-data
	dd if=/tmp/ubd-nbd-data of=/dev/${UBD_PFX}b0 bs=4k seek=2048 oflag=direct status=none
	dd if=/dev/${UBD_PFX}b0 of=/tmp/ubd-nbd-back bs=4k count=1 skip=2048 iflag=direct status=none
	cat "$BATS_TEST_TMPDIR/server.log"
	cmp /tmp/ubd-nbd-data /tmp/ubd-nbd-back
	grep -q "reconnected to 127.0.0.1:10881" "$BATS_TEST_TMPDIR/server.log"
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"
}

@test "no device is left and the module unloads" {
	ubd_assert_unload
}
