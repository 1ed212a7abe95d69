// SPDX-License-Identifier: GPL-2.0
/*
 * ubd_drv: io_uring based userspace block devices.
 *
 * This file owns the life of a device: ADD allocates it with its queues, tag
 * set and /dev/ubdcN; START adds /dev/ubdbN once the server has fetched
 * every tag; STOP removes the disk and aborts the parked commands; DEL drops
 * the last reference held for the id.  The memory goes when both the char
 * node and the disk have been released by whoever still had them open.
 */
#include "ubd_drv.h"

#include <linux/idr.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

static dev_t ubd_chr_devt;
static struct class *ubd_chr_class;

/* id -> device, for the control commands; an id stays taken until release */
static DEFINE_IDR(ubd_idr);
static DEFINE_SPINLOCK(ubd_idr_lock);
static DECLARE_WAIT_QUEUE_HEAD(ubd_idr_wq);	/* an id was freed */
/* serializes ADD and DEL against each other and against module exit */
static DEFINE_MUTEX(ubd_ctl_mutex);

/* unprivileged devices that exist; protected by ubd_ctl_mutex */
static unsigned int ubd_nr_unpriv;
static unsigned int ubds_max = 64;

static int ubd_set_ubds_max(const char *val, const struct kernel_param *kp)
{
	unsigned int max;
	int ret;

	ret = kstrtouint(val, 10, &max);
	if (ret)
		return ret;
	if (max > UBD_MINORS)
		return -EINVAL;
	/* lowering it does not remove devices, only refuses new ones */
	WRITE_ONCE(ubds_max, max);
	return 0;
}

static const struct kernel_param_ops ubd_ubds_max_ops = {
	.set	= ubd_set_ubds_max,
	.get	= param_get_uint,
};

module_param_cb(ubds_max, &ubd_ubds_max_ops, &ubds_max, 0644);
MODULE_PARM_DESC(ubds_max,
		 "most unprivileged devices that may exist at once (0..1048576, default 64; 0: none)");

struct ubd_device *ubd_get_device_from_id(int id)
{
	struct ubd_device *ub;

	if (id < 0 || id >= UBD_MINORS)
		return NULL;

	spin_lock(&ubd_idr_lock);
	ub = idr_find(&ubd_idr, id);
	if (ub && !test_bit(UB_STATE_DELETED, &ub->state))
		get_device(&ub->cdev_dev);
	else
		ub = NULL;
	spin_unlock(&ubd_idr_lock);
	return ub;
}

void ubd_put_device(struct ubd_device *ub)
{
	put_device(&ub->cdev_dev);
}

/*
 * io_uring's task work raises TIF_NOTIFY_SIGNAL, which makes an
 * interruptible wait return at once although no signal came.  Where
 * nothing we wait for needs that work, wait in slices and give up only
 * for a real signal.
 */
#define UBD_WAIT_SLICE	(HZ / 10)

static bool ubd_idr_freed(int id)
{
	void *ptr;

	spin_lock(&ubd_idr_lock);
	ptr = idr_find(&ubd_idr, id);
	spin_unlock(&ubd_idr_lock);
	return !ptr;
}

static void ubd_free_queues(struct ubd_device *ub)
{
	int i;

	for (i = 0; i < ub->info.nr_hw_queues; i++) {
		struct ubd_queue *ubq = ub->queues[i];

		if (!ubq)
			continue;
		if (ubq->descs)
			free_pages((unsigned long)ubq->descs,
				   get_order(ubd_queue_descs_size(ub)));
		kvfree(ubq);
	}
}

static int ubd_alloc_queues(struct ubd_device *ub)
{
	int depth = ub->info.queue_depth;
	int i;

	for (i = 0; i < ub->info.nr_hw_queues; i++) {
		struct ubd_queue *ubq;

		ubq = kvzalloc(struct_size(ubq, ios, depth), GFP_KERNEL);
		if (!ubq)
			return -ENOMEM;
		ub->queues[i] = ubq;
		ubq->ub = ub;
		ubq->q_id = i;
		ubq->q_depth = depth;
		/* physically contiguous: mapped with one remap_pfn_range */
		ubq->descs = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO,
					get_order(ubd_queue_descs_size(ub)));
		if (!ubq->descs)
			return -ENOMEM;
	}
	return 0;
}

