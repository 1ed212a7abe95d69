// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ubd-uctest: USER_COPY at the driver's edges, for the guest suites (TAP).
 *
 * It is the server of a USER_COPY device of its own, without libubd: a
 * client process writes and reads the block device, and while the server
 * holds those requests every bad pread/pwrite on /dev/ubdcN must get its
 * errno, the good ones must move the right bytes, and the client must see
 * its data.  Then the server sits on a WRITE while a thread copies from it
 * and STOP's grace runs out: the monitor fails the request under the copies,
 * which must end cleanly.
 *
 *   ubd-uctest          exit 0 when every check passed, 77 without the
 *                       feature
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <liburing.h>
#include <linux/ubd_cmd.h>

#include "unit/tap.h"

#define NR_QUEUES	2
#define DEPTH		4
#define MAX_IO		(64 << 10)
#define DEV_BYTES	(64ULL << 20)
#define DESC_STRIDE	(((UBD_MAX_QUEUE_DEPTH * sizeof(struct ubd_io_desc)) + 4095) & ~4095UL)

/* where the client writes and reads: offsets nothing probes */
#define W_OFF		(40ULL << 20)
#define R_OFF		((48ULL << 20) + 4096)
#define IO_LEN		8192
#define STUCK_OFF	(52ULL << 20)

static struct io_uring ctrl_ring;
static int ctrl_fd;
static unsigned int dev_id;
static int cfd = -1;
static struct io_uring ring;
static const struct ubd_io_desc *descs[NR_QUEUES];
static char *buf;	/* MAX_IO bytes, the server's */
/* an address no buffer is at (volatile: the compiler would object) */
static void *volatile bad_addr = (void *)16;

/* the bytes at device offset @o: what the client writes, the server reads */
static unsigned char pattern(uint64_t o)
{
	return ((o >> 9) * 7 + (o & 511)) ^ 0xa5;
}

static void fill(char *p, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(off + i);
}

static bool matches(const char *p, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] != pattern(off + i))
			return false;
	return true;
}

static int ctrl_cmd(struct io_uring *r, int fd, unsigned int op,
		    unsigned int id, void *addr, unsigned int len, __u64 data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(r);
	struct ubd_ctrl_cmd *c;
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	c = (struct ubd_ctrl_cmd *)sqe->cmd;
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = op;
	c->dev_id = id;
	c->queue_id = (__u16)-1;
	c->addr = (uintptr_t)addr;
	c->len = len;
	c->data[0] = data;
	io_uring_submit(r);
	do
		ret = io_uring_wait_cqe(r, &cqe);
	while (ret == -EINTR);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(r, cqe);
	return ret;
}

static int add_dev(struct ubd_ctrl_dev_info *info, __u64 flags, int queues)
{
	memset(info, 0, sizeof(*info));
	info->dev_id = -1;
	info->nr_hw_queues = queues;
	info->queue_depth = DEPTH;
	info->max_io_buf_bytes = MAX_IO;
	info->flags = flags;
	return ctrl_cmd(&ctrl_ring, ctrl_fd, UBD_U_CMD_ADD_DEV, -1, info,
			sizeof(*info), 0);
}

static int del_dev(unsigned int id)
{
	return ctrl_cmd(&ctrl_ring, ctrl_fd, UBD_U_CMD_DEL_DEV, id, NULL, 0, 0);
}

static void expect(long got, long want, const char *what)
{
	t_ok(got == want, "%s: %ld (got %ld%s%s)", what, want, got,
	     got < 0 ? ", " : "", got < 0 ? strerror(-got) : "");
}

/* pread/pwrite as -errno */
static long uc_read(void *p, size_t len, uint64_t pos)
{
	ssize_t n = pread(cfd, p, len, pos);

	return n < 0 ? -errno : n;
}

static long uc_write(const void *p, size_t len, uint64_t pos)
{
	ssize_t n = pwrite(cfd, p, len, pos);

	return n < 0 ? -errno : n;
}

static uint64_t pos_of(unsigned int q, unsigned int tag, unsigned int off)
{
	return ubdsrv_user_copy_pos(q, tag, off);
}

/* queue an io command; FETCH and COMMIT park, so no CQE until an io */
static int io_cmd(unsigned int op, unsigned int q, unsigned int tag,
		  __u64 addr, int result)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	struct ubd_io_cmd *cmd = (struct ubd_io_cmd *)sqe->cmd;

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, 0, NULL, 0, 0);
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->cmd_op = op;
	sqe->user_data = q << 16 | tag;
	cmd->q_id = q;
	cmd->tag = tag;
	cmd->result = result;
	cmd->addr = addr;
	return io_uring_submit(&ring);
}

