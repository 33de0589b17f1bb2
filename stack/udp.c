// SPDX-License-Identifier: BSD-3-Clause
/*
 * UDP (RFC 768) and the sockets of include/weir/udp.h.
 *
 * Receive: the length must fit what IP delivered (the rest, Ethernet or
 * IP padding, is cut); the checksum is verified unless it is 0 (none) or
 * whoever handed us the frame vouched for it (CSUM_VALID, or CSUM_PARTIAL
 * from a local sender that never computed it). The socket is found by
 * port in a 65536-entry array (a port is one load away, and nothing an
 * outsider sends can make the lookup slower); it gets the packet itself,
 * pulled to the payload, in a bounded ring.
 *
 * Send: the UDP header is pushed in front of the payload with room kept
 * for IP and Ethernet (sk_push: headroom when the buffer is plainly the
 * packet's, else a chained header segment). The checksum is left partial
 * for interfaces that complete it (WEIR_PORT_OFFLOAD_CSUM) when the
 * datagram leaves in one frame, and computed over the chain otherwise (a
 * fragmented datagram's checksum covers frames no device sees together).
 */
#include <errno.h>
#include <stdlib.h>

#include "stack_internal.h"
#include "weir/offload.h"
#include "weir/proto/icmp.h"
#include "weir/proto/udp.h"

#define UDP_PAYLOAD_MAX (65535 - WEIR_IPV4_HDR_LEN - WEIR_UDP_HDR_LEN)
#define EPHEMERAL_LO 49152
#define QUEUE_DEFAULT 256
#define QUEUE_MAX 65536

struct rx_slot {
	struct weir_pkt *p;
	struct weir_udp_addr from;
};

struct weir_udp_sock {
	struct weir_stack *st;
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	bool bound;
	uint32_t qmask;
	uint32_t qhead, qtail; /* free-running, masked on access */
	struct rx_slot *q;
	struct weir_udp_sock_stats stats;
};

struct weir_udp_sock *weir_udp_open(struct weir_stack *st, const struct weir_udp_sock_conf *conf,
				    int *err)
{
	uint32_t qlen = conf && conf->queue_len ? conf->queue_len : QUEUE_DEFAULT;
	struct weir_udp_sock *s;

	if (qlen > QUEUE_MAX) {
		*err = -EINVAL;
		return NULL;
	}
	qlen = (uint32_t)weir_align_pow2(qlen);
	s = calloc(1, sizeof(*s));
	if (s)
		s->q = calloc(qlen, sizeof(*s->q));
	if (!s || !s->q) {
		free(s);
		*err = -ENOMEM;
		return NULL;
	}
	s->st = st;
	s->qmask = qlen - 1;
	*err = 0;
	return s;
}

static void sock_free(struct weir_udp_sock *s)
{
	while (s->qhead != s->qtail)
		weir_pkt_free(s->q[s->qhead++ & s->qmask].p);
	free(s->q);
	free(s);
}

void weir_udp_close(struct weir_udp_sock *s)
{
	if (!s)
		return;
	if (s->bound)
		s->st->socks[s->lport] = NULL;
	sock_free(s);
}

void sk_udp_destroy_all(struct weir_stack *st)
{
	for (uint32_t port = 0; port < 65536; port++)
		if (st->socks[port])
			sock_free(st->socks[port]);
}

int weir_udp_bind(struct weir_udp_sock *s, uint32_t addr, uint16_t port)
{
	struct weir_stack *st = s->st;

	if (s->bound)
		return -EINVAL;
	if (addr && !sk_addr_is_local(st, addr))
		return -EADDRNOTAVAIL;
	if (!port) {
		uint32_t span = 65536 - EPHEMERAL_LO;

		for (uint32_t i = 0; i < span && !port; i++) {
			uint16_t p = (uint16_t)(EPHEMERAL_LO + (st->ephemeral_next + i) % span);

			if (!st->socks[p])
				port = p;
		}
		if (!port)
			return -EADDRNOTAVAIL;
		st->ephemeral_next = (uint16_t)(port - EPHEMERAL_LO + 1);
	} else if (st->socks[port]) {
		return -EADDRINUSE;
	}
	st->socks[port] = s;
	s->laddr = addr;
	s->lport = port;
	s->bound = true;
	return 0;
}

