// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for src/port.c and the two software drivers, pmd/ring.c and
 * pmd/null.c: every way a port spec can be malformed (asserting on the
 * message a person would read), the argument helpers drivers use, the
 * registry, ring: pairs (A->B, B->A, loopback, third open, in-flight
 * packets freed on close, queues) and null: receive sizes and statistics.
 *
 * A test-only driver with more keys than a spec may hold covers the "too
 * many keys" path, which the real drivers cannot reach. fini fails when a
 * packet buffer leaked.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "weir/lcore.h"
#include "weir/pkt.h"
#include "weir/port_driver.h" /* the test driver; the rest goes through port.h */

static struct weir_pool *pool;
static struct weir_port_conf conf;

static void init(void)
{
	int err;

	weir_lcore_set_id(WEIR_LCORE_ANY);
	err = weir_pool_create(&(struct weir_pool_conf){.name = "port", .n = 2048, .huge = 2},
			       &pool);
	cr_assert_eq(err, 0, "pool: %d", err);
	conf = (struct weir_port_conf){.pool = pool};
}

static void fini(void)
{
	uint32_t left;

	for (uint32_t i = 0; i < WEIR_MAX_LCORE; i++)
		weir_pool_cache_flush(pool, i);
	left = weir_pool_in_use(pool);
	weir_pool_destroy(pool);
	if (left) {
		cr_log_error("leaked %u packet buffers", left);
		abort();
	}
}

TestSuite(port, .init = init, .fini = fini, .timeout = 60);

/* --- a test driver with many keys -------------------------------------- */

static uint64_t many_k0;

static int many_open(struct weir_port *port, const struct weir_port_conf *c)
{
	uint64_t v;
	int err;

	(void)c;
	if ((err = weir_port_arg_u64(port, "k0", 5, 0, 100, &v)))
		return err;
	many_k0 = v;
	return weir_port_alloc_queues(port, 1, 1);
}

static uint16_t many_burst(struct weir_rxq *q, struct weir_pkt **p, uint16_t n)
{
	(void)q, (void)p, (void)n;
	return 0;
}

static uint16_t many_tx(struct weir_txq *q, struct weir_pkt **p, uint16_t n)
{
	(void)q, (void)p, (void)n;
	return 0;
}

static void many_close(struct weir_port *port)
{
	(void)port;
}

static const struct weir_port_ops many_ops = {
	.open = many_open, .rx_burst = many_burst, .tx_burst = many_tx, .close = many_close,
};

#define K(n) {"k" #n, "test key", NULL}
static const struct weir_port_param many_params[] = {
	K(0), K(1), K(2), K(3), K(4), K(5), K(6), K(7), K(8), K(9),
	K(10), K(11), K(12), K(13), K(14), K(15), K(16), K(17),
	{"mode", "a choice", "fast|slow|auto"},
	{NULL, NULL, NULL},
};

static struct weir_port_driver many_driver = {
	.name = "many",
	.help = "test driver",
	.ops = &many_ops,
	.params = many_params,
};

/* Drivers register from constructors; so does this one. */
WEIR_PORT_DRIVER_REGISTER(many_driver)

/* --- helpers ------------------------------------------------------------ */

static int try_open(const char *spec, char *why, size_t len, struct weir_port **out)
{
	struct weir_port *p = (struct weir_port *)0x1;

	memset(why, 0, len);
	int r = weir_port_open(spec, &conf, &p, why, len);

	if (out)
		*out = r == 0 ? p : NULL;
	else if (r == 0)
		weir_port_close(p);
	return r;
}

/* Opens spec, expects it to fail with err, and checks the message contains
 * every string in want (NULL-terminated). */
static void expect_fail(const char *spec, int err, const char *const *want)
{
	char why[WEIR_PORT_ERRSIZE];
	int r = try_open(spec, why, sizeof(why), NULL);

	cr_expect_eq(r, err, "'%s': got %d, want %d (%s)", spec, r, err, why);
	for (; *want; want++)
		cr_expect(strstr(why, *want), "'%s': message '%s' lacks '%s'", spec, why, *want);
}

#define FAIL(spec, err, ...) expect_fail(spec, err, (const char *const[]){__VA_ARGS__, NULL})

/* --- spec parsing -------------------------------------------------------- */