/* ios delivered while io_cmd_now() looked for its answer */
static int pending[NR_QUEUES * DEPTH];
static int nr_pending;

/* the answer of a command that must not park: its CQE, right away */
static int io_cmd_now(unsigned int op, unsigned int q, unsigned int tag,
		      __u64 addr, int result)
{
	struct io_uring_cqe *cqe;
	int ret = 1;

	io_cmd(op, q, tag, addr, result);
	/* a refusal is there at once; new ios before it are kept */
	while (io_uring_peek_cqe(&ring, &cqe) == 0) {
		int res = cqe->res;
		int ud = cqe->user_data;

		io_uring_cqe_seen(&ring, cqe);
		if (res == UBD_IO_RES_OK && nr_pending < NR_QUEUES * DEPTH) {
			pending[nr_pending++] = ud;
			continue;
		}
		if (ud == (int)(q << 16 | tag) && res < 0) {
			ret = res;
			break;
		}
	}
	return ret;
}

/* the next io delivered (-ETIME after @ms), as q << 16 | tag */
static int next_io(int ms)
{
	struct __kernel_timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	struct io_uring_cqe *cqe;
	int ret;

	if (nr_pending) {
		ret = pending[0];
		memmove(pending, pending + 1, --nr_pending * sizeof(int));
		return ret;
	}
	for (;;) {
		ret = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
		if (ret == -EINTR)
			continue;
		if (ret)
			return ret;
		ret = cqe->res;
		if (ret == UBD_IO_RES_OK) {
			ret = cqe->user_data;
			io_uring_cqe_seen(&ring, cqe);
			return ret;
		}
		/* an ABORT at STOP, or a refused command: not an io */
		io_uring_cqe_seen(&ring, cqe);
		if (ret != UBD_IO_RES_ABORT)
			fprintf(stderr, "ubd-uctest: io command %llx: %s\n",
				(unsigned long long)cqe->user_data,
				strerror(-ret));
	}
}

static unsigned int io_op(unsigned int q, unsigned int tag)
{
	return descs[q][tag].op_flags & 0xff;
}

static unsigned int io_bytes(unsigned int q, unsigned int tag)
{
	return descs[q][tag].nr_sectors << 9;
}

static uint64_t io_off(unsigned int q, unsigned int tag)
{
	return descs[q][tag].start_sector << 9;
}

/* serve an io the way a good server does: data = the pattern */
static void serve_io(unsigned int q, unsigned int tag)
{
	unsigned int bytes = io_bytes(q, tag);
	uint64_t pos = pos_of(q, tag, 0);
	int res = 0;

	switch (io_op(q, tag)) {
	case UBD_IO_OP_READ:
		fill(buf, io_off(q, tag), bytes);
		res = uc_write(buf, bytes, pos);
		break;
	case UBD_IO_OP_WRITE:
		res = uc_read(buf, bytes, pos);
		break;
	}
	io_cmd(UBD_U_IO_COMMIT_AND_FETCH_REQ, q, tag, 0, res);
}

