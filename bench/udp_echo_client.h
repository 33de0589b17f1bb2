/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench/udp_echo_client's state, shared by its two ways of moving
 * datagrams: a connected kernel UDP socket with sendmmsg/recvmmsg
 * (udp_echo_client.c) and an AF_XDP port through weir's port API that
 * builds and parses the Ethernet/IPv4/UDP headers itself
 * (udp_echo_client_xdp.c). Both carry the same request in the first 16
 * bytes of the payload, so the servers see the same datagrams.
 */
#ifndef BENCH_UDP_ECHO_CLIENT_H
#define BENCH_UDP_ECHO_CLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/histogram.h"

#define BATCH 64
#define MAX_SIZE 1472

struct weir_port;
struct weir_pool;

struct req {
	uint64_t seq;
	uint64_t ts;
};

struct client {
	int fd; /* the UDP socket, or the port's wait fd */
	uint32_t size, window;
	double rate, duration, warmup;
	uint64_t timeout_ns;
	uint64_t next_seq, sent, replies, replies_all, stale;
	uint64_t inflight_end; /* closed loop: still in flight when it ended */
	uint64_t last_reply;
	bool measuring;
	bool wait; /* closed loop: sleep for replies when the window is full */
	struct hist hist;
	/* --xdp: the port, its pool, the frame's headers and their sums. */
	const char *xdp_spec;
	struct weir_port *port;
	struct weir_pool *pool;
	uint8_t dst_mac[6];
	uint16_t src_port;
	struct sockaddr_in dst;
	struct in_addr src;
	uint8_t hdr[42];
	uint32_t udp_sum; /* pseudo header and UDP header, checksum 0 */
	uint8_t tx[BATCH][MAX_SIZE], rx[BATCH][MAX_SIZE];
};

uint64_t now_ns(void);

/* Counts one reply whose payload starts at d (len bytes), received at t. */
void client_reply(struct client *c, const uint8_t *d, uint32_t len, uint64_t t);

/* --xdp: opens c->xdp_spec (steering UDP to c->src_port to it), builds the
 * headers from the port's MAC, c->dst_mac, c->src:c->src_port and c->dst.
 * 0, or -1 after a message on stderr. */
int xdp_open(struct client *c);
void xdp_close(struct client *c);
/* Sends n (at most BATCH) requests stamped now; returns how many went. */
uint32_t xdp_send_n(struct client *c, uint32_t n);
/* Reads the replies waiting (with wait, first sleeps up to 1 ms on the
 * queue when none is); returns how many frames it took. */
uint32_t xdp_recv_all(struct client *c, bool wait);

#endif
