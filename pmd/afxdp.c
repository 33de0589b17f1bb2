// SPDX-License-Identifier: BSD-3-Clause
/*
 * afxdp: the AF_XDP poll-mode driver.
 *
 *     afxdp:IFACE?queues=N&start_queue=Q&mode=native|skb|auto
 *           &zerocopy=auto|on|off&busy_poll=0|1&prog=default|weir|PATH
 *           &udp_port=P&ethertype=T&multibuf=auto|on|off&frame_size=B&fill=N
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
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/magic.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "weir/log.h"
#include "weir/offload.h"
#include "weir/pkt.h"
#include "weir/port_driver.h"

#include "afxdp_steer.h"

/* Older uapi headers (Debian's 6.1) lack the multi-buffer names. */
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define XDP_HEADROOM 256     /* XDP_PACKET_HEADROOM, in front of every RX frame */
#define FILL_BATCH 64        /* refill granularity */
#define COMP_BATCH 256       /* completions reaped per call */
#define KICK_TRIES_MIN 4     /* sendto calls per kick in copy mode, at least */
#define DEAD_CHECK_POLLS 4096 /* empty polls between checks for a vanished device */
#define MAX_QUEUES 64
#define BUSY_POLL_US 20
#define BUSY_POLL_BUDGET 64
/* What weir_port_died says, with the reason. */
#define AFXDP_GONE "the interface went away (%s); the port is dead, close it"

/* The embedded steering program (generated from afxdp_kern.c at build). */
extern const unsigned char weir_afxdp_kern_obj[];
extern const size_t weir_afxdp_kern_obj_len;


/* Indexes into the choices strings of afxdp_params. */
enum { MODE_NATIVE, MODE_SKB, MODE_AUTO };
enum { TRI_AUTO, TRI_ON, TRI_OFF };
enum { PROG_DEFAULT, PROG_WEIR, PROG_PATH };

/*
 * One UMEM: a pool's data area registered with the kernel, shared by every
 * socket opened on that pool. owner[i] says which socket holds buffer i
 * (in a fill ring, RX ring, TX ring or completion ring), 0 when weir does,
 * so closing a socket gives back exactly what the kernel still held.
 *
 * libxdp makes the UMEM's own socket the first XSK bound to it; when ports
 * share a pool, that socket (and its device queue) stays bound until the
 * last of them closes, so reopening the first port's queue 0 while another
 * port still uses the pool fails with "already in use".
 */
struct umem_share {
	struct weir_pool *pool;
	struct xsk_umem *umem;
	struct xsk_ring_prod fill0; /* rings made with the UMEM, for its first socket */
	struct xsk_ring_cons comp0;
	uint16_t *owner;
	uint16_t next_id;
	uint32_t fill_size, comp_size;
	bool sg, need_wakeup, zc;
	int ports;   /* ports using this UMEM */
	bool bound;  /* a socket has bound it: later ones share its flags */
	struct umem_share *next;
};

static pthread_mutex_t umem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct umem_share *umem_list;

struct afxdp_rxq {
	struct weir_rxq q; /* first: the framework's view */
	struct xsk_ring_cons rx;
	struct xsk_ring_prod fill;
	struct weir_pool *pool;
	uint16_t *owner;
	uint16_t sock_id;
	int fd;
	bool busy_poll;
	bool csum_fix; /* csum=fix: complete partial checksums of received frames */
	bool warned_csum;
	uint32_t fill_target; /* buffers kept in the kernel for RX */
	uint32_t fill_held;
	uint32_t empty_polls;
	uint64_t fill_kicks, rx_kicks, rx_multibuf, rx_bad_desc, rx_csum_completed;
};

struct afxdp_txq {
	struct weir_txq q;
	struct xsk_ring_prod tx;
	struct xsk_ring_cons comp;
	struct weir_pool *pool;
	uint16_t *owner;
	uint16_t sock_id;
	int fd;
	bool sg, busy_poll;
	uint32_t in_flight; /* descriptors on the TX or completion ring */
	bool warned_gso;
	uint64_t tx_copies, tx_kicks, tx_kick_errors, tx_too_big, tx_multibuf, tx_csum_completed;
};

struct afxdp_priv {
	int ifindex;
	uint16_t nq, start_queue;
	struct umem_share *us;
	struct xsk_socket *xsk[MAX_QUEUES];
	int mode_req, zc_req, sg_req, prog_kind;
	bool busy_poll, csum_fix;
	uint32_t fill; /* fill= : buffers kept in the fill ring, 0 = default */
	enum xdp_attach_mode got_mode;
	bool got_zc, got_sg;
	struct xdp_program *prog; /* weir's or the user's; NULL for libxdp's default */
	int xsks_map_fd, stats_map_fd;
	struct weir_steer_cfg steer;
	char *verifier_log;
	int memfd;
};

/* --- libbpf/libxdp messages -------------------------------------------- */

/* Library warnings during an open are kept and shown when the open fails;
 * otherwise they are only debug noise (libxdp probes and retries a lot). */
static __thread char *lib_msgs;
static __thread size_t lib_msgs_len;

/* fmt comes from libbpf/libxdp, which pass their own literals. */
__attribute__((format(printf, 1, 0))) static void keep_lib_msg(const char *fmt, va_list ap)
{
	char line[512];
	int n = vsnprintf(line, sizeof(line), fmt, ap);

	if (n <= 0)
		return;
	WEIR_DEBUG("afxdp: lib: %s", line);
	if (lib_msgs && lib_msgs_len + strlen(line) + 1 < 4096) {
		memcpy(lib_msgs + lib_msgs_len, line, strlen(line) + 1);
		lib_msgs_len += strlen(line);
	}
}

__attribute__((format(printf, 2, 0))) static int libbpf_msg(enum libbpf_print_level level,
							     const char *fmt, va_list ap)
{
	if (level != LIBBPF_DEBUG)
		keep_lib_msg(fmt, ap);
	return 0;
}