/* every bad access to a WRITE the server holds, then the good ones */
static void abuse_write(unsigned int q, unsigned int tag)
{
	unsigned int bytes = io_bytes(q, tag);
	struct io_uring fring;
	struct io_uring_cqe *cqe;
	struct iovec iov = { buf, 4096 };

	t_ok(bytes == IO_LEN, "the client's WRITE arrived whole (%u bytes)",
	     bytes);
	expect(uc_read(buf, 4096, 0), -EINVAL, "pread at offset 0");
	expect(uc_read(buf, 4096, UBDSRV_IO_BUF_OFFSET - 4096), -EINVAL,
	       "pread below UBDSRV_IO_BUF_OFFSET");
	expect(uc_read(buf, 4096, pos_of(NR_QUEUES, tag, 0)), -EINVAL,
	       "pread of queue nr_hw_queues");
	expect(uc_read(buf, 4096, pos_of(4095, tag, 0)), -EINVAL,
	       "pread of queue 4095");
	expect(uc_read(buf, 4096, pos_of(q, DEPTH, 0)), -EINVAL,
	       "pread of tag queue_depth");
	expect(uc_read(buf, 4096, pos_of(q, 0xffff, 0)), -EINVAL,
	       "pread of tag 0xffff");
	expect(uc_read(buf, 4096, pos_of(q, tag, 0) | 1ULL << 60), -EINVAL,
	       "pread with bits above the user-copy range");
	expect(uc_read(buf, 4096, pos_of(q, tag, 0) |
		       UBDSRV_IO_INTEGRITY_FLAG), -EINVAL,
	       "pread of the integrity buffer (no UBD_F_INTEGRITY)");
	expect(uc_write(buf, 4096, pos_of(q, tag, 0)), -EACCES,
	       "pwrite into a WRITE (wrong direction)");
	expect(uc_read(buf, 4096, pos_of(q, tag, bytes)), -EINVAL,
	       "pread at the end of the WRITE's data");
	expect(uc_read(buf, 4096, pos_of(q, tag, bytes + 512)), -EINVAL,
	       "pread past the end of the WRITE's data");
	expect(uc_read(bad_addr, 4096, pos_of(q, tag, 0)), -EFAULT,
	       "pread into a bad address");
	expect(uc_read(buf, 4096, pos_of(q, tag, bytes - 512)), 512,
	       "pread across the end is clipped to what is left");
	t_ok(matches(buf, W_OFF + bytes - 512, 512),
	     "... and brings the last sector");

	/* a registered buffer is not user memory the driver may copy to */
	if (io_uring_queue_init(4, &fring, 0) == 0) {
		struct io_uring_sqe *sqe;

		io_uring_register_files(&fring, &cfd, 1);
		io_uring_register_buffers(&fring, &iov, 1);
		sqe = io_uring_get_sqe(&fring);
		io_uring_prep_read_fixed(sqe, 0, buf, 4096, pos_of(q, tag, 0),
					 0);
		sqe->flags |= IOSQE_FIXED_FILE;
		io_uring_submit_and_wait(&fring, 1);
		if (io_uring_wait_cqe(&fring, &cqe) == 0) {
			expect(cqe->res, -EACCES,
			       "READ_FIXED from a registered buffer");
			io_uring_cqe_seen(&fring, cqe);
		}
		io_uring_queue_exit(&fring);
	}

	expect(io_cmd_now(UBD_U_IO_COMMIT_AND_FETCH_REQ, q, tag,
			  (uintptr_t)buf, IO_LEN), -EINVAL,
	       "COMMIT with a buffer address");
	expect(io_cmd_now(UBD_U_IO_NEED_GET_DATA, q, tag, (uintptr_t)buf, 0),
	       -EINVAL, "NEED_GET_DATA under USER_COPY");

	memset(buf, 0, IO_LEN);
	expect(uc_read(buf + 4096, 4096, pos_of(q, tag, 4096)), 4096,
	       "pread of the second half");
	t_ok(matches(buf + 4096, W_OFF + 4096, 4096), "... is the client's");
	expect(uc_read(buf, 65536, pos_of(q, tag, 0)), IO_LEN,
	       "a longer pread is clipped to the WRITE");
	t_ok(matches(buf, W_OFF, IO_LEN), "the WRITE's data is the client's");
	io_cmd(UBD_U_IO_COMMIT_AND_FETCH_REQ, q, tag, 0, IO_LEN);
}

static void abuse_read(unsigned int q, unsigned int tag)
{
	unsigned int bytes = io_bytes(q, tag);

	t_ok(bytes == IO_LEN, "the client's READ arrived (%u bytes)", bytes);
	expect(uc_read(buf, 4096, pos_of(q, tag, 0)), -EACCES,
	       "pread from a READ (wrong direction)");
	expect(uc_write(buf, 4096, pos_of(q, tag, bytes)), -EINVAL,
	       "pwrite at the end of the READ's data");
	fill(buf, R_OFF, IO_LEN);
	expect(uc_write(buf + 4096, 4096, pos_of(q, tag, 4096)), 4096,
	       "pwrite of the second half");
	expect(uc_write(buf, 4096, pos_of(q, tag, 0)), 4096,
	       "pwrite of the first half");
	io_cmd(UBD_U_IO_COMMIT_AND_FETCH_REQ, q, tag, 0, IO_LEN);
}

/* the control command @op in a child process, which exits with its result */
static pid_t ctrl_in_child(unsigned int op)
{
	pid_t server = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		struct io_uring r;
		int fd = open("/dev/ubd-control", O_RDWR);
		int ret;

		if (fd < 0 || io_uring_queue_init(4, &r, IORING_SETUP_SQE128))
			_exit(100);
		ret = ctrl_cmd(&r, fd, op, dev_id, NULL, 0, server);
		if (ret)
			fprintf(stderr, "ubd-uctest: control %x: %s\n", op,
				strerror(-ret));
		_exit(ret ? 1 : 0);
	}
	return pid;
}

