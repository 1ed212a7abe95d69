// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ubdctl list: a table (or JSON) of the devices, from what the driver says
 * (GET_DEV_INFO, GET_PARAMS), what the servers left in their state files,
 * and what the disks hold (libblkid, libmount).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <blkid.h>
#include <libsmartcols.h>

#include "tgt_common.h"
#include "ubdctl.h"

enum {
	COL_NAME,
	COL_ID,
	COL_STATE,
	COL_TARGET,
	COL_BACK_FILE,
	COL_SIZE,
	COL_QUEUES,
	COL_DEPTH,
	COL_MAX_IO,
	COL_PID,
	COL_RO,
	COL_DIO,
	COL_LOG_SEC,
	COL_FSTYPE,
	COL_MOUNTPOINT,
	COL_FLAGS,
	COL_OWNER,
	COL_UID,
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
	[COL_NAME]	 = { "NAME", 0.15, 0, "block device name",
			     SCOLS_JSON_STRING },
	[COL_ID]	 = { "ID", 3, SCOLS_FL_RIGHT, "device id",
			     SCOLS_JSON_NUMBER },
	[COL_STATE]	 = { "STATE", 5, 0, "driver state (DEAD, LIVE, ...)",
			     SCOLS_JSON_STRING },
	[COL_TARGET]	 = { "TARGET", 6, 0, "server target (null, loop, ...)",
			     SCOLS_JSON_STRING },
	[COL_BACK_FILE]	 = { "BACK-FILE", 0.3, SCOLS_FL_TRUNC,
			     "backing file", SCOLS_JSON_STRING },
	[COL_SIZE]	 = { "SIZE", 5, SCOLS_FL_RIGHT, "device size",
			     SCOLS_JSON_NUMBER },
	[COL_QUEUES]	 = { "QUEUES", 2, SCOLS_FL_RIGHT, "hardware queues",
			     SCOLS_JSON_NUMBER },
	[COL_DEPTH]	 = { "DEPTH", 4, SCOLS_FL_RIGHT, "tags per queue",
			     SCOLS_JSON_NUMBER },
	[COL_MAX_IO]	 = { "MAX-IO", 5, SCOLS_FL_RIGHT,
			     "largest io in bytes", SCOLS_JSON_NUMBER },
	[COL_PID]	 = { "PID", 5, SCOLS_FL_RIGHT, "server process id",
			     SCOLS_JSON_NUMBER },
	[COL_RO]	 = { "RO", 1, SCOLS_FL_RIGHT, "read-only device",
			     SCOLS_JSON_BOOLEAN_OPTIONAL },
	[COL_DIO]	 = { "DIO", 1, SCOLS_FL_RIGHT,
			     "backing file opened with O_DIRECT",
			     SCOLS_JSON_BOOLEAN_OPTIONAL },
	[COL_LOG_SEC]	 = { "LOG-SEC", 4, SCOLS_FL_RIGHT,
			     "logical sector size in bytes", SCOLS_JSON_NUMBER },
	[COL_FSTYPE]	 = { "FSTYPE", 6, 0, "filesystem type (live devices)",
			     SCOLS_JSON_STRING },
	[COL_MOUNTPOINT] = { "MOUNTPOINT", 0.2, SCOLS_FL_TRUNC,
			     "where the device is mounted", SCOLS_JSON_STRING },
	[COL_FLAGS]	 = { "FLAGS", 0.2, SCOLS_FL_TRUNC,
			     "negotiated feature flags", SCOLS_JSON_STRING },
	[COL_OWNER]	 = { "OWNER", 5, 0, "user who added the device",
			     SCOLS_JSON_STRING },
	[COL_UID]	 = { "UID", 4, SCOLS_FL_RIGHT,
			     "user id of the owner", SCOLS_JSON_NUMBER },
};