__attribute__((format(printf, 2, 0))) static int libxdp_msg(enum libxdp_print_level level,
							     const char *fmt, va_list ap)
{
	if (level != LIBXDP_DEBUG)
		keep_lib_msg(fmt, ap);
	return 0;
}

/*
 * The print callbacks are process-wide, and the application may have set
 * its own (or rely on the libraries' default, stderr). weir's are installed
 * only while open and close call into libbpf and libxdp, and whatever was
 * there before is put back after, so nothing outlives the call. Open and
 * close run on the control thread; pairs nest (open's failure path closes).
 */
struct lib_print {
	libbpf_print_fn_t bpf;
	libxdp_print_fn_t xdp;
};

static struct lib_print lib_print_take(void)
{
	struct lib_print prev;

	prev.bpf = libbpf_set_print(libbpf_msg);
	prev.xdp = libxdp_set_print(libxdp_msg);
	return prev;
}

static void lib_print_give_back(struct lib_print prev)
{
	libbpf_set_print(prev.bpf);
	libxdp_set_print(prev.xdp);
}

/* --- UMEM sharing -------------------------------------------------------- */

static int umem_register(struct umem_share *us)
{
	struct weir_pool *pool = us->pool;
	struct xsk_umem_config cfg = {
		.fill_size = us->fill_size,
		.comp_size = us->comp_size,
		.frame_size = pool->buf_size,
		.frame_headroom = pool->headroom,
		.flags = 0,
	};

	return xsk_umem__create(&us->umem, pool->data, (uint64_t)pool->n * pool->buf_size,
				&us->fill0, &us->comp0, &cfg);
}

/* A first socket that bound but then failed (e.g. the XDP program would
 * not attach in native mode) leaves libxdp's UMEM socket bound to the
 * queue; only closing it frees the queue for the next attempt. */
static int umem_renew(struct umem_share *us)
{
	xsk_umem__delete(us->umem);
	us->umem = NULL;
	return umem_register(us);
}

static struct umem_share *umem_get(struct weir_port *port, uint32_t fill_size, uint32_t comp_size,
				   int *err)
{
	struct weir_pool *pool = port->pool;
	struct umem_share *us;
	int e;

	for (us = umem_list; us; us = us->next) {
		if (us->pool == pool) {
			us->ports++;
			return us;
		}
	}
	us = calloc(1, sizeof(*us));
	if (!us) {
		*err = weir_port_fail(port, -ENOMEM, "out of memory");
		return NULL;
	}
	us->owner = calloc(pool->n, sizeof(*us->owner));
	if (!us->owner) {
		free(us);
		*err = weir_port_fail(port, -ENOMEM, "out of memory");
		return NULL;
	}
	us->pool = pool;
	us->fill_size = fill_size;
	us->comp_size = comp_size;
	e = umem_register(us);
	if (e) {
		free(us->owner);
		free(us);
		if (e == -EPERM)
			*err = weir_port_fail(port, e,
					      "cannot register the pool as a UMEM: not permitted "
					      "(needs CAP_NET_RAW and CAP_IPC_LOCK, or root)");
		else
			*err = weir_port_fail(port, e,
					      "cannot register pool '%s' (%u x %u B) as a UMEM: %s "
					      "(chunks must be 2048..4096 B, a power of two)",
					      pool->name, pool->n, pool->buf_size, strerror(-e));
		return NULL;
	}
	us->ports = 1;
	us->next = umem_list;
	umem_list = us;
	return us;
}

/* Gives back every buffer the socket with this id still had. */
static void umem_reclaim(struct umem_share *us, uint16_t id)
{
	struct weir_pool *pool = us->pool;

	for (uint32_t i = 0; i < pool->n; i++) {
		if (us->owner[i] == id) {
			struct weir_pkt *p = weir_pool_pkt_at(pool, i);

			us->owner[i] = 0;
			p->next = NULL;
			weir_pkt_free_seg(p);
		}
	}
}

static void umem_put(struct umem_share *us)
{
	struct umem_share **pp;

	if (--us->ports > 0)
		return;
	for (pp = &umem_list; *pp; pp = &(*pp)->next) {
		if (*pp == us) {
			*pp = us->next;
			break;
		}
	}
	xsk_umem__delete(us->umem);
	free(us->owner);
	free(us);
}

/* --- the fast path ------------------------------------------------------- */

static inline uint64_t pkt_umem_base(const struct weir_pool *pool, const struct weir_pkt *p)
{
	return (uint64_t)p->idx << pool->buf_shift;
}

