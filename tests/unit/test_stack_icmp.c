// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for stack/icmp.c: echo replies byte for byte, made in the
 * request's own buffer (copied only when it is shared), large fragmented
 * pings answered as fragments, no reply to broadcast or multicast echo,
 * bad checksums and short messages, the token buckets of errors and of
 * echo replies, weir_stack_icmp_error()'s refusals (RFC 1122) and its
 * messages, reassembly time exceeded.
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

TestSuite(stack_icmp, .init = init, .fini = fini, .timeout = 60);

static uint8_t f[70000], out[70000];

/* An echo request peer -> dst with plen data bytes. */
static size_t ping(uint32_t dst, const uint8_t edst[6], size_t plen, uint16_t seq)
{
	size_t l2 = t_eth(f, edst, mac_peer, 0, 0x0800);

	t_icmp_echo(f + l2 + 20, 8, 0x1234, seq, plen, seq);
	t_ipv4(f + l2, IP_PEER, dst, 1, seq, 0, 0, 8 + plen);
	return l2 + 28 + plen;
}

static void check_reply(const uint8_t *r, uint32_t len, size_t plen, uint16_t seq)
{
	cr_assert_eq(len, 14 + 28 + plen);
	cr_expect_arr_eq(r, mac_peer, 6);
	cr_expect_arr_eq(r + 6, mac_us, 6);
	cr_expect(t_ip_ok(r + 14));
	cr_expect_eq(r[23], 1);
	cr_expect_eq(get32(r + 26), IP_US);
	cr_expect_eq(get32(r + 30), IP_PEER);
	cr_expect_eq(r[34], 0, "echo reply");
	cr_expect_eq(r[35], 0);
	cr_expect_eq(ref_fold(ref_sum(0, r + 34, 8 + plen)), 0xffff, "ICMP checksum");
	cr_expect_eq(get16(r + 38), 0x1234, "id");
	cr_expect_eq(get16(r + 40), seq, "seq");
	for (size_t i = 0; i < plen; i++)
		if (r[42 + i] != pattern(seq, (uint32_t)i))
			cr_assert_fail("data byte %zu", i);
}

Test(stack_icmp, echo_is_answered_in_the_requests_own_buffer)
{
	struct weir_stack *st = t_stack();
	struct weir_pkt *p, *o;
	size_t len = ping(IP_US, mac_us, 56, 1);

	t_learn_peer(st, 0);
	p = t_pkt(f, len, 0);
	weir_stack_input(st, &p, 1, 0);
	cr_assert_eq(weir_stack_drain(st, 0, &o, 1), 1);
	cr_expect_eq(o, p, "no copy, no new buffer");
	check_reply(out, t_flat(o, out), 56, 1);
	weir_pkt_free(o);
	cr_expect_eq(t_xstat(st, "icmp_tx_echo_replies"), 1);
	/* Every data length, odd and even, checksums right. */
	for (size_t plen = 0; plen < 70; plen++) {
		t_in(st, f, ping(IP_US, mac_us, plen, (uint16_t)plen), 0);
		check_reply(out, t_out1(st, 0, out), plen, (uint16_t)plen);
	}
	weir_stack_destroy(st);
}

Test(stack_icmp, shared_request_is_copied_and_left_alone)
{
	struct weir_stack *st = t_stack();
	struct weir_pkt *p, *c, *o;
	size_t len = ping(IP_US, mac_us, 100, 2);
	int err;

	t_learn_peer(st, 0);
	p = t_pkt(f, len, 0);
	err = weir_pkt_clone(p, pool, &c);
	cr_assert_eq(err, 0);
	weir_stack_input(st, &c, 1, 0);
	cr_assert_eq(weir_stack_drain(st, 0, &o, 1), 1);
	check_reply(out, t_flat(o, out), 100, 2);
	weir_pkt_free(o);
	t_flat(p, out);
	cr_expect_arr_eq(out, f, len, "the shared bytes are unchanged");
	weir_pkt_free(p);
	weir_stack_destroy(st);
}

Test(stack_icmp, header_split_across_segments_is_copied_first)
{
	struct weir_stack *st = t_stack();
	struct weir_pkt *p;
	size_t len = ping(IP_US, mac_us, 40, 3);

	t_learn_peer(st, 0);
	p = t_pkt(f, len, 37); /* the ICMP header straddles 37 */
	weir_stack_input(st, &p, 1, 0);
	check_reply(out, t_out1(st, 0, out), 40, 3);
	weir_stack_destroy(st);
}

