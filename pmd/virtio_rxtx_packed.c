// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio: the receive and transmit bursts over packed virtqueues
 * (packed=1). The same zero-copy buffers and headers as the split bursts
 * (virtio_rxtx.c, whose checks and helpers these share); what differs is
 * the ring: buffers are named by ids weir picks from a private free list,
 * and a used descriptor is found at the ring position weir has reached,
 * with the device's wrap counter. Every id and length read back is
 * checked against the private state before use, as for split rings.
 */
#include <endian.h>

#include "virtio_internal.h"

uint16_t vt_rx_refill_packed(struct vt_rxq *q)
{
	struct weir_pkt *pkts[VT_RX_REFILL_BATCH];
	uint16_t posted = 0;

	/* One position per buffer: ids and positions run out together. */
	while (q->nfree && q->pq.nfree) {
		uint16_t n = q->nfree < VT_RX_REFILL_BATCH ? q->nfree : VT_RX_REFILL_BATCH;

		if (n > q->pq.nfree)
			n = q->pq.nfree;
		if (weir_pkt_alloc_bulk(q->pool, pkts, n) < 0) {
			weir_port_ctr_add(&q->refill_fail, 1);
			break;
		}
		for (uint16_t i = 0; i < n; i++) {
			/* In order, a buffer's id is its ring position. */
			uint16_t id = q->in_order ? q->pq.next_avail : q->free_ids[q->nfree - 1];
			struct vt_seg s = {
				.addr = (uint64_t)(uintptr_t)(weir_pkt_data(pkts[i]) - VT_HDR_SIZE),
				.len = q->buf_room};

			q->nfree--;
			q->slot[id] = pkts[i];
			vt_packed_add_one(&q->pq, s.addr, s.len, id, VRING_DESC_F_WRITE);
		}
		posted += n;
	}
	if (posted && vt_packed_publish(&q->pq) && q->kick_fd >= 0)
		vt_kick(q->kick_fd, &q->kicks);
	return posted;
}

/* The frame at the next used positions: 1 with *out set, 0 when it is not
 * all there yet, -1 when the device broke the rules. */
static int rx_one(struct vt_rxq *q, struct weir_pkt **out)
{
	struct vring_used_elem e[1], more;
	struct weir_pkt *p, *last;
	uint16_t nbufs = 1, pos;
	struct vt_net_hdr h;
	bool wrap;

	if (!vt_packed_used_at(&q->pq, q->pq.next_used, q->pq.used_wrap, e))
		return 0;
	if (e->id < q->size && q->slot[e->id]) {
		memcpy(&h, weir_pkt_data(q->slot[e->id]) - VT_HDR_SIZE, sizeof(h));
		if (q->mrg)
			nbufs = le16toh(h.num_buffers);
	}
	if (q->mrg && (nbufs == 0 || nbufs > q->size)) {
		vt_broken(q, "num_buffers %u in a ring of %u", nbufs, q->size);
		return -1;
	}
	/* Each RX buffer is one descriptor: the rest follow one by one. */
	pos = q->pq.next_used;
	wrap = q->pq.used_wrap;
	for (uint16_t i = 1; i < nbufs; i++) {
		vt_packed_step(q->size, &pos, &wrap, 1);
		if (!vt_packed_used_at(&q->pq, pos, wrap, &more))
			return 0;
	}
	if (!vt_rx_in_order_ok(q, e->id, q->pq.next_used) || !(p = vt_rx_take(q, *e, true)))
		return -1;
	last = p;
	for (uint16_t i = 1; i < nbufs; i++) {
		struct weir_pkt *s = NULL;

		vt_packed_step(q->size, &q->pq.next_used, &q->pq.used_wrap, 1);
		vt_packed_used_at(&q->pq, q->pq.next_used, q->pq.used_wrap, &more);
		if (vt_rx_in_order_ok(q, more.id, q->pq.next_used))
			s = vt_rx_take(q, more, false);
		if (!s) {
			weir_pkt_free(p);
			return -1;
		}
		last->next = s;
		last = s;
		p->pkt_len += s->data_len;
		p->nb_segs++;
	}
	vt_packed_step(q->size, &q->pq.next_used, &q->pq.used_wrap, 1);
	q->pq.nfree = (uint16_t)(q->pq.nfree + nbufs);
	q->idle_polls = 0;
	if (nbufs > 1)
		weir_port_ctr_add(&q->chained, 1);
	if (q->guest_csum)
		vt_rx_offloads(q, p, &h);
	*out = p;
	return 1;
}