/* Keeps fill_target buffers in the kernel's hands for RX. */
static void refill(struct afxdp_rxq *rxq)
{
	struct weir_pool *pool = rxq->pool;
	struct weir_pkt *pkts[FILL_BATCH];
	uint32_t want, idx;

	while ((want = rxq->fill_target - rxq->fill_held) >= FILL_BATCH / 2) {
		want = WEIR_MIN(want, FILL_BATCH);
		if (weir_pkt_alloc_bulk(pool, pkts, want) < 0) {
			/* Pool exhausted: the kernel will drop (rx_dropped)
			 * until packets come back. */
			weir_port_ctr_add(&rxq->q.stats.nombuf, 1);
			break;
		}
		if (xsk_ring_prod__reserve(&rxq->fill, want, &idx) != want) {
			weir_pool_put_bulk(pool, pkts, want);
			break;
		}
		for (uint32_t i = 0; i < want; i++) {
			*xsk_ring_prod__fill_addr(&rxq->fill, idx + i) = pkt_umem_base(pool, pkts[i]);
			rxq->owner[pkts[i]->idx] = rxq->sock_id;
		}
		xsk_ring_prod__submit(&rxq->fill, want);
		rxq->fill_held += want;
	}
	if (xsk_ring_prod__needs_wakeup(&rxq->fill)) {
		recvfrom(rxq->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		weir_port_ctr_add(&rxq->fill_kicks, 1);
	}
}

static void check_dead(struct afxdp_rxq *rxq)
{
	struct weir_port *port = rxq->q.port;
	struct afxdp_priv *priv = port->priv;
	socklen_t len = sizeof(int);
	char name[IF_NAMESIZE];
	int soerr = 0;

	getsockopt(rxq->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (soerr != ENETDOWN && soerr != ENXIO && if_indextoname((unsigned)priv->ifindex, name))
		return;
	weir_port_died(port, AFXDP_GONE, soerr ? strerror(soerr) : "no such ifindex");
}

/* Turns one RX descriptor into a packet segment. */
static inline struct weir_pkt *desc_to_pkt(struct afxdp_rxq *rxq, const struct xdp_desc *d)
{
	struct weir_pool *pool = rxq->pool;
	struct weir_pkt *p = weir_pool_pkt_from_offset(pool, d->addr);

	if (weir_unlikely(!p))
		return NULL;
	rxq->owner[p->idx] = 0;
	p->data_off = (uint16_t)(d->addr & (pool->buf_size - 1));
	p->data_len = (uint16_t)d->len;
	p->pkt_len = d->len;
	p->nb_segs = 1;
	p->next = NULL;
	return p;
}

/*
 * A Linux sender with tx-checksumming on (a veth's default) leaves TCP and
 * UDP checksums partial, and AF_XDP says nothing of it: the frame's
 * checksum field holds the pseudo-header sum, which weir_pkt_csum_fix_partial
 * recognises and completes. Said once per queue, counted always.
 */
static void csum_completed(struct afxdp_rxq *rxq)
{
	weir_port_ctr_add(&rxq->rx_csum_completed, 1);
	if (!rxq->warned_csum) {
		rxq->warned_csum = true;
		WEIR_INFO("%s: queue %u: frames arrive with partial checksums (the sender's "
			  "tx-checksumming is on, as Linux veths have it by default); weir "
			  "completes them in software (xstat rx_csum_completed). To save that "
			  "work: ethtool -K <sender> tx off",
			  rxq->q.port->label, rxq->q.id);
	}
}

static uint16_t afxdp_rx_burst(struct weir_rxq *q, struct weir_pkt **pkts, uint16_t n)
{
	struct afxdp_rxq *rxq = (struct afxdp_rxq *)q;
	struct weir_pkt *head = NULL, *tail = NULL;
	uint32_t avail, idx, used = 0, done = 0, head_at = 0;
	uint64_t bytes = 0;

	if (rxq->fill_target - rxq->fill_held >= FILL_BATCH / 2)
		refill(rxq);
	/* Multi-buffer frames take several descriptors: look at more than n. */
	avail = xsk_ring_cons__peek(&rxq->rx, rxq->rx.size, &idx);
	if (!avail) {
		if (rxq->busy_poll) {
			/* Drives the device's NAPI from this thread. */
			recvfrom(rxq->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
			weir_port_ctr_add(&rxq->rx_kicks, 1);
		}
		if (++rxq->empty_polls >= DEAD_CHECK_POLLS) {
			rxq->empty_polls = 0;
			check_dead(rxq);
		}
		return 0;
	}
	rxq->empty_polls = 0;
	while (used < avail && done < n) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rxq->rx, idx + used);
		struct weir_pkt *p = desc_to_pkt(rxq, d);

		used++;
		if (weir_unlikely(!p)) {
			weir_port_ctr_add(&rxq->rx_bad_desc, 1);
			weir_port_ctr_add(&q->stats.errors, 1);
			continue;
		}
		if (!head) {
			head = tail = p;
			head_at = used - 1;
		} else {
			tail->next = p;
			tail = p;
			head->nb_segs++;
			head->pkt_len += p->data_len;
		}
		if (d->options & XDP_PKT_CONTD)
			continue;
		if (head->nb_segs > 1)
			weir_port_ctr_add(&rxq->rx_multibuf, 1);
		if (rxq->csum_fix && weir_pkt_csum_fix_partial(head) > 0)
			csum_completed(rxq);
		head->port = q->port->id;
		head->queue = q->id;
		bytes += head->pkt_len;
		pkts[done++] = head;
		head = NULL;
	}
	if (head) {
		/* The rest of this frame was not peeked: leave its descriptors
		 * on the ring and read them again next time. */
		for (struct weir_pkt *s = head; s; s = s->next)
			rxq->owner[s->idx] = rxq->sock_id;
		xsk_ring_cons__cancel(&rxq->rx, avail - head_at);
		used = head_at;
	} else if (used < avail) {
		xsk_ring_cons__cancel(&rxq->rx, avail - used);
	}
	xsk_ring_cons__release(&rxq->rx, used);
	rxq->fill_held -= used;
	weir_port_ctr_add(&q->stats.packets, done);
	weir_port_ctr_add(&q->stats.bytes, bytes);
	return (uint16_t)done;
}

/* Reaps the completion ring: sent buffers go back to their pool. */
static uint32_t reap(struct afxdp_txq *txq)
{
	struct weir_pool *pool = txq->pool;
	struct weir_pkt *batch[64];
	uint32_t n, idx, nb = 0, pkts = 0;
	uint64_t bytes = 0;

	n = xsk_ring_cons__peek(&txq->comp, COMP_BATCH, &idx);
	if (!n)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t addr = *xsk_ring_cons__comp_addr(&txq->comp, idx + i);
		struct weir_pkt *p = weir_pool_pkt_from_offset(pool, addr);

		if (weir_unlikely(!p))
			continue;
		txq->owner[p->idx] = 0;
		bytes += p->data_len;
		pkts += p->nb_segs != 0; /* 0 marks a non-first segment */
		batch[nb++] = p;
		if (nb == WEIR_ARRAY_SIZE(batch)) {
			weir_pkt_free_bulk(batch, nb);
			nb = 0;
		}
	}
	if (nb)
		weir_pkt_free_bulk(batch, nb);
	xsk_ring_cons__release(&txq->comp, n);
	txq->in_flight -= n;
	weir_port_ctr_add(&txq->q.done_pkts, pkts);
	weir_port_ctr_add(&txq->q.done_bytes, bytes);
	return pkts;
}

