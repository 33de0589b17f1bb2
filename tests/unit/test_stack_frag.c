// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for stack/frag.c, the reassembly table on its own: in order,
 * out of order and reversed; 64 KiB datagrams from 45 fragments; more
 * fragments than a chain may have segments (copied once); fragments cut
 * into segments at odd places; exact duplicates (dropped alone) and
 * overlaps (the datagram goes); missing fragments and timeouts (with and
 * without the first fragment); bad lengths and inconsistent ends; the
 * per-source and total budgets, also lowered at run time; many sources and
 * ids interleaved; memory back to zero.
 *
 * fini fails if any packet buffer is still out.
 */
#include "frag_internal.h"
#include "stack_helpers.h"

#define SRC_A IP(10, 0, 0, 2)
#define SRC_B IP(10, 0, 0, 3)

static uint8_t dgram[65536];
static struct sk_frag *f;

static void setup(uint64_t budget, uint64_t per_source)
{
	int err;

	f = sk_frag_create(&(struct sk_frag_conf){.budget = budget, .budget_source = per_source,
						  .timeout = 30 * SEC, .seed = 7, .pool = pool},
			   &err);
	cr_assert_not_null(f, "frag: %d", err);
}

static void init(void)
{
	t_pool_init(4096);
	for (uint32_t i = 0; i < sizeof(dgram); i++)
		dgram[i] = pattern(3, i);
	setup(4u << 20, 1u << 20);
}

static void fini(void)
{
	sk_frag_destroy(f);
	t_pool_fini();
}

TestSuite(stack_frag, .init = init, .fini = fini, .timeout = 60);

static const struct sk_frag_stats *stats(void)
{
	return sk_frag_stats(f);
}

/* Fragment [off, off + len) of datagram id from src, cut into segments
 * of seg bytes (0: one). */
static struct weir_pkt *frag_seg(uint32_t src, uint16_t id, uint32_t off, uint32_t len, bool mf,
				 size_t seg)
{
	static uint8_t b[65600];
	struct weir_pkt *p;

	t_ipv4(b, src, IP_US, 17, id, (uint16_t)(off / 8 | (mf ? 0x2000 : 0)), 0, len);
	memcpy(b + 20, dgram + off, len);
	p = t_pkt(b, 20 + len, seg);
	p->l3_len = 20;
	return p;
}

static struct weir_pkt *frag(uint32_t src, uint16_t id, uint32_t off, uint32_t len, bool mf)
{
	return frag_seg(src, id, off, len, mf, 0);
}

/* Feeds p; the whole datagram when it completed one, else NULL. */
static struct weir_pkt *feed(struct weir_pkt *p, weir_ns_t now)
{
	struct weir_pkt *out = NULL;
	int r = sk_frag_input(f, p, now, &out);

	cr_assert(r == 0 || r == 1);
	cr_assert_eq(r == 1, out != NULL);
	return out;
}

/* out is datagram id with total payload bytes, byte for byte; frees it. */
static void check_whole(struct weir_pkt *out, uint32_t total)
{
	static uint8_t b[65600];

	cr_assert_not_null(out, "datagram complete");
	t_check_chain(out);
	cr_assert_eq(out->pkt_len, 20 + total);
	cr_assert_eq(out->l3_len, 20);
	t_flat(out, b);
	cr_expect_eq(get16(b + 2), 20 + total, "total length rewritten");
	cr_expect_eq(get16(b + 6), 0, "no fragment bits left");
	cr_expect(t_ip_ok(b), "header checksum redone");
	cr_assert_arr_eq(b + 20, dgram, total, "payload byte-exact");
	cr_expect_eq(out->qnext, NULL);
	cr_expect_eq(out->udata64, 0);
	weir_pkt_free(out);
}

/* Fragments of `total` bytes in `chunk`-byte pieces, in the order given
 * by perm (NULL: in order); checks the result. */
static void run_order(uint32_t total, uint32_t chunk, const uint32_t *perm, uint16_t id)
{
	uint32_t n = (total + chunk - 1) / chunk;
	struct weir_pkt *out = NULL;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = perm ? perm[k] : k, off = i * chunk;
		uint32_t len = WEIR_MIN(chunk, total - off);

		cr_assert_null(out, "complete before the last fragment");
		out = feed(frag(SRC_A, id, off, len, off + len < total), k);
	}
	check_whole(out, total);
	cr_expect_eq(sk_frag_mem(f), 0, "nothing held");
	cr_expect_eq(sk_frag_datagrams(f), 0);
}

