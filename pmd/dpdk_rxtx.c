// SPDX-License-Identifier: BSD-3-Clause
/*
 * The dpdk: bridge's bursts. Receive: each rte_mbuf segment becomes the
 * weir_pkt in its own private area (WEIR_PKT_F_EMBEDDED: one template
 * copy and its offsets, nothing from a weir pool); the last weir free
 * gives the mbuf back. Transmit: a packet that is still its own mbufs
 * goes out in them (the common forwarding case: no header, no free);
 * any other weir_pkt segment goes out in an mbuf header attached to its
 * buffer (rte_pktmbuf_attach_extbuf), whose free callback drops the weir
 * reference once DPDK is done. Chains map to multi-segment mbufs, offload
 * metadata to mbuf flags. A copy happens only when zero copy cannot be
 * had (an mbuf from someone else's mempool, a buffer the device cannot
 * DMA from, more segments than it takes) and is counted (xstats
 * rx_copied, tx_copied).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "weir/offload.h"
#include "weir/proto/ether.h"
#include "dpdk_internal.h"

/* --- receive ------------------------------------------------------------- */

/* The last weir reference to a packet embedded in an mbuf went: the mbuf
 * segment goes back to its mempool (detaching whatever it carries). */
static void rx_mbuf_release(void *pkt, void *opaque)
{
	(void)opaque;
	rte_pktmbuf_free_seg(dpdk_pkt_mbuf(pkt));
}

struct weir_extbuf dpdk_mbuf_owner = {.free_cb = rx_mbuf_release};

void dpdk_rxq_init_template(struct dpdk_rxq *q)
{
	struct weir_pkt *t = &q->tmpl;

	memset(t, 0, sizeof(*t));
	t->pool = q->pool;
	weir_pkt_reset(t);
	t->port = q->q.port->id;
	t->queue = q->q.id;
	atomic_init(&t->refcnt, 1);
	t->flags = WEIR_PKT_F_EMBEDDED;
	t->ext = &dpdk_mbuf_owner;
	t->idx = UINT32_MAX; /* no buffer of t->pool */
}

static inline bool mbuf_is_ours(const struct dpdk_rxq *q, const struct rte_mbuf *m)
{
	if (__builtin_expect(m->pool == q->mp, 1))
		return true;
	return m->priv_size >= sizeof(struct dpdk_mbuf_priv) &&
	       !strncmp(m->pool->name, DPDK_POOL_PREFIX, sizeof(DPDK_POOL_PREFIX) - 1);
}

/*
 * The weir packet in mbuf segment m's private area, made fresh. All of it,
 * every time, not once per mempool object: while weir held the packet last
 * time it may have changed any field (a qdisc's qnext, offload lengths,
 * udata, the timestamp), and the mbuf went back to its pool inside the PMD
 * (net_null's TX, a NIC's completion), where weir cannot set them back.
 */
static inline struct weir_pkt *rx_embed(const struct dpdk_rxq *q, struct rte_mbuf *m)
{
	struct weir_pkt *p = dpdk_mbuf_pkt(m);

	memcpy(p, &q->tmpl, sizeof(*p));
	p->buf = m->buf_addr;
	p->buf_len = m->buf_len;
	p->data_off = m->data_off;
	p->data_len = m->data_len;
	p->pkt_len = m->data_len;
	return p;
}

/* A multi-segment mbuf as a chain of embedded packets, the mbufs unlinked
 * (each goes back alone when its segment is freed). */
static __attribute__((cold)) void rx_embed_tail(const struct dpdk_rxq *q, struct weir_pkt *head,
						 struct rte_mbuf *m)
{
	struct weir_pkt *last = head;

	head->pkt_len = m->pkt_len;
	head->nb_segs = m->nb_segs;
	for (struct rte_mbuf *t = m->next, *next; t; t = next) {
		next = t->next;
		t->next = NULL;
		t->nb_segs = 1;
		last->next = rx_embed(q, t);
		last = last->next;
	}
	m->next = NULL;
	m->nb_segs = 1;
}

/* What the device says of a frame (f and rss: its head mbuf's ol_flags
 * and hash.rss) in p's offload metadata. */
