// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-gen's reports: the live line, the text summary and the JSON document
 * (telemetry and --json). They run on the control and telemetry threads and
 * read what the lcores publish: relaxed-atomic counters and the histograms
 * under each lcore's mutex.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pool.h"
#include "weir/port.h"

#include "common/fastpath.h"
#include "common/report.h"
#include "gen/gen.h"

void gen_totals(void *ctx, void *out)
{
	struct gen *g = ctx;
	struct gen_totals *t = out;

	memset(t, 0, sizeof(*t));
	for (uint16_t q = 0; q < g->base.queues; q++) {
		struct gen_ctr *c = &g->lcores[q].c;

		t->tx_pkts += ctr(&c->tx_pkts);
		t->tx_bytes += ctr(&c->tx_bytes);
		t->rx_pkts += ctr(&c->rx_pkts);
		t->rx_bytes += ctr(&c->rx_bytes);
		t->probes += ctr(&c->rx_probes);
		t->other += ctr(&c->rx_other);
		t->lost += ctr(&c->lost);
		t->reord += ctr(&c->reordered);
		t->refl += ctr(&c->reflected);
		t->refused += ctr(&c->refused);
		t->skew += ctr(&c->clock_skew);
		t->nobuf += ctr(&c->tx_nobuf);
		t->lag_max = WEIR_MAX(t->lag_max, ctr(&c->tx_lag_max));
	}
}

/* Merges every lcore's published histograms (whole run, or the interval
 * since the last call when ivl). */
static void hists_get(struct gen *g, struct hist *owd, struct hist *rtt, bool ivl)
{
	hist_init(owd);
	hist_init(rtt);
	for (uint16_t q = 0; q < g->base.queues; q++) {
		struct gen_lcore *lc = &g->lcores[q];

		pthread_mutex_lock(&lc->mu);
		hist_merge(owd, ivl ? lc->ivl_owd : lc->pub_owd);
		hist_merge(rtt, ivl ? lc->ivl_rtt : lc->pub_rtt);
		if (ivl) {
			hist_init(lc->ivl_owd);
			hist_init(lc->ivl_rtt);
		}
		pthread_mutex_unlock(&lc->mu);
	}
}

static void hist_json(FILE *o, const char *name, const struct hist *h)
{
	fprintf(o,
		"\"%s\":{\"count\":%" PRIu64 ",\"min_ns\":%" PRIu64 ",\"mean_ns\":%.0f,\"p50_ns\":%" PRIu64
		",\"p90_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 ",\"p999_ns\":%" PRIu64
		",\"max_ns\":%" PRIu64 "}",
		name, h->count, h->min, hist_mean(h), hist_percentile(h, 50), hist_percentile(h, 90),
		hist_percentile(h, 99), hist_percentile(h, 99.9), h->max);
}

static void port_json(FILE *o, struct weir_port *p)
{
	struct weir_port_stats st;

	weir_port_stats_get(p, &st);
	fprintf(o, "{\"spec\":");
	report_json_str(o, weir_port_spec(p));
	report_port_stats_json(o, &st);
	fputs(",\"queues\":[", o);
	for (uint16_t q = 0; q < weir_port_nb_rxq(p) || q < weir_port_nb_txq(p); q++) {
		struct weir_queue_stats rq, tq;

		weir_port_queue_stats(p, q, &rq, &tq);
		fprintf(o, "%s{\"queue\":%u", q ? "," : "", q);
		if (q < weir_port_nb_rxq(p))
			fprintf(o, ",\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64,
				rq.packets, rq.bytes);
		if (q < weir_port_nb_txq(p))
			fprintf(o, ",\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64,
				tq.packets, tq.bytes);
		fputc('}', o);
	}
	fputs("],\"xstats\":", o);
	report_xstats_json(o, p);
	fputc('}', o);
}

void gen_json(FILE *o, void *ctx)
{
	struct gen *g = ctx;
	struct gen_totals t;
	struct hist *owd = malloc(sizeof(*owd)), *rtt = malloc(sizeof(*rtt));
	weir_ns_t now = weir_clock_now();
	double secs = (double)((g->tx_end ? g->tx_end : now) - g->base.start) / 1e9;

	gen_totals(g, &t);
	fprintf(o, "{\"app\":\"weir-gen\",\"mode\":\"%s\",\"uptime_s\":%.3f,\"queues\":%u,",
		gen_mode_names[g->mode], (double)(now - g->base.start) / 1e9, g->base.queues);
	fprintf(o,
		"\"tx\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.3f,\"pps\":%.0f,"
		"\"bps\":%.0f,\"lag_max_ns\":%" PRIu64 ",\"nobuf\":%" PRIu64 "},",
		t.tx_pkts, t.tx_bytes, secs, secs > 0 ? (double)t.tx_pkts / secs : 0,
		secs > 0 ? (double)t.tx_bytes * 8 / secs : 0, t.lag_max, t.nobuf);
	fprintf(o,
		"\"rx\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"probes\":%" PRIu64
		",\"other\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"reordered\":%" PRIu64
		",\"reflected\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"clock_skew\":%" PRIu64 "}",
		t.rx_pkts, t.rx_bytes, t.probes, t.other, t.lost, t.reord, t.refl, t.refused, t.skew);
	if (owd && rtt) {
		hists_get(g, owd, rtt, false);
		fputc(',', o);
		hist_json(o, "latency", owd);
		fputc(',', o);
		hist_json(o, "rtt", rtt);
	}
	fputs(",\"ports\":[", o);
	if (g->txp)
		port_json(o, g->txp);
	if (g->rxp && g->rxp != g->txp) {
		if (g->txp)
			fputc(',', o);
		port_json(o, g->rxp);
	}
	fprintf(o, "],\"pool\":{\"size\":%u,\"in_use\":%u}}", g->base.pool->n,
		weir_pool_in_use(g->base.pool));
	free(owd);
	free(rtt);
}