/* Feeds a ping of plen data bytes, fragmented in 1480-byte pieces. */
static void big_ping(struct weir_stack *st, size_t plen, uint16_t seq)
{
	static uint8_t d[65536], fr[2048];
	uint32_t total = (uint32_t)(8 + plen);

	t_icmp_echo(d, 8, 0x1234, seq, plen, seq);
	for (uint32_t off = 0; off < total; off += 1480) {
		uint32_t n = WEIR_MIN(1480, total - off);
		size_t l2 = t_eth(fr, mac_us, mac_peer, 0, 0x0800);

		t_ipv4(fr + l2, IP_PEER, IP_US, 1, seq,
		       (uint16_t)(off / 8 | (off + n < total ? 0x2000 : 0)), 0, n);
		memcpy(fr + l2 + 20, d + off, n);
		t_in(st, fr, l2 + 20 + n, 0);
	}
}

/* Puts the reply's fragments (drained from iface 0) back together into
 * out as one frame. */
static uint32_t collect(struct weir_stack *st, uint16_t expect)
{
	static uint8_t fr[2048];
	struct weir_pkt *o[64];
	uint16_t n = weir_stack_drain(st, 0, o, 64);
	uint32_t total = 0;

	cr_assert_eq(n, expect, "%u fragments, expected %u", n, expect);
	for (uint16_t i = 0; i < n; i++) {
		uint32_t len = t_flat(o[i], fr);
		uint16_t fo = get16(fr + 20);

		cr_assert(t_ip_ok(fr + 14));
		cr_assert_eq((fo & 0x1fff) * 8u, total);
		cr_assert_eq(!!(fo & 0x2000), i + 1 < n);
		if (i == 0)
			memcpy(out, fr, 34);
		memcpy(out + 34 + total, fr + 34, len - 34);
		total += len - 34;
	}
	weir_pkt_free_bulk(o, n);
	put16(out + 16, (uint16_t)(20 + total));
	put16(out + 20, 0);
	put16(out + 24, 0);
	put16(out + 24, ref_csum(out + 14, 20));
	return 34 + total;
}

Test(stack_icmp, large_fragmented_pings_are_answered_in_fragments)
{
	struct weir_stack *st = t_stack();

	t_learn_peer(st, 0);
	big_ping(st, 8000, 4); /* ping -s 8000 */
	check_reply(out, collect(st, 6), 8000, 4);
	big_ping(st, 65507, 5); /* ping -s 65507, the largest */
	check_reply(out, collect(st, 45), 65507, 5);
	cr_expect_eq(t_xstat(st, "frag_reassembled"), 2);
	weir_stack_destroy(st);
}

Test(stack_icmp, broadcast_and_multicast_echo_get_no_reply)
{
	struct weir_stack *st = t_stack();

	t_learn_peer(st, 0);
	t_in(st, f, ping(IP(10, 0, 0, 255), mac_bcast, 10, 6), 0);
	t_in(st, f, ping(IP(255, 255, 255, 255), mac_bcast, 10, 6), 0);
	cr_assert_eq(weir_stack_iface_mcast_add(st, 0, (const uint8_t[6]){1, 0, 0x5e, 0, 0, 1}), 0);
	t_in(st, f, ping(IP(224, 0, 0, 1), (const uint8_t[6]){1, 0, 0x5e, 0, 0, 1}, 10, 6), 0);
	cr_expect_eq(t_xstat(st, "icmp_rx_echo_bcast"), 3);
	cr_expect_eq(weir_stack_pending(st, 0), 0);
	weir_stack_destroy(st);
}

