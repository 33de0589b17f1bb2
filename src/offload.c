// SPDX-License-Identifier: BSD-3-Clause
/*
 * Reading a frame's headers for the offloads (Ethernet, VLAN, IPv4, IPv6,
 * TCP, UDP), and completing partial checksums that arrive without
 * metadata. Frame bytes are untrusted: every header is copied out of the
 * packet with weir_pkt_copy_out() (bounded by pkt_len, across segments, any
 * alignment) into a proto/ struct before a field is looked at, and every
 * length from a header is checked before it is used. Only headers are
 * read; a payload is summed only when a checksum is completed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "offload_internal.h"
#include "weir/offload.h"
#include "weir/proto/ether.h"
#include "weir/proto/ipv4.h"
#include "weir/proto/ipv6.h"
#include "weir/proto/tcp.h"
#include "weir/proto/udp.h"

/* IPv6 extension headers skipped at most, and their bytes: enough for
 * what hosts send (a hop-by-hop or destination option or two), bounded so
 * headers fit WEIR_GSO_HDR_MAX. */
#define IPV6_EXT_MAX 4
#define IPV6_EXT_BYTES 128

static_assert(WEIR_ETHER_HDR_LEN + WEIR_VLAN_MAX_TAGS * WEIR_VLAN_HDR_LEN + WEIR_IPV6_HDR_LEN +
			      IPV6_EXT_BYTES + WEIR_TCP_HDR_MAX <= WEIR_GSO_HDR_MAX,
	      "the longest header weir parses fits WEIR_GSO_HDR_MAX");
static_assert(WEIR_ETHER_HDR_LEN + WEIR_VLAN_MAX_TAGS * WEIR_VLAN_HDR_LEN + WEIR_IPV4_HDR_MAX +
			      WEIR_TCP_HDR_MAX <= WEIR_GSO_HDR_MAX,
	      "the longest IPv4 header fits WEIR_GSO_HDR_MAX");

/* Ethernet and up to two VLAN tags: the EtherType, or -EINVAL. */
static int parse_l2(const struct weir_pkt *p, struct ol_hdrs *h)
{
	struct weir_ether_hdr eth;
	struct weir_vlan_hdr vh;
	uint16_t type;

	if (weir_pkt_copy_out(p, 0, sizeof(eth), &eth))
		return -EINVAL;
	type = ntohs(eth.type);
	h->l2_len = WEIR_ETHER_HDR_LEN;
	for (int tags = 0; tags < WEIR_VLAN_MAX_TAGS && weir_ether_type_is_vlan(type); tags++) {
		if (weir_pkt_copy_out(p, h->l2_len, sizeof(vh), &vh))
			return -EINVAL;
		type = ntohs(vh.type);
		h->l2_len += WEIR_VLAN_HDR_LEN;
	}
	return type;
}

static int parse_ipv4(const struct weir_pkt *p, struct ol_hdrs *h)
{
	struct weir_ipv4_hdr ip;
	unsigned ihl;

	if (weir_pkt_copy_out(p, h->l2_len, sizeof(ip), &ip) || ip.ver_ihl >> 4 != 4)
		return -EINVAL;
	ihl = weir_ipv4_hdr_len(&ip);
	if (ihl < WEIR_IPV4_HDR_LEN || (uint32_t)h->l2_len + ihl > p->pkt_len)
		return -EINVAL;
	/* A fragment is not a whole L4 datagram: its checksum covers bytes
	 * that are elsewhere, and only the first one has ports. */
	if (ntohs(ip.frag_off) & (WEIR_IPV4_MF | WEIR_IPV4_OFFMASK))
		return -EPROTONOSUPPORT;
	h->ipv = 4;
	h->l3_len = (uint16_t)ihl;
	h->l4_proto = ip.proto;
	h->ip_end = ip.tot_len ? (uint32_t)h->l2_len + ntohs(ip.tot_len) : 0;
	h->addr_sum = weir_csum_combine(weir_csum_add(0, ip.saddr, 4), weir_csum_add(0, ip.daddr, 4));
	return 0;
}

