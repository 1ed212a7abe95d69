// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Queue service: one thread and one io_uring per hardware queue.
 *
 * The thread parks a FETCH for every tag, then loops on a single
 * io_uring_submit_and_wait(): it submits the COMMIT_AND_FETCHes of the ios
 * finished since the last turn together with the target's own SQEs, and
 * waits for the next CQEs, which are new ios from the driver or completions
 * of target I/O.  Nothing is allocated and no other syscall is made per io;
 * only after a turn that served ios may a floating thread first spin a
 * little, watching the ring and entering only when work waits (spin.c),
 * and that in place of a sleep.
 *
 * With UBD_F_USER_COPY the driver moves no data: a WRITE's data is first
 * read from /dev/ubdcN into the io's buffer by a READ SQE on the same ring,
 * and the target sees the io once that completes; a READ's data is written
 * back by a WRITE SQE after the target completed it, with the
 * COMMIT_AND_FETCH linked behind it (IOSQE_IO_LINK), so that the kernel
 * commits only once the data is in the request.  These SQEs go into the
 * same batched io_uring_enter as everything else, so targets cannot tell
 * the modes apart.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "private.h"

/* user_data of driver commands: the tag, and bits 62, 63 clear */
#define UBD_CMD_USER_DATA(tag, nr)	((uint64_t)(tag) | (uint64_t)(nr) << 16)
/* user_data of the timers of the delay fault */
#define UBD_FAULT_TIMER			(1ULL << 62)
/* user_data of the user-copy reads and writes on the char dev */
#define UBD_USER_COPY_IO		(1ULL << 61)

static size_t page_round(size_t n)
{
	size_t pg = sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

struct ubd_dev *ubd_queue_dev(const struct ubd_queue *q)
{
	return q->dev;
}

int ubd_queue_id(const struct ubd_queue *q)
{
	return q->q_id;
}

struct io_uring *ubd_queue_ring(struct ubd_queue *q)
{
	return &q->ring;
}

void *ubd_queue_io_buf(const struct ubd_queue *q, int tag)
{
	return q->bufs + (size_t)tag * q->dev->info.max_io_buf_bytes;
}

void *ubd_queue_io_data(const struct ubd_queue *q, int tag)
{
	return q->ios[tag].data ?: ubd_queue_io_buf(q, tag);
}

int ubd_queue_fixed_buf(const struct ubd_queue *q, int tag,
			const void *addr, size_t len)
{
	const char *start = ubd_queue_io_buf(q, tag);
	const char *p = addr;

	if (!q->fixed_len || p < start || p > start + q->fixed_len ||
	    len > (size_t)(start + q->fixed_len - p))
		return -1;
	return tag;
}

bool ubd_queue_stopping(const struct ubd_queue *q)
{
	return q->stopping ||
	       __atomic_load_n(&q->dev->stop_requested, __ATOMIC_RELAXED);
}

void ubd_queue_set_data(struct ubd_queue *q, void *data)
{
	q->tgt_data = data;
}

void *ubd_queue_data(const struct ubd_queue *q)
{
	return q->tgt_data;
}

static struct io_uring_sqe *queue_get_sqe(struct ubd_queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	/* the SQ is sized for every tag's worth; this is a rare overflow */
	if (!sqe) {
		io_uring_submit(&q->ring);
		sqe = io_uring_get_sqe(&q->ring);
	}
	return sqe;
}

/* every target SQE must produce exactly one CQE: no CQE_SKIP_SUCCESS */
struct io_uring_sqe *ubd_queue_get_sqe(struct ubd_queue *q)
{
	struct io_uring_sqe *sqe = queue_get_sqe(q);

	if (sqe)
		q->nr_tgt_inflight++;
	return sqe;
}

/*
 * queue one io command for @tag; the char dev is fixed file 0.  @addr: the
 * buffer of a READ's data and of the next io's (see commit_io())
 */
static int queue_io_cmd(struct ubd_queue *q, unsigned int op, int tag,
			int result, void *addr)
{
	struct io_uring_sqe *sqe = queue_get_sqe(q);
	struct ubd_io_cmd *cmd;

	if (!sqe)
		return -EBUSY;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, 0, NULL, 0, 0);
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->cmd_op = op;
	sqe->user_data = UBD_CMD_USER_DATA(tag, op & 0xff);
	cmd = (struct ubd_io_cmd *)sqe->cmd;
	cmd->q_id = q->q_id;
	cmd->tag = tag;
	cmd->result = result;
	/* with user copy the driver wants no buffer */
	cmd->addr = q->dev->user_copy ? 0 : (uintptr_t)addr;
	/*
	 * The driver copies through the registered buffer what fits in it,
	 * and reads the address as plain memory otherwise (a larger io).
	 */
	if (q->fixed_cmds && ubd_queue_fixed_buf(q, tag, addr, 1) == tag) {
		sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
		sqe->buf_index = tag;
	}
	q->nr_waiting++;
	q->ios[tag].state = IO_WAITING;
	return 0;
}

