// SPDX-License-Identifier: BSD-3-Clause
/*
 * The stack object of include/weir/stack.h: configuration and its
 * defaults, interfaces, the receive and timer entry points, counters by
 * name, token buckets. The protocols are in their own files (eth.c,
 * arp.c, ipv4.c, frag.c, icmp.c, udp.c, route.c); this one only owns them
 * and says where a frame goes first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "frag_internal.h"
#include "stack_internal.h"
#include "weir/offload.h"
#include "weir/proto/icmp.h"

#define GSO_SEGS_MAX 64
/* What the stack builds in one buffer of its pool: an ICMP error (576 B)
 * behind the longest header; headers in front of a payload. */
#define POOL_ROOM_MIN (576 + WEIR_ETHER_HDR_LEN + WEIR_VLAN_HDR_LEN)
#define POOL_HEADROOM_MIN (WEIR_ETHER_HDR_LEN + WEIR_VLAN_HDR_LEN + WEIR_IPV4_HDR_LEN + 8)

/* --- token buckets ------------------------------------------------------ */

void sk_bucket_init(struct sk_bucket *b, uint32_t rate, uint32_t burst)
{
	b->rate = rate;
	b->cap = (uint64_t)(burst ? burst : 1) * WEIR_NS_PER_SEC;
	b->tokens = b->cap;
	b->last = 0;
}

bool sk_bucket_take(struct sk_bucket *b, weir_ns_t now)
{
	if (!b->rate)
		return true;
	if (weir_time_after(now, b->last)) {
		uint64_t dt = now - b->last;

		/* dt * rate overflows for idle times beyond ~18 s / rate x 1e9:
		 * past cap / rate the bucket is full anyway. */
		if (dt >= b->cap / b->rate)
			b->tokens = b->cap;
		else
			b->tokens = WEIR_MIN(b->cap, b->tokens + dt * b->rate);
		b->last = now;
	}
	if (b->tokens < WEIR_NS_PER_SEC)
		return false;
	b->tokens -= WEIR_NS_PER_SEC;
	return true;
}

/* --- life --------------------------------------------------------------- */

static int conf_defaults(struct weir_stack_conf *c)
{
#define DEF(f, v)          \
	do {               \
		if (!c->f) \
			c->f = v; \
	} while (0)
	DEF(tx_queue_len, 4096);
	DEF(ttl, 64);
	DEF(neigh_max, 1024);
	DEF(neigh_queue, 64);
	DEF(neigh_queue_total, 1024);
	DEF(neigh_reachable, 30 * WEIR_NS_PER_SEC);
	DEF(neigh_retrans, 1 * WEIR_NS_PER_SEC);
	DEF(neigh_probes, 3);
	DEF(neigh_gc, 60 * WEIR_NS_PER_SEC);
	DEF(frag_budget, 4u << 20);
	DEF(frag_budget_source, WEIR_MIN(1u << 20, c->frag_budget));
	DEF(frag_timeout, 30 * WEIR_NS_PER_SEC);
	DEF(icmp_rate, 1000);
	DEF(icmp_burst, 50);
	DEF(echo_burst, c->echo_rate / 10 + 1);
#undef DEF
	if (!c->pool || c->pool->headroom < POOL_HEADROOM_MIN ||
	    c->pool->buf_size - c->pool->headroom < POOL_ROOM_MIN)
		return -EINVAL;
	if (c->frag_budget_source > c->frag_budget || c->neigh_max > (1u << 20) ||
	    c->neigh_probes > 255)
		return -EINVAL;
	return 0;
}

struct weir_stack *weir_stack_create(const struct weir_stack_conf *conf, int *err)
{
	struct weir_stack *st = calloc(1, sizeof(*st));
	struct sk_frag_conf fc;

	if (!st) {
		*err = -ENOMEM;
		return NULL;
	}
	st->conf = *conf;
	*err = conf_defaults(&st->conf);
	if (*err)
		goto fail;
	st->pool = st->conf.pool;
	sk_hash_key(&st->hash_key, st->conf.seed);
	st->ip_id = (uint16_t)st->hash_key.k[0];
	st->ephemeral_next = (uint16_t)(st->hash_key.k[1] >> 16);
	sk_bucket_init(&st->icmp_tb, st->conf.icmp_rate, st->conf.icmp_burst);
	sk_bucket_init(&st->echo_tb, st->conf.echo_rate, st->conf.echo_burst);
	fc = (struct sk_frag_conf){.budget = st->conf.frag_budget,
				   .budget_source = st->conf.frag_budget_source,
				   .timeout = st->conf.frag_timeout,
				   .seed = st->conf.seed,
				   .pool = st->pool};
	*err = -ENOMEM;
	st->socks = calloc(65536, sizeof(*st->socks));
	if (!st->socks || !(st->routes = weir_route_create(0, err)) ||
	    !(st->arp = sk_arp_create(st, err)) || !(st->frag = sk_frag_create(&fc, err)))
		goto fail;
	*err = 0;
	return st;
fail:
	weir_stack_destroy(st);
	return NULL;
}

