/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libubd: control and serve ubd (and in-tree ublk) devices.
 *
 * Every function returns 0 (or a count) on success and -errno on failure,
 * and leaves errno alone; ubd_strerror() adds context to an errno.
 */
#ifndef UBD_UBD_H
#define UBD_UBD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <liburing.h>
#include <linux/ubd_cmd.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UBD_CONTROL_PATH	"/dev/ubd-control"
#define UBLK_CONTROL_PATH	"/dev/ublk-control"

/* ===================== High level: control commands ===================== */

struct ubd_ctrl;

/*
 * Open a control node.  @path NULL: /dev/ubd-control, or /dev/ublk-control
 * when that is the only one present.  UBD_CONTROL in the environment
 * overrides the default.
 */
int ubd_ctrl_open(struct ubd_ctrl **ctrl, const char *path)
	__attribute__((warn_unused_result));
void ubd_ctrl_close(struct ubd_ctrl *ctrl);
const char *ubd_ctrl_path(const struct ubd_ctrl *ctrl);
/* "ubd" or "ublk": the prefix of the device nodes behind this control */
const char *ubd_ctrl_prefix(const struct ubd_ctrl *ctrl);

/*
 * ADD_DEV: @info in (dev_id -1 for any), out as granted.  A caller without
 * CAP_SYS_ADMIN asks for UBD_F_UNPRIVILEGED_DEV, the only kind of device it
 * may add; the other commands send such a device the path of its
 * /dev/ubdcN, and the driver checks the caller's permission on that node.
 */
int ubd_ctrl_add(struct ubd_ctrl *ctrl, struct ubd_ctrl_dev_info *info);
/* why ADD_DEV of @info failed with @err, for a person */
const char *ubd_add_strerror(const struct ubd_ctrl *ctrl,
			     const struct ubd_ctrl_dev_info *info, int err);
/* does this process have CAP_SYS_ADMIN, the privilege the driver checks? */
bool ubd_caller_privileged(void);
int ubd_ctrl_del(struct ubd_ctrl *ctrl, unsigned int dev_id);
/* DEL_DEV_ASYNC: -EOPNOTSUPP where the driver lacks it */
int ubd_ctrl_del_async(struct ubd_ctrl *ctrl, unsigned int dev_id);
int ubd_ctrl_start(struct ubd_ctrl *ctrl, unsigned int dev_id, pid_t pid);
int ubd_ctrl_stop(struct ubd_ctrl *ctrl, unsigned int dev_id);
int ubd_ctrl_set_params(struct ubd_ctrl *ctrl, unsigned int dev_id,
			struct ubd_params *params);
int ubd_ctrl_get_params(struct ubd_ctrl *ctrl, unsigned int dev_id,
			struct ubd_params *params);
/* GET_DEV_INFO2 with the char node's path; GET_DEV_INFO where it is unknown */
int ubd_ctrl_get_info(struct ubd_ctrl *ctrl, unsigned int dev_id,
		      struct ubd_ctrl_dev_info *info);
/* the CPUs of queue @q_id, as a cpu_set_t of @size bytes */
int ubd_ctrl_get_affinity(struct ubd_ctrl *ctrl, unsigned int dev_id,
			  unsigned int q_id, void *cpuset, size_t size);
int ubd_ctrl_get_features(struct ubd_ctrl *ctrl, uint64_t *features);

/*
 * USER_RECOVERY: a new server takes over a device whose server died (or
 * was quiesced): START_USER_RECOVERY once the old server has closed the
 * char node (-EBUSY before), fetch every tag, END_USER_RECOVERY.
 */
int ubd_ctrl_start_recovery(struct ubd_ctrl *ctrl, unsigned int dev_id);
int ubd_ctrl_end_recovery(struct ubd_ctrl *ctrl, unsigned int dev_id,
			  pid_t pid);
/* QUIESCE_DEV: -EBUSY when ios did not drain in @timeout_ms (0: no limit) */
int ubd_ctrl_quiesce(struct ubd_ctrl *ctrl, unsigned int dev_id,
		     unsigned int timeout_ms);
