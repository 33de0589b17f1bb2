/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP header (RFC 9293) as it is on the wire. Conventions as in
 * proto/ether.h.
 */
#ifndef WEIR_PROTO_TCP_H
#define WEIR_PROTO_TCP_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define WEIR_IPPROTO_TCP 6
#define WEIR_TCP_HDR_LEN 20 /* without options */
#define WEIR_TCP_HDR_MAX 60 /* data offset 15 */

/* Bits of weir_tcp_hdr.flags. */
#define WEIR_TCP_FIN 0x01
#define WEIR_TCP_SYN 0x02
#define WEIR_TCP_RST 0x04
#define WEIR_TCP_PSH 0x08
#define WEIR_TCP_ACK 0x10
#define WEIR_TCP_URG 0x20
#define WEIR_TCP_ECE 0x40
#define WEIR_TCP_CWR 0x80

struct weir_tcp_hdr {
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t doff;    /* header length in 32-bit words << 4 (low bits: reserved, AE) */
	uint8_t flags;   /* WEIR_TCP_FIN ... WEIR_TCP_CWR */
	uint16_t window;
	uint16_t check;
	uint16_t urg_ptr;
};

static_assert(sizeof(struct weir_tcp_hdr) == WEIR_TCP_HDR_LEN, "TCP header on the wire");
static_assert(offsetof(struct weir_tcp_hdr, check) == 16, "TCP checksum at 16");

static inline unsigned weir_tcp_hdr_len(const struct weir_tcp_hdr *th)
{
	return (unsigned)(th->doff >> 4) * 4;
}

#endif