/* the last reference is gone: nobody has the char node or the disk open */
static void ubd_cdev_rel(struct device *dev)
{
	struct ubd_device *ub = container_of(dev, struct ubd_device, cdev_dev);
	int id = ub->info.dev_id;

	/* unpublish first: a lookup must not find freed memory */
	spin_lock(&ubd_idr_lock);
	idr_remove(&ubd_idr, id);
	spin_unlock(&ubd_idr_lock);

	blk_mq_free_tag_set(&ub->tag_set);
	ubd_free_queues(ub);
	mutex_destroy(&ub->mutex);
	kfree(ub);
	wake_up_all(&ubd_idr_wq);
}

/*
 * devtmpfs creates /dev/ubdcN of an unprivileged device for its owner, so
 * that the owner can serve it with or without udev.  Privileged devices keep
 * the default root 0600.
 */
static char *ubd_cdev_devnode(struct device *dev, umode_t *mode, kuid_t *uid,
			      kgid_t *gid)
{
	struct ubd_device *ub = container_of(dev, struct ubd_device, cdev_dev);

	/* removal asks only for the name: everything else is NULL */
	if (!ubd_dev_is_unprivileged(ub) || !mode || !uid || !gid)
		return NULL;
	*mode = 0600;
	*uid = make_kuid(&init_user_ns, ub->info.owner_uid);
	*gid = make_kgid(&init_user_ns, ub->info.owner_gid);
	return NULL;
}

/* "UID GID" of the owner, for the udev rule of /dev/ubdbN */
static ssize_t owner_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct ubd_device *ub = container_of(dev, struct ubd_device, cdev_dev);

	return sysfs_emit(buf, "%u %u\n", ub->info.owner_uid,
			  ub->info.owner_gid);
}
static DEVICE_ATTR_RO(owner);

static struct attribute *ubd_cdev_attrs[] = {
	&dev_attr_owner.attr,
	NULL,
};

/* only unprivileged devices have an owner the rule should apply */
static umode_t ubd_cdev_attr_visible(struct kobject *kobj,
				     struct attribute *attr, int n)
{
	struct device *dev = kobj_to_dev(kobj);
	struct ubd_device *ub = container_of(dev, struct ubd_device, cdev_dev);

	return ubd_dev_is_unprivileged(ub) ? attr->mode : 0;
}

static const struct attribute_group ubd_cdev_group = {
	.attrs		= ubd_cdev_attrs,
	.is_visible	= ubd_cdev_attr_visible,
};

static const struct attribute_group *ubd_cdev_groups[] = {
	&ubd_cdev_group,
	NULL,
};

static const struct device_type ubd_cdev_type = {
	.name		= "ubd-char",
	.groups		= ubd_cdev_groups,
	.devnode	= ubd_cdev_devnode,
};

static void ubd_monitor_work_fn(struct work_struct *work);
static void ubd_stop_work_fn(struct work_struct *work);

/**
 * ubd_add_dev - create a device and its /dev/ubdcN
 * @info: validated device info; dev_id, state and owner are filled in
 * @req_id: the id asked for, or -1 for any free one
 *
 * Return: 0 or -errno; -EACCES when @info asks for an unprivileged device
 * and ubds_max of them exist.  On success the device holds one reference
 * for its id, dropped by ubd_del_dev().
 */
