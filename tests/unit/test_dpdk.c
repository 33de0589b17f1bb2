// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the dpdk: bridge (pmd/dpdk*.c) over DPDK's in-memory
 * vdevs, in an EAL each test process starts itself (--no-huge here):
 * net_ring0 with no arguments is a loopback, so what weir sends comes back
 * as a received mbuf, which proves both directions. Zero copy is checked
 * where it shows: the bytes received sit at the very address weir sent
 * them from, and the copy counters stay 0. Chains become multi-segment
 * mbufs and back, partial checksums are completed on a port that cannot
 * take them, super-frames it cannot segment are dropped and counted, and
 * every buffer comes home (fini fails on a leaked packet). An mbuf from a
 * mempool weir did not make is copied, and counted. The device's RSS hash
 * and checksum verdict reach the packet; without huge pages the RX mbufs
 * are packed, not one per page. Specs that are wrong
 * are refused with a message that says why.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "weir/lcore.h"
#include "weir/port.h"
#include "offload_helpers.h"

static struct weir_pool *pool;
static struct weir_port_conf conf;

static void init(void)
{
	int err;

	weir_lcore_set_id(WEIR_LCORE_ANY);
	err = weir_pool_create(&(struct weir_pool_conf){.name = "dpdk", .n = 4096, .huge = 2},
			       &pool);
	cr_assert_eq(err, 0, "pool: %d", err);
	conf = (struct weir_port_conf){.pool = pool};
}

static void fini(void)
{
	uint32_t left = weir_pool_in_use(pool);

	weir_pool_destroy(pool);
	if (left) {
		cr_log_error("leaked %u packet buffers", left);
		abort();
	}
}

TestSuite(dpdk, .init = init, .fini = fini, .timeout = 60);

static struct weir_port *open_ok(const char *spec)
{
	struct weir_port *port = NULL;
	char why[WEIR_PORT_ERRSIZE] = "";
	int err = weir_port_open(spec, &conf, &port, why, sizeof(why));

	cr_assert_eq(err, 0, "%s: %d %s", spec, err, why);
	return port;
}

static uint64_t xstat(struct weir_port *port, const char *name)
{
	struct weir_xstat xs[512];
	int n = weir_port_xstats_get(port, xs, 512);

	for (int i = 0; i < n && i < 512; i++)
		if (!strcmp(xs[i].name, name))
			return xs[i].value;
	cr_assert_fail("no xstat %s (of %d)", name, n);
	return 0;
}

/* Receives until n packets arrived (net_ring hands them over at once). */
static uint16_t rx_all(struct weir_port *port, struct weir_pkt **pkts, uint16_t n)
{
	uint16_t got = 0;

	for (int tries = 0; got < n && tries < 1000; tries++)
		got += weir_port_rx_burst(port, 0, pkts + got, n - got);
	return got;
}

Test(dpdk, ring_loopback_zero_copy_byte_exact)
{
	struct weir_port *port = open_ok("dpdk:net_ring0");
	struct weir_pkt *tx[100], *rx[100];
	uint8_t *sent_at[100];
	struct weir_port_stats st;

	for (int i = 0; i < 100; i++) {
		uint16_t len = (uint16_t)(60 + i * 13);

		tx[i] = weir_pkt_alloc(pool);
		cr_assert_not_null(tx[i]);
		uint8_t *d = weir_pkt_put(tx[i], len);

		for (uint16_t k = 0; k < len; k++)
			d[k] = (uint8_t)(i * 31 + k);
		sent_at[i] = d;
	}
	cr_assert_eq(weir_port_tx_burst(port, 0, tx, 100), 100);
	cr_assert_eq(rx_all(port, rx, 100), 100);
	for (int i = 0; i < 100; i++) {
		uint16_t len = (uint16_t)(60 + i * 13);
		const uint8_t *d = weir_pkt_data(rx[i]);

		cr_assert_eq(rx[i]->pkt_len, len, "packet %d: %u bytes", i, rx[i]->pkt_len);
		cr_assert_eq(rx[i]->nb_segs, 1);
		cr_assert_eq(d, sent_at[i], "packet %d was copied (received at another address)", i);
		for (uint16_t k = 0; k < len; k++)
			cr_assert_eq(d[k], (uint8_t)(i * 31 + k), "packet %d byte %u", i, k);
		cr_assert_eq(rx[i]->port, weir_port_id(port));
	}
	/* Sent packets stay alive under the received ones, which take no
	 * weir metadata (it sits in the mbufs): 100 buffers. */
	cr_assert_eq(weir_pool_in_use(pool), 100);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(rx[i]->flags, WEIR_PKT_F_EMBEDDED, "packet %d not embedded", i);
	weir_pkt_free_bulk(rx, 100);
	cr_assert_eq(weir_pool_in_use(pool), 0, "the last reference did not free both");
	cr_assert_eq(xstat(port, "rx_copied"), 0);
	cr_assert_eq(xstat(port, "tx_copied"), 0);
	cr_assert_eq(xstat(port, "dpdk_rx_good_packets"), 100);
	cr_assert_eq(xstat(port, "dpdk_tx_good_packets"), 100);
	weir_port_stats_get(port, &st);
	cr_assert_eq(st.ipackets, 100);
	cr_assert_eq(st.opackets, 100);
	cr_assert_eq(st.imissed, 0);
	weir_port_close(port);
}

