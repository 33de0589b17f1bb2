// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for software GRO (src/gro.c) against frames built by hand
 * (offload_helpers.h): trains of TCPv4 and TCPv6 segments (timestamps,
 * VLAN tags) coalesce into one super-frame whose metadata says what Linux's
 * would, and weir_gso_segment() of it gives back the frames that went in,
 * byte for byte. Then each of Linux's tcp_gro_receive() rules on its own:
 * out of order, a gap, flags, options, IP id, TTL, TOS, hop limit and flow
 * label, ACK number, window, a segment longer than the first, a short one,
 * PSH/FIN ending a train, CWR only first, 64 KiB, bad checksums (verified
 * in software, left alone), padding, pure ACKs, interleaved flows, frames
 * that are not TCP.
 *
 * fini fails if any packet buffer is still out.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "offload_helpers.h"

#define MSS 1448
#define NMAX 64
#define FMAX 2048

static struct weir_pool *pool;
/* The frames of the current train, as built. */
static uint8_t frames[NMAX][FMAX];
static uint32_t lens[NMAX];

static void init(void)
{
	int err = weir_pool_create(&(struct weir_pool_conf){.name = "gro", .n = 1024, .huge = 2},
				   &pool);

	cr_assert(!err && pool, "pool: %d", err);
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

TestSuite(gro, .init = init, .fini = fini, .timeout = 60);

#define TCP4 {.ipv = 4, .proto = 6, .tcp_opts = 12, .payload = MSS, .id = 0xfffe, \
	      .seq = 0xfffff000u, .ck = CK_VALID}
#define TCP6 {.ipv = 6, .proto = 6, .vlans = 1, .tcp_opts = 12, .payload = MSS, \
	      .seq = 1000, .ck = CK_VALID}

/* Recomputes the IPv4 header and TCP checksums of frame i after an edit. */
static void refix(int i)
{
	struct ref_hdrs r = {0};
	uint8_t *f = frames[i];

	cr_assert(ref_parse(f, lens[i], &r));
	if (r.ipv == 4) {
		put16(f + r.l3 + 10, 0);
		put16(f + r.l3 + 10, (uint16_t)~ref_fold(ref_sum(0, f + r.l3, r.l4 - r.l3)));
	}
	put16(f + r.l4 + 16, 0);
	put16(f + r.l4 + 16, (uint16_t)~ref_fold(ref_sum(ref_pseudo(f, r.l3, r.ipv, 6, r.l4_len),
							   f + r.l4, r.l4_len)));
}

/* Frame i of a train: s with the sequence number, id and payload pattern
 * of the i-th segment after `first` (payload bytes of the segments
 * before). */
static void mkframe(int i, const struct fspec *s, uint32_t before)
{
	struct fspec x = *s;

	x.seq = s->seq + before;
	x.id = (uint16_t)(s->id + i);
	x.seed = (uint8_t)(s->seed + i);
	lens[i] = build(frames[i], &x).len;
}

/* n frames of spec s, each of MSS payload bytes. */
static void train(int n, const struct fspec *s)
{
	for (int i = 0; i < n; i++)
		mkframe(i, s, (uint32_t)i * s->payload);
}

static int tcp_off(int i)
{
	struct ref_hdrs r = {0};

	cr_assert(ref_parse(frames[i], lens[i], &r));
	return (int)r.l4;
}

static int ip_off(int i)
{
	struct ref_hdrs r = {0};

	cr_assert(ref_parse(frames[i], lens[i], &r));
	return (int)r.l3;
}

/* Packets of frames[0..n-1], with ol_flags ol. */
static void mkpkts(struct weir_pkt **p, int n, uint16_t ol)
{
	for (int i = 0; i < n; i++) {
		p[i] = mkchain(pool, frames[i], lens[i], NULL, 0);
		p[i]->ol_flags = ol;
	}
}

static uint16_t gro(struct weir_pkt **p, int n, struct weir_gro_stats *st)
{
	memset(st, 0, sizeof(*st));
	return weir_gro_burst(p, (uint16_t)n, st);
}

/* p must be frames[from..to) unchanged, segmented back when it is a
 * super-frame. */
