// SPDX-License-Identifier: GPL-2.0
/*
 * ubd_drv: /dev/ubd-control.
 *
 * Control commands arrive as io_uring URING_CMD on an SQE128 ring, with a
 * struct ubd_ctrl_cmd in sqe->cmd.  Each is decoded, validated field by
 * field, and run synchronously in the submitter's context.  Nothing read
 * from user space is used before it has been checked.
 */
#include "ubd_drv.h"

#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

/* every shift from user space goes into 1U << shift */
#define UBD_MAX_BS_SHIFT	20
#define UBD_MAX_IO_SHIFT	30

/* reachable by unprivileged users: their mistakes must not flood the log */
static int ubd_validate_dev_info(const struct ubd_ctrl_cmd *h,
				 struct ubd_ctrl_dev_info *info)
{
	if (h->queue_id != (u16)-1) {
		pr_warn_ratelimited("%s: queue_id %u must be -1\n", __func__,
				    h->queue_id);
		return -EINVAL;
	}
	if (h->dev_id != info->dev_id) {
		pr_warn_ratelimited("%s: dev_id %u and info dev_id %u differ\n",
				    __func__, h->dev_id, info->dev_id);
		return -EINVAL;
	}
	if (h->dev_id != U32_MAX && h->dev_id >= UBD_MINORS) {
		pr_warn_ratelimited("%s: dev_id %u over %lu\n", __func__,
				    h->dev_id, UBD_MINORS - 1);
		return -EINVAL;
	}
	if (!info->queue_depth || info->queue_depth > UBD_MAX_QUEUE_DEPTH) {
		pr_warn_ratelimited("%s: queue_depth %u not in 1..%u\n", __func__,
				    info->queue_depth, UBD_MAX_QUEUE_DEPTH);
		return -EINVAL;
	}
	if (!info->nr_hw_queues || info->nr_hw_queues > UBD_MAX_NR_QUEUES) {
		pr_warn_ratelimited("%s: nr_hw_queues %u not in 1..%u\n", __func__,
				    info->nr_hw_queues, UBD_MAX_NR_QUEUES);
		return -EINVAL;
	}
	if (info->max_io_buf_bytes > UBD_MAX_IO_BUF_BYTES ||
	    (info->max_io_buf_bytes && info->max_io_buf_bytes < PAGE_SIZE)) {
		pr_warn_ratelimited("%s: max_io_buf_bytes %u not in %lu..%lu\n",
				    __func__, info->max_io_buf_bytes, PAGE_SIZE,
				    UBD_MAX_IO_BUF_BYTES);
		return -EINVAL;
	}
	return 0;
}

/* recovery is none, R, R|REISSUE or R|FAIL_IO; QUIESCE needs R */
static int ubd_validate_recovery_flags(u64 flags)
{
	u64 mode = flags & UBD_F_RECOVERY_ALL;

	if (mode && mode != UBD_F_USER_RECOVERY &&
	    mode != (UBD_F_USER_RECOVERY | UBD_F_USER_RECOVERY_REISSUE) &&
	    mode != (UBD_F_USER_RECOVERY | UBD_F_USER_RECOVERY_FAIL_IO)) {
		pr_warn_ratelimited("%s: recovery flags %#llx: REISSUE and FAIL_IO need USER_RECOVERY and exclude each other\n",
				    __func__, mode);
		return -EINVAL;
	}
	if ((flags & UBD_F_QUIESCE) && !(flags & UBD_F_USER_RECOVERY)) {
		pr_warn_ratelimited("%s: QUIESCE needs USER_RECOVERY\n",
				    __func__);
		return -EINVAL;
	}
	return 0;
}

