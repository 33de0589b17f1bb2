// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: the software offloads (src/csum.c, offload.c, gso.c) fed
 * arbitrary frames with arbitrary offload metadata -- what a peer or a
 * driver's metadata can hand weir-fwd.
 *
 * Input: a 12-byte preamble, then the frame.
 *   [0..1] [2..3]  cut offsets (big-endian, taken modulo the frame length;
 *                  0 = no cut): the frame becomes 1-3 chained segments
 *   [4]            bit 0 CSUM_PARTIAL, bit 1 CSUM_VALID, bits 2-4 gso_type
 *                  (none, TCPV4, UDP, TCPV6, UDP_L4, 2, 6, 7), bit 5 the
 *                  GSO ECN bit, bit 6 WEIR_GSO_CSUM_PARTIAL, bit 7
 *                  segment into a pool of 8 buffers
 *   [5..6] [7..8]  csum_start, csum_offset
 *   [9..10]        gso_size
 *   [11]           most segments the caller takes
 * Properties beyond "no crash, no leak, no out-of-bounds access": nothing
 * is written into the head- or tailroom around a segment's data;
 * offload_parse changes no byte and, failing, no metadata; csum_complete
 * and fix_partial change at most the two checksum bytes, and fixing twice
 * is fixing once; weir_pkt_csum agrees with a byte-by-byte sum; GSO either
 * fails leaving the frame and the pools as they were, or gives exactly
 * weir_gso_nb_segs() frames of weir_gso_wire_len() bytes in total, each
 * with a valid IPv4 header checksum and (unless left partial) a valid L4
 * checksum by an independent sum, whose payloads put together are the
 * original payload.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/offload.h"
#include "weir/pkt.h"
#include "weir/pool.h"

#define PRE 12
#define FRAME_MAX 16000
#define GUARD 0x5a

static struct weir_pool *in_pool, *out_pool, *tiny_pool;
static uint8_t before[FRAME_MAX], after[FRAME_MAX], seg[FRAME_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int err;

	(void)argc, (void)argv;
	err = weir_pool_create(&(struct weir_pool_conf){.name = "fuzz-in", .n = 16,
							     .buf_size = 16384, .huge = 2},
			       &in_pool);
	if (!err)
		err = weir_pool_create(&(struct weir_pool_conf){.name = "fuzz-out", .n = 300,
								.huge = 2},
				       &out_pool);
	if (!err)
		err = weir_pool_create(&(struct weir_pool_conf){.name = "fuzz-tiny", .n = 8,
								.cache_size = UINT32_MAX, .huge = 2},
				       &tiny_pool);
	if (err || !in_pool || !out_pool || !tiny_pool) {
		fprintf(stderr, "fuzz_offload: pools: %d\n", err);
		abort();
	}
	return 0;
}

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* Byte-by-byte big-endian ones'-complement sum, folded. */
static uint16_t ref_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint64_t ref_sum(uint64_t s, const uint8_t *d, size_t len)
{
	for (size_t i = 0; i < len; i++)
		s += (i & 1) ? d[i] : (uint32_t)d[i] << 8;
	return s;
}

struct meta {
	uint32_t cut[2];
	uint8_t ctl;
	uint16_t csum_start, csum_offset, gso_size;
	uint8_t max;
};

static const uint8_t gso_types[8] = {
	WEIR_PKT_GSO_NONE, WEIR_PKT_GSO_TCPV4, WEIR_PKT_GSO_UDP, WEIR_PKT_GSO_TCPV6,
	WEIR_PKT_GSO_UDP_L4, 2, 6, 7,
};

/* The frame as 1-3 segments with guards around their data, metadata on. */
static struct weir_pkt *make(const uint8_t *f, uint32_t len, const struct meta *m)
{
	uint32_t cuts[2] = {WEIR_MIN(m->cut[0], m->cut[1]), WEIR_MAX(m->cut[0], m->cut[1])};
	struct weir_pkt *head = NULL;
	uint32_t from = 0;

