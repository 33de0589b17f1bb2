// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench/qdisc: the scheduler's two numbers.
 *
 * 1. Bufferbloat, in simulation (synthetic clock, so the figures are the
 *    algorithm's, not this noisy 2-core machine's): a tbf 100 Mbit/s
 *    bottleneck fed by 8 unresponsive bulk flows offering 120% of the link
 *    in total plus one sparse probe flow (100 B every 10 ms). For a
 *    1000-packet FIFO and for fq_codel under the same shaper it prints the
 *    probe's queueing delay (p50/p99), link utilisation, and each bulk
 *    flow's share.
 * 2. Cost: ns per packet for enqueue + dequeue of each qdisc on this CPU,
 *    64 flows, bursts of 256, median of several runs, and the ratio to a
 *    FIFO (the anchor: the cheapest possible queue) measured in the same
 *    run.
 *
 * Usage: bench/qdisc [seconds-simulated (10)] [cost-runs (7)]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/qdisc.h"

static struct weir_pool *pool;

static struct weir_pkt *mk_udp(uint16_t sport, uint32_t len)
{
	struct weir_pkt *p = weir_pkt_alloc(pool);
	uint8_t *d;

	if (!p)
		return NULL;
	d = weir_pkt_put(p, (uint16_t)len);
	if (!d) {
		weir_pkt_free(p);
		return NULL;
	}
	memset(d, 0, 42);
	memcpy(d, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
	d[14] = 0x45;
	d[15] = 0x00;
	d[16] = (uint8_t)((len - 14) >> 8);
	d[17] = (uint8_t)(len - 14);
	d[22] = 64;
	d[23] = 17;
	memcpy(d + 26, "\x0a\0\0\x01\x0a\0\0\x02", 8);
	d[34] = (uint8_t)(sport >> 8);
	d[35] = (uint8_t)sport;
	d[37] = 9;
	p->udata64 = sport;
	return p;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define NBULK 8
#define PROBE 9999

struct result {
	double p50, p99, util, share[NBULK], jain;
	uint64_t drops;
	int nprobe;
};

static void simulate(const char *spec, double seconds, struct result *r)
{
	const double link = 100e6;
	const weir_ns_t bulk_gap = (weir_ns_t)(1500 * 8 / (link * 1.2 / NBULK) * 1e9);
	const weir_ns_t probe_gap = 10 * WEIR_NS_PER_MS;
	const weir_ns_t end = (weir_ns_t)(seconds * 1e9), warm = WEIR_NS_PER_SEC;
	weir_ns_t next[NBULK + 1], now = 0, due = 0;
	double *delays = calloc((size_t)(seconds * 100) + 16, sizeof(double));
	double bytes[NBULK] = { 0 }, sent = 0, s = 0, s2 = 0;
	struct weir_qdisc *q;
	struct weir_qdisc_stats st;
	char why[256];
	int n = 0;

	if (weir_qdisc_create(spec, &q, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s\n", why);
		exit(1);
	}
	for (int i = 0; i <= NBULK; i++)
		next[i] = (weir_ns_t)i * 1009;
	while (now < end) {
		weir_ns_t t = UINT64_MAX;

		for (int i = 0; i <= NBULK; i++)
			if (next[i] < t)
				t = next[i];
		if (due && due < t)
			t = due;
		now = t;
		for (int i = 0; i <= NBULK; i++) {
			struct weir_pkt *p;

			if (next[i] != now)
				continue;
			p = i < NBULK ? mk_udp((uint16_t)(1000 + i), 1500) : mk_udp(PROBE, 100);
			if (!p) {
				fprintf(stderr, "pool exhausted\n");
				exit(1);
			}
			weir_qdisc_enqueue(q, p, now);
			next[i] += i < NBULK ? bulk_gap : probe_gap;
		}
		/* The "driver": takes whatever the shaper lets out now. */
		for (;;) {
			struct weir_pkt *p = weir_qdisc_dequeue(q, now, &due);

			if (!p)
				break;
			if (now >= warm) {
				sent += p->pkt_len;
				if (p->udata64 == PROBE)
					delays[n++] = (double)(now - p->enq_time);
				else
					bytes[p->udata64 - 1000] += p->pkt_len;
			}
			weir_pkt_free(p);
		}
	}
	weir_qdisc_stats_get(q, &st);
	r->drops = st.drops;
	weir_qdisc_destroy(q);
	qsort(delays, (size_t)n, sizeof(double), cmp_d);
	r->nprobe = n;
	r->p50 = n ? delays[n / 2] / 1e6 : 0;
	r->p99 = n ? delays[(int)(0.99 * (n - 1))] / 1e6 : 0;
	r->util = sent * 8 / (link * (seconds - 1));
	for (int i = 0; i < NBULK; i++) {
		double tot = 0;

		for (int k = 0; k < NBULK; k++)
			tot += bytes[k];
		r->share[i] = tot ? bytes[i] / tot : 0;
		s += bytes[i];
		s2 += bytes[i] * bytes[i];
	}
	r->jain = s2 ? s * s / (NBULK * s2) : 0;
	free(delays);
}

static double cost_ns(const char *spec)
{
	enum { BURST = 256, ROUNDS = 4000 };
	struct weir_pkt *pk[BURST];
	struct weir_qdisc *q;
	char why[256];
	weir_ns_t t0, t1, now = 1;

	if (weir_qdisc_create(spec, &q, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s\n", why);
		exit(1);
	}
	for (int i = 0; i < BURST; i++) {
		pk[i] = mk_udp((uint16_t)(i % 64), 64 + (uint32_t)(i % 4) * 400);
		if (!pk[i]) {
			fprintf(stderr, "pool exhausted\n");
			exit(1);
		}
		pk[i]->priority = (uint8_t)(i % 16);
	}
	t0 = weir_clock_now();
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < BURST; i++) {
			/* Fresh packets carry no hash: count the hashing. */
			pk[i]->hash = 0;
			weir_qdisc_enqueue(q, pk[i], now);
		}
		now += WEIR_NS_PER_MS;
		for (int i = 0; i < BURST; i++) {
			pk[i] = weir_qdisc_dequeue(q, now, NULL);
			if (!pk[i]) {
				fprintf(stderr, "%s: lost a packet\n", spec);
				exit(1);
			}
		}
	}
	t1 = weir_clock_now();
	weir_pkt_free_bulk(pk, BURST);
	weir_qdisc_destroy(q);
	return (double)(t1 - t0) / ((double)BURST * ROUNDS);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 10;
	int runs = argc > 2 ? atoi(argv[2]) : 7;
	struct weir_pool_conf pc = { .name = "bench", .n = 65536 };
	static const char *const sims[][2] = {
		{ "fifo", "tbf rate 100mbit burst 32k / fifo limit 1000" },
		{ "fq_codel", "tbf rate 100mbit burst 32k / fq_codel seed 7" },
	};
	static const char *const costs[] = {
		"fifo limit 100000",
		"prio / fifo limit 100000",
		"drr flows 1024 / fifo limit 1000",
		"codel limit 100000",
		"fq_codel limit 100000",
		"tbf rate 1tbit burst 1mb / fifo limit 100000",
		"tbf rate 1tbit burst 1mb / fq_codel limit 100000",
	};
	double anchor = 0;
	int err = 0;

	if (seconds < 2 || runs < 1) {
		fprintf(stderr, "usage: %s [seconds >= 2] [runs >= 1]\n", argv[0]);
		return 2;
	}
	if ((err = weir_pool_create(&pc, &pool)) < 0) {
		fprintf(stderr, "pool: %s\n", strerror(-err));
		return 1;
	}
	printf("# bottleneck: tbf 100 Mbit/s, 8 bulk UDP flows offering 120%% (1500 B), probe 100 B / 10 ms\n");
	printf("# %.0f s simulated (first 1 s excluded), synthetic clock\n", seconds);
	printf("%-9s %10s %10s %8s %7s %8s  %s\n", "qdisc", "probe_p50", "probe_p99", "util", "jain",
	       "drops", "bulk shares (%)");
	for (unsigned k = 0; k < 2; k++) {
		struct result r;

		simulate(sims[k][1], seconds, &r);
		printf("%-9s %8.3fms %8.3fms %7.2f%% %7.4f %8llu ", sims[k][0], r.p50, r.p99,
		       r.util * 100, r.jain, (unsigned long long)r.drops);
		for (int i = 0; i < NBULK; i++)
			printf(" %.1f", r.share[i] * 100);
		printf("\n");
	}
	printf("\n# cost: enqueue+dequeue, ns/packet, 64 flows, bursts of 256, %d runs (median [min-max]), ratio vs fifo\n",
	       runs);
	for (unsigned k = 0; k < sizeof(costs) / sizeof(costs[0]); k++) {
		double v[64];
		int n = runs > 64 ? 64 : runs;

		cost_ns(costs[k]); /* warm up caches and the pool */
		for (int i = 0; i < n; i++)
			v[i] = cost_ns(costs[k]);
		qsort(v, (size_t)n, sizeof(double), cmp_d);
		if (k == 0)
			anchor = v[n / 2];
		printf("%-50s %7.1f ns [%.1f-%.1f]  x%.2f\n", costs[k], v[n / 2], v[0], v[n - 1],
		       v[n / 2] / anchor);
	}
	if (weir_pool_in_use(pool))
		fprintf(stderr, "leak: %u packets in use\n", weir_pool_in_use(pool));
	weir_pool_destroy(pool);
	return 0;
}
