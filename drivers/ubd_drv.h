/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ubd_drv: private declarations shared by the control, device and io parts.
 */
#ifndef _UBD_DRV_H
#define _UBD_DRV_H

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/cdev.h>
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/io_uring.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/ubd_cmd.h>

#define UBD_MINORS		BIT(MINORBITS)
/* largest io a server may ask to buffer: the user-copy offset limit */
#define UBD_MAX_IO_BUF_BYTES	BIT(UBD_IO_BUF_BITS)
#define UBD_DEF_IO_BUF_BYTES	(512U << 10)

/* how often a live device looks for a dead server */
#define UBD_MONITOR_PERIOD	(HZ / 10)
/*
 * How long STOP_DEV lets a live server finish the ios it holds before they
 * are failed, so that a stuck server cannot block the removal of the disk.
 */
#define UBD_STOP_GRACE		(2 * HZ)
/*
 * The io timeout while START reads the partition table: a server that does
 * not answer must not hold START (and ub->mutex) for ever.
 */
#define UBD_START_IO_TIMEOUT	(5 * HZ)

/* what this driver supports; every other requested UBD_F_* bit is masked */
#define UBD_F_ALL		(UBD_F_URING_CMD_COMP_IN_TASK | \
				 UBD_F_NEED_GET_DATA | \
				 UBD_F_USER_RECOVERY | \
				 UBD_F_USER_RECOVERY_REISSUE | \
				 UBD_F_UNPRIVILEGED_DEV | \
				 UBD_F_CMD_IOCTL_ENCODE | \
				 UBD_F_USER_RECOVERY_FAIL_IO | \
				 UBD_F_UPDATE_SIZE | \
				 UBD_F_QUIESCE | \
				 UBD_F_USER_COPY)

/* the largest device: its size in bytes must fit a loff_t */
#define UBD_MAX_DEV_SECTORS	(U64_MAX >> (SECTOR_SHIFT + 1))

/*
 * An unprivileged device cannot have these: its server could hand the
 * kernel's request pages (or stale data in them) to whoever it likes.
 * Asking for one is an error, not a silent downgrade.
 */
#define UBD_F_UNPRIV_FORBIDDEN	(UBD_F_USER_COPY | \
				 UBD_F_SUPPORT_ZERO_COPY | \
				 UBD_F_AUTO_BUF_REG)
/*
 * ... and loses these silently, as upstream does: a server that never
 * comes back would leave the disk's io queued for ever.
 */
#define UBD_F_RECOVERY_ALL	(UBD_F_USER_RECOVERY | \
				 UBD_F_USER_RECOVERY_REISSUE | \
				 UBD_F_USER_RECOVERY_FAIL_IO)

/* bits of ubd_io.flags; always changed with atomic bitops */
enum {
	/* a FETCH or COMMIT_AND_FETCH command is parked in io->cmd */
	UBD_IO_ACTIVE,
	/*
	 * the request was handed to the server; whoever clears this bit
	 * (commit or abort) completes the request
	 */
	UBD_IO_OWNED,
	/* WRITE handed over without data: waiting for NEED_GET_DATA */
	UBD_IO_NEED_DATA,
	/* the tag was fetched by the current server */
	UBD_IO_FETCHED,
};

/*
 * One tag.  Between queue_rq taking the parked command (clearing ACTIVE) and
 * the task work delivering the request (setting OWNED) neither bit is set:
 * it is on ubq->batch, and the task work that empties that owns both the
 * command and the request then.
 */
struct ubd_io {
	unsigned long		flags;
	u64			addr;	/* the server's buffer for this tag */
	/*
	 * UBD_F_USER_COPY only: 0 unless the request is owned by the
	 * server; then the server's reference plus one per pread/pwrite
	 * copying its data.  The last one dropped ends the request with
	 * @res.  See "User copy" in ubd_io.c.
	 */
	refcount_t		ref;
	int			res;	/* bytes done or -errno, for the end */
	struct io_uring_cmd	*cmd;
	/* on ubq->batch from queue_rq until a task work delivers it */
	struct llist_node	node;
};

struct ubd_queue {
	struct ubd_device	*ub;
	u16			q_id;
	u16			q_depth;
	/* the server of this queue died: fail everything */
	bool			dead;
	/* STOP is aborting the parked commands: no FETCH now */
	bool			cancelling;	/* protected by ub->lock */
	/*
	 * The task that fetched this queue's tags.  Set by FETCH, cleared
	 * when the device stops.  Protected by ub->lock, not ub->mutex: the
	 * monitor reads it while STOP_DEV holds the mutex, and FETCH must
	 * never wait for the mutex, which START holds across add_disk() --
	 * whose reads need this very server.
	 */
	struct task_struct	*daemon;
	unsigned int		nr_io_ready;	/* protected by ub->lock */
	/* ios taken by queue_rq, not yet delivered by a task work */
	struct llist_head	batch;
	struct ubd_io_desc	*descs;		/* mmap'd read-only by the server */
	struct ubd_io		ios[];
};

enum {
	UB_STATE_OPEN,		/* /dev/ubdcN is open: one server at a time */
	UB_STATE_DELETED,	/* DEL_DEV has begun: no more commands */
};

