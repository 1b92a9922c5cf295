/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Characters base64_encode() writes for @len bytes, without the NUL. */
#define BASE64_ENCODED_LEN(len) (4 * (((len) + 2) / 3))

/**
 * base64_encode() - standard base64 (RFC 4648 section 4) with padding.
 * @in: bytes.
 * @len: how many.
 * @out: room for BASE64_ENCODED_LEN(@len) + 1 characters (NUL-terminated).
 */
void base64_encode(const uint8_t *in, size_t len, char *out);
