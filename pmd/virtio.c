// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio: a virtio-net device reached over vhost-user, weir being the
 * driver (the guest side, as DPDK's virtio-user is): the backend (DPDK's
 * vhost PMD, a vSwitch) owns the "device" and maps weir's memory. This
 * file is the port glue: the spec, the vhost-user set-up sequence
 * (features, protocol features, memory table, one RX and one TX vring
 * per queue pair), counters, close. The pool's data area and a ring
 * area of the port's own are the backend's memory regions, both memfds:
 * no huge pages needed. Messages are virtio_vhost.c, rings
 * virtio_split.c, bursts virtio_rxtx.c, reconnects virtio_ctl.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weir/hash.h"
#include "weir/log.h"

#include "virtio_internal.h"

#define PAGE 4096u

static size_t page_up(size_t v)
{
	return (v + PAGE - 1) & ~(size_t)(PAGE - 1);
}

/* The port's message for a failed vhost-user step. */
static int conn_err(struct weir_port *port, int err, const char *step)
{
	struct vt_priv *v = port->priv;

	return weir_port_fail(port, err, "%s: %s", step, v->conn.err);
}

/* What weir asks for, of what the backend offers. */
static uint64_t want_features(const struct vt_priv *v, uint64_t offered)
{
	uint64_t want = VT_BIT(VIRTIO_F_VERSION_1) | VT_BIT(VHOST_USER_F_PROTOCOL_FEATURES);

	if (v->event_idx)
		want |= VT_BIT(VIRTIO_RING_F_EVENT_IDX);
	if (v->csum)
		want |= VT_BIT(VIRTIO_NET_F_CSUM) | VT_BIT(VIRTIO_NET_F_GUEST_CSUM);

	if (v->mrg)
		want |= VT_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (v->packed)
		want |= VT_BIT(VIRTIO_F_RING_PACKED);
	/* In order: descriptors in ring order, fewer used entries to read. */
	if (v->in_order)
		want |= VT_BIT(VIRTIO_F_IN_ORDER);
	/* TSO needs the device to finish checksums too (§5.1.3.1). */
	if (v->csum && (offered & VT_BIT(VIRTIO_NET_F_CSUM)))
		want |= VT_BIT(VIRTIO_NET_F_HOST_TSO4) | VT_BIT(VIRTIO_NET_F_HOST_TSO6);
	return want & offered;
}

/* Features and protocol features: 0 or -errno with the port's message. */
static int negotiate(struct weir_port *port)
{
	struct vt_priv *v = port->priv;
	struct vhu_conn *c = &v->conn;
	uint64_t offered, pf = 0, nq;
	int err;

	c->protocol_features = 0; /* a reconnect starts from nothing */
	c->reply_ack = false;
	if ((err = vhu_set_owner(c)))
		return conn_err(port, err, "SET_OWNER");
	if ((err = vhu_get_u64(c, VHU_GET_FEATURES, &offered)))
		return conn_err(port, err, "GET_FEATURES");
	if (!(offered & VT_BIT(VIRTIO_F_VERSION_1)))
		return weir_port_fail(port, -EPROTONOSUPPORT, "the backend offers features 0x%llx, "
				      "without VIRTIO_F_VERSION_1 (bit 32), which weir needs "
				      "(legacy virtio is not supported)", (unsigned long long)offered);
	if (v->mrg && !(offered & VT_BIT(VIRTIO_NET_F_MRG_RXBUF)))
		return weir_port_fail(port, -EPROTONOSUPPORT, "mrg_rxbuf=1 but the backend does "
				      "not offer VIRTIO_NET_F_MRG_RXBUF (use mrg_rxbuf=0)");
	if (v->packed && !(offered & VT_BIT(VIRTIO_F_RING_PACKED)))
		return weir_port_fail(port, -EPROTONOSUPPORT, "packed=1 but the backend does not "
				      "offer VIRTIO_F_RING_PACKED (use packed=0)");
	if (offered & VT_BIT(VHOST_USER_F_PROTOCOL_FEATURES)) {
		if ((err = vhu_get_u64(c, VHU_GET_PROTOCOL_FEATURES, &pf)))
			return conn_err(port, err, "GET_PROTOCOL_FEATURES");
		pf &= VT_BIT(VHOST_USER_PROTOCOL_F_MQ) | VT_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		      VT_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
		if ((err = vhu_set_u64(c, VHU_SET_PROTOCOL_FEATURES, pf)))
			return conn_err(port, err, "SET_PROTOCOL_FEATURES");
		c->protocol_features = pf;
		c->reply_ack = pf & VT_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK);
	}
	if (v->nq > 1) {
		if (!(pf & VT_BIT(VHOST_USER_PROTOCOL_F_MQ)))
			return weir_port_fail(port, -EPROTONOSUPPORT, "queues=%u but the backend "
					      "has no multiqueue (protocol feature MQ)", v->nq);
		if ((err = vhu_get_u64(c, VHU_GET_QUEUE_NUM, &nq)))
			return conn_err(port, err, "GET_QUEUE_NUM");
		if (nq < v->nq)
			return weir_port_fail(port, -EINVAL, "queues=%u but the backend has %llu "
					      "queue pairs (start it with queues=%u)", v->nq,
					      (unsigned long long)nq, v->nq);
	}
	v->features = want_features(v, offered);
	if ((err = vhu_set_u64(c, VHU_SET_FEATURES, v->features)))
		return conn_err(port, err, "SET_FEATURES");
	return 0;
}

