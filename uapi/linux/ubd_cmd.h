/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ubd: io_uring based userspace block devices -- the user/kernel ABI.
 *
 * Every number, layout and encoding here is binary-compatible with the
 * ublk ABI of Linux (include/uapi/linux/ublk_cmd.h), so servers written for
 * ublk can drive ubd_drv and ubd tools can drive the in-tree ublk_drv.  Only
 * the names (UBD_*, ubd_*) and the device nodes are ours:
 *
 *   /dev/ubd-control  control commands (io_uring URING_CMD, SQE128 ring)
 *   /dev/ubdcN        per-device char node: io commands and the mmap'd
 *                     descriptor array of every queue
 *   /dev/ubdbN        the block device
 */
#ifndef _UAPI_LINUX_UBD_CMD_H
#define _UAPI_LINUX_UBD_CMD_H

#include <linux/types.h>

/*
 * Legacy control opcodes: the raw numbers of the first ABI.  Kept so that old
 * servers keep working; don't use them in new applications.
 */
#define UBD_CMD_GET_QUEUE_AFFINITY	0x01
#define UBD_CMD_GET_DEV_INFO		0x02
#define UBD_CMD_ADD_DEV			0x04
#define UBD_CMD_DEL_DEV			0x05
#define UBD_CMD_START_DEV		0x06
#define UBD_CMD_STOP_DEV		0x07
#define UBD_CMD_SET_PARAMS		0x08
#define UBD_CMD_GET_PARAMS		0x09
#define UBD_CMD_START_USER_RECOVERY	0x10
#define UBD_CMD_END_USER_RECOVERY	0x11
#define UBD_CMD_GET_DEV_INFO2		0x12

/*
 * Control opcodes encoded like ioctls: _IOC_TYPE 'u', _IOC_NR the legacy
 * number, _IOC_SIZE sizeof(struct ubd_ctrl_cmd).  Every command added after
 * the first ABI exists only in this form.
 */
#define UBD_U_CMD_GET_QUEUE_AFFINITY	_IOR('u', 0x01, struct ubd_ctrl_cmd)
#define UBD_U_CMD_GET_DEV_INFO		_IOR('u', 0x02, struct ubd_ctrl_cmd)
#define UBD_U_CMD_ADD_DEV		_IOWR('u', 0x04, struct ubd_ctrl_cmd)
#define UBD_U_CMD_DEL_DEV		_IOWR('u', 0x05, struct ubd_ctrl_cmd)
#define UBD_U_CMD_START_DEV		_IOWR('u', 0x06, struct ubd_ctrl_cmd)
#define UBD_U_CMD_STOP_DEV		_IOWR('u', 0x07, struct ubd_ctrl_cmd)
#define UBD_U_CMD_SET_PARAMS		_IOWR('u', 0x08, struct ubd_ctrl_cmd)
#define UBD_U_CMD_GET_PARAMS		_IOR('u', 0x09, struct ubd_ctrl_cmd)
#define UBD_U_CMD_START_USER_RECOVERY	_IOWR('u', 0x10, struct ubd_ctrl_cmd)
#define UBD_U_CMD_END_USER_RECOVERY	_IOWR('u', 0x11, struct ubd_ctrl_cmd)
#define UBD_U_CMD_GET_DEV_INFO2		_IOR('u', 0x12, struct ubd_ctrl_cmd)
#define UBD_U_CMD_GET_FEATURES		_IOR('u', 0x13, struct ubd_ctrl_cmd)
#define UBD_U_CMD_DEL_DEV_ASYNC		_IOR('u', 0x14, struct ubd_ctrl_cmd)
#define UBD_U_CMD_UPDATE_SIZE		_IOWR('u', 0x15, struct ubd_ctrl_cmd)
#define UBD_U_CMD_QUIESCE_DEV		_IOWR('u', 0x16, struct ubd_ctrl_cmd)
#define UBD_U_CMD_TRY_STOP_DEV		_IOWR('u', 0x17, struct ubd_ctrl_cmd)
#define UBD_U_CMD_REG_BUF		_IOWR('u', 0x18, struct ubd_ctrl_cmd)
#define UBD_U_CMD_UNREG_BUF		_IOWR('u', 0x19, struct ubd_ctrl_cmd)

