// SPDX-License-Identifier: BSD-3-Clause
/*
 * CoDel and fq_codel under a synthetic clock: the control law alone
 * (codel.h with plain structs, no packets), the codel qdisc dropping and
 * ECN-marking (with a valid IPv4 checksum after, each mark counted once
 * even when ce_threshold also applies), fq_codel keeping a sparse flow's
 * delay near zero beside 8 saturating bulk flows while a FIFO bloats, and
 * fq_codel's packet and memory limits dropping from the fattest flow (also
 * when zero-length packets hold the memory) with every dropped buffer
 * freed once; and the trend option skipping drops only while the queue
 * drains between decisions (smooth and TSO-bursty queues), never for an
 * unresponsive flow.
 */
#include <stdlib.h>

#include "codel.h"
#include "qdisc_helpers.h"

TestSuite(codel, .init = pool_setup, .fini = pool_teardown);

/* --- the control law, without packets ------------------------------------- */

struct fake_q {
	uint64_t head;          /* next item */
	weir_ns_t gap;          /* item i arrived at i * gap */
	weir_ns_t now;
	weir_ns_t drops[64];
	int ndrops;
	uint64_t backlog;
	uint64_t item;          /* storage for the returned "item" */
};

static void *fq_deq(void *ctx)
{
	struct fake_q *f = ctx;

	f->item = f->head++;
	return &f->item;
}

static weir_ns_t fq_time(const void *item)
{
	return *(const uint64_t *)item * 50 * WEIR_NS_PER_US;
}

static uint32_t fq_len(const void *item)
{
	(void)item;
	return 1500;
}

static void fq_drop(void *ctx, void *item)
{
	struct fake_q *f = ctx;

	(void)item;
	if (f->ndrops < 64)
		f->drops[f->ndrops] = f->now;
	f->ndrops++;
}

static bool fq_ce(void *ctx, void *item)
{
	(void)ctx;
	(void)item;
	return false;
}

Test(codel, drop_intervals_follow_interval_over_sqrt_count)
{
	static const struct codel_queue_ops ops = { fq_deq, fq_time, fq_len, fq_drop, fq_ce };
	struct fake_q f = { .backlog = 1 << 20 };
	struct codel_params p;
	struct codel_vars v;
	struct codel_stats st = { 0 };
	const weir_ns_t step = 10 * WEIR_NS_PER_US;

	codel_params_init(&p);
	codel_vars_init(&v);
	/* Items arrive every 50 us and leave every 100 us: the sojourn time
	 * grows without bound, so CoDel stays in its dropping state and only
	 * the control law decides when to drop. Dequeue every 10 us of time
	 * (a no-op item read each time keeps the queue "served"). */
	for (f.now = 100 * WEIR_NS_PER_US; f.ndrops < 40; f.now += step) {
		if ((f.now / step) % 10)
			continue;
		cr_assert_not_null(codel_dequeue(&f, &f.backlog, &p, &v, &st, &ops, f.now));
	}
	/* First drop one interval after the sojourn first exceeded target. */
	cr_expect_geq(f.drops[0], 100 * WEIR_NS_PER_MS);
	for (int k = 1; k < 39; k++) {
		double gap = (double)(f.drops[k] - f.drops[k - 1]);
		double want = 100e6 / sqrt((double)k);

		/* 100 us is the dequeue granularity of this simulation. */
		cr_expect(fabs(gap - want) <= 0.01 * want + 100e3,
			  "drop %d: gap %.0f ns, interval/sqrt(%d) = %.0f ns", k, gap, k, want);
	}
	cr_expect_eq(st.drop_count, (uint64_t)f.ndrops);
}

Test(codel, newton_step_tracks_inverse_sqrt_for_large_counts)
{
	struct codel_vars v;

	codel_vars_init(&v);
	for (v.count = 1; v.count < 100000; v.count++) {
		codel_newton_step(&v);
		if (v.count > 2) {
			double got = v.rec_inv_sqrt / 4294967296.0, want = 1 / sqrt(v.count);

			cr_assert(fabs(got / want - 1) < 1e-3, "count %u: %f vs %f", v.count, got, want);
		}
	}
}

