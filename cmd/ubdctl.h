/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ubdctl: what the files of the command share. */
#ifndef UBD_UBDCTL_H
#define UBD_UBDCTL_H

#include <stdbool.h>
#include <stdio.h>

#include "ubd.h"

/* exit statuses, documented in ubdctl(8) */
#define UBDCTL_EXIT_NOTFOUND	1	/* device not found or not configured */
#define UBDCTL_EXIT_FAILURE	2	/* any other error, usage errors too */

/* the largest device id a command line may name */
#define UBDCTL_MAX_ID		((1U << 20) - 1)

/* the state of one run of ubdctl */
struct ubdctl {
	const char *control;	/* --control, NULL: libubd's default */
	struct ubd_ctrl *ctrl;	/* opened on first use */
};

/* a subcommand: its entry point and the lines it adds to usage() */
struct ubdctl_cmd {
	const char *name;
	int (*fn)(struct ubdctl *uc, int argc, char **argv);
	const char *help;		/* one line for the command list */
	const char *synopsis;		/* arguments after the name */
	void (*options_usage)(FILE *out);
};

/* the control node, opened once; exits with a message if it cannot be */
struct ubd_ctrl *ubdctl_ctrl(struct ubdctl *uc);

/* "ubdctl: <msg>" on stderr */

/* usage() of one subcommand: synopsis, help line, its options */
void ubdctl_cmd_usage(const struct ubdctl_cmd *cmd);
const struct ubdctl_cmd *ubdctl_find_cmd(const char *name);

/* a device id from the command line, or a usage error */
unsigned int ubdctl_parse_id(const char *arg);

/* the ids of every device, sorted, into *@out (to free); count or -errno */
int ubdctl_all_ids(struct ubd_ctrl *ctrl, unsigned int **out);

/*
 * The first mountpoint of the disk of device @id or of one of its
 * partitions, into @buf.  1 found, 0 not mounted, -errno.
 */
int ubdctl_find_mount(struct ubd_ctrl *ctrl, unsigned int id, char *buf,
		      size_t size);

int ubdctl_add(struct ubdctl *uc, int argc, char **argv);
int ubdctl_del(struct ubdctl *uc, int argc, char **argv);
int ubdctl_list(struct ubdctl *uc, int argc, char **argv);
int ubdctl_features(struct ubdctl *uc, int argc, char **argv);
int ubdctl_recover(struct ubdctl *uc, int argc, char **argv);
int ubdctl_quiesce(struct ubdctl *uc, int argc, char **argv);
int ubdctl_resize(struct ubdctl *uc, int argc, char **argv);

void ubdctl_add_usage(FILE *out);
void ubdctl_del_usage(FILE *out);
void ubdctl_list_usage(FILE *out);
void ubdctl_list_columns_usage(FILE *out);
void ubdctl_features_usage(FILE *out);
void ubdctl_recover_usage(FILE *out);
void ubdctl_quiesce_usage(FILE *out);
void ubdctl_resize_usage(FILE *out);

#endif
