// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Placement of a floating queue thread: keep it off the CPU it would share
 * with a busy submitter.
 *
 * A queue thread that is not pinned (no --pin-queues) is placed by the
 * scheduler at each wake-up.  The wake-up comes from the submitting
 * application's CPU, and when the thread's previous CPU happens to be busy
 * the scheduler may put it on the waker's CPU; once there, it stays: on a
 * busy machine the scheduler's idle-CPU scan is cut short, so each wake-up
 * lands on the same CPU again.  There the thread and the application take
 * turns: every request preempts the application, one request per wake-up.
 * Measured in the TCG guest, ubd-null 4k randread QD32, fio on CPU 0: the
 * thread on CPU 0 made 6.3k-6.6k IOPS, on CPU 1 58k-69k; floating, it
 * spent between 2% and 35% of a run on CPU 0, and that was the spread
 * between runs.
 *
 * So the thread looks at its CPU a few times a second, while it is being
 * woken: if tasks spend a large part of the time waiting to run there
 * (/proc/schedstat's run delay), and another of its CPUs has little
 * waiting and is not busy, it leaves its CPU out of its affinity and moves.
 * A later look may move it back, if the crowd follows it.  Moves that
 * follow each other closely make the looks rarer, so that two crowded CPUs
 * cannot make it bounce.
 *
 * Looks catch a thread that stays; they miss one that only visits.  A
 * thread woken while its own CPU is briefly busy (a kworker, a timer) may
 * be put on the submitter's CPU and pulled back a few milliseconds later,
 * each visit a preemption of the application and a TLB flush, which
 * emulation makes dear.  Measured in the TCG guest, ubd-null with 2 queues,
 * fio on CPU 0, 4k randread QD32: the thread made 9-82 such migrations in
 * a 12 s run, and tasks waited 0.2-0.5 s for CPU 0 where null_blk's runs
 * had 7-58 ms.  So a thread that is calm where it is also leaves out of its
 * affinity the CPUs that others keep nearly always busy, and takes them
 * back once they have been freed for a second; it never leaves out its own
 * CPU, so this moves nothing, it only closes doors.
 *
 * The CPUs it may use are those it started with: start the server under
 * taskset(1) to narrow them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "private.h"

/* a look every LOOK_MS while woken; after a move, up to HOLD_MAX_MS */
#define LOOK_MS		200
#define HOLD_MIN_MS	1000
#define HOLD_MAX_MS	32000
/*
 * A CPU is crowded when its tasks wait to run 30% of the time.  Measured
 * in the TCG guest: 3%-16% on a CPU with one busy task, 53%-85% when fio and
 * the queue thread share one.
 */
#define CROWDED_PCT	30
/* ... and is a place to go with little waiting and half its time idle */
#define CALM_PCT	15
#define BUSY_PCT	50
/*
 * Others keep a CPU full when it ran tasks 90% of the time; it is free
 * again after FREED_LOOKS looks in a row below 70%.  A CPU that fio keeps
 * busy measured 96%-100%, but single looks of 30%-67% came between them:
 * fio waits for its ios while the queue thread moves to another CPU, whose
 * vCPU emulation must first wake.  Taken back on one such look, fio's CPU
 * was open again at the end of one run in three.
 */
#define FULL_PCT	90
#define FREED_PCT	70
#define FREED_LOOKS	5

struct ubd_placement {
	int fd;				/* /proc/schedstat */
	int self_fd;			/* /proc/thread-self/schedstat */
	struct ubd_cpu_time self_last;	/* ... at the last look */
	struct ubd_cpu_time *self_on;	/* per CPU, the thread's times there */
	uint64_t *seen_ns;		/* per CPU, time it was seen there */
	int seen_cpu;			/* where its last turn ran, or -1 */
	uint64_t seen_since;		/* ... since when */
	char *buf;
	size_t buf_size;
	cpu_set_t allowed;		/* the thread's CPUs at its start */
	cpu_set_t avoided;		/* ... left out as full (avoid) */
	unsigned char *freed;		/* per CPU, looks in a row it was freed */
	int left;			/* ... left by the last move, or -1 */
	int nr_cpus;			/* highest allowed CPU + 1 */
	struct ubd_cpu_time *last;	/* per CPU, at the last look */
	struct ubd_cpu_time *delta;	/* ... and since then */
	uint64_t last_ns;		/* when that was: 0 for never */
	uint64_t next_ns;		/* the next look */
	uint64_t moved_ns;		/* the last move: 0 for never */
	uint64_t hold_ms;		/* the pause after a move */
	bool off;			/* a read or the affinity failed: no more looks */
	bool avoid_logged;		/* the first avoid was logged */
};

int ubd_schedstat_parse(const char *text, struct ubd_cpu_time *cpus,
			int nr_cpus)
{
	const char *line, *next;
	int found = 0;

	for (line = text; *line; line = next) {
		const char *nl = strchr(line, '\n');
		unsigned long long busy, wait;
		int cpu;

		next = nl ? nl + 1 : line + strlen(line);

		/* cpuN yld 0 sched goidle ttwu ttwu_local run_ns wait_ns slices */
		if (sscanf(line, "cpu%d %*u %*u %*u %*u %*u %*u %llu %llu",
			   &cpu, &busy, &wait) != 3 || cpu < 0 || cpu >= nr_cpus)
			continue;
		cpus[cpu].busy_ns = busy;
		cpus[cpu].wait_ns = wait;
		found++;
	}
	return found;
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

int ubd_placement_pick(const struct ubd_cpu_time *delta, int nr_cpus,
		       const cpu_set_t *allowed, int cpu,
		       const struct ubd_cpu_time *self_on, uint64_t span_ns)
{
	uint64_t best = UINT64_MAX;
	int c, pick = -1;

	if (cpu < 0 || cpu >= nr_cpus || !span_ns ||
	    delta[cpu].wait_ns * 100 < span_ns * CROWDED_PCT)
		return -1;
	for (c = 0; c < nr_cpus; c++) {
		/*
		 * What the others did there: a thread that comes and goes
		 * between two CPUs must not find the other one busy with
		 * itself, nor one it never went to idle for its absence.
		 */
		uint64_t busy = sub_sat(delta[c].busy_ns, self_on[c].busy_ns);
		uint64_t wait = sub_sat(delta[c].wait_ns, self_on[c].wait_ns);
		uint64_t load = busy + wait;

		if (c == cpu || !CPU_ISSET(c, allowed) ||
		    wait * 100 >= span_ns * CALM_PCT ||
		    busy * 100 >= span_ns * BUSY_PCT)
			continue;
		if (load < best) {
			best = load;
			pick = c;
		}
	}
	return pick;
}

void ubd_placement_avoid(const struct ubd_cpu_time *delta, int nr_cpus,
			 const cpu_set_t *allowed, int cpu, uint64_t span_ns,
			 const cpu_set_t *avoided, unsigned char *freed,
			 cpu_set_t *avoid)
{
	int c;

	CPU_ZERO(avoid);
	if (cpu < 0 || cpu >= nr_cpus || !span_ns)
		return;
	for (c = 0; c < nr_cpus; c++) {
		bool full;

		/* the thread's own CPU: its busy time is partly the thread's */
		if (c == cpu || !CPU_ISSET(c, allowed)) {
			freed[c] = 0;
			continue;
		}
		full = delta[c].busy_ns * 100 >=
		       span_ns * (CPU_ISSET(c, avoided) ? FREED_PCT : FULL_PCT);
		if (full || !CPU_ISSET(c, avoided))
			freed[c] = 0;
		else if (++freed[c] < FREED_LOOKS)
			full = true;	/* one quiet look is not a freed CPU yet */
		else
			freed[c] = 0;
		if (full)
			CPU_SET(c, avoid);
	}
}

/* the thread's own run and wait times: "run_ns wait_ns slices" */
static int read_self(struct ubd_placement *p, struct ubd_cpu_time *self)
{
	unsigned long long busy, wait;
	char line[96];
	ssize_t n;

	n = pread(p->self_fd, line, sizeof(line) - 1, 0);
	if (n <= 0)
		return n ? -errno : -EIO;
	line[n] = '\0';
	if (sscanf(line, "%llu %llu", &busy, &wait) != 2)
		return -EIO;
	self->busy_ns = busy;
	self->wait_ns = wait;
	return 0;
}

/* the whole of /proc/schedstat into p->buf, NUL-terminated */
static int read_schedstat(struct ubd_placement *p)
{
	size_t len = 0;
	ssize_t n;

	for (;;) {
		n = pread(p->fd, p->buf + len, p->buf_size - 1 - len, len);
		if (n < 0)
			return -errno;
		if (!n)
			break;
		len += n;
		if (len == p->buf_size - 1) {
			char *bigger = realloc(p->buf, p->buf_size * 2);

			if (!bigger)
				return -ENOMEM;
			p->buf = bigger;
			p->buf_size *= 2;
		}
	}
	p->buf[len] = '\0';
	return 0;
}

struct ubd_placement *ubd_placement_new(void)
{
	struct ubd_placement *p;
	int c;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (sched_getaffinity(0, sizeof(p->allowed), &p->allowed) ||
	    CPU_COUNT(&p->allowed) < 2)
		goto out_free;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &p->allowed))
			p->nr_cpus = c + 1;
	p->last = calloc(p->nr_cpus, sizeof(*p->last));
	p->delta = calloc(p->nr_cpus, sizeof(*p->delta));
	p->freed = calloc(p->nr_cpus, sizeof(*p->freed));
	p->self_on = calloc(p->nr_cpus, sizeof(*p->self_on));
	p->seen_ns = calloc(p->nr_cpus, sizeof(*p->seen_ns));
	p->buf_size = 16384;
	p->buf = malloc(p->buf_size);
	if (!p->last || !p->delta || !p->freed || !p->self_on ||
	    !p->seen_ns || !p->buf)
		goto out_free_bufs;
	p->fd = open("/proc/schedstat", O_RDONLY | O_CLOEXEC);
	if (p->fd < 0)
		goto out_free_bufs;
	p->self_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	if (p->self_fd < 0)
		goto out_close;
	p->hold_ms = HOLD_MIN_MS;
	p->left = -1;
	p->seen_cpu = -1;
	return p;

out_close:
	close(p->fd);
out_free_bufs:
	free(p->buf);
	free(p->seen_ns);
	free(p->self_on);
	free(p->freed);
	free(p->delta);
	free(p->last);
out_free:
	free(p);
	return NULL;
}

