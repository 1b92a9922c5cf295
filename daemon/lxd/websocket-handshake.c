/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "devpass/util/base64.h"
#include "devpass/util/log.h"
#include "devpass/util/sha1.h"
#include "devpass/lxd/websocket-handshake.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void ws_handshake_accept(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	struct sha1_ctx s;
	uint8_t digest[SHA1_DIGEST_SIZE];

	sha1_init(&s);
	sha1_update(&s, key, strlen(key));
	sha1_update(&s, WS_GUID, strlen(WS_GUID));
	sha1_final(&s, digest);
	base64_encode(digest, sizeof(digest), out);
}

int ws_handshake_key(char out[WS_KEY_LEN + 1])
{
	uint8_t raw[16];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return log_err_errno(-errno, "getrandom failed: %m");
	base64_encode(raw, sizeof(raw), out);
	return 0;
}

/* A request-line or header token must not smuggle in more lines. */
static bool token_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

int ws_handshake_request(const char *host, const char *path, const char *key,
			 char **ret)
{
	if (!token_safe(host) || !token_safe(path) || !token_safe(key) ||
	    path[0] != '/')
		return log_err_errno(-EINVAL, "websocket: bad request target");
	if (asprintf(ret,
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Version: 13\r\n"
		     "\r\n",
		     path, host, key) < 0)
		return log_err_errno(-ENOMEM, "websocket: out of memory");
	return 0;
}

/*
 * Finds header @name in @head (case-insensitive) and copies its value,
 * trimmed, into @buf. Returns false if absent or too long.
 */
static bool header_value(const char *head, const char *name, char *buf,
			 size_t size)
{
	size_t nlen = strlen(name);

	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l, "\r\n")) {
		l += 2;
		if (strncasecmp(l, name, nlen) != 0 || l[nlen] != ':')
			continue;
		const char *v = l + nlen + 1;
		v += strspn(v, " \t");
		size_t vlen = strcspn(v, "\r\n");
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (vlen >= size)
			return false;
		memcpy(buf, v, vlen);
		buf[vlen] = '\0';
		return true;
	}
	return false;
}

int ws_handshake_check(const char *head, const char *key)
{
	char expected[WS_ACCEPT_LEN + 1], value[128];
	int status = 0;

	if (sscanf(head, "HTTP/1.%*1[01] %3d", &status) != 1 || status != 101) {
		int line = (int)strcspn(head, "\r\n");
		log_err("websocket: handshake refused: \"%.*s\"",
			line > 80 ? 80 : line, head);
		return -EPROTO;
	}
	if (!header_value(head, "Upgrade", value, sizeof(value)) ||
	    strcasecmp(value, "websocket") != 0) {
		log_err("websocket: 101 response without Upgrade: websocket");
		return -EPROTO;
	}
	ws_handshake_accept(key, expected);
	if (!header_value(head, "Sec-WebSocket-Accept", value, sizeof(value)) ||
	    strcmp(value, expected) != 0) {
		log_err("websocket: wrong or missing Sec-WebSocket-Accept");
		return -EPROTO;
	}
	return 0;
}
