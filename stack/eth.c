// SPDX-License-Identifier: BSD-3-Clause
/*
 * Ethernet II with 802.1Q tags: which interface a frame belongs to (its
 * port and VLAN), whether it is addressed to us (our MAC, broadcast, or a
 * multicast address the interface was told to accept), and the header in
 * front of what we send, followed by the interface's output queue that the
 * caller drains. One tag is understood on receive; frames with two (QinQ)
 * belong to no interface here and are counted as such.
 */
#include <errno.h>

#include "stack_internal.h"

static bool mac_accepted(const struct sk_iface *ifc, const uint8_t *dst)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	if (!memcmp(dst, ifc->mac, 6) || !memcmp(dst, bcast, 6))
		return true;
	if (!(dst[0] & 1))
		return false;
	for (unsigned i = 0; i < ifc->nb_mcast; i++)
		if (!memcmp(dst, ifc->mcast[i], 6))
			return true;
	return false;
}

void sk_eth_input(struct weir_stack *st, struct weir_pkt *p)
{
	struct weir_ether_hdr eh;
	struct weir_vlan_hdr vh;
	struct sk_iface *ifc;
	uint16_t type, vid = 0, hlen = WEIR_ETHER_HDR_LEN;

	st->st.eth_rx_frames++;
	if (weir_pkt_copy_out(p, 0, sizeof(eh), &eh)) {
		st->st.eth_rx_short++;
		goto drop;
	}
	type = ntohs(eh.type);
	if (type == WEIR_ETHER_TYPE_VLAN) {
		if (weir_pkt_copy_out(p, hlen, sizeof(vh), &vh)) {
			st->st.eth_rx_short++;
			goto drop;
		}
		vid = ntohs(vh.tci) & 0xfff; /* VID 0: priority tag only */
		type = ntohs(vh.type);
		hlen += WEIR_VLAN_HDR_LEN;
	}
	ifc = weir_ether_type_is_vlan(type) ? NULL : sk_iface_by_port(st, p->port, vid);
	if (!ifc) {
		st->st.eth_rx_no_iface++;
		goto drop;
	}
	if (!mac_accepted(ifc, eh.dst)) {
		st->st.eth_rx_not_ours++;
		goto drop;
	}
	sk_pull(&p, hlen); /* cannot fail: hlen bytes were read above */
	p->l2_len = hlen;
	if (type == WEIR_ETHER_TYPE_IPV4) {
		sk_ipv4_input(st, ifc, p);
		return;
	}
	if (type == WEIR_ETHER_TYPE_ARP) {
		sk_arp_input(st, ifc, p);
		return;
	}
	st->st.eth_rx_ethertype++;
drop:
	weir_pkt_free(p);
}

void sk_eth_xmit(struct weir_stack *st, struct sk_iface *ifc, struct weir_pkt *p,
		 const uint8_t dst[6], uint16_t type)
{
	uint16_t hlen = sk_eth_hlen(ifc);
	bool chained;
	uint8_t *h = sk_push(&p, hlen, 0, st->pool, &chained);

	if (!h) {
		st->st.eth_tx_nobufs++;
		weir_pkt_free(p);
		return;
	}
	memcpy(h, dst, 6);
	memcpy(h + 6, ifc->mac, 6);
	if (ifc->vlan) {
		uint16_t tag[2] = {htons(WEIR_ETHER_TYPE_VLAN), htons(ifc->vlan)};

		memcpy(h + 12, tag, 4);
	}
	type = htons(type);
	memcpy(h + hlen - 2, &type, 2);
	p->l2_len = hlen;
	if (ifc->txq_len >= st->conf.tx_queue_len) {
		st->st.eth_tx_queue_full++;
		weir_pkt_free(p);
		return;
	}
	p->qnext = NULL;
	if (ifc->txq_tail)
		ifc->txq_tail->qnext = p;
	else
		ifc->txq_head = p;
	ifc->txq_tail = p;
	ifc->txq_len++;
	st->st.eth_tx_frames++;
}

uint16_t weir_stack_drain(struct weir_stack *st, uint16_t iface, struct weir_pkt **pkts,
			  uint16_t n)
{
	struct sk_iface *ifc;
	uint16_t k = 0;

	if (iface >= st->nb_ifs)
		return 0;
	ifc = &st->ifs[iface];
	while (k < n && ifc->txq_head) {
		struct weir_pkt *p = ifc->txq_head;

		ifc->txq_head = p->qnext;
		p->qnext = NULL;
		pkts[k++] = p;
	}
	if (!ifc->txq_head)
		ifc->txq_tail = NULL;
	ifc->txq_len -= k;
	return k;
}

uint32_t weir_stack_pending(const struct weir_stack *st, uint16_t iface)
{
	return iface < st->nb_ifs ? st->ifs[iface].txq_len : 0;
}
