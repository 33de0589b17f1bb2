// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for stack/ipv4.c's receive side and the reassembly path
 * through the stack: header validation (truncated, version, IHL < 5,
 * total length against the frame and the header, checksum), options
 * skipped, Ethernet padding cut, martian sources, datagrams not for us,
 * broadcasts accepted, unknown protocols (protocol unreachable), fragmented
 * UDP delivered whole, a fragment flood held to the budget, and the IP id
 * and TTL of what is sent.
 *
 * fini fails if any packet buffer is still out.
 */
#include "stack_helpers.h"

static void init(void)
{
	t_pool_init(4096);
}

static void fini(void)
{
	t_pool_fini();
}

TestSuite(stack_ipv4, .init = init, .fini = fini, .timeout = 60);

static uint8_t f[70000];

static struct weir_udp_sock *sock7(struct weir_stack *st)
{
	int err;
	struct weir_udp_sock *s = weir_udp_open(st, NULL, &err);

	cr_assert_not_null(s);
	cr_assert_eq(weir_udp_bind(s, 0, 7), 0);
	return s;
}

static uint16_t received(struct weir_udp_sock *s)
{
	struct weir_pkt *p[32];
	uint16_t n = weir_udp_recv_burst(s, p, NULL, 32);

	weir_pkt_free_bulk(p, n);
	return n;
}

/* A good UDP frame to us; the tests then break one thing. */
static size_t good(void)
{
	return t_udp_frame(f, IP_PEER, IP_US, 4444, 7, 40, 1);
}

static void refix_csum(void)
{
	put16(f + 14 + 10, 0);
	put16(f + 14 + 10, ref_csum(f + 14, (size_t)(f[14] & 0xf) * 4));
}

Test(stack_ipv4, header_problems_are_counted_by_reason)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock7(st);
	size_t len = good();

	t_in(st, f, 14 + 19, 0);
	cr_expect_eq(t_xstat(st, "ip_rx_short"), 1);
	good();
	f[14] = 0x65;
	refix_csum();
	t_in(st, f, len, 0);
	cr_expect_eq(t_xstat(st, "ip_rx_version"), 1);
	good();
	f[14] = 0x44;
	t_in(st, f, len, 0);
	cr_expect_eq(t_xstat(st, "ip_rx_ihl"), 1);
	good();
	put16(f + 16, (uint16_t)(len - 14 + 1)); /* one byte more than the frame */
	refix_csum();
	t_in(st, f, len, 0);
	good();
	put16(f + 16, 19); /* less than the header */
	refix_csum();
	t_in(st, f, len, 0);
	good();
	f[14] = 0x4f; /* a 60-byte header in a 40-byte datagram */
	put16(f + 16, 40);
	refix_csum();
	t_in(st, f, len, 0);
	cr_expect_eq(t_xstat(st, "ip_rx_bad_len"), 3);
	good();
	f[14 + 8] ^= 0x10; /* TTL changed, checksum not */
	t_in(st, f, len, 0);
	cr_expect_eq(t_xstat(st, "ip_rx_csum"), 1);
	cr_expect_eq(received(s), 0);
	t_in(st, f, good(), 0);
	cr_expect_eq(received(s), 1, "and a good one passes");
	cr_expect_eq(t_xstat(st, "ip_rx_packets"), 8);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_ipv4, options_are_skipped)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock7(st);
	struct weir_pkt *p;
	uint8_t *u;

	for (size_t opt = 4; opt <= 40; opt += 12) {
		size_t l2 = t_eth(f, mac_us, mac_peer, 0, 0x0800);
		size_t ihl = 20 + opt;

		u = f + l2 + ihl;
		for (int i = 0; i < 30; i++)
			u[8 + i] = pattern(2, (uint32_t)i);
		t_udp(u, IP_PEER, IP_US, 4444, 7, 30);
		t_ipv4(f + l2, IP_PEER, IP_US, 17, 1, 0, opt, 38);
		f[l2 + 20] = 0x83; /* loose source route: never followed */
		f[l2 + 21] = (uint8_t)opt;
		refix_csum();
		t_in(st, f, l2 + ihl + 38, 0);
		cr_assert_eq(weir_udp_recv_burst(s, &p, NULL, 1), 1, "IHL %zu", ihl / 4);
		cr_expect_eq(p->pkt_len, 30);
		cr_expect_eq(weir_pkt_data(p)[0], pattern(2, 0));
		weir_pkt_free(p);
	}
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_ipv4, martian_sources_are_dropped)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock7(st);
	const uint32_t bad[] = {IP(127, 0, 0, 1), IP(224, 1, 1, 1), IP(255, 255, 255, 255),
				IP(0, 0, 0, 0), IP(0, 1, 2, 3), IP(10, 0, 0, 255), IP_US};

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(bad); i++) {
		size_t len = t_udp_frame(f, bad[i], IP_US, 4444, 7, 10, 3);

		t_in(st, f, len, 0);
	}
	cr_expect_eq(t_xstat(st, "ip_rx_bad_saddr"), WEIR_ARRAY_SIZE(bad));
	cr_expect_eq(received(s), 0);
	cr_expect_eq(weir_stack_pending(st, 0), 0, "no ICMP to them");
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_ipv4, destinations_ours_and_broadcasts_only)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock7(st);
	const uint32_t ok[] = {IP_US, IP(10, 0, 0, 255), IP(255, 255, 255, 255), IP(224, 0, 0, 1)};

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(ok); i++)
		t_in(st, f, t_udp_frame(f, IP_PEER, ok[i], 4444, 7, 10, 3), 0);
	cr_expect_eq(received(s), 4);
	t_in(st, f, t_udp_frame(f, IP_PEER, IP(10, 0, 0, 9), 4444, 7, 10, 3), 0);
	t_in(st, f, t_udp_frame(f, IP_PEER, IP(8, 8, 8, 8), 4444, 7, 10, 3), 0);
	cr_expect_eq(t_xstat(st, "ip_rx_not_ours"), 2);
	cr_expect_eq(received(s), 0);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_ipv4, unknown_protocol_gets_protocol_unreachable)
{
	struct weir_stack *st = t_stack();
	uint8_t out[256];
	size_t l2 = t_eth(f, mac_us, mac_peer, 0, 0x0800);

	t_learn_peer(st, 0);
	t_ipv4(f + l2, IP_PEER, IP_US, 132 /* SCTP */, 1, 0, 0, 16);
	memset(f + l2 + 20, 0x55, 16);
	t_in(st, f, l2 + 36, 0);
	cr_expect_eq(t_xstat(st, "ip_rx_proto"), 1);
	t_out1(st, 0, out);
	cr_expect_eq(out[34], 3);
	cr_expect_eq(out[35], 2, "protocol unreachable");
	cr_expect_arr_eq(out + 42, f + l2, 36);
	weir_stack_destroy(st);
}

