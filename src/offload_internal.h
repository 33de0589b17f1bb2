/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What csum.c, offload.c and gso.c share and nothing else sees: the result
 * of parsing a frame's headers, big-endian field access on unaligned bytes,
 * and writing into a packet only where it is the packet's own.
 */
#ifndef WEIR_OFFLOAD_INTERNAL_H
#define WEIR_OFFLOAD_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "weir/offload.h"
#include "weir/pkt.h"

/* Where a frame's headers are, from its first byte. */
struct ol_hdrs {
	uint16_t l2_len;   /* Ethernet + VLAN tags: the IP header starts here */
	uint16_t l3_len;   /* IP header with options / extension headers */
	uint16_t l4_hlen;  /* TCP header with options, 8 for UDP, 0 for others */
	uint16_t csum_off; /* L4 checksum field from the L4 header: 16, 6, 0 */
	uint8_t ipv;       /* 4 or 6 */
	uint8_t l4_proto;
	uint32_t ip_end;   /* end of the datagram by the IP length field, 0 if 0 */
	uint32_t addr_sum; /* checksum sum of source and destination address */
};

static inline uint32_t ol_l4_off(const struct ol_hdrs *h)
{
	return (uint32_t)h->l2_len + h->l3_len;
}

static inline uint32_t ol_hdr_len(const struct ol_hdrs *h)
{
	return ol_l4_off(h) + h->l4_hlen;
}

/* Parses Ethernet, VLAN, IPv4/IPv6 and the TCP/UDP header (see
 * weir_pkt_offload_parse() for what is supported): 0, -EINVAL or
 * -EPROTONOSUPPORT. Reads headers only, bounded by pkt_len. In offload.c. */
int ol_parse(const struct weir_pkt *p, struct ol_hdrs *h);

/* 0 when gso_type matches the parsed headers; -EINVAL, or
 * -EPROTONOSUPPORT for UFO. In offload.c. */
int ol_gso_check(const struct weir_pkt *p, const struct ol_hdrs *h);

/* The pseudo-header sum for an L4 length. */
uint32_t ol_pseudo(const struct ol_hdrs *h, uint32_t l4_len);

/* Sums [start, end) of p, with the field at `field` (2 bytes, inside) in
 * place, and stores the complemented fold there (0 -> 0xffff when udp):
 * 0 or -EPERM (shared bytes; nothing written). The caller checks bounds.
 * In csum.c. */
int ol_csum_store(struct weir_pkt *p, uint32_t start, uint32_t end, uint32_t field, bool udp);

static inline uint16_t ol_get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t ol_get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void ol_put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void ol_put32(uint8_t *b, uint32_t v)
{
	ol_put16(b, (uint16_t)(v >> 16));
	ol_put16(b + 2, (uint16_t)v);
}

#endif
