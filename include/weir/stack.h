/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small zero-copy UDP/IPv4 stack over weir ports: Ethernet II with
 * 802.1Q, ARP with a neighbour cache, IPv4 with fragmentation and
 * reassembly, ICMP (echo, errors), UDP sockets (udp.h) and a routing table
 * (route.h). One file per protocol in stack/.
 *
 * The stack never calls a driver. The caller owns the ports: it hands
 * received bursts to weir_stack_input(), runs weir_stack_timer() now and
 * then (ARP retries and expiry, reassembly timeouts), and drains what the
 * stack wants sent on each interface with weir_stack_drain(), which it
 * passes to the port's tx burst. So the stack runs the same over afxdp,
 * afpacket, ring ports or a unit test's arrays.
 *
 * Everything an outsider can grow has a budget: neighbour entries, packets
 * waiting for ARP (per neighbour and in all), reassembly memory in bytes
 * (per source address and in all, changeable at run time), socket queues,
 * interface output queues. Every packet the stack drops is counted under
 * a reason, readable by name with weir_stack_xstats().
 *
 * Addresses are host byte order (10.0.0.1 is 0x0a000001); MAC addresses
 * are 6 bytes in wire order. Time is the caller's monotonic clock in ns
 * (weir_clock_now()), passed in, so tests control it.
 *
 * Thread safety: a stack and its sockets belong to one thread.
 */
#ifndef WEIR_STACK_H
#define WEIR_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "pkt.h"
#include "pool.h"
#include "port.h"

struct weir_stack;
struct weir_route_table;

#define WEIR_STACK_IFACE_MAX 16
#define WEIR_STACK_MCAST_MAX 8
#define WEIR_STACK_IFNAMESIZE 16

/* Every field has a default for 0. */
struct weir_stack_conf {
	/* Buffers for what the stack makes: ARP and ICMP packets, header
	 * segments, fragment slices (metadata only). Required. */
	struct weir_pool *pool;
	uint32_t tx_queue_len;        /* packets per interface awaiting drain: 4096 */
	uint8_t ttl;                  /* of sent datagrams: 64 */
	uint32_t neigh_max;           /* neighbour entries: 1024 */
	uint32_t neigh_queue;         /* packets awaiting ARP per neighbour: 64 */
	uint32_t neigh_queue_total;   /* ... in all: 1024 */
	weir_ns_t neigh_reachable;    /* an answer is believed for: 30 s */
	weir_ns_t neigh_retrans;      /* between requests: 1 s */
	uint32_t neigh_probes;        /* requests before giving up: 3 */
	weir_ns_t neigh_gc;           /* unused stale entries go after: 60 s */
	uint64_t frag_budget;         /* reassembly memory in bytes: 4 MiB */
	uint64_t frag_budget_source;  /* ... per source address: 1 MiB */
	weir_ns_t frag_timeout;       /* a datagram may take: 30 s */
	uint32_t icmp_rate;           /* ICMP errors per second: 1000 */
	uint32_t icmp_burst;          /* ... in a burst: 50 */
	uint32_t echo_rate;           /* echo replies per second: 0, unlimited */
	uint32_t echo_burst;          /* ... in a burst: echo_rate / 10 + 1 */
	uint64_t seed;                /* hash keys; 0: random (getrandom) */
};

struct weir_stack_iface_conf {
	const char *name;       /* for messages and route commands; default "ifN" */
	struct weir_port *port; /* the caller's, given back by weir_stack_iface_port; may be NULL */
	uint16_t port_id;       /* pkt->port of frames from this interface */
	uint16_t queue;         /* the caller's, given back too */
	uint8_t mac[6];
	uint32_t addr;          /* host order, 0: none (then only ARP replies are missing) */
	uint8_t prefix;         /* 0..32; a connected route is added for addr/prefix */
	uint16_t vlan;          /* 802.1Q VID 1..4094 sent and required on receive; 0: untagged */
	uint32_t mtu;           /* IP MTU: 1500 */
	uint32_t tx_offloads;   /* enum weir_port_offload bits (weir_port_tx_offloads()) */
	bool no_garp;           /* no gratuitous ARP when added */
};

/* Neighbour states, as `ip neigh` names them. */
enum weir_neigh_state {
	WEIR_NEIGH_NONE = 0,   /* no entry */
	WEIR_NEIGH_INCOMPLETE, /* asked, no answer yet */
	WEIR_NEIGH_REACHABLE,  /* answered within neigh_reachable */
	WEIR_NEIGH_STALE,      /* answer older than that; used, re-asked on use */
	WEIR_NEIGH_PROBE,      /* re-asking while still using the old answer */
};

