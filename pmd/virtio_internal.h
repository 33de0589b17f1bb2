/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio: weir as the driver (guest) side of virtio-net, talking vhost-user
 * to a backend over a unix socket (as DPDK's virtio-user does). What the
 * driver's files share: the vhost-user messages (virtio_vhost.c), the
 * split virtqueue (virtio_split.c), the RX/TX bursts (virtio_rxtx.c) and
 * the port glue (virtio.c).
 *
 * Trust: the backend maps the pool's data area and the rings, nothing
 * else. It may write anything there at any time, so nothing weir keeps
 * for itself lives in shared memory: which descriptor holds which packet,
 * the free lists, the chain links are private shadows, and every index,
 * id and length read from a used ring is checked against them before use.
 * A backend that breaks the rules gets the port marked dead with a
 * message saying what it did.
 */
#ifndef WEIR_PMD_VIRTIO_INTERNAL_H
#define WEIR_PMD_VIRTIO_INTERNAL_H

#include <pthread.h>
#include <endian.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "weir/pkt.h"
#include "weir/port_driver.h"

/* --- virtio feature bits (virtio 1.2 §5.1.3, §6) ----------------------- */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_RING_F_EVENT_IDX 29
#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_F_IN_ORDER 35

#define VT_BIT(b) (1ULL << (b))

/* vhost-user protocol feature bits (vhost-user.rst). */
#define VHOST_USER_PROTOCOL_F_MQ 0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15

/* --- vhost-user messages ----------------------------------------------- */
enum vhu_request {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
	VHU_GET_MAX_MEM_SLOTS = 36,
	VHU_ADD_MEM_REG = 37,
};

#define VHU_VERSION 0x1
#define VHU_FLAG_REPLY (1u << 2)
#define VHU_FLAG_NEED_REPLY (1u << 3)
#define VHU_MAX_REGIONS 8
#define VHU_VRING_NOFD (1u << 8) /* SET_VRING_KICK/CALL: no fd passed */

struct vhu_region {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
};

struct vhu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vhu_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* of the payload */
	union {
		uint64_t u64;
		struct {
			uint32_t index;
			uint32_t num;
		} state;
		struct vhu_vring_addr addr;
		struct {
			uint32_t nregions;
			uint32_t pad;
			struct vhu_region regions[VHU_MAX_REGIONS];
		} mem;
		struct {
			uint64_t pad;
			struct vhu_region region;
		} mem_reg;
	} p;
} __attribute__((packed));

#define VHU_HDR_SIZE 12u
static_assert(offsetof(struct vhu_msg, p) == VHU_HDR_SIZE, "vhost-user header is 12 bytes");

/* One shareable area: an fd the backend maps and where weir has it. */
struct vt_area {
	int fd;
	void *addr;
	uint64_t len;
};

/* A vhost-user connection (the front-end side). */
struct vhu_conn {
	int fd;
	int lfd; /* server: the listening socket, kept for reconnects; else -1 */
	uint64_t protocol_features;
	bool reply_ack;
	char err[160]; /* the last problem, for the caller's message */
};

/*
 * The messages (virtio_vhost.c). Each returns 0 or a negative errno with
 * c->err saying what went wrong (-EPROTO: the backend's reply broke the
 * protocol; -ECONNRESET: it closed the connection). Control thread.
 */
/* Connects to path, or (server) listens there (once; the socket stays
 * for reconnects) and accepts one backend within timeout_ms (-1: no
 * limit). stop_fd >= 0 readable: gives up with -ECANCELED. */
int vhu_connect(struct vhu_conn *c, const char *path, bool server, int timeout_ms, int stop_fd);
/* Closes the connection (a server keeps listening). */
void vhu_close(struct vhu_conn *c);
/* A server stops listening and removes its socket. */
void vhu_unlisten(struct vhu_conn *c, const char *path);
int vhu_get_u64(struct vhu_conn *c, enum vhu_request req, uint64_t *out);
int vhu_set_u64(struct vhu_conn *c, enum vhu_request req, uint64_t v);
int vhu_set_owner(struct vhu_conn *c);
int vhu_set_state(struct vhu_conn *c, enum vhu_request req, uint32_t index, uint32_t num);
int vhu_get_vring_base(struct vhu_conn *c, uint32_t index, uint32_t *num);
int vhu_set_vring_addr(struct vhu_conn *c, const struct vhu_vring_addr *a);
int vhu_set_vring_fd(struct vhu_conn *c, enum vhu_request req, uint32_t index, int fd);
/* The areas as the backend's memory: SET_MEM_TABLE, or one ADD_MEM_REG
 * each when CONFIGURE_MEM_SLOTS was negotiated (no 8-region limit). */
