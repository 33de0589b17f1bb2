// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio: the receive and transmit bursts over split virtqueues. Zero
 * copy both ways: an RX descriptor is a pool buffer whose headroom takes
 * the 12-byte virtio-net header right in front of where the frame lands;
 * a TX descriptor chain is the packet's segments, the header written into
 * the first segment's headroom when weir alone owns that buffer (else into
 * a header slot of the queue's own, one descriptor more).
 *
 * The device is not trusted (see virtio_internal.h): each used entry is
 * copied out once and checked (id in range and in flight, length within
 * what was offered, buffer counts for mergeable RX) against private
 * state; the first violation marks the port dead with what was wrong and
 * hangs up on the backend, and the queue touches the rings no more. Every packet stays accounted for:
 * in a slot (the device has it), with the caller, or back in the pool.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weir/offload.h"

#include "virtio_internal.h"

void vt_kick(int fd, uint64_t *ctr)
{
	uint64_t one = 1;

	weir_port_ctr_add(ctr, 1);
	/* A full eventfd counter (never, in practice) still wakes the device. */
	if (write(fd, &one, sizeof(one)) < 0)
		return;
}

void vt_drain(int fd)
{
	uint64_t v;

	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: nothing was signalled */
}

void vt_hangup(int conn_fd)
{
	if (conn_fd >= 0)
		shutdown(conn_fd, SHUT_RDWR);
}

bool vt_conn_lost(struct weir_port *port, int sock_fd)
{
	char c;
	ssize_t r;

	if (sock_fd < 0)
		return false;
	r = recv(sock_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR)))
		return false;
	weir_port_died(port, "the vhost-user backend closed the connection%s%s; restart it and "
		       "reopen the port", r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
	return true;
}

/* --- RX ------------------------------------------------------------------ */

uint16_t vt_rx_refill(struct vt_rxq *q)
{
	struct weir_pkt *pkts[VT_RX_REFILL_BATCH];
	uint16_t posted = 0;

	if (q->packed)
		return vt_rx_refill_packed(q);
	while (q->nfree) {
		uint16_t n = q->nfree < VT_RX_REFILL_BATCH ? q->nfree : VT_RX_REFILL_BATCH;

		if (weir_pkt_alloc_bulk(q->pool, pkts, n) < 0) {
			weir_port_ctr_add(&q->refill_fail, 1);
			break;
		}
		for (uint16_t i = 0; i < n; i++) {
			/* In order, buffers go out in ring order: the next
			 * slot's descriptor is the one the device gave back
			 * longest ago (the used ids are checked for it). */
			uint16_t id = q->in_order ? (uint16_t)(q->vq.avail_shadow & q->vq.mask)
						  : q->free_ids[q->nfree - 1];
			struct vring_desc *d = &q->vq.desc[id];

			q->nfree--;
			q->slot[id] = pkts[i];
			d->addr = (uint64_t)(uintptr_t)(weir_pkt_data(pkts[i]) - VT_HDR_SIZE);
			d->len = q->buf_room;
			d->flags = VRING_DESC_F_WRITE;
			d->next = 0;
			vt_split_avail_add(&q->vq, id);
		}
		posted += n;
	}
	if (posted && vt_split_publish(&q->vq) && q->kick_fd >= 0)
		vt_kick(q->kick_fd, &q->kicks);
	return posted;
}

/* Takes used entry e's buffer out of its slot after checking the entry:
 * the packet, with its data length set, or NULL (port marked dead). */
struct weir_pkt *vt_rx_take(struct vt_rxq *q, struct vring_used_elem e, bool head)
{
	uint32_t min = head ? q->hdr_size : 1;
	struct weir_pkt *p;