Test(port, registry_lists_and_finds_drivers)
{
	char list[256];

	cr_expect_not_null(weir_port_driver_find("ring"));
	cr_expect_not_null(weir_port_driver_find("null"));
	cr_expect_not_null(weir_port_driver_find("many"));
	cr_expect_null(weir_port_driver_find("rin"));
	cr_expect_null(weir_port_driver_find(""));
	weir_port_driver_list(list, sizeof(list));
	cr_expect(strstr(list, "ring") && strstr(list, "null") && strstr(list, ", "), "%s", list);
	/* A tiny buffer is truncated, never overrun. */
	char tiny[4] = "xyz";
	weir_port_driver_list(tiny, sizeof(tiny));
	cr_expect_leq(strlen(tiny), 3);
}

Test(port, spec_without_colon_explains_the_form)
{
	FAIL("null", -EINVAL, "'null'", "driver:name", "drivers:", "ring", "null");
	FAIL("", -EINVAL, "driver:name");
	FAIL(":x", -EINVAL, "driver:name", "drivers:");
	FAIL("?size=1", -EINVAL, "driver:name");
	FAIL("nocolon?a=b:c", -EINVAL, "driver:name"); /* colon only after '?' */
}

Test(port, unknown_driver_lists_the_drivers)
{
	FAIL("afxdpp:veth0", -ENOENT, "unknown driver 'afxdpp'", "drivers:", "ring", "null");
	FAIL("RING:x", -ENOENT, "unknown driver 'RING'");
	FAIL("nul:", -ENOENT, "unknown driver 'nul'", "null");
}

Test(port, unknown_key_lists_the_valid_keys)
{
	FAIL("null:?sise=64", -EINVAL, "unknown key 'sise'", "valid keys: ", "queues", "size");
	FAIL("ring:x?loop=1", -EINVAL, "unknown key 'loop'", "queues, size, loopback");
	FAIL("ring:x?size=64&bogus=1", -EINVAL, "unknown key 'bogus'");
}

Test(port, field_without_value_is_rejected)
{
	FAIL("null:?size", -EINVAL, "'size' is not key=value", "valid keys");
	FAIL("null:?=64", -EINVAL, "'=64' is not key=value");
	FAIL("null:??", -EINVAL, "'?' is not key=value");
}

Test(port, bad_numbers_are_rejected_with_the_range)
{
	FAIL("null:?size=abc", -EINVAL, "size=abc is not a number", "14..65535");
	FAIL("null:?size=", -EINVAL, "size= is not a number");
	FAIL("null:?size=64x", -EINVAL, "size=64x is not a number");
	FAIL("null:?size=-64", -EINVAL, "size=-64 is not a number");
	FAIL("null:?size= 64", -EINVAL, "not a number");
	FAIL("null:?size=+64", -EINVAL, "not a number");
	FAIL("null:?size=1kk", -EINVAL, "not a number");
	FAIL("null:?queues=99999999999999999999999", -EINVAL, "not a number");
}

Test(port, out_of_range_numbers_name_the_range)
{
	FAIL("null:?size=13", -EINVAL, "size=13 is out of range", "valid: 14..65535");
	FAIL("null:?size=65536", -EINVAL, "out of range");
	FAIL("null:?size=64k", -EINVAL, "size=64k is out of range");
	FAIL("null:?queues=0", -EINVAL, "queues=0 is out of range", "1..64");
	FAIL("ring:x?size=3", -EINVAL, "size=3 is not a power of two");
	FAIL("ring:x?size=1", -EINVAL, "out of range");
	/* Regression: a suffix that overflows 64 bits used to wrap around
	 * into range (2^54 + 1 k == 1024 after the shift). */
	FAIL("ring:x?size=18014398509481985k", -EINVAL, "out of range");
	FAIL("null:?size=16777216g", -EINVAL, "out of range");
	/* Suffixes are accepted when in range. */
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *p;
	cr_assert_eq(try_open("null:?size=1k", why, sizeof(why), &p), 0, "%s", why);
	weir_port_close(p);
}

/* Regression: values were parsed in base 0, so queues=010 opened 8 queues
 * and queues=0x10 opened 16. Decimal only: a leading zero is a zero, and
 * hex is refused with the decimal spelling of what was meant. */
