/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ICMP header (RFC 792) as it is on the wire, and the types and codes
 * weir sends or reads. Conventions as in proto/ether.h.
 */
#ifndef WEIR_PROTO_ICMP_H
#define WEIR_PROTO_ICMP_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define WEIR_IPPROTO_ICMP 1
#define WEIR_ICMP_HDR_LEN 8

#define WEIR_ICMP_ECHO_REPLY 0
#define WEIR_ICMP_DEST_UNREACH 3
#define WEIR_ICMP_SOURCE_QUENCH 4
#define WEIR_ICMP_REDIRECT 5
#define WEIR_ICMP_ECHO_REQUEST 8
#define WEIR_ICMP_TIME_EXCEEDED 11
#define WEIR_ICMP_PARAM_PROBLEM 12

/* Codes of WEIR_ICMP_DEST_UNREACH. */
#define WEIR_ICMP_NET_UNREACH 0
#define WEIR_ICMP_HOST_UNREACH 1
#define WEIR_ICMP_PROT_UNREACH 2
#define WEIR_ICMP_PORT_UNREACH 3
#define WEIR_ICMP_FRAG_NEEDED 4
/* Codes of WEIR_ICMP_TIME_EXCEEDED. */
#define WEIR_ICMP_EXC_TTL 0
#define WEIR_ICMP_EXC_FRAGTIME 1

struct weir_icmp_hdr {
	uint8_t type;
	uint8_t code;
	uint16_t check; /* over the whole ICMP message */
	union {
		struct {
			uint16_t id;
			uint16_t seq;
		} echo;
		struct {
			uint16_t unused;
			uint16_t mtu; /* FRAG_NEEDED: next-hop MTU (RFC 1191) */
		} frag;
		uint32_t unused;
	} un;
};

static_assert(sizeof(struct weir_icmp_hdr) == WEIR_ICMP_HDR_LEN, "ICMP header on the wire");
static_assert(offsetof(struct weir_icmp_hdr, check) == 2, "ICMP checksum at 2");

#endif
