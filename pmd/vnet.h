/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vnet.h: a weir_pkt's offload metadata as the kernel's virtio_net_hdr, and
 * sending a frame with it in front on a PACKET_VNET_HDR packet socket. Used
 * by afpacket's TX (its ring slots and its super-frame socket) and by
 * afxdp's gso_tx socket, which must speak to the kernel the same way.
 */
#ifndef WEIR_PMD_VNET_H
#define WEIR_PMD_VNET_H

#include <endian.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "weir/pkt.h"

/* vnet_from_pkt: p's checksum and GSO metadata as the kernel reads it in
 * front of a frame. */
static inline void vnet_from_pkt(const struct weir_pkt *p, struct virtio_net_hdr *vh)
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

/* vnet_sendmsg: p (all its segments) with its virtio_net_hdr in front, by
 * one non-blocking sendmsg on fd, a packet socket with PACKET_VNET_HDR. The
 * kernel has copied it when this returns. 0, or -errno of sendmsg. */
static inline int vnet_sendmsg(int fd, const struct weir_pkt *p)
{
	struct iovec iov[WEIR_PKT_MAX_SEGS + 1];
	struct virtio_net_hdr vh;
	struct msghdr m = {.msg_iov = iov};
	size_t n = 0;

	vnet_from_pkt(p, &vh);
	iov[n++] = (struct iovec){.iov_base = &vh, .iov_len = sizeof(vh)};
	for (const struct weir_pkt *s = p; s && n < sizeof(iov) / sizeof(iov[0]); s = s->next)
		iov[n++] = (struct iovec){.iov_base = weir_pkt_data(s), .iov_len = s->data_len};
	m.msg_iovlen = n;
	return sendmsg(fd, &m, MSG_DONTWAIT) >= 0 ? 0 : -errno;
}

#endif