/* What `ip route get` says about a destination. */
struct weir_stack_route_info {
	uint32_t dst;
	uint32_t prefix;    /* the route that matched */
	uint8_t len;
	uint16_t iface;
	uint32_t gateway;   /* 0: directly connected */
	uint32_t nexthop;   /* gateway, or dst itself */
	uint32_t src;       /* the interface's address */
	enum weir_neigh_state neigh;
	uint8_t mac[6];     /* the next hop's, when neigh is REACHABLE/STALE/PROBE */
	bool broadcast;     /* dst is a broadcast: sent to ff:ff:ff:ff:ff:ff */
};

/* --- life ------------------------------------------------------------ */

/* NULL and *err = -EINVAL (no pool, or a budget/limit out of range) or
 * -ENOMEM. */
struct weir_stack *weir_stack_create(const struct weir_stack_conf *conf, int *err);

/* Frees everything the stack holds (queued, waiting, reassembling) and
 * closes the sockets still open (their pointers are invalid afterwards).
 * NULL is allowed. */
void weir_stack_destroy(struct weir_stack *stack);

/*
 * Adds an interface; returns its index (0, 1, ...) or a negative errno
 * with a message in why: -EINVAL (bad prefix, VID, MTU below 68 or above
 * 65535, name taken), -ENOSPC (WEIR_STACK_IFACE_MAX interfaces), -EEXIST
 * (same port and VLAN as another interface). Adds the connected route and,
 * unless no_garp, queues a gratuitous ARP request.
 */
int weir_stack_iface_add(struct weir_stack *stack, const struct weir_stack_iface_conf *conf,
			 char *why, size_t whylen);

/* Index of the interface called name, or -ENOENT. */
int weir_stack_iface_find(const struct weir_stack *stack, const char *name);
uint16_t weir_stack_nb_ifaces(const struct weir_stack *stack);
/* The name given at iface_add (or "ifN"), or NULL when there is no such
 * interface. */
const char *weir_stack_iface_name(const struct weir_stack *stack, uint16_t iface);
/* The port and queue given at iface_add: 0 or -ENOENT. */
int weir_stack_iface_port(const struct weir_stack *stack, uint16_t iface, struct weir_port **port,
			  uint16_t *queue);

/* Accepts frames to this multicast MAC on iface: 0, -EINVAL (not a
 * multicast address), -ENOSPC (WEIR_STACK_MCAST_MAX), -ENOENT (iface). */
int weir_stack_iface_mcast_add(struct weir_stack *stack, uint16_t iface, const uint8_t mac[6]);
int weir_stack_iface_mcast_del(struct weir_stack *stack, uint16_t iface, const uint8_t mac[6]);

/* Queues a gratuitous ARP request for iface's address: 0, -ENOENT,
 * -EADDRNOTAVAIL (no address), -ENOBUFS. */
int weir_stack_garp(struct weir_stack *stack, uint16_t iface);

/* --- data path -------------------------------------------------------- */

/*
 * Takes n received frames (full Ethernet frames; pkt->port says which
 * interface, with the VLAN tag). Every one is consumed: delivered to a
 * socket, answered, held for reassembly, or dropped and counted. Returns n.
 */
uint16_t weir_stack_input(struct weir_stack *stack, struct weir_pkt **pkts, uint16_t n,
			  weir_ns_t now);

/* Runs what is due at now: ARP retries and expiry, reassembly timeouts. */
void weir_stack_timer(struct weir_stack *stack, weir_ns_t now);

/*
 * Moves up to n frames the stack wants sent on iface into pkts, in order;
 * returns how many. The caller owns them (tx burst them, free what the
 * port does not take). Checksums are complete unless the interface has
 * WEIR_PORT_OFFLOAD_CSUM, where UDP checksums of unfragmented datagrams
 * are left partial (WEIR_PKT_OL_CSUM_PARTIAL, csum_start/csum_offset).
 */
uint16_t weir_stack_drain(struct weir_stack *stack, uint16_t iface, struct weir_pkt **pkts,
			  uint16_t n);

/* Frames waiting in iface's output queue. */
uint32_t weir_stack_pending(const struct weir_stack *stack, uint16_t iface);

/*
 * Sends an ICMP error about orig (a packet whose data starts at its IPv4
 * header, as a router holds it after pulling Ethernet) back to its source:
 * type WEIR_ICMP_DEST_UNREACH or WEIR_ICMP_TIME_EXCEEDED and a code from
 * proto/icmp.h. Quotes orig's header and up to 548 bytes of what follows.
 * orig stays the caller's. 0; -EINVAL (not an IPv4 header); -EPERM (RFC
 * 1122 says not to: orig is an ICMP error, a non-first fragment, or from or
 * to a broadcast/multicast/zero address); -EAGAIN (rate limited);
 * -ENETUNREACH; -ENOBUFS. All but -EINVAL are counted.
 */
