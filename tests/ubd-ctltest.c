// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ubd-ctltest: drives /dev/ubd-control and /dev/ubdcN directly, without
 * libubd's safety rails, for the guest suites.
 *
 *   ubd-ctltest abuse          malformed and out-of-order commands: each
 *                              must get its errno, never a crash (TAP;
 *                              ubd_drv only)
 *   ubd-ctltest churn N P      P processes adding and deleting N times
 *   ubd-ctltest info ID        one line: state= pid= queues= depth=
 *   ubd-ctltest del ID         DEL_DEV
 *   ubd-ctltest add-flags HEX  ADD_DEV asking for flags HEX; prints the
 *                              id and the flags granted
 *   ubd-ctltest path CMD ID P  CMD (info, info2, params, stop, del) on
 *                              device ID with P as the path of its char
 *                              node: "@none" sends no path (dev_path_len
 *                              0), "@long" one of PATH_MAX + 1 bytes,
 *                              "@nonul" the node's path without its NUL
 *                              and with garbage after; prints "ok" or
 *                              the errno's name
 *   ubd-ctltest has NAME       exit 0 if the driver has feature NAME (a
 *                              UBD_F_* name without the prefix, or the
 *                              command GET_FEATURES, DEL_DEV_ASYNC or
 *                              GET_DEV_INFO2); else 1 and why on stdout
 *
 * The control node is the one libubd picks: $UBD_CONTROL, else
 * /dev/ubd-control, else /dev/ublk-control.  A driver without GET_FEATURES
 * (ublk before 6.5) gets the legacy opcodes, like libubd gives it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <liburing.h>
#include <linux/ubd_cmd.h>

#include "ubd.h"
#include "unit/tap.h"

static struct io_uring ctrl_ring;
static int ctrl_fd;
static bool legacy_ops;		/* the driver knows no ioctl-encoded opcodes */

/* one raw control command; returns the CQE result */
static int ctrl_raw(unsigned int op, const struct ubd_ctrl_cmd *cmd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ctrl_ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = ctrl_fd;
	sqe->cmd_op = legacy_ops ? _IOC_NR(op) : op;
	memcpy(sqe->cmd, cmd, sizeof(*cmd));
	ret = io_uring_submit(&ctrl_ring);
	if (ret < 0)
		return ret;
	/* a signal may end the wait, not the command: its CQE still comes */
	do
		ret = io_uring_wait_cqe(&ctrl_ring, &cqe);
	while (ret == -EINTR);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&ctrl_ring, cqe);
	return ret;
}

static struct ubd_ctrl_cmd cmd_for(unsigned int dev_id, void *addr,
				   unsigned int len)
{
	struct ubd_ctrl_cmd c = {
		.dev_id = dev_id, .queue_id = (__u16)-1,
		.addr = (uintptr_t)addr, .len = len,
	};
	return c;
}

static int add_dev_flags(struct ubd_ctrl_dev_info *info, unsigned int id,
			 int queues, int depth, uint64_t flags)
{
	struct ubd_ctrl_cmd c;

	memset(info, 0, sizeof(*info));
	info->flags = flags;
	info->dev_id = id;
	info->nr_hw_queues = queues;
	info->queue_depth = depth;
	c = cmd_for(id, info, sizeof(*info));
	return ctrl_raw(UBD_U_CMD_ADD_DEV, &c);
}

static int add_dev(struct ubd_ctrl_dev_info *info, unsigned int id,
		   int queues, int depth)
{
	return add_dev_flags(info, id, queues, depth, 0);
}

static int del_dev(unsigned int id)
{
	struct ubd_ctrl_cmd c = cmd_for(id, NULL, 0);

	return ctrl_raw(UBD_U_CMD_DEL_DEV, &c);
}

static void expect(int got, int want, const char *what)
{
	t_ok(got == want, "%s: %d (%s)", what, want,
	     got == want ? "ok" : strerror(got < 0 ? -got : got));
}

static void valid_params(struct ubd_params *p)
{
	memset(p, 0, sizeof(*p));
	p->len = sizeof(*p);
	p->types = UBD_PARAM_TYPE_BASIC;
	p->basic.logical_bs_shift = 9;
	p->basic.physical_bs_shift = 12;
	p->basic.max_sectors = 128;
	p->basic.dev_sectors = 1 << 20;
}