static int parse_ipv6(const struct weir_pkt *p, struct ol_hdrs *h)
{
	struct weir_ipv6_hdr ip;
	struct weir_ipv6_opt_hdr opt;
	uint32_t off = (uint32_t)h->l2_len + WEIR_IPV6_HDR_LEN;
	uint8_t next;

	if (weir_pkt_copy_out(p, h->l2_len, sizeof(ip), &ip) || ip.vtc_flow[0] >> 4 != 6)
		return -EINVAL;
	next = ip.next;
	for (int i = 0; next == WEIR_IPV6_NEXT_HOPOPTS || next == WEIR_IPV6_NEXT_DSTOPTS; i++) {
		/* Hop-by-hop only first (RFC 8200 §4.3); no endless chains. */
		if ((next == WEIR_IPV6_NEXT_HOPOPTS && i > 0) || i == IPV6_EXT_MAX)
			return -EINVAL;
		if (weir_pkt_copy_out(p, off, sizeof(opt), &opt))
			return -EINVAL;
		off += (opt.len + 1u) * 8;
		if (off - h->l2_len - WEIR_IPV6_HDR_LEN > IPV6_EXT_BYTES)
			return -EPROTONOSUPPORT;
		if (off > p->pkt_len)
			return -EINVAL;
		next = opt.next;
	}
	/* A routing header changes the pseudo-header's destination, a
	 * fragment header splits the datagram, ESP/AH hide or sign it. */
	if (next == WEIR_IPV6_NEXT_ROUTING || next == WEIR_IPV6_NEXT_FRAGMENT ||
	    next == WEIR_IPV6_NEXT_ESP || next == WEIR_IPV6_NEXT_AH)
		return -EPROTONOSUPPORT;
	h->ipv = 6;
	h->l3_len = (uint16_t)(off - h->l2_len);
	h->l4_proto = next;
	/* payload_len 0 is a jumbogram: the length is in an option. */
	h->ip_end = ip.payload_len ? h->l2_len + WEIR_IPV6_HDR_LEN + ntohs(ip.payload_len) : 0;
	h->addr_sum = weir_csum_combine(weir_csum_add(0, ip.saddr, 16),
					weir_csum_add(0, ip.daddr, 16));
	return 0;
}

static int parse_l4(const struct weir_pkt *p, struct ol_hdrs *h)
{
	uint32_t off = ol_l4_off(h);

	if (h->l4_proto == WEIR_IPPROTO_TCP) {
		struct weir_tcp_hdr th;

		if (weir_pkt_copy_out(p, off, sizeof(th), &th))
			return -EINVAL;
		h->l4_hlen = (uint16_t)weir_tcp_hdr_len(&th);
		h->csum_off = offsetof(struct weir_tcp_hdr, check);
		if (h->l4_hlen < WEIR_TCP_HDR_LEN || off + h->l4_hlen > p->pkt_len)
			return -EINVAL;
	} else if (h->l4_proto == WEIR_IPPROTO_UDP) {
		if (off + WEIR_UDP_HDR_LEN > p->pkt_len)
			return -EINVAL;
		h->l4_hlen = WEIR_UDP_HDR_LEN;
		h->csum_off = offsetof(struct weir_udp_hdr, check);
	}
	return 0;
}

int ol_parse(const struct weir_pkt *p, struct ol_hdrs *h)
{
	int type, err;

	memset(h, 0, sizeof(*h));
	type = parse_l2(p, h);
	if (type < 0)
		return type;
	if (type == WEIR_ETHER_TYPE_IPV4)
		err = parse_ipv4(p, h);
	else if (type == WEIR_ETHER_TYPE_IPV6)
		err = parse_ipv6(p, h);
	else
		err = -EPROTONOSUPPORT;
	return err ? err : parse_l4(p, h);
}

uint32_t ol_pseudo(const struct ol_hdrs *h, uint32_t l4_len)
{
	/* As weir_csum_pseudo_ipv4/6 with the address sum already made: the
	 * pseudo-header's tail is the same for both (see csum.c). */
	uint32_t tail = weir_csum_combine(htonl(h->l4_proto), htonl(l4_len));

	return weir_csum_combine(h->addr_sum, tail);
}

int ol_gso_check(const struct weir_pkt *p, const struct ol_hdrs *h)
{
	switch (p->gso_type & ~WEIR_PKT_GSO_ECN) {
	case WEIR_PKT_GSO_TCPV4:
		return h->ipv == 4 && h->l4_proto == WEIR_IPPROTO_TCP ? 0 : -EINVAL;
	case WEIR_PKT_GSO_TCPV6:
		return h->ipv == 6 && h->l4_proto == WEIR_IPPROTO_TCP ? 0 : -EINVAL;
	case WEIR_PKT_GSO_UDP_L4:
		return h->l4_proto == WEIR_IPPROTO_UDP ? 0 : -EINVAL;
	case WEIR_PKT_GSO_UDP:
		return -EPROTONOSUPPORT;
	default:
		return -EINVAL;
	}
}

