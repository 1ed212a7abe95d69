// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ubdctl del: delete devices, then wait until they are gone and their
 * servers have exited, so that a script can reuse the id or unload the
 * module right after.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tgt_common.h"
#include "ubdctl.h"

#define DEL_DEF_TIMEOUT		10	/* seconds */
#define DEL_MAX_TIMEOUT		86400
#define DEL_POLL_NS		(50 * 1000 * 1000)

/* a device whose deletion was started */
struct del_dev {
	unsigned int id;
	pid_t pid;		/* its server when we deleted it, or 0 */
	bool done;
};

void ubdctl_del_usage(FILE *out)
{
	fprintf(out, "\nOptions for del:\n"
		" -a, --all              delete every device\n"
		"     --force            delete even if the device is mounted\n"
		"     --timeout <sec>    wait so long for the device to go and its\n"
		"                          server to exit (default %d)\n",
		DEL_DEF_TIMEOUT);
}

/* is @pid running?  A zombie has exited, however slow its reaper is. */
static bool pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool alive = true;

	if (pid <= 0)
		return false;
	if (kill(pid, 0) && errno == ESRCH)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno != ENOENT;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
			alive = false;
	}
	fclose(f);
	return alive;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t del_timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	del_timed_out = 1;
}

/*
 * DEL_DEV for a driver without DEL_DEV_ASYNC: it returns only once the
 * device is gone, which a stuck server can delay forever, hence the alarm.
 * -EINTR when it fired.
 */
static int del_sync(struct ubd_ctrl *ctrl, unsigned int id,
		    unsigned int timeout)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	int ret;

	/* no SA_RESTART: the wait for the command must be interrupted */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	del_timed_out = 0;
	alarm(timeout);
	ret = ubd_ctrl_del(ctrl, id);
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	if (del_timed_out && ret == -EINTR)
		return -EINTR;
	return ret;
}

/*
 * Check device @d and start its deletion.  0 started, else the exit status.
 * *@fatal: the control ring may hold a command still running, so stop.
 */
static int del_start(struct ubd_ctrl *ctrl, struct del_dev *d, bool force,
		     unsigned int timeout, bool *fatal)
{
	struct ubd_ctrl_dev_info info;
	char blkdev[64], mnt[PATH_MAX];
	int ret;

	ubd_blkdev_path(ctrl, d->id, blkdev, sizeof(blkdev));
	ret = ubd_ctrl_get_info(ctrl, d->id, &info);
	if (ret == -ENODEV) {
		tgt_warnx("device %u not found", d->id);
		return UBDCTL_EXIT_NOTFOUND;
	}
	if (ret) {
		tgt_warnx("device %u: %s", d->id, ubd_strerror(ret));
		return UBDCTL_EXIT_FAILURE;
	}
	if (!force) {
		ret = ubdctl_find_mount(ctrl, d->id, mnt, sizeof(mnt));
		if (ret > 0) {
			tgt_warnx("device %u: %s is mounted on %s; unmount it first or use --force",
				     d->id, blkdev, mnt);
			return UBDCTL_EXIT_FAILURE;
		}
		if (ret < 0)
			tgt_warnx("device %u: cannot read the mount table: %s",
				     d->id, strerror(-ret));
	}
	d->pid = info.ubdsrv_pid > 0 ? info.ubdsrv_pid : 0;

	ret = ubd_ctrl_del_async(ctrl, d->id);
	if (ret == -EOPNOTSUPP || ret == -EINVAL) {
		ret = del_sync(ctrl, d->id, timeout);
		if (ret == -EINTR) {
			*fatal = true;
			tgt_warnx("device %u: not deleted after %u s; its server (pid %d) still holds it: stop it with 'kill %d'",
				     d->id, timeout, (int)d->pid, (int)d->pid);
			return UBDCTL_EXIT_FAILURE;
		}
	}
	if (ret == -ENODEV) {
		tgt_warnx("device %u not found", d->id);
		return UBDCTL_EXIT_NOTFOUND;
	}
	if (ret) {
		tgt_warnx("cannot delete device %u: %s", d->id,
			     ubd_strerror(ret));
		return UBDCTL_EXIT_FAILURE;
	}
	return 0;
}

static bool del_finished(struct ubd_ctrl *ctrl, struct del_dev *d)
{
	struct ubd_ctrl_dev_info info;

	return ubd_ctrl_get_info(ctrl, d->id, &info) == -ENODEV &&
	       !pid_alive(d->pid);
}

