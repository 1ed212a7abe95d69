// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ubd_serve(): the life of a server, shared by every target.
 *
 *   add (or attach to) the device -> target init -> SET_PARAMS
 *   -> open /dev/ubdcN -> queue threads fetch -> START_DEV -> serve
 *   -> on SIGTERM/SIGINT: STOP_DEV; on STOP/DEL from elsewhere: just end
 *   -> join queues -> close -> DEL_DEV if we added it.
 *
 * Whatever fails on the way unwinds what was done, so a failed start leaves
 * no device, no state file and no process behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "private.h"

#define UBD_DEF_NR_QUEUES	1
#define UBD_DEF_DEPTH		128
/* sent explicitly: ublk 6.1 takes 0 literally, where ubd_drv defaults it */
#define UBD_DEF_MAX_IO		(512U << 10)
/* --recover waits this long for the old server to let go: 10 s */
#define UBD_RECOVER_TRIES	100
#define UBD_RECOVER_WAIT_US	(100 * 1000)

void *ubd_dev_tgt_data(const struct ubd_dev *dev)
{
	return dev->tgt_data;
}

const struct ubd_ctrl_dev_info *ubd_dev_info(const struct ubd_dev *dev)
{
	return &dev->info;
}

const struct ubd_dev_opts *ubd_dev_opts(const struct ubd_dev *dev)
{
	return &dev->opts;
}

struct ubd_state *ubd_dev_state(struct ubd_dev *dev)
{
	return &dev->state;
}

/*
 * Fork; the parent waits until the child is live (it reports the block
 * device on @pipe) or fails (it exits, having printed why), and exits with
 * that outcome.  Returns the write end in the child.
 */
static int daemonize(void)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		char buf[256];
		ssize_t n;
		int status;

		close(fds[1]);
		n = read(fds[0], buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			fputs(buf, stdout);
			fflush(stdout);
			_exit(EXIT_SUCCESS);
		}
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			_exit(WEXITSTATUS(status) ?: EXIT_FAILURE);
		_exit(EXIT_FAILURE);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

/* the daemon is live: tell the parent, then let go of the terminal */
static void daemon_detach(int status_fd, const char *blkdev)
{
	char line[256];
	int null;
	int len = snprintf(line, sizeof(line), "%s\n", blkdev);

	if (write(status_fd, line, len) != len)
		ubd_err("cannot report to the parent: %m\n");
	close(status_fd);
	ubd_log_to_syslog(program_invocation_short_name);
	if (chdir("/"))
		ubd_err("chdir /: %m\n");
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
}

/* the node appears with the device, but udev may still be fixing it up */
static int open_char_dev(struct ubd_dev *dev)
{
	char path[64];
	int i;

	ubd_chardev_path(dev->ctrl, dev->info.dev_id, path, sizeof(path));
	for (i = 0; i < 100; i++) {
		int fd = open(path, O_RDWR | O_CLOEXEC);

		if (fd >= 0)
			return fd;
		/* EBUSY: an old server is still closing it */
		if (errno != ENOENT && errno != EACCES && errno != EBUSY)
			break;
		usleep(20 * 1000);
	}
	ubd_err("cannot open %s: %m\n", path);
	return -errno;
}

static bool waits_for_recovery(const struct ubd_ctrl_dev_info *info)
{
	return info->state == UBD_S_DEV_QUIESCED ||
	       info->state == UBD_S_DEV_FAIL_IO;
}

/* a server that is still alive, as far as we can tell */
static bool server_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

/*
 * --recover: take over a device whose server died or was quiesced.  The
 * driver says -EBUSY until it has noticed the death and the old server has
 * let go of the char node, which takes a moment: retry for a while.
 */