/* Datagram of plen UDP payload bytes from IP_PEER, fragmented in chunk-byte
 * pieces, fed in order or reversed, all but fragment number skip (-1: all). */
static void feed_skip(struct weir_stack *st, uint32_t plen, uint32_t chunk, uint16_t id,
		      bool reverse, uint32_t seed, int skip)
{
	static uint8_t d[65536], fr[2048];
	uint32_t total = 8 + plen, n = (total + chunk - 1) / chunk;

	for (uint32_t i = 0; i < plen; i++)
		d[8 + i] = pattern(seed, i);
	t_udp(d, IP_PEER, IP_US, 4444, 7, plen);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = reverse ? n - 1 - k : k, off = i * chunk;
		uint32_t len = WEIR_MIN(chunk, total - off);
		size_t l2 = t_eth(fr, mac_us, mac_peer, 0, 0x0800);

		if ((int)i == skip)
			continue;
		t_ipv4(fr + l2, IP_PEER, IP_US, 17, id,
		       (uint16_t)(off / 8 | (off + len < total ? 0x2000 : 0)), 0, len);
		memcpy(fr + l2 + 20, d + off, len);
		t_in(st, fr, l2 + 20 + len, 0);
	}
}

static void feed_fragmented(struct weir_stack *st, uint32_t plen, uint32_t chunk, uint16_t id,
			    bool reverse, uint32_t seed)
{
	feed_skip(st, plen, chunk, id, reverse, seed, -1);
}

