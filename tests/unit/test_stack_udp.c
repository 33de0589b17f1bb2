// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for stack/udp.c and the send path below it (ipv4.c output,
 * fragmentation, eth.c): bind/connect rules, zero-copy receive with the
 * source address, checksum verification (bad, none, vouched for by
 * offload flags), lengths, per-socket queue bounds, port unreachable,
 * headers pushed into headroom or a chained header segment, partial
 * checksums for offloading interfaces, errors that leave the payload to
 * the caller, fragmented sends as slices of the payload, broadcast and
 * multicast destinations, and datagrams of 1 to 65507 bytes between two
 * stacks, byte-exact both ways.
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

TestSuite(stack_udp, .init = init, .fini = fini, .timeout = 60);

static uint8_t frame[70000];

static struct weir_udp_sock *sock_on(struct weir_stack *st, uint32_t addr, uint16_t port,
				     uint32_t qlen)
{
	int err;
	struct weir_udp_sock *s = weir_udp_open(st, &(struct weir_udp_sock_conf){qlen}, &err);

	cr_assert_not_null(s, "%d", err);
	cr_assert_eq(weir_udp_bind(s, addr, port), 0);
	return s;
}

/* A payload packet of len bytes of pattern(seed), in segments of seg
 * bytes (0: as few as fit). */
static struct weir_pkt *payload(uint32_t len, uint32_t seed, size_t seg)
{
	static uint8_t b[65536];

	for (uint32_t i = 0; i < len; i++)
		b[i] = pattern(seed, i);
	if (!len) {
		struct weir_pkt *p = weir_pkt_alloc(pool);

		cr_assert_not_null(p);
		return p;
	}
	return t_pkt(b, len, seg);
}

static void check_payload(const struct weir_pkt *p, uint32_t len, uint32_t seed)
{
	static uint8_t b[65536];

	cr_assert_eq(p->pkt_len, len);
	t_check_chain(p);
	t_flat(p, b);
	for (uint32_t i = 0; i < len; i++)
		if (b[i] != pattern(seed, i))
			cr_assert_fail("payload byte %u of %u: %02x, not %02x", i, len, b[i],
				       pattern(seed, i));
}

Test(stack_udp, bind_and_connect_rules)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *a = sock_on(st, 0, 7, 0), *b, *c;
	struct weir_udp_addr la;
	int err;

	cr_expect_eq(weir_udp_bind(a, 0, 8), -EINVAL, "bound already");
	b = weir_udp_open(st, NULL, &err);
	cr_expect_eq(weir_udp_bind(b, 0, 7), -EADDRINUSE);
	cr_expect_eq(weir_udp_bind(b, IP(10, 0, 0, 9), 9), -EADDRNOTAVAIL);
	cr_expect_eq(weir_udp_bind(b, IP_US, 9), 0);
	weir_udp_local(b, &la);
	cr_expect_eq(la.addr, IP_US);
	cr_expect_eq(la.port, 9);
	c = weir_udp_open(st, NULL, &err);
	cr_expect_eq(weir_udp_connect(c, IP_PEER, 0), -EINVAL);
	cr_expect_eq(weir_udp_connect(c, IP_PEER, 53), 0, "binds a free port");
	weir_udp_local(c, &la);
	cr_expect_geq(la.port, 49152);
	weir_udp_close(a);
	a = weir_udp_open(st, NULL, &err);
	cr_expect_eq(weir_udp_bind(a, 0, 7), 0, "closed sockets free their port");
	cr_expect_null(weir_udp_open(st, &(struct weir_udp_sock_conf){65537}, &err));
	cr_expect_eq(err, -EINVAL);
	weir_udp_close(a);
	weir_udp_close(b);
	weir_udp_close(c);
	weir_udp_close(NULL);
	weir_stack_destroy(st);
}

Test(stack_udp, ephemeral_ports_are_distinct)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s[100];
	struct weir_udp_addr la[100];
	int err;

	for (int i = 0; i < 100; i++) {
		s[i] = weir_udp_open(st, NULL, &err);
		cr_assert_eq(weir_udp_bind(s[i], 0, 0), 0);
		weir_udp_local(s[i], &la[i]);
		cr_assert_geq(la[i].port, 49152);
		for (int j = 0; j < i; j++)
			cr_assert_neq(la[i].port, la[j].port);
	}
	for (int i = 0; i < 100; i++)
		weir_udp_close(s[i]);
	weir_stack_destroy(st);
}

