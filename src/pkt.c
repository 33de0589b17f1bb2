// SPDX-License-Identifier: BSD-3-Clause
/*
 * The slow paths of packet buffers: chains, linearizing, copies, clones and
 * external buffers. The per-packet fast path (push/pull/put/trim, alloc,
 * free of a plain segment) is inline in include/weir/pkt.h.
 */
#include <errno.h>
#include <string.h>

#include "weir/pkt.h"

void weir_extbuf_init(struct weir_extbuf *ext, void *addr, void (*free_cb)(void *, void *),
		      void *opaque, uint32_t refs)
{
	atomic_init(&ext->refcnt, refs);
	ext->free_cb = free_cb;
	ext->addr = addr;
	ext->opaque = opaque;
}

void weir_extbuf_put_n(struct weir_extbuf *ext, uint32_t n)
{
	/* Acquire, pairs with the release half of the decrement by which
	 * another holder left us the last references. Holders of all that
	 * is left skip the locked RMW (as weir_pkt_prefree_seg does): nobody
	 * else holds a reference, so nobody can take one now. */
	if (atomic_load_explicit(&ext->refcnt, memory_order_acquire) == n) {
		atomic_store_explicit(&ext->refcnt, 0, memory_order_relaxed);
		ext->free_cb(ext->addr, ext->opaque);
		return;
	}
	/* acq_rel: writes by every holder happen before the callback reuses
	 * the memory; pairs with the other holders' decrements. */
	if (atomic_fetch_sub_explicit(&ext->refcnt, n, memory_order_acq_rel) == n)
		ext->free_cb(ext->addr, ext->opaque);
}

void weir_extbuf_put(struct weir_extbuf *ext)
{
	weir_extbuf_put_n(ext, 1);
}

/* Points p back at its own pool buffer. */
static inline void own_buffer(struct weir_pkt *p)
{
	struct weir_pool *pool = p->pool;

	p->flags = 0;
	p->buf = pool->data + ((size_t)p->idx << pool->buf_shift);
	p->buf_len = pool->buf_size;
}

/* Gives back what a segment borrowed and points it at its own buffer. */
void weir_pkt_detach(struct weir_pkt *p)
{
	if (p->flags & WEIR_PKT_F_EXT) {
		struct weir_extbuf *ext = p->ext;

		p->ext = NULL;
		weir_extbuf_put(ext);
	}
	if (p->flags & WEIR_PKT_F_INDIRECT) {
		struct weir_pkt *d = p->direct;

		p->direct = NULL;
		weir_pkt_free_seg(d);
	}
	own_buffer(p);
}

/* A segment that is an external buffer's only, with its sole reference
 * and no chain behind it (a zero-copy frame of a kernel ring): free_bulk
 * gives its buffer reference back with the rest of its run. */
static inline bool ext_plain(const struct weir_pkt *p)
{
	return p->flags == WEIR_PKT_F_EXT && !p->next &&
	       atomic_load_explicit(&p->refcnt, memory_order_acquire) == 1;
}

struct free_batch {
	struct weir_pkt *pkts[64];
	struct weir_pool *pool;
	uint32_t n;
	struct weir_extbuf *ext; /* the run of external references being dropped */
	uint32_t ext_n;
};

static void batch_add(struct free_batch *b, struct weir_pkt *f)
{
	if (b->n && (f->pool != b->pool || b->n == WEIR_ARRAY_SIZE(b->pkts))) {
		weir_pool_put_bulk(b->pool, b->pkts, b->n);
		b->n = 0;
	}
	b->pool = f->pool;
	b->pkts[b->n++] = f;
}

/* The run of one external buffer goes on; a new one drops the old's
 * references in one operation. */
static void batch_ext(struct free_batch *b, struct weir_extbuf *ext)
{
	if (ext != b->ext) {
		if (b->ext_n)
			weir_extbuf_put_n(b->ext, b->ext_n);
		b->ext = ext;
		b->ext_n = 0;
	}
	b->ext_n++;
}

void weir_pkt_free_bulk(struct weir_pkt **pkts, uint32_t n)
{
	struct free_batch b = {.n = 0, .ext_n = 0, .ext = NULL};

	for (uint32_t i = 0; i < n; i++) {
		struct weir_pkt *p = pkts[i];

		if (ext_plain(p)) {
			batch_ext(&b, p->ext);
			p->ext = NULL;
			own_buffer(p);
			batch_add(&b, p);
			continue;
		}
		while (p) {
			struct weir_pkt *next = p->next;
			struct weir_pkt *f = weir_pkt_prefree_seg(p);

			if (f)
				batch_add(&b, f);
			p = next;
		}
	}
	if (b.n)
		weir_pool_put_bulk(b.pool, b.pkts, b.n);
	if (b.ext_n)
		weir_extbuf_put_n(b.ext, b.ext_n);
}

