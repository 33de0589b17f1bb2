// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: afxdp's receive path (pmd/afxdp_rxtx.c) against a fake
 * kernel: the RX and fill rings are plain memory, the UMEM is a pool of 64
 * buffers, and the fuzzer plays the kernel, posting RX descriptors that
 * name the buffers weir put on the fill ring, or any address, or one
 * already posted (a duplicate), with any length and the multi-buffer
 * continuation bit, between bursts of any size.
 *
 * Input: byte 0 sets csum=fix (bit 0); then operations of 4 bytes: kind,
 * which address (next filled, raw, replayed), length (2 bytes, shared with
 * the raw address), or a burst of n. Properties beyond "no crash, no
 * out-of-bounds access, no leak": every packet delivered is a well-formed
 * chain (pkt_len the sum of its segments, at most WEIR_PKT_MAX_SEGS, every
 * segment inside its buffer); no buffer is delivered twice or while weir
 * holds it; at the end every buffer is back in the pool or in the fake
 * kernel's hands (returned as afxdp_umem_reclaim does at teardown).
 */
#include <linux/if_xdp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port_driver.h"

#include "afxdp_internal.h"

#define NBUF 64
#define RING 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static struct weir_pool *pool;
/* ifindex 1 (lo) exists: the driver's check for a vanished device, which
 * runs on empty polls, finds it alive. */
static struct afxdp_priv priv = {.ifindex = 1};
static struct weir_port port = {.label = (char *)"afxdp:fuzz", .priv = &priv};

/* A ring's shared part, as the kernel maps it. */
struct fake_ring {
	uint32_t producer, consumer, flags;
	union {
		struct xdp_desc desc[RING];
		uint64_t addr[RING];
	};
};

static struct fake_ring rx_mem, fill_mem;
static uint16_t owner[NBUF];
static bool delivered[NBUF]; /* held by the "application" right now */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (weir_pool_create(&(struct weir_pool_conf){.name = "fuzz-xdp", .n = NBUF,
						      .buf_size = 2048, .cache_size = UINT32_MAX, .huge = 2},
			     &pool))
		abort();
	return 0;
}

static void ring_init(struct xsk_ring_cons *r, struct fake_ring *m)
{
	memset(m, 0, sizeof(*m));
	*r = (struct xsk_ring_cons){.mask = RING - 1, .size = RING, .producer = &m->producer,
				    .consumer = &m->consumer, .ring = m->desc, .flags = &m->flags};
}

/* Every segment inside its buffer, pkt_len their sum, none held twice. */
static void check_and_free(struct weir_pkt *p)
{
	uint32_t sum = 0, segs = 0;

	for (struct weir_pkt *s = p; s; s = s->next) {
		CHECK(s->data_off + s->data_len <= pool->buf_size);
		CHECK(!delivered[s->idx]);
		delivered[s->idx] = true;
		sum += s->data_len;
		segs++;
	}
	CHECK(sum == p->pkt_len && segs == p->nb_segs && segs <= WEIR_PKT_MAX_SEGS);
	for (struct weir_pkt *s = p; s; s = s->next)
		delivered[s->idx] = false;
	weir_pkt_free(p);
}

/* The fake kernel takes the next address weir put on the fill ring. */
static bool fill_take(uint64_t *addr)
{
	if (fill_mem.consumer == fill_mem.producer)
		return false;
	*addr = fill_mem.addr[fill_mem.consumer++ & (RING - 1)];
	return true;
}

static void post(uint64_t addr, uint32_t len, bool more)
{
	if (rx_mem.producer - rx_mem.consumer == RING)
		return; /* the kernel's ring is full: it drops */
	rx_mem.desc[rx_mem.producer & (RING - 1)] = (struct xdp_desc){
		.addr = addr, .len = len, .options = more ? XDP_PKT_CONTD : 0};
	rx_mem.producer++;
}

static void burst(struct afxdp_rxq *rxq, uint16_t n)
{
	struct weir_pkt *pkts[32];
	uint16_t got = afxdp_rx_burst(&rxq->q, pkts, n);

	CHECK(got <= n);
	for (uint16_t i = 0; i < got; i++)
		check_and_free(pkts[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct afxdp_rxq rxq = {.q = {.port = &port}, .pool = pool, .owner = owner, .sock_id = 1,
				.fd = -1, .gso_rx_fd = -1, .wait_fd = -1, .fill_target = 48};
	uint64_t posted[16] = {0}, addr;
	unsigned nposted = 0;

	if (size < 1)
		return 0;
	rxq.csum_fix = data[0] & 1;
	memset(owner, 0, sizeof(owner));
	ring_init(&rxq.rx, &rx_mem);
	ring_init((struct xsk_ring_cons *)&rxq.fill, &fill_mem);
	rxq.fill.cached_cons = RING; /* a producer's view: all slots free */
	afxdp_refill(&rxq);
	for (size_t i = 1; i + 4 <= size; i += 4) {
		const uint8_t *op = data + i;
		uint32_t len = (uint32_t)op[2] | (uint32_t)op[3] << 8;

		switch (op[0] % 4) {
		case 0: /* a frame in the next filled buffer, offset as the kernel does */
		case 1:
			if (fill_take(&addr)) {
				post(addr + 256 + (op[1] & 0x3f), len % 2100, op[0] & 0x80);
				posted[nposted++ % 16] = addr + 256;
			}
			break;
		case 2: /* any address, or one posted before */
			addr = op[1] & 1 ? posted[(op[1] >> 1) % 16] : (uint64_t)len * 97;
			post(addr, len % 2100, op[0] & 0x80);
			break;
		default:
			burst(&rxq, (uint16_t)(op[1] % 32 + 1));
			break;
		}
	}
	for (int k = 0; k < 8; k++)
		burst(&rxq, 32);
	/* Teardown: what the kernel still holds (owner = socket) goes back,
	 * as afxdp_umem.c does when the socket closes. */
	for (uint32_t i = 0; i < NBUF; i++) {
		if (owner[i] == rxq.sock_id) {
			struct weir_pkt *p = weir_pool_pkt_at(pool, i);

			owner[i] = 0;
			p->next = NULL;
			weir_pkt_free_seg(p);
		}
	}
	CHECK(weir_pool_in_use(pool) == 0);
	return 0;
}
