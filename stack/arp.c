// SPDX-License-Identifier: BSD-3-Clause
/*
 * ARP (RFC 826) and the neighbour cache: who has which MAC address, the
 * requests that find out, and the packets that wait for the answer.
 *
 * Trust. An answer is believed only when it was asked for: a reply updates
 * an entry that is INCOMPLETE or PROBE (we sent a request) and is addressed
 * to us; every other reply is counted as unsolicited and ignored, so a
 * spoofed reply cannot redirect traffic to an address weir talks to. A
 * request for one of our addresses teaches us its sender (it is about to
 * get our reply, RFC 826's "merge"), but does not change the MAC of an
 * entry that is REACHABLE (counted as update_refused); gratuitous
 * announcements only refresh entries whose MAC they confirm. We answer
 * requests only for the receiving interface's own address.
 *
 * Budgets. Entries come from a fixed array (neigh_max); requests from
 * strangers never evict anything, our own resolutions may evict the least
 * recently used entry that holds no packets. Packets waiting for an answer
 * are bounded per neighbour and in all; what does not fit is dropped and
 * counted. The table is a hash keyed at random (src/hash.c).
 *
 * States as Linux's: INCOMPLETE (asked) -> REACHABLE (answered) -> STALE
 * after neigh_reachable -> PROBE on use (unicast re-ask, the old MAC still
 * used) -> REACHABLE, or deleted after neigh_probes unanswered requests.
 * Unused STALE entries go after neigh_gc.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack_internal.h"
#include "weir/proto/arp.h"

#define ARP_PAD 18 /* to the 60-byte minimum Ethernet frame */

struct neigh {
	uint32_t addr;
	uint16_t iface;
	uint8_t state; /* enum weir_neigh_state; NONE: free */
	uint8_t probes;
	uint8_t mac[6];
	uint32_t hnext; /* next in bucket or free list, index + 1; 0 ends */
	weir_ns_t confirmed;
	weir_ns_t used;
	weir_ns_t next; /* INCOMPLETE, PROBE: when to ask again */
	struct weir_pkt *qhead, *qtail;
	uint32_t qlen;
};

struct sk_arp {
	struct neigh *e;
	uint32_t max;
	uint32_t *bucket; /* index + 1 */
	uint32_t bmask;
	uint32_t free_list;
	uint32_t used;
	uint32_t queued;
	weir_ns_t next_due; /* no entry has anything to do before; a lower bound */
	struct weir_hash_key key;
};

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* When e next needs the timer. */
static weir_ns_t deadline(const struct weir_stack *st, const struct neigh *e)
{
	switch (e->state) {
	case WEIR_NEIGH_REACHABLE:
		return e->confirmed + st->conf.neigh_reachable;
	case WEIR_NEIGH_STALE:
		return e->used + st->conf.neigh_gc;
	default:
		return e->next;
	}
}

/* Call after e's state or times changed: the timer scans by then. */
static void arm(struct weir_stack *st, const struct neigh *e)
{
	weir_ns_t t = deadline(st, e);

	if (weir_time_after(st->arp->next_due, t))
		st->arp->next_due = t;
}

struct sk_arp *sk_arp_create(struct weir_stack *st, int *err)
{
	struct sk_arp *a = calloc(1, sizeof(*a));
	uint32_t nb = (uint32_t)weir_align_pow2(st->conf.neigh_max);

	if (a) {
		a->e = calloc(st->conf.neigh_max, sizeof(*a->e));
		a->bucket = calloc(nb, sizeof(*a->bucket));
	}
	if (!a || !a->e || !a->bucket) {
		sk_arp_destroy(a);
		*err = -ENOMEM;
		return NULL;
	}
	a->max = st->conf.neigh_max;
	a->bmask = nb - 1;
	for (uint32_t i = 0; i < a->max; i++)
		a->e[i].hnext = i + 1 < a->max ? i + 2 : 0;
	a->free_list = 1;
	sk_hash_key(&a->key, st->conf.seed ? st->conf.seed ^ 0xa5a5 : 0);
	*err = 0;
	return a;
}

static void drop_queue(struct sk_arp *a, struct neigh *e)
{
	struct weir_pkt *p = e->qhead;

	for (uint32_t i = 0; p && i < e->qlen; i++) {
		struct weir_pkt *next = p->qnext;

		p->qnext = NULL;
		weir_pkt_free(p);
		p = next;
	}
	a->queued -= e->qlen;
	e->qhead = e->qtail = NULL;
	e->qlen = 0;
}

void sk_arp_destroy(struct sk_arp *a)
{
	if (!a)
		return;
	for (uint32_t i = 0; a->e && i < a->max; i++)
		if (a->e[i].state)
			drop_queue(a, &a->e[i]);
	free(a->e);
	free(a->bucket);
	free(a);
}