/* GET_FEATURES copies one __u64 of UBD_F_* bits to addr; len must be this */
#define UBD_FEATURES_LEN		8

/* Legacy io opcodes; don't use them in new applications. */
#define UBD_IO_FETCH_REQ		0x20
#define UBD_IO_COMMIT_AND_FETCH_REQ	0x21
#define UBD_IO_NEED_GET_DATA		0x22

/* io opcodes, sent on /dev/ubdcN with a struct ubd_io_cmd payload */
#define UBD_U_IO_FETCH_REQ		_IOWR('u', 0x20, struct ubd_io_cmd)
#define UBD_U_IO_COMMIT_AND_FETCH_REQ	_IOWR('u', 0x21, struct ubd_io_cmd)
#define UBD_U_IO_NEED_GET_DATA		_IOWR('u', 0x22, struct ubd_io_cmd)
#define UBD_U_IO_REGISTER_IO_BUF	_IOWR('u', 0x23, struct ubd_io_cmd)
#define UBD_U_IO_UNREGISTER_IO_BUF	_IOWR('u', 0x24, struct ubd_io_cmd)
#define UBD_U_IO_PREP_IO_CMDS		_IOWR('u', 0x25, struct ubd_batch_io)
#define UBD_U_IO_COMMIT_IO_CMDS		_IOWR('u', 0x26, struct ubd_batch_io)
#define UBD_U_IO_FETCH_IO_CMDS		_IOWR('u', 0x27, struct ubd_batch_io)

/* cqe->res of an io command */
#define UBD_IO_RES_OK			0
#define UBD_IO_RES_NEED_GET_DATA	1
/* the device is going away: the tag is dead, do not fetch it again */
#define UBD_IO_RES_ABORT		(-19)	/* -ENODEV */

/*
 * Layout of the per-queue descriptor area in the mmap of /dev/ubdcN: queue q
 * starts at UBDSRV_CMD_BUF_OFFSET + q * round_up(UBD_MAX_QUEUE_DEPTH *
 * sizeof(struct ubd_io_desc), page size) and holds queue_depth descriptors
 * indexed by tag.  The mapping is read-only.
 */
#define UBDSRV_CMD_BUF_OFFSET		0

/*
 * User copy: pread/pwrite on /dev/ubdcN at
 *   UBDSRV_IO_BUF_OFFSET + (qid << UBD_QID_OFF) + (tag << UBD_TAG_OFF) + off
 * reaches byte 'off' of the data of request (qid, tag).
 */
#define UBDSRV_IO_BUF_OFFSET		0x80000000
#define UBD_IO_BUF_OFF			0
#define UBD_IO_BUF_BITS			25	/* 32 MiB per io at most */
#define UBD_IO_BUF_BITS_MASK		((1ULL << UBD_IO_BUF_BITS) - 1)
#define UBD_TAG_OFF			UBD_IO_BUF_BITS
#define UBD_TAG_BITS			16
#define UBD_TAG_BITS_MASK		((1ULL << UBD_TAG_BITS) - 1)
#define UBD_QID_OFF			(UBD_TAG_OFF + UBD_TAG_BITS)
#define UBD_QID_BITS			12
#define UBD_QID_BITS_MASK		((1ULL << UBD_QID_BITS) - 1)
#define UBD_MAX_NR_QUEUES		(1U << UBD_QID_BITS)
#define UBDSRV_IO_BUF_TOTAL_BITS	(UBD_QID_OFF + UBD_QID_BITS)
#define UBDSRV_IO_BUF_TOTAL_SIZE	(1ULL << UBDSRV_IO_BUF_TOTAL_BITS)
/* with UBD_F_INTEGRITY, selects the integrity buffer of the io */
#define UBDSRV_IO_INTEGRITY_FLAG	(1ULL << 62)

/* the pread/pwrite offset of byte @off of the data of io (@q_id, @tag) */
static inline __u64 ubdsrv_user_copy_pos(__u16 q_id, __u16 tag, __u32 off)
{
	return UBDSRV_IO_BUF_OFFSET + ((__u64)q_id << UBD_QID_OFF) +
	       ((__u64)tag << UBD_TAG_OFF) + (off & UBD_IO_BUF_BITS_MASK);
}

