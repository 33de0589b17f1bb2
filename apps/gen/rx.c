// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-gen's receiver: counts probes per flow (loss from sequence gaps,
 * reordering) and records one-way latency, or round trip for probes a
 * reflector sent back, from each probe's scheduled send time; in reflect
 * mode it turns every probe around instead. Histograms go to the main
 * thread under the lcore's mutex once a second while frames come in.
 */
#include "weir/port.h"

#include "common/fastpath.h"
#include "gen/gen.h"

/* A probe (already parsed, so its IPv4 header is whole) from an address in
 * --src-ip to one in --dst-ip: the addresses the peer generator sends
 * from and to. */
static bool from_peer(const struct gen *g, const uint8_t *f)
{
	const uint8_t *ip = f + (f[12] == 0x81 && f[13] == 0x00 ? 18 : 14);
	uint32_t sip = (uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 | (uint32_t)ip[14] << 8 | ip[15];
	uint32_t dip = (uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 | (uint32_t)ip[18] << 8 | ip[19];

	return sip >= g->sip_lo && sip <= g->sip_hi && dip >= g->dip_lo && dip <= g->dip_hi;
}

/* What one burst saw, added to the lcore's counters once. */
struct rx_tally {
	uint64_t bytes, probes, other, reord, skew, refused;
};

/* Reflect mode: true when probe p (its probe at off) may be turned around
 * in place and was; else it is counted in t and freed. */
static bool reflect_one(const struct gen *g, struct weir_pkt *p, size_t off, struct rx_tally *t)
{
	/* Only the configured peer's probes, or weir-gen would bounce
	 * traffic at any address a sender spoofs; and the frame must be ours
	 * alone to turn around in place. */
	if (!from_peer(g, weir_pkt_data(p))) {
		t->refused++;
		weir_pkt_free(p);
		return false;
	}
	if (weir_pkt_refcnt(p) != 1 || (p->flags & WEIR_PKT_F_INDIRECT)) {
		t->other++;
		weir_pkt_free(p);
		return false;
	}
	probe_reflect(weir_pkt_data(p), off);
	return true;
}

/* Counts probe pr, received now: its flow's sequence, its latency. */
static void count_probe(struct gen_lcore *lc, const struct probe *pr, weir_ns_t now,
			struct rx_tally *t)
{
	struct flow_rx *f = &lc->frx[pr->flow];

	if (f->rcvd == 0) {
		f->first = pr->seq;
		f->max = pr->seq;
	} else if (pr->seq > f->max) {
		f->max = pr->seq;
	} else {
		t->reord++;
	}
	f->rcvd++;
	if (weir_time_after(pr->sched_ns, now))
		t->skew++;
	else
		hist_record(pr->flags & PROBE_F_REFLECTED ? lc->rtt : lc->owd, now - pr->sched_ns);
}

static void tally_add(struct gen_lcore *lc, uint16_t n, const struct rx_tally *t)
{
	ctr_add(&lc->c.rx_pkts, n);
	ctr_add(&lc->c.rx_bytes, t->bytes);
	if (t->probes)
		ctr_add(&lc->c.rx_probes, t->probes);
	if (t->other)
		ctr_add(&lc->c.rx_other, t->other);
	if (t->reord)
		ctr_add(&lc->c.reordered, t->reord);
	if (t->skew)
		ctr_add(&lc->c.clock_skew, t->skew);
	if (t->refused)
		ctr_add(&lc->c.refused, t->refused);
}

uint32_t gen_rx_run(struct gen *g, struct gen_lcore *lc, weir_ns_t now)
{
	struct weir_pkt *pkts[GEN_MAX_BURST], *back[GEN_MAX_BURST];
	uint16_t n = weir_port_rx_burst(g->rxp, lc->q, pkts, g->base.burst), nb = 0;
	struct rx_tally t = {0};

	if (!n)
		return 0;
	/* Read the clock after the burst: a frame that arrived during the
	 * call must not look as if it came before it was sent. */
	now = weir_clock_now();
	for (uint16_t i = 0; i < n; i++) {
		struct weir_pkt *p = pkts[i];
		struct probe pr;
		size_t off;

		t.bytes += p->pkt_len;
		/* Probes are parsed where they lie; the rare chained frame
		 * is made contiguous first. */
		if ((p->nb_segs != 1 && weir_pkt_linearize(p) < 0) ||
		    probe_parse(weir_pkt_data(p), p->data_len, &pr, &off) < 0) {
			t.other++;
			weir_pkt_free(p);
			continue;
		}
		t.probes++;
		if (g->mode == MODE_REFLECT) {
			if (reflect_one(g, p, off, &t))
				back[nb++] = p;
			continue;
		}
		count_probe(lc, &pr, now, &t);
		weir_pkt_free(p);
	}
	if (nb) {
		uint16_t sent = weir_port_tx_burst(g->rxp, lc->q, back, nb);

		if (sent < nb)
			weir_pkt_free_bulk(back + sent, nb - sent);
		ctr_add(&lc->c.reflected, sent);
		weir_port_tx_done(g->rxp, lc->q);
	}
	tally_add(lc, n, &t);
	return n;
}

void gen_publish(struct gen_lcore *lc)
{
	uint64_t lost = 0;

	/* Gap-based loss: per flow, sequence numbers between the first and
	 * the highest seen that never arrived. Only flows seen are counted;
	 * 64k flows take ~0.1 ms to scan, once a second. */
	for (uint32_t f = 0; f < GEN_MAX_FLOWS; f++) {
		const struct flow_rx *x = &lc->frx[f];

		if (x->rcvd && x->max - x->first + 1 > x->rcvd)
			lost += x->max - x->first + 1 - x->rcvd;
	}
	atomic_store_explicit(&lc->c.lost, lost, memory_order_relaxed);
	pthread_mutex_lock(&lc->mu);
	hist_merge(lc->pub_owd, lc->owd);
	hist_merge(lc->pub_rtt, lc->rtt);
	hist_merge(lc->ivl_owd, lc->owd);
	hist_merge(lc->ivl_rtt, lc->rtt);
	pthread_mutex_unlock(&lc->mu);
	hist_init(lc->owd);
	hist_init(lc->rtt);
}
