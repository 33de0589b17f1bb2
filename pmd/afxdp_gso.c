// SPDX-License-Identifier: BSD-3-Clause
/*
 * afxdp's GSO companions: an AF_PACKET socket per TX queue on the same
 * interface (gso_tx=auto|on|off), used only for super-frames, and in skb
 * mode one on RX queue 0 that receives them (gso_rx, below).
 *
 * AF_XDP transmits wire frames only: its descriptors carry no GSO metadata,
 * so a 64 KiB TCP super-frame (what weir-fwd's software GRO builds) would
 * have to be cut back into 45 frames, and the receiving host would pay for
 * each. A packet socket with PACKET_VNET_HDR takes the super-frame whole
 * with a virtio_net_hdr saying how to cut it and which checksum to finish,
 * as afpacket's ring-less socket does (afpacket_tx.c); PACKET_QDISC_BYPASS
 * sends it straight to the device, as AF_XDP's copy mode does. The socket
 * binds no protocol, so it receives nothing. Wire frames keep the XDP TX
 * ring.
 *
 * Order within a flow: a super-frame may follow wire frames of the same
 * flow in one burst (the head of a train that did not merge). Before it
 * goes, every descriptor on the XDP TX ring must have left: in copy mode the
 * kernel sends a descriptor inside the sendto() that consumes it
 * (xsk_generic_xmit), so "consumed" is enough; in zero-copy mode the driver
 * sends from its own queue, so weir waits for the completions. A burst whose
 * ring has not drained stops in front of the super-frame (the caller keeps
 * the rest; xstat tx_gso_waits), and a packet socket that cannot take it
 * now (EAGAIN) likewise (tx_gso_again).
 */
#include <endian.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "weir/log.h"
#include "weir/offload.h"
#include "weir/pkt.h"

#include "afxdp_internal.h"
#include "vnet.h"

int afxdp_gso_open(struct weir_port *port, struct afxdp_txq *txq, int ifindex)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex};
	int one = 1, fd;

	txq->gso_fd = -1;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return weir_port_fail(port, -errno, "gso_tx: AF_PACKET socket: %s (it needs "
				      "CAP_NET_RAW; gso_tx=off sends super-frames cut)",
				      strerror(errno));
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int e = -errno;

		close(fd);
		return weir_port_fail(port, e, "gso_tx: packet socket with PACKET_VNET_HDR: %s "
				      "(gso_tx=off sends super-frames cut)", strerror(-e));
	}
	txq->gso_fd = fd;
	return 0;
}

void afxdp_gso_close(struct afxdp_txq *txq)
{
	if (txq->gso_fd >= 0)
		close(txq->gso_fd);
	txq->gso_fd = -1;
}

int afxdp_gso_send(struct afxdp_txq *txq, const struct weir_pkt *p)
{
	int e = vnet_sendmsg(txq->gso_fd, p);

	if (e == 0) {
		weir_port_ctr_add(&txq->tx_gso_sent, 1);
		return 0;
	}
	switch (-e) {
	case EAGAIN:
	case ENOBUFS:
	case EINTR:
		weir_port_ctr_add(&txq->tx_gso_again, 1);
		return -EAGAIN;
	case ENXIO:
	case ENODEV:
		weir_port_died(txq->q.port, AFXDP_GONE, strerror(-e));
		return -ENXIO;
	default:
		weir_port_ctr_add(&txq->tx_kick_errors, 1);
		weir_port_ctr_add(&txq->q.stats.errors, 1);
		return e;
	}
}

/*
 * gso_rx: receiving super-frames whole. A native XDP program on a veth makes
 * the kernel turn its peer's TSO off (veth_xdp_set), so a Linux sender cuts
 * every TCP segment itself; generic (skb-mode) XDP leaves the peer alone,
 * and its super-frames reach the XDP hook as 64 KiB GSO skbs. AF_XDP would
 * take them only as multi-buffer chains without their metadata (gso_size,
 * UDP GSO's datagram size, the partial checksum's offsets), so weir's
 * program passes every frame longer than the MTU to the kernel
 * (weir_steer_cfg.pass_over) and this socket takes those, with the
 * virtio_net_hdr the kernel fills from the skb, as afpacket gets them. A
 * frame the program redirected never reaches a packet socket (it leaves
 * the stack at the XDP hook). The program also passes the short frames of
 * a flow that sent a super-frame in the last second (afxdp_kern.c), so
 * that a TCP stream's tail segments do not overtake its super-frames on
 * the other channel (with the two read one after the other, they did: a
 * spurious retransmit each). Without steering the socket takes every frame
 * that reaches the stack; with it (udp_port=, ethertype=, where the short
 * frames passed are the host's) its classic BPF filter keeps only frames
 * longer than pass_over, and a flow's short frames keep the XDP ring.
 * PACKET_IGNORE_OUTGOING keeps what weir sends out of it.
 *
 * One socket per port, on RX queue 0 (a packet socket sees the whole
 * interface): with queues=N a flow's super-frames arrive on queue 0.
 */