void ubd_placement_free(struct ubd_placement *p)
{
	if (!p)
		return;
	close(p->self_fd);
	close(p->fd);
	free(p->buf);
	free(p->seen_ns);
	free(p->self_on);
	free(p->freed);
	free(p->delta);
	free(p->last);
	free(p);
}

/*
 * The thread's CPUs: those it started with, but the full ones and the one
 * it left last.  When that leaves none, just the latter is left out.
 */
static int placement_apply(struct ubd_placement *p)
{
	cpu_set_t mask;
	int c;

	CPU_ZERO(&mask);
	for (c = 0; c < p->nr_cpus; c++)
		if (CPU_ISSET(c, &p->allowed) && !CPU_ISSET(c, &p->avoided) &&
		    c != p->left)
			CPU_SET(c, &mask);
	if (!CPU_COUNT(&mask)) {
		mask = p->allowed;
		if (p->left >= 0)
			CPU_CLR(p->left, &mask);
	}
	return sched_setaffinity(0, sizeof(mask), &mask) ? -errno : 0;
}

/*
 * Leave @cpu out of the thread's CPUs: the scheduler moves it at once, to
 * @to or another of them, as it sees fit at each wake-up.
 */
static void placement_move(struct ubd_placement *p, int q_id, int cpu, int to,
			   uint64_t t)
{
	int ret;

	p->left = cpu;
	/* calm, so not full */
	CPU_CLR(to, &p->avoided);
	ret = placement_apply(p);
	if (ret) {
		ubd_info("queue %d: cannot leave CPU %d: %s\n", q_id, cpu,
			 ubd_strerror(ret));
		p->off = true;
		return;
	}
	if (!p->moved_ns)
		ubd_info("queue %d: CPU %d is crowded, leaving it (CPU %d is calm; later moves are not logged)\n",
			 q_id, cpu, to);
	/* a move soon after the last one: the crowd follows, look less */
	if (p->moved_ns &&
	    t - p->moved_ns < 4 * p->hold_ms * 1000000)
		p->hold_ms = p->hold_ms * 2 > HOLD_MAX_MS ? HOLD_MAX_MS :
							    p->hold_ms * 2;
	else
		p->hold_ms = HOLD_MIN_MS;
	p->moved_ns = t;
}