static inline void rx_offloads(struct dpdk_rxq *q, uint64_t f, uint32_t rss, struct weir_pkt *p)
{
	uint64_t l4 = f & RTE_MBUF_F_RX_L4_CKSUM_MASK;

	if (f & RTE_MBUF_F_RX_RSS_HASH)
		p->hash = rss;
	if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
		p->ol_flags |= WEIR_PKT_OL_CSUM_VALID;
		return;
	}
	/* CKSUM_NONE: "data valid, checksum field not" (virtio's NEEDS_CSUM);
	 * vdevs over Linux interfaces say nothing, and a Linux peer with
	 * tx-checksumming on sends partial checksums (see afxdp's csum=fix). */
	if ((q->csum_fix || l4 == RTE_MBUF_F_RX_L4_CKSUM_NONE) &&
	    weir_pkt_csum_fix_partial(p) > 0)
		weir_port_ctr_add(&q->rx_csum_completed, 1);
}

/* An mbuf from a mempool weir did not make: its bytes are copied into a
 * packet of the weir pool. NULL (counted) when that cannot be done. */
static __attribute__((cold)) struct weir_pkt *rx_copy(struct dpdk_rxq *q, struct rte_mbuf *m)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	struct weir_pkt *p = weir_pkt_alloc(q->pool);
	const void *src;
	uint8_t *dst;

	if (!p) {
		weir_port_ctr_add(&q->rx_nometa, 1);
		weir_port_ctr_add(&q->q.stats.nombuf, 1);
	} else if (len > p->buf_len - p->data_off) {
		weir_pkt_free(p);
		p = NULL;
		weir_port_ctr_add(&q->q.stats.errors, 1);
	} else {
		dst = weir_pkt_put(p, (uint16_t)len);
		src = rte_pktmbuf_read(m, 0, len, dst);
		if (src != dst)
			memcpy(dst, src, len);
		p->port = q->q.port->id;
		p->queue = q->q.id;
		weir_port_ctr_add(&q->rx_copied, 1);
		rx_offloads(q, m->ol_flags, m->hash.rss, p);
	}
	rte_pktmbuf_free(m);
	return p;
}

/* rx_offloads for the frames of a burst that are still their mbufs (the
 * copies had theirs in rx_copy). */
static void rx_offloads_burst(struct dpdk_rxq *q, struct weir_pkt **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_mbuf *m;

		if (!dpdk_pkt_embedded(pkts[i]))
			continue;
		m = dpdk_pkt_mbuf(pkts[i]);
		rx_offloads(q, m->ol_flags, m->hash.rss, pkts[i]);
	}
}

/*
 * The common case, taken first: the leading frames of the burst that are
 * one mbuf of this queue's pool each become their embedded packets in
 * pkts. Returns how many. Apart from the general loop, with its calls to
 * the copy and chain paths, it keeps what it needs in registers (47
 * instructions a frame inlined there, 37 here).
 */
static inline uint16_t rx_embed_plain(const struct dpdk_rxq *q, struct rte_mbuf **ms, uint16_t n,
				      struct weir_pkt **pkts, uint64_t *bytes, uint64_t *ol_any)
{
	uint64_t sum = 0, ol = 0;
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = ms[i];

		if (__builtin_expect(m->pool != q->mp || m->nb_segs != 1, 0))
			break;
		pkts[i] = rx_embed(q, m);
		sum += m->data_len;
		ol |= m->ol_flags;
	}
	*bytes += sum;
	*ol_any |= ol;
	return i;
}