/*
 * The driver copies a READ's data from the buffer the COMMIT names, which
 * is also where the next io's WRITE data goes in plain copy mode: the tag's
 * buffer, unless io_data placed this READ (never in plain copy mode).
 */
static void commit_io(struct ubd_queue *q, int tag, int res)
{
	void *addr = ubd_queue_io_data(q, tag);

	q->ios[tag].data = NULL;
	if (queue_io_cmd(q, q->dev->io_op_commit, tag, res, addr)) {
		ubd_err("queue %d: no SQE to commit tag %d\n", q->q_id, tag);
		q->error = -EBUSY;
		q->stopping = true;
	}
}

/*
 * User copy: move @len bytes between the io's buffer and the request, in
 * (a WRITE's data to the buffer) or out (a READ's data to the request).
 * @flags: more SQE flags (the link of a copy out).
 */
static int user_copy_queue(struct ubd_queue *q, int tag, bool in,
			   unsigned int len, unsigned int flags)
{
	struct io_uring_sqe *sqe = queue_get_sqe(q);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_rw(in ? IORING_OP_READ : IORING_OP_WRITE, sqe, 0,
			 ubd_queue_io_data(q, tag), len,
			 ubdsrv_user_copy_pos(q->q_id, tag, 0));
	sqe->flags = IOSQE_FIXED_FILE | flags;
	sqe->user_data = UBD_USER_COPY_IO | tag;
	q->nr_copies++;
	if (in)
		q->ios[tag].state = IO_COPY_IN;
	return 0;
}

void ubd_complete_io(struct ubd_queue *q, int tag, int res)
{
	const struct ubd_io_desc *iod = &q->descs[tag];
	struct ubd_io *io = &q->ios[tag];

	if (q->dev->user_copy && res > 0 &&
	    ubdsrv_get_op(iod) == UBD_IO_OP_READ) {
		unsigned int bytes = iod->nr_sectors << 9;

		if ((unsigned int)res > bytes)
			res = bytes;
		/* the WRITE and its linked COMMIT must share one submit */
		if (io_uring_sq_space_left(&q->ring) < 2)
			io_uring_submit(&q->ring);
		if (io_uring_sq_space_left(&q->ring) < 2 ||
		    user_copy_queue(q, tag, false, res, IOSQE_IO_LINK)) {
			ubd_err("queue %d: no SQE to copy tag %d\n", q->q_id,
				tag);
			res = -EIO;
		} else {
			/* a failed or short WRITE cancels the COMMIT */
			io->result = res;
			io->copy_err = 0;
			io->commit_linked = true;
		}
	}
	commit_io(q, tag, res);
}

/*
 * Test faults: keep a new io from the target (for a while, or for ever),
 * or let the thread die.  True when the io was taken.
 */