	if (e.id >= q->size || !q->slot[e.id]) {
		vt_broken(q, "used id %u is %s", e.id,
			  e.id >= q->size ? "out of range" : "not a buffer it was given");
		return NULL;
	}
	if (e.len < min || e.len > q->buf_room) {
		weir_port_ctr_add(&q->bad_len, 1);
		vt_broken(q, "used length %u for a %u-byte buffer (at least %u)", e.len,
			  q->buf_room, min);
		return NULL;
	}
	p = q->slot[e.id];
	q->slot[e.id] = NULL;
	q->free_ids[q->nfree++] = (uint16_t)e.id;
	if (head) {
		p->data_len = (uint16_t)(e.len - q->hdr_size);
	} else {
		/* A continuation buffer has no header: data starts where the
		 * descriptor does. */
		p->data_off = (uint16_t)(p->data_off - VT_HDR_SIZE);
		p->data_len = (uint16_t)e.len;
	}
	p->pkt_len = p->data_len;
	return p;
}

bool vt_rx_in_order_ok(struct vt_rxq *q, uint32_t id, uint16_t want)
{
	if (!q->in_order || id == want)
		return true;
	vt_broken(q, "used id %u out of order (buffer %u is next; VIRTIO_F_IN_ORDER was "
		  "negotiated)", id, want);
	return false;
}

/* The header's offload word on p (GUEST_CSUM negotiated). */
void vt_rx_offloads(struct vt_rxq *q, struct weir_pkt *p, const struct vt_net_hdr *h)
{
	uint16_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);

	if (h->flags & VT_HDR_F_NEEDS_CSUM) {
		/* Believed only when the field lies inside the frame. */
		if ((uint32_t)start + off + 2 > p->pkt_len) {
			weir_port_ctr_add(&q->bad_len, 1);
			return;
		}
		p->ol_flags |= WEIR_PKT_OL_CSUM_PARTIAL;
		p->csum_start = start;
		p->csum_offset = off;
		weir_port_ctr_add(&q->csum_partial, 1);
	} else if (h->flags & VT_HDR_F_DATA_VALID) {
		p->ol_flags |= WEIR_PKT_OL_CSUM_VALID;
	}
}

/* Receives the frame at the next used entries (avail of them are there):
 * 1 with *out set, 0 when its buffers are not all used yet, -1 when the
 * device broke the rules. */
static int rx_one(struct vt_rxq *q, int avail, struct weir_pkt **out)
{
	struct vring_used_elem e = vt_split_used_get(&q->vq, 0);
	struct vt_net_hdr h;
	struct weir_pkt *p, *last;
	uint16_t nbufs = 1;

	if (e.id < q->vq.size && q->slot[e.id]) {
		/* One copy of the header: the device may rewrite it. */
		memcpy(&h, weir_pkt_data(q->slot[e.id]) - VT_HDR_SIZE, sizeof(h));
		if (q->mrg)
			nbufs = le16toh(h.num_buffers);
	}
	if (q->mrg && (nbufs == 0 || nbufs > q->vq.size)) {
		vt_broken(q, "num_buffers %u in a ring of %u", nbufs, q->vq.size);
		return -1;
	}
	if (nbufs > avail)
		return 0;
	if (!vt_rx_in_order_ok(q, e.id, q->vq.last_used & q->vq.mask) ||
	    !(p = vt_rx_take(q, e, true)))
		return -1;
	last = p;
	for (uint16_t i = 1; i < nbufs; i++) {
		struct vring_used_elem m = vt_split_used_get(&q->vq, i);
		struct weir_pkt *s = NULL;

		if (vt_rx_in_order_ok(q, m.id, (uint16_t)(q->vq.last_used + i) & q->vq.mask))
			s = vt_rx_take(q, m, false);
		if (!s) {
			weir_pkt_free(p);
			return -1;
		}
		last->next = s;
		last = s;
		p->pkt_len += s->data_len;
		p->nb_segs++;
	}
	q->vq.last_used = (uint16_t)(q->vq.last_used + nbufs);
	q->idle_polls = 0;
	if (nbufs > 1)
		weir_port_ctr_add(&q->chained, 1);
	if (q->guest_csum)
		vt_rx_offloads(q, p, &h);
	*out = p;
	return 1;
}

