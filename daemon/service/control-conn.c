/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/socket.h>

#include "control-conn.h"
#include "devpass/util/log.h"

/* Once the request is in, the peer has this long to take the reply. */
#define CONN_REPLY_MS 10000

void conn_free(struct conn *c)
{
	if (!c)
		return;
	closep(&c->fd);
	free(c->reply);
	free(c);
}

/* The reply to send: @text and a newline; false on ENOMEM. */
static bool set_reply(struct conn *c, const char *text)
{
	size_t len = strlen(text);
	c->reply = malloc(len + 2);
	if (!c->reply)
		return false;
	memcpy(c->reply, text, len);
	c->reply[len] = '\n';
	c->reply[len + 1] = '\0';
	c->reply_len = len + 1;
	c->replying = true;
	return true;
}

struct conn *conn_new(int fd, bool root, long long deadline_ms)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		closep(&fd);
		return NULL;
	}
	c->fd = fd;
	c->deadline_ms = deadline_ms;
	if (!root &&
	    !set_reply(c, "{\"error\":\"only root may ask devpassd\"}")) {
		conn_free(c);
		return NULL;
	}
	return c;
}

/* The reply to the request line in c->request. */
static bool answer(struct conn *c, control_status_fn status, void *userdata)
{
	if (strcmp(c->request, "status") != 0)
		return set_reply(c, "{\"error\":\"unknown request\"}");
	_cleanup_(json_object_putp) json_object *reply = status(userdata);
	const char *text =
		reply ? json_object_to_json_string_ext(
				reply, JSON_C_TO_STRING_PLAIN |
					       JSON_C_TO_STRING_NOSLASHESCAPE)
		      : NULL;
	return set_reply(c, text ? text : "{\"error\":\"out of memory\"}");
}

/* Reads what is there; CONN_E_MORE until a whole line is in (then
 * answered), CONN_E_DONE on EOF, an error or a line too long. */
static int read_request(struct conn *c, control_status_fn status,
			void *userdata, long long now_ms)
{
	while (c->n_request + 1 < sizeof(c->request)) {
		ssize_t k = recv(c->fd, c->request + c->n_request,
				 sizeof(c->request) - 1 - c->n_request,
				 MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return CONN_E_MORE;
		if (k <= 0)
			return CONN_E_DONE;
		c->n_request += (size_t)k;
		c->request[c->n_request] = '\0';
		char *nl = strchr(c->request, '\n');
		if (nl) {
			*nl = '\0';
			c->deadline_ms = now_ms + CONN_REPLY_MS;
			if (!answer(c, status, userdata))
				log_err("out of memory answering a control "
					"client");
			return c->replying ? CONN_E_MORE : CONN_E_DONE;
		}
	}
	return CONN_E_DONE; /* no request of ours is that long */
}

static int write_reply(struct conn *c)
{
	while (c->reply_off < c->reply_len) {
		ssize_t k = send(c->fd, c->reply + c->reply_off,
				 c->reply_len - c->reply_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return CONN_E_MORE;
		if (k <= 0)
			return CONN_E_DONE;
		c->reply_off += (size_t)k;
	}
	return CONN_E_DONE;
}

int conn_step(struct conn *c, control_status_fn status, void *userdata,
	      long long now_ms)
{
	if (!c->replying) {
		int r = read_request(c, status, userdata, now_ms);
		if (r != CONN_E_MORE || !c->replying)
			return r;
	}
	return write_reply(c);
}
