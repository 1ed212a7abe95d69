// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The spin before a queue thread sleeps: when it spins (the score), and a
 * spin on a real ring that finds a CQE or gives up after its budget.
 */
#define _GNU_SOURCE
#include <time.h>

#include "private.h"
#include "tap.h"

static uint64_t clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* @n results of @found; how many of the next @calls want a spin */
static int wanted_after(struct ubd_spin *s, int n, bool found, int calls)
{
	int i, wanted = 0;

	for (i = 0; i < n; i++)
		ubd_spin_result(s, found);
	for (i = 0; i < calls; i++)
		wanted += ubd_spin_wanted(s);
	return wanted;
}

static void test_score(void)
{
	struct ubd_spin s;
	int i, wanted;

	ubd_spin_init(&s, 0);
	t_ok(wanted_after(&s, 0, true, 1000) == 0, "score: a budget of 0 never spins");

	ubd_spin_init(&s, 50);
	t_ok(ubd_spin_wanted(&s), "score: a new thread spins");
	t_ok(wanted_after(&s, 3, false, 1) == 1, "score: three misses in a row do not stop it");
	t_ok(wanted_after(&s, 1, false, 63) == 0, "score: the fourth stops it");
	t_ok(wanted_after(&s, 0, false, 1) == 1, "score: ... until the 64th sleep probes");
	t_ok(wanted_after(&s, 1, true, 1) == 1, "score: a probe that finds work starts it again");

	/* a server that finds work in 4 spins of 5 keeps spinning */
	ubd_spin_init(&s, 50);
	for (i = 0, wanted = 0; i < 100; i++) {
		ubd_spin_result(&s, i % 5 != 0);
		wanted += ubd_spin_wanted(&s);
	}
	t_ok(wanted == 100, "score: 4 hits in 5 keep it spinning (%d of 100)", wanted);

	/* one that waits for slow backing I/O after every other spin stops */
	ubd_spin_init(&s, 50);
	for (i = 0, wanted = 0; i < 640; i++)
		if (ubd_spin_wanted(&s))
			wanted++, ubd_spin_result(&s, i % 2);
	t_ok(wanted < 40, "score: 1 hit in 2 spins rarely (%d of 640)", wanted);
}

static void test_budget(void)
{
	struct ubd_spin s;

	ubd_spin_init(&s, 200);
	t_ok(ubd_spin_budget_ns(&s, 0) == 200000 &&
	     ubd_spin_budget_ns(&s, 1) == 200000,
	     "budget: the whole of it with one target io or none in flight");
	t_ok(ubd_spin_budget_ns(&s, 4) == 50000 &&
	     ubd_spin_budget_ns(&s, 32) == 6250,
	     "budget: split among the target ios in flight");
}

/* a spin on @ring, and how long it took in *@took_us */
static bool timed_spin(struct ubd_spin *s, struct io_uring *ring,
		       unsigned int inflight, uint64_t *took_us)
{
	uint64_t t0 = clock_us();
	bool found = ubd_spin(s, ring, inflight);

	*took_us = clock_us() - t0;
	return found;
}

/*
 * On a plain ring each look is an io_uring_enter; on one like a queue's
 * (DEFER_TASKRUN, TASKRUN_FLAG) the spin looks at the ring's flags and
 * enters only when they say task work is waiting.
 */
static void test_ring(const char *kind, unsigned int flags)
{
	struct io_uring_params p = { .flags = flags };
	struct __kernel_timespec ts = { .tv_nsec = 300000 };
	struct io_uring ring;
	struct ubd_spin s;
	uint64_t took;
	bool found;
	int i, ret;

	ret = io_uring_queue_init_params(8, &ring, &p);
	if (ret) {
		for (i = 0; i < 4; i++)
			t_skip("no io_uring of this kind here");
		return;
	}
	/* 20 ms: the host may take a few ms from a spin, and the next one
	 * must still tell its twentieth from the whole */
	ubd_spin_init(&s, 20000);
	found = timed_spin(&s, &ring, 0, &took);
	t_ok(!found && took >= 20000 && took < 1000000,
	     "%s ring: nothing comes, the spin gives up after its budget (%llu us)",
	     kind, (unsigned long long)took);

	/* 20 ios of the target's in flight: a twentieth of the budget */
	found = timed_spin(&s, &ring, 20, &took);
	t_ok(!found && took >= 1000 && took < 10000,
	     "%s ring: with 20 target ios in flight it gives up sooner (%llu us)",
	     kind, (unsigned long long)took);

	io_uring_prep_nop(io_uring_get_sqe(&ring));
	found = ubd_spin(&s, &ring, 0);
	t_ok(found && io_uring_cq_ready(&ring) == 1 && !io_uring_sq_ready(&ring),
	     "%s ring: a queued NOP is submitted and its CQE found", kind);
	io_uring_cq_advance(&ring, io_uring_cq_ready(&ring));

	/* a timer that fires mid-spin: its completion comes as task work */
	io_uring_prep_timeout(io_uring_get_sqe(&ring), &ts, 0, 0);
	ubd_spin_init(&s, 100000);
	found = timed_spin(&s, &ring, 0, &took);
	t_ok(found && io_uring_cq_ready(&ring) == 1 && took >= 300 && took < 100000,
	     "%s ring: a 300 us timeout is found when it fires (%llu us)",
	     kind, (unsigned long long)took);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	test_score();
	test_budget();
	test_ring("plain", 0);
	test_ring("queue's", UBD_QUEUE_RING_FLAGS);
	return t_done();
}