/* --- codel qdisc ------------------------------------------------------------ */

/* Drives root with a fixed-rate link, arrivals every `gap` from `flows`
 * bulk flows of `len` bytes plus an optional probe every probe_gap. Returns
 * the probe's sojourn times (sorted) in *delays. */
struct sim {
	double link_bps;
	int flows;
	weir_ns_t gap;     /* per bulk flow */
	uint32_t len;
	weir_ns_t probe_gap;
	weir_ns_t duration;
	double probe_delay[4096];
	int nprobe;
	double flow_bytes[16];
	double sent;
};

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void run_sim(struct weir_qdisc *q, struct sim *s)
{
	weir_ns_t next_arr[17], link_free = 0, now = 0;
	int nsrc = s->flows + (s->probe_gap ? 1 : 0);

	for (int i = 0; i < nsrc; i++)
		next_arr[i] = (weir_ns_t)i * 997; /* de-phase the sources */
	while (now < s->duration) {
		weir_ns_t t = link_free;

		for (int i = 0; i < nsrc; i++)
			if (next_arr[i] < t)
				t = next_arr[i];
		now = t;
		for (int i = 0; i < nsrc; i++) {
			if (next_arr[i] != now)
				continue;
			if (i < s->flows) {
				weir_qdisc_enqueue(q, mk_udp((uint16_t)(1000 + i), s->len, 0), now);
				next_arr[i] += s->gap;
			} else {
				weir_qdisc_enqueue(q, mk_udp(5000, 100, 0), now);
				next_arr[i] += s->probe_gap;
			}
		}
		if (now >= link_free) {
			struct weir_pkt *p = weir_qdisc_dequeue(q, now, NULL);

			if (p) {
				link_free = now + (weir_ns_t)(p->pkt_len * 8 / s->link_bps * 1e9);
				s->sent += p->pkt_len;
				if (p->udata64 == 5000) {
					if (s->nprobe < 4096)
						s->probe_delay[s->nprobe++] = (double)(now - p->enq_time);
				} else {
					s->flow_bytes[p->udata64 - 1000] += p->pkt_len;
				}
				weir_pkt_free(p);
			} else {
				link_free = now + 1000;
			}
		}
	}
	qsort(s->probe_delay, (size_t)s->nprobe, sizeof(double), cmp_d);
}

static double pct(const struct sim *s, double p)
{
	int i = (int)(p * (s->nprobe - 1));

	return s->probe_delay[i];
}

/* One flow at 120% of a 10 Mbit/s link through the qdisc SPEC: a FIFO
 * would grow without bound; CoDel drops and holds the standing queue near
 * target with the link still busy. */
static void expect_controls_one_flow(const char *spec)
{
	struct weir_qdisc *q = mkq(spec);
	struct sim s = { .link_bps = 10e6, .flows = 1, .len = 1000,
			 .gap = (weir_ns_t)(1000 * 8 / 12e6 * 1e9), .duration = 10 * WEIR_NS_PER_SEC };
	struct weir_qdisc_stats st;

	run_sim(q, &s);
	weir_qdisc_stats_get(q, &st);
	cr_expect_gt(st.drops_aqm, 100, "%s", spec);
	cr_expect_lt(st.last_sojourn, 30 * WEIR_NS_PER_MS, "%s: sojourn %llu ns", spec,
		     (unsigned long long)st.last_sojourn);
	cr_expect_gt(s.sent * 8 / 10.0, 0.95 * 10e6, "%s: utilisation", spec);
	weir_qdisc_destroy(q);
}

Test(codel, codel_qdisc_controls_sojourn)
{
	expect_controls_one_flow("codel limit 10000");
}

