/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 forwarding decisions for a router (RFC 1812), apart from packets
 * and ports so they can be tested alone: what a received IPv4 header asks
 * for (forward, deliver locally, or drop and why), the TTL decrement with
 * the header checksum updated incrementally (RFC 1624), and fragmentation
 * of a forwarded datagram that does not fit the next link (RFC 791 §3.2:
 * each fragment keeps the original header, copying only options with the
 * copied flag beyond the first). weir-fwd's l3 mode (apps/fwd/l3.c) is
 * the router built on them and on the stack's ARP, routes and ICMP.
 *
 * Addresses are host byte order (10.0.0.1 is 0x0a000001). Header bytes are
 * network order, as on the wire. Thread safety: a struct weir_ipfwd_addrs
 * is read-only once filled; the functions keep no state.
 */
#ifndef WEIR_IPFWD_H
#define WEIR_IPFWD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pkt.h"
#include "pool.h"

#define WEIR_IPFWD_ADDRS_MAX 16

/* The router's own addresses and the directed broadcasts of its subnets. */
struct weir_ipfwd_addrs {
	uint16_t n;
	uint32_t addr[WEIR_IPFWD_ADDRS_MAX];
	uint32_t bcast[WEIR_IPFWD_ADDRS_MAX]; /* 0 for /31 and /32 */
};

/* What a router does with a received IPv4 packet. */
enum weir_ipfwd_verdict {
	WEIR_IPFWD_FORWARD = 0,  /* route it (TTL is at least 2) */
	WEIR_IPFWD_LOCAL,        /* to one of our addresses, 255.255.255.255 or multicast */
	WEIR_IPFWD_BAD_HDR,      /* short, not version 4, IHL < 5, length or checksum wrong */
	WEIR_IPFWD_MARTIAN_SRC,  /* from 0/8, 127/8, a broadcast, multicast or our own address */
	WEIR_IPFWD_MARTIAN_DST,  /* to 0/8 or 127/8 */
	WEIR_IPFWD_BCAST,        /* to a directed broadcast of our subnets (RFC 2644: not forwarded) */
	WEIR_IPFWD_TTL_EXCEEDED, /* TTL 0 or 1: time exceeded */
};

/* What weir_ipfwd_classify() read from the header. */
struct weir_ipfwd_hdr {
	uint32_t saddr, daddr;
	uint16_t tot_len; /* the datagram's length: beyond it is link padding */
	uint8_t ihl;      /* header bytes */
	uint8_t ttl;
	bool df;          /* don't fragment */
};

/* Adds addr/prefix (prefix 0..32) to a: 0, -EINVAL (prefix, addr 0) or
 * -ENOSPC (WEIR_IPFWD_ADDRS_MAX). */
int weir_ipfwd_addrs_add(struct weir_ipfwd_addrs *a, uint32_t addr, uint8_t prefix);

/*
 * Classifies the IPv4 header at ip: hdr_avail bytes of it are readable
 * here (contiguous), ip_len bytes of IP datagram and padding follow in the
 * frame (so tot_len must not exceed it). Checks, in order: a whole header
 * (version 4, IHL >= 5 and within hdr_avail, IHL <= tot_len <= ip_len,
 * header checksum) -> BAD_HDR; a destination of ours, the limited
 * broadcast or multicast -> LOCAL (the host part answers or drops it, any
 * TTL); martian source, martian destination, directed broadcast; TTL <= 1
 * -> TTL_EXCEEDED; else FORWARD. *h is filled for every verdict but
 * BAD_HDR.
 */
enum weir_ipfwd_verdict weir_ipfwd_classify(const struct weir_ipfwd_addrs *a, const uint8_t *ip,
					    uint32_t hdr_avail, uint32_t ip_len,
					    struct weir_ipfwd_hdr *h);

/* The verdict's name for counters and messages ("forward", "ttl_exceeded"). */
const char *weir_ipfwd_verdict_name(enum weir_ipfwd_verdict v);

/*
 * Decrements the TTL of the IPv4 header at ip (at least 20 contiguous
 * bytes, TTL >= 1) and updates its checksum incrementally, RFC 1624 eqn. 3
 * (HC' = ~(~HC + ~m + m') on the TTL/protocol word), which gives what a
 * full recomputation gives for a header whose checksum was valid.
 */
static inline void weir_ipfwd_ttl_dec(uint8_t *ip)
{
	uint32_t old = (uint32_t)ip[8] << 8 | ip[9], new = old - 0x100;
	uint32_t hc = (uint32_t)ip[10] << 8 | ip[11];
	uint32_t sum = (~hc & 0xffff) + (~old & 0xffff) + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip[8] = (uint8_t)(new >> 8);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
}

/*
 * Cuts forwarded datagram p (data at its IPv4 header, a valid header, DF
 * clear, not a GSO super-frame, complete checksums) into fragments of at
 * most mtu bytes into out[0..max-1], as RFC 791 §3.2 says: each a new
 * header segment from pool (with the pool's headroom free in front for
 * the link header) chained in front of a slice of p's payload (indirect segments:
 * no payload copy). Offsets continue p's own (p may be a fragment itself;
 * the last piece keeps p's MF), the first fragment keeps every option,
 * the others only those with the copied flag. Metadata (port, hash,
 * priority, ...) is copied from p. Returns the count with p consumed, or
 * a negative errno with p untouched and nothing allocated: -EINVAL (p too
 * short, mtu below 68, or mtu too small for the header with 8 payload
 * bytes), -E2BIG (more than max fragments), -ENOBUFS.
 */
int weir_ipfwd_fragment(struct weir_pkt *p, uint32_t mtu, struct weir_pool *pool,
			struct weir_pkt **out, uint16_t max);

#endif
