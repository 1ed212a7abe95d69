// SPDX-License-Identifier: GPL-2.0
/*
 * ubd_drv: the data path.
 *
 * Each tag of each queue has one io_uring command of the server parked in
 * the driver (FETCH_REQ, later COMMIT_AND_FETCH_REQ).  queue_rq takes the
 * command of the request's tag and puts the io on the queue's list; one
 * task work in the server's thread then describes every request on it in
 * the mmap'd descriptors, copies WRITE data to the server's buffers and
 * completes their commands, so requests that come while the server sleeps
 * or works wake it once.
 * The server answers with COMMIT_AND_FETCH_REQ, which completes the request
 * (copying READ data back) and parks the command again.
 *
 * With UBD_F_USER_COPY the driver copies nothing: the server reads a WRITE's
 * data with pread() and writes a READ's data with pwrite() on /dev/ubdcN at
 * the offset that names the request (see "User copy" below).
 */
#include "ubd_drv.h"

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/uio.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/sched/task.h>
#include <linux/uaccess.h>

static struct request *ubd_tag_to_rq(struct ubd_queue *ubq, unsigned int tag)
{
	return blk_mq_tag_to_rq(ubq->ub->tag_set.tags[ubq->q_id], tag);
}

static bool ubd_rq_has_data(const struct request *req)
{
	return req_op(req) == REQ_OP_READ || req_op(req) == REQ_OP_WRITE;
}

/*
 * The server's buffer at @uaddr as an iov_iter.  A command sent with
 * IORING_URING_CMD_FIXED names one of the ring's registered buffers: when
 * the range lies inside it, the copy takes its pages from there, pinned
 * once at registration, instead of walking the page tables on every io.
 * Anything else (no flag, a range outside that buffer: io_uring checks
 * both ends) is plain user memory, as ublk reads the same command.
 */
static int ubd_import_server_buf(struct io_uring_cmd *cmd, int rw, u64 uaddr,
				 unsigned int bytes, struct iovec *iov,
				 struct iov_iter *iter)
{
	if ((cmd->flags & IORING_URING_CMD_FIXED) &&
	    !io_uring_cmd_import_fixed(uaddr, bytes, rw, iter, cmd))
		return 0;
	return import_single_range(rw, u64_to_user_ptr(uaddr), bytes, iov,
				   iter);
}

/* the bio pages of a WRITE -> the server's buffer, named by @cmd */
static int ubd_copy_rq_to_server(struct request *req,
				 struct io_uring_cmd *cmd, u64 uaddr)
{
	unsigned int bytes = blk_rq_bytes(req);
	struct iov_iter iter;
	struct iovec iov;
	int ret;

	ret = ubd_import_server_buf(cmd, ITER_DEST, uaddr, bytes, &iov, &iter);
	if (ret)
		return ret;
	if (ubd_copy_rq_iter(req, 0, bytes, &iter) != bytes)
		return -EFAULT;
	return 0;
}

/* the server's buffer, named by @cmd -> the bio pages of a READ, at most @bytes */
static int ubd_copy_server_to_rq(struct request *req,
				 struct io_uring_cmd *cmd, u64 uaddr,
				 unsigned int bytes)
{
	struct iov_iter iter;
	struct iovec iov;
	int ret;

	ret = ubd_import_server_buf(cmd, ITER_SOURCE, uaddr, bytes, &iov,
				    &iter);
	if (ret)
		return ret;
	if (ubd_copy_rq_iter(req, 0, bytes, &iter) != bytes)
		return -EFAULT;
	return 0;
}