int vhu_set_mem(struct vhu_conn *c, const struct vt_area *areas, int n);

/*
 * Checks a reply the backend sent to req (hdr: the 12 header bytes, then
 * size payload bytes already read into payload): version and reply flags,
 * the request it answers, the payload size want (8 for a u64). 0 or
 * -EPROTO with err (errlen bytes) saying what was wrong. Pure: the fuzz
 * target calls it on arbitrary bytes.
 */
int vhu_reply_check(const uint8_t *hdr, uint32_t req, uint32_t want, char *err, size_t errlen);

/* --- split virtqueue (virtio 1.2 §2.7) --------------------------------- */
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

/* The virtio-net header with VERSION_1 (§5.1.6): 12 bytes, little-endian. */
struct vt_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
#define VT_HDR_SIZE 12u
static_assert(sizeof(struct vt_net_hdr) == VT_HDR_SIZE, "virtio_net_hdr_v1 is 12 bytes");
#define VT_HDR_F_NEEDS_CSUM 1
#define VT_HDR_F_DATA_VALID 2

/*
 * One split virtqueue: the shared rings (desc, avail, used) in the port's
 * ring area, and the driver's private view of them.
 */
struct vt_split {
	struct vring_desc *desc;
	uint16_t *avail_flags, *avail_idx, *avail_ring, *used_event;
	uint16_t *used_flags, *used_idx, *avail_event;
	struct vring_used_elem *used_ring;
	uint16_t size; /* power of two */
	uint16_t mask;
	uint16_t avail_shadow; /* next avail idx to publish (ours) */
	uint16_t kicked_at;    /* avail idx at the last kick decision */
	uint16_t last_used;    /* next used entry to read */
	bool event_idx;
};

/* Bytes of the three rings of a queue of size n, each part page-aligned. */
size_t vt_split_bytes(uint16_t n);
/* Lays the rings of size n out in mem (vt_split_bytes(n) zeroed bytes). */
void vt_split_init(struct vt_split *vq, void *mem, uint16_t n, bool event_idx);
/* Where the backend finds the rings (addresses in weir's space). */
void vt_split_addrs(const struct vt_split *vq, struct vhu_vring_addr *a);

/* Publishes descriptor head id in the next avail slot (not yet visible).
 * A slot that already holds head is not written again: with in-order
 * descriptors it usually does (the ring starts as 0..n-1), and a line
 * weir leaves alone stays in the device's cache. */
static inline void vt_split_avail_add(struct vt_split *vq, uint16_t head)
{
	uint16_t *slot = &vq->avail_ring[vq->avail_shadow & vq->mask];

	if (*slot != head)
		*slot = head;
	vq->avail_shadow++;
}

/* Makes the avail slots added so far visible to the device: a release
 * store of avail->idx, pairing with the device's acquire of it (its read
 * of the descriptors follows, so they must be written first). Returns
 * true when the device asked to be kicked for them. */
bool vt_split_publish(struct vt_split *vq);

/* Used entries the device has added and the driver not read, or -1 when
 * the used index is more than the ring size ahead (a broken backend).
 * An acquire load: entries read after it are the device's complete ones. */
static inline int vt_split_used_avail(const struct vt_split *vq)
{
	uint16_t idx = __atomic_load_n(vq->used_idx, __ATOMIC_ACQUIRE);
	uint16_t n = (uint16_t)(idx - vq->last_used);

	return n > vq->size ? -1 : n;
}

/* Entry i (0 = the next unread) of the used ring, copied out once: the
 * device may change it under us, so callers check the copy only. */