int ubd_add_dev(struct ubd_ctrl_dev_info *info, int req_id)
{
	bool unpriv = info->flags & UBD_F_UNPRIVILEGED_DEV;
	struct ubd_device *ub;
	int ret;

	mutex_lock(&ubd_ctl_mutex);
	if (unpriv && ubd_nr_unpriv >= READ_ONCE(ubds_max)) {
		pr_warn("%s: ubds_max=%u unprivileged devices exist\n",
			__func__, READ_ONCE(ubds_max));
		ret = -EACCES;
		goto out_unlock;
	}
	ub = kzalloc(struct_size(ub, queues, info->nr_hw_queues), GFP_KERNEL);
	if (!ub) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	mutex_init(&ub->mutex);
	spin_lock_init(&ub->lock);
	init_completion(&ub->ready);
	INIT_DELAYED_WORK(&ub->monitor_work, ubd_monitor_work_fn);
	INIT_WORK(&ub->stop_work, ubd_stop_work_fn);
	INIT_WORK(&ub->quiesce_work, ubd_quiesce_work_fn);

	/*
	 * Reserve the id with no device behind it: a command that looks the
	 * id up before the device is initialized (and its kobject with it)
	 * finds nothing.  The device is published once it is whole.
	 */
	idr_preload(GFP_KERNEL);
	spin_lock(&ubd_idr_lock);
	if (req_id >= 0)
		ret = idr_alloc(&ubd_idr, NULL, req_id, req_id + 1, GFP_NOWAIT);
	else
		ret = idr_alloc(&ubd_idr, NULL, 0, UBD_MINORS, GFP_NOWAIT);
	spin_unlock(&ubd_idr_lock);
	idr_preload_end();
	if (ret == -ENOSPC)
		ret = req_id >= 0 ? -EEXIST : -ENOSPC;
	if (ret < 0)
		goto out_free_ub;

	info->dev_id = ret;
	info->state = UBD_S_DEV_DEAD;
	info->ubdsrv_pid = -1;
	info->owner_uid = from_kuid(&init_user_ns, current_uid());
	info->owner_gid = from_kgid(&init_user_ns, current_gid());
	ub->info = *info;

	ret = ubd_alloc_queues(ub);
	if (ret)
		goto out_free_queues;

	ub->tag_set.ops = &ubd_mq_ops;
	ub->tag_set.nr_hw_queues = info->nr_hw_queues;
	ub->tag_set.queue_depth = info->queue_depth;
	ub->tag_set.numa_node = NUMA_NO_NODE;
	/* like null_blk: no io scheduler unless the admin picks one */
	ub->tag_set.flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_NO_SCHED_BY_DEFAULT;
	ub->tag_set.driver_data = ub;
	ret = blk_mq_alloc_tag_set(&ub->tag_set);
	if (ret)
		goto out_free_queues;

	/* from here on the release function frees everything */
	device_initialize(&ub->cdev_dev);
	ub->cdev_dev.parent = NULL;
	ub->cdev_dev.class = ubd_chr_class;
	ub->cdev_dev.type = &ubd_cdev_type;
	ub->cdev_dev.devt = MKDEV(MAJOR(ubd_chr_devt), ub->info.dev_id);
	ub->cdev_dev.release = ubd_cdev_rel;
	ret = dev_set_name(&ub->cdev_dev, "ubdc%d", ub->info.dev_id);
	if (ret)
		goto out_put_dev;
	cdev_init(&ub->cdev, &ubd_ch_fops);
	ub->cdev.owner = THIS_MODULE;
	ret = cdev_device_add(&ub->cdev, &ub->cdev_dev);
	if (ret)
		goto out_put_dev;
	if (unpriv)
		ubd_nr_unpriv++;
	spin_lock(&ubd_idr_lock);
	idr_replace(&ubd_idr, ub, ub->info.dev_id);
	spin_unlock(&ubd_idr_lock);
	mutex_unlock(&ubd_ctl_mutex);
	return 0;

out_put_dev:
	mutex_unlock(&ubd_ctl_mutex);
	put_device(&ub->cdev_dev);
	return ret;
out_free_queues:
	ubd_free_queues(ub);
	spin_lock(&ubd_idr_lock);
	idr_remove(&ubd_idr, info->dev_id);
	spin_unlock(&ubd_idr_lock);
out_free_ub:
	mutex_destroy(&ub->mutex);
	kfree(ub);
out_unlock:
	mutex_unlock(&ubd_ctl_mutex);
	return ret;
}

/* tear down everything but the memory; called once, for DEL or unload */
static void ubd_remove(struct ubd_device *ub)
{
	lockdep_assert_held(&ubd_ctl_mutex);
	if (ubd_dev_is_unprivileged(ub))
		ubd_nr_unpriv--;
	ubd_stop_dev(ub);
	/* the monitor no longer re-arms itself, and finds nothing to stop */
	cancel_delayed_work_sync(&ub->monitor_work);
	cancel_work_sync(&ub->stop_work);
	cancel_work_sync(&ub->quiesce_work);
	cdev_device_del(&ub->cdev, &ub->cdev_dev);
	ubd_put_device(ub);
}

/**
 * ubd_del_dev - delete a device
 * @ub: the device, with a reference that this function drops
 * @wait: wait until the server has closed /dev/ubdcN and the id is free
 */
