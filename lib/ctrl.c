// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Control commands: one URING_CMD each on a small SQE128 ring over the
 * control node.  The same code drives ubd_drv and the in-tree ublk_drv; the
 * only differences are the node names and, for ublk before 6.4, the legacy
 * raw opcodes, chosen once at open time by probing GET_FEATURES.
 *
 * Unprivileged devices (UBD_F_UNPRIVILEGED_DEV): every command but ADD puts
 * the path of the device's /dev/ubdcN in front of its payload, and the
 * driver checks the caller's permission on that node.  Which kind a device
 * is, GET_DEV_INFO2 tells (it carries the path for either kind); drivers
 * without it (ublk before 6.3) have only privileged devices.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "private.h"

static int ctrl_probe(struct ubd_ctrl *ctrl);

int ubd_ctrl_open(struct ubd_ctrl **out, const char *path)
{
	struct ubd_ctrl *ctrl;
	int ret;

	if (!path)
		path = getenv("UBD_CONTROL");
	if (!path || !*path) {
		path = UBD_CONTROL_PATH;
		if (access(path, F_OK) && !access(UBLK_CONTROL_PATH, F_OK))
			path = UBLK_CONTROL_PATH;
	}

	ctrl = calloc(1, sizeof(*ctrl));
	if (!ctrl)
		return -ENOMEM;
	snprintf(ctrl->path, sizeof(ctrl->path), "%s", path);
	ctrl->is_ublk = strstr(path, "ublk") != NULL;

	ctrl->fd = open(path, O_RDWR | O_CLOEXEC);
	if (ctrl->fd < 0) {
		ret = -errno;
		goto out_free;
	}
	ret = io_uring_queue_init(4, &ctrl->ring, IORING_SETUP_SQE128);
	if (ret)
		goto out_close;
	ret = ctrl_probe(ctrl);
	if (ret)
		goto out_exit_ring;
	*out = ctrl;
	return 0;

out_exit_ring:
	io_uring_queue_exit(&ctrl->ring);
out_close:
	close(ctrl->fd);
out_free:
	free(ctrl);
	return ret;
}

void ubd_ctrl_close(struct ubd_ctrl *ctrl)
{
	if (!ctrl)
		return;
	io_uring_queue_exit(&ctrl->ring);
	close(ctrl->fd);
	free(ctrl);
}

const char *ubd_ctrl_path(const struct ubd_ctrl *ctrl)
{
	return ctrl->path;
}

const char *ubd_ctrl_prefix(const struct ubd_ctrl *ctrl)
{
	return ctrl->is_ublk ? "ublk" : "ubd";
}

/* the opcode of control command @nr in the encoding the driver speaks */
static unsigned int ctrl_op(const struct ubd_ctrl *ctrl, unsigned int nr,
			    unsigned int encoded)
{
	return ctrl->legacy_ops ? nr : encoded;
}

/* send one command and wait for its result */
static int ctrl_cmd(struct ubd_ctrl *ctrl, unsigned int op,
		    const struct ubd_ctrl_cmd *cmd)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	sqe = io_uring_get_sqe(&ctrl->ring);
	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 2 * sizeof(*sqe));	/* an SQE128 slot */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = ctrl->fd;
	sqe->cmd_op = op;
	memcpy(sqe->cmd, cmd, sizeof(*cmd));

	ret = io_uring_submit_and_wait(&ctrl->ring, 1);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(&ctrl->ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&ctrl->ring, cqe);
	return ret;
}

static void ctrl_cmd_init(struct ubd_ctrl_cmd *cmd, unsigned int dev_id)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->dev_id = dev_id;
	cmd->queue_id = (__u16)-1;
}

/*
 * Send @cmd with the path of /dev/<prefix>cN in front of its payload
 * (addr/len): the driver reads dev_path_len bytes of path and hands the
 * rest to the command.  An OUT payload is copied back.
 */
static int ctrl_cmd_with_path(struct ubd_ctrl *ctrl, unsigned int op,
			      struct ubd_ctrl_cmd *cmd)
{
	void *payload = (void *)(uintptr_t)cmd->addr;
	size_t len = cmd->len;
	char path[64];
	size_t plen;
	char *buf;
	int ret;

	ubd_chardev_path(ctrl, cmd->dev_id, path, sizeof(path));
	plen = strlen(path) + 1;
	if (plen + len > UINT16_MAX)
		return -EINVAL;
	buf = malloc(plen + len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, path, plen);
	if (len)
		memcpy(buf + plen, payload, len);
	cmd->addr = (uintptr_t)buf;
	cmd->len = plen + len;
	cmd->dev_path_len = plen;
	ret = ctrl_cmd(ctrl, op, cmd);
	if (!ret && len)
		memcpy(payload, buf + plen, len);
	free(buf);
	return ret;
}

