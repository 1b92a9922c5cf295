/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The WebSocket client: handshake values, the frame decoder, client frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "devpass/util/base64.h"
#include "devpass/lxd/websocket-handshake.h"
#include "devpass/lxd/websocket.h"
#include "test-util.h"

/* Builds an unmasked server frame as LXD sends it. */
static size_t server_frame(uint8_t *out, bool fin, uint8_t op,
			   const void *payload, size_t len)
{
	size_t n = 0;

	out[n++] = (uint8_t)((fin ? 0x80 : 0) | op);
	if (len < 126) {
		out[n++] = (uint8_t)len;
	} else if (len <= 0xffff) {
		out[n++] = 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = 127;
		for (int i = 7; i >= 0; i--)
			out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	if (len)
		memcpy(out + n, payload, len);
	return n + len;
}

/* Feeds all of @buf; expects exactly one message, returned in @msg. */
static void feed_one(struct ws_decoder *d, const uint8_t *buf, size_t len,
		     struct ws_message *msg)
{
	size_t used;

	assert_int_equal(ws_decoder_feed(d, buf, len, &used, msg), WS_MESSAGE);
	assert_int_equal(used, len);
}

/* Feeds @buf whole and returns the decoder's verdict. */
static int feed_all(struct ws_decoder *d, const uint8_t *buf, size_t len)
{
	struct ws_message msg;
	size_t used, off = 0;
	int r;

	do {
		r = ws_decoder_feed(d, buf + off, len - off, &used, &msg);
		off += used;
	} while (r == WS_MESSAGE && off < len);
	return r;
}

static void accept_matches_rfc_6455_sample(void **state)
{
	char out[WS_ACCEPT_LEN + 1];

	/* RFC 6455 section 1.3. */
	ws_handshake_accept("dGhlIHNhbXBsZSBub25jZQ==", out);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void accept_is_right_at_sha1_block_edges(void **state)
{
	/* key + GUID of 36, 55, 56, 60, 64 and 136 bytes, from Python. */
	static const struct {
		const char *key;
		const char *accept;
	} cases[] = {
	    {"", "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w="},
	    {"ccccccccccccccccccc", "9lPbTVRYU1wkm8j9yXEZq1X5sUE="},
	    {"cccccccccccccccccccc", "XLW4huPfVeu5iIK1ouKCMMKfs1E="},
	    {"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="},
	    {"dddddddddddddddddddddddddddd", "B4yIM9R1UI4iRr3vCtjKc4UgVC0="},
	};
	char out[WS_ACCEPT_LEN + 1], longkey[101];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ws_handshake_accept(cases[i].key, out);
		assert_string_equal(out, cases[i].accept);
	}
	memset(longkey, 'a', 100);
	longkey[100] = '\0';
	ws_handshake_accept(longkey, out);
	assert_string_equal(out, "+taVhj8zzaJPYE6HHo1ugamK/Ug=");
}

static void base64_matches_rfc_4648_vectors(void **state)
{
	char out[16];

	/* RFC 4648 section 10. */
	base64_encode((const uint8_t *)"", 0, out);
	assert_string_equal(out, "");
	base64_encode((const uint8_t *)"f", 1, out);
	assert_string_equal(out, "Zg==");
	base64_encode((const uint8_t *)"fo", 2, out);
	assert_string_equal(out, "Zm8=");
	base64_encode((const uint8_t *)"foobar", 6, out);
	assert_string_equal(out, "Zm9vYmFy");
}

static void keys_are_24_chars_and_differ(void **state)
{
	char a[WS_KEY_LEN + 1], b[WS_KEY_LEN + 1];

	assert_int_equal(ws_handshake_key(a), 0);
	assert_int_equal(ws_handshake_key(b), 0);
	assert_int_equal(strlen(a), WS_KEY_LEN);
	assert_string_equal(a + 22, "==");
	assert_string_not_equal(a, b);
}

static void handshake_request_is_exact_and_refuses_header_smuggling(void **state)
{
	char *req = NULL;

	assert_int_equal(ws_handshake_request("lxd", "/1.0/events?type=x",
					      "dGhlIHNhbXBsZSBub25jZQ==", &req),
			 0);
	assert_string_equal(req,
			    "GET /1.0/events?type=x HTTP/1.1\r\n"
			    "Host: lxd\r\n"
			    "Upgrade: websocket\r\n"
			    "Connection: Upgrade\r\n"
			    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			    "Sec-WebSocket-Version: 13\r\n\r\n");
	free(req);
	/* No header smuggling through the target or the host. */
	assert_int_equal(ws_handshake_request("lxd", "/a\r\nX: y", "k", &req),
			 -EINVAL);
	assert_int_equal(ws_handshake_request("l d", "/a", "k", &req), -EINVAL);
	assert_int_equal(ws_handshake_request("lxd", "a", "k", &req), -EINVAL);
}

static void handshake_check_needs_101_upgrade_and_the_right_accept(void **state)
{
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==";

	/* What LXD 5.0.2 answered (with its accept for our key). */
	assert_int_equal(
	    ws_handshake_check("HTTP/1.1 101 Switching Protocols\r\n"
			       "Upgrade: websocket\r\n"
			       "Connection: Upgrade\r\n"
			       "Sec-WebSocket-Accept: "
			       "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
			       key),
	    0);
	assert_int_equal(
	    ws_handshake_check("HTTP/1.1 101 OK\r\n"
			       "upgrade:WebSocket\r\n"
			       "sec-websocket-accept:  "
			       "s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n\r\n",
			       key),
	    0);
	assert_int_equal(
	    ws_handshake_check("HTTP/1.1 101 OK\r\n"
			       "Upgrade: websocket\r\n"
			       "Sec-WebSocket-Accept: "
			       "RMa4GaqbHHV6HUwjB9HwBup6SDc=\r\n\r\n",
			       key),
	    -EPROTO);
	assert_int_equal(
	    ws_handshake_check("HTTP/1.1 101 OK\r\n"
			       "Sec-WebSocket-Accept: "
			       "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
			       key),
	    -EPROTO);
	assert_int_equal(ws_handshake_check("HTTP/1.1 400 Bad Request\r\n"
					    "Content-Length: 0\r\n\r\n",
					    key),
			 -EPROTO);
	assert_int_equal(ws_handshake_check("garbage\r\n\r\n", key), -EPROTO);
	assert_int_equal(ws_handshake_check("", key), -EPROTO);
}

/* One frame of each length class comes out whole. */
static void frames_of_every_length_class_decode_whole(void **state)
{
	static const size_t lens[] = {0,   1,	  125,	 126,
				      127, 65535, 65536, 300000};
	size_t max = 300000 + 16;
	uint8_t *payload = malloc(max), *wire = malloc(max);

	for (size_t i = 0; i < max; i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct ws_decoder *d = NULL;
		struct ws_message msg;
		assert_int_equal(ws_decoder_new(&d, WS_MAX_MESSAGE_DEFAULT), 0);
		size_t n =
		    server_frame(wire, true, WS_OP_BINARY, payload, lens[i]);
		assert_int_equal(n, lens[i] + (lens[i] < 126	 ? 2
					       : lens[i] < 65536 ? 4
								 : 10));
		feed_one(d, wire, n, &msg);
		assert_int_equal(msg.opcode, WS_OP_BINARY);
		assert_int_equal(msg.len, lens[i]);
		assert_memory_equal(msg.data, payload, lens[i]);
		assert_int_equal(msg.data[msg.len], '\0');
		ws_decoder_free(d);
	}
	free(payload);
	free(wire);
}

/* Fragments reassemble; a ping between them comes out on its own. */
static void fragments_reassemble_around_a_ping(void **state)
{
	uint8_t wire[256];
	size_t n = 0, used;
	struct ws_decoder *d = NULL;
	struct ws_message msg;

	n += server_frame(wire + n, false, WS_OP_TEXT, "Hel", 3);
	n += server_frame(wire + n, true, WS_OP_PING, "keepalive", 9);
	n += server_frame(wire + n, false, WS_OP_CONTINUATION, "lo ", 3);
	n += server_frame(wire + n, false, WS_OP_CONTINUATION, "", 0);
	n += server_frame(wire + n, true, WS_OP_CONTINUATION, "world", 5);
	assert_int_equal(ws_decoder_new(&d, 64), 0);

	assert_int_equal(ws_decoder_feed(d, wire, n, &used, &msg), WS_MESSAGE);
	assert_int_equal(msg.opcode, WS_OP_PING);
	assert_int_equal(msg.len, 9);
	assert_memory_equal(msg.data, "keepalive", 9);
	size_t off = used;
	assert_int_equal(ws_decoder_feed(d, wire + off, n - off, &used, &msg),
			 WS_MESSAGE);
	assert_int_equal(off + used, n);
	assert_int_equal(msg.opcode, WS_OP_TEXT);
	assert_string_equal((const char *)msg.data, "Hello world");
	/* The next message starts afresh. */
	n = server_frame(wire, true, WS_OP_TEXT, "x", 1);
	feed_one(d, wire, n, &msg);
	assert_string_equal((const char *)msg.data, "x");
	ws_decoder_free(d);
}

static void close_frame_gives_code_and_reason(void **state)
{
	uint8_t wire[64];
	struct ws_decoder *d = NULL;
	struct ws_message msg;

	assert_int_equal(ws_decoder_new(&d, 64), 0);
	feed_one(d, wire,
		 server_frame(wire, true, WS_OP_CLOSE,
			      "\x03\xe8"
			      "bye",
			      5),
		 &msg);
	assert_int_equal(msg.opcode, WS_OP_CLOSE);
	assert_int_equal(msg.close_code, 1000);
	assert_int_equal(msg.len, 3);
	assert_memory_equal(msg.data, "bye", 3);
	feed_one(d, wire, server_frame(wire, true, WS_OP_CLOSE, NULL, 0), &msg);
	assert_int_equal(msg.close_code, WS_CLOSE_NO_STATUS);
	/* A one-byte close body cannot hold a status code. */
	assert_int_equal(
	    feed_all(d, wire, server_frame(wire, true, WS_OP_CLOSE, "x", 1)),
	    -EPROTO);
	ws_decoder_free(d);
}

/* Each malformed header is refused, and the decoder stays dead. */
static void protocol_violations_are_eproto_and_the_decoder_stays_dead(void **state)
{
	static const struct {
		const char *what;
		uint8_t bytes[12];
		size_t len;
	} cases[] = {
	    {"masked server frame", {0x81, 0x81, 1, 2, 3, 4, 'a'}, 7},
	    {"RSV1 set", {0xc1, 0x01, 'a'}, 3},
	    {"reserved data opcode", {0x83, 0x00}, 2},
	    {"reserved control opcode", {0x8b, 0x00}, 2},
	    {"continuation first", {0x80, 0x01, 'a'}, 3},
	    {"fragmented ping", {0x09, 0x00}, 2},
	    {"long ping", {0x89, 126, 0x00, 126}, 4},
	    {"64-bit length MSB", {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10},
	    {"text inside a fragmented text", {0x01, 0x01, 'a', 0x81, 0x00}, 5},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ws_decoder *d = NULL;
		uint8_t ok[8];
		print_message("%s\n", cases[i].what);
		assert_int_equal(ws_decoder_new(&d, 1024), 0);
		assert_int_equal(feed_all(d, cases[i].bytes, cases[i].len),
				 -EPROTO);
		/* Sticky: a good frame afterwards does not revive it. */
		assert_int_equal(
		    feed_all(d, ok, server_frame(ok, true, 1, "a", 1)),
		    -EPROTO);
		ws_decoder_free(d);
	}
}

static void message_over_the_cap_refused_the_cap_passes(void **state)
{
	uint8_t *wire = malloc(2100);
	static uint8_t payload[1001];
	struct ws_decoder *d = NULL;
	struct ws_message msg;
	size_t n;

	/* Exactly the cap is fine. */
	assert_int_equal(ws_decoder_new(&d, 1000), 0);
	feed_one(d, wire, server_frame(wire, true, WS_OP_TEXT, payload, 1000),
		 &msg);
	assert_int_equal(msg.len, 1000);
	/* One byte more fails on the header, before any payload arrives. */
	n = server_frame(wire, true, WS_OP_TEXT, payload, 1001);
	assert_int_equal(feed_all(d, wire, 4), -EMSGSIZE);
	ws_decoder_free(d);
	/* The cap holds across fragments too. */
	assert_int_equal(ws_decoder_new(&d, 1000), 0);
	n = server_frame(wire, false, WS_OP_TEXT, payload, 600);
	n += server_frame(wire + n, true, WS_OP_CONTINUATION, payload, 401);
	assert_int_equal(feed_all(d, wire, n), -EMSGSIZE);
	ws_decoder_free(d);
	/* A 2^62-byte length claim is refused, not allocated. */
	assert_int_equal(ws_decoder_new(&d, WS_MAX_MESSAGE_DEFAULT), 0);
	const uint8_t huge[] = {0x81, 127, 0x40, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(feed_all(d, huge, sizeof(huge)), -EMSGSIZE);
	ws_decoder_free(d);
	free(wire);
}

/* Reads a file of the test data directory. */
static uint8_t *read_data(const char *name, size_t *len)
{
	char path[4096];
	const char *src = getenv("DEVPASS_SOURCE_DIR");
	FILE *f;
	uint8_t *buf = malloc(1 << 20);

	snprintf(path, sizeof(path), "%s/tests/data/lxd-events/%s",
		 src ? src : ".", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* Decodes @wire in chunks of @chunk bytes; returns the messages joined. */
static size_t decode_chunked(const uint8_t *wire, size_t len, size_t chunk,
			     char *out, size_t size)
{
	struct ws_decoder *d = NULL;
	struct ws_message msg;
	size_t o = 0;

	assert_int_equal(ws_decoder_new(&d, WS_MAX_MESSAGE_DEFAULT), 0);
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk, used;
		for (size_t p = 0; p < n; p += used) {
			int r = ws_decoder_feed(d, wire + off + p, n - p, &used,
						&msg);
			assert_true(r >= 0);
			if (r != WS_MESSAGE)
				continue;
			assert_true(o + msg.len + 3 < size);
			o += (size_t)snprintf(out + o, size - o, "%d:%s\n",
					      msg.opcode, msg.data);
		}
	}
	ws_decoder_free(d);
	return o;
}

/* The bytes LXD 5.0.2 sent, fed whole, byte by byte and in odd chunks. */
static void lxd_capture_decodes_the_same_in_any_chunking(void **state)
{
	size_t len;
	uint8_t *wire = read_data("wire-lifecycle.bin", &len);
	static char whole[1 << 16], piece[1 << 16];
	size_t n = decode_chunked(wire, len, len, whole, sizeof(whole));

	/* A "keepalive" ping, then JSON text messages. */
	const char *start = "9:keepalive\n1:{\"type\":\"lifecycle\"";
	assert_true(strncmp(whole, start, strlen(start)) == 0);
	assert_non_null(strstr(whole, "instance-created"));
	for (size_t chunk = 1; chunk < 20; chunk++) {
		assert_int_equal(
		    decode_chunked(wire, len, chunk, piece, sizeof(piece)), n);
		assert_memory_equal(piece, whole, n);
	}
	free(wire);
}

static void client_frames_are_masked_as_rfc_6455_shows(void **state)
{
	const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
	uint8_t out[70000];
	static uint8_t big[65536];

	/* RFC 6455 5.7: a masked "Hello" (here as a pong). */
	assert_int_equal(
	    ws_frame_encode(WS_OP_PONG, "Hello", 5, mask, out, sizeof(out)),
	    11);
	const uint8_t want[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
				0x7f, 0x9f, 0x4d, 0x51, 0x58};
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(
	    ws_frame_encode(WS_OP_BINARY, big, 256, mask, out, sizeof(out)),
	    2 + 2 + 4 + 256);
	assert_int_equal(out[1], 0x80 | 126);
	assert_int_equal(
	    ws_frame_encode(WS_OP_BINARY, big, 65536, mask, out, sizeof(out)),
	    2 + 8 + 4 + 65536);
	assert_int_equal(out[1], 0x80 | 127);
	assert_int_equal(ws_frame_encode(WS_OP_PONG, "Hello", 5, mask, out, 10),
			 -ENOBUFS);
}

/* Reads what the client sent until the blank line; returns its key. */
static int fake_server_handshake(int fd)
{
	char req[4096] = "", accept[WS_ACCEPT_LEN + 1], resp[256];
	size_t len = 0;

	while (!strstr(req, "\r\n\r\n") && len < sizeof(req) - 1) {
		ssize_t n = read(fd, req + len, sizeof(req) - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	const char *key = strstr(req, "Sec-WebSocket-Key: ");
	if (!key || strncmp(req, "GET /t HTTP/1.1\r\n", 17) != 0)
		return -1;
	char k[WS_KEY_LEN + 1] = "";
	memcpy(k, key + 19, WS_KEY_LEN);
	ws_handshake_accept(k, accept);
	int n = snprintf(resp, sizeof(resp),
			 "HTTP/1.1 101 Switching Protocols\r\n"
			 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Accept: %s\r\n\r\n",
			 accept);
	return write(fd, resp, (size_t)n) == n ? 0 : -1;
}

/* Reads one masked client frame and checks opcode and payload. */
static int expect_client_frame(int fd, uint8_t op, const char *payload)
{
	uint8_t buf[256];
	size_t plen = strlen(payload), want = 6 + plen, len = 0;

	while (len < want) {
		ssize_t n = read(fd, buf + len, want - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	if (buf[0] != (0x80 | op) || buf[1] != (0x80 | plen))
		return -1;
	for (size_t i = 0; i < plen; i++)
		if ((buf[6 + i] ^ buf[2 + i % 4]) != (uint8_t)payload[i])
			return -1;
	return 0;
}

/* A fake server: 101, ping, text, close; wants a pong and a close back. */
static int fake_server(int fd)
{
	uint8_t wire[256];
	size_t n = 0;

	if (fake_server_handshake(fd) < 0)
		return 1;
	n += server_frame(wire + n, true, WS_OP_PING, "keepalive", 9);
	n += server_frame(wire + n, true, WS_OP_TEXT, "{}", 2);
	n += server_frame(wire + n, true, WS_OP_CLOSE, "\x03\xe9", 2);
	if (write(fd, wire, n) != (ssize_t)n)
		return 2;
	if (expect_client_frame(fd, WS_OP_PONG, "keepalive") < 0)
		return 3;
	if (expect_client_frame(fd, WS_OP_CLOSE, "\x03\xe9") < 0)
		return 4;
	return 0;
}

static void connection_answers_ping_and_close(void **state)
{
	int sv[2], status;
	struct ws_conn *c = NULL;
	struct ws_message msg;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(fake_server(sv[1]));
	}
	close(sv[1]);
	assert_int_equal(ws_conn_new(&c, sv[0], "lxd", "/t", 5000), 0);
	int r;
	while ((r = ws_conn_read(c, &msg)) == 0)
		;
	assert_int_equal(r, WS_MESSAGE);
	assert_string_equal((const char *)msg.data, "{}");
	while ((r = ws_conn_read(c, &msg)) == 0)
		;
	assert_int_equal(r, WS_CLOSED);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	ws_conn_free(c);
}

/* A server that answers 400 is refused with -EPROTO. */
static void connection_refuses_non_101_and_times_out_on_silence(void **state)
{
	int sv[2];
	struct ws_conn *c = NULL;
	const char resp[] = "HTTP/1.1 400 Bad Request\r\n\r\n";

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], resp, strlen(resp)), strlen(resp));
	assert_int_equal(ws_conn_new(&c, sv[0], "lxd", "/t", 2000), -EPROTO);
	/* A silent server times out instead of hanging. */
	int sv2[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2), 0);
	assert_int_equal(ws_conn_new(&c, sv2[0], "lxd", "/t", 200), -ETIMEDOUT);
	close(sv[1]);
	close(sv2[1]);
}

int main(void)
{
	struct CMUnitTest tests[] = {
	    cmocka_unit_test(accept_matches_rfc_6455_sample),
	    cmocka_unit_test(accept_is_right_at_sha1_block_edges),
	    cmocka_unit_test(base64_matches_rfc_4648_vectors),
	    cmocka_unit_test(keys_are_24_chars_and_differ),
	    cmocka_unit_test(handshake_request_is_exact_and_refuses_header_smuggling),
	    cmocka_unit_test(handshake_check_needs_101_upgrade_and_the_right_accept),
	    cmocka_unit_test(frames_of_every_length_class_decode_whole),
	    cmocka_unit_test(fragments_reassemble_around_a_ping),
	    cmocka_unit_test(close_frame_gives_code_and_reason),
	    cmocka_unit_test(protocol_violations_are_eproto_and_the_decoder_stays_dead),
	    cmocka_unit_test(message_over_the_cap_refused_the_cap_passes),
	    cmocka_unit_test(lxd_capture_decodes_the_same_in_any_chunking),
	    cmocka_unit_test(client_frames_are_masked_as_rfc_6455_shows),
	    cmocka_unit_test(connection_answers_ping_and_close),
	    cmocka_unit_test(connection_refuses_non_101_and_times_out_on_silence),
	};

	if (TEST_ORDER(tests) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
