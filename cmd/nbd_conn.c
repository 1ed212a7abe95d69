// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Opening NBD connections.  Blocking on purpose: the first one runs before
 * the device exists, the others in init_queue or on a reconnect, where the
 * queue has nothing better to do; SO_SNDTIMEO/SO_RCVTIMEO bound every step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "nbd_conn.h"

void nbd_addr_name(const struct nbd_addr *a, char *buf, size_t size)
{
	if (a->unix_path)
		snprintf(buf, size, "%s", a->unix_path);
	else if (strchr(a->host, ':'))
		snprintf(buf, size, "[%s]:%s", a->host, a->port);
	else
		snprintf(buf, size, "%s:%s", a->host, a->port);
}

static void set_timeouts(int fd, unsigned int s)
{
	struct timeval tv = { .tv_sec = s };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int connect_unix(const struct nbd_addr *a, unsigned int timeout_s,
			char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(a->unix_path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path '%s' is longer than %zu bytes",
			 a->unix_path, sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, a->unix_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out_err;
	set_timeouts(fd, timeout_s);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
out_err:
	ret = -errno;
	snprintf(err, errlen, "cannot connect: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return ret;
}

static int connect_tcp(const struct nbd_addr *a, unsigned int timeout_s,
		       char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_ADDRCONFIG,
	};
	struct addrinfo *res, *ai;
	int fd = -1, ret, one = 1, saved = ECONNREFUSED;

	ret = getaddrinfo(a->host, a->port, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "cannot resolve: %s", gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		set_timeouts(fd, timeout_s);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno == EINPROGRESS ? ETIMEDOUT : errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect: %s", strerror(saved));
		return -saved;
	}
	/* requests are small and pipelined: do not wait to coalesce them */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int nbd_connect(const struct nbd_addr *a, bool want_structured,
		unsigned int timeout_s, struct nbd_export *exp,
		char *err, size_t errlen)
{
	int fd, ret;

	fd = a->unix_path ? connect_unix(a, timeout_s, err, errlen) :
			    connect_tcp(a, timeout_s, err, errlen);
	if (fd < 0)
		return fd;
	ret = nbd_handshake(fd, a->export, want_structured, exp, err, errlen);
	if (ret) {
		close(fd);
		return ret;
	}
	/* io_uring waits on the socket from now on, for as long as it takes */
	set_timeouts(fd, 0);
	return fd;
}

/*
 * A server that sees a connection just drop may take it for a failure
 * (nbdkit logs it as one; others keep state for a client expected back).
 * No reply comes to NBD_CMD_DISC, and we are leaving whatever the server
 * makes of it: a send that fails or would block changes nothing.
 */
void nbd_disconnect(int fd)
{
	uint8_t req[NBD_REQUEST_SIZE];

	nbd_encode_request(req, 0, NBD_CMD_DISC, 0, 0, 0);
	(void)!send(fd, req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}
