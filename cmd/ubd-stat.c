// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ubd-stat: I/O statistics of ubd (or ublk) block devices, from the
 * counters the block layer keeps in /sys/block/<disk>/stat, plus what
 * GET_DEV_INFO says of the device (state, queues, server pid).
 *
 * The first report covers the time since the disk appeared; each later
 * one (with --interval) the time since the report before it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <libsmartcols.h>

#include "config.h"
#include "tgt_common.h"

/* exit statuses, documented in ubd-stat(8) */
#define STAT_EXIT_NOTFOUND	1	/* a device given is missing or has no disk */
#define STAT_EXIT_FAILURE	2	/* any other error, usage errors too */

#define STAT_MAX_ID		((1U << 20) - 1)
/* --interval limits, in microseconds */
#define INTERVAL_MIN_US		100000ULL
#define INTERVAL_MAX_US		3600000000ULL

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* the fields of /sys/block/<disk>/stat (Documentation/block/stat.rst) */
enum {
	ST_RD_IOS, ST_RD_MERGES, ST_RD_SECTORS, ST_RD_TICKS,
	ST_WR_IOS, ST_WR_MERGES, ST_WR_SECTORS, ST_WR_TICKS,
	ST_IN_FLIGHT, ST_IO_TICKS, ST_TIME_IN_QUEUE,
	ST_DC_IOS, ST_DC_MERGES, ST_DC_SECTORS, ST_DC_TICKS,
	ST_FL_IOS, ST_FL_TICKS,
	NR_ST
};

enum {
	COL_DEVICE,
	COL_RPS,
	COL_WPS,
	COL_RMBPS,
	COL_WMBPS,
	COL_RAWAIT,
	COL_WAWAIT,
	COL_AQUSZ,
	COL_INFLIGHT,
	COL_UTIL,
	COL_RRQMPS,
	COL_WRQMPS,
	COL_RAREQSZ,
	COL_WAREQSZ,
	COL_DPS,
	COL_FPS,
	COL_QUEUES,
	COL_PID,
	COL_STATE,
	COL_ELAPSED,
	NR_COLS
};

struct colinfo {
	const char *name;
	double whint;		/* width hint for libsmartcols */
	int flags;		/* SCOLS_FL_* */
	const char *help;
	int json_type;		/* SCOLS_JSON_* */
};