static u32 ubd_req_op_flags(const struct request *req)
{
	u32 flags = 0;
	u8 op;

	switch (req_op(req)) {
	case REQ_OP_READ:
		op = UBD_IO_OP_READ;
		break;
	case REQ_OP_WRITE:
		op = UBD_IO_OP_WRITE;
		break;
	case REQ_OP_FLUSH:
		op = UBD_IO_OP_FLUSH;
		break;
	case REQ_OP_DISCARD:
		op = UBD_IO_OP_DISCARD;
		break;
	case REQ_OP_WRITE_ZEROES:
		op = UBD_IO_OP_WRITE_ZEROES;
		break;
	default:
		/* queue_rq lets no other op through */
		op = UBD_IO_OP_READ;
		break;
	}
	if (req->cmd_flags & REQ_FUA)
		flags |= UBD_IO_F_FUA;
	if (req->cmd_flags & REQ_NOUNMAP)
		flags |= UBD_IO_F_NOUNMAP;
	if (req->cmd_flags & REQ_FAILFAST_DEV)
		flags |= UBD_IO_F_FAILFAST_DEV;
	if (req->cmd_flags & REQ_FAILFAST_TRANSPORT)
		flags |= UBD_IO_F_FAILFAST_TRANSPORT;
	if (req->cmd_flags & REQ_FAILFAST_DRIVER)
		flags |= UBD_IO_F_FAILFAST_DRIVER;
	if (req->cmd_flags & REQ_META)
		flags |= UBD_IO_F_META;
	if (req->cmd_flags & REQ_SWAP)
		flags |= UBD_IO_F_SWAP;
	return op | flags;
}

static void ubd_kick_monitor(struct ubd_device *ub)
{
	if (READ_ONCE(ub->monitor_on))
		mod_delayed_work(system_wq, &ub->monitor_work, 0);
}

/*
 * Hand one request to the server: describe it, copy WRITE data, complete
 * its command.  In task work, in the server's thread -- or in io_uring's
 * fallback worker when that thread is exiting, where the request fails.
 */
static void ubd_deliver(struct ubd_queue *ubq, struct ubd_io *io,
			unsigned int issue_flags)
{
	unsigned int tag = io - ubq->ios;
	struct io_uring_cmd *cmd = io->cmd;
	struct ubd_io_desc *iod = &ubq->descs[tag];
	struct request *req = ubd_tag_to_rq(ubq, tag);

	if (unlikely(current != ubq->daemon || (current->flags & PF_EXITING) ||
		     READ_ONCE(ubq->dead))) {
		/* the server never saw it: the next one may have it */
		if (ubd_hold_io(ubq->ub))
			blk_mq_requeue_request(req, false);
		else
			blk_mq_end_request(req, BLK_STS_IOERR);
		io_uring_cmd_done(cmd, UBD_IO_RES_ABORT, 0, issue_flags);
		ubd_kick_monitor(ubq->ub);
		return;
	}

	iod->op_flags = ubd_req_op_flags(req);
	iod->nr_sectors = blk_rq_sectors(req);
	iod->start_sector = blk_rq_pos(req);
	iod->addr = io->addr;

	if (req_op(req) == REQ_OP_WRITE && !ubd_user_copy(ubq->ub)) {
		if (ubq->ub->info.flags & UBD_F_NEED_GET_DATA) {
			set_bit(UBD_IO_NEED_DATA, &io->flags);
			set_bit(UBD_IO_OWNED, &io->flags);
			io_uring_cmd_done(cmd, UBD_IO_RES_NEED_GET_DATA, 0,
					  issue_flags);
			return;
		}
		if (ubd_copy_rq_to_server(req, cmd, io->addr)) {
			/* a bad buffer fails this io; the tag stays armed */
			smp_mb__before_atomic();
			set_bit(UBD_IO_ACTIVE, &io->flags);
			blk_mq_end_request(req, BLK_STS_IOERR);
			return;
		}
	}
	if (ubd_user_copy(ubq->ub)) {
		/* the server's reference, before copies can find the io */
		refcount_set(&io->ref, 1);
		/* a copy that sees OWNED must see this reference too */
		smp_mb__before_atomic();
	}
	set_bit(UBD_IO_OWNED, &io->flags);
	io_uring_cmd_done(cmd, UBD_IO_RES_OK, 0, issue_flags);
}

/*
 * The task work of a batch: deliver every request queued since the last
 * one ran.  Its own command is among them (see ubd_queue_rq()); completing
 * it before the others is safe, as io_uring does not look at a command
 * again once it has called its task work.
 */
