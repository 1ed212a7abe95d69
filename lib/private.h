/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libubd internals: never installed. */
#ifndef UBD_PRIVATE_H
#define UBD_PRIVATE_H

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>

#include "ubd.h"

/* shared between the library's files, not exported */
#define UBD_HIDDEN __attribute__((visibility("hidden")))

struct ubd_ctrl {
	int fd;
	struct io_uring ring;		/* SQE128, one command at a time */
	char path[PATH_MAX];
	bool is_ublk;			/* /dev/ublk-control: ublk node names */
	bool legacy_ops;		/* driver knows only the raw opcodes */
	bool have_features;
	uint64_t features;
	bool no_info2;			/* GET_DEV_INFO2 unknown: none unprivileged */
};

/* per-tag state kept by the library */
enum {
	IO_FREE,		/* not fetched (or aborted): nothing to do */
	IO_WAITING,		/* FETCH or COMMIT_AND_FETCH is in the kernel */
	IO_TARGET,		/* the target is working on it */
	IO_HELD,		/* a test fault keeps it from the target */
	IO_COPY_IN,		/* user copy: reading a WRITE's data */
};

struct ubd_io {
	int state;
	int result;		/* set by ubd_complete_io */
	bool need_commit;	/* COMMIT_AND_FETCH to queue */
	/* user copy: the COMMIT is linked behind the WRITE of the data */
	bool commit_linked;
	int copy_err;		/* ... and that WRITE failed with this */
	void *data;		/* its data: ops->io_data or the buffer */
};

/* the char dev and up to 7 files of the target (ubd_queue_register_file) */
#define UBD_QUEUE_FILES	8
/*
 * The start of each tag's buffer registered with the ring (queue.c): up
 * to this much of each, and up to UBD_FIXED_QUEUE_BYTES in all per queue
 */
#define UBD_FIXED_BUF_BYTES	(32 * 1024)
#define UBD_FIXED_QUEUE_BYTES	(4 * 1024 * 1024)

/* @clock's time in ns: placement's looks and the spin's budget */
static inline uint64_t ubd_now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * A queue's ring (queue.c): the thread's alone, its task work run only in
 * its io_uring_enter, and a flag in the ring while some waits (spin.c)
 */
#define UBD_QUEUE_RING_FLAGS	(IORING_SETUP_SINGLE_ISSUER |	\
				 IORING_SETUP_DEFER_TASKRUN |	\
				 IORING_SETUP_COOP_TASKRUN |	\
				 IORING_SETUP_TASKRUN_FLAG)

/* spin.c: look for new work a little before sleeping */
struct ubd_spin {
	uint64_t budget_ns;		/* the longest spin; 0: never spin */
	unsigned int score;		/* spin while non-zero */
	unsigned int sleeps;		/* since the last probe, at score 0 */
};
UBD_HIDDEN void ubd_spin_init(struct ubd_spin *s, unsigned int budget_us);
/* true when CQEs are ready and nothing is left to submit */
UBD_HIDDEN bool ubd_spin(struct ubd_spin *s, struct io_uring *ring,
			 unsigned int inflight);
/* the spin's length while @inflight ios of the target's are in flight */
UBD_HIDDEN uint64_t ubd_spin_budget_ns(const struct ubd_spin *s,
				       unsigned int inflight);
/* exposed for the unit test: the score */
UBD_HIDDEN bool ubd_spin_wanted(struct ubd_spin *s);
UBD_HIDDEN void ubd_spin_result(struct ubd_spin *s, bool found);