/* say what is left of device @d after the timeout, and what to do */
static void del_report_stuck(struct ubd_ctrl *ctrl, const struct del_dev *d,
			     unsigned int timeout)
{
	struct ubd_ctrl_dev_info info;
	bool present = ubd_ctrl_get_info(ctrl, d->id, &info) != -ENODEV;

	if (present && d->pid)
		tgt_warnx("device %u: still present after %u s: its server (pid %d) has not let go of it; stop it with 'kill %d' ('kill -9 %d' if it hangs)",
			     d->id, timeout, (int)d->pid, (int)d->pid,
			     (int)d->pid);
	else if (present)
		tgt_warnx("device %u: still present after %u s; something still holds /dev/%sc%u",
			     d->id, timeout, ubd_ctrl_prefix(ctrl), d->id);
	else
		tgt_warnx("device %u: deleted, but its server (pid %d) has not exited after %u s; stop it with 'kill %d' ('kill -9 %d' if it hangs)",
			     d->id, (int)d->pid, timeout, (int)d->pid,
			     (int)d->pid);
}

/* wait for every started deletion; 0 or UBDCTL_EXIT_FAILURE */
static int del_wait(struct ubd_ctrl *ctrl, struct del_dev *devs, int n,
		    unsigned int timeout)
{
	const struct timespec poll = { 0, DEL_POLL_NS };
	double deadline = now() + timeout;
	int left, ret = 0;

	for (;;) {
		left = 0;
		for (int i = 0; i < n; i++) {
			if (!devs[i].done)
				devs[i].done = del_finished(ctrl, &devs[i]);
			left += !devs[i].done;
		}
		if (!left || now() >= deadline)
			break;
		nanosleep(&poll, NULL);
	}
	for (int i = 0; i < n; i++) {
		if (devs[i].done)
			continue;
		del_report_stuck(ctrl, &devs[i], timeout);
		ret = UBDCTL_EXIT_FAILURE;
	}
	return ret;
}

/* the worse of two exit statuses: an error beats "not found" */
static int worse(int a, int b)
{
	return a > b ? a : b;
}

int ubdctl_del(struct ubdctl *uc, int argc, char **argv)
{
	enum { OPT_FORCE = CHAR_MAX + 1, OPT_TIMEOUT };
	static const struct option longopts[] = {
		{ "all",	no_argument,	   NULL, 'a' },
		{ "force",	no_argument,	   NULL, OPT_FORCE },
		{ "timeout",	required_argument, NULL, OPT_TIMEOUT },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned int timeout = DEL_DEF_TIMEOUT, *ids = NULL;
	bool all = false, force = false, fatal = false;
	struct del_dev *devs;
	struct ubd_ctrl *ctrl;
	int c, i, n, nstarted = 0, status = 0, ret;

	while ((c = getopt_long(argc, argv, "ah", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case OPT_TIMEOUT:
			timeout = tgt_parse_uint_or_die("timeout", optarg, 1,
							DEL_MAX_TIMEOUT);
			break;
		case 'h':
			ubdctl_cmd_usage(ubdctl_find_cmd("del"));
			return EXIT_SUCCESS;
		default:
			tgt_errtryhelp();
		}
	}
	if (all && optind < argc)
		tgt_usage_error("--all and device ids cannot be combined");
	if (!all && optind >= argc) {
		tgt_warnx("no device given");
		tgt_errtryhelp();
	}
	if (!all) {
		n = argc - optind;
		ids = calloc(n, sizeof(*ids));
		if (!ids)
			goto out_nomem;
		/* check every id before deleting any */
		for (i = 0; i < n; i++)
			ids[i] = ubdctl_parse_id(argv[optind + i]);
	}

	ctrl = ubdctl_ctrl(uc);
	if (all) {
		n = ubdctl_all_ids(ctrl, &ids);
		if (n < 0) {
			tgt_warnx("cannot list the devices: %s",
				     ubd_strerror(n));
			return UBDCTL_EXIT_FAILURE;
		}
	}
	devs = calloc(n ?: 1, sizeof(*devs));
	if (!devs)
		goto out_free_ids;

	for (i = 0; i < n && !fatal; i++) {
		devs[nstarted].id = ids[i];
		ret = del_start(ctrl, &devs[nstarted], force, timeout, &fatal);
		if (ret)
			status = worse(status, ret);
		else
			nstarted++;
	}
	status = worse(status, del_wait(ctrl, devs, nstarted, timeout));
	free(devs);
	free(ids);
	return status;

out_free_ids:
	free(ids);
out_nomem:
	tgt_warnx("%s", strerror(ENOMEM));
	return UBDCTL_EXIT_FAILURE;
}
