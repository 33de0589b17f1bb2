// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for include/weir/offload.h, checksums and headers
 * (src/csum.c, src/offload.c): sums against RFC 1071's example, a known
 * IPv4 header and a straightforward reference (offload_helpers.h) at every
 * length and alignment, pieces joined at odd and even offsets, chains;
 * csum_complete over IPv4/IPv6 x TCP/UDP frames with options and VLAN tags,
 * cut into segments at every offset (inside headers and inside the
 * checksum field); csum_fix_partial on partial, valid, valid-equal-to-the-
 * pseudo-sum, truncated, malformed and padded frames; offload_parse.
 * Segmentation is in test_gso.c.
 *
 * fini fails if any packet buffer is still out.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>

#include "offload_helpers.h"

static struct weir_pool *pool;

static void init(void)
{
	int err;

	err = weir_pool_create(&(struct weir_pool_conf){.name = "offload", .n = 2048, .huge = 2},
			       &pool);
	cr_assert_eq(err, 0, "pool: %d", err);
}

static void fini(void)
{
	uint32_t n = weir_pool_in_use(pool);

	weir_pool_destroy(pool);
	if (n) {
		cr_log_error("leaked %u packet buffers", n);
		abort();
	}
}

TestSuite(offload, .init = init, .fini = fini, .timeout = 60);

static uint8_t rnd_byte(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return (uint8_t)(*s >> 16);
}

/* --- sums ---------------------------------------------------------------- */

Test(offload, csum_rfc1071_example)
{
	/* RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to dd f2. */
	static const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	uint16_t f = weir_csum_fold(weir_csum_add(0, b, sizeof(b)));

	cr_expect_eq(stored(f), 0xddf2, "sum %04x", stored(f));
	cr_expect_eq(stored((uint16_t)~f), 0x220d);
	/* The same bytes in two odd pieces. */
	f = weir_csum_fold(weir_csum_block_add(weir_csum_add(0, b, 3), weir_csum_add(0, b + 3, 5), 3));
	cr_expect_eq(stored(f), 0xddf2);
}

Test(offload, csum_of_a_known_ipv4_header)
{
	uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		       0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	uint16_t ck;

	cr_expect_eq(weir_csum_fold(weir_csum_add(0, h, 20)), 0xffff, "a valid header sums to -0");
	h[10] = h[11] = 0;
	ck = (uint16_t)~weir_csum_fold(weir_csum_add(0, h, 20));
	cr_expect_eq(stored(ck), 0xb861);
}

Test(offload, csum_matches_reference_at_every_length_and_alignment)
{
	static uint8_t buf[4096 + 8];
	uint32_t s = 1;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = rnd_byte(&s);
	for (size_t align = 0; align < 8; align++) {
		for (size_t len = 0; len <= 600; len++) {
			uint16_t got = weir_csum_fold(weir_csum_add(0, buf + align, len));

			cr_assert_eq(stored(got), ref_fold(ref_sum(0, buf + align, len)),
				     "len %zu align %zu", len, align);
		}
	}
	cr_assert_eq(stored(weir_csum_fold(weir_csum_add(0, buf + 1, 4096))),
		     ref_fold(ref_sum(0, buf + 1, 4096)));
}

Test(offload, csum_carries_survive_64k_of_ones_and_a_running_sum)
{
	static uint8_t buf[65536];
	uint32_t s = 7, start = 0xfffffff0u;

	memset(buf, 0xff, sizeof(buf));
	cr_expect_eq(weir_csum_fold(weir_csum_add(0, buf, sizeof(buf))), 0xffff);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = rnd_byte(&s);
	/* A sum passed in counts as one more piece. */
	cr_expect_eq(weir_csum_fold(weir_csum_add(start, buf, sizeof(buf) - 3)),
		     weir_csum_fold(weir_csum_combine(start, weir_csum_add(0, buf, sizeof(buf) - 3))));
	cr_expect_eq(stored(weir_csum_fold(weir_csum_add(0, buf, sizeof(buf) - 3))),
		     ref_fold(ref_sum(0, buf, sizeof(buf) - 3)));
}

