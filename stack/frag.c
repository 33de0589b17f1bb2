// SPDX-License-Identifier: BSD-3-Clause
/*
 * IPv4 reassembly (RFC 791 §3.2, RFC 815), built for senders that lie.
 *
 * A datagram is identified by (source, destination, protocol, id) and its
 * fragments are kept sorted by offset, linked through qnext, each with its
 * payload offset and length in udata64 (the packet is the table's while it
 * is held). Any number of fragments make a datagram, up to the 64 KiB an
 * IPv4 length can say; the result is a chain of the fragments themselves,
 * no copy, unless it would exceed WEIR_PKT_MAX_SEGS segments (then it is
 * copied into fresh buffers once).
 *
 * Overlaps. An exact duplicate of a fragment already held is dropped on its
 * own (retransmissions happen); any other overlap discards the whole
 * datagram, as Linux has done since 2018 and RFC 5722 asks for IPv6: the
 * only reason to overlap is to make two receivers see different data.
 * Inconsistent ends (two last fragments, data past the end) discard it too.
 *
 * Memory. Every held fragment is charged what it occupies (its buffers and
 * metadata, sk_frag_truesize), plus each datagram and source its table
 * entry. A fragment that would take its source over budget_source, or the
 * table over budget, is dropped and so is the datagram it belongs to (it
 * could not complete); other sources' datagrams are left alone, so one
 * flooding source cannot push out the others. Both budgets can be changed
 * at run time; lowering one discards the oldest datagrams until it holds.
 * Datagrams and sources sit in hash tables keyed at random (src/hash.c): an
 * outsider picks the addresses and ids, so it must not pick the buckets.
 *
 * Time. Datagrams are on a list in order of their first fragment; those
 * older than the timeout are discarded by sk_frag_timer(), which tells its
 * caller about each one whose first fragment arrived (ICMP time exceeded,
 * RFC 792 code 1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frag_internal.h"
#include "stack_internal.h"

#define DG_BUCKETS 4096
#define SRC_BUCKETS 1024
#define DATAGRAM_MAX 65535u

struct src {
	struct src *hnext;
	uint32_t addr;
	uint32_t dgrams;
	uint64_t mem;
};

struct dgram {
	struct dgram *hnext;
	struct dgram *prev, *next; /* age list */
	struct src *src;
	uint32_t saddr, daddr;
	uint16_t id;
	uint8_t proto;
	uint8_t ihl;               /* of the first fragment, 0 until it came */
	bool last;                 /* the fragment without MF came: end is known */
	uint32_t end;              /* payload length, when last */
	uint32_t max_end;          /* furthest byte held */
	uint32_t have;             /* payload bytes held */
	uint32_t nfrags;
	uint32_t segs;
	uint64_t mem;
	weir_ns_t created;
	struct weir_pkt *head, *tail; /* by offset */
};

struct sk_frag {
	struct sk_frag_conf conf;
	struct weir_hash_key key;
	uint64_t mem;
	uint32_t ndgrams;
	struct dgram *oldest, *newest;
	struct dgram *dg[DG_BUCKETS];
	struct src *sr[SRC_BUCKETS];
	struct sk_frag_stats st;
};

static inline uint32_t frag_off(const struct weir_pkt *p)
{
	return (uint32_t)(p->udata64 >> 32);
}

static inline uint32_t frag_len(const struct weir_pkt *p)
{
	return (uint32_t)p->udata64;
}

uint64_t sk_frag_truesize(const struct weir_pkt *p)
{
	uint64_t n = 0;

	for (unsigned i = 0; p && i <= WEIR_PKT_MAX_SEGS; i++, p = p->next)
		n += p->buf_len + sizeof(struct weir_pkt);
	return n;
}

struct sk_frag *sk_frag_create(const struct sk_frag_conf *conf, int *err)
{
	struct sk_frag *f;

	if (!conf->budget || !conf->budget_source || conf->budget_source > conf->budget ||
	    !conf->pool) {
		*err = -EINVAL;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	f->conf = *conf;
	sk_hash_key(&f->key, conf->seed);
	*err = 0;
	return f;
}

static uint32_t src_bucket(const struct sk_frag *f, uint32_t addr)
{
	return (uint32_t)weir_siphash(&f->key, &addr, sizeof(addr)) & (SRC_BUCKETS - 1);
}

static uint32_t dg_bucket(const struct sk_frag *f, uint32_t saddr, uint32_t daddr, uint16_t id,
			  uint8_t proto)
{
	uint32_t k[3] = {saddr, daddr, (uint32_t)id << 8 | proto};

	return (uint32_t)weir_siphash(&f->key, k, sizeof(k)) & (DG_BUCKETS - 1);
}

static struct src *src_find(const struct sk_frag *f, uint32_t addr)
{
	struct src *s = f->sr[src_bucket(f, addr)];