/* a tag is 16 bits, but a queue has at most this many ios */
#define UBD_MAX_QUEUE_DEPTH		4096

/*
 * (checkpatch prefers BIT_ULL(); that macro does not exist for user space,
 * so this header spells the shifts out.)
 *
 * Feature flags: ubd_ctrl_dev_info.flags.  ADD_DEV masks the bits the driver
 * does not know and copies the result back, so a server must compare what it
 * asked for with what it got.  All are 64-bit (1ULL) on purpose.
 */
/* zero copy through REGISTER_IO_BUF/UNREGISTER_IO_BUF */
#define UBD_F_SUPPORT_ZERO_COPY		(1ULL << 0)
/* complete io commands from task work (always done by ubd_drv) */
#define UBD_F_URING_CMD_COMP_IN_TASK	(1ULL << 1)
/*
 * WRITE is first delivered with UBD_IO_RES_NEED_GET_DATA; the server then
 * sends UBD_IO_NEED_GET_DATA with the buffer the data is copied to
 */
#define UBD_F_NEED_GET_DATA		(1ULL << 2)
/* the device outlives its server; a new server can take it over */
#define UBD_F_USER_RECOVERY		(1ULL << 3)
/* with USER_RECOVERY: ios the dead server had are issued again */
#define UBD_F_USER_RECOVERY_REISSUE	(1ULL << 4)
/* created by an unprivileged user, checked through the char-dev path */
#define UBD_F_UNPRIVILEGED_DEV		(1ULL << 5)
/* the server uses the ioctl-encoded opcodes */
#define UBD_F_CMD_IOCTL_ENCODE		(1ULL << 6)
/* the server copies data with pread/pwrite on /dev/ubdcN */
#define UBD_F_USER_COPY			(1ULL << 7)
/* zoned block device */
#define UBD_F_ZONED			(1ULL << 8)
/* with USER_RECOVERY: while there is no server, all io fails at once */
#define UBD_F_USER_RECOVERY_FAIL_IO	(1ULL << 9)
/* UPDATE_SIZE is supported */
#define UBD_F_UPDATE_SIZE		(1ULL << 10)
/* the request buffer is registered into the server's ring automatically */
#define UBD_F_AUTO_BUF_REG		(1ULL << 11)
/* QUIESCE_DEV is supported; needs USER_RECOVERY */
#define UBD_F_QUIESCE			(1ULL << 12)
/* every (queue, tag) may be served by its own task */
#define UBD_F_PER_IO_DAEMON		(1ULL << 13)
/* (UN)REGISTER_IO_BUF may come from any task */
#define UBD_F_BUF_REG_OFF_DAEMON	(1ULL << 14)
/* PREP/COMMIT/FETCH_IO_CMDS replace the per-tag io commands */
#define UBD_F_BATCH_IO			(1ULL << 15)
/* integrity (PI) buffers; needs USER_COPY */
#define UBD_F_INTEGRITY			(1ULL << 16)
/* TRY_STOP_DEV is supported */
#define UBD_F_SAFE_STOP_DEV		(1ULL << 17)
/* no partition scan at START_DEV */
#define UBD_F_NO_AUTO_PART_SCAN		(1ULL << 18)
/* shared-memory zero copy through REG_BUF */
#define UBD_F_SHMEM_ZC			(1ULL << 19)

/* device states: ubd_ctrl_dev_info.state */
#define UBD_S_DEV_DEAD			0
#define UBD_S_DEV_LIVE			1
#define UBD_S_DEV_QUIESCED		2
#define UBD_S_DEV_FAIL_IO		3

/*
 * The payload of every control command, in sqe->cmd of an SQE128 ring
 * (32 bytes).  Written by the server, read by the driver.
 */
