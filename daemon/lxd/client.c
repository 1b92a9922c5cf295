/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <curl/curl.h>
#include <poll.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "devpass/util/json.h"
#include "devpass/util/log.h"
#include "devpass/lxd/client.h"
#include "devpass/util/text.h"
#include "multi.h"
#include "request.h"

struct lxd_client {
	char *socket_path;
	long connect_ms;
	long total_ms;
	struct lxd_multi *multi;
	struct lxd_call *calls; /* in flight, for lxd_client_free() */
	bool closing;
	lxd_client_hook_t after_read; /* tests only */
	void *after_read_userdata;
};

/* What one transfer collects: the body, bounded, and the ETag header. */
struct lxd_transfer {
	char *body;
	size_t len;
	size_t cap;
	bool too_large;
	bool no_memory;
	char *etag;
};

/* One request in flight: its handle, what it collects, whom it tells. */
struct lxd_call {
	struct lxd_client *c;
	CURL *easy;
	struct curl_slist *headers;
	char *method;
	char *path;
	struct lxd_transfer t;
	lxd_request_done_t done;
	void *userdata;
	struct lxd_call *prev, *next;
	char errbuf[CURL_ERROR_SIZE];
};

DEFINE_FREEP(struct curl_slist, curl_slist_free_all)

static void transfer_clear(struct lxd_transfer *t)
{
	free(t->body);
	free(t->etag);
}

static void set_error(struct lxd_response *r, const char *fmt, ...)
	_printf_(2, 3);

/* A transport failure's text, for the one log line of request_timed(). */
static void set_error(struct lxd_response *r, const char *fmt, ...)
{
	va_list ap;
	free(r->error);
	va_start(ap, fmt);
	r->error = text_vprintf(fmt, ap);
	va_end(ap);
}

static bool is_socket(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* $SOCKET, else $DIR/unix.socket, when it is a socket: into @found
 * (pointing at the environment or at @buf). */
static int socket_from_env(const char *socket_var, const char *dir_var,
			   char **buf, const char **found)
{
	const char *env = getenv(socket_var);
	const char *dir = getenv(dir_var);

	if (env && is_socket(env)) {
		*found = env;
		return 0;
	}
	if (!dir)
		return 0;
	free(*buf);
	if (!(*buf = text_printf("%s/unix.socket", dir)))
		return log_err_errno(-ENOMEM, "out of memory");
	if (is_socket(*buf))
		*found = *buf;
	return 0;
}

int lxd_socket_discover(const char *explicit_path, char **out)
{
	static const char *const fixed[] = {
		"/var/snap/lxd/common/lxd/unix.socket",
		"/var/lib/lxd/unix.socket",
		"/var/lib/incus/unix.socket",
	};
	_cleanup_(freep) char *from_dir = NULL;
	const char *found = explicit_path;
	int r;

	if (!found && (r = socket_from_env("LXD_SOCKET", "LXD_DIR", &from_dir,
					   &found)) < 0)
		return r;
	/* Incus's own names for the same: its client reads these. */
	if (!found && (r = socket_from_env("INCUS_SOCKET", "INCUS_DIR",
					   &from_dir, &found)) < 0)
		return r;
	for (size_t i = 0; !found && i < ARRAY_SIZE(fixed); i++)
		if (is_socket(fixed[i]))
			found = fixed[i];
	if (!found)
		return -ENOENT;
	if (!(*out = strdup(found)))
		return log_err_errno(-ENOMEM, "out of memory");
	return 0;
}

static void call_finish(CURL *easy, CURLcode cc);

int lxd_client_new(const char *socket_path, struct lxd_client **out)
{
	if (strlen(socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return log_err_errno(-EINVAL, "LXD socket path too long: %s",
				     socket_path);
	_cleanup_(lxd_client_freep) struct lxd_client *c =
		calloc(1, sizeof(*c));
	if (!c || !(c->socket_path = strdup(socket_path)))
		return log_err_errno(-ENOMEM,
				     "out of memory for an LXD client of %s",
				     socket_path);
	int r = lxd_multi_new(call_finish, &c->multi);
	if (r < 0)
		return r;
	c->connect_ms = LXD_CONNECT_TIMEOUT_MS;
	c->total_ms = LXD_REQUEST_TIMEOUT_MS;
	*out = steal_ptr(&c);
	return 0;
}

static void call_cancel(struct lxd_call *call);

void lxd_client_free(struct lxd_client *c)
{
	if (!c)
		return;
	c->closing = true;
	while (c->calls)
		call_cancel(c->calls);
	lxd_multi_free(c->multi);
	free(c->socket_path);
	free(c);
}

void lxd_client_set_timeouts(struct lxd_client *c, long connect_ms,
			     long total_ms)
{
	c->connect_ms = connect_ms;
	c->total_ms = total_ms;
}

const char *lxd_client_socket_path(const struct lxd_client *c)
{
	return c->socket_path;
}

void lxd_client_set_after_read(struct lxd_client *c, lxd_client_hook_t fn,
			       void *userdata)
{
	c->after_read = fn;
	c->after_read_userdata = userdata;
}

void lxd_client_after_read(struct lxd_client *c)
{
	if (c->after_read)
		c->after_read(c->after_read_userdata);
}

char *lxd_path_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *p = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
			*p++ = (char)ch;
			continue;
		}
		*p++ = '%';
		*p++ = hex[ch >> 4];
		*p++ = hex[ch & 15];
	}
	*p = '\0';
	return out;
}