	/* Every source holds a datagram, so no chain is longer than that. */
	for (uint32_t n = 0; s && s->addr != addr && n <= f->ndgrams; n++)
		s = s->hnext;
	return s && s->addr == addr ? s : NULL;
}

/* Frees a datagram's fragments and entry, counting nfrags into *counter. */
static void dg_discard(struct sk_frag *f, struct dgram *d, uint64_t *counter)
{
	struct dgram **link = &f->dg[dg_bucket(f, d->saddr, d->daddr, d->id, d->proto)];
	struct src *s = d->src;
	struct weir_pkt *p = d->head;

	while (*link != d)
		link = &(*link)->hnext;
	*link = d->hnext;
	if (d->prev)
		d->prev->next = d->next;
	else
		f->oldest = d->next;
	if (d->next)
		d->next->prev = d->prev;
	else
		f->newest = d->prev;
	for (uint32_t i = 0; p && i < d->nfrags; i++) {
		struct weir_pkt *next = p->qnext;

		p->qnext = NULL;
		weir_pkt_free(p);
		p = next;
	}
	if (counter)
		*counter += d->nfrags;
	f->mem -= d->mem;
	s->mem -= d->mem;
	f->ndgrams--;
	if (!--s->dgrams) {
		struct src **sl = &f->sr[src_bucket(f, s->addr)];

		while (*sl != s)
			sl = &(*sl)->hnext;
		*sl = s->hnext;
		f->mem -= sizeof(*s);
		free(s);
	}
	free(d);
}

void sk_frag_destroy(struct sk_frag *f)
{
	if (!f)
		return;
	while (f->oldest)
		dg_discard(f, f->oldest, NULL);
	free(f);
}

/* Drops p and everything already held of d, counted under *counter. */
static int drop_all(struct sk_frag *f, struct dgram *d, struct weir_pkt *p, uint64_t *counter)
{
	weir_pkt_free(p);
	(*counter)++;
	if (d)
		dg_discard(f, d, counter);
	return 0;
}

static int drop(struct weir_pkt *p, uint64_t *counter)
{
	weir_pkt_free(p);
	(*counter)++;
	return 0;
}

/* The datagram p belongs to, made if new (its entry charged to the
 * budgets); NULL when that does not fit or memory is short. */
static struct dgram *dg_get(struct sk_frag *f, const struct weir_ipv4_hdr *ip, weir_ns_t now,
			    uint64_t **why)
{
	uint16_t id = ntohs(ip->id);
	uint32_t saddr, daddr, b;
	struct dgram *d;
	struct src *s;
	uint64_t need;

	memcpy(&saddr, ip->saddr, 4);
	memcpy(&daddr, ip->daddr, 4);
	saddr = ntohl(saddr);
	daddr = ntohl(daddr);
	b = dg_bucket(f, saddr, daddr, id, ip->proto);

	d = f->dg[b];
	for (uint32_t n = 0; d && n <= f->ndgrams; n++, d = d->hnext)
		if (d->saddr == saddr && d->daddr == daddr && d->id == id && d->proto == ip->proto)
			return d;
	s = src_find(f, saddr);
	need = sizeof(*d) + (s ? 0 : sizeof(*s));
	if ((s ? s->mem : sizeof(*s)) + sizeof(*d) > f->conf.budget_source) {
		*why = &f->st.frag_drop_budget_source;
		return NULL;
	}
	if (f->mem + need > f->conf.budget) {
		*why = &f->st.frag_drop_budget_total;
		return NULL;
	}
	*why = &f->st.frag_drop_nobufs;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			free(d);
			return NULL;
		}
		s->addr = saddr;
		s->hnext = f->sr[src_bucket(f, saddr)];
		f->sr[src_bucket(f, saddr)] = s;
		f->mem += sizeof(*s);
	}
	*d = (struct dgram){.hnext = f->dg[b], .prev = f->newest, .src = s, .saddr = saddr,
			    .daddr = daddr, .id = id, .proto = ip->proto, .created = now,
			    .mem = sizeof(*d)};
	f->dg[b] = d;
	if (f->newest)
		f->newest->next = d;
	else
		f->oldest = d;
	f->newest = d;
	s->dgrams++;
	s->mem += sizeof(*d);
	f->mem += sizeof(*d);
	f->ndgrams++;
	return d;
}

/* Where p (payload [off, end)) goes in d's list: after *prev (NULL: at
 * the head). 0, 1 for an exact duplicate, -1 for an overlap. */
