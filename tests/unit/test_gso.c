// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for software GSO (src/gso.c): TCPv4, TCPv6 and UDP_L4
 * super-frames of 64000 payload bytes (gso_size 1448, TCP timestamps,
 * FIN+PSH+CWR, IP options, IPv6 destination options, VLAN tags), as one
 * 64 KiB buffer and as chains cut inside the headers, segmented with full
 * and with partial checksums. Every segment is re-parsed by the reference
 * parser of offload_helpers.h: IPv4 header checksum, L4 checksum, lengths,
 * ids, sequence numbers, flags, and the payload put back together must be
 * the original. Then the refusals: each leaves the super-frame as it was
 * and allocates nothing, down to an exhausted pool.
 *
 * fini fails if any packet buffer is still out.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>

#include "offload_helpers.h"

#define PAYLOAD 64000
#define MSS 1448
#define NSEG ((PAYLOAD + MSS - 1) / MSS)
#define FRAME_MAX (PAYLOAD + 256)

static struct weir_pool *pool, *big, *tiny;
static uint8_t frame[FRAME_MAX], got[FRAME_MAX], payload[PAYLOAD];

static void init(void)
{
	int err;

	err = weir_pool_create(&(struct weir_pool_conf){.name = "gso", .n = 512, .huge = 2}, &pool);
	if (!err)
		err = weir_pool_create(&(struct weir_pool_conf){.name = "gso-big", .n = 4,
								.buf_size = 65536, .huge = 2},
				       &big);
	if (!err)
		err = weir_pool_create(&(struct weir_pool_conf){.name = "gso-tiny", .n = 16,
								.cache_size = UINT32_MAX, .huge = 2},
				       &tiny);
	cr_assert(!err && pool && big && tiny, "pools: %d", err);
}

static void fini(void)
{
	uint32_t n = weir_pool_in_use(pool) + weir_pool_in_use(big) + weir_pool_in_use(tiny);

	weir_pool_destroy(pool);
	weir_pool_destroy(big);
	weir_pool_destroy(tiny);
	if (n) {
		cr_log_error("leaked %u packet buffers", n);
		abort();
	}
}

TestSuite(gso, .init = init, .fini = fini, .timeout = 60);

enum shape { ONE_BUFFER, CHAIN_CUT_IN_HEADERS };

struct gso_case {
	struct fspec spec;
	uint8_t gso_type;
	enum shape shape;
	unsigned flags;
};

#define TCP4 {.ipv = 4, .proto = 6, .tcp_opts = 12, .payload = PAYLOAD, .id = 0xfff0, \
	      .seq = 0xffff0000u, .tcp_flags = 0x10 | 0x08 | 0x01 | 0x80, .ck = CK_PARTIAL}
#define TCP4_OPTS {.ipv = 4, .proto = 6, .vlans = 2, .ip_opts = 12, .tcp_opts = 12, \
		   .payload = PAYLOAD, .id = 7, .seq = 1, .tcp_flags = 0x19, .ck = CK_VALID}
#define TCP6 {.ipv = 6, .proto = 6, .vlans = 1, .ip_opts = 8, .tcp_opts = 12, \
	      .payload = PAYLOAD, .seq = 12345, .tcp_flags = 0x19 | 0x80, .ck = CK_PARTIAL}
#define UDP4 {.ipv = 4, .proto = 17, .payload = PAYLOAD, .id = 100, .ck = CK_PARTIAL}
#define UDP6 {.ipv = 6, .proto = 17, .vlans = 2, .payload = PAYLOAD, .ck = CK_ZERO}

static const struct gso_case cases[] = {
	{TCP4, WEIR_PKT_GSO_TCPV4 | WEIR_PKT_GSO_ECN, ONE_BUFFER, 0},
	{TCP4, WEIR_PKT_GSO_TCPV4, CHAIN_CUT_IN_HEADERS, WEIR_GSO_CSUM_PARTIAL},
	{TCP4_OPTS, WEIR_PKT_GSO_TCPV4, CHAIN_CUT_IN_HEADERS, 0},
	{TCP6, WEIR_PKT_GSO_TCPV6, ONE_BUFFER, WEIR_GSO_CSUM_PARTIAL},
	{TCP6, WEIR_PKT_GSO_TCPV6, CHAIN_CUT_IN_HEADERS, 0},
	{UDP4, WEIR_PKT_GSO_UDP_L4, ONE_BUFFER, 0},
	{UDP4, WEIR_PKT_GSO_UDP_L4, CHAIN_CUT_IN_HEADERS, WEIR_GSO_CSUM_PARTIAL},
	{UDP6, WEIR_PKT_GSO_UDP_L4, CHAIN_CUT_IN_HEADERS, 0},
};

/* The super-frame: one 64 KiB buffer, or 2 KiB buffers of uneven sizes
 * whose first cuts fall inside the Ethernet, IP and L4 headers. */
