// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NBD wire format: the client side of the fixed newstyle handshake on a
 * blocking socket, request headers, and a parser for replies already in a
 * buffer.  Everything on the wire is big-endian.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nbd_proto.h"

/* the largest option reply we read: INFO replies are tiny */
#define NBD_MAX_OPT_REPLY	4096

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return be16toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

int nbd_errno(uint32_t err)
{
	/* the protocol's values are Linux's; anything odd is an I/O error */
	switch (err) {
	case EPERM: case EIO: case ENOMEM: case EINVAL: case ENOSPC:
	case EOVERFLOW: case ENOTSUP: case ESHUTDOWN:
		return err;
	default:
		return EIO;
	}
}

void nbd_encode_request(void *buf, uint16_t flags, uint16_t type,
			uint64_t handle, uint64_t offset, uint32_t len)
{
	uint8_t *p = buf;

	put32(p, NBD_REQUEST_MAGIC);
	put16(p + 4, flags);
	put16(p + 6, type);
	put64(p + 8, handle);
	put64(p + 16, offset);
	put32(p + 24, len);
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* all of @len bytes, or -errno (-ECONNRESET for an early close) */
static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		p += n;
		len -= n;
	}
	return 0;
}

static int send_option(int fd, uint32_t opt, const void *data, uint32_t len)
{
	uint8_t hdr[16];
	int ret;

	put64(hdr, NBD_OPTS_MAGIC);
	put32(hdr + 8, opt);
	put32(hdr + 12, len);
	ret = write_full(fd, hdr, sizeof(hdr));
	if (!ret && len)
		ret = write_full(fd, data, len);
	return ret;
}

struct opt_reply {
	uint32_t type;
	uint32_t len;
	uint8_t data[NBD_MAX_OPT_REPLY + 1];	/* NUL-ended for messages */
};

static int read_opt_reply(int fd, uint32_t opt, struct opt_reply *r,
			  char *err, size_t errlen)
{
	uint8_t hdr[20];
	int ret;

	ret = read_full(fd, hdr, sizeof(hdr));
	if (ret)
		return ret;
	if (get64(hdr) != NBD_REP_MAGIC || get32(hdr + 8) != opt) {
		seterr(err, errlen, "bad option reply from the server");
		return -EPROTO;
	}
	r->type = get32(hdr + 12);
	r->len = get32(hdr + 16);
	if (r->len > NBD_MAX_OPT_REPLY) {
		seterr(err, errlen, "option reply of %u bytes is too large",
		       r->len);
		return -EPROTO;
	}
	ret = read_full(fd, r->data, r->len);
	r->data[r->len] = '\0';
	return ret;
}

static const char *rep_err_name(uint32_t type)
{
	switch (type) {
	case NBD_REP_ERR_UNSUP:		return "option not supported";
	case NBD_REP_ERR_POLICY:	return "refused by the server's policy";
	case NBD_REP_ERR_INVALID:	return "invalid request";
	case NBD_REP_ERR_PLATFORM:	return "not supported on the server's platform";
	case NBD_REP_ERR_TLS_REQD:	return "the server requires TLS (not supported)";
	case NBD_REP_ERR_UNKNOWN:	return "no such export";
	case NBD_REP_ERR_SHUTDOWN:	return "the server is shutting down";
	case NBD_REP_ERR_BLOCK_SIZE_REQD: return "the server requires block size negotiation";
	case NBD_REP_ERR_TOO_BIG:	return "request too big";
	default:			return "refused";
	}
}

static int rep_err_errno(uint32_t type)
{
	switch (type) {
	case NBD_REP_ERR_UNKNOWN:	return -ENOENT;
	case NBD_REP_ERR_POLICY:
	case NBD_REP_ERR_TLS_REQD:	return -EACCES;
	case NBD_REP_ERR_SHUTDOWN:	return -ESHUTDOWN;
	default:			return -EPROTO;
	}
}

/* an error reply: say what it is, with the server's own words if any */
static int rep_error(const struct opt_reply *r, char *err, size_t errlen)
{
	const char *msg = (const char *)r->data;
	size_t i;

	for (i = 0; i < r->len; i++)
		if ((unsigned char)msg[i] < ' ')
			break;
	if (i == r->len && r->len)
		seterr(err, errlen, "%s (server says: %s)",
		       rep_err_name(r->type), msg);
	else
		seterr(err, errlen, "%s", rep_err_name(r->type));
	return rep_err_errno(r->type);
}