int weir_stack_icmp_error(struct weir_stack *stack, const struct weir_pkt *orig, uint8_t type,
			  uint8_t code);

/* As weir_stack_icmp_error() with type WEIR_ICMP_DEST_UNREACH, code
 * WEIR_ICMP_FRAG_NEEDED and mtu as the next-hop MTU (RFC 1191): what a
 * router answers a DF datagram too big for the next link. */
int weir_stack_icmp_frag_needed(struct weir_stack *stack, const struct weir_pkt *orig,
				uint16_t mtu);

/* --- forwarding (routers) -------------------------------------------- */

/*
 * A router's fast path: the MAC of neighbour addr on iface into mac when
 * the cache has a usable one (REACHABLE, STALE, PROBE), marking it used
 * (a STALE entry is re-asked by unicast, as sending to it would do); now
 * is the caller's clock. 0, -EAGAIN when it is not resolved (send the
 * packet with weir_stack_ip_output(), which asks and holds it), or
 * -ENOENT (no such interface).
 */
int weir_stack_neigh_resolve(struct weir_stack *stack, uint16_t iface, uint32_t addr,
			     uint8_t mac[6], weir_ns_t now);

/*
 * Sends IPv4 packet p (data at its IP header, the header complete, as a
 * router forwards it) to neighbour nexthop on iface: queued on iface's
 * output at once when the neighbour is known, else held (within the
 * neigh_queue budgets) until ARP resolves it. Consumes p: 0, or -ENOENT
 * (no such interface; p freed). Drops past this point are counted
 * (arp_drop_queue_full, arp_drop_unresolved, ...).
 */
int weir_stack_ip_output(struct weir_stack *stack, uint16_t iface, struct weir_pkt *p,
			 uint32_t nexthop);

/* --- routes and neighbours ------------------------------------------- */

/* The stack's table (interfaces add their connected routes to it). */
struct weir_route_table *weir_stack_routes(struct weir_stack *stack);

/*
 * Changes routes with a command as `ip route` takes it:
 *     add 10.1.0.0/16 via 10.0.0.1 [dev if0]
 *     add 10.2.0.0/24 dev if1
 *     add default via 10.0.0.1
 *     del 10.1.0.0/16
 * A gateway must be reachable through a connected route (its interface is
 * taken from there when dev is not given). 0, or -EINVAL/-EEXIST/-ENOENT/
 * -ENOSPC/-ENETUNREACH with a message in why naming the problem.
 */
int weir_stack_route_cmd(struct weir_stack *stack, const char *cmd, char *why, size_t whylen);

/* Which route, interface and neighbour a datagram to dst would take (no
 * ARP request is sent): 0 or -ENETUNREACH. */
int weir_stack_route_get(struct weir_stack *stack, uint32_t dst, struct weir_stack_route_info *out);

/* `ip route get`'s line for info: "10.1.2.3 via 10.0.0.1 dev if0 src
 * 10.0.0.2 lladdr 02:00:00:00:00:01 REACHABLE". Returns snprintf's. */
int weir_stack_route_format(const struct weir_stack *stack,
			    const struct weir_stack_route_info *info, char *buf, size_t len);

/* State of the neighbour entry for addr on iface, and its MAC into mac
 * (may be NULL) when it has one. */
enum weir_neigh_state weir_stack_neigh_get(const struct weir_stack *stack, uint16_t iface,
					   uint32_t addr, uint8_t mac[6]);

/* --- counters and budgets -------------------------------------------- */

/*
 * The stack's counters by name ("udp_rx_csum", "frag_drop_budget_source",
 * ...; gauges such as frag_mem_bytes too), up to n into xs. Returns how
 * many there are (may exceed n). Drop counters count packets (fragments for
 * frag_*) and are named <layer>_drop_<reason> or <layer>_rx_<problem>.
 */
int weir_stack_xstats(const struct weir_stack *stack, struct weir_xstat *xs, int n);

/* One counter by name: 0, or -ENOENT. */
int weir_stack_xstat(const struct weir_stack *stack, const char *name, uint64_t *value);

/*
 * Sets the reassembly budgets in bytes (0 leaves one as it is). What is
 * held beyond a lowered budget is discarded (oldest datagrams first,
 * counted as frag_drop_budget_*). 0, or -EINVAL (per_source above total).
 * A datagram is charged its fragments' buffer sizes plus metadata, so many
 * tiny fragments cost what they occupy, not what they carry.
 */
int weir_stack_frag_budget(struct weir_stack *stack, uint64_t total, uint64_t per_source);

/* Sets the reassembly timeout (0: 30 s). */
void weir_stack_frag_timeout(struct weir_stack *stack, weir_ns_t timeout);

#endif
