// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * State files: /run/ubd/<id>, one "key=value" per line, written by the
 * server of device <id> once it is live, so that "ubdctl list" can show what
 * the driver does not know (target, backing file).  A file whose pid is gone
 * is stale and ignored.
 *
 * Servers of unprivileged devices run as their owners, so the directory is
 * like /tmp: mode 1777, each file owned by the server that wrote it, which
 * alone (or root) may replace or remove it.  A reader must check that the
 * file's owner (ubd_state.uid) may speak for the device -- root, or the
 * device's owner -- and that its pid is the device's server: anybody can
 * drop a file there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ubd.h"

const char *ubd_run_dir(void)
{
	const char *dir = getenv("UBD_RUN_DIR");

	return dir && *dir ? dir : "/run/ubd";
}

static void state_path(unsigned int dev_id, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%u", ubd_run_dir(), dev_id);
}

/* append one argument; one that does not fit is dropped */
static void state_add_arg(struct ubd_state *st, const char *arg)
{
	size_t len = strlen(arg) + 1;

	if (st->args_len + len > sizeof(st->args))
		return;
	memcpy(st->args + st->args_len, arg, len);
	st->args_len += len;
}

/* the directory, shared by all users' servers: made (or made so) 1777 */
static int state_dir(void)
{
	const char *dir = ubd_run_dir();
	struct stat sb;

	if (mkdir(dir, 01777) == 0)
		return chmod(dir, 01777) ? -errno : 0;	/* despite the umask */
	if (errno != EEXIST)
		return -errno;
	if (lstat(dir, &sb))
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	/* made by an older root server: open it to everyone, sticky */
	if (sb.st_uid == geteuid() && (sb.st_mode & 07777) != 01777 &&
	    chmod(dir, 01777))
		return -errno;
	return 0;
}

int ubd_state_write(unsigned int dev_id, const struct ubd_state *st)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	FILE *f;
	int fd, ret;

	ret = state_dir();
	if (ret)
		return ret;
	state_path(dev_id, path, sizeof(path));
	/* a fresh name: whatever others left in the directory stays theirs */
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644)) {
		ret = -errno;
		close(fd);
		unlink(tmp);
		return ret;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -ENOMEM;
	}
	fprintf(f, "pid=%d\ntarget=%s\nbacking_file=%s\nread_only=%d\ndirect_io=%d\n",
		(int)st->pid, st->target, st->backing_file, st->read_only,
		st->direct_io);
	if (st->exe[0])
		fprintf(f, "exe=%s\n", st->exe);
	/* one line each: an argument with a newline was not kept */
	for (unsigned int off = 0; off < st->args_len;
	     off += strlen(st->args + off) + 1)
		fprintf(f, "arg=%s\n", st->args + off);
	if (fclose(f) || rename(tmp, path)) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

int ubd_state_read_any(unsigned int dev_id, struct ubd_state *st)
{
	char path[PATH_MAX], line[4200];
	struct stat sb;
	FILE *f;
	int fd;

	memset(st, 0, sizeof(*st));
	state_path(dev_id, path, sizeof(path));
	/* not through a link someone planted, not a fifo */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		char *val = strchr(line, '=');

		if (!val)
			continue;
		*val++ = '\0';
		val[strcspn(val, "\n")] = '\0';
		if (!strcmp(line, "pid"))
			st->pid = atoi(val);
		else if (!strcmp(line, "target"))
			snprintf(st->target, sizeof(st->target), "%s", val);
		else if (!strcmp(line, "backing_file"))
			snprintf(st->backing_file, sizeof(st->backing_file),
				 "%s", val);
		else if (!strcmp(line, "read_only"))
			st->read_only = atoi(val);
		else if (!strcmp(line, "direct_io"))
			st->direct_io = atoi(val);
		else if (!strcmp(line, "exe"))
			snprintf(st->exe, sizeof(st->exe), "%s", val);
		else if (!strcmp(line, "arg"))
			state_add_arg(st, val);
	}
	fclose(f);
	st->uid = sb.st_uid;
	return 0;
}

int ubd_state_read(unsigned int dev_id, struct ubd_state *st)
{
	int ret = ubd_state_read_any(dev_id, st);

	if (ret)
		return ret;
	/* the server is gone: nothing in the file is true any more */
	if (st->pid <= 0 || (kill(st->pid, 0) && errno == ESRCH)) {
		memset(st, 0, sizeof(*st));
		return -ESRCH;
	}
	return 0;
}

void ubd_state_remove(unsigned int dev_id)
{
	char path[PATH_MAX];

	state_path(dev_id, path, sizeof(path));
	unlink(path);
}