Test(port, regression_spec_integers_parsed_in_base_0)
{
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *p;

	cr_assert_eq(try_open("null:?queues=010", why, sizeof(why), &p), 0, "%s", why);
	cr_expect_eq(weir_port_nb_rxq(p), 10, "queues=010 opened %u queues", weir_port_nb_rxq(p));
	cr_expect_eq(weir_port_nb_txq(p), 10);
	weir_port_close(p);
	cr_assert_eq(try_open("null:?queues=08", why, sizeof(why), &p), 0, "%s", why);
	cr_expect_eq(weir_port_nb_rxq(p), 8, "08 is not bad octal");
	weir_port_close(p);
	cr_expect_eq(try_open("null:?queues=0x10", why, sizeof(why), NULL), -EINVAL);
	cr_expect_str_eq(why, "null:: queues=0x10: numbers in a spec are decimal (write "
			      "queues=16; valid: 1..64)");
	cr_expect_eq(try_open("null:?size=0X40", why, sizeof(why), NULL), -EINVAL);
	cr_expect_str_eq(why, "null:: size=0X40: numbers in a spec are decimal (write "
			      "size=64; valid: 14..65535)");
	cr_expect_eq(try_open("null:?queues=0x", why, sizeof(why), NULL), -EINVAL);
	cr_expect_str_eq(why, "null:: queues=0x is not a number (valid: 1..64)");
	cr_expect_eq(try_open("null:?size=0x1ffffffffffffffff", why, sizeof(why), NULL), -EINVAL);
	cr_expect_str_eq(why, "null:: size=0x1ffffffffffffffff is not a number (valid: 14..65535)");
	cr_expect_eq(try_open("null:?size=0x40k", why, sizeof(why), NULL), -EINVAL);
	cr_expect_str_eq(why, "null:: size=0x40k is not a number (valid: 14..65535)");
}

Test(port, bad_choice_lists_the_choices)
{
	FAIL("ring:x?loopback=2", -EINVAL, "loopback=2 is not valid", "valid: 0|1");
	FAIL("ring:x?loopback=yes", -EINVAL, "valid: 0|1");
	FAIL("ring:x?loopback=", -EINVAL, "valid: 0|1");
	FAIL("many:x?mode=turbo", -EINVAL, "mode=turbo is not valid", "fast|slow|auto");
	FAIL("many:x?mode=fas", -EINVAL, "fast|slow|auto"); /* prefix is not a match */
	FAIL("many:x?mode=fast|slow", -EINVAL, "fast|slow|auto");
}

Test(port, duplicate_key_is_rejected)
{
	FAIL("null:?size=64&size=64", -EINVAL, "key 'size' given twice");
	FAIL("ring:x?queues=1&size=8&queues=2", -EINVAL, "key 'queues' given twice");
}

Test(port, empty_question_mark_and_stray_ampersands)
{
	FAIL("null:?", -EINVAL, "'?' with no key=value after it");
	FAIL("ring:x?", -EINVAL, "'?' with no key=value");
	FAIL("null:?size=64&", -EINVAL, "empty key=value field");
	FAIL("null:?&size=64", -EINVAL, "empty key=value field");
	FAIL("null:?size=64&&queues=1", -EINVAL, "empty key=value field");
	FAIL("null:?&", -EINVAL, "empty key=value field");
}

Test(port, too_many_keys)
{
	char spec[512] = "many:x?";

	for (int i = 0; i < 17; i++)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "%sk%d=1", i ? "&" : "", i);
	FAIL(spec, -EINVAL, "too many keys", "at most 16");
	/* Sixteen are fine. */
	*strrchr(spec, '&') = '\0';
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *p;
	cr_assert_eq(try_open(spec, why, sizeof(why), &p), 0, "%s", why);
	cr_expect_eq(p->nkv, 16);
	cr_expect_eq(many_k0, 1);
	weir_port_close(p);
}

Test(port, bad_characters_in_the_name)
{
	FAIL("ring:a b", -EINVAL, "bad character ' ' in the name");
	FAIL("ring:a&b", -EINVAL, "bad character '&'");
	FAIL("ring:a=b", -EINVAL, "bad character '='");
	FAIL("ring:a\tb", -EINVAL, "bad character");
	FAIL("ring:\x01", -EINVAL, "bad character");
}