/* GET_DEV_INFO2: 1 when the driver lacks it (-EOPNOTSUPP or -EINVAL) */
static int ctrl_get_info2(struct ubd_ctrl *ctrl, unsigned int dev_id,
			  struct ubd_ctrl_dev_info *info)
{
	struct ubd_ctrl_cmd cmd;
	int ret;

	ctrl_cmd_init(&cmd, dev_id);
	cmd.addr = (uintptr_t)info;
	cmd.len = sizeof(*info);
	ret = ctrl_cmd_with_path(ctrl,
				 ctrl_op(ctrl, UBD_CMD_GET_DEV_INFO2,
					 UBD_U_CMD_GET_DEV_INFO2), &cmd);
	if (ret == -EOPNOTSUPP || ret == -EINVAL) {
		ctrl->no_info2 = true;
		return 1;
	}
	return ret;
}

/*
 * Does device @dev_id want the path with its commands?  1 yes, 0 no, or
 * -errno when we may not even look at it.
 */
static int ctrl_dev_unprivileged(struct ubd_ctrl *ctrl, unsigned int dev_id)
{
	struct ubd_ctrl_dev_info info;
	int ret;

	if (ctrl->have_features &&
	    !(ctrl->features & UBD_F_UNPRIVILEGED_DEV))
		return 0;
	if (ctrl->no_info2)
		return 0;
	ret = ubd_ctrl_get_info(ctrl, dev_id, &info);
	if (ret)
		return ret;
	return !!(info.flags & UBD_F_UNPRIVILEGED_DEV);
}

/* a command to device cmd->dev_id, with the path when it needs one */
static int ctrl_dev_cmd(struct ubd_ctrl *ctrl, unsigned int op,
			struct ubd_ctrl_cmd *cmd)
{
	int unpriv = ctrl_dev_unprivileged(ctrl, cmd->dev_id);

	if (unpriv < 0)
		return unpriv;
	if (unpriv)
		return ctrl_cmd_with_path(ctrl, op, cmd);
	return ctrl_cmd(ctrl, op, cmd);
}

bool ubd_caller_privileged(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	return data[CAP_SYS_ADMIN / 32].effective &
		(1U << (CAP_SYS_ADMIN % 32));
}

/*
 * GET_FEATURES exists since ublk 6.5 and in ubd_drv.  A driver that does not
 * know it speaks the legacy opcodes, which every ublk accepts.  ublk 6.1
 * looks the device up before the opcode, so there the answer is ENODEV: a
 * driver that knows GET_FEATURES never looks a device up for it.
 */
static int ctrl_probe(struct ubd_ctrl *ctrl)
{
	struct ubd_ctrl_cmd cmd;
	uint64_t features = 0;
	int ret;

	ctrl_cmd_init(&cmd, 0);
	cmd.addr = (uintptr_t)&features;
	cmd.len = sizeof(features);
	ret = ctrl_cmd(ctrl, UBD_U_CMD_GET_FEATURES, &cmd);
	if (ret == 0) {
		ctrl->features = features;
		ctrl->have_features = true;
		ctrl->legacy_ops = !(features & UBD_F_CMD_IOCTL_ENCODE);
		return 0;
	}
	if (ret == -EOPNOTSUPP || ret == -EINVAL || ret == -ENODEV) {
		ctrl->legacy_ops = true;
		return 0;
	}
	return ret;
}

int ubd_ctrl_get_features(struct ubd_ctrl *ctrl, uint64_t *features)
{
	if (!ctrl->have_features)
		return -EOPNOTSUPP;
	*features = ctrl->features;
	return 0;
}

int ubd_ctrl_add(struct ubd_ctrl *ctrl, struct ubd_ctrl_dev_info *info)
{
	struct ubd_ctrl_cmd cmd;

	/* the only kind of device such a caller may add */
	if (!ubd_caller_privileged())
		info->flags |= UBD_F_UNPRIVILEGED_DEV;
	ctrl_cmd_init(&cmd, info->dev_id);
	cmd.addr = (uintptr_t)info;
	cmd.len = sizeof(*info);
	return ctrl_cmd(ctrl, ctrl_op(ctrl, UBD_CMD_ADD_DEV, UBD_U_CMD_ADD_DEV),
			&cmd);
}

/* the limit of unprivileged devices, from sysfs, or -1 */
static long ctrl_unpriv_max(const struct ubd_ctrl *ctrl)
{
	const char *path = ctrl->is_ublk ?
		"/sys/module/ublk_drv/parameters/ublks_max" :
		"/sys/module/ubd_drv/parameters/ubds_max";
	long max = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &max) != 1)
		max = -1;
	fclose(f);
	return max;
}