static bool fault_take_io(struct ubd_queue *q, int tag)
{
	struct io_uring_sqe *sqe;

	switch (q->fault) {
	case UBD_FAULT_DELAY:
		sqe = queue_get_sqe(q);
		if (!sqe)
			return false;
		io_uring_prep_timeout(sqe, &q->fault_delay, 0, 0);
		sqe->user_data = UBD_FAULT_TIMER | tag;
		q->nr_fault_timers++;
		return true;
	case UBD_FAULT_SILENT:
	case UBD_FAULT_STALL_QUEUE:
		q->ios[tag].state = IO_HELD;
		return true;
	case UBD_FAULT_EXIT_QUEUE:
		q->fault_exit = true;
		return true;
	default:
		return false;
	}
}

static void fault_timer_done(struct ubd_queue *q, int tag)
{
	int ret;

	q->nr_fault_timers--;
	ret = q->dev->ops->queue_io(q, tag, &q->descs[tag]);
	if (ret < 0)
		ubd_complete_io(q, tag, ret);
}

/* the io's data is where the target expects it: hand it over */
static void start_io(struct ubd_queue *q, int tag)
{
	int ret;

	q->ios[tag].state = IO_TARGET;
	if (q->fault && fault_take_io(q, tag))
		return;
	ret = q->dev->ops->queue_io(q, tag, &q->descs[tag]);
	if (ret < 0)
		ubd_complete_io(q, tag, ret);
}

/* a user-copy READ or WRITE on the char dev completed */
static void user_copy_done(struct ubd_queue *q, int tag, int res)
{
	struct ubd_io *io = &q->ios[tag];
	unsigned int bytes = q->descs[tag].nr_sectors << 9;

	q->nr_copies--;
	if (!io->commit_linked) {
		if (res == (int)bytes) {
			start_io(q, tag);
			return;
		}
		ubd_err("queue %d tag %d: reading the data of a write: %s\n",
			q->q_id, tag, res < 0 ? ubd_strerror(res) : "short");
		commit_io(q, tag, res < 0 ? res : -EIO);
		return;
	}
	/* the data of a READ is in: the linked COMMIT goes on */
	if (res == io->result) {
		io->commit_linked = false;
		return;
	}
	/* ... or not: the COMMIT comes back cancelled, and is sent again */
	ubd_err("queue %d tag %d: writing the data of a read: %s\n",
		q->q_id, tag, res < 0 ? ubd_strerror(res) : "short");
	io->copy_err = res < 0 ? res : -EIO;
}

/* @got_data: the CQE answers our NEED_GET_DATA, not a new io */
static void handle_driver_cqe(struct ubd_queue *q, int tag, int res,
			      bool got_data)
{
	struct ubd_io *io = &q->ios[tag];

	q->nr_waiting--;
	if (res == -ECANCELED && io->commit_linked) {
		/* the WRITE of the data failed: fail the read instead */
		io->commit_linked = false;
		commit_io(q, tag, io->copy_err ?: -EIO);
		return;
	}
	if (res == UBD_IO_RES_ABORT) {
		/* the device is going away: this tag is done */
		io->state = IO_FREE;
		q->stopping = true;
		return;
	}
	if (got_data && res == -EFAULT && io->data) {
		/* io_data's place faulted (a mapped file cut short) */
		io->data = NULL;
		if (queue_io_cmd(q, q->dev->io_op_get_data, tag, 0,
				 ubd_queue_io_buf(q, tag)))
			q->stopping = true;
		return;
	}
	if (res < 0) {
		/* the driver refused a command: a library or target bug */
		if (!q->error)
			ubd_err("queue %d tag %d: io command failed: %s\n",
				q->q_id, tag, ubd_strerror(res));
		q->error = res;
		io->state = IO_FREE;
		q->stopping = true;
		return;
	}
	/* a new io: where its data goes */
	if (!got_data && q->dev->io_data_ok)
		io->data = q->dev->ops->io_data(q, tag, &q->descs[tag]);
	if (res == UBD_IO_RES_NEED_GET_DATA) {
		if (queue_io_cmd(q, q->dev->io_op_get_data, tag, 0,
				 ubd_queue_io_data(q, tag)))
			q->stopping = true;
		return;
	}

	if (q->dev->user_copy &&
	    ubdsrv_get_op(&q->descs[tag]) == UBD_IO_OP_WRITE) {
		/* the target sees the io once its data is in the buffer */
		if (!user_copy_queue(q, tag, true,
				     q->descs[tag].nr_sectors << 9, 0))
			return;
		ubd_err("queue %d: no SQE to copy tag %d\n", q->q_id, tag);
		commit_io(q, tag, -EIO);
		return;
	}
	start_io(q, tag);
}