Test(stack_ipv4, fragmented_datagrams_are_delivered_whole)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock7(st);
	static uint8_t b[65536];
	struct weir_pkt *p;

	feed_fragmented(st, 8000, 1480, 1, false, 4);
	feed_fragmented(st, 65507, 1480, 2, true, 5);
	feed_fragmented(st, 3000, 8, 3, false, 6); /* 376 tiny fragments */
	for (uint32_t k = 0; k < 3; k++) {
		uint32_t len = k == 0 ? 8000 : k == 1 ? 65507 : 3000;

		cr_assert_eq(weir_udp_recv_burst(s, &p, NULL, 1), 1, "datagram %u", k);
		cr_assert_eq(p->pkt_len, len);
		t_check_chain(p);
		t_flat(p, b);
		for (uint32_t i = 0; i < len; i++)
			if (b[i] != pattern(4 + k, i))
				cr_assert_fail("datagram %u byte %u", k, i);
		weir_pkt_free(p);
	}
	cr_expect_eq(t_xstat(st, "udp_rx_csum"), 0);
	cr_expect_eq(t_xstat(st, "frag_reassembled"), 3);
	cr_expect_eq(t_xstat(st, "frag_mem_bytes"), 0);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_ipv4, fragment_flood_stays_within_the_budget)
{
	struct weir_stack *st = t_stack_conf((struct weir_stack_conf){
		.frag_budget = 256 << 10, .frag_budget_source = 64 << 10});
	uint8_t fr[128];
	uint32_t seed = 1;

	for (uint32_t i = 0; i < 20000; i++) {
		size_t l2 = t_eth(fr, mac_us, mac_peer, 0, 0x0800);
		uint32_t src = IP(10, 0, 0, 2 + (i % 200));

		seed = seed * 1103515245u + 12345u;
		t_ipv4(fr + l2, src, IP_US, 17, (uint16_t)(seed >> 16),
		       (uint16_t)(0x2000 | ((seed >> 4) & 0xff)), 0, 16);
		t_in(st, fr, l2 + 36, 0);
		cr_assert_leq(t_xstat(st, "frag_mem_bytes"), 256 << 10);
	}
	cr_expect_gt(t_xstat(st, "frag_drop_budget_total"), 1000);
	weir_stack_timer(st, 31 * SEC);
	cr_expect_eq(t_xstat(st, "frag_mem_bytes"), 0);
	cr_expect_eq(t_xstat(st, "frag_datagrams"), 0);
	t_out_free(st, 0);
	weir_stack_destroy(st);
}

Test(stack_ipv4, budgets_change_at_run_time)
{
	struct weir_stack *st = t_stack();

	feed_skip(st, 8000, 1480, 1, true, 4, 0); /* all but the first */
	cr_expect_eq(t_xstat(st, "frag_datagrams"), 1);
	cr_expect_eq(weir_stack_frag_budget(st, 1000, 2000), -EINVAL);
	cr_expect_eq(weir_stack_frag_budget(st, 8192, 8192), 0);
	cr_expect_eq(t_xstat(st, "frag_datagrams"), 0, "discarded under the new budget");
	cr_expect_eq(t_xstat(st, "frag_budget_bytes"), 8192);
	cr_expect_eq(t_xstat(st, "frag_budget_source_bytes"), 8192);
	weir_stack_destroy(st);
}

Test(stack_ipv4, sent_datagrams_have_fresh_ids_and_the_configured_ttl)
{
	struct weir_stack *st = t_stack_conf((struct weir_stack_conf){.ttl = 9});
	struct weir_udp_sock *s = sock7(st);
	uint8_t out[2][256];

	t_learn_peer(st, 0);
	for (int i = 0; i < 2; i++) {
		struct weir_pkt *p = weir_pkt_alloc(pool);

		weir_pkt_put(p, 10);
		cr_assert_eq(weir_udp_sendto(s, p, &(struct weir_udp_addr){IP_PEER, 9}), 0);
		t_out1(st, 0, out[i]);
		cr_expect_eq(out[i][22], 9);
		cr_expect_eq(get16(out[i] + 20), 0, "DF clear, not a fragment");
	}
	cr_expect_eq((uint16_t)(get16(out[1] + 18) - get16(out[0] + 18)), 1);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_ipv4, gso_superframe_from_a_driver_is_segmented)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock7(st);
	struct weir_pkt *p, *got[8];
	size_t len = t_udp_frame(f, IP_PEER, IP_US, 4444, 7, 3000, 7);

	/* UDP_L4: one datagram per 1000 bytes of payload. */
	p = t_pkt(f, len, 0);
	p->gso_type = WEIR_PKT_GSO_UDP_L4;
	p->gso_size = 1000;
	weir_stack_input(st, &p, 1, 0);
	cr_expect_eq(weir_udp_recv_burst(s, got, NULL, 8), 3);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(got[i]->pkt_len, 1000);
		cr_expect_eq(weir_pkt_data(got[i])[0], pattern(7, (uint32_t)i * 1000));
	}
	weir_pkt_free_bulk(got, 3);
	p = t_pkt(f, len, 0);
	p->gso_type = WEIR_PKT_GSO_TCPV4; /* does not match the headers */
	p->gso_size = 1000;
	weir_stack_input(st, &p, 1, 0);
	cr_expect_eq(t_xstat(st, "ip_rx_gso_bad"), 1);
	weir_udp_close(s);
	weir_stack_destroy(st);
}