uint16_t dpdk_rx_burst(struct weir_rxq *rxq, struct weir_pkt **pkts, uint16_t n)
{
	struct dpdk_rxq *q = (struct dpdk_rxq *)rxq;
	struct rte_mbuf *ms[DPDK_BURST];
	uint16_t got, done;
	uint64_t bytes = 0, ol_any = 0;

	dpdk_thread_register();
	got = rte_eth_rx_burst(q->port_id, rxq->id, ms, n < DPDK_BURST ? n : DPDK_BURST);
	if (__builtin_expect(q->intr_fd >= 0, 0) && (got == 0) != q->intr_armed) {
		if (got)
			dpdk_rx_intr_disarm(q);
		else
			dpdk_rx_intr_arm(q);
	}
	done = rx_embed_plain(q, ms, got, pkts, &bytes, &ol_any);
	for (uint16_t i = done; i < got; i++) {
		struct rte_mbuf *m = ms[i];
		struct weir_pkt *p;

		if (mbuf_is_ours(q, m)) {
			p = rx_embed(q, m);
			if (m->nb_segs > 1)
				rx_embed_tail(q, p, m);
			ol_any |= m->ol_flags;
		} else if (!(p = rx_copy(q, m))) {
			continue;
		}
		bytes += p->pkt_len;
		pkts[done++] = p;
	}
	/* Most devices say nothing of most frames (no hash, checksums not
	 * checked): then the burst is done without a look at each again. */
	if (__builtin_expect((ol_any & (RTE_MBUF_F_RX_RSS_HASH | RTE_MBUF_F_RX_L4_CKSUM_MASK)) ||
			     q->csum_fix, 0))
		rx_offloads_burst(q, pkts, done);
	weir_port_ctr_add(&rxq->stats.packets, done);
	weir_port_ctr_add(&rxq->stats.bytes, bytes);
	return done;
}

void dpdk_rx_intr_arm(struct dpdk_rxq *q)
{
	uint64_t v;

	/* What woke the last sleep is spent; the next interrupt is new. */
	if (q->intr_eventfd)
		while (read(q->intr_fd, &v, sizeof(v)) == sizeof(v))
			;
	/* -ENOTSUP: the fd is the queue's own (net_tap), readable while
	 * frames wait, with nothing to arm. */
	(void)rte_eth_dev_rx_intr_enable(q->port_id, q->q.id);
	q->intr_armed = true;
}

void dpdk_rx_intr_disarm(struct dpdk_rxq *q)
{
	(void)rte_eth_dev_rx_intr_disable(q->port_id, q->q.id);
	q->intr_armed = false;
}

/* --- transmit ------------------------------------------------------------ */

/* shinfo callback: DPDK is done with an mbuf carrying a weir segment (NULL
 * when the burst did not take it: the caller still owns the packet). */
static void tx_seg_release(void *addr, void *opaque)
{
	(void)addr;
	if (opaque)
		weir_pkt_free_seg(opaque);
}

/* What tx_offloads() asks of the device, for the mbuf head. */
struct tx_ol {
	uint64_t flags;
	uint16_t l2_len, l3_len, l4_len, tso_segsz;
};

/* TSO for a super-frame, when the device segments it. 0 or -EMSGSIZE. */
static int tx_gso(const struct dpdk_txq *q, struct weir_pkt *p, struct tx_ol *ol)
{
	uint8_t t = p->gso_type & (uint8_t)~WEIR_PKT_GSO_ECN;
	bool tcp = t == WEIR_PKT_GSO_TCPV4 || t == WEIR_PKT_GSO_TCPV6;

	if (tcp ? !(q->ol_caps & RTE_ETH_TX_OFFLOAD_TCP_TSO)
		: t != WEIR_PKT_GSO_UDP_L4 || !(q->ol_caps & RTE_ETH_TX_OFFLOAD_UDP_TSO))
		return -EMSGSIZE;
	if (!p->hdr_len && weir_pkt_offload_parse(p) < 0)
		return -EMSGSIZE;
	ol->tso_segsz = p->gso_size;
	ol->l4_len = p->hdr_len - p->l2_len - p->l3_len;
	ol->flags |= tcp ? RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM
			 : RTE_MBUF_F_TX_UDP_SEG | RTE_MBUF_F_TX_UDP_CKSUM;
	return 0;
}

/* Offload metadata as mbuf flags for the device, or done here in software
 * (before any copy is made). 0 or -errno (drop: a super-frame the device
 * cannot cut, a checksum that cannot be completed). */
