// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ABI is ublk's: every number, size and offset here is what the ublk
 * uapi header gives on x86-64.  A change that breaks binary compatibility
 * with ublk servers or drivers fails here.
 */
#include <stddef.h>
#include <sys/ioctl.h>
#include <linux/ubd_cmd.h>

#include "tap.h"

#define CHECK_EQ(expr, want) \
	t_ok((unsigned long long)(expr) == (unsigned long long)(want), \
	     "%s == %#llx (is %#llx)", #expr, (unsigned long long)(want), \
	     (unsigned long long)(expr))

int main(void)
{
	/* sizes */
	CHECK_EQ(sizeof(struct ubd_ctrl_cmd), 32);
	CHECK_EQ(sizeof(struct ubd_ctrl_dev_info), 64);
	CHECK_EQ(sizeof(struct ubd_io_desc), 24);
	CHECK_EQ(sizeof(struct ubd_io_cmd), 16);
	CHECK_EQ(sizeof(struct ubd_params), 152);
	CHECK_EQ(sizeof(struct ubd_param_basic), 32);
	CHECK_EQ(sizeof(struct ubd_param_discard), 20);
	CHECK_EQ(sizeof(struct ubd_batch_io), 16);
	CHECK_EQ(sizeof(struct ubd_elem_header), 8);
	CHECK_EQ(sizeof(struct ubd_auto_buf_reg), 8);

	/* offsets */
	CHECK_EQ(offsetof(struct ubd_ctrl_cmd, addr), 8);
	CHECK_EQ(offsetof(struct ubd_ctrl_cmd, data), 16);
	CHECK_EQ(offsetof(struct ubd_ctrl_cmd, dev_path_len), 24);
	CHECK_EQ(offsetof(struct ubd_ctrl_dev_info, max_io_buf_bytes), 8);
	CHECK_EQ(offsetof(struct ubd_ctrl_dev_info, dev_id), 12);
	CHECK_EQ(offsetof(struct ubd_ctrl_dev_info, ubdsrv_pid), 16);
	CHECK_EQ(offsetof(struct ubd_ctrl_dev_info, flags), 24);
	CHECK_EQ(offsetof(struct ubd_ctrl_dev_info, owner_uid), 40);
	CHECK_EQ(offsetof(struct ubd_io_desc, start_sector), 8);
	CHECK_EQ(offsetof(struct ubd_io_desc, addr), 16);
	CHECK_EQ(offsetof(struct ubd_io_cmd, result), 4);
	CHECK_EQ(offsetof(struct ubd_io_cmd, addr), 8);
	CHECK_EQ(offsetof(struct ubd_params, basic), 8);
	CHECK_EQ(offsetof(struct ubd_params, discard), 40);
	CHECK_EQ(offsetof(struct ubd_params, devt), 60);
	CHECK_EQ(offsetof(struct ubd_params, zoned), 76);
	CHECK_EQ(offsetof(struct ubd_params, dma), 108);
	CHECK_EQ(offsetof(struct ubd_params, seg), 120);
	CHECK_EQ(offsetof(struct ubd_params, integrity), 136);
	CHECK_EQ(offsetof(struct ubd_param_basic, max_sectors), 8);
	CHECK_EQ(offsetof(struct ubd_param_basic, dev_sectors), 16);

	/* control opcodes: legacy and encoded */
	CHECK_EQ(UBD_CMD_GET_QUEUE_AFFINITY, 0x01);
	CHECK_EQ(UBD_CMD_ADD_DEV, 0x04);
	CHECK_EQ(UBD_CMD_GET_DEV_INFO2, 0x12);
	CHECK_EQ(UBD_U_CMD_GET_QUEUE_AFFINITY, 0x80207501);
	CHECK_EQ(UBD_U_CMD_GET_DEV_INFO, 0x80207502);
	CHECK_EQ(UBD_U_CMD_ADD_DEV, 0xc0207504);
	CHECK_EQ(UBD_U_CMD_DEL_DEV, 0xc0207505);
	CHECK_EQ(UBD_U_CMD_START_DEV, 0xc0207506);
	CHECK_EQ(UBD_U_CMD_STOP_DEV, 0xc0207507);
	CHECK_EQ(UBD_U_CMD_SET_PARAMS, 0xc0207508);
	CHECK_EQ(UBD_U_CMD_GET_PARAMS, 0x80207509);
	CHECK_EQ(UBD_U_CMD_START_USER_RECOVERY, 0xc0207510);
	CHECK_EQ(UBD_U_CMD_END_USER_RECOVERY, 0xc0207511);
	CHECK_EQ(UBD_U_CMD_GET_DEV_INFO2, 0x80207512);
	CHECK_EQ(UBD_U_CMD_GET_FEATURES, 0x80207513);
	CHECK_EQ(UBD_U_CMD_DEL_DEV_ASYNC, 0x80207514);
	CHECK_EQ(UBD_U_CMD_UPDATE_SIZE, 0xc0207515);
	CHECK_EQ(UBD_U_CMD_QUIESCE_DEV, 0xc0207516);
	CHECK_EQ(UBD_U_CMD_TRY_STOP_DEV, 0xc0207517);
	CHECK_EQ(UBD_U_CMD_REG_BUF, 0xc0207518);
	CHECK_EQ(UBD_U_CMD_UNREG_BUF, 0xc0207519);

	/* io opcodes */
	CHECK_EQ(UBD_IO_FETCH_REQ, 0x20);
	CHECK_EQ(UBD_IO_COMMIT_AND_FETCH_REQ, 0x21);
	CHECK_EQ(UBD_IO_NEED_GET_DATA, 0x22);
	CHECK_EQ(UBD_U_IO_FETCH_REQ, 0xc0107520);
	CHECK_EQ(UBD_U_IO_COMMIT_AND_FETCH_REQ, 0xc0107521);
	CHECK_EQ(UBD_U_IO_NEED_GET_DATA, 0xc0107522);
	CHECK_EQ(UBD_U_IO_REGISTER_IO_BUF, 0xc0107523);
	CHECK_EQ(UBD_U_IO_UNREGISTER_IO_BUF, 0xc0107524);
	CHECK_EQ(UBD_U_IO_PREP_IO_CMDS, 0xc0107525);
	CHECK_EQ(UBD_U_IO_COMMIT_IO_CMDS, 0xc0107526);
	CHECK_EQ(UBD_U_IO_FETCH_IO_CMDS, 0xc0107527);
	CHECK_EQ(UBD_IO_RES_OK, 0);
	CHECK_EQ(UBD_IO_RES_NEED_GET_DATA, 1);
	CHECK_EQ(UBD_IO_RES_ABORT, -19);

	/* feature bits */
	CHECK_EQ(UBD_F_SUPPORT_ZERO_COPY, 1ULL << 0);
	CHECK_EQ(UBD_F_NEED_GET_DATA, 1ULL << 2);
	CHECK_EQ(UBD_F_USER_RECOVERY, 1ULL << 3);
	CHECK_EQ(UBD_F_UNPRIVILEGED_DEV, 1ULL << 5);
	CHECK_EQ(UBD_F_CMD_IOCTL_ENCODE, 1ULL << 6);
	CHECK_EQ(UBD_F_USER_COPY, 1ULL << 7);
	CHECK_EQ(UBD_F_USER_RECOVERY_FAIL_IO, 1ULL << 9);
	CHECK_EQ(UBD_F_QUIESCE, 1ULL << 12);
	CHECK_EQ(UBD_F_SHMEM_ZC, 1ULL << 19);

	/* states, ops, flags, params */
	CHECK_EQ(UBD_S_DEV_DEAD, 0);
	CHECK_EQ(UBD_S_DEV_LIVE, 1);
	CHECK_EQ(UBD_S_DEV_QUIESCED, 2);
	CHECK_EQ(UBD_S_DEV_FAIL_IO, 3);
	CHECK_EQ(UBD_IO_OP_WRITE_ZEROES, 5);
	CHECK_EQ(UBD_IO_OP_REPORT_ZONES, 18);
	CHECK_EQ(UBD_IO_F_FUA, 1U << 13);
	CHECK_EQ(UBD_IO_F_NOUNMAP, 1U << 15);
	CHECK_EQ(UBD_PARAM_TYPE_SEGMENT, 1 << 5);
	CHECK_EQ(UBD_PARAM_TYPE_INTEGRITY, 1 << 6);
	CHECK_EQ(UBD_ATTR_FUA, 1 << 3);

	/* user-copy offsets and limits */
	CHECK_EQ(UBDSRV_IO_BUF_OFFSET, 0x80000000);
	CHECK_EQ(UBD_TAG_OFF, 25);
	CHECK_EQ(UBD_QID_OFF, 41);
	CHECK_EQ(UBDSRV_IO_BUF_TOTAL_BITS, 53);
	CHECK_EQ(UBDSRV_IO_BUF_TOTAL_SIZE, 0x20000000000000ULL);
	CHECK_EQ(UBD_MAX_NR_QUEUES, 4096);
	CHECK_EQ(UBD_MAX_QUEUE_DEPTH, 4096);
	CHECK_EQ(UBDSRV_IO_INTEGRITY_FLAG, 1ULL << 62);
	CHECK_EQ(UBD_IO_BUF_BITS, 25);
	CHECK_EQ(UBD_TAG_BITS, 16);
	CHECK_EQ(UBD_QID_BITS, 12);
	CHECK_EQ(ubdsrv_user_copy_pos(0, 0, 0), 0x80000000ULL);
	CHECK_EQ(ubdsrv_user_copy_pos(0, 1, 0), 0x80000000ULL + (1ULL << 25));
	CHECK_EQ(ubdsrv_user_copy_pos(1, 0, 0), 0x80000000ULL + (1ULL << 41));
	CHECK_EQ(ubdsrv_user_copy_pos(3, 5, 4096),
		 0x80000000ULL + (3ULL << 41) + (5ULL << 25) + 4096);
	/* the highest queue, tag and byte stay below the integrity flag */
	CHECK_EQ(ubdsrv_user_copy_pos(4095, 0xffff, (1U << 25) - 1),
		 0x80000000ULL + 0x20000000000000ULL - 1);

	{
		struct ubd_auto_buf_reg r = { .index = 0x1234, .flags = 1,
					      .reserved0 = 0, .reserved1 = 7 };

		CHECK_EQ(ubd_auto_buf_reg_to_sqe_addr(&r), 0x700011234ULL);
	}
	{
		struct ubd_io_desc iod = { .op_flags = UBD_IO_OP_WRITE |
						       UBD_IO_F_FUA };

		CHECK_EQ(ubdsrv_get_op(&iod), UBD_IO_OP_WRITE);
		CHECK_EQ(ubdsrv_get_flags(&iod), UBD_IO_F_FUA >> 8);
	}
	return t_done();
}