static struct weir_pkt *mksuper(const struct gso_case *c, struct frame *fr)
{
	uint32_t cuts[64], n = 0;
	struct weir_pkt *p;

	*fr = build(frame, &c->spec);
	if (c->shape == ONE_BUFFER) {
		p = mkchain(big, frame, fr->len, NULL, 0);
	} else {
		cuts[n++] = 7;
		cuts[n++] = fr->l3 + 3;
		cuts[n++] = fr->l4 + 5;
		cuts[n++] = fr->hdr_len + 1;
		for (uint32_t at = fr->hdr_len + 1; n < WEIR_ARRAY_SIZE(cuts) && at < fr->len; n++)
			cuts[n] = at += 1000 + (n * 331) % 900;
		p = mkchain(pool, frame, fr->len, cuts, (int)n);
	}
	p->gso_type = c->gso_type;
	p->gso_size = MSS;
	p->port = 3;
	p->queue = 1;
	p->hash = 0xabcd;
	p->timestamp = 123456789;
	p->priority = 5;
	p->ol_flags = WEIR_PKT_OL_RX_TSTAMP |
		      (c->spec.ck == CK_PARTIAL ? WEIR_PKT_OL_CSUM_PARTIAL : 0);
	return p;
}

/* One segment against the super-frame it came from. */
static void check_segment(const struct gso_case *c, const struct frame *fr, struct weir_pkt *s,
			  uint32_t i, uint32_t *pos)
{
	const struct fspec *sp = &c->spec;
	uint32_t n = WEIR_MIN((uint32_t)MSS, PAYLOAD - i * MSS), len;
	bool last = i + 1 == NSEG;
	struct ref_hdrs r;

	cr_assert_eq(s->nb_segs, 1);
	cr_assert_null(s->next);
	len = flat(s, got, sizeof(got));
	cr_assert_eq(len, fr->hdr_len + n, "segment %u: %u bytes", i, len);
	cr_assert(ref_parse(got, len, &r), "segment %u parses", i);
	cr_assert_eq(r.l4_len, r.l4_hlen + n, "segment %u: IP length", i);
	cr_assert(ref_ipv4_ok(got, &r), "segment %u: IPv4 header checksum", i);
	cr_assert_arr_eq(got, frame, fr->l3, "L2 and VLAN tags kept");
	if (sp->ipv == 4)
		cr_assert_eq(get16(got + r.l3 + 4), (uint16_t)(sp->id + i), "segment %u: id", i);
	if (sp->proto == 6) {
		uint8_t fl = got[r.l4 + 13], want = sp->tcp_flags;

		cr_assert_eq(get32(got + r.l4 + 4), sp->seq + i * MSS, "segment %u: seq", i);
		if (!last)
			want &= (uint8_t)~(0x01 | 0x08); /* FIN, PSH */
		if (i > 0)
			want &= (uint8_t)~0x80; /* CWR */
		cr_assert_eq(fl, want, "segment %u: flags %02x, want %02x", i, fl, want);
		cr_assert_arr_eq(got + r.l4 + 20, frame + fr->l4 + 20, r.l4_hlen - 20,
				 "TCP options kept");
	} else {
		cr_assert_eq(get16(got + r.l4 + 4), 8 + n, "segment %u: UDP length", i);
	}
	if (c->flags & WEIR_GSO_CSUM_PARTIAL) {
		cr_assert_eq(s->ol_flags & (WEIR_PKT_OL_CSUM_PARTIAL | WEIR_PKT_OL_CSUM_VALID),
			     WEIR_PKT_OL_CSUM_PARTIAL);
		cr_assert_eq(s->csum_start, r.l4);
		cr_assert_eq(s->csum_offset, sp->proto == 6 ? 16 : 6);
		cr_assert_eq(ref_field(got, &r),
			     ref_fold(ref_pseudo(got, r.l3, r.ipv, r.proto, r.l4_len)),
			     "segment %u: partial field holds the pseudo-header sum", i);
		cr_assert_eq(weir_pkt_csum_complete(s), 0);
		flat(s, got, sizeof(got));
	} else {
		cr_assert_eq(s->ol_flags & (WEIR_PKT_OL_CSUM_PARTIAL | WEIR_PKT_OL_CSUM_VALID),
			     WEIR_PKT_OL_CSUM_VALID);
	}
	cr_assert(ref_l4_ok(got, &r), "segment %u: L4 checksum", i);
	cr_assert(s->ol_flags & WEIR_PKT_OL_RX_TSTAMP);
	cr_assert_eq(s->port, 3);
	cr_assert_eq(s->queue, 1);
	cr_assert_eq(s->hash, 0xabcd);
	cr_assert_eq(s->timestamp, 123456789);
	cr_assert_eq(s->priority, 5);
	cr_assert_eq(s->gso_type, WEIR_PKT_GSO_NONE);
	cr_assert_eq(s->l2_len, r.l3);
	cr_assert_eq(s->l3_len, r.l4 - r.l3);
	cr_assert_eq(s->l4_proto, sp->proto);
	memcpy(payload + *pos, got + r.l4 + r.l4_hlen, n);
	*pos += n;
}