static const int default_cols[] = {
	COL_NAME, COL_ID, COL_STATE, COL_TARGET, COL_SIZE, COL_QUEUES,
	COL_DEPTH, COL_PID, COL_BACK_FILE,
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct list_opts {
	int cols[NR_COLS * 2];	/* room for a column named twice */
	int ncols;
	bool json, raw, noheadings, bytes;
};

/* everything known about one device */
struct dev_row {
	unsigned int id;
	struct ubd_ctrl_dev_info info;
	struct ubd_params params;
	bool have_params;
	struct ubd_state state;
	bool have_state;
};

void ubdctl_list_usage(FILE *out)
{
	fputs("\nOptions for list:\n"
	      " -J, --json             use JSON output format\n"
	      " -O, --output <list>    the columns to show (+<list> adds them\n"
	      "                          to the default ones)\n"
	      "     --output-all       show every column\n"
	      " -n, --noheadings       do not print a heading\n"
	      "     --raw              use the raw output format\n"
	      " -b, --bytes            print SIZE in bytes, not in a human form\n",
	      out);
}

void ubdctl_list_columns_usage(FILE *out)
{
	fputs("\nAvailable output columns (for list -O):\n", out);
	for (int i = 0; i < NR_COLS; i++)
		fprintf(out, " %11s  %s\n", infos[i].name, infos[i].help);
}

static const char *column_name(int i)
{
	return infos[i].name;
}

/* -O: a comma-separated list; "+LIST" appends to the defaults */
static void parse_columns(struct list_opts *o, const char *arg)
{
	tgt_parse_columns(arg, column_name, NR_COLS, o->cols,
			  (int)ARRAY_SIZE(o->cols), &o->ncols);
}

/* 1536 -> "1.5K": powers of 1024, one decimal at most, as lsblk prints */
static void size_to_human(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "BKMGTPE";
	uint64_t whole = bytes, rem = 0;
	int u = 0;

	while (whole >= 1024 && units[u + 1]) {
		rem = whole % 1024;
		whole /= 1024;
		u++;
	}
	/* the first decimal, rounded; 1023.96 becomes 1024, never "1023.10" */
	rem = (rem * 10 + 512) / 1024;
	if (rem == 10) {
		whole++;
		rem = 0;
	}
	if (rem)
		snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "%c", whole, rem,
			 units[u]);
	else
		snprintf(buf, size, "%" PRIu64 "%c", whole, units[u]);
}

/* the feature names of @flags, comma-separated */
static char *flags_string(uint64_t flags)
{
	char *s = NULL, buf[16];
	const char *sep = "";
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	for (unsigned int bit = 0; bit < 64; bit++) {
		const char *name;

		if (!(flags & (1ULL << bit)))
			continue;
		name = ubd_feature_name(bit);
		if (!name) {
			snprintf(buf, sizeof(buf), "BIT%u", bit);
			name = buf;
		}
		fprintf(f, "%s%s", sep, name);
		sep = ",";
	}
	fclose(f);
	return s;
}

/* the filesystem on @path, by libblkid; NULL when none or unreadable */
static char *probe_fstype(const char *path)
{
	const char *type = NULL;
	char *ret = NULL;
	blkid_probe pr = blkid_new_probe_from_filename(path);

	if (!pr)
		return NULL;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	if (blkid_do_safeprobe(pr) == 0 &&
	    blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 && type)
		ret = strdup(type);
	blkid_free_probe(pr);
	return ret;
}

static char *xasprintf_num(uint64_t v)
{
	char *s;

	return asprintf(&s, "%" PRIu64, v) < 0 ? NULL : s;
}