/* UPDATE_SIZE, in 512-byte sectors */
int ubd_ctrl_update_size(struct ubd_ctrl *ctrl, unsigned int dev_id,
			 uint64_t sectors);

/* the ids of existing devices, from /sys/class/<prefix>-char; count */
int ubd_list_ids(const struct ubd_ctrl *ctrl, unsigned int *ids, int max);

/* "/dev/ubdb3" etc. into @buf */
void ubd_blkdev_path(const struct ubd_ctrl *ctrl, unsigned int dev_id,
		     char *buf, size_t size);
void ubd_chardev_path(const struct ubd_ctrl *ctrl, unsigned int dev_id,
		      char *buf, size_t size);

const char *ubd_state_name(unsigned int state);
/* name of the feature flag bit @bit, or NULL */
const char *ubd_feature_name(unsigned int bit);
/* strerror(-err) with what it means for a ubd command */
const char *ubd_strerror(int err);

/* ===================== Serving a device: targets ===================== */

struct ubd_dev;
struct ubd_queue;

/*
 * What a target provides.  Callbacks run in the main thread ("main") or in
 * the thread of one queue ("queue"); a queue's callbacks never run
 * concurrently with each other.
 */
struct ubd_tgt_ops {
	const char *name;		/* "null", "loop": shown by list */

	/*
	 * main, before the device starts: open the backing store and fill
	 * the params (at least basic.dev_sectors).  0 or -errno.  Required.
	 */
	int (*init_tgt)(struct ubd_dev *dev, struct ubd_params *params);
	/* main, after the last queue stopped.  Optional. */
	void (*deinit_tgt)(struct ubd_dev *dev);

	/* queue, before the first fetch: e.g. register files.  Optional. */
	int (*init_queue)(struct ubd_queue *q);

	/*
	 * queue: start io @tag described by @iod.  Either complete it now
	 * with ubd_complete_io(), or queue SQEs (ubd_queue_get_sqe() with
	 * user_data from ubd_tgt_user_data()) and complete it from
	 * tgt_io_done().  Returns 0 or -errno (the io then fails with it).
	 * Required.
	 */
	int (*queue_io)(struct ubd_queue *q, int tag,
			const struct ubd_io_desc *iod);

	/*
	 * queue: a CQE of the target's own SQEs for @tag.  Required when
	 * queue_io queues SQEs.
	 */
	void (*tgt_io_done)(struct ubd_queue *q, int tag,
			    const struct io_uring_cqe *cqe);

	/* SQEs queue_io may queue for one io at most (default 1) */
	unsigned int max_sqes_per_io;
	/* UBD_F_* the target wants on top of the defaults */
	uint64_t flags;

	/*
	 * main, about once a second while live: the size in sectors the
	 * device should have now (a backing file may have grown).  When it
	 * is larger than the device, the library grows the device with
	 * UPDATE_SIZE; it never shrinks it.  0 or -errno.  Optional.
	 */
	int (*get_size)(struct ubd_dev *dev, uint64_t *sectors);

	/*
	 * queue: where the data of a new io @iod lives, when the target has
	 * it in memory of its own (a shared mapping of a file in RAM): the
	 * driver then copies it straight between the request and there, and
	 * queue_io finds a WRITE's data already in place and owes a READ's
	 * nothing (see ubd_queue_io_data()).  NULL: the tag's buffer.  Asked
	 * only when the device has NEED_GET_DATA or USER_COPY, since in the
	 * driver's plain copy mode a WRITE's data reaches the tag's buffer
	 * before the server sees the io.  Optional.
	 */
	void *(*io_data)(struct ubd_queue *q, int tag,
			 const struct ubd_io_desc *iod);
	void *reserved[2];
};

/*
 * Test-only faults a server can be told to inject, to exercise the
 * driver's handling of slow, silent and crashing servers.
 */
enum ubd_fault_kind {
	UBD_FAULT_NONE,
	UBD_FAULT_DELAY,	/* every io waits arg ms before the target */
	UBD_FAULT_SILENT,	/* no io is ever answered */
	UBD_FAULT_STALL_QUEUE,	/* queue arg answers no io */
	UBD_FAULT_EXIT_QUEUE,	/* queue arg's thread dies at its first io */
};

