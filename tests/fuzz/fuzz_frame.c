// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: the scheduler's reading of frame bytes (qdisc/classify.c:
 * flow hash over Ethernet/VLAN/IPv4/IPv6/TCP/UDP/SCTP, the TOS byte, ECN
 * CE marking) and the public trees that use them, fed arbitrary frames --
 * what any host on a link can send through weir-fwd.
 *
 * Input: byte 0 chooses where the frame is split into two chained segments
 * (so headers straddling a segment boundary are exercised); the rest is the
 * frame. Properties beyond "no crash, no out-of-bounds read": the hash is
 * stable for the same bytes; ECN marking leaves a valid IPv4 header checksum
 * valid and changes nothing but the TOS and checksum bytes; a prio-by-DSCP
 * and an fq_codel tree take the frame and give it back exactly once.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qdisc_internal.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/qdisc.h"

#define FRAME_MAX 1800

static struct weir_pool *pool;
static struct weir_qdisc *prio_tree, *fq_tree;
/* A fixed key: the fuzzer checks the hash reads the same bytes either way. */
static const struct weir_hash_key key = { { 0x0123456789abcdefULL, 0xfedcba9876543210ULL } };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char why[256];
	int err;

	(void)argc, (void)argv;
	err = weir_pool_create(&(struct weir_pool_conf){.name = "fuzz", .n = 64, .huge = 2},
			       &pool);
	if (err < 0 || weir_qdisc_create("prio bands 3 classify dscp", &prio_tree, why,
				       sizeof(why)) ||
	    weir_qdisc_create("fq_codel flows 64", &fq_tree, why, sizeof(why))) {
		fprintf(stderr, "fuzz_frame: set-up failed: %s\n", why);
		abort();
	}
	return 0;
}

/* Builds a packet of the frame, in one segment or split at `split`. */
static struct weir_pkt *make(const uint8_t *f, size_t len, size_t split)
{
	struct weir_pkt *a = weir_pkt_alloc(pool), *b;

	if (!a)
		abort();
	if (!split || split >= len) {
		memcpy(weir_pkt_put(a, (uint16_t)len), f, len);
		return a;
	}
	b = weir_pkt_alloc(pool);
	if (!b)
		abort();
	memcpy(weir_pkt_put(a, (uint16_t)split), f, split);
	memcpy(weir_pkt_put(b, (uint16_t)(len - split)), f + split, len - split);
	if (weir_pkt_chain(a, b))
		abort();
	return a;
}

static uint16_t ip_csum(const uint8_t *h, unsigned ihl)
{
	uint32_t s = 0;

	for (unsigned i = 0; i < ihl * 4; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Plain IPv4 right after an untagged Ethernet header, in segment one. */
static const uint8_t *ipv4_hdr(const struct weir_pkt *p, unsigned *ihl)
{
	const uint8_t *d = weir_pkt_data(p);

	if (p->data_len < 34 || d[12] != 0x08 || d[13] != 0x00 || (d[14] >> 4) != 4)
		return NULL;
	*ihl = d[14] & 0xf;
	if (*ihl < 5 || 14 + *ihl * 4 > p->data_len)
		return NULL;
	return d + 14;
}

static void check_ecn(const uint8_t *f, size_t len, size_t split)
{
	struct weir_pkt *p = make(f, len, split);
	uint8_t before[FRAME_MAX], after[FRAME_MAX];
	const uint8_t *h;
	unsigned ihl = 0;
	int valid_before;

	weir_pkt_copy_out(p, 0, (uint32_t)len, before);
	h = ipv4_hdr(p, &ihl);
	valid_before = h && ip_csum(h, ihl) == 0;
	qd_ecn_set_ce(p);
	weir_pkt_copy_out(p, 0, (uint32_t)len, after);
	for (size_t i = 0; i < len; i++) {
		/* Only the TOS / traffic-class byte and IPv4's checksum may
		 * change, with the IP header after 0, 1 or 2 VLAN tags. */
		bool allowed = false;

		for (size_t o = 14; o <= 22; o += 4)
			allowed |= i == o + 1 || i == o + 10 || i == o + 11;
		if (before[i] != after[i] && !allowed)
			abort();
	}
	h = ipv4_hdr(p, &ihl);
	if (valid_before && h && ip_csum(h, ihl) != 0)
		abort(); /* marking broke a valid checksum */
	weir_pkt_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weir_pkt *p, *q;
	size_t len, split;
	uint32_t h1, h2;

	if (size < 2)
		return 0;
	len = WEIR_MIN(size - 1, (size_t)FRAME_MAX);
	split = data[0] < len ? data[0] : 0;

	/* The same bytes hash the same, split or not. */
	p = make(data + 1, len, split);
	q = make(data + 1, len, 0);
	h1 = qd_flow_hash(p, &key);
	h2 = qd_flow_hash(q, &key);
	if (h1 != h2 || qd_pkt_tos(p) != qd_pkt_tos(q))
		abort();
	weir_pkt_free(q);

	check_ecn(data + 1, len, split);

	/* Through both trees and out again, each packet exactly once. */
	p->hash = 0;
	weir_qdisc_enqueue(prio_tree, p, 1000);
	p = make(data + 1, len, split);
	weir_qdisc_enqueue(fq_tree, p, 1000);
	while ((p = weir_qdisc_dequeue(prio_tree, 2000, NULL)))
		weir_pkt_free(p);
	while ((p = weir_qdisc_dequeue(fq_tree, 2000, NULL)))
		weir_pkt_free(p);
	if (weir_pool_in_use(pool) != 0)
		abort(); /* a tree kept or lost a packet */
	return 0;
}
