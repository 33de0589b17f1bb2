// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio_cpu: the virtio driver's own CPU cost per packet, without a
 * backend process: the device side of the rings is played in the same
 * thread, as little as the rules allow (a used entry for every buffer
 * made available; RX: a 12-byte header and a 64-byte frame written into
 * the buffer). What is left is weir's bursts (RX: the burst and its
 * refill; TX: the burst and tx_done's reaping), so run under callgrind
 * it counts their instructions per packet without the idle polls and
 * scheduling a real backend adds; bench/virtio.sh measures against one.
 *
 *   virtio_cpu rx|tx split|packed [PACKETS] [mrg]
 *
 * Prints ns per packet (wall clock, this machine, whatever else runs).
 * Under callgrind: callgrind_annotate --inclusive=yes, vt_rx_burst (rx)
 * or vt_tx_burst + vt_tx_done (tx), divided by PACKETS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/clock.h"
#include "weir/pkt.h"

#include "virtio_internal.h"

#define QSIZE 256
#define BURST 32
#define FRAME 64

static uint8_t ring_mem[64 * 4096] __attribute__((aligned(4096)));
static struct vt_net_hdr hdrs[QSIZE];

/* The device's view of a ring: how far it has read. */
struct dev {
	uint16_t last_avail; /* split */
	uint16_t pos;        /* packed */
	bool wrap;
};

/* Split: every new avail entry is used (RX: filled with a frame). */
static void dev_split(struct dev *dv, struct vt_split *vq, bool rx)
{
	uint16_t end = __atomic_load_n(vq->avail_idx, __ATOMIC_ACQUIRE);
	uint16_t used = *vq->used_idx;

	for (; dv->last_avail != end; dv->last_avail++, used++) {
		uint16_t id = vq->avail_ring[dv->last_avail & vq->mask];
		struct vring_used_elem *e = &vq->used_ring[used & vq->mask];

		if (rx) {
			uint8_t *b = (uint8_t *)(uintptr_t)vq->desc[id].addr;

			memset(b, 0, VT_HDR_SIZE);
			b[10] = 1; /* num_buffers */
			memset(b + VT_HDR_SIZE, 0xab, FRAME);
		}
		e->id = id;
		e->len = rx ? VT_HDR_SIZE + FRAME : 0;
	}
	__atomic_store_n(vq->used_idx, used, __ATOMIC_RELEASE);
}

/* Packed: every available descriptor is used, in place. */
static void dev_packed(struct dev *dv, struct vt_packed *pq, bool rx)
{
	for (;;) {
		struct vring_packed_desc *d = &pq->desc[dv->pos];
		uint16_t f = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
		bool avail = f & VRING_PACKED_DESC_F_AVAIL, used = f & VRING_PACKED_DESC_F_USED;

		if (avail != dv->wrap || used == dv->wrap)
			return;
		if (rx) {
			uint8_t *b = (uint8_t *)(uintptr_t)d->addr;

			memset(b, 0, VT_HDR_SIZE);
			b[10] = 1;
			memset(b + VT_HDR_SIZE, 0xab, FRAME);
		}
		d->len = rx ? VT_HDR_SIZE + FRAME : 0;
		__atomic_store_n(&d->flags,
				 (uint16_t)(dv->wrap ? VRING_PACKED_DESC_F_AVAIL |
							       VRING_PACKED_DESC_F_USED
						     : 0),
				 __ATOMIC_RELEASE);
		vt_packed_step(pq->size, &dv->pos, &dv->wrap, 1);
	}
}

static void dev_run(struct dev *dv, struct vt_split *vq, struct vt_packed *pq, bool packed,
		    bool rx)
{
	if (packed)
		dev_packed(dv, pq, rx);
	else
		dev_split(dv, vq, rx);
}

static uint64_t run_rx(struct weir_port *port, bool packed, bool mrg, uint64_t n)
{
	static struct vt_rxq q;
	struct weir_pkt *pkts[BURST];
	struct dev dv = {.wrap = true};
	uint64_t got = 0;

	q.q.port = port;
	q.call_fd = q.kick_fd = q.sock_fd = q.conn_fd = -1;
	if (vt_rxq_init(&q, ring_mem, QSIZE, port->pool, mrg, true, packed))
		exit(1);
	q.in_order = true;
	vt_rx_refill(&q);
	while (got < n) {
		uint16_t k;

		dev_run(&dv, &q.vq, &q.pq, packed, true);
		k = vt_rx_burst(&q.q, pkts, BURST);
		if (!k)
			exit(2);
		weir_pkt_free_bulk(pkts, k);
		got += k;
	}
	vt_rxq_release(&q);
	return got;
}

static uint64_t run_tx(struct weir_port *port, bool packed, uint64_t n)
{
	static struct vt_txq q;
	struct weir_pkt *pkts[BURST];
	struct dev dv = {.wrap = true};
	uint64_t sent = 0;

	q.q.port = port;
	q.kick_fd = q.call_fd = q.sock_fd = q.conn_fd = -1;
	if (vt_txq_init(&q, ring_mem, hdrs, QSIZE, port->pool, true, packed))
		exit(1);
	q.in_order = true;
	/* A polling device asks not to be kicked (as DPDK's vhost does). */
	if (packed)
		q.pq.device->flags = VRING_PACKED_EVENT_DISABLE;
	while (sent < n) {
		uint16_t k;

		if (weir_pkt_alloc_bulk(port->pool, pkts, BURST) < 0)
			exit(3);
		for (int i = 0; i < BURST; i++)
			memset(weir_pkt_put(pkts[i], FRAME), 0x5a, FRAME);
		k = vt_tx_burst(&q.q, pkts, BURST);
		weir_pkt_free_bulk(pkts + k, (uint16_t)(BURST - k));
		dev_run(&dv, &q.vq, &q.pq, packed, false);
		vt_tx_done(&q.q);
		sent += k;
	}
	dev_run(&dv, &q.vq, &q.pq, packed, false);
	vt_tx_done(&q.q);
	vt_txq_release(&q);
	return sent;
}

int main(int argc, char **argv)
{
	struct weir_port port;
	struct weir_pool *pool;
	bool rx, packed, mrg;
	uint64_t n, done;
	weir_ns_t t0;

	if (argc < 3 || (strcmp(argv[1], "rx") && strcmp(argv[1], "tx")) ||
	    (strcmp(argv[2], "split") && strcmp(argv[2], "packed"))) {
		fprintf(stderr, "usage: virtio_cpu rx|tx split|packed [PACKETS] [mrg]\n");
		return 2;
	}
	rx = !strcmp(argv[1], "rx");
	packed = !strcmp(argv[2], "packed");
	n = argc > 3 ? strtoull(argv[3], NULL, 0) : 10000000;
	mrg = argc > 4 && !strcmp(argv[4], "mrg");
	if (weir_pool_create(&(struct weir_pool_conf){.n = 4096}, &pool)) {
		fprintf(stderr, "virtio_cpu: no pool\n");
		return 1;
	}
	memset(&port, 0, sizeof(port));
	port.label = (char *)"virtio:cpu";
	port.pool = pool;
	t0 = weir_clock_now();
	done = rx ? run_rx(&port, packed, mrg, n) : run_tx(&port, packed, n);
	printf("virtio_cpu %s %s%s: %llu packets, %.2f ns/packet\n", argv[1], argv[2],
	       mrg ? " mrg" : "", (unsigned long long)done,
	       (double)(weir_clock_now() - t0) / (double)done);
	weir_pool_destroy(pool);
	return 0;
}
