// SPDX-License-Identifier: BSD-3-Clause
/*
 * afxdp's data path: the fill, RX, TX and completion rings of each queue's
 * AF_XDP socket. A received descriptor becomes a weir_pkt in place (the
 * pool is the UMEM); a pool packet goes onto the TX ring by address, and
 * the completion ring gives it back to the pool; anything else is copied
 * into a pool buffer first (counted). Kernel wake-ups follow need_wakeup,
 * or every empty poll with busy_poll=1.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

#include "weir/log.h"
#include "weir/offload.h"
#include "weir/pkt.h"
#include "weir/pool.h"

#include "afxdp_internal.h"

#define COMP_BATCH 256        /* completions reaped per call */
#define KICK_TRIES_MIN 4      /* sendto calls per kick in copy mode, at least */
#define DEAD_CHECK_POLLS 4096 /* empty polls between checks for a vanished device */
#define DEAD_CHECK_NS AFXDP_DEAD_CHECK_NS /* or this long, whichever comes first */

/* A pool buffer's address in the UMEM (the pool is the UMEM). */
static inline uint64_t pkt_umem_base(const struct weir_pool *pool, const struct weir_pkt *p)
{
	return (uint64_t)p->idx << pool->buf_shift;
}

/* Keeps fill_target buffers in the kernel's hands for RX. */
void afxdp_refill(struct afxdp_rxq *rxq)
{
	struct weir_pool *pool = rxq->pool;
	struct weir_pkt *pkts[FILL_BATCH];
	uint32_t want, idx;

	while ((want = rxq->fill_target - rxq->fill_held) >= FILL_BATCH / 2) {
		want = WEIR_MIN(want, FILL_BATCH);
		if (weir_pkt_alloc_bulk(pool, pkts, want) < 0) {
			/* Pool exhausted: the kernel will drop (rx_dropped)
			 * until packets come back. */
			weir_port_ctr_add(&rxq->q.stats.nombuf, 1);
			break;
		}
		if (xsk_ring_prod__reserve(&rxq->fill, want, &idx) != want) {
			weir_pool_put_bulk(pool, pkts, want);
			break;
		}
		for (uint32_t i = 0; i < want; i++) {
			*xsk_ring_prod__fill_addr(&rxq->fill, idx + i) = pkt_umem_base(pool, pkts[i]);
			rxq->owner[pkts[i]->idx] = rxq->sock_id;
		}
		xsk_ring_prod__submit(&rxq->fill, want);
		rxq->fill_held += want;
	}
	if (xsk_ring_prod__needs_wakeup(&rxq->fill)) {
		recvfrom(rxq->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		weir_port_ctr_add(&rxq->fill_kicks, 1);
	}
}

/* sendto says ENETDOWN both for a link that is down (it may come back up:
 * the port lives) and, once the device is unregistered, for one that is
 * gone: the ifindex tells them apart. */
static bool iface_gone(const struct weir_port *port)
{
	const struct afxdp_priv *priv = port->priv;
	char name[IF_NAMESIZE];

	return !if_indextoname((unsigned)priv->ifindex, name);
}

static void check_dead(struct afxdp_rxq *rxq)
{
	struct weir_port *port = rxq->q.port;
	struct afxdp_priv *priv = port->priv;
	socklen_t len = sizeof(int);
	char name[IF_NAMESIZE];
	int soerr = 0;

	getsockopt(rxq->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (soerr != ENETDOWN && soerr != ENXIO && if_indextoname((unsigned)priv->ifindex, name))
		return;
	weir_port_died(port, AFXDP_GONE, soerr ? strerror(soerr) : "no such ifindex");
}

/* Turns one RX descriptor into a packet segment; NULL for one that names no
 * buffer this socket gave the kernel, or bytes past its buffer's end (the
 * kernel never does; a check costs two compares and keeps a bug there from
 * becoming a double free or a read out of bounds here). */
static inline struct weir_pkt *desc_to_pkt(struct afxdp_rxq *rxq, const struct xdp_desc *d)
{
	struct weir_pool *pool = rxq->pool;
	struct weir_pkt *p = weir_pool_pkt_from_offset(pool, d->addr);

	if (weir_unlikely(!p || rxq->owner[p->idx] != rxq->sock_id ||
			  (d->addr & (pool->buf_size - 1)) + d->len > pool->buf_size))
		return NULL;
	rxq->owner[p->idx] = 0;
	p->data_off = (uint16_t)(d->addr & (pool->buf_size - 1));
	p->data_len = (uint16_t)d->len;
	p->pkt_len = d->len;
	p->nb_segs = 1;
	p->next = NULL;
	return p;
}

/*
 * A Linux sender with tx-checksumming on (a veth's default) leaves TCP and
 * UDP checksums partial, and AF_XDP says nothing of it: the frame's
 * checksum field holds the pseudo-header sum, which weir_pkt_csum_fix_partial
 * recognises and completes. Said once per queue, counted always.
 */
static void csum_completed(struct afxdp_rxq *rxq)
{
	weir_port_ctr_add(&rxq->rx_csum_completed, 1);
	if (!rxq->warned_csum) {
		rxq->warned_csum = true;
		WEIR_INFO("%s: queue %u: frames arrive with partial checksums (the sender's "
			  "tx-checksumming is on, as Linux veths have it by default); weir "
			  "completes them in software (xstat rx_csum_completed). To save that "
			  "work: ethtool -K <sender> tx off",
			  rxq->q.port->label, rxq->q.id);
	}
}

/* A descriptor that cannot be taken (desc_to_pkt refused it, or its frame
 * has more segments than a chain may): the whole frame is dropped, the
 * descriptors still to come of it too; counted. Returns the new head. */
static struct weir_pkt *bad_desc(struct afxdp_rxq *rxq, struct weir_pkt *p, struct weir_pkt *head,
				 const struct xdp_desc *d)
{
	if (!rxq->skip_frame) {
		weir_port_ctr_add(&rxq->rx_bad_desc, 1);
		weir_port_ctr_add(&rxq->q.stats.errors, 1);
	}
	if (p)
		weir_pkt_free(p);
	if (head)
		weir_pkt_free(head);
	rxq->skip_frame = d->options & XDP_PKT_CONTD;
	return NULL;
}

/* A poll that found nothing: busy-poll kick, and now and then a look at
 * whether the device is still there. */
static void rx_empty(struct afxdp_rxq *rxq)
{
	if (rxq->busy_poll) {
		/* Drives the device's NAPI from this thread. */
		recvfrom(rxq->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		weir_port_ctr_add(&rxq->rx_kicks, 1);
	}
	/* Every DEAD_CHECK_POLLS empty polls, or DEAD_CHECK_NS when the lcore
	 * sleeps between polls (an idle port must notice its device going
	 * too; the clock is read 1 poll in 64). */
	if (++rxq->empty_polls % 64 == 0) {
		weir_ns_t now = weir_clock_now();

		if (rxq->empty_polls >= DEAD_CHECK_POLLS || now - rxq->dead_checked >= DEAD_CHECK_NS) {
			rxq->empty_polls = 0;
			rxq->dead_checked = now;
			check_dead(rxq);
		}
	}
}

/* The XDP RX ring's frames (chains for multi-buffer ones), at most n. */
static uint16_t rx_xsk(struct afxdp_rxq *rxq, struct weir_pkt **pkts, uint16_t n)
{
	struct weir_rxq *q = &rxq->q;
	struct weir_pkt *head = NULL, *tail = NULL;
	uint32_t avail, idx, used = 0, done = 0, head_at = 0;
	uint64_t bytes = 0;

	if (rxq->fill_target - rxq->fill_held >= FILL_BATCH / 2)
		afxdp_refill(rxq);
	/* Multi-buffer frames take several descriptors: look at more than n. */
	avail = xsk_ring_cons__peek(&rxq->rx, rxq->rx.size, &idx);
	if (!avail) {
		rx_empty(rxq);
		return 0;
	}
	rxq->empty_polls = 0;
	while (used < avail && done < n) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rxq->rx, idx + used);
		struct weir_pkt *p = desc_to_pkt(rxq, d);

		used++;
		if (weir_unlikely(!p || rxq->skip_frame ||
				  (head && head->nb_segs >= WEIR_PKT_MAX_SEGS))) {
			head = bad_desc(rxq, p, head, d);
			continue;
		}
		if (!head) {
			head = tail = p;
			head_at = used - 1;
			/* The kernel wrote it on another CPU: start the miss now,
			 * the checksum pass below reads it a burst later. */
			if (rxq->csum_fix)
				__builtin_prefetch(weir_pkt_data(p));
		} else {
			tail->next = p;
			tail = p;
			head->nb_segs++;
			head->pkt_len += p->data_len;
		}
		if (d->options & XDP_PKT_CONTD)
			continue;
		if (head->nb_segs > 1)
			weir_port_ctr_add(&rxq->rx_multibuf, 1);
		head->port = q->port->id;
		head->queue = q->id;
		bytes += head->pkt_len;
		pkts[done++] = head;
		head = NULL;
	}
	if (head) {
		/* The rest of this frame was not peeked: leave its descriptors
		 * on the ring and read them again next time. */
		for (struct weir_pkt *s = head; s; s = s->next)
			rxq->owner[s->idx] = rxq->sock_id;
		xsk_ring_cons__cancel(&rxq->rx, avail - head_at);
		used = head_at;
	} else if (used < avail) {
		xsk_ring_cons__cancel(&rxq->rx, avail - used);
	}
	xsk_ring_cons__release(&rxq->rx, used);
	rxq->fill_held -= used;
	/* After the descriptors, so that every frame's first line is on its
	 * way before the first is read (one miss's wait per burst, not one
	 * per frame). */
	for (uint32_t i = 0; rxq->csum_fix && i < done; i++)
		if (weir_pkt_csum_fix_partial(pkts[i]) > 0)
			csum_completed(rxq);
	weir_port_ctr_add(&q->stats.packets, done);
	weir_port_ctr_add(&q->stats.bytes, bytes);
	return (uint16_t)done;
}

uint16_t afxdp_rx_burst(struct weir_rxq *q, struct weir_pkt **pkts, uint16_t n)
{
	struct afxdp_rxq *rxq = (struct afxdp_rxq *)q;
	uint16_t done = rx_xsk(rxq, pkts, n);

	/* gso_rx: the super-frames the program passed to the kernel. */
	if (rxq->gso_rx_fd >= 0 && done < n)
		done += afxdp_gso_rx(rxq, pkts + done, n - done, done == 0);
	return done;
}

/* Reaps the completion ring: sent buffers go back to their pool. */
static uint32_t reap(struct afxdp_txq *txq)
{
	struct weir_pool *pool = txq->pool;
	struct weir_pkt *batch[64];
	uint32_t n, idx, nb = 0, pkts = 0;
	uint64_t bytes = 0;

	n = xsk_ring_cons__peek(&txq->comp, COMP_BATCH, &idx);
	if (!n)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t addr = *xsk_ring_cons__comp_addr(&txq->comp, idx + i);
		struct weir_pkt *p = weir_pool_pkt_from_offset(pool, addr);

		/* Only what this socket put on its TX ring comes back. */
		if (weir_unlikely(!p || txq->owner[p->idx] != txq->sock_id)) {
			weir_port_ctr_add(&txq->tx_bad_comp, 1);
			continue;
		}
		txq->owner[p->idx] = 0;
		bytes += p->data_len;
		pkts += p->nb_segs != 0; /* 0 marks a non-first segment */
		batch[nb++] = p;
		if (nb == WEIR_ARRAY_SIZE(batch)) {
			weir_pkt_free_bulk(batch, nb);
			nb = 0;
		}
	}
	if (nb)
		weir_pkt_free_bulk(batch, nb);
	xsk_ring_cons__release(&txq->comp, n);
	txq->in_flight -= n;
	weir_port_ctr_add(&txq->q.done_pkts, pkts);
	weir_port_ctr_add(&txq->q.done_bytes, bytes);
	return pkts;
}