Test(offload, csum_block_add_joins_pieces_at_odd_and_even_offsets)
{
	uint8_t buf[301];
	uint32_t s = 3;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = rnd_byte(&s);
	uint16_t want = ref_fold(ref_sum(0, buf, sizeof(buf)));

	for (size_t k = 0; k <= sizeof(buf); k++) {
		for (size_t j = k; j <= sizeof(buf); j += 37) {
			uint32_t sum = weir_csum_add(0, buf, k);

			sum = weir_csum_block_add(sum, weir_csum_add(0, buf + k, j - k), k);
			sum = weir_csum_block_add(sum, weir_csum_add(0, buf + j, sizeof(buf) - j), j);
			cr_assert_eq(stored(weir_csum_fold(sum)), want, "cuts %zu %zu", k, j);
		}
	}
}

Test(offload, pkt_csum_over_chains_of_odd_segments)
{
	static const uint32_t cuts[] = {1, 4, 6, 13, 14, 15, 1000, 1001, 1777, 2500, 4000};
	uint8_t f[5000];
	uint32_t s = 11;
	struct weir_pkt *p;

	for (size_t i = 0; i < sizeof(f); i++)
		f[i] = rnd_byte(&s);
	p = mkchain(pool, f, sizeof(f), cuts, WEIR_ARRAY_SIZE(cuts));
	cr_assert_eq(p->nb_segs, 12);
	for (uint32_t off = 0; off < 40; off++) {
		for (uint32_t len = 0; off + len <= sizeof(f); len += 97 + off) {
			uint16_t sum = weir_csum_fold(weir_pkt_csum(p, off, len, 0));

			cr_assert_eq(stored(sum), ref_fold(ref_sum(0, f + off, len)), "off %u len %u",
				     off, len);
		}
	}
	/* Past the end is not read. */
	cr_expect_eq(weir_csum_fold(weir_pkt_csum(p, 4990, 100, 0)),
		     weir_csum_fold(weir_pkt_csum(p, 4990, 10, 0)));
	weir_pkt_free(p);
}

Test(offload, pseudo_headers_match_reference)
{
	struct fspec s4 = {.ipv = 4, .proto = 6}, s6 = {.ipv = 6, .proto = 17};
	uint8_t f[200];
	struct frame fr = build(f, &s4);
	uint32_t lens[] = {0, 8, 1480, 65535, 65536, 70000};

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(lens); i++) {
		uint32_t s = weir_csum_pseudo_ipv4(f + fr.l3 + 12, f + fr.l3 + 16, 6, lens[i]);

		if (lens[i] <= 65535)
			cr_expect_eq(stored(weir_csum_fold(s)),
				     ref_fold(ref_pseudo(f, fr.l3, 4, 6, lens[i])), "v4 len %u", lens[i]);
	}
	fr = build(f, &s6);
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(lens); i++) {
		uint32_t s = weir_csum_pseudo_ipv6(f + fr.l3 + 8, f + fr.l3 + 24, 17, lens[i]);

		cr_expect_eq(stored(weir_csum_fold(s)), ref_fold(ref_pseudo(f, fr.l3, 6, 17, lens[i])),
			     "v6 len %u", lens[i]);
	}
}

/* --- csum_complete ------------------------------------------------------- */

/* IPv4/IPv6 x TCP/UDP x 0-2 VLAN tags, with and without options. */
static const struct fspec matrix[] = {
	{.ipv = 4, .proto = 6, .payload = 37},
	{.ipv = 4, .proto = 6, .vlans = 1, .ip_opts = 8, .tcp_opts = 12, .payload = 100},
	{.ipv = 4, .proto = 17, .vlans = 2, .payload = 1},
	{.ipv = 4, .proto = 17, .ip_opts = 4, .payload = 0},
	{.ipv = 6, .proto = 6, .vlans = 2, .tcp_opts = 12, .payload = 41},
	{.ipv = 6, .proto = 6, .ip_opts = 16, .payload = 7},
	{.ipv = 6, .proto = 17, .vlans = 1, .payload = 33},
	{.ipv = 6, .proto = 17, .ip_opts = 8, .payload = 200},
};