Test(stack_udp, receive_hands_out_the_packet_itself_with_its_source)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock_on(st, 0, 7, 0);
	struct weir_udp_addr from;
	struct weir_pkt *p, *got;
	uint8_t *start;
	size_t len = t_udp_frame(frame, IP_PEER, IP_US, 4444, 7, 300, 1);

	p = t_pkt(frame, len, 0);
	start = weir_pkt_data(p);
	weir_stack_input(st, &p, 1, 0);
	cr_assert_eq(weir_udp_recv_burst(s, &got, &from, 1), 1);
	cr_expect_eq(weir_pkt_data(got), start + 42, "data at the payload, same buffer");
	check_payload(got, 300, 1);
	cr_expect_eq(from.addr, IP_PEER);
	cr_expect_eq(from.port, 4444);
	cr_expect_eq(got->l4_proto, 17);
	weir_pkt_free(got);
	cr_expect_eq(weir_udp_recv_burst(s, &got, NULL, 1), 0);
	cr_expect_eq(t_xstat(st, "udp_rx_delivered"), 1);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_udp, headers_split_into_tiny_segments_are_read)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock_on(st, 0, 7, 0);
	struct weir_pkt *p, *got;
	size_t len = t_udp_frame(frame, IP_PEER, IP_US, 4444, 7, 100, 2);

	for (size_t seg = 1; seg <= 50; seg += 7) {
		p = t_pkt(frame, len, seg);
		weir_stack_input(st, &p, 1, 0);
		cr_assert_eq(weir_udp_recv_burst(s, &got, NULL, 1), 1, "seg %zu", seg);
		check_payload(got, 100, 2);
		weir_pkt_free(got);
	}
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_udp, checksums_are_verified_unless_vouched_for)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock_on(st, 0, 7, 0);
	struct weir_pkt *p, *got[4];
	size_t len = t_udp_frame(frame, IP_PEER, IP_US, 4444, 7, 50, 3);

	frame[42 + 10] ^= 1; /* payload changed, checksum not */
	t_in(st, frame, len, 0);
	cr_expect_eq(t_xstat(st, "udp_rx_csum"), 1);
	p = t_pkt(frame, len, 0);
	p->ol_flags |= WEIR_PKT_OL_CSUM_VALID;
	weir_stack_input(st, &p, 1, 0);
	p = t_pkt(frame, len, 0);
	p->ol_flags |= WEIR_PKT_OL_CSUM_PARTIAL;
	weir_stack_input(st, &p, 1, 0);
	put16(frame + 34 + 6, 0); /* no checksum */
	t_in(st, frame, len, 0);
	cr_expect_eq(weir_udp_recv_burst(s, got, NULL, 4), 3);
	cr_expect_eq(t_xstat(st, "udp_rx_csum"), 1);
	weir_pkt_free_bulk(got, 3);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_udp, lengths_are_checked_and_padding_cut)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock_on(st, 0, 7, 0);
	struct weir_pkt *got;
	size_t len = t_udp_frame(frame, IP_PEER, IP_US, 4444, 7, 5, 4);

	/* Ethernet padding to 60 bytes, junk in it: not part of the payload. */
	memset(frame + len, 0xee, 60 - len);
	t_in(st, frame, 60, 0);
	cr_assert_eq(weir_udp_recv_burst(s, &got, NULL, 1), 1);
	check_payload(got, 5, 4);
	weir_pkt_free(got);
	/* UDP length below 8, above what IP carries. */
	put16(frame + 34 + 4, 7);
	t_in(st, frame, len, 0);
	put16(frame + 34 + 4, 14);
	t_in(st, frame, len, 0);
	cr_expect_eq(t_xstat(st, "udp_rx_bad_len"), 2);
	/* An IP payload shorter than a UDP header. */
	t_ipv4(frame + 14, IP_PEER, IP_US, 17, 1, 0, 0, 7);
	t_in(st, frame, 14 + 27, 0);
	cr_expect_eq(t_xstat(st, "udp_rx_short"), 1);
	cr_expect_eq(weir_udp_recv_burst(s, &got, NULL, 1), 0);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_udp, full_queue_drops_are_counted_per_socket)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock_on(st, 0, 7, 4), *o = sock_on(st, 0, 8, 4);
	struct weir_udp_sock_stats ss;
	struct weir_pkt *got[8];
	size_t len = t_udp_frame(frame, IP_PEER, IP_US, 4444, 7, 10, 5);

	for (int i = 0; i < 6; i++)
		t_in(st, frame, len, 0);
	weir_udp_sock_stats(s, &ss);
	cr_expect_eq(ss.rx_datagrams, 4);
	cr_expect_eq(ss.rx_bytes, 40);
	cr_expect_eq(ss.rx_queue_full, 2);
	weir_udp_sock_stats(o, &ss);
	cr_expect_eq(ss.rx_queue_full, 0, "not the other socket's");
	cr_expect_eq(t_xstat(st, "udp_rx_queue_full"), 2);
	cr_expect_eq(weir_udp_recv_burst(s, got, NULL, 8), 4);
	weir_pkt_free_bulk(got, 4);
	weir_udp_close(o);
	/* Close with datagrams queued: freed. */
	t_in(st, frame, len, 0);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_udp, connected_and_address_bound_sockets_filter)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock_on(st, IP_US, 7, 0);
	struct weir_pkt *got[4];
	size_t len;

	cr_assert_eq(weir_udp_connect(s, IP_PEER, 4444), 0);
	len = t_udp_frame(frame, IP_PEER, IP_US, 4444, 7, 10, 6);
	t_in(st, frame, len, 0);
	len = t_udp_frame(frame, IP_PEER, IP_US, 4445, 7, 10, 6); /* other port */
	t_in(st, frame, len, 0);
	len = t_udp_frame(frame, IP(10, 0, 0, 3), IP_US, 4444, 7, 10, 6); /* other host */
	t_in(st, frame, len, 0);
	len = t_udp_frame(frame, IP_PEER, IP(10, 0, 0, 255), 4444, 7, 10, 6); /* not its address */
	t_in(st, frame, len, 0);
	cr_expect_eq(weir_udp_recv_burst(s, got, NULL, 4), 1);
	weir_pkt_free(got[0]);
	cr_expect_eq(t_xstat(st, "udp_rx_no_socket"), 3);
	t_out_free(st, 0); /* ARP for the port unreachables' destination */
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_udp, closed_port_gets_port_unreachable_but_broadcast_does_not)
{
	struct weir_stack *st = t_stack();
	uint8_t out[1024];
	size_t len = t_udp_frame(frame, IP_PEER, IP_US, 4444, 9, 20, 7);
	uint32_t n;

	t_learn_peer(st, 0);
	t_in(st, frame, len, 0);
	n = t_out1(st, 0, out);
	cr_expect_eq(n, 14 + 20 + 8 + (len - 14));
	cr_expect_arr_eq(out, mac_peer, 6);
	cr_expect_eq(out[14 + 9], 1, "ICMP");
	cr_expect_eq(get32(out + 14 + 12), IP_US);
	cr_expect_eq(get32(out + 14 + 16), IP_PEER);
	cr_expect(t_ip_ok(out + 14));
	cr_expect_eq(out[34], 3);
	cr_expect_eq(out[35], 3, "port unreachable");
	cr_expect_eq(ref_fold(ref_sum(0, out + 34, n - 34)), 0xffff, "ICMP checksum");
	cr_expect_arr_eq(out + 42, frame + 14, len - 14, "quotes the datagram");
	len = t_udp_frame(frame, IP_PEER, IP(10, 0, 0, 255), 4444, 9, 20, 7);
	memcpy(frame, mac_bcast, 6);
	t_in(st, frame, len, 0);
	len = t_udp_frame(frame, IP_PEER, IP(255, 255, 255, 255), 4444, 9, 20, 7);
	memcpy(frame, mac_bcast, 6);
	t_in(st, frame, len, 0);
	cr_expect_eq(weir_stack_pending(st, 0), 0);
	cr_expect_eq(t_xstat(st, "udp_rx_no_socket"), 3);
	weir_stack_destroy(st);
}

