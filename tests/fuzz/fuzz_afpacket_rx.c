// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: afpacket's receive path (pmd/afpacket_rx.c) over a
 * TPACKET_V3 ring built in memory instead of by the kernel: block walking
 * (num_pkts, offset_to_first_pkt, tp_next_offset), frame bounds (tp_mac,
 * tp_snaplen, tp_len), VLAN reinsertion, the vnet header's offload fields,
 * zero-copy attach and the copy path.
 *
 * Input: byte 0 picks the mode (bit 0: frames carry a virtio_net_hdr, bit
 * 1: copy every block instead of attaching it, bits 2-4: how many packets
 * the "application" keeps between bursts); the rest fills two 2 KiB blocks
 * as the kernel would have, block status forced to TP_STATUS_USER.
 * Properties beyond "no crash, no out-of-bounds access, no leak": every
 * packet's bytes lie inside the ring; each block goes back to the kernel
 * (status TP_STATUS_KERNEL) once its packets are freed; the pool has every
 * buffer back at the end and the ring is unmapped (refs reach zero).
 */
#include <linux/if_packet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port_driver.h"

#include "afpacket_internal.h"

#define NBLOCKS 2
#define BLOCK 2048
#define NBUF 256

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct weir_pool *pool;
static struct weir_port port = {.label = (char *)"afpacket:fuzz"};

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (weir_pool_create(&(struct weir_pool_conf){.name = "fuzz-afp", .n = NBUF,
						      .buf_size = 512, .headroom = 64,
						      .cache_size = UINT32_MAX, .huge = 2},
			     &pool))
		abort();
	return 0;
}

/* A ring of NBLOCKS blocks holding the input, as afpacket.c's setup makes
 * it (one reference: the queue's). */
static struct afp_ring *ring_new(const uint8_t *data, size_t size)
{
	struct afp_ring *r = calloc(1, sizeof(*r) + NBLOCKS * sizeof(r->blk[0]));

	CHECK(r);
	r->fd = -1;
	atomic_init(&r->refs, 1);
	r->nblocks = NBLOCKS;
	r->block_size = BLOCK;
	r->map_len = (size_t)NBLOCKS * BLOCK;
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(r->map != MAP_FAILED);
	memcpy(r->map, data, size < r->map_len ? size : r->map_len);
	for (uint32_t i = 0; i < NBLOCKS; i++) {
		struct tpacket_block_desc *bd = (void *)(r->map + (size_t)i * BLOCK);

		bd->hdr.bh1.block_status = TP_STATUS_USER;
		r->blk[i].ring = r;
	}
	return r;
}

/* Every segment's bytes inside the ring or in a pool buffer. */
static void check_pkt(const struct afp_ring *r, const struct weir_pkt *p)
{
	uint32_t sum = 0;

	for (const struct weir_pkt *s = p; s; s = s->next) {
		const uint8_t *d = weir_pkt_data(s);
		bool in_ring = d >= r->map && d + s->data_len <= r->map + r->map_len;

		CHECK(in_ring || !(s->flags & WEIR_PKT_F_EXT) || s->data_len == 0);
		sum += s->data_len;
	}
	CHECK(sum == p->pkt_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct afp_rxq q = {0};
	struct weir_pkt *pkts[32], *kept[8];
	uint32_t nkept = 0, keep;
	struct afp_ring *r;

	if (size < 1)
		return 0;
	q.q.port = &port;
	q.pool = pool;
	q.vnet = data[0] & 1;
	q.copy_above = (data[0] & 2) ? 0 : NBLOCKS;
	keep = (data[0] >> 2) & 7;
	r = ring_new(data + 1, size - 1);
	q.ring = r;
	for (int round = 0; round < 8; round++) {
		uint16_t n = afp_rx_burst(&q.q, pkts, 32);

		for (uint16_t i = 0; i < n; i++) {
			check_pkt(r, pkts[i]);
			if (nkept < keep && nkept < 8)
				kept[nkept++] = pkts[i];
			else
				weir_pkt_free(pkts[i]);
		}
		if (!n)
			break;
	}
	/* The ring outlives the queue while packets hold blocks. */
	atomic_fetch_add(&r->refs, 1);
	afp_rxq_release(&q);
	for (uint32_t i = 0; i < nkept; i++)
		weir_pkt_free(kept[i]);
	for (uint32_t i = 0; i < NBLOCKS; i++) {
		const struct tpacket_block_desc *bd = (const void *)(r->map + (size_t)i * BLOCK);

		CHECK(!atomic_load(&r->blk[i].held));
		/* opened blocks were given back; unopened ones stay USER */
		CHECK(bd->hdr.bh1.block_status == TP_STATUS_KERNEL ||
		      bd->hdr.bh1.block_status == TP_STATUS_USER);
	}
	CHECK(atomic_load(&r->refs) == 1);
	CHECK(weir_pool_in_use(pool) == 0);
	munmap(r->map, r->map_len);
	free(r);
	return 0;
}