static int set_params(unsigned int id, struct ubd_params *p, unsigned int len)
{
	struct ubd_ctrl_cmd c = cmd_for(id, p, len);

	return ctrl_raw(UBD_U_CMD_SET_PARAMS, &c);
}

static void abuse_add(void)
{
	struct ubd_ctrl_dev_info info;
	struct ubd_ctrl_cmd c;

	expect(add_dev(&info, -1, 1, 0), -EINVAL, "ADD depth 0");
	expect(add_dev(&info, -1, 1, 5000), -EINVAL, "ADD depth 5000");
	expect(add_dev(&info, -1, 0, 4), -EINVAL, "ADD 0 queues");
	expect(add_dev(&info, -1, 5000, 4), -EINVAL, "ADD 5000 queues");
	expect(add_dev(&info, 1U << 20, 1, 4), -EINVAL, "ADD id 2^20");

	memset(&info, 0, sizeof(info));
	info.dev_id = -1;
	info.nr_hw_queues = 1;
	info.queue_depth = 4;
	info.max_io_buf_bytes = 100;
	c = cmd_for(-1, &info, sizeof(info));
	expect(ctrl_raw(UBD_U_CMD_ADD_DEV, &c), -EINVAL, "ADD max_io 100");
	info.max_io_buf_bytes = 64 << 20;
	expect(ctrl_raw(UBD_U_CMD_ADD_DEV, &c), -EINVAL, "ADD max_io 64M");
	info.max_io_buf_bytes = 0;
	c = cmd_for(-1, &info, sizeof(info) - 1);
	expect(ctrl_raw(UBD_U_CMD_ADD_DEV, &c), -EINVAL, "ADD short len");
	c = cmd_for(-1, NULL, sizeof(info));
	expect(ctrl_raw(UBD_U_CMD_ADD_DEV, &c), -EINVAL, "ADD NULL addr");
	c = cmd_for(-1, (void *)16, sizeof(info));
	expect(ctrl_raw(UBD_U_CMD_ADD_DEV, &c), -EFAULT, "ADD bad addr");
	c = cmd_for(-1, &info, sizeof(info));
	c.queue_id = 0;
	expect(ctrl_raw(UBD_U_CMD_ADD_DEV, &c), -EINVAL, "ADD queue_id 0");
	c = cmd_for(3, &info, sizeof(info));
	expect(ctrl_raw(UBD_U_CMD_ADD_DEV, &c), -EINVAL, "ADD id mismatch");
}

static void abuse_params(unsigned int id)
{
	struct ubd_params p;

	valid_params(&p);
	p.types = 0;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "SET_PARAMS no basic");
	valid_params(&p);
	p.basic.logical_bs_shift = 8;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "logical shift 8");
	p.basic.logical_bs_shift = 13;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "logical shift 13");
	valid_params(&p);
	p.basic.physical_bs_shift = 200;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "physical shift 200");
	valid_params(&p);
	p.basic.io_opt_shift = 64;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "io_opt shift 64");
	valid_params(&p);
	p.basic.max_sectors = 1 << 20;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "max_sectors > max_io");
	valid_params(&p);
	p.basic.dev_sectors = ~0ULL;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "dev_sectors 2^64-1");
	valid_params(&p);
	p.types |= UBD_PARAM_TYPE_DEVT;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "DEVT is read-only");
	valid_params(&p);
	p.types |= UBD_PARAM_TYPE_DISCARD;
	p.discard.discard_granularity = 4096;
	p.discard.max_discard_segments = 2;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "2 discard segments");
	valid_params(&p);
	p.types |= UBD_PARAM_TYPE_DISCARD;
	p.discard.max_discard_segments = 1;
	p.discard.discard_granularity = 3000;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "granularity 3000");
	valid_params(&p);
	p.types |= UBD_PARAM_TYPE_SEGMENT;
	p.seg.seg_boundary_mask = 1000;
	p.seg.max_segment_size = 4096;
	p.seg.max_segments = 1;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "boundary mask 1000");
	valid_params(&p);
	p.types |= UBD_PARAM_TYPE_DMA_ALIGN;
	p.dma.alignment = 4096;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "dma align 4096");
	valid_params(&p);
	p.len = 4;
	expect(set_params(id, &p, sizeof(p)), -EINVAL, "params len 4");
	valid_params(&p);
	p.len = 200;
	expect(set_params(id, &p, 152), -EINVAL, "params len > cmd len");
	valid_params(&p);
	expect(set_params(id, &p, sizeof(p)), 0, "valid SET_PARAMS");
	{
		struct ubd_params back = { .len = sizeof(back) };
		struct ubd_ctrl_cmd c = cmd_for(id, &back, sizeof(back));

		expect(ctrl_raw(UBD_U_CMD_GET_PARAMS, &c), 0, "GET_PARAMS");
		t_ok(back.basic.dev_sectors == 1 << 20 &&
		     back.basic.max_sectors == 128, "params read back");
	}
}

