/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NBD wire format (fixed newstyle handshake, requests, simple and
 * structured replies) and a blocking client handshake.  No io_uring here:
 * the handshake runs on a blocking socket before the data path starts, and
 * the reply parser works on bytes already received, so both can be tested
 * on a socketpair.
 */
#ifndef UBD_NBD_PROTO_H
#define UBD_NBD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NBD_DEFAULT_PORT		10809

#define NBD_INIT_MAGIC			0x4e42444d41474943ULL	/* NBDMAGIC */
#define NBD_OPTS_MAGIC			0x49484156454f5054ULL	/* IHAVEOPT */
#define NBD_OLDSTYLE_MAGIC		0x0000420281861253ULL
#define NBD_REP_MAGIC			0x0003e889045565a9ULL
#define NBD_REQUEST_MAGIC		0x25609513U
#define NBD_SIMPLE_REPLY_MAGIC		0x67446698U
#define NBD_STRUCTURED_REPLY_MAGIC	0x668e33efU

/* handshake flags (server) and client flags */
#define NBD_FLAG_FIXED_NEWSTYLE		(1U << 0)
#define NBD_FLAG_NO_ZEROES		(1U << 1)

/* options */
#define NBD_OPT_EXPORT_NAME		1
#define NBD_OPT_ABORT			2
#define NBD_OPT_GO			7
#define NBD_OPT_STRUCTURED_REPLY	8

/* option replies */
#define NBD_REP_ACK			1
#define NBD_REP_INFO			3
#define NBD_REP_FLAG_ERROR		(1U << 31)
#define NBD_REP_ERR_UNSUP		(NBD_REP_FLAG_ERROR | 1)
#define NBD_REP_ERR_POLICY		(NBD_REP_FLAG_ERROR | 2)
#define NBD_REP_ERR_INVALID		(NBD_REP_FLAG_ERROR | 3)
#define NBD_REP_ERR_PLATFORM		(NBD_REP_FLAG_ERROR | 4)
#define NBD_REP_ERR_TLS_REQD		(NBD_REP_FLAG_ERROR | 5)
#define NBD_REP_ERR_UNKNOWN		(NBD_REP_FLAG_ERROR | 6)
#define NBD_REP_ERR_SHUTDOWN		(NBD_REP_FLAG_ERROR | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD	(NBD_REP_FLAG_ERROR | 8)
#define NBD_REP_ERR_TOO_BIG		(NBD_REP_FLAG_ERROR | 9)

/* NBD_REP_INFO types */
#define NBD_INFO_EXPORT			0
#define NBD_INFO_BLOCK_SIZE		3

/* transmission flags */
#define NBD_FLAG_HAS_FLAGS		(1U << 0)
#define NBD_FLAG_READ_ONLY		(1U << 1)
#define NBD_FLAG_SEND_FLUSH		(1U << 2)
#define NBD_FLAG_SEND_FUA		(1U << 3)
#define NBD_FLAG_ROTATIONAL		(1U << 4)
#define NBD_FLAG_SEND_TRIM		(1U << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES	(1U << 6)
#define NBD_FLAG_CAN_MULTI_CONN		(1U << 8)

/* commands and their flags */
#define NBD_CMD_READ			0
#define NBD_CMD_WRITE			1
#define NBD_CMD_DISC			2
#define NBD_CMD_FLUSH			3
#define NBD_CMD_TRIM			4
#define NBD_CMD_WRITE_ZEROES		6
#define NBD_CMD_FLAG_FUA		(1U << 0)
#define NBD_CMD_FLAG_NO_HOLE		(1U << 1)

/* structured reply chunks */
#define NBD_REPLY_FLAG_DONE		(1U << 0)
#define NBD_REPLY_TYPE_NONE		0
#define NBD_REPLY_TYPE_OFFSET_DATA	1
#define NBD_REPLY_TYPE_OFFSET_HOLE	2
#define NBD_REPLY_TYPE_ERROR		32769
#define NBD_REPLY_TYPE_ERROR_OFFSET	32770

#define NBD_REQUEST_SIZE		28
#define NBD_SIMPLE_REPLY_SIZE		16
#define NBD_STRUCTURED_REPLY_SIZE	20

/* what the handshake learned about the export */
struct nbd_export {
	uint64_t size;			/* bytes */
	uint16_t tflags;		/* NBD_FLAG_* transmission flags */
	bool structured;		/* structured replies agreed */
	/* NBD_INFO_BLOCK_SIZE, 0 when the server sent none */
	uint32_t min_block, pref_block, max_block;
};

/*
 * Fixed newstyle handshake on blocking socket @fd for export @name:
 * STRUCTURED_REPLY (if @want_structured), then GO asking for the block
 * sizes, falling back to EXPORT_NAME on servers without GO.  0, or -errno
 * with a one-line reason (no program name) in @err.
 */
int nbd_handshake(int fd, const char *name, bool want_structured,
		  struct nbd_export *exp, char *err, size_t errlen);

/* a request header into @buf (NBD_REQUEST_SIZE bytes) */
void nbd_encode_request(void *buf, uint16_t flags, uint16_t type,
			uint64_t handle, uint64_t offset, uint32_t len);

/* what one parsed reply (or reply chunk) says */
struct nbd_reply {
	uint64_t handle;
	bool structured;
	bool done;		/* the last chunk (always, for simple) */
	uint16_t type;		/* structured chunk type */
	int error;		/* errno, 0 on success */
	/* OFFSET_DATA: payload at @data of @len bytes for @offset;
	 * OFFSET_HOLE: @len zero bytes at @offset */
	uint64_t offset;
	uint32_t len;
	const uint8_t *data;
};

/*
 * Parse one reply at the start of @buf (@avail bytes).  @read_len(handle,
 * opaque) must say how many payload bytes a simple reply to that handle
 * carries (the READ length, else 0), or return -1 for an unknown handle.
 * Returns the bytes the reply takes (all present), 0 when more bytes are
 * needed, -EPROTO on garbage (bad magic, unknown handle, a chunk larger
 * than @max_chunk plus 64 bytes of chunk fields).
 */
ssize_t nbd_parse_reply(const uint8_t *buf, size_t avail, size_t max_chunk,
			long (*read_len)(uint64_t handle, void *opaque),
			void *opaque, struct nbd_reply *r);

/*
 * The header of a reply that carries READ data (a simple reply to a READ,
 * or an OFFSET_DATA chunk) once the header is whole, the data maybe not:
 * returns the bytes of the header (16 or 28) with @r filled as by
 * nbd_parse_reply but for r->data; 0 for other replies or a header cut
 * short; -EPROTO as nbd_parse_reply.  The data can then be received
 * straight into its buffer.
 */
ssize_t nbd_parse_data_header(const uint8_t *buf, size_t avail,
			      size_t max_chunk,
			      long (*read_len)(uint64_t handle, void *opaque),
			      void *opaque, struct nbd_reply *r);

/* the errno of an NBD error value (the protocol's numbers are Linux's) */
int nbd_errno(uint32_t err);

#endif