ParameterizedTestParameters(gso, segments_super_frames)
{
	return cr_make_param_array(struct gso_case, cases, WEIR_ARRAY_SIZE(cases));
}

ParameterizedTest(const struct gso_case *c, gso, segments_super_frames)
{
	struct weir_pkt *out[64];
	struct frame fr;
	struct weir_pkt *p = mksuper(c, &fr);
	uint32_t pos = 0, wire = 0, before = weir_pool_in_use(pool);
	uint32_t chain = c->shape == ONE_BUFFER ? 0 : p->nb_segs;
	uint16_t want = weir_gso_nb_segs(p);
	uint32_t want_len = weir_gso_wire_len(p);
	int n;

	cr_assert_eq(want, NSEG);
	n = weir_gso_segment(p, pool, out, WEIR_ARRAY_SIZE(out), c->flags);
	cr_assert_eq(n, NSEG, "got %d", n);
	cr_assert_eq(weir_pool_in_use(big), 0, "super-frame consumed");
	cr_assert_eq(weir_pool_in_use(pool), before - chain + NSEG, "super-frame consumed");
	for (int i = 0; i < n; i++) {
		wire += out[i]->pkt_len;
		check_segment(c, &fr, out[i], (uint32_t)i, &pos);
	}
	cr_assert_eq(pos, PAYLOAD);
	cr_assert_eq(wire, want_len, "wire_len %u, segments %u", want_len, wire);
	cr_assert_arr_eq(payload, frame + fr.hdr_len, PAYLOAD, "payload put back together");
	weir_pkt_free_bulk(out, (uint32_t)n);
}

/* A small super-frame in one buffer. */
static struct weir_pkt *mksmall(uint32_t payload_len, uint16_t gso_size, struct frame *fr)
{
	struct fspec s = {.ipv = 4, .proto = 6, .payload = payload_len, .tcp_flags = 0x19};
	struct weir_pkt *p;

	*fr = build(frame, &s);
	p = mkchain(big, frame, fr->len, NULL, 0);
	p->gso_type = WEIR_PKT_GSO_TCPV4;
	p->gso_size = gso_size;
	return p;
}

Test(gso, counts_exact_multiples_and_short_tails)
{
	static const struct { uint32_t payload; uint16_t mss; int n; } t[] = {
		{1000, 1000, 1}, {999, 1000, 1}, {2000, 1000, 2}, {2001, 1000, 3}, {1, 1, 1}, {7, 1, 7},
	};
	struct weir_pkt *out[8];
	struct frame fr;

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(t); i++) {
		struct weir_pkt *p = mksmall(t[i].payload, t[i].mss, &fr);
		struct ref_hdrs r;

		cr_assert_eq(weir_gso_nb_segs(p), t[i].n, "case %zu", i);
		cr_assert_eq(weir_gso_wire_len(p), t[i].payload + (uint32_t)t[i].n * fr.hdr_len);
		cr_assert_eq(weir_gso_segment(p, pool, out, 8, 0), t[i].n, "case %zu", i);
		flat(out[t[i].n - 1], got, sizeof(got));
		cr_assert(ref_parse(got, out[t[i].n - 1]->pkt_len, &r));
		cr_assert(ref_l4_ok(got, &r));
		cr_assert_eq(got[r.l4 + 13], 0x19, "the last segment keeps FIN and PSH");
		weir_pkt_free_bulk(out, (uint32_t)t[i].n);
	}
}

Test(gso, passes_plain_packets_through)
{
	struct frame fr;
	struct weir_pkt *p = mksmall(100, 0, &fr), *out[1];

	p->gso_type = WEIR_PKT_GSO_NONE;
	cr_expect_eq(weir_gso_nb_segs(p), 1);
	cr_expect_eq(weir_gso_wire_len(p), fr.len);
	cr_expect_eq(weir_gso_segment(p, pool, out, 0, 0), -E2BIG, "no room for it");
	cr_assert_eq(weir_gso_segment(p, pool, out, 1, 0), 1);
	cr_expect_eq(out[0], p, "the same packet, not a copy");
	weir_pkt_free(p);
}