static int ubd_ctrl_add_dev(const struct ubd_ctrl_cmd *h)
{
	void __user *argp = u64_to_user_ptr(h->addr);
	struct ubd_ctrl_dev_info info;
	struct ubd_device *ub;
	int ret;

	if (h->len < sizeof(info) || !h->addr)
		return -EINVAL;
	if (copy_from_user(&info, argp, sizeof(info)))
		return -EFAULT;
	ret = ubd_validate_dev_info(h, &info);
	if (ret)
		return ret;

	/*
	 * Without CAP_SYS_ADMIN only an unprivileged device, which the
	 * creator controls through the permissions of its /dev/ubdcN; an
	 * admin's device is always a privileged one.
	 */
	if (capable(CAP_SYS_ADMIN))
		info.flags &= ~UBD_F_UNPRIVILEGED_DEV;
	else if (!(info.flags & UBD_F_UNPRIVILEGED_DEV))
		return -EPERM;
	if (info.flags & UBD_F_UNPRIVILEGED_DEV) {
		if (info.flags & UBD_F_UNPRIV_FORBIDDEN) {
			pr_warn_ratelimited("%s: flags %#llx not allowed unprivileged\n",
					    __func__,
					    info.flags & UBD_F_UNPRIV_FORBIDDEN);
			return -EINVAL;
		}
		/* QUIESCE needs recovery: it goes with it */
		info.flags &= ~(UBD_F_RECOVERY_ALL | UBD_F_QUIESCE);
	}

	/* negotiate: grant what we know, the server compares */
	info.flags &= UBD_F_ALL;
	ret = ubd_validate_recovery_flags(info.flags);
	if (ret)
		return ret;
	info.flags |= UBD_F_URING_CMD_COMP_IN_TASK | UBD_F_CMD_IOCTL_ENCODE;
	/* the server copies WRITE data when it likes: no second step */
	if (info.flags & UBD_F_USER_COPY)
		info.flags &= ~UBD_F_NEED_GET_DATA;
	/* one hardware queue per CPU at most, like upstream */
	info.nr_hw_queues = min_t(unsigned int, info.nr_hw_queues, nr_cpu_ids);
	if (!info.max_io_buf_bytes)
		info.max_io_buf_bytes = UBD_DEF_IO_BUF_BYTES;
	info.max_io_buf_bytes = round_down(info.max_io_buf_bytes, PAGE_SIZE);
	info.pad0 = 0;
	info.pad1 = 0;
	info.reserved1 = 0;
	info.reserved2 = 0;

	ret = ubd_add_dev(&info, h->dev_id == U32_MAX ? -1 : (int)h->dev_id);
	if (ret)
		return ret;

	if (copy_to_user(argp, &info, sizeof(info))) {
		/* the server cannot learn the id: do not leave it behind */
		ub = ubd_get_device_from_id(info.dev_id);
		if (ub)
			ubd_del_dev(ub, false);
		return -EFAULT;
	}
	return 0;
}

