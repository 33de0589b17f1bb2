// SPDX-License-Identifier: BSD-3-Clause
/*
 * IPv4 (RFC 791, host requirements of RFC 1122 §3.2.1): validating what
 * comes in, handing fragments to reassembly (frag.c) and datagrams to
 * ICMP or UDP; routing, building and fragmenting what goes out.
 *
 * Receive checks, each counted: a whole 20-byte header, version 4, IHL of
 * at least 5 words, a total length between the header length and the
 * frame's, the header checksum; Ethernet padding beyond the total length
 * is cut. Options are skipped (IHL says how far), never interpreted. A
 * datagram must come from a plausible host (not multicast, broadcast,
 * loopback, 0/8 or one of our own addresses) and go to one of our
 * addresses, a broadcast or a multicast group.
 *
 * Send. A datagram that fits the MTU gets its header pushed in front (into
 * headroom reserved by the L4 layer). A larger one leaves as fragments,
 * each a fresh header segment chained in front of a slice (indirect
 * segments, sk_clone_range) of the original: the payload is never copied
 * and stays pinned until the last fragment is sent. DF is not set on what
 * we send, so a smaller MTU on the path fragments rather than drops.
 */
#include <errno.h>

#include "frag_internal.h"
#include "stack_internal.h"
#include "weir/offload.h"
#include "weir/proto/icmp.h"
#include "weir/proto/udp.h"

void sk_ipv4_set_csum(uint8_t *h, unsigned ihl)
{
	uint16_t ck = 0;

	memcpy(h + offsetof(struct weir_ipv4_hdr, check), &ck, 2);
	ck = (uint16_t)~weir_csum_fold(weir_csum_add(0, h, ihl));
	memcpy(h + offsetof(struct weir_ipv4_hdr, check), &ck, 2);
}

static bool martian_source(const struct weir_stack *st, const struct sk_iface *ifc, uint32_t a)
{
	return sk_addr_is_mcast(a) || sk_addr_is_bcast(ifc, a) || (a >> 24) == 127 ||
	       (a >> 24) == 0 || sk_addr_is_local(st, a);
}

/* Reads and checks the header: 0, or -1 with the reason counted. */
static int validate(struct weir_stack *st, struct weir_pkt *p, struct weir_ipv4_hdr *ip,
		    unsigned *ihl)
{
	unsigned tot;

	if (weir_pkt_copy_out(p, 0, sizeof(*ip), ip)) {
		st->st.ip_rx_short++;
		return -1;
	}
	if (ip->ver_ihl >> 4 != 4) {
		st->st.ip_rx_version++;
		return -1;
	}
	*ihl = weir_ipv4_hdr_len(ip);
	if (*ihl < WEIR_IPV4_HDR_LEN) {
		st->st.ip_rx_ihl++;
		return -1;
	}
	tot = ntohs(ip->tot_len);
	if (tot < *ihl || tot > p->pkt_len) {
		st->st.ip_rx_bad_len++;
		return -1;
	}
	/* A valid header sums to ones'-complement zero, 0xffff folded. */
	if (weir_csum_fold(weir_pkt_csum(p, 0, *ihl, 0)) != 0xffff) {
		st->st.ip_rx_csum++;
		return -1;
	}
	sk_trim_to(p, tot);
	return 0;
}

static void deliver(struct weir_stack *st, struct weir_pkt *p, const struct sk_ip_info *info)
{
	if (info->proto == WEIR_IPPROTO_UDP) {
		sk_udp_input(st, p, info);
		return;
	}
	if (info->proto == WEIR_IPPROTO_ICMP) {
		sk_icmp_input(st, p, info);
		return;
	}
	st->st.ip_rx_proto++;
	if (!info->bcast)
		sk_icmp_error(st, p, WEIR_ICMP_DEST_UNREACH, WEIR_ICMP_PROT_UNREACH);
	weir_pkt_free(p);
}