struct ubd_fault {
	enum ubd_fault_kind kind;
	unsigned int arg;
};

/* "delay=MS", "silent", "stall-queue=N", "exit-queue=N"; 0 or -EINVAL */
int ubd_parse_fault(const char *spec, struct ubd_fault *fault);

/* what a new device does when its server dies: ubdctl add --recovery */
enum ubd_recovery_mode {
	UBD_RECOVERY_NONE,	/* the device stops */
	UBD_RECOVERY_ON,	/* it waits; ios the server held fail */
	UBD_RECOVERY_REISSUE,	/* it waits; those ios are issued again */
	UBD_RECOVERY_FAIL_IO,	/* every io fails until a new server */
};

/* "" or "on", "reissue", "fail-io"; 0 or -EINVAL */
int ubd_parse_recovery(const char *str, enum ubd_recovery_mode *mode);
/* the UBD_F_* bits ADD_DEV asks for: the mode, with QUIESCE */
uint64_t ubd_recovery_flags(enum ubd_recovery_mode mode);
/* the mode a device's flags say, as ubd_parse_recovery spells it */
const char *ubd_recovery_name(uint64_t flags);

#define UBD_SPIN_US_DEFAULT	200
#define UBD_SPIN_US_MAX		10000

/* how a target was asked to run: from the common command line */
struct ubd_dev_opts {
	const char *control;	/* control node, NULL: default */
	int dev_id;		/* -1: add a new device; else attach to it */
	unsigned int nr_queues;	/* 0: default (1) */
	unsigned int depth;	/* 0: default (128) */
	unsigned int max_io;	/* bytes, 0: default (512 KiB) */
	bool read_only;
	bool daemon;		/* fork once live, print the block device */
	/* pin each queue thread to the CPUs GET_QUEUE_AFFINITY gives */
	bool pin_queues;
	/* how long a floating queue thread that just served ios looks for
	 * more before it sleeps, in us, shared among the target's ios in
	 * flight: < 0 for UBD_SPIN_US_DEFAULT, 0 for never (pinned threads
	 * never spin) */
	int spin_us;
	/* a new device uses UBD_F_NEED_GET_DATA: WRITE data comes in a
	 * second step, into the buffer the server names then */
	bool need_get_data;
	/* a new device uses UBD_F_USER_COPY: the library moves the data
	 * with reads and writes on /dev/ubdcN; not with need_get_data */
	bool user_copy;
	struct ubd_fault fault;	/* test-only, see ubd-null(8) */
	/* a new device waits for a new server when this one dies */
	enum ubd_recovery_mode recovery;
	/* take over device dev_id, whose server died or was quiesced */
	bool recover;
};

/*
 * Serve a device with @ops until it is stopped or deleted, or a signal
 * (SIGTERM, SIGINT) asks to stop.  Returns 0 or -errno; messages go to
 * stderr (or syslog once daemonized).
 */
int ubd_serve(const struct ubd_tgt_ops *ops, const struct ubd_dev_opts *opts,
	      void *tgt_data);

void *ubd_dev_tgt_data(const struct ubd_dev *dev);
const struct ubd_ctrl_dev_info *ubd_dev_info(const struct ubd_dev *dev);
const struct ubd_dev_opts *ubd_dev_opts(const struct ubd_dev *dev);
/* what list shows of this server: init_tgt fills backing_file, direct_io */
struct ubd_state *ubd_dev_state(struct ubd_dev *dev);

struct ubd_dev *ubd_queue_dev(const struct ubd_queue *q);
int ubd_queue_id(const struct ubd_queue *q);
struct io_uring *ubd_queue_ring(struct ubd_queue *q);
/* the buffer of io @tag (max_io_buf_bytes long) */
void *ubd_queue_io_buf(const struct ubd_queue *q, int tag);
/*
 * where the data of the io @tag now in the target is: what the io_data
 * op said, or the tag's buffer
 */