static int tx_offloads(struct dpdk_txq *q, struct weir_pkt *p, struct tx_ol *ol)
{
	int err;

	memset(ol, 0, sizeof(*ol));
	if (weir_pkt_is_gso(p) && (err = tx_gso(q, p, ol)) < 0)
		return err;
	if ((p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) && !ol->flags) {
		bool tcp = p->csum_offset == 16, udp = p->csum_offset == 6;
		uint64_t need = tcp ? RTE_ETH_TX_OFFLOAD_TCP_CKSUM : RTE_ETH_TX_OFFLOAD_UDP_CKSUM;

		if ((tcp || udp) && (q->ol_caps & need) &&
		    (p->l2_len || weir_pkt_offload_parse(p) == 0) &&
		    p->l2_len + p->l3_len == p->csum_start) {
			ol->flags |= tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM;
		} else {
			if ((err = weir_pkt_csum_complete(p)) < 0)
				return err;
			weir_port_ctr_add(&q->tx_csum_completed, 1);
		}
	}
	if (ol->flags) {
		const uint8_t *ip = weir_pkt_data(p) + p->l2_len;

		ol->flags |= (ip[0] >> 4) == 4 ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6;
		ol->l2_len = p->l2_len;
		ol->l3_len = p->l3_len;
	}
	return 0;
}

/* The weir packet that owns segment s's buffer when that is an mbuf's
 * (s itself, or the original s is a clone of), else NULL. */
static inline const struct weir_pkt *seg_mbuf_owner(const struct weir_pkt *s)
{
	const struct weir_pkt *o = (s->flags & WEIR_PKT_F_INDIRECT) ? s->direct : s;

	return dpdk_pkt_embedded(o) ? o : NULL;
}

/* Every segment either rides on an mbuf (which the device can reach) or
 * lies in the window of memory it may DMA from, and there are no more of
 * them than it takes. */
static inline bool tx_zero_copy_ok(const struct dpdk_txq *q, const struct weir_pkt *p)
{
	if (p->nb_segs > q->max_segs)
		return false;
	for (const struct weir_pkt *s = p; s; s = s->next) {
		uintptr_t a = (uintptr_t)s->buf;

		if ((a < q->zc_lo || a + s->buf_len > q->zc_hi) && !seg_mbuf_owner(s))
			return false;
	}
	return true;
}

/* Where the device finds base, a byte of segment s's buffer: through the
 * mbuf that owns it, or weir memory at its own address (IOVA as VA). */
static inline rte_iova_t seg_iova(const struct weir_pkt *s, const uint8_t *base)
{
	const struct weir_pkt *o = seg_mbuf_owner(s);
	const struct rte_mbuf *m;

	if (!o)
		return (rte_iova_t)(uintptr_t)base;
	m = dpdk_pkt_mbuf(o);
	return rte_mbuf_iova_get(m) + (rte_iova_t)(base - (const uint8_t *)m->buf_addr);
}

/* Mbuf headers taken in one bulk per chunk (one mempool call, not one
 * per packet), at the first packet that needs one; what is left goes
 * back at the end of the chunk. */
struct tx_spare {
	struct rte_mbuf *m[DPDK_BURST];
	uint16_t n, used, want;
	bool tried;
};

static inline struct rte_mbuf *tx_spare_get(struct dpdk_txq *q, struct tx_spare *sp)
{
	if (__builtin_expect(!sp->tried, 0)) {
		sp->tried = true;
		if (rte_pktmbuf_alloc_bulk(q->hdr_mp, sp->m, sp->want) == 0)
			sp->n = sp->want;
	}
	return sp->used < sp->n ? sp->m[sp->used++] : rte_pktmbuf_alloc(q->hdr_mp);
}

/* One mbuf header per segment, attached to the weir buffers. NULL when
 * the header pool is empty. The segments' references pass to the mbufs. */
static struct rte_mbuf *tx_attach(struct dpdk_txq *q, struct weir_pkt *p, struct tx_spare *sp)
{
	struct rte_mbuf *hdrs[WEIR_PKT_MAX_SEGS];
	uint16_t i = 0;

	if (p->nb_segs == 1) {
		if (!(hdrs[0] = tx_spare_get(q, sp)))
			return NULL;
	} else if (rte_pktmbuf_alloc_bulk(q->hdr_mp, hdrs, p->nb_segs) < 0) {
		return NULL;
	}
	for (struct weir_pkt *s = p; s; s = s->next, i++) {
		struct rte_mbuf *m = hdrs[i];
		struct dpdk_mbuf_priv *pv = rte_mbuf_to_priv(m);
		uint8_t *base = s->buf;
		uint32_t len = s->buf_len;
		uint16_t off = s->data_off;

		/* mbuf buffers are at most 64 KiB - 1: an AF_PACKET block
		 * segment is shown as just its data. */
		if (len > UINT16_MAX) {
			base += off;
			off = 0;
			len = s->data_len;
		}
		pv->shinfo.free_cb = tx_seg_release;
		pv->shinfo.fcb_opaque = s;
		rte_mbuf_ext_refcnt_set(&pv->shinfo, 1);
		rte_pktmbuf_attach_extbuf(m, base, seg_iova(s, base), (uint16_t)len, &pv->shinfo);
		m->data_off = off;
		m->data_len = s->data_len;
		if (i)
			hdrs[i - 1]->next = m;
	}
	hdrs[0]->nb_segs = p->nb_segs;
	hdrs[0]->pkt_len = p->pkt_len;
	return hdrs[0];
}