static int ubd_ctrl_get_dev_info(struct ubd_device *ub,
				 const struct ubd_ctrl_cmd *h)
{
	struct ubd_ctrl_dev_info info;

	if (h->len < sizeof(info) || !h->addr)
		return -EINVAL;
	/*
	 * START holds the mutex while it reads the partition table through
	 * the server: wait killably, not in D state.
	 */
	if (mutex_lock_killable(&ub->mutex))
		return -EINTR;
	info = ub->info;
	mutex_unlock(&ub->mutex);
	if (copy_to_user(u64_to_user_ptr(h->addr), &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static int ubd_ctrl_get_queue_affinity(struct ubd_device *ub,
				       const struct ubd_ctrl_cmd *h)
{
	void __user *argp = u64_to_user_ptr(h->addr);
	cpumask_var_t mask;
	unsigned long q_id = h->data[0];
	unsigned int retlen;
	int ret = 0;

	if (!h->addr || (size_t)h->len * BITS_PER_BYTE < nr_cpu_ids ||
	    h->len & (sizeof(unsigned long) - 1))
		return -EINVAL;
	if (q_id >= ub->info.nr_hw_queues)
		return -EINVAL;
	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;

	ubd_queue_affinity(ub, q_id, mask);
	retlen = min_t(unsigned int, h->len, cpumask_size());
	if (copy_to_user(argp, cpumask_bits(mask), retlen))
		ret = -EFAULT;
	else if (retlen != h->len &&
		 clear_user(argp + retlen, h->len - retlen))
		ret = -EFAULT;
	free_cpumask_var(mask);
	return ret;
}

/**
 * ubd_validate_params - check parameters from SET_PARAMS
 * @ub: the device, for its max_io_buf_bytes
 * @p: the parameters; a zero max_sectors is replaced by the largest allowed
 *
 * One rule per check; every value that reaches the block layer or a shift
 * is bounded here.
 */
int ubd_validate_params(const struct ubd_device *ub, struct ubd_params *p)
{
	struct ubd_param_basic *b = &p->basic;
	unsigned int max_sectors = ub->info.max_io_buf_bytes >> SECTOR_SHIFT;

	if (!(p->types & UBD_PARAM_TYPE_BASIC))
		return -EINVAL;
	if (b->logical_bs_shift < SECTOR_SHIFT ||
	    b->logical_bs_shift > PAGE_SHIFT)
		return -EINVAL;
	if (b->physical_bs_shift < b->logical_bs_shift ||
	    b->physical_bs_shift > UBD_MAX_BS_SHIFT)
		return -EINVAL;
	if (b->io_min_shift && (b->io_min_shift < b->logical_bs_shift ||
				b->io_min_shift > UBD_MAX_IO_SHIFT))
		return -EINVAL;
	if (b->io_opt_shift && (b->io_opt_shift < b->logical_bs_shift ||
				b->io_opt_shift > UBD_MAX_IO_SHIFT))
		return -EINVAL;
	if (!b->max_sectors)
		b->max_sectors = max_sectors;
	if (b->max_sectors > max_sectors ||
	    b->max_sectors < (PAGE_SIZE >> SECTOR_SHIFT))
		return -EINVAL;
	if (b->chunk_sectors &&
	    (!is_power_of_2(b->chunk_sectors) ||
	     b->chunk_sectors < (1U << (b->logical_bs_shift - SECTOR_SHIFT))))
		return -EINVAL;
	/* the size in bytes must fit a loff_t */
	if (b->dev_sectors > UBD_MAX_DEV_SECTORS)
		return -EINVAL;
	if (b->dev_sectors & ((1U << (b->logical_bs_shift - SECTOR_SHIFT)) - 1))
		return -EINVAL;
	if (b->virt_boundary_mask &&
	    (b->virt_boundary_mask < PAGE_SIZE - 1 ||
	     b->virt_boundary_mask >= U32_MAX ||
	     !is_power_of_2(b->virt_boundary_mask + 1)))
		return -EINVAL;

	if (p->types & UBD_PARAM_TYPE_DISCARD) {
		const struct ubd_param_discard *d = &p->discard;

		if (d->max_discard_segments != 1)
			return -EINVAL;
		if (!d->discard_granularity ||
		    !is_power_of_2(d->discard_granularity) ||
		    d->discard_granularity < (1U << b->logical_bs_shift))
			return -EINVAL;
		if (d->discard_alignment >= d->discard_granularity)
			return -EINVAL;
	}
	/* filled in by the driver, never by the server */
	if (p->types & UBD_PARAM_TYPE_DEVT)
		return -EINVAL;
	if (p->types & (UBD_PARAM_TYPE_ZONED | UBD_PARAM_TYPE_INTEGRITY))
		return -EOPNOTSUPP;
	if (p->types & UBD_PARAM_TYPE_DMA_ALIGN) {
		u32 align = p->dma.alignment;

		if (align >= PAGE_SIZE || !is_power_of_2(align + 1))
			return -EINVAL;
	}
	if (p->types & UBD_PARAM_TYPE_SEGMENT) {
		const struct ubd_param_segment *s = &p->seg;

		if (s->seg_boundary_mask < UBD_MIN_SEGMENT_SIZE - 1 ||
		    s->seg_boundary_mask >= U32_MAX ||
		    !is_power_of_2(s->seg_boundary_mask + 1))
			return -EINVAL;
		if (s->max_segment_size < UBD_MIN_SEGMENT_SIZE)
			return -EINVAL;
		if (!s->max_segments)
			return -EINVAL;
	}
	return 0;
}

#define UBD_PARAMS_HDR_LEN	(2 * sizeof(__u32))	/* len + types */
#define UBD_PARAM_TYPE_KNOWN	(UBD_PARAM_TYPE_INTEGRITY * 2 - 1)

static int ubd_ctrl_set_params(struct ubd_device *ub,
			       const struct ubd_ctrl_cmd *h)
{
	void __user *argp = u64_to_user_ptr(h->addr);
	struct ubd_params *p;
	u32 len;
	int ret;

	if (h->len < UBD_PARAMS_HDR_LEN || !h->addr)
		return -EINVAL;
	if (get_user(len, (u32 __user *)argp))
		return -EFAULT;
	if (len < UBD_PARAMS_HDR_LEN || len > h->len)
		return -EINVAL;
	len = min_t(u32, len, sizeof(*p));

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	if (copy_from_user(p, argp, len)) {
		ret = -EFAULT;
		goto out_free;
	}
	/* types a newer server knows and we don't are ignored */
	p->types &= UBD_PARAM_TYPE_KNOWN;
	p->len = len;

	if (mutex_lock_killable(&ub->mutex)) {
		ret = -EINTR;
		goto out_free;
	}
	if (ub->info.state == UBD_S_DEV_LIVE) {
		ret = -EACCES;
	} else {
		ret = ubd_validate_params(ub, p);
		if (!ret)
			ub->params = *p;
	}
	mutex_unlock(&ub->mutex);
out_free:
	kfree(p);
	return ret;
}

static int ubd_ctrl_get_params(struct ubd_device *ub,
			       const struct ubd_ctrl_cmd *h)
{
	void __user *argp = u64_to_user_ptr(h->addr);
	struct ubd_params *p;
	u32 len;
	int ret = 0;

	if (h->len < UBD_PARAMS_HDR_LEN || !h->addr)
		return -EINVAL;
	if (get_user(len, (u32 __user *)argp))
		return -EFAULT;
	if (len < UBD_PARAMS_HDR_LEN || len > h->len)
		return -EINVAL;
	len = min_t(u32, len, sizeof(*p));

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	if (mutex_lock_killable(&ub->mutex)) {
		kfree(p);
		return -EINTR;
	}
	*p = ub->params;
	if (ub->disk) {
		p->types |= UBD_PARAM_TYPE_DEVT;
		p->devt.char_major = MAJOR(ub->cdev_dev.devt);
		p->devt.char_minor = MINOR(ub->cdev_dev.devt);
		p->devt.disk_major = ub->disk->major;
		p->devt.disk_minor = ub->disk->first_minor;
	}
	mutex_unlock(&ub->mutex);
	p->len = len;
	if (copy_to_user(argp, p, len))
		ret = -EFAULT;
	kfree(p);
	return ret;
}

static int ubd_ctrl_get_features(const struct ubd_ctrl_cmd *h)
{
	u64 features = UBD_F_ALL;

	if (h->len != UBD_FEATURES_LEN || !h->addr)
		return -EINVAL;
	if (copy_to_user(u64_to_user_ptr(h->addr), &features, sizeof(features)))
		return -EFAULT;
	return 0;
}

/*
 * May the caller use the device whose /dev/ubdcN is @name with @mask?  The
 * node must be the char device of this very device -- any other node, file
 * or device the caller happens to own proves nothing.
 */
static int ubd_check_char_path(struct ubd_device *ub, const char *name,
			       int mask)
{
	struct inode *inode;
	struct path path;
	int ret;

	ret = kern_path(name, LOOKUP_FOLLOW, &path);
	if (ret)
		return ret;
	inode = d_backing_inode(path.dentry);
	if (!S_ISCHR(inode->i_mode) || inode->i_rdev != ub->cdev_dev.devt)
		ret = -EPERM;
	else
		ret = path_permission(&path, mask);
	path_put(&path);
	return ret;
}

/* what a command does to a device, as a permission on its /dev/ubdcN */
static int ubd_ctrl_cmd_mask(int nr)
{
	switch (nr) {
	case UBD_CMD_GET_QUEUE_AFFINITY:
	case UBD_CMD_GET_DEV_INFO:
	case UBD_CMD_GET_DEV_INFO2:
	case UBD_CMD_GET_PARAMS:
		return MAY_READ;
	case UBD_CMD_DEL_DEV:
	case UBD_CMD_START_DEV:
	case UBD_CMD_STOP_DEV:
	case UBD_CMD_SET_PARAMS:
	case UBD_CMD_START_USER_RECOVERY:
	case UBD_CMD_END_USER_RECOVERY:
	case _IOC_NR(UBD_U_CMD_DEL_DEV_ASYNC):
	case _IOC_NR(UBD_U_CMD_UPDATE_SIZE):
	case _IOC_NR(UBD_U_CMD_QUIESCE_DEV):
		return MAY_READ | MAY_WRITE;
	default:
		return 0;
	}
}

/**
 * ubd_ctrl_check_perm - may the caller send command @nr to @ub?
 * @ub: the device
 * @nr: the command number
 * @h: the command; on success addr and len describe the payload
 *
 * A privileged device needs CAP_SYS_ADMIN.  A command to an unprivileged
 * device, from whoever, starts its buffer with the path of the device's
 * /dev/ubdcN (dev_path_len bytes, not necessarily NUL-terminated) and is
 * allowed when the caller may open that node for reading (the commands
 * that only look) or reading and writing (the rest).  GET_DEV_INFO2 always
 * carries the path: its sender need not know what kind the device is.
 *
 * Return: 0, or -EPERM, -EACCES, -EINVAL (bad path length) or a lookup
 * error of the path.
 */
static int ubd_ctrl_check_perm(struct ubd_device *ub, int nr,
			       struct ubd_ctrl_cmd *h)
{
	int mask = ubd_ctrl_cmd_mask(nr);
	char *name;
	int ret;

	if (!ubd_dev_is_unprivileged(ub)) {
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (nr != UBD_CMD_GET_DEV_INFO2)
			return 0;
	}
	if (!mask)
		return -EPERM;
	if (!h->dev_path_len || h->dev_path_len > PATH_MAX ||
	    h->dev_path_len > h->len || !h->addr) {
		pr_warn_ratelimited("%s: dev %u: dev_path_len %u not in 1..%u or over len %u\n",
				    __func__, h->dev_id, h->dev_path_len,
				    (unsigned int)PATH_MAX, h->len);
		return -EINVAL;
	}
	/* NUL-terminated copy: the user's bytes may have none, or several */
	name = memdup_user_nul(u64_to_user_ptr(h->addr), h->dev_path_len);
	if (IS_ERR(name))
		return PTR_ERR(name);
	ret = ubd_check_char_path(ub, name, mask);
	kfree(name);
	if (ret)
		return ret;
	h->addr += h->dev_path_len;
	h->len -= h->dev_path_len;
	return 0;
}

/* the command number of @op, or -1 when it is not a control opcode */
static int ubd_ctrl_cmd_nr(u32 op)
{
	if (_IOC_TYPE(op) == 'u') {
		if (_IOC_SIZE(op) != sizeof(struct ubd_ctrl_cmd))
			return -1;
		return _IOC_NR(op);
	}
	/* legacy raw numbers: nothing but the number may be set */
	if (op > 0xff)
		return -1;
	return op;
}

static int ubd_ctrl_uring_cmd(struct io_uring_cmd *cmd,
			      unsigned int issue_flags)
{
	struct ubd_device *ub;
	struct ubd_ctrl_cmd h;
	int nr = ubd_ctrl_cmd_nr(cmd->cmd_op);
	int ret;

	/* a 32-byte payload needs the 128-byte SQE */
	if (!(issue_flags & IO_URING_F_SQE128))
		return -EINVAL;
	/* the SQE is shared with user space: read it once */
	memcpy(&h, cmd->cmd, sizeof(h));

	switch (nr) {
	case UBD_CMD_ADD_DEV:
		/* checks who may add what itself */
		return ubd_ctrl_add_dev(&h);
	case _IOC_NR(UBD_U_CMD_GET_FEATURES):
		/* nothing secret: whoever may open the control node */
		return ubd_ctrl_get_features(&h);
	case UBD_CMD_GET_QUEUE_AFFINITY:
	case UBD_CMD_GET_DEV_INFO:
	case UBD_CMD_DEL_DEV:
	case UBD_CMD_START_DEV:
	case UBD_CMD_STOP_DEV:
	case UBD_CMD_SET_PARAMS:
	case UBD_CMD_GET_PARAMS:
	case UBD_CMD_GET_DEV_INFO2:
	case _IOC_NR(UBD_U_CMD_DEL_DEV_ASYNC):
	case UBD_CMD_START_USER_RECOVERY:
	case UBD_CMD_END_USER_RECOVERY:
	case _IOC_NR(UBD_U_CMD_UPDATE_SIZE):
	case _IOC_NR(UBD_U_CMD_QUIESCE_DEV):
		break;
	default:
		return -EOPNOTSUPP;
	}

	ub = ubd_get_device_from_id(h.dev_id);
	if (!ub)
		return -ENODEV;
	ret = ubd_ctrl_check_perm(ub, nr, &h);
	if (ret) {
		ubd_put_device(ub);
		return ret;
	}

	switch (nr) {
	case UBD_CMD_GET_QUEUE_AFFINITY:
		ret = ubd_ctrl_get_queue_affinity(ub, &h);
		break;
	case UBD_CMD_GET_DEV_INFO:
	case UBD_CMD_GET_DEV_INFO2:
		ret = ubd_ctrl_get_dev_info(ub, &h);
		break;
	case UBD_CMD_DEL_DEV:
		/* drops our reference */
		return ubd_del_dev(ub, true);
	case _IOC_NR(UBD_U_CMD_DEL_DEV_ASYNC):
		return ubd_del_dev(ub, false);
	case UBD_CMD_START_DEV:
		ret = h.data[0] > PID_MAX_LIMIT ? -EINVAL :
			ubd_start_dev(ub, (pid_t)h.data[0]);
		break;
	case UBD_CMD_STOP_DEV:
		ubd_stop_dev(ub);
		ret = 0;
		break;
	case UBD_CMD_SET_PARAMS:
		ret = ubd_ctrl_set_params(ub, &h);
		break;
	case UBD_CMD_GET_PARAMS:
		ret = ubd_ctrl_get_params(ub, &h);
		break;
	case UBD_CMD_START_USER_RECOVERY:
		ret = ubd_start_recovery(ub);
		break;
	case UBD_CMD_END_USER_RECOVERY:
		ret = h.data[0] > PID_MAX_LIMIT ? -EINVAL :
			ubd_end_recovery(ub, (pid_t)h.data[0]);
		break;
	case _IOC_NR(UBD_U_CMD_UPDATE_SIZE):
		ret = ubd_update_size(ub, h.data[0]);
		break;
	case _IOC_NR(UBD_U_CMD_QUIESCE_DEV):
		ret = ubd_quiesce_dev(ub, h.data[0]);
		break;
	default:
		ret = -EOPNOTSUPP;
		break;
	}
	ubd_put_device(ub);
	return ret;
}

static const struct file_operations ubd_ctrl_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.uring_cmd	= ubd_ctrl_uring_cmd,
	.llseek		= noop_llseek,
};

static struct miscdevice ubd_misc = {
	.minor		= MISC_DYNAMIC_MINOR,
	.name		= "ubd-control",
	.fops		= &ubd_ctrl_fops,
};

int ubd_ctrl_init(void)
{
	return misc_register(&ubd_misc);
}

void ubd_ctrl_exit(void)
{
	misc_deregister(&ubd_misc);
}
