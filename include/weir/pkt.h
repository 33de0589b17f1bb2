/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * struct weir_pkt, the sk_buff of weir: two cache lines of metadata and a
 * data buffer laid out as headroom | data | tailroom.
 *
 * The first cache line holds what receive and transmit touch (buffer, offsets,
 * lengths, segment chain, port/queue, hash, timestamp); the second holds what
 * the scheduler, the stack and the owner of a buffer need.
 *
 * Every layer moves the data edges instead of the data: push/pull at the
 * front, put/trim at the back. A packet may be a chain of segments (jumbo
 * frames, or a header segment in front of a payload the application still
 * holds); pkt_len in the head is the length of the whole chain.
 *
 * Ownership: a packet has a reference count. weir_pkt_free() drops one
 * reference on each segment; the last one returns it to its pool. A clone
 * shares the data of the original (and holds a reference to it); an external
 * buffer (e.g. a frame still inside a kernel ring) is attached with a shared
 * weir_extbuf whose callback runs when its last packet goes.
 */
#ifndef WEIR_PKT_H
#define WEIR_PKT_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "common.h"
#include "pool.h"

/* Shared descriptor of an external buffer. Whoever creates it sets refcnt
 * to the references it keeps (often 1, dropped with weir_extbuf_put() when
 * it is done handing out packets); each attach adds one. */
struct weir_extbuf {
	_Atomic uint32_t refcnt;
	void (*free_cb)(void *addr, void *opaque);
	void *addr;
	void *opaque;
};

enum weir_pkt_flags {
	WEIR_PKT_F_EXT = 1 << 0,      /* buf belongs to pkt->ext */
	WEIR_PKT_F_INDIRECT = 1 << 1, /* buf belongs to pkt->direct (a clone) */
	/* The metadata itself lives in memory that pkt->ext's owner holds
	 * (a DPDK mbuf's private area, see pmd/dpdk), and so does buf: the
	 * last free calls ext->free_cb(p, ext->opaque) instead of returning
	 * p to p->pool (which is only where its clones and copies come
	 * from). ext->refcnt is not used. Never together with the others. */
	WEIR_PKT_F_EMBEDDED = 1 << 2,
};

/* Offload / metadata flags visible to applications. */
enum weir_pkt_ol_flags {
	WEIR_PKT_OL_RX_TSTAMP = 1 << 0, /* timestamp is the time of reception */
	WEIR_PKT_OL_ECN_CAPABLE = 1 << 1,
	WEIR_PKT_OL_LINEARIZED = 1 << 2, /* a driver had to copy the chain */
	/* The L4 checksum is partial (virtio's NEEDS_CSUM, Linux's
	 * CHECKSUM_PARTIAL): the field at csum_start + csum_offset holds the
	 * folded pseudo-header sum; the sum from csum_start to the end of the
	 * packet, complemented, must still be stored there. */
	WEIR_PKT_OL_CSUM_PARTIAL = 1 << 3,
	/* The L4 checksum was verified by whoever handed the frame to weir
	 * (virtio's DATA_VALID, TP_STATUS_CSUM_VALID). */
	WEIR_PKT_OL_CSUM_VALID = 1 << 4,
};

/* GSO type of a super-frame (virtio_net_hdr's gso_type values, without
 * the ECN bit, which is WEIR_PKT_GSO_ECN here). A packet with gso_type !=
 * NONE is longer than the wire allows: it stands for segments of gso_size
 * bytes of L4 payload, each behind a copy of the first hdr_len bytes. */
enum weir_pkt_gso_type {
	WEIR_PKT_GSO_NONE = 0,
	WEIR_PKT_GSO_TCPV4 = 1,
	WEIR_PKT_GSO_UDP = 3, /* UFO: IP fragmentation (not produced by Linux veths) */
	WEIR_PKT_GSO_TCPV6 = 4,
	WEIR_PKT_GSO_UDP_L4 = 5, /* UDP GSO (UDP_SEGMENT): one UDP datagram per segment */
	WEIR_PKT_GSO_ECN = 0x80, /* TCP: the sender's ECN says CWR is to be set on the first segment only */
};

