// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: the scheduler's tree-spec parser (qdisc/spec.c and every
 * qdisc's create-from-args), fed arbitrary strings through
 * weir_qdisc_create(), the way a typo on a command line or a hostile config
 * file reaches it.
 *
 * Properties checked beyond "does not crash": a refused spec returns
 * -EINVAL (or -ENOMEM) with a non-empty message that starts with "qdisc:"
 * and leaves no tree; a built tree takes a few packets (every fourth of
 * zero length: a buffer pinned, no bytes), dumps (text and JSON), resets,
 * gives them all back on destroy, and its backlog counter matches the
 * packets held.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/qdisc.h"

#define SPEC_MAX 1024

static struct weir_pool *pool;
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int err;

	(void)argc, (void)argv;
	err = weir_pool_create(&(struct weir_pool_conf){.name = "fuzz", .n = 256, .huge = 2},
			       &pool);
	devnull = fopen("/dev/null", "w");
	if (err < 0 || !devnull)
		abort();
	return 0;
}

static void exercise(struct weir_qdisc *q)
{
	struct weir_qdisc_stats st;
	uint32_t held;

	for (int i = 0; i < 32; i++) {
		struct weir_pkt *p = weir_pkt_alloc(pool);
		uint16_t len = i % 4 == 3 ? 0 : (uint16_t)(60 + i * 40);

		if (!p)
			abort();
		if (len)
			memset(weir_pkt_put(p, len), i, len);
		p->priority = (uint8_t)i;
		p->queue = (uint16_t)i;
		weir_qdisc_enqueue(q, p, (weir_ns_t)i * 1000);
	}
	weir_qdisc_stats_get(q, &st);
	held = weir_pool_in_use(pool);
	if (st.backlog_pkts != held) {
		fprintf(stderr, "backlog %u but %u packets held\n", st.backlog_pkts, held);
		abort();
	}
	for (int i = 0; i < 8; i++)
		weir_pkt_free(weir_qdisc_dequeue(q, 1000000 + (weir_ns_t)i * 1000000, NULL));
	weir_qdisc_dump(q, devnull, 0);
	weir_qdisc_dump(q, devnull, 1);
	weir_qdisc_reset(q);
	weir_qdisc_stats_get(q, &st);
	if (st.backlog_pkts || weir_pool_in_use(pool)) {
		fprintf(stderr, "after reset: backlog %u, %u packets held\n", st.backlog_pkts,
			weir_pool_in_use(pool));
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char spec[SPEC_MAX + 1], why[256];
	struct weir_qdisc *q = NULL;
	int r;

	if (size > SPEC_MAX)
		size = SPEC_MAX;
	memcpy(spec, data, size);
	spec[size] = '\0';
	memset(why, 0x55, sizeof(why));
	r = weir_qdisc_create(spec, &q, why, sizeof(why));
	if (r < 0) {
		size_t len = strnlen(why, sizeof(why));

		if ((r != -EINVAL && r != -ENOMEM) || q || len == 0 || len == sizeof(why) ||
		    strncmp(why, "qdisc:", 6)) {
			fprintf(stderr, "spec '%s': r=%d, message '%.*s'\n", spec, r, (int)len, why);
			abort();
		}
		return 0;
	}
	if (!q)
		abort();
	exercise(q);
	weir_qdisc_destroy(q);
	if (weir_pool_in_use(pool))
		abort();
	return 0;
}