Test(codel, ecn_marks_instead_of_dropping_and_fixes_checksum)
{
	struct weir_qdisc *q = mkq("codel ecn limit 10000");
	int marked = 0, ok_csum = 0;
	weir_ns_t now = 0;

	/* ECT(0) packets in, dequeued slowly: the queue's sojourn passes
	 * target for longer than interval. */
	for (int i = 0; i < 3000; i++)
		weir_qdisc_enqueue(q, mk_udp(1, 1000, 0x02), (weir_ns_t)i * 100 * WEIR_NS_PER_US);
	for (int i = 0; i < 3000; i++) {
		struct weir_pkt *p;

		now = (weir_ns_t)i * 200 * WEIR_NS_PER_US;
		p = weir_qdisc_dequeue(q, now, NULL);
		if (!p)
			break;
		if ((weir_pkt_data(p)[15] & 3) == 3)
			marked++;
		ok_csum += ip_csum(weir_pkt_data(p) + 14, 20) == 0;
		weir_pkt_free(p);
	}
	{
		struct weir_qdisc_stats st;

		weir_qdisc_stats_get(q, &st);
		cr_expect_geq(marked, 5, "marked %d", marked);
		cr_expect_eq(st.ecn_marks, (uint64_t)marked);
		cr_expect_eq(st.drops, 0, "ECT packets were dropped, not marked");
		cr_expect_eq(ok_csum, 3000, "only %d checksums valid", ok_csum);
	}
	weir_qdisc_destroy(q);
}

/* ECT(0) packets in every 100 us, out every 200 us: the sojourn climbs
 * past target (and any ce_threshold) and stays there. Returns how many of
 * the packets dequeued carry CE. */
static int run_ect_backlog(struct weir_qdisc *q, struct weir_qdisc_stats *st)
{
	int marked = 0;

	for (int i = 0; i < 3000; i++)
		weir_qdisc_enqueue(q, mk_udp(1, 1000, 0x02), (weir_ns_t)i * 100 * WEIR_NS_PER_US);
	for (int i = 0; i < 3000; i++) {
		struct weir_pkt *p = weir_qdisc_dequeue(q, (weir_ns_t)i * 200 * WEIR_NS_PER_US, NULL);

		if (!p)
			break;
		marked += (weir_pkt_data(p)[15] & 3) == 3;
		weir_pkt_free(p);
	}
	weir_qdisc_stats_get(q, st);
	return marked;
}

/*
 * Bug: a packet that CoDel's control law marked and whose sojourn was also
 * above ce_threshold was marked a second time, and counted twice in the
 * tree's ecn_marks. One packet, one mark: ecn_marks equals the packets that
 * left with CE, for codel and for fq_codel (same codel.h).
 */
Test(codel, ecn_marks_count_a_packet_once_when_ce_threshold_also_marks_it)
{
	static const char *const specs[] = {
		"codel ecn ce_threshold 1ms limit 10000",
		"fq_codel ecn ce_threshold 1ms limit 10000 seed 1",
	};

	for (int k = 0; k < 2; k++) {
		struct weir_qdisc *q = mkq(specs[k]);
		struct weir_qdisc_stats st;
		int marked = run_ect_backlog(q, &st);

		cr_expect_geq(marked, 2000, "%s: only %d marked", specs[k], marked);
		cr_expect_eq(st.ecn_marks, (uint64_t)marked, "%s: %llu marks counted for %d packets",
			     specs[k], (unsigned long long)st.ecn_marks, marked);
		cr_expect_eq(st.drops, 0, "%s", specs[k]);
		weir_qdisc_destroy(q);
	}
}

/* --- fq_codel -------------------------------------------------------------- */