const char *ubd_add_strerror(const struct ubd_ctrl *ctrl,
			     const struct ubd_ctrl_dev_info *info, int err)
{
	static __thread char msg[160];
	bool unpriv = info->flags & UBD_F_UNPRIVILEGED_DEV;

	if (err == -EPERM && !ubd_caller_privileged()) {
		if (ctrl->have_features &&
		    !(ctrl->features & UBD_F_UNPRIVILEGED_DEV))
			return "the driver does not support unprivileged devices (root needed)";
		return "permission denied (the driver refused an unprivileged device)";
	}
	if (err == -EACCES && unpriv) {
		long max = ctrl_unpriv_max(ctrl);

		if (max < 0)
			return "too many unprivileged devices exist";
		snprintf(msg, sizeof(msg),
			 "too many unprivileged devices exist (the limit %s=%ld is reached)",
			 ctrl->is_ublk ? "ublks_max" : "ubds_max", max);
		return msg;
	}
	if (err == -EINVAL && unpriv &&
	    (info->flags & (UBD_F_USER_COPY | UBD_F_SUPPORT_ZERO_COPY |
			    UBD_F_AUTO_BUF_REG)))
		return "USER_COPY, SUPPORT_ZERO_COPY and AUTO_BUF_REG are not allowed on an unprivileged device";
	return ubd_strerror(err);
}

int ubd_ctrl_del(struct ubd_ctrl *ctrl, unsigned int dev_id)
{
	struct ubd_ctrl_cmd cmd;

	ctrl_cmd_init(&cmd, dev_id);
	return ctrl_dev_cmd(ctrl,
			    ctrl_op(ctrl, UBD_CMD_DEL_DEV, UBD_U_CMD_DEL_DEV),
			    &cmd);
}

int ubd_ctrl_del_async(struct ubd_ctrl *ctrl, unsigned int dev_id)
{
	struct ubd_ctrl_cmd cmd;

	if (ctrl->legacy_ops)
		return -EOPNOTSUPP;
	ctrl_cmd_init(&cmd, dev_id);
	return ctrl_dev_cmd(ctrl, UBD_U_CMD_DEL_DEV_ASYNC, &cmd);
}

int ubd_ctrl_start(struct ubd_ctrl *ctrl, unsigned int dev_id, pid_t pid)
{
	struct ubd_ctrl_cmd cmd;

	ctrl_cmd_init(&cmd, dev_id);
	cmd.data[0] = pid;
	return ctrl_dev_cmd(ctrl,
			    ctrl_op(ctrl, UBD_CMD_START_DEV, UBD_U_CMD_START_DEV),
			    &cmd);
}

int ubd_ctrl_stop(struct ubd_ctrl *ctrl, unsigned int dev_id)
{
	struct ubd_ctrl_cmd cmd;

	ctrl_cmd_init(&cmd, dev_id);
	return ctrl_dev_cmd(ctrl,
			    ctrl_op(ctrl, UBD_CMD_STOP_DEV, UBD_U_CMD_STOP_DEV),
			    &cmd);
}

int ubd_ctrl_set_params(struct ubd_ctrl *ctrl, unsigned int dev_id,
			struct ubd_params *params)
{
	struct ubd_ctrl_cmd cmd;

	params->len = sizeof(*params);
	ctrl_cmd_init(&cmd, dev_id);
	cmd.addr = (uintptr_t)params;
	cmd.len = sizeof(*params);
	return ctrl_dev_cmd(ctrl,
			    ctrl_op(ctrl, UBD_CMD_SET_PARAMS,
				    UBD_U_CMD_SET_PARAMS), &cmd);
}

int ubd_ctrl_get_params(struct ubd_ctrl *ctrl, unsigned int dev_id,
			struct ubd_params *params)
{
	struct ubd_ctrl_cmd cmd;

	memset(params, 0, sizeof(*params));
	params->len = sizeof(*params);
	ctrl_cmd_init(&cmd, dev_id);
	cmd.addr = (uintptr_t)params;
	cmd.len = sizeof(*params);
	return ctrl_dev_cmd(ctrl,
			    ctrl_op(ctrl, UBD_CMD_GET_PARAMS,
				    UBD_U_CMD_GET_PARAMS), &cmd);
}

int ubd_ctrl_get_info(struct ubd_ctrl *ctrl, unsigned int dev_id,
		      struct ubd_ctrl_dev_info *info)
{
	struct ubd_ctrl_cmd cmd;
	int ret, ret2 = 1;

