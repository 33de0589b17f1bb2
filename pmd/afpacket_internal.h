/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the files of the afpacket driver share: the queue and ring
 * structures, and the few calls one file makes into another. afpacket.c
 * is the control path (sockets, rings, options, statistics) with the ops
 * table and registration; afpacket_rx.c the receive ring; afpacket_tx.c
 * the transmit ring. The cross-file names are afp_*, never weir_*: libweir
 * exports weir_* only.
 */
#ifndef WEIR_PMD_AFPACKET_INTERNAL_H
#define WEIR_PMD_AFPACKET_INTERNAL_H

#include <linux/if_packet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>

#include "weir/clock.h"
#include "weir/pkt.h"
#include "weir/port_driver.h"

#define AFP_MAX_QUEUES 64
#define AFP_CHECK_EVERY 1024 /* empty polls between two socket error checks */
#define AFP_VLAN_HLEN 4
/* What weir_port_died says when the interface is gone. */
#define AFP_VANISHED                                                                   \
	"the interface vanished (deleted, or moved to another namespace); port stopped "  \
	"(bursts return 0, close it)"

/* Data of a TX frame starts right after the aligned tpacket2_hdr (the
 * kernel's tp_hdrlen - sizeof(struct sockaddr_ll)). */
#define AFP_TX_DATA_OFF TPACKET_ALIGN(sizeof(struct tpacket2_hdr))

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

/* The wake ring (afpacket_wake.c): a TPACKET_V2 socket fanned out with the
 * block ring by an eBPF program that reads *sel and counts the frames it
 * sends each socket. */
#define AFP_WAKE_ARM_EMPTY 256 /* empty polls before frames go to the wake ring */
#define AFP_WAKE_BUSY 16      /* frames waiting in it that send them back */
#define AFP_WAKE_LIGHT 32     /* ... or frames taken from it within a window */
#define AFP_WAKE_WINDOW_NS 1000000
#define AFP_WAKE_PROGS 2 /* the fanout program, a drop-all filter for the setup */
#define AFP_WAKE_RING_BYTES (4u << 20) /* the wake ring's slots, together */
/* The programs' map value, shared with the kernel: what the kernel writes
 * per frame on a line of its own. */