struct ubd_ctrl_cmd {
	__u32	dev_id;		/* device; -1 with ADD_DEV: pick a free one */
	__u16	queue_id;	/* -1 unless the command is per queue */
	__u16	len;		/* bytes of the buffer at addr, IN or OUT */
	__u64	addr;		/* user buffer of the command */
	__u64	data[1];	/* inline argument: pid, queue id, sectors... */
	/*
	 * GET_DEV_INFO2, unprivileged devices: the buffer at addr starts
	 * with this many bytes of the /dev/ubdcN path
	 */
	__u16	dev_path_len;
	__u16	pad;
	__u32	reserved;
};

/*
 * Device info (64 bytes): ADD_DEV reads it and writes it back, GET_DEV_INFO
 * writes it.
 */
struct ubd_ctrl_dev_info {
	__u16	nr_hw_queues;	/* server: wanted; driver: granted */
	__u16	queue_depth;	/* tags per queue, 1..UBD_MAX_QUEUE_DEPTH */
	__u16	state;		/* driver: UBD_S_DEV_* */
	__u16	pad0;
	__u32	max_io_buf_bytes; /* largest io the server buffers, bytes */
	__u32	dev_id;		/* driver: the id given */
	__s32	ubdsrv_pid;	/* driver: pid given to START_DEV */
	__u32	pad1;
	__u64	flags;		/* UBD_F_*: wanted, then granted */
	__u64	ubdsrv_flags;	/* the server's own; the driver ignores it */
	__u32	owner_uid;	/* driver: creator's uid */
	__u32	owner_gid;	/* driver: creator's gid */
	__u64	reserved1;
	__u64	reserved2;
};

/* io operations: low 8 bits of ubd_io_desc.op_flags */
#define UBD_IO_OP_READ			0
#define UBD_IO_OP_WRITE			1
#define UBD_IO_OP_FLUSH			2
#define UBD_IO_OP_DISCARD		3
#define UBD_IO_OP_WRITE_SAME		4
#define UBD_IO_OP_WRITE_ZEROES		5
#define UBD_IO_OP_ZONE_OPEN		10
#define UBD_IO_OP_ZONE_CLOSE		11
#define UBD_IO_OP_ZONE_FINISH		12
#define UBD_IO_OP_ZONE_APPEND		13
#define UBD_IO_OP_ZONE_RESET_ALL	14
#define UBD_IO_OP_ZONE_RESET		15
#define UBD_IO_OP_REPORT_ZONES		18

/* io flags: bits 8..31 of ubd_io_desc.op_flags */
#define UBD_IO_F_FAILFAST_DEV		(1U << 8)
#define UBD_IO_F_FAILFAST_TRANSPORT	(1U << 9)
#define UBD_IO_F_FAILFAST_DRIVER	(1U << 10)
#define UBD_IO_F_META			(1U << 11)
#define UBD_IO_F_FUA			(1U << 13)
#define UBD_IO_F_NOUNMAP		(1U << 15)
#define UBD_IO_F_SWAP			(1U << 16)
#define UBD_IO_F_NEED_REG_BUF		(1U << 17)
#define UBD_IO_F_INTEGRITY		(1U << 18)
#define UBD_IO_F_SHMEM_ZC		(1U << 19)

/*
 * One io as the server sees it (24 bytes), in the mmap'd descriptor array
 * at index tag.  Written by the driver before the fetch completes.
 */
struct ubd_io_desc {
	__u32	op_flags;	/* op in bits 0..7, UBD_IO_F_* above */
	union {
		__u32	nr_sectors;	/* length, 512-byte sectors */
		__u32	nr_zones;	/* REPORT_ZONES */
	};
	__u64	start_sector;	/* offset, 512-byte sectors */
	__u64	addr;		/* the server's buffer for this io */
};

static inline __u8 ubdsrv_get_op(const struct ubd_io_desc *iod)
{
	return iod->op_flags & 0xff;
}

static inline __u32 ubdsrv_get_flags(const struct ubd_io_desc *iod)
{
	return iod->op_flags >> 8;
}

/*
 * The payload of every io command (16 bytes): fits in the sqe->cmd area of
 * a plain 64-byte SQE.  Written by the server.
 */
struct ubd_io_cmd {
	__u16	q_id;
	__u16	tag;
	__s32	result;		/* COMMIT: bytes done or -errno */
	union {
		__u64	addr;	/* buffer for the next io of this tag */
		__u64	zone_append_lba;
	};
};