static void ubd_batch_task_work(struct io_uring_cmd *cmd,
				unsigned int issue_flags)
{
	struct ubd_queue *ubq = ubd_cmd_pdu(cmd)->ubq;
	struct llist_node *node = llist_del_all(&ubq->batch);

	/*
	 * Run with the ring's lock held (no IO_URING_F_UNLOCKED), a task
	 * work may defer its completions: every runner of task work in 6.1
	 * posts them when it lets the lock go, the batch's CQEs under one
	 * completion lock and one wake-up, where 6.1 passes 0 and so posts
	 * each command's CQE on its own.  Later kernels pass
	 * IO_URING_F_COMPLETE_DEFER themselves.
	 */
	if (!(issue_flags & IO_URING_F_UNLOCKED))
		issue_flags |= IO_URING_F_COMPLETE_DEFER;

	/* the list is newest first: deliver in the order they came */
	node = llist_reverse_order(node);

	while (node) {
		/* read on before the io can be reused */
		struct llist_node *next = node->next;

		ubd_deliver(ubq, llist_entry(node, struct ubd_io, node),
			    issue_flags);
		node = next;
	}
}

static blk_status_t ubd_queue_rq(struct blk_mq_hw_ctx *hctx,
				 const struct blk_mq_queue_data *bd)
{
	struct ubd_queue *ubq = hctx->driver_data;
	struct request *req = bd->rq;
	struct ubd_io *io = &ubq->ios[req->tag];

	switch (req_op(req)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
	case REQ_OP_FLUSH:
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		break;
	default:
		return BLK_STS_NOTSUPP;
	}
	/* FAIL_IO, or the disk is going away */
	if (unlikely(READ_ONCE(ubq->ub->fail_io)))
		return BLK_STS_IOERR;
	/*
	 * The server died.  Until the queue is quiesced for a new one,
	 * BLK_STS_RESOURCE has blk-mq try again shortly.
	 */
	if (unlikely(READ_ONCE(ubq->dead)))
		return ubd_hold_io(ubq->ub) ? BLK_STS_RESOURCE : BLK_STS_IOERR;
	/* a server that let START's first read time out gets no more */
	if (unlikely(READ_ONCE(ubq->ub->start_io_failed)))
		return BLK_STS_IOERR;

	blk_mq_start_request(req);
	/* the abort path may have taken the command first */
	if (unlikely(!test_and_clear_bit(UBD_IO_ACTIVE, &io->flags)))
		return BLK_STS_IOERR;
	/*
	 * Only the request that finds the list empty schedules a task work:
	 * until the server's thread runs it, later ones just join the list,
	 * so a server that is busy or asleep is woken once for all of them.
	 * Each task work empties the list, so its own request is in what it
	 * takes: the list stays non-empty, and no other task work can be
	 * scheduled, from this add until that task work runs.
	 */
	if (llist_add(&io->node, &ubq->batch))
		io_uring_cmd_complete_in_task(io->cmd, ubd_batch_task_work);
	return BLK_STS_OK;
}

static bool ubd_fail_owned(struct ubd_queue *ubq, unsigned int tag);

/*
 * A slow server may take its time; a dead one is found by the monitor, and
 * STOP_DEV fails what a stuck one holds.  So never fail on a timer...
 */
static enum blk_eh_timer_return ubd_timeout(struct request *req)
{
	struct ubd_queue *ubq = req->mq_hctx->driver_data;

	/*
	 * but START must not wait for ever on its partition reads.  The flag
	 * goes up before the read ends: ending it wakes the partition scan,
	 * whose next read, on another CPU, must already find the flag and
	 * fail at once, not reach the server and wait out 5 s more.  The
	 * test_and_clear_bit() in ubd_take_owned() orders the two.
	 */
	if (READ_ONCE(ubq->ub->starting) &&
	    test_bit(UBD_IO_OWNED, &ubq->ios[req->tag].flags)) {
		WRITE_ONCE(ubq->ub->start_io_failed, true);
		if (ubd_fail_owned(ubq, req->tag))
			return BLK_EH_DONE;
	}
	return BLK_EH_RESET_TIMER;
}