struct afp_wake_ctl {
	uint32_t sel;   /* fanout member for new frames: 0 blocks, 1 wake ring */
	uint32_t sent;  /* frames the program sent the wake socket */
	uint32_t done;  /* of those, read (or dropped by the kernel) */
	uint32_t ready; /* 0 until the group is made: nothing counted, nothing lands */
	uint32_t pad0[12];
	uint32_t blk;    /* frames the program sent the block socket */
	uint32_t blk_ok; /* blk when the driver last found every one of them read */
	uint32_t pad1[14];
};
static_assert(sizeof(struct afp_wake_ctl) == 128, "two cache lines");
static_assert(offsetof(struct afp_wake_ctl, blk) == 64, "the kernel's line");
struct afp_wake {
	int fd, epfd, map_fd;
	int prog_fd[AFP_WAKE_PROGS];
	struct afp_wake_ctl *ctl; /* in ctl_map */
	void *ctl_map;
	uint8_t *map;   /* the ring */
	size_t map_len;
	uint32_t frame_size, slots, head;
	uint32_t blk_ok; /* the block count up to which every frame was read */
	bool holding; /* wake-ring frames wait for older ones in the blocks */
	bool broken;  /* the wake ring is stuck: never armed again */
	uint32_t dropped_at; /* ctl->done + 1 after the last drops seen, 0: none */
	uint32_t light_n;    /* frames taken from the wake ring since light_t0 */
	weir_ns_t light_t0;
	uint64_t pkts, arms, slips, drops; /* xstats */
};
struct afp_rxq {
	struct weir_rxq q;
	struct afp_ring *ring;
	struct afp_wake *wake; /* NULL: none (more than one queue, or refused) */
	struct weir_pool *pool;
	uint32_t cur;        /* block to read */
	uint32_t left;       /* packets left in the open block, 0: none open */
	uint8_t *next;       /* next frame in the open block */
	uint8_t *end;        /* the open block's end: no frame is read past it */
	bool copy;           /* the open block is being copied */
	uint32_t copy_above; /* copy when more blocks than this are held */
	uint32_t empty;      /* consecutive empty polls */
	uint64_t seq;        /* the kernel's number of the last block opened */
	int ifindex;
	bool warned_down;
	bool warned_stall;
	bool warned_gso;
	bool warned_trunc;
	bool bad_said;
	bool vnet; /* frames carry a virtio_net_hdr (PACKET_VNET_HDR) */
	uint32_t ext_spare; /* references on the open block taken ahead, not yet attached */
	/* xstats */
	uint64_t zc_pkts, copy_pkts, copy_blocks, truncated, csum_partial, vlan_reinserted;
	uint64_t csum_completed, gso_pkts;
	uint64_t stalls; /* polls that found the next block still held by packets */
	uint64_t bad_frames; /* frame headers pointing outside their block (blocks cut short) */
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

/* --- afpacket_rx.c ------------------------------------------------------ */

uint16_t afp_rx_burst(struct weir_rxq *rxq, struct weir_pkt **pkts, uint16_t n);
int afp_wait_fd(struct weir_rxq *rxq);
/* Copies len bytes into pool buffers from head on, chained: 0, -ENOBUFS,
 * -E2BIG. */
int afp_rx_copy(struct weir_pool *pool, struct weir_pkt *head, const uint8_t *src, uint32_t len);
/* Writes a VLAN tag (tpid, tci) in front of the MAC header at at + 4,
 * moving the addresses down to at. */
void afp_vlan_put(uint8_t *at, uint16_t tpid, uint16_t tci);
/* A received packet's port, queue, hash, timestamp and offload flags from
 * the kernel's status and vnet header (NULL without one); tag is the VLAN
 * tag length weir put back. */
void afp_rx_meta(struct afp_rxq *q, struct weir_pkt *p, uint32_t status,
		 const struct virtio_net_hdr *vh, uint16_t tag, uint32_t hash, weir_ns_t now);
/* Gives the queue's ring back: unread frames to the kernel, the mapping
 * to the last packet that still points into it. Idempotent. */
void afp_rxq_release(struct afp_rxq *q);

/* --- afpacket_wake.c ---------------------------------------------------- */

/* Gives queue q a wake ring of slots of frame_size bytes: its programs, its
 * socket, the counting filter on the block socket, which must not be bound
 * yet. Without one (said at debug level) the queue works as before. */
void afp_wake_setup(struct afp_rxq *q, int ifindex, bool vnet, uint32_t frame_size);
/* After the block socket is bound: both sockets into one fanout group. */
void afp_wake_join(struct afp_rxq *q);
void afp_wake_release(struct afp_rxq *q);
/* The epoll set of both sockets, or -1 without a wake ring. */
int afp_wake_fd(const struct afp_rxq *q);
/* Frames waiting in the wake ring, copied into packets (at most n, bytes
 * added to *bytes), once every older frame in the blocks has been read;
 * many waiting send new frames back to the blocks. */
uint16_t afp_wake_rx(struct afp_rxq *q, struct weir_pkt **pkts, uint16_t n, uint64_t *bytes);
/* Before a block is opened: false while the wake ring may still hold, or
 * have on its way, frames older than the block's. */
bool afp_wake_blocks_ok(struct afp_rxq *q);
/* After an empty poll: sends new frames to the wake ring once the queue
 * has idled AFP_WAKE_ARM_EMPTY polls and every frame so far has been read. */
void afp_wake_idle(struct afp_rxq *q);

/* --- afpacket.c ---------------------------------------------------------- */

/* Reads (and thereby resets) the kernel's counters of q's block socket into
 * the queue's sums and copies the sums into *out (any thread). */
void afp_kstats_pull(struct afp_rxq *q, struct afp_kstats *out);

/* --- afpacket_tx.c ------------------------------------------------------ */

uint16_t afp_tx_burst(struct weir_txq *txq, struct weir_pkt **pkts, uint16_t n);
uint16_t afp_tx_done(struct weir_txq *txq);

#endif
