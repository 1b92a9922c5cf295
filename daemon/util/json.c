/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "devpass/util/json.h"
#include "devpass/util/log.h"
#include "devpass/util/text.h"

json_object *json_string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

int json_add(json_object *o, const char *key, json_object *v)
{
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

int json_add_ref(json_object *o, const char *key, json_object *v)
{
	return json_add(o, key, json_object_get(v));
}

json_object *json_from_strv(char *const *v)
{
	json_object *a = json_object_new_array();
	for (; a && v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

json_object *json_device_string(const char *s)
{
	if (!s)
		return NULL;
	if (text_is_safe(s))
		return json_object_new_string(s);
	_cleanup_(freep) char *p = text_escape_dup(s);
	return p ? json_object_new_string(p) : NULL;
}

static bool only_blanks(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(" \t\r\n", s[i]))
			return false;
	return true;
}

/* One strict value from @buf; what stopped the parser goes to @why. */
static int parse_value(const char *buf, size_t len, json_object **out,
		       char *why, size_t why_size)
{
	_cleanup_(json_tokener_freep) struct json_tokener *tok =
		json_tokener_new();
	if (!tok)
		return log_err_errno(-ENOMEM, "Out of memory parsing JSON");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	_cleanup_(json_object_putp) json_object *o =
		json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (o && jerr == json_tokener_success &&
	    only_blanks(buf + end, len - end)) {
		*out = steal_ptr(&o);
		return 0;
	}
	snprintf(why, why_size, "%s at byte %zu",
		 jerr == json_tokener_continue	? "truncated"
		 : jerr == json_tokener_success ? "trailing data"
						: json_tokener_error_desc(jerr),
		 end);
	return -EBADMSG;
}

int json_parse_buffer(const char *buf, size_t len, json_object **out, char *why,
		      size_t why_size)
{
	if (len == 0 || len > INT_MAX) {
		snprintf(why, why_size, len ? "too large" : "empty");
		return -EBADMSG;
	}
	/* json-c's own UTF-8 check lets overlong forms, surrogates and code
	 * points above U+10FFFF through. */
	if (!text_utf8_valid(buf, len)) {
		snprintf(why, why_size, "not UTF-8");
		return -EBADMSG;
	}
	return parse_value(buf, len, out, why, why_size);
}
