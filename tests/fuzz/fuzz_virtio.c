// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: what a hostile vhost-user backend controls, through the
 * virtio driver's own code (pmd/virtio_vhost.c, virtio_rxtx.c): reply
 * headers, and the used rings and virtio-net headers of real RX and TX
 * queues (rings in plain memory, buffers of a shared pool, no socket).
 *
 * Input: byte 0 picks the part.
 *   0: reply headers: 12-byte headers after a request number and the
 *      expected size; vhu_reply_check may accept only the exact match.
 *   1: RX: a flags byte (mergeable, event idx, guest csum, in order);
 *      the queue posts its buffers; then records of 8 bytes each
 *      (used id, used length, num_buffers, header flags, csum start/off,
 *      a used-idx step) become the device's writes, each followed by a
 *      receive burst.
 *   2: TX: a flags byte (event idx, in order), a count, then that many
 *      frames (1 to 4 segments,
 *      sizes from the input) are sent,
 *      then records of (id, step) become used entries, each followed by
 *      tx_done.
 *   3, 4: the same over packed rings: the records become used
 *      descriptors (id, length, AVAIL/USED bits right or wrong, at the
 *      position weir reads next or a little ahead).
 * Properties: no crash or out-of-bounds access; every packet received is
 * a consistent chain within what was posted; a broken rule marks the
 * port dead and nothing moves after; every buffer is back in the pool
 * once the queue is released.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/lcore.h"
#include "weir/log.h"
#include "weir/pkt.h"

#include "virtio_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QSIZE 64

static struct weir_pool *pool;
static uint8_t ring_mem[3 * 4096 * 4] __attribute__((aligned(4096)));
static struct vt_net_hdr hdrs[QSIZE];

static void fake_port(struct weir_port *port)
{
	memset(port, 0, sizeof(*port));
	port->label = (char *)"virtio:fuzz";
	port->pool = pool;
}

static void check_leaks(void)
{
	weir_pool_cache_flush(pool, WEIR_LCORE_ANY);
	if (weir_pool_in_use(pool)) {
		fprintf(stderr, "fuzz_virtio: %u buffers not back in the pool\n",
			weir_pool_in_use(pool));
		abort();
	}
}

static void fuzz_replies(const uint8_t *d, size_t n)
{
	char err[160];

	for (; n >= 14; d += 14, n -= 14) {
		uint32_t req = d[0] % 40, want = d[1] % 16;
		int r = vhu_reply_check(d + 2, req, want, err, sizeof(err));
		uint32_t h[3];

		memcpy(h, d + 2, 12);
		if ((r == 0) != (h[0] == req && (h[1] & 7) == (VHU_VERSION | VHU_FLAG_REPLY) &&
				 h[2] == want))
			abort();
		if (r && !err[0])
			abort(); /* a refusal says why */
	}
}

static void check_rx_pkt(const struct vt_rxq *q, const struct weir_pkt *p)
{
	uint32_t sum = 0;
	uint16_t segs = 0;

	for (const struct weir_pkt *s = p; s; s = s->next, segs++) {
		if (s->data_off + s->data_len > s->buf_len || s->data_len > q->buf_room)
			abort();
		sum += s->data_len;
	}
	if (sum != p->pkt_len || segs != p->nb_segs || (segs > 1 && !q->mrg))
		abort();
	if ((p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) &&
	    (uint32_t)p->csum_start + p->csum_offset + 2 > p->pkt_len)
		abort();
}

/* A used descriptor of a packed ring as the device would write it, with
 * the wrap bits right (bit 0 of b clear) or scrambled, d positions ahead. */
static void packed_write(struct vt_packed *pq, uint8_t b, uint16_t id, uint32_t len)
{
	uint16_t pos = pq->next_used;
	bool wrap = pq->used_wrap;
	struct vring_packed_desc *d;
	uint16_t f;

	vt_packed_step(pq->size, &pos, &wrap, (uint16_t)((b >> 1) & 3));
	d = &pq->desc[pos];
	f = wrap ? VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED : 0;
	if (b & 1)
		f = (uint16_t)((b & 0x80 ? VRING_PACKED_DESC_F_AVAIL : 0) |
			       (b & 0x40 ? VRING_PACKED_DESC_F_USED : 0));
	d->id = id;
	d->len = len;
	d->flags = f;
}