Test(gso, udp_segment_checksum_of_zero_is_sent_as_ffff)
{
	struct fspec sp = {.ipv = 4, .proto = 17, .payload = 2 * 100};
	struct weir_pkt *p, *out[2];
	struct frame fr = build(frame, &sp);
	struct ref_hdrs r;
	uint8_t seg[300];
	uint16_t sum;

	/* Segment 0 as it will be: the headers with UDP length 108, then
	 * 100 payload bytes whose last word is steered to a sum of 0xffff. */
	memcpy(seg, frame, fr.hdr_len + 100);
	put16(seg + fr.l3 + 2, (uint16_t)(fr.hdr_len + 100 - fr.l3));
	put16(seg + fr.l4 + 4, 108);
	put16(seg + fr.l4 + 6, 0);
	put16(seg + fr.hdr_len + 98, 0);
	sum = ref_fold(ref_sum(ref_pseudo(seg, fr.l3, 4, 17, 108), seg + fr.l4, 108));
	put16(frame + fr.hdr_len + 98, (uint16_t)(0xffff - sum));
	p = mkchain(pool, frame, fr.len, NULL, 0);
	p->gso_type = WEIR_PKT_GSO_UDP_L4;
	p->gso_size = 100;
	cr_assert_eq(weir_gso_segment(p, pool, out, 2, 0), 2);
	flat(out[0], got, sizeof(got));
	cr_assert(ref_parse(got, out[0]->pkt_len, &r));
	cr_expect_eq(ref_field(got, &r), 0xffff, "0 means no checksum: RFC 768 sends 0xffff");
	cr_expect(ref_l4_ok(got, &r));
	weir_pkt_free_bulk(out, 2);
}

/* Runs a failing segmentation; p must come back as it was. */
static void expect_refused(struct weir_pkt *p, struct weir_pool *to, uint16_t max, int err,
			   const char *why)
{
	static uint8_t before[FRAME_MAX];
	struct weir_pkt *out[64];
	uint32_t len = flat(p, before, sizeof(before));
	uint32_t used = weir_pool_in_use(pool), used_to = weir_pool_in_use(to);
	uint16_t segs = p->nb_segs, ol = p->ol_flags;
	uint8_t type = p->gso_type;

	cr_assert_eq(weir_gso_segment(p, to, out, max, 0), err, "%s", why);
	cr_assert_eq(weir_pool_in_use(pool), used, "%s: nothing allocated", why);
	cr_assert_eq(weir_pool_in_use(to), used_to, "%s: nothing allocated", why);
	cr_assert_eq(p->pkt_len, len);
	cr_assert_eq(p->nb_segs, segs);
	cr_assert_eq(p->ol_flags, ol);
	cr_assert_eq(p->gso_type, type);
	cr_assert_eq(flat(p, got, sizeof(got)), len);
	cr_assert_arr_eq(got, before, len, "%s: super-frame changed", why);
}

Test(gso, refusals_leave_the_super_frame_intact)
{
	struct gso_case c = cases[1];
	struct frame fr;
	struct weir_pkt *p = mksuper(&c, &fr), *hold[16];

	expect_refused(p, pool, NSEG - 1, -E2BIG, "one segment too many");
	expect_refused(p, tiny, 64, -ENOBUFS, "pool of 16 for 45");
	/* Exhaustion with one buffer left. */
	cr_assert_eq(weir_pkt_alloc_bulk(tiny, hold, 16), 0);
	weir_pkt_free_bulk(hold, 1);
	expect_refused(p, tiny, 64, -ENOBUFS, "one buffer left");
	weir_pkt_free_bulk(hold + 1, 15);
	p->gso_size = 0;
	expect_refused(p, pool, 64, -EINVAL, "gso_size 0");
	p->gso_size = 1448;
	p->gso_type = WEIR_PKT_GSO_TCPV6;
	expect_refused(p, pool, 64, -EINVAL, "TCPV6 on an IPv4 frame");
	p->gso_type = WEIR_PKT_GSO_UDP_L4;
	expect_refused(p, pool, 64, -EINVAL, "UDP_L4 on a TCP frame");
	p->gso_type = WEIR_PKT_GSO_UDP;
	expect_refused(p, pool, 64, -EPROTONOSUPPORT, "UFO");
	p->gso_type = 0x42;
	expect_refused(p, pool, 64, -EINVAL, "no such type");
	p->gso_type = WEIR_PKT_GSO_TCPV4;
	p->gso_size = 4000;
	expect_refused(p, pool, 64, -EMSGSIZE, "segments larger than a 2 KiB buffer");
	cr_expect_eq(weir_gso_nb_segs(p), 16, "counting needs no buffer");
	weir_pkt_free(p);

	p = mksmall(0, 100, &fr);
	expect_refused(p, pool, 64, -EINVAL, "no payload");
	cr_expect_eq(weir_gso_nb_segs(p), 0);
	cr_expect_eq(weir_gso_wire_len(p), fr.len);
	weir_pkt_trim(p, (uint16_t)(fr.len - fr.hdr_len + 1));
	expect_refused(p, pool, 64, -EINVAL, "TCP header cut short");
	weir_pkt_free(p);
}