static inline bool tx_pending(const struct afxdp_txq *txq);
static void kick_tx(struct afxdp_txq *txq);

uint16_t afxdp_tx_done(struct weir_txq *q)
{
	struct afxdp_txq *txq = (struct afxdp_txq *)q;
	uint32_t total = 0, got;

	while ((got = reap(txq)) > 0 && total < UINT16_MAX - COMP_BATCH)
		total += got;
	/* Copy mode sends inside sendto: descriptors a kick left on the ring
	 * (it sends 32 per call) go out here, so a caller that only polls
	 * tx_done still drains it. No pending descriptor, no system call. */
	if (tx_pending(txq))
		kick_tx(txq);
	return (uint16_t)total;
}

/* Descriptors submitted to the TX ring that the kernel has not taken. */
static inline bool tx_pending(const struct afxdp_txq *txq)
{
	/* Acquire pairs with the kernel's release of the consumer index. */
	return __atomic_load_n(txq->tx.consumer, __ATOMIC_ACQUIRE) != txq->tx.cached_prod;
}

static void kick_tx(struct afxdp_txq *txq)
{
	uint32_t tries = txq->tx.size / 32 + KICK_TRIES_MIN;

	if (!txq->busy_poll && !xsk_ring_prod__needs_wakeup(&txq->tx))
		return;
	weir_port_ctr_add(&txq->tx_kicks, 1);
	/* Copy mode sends at most 32 frames per call and says EAGAIN when
	 * more wait or the completion ring is full: reap and go on. */
	while (tries--) {
		if (sendto(txq->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				reap(txq);
				continue;
			}
			if (errno != EBUSY && errno != ENOBUFS) {
				weir_port_ctr_add(&txq->tx_kick_errors, 1);
				if (errno == ENXIO || (errno == ENETDOWN && iface_gone(txq->q.port)))
					weir_port_died(txq->q.port, AFXDP_GONE, strerror(errno));
			}
			return;
		}
		if (!tx_pending(txq))
			return;
		reap(txq); /* a batch went, more wait */
	}
}