/* the text of column @col of @r; NULL for an empty cell (JSON null) */
static char *column_data(struct ubd_ctrl *ctrl, const struct dev_row *r,
			 int col, const struct list_opts *o)
{
	const struct ubd_param_basic *b = &r->params.basic;
	char buf[PATH_MAX];

	switch (col) {
	case COL_NAME:
		ubd_blkdev_path(ctrl, r->id, buf, sizeof(buf));
		return strdup(buf);
	case COL_ID:
		return xasprintf_num(r->id);
	case COL_STATE:
		return strdup(ubd_state_name(r->info.state));
	case COL_TARGET:
		return r->have_state && *r->state.target ?
			strdup(r->state.target) : NULL;
	case COL_BACK_FILE:
		return r->have_state && *r->state.backing_file ?
			strdup(r->state.backing_file) : NULL;
	case COL_SIZE:
		if (!r->have_params)
			return NULL;
		if (o->bytes || o->json)
			return xasprintf_num(b->dev_sectors << 9);
		size_to_human(b->dev_sectors << 9, buf, sizeof(buf));
		return strdup(buf);
	case COL_QUEUES:
		return xasprintf_num(r->info.nr_hw_queues);
	case COL_DEPTH:
		return xasprintf_num(r->info.queue_depth);
	case COL_MAX_IO:
		return xasprintf_num(r->info.max_io_buf_bytes);
	case COL_PID:
		return r->info.ubdsrv_pid > 0 ?
			xasprintf_num(r->info.ubdsrv_pid) : NULL;
	case COL_RO:
		if (r->have_params)
			return strdup(b->attrs & UBD_ATTR_READ_ONLY ? "1" : "0");
		return r->have_state ? strdup(r->state.read_only ? "1" : "0")
				     : NULL;
	case COL_DIO:
		return r->have_state ? strdup(r->state.direct_io ? "1" : "0")
				     : NULL;
	case COL_LOG_SEC:
		return r->have_params ?
			xasprintf_num(1U << b->logical_bs_shift) : NULL;
	case COL_FSTYPE:
		if (r->info.state != UBD_S_DEV_LIVE)
			return NULL;
		ubd_blkdev_path(ctrl, r->id, buf, sizeof(buf));
		return probe_fstype(buf);
	case COL_MOUNTPOINT:
		return ubdctl_find_mount(ctrl, r->id, buf, sizeof(buf)) > 0 ?
			strdup(buf) : NULL;
	case COL_FLAGS:
		return flags_string(r->info.flags);
	case COL_OWNER: {
		/* users made for a service need no passwd entry */
		struct passwd *pw = getpwuid(r->info.owner_uid);

		return pw ? strdup(pw->pw_name) :
			xasprintf_num(r->info.owner_uid);
	}
	case COL_UID:
		return xasprintf_num(r->info.owner_uid);
	default:
		return NULL;
	}
}

/*
 * What is known of device @id into @r: -ENODEV when it is gone.  The
 * params exist only once a server set them; the state file only while the
 * server lives.
 */
static int read_row(struct ubd_ctrl *ctrl, unsigned int id, struct dev_row *r)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->id = id;
	ret = ubd_ctrl_get_info(ctrl, id, &r->info);
	if (ret)
		return ret;
	r->have_params = ubd_ctrl_get_params(ctrl, id, &r->params) == 0 &&
			 (r->params.types & UBD_PARAM_TYPE_BASIC) &&
			 r->params.basic.dev_sectors;
	/* anyone may drop a file in the directory: is it the server's? */
	r->have_state = ubd_state_read(id, &r->state) == 0 &&
			r->state.pid == r->info.ubdsrv_pid &&
			(r->state.uid == 0 ||
			 ((r->info.flags & UBD_F_UNPRIVILEGED_DEV) &&
			  r->state.uid == r->info.owner_uid));
	return 0;
}

static int add_line(struct libscols_table *tb, struct ubd_ctrl *ctrl,
		    const struct dev_row *r, const struct list_opts *o)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);

	if (!ln)
		return -ENOMEM;
	for (int i = 0; i < o->ncols; i++) {
		char *data = column_data(ctrl, r, o->cols[i], o);

		if (data && scols_line_refer_data(ln, i, data)) {
			free(data);
			return -ENOMEM;
		}
	}
	return 0;
}

static struct libscols_table *new_table(const struct list_opts *o)
{
	struct libscols_table *tb = scols_new_table();