int weir_udp_connect(struct weir_udp_sock *s, uint32_t addr, uint16_t port)
{
	int err;

	if (addr && !port)
		return -EINVAL;
	if (!s->bound && (err = weir_udp_bind(s, 0, 0)))
		return err;
	s->raddr = addr;
	s->rport = addr ? port : 0;
	return 0;
}

void weir_udp_local(const struct weir_udp_sock *s, struct weir_udp_addr *out)
{
	out->addr = s->laddr;
	out->port = s->lport;
}

void weir_udp_sock_stats(const struct weir_udp_sock *s, struct weir_udp_sock_stats *out)
{
	*out = s->stats;
}

/* --- receive ------------------------------------------------------------ */

static bool csum_ok(struct weir_stack *st, const struct weir_pkt *p, const struct sk_ip_info *ip,
		    uint16_t ulen)
{
	uint32_t sa = htonl(ip->saddr), da = htonl(ip->daddr), sum;

	if (p->ol_flags & (WEIR_PKT_OL_CSUM_VALID | WEIR_PKT_OL_CSUM_PARTIAL)) {
		st->st.udp_rx_csum_trusted++;
		return true;
	}
	sum = weir_csum_pseudo_ipv4(&sa, &da, WEIR_IPPROTO_UDP, ulen);
	return weir_csum_fold(weir_pkt_csum(p, ip->ihl, ulen, sum)) == 0xffff;
}

static struct weir_udp_sock *lookup(const struct weir_stack *st, const struct sk_ip_info *ip,
				    const struct weir_udp_hdr *uh)
{
	struct weir_udp_sock *s = st->socks[ntohs(uh->dport)];

	if (!s || (s->laddr && s->laddr != ip->daddr))
		return NULL;
	if (s->raddr && (s->raddr != ip->saddr || s->rport != ntohs(uh->sport)))
		return NULL;
	return s;
}

void sk_udp_input(struct weir_stack *st, struct weir_pkt *p, const struct sk_ip_info *ip)
{
	uint32_t l4 = p->pkt_len - ip->ihl;
	struct weir_udp_sock *s;
	struct weir_udp_hdr uh;
	struct rx_slot *slot;
	uint16_t ulen;

	st->st.udp_rx_datagrams++;
	if (l4 < WEIR_UDP_HDR_LEN || weir_pkt_copy_out(p, ip->ihl, sizeof(uh), &uh)) {
		st->st.udp_rx_short++;
		goto drop;
	}
	ulen = ntohs(uh.len);
	if (ulen < WEIR_UDP_HDR_LEN || ulen > l4) {
		st->st.udp_rx_bad_len++;
		goto drop;
	}
	sk_trim_to(p, ip->ihl + ulen);
	if (uh.check && !csum_ok(st, p, ip, ulen)) {
		st->st.udp_rx_csum++;
		goto drop;
	}
	s = lookup(st, ip, &uh);
	if (!s) {
		st->st.udp_rx_no_socket++;
		if (!ip->bcast)
			sk_icmp_error(st, p, WEIR_ICMP_DEST_UNREACH, WEIR_ICMP_PORT_UNREACH);
		goto drop;
	}
	if (s->qtail - s->qhead > s->qmask) {
		st->st.udp_rx_queue_full++;
		s->stats.rx_queue_full++;
		goto drop;
	}
	sk_pull(&p, ip->ihl + WEIR_UDP_HDR_LEN);
	p->l4_proto = WEIR_IPPROTO_UDP;
	slot = &s->q[s->qtail++ & s->qmask];
	slot->p = p;
	slot->from = (struct weir_udp_addr){.addr = ip->saddr, .port = ntohs(uh.sport)};
	s->stats.rx_datagrams++;
	s->stats.rx_bytes += p->pkt_len;
	st->st.udp_rx_delivered++;
	return;
drop:
	weir_pkt_free(p);
}

uint16_t weir_udp_recv_burst(struct weir_udp_sock *s, struct weir_pkt **pkts,
			     struct weir_udp_addr *from, uint16_t n)
{
	uint16_t k = 0;

	for (; k < n && s->qhead != s->qtail; k++) {
		struct rx_slot *slot = &s->q[s->qhead++ & s->qmask];

		pkts[k] = slot->p;
		if (from)
			from[k] = slot->from;
	}
	return k;
}

/* --- send --------------------------------------------------------------- */