static int ubd_init_hctx(struct blk_mq_hw_ctx *hctx, void *driver_data,
			 unsigned int hctx_idx)
{
	struct ubd_device *ub = driver_data;

	hctx->driver_data = ub->queues[hctx_idx];
	return 0;
}

const struct blk_mq_ops ubd_mq_ops = {
	.queue_rq	= ubd_queue_rq,
	.init_hctx	= ubd_init_hctx,
	.timeout	= ubd_timeout,
};

/* complete a request with the server's result: bytes done or -errno */
static void ubd_complete_rq(struct request *req, int res)
{
	unsigned int bytes = blk_rq_bytes(req);

	if (res < 0) {
		blk_mq_end_request(req, errno_to_blk_status(res));
		return;
	}
	if (ubd_rq_has_data(req) && res < bytes) {
		/* a short io: what was done is good, the rest failed */
		if (blk_update_request(req, BLK_STS_OK, res))
			blk_mq_end_request(req, BLK_STS_IOERR);
		else
			__blk_mq_end_request(req, BLK_STS_OK);
		return;
	}
	blk_mq_end_request(req, BLK_STS_OK);
}

/*
 * User copy.  A pread/pwrite on /dev/ubdcN copies a request's pages in the
 * caller's syscall, which may run while another thread of the server
 * commits the request, while the monitor fails the ios of a dead or stuck
 * server, or while STOP's grace runs out.  The pages must stay the
 * request's until the copy is over, so the request must not end under it;
 * and every request must still end exactly once.  io->ref does that:
 *
 *  - It is 0 while the driver owns the io.  ubd_deliver() sets it to 1, the
 *    server's reference, and only then sets UBD_IO_OWNED.
 *  - A copy takes a reference with refcount_inc_not_zero(), and only then
 *    checks UBD_IO_OWNED.  Holding it, the request cannot end, so its tag
 *    cannot be delivered again: the request the copy sees is the one it
 *    holds.  A copy that finds OWNED clear (the request is being ended)
 *    drops its reference and fails.
 *  - Whoever clears UBD_IO_OWNED -- COMMIT_AND_FETCH, the abort path, the
 *    START timeout -- stores the result in io->res and drops the server's
 *    reference (ubd_end_owned()).  The last reference dropped ends the
 *    request: normally there, otherwise in the syscall of the last copy,
 *    right after it.
 *
 * So the fast path costs two atomics per io and takes no lock, and the copy
 * mode, where nothing copies outside the owner, keeps ending the request
 * directly.
 */
/* not an errno: the request goes back to wait for the next server */
#define UBD_RES_REQUEUE		INT_MIN

static void ubd_finish_rq(struct request *req, int res)
{
	if (res == UBD_RES_REQUEUE)
		blk_mq_requeue_request(req, false);
	else
		ubd_complete_rq(req, res);
}

static void ubd_put_io_ref(struct ubd_io *io, struct request *req)
{
	/* dec_and_test orders io->res, stored before the put, for us */
	if (refcount_dec_and_test(&io->ref))
		ubd_finish_rq(req, io->res);
}

/*
 * UBD_IO_OWNED was cleared by us: end the request with @res (or requeue it
 * for UBD_RES_REQUEUE), or let go
 */
static void ubd_end_owned(struct ubd_queue *ubq, struct ubd_io *io,
			  struct request *req, int res)
{
	if (!ubd_user_copy(ubq->ub)) {
		ubd_finish_rq(req, res);
		return;
	}
	io->res = res;
	ubd_put_io_ref(io, req);
}

/*
 * pread (@iter ITER_DEST: a WRITE's data to the server) or pwrite (a READ's
 * data from the server) at iocb->ki_pos.  Bytes copied or -errno: -EACCES
 * for a device without USER_COPY, a buffer that is not user memory or the
 * wrong direction; -EINVAL for an offset that names no io the server holds
 * or lies beyond the request's data.
 */
