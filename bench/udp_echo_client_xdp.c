// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench/udp_echo_client over AF_XDP (--xdp SPEC): the client's datagrams
 * as whole frames through a weir port, so that the client's CPU does not
 * pay for the kernel's UDP send and receive (a sendmmsg's skb, route and
 * neighbour work, a recvmmsg's socket queue and copy: about 7 us a
 * request on this machine's VMs, the bench's limit before). weir's XDP
 * program takes only UDP to the client's port (prog=weir&udp_port=P) and
 * passes the rest to the kernel, which keeps answering the servers' ARP
 * for the client's address; the server's MAC comes from the script.
 *
 * The headers are built once; per frame only the request (16 bytes) and
 * the UDP checksum change (the pseudo header's and the constant part's
 * sums are kept). The IPv4 header has DF and ID 0, so its checksum is
 * constant too (RFC 6864: ID may be anything for atomic datagrams).
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "weir/offload.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port.h"

#include "udp_echo_client.h"

#define ETH_LEN 14
#define IP_LEN 20
#define HDR_LEN (ETH_LEN + IP_LEN + 8)

static void build_hdr(struct client *c, const uint8_t src_mac[6])
{
	uint8_t *h = c->hdr, *ip = h + ETH_LEN, *udp = ip + IP_LEN;
	uint16_t ulen = (uint16_t)(8 + c->size), tlen = (uint16_t)(IP_LEN + ulen), ck;
	uint16_t sport = htons(c->src_port);

	memcpy(h, c->dst_mac, 6);
	memcpy(h + 6, src_mac, 6);
	h[12] = 0x08, h[13] = 0x00;
	memset(ip, 0, IP_LEN);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tlen >> 8), ip[3] = (uint8_t)tlen;
	ip[6] = 0x40; /* DF */
	ip[8] = 64, ip[9] = 17;
	memcpy(ip + 12, &c->src, 4);
	memcpy(ip + 16, &c->dst.sin_addr, 4);
	ck = (uint16_t)~weir_csum_fold(weir_csum_add(0, ip, IP_LEN));
	memcpy(ip + 10, &ck, 2); /* the sums are of the bytes as they lie */
	memcpy(udp, &sport, 2);
	memcpy(udp + 2, &c->dst.sin_port, 2);
	udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen;
	udp[6] = udp[7] = 0;
	/* The payload past the request is zeros: it adds nothing to the sum. */
	c->udp_sum = weir_csum_combine(weir_csum_pseudo_ipv4(ip + 12, ip + 16, 17, ulen),
				       weir_csum_add(0, udp, 8));
}

int xdp_open(struct client *c)
{
	struct weir_pool_conf pc = {.name = "udp_echo_client", .n = 4096};
	struct weir_port_conf conf = {0};
	char why[WEIR_PORT_ERRSIZE];
	uint8_t mac[6];

	if (weir_pool_create(&pc, &c->pool) < 0) {
		fprintf(stderr, "udp_echo_client: no pool of %u buffers (memlock limit?)\n", pc.n);
		return -1;
	}
	conf.pool = c->pool;
	if (weir_port_open(c->xdp_spec, &conf, &c->port, why, sizeof(why))) {
		fprintf(stderr, "udp_echo_client: %s\n", why);
		weir_pool_destroy(c->pool);
		return -1;
	}
	weir_port_mac(c->port, mac);
	build_hdr(c, mac);
	c->fd = weir_port_wait_fd(c->port, 0);
	return 0;
}

void xdp_close(struct client *c)
{
	weir_port_tx_done(c->port, 0);
	weir_port_close(c->port);
	weir_pool_destroy(c->pool);
}

uint32_t xdp_send_n(struct client *c, uint32_t n)
{
	struct weir_pkt *pkts[BATCH];
	uint32_t flen = HDR_LEN + c->size;
	uint64_t t = now_ns();
	uint16_t done;

	if (n > BATCH)
		n = BATCH;
	weir_port_tx_done(c->port, 0);
	if (weir_pkt_alloc_bulk(c->pool, pkts, n) < 0)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		struct req q = {.seq = c->next_seq + i, .ts = t};
		uint8_t *f = weir_pkt_put(pkts[i], (uint16_t)flen);
		uint16_t ck;

		memcpy(f, c->hdr, HDR_LEN);
		memcpy(f + HDR_LEN, &q, sizeof(q));
		memset(f + HDR_LEN + sizeof(q), 0, c->size - sizeof(q));
		ck = (uint16_t)~weir_csum_fold(weir_csum_add(c->udp_sum, &q, sizeof(q)));
		if (!ck)
			ck = 0xffff; /* RFC 768: 0 means none */
		memcpy(f + ETH_LEN + IP_LEN + 6, &ck, 2);
	}
	done = weir_port_tx_burst(c->port, 0, pkts, (uint16_t)n);
	weir_pkt_free_bulk(pkts + done, n - done);
	c->next_seq += done;
	c->sent += done;
	return done;
}

/* The payload of an IPv4 UDP datagram from the server's port, or NULL. */
static const uint8_t *reply_payload(const struct client *c, const uint8_t *f, uint32_t len,
				    uint32_t *plen)
{
	uint32_t ihl;

	if (len < HDR_LEN || f[12] != 0x08 || f[13] != 0x00 || f[ETH_LEN + 9] != 17)
		return NULL;
	ihl = (f[ETH_LEN] & 0xf) * 4u;
	if (ihl < IP_LEN || len < ETH_LEN + ihl + 8 ||
	    memcmp(f + ETH_LEN + ihl, &c->dst.sin_port, 2))
		return NULL;
	*plen = len - ETH_LEN - ihl - 8;
	return f + ETH_LEN + ihl + 8;
}

uint32_t xdp_recv_all(struct client *c, bool wait)
{
	struct weir_pkt *pkts[BATCH];
	uint16_t n = weir_port_rx_burst(c->port, 0, pkts, BATCH);
	uint64_t t;

	if (!n && wait && c->fd >= 0) {
		poll(&(struct pollfd){.fd = c->fd, .events = POLLIN}, 1, 1);
		n = weir_port_rx_burst(c->port, 0, pkts, BATCH);
	}
	if (!n)
		return 0;
	t = now_ns();
	c->last_reply = t;
	for (uint16_t i = 0; i < n; i++) {
		uint32_t plen;
		const uint8_t *d = reply_payload(c, weir_pkt_data(pkts[i]), pkts[i]->data_len, &plen);

		if (d)
			client_reply(c, d, plen, t);
		else
			c->stale++;
	}
	weir_pkt_free_bulk(pkts, n);
	return n;
}
