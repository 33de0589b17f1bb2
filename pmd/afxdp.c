// SPDX-License-Identifier: BSD-3-Clause
/*
 * afxdp: the AF_XDP poll-mode driver.
 *
 *     afxdp:IFACE?queues=N&start_queue=Q&mode=native|skb|auto
 *           &zerocopy=auto|on|off&busy_poll=0|1&prog=default|weir|PATH
 *           &udp_port=P&ethertype=T&multibuf=auto|on|off&frame_size=B&fill=N
 *           &csum=fix|keep&gso_tx=auto|on|off&gso_rx=auto|on|off
 *
 * The port's packet pool *is* the UMEM: buffer i of the pool is UMEM chunk
 * i (chunk size = pool->buf_size, frame headroom = pool->headroom), so a
 * received descriptor becomes a weir_pkt with no copy (its data_off keeps
 * XDP's 256-byte headroom plus weir's own), a pool packet handed to
 * tx_burst goes onto the TX ring by address, and the completion ring gives
 * it back to the pool. Ports opened on the same pool share one UMEM
 * (XDP_SHARED_UMEM), so a forwarder moves a frame between them without a
 * copy. Only packets from another pool, clones and external buffers are
 * copied, and counted (tx_copies).
 *
 * libxdp does what it does well: UMEM and socket setup, ring access, the
 * default redirect program and the multi-program dispatcher. weir adds its
 * own steering program (afxdp_kern.c, built with clang -target bpf and
 * embedded in the library) that redirects only the EtherType or UDP port
 * asked for and passes the rest to the kernel.
 *
 * Nothing falls back silently: each port logs the mode, copy/zero-copy,
 * busy poll, multi-buffer and queues it actually got, and why; a setting
 * asked for explicitly (mode=native, zerocopy=on, busy_poll=1,
 * multibuf=on) that cannot be had fails the open.
 *
 * Kernel wake-ups follow need_wakeup: the fill ring and TX ring are kicked
 * only when the kernel sets the flag (always in copy-mode TX, where the
 * send happens inside sendto), or on every empty poll with busy_poll=1.
 *
 * This file is the control path: options, sockets (trying what auto
 * settings allow), open and close, and the ops table. The data
 * path is afxdp_rxtx.c, the shared UMEMs afxdp_umem.c, the XDP program and
 * the libraries' messages afxdp_prog.c, the packet sockets that send
 * and receive super-frames whole (gso_tx, gso_rx) afxdp_gso.c, statistics
 * afxdp_stats.c (afxdp_internal.h joins them).
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "weir/log.h"
#include "weir/pool.h"
#include "weir/port_driver.h"

#include "afxdp_internal.h"

/* Older uapi headers (Debian's 6.1) lack the multi-buffer names. */
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

#define BUSY_POLL_US 20
#define BUSY_POLL_BUDGET 64

/* --- control path ------------------------------------------------------------ */

static int dev_queues(const char *ifname)
{
	struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
	struct ifreq ifr = {0};
	int fd, r;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	r = ioctl(fd, SIOCETHTOOL, &ifr);
	close(fd);
	if (r)
		return 1; /* no channels: one queue */
	r = (int)WEIR_MAX(ch.rx_count, ch.combined_count);
	return r ? r : 1;
}

/* One XSK on queue start_queue + i, bound to the port's UMEM. */
static int create_socket(struct weir_port *port, const struct weir_port_conf *conf, uint16_t i,
			 uint32_t xdp_flags, uint16_t bind_flags)
{
	struct afxdp_priv *priv = port->priv;
	struct afxdp_rxq *rxq = (struct afxdp_rxq *)port->fp.rxq[i];
	struct afxdp_txq *txq = (struct afxdp_txq *)port->fp.txq[i];
	struct xsk_socket_config cfg = {
		.rx_size = conf->rx_size ? conf->rx_size : XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = conf->tx_size ? conf->tx_size : XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = priv->prog_kind == PROG_DEFAULT ? 0
								: XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.xdp_flags = xdp_flags,
		.bind_flags = bind_flags,
	};
	struct umem_share *us = priv->us;
	/* The UMEM's first socket takes the rings made with it. Passed as
	 * they are (not copies), so a failed attempt does not make libxdp
	 * unmap rings the UMEM still owns. */
	bool first = !us->bound;
	int e;

	e = xsk_socket__create_shared(&priv->xsk[i], port->ifname, priv->start_queue + i, us->umem,
				      &rxq->rx, &txq->tx, first ? &us->fill0 : &rxq->fill,
				      first ? &us->comp0 : &txq->comp, &cfg);
	if (e) {
		priv->xsk[i] = NULL;
		return e;
	}
	if (first) {
		rxq->fill = us->fill0;
		txq->comp = us->comp0;
		us->bound = true;
	}
	rxq->fd = txq->fd = xsk_socket__fd(priv->xsk[i]);
	rxq->sock_id = txq->sock_id = afxdp_umem_sock_id(priv->us);
	return 0;
}