static ssize_t ubd_ch_user_copy(struct kiocb *iocb, struct iov_iter *iter)
{
	struct ubd_device *ub = iocb->ki_filp->private_data;
	bool to_server = iov_iter_rw(iter) == ITER_DEST;
	u64 pos = iocb->ki_pos;
	unsigned int q_id, tag, off, bytes;
	struct ubd_queue *ubq;
	struct request *req;
	struct ubd_io *io;
	ssize_t ret;

	if (!ubd_user_copy(ub) || !user_backed_iter(iter))
		return -EACCES;
	if (pos < UBDSRV_IO_BUF_OFFSET)
		return -EINVAL;
	pos -= UBDSRV_IO_BUF_OFFSET;
	if (pos >= UBDSRV_IO_BUF_TOTAL_SIZE)
		return -EINVAL;
	q_id = pos >> UBD_QID_OFF;
	tag = (pos >> UBD_TAG_OFF) & UBD_TAG_BITS_MASK;
	off = pos & UBD_IO_BUF_BITS_MASK;

	if (q_id >= ub->info.nr_hw_queues)
		return -EINVAL;
	ubq = ub->queues[array_index_nospec(q_id, ub->info.nr_hw_queues)];
	if (tag >= ubq->q_depth)
		return -EINVAL;
	tag = array_index_nospec(tag, ubq->q_depth);
	io = &ubq->ios[tag];

	if (!refcount_inc_not_zero(&io->ref))
		return -EINVAL;
	/* a reference: the tag's request was delivered and cannot end */
	req = ubd_tag_to_rq(ubq, tag);
	ret = -EINVAL;
	if (!test_bit(UBD_IO_OWNED, &io->flags) || !ubd_rq_has_data(req))
		goto out_put;
	ret = -EACCES;
	if (to_server != (req_op(req) == REQ_OP_WRITE))
		goto out_put;
	ret = -EINVAL;
	bytes = blk_rq_bytes(req);
	if (off >= bytes)
		goto out_put;

	ret = ubd_copy_rq_iter(req, off,
			       min_t(size_t, bytes - off, iov_iter_count(iter)),
			       iter);
	if (!ret && iov_iter_count(iter))
		ret = -EFAULT;
	if (ret > 0)
		iocb->ki_pos += ret;
out_put:
	ubd_put_io_ref(io, req);
	return ret;
}

static ssize_t ubd_ch_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	return ubd_ch_user_copy(iocb, to);
}

static ssize_t ubd_ch_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	return ubd_ch_user_copy(iocb, from);
}

/* park @cmd for the next request of this tag */
static void ubd_arm_io(struct ubd_queue *ubq, struct ubd_io *io,
		       struct io_uring_cmd *cmd, u64 addr)
{
	struct ubd_cmd_pdu *pdu = ubd_cmd_pdu(cmd);

	pdu->ubq = ubq;
	io->cmd = cmd;
	io->addr = addr;
	/* queue_rq reads io->cmd after it sees ACTIVE */
	smp_mb__before_atomic();
	set_bit(UBD_IO_ACTIVE, &io->flags);
}

static int ubd_fetch(struct ubd_queue *ubq, struct ubd_io *io, u16 tag,
		     struct io_uring_cmd *cmd, u64 addr)
{
	struct ubd_device *ub = ubq->ub;
	int ret = -EIOCBQUEUED;

	/* a buffer, except with user copy, where there must be none */
	if (ubd_user_copy(ub) ? addr : !addr)
		return -EINVAL;

	spin_lock(&ub->lock);
	/* nothing would ever complete a command parked now */
	if (test_bit(UB_STATE_DELETED, &ub->state)) {
		ret = -ENODEV;
		goto out;
	}
	if (READ_ONCE(ubq->dead) || ubq->cancelling ||
	    READ_ONCE(ub->info.state) == UBD_S_DEV_LIVE) {
		ret = -EBUSY;
		goto out;
	}
	if (ubq->daemon && ubq->daemon != current) {
		ret = -EINVAL;
		goto out;
	}
	if (test_bit(UBD_IO_FETCHED, &io->flags)) {
		ret = -EBUSY;
		goto out;
	}

	if (!ubq->daemon)
		ubq->daemon = get_task_struct(current);
	set_bit(UBD_IO_FETCHED, &io->flags);
	ubd_arm_io(ubq, io, cmd, addr);
	if (++ubq->nr_io_ready == ubq->q_depth &&
	    ++ub->nr_queues_ready == ub->info.nr_hw_queues)
		complete_all(&ub->ready);
out:
	spin_unlock(&ub->lock);
	return ret;
}

