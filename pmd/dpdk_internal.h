/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dpdk: bridge driver's internals, shared by dpdk.c (open, close,
 * counters), dpdk_eal.c (starting EAL once, the preflight) and
 * dpdk_rxtx.c (the bursts). Packets cross the bridge without a copy both
 * ways: a received rte_mbuf segment becomes the weir_pkt that lives in its
 * own private area (no weir pool, no reference counting of its own), and
 * a weir_pkt segment goes out as an mbuf header attached to the weir
 * buffer (rte_pktmbuf_attach_extbuf), whose shared info is in the
 * header's private area too. An mbuf weir sent and gets back (net_ring
 * loopback) carries both at once.
 */
#ifndef WEIR_PMD_DPDK_INTERNAL_H
#define WEIR_PMD_DPDK_INTERNAL_H

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "weir/pkt.h"
#include "weir/port_driver.h"

/* Mempools weir creates are named "weir_..." (how RX tells its own mbufs,
 * whose private area is a struct dpdk_mbuf_priv, from anyone else's). */
#define DPDK_POOL_PREFIX "weir_"

struct dpdk_mbuf_priv {
	/* RX: the mbuf segment as a weir packet (WEIR_PKT_F_EMBEDDED, ext
	 * &dpdk_mbuf_owner), so receiving takes nothing from a weir pool and
	 * the last free gives the mbuf back. First, so that it is cache-line
	 * aligned like the mbuf in front of it. */
	struct weir_pkt pkt;
	struct rte_mbuf_ext_shared_info shinfo; /* TX: the weir segment it carries */
};

static_assert(sizeof(struct rte_mbuf) % WEIR_CACHE_LINE == 0, "mbuf private area aligned");

#define DPDK_MBUF_PRIV_SIZE RTE_ALIGN(sizeof(struct dpdk_mbuf_priv), RTE_MBUF_PRIV_ALIGN)

/* The owner of every weir packet embedded in an mbuf (dpdk_rxtx.c). */
extern struct weir_extbuf dpdk_mbuf_owner;

/* The weir packet in a weir mbuf's private area, and the way back. */
static inline struct weir_pkt *dpdk_mbuf_pkt(struct rte_mbuf *m)
{
	return &((struct dpdk_mbuf_priv *)rte_mbuf_to_priv(m))->pkt;
}

static inline struct rte_mbuf *dpdk_pkt_mbuf(const struct weir_pkt *p)
{
	return (struct rte_mbuf *)((uintptr_t)p - sizeof(struct rte_mbuf));
}

/* True when segment p is a weir packet embedded in an mbuf by this driver. */
static inline bool dpdk_pkt_embedded(const struct weir_pkt *p)
{
	return p->flags == WEIR_PKT_F_EMBEDDED && p->ext == &dpdk_mbuf_owner;
}

/* Largest burst handed to rte_eth_rx_burst / rte_eth_tx_burst at once. */
#define DPDK_BURST 64

struct dpdk_rxq {
	struct weir_rxq q;
	/* What every received segment's embedded weir_pkt starts as
	 * (dpdk_rxq_init_template()): one copy, then the mbuf's offsets. */
	struct weir_pkt tmpl;
	uint16_t port_id;
	struct weir_pool *pool;     /* packets for the copy path (foreign mbufs) */
	struct rte_mempool *mp;     /* this port's RX mbufs */
	bool csum_fix;              /* complete partial checksums Linux peers send */
	/* RX interrupts (dpdk_rx_intr_setup): the fd the lcore sleeps on,
	 * -1 when the device has none; armed after an empty burst. */
	int intr_fd;
	bool intr_eventfd;          /* the fd counts interrupts: drain it on wake-up */
	bool intr_armed;
	uint64_t rx_copied;         /* frames copied: mbufs not from a weir mempool */
	uint64_t rx_csum_completed; /* partial checksums completed in software */
	uint64_t rx_nometa;         /* foreign frames dropped: the weir pool was empty */
};

struct dpdk_txq {
	struct weir_txq q;
	uint16_t port_id;
	struct rte_mempool *hdr_mp;  /* mbuf headers for zero-copy TX (no data room) */
	struct rte_mempool *copy_mp; /* mbufs with data room, for the copy path */
	uintptr_t zc_lo, zc_hi;      /* buffers in [lo, hi) go out without a copy */
	uint64_t ol_caps;            /* RTE_ETH_TX_OFFLOAD_* the device took */
	uint16_t max_segs;           /* per frame (1: chains are copied flat) */
	uint64_t tx_copied;          /* frames copied: buffer not DMA-able, or too many segments */
	uint64_t tx_reused;          /* frames received here that went out in their own mbuf */
	uint64_t tx_csum_completed;  /* partial checksums completed in software */
	uint64_t tx_too_big;         /* super-frames the device cannot segment, dropped */
	uint64_t tx_nombuf;          /* bursts cut short for want of mbuf headers */
};

struct dpdk_priv {
	uint16_t port_id;
	bool port_valid;  /* port_id names the ethdev we probed */
	bool started;
	bool probed;      /* we probed the device (and remove it at close) */
	bool promisc;
	struct rte_mempool *rx_mp, *hdr_mp;
	char devname[RTE_DEV_NAME_MAX_LEN];
	/* DPDK's xstats, read at open: their names, prefixed "dpdk_". */
	struct rte_eth_xstat_name *xnames;
	int nb_x;
	int poll_fd;      /* always readable: see dpdk_wait_fd() */
	void *dma_addr;   /* weir pool memory mapped for the device's DMA */
	size_t dma_len;
};

/* --- dpdk_eal.c ---------------------------------------------------------- */

/* True when devargs names a PCI device ("0000:01:00.0" or "01:00.0"). */
bool dpdk_is_pci(const char *devargs);
/*
 * Starts EAL once per process (later calls return its first result):
 * --in-memory, --no-telemetry, --no-huge -m and --no-pci when no huge pages
 * are reserved and the first device is a vdev, then WEIR_EAL_ARGS; EAL's
 * failure goes into the port's message with the arguments it was given.
 * 0 or a negative errno. Control thread.
 */
int dpdk_eal_start(struct weir_port *port, const char *devargs);
/* Checks what a PCI device needs before probing it (huge pages, vfio-pci
 * loaded and bound, an IOMMU group): 0 or -errno with the port's message
 * naming what is missing and the command that fixes it. */
int dpdk_preflight_pci(struct weir_port *port, const char *addr);
/* Gives the calling thread an EAL lcore id (for the mempool caches), once
 * per thread; threads that cannot get one run without caches. */
void dpdk_thread_register_slow(void);

static inline void dpdk_thread_register(void)
{
	if (__builtin_expect(rte_lcore_id() == LCORE_ID_ANY, 0))
		dpdk_thread_register_slow();
}

/* --- dpdk_rxtx.c --------------------------------------------------------- */

/* Fills q->tmpl for packets received on q (before the first burst). */
void dpdk_rxq_init_template(struct dpdk_rxq *q);
/* Arms queue q's RX interrupt once a burst came back empty, disarms it
 * (draining an eventfd) when frames flow again. */
void dpdk_rx_intr_arm(struct dpdk_rxq *q);
void dpdk_rx_intr_disarm(struct dpdk_rxq *q);
uint16_t dpdk_rx_burst(struct weir_rxq *rxq, struct weir_pkt **pkts, uint16_t n);
uint16_t dpdk_tx_burst(struct weir_txq *txq, struct weir_pkt **pkts, uint16_t n);

#endif