static int recover_attach(struct ubd_dev *dev)
{
	const struct ubd_dev_opts *o = &dev->opts;
	struct ubd_ctrl_dev_info *info = &dev->info;
	int ret, i;

	ret = ubd_ctrl_get_info(dev->ctrl, o->dev_id, info);
	if (ret) {
		ubd_err("device %d: %s\n", o->dev_id, ubd_strerror(ret));
		return ret;
	}
	if (!(info->flags & UBD_F_USER_RECOVERY)) {
		ubd_err("device %d was added without recovery (see --recovery)\n",
			o->dev_id);
		return -EINVAL;
	}
	if ((dev->ops->flags & info->flags) != dev->ops->flags) {
		ubd_err("device %d lacks features the %s target needs\n",
			o->dev_id, dev->ops->name);
		return -EINVAL;
	}
	/* the device's data path is what it was added with */
	dev->user_copy = info->flags & UBD_F_USER_COPY;
	for (i = 0; i < UBD_RECOVER_TRIES; i++) {
		if (info->state == UBD_S_DEV_DEAD) {
			ubd_err("device %d is not started: serve it without --recover\n",
				o->dev_id);
			return -EINVAL;
		}
		if (info->state == UBD_S_DEV_LIVE &&
		    server_alive(info->ubdsrv_pid)) {
			ubd_err("device %d is live, served by pid %d: nothing to recover\n",
				o->dev_id, info->ubdsrv_pid);
			return -EBUSY;
		}
		ret = ubd_ctrl_start_recovery(dev->ctrl, o->dev_id);
		if (ret != -EBUSY)
			break;
		usleep(UBD_RECOVER_WAIT_US);
		ret = ubd_ctrl_get_info(dev->ctrl, o->dev_id, info);
		if (ret) {
			ubd_err("device %d: %s\n", o->dev_id,
				ubd_strerror(ret));
			return ret;
		}
	}
	if (ret == -EBUSY)
		ubd_err("device %d: the old server does not let go of it\n",
			o->dev_id);
	else if (ret)
		ubd_err("device %d: cannot start recovery: %s\n", o->dev_id,
			ubd_strerror(ret));
	return ret;
}

/* how we were started, for "ubdctl recover" */
static void record_cmdline(struct ubd_state *st)
{
	char buf[sizeof(st->args)];
	ssize_t n, len;
	int fd;

	n = readlink("/proc/self/exe", st->exe, sizeof(st->exe) - 1);
	st->exe[n > 0 ? n : 0] = '\0';
	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	/* a command line that does not fit, or has a newline, is not kept */
	if (n <= 0 || n == (ssize_t)sizeof(buf) || memchr(buf, '\n', n))
		return;
	len = strlen(buf) + 1;		/* argv[0] */
	if (len >= n)
		return;
	memcpy(st->args, buf + len, n - len);
	st->args_len = n - len;
}