/* The fast loop: up to max common frames (vt_rx_simple), one used
 * descriptor each, at their own positions when in order; stops at the
 * first other one. */
static inline uint16_t rx_run(struct vt_rxq *q, struct weir_pkt **pkts, uint16_t max,
			      uint64_t *bytes)
{
	uint16_t k = 0;

	while (k < max) {
		struct vring_used_elem e;
		struct weir_pkt *p;

		if (!vt_packed_used_at(&q->pq, q->pq.next_used, q->pq.used_wrap, &e) ||
		    (q->in_order && e.id != q->pq.next_used) || !(p = vt_rx_simple(q, e.id, e.len)))
			break;
		vt_packed_step(q->size, &q->pq.next_used, &q->pq.used_wrap, 1);
		q->pq.nfree++;
		*bytes += p->pkt_len;
		pkts[k++] = p;
	}
	return k;
}

uint16_t vt_rx_burst_packed(struct vt_rxq *q, struct weir_pkt **pkts, uint16_t n)
{
	uint64_t bytes = 0;
	uint16_t got = 0;

	if (weir_unlikely(weir_port_is_dead(q->q.port)))
		return 0;
	while (got < n) {
		struct weir_pkt *p;

		got = (uint16_t)(got + rx_run(q, pkts + got, (uint16_t)(n - got), &bytes));
		/* Not there yet, a chain, or a descriptor that breaks a rule. */
		if (got == n || rx_one(q, &p) <= 0)
			break;
		p->port = q->q.port->id;
		p->queue = q->q.id;
		bytes += p->pkt_len;
		pkts[got++] = p;
	}
	if (got)
		q->idle_polls = 0;
	vt_rx_finish(q, got, bytes);
	return got;
}

/* Chain s, whose head is at the next used position, is done. */
static void reap_chain(struct vt_txq *q, struct vt_tx_slot *s, struct vt_reap *r)
{
	vt_reap_add(r, s);
	s->pkt = NULL;
	/* The chain took ndesc positions: step past all of them. */
	vt_packed_step(q->size, &q->pq.next_used, &q->pq.used_wrap, s->ndesc);
	q->pq.nfree = (uint16_t)(q->pq.nfree + s->ndesc);
	q->nids++;
}

/* In order, ids are head positions and one used descriptor may stand
 * for every chain from the oldest up to its id (a batch, virtio 1.2
 * §2.8.9). id is in flight, so walking the chains reaches it; false
 * (port dead) if it did not. */
static bool reap_upto(struct vt_txq *q, uint16_t id, struct vt_reap *r)
{
	for (bool last = false; !last;) {
		uint16_t pos = q->pq.next_used;

		if (weir_unlikely(!q->slot[pos].pkt)) {
			vt_broken(q, "TX used id %u is not a chain in flight", id);
			return false;
		}
		last = pos == id;
		reap_chain(q, &q->slot[pos], r);
	}
	return true;
}

uint16_t vt_tx_reap_packed(struct vt_txq *q)
{
	struct vring_used_elem e;
	struct vt_reap r;

	if (weir_unlikely(weir_port_is_dead(q->q.port)))
		return 0;
	vt_reap_init(q, &r);
	while (q->nids < q->size && vt_packed_used_at(&q->pq, q->pq.next_used, q->pq.used_wrap, &e)) {
		if (weir_unlikely(e.id >= q->size || !q->slot[e.id].pkt)) {
			vt_broken(q, "TX used id %u is %s", e.id,
				  e.id >= q->size ? "out of range" : "not a chain in flight");
			break;
		}
		if (!q->in_order) {
			q->free_ids[q->nids] = (uint16_t)e.id;
			reap_chain(q, &q->slot[e.id], &r);
			continue;
		}
		if (!reap_upto(q, (uint16_t)e.id, &r))
			break;
	}
	return vt_reap_end(q, &r);
}

