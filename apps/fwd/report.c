// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd's reports: the live line, the text summary and the JSON document
 * (telemetry and --json). They run on the control and telemetry threads
 * and read only what the lcores publish: relaxed-atomic counters, the
 * port's own counters, and the snapshots under each egress' mutex.
 */
#include <inttypes.h>
#include <string.h>

#include "weir/pool.h"
#include "weir/port.h"

#include "common/fastpath.h"
#include "common/report.h"
#include "fwd/fwd.h"

void fwd_totals(void *ctx, void *out)
{
	struct fwd *f = ctx;
	struct fwd_totals *t = out;

	memset(t, 0, sizeof(*t));
	for (int i = 0; i < f->nports; i++) {
		struct fwd_port *p = &f->ports[i];
		struct weir_port_stats st;

		weir_port_stats_get(p->port, &st);
		t->rx_pkts += st.ipackets;
		t->rx_bytes += st.ibytes;
		t->tx_pkts += st.opackets;
		t->tx_bytes += st.obytes;
		t->drops += st.imissed + st.rx_nombuf + st.oerrors + st.odropped;
		for (uint16_t q = 0; q < f->base.queues; q++) {
			struct fwd_eg *e = &p->eg[q];

			t->drops += ctr(&e->emu_loss) + ctr(&e->emu_overflow) + ctr(&e->tx_drop);
			pthread_mutex_lock(&e->mu);
			t->drops += e->snap.qs.drops;
			t->backlog_pkts += e->snap.qs.backlog_pkts;
			t->backlog_bytes += e->snap.qs.backlog_bytes;
			t->dline_pkts += e->snap.dline_pkts;
			pthread_mutex_unlock(&e->mu);
		}
	}
}

static void write_qstats_json(FILE *o, const struct weir_qdisc_stats *s)
{
	fprintf(o,
		"{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"backlog_pkts\":%u,"
		"\"backlog_bytes\":%" PRIu64 ",\"drops\":%" PRIu64 ",\"drops_limit\":%" PRIu64
		",\"drops_aqm\":%" PRIu64 ",\"ecn_marks\":%" PRIu64 ",\"overlimits\":%" PRIu64
		",\"sojourn_ns\":%" PRIu64 "}",
		s->packets, s->bytes, s->backlog_pkts, s->backlog_bytes, s->drops, s->drops_limit,
		s->drops_aqm, s->ecn_marks, s->overlimits, (uint64_t)s->last_sojourn);
}

void fwd_json(FILE *o, void *ctx)
{
	struct fwd *f = ctx;
	weir_ns_t now = weir_clock_now();

	fprintf(o, "{\"app\":\"weir-fwd\",\"mode\":\"%s\",\"uptime_s\":%.3f,\"queues\":%u,",
		f->engine->name, (double)(now - f->base.start) / 1e9, f->base.queues);
	fprintf(o, "\"delay_ns\":%" PRIu64 ",\"jitter_ns\":%" PRIu64 ",\"loss\":%g,\"ports\":[",
		(uint64_t)f->delay, (uint64_t)f->jitter, f->loss);
	for (int i = 0; i < f->nports; i++) {
		struct fwd_port *p = &f->ports[i];
		struct weir_port_stats st;

		weir_port_stats_get(p->port, &st);
		fprintf(o, "%s{\"id\":%d,\"spec\":", i ? "," : "", i);
		report_json_str(o, p->spec);
		fprintf(o, ",\"peer\":%d,\"egress\":", p->peer);
		if (p->egress)
			report_json_str(o, p->egress);
		else
			fputs("null", o);
		report_port_stats_json(o, &st);
		fputs(",\"queues\":[", o);
		for (uint16_t q = 0; q < f->base.queues; q++) {
			struct fwd_eg *e = &p->eg[q];
			struct weir_queue_stats rq, tq;

			weir_port_queue_stats(p->port, q, &rq, &tq);

			fprintf(o,
				"%s{\"queue\":%u,\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
				",\"rx_drops\":%" PRIu64 ",\"tx_packets\":%" PRIu64
				",\"tx_bytes\":%" PRIu64 ",\"tx_drops\":%" PRIu64
				",\"fwd_tx_drops\":%" PRIu64 ",\"emu_loss\":%" PRIu64
				",\"emu_overflow\":%" PRIu64 ",\"gso_frames\":%" PRIu64
				",\"gso_segments\":%" PRIu64 ",\"gso_errors\":%" PRIu64
				",\"gro_frames\":%" PRIu64 ",\"gro_segments\":%" PRIu64
				",\"gro_csum_verified\":%" PRIu64 ",\"gro_csum_bad\":%" PRIu64,
				q ? "," : "", q, rq.packets, rq.bytes, rq.drops, tq.packets, tq.bytes,
				tq.drops, ctr(&e->tx_drop), ctr(&e->emu_loss),
				ctr(&e->emu_overflow), ctr(&e->gso_frames), ctr(&e->gso_segs),
				ctr(&e->gso_errors), ctr(&e->gro_frames), ctr(&e->gro_segs),
				ctr(&e->gro_csum_verified), ctr(&e->gro_csum_bad));
			pthread_mutex_lock(&e->mu);
			fprintf(o, ",\"delay_line_pkts\":%u", e->snap.dline_pkts);
			if (e->qd) {
				fprintf(o, ",\"dql_limit\":%u,\"qdisc\":", e->snap.dql_limit);
				write_qstats_json(o, &e->snap.qs);
				if (e->snap.tree_json)
					fprintf(o, ",\"tree\":%s", e->snap.tree_json);
			}
			pthread_mutex_unlock(&e->mu);
			fputc('}', o);
		}
		fputs("],\"xstats\":", o);
		report_xstats_json(o, p->port);
		fputc('}', o);
	}
	fputc(']', o);
	if (f->engine->json)
		f->engine->json(o, f);
	fprintf(o, ",\"pool\":{\"size\":%u,\"in_use\":%u,\"alloc_fails\":%" PRIu64 "}}",
		f->base.pool->n, weir_pool_in_use(f->base.pool),
		(uint64_t)atomic_load(&f->base.pool->alloc_fails));
}