/* ADD_DEV, or take the device made by "ubdctl add" */
static int add_or_attach(struct ubd_dev *dev)
{
	const struct ubd_dev_opts *o = &dev->opts;
	struct ubd_ctrl_dev_info *info = &dev->info;
	uint64_t want;
	int ret;

	if (o->recover)
		return recover_attach(dev);
	if (o->dev_id >= 0) {
		ret = ubd_ctrl_get_info(dev->ctrl, o->dev_id, info);
		if (ret == 0) {
			if (info->state == UBD_S_DEV_LIVE) {
				ubd_err("device %d is already served by pid %d\n",
					o->dev_id, info->ubdsrv_pid);
				return -EBUSY;
			}
			if (o->recovery != UBD_RECOVERY_NONE &&
			    !(info->flags & UBD_F_USER_RECOVERY)) {
				ubd_err("device %d was added without recovery: --recovery is for new devices (ubdctl add --recovery)\n",
					o->dev_id);
				return -EINVAL;
			}
			if (waits_for_recovery(info)) {
				ubd_err("device %d waits for a new server: use --recover\n",
					o->dev_id);
				return -EBUSY;
			}
			if (o->nr_queues && o->nr_queues != info->nr_hw_queues) {
				ubd_err("device %d has %u queues, not %u\n",
					o->dev_id, info->nr_hw_queues,
					o->nr_queues);
				return -EINVAL;
			}
			if (o->depth && o->depth != info->queue_depth) {
				ubd_err("device %d has depth %u, not %u\n",
					o->dev_id, info->queue_depth, o->depth);
				return -EINVAL;
			}
			if ((dev->ops->flags & info->flags) != dev->ops->flags) {
				ubd_err("device %d lacks features the %s target needs\n",
					o->dev_id, dev->ops->name);
				return -EINVAL;
			}
			if (o->user_copy && !(info->flags & UBD_F_USER_COPY)) {
				ubd_err("device %d was not created with USER_COPY\n",
					o->dev_id);
				return -EINVAL;
			}
			/* the device decides: its server must copy */
			dev->user_copy = info->flags & UBD_F_USER_COPY;
			return 0;
		}
		if (ret != -ENODEV) {
			ubd_err("device %d: %s\n", o->dev_id, ubd_strerror(ret));
			return ret;
		}
	}

	if (o->user_copy && o->need_get_data) {
		ubd_err("USER_COPY and NEED_GET_DATA cannot be combined\n");
		return -EINVAL;
	}
	memset(info, 0, sizeof(*info));
	info->dev_id = o->dev_id >= 0 ? (unsigned int)o->dev_id : (__u32)-1;
	info->nr_hw_queues = o->nr_queues ?: UBD_DEF_NR_QUEUES;
	info->queue_depth = o->depth ?: UBD_DEF_DEPTH;
	info->max_io_buf_bytes = o->max_io ?: UBD_DEF_MAX_IO;
	/* UPDATE_SIZE costs nothing: ask for it, for "ubdctl resize" */
	info->flags = dev->ops->flags | ubd_recovery_flags(o->recovery) |
		      UBD_F_UPDATE_SIZE;
	if (o->need_get_data)
		info->flags |= UBD_F_NEED_GET_DATA;
	if (o->user_copy)
		info->flags |= UBD_F_USER_COPY;
	ret = ubd_ctrl_add(dev->ctrl, info);
	if (ret) {
		ubd_err("cannot add a device: %s\n",
			ubd_add_strerror(dev->ctrl, info, ret));
		return ret;
	}
	dev->added = true;
	if (info->nr_hw_queues != (o->nr_queues ?: UBD_DEF_NR_QUEUES))
		ubd_info("device %u: %u queues granted, not %u\n",
			 info->dev_id, info->nr_hw_queues, o->nr_queues);
	if ((info->flags & dev->ops->flags) != dev->ops->flags) {
		ubd_err("the driver lacks features the %s target needs\n",
			dev->ops->name);
		return -EOPNOTSUPP;
	}
	if (o->need_get_data && !(info->flags & UBD_F_NEED_GET_DATA)) {
		ubd_err("the driver does not support NEED_GET_DATA\n");
		return -EOPNOTSUPP;
	}
	want = ubd_recovery_flags(o->recovery) & ~UBD_F_QUIESCE;
	if ((info->flags & want) != want) {
		ubd_err("the driver does not support recovery mode %s\n",
			ubd_recovery_name(want));
		return -EOPNOTSUPP;
	}
	if (o->user_copy && !(info->flags & UBD_F_USER_COPY)) {
		ubd_err("the driver does not support USER_COPY\n");
		return -EOPNOTSUPP;
	}
	dev->user_copy = info->flags & UBD_F_USER_COPY;
	return 0;
}

static int setup_params(struct ubd_dev *dev)
{
	struct ubd_params *p = &dev->params;
	int ret;

	memset(p, 0, sizeof(*p));
	p->types = UBD_PARAM_TYPE_BASIC;
	p->basic.logical_bs_shift = 9;
	p->basic.physical_bs_shift = 12;
	p->basic.io_min_shift = 9;
	p->basic.io_opt_shift = 12;
	p->basic.max_sectors = dev->info.max_io_buf_bytes >> 9;

	ret = dev->ops->init_tgt(dev, p);
	if (ret)
		return ret;
	if (dev->opts.read_only)
		p->basic.attrs |= UBD_ATTR_READ_ONLY;
	dev->state.read_only = p->basic.attrs & UBD_ATTR_READ_ONLY;
	/* a device being recovered keeps the parameters it has */
	if (dev->opts.recover)
		return 0;

	ret = ubd_ctrl_set_params(dev->ctrl, dev->info.dev_id, p);
	if (ret)
		ubd_err("device %u: cannot set parameters: %s\n",
			dev->info.dev_id, ubd_strerror(ret));
	return ret;
}

