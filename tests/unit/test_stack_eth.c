// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for stack/eth.c and the stack object (stack/stack.c): the MAC
 * filter (own, broadcast, configured multicast, others), short frames and
 * unknown EtherTypes, 802.1Q demultiplexing to interfaces on one port,
 * QinQ refused, headers on output (tagged and untagged), the output queue
 * bound and drain order, interface configuration errors, gratuitous ARP at
 * start, xstats names.
 *
 * fini fails if any packet buffer is still out.
 */
#include "stack_helpers.h"

static void init(void)
{
	t_pool_init(1024);
}

static void fini(void)
{
	t_pool_fini();
}

TestSuite(stack_eth, .init = init, .fini = fini, .timeout = 60);

/* An ARP request for our address from the peer, Ethernet to dst. */
static size_t arp_req_to(uint8_t *f, const uint8_t dst[6])
{
	return t_arp_frame(f, dst, mac_peer, 1, mac_peer, IP_PEER, (const uint8_t[6]){0}, IP_US);
}

Test(stack_eth, own_mac_and_broadcast_are_accepted)
{
	struct weir_stack *st = t_stack();
	uint8_t f[128];

	t_in(st, f, arp_req_to(f, mac_us), 0);
	t_in(st, f, arp_req_to(f, mac_bcast), 0);
	cr_expect_eq(t_xstat(st, "arp_rx_requests"), 2);
	cr_expect_eq(t_out_free(st, 0), 2, "two replies");
	cr_expect_eq(t_xstat(st, "eth_rx_not_ours"), 0);
	weir_stack_destroy(st);
}

Test(stack_eth, other_macs_and_unconfigured_multicast_are_filtered)
{
	struct weir_stack *st = t_stack();
	const uint8_t other[6] = {0x02, 0, 0, 0, 0, 9}, mc[6] = {0x01, 0x00, 0x5e, 0, 0, 7};
	uint8_t f[128];

	t_in(st, f, arp_req_to(f, other), 0);
	t_in(st, f, arp_req_to(f, mc), 0);
	cr_expect_eq(t_xstat(st, "eth_rx_not_ours"), 2);
	cr_expect_eq(t_xstat(st, "arp_rx_requests"), 0);
	cr_expect_eq(weir_stack_pending(st, 0), 0);
	/* Configured, the group's frames come in. */
	cr_assert_eq(weir_stack_iface_mcast_add(st, 0, mc), 0);
	t_in(st, f, arp_req_to(f, mc), 0);
	cr_expect_eq(t_xstat(st, "arp_rx_requests"), 1);
	cr_expect_eq(t_out_free(st, 0), 1);
	cr_assert_eq(weir_stack_iface_mcast_del(st, 0, mc), 0);
	t_in(st, f, arp_req_to(f, mc), 0);
	cr_expect_eq(t_xstat(st, "eth_rx_not_ours"), 3);
	cr_expect_eq(weir_stack_iface_mcast_add(st, 0, mac_us), -EINVAL, "unicast refused");
	cr_expect_eq(weir_stack_iface_mcast_del(st, 0, mc), -ENOENT);
	weir_stack_destroy(st);
}

Test(stack_eth, short_frames_and_unknown_ethertypes_are_counted)
{
	struct weir_stack *st = t_stack();
	uint8_t f[128];

	for (size_t len = 1; len < 14; len++) {
		arp_req_to(f, mac_us);
		t_in(st, f, len, 0);
	}
	cr_expect_eq(t_xstat(st, "eth_rx_short"), 13);
	t_eth(f, mac_us, mac_peer, 0, 0x86dd);
	t_in(st, f, 60, 0);
	cr_expect_eq(t_xstat(st, "eth_rx_ethertype"), 1);
	/* A tag header cut short. */
	t_eth(f, mac_us, mac_peer, 5, 0x0800);
	t_in(st, f, 16, 0);
	cr_expect_eq(t_xstat(st, "eth_rx_short"), 14);
	cr_expect_eq(t_xstat(st, "eth_rx_frames"), 15);
	weir_stack_destroy(st);
}

