// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-gen: a packet generator and receiver/latency meter.
 *
 * TX: Ethernet/IPv4/UDP probes (see common/probe.h) paced in packets or bits
 * per second, or at line rate; fixed sizes, ranges or IMIX; N flows from
 * 5-tuple ranges; one lcore per queue. Each packet carries its flow's
 * sequence number and its *scheduled* send time: the schedule is a fixed
 * grid (start + k * interval), so when the sender stalls, the packets sent
 * late still carry the time they should have left, and the latency
 * measured from it includes the stall (no coordinated omission). A seed
 * makes sizes and everything else about a run reproducible.
 *
 * RX: counts probes per flow (loss from sequence gaps, reordering), records
 * one-way latency (or round-trip, for probes a reflector sent back) in an
 * HDR-style histogram. --mode reflect sends every probe back (MACs, IPs,
 * ports swapped), so a weir-gen elsewhere measures round trips.
 *
 * Threads: lcore q owns TX queue q of the TX port and RX queue q of the RX
 * port. Counters the main thread prints are relaxed atomics with one
 * writer; histograms are merged under a mutex once a second while frames
 * come in (an idle receiver sleeps instead).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "weir/clock.h"
#include "weir/lcore.h"
#include "weir/log.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port.h"

#include "common/fastpath.h"
#include "common/histogram.h"
#include "common/opts.h"
#include "common/probe.h"
#include "common/report.h"
#include "common/telemetry.h"

#define GEN_MAX_QUEUES 32
#define GEN_MAX_BURST 256
#define GEN_MAX_FLOWS 65536
#define GEN_MAX_SIZES 16
#define GEN_PUBLISH_NS WEIR_NS_PER_SEC     /* histograms and loss, for the main thread */
#define GEN_IDLE_NS (10 * WEIR_NS_PER_SEC) /* longest sleep, with nothing due */

enum gen_mode { MODE_TXRX, MODE_TX, MODE_RX, MODE_REFLECT };
static const char *const mode_names[] = {"txrx", "tx", "rx", "reflect"};

struct size_mix {
	int n;              /* entries; 1 = fixed size */
	bool range;         /* uniform in [lo, hi] */
	uint16_t lo, hi;
	uint16_t size[GEN_MAX_SIZES];
	uint32_t weight[GEN_MAX_SIZES];
	uint32_t total;     /* sum of weights */
	double mean;        /* mean frame size, bytes */
};

struct flow_rx {
	uint64_t first, max, rcvd;
};

/* Counters one lcore writes and the main thread reads. */
struct gen_ctr {
	_Atomic uint64_t tx_pkts, tx_bytes, tx_lag_max;
	_Atomic uint64_t rx_pkts, rx_bytes, rx_probes, rx_other, reordered, reflected;
	_Atomic uint64_t lost;   /* gap-based, recomputed per publish */
	_Atomic uint64_t clock_skew; /* probes stamped in the future */
	_Atomic uint64_t tx_nobuf;
	_Atomic bool tx_done;
};

struct gen;

struct gen_lcore {
	struct gen *g;
	uint16_t q;
	int cpu;
	struct weir_lcore *lc;
	struct gen_ctr c;
	/* owned by the lcore */
	uint64_t rng;
	struct flow_rx *frx;  /* GEN_MAX_FLOWS entries, lazily touched */
	struct hist *owd, *rtt; /* since last publish */
	/* published under mu */
	pthread_mutex_t mu;
	struct hist *pub_owd, *pub_rtt;         /* whole run */
	struct hist *ivl_owd, *ivl_rtt;         /* since the main thread last looked */
};

struct gen {
	/* settings */
	enum gen_mode mode;
	char *tx_spec, *rx_spec;
	struct app_rate rate;
	struct size_mix sizes;
	uint32_t flows;
	uint8_t dst_mac[6], src_mac[6];
	bool src_mac_set;
	uint32_t sip_lo, sip_hi, dip_lo, dip_hi;
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
	weir_ns_t duration, drain;
	uint64_t count;
	uint16_t queues, burst;
	int cpus[GEN_MAX_QUEUES];
	int ncpus;
	uint64_t seed;
	uint32_t pool_size;
	char *stats_socket;
	bool json, live, quiet;
	/* state */
	struct weir_pool *pool;
	struct weir_port *txp, *rxp;
	struct probe_tmpl *tmpl; /* per flow */
	struct gen_lcore lcores[GEN_MAX_QUEUES];
	weir_ns_t start, tx_end;
	_Atomic bool rx_stop;
};

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

/* --- TX ----------------------------------------------------------------------- */

struct tx_state {
	double next;          /* scheduled time of the next packet, ns */
	double ns_per_pkt;    /* pps pacing */
	double ns_per_bit;    /* bit-rate pacing */
	uint32_t flow_idx;    /* round robin over this queue's flows */
	uint32_t nflows;      /* flows of this queue: q, q + Q, q + 2Q, ... */
	uint64_t *seq;        /* per flow of this queue */
	uint64_t sent, limit; /* limit: packets for this queue, 0 = none */
	struct weir_pkt *pend[GEN_MAX_BURST];
	uint16_t npend, pend_off;
	uint64_t pend_bytes[GEN_MAX_BURST];
};

/* Builds and sends what is due; returns packets sent. Sets *wake to when
 * the next packet is due. */
