// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ubd-nbd: serve an NBD export as a ubd block device.
 *
 * Each queue owns one or more NBD connections and drives them on its own
 * io_uring: a request is a header (and the WRITE data) sent with SENDMSG,
 * pipelined with the others of its connection and matched to its reply by
 * the handle, which carries the tag.  Per connection:
 *
 *  - one SENDMSG at a time (two on one stream could interleave); requests
 *    that come meanwhile wait in a FIFO and go out together in the next one;
 *  - one RECV always armed, into a buffer the size of the largest reply;
 *    replies are parsed out of it (a short recv just waits for more) and
 *    the data copied to the io buffers.  While the connection has nothing
 *    in flight, the RECV carries a 1 s link timeout so that a stopping
 *    queue sees it end.
 *
 * When a connection breaks: without --persist, its ios fail with EIO and
 * the server stops the device (SIGTERM to itself) and exits 1; with
 * --persist, its ios are held, a timer retries the connection with
 * exponential backoff (NBD_BACKOFF_MIN_MS .. NBD_BACKOFF_MAX_MS), and the
 * held ios are sent again on the new one.  A stop request fails the held
 * ios at the next tick.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "nbd_conn.h"
#include "nbd_proto.h"
#include "tgt_common.h"

enum {
	OPT_HOST = OPT_TGT_FIRST,
	OPT_PORT,
	OPT_UNIX,
	OPT_EXPORT,
	OPT_CONNECTIONS,
	OPT_PERSIST,
	OPT_NO_STRUCTURED,
};

#define NBD_MAX_CONNS		16
#define NBD_BACKOFF_MIN_MS	100
#define NBD_BACKOFF_MAX_MS	5000
/*
 * Each step of connecting and handshaking: generous, as servers may be
 * slow to greet (nbd-server forks a child per connection, which takes
 * seconds in an emulated guest).
 */
#define NBD_CONNECT_TIMEOUT_S	30
/* requests in one SENDMSG: two iovecs each, under IOV_MAX */
#define NBD_BATCH_MAX		256
#define NBD_MAX_ZERO_SECTORS	(UINT32_MAX >> 9)
/* READ data from this size on is received straight into the io buffer */
#define NBD_DIRECT_MIN		16384

/* our target ops in the user_data of SQEs */
enum {
	NBD_OP_RECV = 1,
	NBD_OP_SEND,
	NBD_OP_LTIMEOUT,
	NBD_OP_TIMER,
	NBD_OP_RECV_DIRECT,
};

enum {
	REQ_FREE,
	REQ_ACTIVE,		/* queued or sent on its connection */
	REQ_HELD,		/* its connection is down: sent again later */
};

struct nbd_req {
	uint8_t state;
	uint8_t conn;
	uint16_t type;
	uint32_t len;
	uint64_t offset;
	int error;			/* from an error chunk, positive */
	uint8_t hdr[NBD_REQUEST_SIZE];
};

struct nbd_conn {
	int fd;
	unsigned int idx;
	bool broken;			/* shut down, SQEs still ending */
	bool down;			/* closed; waiting to reconnect */
	unsigned int nr_sqes;		/* ours in the ring for this fd */
	bool recv_armed;
	bool send_busy;
	unsigned int inflight;		/* requests active on it */

	/* the FIFO of tags waiting to be sent */
	int *fifo;
	unsigned int fifo_head, fifo_len;

	/* the SENDMSG in flight */
	struct iovec iov[2 * NBD_BATCH_MAX];
	struct msghdr msg;

	uint8_t *rbuf;
	size_t rlen, rsize;

	/* the rest of a READ's data, being received into its io buffer */
	uint8_t *dst;
	size_t dleft;
	int dtag;
	bool ddone;		/* the last chunk of that READ */

	unsigned int backoff_ms;
	unsigned int tries;
	struct __kernel_timespec timer_ts;
	struct __kernel_timespec idle_ts;
};

struct nbd_queue {
	struct ubd_queue *q;
	struct nbd_tgt *t;
	unsigned int nr_conns;
	struct nbd_req *reqs;		/* [depth] */
	struct nbd_conn conns[NBD_MAX_CONNS];
};

struct nbd_tgt {
	struct nbd_addr addr;
	char where[300];		/* "host:port export 'name'" */
	unsigned int nr_conns;		/* per queue */
	bool persist;
	bool structured;		/* ask for structured replies */
	struct nbd_export exp;
	int first_fd;			/* from main(), for queue 0 */
	unsigned int depth;
	unsigned int max_io;
	bool daemon;
	int failed;			/* a connection broke, no --persist */
	struct nbd_queue **queues;
	unsigned int nr_queues;
};