static void handle_cqe(struct ubd_queue *q, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	int tag = ubd_user_data_tag(ud);

	if (ubd_user_data_is_tgt(ud)) {
		q->nr_tgt_inflight--;
		q->dev->ops->tgt_io_done(q, tag, cqe);
		return;
	}
	if ((unsigned int)tag >= q->depth)
		return;
	if (ud & UBD_USER_COPY_IO) {
		user_copy_done(q, tag, cqe->res);
		return;
	}
	if (ud & UBD_FAULT_TIMER) {
		fault_timer_done(q, tag);
		return;
	}
	handle_driver_cqe(q, tag, cqe->res,
			  (ud >> 16 & 0xff) == (q->dev->io_op_get_data & 0xff));
}

static bool queue_done(const struct ubd_queue *q)
{
	unsigned int tag;

	if (!q->stopping || q->nr_waiting || q->nr_tgt_inflight ||
	    q->nr_fault_timers || q->nr_copies)
		return false;
	/* held ios are not waited for: their requests were failed */
	for (tag = 0; tag < q->depth; tag++)
		if (q->ios[tag].state == IO_TARGET)
			return false;
	return true;
}

static void queue_loop(struct ubd_queue *q)
{
	bool busy = false;

	while (!queue_done(q) && !q->fault_exit) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;
		int ret;

		/*
		 * commits and target I/O go in with the wait: one syscall;
		 * after a busy turn, a spin may find the next ios first
		 */
		if (!busy || !ubd_spin(&q->spin, &q->ring,
				       q->nr_tgt_inflight)) {
			ret = io_uring_submit_and_wait(&q->ring, 1);
			if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
			    ret != -EBUSY) {
				ubd_err("queue %d: io_uring_enter: %s\n",
					q->q_id, ubd_strerror(ret));
				q->error = ret;
				return;
			}
		}

		io_uring_for_each_cqe(&q->ring, head, cqe) {
			handle_cqe(q, cqe);
			n++;
		}
		io_uring_cq_advance(&q->ring, n);
		busy = n;
		if (q->placement)
			ubd_placement_look(q->placement, q->q_id);
	}
}

static void queue_started(struct ubd_queue *q)
{
	struct ubd_dev *dev = q->dev;

	pthread_mutex_lock(&dev->lock);
	dev->nr_started++;
	pthread_cond_broadcast(&dev->cond);
	pthread_mutex_unlock(&dev->lock);
}

static void queue_thread_exit(struct ubd_queue *q)
{
	struct ubd_dev *dev = q->dev;

	pthread_mutex_lock(&dev->lock);
	dev->nr_exited++;
	pthread_cond_broadcast(&dev->cond);
	pthread_mutex_unlock(&dev->lock);
	/* wake the main thread, which waits for signals */
	pthread_kill(dev->main_thread, SIGUSR1);
}

/*
 * The ring belongs to the queue thread alone (SINGLE_ISSUER), so its task
 * work can wait for the thread's next io_uring_enter (DEFER_TASKRUN): a
 * new request then costs its submitter an append to a list and, only when
 * this thread sleeps, a wake-up -- never a signal or an IPI to interrupt
 * it while it works.  TASKRUN_FLAG shows, in the ring, that task work
 * waits, so the spin looks without a syscall (spin.c).  Kernels before 6.1
 * refuse the flags: plain ring.
 */
static int queue_init_ring(struct ubd_queue *q, unsigned int entries)
{
	struct io_uring_params p = { .flags = UBD_QUEUE_RING_FLAGS };
	int ret;

	ret = io_uring_queue_init_params(entries, &q->ring, &p);
	if (ret != -EINVAL)
		return ret;
	return io_uring_queue_init(entries, &q->ring, 0);
}

