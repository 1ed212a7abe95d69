// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ubdctl: create, delete and list ubd (or ublk) devices.
 *
 * This file holds the command table, the global options, and the small
 * commands (add, features); del and list have files of their own.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <libmount.h>

#include "config.h"
#include "tgt_common.h"
#include "ubdctl.h"

#define ADD_DEF_QUEUES		1
#define ADD_DEF_DEPTH		128
#define ADD_DEF_MAX_IO		(512 * 1024)
#define ADD_MIN_MAX_IO		4096

static const struct ubdctl_cmd ubdctl_cmds[] = {
	{ "add", ubdctl_add, "create a device for a server to attach to",
	  "[-n <id>] [-q <n>] [-d <n>] [--max-io <size>] [--recovery[=<mode>]] [--show]",
	  ubdctl_add_usage },
	{ "del", ubdctl_del, "delete devices and wait for their servers",
	  "[--force] [--timeout <sec>] <id>...|-a", ubdctl_del_usage },
	{ "list", ubdctl_list, "list devices",
	  "[-J] [-O <list>|--output-all] [-n] [--raw] [-b] [<id>]",
	  ubdctl_list_usage },
	{ "recover", ubdctl_recover,
	  "start a new server for a device whose server died or was quiesced",
	  "[--foreground] <id>", ubdctl_recover_usage },
	{ "quiesce", ubdctl_quiesce,
	  "let a device's server exit without failing io, for a new server",
	  "[--timeout <ms>] <id>", ubdctl_quiesce_usage },
	{ "resize", ubdctl_resize, "change the size of a live device",
	  "<id> <size>", ubdctl_resize_usage },
	{ "features", ubdctl_features, "list the features of the driver",
	  "[-J]", ubdctl_features_usage },
};

#define NR_CMDS (sizeof(ubdctl_cmds) / sizeof(ubdctl_cmds[0]))

const struct ubdctl_cmd *ubdctl_find_cmd(const char *name)
{
	for (size_t i = 0; i < NR_CMDS; i++)
		if (!strcmp(ubdctl_cmds[i].name, name))
			return &ubdctl_cmds[i];
	return NULL;
}

static void global_options_usage(FILE *out)
{
	fputs("\nOptions:\n"
	      "     --control <path>   control node (default /dev/ubd-control;\n"
	      "                          /dev/ublk-control drives ublk devices)\n"
	      " -h, --help             display this help\n"
	      " -V, --version          display version\n", out);
}

static void __attribute__((noreturn)) usage(void)
{
	FILE *out = stdout;
	size_t i;

	fputs("\nUsage:\n", out);
	for (i = 0; i < NR_CMDS; i++)
		fprintf(out, " %s [options] %s %s\n",
			program_invocation_short_name, ubdctl_cmds[i].name,
			ubdctl_cmds[i].synopsis);
	fputs("\nCreate, delete and list ubd block devices.\n", out);
	fputs("\nCommands:\n", out);
	for (i = 0; i < NR_CMDS; i++)
		fprintf(out, " %-10s %s\n", ubdctl_cmds[i].name,
			ubdctl_cmds[i].help);
	global_options_usage(out);
	for (i = 0; i < NR_CMDS; i++)
		ubdctl_cmds[i].options_usage(out);
	ubdctl_list_columns_usage(out);
	fprintf(out, "\nFor more details see %s(8).\n",
		program_invocation_short_name);
	exit(EXIT_SUCCESS);
}

void ubdctl_cmd_usage(const struct ubdctl_cmd *cmd)
{
	FILE *out = stdout;

	fprintf(out, "\nUsage:\n %s [options] %s %s\n",
		program_invocation_short_name, cmd->name, cmd->synopsis);
	fprintf(out, "\n%c%s.\n", toupper((unsigned char)cmd->help[0]),
		cmd->help + 1);
	cmd->options_usage(out);
	fputs(" -h, --help             display this help\n", out);
	if (cmd->fn == ubdctl_list)
		ubdctl_list_columns_usage(out);
	fprintf(out, "\nFor more details see %s(8).\n",
		program_invocation_short_name);
}

unsigned int ubdctl_parse_id(const char *arg)
{
	return tgt_parse_uint_or_die("device id", arg, 0, UBDCTL_MAX_ID);
}

