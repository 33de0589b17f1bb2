// SPDX-License-Identifier: BSD-3-Clause
/*
 * JSON helpers for the apps' reports: string escaping (RFC 8259 section 7:
 * quote, backslash and control characters must be escaped; the rest
 * passes), a port's counters, and the summary's closing "leaked" member.
 */
#include <inttypes.h>

#include "weir/port.h"

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

void report_port_stats_json(FILE *o, const struct weir_port_stats *st)
{
	fprintf(o,
		",\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 ",\"rx_missed\":%" PRIu64
		",\"rx_nombuf\":%" PRIu64 ",\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
		",\"tx_errors\":%" PRIu64 ",\"tx_dropped\":%" PRIu64,
		st->ipackets, st->ibytes, st->imissed, st->rx_nombuf, st->opackets, st->obytes,
		st->oerrors, st->odropped);
}

void report_xstats_json(FILE *o, struct weir_port *port)
{
	struct weir_xstat xs[128];
	int n = weir_port_xstats_get(port, xs, (int)WEIR_ARRAY_SIZE(xs));

	fputc('{', o);
	for (int i = 0; i < n && i < (int)WEIR_ARRAY_SIZE(xs); i++) {
		fprintf(o, "%s", i ? "," : "");
		report_json_str(o, xs[i].name);
		fprintf(o, ":%" PRIu64, xs[i].value);
	}
	fputc('}', o);
}

void report_finish(FILE *o, const char *doc, size_t len, bool json, uint32_t leaked)
{
	if (json) {
		/* doc is one object: reopen it before its closing brace. */
		while (len && doc[len - 1] != '}')
			len--;
		if (!len)
			return;
		fprintf(o, "%.*s,\"leaked\":%u}\n", (int)(len - 1), doc, leaked);
		return;
	}
	fwrite(doc, 1, len, o);
	if (leaked)
		fprintf(o, "  %u packet buffers leaked\n", leaked);
}