/* Fills the UDP header at h and its checksum (partial or complete). */
static void udp_header(struct weir_pkt *p, uint8_t *h, uint32_t src, uint32_t dst, uint16_t sport,
		       uint16_t dport, uint16_t ulen, bool partial)
{
	struct weir_udp_hdr uh = {.sport = htons(sport), .dport = htons(dport), .len = htons(ulen)};
	uint32_t sa = htonl(src), da = htonl(dst);
	uint32_t sum = weir_csum_pseudo_ipv4(&sa, &da, WEIR_IPPROTO_UDP, ulen);

	memcpy(h, &uh, sizeof(uh));
	if (partial) {
		/* What the device expects: the folded pseudo-header sum. */
		uh.check = weir_csum_fold(sum);
		p->ol_flags |= WEIR_PKT_OL_CSUM_PARTIAL;
		p->csum_start = 0; /* moves with every header pushed in front */
		p->csum_offset = offsetof(struct weir_udp_hdr, check);
	} else {
		uh.check = (uint16_t)~weir_csum_fold(weir_pkt_csum(p, 0, ulen, sum));
		if (!uh.check)
			uh.check = 0xffff; /* 0 says "no checksum" (RFC 768) */
	}
	memcpy(h + offsetof(struct weir_udp_hdr, check), &uh.check, 2);
}

/* Where a datagram of plen bytes to dst:dport goes: 0 or a negative errno. */
static int route_for(struct weir_udp_sock *s, uint32_t dst, uint16_t dport, uint32_t plen,
		     struct sk_iface **ifc, uint32_t *nexthop, bool *bcast, uint32_t *src)
{
	int err;

	if (!dst || !dport)
		return -EDESTADDRREQ;
	if (plen > UDP_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (!s->bound && (err = weir_udp_bind(s, 0, 0)))
		return err;
	if ((err = sk_ipv4_route(s->st, dst, ifc, nexthop, bcast))) {
		s->st->st.ip_drop_no_route++;
		return err;
	}
	*src = s->laddr ? s->laddr : (*ifc)->addr;
	return *src ? 0 : -EADDRNOTAVAIL;
}

int weir_udp_sendto(struct weir_udp_sock *s, struct weir_pkt *p, const struct weir_udp_addr *to)
{
	struct weir_stack *st = s->st;
	uint32_t dst = to ? to->addr : s->raddr, nexthop, src, plen = p->pkt_len;
	uint16_t dport = to ? to->port : s->rport, ulen = (uint16_t)(plen + WEIR_UDP_HDR_LEN);
	struct sk_iface *ifc;
	bool bcast, chained, partial;
	uint8_t *h;
	int err;

	err = route_for(s, dst, dport, plen, &ifc, &nexthop, &bcast, &src);
	if (err)
		goto fail;
	p->ol_flags &= (uint16_t)~(WEIR_PKT_OL_CSUM_PARTIAL | WEIR_PKT_OL_CSUM_VALID);
	p->gso_type = WEIR_PKT_GSO_NONE;
	h = sk_push(&p, WEIR_UDP_HDR_LEN, WEIR_IPV4_HDR_LEN + sk_eth_hlen(ifc), st->pool, &chained);
	if (!h) {
		err = -ENOBUFS;
		goto fail;
	}
	partial = (ifc->tx_offloads & WEIR_PORT_OFFLOAD_CSUM) &&
		  (uint32_t)ulen + WEIR_IPV4_HDR_LEN <= ifc->mtu;
	udp_header(p, h, src, dst, s->lport, dport, ulen, partial);
	st->st.udp_tx_csum_partial += partial;
	err = sk_ipv4_output(st, ifc, p, src, dst, nexthop, WEIR_IPPROTO_UDP, bcast);
	if (err) {
		p->ol_flags &= (uint16_t)~WEIR_PKT_OL_CSUM_PARTIAL;
		sk_unpush(&p, WEIR_UDP_HDR_LEN, chained);
		goto fail;
	}
	s->stats.tx_datagrams++;
	s->stats.tx_bytes += plen;
	st->st.udp_tx_datagrams++;
	return 0;
fail:
	s->stats.tx_errors++;
	st->st.udp_tx_errors++;
	return err;
}

uint16_t weir_udp_send_burst(struct weir_udp_sock *s, struct weir_pkt **pkts,
			     const struct weir_udp_addr *to, uint16_t n)
{
	uint16_t i = 0;

	while (i < n && weir_udp_sendto(s, pkts[i], to ? &to[i] : NULL) == 0)
		i++;
	return i;
}
