// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ubd-fuzz: random and mutated control and io commands against ubd_drv,
 * from several threads, for the guest suites.
 *
 *   ubd-fuzz [-n COUNT] [-t THREADS] [-s SEED] [-U UID] [-v]
 *
 * Control commands carry random char-node paths (dev_path_len) now and
 * then: the right node, another device's, other files, unterminated, too
 * long.  With -U the fuzzer drops root for UID once the setup is done: its
 * devices are then unprivileged ones, every command on them is checked
 * against the path, and its own well-formed commands send the right one.
 *
 * Each fuzz thread has its own control ring, its own /dev/ubdcN fds with
 * their rings, and a periodic timer that interrupts a control command that
 * legitimately blocks (START waits for the fetches, DEL for the release of
 * /dev/ubdcN).  Devices that may go LIVE are served by helper threads that
 * only answer io commands, so that no uninterruptible wait of the kernel
 * (add_disk, del_gendisk) ever depends on a thread that is itself blocked:
 *
 *   - a fuzz thread never arms (queue 0, tag 0) of a device: its devices
 *     can never become ready, so a START on them always waits for the
 *     timer;
 *   - a helper fetches every tag of the device it was created for, and
 *     then only commits (with random results and buffers) and re-fetches
 *     once STOP has aborted all of its tags.  It sends no control command.
 *     A helper of a USER_COPY device copies each io's data with pread or
 *     pwrite on /dev/ubdcN, and a second thread of it throws random
 *     pread/pwrite at the same fd all along, racing with the commits, STOP
 *     and the monitor failing the ios.
 *
 * Fuzz threads also throw random pread/pwrite at the user-copy offsets of
 * the /dev/ubdcN they hold.
 *
 * A kernel problem (oops, WARN, hung task) is caught by the harness; the
 * exit status is 0 unless this program itself failed.  The last line is a
 * summary: commands sent, how many succeeded, the errno histogram, and the
 * devices left.  The commands drawn are the same for the same seed; their
 * interleaving between the threads is not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <liburing.h>
#include <linux/ubd_cmd.h>

#define MAX_THREADS	32
#define MAX_DEVS	24	/* devices the fuzzer keeps at once */
#define MAX_HELPERS	4	/* served devices at once */
#define MAX_IOCTX	3	/* open /dev/ubdcN per fuzz thread */
#define MAX_MAPS	4
#define BUF_SIZE	8192	/* followed by a PROT_NONE guard page */
#define HELPER_IO_BYTES	(64 << 10)
#define DESC_STRIDE	(((UBD_MAX_QUEUE_DEPTH * sizeof(struct ubd_io_desc)) + 4095) & ~4095UL)
#define NERRNO		134

/* ---- shared state ---- */

static unsigned long g_count = 5000;
static unsigned long g_sent;		/* commands issued by fuzz threads */
static volatile int g_stop;
static int g_verbose;
static int g_unpriv;		/* -U: we run as a user, our devices are unprivileged */
static unsigned long g_paths;	/* commands sent with a path */
static long g_page;
static void *g_ropage;		/* read-only page: a bad OUT buffer */
static void *g_hole;		/* PROT_NONE region: an unmapped address */
static int g_nr_cpus;

/* results */
static unsigned long g_errno[NERRNO];	/* index -res */
static unsigned long g_err_other, g_positive, g_parked, g_orphans;
static unsigned long g_ok_ctrl[0x20];	/* by control command number */
static unsigned long g_served, g_commits, g_aborts, g_mmaps, g_forks;
static unsigned long g_bio, g_bad_mprotect;
static unsigned long g_ucopy, g_ucopy_bytes;	/* user-copy pread/pwrite */

#define INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)

static void count_res(int res)
{
	if (res > 0)
		INC(g_positive);
	else if (-res < NERRNO)
		INC(g_errno[-res]);
	else
		INC(g_err_other);
}

struct helper;

struct devrec {
	bool used;
	unsigned int id;
	struct helper *h;	/* served by a helper thread */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct devrec g_devs[MAX_DEVS];
static int g_nr_helpers;		/* running */
static struct helper *g_helpers[256];	/* every helper started */
static int g_nh;
/* every id this run created, to check at the end that each came back */
static unsigned char g_created[1 << 12];

/* ---- random numbers: xorshift64* ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd64(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static unsigned int rnd(struct rng *r, unsigned int n)
{
	return n ? (unsigned int)(rnd64(r) >> 33) % n : 0;
}

static bool chance(struct rng *r, unsigned int pct)
{
	return rnd(r, 100) < pct;
}

/* ---- per-thread timer: SIGUSR1 to this thread, no SA_RESTART ---- */

static void on_sig(int sig)
{
	(void)sig;
}

struct tmr {
	timer_t id;
	bool ok;
};

static void tmr_init(struct tmr *t)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR1;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	t->ok = timer_create(CLOCK_MONOTONIC, &sev, &t->id) == 0;
}

/* fire every @ms until disarmed: one early signal must not be the last */
static void tmr_arm(struct tmr *t, long ms)
{
	struct itimerspec its = {
		.it_value = { ms / 1000, (ms % 1000) * 1000000 },
		.it_interval = { ms / 1000, (ms % 1000) * 1000000 },
	};

	if (t->ok)
		timer_settime(t->id, 0, &its, NULL);
}

static void tmr_disarm(struct tmr *t)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (t->ok)
		timer_settime(t->id, 0, &its, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- the device registry ---- */

static void dev_register(unsigned int id, struct helper *h)
{
	int i;

	pthread_mutex_lock(&g_lock);
	if (id < sizeof(g_created))
		g_created[id] = 1;
	for (i = 0; i < MAX_DEVS; i++)
		if (g_devs[i].used && g_devs[i].id == id)
			goto out;
	for (i = 0; i < MAX_DEVS; i++) {
		if (!g_devs[i].used) {
			g_devs[i].used = true;
			g_devs[i].id = id;
			g_devs[i].h = h;
			break;
		}
	}
out:
	pthread_mutex_unlock(&g_lock);
}

static int nr_devs(void)
{
	int i, n = 0;

	pthread_mutex_lock(&g_lock);
	for (i = 0; i < MAX_DEVS; i++)
		n += g_devs[i].used;
	pthread_mutex_unlock(&g_lock);
	return n;
}

/* a registered id, or -1 */
static int pick_registered(struct rng *r, bool served)
{
	int i, n = 0, ids[MAX_DEVS];

	pthread_mutex_lock(&g_lock);
	for (i = 0; i < MAX_DEVS; i++)
		if (g_devs[i].used && (!served || g_devs[i].h))
			ids[n++] = g_devs[i].id;
	pthread_mutex_unlock(&g_lock);
	return n ? ids[rnd(r, n)] : -1;
}

static void helper_quit(struct helper *h);

/* the device is deleted: forget it (its helper sees that by itself) */
static void dev_forget(unsigned int id)
{
	int i;

	pthread_mutex_lock(&g_lock);
	for (i = 0; i < MAX_DEVS; i++)
		if (g_devs[i].used && g_devs[i].id == id)
			g_devs[i].used = false;
	pthread_mutex_unlock(&g_lock);
}

/* ---- control commands ---- */

struct ctl {
	struct io_uring ring;
	int fd;
	bool ok;
	uint64_t seq;
};

static int ctl_open(struct ctl *c)
{
	c->fd = open("/dev/ubd-control", O_RDWR);
	if (c->fd < 0)
		return -errno;
	if (io_uring_queue_init(8, &c->ring, IORING_SETUP_SQE128)) {
		close(c->fd);
		return -ENOMEM;
	}
	c->ok = true;
	return 0;
}

static void ctl_close(struct ctl *c)
{
	if (!c->ok)
		return;
	io_uring_queue_exit(&c->ring);
	close(c->fd);
	c->ok = false;
}

/* the control command number the driver decodes from @op, or -1 */
static int ctrl_nr(uint32_t op)
{
	if (_IOC_TYPE(op) == 'u')
		return _IOC_SIZE(op) == sizeof(struct ubd_ctrl_cmd) ?
			(int)_IOC_NR(op) : -1;
	return op > 0xff ? -1 : (int)op;
}

#define RES_ORPHAN	(-100000)	/* no CQE in time: ring abandoned */

/*
 * Send one command on a control-style (SQE128) ring and wait for its CQE.
 * The timer interrupts a command that blocks; an IOSQE_ASYNC one runs in
 * io-wq where our signal does not reach it, so its CQE is waited for at
 * most @wait_ms, then the ring is closed with the command in it.
 */
static int ctl_send(struct ctl *c, struct tmr *t, int fd, uint32_t op,
		    const void *payload, size_t plen, unsigned int sqe_flags,
		    long tmo_ms, long wait_ms)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	double deadline = now_s() + wait_ms / 1000.0;
	uint64_t ud = ++c->seq;
	int ret;

	if (!c->ok)
		return -EBADF;
	sqe = io_uring_get_sqe(&c->ring);
	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = op;
	sqe->flags = sqe_flags;
	sqe->user_data = ud;
	memcpy(sqe->cmd, payload, plen);

	tmr_arm(t, tmo_ms);
	ret = io_uring_submit(&c->ring);
	if (ret < 0 && ret != -EINTR)
		goto out;
	for (;;) {
		struct __kernel_timespec ts = { 0, 50 * 1000000 };

		ret = io_uring_wait_cqe_timeout(&c->ring, &cqe, &ts);
		if (ret == 0) {
			uint64_t got = cqe->user_data;
			int res = cqe->res;

			io_uring_cqe_seen(&c->ring, cqe);
			if (got != ud)
				continue;	/* late CQE of an old command */
			ret = res;
			goto out;
		}
		if (ret != -ETIME && ret != -EINTR)
			break;
		if (now_s() > deadline) {
			ret = RES_ORPHAN;
			break;
		}
	}
out:
	tmr_disarm(t);
	if (ret == RES_ORPHAN) {
		/* close the ring with the command still in it, open another */
		INC(g_orphans);
		io_uring_queue_exit(&c->ring);
		if (io_uring_queue_init(8, &c->ring, IORING_SETUP_SQE128))
			c->ok = false;
	}
	return ret;
}