void weir_stack_destroy(struct weir_stack *st)
{
	if (!st)
		return;
	for (uint16_t i = 0; i < st->nb_ifs; i++) {
		struct weir_pkt *p = st->ifs[i].txq_head;

		while (p) {
			struct weir_pkt *next = p->qnext;

			p->qnext = NULL;
			weir_pkt_free(p);
			p = next;
		}
	}
	if (st->socks)
		sk_udp_destroy_all(st);
	free(st->socks);
	sk_frag_destroy(st->frag);
	sk_arp_destroy(st->arp);
	weir_route_destroy(st->routes);
	free(st);
}

/* --- interfaces --------------------------------------------------------- */

static int iface_check(const struct weir_stack *st, const struct weir_stack_iface_conf *c,
		       const char *name, char *why, size_t whylen)
{
	if (st->nb_ifs >= WEIR_STACK_IFACE_MAX)
		return snprintf(why, whylen, "stack: %s: already %d interfaces, the most a stack has",
				name, WEIR_STACK_IFACE_MAX), -ENOSPC;
	if (c->prefix > 32 || c->vlan > 4094 || (c->mtu && (c->mtu < 68 || c->mtu > 65535)))
		return snprintf(why, whylen, "stack: %s: prefix %u (0..32), vlan %u (0..4094) or "
				"mtu %u (68..65535) out of range", name, c->prefix, c->vlan, c->mtu),
		       -EINVAL;
	if (c->mac[0] & 1)
		return snprintf(why, whylen, "stack: %s: the MAC address is a multicast one",
				name), -EINVAL;
	for (uint16_t i = 0; i < st->nb_ifs; i++) {
		if (!strcmp(st->ifs[i].name, name))
			return snprintf(why, whylen, "stack: interface name %s is taken", name),
			       -EINVAL;
		if (st->ifs[i].port_id == c->port_id && st->ifs[i].vlan == c->vlan)
			return snprintf(why, whylen, "stack: %s: port %u vlan %u is %s's already",
					name, c->port_id, c->vlan, st->ifs[i].name), -EEXIST;
	}
	return 0;
}

static void iface_fill(struct sk_iface *ifc, const struct weir_stack_iface_conf *c,
		       const char *name, uint16_t idx)
{
	memset(ifc, 0, sizeof(*ifc));
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	ifc->port = c->port;
	ifc->port_id = c->port_id;
	ifc->queue = c->queue;
	ifc->idx = idx;
	ifc->vlan = c->vlan;
	memcpy(ifc->mac, c->mac, 6);
	ifc->addr = c->addr;
	ifc->plen = c->prefix;
	ifc->mask = weir_route_mask(c->prefix);
	ifc->bcast = c->addr && c->prefix < 31 ? (c->addr | ~ifc->mask) : 0;
	ifc->mtu = c->mtu ? c->mtu : 1500;
	ifc->tx_offloads = c->tx_offloads;
}

int weir_stack_iface_add(struct weir_stack *st, const struct weir_stack_iface_conf *c, char *why,
			 size_t whylen)
{
	char name[WEIR_STACK_IFNAMESIZE];
	struct sk_iface *ifc;
	int err;

	if (c->name)
		snprintf(name, sizeof(name), "%s", c->name);
	else
		snprintf(name, sizeof(name), "if%u", st->nb_ifs);
	err = iface_check(st, c, name, why, whylen);
	if (err)
		return err;
	ifc = &st->ifs[st->nb_ifs];
	iface_fill(ifc, c, name, st->nb_ifs);
	if (c->addr) {
		struct weir_route r = {.prefix = c->addr, .len = c->prefix, .iface = ifc->idx};

		err = weir_route_add(st->routes, &r);
		if (err)
			return snprintf(why, whylen, "stack: %s: cannot add the connected route "
					"(%s)", name, err == -EEXIST ? "another interface has that "
					"subnet" : "table full"), err;
	}
	st->nb_ifs++;
	if (c->addr && !c->no_garp)
		weir_stack_garp(st, ifc->idx);
	return ifc->idx;
}

