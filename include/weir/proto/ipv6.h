/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The IPv6 fixed header (RFC 8200) and the generic extension header
 * prefix, as they are on the wire. Conventions as in proto/ether.h.
 */
#ifndef WEIR_PROTO_IPV6_H
#define WEIR_PROTO_IPV6_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define WEIR_IPV6_HDR_LEN 40

/* Next-header values that are IPv6 extension headers (RFC 8200 §4). */
#define WEIR_IPV6_NEXT_HOPOPTS 0
#define WEIR_IPV6_NEXT_ROUTING 43
#define WEIR_IPV6_NEXT_FRAGMENT 44
#define WEIR_IPV6_NEXT_ESP 50
#define WEIR_IPV6_NEXT_AH 51
#define WEIR_IPV6_NEXT_NONE 59
#define WEIR_IPV6_NEXT_DSTOPTS 60

struct weir_ipv6_hdr {
	uint8_t vtc_flow[4];  /* version (6) << 28 | traffic class << 20 | flow label */
	uint16_t payload_len; /* bytes after this header, extension headers included */
	uint8_t next;         /* next header */
	uint8_t hop_limit;
	uint8_t saddr[16];
	uint8_t daddr[16];
};

/* The first two bytes of hop-by-hop, routing and destination options. */
struct weir_ipv6_opt_hdr {
	uint8_t next;
	uint8_t len; /* in 8-byte units, not counting the first 8 bytes */
};

static_assert(sizeof(struct weir_ipv6_hdr) == WEIR_IPV6_HDR_LEN, "IPv6 header on the wire");
static_assert(offsetof(struct weir_ipv6_hdr, saddr) == 8, "IPv6 source address at 8");

#endif