Test(stack_eth, headers_split_across_segments_are_read)
{
	struct weir_stack *st = t_stack();
	uint8_t f[128];
	size_t len = arp_req_to(f, mac_us);

	for (size_t seg = 1; seg < len; seg++) {
		struct weir_pkt *p = t_pkt(f, len, seg);

		weir_stack_input(st, &p, 1, 0);
	}
	cr_expect_eq(t_xstat(st, "arp_rx_requests"), len - 1);
	cr_expect_eq(t_out_free(st, 0), len - 1);
	weir_stack_destroy(st);
}

static struct weir_stack *two_vlans(void)
{
	struct weir_stack *st = t_stack();
	char why[256];
	int idx = weir_stack_iface_add(st,
				       &(struct weir_stack_iface_conf){.name = "vl10",
								      .mac = {0x02, 0, 0, 0, 0, 1},
								      .addr = IP(10, 0, 10, 1),
								      .prefix = 24,
								      .vlan = 10,
								      .no_garp = true},
				       why, sizeof(why));

	cr_assert_eq(idx, 1, "%s", why);
	return st;
}

Test(stack_eth, vlan_tags_pick_the_interface)
{
	struct weir_stack *st = two_vlans();
	uint8_t f[128], out[128];
	size_t l2;
	uint32_t len;

	/* Tagged 10: a request for vl10's address is answered on vl10. */
	l2 = t_eth(f, mac_bcast, mac_peer, 10, 0x0806);
	t_arp(f + l2, 1, mac_peer, IP(10, 0, 10, 2), (const uint8_t[6]){0}, IP(10, 0, 10, 1));
	t_in(st, f, l2 + 28, 0);
	cr_expect_eq(weir_stack_pending(st, 0), 0);
	len = t_out1(st, 1, out);
	cr_expect_eq(len, 64, "60-byte minimum + tag");
	cr_expect_eq(get16(out + 12), 0x8100);
	cr_expect_eq(get16(out + 14) & 0xfff, 10);
	cr_expect_eq(get16(out + 16), 0x0806);
	cr_expect_eq(get16(out + 18 + 6), 2, "reply");
	cr_expect_eq(get32(out + 18 + 14), IP(10, 0, 10, 1));
	/* The same request untagged is for eth0, whose address it is not. */
	t_eth(f, mac_bcast, mac_peer, 0, 0x0806);
	t_arp(f + 14, 1, mac_peer, IP(10, 0, 10, 2), (const uint8_t[6]){0}, IP(10, 0, 10, 1));
	t_in(st, f, 42, 0);
	cr_expect_eq(t_xstat(st, "arp_rx_not_ours"), 1);
	/* A tag no interface has, and QinQ. */
	l2 = t_eth(f, mac_bcast, mac_peer, 11, 0x0806);
	t_in(st, f, l2 + 28, 0);
	cr_expect_eq(t_xstat(st, "eth_rx_no_iface"), 1);
	l2 = t_eth(f, mac_bcast, mac_peer, 10, 0x8100);
	t_in(st, f, l2 + 32, 0);
	cr_expect_eq(t_xstat(st, "eth_rx_no_iface"), 2);
	cr_expect_eq(t_out_free(st, 0) + t_out_free(st, 1), 0);
	weir_stack_destroy(st);
}

Test(stack_eth, priority_tag_vid_0_is_untagged)
{
	struct weir_stack *st = t_stack();
	uint8_t f[128];
	size_t l2 = t_eth(f, mac_us, mac_peer, 0x2000 /* PCP 1, VID 0 */, 0x0806);

	t_arp(f + l2, 1, mac_peer, IP_PEER, (const uint8_t[6]){0}, IP_US);
	t_in(st, f, l2 + 28, 0);
	cr_expect_eq(t_xstat(st, "arp_rx_requests"), 1);
	cr_expect_eq(t_out_free(st, 0), 1);
	weir_stack_destroy(st);
}

