/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Options every target takes (-n -q -d --max-io --read-only --daemon ...). */
#ifndef UBD_TGT_COMMON_H
#define UBD_TGT_COMMON_H

#include <getopt.h>
#include <limits.h>
#include <stdio.h>

#include "ubd.h"

enum {
	OPT_MAX_IO = CHAR_MAX + 1,
	OPT_READ_ONLY,
	OPT_DAEMON,
	OPT_FOREGROUND,
	OPT_CONTROL,
	OPT_FAULT,
	OPT_PIN_QUEUES,
	OPT_NEED_GET_DATA,
	OPT_RECOVERY,
	OPT_RECOVER,
	OPT_USER_COPY,
	OPT_SPIN,
	/* a target's own long-only options start here */
	OPT_TGT_FIRST = CHAR_MAX + 32,
};

#define TGT_COMMON_SHORTOPTS "n:q:d:hV"
#define TGT_COMMON_LONGOPTS						\
	{ "id",		required_argument, NULL, 'n' },			\
	{ "queues",	required_argument, NULL, 'q' },			\
	{ "depth",	required_argument, NULL, 'd' },			\
	{ "max-io",	required_argument, NULL, OPT_MAX_IO },		\
	{ "read-only",	no_argument,	   NULL, OPT_READ_ONLY },	\
	{ "daemon",	no_argument,	   NULL, OPT_DAEMON },		\
	{ "foreground",	no_argument,	   NULL, OPT_FOREGROUND },	\
	{ "control",	required_argument, NULL, OPT_CONTROL },		\
	{ "fault",	required_argument, NULL, OPT_FAULT },		\
	{ "pin-queues",	no_argument,	   NULL, OPT_PIN_QUEUES },	\
	{ "need-get-data", no_argument,	   NULL, OPT_NEED_GET_DATA },	\
	{ "recovery",	optional_argument, NULL, OPT_RECOVERY },	\
	{ "recover",	no_argument,	   NULL, OPT_RECOVER },		\
	{ "user-copy",	no_argument,	   NULL, OPT_USER_COPY },	\
	{ "spin",	required_argument, NULL, OPT_SPIN },		\
	{ "help",	no_argument,	   NULL, 'h' },			\
	{ "version",	no_argument,	   NULL, 'V' }

/* exit statuses of the targets, documented in their man pages */
#define TGT_EXIT_FAILURE	1	/* could not set up or serve */
#define TGT_EXIT_USAGE		2	/* bad command line */

void tgt_opts_init(struct ubd_dev_opts *o);
/*
 * Handle option @c if it is a common one: returns 1 when handled, 0 when it
 * is the target's.  Exits with a one-line error on a bad value, and for
 * -h (calling @usage) and -V.
 */
int tgt_common_opt(int c, const char *arg, struct ubd_dev_opts *o,
		   void (*usage)(void));
/* options that cannot be combined: the error line, or NULL */
const char *tgt_opts_conflict(const struct ubd_dev_opts *o);
/* after the last option: exit with a one-line error on a conflict */
void tgt_opts_check(const struct ubd_dev_opts *o);
/* the lines of usage() for the common options */
void tgt_common_usage(FILE *out);
/* "<prog>: <msg>" on stderr: the one error line of every tool */
void tgt_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * -O COLS of the table tools: a comma-separated list of the names that
 * @name(0 .. @nr_names - 1) gives, any case; "+LIST" appends to the @ncols
 * columns already in @cols.  Exits with a one-line error on a bad list.
 */
void tgt_parse_columns(const char *arg, const char *(*name)(int),
		       int nr_names, int *cols, int max_cols, int *ncols);
/* one "Try '<prog> --help'" line to stderr, exit TGT_EXIT_USAGE */
void tgt_errtryhelp(void) __attribute__((noreturn));
/* "<prog>: <msg>" to stderr, exit TGT_EXIT_USAGE */
void tgt_usage_error(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
/* parse a size option into @out, or exit naming the value and limits */
uint64_t tgt_parse_size_or_die(const char *what, const char *arg,
			       uint64_t min, uint64_t max);
/* likewise for a whole number */
uint64_t tgt_parse_uint_or_die(const char *what, const char *arg,
			       uint64_t min, uint64_t max);

#endif
