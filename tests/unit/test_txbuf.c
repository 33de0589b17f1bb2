// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for apps/common/txbuf.h, the apps' TX buffer, over a ring:
 * pair (what end A sends, end B receives): nothing leaves before the buffer
 * is full or its timeout runs out, a flush sends in order, what a full ring
 * will not take goes to the unsent callback (by default freed and counted),
 * and no buffer leaks. fini fails when a packet buffer leaked.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "weir/lcore.h"
#include "weir/pool.h"

#include "common/txbuf.h"

static struct weir_pool *pool;
static struct weir_port *a, *b;

static void open_pair(const char *spec)
{
	struct weir_port_conf conf = {.pool = pool};
	char why[WEIR_PORT_ERRSIZE];

	cr_assert_eq(weir_port_open(spec, &conf, &a, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(weir_port_open(spec, &conf, &b, why, sizeof(why)), 0, "%s", why);
}

static void init(void)
{
	int err;

	weir_lcore_set_id(WEIR_LCORE_ANY);
	err = weir_pool_create(&(struct weir_pool_conf){.name = "txbuf", .n = 2048}, &pool);
	cr_assert_eq(err, 0, "pool: %d", err);
}

static void fini(void)
{
	uint32_t left;

	if (a)
		weir_port_close(a);
	if (b)
		weir_port_close(b);
	for (uint32_t i = 0; i < WEIR_MAX_LCORE; i++)
		weir_pool_cache_flush(pool, i);
	left = weir_pool_in_use(pool);
	weir_pool_destroy(pool);
	if (left) {
		cr_log_error("leaked %u packet buffers", left);
		abort();
	}
}

TestSuite(txbuf, .init = init, .fini = fini, .timeout = 30);

static struct weir_pkt *frame(uint64_t tag)
{
	struct weir_pkt *p = weir_pkt_alloc(pool);

	cr_assert_not_null(p);
	weir_pkt_put(p, 60);
	p->udata64 = tag;
	return p;
}

/* Receives what B got; checks tags first, first + 1, ...; returns the count. */
static int drain_b(uint64_t first)
{
	struct weir_pkt *k[64];
	int total = 0;
	uint16_t n;

	while ((n = weir_port_rx_burst(b, 0, k, 64)) > 0) {
		for (uint16_t i = 0; i < n; i++)
			cr_expect_eq(k[i]->udata64, first + (uint64_t)total + i, "frame out of order");
		weir_pkt_free_bulk(k, n);
		total += n;
	}
	return total;
}

Test(txbuf, init_refuses_bad_sizes)
{
	struct app_txbuf tb;

	open_pair("ring:tb0");
	cr_expect_eq(app_txbuf_init(&tb, a, 0, 0, 0, 0, NULL, NULL), -EINVAL);
	cr_expect_eq(app_txbuf_init(&tb, a, 0, APP_TXBUF_MAX + 1, 0, 0, NULL, NULL), -EINVAL);
	cr_expect_eq(app_txbuf_init(&tb, NULL, 0, 8, 0, 0, NULL, NULL), -EINVAL);
	cr_expect_eq(app_txbuf_init(&tb, a, 0, APP_TXBUF_MAX, 0, 0, NULL, NULL), 0);
}

Test(txbuf, sends_only_when_full)
{
	struct app_txbuf tb;

	open_pair("ring:tb1");
	cr_assert_eq(app_txbuf_init(&tb, a, 0, 8, 0, 0, NULL, NULL), 0);
	for (uint64_t i = 0; i < 7; i++)
		cr_expect_eq(app_txbuf_add(&tb, frame(i), 0), 0);
	cr_expect_eq(drain_b(0), 0, "nothing may leave before the buffer is full");
	cr_expect_eq(app_txbuf_due(&tb), 0, "no timeout: never due");
	cr_expect_eq(app_txbuf_add(&tb, frame(7), 0), 8, "the eighth fills it: a burst of 8");
	cr_expect_eq(tb.length, 0);
	cr_expect_eq(drain_b(0), 8);
	cr_expect_eq(app_txbuf_flush(&tb), 0, "an empty flush sends nothing");
}

Test(txbuf, timeout_flushes_the_oldest)
{
	struct app_txbuf tb;

	open_pair("ring:tb2");
	cr_assert_eq(app_txbuf_init(&tb, a, 0, 32, 1000, 0, NULL, NULL), 0);
	app_txbuf_add(&tb, frame(0), 5000);
	app_txbuf_add(&tb, frame(1), 5800);
	cr_expect_eq(app_txbuf_due(&tb), 6000, "due a timeout after the first frame");
	cr_expect_eq(app_txbuf_flush_due(&tb, 5999), 0);
	cr_expect_eq(drain_b(0), 0);
	cr_expect_eq(app_txbuf_flush_due(&tb, 6000), 2);
	cr_expect_eq(drain_b(0), 2);
	cr_expect_eq(app_txbuf_due(&tb), 0, "empty: nothing due");
}

Test(txbuf, unsent_frames_are_freed_and_counted)
{
	struct app_txbuf tb;
	uint16_t sent = 0;

	/* A 16-slot ring takes at most 16 of the 40. */
	open_pair("ring:tb3?size=16");
	cr_assert_eq(app_txbuf_init(&tb, a, 0, 40, 0, 2, NULL, NULL), 0);
	for (uint64_t i = 0; i < 40; i++)
		sent += app_txbuf_add(&tb, frame(i), 0);
	cr_expect_gt(sent, 0);
	cr_expect_lt(sent, 40);
	cr_expect_eq(ctr(&tb.unsent), 40 - sent, "sent %u, unsent %lu", sent,
		     (unsigned long)ctr(&tb.unsent));
	cr_expect_eq(drain_b(0), sent);
}

struct keep {
	struct weir_pkt *pkts[64];
	uint16_t n;
	int calls;
};

static void keep_cb(struct app_txbuf *tb, struct weir_pkt **pkts, uint16_t n, void *arg)
{
	struct keep *k = arg;

	(void)tb;
	for (uint16_t i = 0; i < n; i++)
		k->pkts[k->n++] = pkts[i];
	k->calls++;
}

Test(txbuf, unsent_callback_gets_the_rest_in_order)
{
	struct app_txbuf tb;
	struct keep k = {.n = 0};
	uint16_t sent;

	open_pair("ring:tb4?size=16");
	cr_assert_eq(app_txbuf_init(&tb, a, 0, 64, 0, 0, keep_cb, &k), 0);
	for (uint64_t i = 0; i < 30; i++)
		app_txbuf_add(&tb, frame(i), 0);
	sent = app_txbuf_flush(&tb);
	cr_expect_eq(k.calls, 1);
	cr_expect_eq(sent + k.n, 30);
	cr_expect_eq(ctr(&tb.unsent), 0, "a callback of its own: the default counter stays 0");
	for (uint16_t i = 0; i < k.n; i++)
		cr_expect_eq(k.pkts[i]->udata64, sent + i, "the unsent are the tail, in order");
	cr_expect_eq(drain_b(0), sent);
	weir_pkt_free_bulk(k.pkts, k.n);
}