/* Nothing came: before the lcore may sleep on call_fd, drain it and ask
 * for an interrupt for the next entry (once per idle spell). */
static void rx_idle(struct vt_rxq *q)
{
	if (++q->idle_polls % VT_SOCK_CHECK_POLLS == 1 && vt_conn_lost(q->q.port, q->sock_fd))
		return;
	if (q->armed)
		return;
	vt_drain(q->call_fd);
	q->armed = true;
	/* An entry that slipped in is read at the next poll. */
	if (q->packed)
		vt_packed_arm(&q->pq);
	else
		vt_split_arm(&q->vq);
}

void vt_rx_finish(struct vt_rxq *q, uint16_t got, uint64_t bytes)
{
	if (got) {
		if (q->armed) {
			q->armed = false;
			if (q->packed)
				vt_packed_disarm(&q->pq);
			else if (!q->vq.event_idx)
				*q->vq.avail_flags = VRING_AVAIL_F_NO_INTERRUPT;
		}
		weir_port_ctr_add(&q->q.stats.packets, got);
		weir_port_ctr_add(&q->q.stats.bytes, bytes);
	} else if (!weir_port_is_dead(q->q.port)) {
		rx_idle(q);
	}
	if (q->nfree >= q->refill_at && !weir_port_is_dead(q->q.port))
		vt_rx_refill(q);
}

/* The fast loop: up to max common frames (vt_rx_simple), one used entry
 * each, in ring order when in order; stops at the first other entry. */
static inline uint16_t rx_run(struct vt_rxq *q, struct weir_pkt **pkts, uint16_t max,
			      uint64_t *bytes)
{
	uint16_t k = 0;

	while (k < max) {
		struct vring_used_elem e = vt_split_used_get(&q->vq, 0);
		struct weir_pkt *p;

		if ((q->in_order && e.id != (q->vq.last_used & q->vq.mask)) ||
		    !(p = vt_rx_simple(q, e.id, e.len)))
			break;
		q->vq.last_used++;
		*bytes += p->pkt_len;
		pkts[k++] = p;
	}
	return k;
}

static uint16_t rx_burst(struct weir_rxq *rxq, struct weir_pkt **pkts, uint16_t n)
{
	struct vt_rxq *q = (struct vt_rxq *)rxq;
	int avail = vt_split_used_avail(&q->vq);
	uint64_t bytes = 0;
	uint16_t got = 0;

	if (weir_unlikely(weir_port_is_dead(rxq->port)))
		return 0;
	if (weir_unlikely(avail < 0)) {
		vt_broken(q, "used index %u is more than %u entries past %u",
			  __atomic_load_n(q->vq.used_idx, __ATOMIC_RELAXED), q->vq.size,
			  q->vq.last_used);
		return 0;
	}
	while (got < n && avail > 0) {
		struct weir_pkt *p;
		uint16_t before, k = rx_run(q, pkts + got,
					   (uint16_t)(n - got < avail ? n - got : avail), &bytes);

		got = (uint16_t)(got + k);
		avail -= k;
		if (got == n || !avail)
			break;
		/* A chain, or an entry that breaks a rule: the general path. */
		before = q->vq.last_used;
		if (rx_one(q, avail, &p) <= 0)
			break;
		avail -= (uint16_t)(q->vq.last_used - before);
		p->port = rxq->port->id;
		p->queue = rxq->id;
		bytes += p->pkt_len;
		pkts[got++] = p;
	}
	if (got)
		q->idle_polls = 0;
	vt_rx_finish(q, got, bytes);
	return got;
}

