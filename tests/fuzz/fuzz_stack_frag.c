// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: IPv4 reassembly (stack/frag.c) driven with sequences of
 * fragments: many sources and ids, any offsets and lengths, duplicates,
 * overlaps, contradicting ends, budgets changed on the way, time passing.
 *
 * Input: byte 0 picks the budgets (low nibble: total = 4 KiB << n % 9,
 * high nibble: per source = total >> n % 5). Then 8-byte records:
 *     src (0..7) | id | offset/8 and MF (2 bytes, MF = 0x2000) |
 *     payload length (2 bytes, at most 4096) | segment size | ms x 10
 * where a segment size s cuts the fragment into segments of s bytes (0:
 * one segment) and a time byte of 0xff instead sets new budgets from the
 * id and length bytes. The payload byte at datagram offset k is a function
 * of (src, id, k), so every fragment of a datagram agrees with the others
 * wherever they overlap.
 *
 * Properties: a datagram that comes out is byte-exact against that
 * function, with a total length that matches and a valid header checksum,
 * as a well-formed chain; memory never exceeds the budgets in force; the
 * timeout callback sees only first fragments; once time has run out
 * nothing is held and no packet buffer is left out of the pool.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frag_internal.h"
#include "weir/pkt.h"
#include "weir/pool.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                            \
	do {                                                                                \
		if (!(c)) {                                                                 \
			fprintf(stderr, "fuzz_stack_frag: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                            \
		}                                                                           \
	} while (0)

static struct weir_pool *pool;
static uint8_t buf[70000];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int err;

	(void)argc, (void)argv;
	err = weir_pool_create(&(struct weir_pool_conf){.name = "fuzz", .n = 4096, .huge = 2}, &pool);
	if (err || !pool)
		abort();
	return 0;
}

static uint8_t content(uint32_t src, uint32_t id, uint32_t k)
{
	return (uint8_t)(src * 131 + id * 31 + k * 7 + (k >> 8));
}

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint16_t ip_sum(const uint8_t *b)
{
	uint32_t s = 0;

	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The fragment a record describes, or NULL when the pool is short. */
static struct weir_pkt *make(uint32_t src, uint32_t id, uint16_t fo, uint32_t len, uint32_t seg)
{
	uint32_t off = (uint32_t)(fo & 0x1fff) * 8, total = 20 + len, pos = 0;
	struct weir_pkt *head = NULL;
	uint8_t *h = buf;
	uint32_t s;

	memset(h, 0, 20);
	h[0] = 0x45;
	h[2] = (uint8_t)(total >> 8), h[3] = (uint8_t)total;
	h[4] = 0, h[5] = (uint8_t)id;
	h[6] = (uint8_t)(fo >> 8), h[7] = (uint8_t)fo;
	h[8] = 64, h[9] = 17;
	h[12] = 10, h[15] = (uint8_t)(2 + src);
	h[16] = 10, h[19] = 1;
	s = (uint16_t)~ip_sum(h);
	h[10] = (uint8_t)(s >> 8), h[11] = (uint8_t)s;
	for (uint32_t k = 0; k < len; k++)
		buf[20 + k] = content(src, id, off + k);
	if (seg && total / seg > 200)
		seg = 0;
	do {
		struct weir_pkt *p = weir_pkt_alloc(pool);
		uint32_t n = total - pos;

		if (!p) {
			weir_pkt_free(head);
			return NULL;
		}
		n = WEIR_MIN(n, weir_pkt_tailroom(p));
		if (seg)
			n = WEIR_MIN(n, seg);
		memcpy(weir_pkt_put(p, (uint16_t)n), buf + pos, n);
		pos += n;
		if (!head)
			head = p;
		else
			CHECK(weir_pkt_chain(head, p) == 0);
	} while (pos < total);
	head->l3_len = 20;
	return head;
}

static void check_whole(struct weir_pkt *p)
{
	uint32_t n = 0, segs = 0, src, id;

	for (const struct weir_pkt *s = p; s; s = s->next, segs++)
		n += s->data_len;
	CHECK(n == p->pkt_len && segs == p->nb_segs && segs <= WEIR_PKT_MAX_SEGS);
	CHECK(p->pkt_len >= 20 && p->pkt_len <= 65535 && p->l3_len == 20);
	CHECK(weir_pkt_copy_out(p, 0, p->pkt_len, buf) == 0);
	CHECK(rd16(buf + 2) == p->pkt_len);
	CHECK((rd16(buf + 6) & 0x3fff) == 0);
	CHECK(ip_sum(buf) == 0xffff);
	src = buf[15] - 2u;
	id = buf[5];
	for (uint32_t k = 0; k + 20 < p->pkt_len; k++)
		CHECK(buf[20 + k] == content(src, id, k));
	weir_pkt_free(p);
}

static void on_expired(void *ctx, const struct weir_pkt *first)
{
	uint8_t h[20];

	(void)ctx;
	CHECK(weir_pkt_copy_out(first, 0, 20, h) == 0);
	CHECK((rd16(h + 6) & 0x1fff) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_frag *f;
	uint64_t total, per_src;
	weir_ns_t now = 0;
	int err;

	if (!size)
		return 0;
	total = 4096ull << (data[0] & 0xf) % 9;
	per_src = total >> (data[0] >> 4) % 5;
	f = sk_frag_create(&(struct sk_frag_conf){.budget = total, .budget_source = per_src,
						  .timeout = 30 * WEIR_NS_PER_SEC, .seed = 1,
						  .pool = pool},
			   &err);
	CHECK(f);
	for (size_t pos = 1; pos + 8 <= size; pos += 8) {
		const uint8_t *r = data + pos;
		uint32_t src = r[0] & 7, len = rd16(r + 4) % 4097;
		struct weir_pkt *p, *out = NULL;

		if (r[7] == 0xff) {
			uint64_t t = 4096ull << r[1] % 9, ps = t >> r[4] % 5;

			CHECK(sk_frag_set_budget(f, t, ps) == 0);
			total = t;
			per_src = ps;
		} else {
			now += r[7] * 10 * WEIR_NS_PER_MS;
			sk_frag_timer(f, now, on_expired, NULL);
			p = make(src, r[1], rd16(r + 2), len, r[6]);
			if (p && sk_frag_input(f, p, now, &out) == 1)
				check_whole(out);
		}
		CHECK(sk_frag_mem(f) <= total);
		for (uint32_t s = 0; s < 8; s++)
			CHECK(sk_frag_source_mem(f, 0x0a000002 + s) <= per_src);
	}
	sk_frag_timer(f, now + 31 * WEIR_NS_PER_SEC, on_expired, NULL);
	CHECK(sk_frag_mem(f) == 0 && sk_frag_datagrams(f) == 0);
	sk_frag_destroy(f);
	CHECK(weir_pool_in_use(pool) == 0);
	return 0;
}