static void expect_frames(struct weir_pkt *p, int from, int to)
{
	struct weir_pkt *out[NMAX];
	uint8_t got[FMAX];
	int k = to - from;

	if (k > 1) {
		cr_assert(weir_pkt_is_gso(p), "frames %d..%d: one super-frame", from, to - 1);
		cr_assert_eq(p->nb_segs, k);
		cr_assert_eq(weir_gso_segment(p, pool, out, NMAX, 0), k);
	} else {
		cr_assert_not(weir_pkt_is_gso(p), "frame %d passes as it is", from);
		out[0] = p;
	}
	for (int i = 0; i < k; i++) {
		uint32_t len = flat(out[i], got, sizeof(got));

		cr_assert_eq(len, lens[from + i], "frame %d: %u bytes, want %u", from + i, len,
			     lens[from + i]);
		cr_assert_arr_eq(got, frames[from + i], len, "frame %d byte-exact", from + i);
		weir_pkt_free(out[i]);
	}
}

/* The burst of frames[0..n-1] (ol_flags ol) must come out as the runs
 * ends[]: frames [0, ends[0]), [ends[0], ends[1]), ... */
static void expect_runs(int n, uint16_t ol, const int *ends, int nruns)
{
	struct weir_pkt *p[NMAX];
	struct weir_gro_stats st;
	int from = 0;

	mkpkts(p, n, ol);
	cr_assert_eq(gro(p, n, &st), nruns, "%d frames: %d runs expected", n, nruns);
	for (int r = 0; r < nruns; r++) {
		expect_frames(p[r], from, ends[r]);
		from = ends[r];
	}
}

#define RUNS(n, ol, ...)                                                          \
	do {                                                                      \
		const int e_[] = {__VA_ARGS__};                                   \
		expect_runs(n, ol, e_, (int)WEIR_ARRAY_SIZE(e_));                  \
	} while (0)

Test(gro, ipv4_train_becomes_one_super_frame)
{
	struct fspec s = TCP4;
	struct weir_pkt *p[NMAX];
	struct weir_gro_stats st;
	uint8_t hdr[128];

	train(8, &s);
	frames[7][tcp_off(7) + 13] |= 0x08; /* PSH on the last */
	refix(7);
	mkpkts(p, 8, WEIR_PKT_OL_RX_TSTAMP);
	cr_assert_eq(gro(p, 8, &st), 1);
	cr_assert_eq(st.frames, 1);
	cr_assert_eq(st.segs, 8);
	cr_assert_eq(st.csum_verified, 8, "nobody said they were good: summed");
	cr_assert_eq(p[0]->gso_type, WEIR_PKT_GSO_TCPV4);
	cr_assert_eq(p[0]->gso_size, MSS);
	cr_assert_eq(p[0]->pkt_len, lens[0] + 7 * MSS);
	cr_assert_eq(p[0]->hdr_len, 14 + 20 + 32);
	cr_assert_eq(p[0]->ol_flags & (WEIR_PKT_OL_CSUM_PARTIAL | WEIR_PKT_OL_CSUM_VALID),
		     WEIR_PKT_OL_CSUM_PARTIAL);
	cr_assert_eq(p[0]->csum_start, 34);
	cr_assert_eq(p[0]->csum_offset, 16);
	cr_assert(p[0]->ol_flags & WEIR_PKT_OL_RX_TSTAMP);
	cr_assert_eq(weir_pkt_copy_out(p[0], 0, 66, hdr), 0);
	cr_assert_eq(get16(hdr + 14 + 2), 20 + 32 + 8 * MSS, "IPv4 total length");
	cr_assert_eq(ref_fold(ref_sum(0, hdr + 14, 20)), 0xffff, "IPv4 header checksum");
	cr_assert_eq(hdr[34 + 13], 0x18, "PSH of the last segment on the super-frame");
	cr_assert_eq(get16(hdr + 34 + 16), ref_fold(ref_pseudo(hdr, 14, 4, 6, 32 + 8 * MSS)),
		     "partial: the pseudo-header sum of the whole");
	expect_frames(p[0], 0, 8);
}

