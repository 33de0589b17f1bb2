// SPDX-License-Identifier: BSD-3-Clause
/*
 * Software GSO: cutting a TCP (IPv4/IPv6) or UDP (UDP_SEGMENT) super-frame
 * into the wire frames it stands for, as Linux's tcp_gso_segment() and
 * __udp_gso_segment() do, so that a shaper or a byte-counting qdisc sees
 * what the wire will carry and a port that cannot take super-frames gets
 * frames it can send.
 *
 * Every segment is a fresh single-segment copy: headers, then the
 * payload slice, then the fixes (lengths, IPv4 id and header checksum,
 * TCP sequence number and flags, the L4 checksum). Copying costs one pass
 * over the payload, which a checksum needs anyway, and drivers copy into
 * their TX rings (AF_PACKET) or need one buffer per frame (AF_XDP)
 * regardless; at shaped rates the copy is noise. The zero-copy way, as
 * DPDK's rte_gso does it, is a small header segment chained to a clone of
 * the payload slice: fewer bytes moved for ports that take chains, at the
 * price of two buffers per segment and a chain walk at every later read;
 * a possible later optimisation, with the same API.
 *
 * All-or-nothing: the headers are parsed and every limit checked before
 * the segments are allocated in one bulk, so a failure leaves the
 * super-frame as it was and allocates nothing.
 */
#include <errno.h>
#include <string.h>

#include "offload_internal.h"
#include "weir/offload.h"
#include "weir/proto/ipv4.h"
#include "weir/proto/ipv6.h"
#include "weir/proto/tcp.h"
#include "weir/proto/udp.h"

struct gso_plan {
	struct ol_hdrs h;
	uint32_t hdr_len;
	uint32_t payload; /* L4 payload bytes of the super-frame */
	uint32_t nseg;
	uint8_t hdr[WEIR_GSO_HDR_MAX]; /* the super-frame's headers */
};

/* Reads a super-frame's headers and counts its segments: 0, -EINVAL,
 * -EPROTONOSUPPORT. Fills everything in plan but hdr. */
static int plan_count(const struct weir_pkt *p, struct gso_plan *g)
{
	int err;

	if ((p->gso_type & ~WEIR_PKT_GSO_ECN) == WEIR_PKT_GSO_UDP)
		return -EPROTONOSUPPORT;
	if (p->gso_size == 0)
		return -EINVAL;
	err = ol_parse(p, &g->h);
	if (err)
		return -EINVAL; /* the type says TCP or UDP over IP: it is not */
	err = ol_gso_check(p, &g->h);
	if (err)
		return err;
	g->hdr_len = ol_hdr_len(&g->h);
	if (g->hdr_len >= p->pkt_len)
		return -EINVAL;
	g->payload = p->pkt_len - g->hdr_len;
	g->nseg = (g->payload + p->gso_size - 1) / p->gso_size;
	return 0;
}

/* Walks the super-frame's payload once across all segments. */
struct cursor {
	const struct weir_pkt *seg;
	uint32_t off;
};

static void cursor_init(struct cursor *c, const struct weir_pkt *p, uint32_t off)
{
	for (uint32_t n = 0; p && off >= p->data_len && n <= WEIR_PKT_MAX_SEGS; n++) {
		off -= p->data_len;
		p = p->next;
	}
	c->seg = p;
	c->off = off;
}

static void cursor_copy(struct cursor *c, uint8_t *dst, uint32_t len)
{
	while (len && c->seg) {
		uint32_t n = WEIR_MIN((uint32_t)c->seg->data_len - c->off, len);

		memcpy(dst, weir_pkt_data(c->seg) + c->off, n);
		dst += n;
		len -= n;
		c->off += n;
		if (c->off == c->seg->data_len) {
			c->seg = c->seg->next;
			c->off = 0;
		}
	}
}

/* IP lengths and id, and IPv4's header checksum, of segment i. */
static void fix_l3(const struct gso_plan *g, uint8_t *d, uint32_t seg_len, uint32_t i)
{
	uint8_t *ip = d + g->h.l2_len;

	if (g->h.ipv == 4) {
		uint16_t id = ol_get16(ip + offsetof(struct weir_ipv4_hdr, id));
		uint16_t ck;

		ol_put16(ip + offsetof(struct weir_ipv4_hdr, tot_len),
			 (uint16_t)(seg_len - g->h.l2_len));
		/* id, id+1, ...: inet_gso_segment() without TCP_FIXEDID. */
		ol_put16(ip + offsetof(struct weir_ipv4_hdr, id), (uint16_t)(id + i));
		memset(ip + offsetof(struct weir_ipv4_hdr, check), 0, 2);
		ck = (uint16_t)~weir_csum_fold(weir_csum_add(0, ip, g->h.l3_len));
		memcpy(ip + offsetof(struct weir_ipv4_hdr, check), &ck, 2);
	} else {
		ol_put16(ip + offsetof(struct weir_ipv6_hdr, payload_len),
			 (uint16_t)(seg_len - g->h.l2_len - WEIR_IPV6_HDR_LEN));
	}
}

/* TCP sequence number and flags, or the UDP length, of segment i of
 * payload bytes n, then its checksum. Returns the ol_flags for it. */