/* The copy path: p's bytes in one mbuf with data room. NULL and *err. */
static struct rte_mbuf *tx_copy(struct dpdk_txq *q, const struct weir_pkt *p, int *err)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(q->copy_mp);
	char *dst;

	if (!m) {
		*err = -ENOBUFS;
		return NULL;
	}
	dst = p->pkt_len <= UINT16_MAX ? rte_pktmbuf_append(m, (uint16_t)p->pkt_len) : NULL;
	if (!dst) {
		rte_pktmbuf_free(m);
		*err = -EMSGSIZE;
		return NULL;
	}
	weir_pkt_copy_out(p, 0, p->pkt_len, dst);
	weir_port_ctr_add(&q->tx_copied, 1);
	return m;
}

/* True when weir may send segment s in its own mbuf as it is: s is
 * embedded in it and neither has another user (a clone, a header still in
 * flight). */
static inline bool own_mbuf_ok(const struct weir_pkt *s)
{
	return dpdk_pkt_embedded(s) && weir_pkt_refcnt(s) == 1 &&
	       rte_mbuf_refcnt_read(dpdk_pkt_mbuf(s)) == 1;
}

/* Segment s's own mbuf when own_mbuf_ok(s), else NULL. */
static inline struct rte_mbuf *own_mbuf(const struct weir_pkt *s)
{
	return own_mbuf_ok(s) ? dpdk_pkt_mbuf(s) : NULL;
}

static bool tx_reuse_chain_ok(const struct dpdk_txq *q, const struct weir_pkt *p)
{
	if (p->nb_segs > q->max_segs)
		return false;
	for (const struct weir_pkt *s = p->next; s; s = s->next)
		if (!own_mbuf(s))
			return false;
	return true;
}

/*
 * A frame received on a dpdk: port and sent on: its own mbufs go out with
 * the packet's current edges, so forwarding costs no header mbuf and no
 * free on either side; the weir packet ends with its mbuf (the caller must
 * not touch it once the burst took it, and keeps it unchanged if not: see
 * tx_unlink). NULL when some segment's mbuf is not weir's alone.
 */
static inline struct rte_mbuf *tx_reuse(const struct dpdk_txq *q, struct weir_pkt *p)
{
	struct rte_mbuf *m = own_mbuf(p), *prev;

	if (!m || (__builtin_expect(p->next != NULL, 0) && !tx_reuse_chain_ok(q, p)))
		return NULL;
	m->data_off = p->data_off; /* p->buf is m->buf_addr (rx_embed) */
	m->data_len = p->data_len;
	m->pkt_len = p->pkt_len;
	m->nb_segs = p->nb_segs;
	m->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT; /* RX flags go */
	prev = m;
	for (const struct weir_pkt *s = p->next; s; s = s->next) {
		struct rte_mbuf *t = dpdk_pkt_mbuf(s);

		t->data_off = s->data_off;
		t->data_len = s->data_len;
		prev->next = t;
		prev = t;
	}
	prev->next = NULL;
	return m;
}

/* An mbuf chain tx_reuse linked and the burst did not take, unlinked
 * again (each mbuf belongs to its own weir segment). */
static void tx_unlink(struct rte_mbuf *m)
{
	while (m) {
		struct rte_mbuf *next = m->next;

		m->next = NULL;
		m->nb_segs = 1;
		m = next;
	}
}

/* p as an mbuf chain: 0 (zero copy), 1 (copied: p is still ours to free),
 * 2 (p's own mbuf, tx_reuse: nothing to free once sent), -ENOBUFS (no
 * mbufs: stop the burst here) or another -errno (drop p). */