Test(gro, ipv6_vlan_train_round_trips)
{
	struct fspec s = TCP6;

	train(5, &s);
	RUNS(5, WEIR_PKT_OL_CSUM_VALID, 5);
}

Test(gro, partial_checksums_merge)
{
	struct fspec s = TCP4;
	struct weir_pkt *p[4];
	struct weir_gro_stats st;
	uint8_t got[FMAX * 4];

	s.ck = CK_PARTIAL;
	train(4, &s);
	mkpkts(p, 4, WEIR_PKT_OL_CSUM_PARTIAL);
	for (int i = 0; i < 4; i++) {
		p[i]->csum_start = 34;
		p[i]->csum_offset = 16;
	}
	cr_assert_eq(gro(p, 4, &st), 1);
	cr_assert_eq(st.csum_verified, 0, "partial: nothing to verify");
	cr_assert_eq(weir_pkt_csum_complete(p[0]), 0);
	flat(p[0], got, sizeof(got));
	cr_assert_eq(ref_fold(ref_sum(ref_pseudo(got, 14, 4, 6, 32 + 4 * MSS), got + 34,
				      32 + 4 * MSS)),
		     0xffff, "completed checksum of the super-frame is valid");
	weir_pkt_free(p[0]);
}

Test(gro, out_of_order_and_gap_do_not_merge)
{
	struct fspec s = TCP4;

	mkframe(0, &s, 0);
	mkframe(1, &s, 2 * MSS);
	mkframe(2, &s, MSS);
	/* ids 0xfffe, 0xffff, 0: seq decides first */
	RUNS(3, WEIR_PKT_OL_CSUM_VALID, 1, 2, 3);
	mkframe(0, &s, 0);
	mkframe(1, &s, MSS + 1);
	RUNS(2, WEIR_PKT_OL_CSUM_VALID, 1, 2);
}

/* Frame 1 of a 3-frame train changed by edit(): must not merge into 0. */
static void differs(void (*edit)(int), int want_last_run)
{
	struct fspec s = TCP4;

	train(3, &s);
	edit(1);
	edit(2);
	refix(1);
	refix(2);
	if (want_last_run)
		RUNS(3, WEIR_PKT_OL_CSUM_VALID, 1, 3);
	else
		RUNS(3, WEIR_PKT_OL_CSUM_VALID, 1, 2, 3);
}

static void ece(int i) { frames[i][tcp_off(i) + 13] |= 0x40; }
static void tsval(int i) { frames[i][tcp_off(i) + 26]++; }
static void ttl(int i) { frames[i][ip_off(i) + 8]--; }
static void tos(int i) { frames[i][ip_off(i) + 1] = 0x03; }
static void ack(int i) { frames[i][tcp_off(i) + 11]++; }
static void window(int i) { frames[i][tcp_off(i) + 15]++; }
static void df(int i) { frames[i][ip_off(i) + 6] &= 0xbf; }

Test(gro, any_other_header_difference_splits)
{
	/* Frames 1 and 2 carry the same change: they merge with each other. */
	differs(ece, 1);
	differs(tsval, 1);
	differs(ttl, 1);
	differs(tos, 1);
	differs(ack, 1);
	differs(window, 1);
	differs(df, 1);
}

static void id_fixed(int i) { put16(frames[i] + ip_off(i) + 4, 0xfffe); }

Test(gro, ipv4_id_must_count_up)
{
	differs(id_fixed, 0); /* 2 has 1's id too: no run at all */
}

static void hop(int i) { frames[i][ip_off(i) + 7]--; }
static void flowlabel(int i) { frames[i][ip_off(i) + 3] = (uint8_t)(i + 1); }

Test(gro, ipv6_first_word_and_hop_limit)
{
	struct fspec s = TCP6;

	train(2, &s);
	hop(1);
	refix(1);
	RUNS(2, WEIR_PKT_OL_CSUM_VALID, 1, 2);
	train(2, &s);
	flowlabel(1);
	refix(1);
	RUNS(2, WEIR_PKT_OL_CSUM_VALID, 1, 2);
}