static const char *zc_reason(const struct afxdp_priv *priv)
{
	if (priv->got_mode == XDP_MODE_SKB)
		return "skb mode always copies";
	return "the driver has no AF_XDP zero-copy support";
}

/* Creates queue 0's socket, trying what auto settings allow, and says in
 * notes what it had to give up and why. */
static int first_socket(struct weir_port *port, const struct weir_port_conf *conf, char *notes,
			size_t nlen, uint32_t *xdp_flags_out)
{
	struct afxdp_priv *priv = port->priv;
	uint16_t zc = priv->zc_req == TRI_ON ? XDP_ZEROCOPY : priv->zc_req == TRI_OFF ? XDP_COPY : 0;
	bool shared = priv->us->bound, renewed = false;
	uint32_t modes[2];
	int nmodes = 0, e = -EINVAL;
	size_t off = strlen(notes);

	if (priv->prog) {
		modes[nmodes++] = 0; /* program already attached */
	} else {
		if (priv->mode_req != MODE_SKB)
			modes[nmodes++] = XDP_FLAGS_DRV_MODE;
		if (priv->mode_req != MODE_NATIVE)
			modes[nmodes++] = XDP_FLAGS_SKB_MODE;
	}
	for (int m = 0; m < nmodes; m++) {
		int sg_err = 0;

		for (int sg = priv->sg_req == TRI_OFF ? 0 : 1; sg >= 0; sg--) {
			uint16_t bind = XDP_USE_NEED_WAKEUP | zc | (sg ? XDP_USE_SG : 0);

			if (sg == 0 && priv->sg_req == TRI_ON)
				break;
			e = create_socket(port, conf, 0, modes[m], bind);
			/* The kernel frees a closed socket's queue binding from
			 * a work item (after umem_renew, or when the previous
			 * owner of the queue has just exited): give it a
			 * moment before calling the queue taken. */
			for (int t = 0; e == -EBUSY && t < (renewed ? 50 : 15); t++) {
				usleep(20000);
				e = create_socket(port, conf, 0, modes[m], bind);
			}
			WEIR_DEBUG("%s: XSK with xdp_flags %#x bind_flags %#x: %s", port->label,
				   modes[m], bind, e ? strerror(-e) : "ok");
			if (!e) {
				if (!shared)
					priv->us->sg = sg;
				priv->got_sg = priv->us->sg;
				*xdp_flags_out = modes[m];
				if (sg_err)
					off += (size_t)snprintf(notes + off, off < nlen ? nlen - off : 0,
								"%smulti-buffer: %s",
								off ? "; " : "", strerror(-sg_err));
				return 0;
			}
			if (e == -EBUSY || e == -ENODEV || e == -ENOMEM || e == -EPERM)
				return e;
			if (!shared) {
				int r = afxdp_umem_renew(priv->us);

				if (r)
					return r;
				renewed = true;
			}
			if (sg)
				sg_err = e;
			if (shared)
				break; /* bind flags are the UMEM's: retrying changes nothing */
		}
		if (modes[m] == XDP_FLAGS_DRV_MODE && nmodes > 1)
			off += (size_t)snprintf(notes + off, off < nlen ? nlen - off : 0,
						"%snative mode: %s", off ? "; " : "", strerror(-e));
	}
	return e;
}

