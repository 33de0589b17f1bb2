// SPDX-License-Identifier: BSD-3-Clause
/*
 * Port taps under a running lcore (src/port_tap.c): weir_port_tap_stop
 * must not return while a burst that saw the tap is still in its
 * callbacks, now that the wrappers only mark their queue and stop relies
 * on membarrier(2). A thread bursts on a null: port without pause while
 * the main thread starts a tap on freshly allocated state, lets it run,
 * stops it and at once poisons and frees the state: a callback still
 * running after stop reads the poison (and, under ASan, freed memory).
 * fini fails when a packet buffer leaked.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "weir/lcore.h"
#include "weir/pkt.h"
#include "weir/port.h"

static struct weir_pool *pool;
static struct weir_port *port;
static atomic_bool quit;
static atomic_uint bursts_seen, poisoned;

static void init(void)
{
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port_conf conf;

	weir_lcore_set_id(WEIR_LCORE_ANY);
	cr_assert_eq(weir_pool_create(&(struct weir_pool_conf){.name = "tap", .n = 2048}, &pool),
		     0);
	conf = (struct weir_port_conf){.pool = pool};
	cr_assert_eq(weir_port_open("null:?size=64", &conf, &port, why, sizeof(why)), 0, "%s",
		     why);
}

static void fini(void)
{
	uint32_t left;

	weir_port_close(port);
	for (uint32_t i = 0; i < WEIR_MAX_LCORE; i++)
		weir_pool_cache_flush(pool, i);
	left = weir_pool_in_use(pool);
	weir_pool_destroy(pool);
	if (left) {
		cr_log_error("leaked %u packet buffers", left);
		abort();
	}
}

TestSuite(port_tap, .init = init, .fini = fini, .timeout = 60);

struct live {
	unsigned magic; /* 0x7a9 while the tap is set, poison after stop */
	unsigned n;
};

static void live_check(struct live *l)
{
	if (atomic_load_explicit((_Atomic unsigned *)&l->magic, memory_order_relaxed) != 0x7a9)
		atomic_fetch_add(&poisoned, 1);
	l->n++;
}

static void live_rx(void *arg, uint16_t q, struct weir_pkt *const *pkts, uint16_t n)
{
	(void)q, (void)pkts, (void)n;
	live_check(arg);
	atomic_fetch_add(&bursts_seen, 1);
	for (volatile int i = 0; i < 100000; i++) /* a wide window for stop to hit */
		;
	live_check(arg);
}

static void live_tx_post(void *arg, uint16_t q, uint16_t taken)
{
	(void)q, (void)taken;
	live_check(arg);
}

static void *lcore(void *arg)
{
	struct weir_pkt *pkts[32];

	(void)arg;
	weir_lcore_set_id(1);
	while (!atomic_load(&quit)) {
		uint16_t n = weir_port_rx_burst(port, 0, pkts, 32);

		weir_port_tx_burst_or_free(port, 0, pkts, n);
	}
	weir_pool_cache_flush(pool, 1);
	return NULL;
}

Test(port_tap, stop_waits_for_a_burst_inside_the_tap)
{
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, lcore, NULL), 0);
	for (int i = 0; i < 300; i++) {
		struct live *l = calloc(1, sizeof(*l));
		struct weir_port_tap *tap = calloc(1, sizeof(*tap));

		cr_assert(l && tap);
		l->magic = 0x7a9;
		*tap = (struct weir_port_tap){.rx = live_rx, .tx_post = live_tx_post, .arg = l};
		cr_assert_eq(weir_port_tap_start(port, tap), 0);
		for (unsigned seen = atomic_load(&bursts_seen); atomic_load(&bursts_seen) - seen < 2;)
			sched_yield();
		weir_port_tap_stop(port);
		atomic_store_explicit((_Atomic unsigned *)&l->magic, 0xdead, memory_order_relaxed);
		free(l);
		free(tap);
	}
	atomic_store(&quit, true);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&poisoned), 0, "%u callbacks ran after stop returned",
		     atomic_load(&poisoned));
	cr_assert_geq(atomic_load(&bursts_seen), 600);
}
