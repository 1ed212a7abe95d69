set -x
truncate -s 64M /tmp/f; cmd/ubd-loop --file /tmp/f --daemon
modprobe loop; losetup --version; l=$(losetup -f --show /tmp/f); echo $l; cat /sys/block/${l#/dev/}/loop/dio; losetup --direct-io=on $l; cat /sys/block/${l#/dev/}/loop/dio; losetup -l
modprobe null_blk nr_devices=1 queue_mode=2 submit_queues=2 irqmode=0 gb=1 hw_queue_depth=128 home_node=0 poll_queues=0; ls /sys/block/nullb0/mq
ls /sys/module/null_blk/parameters/
cmd/ubdctl del -a