static uint32_t bucket_of(const struct sk_arp *a, uint16_t iface, uint32_t addr)
{
	uint32_t k[2] = {addr, iface};

	return (uint32_t)weir_siphash(&a->key, k, sizeof(k)) & a->bmask;
}

static struct neigh *find(const struct sk_arp *a, uint16_t iface, uint32_t addr)
{
	uint32_t i = a->bucket[bucket_of(a, iface, addr)];

	/* Bounded by the table: at most max entries in any chain. */
	for (uint32_t n = 0; i && n < a->max; n++) {
		struct neigh *e = &a->e[i - 1];

		if (e->addr == addr && e->iface == iface)
			return e;
		i = e->hnext;
	}
	return NULL;
}

static void neigh_free(struct sk_arp *a, struct neigh *e)
{
	uint32_t *link = &a->bucket[bucket_of(a, e->iface, e->addr)];
	uint32_t idx = (uint32_t)(e - a->e) + 1;

	for (uint32_t n = 0; *link && n < a->max; n++) {
		if (*link == idx) {
			*link = e->hnext;
			break;
		}
		link = &a->e[*link - 1].hnext;
	}
	drop_queue(a, e);
	e->state = WEIR_NEIGH_NONE;
	e->hnext = a->free_list;
	a->free_list = idx;
	a->used--;
}

/* The least recently used entry that holds no packets, or NULL. */
static struct neigh *evictable(struct sk_arp *a)
{
	struct neigh *best = NULL;

	for (uint32_t i = 0; i < a->max; i++) {
		struct neigh *e = &a->e[i];

		if (e->state && e->state != WEIR_NEIGH_INCOMPLETE &&
		    (!best || weir_time_after(best->used, e->used)))
			best = e;
	}
	return best;
}

static struct neigh *neigh_new(struct sk_arp *a, uint16_t iface, uint32_t addr, bool evict,
			       weir_ns_t now)
{
	struct neigh *e;
	uint32_t b;

	if (!a->free_list) {
		if (!evict || !(e = evictable(a)))
			return NULL;
		neigh_free(a, e);
	}
	e = &a->e[a->free_list - 1];
	a->free_list = e->hnext;
	b = bucket_of(a, iface, addr);
	*e = (struct neigh){.addr = addr, .iface = iface, .state = WEIR_NEIGH_INCOMPLETE,
			    .hnext = a->bucket[b], .used = now};
	a->bucket[b] = (uint32_t)(e - a->e) + 1;
	a->used++;
	return e;
}

/* --- sending ------------------------------------------------------------ */

static int arp_send(struct weir_stack *st, struct sk_iface *ifc, uint16_t op,
		    const uint8_t tha[6], uint32_t tip, const uint8_t dst[6])
{
	struct weir_pkt *p = sk_alloc(st->pool, WEIR_ARP_LEN + ARP_PAD);
	struct weir_arp_hdr h = {
		.htype = htons(WEIR_ARP_HTYPE_ETHER),
		.ptype = htons(WEIR_ETHER_TYPE_IPV4),
		.hlen = 6,
		.plen = 4,
		.op = htons(op),
	};
	uint32_t sip = htonl(ifc->addr), t = htonl(tip);

	if (!p) {
		st->st.arp_drop_nobufs++;
		return -ENOBUFS;
	}
	memcpy(h.sha, ifc->mac, 6);
	memcpy(h.spa, &sip, 4);
	memcpy(h.tha, tha, 6);
	memcpy(h.tpa, &t, 4);
	memcpy(weir_pkt_data(p), &h, sizeof(h));
	memset(weir_pkt_data(p) + sizeof(h), 0, ARP_PAD);
	sk_eth_xmit(st, ifc, p, dst, WEIR_ETHER_TYPE_ARP);
	return 0;
}

int sk_arp_send_request(struct weir_stack *st, struct sk_iface *ifc, uint32_t target,
			const uint8_t *unicast)
{
	static const uint8_t zero[6];
	int err = arp_send(st, ifc, WEIR_ARP_OP_REQUEST, zero, target,
			   unicast ? unicast : bcast_mac);

	if (!err) {
		if (target == ifc->addr)
			st->st.arp_tx_gratuitous++;
		else
			st->st.arp_tx_requests++;
	}
	return err;
}

/* The answer is in: e's MAC is mac, and what waited goes out. */
static void resolved(struct weir_stack *st, struct sk_iface *ifc, struct neigh *e,
		     const uint8_t mac[6])
{
	struct weir_pkt *p = e->qhead;
	uint32_t n = e->qlen;

	memcpy(e->mac, mac, 6);
	e->state = WEIR_NEIGH_REACHABLE;
	e->confirmed = st->now;
	e->probes = 0;
	arm(st, e);
	e->qhead = e->qtail = NULL;
	e->qlen = 0;
	st->arp->queued -= n;
	for (uint32_t i = 0; p && i < n; i++) {
		struct weir_pkt *next = p->qnext;

		p->qnext = NULL;
		sk_eth_xmit(st, ifc, p, e->mac, WEIR_ETHER_TYPE_IPV4);
		p = next;
	}
}

