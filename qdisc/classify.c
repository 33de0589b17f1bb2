// SPDX-License-Identifier: BSD-3-Clause
/*
 * What qdiscs read from and write to packet bytes: the flow hash (the
 * sfq/fq_codel classifier), the TOS byte (prio's DSCP classifier) and ECN
 * marking. Packet bytes are untrusted: every header is fetched with
 * weir_pkt_read() (bounded by pkt_len, across segments), lengths from the
 * headers are checked before use, and anything unparsable simply hashes on
 * what was read so far. The flow hash is keyed (SipHash-1-3, one key per
 * qdisc), because whoever picks the tuples must not pick the collisions.
 */
#include <arpa/inet.h>
#include <string.h>

#include "qdisc_internal.h"
#include "weir/proto/ether.h"

struct l3_loc {
	uint32_t off;   /* start of the IP header */
	uint16_t proto; /* WEIR_ETHER_TYPE_IPV4 or _IPV6, 0 when neither */
};

/* Skips Ethernet and up to two VLAN tags. */
static struct l3_loc find_l3(const struct weir_pkt *p)
{
	struct l3_loc loc = { 0, 0 };
	uint8_t buf[4];
	const uint8_t *b = weir_pkt_read(p, 12, 2, buf);
	uint16_t type;
	uint32_t off = WEIR_ETHER_HDR_LEN;

	if (!b)
		return loc;
	type = (uint16_t)(b[0] << 8 | b[1]);
	for (int tags = 0; tags < WEIR_VLAN_MAX_TAGS && weir_ether_type_is_vlan(type); tags++) {
		b = weir_pkt_read(p, off + 2, 2, buf);
		if (!b)
			return loc;
		type = (uint16_t)(b[0] << 8 | b[1]);
		off += 4;
	}
	if (type == WEIR_ETHER_TYPE_IPV4 || type == WEIR_ETHER_TYPE_IPV6) {
		loc.off = off;
		loc.proto = type;
	}
	return loc;
}

/*
 * What identifies a flow, gathered before it is hashed, so the whole tuple
 * goes through the keyed hash at once: a sender who does not know the key
 * cannot tell which tuples share a bucket. The kind byte keeps an IPv4
 * tuple from equalling some Ethernet header.
 */
enum { FT_L2 = 1, FT_IPV4, FT_IPV4_FRAG, FT_IPV6 };

struct flow_tuple {
	uint8_t b[1 + 32 + 3 + 1 + 4]; /* kind, IPv6 addresses, label, proto, ports */
	uint32_t n;
};

static void ft_add(struct flow_tuple *t, const uint8_t *b, uint32_t n)
{
	memcpy(t->b + t->n, b, n);
	t->n += n;
}

/* The tuple's IP part; returns the L4 offset, or 0 when there is no L4
 * header to read (a later fragment) or -1 when the header is no IP. */
static int64_t ip_tuple(const struct weir_pkt *p, struct l3_loc loc, struct flow_tuple *t,
			uint8_t *proto)
{
	uint8_t buf[40];
	const uint8_t *b;

	if (loc.proto == WEIR_ETHER_TYPE_IPV4) {
		uint32_t ihl;

		b = weir_pkt_read(p, loc.off, 20, buf);
		if (!b || (b[0] >> 4) != 4)
			return -1;
		ihl = (uint32_t)(b[0] & 0xf) * 4;
		*proto = b[9];
		/* Fragments after the first carry no ports: hash addresses only,
		 * so all fragments of a datagram stay in one flow. */
		t->b[t->n++] = (ihl < 20 || (b[6] & 0x3f) || b[7]) ? FT_IPV4_FRAG : FT_IPV4;
		ft_add(t, b + 12, 8); /* saddr, daddr */
		ft_add(t, proto, 1);
		return t->b[0] == FT_IPV4 ? loc.off + ihl : 0;
	}
	if (loc.proto != WEIR_ETHER_TYPE_IPV6)
		return -1;
	b = weir_pkt_read(p, loc.off, 40, buf);
	if (!b || (b[0] >> 4) != 6)
		return -1;
	*proto = b[6];
	t->b[t->n++] = FT_IPV6;
	ft_add(t, b + 8, 32);
	/* Flow label: a sender's own flow identity. */
	t->b[t->n++] = b[1] & 0xf;
	ft_add(t, b + 2, 2);
	ft_add(t, proto, 1);
	return loc.off + 40;
}