/* Frames longer than this are truncated (counted in rx_gso_errors). */
#define GSO_RX_MAX (65536 + ETH_HLEN + 4)
#define GSO_RX_BURST 8 /* super-frames per burst at most */
#define GSO_RX_RCVBUF (32 << 20) /* the senders' windows while weir is off the CPU */
#define GSO_RX_COLD_POLLS 8      /* an empty socket is read one burst in this many */

/* The socket's filter: frames longer than pass_over, whole; nothing else
 * (pass_over 0: every frame). */
static int gso_rx_filter(int fd, uint32_t pass_over)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), /* skb->len, from the MAC header */
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, pass_over, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* The options of gso_rx's socket, bound last (the filter is on before the
 * first frame can queue). 0 or -errno, the failed step in *what. */
static int gso_rx_setup(int fd, int ifindex, uint32_t pass_over, const char **what)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htobe16(ETH_P_ALL),
				  .sll_ifindex = ifindex};
	int one = 1, rcvbuf = GSO_RX_RCVBUF;

	if ((*what = "SO_ATTACH_FILTER", gso_rx_filter(fd, pass_over)) ||
	    (*what = "PACKET_VNET_HDR", setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one))) ||
	    (*what = "PACKET_AUXDATA", setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one))) ||
	    (*what = "PACKET_IGNORE_OUTGOING",
	     setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one))) ||
	    (*what = "SO_RCVBUFFORCE", setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) &&
	     setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf))) ||
	    (*what = "bind", bind(fd, (struct sockaddr *)&sll, sizeof(sll))))
		return -errno;
	return 0;
}

int afxdp_gso_rx_open(struct weir_port *port, struct afxdp_rxq *rxq, int ifindex, uint32_t pass_over)
{
	struct epoll_event ev = {.events = EPOLLIN};
	const char *what = "socket";
	int fd, ep, e;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0 || (e = gso_rx_setup(fd, ifindex, pass_over, &what))) {
		e = -errno;
		if (fd >= 0)
			close(fd);
		return weir_port_fail(port, e, "gso_rx: packet socket: %s: %s (it needs CAP_NET_RAW "
				      "and Linux 4.20; gso_rx=off)", what, strerror(-e));
	}
	/* One fd to sleep on for both channels. */
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, rxq->fd, &ev) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		e = -errno;
		if (ep >= 0)
			close(ep);
		close(fd);
		return weir_port_fail(port, e, "gso_rx: epoll: %s", strerror(-e));
	}
	rxq->gso_rx_fd = fd;
	rxq->wait_fd = ep;
	return 0;
}

void afxdp_gso_rx_close(struct afxdp_rxq *rxq)
{
	if (rxq->gso_rx_fd >= 0)
		close(rxq->gso_rx_fd);
	if (rxq->wait_fd >= 0)
		close(rxq->wait_fd);
	rxq->gso_rx_fd = rxq->wait_fd = -1;
	if (rxq->gso_stashed)
		weir_pool_put_bulk(rxq->pool, rxq->gso_stash, rxq->gso_stashed);
	rxq->gso_stashed = 0;
}

/* The kernel's word on the frame, into p: as afpacket_rx.c's vnet_apply,
 * offsets moved by `tag` (the VLAN tag put back in front of them). */
static void gso_rx_meta(struct afxdp_rxq *rxq, struct weir_pkt *p, const struct virtio_net_hdr *vh,
			uint16_t tag)
{
	p->port = rxq->q.port->id;
	p->queue = rxq->q.id;
	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		p->ol_flags |= WEIR_PKT_OL_CSUM_PARTIAL;
		p->csum_start = (uint16_t)(le16toh(vh->csum_start) + tag);
		p->csum_offset = le16toh(vh->csum_offset);
	} else if (vh->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		p->ol_flags |= WEIR_PKT_OL_CSUM_VALID;
	}
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		p->gso_type = vh->gso_type;
		p->gso_size = le16toh(vh->gso_size);
		p->hdr_len = 0;
	}
}

/* A VLAN tag the kernel moved out of the frame (PACKET_AUXDATA), put back
 * into the first segment's headroom: 4, or 0 when there was none. */
static uint16_t gso_rx_vlan(struct weir_pkt *p, struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		const struct tpacket_auxdata *aux = (const void *)CMSG_DATA(c);
		uint8_t *d;

		if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
		    !(aux->tp_status & TP_STATUS_VLAN_VALID) || p->data_off < 4 || p->data_len < 12)
			continue;
		p->data_off -= 4;
		d = weir_pkt_data(p);
		memmove(d, d + 4, 12);
		d[12] = aux->tp_status & TP_STATUS_VLAN_TPID_VALID ? aux->tp_vlan_tpid >> 8 : 0x81;
		d[13] = aux->tp_status & TP_STATUS_VLAN_TPID_VALID ? aux->tp_vlan_tpid & 0xff : 0x00;
		d[14] = aux->tp_vlan_tci >> 8;
		d[15] = aux->tp_vlan_tci & 0xff;
		p->data_len += 4;
		p->pkt_len += 4;
		return 4;
	}
	return 0;
}