Test(port, driver_errors_are_prefixed_with_the_label)
{
	FAIL("ring:", -EINVAL, "ring:: needs a name");
	FAIL("null:?size=4096", -EINVAL, "size=4096 does not fit", "1920-byte");
	struct weir_port_conf nopool = {0};
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *p;
	cr_expect_eq(weir_port_open("null:", &nopool, &p, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "needs a packet pool"), "%s", why);
	/* NULL conf is allowed (drivers see zeroes); NULL spec is an error. */
	cr_expect_eq(weir_port_open("null:", NULL, &p, why, sizeof(why)), -EINVAL);
	cr_expect_eq(weir_port_open(NULL, &conf, &p, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "(null)"), "%s", why);
	/* A tiny or zero-length message buffer is fine. */
	cr_expect_eq(weir_port_open("x", &conf, &p, why, 5), -EINVAL);
	cr_expect_eq(strlen(why), 4);
	cr_expect_eq(weir_port_open("x", &conf, &p, NULL, 0), -EINVAL);
}

Test(port, arg_helpers)
{
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *p;
	uint64_t v;

	cr_assert_eq(try_open("many:x?k1=7&k2=2m&mode=slow", why, sizeof(why), &p), 0, "%s", why);
	cr_expect_eq(many_k0, 5, "default when absent");
	cr_expect_str_eq(weir_port_label(p), "many:x");
	cr_expect_str_eq(p->ifname, "x");
	cr_expect_str_eq(p->spec, "many:x?k1=7&k2=2m&mode=slow");
	cr_expect_eq(weir_port_arg_u64(p, "k1", 0, 0, 10, &v), 0);
	cr_expect_eq(v, 7);
	cr_expect(p->kv[0].used);
	cr_expect_eq(weir_port_arg_u64(p, "k2", 0, 0, UINT64_MAX, &v), 0);
	cr_expect_eq(v, 2u << 20);
	cr_expect_eq(weir_port_arg_u64(p, "k1", 0, 8, 10, &v), -EINVAL);
	cr_expect(strstr(p->err, "many:x: k1=7 is out of range (valid: 8..10)"), "%s", p->err);
	cr_expect_eq(weir_port_arg_choice(p, "mode", 0), 1);
	cr_expect_eq(weir_port_arg_choice(p, "k3", 2), 2, "absent: default");
	cr_expect_eq(weir_port_arg_choice(p, "k1", 0), -EINVAL, "k1 has no choices");
	cr_expect_eq(weir_port_arg_choice(p, NULL, 0), 0);
	cr_expect_null(weir_port_arg(p, "k9"));
	cr_expect_str_eq(weir_port_arg(p, "mode"), "slow");
	cr_expect_eq(weir_port_alloc_queues(p, 1, 1), -EEXIST);
	cr_expect_eq(weir_port_fail(p, -EIO, "disk %d on fire", 3), -EIO);
	cr_expect_str_eq(p->err, "many:x: disk 3 on fire");
	cr_expect_eq(weir_port_nb_rxq(p), 1);
	cr_expect_eq(weir_port_nb_txq(p), 1);
	cr_expect_eq(weir_port_wait_fd(p, 0), -1);
	cr_expect_eq(weir_port_tx_done(p, 0), 0);
	struct weir_xstat xs[4];
	cr_expect_eq(weir_port_xstats_get(p, xs, 4), 0);
	weir_port_close(p);
	weir_port_close(NULL);
}

Test(port, ids_are_unique)
{
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *a, *b;

	cr_assert_eq(try_open("null:", why, sizeof(why), &a), 0, "%s", why);
	cr_assert_eq(try_open("null:", why, sizeof(why), &b), 0, "%s", why);
	cr_expect_neq(a->id, b->id);
	weir_port_close(a);
	weir_port_close(b);
}

/* --- ring: -------------------------------------------------------------- */

static void send_n(struct weir_port *p, uint16_t q, int n, uint32_t tag)
{
	struct weir_pkt *k[64];

	cr_assert_leq(n, 64);
	cr_assert_eq(weir_pkt_alloc_bulk(pool, k, (uint32_t)n), 0);
	for (int i = 0; i < n; i++) {
		weir_pkt_put(k[i], 60);
		k[i]->udata64 = tag + (uint32_t)i;
	}
	cr_assert_eq(weir_port_tx_burst(p, q, k, (uint16_t)n), n);
}

static int recv_check(struct weir_port *p, uint16_t q, uint32_t tag)
{
	struct weir_pkt *k[64];
	uint16_t n = weir_port_rx_burst(p, q, k, 64);

	for (uint16_t i = 0; i < n; i++) {
		cr_expect_eq(k[i]->udata64, tag + i, "packet %u out of order or foreign", i);
		cr_expect_eq(k[i]->port, p->id);
		cr_expect_eq(k[i]->queue, q);
	}
	weir_pkt_free_bulk(k, n);
	return n;
}