static inline struct vring_used_elem vt_split_used_get(const struct vt_split *vq, uint16_t i)
{
	const struct vring_used_elem *e = &vq->used_ring[(uint16_t)(vq->last_used + i) & vq->mask];
	struct vring_used_elem c;

	c.id = __atomic_load_n(&e->id, __ATOMIC_RELAXED);
	c.len = __atomic_load_n(&e->len, __ATOMIC_RELAXED);
	return c;
}

/* Asks for an interrupt (a write to the call eventfd) when the next used
 * entry arrives; returns true when one came meanwhile (read used again). */
bool vt_split_arm(struct vt_split *vq);

/* --- packed virtqueue (virtio 1.2 §2.8) -------------------------------- */
#define VRING_PACKED_DESC_F_AVAIL (1u << 7)
#define VRING_PACKED_DESC_F_USED (1u << 15)
#define VRING_PACKED_EVENT_ENABLE 0
#define VRING_PACKED_EVENT_DISABLE 1
#define VRING_PACKED_EVENT_DESC 2

struct vring_packed_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

struct vring_packed_event {
	uint16_t off_wrap;
	uint16_t flags;
};

/* One buffer of a chain, as a descriptor names it. */
struct vt_seg {
	uint64_t addr;
	uint32_t len;
};

struct vt_packed {
	struct vring_packed_desc *desc;
	struct vring_packed_event *driver; /* weir writes: when to interrupt */
	struct vring_packed_event *device; /* the device writes: when to kick */
	uint16_t size;
	uint16_t next_avail, next_used; /* ring positions */
	uint16_t nfree;                 /* positions weir may fill */
	uint16_t added;                 /* made available since the last publish */
	uint16_t held_flags;            /* what held's flags become at publish */
	struct vring_packed_desc *held; /* the batch's first descriptor, or NULL */
	bool avail_wrap, used_wrap;
	bool event_idx;
};

size_t vt_packed_bytes(uint16_t n);
/* Lays the ring of size n out in mem (vt_packed_bytes(n) zeroed bytes). */
void vt_packed_init(struct vt_packed *pq, void *mem, uint16_t n, bool event_idx);
void vt_packed_addrs(const struct vt_packed *pq, struct vhu_vring_addr *a);
/*
 * Adding and publishing. The descriptors added between two publishes are
 * one batch: every one is written in full except the batch's first
 * descriptor's flags, which vt_packed_publish writes last with one
 * release store (§2.8.6 allows a batch made available by its first
 * descriptor's flags, as for a chain's head). A device polling the ring
 * waits at that first descriptor, so it does not pull each line of the
 * ring back while weir is still writing the next descriptor in it (four
 * descriptors share a line); it then finds the whole batch at once.
 */
/* Writes the chain segs[0..k-1] as buffer id (k <= nfree); available
 * at the next vt_packed_publish. */
void vt_packed_add(struct vt_packed *pq, const struct vt_seg *segs, uint16_t k, uint16_t id,
		   bool write);
/* vt_packed_add for one descriptor, inline (the fast paths' case). */
static inline void vt_packed_add_one(struct vt_packed *pq, uint64_t addr, uint32_t len,
				     uint16_t id, uint16_t write)
{
	struct vring_packed_desc *d = &pq->desc[pq->next_avail];
	uint16_t f = (uint16_t)((pq->avail_wrap ? VRING_PACKED_DESC_F_AVAIL
						: VRING_PACKED_DESC_F_USED) | write);

	d->addr = addr;
	d->len = len;
	d->id = id;
	/* Relaxed: the device reads this descriptor only after the batch's
	 * first one, whose flags vt_packed_publish stores with release after
	 * everything written here. */
	if (pq->held) {
		__atomic_store_n(&d->flags, f, __ATOMIC_RELAXED);
	} else {
		pq->held = d;
		pq->held_flags = f;
	}
	if (++pq->next_avail == pq->size) {
		pq->next_avail = 0;
		pq->avail_wrap = !pq->avail_wrap;
	}
	pq->nfree--;
	pq->added++;
}

/* Makes the batch added since the last call available (the release
 * store of its first descriptor's flags, pairing with the device's
 * acquire of them); true when the device asked to be kicked for it. */
bool vt_packed_publish(struct vt_packed *pq);
/* The used descriptor at pos (when the device has written one there for
 * wrap counter wrap): true with *out copied out once, or false. Inline:
 * the bursts test one per frame. */