/* The stash's first segments made a chain of len bytes (they are consumed);
 * the rest stay for the next frame. */
static struct weir_pkt *gso_rx_chain(struct afxdp_rxq *rxq, uint32_t len, uint32_t room)
{
	uint16_t k = (uint16_t)((len + room - 1) / room);
	struct weir_pkt *head = rxq->gso_stash[0];

	if (!k)
		k = 1;
	for (uint16_t i = 0; i < k; i++) {
		struct weir_pkt *s = rxq->gso_stash[i];

		s->data_len = (uint16_t)(i + 1 < k ? room : len - (uint32_t)i * room);
		s->next = i + 1 < k ? rxq->gso_stash[i + 1] : NULL;
	}
	head->nb_segs = k;
	head->pkt_len = len;
	rxq->gso_stashed -= k;
	memmove(rxq->gso_stash, rxq->gso_stash + k, rxq->gso_stashed * sizeof(rxq->gso_stash[0]));
	return head;
}

/* One frame from the socket into *out: 1, 1 with *out NULL for a frame
 * dropped (truncated: counted), 0 when it is empty (or out of buffers). */
static int gso_rx_one(struct afxdp_rxq *rxq, struct weir_pkt **out, uint32_t room, uint16_t segs)
{
	struct iovec iov[AFXDP_GSO_RX_SEGS + 1];
	union {
		char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		struct cmsghdr align;
	} cmsg;
	struct virtio_net_hdr vh;
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = segs + 1u, .msg_control = cmsg.buf,
			   .msg_controllen = sizeof(cmsg.buf)};
	ssize_t r;

	if (rxq->gso_stashed < segs) {
		uint16_t want = segs - rxq->gso_stashed;

		if (weir_pool_get_bulk(rxq->pool, rxq->gso_stash + rxq->gso_stashed, want) < 0) {
			weir_port_ctr_add(&rxq->rx_gso_nombuf, 1);
			return 0;
		}
		for (uint16_t i = rxq->gso_stashed; i < segs; i++)
			weir_pkt_reset(rxq->gso_stash[i]);
		rxq->gso_stashed = segs;
	}
	iov[0] = (struct iovec){.iov_base = &vh, .iov_len = sizeof(vh)};
	for (uint16_t i = 0; i < segs; i++)
		iov[i + 1] = (struct iovec){.iov_base = weir_pkt_data(rxq->gso_stash[i]), .iov_len = room};
	r = recvmsg(rxq->gso_rx_fd, &m, MSG_DONTWAIT);
	if (r < (ssize_t)sizeof(vh) || (m.msg_flags & MSG_TRUNC)) {
		if (r >= 0 || (errno != EAGAIN && errno != EINTR)) {
			weir_port_ctr_add(&rxq->rx_gso_errors, 1);
			weir_port_ctr_add(&rxq->q.stats.errors, 1);
			return r >= 0; /* a truncated frame is gone; look for the next */
		}
		return 0;
	}
	*out = gso_rx_chain(rxq, (uint32_t)r - sizeof(vh), room);
	gso_rx_meta(rxq, *out, &vh, gso_rx_vlan(*out, &m));
	return 1;
}

uint16_t afxdp_gso_rx(struct afxdp_rxq *rxq, struct weir_pkt **pkts, uint16_t n, bool xsk_idle)
{
	uint32_t room = rxq->pool->buf_size - rxq->pool->headroom;
	uint16_t segs = (uint16_t)WEIR_MIN((GSO_RX_MAX + room - 1) / room, AFXDP_GSO_RX_SEGS);
	uint16_t done = 0;
	uint64_t bytes = 0;

	/* An empty socket costs a syscall: while it stays empty, read it
	 * only when the XDP ring was empty too, or one burst in a few. */
	if (!rxq->gso_hot && !xsk_idle && ++rxq->gso_cold % GSO_RX_COLD_POLLS)
		return 0;
	for (int tries = 0; done < n && done < GSO_RX_BURST && tries < 2 * GSO_RX_BURST; tries++) {
		struct weir_pkt *p = NULL;

		if (gso_rx_one(rxq, &p, room, segs) <= 0)
			break;
		if (p) {
			bytes += p->pkt_len;
			pkts[done++] = p;
		}
	}
	rxq->gso_hot = done > 0;
	weir_port_ctr_add(&rxq->rx_gso_frames, done);
	weir_port_ctr_add(&rxq->q.stats.packets, done);
	weir_port_ctr_add(&rxq->q.stats.bytes, bytes);
	return done;
}