/* the thread stays on @cpu: leave out the other CPUs others keep full */
static void placement_keep_off(struct ubd_placement *p, int q_id, int cpu,
			       uint64_t span_ns)
{
	cpu_set_t avoid;
	int ret, c;

	ubd_placement_avoid(p->delta, p->nr_cpus, &p->allowed, cpu, span_ns,
			    &p->avoided, p->freed, &avoid);
	if (CPU_EQUAL(&avoid, &p->avoided))
		return;
	p->avoided = avoid;
	ret = placement_apply(p);
	if (ret) {
		ubd_info("queue %d: cannot set its CPUs: %s\n", q_id,
			 ubd_strerror(ret));
		p->off = true;
		return;
	}
	if (p->avoid_logged || !CPU_COUNT(&avoid))
		return;
	for (c = 0; c < p->nr_cpus && !CPU_ISSET(c, &avoid); c++)
		;
	ubd_info("queue %d: CPU %d is kept busy by others, staying off it (later changes are not logged)\n",
		 q_id, c);
	p->avoid_logged = true;
}

/* count the time since seen_since, up to @t, to the CPU it was seen on */
static void placement_seen_until(struct ubd_placement *p, uint64_t t)
{
	if (p->seen_cpu >= 0 && p->seen_cpu < p->nr_cpus)
		p->seen_ns[p->seen_cpu] += t - p->seen_since;
	p->seen_since = t;
}