static int find_slot(const struct dgram *d, uint32_t off, uint32_t end, struct weir_pkt **prev)
{
	struct weir_pkt *q = d->head, *pr = NULL;

	*prev = NULL;
	if (d->tail && frag_off(d->tail) + frag_len(d->tail) <= off) {
		*prev = d->tail; /* in order: the common case, O(1) */
		return 0;
	}
	for (uint32_t i = 0; q && i < d->nfrags && frag_off(q) < off; i++) {
		pr = q;
		q = q->qnext;
	}
	if (q && frag_off(q) == off && frag_off(q) + frag_len(q) == end)
		return 1;
	if ((pr && frag_off(pr) + frag_len(pr) > off) || (q && frag_off(q) < end))
		return -1;
	*prev = pr;
	return 0;
}

/* Appends len bytes of src from off to the chain head..*tail, filling
 * fresh buffers from pool: 0 or -ENOBUFS/-E2BIG. */
static int copy_append(struct weir_pkt *head, struct weir_pkt **tail, const struct weir_pkt *src,
		       uint32_t off, uint32_t len, struct weir_pool *pool)
{
	while (len) {
		struct weir_pkt *t = *tail;
		uint32_t n;

		if (!weir_pkt_tailroom(t)) {
			if (head->nb_segs >= WEIR_PKT_MAX_SEGS || !(t = weir_pkt_alloc(pool)))
				return -ENOBUFS;
			(*tail)->next = t;
			*tail = t;
			head->nb_segs++;
		}
		n = WEIR_MIN(weir_pkt_tailroom(t), len);
		n = WEIR_MIN(n, (uint32_t)UINT16_MAX - t->data_len);
		weir_pkt_copy_out(src, off, n, weir_pkt_data(t) + t->data_len);
		t->data_len = (uint16_t)(t->data_len + n);
		head->pkt_len += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* The datagram copied into fresh buffers (the fragments stay d's). */
static struct weir_pkt *copy_datagram(struct sk_frag *f, struct dgram *d)
{
	struct weir_pkt *head = weir_pkt_alloc(f->conf.pool), *tail = head, *q = d->head;

	if (!head)
		return NULL;
	sk_copy_meta(head, d->head);
	for (uint32_t i = 0; q && i < d->nfrags; i++, q = q->qnext) {
		uint32_t skip = i ? 0 : d->ihl;

		if (copy_append(head, &tail, q, 0, skip + frag_len(q), f->conf.pool)) {
			weir_pkt_free(head);
			return NULL;
		}
	}
	f->st.frag_copied++;
	return head;
}

/* d is complete: its fragments become one datagram; d goes. */
static struct weir_pkt *assemble(struct sk_frag *f, struct dgram *d)
{
	struct weir_pkt *head = d->head, *q, *out;
	uint8_t h[WEIR_IPV4_HDR_MAX];

	if (d->ihl + d->end > DATAGRAM_MAX) {
		dg_discard(f, d, &f->st.frag_drop_too_big);
		return NULL;
	}
	if (d->segs > WEIR_PKT_MAX_SEGS) {
		out = copy_datagram(f, d);
		dg_discard(f, d, out ? NULL : &f->st.frag_drop_nobufs);
		if (!out)
			return NULL;
	} else {
		/* Take the fragments off d, then chain them (fits: segs <= max). */
		d->head = NULL;
		d->nfrags = 0;
		out = head;
		q = head->qnext;
		head->qnext = NULL;
		for (uint32_t i = 0; q && i < WEIR_PKT_MAX_SEGS; i++) {
			struct weir_pkt *next = q->qnext;

			q->qnext = NULL;
			q->udata64 = 0;
			weir_pkt_chain(out, q);
			q = next;
		}
		dg_discard(f, d, NULL);
	}
	out->udata64 = 0;
	out->ol_flags &= (uint16_t)~(WEIR_PKT_OL_CSUM_VALID | WEIR_PKT_OL_CSUM_PARTIAL);
	/* The header as the datagram's: what upper layers and ICMP quote. */
	if (!weir_pkt_copy_out(out, 0, out->l3_len, h)) {
		uint16_t tot = htons((uint16_t)out->pkt_len);

		memcpy(h + offsetof(struct weir_ipv4_hdr, tot_len), &tot, 2);
		memset(h + offsetof(struct weir_ipv4_hdr, frag_off), 0, 2);
		sk_ipv4_set_csum(h, out->l3_len);
		sk_write(out, 0, h, out->l3_len); /* -EPERM: left as it came */
	}
	f->st.frag_reassembled++;
	return out;
}

/* Checks p's place against what d knows of the datagram's end: 0, or
 * -1 when they contradict. Records the end when p is the last fragment. */
static int check_end(struct dgram *d, uint32_t end, bool mf)
{
	if (!mf) {
		if ((d->last && d->end != end) || d->max_end > end)
			return -1;
		d->last = true;
		d->end = end;
		return 0;
	}
	return d->last && end > d->end ? -1 : 0;
}

int sk_frag_input(struct sk_frag *f, struct weir_pkt *p, weir_ns_t now, struct weir_pkt **out)
{
	struct weir_ipv4_hdr ip;
	struct weir_pkt *prev;
	struct dgram *d;
	uint64_t *why, charge;
	uint32_t ihl = p->l3_len, plen, off, end;
	uint16_t fo;
	bool mf;
	int slot;

	f->st.frag_rx_fragments++;
	if (weir_pkt_copy_out(p, 0, sizeof(ip), &ip) || ihl < WEIR_IPV4_HDR_LEN || ihl > p->pkt_len)
		return drop(p, &f->st.frag_drop_bad_len);
	fo = ntohs(ip.frag_off);
	mf = fo & WEIR_IPV4_MF;
	off = (uint32_t)(fo & WEIR_IPV4_OFFMASK) * 8;
	plen = p->pkt_len - ihl;
	end = off + plen;
	/* Every fragment but the last carries a multiple of 8 bytes. */
	if (!plen || (mf && (plen & 7)))
		return drop(p, &f->st.frag_drop_bad_len);
	if (end > DATAGRAM_MAX - WEIR_IPV4_HDR_LEN)
		return drop(p, &f->st.frag_drop_too_big);
	d = dg_get(f, &ip, now, &why);
	if (!d)
		return drop(p, why);
	charge = sk_frag_truesize(p);
	if (d->src->mem + charge > f->conf.budget_source)
		return drop_all(f, d, p, &f->st.frag_drop_budget_source);
	if (f->mem + charge > f->conf.budget)
		return drop_all(f, d, p, &f->st.frag_drop_budget_total);
	slot = find_slot(d, off, end, &prev);
	if (slot == 1)
		return drop(p, &f->st.frag_drop_duplicate);
	if (slot < 0)
		return drop_all(f, d, p, &f->st.frag_drop_overlap);
	if (check_end(d, end, mf))
		return drop_all(f, d, p, &f->st.frag_drop_inconsistent);
	if (off)
		sk_pull(&p, ihl); /* keep only the payload; ihl <= pkt_len */
	else
		d->ihl = (uint8_t)ihl;
	p->udata64 = (uint64_t)off << 32 | plen;
	p->qnext = prev ? prev->qnext : d->head;
	if (prev)
		prev->qnext = p;
	else
		d->head = p;
	if (!p->qnext)
		d->tail = p;
	d->have += plen;
	d->max_end = WEIR_MAX(d->max_end, end);
	d->nfrags++;
	d->segs += p->nb_segs;
	d->mem += charge;
	d->src->mem += charge;
	f->mem += charge;
	if (!d->last || d->have != d->end)
		return 0;
	*out = assemble(f, d);
	return *out != NULL;
}

void sk_frag_timer(struct sk_frag *f, weir_ns_t now, sk_frag_expired_fn fn, void *ctx)
{
	while (f->oldest && now - f->oldest->created >= f->conf.timeout) {
		struct dgram *d = f->oldest;

		if (fn && d->head && frag_off(d->head) == 0 && d->ihl)
			fn(ctx, d->head);
		f->st.frag_timeouts++;
		dg_discard(f, d, &f->st.frag_drop_timeout);
	}
}

int sk_frag_set_budget(struct sk_frag *f, uint64_t total, uint64_t per_source)
{
	struct dgram *d = f->oldest;

	if (!total)
		total = f->conf.budget;
	if (!per_source)
		per_source = f->conf.budget_source;
	if (per_source > total)
		return -EINVAL;
	f->conf.budget = total;
	f->conf.budget_source = per_source;
	/* Oldest first: each step discards d or moves past it. */
	while (d) {
		struct dgram *next = d->next;

		if (f->mem > total)
			dg_discard(f, d, &f->st.frag_drop_budget_total);
		else if (d->src->mem > per_source)
			dg_discard(f, d, &f->st.frag_drop_budget_source);
		d = next;
	}
	return 0;
}

void sk_frag_set_timeout(struct sk_frag *f, weir_ns_t timeout)
{
	f->conf.timeout = timeout;
}

const struct sk_frag_stats *sk_frag_stats(const struct sk_frag *f)
{
	return &f->st;
}

uint64_t sk_frag_mem(const struct sk_frag *f)
{
	return f->mem;
}

uint32_t sk_frag_datagrams(const struct sk_frag *f)
{
	return f->ndgrams;
}

uint64_t sk_frag_source_mem(const struct sk_frag *f, uint32_t saddr)
{
	const struct src *s = src_find(f, saddr);

	return s ? s->mem : 0;
}
