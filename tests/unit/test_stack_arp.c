// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for stack/arp.c: answering requests for our address only,
 * learning from them, refusing unsolicited and spoofed replies (no
 * poisoning), resolution with packets waiting (per-neighbour and total
 * bounds), retries and giving up, REACHABLE -> STALE -> PROBE -> gone,
 * garbage collection, gratuitous announcements, address conflicts, bad
 * senders, malformed packets, a full table (strangers evict nothing, our
 * own resolutions evict the least recently used entry).
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

TestSuite(stack_arp, .init = init, .fini = fini, .timeout = 60);

static const uint8_t mac_evil[6] = {0x02, 0, 0, 0, 0, 0x66};
static const uint8_t zero6[6];

static void in_arp(struct weir_stack *st, uint16_t op, const uint8_t sha[6], uint32_t spa,
		   uint32_t tpa, const uint8_t edst[6], weir_ns_t now)
{
	uint8_t f[64];
	size_t len = t_arp_frame(f, edst, sha, op, sha, spa, op == 2 ? mac_us : zero6, tpa);

	t_in(st, f, len, now);
}

/* A UDP datagram of len bytes from a socket on port 5000 to dst:7. */
static int send_to(struct weir_stack *st, struct weir_udp_sock *s, uint32_t dst, uint16_t len)
{
	struct weir_pkt *p = weir_pkt_alloc(pool);
	int err;

	cr_assert_not_null(p);
	memset(weir_pkt_put(p, len), 0xab, len);
	err = weir_udp_sendto(s, p, &(struct weir_udp_addr){dst, 7});
	if (err)
		weir_pkt_free(p);
	(void)st;
	return err;
}

static struct weir_udp_sock *sock(struct weir_stack *st)
{
	int err;
	struct weir_udp_sock *s = weir_udp_open(st, NULL, &err);

	cr_assert_not_null(s);
	cr_assert_eq(weir_udp_bind(s, 0, 5000), 0);
	return s;
}

Test(stack_arp, request_for_us_is_answered_and_teaches_the_sender)
{
	struct weir_stack *st = t_stack();
	uint8_t out[128], mac[6];

	in_arp(st, 1, mac_peer, IP_PEER, IP_US, mac_bcast, 0);
	cr_assert_eq(t_out1(st, 0, out), 60);
	cr_expect_arr_eq(out, mac_peer, 6, "to the asker");
	cr_expect_arr_eq(out + 6, mac_us, 6);
	cr_expect_eq(get16(out + 12), 0x0806);
	cr_expect_eq(get16(out + 14), 1);
	cr_expect_eq(get16(out + 16), 0x0800);
	cr_expect_eq(out[18], 6);
	cr_expect_eq(out[19], 4);
	cr_expect_eq(get16(out + 20), 2, "reply");
	cr_expect_arr_eq(out + 22, mac_us, 6);
	cr_expect_eq(get32(out + 28), IP_US);
	cr_expect_arr_eq(out + 32, mac_peer, 6);
	cr_expect_eq(get32(out + 38), IP_PEER);
	for (int i = 42; i < 60; i++)
		cr_expect_eq(out[i], 0, "padding");
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, mac), WEIR_NEIGH_REACHABLE);
	cr_expect_arr_eq(mac, mac_peer, 6);
	cr_expect_eq(t_xstat(st, "arp_tx_replies"), 1);
	cr_expect_eq(t_xstat(st, "neigh_entries"), 1);
	weir_stack_destroy(st);
}

Test(stack_arp, request_for_another_address_is_neither_answered_nor_learnt)
{
	struct weir_stack *st = t_stack();

	in_arp(st, 1, mac_peer, IP_PEER, IP(10, 0, 0, 77), mac_bcast, 0);
	cr_expect_eq(weir_stack_pending(st, 0), 0);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_NONE);
	cr_expect_eq(t_xstat(st, "arp_rx_not_ours"), 1);
	weir_stack_destroy(st);
}

