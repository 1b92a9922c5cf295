/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: the WebSocket opening handshake (RFC 6455 section 4)
 *
 * Pure text in and out, no I/O: the key, the accept value it implies, the
 * client's GET request and the check of the server's response head.
 * ws_conn_new() (websocket.h) sends and reads them.
 */

#include "devpass/util/common.h"

/* base64 of 16 bytes (the key) and of a 20-byte SHA-1 (the accept value). */
#define WS_KEY_LEN    24
#define WS_ACCEPT_LEN 28

/**
 * ws_handshake_accept() - the Sec-WebSocket-Accept value for a key:
 * base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
 * @key: the Sec-WebSocket-Key sent.
 * @out: WS_ACCEPT_LEN + 1 characters.
 */
void ws_handshake_accept(const char *key, char out[WS_ACCEPT_LEN + 1]);

/**
 * ws_handshake_key() - a fresh random Sec-WebSocket-Key.
 * @out: WS_KEY_LEN + 1 characters.
 *
 * Return: 0 or a negative errno from getrandom().
 */
int ws_handshake_key(char out[WS_KEY_LEN + 1]);

/**
 * ws_handshake_request() - the opening GET request.
 * @host: Host header value.
 * @path: request target, with query.
 * @key: Sec-WebSocket-Key.
 * @ret: the request text, to free().
 *
 * Return: 0, -EINVAL if @host or @path hold CR, LF or spaces, or -ENOMEM.
 */
int ws_handshake_request(const char *host, const char *path, const char *key,
			 char **ret);

/**
 * ws_handshake_check() - check the server's response head.
 * @head: the status line and headers, up to and including the blank line.
 * @key: the key that was sent.
 *
 * Requires status 101, "Upgrade: websocket" and the right
 * Sec-WebSocket-Accept. Logs the reason on failure.
 *
 * Return: 0 or -EPROTO.
 */
int ws_handshake_check(const char *head, const char *key);
