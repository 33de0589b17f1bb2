// SPDX-License-Identifier: BSD-3-Clause
/*
 * dpdk: a bridge to any DPDK ethdev. dpdk:DEVARGS probes the device DPDK
 * names by DEVARGS (a vdev such as net_ring0, net_null0,
 * net_tap0,iface=tap0, net_af_xdp0,iface=veth0, or a PCI address) in an
 * EAL weir starts once per process (dpdk_eal.c), configures N queue pairs
 * with RSS when N > 1, and hands its queues to weir: the bursts move
 * packets without a copy (dpdk_rxtx.c). Link, MTU, promiscuous mode and
 * DPDK's own counters (imissed, rx_nombuf, per queue, the PMD's) show up
 * as weir's stats and xstats. weir's scheduler, stack and apps ride on
 * DPDK's NIC drivers instead of replacing them.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_memory.h>
#include <rte_memzone.h>

#include "weir/log.h"
#include "dpdk_internal.h"

#define DPDK_MAX_QUEUES 64

static bool port_in_use[RTE_MAX_ETHPORTS]; /* control thread only */
static unsigned pool_seq;

enum { CSUM_AUTO, CSUM_FIX, CSUM_KEEP };

struct dpdk_args {
	uint64_t queues, rxd, txd, mbufs, mtu, promisc, rxintr;
	int csum;
};

static void dpdk_close(struct weir_port *port);

static int parse_args(struct weir_port *port, const struct weir_port_conf *conf,
		      struct dpdk_args *a)
{
	int err;

	if ((err = weir_port_arg_u64(port, "queues", conf->nb_rxq ? conf->nb_rxq : 1, 1,
				     DPDK_MAX_QUEUES, &a->queues)) ||
	    (err = weir_port_arg_u64(port, "rxd", conf->rx_size ? conf->rx_size : 1024, 32,
				     32768, &a->rxd)) ||
	    (err = weir_port_arg_u64(port, "txd", conf->tx_size ? conf->tx_size : 1024, 32,
				     32768, &a->txd)) ||
	    (err = weir_port_arg_u64(port, "mbufs", 0, 0, 1 << 24, &a->mbufs)) ||
	    (err = weir_port_arg_u64(port, "mtu", 0, 0, 65535, &a->mtu)) ||
	    (err = weir_port_arg_u64(port, "promisc", 1, 0, 1, &a->promisc)) ||
	    (err = weir_port_arg_u64(port, "rxintr", 1, 0, 1, &a->rxintr)))
		return err;
	a->csum = weir_port_arg_choice(port, "csum", CSUM_AUTO);
	if (a->csum < 0)
		return a->csum;
	if (conf->nb_txq && conf->nb_txq != a->queues)
		return weir_port_fail(port, -EINVAL, "needs as many TX queues as RX queues (%llu)",
				      (unsigned long long)a->queues);
	return 0;
}

/* The ethdev devargs name (probing it first unless EAL already has it). */
static int find_or_probe(struct weir_port *port, struct dpdk_priv *priv)
{
	const char *devargs = port->ifname;
	uint16_t pid;
	int ret;

	snprintf(priv->devname, sizeof(priv->devname), "%.*s", (int)strcspn(devargs, ","),
		 devargs);
	if (rte_eth_dev_get_port_by_name(priv->devname, &pid) != 0) {
		ret = rte_dev_probe(devargs);
		if (ret < 0)
			return weir_port_fail(port, -ENOENT,
					      "DPDK cannot probe '%s' (%s): name a vdev (net_ring0, "
					      "net_null0, net_tap0,iface=X, net_af_xdp0,iface=X, "
					      "net_af_packet0,iface=X) or a PCI address; --log-level "
					      "debug says why",
					      devargs, rte_strerror(-ret));
		priv->probed = true;
		if (rte_eth_dev_get_port_by_name(priv->devname, &pid) != 0)
			return weir_port_fail(port, -ENODEV,
					      "'%s' was probed but is no Ethernet device", devargs);
	}
	if (port_in_use[pid])
		return weir_port_fail(port, -EBUSY, "%s is open already in this process",
				      priv->devname);
	port_in_use[pid] = true;
	priv->port_id = pid;
	priv->port_valid = true;
	return 0;
}

