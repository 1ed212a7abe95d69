// SPDX-License-Identifier: GPL-2.0-or-later
/* Options every target takes: parsing, limits and usage lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sysinfo.h>

#include "config.h"
#include "tgt_common.h"

void tgt_opts_init(struct ubd_dev_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->dev_id = -1;
	o->spin_us = -1;
}

void tgt_errtryhelp(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n",
		program_invocation_short_name);
	exit(TGT_EXIT_USAGE);
}

static void vwarnx(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void tgt_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

void tgt_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	exit(TGT_EXIT_USAGE);
}

static int column_id(const char *(*name)(int), int nr_names, const char *str,
		     size_t len)
{
	for (int i = 0; i < nr_names; i++)
		if (strlen(name(i)) == len && !strncasecmp(name(i), str, len))
			return i;
	return -1;
}

void tgt_parse_columns(const char *arg, const char *(*name)(int),
		       int nr_names, int *cols, int max_cols, int *ncols)
{
	const char *p = arg;

	if (*p == '+')
		p++;
	else
		*ncols = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		int col = column_id(name, nr_names, p, len);

		if (col < 0)
			tgt_usage_error("unknown column '%.*s'", (int)len, p);
		if (*ncols >= max_cols)
			tgt_usage_error("too many columns in '%s'", arg);
		cols[(*ncols)++] = col;
		p += len;
		if (*p == ',')
			p++;
	}
	if (!*ncols)
		tgt_usage_error("no columns in '%s'", arg);
}

uint64_t tgt_parse_uint_or_die(const char *what, const char *arg,
			       uint64_t min, uint64_t max)
{
	uint64_t v;
	int ret = ubd_parse_uint(arg, min, max, &v);

	if (ret == -ERANGE)
		tgt_usage_error("%s '%s' out of range: must be %llu..%llu",
				what, arg, (unsigned long long)min,
				(unsigned long long)max);
	if (ret)
		tgt_usage_error("invalid %s '%s': not a whole number", what,
				arg);
	return v;
}

uint64_t tgt_parse_size_or_die(const char *what, const char *arg,
			       uint64_t min, uint64_t max)
{
	uint64_t v;
	int ret = ubd_parse_size(arg, &v);

	if (ret == -EINVAL)
		tgt_usage_error("invalid %s '%s': not a size (e.g. 4096, 64K, 1G)",
				what, arg);
	if (ret || v < min || v > max)
		tgt_usage_error("%s '%s' out of range: must be %llu..%llu bytes",
				what, arg, (unsigned long long)min,
				(unsigned long long)max);
	return v;
}

int tgt_common_opt(int c, const char *arg, struct ubd_dev_opts *o,
		   void (*usage)(void))
{
	switch (c) {
	case 'n':
		o->dev_id = tgt_parse_uint_or_die("device id", arg, 0,
						  (1U << 20) - 1);
		return 1;
	case 'q':
		/* the driver gives one queue per CPU at most */
		o->nr_queues = tgt_parse_uint_or_die("queue count", arg, 1,
						     get_nprocs_conf());
		return 1;
	case 'd':
		o->depth = tgt_parse_uint_or_die("queue depth", arg, 1,
						 UBD_MAX_QUEUE_DEPTH);
		return 1;
	case OPT_MAX_IO:
		o->max_io = tgt_parse_size_or_die("max io size", arg, 4096,
						  1U << UBD_IO_BUF_BITS);
		if (o->max_io % 4096)
			tgt_usage_error("max io size '%s' is not a multiple of 4096",
					arg);
		return 1;
	case OPT_READ_ONLY:
		o->read_only = true;
		return 1;
	case OPT_DAEMON:
		o->daemon = true;
		return 1;
	case OPT_FOREGROUND:
		o->daemon = false;
		return 1;
	case OPT_CONTROL:
		o->control = arg;
		return 1;
	case OPT_PIN_QUEUES:
		o->pin_queues = true;
		return 1;
	case OPT_SPIN:
		o->spin_us = tgt_parse_uint_or_die("spin time", arg, 0,
						   UBD_SPIN_US_MAX);
		return 1;
	case OPT_NEED_GET_DATA:
		o->need_get_data = true;
		return 1;
	case OPT_RECOVERY:
		if (ubd_parse_recovery(arg, &o->recovery))
			tgt_usage_error("invalid recovery mode '%s': expected on, reissue, fail-io or off",
					arg);
		return 1;
	case OPT_RECOVER:
		o->recover = true;
		return 1;
	case OPT_USER_COPY:
		o->user_copy = true;
		return 1;
	case OPT_FAULT:
		if (ubd_parse_fault(arg, &o->fault))
			tgt_usage_error("invalid fault '%s': expected delay=MS (0..600000), silent, stall-queue=N or exit-queue=N",
					arg);
		return 1;
	case 'h':
		usage();
		exit(EXIT_SUCCESS);
	case 'V':
		printf("%s from %s\n", program_invocation_short_name,
		       PACKAGE_STRING);
		exit(EXIT_SUCCESS);
	default:
		return 0;
	}
}

const char *tgt_opts_conflict(const struct ubd_dev_opts *o)
{
	/* the driver takes no buffer address with USER_COPY: no second step */
	if (o->user_copy && o->need_get_data)
		return "options --user-copy and --need-get-data cannot be combined";
	if (o->recover && o->dev_id < 0)
		return "--recover needs the device: -n <id>";
	return NULL;
}

void tgt_opts_check(const struct ubd_dev_opts *o)
{
	const char *msg = tgt_opts_conflict(o);

	if (msg)
		tgt_usage_error("%s", msg);
}

void tgt_common_usage(FILE *out)
{
	fputs(" -n, --id <id>          serve device <id>: the one made by\n"
	      "                          'ubdctl add', or a new one with that id\n"
	      " -q, --queues <n>       hardware queues of a new device (default 1)\n"
	      " -d, --depth <n>        tags per queue of a new device (default 128)\n"
	      "     --max-io <size>    largest io of a new device (default 512K)\n"
	      "     --read-only        export the device read-only\n"
	      "     --daemon           fork once live, print the block device\n"
	      "     --foreground       stay in the foreground (the default)\n"
	      "     --need-get-data    a new device takes WRITE data in a second\n"
	      "                          step (UBD_F_NEED_GET_DATA)\n"
	      "     --user-copy        a new device leaves the data to the server,\n"
	      "                          which copies it with reads and writes on\n"
	      "                          the char device (UBD_F_USER_COPY)\n"
	      "     --recovery[=<mode>] a new device outlives a dead server: on,\n"
	      "                          reissue or fail-io (default on)\n"
	      "     --recover          take over device -n <id>, whose server\n"
	      "                          died or was quiesced\n"
	      "     --pin-queues       run each queue's thread only on the CPUs\n"
	      "                          that submit to that queue\n"
	      "     --spin <usec>      how long a queue thread looks for new ios\n"
	      "                          before it sleeps (default 200, 0: never)\n"
	      "     --control <path>   control node (default /dev/ubd-control)\n"
	      "     --fault <fault>    for testing: delay=MS, silent,\n"
	      "                          stall-queue=N or exit-queue=N\n"
	      " -h, --help             display this help\n"
	      " -V, --version          display version\n", out);
}
