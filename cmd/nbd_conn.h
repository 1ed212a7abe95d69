/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Opening NBD connections: resolve, connect, handshake, with one-line errors. */
#ifndef UBD_NBD_CONN_H
#define UBD_NBD_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "nbd_proto.h"

struct nbd_addr {
	const char *host;	/* NULL with unix_path */
	const char *port;	/* as text, "10809" by default */
	const char *unix_path;
	const char *export;	/* "" by default */
};

/* "host:port" or the socket path, for messages */
void nbd_addr_name(const struct nbd_addr *a, char *buf, size_t size);

/*
 * Connect and handshake, each step bounded by @timeout_s seconds.  Returns
 * a blocking socket ready for transmission (no timeouts left on it), or
 * -errno with a one-line reason in @err.
 */
int nbd_connect(const struct nbd_addr *a, bool want_structured,
		unsigned int timeout_s, struct nbd_export *exp,
		char *err, size_t errlen);

/*
 * Close a connection from nbd_connect() the way the protocol asks: send
 * NBD_CMD_DISC first.  Only with no request in flight and none half sent.
 */
void nbd_disconnect(int fd);

#endif