static int explain_socket_error(struct weir_port *port, int e, uint16_t q)
{
	struct afxdp_priv *priv = port->priv;

	switch (e) {
	case -EBUSY:
		return weir_port_fail(port, e,
				      "queue %u is already in use by another AF_XDP socket "
				      "(another weir port or program on this interface?)",
				      priv->start_queue + q);
	case -EPERM:
		return weir_port_fail(port, e, "not permitted: AF_XDP needs CAP_NET_RAW and "
				      "CAP_BPF/CAP_SYS_ADMIN (run as root)");
	case -EOPNOTSUPP:
	case -EPROTONOSUPPORT:
		if (priv->zc_req == TRI_ON)
			return weir_port_fail(port, e,
					      "zerocopy=on cannot be had: %s (use zerocopy=auto "
					      "or off)",
					      priv->mode_req == MODE_SKB
						      ? "skb mode always copies"
						      : "the driver has no AF_XDP zero-copy support");
		if (priv->mode_req == MODE_NATIVE)
			return weir_port_fail(port, e,
					      "native XDP is not supported by this interface's "
					      "driver (use mode=skb or mode=auto)");
		if (priv->sg_req == TRI_ON)
			return weir_port_fail(port, e,
					      "multibuf=on cannot be had: this kernel/driver has "
					      "no AF_XDP multi-buffer (use multibuf=auto)");
		break;
	default:
		break;
	}
	return weir_port_fail(port, e, "cannot create the AF_XDP socket on queue %u: %s%s%s",
			      priv->start_queue + q, strerror(-e),
			      afxdp_lib_said() ? "; libxdp said: " : "",
			      afxdp_lib_said() ? afxdp_lib_said() : "");
}

static int set_busy_poll(struct weir_port *port, int fd)
{
	int one = 1, us = BUSY_POLL_US, budget = BUSY_POLL_BUDGET;

	if (setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget)))
		return weir_port_fail(port, -errno,
				      "busy_poll=1 cannot be had: %s (SO_BUSY_POLL_BUDGET needs "
				      "CAP_NET_ADMIN and Linux 5.11)",
				      strerror(errno));
	return 0;
}

/* gso_rx= (auto: on with mode=skb), after mode= and prog=: it needs skb
 * mode (native XDP turns a veth peer's TSO off) and weir's program (which
 * passes the super-frames to the kernel). 0 or -EINVAL with the message. */
static int parse_gso_rx(struct weir_port *port)
{
	struct afxdp_priv *priv = port->priv;
	int e = weir_port_arg_choice(port, "gso_rx", TRI_AUTO);

	if (e < 0)
		return e;
	priv->gso_rx = e == TRI_ON || (e == TRI_AUTO && priv->mode_req == MODE_SKB);
	if (!priv->gso_rx)
		return 0;
	if (priv->mode_req == MODE_NATIVE)
		return weir_port_fail(port, -EINVAL, "gso_rx=on needs mode=skb (a native XDP "
				      "program turns the veth peer's TSO off)");
	if (priv->prog_kind == PROG_PATH)
		return weir_port_fail(port, -EINVAL, "gso_rx needs weir's program (prog=weir): it "
				      "passes frames longer than the MTU to the packet socket");
	priv->mode_req = MODE_SKB;
	priv->prog_kind = PROG_WEIR;
	return 0;
}