static size_t body_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct lxd_transfer *t = userdata;
	size_t n = size * nmemb;

	if (n > LXD_MAX_RESPONSE - t->len) {
		t->too_large = true;
		return 0; /* curl aborts the transfer */
	}
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 16384;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *grown = realloc(t->body, cap);
		if (!grown) {
			t->no_memory = true;
			return 0;
		}
		t->body = grown;
		t->cap = cap;
	}
	memcpy(t->body + t->len, data, n);
	t->len += n;
	t->body[t->len] = '\0';
	return n;
}

/* Keeps the ETag header's value, without surrounding blanks or CRLF. */
static size_t header_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct lxd_transfer *t = userdata;
	size_t n = size * nmemb, len;

	if (n < 5 || strncasecmp(data, "ETag:", 5) != 0)
		return n;
	const char *v = data + 5;
	len = n - 5;
	while (len > 0 && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len > 0 && strchr(" \t\r\n", v[len - 1]))
		len--;
	free(t->etag);
	t->etag = strndup(v, len);
	return t->etag ? n : 0;
}

/* Header values come from the server (ETags); refuse anything that could
 * smuggle a second header line. */
static bool header_value_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool path_ok(const char *path)
{
	if (path[0] != '/')
		return false;
	for (; *path; path++)
		if ((unsigned char)*path <= 0x20 ||
		    (unsigned char)*path >= 0x7f)
			return false;
	return true;
}

static int build_headers(const char *if_match, bool has_body,
			 struct curl_slist **out)
{
	_cleanup_(curl_slist_free_allp) struct curl_slist *l = NULL;
	_cleanup_(freep) char *im = NULL;
	struct curl_slist *n;

	/* No "Expect: 100-continue" round trip for large PUT bodies. */
	if (!(n = curl_slist_append(l, "Expect:")))
		return -ENOMEM;
	l = n;
	if (has_body) {
		if (!(n = curl_slist_append(l,
					    "Content-Type: application/json")))
			return -ENOMEM;
		l = n;
	}
	if (if_match) {
		if (asprintf(&im, "If-Match: %s", if_match) < 0)
			return -ENOMEM;
		if (!(n = curl_slist_append(l, im)))
			return -ENOMEM;
		l = n;
	}
	*out = steal_ptr(&l);
	return 0;
}

static void setup_handle(const struct lxd_client *c, struct lxd_call *call,
			 const char *url, const char *body, long total_ms)
{
	CURL *h = call->easy;

	curl_easy_setopt(h, CURLOPT_PRIVATE, call);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &call->t);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &call->t);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, call->headers);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(body));
		curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body);
	}
	if (strcmp(call->method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
}

/* "Not there" and "there but dead" call for different advice. */
static int connect_error(const struct lxd_client *c)
{
	struct stat st;
	if (stat(c->socket_path, &st) < 0 && errno == ENOENT)
		return -ENOENT;
	if (access(c->socket_path, W_OK) < 0 && errno == EACCES)
		return -EACCES;
	return -ECONNREFUSED;
}

static int transport_error(const struct lxd_client *c, CURLcode cc,
			   const struct lxd_transfer *t)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		return connect_error(c);
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_WRITE_ERROR:
		return t->no_memory ? -ENOMEM : -EPROTO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		return -ECONNRESET;
	default:
		return -EPROTO;
	}
}

