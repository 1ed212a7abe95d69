// SPDX-License-Identifier: LGPL-2.1-or-later
/* Names, messages and number parsing shared by the tools. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ubd.h"

const char *ubd_state_name(unsigned int state)
{
	switch (state) {
	case UBD_S_DEV_DEAD:
		return "DEAD";
	case UBD_S_DEV_LIVE:
		return "LIVE";
	case UBD_S_DEV_QUIESCED:
		return "QUIESCED";
	case UBD_S_DEV_FAIL_IO:
		return "FAIL_IO";
	default:
		return "UNKNOWN";
	}
}

static const char *const feature_names[] = {
	"SUPPORT_ZERO_COPY", "URING_CMD_COMP_IN_TASK", "NEED_GET_DATA",
	"USER_RECOVERY", "USER_RECOVERY_REISSUE", "UNPRIVILEGED_DEV",
	"CMD_IOCTL_ENCODE", "USER_COPY", "ZONED", "USER_RECOVERY_FAIL_IO",
	"UPDATE_SIZE", "AUTO_BUF_REG", "QUIESCE", "PER_IO_DAEMON",
	"BUF_REG_OFF_DAEMON", "BATCH_IO", "INTEGRITY", "SAFE_STOP_DEV",
	"NO_AUTO_PART_SCAN", "SHMEM_ZC",
};

const char *ubd_feature_name(unsigned int bit)
{
	if (bit >= sizeof(feature_names) / sizeof(feature_names[0]))
		return NULL;
	return feature_names[bit];
}

const char *ubd_strerror(int err)
{
	switch (err) {
	case -ENODEV:
		return "no such device";
	case -EEXIST:
		return "device id already in use";
	case -EOPNOTSUPP:
		return "not supported by the driver";
	case -EPERM:
	case -EACCES:
		return "permission denied";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

/* digits only: strtoull alone accepts " 12", "-1" and "+3" */
static int parse_digits(const char *str, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = str;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned int d = *p - '0';

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*end = p;
	*out = v;
	return 0;
}

int ubd_parse_uint(const char *str, uint64_t min, uint64_t max,
		   uint64_t *out)
{
	const char *end;
	uint64_t v;
	int ret;

	if (!str)
		return -EINVAL;
	ret = parse_digits(str, &end, &v);
	if (ret)
		return ret;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int ubd_parse_size(const char *str, uint64_t *out)
{
	static const char units[] = "KMGTPE";
	const char *end, *u;
	uint64_t v, mult = 1, base = 1024;
	int ret, exp;

	if (!str)
		return -EINVAL;
	ret = parse_digits(str, &end, &v);
	if (ret)
		return ret;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return -EINVAL;
		exp = u - units + 1;
		end++;
		/* K, KiB: powers of 1024; KB: powers of 1000 */
		if (!strcmp(end, "B"))
			base = 1000;
		else if (*end && strcmp(end, "iB"))
			return -EINVAL;
		while (exp--) {
			if (mult > UINT64_MAX / base)
				return -ERANGE;
			mult *= base;
		}
	}
	if (v && mult > UINT64_MAX / v)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int ubd_parse_fault(const char *spec, struct ubd_fault *fault)
{
	static const struct {
		const char *name;
		enum ubd_fault_kind kind;
		uint64_t max;		/* of the argument; 0: none taken */
	} faults[] = {
		{ "delay",	 UBD_FAULT_DELAY,	600000 },
		{ "silent",	 UBD_FAULT_SILENT,	0 },
		{ "stall-queue", UBD_FAULT_STALL_QUEUE,	UBD_MAX_NR_QUEUES - 1 },
		{ "exit-queue",	 UBD_FAULT_EXIT_QUEUE,	UBD_MAX_NR_QUEUES - 1 },
	};
	const char *eq = strchr(spec, '=');
	size_t len = eq ? (size_t)(eq - spec) : strlen(spec);
	unsigned int i;

	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		uint64_t v = 0;

		if (strlen(faults[i].name) != len ||
		    strncmp(spec, faults[i].name, len))
			continue;
		if (!faults[i].max != !eq)
			return -EINVAL;
		if (eq && ubd_parse_uint(eq + 1, 0, faults[i].max, &v))
			return -EINVAL;
		fault->kind = faults[i].kind;
		fault->arg = v;
		return 0;
	}
	return -EINVAL;
}

int ubd_parse_recovery(const char *str, enum ubd_recovery_mode *mode)
{
	if (!str || !*str || !strcmp(str, "on"))
		*mode = UBD_RECOVERY_ON;
	else if (!strcmp(str, "reissue"))
		*mode = UBD_RECOVERY_REISSUE;
	else if (!strcmp(str, "fail-io"))
		*mode = UBD_RECOVERY_FAIL_IO;
	else if (!strcmp(str, "off"))
		*mode = UBD_RECOVERY_NONE;
	else
		return -EINVAL;
	return 0;
}

uint64_t ubd_recovery_flags(enum ubd_recovery_mode mode)
{
	switch (mode) {
	case UBD_RECOVERY_ON:
		return UBD_F_USER_RECOVERY | UBD_F_QUIESCE;
	case UBD_RECOVERY_REISSUE:
		return UBD_F_USER_RECOVERY | UBD_F_USER_RECOVERY_REISSUE |
		       UBD_F_QUIESCE;
	case UBD_RECOVERY_FAIL_IO:
		return UBD_F_USER_RECOVERY | UBD_F_USER_RECOVERY_FAIL_IO |
		       UBD_F_QUIESCE;
	default:
		return 0;
	}
}

const char *ubd_recovery_name(uint64_t flags)
{
	if (!(flags & UBD_F_USER_RECOVERY))
		return "off";
	if (flags & UBD_F_USER_RECOVERY_REISSUE)
		return "reissue";
	if (flags & UBD_F_USER_RECOVERY_FAIL_IO)
		return "fail-io";
	return "on";
}