ParameterizedTestParameters(offload, csum_complete_matches_sender_at_every_cut)
{
	return cr_make_param_array(struct fspec, matrix, WEIR_ARRAY_SIZE(matrix));
}

ParameterizedTest(const struct fspec *spec, offload, csum_complete_matches_sender_at_every_cut)
{
	struct fspec sp = *spec, sv = *spec;
	uint8_t partial[400], valid[400], got[400];
	struct frame fr;

	sp.ck = CK_PARTIAL;
	sv.ck = CK_VALID;
	fr = build(partial, &sp);
	build(valid, &sv);
	/* One cut anywhere (headers, the field itself), and pairs of cuts. */
	for (uint32_t a = 0; a < fr.len; a++) {
		for (uint32_t b = a; b < fr.len; b += (a % 7 == 0) ? 1 : fr.len) {
			uint32_t cuts[2] = {a, b};
			struct weir_pkt *p = mkchain(pool, partial, fr.len, cuts, 2);

			p->ol_flags = WEIR_PKT_OL_CSUM_PARTIAL;
			p->csum_start = (uint16_t)fr.l4;
			p->csum_offset = sp.proto == 6 ? 16 : 6;
			cr_assert_eq(weir_pkt_csum_complete(p), 0, "cuts %u %u", a, b);
			cr_assert_eq(p->ol_flags, WEIR_PKT_OL_CSUM_VALID);
			flat(p, got, sizeof(got));
			cr_assert_arr_eq(got, valid, fr.len, "cuts %u %u: not the sender's checksum", a,
					 b);
			weir_pkt_free(p);
		}
	}
}

Test(offload, csum_complete_refuses_and_leaves_packet_unchanged)
{
	struct fspec s = {.ipv = 4, .proto = 6, .payload = 50, .ck = CK_PARTIAL};
	uint8_t f[200], got[200];
	struct frame fr = build(f, &s);
	uint32_t cut = fr.l4 + 10;
	struct weir_pkt *p = mkchain(pool, f, fr.len, &cut, 1), *c;
	int err;

	p->csum_start = (uint16_t)fr.l4;
	p->csum_offset = 16;
	cr_expect_eq(weir_pkt_csum_complete(p), -EINVAL, "not partial");
	p->ol_flags = WEIR_PKT_OL_CSUM_PARTIAL;
	p->csum_offset = (uint16_t)(fr.len - fr.l4 - 1);
	cr_expect_eq(weir_pkt_csum_complete(p), -EINVAL, "field's second byte past the end");
	p->csum_start = 0xffff;
	p->csum_offset = 0xffff;
	cr_expect_eq(weir_pkt_csum_complete(p), -EINVAL, "far past the end");
	p->csum_start = (uint16_t)fr.l4;
	p->csum_offset = 16;
	/* A clone shares the bytes: neither side may write them. */
	err = weir_pkt_clone(p, pool, &c);
	cr_assert_eq(err, 0);
	cr_expect_eq(weir_pkt_csum_complete(c), -EPERM, "clone");
	cr_expect_eq(weir_pkt_csum_complete(p), -EPERM, "original with a clone out");
	cr_expect_eq(p->ol_flags, WEIR_PKT_OL_CSUM_PARTIAL);
	flat(p, got, sizeof(got));
	cr_expect_arr_eq(got, f, fr.len);
	weir_pkt_free(c);
	cr_expect_eq(weir_pkt_csum_complete(p), 0, "alone again");
	weir_pkt_free(p);
}

/* Payload whose last two bytes make the completed checksum come out 0. */
static struct frame build_zero_sum(uint8_t *f, struct fspec *s)
{
	struct frame fr;
	struct ref_hdrs r;
	uint16_t ck;