/* NBD_OPT_STRUCTURED_REPLY: true when the server agrees */
static int ask_structured(int fd, bool *agreed, char *err, size_t errlen)
{
	struct opt_reply r;
	int ret;

	ret = send_option(fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
	if (ret)
		return ret;
	ret = read_opt_reply(fd, NBD_OPT_STRUCTURED_REPLY, &r, err, errlen);
	if (ret)
		return ret;
	*agreed = r.type == NBD_REP_ACK;
	return 0;
}

static void parse_info(const struct opt_reply *r, struct nbd_export *exp)
{
	if (r->len < 2)
		return;
	switch (get16(r->data)) {
	case NBD_INFO_EXPORT:
		if (r->len < 12)
			return;
		exp->size = get64(r->data + 2);
		exp->tflags = get16(r->data + 10);
		break;
	case NBD_INFO_BLOCK_SIZE:
		if (r->len < 14)
			return;
		exp->min_block = get32(r->data + 2);
		exp->pref_block = get32(r->data + 6);
		exp->max_block = get32(r->data + 10);
		break;
	}
}

/* NBD_OPT_GO; -EOPNOTSUPP when the server has no GO */
static int opt_go(int fd, const char *name, struct nbd_export *exp,
		  char *err, size_t errlen)
{
	size_t nlen = strlen(name);
	uint8_t data[4 + 4096 + 4];
	struct opt_reply r;
	bool have_export = false;
	int ret;

	put32(data, nlen);
	memcpy(data + 4, name, nlen);
	put16(data + 4 + nlen, 1);
	put16(data + 6 + nlen, NBD_INFO_BLOCK_SIZE);
	ret = send_option(fd, NBD_OPT_GO, data, nlen + 8);
	if (ret)
		return ret;
	for (;;) {
		ret = read_opt_reply(fd, NBD_OPT_GO, &r, err, errlen);
		if (ret)
			return ret;
		if (r.type == NBD_REP_INFO) {
			parse_info(&r, exp);
			if (r.len >= 2 && get16(r.data) == NBD_INFO_EXPORT)
				have_export = true;
			continue;
		}
		if (r.type == NBD_REP_ACK)
			break;
		if (r.type == NBD_REP_ERR_UNSUP)
			return -EOPNOTSUPP;
		if (r.type & NBD_REP_FLAG_ERROR)
			return rep_error(&r, err, errlen);
		/* other replies (e.g. SERVER) do not concern GO: skip */
	}
	if (!have_export) {
		seterr(err, errlen, "the server did not describe the export");
		return -EPROTO;
	}
	return 0;
}

/* NBD_OPT_EXPORT_NAME, for servers without GO: the server closes on error */
static int opt_export_name(int fd, const char *name, bool no_zeroes,
			   struct nbd_export *exp, char *err, size_t errlen)
{
	uint8_t buf[10 + 124];
	int ret;

	ret = send_option(fd, NBD_OPT_EXPORT_NAME, name, strlen(name));
	if (ret)
		return ret;
	ret = read_full(fd, buf, no_zeroes ? 10 : sizeof(buf));
	if (ret == -ECONNRESET) {
		seterr(err, errlen, "no such export (the server closed the connection)");
		return -ENOENT;
	}
	if (ret)
		return ret;
	exp->size = get64(buf);
	exp->tflags = get16(buf + 8);
	/* structured replies were agreed for a GO that never happened */
	return 0;
}

int nbd_handshake(int fd, const char *name, bool want_structured,
		  struct nbd_export *exp, char *err, size_t errlen)
{
	uint8_t hello[18];
	uint16_t hflags;
	uint8_t cflags[4];
	int ret;

	memset(exp, 0, sizeof(*exp));
	err[0] = '\0';
	if (strlen(name) > 4096) {
		seterr(err, errlen, "export name longer than 4096 bytes");
		return -EINVAL;
	}
	ret = read_full(fd, hello, 16);
	if (ret)
		goto out_io;
	if (get64(hello) != NBD_INIT_MAGIC) {
		seterr(err, errlen, "not an NBD server (no NBDMAGIC greeting)");
		return -EPROTO;
	}
	if (get64(hello + 8) == NBD_OLDSTYLE_MAGIC) {
		seterr(err, errlen, "the server speaks only the oldstyle handshake; newstyle is needed");
		return -EPROTO;
	}
	if (get64(hello + 8) != NBD_OPTS_MAGIC) {
		seterr(err, errlen, "not an NBD server (bad handshake magic)");
		return -EPROTO;
	}
	ret = read_full(fd, hello + 16, 2);
	if (ret)
		goto out_io;
	hflags = get16(hello + 16);
	if (!(hflags & NBD_FLAG_FIXED_NEWSTYLE)) {
		seterr(err, errlen, "the server does not speak the fixed newstyle handshake");
		return -EPROTO;
	}
	put32(cflags, NBD_FLAG_FIXED_NEWSTYLE |
		      (hflags & NBD_FLAG_NO_ZEROES));
	ret = write_full(fd, cflags, sizeof(cflags));
	if (ret)
		goto out_io;

	if (want_structured) {
		ret = ask_structured(fd, &exp->structured, err, errlen);
		if (ret)
			goto out_io;
	}
	ret = opt_go(fd, name, exp, err, errlen);
	if (ret == -EOPNOTSUPP) {
		exp->structured = false;
		ret = opt_export_name(fd, name, hflags & NBD_FLAG_NO_ZEROES,
				      exp, err, errlen);
	}
	if (ret)
		goto out_io;
	if (!(exp->tflags & NBD_FLAG_HAS_FLAGS))
		exp->tflags = NBD_FLAG_HAS_FLAGS;
	return 0;

out_io:
	if (!err[0]) {
		if (ret == -ECONNRESET)
			seterr(err, errlen, "the server closed the connection during the handshake");
		else
			seterr(err, errlen, "handshake: %s", strerror(-ret));
	}
	return ret;
}

ssize_t nbd_parse_reply(const uint8_t *buf, size_t avail, size_t max_chunk,
			long (*read_len)(uint64_t handle, void *opaque),
			void *opaque, struct nbd_reply *r)
{
	uint32_t magic, clen;
	long plen;

	if (avail < 4)
		return 0;
	memset(r, 0, sizeof(*r));
	magic = get32(buf);
	if (magic == NBD_SIMPLE_REPLY_MAGIC) {
		if (avail < NBD_SIMPLE_REPLY_SIZE)
			return 0;
		r->handle = get64(buf + 8);
		r->done = true;
		plen = read_len(r->handle, opaque);
		if (plen < 0 || (size_t)plen > max_chunk)
			return -EPROTO;
		if (get32(buf + 4)) {
			r->error = nbd_errno(get32(buf + 4));
			return NBD_SIMPLE_REPLY_SIZE;
		}
		if (avail < NBD_SIMPLE_REPLY_SIZE + (size_t)plen)
			return 0;
		r->len = plen;
		r->data = buf + NBD_SIMPLE_REPLY_SIZE;
		return NBD_SIMPLE_REPLY_SIZE + plen;
	}
	if (magic != NBD_STRUCTURED_REPLY_MAGIC)
		return -EPROTO;
	if (avail < NBD_STRUCTURED_REPLY_SIZE)
		return 0;
	r->structured = true;
	r->done = get16(buf + 4) & NBD_REPLY_FLAG_DONE;
	r->type = get16(buf + 6);
	r->handle = get64(buf + 8);
	clen = get32(buf + 16);
	if (read_len(r->handle, opaque) < 0 || clen > max_chunk + 64)
		return -EPROTO;
	if (avail < NBD_STRUCTURED_REPLY_SIZE + (size_t)clen)
		return 0;
	buf += NBD_STRUCTURED_REPLY_SIZE;
	switch (r->type) {
	case NBD_REPLY_TYPE_NONE:
		if (clen || !r->done)
			return -EPROTO;
		break;
	case NBD_REPLY_TYPE_OFFSET_DATA:
		if (clen < 8)
			return -EPROTO;
		r->offset = get64(buf);
		r->len = clen - 8;
		r->data = buf + 8;
		break;
	case NBD_REPLY_TYPE_OFFSET_HOLE:
		if (clen != 12)
			return -EPROTO;
		r->offset = get64(buf);
		r->len = get32(buf + 8);
		break;
	default:
		/* error chunks: the error, a message, maybe an offset */
		if (!(r->type & (1U << 15)))
			break;		/* an informational chunk: ignored */
		if (clen < 6 || 6 + (size_t)get16(buf + 4) > clen)
			return -EPROTO;
		r->error = get32(buf) ? nbd_errno(get32(buf)) : EIO;
		break;
	}
	return NBD_STRUCTURED_REPLY_SIZE + clen;
}

ssize_t nbd_parse_data_header(const uint8_t *buf, size_t avail,
			      size_t max_chunk,
			      long (*read_len)(uint64_t handle, void *opaque),
			      void *opaque, struct nbd_reply *r)
{
	uint32_t magic, clen;
	long plen;

	if (avail < 4)
		return 0;
	memset(r, 0, sizeof(*r));
	magic = get32(buf);
	if (magic == NBD_SIMPLE_REPLY_MAGIC) {
		if (avail < NBD_SIMPLE_REPLY_SIZE || get32(buf + 4))
			return 0;
		r->handle = get64(buf + 8);
		r->done = true;
		plen = read_len(r->handle, opaque);
		if (plen < 0 || (size_t)plen > max_chunk)
			return -EPROTO;
		r->len = plen;
		return plen ? NBD_SIMPLE_REPLY_SIZE : 0;
	}
	if (magic != NBD_STRUCTURED_REPLY_MAGIC ||
	    avail < NBD_STRUCTURED_REPLY_SIZE + 8 ||
	    get16(buf + 6) != NBD_REPLY_TYPE_OFFSET_DATA)
		return 0;
	r->structured = true;
	r->done = get16(buf + 4) & NBD_REPLY_FLAG_DONE;
	r->type = NBD_REPLY_TYPE_OFFSET_DATA;
	r->handle = get64(buf + 8);
	clen = get32(buf + 16);
	if (read_len(r->handle, opaque) < 0 || clen < 8 ||
	    clen > max_chunk + 64)
		return -EPROTO;
	r->offset = get64(buf + 20);
	r->len = clen - 8;
	return NBD_STRUCTURED_REPLY_SIZE + 8;
}