Test(stack_icmp, bad_messages_are_counted)
{
	struct weir_stack *st = t_stack();
	size_t len = ping(IP_US, mac_us, 20, 7), l2 = 14;

	f[l2 + 20 + 10] ^= 1; /* data changed, checksum not */
	t_in(st, f, len, 0);
	cr_expect_eq(t_xstat(st, "icmp_rx_csum"), 1);
	t_ipv4(f + l2, IP_PEER, IP_US, 1, 1, 0, 0, 7);
	t_in(st, f, l2 + 27, 0);
	cr_expect_eq(t_xstat(st, "icmp_rx_short"), 1);
	/* Errors and replies are read, counted, and answer nothing. */
	t_icmp_echo(f + l2 + 20, 3, 0, 0, 28, 1);
	t_ipv4(f + l2, IP_PEER, IP_US, 1, 1, 0, 0, 36);
	t_in(st, f, l2 + 56, 0);
	t_icmp_echo(f + l2 + 20, 0, 0, 0, 28, 1);
	t_in(st, f, l2 + 56, 0);
	cr_expect_eq(t_xstat(st, "icmp_rx_errors"), 1);
	cr_expect_eq(t_xstat(st, "icmp_rx_other"), 1);
	cr_expect_eq(weir_stack_pending(st, 0), 0);
	weir_stack_destroy(st);
}

/* A UDP datagram to a closed port: one port unreachable, if allowed. */
static void closed_port(struct weir_stack *st, weir_ns_t now)
{
	t_in(st, f, t_udp_frame(f, IP_PEER, IP_US, 4444, 9, 10, 1), now);
}

Test(stack_icmp, errors_are_rate_limited)
{
	struct weir_stack *st =
		t_stack_conf((struct weir_stack_conf){.icmp_rate = 10, .icmp_burst = 5});

	t_learn_peer(st, 0);
	for (int i = 0; i < 20; i++)
		closed_port(st, 1 * SEC);
	cr_expect_eq(t_out_free(st, 0), 5, "the burst");
	cr_expect_eq(t_xstat(st, "icmp_drop_rate_limited"), 15);
	for (int i = 0; i < 20; i++)
		closed_port(st, 1 * SEC + 300 * MS);
	cr_expect_eq(t_out_free(st, 0), 3, "10/s for 0.3 s");
	for (int i = 0; i < 20; i++)
		closed_port(st, 100 * SEC);
	cr_expect_eq(t_out_free(st, 0), 5, "no more than the burst after idling");
	cr_expect_eq(t_xstat(st, "icmp_tx_errors"), 13);
	weir_stack_destroy(st);
}

Test(stack_icmp, echo_replies_have_their_own_bucket)
{
	struct weir_stack *st =
		t_stack_conf((struct weir_stack_conf){.echo_rate = 100, .echo_burst = 2,
						       .icmp_rate = 10, .icmp_burst = 1});

	t_learn_peer(st, 0);
	for (int i = 0; i < 5; i++)
		t_in(st, f, ping(IP_US, mac_us, 8, 1), 0);
	cr_expect_eq(t_out_free(st, 0), 2);
	closed_port(st, 0);
	cr_expect_eq(t_out_free(st, 0), 1, "errors unaffected by echo");
	for (int i = 0; i < 5; i++)
		t_in(st, f, ping(IP_US, mac_us, 8, 1), 10 * MS);
	cr_expect_eq(t_out_free(st, 0), 1, "one per 10 ms");
	weir_stack_destroy(st);
}

Test(stack_icmp, default_echo_is_unlimited)
{
	struct weir_stack *st = t_stack();

	t_learn_peer(st, 0);
	for (int i = 0; i < 500; i++) {
		t_in(st, f, ping(IP_US, mac_us, 8, 1), 0);
		if (i % 100 == 99)
			cr_assert_eq(t_out_free(st, 0), 100);
	}
	cr_expect_eq(t_xstat(st, "icmp_drop_rate_limited"), 0);
	weir_stack_destroy(st);
}

/* Packet of an IPv4 datagram (data at the IP header) peer -> dst. */
static struct weir_pkt *ip_pkt(uint32_t src, uint32_t dst, uint8_t proto, uint16_t frag,
			       uint8_t l4_first)
{
	uint8_t b[64];
	struct weir_pkt *p;

	t_ipv4(b, src, dst, proto, 1, frag, 0, 16);
	memset(b + 20, 0, 16);
	b[20] = l4_first;
	p = t_pkt(b, 36, 0);
	return p;
}