/* Forwarding: a received frame sent on goes out in its own mbuf. */
Test(dpdk, ring_received_frames_go_out_in_their_own_mbuf)
{
	struct weir_port *port = open_ok("dpdk:net_ring0");
	struct weir_pkt *tx[64], *rx[64], *back[64];
	uint8_t *at[64];

	cr_assert_eq(weir_pkt_alloc_bulk(pool, tx, 64), 0);
	for (int i = 0; i < 64; i++)
		memset(weir_pkt_put(tx[i], (uint16_t)(64 + i)), i, (size_t)(64 + i));
	cr_assert_eq(weir_port_tx_burst(port, 0, tx, 64), 64);
	cr_assert_eq(rx_all(port, rx, 64), 64);
	for (int i = 0; i < 64; i++)
		at[i] = weir_pkt_data(rx[i]);
	/* The RX metadata leaves with each mbuf. */
	cr_assert_eq(weir_port_tx_burst(port, 0, rx, 64), 64);
	cr_assert_eq(xstat(port, "tx_reused"), 64);
	cr_assert_eq(weir_pool_in_use(pool), 64, "only the buffers first sent are out");
	cr_assert_eq(rx_all(port, back, 64), 64);
	for (int i = 0; i < 64; i++) {
		cr_assert_eq(weir_pkt_data(back[i]), at[i], "frame %d moved", i);
		cr_assert_eq(back[i]->pkt_len, 64u + (unsigned)i);
		for (int k = 0; k < 64 + i; k++)
			cr_assert_eq(weir_pkt_data(back[i])[k], (uint8_t)i);
	}
	weir_pkt_free_bulk(back, 64);
	cr_assert_eq(weir_pool_in_use(pool), 0);
	cr_assert_eq(xstat(port, "tx_copied") + xstat(port, "rx_copied"), 0);
	weir_port_close(port);
}

Test(dpdk, ring_chain_is_multi_segment_both_ways)
{
	struct weir_port *port = open_ok("dpdk:net_ring0");
	uint8_t f[3000], back[3000];
	const uint32_t cuts[] = {100, 1500};
	struct weir_pkt *p = NULL, *rx = NULL;

	for (uint32_t i = 0; i < sizeof(f); i++)
		f[i] = pattern(9, i);
	p = mkchain(pool, f, sizeof(f), cuts, 2);
	cr_assert_eq(p->nb_segs, 3);
	cr_assert_eq(weir_port_tx_burst(port, 0, &p, 1), 1);
	cr_assert_eq(rx_all(port, &rx, 1), 1);
	cr_assert_eq(rx->nb_segs, 3, "chain of %u", rx->nb_segs);
	cr_assert_eq(rx->data_len, 100);
	cr_assert_eq(rx->next->data_len, 1400);
	cr_assert_eq(flat(rx, back, sizeof(back)), sizeof(f));
	cr_assert_arr_eq(back, f, sizeof(f));
	cr_assert_eq(xstat(port, "tx_copied"), 0);
	weir_pkt_free(rx);
	weir_port_close(port);
}

