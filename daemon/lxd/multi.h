/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: libcurl's multi interface on one pollable fd (private to daemon/lxd/)
 *
 * The client's transfers run on a curl multi handle whose sockets
 * (CURLMOPT_SOCKETFUNCTION) and timer (CURLMOPT_TIMERFUNCTION, a timerfd)
 * sit in a private epoll set. That set's fd is readable whenever curl has
 * work, so the daemon's own epoll loop watches that one fd and calls
 * lxd_multi_dispatch(): no transfer ever blocks the loop. A command that
 * needs an answer before it goes on polls the same fd until its transfer
 * ends: one code path for both.
 */

#include <curl/curl.h>

#include "devpass/util/common.h"

struct lxd_multi;

/* Called for each finished transfer with curl's result. */
typedef void (*lxd_multi_done_t)(CURL *easy, CURLcode result);

/**
 * lxd_multi_new() - a multi handle, its epoll set and its timerfd.
 * @done: called for each finished easy handle (removed from the multi
 *        handle first; the callee owns it then).
 * Return: 0, -ENOMEM or -errno of epoll/timerfd (logged).
 */
int lxd_multi_new(lxd_multi_done_t done, struct lxd_multi **out);

/* Frees @m; the easy handles still in it are the caller's to clean up
 * (lxd_multi_remove() each first). */
void lxd_multi_free(struct lxd_multi *m);
DEFINE_FREEP(struct lxd_multi, lxd_multi_free)

/* Starts @easy. Return: 0 or -ENOMEM (logged). */
int lxd_multi_add(struct lxd_multi *m, CURL *easy);

/* Takes @easy out of @m unfinished (no done callback). */
void lxd_multi_remove(struct lxd_multi *m, CURL *easy);

/* The fd to watch for EPOLLIN (level-triggered). */
int lxd_multi_get_fd(const struct lxd_multi *m);

/**
 * lxd_multi_dispatch() - drive curl for what is ready now, without
 * waiting, and call done for every transfer that ended.
 */
void lxd_multi_dispatch(struct lxd_multi *m);