Test(stack_eth, output_queue_is_bounded_and_drained_in_order)
{
	struct weir_stack *st = t_stack_conf((struct weir_stack_conf){.tx_queue_len = 4});
	struct weir_pkt *p[8];
	uint8_t f[128];

	for (uint32_t i = 0; i < 6; i++) {
		size_t len = t_arp_frame(f, mac_us, mac_peer, 1, mac_peer, IP_PEER,
					 (const uint8_t[6]){0}, IP_US);

		f[6 + 5] = (uint8_t)i; /* source MAC differs: reply goes back to it */
		f[14 + 8 + 5] = (uint8_t)i;
		t_in(st, f, len, 0);
	}
	cr_expect_eq(weir_stack_pending(st, 0), 4);
	cr_expect_eq(t_xstat(st, "eth_tx_queue_full"), 2);
	cr_assert_eq(weir_stack_drain(st, 0, p, 3), 3);
	for (uint32_t i = 0; i < 3; i++) {
		cr_expect_eq(weir_pkt_data(p[i])[5], i, "reply %u in order", i);
		cr_expect_null(p[i]->qnext);
	}
	weir_pkt_free_bulk(p, 3);
	cr_assert_eq(weir_stack_drain(st, 0, p, 8), 1);
	cr_expect_eq(weir_pkt_data(p[0])[5], 3);
	weir_pkt_free(p[0]);
	cr_expect_eq(weir_stack_drain(st, 0, p, 8), 0);
	cr_expect_eq(weir_stack_drain(st, 7, p, 8), 0, "no such interface");
	weir_stack_destroy(st);
}

Test(stack_eth, destroy_frees_what_is_queued)
{
	struct weir_stack *st = t_stack();
	uint8_t f[128];

	for (int i = 0; i < 10; i++)
		t_in(st, f, arp_req_to(f, mac_us), 0);
	cr_expect_eq(weir_stack_pending(st, 0), 10);
	weir_stack_destroy(st); /* fini checks */
}

Test(stack_eth, gratuitous_arp_at_start)
{
	struct weir_stack *st;
	char why[256];
	uint8_t out[128];
	int err;

	st = weir_stack_create(&(struct weir_stack_conf){.pool = pool, .seed = 1}, &err);
	cr_assert_not_null(st);
	cr_assert_eq(weir_stack_iface_add(st,
					  &(struct weir_stack_iface_conf){
						  .mac = {0x02, 0, 0, 0, 0, 1}, .addr = IP_US,
						  .prefix = 24},
					  why, sizeof(why)),
		     0, "%s", why);
	cr_assert_eq(t_out1(st, 0, out), 60);
	cr_expect_arr_eq(out, mac_bcast, 6);
	cr_expect_arr_eq(out + 6, mac_us, 6);
	cr_expect_eq(get16(out + 12), 0x0806);
	cr_expect_eq(get16(out + 20), 1, "request");
	cr_expect_eq(get32(out + 28), IP_US, "sender");
	cr_expect_eq(get32(out + 38), IP_US, "target = sender");
	cr_expect_eq(t_xstat(st, "arp_tx_gratuitous"), 1);
	cr_expect_eq(weir_stack_garp(st, 0), 0);
	cr_expect_eq(t_out_free(st, 0), 1);
	cr_expect_eq(weir_stack_garp(st, 3), -ENOENT);
	weir_stack_destroy(st);
}

