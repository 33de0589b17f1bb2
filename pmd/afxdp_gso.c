// SPDX-License-Identifier: BSD-3-Clause
/*
 * afxdp's GSO companion: an AF_PACKET socket per TX queue on the same
 * interface (gso_tx=auto|on|off), used only for super-frames.
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
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <string.h>
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
