// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * loop target I/O: ubd io descriptors to io_uring SQEs on the backing file,
 * and back from CQEs to io results.
 *
 *   READ/WRITE    IORING_OP_READ/WRITE at offset + sector * 512; FUA adds
 *                 RWF_DSYNC; a short transfer goes on with the rest
 *   FLUSH         IORING_OP_FSYNC, data only
 *   DISCARD       punch a hole (a hint: unsupported means done)
 *   WRITE_ZEROES  punch a hole, or zero the range when NOUNMAP asks to keep
 *                 the blocks; whichever the backing store lacks, the other
 *                 one is tried
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/stat.h>

#include "loop_io.h"

#define SECTOR_SHIFT	9
#define SECTOR_MASK	((1U << SECTOR_SHIFT) - 1)

int loop_io_init(struct loop_io *io, const struct loop_file *f,
		 const struct ubd_io_desc *iod, void *buf)
{
	io->op = ubdsrv_get_op(iod);
	io->fua = iod->op_flags & UBD_IO_F_FUA;
	io->nounmap = iod->op_flags & UBD_IO_F_NOUNMAP;
	io->buf = buf;
	io->buf_index = -1;
	io->pos = f->offset + (iod->start_sector << SECTOR_SHIFT);
	io->len = (uint64_t)iod->nr_sectors << SECTOR_SHIFT;
	io->done = 0;

	switch (io->op) {
	case UBD_IO_OP_READ:
	case UBD_IO_OP_WRITE:
	case UBD_IO_OP_FLUSH:
	case UBD_IO_OP_DISCARD:
		io->step = LOOP_ZERO_PUNCH;
		return 0;
	case UBD_IO_OP_WRITE_ZEROES:
		/* NOUNMAP: the blocks must stay allocated, so zero in place */
		io->step = io->nounmap ? LOOP_ZERO_RANGE : LOOP_ZERO_PUNCH;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int zero_step_mode(enum loop_zero_step step)
{
	switch (step) {
	case LOOP_ZERO_RANGE:
		return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	case LOOP_ZERO_ALLOC:
		return FALLOC_FL_KEEP_SIZE;
	case LOOP_ZERO_PUNCH:
	default:
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	}
}

void loop_io_prep(const struct loop_file *f, const struct loop_io *io,
		  struct io_uring_sqe *sqe)
{
	uint64_t left = io->len - io->done;

	switch (io->op) {
	case UBD_IO_OP_READ:
		if (io->buf_index >= 0)
			io_uring_prep_read_fixed(sqe, f->fd, io->buf + io->done,
						 left, io->pos + io->done,
						 io->buf_index);
		else
			io_uring_prep_read(sqe, f->fd, io->buf + io->done, left,
					   io->pos + io->done);
		break;
	case UBD_IO_OP_WRITE:
		if (io->buf_index >= 0)
			io_uring_prep_write_fixed(sqe, f->fd,
						  io->buf + io->done, left,
						  io->pos + io->done,
						  io->buf_index);
		else
			io_uring_prep_write(sqe, f->fd, io->buf + io->done,
					    left, io->pos + io->done);
		if (io->fua)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case UBD_IO_OP_FLUSH:
		io_uring_prep_fsync(sqe, f->fd, IORING_FSYNC_DATASYNC);
		break;
	default:
		io_uring_prep_fallocate(sqe, f->fd, zero_step_mode(io->step),
					io->pos, io->len);
		break;
	}
	if (f->registered) {
		sqe->fd = f->slot;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}

/* READ/WRITE moved @n bytes (or failed): finished? */
static bool rw_complete(struct loop_io *io, int n, int *res)
{
	if (n < 0) {
		*res = n;
		return true;
	}
	if (n == 0) {
		/*
		 * End of file (the backing file shrank under us) or a device
		 * that takes nothing: report the whole sectors that were
		 * done, and the driver fails the rest.
		 */
		io->done &= ~(uint64_t)SECTOR_MASK;
		*res = io->done ? (int)io->done : -EIO;
		return true;
	}
	io->done += n;
	if (io->done < io->len)
		return false;
	*res = io->len;
	return true;
}

/* a DISCARD or WRITE_ZEROES step ended with @ret: finished? */
static bool zero_complete(struct loop_io *io, int ret, int *res)
{
	if (ret == -EOPNOTSUPP) {
		if (io->op == UBD_IO_OP_DISCARD) {
			/* discard promises nothing about the data: a no-op */
			*res = 0;
			return true;
		}
		switch (io->step) {
		case LOOP_ZERO_PUNCH:
			if (io->nounmap)
				break;
			/* no holes here (a block device without unmap) */
			io->step = LOOP_ZERO_RANGE;
			return false;
		case LOOP_ZERO_RANGE:
			if (io->nounmap) {
				/* tmpfs zeroes only by punching */
				io->step = LOOP_ZERO_PUNCH;
				return false;
			}
			break;
		case LOOP_ZERO_ALLOC:
			/* zeroes read back already; allocation is a bonus */
			*res = 0;
			return true;
		}
		*res = ret;
		return true;
	}
	if (ret < 0) {
		*res = ret;
		return true;
	}
	if (io->op == UBD_IO_OP_WRITE_ZEROES && io->nounmap &&
	    io->step == LOOP_ZERO_PUNCH) {
		/* the fallback punched: give the blocks back as asked */
		io->step = LOOP_ZERO_ALLOC;
		return false;
	}
	*res = 0;
	return true;
}

bool loop_io_complete(struct loop_io *io, int cqe_res, int *res)
{
	/* nothing was done: the same step again */
	if (cqe_res == -EAGAIN || cqe_res == -EINTR)
		return false;

	switch (io->op) {
	case UBD_IO_OP_READ:
	case UBD_IO_OP_WRITE:
		return rw_complete(io, cqe_res, res);
	case UBD_IO_OP_FLUSH:
		*res = cqe_res < 0 ? cqe_res : 0;
		return true;
	default:
		return zero_complete(io, cqe_res, res);
	}
}

unsigned int loop_file_dio_align(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) ||
	    !(stx.stx_mask & STATX_DIOALIGN))
		return 512;
	return stx.stx_dio_offset_align;
}
