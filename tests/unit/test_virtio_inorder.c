// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the virtio driver's VIRTIO_F_IN_ORDER paths
 * (pmd/virtio_rxtx.c, virtio_rxtx_packed.c), with the test playing the
 * device on rings in plain memory: split TX completions counted from
 * used->idx alone (the used entries are never read), an index past the
 * chains in flight refused; packed TX used descriptors that stand for a
 * batch of chains; RX buffers posted in ring order and a used id out of
 * order refused. Every buffer is back in the pool at the end.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "weir/lcore.h"
#include "weir/log.h"
#include "weir/pkt.h"

#include "virtio_internal.h"

#define QSIZE 64

static uint8_t ring_mem[3 * 4096 * 4] __attribute__((aligned(4096)));
static struct vt_net_hdr hdrs[QSIZE];
static struct weir_pool *pool;
static struct weir_port port;

static void setup(void)
{
	weir_log_set_level(WEIR_LOG_ERR); /* the refused rings are the point */
	cr_assert_eq(weir_pool_create(&(struct weir_pool_conf){.n = 512, .huge = 2, .shared = true}, &pool),
		     0);
	memset(&port, 0, sizeof(port));
	port.label = (char *)"virtio:test";
	port.pool = pool;
	memset(ring_mem, 0, sizeof(ring_mem));
}

static void teardown(void)
{
	weir_pool_cache_flush(pool, WEIR_LCORE_ANY);
	cr_expect_eq(weir_pool_in_use(pool), 0, "%u buffers not back in the pool",
		     weir_pool_in_use(pool));
	weir_pool_destroy(pool);
}

static void txq_open(struct vt_txq *q, bool packed)
{
	memset(q, 0, sizeof(*q));
	q->q.port = &port;
	q->kick_fd = q->call_fd = q->sock_fd = q->conn_fd = -1;
	cr_assert_eq(vt_txq_init(q, ring_mem, hdrs, QSIZE, pool, false, packed), 0);
	q->in_order = true;
}

/* Sends n frames of len bytes (segs segments each); all must be taken. */
static void send(struct vt_txq *q, uint16_t n, uint16_t len, int segs)
{
	struct weir_pkt *pkts[QSIZE];

	for (uint16_t i = 0; i < n; i++) {
		cr_assert_not_null(pkts[i] = weir_pkt_alloc(pool));
		cr_assert_not_null(weir_pkt_put(pkts[i], len));
		for (int s = 1; s < segs; s++) {
			struct weir_pkt *seg = weir_pkt_alloc(pool);

			cr_assert_not_null(seg);
			cr_assert_not_null(weir_pkt_put(seg, 100));
			cr_assert_eq(weir_pkt_chain(pkts[i], seg), 0);
		}
	}
	cr_assert_eq(vt_tx_burst(&q->q, pkts, n), n);
}

TestSuite(virtio_inorder, .init = setup, .fini = teardown);

Test(virtio_inorder, split_tx_descriptors_in_ring_order_done_by_used_idx_alone)
{
	struct vt_txq q;

	txq_open(&q, false);
	send(&q, 3, 60, 1);
	send(&q, 2, 60, 3); /* chains of 3: descriptors 3-5 and 6-8 */
	/* One descriptor per single frame, chains in the next ones, each
	 * head in the avail slot after the last. */
	cr_expect_eq(q.vq.avail_ring[0], 0);
	cr_expect_eq(q.vq.avail_ring[2], 2);
	cr_expect_eq(q.vq.avail_ring[3], 3);
	cr_expect_eq(q.vq.avail_ring[4], 6);
	cr_expect_eq(q.vq.desc[3].flags & VRING_DESC_F_NEXT, VRING_DESC_F_NEXT);
	cr_expect_eq(q.vq.desc[3].next, 4);
	cr_expect_eq(q.vq.desc[5].flags & VRING_DESC_F_NEXT, 0);
	/* The device says four are done and writes garbage ids: in order,
	 * the ids are not read. */
	for (int i = 0; i < QSIZE; i++)
		q.vq.used_ring[i].id = 0xdead;
	*q.vq.used_idx = 4;
	cr_expect_eq(vt_tx_done(&q.q), 4);
	cr_expect_eq(vt_txq_in_flight(&q), 3, "the last chain's 3 descriptors are out");
	cr_expect_eq(q.reap_head, 6);
	*q.vq.used_idx = 5;
	cr_expect_eq(vt_tx_done(&q.q), 1);
	cr_expect_eq(vt_txq_in_flight(&q), 0);
	cr_expect_not(weir_port_is_dead(&port));
	vt_txq_release(&q);
}