/* Bytes of the ring area: both rings of every queue pair, TX headers. */
static size_t ring_area_bytes(uint16_t nq, uint16_t qsize, bool packed)
{
	return (size_t)nq *
	       (2 * vt_ring_bytes(qsize, packed) + page_up((size_t)qsize * VT_HDR_SIZE));
}

static int ring_area_create(struct weir_port *port)
{
	struct vt_priv *v = port->priv;
	size_t len = ring_area_bytes(v->nq, v->qsize, v->packed);
	int fd = memfd_create("weir-virtio-rings", MFD_CLOEXEC);
	void *p;

	if (fd < 0)
		return weir_port_fail(port, -errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(fd, (off_t)len) < 0 ||
	    (p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0)) ==
		    MAP_FAILED) {
		int err = -errno;

		close(fd);
		return weir_port_fail(port, err, "ring memory (%zu bytes): %s", len,
				      strerror(-err));
	}
	v->rings = (struct vt_area){.fd = fd, .addr = p, .len = len};
	return 0;
}

/* One vring's set-up messages (split vq, or packed pq when packed);
 * call_fd/kick_fd are the queue's. */
static int vring_setup(struct weir_port *port, uint32_t idx, const struct vt_split *vq,
		       const struct vt_packed *pq, bool packed, int call_fd, int kick_fd)
{
	struct vhu_conn *c = &((struct vt_priv *)port->priv)->conn;
	struct vhu_vring_addr a = {.index = idx};
	/* Packed: the base carries the wrap counter in bit 15 (starts at 1). */
	uint32_t base = packed ? 1u << 15 : 0;
	int err;

	if (packed)
		vt_packed_addrs(pq, &a);
	else
		vt_split_addrs(vq, &a);
	if ((err = vhu_set_vring_fd(c, VHU_SET_VRING_CALL, idx, call_fd)))
		return conn_err(port, err, "SET_VRING_CALL");
	if ((err = vhu_set_state(c, VHU_SET_VRING_NUM, idx, packed ? pq->size : vq->size)))
		return conn_err(port, err, "SET_VRING_NUM");
	if ((err = vhu_set_state(c, VHU_SET_VRING_BASE, idx, base)))
		return conn_err(port, err, "SET_VRING_BASE");
	if ((err = vhu_set_vring_addr(c, &a)))
		return conn_err(port, err, "SET_VRING_ADDR");
	if ((err = vhu_set_vring_fd(c, VHU_SET_VRING_KICK, idx, kick_fd)))
		return conn_err(port, err, "SET_VRING_KICK");
	return 0;
}

static int new_eventfd(struct weir_port *port, int *fd)
{
	*fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (*fd < 0)
		return weir_port_fail(port, -errno, "eventfd: %s", strerror(errno));
	return 0;
}

