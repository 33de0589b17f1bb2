// SPDX-License-Identifier: BSD-3-Clause
/*
 * What qdiscs read from and write to packet bytes: the flow hash (the
 * sfq/fq_codel classifier), the TOS byte (prio's DSCP classifier) and ECN
 * marking. Packet bytes are untrusted: every header is fetched with
 * weir_pkt_read() (bounded by pkt_len, across segments), lengths from the
 * headers are checked before use, and anything unparsable simply hashes on
 * what was read so far.
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

static inline uint32_t rotl32(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static inline uint32_t mix(uint32_t h, uint32_t w)
{
	w *= 0xcc9e2d51u;
	w = rotl32(w, 15);
	w *= 0x1b873593u;
	h ^= w;
	h = rotl32(h, 13);
	return h * 5 + 0xe6546b64u;
}

static inline uint32_t fmix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static uint32_t hash_bytes(uint32_t h, const uint8_t *b, uint32_t n)
{
	uint32_t w;

	for (; n >= 4; n -= 4, b += 4) {
		memcpy(&w, b, 4);
		h = mix(h, w);
	}
	if (n) {
		w = 0;
		memcpy(&w, b, n);
		h = mix(h, w);
	}
	return h;
}

static uint32_t compute_hash(const struct weir_pkt *p)
{
	struct l3_loc loc = find_l3(p);
	uint8_t buf[40];
	const uint8_t *b;
	uint32_t h = 0x5eed, l4off;
	uint8_t proto;

	if (loc.proto == WEIR_ETHER_TYPE_IPV4) {
		uint32_t ihl;

		b = weir_pkt_read(p, loc.off, 20, buf);
		if (!b || (b[0] >> 4) != 4)
			goto l2;
		ihl = (uint32_t)(b[0] & 0xf) * 4;
		proto = b[9];
		h = hash_bytes(h, b + 12, 8); /* saddr, daddr */
		h = mix(h, proto);
		/* Fragments after the first carry no ports: hash addresses only,
		 * so all fragments of a datagram stay in one flow. */
		if (ihl < 20 || (b[6] & 0x3f) || b[7])
			return fmix(h);
		l4off = loc.off + ihl;
	} else if (loc.proto == WEIR_ETHER_TYPE_IPV6) {
		b = weir_pkt_read(p, loc.off, 40, buf);
		if (!b || (b[0] >> 4) != 6)
			goto l2;
		proto = b[6];
		h = hash_bytes(h, b + 8, 32);
		/* Flow label: a sender's own flow identity. */
		h = mix(h, (uint32_t)(b[1] & 0xf) << 16 | (uint32_t)b[2] << 8 | b[3]);
		h = mix(h, proto);
		l4off = loc.off + 40;
	} else {
		goto l2;
	}
	if (proto == 6 || proto == 17 || proto == 132 || proto == 136) {
		b = weir_pkt_read(p, l4off, 4, buf);
		if (b)
			h = hash_bytes(h, b, 4);
	}
	return fmix(h);
l2:
	/* Not IP: the MAC addresses and EtherType are the flow. */
	b = weir_pkt_read(p, 0, 14, buf);
	if (b)
		h = hash_bytes(h, b, 14);
	return fmix(h);
}

uint32_t qd_flow_hash(struct weir_pkt *p, uint32_t perturb)
{
	uint32_t h = p->hash;

	if (!h) {
		h = compute_hash(p);
		if (!h)
			h = 1;
		p->hash = h;
	}
	return perturb ? fmix(h ^ perturb) : h;
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