/* The memzone under a packed pool goes with the pool (rte_mempool_free). */
static void pool_mz_free(struct rte_mempool_memhdr *hdr, void *mz)
{
	(void)hdr;
	rte_memzone_free(mz);
}

/*
 * Without huge pages DPDK's own populate keeps every object inside one
 * 4 KiB page, so an mbuf of 2.6 KiB gets a page to itself: all mbufs sit
 * at the same page offset, their lines in the same few L1 sets, and the
 * burst or two in flight evict each other (8 ways) between RX and TX. In
 * IOVA-as-VA mode memory is IOVA-contiguous wherever it is virtually
 * contiguous, so the objects go back to back in one memzone instead, with
 * real IOVAs (NO_IOVA_CONTIG only turns the page split off). NULL and
 * rte_errno.
 */
static struct rte_mempool *pool_create_packed(const char *name, unsigned n, unsigned cache,
					      uint16_t room, int socket)
{
	struct rte_pktmbuf_pool_private pp = {.mbuf_data_room_size = room,
					      .mbuf_priv_size = DPDK_MBUF_PRIV_SIZE};
	const struct rte_memzone *mz;
	struct rte_mempool *mp;
	size_t len;
	int ret;

	mp = rte_mempool_create_empty(name, n, sizeof(struct rte_mbuf) + DPDK_MBUF_PRIV_SIZE + room,
				      cache, sizeof(pp), socket, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (!mp)
		return NULL;
	if ((ret = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL)) < 0)
		goto fail;
	rte_pktmbuf_pool_init(mp, &pp);
	len = (size_t)n * (mp->header_size + mp->elt_size + mp->trailer_size) + RTE_MEMPOOL_ALIGN;
	mz = rte_memzone_reserve_aligned(name, len, socket, RTE_MEMZONE_IOVA_CONTIG,
					 RTE_MEMPOOL_ALIGN);
	if (!mz) {
		ret = -rte_errno;
		goto fail;
	}
	ret = rte_mempool_populate_iova(mp, mz->addr, mz->iova, mz->len, pool_mz_free, (void *)mz);
	if (ret <= 0)
		rte_memzone_free(mz); /* not the pool's: it did not take the chunk */
	if (ret >= 0 && (unsigned)ret != n)
		ret = -ENOMEM;
	if (ret < 0)
		goto fail;
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
fail:
	rte_mempool_free(mp);
	rte_errno = -ret;
	return NULL;
}

static struct rte_mempool *pool_create(const char *kind, unsigned n, uint16_t room, int socket)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned cache = n >= 1024 ? 256 : 0;
	struct rte_mempool *mp = NULL;

	snprintf(name, sizeof(name), DPDK_POOL_PREFIX "%s%u", kind, pool_seq++);
	if (!rte_eal_has_hugepages() && rte_eal_iova_mode() == RTE_IOVA_VA)
		mp = pool_create_packed(name, n, cache, room, socket);
	/* No memzone that large in one piece: DPDK's way, one mbuf a page. */
	return mp ? mp : rte_pktmbuf_pool_create(name, n, cache, DPDK_MBUF_PRIV_SIZE, room, socket);
}

static void eth_conf(const struct rte_eth_dev_info *info, const struct dpdk_args *a,
		     struct rte_eth_conf *ec)
{
	uint16_t nq = (uint16_t)a->queues;
	const uint64_t tx_want = RTE_ETH_TX_OFFLOAD_MULTI_SEGS | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
				 RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
				 RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_UDP_TSO;

	memset(ec, 0, sizeof(*ec));
	if (nq > 1 && info->flow_type_rss_offloads) {
		ec->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		ec->rx_adv_conf.rss_conf.rss_hf = info->flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
		ec->rxmode.offloads |= info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH;
	}
	ec->rxmode.offloads |= info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_CHECKSUM;
	ec->txmode.offloads = info->tx_offload_capa & tx_want;
	/* Asked of every device; those without RX interrupts ignore it
	 * (rx_intr_setup finds no fd and says so). */
	ec->intr_conf.rxq = a->rxintr ? 1 : 0;
}

/* Pool memory the device may DMA from without a copy: everything for a
 * vdev in IOVA-as-VA mode (none of them DMA), the weir pool's data area
 * mapped for a PCI device, nothing in IOVA-as-PA mode. */