Test(port, ring_pair_moves_packets_both_ways)
{
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *a, *b, *c;
	struct weir_port_stats st;
	uint8_t mac_a[6], mac_b[6];
	uint64_t done;

	cr_assert_eq(try_open("ring:pair1", why, sizeof(why), &a), 0, "%s", why);
	cr_assert_eq(try_open("ring:pair1", why, sizeof(why), &b), 0, "%s", why);
	weir_port_mac(a, mac_a);
	weir_port_mac(b, mac_b);
	cr_expect_neq(memcmp(mac_a, mac_b, 6), 0, "the ends need different MACs");
	send_n(a, 0, 10, 100);
	cr_expect_eq(recv_check(a, 0, 0), 0, "A must not hear itself");
	cr_expect_eq(recv_check(b, 0, 100), 10);
	send_n(b, 0, 7, 200);
	cr_expect_eq(recv_check(b, 0, 0), 0);
	cr_expect_eq(recv_check(a, 0, 200), 7);
	weir_port_stats_get(a, &st);
	cr_expect_eq(st.opackets, 10);
	cr_expect_eq(st.obytes, 600);
	cr_expect_eq(st.ipackets, 7);
	cr_expect_eq(st.ibytes, 420);
	weir_port_tx_completed(a, 0, &done, NULL);
	cr_expect_eq(done, 10);
	/* A third end does not exist. */
	FAIL("ring:pair1", -EBUSY, "ring:pair1: both ends are open already");
	/* Another name is another pair. */
	cr_assert_eq(try_open("ring:pair2", why, sizeof(why), &c), 0, "%s", why);
	send_n(c, 0, 3, 0);
	cr_expect_eq(recv_check(b, 0, 0), 0);
	weir_port_close(c); /* one end only: its sent packets are freed */
	weir_port_close(a);
	weir_port_close(b);
	cr_expect_eq(weir_pool_in_use(pool), 0);
}

Test(port, ring_close_frees_in_flight_and_reopen_works)
{
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *a, *b;

	cr_assert_eq(try_open("ring:inflight?size=64", why, sizeof(why), &a), 0, "%s", why);
	cr_assert_eq(try_open("ring:inflight?size=64", why, sizeof(why), &b), 0, "%s", why);
	send_n(a, 0, 20, 0);
	send_n(b, 0, 30, 0);
	cr_expect_eq(weir_pool_in_use(pool), 50);
	weir_port_close(a);
	/* B's end is still open: a new A takes the free end and sees B's. */
	cr_assert_eq(try_open("ring:inflight?size=64", why, sizeof(why), &a), 0, "%s", why);
	cr_expect_eq(recv_check(a, 0, 0), 30);
	weir_port_close(a);
	weir_port_close(b);
	cr_expect_eq(weir_pool_in_use(pool), 0, "closing both ends frees what was in flight");
}

Test(port, ring_full_refuses_and_caller_keeps_the_rest)
{
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *a, *b;
	struct weir_pkt *k[20];

	cr_assert_eq(try_open("ring:full?size=16", why, sizeof(why), &a), 0, "%s", why);
	cr_assert_eq(try_open("ring:full?size=16", why, sizeof(why), &b), 0, "%s", why);
	cr_assert_eq(weir_pkt_alloc_bulk(pool, k, 20), 0);
	cr_expect_eq(weir_port_tx_burst(a, 0, k, 20), 16);
	cr_expect_eq(weir_port_tx_burst(a, 0, k + 16, 4), 0);
	cr_expect_eq(weir_port_tx_burst_or_free(a, 0, k + 16, 4), 4);
	struct weir_port_stats st;
	weir_port_stats_get(a, &st);
	cr_expect_eq(st.odropped, 4);
	cr_expect_eq(st.opackets, 16);
	cr_expect_eq(weir_pool_in_use(pool), 16);
	weir_port_close(a);
	weir_port_close(b);
	cr_expect_eq(weir_pool_in_use(pool), 0);
}