static inline bool vt_packed_used_at(const struct vt_packed *pq, uint16_t pos, bool wrap,
				     struct vring_used_elem *out)
{
	const struct vring_packed_desc *d = &pq->desc[pos];
	/* Acquire: id and len are read after the flags that say they are
	 * the device's (it writes them before the flags, with a barrier). */
	uint16_t f = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
	bool avail = f & VRING_PACKED_DESC_F_AVAIL, used = f & VRING_PACKED_DESC_F_USED;

	if (avail != used || used != wrap)
		return false;
	out->id = __atomic_load_n(&d->id, __ATOMIC_RELAXED);
	out->len = __atomic_load_n(&d->len, __ATOMIC_RELAXED);
	return true;
}

/* Moves a ring position k places on, flipping its wrap counter past the end. */
static inline void vt_packed_step(uint16_t size, uint16_t *pos, bool *wrap, uint16_t k)
{
	uint32_t p = (uint32_t)*pos + k;

	if (p >= size) {
		p -= size;
		*wrap = !*wrap;
	}
	*pos = (uint16_t)p;
}
/* Asks for an interrupt for the next used descriptor; true when one is
 * there already. */
bool vt_packed_arm(struct vt_packed *pq);
void vt_packed_disarm(struct vt_packed *pq);

/* --- queues and the port ----------------------------------------------- */

#define VT_MAX_QUEUES 16

/*
 * How a reconnect (virtio_ctl.c) gets a queue to itself: a burst sets busy
 * and then reads pause; the control thread sets pause and then waits for
 * busy to clear. Both sides are seq_cst (Dekker): either the burst sees
 * pause and backs out, or the control thread sees busy and waits. pause is
 * NULL on a port without reconnect: then nothing is paid.
 */
struct vt_guard {
	_Atomic bool *pause;
	_Atomic bool busy;
};

static inline bool vt_guard_enter(struct vt_guard *g)
{
	if (!g->pause)
		return true;
	atomic_store_explicit(&g->busy, true, memory_order_seq_cst);
	if (weir_unlikely(atomic_load_explicit(g->pause, memory_order_seq_cst))) {
		atomic_store_explicit(&g->busy, false, memory_order_release);
		return false;
	}
	return true;
}

/* Release: what the burst did to the queue is visible to the control
 * thread once it sees busy clear. */
static inline void vt_guard_exit(struct vt_guard *g)
{
	if (g->pause)
		atomic_store_explicit(&g->busy, false, memory_order_release);
}

struct vt_rxq {
	struct weir_rxq q;
	struct vt_guard guard;
	uint16_t size; /* descriptors (split) or ring positions (packed) */
	bool packed;
	struct vt_split vq;
	struct vt_packed pq; /* packed: the ring (vq unused) */
	struct weir_pool *pool;
	struct weir_pkt **slot; /* slot[desc id]: the packet the device may fill */
	uint16_t *free_ids;     /* private stack of descriptor ids not posted */
	uint16_t nfree;
	uint16_t refill_at; /* refill once this many are free */
	uint16_t hdr_size;
	bool mrg;        /* MRG_RXBUF: a frame may span buffers */
	bool in_order;   /* IN_ORDER: buffers posted and used in ring order */
	bool guest_csum; /* the header's csum fields mean something */
	bool armed;      /* asked for an interrupt on the last empty poll */
	int call_fd;     /* the device's interrupts for this queue (wait_fd) */
	int kick_fd;
	int sock_fd;     /* the vhost-user connection, watched for its end */
	int conn_fd;     /* the connection, hung up when the backend breaks a rule */
	uint32_t idle_polls;
	uint32_t buf_room; /* bytes a posted buffer offers, header included */
	uint64_t bad_len, csum_partial, chained, refill_fail, kicks;
};

/* What a TX descriptor head carries: the packet, how many descriptors. */
struct vt_tx_slot {
	struct weir_pkt *pkt;
	uint16_t ndesc;
	uint16_t last; /* last descriptor of the chain (its private next) */
	/* Sent by the fast loop (vt_tx_simple: one segment of the queue's
	 * pool, weir's alone): done, it goes straight back to the pool. */
	bool simple;
};