#define WEIR_PKT_MAX_SEGS 255

struct weir_pkt {
	/* Cache line 0: RX and TX. */
	uint8_t *buf;           /* start of the buffer; headroom starts here */
	struct weir_pkt *next;  /* next segment, NULL in the last */
	uint32_t pkt_len;       /* whole chain (meaningful in the head) */
	uint16_t data_off;      /* data starts at buf + data_off */
	uint16_t data_len;      /* bytes of data in this segment */
	uint32_t buf_len;       /* bytes in buf */
	uint16_t nb_segs;       /* segments in the chain (head) */
	uint16_t port;          /* port it arrived on */
	uint16_t queue;         /* queue it arrived on */
	uint16_t ol_flags;      /* enum weir_pkt_ol_flags */
	uint32_t hash;          /* flow hash (RSS or software), 0 if none */
	weir_ns_t timestamp;    /* rx time or tx schedule, ns */
	_Atomic uint16_t refcnt;
	uint8_t priority;       /* 0..15, classification hint for prio */
	uint8_t flags;          /* enum weir_pkt_flags, internal */
	uint32_t idx;           /* index in the pool */
	struct weir_pool *pool;

	/* Cache line 1: scheduler, stack, owner. */
	struct weir_pkt *qnext; /* queue linkage inside a qdisc */
	weir_ns_t enq_time;     /* when the scheduler took it (sojourn time) */
	struct weir_extbuf *ext;
	struct weir_pkt *direct; /* clones: the packet whose buffer is shared */
	uint16_t l2_len;
	uint16_t l3_len;
	uint8_t l4_proto;
	uint8_t gso_type;        /* enum weir_pkt_gso_type (may carry WEIR_PKT_GSO_ECN) */
	uint16_t csum_start;     /* CSUM_PARTIAL: L4 start, bytes from the packet's first byte */
	uint64_t udata64;        /* free for the application */
	void *udata;
	uint16_t csum_offset;    /* CSUM_PARTIAL: checksum field, bytes from csum_start */
	uint16_t gso_size;       /* GSO: L4 payload bytes per segment (MSS) */
	uint16_t hdr_len;        /* GSO: L2+L3+L4 header bytes in front of the payload, 0 unknown */
	uint16_t pad1;
};

static_assert(sizeof(struct weir_pkt) == 2 * WEIR_CACHE_LINE, "weir_pkt is two cache lines");
static_assert(offsetof(struct weir_pkt, pool) < WEIR_CACHE_LINE, "RX fields in line 0");
static_assert(offsetof(struct weir_pkt, qnext) == WEIR_CACHE_LINE, "qdisc fields in line 1");

/* True when p stands for more than one wire frame. */
WEIR_INLINE bool weir_pkt_is_gso(const struct weir_pkt *p)
{
	return p->gso_type != WEIR_PKT_GSO_NONE;
}

/* Packet for buffer index i, and the inverse. */
WEIR_INLINE struct weir_pkt *weir_pool_pkt_at(const struct weir_pool *pool, uint32_t idx)
{
	return &pool->meta[idx];
}

/* Maps an address anywhere inside a data buffer (e.g. an AF_XDP descriptor
 * offset from pool->data) to its packet; NULL when outside the pool. */
WEIR_INLINE struct weir_pkt *weir_pool_pkt_from_offset(const struct weir_pool *pool,
						       uint64_t off)
{
	uint64_t idx = off >> pool->buf_shift;

	return idx < pool->n ? &pool->meta[idx] : NULL;
}

/* --- data access ------------------------------------------------------ */

WEIR_INLINE uint8_t *weir_pkt_data(const struct weir_pkt *p)
{
	return p->buf + p->data_off;
}

#define weir_pkt_mtod(p, type) ((type)(void *)weir_pkt_data(p))

WEIR_INLINE uint16_t weir_pkt_headroom(const struct weir_pkt *p)
{
	return p->data_off;
}

WEIR_INLINE uint32_t weir_pkt_tailroom(const struct weir_pkt *p)
{
	return p->buf_len - p->data_off - p->data_len;
}