void *ubd_queue_io_data(const struct ubd_queue *q, int tag);
/*
 * Register @fd in the file table of the queue's ring, for SQEs with
 * IOSQE_FIXED_FILE: saves the file lookup and reference of every I/O.  The
 * slot number, or -errno (-ENOSPC: the table is full or the kernel has no
 * sparse tables).  Call it from init_queue.
 */
int ubd_queue_register_file(struct ubd_queue *q, int fd);
/*
 * The index of the registered buffer that holds @len bytes at @addr, for
 * READ_FIXED and WRITE_FIXED SQEs, or -1: the start of each tag's buffer
 * may be registered with the queue's ring (not with user copy, nor when
 * the kernel refuses the pinning).
 */
int ubd_queue_fixed_buf(const struct ubd_queue *q, int tag,
			const void *addr, size_t len);
/* a free SQE of the queue's ring; submits pending ones if it must */
struct io_uring_sqe *ubd_queue_get_sqe(struct ubd_queue *q);
/* finish io @tag with @res (bytes done or -errno) */
void ubd_complete_io(struct ubd_queue *q, int tag, int res);
/*
 * True once the queue winds down: the driver aborted its commands (the
 * device is being stopped or deleted) or the server was asked to stop by a
 * signal.  A target that keeps SQEs armed with no io behind them (a
 * standing recv on a socket, a retry timer) must let them end when it sees
 * this, or the queue never finishes; ios it holds must then be completed.
 */
bool ubd_queue_stopping(const struct ubd_queue *q);
/* per-queue private pointer of the target */
void ubd_queue_set_data(struct ubd_queue *q, void *data);
void *ubd_queue_data(const struct ubd_queue *q);

/* user_data of target SQEs: tag, a target op and 32 bits of its own */
static inline uint64_t ubd_tgt_user_data(unsigned int tag, unsigned int op,
					 uint32_t data)
{
	return (uint64_t)tag | (uint64_t)(op & 0xff) << 16 |
	       (uint64_t)data << 24 | 1ULL << 63;
}

static inline unsigned int ubd_user_data_tag(uint64_t ud)
{
	return ud & 0xffff;
}

static inline unsigned int ubd_user_data_op(uint64_t ud)
{
	return (ud >> 16) & 0xff;
}

static inline uint32_t ubd_user_data_data(uint64_t ud)
{
	return (ud >> 24) & 0xffffffff;
}

static inline bool ubd_user_data_is_tgt(uint64_t ud)
{
	return ud >> 63;
}

/* ===================== Low level: helpers for tools ===================== */

/*
 * Parse a size: digits with an optional K, M, G, T (powers of 1024, also
 * KiB...) or KB, MB... (powers of 1000) suffix.  -EINVAL on garbage,
 * -ERANGE on overflow.
 */
int ubd_parse_size(const char *str, uint64_t *out);
/* a whole number in [min, max]; -EINVAL garbage, -ERANGE outside */
int ubd_parse_uint(const char *str, uint64_t min, uint64_t max,
		   uint64_t *out);

/* state files under /run/ubd (UBD_RUN_DIR overrides) for list */
struct ubd_state {
	pid_t pid;
	char target[32];
	char backing_file[4096];
	bool read_only;
	bool direct_io;
	/* how the server was started, for "ubdctl recover" */
	char exe[4096];
	char args[4096];	/* argv[1..], each ended by a NUL */
	unsigned int args_len;
	uid_t uid;		/* read: who wrote the file */
};
/*
 * The directory is world-writable and sticky (1777): before believing a
 * file, check that uid is root's or the device owner's and that pid is the
 * device's server (ubd_ctrl_dev_info.ubdsrv_pid).
 */
int ubd_state_write(unsigned int dev_id, const struct ubd_state *st);
/* -ESRCH (and @st zeroed) when the server that wrote it is gone */
int ubd_state_read(unsigned int dev_id, struct ubd_state *st);
/* the file as it is, whether its server lives or not */
int ubd_state_read_any(unsigned int dev_id, struct ubd_state *st);
void ubd_state_remove(unsigned int dev_id);
const char *ubd_run_dir(void);

#ifdef __cplusplus
}
#endif
#endif /* UBD_UBD_H */