	s->ck = CK_VALID;
	fr = build(f, s);
	put16(f + fr.len - 2, 0);
	ref_parse(f, fr.len, &r);
	put16(f + r.l4 + (s->proto == 6 ? 16 : 6), 0);
	/* Sum without the field S; want fold(S + X) == 0xffff. */
	ck = ref_fold(ref_sum(ref_pseudo(f, r.l3, r.ipv, r.proto, r.l4_len), f + r.l4, r.l4_len));
	put16(f + fr.len - 2, (uint16_t)(0xffff - ck));
	s->ck = CK_PARTIAL;
	put16(f + r.l4 + (s->proto == 6 ? 16 : 6),
	      ref_fold(ref_pseudo(f, r.l3, r.ipv, r.proto, r.l4_len)));
	return fr;
}

Test(offload, csum_complete_writes_ffff_for_udp_zero_and_0_for_tcp)
{
	for (int proto = 6; proto <= 17; proto += 11) {
		struct fspec s = {.ipv = 4, .proto = proto, .payload = 20};
		uint8_t f[200];
		struct frame fr = build_zero_sum(f, &s);
		struct weir_pkt *p = mkchain(pool, f, fr.len, NULL, 0);
		uint8_t got[200];
		struct ref_hdrs r;

		p->ol_flags = WEIR_PKT_OL_CSUM_PARTIAL;
		p->csum_start = (uint16_t)fr.l4;
		p->csum_offset = proto == 6 ? 16 : 6;
		cr_assert_eq(weir_pkt_csum_complete(p), 0);
		flat(p, got, sizeof(got));
		ref_parse(got, fr.len, &r);
		cr_expect_eq(ref_field(got, &r), proto == 6 ? 0x0000 : 0xffff, "proto %d", proto);
		cr_expect(ref_l4_ok(got, &r));
		weir_pkt_free(p);
	}
}

/* --- csum_fix_partial ---------------------------------------------------- */

/* Runs fix_partial on f cut at `cut`; returns its result, bytes in got. */
static int fix(const uint8_t *f, uint32_t len, uint32_t cut, uint8_t *got)
{
	struct weir_pkt *p = mkchain(pool, f, len, &cut, 1);
	int r = weir_pkt_csum_fix_partial(p);

	flat(p, got, len);
	cr_assert_eq(!!(p->ol_flags & WEIR_PKT_OL_CSUM_VALID), r == 1);
	weir_pkt_free(p);
	return r;
}

Test(offload, fix_partial_completes_partial_and_leaves_valid_frames)
{
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(matrix); i++) {
		struct fspec sp = matrix[i], sv = matrix[i];
		uint8_t partial[400], valid[400], got[400];
		struct frame fr;

		sp.ck = CK_PARTIAL;
		sv.ck = CK_VALID;
		fr = build(partial, &sp);
		build(valid, &sv);
		for (uint32_t cut = 0; cut < fr.len; cut += 3) {
			cr_assert_eq(fix(partial, fr.len, cut, got), 1, "frame %zu cut %u", i, cut);
			cr_assert_arr_eq(got, valid, fr.len, "frame %zu cut %u", i, cut);
			cr_assert_eq(fix(valid, fr.len, cut, got), 0, "frame %zu cut %u", i, cut);
			cr_assert_arr_eq(got, valid, fr.len);
		}
	}
}

/* A valid checksum equal to the pseudo-header sum P needs D == -2P: the
 * last payload word steers D. */
static struct frame build_valid_equal_pseudo(uint8_t *f, struct fspec *s)
{
	struct frame fr;
	struct ref_hdrs r;
	uint32_t field;
	uint64_t d;
	uint16_t p;

	s->ck = CK_ZERO;
	fr = build(f, s);
	put16(f + fr.len - 2, 0);
	ref_parse(f, fr.len, &r);
	field = r.l4 + (s->proto == 6 ? 16 : 6);
	p = ref_fold(ref_pseudo(f, r.l3, r.ipv, r.proto, r.l4_len));
	d = ref_fold(ref_sum(0, f + r.l4, r.l4_len));
	/* X == -2P - D (mod 0xffff), as a 16-bit word; then C = P is valid. */
	put16(f + fr.len - 2, ref_fold((uint64_t)(uint16_t)~p + (uint16_t)~p + (uint16_t)~d));
	put16(f + field, p);
	cr_assert(ref_l4_ok(f, &r), "the checksum equal to the pseudo-header sum is valid");
	return fr;
}