static struct ubd_ctrl_cmd mkcmd(unsigned int id, void *addr, unsigned int len)
{
	struct ubd_ctrl_cmd c;

	memset(&c, 0, sizeof(c));
	c.dev_id = id;
	c.queue_id = (__u16)-1;
	c.addr = (uintptr_t)addr;
	c.len = len;
	return c;
}

/*
 * A well-formed control command on @c; START and DEL are interruptible.
 * Under -U the commands to a device carry the path of its node, in front
 * of the payload, as the driver wants for an unprivileged device.
 */
static int ctrl_simple(struct ctl *c, struct tmr *t, uint32_t op,
		       const struct ubd_ctrl_cmd *cmd)
{
	int nr = ctrl_nr(op);
	struct ubd_ctrl_cmd pc;
	char buf[64 + 512];
	int plen, ret;

	if (!g_unpriv || nr == UBD_CMD_ADD_DEV || nr == 0x13 ||
	    cmd->len > sizeof(buf) - 64)
		return ctl_send(c, t, c->fd, op, cmd, sizeof(*cmd), 0, 200,
				10000);
	plen = snprintf(buf, 64, "/dev/ubdc%u", cmd->dev_id) + 1;
	if (cmd->len)
		memcpy(buf + plen, (void *)(uintptr_t)cmd->addr, cmd->len);
	pc = *cmd;
	pc.addr = (uintptr_t)buf;
	pc.len = plen + cmd->len;
	pc.dev_path_len = plen;
	ret = ctl_send(c, t, c->fd, op, &pc, sizeof(pc), 0, 200, 10000);
	if (!ret && cmd->len)
		memcpy((void *)(uintptr_t)cmd->addr, buf + plen, cmd->len);
	return ret;
}

/* ADD flags for a device we mean to use: unprivileged under -U */
static uint64_t own_flags(uint64_t flags)
{
	return g_unpriv ? flags | UBD_F_UNPRIVILEGED_DEV : flags;
}

/* ---- parameters ---- */

static void valid_params(struct rng *r, struct ubd_params *p, unsigned int max_io)
{
	struct ubd_param_basic *b = &p->basic;
	unsigned int lbs;

	memset(p, 0, sizeof(*p));
	p->len = sizeof(*p);
	p->types = UBD_PARAM_TYPE_BASIC;
	lbs = chance(r, 70) ? 9 : 9 + rnd(r, 4);
	b->logical_bs_shift = lbs;
	b->physical_bs_shift = lbs + rnd(r, 4);
	b->io_min_shift = chance(r, 50) ? 0 : lbs + rnd(r, 5);
	b->io_opt_shift = chance(r, 50) ? 0 : lbs + rnd(r, 10);
	b->max_sectors = chance(r, 50) ? 0 : 8 + rnd(r, max_io / 512 - 7);
	b->chunk_sectors = chance(r, 70) ? 0 : 1U << (lbs - 9 + rnd(r, 6));
	b->dev_sectors = (uint64_t)(rnd(r, 1 << 16) + 1) << 6;
	if (chance(r, 10))
		b->dev_sectors = 0;
	b->attrs = rnd(r, 16);
	if (chance(r, 15))
		b->virt_boundary_mask = (4096ULL << rnd(r, 4)) - 1;
	if (chance(r, 40)) {
		p->types |= UBD_PARAM_TYPE_DISCARD;
		p->discard.max_discard_segments = 1;
		p->discard.discard_granularity = 1U << (lbs + rnd(r, 4));
		p->discard.discard_alignment =
			rnd(r, p->discard.discard_granularity);
		p->discard.max_discard_sectors = rnd(r, 1 << 20);
		p->discard.max_write_zeroes_sectors = rnd(r, 1 << 20);
	}
	if (chance(r, 30)) {
		p->types |= UBD_PARAM_TYPE_DMA_ALIGN;
		p->dma.alignment = (1U << rnd(r, 12)) - 1;
	}
	if (chance(r, 30)) {
		p->types |= UBD_PARAM_TYPE_SEGMENT;
		p->seg.seg_boundary_mask = (4096ULL << rnd(r, 10)) - 1;
		p->seg.max_segment_size = 4096 + rnd(r, 1 << 20);
		p->seg.max_segments = 1 + rnd(r, 256);
	}
	/* virt_boundary_mask with SEGMENT: see -k */
}

static int g_avoid_known;	/* -k: steer clear of the known driver bugs */

static void mutate_params(struct rng *r, struct ubd_params *p)
{
	int n = 1 + rnd(r, 3);
	unsigned char *raw = (unsigned char *)p;

	while (n--) {
		switch (rnd(r, 14)) {
		case 0: p->types = rnd64(r); break;
		case 1: p->types |= 1U << rnd(r, 8); break;
		case 2: p->len = rnd(r, 3) ? rnd(r, 200) : (uint32_t)rnd64(r); break;
		case 3: p->basic.logical_bs_shift = rnd(r, 256); break;
		case 4: p->basic.physical_bs_shift = rnd(r, 40); break;
		case 5: p->basic.io_min_shift = rnd(r, 64); break;
		case 6: p->basic.io_opt_shift = rnd(r, 64); break;
		case 7: p->basic.max_sectors = rnd64(r); break;
		case 8: p->basic.chunk_sectors = rnd(r, 2) ? rnd64(r) : 1U << rnd(r, 32); break;
		case 9: p->basic.dev_sectors = rnd64(r) >> rnd(r, 64); break;
		case 10: p->basic.virt_boundary_mask = rnd(r, 2) ? rnd64(r) : (1ULL << rnd(r, 64)) - 1; break;
		case 11: p->discard.discard_granularity = rnd64(r); p->discard.max_discard_segments = rnd(r, 3); break;
		case 12: p->seg.seg_boundary_mask = (1ULL << rnd(r, 64)) - 1; p->seg.max_segment_size = rnd64(r); p->seg.max_segments = rnd(r, 3); break;
		default: raw[rnd(r, sizeof(*p))] = rnd(r, 256); break;
		}
	}
}

/* ---- fuzz threads ---- */

struct ioctx {
	bool used;
	unsigned int id;
	int fd;
	bool fixed;
	bool ring_ok;
	struct io_uring ring;
	unsigned int nq, depth;
	void *map[MAX_MAPS];
	size_t maplen[MAX_MAPS];
};

struct fthread {
	int idx;
	pthread_t th;
	struct rng r;
	struct tmr tmr;
	struct ctl ctl;
	char *buf;		/* BUF_SIZE bytes, then a guard page */
	struct ioctx io[MAX_IOCTX];
	unsigned long fails;
};

static bool take_budget(void)
{
	if (g_stop)
		return false;
	if (__atomic_add_fetch(&g_sent, 1, __ATOMIC_RELAXED) > g_count) {
		g_stop = 1;
		return false;
	}
	return true;
}

/* an address for a command's buffer: mostly @good, else something bad */
static uint64_t pick_addr(struct fthread *t, void *good)
{
	struct rng *r = &t->r;

	switch (rnd(r, 20)) {
	case 0: return 0;
	case 1: return (uintptr_t)g_hole + g_page * rnd(r, 4);
	case 2: return 0xffff888000000000ULL + rnd(r, 4) * 4096;
	case 3: return 0xffffffff81000000ULL;
	case 4: return (uintptr_t)good + 1 + rnd(r, 7);
	case 5: return (uintptr_t)g_ropage;
	case 6: return 16;
	case 7: return 0x8000000000000000ULL | rnd64(r);
	case 8: return (uintptr_t)t->buf + BUF_SIZE - 1 - rnd(r, 64);
	default: return (uintptr_t)good;
	}
}

static uint16_t pick_len(struct rng *r, unsigned int exact)
{
	switch (rnd(r, 12)) {
	case 0: return 0;
	case 1: return 1 + rnd(r, 16);
	case 2: return 0xffff;
	case 3: return rnd(r, 0x10000);
	case 4: return exact ? exact - 1 : 1;
	case 5: return exact + 1 + rnd(r, 64);
	default: return exact;
	}
}

/* a device id: mostly one we made, sometimes any small one or garbage */
static uint32_t pick_id(struct fthread *t)
{
	struct rng *r = &t->r;
	int id;

	switch (rnd(r, 20)) {
	case 0: return (uint32_t)-1;
	case 1: return rnd64(r);
	case 2: return (1U << 20) - 1 + rnd(r, 3);
	case 3: case 4: case 5: case 6: return rnd(r, 8);
	default:
		id = pick_registered(r, false);
		return id >= 0 ? (uint32_t)id : rnd(r, 8);
	}
}