static int ubd_commit_and_fetch(struct ubd_queue *ubq, struct ubd_io *io,
				u16 tag, struct io_uring_cmd *cmd,
				const struct ubd_io_cmd *uc)
{
	bool user_copy = ubd_user_copy(ubq->ub);
	struct request *req;
	int res = uc->result;

	/*
	 * Only a request the server holds may be looked at: a tag never
	 * used has none (the fuzzer's COMMIT of such a tag hit a NULL req).
	 */
	if (!test_bit(UBD_IO_OWNED, &io->flags))
		return -EINVAL;
	req = ubd_tag_to_rq(ubq, tag);
	if (unlikely(!req))
		return -EINVAL;
	/*
	 * The buffer holds a READ's data and the next WRITE's, unless
	 * NEED_GET_DATA names one for that.  (The op is checked before the
	 * claim below, as in ublk: a request the server does not hold fails
	 * that claim whatever its op was.)
	 */
	if (user_copy ? uc->addr :
	    !uc->addr && (!(ubq->ub->info.flags & UBD_F_NEED_GET_DATA) ||
			  req_op(req) == REQ_OP_READ))
		return -EINVAL;
	/* claim the request: from now on the abort path leaves it to us */
	if (!test_and_clear_bit(UBD_IO_OWNED, &io->flags))
		return -EINVAL;
	clear_bit(UBD_IO_NEED_DATA, &io->flags);

	/* as in ublk: a READ's data is in the buffer this command names */
	if (req_op(req) == REQ_OP_READ && res > 0 && !user_copy) {
		res = min_t(unsigned int, res, blk_rq_bytes(req));
		if (ubd_copy_server_to_rq(req, cmd, uc->addr, res))
			res = -EFAULT;
	}
	/* re-arm first: once the request ends its tag may come back */
	ubd_arm_io(ubq, io, cmd, uc->addr);
	ubd_end_owned(ubq, io, req, res);
	return -EIOCBQUEUED;
}

/* UBD_F_NEED_GET_DATA: copy the WRITE data now that we know where to */
static int ubd_need_get_data(struct ubd_queue *ubq, struct ubd_io *io,
			     u16 tag, struct io_uring_cmd *cmd,
			     const struct ubd_io_cmd *uc)
{
	struct request *req;
	int ret = UBD_IO_RES_OK;

	if (!uc->addr)
		return -EINVAL;
	if (!test_bit(UBD_IO_NEED_DATA, &io->flags) ||
	    !test_and_clear_bit(UBD_IO_OWNED, &io->flags))
		return -EINVAL;

	req = ubd_tag_to_rq(ubq, tag);
	if (ubd_copy_rq_to_server(req, cmd, uc->addr))
		ret = -EFAULT;
	else
		clear_bit(UBD_IO_NEED_DATA, &io->flags);
	io->addr = uc->addr;
	ubq->descs[tag].addr = uc->addr;
	set_bit(UBD_IO_OWNED, &io->flags);
	return ret;
}