static void zero_copy_window(struct weir_port *port, struct dpdk_priv *priv,
			     const struct rte_eth_dev_info *info, uintptr_t *lo, uintptr_t *hi)
{
	struct weir_pool *pool = port->pool;
	size_t len = (size_t)pool->n << pool->buf_shift;

	*lo = *hi = 0;
	if (rte_eal_iova_mode() != RTE_IOVA_VA) {
		WEIR_WARN("%s: EAL runs with IOVA as PA: every frame sent is copied (xstat "
			  "tx_copied); --iova-mode=va in WEIR_EAL_ARGS avoids it",
			  port->label);
		return;
	}
	if (!dpdk_is_pci(port->ifname)) {
		*hi = UINTPTR_MAX;
		return;
	}
	if (rte_extmem_register(pool->data, len, NULL, 0, pool->huge ? 2u << 20 : 4096) < 0 &&
	    rte_errno != EEXIST) {
		WEIR_WARN("%s: cannot register the weir pool with DPDK (%s): frames sent are "
			  "copied (xstat tx_copied)", port->label, rte_strerror(rte_errno));
		return;
	}
	if (rte_dev_dma_map(info->device, pool->data, (uint64_t)(uintptr_t)pool->data, len) < 0) {
		WEIR_WARN("%s: cannot map the weir pool for DMA (%s): frames sent are copied "
			  "(xstat tx_copied)", port->label, rte_strerror(rte_errno));
		rte_extmem_unregister(pool->data, len);
		return;
	}
	priv->dma_addr = pool->data;
	priv->dma_len = len;
	*lo = (uintptr_t)pool->data;
	*hi = *lo + len;
}

