// SPDX-License-Identifier: BSD-3-Clause
/*
 * Micro-benchmark of weir's fast-path primitives against DPDK's, in one
 * process, one run, on one pinned core:
 *
 *   pool   get_bulk(32) + put_bulk(32) through the per-lcore cache
 *          (weir_pool vs rte_mempool with a 256-entry cache)
 *   ring   enqueue_burst(32) + dequeue_burst(32), SPSC and MPMC
 *          (weir_ring vs rte_ring)
 *
 * Each case runs 5 times, weir and DPDK alternating so that noise from the
 * other tenants of this machine hits both alike; the report is the median
 * ns per packet, the min-max, and the ratio weir/DPDK (< 1: weir faster).
 * DPDK runs in-process: rte_eal_init --no-huge -m 512 --no-pci --no-shconf.
 *
 *   micro [-c CPU] [-r RUNS] [-i ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_version.h>

#include "weir/clock.h"
#include "weir/lcore.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/ring.h"

#define BURST 32
#define MAX_RUNS 15

/* Keeps the compiler from proving the loops useless. */
static volatile uintptr_t sink;

struct bench {
	const char *name;
	double (*weir)(void *, uint64_t); /* ns per packet for one run */
	double (*dpdk)(void *, uint64_t);
	void *weir_arg, *dpdk_arg;
};

static double ns_per_pkt(weir_ns_t t0, uint64_t iters)
{
	return (double)(weir_clock_now() - t0) / (double)(iters * BURST);
}

static double weir_pool_run(void *arg, uint64_t iters)
{
	struct weir_pool *pool = arg;
	struct weir_pkt *objs[BURST];
	weir_ns_t t0 = weir_clock_now();

	for (uint64_t i = 0; i < iters; i++) {
		if (weir_unlikely(weir_pool_get_bulk(pool, objs, BURST)))
			abort();
		sink += (uintptr_t)objs[i & (BURST - 1)];
		weir_pool_put_bulk(pool, objs, BURST);
	}
	return ns_per_pkt(t0, iters);
}

static double dpdk_pool_run(void *arg, uint64_t iters)
{
	struct rte_mempool *mp = arg;
	void *objs[BURST];
	weir_ns_t t0 = weir_clock_now();

	for (uint64_t i = 0; i < iters; i++) {
		if (unlikely(rte_mempool_get_bulk(mp, objs, BURST)))
			abort();
		sink += (uintptr_t)objs[i & (BURST - 1)];
		rte_mempool_put_bulk(mp, objs, BURST);
	}
	return ns_per_pkt(t0, iters);
}

static void *objs_in[BURST];

static double weir_ring_run(void *arg, uint64_t iters)
{
	struct weir_ring *r = arg;
	void *out[BURST];
	weir_ns_t t0 = weir_clock_now();

	for (uint64_t i = 0; i < iters; i++) {
		uint32_t n = weir_ring_enqueue_burst(r, objs_in, BURST);

		n = weir_ring_dequeue_burst(r, out, n);
		if (weir_unlikely(n != BURST))
			abort();
		sink += (uintptr_t)out[i & (BURST - 1)];
	}
	return ns_per_pkt(t0, iters);
}