/* A usable entry for nexthop (not INCOMPLETE), marked used; a STALE one
 * is re-asked (unicast) while its MAC is still used. NULL when none. */
static struct neigh *usable(struct weir_stack *st, struct sk_iface *ifc, uint32_t nexthop)
{
	struct neigh *e = find(st->arp, ifc->idx, nexthop);

	if (!e || e->state == WEIR_NEIGH_INCOMPLETE)
		return NULL;
	if (e->state == WEIR_NEIGH_STALE) {
		e->state = WEIR_NEIGH_PROBE;
		e->probes = 1;
		e->next = st->now + st->conf.neigh_retrans;
		arm(st, e);
		sk_arp_send_request(st, ifc, nexthop, e->mac);
	}
	e->used = st->now;
	return e;
}

bool sk_arp_resolve(struct weir_stack *st, struct sk_iface *ifc, uint32_t nexthop, uint8_t mac[6])
{
	struct neigh *e = usable(st, ifc, nexthop);

	if (e)
		memcpy(mac, e->mac, 6);
	return e != NULL;
}

void sk_arp_output(struct weir_stack *st, struct sk_iface *ifc, struct weir_pkt *p,
		   uint32_t nexthop)
{
	struct sk_arp *a = st->arp;
	struct neigh *e = usable(st, ifc, nexthop);

	if (e) {
		sk_eth_xmit(st, ifc, p, e->mac, WEIR_ETHER_TYPE_IPV4);
		return;
	}
	e = find(a, ifc->idx, nexthop);
	if (!e) {
		e = neigh_new(a, ifc->idx, nexthop, true, st->now);
		if (!e) {
			st->st.arp_drop_table_full++;
			weir_pkt_free(p);
			return;
		}
		e->probes = 1;
		e->next = st->now + st->conf.neigh_retrans;
		arm(st, e);
		sk_arp_send_request(st, ifc, nexthop, NULL);
	}
	if (e->qlen >= st->conf.neigh_queue || a->queued >= st->conf.neigh_queue_total) {
		st->st.arp_drop_queue_full++;
		weir_pkt_free(p);
		return;
	}
	p->qnext = NULL;
	if (e->qtail)
		e->qtail->qnext = p;
	else
		e->qhead = p;
	e->qtail = p;
	e->qlen++;
	a->queued++;
}

/* --- receiving ---------------------------------------------------------- */

/* A sender address no host may have: multicast, limited or directed
 * broadcast, loopback. 0 is an ARP probe's (RFC 5227), handled apart. */
static bool bad_sender_ip(const struct sk_iface *ifc, uint32_t sip)
{
	return sk_addr_is_mcast(sip) || sk_addr_is_bcast(ifc, sip) || (sip >> 24) == 127 ||
	       (sip >> 24) == 0;
}

/* A request addressed to us: its sender is learnt as RFC 826 says, but a
 * REACHABLE entry keeps its MAC (that would be an update nobody asked for). */
static void learn_from_request(struct weir_stack *st, struct sk_iface *ifc, struct neigh *e,
			       uint32_t sip, const uint8_t sha[6])
{
	if (!e) {
		e = neigh_new(st->arp, ifc->idx, sip, false, st->now);
		if (e)
			resolved(st, ifc, e, sha);
		return;
	}
	if (e->state == WEIR_NEIGH_REACHABLE && memcmp(e->mac, sha, 6)) {
		st->st.arp_rx_update_refused++;
		return;
	}
	resolved(st, ifc, e, sha);
}