WEIR_INLINE struct weir_pkt *weir_pkt_last_seg(struct weir_pkt *p)
{
	while (p->next)
		p = p->next;
	return p;
}

/* Prepends len bytes to the first segment; returns the new start, or NULL
 * (packet unchanged) when the headroom is too small. */
WEIR_INLINE uint8_t *weir_pkt_push(struct weir_pkt *p, uint16_t len)
{
	if (weir_unlikely(len > p->data_off))
		return NULL;
	p->data_off -= len;
	p->data_len += len;
	p->pkt_len += len;
	return weir_pkt_data(p);
}

/* Removes len bytes from the front of the first segment; returns the new
 * start, or NULL (unchanged) when the segment holds fewer than len bytes. */
WEIR_INLINE uint8_t *weir_pkt_pull(struct weir_pkt *p, uint16_t len)
{
	if (weir_unlikely(len > p->data_len))
		return NULL;
	p->data_off += len;
	p->data_len -= len;
	p->pkt_len -= len;
	return weir_pkt_data(p);
}

/* Appends len bytes at the end of the last segment; returns where they
 * start, or NULL (unchanged) when its tailroom is too small. */
WEIR_INLINE uint8_t *weir_pkt_put(struct weir_pkt *p, uint16_t len)
{
	struct weir_pkt *last = weir_pkt_last_seg(p);
	uint8_t *tail;

	if (weir_unlikely(len > weir_pkt_tailroom(last) || last->data_len + len > UINT16_MAX))
		return NULL;
	tail = weir_pkt_data(last) + last->data_len;
	last->data_len += len;
	p->pkt_len += len;
	return tail;
}

/* Removes len bytes from the end of the last segment: 0, or -EINVAL
 * (unchanged) when that segment holds fewer than len bytes. */
WEIR_INLINE int weir_pkt_trim(struct weir_pkt *p, uint16_t len)
{
	struct weir_pkt *last = weir_pkt_last_seg(p);

	if (weir_unlikely(len > last->data_len))
		return -EINVAL;
	last->data_len -= len;
	p->pkt_len -= len;
	return 0;
}

WEIR_INLINE bool weir_pkt_is_contiguous(const struct weir_pkt *p)
{
	return p->nb_segs == 1;
}

/* --- allocation and freeing ------------------------------------------ */

WEIR_INLINE void weir_pkt_reset(struct weir_pkt *p)
{
	struct weir_pool *pool = p->pool;

	p->next = NULL;
	p->pkt_len = 0;
	p->data_len = 0;
	p->data_off = pool->headroom;
	p->nb_segs = 1;
	p->port = UINT16_MAX;
	p->queue = 0;
	p->ol_flags = 0;
	p->hash = 0;
	p->timestamp = 0;
	p->priority = 0;
	p->qnext = NULL;
	p->l2_len = p->l3_len = 0;
	p->l4_proto = 0;
	p->gso_type = WEIR_PKT_GSO_NONE;
	p->gso_size = 0;
	p->hdr_len = 0; /* 0 = unknown: a stale one would be believed */
	p->csum_start = p->csum_offset = 0;
	p->udata64 = 0;
	p->udata = NULL;
}

/* n ready-to-fill packets (length 0, headroom as configured), all or none:
 * 0, or -ENOBUFS. Thread safety: any thread; lcores use their cache. */
WEIR_INLINE int weir_pkt_alloc_bulk(struct weir_pool *pool, struct weir_pkt **pkts, uint32_t n)
{
	uint32_t i;

	if (weir_pool_get_bulk(pool, pkts, n) < 0)
		return -ENOBUFS;
	for (i = 0; i < n; i++)
		weir_pkt_reset(pkts[i]);
	return 0;
}

WEIR_INLINE struct weir_pkt *weir_pkt_alloc(struct weir_pool *pool)
{
	struct weir_pkt *p;

	return weir_pkt_alloc_bulk(pool, &p, 1) == 0 ? p : NULL;
}

/* Slow path of freeing: external and indirect buffers (not embedded
 * packets, whose owner takes them back whole). In pkt.c. */
