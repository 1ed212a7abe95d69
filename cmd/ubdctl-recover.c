// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ubdctl recover, quiesce, resize: what an admin does to a device while it
 * stays in place -- give it a new server, hand it over on purpose, or change
 * its size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tgt_common.h"
#include "ubdctl.h"

/* how long quiesce waits for the ios in flight by default: 30 s */
#define QUIESCE_DEF_TIMEOUT_MS	30000
#define QUIESCE_MAX_TIMEOUT_MS	(3600U * 1000)

/* the info of device @id, or exit saying why not */
static void get_info_or_die(struct ubd_ctrl *ctrl, unsigned int id,
			    struct ubd_ctrl_dev_info *info)
{
	int ret = ubd_ctrl_get_info(ctrl, id, info);

	if (ret == -ENODEV) {
		tgt_warnx("device %u does not exist", id);
		exit(UBDCTL_EXIT_NOTFOUND);
	}
	if (ret) {
		tgt_warnx("device %u: %s", id, ubd_strerror(ret));
		exit(UBDCTL_EXIT_FAILURE);
	}
}

/* exactly one device id after the options */
static unsigned int one_id(int argc, char **argv, int want_args)
{
	if (optind >= argc) {
		tgt_warnx("no device id given");
		tgt_errtryhelp();
	}
	if (argc - optind > want_args)
		tgt_usage_error("unexpected argument '%s'",
				argv[optind + want_args]);
	return ubdctl_parse_id(argv[optind]);
}

/* ---- recover ---- */

void ubdctl_recover_usage(FILE *out)
{
	fputs("\nOptions for recover:\n"
	      "     --foreground       run the new server in the foreground\n",
	      out);
}

/* the arguments ubdctl recover adds to the old server's command line */
#define RECOVER_SUFFIX_ARGS	4

/*
 * The server's command line from its state file, with "--recover -n ID
 * --daemon" appended -- after dropping that suffix if an earlier recover
 * put it there, so that it does not grow with every recovery.
 */
static char **recover_argv(const struct ubd_state *st, unsigned int id,
			   bool foreground)
{
	static char id_buf[16];
	unsigned int off, n = 0, i = 0;
	char **argv;

	for (off = 0; off < st->args_len; off += strlen(st->args + off) + 1)
		n++;
	argv = calloc(n + RECOVER_SUFFIX_ARGS + 2, sizeof(*argv));
	if (!argv)
		return NULL;
	argv[i++] = (char *)st->exe;
	for (off = 0; off < st->args_len; off += strlen(st->args + off) + 1)
		argv[i++] = (char *)st->args + off;
	snprintf(id_buf, sizeof(id_buf), "%u", id);
	if (i >= 1 + RECOVER_SUFFIX_ARGS &&
	    !strcmp(argv[i - 4], "--recover") && !strcmp(argv[i - 3], "-n") &&
	    !strcmp(argv[i - 2], id_buf) &&
	    (!strcmp(argv[i - 1], "--daemon") ||
	     !strcmp(argv[i - 1], "--foreground")))
		i -= RECOVER_SUFFIX_ARGS;
	argv[i++] = "--recover";
	argv[i++] = "-n";
	argv[i++] = id_buf;
	argv[i++] = foreground ? "--foreground" : "--daemon";
	argv[i] = NULL;
	return argv;
}

int ubdctl_recover(struct ubdctl *uc, int argc, char **argv)
{
	enum { OPT_FG = OPT_TGT_FIRST };
	static const struct option longopts[] = {
		{ "foreground",	no_argument,	   NULL, OPT_FG },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ubd_ctrl_dev_info info;
	struct ubd_state st;
	bool foreground = false;
	char **srv_argv;
	unsigned int id;
	pid_t pid;
	int c, status;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FG:
			foreground = true;
			break;
		case 'h':
			ubdctl_cmd_usage(ubdctl_find_cmd("recover"));
			return EXIT_SUCCESS;
		default:
			tgt_errtryhelp();
		}
	}
	id = one_id(argc, argv, 1);

	get_info_or_die(ubdctl_ctrl(uc), id, &info);
	if (!(info.flags & UBD_F_USER_RECOVERY)) {
		tgt_warnx("device %u was added without recovery (ubdctl add --recovery)",
			  id);
		return UBDCTL_EXIT_FAILURE;
	}
	if (ubd_state_read_any(id, &st) || !st.exe[0]) {
		tgt_warnx("device %u: no record of its server in %s/%u: start one with --recover -n %u",
			  id, ubd_run_dir(), id, id);
		return UBDCTL_EXIT_FAILURE;
	}
	/*
	 * The state directory is world-writable (sticky): run only what we
	 * wrote ourselves -- recovery devices are never unprivileged ones.
	 */
	if (st.uid != geteuid()) {
		tgt_warnx("device %u: %s/%u belongs to uid %u, not to us: not running what it says",
			  id, ubd_run_dir(), id, (unsigned int)st.uid);
		return UBDCTL_EXIT_FAILURE;
	}
	if (st.pid > 0 && kill(st.pid, 0) == 0 &&
	    info.state == UBD_S_DEV_LIVE) {
		tgt_warnx("device %u is live, served by pid %d: nothing to recover",
			  id, (int)st.pid);
		return UBDCTL_EXIT_FAILURE;
	}

	srv_argv = recover_argv(&st, id, foreground);
	if (!srv_argv) {
		tgt_warnx("out of memory");
		return UBDCTL_EXIT_FAILURE;
	}
	/* the new server prints the block device once it is live */
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		tgt_warnx("cannot fork: %s", strerror(errno));
		free(srv_argv);
		return UBDCTL_EXIT_FAILURE;
	}
	if (pid == 0) {
		if (uc->control)
			setenv("UBD_CONTROL", uc->control, 1);
		execv(st.exe, srv_argv);
		tgt_warnx("cannot run %s: %s", st.exe, strerror(errno));
		_exit(127);
	}
	free(srv_argv);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		tgt_warnx("device %u: the new server failed (see its messages above)",
			  id);
		return UBDCTL_EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