static int setup_queues(struct weir_port *port, struct dpdk_priv *priv, const struct dpdk_args *a,
			const struct rte_eth_dev_info *info, const struct rte_eth_conf *ec)
{
	uint16_t nq = (uint16_t)a->queues, rxd = (uint16_t)a->rxd, txd = (uint16_t)a->txd;
	int socket = rte_eth_dev_socket_id(priv->port_id), ret;
	unsigned nmbufs = (unsigned)a->mbufs;
	uintptr_t lo, hi;

	if (socket < 0)
		socket = SOCKET_ID_ANY;
	if ((ret = rte_eth_dev_adjust_nb_rx_tx_desc(priv->port_id, &rxd, &txd)) < 0)
		return weir_port_fail(port, ret, "cannot size the rings: %s", rte_strerror(-ret));
	/* RX mbufs stay out while weir holds their packets (queues, delay
	 * lines): room for that besides the rings. */
	if (!nmbufs)
		nmbufs = nq * (rxd + 2048u) + 4096u;
	priv->rx_mp = pool_create("rx", nmbufs, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	priv->hdr_mp = pool_create("tx", nq * (txd + 4u * DPDK_BURST) + 1024u, 0, socket);
	if (!priv->rx_mp || !priv->hdr_mp)
		return weir_port_fail(port, -ENOMEM,
				      "cannot create mbuf pools (%s): raise -m in WEIR_EAL_ARGS "
				      "or lower mbufs= (now %u)",
				      rte_strerror(rte_errno), nmbufs);
	zero_copy_window(port, priv, info, &lo, &hi);
	for (uint16_t q = 0; q < nq; q++) {
		struct dpdk_rxq *rq = (struct dpdk_rxq *)port->fp.rxq[q];
		struct dpdk_txq *tq = (struct dpdk_txq *)port->fp.txq[q];

		if ((ret = rte_eth_rx_queue_setup(priv->port_id, q, rxd, socket, NULL,
						  priv->rx_mp)) < 0 ||
		    (ret = rte_eth_tx_queue_setup(priv->port_id, q, txd, socket, NULL)) < 0)
			return weir_port_fail(port, ret, "cannot set up queue %u: %s", q,
					      rte_strerror(-ret));
		rq->port_id = tq->port_id = priv->port_id;
		rq->pool = port->pool;
		rq->intr_fd = -1; /* rx_intr_setup, once started */
		rq->mp = priv->rx_mp;
		dpdk_rxq_init_template(rq);
		rq->csum_fix = a->csum == CSUM_FIX ||
			       (a->csum == CSUM_AUTO && (strstr(info->driver_name, "af_xdp") ||
							 strstr(info->driver_name, "af_packet") ||
							 strstr(info->driver_name, "tap")));
		tq->hdr_mp = priv->hdr_mp;
		tq->copy_mp = priv->rx_mp;
		tq->zc_lo = lo;
		tq->zc_hi = hi;
		tq->ol_caps = ec->txmode.offloads;
		tq->max_segs = (ec->txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) ||
					       !strcmp(info->driver_name, "net_ring")
				       ? WEIR_PKT_MAX_SEGS
				       : 1;
		if (info->tx_desc_lim.nb_seg_max && tq->max_segs > info->tx_desc_lim.nb_seg_max)
			tq->max_segs = info->tx_desc_lim.nb_seg_max;
	}
	return 0;
}

/* MTU, start, promiscuous mode, address, link: after the queues. */
static int start_port(struct weir_port *port, struct dpdk_priv *priv, const struct dpdk_args *a)
{
	struct rte_eth_link link;
	struct rte_ether_addr mac;
	uint16_t mtu;
	int ret;

	if (a->mtu && (ret = rte_eth_dev_set_mtu(priv->port_id, (uint16_t)a->mtu)) < 0)
		return weir_port_fail(port, ret, "cannot set mtu=%llu: %s",
				      (unsigned long long)a->mtu, rte_strerror(-ret));
	if ((ret = rte_eth_dev_start(priv->port_id)) < 0)
		return weir_port_fail(port, ret, "cannot start the device: %s",
				      rte_strerror(-ret));
	priv->started = true;
	if (a->promisc) {
		ret = rte_eth_promiscuous_enable(priv->port_id);
		if (ret < 0 && ret != -ENOTSUP)
			WEIR_WARN("%s: cannot turn promiscuous mode on (%s): only frames to "
				  "its own address arrive", port->label, rte_strerror(-ret));
		priv->promisc = ret == 0;
	}
	if (rte_eth_dev_get_mtu(priv->port_id, &mtu) == 0 && mtu)
		port->mtu = mtu;
	if (rte_eth_macaddr_get(priv->port_id, &mac) == 0)
		memcpy(port->mac, mac.addr_bytes, 6);
	if (rte_eth_link_get_nowait(priv->port_id, &link) == 0) {
		char s[RTE_ETH_LINK_MAX_STR_LEN];

		rte_eth_link_to_str(s, sizeof(s), &link);
		WEIR_INFO("%s: %s, mtu %u, %u queue(s)", port->label, s, port->mtu,
			  port->fp.nb_rxq);
	}
	return 0;
}

static void read_xstat_names(struct dpdk_priv *priv)
{
	int n = rte_eth_xstats_get_names(priv->port_id, NULL, 0);

	if (n <= 0)
		return;
	priv->xnames = calloc((size_t)n, sizeof(*priv->xnames));
	if (!priv->xnames)
		return;
	priv->nb_x = rte_eth_xstats_get_names(priv->port_id, priv->xnames, n);
	if (priv->nb_x < 0 || priv->nb_x > n)
		priv->nb_x = 0;
}

/* True when fd is an eventfd (it counts interrupts and must be read),
 * false for a queue's own fd (net_tap's, readable while frames wait). */
static bool fd_is_eventfd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = 0;
	return strstr(link, "eventfd") != NULL;
}

/* Each RX queue's interrupt fd, when the device has RX interrupts, for
 * the lcore to sleep on (dpdk_wait_fd); else the queue polls. */
static void rx_intr_setup(struct weir_port *port, struct dpdk_priv *priv,
			  const struct dpdk_args *a)
{
	uint16_t nq = weir_port_nb_rxq(port), with = 0;

	for (uint16_t q = 0; q < nq; q++) {
		struct dpdk_rxq *rq = (struct dpdk_rxq *)port->fp.rxq[q];

		rq->intr_fd = a->rxintr ? rte_eth_dev_rx_intr_ctl_q_get_fd(priv->port_id, q) : -1;
		if (rq->intr_fd < 0)
			continue;
		rq->intr_eventfd = fd_is_eventfd(rq->intr_fd);
		rq->intr_armed = false;
		with++;
	}
	if (with)
		WEIR_INFO("%s: RX interrupts on %u of %u queue(s): an idle lcore sleeps until "
			  "frames arrive", port->label, with, nq);
	else if (a->rxintr)
		WEIR_INFO("%s: %s has no RX interrupts: its queues are polled (an idle lcore "
			  "wakes every 1 ms)", port->label, priv->devname);
}