static void call_free(struct lxd_call *call)
{
	if (!call)
		return;
	if (call->easy)
		curl_easy_cleanup(call->easy);
	curl_slist_free_all(call->headers);
	transfer_clear(&call->t);
	free(call->method);
	free(call->path);
	free(call);
}
DEFINE_FREEP(struct lxd_call, call_free)

static void call_unlink(struct lxd_call *call)
{
	struct lxd_client *c = call->c;
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
}

/* Logs a failed request once, as the DOC of client.h says. */
static void call_log(const struct lxd_call *call, int r,
		     const struct lxd_response *resp)
{
	const char *m = call->method, *p = call->path;

	if (r == -ESTALE || r == -ENXIO || r == -EIO || r == -EAGAIN)
		log_debug("LXD %s %s: %s", m, p, resp->error);
	else if (r == -ENOMEM)
		log_err("LXD %s %s: out of memory", m, p);
	else if (r < 0)
		log_err("LXD %s %s on %s failed: %s (%s)", m, p,
			call->c->socket_path, resp->error ? resp->error : "",
			strerror(-r));
}

/* The end of a transfer: parse, log, tell the caller, free. */
static void call_finish(CURL *easy, CURLcode cc)
{
	struct lxd_call *found = NULL;
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	int r;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&found);
	_cleanup_(call_freep) struct lxd_call *call = found;
	call_unlink(call);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp.http_status);
	if (cc == CURLE_OK) {
		r = lxd_response_parse(resp.http_status, call->t.etag,
				       call->t.body, call->t.len, &resp);
	} else {
		r = transport_error(call->c, cc, &call->t);
		if (call->t.too_large)
			set_error(&resp, "answer larger than %u bytes",
				  LXD_MAX_RESPONSE);
		else
			set_error(&resp, "%s",
				  call->errbuf[0] ? call->errbuf
						  : curl_easy_strerror(cc));
	}
	call_log(call, r, &resp);
	call->done(r, &resp, call->userdata);
}

/* Ends @call unfinished: its caller hears -ECANCELED. */
static void call_cancel(struct lxd_call *doomed)
{
	_cleanup_(call_freep) struct lxd_call *call = doomed;
	struct lxd_response resp = {0};

	call_unlink(call);
	lxd_multi_remove(call->c->multi, call->easy);
	call->done(-ECANCELED, &resp, call->userdata);
	lxd_response_clear(&resp);
}

/* A new call with its handle, headers and names; not started. */
static int call_new(struct lxd_client *c, const char *method, const char *path,
		    bool has_body, const char *if_match, struct lxd_call **out)
{
	_cleanup_(call_freep) struct lxd_call *call = calloc(1, sizeof(*call));

	if (!call || !(call->easy = curl_easy_init()) ||
	    !(call->method = strdup(method)) || !(call->path = strdup(path)) ||
	    build_headers(if_match, has_body, &call->headers) < 0)
		return log_err_errno(-ENOMEM, "LXD %s %s: out of memory",
				     method, path);
	call->c = c;
	*out = steal_ptr(&call);
	return 0;
}

int lxd_request_start(struct lxd_client *c, const char *method,
		      const char *path, struct json_object *body,
		      const char *if_match, long extra_ms,
		      lxd_request_done_t done, void *userdata)
{
	_cleanup_(call_freep) struct lxd_call *call = NULL;
	_cleanup_(freep) char *url = NULL;
	const char *text = NULL;
	int r;

	if (c->closing)
		return -ECANCELED;
	if (!path_ok(path) || (if_match && !header_value_ok(if_match)))
		return log_err_errno(-EINVAL, "refusing LXD request %s %s",
				     method, path);
	if ((r = call_new(c, method, path, body, if_match, &call)) < 0)
		return r;
	if ((body && !(text = json_object_to_json_string_ext(
			       body, JSON_C_TO_STRING_PLAIN))) ||
	    asprintf(&url, "http://lxd%s", path) < 0)
		return log_err_errno(-ENOMEM, "LXD %s %s: out of memory",
				     method, path);
	call->done = done;
	call->userdata = userdata;
	setup_handle(c, call, url, text, c->total_ms + extra_ms);
	if ((r = lxd_multi_add(c->multi, call->easy)) < 0)
		return r;
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = steal_ptr(&call);
	return 0;
}