static int io_cmd(struct io_uring *ring, unsigned int op, int q, int tag,
		  uint64_t addr, int result)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct ubd_io_cmd *cmd = (struct ubd_io_cmd *)sqe->cmd;
	struct io_uring_cqe *cqe;
	int ret;

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, 0, NULL, 0, 0);
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->cmd_op = op;
	sqe->user_data = tag;
	cmd->q_id = q;
	cmd->tag = tag;
	cmd->result = result;
	cmd->addr = addr;
	io_uring_submit(ring);
	/* a parked command leaves no CQE: report that as 1 */
	if (io_uring_peek_cqe(ring, &cqe))
		return 1;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void abuse_char(unsigned int id, const struct ubd_ctrl_dev_info *info)
{
	static char buf[1 << 16];
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct ubd_ctrl_cmd c;
	char path[64];
	size_t sz = 4096;	/* 4 tags * 24 bytes, one page */
	int fd, fd2, aborts = 0;
	void *p;

	snprintf(path, sizeof(path), "/dev/ubdc%u", id);
	fd = open(path, O_RDWR);
	t_ok(fd >= 0, "open %s", path);
	if (fd < 0)
		return;
	fd2 = open(path, O_RDWR);
	t_ok(fd2 < 0 && errno == EBUSY, "second open: EBUSY");
	if (fd2 >= 0)
		close(fd2);

	p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	t_ok(p == MAP_FAILED && errno == EPERM, "writable mmap: EPERM");
	p = mmap(NULL, 2 * sz, PROT_READ, MAP_SHARED, fd, 0);
	t_ok(p == MAP_FAILED && errno == EINVAL, "mmap too large: EINVAL");
	p = mmap(NULL, sz, PROT_READ, MAP_SHARED, fd, 5 * 98304);
	t_ok(p == MAP_FAILED && errno == EINVAL, "mmap queue 5: EINVAL");
	p = mmap(NULL, sz, PROT_READ, MAP_SHARED, fd, 4096);
	t_ok(p == MAP_FAILED && errno == EINVAL, "mmap odd offset: EINVAL");
	p = mmap(NULL, sz, PROT_READ, MAP_SHARED, fd, 98304);
	t_ok(p != MAP_FAILED, "mmap queue 1");
	if (p != MAP_FAILED)
		munmap(p, sz);

	io_uring_queue_init(16, &ring, 0);
	io_uring_register_files(&ring, &fd, 1);
	expect(io_cmd(&ring, UBD_U_IO_FETCH_REQ, 7, 0, (uintptr_t)buf, 0),
	       -EINVAL, "FETCH queue 7");
	expect(io_cmd(&ring, UBD_U_IO_FETCH_REQ, 0, 99, (uintptr_t)buf, 0),
	       -EINVAL, "FETCH tag 99");
	expect(io_cmd(&ring, UBD_U_IO_FETCH_REQ, 0, 0, 0, 0), -EINVAL,
	       "FETCH without buffer");
	expect(io_cmd(&ring, UBD_U_IO_COMMIT_AND_FETCH_REQ, 0, 0,
		      (uintptr_t)buf, 0), -EINVAL, "COMMIT before FETCH");
	expect(io_cmd(&ring, UBD_U_IO_NEED_GET_DATA, 0, 0, (uintptr_t)buf, 0),
	       -EINVAL, "NEED_GET_DATA out of turn");
	expect(io_cmd(&ring, _IOWR('u', 0x2f, struct ubd_io_cmd), 0, 0,
		      (uintptr_t)buf, 0), -EOPNOTSUPP, "unknown io op");
	expect(io_cmd(&ring, _IOWR('u', 0x20, struct ubd_io_desc), 0, 0,
		      (uintptr_t)buf, 0), -EOPNOTSUPP, "io op of wrong size");
	expect(io_cmd(&ring, UBD_U_IO_FETCH_REQ, 0, 0, (uintptr_t)buf, 0), 1,
	       "FETCH parks");
	expect(io_cmd(&ring, UBD_U_IO_FETCH_REQ, 0, 0, (uintptr_t)buf, 0),
	       -EBUSY, "FETCH twice: EBUSY");
	expect(io_cmd(&ring, UBD_IO_FETCH_REQ, 0, 1, (uintptr_t)buf, 0), 1,
	       "legacy FETCH parks");
	expect(io_cmd(&ring, UBD_U_IO_COMMIT_AND_FETCH_REQ, 0, 0,
		      (uintptr_t)buf, 0), -EINVAL, "COMMIT with no request");
	/* with NEED_GET_DATA and no buffer, the driver looked at the op of
	 * a request that does not exist (found by the fuzzer) */
	expect(io_cmd(&ring, UBD_U_IO_COMMIT_AND_FETCH_REQ, 0, 1, 0, 0),
	       -EINVAL, "COMMIT with no request and no buffer");

	/* START with queue 1 unfetched waits; a signal must end the wait */
	signal(SIGALRM, on_alarm);
	alarm(1);
	c = cmd_for(id, NULL, 0);
	c.data[0] = getpid();
	expect(ctrl_raw(UBD_U_CMD_START_DEV, &c), -EINTR,
	       "START before all FETCHes: EINTR on signal");
	alarm(0);
	c.data[0] = 0;
	expect(ctrl_raw(UBD_U_CMD_START_DEV, &c), -EINVAL, "START pid 0");

	/* STOP answers the parked fetches with ABORT */
	c = cmd_for(id, NULL, 0);
	expect(ctrl_raw(UBD_U_CMD_STOP_DEV, &c), 0, "STOP unstarted device");
	while (io_uring_peek_cqe(&ring, &cqe) == 0) {
		if (cqe->res == UBD_IO_RES_ABORT)
			aborts++;
		io_uring_cqe_seen(&ring, cqe);
	}
	t_ok(aborts == 2, "STOP aborted the 2 parked fetches (%d)", aborts);
	(void)info;

	io_uring_queue_exit(&ring);
	close(fd);
}

