// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd's l3 engine: an IPv4 router between its ports (RFC 1812), on
 * weir's stack for what a router does as a host (ARP for its addresses
 * and its next hops, echo replies, ICMP errors) and on weir/ipfwd.h for
 * the forwarding decisions.
 *
 * The fast path rewrites each frame in place: header checks, martians and
 * TTL (weir_ipfwd_classify), the route (LPM on the stack's table, the
 * result reused for the burst's following frames to the same address),
 * the TTL decrement with the checksum updated incrementally (RFC 1624),
 * then the next hop's and our MAC over the Ethernet header, and the frame
 * joins its output port's batch for the egress path (loss, delay, qdisc,
 * DQL) as in l2 mode. Frames for us, ARP and broadcasts go to the stack;
 * frames whose next hop is not resolved wait in the stack's bounded ARP
 * queue, and leave with what the stack sends (drained in l3_poll).
 *
 * GSO super-frames (TCP from Linux hosts with default offloads) are routed
 * whole: their one IP header is the template of every segment, so the TTL
 * and checksum changes here are what every segment gets when the egress
 * (or the kernel behind an afpacket port) cuts them; partial L4 checksums
 * stay partial (the TTL is not in the pseudo-header). Only a datagram
 * that does not fit the next link is touched further: DF set, ICMP
 * fragmentation needed with the link's MTU; DF clear, fragments as chains
 * over the original payload (weir_ipfwd_fragment).
 *
 * One lcore (the stack is one thread's); it holds l3->mu while it uses the
 * stack, so the telemetry thread can read its counters; route commands
 * from the telemetry socket run on the lcore between bursts (l3_poll).
 */
#include <arpa/inet.h>
#include <string.h>

#include "weir/offload.h"
#include "weir/proto/ether.h"
#include "weir/proto/icmp.h"

#include "common/fastpath.h"
#include "fwd/l3.h"

#define ETH_HLEN WEIR_ETHER_HDR_LEN

/* The route of the burst's last destination, so a burst to one address
 * (a flow, a benchmark) looks it up once. Valid for one burst only: the
 * neighbour's MAC is re-checked each burst. */
struct l3_cache {
	uint32_t daddr;
	bool valid, have_mac;
	uint16_t out;
	uint32_t nexthop;
	uint8_t mac[6];
};

struct l3_run {
	struct fwd *f;
	struct fwd_lcore *lc;
	struct l3 *r;
	weir_ns_t now;
	struct l3_cache c;
};

static inline void count(struct l3 *r, enum l3_ctr c)
{
	ctr_add(&r->ctr[c], 1);
}

static void flush_port(struct l3_run *x, int o)
{
	struct l3 *r = x->r;
	struct fwd_port *out = &x->f->ports[o];

	fwd_eg_admit(x->f, x->lc, out, &out->eg[x->lc->q], r->out[o], r->nout[o], x->now, FWD_GSO);
	r->nout[o] = 0;
}

static inline void out_add(struct l3_run *x, int o, struct weir_pkt *p)
{
	struct l3 *r = x->r;

	if (weir_unlikely(r->nout[o] == FWD_MAX_BURST))
		flush_port(x, o);
	r->out[o][r->nout[o]++] = p;
}

/* To the stack: ARP, frames for us, broadcasts (it filters and counts). */
static void to_stack(struct l3_run *x, struct weir_pkt *p)
{
	count(x->r, L3_local);
	weir_stack_input(x->r->st, &p, 1, x->now);
	x->r->stack_dirty = true;
}

/* Answers p (data at its Ethernet header) with an ICMP error, then frees
 * it. The stack decides whether one may be sent, and rate-limits. */
static void icmp_error(struct l3_run *x, struct weir_pkt *p, uint8_t type, uint8_t code,
		       uint16_t mtu)
{
	struct l3 *r = x->r;
	int err;

	weir_pkt_pull(p, ETH_HLEN); /* classify saw the IP header in this segment */
	if (type == WEIR_ICMP_DEST_UNREACH && code == WEIR_ICMP_FRAG_NEEDED)
		err = weir_stack_icmp_frag_needed(r->st, p, mtu);
	else
		err = weir_stack_icmp_error(r->st, p, type, code);
	count(r, err ? L3_icmp_not_sent : L3_icmp_sent);
	r->stack_dirty = true;
	weir_pkt_free(p);
}

/* Fills x->c for daddr: 0, or -1 when there is no route. */
static int route(struct l3_run *x, uint32_t daddr)
{
	struct l3_cache *c = &x->c;
	struct weir_route rt;

	if (c->valid && c->daddr == daddr)
		return 0;
	if (weir_route_lookup(x->r->rt, daddr, &rt) || rt.iface >= x->r->nports)
		return -1;
	c->valid = true;
	c->daddr = daddr;
	c->out = rt.iface;
	c->nexthop = rt.gateway ? rt.gateway : daddr;
	c->have_mac = !weir_stack_neigh_resolve(x->r->st, c->out, c->nexthop, c->mac, x->now);
	return 0;
}

/* p (data at its IP header) leaves through port o to the cached next hop:
 * with its Ethernet header rewritten, or through the stack's ARP queue. */
static void send_ip(struct l3_run *x, int o, struct weir_pkt *p, bool has_eth)
{
	struct l3 *r = x->r;
	uint8_t *eth;

	if (!x->c.have_mac) {
		if (has_eth)
			weir_pkt_pull(p, ETH_HLEN);
		count(r, L3_arp_wait);
		weir_stack_ip_output(r->st, (uint16_t)o, p, x->c.nexthop);
		r->stack_dirty = true;
		return;
	}
	eth = has_eth ? weir_pkt_data(p) : weir_pkt_push(p, ETH_HLEN);
	if (weir_unlikely(!eth)) {
		count(r, L3_frag_errors); /* a fragment header segment without headroom */
		weir_pkt_free(p);
		return;
	}
	memcpy(eth, x->c.mac, 6);
	memcpy(eth + 6, r->ports[o].mac, 6);
	if (!has_eth) {
		uint16_t type = htons(WEIR_ETHER_TYPE_IPV4);

		memcpy(eth + 12, &type, 2);
		p->l2_len = ETH_HLEN;
	}
	out_add(x, o, p);
}

/* A datagram too big for port o's MTU with DF clear: fragments. */
static void fragment(struct l3_run *x, int o, struct weir_pkt *p)
{
	struct weir_pkt *frags[L3_FRAGS_MAX];
	struct l3 *r = x->r;
	int k;

	/* Fragments carry no offload metadata: finish a partial checksum
	 * while csum_start still counts from the Ethernet header. */
	if ((p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) && weir_pkt_csum_complete(p)) {
		count(r, L3_csum_errors);
		weir_pkt_free(p);
		return;
	}
	weir_pkt_pull(p, ETH_HLEN);
	k = weir_ipfwd_fragment(p, r->ports[o].mtu, x->f->base.pool, frags, L3_FRAGS_MAX);
	if (k < 0) {
		count(r, L3_frag_errors);
		weir_pkt_free(p);
		return;
	}
	count(r, L3_fragmented);
	ctr_add(&r->ctr[L3_fragments], (uint64_t)k);
	for (int i = 0; i < k; i++)
		send_ip(x, o, frags[i], false);
}

/* A super-frame without DF whose segments are too big for port o (UDP
 * GSO from a sender on a larger MTU; TCP always sets DF): cut into its
 * datagrams as the sender's GSO would have, then each fragmented, as
 * Linux does when it forwards such a packet (ip_finish_output_gso). */
static void segment_and_fragment(struct l3_run *x, int o, struct weir_pkt *p)
{
	struct weir_pkt *segs[L3_FRAGS_MAX];
	struct l3 *r = x->r;
	int k = weir_gso_segment(p, x->f->base.pool, segs, L3_FRAGS_MAX, 0);

	if (k < 0) {
		count(r, L3_gso_too_big); /* more datagrams than we cut, or no buffers */
		weir_pkt_free(p);
		return;
	}
	for (int i = 0; i < k; i++) {
		const uint8_t *ip = weir_pkt_data(segs[i]) + segs[i]->l2_len;

		if ((uint32_t)(ip[2] << 8 | ip[3]) <= r->ports[o].mtu)
			send_ip(x, o, segs[i], true);
		else
			fragment(x, o, segs[i]);
	}
}

/* The IP bytes of each segment a super-frame stands for. */
static uint32_t gso_seg_len(struct weir_pkt *p)
{
	if (!p->hdr_len && weir_pkt_offload_parse(p))
		return 0; /* the egress' segmentation will count it */
	return (uint32_t)p->hdr_len - p->l2_len + p->gso_size;
}

/* Is p (IP datagram of tot bytes) too big for o? Then answers or cuts it
 * and returns true. */
static bool too_big(struct l3_run *x, int o, struct weir_pkt *p, const struct weir_ipfwd_hdr *h)
{
	uint32_t mtu = x->r->ports[o].mtu;

	if (weir_unlikely(weir_pkt_is_gso(p))) {
		if (gso_seg_len(p) <= mtu)
			return false;
	} else if (weir_likely(h->tot_len <= mtu)) {
		return false;
	}
	if (h->df) {
		count(x->r, L3_frag_needed);
		icmp_error(x, p, WEIR_ICMP_DEST_UNREACH, WEIR_ICMP_FRAG_NEEDED, (uint16_t)mtu);
	} else if (weir_pkt_is_gso(p)) {
		weir_ipfwd_ttl_dec(weir_pkt_data(p) + ETH_HLEN);
		count(x->r, L3_forwarded);
		segment_and_fragment(x, o, p);
	} else {
		weir_ipfwd_ttl_dec(weir_pkt_data(p) + ETH_HLEN);
		count(x->r, L3_forwarded);
		fragment(x, o, p);
	}
	return true;
}

static void forward(struct l3_run *x, struct weir_pkt *p, const struct weir_ipfwd_hdr *h)
{
	struct l3 *r = x->r;
	uint32_t pad = p->pkt_len - ETH_HLEN - h->tot_len;

	if (route(x, h->daddr)) {
		count(r, L3_no_route);
		icmp_error(x, p, WEIR_ICMP_DEST_UNREACH, WEIR_ICMP_NET_UNREACH, 0);
		return;
	}
	/* Ethernet padding past the datagram is not forwarded. */
	if (weir_unlikely(pad) && weir_pkt_trim(p, (uint16_t)pad)) {
		count(r, L3_bad_header);
		weir_pkt_free(p);
		return;
	}
	if (too_big(x, x->c.out, p, h))
		return;
	weir_ipfwd_ttl_dec(weir_pkt_data(p) + ETH_HLEN);
	count(r, L3_forwarded);
	send_ip(x, x->c.out, p, true);
}

static void one(struct l3_run *x, int in, struct weir_pkt *p)
{
	struct l3 *r = x->r;
	const uint8_t *eth = weir_pkt_data(p);
	struct weir_ipfwd_hdr h;
	uint16_t type;

	if (weir_unlikely(p->data_len < ETH_HLEN)) {
		to_stack(x, p); /* it counts the runt */
		return;
	}
	type = (uint16_t)(eth[12] << 8 | eth[13]);
	if (weir_unlikely(type != WEIR_ETHER_TYPE_IPV4 || (eth[0] & 1))) {
		if (type == WEIR_ETHER_TYPE_ARP || type == WEIR_ETHER_TYPE_IPV4) {
			to_stack(x, p);
			return;
		}
		count(r, L3_ethertype);
		weir_pkt_free(p);
		return;
	}
	if (weir_unlikely(memcmp(eth, r->ports[in].mac, 6))) {
		count(r, L3_not_ours);
		weir_pkt_free(p);
		return;
	}
	switch (weir_ipfwd_classify(&r->addrs, eth + ETH_HLEN, p->data_len - ETH_HLEN,
				    p->pkt_len - ETH_HLEN, &h)) {
	case WEIR_IPFWD_FORWARD:
		forward(x, p, &h);
		return;
	case WEIR_IPFWD_LOCAL:
		to_stack(x, p);
		return;
	case WEIR_IPFWD_TTL_EXCEEDED:
		count(r, L3_ttl_exceeded);
		icmp_error(x, p, WEIR_ICMP_TIME_EXCEEDED, WEIR_ICMP_EXC_TTL, 0);
		return;
	case WEIR_IPFWD_BAD_HDR: count(r, L3_bad_header); break;
	case WEIR_IPFWD_MARTIAN_SRC: count(r, L3_martian_source); break;
	case WEIR_IPFWD_MARTIAN_DST: count(r, L3_martian_destination); break;
	case WEIR_IPFWD_BCAST: count(r, L3_directed_broadcast); break;
	}
	weir_pkt_free(p);
}

static uint16_t l3_burst(struct fwd_lcore *lc, int in, struct weir_pkt **pkts, uint16_t n,
			 weir_ns_t now)
{
	struct l3 *r = lc->f->engine_state;
	struct l3_run x = {.f = lc->f, .lc = lc, .r = r, .now = now};

	pthread_mutex_lock(&r->mu);
	weir_stack_timer(r->st, now); /* the stack's clock, for ICMP rate limits; cheap */
	for (uint16_t i = 0; i < n; i++)
		one(&x, in, pkts[i]);
	pthread_mutex_unlock(&r->mu);
	for (int o = 0; o < r->nports; o++)
		if (r->nout[o])
			flush_port(&x, o);
	return 0;
}

/* Frames the stack made (ARP, ICMP, packets that waited for ARP) go to
 * their port's egress; the stack's timers run every L3_TIMER_NS, and
 * while it waits for something also when no frame comes. */
static uint32_t l3_poll(struct fwd_lcore *lc, weir_ns_t now, weir_ns_t *deadline)
{
	struct l3 *r = lc->f->engine_state;
	struct l3_run x = {.f = lc->f, .lc = lc, .r = r, .now = now};
	uint32_t work = 0;

	if (!weir_time_after(r->next_timer, now)) {
		uint64_t queued = 0, frags = 0;

		pthread_mutex_lock(&r->mu);
		weir_stack_timer(r->st, now);
		weir_stack_xstat(r->st, "neigh_queued", &queued);
		weir_stack_xstat(r->st, "frag_datagrams", &frags);
		pthread_mutex_unlock(&r->mu);
		r->stack_busy = queued || frags;
		r->stack_dirty = true;
		r->next_timer = now + L3_TIMER_NS;
	}
	if (r->stack_busy && weir_time_after(*deadline, r->next_timer))
		*deadline = r->next_timer;
	/* A route command waiting (one atomic load when none); the lock
	 * because the telemetry JSON reads the table. */
	pthread_mutex_lock(&r->mu);
	work += (uint32_t)app_route_cmds_poll(r->rc, 0, r->st);
	pthread_mutex_unlock(&r->mu);
	if (!r->stack_dirty)
		return work;
	r->stack_dirty = false;
	pthread_mutex_lock(&r->mu);
	for (int o = 0; o < r->nports; o++) {
		uint16_t k;

		while ((k = weir_stack_drain(r->st, (uint16_t)o, r->out[o], FWD_MAX_BURST))) {
			r->nout[o] = k;
			work += k;
			flush_port(&x, o);
		}
	}
	pthread_mutex_unlock(&r->mu);
	return work;
}

/* The lcore also wakes for a route command. */
static int l3_wait_fd(struct fwd_lcore *lc)
{
	struct l3 *r = lc->f->engine_state;

	return app_route_cmds_fd(r->rc, 0);
}

const struct fwd_engine fwd_engine_l3 = {
	.name = "l3",
	.check = l3_check,
	.setup = l3_setup,
	.teardown = l3_teardown,
	.burst = l3_burst,
	.poll = l3_poll,
	.json = l3_json,
	.summary = l3_summary,
	.tele_cmds = l3_tele_cmds,
	.stopping = l3_stopping,
	.wait_fd = l3_wait_fd,
};