static int parse_spec(struct weir_port *port, const struct weir_port_conf *conf)
{
	struct afxdp_priv *priv = port->priv;
	uint64_t nq, sq, bp, fs, udp, et, fill, ring;
	const char *prog;
	int e;

	if ((e = weir_port_arg_u64(port, "queues", conf->nb_rxq ? conf->nb_rxq : 1, 1, MAX_QUEUES,
				   &nq)) ||
	    (e = weir_port_arg_u64(port, "start_queue", 0, 0, 1023, &sq)) ||
	    (e = weir_port_arg_u64(port, "busy_poll", 0, 0, 1, &bp)) ||
	    (e = weir_port_arg_u64(port, "frame_size", conf->pool ? conf->pool->buf_size : 2048,
				   2048, 65536, &fs)) ||
	    (e = weir_port_arg_u64(port, "udp_port", 0, 0, 65535, &udp)) ||
	    (e = weir_port_arg_u64(port, "ethertype", 0, 0, 0xffff, &et)) ||
	    (e = weir_port_arg_u64(port, "fill", 0, 0, 1 << 20, &fill)) ||
	    (e = weir_port_arg_u64(port, "rx_ring", 0, 0, 1 << 16, &ring)))
		return e;
	if ((priv->mode_req = weir_port_arg_choice(port, "mode", MODE_AUTO)) < 0)
		return priv->mode_req;
	if ((priv->zc_req = weir_port_arg_choice(port, "zerocopy", TRI_AUTO)) < 0)
		return priv->zc_req;
	if ((priv->sg_req = weir_port_arg_choice(port, "multibuf", TRI_AUTO)) < 0)
		return priv->sg_req;
	if ((e = weir_port_arg_choice(port, "csum", 0)) < 0)
		return e;
	priv->csum_fix = e == 0;
	if ((priv->gso_req = weir_port_arg_choice(port, "gso_tx", TRI_AUTO)) < 0)
		return priv->gso_req;
	if (weir_port_iface_is_virtual_peer(port->ifname))
		WEIR_INFO("%s: a veth/tap, whose Linux peer offloads checksums by default: %s", port->label,
			  priv->csum_fix ? "partial checksums are completed in software (csum=fix, "
					   "xstat rx_csum_completed)"
					 : "csum=keep passes partial checksums on unfinished; the "
					   "receiving host will drop such TCP and UDP");
	if (!conf->pool)
		return weir_port_fail(port, -EINVAL, "needs a packet pool (its memory is the UMEM)");
	if (fs != conf->pool->buf_size)
		return weir_port_fail(port, -EINVAL,
				      "frame_size=%llu but pool '%s' has %u-byte buffers: the "
				      "pool is the UMEM, create it with buf_size=%llu",
				      (unsigned long long)fs, conf->pool->name,
				      conf->pool->buf_size, (unsigned long long)fs);
	if ((uint32_t)conf->pool->headroom + XDP_HEADROOM + 64 > conf->pool->buf_size)
		return weir_port_fail(port, -EINVAL,
				      "pool headroom %u + XDP's %u leaves no room in %u-byte "
				      "buffers",
				      conf->pool->headroom, XDP_HEADROOM, conf->pool->buf_size);
	if ((conf->nb_txq && conf->nb_txq != nq) || (conf->nb_rxq && conf->nb_rxq != nq))
		return weir_port_fail(port, -EINVAL,
				      "one XSK per queue: RX and TX queue counts must both be "
				      "%llu",
				      (unsigned long long)nq);
	prog = weir_port_arg(port, "prog");
	priv->prog_kind = !prog || !strcmp(prog, "default") ? PROG_DEFAULT
			  : !strcmp(prog, "weir")	     ? PROG_WEIR
							     : PROG_PATH;
	priv->steer.udp_port = (uint16_t)udp;
	priv->steer.ethertype = (uint16_t)et;
	priv->steer.enabled = udp || et;
	if ((e = parse_gso_rx(port)))
		return e;
	if (priv->steer.enabled && priv->prog_kind == PROG_DEFAULT)
		return weir_port_fail(port, -EINVAL,
				      "udp_port=/ethertype= steer with weir's program: add "
				      "prog=weir");
	priv->nq = (uint16_t)nq;
	priv->start_queue = (uint16_t)sq;
	priv->busy_poll = bp;
	priv->fill = (uint32_t)fill;
	priv->rx_ring = (uint32_t)ring;
	return 0;
}

/* Ring sizes of a port's sockets, and the pool buffers one RX queue may
 * keep in its fill ring. */
struct afxdp_sizes {
	uint32_t rx, fill, comp;
	uint32_t per_q;
};

/* What the device and the options allow: the queue range, ring sizes, fill=. */
static int open_sizes(struct weir_port *port, const struct weir_port_conf *conf,
		      struct afxdp_sizes *sz)
{
	struct afxdp_priv *priv = port->priv;
	int devq = dev_queues(port->ifname);