/* start every queue thread; 0 once all fetched, else the first error */
static int start_queues(struct ubd_dev *dev)
{
	unsigned int n = dev->info.nr_hw_queues;
	unsigned int i, started = 0;
	int ret = 0;

	dev->queues = calloc(n, sizeof(*dev->queues));
	if (!dev->queues)
		return -ENOMEM;
	dev->io_data_ok = dev->ops->io_data &&
			  (dev->user_copy ||
			   (dev->info.flags & UBD_F_NEED_GET_DATA));
	for (i = 0; i < n; i++) {
		ret = ubd_queue_create(dev, i, &dev->queues[i]);
		if (ret) {
			ubd_err("queue %u: %s\n", i, ubd_strerror(ret));
			goto out_wait;
		}
	}
	for (i = 0; i < n; i++) {
		ret = ubd_queue_start(dev->queues[i]);
		if (ret) {
			ubd_err("queue %u: cannot start thread: %s\n", i,
				ubd_strerror(ret));
			break;
		}
		started++;
	}
out_wait:
	pthread_mutex_lock(&dev->lock);
	while (dev->nr_started < started)
		pthread_cond_wait(&dev->cond, &dev->lock);
	pthread_mutex_unlock(&dev->lock);
	for (i = 0; i < started && !ret; i++)
		ret = dev->queues[i]->error;
	return ret;
}

/* wait for the threads that were started, then free every queue */
static void destroy_queues(struct ubd_dev *dev)
{
	unsigned int i;

	if (!dev->queues)
		return;
	for (i = 0; i < dev->info.nr_hw_queues; i++) {
		struct ubd_queue *q = dev->queues[i];

		if (q && q->thread)
			pthread_join(q->thread, NULL);
		ubd_queue_destroy(q);
	}
	free(dev->queues);
	dev->queues = NULL;
}

/*
 * Another process is deleting the device: its char device leaves sysfs.
 * Then our own DEL must not be sent: ublk 6.1 holds its global control
 * mutex while a DEL waits for the device's last reference, and a second
 * DEL of the same device takes a reference before it waits for that
 * mutex, so the two would wait for each other for ever.  That DEL aborts
 * our io a moment before it removes the char device, so when the device
 * was stopped from outside (@outside) such a driver gets 2 s to do it.
 */
static bool deleted_elsewhere(const struct ubd_dev *dev, bool outside)
{
	const char *pfx = ubd_ctrl_prefix(dev->ctrl);
	int waits = outside && dev->ctrl->legacy_ops ? 20 : 0;
	char path[96];

	snprintf(path, sizeof(path), "/sys/class/%s-char/%sc%u", pfx, pfx,
		 dev->info.dev_id);
	for (;;) {
		if (access(path, F_OK) && errno == ENOENT)
			return true;
		if (waits-- <= 0)
			return false;
		usleep(100 * 1000);
	}
}