struct vt_txq {
	struct weir_txq q;
	struct vt_guard guard;
	uint16_t size;
	bool packed;
	struct vt_split vq;
	struct vt_packed pq;  /* packed: the ring (vq unused) */
	uint16_t *free_ids;   /* packed: buffer ids not in flight */
	uint16_t nids;
	struct weir_pool *pool;
	struct vt_tx_slot *slot;  /* by head id */
	uint16_t *next;           /* private chain links */
	struct vt_net_hdr *hdrs;  /* one header per descriptor, in shared memory */
	uint16_t free_head, nfree;
	uint16_t hdr_size;
	bool csum; /* the device completes partial checksums */
	bool in_order; /* IN_ORDER: descriptors taken and used in ring order */
	uint16_t reap_head; /* in order: the oldest chain in flight (its head) */
	bool gso;  /* the device segments TCP super-frames */
	int kick_fd;
	int call_fd;
	int sock_fd;
	int conn_fd;
	uint32_t full_polls;
	uint64_t kicks, copied, hdr_desc, csum_completed, too_big, full;
};

struct vt_priv {
	struct vhu_conn conn;
	struct vt_area rings; /* all queues' rings and TX headers */
	uint64_t features;    /* negotiated */
	uint16_t nq;
	uint16_t qsize;
	bool mrg, packed, server;
	bool in_order;        /* ask for VIRTIO_F_IN_ORDER (in_order=1, the default) */
	bool event_idx, csum; /* ask for EVENT_IDX, the checksum offloads (default 1) */
	bool reconnect;       /* a lost backend is waited for, not fatal */
	char path[108];
	/* reconnect (virtio_ctl.c): its thread, its stop eventfd, the pause
	 * flag the queues' guards read, and what it counted (its writes). */
	int stop_fd;
	bool ctl_started;
	pthread_t ctl;
	_Atomic bool pause;
	uint64_t reconnects, rx_reposted, tx_lost;
};

/* The vhost-user session on a fresh connection: features, memory table,
 * every vring (RX buffers posted first), enabled. The first also creates
 * the ring area and the queues; a later one (reconnect) needs the same
 * features and reuses them. 0 or -errno with the port's message. */
int vt_session(struct weir_port *port, bool first);
/* Starts the reconnect thread (priv->reconnect): 0 or -errno. */
int vt_ctl_start(struct weir_port *port);
/* Stops it (close): no reconnect is under way once this returns. */
void vt_ctl_stop(struct weir_port *port);

/* --- rxtx (virtio_rxtx.c) ----------------------------------------------- */
#define VT_RX_REFILL_BATCH 32
/* Idle polls (RX empty, TX ring full) between looks at the connection. */
#define VT_SOCK_CHECK_POLLS 4096
/* True (port marked dead, said why) when the backend closed the
 * vhost-user connection: a ring that stops moving looks like that. */
bool vt_conn_lost(struct weir_port *port, int sock_fd);
uint16_t vt_rx_burst(struct weir_rxq *rxq, struct weir_pkt **pkts, uint16_t n);
uint16_t vt_tx_burst(struct weir_txq *txq, struct weir_pkt **pkts, uint16_t n);
uint16_t vt_tx_done(struct weir_txq *txq);
/* Posts RX buffers until the ring is full or the pool empty; returns how
 * many. Publishes them and kicks when the device asks. */
uint16_t vt_rx_refill(struct vt_rxq *q);
/* Frees every packet the queues still hold (posted, in flight). */
void vt_rxq_release(struct vt_rxq *q);
void vt_txq_release(struct vt_txq *q);
/* A queue as new (empty rings, nothing posted or in flight) for a new
 * backend; returns the buffers it gave back to the pool (RX: posted; TX:
 * in flight, which count as dropped and completed). The caller owns the
 * queue (paused). */
uint32_t vt_rxq_reset(struct vt_rxq *q);
uint32_t vt_txq_reset(struct vt_txq *q);
/* Frames the device has not finished (TX descriptors/ids out). */
uint16_t vt_txq_in_flight(const struct vt_txq *q);
/* Sets the private state of a queue whose rings are at mem (zeroed,
 * vt_split_bytes(size)): 0 or -ENOMEM. For the port and the fuzz target. */