static int abuse(void)
{
	struct ubd_ctrl_dev_info info;
	struct ubd_ctrl_cmd c;
	struct io_uring ring64;
	uint64_t features = 0;
	unsigned int id;
	cpu_set_t cpus;

	c = cmd_for(0, &features, sizeof(features));
	expect(ctrl_raw(UBD_U_CMD_GET_FEATURES, &c), 0, "GET_FEATURES");
	t_ok(features & UBD_F_CMD_IOCTL_ENCODE, "features: ioctl encoding");
	c = cmd_for(0, &features, 4);
	expect(ctrl_raw(UBD_U_CMD_GET_FEATURES, &c), -EINVAL,
	       "GET_FEATURES len 4");
	c = cmd_for(0, NULL, 0);
	expect(ctrl_raw(_IOWR('u', 0x7f, struct ubd_ctrl_cmd), &c),
	       -EOPNOTSUPP, "unknown control op");
	expect(ctrl_raw(_IOWR('v', 0x04, struct ubd_ctrl_cmd), &c),
	       -EOPNOTSUPP, "control op of another type");
	expect(ctrl_raw(UBD_U_CMD_GET_DEV_INFO, &c), -ENODEV,
	       "GET_DEV_INFO of a missing device");

	/* a 64-byte SQE cannot carry a control command */
	io_uring_queue_init(4, &ring64, 0);
	{
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring64);
		struct io_uring_cqe *cqe;

		io_uring_prep_rw(IORING_OP_URING_CMD, sqe, ctrl_fd, NULL, 0, 0);
		sqe->cmd_op = UBD_U_CMD_GET_FEATURES;
		io_uring_submit_and_wait(&ring64, 1);
		io_uring_wait_cqe(&ring64, &cqe);
		expect(cqe->res, -EINVAL, "control command on a 64-byte SQE");
		io_uring_cqe_seen(&ring64, cqe);
	}
	io_uring_queue_exit(&ring64);

	abuse_add();

	/* NEED_GET_DATA: a COMMIT may then carry no buffer (see abuse_char) */
	expect(add_dev_flags(&info, -1, 2, 4, UBD_F_NEED_GET_DATA), 0,
	       "ADD 2 queues depth 4");
	id = info.dev_id;
	t_ok(info.flags & UBD_F_CMD_IOCTL_ENCODE, "ADD granted ioctl encoding");
	expect(add_dev(&info, id, 1, 4), -EEXIST, "ADD the same id: EEXIST");

	c = cmd_for(id, &cpus, sizeof(cpus));
	c.data[0] = 9;
	expect(ctrl_raw(UBD_U_CMD_GET_QUEUE_AFFINITY, &c), -EINVAL,
	       "affinity of queue 9");
	c = cmd_for(id, &cpus, 1);
	expect(ctrl_raw(UBD_U_CMD_GET_QUEUE_AFFINITY, &c), -EINVAL,
	       "affinity into 1 byte");
	c = cmd_for(id, &cpus, sizeof(cpus));
	expect(ctrl_raw(UBD_U_CMD_GET_QUEUE_AFFINITY, &c), 0,
	       "affinity of queue 0");
	c = cmd_for(id, &info, sizeof(info));
	c.dev_path_len = 2000;
	expect(ctrl_raw(UBD_U_CMD_GET_DEV_INFO2, &c), -EINVAL,
	       "GET_DEV_INFO2 path longer than the buffer");

	abuse_params(id);
	abuse_char(id, &info);

	/*
	 * Our own ring held /dev/ubdcN: DEL may return EINTR for the task
	 * work that releases it; the device is gone all the same.
	 */
	{
		int ret = del_dev(id);

		t_ok(ret == 0 || ret == -EINTR, "DEL: %d", ret);
	}
	expect(del_dev(id), -ENODEV, "DEL twice: ENODEV");
	c = cmd_for(id, &info, sizeof(info));
	expect(ctrl_raw(UBD_U_CMD_GET_DEV_INFO, &c), -ENODEV,
	       "GET_DEV_INFO after DEL");
	c = cmd_for(id, NULL, 0);
	c.data[0] = getpid();
	expect(ctrl_raw(UBD_U_CMD_START_DEV, &c), -ENODEV, "START after DEL");
	return t_done();
}