int lxd_client_get_fd(const struct lxd_client *c)
{
	return lxd_multi_get_fd(c->multi);
}

void lxd_client_dispatch(struct lxd_client *c)
{
	lxd_multi_dispatch(c->multi);
}

int lxd_client_run(struct lxd_client *c, const bool *done)
{
	struct pollfd pfd = {.fd = lxd_client_get_fd(c), .events = POLLIN};

	while (!*done) {
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return log_err_errno(-errno, "poll: %m");
		lxd_client_dispatch(c);
	}
	return 0;
}

/* What a blocking request waits for. */
struct waiter {
	bool done;
	int r;
	struct lxd_response *resp;
};

static void waiter_done(int r, struct lxd_response *resp, void *userdata)
{
	struct waiter *w = userdata;
	*w->resp = *resp;
	*resp = (struct lxd_response){0};
	w->r = r;
	w->done = true;
}

/* The blocking form of every request: start it, run until it ends. */
static int request_wait(struct lxd_client *c, const char *method,
			const char *path, struct json_object *body,
			const char *if_match, long extra_ms,
			struct lxd_response *resp)
{
	struct waiter w = {.resp = resp};

	lxd_response_clear(resp);
	int r = lxd_request_start(c, method, path, body, if_match, extra_ms,
				  waiter_done, &w);
	if (r < 0)
		return r;
	if ((r = lxd_client_run(c, &w.done)) < 0)
		return r;
	return w.r;
}

int lxd_request(struct lxd_client *c, const char *method, const char *path,
		struct json_object *body, const char *if_match,
		struct lxd_response *resp)
{
	return request_wait(c, method, path, body, if_match, 0, resp);
}

/* What an asynchronous typed read hands to its caller. */
struct read_ctx {
	union {
		lxd_server_done_t server;
		lxd_instances_done_t instances;
		lxd_instance_done_t instance;
		lxd_operation_done_t operation;
	} fn;
	void *userdata;
	char *path;
};

static void read_ctx_free(struct read_ctx *x)
{
	if (x)
		free(x->path);
	free(x);
}
DEFINE_FREEP(struct read_ctx, read_ctx_free)

static int read_ctx_new(const char *path, void *userdata, struct read_ctx **out)
{
	_cleanup_(read_ctx_freep) struct read_ctx *x = calloc(1, sizeof(*x));
	if (!x || !(x->path = strdup(path)))
		return log_err_errno(-ENOMEM, "LXD GET %s: out of memory",
				     path);
	x->userdata = userdata;
	*out = steal_ptr(&x);
	return 0;
}

/* Starts a GET whose answer @cb parses; @x goes to @cb. */
static int read_start(struct lxd_client *c, struct read_ctx *x, long extra_ms,
		      lxd_request_done_t cb)
{
	_cleanup_(read_ctx_freep) struct read_ctx *owned = x;
	int r = lxd_request_start(c, "GET", x->path, NULL, NULL, extra_ms, cb,
				  x);
	if (r == 0)
		owned = NULL;
	return r;
}

static int server_from(const char *path, struct lxd_response *resp,
		       struct lxd_server **out)
{
	_cleanup_(freep) char *why = NULL;
	int r = lxd_server_parse(resp->metadata, out, &why);
	if (r < 0)
		return log_err_errno(r, "LXD GET %s: malformed answer: %s",
				     path, why ? why : strerror(-r));
	return 0;
}

static void server_done(int r, struct lxd_response *resp, void *userdata)
{
	_cleanup_(read_ctx_freep) struct read_ctx *x = userdata;
	struct lxd_server *s = NULL;

	if (r == 0)
		r = server_from(x->path, resp, &s);
	x->fn.server(r, s, x->userdata);
}

int lxd_server_get_start(struct lxd_client *c, lxd_server_done_t done,
			 void *userdata)
{
	struct read_ctx *x = NULL;
	int r = read_ctx_new("/1.0", userdata, &x);
	if (r < 0)
		return r;
	x->fn.server = done;
	return read_start(c, x, 0, server_done);
}

