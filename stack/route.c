// SPDX-License-Identifier: BSD-3-Clause
/*
 * Routing: the longest-prefix-match table of include/weir/route.h (pure
 * algorithm, no packets), then the stack's glue: `ip route`-like commands,
 * and "which route and neighbour would this address take".
 *
 * The table is one open-addressing hash (linear probing, deletion by
 * backward shift, so no tombstones pile up) keyed by (prefix, length), and
 * a bitmap of the lengths that hold routes. A lookup masks the address for
 * each length in the bitmap from 32 down and probes for it: the first hit
 * is the longest match. Slots are at least twice the routes, so probes stay
 * short; routes are added by the operator, not by outsiders, so an
 * unkeyed mix suffices.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack_internal.h"

#define ROUTE_MAX_DEFAULT 1024
#define ROUTE_MAX_LIMIT (1u << 20)

struct slot {
	uint32_t prefix;
	uint32_t gateway;
	uint16_t iface;
	uint8_t len;
	uint8_t used;
};

struct weir_route_table {
	struct slot *slots;
	uint32_t mask;  /* slots - 1 */
	uint32_t count;
	uint32_t max;
	uint64_t lens;  /* bit L: some route has length L */
	uint32_t per_len[33];
};

static inline uint32_t slot_hash(uint32_t prefix, uint8_t len)
{
	uint64_t h = ((uint64_t)prefix << 8 | len) * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(h >> 32);
}

struct weir_route_table *weir_route_create(uint32_t max, int *err)
{
	struct weir_route_table *t;
	uint64_t n;

	if (!max)
		max = ROUTE_MAX_DEFAULT;
	if (max > ROUTE_MAX_LIMIT) {
		*err = -EINVAL;
		return NULL;
	}
	n = weir_align_pow2(2ull * max);
	if (n < 16)
		n = 16;
	t = calloc(1, sizeof(*t));
	if (t)
		t->slots = calloc(n, sizeof(*t->slots));
	if (!t || !t->slots) {
		free(t);
		*err = -ENOMEM;
		return NULL;
	}
	t->mask = (uint32_t)n - 1;
	t->max = max;
	*err = 0;
	return t;
}

void weir_route_destroy(struct weir_route_table *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t);
}

/* Slot holding prefix/len (already masked), or -1. At most mask + 1 probes. */
static int64_t slot_find(const struct weir_route_table *t, uint32_t prefix, uint8_t len)
{
	uint32_t i = slot_hash(prefix, len) & t->mask;

	for (uint32_t n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
		const struct slot *s = &t->slots[i];

		if (!s->used)
			return -1;
		if (s->prefix == prefix && s->len == len)
			return i;
	}
	return -1;
}

int weir_route_add(struct weir_route_table *t, const struct weir_route *r)
{
	uint32_t prefix, i;

	if (r->len > 32)
		return -EINVAL;
	prefix = r->prefix & weir_route_mask(r->len);
	if (slot_find(t, prefix, r->len) >= 0)
		return -EEXIST;
	if (t->count >= t->max)
		return -ENOSPC;
	/* count < max <= slots / 2: an empty slot is always found. */
	for (i = slot_hash(prefix, r->len) & t->mask; t->slots[i].used; i = (i + 1) & t->mask)
		;
	t->slots[i] = (struct slot){.prefix = prefix, .gateway = r->gateway, .iface = r->iface,
				    .len = r->len, .used = 1};
	t->count++;
	t->per_len[r->len]++;
	t->lens |= 1ull << r->len;
	return 0;
}

/* Empties slot i and moves later entries of its probe run back into the
 * hole, so every entry stays reachable from its home slot. */
static void slot_remove(struct weir_route_table *t, uint32_t i)
{
	uint32_t j = i;

	t->per_len[t->slots[i].len]--;
	if (!t->per_len[t->slots[i].len])
		t->lens &= ~(1ull << t->slots[i].len);
	t->count--;
	for (uint32_t n = 0; n <= t->mask; n++) {
		uint32_t home;

		j = (j + 1) & t->mask;
		if (!t->slots[j].used)
			break;
		home = slot_hash(t->slots[j].prefix, t->slots[j].len) & t->mask;
		/* Move j into the hole unless its home lies in (i, j]. */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].used = 0;
}

int weir_route_del(struct weir_route_table *t, uint32_t prefix, uint8_t len)
{
	int64_t i;

	if (len > 32)
		return -EINVAL;
	i = slot_find(t, prefix & weir_route_mask(len), len);
	if (i < 0)
		return -ENOENT;
	slot_remove(t, (uint32_t)i);
	return 0;
}