int weir_pkt_chain(struct weir_pkt *head, struct weir_pkt *tail)
{
	if (!head || !tail || head == tail)
		return -EINVAL;
	if ((uint32_t)head->nb_segs + tail->nb_segs > WEIR_PKT_MAX_SEGS ||
	    (uint64_t)head->pkt_len + tail->pkt_len > UINT32_MAX)
		return -E2BIG;
	weir_pkt_last_seg(head)->next = tail;
	head->nb_segs = (uint16_t)(head->nb_segs + tail->nb_segs);
	head->pkt_len += tail->pkt_len;
	/* The tail's own totals no longer mean anything. */
	tail->pkt_len = tail->data_len;
	tail->nb_segs = 1;
	return 0;
}

int weir_pkt_copy_out(const struct weir_pkt *p, uint32_t off, uint32_t len, void *dst)
{
	uint8_t *out = dst;
	const struct weir_pkt *s = p;

	if ((uint64_t)off + len > p->pkt_len)
		return -EINVAL;
	/* Bounded by nb_segs: each step advances to the next segment. */
	for (uint32_t seg = 0; s && off >= s->data_len && seg <= WEIR_PKT_MAX_SEGS; seg++) {
		off -= s->data_len;
		s = s->next;
	}
	while (len && s) {
		uint32_t n = WEIR_MIN((uint32_t)s->data_len - off, len);

		memcpy(out, weir_pkt_data(s) + off, n);
		out += n;
		len -= n;
		off = 0;
		s = s->next;
	}
	return len ? -EINVAL : 0;
}

const void *weir_pkt_read(const struct weir_pkt *p, uint32_t off, uint32_t len, void *buf)
{
	if ((uint64_t)off + len > p->pkt_len)
		return NULL;
	if (off + len <= p->data_len)
		return weir_pkt_data(p) + off;
	return weir_pkt_copy_out(p, off, len, buf) == 0 ? buf : NULL;
}

int weir_pkt_linearize(struct weir_pkt *p)
{
	struct weir_pkt *seg, *next;
	uint8_t *dst;

	if (p->nb_segs == 1 && !p->next)
		return 0;
	/* A buffer clones share is read-only: its tailroom may be data a
	 * clone still sees (the head was trimmed after cloning). */
	if (p->flags || weir_pkt_refcnt(p) != 1)
		return -EINVAL;
	if (p->pkt_len > UINT16_MAX || p->pkt_len - p->data_len > weir_pkt_tailroom(p))
		return -ENOSPC;
	dst = weir_pkt_data(p) + p->data_len;
	for (seg = p->next; seg; seg = next) {
		next = seg->next;
		memcpy(dst, weir_pkt_data(seg), seg->data_len);
		dst += seg->data_len;
		seg->next = NULL;
		weir_pkt_free_seg(seg);
	}
	p->data_len = (uint16_t)p->pkt_len;
	p->next = NULL;
	p->nb_segs = 1;
	p->ol_flags |= WEIR_PKT_OL_LINEARIZED;
	return 0;
}

void weir_pkt_copy_meta(struct weir_pkt *dst, const struct weir_pkt *src)
{
	dst->port = src->port;
	dst->queue = src->queue;
	dst->ol_flags = src->ol_flags;
	dst->hash = src->hash;
	dst->timestamp = src->timestamp;
	dst->priority = src->priority;
	dst->l2_len = src->l2_len;
	dst->l3_len = src->l3_len;
	dst->l4_proto = src->l4_proto;
	dst->gso_type = src->gso_type;
	dst->gso_size = src->gso_size;
	dst->hdr_len = src->hdr_len;
	dst->csum_start = src->csum_start;
	dst->csum_offset = src->csum_offset;
}

/* A clone segment over [off, off + len) of segment s, from pool: takes a
 * reference on what owns s's buffer (extbuf, or the direct packet) and
 * points c at the same bytes. */
static int clone_seg(const struct weir_pkt *s, uint32_t off, uint32_t len, struct weir_pool *pool,
		     struct weir_pkt **out)
{
	struct weir_pkt *c = weir_pkt_alloc(pool);
	int e;