int lxd_server_get(struct lxd_client *c, struct lxd_server **out)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	int r = lxd_request(c, "GET", "/1.0", NULL, NULL, &resp);

	return r < 0 ? r : server_from("/1.0", &resp, out);
}

static int list_path(const char *project, char **out)
{
	_cleanup_(freep) char *p = lxd_path_escape(project);

	if (!p || asprintf(out, "/1.0/instances?recursion=1&project=%s", p) < 0)
		return log_err_errno(-ENOMEM, "out of memory");
	return 0;
}

static int list_from(const char *path, struct lxd_response *resp,
		     struct lxd_instance_list **out)
{
	_cleanup_(freep) char *why = NULL;
	int r = lxd_instance_list_parse(resp->metadata, out, &why);
	if (r < 0)
		return log_err_errno(r, "LXD GET %s: malformed answer: %s",
				     path, why ? why : strerror(-r));
	return 0;
}

static void list_done(int r, struct lxd_response *resp, void *userdata)
{
	_cleanup_(read_ctx_freep) struct read_ctx *x = userdata;
	struct lxd_instance_list *l = NULL;

	if (r == 0)
		r = list_from(x->path, resp, &l);
	x->fn.instances(r, l, x->userdata);
}

int lxd_instances_list_start(struct lxd_client *c, const char *project,
			     lxd_instances_done_t done, void *userdata)
{
	_cleanup_(freep) char *path = NULL;
	struct read_ctx *x = NULL;
	int r = list_path(project, &path);

	if (r < 0 || (r = read_ctx_new(path, userdata, &x)) < 0)
		return r;
	x->fn.instances = done;
	return read_start(c, x, 0, list_done);
}

int lxd_instances_list(struct lxd_client *c, const char *project,
		       struct lxd_instance_list **out)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	_cleanup_(freep) char *path = NULL;
	int r = list_path(project, &path);

	if (r < 0 || (r = lxd_request(c, "GET", path, NULL, NULL, &resp)) < 0)
		return r;
	return list_from(path, &resp, out);
}

int lxd_instance_path(const char *project, const char *name, char **out)
{
	_cleanup_(freep) char *n = lxd_path_escape(name);
	_cleanup_(freep) char *p = lxd_path_escape(project);

	if (!n || !p || asprintf(out, "/1.0/instances/%s?project=%s", n, p) < 0)
		return log_err_errno(-ENOMEM, "out of memory");
	return 0;
}

static int instance_from(const char *path, struct lxd_response *resp)
{
	if (!resp->metadata ||
	    !json_object_is_type(resp->metadata, json_type_object) ||
	    !resp->etag)
		return log_err_errno(-EPROTO,
				     "LXD GET %s: no instance object or ETag",
				     path);
	return 0;
}

static void instance_done(int r, struct lxd_response *resp, void *userdata)
{
	_cleanup_(read_ctx_freep) struct read_ctx *x = userdata;

	if (r == 0)
		r = instance_from(x->path, resp);
	x->fn.instance(r, r == 0 ? resp->metadata : NULL,
		       r == 0 ? resp->etag : NULL, x->userdata);
}

int lxd_instance_get_start(struct lxd_client *c, const char *project,
			   const char *name, lxd_instance_done_t done,
			   void *userdata)
{
	_cleanup_(freep) char *path = NULL;
	struct read_ctx *x = NULL;
	int r = lxd_instance_path(project, name, &path);

	if (r < 0 || (r = read_ctx_new(path, userdata, &x)) < 0)
		return r;
	x->fn.instance = done;
	return read_start(c, x, 0, instance_done);
}

int lxd_instance_get(struct lxd_client *c, const char *project,
		     const char *name, struct json_object **metadata,
		     char **etag)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	_cleanup_(freep) char *path = NULL;
	int r;

	if ((r = lxd_instance_path(project, name, &path)) < 0)
		return r;
	if ((r = lxd_request(c, "GET", path, NULL, NULL, &resp)) < 0 ||
	    (r = instance_from(path, &resp)) < 0)
		return r;
	*metadata = steal_ptr(&resp.metadata);
	*etag = steal_ptr(&resp.etag);
	return 0;
}

/* "/1.0/operations/ID[?query]" -> "/1.0/operations/ID/wait?timeout=N[&query]"
 */