uint16_t vt_rx_burst(struct weir_rxq *rxq, struct weir_pkt **pkts, uint16_t n)
{
	struct vt_rxq *q = (struct vt_rxq *)rxq;
	uint16_t got;

	if (!vt_guard_enter(&q->guard))
		return 0; /* a reconnect owns the queue */
	got = q->packed ? vt_rx_burst_packed(q, pkts, n) : rx_burst(rxq, pkts, n);
	vt_guard_exit(&q->guard);
	return got;
}

/* --- TX ------------------------------------------------------------------ */

uint16_t vt_reap_end(struct vt_txq *q, struct vt_reap *r)
{
	if (r->nfast)
		weir_pool_put_bulk(r->pool, r->fast, r->nfast);
	weir_pkt_free_bulk(r->pkts, r->n);
	weir_port_ctr_add(&q->q.done_pkts, r->done);
	weir_port_ctr_add(&q->q.done_bytes, r->bytes);
	return r->done;
}

/* In order (VIRTIO_F_IN_ORDER): chains are used as they were made
 * available, so used->idx alone says how many are done and the entries
 * are not read (their lines stay in the device's cache). The oldest
 * chain's head is private state; the index may not pass the chains in
 * flight. */
static void tx_reap_in_order(struct vt_txq *q, uint16_t avail, struct vt_reap *r)
{
	uint16_t inflight = (uint16_t)(q->vq.avail_shadow - q->vq.last_used);

	if (weir_unlikely(avail > inflight)) {
		vt_broken(q, "used index %u is %u entries past %u with %u chains in flight",
			  (uint16_t)(q->vq.last_used + avail), avail, q->vq.last_used, inflight);
		return;
	}
	for (uint16_t i = 0; i < avail; i++) {
		struct vt_tx_slot *s = &q->slot[q->reap_head];

		vt_reap_add(r, s);
		s->pkt = NULL;
		q->nfree = (uint16_t)(q->nfree + s->ndesc);
		q->reap_head = (uint16_t)((q->reap_head + s->ndesc) & q->vq.mask);
	}
	q->vq.last_used = (uint16_t)(q->vq.last_used + avail);
}

/* Any order: each used entry's id is checked against the chains in
 * flight, and its chain goes back on the private free list. */
static void tx_reap_any(struct vt_txq *q, uint16_t avail, struct vt_reap *r)
{
	for (uint16_t i = 0; i < avail; i++) {
		struct vring_used_elem e = vt_split_used_get(&q->vq, 0);
		struct vt_tx_slot *s;

		if (weir_unlikely(e.id >= q->vq.size || !q->slot[e.id].pkt)) {
			vt_broken(q, "TX used id %u is %s", e.id,
				  e.id >= q->vq.size ? "out of range" : "not a chain in flight");
			return;
		}
		s = &q->slot[e.id];
		vt_reap_add(r, s);
		s->pkt = NULL;
		q->next[s->last] = q->free_head;
		q->free_head = (uint16_t)e.id;
		q->nfree = (uint16_t)(q->nfree + s->ndesc);
		q->vq.last_used++;
	}
}

static uint16_t tx_reap(struct weir_txq *txq)
{
	struct vt_txq *q = (struct vt_txq *)txq;
	struct vt_reap r;
	int avail;

	/* A dead queue's ring is the broken backend's word: not read again. */
	if (weir_unlikely(weir_port_is_dead(txq->port)))
		return 0;
	avail = vt_split_used_avail(&q->vq);
	if (weir_unlikely(avail < 0)) {
		vt_broken(q, "used index %u is more than %u entries past %u",
			  __atomic_load_n(q->vq.used_idx, __ATOMIC_RELAXED), q->vq.size,
			  q->vq.last_used);
		return 0;
	}
	if (!avail)
		return 0;
	vt_reap_init(q, &r);
	if (q->in_order)
		tx_reap_in_order(q, (uint16_t)avail, &r);
	else
		tx_reap_any(q, (uint16_t)avail, &r);
	return vt_reap_end(q, &r);
}