void sk_ipv4_input(struct weir_stack *st, struct sk_iface *ifc, struct weir_pkt *p)
{
	struct weir_ipv4_hdr ip;
	struct sk_ip_info info = {.ifc = ifc};
	unsigned ihl;

	st->st.ip_rx_packets++;
	if (validate(st, p, &ip, &ihl))
		goto drop;
	memcpy(&info.saddr, ip.saddr, 4);
	memcpy(&info.daddr, ip.daddr, 4);
	info.saddr = ntohl(info.saddr);
	info.daddr = ntohl(info.daddr);
	if (martian_source(st, ifc, info.saddr)) {
		st->st.ip_rx_bad_saddr++;
		goto drop;
	}
	info.bcast = sk_addr_is_bcast(ifc, info.daddr) || sk_addr_is_mcast(info.daddr);
	if (!info.bcast && !sk_addr_is_local(st, info.daddr)) {
		st->st.ip_rx_not_ours++;
		goto drop;
	}
	p->l3_len = (uint16_t)ihl;
	if (ntohs(ip.frag_off) & (WEIR_IPV4_MF | WEIR_IPV4_OFFMASK)) {
		struct weir_pkt *whole;

		if (!sk_frag_input(st->frag, p, st->now, &whole))
			return;
		p = whole;
		ihl = p->l3_len;
	}
	info.proto = ip.proto;
	info.tos = ip.tos;
	info.ihl = (uint8_t)ihl;
	deliver(st, p, &info);
	return;
drop:
	weir_pkt_free(p);
}

/* --- output ------------------------------------------------------------- */

int sk_ipv4_route(struct weir_stack *st, uint32_t dst, struct sk_iface **ifc, uint32_t *nexthop,
		  bool *bcast)
{
	struct weir_route r;

	if (weir_route_lookup(st->routes, dst, &r) || r.iface >= st->nb_ifs) {
		/* The limited broadcast and multicast need no route: they
		 * leave by the first interface unless a route says otherwise. */
		if ((dst != 0xffffffffu && !sk_addr_is_mcast(dst)) || !st->nb_ifs)
			return -ENETUNREACH;
		r = (struct weir_route){.iface = 0};
	}
	*ifc = &st->ifs[r.iface];
	*nexthop = r.gateway ? r.gateway : dst;
	*bcast = sk_addr_is_bcast(*ifc, dst);
	return 0;
}

static void write_hdr(struct weir_stack *st, uint8_t *h, uint32_t src, uint32_t dst, uint8_t proto,
		      uint16_t tot, uint16_t id, uint16_t frag)
{
	struct weir_ipv4_hdr ip = {
		.ver_ihl = 0x45,
		.tot_len = htons(tot),
		.id = htons(id),
		.frag_off = htons(frag),
		.ttl = st->conf.ttl,
		.proto = proto,
	};
	uint32_t s = htonl(src), d = htonl(dst);

	memcpy(ip.saddr, &s, 4);
	memcpy(ip.daddr, &d, 4);
	memcpy(h, &ip, sizeof(ip));
	sk_ipv4_set_csum(h, sizeof(ip));
}

/* To the link: broadcast and multicast need no ARP (RFC 1112 §6.4 maps a
 * group to 01:00:5e and its low 23 bits). */
static void link_send(struct weir_stack *st, struct sk_iface *ifc, struct weir_pkt *p,
		      uint32_t dst, uint32_t nexthop, bool bcast)
{
	static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	if (bcast) {
		sk_eth_xmit(st, ifc, p, bcast_mac, WEIR_ETHER_TYPE_IPV4);
	} else if (sk_addr_is_mcast(dst)) {
		const uint8_t mac[6] = {0x01, 0x00, 0x5e, (uint8_t)(dst >> 16 & 0x7f),
					(uint8_t)(dst >> 8), (uint8_t)dst};

		sk_eth_xmit(st, ifc, p, mac, WEIR_ETHER_TYPE_IPV4);
	} else {
		sk_arp_output(st, ifc, p, nexthop);
	}
}

