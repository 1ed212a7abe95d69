// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A short spin before sleeping: a queue thread that has just served ios
 * looks for the next ones for up to a few hundred microseconds before it
 * sleeps in io_uring_enter.
 *
 * A server quicker than its application runs out of work every few ios.
 * Asleep, it must be woken by the next request, and that wake-up (a remote
 * wake-up with an IPI) is paid on the submitting CPU, which is the one that
 * limits a fast device.  Measured in the TCG guest, ubd-null 4k randread
 * QD32, fio on CPU 0, one boot, 3 rounds: the thread slept once per 4 ios
 * and made 0.73-0.97 x null_blk with 2 queues; spinning up to 50 us it
 * slept once per 100 ios and made 1.00-1.27 x.
 *
 * The spin must outlast the application's round trip.  At iodepth 1 the
 * next request comes only after the application was woken for the last
 * one's completion, which emulation makes about 100 us: spinning 50 us, the
 * thread missed it and slept for every io (ubd-null 4k randread QD1, 6.0k
 * IOPS); spinning 200 us it slept once per 25-65 ios and made 15.3k (QD4:
 * 43.5k -> 53.2k; bench/ab, one boot each, 4 rounds).
 *
 * A spin that finds nothing wastes its CPU, though: ubd-loop on a virtio
 * disk waits a millisecond for its reads, and spinning there lost 10-30% of
 * its IOPS.  So each spin is scored: one that found work earns a point, one
 * that did not costs SPIN_MISS_COST points.  The thread spins while it has
 * points, that is while nearly every spin pays; with none left it sleeps at
 * once, and tries one spin every SPIN_PROBE_EVERY sleeps in case the load
 * changed.  And the budget is shared among the target's own ios in flight:
 * with n of them, one completes n times as often, so a spin of 1/n finds
 * one as often; when none does, the backing device is slow, and sleeping
 * costs less than spinning on.  Spinning the whole 200 us with ~30 reads in
 * flight on the virtio disk cost 14% of its IOPS (4k randread QD32, 4 of 4
 * rounds), where the queue thread competes for the host's cores with the
 * thread that serves the disk.
 *
 * A look need not be a syscall: the queue's ring has TASKRUN_FLAG, so the
 * kernel raises a flag in the ring as it queues task work, and the spin
 * reads it in memory and enters only when it is up.  Entering to look,
 * ubd-null with 1 queue made 0.67 and 0.81 x null_blk (4k randread QD32,
 * bench/ab, 6 and 8 rounds in two boots); looking in memory, 0.88 and
 * 0.89, and more IOPS in 11 of the 14 rounds.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "private.h"

#define SPIN_SCORE_MAX		16
#define SPIN_MISS_COST		4
#define SPIN_PROBE_EVERY	64
/* looks in memory between two reads of the clock (see ubd_spin()) */
#define SPIN_LOOKS_PER_CLOCK	64

void ubd_spin_init(struct ubd_spin *s, unsigned int budget_us)
{
	s->budget_ns = (uint64_t)budget_us * 1000;
	/* start hopeful: the first misses stop it soon enough */
	s->score = SPIN_SCORE_MAX;
	s->sleeps = 0;
}

bool ubd_spin_wanted(struct ubd_spin *s)
{
	if (!s->budget_ns)
		return false;
	if (s->score)
		return true;
	if (++s->sleeps < SPIN_PROBE_EVERY)
		return false;
	s->sleeps = 0;
	return true;
}

void ubd_spin_result(struct ubd_spin *s, bool found)
{
	if (found)
		s->score = s->score < SPIN_SCORE_MAX ? s->score + 1 :
						       SPIN_SCORE_MAX;
	else
		s->score = s->score > SPIN_MISS_COST ? s->score - SPIN_MISS_COST :
						       0;
}

uint64_t ubd_spin_budget_ns(const struct ubd_spin *s, unsigned int inflight)
{
	return inflight > 1 ? s->budget_ns / inflight : s->budget_ns;
}

/*
 * Is there something for io_uring_enter to give us?  CQEs, or task work
 * waiting for it: with TASKRUN_FLAG the kernel raises IORING_SQ_TASKRUN
 * as it queues the first task work, and clears it once that has run.
 */
static bool ring_has_events(struct io_uring *ring)
{
	return io_uring_cq_ready(ring) ||
	       (IO_URING_READ_ONCE(*ring->sq.kflags) & IORING_SQ_TASKRUN);
}

/*
 * Submit what is queued and look for CQEs until some come or the budget
 * is spent.  With DEFER_TASKRUN the driver's new ios arrive as task work,
 * which only runs in an io_uring_enter.  A ring with TASKRUN_FLAG says
 * when there is some, so the spin looks at the ring's flags in memory and
 * enters only then; without it, each look is an io_uring_enter.  True
 * when CQEs are ready, and then nothing is left to submit.
 *
 * Looks in memory read the clock only every SPIN_LOOKS_PER_CLOCK: under
 * QEMU's TCG each read of the TSC is a call into QEMU that takes a lock the
 * other vCPUs' reads take too.  Measured in the TCG guest, null_blk 4k
 * randread QD32 with fio on CPU 0 and a loop on CPU 1, 4 rounds: 79.8k
 * IOPS with CPU 1 idle, 44.9k with a loop that read the clock at each
 * look, 59.1k with one that read it every 4096.  There a look took 10 ns
 * and one with a clock read 110 ns (3 s loops on CPU 1), so the spin ends
 * at most 0.6 us past its budget.
 */
bool ubd_spin(struct ubd_spin *s, struct io_uring *ring, unsigned int inflight)
{
	bool peek = ring->flags & IORING_SETUP_TASKRUN_FLAG;
	unsigned int looks = 0;
	uint64_t end;
	bool found = false;
	int ret;

	if (!ubd_spin_wanted(s))
		return false;
	end = ubd_now_ns(CLOCK_MONOTONIC) + ubd_spin_budget_ns(s, inflight);
	/* the commits go in first, whatever the look finds */
	ret = io_uring_submit_and_get_events(ring);
	for (;;) {
		/* the wait that follows reports a real error */
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
			break;
		if (io_uring_cq_ready(ring) && !io_uring_sq_ready(ring)) {
			found = true;
			break;
		}
		if ((!peek || !(++looks % SPIN_LOOKS_PER_CLOCK)) &&
		    ubd_now_ns(CLOCK_MONOTONIC) >= end)
			break;
		if (!peek || io_uring_sq_ready(ring) || ring_has_events(ring))
			ret = io_uring_submit_and_get_events(ring);
	}
	ubd_spin_result(s, found);
	return found;
}
