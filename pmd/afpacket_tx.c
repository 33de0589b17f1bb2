// SPDX-License-Identifier: BSD-3-Clause
/*
 * afpacket's transmit side: a TPACKET_V2 frame ring on a second socket per
 * queue (one that binds no protocol, so it receives nothing). A burst is
 * copied into frames, marked SEND_REQUEST, and kicked with one sendto().
 * The kernel sets a frame back to AVAILABLE when its skb is freed, i.e.
 * when the device is done with it; tx_done reaps those in order and
 * reports them, which is what the scheduler's DQL needs. Chains are
 * linearized into the frame (counted).
 *
 * With offload=1 each frame carries a virtio_net_hdr saying what the
 * kernel is to finish (partial checksum, GSO); a super-frame longer than a
 * ring slot goes by sendmsg on a third, ring-less socket.
 */
#include <endian.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "weir/log.h"
#include "weir/offload.h"
#include "weir/pkt.h"

#include "afpacket_internal.h"
#include "vnet.h"

static inline struct tpacket2_hdr *tx_frame(const struct afp_txq *q, uint32_t i)
{
	return (struct tpacket2_hdr *)(void *)(q->map + (size_t)i * q->frame_size);
}

uint16_t afp_tx_done(struct weir_txq *txq)
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

/*
 * A frame longer than a ring slot (a GSO super-frame) goes by sendmsg on the
 * queue's ring-less socket, its segments as the iovec: the kernel copies it
 * once, as the ring would, and is done with it when sendmsg returns.
 * 0, or a negative errno (-EAGAIN: try again later).
 */
static int tx_big(struct afp_txq *q, const struct weir_pkt *p)
{
	return vnet_sendmsg(q->big_fd, p);
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

/* Taken and dropped: done as far as anyone waiting for completions is
 * concerned (see struct weir_txq). */
static void tx_dropped(struct weir_txq *txq, const struct weir_pkt *p)
{
	weir_port_ctr_add(&txq->done_pkts, 1);
	weir_port_ctr_add(&txq->done_bytes, p->pkt_len);
}

uint16_t afp_tx_burst(struct weir_txq *txq, struct weir_pkt **pkts, uint16_t n)
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
			tx_dropped(txq, p);
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
				tx_dropped(txq, p);
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