Test(stack_arp, unsolicited_reply_does_not_poison)
{
	struct weir_stack *st = t_stack();
	uint8_t mac[6];

	/* Nobody asked about .2: no entry appears. */
	in_arp(st, 2, mac_evil, IP_PEER, IP_US, mac_us, 0);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_NONE);
	/* Known .2: a reply nobody asked for does not move it. */
	t_learn_peer(st, 0);
	in_arp(st, 2, mac_evil, IP_PEER, IP_US, mac_us, 1);
	in_arp(st, 2, mac_evil, IP_PEER, IP_PEER, mac_bcast, 2); /* gratuitous reply */
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, mac), WEIR_NEIGH_REACHABLE);
	cr_expect_arr_eq(mac, mac_peer, 6);
	cr_expect_eq(t_xstat(st, "arp_rx_unsolicited"), 3, "gratuitous replies too");
	cr_expect_eq(weir_stack_pending(st, 0), 0);
	weir_stack_destroy(st);
}

Test(stack_arp, solicited_reply_resolves_and_sends_what_waited)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock(st);
	struct weir_pkt *p[8];
	uint8_t out[2048], mac[6];

	cr_assert_eq(send_to(st, s, IP_PEER, 100), 0);
	cr_assert_eq(send_to(st, s, IP_PEER, 200), 0);
	/* One broadcast request, the datagrams wait. */
	cr_assert_eq(t_out1(st, 0, out), 60);
	cr_expect_arr_eq(out, mac_bcast, 6);
	cr_expect_eq(get16(out + 20), 1);
	cr_expect_arr_eq(out + 32, zero6, 6);
	cr_expect_eq(get32(out + 38), IP_PEER);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_INCOMPLETE);
	cr_expect_eq(t_xstat(st, "neigh_queued"), 2);
	/* A reply from someone else for .2 but to another address: refused. */
	in_arp(st, 2, mac_evil, IP_PEER, IP(10, 0, 0, 99), mac_us, 0);
	cr_expect_eq(weir_stack_pending(st, 0), 0);
	/* The answer. */
	in_arp(st, 2, mac_peer, IP_PEER, IP_US, mac_us, 1);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, mac), WEIR_NEIGH_REACHABLE);
	cr_expect_arr_eq(mac, mac_peer, 6);
	cr_assert_eq(weir_stack_drain(st, 0, p, 8), 2);
	for (int i = 0; i < 2; i++) {
		t_flat(p[i], out);
		cr_expect_arr_eq(out, mac_peer, 6);
		cr_expect_eq(get16(out + 14 + 2), 28 + 100 * (i + 1), "in order");
	}
	weir_pkt_free_bulk(p, 2);
	cr_expect_eq(t_xstat(st, "neigh_queued"), 0);
	cr_expect_eq(t_xstat(st, "arp_rx_unsolicited"), 1);
	/* A second answer is not asked for. */
	in_arp(st, 2, mac_evil, IP_PEER, IP_US, mac_us, 2);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, mac), WEIR_NEIGH_REACHABLE);
	cr_expect_arr_eq(mac, mac_peer, 6);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_arp, waiting_queue_is_bounded_per_neighbour_and_in_all)
{
	struct weir_stack *st = t_stack_conf((struct weir_stack_conf){.neigh_queue = 4,
								     .neigh_queue_total = 6});
	struct weir_udp_sock *s = sock(st);

	for (int i = 0; i < 10; i++)
		cr_assert_eq(send_to(st, s, IP_PEER, 10), 0, "dropped is still sent");
	cr_expect_eq(t_xstat(st, "neigh_queued"), 4);
	cr_expect_eq(t_xstat(st, "arp_drop_queue_full"), 6);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(send_to(st, s, IP(10, 0, 0, 3), 10), 0);
	cr_expect_eq(t_xstat(st, "neigh_queued"), 6);
	cr_expect_eq(t_xstat(st, "arp_drop_queue_full"), 14);
	cr_expect_eq(t_out_free(st, 0), 2, "one request each");
	weir_udp_close(s);
	weir_stack_destroy(st); /* frees what waits */
}