/*
 * The ring's file table: the char dev in slot 0, the rest empty for the
 * target's own files (ubd_queue_register_file()).
 */
static int queue_register_file_table(struct ubd_queue *q)
{
	int fds[UBD_QUEUE_FILES];
	unsigned int i;
	int ret;

	fds[0] = q->dev->char_fd;
	for (i = 1; i < UBD_QUEUE_FILES; i++)
		fds[i] = -1;
	ret = io_uring_register_files(&q->ring, fds, UBD_QUEUE_FILES);
	/* kernels before 5.12 refuse empty slots: the char dev alone then */
	if (ret == -EBADF)
		ret = io_uring_register_files(&q->ring, fds, 1);
	else if (!ret)
		q->nr_files_max = UBD_QUEUE_FILES;
	q->nr_files = 1;
	return ret;
}

int ubd_queue_register_file(struct ubd_queue *q, int fd)
{
	int ret;

	if (q->nr_files >= q->nr_files_max)
		return -ENOSPC;
	ret = io_uring_register_files_update(&q->ring, q->nr_files, &fd, 1);
	if (ret < 0)
		return ret;
	if (ret != 1)
		return -EIO;
	return q->nr_files++;
}

/*
 * Register the start of each tag's buffer with the ring, as buffer <tag>:
 * pinned once here, its pages need no page-table walk per io, neither by
 * the driver's copy (io commands with IORING_URING_CMD_FIXED) nor by a
 * target's O_DIRECT I/O (READ_FIXED, WRITE_FIXED; ubd_queue_fixed_buf()).
 * Measured in the TCG guest, one boot, 3 rounds, 4k randread QD32 on
 * ubd-loop over ext4 on a virtio disk: 31.1k/27.7k/28.6k IOPS without,
 * 32.5k/30.4k/30.4k with, at 30-34 us of CPU per io instead of 35-40.
 *
 * Only the first UBD_FIXED_BUF_BYTES of each, and less of each the deeper
 * the queue, UBD_FIXED_QUEUE_BYTES in all (none under a page each): the
 * whole of depth * max_io_buf_bytes (64 MiB per queue by default, far more
 * with deep queues) would all be pinned RAM, where the lazily touched
 * buffers cost what the ios use.  Larger ios take the plain path.  Not
 * with user copy, whose copies are SQEs of their own.  Fine to lack:
 * RLIMIT_MEMLOCK may refuse an unprivileged server.
 */
static void queue_register_bufs(struct ubd_queue *q)
{
	struct iovec *iov;
	unsigned int tag;
	size_t len = q->dev->info.max_io_buf_bytes;
	int ret;

	if (q->dev->user_copy)
		return;
	if (len > UBD_FIXED_BUF_BYTES)
		len = UBD_FIXED_BUF_BYTES;
	if (len > UBD_FIXED_QUEUE_BYTES / q->depth)
		len = UBD_FIXED_QUEUE_BYTES / q->depth / 4096 * 4096;
	if (!len)
		return;
	iov = calloc(q->depth, sizeof(*iov));
	if (!iov)
		return;
	for (tag = 0; tag < q->depth; tag++) {
		iov[tag].iov_base = ubd_queue_io_buf(q, tag);
		iov[tag].iov_len = len;
	}
	ret = io_uring_register_buffers(&q->ring, iov, q->depth);
	free(iov);
	if (ret) {
		ubd_info("queue %d: no registered buffers (%s): copies look up their pages per io\n",
			 q->q_id, ubd_strerror(ret));
		return;
	}
	q->fixed_len = len;
	/* ublk reads no flag of its commands: no sense naming a buffer */
	q->fixed_cmds = !q->dev->ctrl->is_ublk;
}