/* --- send ----------------------------------------------------------------- */

Test(stack_udp, send_pushes_headers_into_the_payloads_headroom)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock_on(st, 0, 5000, 0);
	struct weir_pkt *p = payload(100, 8, 0), *o;
	uint8_t out[256];

	t_learn_peer(st, 0);
	cr_assert_eq(weir_udp_sendto(s, p, &(struct weir_udp_addr){IP_PEER, 7}), 0);
	cr_assert_eq(weir_stack_drain(st, 0, &o, 1), 1);
	cr_expect_eq(o, p, "the payload's own buffer");
	cr_expect_eq(o->nb_segs, 1);
	cr_assert_eq(t_flat(o, out), 142);
	cr_expect_arr_eq(out, mac_peer, 6);
	cr_expect_arr_eq(out + 6, mac_us, 6);
	cr_expect_eq(get16(out + 12), 0x0800);
	cr_expect_eq(out[14], 0x45);
	cr_expect_eq(get16(out + 16), 128);
	cr_expect_eq(get16(out + 20) & 0x3fff, 0, "not a fragment");
	cr_expect_eq(out[22], 64, "TTL");
	cr_expect_eq(out[23], 17);
	cr_expect_eq(get32(out + 26), IP_US);
	cr_expect_eq(get32(out + 30), IP_PEER);
	cr_expect(t_ip_ok(out + 14));
	cr_expect_eq(get16(out + 34), 5000);
	cr_expect_eq(get16(out + 36), 7);
	cr_expect_eq(get16(out + 38), 108);
	cr_expect(t_udp_ok(out + 14), "UDP checksum");
	cr_expect_eq(o->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL, 0);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(out[42 + i], pattern(8, (uint32_t)i));
	weir_pkt_free(o);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_udp, payload_without_usable_headroom_gets_a_header_segment)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock_on(st, 0, 5000, 0);
	struct weir_pkt *p = payload(64, 9, 0), *c, *o;
	uint8_t out[256], before[64];
	int err;

	t_learn_peer(st, 0);
	/* No headroom at all. */
	memmove(p->buf, weir_pkt_data(p), 64);
	p->data_off = 0;
	cr_assert_eq(weir_udp_sendto(s, p, &(struct weir_udp_addr){IP_PEER, 7}), 0);
	cr_assert_eq(weir_stack_drain(st, 0, &o, 1), 1);
	cr_expect_neq(o, p);
	cr_expect_eq(o->next, p, "payload chained behind the headers");
	cr_expect_eq(o->data_len, 42);
	cr_expect_eq(t_flat(o, out), 106);
	cr_expect(t_udp_ok(out + 14));
	weir_pkt_free(o);
	/* A clone: its headroom is not its own. */
	p = payload(64, 9, 0);
	memcpy(before, weir_pkt_data(p), 64);
	err = weir_pkt_clone(p, pool, &c);
	cr_assert_eq(err, 0);
	cr_assert_eq(weir_udp_sendto(s, c, &(struct weir_udp_addr){IP_PEER, 7}), 0);
	cr_assert_eq(weir_stack_drain(st, 0, &o, 1), 1);
	cr_expect_eq(o->next, c);
	cr_expect_arr_eq(weir_pkt_data(p), before, 64, "the original untouched");
	cr_expect_eq(weir_pkt_headroom(p), pool->headroom);
	t_flat(o, out);
	cr_expect(t_udp_ok(out + 14));
	weir_pkt_free(o);
	weir_pkt_free(p);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