static void handle(struct weir_stack *st, struct sk_iface *ifc, const struct weir_arp_hdr *h)
{
	uint32_t sip, tip;
	struct neigh *e;
	bool for_us;

	memcpy(&sip, h->spa, 4);
	memcpy(&tip, h->tpa, 4);
	sip = ntohl(sip);
	tip = ntohl(tip);
	if ((h->sha[0] & 1) || !memcmp(h->sha, (const uint8_t[6]){0}, 6) ||
	    (sip && bad_sender_ip(ifc, sip))) {
		st->st.arp_rx_bad_sender++;
		return;
	}
	if (ifc->addr && sip == ifc->addr) {
		st->st.arp_rx_conflict++; /* someone uses our address */
		return;
	}
	e = sip ? find(st->arp, ifc->idx, sip) : NULL;
	for_us = ifc->addr && tip == ifc->addr;
	if (h->op == htons(WEIR_ARP_OP_REPLY)) {
		if (!for_us || !e || (e->state != WEIR_NEIGH_INCOMPLETE &&
				      e->state != WEIR_NEIGH_PROBE)) {
			st->st.arp_rx_unsolicited++;
			return;
		}
		resolved(st, ifc, e, h->sha);
		return;
	}
	if (for_us) {
		if (sip)
			learn_from_request(st, ifc, e, sip, h->sha);
		if (!arp_send(st, ifc, WEIR_ARP_OP_REPLY, h->sha, sip, h->sha))
			st->st.arp_tx_replies++;
		return;
	}
	if (sip && sip == tip && e && e->state != WEIR_NEIGH_INCOMPLETE) {
		/* Gratuitous: refreshes a MAC it confirms, changes none. */
		if (memcmp(e->mac, h->sha, 6)) {
			st->st.arp_rx_update_refused++;
		} else {
			e->confirmed = st->now;
			e->state = WEIR_NEIGH_REACHABLE;
			arm(st, e);
		}
		return;
	}
	st->st.arp_rx_not_ours++;
}

void sk_arp_input(struct weir_stack *st, struct sk_iface *ifc, struct weir_pkt *p)
{
	struct weir_arp_hdr h;

	if (weir_pkt_copy_out(p, 0, sizeof(h), &h) || h.htype != htons(WEIR_ARP_HTYPE_ETHER) ||
	    h.ptype != htons(WEIR_ETHER_TYPE_IPV4) || h.hlen != 6 || h.plen != 4 ||
	    (h.op != htons(WEIR_ARP_OP_REQUEST) && h.op != htons(WEIR_ARP_OP_REPLY))) {
		st->st.arp_rx_bad++;
		weir_pkt_free(p);
		return;
	}
	if (h.op == htons(WEIR_ARP_OP_REQUEST))
		st->st.arp_rx_requests++;
	else
		st->st.arp_rx_replies++;
	weir_pkt_free(p);
	handle(st, ifc, &h);
}

/* --- time --------------------------------------------------------------- */

/* Runs one entry's timers (it may be deleted). */
static void age(struct weir_stack *st, struct neigh *e)
{
	const struct weir_stack_conf *c = &st->conf;
	struct sk_iface *ifc = &st->ifs[e->iface];
	weir_ns_t now = st->now;

	switch (e->state) {
	case WEIR_NEIGH_INCOMPLETE:
	case WEIR_NEIGH_PROBE:
		if (weir_time_after(e->next, now))
			break;
		if (e->probes >= c->neigh_probes) {
			st->st.arp_drop_unresolved += e->qlen;
			neigh_free(st->arp, e);
			break;
		}
		e->probes++;
		e->next = now + c->neigh_retrans;
		sk_arp_send_request(st, ifc, e->addr,
				    e->state == WEIR_NEIGH_PROBE ? e->mac : NULL);
		break;
	case WEIR_NEIGH_REACHABLE:
		if (now - e->confirmed >= c->neigh_reachable)
			e->state = WEIR_NEIGH_STALE;
		break;
	case WEIR_NEIGH_STALE:
		if (now - e->used >= c->neigh_gc)
			neigh_free(st->arp, e);
		break;
	default:
		break;
	}
}

void sk_arp_timer(struct weir_stack *st)
{
	struct sk_arp *a = st->arp;
	weir_ns_t next = st->now + 3600 * WEIR_NS_PER_SEC;

	if (!a->used || weir_time_after(a->next_due, st->now))
		return;
	/* A full scan, then the earliest deadline left: every event that
	 * arms an entry lowers next_due, so nothing due is missed. */
	for (uint32_t i = 0; i < a->max; i++) {
		struct neigh *e = &a->e[i];

		if (!e->state)
			continue;
		age(st, e);
		if (e->state && weir_time_after(next, deadline(st, e)))
			next = deadline(st, e);
	}
	a->next_due = next;
}

enum weir_neigh_state sk_arp_state(const struct sk_arp *a, uint16_t iface, uint32_t addr,
				   uint8_t mac[6])
{
	const struct neigh *e = find(a, iface, addr);

	if (!e)
		return WEIR_NEIGH_NONE;
	if (mac && e->state != WEIR_NEIGH_INCOMPLETE)
		memcpy(mac, e->mac, 6);
	return (enum weir_neigh_state)e->state;
}

uint32_t sk_arp_entries(const struct sk_arp *a)
{
	return a->used;
}

uint32_t sk_arp_queued(const struct sk_arp *a)
{
	return a->queued;
}

enum weir_neigh_state weir_stack_neigh_get(const struct weir_stack *st, uint16_t iface,
					   uint32_t addr, uint8_t mac[6])
{
	return sk_arp_state(st->arp, iface, addr, mac);
}
