/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The WebSocket frame decoder on arbitrary bytes. Input: one byte that
 * seeds the chunking, then the bytes as they would come off the socket.
 * The bytes are decoded twice, whole and in pseudo-random chunks, and the
 * two runs must agree message for message: chunking must never matter.
 * The same bytes also go to the handshake response check.
 */
#include <stdint.h>
#include <string.h>

#include "devpass/util/log.h"
#include "devpass/lxd/websocket-handshake.h"
#include "devpass/lxd/websocket.h"

/* A small cap so that the size limit is reached too. */
#define FUZZ_MAX_MESSAGE 65536

struct outcome {
	uint64_t hash;
	size_t messages;
	int rc;
};

static void hash_bytes(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 0x100000001b3ull;
}

static void record(struct outcome *o, const struct ws_message *m)
{
	hash_bytes(&o->hash, &m->opcode, sizeof(m->opcode));
	hash_bytes(&o->hash, &m->len, sizeof(m->len));
	hash_bytes(&o->hash, m->data, m->len);
	hash_bytes(&o->hash, &m->close_code, sizeof(m->close_code));
	if (m->data[m->len] != '\0')
		__builtin_trap();
	o->messages++;
}

/* Decodes @len bytes whole (@seed 0) or in chunks of 1-37 bytes drawn from
 * @seed. */
static struct outcome decode(const uint8_t *data, size_t len, uint32_t seed)
{
	struct outcome o = {.hash = 0xcbf29ce484222325ull};
	_cleanup_(ws_decoder_freep) struct ws_decoder *d = NULL;
	size_t off = 0;

	if (ws_decoder_new(&d, FUZZ_MAX_MESSAGE) < 0)
		__builtin_trap();
	while (off < len && o.rc >= 0) {
		size_t chunk = len - off;
		if (seed) {
			seed = seed * 1103515245u + 12345u;
			chunk = 1 + (seed >> 16) % 37;
			if (chunk > len - off)
				chunk = len - off;
		}
		for (size_t p = 0, used; p < chunk && o.rc >= 0; p += used) {
			struct ws_message msg;
			o.rc = ws_decoder_feed(d, data + off + p, chunk - p,
					       &used, &msg);
			if (o.rc == WS_MESSAGE)
				record(&o, &msg);
		}
		off += chunk;
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	log_set_max_level(LOG_CRIT);

	struct outcome whole = decode(data + 1, size - 1, 0);
	struct outcome chunked = decode(data + 1, size - 1, data[0] | 0x100u);
	if (whole.hash != chunked.hash || whole.messages != chunked.messages ||
	    (whole.rc < 0) != (chunked.rc < 0) ||
	    (whole.rc < 0 && whole.rc != chunked.rc))
		__builtin_trap();

	_cleanup_(freep) char *head = malloc(size);
	if (!head)
		return 0;
	memcpy(head, data + 1, size - 1);
	head[size - 1] = '\0';
	(void)ws_handshake_check(head, "dGhlIHNhbXBsZSBub25jZQ==");
	return 0;
}