Test(stack_icmp, icmp_error_refuses_what_rfc1122_forbids)
{
	struct weir_stack *st = t_stack();
	struct {
		struct weir_pkt *p;
		int err;
	} cases[] = {
		{ip_pkt(IP_PEER, IP(10, 9, 9, 9), 1, 0, 3), -EPERM},         /* about an ICMP error */
		{ip_pkt(IP_PEER, IP(10, 9, 9, 9), 17, 0x2001, 0), -EPERM},   /* non-first fragment */
		{ip_pkt(IP(224, 0, 0, 5), IP_US, 17, 0, 0), -EPERM},         /* from multicast */
		{ip_pkt(IP_PEER, IP(224, 0, 0, 5), 17, 0, 0), -EPERM},       /* to multicast */
		{ip_pkt(IP_PEER, IP(10, 0, 0, 255), 17, 0, 0), -EPERM},      /* to a broadcast */
		{ip_pkt(0, IP_US, 17, 0, 0), -EPERM},                        /* from 0.0.0.0 */
		{ip_pkt(IP(8, 8, 8, 8), IP_US, 17, 0, 0), -ENETUNREACH},     /* no route back */
		{ip_pkt(IP_PEER, IP(10, 9, 9, 9), 1, 0, 8), 0},              /* about an echo */
		{ip_pkt(IP_PEER, IP(10, 9, 9, 9), 17, 0x2000, 0), 0},        /* first fragment */
	};
	uint8_t junk[8] = {0x60};
	struct weir_pkt *bad = t_pkt(junk, 8, 0);

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(cases); i++) {
		cr_expect_eq(weir_stack_icmp_error(st, cases[i].p, 11, 0), cases[i].err, "case %zu",
			     i);
		weir_pkt_free(cases[i].p);
	}
	cr_expect_eq(weir_stack_icmp_error(st, bad, 11, 0), -EINVAL);
	weir_pkt_free(bad);
	cr_expect_eq(t_xstat(st, "icmp_tx_errors"), 2);
	t_out_free(st, 0);
	weir_stack_destroy(st);
}

Test(stack_icmp, time_exceeded_for_a_router_quotes_the_datagram)
{
	struct weir_stack *st = t_stack();
	struct weir_pkt *p = ip_pkt(IP_PEER, IP(10, 9, 9, 9), 17, 0, 0);
	uint32_t n;

	t_learn_peer(st, 0);
	cr_assert_eq(weir_stack_icmp_error(st, p, 11, 0), 0);
	n = t_out1(st, 0, out);
	cr_expect_eq(n, 14 + 20 + 8 + 36);
	cr_expect_eq(get32(out + 26), IP_US, "from the interface: the destination is not ours");
	cr_expect_eq(out[34], 11);
	cr_expect_eq(out[35], 0);
	cr_expect_eq(ref_fold(ref_sum(0, out + 34, n - 34)), 0xffff);
	t_flat(p, f);
	cr_expect_arr_eq(out + 42, f, 36);
	weir_pkt_free(p);
	weir_stack_destroy(st);
}

Test(stack_icmp, reassembly_timeout_sends_time_exceeded)
{
	/* The peer stays REACHABLE past 30 s: no ARP probe in the way. */
	struct weir_stack *st = t_stack_conf((struct weir_stack_conf){.neigh_reachable = 60 * SEC});
	uint8_t fr[2048];
	size_t l2 = t_eth(fr, mac_us, mac_peer, 0, 0x0800);

	t_learn_peer(st, 0);
	t_ipv4(fr + l2, IP_PEER, IP_US, 17, 77, 0x2000, 0, 1000);
	memset(fr + l2 + 20, 0x42, 1000);
	t_in(st, fr, l2 + 1020, 0);
	/* A second datagram without its first fragment: nothing to quote. */
	t_ipv4(fr + l2, IP_PEER, IP_US, 17, 78, 0x2000 | 125, 0, 1000);
	t_in(st, fr, l2 + 1020, 0);
	weir_stack_timer(st, 29 * SEC);
	cr_expect_eq(weir_stack_pending(st, 0), 0);
	weir_stack_timer(st, 30 * SEC);
	t_out1(st, 0, out);
	cr_expect_eq(out[34], 11);
	cr_expect_eq(out[35], 1, "fragment reassembly time exceeded");
	cr_expect_eq(get16(out + 42 + 4), 77, "quotes the first fragment");
	cr_expect_eq(t_xstat(st, "frag_timeouts"), 2);
	cr_expect_eq(t_xstat(st, "frag_drop_timeout"), 2);
	weir_stack_destroy(st);
}