	if (priv->start_queue + priv->nq > devq)
		return weir_port_fail(port, -EINVAL,
				      "queue %u is out of range: %s has %d queue%s (start_queue + "
				      "queues must be <= %d; ethtool -L to add queues)",
				      priv->start_queue + priv->nq - 1, port->ifname, devq,
				      devq == 1 ? "" : "s", devq);
	sz->rx = priv->rx_ring		? priv->rx_ring
		 : conf->rx_size ? conf->rx_size
				 : XSK_RING_CONS__DEFAULT_NUM_DESCS;
	if (!weir_is_pow2(sz->rx) || (conf->tx_size && !weir_is_pow2(conf->tx_size)))
		return weir_port_fail(port, -EINVAL, "ring sizes must be powers of two");
	sz->fill = 2 * sz->rx;
	/* Buffers kept in the kernel's hands: half the RX ring by default.
	 * The kernel consumes the fill ring in order, so every buffer in it is
	 * written once per lap; the more of them, the colder the one the
	 * kernel's copy (on the sender's CPU, on a veth) writes next. Forwarding
	 * 64-byte frames gen -> dut -> sink on veths, 4096 held buffers gave
	 * 1.60 Mpps at the sink, 2048 1.66, 1024 1.74 (= testpmd, which fills
	 * 1024), 512 1.70 with fill-empty drops. fill=N trades memory touched
	 * for burst tolerance. */
	if (priv->fill && (priv->fill < FILL_BATCH || priv->fill > sz->fill))
		return weir_port_fail(port, -EINVAL, "fill=%u: must be %u..%u (2 x the RX ring)",
				      priv->fill, FILL_BATCH, sz->fill);
	sz->comp = conf->tx_size ? conf->tx_size : XSK_RING_PROD__DEFAULT_NUM_DESCS;
	return 0;
}

/* The UMEM, the program and every queue's socket, under the UMEM lock:
 * ports opened on one pool share the UMEM and its first socket. */
static int open_sockets(struct weir_port *port, const struct weir_port_conf *conf,
			struct afxdp_sizes *sz, char *notes, size_t nlen)
{
	struct afxdp_priv *priv = port->priv;
	uint32_t xdp_flags = 0;
	int e = 0;

	afxdp_umem_lock();
	priv->us = afxdp_umem_get(port, sz->fill, sz->comp, &e);
	if (!priv->us)
		goto out;
	sz->per_q = weir_pool_avail(port->pool) / 2 / priv->nq;
	if (sz->per_q < 2 * FILL_BATCH) {
		e = weir_port_fail(port, -ENOBUFS,
				   "pool '%s' has %u free packets: too few to keep %u RX queue%s "
				   "filled (needs %u)",
				   port->pool->name, weir_pool_avail(port->pool), priv->nq,
				   priv->nq == 1 ? "" : "s", 4u * FILL_BATCH * priv->nq);
		goto out;
	}
	if (priv->prog_kind != PROG_DEFAULT) {
		e = afxdp_attach_prog(port, priv->prog_kind == PROG_PATH ? weir_port_arg(port, "prog")
									 : NULL,
				      notes, nlen);
		if (e)
			goto out;
	}
	e = first_socket(port, conf, notes, nlen, &xdp_flags);
	if (e) {
		e = explain_socket_error(port, e, 0);
		goto out;
	}
	for (uint16_t i = 1; i < priv->nq; i++) {
		e = create_socket(port, conf, i, xdp_flags,
				  XDP_USE_NEED_WAKEUP | (priv->got_sg ? XDP_USE_SG : 0));
		if (e) {
			e = explain_socket_error(port, e, i);
			goto out;
		}
	}
out:
	afxdp_umem_unlock();
	return e;
}

/* Reads what the sockets got (zero-copy, mode) and readies each queue:
 * in the program's xsks_map, busy polling, its fill ring filled. */