static const struct colinfo infos[NR_COLS] = {
	[COL_DEVICE]	= { "DEVICE", 10, 0, "block device",
			    SCOLS_JSON_STRING },
	[COL_RPS]	= { "r/s", 7, SCOLS_FL_RIGHT, "reads completed per second",
			    SCOLS_JSON_NUMBER },
	[COL_WPS]	= { "w/s", 7, SCOLS_FL_RIGHT,
			    "writes completed per second", SCOLS_JSON_NUMBER },
	[COL_RMBPS]	= { "rMB/s", 7, SCOLS_FL_RIGHT,
			    "MiB read per second", SCOLS_JSON_NUMBER },
	[COL_WMBPS]	= { "wMB/s", 7, SCOLS_FL_RIGHT,
			    "MiB written per second", SCOLS_JSON_NUMBER },
	[COL_RAWAIT]	= { "r_await", 7, SCOLS_FL_RIGHT,
			    "average time of a read in ms, queueing included",
			    SCOLS_JSON_NUMBER },
	[COL_WAWAIT]	= { "w_await", 7, SCOLS_FL_RIGHT,
			    "average time of a write in ms, queueing included",
			    SCOLS_JSON_NUMBER },
	[COL_AQUSZ]	= { "aqu-sz", 6, SCOLS_FL_RIGHT,
			    "average number of ios in flight",
			    SCOLS_JSON_NUMBER },
	[COL_INFLIGHT]	= { "inflight", 8, SCOLS_FL_RIGHT,
			    "ios in flight at the end of the report",
			    SCOLS_JSON_NUMBER },
	[COL_UTIL]	= { "%util", 6, SCOLS_FL_RIGHT,
			    "share of the time with io in flight",
			    SCOLS_JSON_NUMBER },
	[COL_RRQMPS]	= { "rrqm/s", 6, SCOLS_FL_RIGHT,
			    "reads merged per second", SCOLS_JSON_NUMBER },
	[COL_WRQMPS]	= { "wrqm/s", 6, SCOLS_FL_RIGHT,
			    "writes merged per second", SCOLS_JSON_NUMBER },
	[COL_RAREQSZ]	= { "rareq-sz", 8, SCOLS_FL_RIGHT,
			    "average size of a read in KiB", SCOLS_JSON_NUMBER },
	[COL_WAREQSZ]	= { "wareq-sz", 8, SCOLS_FL_RIGHT,
			    "average size of a write in KiB",
			    SCOLS_JSON_NUMBER },
	[COL_DPS]	= { "d/s", 6, SCOLS_FL_RIGHT,
			    "discards completed per second", SCOLS_JSON_NUMBER },
	[COL_FPS]	= { "f/s", 6, SCOLS_FL_RIGHT,
			    "flushes completed per second", SCOLS_JSON_NUMBER },
	[COL_QUEUES]	= { "QUEUES", 2, SCOLS_FL_RIGHT, "hardware queues",
			    SCOLS_JSON_NUMBER },
	[COL_PID]	= { "PID", 5, SCOLS_FL_RIGHT, "server process id",
			    SCOLS_JSON_NUMBER },
	[COL_STATE]	= { "STATE", 5, 0, "driver state (LIVE, QUIESCED, ...)",
			    SCOLS_JSON_STRING },
	[COL_ELAPSED]	= { "ELAPSED", 7, SCOLS_FL_RIGHT,
			    "seconds the report covers", SCOLS_JSON_NUMBER },
};

static const int default_cols[] = {
	COL_DEVICE, COL_RPS, COL_WPS, COL_RMBPS, COL_WMBPS, COL_RAWAIT,
	COL_WAWAIT, COL_AQUSZ, COL_INFLIGHT, COL_UTIL,
};

struct stat_opts {
	int cols[NR_COLS * 2];	/* room for a column named twice */
	int ncols;
	bool json, raw, noheadings;
	uint64_t interval_us;	/* 0: one report since the start */
	uint64_t count;		/* reports with --interval; 0: forever */
	bool skip_first;	/* -y */
	const char *control;
};

/* one reading of a device's counters */
struct sample {
	uint64_t st[NR_ST];
	uint64_t inflight;	/* reads + writes in flight, now */
	double t;		/* CLOCK_MONOTONIC, seconds */
};

/* a device being watched */
struct dev {
	unsigned int id;
	char path[64];		/* /dev/ubdbN */
	char disk[32];		/* ubdbN */
	struct ubd_ctrl_dev_info info;
	double age;		/* seconds since the disk appeared */
	struct timespec born;	/* when the disk appeared, to notice a new one */
	struct sample prev;
	bool have_prev;
	bool seen;		/* found by the last scan */
};

struct devs {
	struct dev *v;
	size_t n, size;
};

static volatile sig_atomic_t stop_requested;

static void __attribute__((noreturn)) usage(void)
{
	FILE *out = stdout;

	fprintf(out, "\nUsage:\n %s [options] [<id>...]\n",
		program_invocation_short_name);
	fputs("\nShow I/O statistics of ubd block devices.\n", out);
	fputs("\nOptions:\n"
	      " -i, --interval <sec>   a report every <sec> seconds (0.1..3600),\n"
	      "                          of the figures of that interval\n"
	      " -c, --count <n>        stop after <n> reports (with --interval)\n"
	      " -y                     omit the first report, since the start\n"
	      "                          of the devices (with --interval)\n"
	      " -J, --json             use JSON output format\n"
	      " -O, --output <list>    the columns to show (+<list> adds them\n"
	      "                          to the default ones)\n"
	      "     --output-all       show every column\n"
	      " -n, --noheadings       do not print a heading\n"
	      "     --raw              use the raw output format\n"
	      "     --control <path>   control node (default /dev/ubd-control;\n"
	      "                          /dev/ublk-control for ublk devices)\n"
	      " -h, --help             display this help\n"
	      " -V, --version          display version\n", out);
	fputs("\nAvailable output columns:\n", out);
	for (int i = 0; i < NR_COLS; i++)
		fprintf(out, " %9s  %s\n", infos[i].name, infos[i].help);
	fprintf(out, "\nFor more details see %s(8).\n",
		program_invocation_short_name);
	exit(EXIT_SUCCESS);
}