/* Can this packet go on the TX ring by address (same UMEM, own buffers)? */
static inline bool zc_ok(const struct afxdp_txq *txq, const struct weir_pkt *p)
{
	if (weir_likely(p->nb_segs == 1))
		return p->pool == txq->pool && !p->flags;
	if (!txq->sg)
		return false;
	for (const struct weir_pkt *s = p; s; s = s->next)
		if (s->pool != txq->pool || s->flags)
			return false;
	return true;
}

/*
 * AF_XDP sends wire frames only: a partial checksum is completed here; a
 * super-frame cannot go (the caller segments first, see
 * weir_port_tx_offloads) and is dropped, counted, said once. 0 or -EINVAL.
 */
static int tx_offload(struct afxdp_txq *txq, struct weir_pkt *p)
{
	if (weir_pkt_is_gso(p)) {
		weir_port_ctr_add(&txq->tx_too_big, 1);
		weir_port_ctr_add(&txq->q.stats.errors, 1);
		if (!txq->warned_gso) {
			txq->warned_gso = true;
			WEIR_WARN("%s: dropping GSO super-frames (%u bytes): AF_XDP sends wire "
				  "frames only; segment them first (weir_gso_segment)",
				  txq->q.port->label, p->pkt_len);
		}
		return -EINVAL;
	}
	if (weir_pkt_csum_complete(p) < 0) {
		weir_port_ctr_add(&txq->q.stats.errors, 1);
		return -EINVAL;
	}
	weir_port_ctr_add(&txq->tx_csum_completed, 1);
	return 0;
}

