// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The NBD wire format of ubd-nbd: the client handshake against scripted
 * servers on a socketpair (the server's bytes are written up front, the
 * client's read back and checked afterwards), request encoding, and the
 * reply parser on simple and structured replies, whole and cut short;
 * and the NBD_CMD_DISC a connection is closed with.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbd_conn.h"
#include "nbd_proto.h"
#include "tap.h"

struct buf {
	uint8_t b[8192];
	size_t len;
};

static void b16(struct buf *b, uint16_t v)
{
	v = htobe16(v);
	memcpy(b->b + b->len, &v, 2);
	b->len += 2;
}

static void b32(struct buf *b, uint32_t v)
{
	v = htobe32(v);
	memcpy(b->b + b->len, &v, 4);
	b->len += 4;
}

static void b64(struct buf *b, uint64_t v)
{
	v = htobe64(v);
	memcpy(b->b + b->len, &v, 8);
	b->len += 8;
}

static void bmem(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->len, p, n);
	b->len += n;
}

static void greeting(struct buf *b, uint16_t hflags)
{
	b64(b, NBD_INIT_MAGIC);
	b64(b, NBD_OPTS_MAGIC);
	b16(b, hflags);
}

static void opt_reply(struct buf *b, uint32_t opt, uint32_t type,
		      const void *data, uint32_t len)
{
	b64(b, NBD_REP_MAGIC);
	b32(b, opt);
	b32(b, type);
	b32(b, len);
	bmem(b, data, len);
}

static void info_export(struct buf *b, uint64_t size, uint16_t tflags)
{
	struct buf d = { .len = 0 };

	b16(&d, NBD_INFO_EXPORT);
	b64(&d, size);
	b16(&d, tflags);
	opt_reply(b, NBD_OPT_GO, NBD_REP_INFO, d.b, d.len);
}

static void info_block(struct buf *b, uint32_t min, uint32_t pref,
		       uint32_t max)
{
	struct buf d = { .len = 0 };

	b16(&d, NBD_INFO_BLOCK_SIZE);
	b32(&d, min);
	b32(&d, pref);
	b32(&d, max);
	opt_reply(b, NBD_OPT_GO, NBD_REP_INFO, d.b, d.len);
}

/*
 * Run the handshake against @srv; what the client sent lands in @sent.
 * @close_after: shut the server side's writing down after the script.
 */
static int run(const struct buf *srv, const char *name, bool structured,
	       struct nbd_export *exp, char *err, size_t errlen,
	       struct buf *sent)
{
	struct timeval tv = { .tv_sec = 2 };
	int sv[2], ret;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -errno;
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(sv[1], srv->b, srv->len) != (ssize_t)srv->len)
		return -EIO;
	/* the server hangs up after its script */
	shutdown(sv[1], SHUT_WR);
	ret = nbd_handshake(sv[0], name, structured, exp, err, errlen);
	close(sv[0]);
	sent->len = 0;
	while ((n = read(sv[1], sent->b + sent->len,
			 sizeof(sent->b) - sent->len)) > 0)
		sent->len += n;
	close(sv[1]);
	return ret;
}

static uint32_t at32(const struct buf *b, size_t off)
{
	uint32_t v;

	memcpy(&v, b->b + off, 4);
	return be32toh(v);
}

static uint64_t at64(const struct buf *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b->b + off, 8);
	return be64toh(v);
}