Test(port, ring_loopback_and_its_limits)
{
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *l, *a;

	cr_assert_eq(try_open("ring:lo?loopback=1", why, sizeof(why), &l), 0, "%s", why);
	send_n(l, 0, 5, 50);
	cr_expect_eq(recv_check(l, 0, 50), 5);
	FAIL("ring:lo", -EBUSY, "both ends are open already");
	weir_port_close(l);
	/* After close the name is free again. */
	cr_assert_eq(try_open("ring:lo", why, sizeof(why), &a), 0, "%s", why);
	FAIL("ring:lo?loopback=1", -EBUSY, "loopback=1 takes both ends");
	weir_port_close(a);
}

Test(port, ring_queues_are_separate_and_must_match)
{
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *a, *b;

	cr_assert_eq(try_open("ring:mq?queues=4", why, sizeof(why), &a), 0, "%s", why);
	FAIL("ring:mq?queues=2", -EINVAL, "the other end has queues=4");
	cr_assert_eq(try_open("ring:mq?queues=4", why, sizeof(why), &b), 0, "%s", why);
	cr_expect_eq(weir_port_nb_rxq(b), 4);
	cr_expect_eq(weir_port_nb_txq(b), 4);
	for (uint16_t q = 0; q < 4; q++)
		send_n(a, q, 1 + q, 1000 * q);
	for (uint16_t q = 0; q < 4; q++)
		cr_expect_eq(recv_check(b, q, 1000 * q), 1 + q, "queue %u", q);
	weir_port_close(a);
	weir_port_close(b);
	/* conf->nb_rxq is the default for queues=. */
	struct weir_port_conf c2 = {.pool = pool, .nb_rxq = 3};
	cr_assert_eq(weir_port_open("ring:mq2?loopback=1", &c2, &a, why, sizeof(why)), 0, "%s",
		     why);
	cr_expect_eq(weir_port_nb_rxq(a), 3);
	weir_port_close(a);
}

/* --- null: -------------------------------------------------------------- */

Test(port, null_rx_sizes_and_tx_frees)
{
	static const uint16_t sizes[] = {14, 60, 64, 1500, 1920};
	char why[WEIR_PORT_ERRSIZE], spec[64];

	for (size_t s = 0; s < WEIR_ARRAY_SIZE(sizes); s++) {
		struct weir_port *p;
		struct weir_pkt *k[32];
		struct weir_port_stats st;

		snprintf(spec, sizeof(spec), "null:?size=%u", sizes[s]);
		cr_assert_eq(try_open(spec, why, sizeof(why), &p), 0, "%s", why);
		cr_assert_eq(weir_port_rx_burst(p, 0, k, 32), 32);
		for (int i = 0; i < 32; i++) {
			cr_expect_eq(k[i]->pkt_len, sizes[s]);
			cr_expect_eq(k[i]->data_len, sizes[s]);
			cr_expect_eq(k[i]->nb_segs, 1);
			cr_expect_eq(k[i]->port, p->id);
			cr_expect_eq(weir_pkt_headroom(k[i]), 128);
		}
		cr_expect_eq(weir_pool_in_use(pool), 32);
		cr_expect_eq(weir_port_tx_burst(p, 0, k, 32), 32);
		cr_expect_eq(weir_pool_in_use(pool), 0, "null tx frees");
		weir_port_stats_get(p, &st);
		cr_expect_eq(st.ipackets, 32);
		cr_expect_eq(st.ibytes, 32u * sizes[s]);
		cr_expect_eq(st.opackets, 32);
		cr_expect_eq(st.obytes, 32u * sizes[s]);
		weir_port_close(p);
	}
	struct weir_port *d;
	cr_assert_eq(try_open("null:", why, sizeof(why), &d), 0, "%s", why);
	struct weir_pkt *k[1];
	cr_assert_eq(weir_port_rx_burst(d, 0, k, 1), 1);
	cr_expect_eq(k[0]->pkt_len, 64, "default size is 64");
	weir_pkt_free(k[0]);
	weir_port_close(d);
}