static inline bool tx_pending(const struct afxdp_txq *txq);
static void kick_tx(struct afxdp_txq *txq);

static uint16_t afxdp_tx_done(struct weir_txq *q)
{
	struct afxdp_txq *txq = (struct afxdp_txq *)q;
	uint32_t total = 0, got;

	while ((got = reap(txq)) > 0 && total < UINT16_MAX - COMP_BATCH)
		total += got;
	/* Copy mode sends inside sendto: descriptors a kick left on the ring
	 * (it sends 32 per call) go out here, so a caller that only polls
	 * tx_done still drains it. No pending descriptor, no system call. */
	if (tx_pending(txq))
		kick_tx(txq);
	return (uint16_t)total;
}

/* Descriptors submitted to the TX ring that the kernel has not taken. */
static inline bool tx_pending(const struct afxdp_txq *txq)
{
	/* Acquire pairs with the kernel's release of the consumer index. */
	return __atomic_load_n(txq->tx.consumer, __ATOMIC_ACQUIRE) != txq->tx.cached_prod;
}

static void kick_tx(struct afxdp_txq *txq)
{
	uint32_t tries = txq->tx.size / 32 + KICK_TRIES_MIN;

	if (!txq->busy_poll && !xsk_ring_prod__needs_wakeup(&txq->tx))
		return;
	weir_port_ctr_add(&txq->tx_kicks, 1);
	/* Copy mode sends at most 32 frames per call and says EAGAIN when
	 * more wait or the completion ring is full: reap and go on. */
	while (tries--) {
		if (sendto(txq->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				reap(txq);
				continue;
			}
			if (errno != EBUSY && errno != ENOBUFS) {
				weir_port_ctr_add(&txq->tx_kick_errors, 1);
				if (errno == ENETDOWN || errno == ENXIO)
					weir_port_died(txq->q.port, AFXDP_GONE, strerror(errno));
			}
			return;
		}
		if (!tx_pending(txq))
			return;
		reap(txq); /* a batch went, more wait */
	}
}

/* Can this packet go on the TX ring by address (same UMEM, own buffers)? */
static inline bool zc_ok(const struct afxdp_txq *txq, const struct weir_pkt *p)
{
	if (weir_likely(p->nb_segs == 1))
		return p->pool == txq->pool && !p->flags;
	if (!txq->sg)
		return false;
	for (const struct weir_pkt *s = p; s; s = s->next)
		if (s->pool != txq->pool || s->flags)
			return false;
	return true;
}

/*
 * AF_XDP sends wire frames only: a partial checksum is completed here; a
 * super-frame cannot go (the caller segments first, see
 * weir_port_tx_offloads) and is dropped, counted, said once. 0 or -EINVAL.
 */
static int tx_offload(struct afxdp_txq *txq, struct weir_pkt *p)
{
	if (weir_pkt_is_gso(p)) {
		weir_port_ctr_add(&txq->tx_too_big, 1);
		weir_port_ctr_add(&txq->q.stats.errors, 1);
		if (!txq->warned_gso) {
			txq->warned_gso = true;
			WEIR_WARN("%s: dropping GSO super-frames (%u bytes): AF_XDP sends wire "
				  "frames only; segment them first (weir_gso_segment)",
				  txq->q.port->label, p->pkt_len);
		}
		return -EINVAL;
	}
	if (weir_pkt_csum_complete(p) < 0) {
		weir_port_ctr_add(&txq->q.stats.errors, 1);
		return -EINVAL;
	}
	weir_port_ctr_add(&txq->tx_csum_completed, 1);
	return 0;
}

static uint16_t afxdp_tx_burst(struct weir_txq *q, struct weir_pkt **pkts, uint16_t n)
{
	struct afxdp_txq *txq = (struct afxdp_txq *)q;
	struct weir_pool *pool = txq->pool;
	uint32_t room, idx = txq->tx.cached_prod, used = 0;
	uint64_t bytes = 0;
	uint16_t sent;

	if (txq->in_flight)
		reap(txq);
	room = xsk_prod_nb_free(&txq->tx, txq->tx.size);
	for (sent = 0; sent < n; sent++) {
		struct weir_pkt *p = pkts[sent];

		if (weir_unlikely(p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL || weir_pkt_is_gso(p)) &&
		    tx_offload(txq, p) < 0) {
			weir_pkt_free(p);
			continue;
		}
		if (zc_ok(txq, p)) {
			if (p->nb_segs > room - used)
				break;
			bytes += p->pkt_len;
			if (p->nb_segs > 1)
				weir_port_ctr_add(&txq->tx_multibuf, 1);
			for (struct weir_pkt *s = p, *next; s; s = next) {
				struct xdp_desc *d = xsk_ring_prod__tx_desc(&txq->tx, idx + used++);

				next = s->next;
				d->addr = pkt_umem_base(pool, s) + s->data_off;
				d->len = s->data_len;
				d->options = next ? XDP_PKT_CONTD : 0;
				txq->owner[s->idx] = txq->sock_id;
				/* Each segment completes on its own. */
				s->nb_segs = s == p;
				s->next = NULL;
			}
		} else {
			struct weir_pkt *c;
			struct xdp_desc *d;

			if (used == room)
				break;
			if (p->pkt_len > pool->buf_size - pool->headroom) {
				/* Never fits one buffer: dropping is the only
				 * answer, retrying would spin forever. */
				weir_port_ctr_add(&txq->tx_too_big, 1);
				weir_port_ctr_add(&q->stats.errors, 1);
				weir_pkt_free(p);
				continue;
			}
			c = weir_pkt_alloc(pool);
			if (!c)
				break;
			weir_pkt_copy_out(p, 0, p->pkt_len, weir_pkt_data(c));
			c->data_len = (uint16_t)p->pkt_len;
			c->pkt_len = p->pkt_len;
			bytes += p->pkt_len;
			weir_pkt_free(p);
			weir_port_ctr_add(&txq->tx_copies, 1);
			d = xsk_ring_prod__tx_desc(&txq->tx, idx + used++);
			d->addr = pkt_umem_base(pool, c) + c->data_off;
			d->len = c->data_len;
			d->options = 0;
			txq->owner[c->idx] = txq->sock_id;
		}
	}
	if (used) {
		xsk_ring_prod__reserve(&txq->tx, used, &idx);
		xsk_ring_prod__submit(&txq->tx, used);
		txq->in_flight += used;
		kick_tx(txq);
	}
	weir_port_ctr_add(&q->stats.packets, sent);
	weir_port_ctr_add(&q->stats.bytes, bytes);
	return sent;
}

