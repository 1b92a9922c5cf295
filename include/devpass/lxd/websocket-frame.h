/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: WebSocket frames (RFC 6455 section 5)
 *
 * The decoder (ws_decoder_*) is a pure function over bytes, no I/O, so it
 * can be fed in any chunking and fuzzed on its own. It is strict where the
 * RFC says a client MUST fail the connection: masked server frames, RSV
 * bits without a negotiated extension, unknown opcodes, fragmented or long
 * control frames, continuation frames out of place. It is lenient about
 * non-minimal length encodings and does not validate UTF-8 in text
 * messages (the JSON parser above it rejects garbage anyway).
 *
 * ws_frame_encode() builds the masked frames a client sends.
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