/* P processes add and delete N devices each, all at once */
static int churn(int n, int procs)
{
	int i, failed = 0;

	for (i = 0; i < procs; i++) {
		if (fork() == 0) {
			struct ubd_ctrl_dev_info info;
			int j, bad = 0;

			io_uring_queue_exit(&ctrl_ring);
			io_uring_queue_init(4, &ctrl_ring, IORING_SETUP_SQE128);
			for (j = 0; j < n; j++) {
				if (add_dev(&info, -1, 1 + j % 2, 1 + j % 64)) {
					bad++;
					continue;
				}
				if (del_dev(info.dev_id))
					bad++;
			}
			_exit(bad ? 1 : 0);
		}
	}
	for (i = 0; i < procs; i++) {
		int st;

		wait(&st);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	}
	printf("churn: %d processes x %d add/del, %d failed\n", procs, n,
	       failed);
	return failed ? 1 : 0;
}

static int info(unsigned int id)
{
	struct ubd_ctrl_dev_info info = { 0 };
	struct ubd_ctrl_cmd c = cmd_for(id, &info, sizeof(info));
	int ret = ctrl_raw(UBD_U_CMD_GET_DEV_INFO, &c);

	if (ret) {
		fprintf(stderr, "info %u: %s\n", id, strerror(-ret));
		return 1;
	}
	printf("state=%s pid=%d queues=%u depth=%u\n",
	       ubd_state_name(info.state), info.ubdsrv_pid, info.nr_hw_queues,
	       info.queue_depth);
	return 0;
}

static int add_flags(const char *hex)
{
	struct ubd_ctrl_dev_info info = {
		.dev_id = (__u32)-1, .nr_hw_queues = 1, .queue_depth = 32,
	};
	struct ubd_ctrl_cmd c = cmd_for((__u32)-1, &info, sizeof(info));
	int ret;

	info.flags = strtoull(hex, NULL, 16);
	ret = ctrl_raw(UBD_U_CMD_ADD_DEV, &c);
	if (ret) {
		printf("%s\n", strerrorname_np(-ret) ?: "?");
		return 1;
	}
	printf("id=%u flags=%#llx\n", info.dev_id,
	       (unsigned long long)info.flags);
	return 0;
}