Test(dpdk, ring_partial_checksum_completed_for_a_port_without_offload)
{
	struct weir_port *port = open_ok("dpdk:net_ring0");
	uint8_t f[256], back[256];
	struct frame fr = build(f, &(struct fspec){.ipv = 4, .proto = 17, .payload = 100,
						  .ck = CK_PARTIAL, .seed = 3});
	struct weir_pkt *p = mkchain(pool, f, fr.len, NULL, 0), *rx = NULL;
	struct ref_hdrs h;

	p->ol_flags |= WEIR_PKT_OL_CSUM_PARTIAL;
	p->csum_start = (uint16_t)fr.l4;
	p->csum_offset = 6;
	cr_assert_eq(weir_port_tx_offloads(port) & WEIR_PORT_OFFLOAD_CSUM, 0,
		     "net_ring claims checksum offload");
	cr_assert_eq(weir_port_tx_burst(port, 0, &p, 1), 1);
	cr_assert_eq(rx_all(port, &rx, 1), 1);
	flat(rx, back, sizeof(back));
	cr_assert(ref_parse(back, rx->pkt_len, &h));
	cr_assert(ref_l4_ok(back, &h), "checksum not completed: %04x", ref_field(back, &h));
	cr_assert_eq(xstat(port, "tx_csum_completed"), 1);
	weir_pkt_free(rx);
	weir_port_close(port);
}

Test(dpdk, ring_super_frame_dropped_and_counted)
{
	struct weir_port *port = open_ok("dpdk:net_ring0");
	uint8_t f[4000];
	struct frame fr = build(f, &(struct fspec){.ipv = 4, .proto = 6, .payload = 3000,
						  .ck = CK_PARTIAL});
	const uint32_t cuts[] = {1800};
	struct weir_pkt *p[2], *rx = NULL;

	p[0] = mkchain(pool, f, fr.len, cuts, 1);
	p[0]->gso_type = WEIR_PKT_GSO_TCPV4;
	p[0]->gso_size = 1448;
	p[1] = weir_pkt_alloc(pool);
	memset(weir_pkt_put(p[1], 64), 0x5a, 64);
	/* Taken (dropped, counted), and the frame after it still goes. */
	cr_assert_eq(weir_port_tx_burst(port, 0, p, 2), 2);
	cr_assert_eq(xstat(port, "tx_too_big"), 1);
	cr_assert_eq(rx_all(port, &rx, 1), 1);
	cr_assert_eq(rx->pkt_len, 64);
	weir_pkt_free(rx);
	weir_port_close(port);
}

/* A clone of a received frame cannot take its mbuf (the original still
 * holds it): it goes out in a header mbuf over the same buffer, no copy. */
Test(dpdk, ring_clone_of_a_received_frame_goes_out_zero_copy)
{
	struct weir_port *port = open_ok("dpdk:net_ring0");
	struct weir_pkt *p = weir_pkt_alloc(pool), *rx = NULL, *c = NULL, *back = NULL;

	memset(weir_pkt_put(p, 100), 0x3c, 100);
	cr_assert_eq(weir_port_tx_burst(port, 0, &p, 1), 1);
	cr_assert_eq(rx_all(port, &rx, 1), 1);
	cr_assert_eq(weir_pkt_clone(rx, pool, &c), 0);
	cr_assert_eq(weir_pkt_refcnt(rx), 2);
	cr_assert_eq(weir_port_tx_burst(port, 0, &c, 1), 1);
	cr_assert_eq(xstat(port, "tx_reused"), 0, "a shared mbuf was sent as its own");
	cr_assert_eq(rx_all(port, &back, 1), 1);
	cr_assert_eq(weir_pkt_data(back), weir_pkt_data(rx), "the clone was copied");
	cr_assert_eq(back->pkt_len, 100);
	cr_assert_eq(xstat(port, "tx_copied") + xstat(port, "rx_copied"), 0);
	weir_pkt_free(rx);
	/* The first frame's buffer and the clone, which the mbuf received
	 * back still holds. */
	cr_assert_eq(weir_pool_in_use(pool), 2, "the frame went while a clone still held it");
	weir_pkt_free(back);
	cr_assert_eq(weir_pool_in_use(pool), 0);
	weir_port_close(port);
}

