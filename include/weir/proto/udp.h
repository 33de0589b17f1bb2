/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The UDP header (RFC 768) as it is on the wire. Conventions as in
 * proto/ether.h.
 */
#ifndef WEIR_PROTO_UDP_H
#define WEIR_PROTO_UDP_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define WEIR_IPPROTO_UDP 17
#define WEIR_UDP_HDR_LEN 8

struct weir_udp_hdr {
	uint16_t sport;
	uint16_t dport;
	uint16_t len;   /* header + payload bytes */
	uint16_t check; /* 0: none (IPv4 only); a computed 0 is sent as 0xffff */
};

static_assert(sizeof(struct weir_udp_hdr) == WEIR_UDP_HDR_LEN, "UDP header on the wire");
static_assert(offsetof(struct weir_udp_hdr, check) == 6, "UDP checksum at 6");

#endif
