// SPDX-License-Identifier: GPL-2.0
/*
 * ubd_drv: a device that outlives its server.
 *
 * With UBD_F_USER_RECOVERY the death of a live device's server does not
 * stop the device.  The block queue is quiesced (state QUIESCED): ios the
 * server never saw wait, ios it held fail -- or, with _REISSUE, wait too
 * and are issued again to the next server.  With _FAIL_IO every io fails at
 * once instead (state FAIL_IO).  A new server then sends
 * START_USER_RECOVERY once the old one has let go of /dev/ubdcN, fetches
 * every tag and sends END_USER_RECOVERY, which makes the device LIVE again.
 *
 * QUIESCE_DEV brings a healthy server to the same point on purpose, for an
 * upgrade: it waits until no io is in flight, then aborts the server's
 * commands so that it exits, and the next server recovers the device with
 * no io failed.  UPDATE_SIZE changes the size of a live disk.
 */
#include "ubd_drv.h"

#include <linux/delay.h>
#include <linux/sched/signal.h>

/* how often QUIESCE_DEV looks at the ios still in flight */
#define UBD_DRAIN_POLL_MS	10
/* the longest drain QUIESCE_DEV accepts to wait for: an hour */
#define UBD_MAX_QUIESCE_MS	(3600U * 1000)

/*
 * The server of a device died (or was found dying by the monitor).  A live
 * device that can be recovered waits for a new server; any other one is
 * stopped.
 */
void ubd_server_died(struct ubd_device *ub)
{
	/* a new server that dies while it recovers the device counts too */
	if (ubd_can_recover(ub) &&
	    READ_ONCE(ub->info.state) != UBD_S_DEV_DEAD &&
	    !READ_ONCE(ub->force_abort)) {
		pr_info("dev %d: server died, waiting for recovery\n",
			ub->info.dev_id);
		schedule_work(&ub->quiesce_work);
		return;
	}
	pr_info("dev %d: server died, stopping the device\n",
		ub->info.dev_id);
	schedule_work(&ub->stop_work);
}

/* every queue lets go of its server: its ios end, its commands abort */
static void ubd_abort_all_queues(struct ubd_device *ub)
{
	int i;

	for (i = 0; i < ub->info.nr_hw_queues; i++)
		ubd_abort_queue(ub, ub->queues[i]);
}

void ubd_quiesce_work_fn(struct work_struct *work)
{
	struct ubd_device *ub = container_of(work, struct ubd_device,
					     quiesce_work);

	mutex_lock(&ub->mutex);
	/* STOP got here first */
	if (ub->info.state == UBD_S_DEV_DEAD || !ub->disk)
		goto out_unlock;
	/*
	 * A server died while recovering the device, or after QUIESCE_DEV:
	 * the device waits already; what the server fetched is let go.
	 */
	if (ub->info.state != UBD_S_DEV_LIVE) {
		ubd_abort_all_queues(ub);
		goto out_unlock;
	}

	if (ub->info.flags & UBD_F_USER_RECOVERY_FAIL_IO) {
		WRITE_ONCE(ub->fail_io, true);
		ub->info.state = UBD_S_DEV_FAIL_IO;
	} else {
		blk_mq_quiesce_queue(ub->disk->queue);
		ub->quiesced = true;
		ub->info.state = UBD_S_DEV_QUIESCED;
	}
	/*
	 * The whole server is replaced: a queue whose thread still lives
	 * gets ABORT too, so that the process exits and frees /dev/ubdcN.
	 */
	ubd_abort_all_queues(ub);
	ub->info.ubdsrv_pid = -1;
out_unlock:
	mutex_unlock(&ub->mutex);
}

/*
 * STOP_DEV of a device without a server: from here on its ios fail
 * instead of waiting, including those requeued for a new server.
 * Called with ub->mutex held, before del_gendisk().
 */
void ubd_abort_recovery(struct ubd_device *ub)
{
	struct request_queue *q = ub->disk->queue;

	lockdep_assert_held(&ub->mutex);
	WRITE_ONCE(ub->force_abort, true);
	if (ub->quiesced) {
		blk_mq_unquiesce_queue(q);
		ub->quiesced = false;
	}
	blk_mq_kick_requeue_list(q);
}

/**
 * ubd_start_recovery - START_USER_RECOVERY: make room for a new server
 * @ub: the device
 *
 * Return: 0; -EINVAL without USER_RECOVERY; -EBUSY while the device is
 * live or the old server still has /dev/ubdcN open.
 */
int ubd_start_recovery(struct ubd_device *ub)
{
	int ret = 0;

	if (!ubd_can_recover(ub))
		return -EINVAL;
	if (mutex_lock_killable(&ub->mutex))
		return -EINTR;
	if (ub->info.state != UBD_S_DEV_QUIESCED &&
	    ub->info.state != UBD_S_DEV_FAIL_IO) {
		ret = -EBUSY;
		goto out_unlock;
	}
	/* until it is closed the old server's commands may still come */
	if (test_bit(UB_STATE_OPEN, &ub->state)) {
		ret = -EBUSY;
		goto out_unlock;
	}
	ubd_reset_queues(ub);
out_unlock:
	mutex_unlock(&ub->mutex);
	return ret;
}

