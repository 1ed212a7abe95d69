// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Placement of floating queue threads: reading /proc/schedstat, and when a
 * thread leaves its CPU for which one.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>

#include "private.h"
#include "tap.h"

#define MS	1000000ULL

/* the shape of Linux 6.1's file: version 15, domain lines between CPUs */
static const char schedstat_6_1[] =
	"version 15\n"
	"timestamp 4294893068\n"
	"cpu0 0 0 0 0 0 0 1503919622 239377366 946\n"
	"domain0 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	"cpu1 0 0 0 0 0 0 2331163429 122449178 633\n"
	"domain0 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

static void test_parse(void)
{
	struct ubd_cpu_time cpus[4];

	memset(cpus, 0xff, sizeof(cpus));
	t_ok(ubd_schedstat_parse(schedstat_6_1, cpus, 4) == 2,
	     "schedstat: two CPU lines found");
	t_ok(cpus[0].busy_ns == 1503919622ULL && cpus[0].wait_ns == 239377366ULL,
	     "schedstat: cpu0's run and wait times");
	t_ok(cpus[1].busy_ns == 2331163429ULL && cpus[1].wait_ns == 122449178ULL,
	     "schedstat: cpu1's run and wait times");
	t_ok(cpus[2].busy_ns == UINT64_MAX, "schedstat: cpu2, not in the file, untouched");
	t_ok(ubd_schedstat_parse(schedstat_6_1, cpus, 1) == 1,
	     "schedstat: CPUs past the thread's are skipped");
	t_ok(ubd_schedstat_parse("version 15\ntimestamp 1\n", cpus, 4) == 0,
	     "schedstat: no CPU lines, nothing found");
	t_ok(ubd_schedstat_parse("cpu0 1 2 3\n", cpus, 4) == 0,
	     "schedstat: a short CPU line is not taken");
}

/*
 * @n CPUs, all allowed; times in ms over a 200 ms look; the thread's own
 * run and wait times on CPU @self_cpu, none elsewhere
 */
static int pick_self(int n, int cpu, const unsigned int *busy,
		     const unsigned int *wait, const cpu_set_t *allowed,
		     int self_cpu, unsigned int self_busy,
		     unsigned int self_wait)
{
	struct ubd_cpu_time d[8], self_on[8] = { 0 };
	cpu_set_t all;
	int c;

	CPU_ZERO(&all);
	for (c = 0; c < n; c++) {
		d[c].busy_ns = busy[c] * MS;
		d[c].wait_ns = wait[c] * MS;
		CPU_SET(c, &all);
	}
	self_on[self_cpu].busy_ns = self_busy * MS;
	self_on[self_cpu].wait_ns = self_wait * MS;
	return ubd_placement_pick(d, n, allowed ? allowed : &all, cpu, self_on,
				  200 * MS);
}

/* ... the thread itself did nothing meanwhile */
static int pick(int n, int cpu, const unsigned int *busy,
		const unsigned int *wait, const cpu_set_t *allowed)
{
	return pick_self(n, cpu, busy, wait, allowed, 0, 0, 0);
}

static void test_pick(void)
{
	cpu_set_t only0;

	/* measured in the guest: fio and the thread on CPU 0, CPU 1 idle */
	t_ok(pick(2, 0, (unsigned int[]){ 200, 30 }, (unsigned int[]){ 105, 5 },
		  NULL) == 1, "pick: crowded CPU 0, idle CPU 1: move to 1");
	/* ... the thread on CPU 1, as it should be */
	t_ok(pick(2, 1, (unsigned int[]){ 200, 180 }, (unsigned int[]){ 18, 30 },
		  NULL) == -1, "pick: thread alone on CPU 1: stay");
	t_ok(pick(2, 0, (unsigned int[]){ 200, 180 }, (unsigned int[]){ 55, 5 },
		  NULL) == -1, "pick: 27%% waiting is not crowded: stay");
	/* the thread went back and forth: CPU 1 was busy with itself */
	t_ok(pick_self(2, 0, (unsigned int[]){ 200, 150 },
		       (unsigned int[]){ 70, 40 }, NULL, 1, 140, 30) == 1,
	     "pick: CPU 1 busy with the thread itself is calm: move to 1");
	t_ok(pick_self(2, 0, (unsigned int[]){ 200, 150 },
		       (unsigned int[]){ 70, 40 }, NULL, 1, 30, 5) == -1,
	     "pick: CPU 1 busy with others: stay");
	/*
	 * Measured in the guest: the thread spinning on CPU 1, fio on CPU 0,
	 * others kept waiting on CPU 1.  With its 200 ms taken off CPU 0 as
	 * well, fio's CPU had looked idle and the thread had moved onto it:
	 * 15k IOPS where null_blk made 80k.
	 */
	t_ok(pick_self(2, 1, (unsigned int[]){ 200, 200 },
		       (unsigned int[]){ 2, 70 }, NULL, 1, 198, 1) == -1,
	     "pick: the thread's time on CPU 1 leaves fio's CPU 0 busy: stay");
	t_ok(pick(2, 0, (unsigned int[]){ 200, 150 }, (unsigned int[]){ 105, 5 },
		  NULL) == -1, "pick: the other CPU is busy: stay");
	t_ok(pick(2, 0, (unsigned int[]){ 200, 30 }, (unsigned int[]){ 105, 40 },
		  NULL) == -1, "pick: the other CPU has its own crowd: stay");
	CPU_ZERO(&only0);
	CPU_SET(0, &only0);
	t_ok(pick(2, 0, (unsigned int[]){ 200, 0 }, (unsigned int[]){ 105, 0 },
		  &only0) == -1, "pick: CPU 1 is not the thread's: stay");
	t_ok(pick(4, 2, (unsigned int[]){ 90, 40, 200, 10 },
		  (unsigned int[]){ 10, 20, 90, 5 }, NULL) == 3,
	     "pick: of several calm CPUs, the least loaded");
	t_ok(pick(2, 5, (unsigned int[]){ 200, 0 }, (unsigned int[]){ 105, 0 },
		  NULL) == -1, "pick: a CPU out of range: stay");
}