static inline int tx_one(struct dpdk_txq *q, struct weir_pkt *p, struct rte_mbuf **out,
			 struct tx_spare *sp)
{
	struct rte_mbuf *m;
	struct tx_ol ol;
	int err = tx_offloads(q, p, &ol), ret = 0;

	if (err < 0)
		return err;
	if ((m = tx_reuse(q, p)) != NULL) {
		ret = 2;
	} else if (tx_zero_copy_ok(q, p)) {
		m = tx_attach(q, p, sp);
		if (!m)
			return -ENOBUFS;
	} else {
		ret = 1;
		m = tx_copy(q, p, &err);
		if (!m)
			return err;
	}
	if (ol.flags) {
		m->ol_flags |= ol.flags;
		m->l2_len = ol.l2_len;
		m->l3_len = ol.l3_len;
		m->l4_len = ol.l4_len;
		m->tso_segsz = ol.tso_segsz;
	}
	*out = m;
	return ret;
}

/* Gives an unsent mbuf back without touching the weir packet it carries. */
static void tx_unsend(struct rte_mbuf *m)
{
	if ((m->ol_flags & RTE_MBUF_F_EXTERNAL) && m->shinfo->free_cb == tx_seg_release)
		for (struct rte_mbuf *s = m; s; s = s->next)
			s->shinfo->fcb_opaque = NULL;
	rte_pktmbuf_free(m);
}

struct tx_chunk {
	struct rte_mbuf *ms[DPDK_BURST];
	uint32_t len[DPDK_BURST];
	uint8_t idx[DPDK_BURST]; /* ms[b] carries pkts[idx[b]] */
	uint64_t copied;         /* bit b: ms[b] is a copy: free pkts[idx[b]] once sent */
	uint64_t reused;         /* bit b: ms[b] is pkts[idx[b]]'s own mbuf (tx_reuse) */
	uint64_t dropped;        /* bit i: pkts[i] is dropped */
	uint16_t nb, seen;
};

/* Builds up to n mbufs (c->seen: how many packets were looked at). */
static void tx_build(struct dpdk_txq *q, struct weir_pkt **pkts, uint16_t n, struct tx_chunk *c)
{
	struct tx_spare sp = {.n = 0};
	uint16_t reused = 0;

	c->nb = 0;
	c->copied = c->reused = c->dropped = 0;
	for (c->seen = 0; c->seen < n; c->seen++) {
		uint16_t i = c->seen;
		uint32_t len = pkts[i]->pkt_len;
		int r;

		sp.want = n - i; /* headers for at most the rest of the chunk */
		r = tx_one(q, pkts[i], &c->ms[c->nb], &sp);

		if (r == -ENOBUFS) {
			weir_port_ctr_add(&q->tx_nombuf, 1);
			break;
		}
		if (r < 0) {
			c->dropped |= 1ull << i;
			if (r == -EMSGSIZE)
				weir_port_ctr_add(&q->tx_too_big, 1);
			continue;
		}
		if (r == 1)
			c->copied |= 1ull << c->nb;
		if (r == 2) {
			c->reused |= 1ull << c->nb;
			reused++;
		}
		c->len[c->nb] = len;
		c->idx[c->nb++] = (uint8_t)i;
	}
	weir_port_ctr_add(&q->tx_reused, reused);
	if (sp.used < sp.n)
		rte_pktmbuf_free_bulk(sp.m + sp.used, sp.n - sp.used);
}

/* ms[b] was not sent: the caller keeps pkts[idx[b]] as it gave it. */
static void tx_giveback(const struct tx_chunk *c, uint16_t b)
{
	if (c->reused & (1ull << b))
		tx_unlink(c->ms[b]);
	else
		tx_unsend(c->ms[b]);
}

/*
 * The forwarding case, taken first: frames that are one mbuf each, still
 * weir's alone, with no offload asked, go out in their own mbufs with no
 * bookkeeping per packet. Returns how many of the leading packets are
 * such frames (their mbufs in ms, their bytes in *bytes).
 */
static __attribute__((noinline)) uint16_t tx_fast_build(struct weir_pkt **pkts, uint16_t n,
							struct rte_mbuf **ms, uint64_t *bytes)
{
	uint64_t sum = 0;
	uint16_t i;