Test(offload, fix_partial_keeps_valid_checksum_equal_to_pseudo_sum)
{
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(matrix); i++) {
		struct fspec s = matrix[i];
		uint8_t f[400], got[400];
		struct frame fr;

		s.payload += 2 + (s.payload & 1); /* an even payload ending in the steering word */
		fr = build_valid_equal_pseudo(f, &s);
		cr_assert_eq(fix(f, fr.len, fr.l4 + 17, got), 1, "it looks partial: completed");
		cr_assert_arr_eq(got, f, fr.len, "frame %zu: a valid checksum changed", i);
	}
}

/* The proof's one exception (offload.c): P == 0xffff and C == 0xffff. */
static uint16_t saddr_for_p_ffff(int proto, uint32_t l4_len)
{
	uint8_t f[400];

	for (uint32_t lo = 1; lo <= 0xffff; lo++) {
		struct fspec s = {.ipv = 4, .proto = proto, .payload = l4_len - (proto == 6 ? 20 : 8),
				  .saddr_lo = (uint16_t)lo};
		struct frame fr = build(f, &s);

		if (ref_fold(ref_pseudo(f, fr.l3, 4, proto, fr.l4_len)) == 0xffff)
			return (uint16_t)lo;
	}
	return 0;
}

Test(offload, fix_partial_keeps_valid_checksum_equal_to_pseudo_sum_ffff)
{
	for (int proto = 6; proto <= 17; proto += 11) {
		struct fspec s = {.ipv = 4, .proto = proto, .payload = 40};
		uint8_t f[400], got[400];
		struct frame fr;
		struct ref_hdrs r;

		/* 10.0.x.y -> 10.0.0.2: some x.y gives a pseudo sum of 0xffff. */
		s.saddr_lo = saddr_for_p_ffff(proto, s.payload + (proto == 6 ? 20 : 8));
		cr_assert_neq(s.saddr_lo, 0);
		fr = build_valid_equal_pseudo(f, &s);
		cr_assert_eq(fix(f, fr.len, 0, got), 1);
		ref_parse(got, fr.len, &r);
		cr_expect(ref_l4_ok(got, &r), "still valid");
		cr_expect_eq(ref_field(got, &r), proto == 17 ? 0xffff : 0x0000,
			     "UDP keeps 0xffff, TCP writes the other zero");
	}
}

Test(offload, fix_partial_ignores_ipv4_udp_without_checksum)
{
	struct fspec s = {.ipv = 4, .proto = 17, .payload = 30, .ck = CK_ZERO};
	uint8_t f[200], got[200];
	struct frame fr = build(f, &s);

	cr_expect_eq(fix(f, fr.len, 0, got), 0);
	cr_expect_arr_eq(got, f, fr.len);
}