int vt_rxq_init(struct vt_rxq *q, void *mem, uint16_t size, struct weir_pool *pool, bool mrg,
		bool event_idx, bool packed);
int vt_txq_init(struct vt_txq *q, void *mem, struct vt_net_hdr *hdrs, uint16_t size,
		struct weir_pool *pool, bool event_idx, bool packed);
/* Bytes of one ring of size n in either layout. */
size_t vt_ring_bytes(uint16_t n, bool packed);

/* Shared by the split and packed bursts (virtio_rxtx.c). */
void vt_kick(int fd, uint64_t *ctr);
void vt_drain(int fd);
struct weir_pkt *vt_rx_take(struct vt_rxq *q, struct vring_used_elem e, bool head);
void vt_rx_offloads(struct vt_rxq *q, struct weir_pkt *p, const struct vt_net_hdr *h);
/* After a receive burst: counters, interrupt request when nothing came,
 * refill. */
void vt_rx_finish(struct vt_rxq *q, uint16_t got, uint64_t bytes);
bool vt_tx_needs_prepare(const struct vt_txq *q, const struct weir_pkt *p);
struct weir_pkt *vt_tx_prepare(struct vt_txq *q, struct weir_pkt *p);
void vt_hdr_fill(const struct vt_txq *q, const struct weir_pkt *p, struct vt_net_hdr *h);

/* The common TX packet: one segment of the queue's pool, weir's alone
 * (so the header goes in its headroom), no offload to describe. It takes
 * one descriptor and a zeroed header, without vt_tx_prepare's checks. */
static inline bool vt_tx_simple(const struct vt_txq *q, const struct weir_pkt *p)
{
	/* !flags: a buffer of the pool itself (not external, a clone's, or a
	 * DPDK mbuf's with its weir_pkt embedded, whose pool is only where
	 * its copies come from). */
	return p->nb_segs == 1 && p->pool == q->pool && !p->flags &&
	       !(p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) && !weir_pkt_is_gso(p) &&
	       p->data_off >= VT_HDR_SIZE && weir_pkt_refcnt(p) == 1;
}

/* Asks for the line at p in a writable state, ahead of the stores to it:
 * the lines a TX burst writes (descriptors, the headers in headroom) were
 * last read by the device on its CPU, and a store to each would wait for
 * that copy's invalidation in turn, the store buffer filling behind it;
 * asked for together, the waits overlap. x86's PREFETCHW (a NOP where
 * unsupported) needs no -march; elsewhere the compiler's write prefetch. */