Test(stack_arp, unanswered_requests_give_up_and_drop_what_waited)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock(st);

	cr_assert_eq(send_to(st, s, IP_PEER, 10), 0);
	cr_assert_eq(send_to(st, s, IP_PEER, 10), 0);
	cr_expect_eq(t_out_free(st, 0), 1);
	weir_stack_timer(st, 999 * MS);
	cr_expect_eq(weir_stack_pending(st, 0), 0, "not yet");
	weir_stack_timer(st, 1 * SEC);
	cr_expect_eq(t_out_free(st, 0), 1, "second request");
	weir_stack_timer(st, 2 * SEC);
	cr_expect_eq(t_out_free(st, 0), 1, "third request");
	cr_expect_eq(t_xstat(st, "arp_tx_requests"), 3);
	weir_stack_timer(st, 3 * SEC);
	cr_expect_eq(weir_stack_pending(st, 0), 0, "no fourth");
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_NONE);
	cr_expect_eq(t_xstat(st, "arp_drop_unresolved"), 2);
	cr_expect_eq(t_xstat(st, "neigh_queued"), 0);
	/* A late answer finds nothing to update. */
	in_arp(st, 2, mac_peer, IP_PEER, IP_US, mac_us, 4 * SEC);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_NONE);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_arp, reachable_goes_stale_then_probes_then_goes)
{
	struct weir_stack *st = t_stack();
	struct weir_udp_sock *s = sock(st);
	struct weir_pkt *p[4];
	uint8_t out[256];

	t_learn_peer(st, 0);
	weir_stack_timer(st, 30 * SEC - 1);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_REACHABLE);
	weir_stack_timer(st, 30 * SEC);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_STALE);
	/* Used while stale: sent at once to the old MAC, and a unicast probe. */
	cr_assert_eq(send_to(st, s, IP_PEER, 10), 0);
	cr_assert_eq(weir_stack_drain(st, 0, p, 4), 2);
	t_flat(p[0], out);
	cr_expect_eq(get16(out + 12), 0x0806, "probe first");
	cr_expect_arr_eq(out, mac_peer, 6, "unicast");
	t_flat(p[1], out);
	cr_expect_eq(get16(out + 12), 0x0800);
	cr_expect_arr_eq(out, mac_peer, 6);
	weir_pkt_free_bulk(p, 2);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_PROBE);
	/* Answered: reachable again. */
	in_arp(st, 2, mac_peer, IP_PEER, IP_US, mac_us, 30 * SEC + 10 * MS);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_REACHABLE);
	/* Stale again, probed, never answered: gone after three probes. */
	weir_stack_timer(st, 61 * SEC);
	cr_assert_eq(send_to(st, s, IP_PEER, 10), 0);
	cr_expect_eq(t_out_free(st, 0), 2);
	weir_stack_timer(st, 62 * SEC);
	weir_stack_timer(st, 63 * SEC);
	cr_expect_eq(t_out_free(st, 0), 2, "probes 2 and 3");
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_PROBE);
	weir_stack_timer(st, 64 * SEC);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_NONE);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_arp, unused_stale_entries_are_collected)
{
	struct weir_stack *st = t_stack();

	t_learn_peer(st, 0);
	weir_stack_timer(st, 30 * SEC);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_STALE);
	weir_stack_timer(st, 59 * SEC);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_STALE);
	weir_stack_timer(st, 60 * SEC);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_NONE);
	cr_expect_eq(t_xstat(st, "neigh_entries"), 0);
	weir_stack_destroy(st);
}

Test(stack_arp, gratuitous_announcements_refresh_but_never_change)
{
	struct weir_stack *st = t_stack();
	uint8_t mac[6];

	/* Unknown sender: not learnt. */
	in_arp(st, 1, mac_peer, IP_PEER, IP_PEER, mac_bcast, 0);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_NONE);
	t_learn_peer(st, 0);
	weir_stack_timer(st, 30 * SEC);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_STALE);
	in_arp(st, 1, mac_peer, IP_PEER, IP_PEER, mac_bcast, 31 * SEC);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_REACHABLE, "refreshed");
	in_arp(st, 1, mac_evil, IP_PEER, IP_PEER, mac_bcast, 32 * SEC);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, mac), WEIR_NEIGH_REACHABLE);
	cr_expect_arr_eq(mac, mac_peer, 6);
	cr_expect_eq(t_xstat(st, "arp_rx_update_refused"), 1);
	cr_expect_eq(weir_stack_pending(st, 0), 0, "never answered");
	weir_stack_destroy(st);
}