/*
 * A number of seconds with an optional fraction ("2", "0.5", ".25") into
 * microseconds; no sign, exponent or blanks.  Digits past the sixth
 * decimal are checked but ignored.
 */
static uint64_t parse_interval_or_die(const char *arg)
{
	const char *p = arg;
	uint64_t whole = 0, frac = 0, scale = 100000;
	bool digits = false, too_big = false;

	for (; *p >= '0' && *p <= '9'; p++) {
		digits = true;
		whole = whole * 10 + (*p - '0');
		if (whole > INTERVAL_MAX_US / 1000000) {
			too_big = true;
			whole = INTERVAL_MAX_US / 1000000 + 1;
		}
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			digits = true;
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (!digits || *p)
		tgt_usage_error("invalid interval '%s': not a number of seconds (e.g. 2, 0.5)",
				arg);
	if (too_big || whole * 1000000 + frac < INTERVAL_MIN_US ||
	    whole * 1000000 + frac > INTERVAL_MAX_US)
		tgt_usage_error("interval '%s' out of range: must be 0.1..3600 seconds",
				arg);
	return whole * 1000000 + frac;
}

static const char *column_name(int i)
{
	return infos[i].name;
}

/* -O: a comma-separated list; "+LIST" appends to the defaults */
static void parse_columns(struct stat_opts *o, const char *arg)
{
	tgt_parse_columns(arg, column_name, NR_COLS, o->cols,
			  (int)ARRAY_SIZE(o->cols), &o->ncols);
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (a->tv_sec - b->tv_sec) + (a->tv_nsec - b->tv_nsec) / 1e9;
}

/* the start of process @pid, in seconds of CLOCK_BOOTTIME; -1 unknown */
static double pid_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the name in parentheses may hold anything: skip past its end */
	p = strrchr(buf, ')');
	/* after it: state (field 3) ... starttime (field 22) */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%*u %*u %*d %*d %*d %*d %*d %*d %llu", &start) != 1)
		return -1;
	return (double)start / sysconf(_SC_CLK_TCK);
}

/*
 * How long disk @d has been there: by the birth (or change) time of its
 * node in /dev, which devtmpfs makes when the disk is added; failing that,
 * by the start of the server; failing that, since boot.
 */
static void dev_age(struct dev *d)
{
	struct timespec now, boot;
	struct statx stx;
	double start;

	clock_gettime(CLOCK_REALTIME, &now);
	if (statx(AT_FDCWD, d->path, 0, STATX_BTIME | STATX_CTIME, &stx) == 0 &&
	    S_ISBLK(stx.stx_mode)) {
		struct statx_timestamp *t = stx.stx_mask & STATX_BTIME ?
			&stx.stx_btime : &stx.stx_ctime;

		d->born.tv_sec = t->tv_sec;
		d->born.tv_nsec = t->tv_nsec;
		d->age = ts_diff(&now, &d->born);
		return;
	}
	clock_gettime(CLOCK_BOOTTIME, &boot);
	d->born.tv_sec = 0;
	d->born.tv_nsec = 0;
	start = d->info.ubdsrv_pid > 0 ? pid_start(d->info.ubdsrv_pid) : -1;
	d->age = start >= 0 ? boot.tv_sec + boot.tv_nsec / 1e9 - start
			    : boot.tv_sec + boot.tv_nsec / 1e9;
}

