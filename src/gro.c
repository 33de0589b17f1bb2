// SPDX-License-Identifier: BSD-3-Clause
/*
 * Software GRO: coalescing the consecutive in-order TCP segments of a flow
 * that arrive in one burst into one super-frame, as Linux's
 * tcp_gro_receive() and inet_gro_receive()/ipv6_gro_receive() do, so that
 * a receiving host handed the super-frame (afpacket with a vnet header)
 * pays once per 64 KiB instead of once per segment.
 *
 * The rules are Linux's, so that segmenting the result (weir_gso_segment(),
 * or the kernel's tcp_gso_segment()) gives back the frames that came in,
 * byte for byte: the same Ethernet header, addresses and ports; IPv4
 * without options or fragments, the same TOS, TTL and DF, ids counting up
 * by one; IPv6 without extension headers, the same first word and hop
 * limit; TCP with the same ACK number, window, header length and options
 * (timestamps included), the same flags except PSH and FIN, which may end
 * the train, and CWR, which may only start it; the sequence numbers
 * contiguous; every segment but the last exactly as long as the first (the
 * MSS), none longer. A segment with PSH or FIN, or a short one, closes its
 * super-frame; SYN, RST, URG, pure ACKs and super-frames are never merged.
 * Only whole, exactly sized frames (no Ethernet padding) in one buffer.
 *
 * Checksums: a segment merges only if its checksum is known good — the
 * kernel said so (CSUM_VALID), it is still to be computed (CSUM_PARTIAL),
 * or weir verified it here (one pass over the payload, the pass the
 * receiving host would have made). The super-frame leaves with a partial
 * checksum for whoever segments it or delivers it. Bad segments pass
 * unmerged, as they came, for the receiver to drop.
 *
 * Zero-copy: the super-frame is the first segment followed, as a chain, by
 * the payload of the others (their headers pulled off); only the first
 * segment's headers are rewritten. Nothing is held across bursts, so GRO
 * adds no latency.
 */
#include <string.h>

#include "offload_internal.h"
#include "weir/offload.h"
#include "weir/proto/ether.h"
#include "weir/proto/ipv4.h"
#include "weir/proto/ipv6.h"
#include "weir/proto/tcp.h"

/* The headers of a segment, parsed in place (first buffer only). */
struct gro_hdr {
	uint8_t *d;       /* the frame */
	uint16_t l2_len;  /* Ethernet + VLAN tags */
	uint16_t l3_len;  /* 20 or 40: no options, no extension headers */
	uint16_t thlen;   /* TCP header with options */
	uint16_t plen;    /* TCP payload bytes */
	uint8_t ipv;
	uint8_t flags;    /* TCP flags */
	uint32_t seq;
};

/* A super-frame being built. */
struct gro_flow {
	struct weir_pkt *head, *last;
	struct gro_hdr h;   /* the head's headers */
	uint32_t next_seq;  /* sequence number the next segment must have */
	uint32_t payload;   /* TCP payload bytes so far */
	uint16_t nseg;
	uint16_t next_id;   /* IPv4: id the next segment must have */
	bool verified;      /* the head's checksum is known good */
};

enum gro_kind {
	GRO_OTHER,  /* not TCP over IP: no bearing on any flow */
	GRO_OPAQUE, /* IP we cannot look into (options, fragments): closes all */
	GRO_SOLO,   /* a TCP segment that is never merged: closes its flow */
	GRO_CAND,   /* may be merged */
};

static inline uint16_t rd16(const uint8_t *b)
{
	return ol_get16(b);
}

/* IPv4 or IPv6 below the Ethernet header and VLAN tags: the EtherType and
 * l2_len, or 0. */
static uint16_t gro_l2(const uint8_t *d, uint32_t len, uint16_t *l2_len)
{
	uint16_t type, off = WEIR_ETHER_HDR_LEN;

	if (len < WEIR_ETHER_HDR_LEN)
		return 0;
	type = rd16(d + 12);
	for (int tags = 0; tags < WEIR_VLAN_MAX_TAGS && weir_ether_type_is_vlan(type); tags++) {
		if (len < (uint32_t)off + WEIR_VLAN_HDR_LEN)
			return 0;
		type = rd16(d + off + 2);
		off += WEIR_VLAN_HDR_LEN;
	}
	*l2_len = off;
	return type;
}

/* IPv4: no options, not a fragment, a valid header checksum, the length
 * exactly the frame's (len; 0 for a chain or a super-frame, whose length is
 * not checked: they are only told apart by flow). avail: bytes readable. */