int ubd_del_dev(struct ubd_device *ub, bool wait)
{
	int id = ub->info.dev_id;
	int ret = 0;

	mutex_lock(&ubd_ctl_mutex);
	if (!test_and_set_bit(UB_STATE_DELETED, &ub->state))
		ubd_remove(ub);
	else
		ret = -ENODEV;
	mutex_unlock(&ubd_ctl_mutex);
	ubd_put_device(ub);

	/*
	 * The id stays taken until the server lets /dev/ubdcN go, so a new
	 * ADD of the same id would fail until then: wait for it, as upstream
	 * DEL_DEV does.  A signal (or DEL_DEV_ASYNC) ends the wait.
	 */
	/*
	 * Interruptible, and by io_uring's task work too: when the caller's
	 * own ring held /dev/ubdcN, releasing it needs task work in the
	 * caller, which runs only once we return.
	 */
	if (!ret && wait &&
	    wait_event_interruptible(ubd_idr_wq, ubd_idr_freed(id)))
		return -EINTR;
	return ret;
}

static void ubd_apply_params(struct ubd_device *ub, struct gendisk *disk)
{
	const struct ubd_param_basic *p = &ub->params.basic;
	struct request_queue *q = disk->queue;

	blk_queue_logical_block_size(q, 1U << p->logical_bs_shift);
	blk_queue_physical_block_size(q, 1U << p->physical_bs_shift);
	if (p->io_min_shift)
		blk_queue_io_min(q, 1U << p->io_min_shift);
	if (p->io_opt_shift)
		blk_queue_io_opt(q, 1U << p->io_opt_shift);
	blk_queue_max_hw_sectors(q, p->max_sectors);
	blk_queue_chunk_sectors(q, p->chunk_sectors);
	blk_queue_write_cache(q, p->attrs & UBD_ATTR_VOLATILE_CACHE,
			      p->attrs & UBD_ATTR_FUA);
	if (p->attrs & UBD_ATTR_ROTATIONAL)
		blk_queue_flag_clear(QUEUE_FLAG_NONROT, q);
	else
		blk_queue_flag_set(QUEUE_FLAG_NONROT, q);

	if (ub->params.types & UBD_PARAM_TYPE_DISCARD) {
		const struct ubd_param_discard *d = &ub->params.discard;

		q->limits.discard_alignment = d->discard_alignment;
		q->limits.discard_granularity = d->discard_granularity;
		blk_queue_max_discard_sectors(q, d->max_discard_sectors);
		blk_queue_max_write_zeroes_sectors(q,
						   d->max_write_zeroes_sectors);
		blk_queue_max_discard_segments(q, d->max_discard_segments);
	}
	if (ub->params.types & UBD_PARAM_TYPE_DMA_ALIGN)
		blk_queue_dma_alignment(q, ub->params.dma.alignment);
	if (ub->params.types & UBD_PARAM_TYPE_SEGMENT) {
		const struct ubd_param_segment *s = &ub->params.seg;

		blk_queue_segment_boundary(q, s->seg_boundary_mask);
		blk_queue_max_segment_size(q, s->max_segment_size);
		blk_queue_max_segments(q, s->max_segments);
	}
	/*
	 * Last: a virt boundary lifts the segment size limit, and setting
	 * that limit with a boundary in place is a kernel WARN in 6.1.
	 */
	if (p->virt_boundary_mask)
		blk_queue_virt_boundary(q, p->virt_boundary_mask);

	set_disk_ro(disk, p->attrs & UBD_ATTR_READ_ONLY);
	set_capacity(disk, p->dev_sectors);
}

/*
 * Wait until the server has fetched every tag.  A signal ends the wait --
 * in io-wq (IOSQE_ASYNC) io_uring's cancellation comes as
 * TIF_NOTIFY_SIGNAL -- and so does a DEL of the device.
 */
int ubd_wait_ready(struct ubd_device *ub)
{
	while (!wait_for_completion_timeout(&ub->ready, UBD_WAIT_SLICE)) {
		if (task_sigpending(current) || fatal_signal_pending(current))
			return -EINTR;
		if ((current->flags & PF_IO_WORKER) && signal_pending(current))
			return -EINTR;
		if (test_bit(UB_STATE_DELETED, &ub->state))
			return -ENODEV;
	}
	return 0;
}

/**
 * ubd_start_dev - add /dev/ubdbN once the server has fetched every tag
 * @ub: the device
 * @pid: the server's pid, reported by GET_DEV_INFO
 */