/* True when p cannot go as it is: a segment outside this queue's pool
 * or not weir's alone to lend (external, a clone's, embedded in a DPDK
 * mbuf), or an offload the device did not agree to. */
bool vt_tx_needs_prepare(const struct vt_txq *q, const struct weir_pkt *p)
{
	for (const struct weir_pkt *s = p; s; s = s->next)
		if (s->pool != q->pool || s->flags)
			return true;
	return (weir_pkt_is_gso(p) && !q->gso) ||
	       ((p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) && !q->csum);
}

/* A packet a burst takes but cannot send: freed, counted as a drop and
 * as completed (nothing else will ever complete it; DQL would wait). */
static struct weir_pkt *tx_drop(struct vt_txq *q, struct weir_pkt *p)
{
	weir_port_ctr_add(&q->q.stats.drops, 1);
	weir_port_ctr_add(&q->q.done_pkts, 1);
	weir_port_ctr_add(&q->q.done_bytes, p->pkt_len);
	weir_pkt_free(p);
	return NULL;
}

/* p as the device may read it: anything of another pool, external or a
 * clone is copied into this pool; a partial checksum the device does not
 * finish is finished here. NULL when it cannot go (freed, counted). */
struct weir_pkt *vt_tx_prepare(struct vt_txq *q, struct weir_pkt *p)
{
	struct weir_pkt *c;

	for (struct weir_pkt *s = p; s; s = s->next) {
		if (s->pool == q->pool && !s->flags)
			continue;
		if (weir_pkt_copy(p, q->pool, &c) < 0)
			return tx_drop(q, p);
		weir_port_ctr_add(&q->copied, 1);
		weir_pkt_free(p);
		p = c;
		break;
	}
	if (weir_pkt_is_gso(p) && !q->gso) {
		weir_port_ctr_add(&q->too_big, 1);
		return tx_drop(q, p);
	}
	if ((p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) && !q->csum &&
	    weir_pkt_csum_complete(p) == 0)
		weir_port_ctr_add(&q->csum_completed, 1);
	return p;
}

void vt_hdr_fill(const struct vt_txq *q, const struct weir_pkt *p, struct vt_net_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if ((p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) && q->csum) {
		h->flags = VT_HDR_F_NEEDS_CSUM;
		h->csum_start = htole16(p->csum_start);
		h->csum_offset = htole16(p->csum_offset);
	}
	if (weir_pkt_is_gso(p)) {
		h->gso_type = p->gso_type;
		h->gso_size = htole16(p->gso_size);
		h->hdr_len = htole16(p->hdr_len);
	}
}

/* Writes p's descriptor chain (nfree suffices); returns its head. */
static uint16_t tx_chain(struct vt_txq *q, struct weir_pkt *p, bool inplace, uint16_t ndesc)
{
	uint16_t head = q->free_head, id = head, last = head;
	struct vring_desc *d;

	if (inplace) {
		vt_hdr_fill(q, p, (struct vt_net_hdr *)(void *)(weir_pkt_data(p) - VT_HDR_SIZE));
	} else {
		vt_hdr_fill(q, p, &q->hdrs[head]);
		d = &q->vq.desc[id];
		d->addr = (uint64_t)(uintptr_t)&q->hdrs[head];
		d->len = VT_HDR_SIZE;
		d->flags = VRING_DESC_F_NEXT;
		d->next = q->next[id];
		last = id;
		id = q->next[id];
	}
	for (struct weir_pkt *s = p; s; s = s->next) {
		bool first = inplace && s == p;

		d = &q->vq.desc[id];
		d->addr = (uint64_t)(uintptr_t)(weir_pkt_data(s) - (first ? VT_HDR_SIZE : 0));
		d->len = s->data_len + (first ? VT_HDR_SIZE : 0);
		d->flags = s->next ? VRING_DESC_F_NEXT : 0;
		d->next = q->next[id];
		last = id;
		id = q->next[id];
	}
	q->free_head = id;
	q->nfree = (uint16_t)(q->nfree - ndesc);
	q->slot[head] = (struct vt_tx_slot){.pkt = p, .ndesc = ndesc, .last = last};
	return head;
}