/* from a queue thread: stderr in the foreground, syslog as a daemon */
static void nbd_log(const struct nbd_tgt *t, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void nbd_log(const struct nbd_tgt *t, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (t->daemon) {
		vsyslog(prio, fmt, ap);
	} else {
		fprintf(stderr, "%s: ", program_invocation_short_name);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

static uint64_t req_handle(const struct nbd_queue *nq, int tag)
{
	/* a recognisable cookie, the queue and the tag */
	return 0x75626400ULL << 32 | (uint64_t)ubd_queue_id(nq->q) << 16 |
	       (unsigned int)tag;
}

static int handle_tag(const struct nbd_queue *nq, uint64_t handle)
{
	if (handle >> 32 != 0x75626400ULL ||
	    ((handle >> 16) & 0xffff) != (uint64_t)ubd_queue_id(nq->q) ||
	    (handle & 0xffff) >= nq->t->depth)
		return -1;
	return handle & 0xffff;
}

/* ---------------------------------------------------------------------- */

static void conn_arm_recv(struct nbd_queue *nq, struct nbd_conn *c);
static void conn_kick_send(struct nbd_queue *nq, struct nbd_conn *c);

static void req_finish(struct nbd_queue *nq, struct nbd_conn *c, int tag,
		       int res)
{
	struct nbd_req *r = &nq->reqs[tag];

	r->state = REQ_FREE;
	c->inflight--;
	ubd_complete_io(nq->q, tag, res);
}

/* fail (or with --persist, hold) every request of a broken connection */
static void conn_drop_reqs(struct nbd_queue *nq, struct nbd_conn *c,
			   bool hold)
{
	unsigned int tag;

	c->fifo_head = 0;
	c->fifo_len = 0;
	for (tag = 0; tag < nq->t->depth; tag++) {
		struct nbd_req *r = &nq->reqs[tag];

		if (r->conn != c->idx)
			continue;
		if (r->state == REQ_ACTIVE && hold)
			r->state = REQ_HELD;
		else if (r->state == REQ_ACTIVE || r->state == REQ_HELD)
			req_finish(nq, c, tag, -EIO);
	}
}

static void arm_timer(struct nbd_queue *nq, struct nbd_conn *c)
{
	struct io_uring_sqe *sqe = ubd_queue_get_sqe(nq->q);

	if (!sqe)
		return;
	c->timer_ts.tv_sec = c->backoff_ms / 1000;
	c->timer_ts.tv_nsec = (c->backoff_ms % 1000) * 1000000L;
	io_uring_prep_timeout(sqe, &c->timer_ts, 0, 0);
	sqe->user_data = ubd_tgt_user_data(0, NBD_OP_TIMER, c->idx);
	c->nr_sqes++;
}

/* the last SQE on a broken connection ended: close, then retry or stop */
static void conn_closed(struct nbd_queue *nq, struct nbd_conn *c)
{
	close(c->fd);
	c->fd = -1;
	c->broken = false;
	c->down = true;
	c->rlen = 0;
	c->dleft = 0;
	c->send_busy = false;
	c->recv_armed = false;
	if (nq->t->persist && !ubd_queue_stopping(nq->q)) {
		c->backoff_ms = NBD_BACKOFF_MIN_MS;
		c->tries = 0;
		arm_timer(nq, c);
	} else {
		conn_drop_reqs(nq, c, false);
	}
}

static void conn_fail(struct nbd_queue *nq, struct nbd_conn *c,
		      const char *why)
{
	struct nbd_tgt *t = nq->t;

	if (c->broken || c->down)
		return;
	c->broken = true;
	/* ends the RECV and SENDMSG in flight */
	shutdown(c->fd, SHUT_RDWR);
	if (t->persist) {
		nbd_log(t, LOG_WARNING,
			"queue %d: connection to %s lost (%s); reconnecting (--persist)",
			ubd_queue_id(nq->q), t->where, why);
		conn_drop_reqs(nq, c, true);
	} else {
		conn_drop_reqs(nq, c, false);
		if (!__atomic_exchange_n(&t->failed, 1, __ATOMIC_RELAXED)) {
			nbd_log(t, LOG_ERR,
				"connection to %s lost (%s); failing I/O and stopping the device (see --persist)",
				t->where, why);
			/* the main thread stops the device and we exit */
			kill(getpid(), SIGTERM);
		}
	}
	if (!c->nr_sqes)
		conn_closed(nq, c);
}

/* ------------------------------- sending ------------------------------- */

static void conn_push(struct nbd_conn *c, unsigned int depth, int tag)
{
	c->fifo[(c->fifo_head + c->fifo_len) % depth] = tag;
	c->fifo_len++;
}

static void conn_submit_send(struct nbd_queue *nq, struct nbd_conn *c)
{
	struct io_uring_sqe *sqe = ubd_queue_get_sqe(nq->q);

	if (!sqe) {
		conn_fail(nq, c, "no SQE");
		return;
	}
	io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
	sqe->user_data = ubd_tgt_user_data(0, NBD_OP_SEND, c->idx);
	c->nr_sqes++;
	c->send_busy = true;
}

/* gather the waiting requests into one SENDMSG */
static void conn_kick_send(struct nbd_queue *nq, struct nbd_conn *c)
{
	unsigned int depth = nq->t->depth, n = 0, niov = 0;

	if (c->send_busy || c->broken || c->down || !c->fifo_len)
		return;
	while (c->fifo_len && n < NBD_BATCH_MAX) {
		int tag = c->fifo[c->fifo_head];
		struct nbd_req *r = &nq->reqs[tag];

		c->fifo_head = (c->fifo_head + 1) % depth;
		c->fifo_len--;
		n++;
		c->iov[niov].iov_base = r->hdr;
		c->iov[niov++].iov_len = NBD_REQUEST_SIZE;
		if (r->type == NBD_CMD_WRITE) {
			c->iov[niov].iov_base = ubd_queue_io_buf(nq->q, tag);
			c->iov[niov++].iov_len = r->len;
		}
	}
	memset(&c->msg, 0, sizeof(c->msg));
	c->msg.msg_iov = c->iov;
	c->msg.msg_iovlen = niov;
	conn_submit_send(nq, c);
}

static void conn_send_done(struct nbd_queue *nq, struct nbd_conn *c, int res)
{
	size_t n;

	c->send_busy = false;
	if (c->broken)
		return;
	if (res < 0) {
		conn_fail(nq, c, strerror(-res));
		return;
	}
	/* a short send: go on from where it stopped */
	n = res;
	while (n && c->msg.msg_iovlen) {
		struct iovec *v = c->msg.msg_iov;

		if (n >= v->iov_len) {
			n -= v->iov_len;
			c->msg.msg_iov++;
			c->msg.msg_iovlen--;
		} else {
			v->iov_base = (uint8_t *)v->iov_base + n;
			v->iov_len -= n;
			n = 0;
		}
	}
	if (c->msg.msg_iovlen) {
		conn_submit_send(nq, c);
		return;
	}
	conn_kick_send(nq, c);
}

/* ------------------------------ receiving ------------------------------ */

static void conn_arm_recv(struct nbd_queue *nq, struct nbd_conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->recv_armed || c->broken || c->down)
		return;
	/* idle and stopping: let the connection rest */
	if (!c->inflight && ubd_queue_stopping(nq->q))
		return;
	sqe = ubd_queue_get_sqe(nq->q);
	if (!sqe) {
		conn_fail(nq, c, "no SQE");
		return;
	}
	io_uring_prep_recv(sqe, c->fd, c->rbuf + c->rlen, c->rsize - c->rlen,
			   0);
	sqe->user_data = ubd_tgt_user_data(0, NBD_OP_RECV, c->idx);
	c->nr_sqes++;
	c->recv_armed = true;
	if (c->inflight)
		return;
	/* nothing expected: wake up now and then to see if we stop */
	sqe->flags |= IOSQE_IO_LINK;
	sqe = ubd_queue_get_sqe(nq->q);
	if (!sqe)
		return;		/* the recv just has no timeout */
	c->idle_ts.tv_sec = 1;
	c->idle_ts.tv_nsec = 0;
	io_uring_prep_link_timeout(sqe, &c->idle_ts, 0);
	sqe->user_data = ubd_tgt_user_data(0, NBD_OP_LTIMEOUT, c->idx);
	c->nr_sqes++;
}

struct reply_ctx {
	struct nbd_queue *nq;
	struct nbd_conn *c;
};

static long reply_read_len(uint64_t handle, void *opaque)
{
	struct reply_ctx *x = opaque;
	int tag = handle_tag(x->nq, handle);
	struct nbd_req *r;

	if (tag < 0)
		return -1;
	r = &x->nq->reqs[tag];
	if (r->state != REQ_ACTIVE || r->conn != x->c->idx)
		return -1;
	return r->type == NBD_CMD_READ ? (long)r->len : 0;
}

/* the last reply (or chunk) of a request came */
static void req_done(struct nbd_queue *nq, struct nbd_conn *c, int tag)
{
	struct nbd_req *r = &nq->reqs[tag];
	int res;

	if (r->error)
		res = -r->error;
	else
		res = r->type == NBD_CMD_FLUSH ? 0 : (int)r->len;
	req_finish(nq, c, tag, res);
}

/* one reply or chunk: copy its data, finish the request when done */
static int handle_reply(struct nbd_queue *nq, struct nbd_conn *c,
			const struct nbd_reply *rep)
{
	int tag = handle_tag(nq, rep->handle);
	struct nbd_req *r = &nq->reqs[tag];
	uint8_t *buf = ubd_queue_io_buf(nq->q, tag);

	if (rep->error) {
		r->error = rep->error;
	} else if (!rep->structured) {
		if (rep->len)
			memcpy(buf, rep->data, rep->len);
	} else if (rep->type == NBD_REPLY_TYPE_OFFSET_DATA ||
		   rep->type == NBD_REPLY_TYPE_OFFSET_HOLE) {
		if (r->type != NBD_CMD_READ || rep->offset < r->offset ||
		    rep->len > r->len ||
		    rep->offset - r->offset > r->len - rep->len)
			return -EPROTO;
		if (rep->type == NBD_REPLY_TYPE_OFFSET_DATA)
			memcpy(buf + (rep->offset - r->offset), rep->data,
			       rep->len);
		else
			memset(buf + (rep->offset - r->offset), 0, rep->len);
	}
	if (rep->done)
		req_done(nq, c, tag);
	return 0;
}

static void conn_arm_direct(struct nbd_queue *nq, struct nbd_conn *c)
{
	struct io_uring_sqe *sqe = ubd_queue_get_sqe(nq->q);

	if (!sqe) {
		conn_fail(nq, c, "no SQE");
		return;
	}
	io_uring_prep_recv(sqe, c->fd, c->dst, c->dleft, MSG_WAITALL);
	sqe->user_data = ubd_tgt_user_data(0, NBD_OP_RECV_DIRECT, c->idx);
	c->nr_sqes++;
	c->recv_armed = true;
}

/*
 * The reply at @off is not all in the buffer: when it is a large READ's
 * data, take what came and receive the rest straight into the io buffer,
 * saving a copy.  True when it did (or failed the connection).
 */
static bool conn_start_direct(struct nbd_queue *nq, struct nbd_conn *c,
			      size_t off)
{
	struct reply_ctx x = { nq, c };
	size_t have = c->rlen - off;
	struct nbd_reply rep;
	struct nbd_req *r;
	uint8_t *dst;
	ssize_t h;
	int tag;

	h = nbd_parse_data_header(c->rbuf + off, have, nq->t->max_io,
				  reply_read_len, &x, &rep);
	if (h <= 0 || rep.len < NBD_DIRECT_MIN)
		return false;
	tag = handle_tag(nq, rep.handle);
	r = &nq->reqs[tag];
	dst = ubd_queue_io_buf(nq->q, tag);
	if (rep.structured) {
		if (r->type != NBD_CMD_READ || rep.offset < r->offset ||
		    rep.len > r->len ||
		    rep.offset - r->offset > r->len - rep.len) {
			conn_fail(nq, c, "protocol error in a reply");
			return true;
		}
		dst += rep.offset - r->offset;
	}
	/* the whole reply is not here, so neither is all its data */
	have -= h;
	memcpy(dst, c->rbuf + off + h, have);
	c->dst = dst + have;
	c->dleft = rep.len - have;
	c->dtag = tag;
	c->ddone = rep.done;
	c->rlen = 0;
	conn_arm_direct(nq, c);
	return true;
}

static void conn_direct_done(struct nbd_queue *nq, struct nbd_conn *c,
			     int res)
{
	c->recv_armed = false;
	if (c->broken)
		return;
	if (res <= 0) {
		conn_fail(nq, c, res ? strerror(-res) :
			  "the server closed the connection");
		return;
	}
	c->dst += res;
	c->dleft -= res;
	if (c->dleft) {
		conn_arm_direct(nq, c);
		return;
	}
	if (c->ddone)
		req_done(nq, c, c->dtag);
	conn_arm_recv(nq, c);
}

static void conn_recv_done(struct nbd_queue *nq, struct nbd_conn *c, int res)
{
	struct reply_ctx x = { nq, c };
	size_t off = 0;

	c->recv_armed = false;
	if (c->broken)
		return;
	if (res == -ECANCELED || res == -EINTR || res == -EAGAIN) {
		/* the idle timeout: look again */
		conn_arm_recv(nq, c);
		return;
	}
	if (res <= 0) {
		conn_fail(nq, c, res ? strerror(-res) :
			  "the server closed the connection");
		return;
	}
	c->rlen += res;
	for (;;) {
		struct nbd_reply rep;
		ssize_t n = nbd_parse_reply(c->rbuf + off, c->rlen - off,
					    nq->t->max_io, reply_read_len,
					    &x, &rep);

		if (n == 0) {
			if (conn_start_direct(nq, c, off))
				return;
			break;
		}
		if (n < 0 || handle_reply(nq, c, &rep)) {
			conn_fail(nq, c, "protocol error in a reply");
			return;
		}
		off += n;
	}
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	conn_arm_recv(nq, c);
}

/* ----------------------------- reconnecting ---------------------------- */

static bool export_same(const struct nbd_export *a,
			const struct nbd_export *b)
{
	return a->size == b->size;
}

static void conn_timer_done(struct nbd_queue *nq, struct nbd_conn *c)
{
	struct nbd_tgt *t = nq->t;
	struct nbd_export exp;
	char err[256];
	unsigned int tag;
	int fd;

	if (ubd_queue_stopping(nq->q)) {
		conn_drop_reqs(nq, c, false);
		return;
	}
	c->tries++;
	fd = nbd_connect(&t->addr, t->exp.structured, NBD_CONNECT_TIMEOUT_S,
			 &exp, err, sizeof(err));
	if (fd >= 0 && (!export_same(&exp, &t->exp) ||
			exp.structured != t->exp.structured)) {
		snprintf(err, sizeof(err), "the export changed (size %llu, was %llu)",
			 (unsigned long long)exp.size,
			 (unsigned long long)t->exp.size);
		close(fd);
		fd = -EINVAL;
	}
	if (fd < 0) {
		if (c->tries == 1)
			nbd_log(t, LOG_WARNING, "queue %d: %s: %s; retrying up to every %u ms",
				ubd_queue_id(nq->q), t->where, err,
				NBD_BACKOFF_MAX_MS);
		c->backoff_ms *= 2;
		if (c->backoff_ms > NBD_BACKOFF_MAX_MS)
			c->backoff_ms = NBD_BACKOFF_MAX_MS;
		arm_timer(nq, c);
		return;
	}
	nbd_log(t, LOG_NOTICE, "queue %d: reconnected to %s after %u tries",
		ubd_queue_id(nq->q), t->where, c->tries);
	c->fd = fd;
	c->down = false;
	for (tag = 0; tag < t->depth; tag++) {
		struct nbd_req *r = &nq->reqs[tag];

		if (r->state == REQ_HELD && r->conn == c->idx) {
			r->state = REQ_ACTIVE;
			r->error = 0;
			conn_push(c, t->depth, tag);
		}
	}
	conn_arm_recv(nq, c);
	conn_kick_send(nq, c);
}

/* ------------------------------ target ops ----------------------------- */

static unsigned int ilog2(uint64_t n)
{
	unsigned int s = 0;

	while (n >>= 1)
		s++;
	return s;
}

static bool is_pow2(uint64_t n)
{
	return n && !(n & (n - 1));
}

/* the logical block: the server's minimum when it is a sane one */
static unsigned int nbd_lbs(const struct nbd_export *e)
{
	return is_pow2(e->min_block) && e->min_block > 512 &&
	       e->min_block <= 4096 ? e->min_block : 512;
}

static int nbd_init_tgt(struct ubd_dev *dev, struct ubd_params *p)
{
	struct nbd_tgt *t = ubd_dev_tgt_data(dev);
	const struct ubd_ctrl_dev_info *info = ubd_dev_info(dev);
	const struct nbd_export *e = &t->exp;
	struct ubd_state *st = ubd_dev_state(dev);
	unsigned int lbs = nbd_lbs(e), pbs = lbs;
	uint64_t max = info->max_io_buf_bytes;

	t->depth = info->queue_depth;
	t->max_io = info->max_io_buf_bytes;
	t->nr_queues = info->nr_hw_queues;
	t->queues = calloc(t->nr_queues, sizeof(*t->queues));
	if (!t->queues)
		return -ENOMEM;

	if (is_pow2(e->pref_block) && e->pref_block > lbs)
		pbs = e->pref_block > 65536 ? 65536 : e->pref_block;
	p->basic.logical_bs_shift = ilog2(lbs);
	p->basic.physical_bs_shift = ilog2(pbs);
	p->basic.io_min_shift = ilog2(pbs);
	p->basic.io_opt_shift = ilog2(pbs);
	p->basic.dev_sectors = e->size / lbs * lbs >> 9;
	if (e->max_block && e->max_block < max)
		max = e->max_block / lbs * lbs;
	p->basic.max_sectors = max >> 9;
	if (e->tflags & NBD_FLAG_READ_ONLY)
		p->basic.attrs |= UBD_ATTR_READ_ONLY;
	if (e->tflags & NBD_FLAG_ROTATIONAL)
		p->basic.attrs |= UBD_ATTR_ROTATIONAL;
	/* without FLUSH the server writes through: no cache to flush */
	if (e->tflags & NBD_FLAG_SEND_FLUSH)
		p->basic.attrs |= UBD_ATTR_VOLATILE_CACHE;
	if (e->tflags & NBD_FLAG_SEND_FUA)
		p->basic.attrs |= UBD_ATTR_FUA;

	if (!(p->basic.attrs & UBD_ATTR_READ_ONLY) &&
	    (e->tflags & (NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES))) {
		p->types |= UBD_PARAM_TYPE_DISCARD;
		p->discard.discard_granularity = pbs;
		p->discard.max_discard_segments = 1;
		if (e->tflags & NBD_FLAG_SEND_TRIM)
			p->discard.max_discard_sectors = NBD_MAX_ZERO_SECTORS;
		if (e->tflags & NBD_FLAG_SEND_WRITE_ZEROES)
			p->discard.max_write_zeroes_sectors =
				NBD_MAX_ZERO_SECTORS;
	}
	snprintf(st->backing_file, sizeof(st->backing_file), "nbd:%s",
		 t->where);
	return 0;
}

static void nbd_deinit_tgt(struct ubd_dev *dev)
{
	struct nbd_tgt *t = ubd_dev_tgt_data(dev);
	unsigned int i, j;

	for (i = 0; t->queues && i < t->nr_queues; i++) {
		struct nbd_queue *nq = t->queues[i];

		if (!nq)
			continue;
		for (j = 0; j < nq->nr_conns; j++) {
			struct nbd_conn *c = &nq->conns[j];

			/* the device is stopped: nothing is in flight, but a
			 * broken connection may owe the server bytes */
			if (c->fd >= 0 && (c->broken || c->send_busy))
				close(c->fd);
			else if (c->fd >= 0)
				nbd_disconnect(c->fd);
			free(nq->conns[j].fifo);
			free(nq->conns[j].rbuf);
		}
		free(nq->reqs);
		free(nq);
	}
	free(t->queues);
	t->queues = NULL;
}

static int nbd_init_queue(struct ubd_queue *q)
{
	struct nbd_tgt *t = ubd_dev_tgt_data(ubd_queue_dev(q));
	int q_id = ubd_queue_id(q);
	struct nbd_queue *nq;
	unsigned int i;

	nq = calloc(1, sizeof(*nq));
	if (!nq)
		return -ENOMEM;
	t->queues[q_id] = nq;
	nq->q = q;
	nq->t = t;
	nq->reqs = calloc(t->depth, sizeof(*nq->reqs));
	if (!nq->reqs)
		return -ENOMEM;
	for (i = 0; i < t->nr_conns; i++) {
		struct nbd_conn *c = &nq->conns[i];
		struct nbd_export exp;
		char err[256];

		c->fd = -1;
		c->idx = i;
		nq->nr_conns++;
		c->fifo = calloc(t->depth, sizeof(*c->fifo));
		c->rsize = t->max_io + 4096;
		c->rbuf = malloc(c->rsize);
		if (!c->fifo || !c->rbuf)
			return -ENOMEM;
		if (q_id == 0 && i == 0 && t->first_fd >= 0) {
			c->fd = t->first_fd;
			t->first_fd = -1;
		} else {
			c->fd = nbd_connect(&t->addr, t->exp.structured,
					    NBD_CONNECT_TIMEOUT_S, &exp, err,
					    sizeof(err));
			if (c->fd < 0) {
				nbd_log(t, LOG_ERR, "%s: connection %u of queue %d: %s",
					t->where, i, q_id, err);
				return c->fd;
			}
			if (!export_same(&exp, &t->exp) ||
			    exp.structured != t->exp.structured) {
				nbd_log(t, LOG_ERR, "%s: connection %u of queue %d sees another export",
					t->where, i, q_id);
				return -EPROTO;
			}
		}
		conn_arm_recv(nq, c);
	}
	ubd_queue_set_data(q, nq);
	return 0;
}

static int nbd_queue_io(struct ubd_queue *q, int tag,
			const struct ubd_io_desc *iod)
{
	struct nbd_queue *nq = ubd_queue_data(q);
	struct nbd_tgt *t = nq->t;
	struct nbd_conn *c = &nq->conns[(unsigned int)tag % nq->nr_conns];
	struct nbd_req *r = &nq->reqs[tag];
	unsigned int flags = iod->op_flags;
	uint16_t cflags = 0;

	switch (ubdsrv_get_op(iod)) {
	case UBD_IO_OP_READ:
		r->type = NBD_CMD_READ;
		break;
	case UBD_IO_OP_WRITE:
		r->type = NBD_CMD_WRITE;
		break;
	case UBD_IO_OP_FLUSH:
		if (!(t->exp.tflags & NBD_FLAG_SEND_FLUSH)) {
			/* a write-through server: nothing to flush */
			ubd_complete_io(q, tag, 0);
			return 0;
		}
		r->type = NBD_CMD_FLUSH;
		break;
	case UBD_IO_OP_DISCARD:
		r->type = NBD_CMD_TRIM;
		break;
	case UBD_IO_OP_WRITE_ZEROES:
		r->type = NBD_CMD_WRITE_ZEROES;
		if (flags & UBD_IO_F_NOUNMAP)
			cflags |= NBD_CMD_FLAG_NO_HOLE;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if ((flags & UBD_IO_F_FUA) && (t->exp.tflags & NBD_FLAG_SEND_FUA) &&
	    r->type != NBD_CMD_READ && r->type != NBD_CMD_FLUSH)
		cflags |= NBD_CMD_FLAG_FUA;
	if (t->failed && !t->persist)
		return -EIO;
	/* a connection that is down is not retried any more when stopping */
	if ((c->down || c->broken) && ubd_queue_stopping(q))
		return -EIO;

	r->offset = iod->start_sector << 9;
	r->len = r->type == NBD_CMD_FLUSH ? 0 : iod->nr_sectors << 9;
	r->conn = c->idx;
	r->error = 0;
	nbd_encode_request(r->hdr, cflags, r->type, req_handle(nq, tag),
			   r->type == NBD_CMD_FLUSH ? 0 : r->offset, r->len);
	c->inflight++;
	if (c->down || c->broken) {
		/* only with --persist: sent once the connection is back */
		r->state = REQ_HELD;
		return 0;
	}
	r->state = REQ_ACTIVE;
	conn_push(c, t->depth, tag);
	conn_kick_send(nq, c);
	/* a stopping queue may have let its idle recv end */
	conn_arm_recv(nq, c);
	return 0;
}

static void nbd_tgt_io_done(struct ubd_queue *q, int tag,
			    const struct io_uring_cqe *cqe)
{
	struct nbd_queue *nq = ubd_queue_data(q);
	uint64_t ud = cqe->user_data;
	struct nbd_conn *c = &nq->conns[ubd_user_data_data(ud)];

	(void)tag;
	c->nr_sqes--;
	switch (ubd_user_data_op(ud)) {
	case NBD_OP_RECV:
		conn_recv_done(nq, c, cqe->res);
		break;
	case NBD_OP_RECV_DIRECT:
		conn_direct_done(nq, c, cqe->res);
		break;
	case NBD_OP_SEND:
		conn_send_done(nq, c, cqe->res);
		break;
	case NBD_OP_TIMER:
		conn_timer_done(nq, c);
		return;
	case NBD_OP_LTIMEOUT:
		break;
	}
	if (c->broken && !c->nr_sqes)
		conn_closed(nq, c);
}

static const struct ubd_tgt_ops nbd_tgt_ops = {
	.name		= "nbd",
	.init_tgt	= nbd_init_tgt,
	.deinit_tgt	= nbd_deinit_tgt,
	.init_queue	= nbd_init_queue,
	.queue_io	= nbd_queue_io,
	.tgt_io_done	= nbd_tgt_io_done,
	/* a request takes no SQE of its own beyond the shared ones */
	.max_sqes_per_io = 1,
};

static void usage(void)
{
	FILE *out = stdout;

	fprintf(out, "\nUsage:\n %s --host <host> [--port <port>] [options]\n"
		" %s --unix <path> [options]\n",
		program_invocation_short_name, program_invocation_short_name);
	fputs("\nServe an NBD export as a ubd block device.\n", out);
	fputs("\nOptions:\n"
	      "     --host <host>        the NBD server's host name or address\n"
	      "     --port <port>        its TCP port (default 10809)\n"
	      "     --unix <path>        its Unix domain socket instead\n"
	      "     --export <name>      the export to use (default: \"\")\n"
	      "     --connections <n>    NBD connections per queue (default 1)\n"
	      "     --persist            reconnect when the server goes away\n"
	      "     --no-structured      do not ask for structured replies\n",
	      out);
	tgt_common_usage(out);
	fprintf(out, "\nFor more details see %s(8).\n",
		program_invocation_short_name);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host",	required_argument, NULL, OPT_HOST },
		{ "port",	required_argument, NULL, OPT_PORT },
		{ "unix",	required_argument, NULL, OPT_UNIX },
		{ "export",	required_argument, NULL, OPT_EXPORT },
		{ "connections", required_argument, NULL, OPT_CONNECTIONS },
		{ "persist",	no_argument,	   NULL, OPT_PERSIST },
		{ "no-structured", no_argument,   NULL, OPT_NO_STRUCTURED },
		TGT_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct nbd_tgt t = {
		.addr.port = "10809",
		.addr.export = "",
		.nr_conns = 1,
		.structured = true,
		.first_fd = -1,
	};
	struct ubd_dev_opts opts;
	char name[256], err[256];
	int c, ret;

	tgt_opts_init(&opts);
	while ((c = getopt_long(argc, argv, TGT_COMMON_SHORTOPTS, longopts,
				NULL)) != -1) {
		if (tgt_common_opt(c, optarg, &opts, usage))
			continue;
		switch (c) {
		case OPT_HOST:
			if (!*optarg)
				tgt_usage_error("empty --host name");
			t.addr.host = optarg;
			break;
		case OPT_PORT:
			tgt_parse_uint_or_die("port", optarg, 1, 65535);
			t.addr.port = optarg;
			break;
		case OPT_UNIX:
			if (!*optarg)
				tgt_usage_error("empty --unix path");
			t.addr.unix_path = optarg;
			break;
		case OPT_EXPORT:
			if (strlen(optarg) > 4096)
				tgt_usage_error("export name '%.32s...' is longer than 4096 bytes",
						optarg);
			t.addr.export = optarg;
			break;
		case OPT_CONNECTIONS:
			t.nr_conns = tgt_parse_uint_or_die("connections",
							   optarg, 1,
							   NBD_MAX_CONNS);
			break;
		case OPT_PERSIST:
			t.persist = true;
			break;
		case OPT_NO_STRUCTURED:
			t.structured = false;
			break;
		default:
			tgt_errtryhelp();
		}
	}
	if (optind < argc)
		tgt_usage_error("unexpected argument '%s'", argv[optind]);
	tgt_opts_check(&opts);
	if (!t.addr.host && !t.addr.unix_path)
		tgt_usage_error("no --host or --unix given");
	if (t.addr.host && t.addr.unix_path)
		tgt_usage_error("--host and --unix exclude each other");
	t.daemon = opts.daemon;

	nbd_addr_name(&t.addr, name, sizeof(name));
	snprintf(t.where, sizeof(t.where), "%s export '%s'", name,
		 t.addr.export);
	/* everything that can go wrong with the server, before any device */
	t.first_fd = nbd_connect(&t.addr, t.structured, NBD_CONNECT_TIMEOUT_S,
				 &t.exp, err, sizeof(err));
	if (t.first_fd < 0) {
		tgt_warnx("%s: %s", t.where, err);
		return TGT_EXIT_FAILURE;
	}
	if (t.exp.size < nbd_lbs(&t.exp)) {
		tgt_warnx("%s: the export is empty (%llu bytes)", t.where,
			  (unsigned long long)t.exp.size);
		nbd_disconnect(t.first_fd);
		return TGT_EXIT_FAILURE;
	}
	if (opts.read_only)
		t.exp.tflags |= NBD_FLAG_READ_ONLY;
	if (t.nr_conns > 1 && !(t.exp.tflags & NBD_FLAG_CAN_MULTI_CONN) &&
	    !(t.exp.tflags & NBD_FLAG_READ_ONLY))
		fprintf(stderr, "%s: %s: the server does not promise consistency across connections (no multi-conn); flushes cover only their own connection\n",
			program_invocation_short_name, t.where);

	ret = ubd_serve(&nbd_tgt_ops, &opts, &t);
	/* the device never got as far as queue 0 */
	if (t.first_fd >= 0)
		nbd_disconnect(t.first_fd);
	if (t.failed)
		return TGT_EXIT_FAILURE;
	return ret ? TGT_EXIT_FAILURE : EXIT_SUCCESS;
}