static const uint32_t ctrl_ops[] = {
	UBD_CMD_GET_QUEUE_AFFINITY, UBD_CMD_GET_DEV_INFO, UBD_CMD_ADD_DEV,
	UBD_CMD_DEL_DEV, UBD_CMD_START_DEV, UBD_CMD_STOP_DEV,
	UBD_CMD_SET_PARAMS, UBD_CMD_GET_PARAMS, UBD_CMD_START_USER_RECOVERY,
	UBD_CMD_END_USER_RECOVERY, UBD_CMD_GET_DEV_INFO2,
	UBD_U_CMD_GET_QUEUE_AFFINITY, UBD_U_CMD_GET_DEV_INFO,
	UBD_U_CMD_ADD_DEV, UBD_U_CMD_DEL_DEV, UBD_U_CMD_START_DEV,
	UBD_U_CMD_STOP_DEV, UBD_U_CMD_SET_PARAMS, UBD_U_CMD_GET_PARAMS,
	UBD_U_CMD_START_USER_RECOVERY, UBD_U_CMD_END_USER_RECOVERY,
	UBD_U_CMD_GET_DEV_INFO2, UBD_U_CMD_GET_FEATURES,
	UBD_U_CMD_DEL_DEV_ASYNC, UBD_U_CMD_UPDATE_SIZE,
	UBD_U_CMD_QUIESCE_DEV, UBD_U_CMD_TRY_STOP_DEV, UBD_U_CMD_REG_BUF,
	UBD_U_CMD_UNREG_BUF,
};
#define NR_CTRL_OPS (sizeof(ctrl_ops) / sizeof(ctrl_ops[0]))

static uint32_t pick_ctrl_op(struct rng *r)
{
	switch (rnd(r, 20)) {
	case 0: return rnd64(r);
	case 1: return rnd(r, 0x100);
	case 2: return _IOC(rnd(r, 4), 'u', rnd(r, 0x30), sizeof(struct ubd_ctrl_cmd));
	case 3: return _IOC(rnd(r, 4), 'u', rnd(r, 0x30), rnd(r, 0x4000));
	case 4: return _IOC(rnd(r, 4), 'a' + rnd(r, 26), rnd(r, 0x30), 32);
	default: return ctrl_ops[rnd(r, NR_CTRL_OPS)];
	}
}

static void random_dev_info(struct rng *r, struct ubd_ctrl_dev_info *info,
			    uint32_t id)
{
	memset(info, 0, sizeof(*info));
	info->dev_id = id;
	info->nr_hw_queues = chance(r, 85) ? 1 + rnd(r, 4) :
		(rnd(r, 2) ? 0 : rnd(r, 0x10000));
	info->queue_depth = chance(r, 80) ? 1 + rnd(r, 64) :
		(uint16_t[]){ 0, 4096, 4097, 0xffff, 1024 }[rnd(r, 5)];
	info->max_io_buf_bytes = chance(r, 60) ? 0 :
		(chance(r, 70) ? 4096U << rnd(r, 14) : (uint32_t)rnd64(r));
	info->flags = chance(r, 50) ? rnd64(r) : (rnd64(r) & 0x7ff);
	info->ubdsrv_flags = rnd64(r);
	if (chance(r, 20)) {
		info->state = rnd(r, 8);
		info->ubdsrv_pid = rnd64(r);
		info->owner_uid = rnd64(r);
		info->reserved1 = rnd64(r);
	}
}

/*
 * Put a char-node path in front of the payload of @c (at t->buf, @c->len
 * bytes): mostly the right node, else another device's, other files, a
 * path without its NUL, too long, or garbage; and now and then a
 * dev_path_len that does not fit.
 */
static void add_path(struct fthread *t, struct ubd_ctrl_cmd *c)
{
	static const char *const others[] = {
		"/dev/null", "/", "/dev/ubd-control", "", "/proc/self/exe",
		"/dev/ubdb0", "/tmp", "/dev/ubdc", "/dev/ubdc0/", "//dev//ubdc1",
	};
	static char tmp[MAX_THREADS][PATH_MAX + 2];
	struct rng *r = &t->r;
	char *path = tmp[t->idx];
	size_t plen, payload = c->len;

	switch (rnd(r, 10)) {
	case 0: case 1: case 2: case 3:
		plen = snprintf(path, 64, "/dev/ubdc%u", c->dev_id) + 1;
		break;
	case 4:		/* no NUL: the length ends it */
		plen = snprintf(path, 64, "/dev/ubdc%u", c->dev_id);
		break;
	case 5:
		plen = snprintf(path, 64, "/dev/ubdc%u", rnd(r, 8)) + 1;
		break;
	case 6:
		plen = strlen(strcpy(path, others[rnd(r, 10)])) + 1;
		break;
	case 7:		/* around PATH_MAX */
		plen = PATH_MAX - 1 + rnd(r, 3);
		memset(path, '/', plen);
		if (rnd(r, 2))
			path[plen - 1] = '\0';
		break;
	case 8:
		plen = 1 + rnd(r, 64);
		for (size_t i = 0; i < plen; i++)
			path[i] = rnd64(r);
		break;
	default:
		plen = snprintf(path, 64, "/dev/../dev/ubdc%u", c->dev_id) + 1;
		break;
	}
	if (c->addr == (uintptr_t)t->buf && plen + payload <= BUF_SIZE) {
		memmove(t->buf + plen, t->buf, payload);
		memcpy(t->buf, path, plen);
		c->len = plen + payload > 0xffff ? 0xffff : plen + payload;
	}
	c->dev_path_len = plen;
	if (chance(r, 10))
		c->dev_path_len = (uint16_t[]){ 0, (uint16_t)(c->len + 1),
						PATH_MAX + 1, 0xffff,
						(uint16_t)rnd(r, 0x10000) }[rnd(r, 5)];
	INC(g_paths);
}

/* one random or mutated control command */
static void fuzz_ctrl(struct fthread *t)
{
	struct rng *r = &t->r;
	struct ubd_ctrl_cmd c;
	char *buf = t->buf;
	uint32_t op = pick_ctrl_op(r);
	int nr = ctrl_nr(op);
	unsigned int exact = 0, sqe_flags = 0;
	long tmo = 200;
	int fd = t->ctl.fd, ret;
	bool add_with_buf = false, want_path = false;

	memset(buf, 0, 512);
	c = mkcmd(pick_id(t), buf, 0);
	if (chance(r, 10))
		c.queue_id = rnd(r, 4) ? rnd(r, 8) : rnd(r, 0x10000);

	switch (nr) {
	case UBD_CMD_ADD_DEV:
		if (nr_devs() >= MAX_DEVS - 2) {
			/* too many: look at one instead */
			op = UBD_U_CMD_GET_DEV_INFO;
			nr = UBD_CMD_GET_DEV_INFO;
			exact = sizeof(struct ubd_ctrl_dev_info);
			break;
		}
		c.dev_id = chance(r, 70) ? (uint32_t)-1 : pick_id(t);
		random_dev_info(r, (struct ubd_ctrl_dev_info *)buf,
				chance(r, 90) ? c.dev_id : pick_id(t));
		exact = sizeof(struct ubd_ctrl_dev_info);
		add_with_buf = true;
		break;
	case UBD_CMD_GET_DEV_INFO:
		exact = sizeof(struct ubd_ctrl_dev_info);
		break;
	case UBD_CMD_GET_DEV_INFO2:
		exact = sizeof(struct ubd_ctrl_dev_info);
		want_path = true;
		break;
	case UBD_CMD_SET_PARAMS:
		valid_params(r, (struct ubd_params *)buf, 512 << 10);
		if (chance(r, 70))
			mutate_params(r, (struct ubd_params *)buf);
		if (g_avoid_known && (((struct ubd_params *)buf)->types &
				      UBD_PARAM_TYPE_SEGMENT))
			((struct ubd_params *)buf)->basic.virt_boundary_mask = 0;
		exact = sizeof(struct ubd_params);
		break;
	case UBD_CMD_GET_PARAMS:
		((struct ubd_params *)buf)->len =
			rnd(r, 3) ? sizeof(struct ubd_params) : rnd(r, 400);
		exact = sizeof(struct ubd_params);
		break;
	case UBD_CMD_GET_QUEUE_AFFINITY:
		exact = rnd(r, 2) ? 8 : 128;
		c.data[0] = rnd(r, 4) ? rnd(r, 3) : rnd64(r);
		break;
	case UBD_CMD_START_DEV:
		c.data[0] = rnd(r, 4) ? (uint64_t)getpid() :
			(uint64_t[]){ 0, 1, (uint64_t)-1, 4194304, 4194305,
				      rnd64(r) }[rnd(r, 6)];
		tmo = 50 + rnd(r, 200);
		break;
	case UBD_CMD_DEL_DEV:
		tmo = 100 + rnd(r, 300);
		break;
	case 0x13:	/* GET_FEATURES */
		exact = UBD_FEATURES_LEN;
		break;
	default:
		exact = rnd(r, 64);
		c.data[0] = rnd64(r);
		break;
	}
	c.len = exact;
	if (chance(r, 25))
		c.len = pick_len(r, exact);
	if (chance(r, 25))
		c.addr = pick_addr(t, buf);
	if (chance(r, 5))
		c.data[0] = rnd64(r);
	if (chance(r, 3))
		c.pad = rnd(r, 0x10000), c.reserved = rnd64(r);
	/* the path of the device's node, as unprivileged devices need */
	if (nr != UBD_CMD_ADD_DEV && nr != 0x13 &&
	    (want_path || chance(r, g_unpriv ? 70 : 30)))
		add_path(t, &c);

	/* now and then: run it from io-wq, or send it where it does not go */
	if (chance(r, 4) && !(g_avoid_known && (nr == UBD_CMD_START_DEV ||
	    nr == UBD_CMD_DEL_DEV)))
		sqe_flags = IOSQE_ASYNC;
	if (chance(r, 2)) {
		int i = rnd(r, MAX_IOCTX);

		fd = t->io[i].used ? t->io[i].fd : rnd(r, 2) ? 0 : 1000 + (int)rnd(r, 20);
	}

	if (!take_budget())
		return;
	ret = ctl_send(&t->ctl, &t->tmr, fd, op, &c, sizeof(c), sqe_flags,
		       tmo, sqe_flags ? 1500 : 10000);
	if (ret == RES_ORPHAN)
		return;
	count_res(ret);
	if (ret == 0 && nr >= 0 && nr < 0x20 && fd == t->ctl.fd)
		INC(g_ok_ctrl[nr]);
	if (fd != t->ctl.fd)
		return;
	if (nr == UBD_CMD_ADD_DEV && ret == 0 && add_with_buf &&
	    c.addr == (uintptr_t)buf) {
		unsigned int id = ((struct ubd_ctrl_dev_info *)buf)->dev_id;

		dev_register(id, NULL);
		if (g_verbose)
			fprintf(stderr, "t%d: ADD %u\n", t->idx, id);
	}
	if ((nr == UBD_CMD_DEL_DEV || nr == 0x14) &&
	    (ret == 0 || ret == -EINTR || ret == -ENODEV))
		dev_forget(c.dev_id);
}