static int wait_path(const char *op_path, int timeout_s, char **out)
{
	static const char prefix[] = "/1.0/operations/";
	const char *q = strchr(op_path, '?');
	int len = q ? (int)(q - op_path) : (int)strlen(op_path);

	if (strncmp(op_path, prefix, sizeof(prefix) - 1) != 0 ||
	    !path_ok(op_path))
		return log_err_errno(-EPROTO, "LXD gave a bad operation: %s",
				     op_path);
	if (asprintf(out, "%.*s/wait?timeout=%d%s%s", len, op_path, timeout_s,
		     q ? "&" : "", q ? q + 1 : "") < 0)
		return log_err_errno(-ENOMEM, "out of memory");
	return 0;
}

/* Operation status codes of the LXD API. */
enum {
	LXD_OP_SUCCESS = 200,
	LXD_OP_FAILURE = 400,
	LXD_OP_CANCELLED = 401,
};

/* The operation's "status_code" (0 when absent), or -EPROTO. */
static int operation_status(struct json_object *md, int *status)
{
	struct json_object *v = NULL;

	if (!md || !json_object_is_type(md, json_type_object))
		return -EPROTO;
	if (!json_object_object_get_ex(md, "status_code", &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -EPROTO;
	*status = json_object_get_int(v);
	return 0;
}

/* The failed operation's "err", or a stand-in when LXD gave none. */
static int operation_error(struct json_object *md, char **out)
{
	struct json_object *v;

	if (json_object_object_get_ex(md, "err", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0)
		*out = strdup(json_object_get_string(v));
	else
		*out = strdup("operation failed without a reason");
	return *out ? 0 : log_err_errno(-ENOMEM, "out of memory");
}

/* The operation's end: 0, -EIO with LXD's reason, -ETIMEDOUT, -EPROTO. */
static int operation_from(const char *path, struct lxd_response *resp,
			  char **lxd_error)
{
	int status = 0, r;

	if (operation_status(resp->metadata, &status) < 0)
		return log_err_errno(-EPROTO, "LXD %s: malformed operation",
				     path);
	if (status == LXD_OP_SUCCESS)
		return 0;
	if (status != LXD_OP_FAILURE && status != LXD_OP_CANCELLED)
		return log_err_errno(-ETIMEDOUT, "LXD %s: still running", path);
	if ((r = operation_error(resp->metadata, lxd_error)) < 0)
		return r;
	return lxd_error_is_transient(*lxd_error) ? -EAGAIN : -EIO;
}

/* The wait's answer: Incus says a failed operation's error in the wait's
 * envelope (HTTP 200, error_code 500), LXD in the operation's "err". */
static int operation_result(int r, const char *path, struct lxd_response *resp,
			    char **why)
{
	if (r == -EIO && resp->error) {
		*why = steal_ptr(&resp->error);
		return lxd_error_is_transient(*why) ? -EAGAIN : -EIO;
	}
	return r < 0 ? r : operation_from(path, resp, why);
}

static void operation_done(int r, struct lxd_response *resp, void *userdata)
{
	_cleanup_(read_ctx_freep) struct read_ctx *x = userdata;
	_cleanup_(freep) char *why = NULL;

	r = operation_result(r, x->path, resp, &why);
	x->fn.operation(r, why, x->userdata);
}

int lxd_operation_wait_start(struct lxd_client *c, const char *op_path,
			     int timeout_s, lxd_operation_done_t done,
			     void *userdata)
{
	_cleanup_(freep) char *path = NULL;
	struct read_ctx *x = NULL;
	int r = wait_path(op_path, timeout_s, &path);

	if (r < 0 || (r = read_ctx_new(path, userdata, &x)) < 0)
		return r;
	x->fn.operation = done;
	return read_start(c, x, timeout_s * 1000L, operation_done);
}

int lxd_operation_wait(struct lxd_client *c, const char *op_path, int timeout_s,
		       char **lxd_error)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	_cleanup_(freep) char *path = NULL, *why = NULL;
	int r = wait_path(op_path, timeout_s, &path);

	if (r < 0)
		return r;
	r = request_wait(c, "GET", path, NULL, NULL, timeout_s * 1000L, &resp);
	r = operation_result(r, path, &resp, &why);
	if (r == -EIO && lxd_error)
		*lxd_error = steal_ptr(&why);
	return r;
}