Test(offload, fix_partial_leaves_truncated_and_malformed_frames_untouched)
{
	struct fspec s = {.ipv = 4, .proto = 6, .vlans = 1, .tcp_opts = 12, .payload = 20,
			  .ck = CK_PARTIAL};
	/* Bytes to break, relative to the IP header: version, IHL, a fragment
	 * offset, MF, protocol; and in TCP: data offset 4, data offset 15. */
	static const struct { uint32_t at; uint8_t val; bool l4; } breaks[] = {
		{0, 0x55, false}, {0, 0x44, false}, {0, 0x4f, false}, {7, 0x01, false},
		{6, 0x60, false}, {9, 0x01, false}, {12, 0x40, true}, {12, 0xf0, true},
	};
	uint8_t f[300], b[300], got[300];
	struct frame fr = build(f, &s);
	uint32_t st = 5;

	for (uint32_t len = 0; len < fr.len; len++) {
		cr_assert_eq(fix(f, len, len / 2, got), 0, "truncated to %u", len);
		cr_assert_arr_eq(got, f, len);
	}
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(breaks); i++) {
		memcpy(b, f, fr.len);
		b[(breaks[i].l4 ? fr.l4 : fr.l3) + breaks[i].at] = breaks[i].val;
		cr_assert_eq(fix(b, fr.len, 20, got), 0, "break %zu", i);
		cr_assert_arr_eq(got, b, fr.len);
	}
	memcpy(b, f, fr.len);
	put16(b + 16, 0x0806); /* ARP */
	cr_expect_eq(fix(b, fr.len, 0, got), 0);
	/* UDP lengths shorter than its header or longer than the datagram;
	 * the partial field is made to match the length claimed. */
	s = (struct fspec){.ipv = 6, .proto = 17, .payload = 20, .ck = CK_PARTIAL};
	fr = build(f, &s);
	for (uint32_t ulen = 0; ulen < 40; ulen += 7) {
		memcpy(b, f, fr.len);
		put16(b + fr.l4 + 4, (uint16_t)(ulen == 35 ? fr.l4_len + 1 : ulen));
		put16(b + fr.l4 + 6, ref_fold(ref_pseudo(b, fr.l3, 6, 17, get16(b + fr.l4 + 4))));
		cr_assert_eq(fix(b, fr.len, 0, got), ulen >= 8 && ulen != 35, "UDP length %u", ulen);
	}
	for (int n = 0; n < 2000; n++) {
		uint32_t len = rnd_byte(&st) + 1u;

		for (uint32_t i = 0; i < len; i++)
			b[i] = rnd_byte(&st);
		cr_assert_eq(fix(b, len, rnd_byte(&st), got), 0, "garbage %d", n);
		cr_assert_arr_eq(got, b, len);
	}
}

Test(offload, fix_partial_sums_the_datagram_not_ethernet_padding)
{
	for (int proto = 6; proto <= 17; proto += 11) {
		struct fspec s = {.ipv = 4, .proto = proto, .payload = 5, .pad = 13, .ck = CK_PARTIAL};
		uint8_t f[200], got[200];
		struct frame fr = build(f, &s);
		struct ref_hdrs r;

		cr_assert_eq(fix(f, fr.len, 30, got), 1);
		ref_parse(got, fr.len, &r);
		cr_expect(ref_l4_ok(got, &r), "proto %d", proto);
		cr_expect_arr_eq(got + fr.len - 13, f + fr.len - 13, 13, "padding untouched");
	}
}

Test(offload, fix_partial_follows_metadata_and_refuses_shared_bytes)
{
	struct fspec s = {.ipv = 6, .proto = 6, .payload = 30, .ck = CK_PARTIAL};
	uint8_t f[200], got[200];
	struct frame fr = build(f, &s);
	struct weir_pkt *p = mkchain(pool, f, fr.len, NULL, 0), *c;
	int err;

	err = weir_pkt_clone(p, pool, &c);
	cr_assert_eq(err, 0);
	cr_expect_eq(weir_pkt_csum_fix_partial(c), -EPERM);
	flat(p, got, sizeof(got));
	cr_expect_arr_eq(got, f, fr.len);
	weir_pkt_free(c);
	p->ol_flags = WEIR_PKT_OL_CSUM_VALID;
	cr_expect_eq(weir_pkt_csum_fix_partial(p), 0, "verified: not looked at");
	p->ol_flags = WEIR_PKT_OL_CSUM_PARTIAL;
	p->csum_start = (uint16_t)fr.l4;
	p->csum_offset = 16;
	cr_expect_eq(weir_pkt_csum_fix_partial(p), 1, "metadata says partial");
	flat(p, got, sizeof(got));
	s.ck = CK_VALID;
	build(f, &s);
	cr_expect_arr_eq(got, f, fr.len);
	p->ol_flags = WEIR_PKT_OL_CSUM_PARTIAL;
	p->csum_offset = 0xffff;
	cr_expect_eq(weir_pkt_csum_fix_partial(p), 0, "bad metadata is no error");
	weir_pkt_free(p);
}

/* --- offload_parse ------------------------------------------------------- */

