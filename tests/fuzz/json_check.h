/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fuzz targets' check of a JSON reply, shared by the targets of the
 * telemetry socket (route_cmds, tele): one JSON object, strings closed,
 * escapes valid, no raw control bytes, brackets balanced, nothing after
 * the closing brace. Aborts on a broken reply (the fuzzer's crash).
 */
#ifndef WEIR_FUZZ_JSON_CHECK_H
#define WEIR_FUZZ_JSON_CHECK_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline void fuzz_check_json(const char *s, size_t len)
{
	char stack[64];
	int depth = 0;
	bool in_str = false;

	if (len < 2 || s[0] != '{')
		abort();
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if ((unsigned char)c < 0x20)
				abort();
			if (c == '\\') {
				if (++i >= len || !strchr("\"\\/bfnrtu", s[i]))
					abort();
			} else if (c == '"') {
				in_str = false;
			}
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (depth == (int)sizeof(stack))
				abort();
			stack[depth++] = c == '{' ? '}' : ']';
		} else if (c == '}' || c == ']') {
			if (!depth || stack[--depth] != c)
				abort();
			if (!depth && i != len - 1)
				abort();
		}
	}
	if (in_str || depth)
		abort();
}

#endif