static struct weir_stack *offloading_stack(void)
{
	struct weir_stack *st;
	char why[256];
	int err;

	st = weir_stack_create(&(struct weir_stack_conf){.pool = pool, .seed = 3}, &err);
	cr_assert_not_null(st);
	cr_assert_eq(weir_stack_iface_add(st,
					  &(struct weir_stack_iface_conf){
						  .mac = {0x02, 0, 0, 0, 0, 1}, .addr = IP_US,
						  .prefix = 24, .no_garp = true,
						  .tx_offloads = WEIR_PORT_OFFLOAD_CSUM},
					  why, sizeof(why)),
		     0);
	t_learn_peer(st, 0);
	return st;
}

Test(stack_udp, offloading_interface_gets_partial_checksums)
{
	struct weir_stack *st = offloading_stack();
	struct weir_udp_sock *s = sock_on(st, 0, 5000, 0);
	struct weir_pkt *o[64];
	uint8_t out[2048];
	uint16_t n;

	cr_assert_eq(weir_udp_sendto(s, payload(1000, 10, 0), &(struct weir_udp_addr){IP_PEER, 7}),
		     0);
	cr_assert_eq(weir_stack_drain(st, 0, o, 1), 1);
	cr_expect(o[0]->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL);
	cr_expect_eq(o[0]->csum_start, 34);
	cr_expect_eq(o[0]->csum_offset, 6);
	t_flat(o[0], out);
	{
		uint64_t ps = 17 + 1008 + (IP_US >> 16) + (IP_US & 0xffff) + (IP_PEER >> 16) +
			      (IP_PEER & 0xffff);

		cr_expect_eq(get16(out + 40), ref_fold(ps), "the pseudo-header sum");
	}
	cr_assert_eq(weir_pkt_csum_complete(o[0]), 0, "what a port without offload does");
	t_flat(o[0], out);
	cr_expect(t_udp_ok(out + 14));
	weir_pkt_free(o[0]);
	/* Fragmented: the checksum must be complete. */
	cr_assert_eq(weir_udp_sendto(s, payload(3000, 10, 0), &(struct weir_udp_addr){IP_PEER, 7}),
		     0);
	n = weir_stack_drain(st, 0, o, 64);
	cr_assert_eq(n, 3);
	for (uint16_t i = 0; i < n; i++)
		cr_expect_eq(o[i]->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL, 0);
	weir_pkt_free_bulk(o, n);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_udp, failed_sends_leave_the_payload_to_the_caller)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock_on(st, 0, 5000, 0);
	struct weir_pkt *p = payload(200, 11, 0), *big = payload(65508, 11, 0);
	struct weir_pool *tiny;
	struct weir_stack *st2;
	int err;

	cr_expect_eq(weir_udp_sendto(s, p, NULL), -EDESTADDRREQ);
	cr_expect_eq(weir_udp_sendto(s, p, &(struct weir_udp_addr){IP(8, 8, 8, 8), 7}),
		     -ENETUNREACH);
	cr_expect_eq(weir_udp_sendto(s, big, &(struct weir_udp_addr){IP_PEER, 7}), -EMSGSIZE);
	check_payload(p, 200, 11);
	cr_expect_eq(weir_pkt_headroom(p), pool->headroom);
	weir_pkt_free(big);
	/* No buffer for the header segment: a stack whose pool is empty. */
	err = weir_pool_create(&(struct weir_pool_conf){.n = 4, .cache_size = UINT32_MAX,
							 .huge = 2}, &tiny);
	cr_assert_eq(err, 0, "tiny pool: %d", err);
	{
		struct weir_pkt *hold[4];
		struct weir_udp_sock *s2;

		st2 = weir_stack_create(&(struct weir_stack_conf){.pool = tiny, .seed = 5}, &err);
		cr_assert_not_null(st2);
		cr_assert_eq(weir_stack_iface_add(st2,
						  &(struct weir_stack_iface_conf){
							  .addr = IP_US, .prefix = 24,
							  .no_garp = true},
						  NULL, 0),
			     0);
		s2 = sock_on(st2, 0, 5000, 0);
		cr_assert_eq(weir_pkt_alloc_bulk(tiny, hold, 4), 0);
		p->data_off = 0; /* needs a header segment */
		cr_expect_eq(weir_udp_sendto(s2, p, &(struct weir_udp_addr){IP_PEER, 7}), -ENOBUFS);
		cr_expect_eq(p->pkt_len, 200);
		cr_expect_eq(p->nb_segs, 1);
		cr_expect_null(p->next);
		weir_pkt_free_bulk(hold, 4);
		weir_udp_close(s2);
		weir_stack_destroy(st2);
	}
	cr_expect_eq(weir_pool_in_use(tiny), 0);
	weir_pool_destroy(tiny);
	weir_pkt_free(p);
	{
		struct weir_udp_sock_stats ss;

		weir_udp_sock_stats(s, &ss);
		cr_expect_eq(ss.tx_errors, 3);
		cr_expect_eq(ss.tx_datagrams, 0);
	}
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_udp, send_burst_stops_at_the_first_failure)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock_on(st, 0, 5000, 0);
	struct weir_pkt *p[4] = {payload(10, 1, 0), payload(10, 2, 0), payload(10, 3, 0),
				 payload(10, 4, 0)};
	struct weir_udp_addr to[4] = {{IP_PEER, 7}, {IP_PEER, 8}, {IP(8, 8, 8, 8), 9},
				      {IP_PEER, 10}};

	t_learn_peer(st, 0);
	cr_expect_eq(weir_udp_send_burst(s, p, to, 4), 2);
	cr_expect_eq(weir_stack_pending(st, 0), 2);
	weir_pkt_free(p[2]);
	weir_pkt_free(p[3]);
	cr_assert_eq(weir_udp_connect(s, IP_PEER, 9), 0);
	p[0] = payload(10, 5, 0);
	cr_expect_eq(weir_udp_send_burst(s, p, NULL, 1), 1, "to the connected peer");
	cr_expect_eq(t_out_free(st, 0), 3);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_udp, broadcast_and_multicast_need_no_arp)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock_on(st, 0, 5000, 0);
	const uint8_t mc[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
	uint8_t out[256];

	cr_assert_eq(weir_udp_sendto(s, payload(10, 1, 0), &(struct weir_udp_addr){0xffffffff, 7}),
		     0);
	t_out1(st, 0, out);
	cr_expect_arr_eq(out, mac_bcast, 6);
	cr_assert_eq(weir_udp_sendto(s, payload(10, 1, 0),
				     &(struct weir_udp_addr){IP(10, 0, 0, 255), 7}),
		     0);
	t_out1(st, 0, out);
	cr_expect_arr_eq(out, mac_bcast, 6);
	cr_assert_eq(weir_udp_sendto(s, payload(10, 1, 0),
				     &(struct weir_udp_addr){IP(224, 0, 0, 251), 5353}),
		     0);
	t_out1(st, 0, out);
	cr_expect_arr_eq(out, mc, 6);
	cr_expect_eq(t_xstat(st, "arp_tx_requests"), 0);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

/* Reassembles frames out[0..n-1] (fragments of one datagram, in order) by
 * hand into b; returns the UDP datagram's length. */
static uint32_t reassemble(struct weir_pkt **o, uint16_t n, uint8_t *b, uint16_t *id)
{
	static uint8_t f[2048];
	uint32_t total = 0;

	for (uint16_t i = 0; i < n; i++) {
		uint32_t len = t_flat(o[i], f);
		uint16_t fo = get16(f + 20), tot = get16(f + 16);

		cr_assert(t_ip_ok(f + 14), "fragment %u header", i);
		cr_assert_eq(len, 14u + tot);
		cr_assert_leq(tot, 1500);
		cr_assert_eq((fo & 0x1fff) * 8u, total, "fragment %u at its place", i);
		cr_assert_eq(!!(fo & 0x2000), i + 1 < n, "MF on all but the last");
		if (i == 0)
			*id = get16(f + 18);
		cr_assert_eq(get16(f + 18), *id, "one id");
		memcpy(b + 20 + total, f + 34, tot - 20u);
		total += tot - 20u;
		if (i == 0)
			memcpy(b, f + 14, 20);
	}
	put16(b + 2, (uint16_t)(20 + total));
	return total;
}

Test(stack_udp, large_datagram_leaves_as_slices_of_its_payload)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock_on(st, 0, 5000, 0);
	static uint8_t b[65600];
	struct weir_pkt *p = payload(65507, 12, 0), *o[64], *orig_seg2 = p->next;
	uint32_t in_use;
	uint16_t n, id;

	t_learn_peer(st, 0);
	cr_assert_eq(weir_udp_sendto(s, p, &(struct weir_udp_addr){IP_PEER, 7}), 0);
	n = weir_stack_drain(st, 0, o, 64);
	cr_assert_eq(n, 45, "65515 bytes / 1480");
	for (uint16_t i = 0; i < n; i++) {
		cr_assert_eq(o[i]->data_len, 34, "a header segment");
		for (struct weir_pkt *seg = o[i]->next; seg; seg = seg->next)
			cr_assert(seg->flags & WEIR_PKT_F_INDIRECT, "payload slices, not copies");
	}
	cr_expect_gt(weir_pkt_refcnt(orig_seg2), 1, "the payload is pinned by its slices");
	cr_assert_eq(reassemble(o, n, b, &id), 65515);
	cr_expect(t_udp_ok(b), "the whole datagram's checksum");
	cr_expect_eq(get16(b + 20 + 4), 65515);
	for (uint32_t i = 0; i < 65507; i++)
		if (b[28 + i] != pattern(12, i))
			cr_assert_fail("byte %u", i);
	in_use = weir_pool_in_use(pool);
	weir_pkt_free_bulk(o, n);
	cr_expect_lt(weir_pool_in_use(pool), in_use - 45 * 2, "all of it back");
	cr_expect_eq(t_xstat(st, "ip_tx_fragments"), 45);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_udp, smaller_mtu_makes_smaller_fragments)
{
	struct weir_stack *st;
	struct weir_udp_sock *s;
	struct weir_pkt *o[64];
	char why[256];
	int err;
	uint16_t n;

	st = weir_stack_create(&(struct weir_stack_conf){.pool = pool, .seed = 3}, &err);
	cr_assert_eq(weir_stack_iface_add(st,
					  &(struct weir_stack_iface_conf){
						  .mac = {0x02, 0, 0, 0, 0, 1}, .addr = IP_US,
						  .prefix = 24, .no_garp = true, .mtu = 576},
					  why, sizeof(why)),
		     0);
	t_learn_peer(st, 0);
	s = sock_on(st, 0, 5000, 0);
	cr_assert_eq(weir_udp_sendto(s, payload(2000, 1, 0), &(struct weir_udp_addr){IP_PEER, 7}),
		     0);
	n = weir_stack_drain(st, 0, o, 64);
	cr_assert_eq(n, 4, "2008 bytes in 552-byte pieces");
	for (uint16_t i = 0; i < 3; i++)
		cr_expect_eq(o[i]->pkt_len, 14 + 20 + 552);
	cr_expect_eq(o[3]->pkt_len, 14 + 20 + 2008 - 3 * 552);
	weir_pkt_free_bulk(o, n);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

/* Moves every frame a queued on its interface 0 into b. */
static void wire(struct weir_stack *a, struct weir_stack *b, weir_ns_t now)
{
	struct weir_pkt *p[64];
	uint16_t n;

	while ((n = weir_stack_drain(a, 0, p, 64))) {
		for (uint16_t i = 0; i < n; i++)
			p[i]->port = 0;
		weir_stack_input(b, p, n, now);
	}
}

Test(stack_udp, two_stacks_exchange_1_to_65507_bytes_byte_exact)
{
	static const uint32_t sizes[] = {1,    2,    7,    8,    9,     100,   1471,  1472,
					 1473, 1480, 1481, 2952, 2953,  8000,  8972,  9000,
					 20000, 32768, 65000, 65506, 65507};
	struct weir_stack *a = t_stack(), *b;
	struct weir_udp_sock *sa, *sb;
	struct weir_udp_addr from;
	struct weir_pkt *got;
	char why[256];
	int err;

	b = weir_stack_create(&(struct weir_stack_conf){.pool = pool, .seed = 9}, &err);
	cr_assert_eq(weir_stack_iface_add(b,
					  &(struct weir_stack_iface_conf){
						  .mac = {0x02, 0, 0, 0, 0, 2}, .addr = IP_PEER,
						  .prefix = 24, .no_garp = true},
					  why, sizeof(why)),
		     0);
	sa = sock_on(a, 0, 5000, 0);
	sb = sock_on(b, 0, 7, 0);
	for (size_t k = 0; k < WEIR_ARRAY_SIZE(sizes); k++) {
		uint32_t len = sizes[k];
		size_t seg = k % 3 == 0 ? 0 : k % 3 == 1 ? 1000 : 333;

		/* a -> b (ARP on the first), then b echoes what it got back. */
		cr_assert_eq(weir_udp_sendto(sa, payload(len, (uint32_t)k, seg),
					     &(struct weir_udp_addr){IP_PEER, 7}),
			     0);
		for (int round = 0; round < 3; round++) {
			wire(a, b, 0);
			wire(b, a, 0);
		}
		cr_assert_eq(weir_udp_recv_burst(sb, &got, &from, 1), 1, "%u bytes a -> b", len);
		check_payload(got, len, (uint32_t)k);
		cr_expect_eq(from.addr, IP_US);
		cr_expect_eq(from.port, 5000);
		cr_assert_eq(weir_udp_sendto(sb, got, &from), 0);
		wire(b, a, 0);
		cr_assert_eq(weir_udp_recv_burst(sa, &got, &from, 1), 1, "%u bytes b -> a", len);
		check_payload(got, len, (uint32_t)k);
		cr_expect_eq(from.port, 7);
		weir_pkt_free(got);
	}
	cr_expect_eq(t_xstat(a, "udp_rx_csum") + t_xstat(b, "udp_rx_csum"), 0);
	cr_expect_gt(t_xstat(b, "frag_reassembled"), 5);
	weir_udp_close(sa);
	weir_udp_close(sb);
	weir_stack_destroy(a);
	weir_stack_destroy(b);
}