/* the client: write the pattern, read it back elsewhere */
static pid_t client(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		char path[64];
		void *p;
		int fd;

		snprintf(path, sizeof(path), "/dev/ubdb%u", dev_id);
		fd = open(path, O_RDWR | O_DIRECT);
		if (fd < 0 || posix_memalign(&p, 4096, IO_LEN))
			_exit(100);
		fill(p, W_OFF, IO_LEN);
		if (pwrite(fd, p, IO_LEN, W_OFF) != IO_LEN)
			_exit(101);
		memset(p, 0, IO_LEN);
		if (pread(fd, p, IO_LEN, R_OFF) != IO_LEN)
			_exit(102);
		_exit(matches(p, R_OFF, IO_LEN) ? 0 : 103);
	}
	return pid;
}

/* serve (and abuse the client's ios) until @pid exits; its status */
static int serve_until(pid_t pid, bool abuse)
{
	time_t end = time(NULL) + 60;
	int st;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		int io = next_io(100);
		unsigned int q, tag;

		if (time(NULL) > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		if (io < 0)
			continue;
		q = io >> 16;
		tag = io & 0xffff;
		if (abuse && io_op(q, tag) == UBD_IO_OP_WRITE &&
		    io_off(q, tag) == W_OFF)
			abuse_write(q, tag);
		else if (abuse && io_op(q, tag) == UBD_IO_OP_READ &&
			 io_off(q, tag) == R_OFF)
			abuse_read(q, tag);
		else
			serve_io(q, tag);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct copier {
	unsigned int q, tag;
	volatile int stop;
	long ok, einval, other;
};

/* pread the held WRITE over and over while the monitor fails it */
static void *copier_main(void *arg)
{
	struct copier *c = arg;
	char *p = malloc(4096);

	while (p && !c->stop) {
		long n = uc_read(p, 4096, pos_of(c->q, c->tag, 0));

		if (n == 4096 && matches(p, STUCK_OFF, 4096))
			c->ok++;
		else if (n == -EINVAL)
			c->einval++;
		else
			c->other++;
	}
	free(p);
	return NULL;
}

/*
 * The server holds a WRITE and never answers it; a thread copies from it
 * all along.  STOP's grace runs out and the monitor fails the request
 * under the copies: the client gets EIO, the copies EINVAL from then on.
 */
static void stuck_write(void)
{
	struct copier c = { 0 };
	pthread_t th;
	pid_t writer, stopper;
	int io, st;

	writer = fork();
	if (writer == 0) {
		char path[64];
		void *p;
		int fd;

		snprintf(path, sizeof(path), "/dev/ubdb%u", dev_id);
		fd = open(path, O_RDWR | O_DIRECT);
		if (fd < 0 || posix_memalign(&p, 4096, 4096))
			_exit(100);
		fill(p, STUCK_OFF, 4096);
		_exit(pwrite(fd, p, 4096, STUCK_OFF) < 0 && errno == EIO ?
		      0 : 1);
	}
	/* serve the rest until the stuck WRITE comes */
	for (;;) {
		io = next_io(20000);
		if (io < 0)
			break;
		if (io_op(io >> 16, io & 0xffff) == UBD_IO_OP_WRITE &&
		    io_off(io >> 16, io & 0xffff) == STUCK_OFF)
			break;
		serve_io(io >> 16, io & 0xffff);
	}
	t_ok(io >= 0, "the WRITE to hold arrived");
	if (io < 0) {
		kill(writer, SIGKILL);
		waitpid(writer, NULL, 0);
		return;
	}
	c.q = io >> 16;
	c.tag = io & 0xffff;
	pthread_create(&th, NULL, copier_main, &c);
	stopper = ctrl_in_child(UBD_U_CMD_STOP_DEV);
	/* serve whatever else comes (udev, flushes), never the held one */
	st = serve_until(stopper, false);
	expect(st, 0, "STOP with a held WRITE ended after its grace");
	c.stop = 1;
	pthread_join(th, NULL);
	t_ok(c.ok > 0 && c.einval > 0 && c.other == 0,
	     "copies from the held WRITE: %ld good, then %ld EINVAL once it "
	     "failed, %ld other", c.ok, c.einval, c.other);
	waitpid(writer, &st, 0);
	t_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	     "the held WRITE failed with EIO (writer status %d)",
	     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	expect(uc_read(buf, 4096, pos_of(c.q, c.tag, 0)), -EINVAL,
	       "pread of the failed WRITE after STOP");
}

int main(void)
{
	struct ubd_ctrl_dev_info info;
	struct ubd_params p;
	char path[64];
	unsigned int q, tag;
	int ret, fd;

	ctrl_fd = open("/dev/ubd-control", O_RDWR);
	if (ctrl_fd < 0 ||
	    io_uring_queue_init(4, &ctrl_ring, IORING_SETUP_SQE128)) {
		perror("/dev/ubd-control");
		return 2;
	}
	buf = mmap(NULL, MAX_IO, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	/* a device without the feature refuses copies */
	expect(add_dev(&info, 0, 1), 0, "ADD without USER_COPY");
	t_ok(!(info.flags & UBD_F_USER_COPY), "USER_COPY not granted unasked");
	snprintf(path, sizeof(path), "/dev/ubdc%u", info.dev_id);
	fd = open(path, O_RDWR);
	t_ok(fd >= 0, "open %s", path);
	cfd = fd;
	expect(uc_read(buf, 4096, pos_of(0, 0, 0)), -EACCES,
	       "pread on a device without USER_COPY");
	expect(uc_write(buf, 4096, pos_of(0, 0, 0)), -EACCES,
	       "pwrite on a device without USER_COPY");
	close(fd);
	expect(del_dev(info.dev_id), 0, "DEL");

	expect(add_dev(&info, UBD_F_USER_COPY | UBD_F_NEED_GET_DATA,
		       NR_QUEUES), 0, "ADD with USER_COPY and NEED_GET_DATA");
	if (!(info.flags & UBD_F_USER_COPY)) {
		del_dev(info.dev_id);
		printf("# USER_COPY not supported, skipping\n");
		t_done();
		return 77;
	}
	t_ok(info.flags & UBD_F_USER_COPY, "USER_COPY granted");
	t_ok(!(info.flags & UBD_F_NEED_GET_DATA),
	     "NEED_GET_DATA cleared under USER_COPY");
	dev_id = info.dev_id;

	memset(&p, 0, sizeof(p));
	p.len = sizeof(p);
	p.types = UBD_PARAM_TYPE_BASIC;
	p.basic.logical_bs_shift = 9;
	p.basic.physical_bs_shift = 12;
	p.basic.max_sectors = MAX_IO >> 9;
	p.basic.dev_sectors = DEV_BYTES >> 9;
	expect(ctrl_cmd(&ctrl_ring, ctrl_fd, UBD_U_CMD_SET_PARAMS, dev_id, &p,
			sizeof(p), 0), 0, "SET_PARAMS");

	snprintf(path, sizeof(path), "/dev/ubdc%u", dev_id);
	cfd = open(path, O_RDWR);
	t_ok(cfd >= 0, "open %s", path);
	for (q = 0; q < NR_QUEUES; q++) {
		void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, cfd,
			       q * DESC_STRIDE);

		if (m == MAP_FAILED) {
			t_ok(0, "mmap descriptors of queue %u", q);
			return t_done();
		}
		descs[q] = m;
	}
	io_uring_queue_init(64, &ring, 0);
	io_uring_register_files(&ring, &cfd, 1);

	expect(io_cmd_now(UBD_U_IO_FETCH_REQ, 0, 0, (uintptr_t)buf, 0),
	       -EINVAL, "FETCH with a buffer address");
	for (q = 0; q < NR_QUEUES; q++)
		for (tag = 0; tag < DEPTH; tag++)
			io_cmd(UBD_U_IO_FETCH_REQ, q, tag, 0, -1);
	t_ok(io_uring_cq_ready(&ring) == 0, "FETCH without address parks");
	expect(uc_read(buf, 4096, pos_of(0, 1, 0)), -EINVAL,
	       "pread of a tag the server does not hold");
	expect(uc_write(buf, 4096, pos_of(1, 0, 0)), -EINVAL,
	       "pwrite of a tag the server does not hold");

	/* START reads the partition table through us */
	ret = serve_until(ctrl_in_child(UBD_U_CMD_START_DEV), false);
	expect(ret, 0, "START, served by pread/pwrite");
	if (ret)
		goto out;

	ret = serve_until(client(), true);
	expect(ret, 0, "the client's data went through (status)");

	stuck_write();
out:
	io_uring_queue_exit(&ring);
	for (q = 0; q < NR_QUEUES; q++)
		munmap((void *)descs[q], 4096);
	close(cfd);
	ret = del_dev(dev_id);
	t_ok(ret == 0 || ret == -EINTR, "DEL: %d", ret);
	return t_done();
}
