/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IPv4 header (RFC 791) as it is on the wire. Conventions as in
 * proto/ether.h: network byte order, no padding, copy before use.
 */
#ifndef WEIR_PROTO_IPV4_H
#define WEIR_PROTO_IPV4_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define WEIR_IPV4_HDR_LEN 20     /* without options */
#define WEIR_IPV4_HDR_MAX 60     /* IHL 15 */
#define WEIR_IPV4_DF 0x4000      /* in frag_off, host order */
#define WEIR_IPV4_MF 0x2000
#define WEIR_IPV4_OFFMASK 0x1fff /* fragment offset, 8-byte units */

struct weir_ipv4_hdr {
	uint8_t ver_ihl;   /* version (4) << 4 | header length in 32-bit words */
	uint8_t tos;       /* DSCP << 2 | ECN */
	uint16_t tot_len;  /* header + payload bytes */
	uint16_t id;
	uint16_t frag_off; /* flags (DF, MF) and fragment offset */
	uint8_t ttl;
	uint8_t proto;     /* WEIR_IPPROTO_TCP, WEIR_IPPROTO_UDP, ... */
	uint16_t check;    /* header checksum */
	uint8_t saddr[4];
	uint8_t daddr[4];
};

static_assert(sizeof(struct weir_ipv4_hdr) == WEIR_IPV4_HDR_LEN, "IPv4 header on the wire");
static_assert(offsetof(struct weir_ipv4_hdr, check) == 10, "IPv4 checksum at 10");

static inline unsigned weir_ipv4_hdr_len(const struct weir_ipv4_hdr *ip)
{
	return (ip->ver_ihl & 0xfu) * 4;
}

#endif