static int ubd_ch_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct ubd_device *ub = cmd->file->private_data;
	u32 op = cmd->cmd_op;
	struct ubd_io_cmd uc;
	struct ubd_queue *ubq;
	struct ubd_io *io;
	u16 tag;

	/* the SQE is shared with user space: read it once */
	memcpy(&uc, cmd->cmd, sizeof(uc));

	if (_IOC_TYPE(op) != 'u' && _IOC_TYPE(op) != 0)
		return -EOPNOTSUPP;
	if (_IOC_TYPE(op) == 'u' && _IOC_SIZE(op) != sizeof(uc))
		return -EOPNOTSUPP;

	if (uc.q_id >= ub->info.nr_hw_queues)
		return -EINVAL;
	ubq = ub->queues[array_index_nospec(uc.q_id, ub->info.nr_hw_queues)];
	if (uc.tag >= ubq->q_depth)
		return -EINVAL;
	tag = array_index_nospec(uc.tag, ubq->q_depth);
	io = &ubq->ios[tag];

	switch (_IOC_NR(op)) {
	case UBD_IO_FETCH_REQ:
		return ubd_fetch(ubq, io, tag, cmd, uc.addr);
	case UBD_IO_COMMIT_AND_FETCH_REQ:
		if (current != READ_ONCE(ubq->daemon))
			return -EINVAL;
		return ubd_commit_and_fetch(ubq, io, tag, cmd, &uc);
	case UBD_IO_NEED_GET_DATA:
		if (current != READ_ONCE(ubq->daemon))
			return -EINVAL;
		return ubd_need_get_data(ubq, io, tag, cmd, &uc);
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * Take the request of @tag from the server if it holds it, and fail it --
 * or requeue it, with @requeue; true if it did.
 */
static bool ubd_take_owned(struct ubd_queue *ubq, unsigned int tag,
			   bool requeue)
{
	struct ubd_io *io = &ubq->ios[tag];

	if (!test_and_clear_bit(UBD_IO_OWNED, &io->flags))
		return false;
	clear_bit(UBD_IO_NEED_DATA, &io->flags);
	/* ends now, or when a user copy still running lets go */
	ubd_end_owned(ubq, io, ubd_tag_to_rq(ubq, tag),
		      requeue ? UBD_RES_REQUEUE : -EIO);
	return true;
}

/* fail the request of @tag if the server holds it; true if it did */
static bool ubd_fail_owned(struct ubd_queue *ubq, unsigned int tag)
{
	return ubd_take_owned(ubq, tag, false);
}

/* fail the requests the server holds; its parked commands stay */
void ubd_fail_owned_ios(struct ubd_device *ub, struct ubd_queue *ubq)
{
	unsigned int tag;

	for (tag = 0; tag < ubq->q_depth; tag++)
		ubd_fail_owned(ubq, tag);
}

/*
 * The server of @ubq is gone: fail (or requeue, see ubd_recovery.c) what
 * it held, and complete its parked commands so that its io_uring can
 * finish exiting.  Requests on their way (in task work) are dealt with
 * there; new ones by queue_rq.  Idempotent.
 */
void ubd_abort_queue(struct ubd_device *ub, struct ubd_queue *ubq)
{
	/* with REISSUE, ios the dead server held go to the next one */
	bool requeue = (ub->info.flags & UBD_F_USER_RECOVERY_REISSUE) &&
		       ubd_hold_io(ub);
	unsigned int tag;

	WRITE_ONCE(ubq->dead, true);
	/* make queue_rq see dead before we take the commands */
	smp_mb();
	for (tag = 0; tag < ubq->q_depth; tag++)
		ubd_take_owned(ubq, tag, requeue);
	for (tag = 0; tag < ubq->q_depth; tag++) {
		struct ubd_io *io = &ubq->ios[tag];

		if (test_and_clear_bit(UBD_IO_ACTIVE, &io->flags))
			io_uring_cmd_done(io->cmd, UBD_IO_RES_ABORT, 0, 0);
	}
}

/*
 * STOP_DEV, once the disk is gone: abort every parked command and forget
 * the server, so that a new one can FETCH.  Called with ub->mutex held.
 */
void ubd_cancel_queue(struct ubd_device *ub, struct ubd_queue *ubq)
{
	struct task_struct *daemon;
	unsigned int tag;

	lockdep_assert_held(&ub->mutex);
	/* no FETCH may park behind the loop: it would be lost */
	spin_lock(&ub->lock);
	ubq->cancelling = true;
	spin_unlock(&ub->lock);

	for (tag = 0; tag < ubq->q_depth; tag++) {
		struct ubd_io *io = &ubq->ios[tag];

		if (test_and_clear_bit(UBD_IO_ACTIVE, &io->flags))
			io_uring_cmd_done(io->cmd, UBD_IO_RES_ABORT, 0, 0);
	}

	spin_lock(&ub->lock);
	/* nothing is in flight any more: no OWNED, no NEED_DATA */
	for (tag = 0; tag < ubq->q_depth; tag++)
		ubq->ios[tag].flags = 0;
	ubq->cancelling = false;
	daemon = ubq->daemon;
	ubq->daemon = NULL;
	ubq->nr_io_ready = 0;
	WRITE_ONCE(ubq->dead, false);
	spin_unlock(&ub->lock);
	if (daemon)
		put_task_struct(daemon);
}

static int ubd_ch_open(struct inode *inode, struct file *filp)
{
	struct ubd_device *ub = container_of(inode->i_cdev,
					     struct ubd_device, cdev);

	/* one server at a time */
	if (test_and_set_bit(UB_STATE_OPEN, &ub->state))
		return -EBUSY;
	filp->private_data = ub;
	/*
	 * User copies never wait: without this io_uring would hand every
	 * READ/WRITE SQE on this file to an io-wq worker thread.
	 */
	filp->f_mode |= FMODE_NOWAIT;
	return 0;
}

/*
 * A dying server's file table closes /dev/ubdcN early in its exit, while
 * its ring (and our parked commands in it) still pin the file, so release
 * will not come yet: look for the dead server now, not at the next tick.
 */
static int ubd_ch_flush(struct file *filp, fl_owner_t id)
{
	struct ubd_device *ub = filp->private_data;

	if (current->flags & PF_EXITING)
		ubd_kick_monitor(ub);
	return 0;
}

static int ubd_ch_release(struct inode *inode, struct file *filp)
{
	struct ubd_device *ub = filp->private_data;

	clear_bit(UB_STATE_OPEN, &ub->state);
	return 0;
}

/* map one queue's descriptor array, read-only, at its fixed offset */
static int ubd_ch_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct ubd_device *ub = filp->private_data;
	size_t sz = vma->vm_end - vma->vm_start;
	size_t stride = ubd_queue_descs_stride();
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	unsigned long pfn;
	u64 q_id;

	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	if (off < UBDSRV_CMD_BUF_OFFSET)
		return -EINVAL;
	off -= UBDSRV_CMD_BUF_OFFSET;
	q_id = div_u64(off, stride);
	if (off != q_id * stride || q_id >= ub->info.nr_hw_queues)
		return -EINVAL;
	if (sz != ubd_queue_descs_size(ub))
		return -EINVAL;
	q_id = array_index_nospec(q_id, ub->info.nr_hw_queues);

	vma->vm_flags &= ~VM_MAYWRITE;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	pfn = virt_to_phys(ub->queues[q_id]->descs) >> PAGE_SHIFT;
	return remap_pfn_range(vma, vma->vm_start, pfn, sz, vma->vm_page_prot);
}