static int queue_setup_ring(struct ubd_queue *q)
{
	struct ubd_dev *dev = q->dev;
	unsigned int per_io = dev->ops->max_sqes_per_io ?: 1;
	/* the io command, the target's SQEs and the user copy */
	unsigned int entries = q->depth * (1 + per_io + dev->user_copy);
	int ret;

	ret = queue_init_ring(q, entries);
	if (ret) {
		ubd_err("queue %d: io_uring_queue_init(%u): %s\n", q->q_id,
			entries, ubd_strerror(ret));
		return ret;
	}
	ret = queue_register_file_table(q);
	if (ret) {
		ubd_err("queue %d: register files: %s\n", q->q_id,
			ubd_strerror(ret));
		goto out_exit_ring;
	}
	/* saves the fd lookup on every enter; fine to lack */
	io_uring_register_ring_fd(&q->ring);
	queue_register_bufs(q);

	if (dev->ops->init_queue) {
		ret = dev->ops->init_queue(q);
		if (ret) {
			ubd_err("queue %d: target init: %s\n", q->q_id,
				ubd_strerror(ret));
			goto out_exit_ring;
		}
	}
	return 0;

out_exit_ring:
	io_uring_queue_exit(&q->ring);
	return ret;
}

/* park a FETCH for every tag; the driver answers at once only to refuse */
static int queue_fetch_all(struct ubd_queue *q)
{
	struct io_uring_cqe *cqe;
	unsigned int tag;
	int ret;

	for (tag = 0; tag < q->depth; tag++) {
		ret = queue_io_cmd(q, q->dev->io_op_fetch, tag, -1,
				   ubd_queue_io_buf(q, tag));
		if (ret)
			return ret;
	}
	ret = io_uring_submit(&q->ring);
	if (ret < 0) {
		ubd_err("queue %d: submit fetches: %s\n", q->q_id,
			ubd_strerror(ret));
		return ret;
	}
	if (io_uring_peek_cqe(&q->ring, &cqe) == 0) {
		ret = cqe->res < 0 ? cqe->res : -EPROTO;
		ubd_err("queue %d: fetch refused: %s\n", q->q_id,
			ubd_strerror(ret));
		return ret;
	}
	return 0;
}

/*
 * Names the thread (ubdN-qM, for top and ps) and sets how it is scheduled.
 *
 * A pinned thread shares its CPUs with the applications that submit there.
 * As SCHED_OTHER, each request it is woken for preempts the submitter at
 * once: one request per wake-up, two context switches each.  SCHED_BATCH
 * never preempts on wake-up, so the submitter goes on queueing until it
 * blocks or its tick ends, and the thread then takes all of it in one turn.
 * Measured in the TCG guest, ubd-null's queue thread on fio's CPU, 4k
 * randread QD32: 6.1k-6.9k IOPS as SCHED_OTHER, 28.5k-35.5k as SCHED_BATCH.
 * A floating thread moves to a calm CPU instead: the scheduler moves it,
 * and placement.c when the scheduler keeps it on a crowded one.  Only a
 * floating thread spins before it sleeps (spin.c): a pinned one would spin
 * on the submitters' CPUs.
 */
static void queue_thread_init(struct ubd_queue *q)
{
	struct sched_param param = { 0 };
	char name[16];

	snprintf(name, sizeof(name), "ubd%u-q%d", q->dev->info.dev_id, q->q_id);
	pthread_setname_np(pthread_self(), name);
	if (!q->dev->opts.pin_queues) {
		q->placement = ubd_placement_new();
		ubd_spin_init(&q->spin, q->dev->opts.spin_us < 0 ?
			      UBD_SPIN_US_DEFAULT : q->dev->opts.spin_us);
	} else if (sched_setscheduler(0, SCHED_BATCH, &param)) {
		ubd_info("queue %d: SCHED_BATCH: %s\n", q->q_id,
			 ubd_strerror(-errno));
	}
}