static enum gro_kind gro_ipv4(const uint8_t *ip, uint32_t avail, uint32_t len, struct gro_hdr *h)
{
	if (avail < WEIR_IPV4_HDR_LEN || ip[0] >> 4 != 4)
		return GRO_OTHER;
	if (ip[0] != 0x45 || (rd16(ip + 6) & (WEIR_IPV4_MF | WEIR_IPV4_OFFMASK)) ||
	    (len && rd16(ip + 2) != len))
		return GRO_OPAQUE;
	if (ip[9] != WEIR_IPPROTO_TCP)
		return GRO_OTHER;
	if (weir_csum_fold(weir_csum_add(0, ip, WEIR_IPV4_HDR_LEN)) != 0xffff)
		return GRO_OPAQUE;
	h->ipv = 4;
	h->l3_len = WEIR_IPV4_HDR_LEN;
	return GRO_CAND;
}

static enum gro_kind gro_ipv6(const uint8_t *ip, uint32_t avail, uint32_t len, struct gro_hdr *h)
{
	if (avail < WEIR_IPV6_HDR_LEN || ip[0] >> 4 != 6)
		return GRO_OTHER;
	if (len && rd16(ip + 4) != len - WEIR_IPV6_HDR_LEN)
		return GRO_OPAQUE;
	switch (ip[6]) {
	case WEIR_IPPROTO_TCP:
		break;
	case WEIR_IPV6_NEXT_HOPOPTS:
	case WEIR_IPV6_NEXT_ROUTING:
	case WEIR_IPV6_NEXT_FRAGMENT:
	case WEIR_IPV6_NEXT_DSTOPTS:
	case WEIR_IPV6_NEXT_ESP:
	case WEIR_IPV6_NEXT_AH:
		return GRO_OPAQUE; /* TCP may be behind it */
	default:
		return GRO_OTHER;
	}
	h->ipv = 6;
	h->l3_len = WEIR_IPV6_HDR_LEN;
	return GRO_CAND;
}

/* What p is to GRO, with its headers in h for GRO_SOLO and GRO_CAND. */
static enum gro_kind gro_parse(struct weir_pkt *p, struct gro_hdr *h)
{
	uint32_t len = p->data_len, l4, ip_len;
	/* Only single frames in one buffer merge; chains and super-frames
	 * (a TSO sender's) are parsed for their flow only. */
	bool whole = p->nb_segs == 1 && !weir_pkt_is_gso(p);
	uint16_t type;
	enum gro_kind k;
	uint8_t *th;

	h->d = weir_pkt_data(p);
	type = gro_l2(h->d, len, &h->l2_len);
	if (type != WEIR_ETHER_TYPE_IPV4 && type != WEIR_ETHER_TYPE_IPV6)
		return GRO_OTHER;
	ip_len = whole ? len - h->l2_len : 0;
	k = type == WEIR_ETHER_TYPE_IPV4 ? gro_ipv4(h->d + h->l2_len, len - h->l2_len, ip_len, h)
					 : gro_ipv6(h->d + h->l2_len, len - h->l2_len, ip_len, h);
	if (k != GRO_CAND)
		return k;
	l4 = (uint32_t)h->l2_len + h->l3_len;
	if (len < l4 + WEIR_TCP_HDR_LEN)
		return GRO_OPAQUE;
	th = h->d + l4;
	h->thlen = (uint16_t)((th[12] >> 4) * 4);
	if (h->thlen < WEIR_TCP_HDR_LEN || len < l4 + h->thlen)
		return GRO_OPAQUE;
	h->plen = (uint16_t)(len - l4 - h->thlen);
	h->flags = th[13];
	h->seq = ol_get32(th + 4);
	if (!whole || h->plen == 0 || (h->flags & (WEIR_TCP_SYN | WEIR_TCP_RST | WEIR_TCP_URG)))
		return GRO_SOLO;
	/* The headers are rewritten (head) or dropped (the rest): both need
	 * the packet to be the caller's alone. */
	if (weir_pkt_refcnt(p) != 1 || (p->flags & WEIR_PKT_F_INDIRECT))
		return GRO_SOLO;
	if ((p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) &&
	    (p->csum_start != l4 || p->csum_offset != offsetof(struct weir_tcp_hdr, check)))
		return GRO_SOLO;
	return GRO_CAND;
}

static uint32_t gro_pseudo(const struct gro_hdr *h, uint32_t l4_len)
{
	const uint8_t *ip = h->d + h->l2_len;

	if (h->ipv == 4)
		return weir_csum_pseudo_ipv4(ip + 12, ip + 16, WEIR_IPPROTO_TCP, l4_len);
	return weir_csum_pseudo_ipv6(ip + 8, ip + 24, WEIR_IPPROTO_TCP, l4_len);
}

/* True when the segment's TCP checksum is known good; verifies it in
 * software when nobody has. */