Test(gro, options_other_than_timestamps_differing_split)
{
	struct fspec s = TCP4, t = TCP4;

	t.tcp_opts = 4; /* NOPs only: another header length */
	mkframe(0, &s, 0);
	mkframe(1, &t, MSS);
	RUNS(2, WEIR_PKT_OL_CSUM_VALID, 1, 2);
}

Test(gro, psh_and_fin_end_a_train_cwr_only_starts_one)
{
	struct fspec s = TCP4;

	train(4, &s);
	frames[1][tcp_off(1) + 13] |= 0x08;
	refix(1);
	RUNS(4, WEIR_PKT_OL_CSUM_VALID, 2, 4);
	train(3, &s);
	frames[1][tcp_off(1) + 13] |= 0x01;
	refix(1);
	RUNS(3, WEIR_PKT_OL_CSUM_VALID, 2, 3);
	train(3, &s);
	frames[0][tcp_off(0) + 13] |= 0x08; /* a PSH head: nothing may follow */
	refix(0);
	RUNS(3, WEIR_PKT_OL_CSUM_VALID, 1, 3);
	train(3, &s);
	frames[1][tcp_off(1) + 13] |= 0x80; /* CWR second: a new train */
	refix(1);
	RUNS(3, WEIR_PKT_OL_CSUM_VALID, 1, 3);
}

Test(gro, cwr_first_sets_the_ecn_bit)
{
	struct fspec s = TCP4;
	struct weir_pkt *p[3];
	struct weir_gro_stats st;

	train(3, &s);
	frames[0][tcp_off(0) + 13] |= 0x80;
	refix(0);
	mkpkts(p, 3, WEIR_PKT_OL_CSUM_VALID);
	cr_assert_eq(gro(p, 3, &st), 1);
	cr_assert_eq(p[0]->gso_type, WEIR_PKT_GSO_TCPV4 | WEIR_PKT_GSO_ECN);
	expect_frames(p[0], 0, 3);
}

Test(gro, syn_rst_urg_and_pure_acks_never_merge)
{
	struct fspec s = TCP4;
	const uint8_t bad[] = {0x02 | 0x10, 0x04 | 0x10, 0x20 | 0x10};

	for (unsigned b = 0; b < WEIR_ARRAY_SIZE(bad); b++) {
		train(3, &s);
		for (int i = 0; i < 3; i++) {
			frames[i][tcp_off(i) + 13] = bad[b];
			refix(i);
		}
		RUNS(3, WEIR_PKT_OL_CSUM_VALID, 1, 2, 3);
	}
	/* A pure ACK between two segments of its flow ends the first run. */
	mkframe(0, &s, 0);
	s.payload = 0;
	mkframe(1, &s, MSS);
	s.payload = MSS;
	mkframe(2, &s, MSS);
	RUNS(3, WEIR_PKT_OL_CSUM_VALID, 1, 2, 3);
}

Test(gro, short_segment_ends_a_train_longer_one_never_follows)
{
	struct fspec s = TCP4, small = TCP4;

	small.payload = 1000;
	mkframe(0, &s, 0);
	mkframe(1, &small, MSS);
	mkframe(2, &s, MSS + 1000);
	RUNS(3, WEIR_PKT_OL_CSUM_VALID, 2, 3);
	mkframe(0, &small, 0);
	mkframe(1, &s, 1000);
	RUNS(2, WEIR_PKT_OL_CSUM_VALID, 1, 2);
}

Test(gro, at_most_64k)
{
	struct fspec s = TCP4;
	/* 20 + 32 + 45 * 1448 = 65212 <= 65535; one more is 66660 */
	train(50, &s);
	RUNS(50, WEIR_PKT_OL_CSUM_VALID, 45, 50);
}

Test(gro, bad_checksum_is_verified_and_left_alone)
{
	struct fspec s = TCP4;
	struct weir_pkt *p[4];
	struct weir_gro_stats st;

	train(4, &s);
	frames[2][tcp_off(2) + 40] ^= 0x55; /* corrupt the payload */
	mkpkts(p, 4, 0);
	cr_assert_eq(gro(p, 4, &st), 3);
	cr_assert_eq(st.csum_bad, 1);
	cr_assert_eq(st.frames, 1);
	expect_frames(p[0], 0, 2);
	expect_frames(p[1], 2, 3);
	expect_frames(p[2], 3, 4);
}