int ubd_start_dev(struct ubd_device *ub, pid_t pid)
{
	unsigned int rq_timeout;
	struct gendisk *disk;
	int ret;

	if (pid <= 0)
		return -EINVAL;
	ret = ubd_wait_ready(ub);
	if (ret)
		return ret;

	mutex_lock(&ub->mutex);
	if (ub->info.state == UBD_S_DEV_LIVE || ub->disk) {
		ret = -EEXIST;
		goto out_unlock;
	}
	if (!(ub->params.types & UBD_PARAM_TYPE_BASIC)) {
		pr_warn("%s: dev %d: SET_PARAMS first\n", __func__,
			ub->info.dev_id);
		ret = -EINVAL;
		goto out_unlock;
	}
	/* a STOP in between aborted the fetches the wait saw */
	if (READ_ONCE(ub->nr_queues_ready) != ub->info.nr_hw_queues) {
		ret = -EBUSY;
		goto out_unlock;
	}

	disk = blk_mq_alloc_disk(&ub->tag_set, NULL);
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto out_unlock;
	}
	snprintf(disk->disk_name, DISK_NAME_LEN, "ubdb%d", ub->info.dev_id);
	disk->fops = &ubd_bdev_fops;
	disk->private_data = ub;
	ubd_apply_params(ub, disk);

	/* dropped by ubd_free_disk() when the disk is released */
	get_device(&ub->cdev_dev);
	ub->disk = disk;
	ub->info.ubdsrv_pid = pid;

	/*
	 * add_disk() reads the partition table through the server: watch
	 * for its death from now on, or a crash there would hang us here.
	 */
	WRITE_ONCE(ub->monitor_on, true);
	schedule_delayed_work(&ub->monitor_work, UBD_MONITOR_PERIOD);

	rq_timeout = disk->queue->rq_timeout;
	blk_queue_rq_timeout(disk->queue, UBD_START_IO_TIMEOUT);
	WRITE_ONCE(ub->starting, true);
	ret = add_disk(disk);
	WRITE_ONCE(ub->starting, false);
	WRITE_ONCE(ub->start_io_failed, false);
	blk_queue_rq_timeout(disk->queue, rq_timeout);
	if (ret) {
		WRITE_ONCE(ub->monitor_on, false);
		ub->disk = NULL;
		ub->info.ubdsrv_pid = -1;
		put_disk(disk);
		goto out_unlock;
	}
	ub->info.state = UBD_S_DEV_LIVE;
out_unlock:
	mutex_unlock(&ub->mutex);
	return ret;
}

/*
 * Abort every parked command and forget the server of every queue, so that
 * a new server can fetch.  Called with ub->mutex held, when no request is
 * with the server.
 */
void ubd_reset_queues(struct ubd_device *ub)
{
	int i;

	for (i = 0; i < ub->info.nr_hw_queues; i++)
		ubd_cancel_queue(ub, ub->queues[i]);
	spin_lock(&ub->lock);
	ub->nr_queues_ready = 0;
	reinit_completion(&ub->ready);
	spin_unlock(&ub->lock);
}

/**
 * ubd_stop_dev - remove /dev/ubdbN and abort the server's parked commands
 * @ub: the device
 *
 * Waits for the ios in flight: a live server finishes them, or the monitor
 * fails them after UBD_STOP_GRACE (or at once when the server is dead).
 * Afterwards the queues are ready for a new server.  Idempotent.
 */
void ubd_stop_dev(struct ubd_device *ub)
{
	struct gendisk *disk;

	mutex_lock(&ub->mutex);
	disk = ub->disk;
	if (disk) {
		WRITE_ONCE(ub->stop_deadline, jiffies + UBD_STOP_GRACE);
		ubd_abort_recovery(ub);
		del_gendisk(disk);
		ub->disk = NULL;
		ub->info.state = UBD_S_DEV_DEAD;
		ub->info.ubdsrv_pid = -1;
		WRITE_ONCE(ub->stop_deadline, 0);
		WRITE_ONCE(ub->monitor_on, false);
	}
	/* no request exists any more: only parked commands are left */
	ubd_reset_queues(ub);
	WRITE_ONCE(ub->fail_io, false);
	WRITE_ONCE(ub->force_abort, false);
	mutex_unlock(&ub->mutex);

	if (disk)
		put_disk(disk);
}