/* ---- quiesce ---- */

void ubdctl_quiesce_usage(FILE *out)
{
	fprintf(out, "\nOptions for quiesce:\n"
		"     --timeout <ms>     wait that long for the ios in flight,\n"
		"                          0..%u, 0 for ever (default %u)\n",
		QUIESCE_MAX_TIMEOUT_MS, QUIESCE_DEF_TIMEOUT_MS);
}

int ubdctl_quiesce(struct ubdctl *uc, int argc, char **argv)
{
	enum { OPT_TIMEOUT = OPT_TGT_FIRST };
	static const struct option longopts[] = {
		{ "timeout",	required_argument, NULL, OPT_TIMEOUT },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned int timeout_ms = QUIESCE_DEF_TIMEOUT_MS;
	struct ubd_ctrl_dev_info info;
	struct ubd_ctrl *ctrl;
	unsigned int id;
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_TIMEOUT:
			timeout_ms = tgt_parse_uint_or_die("timeout", optarg, 0,
						QUIESCE_MAX_TIMEOUT_MS);
			break;
		case 'h':
			ubdctl_cmd_usage(ubdctl_find_cmd("quiesce"));
			return EXIT_SUCCESS;
		default:
			tgt_errtryhelp();
		}
	}
	id = one_id(argc, argv, 1);
	ctrl = ubdctl_ctrl(uc);
	get_info_or_die(ctrl, id, &info);
	if (!(info.flags & UBD_F_QUIESCE)) {
		tgt_warnx("device %u cannot be quiesced: add it with --recovery (the driver needs QUIESCE support)",
			  id);
		return UBDCTL_EXIT_FAILURE;
	}
	ret = ubd_ctrl_quiesce(ctrl, id, timeout_ms);
	if (ret == -EBUSY) {
		tgt_warnx("device %u: ios still in flight after %u ms; nothing changed",
			  id, timeout_ms);
		return UBDCTL_EXIT_FAILURE;
	}
	if (ret) {
		tgt_warnx("device %u: cannot quiesce: %s", id,
			  ubd_strerror(ret));
		return UBDCTL_EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

/* ---- resize ---- */

void ubdctl_resize_usage(FILE *out)
{
	(void)out;	/* no options of its own */
}

int ubdctl_resize(struct ubdctl *uc, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ubd_ctrl_dev_info info;
	struct ubd_params params;
	struct ubd_ctrl *ctrl;
	uint64_t size, lbs;
	unsigned int id;
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			ubdctl_cmd_usage(ubdctl_find_cmd("resize"));
			return EXIT_SUCCESS;
		default:
			tgt_errtryhelp();
		}
	}
	id = one_id(argc, argv, 2);
	if (optind + 1 >= argc) {
		tgt_warnx("no size given");
		tgt_errtryhelp();
	}
	size = tgt_parse_size_or_die("size", argv[optind + 1], 4096,
				     1ULL << 60);

	ctrl = ubdctl_ctrl(uc);
	get_info_or_die(ctrl, id, &info);
	if (!(info.flags & UBD_F_UPDATE_SIZE)) {
		tgt_warnx("device %u cannot be resized: the driver lacks UPDATE_SIZE",
			  id);
		return UBDCTL_EXIT_FAILURE;
	}
	if (info.state != UBD_S_DEV_LIVE) {
		tgt_warnx("device %u is %s: only a live device can be resized",
			  id, ubd_state_name(info.state));
		return UBDCTL_EXIT_NOTFOUND;
	}
	ret = ubd_ctrl_get_params(ctrl, id, &params);
	if (ret) {
		tgt_warnx("device %u: %s", id, ubd_strerror(ret));
		return UBDCTL_EXIT_FAILURE;
	}
	lbs = 1ULL << params.basic.logical_bs_shift;
	if (size % lbs) {
		tgt_warnx("size '%s' is not a multiple of the logical block size %llu",
			  argv[optind + 1], (unsigned long long)lbs);
		return UBDCTL_EXIT_FAILURE;
	}
	ret = ubd_ctrl_update_size(ctrl, id, size >> 9);
	if (ret) {
		tgt_warnx("device %u: cannot resize to %llu bytes: %s", id,
			  (unsigned long long)size, ubd_strerror(ret));
		return UBDCTL_EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