	memset(info, 0, sizeof(*info));
	if (!ctrl->no_info2) {
		ret2 = ctrl_get_info2(ctrl, dev_id, info);
		/* no node at the path: GET_DEV_INFO may still do for root */
		if (ret2 <= 0 && ret2 != -ENOENT)
			return ret2;
	}
	/* ublk before 6.3: no GET_DEV_INFO2, and no unprivileged devices */
	ctrl_cmd_init(&cmd, dev_id);
	cmd.addr = (uintptr_t)info;
	cmd.len = sizeof(*info);
	ret = ctrl_cmd(ctrl,
		       ctrl_op(ctrl, UBD_CMD_GET_DEV_INFO,
			       UBD_U_CMD_GET_DEV_INFO),
		       &cmd);
	return ret && ret2 == -ENOENT ? ret2 : ret;
}

int ubd_ctrl_get_affinity(struct ubd_ctrl *ctrl, unsigned int dev_id,
			  unsigned int q_id, void *cpuset, size_t size)
{
	struct ubd_ctrl_cmd cmd;

	/* room for the path of an unprivileged device */
	if (size > UINT16_MAX - 64)
		size = (UINT16_MAX - 64) & ~7u;
	ctrl_cmd_init(&cmd, dev_id);
	cmd.addr = (uintptr_t)cpuset;
	cmd.len = size;
	cmd.data[0] = q_id;
	return ctrl_dev_cmd(ctrl,
			    ctrl_op(ctrl, UBD_CMD_GET_QUEUE_AFFINITY,
				    UBD_U_CMD_GET_QUEUE_AFFINITY), &cmd);
}

/* a device command with one u64 argument in data[0] */
static int ctrl_cmd_data(struct ubd_ctrl *ctrl, unsigned int dev_id,
			 unsigned int op, uint64_t data)
{
	struct ubd_ctrl_cmd cmd;

	ctrl_cmd_init(&cmd, dev_id);
	cmd.data[0] = data;
	return ctrl_cmd(ctrl, op, &cmd);
}

int ubd_ctrl_start_recovery(struct ubd_ctrl *ctrl, unsigned int dev_id)
{
	return ctrl_cmd_data(ctrl, dev_id,
			     ctrl_op(ctrl, UBD_CMD_START_USER_RECOVERY,
				     UBD_U_CMD_START_USER_RECOVERY), 0);
}

int ubd_ctrl_end_recovery(struct ubd_ctrl *ctrl, unsigned int dev_id,
			  pid_t pid)
{
	return ctrl_cmd_data(ctrl, dev_id,
			     ctrl_op(ctrl, UBD_CMD_END_USER_RECOVERY,
				     UBD_U_CMD_END_USER_RECOVERY), pid);
}

/* the newer commands exist only ioctl-encoded */
int ubd_ctrl_quiesce(struct ubd_ctrl *ctrl, unsigned int dev_id,
		     unsigned int timeout_ms)
{
	if (ctrl->legacy_ops)
		return -EOPNOTSUPP;
	return ctrl_cmd_data(ctrl, dev_id, UBD_U_CMD_QUIESCE_DEV, timeout_ms);
}

int ubd_ctrl_update_size(struct ubd_ctrl *ctrl, unsigned int dev_id,
			 uint64_t sectors)
{
	if (ctrl->legacy_ops)
		return -EOPNOTSUPP;
	return ctrl_cmd_data(ctrl, dev_id, UBD_U_CMD_UPDATE_SIZE, sectors);
}

int ubd_list_ids(const struct ubd_ctrl *ctrl, unsigned int *ids, int max)
{
	char dir[64], prefix[16];
	struct dirent *de;
	size_t plen;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "/sys/class/%s-char", ubd_ctrl_prefix(ctrl));
	plen = snprintf(prefix, sizeof(prefix), "%sc", ubd_ctrl_prefix(ctrl));
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char *end;
		unsigned long id;

		if (strncmp(de->d_name, prefix, plen))
			continue;
		errno = 0;
		id = strtoul(de->d_name + plen, &end, 10);
		if (errno || *end || end == de->d_name + plen)
			continue;
		if (n < max)
			ids[n] = id;
		n++;
	}
	closedir(d);
	/* sorted, as a person expects from list */
	for (int i = 1; i < n && i < max; i++)
		for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			unsigned int t = ids[j];

			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	return n;
}

void ubd_blkdev_path(const struct ubd_ctrl *ctrl, unsigned int dev_id,
		     char *buf, size_t size)
{
	snprintf(buf, size, "/dev/%sb%u", ubd_ctrl_prefix(ctrl), dev_id);
}

void ubd_chardev_path(const struct ubd_ctrl *ctrl, unsigned int dev_id,
		      char *buf, size_t size)
{
	snprintf(buf, size, "/dev/%sc%u", ubd_ctrl_prefix(ctrl), dev_id);
}