int weir_stack_iface_find(const struct weir_stack *st, const char *name)
{
	for (uint16_t i = 0; i < st->nb_ifs; i++)
		if (!strcmp(st->ifs[i].name, name))
			return i;
	return -ENOENT;
}

uint16_t weir_stack_nb_ifaces(const struct weir_stack *st)
{
	return st->nb_ifs;
}

const char *weir_stack_iface_name(const struct weir_stack *st, uint16_t iface)
{
	return iface < st->nb_ifs ? st->ifs[iface].name : NULL;
}

int weir_stack_iface_port(const struct weir_stack *st, uint16_t iface, struct weir_port **port,
			  uint16_t *queue)
{
	if (iface >= st->nb_ifs)
		return -ENOENT;
	*port = st->ifs[iface].port;
	*queue = st->ifs[iface].queue;
	return 0;
}

int weir_stack_iface_mcast_add(struct weir_stack *st, uint16_t iface, const uint8_t mac[6])
{
	struct sk_iface *ifc;

	if (iface >= st->nb_ifs)
		return -ENOENT;
	ifc = &st->ifs[iface];
	if (!(mac[0] & 1))
		return -EINVAL;
	for (unsigned i = 0; i < ifc->nb_mcast; i++)
		if (!memcmp(ifc->mcast[i], mac, 6))
			return 0;
	if (ifc->nb_mcast >= WEIR_STACK_MCAST_MAX)
		return -ENOSPC;
	memcpy(ifc->mcast[ifc->nb_mcast++], mac, 6);
	return 0;
}

int weir_stack_iface_mcast_del(struct weir_stack *st, uint16_t iface, const uint8_t mac[6])
{
	struct sk_iface *ifc;

	if (iface >= st->nb_ifs)
		return -ENOENT;
	ifc = &st->ifs[iface];
	for (unsigned i = 0; i < ifc->nb_mcast; i++) {
		if (!memcmp(ifc->mcast[i], mac, 6)) {
			memmove(ifc->mcast[i], ifc->mcast[i + 1], (ifc->nb_mcast - i - 1) * 6u);
			ifc->nb_mcast--;
			return 0;
		}
	}
	return -ENOENT;
}

int weir_stack_garp(struct weir_stack *st, uint16_t iface)
{
	if (iface >= st->nb_ifs)
		return -ENOENT;
	if (!st->ifs[iface].addr)
		return -EADDRNOTAVAIL;
	return sk_arp_send_request(st, &st->ifs[iface], st->ifs[iface].addr, NULL);
}

struct sk_iface *sk_iface_by_port(struct weir_stack *st, uint16_t port_id, uint16_t vid)
{
	for (uint16_t i = 0; i < st->nb_ifs; i++)
		if (st->ifs[i].port_id == port_id && st->ifs[i].vlan == vid)
			return &st->ifs[i];
	return NULL;
}

bool sk_addr_is_local(const struct weir_stack *st, uint32_t addr)
{
	for (uint16_t i = 0; i < st->nb_ifs; i++)
		if (st->ifs[i].addr && st->ifs[i].addr == addr)
			return true;
	return false;
}

/* --- data path ---------------------------------------------------------- */

/* A super-frame from a driver that kept the sender's GSO: cut it into the
 * frames it stands for (checksums computed), then receive those. */
static void input_gso(struct weir_stack *st, struct weir_pkt *p)
{
	struct weir_pkt *seg[GSO_SEGS_MAX];
	int n = weir_gso_segment(p, st->pool, seg, GSO_SEGS_MAX, 0);

	if (n < 0) {
		st->st.ip_rx_gso_bad++;
		weir_pkt_free(p);
		return;
	}
	for (int i = 0; i < n; i++)
		sk_eth_input(st, seg[i]);
}

uint16_t weir_stack_input(struct weir_stack *st, struct weir_pkt **pkts, uint16_t n, weir_ns_t now)
{
	st->now = now;
	for (uint16_t i = 0; i < n; i++) {
		if (weir_unlikely(weir_pkt_is_gso(pkts[i])))
			input_gso(st, pkts[i]);
		else
			sk_eth_input(st, pkts[i]);
	}
	return n;
}

static void frag_expired(void *ctx, const struct weir_pkt *first)
{
	sk_icmp_error(ctx, first, WEIR_ICMP_TIME_EXCEEDED, WEIR_ICMP_EXC_FRAGTIME);
}

void weir_stack_timer(struct weir_stack *st, weir_ns_t now)
{
	st->now = now;
	sk_arp_timer(st);
	sk_frag_timer(st->frag, now, frag_expired, st);
}

/* --- forwarding ---------------------------------------------------------- */