/* Received frames the ring cannot take stay the caller's, intact, and
 * still go out later in their own mbufs. */
Test(dpdk, ring_full_leaves_received_frames_with_the_caller)
{
	struct weir_port *port = open_ok("dpdk:net_ring0");
	struct weir_pkt *fill[64], *rx[64], *more[64];
	uint16_t taken = 0, n;

	for (int k = 0; k < 64; k++) { /* fill the ring */
		cr_assert_eq(weir_pkt_alloc_bulk(pool, fill, 64), 0);
		for (int i = 0; i < 64; i++)
			memset(weir_pkt_put(fill[i], 64), i, 64);
		n = weir_port_tx_burst(port, 0, fill, 64);
		weir_pkt_free_bulk(fill + n, 64u - n);
		taken += n;
		if (n < 64)
			break;
	}
	cr_assert_lt(taken, 64 * 64, "the ring never filled");
	cr_assert_eq(rx_all(port, rx, 64), 64);
	cr_assert_eq(weir_pkt_alloc_bulk(pool, more, 64), 0);
	for (int i = 0; i < 64; i++)
		weir_pkt_put(more[i], 64);
	cr_assert_eq(weir_port_tx_burst(port, 0, more, 64), 64, "the ring had room for 64");
	cr_assert_eq(weir_port_tx_burst(port, 0, rx, 64), 0, "a full ring took frames");
	for (int i = 0; i < 64; i++) {
		cr_assert_eq(rx[i]->flags, WEIR_PKT_F_EMBEDDED);
		cr_assert_eq(rx[i]->pkt_len, 64);
		cr_assert_eq(weir_pkt_data(rx[i])[63], (uint8_t)i, "frame %d changed", i);
	}
	weir_pkt_free_bulk(rx, 64);
	weir_port_close(port);
	cr_assert_eq(weir_pool_in_use(pool), 0);
}

/* Received frames the application frees go back to their mempool: far
 * more bursts than the pool has mbufs keep coming. */
Test(dpdk, null_freed_frames_return_their_mbufs)
{
	struct weir_port *port = open_ok("dpdk:net_null0,size=64?mbufs=512");
	struct weir_pkt *pkts[32];

	for (int k = 0; k < 200; k++) {
		cr_assert_eq(weir_port_rx_burst(port, 0, pkts, 32), 32, "burst %d: mbufs leak", k);
		cr_assert_eq(pkts[0]->flags, WEIR_PKT_F_EMBEDDED);
		if (k % 2)
			weir_pkt_free_bulk(pkts, 32);
		else
			for (int i = 0; i < 32; i++)
				weir_pkt_free(pkts[i]);
	}
	cr_assert_eq(weir_pool_in_use(pool), 0, "received frames took weir metadata");
	weir_port_close(port);
}

/* Without huge pages DPDK's own mempools give each 2.6 KiB mbuf a 4 KiB
 * page of its own, all at one page offset: the same few L1 sets for every
 * mbuf in flight. weir packs its RX pool, so a burst spreads over the
 * offsets (huge pages pack them too). */
Test(dpdk, null_rx_mbufs_are_packed_across_page_offsets)
{
	struct weir_port *port = open_ok("dpdk:net_null0,size=64");
	struct weir_pkt *pkts[32];
	bool seen[4096 / 64] = {false};
	int offsets = 0;

	cr_assert_eq(weir_port_rx_burst(port, 0, pkts, 32), 32);
	for (int i = 0; i < 32; i++) {
		unsigned line = (unsigned)(((uintptr_t)pkts[i]->buf & 4095) / 64);

		offsets += !seen[line];
		seen[line] = true;
	}
	cr_assert_gt(offsets, 16, "32 RX mbufs at only %d page offsets", offsets);
	weir_pkt_free_bulk(pkts, 32);
	weir_port_close(port);
	cr_assert_eq(weir_pool_in_use(pool), 0);
}

