/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RAID driver's state, shared by raid.c (assembly, superblocks, member
 * failure, replacement, control) and raid_io.c (the queue-pair engine).
 *
 * Threads: each array queue pair i belongs to one lcore and drives queue
 * pair i of every member; the members' last queue pair (index nb_qp) is
 * the control one, used only under `lock` to write superblocks. What lcores
 * share: member states and the rebuild checkpoint (atomics, written under
 * `lock`), and the row locks (one CAS to take, a store to drop), which
 * serialize operations on one RAID5 row (parity read-modify-write) and
 * order writes against the rebuild of their row. A member's state changes
 * only after every member's superblock records it, so a write that skips a
 * failed member never completes before a restart would know it failed.
 */
#ifndef WEIR_PMD_RAID_ENGINE_H
#define WEIR_PMD_RAID_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>

#include "raid_internal.h"
#include "weir/blk_driver.h"
#include "weir/clock.h"

#define RAID_LOCKS 4096          /* row locks, hashed by row */
#define RAID_TMP_BUF (16u << 10) /* bytes per temporary buffer */
#define RAID_ZERO_SIZE (64u << 10)
#define RAID_OP_REBUILD 0x10     /* internal slice op: rebuild one row */
#define RAID_PAR RAID_MAX_MEMBERS /* temp set index of a computed parity */

struct raid_member {
	struct weir_blk *dev;   /* NULL when missing */
	char spec[WEIR_BLK_RAID_SPECSIZE];
	_Atomic uint8_t state;  /* enum weir_blk_member_state */
	_Atomic uint64_t errors;
	char why[WEIR_BLK_RAID_WHYSIZE];
	uint64_t ident[2];
};

struct raid_priv {
	struct raid_geom g;
	uint32_t lbs;
	uint64_t data_lba;       /* member blocks before the data area */
	uint16_t nb_qp;          /* array queue pairs; members have one more */
	uint32_t slices;         /* slice contexts per queue pair */
	struct weir_pool *app_pool; /* the caller's, registered with the members */
	struct weir_pool *tmp;   /* parity and old-data buffers */
	uint8_t *zero;           /* RAID_ZERO_SIZE zeroes (RAID5 write-zeroes) */
	uint8_t *sbbuf;          /* RAID_SB_SIZE, for superblock I/O */
	struct raid_member m[RAID_MAX_MEMBERS];
	struct weir_blk *retired[RAID_MAX_MEMBERS * 4]; /* replaced members, closed last */
	int nretired;
	pthread_mutex_t lock;    /* superblocks and member changes */
	struct raid_sb sb;       /* the array's state as last written */
	_Atomic int rebuild_slot; /* -1: none */
	_Atomic uint64_t rebuild_rows; /* rows of rebuild_slot rebuilt */
	uint64_t ckpt_rows;      /* checkpoint every this many rows */
	_Atomic uint64_t rate;   /* rebuild bytes/s, 0: unlimited */
	_Atomic bool lost;       /* more members out than the level survives */
	bool unclean;            /* the last close was not clean */
	_Atomic uint32_t locks[RAID_LOCKS];
};

/* A temporary buffer set: a chain of pool buffers holding one column. */
struct raid_tmp {
	struct weir_pkt *p;
	int niov;
	struct iovec iov[WEIR_BLK_MAX_IOV];
};

struct raid_sctx;

/* One member I/O of a slice. */
struct raid_sub {
	struct weir_blk_req req;
	struct raid_sctx *sl;
	uint8_t slot;
	struct raid_sub *next;  /* the member's pending queue */
	struct iovec iov[WEIR_BLK_MAX_IOV];
};

/* One user request in flight. */
struct raid_uctx {
	struct weir_blk_req *req;
	uint64_t next_lba;      /* first block not yet sliced */
	uint64_t end;
	uint32_t slices;        /* slices in flight */
	int err;
	bool zero;              /* RAID5 write-zeroes: written as zeroes */
	int niov;
	struct iovec iov[WEIR_BLK_MAX_IOV];
	struct raid_uctx *next;
};

enum raid_phase { PH_IDLE, PH_BLOCKED, PH_READ, PH_WRITE };

/* One slice (or flush, or rebuild step) in flight. */
struct raid_sctx {
	struct raid_uctx *u;    /* NULL for a rebuild step */
	struct raid_slice s;
	uint8_t op;             /* enum weir_blk_op or RAID_OP_REBUILD */
	uint8_t phase;          /* enum raid_phase */
	uint8_t nsub, pending;
	bool locked, fua, queued;
	int err;
	int recon_j;            /* RAID5 read: data chunk rebuilt from the others, -1 */
	uint32_t target;        /* rebuild: the member written */
	uint32_t failed_mask;   /* members whose I/O failed in this phase */
	int fail_err;
	struct raid_plan plan;
	uint32_t tmp_mask;      /* temp sets held (bit RAID_PAR for the parity) */
	struct raid_tmp tmp[RAID_MAX_MEMBERS + 1];
	struct raid_sub sub[RAID_MAX_MEMBERS];
	struct raid_sctx *next;
};