static uint16_t fix_l4(const struct gso_plan *g, uint8_t *d, uint32_t i, uint32_t n,
		       uint16_t gso_size, unsigned flags)
{
	uint8_t *l4 = d + ol_l4_off(&g->h), *field = l4 + g->h.csum_off;
	uint32_t l4_len = g->h.l4_hlen + n;
	bool udp = g->h.l4_proto == WEIR_IPPROTO_UDP;
	uint16_t ck;

	if (udp) {
		ol_put16(l4 + offsetof(struct weir_udp_hdr, len), (uint16_t)l4_len);
	} else {
		uint8_t *seq = l4 + offsetof(struct weir_tcp_hdr, seq);
		uint8_t *fl = l4 + offsetof(struct weir_tcp_hdr, flags);

		ol_put32(seq, ol_get32(seq) + i * gso_size); /* mod 2^32, as TCP */
		/* tcp_gso_segment(): FIN and PSH stay on the last segment,
		 * CWR on the first (the window was reduced once). */
		if (i + 1 < g->nseg)
			*fl &= (uint8_t)~(WEIR_TCP_FIN | WEIR_TCP_PSH);
		if (i > 0)
			*fl &= (uint8_t)~WEIR_TCP_CWR;
	}
	if (flags & WEIR_GSO_CSUM_PARTIAL) {
		ck = weir_csum_fold(ol_pseudo(&g->h, l4_len));
		memcpy(field, &ck, 2);
		return WEIR_PKT_OL_CSUM_PARTIAL;
	}
	memset(field, 0, 2);
	ck = (uint16_t)~weir_csum_fold(weir_csum_add(ol_pseudo(&g->h, l4_len), l4, l4_len));
	if (ck == 0 && udp)
		ck = 0xffff; /* RFC 768: 0 would mean "no checksum" */
	memcpy(field, &ck, 2);
	return WEIR_PKT_OL_CSUM_VALID;
}

static void copy_meta(struct weir_pkt *s, const struct weir_pkt *p, const struct gso_plan *g,
		      uint16_t ol)
{
	s->port = p->port;
	s->queue = p->queue;
	s->hash = p->hash;
	s->timestamp = p->timestamp;
	s->priority = p->priority;
	s->ol_flags = (uint16_t)((p->ol_flags & (WEIR_PKT_OL_RX_TSTAMP | WEIR_PKT_OL_ECN_CAPABLE)) |
				 ol);
	s->l2_len = g->h.l2_len;
	s->l3_len = g->h.l3_len;
	s->l4_proto = g->h.l4_proto;
	s->gso_type = WEIR_PKT_GSO_NONE;
	s->gso_size = 0;
	s->hdr_len = 0;
	s->csum_start = (ol & WEIR_PKT_OL_CSUM_PARTIAL) ? (uint16_t)ol_l4_off(&g->h) : 0;
	s->csum_offset = (ol & WEIR_PKT_OL_CSUM_PARTIAL) ? g->h.csum_off : 0;
}

int weir_gso_segment(struct weir_pkt *p, struct weir_pool *pool, struct weir_pkt **out,
		     uint16_t max, unsigned flags)
{
	struct gso_plan g;
	struct cursor c;
	uint32_t room;
	int err;

	if (!weir_pkt_is_gso(p)) {
		if (max == 0)
			return -E2BIG;
		out[0] = p;
		return 1;
	}
	err = plan_count(p, &g);
	if (err)
		return err;
	if (g.nseg > max)
		return -E2BIG;
	room = WEIR_MIN(pool->buf_size - pool->headroom, (uint32_t)UINT16_MAX);
	if (g.hdr_len + WEIR_MIN(g.payload, (uint32_t)p->gso_size) > room)
		return -EMSGSIZE;
	weir_pkt_copy_out(p, 0, g.hdr_len, g.hdr);
	if (weir_pkt_alloc_bulk(pool, out, g.nseg))
		return -ENOBUFS;
	cursor_init(&c, p, g.hdr_len);
	for (uint32_t i = 0; i < g.nseg; i++) {
		uint32_t n = WEIR_MIN((uint32_t)p->gso_size, g.payload - i * p->gso_size);
		uint32_t seg_len = g.hdr_len + n;
		uint8_t *d = weir_pkt_put(out[i], (uint16_t)seg_len);
		uint16_t ol;

		memcpy(d, g.hdr, g.hdr_len);
		cursor_copy(&c, d + g.hdr_len, n);
		fix_l3(&g, d, seg_len, i);
		ol = fix_l4(&g, d, i, n, p->gso_size, flags);
		copy_meta(out[i], p, &g, ol);
	}
	weir_pkt_free(p);
	return (int)g.nseg;
}

uint16_t weir_gso_nb_segs(const struct weir_pkt *p)
{
	struct gso_plan g;

	if (!weir_pkt_is_gso(p))
		return 1;
	if (plan_count(p, &g))
		return 0;
	return (uint16_t)WEIR_MIN(g.nseg, (uint32_t)UINT16_MAX);
}

uint32_t weir_gso_wire_len(const struct weir_pkt *p)
{
	struct gso_plan g;
	uint64_t len;

	if (!weir_pkt_is_gso(p) || plan_count(p, &g))
		return p->pkt_len;
	len = (uint64_t)g.nseg * g.hdr_len + g.payload;
	return (uint32_t)WEIR_MIN(len, (uint64_t)UINT32_MAX);
}