struct ubd_ctrl *ubdctl_ctrl(struct ubdctl *uc)
{
	int ret;

	if (uc->ctrl)
		return uc->ctrl;
	ret = ubd_ctrl_open(&uc->ctrl, uc->control);
	if (ret) {
		const char *path = uc->control ?: getenv("UBD_CONTROL");

		if (!path || !*path)
			path = UBD_CONTROL_PATH;
		tgt_warnx("cannot open %s: %s%s", path, ubd_strerror(ret),
			  ret == -ENOENT ? " (is the ubd_drv module loaded?)" :
			  ret == -EACCES ? " (only root and the group of the node may use it)" :
			  "");
		exit(UBDCTL_EXIT_FAILURE);
	}
	return uc->ctrl;
}

int ubdctl_all_ids(struct ubd_ctrl *ctrl, unsigned int **out)
{
	unsigned int *ids;
	int n = ubd_list_ids(ctrl, NULL, 0), max;

	if (n < 0)
		return n;
	/* room for one more, so that a device added meanwhile shows */
	max = n + 1;
	ids = calloc(max, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	n = ubd_list_ids(ctrl, ids, max);
	if (n < 0) {
		free(ids);
		return n;
	}
	*out = ids;
	return n < max ? n : max;
}

/* ---- mounts: shared by del (refuse) and list (MOUNTPOINT) ---- */

/* read "MAJ:MIN" from the sysfs file @path */
static int read_devno(const char *path, dev_t *devno)
{
	unsigned int maj, min;
	FILE *f = fopen(path, "re");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%u:%u", &maj, &min);
	fclose(f);
	if (n != 2)
		return -EINVAL;
	*devno = makedev(maj, min);
	return 0;
}

#define MAX_PARTS 64

/* the devnos of disk @name and of its partitions; count */
static int disk_devnos(const char *name, dev_t *devnos, int max)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t len = strlen(name);
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/block/%s/dev", name);
	if (read_devno(path, &devnos[n]))
		return 0;
	n++;
	snprintf(path, sizeof(path), "/sys/block/%s", name);
	d = opendir(path);
	if (!d)
		return n;
	/* partitions are the subdirectories named <disk>p<N> */
	while ((de = readdir(d)) && n < max) {
		if (strncmp(de->d_name, name, len) || de->d_name[len] != 'p')
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/%s/dev", name,
			 de->d_name);
		if (!read_devno(path, &devnos[n]))
			n++;
	}
	closedir(d);
	return n;
}

static bool devno_in(dev_t devno, const dev_t *devnos, int n)
{
	for (int i = 0; i < n; i++)
		if (devnos[i] == devno)
			return true;
	return false;
}

/*
 * A mount is of our disk when its st_dev is, or when its source is the disk:
 * btrfs, for one, shows an anonymous device number in mountinfo and only
 * its source names the disk.
 */
static bool fs_on_disk(struct libmnt_fs *fs, const dev_t *devnos, int n)
{
	const char *src = mnt_fs_get_srcpath(fs);
	struct stat st;

	if (devno_in(mnt_fs_get_devno(fs), devnos, n))
		return true;
	if (!src || strncmp(src, "/dev/", 5) || stat(src, &st) ||
	    !S_ISBLK(st.st_mode))
		return false;
	return devno_in(st.st_rdev, devnos, n);
}

int ubdctl_find_mount(struct ubd_ctrl *ctrl, unsigned int id, char *buf,
		      size_t size)
{
	struct libmnt_table *tb;
	struct libmnt_iter *itr;
	struct libmnt_fs *fs;
	dev_t devnos[MAX_PARTS];
	char name[64];
	int n, ret = 0;

	snprintf(name, sizeof(name), "%sb%u", ubd_ctrl_prefix(ctrl), id);
	n = disk_devnos(name, devnos, MAX_PARTS);
	if (!n)
		return 0;	/* no disk yet: nothing can be mounted */

	tb = mnt_new_table_from_file("/proc/self/mountinfo");
	if (!tb)
		return -errno ?: -ENOMEM;
	itr = mnt_new_iter(MNT_ITER_FORWARD);
	if (!itr) {
		ret = -ENOMEM;
		goto out_free_table;
	}
	while (mnt_table_next_fs(tb, itr, &fs) == 0) {
		if (!fs_on_disk(fs, devnos, n))
			continue;
		snprintf(buf, size, "%s", mnt_fs_get_target(fs) ?: "?");
		ret = 1;
		break;
	}
	mnt_free_iter(itr);
out_free_table:
	mnt_unref_table(tb);
	return ret;
}

