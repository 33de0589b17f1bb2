// SPDX-License-Identifier: BSD-3-Clause
/*
 * afpacket's receive side: a TPACKET_V3 block ring per queue, mapped once.
 * The kernel copies each frame into the current block and hands whole
 * blocks over (when full, or when the retire timer fires). weir does not
 * copy again: a frame becomes a packet whose data is the frame inside the
 * ring (an external buffer with one struct weir_extbuf per block), and the
 * block goes back to the kernel when the last packet from it is freed. An
 * application that sits on packets would stall the ring that way, so once
 * more than half of the blocks are held, new blocks are copied into pool
 * buffers and given back at once; xstats count both paths.
 *
 * With offload=1 each frame is preceded by the kernel's virtio_net_hdr
 * (partial checksum, GSO), which the packet carries on; without it,
 * partial checksums the kernel flags are completed here.
 *
 * Timestamps: pkt->timestamp is weir_clock_now() (CLOCK_MONOTONIC) read
 * once per burst, not the ring's tp_sec/tp_nsec (CLOCK_REALTIME, and block
 * granular in spirit): CoDel and the scheduler compare it with their own
 * monotonic clock.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weir/clock.h"
#include "weir/log.h"
#include "weir/offload.h"
#include "weir/pkt.h"

#include "afpacket_internal.h"

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
	q->seq = bd->hdr.bh1.seq_num;
	q->next = (uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
	q->end = (uint8_t *)bd + r->block_size;
	if (weir_unlikely(bd->hdr.bh1.offset_to_first_pkt >= r->block_size))
		q->next = q->end; /* the first frame_ok() refuses it */
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
	/* The driver's reference and one for each frame ahead, taken here
	 * with a plain store (no packet can hold the block yet) instead of
	 * an atomic add per frame; those not handed out go back at
	 * block_close. */
	q->ext_spare = q->left;
	weir_extbuf_init(&b->ext, bd, block_release, b, 1 + q->left);
}

static void block_close(struct afp_rxq *q)
{
	struct afp_ring *r = q->ring;

	if (q->copy)
		block_to_kernel(block_desc(r, q->cur));
	else
		weir_extbuf_put_n(&r->blk[q->cur].ext, 1 + q->ext_spare);
	q->ext_spare = 0;
	q->left = 0;
	q->cur = q->cur + 1 == r->nblocks ? 0 : q->cur + 1;
}

void afp_vlan_put(uint8_t *at, uint16_t tpid, uint16_t tci)
{
	uint16_t be[2] = {htons(tpid), htons(tci)};

	memmove(at, at + AFP_VLAN_HLEN, 2 * ETH_ALEN);
	memcpy(at + 2 * ETH_ALEN, be, sizeof(be));
}

/* The kernel moved a VLAN tag into tp_vlan_tci; put it back so the bytes
 * are what was on the wire. */