Test(codel, fq_codel_sparse_flow_near_zero_delay)
{
	/* 8 bulk flows at 150% of 100 Mbit/s in total, one probe every 10 ms. */
	const double link = 100e6;
	const weir_ns_t gap = (weir_ns_t)(1500 * 8 / (link * 1.5 / 8) * 1e9);
	struct sim *fq = calloc(1, sizeof(*fq)), *ff = calloc(1, sizeof(*ff));
	struct weir_qdisc *q;
	double fair[8];

	*fq = (struct sim){ .link_bps = link, .flows = 8, .gap = gap, .len = 1500,
			    .probe_gap = 10 * WEIR_NS_PER_MS, .duration = 5 * WEIR_NS_PER_SEC };
	*ff = *fq;
	q = mkq("fq_codel seed 7");
	run_sim(q, fq);
	weir_qdisc_destroy(q);
	q = mkq("fifo limit 1000");
	run_sim(q, ff);
	weir_qdisc_destroy(q);

	cr_assert_gt(fq->nprobe, 400);
	cr_expect_lt(pct(fq, 0.99), 1e6, "fq_codel probe p99 %.0f ns", pct(fq, 0.99));
	cr_expect_gt(pct(ff, 0.50), 50e6, "fifo probe p50 only %.0f ns", pct(ff, 0.5));
	cr_expect_gt(fq->sent * 8 / 5.0, 0.95 * link, "utilisation %.3f", fq->sent * 8 / 5 / link);
	for (int i = 0; i < 8; i++)
		fair[i] = fq->flow_bytes[i];
	cr_expect_geq(jain(fair, 8), 0.99, "bulk flows' Jain index %f", jain(fair, 8));
	free(fq);
	free(ff);
}

Test(codel, fq_codel_limit_drops_from_fattest_flow)
{
	struct weir_qdisc *q = mkq("fq_codel limit 100 drop_batch 16 seed 3");
	struct weir_qdisc_stats st;
	int sparse_left = 0;

	/* Flow A fills the queue; flow B has 5 packets. Overflow must be
	 * taken from A's head, never from B. */
	for (int i = 0; i < 5; i++)
		weir_qdisc_enqueue(q, mk_udp(2, 200, 0), 0);
	for (int i = 0; i < 500; i++)
		cr_assert_neq(weir_qdisc_enqueue(q, mk_udp(1, 1000, 0), 0), WEIR_QDISC_DROPPED);
	weir_qdisc_stats_get(q, &st);
	cr_assert_leq(st.backlog_pkts, 100);
	cr_assert_eq(st.drops + st.backlog_pkts, 505);
	cr_assert_eq(st.drops, st.drops_limit);
	while (1) {
		struct weir_pkt *p = weir_qdisc_dequeue(q, 1, NULL);

		if (!p)
			break;
		sparse_left += p->udata64 == 2;
		weir_pkt_free(p);
	}
	cr_expect_eq(sparse_left, 5);
	weir_qdisc_destroy(q);
}

Test(codel, fq_codel_memory_limit_is_a_hard_cap)
{
	/* Each 2 KiB buffer pins ~2.2 KB: a 64 KiB cap holds < 30 packets
	 * whatever the packet limit says. */
	struct weir_qdisc *q = mkq("fq_codel limit 10000 memory_limit 64k");
	struct weir_qdisc_stats st;
	uint32_t max_backlog = 0;

	for (int i = 0; i < 2000; i++) {
		weir_qdisc_enqueue(q, mk_udp((uint16_t)(i % 7), 64, 0), 0);
		weir_qdisc_stats_get(q, &st);
		if (st.backlog_pkts > max_backlog)
			max_backlog = st.backlog_pkts;
	}
	cr_expect_leq(max_backlog, 65536 / (2048 + sizeof(struct weir_pkt)));
	cr_expect_eq(st.drops + st.backlog_pkts, 2000);
	cr_expect_eq(weir_pool_in_use(pool), st.backlog_pkts, "pool counts do not balance");
	weir_qdisc_destroy(q);
}

/*
 * Bug: the memory-limit loop dropped batches from the flow with the most
 * queued bytes until memory was under the cap. Zero-length packets pin
 * memory (a whole buffer each) but no bytes: once the flows holding bytes
 * were empty, the "fattest" flow was an empty one, each batch dropped
 * nothing, and fq_enqueue never returned.
 */
