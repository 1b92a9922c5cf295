/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LXD's answers on arbitrary bytes: the reply envelope checked against its
 * HTTP status (lxd_response_parse()), then its metadata read as GET /1.0's
 * server and as GET /1.0/instances?recursion=1's list.
 *
 * Input (corpus/envelope/ holds real replies of LXD 5.0.2): a first line
 * "STATUS ETAG" (ETag "-" for none), then the body. Input without such a
 * line is a body answered with 200.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devpass/lxd/envelope.h"
#include "devpass/util/log.h"

#define HEAD_MAX 128

struct input {
	long status;
	char etag[HEAD_MAX];
	const char *body;
	size_t len;
};

static void input_split(const uint8_t *data, size_t size, struct input *in)
{
	const uint8_t *nl =
		memchr(data, '\n', size < HEAD_MAX ? size : HEAD_MAX);
	char head[HEAD_MAX];

	*in = (struct input){
		.status = 200, .body = (const char *)data, .len = size};
	if (!nl)
		return;
	memcpy(head, data, (size_t)(nl - data));
	head[nl - data] = '\0';
	char *sp = strchr(head, ' ');
	if (sp) {
		*sp = '\0';
		if (strcmp(sp + 1, "-") != 0)
			strcpy(in->etag, sp + 1);
	}
	in->status = strtol(head, NULL, 10);
	in->body = (const char *)nl + 1;
	in->len = size - (size_t)(nl + 1 - data);
}

static void check_response(int r, const struct lxd_response *resp)
{
	switch (r) {
	case 0:
		if (resp->type == LXD_RESPONSE_ERROR ||
		    resp->http_status >= 400)
			__builtin_trap();
		if (resp->type == LXD_RESPONSE_ASYNC &&
		    (!resp->operation || !resp->operation[0]))
			__builtin_trap();
		break;
	case -ESTALE:
	case -ENXIO:
	case -EIO:
	case -EAGAIN: /* a refusal for a passing reason (lxd_error_is_transient) */
		if (resp->type != LXD_RESPONSE_ERROR || !resp->error)
			__builtin_trap();
		break;
	case -EPROTO:
	case -ENOMEM:
		break;
	default:
		__builtin_trap();
	}
}

static void check_server(struct json_object *md)
{
	_cleanup_(lxd_server_freep) struct lxd_server *s = NULL;
	_cleanup_(freep) char *why = NULL;
	int r = lxd_server_parse(md, &s, &why);

	if (r == -EPROTO || r == -ENOMEM) {
		if (s)
			__builtin_trap();
		return;
	}
	if (r != 0 || !s || !s->api_extensions)
		__builtin_trap();
	(void)lxd_server_has_extension(s, "device_patch_removal");
}

static void check_instances(struct json_object *md)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;
	_cleanup_(freep) char *why = NULL;
	int r = lxd_instance_list_parse(md, &l, &why);

	if (r == -EPROTO || r == -ENOMEM) {
		if (l)
			__builtin_trap();
		return;
	}
	if (r != 0 || !l || (l->n && !l->items))
		__builtin_trap();
	for (size_t i = 0; i < l->n; i++)
		if (!l->items[i].name || !l->items[i].status ||
		    !json_object_is_type(l->items[i].devices, json_type_object))
			__builtin_trap();
}

/* GET /1.0/instances/NAME's metadata: one instance (the instance cache's
 * reads by name). */
static void check_instance(struct json_object *md)
{
	_cleanup_(lxd_instance_list_freep) struct lxd_instance_list *l = NULL;
	_cleanup_(freep) char *why = NULL;
	int r = lxd_instance_parse(md, &l, &why);

	if (r == -EPROTO || r == -ENOMEM) {
		if (l)
			__builtin_trap();
		return;
	}
	if (r != 0 || !l || l->n != 1 || !l->items[0].name ||
	    !l->items[0].status ||
	    !json_object_is_type(l->items[0].devices, json_type_object))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(lxd_response_clear) struct lxd_response resp = {0};
	struct input in;

	log_set_max_level(LOG_CRIT);
	input_split(data, size, &in);
	int r = lxd_response_parse(in.status, in.etag[0] ? in.etag : NULL,
				   in.body, in.len, &resp);
	check_response(r, &resp);
	if (in.etag[0] && !resp.etag && r != -ENOMEM)
		__builtin_trap();
	if (r != 0)
		return 0;
	check_server(resp.metadata);
	check_instances(resp.metadata);
	check_instance(resp.metadata);
	return 0;
}