/* ---- add ---- */

void ubdctl_add_usage(FILE *out)
{
	fprintf(out, "\nOptions for add:\n"
		" -n, --id <id>          the id to take (default: the first free)\n"
		" -q, --queues <n>       hardware queues, 1..%d (default %d)\n"
		" -d, --depth <n>        tags per queue, 1..%d (default %d)\n"
		"     --max-io <size>    largest io, 4K..32M (default 512K)\n"
		"     --recovery[=<mode>] outlive a dead server: on, reissue or\n"
		"                          fail-io (default on); see recover\n"
		"     --show             print the block device, not the id\n",
		get_nprocs_conf(), ADD_DEF_QUEUES, UBD_MAX_QUEUE_DEPTH,
		ADD_DEF_DEPTH);
}

int ubdctl_add(struct ubdctl *uc, int argc, char **argv)
{
	enum { OPT_SHOW = OPT_TGT_FIRST, OPT_RECOVERY_MODE };
	static const struct option longopts[] = {
		{ "id",		required_argument, NULL, 'n' },
		{ "queues",	required_argument, NULL, 'q' },
		{ "depth",	required_argument, NULL, 'd' },
		{ "max-io",	required_argument, NULL, OPT_MAX_IO },
		{ "show",	no_argument,	   NULL, OPT_SHOW },
		{ "recovery",	optional_argument, NULL, OPT_RECOVERY_MODE },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	enum ubd_recovery_mode recovery = UBD_RECOVERY_NONE;
	uint64_t want;
	struct ubd_ctrl_dev_info info = {
		.dev_id = (__u32)-1,
		.nr_hw_queues = ADD_DEF_QUEUES,
		.queue_depth = ADD_DEF_DEPTH,
		.max_io_buf_bytes = ADD_DEF_MAX_IO,
	};
	struct ubd_ctrl *ctrl;
	bool show = false;
	char path[64];
	int c, ret;

	while ((c = getopt_long(argc, argv, "n:q:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			info.dev_id = ubdctl_parse_id(optarg);
			break;
		case 'q':
			/* the driver gives one queue per CPU at most */
			info.nr_hw_queues = tgt_parse_uint_or_die("queue count",
					optarg, 1, get_nprocs_conf());
			break;
		case 'd':
			info.queue_depth = tgt_parse_uint_or_die("queue depth",
					optarg, 1, UBD_MAX_QUEUE_DEPTH);
			break;
		case OPT_MAX_IO:
			info.max_io_buf_bytes = tgt_parse_size_or_die(
					"max io size", optarg, ADD_MIN_MAX_IO,
					1U << UBD_IO_BUF_BITS);
			if (info.max_io_buf_bytes % 4096)
				tgt_usage_error("max io size '%s' is not a multiple of 4096",
						optarg);
			break;
		case OPT_SHOW:
			show = true;
			break;
		case OPT_RECOVERY_MODE:
			if (ubd_parse_recovery(optarg, &recovery))
				tgt_usage_error("invalid recovery mode '%s': expected on, reissue, fail-io or off",
						optarg);
			break;
		case 'h':
			ubdctl_cmd_usage(ubdctl_find_cmd("add"));
			return EXIT_SUCCESS;
		default:
			tgt_errtryhelp();
		}
	}
	if (optind < argc)
		tgt_usage_error("unexpected argument '%s'", argv[optind]);

	/* UPDATE_SIZE costs nothing: ask for it, for resize */
	want = ubd_recovery_flags(recovery);
	info.flags = want | UBD_F_UPDATE_SIZE;
	want &= ~UBD_F_QUIESCE;

	ctrl = ubdctl_ctrl(uc);
	ret = ubd_ctrl_add(ctrl, &info);
	if (ret) {
		if (info.dev_id != (__u32)-1)
			tgt_warnx("cannot add device %u: %s", info.dev_id,
				  ubd_add_strerror(ctrl, &info, ret));
		else
			tgt_warnx("cannot add a device: %s",
				  ubd_add_strerror(ctrl, &info, ret));
		return UBDCTL_EXIT_FAILURE;
	}
	if ((info.flags & want) != want) {
		tgt_warnx("the driver does not support recovery mode %s",
			  ubd_recovery_name(want));
		ubd_ctrl_del(ctrl, info.dev_id);
		return UBDCTL_EXIT_FAILURE;
	}
	if (show) {
		ubd_blkdev_path(ctrl, info.dev_id, path, sizeof(path));
		printf("%s\n", path);
	} else {
		printf("%u\n", info.dev_id);
	}
	return EXIT_SUCCESS;
}

/* ---- features ---- */

void ubdctl_features_usage(FILE *out)
{
	fputs("\nOptions for features:\n"
	      " -J, --json             use JSON output format\n", out);
}

/* the name of feature bit @bit, or "BIT<n>" for one libubd does not know */
static const char *feature_name(unsigned int bit, char *buf, size_t size)
{
	const char *name = ubd_feature_name(bit);

	if (name)
		return name;
	snprintf(buf, size, "BIT%u", bit);
	return buf;
}

static void print_features(uint64_t features, bool json)
{
	const char *sep = "";
	char buf[16];

	if (json)
		fputs("{\n   \"features\": [", stdout);
	for (unsigned int bit = 0; bit < 64; bit++) {
		if (!(features & (1ULL << bit)))
			continue;
		if (json)
			printf("%s\"%s\"", sep, feature_name(bit, buf,
							      sizeof(buf)));
		else
			printf("%s\n", feature_name(bit, buf, sizeof(buf)));
		sep = ", ";
	}
	if (json)
		printf("],\n   \"mask\": %llu\n}\n",
		       (unsigned long long)features);
}

int ubdctl_features(struct ubdctl *uc, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	   NULL, 'J' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ubd_ctrl *ctrl;
	uint64_t features;
	bool json = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "Jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = true;
			break;
		case 'h':
			ubdctl_cmd_usage(ubdctl_find_cmd("features"));
			return EXIT_SUCCESS;
		default:
			tgt_errtryhelp();
		}
	}
	if (optind < argc)
		tgt_usage_error("unexpected argument '%s'", argv[optind]);

	ctrl = ubdctl_ctrl(uc);
	ret = ubd_ctrl_get_features(ctrl, &features);
	if (ret == -EOPNOTSUPP) {
		tgt_warnx("the driver behind %s does not support GET_FEATURES (Linux ublk before 6.5)",
			     ubd_ctrl_path(ctrl));
		return UBDCTL_EXIT_FAILURE;
	}
	if (ret) {
		tgt_warnx("cannot get the features: %s", ubd_strerror(ret));
		return UBDCTL_EXIT_FAILURE;
	}
	print_features(features, json);
	return EXIT_SUCCESS;
}

/* ---- main ---- */

/* a write error on stdout (a full disk, a closed pipe) is a failure */
static void close_stdout(void)
{
	bool err = ferror(stdout);

	if (fclose(stdout))
		err = true;
	if (err) {
		tgt_warnx("write error: %s", strerror(errno ?: EIO));
		_exit(UBDCTL_EXIT_FAILURE);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "control",	required_argument, NULL, OPT_CONTROL },
		{ "help",	no_argument,	   NULL, 'h' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ubdctl uc = { NULL, NULL };
	const struct ubdctl_cmd *cmd;
	int c, ret;

	atexit(close_stdout);
	/* '+': stop at the command; its options are its own */
	while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CONTROL:
			uc.control = optarg;
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
	if (optind >= argc) {
		tgt_warnx("no command given");
		tgt_errtryhelp();
	}
	cmd = ubdctl_find_cmd(argv[optind]);
	if (!cmd) {
		tgt_warnx("unknown command '%s'", argv[optind]);
		tgt_errtryhelp();
	}

	argc -= optind;
	argv += optind;
	optind = 0;	/* restart getopt for the command's own options */
	ret = cmd->fn(&uc, argc, argv);
	ubd_ctrl_close(uc.ctrl);
	return ret;
}
