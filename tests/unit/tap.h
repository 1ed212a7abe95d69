/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A minimal TAP producer for the host unit tests: each check is one test
 * line, so the run's closing count is per check, not per program.
 */
#ifndef UBD_TAP_H
#define UBD_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int t_count, t_failed;

static inline int t_ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int t_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++t_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		t_failed++;
	return cond;
}

static inline void t_skip(const char *why)
{
	printf("ok %d # SKIP %s\n", ++t_count, why);
}

/* print the plan and exit: 0 when every check passed */
static inline int t_done(void)
{
	printf("1..%d\n", t_count);
	return t_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