Test(dpdk, ring_frames_left_in_the_ring_are_freed_on_close)
{
	struct weir_port *port = open_ok("dpdk:net_ring0");
	struct weir_pkt *tx[8];

	cr_assert_eq(weir_pkt_alloc_bulk(pool, tx, 8), 0);
	for (int i = 0; i < 8; i++)
		weir_pkt_put(tx[i], 64);
	cr_assert_eq(weir_port_tx_burst(port, 0, tx, 8), 8);
	weir_port_close(port);
	cr_assert_eq(weir_pool_in_use(pool), 0);
}

Test(dpdk, null_receives_and_sends)
{
	struct weir_port *port = open_ok("dpdk:net_null0,size=128?queues=2");
	struct weir_pkt *pkts[32];
	uint16_t n;

	cr_assert_eq(weir_port_nb_rxq(port), 2);
	for (uint16_t q = 0; q < 2; q++) {
		n = weir_port_rx_burst(port, q, pkts, 32);
		cr_assert_eq(n, 32);
		cr_assert_eq(pkts[0]->pkt_len, 128);
		cr_assert_eq(pkts[0]->queue, q);
		cr_assert_eq(weir_port_tx_burst(port, q, pkts, n), n);
	}
	cr_assert_eq(xstat(port, "dpdk_rx_q1_packets"), 32);
	cr_assert_eq(xstat(port, "rx_copied") + xstat(port, "tx_copied"), 0);
	weir_port_close(port);
	cr_assert_eq(weir_pool_in_use(pool), 0);
}