Test(stack_arp, request_does_not_move_a_reachable_entry_but_fixes_a_stale_one)
{
	struct weir_stack *st = t_stack();
	uint8_t mac[6];

	t_learn_peer(st, 0);
	in_arp(st, 1, mac_evil, IP_PEER, IP_US, mac_bcast, 1);
	cr_expect_eq(t_out_free(st, 0), 1, "still answered");
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, mac), WEIR_NEIGH_REACHABLE);
	cr_expect_arr_eq(mac, mac_peer, 6);
	cr_expect_eq(t_xstat(st, "arp_rx_update_refused"), 1);
	weir_stack_timer(st, 30 * SEC);
	in_arp(st, 1, mac_evil, IP_PEER, IP_US, mac_bcast, 31 * SEC);
	cr_expect_eq(t_out_free(st, 0), 1);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, mac), WEIR_NEIGH_REACHABLE);
	cr_expect_arr_eq(mac, mac_evil, 6, "a host that moved, after 30 s");
	weir_stack_destroy(st);
}

Test(stack_arp, our_own_address_claimed_is_a_conflict)
{
	struct weir_stack *st = t_stack();

	in_arp(st, 1, mac_evil, IP_US, IP_PEER, mac_bcast, 0);
	in_arp(st, 2, mac_evil, IP_US, IP_US, mac_bcast, 0);
	cr_expect_eq(t_xstat(st, "arp_rx_conflict"), 2);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_US, NULL), WEIR_NEIGH_NONE);
	cr_expect_eq(weir_stack_pending(st, 0), 0);
	weir_stack_destroy(st);
}

Test(stack_arp, impossible_senders_are_refused)
{
	struct weir_stack *st = t_stack();
	const uint8_t mc[6] = {0x01, 0, 0x5e, 0, 0, 1};
	const uint32_t bad_ips[] = {IP(224, 0, 0, 1), IP(255, 255, 255, 255), IP(10, 0, 0, 255),
				    IP(127, 0, 0, 1), IP(0, 1, 2, 3)};

	in_arp(st, 1, mc, IP_PEER, IP_US, mac_bcast, 0);
	in_arp(st, 1, mac_bcast, IP_PEER, IP_US, mac_bcast, 0);
	in_arp(st, 1, zero6, IP_PEER, IP_US, mac_bcast, 0);
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(bad_ips); i++)
		in_arp(st, 1, mac_peer, bad_ips[i], IP_US, mac_bcast, 0);
	cr_expect_eq(t_xstat(st, "arp_rx_bad_sender"), 3 + WEIR_ARRAY_SIZE(bad_ips));
	cr_expect_eq(t_xstat(st, "neigh_entries"), 0);
	cr_expect_eq(weir_stack_pending(st, 0), 0);
	weir_stack_destroy(st);
}

Test(stack_arp, address_probe_is_answered_not_learnt)
{
	struct weir_stack *st = t_stack();
	uint8_t out[128];

	/* RFC 5227: sender 0.0.0.0 asks whether our address is taken. */
	in_arp(st, 1, mac_peer, 0, IP_US, mac_bcast, 0);
	cr_assert_eq(t_out1(st, 0, out), 60);
	cr_expect_eq(get16(out + 20), 2);
	cr_expect_arr_eq(out, mac_peer, 6);
	cr_expect_eq(t_xstat(st, "neigh_entries"), 0);
	weir_stack_destroy(st);
}