static int afxdp_wait_fd(struct weir_rxq *q)
{
	return ((struct afxdp_rxq *)q)->fd;
}

/* --- stats ----------------------------------------------------------------- */

static int xsk_stats(const struct afxdp_priv *priv, uint16_t i, struct xdp_statistics *xs)
{
	socklen_t len = sizeof(*xs);

	memset(xs, 0, sizeof(*xs));
	if (!priv->xsk[i])
		return -ENOENT;
	return getsockopt(xsk_socket__fd(priv->xsk[i]), SOL_XDP, XDP_STATISTICS, xs, &len) ? -errno
											       : 0;
}

static void afxdp_stats(struct weir_port *port, struct weir_port_stats *st)
{
	struct afxdp_priv *priv = port->priv;
	struct xdp_statistics xs;

	for (uint16_t i = 0; i < priv->nq; i++) {
		if (xsk_stats(priv, i, &xs))
			continue;
		st->imissed += xs.rx_dropped + xs.rx_ring_full;
		st->ierrors += xs.rx_invalid_descs;
		st->oerrors += xs.tx_invalid_descs;
	}
}

/* The steering program's per-CPU counters, summed (by STEER_STAT_*). */
static void steer_counts(const struct afxdp_priv *priv, uint64_t out[STEER_STAT_NR])
{
	int ncpu = libbpf_num_possible_cpus();

	memset(out, 0, STEER_STAT_NR * sizeof(*out));
	if (priv->stats_map_fd < 0 || ncpu <= 0)
		return;
	for (uint32_t k = 0; k < STEER_STAT_NR; k++) {
		uint64_t *v = calloc((size_t)ncpu, sizeof(*v));

		if (!v)
			return;
		if (!bpf_map_lookup_elem(priv->stats_map_fd, &k, v))
			for (int c = 0; c < ncpu; c++)
				out[k] += v[c];
		free(v);
	}
}

static int afxdp_xstats(struct weir_port *port, struct weir_xstat *x, int n)
{
	struct afxdp_priv *priv = port->priv;
	struct xdp_statistics xs, sum = {0};
	uint64_t copies = 0, tkicks = 0, fkicks = 0, multi = 0, big = 0, kerr = 0, bad = 0;
	uint64_t rx_csum = 0, tx_csum = 0;
	uint64_t steer[STEER_STAT_NR];
	int k = 0;

	for (uint16_t i = 0; i < priv->nq; i++) {
		const struct afxdp_rxq *r = (const struct afxdp_rxq *)port->fp.rxq[i];
		const struct afxdp_txq *t = (const struct afxdp_txq *)port->fp.txq[i];

		if (!xsk_stats(priv, i, &xs)) {
			sum.rx_dropped += xs.rx_dropped;
			sum.rx_invalid_descs += xs.rx_invalid_descs;
			sum.tx_invalid_descs += xs.tx_invalid_descs;
			sum.rx_ring_full += xs.rx_ring_full;
			sum.rx_fill_ring_empty_descs += xs.rx_fill_ring_empty_descs;
			sum.tx_ring_empty_descs += xs.tx_ring_empty_descs;
		}
		copies += weir_port_ctr_read(&t->tx_copies);
		tkicks += weir_port_ctr_read(&t->tx_kicks);
		kerr += weir_port_ctr_read(&t->tx_kick_errors);
		big += weir_port_ctr_read(&t->tx_too_big);
		multi += weir_port_ctr_read(&r->rx_multibuf) + weir_port_ctr_read(&t->tx_multibuf);
		fkicks += weir_port_ctr_read(&r->fill_kicks) + weir_port_ctr_read(&r->rx_kicks);
		bad += weir_port_ctr_read(&r->rx_bad_desc);
		rx_csum += weir_port_ctr_read(&r->rx_csum_completed);
		tx_csum += weir_port_ctr_read(&t->tx_csum_completed);
	}
	steer_counts(priv, steer);
#define XS(nm, val)                                                                  \
	do {                                                                         \
		if (k < n) {                                                         \
			snprintf(x[k].name, sizeof(x[k].name), "%s", nm);            \
			x[k].value = (val);                                          \
		}                                                                    \
		k++;                                                                 \
	} while (0)
	XS("rx_dropped", sum.rx_dropped);
	XS("rx_invalid_descs", sum.rx_invalid_descs);
	XS("tx_invalid_descs", sum.tx_invalid_descs);
	XS("rx_ring_full", sum.rx_ring_full);
	XS("rx_fill_ring_empty_descs", sum.rx_fill_ring_empty_descs);
	XS("tx_ring_empty_descs", sum.tx_ring_empty_descs);
	XS("tx_copies", copies);
	XS("tx_kicks", tkicks);
	XS("tx_kick_errors", kerr);
	XS("tx_too_big", big);
	XS("rx_fill_kicks", fkicks);
	XS("multibuf_frames", multi);
	XS("rx_bad_desc", bad);
	XS("rx_csum_completed", rx_csum);
	XS("tx_csum_completed", tx_csum);
	XS("steer_redirected", steer[STEER_STAT_REDIRECT]);
	XS("steer_passed", steer[STEER_STAT_PASS]);
	XS("zerocopy", priv->got_zc);
	XS("native_mode", priv->got_mode == XDP_MODE_NATIVE);
#undef XS
	return k;
}

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

