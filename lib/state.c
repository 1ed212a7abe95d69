// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * State files: /run/ubd/<id>, one "key=value" per line, written by the
 * server of device <id> once it is live, so that "ubdctl list" can show what
 * the driver does not know (target, backing file).  A file whose pid is gone
 * is stale and ignored.
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

int ubd_state_write(unsigned int dev_id, const struct ubd_state *st)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int fd;

	if (mkdir(ubd_run_dir(), 0755) && errno != EEXIST)
		return -errno;
	state_path(dev_id, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
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
	FILE *f;

	memset(st, 0, sizeof(*st));
	state_path(dev_id, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -errno;
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
