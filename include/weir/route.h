/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An IPv4 routing table with longest-prefix match, on its own (no packets,
 * no interfaces beyond an index): the stack uses one for output, a router
 * can use one for forwarding.
 *
 * Routes live in one open-addressing hash table keyed by (prefix, length);
 * a bitmap says which of the 33 lengths hold any route, and a lookup probes
 * those lengths from the longest down, so it costs one probe per length in
 * use (typically three or four: host routes, the connected subnets, the
 * default), whatever the number of routes. Adding and deleting are O(1).
 *
 * Addresses are host byte order (10.0.0.1 is 0x0a000001). Thread safety:
 * none; one thread changes and reads a table (the stack's lcore), or the
 * caller serialises.
 */
#ifndef WEIR_ROUTE_H
#define WEIR_ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct weir_route_table;

struct weir_route {
	uint32_t prefix;  /* network, host order; bits beyond len are ignored */
	uint8_t len;      /* 0..32; 0 is the default route */
	uint16_t iface;   /* the stack's interface index (or the caller's) */
	uint32_t gateway; /* next hop, host order; 0: directly connected */
};

/* Network mask of a prefix length (0..32), host order. */
static inline uint32_t weir_route_mask(uint8_t len)
{
	return len ? ~0u << (32 - len) : 0;
}

/* A table for up to max routes (0: 1024). NULL and *err = -EINVAL (max
 * above 1 << 20) or -ENOMEM. */
struct weir_route_table *weir_route_create(uint32_t max, int *err);
void weir_route_destroy(struct weir_route_table *t);

/* Adds r (prefix masked to len). 0; -EINVAL (len > 32); -EEXIST when a
 * route for that prefix and length exists (delete it first); -ENOSPC when
 * the table holds max routes. */
int weir_route_add(struct weir_route_table *t, const struct weir_route *r);

/* Removes the route for prefix/len: 0, -ENOENT, or -EINVAL (len > 32). */
int weir_route_del(struct weir_route_table *t, uint32_t prefix, uint8_t len);

/* The most specific route covering dst into *out: 0, or -ENETUNREACH when
 * no route covers it (no default route). */
int weir_route_lookup(const struct weir_route_table *t, uint32_t dst, struct weir_route *out);

/* The route for exactly prefix/len: 0 or -ENOENT. */
int weir_route_find(const struct weir_route_table *t, uint32_t prefix, uint8_t len,
		    struct weir_route *out);

/* Removes every route through iface; returns how many. */
uint32_t weir_route_del_iface(struct weir_route_table *t, uint16_t iface);

/* Copies up to n routes into out, longest prefixes first; returns how many
 * the table holds (may exceed n). */
uint32_t weir_route_dump(const struct weir_route_table *t, struct weir_route *out, uint32_t n);

uint32_t weir_route_count(const struct weir_route_table *t);

#endif