/* a command with a path, as the driver of an unprivileged device wants */
static int path_cmd(const char *what, unsigned int id, const char *path)
{
	static char buf[PATH_MAX + 2 + sizeof(struct ubd_params)];
	struct ubd_ctrl_dev_info *info;
	struct ubd_params *p;
	struct ubd_ctrl_cmd c;
	size_t plen, payload = 0;
	unsigned int op;
	int ret;

	memset(buf, 0, sizeof(buf));
	if (!strcmp(path, "@none")) {
		plen = 0;
	} else if (!strcmp(path, "@long")) {
		plen = PATH_MAX + 1;
		memset(buf, '/', plen);
	} else if (!strcmp(path, "@nonul")) {
		plen = snprintf(buf, sizeof(buf), "/dev/ubdc%u", id);
		memset(buf + plen, 'x', 8);	/* not part of the path */
	} else {
		plen = strlen(path) + 1;
		memcpy(buf, path, plen);
	}
	if (!strcmp(what, "info") || !strcmp(what, "info2")) {
		op = what[4] ? UBD_U_CMD_GET_DEV_INFO2 : UBD_U_CMD_GET_DEV_INFO;
		payload = sizeof(*info);
	} else if (!strcmp(what, "params")) {
		op = UBD_U_CMD_GET_PARAMS;
		p = (struct ubd_params *)(buf + plen);
		/* the path may be as long as PATH_MAX + 1: stay in buf */
		if (plen + sizeof(*p) > sizeof(buf))
			return 2;
		memset(p, 0, sizeof(*p));
		p->len = sizeof(*p);
		payload = sizeof(*p);
	} else if (!strcmp(what, "stop")) {
		op = UBD_U_CMD_STOP_DEV;
	} else if (!strcmp(what, "del")) {
		op = UBD_U_CMD_DEL_DEV;
	} else {
		fprintf(stderr, "path: unknown command '%s'\n", what);
		return 2;
	}
	c = cmd_for(id, buf, plen + payload);
	c.dev_path_len = plen;
	ret = ctrl_raw(op, &c);
	if (ret) {
		printf("%s\n", strerrorname_np(-ret) ?: "?");
		return 1;
	}
	if (payload == sizeof(*info)) {
		info = (struct ubd_ctrl_dev_info *)(buf + plen);
		printf("ok id=%u owner=%u flags=%#llx\n", info->dev_id,
		       info->owner_uid, (unsigned long long)info->flags);
	} else {
		printf("ok\n");
	}
	return 0;
}

/* the UBD_F_* bit called @name, or -1 */
static int feature_bit(const char *name)
{
	const char *n;
	int bit;

	for (bit = 0; bit < 64; bit++) {
		n = ubd_feature_name(bit);
		if (n && !strcmp(n, name))
			return bit;
	}
	return -1;
}

/*
 * A throwaway device with @flags: the flags the driver granted in @granted.
 * A driver drops the flags it does not know (ublk 6.1 masks them with its
 * UBLK_F_ALL), so this answers for drivers without GET_FEATURES.
 */
static int probe_add(uint64_t flags, uint64_t *granted, unsigned int *id)
{
	struct ubd_ctrl_dev_info info;
	struct ubd_ctrl_cmd c;
	int ret;

	memset(&info, 0, sizeof(info));
	info.dev_id = -1;
	info.nr_hw_queues = 1;
	info.queue_depth = 1;
	info.max_io_buf_bytes = 512 << 10;
	info.flags = flags;
	c = cmd_for(-1, &info, sizeof(info));
	ret = ctrl_raw(UBD_U_CMD_ADD_DEV, &c);
	if (ret)
		return ret;
	*granted = info.flags;
	*id = info.dev_id;
	return 0;
}

/* a command: does a throwaway device's driver know it? */
static int has_cmd(const char *name, unsigned int op)
{
	struct ubd_ctrl_dev_info info;
	struct ubd_ctrl_cmd c;
	uint64_t granted;
	unsigned int id;
	int ret;

	ret = probe_add(0, &granted, &id);
	if (ret) {
		fprintf(stderr, "has %s: ADD_DEV: %s\n", name, strerror(-ret));
		return 2;
	}
	c = cmd_for(id, &info, sizeof(info));
	ret = ctrl_raw(op, &c);
	if (ret != 0 || op != UBD_U_CMD_DEL_DEV_ASYNC) {
		c = cmd_for(id, NULL, 0);
		ctrl_raw(UBD_U_CMD_DEL_DEV, &c);
	}
	if (ret == -EOPNOTSUPP) {
		printf("%s: EOPNOTSUPP\n", name);
		return 1;
	}
	if (ret) {
		fprintf(stderr, "has %s: %s\n", name, strerror(-ret));
		return 2;
	}
	return 0;
}