/**
 * ubd_end_recovery - END_USER_RECOVERY: the new server has every tag
 * @ub: the device
 * @pid: the new server's pid
 *
 * Waits until every tag is fetched, then lets the held ios go to the new
 * server.
 */
int ubd_end_recovery(struct ubd_device *ub, pid_t pid)
{
	int ret;

	if (!ubd_can_recover(ub))
		return -EINVAL;
	if (pid <= 0)
		return -EINVAL;
	ret = ubd_wait_ready(ub);
	if (ret)
		return ret;

	if (mutex_lock_killable(&ub->mutex))
		return -EINTR;
	if ((ub->info.state != UBD_S_DEV_QUIESCED &&
	     ub->info.state != UBD_S_DEV_FAIL_IO) || !ub->disk) {
		ret = -EBUSY;
		goto out_unlock;
	}
	/* the new server died, or START_USER_RECOVERY came again */
	if (READ_ONCE(ub->nr_queues_ready) != ub->info.nr_hw_queues) {
		ret = -EBUSY;
		goto out_unlock;
	}
	ub->info.ubdsrv_pid = pid;
	ub->info.state = UBD_S_DEV_LIVE;
	WRITE_ONCE(ub->fail_io, false);
	if (ub->quiesced) {
		blk_mq_unquiesce_queue(ub->disk->queue);
		ub->quiesced = false;
	}
	blk_mq_kick_requeue_list(ub->disk->queue);
	pr_info("dev %d: recovered by pid %d\n", ub->info.dev_id, pid);
out_unlock:
	mutex_unlock(&ub->mutex);
	return ret;
}

/* wait until no request is in flight, or @timeout_ms passes (0: no limit) */
static int ubd_drain(struct ubd_device *ub, unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);

	while (blk_mq_queue_inflight(ub->disk->queue)) {
		if (timeout_ms && time_after(jiffies, deadline))
			return -EBUSY;
		/* io_uring cancels an io-wq worker with TIF_NOTIFY_SIGNAL */
		if (task_sigpending(current) || fatal_signal_pending(current) ||
		    ((current->flags & PF_IO_WORKER) && signal_pending(current)))
			return -EINTR;
		/* DEL waits for our mutex: let it have it */
		if (test_bit(UB_STATE_DELETED, &ub->state))
			return -ENODEV;
		msleep(UBD_DRAIN_POLL_MS);
	}
	return 0;
}

/**
 * ubd_quiesce_dev - QUIESCE_DEV: hand a live device over to a new server
 * @ub: the device
 * @timeout_ms: how long to wait for the ios in flight; 0 for as long as
 *	it takes (a fatal signal still ends the wait)
 *
 * New ios wait from now on.  Once the server has answered every io it
 * holds, its commands are aborted so that it exits, and the device is
 * QUIESCED until a new server recovers it.  If the ios do not drain in
 * time, nothing changes and -EBUSY is returned.
 */
int ubd_quiesce_dev(struct ubd_device *ub, u64 timeout_ms)
{
	int ret;

	if (!(ub->info.flags & UBD_F_QUIESCE))
		return -EOPNOTSUPP;
	if (timeout_ms > UBD_MAX_QUIESCE_MS)
		return -EINVAL;
	if (mutex_lock_killable(&ub->mutex))
		return -EINTR;
	if (ub->info.state == UBD_S_DEV_QUIESCED) {
		ret = 0;
		goto out_unlock;
	}
	if (ub->info.state != UBD_S_DEV_LIVE || !ub->disk) {
		ret = -EINVAL;
		goto out_unlock;
	}

	blk_mq_quiesce_queue(ub->disk->queue);
	/* the server's commits need no mutex: it can drain under ours */
	ret = ubd_drain(ub, timeout_ms);
	if (ret) {
		blk_mq_unquiesce_queue(ub->disk->queue);
		goto out_unlock;
	}
	ub->quiesced = true;
	ub->info.state = UBD_S_DEV_QUIESCED;
	ubd_abort_all_queues(ub);
	ub->info.ubdsrv_pid = -1;
	pr_info("dev %d: quiesced for a new server\n", ub->info.dev_id);
out_unlock:
	mutex_unlock(&ub->mutex);
	return ret;
}

/**
 * ubd_update_size - UPDATE_SIZE: a new size for the disk
 * @ub: the device
 * @sectors: the size in 512-byte sectors, a whole number of logical blocks
 */
int ubd_update_size(struct ubd_device *ub, u64 sectors)
{
	unsigned int lbs_sectors;
	int ret = 0;

	if (!(ub->info.flags & UBD_F_UPDATE_SIZE))
		return -EOPNOTSUPP;
	if (mutex_lock_killable(&ub->mutex))
		return -EINTR;
	if (!ub->disk) {
		ret = -ENODEV;
		goto out_unlock;
	}
	lbs_sectors = 1U << (ub->params.basic.logical_bs_shift - SECTOR_SHIFT);
	if (!sectors || sectors > UBD_MAX_DEV_SECTORS ||
	    sectors & (lbs_sectors - 1)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	ub->params.basic.dev_sectors = sectors;
	set_capacity_and_notify(ub->disk, sectors);
out_unlock:
	mutex_unlock(&ub->mutex);
	return ret;
}