struct ubd_queue {
	struct ubd_dev *dev;
	int q_id;
	unsigned int depth;
	pthread_t thread;
	struct io_uring ring;
	const struct ubd_io_desc *descs;	/* mmap'd, read-only */
	size_t descs_size;
	char *bufs;			/* depth * max_io_buf_bytes */
	unsigned int nr_waiting;	/* commands parked in the driver */
	unsigned int nr_tgt_inflight;	/* target SQEs not yet completed */
	bool stopping;			/* an ABORT came: refetch nothing */
	enum ubd_fault_kind fault;	/* the test fault of this queue */
	struct __kernel_timespec fault_delay;
	unsigned int nr_fault_timers;	/* delay timers in the ring */
	unsigned int nr_copies;		/* user-copy SQEs not yet completed */
	unsigned int nr_files;		/* slots of the file table in use */
	unsigned int nr_files_max;	/* its size: 1, or UBD_QUEUE_FILES */
	/* bytes at the start of each tag's buffer registered as buffer <tag> */
	size_t fixed_len;
	bool fixed_cmds;		/* ... and named in the io commands */
	bool fault_exit;		/* die like a crashed thread */
	bool ring_left;			/* ... leaving its ring to be closed */
	int error;			/* why the thread ended, -errno */
	/* a floating thread's own placement (placement.c), or NULL */
	struct ubd_placement *placement;
	struct ubd_spin spin;		/* spin.c: before each sleep */
	void *tgt_data;
	struct ubd_io ios[];
};

struct ubd_dev {
	struct ubd_ctrl *ctrl;
	const struct ubd_tgt_ops *ops;
	struct ubd_dev_opts opts;
	struct ubd_ctrl_dev_info info;
	struct ubd_params params;
	struct ubd_state state;
	void *tgt_data;
	int char_fd;
	bool added;			/* we added it, so we delete it */
	bool size_warned;		/* follow_size() said why it can't */
	uint64_t store_sectors;		/* the target's size, last we looked */
	/* UBD_F_USER_COPY: data moves by pread/pwrite SQEs on char_fd */
	bool user_copy;
	/* ops->io_data may place data: NEED_GET_DATA or USER_COPY */
	bool io_data_ok;
	unsigned int io_op_fetch, io_op_commit, io_op_get_data;

	pthread_t main_thread;		/* gets SIGUSR1 when a queue ends */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int nr_started;	/* queues that fetched or failed */
	unsigned int nr_exited;		/* queue threads that ended */
	/* a signal asked us to stop: ubd_queue_stopping() says so */
	bool stop_requested;
	struct ubd_queue **queues;
};

/* queue.c */
UBD_HIDDEN int ubd_queue_create(struct ubd_dev *dev, int q_id, struct ubd_queue **out);
UBD_HIDDEN int ubd_queue_start(struct ubd_queue *q);
UBD_HIDDEN void ubd_queue_destroy(struct ubd_queue *q);

/* placement.c: keep a floating queue thread off a crowded CPU */
struct ubd_placement;
struct ubd_cpu_time {
	uint64_t busy_ns;		/* tasks ran on the CPU */
	uint64_t wait_ns;		/* ... and waited for it */
};
UBD_HIDDEN struct ubd_placement *ubd_placement_new(void);
UBD_HIDDEN void ubd_placement_free(struct ubd_placement *p);
UBD_HIDDEN void ubd_placement_look(struct ubd_placement *p, int q_id);
/* exposed for the unit test */
UBD_HIDDEN int ubd_schedstat_parse(const char *text, struct ubd_cpu_time *cpus,
				   int nr_cpus);
UBD_HIDDEN int ubd_placement_pick(const struct ubd_cpu_time *delta, int nr_cpus,
				  const cpu_set_t *allowed, int cpu,
				  const struct ubd_cpu_time *self_on,
				  uint64_t span_ns);
UBD_HIDDEN void ubd_placement_avoid(const struct ubd_cpu_time *delta,
				    int nr_cpus, const cpu_set_t *allowed,
				    int cpu, uint64_t span_ns,
				    const cpu_set_t *avoided,
				    unsigned char *freed, cpu_set_t *avoid);

/* log.c: stderr in the foreground, syslog once daemonized */
UBD_HIDDEN void ubd_log_to_syslog(const char *ident);
UBD_HIDDEN void ubd_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
UBD_HIDDEN void ubd_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* UBD_PRIVATE_H */