static double dpdk_ring_run(void *arg, uint64_t iters)
{
	struct rte_ring *r = arg;
	void *out[BURST];
	weir_ns_t t0 = weir_clock_now();

	for (uint64_t i = 0; i < iters; i++) {
		unsigned n = rte_ring_enqueue_burst(r, objs_in, BURST, NULL);

		n = rte_ring_dequeue_burst(r, out, n, NULL);
		if (unlikely(n != BURST))
			abort();
		sink += (uintptr_t)out[i & (BURST - 1)];
	}
	return ns_per_pkt(t0, iters);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void run(const struct bench *b, int runs, uint64_t iters)
{
	double w[MAX_RUNS], d[MAX_RUNS];

	/* Warm caches and the per-lcore pool caches once, untimed. */
	b->weir(b->weir_arg, iters / 10 + 1);
	b->dpdk(b->dpdk_arg, iters / 10 + 1);
	for (int i = 0; i < runs; i++) {
		w[i] = b->weir(b->weir_arg, iters);
		d[i] = b->dpdk(b->dpdk_arg, iters);
	}
	qsort(w, (size_t)runs, sizeof(double), cmp_double);
	qsort(d, (size_t)runs, sizeof(double), cmp_double);
	printf("%-30s %7.2f (%5.2f-%5.2f)   %7.2f (%5.2f-%5.2f)   %5.2f\n", b->name,
	       w[runs / 2], w[0], w[runs - 1], d[runs / 2], d[0], d[runs - 1],
	       w[runs / 2] / d[runs / 2]);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int cpu = weir_lcore_count() - 1, runs = 5, opt, err;
	uint64_t iters = 2000000;
	char lcores[32], prefix[64];

	while ((opt = getopt(argc, argv, "c:r:i:")) != -1) {
		switch (opt) {
		case 'c': cpu = atoi(optarg); break;
		case 'r': runs = atoi(optarg); break;
		case 'i': iters = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: %s [-c CPU] [-r RUNS] [-i ITERATIONS]\n", argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || !iters) {
		fprintf(stderr, "micro: runs must be 1..%d and iterations > 0\n", MAX_RUNS);
		return 2;
	}

	/* EAL pins this (main) thread to `cpu` and makes it DPDK lcore 0. */
	snprintf(lcores, sizeof(lcores), "%d", cpu);
	snprintf(prefix, sizeof(prefix), "--file-prefix=weir-micro-%d", (int)getpid());
	char *eal_argv[] = {argv[0], "-l", lcores, "--no-huge", "-m", "512", "--no-pci",
			    "--no-shconf", prefix, "--log-level=error", NULL};
	if (rte_eal_init((int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1, eal_argv) < 0) {
		fprintf(stderr, "micro: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	/* weir: the same thread is weir lcore 0 on the same CPU. */
	weir_lcore_set_id(0);
	if ((err = weir_lcore_pin(cpu)) < 0) {
		fprintf(stderr, "micro: cannot pin to CPU %d: %s\n", cpu, strerror(-err));
		return 1;
	}

	struct weir_pool *wpool = NULL;
	struct weir_ring *wspsc = NULL, *wmpmc = NULL;

	weir_pool_create(&(struct weir_pool_conf){.name = "micro", .n = 8192, .cache_size = 256},
			 &wpool);
	weir_ring_create("spsc", 1024, WEIR_RING_SP_ENQ | WEIR_RING_SC_DEQ, &wspsc);
	weir_ring_create("mpmc", 1024, WEIR_RING_MP_MC, &wmpmc);
	struct rte_mempool *mp = rte_mempool_create("micro", 8191, 2048 + 128, 256, 0, NULL,
						    NULL, NULL, NULL, SOCKET_ID_ANY, 0);
	struct rte_ring *dspsc = rte_ring_create("spsc", 1024, SOCKET_ID_ANY,
						 RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct rte_ring *dmpmc = rte_ring_create("mpmc", 1024, SOCKET_ID_ANY, 0);

	if (!wpool || !mp || !wspsc || !wmpmc || !dspsc || !dmpmc) {
		fprintf(stderr, "micro: cannot create pools/rings (DPDK: %s)\n",
			rte_strerror(rte_errno));
		return 1;
	}
	for (int i = 0; i < BURST; i++)
		objs_in[i] = &objs_in[i];

	const struct bench benches[] = {
		{"pool get+put bulk 32, cache", weir_pool_run, dpdk_pool_run, wpool, mp},
		{"ring SPSC enq+deq burst 32", weir_ring_run, dpdk_ring_run, wspsc, dspsc},
		{"ring MPMC enq+deq burst 32", weir_ring_run, dpdk_ring_run, wmpmc, dmpmc},
	};

	printf("weir vs DPDK %s, CPU %d, median of %d runs x %llu bursts of %d\n",
	       rte_version(), cpu, runs, (unsigned long long)iters, BURST);
	printf("%-30s %-22s %-22s %s\n", "ns per packet", "weir (min-max)", "DPDK (min-max)",
	       "weir/DPDK");
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		run(&benches[i], runs, iters);

	weir_pool_cache_flush(wpool, 0);
	weir_pool_destroy(wpool);
	weir_ring_destroy(wspsc);
	weir_ring_destroy(wmpmc);
	rte_mempool_free(mp);
	rte_ring_free(dspsc);
	rte_ring_free(dmpmc);
	rte_eal_cleanup();
	return 0;
}
