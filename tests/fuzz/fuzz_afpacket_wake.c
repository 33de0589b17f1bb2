// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: afpacket's wake ring (pmd/afpacket_wake.c, afp_wake_rx) over
 * a TPACKET_V2 ring built in memory instead of by the kernel: each slot's
 * header (tp_status with its VLAN bits, tp_len, tp_snaplen, tp_mac, the
 * VLAN tag) and the vnet header in front of the frame.
 *
 * Input: byte 0 picks the mode (bit 0: frames carry a virtio_net_hdr); the
 * rest fills four 1 KiB slots as the kernel would have, every slot's status
 * forced to have TP_STATUS_USER. Properties beyond "no crash, no
 * out-of-bounds access, no leak": every packet is a copy (pool buffers,
 * lengths adding up); each slot read goes back to the kernel
 * (TP_STATUS_KERNEL) and is counted as done for the eBPF program; the pool
 * has every buffer back at the end.
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

#define SLOTS 4
#define SLOT 1024
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
	if (weir_pool_create(&(struct weir_pool_conf){.name = "fuzz-afpw", .n = NBUF,
						      .buf_size = 512, .headroom = 64,
						      .cache_size = UINT32_MAX, .huge = 2},
			     &pool))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct afp_rxq q = {0};
	/* sel 0: the blocks hold only newer frames, so no block ring is
	 * looked at first (there is none in this harness). */
	struct afp_wake_ctl ctl = {.sel = 0};
	struct afp_wake *w;
	struct weir_pkt *pkts[8];
	uint64_t bytes = 0;
	uint32_t total = 0;
	uint16_t n;

	if (size < 1)
		return 0;
	w = calloc(1, sizeof(*w));
	CHECK(w);
	w->fd = w->epfd = w->map_fd = -1;
	for (int i = 0; i < AFP_WAKE_PROGS; i++)
		w->prog_fd[i] = -1;
	w->ctl = &ctl;
	w->slots = SLOTS;
	w->frame_size = SLOT;
	w->map_len = (size_t)SLOTS * SLOT;
	w->map = mmap(NULL, w->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(w->map != MAP_FAILED);
	memcpy(w->map, data + 1, size - 1 < w->map_len ? size - 1 : w->map_len);
	for (uint32_t i = 0; i < SLOTS; i++)
		((struct tpacket2_hdr *)(void *)(w->map + (size_t)i * SLOT))->tp_status |=
			TP_STATUS_USER;
	q.q.port = &port;
	q.pool = pool;
	q.vnet = data[0] & 1;
	q.wake = w;
	/* Two bursts of at most 3: the head wraps, and a short burst stops
	 * with slots left. */
	for (int round = 0; round < 2; round++) {
		n = afp_wake_rx(&q, pkts, 3, &bytes);
		for (uint16_t i = 0; i < n; i++) {
			uint32_t sum = 0;

			for (const struct weir_pkt *s = pkts[i]; s; s = s->next) {
				CHECK(!(s->flags & WEIR_PKT_F_EXT));
				sum += s->data_len;
			}
			CHECK(sum == pkts[i]->pkt_len);
			total += pkts[i]->pkt_len;
			weir_pkt_free(pkts[i]);
		}
	}
	CHECK(bytes == total);
	CHECK(ctl.done == (SLOTS < 6 ? SLOTS : 6));
	for (uint32_t i = 0; i < SLOTS; i++)
		CHECK(((struct tpacket2_hdr *)(void *)(w->map + (size_t)i * SLOT))->tp_status ==
		      TP_STATUS_KERNEL);
	afp_wake_release(&q);
	CHECK(!q.wake);
	CHECK(weir_pool_in_use(pool) == 0);
	return 0;
}