static void ubd_stop_work_fn(struct work_struct *work)
{
	struct ubd_device *ub = container_of(work, struct ubd_device, stop_work);

	ubd_stop_dev(ub);
}

static bool ubd_daemon_dying(struct ubd_device *ub, struct ubd_queue *ubq)
{
	bool dying;

	spin_lock(&ub->lock);
	dying = ubq->daemon && (ubq->daemon->flags & PF_EXITING);
	spin_unlock(&ub->lock);
	return dying;
}

/*
 * 6.1 has no cancelable uring_cmd, and a killed server's io_uring cannot
 * finish exiting while our commands stay parked in it.  So poll: every
 * UBD_MONITOR_PERIOD look at each queue's server task; once it is exiting,
 * fail what it held, complete its parked commands with ABORT (which lets
 * its ring go away) and stop the device.  The io path kicks this work at
 * once when it meets a dying server, so a waiting io fails well within the
 * period.  Also fails the ios of a server that will not let a STOPping
 * disk go.  Takes no mutex: STOP_DEV holds ub->mutex while it relies on us.
 */
static void ubd_monitor_work_fn(struct work_struct *work)
{
	struct ubd_device *ub = container_of(to_delayed_work(work),
					     struct ubd_device, monitor_work);
	unsigned long deadline = READ_ONCE(ub->stop_deadline);
	bool found_dead = false;
	int i;

	for (i = 0; i < ub->info.nr_hw_queues; i++) {
		struct ubd_queue *ubq = ub->queues[i];

		if (!READ_ONCE(ubq->dead) && ubd_daemon_dying(ub, ubq)) {
			ubd_abort_queue(ub, ubq);
			found_dead = true;
		}
		if (deadline && time_after(jiffies, deadline))
			ubd_fail_owned_ios(ub, ubq);
	}
	if (found_dead)
		ubd_server_died(ub);
	if (READ_ONCE(ub->monitor_on))
		schedule_delayed_work(&ub->monitor_work, UBD_MONITOR_PERIOD);
}

void ubd_queue_affinity(struct ubd_device *ub, int q_id, struct cpumask *mask)
{
	const struct blk_mq_queue_map *map =
		&ub->tag_set.map[HCTX_TYPE_DEFAULT];
	unsigned int cpu;

	cpumask_clear(mask);
	for_each_possible_cpu(cpu)
		if (map->mq_map[cpu] == q_id)
			cpumask_set_cpu(cpu, mask);
}

static int __init ubd_init(void)
{
	int ret;

	BUILD_BUG_ON(sizeof(struct ubd_cmd_pdu) >
		     sizeof_field(struct io_uring_cmd, pdu));

	ret = alloc_chrdev_region(&ubd_chr_devt, 0, UBD_MINORS, "ubd-char");
	if (ret)
		return ret;
	ubd_chr_class = class_create(THIS_MODULE, "ubd-char");
	if (IS_ERR(ubd_chr_class)) {
		ret = PTR_ERR(ubd_chr_class);
		goto out_unregister_chrdev;
	}
	ret = ubd_ctrl_init();
	if (ret)
		goto out_destroy_class;
	return 0;

out_destroy_class:
	class_destroy(ubd_chr_class);
out_unregister_chrdev:
	unregister_chrdev_region(ubd_chr_devt, UBD_MINORS);
	return ret;
}

static void __exit ubd_exit(void)
{
	struct ubd_device *ub;
	int id;

	/* no new command can arrive: the control node is gone */
	ubd_ctrl_exit();

	/*
	 * Devices nobody deleted.  None can have /dev/ubdcN or the disk open,
	 * or the module would still be in use.
	 */
	mutex_lock(&ubd_ctl_mutex);
	idr_for_each_entry(&ubd_idr, ub, id) {
		if (!test_and_set_bit(UB_STATE_DELETED, &ub->state))
			ubd_remove(ub);
	}
	mutex_unlock(&ubd_ctl_mutex);

	class_destroy(ubd_chr_class);
	unregister_chrdev_region(ubd_chr_devt, UBD_MINORS);
	idr_destroy(&ubd_idr);
}

module_init(ubd_init);
module_exit(ubd_exit);

MODULE_AUTHOR("The ubd developers");
MODULE_DESCRIPTION("io_uring based userspace block devices");
MODULE_LICENSE("GPL");
MODULE_ALIAS("devname:ubd-control");
