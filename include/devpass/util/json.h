/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * DOC: JSON helpers shared by every layer (json-c).
 */

#include <json-c/json.h>
#include <stddef.h>

#include "devpass/util/common.h"

/* A string, or JSON null for NULL. */
json_object *json_string_or_null(const char *s);

/* A device-reported string: as it is when safe text, else escaped. */
json_object *json_device_string(const char *s);

/**
 * json_add() - put @v under @key of the object @o, which takes @v over;
 * on failure @v is released, so a caller never frees it by hand.
 * @v may be NULL (JSON null).
 * Return: 0 or -ENOMEM (not logged: the caller says what it was building).
 */
int json_add(json_object *o, const char *key, json_object *v);

/* json_add() of a new reference to @v (@o and @v's owner share it). */
int json_add_ref(json_object *o, const char *key, json_object *v);

/* An array of strings from a NULL-terminated list (empty for NULL). */
json_object *json_from_strv(char *const *v);

/**
 * json_parse_buffer() - parse all of @buf[0..len) as one strict JSON value
 * (valid UTF-8; trailing blanks allowed, nothing else).
 * @why: on -EBADMSG, what was wrong ("truncated at byte 12").
 * Return: 0 with *@out set (json_object_put() it), -EBADMSG, -ENOMEM
 * (logged).
 */
int json_parse_buffer(const char *buf, size_t len, json_object **out, char *why,
		      size_t why_size);