static void *queue_thread(void *arg)
{
	struct ubd_queue *q = arg;
	int ret;

	queue_thread_init(q);
	ret = queue_setup_ring(q);
	if (ret) {
		q->error = ret;
		queue_started(q);
		queue_thread_exit(q);
		return NULL;
	}
	ret = queue_fetch_all(q);
	if (ret) {
		/*
		 * The main thread will not start the device; its STOP aborts
		 * the fetches that were parked, and the loop reaps them.
		 */
		q->error = ret;
		q->stopping = true;
	}
	queue_started(q);
	queue_loop(q);
	if (q->fault_exit) {
		/* like a crash: the ring stays as it is, the task ends */
		ubd_err("queue %d: exiting on the exit-queue test fault\n",
			q->q_id);
		q->error = -ECANCELED;
		q->ring_left = true;
		queue_thread_exit(q);
		return NULL;
	}
	io_uring_queue_exit(&q->ring);
	queue_thread_exit(q);
	return NULL;
}

static enum ubd_fault_kind queue_fault(const struct ubd_fault *f, int q_id,
				       struct __kernel_timespec *delay)
{
	switch (f->kind) {
	case UBD_FAULT_DELAY:
		delay->tv_sec = f->arg / 1000;
		delay->tv_nsec = (f->arg % 1000) * 1000000L;
		return f->kind;
	case UBD_FAULT_STALL_QUEUE:
	case UBD_FAULT_EXIT_QUEUE:
		return (int)f->arg == q_id ? f->kind : UBD_FAULT_NONE;
	default:
		return f->kind;
	}
}

int ubd_queue_create(struct ubd_dev *dev, int q_id, struct ubd_queue **out)
{
	unsigned int depth = dev->info.queue_depth;
	size_t stride = page_round(UBD_MAX_QUEUE_DEPTH *
				   sizeof(struct ubd_io_desc));
	size_t bufs_size = (size_t)depth * dev->info.max_io_buf_bytes;
	struct ubd_queue *q;
	void *p;
	int ret;

	q = calloc(1, sizeof(*q) + depth * sizeof(struct ubd_io));
	if (!q)
		return -ENOMEM;
	q->dev = dev;
	q->q_id = q_id;
	q->depth = depth;
	q->descs_size = page_round(depth * sizeof(struct ubd_io_desc));
	q->fault = queue_fault(&dev->opts.fault, q_id, &q->fault_delay);

	p = mmap(NULL, q->descs_size, PROT_READ, MAP_SHARED | MAP_POPULATE,
		 dev->char_fd, UBDSRV_CMD_BUF_OFFSET + q_id * stride);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto out_free;
	}
	q->descs = p;

	/* address space only: an io touches just the bytes it moves */
	p = mmap(NULL, bufs_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto out_unmap_descs;
	}
	q->bufs = p;
	*out = q;
	return 0;

out_unmap_descs:
	munmap((void *)q->descs, q->descs_size);
out_free:
	free(q);
	return ret;
}

int ubd_queue_start(struct ubd_queue *q)
{
	struct ubd_dev *dev = q->dev;
	cpu_set_t cpus;
	pthread_attr_t attr;
	int ret;

	pthread_attr_init(&attr);
	/*
	 * Pinned to the CPUs that submit to this queue only when asked: an
	 * application on one of them then shares its CPU with the server,
	 * even as SCHED_BATCH (queue_thread_init()).  Measured in the TCG
	 * guest, ubd-null with 2 queues, fio on CPU 0, 4k randread QD32:
	 * pinned 0.09-0.12 x null_blk as SCHED_OTHER, 0.65 x as SCHED_BATCH;
	 * unpinned 0.74-0.92 x.
	 */
	CPU_ZERO(&cpus);
	if (dev->opts.pin_queues &&
	    !ubd_ctrl_get_affinity(dev->ctrl, dev->info.dev_id, q->q_id,
				   &cpus, sizeof(cpus)) && CPU_COUNT(&cpus))
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	ret = -pthread_create(&q->thread, &attr, queue_thread, q);
	pthread_attr_destroy(&attr);
	return ret;
}

void ubd_queue_destroy(struct ubd_queue *q)
{
	if (!q)
		return;
	if (q->ring_left)
		io_uring_queue_exit(&q->ring);
	ubd_placement_free(q->placement);
	munmap(q->bufs, (size_t)q->depth * q->dev->info.max_io_buf_bytes);
	munmap((void *)q->descs, q->descs_size);
	free(q);
}