Test(stack_eth, iface_add_refuses_bad_configurations)
{
	struct weir_stack *st = t_stack();
	char why[256] = "";

	cr_expect_eq(weir_stack_iface_add(st, &(struct weir_stack_iface_conf){.prefix = 33}, why,
					  sizeof(why)),
		     -EINVAL);
	cr_expect(strstr(why, "prefix"), "%s", why);
	cr_expect_eq(weir_stack_iface_add(st, &(struct weir_stack_iface_conf){.mtu = 67}, why,
					  sizeof(why)),
		     -EINVAL);
	cr_expect_eq(weir_stack_iface_add(st, &(struct weir_stack_iface_conf){.vlan = 4095}, why,
					  sizeof(why)),
		     -EINVAL);
	cr_expect_eq(weir_stack_iface_add(st, &(struct weir_stack_iface_conf){.name = "eth0",
									     .port_id = 3},
					  why, sizeof(why)),
		     -EINVAL, "name taken");
	cr_expect_eq(weir_stack_iface_add(st, &(struct weir_stack_iface_conf){.name = "x"}, why,
					  sizeof(why)),
		     -EEXIST, "port 0 untagged is eth0's");
	cr_expect(strstr(why, "eth0"), "%s", why);
	cr_expect_eq(weir_stack_iface_add(st, &(struct weir_stack_iface_conf){.mac = {1}}, why,
					  sizeof(why)),
		     -EINVAL, "multicast MAC");
	cr_expect_eq(weir_stack_iface_add(st,
					  &(struct weir_stack_iface_conf){.port_id = 1,
									 .addr = IP(10, 0, 0, 9),
									 .prefix = 24},
					  why, sizeof(why)),
		     -EEXIST, "same subnet as eth0");
	for (int i = 1; i < WEIR_STACK_IFACE_MAX; i++)
		cr_assert_eq(weir_stack_iface_add(st,
						  &(struct weir_stack_iface_conf){
							  .port_id = (uint16_t)i,
							  .addr = IP(10, 1, i, 1),
							  .prefix = 24,
							  .no_garp = true},
						  why, sizeof(why)),
			     i, "%s", why);
	cr_expect_eq(weir_stack_iface_add(st, &(struct weir_stack_iface_conf){.port_id = 99}, why,
					  sizeof(why)),
		     -ENOSPC);
	cr_expect_eq(weir_stack_iface_find(st, "if5"), 5);
	cr_expect_eq(weir_stack_iface_find(st, "nope"), -ENOENT);
	cr_expect_eq(weir_stack_nb_ifaces(st), WEIR_STACK_IFACE_MAX);
	weir_stack_destroy(st);
}

Test(stack_eth, create_refuses_bad_configurations)
{
	struct weir_pool *tiny;
	int err;

	cr_expect_null(weir_stack_create(&(struct weir_stack_conf){0}, &err));
	cr_expect_eq(err, -EINVAL, "no pool");
	cr_expect_null(weir_stack_create(&(struct weir_stack_conf){.pool = pool, .frag_budget = 100,
								   .frag_budget_source = 200},
					 &err));
	cr_expect_eq(err, -EINVAL, "per-source budget above total");
	err = weir_pool_create(&(struct weir_pool_conf){.n = 8, .buf_size = 512, .headroom = 64,
							 .huge = 2}, &tiny);
	cr_assert_eq(err, 0, "tiny pool: %d", err);
	cr_expect_null(weir_stack_create(&(struct weir_stack_conf){.pool = tiny}, &err));
	cr_expect_eq(err, -EINVAL, "buffers too small for an ICMP error");
	weir_pool_destroy(tiny);
}

Test(stack_eth, xstats_have_unique_names_and_match_lookups)
{
	struct weir_stack *st = t_stack();
	struct weir_xstat xs[256];
	int n = weir_stack_xstats(st, xs, 256);
	uint64_t v;

	cr_assert_gt(n, 60);
	cr_assert_lt(n, 256);
	cr_expect_eq(weir_stack_xstats(st, xs, 3), n, "count whatever n");
	n = weir_stack_xstats(st, xs, 256);
	for (int i = 0; i < n; i++) {
		cr_expect_neq(xs[i].name[0], '\0');
		for (int j = 0; j < i; j++)
			cr_expect_str_neq(xs[i].name, xs[j].name);
		cr_expect_eq(weir_stack_xstat(st, xs[i].name, &v), 0);
		cr_expect_eq(v, xs[i].value, "%s", xs[i].name);
	}
	cr_expect_eq(weir_stack_xstat(st, "no_such_counter", &v), -ENOENT);
	cr_expect_eq(t_xstat(st, "frag_budget_bytes"), 4u << 20);
	weir_stack_destroy(st);
}
