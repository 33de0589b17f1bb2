/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * UDP sockets of a weir stack (stack.h): bind, connect, a receive burst
 * that hands out the received packets themselves (data starts at the UDP
 * payload; nothing is copied) with their source addresses, and a send
 * burst that takes payload packets and pushes the UDP, IP and Ethernet
 * headers in front of them: into their headroom when it is the packet's
 * own, else into a header segment chained in front. A payload is never
 * copied on the way out; datagrams larger than the interface MTU leave as
 * IP fragments that are slices of it.
 *
 * Sockets are found by local port (one socket per port). A socket's receive
 * queue is bounded; datagrams that find it full are dropped and counted on
 * the socket (rx_queue_full) and in the stack (udp_rx_queue_full).
 *
 * Addresses and ports are host byte order. Thread safety: a socket belongs
 * to its stack's thread, as the stack does.
 */
#ifndef WEIR_UDP_H
#define WEIR_UDP_H

#include <stdint.h>

#include "pkt.h"

struct weir_stack;
struct weir_udp_sock;

struct weir_udp_addr {
	uint32_t addr; /* host order */
	uint16_t port; /* host order */
};

struct weir_udp_sock_conf {
	uint32_t queue_len; /* datagrams held for recv, rounded up to a power of two; 0: 256 */
};

struct weir_udp_sock_stats {
	uint64_t rx_datagrams, rx_bytes; /* queued for recv (payload bytes) */
	uint64_t rx_queue_full;          /* dropped: the receive queue was full */
	uint64_t tx_datagrams, tx_bytes; /* taken by send (payload bytes) */
	uint64_t tx_errors;              /* refused by send (no route, too big, no buffers) */
};

/* A new, unbound socket. NULL and *err = -EINVAL (queue_len above 65536)
 * or -ENOMEM. */
struct weir_udp_sock *weir_udp_open(struct weir_stack *stack, const struct weir_udp_sock_conf *conf,
				    int *err);

/* Unbinds the socket and frees what its queue holds. NULL is allowed. */
void weir_udp_close(struct weir_udp_sock *s);

/*
 * Binds to a local port (0: a free one from 49152..65535) and address
 * (0: any of the stack's; else it must be one of them, and only datagrams
 * to it are received). 0; -EINVAL (already bound); -EADDRINUSE;
 * -EADDRNOTAVAIL (not an address of the stack, or no free port).
 */
int weir_udp_bind(struct weir_udp_sock *s, uint32_t addr, uint16_t port);

/*
 * Sets the default destination (binding to a free port first if unbound);
 * afterwards only datagrams from that address and port are received.
 * addr 0 undoes it. 0, -EINVAL (port 0 with an address), or bind's errors.
 */
int weir_udp_connect(struct weir_udp_sock *s, uint32_t addr, uint16_t port);

/* Local address and port (addr 0 when bound to any). */
void weir_udp_local(const struct weir_udp_sock *s, struct weir_udp_addr *out);

/*
 * Up to n received datagrams into pkts (the caller owns them; data starts
 * at the payload and pkt_len is the payload length, possibly 0 and possibly
 * a chain of segments for a reassembled datagram) and, when from is not
 * NULL, their sources into from. Returns how many.
 */
uint16_t weir_udp_recv_burst(struct weir_udp_sock *s, struct weir_pkt **pkts,
			     struct weir_udp_addr *from, uint16_t n);

/*
 * Sends pkts[0..n-1], each holding one datagram's payload (at most 65507
 * bytes, any number of segments), to to[i], or to the connected peer when
 * to is NULL. Takes them in order and returns how many it took; the stack
 * owns those (they are queued on the interface for weir_stack_drain(), or
 * wait for ARP). It stops at the first one it cannot send and leaves it and
 * the rest to the caller (weir_udp_sendto() says why). The socket is bound
 * to a free port first if it is not.
 */
uint16_t weir_udp_send_burst(struct weir_udp_sock *s, struct weir_pkt **pkts,
			     const struct weir_udp_addr *to, uint16_t n);

/*
 * Sends one datagram (to NULL: the connected peer). 0 and p is the
 * stack's; or p stays the caller's and: -EDESTADDRREQ (no destination),
 * -EMSGSIZE (payload above 65507 bytes), -ENETUNREACH (no route),
 * -ENOBUFS (no buffer for headers or fragments), -EADDRNOTAVAIL (bind).
 */
int weir_udp_sendto(struct weir_udp_sock *s, struct weir_pkt *p, const struct weir_udp_addr *to);

void weir_udp_sock_stats(const struct weir_udp_sock *s, struct weir_udp_sock_stats *out);

#endif
