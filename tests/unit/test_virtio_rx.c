// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the virtio RX bursts' fast loop (vt_rx_simple, the
 * rx_run loops of pmd/virtio_rxtx.c and virtio_rxtx_packed.c) and the
 * general path sharing one burst, with the test playing the device on
 * rings in plain memory: one-buffer frames around a mergeable chain come
 * out in ring order with their lengths, port, queue and checksum words;
 * a length past the buffer after them is refused (the port dies, the
 * frames before it delivered). Every buffer is back in the pool at the end.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "weir/lcore.h"
#include "weir/log.h"
#include "weir/pkt.h"

#include "virtio_internal.h"

#define QSIZE 64

static uint8_t ring_mem[3 * 4096 * 4] __attribute__((aligned(4096)));
static struct weir_pool *pool;
static struct weir_port port;

static void setup(void)
{
	weir_log_set_level(WEIR_LOG_ERR); /* the refused length is the point */
	cr_assert_eq(weir_pool_create(&(struct weir_pool_conf){.n = 512, .huge = 2, .shared = true}, &pool),
		     0);
	memset(&port, 0, sizeof(port));
	port.label = (char *)"virtio:test";
	port.pool = pool;
	port.id = 3;
	memset(ring_mem, 0, sizeof(ring_mem));
}

static void teardown(void)
{
	weir_pool_cache_flush(pool, WEIR_LCORE_ANY);
	cr_expect_eq(weir_pool_in_use(pool), 0, "%u buffers not back in the pool",
		     weir_pool_in_use(pool));
	weir_pool_destroy(pool);
}

TestSuite(virtio_rx, .init = setup, .fini = teardown);

static void rxq_open(struct vt_rxq *q, bool packed, bool in_order)
{
	memset(q, 0, sizeof(*q));
	q->q.port = &port;
	q->q.id = 1;
	q->call_fd = q->kick_fd = q->sock_fd = q->conn_fd = -1;
	cr_assert_eq(vt_rxq_init(q, ring_mem, QSIZE, pool, true, false, packed), 0);
	q->in_order = in_order;
	q->guest_csum = true;
	cr_assert_eq(vt_rx_refill(q), QSIZE);
}

/* What the device writes into buffer id's header. */
static void hdr_set(struct vt_rxq *q, uint16_t id, uint16_t nbufs, uint8_t flags)
{
	struct vt_net_hdr *h =
		(struct vt_net_hdr *)(void *)(weir_pkt_data(q->slot[id]) - VT_HDR_SIZE);

	memset(h, 0, sizeof(*h));
	h->num_buffers = nbufs;
	h->flags = flags;
	h->csum_start = 34;
	h->csum_offset = 6;
}

/* The frames of used[] (len, num_buffers, header flags): a one-buffer
 * frame (partial checksum), a 2-buffer chain, a one-buffer frame (data
 * valid), a plain one, then a length past the buffer. */
static const struct {
	uint32_t len;
	uint16_t nbufs;
	uint8_t flags;
} used[] = {
	{VT_HDR_SIZE + 60, 1, VT_HDR_F_NEEDS_CSUM},
	{VT_HDR_SIZE + 100, 2, 0},
	{50, 0, 0}, /* the chain's second buffer: no header */
	{VT_HDR_SIZE + 64, 1, VT_HDR_F_DATA_VALID},
	{VT_HDR_SIZE + 70, 1, 0},
	{60000, 1, 0},
};

static void check_burst(struct vt_rxq *q)
{
	struct weir_pkt *pkts[8];

	/* A burst of 4 stops before the bad entry (the next one reaches it). */
	cr_assert_eq(vt_rx_burst(&q->q, pkts, 4), 4);
	cr_expect_eq(pkts[0]->pkt_len, 60);
	cr_expect(pkts[0]->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL);
	cr_expect_eq(pkts[0]->csum_start, 34);
	cr_expect_eq(pkts[1]->pkt_len, 150);
	cr_expect_eq(pkts[1]->nb_segs, 2);
	cr_expect_eq(pkts[1]->next->data_len, 50);
	cr_expect_eq(pkts[2]->pkt_len, 64);
	cr_expect(pkts[2]->ol_flags & WEIR_PKT_OL_CSUM_VALID);
	cr_expect_eq(pkts[3]->pkt_len, 70);
	cr_expect_not(pkts[3]->ol_flags & (WEIR_PKT_OL_CSUM_VALID | WEIR_PKT_OL_CSUM_PARTIAL));
	for (int i = 0; i < 4; i++) {
		cr_expect_eq(pkts[i]->port, 3);
		cr_expect_eq(pkts[i]->queue, 1);
	}
	cr_expect_eq(q->chained, 1);
	cr_expect_not(weir_port_is_dead(&port));
	weir_pkt_free_bulk(pkts, 4);
	/* The entry after them: 60000 bytes in a buffer of buf_room. */
	cr_expect_eq(vt_rx_burst(&q->q, pkts, 8), 0);
	cr_expect(weir_port_is_dead(&port));
	cr_expect_eq(q->bad_len, 1);
	vt_rxq_release(q);
}

static void split_case(bool in_order)
{
	struct vt_rxq q;

	rxq_open(&q, false, in_order);
	/* Out of order the device may use any buffers: take them backwards. */
	for (uint16_t i = 0; i < WEIR_ARRAY_SIZE(used); i++) {
		uint16_t id = in_order ? i : (uint16_t)(QSIZE - 1 - i);

		if (used[i].nbufs)
			hdr_set(&q, id, used[i].nbufs, used[i].flags);
		q.vq.used_ring[i] = (struct vring_used_elem){.id = id, .len = used[i].len};
	}
	*q.vq.used_idx = WEIR_ARRAY_SIZE(used);
	check_burst(&q);
}

Test(virtio_rx, split_fast_frames_around_a_chain_then_a_bad_length)
{
	split_case(true);
}

Test(virtio_rx, split_any_order_fast_frames_around_a_chain_then_a_bad_length)
{
	split_case(false);
}

Test(virtio_rx, packed_fast_frames_around_a_chain_then_a_bad_length)
{
	struct vt_rxq q;

	rxq_open(&q, true, true);
	for (uint16_t i = 0; i < WEIR_ARRAY_SIZE(used); i++) {
		struct vring_packed_desc *d = &q.pq.desc[i];

		if (used[i].nbufs)
			hdr_set(&q, i, used[i].nbufs, used[i].flags);
		d->id = i;
		d->len = used[i].len;
		d->flags = VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED;
	}
	check_burst(&q);
}