Test(gro, padded_and_non_tcp_frames_pass)
{
	struct fspec s = TCP4, u = {.ipv = 4, .proto = 17, .payload = 100, .ck = CK_VALID};

	s.pad = 4;
	train(2, &s);
	RUNS(2, WEIR_PKT_OL_CSUM_VALID, 1, 2);
	s.pad = 0;
	mkframe(0, &u, 0);
	mkframe(1, &u, 100);
	RUNS(2, WEIR_PKT_OL_CSUM_VALID, 1, 2);
}

Test(gro, interleaved_flows_each_coalesce)
{
	struct fspec a = TCP4, b = TCP4;
	struct weir_pkt *p[8];
	struct weir_gro_stats st;
	uint8_t got[FMAX];

	b.saddr_lo = 7;
	for (int i = 0; i < 4; i++) {
		mkframe(2 * i, &a, (uint32_t)i * MSS);
		put16(frames[2 * i] + 18, (uint16_t)(a.id + i));
		refix(2 * i);
		mkframe(2 * i + 1, &b, (uint32_t)i * MSS);
		put16(frames[2 * i + 1] + 18, (uint16_t)(b.id + i));
		refix(2 * i + 1);
	}
	mkpkts(p, 8, WEIR_PKT_OL_CSUM_VALID);
	cr_assert_eq(gro(p, 8, &st), 2);
	cr_assert_eq(st.segs, 8);
	for (int f = 0; f < 2; f++) {
		struct weir_pkt *out[4];

		cr_assert_eq(weir_gso_segment(p[f], pool, out, 4, 0), 4);
		for (int i = 0; i < 4; i++) {
			flat(out[i], got, sizeof(got));
			cr_assert_arr_eq(got, frames[2 * i + f], lens[2 * i + f]);
			weir_pkt_free(out[i]);
		}
	}
}

Test(gro, super_frames_pass_and_end_only_their_own_flow)
{
	struct fspec a = TCP4, b = TCP4;
	struct weir_pkt *p[4], *sa, *sb;
	struct weir_gro_stats st;

	b.saddr_lo = 9;
	train(4, &a);
	mkframe(3, &b, 0); /* frame 3 is flow b's */
	mkpkts(p, 4, WEIR_PKT_OL_CSUM_VALID);
	/* 0, 1 of a; then b's super-frame; then 2 of a: merges on */
	sb = p[3];
	sb->gso_type = WEIR_PKT_GSO_TCPV4;
	sb->gso_size = MSS / 2;
	p[3] = p[2];
	p[2] = sb;
	cr_assert_eq(gro(p, 4, &st), 2);
	cr_assert_eq(st.segs, 3);
	cr_assert_eq(p[1], sb, "b's super-frame passes as it is");
	cr_assert_eq(sb->gso_size, MSS / 2);
	weir_pkt_free(sb);
	expect_frames(p[0], 0, 3);
	/* a's own super-frame between its segments ends the run */
	train(4, &a);
	mkpkts(p, 4, WEIR_PKT_OL_CSUM_VALID);
	sa = p[2];
	sa->gso_type = WEIR_PKT_GSO_TCPV4;
	sa->gso_size = MSS / 2;
	cr_assert_eq(gro(p, 4, &st), 3);
	cr_assert_eq(p[1], sa);
	cr_assert_eq(p[2]->nb_segs, 1, "frame 3 starts afresh, alone");
	sa->gso_type = WEIR_PKT_GSO_NONE;
	expect_frames(p[0], 0, 2);
	expect_frames(p[1], 2, 3);
	expect_frames(p[2], 3, 4);
}

static void urg_ptr(int i) { frames[i][tcp_off(i) + 19] = 4; }
static void evil_bit(int i) { frames[i][ip_off(i) + 6] |= 0x80; }

/* Found by fuzz_gro: fields Linux's GRO ignores but segmenting overwrites
 * with the first segment's, so the frames would not come back as sent. */
Test(gro, regression_urgent_pointer_and_reserved_ip_flag_split)
{
	differs(urg_ptr, 1);
	differs(evil_bit, 1);
}