static inline void vt_prefetch_w(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

/* Prefetches for writing the headroom lines of pkts[0..n-1] and the ring
 * lines of descriptors first..first+n-1 (16 bytes each, wrapping at
 * size, a power of two; desc line-aligned). Nothing for n == 0. */
static inline void vt_tx_prefetch(struct weir_pkt *const *pkts, uint16_t n, const void *desc,
				  uint16_t first, uint16_t size)
{
	const uint8_t *d = desc;

	if (!n)
		return;
	for (uint16_t i = 0; i < n; i++)
		vt_prefetch_w(weir_pkt_data(pkts[i]) - VT_HDR_SIZE);
	for (uint32_t l = first / 4u; l <= (first + n - 1u) / 4u; l++)
		vt_prefetch_w(d + ((l * 64u) & (size * 16u - 1)));
}

/* Where a simple packet's header goes, zeroed (no flags, no GSO). */
static inline struct vt_net_hdr *vt_tx_simple_hdr(struct weir_pkt *p)
{
	struct vt_net_hdr *h = (struct vt_net_hdr *)(void *)(weir_pkt_data(p) - VT_HDR_SIZE);

	memset(h, 0, sizeof(*h));
	return h;
}

/*
 * The common received frame, for the bursts' fast loops: used entry (id,
 * len) names a buffer the device holds, its length fits that buffer, and
 * the frame is that one buffer (num_buffers 1 when mergeable). Then the
 * packet, taken from its slot with its lengths, port and queue set and
 * its checksum word read when GUEST_CSUM was negotiated; else NULL with
 * nothing changed, and the general path takes the frame (a chain) or says
 * what was wrong with it. The caller checks the ring order (in order).
 */
static inline struct weir_pkt *vt_rx_simple(struct vt_rxq *q, uint32_t id, uint32_t len)
{
	struct weir_pkt *p;
	uint16_t nbufs;

	if (id >= q->size || !(p = q->slot[id]) || len < q->hdr_size || len > q->buf_room)
		return NULL;
	if (q->mrg) {
		/* num_buffers, the header's last field: one read of it. */
		memcpy(&nbufs, weir_pkt_data(p) - sizeof(nbufs), sizeof(nbufs));
		if (le16toh(nbufs) != 1)
			return NULL;
	}
	q->slot[id] = NULL;
	if (!q->in_order)
		q->free_ids[q->nfree] = (uint16_t)id;
	q->nfree++;
	p->data_len = (uint16_t)(len - q->hdr_size);
	p->pkt_len = p->data_len;
	p->port = q->q.port->id;
	p->queue = q->q.id;
	if (q->guest_csum) {
		struct vt_net_hdr h;

		memcpy(&h, weir_pkt_data(p) - VT_HDR_SIZE, sizeof(h));
		if (h.flags)
			vt_rx_offloads(q, p, &h);
	}
	return p;
}

/* In order (VIRTIO_F_IN_ORDER), used id must be want (the next buffer
 * in ring order): else the port is marked dead, false. */
bool vt_rx_in_order_ok(struct vt_rxq *q, uint32_t id, uint16_t want);

/* Completed TX packets, freed in bulk and counted once per reap. The
 * fast loop's frames (slot.simple) are the pool's own, one segment, with
 * the one reference the application handed over: they need none of
 * weir_pkt_free_bulk's per-packet tests (references, external buffers,
 * chains, pools) and go back with one weir_pool_put_bulk per batch; the
 * others are freed the general way. */
#define VT_REAP_BATCH 64
struct vt_reap {
	struct weir_pkt *pkts[VT_REAP_BATCH]; /* general */
	struct weir_pkt *fast[VT_REAP_BATCH]; /* slot.simple: pool's own */
	struct weir_pool *pool;
	uint16_t n, nfast, done;
	uint64_t bytes;
};
static inline void vt_reap_init(const struct vt_txq *q, struct vt_reap *r)
{
	r->pool = q->pool;
	r->n = r->nfast = r->done = 0;
	r->bytes = 0;
}
static inline void vt_reap_add(struct vt_reap *r, const struct vt_tx_slot *s)
{
	struct weir_pkt *p = s->pkt;

	r->bytes += p->pkt_len;
	r->done++;
	if (weir_likely(s->simple)) {
		r->fast[r->nfast++] = p;
		if (r->nfast == VT_REAP_BATCH) {
			weir_pool_put_bulk(r->pool, r->fast, r->nfast);
			r->nfast = 0;
		}
		return;
	}
	r->pkts[r->n++] = p;
	if (r->n == VT_REAP_BATCH) {
		weir_pkt_free_bulk(r->pkts, r->n);
		r->n = 0;
	}
}
/* Frees what is left, adds the counters; returns the packets done. */
uint16_t vt_reap_end(struct vt_txq *q, struct vt_reap *r);

/* The packed bursts (virtio_rxtx_packed.c), called by the vt_ ones. */
uint16_t vt_rx_burst_packed(struct vt_rxq *q, struct weir_pkt **pkts, uint16_t n);
uint16_t vt_rx_refill_packed(struct vt_rxq *q);
uint16_t vt_tx_burst_packed(struct vt_txq *q, struct weir_pkt **pkts, uint16_t n);
uint16_t vt_tx_reap_packed(struct vt_txq *q);

/* Ends the connection from the data path: shutdown(2), which another
 * thread polling or using the fd survives (close waits for the port). */
void vt_hangup(int conn_fd);

/* The device broke the ring's rules: say what, once (the port dies), and
 * hang up on it, so it stops using weir's memory. */
#define vt_broken(q, fmt, ...)                                                           \
	do {                                                                             \
		weir_port_died((q)->q.port,                                              \
			       "the vhost-user backend broke the virtio ring (queue %u): " fmt \
			       "; disconnected: restart the backend and reopen the port",    \
			       (q)->q.id, __VA_ARGS__);                                  \
		vt_hangup((q)->conn_fd);                                                 \
	} while (0)

#endif
