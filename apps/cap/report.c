// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-cap's reports: the live line, the telemetry / --json document and
 * the closing lines, tcpdump's "N captured, M dropped by weir, K dropped by
 * the kernel" first. "Captured" is what is in complete blocks of the files
 * (the writer's count), never what was merely taken off a port.
 */
#include <stdio.h>

#include "cap/cap.h"
#include "common/report.h"

void cap_totals(void *ctx, void *out)
{
	struct cap *c = ctx;
	struct cap_totals *t = out;

	*t = (struct cap_totals){0};
	for (int i = 0; i < c->nports; i++) {
		struct weir_pcapng_stats st;

		cap_port_stats(c, i, &st);
		t->recv += st.ifrecv;
		t->drop += st.ifdrop;
		t->kdrop += st.osdrop;
		for (uint16_t q = 0; q < c->nrx; q++)
			t->match += atomic_load_explicit(&c->rx[q].cnt[i].match,
							 memory_order_relaxed);
	}
	t->written = atomic_load_explicit(&c->written, memory_order_relaxed);
}

void cap_live(void *ctx, const void *prev, const void *cur, double dt)
{
	const struct cap_totals *a = prev, *b = cur;
	char r[32], w[32];

	(void)ctx;
	fprintf(stderr, "rx %spps  written %spps  total %llu captured, %llu dropped by weir, "
			"%llu by the kernel\n",
		app_fmt_si((double)(b->recv - a->recv) / dt, r, sizeof(r)),
		app_fmt_si((double)(b->written - a->written) / dt, w, sizeof(w)),
		(unsigned long long)b->written, (unsigned long long)b->drop,
		(unsigned long long)b->kdrop);
}

void cap_json(FILE *o, void *ctx)
{
	struct cap *c = ctx;
	struct cap_totals t;

	cap_totals(c, &t);
	fprintf(o, "{\"app\":\"weir-cap\",\"captured\":%llu,\"dropped_weir\":%llu,"
		   "\"dropped_kernel\":%llu,\"received\":%llu,\"matched\":%llu,\"files\":%llu,"
		   "\"writer\":\"%s\",\"file\":",
		(unsigned long long)t.written, (unsigned long long)t.drop,
		(unsigned long long)t.kdrop, (unsigned long long)t.recv,
		(unsigned long long)t.match, (unsigned long long)c->out.files,
		c->inline_write ? "inline" : "thread");
	report_json_str(o, c->out.name[0] ? c->out.name : NULL);
	fprintf(o, ",\"error\":");
	report_json_str(o, c->out.err ? c->out.errmsg : NULL);
	fprintf(o, ",\"ports\":[");
	for (int i = 0; i < c->nports; i++) {
		struct weir_pcapng_stats st;

		cap_port_stats(c, i, &st);
		fprintf(o, "%s{\"spec\":", i ? "," : "");
		report_json_str(o, c->specs[i]);
		fprintf(o, ",\"received\":%llu,\"dropped_weir\":%llu,\"dropped_kernel\":%llu}",
			(unsigned long long)st.ifrecv, (unsigned long long)st.ifdrop,
			(unsigned long long)st.osdrop);
	}
	fprintf(o, "]}");
}

void cap_summary(FILE *o, void *ctx)
{
	struct cap *c = ctx;
	struct cap_totals t;

	cap_totals(c, &t);
	fprintf(o, "%llu captured, %llu dropped by weir, %llu dropped by the kernel\n",
		(unsigned long long)t.written, (unsigned long long)t.drop,
		(unsigned long long)t.kdrop);
	fprintf(o, "  %llu received, %llu matched the filter; %llu file%s, last %s\n",
		(unsigned long long)t.recv, (unsigned long long)t.match,
		(unsigned long long)c->out.files, c->out.files == 1 ? "" : "s", c->out.name);
	if (c->out.err)
		fprintf(o, "  stopped: %s\n", c->out.errmsg);
}