struct ubd_device {
	struct ubd_ctrl_dev_info info;	/* protected by mutex */
	struct ubd_params	params;	/* protected by mutex */
	/* serializes the control commands on this device */
	struct mutex		mutex;
	spinlock_t		lock;	/* FETCH bookkeeping: see ubd_queue.daemon */
	unsigned long		state;	/* UB_STATE_* bits */

	struct device		cdev_dev;
	struct cdev		cdev;
	struct gendisk		*disk;	/* protected by mutex; NULL unless LIVE */
	struct blk_mq_tag_set	tag_set;

	unsigned int		nr_queues_ready;	/* protected by lock */
	struct completion	ready;	/* every tag of every queue fetched */
	/* START is in add_disk(): unanswered ios time out and fail */
	bool			starting;
	/* ... and once one has, the others fail at once */
	bool			start_io_failed;

	/*
	 * Recovery (ubd_recovery.c).  quiesced: we quiesced the disk's
	 * queue, for a new server; protected by mutex.  fail_io: no server,
	 * and ios fail at once (FAIL_IO).  force_abort: STOP is removing
	 * the disk, so ios fail rather than wait for a new server.
	 */
	bool			quiesced;
	bool			fail_io;
	bool			force_abort;
	struct work_struct	quiesce_work;

	bool			monitor_on;
	unsigned long		stop_deadline;	/* jiffies, 0: not stopping */
	struct delayed_work	monitor_work;
	struct work_struct	stop_work;

	struct ubd_queue	*queues[];
};

/* what the task work needs to find its queue: lives in io_uring_cmd.pdu */
struct ubd_cmd_pdu {
	struct ubd_queue	*ubq;
};

static inline struct ubd_cmd_pdu *ubd_cmd_pdu(struct io_uring_cmd *cmd)
{
	return (struct ubd_cmd_pdu *)cmd->pdu;
}

/* the server moves the data with pread/pwrite on /dev/ubdcN; fixed at ADD */
static inline bool ubd_user_copy(const struct ubd_device *ub)
{
	return ub->info.flags & UBD_F_USER_COPY;
}

/* bytes of one queue's descriptor array, as mapped */
static inline size_t ubd_queue_descs_size(const struct ubd_device *ub)
{
	return round_up(ub->info.queue_depth * sizeof(struct ubd_io_desc),
			PAGE_SIZE);
}

/* distance between two queues' arrays in the mmap offset space */
static inline size_t ubd_queue_descs_stride(void)
{
	return round_up(UBD_MAX_QUEUE_DEPTH * sizeof(struct ubd_io_desc),
			PAGE_SIZE);
}

/* the device can wait for a new server when its server dies */
static inline bool ubd_can_recover(const struct ubd_device *ub)
{
	return ub->info.flags & UBD_F_USER_RECOVERY;
}

/*
 * An io that its (dead) server cannot take waits for the next server,
 * rather than fail: recovery without FAIL_IO, on a started device that is
 * not being stopped.
 */
static inline bool ubd_hold_io(const struct ubd_device *ub)
{
	return ubd_can_recover(ub) &&
	       !(ub->info.flags & UBD_F_USER_RECOVERY_FAIL_IO) &&
	       READ_ONCE(ub->info.state) != UBD_S_DEV_DEAD &&
	       !READ_ONCE(ub->force_abort);
}

static inline bool ubd_dev_is_unprivileged(const struct ubd_device *ub)
{
	return ub->info.flags & UBD_F_UNPRIVILEGED_DEV;
}

/* ubd_main.c: device lifetime */
struct ubd_device *ubd_get_device_from_id(int id);
void ubd_put_device(struct ubd_device *ub);
int ubd_add_dev(struct ubd_ctrl_dev_info *info, int req_id);
int ubd_del_dev(struct ubd_device *ub, bool wait);
int ubd_start_dev(struct ubd_device *ub, pid_t pid);
void ubd_stop_dev(struct ubd_device *ub);
int ubd_wait_ready(struct ubd_device *ub);
void ubd_reset_queues(struct ubd_device *ub);
void ubd_queue_affinity(struct ubd_device *ub, int q_id, struct cpumask *mask);

/* ubd_recovery.c: a device that outlives its server */
void ubd_server_died(struct ubd_device *ub);
void ubd_quiesce_work_fn(struct work_struct *work);
void ubd_abort_recovery(struct ubd_device *ub);
int ubd_start_recovery(struct ubd_device *ub);
int ubd_end_recovery(struct ubd_device *ub, pid_t pid);
int ubd_quiesce_dev(struct ubd_device *ub, u64 timeout_ms);
int ubd_update_size(struct ubd_device *ub, u64 sectors);

/* ubd_ctrl.c: the control node */
int ubd_ctrl_init(void);
void ubd_ctrl_exit(void);
int ubd_validate_params(const struct ubd_device *ub, struct ubd_params *p);

/* ubd_io.c: the data path */
extern const struct blk_mq_ops ubd_mq_ops;
extern const struct file_operations ubd_ch_fops;
extern const struct block_device_operations ubd_bdev_fops;
void ubd_abort_queue(struct ubd_device *ub, struct ubd_queue *ubq);
/* ubd_copy.c */
size_t ubd_copy_rq_iter(struct request *req, unsigned int off, size_t len,
			struct iov_iter *iter);
void ubd_fail_owned_ios(struct ubd_device *ub, struct ubd_queue *ubq);
void ubd_cancel_queue(struct ubd_device *ub, struct ubd_queue *ubq);

#endif /* _UBD_DRV_H */