static void test_go(void)
{
	struct buf srv = { .len = 0 }, sent;
	struct nbd_export exp;
	char err[256];
	int ret;

	greeting(&srv, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	opt_reply(&srv, NBD_OPT_STRUCTURED_REPLY, NBD_REP_ACK, NULL, 0);
	info_export(&srv, 1 << 20, NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
		    NBD_FLAG_SEND_TRIM);
	info_block(&srv, 512, 4096, 32 << 20);
	opt_reply(&srv, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);

	ret = run(&srv, "disk", true, &exp, err, sizeof(err), &sent);
	t_ok(ret == 0, "GO handshake succeeds (%d: %s)", ret, err);
	t_ok(exp.size == 1 << 20, "size from INFO_EXPORT: %llu",
	     (unsigned long long)exp.size);
	t_ok(exp.tflags == (NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
			    NBD_FLAG_SEND_TRIM), "transmission flags 0x%x",
	     exp.tflags);
	t_ok(exp.structured, "structured replies agreed");
	t_ok(exp.min_block == 512 && exp.pref_block == 4096 &&
	     exp.max_block == 32 << 20, "block sizes %u/%u/%u",
	     exp.min_block, exp.pref_block, exp.max_block);
	/* client flags, STRUCTURED_REPLY, GO "disk" asking BLOCK_SIZE */
	t_ok(sent.len == 4 + 16 + 16 + 4 + 4 + 4,
	     "client sent %zu bytes", sent.len);
	t_ok(at32(&sent, 0) == (NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES),
	     "client flags echo FIXED_NEWSTYLE|NO_ZEROES");
	t_ok(at64(&sent, 4) == NBD_OPTS_MAGIC &&
	     at32(&sent, 12) == NBD_OPT_STRUCTURED_REPLY &&
	     at32(&sent, 16) == 0, "STRUCTURED_REPLY option first");
	t_ok(at64(&sent, 20) == NBD_OPTS_MAGIC && at32(&sent, 28) == NBD_OPT_GO
	     && at32(&sent, 32) == 12 && at32(&sent, 36) == 4 &&
	     !memcmp(sent.b + 40, "disk", 4) &&
	     at32(&sent, 44) == (1U << 16 | NBD_INFO_BLOCK_SIZE),
	     "GO names the export and asks for BLOCK_SIZE");
}

static void test_errors(void)
{
	struct buf srv = { .len = 0 }, sent;
	struct nbd_export exp;
	char err[256];
	int ret;

	greeting(&srv, NBD_FLAG_FIXED_NEWSTYLE);
	opt_reply(&srv, NBD_OPT_STRUCTURED_REPLY, NBD_REP_ERR_UNSUP, NULL, 0);
	opt_reply(&srv, NBD_OPT_GO, NBD_REP_ERR_UNKNOWN, "no such thing", 13);
	ret = run(&srv, "nope", true, &exp, err, sizeof(err), &sent);
	t_ok(ret == -ENOENT, "unknown export: -ENOENT (%d)", ret);
	t_ok(strstr(err, "no such export") && strstr(err, "no such thing"),
	     "unknown export says so, with the server's words: '%s'", err);

	srv.len = 0;
	greeting(&srv, NBD_FLAG_FIXED_NEWSTYLE);
	opt_reply(&srv, NBD_OPT_GO, NBD_REP_ERR_POLICY, NULL, 0);
	ret = run(&srv, "", false, &exp, err, sizeof(err), &sent);
	t_ok(ret == -EACCES && strstr(err, "policy"),
	     "refused by policy: %d '%s'", ret, err);
	t_ok(sent.len == 4 + 16 + 4 + 4, "no STRUCTURED_REPLY when not wanted (%zu bytes)",
	     sent.len);

	srv.len = 0;
	b64(&srv, NBD_INIT_MAGIC);
	b64(&srv, NBD_OLDSTYLE_MAGIC);
	ret = run(&srv, "", true, &exp, err, sizeof(err), &sent);
	t_ok(ret == -EPROTO && strstr(err, "oldstyle"),
	     "oldstyle server refused: '%s'", err);

	srv.len = 0;
	bmem(&srv, "HTTP/1.1 400 Bad Request\r\n", 26);
	ret = run(&srv, "", true, &exp, err, sizeof(err), &sent);
	t_ok(ret == -EPROTO && strstr(err, "not an NBD server"),
	     "not NBD: '%s'", err);

	srv.len = 0;
	greeting(&srv, 0);
	ret = run(&srv, "", true, &exp, err, sizeof(err), &sent);
	t_ok(ret == -EPROTO && strstr(err, "fixed newstyle"),
	     "plain newstyle refused: '%s'", err);

	srv.len = 0;
	greeting(&srv, NBD_FLAG_FIXED_NEWSTYLE);
	ret = run(&srv, "", true, &exp, err, sizeof(err), &sent);
	t_ok(ret == -ECONNRESET && strstr(err, "closed"),
	     "server hangs up mid-handshake: %d '%s'", ret, err);

	srv.len = 0;
	greeting(&srv, NBD_FLAG_FIXED_NEWSTYLE);
	opt_reply(&srv, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
	ret = run(&srv, "", false, &exp, err, sizeof(err), &sent);
	t_ok(ret == -EPROTO && strstr(err, "did not describe"),
	     "GO without INFO_EXPORT: '%s'", err);
}

static void test_export_name(void)
{
	struct buf srv = { .len = 0 }, sent;
	struct nbd_export exp;
	char err[256];
	int ret;

	/* a server without GO: the old EXPORT_NAME, with the zero pad */
	greeting(&srv, NBD_FLAG_FIXED_NEWSTYLE);
	opt_reply(&srv, NBD_OPT_GO, NBD_REP_ERR_UNSUP, NULL, 0);
	b64(&srv, 4096);
	b16(&srv, NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY);
	srv.len += 124;
	ret = run(&srv, "x", false, &exp, err, sizeof(err), &sent);
	t_ok(ret == 0 && exp.size == 4096 &&
	     (exp.tflags & NBD_FLAG_READ_ONLY) && !exp.structured,
	     "EXPORT_NAME fallback: %d size %llu flags 0x%x", ret,
	     (unsigned long long)exp.size, exp.tflags);

	srv.len = 0;
	greeting(&srv, NBD_FLAG_FIXED_NEWSTYLE);
	opt_reply(&srv, NBD_OPT_GO, NBD_REP_ERR_UNSUP, NULL, 0);
	ret = run(&srv, "x", false, &exp, err, sizeof(err), &sent);
	t_ok(ret == -ENOENT && strstr(err, "no such export"),
	     "EXPORT_NAME refused by a hang-up: '%s'", err);
}

/* the test's own requests: handle 7 is a 4 KiB READ, handle 9 a WRITE */
static long lens(uint64_t handle, void *opaque)
{
	(void)opaque;
	if (handle == 7)
		return 4096;
	if (handle == 9)
		return 0;
	return -1;
}

static void test_replies(void)
{
	struct buf b = { .len = 0 };
	struct nbd_reply r;
	uint8_t req[NBD_REQUEST_SIZE];
	ssize_t n;
	size_t i;

	nbd_encode_request(req, NBD_CMD_FLAG_FUA, NBD_CMD_WRITE, 0x1122334455667788ULL,
			   1 << 20, 4096);
	b.len = 0;
	bmem(&b, req, sizeof(req));
	t_ok(at32(&b, 0) == NBD_REQUEST_MAGIC &&
	     at32(&b, 4) == (NBD_CMD_FLAG_FUA << 16 | NBD_CMD_WRITE) &&
	     at64(&b, 8) == 0x1122334455667788ULL && at64(&b, 16) == 1 << 20 &&
	     at32(&b, 24) == 4096, "request header encoding");

	/* simple READ reply with its data, fed a byte at a time */
	b.len = 0;
	b32(&b, NBD_SIMPLE_REPLY_MAGIC);
	b32(&b, 0);
	b64(&b, 7);
	for (i = 0; i < 4096; i++)
		b.b[b.len++] = i & 0xff;
	for (i = 0; i < b.len; i++)
		if (nbd_parse_reply(b.b, i, 1 << 20, lens, NULL, &r) != 0)
			break;
	t_ok(i == b.len, "simple reply: more bytes needed until whole (%zu/%zu)",
	     i, b.len);
	n = nbd_parse_reply(b.b, b.len, 1 << 20, lens, NULL, &r);
	t_ok(n == 16 + 4096 && r.done && !r.error && r.len == 4096 &&
	     r.data == b.b + 16 && r.handle == 7, "simple READ reply whole");

	/* a simple error reply to a READ has no data */
	b.len = 0;
	b32(&b, NBD_SIMPLE_REPLY_MAGIC);
	b32(&b, ENOSPC);
	b64(&b, 7);
	n = nbd_parse_reply(b.b, b.len, 1 << 20, lens, NULL, &r);
	t_ok(n == 16 && r.error == ENOSPC && r.done, "simple error reply");
	b.len = 0;
	b32(&b, NBD_SIMPLE_REPLY_MAGIC);
	b32(&b, 12345);
	b64(&b, 9);
	n = nbd_parse_reply(b.b, b.len, 1 << 20, lens, NULL, &r);
	t_ok(n == 16 && r.error == EIO, "odd error values become EIO");

	b.len = 0;
	b32(&b, NBD_SIMPLE_REPLY_MAGIC);
	b32(&b, 0);
	b64(&b, 8);
	t_ok(nbd_parse_reply(b.b, b.len, 1 << 20, lens, NULL, &r) == -EPROTO,
	     "unknown handle is a protocol error");
	b.b[0] ^= 1;
	t_ok(nbd_parse_reply(b.b, b.len, 1 << 20, lens, NULL, &r) == -EPROTO,
	     "bad magic is a protocol error");

	/* structured: data chunk, hole chunk, then NONE with DONE */
	b.len = 0;
	b32(&b, NBD_STRUCTURED_REPLY_MAGIC);
	b16(&b, 0);
	b16(&b, NBD_REPLY_TYPE_OFFSET_DATA);
	b64(&b, 7);
	b32(&b, 8 + 512);
	b64(&b, 1 << 20);
	b.len += 512;
	n = nbd_parse_reply(b.b, b.len - 1, 1 << 20, lens, NULL, &r);
	t_ok(n == 0, "structured chunk cut short: wait");
	n = nbd_parse_reply(b.b, b.len, 1 << 20, lens, NULL, &r);
	t_ok(n == 20 + 8 + 512 && r.structured && !r.done &&
	     r.type == NBD_REPLY_TYPE_OFFSET_DATA && r.offset == 1 << 20 &&
	     r.len == 512 && r.data == b.b + 28, "OFFSET_DATA chunk");

	b.len = 0;
	b32(&b, NBD_STRUCTURED_REPLY_MAGIC);
	b16(&b, 0);
	b16(&b, NBD_REPLY_TYPE_OFFSET_HOLE);
	b64(&b, 7);
	b32(&b, 12);
	b64(&b, (1 << 20) + 512);
	b32(&b, 3584);
	n = nbd_parse_reply(b.b, b.len, 1 << 20, lens, NULL, &r);
	t_ok(n == 32 && r.type == NBD_REPLY_TYPE_OFFSET_HOLE &&
	     r.offset == (1 << 20) + 512 && r.len == 3584, "OFFSET_HOLE chunk");

	b.len = 0;
	b32(&b, NBD_STRUCTURED_REPLY_MAGIC);
	b16(&b, NBD_REPLY_FLAG_DONE);
	b16(&b, NBD_REPLY_TYPE_NONE);
	b64(&b, 7);
	b32(&b, 0);
	n = nbd_parse_reply(b.b, b.len, 1 << 20, lens, NULL, &r);
	t_ok(n == 20 && r.done && !r.error, "NONE chunk with DONE");
	b.b[5] = 0;
	t_ok(nbd_parse_reply(b.b, b.len, 1 << 20, lens, NULL, &r) == -EPROTO,
	     "NONE without DONE is a protocol error");

	b.len = 0;
	b32(&b, NBD_STRUCTURED_REPLY_MAGIC);
	b16(&b, NBD_REPLY_FLAG_DONE);
	b16(&b, NBD_REPLY_TYPE_ERROR);
	b64(&b, 9);
	b32(&b, 4 + 2 + 4);
	b32(&b, EPERM);
	b16(&b, 4);
	bmem(&b, "nope", 4);
	n = nbd_parse_reply(b.b, b.len, 1 << 20, lens, NULL, &r);
	t_ok(n == 30 && r.done && r.error == EPERM, "ERROR chunk with message");

	b.len = 0;
	b32(&b, NBD_STRUCTURED_REPLY_MAGIC);
	b16(&b, 0);
	b16(&b, NBD_REPLY_TYPE_OFFSET_DATA);
	b64(&b, 7);
	b32(&b, (2 << 20) + 8);
	t_ok(nbd_parse_reply(b.b, b.len, 1 << 20, lens, NULL, &r) == -EPROTO,
	     "a chunk larger than the largest io is a protocol error");
}

/* headers of data replies, for receiving the data in place */
static void test_data_header(void)
{
	struct buf b = { .len = 0 };
	struct nbd_reply r;
	ssize_t n;

	b32(&b, NBD_SIMPLE_REPLY_MAGIC);
	b32(&b, 0);
	b64(&b, 7);
	b.len += 100;		/* of 4096 data bytes */
	n = nbd_parse_data_header(b.b, b.len, 1 << 20, lens, NULL, &r);
	t_ok(n == 16 && r.len == 4096 && r.done && r.handle == 7,
	     "data header of a simple READ reply cut short: %zd", n);
	t_ok(nbd_parse_data_header(b.b, 15, 1 << 20, lens, NULL, &r) == 0,
	     "a simple header cut short: wait");

	b.len = 0;
	b32(&b, NBD_SIMPLE_REPLY_MAGIC);
	b32(&b, 0);
	b64(&b, 9);
	t_ok(nbd_parse_data_header(b.b, b.len, 1 << 20, lens, NULL, &r) == 0,
	     "a reply to a WRITE carries no data");

	b.len = 0;
	b32(&b, NBD_STRUCTURED_REPLY_MAGIC);
	b16(&b, NBD_REPLY_FLAG_DONE);
	b16(&b, NBD_REPLY_TYPE_OFFSET_DATA);
	b64(&b, 7);
	b32(&b, 8 + 4096);
	b64(&b, 12345);
	n = nbd_parse_data_header(b.b, b.len, 1 << 20, lens, NULL, &r);
	t_ok(n == 28 && r.structured && r.done && r.offset == 12345 &&
	     r.len == 4096, "data header of an OFFSET_DATA chunk: %zd", n);
	t_ok(nbd_parse_data_header(b.b, 27, 1 << 20, lens, NULL, &r) == 0,
	     "an OFFSET_DATA header cut short: wait");
	b.b[7] = NBD_REPLY_TYPE_OFFSET_HOLE;
	t_ok(nbd_parse_data_header(b.b, b.len, 1 << 20, lens, NULL, &r) == 0,
	     "a hole chunk carries no data");
}

static void test_disconnect(void)
{
	struct buf b = { .len = 0 };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		t_ok(0, "socketpair: %s", strerror(errno));
		return;
	}
	nbd_disconnect(sv[0]);
	b.len = read(sv[1], b.b, sizeof(b.b));
	t_ok(b.len == NBD_REQUEST_SIZE && at32(&b, 0) == NBD_REQUEST_MAGIC &&
	     at32(&b, 4) == NBD_CMD_DISC && at64(&b, 8) == 0 &&
	     at64(&b, 16) == 0 && at32(&b, 24) == 0,
	     "nbd_disconnect sends NBD_CMD_DISC (%zd bytes)", (ssize_t)b.len);
	t_ok(read(sv[1], b.b, sizeof(b.b)) == 0, "... and closes the socket");
	close(sv[1]);
}

int main(void)
{
	test_go();
	test_errors();
	test_export_name();
	test_replies();
	test_data_header();
	test_disconnect();
	return t_done();
}