void fwd_live(void *ctx, const void *prev_totals, const void *cur_totals, double dt)
{
	const struct fwd_totals *prev = prev_totals, *cur = cur_totals;
	char a[32], b[32], c[32];

	fprintf(stderr, "weir-fwd: rx %spps  tx %spps %sbit/s  drops %" PRIu64
			"/s  backlog %" PRIu64 " pkts %" PRIu64 " B  delay-line %" PRIu64 "\n",
		app_fmt_si((double)(cur->rx_pkts - prev->rx_pkts) / dt, a, sizeof(a)),
		app_fmt_si((double)(cur->tx_pkts - prev->tx_pkts) / dt, b, sizeof(b)),
		app_fmt_si((double)(cur->tx_bytes - prev->tx_bytes) * 8 / dt, c, sizeof(c)),
		(uint64_t)((double)(cur->drops - prev->drops) / dt), cur->backlog_pkts,
		cur->backlog_bytes, cur->dline_pkts);
	(void)ctx;
}

void fwd_summary(FILE *o, void *ctx)
{
	struct fwd *f = ctx;
	double secs = (double)(weir_clock_now() - f->base.start) / 1e9;
	struct fwd_totals t;
	char a[32], b[32];

	fwd_totals(f, &t);
	fprintf(o, "weir-fwd: %s mode, %.2f s: rx %" PRIu64 " pkts (%spps), tx %" PRIu64
	       " pkts (%sbit/s), drops %" PRIu64 "\n",
	       f->engine->name, secs, t.rx_pkts,
	       app_fmt_si(secs > 0 ? (double)t.rx_pkts / secs : 0, a, sizeof(a)), t.tx_pkts,
	       app_fmt_si(secs > 0 ? (double)t.tx_bytes * 8 / secs : 0, b, sizeof(b)), t.drops);
	for (int i = 0; i < f->nports; i++) {
		struct fwd_port *p = &f->ports[i];
		struct weir_port_stats st;
		uint64_t loss = 0, over = 0, txd = 0, qdrops = 0, marks = 0;

		weir_port_stats_get(p->port, &st);
		for (uint16_t q = 0; q < f->base.queues; q++) {
			loss += ctr(&p->eg[q].emu_loss);
			over += ctr(&p->eg[q].emu_overflow);
			txd += ctr(&p->eg[q].tx_drop);
			qdrops += p->eg[q].snap.qs.drops;
			marks += p->eg[q].snap.qs.ecn_marks;
		}
		fprintf(o, "  port %d %s: rx %" PRIu64 " missed %" PRIu64 " | tx %" PRIu64
		       " dropped %" PRIu64 " | egress %s: drops %" PRIu64 " ecn %" PRIu64
		       " | emu loss %" PRIu64 " overflow %" PRIu64 "\n",
		       i, p->spec, st.ipackets, st.imissed + st.rx_nombuf, st.opackets,
		       st.odropped + st.oerrors + txd, p->egress ? p->egress : "none", qdrops, marks,
		       loss, over);
	}
	if (f->engine->summary)
		f->engine->summary(o, f);
}