/* ---- helpers: serve a device for real ---- */

struct helper {
	pthread_t th;
	unsigned int id;
	unsigned int nq, depth;
	struct rng r;
	volatile int quit;
	volatile int done;
	volatile int fetched;	/* every tag parked at least once */
	bool user_copy;		/* the device was granted USER_COPY */
	/* the racing pread/pwrite thread of a USER_COPY helper */
	pthread_t copier;
	volatile int copier_stop;
	int fd;
	struct rng copier_r;
};

/*
 * One pread or pwrite at a user-copy offset of @fd: mostly one shaped
 * right (a queue and tag in range, a small offset), else anything; into
 * @good or a bad buffer.
 */
static void ucopy_once(struct rng *r, int fd, unsigned int nq,
		       unsigned int depth, char *good, size_t goodlen)
{
	unsigned int q = chance(r, 85) ? rnd(r, nq) :
		(unsigned int[]){ nq, 0xfff, 4096, rnd(r, 0x10000) }[rnd(r, 4)];
	unsigned int tag = chance(r, 85) ? rnd(r, depth) :
		(unsigned int[]){ depth, 0xffff, rnd(r, 0x10000) }[rnd(r, 3)];
	unsigned int off = (unsigned int[]){ 0, 0, 0, 512 * rnd(r, 128),
					     rnd(r, 1 << 16),
					     rnd(r, 1 << 25) }[rnd(r, 6)];
	uint64_t pos = ubdsrv_user_copy_pos(q, tag, off);
	size_t len = chance(r, 70) ? 512U << rnd(r, 5) : rnd(r, goodlen + 1);
	char *buf = good;
	ssize_t ret;

	switch (rnd(r, 16)) {
	case 0: pos = rnd64(r) & 0x7fffffffffffffffULL; break;
	case 1: pos = rnd(r, UBDSRV_IO_BUF_OFFSET); break;
	case 2: pos |= UBDSRV_IO_INTEGRITY_FLAG; break;
	case 3: pos = UBDSRV_IO_BUF_OFFSET + UBDSRV_IO_BUF_TOTAL_SIZE +
		      rnd(r, 1 << 20); break;
	}
	switch (rnd(r, 16)) {
	case 0: buf = g_hole; break;
	case 1: buf = g_ropage; len = len > 4096 ? 4096 : len; break;
	case 2: buf = good + goodlen - 1 - rnd(r, 64); break;	/* runs off */
	}
	if (buf == good && len > goodlen)
		len = goodlen;
	INC(g_ucopy);
	ret = rnd(r, 2) ? pread(fd, buf, len, pos) : pwrite(fd, buf, len, pos);
	if (ret < 0) {
		count_res(-errno);
		return;
	}
	count_res(0);
	__atomic_add_fetch(&g_ucopy_bytes, ret, __ATOMIC_RELAXED);
}

/* a USER_COPY helper's second thread: copies racing with everything */
static void *copier_main(void *arg)
{
	struct helper *h = arg;
	/* a guard page after it: some copies are meant to run off the end */
	char *buf = mmap(NULL, HELPER_IO_BYTES + g_page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED)
		return NULL;
	mprotect(buf + HELPER_IO_BYTES, g_page, PROT_NONE);
	while (!h->copier_stop && !g_stop) {
		ucopy_once(&h->copier_r, h->fd, h->nq, h->depth, buf,
			   HELPER_IO_BYTES);
		if (chance(&h->copier_r, 10))
			usleep(rnd(&h->copier_r, 2000));
	}
	munmap(buf, HELPER_IO_BYTES + g_page);
	return NULL;
}

enum { K_FETCH = 1, K_COMMIT, K_NGD };

static uint64_t hud(int kind, unsigned int q, unsigned int tag)
{
	return (uint64_t)kind << 32 | q << 16 | tag;
}

/*
 * The helper's ring has the first half of its buffers registered: commands
 * that name that buffer (IORING_URING_CMD_FIXED) have the driver copy
 * through it, or, for an address outside it, through plain memory.
 */
static __thread bool t_fixed_buf;

static void h_io(struct io_uring *ring, uint32_t op, unsigned int q,
		 unsigned int tag, uint64_t addr, int result, int kind)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct ubd_io_cmd *cmd;

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return;
	}
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, 0, NULL, 0, 0);
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->cmd_op = op;
	sqe->user_data = hud(kind, q, tag);
	cmd = (struct ubd_io_cmd *)sqe->cmd;
	cmd->q_id = q;
	cmd->tag = tag;
	cmd->result = result;
	cmd->addr = addr;
	if (t_fixed_buf && (q + tag + kind) % 3) {
		sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
		sqe->buf_index = 0;
	}
}

static bool dev_exists(unsigned int id)
{
	char p[64];

	snprintf(p, sizeof(p), "/sys/class/ubd-char/ubdc%u", id);
	return access(p, F_OK) == 0;
}