Test(dpdk, foreign_mbufs_are_copied_and_counted)
{
	/* The first port starts EAL; the second is an ethdev made here from
	 * a ring this test fills with mbufs of its own mempool. */
	struct weir_port *first = open_ok("dpdk:net_null0");
	struct rte_ring *r = rte_ring_create("wt_foreign", 64, (int)rte_socket_id(),
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct rte_mempool *mp = rte_pktmbuf_pool_create("wt_foreign", 63, 0, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE,
							 (int)rte_socket_id());
	struct weir_pkt *rx = NULL;
	struct rte_mbuf *m;
	char *d;

	cr_assert(r && mp);
	/* An ethdev EAL has already: weir finds it by name, no probe. */
	cr_assert_geq(rte_eth_from_rings("wtf", &r, 1, &r, 1, rte_socket_id()), 0);
	struct weir_port *port = open_ok("dpdk:net_ring_wtf");

	m = rte_pktmbuf_alloc(mp);
	d = rte_pktmbuf_append(m, 200);
	for (int i = 0; i < 200; i++)
		d[i] = (char)(i * 3);
	cr_assert_eq(rte_ring_enqueue(r, m), 0);
	cr_assert_eq(rx_all(port, &rx, 1), 1);
	cr_assert_eq(rx->pkt_len, 200);
	cr_assert_neq((void *)weir_pkt_data(rx), (void *)d, "a foreign mbuf was not copied");
	for (int i = 0; i < 200; i++)
		cr_assert_eq(weir_pkt_data(rx)[i], (uint8_t)(i * 3));
	cr_assert_eq(xstat(port, "rx_copied"), 1);
	cr_assert(rte_mempool_full(mp), "the foreign mbuf was not given back");
	weir_pkt_free(rx);
	weir_port_close(port);
	weir_port_close(first);
	rte_mempool_free(mp);
	rte_ring_free(r);
}

/* What the device says of a frame (RSS hash, L4 checksum good) reaches its
 * weir packet, whether the frame stays in its mbuf or is copied; a frame
 * it says nothing of gets neither. */
Test(dpdk, device_hash_and_checksum_verdict_reach_the_packet)
{
	struct weir_port *first = open_ok("dpdk:net_null0");
	struct rte_ring *r = rte_ring_create("wt_ol", 64, (int)rte_socket_id(),
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct rte_mempool *mp = rte_pktmbuf_pool_create("wt_ol", 63, 0, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE,
							 (int)rte_socket_id());
	struct weir_pkt *tx[2], *rx[3];
	struct rte_mbuf *m[3];

	cr_assert(r && mp);
	cr_assert_geq(rte_eth_from_rings("wto", &r, 1, &r, 1, rte_socket_id()), 0);
	struct weir_port *port = open_ok("dpdk:net_ring_wto");

	cr_assert_eq(weir_pkt_alloc_bulk(pool, tx, 2), 0);
	for (int i = 0; i < 2; i++)
		memset(weir_pkt_put(tx[i], 60), 0x5a, 60);
	cr_assert_eq(weir_port_tx_burst(port, 0, tx, 2), 2);
	/* Two mbufs of weir's (they carry tx[]) and one of a foreign pool. */
	cr_assert_eq(rte_ring_dequeue(r, (void **)&m[0]), 0);
	cr_assert_eq(rte_ring_dequeue(r, (void **)&m[2]), 0);
	m[1] = rte_pktmbuf_alloc(mp);
	cr_assert(m[1] && rte_pktmbuf_append(m[1], 60));
	for (int i = 0; i < 2; i++) {
		m[i]->ol_flags |= RTE_MBUF_F_RX_RSS_HASH | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
		m[i]->hash.rss = 0x1234u + (uint32_t)i;
	}
	cr_assert_eq(rte_ring_enqueue_bulk(r, (void **)m, 3, NULL), 3);
	cr_assert_eq(rx_all(port, rx, 3), 3);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(rx[i]->hash, 0x1234u + (uint32_t)i, "frame %d: hash %#x", i, rx[i]->hash);
		cr_assert(rx[i]->ol_flags & WEIR_PKT_OL_CSUM_VALID, "frame %d: no checksum verdict", i);
	}
	cr_assert_eq(rx[2]->hash, 0);
	cr_assert_eq(rx[2]->ol_flags & WEIR_PKT_OL_CSUM_VALID, 0);
	cr_assert_eq(xstat(port, "rx_copied"), 1);
	weir_pkt_free_bulk(rx, 3);
	weir_port_close(port);
	weir_port_close(first);
	cr_assert(rte_mempool_full(mp), "the foreign mbuf was not given back");
	rte_mempool_free(mp);
	rte_ring_free(r);
	cr_assert_eq(weir_pool_in_use(pool), 0);
}

static void open_fails(const char *spec, int want, const char *says)
{
	struct weir_port *port = NULL;
	char why[WEIR_PORT_ERRSIZE] = "";
	int err = weir_port_open(spec, &conf, &port, why, sizeof(why));

	cr_assert_eq(err, want, "%s: %d (%s)", spec, err, why);
	cr_assert(strstr(why, says), "%s: message '%s' lacks '%s'", spec, why, says);
}

Test(dpdk, bad_specs_say_why)
{
	open_fails("dpdk:", -EINVAL, "needs DPDK devargs");
	open_fails("dpdk:net_nosuch0", -ENOENT, "cannot probe");
	open_fails("dpdk:net_ring0?queues=20", -EINVAL, "at most 16 RX");
	open_fails("dpdk:net_ring0?promisc=2", -EINVAL, "valid: 0|1");
	/* One device, one weir port. */
	struct weir_port *port = open_ok("dpdk:net_ring0");

	open_fails("dpdk:net_ring0", -EBUSY, "open already");
	weir_port_close(port);
	/* And it opens again once closed. */
	weir_port_close(open_ok("dpdk:net_ring0"));
}

/* Each test is its own process, so each starts EAL anew. */
Test(dpdk, eal_args_from_the_environment)
{
	/* A vdev EAL makes at start: weir opens it without probing. */
	setenv("WEIR_EAL_ARGS", "--vdev net_ring7 -m 256", 1);
	struct weir_port *port = open_ok("dpdk:net_ring7");

	cr_assert_eq(weir_port_nb_rxq(port), 1);
	weir_port_close(port);
}

Test(dpdk, eal_failure_names_its_arguments)
{
	setenv("WEIR_EAL_ARGS", "--no-such-eal-option", 1);
	open_fails("dpdk:net_ring0", -EINVAL, "--no-such-eal-option; set WEIR_EAL_ARGS");
	/* EAL is not tried twice: the next port gets the same answer. */
	open_fails("dpdk:net_null0", -EINVAL, "EAL did not start");
}

Test(dpdk, pci_preflight_names_the_fix)
{
	open_fails("dpdk:0000:ff:1f.7", -ENOENT, "lspci -D");
}