void weir_pkt_detach(struct weir_pkt *p);

/* Drops one reference to one segment; returns it to the pool (or undoes
 * its attachment, or hands an embedded one to its owner) when it was the
 * last. Returns the segment if the caller must put it into the pool, NULL
 * otherwise. */
WEIR_INLINE struct weir_pkt *weir_pkt_prefree_seg(struct weir_pkt *p)
{
	/* Acquire, pairs with the release half of the decrement by which
	 * another holder left us the last reference (the fetch_sub below, or
	 * weir_pkt_refcnt_update): its reads and writes of the buffer happen
	 * before we hand it back. Free on x86; DPDK's mbuf reads relaxed. */
	uint16_t ref = atomic_load_explicit(&p->refcnt, memory_order_acquire);

	if (weir_likely(ref == 1)) {
		/* Sole owner: no other thread can touch it, skip the atomic RMW. */
	} else if ((ref = atomic_fetch_sub_explicit(&p->refcnt, 1, memory_order_acq_rel)) != 1) {
		/* acq_rel: the release pairs with the acquire of whoever drops
		 * the last reference (the load above, or this fetch_sub
		 * returning 1 in that thread); the acquire with the other
		 * holders' releases. Pool packets rest at refcnt 1, so 0 means
		 * two frees raced for the last reference (or a scribble). */
		if (WEIR_DEBUG_CHECKS && weir_unlikely(ref == 0))
			weir_panic("pkt: free of packet %u of pool %s with refcnt 0 (freed "
				   "twice, or by two threads at once)", p->idx, p->pool->name);
		return NULL;
	} else {
		atomic_store_explicit(&p->refcnt, 1, memory_order_relaxed);
	}
	if (weir_unlikely(p->flags)) {
		if (p->flags & WEIR_PKT_F_EMBEDDED) {
			p->ext->free_cb(p, p->ext->opaque);
			return NULL;
		}
		weir_pkt_detach(p);
	}
	p->next = NULL;
	return p;
}

WEIR_INLINE void weir_pkt_free_seg(struct weir_pkt *p)
{
	if (weir_pkt_prefree_seg(p))
		weir_pool_put_bulk(p->pool, &p, 1);
}

/* Frees every segment of a chain. NULL is allowed. */
WEIR_INLINE void weir_pkt_free(struct weir_pkt *p)
{
	while (p) {
		struct weir_pkt *next = p->next;

		weir_pkt_free_seg(p);
		p = next;
	}
}

/* Frees n packets; consecutive single-segment packets of one pool go back
 * in one bulk put, and consecutive ones attached to one external buffer
 * (frames of one kernel ring block) drop their references to it in one
 * atomic operation. */
void weir_pkt_free_bulk(struct weir_pkt **pkts, uint32_t n);

WEIR_INLINE uint16_t weir_pkt_refcnt(const struct weir_pkt *p)
{
	return atomic_load_explicit(&p->refcnt, memory_order_relaxed);
}

/* The most references one segment can have: refcnt is 16 bits so that
 * the RX fields fit the first cache line. */
#define WEIR_PKT_REFCNT_MAX UINT16_MAX

/* Adds delta (may be negative) to a segment's reference count: 0, or,
 * with the count unchanged, -EOVERFLOW when it would pass
 * WEIR_PKT_REFCNT_MAX and -EINVAL when it would reach 0 (only a free drops
 * the last reference). Any thread. */
WEIR_INLINE int weir_pkt_refcnt_update(struct weir_pkt *p, int16_t delta)
{
	uint16_t old = atomic_load_explicit(&p->refcnt, memory_order_relaxed);
	int32_t next;

	do {
		next = (int32_t)old + delta;
		if (weir_unlikely(next > WEIR_PKT_REFCNT_MAX))
			return -EOVERFLOW;
		if (weir_unlikely(next <= 0))
			return -EINVAL;
		/* acq_rel, pairs with the acquires in weir_pkt_prefree_seg():
		 * what this holder did happens-before the last free reuses
		 * the buffer. */
	} while (!atomic_compare_exchange_weak_explicit(&p->refcnt, &old, (uint16_t)next,
							memory_order_acq_rel, memory_order_relaxed));
	return 0;
}