int weir_stack_neigh_resolve(struct weir_stack *st, uint16_t iface, uint32_t addr, uint8_t mac[6],
			     weir_ns_t now)
{
	if (iface >= st->nb_ifs)
		return -ENOENT;
	st->now = now;
	return sk_arp_resolve(st, &st->ifs[iface], addr, mac) ? 0 : -EAGAIN;
}

int weir_stack_ip_output(struct weir_stack *st, uint16_t iface, struct weir_pkt *p,
			 uint32_t nexthop)
{
	if (iface >= st->nb_ifs) {
		weir_pkt_free(p);
		return -ENOENT;
	}
	p->l2_len = 0;
	sk_arp_output(st, &st->ifs[iface], p, nexthop);
	return 0;
}

/* --- counters and budgets ----------------------------------------------- */

struct xstat_def {
	const char *name;
	size_t off;
};

static const struct xstat_def stack_defs[] = {
#define SK_DEF(n) {#n, offsetof(struct sk_stats, n)},
	SK_STATS(SK_DEF)
#undef SK_DEF
};

static const struct xstat_def frag_defs[] = {
#define FRAG_DEF(n) {#n, offsetof(struct sk_frag_stats, n)},
	FRAG_STATS(FRAG_DEF)
#undef FRAG_DEF
};

static const char *const gauge_names[] = {
	"neigh_entries", "neigh_queued", "frag_mem_bytes", "frag_datagrams",
	"frag_budget_bytes", "frag_budget_source_bytes", "tx_pending",
};

static uint64_t gauge(const struct weir_stack *st, unsigned i)
{
	uint64_t pending = 0;

	switch (i) {
	case 0: return sk_arp_entries(st->arp);
	case 1: return sk_arp_queued(st->arp);
	case 2: return sk_frag_mem(st->frag);
	case 3: return sk_frag_datagrams(st->frag);
	case 4: return st->conf.frag_budget;
	case 5: return st->conf.frag_budget_source;
	default:
		for (uint16_t k = 0; k < st->nb_ifs; k++)
			pending += st->ifs[k].txq_len;
		return pending;
	}
}

#define NB_XSTATS (WEIR_ARRAY_SIZE(stack_defs) + WEIR_ARRAY_SIZE(frag_defs) + \
		   WEIR_ARRAY_SIZE(gauge_names))

/* Name and value of counter i < NB_XSTATS. */
static const char *xstat_at(const struct weir_stack *st, unsigned i, uint64_t *v)
{
	const struct sk_frag_stats *fs = sk_frag_stats(st->frag);

	if (i < WEIR_ARRAY_SIZE(stack_defs)) {
		memcpy(v, (const char *)&st->st + stack_defs[i].off, sizeof(*v));
		return stack_defs[i].name;
	}
	i -= (unsigned)WEIR_ARRAY_SIZE(stack_defs);
	if (i < WEIR_ARRAY_SIZE(frag_defs)) {
		memcpy(v, (const char *)fs + frag_defs[i].off, sizeof(*v));
		return frag_defs[i].name;
	}
	i -= (unsigned)WEIR_ARRAY_SIZE(frag_defs);
	*v = gauge(st, i);
	return gauge_names[i];
}

int weir_stack_xstats(const struct weir_stack *st, struct weir_xstat *xs, int n)
{
	for (unsigned i = 0; i < NB_XSTATS && (int)i < n; i++) {
		const char *name = xstat_at(st, i, &xs[i].value);

		snprintf(xs[i].name, sizeof(xs[i].name), "%s", name);
	}
	return (int)NB_XSTATS;
}

int weir_stack_xstat(const struct weir_stack *st, const char *name, uint64_t *value)
{
	for (unsigned i = 0; i < NB_XSTATS; i++) {
		uint64_t v;

		if (!strcmp(xstat_at(st, i, &v), name)) {
			*value = v;
			return 0;
		}
	}
	return -ENOENT;
}

int weir_stack_frag_budget(struct weir_stack *st, uint64_t total, uint64_t per_source)
{
	int err = sk_frag_set_budget(st->frag, total, per_source);

	if (!err) {
		st->conf.frag_budget = total ? total : st->conf.frag_budget;
		st->conf.frag_budget_source = per_source ? per_source : st->conf.frag_budget_source;
	}
	return err;
}

void weir_stack_frag_timeout(struct weir_stack *st, weir_ns_t timeout)
{
	st->conf.frag_timeout = timeout ? timeout : 30 * WEIR_NS_PER_SEC;
	sk_frag_set_timeout(st->frag, st->conf.frag_timeout);
}