	/* Not inlined into tx_chunk: this loop gets the registers to itself
	 * (inlined, it reloaded pkts and the owner's address per packet). */
	for (i = 0; i < n; i++) {
		struct weir_pkt *p = pkts[i];
		struct rte_mbuf *m;

		if (p->nb_segs != 1 || (p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) ||
		    weir_pkt_is_gso(p) || !own_mbuf_ok(p))
			break;
		m = dpdk_pkt_mbuf(p);
		m->data_off = p->data_off;
		m->data_len = p->data_len;
		m->pkt_len = p->data_len;
		m->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;
		ms[i] = m;
		sum += p->data_len;
	}
	*bytes = sum;
	return i;
}

/* A whole chunk of tx_fast_build frames: those the device did not take
 * stay the caller's as they were (their mbufs are still theirs). */
static uint16_t tx_fast_send(struct dpdk_txq *q, struct rte_mbuf **ms, uint16_t n,
			     uint64_t bytes)
{
	uint16_t prep = rte_eth_tx_prepare(q->port_id, q->q.id, ms, n), sent;

	sent = prep ? rte_eth_tx_burst(q->port_id, q->q.id, ms, prep) : 0;
	for (uint16_t b = sent; b < n; b++)
		bytes -= ms[b]->data_len;
	weir_port_ctr_add(&q->tx_reused, sent);
	weir_port_ctr_add(&q->q.stats.packets, sent);
	weir_port_ctr_add(&q->q.stats.bytes, bytes);
	weir_port_ctr_add(&q->q.done_pkts, sent);
	weir_port_ctr_add(&q->q.done_bytes, bytes);
	return sent;
}

static uint16_t tx_chunk(struct dpdk_txq *q, struct weir_pkt **pkts, uint16_t n)
{
	struct tx_chunk c;
	uint16_t prep, sent, taken, drops = 0;
	uint64_t bytes = 0;

	if (tx_fast_build(pkts, n, c.ms, &bytes) == n)
		return tx_fast_send(q, c.ms, n, bytes);
	bytes = 0;
	tx_build(q, pkts, n, &c);
	prep = c.nb ? rte_eth_tx_prepare(q->port_id, q->q.id, c.ms, c.nb) : 0;
	if (prep < c.nb) {
		/* The device refuses ms[prep]'s offload request (rte_errno):
		 * that packet is dropped, the ones after it given back. */
		c.dropped |= 1ull << c.idx[prep];
		c.seen = c.idx[prep] + 1;
		for (uint16_t b = prep; b < c.nb; b++)
			tx_giveback(&c, b);
		c.nb = prep;
	}
	sent = c.nb ? rte_eth_tx_burst(q->port_id, q->q.id, c.ms, c.nb) : 0;
	taken = sent < c.nb ? c.idx[sent] : c.seen;
	for (uint16_t b = 0; b < sent; b++) {
		bytes += c.len[b];
		if (c.copied & (1ull << b))
			weir_pkt_free(pkts[c.idx[b]]);
	}
	for (uint16_t b = sent; b < c.nb; b++)
		tx_giveback(&c, b);
	for (uint16_t i = 0; i < taken; i++) {
		if (!(c.dropped & (1ull << i)))
			continue;
		weir_pkt_free(pkts[i]);
		drops++;
	}
	weir_port_ctr_add(&q->q.stats.packets, sent);
	weir_port_ctr_add(&q->q.stats.bytes, bytes);
	weir_port_ctr_add(&q->q.stats.drops, drops);
	/* DPDK has no completion events: what the device took is done, and
	 * so is what was dropped (DQL above must not wait for it). */
	weir_port_ctr_add(&q->q.done_pkts, sent + drops);
	weir_port_ctr_add(&q->q.done_bytes, bytes);
	return taken;
}

uint16_t dpdk_tx_burst(struct weir_txq *txq, struct weir_pkt **pkts, uint16_t n)
{
	struct dpdk_txq *q = (struct dpdk_txq *)txq;
	uint16_t done = 0;

	dpdk_thread_register();
	while (done < n) {
		uint16_t chunk = n - done < DPDK_BURST ? n - done : DPDK_BURST;
		uint16_t taken = tx_chunk(q, pkts + done, chunk);

		done += taken;
		if (taken < chunk)
			break;
	}
	return done;
}