/* --- chains, clones, external buffers (pkt.c) ------------------------- */

/* Appends chain tail to chain head: 0, or -E2BIG (nothing changed) when the
 * result would have more than WEIR_PKT_MAX_SEGS segments or pkt_len would
 * overflow. */
int weir_pkt_chain(struct weir_pkt *head, struct weir_pkt *tail);

/* Moves a chain's data into its first segment and frees the others: 0,
 * -ENOSPC (unchanged) when the first buffer cannot hold pkt_len bytes, or
 * -EINVAL for a head that must not be written: indirect, external, or
 * with clones sharing its buffer. */
int weir_pkt_linearize(struct weir_pkt *p);

/* Copies len bytes starting at off (across segments) into dst: 0, or
 * -EINVAL when off + len exceeds pkt_len. */
int weir_pkt_copy_out(const struct weir_pkt *p, uint32_t off, uint32_t len, void *dst);

/* Pointer to len contiguous bytes at offset off: into the packet when they
 * lie in one segment, else copied into buf. NULL when out of range. */
const void *weir_pkt_read(const struct weir_pkt *p, uint32_t off, uint32_t len, void *buf);

/* A packet sharing p's data (every segment), with metadata from pool:
 * 0 and *out, or, with nothing changed and *out untouched, -ENOBUFS when
 * pool is empty, -EOVERFLOW when a segment's buffer already has
 * WEIR_PKT_REFCNT_MAX references (65535: the 16-bit count would wrap and
 * free the buffer under its clones). The shared bytes must then be
 * treated as read-only by both. */
int weir_pkt_clone(struct weir_pkt *p, struct weir_pool *pool, struct weir_pkt **out);
/*
 * Like weir_pkt_clone, for the bytes [off, off + len) of p only (len > 0):
 * a chain of segments from pool over the parts of p's segments the range
 * covers (the payload of an IP fragment, say), none empty, with p's
 * metadata. 0 and *out, or with nothing changed: -EINVAL (the range is
 * empty or past p's end), -ENOBUFS, -EOVERFLOW as weir_pkt_clone.
 */
int weir_pkt_clone_range(struct weir_pkt *p, uint32_t off, uint32_t len, struct weir_pool *pool,
			 struct weir_pkt **out);
/* Copies the metadata (port, queue, offload fields, hash, timestamp,
 * priority, header lengths; not the lengths, chain or user data) from src
 * to dst. */
void weir_pkt_copy_meta(struct weir_pkt *dst, const struct weir_pkt *src);

/* Deep copy into fresh buffers from pool (one segment when it fits): 0
 * and *out, or -ENOBUFS, or -E2BIG (more than WEIR_PKT_MAX_SEGS segments
 * needed), with *out untouched. */
int weir_pkt_copy(const struct weir_pkt *p, struct weir_pool *pool, struct weir_pkt **out);

/* Makes segment p use [addr, addr+len) as its buffer with data at
 * addr+data_off for data_len bytes, taking a reference on ext. The pool
 * buffer of p is unused until the packet is freed. Returns 0 or -EINVAL
 * (offsets outside the buffer, or p already attached). */
int weir_pkt_attach_extbuf(struct weir_pkt *p, void *addr, uint32_t len, uint16_t data_off,
			   uint16_t data_len, struct weir_extbuf *ext);

/* Initialises an external buffer descriptor holding `refs` references. */
void weir_extbuf_init(struct weir_extbuf *ext, void *addr, void (*free_cb)(void *, void *),
		      void *opaque, uint32_t refs);
/* Drops one reference; runs free_cb when it was the last. */
void weir_extbuf_put(struct weir_extbuf *ext);
/* Drops n references at once (n >= 1, at most what the caller holds):
 * one atomic operation for a run of packets of one buffer, or for
 * references a creator took ahead and did not hand out. Runs free_cb when
 * they were the last. */
void weir_extbuf_put_n(struct weir_extbuf *ext, uint32_t n);

#endif