static void *helper_main(void *arg)
{
	struct helper *h = arg;
	struct rng *r = &h->r;
	unsigned int n = h->nq * h->depth, q, tag, armed = 0;
	struct ubd_io_desc *descs[4] = { 0 };
	size_t dsz = ((h->depth * sizeof(struct ubd_io_desc)) + 4095) & ~4095UL;
	struct io_uring ring;
	char *bufs;
	bool *live;
	int fd;
	char path[64];
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	snprintf(path, sizeof(path), "/dev/ubdc%u", h->id);
	fd = open(path, O_RDWR);
	if (fd < 0)
		goto out;
	bufs = mmap(NULL, (size_t)n * HELPER_IO_BYTES, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	live = calloc(n, sizeof(*live));
	if (bufs == MAP_FAILED || !live ||
	    io_uring_queue_init(2 * n + 8, &ring, 0)) {
		close(fd);
		goto out;
	}
	io_uring_register_files(&ring, &fd, 1);
	{
		struct iovec half = {
			.iov_base = bufs,
			.iov_len = (size_t)n * HELPER_IO_BYTES / 2 & ~4095UL,
		};

		t_fixed_buf = half.iov_len &&
			      !io_uring_register_buffers(&ring, &half, 1);
	}
	for (q = 0; q < h->nq; q++) {
		void *p = mmap(NULL, dsz, PROT_READ, MAP_SHARED, fd,
			       q * DESC_STRIDE);

		descs[q] = p == MAP_FAILED ? NULL : p;
	}
	h->fd = fd;
	h->copier_r.s = rnd64(r) | 1;
	if (h->user_copy && pthread_create(&h->copier, NULL, copier_main, h))
		h->user_copy = false;
/* a FETCH's buffer address: none with user copy, except rarely */
#define ADDR(q, tag) (h->user_copy && !chance(r, 2) ? 0 : \
		      (uintptr_t)BUF(q, tag))

#define BUF(q, tag) (bufs + ((size_t)(q) * h->depth + (tag)) * HELPER_IO_BYTES)
	for (;;) {
		struct io_uring_cqe *cqe;
		struct __kernel_timespec ts = { 0, 20 * 1000000 };
		unsigned int head, seen = 0;

		if (h->quit)
			break;
		/* nothing parked: (re)fetch, unless the device is gone */
		if (!armed) {
			/* -k: a FETCH racing with DEL parks forever */
			if (!dev_exists(h->id) || (h->fetched && g_avoid_known))
				break;
			for (q = 0; q < h->nq; q++)
				for (tag = 0; tag < h->depth; tag++)
					h_io(&ring, rnd(r, 2) ? UBD_U_IO_FETCH_REQ :
					     UBD_IO_FETCH_REQ, q, tag,
					     ADDR(q, tag), 0, K_FETCH);
			io_uring_submit(&ring);
			armed = n;
			memset(live, 1, n);
			h->fetched = 1;
		}
		if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts))
			continue;
		io_uring_for_each_cqe(&ring, head, cqe) {
			int kind = cqe->user_data >> 32;
			unsigned int i;
			int res = cqe->res;

			q = (cqe->user_data >> 16) & 0xffff;
			tag = cqe->user_data & 0xffff;
			i = q * h->depth + tag;
			seen++;
			INC(g_served);
			if (kind == K_NGD) {
				/* the data is copied (or not): now answer */
				h_io(&ring, UBD_U_IO_COMMIT_AND_FETCH_REQ, q, tag,
				     (uintptr_t)BUF(q, tag),
				     res ? -EIO : (int)(descs[q] ?
				     descs[q][tag].nr_sectors << 9 : 4096), K_COMMIT);
				continue;
			}
			if (res == UBD_IO_RES_OK || res == UBD_IO_RES_NEED_GET_DATA) {
				const struct ubd_io_desc *d = descs[q] ? &descs[q][tag] : NULL;
				int bytes = d ? (int)(d->nr_sectors << 9) : 4096;
				int result = bytes;
				/* (a refused COMMIT would leave its request hanging) */
				uint64_t next = h->user_copy ? 0 :
						(uintptr_t)BUF(q, tag);

				/* move the data as a USER_COPY server must */
				if (h->user_copy && d && chance(r, 90)) {
					bool in = (d->op_flags & 0xff) ==
						  UBD_IO_OP_WRITE;
					uint64_t pos = ubdsrv_user_copy_pos(q, tag, 0);
					size_t len = bytes > HELPER_IO_BYTES ?
						     HELPER_IO_BYTES : bytes;
					ssize_t n;

					if (chance(r, 10))
						in = !in;
					INC(g_ucopy);
					n = in ? pread(fd, BUF(q, tag), len, pos) :
						 pwrite(fd, BUF(q, tag), len, pos);
					count_res(n < 0 ? -errno : 0);
					if (n > 0)
						__atomic_add_fetch(&g_ucopy_bytes, n,
								   __ATOMIC_RELAXED);
				}

				if (res == UBD_IO_RES_NEED_GET_DATA) {
					uint64_t a = next;

					if (chance(r, 10))
						a = chance(r, 50) ? (uintptr_t)g_ropage :
							(uintptr_t)g_hole;
					h_io(&ring, UBD_U_IO_NEED_GET_DATA, q, tag,
					     a, 0, K_NGD);
					continue;
				}
				switch (rnd(r, 12)) {
				case 0: result = 0; break;
				case 1: result = -EIO; break;
				case 2: result = bytes ? rnd(r, bytes) : 0; break;
				case 3: result = (int)rnd64(r); break;
				case 4: result = -ENOSPC; break;
				}
				if (chance(r, 5) && !h->user_copy)
					next = chance(r, 50) ? (uintptr_t)g_ropage :
						(uintptr_t)g_hole;
				INC(g_commits);
				h_io(&ring, rnd(r, 2) ? UBD_U_IO_COMMIT_AND_FETCH_REQ :
				     UBD_IO_COMMIT_AND_FETCH_REQ, q, tag, next,
				     result, K_COMMIT);
				continue;
			}
			/* ABORT, or our command failed: the tag is not parked */
			if (res == UBD_IO_RES_ABORT)
				INC(g_aborts);
			else
				count_res(res);
			if (i < n && live[i]) {
				live[i] = 0;
				armed--;
			}
		}
		io_uring_cq_advance(&ring, seen);
		io_uring_submit(&ring);
	}
#undef ADDR
	/* before the fd goes: its number could name another file then */
	if (h->user_copy) {
		h->copier_stop = 1;
		pthread_join(h->copier, NULL);
	}
	for (q = 0; q < h->nq; q++)
		if (descs[q])
			munmap(descs[q], dsz);
	/* parked commands may stay: STOP or DEL completes them */
	io_uring_queue_exit(&ring);
	close(fd);
	munmap(bufs, (size_t)n * HELPER_IO_BYTES);
	free(live);
out:
	pthread_mutex_lock(&g_lock);
	g_nr_helpers--;
	pthread_mutex_unlock(&g_lock);
	h->done = 1;
	return NULL;
}

static void helper_quit(struct helper *h)
{
	h->quit = 1;
}

/* a small device with valid parameters and a helper serving it */
static void make_served(struct fthread *t)
{
	struct rng *r = &t->r;
	struct ubd_ctrl_dev_info *info = (void *)t->buf;
	struct ubd_params *p = (void *)(t->buf + 1024);
	struct ubd_ctrl_cmd c;
	struct helper *h;
	int ret;

	pthread_mutex_lock(&g_lock);
	if (g_nr_helpers >= MAX_HELPERS ||
	    g_nh >= (int)(sizeof(g_helpers) / sizeof(g_helpers[0]))) {
		pthread_mutex_unlock(&g_lock);
		return;
	}
	g_nr_helpers++;
	pthread_mutex_unlock(&g_lock);

	memset(info, 0, sizeof(*info));
	info->dev_id = -1;
	info->nr_hw_queues = 1 + rnd(r, 2);
	info->queue_depth = 1 + rnd(r, 8);
	info->max_io_buf_bytes = HELPER_IO_BYTES;
	/* an unprivileged device may not have USER_COPY */
	info->flags = own_flags((uint64_t[]){ 0, 0, UBD_F_NEED_GET_DATA,
				    UBD_F_USER_COPY, UBD_F_USER_COPY,
				    UBD_F_USER_COPY | UBD_F_NEED_GET_DATA }
				  [rnd(r, g_unpriv ? 3 : 6)]);
	c = mkcmd(-1, info, sizeof(*info));
	if (!take_budget())
		goto fail;
	ret = ctrl_simple(&t->ctl, &t->tmr, UBD_U_CMD_ADD_DEV, &c);
	count_res(ret);
	if (ret)
		goto fail;
	INC(g_ok_ctrl[UBD_CMD_ADD_DEV]);
	valid_params(r, p, HELPER_IO_BYTES);
	if (g_avoid_known && (p->types & UBD_PARAM_TYPE_SEGMENT))
		p->basic.virt_boundary_mask = 0;
	c = mkcmd(info->dev_id, p, sizeof(*p));
	if (take_budget()) {
		ret = ctrl_simple(&t->ctl, &t->tmr, UBD_U_CMD_SET_PARAMS, &c);
		count_res(ret);
		if (!ret)
			INC(g_ok_ctrl[UBD_CMD_SET_PARAMS]);
	}

	h = calloc(1, sizeof(*h));
	if (!h)
		goto fail;
	h->id = info->dev_id;
	h->nq = info->nr_hw_queues;
	h->depth = info->queue_depth;
	h->user_copy = info->flags & UBD_F_USER_COPY;
	h->r.s = rnd64(r) | 1;
	if (pthread_create(&h->th, NULL, helper_main, h)) {
		free(h);
		dev_register(info->dev_id, NULL);
		goto fail;
	}
	pthread_mutex_lock(&g_lock);
	g_helpers[g_nh++] = h;
	pthread_mutex_unlock(&g_lock);
	dev_register(h->id, h);
	if (g_verbose)
		fprintf(stderr, "t%d: serving %u (%u x %u)\n", t->idx, h->id,
			h->nq, h->depth);
	return;
fail:
	pthread_mutex_lock(&g_lock);
	g_nr_helpers--;
	pthread_mutex_unlock(&g_lock);
}

/* START, STOP, or some block io on a served device */
static void drive_served(struct fthread *t)
{
	struct rng *r = &t->r;
	int id = pick_registered(r, true);
	struct ubd_ctrl_cmd c;
	int ret, nr;
	uint32_t op;

	if (id < 0)
		return;
	c = mkcmd(id, NULL, 0);
	switch (rnd(r, 10)) {
	case 0: case 1: case 2: case 3:
		op = rnd(r, 2) ? UBD_U_CMD_START_DEV : UBD_CMD_START_DEV;
		c.data[0] = getpid();
		break;
	case 4: case 5:
		op = rnd(r, 2) ? UBD_U_CMD_STOP_DEV : UBD_CMD_STOP_DEV;
		break;
	case 6:
		op = rnd(r, 3) ? UBD_U_CMD_DEL_DEV : UBD_U_CMD_DEL_DEV_ASYNC;
		break;
	default: {
		char path[64];
		int fd;
		void *p;

		/* block io through the server */
		snprintf(path, sizeof(path), "/dev/ubdb%d", id);
		fd = open(path, (rnd(r, 2) ? O_RDWR : O_RDONLY) |
			  (rnd(r, 3) ? O_DIRECT : 0));
		if (fd < 0)
			return;
		if (!posix_memalign(&p, 4096, 65536)) {
			off_t off = (off_t)rnd(r, 256) * 4096;
			size_t len = 512 << rnd(r, 8);

			INC(g_bio);
			if (rnd(r, 2))
				(void)!pread(fd, p, len, off);
			else
				(void)!pwrite(fd, p, len, off);
			if (chance(r, 10))
				fsync(fd);
			free(p);
		}
		close(fd);
		return;
	}
	}
	if (!take_budget())
		return;
	nr = ctrl_nr(op);
	ret = ctrl_simple(&t->ctl, &t->tmr, op, &c);
	count_res(ret);
	if (!ret && nr >= 0 && nr < 0x20)
		INC(g_ok_ctrl[nr]);
	if ((nr == UBD_CMD_DEL_DEV || nr == 0x14) &&
	    (ret == 0 || ret == -EINTR || ret == -ENODEV))
		dev_forget(id);
}