Test(stack_arp, malformed_packets_are_counted)
{
	struct weir_stack *st = t_stack();
	uint8_t f[64];
	size_t len;

	for (int c = 0; c < 6; c++) {
		len = t_arp_frame(f, mac_bcast, mac_peer, 1, mac_peer, IP_PEER, zero6, IP_US);
		switch (c) {
		case 0: put16(f + 14, 6); break;        /* htype */
		case 1: put16(f + 16, 0x86dd); break;   /* ptype */
		case 2: f[18] = 8; break;               /* hlen */
		case 3: f[19] = 16; break;              /* plen */
		case 4: put16(f + 20, 3); break;        /* op (RARP) */
		default: len -= 1; break;               /* one byte short */
		}
		t_in(st, f, len, 0);
	}
	cr_expect_eq(t_xstat(st, "arp_rx_bad"), 6);
	cr_expect_eq(t_xstat(st, "neigh_entries"), 0);
	cr_expect_eq(weir_stack_pending(st, 0), 0);
	weir_stack_destroy(st);
}

Test(stack_arp, full_table_takes_no_strangers_but_evicts_for_our_own_use)
{
	struct weir_stack *st = t_stack_conf((struct weir_stack_conf){.neigh_max = 4});
	struct weir_udp_sock *s = sock(st);
	uint8_t mac[6] = {0x02, 0, 0, 0, 1, 0};

	for (int i = 0; i < 10; i++) {
		mac[5] = (uint8_t)i;
		in_arp(st, 1, mac, IP(10, 0, 0, 100 + i), IP_US, mac_bcast, (weir_ns_t)i);
	}
	cr_expect_eq(t_out_free(st, 0), 10, "all answered");
	cr_expect_eq(t_xstat(st, "neigh_entries"), 4);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP(10, 0, 0, 103), NULL), WEIR_NEIGH_REACHABLE);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP(10, 0, 0, 104), NULL), WEIR_NEIGH_NONE);
	/* Our own resolution takes the least recently used (.100). */
	cr_assert_eq(send_to(st, s, IP_PEER, 10), 0);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_INCOMPLETE);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP(10, 0, 0, 100), NULL), WEIR_NEIGH_NONE);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP(10, 0, 0, 101), NULL), WEIR_NEIGH_REACHABLE);
	cr_expect_eq(t_xstat(st, "neigh_entries"), 4);
	/* With every entry waiting for an answer, nothing can be evicted. */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(send_to(st, s, IP(10, 0, 0, 20 + i), 10), 0);
	cr_assert_eq(send_to(st, s, IP(10, 0, 0, 30), 10), 0);
	cr_expect_eq(t_xstat(st, "arp_drop_table_full"), 1);
	t_out_free(st, 0);
	weir_udp_close(s);
	weir_stack_destroy(st);
}

Test(stack_arp, storm_of_requests_keeps_the_table_bounded)
{
	struct weir_stack *st = t_stack_conf((struct weir_stack_conf){.neigh_max = 64});
	uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0};

	for (uint32_t i = 0; i < 5000; i++) {
		mac[3] = (uint8_t)(i >> 16);
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		in_arp(st, i & 1 ? 1 : 2, mac, IP(10, 0, (i >> 8) & 0xff, i & 0xff) | 0x2,
		       i & 1 ? IP_US : IP(10, 0, 0, 200), i & 1 ? mac_bcast : mac_us, i);
		if (weir_stack_pending(st, 0) > 100)
			t_out_free(st, 0);
	}
	t_out_free(st, 0);
	cr_expect_leq(t_xstat(st, "neigh_entries"), 64);
	cr_expect_eq(t_xstat(st, "arp_rx_unsolicited"), 2500);
	weir_stack_destroy(st);
}

/* Regression: the timer scanned the cache at most every 10 ms, so an entry
 * due 1 ns after a scan waited for the next window (REACHABLE at 30 s - 1
 * was still REACHABLE at 30 s). */
Test(stack_arp, timer_sees_an_entry_due_right_after_a_scan)
{
	struct weir_stack *st = t_stack();

	t_learn_peer(st, 0);
	weir_stack_timer(st, 30 * SEC - 1);
	weir_stack_timer(st, 30 * SEC);
	cr_expect_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_STALE);
	weir_stack_destroy(st);
}