Test(codel, fq_codel_memory_limit_loop_ends_with_zero_length_packets, .timeout = 20)
{
	struct weir_qdisc *q = mkq("fq_codel limit 10000 flows 1024 memory_limit 64k seed 7");
	const uint32_t fit = 65536 / (2048 + sizeof(struct weir_pkt));
	struct weir_qdisc_stats st;

	/* One flow with bytes, so the first batch has a fat flow to empty. */
	cr_assert_eq(weir_qdisc_enqueue(q, mk_udp(1, 1000, 0), 0), WEIR_QDISC_QUEUED);
	for (uint32_t i = 0; i < 200; i++) {
		struct weir_pkt *p = weir_pkt_alloc(pool);

		cr_assert_not_null(p);
		cr_assert_eq(p->pkt_len, 0);
		p->hash = 1000 + i; /* spread over the flows, not only flow 0 */
		weir_qdisc_enqueue(q, p, 0);
		weir_qdisc_stats_get(q, &st);
		cr_assert_leq(st.backlog_pkts, fit, "after %u: %u packets pin more than 64k", i,
			      st.backlog_pkts);
	}
	cr_expect_eq(st.drops + st.backlog_pkts, 201);
	cr_expect_eq(st.drops, st.drops_limit);
	cr_expect_eq(weir_pool_in_use(pool), st.backlog_pkts, "pool counts do not balance");
	weir_qdisc_destroy(q);
}

Test(codel, dropped_packets_freed_once_across_a_tree)
{
	/* Overload a whole tree, reset it midway, destroy it full: the pool
	 * must balance exactly (the suite's fini checks 0 in use; here we
	 * also check it during the run). */
	struct weir_qdisc *q = mkq("tbf rate 10mbit / prio { fifo limit 20 drop head ; fq_codel limit 50 ; codel limit 30 }");
	struct weir_qdisc_stats st;
	weir_ns_t now = 0;
	uint64_t out = 0;

	for (int round = 0; round < 3000; round++) {
		for (int k = 0; k < 4; k++) {
			struct weir_pkt *p = mk_udp((uint16_t)(round * 4 + k), 200 + (uint32_t)k * 300, 0);

			p->priority = (uint8_t)((round + k) % 16);
			weir_qdisc_enqueue(q, p, now);
		}
		for (struct weir_pkt *p; (p = weir_qdisc_dequeue(q, now, NULL));) {
			out++;
			weir_pkt_free(p);
		}
		now += 200 * WEIR_NS_PER_US;
		if (round == 1500)
			weir_qdisc_reset(q);
		weir_qdisc_stats_get(q, &st);
		cr_assert_eq(weir_pool_in_use(pool), st.backlog_pkts, "round %d: %u in use, backlog %u",
			     round, weir_pool_in_use(pool), st.backlog_pkts);
	}
	cr_expect_gt(st.drops, 0);
	cr_expect_gt(out, 0);
	weir_qdisc_destroy(q);
}

/* --- the trend option ------------------------------------------------------- */

/* A queue whose head has waited `sojourn` whenever it is looked at. */
struct trend_q {
	weir_ns_t now, sojourn, item;
	int drops;
};

static void *tq_deq(void *ctx)
{
	struct trend_q *t = ctx;

	t->item = t->now - t->sojourn;
	return &t->item;
}

static weir_ns_t tq_time(const void *item)
{
	return *(const weir_ns_t *)item;
}

static void tq_drop(void *ctx, void *item)
{
	(void)item;
	((struct trend_q *)ctx)->drops++;
}

/* Sojourn 20 ms for 0.4 s, falling to 6 ms (above target) by 1.2 s, then
 * rising to 20 ms by 2 s; dequeues every ms. Drops per phase in d[3]. */
static void run_trend(bool trend, int d[3], uint64_t *held)
{
	static const struct codel_queue_ops ops = { tq_deq, tq_time, fq_len, tq_drop, fq_ce };
	struct trend_q t = { 0 };
	uint64_t backlog = 1 << 20;
	struct codel_params p;
	struct codel_vars v;
	struct codel_stats st = { 0 };

	codel_params_init(&p);
	p.trend = trend;
	codel_vars_init(&v);
	for (int ms = 1; ms <= 2000; ms++) {
		int phase = ms <= 400 ? 0 : ms <= 1200 ? 1 : 2, before = t.drops;

		t.now = (weir_ns_t)ms * WEIR_NS_PER_MS;
		t.sojourn = phase == 0 ? 20 * WEIR_NS_PER_MS
			  : phase == 1 ? (weir_ns_t)(20e6 - (ms - 400) * 14e6 / 800)
				       : (weir_ns_t)(6e6 + (ms - 1200) * 14e6 / 800);
		cr_assert_not_null(codel_dequeue(&t, &backlog, &p, &v, &st, &ops, t.now));
		d[phase] += t.drops - before;
	}
	*held = st.drop_held;
}