	for (int i = 0; i <= 2; i++) {
		uint32_t to = i < 2 ? cuts[i] : len;
		struct weir_pkt *s;

		if (i < 2 && (to <= from || to >= len))
			continue;
		s = weir_pkt_alloc(in_pool);
		check(s != NULL);
		memset(s->buf, GUARD, s->buf_len);
		memcpy(weir_pkt_put(s, (uint16_t)(to - from)), f + from, to - from);
		if (head)
			check(weir_pkt_chain(head, s) == 0);
		else
			head = s;
		from = to;
	}
	head->ol_flags = (uint16_t)((m->ctl & 1 ? WEIR_PKT_OL_CSUM_PARTIAL : 0) |
				    (m->ctl & 2 ? WEIR_PKT_OL_CSUM_VALID : 0));
	head->gso_type = (uint8_t)(gso_types[(m->ctl >> 2) & 7] |
				   (m->ctl & 0x20 ? WEIR_PKT_GSO_ECN : 0));
	head->csum_start = m->csum_start;
	head->csum_offset = m->csum_offset;
	head->gso_size = m->gso_size;
	head->hdr_len = 0;
	return head;
}

static bool guards_intact(const struct weir_pkt *p)
{
	static uint8_t guard[16384];

	if (guard[0] != GUARD)
		memset(guard, GUARD, sizeof(guard));
	for (const struct weir_pkt *s = p; s; s = s->next) {
		uint32_t end = (uint32_t)s->data_off + s->data_len;

		if (s->buf_len > sizeof(guard) || memcmp(s->buf, guard, s->data_off) ||
		    memcmp(s->buf + end, guard, s->buf_len - end))
			return false;
	}
	return true;
}

/* Bytes that differ between before and after lie in [at, at + 2). */
static bool only_changed(uint32_t len, uint32_t at)
{
	for (uint32_t i = 0; i < len; i++)
		if (before[i] != after[i] && (i < at || i >= at + 2))
			return false;
	return true;
}

static void flat(const struct weir_pkt *p, uint8_t *dst)
{
	check(weir_pkt_copy_out(p, 0, p->pkt_len, dst) == 0);
}

static uint32_t first_diff(uint32_t len)
{
	uint32_t i = 0;

	while (i < len && before[i] == after[i])
		i++;
	return i;
}

static void fuzz_csum(const uint8_t *f, uint32_t len, const struct meta *m)
{
	struct weir_pkt *p = make(f, len, m);
	uint32_t off = m->csum_start % (len + 1), n = m->csum_offset % (len - off + 1);
	uint16_t got = weir_csum_fold(weir_pkt_csum(p, off, n, 0));
	uint8_t b[2];

	/* The chain sum against the byte loop, over a fuzzer-chosen range. */
	memcpy(b, &got, 2);
	check((uint16_t)(b[0] << 8 | b[1]) == ref_fold(ref_sum(0, f + off, n)));
	weir_pkt_free(p);

	p = make(f, len, m);
	p->ol_flags |= WEIR_PKT_OL_CSUM_PARTIAL;
	flat(p, before);
	if (weir_pkt_csum_complete(p) == 0) {
		uint32_t field = (uint32_t)m->csum_start + m->csum_offset;

		flat(p, after);
		check(only_changed(len, field));
		check(p->ol_flags & WEIR_PKT_OL_CSUM_VALID);
		/* Even offsets: the span now sums to -0 with the old field. */
		if (!(m->csum_offset & 1)) {
			uint64_t s = ref_sum(0, after + m->csum_start, len - m->csum_start);

			s += (uint32_t)before[field] << 8 | before[field + 1];
			check(ref_fold(s) == 0xffff);
		}
	} else {
		flat(p, after);
		check(memcmp(before, after, len) == 0);
	}
	check(guards_intact(p));
	weir_pkt_free(p);
}

static void fuzz_fix(const uint8_t *f, uint32_t len, const struct meta *m)
{
	struct weir_pkt *p = make(f, len, m);
	int r;

	/* From the bytes alone (fuzz_csum covers the CSUM_PARTIAL path). */
	p->gso_type = WEIR_PKT_GSO_NONE;
	p->ol_flags &= (uint16_t)~WEIR_PKT_OL_CSUM_PARTIAL;
	flat(p, before);
	r = weir_pkt_csum_fix_partial(p);
	check(r == 0 || r == 1);
	flat(p, after);
	check(only_changed(len, first_diff(len)));
	check(guards_intact(p));
	if (r == 1) {
		/* Fixing again, from the bytes alone, changes nothing. */
		check(p->ol_flags & WEIR_PKT_OL_CSUM_VALID);
		p->ol_flags = 0;
		memcpy(before, after, len);
		check(weir_pkt_csum_fix_partial(p) >= 0);
		flat(p, after);
		check(memcmp(before, after, len) == 0);
	}
	weir_pkt_free(p);
}