static void lat_line(FILE *o, const char *what, const struct hist *h)
{
	char a[16], b[16], c[16], d[16], e[16], f[16];

	if (!h->count)
		return;
	fprintf(o, "  %s: min %s p50 %s p90 %s p99 %s p99.9 %s max %s (%" PRIu64 " samples)\n", what,
		app_fmt_ns((double)h->min, a, sizeof(a)),
		app_fmt_ns((double)hist_percentile(h, 50), b, sizeof(b)),
		app_fmt_ns((double)hist_percentile(h, 90), c, sizeof(c)),
		app_fmt_ns((double)hist_percentile(h, 99), d, sizeof(d)),
		app_fmt_ns((double)hist_percentile(h, 99.9), e, sizeof(e)),
		app_fmt_ns((double)h->max, f, sizeof(f)), h->count);
}

void gen_live(void *ctx, const void *prev, const void *cur, double dt)
{
	struct gen *g = ctx;
	const struct gen_totals *p = prev, *c = cur;
	struct hist *owd = malloc(sizeof(*owd)), *rtt = malloc(sizeof(*rtt));
	char a[32], b[32], r[32], l[32];
	const struct hist *h;

	if (!owd || !rtt)
		goto out;
	hists_get(g, owd, rtt, true);
	h = rtt->count ? rtt : owd;
	fprintf(stderr, "weir-gen: tx %spps %sbit/s  rx %spps  lost %" PRIu64 "  reord %" PRIu64,
		app_fmt_si((double)(c->tx_pkts - p->tx_pkts) / dt, a, sizeof(a)),
		app_fmt_si((double)(c->tx_bytes - p->tx_bytes) * 8 / dt, b, sizeof(b)),
		app_fmt_si((double)(c->rx_pkts - p->rx_pkts) / dt, r, sizeof(r)), c->lost, c->reord);
	if (h->count)
		fprintf(stderr, "  %s p50 %s p99 %s",
			h == rtt ? "rtt" : "lat",
			app_fmt_ns((double)hist_percentile(h, 50), a, sizeof(a)),
			app_fmt_ns((double)hist_percentile(h, 99), l, sizeof(l)));
	if (g->mode == MODE_REFLECT)
		fprintf(stderr, "  reflected %spps",
			app_fmt_si((double)(c->refl - p->refl) / dt, a, sizeof(a)));
	fputc('\n', stderr);
out:
	free(owd);
	free(rtt);
}

void gen_summary(FILE *o, void *ctx)
{
	struct gen *g = ctx;
	struct gen_totals t;
	struct hist *owd, *rtt;
	char a[32], b[32];
	double secs = (double)((g->tx_end ? g->tx_end : weir_clock_now()) - g->base.start) / 1e9;

	gen_totals(g, &t);
	fprintf(o, "weir-gen: %s, %.2f s\n", gen_mode_names[g->mode], secs);
	if (g->txp)
		fprintf(o, "  tx: %" PRIu64 " pkts, %" PRIu64 " bytes, %spps, %sbit/s%s\n", t.tx_pkts,
		       t.tx_bytes, app_fmt_si(secs > 0 ? (double)t.tx_pkts / secs : 0, a, sizeof(a)),
		       app_fmt_si(secs > 0 ? (double)t.tx_bytes * 8 / secs : 0, b, sizeof(b)),
		       t.lag_max > 10 * WEIR_NS_PER_MS ? "  (sender fell behind its schedule)" : "");
	if (g->rxp) {
		fprintf(o, "  rx: %" PRIu64 " pkts, %" PRIu64 " probes, %" PRIu64 " other", t.rx_pkts,
		       t.probes, t.other);
		if (g->mode == MODE_REFLECT)
			fprintf(o, ", %" PRIu64 " reflected, %" PRIu64 " refused (not from --src-ip to "
				"--dst-ip)\n", t.refl, t.refused);
		else
			fprintf(o, ", lost %" PRIu64 " (gaps), reordered %" PRIu64 "\n", t.lost, t.reord);
		if (g->txp && g->mode == MODE_TXRX)
			fprintf(o, "  sent - received: %" PRId64 " (%.4f%%)\n",
			       (int64_t)(t.tx_pkts - t.probes),
			       t.tx_pkts ? 100.0 * ((double)t.tx_pkts - (double)t.probes) /
						   (double)t.tx_pkts
					 : 0.0);
	}
	owd = malloc(sizeof(*owd));
	rtt = malloc(sizeof(*rtt));
	if (owd && rtt) {
		hists_get(g, owd, rtt, false);
		lat_line(o, "one-way latency from scheduled send", owd);
		lat_line(o, "round trip from scheduled send", rtt);
	}
	free(owd);
	free(rtt);
}
