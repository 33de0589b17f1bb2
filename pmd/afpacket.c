// SPDX-License-Identifier: BSD-3-Clause
/*
 * afpacket: a poll-mode driver over Linux AF_PACKET sockets with mmap'ed
 * rings, so any interface (veth, a NIC without an XDP driver) can be a weir
 * port without a kernel module of our own.
 *
 * Receive uses a TPACKET_V3 block ring per queue, mapped once, whose
 * frames become packets without a copy (afpacket_rx.c). Transmit uses a
 * TPACKET_V2 frame ring on a second socket per queue, reaped in order by
 * tx_done for DQL (afpacket_tx.c). This file is the control path: sockets,
 * rings, fanout, options, statistics, and the ops table.
 *
 * Offloads (offload=1, the default): both sockets exchange a struct
 * virtio_net_hdr with the kernel (PACKET_VNET_HDR) in front of every frame.
 * On receive it says what Linux senders leave undone: a partial checksum
 * (NEEDS_CSUM, with csum_start/offset) and GSO super-frames of up to 64 KiB
 * (gso_type/gso_size), which a 256 KiB block holds whole; weir_pkt carries
 * both on. On transmit weir tells the kernel the same, so partial checksums
 * and super-frames go out as they came and the kernel (or the device)
 * finishes them: a TCP stream crosses weir as 64 KiB frames, not 45 times
 * as many wire frames. A super-frame longer than a ring slot goes by
 * sendmsg on a third, ring-less socket (a socket with a TX ring sends only
 * from the ring). offload=0 gives plain frames; then partial checksums the
 * kernel flags (TP_STATUS_CSUMNOTREADY) are completed in software.
 *
 * Several queues are several socket pairs; the RX sockets join one
 * PACKET_FANOUT group (hash, lb or cpu), and each queue is polled by one
 * lcore. The RX socket's fd is the queue's wait_fd (interrupt mode).
 *
 * A vanished interface shows as POLLERR/ENETDOWN on the RX socket (checked
 * every so many empty polls) or ENXIO from sendto(): the port is marked
 * dead, says so once, and its bursts return 0 from then on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weir/log.h"
#include "weir/port_driver.h"

#include "afpacket_internal.h"

/* --- control path --------------------------------------------------------- */

struct afp_conf {
	uint64_t queues, fanout, bypass, block_size, frame_size, blocks, timeout_us, offload, wake;
	uint32_t tx_frames;
};

/* A 64 KiB GSO frame, its vnet header and the ring's per-frame header
 * (rounded up: the kernel truncates frames that do not fit a block). */
#define AFP_GSO_BLOCK (1u << 17)

static const char *const fanout_names[] = {"hash", "lb", "cpu"};
static const int fanout_modes[] = {PACKET_FANOUT_HASH, PACKET_FANOUT_LB, PACKET_FANOUT_CPU};

static int packet_socket(struct weir_port *port, int *out)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		if (errno == EPERM || errno == EACCES)
			return weir_port_fail(port, -EPERM,
					      "AF_PACKET needs CAP_NET_RAW (run as root, or "
					      "setcap cap_net_raw+ep on the program)");
		return weir_port_fail(port, -errno, "AF_PACKET socket: %s", strerror(errno));
	}
	*out = fd;
	return 0;
}

static int set_int(struct weir_port *port, int fd, int opt, int val, const char *name)
{
	if (setsockopt(fd, SOL_PACKET, opt, &val, sizeof(val)) < 0)
		return weir_port_fail(port, -errno, "setsockopt(%s): %s", name, strerror(errno));
	return 0;
}

/* Maps the ring the kernel just made on fd ("rx" or "tx"), every page
 * touched now so that the fast path takes no fault. *map stays as it was
 * on failure. */
static int ring_mmap(struct weir_port *port, int fd, size_t len, const char *dir, uint8_t **map)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);

	if (m == MAP_FAILED)
		return weir_port_fail(port, -errno, "mmap of the %s ring (%zu bytes): %s", dir, len,
				      strerror(errno));
	*map = m;
	return 0;
}

/*
 * Joins the port's fanout group. A fanout group has its own hook:
 * PACKET_IGNORE_OUTGOING on the socket does not reach it, and each queue's
 * socket would receive what the others transmit (a forwarder loops them);
 * PACKET_FANOUT_FLAG_IGNORE_OUTGOING (Linux 6.9) does. The first queue asks
 * the kernel for a group id no other socket in the namespace uses
 * (PACKET_FANOUT_FLAG_UNIQUEID, Linux 4.3; ids are per namespace, so one
 * made from the PID could collide with another process's); the others join
 * it. *id is 0 before the first join.
 */