/* the unsigned numbers of a sysfs file into @v (missing ones are 0); count */
static int read_numbers(const char *path, uint64_t *v, int max)
{
	char buf[512], *p, *end;
	FILE *f = fopen(path, "re");
	int n = 0;

	if (!f)
		return -errno;
	errno = 0;
	if (!fgets(buf, sizeof(buf), f)) {
		/* a disk deleted between the open and the read: ENODEV */
		int err = ferror(f) ? -(errno ? errno : EIO) : -ENODATA;

		fclose(f);
		return err;
	}
	fclose(f);
	memset(v, 0, max * sizeof(*v));
	for (p = buf; n < max; p = end) {
		errno = 0;
		v[n] = strtoull(p, &end, 10);
		if (end == p || errno)
			break;
		n++;
	}
	return n;
}

/* the counters of disk @d now: 0, -ENOENT when it has gone, -errno */
static int read_sample(const struct dev *d, struct sample *s)
{
	char path[PATH_MAX];
	uint64_t inflight[2];
	int n;

	snprintf(path, sizeof(path), "/sys/block/%s/stat", d->disk);
	n = read_numbers(path, s->st, NR_ST);
	s->t = now_mono();
	if (n < 0)
		return n;
	/* 11 fields before Linux 4.18, 15 before 5.5: the rest stay 0 */
	if (n < ST_TIME_IN_QUEUE + 1)
		return -EINVAL;
	snprintf(path, sizeof(path), "/sys/block/%s/inflight", d->disk);
	if (read_numbers(path, inflight, 2) == 2)
		s->inflight = inflight[0] + inflight[1];
	else
		s->inflight = s->st[ST_IN_FLIGHT];
	return 0;
}

static bool has_disk(const struct dev *d)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/block/%s/stat", d->disk);
	return access(path, F_OK) == 0;
}

static struct dev *find_dev(struct devs *ds, unsigned int id)
{
	for (size_t i = 0; i < ds->n; i++)
		if (ds->v[i].id == id)
			return &ds->v[i];
	return NULL;
}

static struct dev *add_dev(struct devs *ds, struct ubd_ctrl *ctrl,
			   unsigned int id)
{
	struct dev *d;

	if (ds->n == ds->size) {
		size_t size = ds->size ? ds->size * 2 : 8;
		struct dev *v = realloc(ds->v, size * sizeof(*v));

		if (!v)
			return NULL;
		ds->v = v;
		ds->size = size;
	}
	d = &ds->v[ds->n++];
	memset(d, 0, sizeof(*d));
	d->id = id;
	ubd_blkdev_path(ctrl, id, d->path, sizeof(d->path));
	snprintf(d->disk, sizeof(d->disk), "%s", d->path + strlen("/dev/"));
	return d;
}

