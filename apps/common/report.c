// SPDX-License-Identifier: BSD-3-Clause
/*
 * JSON string escaping for the apps' reports (RFC 8259 section 7: quote,
 * backslash and control characters must be escaped; the rest passes).
 */
#include "report.h"

void report_json_str(FILE *o, const char *s)
{
	if (!s) {
		fputs("null", o);
		return;
	}
	fputc('"', o);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(o, "\\%c", c);
		else if (c < 0x20)
			fprintf(o, "\\u%04x", c);
		else
			fputc(c, o);
	}
	fputc('"', o);
}