struct raid_qp {
	struct weir_blk_qp base;
	struct raid_uctx *uctx, *ufree;
	struct raid_sctx *sctx, *sfree;
	struct raid_uctx *uwait, *uwait_tail;   /* requests with slices still to cut */
	struct raid_sctx *blocked, *blocked_tail; /* slices waiting for a lock or buffers */
	struct raid_sub *pend[RAID_MAX_MEMBERS], *pend_tail[RAID_MAX_MEMBERS];
	_Atomic uint32_t m_inflight[RAID_MAX_MEMBERS]; /* owner writes, control reads */
	uint32_t rr;            /* RAID1 read balancing */
	struct raid_sctx *rb;   /* qp 0: the rebuild step in flight */
	weir_ns_t rb_t0;
	uint64_t rb_bytes;
	uint64_t rb_rate;       /* the rate rb_t0 and rb_bytes were measured at */
	unsigned rb_errors;     /* consecutive failed steps */
	uint64_t n_full, n_rmw, n_rcw, n_data_only, n_recon, n_lock_waits, n_replans, n_noop;
};

/* --- raid_stripe.c: one slice --------------------------------------------- */

/* Plans slice s from the member states of its row and starts its first
 * phase (or blocks it, or finishes it when nothing can be done). */
void raid_plan(struct raid_qp *q, struct raid_sctx *s);
/* Called when the last member I/O of s's phase completed. */
void raid_phase_done(struct raid_qp *q, struct raid_sctx *s);
/* Records a member I/O's completion; the phase's last runs the next step. */
void raid_sub_done(struct raid_qp *q, struct raid_sub *b);
/* Gives s's temporary buffers back. */
void raid_tmp_put_all(struct raid_sctx *s);

/* --- raid_io.c: the queue pair --------------------------------------------- */

int raid_qp_init(struct raid_priv *rp, struct raid_qp *q);
void raid_qp_fini(struct raid_qp *q);
uint16_t raid_submit(struct weir_blk_qp *qp, struct weir_blk_req **reqs, uint16_t n);
uint16_t raid_poll(struct weir_blk_qp *qp, uint16_t budget);
uint16_t raid_wait(struct weir_blk_qp *qp, uint16_t budget, uint64_t timeout_ns);
int raid_xstats(struct weir_blk *dev, struct weir_blk_xstat *xs, int n);

/* --- raid.c, raid_ctl.c ------------------------------------------------------ */

/* Reads or writes (FUA) member m's superblock into/from buf through its
 * queue pair qp, synchronously: 0 or -errno. */
int raid_sb_io(struct weir_blk *m, uint16_t qp, uint8_t op, uint8_t *buf);
/* Bumps the generation and writes rp->sb to every member in use; a member
 * that cannot take it is marked failed. Under rp->lock. */
void raid_sb_write_all(struct weir_blk *dev);
/* Whether every block survives with the members in states; if not, why. */
bool raid_survives(const struct raid_priv *rp, const uint8_t *states, char *why, size_t len);
const char *raid_state_name(unsigned st);
int raid_status(struct weir_blk *dev, struct weir_blk_raid_status *st);
int raid_fail(struct weir_blk *dev, unsigned slot);
int raid_replace(struct weir_blk *dev, unsigned slot, const char *spec);
int raid_set_rate(struct weir_blk *dev, uint64_t bytes_per_s);

/* Marks member slot failed (what, and err's text unless 0, say why),
 * writes every other member's superblock, then publishes the state. Any
 * thread. */
void raid_member_fail(struct weir_blk *dev, uint32_t slot, int err, const char *what);
/* Records rebuild progress (rows done) in the superblocks; when it is the
 * last row, the member becomes active. Queue pair 0's lcore. */
void raid_rebuild_checkpoint(struct weir_blk *dev, uint64_t rows);

static inline bool raid_usable(struct raid_priv *rp, uint32_t slot, uint64_t row)
{
	uint8_t st = atomic_load_explicit(&rp->m[slot].state, memory_order_acquire);

	if (st == WEIR_BLK_MEMBER_ACTIVE)
		return true;
	/* Pairs with the release store of rebuild_rows, made while the
	 * rebuilt row was still locked. */
	return st == WEIR_BLK_MEMBER_REBUILDING &&
	       row < atomic_load_explicit(&rp->rebuild_rows, memory_order_acquire);
}

#endif
