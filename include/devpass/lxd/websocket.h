/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: a minimal RFC 6455 WebSocket client
 *
 * Just enough WebSocket for LXD's /1.0/events stream over its unix socket
 * (Debian 12's libcurl 7.88 has none): the opening handshake, a frame
 * decoder and masked client frames for pong and close.
 *
 * The decoder (ws_decoder_*) is a pure function over bytes, no I/O, so it
 * can be fed in any chunking and fuzzed on its own. It is strict where the
 * RFC says a client MUST fail the connection: masked server frames, RSV
 * bits without a negotiated extension, unknown opcodes, fragmented or long
 * control frames, continuation frames out of place. It is lenient about
 * non-minimal length encodings and does not validate UTF-8 in text
 * messages (the JSON parser above it rejects garbage anyway).
 *
 * ws_conn_* does the I/O on a connected stream socket: handshake (blocking,
 * bounded by a timeout), then non-blocking reads that answer pings and
 * close frames by themselves and hand out complete data messages.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "devpass/util/common.h"

/* Default cap on one reassembled message; a bigger one is a protocol error. */
#define WS_MAX_MESSAGE_DEFAULT (1024 * 1024)
/* Longest control frame payload (RFC 6455 5.5). */
#define WS_MAX_CONTROL 125
/* base64 of 16 bytes (the key) and of a 20-byte SHA-1 (the accept value). */
#define WS_KEY_LEN    24
#define WS_ACCEPT_LEN 28

enum ws_opcode {
	WS_OP_CONTINUATION = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

/* Close status when a close frame carries none (RFC 6455 7.1.5). */
#define WS_CLOSE_NO_STATUS 1005

/**
 * struct ws_message - one complete message out of the decoder.
 * @opcode: WS_OP_TEXT, WS_OP_BINARY, WS_OP_PING, WS_OP_PONG or WS_OP_CLOSE.
 * @data: the payload, unmasked and reassembled; NUL-terminated for
 *        convenience (the NUL is not counted in @len). Owned by the decoder,
 *        valid until the next ws_decoder_feed().
 * @len: payload length.
 * @close_code: for WS_OP_CLOSE, the status code or WS_CLOSE_NO_STATUS.
 */
struct ws_message {
	enum ws_opcode opcode;
	const uint8_t *data;
	size_t len;
	uint16_t close_code;
};

struct ws_decoder;

/**
 * ws_decoder_new() - a frame decoder for server-to-client frames.
 * @ret: the new decoder.
 * @max_message: cap on a reassembled data message, in bytes.
 *
 * Return: 0, -EINVAL (a cap of 0 or above SIZE_MAX / 4) or -ENOMEM.
 */
int ws_decoder_new(struct ws_decoder **ret, size_t max_message);
void ws_decoder_free(struct ws_decoder *d);
DEFINE_FREEP(struct ws_decoder, ws_decoder_free)

/* Positive return of ws_decoder_feed(): *msg holds one message. */
#define WS_MESSAGE 1

/**
 * ws_decoder_feed() - decode bytes until one message is complete.
 * @d: the decoder.
 * @buf: received bytes.
 * @len: how many.
 * @consumed: set to how many bytes of @buf were used.
 * @msg: filled when WS_MESSAGE is returned.
 *
 * Call again with the rest of @buf after WS_MESSAGE. Control frames
 * arriving between fragments of a data message come out on their own.
 *
 * Return: WS_MESSAGE; 0 when all of @buf was used and no message is
 * complete yet; -EPROTO on a protocol violation; -EMSGSIZE when a data
 * message would exceed the cap. After an error the decoder is dead and
 * returns the same error forever (the connection must be dropped).
 */
int ws_decoder_feed(struct ws_decoder *d, const void *buf, size_t len,
		    size_t *consumed, struct ws_message *msg);

/**
 * ws_frame_encode() - build one masked client frame (FIN set).
 * @op: the opcode.
 * @payload: the payload (may be NULL if @len is 0).
 * @len: its length.
 * @mask: the 4-byte masking key.
 * @out: where the frame goes.
 * @size: room in @out; ws_frame_size(@len) is enough.
 *
 * Return: the frame's length, or -ENOBUFS if @out is too small.
 */
ssize_t ws_frame_encode(enum ws_opcode op, const void *payload, size_t len,
			const uint8_t mask[4], uint8_t *out, size_t size);

/* Bytes a masked client frame with a payload of @len needs. */
size_t ws_frame_size(size_t len);

/**
 * ws_base64_encode() - standard base64 with padding.
 * @in: bytes.
 * @len: how many.
 * @out: room for 4 * ceil(@len / 3) + 1 characters (NUL-terminated).
 */
void ws_base64_encode(const uint8_t *in, size_t len, char *out);

/**
 * ws_accept_compute() - the Sec-WebSocket-Accept value for a key:
 * base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
 * @key: the Sec-WebSocket-Key sent.
 * @out: WS_ACCEPT_LEN + 1 characters.
 */
void ws_accept_compute(const char *key, char out[WS_ACCEPT_LEN + 1]);

/**
 * ws_key_generate() - a fresh random Sec-WebSocket-Key.
 * @out: WS_KEY_LEN + 1 characters.
 *
 * Return: 0 or a negative errno from getrandom().
 */
int ws_key_generate(char out[WS_KEY_LEN + 1]);

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

struct ws_conn;

/* Positive return of ws_conn_read(): the server closed the connection. */
#define WS_CLOSED 2

/**
 * ws_conn_new() - open a WebSocket on a connected stream socket.
 * @ret: the connection.
 * @fd: the socket; the connection owns it from now on, even on failure.
 * @host: Host header value.
 * @path: request target.
 * @timeout_ms: bound on the whole handshake.
 *
 * The handshake blocks (at most @timeout_ms); afterwards @fd is set
 * non-blocking.
 *
 * Return: 0, -ETIMEDOUT, -EPROTO (refused or bad handshake), -ECONNRESET
 * (closed during the handshake), or another negative errno.
 */
int ws_conn_new(struct ws_conn **ret, int fd, const char *host,
		const char *path, int timeout_ms);
void ws_conn_free(struct ws_conn *c);
DEFINE_FREEP(struct ws_conn, ws_conn_free)

/* The socket, for poll/epoll (readable). */
int ws_conn_get_fd(const struct ws_conn *c);

/**
 * ws_conn_read() - the next data message, reading what the socket has.
 * @c: the connection.
 * @msg: filled on WS_MESSAGE; valid until the next call.
 *
 * Answers pings with pongs and a close frame with a close frame. Call it
 * until it returns 0: bytes already read but not yet decoded are not seen
 * by epoll.
 *
 * Return: WS_MESSAGE (a text or binary message), 0 (nothing more for now),
 * WS_CLOSED (the server closed, cleanly or not), or a negative errno
 * (-EPROTO, -EMSGSIZE, or an I/O error); after WS_CLOSED or an error the
 * connection is finished.
 */
int ws_conn_read(struct ws_conn *c, struct ws_message *msg);