static void flow_tuple(const struct weir_pkt *p, struct flow_tuple *t)
{
	uint8_t buf[14], proto = 0;
	const uint8_t *b;
	int64_t l4off;

	t->n = 0;
	l4off = ip_tuple(p, find_l3(p), t, &proto);
	if (l4off > 0) {
		if (proto == 6 || proto == 17 || proto == 132 || proto == 136) {
			b = weir_pkt_read(p, (uint32_t)l4off, 4, buf);
			if (b)
				ft_add(t, b, 4);
		}
		return;
	}
	if (l4off == 0)
		return;
	/* Not IP: the MAC addresses and EtherType are the flow. */
	t->n = 0;
	t->b[t->n++] = FT_L2;
	b = weir_pkt_read(p, 0, 14, buf);
	if (b)
		ft_add(t, b, 14);
}

uint32_t qd_flow_hash(const struct weir_pkt *p, const struct weir_hash_key *key)
{
	struct flow_tuple t;

	/* A driver's hash (the kernel's, keyed at boot) stands for the tuple;
	 * keying it again gives this qdisc its own split. */
	if (p->hash)
		return (uint32_t)weir_siphash13(key, &p->hash, sizeof(p->hash));
	flow_tuple(p, &t);
	return (uint32_t)weir_siphash13(key, t.b, t.n);
}

int qd_pkt_tos(const struct weir_pkt *p)
{
	struct l3_loc loc = find_l3(p);
	uint8_t buf[2];
	const uint8_t *b;

	if (!loc.proto)
		return -1;
	b = weir_pkt_read(p, loc.off, 2, buf);
	if (!b)
		return -1;
	if (loc.proto == WEIR_ETHER_TYPE_IPV4)
		return (b[0] >> 4) == 4 ? b[1] : -1;
	return (b[0] >> 4) == 6 ? ((b[0] & 0xf) << 4 | b[1] >> 4) : -1;
}

bool qd_ecn_set_ce(struct weir_pkt *p)
{
	struct l3_loc loc = find_l3(p);
	uint8_t *h;

	/* Writable only when the header lies in our own first segment. */
	if (!loc.proto || (p->flags & WEIR_PKT_F_INDIRECT) || weir_pkt_refcnt(p) != 1)
		return false;
	if (loc.proto == WEIR_ETHER_TYPE_IPV4) {
		uint16_t old, new, ck;
		uint32_t sum;
		uint8_t tos;

		if (loc.off + 20 > p->data_len)
			return false;
		h = weir_pkt_data(p) + loc.off;
		if ((h[0] >> 4) != 4)
			return false;
		tos = h[1];
		if ((tos & 3) == 0)
			return false; /* Not-ECT */
		if ((tos & 3) == 3)
			return true;
		/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), on the 16-bit word
		 * holding version/IHL and TOS. */
		old = (uint16_t)(h[0] << 8 | tos);
		new = (uint16_t)(h[0] << 8 | (tos | 3));
		ck = (uint16_t)(h[10] << 8 | h[11]);
		sum = (uint16_t)~ck + (uint16_t)~old + (uint32_t)new;
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		ck = (uint16_t)~sum;
		h[1] = tos | 3;
		h[10] = (uint8_t)(ck >> 8);
		h[11] = (uint8_t)ck;
		return true;
	}
	if (loc.off + 2 > p->data_len)
		return false;
	h = weir_pkt_data(p) + loc.off;
	if ((h[0] >> 4) != 6)
		return false;
	/* ECN bits are the low two of the traffic class: bits 4-5 of byte 1. */
	if (((h[1] >> 4) & 3) == 0)
		return false;
	h[1] |= 3 << 4;
	return true;
}

uint32_t qd_pktq_purge(struct qd_pktq *l)
{
	uint32_t n = 0;
	struct weir_pkt *p;

	while ((p = qd_pktq_pop(l))) {
		weir_pkt_free(p);
		n++;
	}
	return n;
}
