// SPDX-License-Identifier: BSD-3-Clause
/*
 * afpacket: a poll-mode driver over Linux AF_PACKET sockets with mmap'ed
 * rings, so any interface (veth, a NIC without an XDP driver) can be a weir
 * port without a kernel module of our own.
 *
 * Receive uses a TPACKET_V3 block ring per queue, mapped once. The kernel
 * copies each frame into the current block and hands whole blocks over
 * (when full, or when the retire timer fires). weir does not copy again: a
 * frame becomes a packet whose data is the frame inside the ring (an
 * external buffer with one struct weir_extbuf per block), and the block goes
 * back to the kernel when the last packet from it is freed. An application
 * that sits on packets would stall the ring that way, so once more than half
 * of the blocks are held, new blocks are copied into pool buffers and given
 * back at once; xstats count both paths.
 *
 * Transmit uses a TPACKET_V2 frame ring on a second socket per queue (one
 * that binds no protocol, so it receives nothing): a burst is copied into
 * frames, marked SEND_REQUEST, and kicked with one sendto(). The kernel sets
 * a frame back to AVAILABLE when its skb is freed, i.e. when the device is
 * done with it; tx_done reaps those in order and reports them, which is what
 * the scheduler's DQL needs. Chains are linearized into the frame (counted).
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
 * Timestamps: pkt->timestamp is weir_clock_now() (CLOCK_MONOTONIC) read
 * once per burst, not the ring's tp_sec/tp_nsec (CLOCK_REALTIME, and block
 * granular in spirit): CoDel and the scheduler compare it with their own
 * monotonic clock.
 *
 * A vanished interface shows as POLLERR/ENETDOWN on the RX socket (checked
 * every so many empty polls) or ENXIO from sendto(): the port is marked
 * dead, says so once, and its bursts return 0 from then on.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weir/log.h"
#include "weir/offload.h"
#include "weir/pkt.h"
#include "weir/port_driver.h"

#define AFP_MAX_QUEUES 64
#define AFP_CHECK_EVERY 1024 /* empty polls between two socket error checks */
#define AFP_VLAN_HLEN 4
/* What weir_port_died says when the interface is gone. */
#define AFP_VANISHED                                                                   \
	"the interface vanished (deleted, or moved to another namespace); port stopped "  \
	"(bursts return 0, close it)"

/* --- receive ring ------------------------------------------------------ */

struct afp_ring;

struct afp_block {
	struct weir_extbuf ext;
	/* True from the moment the driver starts on a zero-copy block until
	 * its last packet is freed. Cleared (release) after the block status
	 * is given back; pairs with the acquire in block_ready(). */
	_Atomic bool held;
	struct afp_ring *ring;
};

/*
 * The mapping outlives the queue while packets point into it: refs counts
 * the queue's reference plus one per held block, and the last put unmaps.
 */
struct afp_ring {
	_Atomic uint32_t refs;
	_Atomic uint32_t held; /* blocks held by packets (zero-copy) */
	int fd;
	uint8_t *map;
	size_t map_len;
	uint32_t nblocks;
	uint32_t block_size;
	struct afp_block blk[];
};

/* The kernel's counters of one RX socket. */
struct afp_kstats {
	uint64_t packets, drops, freeze;
};

struct afp_rxq {
	struct weir_rxq q;
	struct afp_ring *ring;
	struct weir_pool *pool;
	uint32_t cur;        /* block to read */
	uint32_t left;       /* packets left in the open block, 0: none open */
	uint8_t *next;       /* next frame in the open block */
	bool copy;           /* the open block is being copied */
	uint32_t copy_above; /* copy when more blocks than this are held */
	uint32_t empty;      /* consecutive empty polls */
	int ifindex;
	bool warned_down;
	bool warned_stall;
	bool warned_gso;
	bool warned_trunc;
	bool vnet; /* frames carry a virtio_net_hdr (PACKET_VNET_HDR) */
	/* xstats */
	uint64_t zc_pkts, copy_pkts, copy_blocks, truncated, csum_partial, vlan_reinserted;
	uint64_t csum_completed, gso_pkts;
	uint64_t stalls; /* polls that found the next block still held by packets */
	struct afp_kstats kst; /* PACKET_STATISTICS, accumulated; under stats_lock */
};