/* the target says the device should be larger: grow it */
static void follow_size(struct ubd_dev *dev)
{
	uint64_t sectors, cur = dev->params.basic.dev_sectors;
	int ret;

	/*
	 * Act on a change of the store only, so that a device resized by
	 * hand ("ubdctl resize") is not resized back.
	 */
	if (dev->ops->get_size(dev, &sectors) ||
	    sectors == dev->store_sectors)
		return;
	dev->store_sectors = sectors;
	if (sectors <= cur)
		return;
	if (!(dev->info.flags & UBD_F_UPDATE_SIZE)) {
		if (!dev->size_warned)
			ubd_info("device %u: the store grew, but the driver cannot resize (no UPDATE_SIZE)\n",
				 dev->info.dev_id);
		dev->size_warned = true;
		return;
	}
	ret = ubd_ctrl_update_size(dev->ctrl, dev->info.dev_id, sectors);
	if (ret) {
		if (!dev->size_warned)
			ubd_err("device %u: cannot grow to %llu bytes: %s\n",
				dev->info.dev_id,
				(unsigned long long)sectors << 9,
				ubd_strerror(ret));
		dev->size_warned = true;
		return;
	}
	dev->params.basic.dev_sectors = sectors;
	dev->size_warned = false;
	ubd_info("device %u: grown to %llu bytes\n", dev->info.dev_id,
		 (unsigned long long)sectors << 9);
}

/*
 * Wait for SIGTERM/SIGINT/SIGHUP, or for every queue to end; meanwhile,
 * once a second, follow the size the target reports.
 */
static int wait_for_end(struct ubd_dev *dev, const sigset_t *set)
{
	const struct timespec tick = { .tv_sec = 1 };

	for (;;) {
		int sig;
		bool all_ended;

		pthread_mutex_lock(&dev->lock);
		all_ended = dev->nr_exited == dev->info.nr_hw_queues;
		pthread_mutex_unlock(&dev->lock);
		if (all_ended)
			return 0;
		if (!dev->ops->get_size) {
			if (sigwait(set, &sig))
				continue;
		} else {
			sig = sigtimedwait(set, NULL, &tick);
			if (sig < 0) {
				if (errno == EAGAIN)
					follow_size(dev);
				continue;
			}
		}
		if (sig != SIGUSR1)
			return sig;
	}
}

/*
 * Every queue ended without a signal: did QUIESCE_DEV (or the death of one
 * of our threads) leave the device waiting for a new server?  Then it is
 * not ours to stop, and its state file tells "ubdctl recover" how we ran.
 */
static bool handed_over(struct ubd_dev *dev)
{
	struct ubd_ctrl_dev_info info;

	if (!(dev->info.flags & UBD_F_USER_RECOVERY))
		return false;
	if (ubd_ctrl_get_info(dev->ctrl, dev->info.dev_id, &info))
		return false;
	return waits_for_recovery(&info);
}

static int queue_errors(const struct ubd_dev *dev)
{
	unsigned int i;

	for (i = 0; i < dev->info.nr_hw_queues; i++)
		if (dev->queues[i]->error)
			return dev->queues[i]->error;
	return 0;
}