static bool gro_csum_ok(struct weir_pkt *p, const struct gro_hdr *h, struct weir_gro_stats *st)
{
	uint32_t l4_len = (uint32_t)h->thlen + h->plen;
	const uint8_t *l4 = h->d + h->l2_len + h->l3_len;

	if (p->ol_flags & (WEIR_PKT_OL_CSUM_VALID | WEIR_PKT_OL_CSUM_PARTIAL))
		return true;
	st->csum_verified++;
	if (weir_csum_fold(weir_csum_add(gro_pseudo(h, l4_len), l4, l4_len)) == 0xffff) {
		p->ol_flags |= WEIR_PKT_OL_CSUM_VALID;
		return true;
	}
	st->csum_bad++;
	return false;
}

/* Same flow: same L2 header, addresses and ports. */
static bool gro_same_flow(const struct gro_hdr *a, const struct gro_hdr *b)
{
	uint32_t addr_off = a->ipv == 4 ? 12 : 8, addr_len = a->ipv == 4 ? 8 : 32;
	const uint8_t *ia = a->d + a->l2_len, *ib = b->d + b->l2_len;

	return a->ipv == b->ipv && a->l2_len == b->l2_len &&
	       !memcmp(ia + a->l3_len, ib + b->l3_len, 4) &&
	       !memcmp(ia + addr_off, ib + addr_off, addr_len) && !memcmp(a->d, b->d, a->l2_len);
}

/* Linux's rules for appending segment s to flow f (see the top). */
static bool gro_can_append(const struct gro_flow *f, const struct gro_hdr *s)
{
	const struct gro_hdr *h = &f->h;
	const uint8_t *ih = h->d + h->l2_len, *is = s->d + s->l2_len;
	const uint8_t *th = ih + h->l3_len, *ts = is + s->l3_len;
	uint32_t l3 = (h->ipv == 4 ? WEIR_IPV4_HDR_LEN : 0) + h->thlen + f->payload + s->plen;

	if (h->ipv == 4) {
		/* TOS, TTL, DF (and the reserved flag: segmenting copies the
		 * first's); the id one up from the last one. */
		if (ih[1] != is[1] || ih[8] != is[8] || ih[6] != is[6] ||
		    rd16(is + 4) != f->next_id)
			return false;
	} else if (memcmp(ih, is, 4) || ih[7] != is[7]) {
		return false; /* traffic class, flow label, hop limit */
	}
	/* ACK number, then data offset and window with the flags apart from
	 * PSH, FIN and CWR (tcp_flag_word), no CWR on a follower, the urgent
	 * pointer (meaningless without URG, which never merges, but Linux's
	 * segmenting would copy the first's over it), then the options byte
	 * for byte. */
	if (memcmp(th + 8, ts + 8, 4) || th[12] != ts[12] || memcmp(th + 14, ts + 14, 2) ||
	    memcmp(th + 18, ts + 18, 2) ||
	    ((h->flags ^ s->flags) & (uint8_t)~(WEIR_TCP_PSH | WEIR_TCP_FIN | WEIR_TCP_CWR)) ||
	    (s->flags & WEIR_TCP_CWR) ||
	    memcmp(th + WEIR_TCP_HDR_LEN, ts + WEIR_TCP_HDR_LEN, h->thlen - WEIR_TCP_HDR_LEN))
		return false;
	return s->seq == f->next_seq && s->plen <= h->plen && l3 <= WEIR_GRO_MAX_LEN &&
	       f->nseg < WEIR_PKT_MAX_SEGS;
}

/* A segment after which nothing may be appended. */
static bool gro_ends(const struct gro_flow *f, const struct gro_hdr *s)
{
	return (s->flags & (WEIR_TCP_PSH | WEIR_TCP_FIN)) || s->plen < f->h.plen;
}

/* Turns the head of a flow with more than one segment into a super-frame:
 * IP length (and IPv4 header checksum), TCP flags, partial checksum, GSO
 * metadata. */