static int open_queues(struct weir_port *port, const struct afxdp_sizes *sz)
{
	struct afxdp_priv *priv = port->priv;
	struct xdp_options opts;
	socklen_t olen = sizeof(opts);
	int e;

	if (!getsockopt(xsk_socket__fd(priv->xsk[0]), SOL_XDP, XDP_OPTIONS, &opts, &olen))
		priv->got_zc = opts.flags & XDP_OPTIONS_ZEROCOPY;
	if (!priv->prog)
		priv->got_mode = afxdp_attached_mode(priv->ifindex);
	if (priv->zc_req == TRI_ON && !priv->got_zc)
		return weir_port_fail(port, -EOPNOTSUPP, "zerocopy=on cannot be had: %s",
				      zc_reason(priv));
	for (uint16_t i = 0; i < priv->nq; i++) {
		struct afxdp_rxq *rxq = (struct afxdp_rxq *)port->fp.rxq[i];
		struct afxdp_txq *txq = (struct afxdp_txq *)port->fp.txq[i];

		if (priv->prog) {
			e = xsk_socket__update_xskmap(priv->xsk[i], priv->xsks_map_fd);
			if (e)
				return weir_port_fail(port, e, "cannot add queue %u to xsks_map: %s",
						      priv->start_queue + i, strerror(-e));
		}
		if (priv->busy_poll && (e = set_busy_poll(port, rxq->fd)))
			return e;
		rxq->pool = txq->pool = port->pool;
		rxq->owner = txq->owner = priv->us->owner;
		rxq->busy_poll = txq->busy_poll = priv->busy_poll;
		rxq->csum_fix = priv->csum_fix;
		txq->sg = priv->got_sg;
		txq->zc = priv->got_zc;
		if (priv->gso_req != TRI_OFF && (e = afxdp_gso_open(port, txq, priv->ifindex)) &&
		    priv->gso_req == TRI_ON)
			return e;
		if (priv->gso_rx && i == 0 &&
		    (e = afxdp_gso_rx_open(port, rxq, priv->ifindex,
					   priv->steer.enabled ? priv->steer.pass_over : 0)))
			return e;
		rxq->fill_target = WEIR_MIN(priv->fill ? priv->fill : sz->rx / 2, sz->per_q) &
				   ~(uint32_t)(FILL_BATCH - 1);
		afxdp_refill(rxq);
	}
	return 0;
}

/* True when every TX queue has its GSO companion (afxdp_gso.c). */
static bool gso_all(const struct weir_port *port)
{
	for (uint16_t i = 0; i < port->fp.nb_txq; i++)
		if (((const struct afxdp_txq *)port->fp.txq[i])->gso_fd < 0)
			return false;
	return port->fp.nb_txq > 0;
}

/* Says what the port got, and what it fell back from (notes). */
static void open_say(struct weir_port *port, const char *notes)
{
	struct afxdp_priv *priv = port->priv;
	uint32_t room = port->pool->buf_size - port->pool->headroom - XDP_HEADROOM;

	WEIR_INFO("%s: %u queue%s (%u..%u), %s mode, %s%s%s%s, need_wakeup on, busy poll "
		  "%s, multi-buffer %s (%s%u B%s), program %s%s, UMEM %s, "
		  "%u-byte frames, data at offset %u, super-frames %s%s%s%s",
		  port->label, priv->nq, priv->nq == 1 ? "" : "s", priv->start_queue,
		  priv->start_queue + priv->nq - 1, afxdp_mode_name(priv->got_mode),
		  priv->got_zc ? "zero-copy" : "copy",
		  priv->got_zc || priv->zc_req == TRI_OFF ? "" : " (",
		  priv->got_zc || priv->zc_req == TRI_OFF ? "" : zc_reason(priv),
		  priv->got_zc || priv->zc_req == TRI_OFF ? "" : ")",
		  priv->busy_poll ? "on" : "off", priv->got_sg ? "on" : "off",
		  priv->got_sg ? "frames larger than " : "frames up to ", room,
		  priv->got_sg ? " arrive as chained segments" : "; larger ones are dropped",
		  priv->prog_kind == PROG_DEFAULT ? "libxdp default"
		  : priv->prog_kind == PROG_WEIR  ? "weir steering"
						  : weir_port_arg(port, "prog"),
		  priv->steer.enabled ? " (steered: the rest goes to the kernel)" : "",
		  priv->us->ports > 1 ? "shared with another port" : "own",
		  port->pool->buf_size, port->pool->headroom + XDP_HEADROOM,
		  gso_all(port) ? "whole by a packet socket (gso_tx)"
		  : priv->gso_req == TRI_OFF ? "cut in software (gso_tx=off)"
					     : "cut in software (no packet socket for gso_tx)",
		  priv->gso_rx ? ", received whole by a packet socket (gso_rx: the sender keeps TSO)"
			       : "", notes[0] ? "; fell back: " : "", notes);
}