/* Taken and dropped: done as far as anyone waiting for completions is
 * concerned (see struct weir_txq); frees p. */
static void tx_dropped(struct afxdp_txq *txq, struct weir_pkt *p)
{
	weir_port_ctr_add(&txq->q.done_pkts, 1);
	weir_port_ctr_add(&txq->q.done_bytes, p->pkt_len);
	weir_pkt_free(p);
}

bool afxdp_tx_drained(struct afxdp_txq *txq)
{
	if (tx_pending(txq))
		kick_tx(txq);
	if (tx_pending(txq))
		return false;
	if (txq->zc && txq->in_flight)
		reap(txq);
	return !txq->zc || txq->in_flight == 0;
}

/* Hands the used descriptors written from the producer index on to the
 * kernel. */
static void tx_submit(struct afxdp_txq *txq, uint32_t used)
{
	uint32_t idx;

	xsk_ring_prod__reserve(&txq->tx, used, &idx);
	xsk_ring_prod__submit(&txq->tx, used);
	txq->in_flight += used;
	kick_tx(txq);
}

/* Super-frame p by the GSO companion, once the descriptors before it have
 * left: 1 sent (or dropped, counted; p is freed either way), 0 not now. */
static int tx_gso(struct afxdp_txq *txq, struct weir_pkt *p)
{
	int e;

	if (!afxdp_tx_drained(txq)) {
		weir_port_ctr_add(&txq->tx_gso_waits, 1);
		return 0;
	}
	e = afxdp_gso_send(txq, p);
	if (e == -EAGAIN)
		return 0;
	/* Sent or refused, the kernel is done with it: complete at once. */
	tx_dropped(txq, p);
	return e ? -1 : 1;
}