/* libxdp's dispatcher pins programs in bpffs: mount it if it is missing
 * (ip netns exec gives each namespace its own /sys). */
static int ensure_bpffs(struct weir_port *port)
{
	const char *dir = getenv("LIBXDP_BPFFS");
	struct statfs fs;

	if (!dir || !*dir)
		dir = "/sys/fs/bpf";
	if (!statfs(dir, &fs) && (uint64_t)fs.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", dir, "bpf", 0, "mode=0700")) {
		int e = -errno;

		return weir_port_fail(port, e,
				      "bpffs is not mounted at %s and mounting it failed (%s); "
				      "mount it first (mount -t bpf bpf %s), or point "
				      "LIBXDP_BPFFS at a mounted bpffs",
				      dir, strerror(-e), dir);
	}
	WEIR_INFO("%s: mounted bpffs at %s (libxdp's dispatcher needs it)", port->label, dir);
	return 0;
}

static const char *mode_name(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE: return "native";
	case XDP_MODE_SKB: return "skb";
	case XDP_MODE_HW: return "hw";
	default: return "unknown";
	}
}

static enum xdp_attach_mode attached_mode(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	enum xdp_attach_mode m;

	if (libxdp_get_error(mp) || !mp)
		return XDP_MODE_UNSPEC;
	m = xdp_multiprog__attach_mode(mp);
	xdp_multiprog__close(mp);
	return m;
}

/* Opens weir's embedded program (path NULL) or the file at path and
 * attaches it in mode. The embedded bytes go through a memfd so libxdp owns
 * the object exactly as if it had opened a file. On an attach failure the
 * error is returned with no message: the caller explains or falls back. */
static int load_prog(struct weir_port *port, const char *path, enum xdp_attach_mode mode)
{
	struct afxdp_priv *priv = port->priv;
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	char memfd_path[64];
	/* Messages name the program; path is NULL for weir's own. */
	const char *name = path ? path : "(weir's, embedded)";
	struct bpf_object *obj;
	struct bpf_map *map;
	int e;

	priv->verifier_log[0] = '\0';
	oo.kernel_log_buf = priv->verifier_log;
	oo.kernel_log_size = 1 << 20;
	if (!path) {
		if (priv->memfd < 0) {
			priv->memfd = memfd_create("weir_afxdp_kern", MFD_CLOEXEC);
			if (priv->memfd < 0)
				return weir_port_fail(port, -errno, "memfd_create: %s",
						      strerror(errno));
			if (write(priv->memfd, weir_afxdp_kern_obj, weir_afxdp_kern_obj_len) !=
			    (ssize_t)weir_afxdp_kern_obj_len)
				return weir_port_fail(port, -EIO, "cannot stage the XDP program");
		}
		snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", priv->memfd);
	}
	priv->prog = xdp_program__open_file(path ? path : memfd_path, NULL, &oo);
	e = (int)libxdp_get_error(priv->prog);
	if (e || !priv->prog) {
		priv->prog = NULL;
		e = e ? e : -EINVAL;
		return weir_port_fail(port, e, "cannot open XDP program %s: %s", name,
				      strerror(-e));
	}
	e = xdp_program__attach(priv->prog, priv->ifindex, mode, 0);
	if (e) {
		xdp_program__close(priv->prog);
		priv->prog = NULL;
		return e;
	}
	priv->got_mode = mode;
	obj = xdp_program__bpf_obj(priv->prog);
	map = bpf_object__find_map_by_name(obj, "xsks_map");
	if (!map || bpf_map__type(map) != BPF_MAP_TYPE_XSKMAP)
		return weir_port_fail(port, -EINVAL,
				      "XDP program %s has no XSKMAP named xsks_map to redirect into",
				      name);
	if (bpf_map__max_entries(map) < (uint32_t)(priv->start_queue + priv->nq))
		return weir_port_fail(port, -EINVAL,
				      "the program's xsks_map holds %u queues, queue %u asked",
				      bpf_map__max_entries(map), priv->start_queue + priv->nq - 1);
	priv->xsks_map_fd = bpf_map__fd(map);
	map = bpf_object__find_map_by_name(obj, "weir_steer");
	if (map) {
		uint32_t zero = 0;

		e = bpf_map_update_elem(bpf_map__fd(map), &zero, &priv->steer, 0);
		if (e)
			return weir_port_fail(port, e, "cannot configure steering: %s",
					      strerror(-e));
	} else if (priv->steer.enabled) {
		return weir_port_fail(port, -EINVAL,
				      "udp_port=/ethertype= need weir's program (prog=weir)");
	}
	map = bpf_object__find_map_by_name(obj, "weir_steer_stats");
	priv->stats_map_fd = map ? bpf_map__fd(map) : -1;
	return 0;
}

/* Last lines of the verifier's log: where it stopped and why. */
static const char *log_tail(const char *log, size_t max)
{
	size_t len = strlen(log);
	const char *t;

	if (len <= max)
		return log;
	t = log + len - max;
	while (*t && *t != '\n')
		t++;
	return *t ? t + 1 : log + len - max;
}

/* The verifier's reason: the last log line before its "processed N insns"
 * summary. Cuts the log in place. */