Test(virtio_inorder, split_tx_used_idx_past_what_is_in_flight_is_refused)
{
	struct vt_txq q;

	txq_open(&q, false);
	send(&q, 4, 60, 1);
	*q.vq.used_idx = 5; /* four were made available */
	cr_expect_eq(vt_tx_done(&q.q), 0);
	cr_expect(weir_port_is_dead(&port));
	cr_expect_eq(vt_txq_in_flight(&q), 4, "nothing completed on a lie");
	vt_txq_release(&q);
}

Test(virtio_inorder, split_tx_wraps_the_descriptor_table)
{
	struct vt_txq q;

	txq_open(&q, false);
	for (int round = 0; round < 5; round++) {
		send(&q, 20, 60, 2); /* 40 descriptors a round: the table wraps */
		*q.vq.used_idx = (uint16_t)(*q.vq.used_idx + 20);
		cr_assert_eq(vt_tx_done(&q.q), 20, "round %d", round);
	}
	cr_expect_eq(q.reap_head, (5 * 40) % QSIZE);
	cr_expect_eq(q.free_head, q.reap_head);
	cr_expect_not(weir_port_is_dead(&port));
	vt_txq_release(&q);
}

/* Writes a used descriptor at pos as the device does (its wrap counter). */
static void packed_used(struct vt_packed *pq, uint16_t pos, bool wrap, uint16_t id);

/* Done frames of the fast loop go straight back to the pool (slot.simple);
 * a frame with a second reference takes the general way and only drops
 * the driver's reference (its header in a descriptor of its own, so
 * QSIZE - 1 frames fill the ring). */
#define N (QSIZE - 1)
static void tx_fast_and_shared(bool packed)
{
	struct weir_pkt *pkts[QSIZE], *kept;
	struct vt_txq q;
	uint32_t base = weir_pool_in_use(pool);

	txq_open(&q, packed);
	for (uint16_t i = 0; i < N; i++) {
		cr_assert_not_null(pkts[i] = weir_pkt_alloc(pool));
		cr_assert_not_null(weir_pkt_put(pkts[i], 60));
	}
	kept = pkts[5];
	cr_assert_eq(weir_pkt_refcnt_update(kept, 1), 0);
	cr_assert_eq(vt_tx_burst(&q.q, pkts, N), N);
	cr_expect_eq(q.slot[5].simple, false, "a shared frame is not the fast loop's");
	cr_expect_eq(q.slot[4].simple, true);
	if (packed)
		packed_used(&q.pq, 0, true, QSIZE - 1); /* the last head: 5 took 5-6 */
	else
		*q.vq.used_idx = N;
	cr_expect_eq(vt_tx_done(&q.q), N);
	cr_expect_eq(vt_txq_in_flight(&q), 0);
	cr_expect_eq(weir_pool_in_use(pool), base + 1, "only the shared frame is still out");
	cr_expect_eq(weir_pkt_refcnt(kept), 1);
	weir_pkt_free(kept);
	cr_expect_not(weir_port_is_dead(&port));
	vt_txq_release(&q);
}
#undef N

/* Writes a used descriptor at pos as the device does (its wrap counter). */
static void packed_used(struct vt_packed *pq, uint16_t pos, bool wrap, uint16_t id)
{
	pq->desc[pos].id = id;
	pq->desc[pos].len = 0;
	pq->desc[pos].flags =
		(uint16_t)(wrap ? VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED : 0);
}