int ubd_serve(const struct ubd_tgt_ops *ops, const struct ubd_dev_opts *opts,
	      void *tgt_data)
{
	struct ubd_dev *dev;
	char blkdev[64];
	sigset_t set;
	int status_fd = -1;
	bool outside = false;
	int ret, sig;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->ops = ops;
	dev->opts = *opts;
	dev->tgt_data = tgt_data;
	dev->char_fd = -1;
	dev->main_thread = pthread_self();
	pthread_mutex_init(&dev->lock, NULL);
	pthread_cond_init(&dev->cond, NULL);
	snprintf(dev->state.target, sizeof(dev->state.target), "%s", ops->name);

	if (opts->daemon) {
		status_fd = daemonize();
		if (status_fd < 0) {
			ret = status_fd;
			ubd_err("cannot daemonize: %s\n", ubd_strerror(ret));
			goto out_free;
		}
	}
	dev->state.pid = getpid();

	/* signals are taken synchronously by the main thread only */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	ret = ubd_ctrl_open(&dev->ctrl, opts->control);
	if (ret) {
		ubd_err("cannot open %s: %s\n",
			opts->control ?: UBD_CONTROL_PATH, ubd_strerror(ret));
		goto out_free;
	}
	dev->io_op_fetch = dev->ctrl->legacy_ops ? UBD_IO_FETCH_REQ :
			   UBD_U_IO_FETCH_REQ;
	dev->io_op_commit = dev->ctrl->legacy_ops ?
			    UBD_IO_COMMIT_AND_FETCH_REQ :
			    UBD_U_IO_COMMIT_AND_FETCH_REQ;
	dev->io_op_get_data = dev->ctrl->legacy_ops ? UBD_IO_NEED_GET_DATA :
			      UBD_U_IO_NEED_GET_DATA;

	ret = add_or_attach(dev);
	if (ret)
		goto out_del;
	ubd_blkdev_path(dev->ctrl, dev->info.dev_id, blkdev, sizeof(blkdev));

	ret = setup_params(dev);
	if (ret)
		goto out_deinit;

	dev->char_fd = open_char_dev(dev);
	if (dev->char_fd < 0) {
		ret = dev->char_fd;
		goto out_deinit;
	}
	ret = start_queues(dev);
	if (ret)
		goto out_stop;

	if (opts->recover)
		ret = ubd_ctrl_end_recovery(dev->ctrl, dev->info.dev_id,
					    getpid());
	else
		ret = ubd_ctrl_start(dev->ctrl, dev->info.dev_id, getpid());
	if (ret) {
		ubd_err("device %u: cannot %s: %s\n", dev->info.dev_id,
			opts->recover ? "end recovery" : "start",
			ubd_strerror(ret));
		goto out_stop;
	}
	record_cmdline(&dev->state);
	ret = ubd_state_write(dev->info.dev_id, &dev->state);
	if (ret)
		ubd_err("cannot write the state file: %s\n", ubd_strerror(ret));

	if (status_fd >= 0) {
		daemon_detach(status_fd, blkdev);
		status_fd = -1;
	}
	ubd_info("%s is live%s: %s target, %u queue(s) of depth %u, %llu bytes\n",
		 blkdev, opts->recover ? " again" : "", ops->name,
		 dev->info.nr_hw_queues, dev->info.queue_depth,
		 (unsigned long long)dev->params.basic.dev_sectors << 9);

	dev->store_sectors = dev->params.basic.dev_sectors;
	sig = wait_for_end(dev, &set);
	if (sig) {
		ubd_info("%s: stopping on %s\n", blkdev, strsignal(sig));
		/* before STOP_DEV, which waits for ios a target may hold */
		__atomic_store_n(&dev->stop_requested, true,
				 __ATOMIC_RELAXED);
		ret = 0;
	} else {
		/* someone else stopped, deleted or quiesced it */
		outside = true;
		ret = queue_errors(dev);
		if (handed_over(dev)) {
			ubd_info("%s: quiesced, left to the next server\n",
				 blkdev);
			dev->added = false;	/* not ours to delete now */
			ret = 0;
			goto out_close;
		}
		if (!ret)
			ubd_info("%s: stopped from outside, exiting\n", blkdev);
	}

out_stop:
	/*
	 * A failed recovery leaves the device to the next try: no STOP.  Our
	 * threads stay parked in the driver until we exit and the driver
	 * aborts them, so do not wait for them.
	 */
	if (opts->recover && ret && dev->queues)
		goto out_deinit;
	/* aborts whatever is parked, so every queue thread ends */
	if (dev->queues)
		ubd_ctrl_stop(dev->ctrl, dev->info.dev_id);
	ubd_state_remove(dev->info.dev_id);
out_close:
	destroy_queues(dev);
	if (dev->char_fd >= 0)
		close(dev->char_fd);
out_deinit:
	if (ops->deinit_tgt)
		ops->deinit_tgt(dev);
out_del:
	if (dev->added && !deleted_elsewhere(dev, outside)) {
		int err = ubd_ctrl_del(dev->ctrl, dev->info.dev_id);

		if (err && err != -ENODEV)
			ubd_err("device %u: cannot delete: %s\n",
				dev->info.dev_id, ubd_strerror(err));
	}
	ubd_ctrl_close(dev->ctrl);
out_free:
	pthread_mutex_destroy(&dev->lock);
	pthread_cond_destroy(&dev->cond);
	free(dev);
	if (status_fd >= 0)
		_exit(EXIT_FAILURE);
	return ret;
}