	if (!tb)
		return NULL;
	scols_table_enable_json(tb, o->json);
	scols_table_set_name(tb, "ubddevices");
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
		/* SIZE is a number in JSON, and a text like "1G" otherwise */
		scols_column_set_json_type(cl, ci->json_type);
	}
	return tb;
}

/* the rows of @ids into @tb; the ones gone meanwhile are skipped */
static int fill_table(struct libscols_table *tb, struct ubd_ctrl *ctrl,
		      const unsigned int *ids, int n,
		      const struct list_opts *o, bool one)
{
	struct dev_row r;
	int ret;

	for (int i = 0; i < n; i++) {
		ret = read_row(ctrl, ids[i], &r);
		if (ret == -ENODEV && one) {
			tgt_warnx("device %u not found", ids[i]);
			return UBDCTL_EXIT_NOTFOUND;
		}
		if (ret == -ENODEV)
			continue;
		/* without privilege, list shows what it may see: its own */
		if ((ret == -EPERM || ret == -EACCES) && !one)
			continue;
		if (ret) {
			tgt_warnx("device %u: %s", ids[i],
				     ubd_strerror(ret));
			return UBDCTL_EXIT_FAILURE;
		}
		if (add_line(tb, ctrl, &r, o)) {
			tgt_warnx("%s", strerror(ENOMEM));
			return UBDCTL_EXIT_FAILURE;
		}
	}
	return 0;
}

static int list_devices(struct ubd_ctrl *ctrl, const unsigned int *ids,
			int n, const struct list_opts *o, bool one)
{
	struct libscols_table *tb = new_table(o);
	int ret;

	if (!tb) {
		tgt_warnx("cannot make the table: %s", strerror(ENOMEM));
		return UBDCTL_EXIT_FAILURE;
	}
	ret = fill_table(tb, ctrl, ids, n, o, one);
	/* no devices: nothing at all, but JSON stays parseable */
	if (!ret && (o->json || !scols_table_is_empty(tb)))
		scols_print_table(tb);
	scols_unref_table(tb);
	return ret;
}

int ubdctl_list(struct ubdctl *uc, int argc, char **argv)
{
	enum { OPT_OUTPUT_ALL = CHAR_MAX + 1, OPT_RAW };
	static const struct option longopts[] = {
		{ "json",	no_argument,	   NULL, 'J' },
		{ "output",	required_argument, NULL, 'O' },
		{ "output-all",	no_argument,	   NULL, OPT_OUTPUT_ALL },
		{ "noheadings",	no_argument,	   NULL, 'n' },
		{ "raw",	no_argument,	   NULL, OPT_RAW },
		{ "bytes",	no_argument,	   NULL, 'b' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct list_opts o = { .ncols = 0 };
	unsigned int one_id, *ids = NULL;
	struct ubd_ctrl *ctrl;
	bool output_set = false;
	int c, n, ret;

	for (size_t i = 0; i < ARRAY_SIZE(default_cols); i++)
		o.cols[o.ncols++] = default_cols[i];

	while ((c = getopt_long(argc, argv, "JO:nbh", longopts, NULL)) != -1) {
		switch (c) {
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
		case 'b':
			o.bytes = true;
			break;
		case 'h':
			ubdctl_cmd_usage(ubdctl_find_cmd("list"));
			return EXIT_SUCCESS;
		default:
			tgt_errtryhelp();
		}
	}
	if (argc - optind > 1)
		tgt_usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc)
		one_id = ubdctl_parse_id(argv[optind]);

	ctrl = ubdctl_ctrl(uc);
	scols_init_debug(0);
	if (optind < argc)
		return list_devices(ctrl, &one_id, 1, &o, true);

	n = ubdctl_all_ids(ctrl, &ids);
	if (n < 0) {
		tgt_warnx("cannot list the devices: %s", ubd_strerror(n));
		return UBDCTL_EXIT_FAILURE;
	}
	ret = list_devices(ctrl, ids, n, &o, false);
	free(ids);
	return ret;
}