Test(port, null_rx_counts_nombuf_when_pool_runs_dry)
{
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *p;
	struct weir_port_stats st;
	struct weir_queue_stats rq;
	struct weir_pkt **held = calloc(2048 + 64, sizeof(*held));
	uint32_t n = 0;

	cr_assert_not_null(held);
	cr_assert_eq(try_open("null:?queues=2", why, sizeof(why), &p), 0, "%s", why);
	cr_expect_eq(weir_port_nb_rxq(p), 2);
	for (int i = 0; i < 40 && weir_port_rx_burst(p, 1, held + n, 64) == 64; i++)
		n += 64;
	cr_expect_eq(n, 2048, "the whole pool, in bursts of 64");
	cr_expect_eq(weir_port_rx_burst(p, 0, held + n, 1), 0);
	weir_port_stats_get(p, &st);
	cr_expect_eq(st.rx_nombuf, 64 + 1);
	cr_expect_eq(st.ipackets, 2048);
	weir_port_queue_stats(p, 0, &rq, NULL);
	cr_expect_eq(rq.nombuf, 1, "queue 0 asked for one");
	cr_expect_eq(rq.packets, 0);
	weir_port_queue_stats(p, 1, &rq, NULL);
	cr_expect_eq(rq.nombuf, 64);
	cr_expect_eq(rq.packets, 2048);
	weir_pkt_free_bulk(held, n);
	free(held);
	weir_port_close(p);
}

/* --- what applications read through port.h -------------------------------- */

Test(port, accessors_report_what_the_driver_keeps)
{
	char why[WEIR_PORT_ERRSIZE];
	struct weir_queue_stats rq, tq;
	struct weir_port *p;
	uint64_t pkts = 1, bytes = 1;
	uint8_t mac[6];

	cr_assert_eq(try_open("ring:acc?loopback=1&queues=2", why, sizeof(why), &p), 0, "%s", why);
	cr_expect_str_eq(weir_port_spec(p), "ring:acc?loopback=1&queues=2");
	cr_expect_str_eq(weir_port_label(p), "ring:acc");
	cr_expect_eq(weir_port_mtu(p), 1500);
	weir_port_mac(p, mac);
	cr_expect_eq(mac[0], 0x02, "locally administered");
	cr_expect_not(weir_port_has_tx_done(p), "a ring completes in tx_burst");
	cr_expect_eq(weir_port_rx_offloads(p) & (WEIR_PORT_OFFLOAD_GSO_TCP | WEIR_PORT_OFFLOAD_GSO_UDP),
		     WEIR_PORT_OFFLOAD_GSO_TCP | WEIR_PORT_OFFLOAD_GSO_UDP,
		     "a ring passes on whatever another app sent, super-frames too");
	cr_expect_not(weir_port_is_dead(p));
	cr_expect_eq(weir_port_wait_fd(p, 0), -1);
	cr_expect_eq(weir_port_wait_fd(p, 7), -1, "no queue 7: no fd, no crash");
	send_n(p, 1, 5, 100);
	weir_port_queue_stats(p, 1, &rq, &tq);
	cr_expect_eq(tq.packets, 5);
	cr_expect_eq(tq.bytes, 300, "five 60-byte frames");
	cr_expect_eq(rq.packets, 0, "nothing received yet");
	cr_expect_eq(recv_check(p, 1, 100), 5);
	weir_port_queue_stats(p, 1, &rq, &tq);
	cr_expect_eq(rq.packets, 5);
	cr_expect_eq(rq.bytes, 300);
	weir_port_queue_stats(p, 0, &rq, &tq);
	cr_expect_eq(rq.packets + tq.packets, 0, "queue 0 saw nothing");
	weir_port_tx_completed(p, 1, &pkts, &bytes);
	cr_expect_eq(pkts, 5);
	cr_expect_eq(bytes, 300);
	weir_port_tx_completed(p, 9, &pkts, &bytes);
	cr_expect_eq(pkts + bytes, 0, "a queue the port lacks has completed nothing");
	rq.packets = tq.packets = 1;
	weir_port_queue_stats(p, 9, &rq, &tq);
	cr_expect_eq(rq.packets + tq.packets, 0, "a queue the port lacks is zeroed");
	weir_port_close(p);
}

/* A forwarder skips looking for super-frames on a port whose RX says it
 * delivers none; null builds whole frames, so it must say so. */
Test(port, null_rx_delivers_no_super_frames)
{
	char why[WEIR_PORT_ERRSIZE];
	struct weir_pkt *pkts[32];
	struct weir_port *p;
	uint16_t n;

	cr_assert_eq(try_open("null:?size=1500", why, sizeof(why), &p), 0, "%s", why);
	cr_expect_eq(weir_port_rx_offloads(p), 0);
	n = weir_port_rx_burst(p, 0, pkts, 32);
	cr_assert_gt(n, 0);
	for (uint16_t i = 0; i < n; i++)
		cr_expect_not(weir_pkt_is_gso(pkts[i]));
	weir_pkt_free_bulk(pkts, n);
	weir_port_close(p);
}