/* Queue pair i's private state over its part of the ring area. */
static int queue_init(struct weir_port *port, uint16_t i)
{
	struct vt_priv *v = port->priv;
	struct vt_rxq *rx = (struct vt_rxq *)port->fp.rxq[i];
	struct vt_txq *tx = (struct vt_txq *)port->fp.txq[i];
	size_t ring = vt_ring_bytes(v->qsize, v->packed);
	uint8_t *base = (uint8_t *)v->rings.addr + i * (2 * ring + page_up((size_t)v->qsize * 12));
	bool ev = v->features & VT_BIT(VIRTIO_RING_F_EVENT_IDX);
	int err;

	rx->call_fd = rx->kick_fd = tx->call_fd = tx->kick_fd = -1;
	rx->conn_fd = tx->conn_fd = -1;
	rx->sock_fd = tx->sock_fd = v->conn.fd;
	if (vt_rxq_init(rx, base, v->qsize, port->pool, v->features & VT_BIT(VIRTIO_NET_F_MRG_RXBUF),
			ev, v->packed) ||
	    vt_txq_init(tx, base + ring, (struct vt_net_hdr *)(void *)(base + 2 * ring), v->qsize,
			port->pool, ev, v->packed))
		return weir_port_fail(port, -ENOMEM, "out of memory");
	rx->guest_csum = v->features & VT_BIT(VIRTIO_NET_F_GUEST_CSUM);
	rx->in_order = tx->in_order = v->features & VT_BIT(VIRTIO_F_IN_ORDER);
	tx->csum = v->features & VT_BIT(VIRTIO_NET_F_CSUM);
	tx->gso = v->features & VT_BIT(VIRTIO_NET_F_HOST_TSO4) &&
		  v->features & VT_BIT(VIRTIO_NET_F_HOST_TSO6);
	if (v->reconnect) {
		/* The control thread watches the connection; bursts only
		 * step aside while it sets up a new one. */
		rx->guard.pause = tx->guard.pause = &v->pause;
		rx->sock_fd = tx->sock_fd = -1;
	}
	if ((err = new_eventfd(port, &rx->call_fd)) || (err = new_eventfd(port, &rx->kick_fd)) ||
	    (err = new_eventfd(port, &tx->call_fd)) || (err = new_eventfd(port, &tx->kick_fd)))
		return err;
	return 0;
}

/* Queue pair i on the connection: RX buffers posted (before the device
 * starts, as a NIC's are), both vrings set up. */
static int queue_start(struct weir_port *port, uint16_t i)
{
	struct vt_priv *v = port->priv;
	struct vt_rxq *rx = (struct vt_rxq *)port->fp.rxq[i];
	struct vt_txq *tx = (struct vt_txq *)port->fp.txq[i];
	int err;

	rx->conn_fd = tx->conn_fd = v->conn.fd; /* this session's */
	if (vt_rx_refill(rx) == 0)
		return weir_port_fail(port, -ENOBUFS, "pool %s has no buffers for the RX ring "
				      "(%u needed per queue; use a larger pool)", port->pool->name,
				      v->qsize);
	if ((err = vring_setup(port, 2u * i, &rx->vq, &rx->pq, v->packed, rx->call_fd,
			       rx->kick_fd)) ||
	    (err = vring_setup(port, 2u * i + 1, &tx->vq, &tx->pq, v->packed, tx->call_fd,
			       tx->kick_fd)))
		return err;
	return 0;
}

