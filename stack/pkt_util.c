// SPDX-License-Identifier: BSD-3-Clause
/*
 * Packet helpers the protocol files need beyond include/weir/pkt.h: pulling
 * headers off a chain whose first segments may be shorter than a header
 * (a tiny first fragment, a frame split by a driver), trimming a chain to
 * the length a header says, pushing headers into headroom or a chained
 * header segment, and cloning a byte range of a chain without copying it
 * (the payload of an IP fragment: weir_pkt_clone_range, which pins a
 * shared buffer by a reference on the packet that owns it).
 */
#include <errno.h>

#include "stack_internal.h"

void sk_copy_meta(struct weir_pkt *dst, const struct weir_pkt *src)
{
	weir_pkt_copy_meta(dst, src);
	dst->udata64 = src->udata64;
	dst->udata = src->udata;
}

int sk_pull(struct weir_pkt **pp, uint32_t len)
{
	struct weir_pkt *p = *pp, *s = p;
	uint32_t left = len, total = p->pkt_len;
	uint16_t segs = p->nb_segs;

	if (len > total)
		return -EINVAL;
	/* An emptied head with more behind it goes, not to be carried along. */
	if (len < p->data_len || (len == p->data_len && !p->next)) {
		weir_pkt_pull(p, (uint16_t)len);
		return 0;
	}
	/* Whole leading segments go; the last one stays even when emptied. */
	for (unsigned i = 0; left && left >= s->data_len && s->next && i < WEIR_PKT_MAX_SEGS; i++) {
		left -= s->data_len;
		s = s->next;
		segs--;
	}
	if (left > s->data_len)
		return -EINVAL; /* a chain shorter than its pkt_len says */
	sk_copy_meta(s, p);
	s->pkt_len = total - (len - left);
	s->nb_segs = segs;
	while (p != s) {
		struct weir_pkt *next = p->next;

		p->next = NULL;
		weir_pkt_free_seg(p);
		p = next;
	}
	weir_pkt_pull(s, (uint16_t)left);
	*pp = s;
	return 0;
}

void sk_trim_to(struct weir_pkt *p, uint32_t len)
{
	struct weir_pkt *s = p;
	uint32_t have = 0;
	uint16_t segs = 1;

	if (len >= p->pkt_len)
		return;
	for (unsigned i = 0; s->next && have + s->data_len < len && i < WEIR_PKT_MAX_SEGS; i++) {
		have += s->data_len;
		s = s->next;
		segs++;
	}
	s->data_len = (uint16_t)(len - have);
	weir_pkt_free(s->next);
	s->next = NULL;
	p->pkt_len = len;
	p->nb_segs = segs;
}

uint8_t *sk_push(struct weir_pkt **pp, uint16_t len, uint16_t reserve, struct weir_pool *pool,
		 bool *chained)
{
	struct weir_pkt *p = *pp, *h;

	/* An external buffer's headroom is its driver's (a ring slot's
	 * header area); a shared buffer's is everybody's. */
	if (!p->flags && weir_pkt_refcnt(p) == 1 && p->data_off >= (uint32_t)len + reserve) {
		*chained = false;
		if (p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL)
			p->csum_start = (uint16_t)(p->csum_start + len);
		return weir_pkt_push(p, len);
	}
	h = weir_pkt_alloc(pool);
	if (!h)
		return NULL;
	if (h->data_off < (uint32_t)len + reserve || weir_pkt_chain(h, p) < 0) {
		weir_pkt_free(h);
		return NULL;
	}
	sk_copy_meta(h, p);
	if (h->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL)
		h->csum_start = (uint16_t)(h->csum_start + len);
	*chained = true;
	*pp = h;
	return weir_pkt_push(h, len);
}

void sk_unpush(struct weir_pkt **pp, uint16_t len, bool chained)
{
	struct weir_pkt *h = *pp, *p;

	if (h->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL)
		h->csum_start = (uint16_t)(h->csum_start - len);
	if (!chained) {
		weir_pkt_pull(h, len);
		return;
	}
	p = h->next;
	p->pkt_len = h->pkt_len - h->data_len;
	p->nb_segs = (uint16_t)(h->nb_segs - 1);
	sk_copy_meta(p, h);
	h->next = NULL;
	weir_pkt_free_seg(h);
	*pp = p;
}

struct weir_pkt *sk_clone_range(struct weir_pkt *p, uint32_t off, uint32_t len,
				struct weir_pool *pool, int *err)
{
	struct weir_pkt *c = NULL;

	*err = weir_pkt_clone_range(p, off, len, pool, &c);
	if (*err)
		return NULL;
	/* The stack's callers set the head's metadata themselves. */
	return c;
}

struct weir_pkt *sk_alloc(struct weir_pool *pool, uint16_t len)
{
	struct weir_pkt *p = weir_pkt_alloc(pool);

	if (p && !weir_pkt_put(p, len)) {
		weir_pkt_free(p);
		return NULL;
	}
	return p;
}

int sk_write(struct weir_pkt *p, uint32_t off, const void *src, uint32_t len)
{
	const uint8_t *in = src;
	struct weir_pkt *s = p, *first;
	uint32_t o, left = len;
	unsigned i;

	if ((uint64_t)off + len > p->pkt_len)
		return -EINVAL;
	for (i = 0; s && off >= s->data_len && i <= WEIR_PKT_MAX_SEGS; i++) {
		off -= s->data_len;
		s = s->next;
	}
	/* Check every segment first, so a refusal writes nothing. */
	first = s;
	for (i = 0, o = off; left && s && i <= WEIR_PKT_MAX_SEGS; i++, s = s->next, o = 0) {
		if (!sk_seg_writable(s))
			return -EPERM;
		left -= WEIR_MIN((uint32_t)s->data_len - o, left);
	}
	left = len;
	for (s = first, o = off; left && s; s = s->next, o = 0) {
		uint32_t n = WEIR_MIN((uint32_t)s->data_len - o, left);

		memcpy(weir_pkt_data(s) + o, in, n);
		in += n;
		left -= n;
	}
	return 0;
}