static void fuzz_parse(const uint8_t *f, uint32_t len, const struct meta *m)
{
	struct weir_pkt *p = make(f, len, m);
	uint16_t l2 = p->l2_len, l3 = p->l3_len, hl = p->hdr_len;
	uint8_t l4 = p->l4_proto;
	int r;

	flat(p, before);
	r = weir_pkt_offload_parse(p);
	flat(p, after);
	check(memcmp(before, after, len) == 0);
	if (r)
		check(p->l2_len == l2 && p->l3_len == l3 && p->l4_proto == l4 && p->hdr_len == hl);
	else
		check((uint32_t)p->l2_len + p->l3_len <= len && p->hdr_len <= len);
	weir_pkt_free(p);
}

/* One segment: IPv4 header checksum, L4 checksum (a partial one once
 * completed), its payload. */
static uint32_t check_segment(struct weir_pkt *s, uint8_t *payload)
{
	uint32_t len = s->pkt_len, l3 = s->l2_len, l4 = l3 + s->l3_len, hl, l4_len;
	uint64_t ps;
	int v4;

	check(s->nb_segs == 1 && !s->next && s->gso_type == WEIR_PKT_GSO_NONE);
	check(l4 + 8 <= len);
	if (s->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL)
		check(weir_pkt_csum_complete(s) == 0);
	check(s->ol_flags & WEIR_PKT_OL_CSUM_VALID);
	flat(s, seg);
	v4 = (seg[l3] >> 4) == 4;
	hl = s->l4_proto == 6 ? (seg[l4 + 12] >> 4) * 4u : 8;
	l4_len = len - l4;
	if (v4)
		check(ref_fold(ref_sum(0, seg + l3, s->l3_len)) == 0xffff);
	ps = s->l4_proto + (l4_len >> 16) + (l4_len & 0xffff);
	ps = v4 ? ref_sum(ps, seg + l3 + 12, 8) : ref_sum(ps, seg + l3 + 8, 32);
	check(ref_fold(ref_sum(ps, seg + l4, l4_len)) == 0xffff);
	check(l4 + hl <= len);
	memcpy(payload, seg + l4 + hl, len - l4 - hl);
	return len - l4 - hl;
}

static void fuzz_gso(const uint8_t *f, uint32_t len, const struct meta *m)
{
	struct weir_pool *pool = (m->ctl & 0x80) ? tiny_pool : out_pool;
	struct weir_pkt *p = make(f, len, m), *out[255];
	uint16_t nb = weir_gso_nb_segs(p);
	uint32_t wire = weir_gso_wire_len(p), total = 0, pay = 0, used = weir_pool_in_use(pool);
	bool gso = weir_pkt_is_gso(p);
	int r;

	flat(p, before);
	r = weir_gso_segment(p, pool, out, m->max, (m->ctl & 0x40) ? WEIR_GSO_CSUM_PARTIAL : 0);
	if (r < 0) {
		flat(p, after);
		check(memcmp(before, after, len) == 0 && guards_intact(p));
		check(weir_pool_in_use(pool) == used);
		check((nb == 0) == (r == -EINVAL || r == -EPROTONOSUPPORT));
		weir_pkt_free(p);
		return;
	}
	check(r == nb && r <= m->max);
	if (!gso) {
		check(out[0] == p && guards_intact(p));
		weir_pkt_free(p);
		return;
	}
	for (int i = 0; i < r; i++) {
		total += out[i]->pkt_len;
		pay += check_segment(out[i], after + pay);
	}
	check(total == wire);
	check(pay <= len && memcmp(after, before + len - pay, pay) == 0);
	weir_pkt_free_bulk(out, (uint32_t)r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meta m;
	uint32_t len;

	if (size < PRE + 1)
		return 0;
	len = (uint32_t)WEIR_MIN(size - PRE, (size_t)FRAME_MAX);
	m.cut[0] = (uint32_t)(data[0] << 8 | data[1]) % len;
	m.cut[1] = (uint32_t)(data[2] << 8 | data[3]) % len;
	m.ctl = data[4];
	m.csum_start = (uint16_t)(data[5] << 8 | data[6]);
	m.csum_offset = (uint16_t)(data[7] << 8 | data[8]);
	m.gso_size = (uint16_t)(data[9] << 8 | data[10]);
	m.max = data[11];
	data += PRE;

	fuzz_parse(data, len, &m);
	fuzz_csum(data, len, &m);
	fuzz_fix(data, len, &m);
	fuzz_gso(data, len, &m);
	check(weir_pool_in_use(in_pool) == 0 && weir_pool_in_use(out_pool) == 0 &&
	      weir_pool_in_use(tiny_pool) == 0);
	return 0;
}