uint16_t vt_tx_done(struct weir_txq *txq)
{
	struct vt_txq *q = (struct vt_txq *)txq;
	uint16_t done;

	if (!vt_guard_enter(&q->guard))
		return 0;
	done = q->packed ? vt_tx_reap_packed(q) : tx_reap(txq);
	vt_guard_exit(&q->guard);
	return done;
}

static uint16_t tx_burst(struct weir_txq *txq, struct weir_pkt **pkts, uint16_t n)
{
	struct vt_txq *q = (struct vt_txq *)txq;
	uint64_t bytes = 0;
	uint16_t i, sent = 0;

	if (weir_unlikely(weir_port_is_dead(txq->port)))
		return 0;
	if (q->nfree < q->vq.size / 2)
		tx_reap(txq);
	/* In order the free descriptors run on from free_head. */
	if (q->in_order)
		vt_tx_prefetch(pkts, n < q->nfree ? n : q->nfree, q->vq.desc, q->free_head, q->vq.size);
	for (i = 0; i < n; i++) {
		struct weir_pkt *p = pkts[i];
		bool inplace;
		uint16_t ndesc;

		if (weir_likely(vt_tx_simple(q, p)) && q->nfree) {
			uint16_t id = q->free_head;
			struct vring_desc *d = &q->vq.desc[id];

			d->addr = (uint64_t)(uintptr_t)vt_tx_simple_hdr(p);
			d->len = p->data_len + VT_HDR_SIZE;
			d->flags = 0;
			d->next = q->next[id];
			q->free_head = q->next[id];
			q->nfree--;
			q->slot[id] = (struct vt_tx_slot){.pkt = p, .ndesc = 1, .last = id, .simple = true};
			vt_split_avail_add(&q->vq, id);
			bytes += p->pkt_len;
			sent++;
			continue;
		}
		if (weir_unlikely(vt_tx_needs_prepare(q, p))) {
			if (!(p = vt_tx_prepare(q, p)))
				continue;
			pkts[i] = p; /* the caller keeps the copy if it does not fit */
		}
		/* The header goes in front of the frame when only weir holds
		 * the buffer: a shared buffer's headroom is its sharers' too. */
		inplace = weir_pkt_refcnt(p) == 1 && p->data_off >= VT_HDR_SIZE;
		ndesc = (uint16_t)(p->nb_segs + !inplace);
		if (ndesc > q->nfree) {
			weir_port_ctr_add(&q->full, 1);
			if (++q->full_polls % VT_SOCK_CHECK_POLLS == 0)
				vt_conn_lost(txq->port, q->sock_fd);
			break;
		}
		if (!inplace)
			weir_port_ctr_add(&q->hdr_desc, 1);
		bytes += p->pkt_len;
		vt_split_avail_add(&q->vq, tx_chain(q, p, inplace, ndesc));
		sent++;
	}
	if (sent && vt_split_publish(&q->vq))
		vt_kick(q->kick_fd, &q->kicks);
	weir_port_ctr_add(&txq->stats.packets, sent);
	weir_port_ctr_add(&txq->stats.bytes, bytes);
	return (uint16_t)i;
}

uint16_t vt_tx_burst(struct weir_txq *txq, struct weir_pkt **pkts, uint16_t n)
{
	struct vt_txq *q = (struct vt_txq *)txq;
	uint16_t took;

	if (!vt_guard_enter(&q->guard))
		return 0; /* the caller keeps them while the backend is away */
	took = q->packed ? vt_tx_burst_packed(q, pkts, n) : tx_burst(txq, pkts, n);
	vt_guard_exit(&q->guard);
	return took;
}

