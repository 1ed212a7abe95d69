// SPDX-License-Identifier: GPL-2.0-or-later
/* libubd helpers that need no driver: numbers, names, state files. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ubd.h"
#include "tap.h"

static void size_ok(const char *s, uint64_t want)
{
	uint64_t v = 0;
	int ret = ubd_parse_size(s, &v);

	t_ok(ret == 0 && v == want, "size '%s' = %llu (ret %d, got %llu)", s,
	     (unsigned long long)want, ret, (unsigned long long)v);
}

static void size_bad(const char *s, int want)
{
	uint64_t v;
	int ret = ubd_parse_size(s, &v);

	t_ok(ret == want, "size '%s' rejected with %d (got %d)", s, want, ret);
}

static void uint_case(const char *s, uint64_t min, uint64_t max, int want)
{
	uint64_t v;
	int ret = ubd_parse_uint(s, min, max, &v);

	t_ok(ret == want, "uint '%s' in %llu..%llu -> %d (got %d)", s,
	     (unsigned long long)min, (unsigned long long)max, want, ret);
}

int main(void)
{
	char dir[] = "/tmp/ubd-test-state-XXXXXX";
	struct ubd_state st = { 0 }, back;

	size_ok("0", 0);
	size_ok("4096", 4096);
	size_ok("64K", 64 << 10);
	size_ok("64k", 64 << 10);
	size_ok("1M", 1 << 20);
	size_ok("1MiB", 1 << 20);
	size_ok("1MB", 1000000);
	size_ok("2G", 2ULL << 30);
	size_ok("1T", 1ULL << 40);
	size_ok("15E", 15ULL << 60);
	size_bad("16E", -ERANGE);
	size_bad("", -EINVAL);
	size_bad("12abc", -EINVAL);
	size_bad("-1", -EINVAL);
	size_bad(" 1", -EINVAL);
	size_bad("1.5G", -EINVAL);
	size_bad("1Mx", -EINVAL);
	size_bad("99999999999999999999", -ERANGE);
	size_bad("100000E", -ERANGE);

	uint_case("1", 1, 4096, 0);
	uint_case("4096", 1, 4096, 0);
	uint_case("0", 1, 4096, -ERANGE);
	uint_case("5000", 1, 4096, -ERANGE);
	uint_case("12abc", 1, 4096, -EINVAL);
	uint_case("", 1, 4096, -EINVAL);
	uint_case("-3", 0, 10, -EINVAL);
	uint_case("+3", 0, 10, -EINVAL);

	{
		struct ubd_fault f = { 0 };

		t_ok(!ubd_parse_fault("delay=250", &f) &&
		     f.kind == UBD_FAULT_DELAY && f.arg == 250, "fault delay=250");
		t_ok(!ubd_parse_fault("silent", &f) && f.kind == UBD_FAULT_SILENT,
		     "fault silent");
		t_ok(!ubd_parse_fault("stall-queue=1", &f) &&
		     f.kind == UBD_FAULT_STALL_QUEUE && f.arg == 1,
		     "fault stall-queue=1");
		t_ok(!ubd_parse_fault("exit-queue=0", &f) &&
		     f.kind == UBD_FAULT_EXIT_QUEUE && f.arg == 0,
		     "fault exit-queue=0");
		t_ok(ubd_parse_fault("silent=1", &f) == -EINVAL,
		     "fault silent=1 rejected");
		t_ok(ubd_parse_fault("delay", &f) == -EINVAL,
		     "fault delay without ms rejected");
		t_ok(ubd_parse_fault("delay=700000", &f) == -EINVAL,
		     "fault delay over 600000 rejected");
		t_ok(ubd_parse_fault("stall-queue=x", &f) == -EINVAL,
		     "fault stall-queue=x rejected");
		t_ok(ubd_parse_fault("frob", &f) == -EINVAL, "fault frob rejected");
		t_ok(ubd_parse_fault("", &f) == -EINVAL, "empty fault rejected");
	}

	t_ok(!strcmp(ubd_state_name(UBD_S_DEV_LIVE), "LIVE"), "state LIVE");
	t_ok(!strcmp(ubd_state_name(UBD_S_DEV_DEAD), "DEAD"), "state DEAD");
	t_ok(!strcmp(ubd_state_name(99), "UNKNOWN"), "state 99 UNKNOWN");
	t_ok(!strcmp(ubd_feature_name(2), "NEED_GET_DATA"), "bit 2 name");
	t_ok(!strcmp(ubd_feature_name(7), "USER_COPY"), "bit 7 name");
	t_ok(!strcmp(ubd_feature_name(19), "SHMEM_ZC"), "bit 19 name");
	t_ok(ubd_feature_name(63) == NULL, "bit 63 has no name");

	/* state file round trip, and a stale one is ignored */
	if (!mkdtemp(dir)) {
		t_ok(0, "mkdtemp: %m");
		return t_done();
	}
	setenv("UBD_RUN_DIR", dir, 1);
	st.pid = getpid();
	snprintf(st.target, sizeof(st.target), "loop");
	snprintf(st.backing_file, sizeof(st.backing_file), "/srv/a b.img");
	st.direct_io = true;
	t_ok(ubd_state_write(7, &st) == 0, "state written");
	t_ok(ubd_state_read(7, &back) == 0 && back.pid == st.pid &&
	     !strcmp(back.target, "loop") &&
	     !strcmp(back.backing_file, "/srv/a b.img") && back.direct_io &&
	     !back.read_only, "state read back");
	st.pid = INT_MAX - 1;	/* no such process */
	t_ok(ubd_state_write(8, &st) == 0, "stale state written");
	t_ok(ubd_state_read(8, &back) == -ESRCH && back.pid == 0,
	     "stale state ignored");
	/* the directory is shared like /tmp; files say who wrote them */
	{
		char path[PATH_MAX], link[PATH_MAX];
		struct stat sb;

		if (stat(dir, &sb))
			sb.st_mode = 0;
		t_ok((sb.st_mode & 07777) == 01777, "run dir is 1777 (%o)",
		     (unsigned int)(sb.st_mode & 07777));
		t_ok(ubd_state_read(7, &back) == 0 && back.uid == geteuid(),
		     "state file owner read back");
		snprintf(path, sizeof(path), "%s/7", dir);
		snprintf(link, sizeof(link), "%s/9", dir);
		t_ok(symlink(path, link) == 0 &&
		     ubd_state_read(9, &back) == -ELOOP,
		     "a planted symlink is not followed");
		unlink(link);
		t_ok(mkfifo(link, 0644) == 0 &&
		     ubd_state_read(9, &back) == -EINVAL,
		     "a fifo is not read");
		unlink(link);
	}
	ubd_state_remove(7);
	ubd_state_remove(8);
	t_ok(ubd_state_read(7, &back) == -ENOENT, "state removed");
	t_ok(rmdir(dir) == 0, "no file left behind");
	return t_done();
}