/*
 * @n CPUs, all allowed; busy times in ms over a 200 ms look; a mask back.
 * @freed: the per-CPU counts of quiet looks, kept between calls.
 */
static unsigned int avoid_n(int n, int cpu, const unsigned int *busy,
			    unsigned int avoided_mask, unsigned char *freed)
{
	struct ubd_cpu_time d[8];
	cpu_set_t all, avoided, out;
	unsigned int mask = 0;
	int c;

	CPU_ZERO(&all);
	CPU_ZERO(&avoided);
	for (c = 0; c < n; c++) {
		d[c].busy_ns = busy[c] * MS;
		d[c].wait_ns = 0;
		CPU_SET(c, &all);
		if (avoided_mask & 1u << c)
			CPU_SET(c, &avoided);
	}
	ubd_placement_avoid(d, n, &all, cpu, 200 * MS, &avoided, freed, &out);
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &out))
			mask |= 1u << c;
	return mask;
}

static unsigned int avoid(int n, int cpu, const unsigned int *busy,
			  unsigned int avoided_mask)
{
	return avoid_n(n, cpu, busy, avoided_mask, (unsigned char[8]){ 0 });
}

/* looks of CPU 0 at @busy0 ms of 200 each, CPU 0 left out from the start */
static unsigned int avoid_looks(const unsigned int *busy0, int looks)
{
	unsigned char freed[8] = { 0 };
	unsigned int mask = 0x1;
	int i;

	for (i = 0; i < looks; i++)
		mask = avoid_n(2, 1, (unsigned int[]){ busy0[i], 170 }, mask,
			       freed);
	return mask;
}

static void test_avoid(void)
{
	/* measured in the guest: fio keeps CPU 0 busy, the thread is on 1 */
	t_ok(avoid(2, 1, (unsigned int[]){ 196, 170 }, 0) == 0x1,
	     "avoid: fio's full CPU 0 is left out");
	t_ok(avoid(2, 1, (unsigned int[]){ 170, 170 }, 0) == 0,
	     "avoid: 85%% busy is not full");
	t_ok(avoid(2, 1, (unsigned int[]){ 150, 170 }, 0x1) == 0x1,
	     "avoid: once left out, 75%% busy keeps it out");
	t_ok(avoid(2, 1, (unsigned int[]){ 130, 170 }, 0x1) == 0x1,
	     "avoid: one look at 65%% busy does not free it");
	t_ok(avoid_looks((unsigned int[]){ 130, 60, 130, 0, 130 }, 5) == 0,
	     "avoid: five looks in a row below 70%% free it");
	t_ok(avoid_looks((unsigned int[]){ 130, 130, 130, 130 }, 4) == 0x1,
	     "avoid: four looks below 70%% keep it out");
	t_ok(avoid_looks((unsigned int[]){ 130, 130, 130, 130, 190, 130, 130,
					   130, 130 }, 9) == 0x1,
	     "avoid: a busy look starts the count again");
	t_ok(avoid(2, 0, (unsigned int[]){ 200, 0 }, 0) == 0,
	     "avoid: never the thread's own CPU");
	t_ok(avoid(2, 0, (unsigned int[]){ 200, 0 }, 0x1) == 0,
	     "avoid: its own CPU is dropped from what was left out");
	t_ok(avoid(4, 1, (unsigned int[]){ 200, 200, 190, 20 }, 0) == 0x5,
	     "avoid: of four CPUs, the two others keep full");
	t_ok(avoid(2, 7, (unsigned int[]){ 200, 200 }, 0) == 0,
	     "avoid: a CPU out of range leaves nothing out");
}

int main(void)
{
	test_parse();
	test_pick();
	test_avoid();
	return t_done();
}