	if (!c)
		return -ENOBUFS;
	if (s->flags & WEIR_PKT_F_EXT) {
		c->ext = s->ext;
		atomic_fetch_add_explicit(&c->ext->refcnt, 1, memory_order_relaxed);
		c->flags = WEIR_PKT_F_EXT;
	} else {
		/* Share the buffer's owner: a clone of a clone points at the
		 * original, so chains of clones stay one level. */
		struct weir_pkt *d = (s->flags & WEIR_PKT_F_INDIRECT) ? s->direct
								      : (struct weir_pkt *)s;

		/* Refused at the limit, before c points anywhere: c goes back
		 * as a plain packet. */
		if ((e = weir_pkt_refcnt_update(d, 1)) < 0) {
			weir_pkt_free_seg(c);
			return e;
		}
		c->direct = d;
		c->flags = WEIR_PKT_F_INDIRECT;
	}
	c->buf = s->buf;
	c->buf_len = s->buf_len;
	c->data_off = (uint16_t)(s->data_off + off);
	c->data_len = (uint16_t)len;
	c->pkt_len = len;
	*out = c;
	return 0;
}

int weir_pkt_clone(struct weir_pkt *p, struct weir_pool *pool, struct weir_pkt **out)
{
	struct weir_pkt *head = NULL, *prev = NULL, *c;
	int e;

	for (const struct weir_pkt *s = p; s; s = s->next) {
		if ((e = clone_seg(s, 0, s->data_len, pool, &c)) < 0) {
			weir_pkt_free(head); /* drops the references taken so far */
			return e;
		}
		if (prev)
			prev->next = c;
		else
			head = c;
		prev = c;
	}
	weir_pkt_copy_meta(head, p);
	head->pkt_len = p->pkt_len;
	head->nb_segs = p->nb_segs;
	*out = head;
	return 0;
}

int weir_pkt_clone_range(struct weir_pkt *p, uint32_t off, uint32_t len, struct weir_pool *pool,
			 struct weir_pkt **out)
{
	struct weir_pkt *s = p, *head = NULL, *tail = NULL, *c;
	unsigned i;
	int e;

	if (!len || (uint64_t)off + len > p->pkt_len)
		return -EINVAL;
	for (i = 0; s && off >= s->data_len && i <= WEIR_PKT_MAX_SEGS; i++) {
		off -= s->data_len;
		s = s->next;
	}
	for (i = 0; len && s && i <= WEIR_PKT_MAX_SEGS; i++, s = s->next, off = 0) {
		uint32_t n = WEIR_MIN((uint32_t)s->data_len - off, len);

		if (!n)
			continue;
		if ((e = clone_seg(s, off, n, pool, &c)) < 0) {
			weir_pkt_free(head);
			return e;
		}
		if (!head) {
			head = tail = c;
		} else {
			tail->next = c;
			tail = c;
			head->nb_segs++;
			head->pkt_len += n;
		}
		len -= n;
	}
	if (len) { /* a chain shorter than its pkt_len says */
		weir_pkt_free(head);
		return -EINVAL;
	}
	weir_pkt_copy_meta(head, p);
	*out = head;
	return 0;
}

int weir_pkt_copy(const struct weir_pkt *p, struct weir_pool *pool, struct weir_pkt **out)
{
	struct weir_pkt *head = NULL;
	uint32_t off = 0;

	while (off < p->pkt_len || !head) {
		struct weir_pkt *c = weir_pkt_alloc(pool);
		uint32_t n;

		if (!c) {
			weir_pkt_free(head);
			return -ENOBUFS;
		}
		n = WEIR_MIN(weir_pkt_tailroom(c), p->pkt_len - off);
		if (n)
			weir_pkt_copy_out(p, off, n, weir_pkt_data(c));
		c->data_len = (uint16_t)n;
		c->pkt_len = n;
		off += n;
		if (!head) {
			head = c;
		} else if (weir_pkt_chain(head, c) < 0) {
			weir_pkt_free(c);
			weir_pkt_free(head);
			return -E2BIG;
		}
		if (!n)
			break;
	}
	weir_pkt_copy_meta(head, p);
	*out = head;
	return 0;
}

int weir_pkt_attach_extbuf(struct weir_pkt *p, void *addr, uint32_t len, uint16_t data_off,
			   uint16_t data_len, struct weir_extbuf *ext)
{
	if (p->flags || !ext || (uint32_t)data_off + data_len > len)
		return -EINVAL;
	atomic_fetch_add_explicit(&ext->refcnt, 1, memory_order_relaxed);
	p->ext = ext;
	p->flags = WEIR_PKT_F_EXT;
	p->buf = addr;
	p->buf_len = len;
	p->data_off = data_off;
	p->pkt_len += (uint32_t)data_len - p->data_len;
	p->data_len = data_len;
	return 0;
}