/* UBD_F_AUTO_BUF_REG: packed into sqe->addr of FETCH/COMMIT (8 bytes) */
struct ubd_auto_buf_reg {
	__u16	index;		/* fixed-buffer slot */
	__u8	flags;		/* UBD_AUTO_BUF_REG_* */
	__u8	reserved0;
	__u32	reserved1;
};

#define UBD_AUTO_BUF_REG_FALLBACK	(1 << 0)

static inline __u64 ubd_auto_buf_reg_to_sqe_addr(const struct ubd_auto_buf_reg *r)
{
	return (__u64)r->index | (__u64)r->flags << 16 |
	       (__u64)r->reserved0 << 24 | (__u64)r->reserved1 << 32;
}

/* UBD_F_BATCH_IO: one element (8 bytes) and the command header (16 bytes) */
struct ubd_elem_header {
	__u16	tag;
	__u16	buf_index;
	__s32	result;
};

struct ubd_batch_io {
	__u16	q_id;
	__u16	flags;		/* UBD_BATCH_F_* */
	__u16	nr_elem;
	__u8	elem_bytes;
	__u8	reserved;
	__u64	reserved2;
};

#define UBD_BATCH_F_HAS_ZONE_LBA	(1 << 0)
#define UBD_BATCH_F_HAS_BUF_ADDR	(1 << 1)
#define UBD_BATCH_F_AUTO_BUF_REG_FALLBACK (1 << 2)

/* REG_BUF payload (UBD_F_SHMEM_ZC) */
struct ubd_shmem_buf_reg {
	__u64	addr;
	__u32	len;
	__u32	flags;		/* UBD_SHMEM_BUF_READ_ONLY */
};

#define UBD_SHMEM_BUF_READ_ONLY		(1 << 0)

/* ---- device parameters: SET_PARAMS / GET_PARAMS ---- */

struct ubd_param_basic {
#define UBD_ATTR_READ_ONLY		(1 << 0)
#define UBD_ATTR_ROTATIONAL		(1 << 1)
#define UBD_ATTR_VOLATILE_CACHE		(1 << 2)
#define UBD_ATTR_FUA			(1 << 3)
	__u32	attrs;
	__u8	logical_bs_shift;	/* 9..PAGE_SHIFT */
	__u8	physical_bs_shift;	/* >= logical */
	__u8	io_opt_shift;
	__u8	io_min_shift;
	__u32	max_sectors;		/* per request, 512-byte sectors */
	__u32	chunk_sectors;
	__u64	dev_sectors;		/* capacity, 512-byte sectors */
	__u64	virt_boundary_mask;
};

struct ubd_param_discard {
	__u32	discard_alignment;	/* bytes */
	__u32	discard_granularity;	/* bytes, non-zero */
	__u32	max_discard_sectors;
	__u32	max_write_zeroes_sectors;
	__u16	max_discard_segments;	/* must be 1 */
	__u16	reserved0;
};

/* read-only: filled in by the driver once the device is started */
struct ubd_param_devt {
	__u32	char_major;
	__u32	char_minor;
	__u32	disk_major;
	__u32	disk_minor;
};

struct ubd_param_zoned {
	__u32	max_open_zones;
	__u32	max_active_zones;
	__u32	max_zone_append_sectors;
	__u8	reserved[20];
};

struct ubd_param_dma_align {
	__u32	alignment;		/* mask: alignment + 1 is a power of 2 */
	__u8	pad[4];
};

#define UBD_MIN_SEGMENT_SIZE		4096
struct ubd_param_segment {
	__u64	seg_boundary_mask;	/* mask + 1 a power of 2, >= 4096 */
	__u32	max_segment_size;	/* >= UBD_MIN_SEGMENT_SIZE */
	__u16	max_segments;
	__u8	pad[2];
};

struct ubd_param_integrity {
	__u32	flags;
	__u16	max_integrity_segments;
	__u8	interval_exp;
	__u8	metadata_size;
	__u8	pi_offset;
	__u8	csum_type;
	__u8	tag_size;
	__u8	pad[5];
};