static void afxdp_close(struct weir_port *port);

static int afxdp_open(struct weir_port *port, const struct weir_port_conf *conf)
{
	struct afxdp_priv *priv = port->priv;
	char notes[256] = "", msgs[AFXDP_LIB_MSGS_SIZE] = "";
	struct afxdp_lib_print prev_print;
	struct afxdp_sizes sz = {0};
	int e;

	priv->xsks_map_fd = priv->stats_map_fd = priv->memfd = -1;
	if ((e = parse_spec(port, conf)) || (e = weir_port_iface_probe(port, 0, &priv->ifindex)) ||
	    (e = open_sizes(port, conf, &sz)))
		return e;
	/* Longer than the MTU with a VLAN tag: a GSO super-frame. */
	priv->steer.pass_over = priv->gso_rx ? port->mtu + ETH_HLEN + 4 : 0;
	if ((e = weir_port_alloc_queues(port, priv->nq, priv->nq)))
		return weir_port_fail(port, e, "out of memory");
	for (uint16_t i = 0; i < priv->nq; i++) {
		((struct afxdp_txq *)port->fp.txq[i])->gso_fd = -1;
		((struct afxdp_rxq *)port->fp.rxq[i])->gso_rx_fd = -1;
		((struct afxdp_rxq *)port->fp.rxq[i])->wait_fd = -1;
	}
	afxdp_lib_msgs_keep(msgs);
	prev_print = afxdp_lib_print_take();
	if (!(e = afxdp_ensure_bpffs(port)) &&
	    !(e = open_sockets(port, conf, &sz, notes, sizeof(notes))))
		e = open_queues(port, &sz);
	afxdp_lib_msgs_keep(NULL);
	if (e) {
		if (msgs[0])
			WEIR_DEBUG("%s: libbpf/libxdp said: %s", port->label, msgs);
		afxdp_close(port);
	}
	afxdp_lib_print_give_back(prev_print);
	/* AF_XDP carries no GSO metadata: frames arrive as the wire has them
	 * (multi-buffer chains are one wire frame), partial checksums maybe. */
	port->rx_offloads = WEIR_PORT_OFFLOAD_CSUM |
			    (priv->gso_rx ? WEIR_PORT_OFFLOAD_GSO_TCP | WEIR_PORT_OFFLOAD_GSO_UDP : 0);
	/* Partial checksums are completed in software on the XDP ring; with
	 * the GSO companion on every queue, super-frames go out whole. */
	port->tx_offloads = WEIR_PORT_OFFLOAD_CSUM;
	if (!e && gso_all(port))
		port->tx_offloads |= WEIR_PORT_OFFLOAD_GSO_TCP | WEIR_PORT_OFFLOAD_GSO_UDP |
				     WEIR_PORT_OFFLOAD_GSO_GAIN;
	/* Once its device is gone an XSK polls as nothing (no POLLERR): an
	 * idle lcore must come back now and then for rx_empty's check. */
	port->idle_poll_ns = AFXDP_DEAD_CHECK_NS;
	if (!e)
		open_say(port, notes);
	return e;
}