static void gro_finish(struct gro_flow *f, struct weir_gro_stats *st)
{
	struct weir_pkt *p = f->head;
	const struct gro_hdr *h = &f->h;
	uint8_t *ip = h->d + h->l2_len, *th = ip + h->l3_len;
	uint32_t l4_len = h->thlen + f->payload;
	uint16_t ck;

	if (f->nseg < 2)
		return;
	if (h->ipv == 4) {
		ol_put16(ip + 2, (uint16_t)(WEIR_IPV4_HDR_LEN + l4_len));
		memset(ip + 10, 0, 2);
		ck = (uint16_t)~weir_csum_fold(weir_csum_add(0, ip, WEIR_IPV4_HDR_LEN));
		memcpy(ip + 10, &ck, 2);
	} else {
		ol_put16(ip + 4, (uint16_t)l4_len);
	}
	th[13] = f->h.flags;
	ck = weir_csum_fold(gro_pseudo(h, l4_len));
	memcpy(th + offsetof(struct weir_tcp_hdr, check), &ck, 2);
	p->ol_flags = (uint16_t)((p->ol_flags & ~WEIR_PKT_OL_CSUM_VALID) | WEIR_PKT_OL_CSUM_PARTIAL);
	p->csum_start = (uint16_t)(h->l2_len + h->l3_len);
	p->csum_offset = offsetof(struct weir_tcp_hdr, check);
	p->gso_type = h->ipv == 4 ? WEIR_PKT_GSO_TCPV4 : WEIR_PKT_GSO_TCPV6;
	/* tcp_gro_complete(): a train that starts with CWR says so. */
	if (h->flags & WEIR_TCP_CWR)
		p->gso_type |= WEIR_PKT_GSO_ECN;
	p->gso_size = h->plen;
	p->hdr_len = (uint16_t)(h->l2_len + h->l3_len + h->thlen);
	p->l2_len = h->l2_len;
	p->l3_len = h->l3_len;
	p->l4_proto = WEIR_IPPROTO_TCP;
	st->frames++;
	st->segs += f->nseg;
}

/* Chains segment p (headers pulled off) to flow f. */
static void gro_append(struct gro_flow *f, struct weir_pkt *p, const struct gro_hdr *s)
{
	uint16_t hlen = (uint16_t)(s->l2_len + s->l3_len + s->thlen);

	weir_pkt_pull(p, hlen);
	p->pkt_len = p->data_len;
	f->last->next = p;
	f->last = p;
	f->head->nb_segs++;
	f->head->pkt_len += p->data_len;
	f->h.flags |= s->flags & (WEIR_TCP_PSH | WEIR_TCP_FIN);
	f->next_seq += s->plen;
	f->next_id++;
	f->payload += s->plen;
	f->nseg++;
}

struct gro_table {
	struct gro_flow flow[WEIR_GRO_FLOWS];
	unsigned nflows;
	struct weir_gro_stats *st;
};

static void table_close(struct gro_table *t, unsigned i)
{
	gro_finish(&t->flow[i], t->st);
	t->flow[i] = t->flow[--t->nflows];
}

static void table_open(struct gro_table *t, struct weir_pkt *p, const struct gro_hdr *h)
{
	struct gro_flow *f;

	if (t->nflows == WEIR_GRO_FLOWS)
		table_close(t, 0); /* the oldest but one moves to 0: good enough */
	f = &t->flow[t->nflows++];
	f->head = f->last = p;
	f->h = *h;
	f->next_seq = h->seq + h->plen;
	f->payload = h->plen;
	f->nseg = 1;
	f->next_id = h->ipv == 4 ? (uint16_t)(rd16(h->d + h->l2_len + 4) + 1) : 0;
	f->verified = false;
}

/* Takes candidate p with headers s: true when it was appended to a flow
 * (no longer a packet of its own). */
static bool table_take(struct gro_table *t, struct weir_pkt *p, const struct gro_hdr *s)
{
	bool end;

	for (unsigned i = 0; i < t->nflows; i++) {
		struct gro_flow *f = &t->flow[i];

		if (!gro_same_flow(&f->h, s))
			continue;
		if (gro_can_append(f, s) && (f->verified || gro_csum_ok(f->head, &f->h, t->st))) {
			f->verified = true;
			if (!gro_csum_ok(p, s, t->st)) {
				table_close(t, i);
				return false; /* passes as it came, for the receiver to drop */
			}
			end = gro_ends(f, s);
			gro_append(f, p, s);
			if (end)
				table_close(t, i);
			return true;
		}
		/* In order per flow: whatever comes next starts afresh. */
		table_close(t, i);
		break;
	}
	/* A train may start with CWR but not with PSH or FIN (Linux flushes
	 * those at once: nothing could follow). */
	if (!(s->flags & (WEIR_TCP_PSH | WEIR_TCP_FIN)))
		table_open(t, p, s);
	return false;
}

uint16_t weir_gro_burst(struct weir_pkt **pkts, uint16_t n, struct weir_gro_stats *st)
{
	struct gro_table t = {.nflows = 0, .st = st};
	uint16_t w = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct weir_pkt *p = pkts[i];
		struct gro_hdr h;

		switch (gro_parse(p, &h)) {
		case GRO_OTHER:
			break;
		case GRO_OPAQUE:
			while (t.nflows)
				table_close(&t, 0);
			break;
		case GRO_SOLO:
			for (unsigned j = 0; j < t.nflows; j++) {
				if (gro_same_flow(&t.flow[j].h, &h)) {
					table_close(&t, j);
					break;
				}
			}
			break;
		case GRO_CAND:
			if (table_take(&t, p, &h))
				continue;
			break;
		}
		pkts[w++] = p;
	}
	while (t.nflows)
		table_close(&t, 0);
	return w;
}