/* Fragment headers and slices of p, all made before any is sent, so a
 * shortage leaves p as it was. Returns the list (through qnext) or NULL. */
static struct weir_pkt *make_fragments(struct weir_stack *st, struct sk_iface *ifc,
				       struct weir_pkt *p, uint32_t src, uint32_t dst,
				       uint8_t proto, int *err)
{
	uint32_t total = p->pkt_len, chunk = (ifc->mtu - WEIR_IPV4_HDR_LEN) & ~7u;
	struct weir_pkt *list = NULL, *last = NULL;
	uint16_t id = st->ip_id++;

	for (uint32_t off = 0; off < total; off += chunk) {
		uint32_t len = WEIR_MIN(chunk, total - off);
		struct weir_pkt *h = weir_pkt_alloc(st->pool), *slice;
		bool more = off + len < total;

		slice = h ? sk_clone_range(p, off, len, st->pool, err) : NULL;
		if (!slice || weir_pkt_chain(h, slice)) {
			*err = slice ? -EMSGSIZE : -ENOBUFS; /* chain: > 255 segments */
			weir_pkt_free(slice);
			weir_pkt_free(h);
			goto fail;
		}
		sk_copy_meta(h, p);
		h->ol_flags &= (uint16_t)~(WEIR_PKT_OL_CSUM_PARTIAL | WEIR_PKT_OL_CSUM_VALID);
		h->gso_type = WEIR_PKT_GSO_NONE;
		write_hdr(st, weir_pkt_push(h, WEIR_IPV4_HDR_LEN), src, dst, proto,
			  (uint16_t)(WEIR_IPV4_HDR_LEN + len), id,
			  (uint16_t)(off / 8 | (more ? WEIR_IPV4_MF : 0)));
		h->l3_len = WEIR_IPV4_HDR_LEN;
		if (last)
			last->qnext = h;
		else
			list = h;
		last = h;
	}
	return list;
fail:
	while (list) {
		struct weir_pkt *next = list->qnext;

		list->qnext = NULL;
		weir_pkt_free(list);
		list = next;
	}
	return NULL;
}

int sk_ipv4_output(struct weir_stack *st, struct sk_iface *ifc, struct weir_pkt *p, uint32_t src,
		   uint32_t dst, uint32_t nexthop, uint8_t proto, bool bcast)
{
	struct weir_pkt *list;
	uint32_t len = p->pkt_len;
	bool chained;
	int err;

	if (len > 65535 - WEIR_IPV4_HDR_LEN) {
		st->st.ip_drop_too_big++;
		return -EMSGSIZE;
	}
	if (len + WEIR_IPV4_HDR_LEN <= ifc->mtu) {
		uint8_t *h = sk_push(&p, WEIR_IPV4_HDR_LEN, sk_eth_hlen(ifc), st->pool, &chained);

		if (!h) {
			st->st.ip_drop_nobufs++;
			return -ENOBUFS;
		}
		write_hdr(st, h, src, dst, proto, (uint16_t)(len + WEIR_IPV4_HDR_LEN), st->ip_id++, 0);
		p->l3_len = WEIR_IPV4_HDR_LEN;
		st->st.ip_tx_packets++;
		link_send(st, ifc, p, dst, nexthop, bcast);
		return 0;
	}
	list = make_fragments(st, ifc, p, src, dst, proto, &err);
	if (!list) {
		st->st.ip_drop_nobufs++;
		return err;
	}
	weir_pkt_free(p); /* the slices hold what they need of it */
	st->st.ip_tx_packets++;
	while (list) {
		struct weir_pkt *next = list->qnext;

		list->qnext = NULL;
		st->st.ip_tx_fragments++;
		link_send(st, ifc, list, dst, nexthop, bcast);
		list = next;
	}
	return 0;
}