static void afxdp_close(struct weir_port *port)
{
	struct afxdp_priv *priv = port->priv;
	struct afxdp_lib_print prev_print;

	if (!priv)
		return;
	prev_print = afxdp_lib_print_take();
	/* Detach first: no frame is redirected into a socket being torn down. */
	if (priv->prog) {
		xdp_program__detach(priv->prog, priv->ifindex, priv->got_mode, 0);
		xdp_program__close(priv->prog);
		priv->prog = NULL;
	}
	if (priv->us)
		afxdp_umem_lock();
	for (uint16_t i = 0; i < priv->nq && i < MAX_QUEUES; i++) {
		struct afxdp_rxq *rxq;

		if (!priv->xsk[i])
			continue;
		rxq = (struct afxdp_rxq *)port->fp.rxq[i];
		afxdp_gso_close((struct afxdp_txq *)port->fp.txq[i]);
		afxdp_gso_rx_close(rxq);
		xsk_socket__delete(priv->xsk[i]);
		priv->xsk[i] = NULL;
		afxdp_umem_reclaim(priv->us, rxq->sock_id);
	}
	if (priv->us) {
		afxdp_umem_put(priv->us);
		priv->us = NULL;
		afxdp_umem_unlock();
	}
	if (priv->memfd >= 0)
		close(priv->memfd);
	priv->memfd = -1;
	free(priv->verifier_log);
	priv->verifier_log = NULL;
	afxdp_lib_print_give_back(prev_print);
}

static const struct weir_port_param afxdp_params[] = {
	{"queues", "queue pairs (one XSK each), default 1", NULL},
	{"start_queue", "first device queue, default 0", NULL},
	{"mode", "XDP attach mode, default auto (native, else skb)", "native|skb|auto"},
	{"zerocopy", "AF_XDP zero-copy, default auto", "auto|on|off"},
	{"busy_poll", "1: SO_PREFER_BUSY_POLL + SO_BUSY_POLL(_BUDGET)", NULL},
	{"prog", "XDP program: default (libxdp's), weir (steering), or a .o path", NULL},
	{"udp_port", "prog=weir: take UDP to this destination port, pass the rest", NULL},
	{"ethertype", "prog=weir: take this EtherType, pass the rest", NULL},
	{"multibuf", "XDP multi-buffer (jumbo frames as chains), default auto", "auto|on|off"},
	{"frame_size", "UMEM chunk size; must equal the pool's buffer size", NULL},
	{"fill", "buffers kept in the fill ring, default half the RX ring", NULL},
	{"rx_ring", "RX ring descriptors (a power of two; the fill ring is twice that), "
		    "default 2048: what a queue absorbs while its lcore is off the CPU", NULL},
	{"csum", "fix: complete the partial checksums a Linux sender with tx-checksumming "
		 "leaves (AF_XDP carries no checksum metadata); keep: pass frames as they "
		 "arrive (default fix)", "fix|keep"},
	{"gso_tx", "super-frames (GRO's, GSO) whole by a packet socket with a vnet header beside "
		   "the XDP ring, in order with it (AF_XDP sends wire frames only); default auto "
		   "(on unless the socket cannot be had)", "auto|on|off"},
	{"gso_rx", "skb mode: a Linux sender's GSO super-frames received whole, with their "
		   "metadata, by a packet socket beside the XDP ring (native XDP turns a veth "
		   "peer's TSO off); default auto (on with mode=skb)", "auto|on|off"},
	{NULL, NULL, NULL},
};

static const struct weir_port_ops afxdp_ops = {
	.open = afxdp_open,
	.rx_burst = afxdp_rx_burst,
	.tx_burst = afxdp_tx_burst,
	.tx_done = afxdp_tx_done,
	.wait_fd = afxdp_wait_fd,
	.stats = afxdp_stats,
	.xstats = afxdp_xstats,
	.close = afxdp_close,
};

static struct weir_port_driver afxdp_driver = {
	.name = "afxdp",
	.help = "afxdp:IFACE — AF_XDP sockets on a network interface, pool memory as UMEM",
	.ops = &afxdp_ops,
	.params = afxdp_params,
	.priv_size = sizeof(struct afxdp_priv),
	.rxq_size = sizeof(struct afxdp_rxq),
	.txq_size = sizeof(struct afxdp_txq),
	/* close detaches the XDP program: netlink (CAP_NET_ADMIN), and
	 * libxdp looks the dispatcher up by id (CAP_SYS_ADMIN / CAP_BPF) */
	.caps_kept = 1ull << CAP_NET_ADMIN | 1ull << CAP_SYS_ADMIN | 1ull << CAP_BPF,
};

WEIR_PORT_DRIVER_REGISTER(afxdp_driver)
