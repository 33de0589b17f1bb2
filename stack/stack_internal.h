/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the protocol files of stack/ share and nothing else sees: struct
 * weir_stack itself, the per-reason counters, the interface, the calls one
 * layer makes into another, and packet helpers that work across segments.
 *
 * Conventions inside the stack:
 *  - A received packet moves up with its data at the start of the header
 *    of the layer that gets it: eth_input() pulls the Ethernet header;
 *    ipv4 hands L4 the packet still starting at the IP header (l3_len set),
 *    so an ICMP error can quote it, and the L4 layer pulls what it consumed.
 *  - Every function that takes a packet consumes it (delivers, holds, or
 *    frees and counts it), unless its comment says otherwise.
 *  - Packet bytes are untrusted: headers are read with weir_pkt_copy_out()
 *    or weir_pkt_read() against pkt_len, never by casting into a buffer
 *    whose length was not checked.
 */
#ifndef WEIR_STACK_INTERNAL_H
#define WEIR_STACK_INTERNAL_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "weir/hash.h"
#include "weir/pkt.h"
#include "weir/proto/ether.h"
#include "weir/proto/ipv4.h"
#include "weir/route.h"
#include "weir/stack.h"
#include "weir/udp.h"

struct sk_arp;
struct sk_frag;

/* Drop and event counters, by layer. The name of each is its xstat name. */
#define SK_STATS(X)                                                                             \
	X(eth_rx_frames) X(eth_rx_short) X(eth_rx_not_ours) X(eth_rx_no_iface)                 \
	X(eth_rx_ethertype) X(eth_tx_frames) X(eth_tx_queue_full) X(eth_tx_nobufs)             \
	X(arp_rx_requests) X(arp_rx_replies) X(arp_rx_bad) X(arp_rx_bad_sender)                \
	X(arp_rx_not_ours) X(arp_rx_unsolicited) X(arp_rx_update_refused) X(arp_rx_conflict)   \
	X(arp_tx_requests) X(arp_tx_replies) X(arp_tx_gratuitous) X(arp_drop_queue_full)       \
	X(arp_drop_unresolved) X(arp_drop_table_full) X(arp_drop_nobufs)                       \
	X(ip_rx_packets) X(ip_rx_short) X(ip_rx_version) X(ip_rx_ihl) X(ip_rx_bad_len)         \
	X(ip_rx_csum) X(ip_rx_bad_saddr) X(ip_rx_not_ours) X(ip_rx_proto) X(ip_rx_gso_bad)     \
	X(ip_tx_packets) X(ip_tx_fragments) X(ip_drop_no_route) X(ip_drop_too_big)              \
	X(ip_drop_nobufs)                                                                      \
	X(icmp_rx_packets) X(icmp_rx_short) X(icmp_rx_csum) X(icmp_rx_echo_requests)           \
	X(icmp_rx_echo_bcast) X(icmp_rx_errors) X(icmp_rx_other) X(icmp_tx_echo_replies)       \
	X(icmp_tx_errors) X(icmp_drop_rate_limited) X(icmp_drop_nobufs)                        \
	X(udp_rx_datagrams) X(udp_rx_short) X(udp_rx_bad_len) X(udp_rx_csum)                   \
	X(udp_rx_no_socket) X(udp_rx_queue_full) X(udp_rx_delivered) X(udp_rx_csum_trusted)   \
	X(udp_tx_datagrams) X(udp_tx_csum_partial) X(udp_tx_errors)

struct sk_stats {
#define SK_FIELD(n) uint64_t n;
	SK_STATS(SK_FIELD)
#undef SK_FIELD
};

struct sk_iface {
	char name[WEIR_STACK_IFNAMESIZE];
	struct weir_port *port;
	uint16_t port_id;
	uint16_t queue;
	uint16_t idx;
	uint16_t vlan;
	uint8_t mac[6];
	uint8_t plen;
	uint8_t nb_mcast;
	uint32_t addr;  /* host order, 0: none */
	uint32_t mask;
	uint32_t bcast; /* directed broadcast, 0 when prefix >= 31 or no address */
	uint32_t mtu;
	uint32_t tx_offloads;
	uint8_t mcast[WEIR_STACK_MCAST_MAX][6];
	/* Output queue, linked through qnext, drained by weir_stack_drain(). */
	struct weir_pkt *txq_head, *txq_tail;
	uint32_t txq_len;
};

/* Token bucket in tokens x 1e9 (one token per message). */
struct sk_bucket {
	uint64_t tokens;
	uint64_t cap;
	uint32_t rate; /* tokens per second, 0: unlimited */
	weir_ns_t last;
};