/* p's descriptors (the header first, in front of the frame or in the
 * id's own slot) into segs; returns how many. */
static uint16_t tx_segs(struct vt_txq *q, struct weir_pkt *p, bool inplace, uint16_t id,
			struct vt_seg *segs)
{
	uint16_t k = 0;

	if (inplace) {
		vt_hdr_fill(q, p, (struct vt_net_hdr *)(void *)(weir_pkt_data(p) - VT_HDR_SIZE));
	} else {
		vt_hdr_fill(q, p, &q->hdrs[id]);
		segs[k++] = (struct vt_seg){.addr = (uint64_t)(uintptr_t)&q->hdrs[id],
					    .len = VT_HDR_SIZE};
	}
	for (struct weir_pkt *s = p; s; s = s->next) {
		bool first = inplace && s == p;

		segs[k++] = (struct vt_seg){
			.addr = (uint64_t)(uintptr_t)(weir_pkt_data(s) - (first ? VT_HDR_SIZE : 0)),
			.len = s->data_len + (first ? VT_HDR_SIZE : 0)};
	}
	return k;
}

uint16_t vt_tx_burst_packed(struct vt_txq *q, struct weir_pkt **pkts, uint16_t n)
{
	struct vt_seg segs[WEIR_PKT_MAX_SEGS + 1];
	uint64_t bytes = 0;
	uint16_t i, sent = 0;

	if (weir_unlikely(weir_port_is_dead(q->q.port)))
		return 0;
	if (q->pq.nfree < q->size / 2)
		vt_tx_reap_packed(q);
	vt_tx_prefetch(pkts, n < q->pq.nfree ? n : q->pq.nfree, q->pq.desc, q->pq.next_avail,
			       q->size);
	for (i = 0; i < n; i++) {
		struct weir_pkt *p = pkts[i];
		bool inplace;
		uint16_t ndesc, id;

		if (weir_likely(vt_tx_simple(q, p)) && q->pq.nfree && q->nids) {
			id = q->in_order ? q->pq.next_avail : q->free_ids[q->nids - 1];
			q->nids--;
			q->slot[id] = (struct vt_tx_slot){.pkt = p, .ndesc = 1, .simple = true};
			vt_packed_add_one(&q->pq, (uint64_t)(uintptr_t)vt_tx_simple_hdr(p),
					  p->data_len + VT_HDR_SIZE, id, 0);
			bytes += p->pkt_len;
			sent++;
			continue;
		}
		if (weir_unlikely(vt_tx_needs_prepare(q, p))) {
			if (!(p = vt_tx_prepare(q, p)))
				continue;
			pkts[i] = p;
		}
		inplace = weir_pkt_refcnt(p) == 1 && p->data_off >= VT_HDR_SIZE;
		ndesc = (uint16_t)(p->nb_segs + !inplace);
		if (ndesc > q->pq.nfree || !q->nids) {
			weir_port_ctr_add(&q->full, 1);
			if (++q->full_polls % VT_SOCK_CHECK_POLLS == 0)
				vt_conn_lost(q->q.port, q->sock_fd);
			break;
		}
		if (!inplace)
			weir_port_ctr_add(&q->hdr_desc, 1);
		/* In order, a chain's id is its head's ring position. */
		id = q->in_order ? q->pq.next_avail : q->free_ids[q->nids - 1];
		q->nids--;
		q->slot[id] = (struct vt_tx_slot){.pkt = p, .ndesc = ndesc};
		vt_packed_add(&q->pq, segs, tx_segs(q, p, inplace, id, segs), id, false);
		bytes += p->pkt_len;
		sent++;
	}
	if (sent && vt_packed_publish(&q->pq))
		vt_kick(q->kick_fd, &q->kicks);
	weir_port_ctr_add(&q->q.stats.packets, sent);
	weir_port_ctr_add(&q->q.stats.bytes, bytes);
	return i;
}