Test(stack_frag, in_order)
{
	run_order(4000, 1480, NULL, 1);
	cr_expect_eq(stats()->frag_reassembled, 1);
	cr_expect_eq(stats()->frag_rx_fragments, 3);
}

Test(stack_frag, reversed)
{
	uint32_t perm[3] = {2, 1, 0};

	run_order(4000, 1480, perm, 2);
}

Test(stack_frag, largest_datagram_from_45_fragments_shuffled)
{
	uint32_t perm[45], s = 12345;

	for (uint32_t i = 0; i < 45; i++)
		perm[i] = i;
	for (uint32_t i = 44; i > 0; i--) {
		uint32_t j;

		s = s * 1103515245u + 12345u;
		j = (s >> 16) % (i + 1);
		uint32_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	run_order(65515, 1480, perm, 3);
	run_order(65515, 1480, NULL, 4);
}

Test(stack_frag, more_fragments_than_a_chain_holds_are_copied_once)
{
	/* 300 fragments of 216 bytes: 300 segments > 255. */
	run_order(300 * 216, 216, NULL, 5);
	cr_expect_eq(stats()->frag_copied, 1);
	/* 200 fragments: chained as they are. */
	run_order(200 * 216, 216, NULL, 6);
	cr_expect_eq(stats()->frag_copied, 1);
}

Test(stack_frag, fragments_split_into_odd_segments)
{
	struct weir_pkt *out = NULL;
	uint32_t total = 3000;

	/* Header cut at 7, 13, 19 bytes: pulling it crosses segments; 279
	 * segments in all, so the datagram is copied. Then 237: chained. */
	for (uint32_t k = 0, off = 0; off < total; k++, off += 1000)
		out = feed(frag_seg(SRC_A, 7, off, 1000, off + 1000 < total, 7 + 6 * k), 0);
	check_whole(out, total);
	cr_expect_eq(stats()->frag_copied, 1);
	out = NULL;
	for (uint32_t off = 0; off < total; off += 1000)
		out = feed(frag_seg(SRC_A, 8, off, 1000, off + 1000 < total, 13), 0);
	check_whole(out, total);
}

Test(stack_frag, exact_duplicate_is_dropped_alone)
{
	struct weir_pkt *out;

	cr_assert_null(feed(frag(SRC_A, 9, 0, 1000, true), 0));
	cr_assert_null(feed(frag(SRC_A, 9, 0, 1000, true), 0));
	cr_assert_null(feed(frag(SRC_A, 9, 2000, 500, false), 0));
	cr_assert_null(feed(frag(SRC_A, 9, 2000, 500, false), 0));
	out = feed(frag(SRC_A, 9, 1000, 1000, true), 0);
	check_whole(out, 2500);
	cr_expect_eq(stats()->frag_drop_duplicate, 2);
	cr_expect_eq(stats()->frag_drop_overlap, 0);
}

Test(stack_frag, overlap_discards_the_datagram)
{
	cr_assert_null(feed(frag(SRC_A, 10, 0, 1000, true), 0));
	cr_assert_null(feed(frag(SRC_A, 10, 1000, 1000, true), 0));
	/* Starts inside the first: the three go. */
	cr_assert_null(feed(frag(SRC_A, 10, 992, 1008, true), 0));
	cr_expect_eq(stats()->frag_drop_overlap, 3);
	cr_expect_eq(sk_frag_datagrams(f), 0);
	cr_expect_eq(sk_frag_mem(f), 0);
	/* Same offset, other length: an overlap too, not a duplicate. */
	cr_assert_null(feed(frag(SRC_A, 11, 0, 1000, true), 0));
	cr_assert_null(feed(frag(SRC_A, 11, 0, 1008, true), 0));
	cr_expect_eq(stats()->frag_drop_overlap, 5);
	/* Inserted between two with a byte too many at its end. */
	cr_assert_null(feed(frag(SRC_A, 12, 0, 1000, true), 0));
	cr_assert_null(feed(frag(SRC_A, 12, 2000, 1000, false), 0));
	cr_assert_null(feed(frag(SRC_A, 12, 1000, 1008, true), 0));
	cr_expect_eq(stats()->frag_drop_overlap, 8);
	cr_expect_eq(stats()->frag_reassembled, 0);
	cr_expect_eq(sk_frag_datagrams(f), 0);
}

Test(stack_frag, inconsistent_ends_discard_the_datagram)
{
	cr_assert_null(feed(frag(SRC_A, 20, 2000, 1000, false), 0));
	cr_assert_null(feed(frag(SRC_A, 20, 1000, 1000, false), 0)); /* a second last */
	cr_expect_eq(stats()->frag_drop_inconsistent, 2);
	cr_assert_null(feed(frag(SRC_A, 22, 3000, 1000, true), 0));
	cr_assert_null(feed(frag(SRC_A, 22, 1000, 1000, false), 0)); /* ends before held data */
	cr_expect_eq(stats()->frag_drop_inconsistent, 4);
	cr_assert_null(feed(frag(SRC_A, 23, 1000, 1000, false), 0));
	cr_assert_null(feed(frag(SRC_A, 23, 2000, 8, true), 0)); /* past the end */
	cr_expect_eq(stats()->frag_drop_inconsistent, 6);
	sk_frag_timer(f, 60 * SEC, NULL, NULL);
	cr_expect_eq(sk_frag_datagrams(f), 0);
}

Test(stack_frag, bad_lengths_are_dropped)
{
	cr_assert_null(feed(frag(SRC_A, 30, 0, 1001, true), 0)); /* not a multiple of 8 */
	cr_assert_null(feed(frag(SRC_A, 30, 1000, 0, true), 0)); /* empty */
	cr_expect_eq(stats()->frag_drop_bad_len, 2);
	/* Ends past 65515 payload bytes (65535 with the header). */
	cr_assert_null(feed(frag(SRC_A, 31, 65512, 8, false), 0));
	cr_expect_eq(stats()->frag_drop_too_big, 1);
	cr_assert_null(feed(frag(SRC_A, 31, 65504, 8, false), 0));
	cr_expect_eq(stats()->frag_drop_too_big, 1, "65512 is fine");
	cr_expect_eq(sk_frag_datagrams(f), 1);
}

static int expired_calls;
static uint16_t expired_id;

static void on_expired(void *ctx, const struct weir_pkt *first)
{
	uint8_t h[20];

	(void)ctx;
	cr_assert_eq(weir_pkt_copy_out(first, 0, 20, h), 0);
	expired_id = get16(h + 4);
	expired_calls++;
}

Test(stack_frag, missing_fragment_times_out)
{
	cr_assert_null(feed(frag(SRC_A, 40, 0, 1000, true), 0));
	cr_assert_null(feed(frag(SRC_A, 40, 2000, 1000, false), 1 * SEC));
	/* First fragment missing: no one to tell. */
	cr_assert_null(feed(frag(SRC_B, 41, 1000, 1000, false), 5 * SEC));
	sk_frag_timer(f, 30 * SEC - 1, on_expired, NULL);
	cr_expect_eq(sk_frag_datagrams(f), 2);
	sk_frag_timer(f, 30 * SEC, on_expired, NULL);
	cr_expect_eq(sk_frag_datagrams(f), 1);
	cr_expect_eq(expired_calls, 1);
	cr_expect_eq(expired_id, 40);
	cr_expect_eq(stats()->frag_drop_timeout, 2);
	cr_expect_eq(stats()->frag_timeouts, 1);
	sk_frag_timer(f, 35 * SEC, on_expired, NULL);
	cr_expect_eq(expired_calls, 1);
	cr_expect_eq(stats()->frag_drop_timeout, 3);
	cr_expect_eq(sk_frag_mem(f), 0);
	/* A shorter timeout applies to what is held. */
	cr_assert_null(feed(frag(SRC_A, 42, 0, 1000, true), 40 * SEC));
	sk_frag_set_timeout(f, 1 * SEC);
	sk_frag_timer(f, 41 * SEC, NULL, NULL);
	cr_expect_eq(sk_frag_datagrams(f), 0);
}

/* Holds one incomplete datagram (first half) per id from src. */
static void hold(uint32_t src, uint16_t id, weir_ns_t now)
{
	cr_assert_null(feed(frag(src, id, 0, 1000, true), now));
}

Test(stack_frag, per_source_budget_spares_other_sources)
{
	uint64_t one;

	sk_frag_destroy(f);
	setup(1u << 20, 20000);
	hold(SRC_A, 1, 0);
	one = sk_frag_source_mem(f, SRC_A);
	cr_assert_gt(one, 1000, "charged buffers, not bytes carried");
	for (uint16_t id = 2; id < 30; id++)
		hold(SRC_A, id, 0);
	cr_expect_leq(sk_frag_source_mem(f, SRC_A), 20000);
	cr_expect_gt(stats()->frag_drop_budget_source, 0);
	/* B still reassembles. */
	cr_assert_null(feed(frag(SRC_B, 1, 0, 1000, true), 0));
	check_whole(feed(frag(SRC_B, 1, 1000, 500, false), 0), 1500);
}

Test(stack_frag, total_budget_bounds_many_sources)
{
	sk_frag_destroy(f);
	setup(100000, 20000);
	for (uint32_t s = 0; s < 500; s++)
		hold(IP(10, 1, s >> 8, s & 0xff), (uint16_t)s, 0);
	cr_expect_leq(sk_frag_mem(f), 100000);
	cr_expect_gt(stats()->frag_drop_budget_total, 400);
	cr_expect_eq(stats()->frag_drop_budget_source, 0);
	cr_expect_lt(sk_frag_datagrams(f), 50);
}

Test(stack_frag, a_datagram_over_budget_goes_whole)
{
	sk_frag_destroy(f);
	setup(1u << 20, 10000);
	/* Its fourth fragment does not fit: the three held go with it. */
	for (uint32_t i = 0; i < 8; i++)
		feed(frag(SRC_A, 50, i * 1000, 1000, true), 0);
	cr_expect_eq(sk_frag_datagrams(f), 1, "a new one started after");
	cr_expect_gt(stats()->frag_drop_budget_source, 3);
	cr_expect_leq(sk_frag_source_mem(f, SRC_A), 10000);
}

Test(stack_frag, lowering_budgets_at_run_time_discards_oldest)
{
	uint64_t before;

	for (uint16_t id = 0; id < 10; id++)
		hold(SRC_A, id, id);
	for (uint16_t id = 0; id < 10; id++)
		hold(SRC_B, id, 100 + id);
	before = sk_frag_mem(f);
	cr_expect_eq(sk_frag_datagrams(f), 20);
	cr_expect_eq(sk_frag_set_budget(f, 1000, 2000), -EINVAL);
	cr_expect_eq(sk_frag_set_budget(f, before / 2, 0 /* keep */), -EINVAL,
		     "per source (1 MiB) above total");
	cr_assert_eq(sk_frag_set_budget(f, before / 2, before / 4), 0);
	cr_expect_leq(sk_frag_mem(f), before / 2);
	cr_expect_leq(sk_frag_source_mem(f, SRC_A), before / 4);
	cr_expect_leq(sk_frag_source_mem(f, SRC_B), before / 4);
	cr_expect_gt(stats()->frag_drop_budget_total + stats()->frag_drop_budget_source, 9);
	/* B's newest survive (A's, older, went first); raised again, they
	 * can complete. */
	cr_assert_eq(sk_frag_set_budget(f, 4u << 20, 1u << 20), 0);
	cr_assert_null(feed(frag(SRC_B, 9, 2000, 8, false), 200));
	cr_expect_eq(stats()->frag_drop_inconsistent, 0);
	check_whole(feed(frag(SRC_B, 9, 1000, 1000, true), 200), 2008);
}

Test(stack_frag, interleaved_sources_and_ids_all_complete)
{
	struct weir_pkt *out;
	uint32_t done = 0;

	for (uint32_t part = 0; part < 3; part++) {
		for (uint32_t s = 0; s < 20; s++) {
			for (uint16_t id = 0; id < 5; id++) {
				out = feed(frag(IP(10, 2, 0, s + 1), id, part * 1000, 1000, part < 2),
					   part);
				if (out) {
					check_whole(out, 3000);
					done++;
				}
			}
		}
	}
	cr_expect_eq(done, 100);
	cr_expect_eq(sk_frag_mem(f), 0);
	cr_expect_eq(sk_frag_datagrams(f), 0);
}

Test(stack_frag, create_refuses_bad_budgets)
{
	int err;

	cr_expect_null(sk_frag_create(&(struct sk_frag_conf){.budget = 10, .budget_source = 20,
							     .pool = pool},
				      &err));
	cr_expect_eq(err, -EINVAL);
	cr_expect_null(sk_frag_create(&(struct sk_frag_conf){.budget = 0, .budget_source = 0,
							     .pool = pool},
				      &err));
	cr_expect_eq(err, -EINVAL);
}

/* Regression: a first fragment cut inside its IP header (a 13-byte first
 * segment) came out with the fragment's total length and MF still in the
 * datagram's header, because the rewrite wanted the header in one segment. */
Test(stack_frag, header_rewritten_when_first_fragment_is_cut_inside_it)
{
	struct weir_pkt *out;

	cr_assert_null(feed(frag_seg(SRC_A, 60, 0, 1000, true, 13), 0));
	out = feed(frag(SRC_A, 60, 1000, 200, false), 0);
	cr_assert_not_null(out);
	cr_expect_lt(out->data_len, 20, "the header really is split");
	check_whole(out, 1200);
}