#define AFP_FANOUT_IGNORE_OUTGOING 0x4000
#define AFP_FANOUT_UNIQUEID 0x2000
static int fanout_join(struct weir_port *port, int fd, const struct afp_conf *c, uint16_t *id)
{
	int mode = fanout_modes[c->fanout] | AFP_FANOUT_IGNORE_OUTGOING;
	int arg = *id ? *id | (mode << 16) : (mode | AFP_FANOUT_UNIQUEID) << 16;
	socklen_t len = sizeof(arg);
	int err;

	/* Older kernels refuse the flag: join without it. */
	if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0) {
		arg &= ~(AFP_FANOUT_IGNORE_OUTGOING << 16);
		if ((err = set_int(port, fd, PACKET_FANOUT, arg, "PACKET_FANOUT")))
			return err;
	}
	if (!*id) {
		if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, &len) < 0)
			return weir_port_fail(port, -errno, "getsockopt(PACKET_FANOUT): %s",
					      strerror(errno));
		*id = (uint16_t)(arg & 0xffff);
	}
	return 0;
}

static int rxq_setup(struct weir_port *port, struct afp_rxq *q, const struct afp_conf *c,
		     int ifindex, uint16_t *fanout_id)
{
	uint32_t nblocks = (uint32_t)c->blocks;
	struct tpacket_req3 req = {
		.tp_block_size = (unsigned int)c->block_size,
		.tp_block_nr = nblocks,
		.tp_frame_size = (unsigned int)c->frame_size,
		.tp_frame_nr = (unsigned int)(c->block_size / c->frame_size * nblocks),
		/* The kernel's block timer counts milliseconds. */
		.tp_retire_blk_tov = (unsigned int)((c->timeout_us + 999) / 1000),
		.tp_feature_req_word = TP_FT_REQ_FILL_RXHASH,
	};
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	struct afp_ring *r;
	int fd = -1, err;

	r = calloc(1, sizeof(*r) + nblocks * sizeof(r->blk[0]));
	if (!r)
		return weir_port_fail(port, -ENOMEM, "out of memory");
	r->fd = -1;
	atomic_init(&r->refs, 1);
	r->nblocks = nblocks;
	r->block_size = (uint32_t)c->block_size;
	for (uint32_t i = 0; i < nblocks; i++)
		r->blk[i].ring = r;
	q->ring = r;
	q->pool = port->pool;
	q->ifindex = ifindex;
	q->copy_above = nblocks / 2;

	/* Protocol 0 until bound: nothing is queued before the ring exists. */
	if ((err = packet_socket(port, &fd)))
		return err;
	r->fd = fd;
	if ((err = set_int(port, fd, PACKET_VERSION, TPACKET_V3, "PACKET_VERSION")))
		return err;
	/* Before the ring: the kernel reserves the header's room per frame. */
	if (c->offload && (err = set_int(port, fd, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR")))
		return err;
	q->vnet = c->offload;
	if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0)
		return weir_port_fail(port, -errno,
				      "PACKET_RX_RING (block_size=%u blocks=%u frame_size=%u): %s",
				      req.tp_block_size, req.tp_block_nr, req.tp_frame_size,
				      strerror(errno));
	r->map_len = (size_t)req.tp_block_size * req.tp_block_nr;
	if ((err = ring_mmap(port, fd, r->map_len, "rx", &r->map)))
		return err;
	/* Our own transmissions are not input (kernel >= 4.20; older ones
	 * would show them, hence only a warning). */
	if (set_int(port, fd, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING"))
		WEIR_WARN("%s", port->err);
	/* Before the bind: the wake ring's count of the block socket's frames
	 * starts with its first. Slots hold a wire frame (GSO super-frames go
	 * to the blocks). */
	if (c->wake && c->queues == 1)
		afp_wake_setup(q, ifindex, c->offload, (uint32_t)((c->frame_size + 4095) & ~4095ULL));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return weir_port_fail(port, -errno, "bind: %s", strerror(errno));
	if (c->queues > 1)
		return fanout_join(port, fd, c, fanout_id);
	afp_wake_join(q);
	return 0;
}

/* A TX socket without a ring: sendmsg() on a socket with a TX ring goes
 * through the ring, so super-frames need a socket of their own. */
static int big_socket(struct weir_port *port, struct afp_txq *q, const struct afp_conf *c,
		      const struct sockaddr_ll *sll)
{
	int err;

	if ((err = packet_socket(port, &q->big_fd)))
		return err;
	if ((err = set_int(port, q->big_fd, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR")) ||
	    (c->bypass &&
	     (err = set_int(port, q->big_fd, PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS"))))
		return err;
	if (bind(q->big_fd, (const struct sockaddr *)sll, sizeof(*sll)) < 0)
		return weir_port_fail(port, -errno, "bind: %s", strerror(errno));
	return 0;
}

static int txq_setup(struct weir_port *port, struct afp_txq *q, const struct afp_conf *c,
		     int ifindex)
{
	uint32_t per_block = (uint32_t)(c->block_size / c->frame_size);
	uint32_t nblocks = (c->tx_frames + per_block - 1) / per_block;
	struct tpacket_req req = {
		.tp_block_size = (unsigned int)c->block_size,
		.tp_block_nr = nblocks,
		.tp_frame_size = (unsigned int)c->frame_size,
		.tp_frame_nr = nblocks * per_block,
	};
	/* Protocol 0: this socket only sends; it receives nothing. */
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = ifindex,
	};
	int fd = -1, err;

	q->fd = -1;
	q->big_fd = -1;
	q->vnet = c->offload;
	q->vnet_len = q->vnet ? sizeof(struct virtio_net_hdr) : 0;
	q->nframes = req.tp_frame_nr;
	q->frame_size = req.tp_frame_size;
	q->max_len = q->frame_size - (uint32_t)AFP_TX_DATA_OFF - q->vnet_len;
	if (q->max_len > UINT16_MAX)
		q->max_len = UINT16_MAX;
	q->lens = calloc(q->nframes, sizeof(*q->lens));
	if (!q->lens)
		return weir_port_fail(port, -ENOMEM, "out of memory");
	if ((err = packet_socket(port, &fd)))
		return err;
	q->fd = fd;
	if ((err = set_int(port, fd, PACKET_VERSION, TPACKET_V2, "PACKET_VERSION")))
		return err;
	/* A malformed frame is marked WRONG_FORMAT and skipped instead of
	 * stopping the ring. */
	if ((err = set_int(port, fd, PACKET_LOSS, 1, "PACKET_LOSS")))
		return err;
	if (c->bypass && (err = set_int(port, fd, PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS")))
		return err;
	if (q->vnet && (err = set_int(port, fd, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR")))
		return err;
	if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0)
		return weir_port_fail(port, -errno, "PACKET_TX_RING (frames=%u frame_size=%u): %s",
				      req.tp_frame_nr, req.tp_frame_size, strerror(errno));
	q->map_len = (size_t)req.tp_block_size * req.tp_block_nr;
	if ((err = ring_mmap(port, fd, q->map_len, "tx", &q->map)))
		return err;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return weir_port_fail(port, -errno, "bind: %s", strerror(errno));
	return q->vnet ? big_socket(port, q, c, &sll) : 0;
}

static int parse_conf(struct weir_port *port, const struct weir_port_conf *conf,
		      struct afp_conf *c)
{
	uint64_t need;
	int err, fo;

	if ((err = weir_port_arg_u64(port, "queues", conf->nb_rxq ? conf->nb_rxq : 1, 1,
				     AFP_MAX_QUEUES, &c->queues)) ||
	    (err = weir_port_arg_u64(port, "qdisc_bypass", 0, 0, 1, &c->bypass)) ||
	    (err = weir_port_arg_u64(port, "offload", 1, 0, 1, &c->offload)) ||
	    (err = weir_port_arg_u64(port, "block_size", 1 << 18, 4096, 1 << 26,
				     &c->block_size)) ||
	    (err = weir_port_arg_u64(port, "frame_size", 2048, 128, 1 << 20, &c->frame_size)) ||
	    (err = weir_port_arg_u64(port, "blocks", 64, 2, 1 << 16, &c->blocks)) ||
	    (err = weir_port_arg_u64(port, "timeout_us", 1000, 1, 10000000, &c->timeout_us)) ||
	    (err = weir_port_arg_u64(port, "wake", 1, 0, 1, &c->wake)))
		return err;
	/* The default is on where it can be. */
	if (c->wake && c->queues > 1 && weir_port_arg(port, "wake"))
		return weir_port_fail(port, -EINVAL, "wake=1 needs queues=1 (the wake ring shares "
				      "the fanout group with the one block ring)");
	fo = weir_port_arg_choice(port, "fanout", 0);
	if (fo < 0)
		return fo;
	c->fanout = (uint64_t)fo;
	if (!weir_is_pow2(c->block_size) || c->block_size % (uint64_t)getpagesize())
		return weir_port_fail(port, -EINVAL,
				      "block_size=%llu must be a power of two and a multiple of "
				      "the page size (%d)",
				      (unsigned long long)c->block_size, getpagesize());
	if (c->frame_size % TPACKET_ALIGNMENT || c->block_size % c->frame_size)
		return weir_port_fail(port, -EINVAL,
				      "frame_size=%llu must divide block_size=%llu and be a "
				      "multiple of %d",
				      (unsigned long long)c->frame_size,
				      (unsigned long long)c->block_size, TPACKET_ALIGNMENT);
	/* Both rings must hold the largest frame the interface can carry. */
	need = port->mtu + ETH_HLEN + AFP_VLAN_HLEN + TPACKET_ALIGN(sizeof(struct tpacket2_hdr)) +
	       (c->offload ? sizeof(struct virtio_net_hdr) : 0);
	if (c->frame_size < need)
		return weir_port_fail(port, -EINVAL,
				      "frame_size=%llu cannot hold a frame of MTU %u (needs %llu)",
				      (unsigned long long)c->frame_size, port->mtu,
				      (unsigned long long)need);
	if (c->block_size < need + 256)
		return weir_port_fail(port, -EINVAL, "block_size=%llu is too small for MTU %u",
				      (unsigned long long)c->block_size, port->mtu);
	c->tx_frames = conf->tx_size ? conf->tx_size : 1024;
	if (!c->offload && weir_port_iface_is_virtual_peer(port->ifname))
		WEIR_WARN("%s: offload=0 on a veth/tap: a Linux peer with its default TSO/GSO sends "
			  "64 KiB super-frames, which then cannot be forwarded (rx_truncated); "
			  "partial checksums are completed in software. Keep offload=1, or run "
			  "ethtool -K <peer> tso off gso off", port->label);
	if (c->offload && c->block_size < AFP_GSO_BLOCK)
		WEIR_WARN("%s: block_size=%llu cannot hold a 64 KiB GSO frame from a sender with "
			  "TSO/GSO on: such frames are dropped (rx_truncated); use block_size=256k "
			  "(the default)", port->label, (unsigned long long)c->block_size);
	return 0;
}

static void afp_close(struct weir_port *port)
{
	struct afp_priv *priv = port->priv;

	for (uint16_t i = 0; port->fp.rxq && i < port->fp.nb_rxq; i++) {
		afp_rxq_release((struct afp_rxq *)port->fp.rxq[i]);
	}
	for (uint16_t i = 0; port->fp.txq && i < port->fp.nb_txq; i++) {
		struct afp_txq *q = (struct afp_txq *)port->fp.txq[i];

		if (q->map)
			munmap(q->map, q->map_len);
		if (q->fd >= 0)
			close(q->fd);
		if (q->big_fd >= 0)
			close(q->big_fd);
		free(q->lens);
		q->map = NULL;
		q->fd = -1;
		q->big_fd = -1;
		q->lens = NULL;
	}
	if (priv && priv->stats_lock_init) {
		pthread_mutex_destroy(&priv->stats_lock);
		priv->stats_lock_init = false;
	}
}

static int afp_open(struct weir_port *port, const struct weir_port_conf *conf)
{
	struct afp_priv *priv = port->priv;
	struct afp_conf c;
	uint16_t fanout_id = 0; /* the kernel picks it at the first join */
	int err, ifindex = 0;

	if ((err = weir_port_iface_probe(port, WEIR_PORT_IFACE_UP | WEIR_PORT_IFACE_ETHER,
					 &ifindex)))
		return err;
	if ((err = parse_conf(port, conf, &c)))
		return err;
	if (!port->pool)
		return weir_port_fail(port, -EINVAL,
				      "needs a packet pool (weir_port_conf.pool) to receive into");
	if (conf->nb_txq && conf->nb_txq != c.queues)
		return weir_port_fail(port, -EINVAL,
				      "nb_txq=%u differs from queues=%llu; afpacket has queue pairs",
				      conf->nb_txq, (unsigned long long)c.queues);
	priv->ifindex = ifindex;
	priv->nq = (uint16_t)c.queues;
	pthread_mutex_init(&priv->stats_lock, NULL);
	priv->stats_lock_init = true;
	err = weir_port_alloc_queues(port, priv->nq, priv->nq);
	if (err) {
		afp_close(port);
		return weir_port_fail(port, err, "out of memory");
	}
	for (uint16_t i = 0; i < priv->nq; i++) {
		((struct afp_txq *)port->fp.txq[i])->fd = -1;
		((struct afp_txq *)port->fp.txq[i])->big_fd = -1;
	}
	for (uint16_t i = 0; i < priv->nq; i++) {
		err = rxq_setup(port, (struct afp_rxq *)port->fp.rxq[i], &c, ifindex, &fanout_id);
		if (!err)
			err = txq_setup(port, (struct afp_txq *)port->fp.txq[i], &c, ifindex);
		if (err) {
			afp_close(port);
			return err;
		}
	}
	/* With the vnet header the kernel completes partial checksums and
	 * segments super-frames where the device cannot. */
	if (c.offload)
		port->tx_offloads = WEIR_PORT_OFFLOAD_CSUM | WEIR_PORT_OFFLOAD_GSO_TCP |
				    WEIR_PORT_OFFLOAD_GSO_UDP | WEIR_PORT_OFFLOAD_GSO_GAIN;
	/* Only the vnet header says a frame is a super-frame; partial
	 * checksums are seen either way (TP_STATUS_CSUMNOTREADY). */
	port->rx_offloads = c.offload ? port->tx_offloads & ~WEIR_PORT_OFFLOAD_GSO_GAIN
				      : WEIR_PORT_OFFLOAD_CSUM;
	WEIR_DEBUG("%s: %u queue(s), rx %llu x %llu B blocks, tx %u frames, fanout=%s, "
		   "qdisc_bypass=%llu, offload=%llu", port->label, priv->nq,
		   (unsigned long long)c.blocks, (unsigned long long)c.block_size,
		   ((struct afp_txq *)port->fp.txq[0])->nframes, fanout_names[c.fanout],
		   (unsigned long long)c.bypass, (unsigned long long)c.offload);
	return 0;
}

/* Under the lock: any thread may ask (the RX lcore too, afpacket_wake.c). */
void afp_kstats_pull(struct afp_rxq *q, struct afp_kstats *out)
{
	struct afp_priv *priv = q->q.port->priv;
	struct tpacket_stats_v3 ks;
	socklen_t len = sizeof(ks);

	memset(out, 0, sizeof(*out));
	if (!q->ring)
		return;
	pthread_mutex_lock(&priv->stats_lock);
	if (getsockopt(q->ring->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0) {
		q->kst.packets += ks.tp_packets;
		q->kst.drops += ks.tp_drops;
		q->kst.freeze += ks.tp_freeze_q_cnt;
	}
	*out = q->kst;
	pthread_mutex_unlock(&priv->stats_lock);
}

static void afp_stats(struct weir_port *port, struct weir_port_stats *st)
{
	struct afp_kstats k;

	for (uint16_t i = 0; i < port->fp.nb_rxq; i++) {
		afp_kstats_pull((struct afp_rxq *)port->fp.rxq[i], &k);
		st->imissed += k.drops;
	}
}

static int afp_xstats(struct weir_port *port, struct weir_xstat *xs, int n)
{
	uint64_t v[27] = {0};
	static const char *const names[] = {
		"rx_zerocopy_packets", "rx_copy_packets",  "rx_copy_blocks",
		"rx_blocks_held",      "rx_truncated",     "rx_csum_partial",
		"rx_vlan_reinserted",  "rx_kernel_packets", "rx_kernel_drops",
		"rx_kernel_freezes",   "rx_ring_stalls",   "tx_ring_full",
		"tx_linearized",
		"tx_too_big",          "tx_kicks",         "tx_kick_errors",
		"tx_wrong_format",     "rx_csum_completed", "rx_gso_packets",
		"tx_csum_completed",   "tx_big_sent",      "tx_big_again",
		"rx_bad_frames",       "rx_wake_packets",  "rx_wake_arms",
		"rx_wake_slips",       "rx_wake_drops",
	};
	int count = (int)WEIR_ARRAY_SIZE(names);

	static_assert(WEIR_ARRAY_SIZE(names) == WEIR_ARRAY_SIZE(v), "one value per name");
	for (uint16_t i = 0; i < port->fp.nb_rxq; i++) {
		struct afp_rxq *q = (struct afp_rxq *)port->fp.rxq[i];
		struct afp_kstats k;

		afp_kstats_pull(q, &k);
		v[0] += weir_port_ctr_read(&q->zc_pkts);
		v[1] += weir_port_ctr_read(&q->copy_pkts);
		v[2] += weir_port_ctr_read(&q->copy_blocks);
		v[3] += q->ring ? atomic_load(&q->ring->held) : 0;
		v[4] += weir_port_ctr_read(&q->truncated);
		v[5] += weir_port_ctr_read(&q->csum_partial);
		v[6] += weir_port_ctr_read(&q->vlan_reinserted);
		v[7] += k.packets;
		v[8] += k.drops;
		v[9] += k.freeze;
		v[10] += weir_port_ctr_read(&q->stalls);
		v[17] += weir_port_ctr_read(&q->csum_completed);
		v[18] += weir_port_ctr_read(&q->gso_pkts);
		v[22] += weir_port_ctr_read(&q->bad_frames);
		if (q->wake) {
			v[23] += weir_port_ctr_read(&q->wake->pkts);
			v[24] += weir_port_ctr_read(&q->wake->arms);
			v[25] += weir_port_ctr_read(&q->wake->slips);
			v[26] += weir_port_ctr_read(&q->wake->drops);
		}
	}
	for (uint16_t i = 0; i < port->fp.nb_txq; i++) {
		struct afp_txq *q = (struct afp_txq *)port->fp.txq[i];

		v[11] += weir_port_ctr_read(&q->ring_full);
		v[12] += weir_port_ctr_read(&q->linearized);
		v[13] += weir_port_ctr_read(&q->too_big);
		v[14] += weir_port_ctr_read(&q->kicks);
		v[15] += weir_port_ctr_read(&q->kick_errors);
		v[16] += weir_port_ctr_read(&q->wrong_format);
		v[19] += weir_port_ctr_read(&q->csum_completed);
		v[20] += weir_port_ctr_read(&q->big_sent);
		v[21] += weir_port_ctr_read(&q->big_again);
	}
	for (int i = 0; i < count && i < n; i++) {
		snprintf(xs[i].name, sizeof(xs[i].name), "%s", names[i]);
		xs[i].value = v[i];
	}
	return count;
}

static const struct weir_port_param afp_params[] = {
	{"queues", "queue pairs, one fanout socket each (default 1)", NULL},
	{"fanout", "how the kernel spreads frames over queues (default hash)", "hash|lb|cpu"},
	{"qdisc_bypass", "1: transmit straight to the driver, skipping the kernel qdisc",
	 "0|1"},
	{"wake", "1: a per-frame wake ring for light traffic and the first frame after idle, "
	 "in order with the blocks (default 1; one-queue ports only, see afpacket_wake.c)", "0|1"},
	{"offload", "1: exchange virtio_net_hdr with the kernel: partial checksums and GSO "
		    "super-frames in and out; 0: complete wire frames only (default 1)", "0|1"},
	{"block_size", "rx/tx ring block bytes, power of two; 128k or more holds a 64 KiB GSO "
		       "frame (default 256k)", NULL},
	{"frame_size", "tx frame slot bytes; divides block_size (default 2048)", NULL},
	{"blocks", "rx ring blocks per queue (default 64: 16 MiB, about 250 GSO frames)", NULL},
	{"timeout_us", "rx block retire timeout; older kernels round it up to a jiffy (default 1000)",
	 NULL},
	{NULL, NULL, NULL},
};

static const struct weir_port_ops afp_ops = {
	.open = afp_open,
	.rx_burst = afp_rx_burst,
	.tx_burst = afp_tx_burst,
	.tx_done = afp_tx_done,
	.wait_fd = afp_wait_fd,
	.stats = afp_stats,
	.xstats = afp_xstats,
	.close = afp_close,
};

static struct weir_port_driver afp_driver = {
	.name = "afpacket",
	.help = "afpacket:IFACE — a Linux interface through AF_PACKET mmap rings",
	.ops = &afp_ops,
	.params = afp_params,
	.priv_size = sizeof(struct afp_priv),
	.rxq_size = sizeof(struct afp_rxq),
	.txq_size = sizeof(struct afp_txq),
};

WEIR_PORT_DRIVER_REGISTER(afp_driver)
