/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The I/O of the loop target: one ubd io descriptor becomes one io_uring
 * SQE on the backing file at a time, and each CQE either finishes the io
 * or asks for the next step (the rest of a short transfer, a retry, a
 * fallback fallocate mode).  Nothing here knows about ubd queues, so a test
 * can drive it on a plain ring.
 */
#ifndef UBD_LOOP_IO_H
#define UBD_LOOP_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <liburing.h>
#include <linux/ubd_cmd.h>

/* the backing store, shared read-only by every queue */
struct loop_file {
	int fd;
	uint64_t offset;	/* byte of the file where sector 0 lives */
	/* fd is in the ring's file table too, at slot: SQEs name that */
	bool registered;
	unsigned int slot;
};

/* which fallocate a DISCARD or WRITE_ZEROES is at */
enum loop_zero_step {
	LOOP_ZERO_PUNCH,	/* PUNCH_HOLE | KEEP_SIZE */
	LOOP_ZERO_RANGE,	/* ZERO_RANGE | KEEP_SIZE */
	LOOP_ZERO_ALLOC,	/* KEEP_SIZE: allocate again after a punch */
};

/* one io in flight: what the driver asked for and how far it got */
struct loop_io {
	uint8_t op;		/* UBD_IO_OP_* */
	uint8_t step;		/* enum loop_zero_step */
	bool fua;
	bool nounmap;
	char *buf;
	/* buf is in the ring's registered buffer of that index, or -1 */
	int buf_index;
	uint64_t pos;		/* byte in the backing file */
	uint64_t len;		/* bytes */
	uint64_t done;		/* bytes moved so far: READ and WRITE */
};

/*
 * Take @iod (whose data is at @buf) into @io.  0, or -EOPNOTSUPP for an op
 * the loop target does not serve.  The caller may then set buf_index.
 */
int loop_io_init(struct loop_io *io, const struct loop_file *f,
		 const struct ubd_io_desc *iod, void *buf);

/* fill @sqe with the next step of @io; the caller sets user_data */
void loop_io_prep(const struct loop_file *f, const struct loop_io *io,
		  struct io_uring_sqe *sqe);

/*
 * The CQE result @cqe_res of the step last prepared.  Returns true when @io
 * is finished, with *@res its result for the driver (bytes for READ and
 * WRITE, else 0, or -errno); false when another step must be prepared.
 */
bool loop_io_complete(struct loop_io *io, int cqe_res, int *res);

/*
 * The direct I/O offset alignment of the open regular file @fd, in bytes:
 * 0 when its file system has no direct I/O (tmpfs before Linux 6.6), 512
 * when the kernel does not say (before 6.1: O_DIRECT will tell).
 */
unsigned int loop_file_dio_align(int fd);

#endif