struct afp_txq {
	struct weir_txq q;
	int fd;
	uint8_t *map;
	size_t map_len;
	uint32_t nframes;
	uint32_t frame_size;
	uint32_t max_len; /* bytes of frame data a slot holds */
	uint32_t head;    /* next slot to fill */
	uint32_t tail;    /* oldest slot not completed */
	uint32_t inflight;
	uint16_t *lens;   /* per slot, for done_bytes */
	int big_fd;       /* ring-less socket for frames longer than a slot, -1 none */
	bool vnet;        /* frames carry a virtio_net_hdr */
	uint32_t vnet_len; /* its size in front of each ring frame, or 0 */
	/* xstats */
	uint64_t ring_full, linearized, too_big, kicks, kick_errors, wrong_format;
	uint64_t csum_completed, big_sent, big_again;
};

struct afp_priv {
	int ifindex;
	uint16_t nq;
	pthread_mutex_t stats_lock; /* PACKET_STATISTICS reads reset the counters */
	bool stats_lock_init;
};

static inline struct tpacket_block_desc *block_desc(const struct afp_ring *r, uint32_t i)
{
	return (struct tpacket_block_desc *)(void *)(r->map + (size_t)i * r->block_size);
}

static void ring_put(struct afp_ring *r)
{
	/* acq_rel: every release of a block happens before the unmap. */
	if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (r->map)
		munmap(r->map, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

static inline void block_to_kernel(struct tpacket_block_desc *bd)
{
	/* Release: our reads of the frames happen before the kernel may
	 * overwrite them; pairs with the kernel's smp_rmb() before it checks
	 * the status of the block it is about to fill. */
	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

/* extbuf callback: the last packet of a zero-copy block was freed (any
 * thread). */
static void block_release(void *addr, void *opaque)
{
	struct afp_block *b = opaque;
	struct afp_ring *r = b->ring;

	block_to_kernel(addr);
	atomic_store_explicit(&b->held, false, memory_order_release);
	atomic_fetch_sub_explicit(&r->held, 1, memory_order_relaxed);
	ring_put(r);
}

/*
 * The kernel refills blocks strictly in ring order, so a block the
 * application still holds when the kernel comes round to it stops the ring
 * (the kernel drops until it is freed). Copying once half the ring is held
 * bounds what zero-copy can pin; it cannot save a block held for longer than
 * the kernel takes to fill the rest of the ring. That case is counted
 * (rx_ring_stalls) and said once, with the fix.
 */
static void stall_note(struct afp_rxq *q)
{
	weir_port_ctr_add(&q->stalls, 1);
	if (!q->warned_stall && q->stalls >= 64) {
		q->warned_stall = true;
		WEIR_WARN("%s: queue %u: the application holds received packets longer than "
			  "the ring takes to fill, so the kernel waits (and drops); free them "
			  "sooner, copy the ones kept (weir_pkt_copy), or raise blocks=",
			  q->q.port->label, q->q.id);
	}
}

/* True when block i has new frames for us (and opens nothing). */
static inline bool block_ready(struct afp_rxq *q, uint32_t i)
{
	const struct afp_ring *r = q->ring;

	/* A block whose packets are still out keeps TP_STATUS_USER from the
	 * previous lap: it is not new. Acquire pairs with block_release. */
	if (weir_unlikely(atomic_load_explicit(&r->blk[i].held, memory_order_acquire))) {
		stall_note(q);
		return false;
	}
	/* Acquire pairs with the kernel's smp_wmb() before it flips the
	 * status to USER: the frames are complete once we see it. */
	return __atomic_load_n(&block_desc(r, i)->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
	       TP_STATUS_USER;
}

static void block_open(struct afp_rxq *q)
{
	struct afp_ring *r = q->ring;
	struct tpacket_block_desc *bd = block_desc(r, q->cur);
	struct afp_block *b = &r->blk[q->cur];

	q->left = bd->hdr.bh1.num_pkts;
	q->next = (uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
	q->copy = atomic_load_explicit(&r->held, memory_order_relaxed) > q->copy_above;
	if (q->copy) {
		weir_port_ctr_add(&q->copy_blocks, 1);
		return;
	}
	/* The driver's own reference keeps the block until it has handed
	 * out every frame; held and refs are taken before any packet can
	 * exist, so block_release always finds them. */
	atomic_store_explicit(&b->held, true, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->held, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
	weir_extbuf_init(&b->ext, bd, block_release, b, 1);
}

static void block_close(struct afp_rxq *q)
{
	struct afp_ring *r = q->ring;

	if (q->copy)
		block_to_kernel(block_desc(r, q->cur));
	else
		weir_extbuf_put(&r->blk[q->cur].ext);
	q->left = 0;
	q->cur = q->cur + 1 == r->nblocks ? 0 : q->cur + 1;
}

/* The kernel moved a VLAN tag into tp_vlan_tci; put it back so the bytes
 * are what was on the wire. */
static void vlan_reinsert(uint8_t *data, const struct tpacket3_hdr *h)
{
	uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid
								   : ETH_P_8021Q;
	uint16_t be[2] = {htons(tpid), htons((uint16_t)h->hv1.tp_vlan_tci)};

	memmove(data, data + AFP_VLAN_HLEN, 2 * ETH_ALEN);
	memcpy(data + 2 * ETH_ALEN, be, sizeof(be));
}

/* Slow path after many empty polls: has the socket reported an error? */
static void rx_check(struct afp_rxq *q)
{
	struct weir_port *port = q->q.port;
	struct pollfd pfd = {.fd = q->ring->fd, .events = POLLIN};
	struct sockaddr_ll sll;
	socklen_t slen = sizeof(sll);
	int err = 0;
	socklen_t elen = sizeof(err);
	char name[IF_NAMESIZE];

	if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & (POLLERR | POLLHUP | POLLNVAL)))
		return;
	getsockopt(q->ring->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	/* After NETDEV_UNREGISTER the socket reports ifindex -1. */
	if (getsockname(q->ring->fd, (struct sockaddr *)&sll, &slen) == 0 &&
	    sll.sll_ifindex != q->ifindex) {
		weir_port_died(port, "%s", AFP_VANISHED);
		return;
	}
	if (!if_indextoname((unsigned int)q->ifindex, name)) {
		weir_port_died(port, "%s", AFP_VANISHED);
		return;
	}
	if (err == ENETDOWN) {
		if (!q->warned_down)
			WEIR_WARN("%s: interface went down; waiting for it to come back "
				  "(ip link set %s up)", port->label, name);
		q->warned_down = true;
	} else if (err) {
		WEIR_WARN("%s: rx socket error: %s", port->label, strerror(err));
	}
}

/*
 * The kernel's word on a frame, read before vlan_reinsert (which writes
 * over the header's tail): partial checksum, checksum verified, and GSO. Its
 * offsets count from the MAC header as the kernel saw it, without a tag it
 * had moved into tp_vlan_tci; `tag` is what weir put back.
 */
static void vnet_apply(struct afp_rxq *q, struct weir_pkt *p, const struct virtio_net_hdr *vh,
		       uint16_t tag)
{
	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		p->ol_flags |= WEIR_PKT_OL_CSUM_PARTIAL;
		p->csum_start = (uint16_t)(le16toh(vh->csum_start) + tag);
		p->csum_offset = le16toh(vh->csum_offset);
		weir_port_ctr_add(&q->csum_partial, 1);
	} else if (vh->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		p->ol_flags |= WEIR_PKT_OL_CSUM_VALID;
	}
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		p->gso_type = vh->gso_type;
		p->gso_size = le16toh(vh->gso_size);
		p->hdr_len = 0; /* the kernel's is the linear part, not the headers */
		weir_port_ctr_add(&q->gso_pkts, 1);
		if (!q->warned_gso) {
			q->warned_gso = true;
			WEIR_INFO("%s: receiving GSO super-frames (%u bytes, %u per segment) from "
				  "a sender with TSO/GSO on: passed on whole where the egress "
				  "takes them, segmented in software before a shaper",
				  q->q.port->label, p->pkt_len, p->gso_size);
		}
	}
}

/* Copies a frame into pool buffers, chained when it does not fit one. */
static int rx_copy(struct weir_pool *pool, struct weir_pkt *head, const uint8_t *src, uint32_t len)
{
	struct weir_pkt *seg = head;

	for (uint32_t n = 0; n < WEIR_PKT_MAX_SEGS; n++) {
		uint32_t room = weir_pkt_tailroom(seg), take = len < room ? len : room;

		if (take > UINT16_MAX)
			take = UINT16_MAX;
		memcpy(weir_pkt_data(seg), src, take);
		seg->data_len = (uint16_t)take;
		if (seg != head)
			seg->pkt_len = take;
		head->pkt_len += take;
		src += take;
		len -= take;
		if (!len)
			return 0;
		seg->next = weir_pkt_alloc(pool);
		if (!seg->next)
			return -ENOBUFS;
		head->nb_segs++;
		seg = seg->next;
	}
	return -E2BIG;
}

/* Attaches a frame inside a zero-copy block: one segment, two when it is
 * longer than a segment's 16-bit length (GSO frames near 64 KiB). */
static int rx_attach(struct afp_rxq *q, struct weir_pkt *p, uint8_t *frame, uint32_t mac,
		     uint32_t len)
{
	struct weir_extbuf *ext = &q->ring->blk[q->cur].ext;
	uint32_t first = len > UINT16_MAX ? UINT16_MAX : len;
	struct weir_pkt *tail;
	int err;

	/* The frame's header area is the packet's headroom; no tailroom,
	 * the next frame follows. */
	err = weir_pkt_attach_extbuf(p, frame, mac + first, (uint16_t)mac, (uint16_t)first, ext);
	if (err || first == len)
		return err;
	tail = weir_pkt_alloc(q->pool);
	if (!tail)
		return -ENOBUFS;
	err = weir_pkt_attach_extbuf(tail, frame + mac + first, len - first, 0,
				     (uint16_t)(len - first), ext);
	if (err) {
		weir_pkt_free(tail);
		return err;
	}
	return weir_pkt_chain(p, tail);
}

/* A frame the kernel cut to fit the block: counted, dropped, said once. */
static void truncated_note(struct afp_rxq *q, const struct tpacket3_hdr *h)
{
	weir_port_ctr_add(&q->truncated, 1);
	weir_port_ctr_add(&q->q.stats.errors, 1);
	if (!q->warned_trunc) {
		q->warned_trunc = true;
		WEIR_WARN("%s: queue %u: dropping a %u-byte frame the kernel cut to %u bytes to fit "
			  "a ring block (block_size=%u); frames this long (GSO super-frames from a "
			  "sender with TSO on) need block_size=256k%s",
			  q->q.port->label, q->q.id, h->tp_len, h->tp_snaplen, q->ring->block_size,
			  q->vnet ? "" : " and offload=1, or ethtool -K <sender> tso off gso off");
	}
}

/* One frame of the open block into a packet; NULL when it is dropped
 * (counted). */
static struct weir_pkt *rx_frame(struct afp_rxq *q, struct tpacket3_hdr *h, weir_ns_t now)
{
	struct weir_rxq *rxq = &q->q;
	uint32_t len = h->tp_snaplen, mac = h->tp_mac;
	bool vlan = h->tp_status & TP_STATUS_VLAN_VALID;
	struct virtio_net_hdr vh = {0};
	struct weir_pkt *p;
	int err;

	if (q->vnet)
		memcpy(&vh, (uint8_t *)h + mac - sizeof(vh), sizeof(vh));
	if (weir_unlikely(len < h->tp_len || (vlan && mac < AFP_VLAN_HLEN))) {
		truncated_note(q, h);
		return NULL;
	}
	p = weir_pkt_alloc(q->pool);
	if (weir_unlikely(!p)) {
		weir_port_ctr_add(&rxq->stats.nombuf, 1);
		return NULL;
	}
	if (vlan) {
		mac -= AFP_VLAN_HLEN;
		len += AFP_VLAN_HLEN;
		vlan_reinsert((uint8_t *)h + mac, h);
		weir_port_ctr_add(&q->vlan_reinserted, 1);
	}
	if (q->copy) {
		err = rx_copy(q->pool, p, (uint8_t *)h + mac, len);
		weir_port_ctr_add(&q->copy_pkts, 1);
	} else {
		err = rx_attach(q, p, (uint8_t *)h, mac, len);
		weir_port_ctr_add(&q->zc_pkts, 1);
	}
	if (weir_unlikely(err)) {
		weir_pkt_free(p);
		if (err == -ENOBUFS)
			weir_port_ctr_add(&rxq->stats.nombuf, 1);
		else
			weir_port_ctr_add(&rxq->stats.errors, 1);
		return NULL;
	}
	p->port = rxq->port->id;
	p->queue = rxq->id;
	p->hash = h->hv1.tp_rxhash;
	p->timestamp = now;
	p->ol_flags = WEIR_PKT_OL_RX_TSTAMP;
	if (q->vnet) {
		vnet_apply(q, p, &vh, vlan ? AFP_VLAN_HLEN : 0);
	} else if (weir_unlikely(h->tp_status & TP_STATUS_CSUMNOTREADY)) {
		/* No offsets without the vnet header: find the L4 checksum and
		 * complete it here, so what leaves weir is valid. */
		weir_port_ctr_add(&q->csum_partial, 1);
		if (weir_pkt_csum_fix_partial(p) > 0)
			weir_port_ctr_add(&q->csum_completed, 1);
	} else if (h->tp_status & TP_STATUS_CSUM_VALID) {
		p->ol_flags |= WEIR_PKT_OL_CSUM_VALID;
	}
	return p;
}

static uint16_t afp_rx_burst(struct weir_rxq *rxq, struct weir_pkt **pkts, uint16_t n)
{
	struct afp_rxq *q = (struct afp_rxq *)rxq;
	weir_ns_t now = 0;
	uint64_t bytes = 0;
	uint16_t got = 0;

	if (weir_unlikely(weir_port_is_dead(rxq->port)))
		return 0;
	while (got < n) {
		struct tpacket3_hdr *h;
		struct weir_pkt *p;

		if (!q->left) {
			if (!block_ready(q, q->cur))
				break;
			block_open(q);
			if (!q->left) { /* an empty retired block */
				block_close(q);
				continue;
			}
			if (!now)
				now = weir_clock_now();
		}
		h = (struct tpacket3_hdr *)(void *)q->next;
		q->next += h->tp_next_offset;
		q->left--;
		p = rx_frame(q, h, now);
		if (p) {
			bytes += p->pkt_len;
			pkts[got++] = p;
		}
		if (!q->left)
			block_close(q);
	}
	weir_port_ctr_add(&rxq->stats.packets, got);
	weir_port_ctr_add(&rxq->stats.bytes, bytes);
	if (got) {
		q->empty = 0;
	} else if (weir_unlikely(++q->empty % AFP_CHECK_EVERY == 0)) {
		rx_check(q);
	}
	return got;
}

static int afp_wait_fd(struct weir_rxq *rxq)
{
	return ((struct afp_rxq *)rxq)->ring->fd;
}

/* --- transmit ring ------------------------------------------------------- */

static inline struct tpacket2_hdr *tx_frame(const struct afp_txq *q, uint32_t i)
{
	return (struct tpacket2_hdr *)(void *)(q->map + (size_t)i * q->frame_size);
}

/* Data of a TX frame starts right after the aligned tpacket2_hdr (the
 * kernel's tp_hdrlen - sizeof(struct sockaddr_ll)). */
#define AFP_TX_DATA_OFF TPACKET_ALIGN(sizeof(struct tpacket2_hdr))

static uint16_t afp_tx_done(struct weir_txq *txq)
{
	struct afp_txq *q = (struct afp_txq *)txq;
	uint64_t bytes = 0;
	uint16_t done = 0;

	while (q->inflight) {
		struct tpacket2_hdr *f = tx_frame(q, q->tail);
		/* Acquire pairs with the kernel's release of the status in
		 * tpacket_destruct_skb(): it no longer reads the frame. */
		uint32_t st = __atomic_load_n(&f->tp_status, __ATOMIC_ACQUIRE);

		if (st & TP_STATUS_WRONG_FORMAT) {
			weir_port_ctr_add(&q->wrong_format, 1);
			weir_port_ctr_add(&txq->stats.errors, 1);
			__atomic_store_n(&f->tp_status, TP_STATUS_AVAILABLE, __ATOMIC_RELAXED);
		} else if (st != TP_STATUS_AVAILABLE) {
			break;
		}
		bytes += q->lens[q->tail];
		q->tail = q->tail + 1 == q->nframes ? 0 : q->tail + 1;
		q->inflight--;
		done++;
	}
	weir_port_ctr_add(&txq->done_pkts, done);
	weir_port_ctr_add(&txq->done_bytes, bytes);
	return done;
}

/* What a failed send means: try later, the port died, or a warning. */
static void tx_error(struct afp_txq *q, int err)
{
	struct weir_port *port = q->q.port;

	weir_port_ctr_add(&q->kick_errors, 1);
	switch (err) {
	case EAGAIN:
	case ENOBUFS:
	case EINTR:
	case ENETDOWN:
		/* Ring frames stay SEND_REQUEST; the next kick sends them. */
		break;
	case ENXIO:
	case ENODEV:
		weir_port_died(port, "%s", AFP_VANISHED);
		break;
	case EMSGSIZE:
	case EINVAL:
		weir_port_ctr_add(&q->too_big, 1);
		weir_port_ctr_add(&q->q.stats.errors, 1);
		break;
	default:
		WEIR_WARN("%s: tx send: %s", port->label, strerror(err));
		break;
	}
}

static void tx_kick(struct afp_txq *q)
{
	weir_port_ctr_add(&q->kicks, 1);
	if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0)
		tx_error(q, errno);
}

/* p's offload metadata as the kernel reads it in front of a frame. */
static void vnet_from_pkt(const struct weir_pkt *p, struct virtio_net_hdr *vh)
{
	memset(vh, 0, sizeof(*vh));
	if (p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) {
		vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh->csum_start = htole16(p->csum_start);
		vh->csum_offset = htole16(p->csum_offset);
	}
	if (weir_pkt_is_gso(p)) {
		vh->gso_type = p->gso_type;
		vh->gso_size = htole16(p->gso_size);
		vh->hdr_len = htole16(p->hdr_len); /* the kernel raises it past the checksum */
	}
}

/*
 * A frame longer than a ring slot (a GSO super-frame) goes by sendmsg on the
 * queue's ring-less socket, its segments as the iovec: the kernel copies it
 * once, as the ring would, and is done with it when sendmsg returns.
 * 0, or a negative errno (-EAGAIN: try again later).
 */
static int tx_big(struct afp_txq *q, const struct weir_pkt *p)
{
	struct iovec iov[WEIR_PKT_MAX_SEGS + 1];
	struct virtio_net_hdr vh;
	struct msghdr m = {.msg_iov = iov};
	size_t n = 0;

	vnet_from_pkt(p, &vh);
	iov[n++] = (struct iovec){.iov_base = &vh, .iov_len = sizeof(vh)};
	for (const struct weir_pkt *s = p; s && n < WEIR_ARRAY_SIZE(iov); s = s->next)
		iov[n++] = (struct iovec){.iov_base = weir_pkt_data(s), .iov_len = s->data_len};
	m.msg_iovlen = n;
	if (sendmsg(q->big_fd, &m, MSG_DONTWAIT) >= 0)
		return 0;
	return -errno;
}

/* Copies p into the ring slot at head (with its vnet header when the
 * socket takes one). */
static void tx_fill(struct afp_txq *q, const struct weir_pkt *p)
{
	struct tpacket2_hdr *f = tx_frame(q, q->head);
	uint8_t *dst = (uint8_t *)f + AFP_TX_DATA_OFF;
	uint32_t len = p->pkt_len;

	if (q->vnet) {
		vnet_from_pkt(p, (struct virtio_net_hdr *)(void *)dst);
		dst += sizeof(struct virtio_net_hdr);
	}
	if (weir_likely(p->nb_segs == 1)) {
		memcpy(dst, weir_pkt_data(p), len);
	} else {
		for (const struct weir_pkt *s = p; s; s = s->next) {
			memcpy(dst, weir_pkt_data(s), s->data_len);
			dst += s->data_len;
		}
		weir_port_ctr_add(&q->linearized, 1);
	}
	f->tp_len = len + q->vnet_len;
	f->tp_snaplen = f->tp_len;
	q->lens[q->head] = (uint16_t)len;
	/* Release: the frame's bytes are written before the kernel can see
	 * SEND_REQUEST (it reads the status, then the data). */
	__atomic_store_n(&f->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
	q->head = q->head + 1 == q->nframes ? 0 : q->head + 1;
	q->inflight++;
}

enum tx_verdict { TX_RING, TX_BIG, TX_DROP };

/* Where p goes: a ring slot, the ring-less socket, or nowhere (counted).
 * Completes a partial checksum the kernel will not be told about. */
static enum tx_verdict tx_classify(struct afp_txq *q, struct weir_pkt *p)
{
	if (weir_unlikely(p->pkt_len == 0))
		goto drop;
	if (!q->vnet) {
		if (weir_unlikely(weir_pkt_is_gso(p)))
			goto drop;
		if (weir_unlikely(p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL)) {
			if (weir_pkt_csum_complete(p) < 0)
				goto drop;
			weir_port_ctr_add(&q->csum_completed, 1);
		}
	}
	if (weir_likely(p->pkt_len <= q->max_len))
		return TX_RING;
	if (q->big_fd >= 0)
		return TX_BIG;
drop:
	weir_port_ctr_add(&q->too_big, 1);
	weir_port_ctr_add(&q->q.stats.errors, 1);
	return TX_DROP;
}

static uint16_t afp_tx_burst(struct weir_txq *txq, struct weir_pkt **pkts, uint16_t n)
{
	struct afp_txq *q = (struct afp_txq *)txq;
	uint64_t bytes = 0;
	uint16_t i, sent = 0, unkicked = 0;

	if (weir_unlikely(weir_port_is_dead(txq->port)))
		return 0;
	for (i = 0; i < n; i++) {
		struct weir_pkt *p = pkts[i];
		int err;

		if (weir_unlikely(q->inflight == q->nframes)) {
			afp_tx_done(txq);
			if (q->inflight == q->nframes) {
				weir_port_ctr_add(&q->ring_full, 1);
				break;
			}
		}
		switch (tx_classify(q, p)) {
		case TX_DROP:
			continue;
		case TX_RING:
			tx_fill(q, p);
			unkicked++;
			break;
		case TX_BIG:
			/* Frames before it leave first: kick them now. */
			if (unkicked)
				tx_kick(q);
			unkicked = 0;
			err = tx_big(q, p);
			if (err == -EAGAIN || err == -ENOBUFS || err == -EINTR) {
				weir_port_ctr_add(&q->big_again, 1);
				goto out;
			}
			if (err) {
				tx_error(q, -err);
				continue;
			}
			weir_port_ctr_add(&q->big_sent, 1);
			weir_port_ctr_add(&txq->done_pkts, 1);
			weir_port_ctr_add(&txq->done_bytes, p->pkt_len);
			break;
		}
		sent++;
		bytes += p->pkt_len;
	}
out:
	/* Everything up to i was copied (or dropped): free it in one go. */
	weir_pkt_free_bulk(pkts, i);
	if (unkicked)
		tx_kick(q);
	weir_port_ctr_add(&txq->stats.packets, sent);
	weir_port_ctr_add(&txq->stats.bytes, bytes);
	return i;
}

/* --- control path --------------------------------------------------------- */

struct afp_conf {
	uint64_t queues, fanout, bypass, block_size, frame_size, blocks, timeout_us, offload;
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
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		return weir_port_fail(port, -errno, "mmap of the rx ring (%zu bytes): %s",
				      r->map_len, strerror(errno));
	}
	/* Our own transmissions are not input (kernel >= 4.20; older ones
	 * would show them, hence only a warning). */
	if (set_int(port, fd, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING"))
		WEIR_WARN("%s", port->err);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return weir_port_fail(port, -errno, "bind: %s", strerror(errno));
	if (c->queues > 1)
		return fanout_join(port, fd, c, fanout_id);
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
	q->map = mmap(NULL, q->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (q->map == MAP_FAILED) {
		q->map = NULL;
		return weir_port_fail(port, -errno, "mmap of the tx ring (%zu bytes): %s",
				      q->map_len, strerror(errno));
	}
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
	    (err = weir_port_arg_u64(port, "timeout_us", 1000, 1, 10000000, &c->timeout_us)))
		return err;
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
		struct afp_rxq *q = (struct afp_rxq *)port->fp.rxq[i];

		if (!q->ring)
			continue;
		if (q->left)
			block_close(q); /* frames not yet read go back unread */
		/* Packets still held by the application keep the mapping
		 * until they are freed (ring_put by the last block). */
		ring_put(q->ring);
		q->ring = NULL;
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
				    WEIR_PORT_OFFLOAD_GSO_UDP;
	WEIR_DEBUG("%s: %u queue(s), rx %llu x %llu B blocks, tx %u frames, fanout=%s, "
		   "qdisc_bypass=%llu, offload=%llu", port->label, priv->nq,
		   (unsigned long long)c.blocks, (unsigned long long)c.block_size,
		   ((struct afp_txq *)port->fp.txq[0])->nframes, fanout_names[c.fanout],
		   (unsigned long long)c.bypass, (unsigned long long)c.offload);
	return 0;
}

/* Reads (and thereby resets) the kernel's counters into the queue's sums
 * and copies the sums into *out, under the lock: any thread may ask. */
static void kstats_pull(struct afp_priv *priv, struct afp_rxq *q, struct afp_kstats *out)
{
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
		kstats_pull(port->priv, (struct afp_rxq *)port->fp.rxq[i], &k);
		st->imissed += k.drops;
	}
}

static int afp_xstats(struct weir_port *port, struct weir_xstat *xs, int n)
{
	uint64_t v[22] = {0};
	static const char *const names[] = {
		"rx_zerocopy_packets", "rx_copy_packets",  "rx_copy_blocks",
		"rx_blocks_held",      "rx_truncated",     "rx_csum_partial",
		"rx_vlan_reinserted",  "rx_kernel_packets", "rx_kernel_drops",
		"rx_kernel_freezes",   "rx_ring_stalls",   "tx_ring_full",
		"tx_linearized",
		"tx_too_big",          "tx_kicks",         "tx_kick_errors",
		"tx_wrong_format",     "rx_csum_completed", "rx_gso_packets",
		"tx_csum_completed",   "tx_big_sent",      "tx_big_again",
	};
	int count = (int)WEIR_ARRAY_SIZE(names);

	static_assert(WEIR_ARRAY_SIZE(names) == WEIR_ARRAY_SIZE(v), "one value per name");
	for (uint16_t i = 0; i < port->fp.nb_rxq; i++) {
		struct afp_rxq *q = (struct afp_rxq *)port->fp.rxq[i];
		struct afp_kstats k;

		kstats_pull(port->priv, q, &k);
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
	{"offload", "1: exchange virtio_net_hdr with the kernel: partial checksums and GSO "
		    "super-frames in and out; 0: complete wire frames only (default 1)", "0|1"},
	{"block_size", "rx/tx ring block bytes, power of two; 128k or more holds a 64 KiB GSO "
		       "frame (default 256k)", NULL},
	{"frame_size", "tx frame slot bytes; divides block_size (default 2048)", NULL},
	{"blocks", "rx ring blocks per queue (default 64: 16 MiB, about 250 GSO frames)", NULL},
	{"timeout_us", "rx block retire timeout; the kernel rounds up to jiffies (default 1000)",
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