/* ---- io commands on /dev/ubdcN ---- */

static void ioctx_close(struct ioctx *x, struct rng *r)
{
	int i;

	for (i = 0; i < MAX_MAPS; i++)
		if (x->map[i]) {
			munmap(x->map[i], x->maplen[i]);
			x->map[i] = NULL;
		}
	/* close ring and fd in either order: parked FETCHes stay parked */
	if (rnd(r, 2)) {
		if (x->ring_ok)
			io_uring_queue_exit(&x->ring);
		close(x->fd);
	} else {
		close(x->fd);
		if (x->ring_ok)
			io_uring_queue_exit(&x->ring);
	}
	x->ring_ok = false;
	x->used = false;
}

static bool ioctx_ring(struct ioctx *x, struct rng *r)
{
	if (io_uring_queue_init(64, &x->ring, 0))
		return false;
	x->ring_ok = true;
	x->fixed = rnd(r, 2) && io_uring_register_files(&x->ring, &x->fd, 1) == 0;
	return true;
}

static void ioctx_open(struct fthread *t, struct ioctx *x)
{
	struct rng *r = &t->r;
	struct ubd_ctrl_dev_info info;
	struct ubd_ctrl_cmd c;
	char path[64];
	int id = rnd(r, 5) ? pick_registered(r, false) : (int)rnd(r, 8);

	if (id < 0)
		id = rnd(r, 8);
	snprintf(path, sizeof(path), "/dev/ubdc%d", id);
	x->fd = open(path, rnd(r, 8) ? O_RDWR : O_RDONLY);
	if (x->fd < 0)
		return;
	x->id = id;
	x->nq = 1;
	x->depth = 8;
	c = mkcmd(id, &info, sizeof(info));
	if (ctrl_simple(&t->ctl, &t->tmr, UBD_U_CMD_GET_DEV_INFO, &c) == 0) {
		x->nq = info.nr_hw_queues;
		x->depth = info.queue_depth;
	}
	x->used = true;
	x->ring_ok = false;
	ioctx_ring(x, r);
}

static void ioctx_drain(struct ioctx *x)
{
	struct io_uring_cqe *cqe;

	if (!x->ring_ok)
		return;
	while (io_uring_peek_cqe(&x->ring, &cqe) == 0) {
		if (cqe->res == UBD_IO_RES_ABORT)
			INC(g_aborts);
		else
			count_res(cqe->res);
		io_uring_cqe_seen(&x->ring, cqe);
	}
}

static const uint32_t io_ops[] = {
	UBD_IO_FETCH_REQ, UBD_IO_COMMIT_AND_FETCH_REQ, UBD_IO_NEED_GET_DATA,
	UBD_U_IO_FETCH_REQ, UBD_U_IO_COMMIT_AND_FETCH_REQ,
	UBD_U_IO_NEED_GET_DATA, UBD_U_IO_REGISTER_IO_BUF,
	UBD_U_IO_UNREGISTER_IO_BUF, UBD_U_IO_PREP_IO_CMDS,
	UBD_U_IO_COMMIT_IO_CMDS, UBD_U_IO_FETCH_IO_CMDS,
};

static void fuzz_io(struct fthread *t, struct ioctx *x)
{
	struct rng *r = &t->r;
	struct io_uring_sqe *sqe;
	struct ubd_io_cmd *cmd;
	uint32_t op;
	unsigned int nr;

	if (!x->ring_ok && !ioctx_ring(x, r))
		return;
	ioctx_drain(x);
	if (io_uring_sq_space_left(&x->ring) < 1 ||
	    *x->ring.cq.khead + 60 < *x->ring.cq.ktail)
		return;
	switch (rnd(r, 12)) {
	case 0: op = rnd64(r); break;
	case 1: op = _IOC(rnd(r, 4), 'u', 0x20 + rnd(r, 8), rnd(r, 64)); break;
	case 2: op = rnd(r, 0x100); break;
	default: op = io_ops[rnd(r, sizeof(io_ops) / sizeof(io_ops[0]))]; break;
	}
	sqe = io_uring_get_sqe(&x->ring);
	if (!sqe || !take_budget())
		return;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, x->fixed ? 0 : x->fd, NULL,
			 0, 0);
	if (x->fixed)
		sqe->flags = IOSQE_FIXED_FILE;
	if (chance(r, 3))
		sqe->flags |= IOSQE_ASYNC;
	if (chance(r, 2))
		sqe->fd = rnd(r, 2) ? 1000 : t->ctl.fd;	/* wrong file */
	sqe->cmd_op = op;
	sqe->user_data = op;
	cmd = (struct ubd_io_cmd *)sqe->cmd;
	cmd->q_id = chance(r, 85) ? rnd(r, x->nq) :
		(uint16_t[]){ x->nq, 0xffff, 4096, rnd(r, 0x10000) }[rnd(r, 4)];
	cmd->tag = chance(r, 85) ? rnd(r, x->depth) :
		(uint16_t[]){ x->depth, 0xffff, 4096, rnd(r, 0x10000) }[rnd(r, 4)];
	cmd->result = rnd(r, 2) ? 4096 : (int)rnd64(r);
	cmd->addr = pick_addr(t, t->buf);
	if (chance(r, 2))
		sqe->addr = rnd64(r);
	/*
	 * Never arm (0, 0): a device with every tag fetched by a fuzz thread
	 * could be STARTed, and its disk would wait for a server that does
	 * not serve.
	 */
	nr = _IOC_NR(op);
	if ((_IOC_TYPE(op) == 0 || (_IOC_TYPE(op) == 'u' &&
	     _IOC_SIZE(op) == sizeof(struct ubd_io_cmd))) &&
	    nr == UBD_IO_FETCH_REQ && ((cmd->q_id == 0 && cmd->tag == 0) ||
	    (g_avoid_known && !dev_exists(x->id))))
		cmd->addr = 0;
	io_uring_submit(&x->ring);
	/* an inline answer is there now; a parked FETCH leaves none */
	if (io_uring_cq_ready(&x->ring) == 0)
		INC(g_parked);
	ioctx_drain(x);
}

static void fuzz_mmap(struct fthread *t, struct ioctx *x)
{
	struct rng *r = &t->r;
	size_t len = (size_t[]){ 4096, 8192, 4096 * 24, 98304, 1 << 20,
				 4096 }[rnd(r, 6)];
	off_t off;
	int prot, i;
	void *p;

	switch (rnd(r, 6)) {
	case 0: off = 4096 * rnd(r, 64); break;
	case 1: off = (off_t)rnd64(r) & ~4095LL & 0x7fffffffffffLL; break;
	case 2: off = 0x80000000LL; break;
	default: off = (off_t)DESC_STRIDE * rnd(r, x->nq + 1); break;
	}
	prot = (int[]){ PROT_READ, PROT_READ, PROT_WRITE, PROT_READ | PROT_WRITE,
			PROT_READ | PROT_EXEC, PROT_NONE }[rnd(r, 6)];
	if (!take_budget())
		return;
	INC(g_mmaps);
	p = mmap(NULL, len, prot, rnd(r, 5) ? MAP_SHARED : MAP_PRIVATE, x->fd, off);
	if (p == MAP_FAILED) {
		count_res(-errno);
		return;
	}
	count_res(0);
	if (prot & PROT_READ)
		(void)*(volatile char *)p;
	if (rnd(r, 3) && mprotect(p, len, PROT_READ | PROT_WRITE) == 0) {
		INC(g_bad_mprotect);	/* must never be allowed */
		fprintf(stderr, "ubd-fuzz: descriptors made writable\n");
	}
	for (i = 0; i < MAX_MAPS; i++)
		if (!x->map[i]) {
			x->map[i] = p;
			x->maplen[i] = len;
			return;
		}
	munmap(p, len);
}