static const char *verifier_reason(char *log)
{
	char *end = log + strlen(log), *start;

	for (;;) {
		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			*--end = '\0';
		start = end;
		while (start > log && start[-1] != '\n')
			start--;
		if (start == log || strncmp(start, "processed ", 10))
			return start;
		end = start;
	}
}

static int attach_own_prog(struct weir_port *port, const char *path, char *notes, size_t nlen)
{
	struct afxdp_priv *priv = port->priv;
	enum xdp_attach_mode mode = priv->mode_req == MODE_SKB ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	int e;

	priv->verifier_log = calloc(1, 1 << 20);
	if (!priv->verifier_log)
		return weir_port_fail(port, -ENOMEM, "out of memory");
	e = load_prog(port, path, mode);
	if (e && !port->err[0] && !priv->verifier_log[0] && priv->mode_req == MODE_AUTO) {
		snprintf(notes, nlen, "native mode: %s", strerror(-e));
		mode = XDP_MODE_SKB;
		e = load_prog(port, path, mode);
	}
	if (!e || port->err[0])
		return e;
	if (priv->verifier_log[0]) {
		WEIR_ERR("%s: the kernel rejected the XDP program; verifier log:\n%s", port->label,
			 log_tail(priv->verifier_log, 3000));
		return weir_port_fail(port, e, "XDP program load failed (verifier log above): %s",
				      verifier_reason(priv->verifier_log));
	}
	return weir_port_fail(port, e, "cannot attach the XDP program in %s mode: %s%s%s%s",
			      mode_name(mode), strerror(-e),
			      mode == XDP_MODE_NATIVE
				      ? " (the driver may lack native XDP: try mode=skb)"
				      : "",
			      lib_msgs && lib_msgs[0] ? "; libxdp said: " : "",
			      lib_msgs && lib_msgs[0] ? lib_msgs : "");
}

static uint16_t next_sock_id(struct umem_share *us)
{
	if (++us->next_id == 0)
		us->next_id = 1;
	return us->next_id;
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
	rxq->sock_id = txq->sock_id = next_sock_id(priv->us);
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
				int r = umem_renew(priv->us);

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
			      lib_msgs && lib_msgs[0] ? "; libxdp said: " : "",
			      lib_msgs && lib_msgs[0] ? lib_msgs : "");
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

static int parse_spec(struct weir_port *port, const struct weir_port_conf *conf)
{
	struct afxdp_priv *priv = port->priv;
	uint64_t nq, sq, bp, fs, udp, et, fill;
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
	    (e = weir_port_arg_u64(port, "fill", 0, 0, 1 << 20, &fill)))
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
	if (priv->steer.enabled && priv->prog_kind == PROG_DEFAULT)
		return weir_port_fail(port, -EINVAL,
				      "udp_port=/ethertype= steer with weir's program: add "
				      "prog=weir");
	priv->nq = (uint16_t)nq;
	priv->start_queue = (uint16_t)sq;
	priv->busy_poll = bp;
	priv->fill = (uint32_t)fill;
	return 0;
}

static void afxdp_close(struct weir_port *port);

