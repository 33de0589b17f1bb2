/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ARP packet (RFC 826) for IPv4 over Ethernet, as it is on the wire.
 * Conventions as in proto/ether.h: network byte order, no padding, copy
 * before use.
 */
#ifndef WEIR_PROTO_ARP_H
#define WEIR_PROTO_ARP_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define WEIR_ARP_LEN 28
#define WEIR_ARP_HTYPE_ETHER 1
#define WEIR_ARP_OP_REQUEST 1
#define WEIR_ARP_OP_REPLY 2

struct weir_arp_hdr {
	uint16_t htype; /* WEIR_ARP_HTYPE_ETHER */
	uint16_t ptype; /* WEIR_ETHER_TYPE_IPV4 */
	uint8_t hlen;   /* 6 */
	uint8_t plen;   /* 4 */
	uint16_t op;    /* WEIR_ARP_OP_REQUEST or _REPLY */
	uint8_t sha[6]; /* sender hardware address */
	uint8_t spa[4]; /* sender protocol address */
	uint8_t tha[6]; /* target hardware address */
	uint8_t tpa[4]; /* target protocol address */
};

static_assert(sizeof(struct weir_arp_hdr) == WEIR_ARP_LEN, "ARP packet on the wire");
static_assert(offsetof(struct weir_arp_hdr, tpa) == 24, "ARP target address at 24");

#endif