struct weir_stack {
	struct weir_pool *pool;
	struct weir_stack_conf conf;
	weir_ns_t now; /* last time given to input or timer */
	uint16_t nb_ifs;
	uint16_t ip_id;
	struct sk_iface ifs[WEIR_STACK_IFACE_MAX];
	struct weir_route_table *routes;
	struct sk_arp *arp;
	struct sk_frag *frag;
	struct weir_udp_sock **socks; /* by local port, 65536 */
	uint16_t ephemeral_next;
	struct sk_bucket icmp_tb, echo_tb;
	struct weir_hash_key hash_key;
	struct sk_stats st;
};

/* What ipv4 input found, for the L4 layers. */
struct sk_ip_info {
	uint32_t saddr, daddr;
	uint8_t proto;
	uint8_t ihl;
	uint8_t tos;
	bool bcast;      /* daddr is a broadcast or multicast address */
	struct sk_iface *ifc;
};

/* --- keys (src/hash.c) --------------------------------------------- */

/* Tables fed by outsiders are keyed with weir_siphash(), so nobody can aim
 * at one bucket. Fills key from getrandom(), or from seed when seed is not
 * 0 (tests). */
static inline void sk_hash_key(struct weir_hash_key *key, uint64_t seed)
{
	if (seed)
		weir_hash_key_from_seed(key, seed);
	else
		(void)weir_hash_key_random(key); /* weak fallback key on failure */
}

/* --- pkt_util.c ------------------------------------------------------ */

/* A segment whose bytes only this packet sees (may be written). */
static inline bool sk_seg_writable(const struct weir_pkt *s)
{
	return !(s->flags & WEIR_PKT_F_INDIRECT) && weir_pkt_refcnt(s) == 1;
}

/* Removes len bytes from the front, across segments (emptied leading
 * segments are freed; the packet may get a new head, which *pp then
 * points at). 0, or -EINVAL (fewer than len bytes; unchanged). */
int sk_pull(struct weir_pkt **pp, uint32_t len);

/* Cuts the chain to len bytes (len <= pkt_len), freeing segments past it. */
void sk_trim_to(struct weir_pkt *p, uint32_t len);

/*
 * Prepends len bytes for headers: into the head's headroom when the head
 * is a plain pool buffer of its own with len + reserve bytes of headroom,
 * else into a new header segment from pool chained in front (*pp then
 * points at it). reserve is room kept for headers pushed later, so they
 * cannot fail. Returns the header bytes, or NULL (-ENOBUFS, -E2BIG: the
 * packet is unchanged). *chained says which happened, for sk_unpush().
 * A partial checksum's csum_start moves with the data.
 */
uint8_t *sk_push(struct weir_pkt **pp, uint16_t len, uint16_t reserve, struct weir_pool *pool,
		 bool *chained);

/* Undoes sk_push(pp, len, ...). */
void sk_unpush(struct weir_pkt **pp, uint16_t len, bool chained);

/* A packet made of indirect segments sharing bytes [off, off + len) of p
 * (read-only for both), metadata from pool; p is unchanged. NULL and *err
 * = -ENOBUFS or -EINVAL (range outside p, len 0). */
struct weir_pkt *sk_clone_range(struct weir_pkt *p, uint32_t off, uint32_t len,
				struct weir_pool *pool, int *err);

/* Writes len bytes at offset off across segments: 0, -EINVAL (past
 * pkt_len) or -EPERM (some byte is in a shared segment; nothing written). */
int sk_write(struct weir_pkt *p, uint32_t off, const void *src, uint32_t len);

/* Copies the per-packet metadata (not the lengths or links) to dst. */
void sk_copy_meta(struct weir_pkt *dst, const struct weir_pkt *src);

/* A fresh packet from pool with len bytes of data for the caller to fill,
 * headroom as the pool's; NULL when empty. */
struct weir_pkt *sk_alloc(struct weir_pool *pool, uint16_t len);

/* --- stack.c ---------------------------------------------------------- */

void sk_bucket_init(struct sk_bucket *b, uint32_t rate, uint32_t burst);
/* Takes a token: true when there was one (or the rate is unlimited). */
bool sk_bucket_take(struct sk_bucket *b, weir_ns_t now);

/* The interface frames of port_id with VLAN vid (0: untagged) belong to. */
struct sk_iface *sk_iface_by_port(struct weir_stack *st, uint16_t port_id, uint16_t vid);
/* True when addr is one of the stack's interface addresses. */
bool sk_addr_is_local(const struct weir_stack *st, uint32_t addr);

static inline bool sk_addr_is_mcast(uint32_t a)
{
	return (a >> 28) == 0xe;
}

