// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio: a queue's life apart from its bursts: the private state over a
 * ring of either layout (split or packed), a reset for a new backend
 * (reconnect) that gives every buffer back, and the release at close.
 * What the device can see (the rings) is laid out by virtio_split.c and
 * virtio_packed.c; what only weir sees (which buffer a descriptor id
 * stands for, free ids, chain links) is allocated here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtio_internal.h"

size_t vt_ring_bytes(uint16_t n, bool packed)
{
	return packed ? vt_packed_bytes(n) : vt_split_bytes(n);
}

static void ring_init(struct vt_split *vq, struct vt_packed *pq, void *mem, uint16_t size,
		      bool event_idx, bool packed)
{
	if (packed)
		vt_packed_init(pq, mem, size, event_idx);
	else
		vt_split_init(vq, mem, size, event_idx);
}

static void ids_fill(uint16_t *ids, uint16_t size)
{
	for (uint16_t i = 0; i < size; i++)
		ids[i] = (uint16_t)(size - 1 - i); /* id 0 goes out first */
}

int vt_rxq_init(struct vt_rxq *q, void *mem, uint16_t size, struct weir_pool *pool, bool mrg,
		bool event_idx, bool packed)
{
	q->slot = calloc(size, sizeof(*q->slot));
	q->free_ids = calloc(size, sizeof(*q->free_ids));
	if (!q->slot || !q->free_ids)
		return -ENOMEM;
	q->size = size;
	q->packed = packed;
	ring_init(&q->vq, &q->pq, mem, size, event_idx, packed);
	ids_fill(q->free_ids, size);
	q->nfree = size;
	q->pool = pool;
	q->mrg = mrg;
	q->hdr_size = VT_HDR_SIZE;
	q->buf_room = pool->buf_size - pool->headroom + VT_HDR_SIZE;
	q->refill_at = size / 4 < VT_RX_REFILL_BATCH ? size / 4 : VT_RX_REFILL_BATCH;
	return 0;
}

/* The ring memory a queue was set up over (the same either layout). */
static void *ring_mem(const struct vt_split *vq, const struct vt_packed *pq, bool packed)
{
	return packed ? (void *)pq->desc : (void *)vq->desc;
}

uint32_t vt_rxq_reset(struct vt_rxq *q)
{
	bool ev = q->packed ? q->pq.event_idx : q->vq.event_idx;
	void *mem = ring_mem(&q->vq, &q->pq, q->packed);
	uint32_t freed = 0;

	for (uint16_t i = 0; i < q->size; i++) {
		if (q->slot[i]) {
			weir_pkt_free(q->slot[i]);
			q->slot[i] = NULL;
			freed++;
		}
	}
	ids_fill(q->free_ids, q->size);
	q->nfree = q->size;
	q->armed = false;
	q->idle_polls = 0;
	memset(mem, 0, vt_ring_bytes(q->size, q->packed));
	ring_init(&q->vq, &q->pq, mem, q->size, ev, q->packed);
	return freed;
}

void vt_rxq_release(struct vt_rxq *q)
{
	if (!q->slot)
		return;
	for (uint16_t i = 0; i < q->size; i++)
		if (q->slot[i])
			weir_pkt_free(q->slot[i]);
	free(q->slot);
	free(q->free_ids);
	q->slot = NULL;
	q->free_ids = NULL;
}

int vt_txq_init(struct vt_txq *q, void *mem, struct vt_net_hdr *hdrs, uint16_t size,
		struct weir_pool *pool, bool event_idx, bool packed)
{
	q->slot = calloc(size, sizeof(*q->slot));
	q->next = calloc(size, sizeof(*q->next));
	q->free_ids = calloc(size, sizeof(*q->free_ids));
	if (!q->slot || !q->next || !q->free_ids)
		return -ENOMEM;
	q->size = size;
	q->packed = packed;
	ring_init(&q->vq, &q->pq, mem, size, event_idx, packed);
	/* A ring: in order, chains take descriptors one after the other
	 * and wrap at the end of the table (virtio 1.2 §2.7.5.1). */
	for (uint16_t i = 0; i < size; i++)
		q->next[i] = (uint16_t)((i + 1) % size);
	ids_fill(q->free_ids, size);
	q->nids = size;
	q->free_head = 0;
	q->reap_head = 0;
	q->nfree = size;
	q->hdrs = hdrs;
	q->pool = pool;
	q->hdr_size = VT_HDR_SIZE;
	return 0;
}

uint32_t vt_txq_reset(struct vt_txq *q)
{
	bool ev = q->packed ? q->pq.event_idx : q->vq.event_idx;
	void *mem = ring_mem(&q->vq, &q->pq, q->packed);
	uint64_t bytes = 0;
	uint32_t lost = 0;

	for (uint16_t i = 0; i < q->size; i++) {
		if (q->slot[i].pkt) {
			bytes += q->slot[i].pkt->pkt_len;
			weir_pkt_free(q->slot[i].pkt);
			q->slot[i].pkt = NULL;
			lost++;
		}
		q->next[i] = (uint16_t)((i + 1) % q->size);
	}
	/* Lost with the backend: dropped, and complete for DQL. */
	weir_port_ctr_add(&q->q.stats.drops, lost);
	weir_port_ctr_add(&q->q.done_pkts, lost);
	weir_port_ctr_add(&q->q.done_bytes, bytes);
	ids_fill(q->free_ids, q->size);
	q->nids = q->size;
	q->free_head = 0;
	q->reap_head = 0;
	q->nfree = q->size;
	q->full_polls = 0;
	memset(mem, 0, vt_ring_bytes(q->size, q->packed));
	ring_init(&q->vq, &q->pq, mem, q->size, ev, q->packed);
	return lost;
}

uint16_t vt_txq_in_flight(const struct vt_txq *q)
{
	return (uint16_t)(q->packed ? q->size - q->nids : q->size - q->nfree);
}

void vt_txq_release(struct vt_txq *q)
{
	if (!q->slot)
		return;
	for (uint16_t i = 0; i < q->size; i++)
		if (q->slot[i].pkt)
			weir_pkt_free(q->slot[i].pkt);
	free(q->slot);
	free(q->next);
	free(q->free_ids);
	q->slot = NULL;
	q->next = NULL;
	q->free_ids = NULL;
}