/* Spec arguments into priv: 0 or -EINVAL with the message set. */
static int parse_args(struct weir_port *port, const struct weir_port_conf *conf)
{
	struct vt_priv *v = port->priv;
	uint64_t nq, qsize, mrg, packed, server, reconnect, in_order, event_idx, csum;
	int err;

	if (!port->ifname[0])
		return weir_port_fail(port, -EINVAL, "needs the vhost-user socket: "
				      "virtio:/path/to/vhost.sock");
	if (strlen(port->ifname) >= sizeof(v->path))
		return weir_port_fail(port, -ENAMETOOLONG, "socket path longer than %zu bytes",
				      sizeof(v->path) - 1);
	if ((err = weir_port_arg_u64(port, "queues", conf->nb_rxq ? conf->nb_rxq : 1, 1,
				     VT_MAX_QUEUES, &nq)) ||
	    (err = weir_port_arg_u64(port, "queue_size", 256, 16, 32768, &qsize)) ||
	    (err = weir_port_arg_u64(port, "mrg_rxbuf", 1, 0, 1, &mrg)) ||
	    (err = weir_port_arg_u64(port, "packed", 0, 0, 1, &packed)) ||
	    (err = weir_port_arg_u64(port, "in_order", 1, 0, 1, &in_order)) ||
	    (err = weir_port_arg_u64(port, "event_idx", 1, 0, 1, &event_idx)) ||
	    (err = weir_port_arg_u64(port, "csum", 1, 0, 1, &csum)) ||
	    (err = weir_port_arg_u64(port, "server", 0, 0, 1, &server)) ||
	    (err = weir_port_arg_u64(port, "reconnect", server, 0, 1, &reconnect)))
		return err;
	if (!weir_is_pow2(qsize))
		return weir_port_fail(port, -EINVAL, "queue_size=%llu is not a power of two",
				      (unsigned long long)qsize);
	v->nq = (uint16_t)nq;
	v->qsize = (uint16_t)qsize;
	v->mrg = mrg;
	v->packed = packed;
	v->in_order = in_order;
	v->event_idx = event_idx;
	v->csum = csum;
	v->server = server;
	v->reconnect = reconnect;
	snprintf(v->path, sizeof(v->path), "%s", port->ifname);
	return 0;
}

static int pool_check(struct weir_port *port)
{
	struct weir_pool *pool = port->pool;

	if (!pool)
		return weir_port_fail(port, -EINVAL, "needs a pool (weir_port_conf.pool)");
	if (weir_pool_memfd(pool) < 0)
		return weir_port_fail(port, -EINVAL, "pool %s is private memory; the backend must "
				      "map it: create it with weir_pool_conf.shared = true",
				      pool->name);
	if (pool->headroom < VT_HDR_SIZE)
		return weir_port_fail(port, -EINVAL, "pool %s has %u bytes of headroom; the "
				      "virtio-net header needs %u", pool->name, pool->headroom,
				      VT_HDR_SIZE);
	return 0;
}

static void vt_close(struct weir_port *port);

int vt_session(struct weir_port *port, bool first)
{
	struct vt_priv *v = port->priv;
	struct weir_pool *pool = port->pool;
	struct vt_area areas[2] = {
		{.fd = weir_pool_memfd(pool), .addr = pool->data, .len = weir_pool_data_len(pool)},
	};
	uint64_t before = v->features;
	int err;

	if ((err = negotiate(port)))
		return err;
	if (!first && v->features != before)
		return weir_port_fail(port, -EPROTO, "the backend came back with features 0x%llx "
				      "instead of 0x%llx; reopen the port",
				      (unsigned long long)v->features, (unsigned long long)before);
	if (first && (err = ring_area_create(port)))
		return err;
	areas[1] = v->rings;
	if ((err = vhu_set_mem(&v->conn, areas, 2)))
		return conn_err(port, err, "memory table");
	if (first && (err = weir_port_alloc_queues(port, v->nq, v->nq)))
		return weir_port_fail(port, err, "out of memory");
	for (uint16_t i = 0; i < v->nq; i++)
		if ((first && (err = queue_init(port, i))) || (err = queue_start(port, i)))
			return err;
	if (v->features & VT_BIT(VHOST_USER_F_PROTOCOL_FEATURES))
		for (uint32_t r = 0; r < 2u * v->nq; r++)
			if ((err = vhu_set_state(&v->conn, VHU_SET_VRING_ENABLE, r, 1)))
				return conn_err(port, err, "SET_VRING_ENABLE");
	return 0;
}