static int configure(struct weir_port *port, struct dpdk_priv *priv, const struct dpdk_args *a)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf ec;
	uint16_t nq = (uint16_t)a->queues;
	int ret;

	if ((ret = rte_eth_dev_info_get(priv->port_id, &info)) < 0)
		return weir_port_fail(port, ret, "cannot read device info: %s", rte_strerror(-ret));
	if (nq > info.max_rx_queues || nq > info.max_tx_queues)
		return weir_port_fail(port, -EINVAL,
				      "queues=%u, but %s (%s) has at most %u RX and %u TX queues%s",
				      nq, priv->devname, info.driver_name, info.max_rx_queues,
				      info.max_tx_queues,
				      strstr(info.driver_name, "af_xdp")
					      ? " (net_af_xdp: add queue_count=N to its devargs)"
					      : "");
	eth_conf(&info, a, &ec);
	if ((ret = rte_eth_dev_configure(priv->port_id, nq, nq, &ec)) < 0)
		return weir_port_fail(port, ret, "cannot configure %u queue(s): %s", nq,
				      rte_strerror(-ret));
	if ((ret = weir_port_alloc_queues(port, nq, nq)) < 0)
		return weir_port_fail(port, ret, "out of memory");
	if ((ret = setup_queues(port, priv, a, &info, &ec)) < 0)
		return ret;
	if ((ret = start_port(port, priv, a)) < 0)
		return ret;
	read_xstat_names(priv);
	rx_intr_setup(port, priv, a);
	if ((ec.txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) &&
	    (ec.txmode.offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM))
		port->tx_offloads |= WEIR_PORT_OFFLOAD_CSUM;
	if (ec.txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO)
		port->tx_offloads |= WEIR_PORT_OFFLOAD_GSO_TCP;
	if (ec.txmode.offloads & RTE_ETH_TX_OFFLOAD_UDP_TSO)
		port->tx_offloads |= WEIR_PORT_OFFLOAD_GSO_UDP;
	/* No LRO is asked for, so RX gives wire frames only, and no partial
	 * checksum is ever marked (csum= completes or keeps them): a
	 * forwarder need not look for super-frames to cut. */
	port->rx_offloads = 0;
	return 0;
}

static int dpdk_open(struct weir_port *port, const struct weir_port_conf *conf)
{
	struct dpdk_priv *priv = port->priv;
	struct dpdk_args a;
	int err;

	if (!port->ifname[0])
		return weir_port_fail(port, -EINVAL,
				      "needs DPDK devargs: dpdk:net_ring0, dpdk:net_tap0,iface=tap0, "
				      "dpdk:net_af_xdp0,iface=veth0, dpdk:0000:01:00.0");
	if (!conf->pool)
		return weir_port_fail(port, -EINVAL, "needs a packet pool (conf.pool)");
	if ((err = parse_args(port, conf, &a)) < 0)
		return err;
	if (dpdk_is_pci(port->ifname)) {
		char addr[64];

		snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(port->ifname, ","), port->ifname);
		if ((err = dpdk_preflight_pci(port, addr)) < 0)
			return err;
	}
	priv->poll_fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	if (priv->poll_fd < 0)
		return weir_port_fail(port, -errno, "eventfd: %s", strerror(errno));
	/* From here on close undoes whatever was done (weir_port_open does
	 * not call it after a failed open). */
	if ((err = dpdk_eal_start(port, port->ifname)) < 0 ||
	    (err = find_or_probe(port, priv)) < 0 || (err = configure(port, priv, &a)) < 0) {
		dpdk_close(port);
		return err;
	}
	return 0;
}

/* Frames still in the device's RX rings (net_ring holds what was sent
 * to itself) go back now, with any weir packets they carry. */
static void drain_rx(struct weir_port *port, struct dpdk_priv *priv)
{
	struct rte_mbuf *ms[DPDK_BURST];

	for (uint16_t q = 0; q < port->fp.nb_rxq; q++) {
		/* Bounded: net_null never runs dry. */
		for (int rounds = 0; rounds < 1024; rounds++) {
			uint16_t n = rte_eth_rx_burst(priv->port_id, q, ms, DPDK_BURST);

			if (!n)
				break;
			rte_pktmbuf_free_bulk(ms, n);
		}
	}
}