/* A packet that cannot go by address, copied into a pool buffer and put
 * on the TX ring at index at: 1 (the caller frees p), 0 dropped (never
 * fits a buffer: counted, freed), -1 no buffer now. */
static int tx_copy(struct afxdp_txq *txq, struct weir_pkt *p, uint32_t at)
{
	struct weir_pool *pool = txq->pool;
	struct weir_pkt *c;
	struct xdp_desc *d;

	if (p->pkt_len > pool->buf_size - pool->headroom) {
		/* Never fits one buffer: dropping is the only answer, retrying
		 * would spin forever. */
		weir_port_ctr_add(&txq->tx_too_big, 1);
		weir_port_ctr_add(&txq->q.stats.errors, 1);
		tx_dropped(txq, p);
		return 0;
	}
	c = weir_pkt_alloc(pool);
	if (!c)
		return -1;
	weir_pkt_copy_out(p, 0, p->pkt_len, weir_pkt_data(c));
	c->data_len = (uint16_t)p->pkt_len;
	c->pkt_len = p->pkt_len;
	weir_port_ctr_add(&txq->tx_copies, 1);
	d = xsk_ring_prod__tx_desc(&txq->tx, at);
	d->addr = pkt_umem_base(pool, c) + c->data_off;
	d->len = c->data_len;
	d->options = 0;
	txq->owner[c->idx] = txq->sock_id;
	return 1;
}

uint16_t afxdp_tx_burst(struct weir_txq *q, struct weir_pkt **pkts, uint16_t n)
{
	struct afxdp_txq *txq = (struct afxdp_txq *)q;
	struct weir_pool *pool = txq->pool;
	uint32_t room, idx = txq->tx.cached_prod, used = 0;
	uint64_t bytes = 0;
	uint16_t sent;

	if (txq->in_flight)
		reap(txq);
	room = xsk_prod_nb_free(&txq->tx, txq->tx.size);
	for (sent = 0; sent < n; sent++) {
		struct weir_pkt *p = pkts[sent];

		if (weir_unlikely(txq->gso_fd >= 0 && weir_pkt_is_gso(p))) {
			uint32_t len = p->pkt_len;
			int r;

			if (used)
				tx_submit(txq, used);
			used = 0;
			idx = txq->tx.cached_prod;
			r = tx_gso(txq, p);
			if (r == 0)
				break;
			if (r > 0)
				bytes += len;
			room = xsk_prod_nb_free(&txq->tx, txq->tx.size);
			continue;
		}
		if (weir_unlikely(p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL || weir_pkt_is_gso(p)) &&
		    tx_offload(txq, p) < 0) {
			tx_dropped(txq, p);
			continue;
		}
		if (zc_ok(txq, p)) {
			if (p->nb_segs > room - used)
				break;
			bytes += p->pkt_len;
			if (p->nb_segs > 1)
				weir_port_ctr_add(&txq->tx_multibuf, 1);
			for (struct weir_pkt *s = p, *next; s; s = next) {
				struct xdp_desc *d = xsk_ring_prod__tx_desc(&txq->tx, idx + used++);

				next = s->next;
				d->addr = pkt_umem_base(pool, s) + s->data_off;
				d->len = s->data_len;
				d->options = next ? XDP_PKT_CONTD : 0;
				txq->owner[s->idx] = txq->sock_id;
				/* Each segment completes on its own. */
				s->nb_segs = s == p;
				s->next = NULL;
			}
		} else {
			int r;

			if (used == room)
				break;
			r = tx_copy(txq, p, idx + used);
			if (r < 0)
				break;
			used += (uint32_t)r;
			bytes += r ? p->pkt_len : 0;
			if (r)
				weir_pkt_free(p);
		}
	}
	if (used)
		tx_submit(txq, used);
	weir_port_ctr_add(&q->stats.packets, sent);
	weir_port_ctr_add(&q->stats.bytes, bytes);
	return sent;
}

int afxdp_wait_fd(struct weir_rxq *q)
{
	const struct afxdp_rxq *rxq = (const struct afxdp_rxq *)q;

	return rxq->wait_fd >= 0 ? rxq->wait_fd : rxq->fd;
}