/*
 * Where the thread runs, noted at each turn: the clock is read only when
 * that changes.  A thread asleep is counted where it fell asleep.
 */
static int placement_track(struct ubd_placement *p)
{
	int cpu = sched_getcpu();

	if (cpu == p->seen_cpu)
		return cpu;
	placement_seen_until(p, ubd_now_ns(CLOCK_MONOTONIC));
	p->seen_cpu = cpu;
	return cpu;
}

/*
 * The thread's run and wait times since the last look, @self, shared out
 * among the CPUs in proportion to the time it was seen on each.  A thread
 * that spins on CPU 1 is then not taken off the busy CPU 0 as well, which
 * had made an application's full CPU look idle and the thread move there.
 */
static void placement_share_self(struct ubd_placement *p,
				 const struct ubd_cpu_time *self, uint64_t t)
{
	uint64_t seen = 0;
	int c;

	placement_seen_until(p, t);
	for (c = 0; c < p->nr_cpus; c++)
		seen += p->seen_ns[c];
	for (c = 0; c < p->nr_cpus; c++) {
		double share = seen ? (double)p->seen_ns[c] / seen : 0;

		p->self_on[c].busy_ns = self->busy_ns * share;
		p->self_on[c].wait_ns = self->wait_ns * share;
		p->seen_ns[c] = 0;
	}
}

void ubd_placement_look(struct ubd_placement *p, int q_id)
{
	struct ubd_cpu_time self, self_delta;
	uint64_t t, span_ns;
	int c, cpu, to = -1;

	if (p->off)
		return;
	cpu = placement_track(p);
	if (ubd_now_ns(CLOCK_MONOTONIC_COARSE) < p->next_ns)
		return;
	t = ubd_now_ns(CLOCK_MONOTONIC);
	/* a CPU missing from the file (gone offline) counts nothing */
	memcpy(p->delta, p->last, p->nr_cpus * sizeof(*p->delta));
	if (read_schedstat(p) || read_self(p, &self) ||
	    ubd_schedstat_parse(p->buf, p->delta, p->nr_cpus) < 1) {
		p->off = true;
		return;
	}
	for (c = 0; c < p->nr_cpus; c++) {
		struct ubd_cpu_time now = p->delta[c];

		p->delta[c].busy_ns -= p->last[c].busy_ns;
		p->delta[c].wait_ns -= p->last[c].wait_ns;
		p->last[c] = now;
	}
	self_delta.busy_ns = self.busy_ns - p->self_last.busy_ns;
	self_delta.wait_ns = self.wait_ns - p->self_last.wait_ns;
	p->self_last = self;
	placement_share_self(p, &self_delta, t);
	span_ns = p->last_ns ? t - p->last_ns : 0;
	if (span_ns)
		to = ubd_placement_pick(p->delta, p->nr_cpus, &p->allowed, cpu,
					p->self_on, span_ns);
	p->last_ns = t;
	p->next_ns = t + (uint64_t)LOOK_MS * 1000000;
	if (to >= 0) {
		placement_move(p, q_id, cpu, to, t);
		p->next_ns = t + p->hold_ms * 1000000;
		/* the next look only takes the counts after the move */
		p->last_ns = 0;
	} else if (span_ns) {
		placement_keep_off(p, q_id, cpu, span_ns);
	}
}