static uint32_t tx_run(struct gen *g, struct gen_lcore *lc, struct tx_state *ts, weir_ns_t now,
		       weir_ns_t *wake)
{
	uint16_t q = lc->q, n = 0, sent;
	uint64_t bytes = 0;

	if (ts->npend == 0) {
		uint16_t want = g->burst;
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
		if (n && weir_pkt_alloc_bulk(g->pool, ts->pend, n) < 0) {
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
			uint32_t flow = q + fi * g->queues;
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

/* --- RX ----------------------------------------------------------------------- */

static uint32_t rx_run(struct gen *g, struct gen_lcore *lc, weir_ns_t now)
{
	struct weir_pkt *pkts[GEN_MAX_BURST], *back[GEN_MAX_BURST];
	uint16_t n = weir_port_rx_burst(g->rxp, lc->q, pkts, g->burst), nb = 0;
	uint64_t bytes = 0, probes = 0, other = 0, reord = 0, skew = 0;

	if (!n)
		return 0;
	/* Read the clock after the burst: a frame that arrived during the
	 * call must not look as if it came before it was sent. */
	now = weir_clock_now();
	for (uint16_t i = 0; i < n; i++) {
		struct weir_pkt *p = pkts[i];
		struct probe pr;
		size_t off;

		bytes += p->pkt_len;
		/* Probes are parsed where they lie; the rare chained frame
		 * is made contiguous first. */
		if ((p->nb_segs != 1 && weir_pkt_linearize(p) < 0) ||
		    probe_parse(weir_pkt_data(p), p->data_len, &pr, &off) < 0) {
			other++;
			weir_pkt_free(p);
			continue;
		}
		probes++;
		if (g->mode == MODE_REFLECT) {
			/* Turn the frame around in place: it must be ours alone. */
			if (weir_pkt_refcnt(p) != 1 || (p->flags & WEIR_PKT_F_INDIRECT)) {
				other++;
				weir_pkt_free(p);
				continue;
			}
			probe_reflect(weir_pkt_data(p), off);
			back[nb++] = p;
			continue;
		}
		{
			struct flow_rx *f = &lc->frx[pr.flow];

			if (f->rcvd == 0) {
				f->first = pr.seq;
				f->max = pr.seq;
			} else if (pr.seq > f->max) {
				f->max = pr.seq;
			} else {
				reord++;
			}
			f->rcvd++;
		}
		if (weir_time_after(pr.sched_ns, now))
			skew++;
		else
			hist_record(pr.flags & PROBE_F_REFLECTED ? lc->rtt : lc->owd,
				    now - pr.sched_ns);
		weir_pkt_free(p);
	}
	if (nb) {
		uint16_t sent = weir_port_tx_burst(g->rxp, lc->q, back, nb);

		if (sent < nb)
			weir_pkt_free_bulk(back + sent, nb - sent);
		ctr_add(&lc->c.reflected, sent);
		weir_port_tx_done(g->rxp, lc->q);
	}
	ctr_add(&lc->c.rx_pkts, n);
	ctr_add(&lc->c.rx_bytes, bytes);
	if (probes)
		ctr_add(&lc->c.rx_probes, probes);
	if (other)
		ctr_add(&lc->c.rx_other, other);
	if (reord)
		ctr_add(&lc->c.reordered, reord);
	if (skew)
		ctr_add(&lc->c.clock_skew, skew);
	return n;
}

static void publish(struct gen_lcore *lc)
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

/* Sleeps towards the next packet's time in sleeps of at most 1 ms (the
 * precise ones: see weir-fwd's wait_until), or until a frame comes. */
static void wait_until(struct weir_idle *idle, weir_ns_t now, weir_ns_t deadline)
{
	weir_ns_t left = deadline - now;

	/* The last stretch is spun: a sleep wakes 5-50 us late. */
	if (!weir_time_after(deadline, now) || left < 60 * WEIR_NS_PER_US)
		return;
	left -= 50 * WEIR_NS_PER_US;
	if (left > WEIR_NS_PER_MS)
		left = WEIR_NS_PER_MS;
	weir_idle_sleep(idle, left);
}

/* This lcore's share of the TX schedule; NULL with *err set, or a state
 * with no flows (more queues than flows: this one sends nothing). */
static struct tx_state *tx_state_new(struct gen *g, struct gen_lcore *lc, int *err)
{
	struct tx_state *ts = calloc(1, sizeof(*ts));
	double qrate;

	if (!ts) {
		*err = -ENOMEM;
		return NULL;
	}
	ts->nflows = lc->q < g->flows ? (g->flows - lc->q + g->queues - 1) / g->queues : 0;
	ts->seq = calloc(ts->nflows ? ts->nflows : 1, sizeof(uint64_t));
	if (!ts->seq) {
		free(ts);
		*err = -ENOMEM;
		return NULL;
	}
	if (g->count)
		ts->limit = g->count / g->queues + (lc->q < g->count % g->queues);
	qrate = g->rate.pps > 0 ? g->rate.pps / g->queues : g->rate.bps / g->queues;
	ts->ns_per_pkt = g->rate.pps > 0 ? 1e9 / qrate : 0;
	ts->ns_per_bit = g->rate.bps > 0 ? 1e9 / qrate : 0;
	/* Stagger the queues' grids so they do not all fire at once. */
	ts->next = (double)g->start + (g->rate.pps > 0 ? ts->ns_per_pkt * lc->q / g->queues : 0);
	return ts;
}

/* This lcore's run is over: its count is sent, or the duration is up. */
static bool tx_over(const struct gen *g, const struct tx_state *ts, weir_ns_t now)
{
	return (ts->limit && ts->sent >= ts->limit && !ts->npend) ||
	       (g->duration && !weir_time_after(g->start + g->duration, now));
}

/*
 * One lcore: sends its share of the schedule and receives its RX queue.
 * While sending it sleeps until the next packet is due (or a frame comes).
 * Receiving only, it spins WEIR_IDLE_SPIN_POLLS empty polls and then sleeps
 * until a frame comes: the histograms are merged for the main thread once a
 * second only while frames arrive, and GEN_IDLE_NS only bounds the sleep
 * for a stop flag set without weir_stop_request().
 */
static int gen_lcore_main(void *arg)
{
	struct gen_lcore *lc = arg;
	struct gen *g = lc->g;
	struct tx_state *ts = NULL;
	struct weir_idle idle;
	weir_ns_t next_pub;
	bool tx = g->txp != NULL, rx = g->rxp != NULL, dirty = false;
	int rc = 0;

	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	if (weir_idle_init(&idle, WEIR_IDLE_SPIN_POLLS, 0) < 0)
		return -1;
	if (rx) {
		int fd = weir_port_wait_fd(g->rxp, lc->q);

		if (fd >= 0)
			weir_idle_add_fd(&idle, fd);
	}
	if (tx) {
		ts = tx_state_new(g, lc, &rc);
		if (!ts)
			goto out;
		tx = ts->nflows != 0;
	}
	next_pub = weir_clock_now() + GEN_PUBLISH_NS;
	while (!weir_should_stop()) {
		weir_ns_t now = weir_clock_now(), forever = now + GEN_IDLE_NS, wake = forever;
		uint32_t work = 0, got;

		if (tx && tx_over(g, ts, now)) {
			tx = false;
			/* Unsent packets of a finished run are not sent. */
			weir_pkt_free_bulk(ts->pend + ts->pend_off, ts->npend);
			ts->npend = 0;
			atomic_store(&lc->c.tx_done, true);
		} else if (tx) {
			work += tx_run(g, lc, ts, now, &wake);
			if (g->duration && weir_time_after(wake, g->start + g->duration))
				wake = g->start + g->duration;
		}
		got = rx ? rx_run(g, lc, now) : 0;
		work += got;
		if (!tx && (!rx || atomic_load(&g->rx_stop)))
			break;
		dirty |= got != 0;
		if (dirty && weir_time_after(now, next_pub)) {
			publish(lc);
			dirty = false;
			next_pub = now + GEN_PUBLISH_NS;
		}
		if (dirty && weir_time_after(wake, next_pub))
			wake = next_pub;
		if (tx) {
			if (!work)
				wait_until(&idle, weir_clock_now(), wake);
			continue;
		}
		if (!weir_idle_should_sleep(&idle, work))
			continue;
		/* A reflector's last replies must not wait for the next frame. */
		if (wake == forever && g->mode == MODE_REFLECT)
			weir_port_tx_done(g->rxp, lc->q);
		now = weir_clock_now();
		if (weir_time_after(wake, now))
			weir_idle_sleep(&idle, wake - now);
	}
out:
	if (ts) {
		weir_pkt_free_bulk(ts->pend + ts->pend_off, ts->npend);
		free(ts->seq);
		free(ts);
	}
	publish(lc);
	atomic_store(&lc->c.tx_done, true);
	weir_idle_fini(&idle);
	return rc;
}

/* --- reporting ------------------------------------------------------------- */

struct totals {
	uint64_t tx_pkts, tx_bytes, rx_pkts, rx_bytes, probes, other, lost, reord, refl, skew;
	uint64_t lag_max, nobuf;
};

static void totals_get(struct gen *g, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (uint16_t q = 0; q < g->queues; q++) {
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
	for (uint16_t q = 0; q < g->queues; q++) {
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
	fprintf(o,
		",\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 ",\"rx_missed\":%" PRIu64
		",\"rx_nombuf\":%" PRIu64 ",\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
		",\"tx_errors\":%" PRIu64 ",\"tx_dropped\":%" PRIu64 ",\"queues\":[",
		st.ipackets, st.ibytes, st.imissed, st.rx_nombuf, st.opackets, st.obytes, st.oerrors,
		st.odropped);
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
	fputs("]}", o);
}

static void gen_json(FILE *o, void *arg)
{
	struct gen *g = arg;
	struct totals t;
	struct hist *owd = malloc(sizeof(*owd)), *rtt = malloc(sizeof(*rtt));
	weir_ns_t now = weir_clock_now();
	double secs = (double)((g->tx_end ? g->tx_end : now) - g->start) / 1e9;

	totals_get(g, &t);
	fprintf(o, "{\"app\":\"weir-gen\",\"mode\":\"%s\",\"uptime_s\":%.3f,\"queues\":%u,",
		mode_names[g->mode], (double)(now - g->start) / 1e9, g->queues);
	fprintf(o,
		"\"tx\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"seconds\":%.3f,\"pps\":%.0f,"
		"\"bps\":%.0f,\"lag_max_ns\":%" PRIu64 ",\"nobuf\":%" PRIu64 "},",
		t.tx_pkts, t.tx_bytes, secs, secs > 0 ? (double)t.tx_pkts / secs : 0,
		secs > 0 ? (double)t.tx_bytes * 8 / secs : 0, t.lag_max, t.nobuf);
	fprintf(o,
		"\"rx\":{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"probes\":%" PRIu64
		",\"other\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"reordered\":%" PRIu64
		",\"reflected\":%" PRIu64 ",\"clock_skew\":%" PRIu64 "}",
		t.rx_pkts, t.rx_bytes, t.probes, t.other, t.lost, t.reord, t.refl, t.skew);
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
	fprintf(o, "],\"pool\":{\"size\":%u,\"in_use\":%u}}", g->pool->n,
		weir_pool_in_use(g->pool));
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

static void live_line(struct gen *g, const struct totals *p, const struct totals *c, double dt)
{
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

static void summary(struct gen *g, FILE *o)
{
	struct totals t;
	struct hist *owd, *rtt;
	char a[32], b[32];
	double secs = (double)((g->tx_end ? g->tx_end : weir_clock_now()) - g->start) / 1e9;

	if (g->json) {
		gen_json(o, g);
		return;
	}
	totals_get(g, &t);
	fprintf(o, "weir-gen: %s, %.2f s\n", mode_names[g->mode], secs);
	if (g->txp)
		fprintf(o, "  tx: %" PRIu64 " pkts, %" PRIu64 " bytes, %spps, %sbit/s%s\n", t.tx_pkts,
		       t.tx_bytes, app_fmt_si(secs > 0 ? (double)t.tx_pkts / secs : 0, a, sizeof(a)),
		       app_fmt_si(secs > 0 ? (double)t.tx_bytes * 8 / secs : 0, b, sizeof(b)),
		       t.lag_max > 10 * WEIR_NS_PER_MS ? "  (sender fell behind its schedule)" : "");
	if (g->rxp) {
		fprintf(o, "  rx: %" PRIu64 " pkts, %" PRIu64 " probes, %" PRIu64 " other", t.rx_pkts,
		       t.probes, t.other);
		if (g->mode == MODE_REFLECT)
			fprintf(o, ", %" PRIu64 " reflected\n", t.refl);
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

/* --- options ---------------------------------------------------------------- */

static const struct app_opt gen_opts[] = {
	{"port", 'p', "SPEC", "port to send on (and receive on, unless --rx-port)"},
	{"rx-port", 0, "SPEC", "port to receive on (default: --port)"},
	{"mode", 'm', "MODE", "txrx (default): send, and measure what comes back\n"
			      "tx: send only;  rx: receive and measure only\n"
			      "reflect: send every probe back (for round trips)"},
	{"rate", 'r', "RATE", "e.g. 1mpps, 250kpps, 100mbit, 1gbit (frame bytes), or line\n"
			      "(default 10kpps)"},
	{"size", 's', "SIZE", "frame bytes without FCS, >= 64: 64, 64-1500 (uniform),\n"
			      "imix (64:7,576:4,1500:1), or SIZE:WEIGHT,... (default 64)"},
	{"flows", 'f', "N", "UDP flows, spread over the address and port ranges (default 1)"},
	{"src-ip", 0, "IP[-IP]", "source address range (default 10.0.0.1)"},
	{"dst-ip", 0, "IP[-IP]", "destination address range (default 10.0.0.2)"},
	{"src-port", 0, "P[-P]", "UDP source port range (default 9000-65535 by flow)"},
	{"dst-port", 0, "P[-P]", "UDP destination port range (default 9)"},
	{"dst-mac", 0, "MAC", "destination MAC (default ff:ff:ff:ff:ff:ff); set it to the\n"
			      "peer's MAC when a Linux host must accept the frames"},
	{"src-mac", 0, "MAC", "source MAC (default: the port's)"},
	{"duration", 't', "TIME", "send for TIME (default: until Ctrl-C or --count)"},
	{"count", 'n', "N", "send N packets in all"},
	{"drain", 0, "TIME", "after sending, keep receiving for TIME (default 500ms)"},
	{"queues", 'q', "N", "queues, one lcore each; the rate is split (default 1)"},
	{"cores", 'c', "LIST", "pin lcore q to the q-th CPU of LIST, e.g. 0,1"},
	{"burst", 'b', "N", "packets per burst (default 32, max 256)"},
	{"seed", 0, "N", "seed for sizes (default 1): same seed, same traffic"},
	{"pool", 0, "N", "packet buffers (default 16k)"},
	{"stats-socket", 'S', "PATH", "serve JSON telemetry on a unix socket (weir-stat PATH)"},
	{"json", 'j', NULL, "print the final summary as JSON"},
	{"live", 0, NULL, "per-second line even when stderr is not a terminal"},
	{"quiet", 0, NULL, "no per-second line"},
	{"log-level", 0, "LEVEL", "error, warn, info (default) or debug"},
	{NULL, 0, NULL, NULL},
};

static int parse_sizes(const char *val, struct size_mix *m, char *why, size_t len)
{
	char buf[256], *save = NULL;
	uint64_t v;

	memset(m, 0, sizeof(*m));
	if (!strcmp(val, "imix"))
		val = "64:7,576:4,1500:1";
	if (strchr(val, '-') && !strchr(val, ':')) {
		uint64_t lo, hi;
		char a[32];
		const char *dash = strchr(val, '-');

		snprintf(a, sizeof(a), "%.*s", (int)(dash - val), val);
		if (app_parse_u64(a, PROBE_MIN_FRAME, PROBE_MAX_FRAME, &lo, why, len) < 0 ||
		    app_parse_u64(dash + 1, PROBE_MIN_FRAME, PROBE_MAX_FRAME, &hi, why, len) < 0)
			return -EINVAL;
		if (hi < lo) {
			snprintf(why, len, "range ends before it starts");
			return -EINVAL;
		}
		m->range = true;
		m->lo = (uint16_t)lo;
		m->hi = (uint16_t)hi;
		m->n = 1;
		m->mean = (double)(lo + hi) / 2;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", val);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		uint64_t w = 1;

		if (m->n == GEN_MAX_SIZES) {
			snprintf(why, len, "at most %d sizes", GEN_MAX_SIZES);
			return -EINVAL;
		}
		if (colon) {
			*colon = '\0';
			if (app_parse_u64(colon + 1, 1, 1000000, &w, why, len) < 0)
				return -EINVAL;
		}
		if (app_parse_u64(tok, PROBE_MIN_FRAME, PROBE_MAX_FRAME, &v, why, len) < 0) {
			/* A failed parse leaves v unset: ask again whether the
			 * size was a number below the minimum. */
			char scratch[128];

			if (!app_parse_u64(tok, 0, PROBE_MIN_FRAME - 1, &v, scratch, sizeof(scratch)))
				snprintf(why + strlen(why), len - strlen(why),
					 "; frames hold 42 header and 22 probe bytes");
			return -EINVAL;
		}
		m->size[m->n] = (uint16_t)v;
		m->weight[m->n] = (uint32_t)w;
		m->total += (uint32_t)w;
		m->mean += (double)(v * w);
		m->n++;
	}
	if (!m->n) {
		snprintf(why, len, "no size given (e.g. 64, 64-1500, imix)");
		return -EINVAL;
	}
	m->mean /= m->total;
	return 0;
}

static int gen_set(void *ctx, const char *name, const char *val, char *why, size_t len)
{
	struct gen *g = ctx;
	uint64_t v;
	int r;

	if (!strcmp(name, "port")) {
		free(g->tx_spec);
		g->tx_spec = strdup(val);
	} else if (!strcmp(name, "rx-port")) {
		free(g->rx_spec);
		g->rx_spec = strdup(val);
	} else if (!strcmp(name, "mode")) {
		for (size_t i = 0; i < WEIR_ARRAY_SIZE(mode_names); i++) {
			if (!strcmp(val, mode_names[i])) {
				g->mode = (enum gen_mode)i;
				return 0;
			}
		}
		snprintf(why, len, "unknown mode (modes: txrx, tx, rx, reflect)");
		return -EINVAL;
	} else if (!strcmp(name, "rate")) {
		if ((r = app_parse_rate(val, &g->rate, why, len)) < 0)
			return r;
		if (g->rate.pps > 1e9 || g->rate.bps > 1e12) {
			snprintf(why, len, "more than any port can carry (at most 1000 Mpps or "
					   "1000 Gbit/s); use 'line' for as fast as possible");
			return -EINVAL;
		}
		if ((g->rate.pps > 0 && g->rate.pps < 0.01) || (g->rate.bps > 0 && g->rate.bps < 1)) {
			snprintf(why, len, "below 0.01 pps: nothing would be sent");
			return -EINVAL;
		}
	} else if (!strcmp(name, "size")) {
		return parse_sizes(val, &g->sizes, why, len);
	} else if (!strcmp(name, "flows")) {
		if ((r = app_parse_u64(val, 1, GEN_MAX_FLOWS, &v, why, len)) < 0)
			return r;
		g->flows = (uint32_t)v;
	} else if (!strcmp(name, "src-ip")) {
		return app_parse_ipv4_range(val, &g->sip_lo, &g->sip_hi, why, len);
	} else if (!strcmp(name, "dst-ip")) {
		return app_parse_ipv4_range(val, &g->dip_lo, &g->dip_hi, why, len);
	} else if (!strcmp(name, "src-port")) {
		return app_parse_port_range(val, &g->sport_lo, &g->sport_hi, why, len);
	} else if (!strcmp(name, "dst-port")) {
		return app_parse_port_range(val, &g->dport_lo, &g->dport_hi, why, len);
	} else if (!strcmp(name, "dst-mac")) {
		return app_parse_mac(val, g->dst_mac, why, len);
	} else if (!strcmp(name, "src-mac")) {
		g->src_mac_set = true;
		return app_parse_mac(val, g->src_mac, why, len);
	} else if (!strcmp(name, "duration")) {
		return app_parse_duration(val, &g->duration, why, len);
	} else if (!strcmp(name, "drain")) {
		return app_parse_duration(val, &g->drain, why, len);
	} else if (!strcmp(name, "count")) {
		return app_parse_u64(val, 1, UINT64_MAX / 2, &g->count, why, len);
	} else if (!strcmp(name, "queues")) {
		if ((r = app_parse_u64(val, 1, GEN_MAX_QUEUES, &v, why, len)) < 0)
			return r;
		g->queues = (uint16_t)v;
	} else if (!strcmp(name, "cores")) {
		r = app_parse_cpus(val, g->cpus, GEN_MAX_QUEUES, why, len);
		if (r < 0)
			return r;
		g->ncpus = r;
	} else if (!strcmp(name, "burst")) {
		if ((r = app_parse_u64(val, 1, GEN_MAX_BURST, &v, why, len)) < 0)
			return r;
		g->burst = (uint16_t)v;
	} else if (!strcmp(name, "seed")) {
		return app_parse_u64(val, 0, UINT64_MAX, &g->seed, why, len);
	} else if (!strcmp(name, "pool")) {
		if ((r = app_parse_u64(val, 1024, 1u << 24, &v, why, len)) < 0)
			return r;
		g->pool_size = (uint32_t)v;
	} else if (!strcmp(name, "stats-socket")) {
		/* A copy: the pointer, from --config, bound a garbage path. */
		return app_set_str(&g->stats_socket, val, why, len);
	} else if (!strcmp(name, "json")) {
		g->json = true;
	} else if (!strcmp(name, "live")) {
		g->live = true;
	} else if (!strcmp(name, "quiet")) {
		g->quiet = true;
	} else if (!strcmp(name, "log-level")) {
		enum weir_log_level l;

		if (weir_log_parse_level(val, &l) < 0) {
			snprintf(why, len, "unknown level (error, warn, info, debug)");
			return -EINVAL;
		}
		weir_log_set_level(l);
	}
	return 0;
}

static const struct app_cli gen_cli = {
	.prog = "weir-gen",
	.section = "gen",
	.synopsis = "weir-gen --port SPEC [--mode txrx|tx|rx|reflect] [--rate RATE] [--size SIZE]\n"
		    "                [--flows N] [--duration TIME | --count N] [OPTIONS]",
	.about = "Sends UDP probes (sequence number + scheduled send time) paced to a rate, and\n"
		 "measures what arrives: loss, reordering, and latency from each packet's\n"
		 "scheduled send time, so a stalled sender cannot hide delay (no coordinated\n"
		 "omission). Prints a line per second on a terminal and a summary at the end.",
	.footer = "Examples:\n"
		  "  # 1 Mpps of 64-byte frames for 10 s, measured where they come back\n"
		  "  weir-gen -p afxdp:veth0 --rx-port afxdp:veth3 -r 1mpps -t 10s\n"
		  "  # IMIX at 100 Mbit/s, 16 flows, to a Linux host's MAC and IP\n"
		  "  weir-gen -p afpacket:veth0 -m tx -r 100mbit -s imix -f 16 \\\n"
		  "           --dst-mac 02:00:00:00:00:02 --dst-ip 10.0.0.2 -t 30s\n"
		  "  # round trips: a reflector on the far side, weir-gen here\n"
		  "  weir-gen -p afpacket:veth3 -m reflect          (in the far namespace)\n"
		  "  weir-gen -p afpacket:veth0 -r 1kpps -t 10s     (reports rtt p50..p99.9)\n"
		  "Exit status: 0 ok, 1 bad usage, 2 a port failed, 3 buffers leaked.\n",
	.opts = gen_opts,
	.set = gen_set,
};

static int check_settings(struct gen *g)
{
	double pps;

	if (!g->tx_spec && !g->rx_spec) {
		fprintf(stderr, "weir-gen: no port (--port SPEC, e.g. afpacket:veth0; try --help)\n");
		return -EINVAL;
	}
	if ((g->mode == MODE_TXRX || g->mode == MODE_TX || g->mode == MODE_REFLECT) &&
	    !g->tx_spec) {
		fprintf(stderr, "weir-gen: --mode %s needs --port\n", mode_names[g->mode]);
		return -EINVAL;
	}
	if (g->ncpus && g->ncpus < g->queues) {
		fprintf(stderr, "weir-gen: --cores lists %d CPUs but --queues %u needs one per "
				"queue\n", g->ncpus, g->queues);
		return -EINVAL;
	}
	{
		char why[512];

		if (app_check_cpus(g->cpus, g->ncpus, why, sizeof(why)) < 0) {
			fprintf(stderr, "weir-gen: --cores: %s\n", why);
			return -EINVAL;
		}
	}
	if (g->sizes.n == 0) {
		g->sizes.n = 1;
		g->sizes.size[0] = 64;
		g->sizes.weight[0] = 1;
		g->sizes.total = 1;
		g->sizes.mean = 64;
	}
	pps = g->rate.pps > 0 ? g->rate.pps : g->rate.bps / (8 * g->sizes.mean);
	if (!g->rate.line && pps > 1e9) {
		fprintf(stderr, "weir-gen: --rate %.0f bit/s of %.0f-byte frames is %.0f Mpps: "
				"more than any port can carry\n", g->rate.bps, g->sizes.mean,
			pps / 1e6);
		return -EINVAL;
	}
	if (g->flows > (uint64_t)(g->sip_hi - g->sip_lo + 1) * (g->sport_hi - g->sport_lo + 1) *
			       (g->dip_hi - g->dip_lo + 1) * (g->dport_hi - g->dport_lo + 1)) {
		fprintf(stderr, "weir-gen: --flows %u is more than the address and port ranges "
				"can make distinct (widen --src-port or --src-ip)\n", g->flows);
		return -EINVAL;
	}
	return 0;
}

/* Flow f's 5-tuple: source port varies fastest, then source IP, then
 * destination port and IP, so flows are distinct while the ranges last. */
static void flow_addr(struct gen *g, uint32_t f, struct probe_addr *a)
{
	uint32_t nsp = g->sport_hi - g->sport_lo + 1u, nsi = g->sip_hi - g->sip_lo + 1u;
	uint32_t ndp = g->dport_hi - g->dport_lo + 1u, ndi = g->dip_hi - g->dip_lo + 1u;
	uint64_t x = f;

	memcpy(a->dst_mac, g->dst_mac, 6);
	memcpy(a->src_mac, g->src_mac, 6);
	a->src_port = (uint16_t)(g->sport_lo + x % nsp);
	x /= nsp;
	a->src_ip = g->sip_lo + (uint32_t)(x % nsi);
	x /= nsi;
	a->dst_port = (uint16_t)(g->dport_lo + x % ndp);
	x /= ndp;
	a->dst_ip = g->dip_lo + (uint32_t)(x % ndi);
	a->ttl = 64;
	a->tos = 0;
}

static int open_port(struct gen *g, const char *spec, struct weir_port **out)
{
	struct weir_port_conf conf = {.pool = g->pool, .nb_rxq = g->queues, .nb_txq = g->queues};
	char why[WEIR_PORT_ERRSIZE + 64];
	int err = weir_port_open(spec, &conf, out, why, sizeof(why));

	if (err < 0) {
		fprintf(stderr, "weir-gen: %s\n", why);
		return err;
	}
	if (weir_port_nb_rxq(*out) < g->queues || weir_port_nb_txq(*out) < g->queues) {
		fprintf(stderr, "weir-gen: %s opened %u RX / %u TX queues; --queues %u needs that "
				"many (add ?queues=%u to the spec)\n", spec, weir_port_nb_rxq(*out),
			weir_port_nb_txq(*out), g->queues, g->queues);
		return -EINVAL;
	}
	return 0;
}

static int setup(struct gen *g)
{
	struct weir_pool_conf pc = {.name = "gen", .n = g->pool_size};
	uint32_t maxlen = g->sizes.range ? g->sizes.hi : 0;
	int err;

	for (int i = 0; i < g->sizes.n && !g->sizes.range; i++)
		maxlen = WEIR_MAX(maxlen, g->sizes.size[i]);
	if (maxlen + 128 > 2048)
		pc.buf_size = (uint32_t)weir_align_pow2(maxlen + 128);
	if ((err = weir_pool_create(&pc, &g->pool)) < 0) {
		fprintf(stderr, "weir-gen: cannot create a pool of %u buffers: %s (try a smaller "
				"--pool)\n", g->pool_size, strerror(-err));
		return err;
	}
	if (g->mode != MODE_RX && (err = open_port(g, g->tx_spec, &g->txp)) < 0)
		return err;
	if (g->mode == MODE_RX || g->mode == MODE_REFLECT) {
		const char *s = g->rx_spec ? g->rx_spec : g->tx_spec;

		if (g->mode == MODE_REFLECT) {
			g->rxp = g->txp;
			g->txp = NULL; /* reflect generates nothing */
		} else if ((err = open_port(g, s, &g->rxp)) < 0) {
			return err;
		}
	} else if (g->mode == MODE_TXRX) {
		if (g->rx_spec) {
			if ((err = open_port(g, g->rx_spec, &g->rxp)) < 0)
				return err;
		} else {
			g->rxp = g->txp;
		}
	}
	if (g->txp) {
		if (!g->src_mac_set)
			weir_port_mac(g->txp, g->src_mac);
		g->tmpl = calloc(g->flows, sizeof(*g->tmpl));
		if (!g->tmpl)
			return -ENOMEM;
		for (uint32_t f = 0; f < g->flows; f++) {
			struct probe_addr a;

			flow_addr(g, f, &a);
			probe_tmpl_init(&g->tmpl[f], &a);
		}
	}
	for (uint16_t q = 0; q < g->queues; q++) {
		struct gen_lcore *lc = &g->lcores[q];

		pthread_mutex_init(&lc->mu, NULL);
		lc->owd = malloc(sizeof(struct hist));
		lc->rtt = malloc(sizeof(struct hist));
		lc->pub_owd = malloc(sizeof(struct hist));
		lc->pub_rtt = malloc(sizeof(struct hist));
		lc->ivl_owd = malloc(sizeof(struct hist));
		lc->ivl_rtt = malloc(sizeof(struct hist));
		lc->frx = calloc(GEN_MAX_FLOWS, sizeof(*lc->frx));
		if (!lc->owd || !lc->rtt || !lc->pub_owd || !lc->pub_rtt || !lc->ivl_owd ||
		    !lc->ivl_rtt || !lc->frx)
			return -ENOMEM;
		hist_init(lc->owd);
		hist_init(lc->rtt);
		hist_init(lc->pub_owd);
		hist_init(lc->pub_rtt);
		hist_init(lc->ivl_owd);
		hist_init(lc->ivl_rtt);
	}
	return 0;
}

static void teardown(struct gen *g)
{
	if (g->rxp && g->rxp != g->txp)
		weir_port_close(g->rxp);
	if (g->txp)
		weir_port_close(g->txp);
	for (uint16_t q = 0; q < GEN_MAX_QUEUES; q++) {
		struct gen_lcore *lc = &g->lcores[q];

		free(lc->owd);
		free(lc->rtt);
		free(lc->pub_owd);
		free(lc->pub_rtt);
		free(lc->ivl_owd);
		free(lc->ivl_rtt);
		free(lc->frx);
	}
	free(g->tmpl);
	free(g->tx_spec);
	free(g->rx_spec);
	free(g->stats_socket);
}

static bool all_tx_done(struct gen *g)
{
	for (uint16_t q = 0; q < g->queues; q++)
		if (!atomic_load(&g->lcores[q].c.tx_done))
			return false;
	return true;
}

int main(int argc, char **argv)
{
	struct gen *g = calloc(1, sizeof(*g));
	struct app_cli cli = gen_cli;
	struct app_tele *tele = NULL;
	struct totals prev, cur;
	weir_ns_t last;
	int r, rc = 0, launched = 0;
	char *sum_doc = NULL;
	size_t sum_len = 0;
	FILE *sum_out;
	uint32_t leaked = 0;

	if (!g)
		return 2;
	g->queues = 1;
	g->burst = 32;
	g->seed = 1;
	g->flows = 1;
	g->pool_size = 16384;
	g->drain = 500 * WEIR_NS_PER_MS;
	g->rate.pps = 10000;
	memset(g->dst_mac, 0xff, 6);
	g->sip_lo = g->sip_hi = 0x0a000001;
	g->dip_lo = g->dip_hi = 0x0a000002;
	g->sport_lo = 9000;
	g->sport_hi = 65535;
	g->dport_lo = g->dport_hi = 9;
	cli.ctx = g;
	r = app_cli_parse(&cli, argc, argv);
	if (r || check_settings(g) < 0) {
		/* --help (r > 0) or bad usage: nothing was opened yet. */
		teardown(g);
		free(g);
		return r > 0 ? 0 : 1;
	}
	weir_signal_install();
	if (setup(g) < 0) {
		rc = 2;
		goto out;
	}
	g->start = weir_clock_now() + 10 * WEIR_NS_PER_MS; /* lcores are up by then */
	for (uint16_t q = 0; q < g->queues; q++) {
		struct gen_lcore *lc = &g->lcores[q];

		lc->g = g;
		lc->q = q;
		lc->cpu = g->ncpus ? g->cpus[q] : -1;
		lc->rng = g->seed * 0x2545f4914f6cdd1dULL + q;
		r = weir_lcore_launch(lc->cpu, 1 + q, gen_lcore_main, lc, &lc->lc);
		if (r < 0) {
			fprintf(stderr, "weir-gen: cannot start lcore %u on CPU %d: %s\n", q, lc->cpu,
				strerror(-r));
			weir_stop = 1;
			rc = 2;
			break;
		}
		launched++;
	}
	if (g->stats_socket && !rc) {
		char why[256];

		r = app_tele_start(g->stats_socket, gen_json, g, &tele, why, sizeof(why));
		if (r < 0) {
			fprintf(stderr, "weir-gen: --stats-socket %s\n", why);
			weir_stop = 1;
			rc = 2;
		}
	}
	totals_get(g, &prev);
	last = weir_clock_now();
	while (!weir_should_stop()) {
		weir_ns_t now = weir_clock_now(), next = now + 20 * WEIR_NS_PER_MS;

		/* A receiver alone waits only for the next line or the end
		 * (the stop flag wakes it), not to poll. */
		if (!g->txp) {
			next = last + WEIR_NS_PER_SEC;
			if (g->duration && weir_time_after(next, g->start + g->duration))
				next = g->start + g->duration;
		}
		if (weir_time_after(next, now) && weir_stop_wait(next - now))
			break;
		now = weir_clock_now();
		if (g->txp && !g->tx_end && all_tx_done(g))
			g->tx_end = now;
		if (g->tx_end && (!g->rxp || now - g->tx_end >= g->drain))
			break;
		if (!g->txp && g->duration && !weir_time_after(g->start + g->duration, now))
			break;
		if (now - last < WEIR_NS_PER_SEC)
			continue;
		totals_get(g, &cur);
		if (!g->quiet && (g->live || isatty(STDERR_FILENO)))
			live_line(g, &prev, &cur, (double)(now - last) / 1e9);
		prev = cur;
		last = now;
	}
	if (g->txp && !g->tx_end)
		g->tx_end = weir_clock_now();
	atomic_store(&g->rx_stop, true);
	weir_stop = 1;
	for (int q = 0; q < launched; q++)
		weir_lcore_join(g->lcores[q].lc, NULL);
	app_tele_stop(tele);
	/* Rendered now, printed after the ports are closed, so the JSON can
	 * say whether every buffer came home. */
	if (!rc) {
		sum_out = open_memstream(&sum_doc, &sum_len);
		if (sum_out) {
			summary(g, sum_out);
			fclose(sum_out);
		}
	}
out:
	teardown(g);
	if (g->pool) {
		leaked = weir_pool_in_use(g->pool);

		if (leaked) {
			fprintf(stderr, "weir-gen: %u packet buffers leaked\n", leaked);
			if (!rc)
				rc = 3;
		}
		weir_pool_destroy(g->pool);
	}
	if (sum_doc) {
		report_finish(stdout, sum_doc, sum_len, g->json, leaked);
		free(sum_doc);
	}
	free(g);
	return rc;
}