static void slot_out(const struct slot *s, struct weir_route *out)
{
	*out = (struct weir_route){.prefix = s->prefix, .len = s->len, .iface = s->iface,
				   .gateway = s->gateway};
}

int weir_route_lookup(const struct weir_route_table *t, uint32_t dst, struct weir_route *out)
{
	uint64_t lens = t->lens;

	while (lens) {
		uint8_t len = (uint8_t)(63 - __builtin_clzll(lens));
		int64_t i = slot_find(t, dst & weir_route_mask(len), len);

		if (i >= 0) {
			slot_out(&t->slots[i], out);
			return 0;
		}
		lens &= ~(1ull << len);
	}
	return -ENETUNREACH;
}

int weir_route_find(const struct weir_route_table *t, uint32_t prefix, uint8_t len,
		    struct weir_route *out)
{
	int64_t i;

	if (len > 32)
		return -ENOENT;
	i = slot_find(t, prefix & weir_route_mask(len), len);
	if (i < 0)
		return -ENOENT;
	slot_out(&t->slots[i], out);
	return 0;
}

uint32_t weir_route_del_iface(struct weir_route_table *t, uint16_t iface)
{
	uint32_t n = 0;

	/* Backward shift may move an unvisited entry into slot i: look at i
	 * again after removing. Each removal empties one slot for good. */
	for (uint32_t i = 0; i <= t->mask;) {
		if (t->slots[i].used && t->slots[i].iface == iface) {
			slot_remove(t, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

uint32_t weir_route_dump(const struct weir_route_table *t, struct weir_route *out, uint32_t n)
{
	uint32_t k = 0;

	for (int len = 32; len >= 0 && k < n; len--) {
		if (!(t->lens & (1ull << len)))
			continue;
		for (uint32_t i = 0; i <= t->mask && k < n; i++)
			if (t->slots[i].used && t->slots[i].len == len)
				slot_out(&t->slots[i], &out[k++]);
	}
	return t->count;
}

uint32_t weir_route_count(const struct weir_route_table *t)
{
	return t->count;
}

/* --- the stack's glue --------------------------------------------------- */

struct weir_route_table *weir_stack_routes(struct weir_stack *st)
{
	return st->routes;
}

static int parse_addr(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

/* "default", "A.B.C.D" (a /32) or "A.B.C.D/L". */
static int parse_prefix(char *s, uint32_t *prefix, uint8_t *len)
{
	char *slash = strchr(s, '/'), *end;
	unsigned long l = 32;

	if (!strcmp(s, "default")) {
		*prefix = 0;
		*len = 0;
		return 0;
	}
	if (slash) {
		*slash = '\0';
		l = strtoul(slash + 1, &end, 10);
		if (end == slash + 1 || *end || l > 32)
			return -EINVAL;
	}
	if (parse_addr(s, prefix))
		return -EINVAL;
	*len = (uint8_t)l;
	return 0;
}

struct route_cmd {
	bool add;
	struct weir_route r;
	bool has_gw, has_dev;
};

static int parse_cmd(struct weir_stack *st, char *buf, struct route_cmd *c, char *why,
		     size_t whylen)
{
	char *save = NULL, *tok = strtok_r(buf, " \t", &save);

	memset(c, 0, sizeof(*c));
	if (!tok || (strcmp(tok, "add") && strcmp(tok, "del")))
		return snprintf(why, whylen, "route: expected add or del, got '%s' (e.g. add "
				"10.1.0.0/16 via 10.0.0.1)", tok ? tok : ""), -EINVAL;
	c->add = !strcmp(tok, "add");
	tok = strtok_r(NULL, " \t", &save);
	if (!tok || parse_prefix(tok, &c->r.prefix, &c->r.len))
		return snprintf(why, whylen, "route: '%s' is not a prefix (A.B.C.D/LEN or default)",
				tok ? tok : ""), -EINVAL;
	/* Bounded: each pass consumes two tokens. */
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *arg = strtok_r(NULL, " \t", &save);
		int ifx;

		if (!arg)
			return snprintf(why, whylen, "route: '%s' needs a value", tok), -EINVAL;
		if (!strcmp(tok, "via")) {
			if (parse_addr(arg, &c->r.gateway) || !c->r.gateway)
				return snprintf(why, whylen, "route: gateway '%s' is not an address",
						arg), -EINVAL;
			c->has_gw = true;
		} else if (!strcmp(tok, "dev")) {
			ifx = weir_stack_iface_find(st, arg);
			if (ifx < 0)
				return snprintf(why, whylen, "route: no interface '%s'", arg), -ENOENT;
			c->r.iface = (uint16_t)ifx;
			c->has_dev = true;
		} else {
			return snprintf(why, whylen, "route: unknown keyword '%s' (via, dev)", tok),
			       -EINVAL;
		}
	}
	return 0;
}

/* Completes an add: a gateway must be on a connected subnet, whose
 * interface is the route's unless dev named another (refused). */
static int resolve_gw(struct weir_stack *st, struct route_cmd *c, char *why, size_t whylen)
{
	struct weir_route conn;
	char a[INET_ADDRSTRLEN];
	uint32_t be = htonl(c->r.gateway);

	if (!c->has_gw) {
		if (!c->has_dev)
			return snprintf(why, whylen, "route: add needs 'via GATEWAY' or 'dev IFACE'"),
			       -EINVAL;
		return 0;
	}
	inet_ntop(AF_INET, &be, a, sizeof(a));
	if (weir_route_lookup(st->routes, c->r.gateway, &conn) || conn.gateway ||
	    (c->has_dev && conn.iface != c->r.iface))
		return snprintf(why, whylen, "route: gateway %s is not on a connected subnet%s%s",
				a, c->has_dev ? " of " : "",
				c->has_dev ? st->ifs[c->r.iface].name : ""), -ENETUNREACH;
	c->r.iface = conn.iface;
	return 0;
}

int weir_stack_route_cmd(struct weir_stack *st, const char *cmd, char *why, size_t whylen)
{
	char buf[256];
	struct route_cmd c;
	int err;

	if (strlen(cmd) >= sizeof(buf))
		return snprintf(why, whylen, "route: command longer than %zu bytes", sizeof(buf) - 1),
		       -EINVAL;
	strcpy(buf, cmd);
	err = parse_cmd(st, buf, &c, why, whylen);
	if (err)
		return err;
	if (!c.add) {
		err = weir_route_del(st->routes, c.r.prefix, c.r.len);
		if (err)
			snprintf(why, whylen, "route: no route %s to delete", cmd + 4);
		return err;
	}
	err = resolve_gw(st, &c, why, whylen);
	if (err)
		return err;
	err = weir_route_add(st->routes, &c.r);
	if (err == -EEXIST)
		snprintf(why, whylen, "route: a route for that prefix exists (del it first)");
	else if (err == -ENOSPC)
		snprintf(why, whylen, "route: the table is full (%u routes)",
			 weir_route_count(st->routes));
	return err;
}

int weir_stack_route_get(struct weir_stack *st, uint32_t dst, struct weir_stack_route_info *out)
{
	struct weir_route r;
	struct sk_iface *ifc;
	int err;

	memset(out, 0, sizeof(*out));
	out->dst = dst;
	err = weir_route_lookup(st->routes, dst, &r);
	if (!err)
		err = sk_ipv4_route(st, dst, &ifc, &out->nexthop, &out->broadcast);
	if (err)
		return err;
	out->prefix = r.prefix;
	out->len = r.len;
	out->iface = ifc->idx;
	out->gateway = r.gateway;
	out->src = ifc->addr;
	if (!out->broadcast && !sk_addr_is_mcast(dst))
		out->neigh = sk_arp_state(st->arp, ifc->idx, out->nexthop, out->mac);
	return 0;
}

static const char *const neigh_names[] = {"", "INCOMPLETE", "REACHABLE", "STALE", "PROBE"};

int weir_stack_route_format(const struct weir_stack *st, const struct weir_stack_route_info *in,
			    char *buf, size_t len)
{
	char d[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN], s[INET_ADDRSTRLEN], mac[32] = "";
	uint32_t bd = htonl(in->dst), bg = htonl(in->gateway), bs = htonl(in->src);

	inet_ntop(AF_INET, &bd, d, sizeof(d));
	inet_ntop(AF_INET, &bg, g, sizeof(g));
	inet_ntop(AF_INET, &bs, s, sizeof(s));
	if (in->neigh >= WEIR_NEIGH_REACHABLE && in->neigh <= WEIR_NEIGH_PROBE)
		snprintf(mac, sizeof(mac), " lladdr %02x:%02x:%02x:%02x:%02x:%02x", in->mac[0],
			 in->mac[1], in->mac[2], in->mac[3], in->mac[4], in->mac[5]);
	return snprintf(buf, len, "%s%s%s%s dev %s src %s%s%s%s", in->broadcast ? "broadcast " : "",
			d, in->gateway ? " via " : "", in->gateway ? g : "",
			in->iface < st->nb_ifs ? st->ifs[in->iface].name : "?", s, mac,
			in->neigh ? " " : "",
			in->neigh <= WEIR_NEIGH_PROBE ? neigh_names[in->neigh] : "");
}