static int afxdp_open(struct weir_port *port, const struct weir_port_conf *conf)
{
	struct afxdp_priv *priv = port->priv;
	char notes[256] = "", msgs[4096] = "";
	uint32_t rx_size, fill_size, comp_size, per_q, xdp_flags = 0;
	struct xdp_options opts;
	socklen_t olen = sizeof(opts);
	struct lib_print prev_print;
	int e, devq;

	priv->xsks_map_fd = priv->stats_map_fd = priv->memfd = -1;
	if ((e = parse_spec(port, conf)))
		return e;
	if ((e = weir_port_iface_probe(port, 0, &priv->ifindex)))
		return e;
	devq = dev_queues(port->ifname);
	if (priv->start_queue + priv->nq > devq)
		return weir_port_fail(port, -EINVAL,
				      "queue %u is out of range: %s has %d queue%s (start_queue + "
				      "queues must be <= %d; ethtool -L to add queues)",
				      priv->start_queue + priv->nq - 1, port->ifname, devq,
				      devq == 1 ? "" : "s", devq);
	rx_size = conf->rx_size ? conf->rx_size : XSK_RING_CONS__DEFAULT_NUM_DESCS;
	if (!weir_is_pow2(rx_size) || (conf->tx_size && !weir_is_pow2(conf->tx_size)))
		return weir_port_fail(port, -EINVAL, "ring sizes must be powers of two");
	fill_size = 2 * rx_size;
	/* Buffers kept in the kernel's hands: half the RX ring by default.
	 * The kernel consumes the fill ring in order, so every buffer in it is
	 * written once per lap; the more of them, the colder the one the
	 * kernel's copy (on the sender's CPU, on a veth) writes next. Forwarding
	 * 64-byte frames gen -> dut -> sink on veths, 4096 held buffers gave
	 * 1.60 Mpps at the sink, 2048 1.66, 1024 1.74 (= testpmd, which fills
	 * 1024), 512 1.70 with fill-empty drops. fill=N trades memory touched
	 * for burst tolerance. */
	if (priv->fill && (priv->fill < FILL_BATCH || priv->fill > fill_size))
		return weir_port_fail(port, -EINVAL, "fill=%u: must be %u..%u (2 x the RX ring)",
				      priv->fill, FILL_BATCH, fill_size);
	comp_size = conf->tx_size ? conf->tx_size : XSK_RING_PROD__DEFAULT_NUM_DESCS;
	if ((e = weir_port_alloc_queues(port, priv->nq, priv->nq)))
		return weir_port_fail(port, e, "out of memory");

	lib_msgs = msgs;
	lib_msgs_len = 0;
	prev_print = lib_print_take();
	if ((e = ensure_bpffs(port)))
		goto fail;

	pthread_mutex_lock(&umem_lock);
	priv->us = umem_get(port, fill_size, comp_size, &e);
	if (!priv->us) {
		pthread_mutex_unlock(&umem_lock);
		goto fail;
	}
	per_q = weir_pool_avail(port->pool) / 2 / priv->nq;
	if (per_q < 2 * FILL_BATCH) {
		pthread_mutex_unlock(&umem_lock);
		e = weir_port_fail(port, -ENOBUFS,
				   "pool '%s' has %u free packets: too few to keep %u RX queue%s "
				   "filled (needs %u)",
				   port->pool->name, weir_pool_avail(port->pool), priv->nq,
				   priv->nq == 1 ? "" : "s", 4u * FILL_BATCH * priv->nq);
		goto fail;
	}
	if (priv->prog_kind != PROG_DEFAULT) {
		e = attach_own_prog(port, priv->prog_kind == PROG_PATH ? weir_port_arg(port, "prog")
								       : NULL,
				    notes, sizeof(notes));
		if (e) {
			pthread_mutex_unlock(&umem_lock);
			goto fail;
		}
	}
	e = first_socket(port, conf, notes, sizeof(notes), &xdp_flags);
	if (e) {
		pthread_mutex_unlock(&umem_lock);
		e = explain_socket_error(port, e, 0);
		goto fail;
	}
	for (uint16_t i = 1; i < priv->nq; i++) {
		e = create_socket(port, conf, i, xdp_flags,
				  XDP_USE_NEED_WAKEUP | (priv->got_sg ? XDP_USE_SG : 0));
		if (e) {
			pthread_mutex_unlock(&umem_lock);
			e = explain_socket_error(port, e, i);
			goto fail;
		}
	}
	pthread_mutex_unlock(&umem_lock);

	if (!getsockopt(xsk_socket__fd(priv->xsk[0]), SOL_XDP, XDP_OPTIONS, &opts, &olen))
		priv->got_zc = opts.flags & XDP_OPTIONS_ZEROCOPY;
	if (!priv->prog)
		priv->got_mode = attached_mode(priv->ifindex);
	if (priv->zc_req == TRI_ON && !priv->got_zc) {
		e = weir_port_fail(port, -EOPNOTSUPP, "zerocopy=on cannot be had: %s",
				   zc_reason(priv));
		goto fail;
	}
	for (uint16_t i = 0; i < priv->nq; i++) {
		struct afxdp_rxq *rxq = (struct afxdp_rxq *)port->fp.rxq[i];
		struct afxdp_txq *txq = (struct afxdp_txq *)port->fp.txq[i];

		if (priv->prog) {
			e = xsk_socket__update_xskmap(priv->xsk[i], priv->xsks_map_fd);
			if (e) {
				e = weir_port_fail(port, e, "cannot add queue %u to xsks_map: %s",
						   priv->start_queue + i, strerror(-e));
				goto fail;
			}
		}
		if (priv->busy_poll && (e = set_busy_poll(port, rxq->fd)))
			goto fail;
		rxq->pool = txq->pool = port->pool;
		rxq->owner = txq->owner = priv->us->owner;
		rxq->busy_poll = txq->busy_poll = priv->busy_poll;
		rxq->csum_fix = priv->csum_fix;
		txq->sg = priv->got_sg;
		rxq->fill_target = WEIR_MIN(priv->fill ? priv->fill : rx_size / 2, per_q) &
				   ~(uint32_t)(FILL_BATCH - 1);
		refill(rxq);
	}
	lib_msgs = NULL;
	lib_print_give_back(prev_print);
	{
		uint32_t room = port->pool->buf_size - port->pool->headroom - XDP_HEADROOM;

		WEIR_INFO("%s: %u queue%s (%u..%u), %s mode, %s%s%s%s, need_wakeup on, busy poll "
			  "%s, multi-buffer %s (%s%u B%s), program %s%s, UMEM %s, "
			  "%u-byte frames, data at offset %u%s%s",
			  port->label, priv->nq, priv->nq == 1 ? "" : "s", priv->start_queue,
			  priv->start_queue + priv->nq - 1, mode_name(priv->got_mode),
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
			  notes[0] ? "; fell back: " : "", notes);
	}
	return 0;

fail:
	lib_msgs = NULL;
	if (msgs[0])
		WEIR_DEBUG("%s: libbpf/libxdp said: %s", port->label, msgs);
	afxdp_close(port);
	lib_print_give_back(prev_print);
	return e;
}

static void afxdp_close(struct weir_port *port)
{
	struct afxdp_priv *priv = port->priv;
	struct lib_print prev_print;

	if (!priv)
		return;
	prev_print = lib_print_take();
	/* Detach first: no frame is redirected into a socket being torn down. */
	if (priv->prog) {
		xdp_program__detach(priv->prog, priv->ifindex, priv->got_mode, 0);
		xdp_program__close(priv->prog);
		priv->prog = NULL;
	}
	if (priv->us)
		pthread_mutex_lock(&umem_lock);
	for (uint16_t i = 0; i < priv->nq && i < MAX_QUEUES; i++) {
		struct afxdp_rxq *rxq;

		if (!priv->xsk[i])
			continue;
		rxq = (struct afxdp_rxq *)port->fp.rxq[i];
		xsk_socket__delete(priv->xsk[i]);
		priv->xsk[i] = NULL;
		umem_reclaim(priv->us, rxq->sock_id);
	}
	if (priv->us) {
		umem_put(priv->us);
		priv->us = NULL;
		pthread_mutex_unlock(&umem_lock);
	}
	if (priv->memfd >= 0)
		close(priv->memfd);
	priv->memfd = -1;
	free(priv->verifier_log);
	priv->verifier_log = NULL;
	lib_print_give_back(prev_print);
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
	{"csum", "fix: complete the partial checksums a Linux sender with tx-checksumming "
		 "leaves (AF_XDP carries no checksum metadata); keep: pass frames as they "
		 "arrive (default fix)", "fix|keep"},
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
};

WEIR_PORT_DRIVER_REGISTER(afxdp_driver)