/* Broadcast as seen from ifc: limited, or ifc's directed broadcast. */
static inline bool sk_addr_is_bcast(const struct sk_iface *ifc, uint32_t a)
{
	return a == 0xffffffffu || (ifc->bcast && a == ifc->bcast);
}

/* --- eth.c ------------------------------------------------------------ */

/* A received frame: filter, demultiplex, hand to ARP or IPv4. */
void sk_eth_input(struct weir_stack *st, struct weir_pkt *p);

/* Pushes the Ethernet (and VLAN) header for dst/type and queues p on ifc's
 * output; counts and frees when the queue is full or no buffer is left. */
void sk_eth_xmit(struct weir_stack *st, struct sk_iface *ifc, struct weir_pkt *p,
		 const uint8_t dst[6], uint16_t type);

/* Bytes of Ethernet (+ VLAN) header ifc's frames carry. */
static inline uint16_t sk_eth_hlen(const struct sk_iface *ifc)
{
	return (uint16_t)(WEIR_ETHER_HDR_LEN + (ifc->vlan ? WEIR_VLAN_HDR_LEN : 0));
}

/* --- arp.c ------------------------------------------------------------ */

struct sk_arp *sk_arp_create(struct weir_stack *st, int *err);
void sk_arp_destroy(struct sk_arp *a);
void sk_arp_input(struct weir_stack *st, struct sk_iface *ifc, struct weir_pkt *p);
/* Sends IPv4 packet p (data at its IP header) to nexthop on ifc, now or
 * once ARP has resolved it; counts and frees what cannot wait. */
void sk_arp_output(struct weir_stack *st, struct sk_iface *ifc, struct weir_pkt *p,
		   uint32_t nexthop);
/* The MAC of a usable entry for nexthop on ifc into mac (marked used, a
 * STALE one re-asked): true, or false when there is none yet. */
bool sk_arp_resolve(struct weir_stack *st, struct sk_iface *ifc, uint32_t nexthop, uint8_t mac[6]);
void sk_arp_timer(struct weir_stack *st);
int sk_arp_send_request(struct weir_stack *st, struct sk_iface *ifc, uint32_t target,
			const uint8_t *unicast);
enum weir_neigh_state sk_arp_state(const struct sk_arp *a, uint16_t iface, uint32_t addr,
				   uint8_t mac[6]);
/* Gauges: entries in use, packets waiting. */
uint32_t sk_arp_entries(const struct sk_arp *a);
uint32_t sk_arp_queued(const struct sk_arp *a);

/* --- ipv4.c ----------------------------------------------------------- */

void sk_ipv4_input(struct weir_stack *st, struct sk_iface *ifc, struct weir_pkt *p);

/* Where a datagram to dst goes: its interface, next hop and whether dst is
 * a broadcast there. 0 or -ENETUNREACH. */
int sk_ipv4_route(struct weir_stack *st, uint32_t dst, struct sk_iface **ifc, uint32_t *nexthop,
		  bool *bcast);

/*
 * Sends L4 datagram p (data at its L4 header, headroom or a header segment
 * reserved by sk_push) from src to dst through ifc/nexthop: pushes the IPv4
 * header, or makes fragments (each a header segment chained in front of a
 * slice of p) when it is larger than the MTU. 0 (p consumed: queued,
 * waiting for ARP, or dropped and counted past this point), or -ENOBUFS /
 * -EMSGSIZE with p unchanged and still the caller's.
 */
int sk_ipv4_output(struct weir_stack *st, struct sk_iface *ifc, struct weir_pkt *p, uint32_t src,
		   uint32_t dst, uint32_t nexthop, uint8_t proto, bool bcast);

/* Stores the IPv4 header checksum of the ihl bytes at h. */
void sk_ipv4_set_csum(uint8_t *h, unsigned ihl);

/* --- icmp.c ----------------------------------------------------------- */

void sk_icmp_input(struct weir_stack *st, struct weir_pkt *p, const struct sk_ip_info *ip);
/* weir_stack_icmp_error() without the public checks' counting of -EINVAL. */
int sk_icmp_error(struct weir_stack *st, const struct weir_pkt *orig, uint8_t type, uint8_t code);
/* The same with the header's second word (network order): FRAG_NEEDED's MTU. */
int sk_icmp_error_word(struct weir_stack *st, const struct weir_pkt *orig, uint8_t type,
		       uint8_t code, uint32_t word);

/* --- udp.c ------------------------------------------------------------ */

void sk_udp_input(struct weir_stack *st, struct weir_pkt *p, const struct sk_ip_info *ip);
/* Frees every socket's queue (at stack destruction). */
void sk_udp_destroy_all(struct weir_stack *st);

#endif
