/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One client of the control socket, served without blocking: it reads a
 * request line of at most CONN_REQUEST_MAX bytes, then writes the reply as
 * far as the peer takes it, each step whenever the socket is ready. The
 * deadline bounds the whole exchange (private to control.c).
 */

#include <stdbool.h>
#include <stddef.h>

#include "devpass/service/control.h"

#define CONN_REQUEST_MAX 64

struct conn {
	int fd;
	long long deadline_ms; /* CLOCK_MONOTONIC */
	bool replying;
	char request[CONN_REQUEST_MAX];
	size_t n_request;
	char *reply;
	size_t reply_len;
	size_t reply_off;
};

/* A connection on @fd (taken over); its reply is an error when @root is
 * false. NULL on ENOMEM (@fd closed). */
struct conn *conn_new(int fd, bool root, long long deadline_ms);
void conn_free(struct conn *c);
DEFINE_FREEP(struct conn, conn_free)

/*
 * Does what the socket allows now: reads the request, builds the reply,
 * writes it. Return: CONN_E_MORE to wait for the socket again (EPOLLIN or,
 * once conn->replying, EPOLLOUT), CONN_E_DONE when the exchange is over
 * (answered, or the peer went away or sent garbage): free it.
 */
enum conn_result {
	CONN_E_MORE = 1,
	CONN_E_DONE,
};
int conn_step(struct conn *c, control_status_fn status, void *userdata,
	      long long now_ms);