static void vlan_reinsert(uint8_t *data, const struct tpacket3_hdr *h)
{
	uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid
								   : ETH_P_8021Q;

	afp_vlan_put(data, tpid, (uint16_t)h->hv1.tp_vlan_tci);
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

void afp_rx_meta(struct afp_rxq *q, struct weir_pkt *p, uint32_t status,
		 const struct virtio_net_hdr *vh, uint16_t tag, uint32_t hash, weir_ns_t now)
{
	p->port = q->q.port->id;
	p->queue = q->q.id;
	p->hash = hash;
	p->timestamp = now;
	p->ol_flags = WEIR_PKT_OL_RX_TSTAMP;
	if (vh) {
		vnet_apply(q, p, vh, tag);
	} else if (weir_unlikely(status & TP_STATUS_CSUMNOTREADY)) {
		/* No offsets without the vnet header: find the L4 checksum and
		 * complete it here, so what leaves weir is valid. */
		weir_port_ctr_add(&q->csum_partial, 1);
		if (weir_pkt_csum_fix_partial(p) > 0)
			weir_port_ctr_add(&q->csum_completed, 1);
	} else if (status & TP_STATUS_CSUM_VALID) {
		p->ol_flags |= WEIR_PKT_OL_CSUM_VALID;
	}
}

int afp_rx_copy(struct weir_pool *pool, struct weir_pkt *head, const uint8_t *src, uint32_t len)
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

/*
 * A raw pool packet (at rest: refcnt 1, no flags, not reset) becomes the
 * frame at frame + mac inside the open block: the fields weir_pkt_reset()
 * sets but the metadata rx_meta() writes, and the buffer, in one pass, and
 * it takes one of the references block_open() took ahead (one per frame,
 * so there is always one left). The frame's header area is the packet's
 * headroom; no tailroom, the next frame follows.
 */
static inline void zc_init(struct afp_rxq *q, struct weir_pkt *p, uint8_t *frame, uint16_t mac,
			   uint16_t len)
{
	p->buf = frame;
	p->next = NULL;
	p->pkt_len = len;
	p->data_off = mac;
	p->data_len = len;
	p->buf_len = (uint32_t)mac + len;
	p->nb_segs = 1;
	p->priority = 0;
	p->flags = WEIR_PKT_F_EXT;
	p->qnext = NULL;
	p->ext = &q->ring->blk[q->cur].ext;
	p->l2_len = p->l3_len = 0;
	p->l4_proto = 0;
	p->gso_type = WEIR_PKT_GSO_NONE;
	p->csum_start = p->csum_offset = 0;
	p->udata64 = 0;
	p->udata = NULL;
	p->gso_size = p->hdr_len = 0;
	q->ext_spare--;
}

/* Attaches a frame inside a zero-copy block to raw packet p: one segment,
 * two when it is longer than a segment's 16-bit length (GSO frames near
 * 64 KiB). */
static int rx_attach(struct afp_rxq *q, struct weir_pkt *p, uint8_t *frame, uint32_t mac,
		     uint32_t len)
{
	struct weir_extbuf *ext = &q->ring->blk[q->cur].ext;
	uint32_t first = len > UINT16_MAX ? UINT16_MAX : len;
	struct weir_pkt *tail;
	int err;

	zc_init(q, p, frame, (uint16_t)mac, (uint16_t)first);
	if (weir_likely(first == len))
		return 0;
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

/*
 * The kernel's frame header at h lies inside the open block, aligned, and so
 * do the frame it describes (room for the vnet header and a reinserted VLAN
 * tag in front of it, which vlan_reinsert writes into) and, when more
 * follow, the next header: nothing is read or written outside the block
 * whatever the header says. The checks are a few compares per frame.
 */
static inline bool frame_ok(const struct afp_rxq *q, const struct tpacket3_hdr *h)
{
	size_t room = (size_t)(q->end - (const uint8_t *)h);
	size_t min_mac = sizeof(*h) + (q->vnet ? sizeof(struct virtio_net_hdr) : 0);

	if (weir_unlikely(((uintptr_t)h & 3) || (const uint8_t *)h >= q->end || room < sizeof(*h)))
		return false;
	if (h->tp_status & TP_STATUS_VLAN_VALID)
		min_mac += AFP_VLAN_HLEN;
	if (weir_unlikely(h->tp_mac < min_mac || (size_t)h->tp_mac + h->tp_snaplen > room))
		return false;
	return q->left <= 1 || (h->tp_next_offset >= sizeof(*h) && h->tp_next_offset <= room - sizeof(*h));
}

/* A frame header that points outside its block: the rest of the block is
 * given up (counted; said once). */
static void bad_frame_note(struct afp_rxq *q)
{
	weir_port_ctr_add(&q->bad_frames, 1);
	weir_port_ctr_add(&q->q.stats.errors, 1);
	if (!q->bad_said) {
		q->bad_said = true;
		WEIR_WARN("%s: queue %u: a frame header points outside its ring block; the rest "
			  "of the block is skipped (rx_bad_frames)", q->q.port->label, q->q.id);
	}
}

/* afp_rx_meta()'s common cases inline: a vnet header with neither a
 * partial checksum nor GSO, or none and no partial checksum. */
static inline void rx_meta(struct afp_rxq *q, struct weir_pkt *p, const struct tpacket3_hdr *h,
			   const struct virtio_net_hdr *vh, bool vlan, weir_ns_t now)
{
	uint32_t status = h->tp_status;
	bool valid;

	if (q->vnet)
		valid = !(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
			vh->gso_type == VIRTIO_NET_HDR_GSO_NONE;
	else
		valid = !(status & TP_STATUS_CSUMNOTREADY);
	if (weir_likely(valid)) {
		bool ok = q->vnet ? vh->flags & VIRTIO_NET_HDR_F_DATA_VALID
				  : status & TP_STATUS_CSUM_VALID;

		p->port = q->q.port->id;
		p->queue = q->q.id;
		p->hash = h->hv1.tp_rxhash;
		p->timestamp = now;
		p->ol_flags = WEIR_PKT_OL_RX_TSTAMP | (ok ? WEIR_PKT_OL_CSUM_VALID : 0);
		return;
	}
	afp_rx_meta(q, p, status, q->vnet ? vh : NULL, vlan ? AFP_VLAN_HLEN : 0,
		    h->hv1.tp_rxhash, now);
}

/* What rx_frame() did with the raw packet it was given. */
enum rx_verdict {
	RX_UNUSED = 0, /* the frame was dropped before the packet was touched */
	RX_KEPT,       /* the packet holds the frame */
	RX_FREED,      /* the frame was dropped after; the packet is freed */
};

/* One frame of the open block into raw pool packet p (drops counted). */
static enum rx_verdict rx_frame(struct afp_rxq *q, struct tpacket3_hdr *h, weir_ns_t now,
				struct weir_pkt *p)
{
	struct weir_rxq *rxq = &q->q;
	uint32_t len = h->tp_snaplen, mac = h->tp_mac;
	bool vlan = h->tp_status & TP_STATUS_VLAN_VALID;
	struct virtio_net_hdr vh = {0};
	int err;

	if (q->vnet)
		memcpy(&vh, (uint8_t *)h + mac - sizeof(vh), sizeof(vh));
	/* The tag goes back in after the two MAC addresses, moving them: a
	 * frame shorter than those would be written past its end. */
	if (weir_unlikely(len < h->tp_len ||
			  (vlan && (mac < AFP_VLAN_HLEN || len < 2 * ETH_ALEN)))) {
		truncated_note(q, h);
		return RX_UNUSED;
	}
	if (weir_unlikely(vlan)) {
		mac -= AFP_VLAN_HLEN;
		len += AFP_VLAN_HLEN;
		vlan_reinsert((uint8_t *)h + mac, h);
		weir_port_ctr_add(&q->vlan_reinserted, 1);
	}
	if (weir_unlikely(q->copy)) {
		weir_pkt_reset(p);
		err = afp_rx_copy(q->pool, p, (uint8_t *)h + mac, len);
	} else {
		err = rx_attach(q, p, (uint8_t *)h, mac, len);
	}
	if (weir_unlikely(err)) {
		weir_pkt_free(p);
		if (err == -ENOBUFS)
			weir_port_ctr_add(&rxq->stats.nombuf, 1);
		else
			weir_port_ctr_add(&rxq->stats.errors, 1);
		return RX_FREED;
	}
	rx_meta(q, p, h, &vh, vlan, now);
	return RX_KEPT;
}

/* Raw packets (at rest, not reset) for the frames ahead: pkts[have..),
 * one pool get for as many as the burst and the open block still have
 * (the frame being read and q->left after it). Returns the new have:
 * have itself when the pool is empty. */
static uint16_t stash_fill(struct afp_rxq *q, struct weir_pkt **pkts, uint16_t have, uint16_t n)
{
	uint32_t k = (uint32_t)(n - have) < q->left + 1 ? (uint32_t)(n - have) : q->left + 1;

	if (weir_likely(weir_pool_get_bulk(q->pool, pkts + have, k) == 0))
		return (uint16_t)(have + k);
	if (k > 1 && weir_pool_get_bulk(q->pool, pkts + have, 1) == 0)
		return (uint16_t)(have + 1);
	return have;
}

/* The next frame of the open block into pkts[*got] (a raw packet of the
 * stash pkts[*got..*have), refilled here). */
static inline void rx_next(struct afp_rxq *q, struct weir_pkt **pkts, uint16_t *got, uint16_t *have,
		    uint16_t n, weir_ns_t now, uint32_t *handled)
{
	struct tpacket3_hdr *h = (struct tpacket3_hdr *)(void *)q->next;

	if (weir_unlikely(!frame_ok(q, h))) {
		bad_frame_note(q);
		block_close(q);
		return;
	}
	q->next += h->tp_next_offset;
	q->left--;
	/* The next header's line is read next; the frame after this one
	 * is usually in it or the one after. */
	if (q->left)
		__builtin_prefetch(q->next);
	if (*got == *have) {
		*have = stash_fill(q, pkts, *have, n);
		if (weir_unlikely(*got == *have)) {
			weir_port_ctr_add(&q->q.stats.nombuf, 1);
			goto out;
		}
	}
	switch (rx_frame(q, h, now, pkts[*got])) {
	case RX_KEPT:
		(*got)++;
		(*handled)++;
		break;
	case RX_FREED: /* its slot takes the stash's last raw packet */
		pkts[*got] = pkts[--(*have)];
		(*handled)++;
		break;
	case RX_UNUSED:
		break;
	}
out:
	if (!q->left)
		block_close(q);
}

uint16_t afp_rx_burst(struct weir_rxq *rxq, struct weir_pkt **pkts, uint16_t n)
{
	struct afp_rxq *q = (struct afp_rxq *)rxq;
	weir_ns_t now = 0;
	uint64_t bytes = 0;
	uint16_t got = 0, have, first;
	uint32_t zc = 0, copied = 0;

	if (weir_unlikely(weir_port_is_dead(rxq->port)))
		return 0;
	/* Older than anything in an open block (see afpacket_wake.c). */
	if (q->wake)
		got = afp_wake_rx(q, pkts, n, &bytes);
	have = first = got;
	while (got < n) {
		uint32_t handled = 0;

		if (!q->left) {
			/* A block's frames come after the wake ring's older ones. */
			if (!block_ready(q, q->cur) || (q->wake && !afp_wake_blocks_ok(q)))
				break;
			block_open(q);
			if (!q->left) { /* an empty retired block */
				block_close(q);
				continue;
			}
		}
		/* Also for a block a previous burst began: its frames were
		 * stamped 0 (then the caller's later clock), out of order with
		 * the frames of a block opened after them in the same burst. */
		if (!now)
			now = weir_clock_now();
		rx_next(q, pkts, &got, &have, n, now, &handled);
		/* A closed block keeps q->copy until the next one opens. */
		if (q->copy)
			copied += handled;
		else
			zc += handled;
	}
	/* Raw packets the frames did not need go back as they came. */
	if (have > got)
		weir_pool_put_bulk(q->pool, pkts + got, (uint32_t)(have - got));
	for (uint16_t i = first; i < got; i++)
		bytes += pkts[i]->pkt_len;
	weir_port_ctr_add(&q->zc_pkts, zc);
	weir_port_ctr_add(&q->copy_pkts, copied);
	weir_port_ctr_add(&rxq->stats.packets, got);
	weir_port_ctr_add(&rxq->stats.bytes, bytes);
	if (got) {
		q->empty = 0;
	} else {
		if (weir_unlikely(++q->empty % AFP_CHECK_EVERY == 0))
			rx_check(q);
		afp_wake_idle(q);
	}
	return got;
}

int afp_wait_fd(struct weir_rxq *rxq)
{
	struct afp_rxq *q = (struct afp_rxq *)rxq;

	return q->wake ? afp_wake_fd(q) : q->ring->fd;
}

void afp_rxq_release(struct afp_rxq *q)
{
	afp_wake_release(q);
	if (!q->ring)
		return;
	if (q->left)
		block_close(q); /* frames not yet read go back unread */
	/* Packets still held by the application keep the mapping until they
	 * are freed (ring_put by the last block). */
	ring_put(q->ring);
	q->ring = NULL;
}