/* weir_port_died: the port is dead from the first call, and says so once
 * however many queues (threads) notice. */
Test(port, died_marks_the_port_dead_and_says_so_once)
{
	char why[WEIR_PORT_ERRSIZE], buf[1024] = "";
	struct weir_port *p;
	FILE *log = tmpfile();
	int saved = dup(2);
	size_t len;

	cr_assert_not_null(log);
	cr_assert_eq(try_open("many:x", why, sizeof(why), &p), 0, "%s", why);
	fflush(stderr);
	dup2(fileno(log), 2);
	weir_port_died(p, "the %s went away", "device");
	weir_port_died(p, "again");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(log);
	len = fread(buf, 1, sizeof(buf) - 1, log);
	buf[len] = '\0';
	fclose(log);
	cr_expect(weir_port_is_dead(p));
	cr_expect(strstr(buf, "many:x: the device went away"), "said: '%s'", buf);
	cr_expect_null(strstr(buf, "again"), "said twice: '%s'", buf);
	weir_port_close(p);
}

/* --- taps ------------------------------------------------------------------ */

struct tap_seen {
	uint32_t rx, tx_pre, tx_post, taken;
	uint16_t q;
};

static void seen_rx(void *arg, uint16_t q, struct weir_pkt *const *pkts, uint16_t n)
{
	struct tap_seen *s = arg;

	cr_assert_not_null(pkts[n - 1]);
	s->rx += n;
	s->q = q;
}

static void seen_tx_pre(void *arg, uint16_t q, struct weir_pkt *const *pkts, uint16_t n)
{
	struct tap_seen *s = arg;

	(void)q;
	cr_assert_eq(weir_pkt_refcnt(pkts[0]), 1, "the packets are still the caller's");
	s->tx_pre += n;
}

static void seen_tx_post(void *arg, uint16_t q, uint16_t taken)
{
	struct tap_seen *s = arg;

	(void)q;
	s->tx_post++;
	s->taken += taken;
}

/* A tap sees every burst while set, the same packets the caller gets;
 * nothing once stopped, and the bursts are the driver's own again. */
Test(port, tap_sees_bursts_only_while_set)
{
	struct tap_seen s = {0};
	struct weir_port_tap tap = {seen_rx, seen_tx_pre, seen_tx_post, &s};
	struct weir_pkt *pkts[16];
	struct weir_port *p;
	char why[WEIR_PORT_ERRSIZE];
	weir_port_rx_burst_fn rx0;
	uint16_t n;

	cr_assert_eq(try_open("null:?size=64&queues=2", why, sizeof(why), &p), 0, "%s", why);
	rx0 = weir_port_fp_of(p)->rx_burst;
	n = weir_port_rx_burst(p, 0, pkts, 16);
	weir_port_tx_burst_or_free(p, 0, pkts, n);
	cr_assert_eq(s.rx + s.tx_pre, 0, "no tap yet");
	cr_assert_eq(weir_port_tap_start(p, &tap), 0);
	cr_assert_eq(weir_port_tap_start(p, &tap), -EBUSY, "one tap per port");
	cr_assert_eq(weir_port_tap_get(p), &tap);
	cr_assert_neq(weir_port_fp_of(p)->rx_burst, rx0, "the wrapper is in place");
	n = weir_port_rx_burst(p, 1, pkts, 16);
	cr_assert_eq(s.rx, n, "tap saw %u of %u received", s.rx, n);
	cr_assert_eq(s.q, 1);
	cr_assert_eq(weir_port_tx_burst_or_free(p, 1, pkts, n), 0);
	cr_assert_eq(s.tx_pre, n);
	cr_assert_eq(s.tx_post, 1);
	cr_assert_eq(s.taken, n, "null takes all it is given");
	weir_port_tap_stop(p);
	cr_assert_eq(weir_port_fp_of(p)->rx_burst, rx0, "the driver's burst is back");
	cr_assert_null(weir_port_tap_get(p));
	n = weir_port_rx_burst(p, 0, pkts, 16);
	weir_port_tx_burst_or_free(p, 0, pkts, n);
	cr_assert_eq(s.rx, 16, "nothing seen after stop");
	cr_assert_eq(weir_port_tap_start(p, &tap), 0, "a port can be tapped again");
	weir_port_tap_stop(p);
	weir_port_tap_stop(p);
	weir_port_close(p);
}