static int has(const char *name)
{
	struct ubd_ctrl_cmd c;
	uint64_t features = 0, granted;
	unsigned int id;
	int bit, ret;
	bool gf;

	c = cmd_for(0, &features, sizeof(features));
	gf = !legacy_ops && ctrl_raw(UBD_U_CMD_GET_FEATURES, &c) == 0;
	if (!strcmp(name, "GET_FEATURES")) {
		if (gf)
			return 0;
		printf("no GET_FEATURES command\n");
		return 1;
	}
	/* commands without a feature flag of their own */
	if (!strcmp(name, "DEL_DEV_ASYNC"))
		return legacy_ops ? (printf("no ioctl-encoded opcodes\n"), 1) :
			has_cmd(name, UBD_U_CMD_DEL_DEV_ASYNC);
	if (!strcmp(name, "GET_DEV_INFO2"))
		return has_cmd(name, UBD_U_CMD_GET_DEV_INFO2);

	bit = feature_bit(name);
	if (bit < 0) {
		fprintf(stderr, "has: unknown feature '%s'\n", name);
		return 2;
	}
	if (gf) {
		if (features & (1ULL << bit))
			return 0;
		printf("not in GET_FEATURES 0x%llx\n",
		       (unsigned long long)features);
		return 1;
	}
	/* no GET_FEATURES: what ADD_DEV grants */
	ret = probe_add(1ULL << bit, &granted, &id);
	if (ret == -EINVAL || ret == -EOPNOTSUPP || ret == -EPERM) {
		printf("ADD_DEV with it: %s\n", strerror(-ret));
		return 1;
	}
	if (ret) {
		fprintf(stderr, "has %s: ADD_DEV: %s\n", name, strerror(-ret));
		return 2;
	}
	c = cmd_for(id, NULL, 0);
	ctrl_raw(UBD_U_CMD_DEL_DEV, &c);
	if (granted & (1ULL << bit))
		return 0;
	printf("ADD_DEV did not grant it (flags 0x%llx)\n",
	       (unsigned long long)granted);
	return 1;
}

/* the node libubd would open, and whether the driver speaks legacy opcodes */
static int ctrl_setup(void)
{
	const char *path = getenv("UBD_CONTROL");
	struct ubd_ctrl_cmd c;
	uint64_t features;
	int ret;

	if (!path || !*path) {
		path = UBD_CONTROL_PATH;
		if (access(path, F_OK) && !access(UBLK_CONTROL_PATH, F_OK))
			path = UBLK_CONTROL_PATH;
	}
	ctrl_fd = open(path, O_RDWR);
	if (ctrl_fd < 0) {
		perror(path);
		return -1;
	}
	io_uring_queue_init(4, &ctrl_ring, IORING_SETUP_SQE128);
	/* as libubd decides it: no GET_FEATURES means legacy opcodes */
	c = cmd_for(0, &features, sizeof(features));
	ret = ctrl_raw(UBD_U_CMD_GET_FEATURES, &c);
	legacy_ops = ret == -EOPNOTSUPP || ret == -EINVAL || ret == -ENODEV ||
		     (ret == 0 && !(features & UBD_F_CMD_IOCTL_ENCODE));
	return 0;
}

int main(int argc, char **argv)
{
	if (ctrl_setup())
		return 2;

	if (argc == 2 && !strcmp(argv[1], "abuse"))
		return abuse();
	if (argc == 4 && !strcmp(argv[1], "churn"))
		return churn(atoi(argv[2]), atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "info"))
		return info(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "del")) {
		int ret = del_dev(atoi(argv[2]));

		if (ret)
			fprintf(stderr, "del: %s\n", strerror(-ret));
		return ret ? 1 : 0;
	}
	if (argc == 3 && !strcmp(argv[1], "add-flags"))
		return add_flags(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "path"))
		return path_cmd(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 3 && !strcmp(argv[1], "has"))
		return has(argv[2]);
	fprintf(stderr, "usage: %s abuse | churn N P | info ID | del ID | add-flags HEX | path CMD ID PATH | has NAME\n",
		argv[0]);
	return 2;
}