static void pool_release(struct weir_port *port, struct rte_mempool *mp)
{
	if (!mp)
		return;
	if (rte_mempool_full(mp)) {
		rte_mempool_free(mp);
		return;
	}
	/* Some mbufs are out: weir packets still riding on them (closed
	 * before they were freed), or a PMD that forgets what it had in its
	 * rings (net_af_xdp's fill ring, in DPDK 22.11). Freeing the pool
	 * could pull memory from under the former: it stays until exit. */
	WEIR_DEBUG("%s: %u mbufs of %s are still out after close; the pool stays until exit",
		   port->label, rte_mempool_in_use_count(mp), mp->name);
}

static void dpdk_close(struct weir_port *port)
{
	struct dpdk_priv *priv = port->priv;

	dpdk_thread_register();
	if (priv->port_valid) {
		struct rte_eth_dev_info info;
		bool have_dev = rte_eth_dev_info_get(priv->port_id, &info) == 0;

		if (priv->started) {
			drain_rx(port, priv);
			rte_eth_dev_stop(priv->port_id);
		}
		/* Closing releases the queues: mbufs still in TX rings are
		 * freed, and with them the weir packets they carry. */
		rte_eth_dev_close(priv->port_id);
		if (priv->probed && have_dev)
			rte_dev_remove(info.device);
		if (priv->dma_addr) {
			if (have_dev)
				rte_dev_dma_unmap(info.device, priv->dma_addr,
						  (uint64_t)(uintptr_t)priv->dma_addr, priv->dma_len);
			rte_extmem_unregister(priv->dma_addr, priv->dma_len);
		}
		port_in_use[priv->port_id] = false;
		priv->port_valid = false;
	}
	pool_release(port, priv->rx_mp);
	pool_release(port, priv->hdr_mp);
	priv->rx_mp = priv->hdr_mp = NULL;
	free(priv->xnames);
	priv->xnames = NULL;
	if (priv->poll_fd >= 0)
		close(priv->poll_fd);
	priv->poll_fd = -1;
}

/*
 * A queue whose device has RX interrupts (net_tap; NICs through vfio)
 * hands out its interrupt fd: an empty burst arms it, frames disarm it,
 * so an idle lcore sleeps until one comes. Most vdevs (net_af_xdp,
 * net_ring, net_null) have none, and their queues hand out an fd that is
 * always readable: an idle loop's first sleep on it ends at once, a spin
 * without work then leaves the fd out (weir_idle's rule for fds readable
 * with nothing to read), and later sleeps last at most
 * WEIR_IDLE_MASKED_NS (1 ms): an idle lcore polls a thousand times a
 * second, and a frame after a quiet spell waits at most about that long.
 */
static int dpdk_wait_fd(struct weir_rxq *rxq)
{
	int fd = ((struct dpdk_rxq *)rxq)->intr_fd;

	return fd >= 0 ? fd : ((struct dpdk_priv *)rxq->port->priv)->poll_fd;
}

static void dpdk_stats(struct weir_port *port, struct weir_port_stats *st)
{
	struct dpdk_priv *priv = port->priv;
	struct rte_eth_stats es;

	/* Packets and bytes are weir's queue counters; these are what only
	 * the device knows. */
	if (rte_eth_stats_get(priv->port_id, &es) != 0)
		return;
	st->imissed += es.imissed;
	st->ierrors += es.ierrors;
	st->rx_nombuf += es.rx_nombuf;
	st->oerrors += es.oerrors;
}

struct own_xstat {
	const char *name;
	size_t off;
	bool rx;
};

static const struct own_xstat own_xstats[] = {
	{"rx_copied", offsetof(struct dpdk_rxq, rx_copied), true},
	{"rx_csum_completed", offsetof(struct dpdk_rxq, rx_csum_completed), true},
	{"rx_nometa", offsetof(struct dpdk_rxq, rx_nometa), true},
	{"tx_copied", offsetof(struct dpdk_txq, tx_copied), false},
	{"tx_reused", offsetof(struct dpdk_txq, tx_reused), false},
	{"tx_csum_completed", offsetof(struct dpdk_txq, tx_csum_completed), false},
	{"tx_too_big", offsetof(struct dpdk_txq, tx_too_big), false},
	{"tx_nombuf", offsetof(struct dpdk_txq, tx_nombuf), false},
};

#define NB_OWN (sizeof(own_xstats) / sizeof(own_xstats[0]))

