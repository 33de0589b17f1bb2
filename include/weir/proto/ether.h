/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet and 802.1Q/802.1ad VLAN headers as they are on the wire.
 *
 * Every proto/ header follows the same rules: multi-byte fields are in
 * network byte order, addresses are byte arrays, and the structs have no
 * padding (static_assert'ed), so sizeof() and offsetof() give wire offsets.
 * A frame's headers need not be aligned (an IPv4 header after a 14-byte
 * Ethernet header is only 2-byte aligned): copy a header into one of these
 * (weir_pkt_read(), weir_pkt_copy_out(), memcpy) instead of casting a
 * pointer into packet bytes.
 */
#ifndef WEIR_PROTO_ETHER_H
#define WEIR_PROTO_ETHER_H

#include <assert.h>
#include <stdint.h>

#define WEIR_ETHER_ADDR_LEN 6
#define WEIR_ETHER_HDR_LEN 14
#define WEIR_VLAN_HDR_LEN 4
#define WEIR_VLAN_MAX_TAGS 2 /* 802.1ad outer + 802.1Q inner (QinQ) */

#define WEIR_ETHER_TYPE_IPV4 0x0800
#define WEIR_ETHER_TYPE_ARP 0x0806
#define WEIR_ETHER_TYPE_VLAN 0x8100 /* 802.1Q */
#define WEIR_ETHER_TYPE_IPV6 0x86dd
#define WEIR_ETHER_TYPE_QINQ 0x88a8 /* 802.1ad service tag */

struct weir_ether_hdr {
	uint8_t dst[WEIR_ETHER_ADDR_LEN];
	uint8_t src[WEIR_ETHER_ADDR_LEN];
	uint16_t type; /* EtherType, or a VLAN TPID followed by a weir_vlan_hdr */
};

/* What follows the TPID of a tagged frame. */
struct weir_vlan_hdr {
	uint16_t tci;  /* PCP (3 bits), DEI (1), VID (12) */
	uint16_t type; /* EtherType of what follows, or another TPID */
};

static_assert(sizeof(struct weir_ether_hdr) == WEIR_ETHER_HDR_LEN, "Ethernet header on the wire");
static_assert(sizeof(struct weir_vlan_hdr) == WEIR_VLAN_HDR_LEN, "VLAN tag on the wire");

static inline int weir_ether_type_is_vlan(uint16_t type)
{
	return type == WEIR_ETHER_TYPE_VLAN || type == WEIR_ETHER_TYPE_QINQ;
}

#endif
