// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-gen's sender: one lcore's share of the schedule, a fixed grid
 * (start + k * interval, staggered per queue), built into probes that carry
 * their flow's sequence number and their *scheduled* send time. A sender
 * that falls behind sends what is due at once, each packet with its own
 * time; out of buffers, it undoes the size draws so a seed repeats.
 */
#include <errno.h>
#include <stdlib.h>

#include "weir/port.h"

#include "common/fastpath.h"
#include "gen/gen.h"

static inline uint16_t pick_size(const struct size_mix *m, uint64_t *rng)
{
	uint32_t r;

	if (m->range)
		return (uint16_t)(m->lo + rng_next(rng) % (uint64_t)(m->hi - m->lo + 1));
	if (m->n == 1)
		return m->size[0];
	r = (uint32_t)(rng_next(rng) % m->total);
	for (int i = 0; i < m->n; i++) {
		if (r < m->weight[i])
			return m->size[i];
		r -= m->weight[i];
	}
	return m->size[m->n - 1];
}

struct tx_state *gen_tx_new(struct gen *g, struct gen_lcore *lc, int *err)
{
	struct tx_state *ts = calloc(1, sizeof(*ts));
	double qrate;

	if (!ts) {
		*err = -ENOMEM;
		return NULL;
	}
	ts->nflows = lc->q < g->flows ? (g->flows - lc->q + g->base.queues - 1) / g->base.queues : 0;
	ts->seq = calloc(ts->nflows ? ts->nflows : 1, sizeof(uint64_t));
	if (!ts->seq) {
		free(ts);
		*err = -ENOMEM;
		return NULL;
	}
	if (g->count)
		ts->limit = g->count / g->base.queues + (lc->q < g->count % g->base.queues);
	qrate = g->rate.pps > 0 ? g->rate.pps / g->base.queues : g->rate.bps / g->base.queues;
	ts->ns_per_pkt = g->rate.pps > 0 ? 1e9 / qrate : 0;
	ts->ns_per_bit = g->rate.bps > 0 ? 1e9 / qrate : 0;
	/* Stagger the queues' grids so they do not all fire at once. */
	ts->next = (double)g->base.start + (g->rate.pps > 0 ? ts->ns_per_pkt * lc->q / g->base.queues : 0);
	return ts;
}

bool gen_tx_over(const struct gen *g, const struct tx_state *ts, weir_ns_t now)
{
	return (ts->limit && ts->sent >= ts->limit && !ts->npend) ||
	       (g->base.duration && !weir_time_after(g->base.start + g->base.duration, now));
}

void gen_tx_free(struct tx_state *ts)
{
	if (!ts)
		return;
	weir_pkt_free_bulk(ts->pend + ts->pend_off, ts->npend);
	free(ts->seq);
	free(ts);
}

uint32_t gen_tx_run(struct gen *g, struct gen_lcore *lc, struct tx_state *ts, weir_ns_t now,
		    weir_ns_t *wake)
{
	uint16_t q = lc->q, n = 0, sent;
	uint64_t bytes = 0;

	if (ts->npend == 0) {
		uint16_t want = g->base.burst;
		weir_ns_t sched[GEN_MAX_BURST];
		uint16_t len[GEN_MAX_BURST];
		double next0 = ts->next;
		uint64_t rng0 = lc->rng;

		if (ts->limit && ts->limit - ts->sent < want)
			want = (uint16_t)(ts->limit - ts->sent);
		/* Which packets are due: every grid point up to now, all at
		 * once if the sender fell behind (each keeps its own time). */
		while (n < want && (g->rate.line || ts->next <= (double)now)) {
			uint16_t l = pick_size(&g->sizes, &lc->rng);

			sched[n] = g->rate.line ? now : (weir_ns_t)ts->next;
			len[n] = l;
			if (!g->rate.line)
				ts->next += g->rate.pps > 0 ? ts->ns_per_pkt : ts->ns_per_bit * 8.0 * l;
			n++;
		}
		if (n && weir_pkt_alloc_bulk(g->base.pool, ts->pend, n) < 0) {
			/* Out of buffers: the packets stay due and go later with
			 * their scheduled times, so the wait shows as latency;
			 * the size draws are undone so the traffic stays the
			 * same for a seed. */
			ctr_add(&lc->c.tx_nobuf, 1);
			ts->next = next0;
			lc->rng = rng0;
			*wake = now + 20 * WEIR_NS_PER_US;
			return 0;
		}
		for (uint16_t i = 0; i < n; i++) {
			struct weir_pkt *p = ts->pend[i];
			uint32_t fi = ts->flow_idx;
			uint32_t flow = q + fi * g->base.queues;
			struct probe pr = {.flow = (uint16_t)flow, .seq = ts->seq[fi]++,
					   .sched_ns = sched[i]};

			if (++ts->flow_idx == ts->nflows)
				ts->flow_idx = 0;
			probe_write(weir_pkt_put(p, len[i]), len[i], &g->tmpl[flow], &pr);
			ts->pend_bytes[i] = len[i];
			if (now - sched[i] > ctr(&lc->c.tx_lag_max) && !g->rate.line)
				atomic_store_explicit(&lc->c.tx_lag_max, now - sched[i],
						      memory_order_relaxed);
		}
		ts->npend = n;
		ts->pend_off = 0;
		ts->sent += n;
	}
	if (!g->rate.line && weir_time_after((weir_ns_t)ts->next, now))
		*wake = (weir_ns_t)ts->next;
	if (ts->npend == 0)
		return 0;
	sent = weir_port_tx_burst(g->txp, q, ts->pend + ts->pend_off, ts->npend);
	for (uint16_t i = 0; i < sent; i++)
		bytes += ts->pend_bytes[ts->pend_off + i];
	ts->pend_off += sent;
	ts->npend -= sent;
	if (ts->npend)
		*wake = now; /* ring full: retry at once */
	if (sent) {
		ctr_add(&lc->c.tx_pkts, sent);
		ctr_add(&lc->c.tx_bytes, bytes);
	}
	weir_port_tx_done(g->txp, q);
	return sent;
}