static int cmp_dev(const void *a, const void *b)
{
	const struct dev *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Update @ds to the live devices there are now: new ones are added with
 * no previous sample, the ones gone are dropped.  0 or -errno.
 */
static int scan_all(struct devs *ds, struct ubd_ctrl *ctrl)
{
	unsigned int *ids;
	int n, max;
	size_t i, j;

	n = ubd_list_ids(ctrl, NULL, 0);
	if (n < 0)
		return n;
	max = n + 8;	/* room for the ones added meanwhile */
	ids = calloc(max, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	n = ubd_list_ids(ctrl, ids, max);
	if (n < 0) {
		free(ids);
		return n;
	}
	if (n > max)
		n = max;
	for (i = 0; i < ds->n; i++)
		ds->v[i].seen = false;
	for (int k = 0; k < n; k++) {
		struct ubd_ctrl_dev_info info;
		struct dev *d;

		if (ubd_ctrl_get_info(ctrl, ids[k], &info) ||
		    info.state != UBD_S_DEV_LIVE)
			continue;
		d = find_dev(ds, ids[k]);
		if (!d) {
			d = add_dev(ds, ctrl, ids[k]);
			if (!d) {
				free(ids);
				return -ENOMEM;
			}
		}
		d->info = info;
		d->seen = has_disk(d);
	}
	free(ids);
	for (i = j = 0; i < ds->n; i++)
		if (ds->v[i].seen)
			ds->v[j++] = ds->v[i];
	ds->n = j;
	qsort(ds->v, ds->n, sizeof(*ds->v), cmp_dev);
	return 0;
}

/*
 * The devices given on the command line: each must exist and have a
 * disk.  Returns 0, or an exit status after saying why.
 */
static int scan_given(struct devs *ds, struct ubd_ctrl *ctrl,
		      const unsigned int *ids, int n)
{
	for (int k = 0; k < n; k++) {
		struct dev *d;
		int ret;

		if (find_dev(ds, ids[k]))
			continue;
		d = add_dev(ds, ctrl, ids[k]);
		if (!d) {
			tgt_warnx("%s", strerror(ENOMEM));
			return STAT_EXIT_FAILURE;
		}
		ret = ubd_ctrl_get_info(ctrl, ids[k], &d->info);
		if (ret == -ENODEV) {
			tgt_warnx("device %u not found", ids[k]);
			return STAT_EXIT_NOTFOUND;
		}
		if (ret) {
			tgt_warnx("device %u: %s", ids[k], ubd_strerror(ret));
			return STAT_EXIT_FAILURE;
		}
		if (!has_disk(d)) {
			tgt_warnx("device %u has no disk (state %s)", ids[k],
				   ubd_state_name(d->info.state));
			return STAT_EXIT_NOTFOUND;
		}
		d->seen = true;
	}
	return 0;
}

/* the figures of one device over one report */
struct row {
	const struct dev *d;
	double secs;
	uint64_t delta[NR_ST];
	uint64_t inflight;
};

static double per_sec(const struct row *r, int field)
{
	return r->secs > 0 ? r->delta[field] / r->secs : 0;
}

/* average of @num per io of @ios (ms, or sectors) */
static double per_io(const struct row *r, int num, int ios)
{
	return r->delta[ios] ? (double)r->delta[num] / r->delta[ios] : 0;
}

static char *fmt_double(double v, int decimals)
{
	char *s;

	return asprintf(&s, "%.*f", decimals, v) < 0 ? NULL : s;
}

static char *fmt_u64(uint64_t v)
{
	char *s;

	return asprintf(&s, "%" PRIu64, v) < 0 ? NULL : s;
}

/* the text of column @col; NULL for an empty cell (JSON null) */
static char *column_data(const struct row *r, int col)
{
	double util;

	switch (col) {
	case COL_DEVICE:
		return strdup(r->d->path);
	case COL_RPS:
		return fmt_double(per_sec(r, ST_RD_IOS), 2);
	case COL_WPS:
		return fmt_double(per_sec(r, ST_WR_IOS), 2);
	case COL_RMBPS:
		return fmt_double(per_sec(r, ST_RD_SECTORS) * 512 / 1048576, 2);
	case COL_WMBPS:
		return fmt_double(per_sec(r, ST_WR_SECTORS) * 512 / 1048576, 2);
	case COL_RAWAIT:
		return fmt_double(per_io(r, ST_RD_TICKS, ST_RD_IOS), 2);
	case COL_WAWAIT:
		return fmt_double(per_io(r, ST_WR_TICKS, ST_WR_IOS), 2);
	case COL_AQUSZ:
		/* ms of io time per second of the report */
		return fmt_double(per_sec(r, ST_TIME_IN_QUEUE) / 1000, 2);
	case COL_INFLIGHT:
		return fmt_u64(r->inflight);
	case COL_UTIL:
		util = per_sec(r, ST_IO_TICKS) / 10;
		return fmt_double(util > 100 ? 100 : util, 2);
	case COL_RRQMPS:
		return fmt_double(per_sec(r, ST_RD_MERGES), 2);
	case COL_WRQMPS:
		return fmt_double(per_sec(r, ST_WR_MERGES), 2);
	case COL_RAREQSZ:
		return fmt_double(per_io(r, ST_RD_SECTORS, ST_RD_IOS) / 2, 2);
	case COL_WAREQSZ:
		return fmt_double(per_io(r, ST_WR_SECTORS, ST_WR_IOS) / 2, 2);
	case COL_DPS:
		return fmt_double(per_sec(r, ST_DC_IOS), 2);
	case COL_FPS:
		return fmt_double(per_sec(r, ST_FL_IOS), 2);
	case COL_QUEUES:
		return fmt_u64(r->d->info.nr_hw_queues);
	case COL_PID:
		return r->d->info.ubdsrv_pid > 0 ?
			fmt_u64(r->d->info.ubdsrv_pid) : NULL;
	case COL_STATE:
		return strdup(ubd_state_name(r->d->info.state));
	case COL_ELAPSED:
		return fmt_double(r->secs, 3);
	default:
		return NULL;
	}
}

static struct libscols_table *new_table(const struct stat_opts *o)
{
	struct libscols_table *tb = scols_new_table();

	if (!tb)
		return NULL;
	scols_table_enable_json(tb, o->json);
	scols_table_set_name(tb, "ubdstat");
	scols_table_enable_raw(tb, o->raw);
	scols_table_enable_noheadings(tb, o->noheadings);
	for (int i = 0; i < o->ncols; i++) {
		const struct colinfo *ci = &infos[o->cols[i]];
		struct libscols_column *cl;

		cl = scols_table_new_column(tb, ci->name, ci->whint, ci->flags);
		if (!cl) {
			scols_unref_table(tb);
			return NULL;
		}
		scols_column_set_json_type(cl, ci->json_type);
	}
	return tb;
}

static int add_line(struct libscols_table *tb, const struct row *r,
		    const struct stat_opts *o)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);

	if (!ln)
		return -ENOMEM;
	for (int i = 0; i < o->ncols; i++) {
		char *data = column_data(r, o->cols[i]);

		if (data && scols_line_refer_data(ln, i, data)) {
			free(data);
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * Sample every device of @ds and, unless @quiet, print a report: since the
 * start of each device for the @first one, else since the previous sample
 * (a device with none is only sampled).  A device whose disk has gone is
 * marked unseen; one whose disk was made anew (counters went back, or a
 * newer node) starts over.  Returns 0 or an exit status.
 */
static int report(struct devs *ds, struct ubd_ctrl *ctrl,
		  const struct stat_opts *o, bool first, bool quiet,
		  bool given, unsigned int *nr_reports)
{
	struct libscols_table *tb = NULL;
	struct sample s;
	int ret = 0;

	if (!quiet) {
		tb = new_table(o);
		if (!tb) {
			tgt_warnx("cannot make the table: %s",
				   strerror(ENOMEM));
			return STAT_EXIT_FAILURE;
		}
	}
	for (size_t i = 0; i < ds->n; i++) {
		struct dev *d = &ds->v[i];
		struct timespec born = d->born;
		bool anew = false;
		struct row r;

		if (!d->seen)
			continue;
		if (given)
			ubd_ctrl_get_info(ctrl, d->id, &d->info);
		ret = read_sample(d, &s);
		if (ret == -ENOENT || ret == -ENODEV) {
			if (given)
				tgt_warnx("device %u has gone", d->id);
			d->seen = false;
			ret = 0;
			continue;
		}
		if (ret) {
			tgt_warnx("cannot read /sys/block/%s/stat: %s",
				   d->disk, strerror(-ret));
			ret = STAT_EXIT_FAILURE;
			break;
		}
		dev_age(d);
		memset(&r, 0, sizeof(r));
		r.d = d;
		r.inflight = s.inflight;
		if (d->have_prev) {
			anew = born.tv_sec != d->born.tv_sec ||
			       born.tv_nsec != d->born.tv_nsec;
			for (int f = 0; f < NR_ST && !anew; f++) {
				if (s.st[f] < d->prev.st[f] &&
				    f != ST_IN_FLIGHT) {
					anew = true;
					break;
				}
				r.delta[f] = s.st[f] - d->prev.st[f];
			}
			r.secs = s.t - d->prev.t;
		} else if (first) {
			memcpy(r.delta, s.st, sizeof(r.delta));
			r.secs = d->age;
		} else {
			/* new since the first report: shown from the next */
			anew = true;
		}
		/* a disk made anew since the last report: shown from the next */
		if (!anew && !quiet && add_line(tb, &r, o)) {
			tgt_warnx("%s", strerror(ENOMEM));
			ret = STAT_EXIT_FAILURE;
			break;
		}
		d->prev = s;
		d->have_prev = true;
	}
	if (!ret && !quiet && (o->json || !scols_table_is_empty(tb))) {
		/* a blank line between the reports of a table */
		if (!o->json && (*nr_reports)++)
			putchar('\n');
		scols_print_table(tb);
	}
	scols_unref_table(tb);
	if (fflush(stdout) || ferror(stdout)) {
		tgt_warnx("write error: %s", strerror(errno ?: EIO));
		_exit(STAT_EXIT_FAILURE);
	}
	return ret;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/*
 * Wait until @deadline (CLOCK_MONOTONIC seconds) with SIGINT and SIGTERM
 * let through only here.  false when one of them came.
 */
static bool wait_until(double deadline, const sigset_t *unblocked)
{
	for (;;) {
		double left = deadline - now_mono();
		struct timespec ts;

		if (stop_requested)
			return false;
		if (left <= 0)
			return true;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
		ppoll(NULL, 0, &ts, unblocked);
	}
}

/* a write error on stdout (a full disk, a closed pipe) is a failure */
static void close_stdout(void)
{
	bool err = ferror(stdout);

	if (fclose(stdout))
		err = true;
	if (err) {
		tgt_warnx("write error: %s", strerror(errno ?: EIO));
		_exit(STAT_EXIT_FAILURE);
	}
}

static bool any_seen(const struct devs *ds)
{
	for (size_t i = 0; i < ds->n; i++)
		if (ds->v[i].seen)
			return true;
	return false;
}

static int run(struct ubd_ctrl *ctrl, const struct stat_opts *o,
	       const unsigned int *ids, int nids)
{
	struct devs ds = { NULL, 0, 0 };
	unsigned int nr_reports = 0;
	uint64_t done = 0;
	sigset_t block, unblocked;
	struct sigaction sa;
	bool quiet, first = true;
	double next;
	int ret;

	if (nids) {
		ret = scan_given(&ds, ctrl, ids, nids);
		if (ret)
			goto out;
	}
	if (o->interval_us) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigemptyset(&block);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGTERM);
		sigprocmask(SIG_BLOCK, &block, &unblocked);
		sigdelset(&unblocked, SIGINT);
		sigdelset(&unblocked, SIGTERM);
	}

	next = now_mono();
	quiet = o->skip_first;
	for (;;) {
		if (!nids) {
			ret = scan_all(&ds, ctrl);
			if (ret) {
				tgt_warnx("cannot list the devices: %s",
					   ubd_strerror(ret));
				ret = STAT_EXIT_FAILURE;
				goto out;
			}
		}
		ret = report(&ds, ctrl, o, first, quiet, nids, &nr_reports);
		if (ret)
			goto out;
		if (nids && !any_seen(&ds)) {
			ret = STAT_EXIT_NOTFOUND;
			goto out;
		}
		if (!quiet)
			done++;
		quiet = first = false;
		if (!o->interval_us || (o->count && done >= o->count))
			break;
		/* deadlines on a fixed grid: the reports do not drift */
		next += o->interval_us / 1e6;
		if (next < now_mono())
			next = now_mono();
		if (!wait_until(next, &unblocked))
			break;
	}
	ret = 0;
out:
	free(ds.v);
	return ret;
}

int main(int argc, char **argv)
{
	enum { OPT_OUTPUT_ALL = OPT_TGT_FIRST, OPT_RAW };
	static const struct option longopts[] = {
		{ "interval",	required_argument, NULL, 'i' },
		{ "count",	required_argument, NULL, 'c' },
		{ "json",	no_argument,	   NULL, 'J' },
		{ "output",	required_argument, NULL, 'O' },
		{ "output-all",	no_argument,	   NULL, OPT_OUTPUT_ALL },
		{ "noheadings",	no_argument,	   NULL, 'n' },
		{ "raw",	no_argument,	   NULL, OPT_RAW },
		{ "control",	required_argument, NULL, OPT_CONTROL },
		{ "help",	no_argument,	   NULL, 'h' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct stat_opts o = { .ncols = 0 };
	bool output_set = false, count_set = false;
	unsigned int *ids = NULL;
	struct ubd_ctrl *ctrl;
	int c, nids = 0, ret;

	atexit(close_stdout);
	for (size_t i = 0; i < ARRAY_SIZE(default_cols); i++)
		o.cols[o.ncols++] = default_cols[i];

	while ((c = getopt_long(argc, argv, "i:c:yJO:nhV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'i':
			o.interval_us = parse_interval_or_die(optarg);
			break;
		case 'c':
			o.count = tgt_parse_uint_or_die("count", optarg, 1,
							UINT32_MAX);
			count_set = true;
			break;
		case 'y':
			o.skip_first = true;
			break;
		case 'J':
			o.json = true;
			break;
		case 'O':
			if (output_set)
				tgt_usage_error("--output and --output-all cannot be combined");
			parse_columns(&o, optarg);
			output_set = true;
			break;
		case OPT_OUTPUT_ALL:
			if (output_set)
				tgt_usage_error("--output and --output-all cannot be combined");
			for (o.ncols = 0; o.ncols < NR_COLS; o.ncols++)
				o.cols[o.ncols] = o.ncols;
			output_set = true;
			break;
		case 'n':
			o.noheadings = true;
			break;
		case OPT_RAW:
			o.raw = true;
			break;
		case OPT_CONTROL:
			o.control = optarg;
			break;
		case 'h':
			usage();
		case 'V':
			printf("%s from %s\n", program_invocation_short_name,
			       PACKAGE_STRING);
			return EXIT_SUCCESS;
		default:
			tgt_errtryhelp();
		}
	}
	if (count_set && !o.interval_us)
		tgt_usage_error("--count needs --interval");
	if (o.skip_first && !o.interval_us)
		tgt_usage_error("-y needs --interval");

	if (optind < argc) {
		ids = calloc(argc - optind, sizeof(*ids));
		if (!ids) {
			tgt_warnx("%s", strerror(ENOMEM));
			return STAT_EXIT_FAILURE;
		}
		for (int i = optind; i < argc; i++)
			ids[nids++] = tgt_parse_uint_or_die("device id",
							    argv[i], 0,
							    STAT_MAX_ID);
	}

	ret = ubd_ctrl_open(&ctrl, o.control);
	if (ret) {
		const char *path = o.control ?: getenv("UBD_CONTROL");

		if (!path || !*path)
			path = UBD_CONTROL_PATH;
		tgt_warnx("cannot open %s: %s%s", path, ubd_strerror(ret),
			   ret == -ENOENT ? " (is the ubd_drv module loaded?)"
					  : "");
		free(ids);
		return STAT_EXIT_FAILURE;
	}
	scols_init_debug(0);
	ret = run(ctrl, &o, ids, nids);
	ubd_ctrl_close(ctrl);
	free(ids);
	return ret;
}
