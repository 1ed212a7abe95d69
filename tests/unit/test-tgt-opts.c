// SPDX-License-Identifier: GPL-2.0-or-later
/* The common target options: the data-path modes and their conflicts. */
#include <getopt.h>
#include <string.h>

#include "tgt_common.h"
#include "tap.h"

static void no_usage(void)
{
}

/* parse @argv (NULL-terminated) as a target would, common options only */
static void parse(char **argv, struct ubd_dev_opts *o)
{
	static const struct option longopts[] = {
		TGT_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int argc = 0, c;

	while (argv[argc])
		argc++;
	tgt_opts_init(o);
	optind = 0;
	while ((c = getopt_long(argc, argv, TGT_COMMON_SHORTOPTS, longopts,
				NULL)) != -1)
		t_ok(tgt_common_opt(c, optarg, o, no_usage) == 1,
		     "option %s is a common one", argv[optind - 1]);
}

int main(void)
{
	char *copy[] = { "t", "--user-copy", NULL };
	char *get_data[] = { "t", "--need-get-data", NULL };
	char *both[] = { "t", "--need-get-data", "-q", "2", "--user-copy",
			 NULL };
	char *neither[] = { "t", "-d", "64", NULL };
	char *no_spin[] = { "t", "--spin", "0", NULL };
	char *long_spin[] = { "t", "--spin", "10000", NULL };
	struct ubd_dev_opts o;
	const char *msg;

	parse(copy, &o);
	t_ok(o.user_copy && !o.need_get_data, "--user-copy sets user_copy");
	t_ok(!tgt_opts_conflict(&o), "--user-copy alone is fine");

	parse(get_data, &o);
	t_ok(!o.user_copy && o.need_get_data,
	     "--need-get-data sets need_get_data");
	t_ok(!tgt_opts_conflict(&o), "--need-get-data alone is fine");

	parse(neither, &o);
	t_ok(!o.user_copy && !o.need_get_data && o.depth == 64,
	     "the copy mode is the default");
	t_ok(!tgt_opts_conflict(&o), "the default has no conflict");
	t_ok(o.spin_us < 0, "without --spin, the library's default spin");

	parse(no_spin, &o);
	t_ok(o.spin_us == 0, "--spin 0: never spin");
	parse(long_spin, &o);
	t_ok(o.spin_us == UBD_SPIN_US_MAX && UBD_SPIN_US_MAX == 10000,
	     "--spin 10000, the longest, is taken");

	parse(both, &o);
	msg = tgt_opts_conflict(&o);
	t_ok(msg && strstr(msg, "--user-copy") && strstr(msg, "--need-get-data"),
	     "--user-copy with --need-get-data is refused, naming both: %s",
	     msg ?: "(accepted)");
	return t_done();
}
