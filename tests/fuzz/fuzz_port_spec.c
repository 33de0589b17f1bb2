// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: the port-spec parser (src/port.c) and the option handling
 * of the ring: and null: drivers, fed arbitrary strings through
 * weir_port_open(), the way a person's typo or a hostile config reaches it.
 *
 * Properties checked beyond "does not crash": a failed open returns a
 * negative errno and a non-empty, NUL-terminated message, and leaves no
 * port behind; an opened port moves a burst and gives every buffer back
 * on close; for ring: a second open of the same spec is the peer and sees
 * what the first one sent; an opened port has exactly the queues its
 * queues= value says in decimal (it was parsed in base 0: 010 meant 8).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port.h"

#define SPEC_MAX 512

static struct weir_pool *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int err;

	(void)argc, (void)argv;
	err = weir_pool_create(&(struct weir_pool_conf){.name = "fuzz", .n = 512, .huge = 2},
			       &pool);
	if (err < 0)
		abort();
	return 0;
}

static void check_failure(const char *spec, int r, const char *why)
{
	size_t len = strnlen(why, WEIR_PORT_ERRSIZE);

	if (r >= 0 || len == 0 || len >= WEIR_PORT_ERRSIZE) {
		fprintf(stderr, "spec '%s': r=%d, message '%.*s'\n", spec, r,
			(int)WEIR_MIN(len, (size_t)WEIR_PORT_ERRSIZE), why);
		abort();
	}
}

/* A small burst out of a and, if b is the peer (or a loops back), in again. */
static void exercise(struct weir_port *a, struct weir_port *b)
{
	struct weir_pkt *k[8];
	struct weir_port_stats st;
	uint16_t n, got;

	if (weir_pkt_alloc_bulk(pool, k, 8))
		abort();
	for (int i = 0; i < 8; i++)
		weir_pkt_put(k[i], 60);
	weir_port_tx_burst_or_free(a, (uint16_t)(weir_port_nb_txq(a) - 1), k, 8);
	for (struct weir_port *p = a; p; p = p == a ? b : NULL) {
		for (uint16_t q = 0; q < weir_port_nb_rxq(p); q++) {
			do {
				got = weir_port_rx_burst(p, q, k, 8);
				for (n = 0; n < got; n++)
					if (k[n]->pkt_len > pool->buf_size)
						abort();
				weir_pkt_free_bulk(k, got);
			} while (got && strncmp(weir_port_label(p), "null", 4));
		}
		weir_port_stats_get(p, &st);
	}
}

/* queues=V in an opened port's spec: V is decimal digits, no suffix (any
 * would take it past every driver's maximum), and is the queue count. */
static void check_queues(const char *spec, struct weir_port *a)
{
	const char *v = strchr(spec, '?');
	uint64_t want = 0;

	while (v && (v = strstr(v + 1, "queues=")) && v[-1] != '?' && v[-1] != '&')
		;
	if (!v)
		return;
	for (v += 7; isdigit((unsigned char)*v) && want <= 0xffff; v++)
		want = want * 10 + (uint64_t)(*v - '0');
	if ((*v && *v != '&') || want != weir_port_nb_rxq(a)) {
		fprintf(stderr, "spec '%s': %u queues opened\n", spec, weir_port_nb_rxq(a));
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weir_port_conf conf = {.pool = pool};
	char spec[SPEC_MAX + 1], why[WEIR_PORT_ERRSIZE];
	struct weir_port *a = NULL, *b = NULL;
	int r;

	if (!pool)
		LLVMFuzzerInitialize(NULL, NULL);
	/* C strings end at the first NUL; longer inputs add nothing. */
	size = WEIR_MIN(size, (size_t)SPEC_MAX);
	memcpy(spec, data, size);
	spec[size] = '\0';
	memset(why, 0x55, sizeof(why));
	r = weir_port_open(spec, &conf, &a, why, sizeof(why));
	if (r) {
		check_failure(spec, r, why);
		goto out;
	}
	if (!weir_port_label(a) || !weir_port_nb_rxq(a) || !weir_port_nb_txq(a))
		abort();
	check_queues(spec, a);
	memset(why, 0x55, sizeof(why));
	r = weir_port_open(spec, &conf, &b, why, sizeof(why));
	if (r) {
		check_failure(spec, r, why);
		b = NULL;
	}
	exercise(a, b);
	weir_port_close(b);
	weir_port_close(a);
out:
	if (weir_pool_in_use(pool)) {
		fprintf(stderr, "spec '%s': %u buffers leaked\n", spec, weir_pool_in_use(pool));
		abort();
	}
	return 0;
}