struct ubd_params {
	/*
	 * The server sets len for both SET_PARAMS and GET_PARAMS; the driver
	 * may lower it to what it knows.
	 */
	__u32	len;
#define UBD_PARAM_TYPE_BASIC		(1 << 0)
#define UBD_PARAM_TYPE_DISCARD		(1 << 1)
#define UBD_PARAM_TYPE_DEVT		(1 << 2)
#define UBD_PARAM_TYPE_ZONED		(1 << 3)
#define UBD_PARAM_TYPE_DMA_ALIGN	(1 << 4)
#define UBD_PARAM_TYPE_SEGMENT		(1 << 5)
#define UBD_PARAM_TYPE_INTEGRITY	(1 << 6)
	__u32	types;			/* which blocks below are valid */

	struct ubd_param_basic		basic;
	struct ubd_param_discard	discard;
	struct ubd_param_devt		devt;
	struct ubd_param_zoned		zoned;
	struct ubd_param_dma_align	dma;
	struct ubd_param_segment	seg;
	struct ubd_param_integrity	integrity;
};

/*
 * Every size and offset above is ABI: checked at compile time, in the kernel
 * and in user space alike.
 */
/* (C11 spells it _Static_assert, which checkpatch takes for CamelCase) */
#ifdef __cplusplus
#define UBD_ABI_ASSERT(expr, msg) static_assert(expr, msg)
#else
#define UBD_ABI_ASSERT(expr, msg) _Static_assert(expr, msg)
#endif
UBD_ABI_ASSERT(sizeof(struct ubd_ctrl_cmd) == 32, "ubd_ctrl_cmd");
UBD_ABI_ASSERT(sizeof(struct ubd_ctrl_dev_info) == 64, "ubd_ctrl_dev_info");
UBD_ABI_ASSERT(sizeof(struct ubd_io_desc) == 24, "ubd_io_desc");
UBD_ABI_ASSERT(sizeof(struct ubd_io_cmd) == 16, "ubd_io_cmd");
UBD_ABI_ASSERT(sizeof(struct ubd_auto_buf_reg) == 8, "ubd_auto_buf_reg");
UBD_ABI_ASSERT(sizeof(struct ubd_elem_header) == 8, "ubd_elem_header");
UBD_ABI_ASSERT(sizeof(struct ubd_batch_io) == 16, "ubd_batch_io");
UBD_ABI_ASSERT(sizeof(struct ubd_shmem_buf_reg) == 16, "ubd_shmem_buf_reg");
UBD_ABI_ASSERT(sizeof(struct ubd_param_basic) == 32, "ubd_param_basic");
UBD_ABI_ASSERT(sizeof(struct ubd_param_discard) == 20, "ubd_param_discard");
UBD_ABI_ASSERT(sizeof(struct ubd_param_devt) == 16, "ubd_param_devt");
UBD_ABI_ASSERT(sizeof(struct ubd_param_zoned) == 32, "ubd_param_zoned");
UBD_ABI_ASSERT(sizeof(struct ubd_param_dma_align) == 8, "ubd_param_dma_align");
UBD_ABI_ASSERT(sizeof(struct ubd_param_segment) == 16, "ubd_param_segment");
UBD_ABI_ASSERT(sizeof(struct ubd_param_integrity) == 16, "ubd_param_integrity");
UBD_ABI_ASSERT(sizeof(struct ubd_params) == 152, "ubd_params");
/* the user-copy fields tile the offset without overlap */
UBD_ABI_ASSERT(UBD_IO_BUF_OFF + UBD_IO_BUF_BITS == UBD_TAG_OFF, "tag off");
UBD_ABI_ASSERT(UBD_TAG_OFF + UBD_TAG_BITS == UBD_QID_OFF, "qid off");
UBD_ABI_ASSERT(UBD_MAX_QUEUE_DEPTH <= 1ULL << UBD_TAG_BITS, "tag bits");
UBD_ABI_ASSERT(UBDSRV_IO_BUF_OFFSET + UBDSRV_IO_BUF_TOTAL_SIZE <
	       UBDSRV_IO_INTEGRITY_FLAG, "user copy range");
#undef UBD_ABI_ASSERT

#endif /* _UAPI_LINUX_UBD_CMD_H */
