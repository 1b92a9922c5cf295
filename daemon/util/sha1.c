/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "devpass/util/sha1.h"

static uint32_t rol32(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static uint32_t sha1_f(unsigned t, uint32_t b, uint32_t c, uint32_t d)
{
	if (t < 20)
		return ((b & c) | (~b & d)) + 0x5a827999;
	if (t < 40)
		return (b ^ c ^ d) + 0x6ed9eba1;
	if (t < 60)
		return ((b & c) | (b & d) | (c & d)) + 0x8f1bbcdc;
	return (b ^ c ^ d) + 0xca62c1d6;
}

static void sha1_block(uint32_t h[5], const uint8_t p[64])
{
	uint32_t w[80], v[5];

	for (unsigned t = 0; t < 16; t++)
		w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
		       (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
	for (unsigned t = 16; t < 80; t++)
		w[t] = rol32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
	memcpy(v, h, sizeof(v));
	for (unsigned t = 0; t < 80; t++) {
		uint32_t tmp = rol32(v[0], 5) + sha1_f(t, v[1], v[2], v[3]) +
			       v[4] + w[t];
		v[4] = v[3];
		v[3] = v[2];
		v[2] = rol32(v[1], 30);
		v[1] = v[0];
		v[0] = tmp;
	}
	for (unsigned i = 0; i < 5; i++)
		h[i] += v[i];
}

void sha1_init(struct sha1_ctx *s)
{
	*s = (struct sha1_ctx){
		.h = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
		      0xc3d2e1f0},
	};
}

void sha1_update(struct sha1_ctx *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	s->total += len;
	while (len > 0) {
		size_t n = sizeof(s->block) - s->fill;
		if (n > len)
			n = len;
		memcpy(s->block + s->fill, p, n);
		s->fill += n;
		p += n;
		len -= n;
		if (s->fill == sizeof(s->block)) {
			sha1_block(s->h, s->block);
			s->fill = 0;
		}
	}
}

void sha1_final(struct sha1_ctx *s, uint8_t out[SHA1_DIGEST_SIZE])
{
	uint64_t bits = s->total * 8;
	uint8_t pad = 0x80, len_be[8];

	sha1_update(s, &pad, 1);
	pad = 0;
	while (s->fill != 56)
		sha1_update(s, &pad, 1);
	for (unsigned i = 0; i < 8; i++)
		len_be[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_update(s, len_be, 8);
	for (unsigned i = 0; i < SHA1_DIGEST_SIZE; i++)
		out[i] = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}