int weir_pkt_offload_parse(struct weir_pkt *p)
{
	struct ol_hdrs h;
	int err;

	if (weir_pkt_is_gso(p) && (p->gso_type & ~WEIR_PKT_GSO_ECN) == WEIR_PKT_GSO_UDP)
		return -EPROTONOSUPPORT;
	err = ol_parse(p, &h);
	if (!err && weir_pkt_is_gso(p))
		err = ol_gso_check(p, &h);
	if (err)
		return err;
	if (weir_pkt_is_gso(p))
		p->hdr_len = (uint16_t)ol_hdr_len(&h);
	p->l2_len = h.l2_len;
	p->l3_len = h.l3_len;
	p->l4_proto = h.l4_proto;
	return 0;
}

/*
 * Why completing a valid checksum that equals the pseudo-header sum leaves
 * it as it was. All sums are ones'-complement, i.e. modulo 0xffff, where
 * 0x0000 and 0xffff are the same number (zero).
 *   P: the folded pseudo-header sum, never 0x0000 (weir_csum_fold() of a
 *      non-zero sum; the protocol number alone makes it non-zero), so
 *      P is in [1, 0xffff].
 *   D: the sum of the L4 bytes with the checksum field zeroed.
 *   C: the field's value. Valid means P + D + C == 0 (mod 0xffff).
 * Completing sums the L4 bytes with the field in place, S = D + C, and
 * stores C' = ~fold(S), which is -S (mod 0xffff). If C == P and C is
 * valid:  C' == -(D + C) == P == C  (mod 0xffff), using P + D + C == 0.
 * So C' and C are the same number; as 16-bit values they could differ
 * only as 0x0000 against 0xffff. C' = ~fold(S) with fold(S) in [1, 0xffff]
 * (S != 0 since C == P != 0) is in [0, 0xfffe], and C == P is in
 * [1, 0xffff]: they differ only when C == 0xffff and C' == 0x0000.
 *   - UDP stores a computed 0 as 0xffff: C' == C, unchanged.
 *   - TCP: a sender computing ~fold(sum) never writes 0xffff (fold of a
 *     non-zero sum is never 0), so C == 0xffff comes only from a sender
 *     that wrote the other zero; it becomes 0x0000, which is just as
 *     valid (receivers sum the field in, RFC 1624 §3).
 * Tests: offload::fix_partial_keeps_valid_checksum_equal_to_pseudo_sum
 * (the common case) and ..._ffff (both cases of C == 0xffff).
 */
int weir_pkt_csum_fix_partial(struct weir_pkt *p)
{
	struct ol_hdrs h;
	uint32_t l4_off, end;
	uint16_t field, pseudo;
	uint8_t b[2];
	int err;

	if (weir_pkt_is_gso(p) || (p->ol_flags & WEIR_PKT_OL_CSUM_VALID))
		return 0;
	if (p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) {
		err = weir_pkt_csum_complete(p);
		return err == -EPERM ? err : !err;
	}
	if (ol_parse(p, &h) || !h.l4_hlen)
		return 0;
	l4_off = ol_l4_off(&h);
	end = h.ip_end;
	/* Sum what the IP length says, not Ethernet padding after it. */
	if (end < l4_off + h.l4_hlen || end > p->pkt_len)
		return 0;
	if (h.l4_proto == WEIR_IPPROTO_UDP) {
		uint16_t ulen;

		weir_pkt_copy_out(p, l4_off + offsetof(struct weir_udp_hdr, len), 2, b);
		ulen = ol_get16(b);
		if (ulen < WEIR_UDP_HDR_LEN || ulen > end - l4_off)
			return 0;
		end = l4_off + ulen;
	}
	/* An IPv4 UDP checksum of 0 (none) never matches: pseudo is not 0. */
	weir_pkt_copy_out(p, l4_off + h.csum_off, 2, &field);
	pseudo = weir_csum_fold(ol_pseudo(&h, end - l4_off));
	if (field != pseudo)
		return 0;
	err = ol_csum_store(p, l4_off, end, l4_off + h.csum_off, h.l4_proto == WEIR_IPPROTO_UDP);
	if (err)
		return err == -EPERM ? err : 0;
	p->ol_flags |= WEIR_PKT_OL_CSUM_VALID;
	return 1;
}
