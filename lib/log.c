// SPDX-License-Identifier: LGPL-2.1-or-later
/* Messages of a server: stderr in the foreground, syslog once daemonized. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "private.h"

static bool use_syslog;

void ubd_log_to_syslog(const char *ident)
{
	openlog(ident, LOG_PID, LOG_DAEMON);
	use_syslog = true;
}

static void vlog(int prio, const char *fmt, va_list ap)
{
	int saved = errno;	/* for %m */

	if (use_syslog) {
		errno = saved;
		vsyslog(prio, fmt, ap);
		return;
	}
	fprintf(stderr, "%s: ", program_invocation_short_name);
	errno = saved;
	vfprintf(stderr, fmt, ap);
}

void ubd_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void ubd_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}