static void put_xstat(struct weir_xstat *xs, int n, int i, const char *name, uint64_t v)
{
	if (i < n) {
		snprintf(xs[i].name, sizeof(xs[i].name), "%s", name);
		xs[i].value = v;
	}
}

static int dpdk_xstats(struct weir_port *port, struct weir_xstat *xs, int n)
{
	struct dpdk_priv *priv = port->priv;
	struct rte_eth_xstat vals[512];
	struct rte_eth_link link;
	char name[WEIR_XSTAT_NAMESIZE];
	int i = 0, nv;

	for (size_t k = 0; k < NB_OWN; k++, i++) {
		uint64_t sum = 0;

		for (uint16_t q = 0; q < port->fp.nb_rxq; q++) {
			const char *base = own_xstats[k].rx ? (const char *)port->fp.rxq[q]
							    : (const char *)port->fp.txq[q];

			sum += weir_port_ctr_read((const uint64_t *)(const void *)(base +
										   own_xstats[k].off));
		}
		put_xstat(xs, n, i, own_xstats[k].name, sum);
	}
	if (rte_eth_link_get_nowait(priv->port_id, &link) != 0)
		memset(&link, 0, sizeof(link));
	put_xstat(xs, n, i++, "link_up", link.link_status);
	put_xstat(xs, n, i++, "link_speed_mbps", link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN
							 ? 0 : link.link_speed);
	put_xstat(xs, n, i++, "promiscuous", priv->promisc);
	nv = priv->nb_x < (int)RTE_DIM(vals) ? priv->nb_x : (int)RTE_DIM(vals);
	nv = nv > 0 ? rte_eth_xstats_get(priv->port_id, vals, (unsigned)nv) : 0;
	for (int k = 0; k < nv && k < priv->nb_x; k++, i++) {
		uint64_t id = vals[k].id;

		snprintf(name, sizeof(name), "dpdk_%s",
			 id < (uint64_t)priv->nb_x ? priv->xnames[id].name : "?");
		put_xstat(xs, n, i, name, vals[k].value);
	}
	return i;
}

static const struct weir_port_param dpdk_params[] = {
	{"queues", "queue pairs, one lcore each, RSS across them when > 1 (default 1)", NULL},
	{"rxd", "RX descriptors per queue (default 1024)", NULL},
	{"txd", "TX descriptors per queue (default 1024)", NULL},
	{"mbufs", "RX mbufs in the port's pool (default queues x (rxd + 2048) + 4096)", NULL},
	{"mtu", "set the device's MTU (default: leave it)", NULL},
	{"promisc", "promiscuous mode (default 1)", "0|1"},
	{"rxintr", "sleep on RX interrupts where the device has them (net_tap, NICs "
		   "through vfio), else poll (default 1)", "0|1"},
	{"csum", "complete partial checksums from Linux peers: auto (af_xdp, af_packet, tap), "
		 "fix, keep", "auto|fix|keep"},
	{NULL, NULL, NULL},
};

static const struct weir_port_ops dpdk_ops = {
	.open = dpdk_open,
	.rx_burst = dpdk_rx_burst,
	.tx_burst = dpdk_tx_burst,
	.wait_fd = dpdk_wait_fd,
	.stats = dpdk_stats,
	.xstats = dpdk_xstats,
	.close = dpdk_close,
};

static struct weir_port_driver dpdk_driver = {
	.name = "dpdk",
	.help = "dpdk:DEVARGS — any DPDK ethdev: net_ring0, net_tap0,iface=tap0, "
		"net_af_xdp0,iface=veth0, a PCI address",
	.ops = &dpdk_ops,
	.params = dpdk_params,
	.priv_size = sizeof(struct dpdk_priv),
	.rxq_size = sizeof(struct dpdk_rxq),
	.txq_size = sizeof(struct dpdk_txq),
	.name_has_eq = true,
	/* DPDK's PMDs undo at close what they set up (net_af_xdp detaches
	 * its XDP program, net_tap removes its flows over netlink, vfio
	 * unmaps): what the afxdp driver keeps, and raw sockets. */
	.caps_kept = 1ull << CAP_NET_ADMIN | 1ull << CAP_SYS_ADMIN | 1ull << CAP_BPF |
		     1ull << CAP_NET_RAW,
};

WEIR_PORT_DRIVER_REGISTER(dpdk_driver)