Test(virtio_inorder, packed_tx_one_used_descriptor_completes_a_batch)
{
	struct vt_txq q;

	txq_open(&q, true);
	send(&q, 4, 60, 1);
	send(&q, 2, 60, 2); /* positions 4-5 and 6-7 */
	cr_expect_eq(q.pq.desc[3].id, 3, "in order, a buffer's id is its position");
	cr_expect_eq(q.pq.desc[6].id, 6);
	/* A batch: one used descriptor at the first position, the last id. */
	packed_used(&q.pq, 0, true, 4);
	cr_expect_eq(vt_tx_done(&q.q), 5, "frames 0-3 and the chain at 4");
	cr_expect_eq(q.pq.next_used, 6);
	packed_used(&q.pq, 6, true, 6);
	cr_expect_eq(vt_tx_done(&q.q), 1);
	cr_expect_eq(vt_txq_in_flight(&q), 0);
	cr_expect_eq(q.pq.nfree, QSIZE);
	cr_expect_not(weir_port_is_dead(&port));
	vt_txq_release(&q);
}

Test(virtio_inorder, split_tx_fast_frames_back_to_the_pool_shared_ones_keep_a_reference)
{
	tx_fast_and_shared(false);
}

Test(virtio_inorder, packed_tx_fast_frames_back_to_the_pool_shared_ones_keep_a_reference)
{
	tx_fast_and_shared(true);
}

Test(virtio_inorder, packed_tx_batch_id_not_a_head_in_flight_is_refused)
{
	struct vt_txq q;

	txq_open(&q, true);
	send(&q, 2, 60, 2); /* heads at 0 and 2 */
	packed_used(&q.pq, 0, true, 1); /* 1 is inside the first chain */
	cr_expect_eq(vt_tx_done(&q.q), 0);
	cr_expect(weir_port_is_dead(&port));
	vt_txq_release(&q);
}

static void rxq_open(struct vt_rxq *q, bool packed)
{
	memset(q, 0, sizeof(*q));
	q->q.port = &port;
	q->call_fd = q->kick_fd = q->sock_fd = q->conn_fd = -1;
	cr_assert_eq(vt_rxq_init(q, ring_mem, QSIZE, pool, false, false, packed), 0);
	q->in_order = true;
	cr_assert_eq(vt_rx_refill(q), QSIZE);
}

Test(virtio_inorder, split_rx_posted_in_ring_order_and_used_out_of_order_refused)
{
	struct weir_pkt *pkts[8];
	struct vt_rxq q;

	rxq_open(&q, false);
	for (uint16_t i = 0; i < QSIZE; i++) {
		cr_expect_eq(q.vq.avail_ring[i], i);
		cr_expect_eq(q.vq.desc[i].addr,
			     (uint64_t)(uintptr_t)(weir_pkt_data(q.slot[i]) - VT_HDR_SIZE));
	}
	q.vq.used_ring[0] = (struct vring_used_elem){.id = 0, .len = VT_HDR_SIZE + 60};
	q.vq.used_ring[1] = (struct vring_used_elem){.id = 1, .len = VT_HDR_SIZE + 70};
	*q.vq.used_idx = 2;
	cr_assert_eq(vt_rx_burst(&q.q, pkts, 8), 2);
	cr_expect_eq(pkts[0]->pkt_len, 60);
	cr_expect_eq(pkts[1]->pkt_len, 70);
	weir_pkt_free_bulk(pkts, 2);
	/* Buffer 2 is next; the device names 3. */
	q.vq.used_ring[2] = (struct vring_used_elem){.id = 3, .len = VT_HDR_SIZE + 60};
	*q.vq.used_idx = 3;
	cr_expect_eq(vt_rx_burst(&q.q, pkts, 8), 0);
	cr_expect(weir_port_is_dead(&port));
	vt_rxq_release(&q);
}

Test(virtio_inorder, packed_rx_ids_are_positions_and_out_of_order_refused)
{
	struct weir_pkt *pkts[8];
	struct vt_rxq q;

	rxq_open(&q, true);
	cr_expect_eq(q.pq.desc[5].id, 5);
	q.pq.desc[0].len = VT_HDR_SIZE + 60;
	packed_used(&q.pq, 0, true, 0);
	q.pq.desc[0].len = VT_HDR_SIZE + 60;
	cr_assert_eq(vt_rx_burst(&q.q, pkts, 8), 1);
	cr_expect_eq(pkts[0]->pkt_len, 60);
	weir_pkt_free(pkts[0]);
	packed_used(&q.pq, 1, true, 2);
	q.pq.desc[1].len = VT_HDR_SIZE + 60;
	cr_expect_eq(vt_rx_burst(&q.q, pkts, 8), 0);
	cr_expect(weir_port_is_dead(&port));
	vt_rxq_release(&q);
}