/* a child holds the fds for a moment (and maybe FETCHes), then exits */
static void fork_child(struct fthread *t, struct ioctx *x)
{
	struct rng *r = &t->r;
	unsigned int ms = rnd(r, 150), q = rnd(r, x->nq), tag = rnd(r, x->depth);
	bool fetch = rnd(r, 2);
	pid_t pid;

	if (!take_budget())
		return;
	INC(g_forks);
	pid = fork();
	if (pid == 0) {
		struct io_uring ring;

		if (fetch && !(q == 0 && tag == 0) &&
		    !(g_avoid_known && !dev_exists(x->id)) &&
		    io_uring_queue_init(4, &ring, 0) == 0) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			struct ubd_io_cmd *cmd = (struct ubd_io_cmd *)sqe->cmd;

			io_uring_prep_rw(IORING_OP_URING_CMD, sqe, x->fd, NULL, 0, 0);
			sqe->cmd_op = UBD_U_IO_FETCH_REQ;
			cmd->q_id = q;
			cmd->tag = tag;
			cmd->addr = (uintptr_t)t->buf;
			io_uring_submit(&ring);
		}
		usleep(ms * 1000);
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

static void fuzz_chardev(struct fthread *t)
{
	struct rng *r = &t->r;
	struct ioctx *x = &t->io[rnd(r, MAX_IOCTX)];

	if (!x->used) {
		ioctx_open(t, x);
		return;
	}
	switch (rnd(r, 40)) {
	case 0: case 1:
		ioctx_close(x, r);
		return;
	case 2:		/* the ring goes, parked FETCHes and all */
		if (x->ring_ok) {
			io_uring_queue_exit(&x->ring);
			x->ring_ok = false;
		}
		return;
	case 3: case 4: case 5:
		fuzz_mmap(t, x);
		return;
	case 6:
		fork_child(t, x);
		return;
	case 8: case 9:
		if (take_budget())
			ucopy_once(r, x->fd, x->nq, x->depth, t->buf, BUF_SIZE);
		return;
	case 7: {	/* a command on a closed fd */
		int fd = x->fd;

		close(fd);
		x->fd = open("/dev/null", O_RDONLY);	/* keep the number busy */
		if (x->ring_ok && !x->fixed)
			fuzz_io(t, x);
		ioctx_close(x, r);
		return;
	}
	default:
		fuzz_io(t, x);
		return;
	}
}

static void *fuzz_main(void *arg)
{
	struct fthread *t = arg;
	int i;

	tmr_init(&t->tmr);
	if (ctl_open(&t->ctl)) {
		t->fails++;
		return NULL;
	}
	while (!g_stop) {
		unsigned int what = rnd(&t->r, 100);

		if (!t->ctl.ok && ctl_open(&t->ctl)) {
			t->fails++;
			break;
		}
		if (what < 40)
			fuzz_ctrl(t);
		else if (what < 75)
			fuzz_chardev(t);
		else if (what < 77)
			make_served(t);
		else if (what < 92)
			drive_served(t);
		else if (what < 93) {
			/* reopen the control node and ring */
			ctl_close(&t->ctl);
		} else {
			/* a valid ADD, so that the ids fill up */
			struct ubd_ctrl_dev_info *info = (void *)t->buf;
			struct ubd_ctrl_cmd c;
			int ret;

			if (nr_devs() >= MAX_DEVS - 4 || !take_budget())
				continue;
			memset(info, 0, sizeof(*info));
			info->dev_id = -1;
			info->nr_hw_queues = 1 + rnd(&t->r, 3);
			info->queue_depth = 1 + rnd(&t->r, rnd(&t->r, 8) ? 16 : 4096);
			info->flags = own_flags(rnd64(&t->r));
			c = mkcmd(-1, info, sizeof(*info));
			ret = ctrl_simple(&t->ctl, &t->tmr, UBD_U_CMD_ADD_DEV, &c);
			count_res(ret);
			if (!ret) {
				INC(g_ok_ctrl[UBD_CMD_ADD_DEV]);
				dev_register(info->dev_id, NULL);
			}
		}
	}
	for (i = 0; i < MAX_IOCTX; i++)
		if (t->io[i].used)
			ioctx_close(&t->io[i], &t->r);
	ctl_close(&t->ctl);
	if (t->tmr.ok)
		timer_delete(t->tmr.id);
	return NULL;
}

/* ---- the end: delete everything, check that every id comes back ---- */

static int del_and_wait(struct ctl *c, struct tmr *t, unsigned int id)
{
	struct ubd_ctrl_dev_info info;
	struct ubd_ctrl_cmd cmd = mkcmd(id, NULL, 0);
	double end = now_s() + 20;
	int ret;

	ret = ctrl_simple(c, t, UBD_U_CMD_DEL_DEV, &cmd);
	count_res(ret);
	if (ret == 0)
		INC(g_ok_ctrl[UBD_CMD_DEL_DEV]);
	/* EINTR: our own process held /dev/ubdcN; it is deleted anyway */
	cmd = mkcmd(id, &info, sizeof(info));
	while (now_s() < end) {
		ret = ctrl_simple(c, t, UBD_U_CMD_GET_DEV_INFO, &cmd);
		if (ret == -ENODEV)
			return 0;
		msleep(50);
	}
	return -1;
}

/*
 * The id of a deleted device is free again once its last user is gone.
 * A free id comes back at once; the 10 s only keep a guest stalled under
 * emulation from passing for a leak.
 */
static bool id_comes_back(struct ctl *c, struct tmr *t, unsigned int id)
{
	struct ubd_ctrl_dev_info info;
	struct ubd_ctrl_cmd cmd;
	double end = now_s() + 10;
	int ret;

	do {
		memset(&info, 0, sizeof(info));
		info.dev_id = id;
		info.nr_hw_queues = 1;
		info.queue_depth = 1;
		info.flags = own_flags(0);
		cmd = mkcmd(id, &info, sizeof(info));
		ret = ctrl_simple(c, t, UBD_U_CMD_ADD_DEV, &cmd);
		if (ret == 0) {
			cmd = mkcmd(id, NULL, 0);
			ret = ctrl_simple(c, t, UBD_U_CMD_DEL_DEV, &cmd);
			return ret == 0;
		}
		if (ret != -EEXIST)
			return false;
		msleep(100);
	} while (now_s() < end);
	return false;
}


/* ---- -r NAME: minimal reproducers of what the fuzzer found ---- */

static int r_add(struct ctl *c, struct tmr *t, int nq, int depth)
{
	struct ubd_ctrl_dev_info info;
	struct ubd_ctrl_cmd cmd;
	int ret;

	memset(&info, 0, sizeof(info));
	info.dev_id = -1;
	info.nr_hw_queues = nq;
	info.queue_depth = depth;
	info.max_io_buf_bytes = HELPER_IO_BYTES;
	cmd = mkcmd(-1, &info, sizeof(info));
	ret = ctrl_simple(c, t, UBD_U_CMD_ADD_DEV, &cmd);
	printf("ADD (%d queues, depth %d): %d, id %u\n", nq, depth, ret,
	       info.dev_id);
	if (ret == 0 && info.dev_id < sizeof(g_created))
		g_created[info.dev_id] = 1;
	return ret ? ret : (int)info.dev_id;
}

static int r_io(struct io_uring *ring, int fd, uint32_t op, int q, int tag,
		void *addr)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct ubd_io_cmd *cmd = (struct ubd_io_cmd *)sqe->cmd;
	struct io_uring_cqe *cqe;
	int ret;

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = op;
	cmd->q_id = q;
	cmd->tag = tag;
	cmd->addr = (uintptr_t)addr;
	io_uring_submit(ring);
	if (io_uring_peek_cqe(ring, &cqe))
		return 1;	/* parked */
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

static int repro(const char *name)
{
	static char buf[HELPER_IO_BYTES];
	struct ctl c;
	struct tmr t;
	struct ubd_ctrl_cmd cmd;
	struct io_uring ring;
	char path[64];
	int id, fd, ret;

	if (ctl_open(&c)) {
		perror("/dev/ubd-control");
		return 2;
	}
	tmr_init(&t);
	if (!strcmp(name, "fetch-after-del")) {
		/* DEL while /dev/ubdcN is open, then FETCH on it */
		id = r_add(&c, &t, 1, 2);
		if (id < 0)
			return 1;
		snprintf(path, sizeof(path), "/dev/ubdc%d", id);
		fd = open(path, O_RDWR);
		io_uring_queue_init(8, &ring, 0);
		cmd = mkcmd(id, NULL, 0);
		ret = ctrl_simple(&c, &t, UBD_U_CMD_DEL_DEV, &cmd);
		printf("DEL with /dev/ubdc%d open: %d (EINTR by our timer)\n", id, ret);
		ret = r_io(&ring, fd, UBD_U_IO_FETCH_REQ, 0, 1, buf);
		printf("FETCH after DEL: %d (1 = parked)\n", ret);
		io_uring_queue_exit(&ring);
		close(fd);
	} else if (!strcmp(name, "async-start")) {
		/* START from io-wq on a device nobody fetched, then DEL */
		struct ubd_params p;

		id = r_add(&c, &t, 1, 2);
		if (id < 0)
			return 1;
		memset(&p, 0, sizeof(p));
		p.len = sizeof(p);
		p.types = UBD_PARAM_TYPE_BASIC;
		p.basic.logical_bs_shift = 9;
		p.basic.physical_bs_shift = 9;
		p.basic.dev_sectors = 2048;
		cmd = mkcmd(id, &p, sizeof(p));
		printf("SET_PARAMS: %d\n", ctrl_simple(&c, &t, UBD_U_CMD_SET_PARAMS, &cmd));
		cmd = mkcmd(id, NULL, 0);
		cmd.data[0] = getpid();
		ret = ctl_send(&c, &t, c.fd, UBD_U_CMD_START_DEV, &cmd,
			       sizeof(cmd), IOSQE_ASYNC, 200, 1000);
		printf("START with IOSQE_ASYNC: %s\n", ret == RES_ORPHAN ?
		       "no CQE after 1 s; ring closed" : strerror(-ret));
		cmd = mkcmd(id, NULL, 0);
		ret = ctrl_simple(&c, &t, UBD_U_CMD_DEL_DEV, &cmd);
		printf("DEL: %d\n", ret);
	} else if (!strcmp(name, "virt-boundary-segment")) {
		/* valid for SET_PARAMS, WARN in blk_queue_max_segment_size */
		struct ubd_params p;
		struct helper h;
		pthread_t th;

		id = r_add(&c, &t, 1, 1);
		if (id < 0)
			return 1;
		memset(&p, 0, sizeof(p));
		p.len = sizeof(p);
		p.types = UBD_PARAM_TYPE_BASIC | UBD_PARAM_TYPE_SEGMENT;
		p.basic.logical_bs_shift = 9;
		p.basic.physical_bs_shift = 9;
		p.basic.dev_sectors = 2048;
		p.basic.virt_boundary_mask = 4095;
		p.seg.seg_boundary_mask = 4095;
		p.seg.max_segment_size = 4096;
		p.seg.max_segments = 16;
		cmd = mkcmd(id, &p, sizeof(p));
		printf("SET_PARAMS virt_boundary_mask 4095 + SEGMENT: %d\n",
		       ctrl_simple(&c, &t, UBD_U_CMD_SET_PARAMS, &cmd));
		memset(&h, 0, sizeof(h));
		h.id = id;
		h.nq = 1;
		h.depth = 1;
		h.r.s = 1;
		pthread_create(&th, NULL, helper_main, &h);
		while (!h.fetched)
			msleep(10);
		msleep(100);
		cmd = mkcmd(id, NULL, 0);
		cmd.data[0] = getpid();
		printf("START: %d\n", ctrl_simple(&c, &t, UBD_U_CMD_START_DEV, &cmd));
		cmd = mkcmd(id, NULL, 0);
		printf("DEL: %d\n", ctrl_simple(&c, &t, UBD_U_CMD_DEL_DEV, &cmd));
		h.quit = 1;
		pthread_join(th, NULL);
	} else {
		fprintf(stderr, "unknown reproducer %s\n", name);
		return 2;
	}
	ret = id_comes_back(&c, &t, id);
	printf("id %d %s\n", id, ret ? "free again: ok" :
	       "never freed: /dev/ubdcN or the device is stuck");
	return ret ? 0 : 1;
}

static void usage(const char *p)
{
	fprintf(stderr, "usage: %s [-n COUNT] [-t THREADS] [-s SEED] [-U UID] [-k] [-v] | -r NAME\n"
		"  -k       avoid the driver bugs this fuzzer already found\n"
		"  -U UID   run as user UID (and group UID): unprivileged devices\n"
		"  -r NAME  run one reproducer: fetch-after-del, async-start,\n"
		"           virt-boundary-segment\n", p);
	exit(2);
}

int main(int argc, char **argv)
{
	static struct fthread th[MAX_THREADS];
	struct helper **helpers = g_helpers;
	unsigned long seed = 0, ok_total = 0;
	int nthreads = 4, opt, i, nh = 0, left = 0, leaked = 0;
	struct sigaction sa;
	struct ctl ctl;
	struct tmr tmr;
	double t0 = now_s();
	bool seeded = false;
	const char *repro_name = NULL;

	unsigned long uid = 0;

	while ((opt = getopt(argc, argv, "n:t:s:U:kvr:")) != -1) {
		switch (opt) {
		case 'n': g_count = strtoul(optarg, NULL, 0); break;
		case 't': nthreads = atoi(optarg); break;
		case 's': seed = strtoul(optarg, NULL, 0); seeded = true; break;
		case 'k': g_avoid_known = 1; break;
		case 'v': g_verbose = 1; break;
		case 'r': repro_name = optarg; break;
		case 'U': uid = strtoul(optarg, NULL, 0); g_unpriv = 1; break;
		default: usage(argv[0]);
		}
	}
	if (nthreads < 1 || nthreads > MAX_THREADS)
		usage(argv[0]);
	if (repro_name) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sig;
		sigaction(SIGUSR1, &sa, NULL);
		g_ropage = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		g_hole = mmap(NULL, 65536, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return repro(repro_name);
	}
	if (!seeded)
		seed = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
	printf("ubd-fuzz: seed %lu, %lu commands, %d threads\n", seed, g_count,
	       nthreads);
	fflush(stdout);

	g_page = sysconf(_SC_PAGESIZE);
	g_nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;	/* no SA_RESTART: the wait must end */
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_ropage = mmap(NULL, g_page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g_hole = mmap(NULL, 16 * g_page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_ropage == MAP_FAILED || g_hole == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	/* started by root: become UID; already a user (setpriv): stay so */
	if (g_unpriv && (!uid || (!geteuid() &&
				  (setgroups(0, NULL) ||
				   setresgid(uid, uid, uid) ||
				   setresuid(uid, uid, uid))))) {
		perror("ubd-fuzz: -U");
		return 2;
	}
	if (ctl_open(&ctl)) {
		perror("/dev/ubd-control");
		return 2;
	}
	tmr_init(&tmr);

	for (i = 0; i < nthreads; i++) {
		char *b = mmap(NULL, BUF_SIZE + g_page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (b == MAP_FAILED)
			return 2;
		mprotect(b + BUF_SIZE, g_page, PROT_NONE);
		th[i].idx = i;
		th[i].buf = b;
		th[i].r.s = (seed + 1) * 0x9E3779B97F4A7C15ULL + i * 0xBF58476D1CE4E5B9ULL;
		if (!th[i].r.s)
			th[i].r.s = 1;
		rnd64(&th[i].r);
	}
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&th[i].th, NULL, fuzz_main, &th[i])) {
			perror("pthread_create");
			return 2;
		}
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i].th, NULL);

	/* delete every device we still know, served ones included */
	nh = g_nh;
	for (i = 0; i < MAX_DEVS; i++) {
		unsigned int id;

		pthread_mutex_lock(&g_lock);
		if (!g_devs[i].used) {
			pthread_mutex_unlock(&g_lock);
			continue;
		}
		id = g_devs[i].id;
		pthread_mutex_unlock(&g_lock);
		if (del_and_wait(&ctl, &tmr, id)) {
			fprintf(stderr, "ubd-fuzz: device %u does not go away\n", id);
			left++;
		}
		dev_forget(id);
	}
	/* helpers of devices deleted during the run are still there too */
	for (i = 0; i < nh; i++)
		helper_quit(helpers[i]);
	{
		double end = now_s() + 20;

		for (i = 0; i < nh; i++)
			while (!helpers[i]->done && now_s() < end)
				msleep(20);
	}
	for (i = 0; i < nh; i++) {
		if (helpers[i]->done) {
			pthread_join(helpers[i]->th, NULL);
		} else {
			fprintf(stderr, "ubd-fuzz: helper of %u stuck\n",
				helpers[i]->id);
			t0 = -1e9;	/* the program failed */
		}
	}
	(void)helper_quit;

	/* any device of ours still in sysfs, and any id not released */
	for (i = 0; i < (int)sizeof(g_created); i++) {
		if (!g_created[i])
			continue;
		if (dev_exists(i)) {
			struct ubd_ctrl_cmd cmd = mkcmd(i, NULL, 0);

			/* deleted by nobody: a fuzz thread dropped track */
			if (del_and_wait(&ctl, &tmr, i) || dev_exists(i)) {
				fprintf(stderr, "ubd-fuzz: device %d left\n", i);
				left++;
			}
			(void)cmd;
		}
		if (!id_comes_back(&ctl, &tmr, i)) {
			fprintf(stderr, "ubd-fuzz: id %d never freed (a user of "
				"/dev/ubdc%d is stuck)\n", i, i);
			leaked++;
		}
	}

	for (i = 0; i < 0x20; i++)
		ok_total += g_ok_ctrl[i];
	printf("ubd-fuzz: seed %lu: %lu commands, %lu control ok (ADD %lu "
	       "DEL %lu START %lu STOP %lu SET_PARAMS %lu GET %lu), %lu parked, "
	       "%lu served by helpers (%lu commits, %lu aborts, %lu block io), "
	       "%lu mmaps (%lu writable), %lu forks, %lu orphaned, "
	       "%lu user copies (%lu bytes), %.1f s\n",
	       seed, g_sent > g_count ? g_count : g_sent, ok_total,
	       g_ok_ctrl[UBD_CMD_ADD_DEV], g_ok_ctrl[UBD_CMD_DEL_DEV] + g_ok_ctrl[0x14],
	       g_ok_ctrl[UBD_CMD_START_DEV], g_ok_ctrl[UBD_CMD_STOP_DEV],
	       g_ok_ctrl[UBD_CMD_SET_PARAMS],
	       g_ok_ctrl[UBD_CMD_GET_DEV_INFO] + g_ok_ctrl[UBD_CMD_GET_PARAMS] +
	       g_ok_ctrl[UBD_CMD_GET_DEV_INFO2] + g_ok_ctrl[0x13] +
	       g_ok_ctrl[UBD_CMD_GET_QUEUE_AFFINITY],
	       g_parked, g_served, g_commits, g_aborts, g_bio, g_mmaps, g_bad_mprotect, g_forks,
	       g_orphans, g_ucopy, g_ucopy_bytes, t0 < 0 ? 0.0 : now_s() - t0);
	printf("ubd-fuzz: errno:");
	for (i = 0; i < NERRNO; i++)
		if (g_errno[i])
			printf(" %s=%lu", i ? strerrorname_np(i) : "OK", g_errno[i]);
	if (g_positive)
		printf(" positive=%lu", g_positive);
	if (g_err_other)
		printf(" other=%lu", g_err_other);
	printf("\nubd-fuzz: %lu commands with a path%s\n", g_paths,
	       g_unpriv ? ", as an unprivileged user" : "");
	printf("ubd-fuzz: summary: commands=%lu adds=%lu dels=%lu "
	       "devices_left=%d ids_leaked=%d\n",
	       g_sent > g_count ? g_count : g_sent, g_ok_ctrl[UBD_CMD_ADD_DEV],
	       g_ok_ctrl[UBD_CMD_DEL_DEV] + g_ok_ctrl[0x14], left, leaked);
	for (i = 0; i < nthreads; i++)
		if (th[i].fails)
			return 1;
	ctl_close(&ctl);
	return t0 < 0 ? 1 : 0;
}