static void fuzz_rx(const uint8_t *d, size_t n, bool packed)
{
	struct weir_port port;
	struct vt_rxq q;
	struct weir_pkt *pkts[32];

	if (n < 1)
		return;
	fake_port(&port);
	memset(&q, 0, sizeof(q));
	memset(ring_mem, 0, sizeof(ring_mem));
	q.q.port = &port;
	q.call_fd = q.kick_fd = q.sock_fd = q.conn_fd = -1;
	if (vt_rxq_init(&q, ring_mem, QSIZE, pool, d[0] & 1, d[0] & 2, packed))
		abort();
	q.guest_csum = d[0] & 4;
	q.in_order = d[0] & 8; /* VIRTIO_F_IN_ORDER: used ids must come in ring order */
	d++, n--;
	vt_rx_refill(&q);
	for (; n >= 8; d += 8, n -= 8) {
		uint16_t id = d[0] % (QSIZE + 4);
		uint32_t len = (uint32_t)d[1] << 4 | d[2] >> 4;
		struct vt_net_hdr *h;
		uint16_t got;

		if (packed) {
			packed_write(&q.pq, d[7], id, len);
		} else {
			uint16_t slot = (uint16_t)(q.vq.last_used + (d[7] & 3));
			struct vring_used_elem *e = &q.vq.used_ring[slot & q.vq.mask];

			e->id = id;
			e->len = len;
			*q.vq.used_idx = (uint16_t)(*q.vq.used_idx + (d[7] >> 2) % 4 +
						    (d[7] & 0x80 ? 300 : 0));
		}
		if (id < QSIZE && q.slot[id]) {
			h = (struct vt_net_hdr *)(void *)(weir_pkt_data(q.slot[id]) - VT_HDR_SIZE);
			h->num_buffers = d[3] % 6;
			h->flags = d[4] & 3;
			h->csum_start = d[5];
			h->csum_offset = d[6];
		}
		got = vt_rx_burst(&q.q, pkts, 32);
		for (uint16_t i = 0; i < got; i++) {
			check_rx_pkt(&q, pkts[i]);
			weir_pkt_free(pkts[i]);
		}
		if (weir_port_is_dead(&port) && vt_rx_burst(&q.q, pkts, 32))
			abort(); /* a dead queue delivers nothing more */
	}
	vt_rxq_release(&q);
	check_leaks();
}

static void fuzz_tx(const uint8_t *d, size_t n, bool packed)
{
	struct weir_port port;
	struct vt_txq q;
	struct weir_pkt *pkts[40];
	uint16_t np = 0, took, nframes;

	fake_port(&port);
	memset(&q, 0, sizeof(q));
	memset(ring_mem, 0, sizeof(ring_mem));
	q.q.port = &port;
	q.kick_fd = q.call_fd = q.sock_fd = q.conn_fd = -1;
	if (n < 2)
		return;
	if (vt_txq_init(&q, ring_mem, hdrs, QSIZE, pool, d[0] & 1, packed))
		abort();
	q.in_order = d[0] & 2; /* VIRTIO_F_IN_ORDER: used->idx / batches say what is done */
	nframes = d[1] % 40 + 1;
	d += 2, n -= 2;
	for (; np < nframes && n > 0; np++, d++, n--) {
		pkts[np] = weir_pkt_alloc(pool);
		if (!pkts[np] || !weir_pkt_put(pkts[np], (uint16_t)(14 + d[0])))
			abort();
		for (int s = 0; s < (d[0] & 3); s++) {
			struct weir_pkt *seg = weir_pkt_alloc(pool);

			if (!seg || !weir_pkt_put(seg, 100) || weir_pkt_chain(pkts[np], seg))
				abort();
		}
	}
	took = vt_tx_burst(&q.q, pkts, np);
	for (uint16_t i = took; i < np; i++)
		weir_pkt_free(pkts[i]);
	for (; n >= 2; d += 2, n -= 2) {
		if (packed) {
			packed_write(&q.pq, d[1], d[0] % (QSIZE + 2), 0);
		} else {
			struct vring_used_elem *e =
				&q.vq.used_ring[(uint16_t)(q.vq.last_used + (d[1] & 3)) & q.vq.mask];

			e->id = d[0] % (QSIZE + 2);
			e->len = 0;
			*q.vq.used_idx = (uint16_t)(*q.vq.used_idx + (d[1] >> 2) % 3 +
						    (d[1] & 0x80 ? 200 : 0));
		}
		vt_tx_done(&q.q);
	}
	vt_txq_release(&q);
	check_leaks();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!pool) {
		weir_log_set_level(WEIR_LOG_ERR); /* the ring violations are the point */
		if (weir_pool_create(&(struct weir_pool_conf){.n = 1024, .huge = 2, .shared = true},
				     &pool))
			abort();
	}
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		fuzz_replies(data + 1, size - 1);
		break;
	case 1:
	case 3:
		fuzz_rx(data + 1, size - 1, data[0] % 5 == 3);
		break;
	default:
		fuzz_tx(data + 1, size - 1, data[0] % 5 == 4);
		break;
	}
	return 0;
}
