/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <curl/curl.h>
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
#include "request.h"

struct lxd_client {
	CURL *curl;
	char *socket_path;
	long connect_ms;
	long total_ms;
	lxd_client_hook_t after_read; /* tests only */
	void *after_read_userdata;
	char errbuf[CURL_ERROR_SIZE];
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

int lxd_client_new(const char *socket_path, struct lxd_client **out)
{
	if (strlen(socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return log_err_errno(-EINVAL, "LXD socket path too long: %s",
				     socket_path);
	_cleanup_(lxd_client_freep) struct lxd_client *c =
		calloc(1, sizeof(*c));
	if (!c || !(c->socket_path = strdup(socket_path)) ||
	    !(c->curl = curl_easy_init()))
		return log_err_errno(-ENOMEM,
				     "out of memory for an LXD client of %s",
				     socket_path);
	c->connect_ms = LXD_CONNECT_TIMEOUT_MS;
	c->total_ms = LXD_REQUEST_TIMEOUT_MS;
	*out = steal_ptr(&c);
	return 0;
}

void lxd_client_free(struct lxd_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
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

static void setup_handle(struct lxd_client *c, const char *method,
			 const char *url, const char *body, long total_ms,
			 struct curl_slist *headers, struct lxd_transfer *t)
{
	CURL *h = c->curl;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(body));
	}
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
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

static int transfer_run(struct lxd_client *c, const char *method,
			const char *path, struct json_object *body,
			const char *if_match, long total_ms,
			struct lxd_transfer *t, struct lxd_response *resp)
{
	_cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
	_cleanup_(freep) char *url = NULL;
	const char *text = NULL;
	int r;

	if (!path_ok(path) || (if_match && !header_value_ok(if_match)))
		return log_err_errno(-EINVAL, "refusing LXD request %s %s",
				     method, path);
	if (body && !(text = json_object_to_json_string_ext(
			      body, JSON_C_TO_STRING_PLAIN)))
		return -ENOMEM;
	if ((r = build_headers(if_match, body, &headers)) < 0)
		return r;
	if (asprintf(&url, "http://lxd%s", path) < 0)
		return -ENOMEM;
	setup_handle(c, method, url, text, total_ms, headers, t);
	c->errbuf[0] = '\0';
	CURLcode cc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->http_status);
	if (cc == CURLE_OK)
		return 0;
	r = transport_error(c, cc, t);
	if (t->too_large)
		set_error(resp, "answer larger than %u bytes",
			  LXD_MAX_RESPONSE);
	else
		set_error(resp, "%s",
			  c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
	return r;
}

static int request_timed(struct lxd_client *c, const char *method,
			 const char *path, struct json_object *body,
			 const char *if_match, long total_ms,
			 struct lxd_response *resp)
{
	_cleanup_(transfer_clear) struct lxd_transfer t = {0};
	int r;

	lxd_response_clear(resp);
	r = transfer_run(c, method, path, body, if_match, total_ms, &t, resp);
	if (r == 0)
		r = lxd_response_parse(resp->http_status, t.etag, t.body, t.len,
				       resp);
	if (r == -ESTALE || r == -ENXIO || r == -EIO)
		log_debug("LXD %s %s: %s", method, path, resp->error);
	else if (r == -ENOMEM)
		log_err("LXD %s %s: out of memory", method, path);
	else if (r < 0 && r != -EINVAL) /* -EINVAL: logged by transfer_run() */
		log_err("LXD %s %s on %s failed: %s (%s)", method, path,
			c->socket_path, resp->error ? resp->error : "",
			strerror(-r));
	return r;
}

int lxd_request(struct lxd_client *c, const char *method, const char *path,
		struct json_object *body, const char *if_match,
		struct lxd_response *resp)
{
	return request_timed(c, method, path, body, if_match, c->total_ms,
			     resp);
}

int lxd_server_get(struct lxd_client *c, struct lxd_server **out)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	_cleanup_(freep) char *why = NULL;
	int r = lxd_request(c, "GET", "/1.0", NULL, NULL, &resp);

	if (r < 0)
		return r;
	if ((r = lxd_server_parse(resp.metadata, out, &why)) < 0)
		return log_err_errno(r, "LXD GET /1.0: malformed answer: %s",
				     why ? why : strerror(-r));
	return 0;
}

int lxd_instances_list(struct lxd_client *c, const char *project,
		       struct lxd_instance_list **out)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	_cleanup_(freep) char *p = lxd_path_escape(project);
	_cleanup_(freep) char *path = NULL;
	_cleanup_(freep) char *why = NULL;
	int r;

	if (!p ||
	    asprintf(&path, "/1.0/instances?recursion=1&project=%s", p) < 0)
		return log_err_errno(-ENOMEM, "out of memory");
	if ((r = lxd_request(c, "GET", path, NULL, NULL, &resp)) < 0)
		return r;
	if ((r = lxd_instance_list_parse(resp.metadata, out, &why)) < 0)
		return log_err_errno(r, "LXD GET %s: malformed answer: %s",
				     path, why ? why : strerror(-r));
	return 0;
}

int lxd_instance_path(const char *project, const char *name, char **out)
{
	_cleanup_(freep) char *n = lxd_path_escape(name);
	_cleanup_(freep) char *p = lxd_path_escape(project);

	if (!n || !p || asprintf(out, "/1.0/instances/%s?project=%s", n, p) < 0)
		return log_err_errno(-ENOMEM, "out of memory");
	return 0;
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
	if ((r = lxd_request(c, "GET", path, NULL, NULL, &resp)) < 0)
		return r;
	if (!resp.metadata ||
	    !json_object_is_type(resp.metadata, json_type_object) || !resp.etag)
		return log_err_errno(-EPROTO,
				     "LXD GET %s: no instance object or ETag",
				     path);
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

int lxd_operation_wait(struct lxd_client *c, const char *op_path, int timeout_s,
		       char **lxd_error)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	_cleanup_(freep) char *path = NULL;
	int status = 0, r;

	if ((r = wait_path(op_path, timeout_s, &path)) < 0)
		return r;
	r = request_timed(c, "GET", path, NULL, NULL,
			  c->total_ms + timeout_s * 1000L, &resp);
	/* Incus says a failed operation's error in the wait's envelope, LXD
	 * in the operation's "err" (below). */
	if (r == -EIO && lxd_error && resp.error &&
	    !(*lxd_error = strdup(resp.error)))
		return log_err_errno(-ENOMEM, "out of memory");
	if (r < 0)
		return r;
	if (operation_status(resp.metadata, &status) < 0)
		return log_err_errno(-EPROTO, "LXD %s: malformed operation",
				     path);
	if (status == LXD_OP_SUCCESS)
		return 0;
	if (status != LXD_OP_FAILURE && status != LXD_OP_CANCELLED)
		return log_err_errno(-ETIMEDOUT,
				     "LXD %s: still running after %d s",
				     op_path, timeout_s);
	if (lxd_error && (r = operation_error(resp.metadata, lxd_error)) < 0)
		return r;
	return -EIO;
}