static int vt_open(struct weir_port *port, const struct weir_port_conf *conf)
{
	struct vt_priv *v = port->priv;
	struct weir_hash_key key;
	uint64_t h;
	int err;

	v->conn.fd = v->conn.lfd = v->stop_fd = -1;
	v->rings.fd = -1;
	if ((err = parse_args(port, conf)) || (err = pool_check(port)))
		return err;
	if ((err = vhu_connect(&v->conn, v->path, v->server, 10000, -1)))
		err = weir_port_fail(port, err, "%s", v->conn.err);
	else if (!(err = vt_session(port, true)) && v->reconnect)
		err = vt_ctl_start(port);
	if (!err && !v->reconnect)
		vhu_unlisten(&v->conn, v->path); /* nobody else is to connect */
	if (err) {
		vt_close(port); /* weir_port_open() does not close after a failed open */
		return err;
	}
	/* A locally administered MAC of the socket path: stable across runs. */
	weir_hash_key_from_seed(&key, 0x76697274);
	h = weir_siphash13(&key, v->path, strlen(v->path));
	memcpy(port->mac, (uint8_t[]){0x02, 0x76, (uint8_t)(h >> 24), (uint8_t)(h >> 16),
				      (uint8_t)(h >> 8), (uint8_t)h}, 6);
	port->mtu = 1500;
	port->tx_offloads = (v->features & VT_BIT(VIRTIO_NET_F_CSUM) ? WEIR_PORT_OFFLOAD_CSUM : 0) |
			    (((struct vt_txq *)port->fp.txq[0])->gso ? WEIR_PORT_OFFLOAD_GSO_TCP : 0);
	WEIR_INFO("%s: features 0x%llx (%s rings, mrg_rxbuf %s, event_idx %s, in_order %s, "
		  "csum %s), %u queue pair(s) of %u", port->label, (unsigned long long)v->features,
		  v->packed ? "packed" : "split",
		  v->features & VT_BIT(VIRTIO_NET_F_MRG_RXBUF) ? "on" : "off",
		  v->features & VT_BIT(VIRTIO_RING_F_EVENT_IDX) ? "on" : "off",
		  v->features & VT_BIT(VIRTIO_F_IN_ORDER) ? "on" : "off",
		  v->features & VT_BIT(VIRTIO_NET_F_CSUM) ? "on" : "off", v->nq, v->qsize);
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Gives the device up to 500 ms to finish the frames still in the TX
 * rings (the lcores have stopped: the caller owns the queues). */
static void tx_flush(struct weir_port *port)
{
	struct vt_priv *v = port->priv;

	for (int ms = 0; ms < 500; ms++) {
		bool busy = false;

		for (uint16_t i = 0; i < port->fp.nb_txq; i++) {
			struct vt_txq *q = (struct vt_txq *)port->fp.txq[i];

			vt_tx_done(&q->q);
			busy |= vt_txq_in_flight(q) > 0;
		}
		if (!busy || weir_port_is_dead(port) ||
		    atomic_load_explicit(&v->pause, memory_order_relaxed))
			return;
		usleep(1000);
	}
}

static void vt_close(struct weir_port *port)
{
	struct vt_priv *v = port->priv;

	vt_ctl_stop(port);
	if (v->conn.fd >= 0 && port->fp.txq)
		tx_flush(port);

	/* Stop the device's rings before their buffers go back to the pool
	 * (GET_VRING_BASE: the backend stops using the ring when it answers). */
	if (v->conn.fd >= 0 && !weir_port_is_dead(port) && port->fp.rxq) {
		for (uint32_t r = 0; r < 2u * v->nq; r++) {
			uint32_t base;

			if (vhu_get_vring_base(&v->conn, r, &base))
				break;
		}
	}
	vhu_close(&v->conn);
	vhu_unlisten(&v->conn, v->path);
	for (uint16_t i = 0; port->fp.rxq && i < port->fp.nb_rxq; i++) {
		struct vt_rxq *rx = (struct vt_rxq *)port->fp.rxq[i];
		struct vt_txq *tx = (struct vt_txq *)port->fp.txq[i];

		vt_rxq_release(rx);
		vt_txq_release(tx);
		close_fd(&rx->call_fd);
		close_fd(&rx->kick_fd);
		close_fd(&tx->call_fd);
		close_fd(&tx->kick_fd);
	}
	if (v->rings.addr)
		munmap(v->rings.addr, v->rings.len);
	v->rings.addr = NULL;
	close_fd(&v->rings.fd);
}

static int vt_wait_fd(struct weir_rxq *rxq)
{
	return ((struct vt_rxq *)rxq)->call_fd;
}

static int vt_xstats(struct weir_port *port, struct weir_xstat *xs, int n)
{
	static const char *const names[] = {
		"rx_bad_len",  "rx_csum_partial", "rx_chained",        "rx_refill_fail",
		"rx_kicks",    "tx_kicks",        "tx_copied",         "tx_hdr_desc",
		"tx_csum_completed", "tx_too_big", "tx_ring_full",     "features",
		"reconnects",  "rx_reposted",     "tx_lost_in_flight",
	};
	uint64_t v[WEIR_ARRAY_SIZE(names)] = {0};
	int count = (int)WEIR_ARRAY_SIZE(names);

	for (uint16_t i = 0; i < port->fp.nb_rxq; i++) {
		struct vt_rxq *r = (struct vt_rxq *)port->fp.rxq[i];
		struct vt_txq *t = (struct vt_txq *)port->fp.txq[i];

		v[0] += weir_port_ctr_read(&r->bad_len);
		v[1] += weir_port_ctr_read(&r->csum_partial);
		v[2] += weir_port_ctr_read(&r->chained);
		v[3] += weir_port_ctr_read(&r->refill_fail);
		v[4] += weir_port_ctr_read(&r->kicks);
		v[5] += weir_port_ctr_read(&t->kicks);
		v[6] += weir_port_ctr_read(&t->copied);
		v[7] += weir_port_ctr_read(&t->hdr_desc);
		v[8] += weir_port_ctr_read(&t->csum_completed);
		v[9] += weir_port_ctr_read(&t->too_big);
		v[10] += weir_port_ctr_read(&t->full);
	}
	v[11] = ((struct vt_priv *)port->priv)->features;
	v[12] = weir_port_ctr_read(&((struct vt_priv *)port->priv)->reconnects);
	v[13] = weir_port_ctr_read(&((struct vt_priv *)port->priv)->rx_reposted);
	v[14] = weir_port_ctr_read(&((struct vt_priv *)port->priv)->tx_lost);
	for (int i = 0; i < count && i < n; i++) {
		snprintf(xs[i].name, sizeof(xs[i].name), "%s", names[i]);
		xs[i].value = v[i];
	}
	return count;
}

static const struct weir_port_param vt_params[] = {
	{"queues", "queue pairs (the backend needs as many), default 1", NULL},
	{"queue_size", "descriptors per virtqueue, a power of two, default 256", NULL},
	{"mrg_rxbuf", "1: frames may span RX buffers (VIRTIO_NET_F_MRG_RXBUF), default 1", "0|1"},
	{"packed", "1: packed virtqueues (VIRTIO_F_RING_PACKED), default 0: split", "0|1"},
	{"in_order", "1: VIRTIO_F_IN_ORDER where offered (ring order, fewer used reads), default 1",
	 "0|1"},
	{"event_idx", "1: VIRTIO_RING_F_EVENT_IDX where offered (kick and interrupt suppression "
		      "by index), default 1", "0|1"},
	{"csum", "1: checksum offloads (VIRTIO_NET_F_CSUM, GUEST_CSUM, and TSO with them) where "
		 "offered, default 1", "0|1"},
	{"server", "1: weir listens on the socket and the backend connects, default 0", "0|1"},
	{"reconnect", "1: a backend that goes away is waited for (default: as server)", "0|1"},
	{NULL, NULL, NULL},
};

static const struct weir_port_ops vt_ops = {
	.open = vt_open,
	.rx_burst = vt_rx_burst,
	.tx_burst = vt_tx_burst,
	.tx_done = vt_tx_done,
	.wait_fd = vt_wait_fd,
	.xstats = vt_xstats,
	.close = vt_close,
};

static struct weir_port_driver vt_driver = {
	.name = "virtio",
	.help = "virtio:/path/to/vhost.sock — virtio-net over a vhost-user backend",
	.ops = &vt_ops,
	.params = vt_params,
	.priv_size = sizeof(struct vt_priv),
	.rxq_size = sizeof(struct vt_rxq),
	.txq_size = sizeof(struct vt_txq),
	.shares_pool = true,
};

WEIR_PORT_DRIVER_REGISTER(vt_driver)