Test(codel, trend_skips_drops_only_while_the_sojourn_falls)
{
	int plain[3] = { 0 }, trend[3] = { 0 };
	uint64_t held_plain, held;

	run_trend(false, plain, &held_plain);
	run_trend(true, trend, &held);
	/* Standing 20 ms: both drop alike. */
	cr_expect_eq(trend[0], plain[0]);
	cr_expect_geq(plain[0], 3);
	/* Draining (still above target): plain CoDel keeps dropping, trend
	 * waits for the drops already made to take effect. */
	cr_expect_geq(plain[1], 8, "plain CoDel dropped %d times while draining", plain[1]);
	cr_expect_eq(trend[1], 0, "trend dropped %d times while the sojourn fell", trend[1]);
	cr_expect_gt(held, 0);
	cr_expect_eq(held_plain, 0);
	/* Rising again: trend drops as the control law says. */
	cr_expect_geq(trend[2], 3, "trend dropped %d times while the sojourn rose", trend[2]);
}

Test(codel, trend_still_controls_an_unresponsive_flow)
{
	/* As codel_qdisc_controls_sojourn: one flow at 120% of the link. Its
	 * queue only falls after drops, so trend skips some decisions but
	 * the sojourn stays bounded. */
	expect_controls_one_flow("codel trend limit 10000");
}

/* A TSO-like sender: bursts of 20 frames with one timestamp each, 110% of
 * a 100 Mbit/s link for 1 s, then 90% (backing off) for 1 s. Returns the
 * AQM drops of each second. */
static void run_bursts(const char *spec, uint64_t d[2])
{
	struct weir_qdisc *q = mkq(spec);
	const weir_ns_t tx = 1514 * 8 * 10; /* ns at 100 Mbit/s */
	weir_ns_t next_burst = 0, link_free = 0;
	struct weir_qdisc_stats st;

	for (weir_ns_t now = 0; now < 2 * WEIR_NS_PER_SEC; now += 10 * WEIR_NS_PER_US) {
		int second = now >= WEIR_NS_PER_SEC;

		if (now >= next_burst) {
			for (int i = 0; i < 20; i++)
				weir_qdisc_enqueue(q, mk_udp(1000, 1472, 0), now);
			next_burst += 20 * tx * (second ? 110 : 90) / 100;
		}
		if (now >= link_free) {
			struct weir_pkt *p = weir_qdisc_dequeue(q, now, NULL);

			if (p) {
				link_free = now + tx;
				weir_pkt_free(p);
			}
		}
		if (now + 10 * WEIR_NS_PER_US == WEIR_NS_PER_SEC) {
			weir_qdisc_stats_get(q, &st);
			d[0] = st.drops_aqm;
		}
	}
	weir_qdisc_stats_get(q, &st);
	d[1] = st.drops_aqm - d[0];
	weir_qdisc_destroy(q);
}

Test(codel, trend_reads_a_bursty_queue_by_its_least_sojourn)
{
	uint64_t plain[2], trend[2];

	run_bursts("codel limit 10000", plain);
	run_bursts("codel trend limit 10000", trend);
	/* Overload: the queue rises between decisions, trend drops as CoDel. */
	cr_expect_geq(trend[0], plain[0] * 3 / 4, "overload: trend %llu vs plain %llu drops",
		      (unsigned long long)trend[0], (unsigned long long)plain[0]);
	/* Backing off (queue still above target, draining): plain CoDel
	 * drops on, trend lets it drain. */
	cr_expect_geq(plain[1], 4, "plain dropped %llu while draining", (unsigned long long)plain[1]);
	cr_expect_leq(trend[1], plain[1] / 2, "draining: trend %llu vs plain %llu drops",
		      (unsigned long long)trend[1], (unsigned long long)plain[1]);
}