Test(offload, parse_fills_header_lengths)
{
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(matrix); i++) {
		uint8_t f[400];
		struct frame fr = build(f, &matrix[i]);
		uint32_t cut = fr.l4 + 3;
		struct weir_pkt *p = mkchain(pool, f, fr.len, &cut, 1);

		p->hdr_len = 0;
		cr_assert_eq(weir_pkt_offload_parse(p), 0, "frame %zu", i);
		cr_expect_eq(p->l2_len, fr.l3);
		cr_expect_eq(p->l3_len, fr.l4 - fr.l3);
		cr_expect_eq(p->l4_proto, matrix[i].proto);
		cr_expect_eq(p->hdr_len, 0, "not GSO: hdr_len untouched");
		p->gso_type = matrix[i].proto == 17 ? WEIR_PKT_GSO_UDP_L4
			      : matrix[i].ipv == 4  ? WEIR_PKT_GSO_TCPV4 | WEIR_PKT_GSO_ECN
						    : WEIR_PKT_GSO_TCPV6;
		cr_assert_eq(weir_pkt_offload_parse(p), 0);
		cr_expect_eq(p->hdr_len, fr.hdr_len, "frame %zu", i);
		weir_pkt_free(p);
	}
}

struct meta {
	uint16_t l2_len, l3_len;
	uint8_t l4_proto;
};

static int parse_bytes(const uint8_t *f, uint32_t len, uint8_t gso_type, struct meta *m)
{
	struct weir_pkt *p = mkchain(pool, f, len, NULL, 0);
	int r;

	p->gso_type = gso_type;
	r = weir_pkt_offload_parse(p);
	*m = (struct meta){p->l2_len, p->l3_len, p->l4_proto};
	weir_pkt_free(p);
	return r;
}

Test(offload, parse_refuses_what_it_cannot_read)
{
	struct fspec s4 = {.ipv = 4, .proto = 6, .payload = 10};
	struct fspec s6 = {.ipv = 6, .proto = 17, .ip_opts = 8, .payload = 10};
	uint8_t f[200], b[200];
	struct frame fr = build(f, &s4);
	struct meta m;

	for (uint32_t len = 0; len < fr.hdr_len; len++)
		cr_assert_eq(parse_bytes(f, len, 0, &m), -EINVAL, "truncated to %u", len);
	cr_expect_eq(parse_bytes(f, fr.len, WEIR_PKT_GSO_TCPV6, &m), -EINVAL, "v4 is not TCPV6");
	cr_expect_eq(parse_bytes(f, fr.len, WEIR_PKT_GSO_UDP_L4, &m), -EINVAL, "TCP is not UDP");
	cr_expect_eq(parse_bytes(f, fr.len, WEIR_PKT_GSO_UDP, &m), -EPROTONOSUPPORT, "UFO");
	cr_expect_eq(parse_bytes(f, fr.len, 2, &m), -EINVAL, "no such GSO type");
	cr_expect_eq(m.l2_len, 0, "metadata unchanged on error");
	memcpy(b, f, fr.len);
	put16(b + 12, 0x0806);
	cr_expect_eq(parse_bytes(b, fr.len, 0, &m), -EPROTONOSUPPORT, "ARP");
	memcpy(b, f, fr.len);
	put16(b + fr.l3 + 6, 0x2000);
	cr_expect_eq(parse_bytes(b, fr.len, 0, &m), -EPROTONOSUPPORT, "first fragment");
	memcpy(b, f, fr.len);
	b[fr.l3 + 9] = 1;
	cr_expect_eq(parse_bytes(b, fr.len, 0, &m), 0, "ICMP is fine");
	cr_expect_eq(m.l4_proto, 1);
	fr = build(f, &s6);
	cr_expect_eq(parse_bytes(f, fr.len, 0, &m), 0);
	cr_expect_eq(m.l3_len, 48, "destination options skipped");
	f[fr.l3 + 6] = 43;
	cr_expect_eq(parse_bytes(f, fr.len, 0, &m), -EPROTONOSUPPORT, "routing header");
	f[fr.l3 + 6] = 60;
	f[fr.l3 + 41] = 200;
	cr_expect_eq(parse_bytes(f, fr.len, 0, &m), -EPROTONOSUPPORT, "1.6 KiB of options");
	f[fr.l3 + 41] = 10;
	cr_expect_eq(parse_bytes(f, fr.len, 0, &m), -EINVAL, "options past the end");
}
