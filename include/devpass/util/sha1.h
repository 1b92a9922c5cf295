/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: SHA-1 (FIPS 180-4)
 *
 * Only for protocols that mandate it (the WebSocket handshake's
 * Sec-WebSocket-Accept); SHA-1 is no security primitive any more.
 * Incremental: sha1_init(), any number of sha1_update(), sha1_final().
 */

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_SIZE 20

/**
 * struct sha1_ctx - a running SHA-1 computation.
 * @h: the chaining state.
 * @block: the partial 64-byte block not yet compressed.
 * @fill: bytes in @block.
 * @total: bytes fed so far.
 */
struct sha1_ctx {
	uint32_t h[5];
	uint8_t block[64];
	size_t fill;
	uint64_t total;
};

/* Starts a computation in @s. */
void sha1_init(struct sha1_ctx *s);

/* Feeds @len bytes of @data. */
void sha1_update(struct sha1_ctx *s, const void *data, size_t len);

/* Finishes: @out receives the digest; @s must be initialised again to reuse. */
void sha1_final(struct sha1_ctx *s, uint8_t out[SHA1_DIGEST_SIZE]);