const struct file_operations ubd_ch_fops = {
	.owner		= THIS_MODULE,
	.open		= ubd_ch_open,
	.flush		= ubd_ch_flush,
	.release	= ubd_ch_release,
	.llseek		= no_llseek,
	.read_iter	= ubd_ch_read_iter,
	.write_iter	= ubd_ch_write_iter,
	.uring_cmd	= ubd_ch_uring_cmd,
	.mmap		= ubd_ch_mmap,
};

/*
 * Only its owner (or an admin) may open an unprivileged disk, whatever the
 * node's mode says: its owner could otherwise lend it to others as a trap,
 * a disk whose every byte it decides.
 */
static int ubd_bdev_open(struct block_device *bdev, fmode_t mode)
{
	struct ubd_device *ub = bdev->bd_disk->private_data;

	if (!ubd_dev_is_unprivileged(ub) || capable(CAP_SYS_ADMIN))
		return 0;
	if (from_kuid(&init_user_ns, current_fsuid()) != ub->info.owner_uid ||
	    from_kgid(&init_user_ns, current_fsgid()) != ub->info.owner_gid)
		return -EPERM;
	return 0;
}

/* the disk is released: let go of the device it pinned at START */
static void ubd_free_disk(struct gendisk *disk)
{
	struct ubd_device *ub = disk->private_data;

	ubd_put_device(ub);
}

const struct block_device_operations ubd_bdev_fops = {
	.owner		= THIS_MODULE,
	.open		= ubd_bdev_open,
	.free_disk	= ubd_free_disk,
};
