/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Block devices: NVMe-style queue pairs over any block driver. A device is
 * named by a spec string, as ports are:
 *     uring:/path/file?direct=1&qd=128&sqpoll=0&iopoll=0&fixed=1&lbs=4096
 *     raid5:uring:/a,uring:/b,uring:/c?chunk=64k
 * weir_blk_open() parses it, checks every key against the driver's table and
 * says what was wrong and what is valid.
 *
 * I/O is a burst of requests submitted to a queue pair and a burst of
 * completions polled from it (NVMe's submission and completion queues;
 * io_uring's SQ and CQ underneath). A queue pair belongs to one lcore: the
 * fast path takes no lock. Completions may come back in any order; each
 * carries its own status. A request the device cannot take as written
 * (misaligned buffer, past the end, write to a read-only device) is not an
 * error of the call: it completes at once with a negative errno, and
 * weir_blk_qp_error() says why in words.
 *
 * Durability is explicit. A completed write is in the device's volatile
 * cache, not necessarily on media. It is durable once a flush covering it
 * has completed: a flush covers every write whose completion the caller
 * polled from the same queue pair before submitting the flush. Write
 * completions are numbered per queue pair (req->seq); weir_blk_durable_seq()
 * is the highest number a completed flush made durable. A write with
 * WEIR_BLK_REQ_FUA is durable on its own completion (WEIR_BLK_DONE_DURABLE).
 *
 * Completions can be polled (weir_blk_poll_burst never blocks: the
 * caller's loop spins, as SPDK's does) or waited for
 * (weir_blk_poll_wait sleeps in the kernel until one arrives, as fio's
 * io_uring engine does by default). A device that can sleep says so with
 * WEIR_BLK_F_WAIT; uring: sets it unless sqpoll=1 or iopoll=1 asked for
 * polling (key wait=0|1). In wait mode a submitted request reaches the
 * kernel at the latest with the queue pair's next poll or wait call, so
 * that submitting and waiting take one system call.
 *
 * Data buffers come from weir pools: a request names a pool buffer or chain
 * (each segment's data bytes, in order) or an array of iovecs. The pools
 * given at open are registered with the kernel once (io_uring fixed
 * buffers): no per-I/O pinning and no copy. weir_blk_buf_alloc() gives
 * buffers laid out for block I/O (no headroom, aligned).
 */
#ifndef WEIR_BLK_H
#define WEIR_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common.h"
#include "pkt.h"
#include "pool.h"

struct weir_blk;

#define WEIR_BLK_MAX_IOV 64   /* iovecs (or chain segments) per request */
#define WEIR_BLK_ERRSIZE 512
#define WEIR_BLK_MAX_QP 64

enum weir_blk_op {
	WEIR_BLK_READ = 0,
	WEIR_BLK_WRITE,
	WEIR_BLK_FLUSH,        /* makes completed writes durable; lba/nblocks unused */
	WEIR_BLK_WRITE_ZEROES, /* the range reads back as zeroes; no data */
	WEIR_BLK_DISCARD,      /* the range's contents are no longer needed; no data */
	WEIR_BLK_OP_COUNT
};

enum weir_blk_req_flags {
	WEIR_BLK_REQ_FUA = 1 << 0,     /* write: durable when it completes */
	WEIR_BLK_REQ_NOMERGE = 1 << 1, /* never merged with its neighbours */
};

enum weir_blk_done_flags {
	WEIR_BLK_DONE_DURABLE = 1 << 0, /* a FUA write, or a flush, completed */
};

/*
 * One request. The caller owns it (and its buffers) until it comes back
 * from weir_blk_poll_burst(); the driver fields are scratch while it is in
 * flight.
 */
struct weir_blk_req {
	/* Set by the caller. */
	uint8_t op;     /* enum weir_blk_op */
	uint8_t flags;  /* enum weir_blk_req_flags */
	uint16_t nb_iov; /* 0: the data is pkt's; else iov[0..nb_iov) */
	uint32_t nblocks; /* logical blocks (READ/WRITE/WRITE_ZEROES/DISCARD) */
	uint64_t lba;
	struct weir_pkt *pkt;     /* data: a pool buffer or chain */
	const struct iovec *iov;  /* or: iovecs, nb_iov of them */
	void *udata;              /* free for the caller */
	uint64_t udata64;
	/* Set on completion. */
	int32_t status;      /* 0 or a negative errno */
	uint32_t done_flags; /* enum weir_blk_done_flags */
	/* WRITE/WRITE_ZEROES/DISCARD: this completion's number on its queue
	 * pair. FLUSH: the highest such number it made durable. */
	uint64_t seq;
	/* The driver's, while in flight. */
	struct weir_blk_req *drv_next;
	void *drv_priv;
	uint64_t drv_data;
};

struct weir_blk_conf {
	struct weir_pool *pool;  /* registered as fixed buffers (fixed=1); may be NULL */
	struct weir_pool *pool2; /* a second registered pool (a stacked driver's own) */
	uint16_t nb_qp;          /* queue pairs, one per lcore; 0: 1 */
	bool fd_wait;            /* the caller sleeps on weir_blk_qp_fd (a stacked
				  * driver's members): the fd must stay pollable */
};

enum weir_blk_feature {
	WEIR_BLK_F_DIRECT = 1 << 0,     /* O_DIRECT: no page cache */
	WEIR_BLK_F_FIXED = 1 << 1,      /* pool memory registered with the kernel */
	WEIR_BLK_F_SQPOLL = 1 << 2,     /* a kernel thread polls the submission queue */
	WEIR_BLK_F_IOPOLL = 1 << 3,     /* completions are polled from the device */
	WEIR_BLK_F_NVME = 1 << 4,       /* NVMe passthrough (IORING_OP_URING_CMD) */
	WEIR_BLK_F_READONLY = 1 << 5,
	WEIR_BLK_F_STACKED = 1 << 6,    /* a driver over other block devices */
	WEIR_BLK_F_WAIT = 1 << 7,       /* weir_blk_poll_wait sleeps in the kernel */
};

struct weir_blk_info {
	uint64_t nblocks;    /* logical blocks */
	uint32_t lbs;        /* logical block size, bytes */
	uint32_t dev_lbs;    /* the device's own block (direct I/O offset alignment) */
	uint32_t mem_align;  /* buffer addresses and segment lengths must be multiples */
	uint32_t max_blocks; /* largest request, blocks */
	uint16_t nb_qp;
	uint16_t qd;         /* requests in flight per queue pair, at most */
	uint32_t features;   /* enum weir_blk_feature */
	uint64_t ident[2];   /* what is underneath (st_dev, st_ino / rdev); 0 if stacked */
};

struct weir_blk_stats {
	uint64_t reads, writes, flushes, zeroes, discards; /* completed with status 0 */
	uint64_t read_bytes, write_bytes;
	uint64_t errors;  /* completed with an error from below */
	uint64_t refused; /* refused before reaching the device (bad request) */
	uint64_t merged;  /* requests that rode on a neighbour's I/O */
	uint64_t ios;     /* I/Os handed to the device (after merging) */
};

#define WEIR_BLK_XSTAT_NAMESIZE 48
struct weir_blk_xstat {
	char name[WEIR_BLK_XSTAT_NAMESIZE];
	uint64_t value;
};

/* "read", "write", "flush", "write-zeroes", "discard". */
static inline const char *weir_blk_op_name(unsigned op)
{
	static const char *const names[] = {"read", "write", "flush", "write-zeroes", "discard"};

	return op < WEIR_BLK_OP_COUNT ? names[op] : "unknown-op";
}

/* --- opening ---------------------------------------------------------- */

/*
 * Opens the device named by spec. Returns 0 and sets *out, or a negative
 * errno and writes a message for people into why (naming the spec, the
 * problem and the fix). Errors: -EINVAL (bad spec or a key's value),
 * -ENOENT (no such driver or file), -EROFS/-EACCES (cannot be opened as
 * asked), -EOPNOTSUPP (the file system cannot do what was asked), others
 * from the driver. conf may be NULL. Not thread-safe; control thread.
 */
int weir_blk_open(const char *spec, const struct weir_blk_conf *conf, struct weir_blk **out,
		  char *why, size_t whylen);

/* Closes the device. Requests still in flight are waited for and dropped;
 * poll them first. NULL is allowed. */
void weir_blk_close(struct weir_blk *dev);

void weir_blk_info_get(const struct weir_blk *dev, struct weir_blk_info *info);
/* "driver:name", for messages. */
const char *weir_blk_label(const struct weir_blk *dev);
/* What open decided on its own (a fallback, a limit), "" if nothing. */
const char *weir_blk_note(const struct weir_blk *dev);
/* Writes "a, b, c" (registered block driver names) into buf. */
void weir_blk_driver_list(char *buf, size_t len);

/* --- the fast path ---------------------------------------------------- */

/*
 * Submits up to n requests to queue pair qp (< nb_qp). Returns how many
 * were taken (a prefix of reqs); the caller keeps the rest (queue full).
 * A taken request always completes through weir_blk_poll_burst(), with an
 * error status when it was refused. Adjacent requests of a burst (same op,
 * consecutive LBAs) may be merged into one I/O. Only the lcore that owns qp
 * may call this.
 */
uint16_t weir_blk_submit_burst(struct weir_blk *dev, uint16_t qp, struct weir_blk_req **reqs,
			       uint16_t n);

/*
 * Moves up to n completed requests of queue pair qp into done, in
 * completion order (not submission order); returns how many. Never blocks.
 * Owner lcore only. Both calls go through the driver's table (an indirect
 * call is a few ns against an I/O of microseconds, so they are not inline).
 */
uint16_t weir_blk_poll_burst(struct weir_blk *dev, uint16_t qp, struct weir_blk_req **done,
			     uint16_t n);

#define WEIR_BLK_WAIT_FOREVER UINT64_MAX /* weir_blk_poll_wait: no timeout */

/*
 * As weir_blk_poll_burst, but when nothing has completed yet, waits up to
 * timeout_ns (WEIR_BLK_WAIT_FOREVER: as long as it takes; cheaper, as the
 * kernel then arms no timer) for at least one completion: asleep in the kernel on a
 * device with WEIR_BLK_F_WAIT (the CPU is free meanwhile), spinning on
 * one without (SQPOLL, IOPOLL, stacked drivers). Returns how many it moved
 * into done, 0 when the timeout passed first or nothing is in flight.
 * Owner lcore only; a signal may end the wait early (then 0).
 */
uint16_t weir_blk_poll_wait(struct weir_blk *dev, uint16_t qp, struct weir_blk_req **done,
			    uint16_t n, uint64_t timeout_ns);

/* Requests taken and not yet polled. */
uint32_t weir_blk_inflight(const struct weir_blk *dev, uint16_t qp);
/* Highest write completion number (req->seq) a completed flush on qp made
 * durable; 0 before the first. */
uint64_t weir_blk_durable_seq(const struct weir_blk *dev, uint16_t qp);
/* Why the last request of qp that failed failed, in words ("" if none). */
const char *weir_blk_qp_error(const struct weir_blk *dev, uint16_t qp);

/*
 * Submits one request and waits for it (weir_blk_poll_wait): its status. For control
 * paths and tests; -EBUSY when qp has other requests in flight, whose
 * completions this must not take.
 */
int weir_blk_sync(struct weir_blk *dev, uint16_t qp, struct weir_blk_req *req);

/* --- buffers, statistics ---------------------------------------------- */

/*
 * A chain of pool buffers holding `bytes` bytes of block data: no headroom
 * (data at the buffer's start, so as aligned as the pool's buffers), each
 * segment full but the last. 0 and *out, -ENOBUFS (nothing taken), or
 * -EINVAL (bytes 0 or more than WEIR_BLK_MAX_IOV buffers).
 */
int weir_blk_buf_alloc(struct weir_pool *pool, uint32_t bytes, struct weir_pkt **out);

/* Sums every queue pair's counters (read from the control thread: may lag). */
void weir_blk_stats_get(const struct weir_blk *dev, struct weir_blk_stats *st);
/* Driver counters by name; returns how many it has (may exceed n). */
int weir_blk_xstats_get(struct weir_blk *dev, struct weir_blk_xstat *xs, int n);

/* --- RAID (raid0:, raid1:, raid5:) ------------------------------------- */

#define WEIR_BLK_RAID_MAX 16
#define WEIR_BLK_RAID_SPECSIZE 160
#define WEIR_BLK_RAID_WHYSIZE 224

enum weir_blk_member_state {
	WEIR_BLK_MEMBER_ACTIVE = 0,
	WEIR_BLK_MEMBER_FAILED,     /* I/O errors, or failed by hand: not used */
	WEIR_BLK_MEMBER_REBUILDING, /* a replacement, up to date below rebuild_pos */
	WEIR_BLK_MEMBER_MISSING,    /* not given, or refused at assembly (stale) */
};

struct weir_blk_raid_member {
	char spec[WEIR_BLK_RAID_SPECSIZE]; /* "" when missing */
	uint8_t state;                     /* enum weir_blk_member_state */
	uint64_t errors;                   /* I/O errors seen from it */
	char why[WEIR_BLK_RAID_WHYSIZE];   /* why it failed or went missing */
};

struct weir_blk_raid_status {
	int level;             /* 0, 1 or 5 */
	uint16_t nb_members;
	uint32_t chunk_bytes;
	uint64_t generation;   /* bumped on every change of the members' states */
	uint8_t uuid[16];
	bool degraded;         /* a member is not active */
	bool failed;           /* more members lost than the level survives */
	int rebuild_slot;      /* member being rebuilt, -1 if none */
	uint64_t rebuild_done; /* bytes of that member rebuilt (the checkpoint) */
	uint64_t rebuild_total;
	uint64_t rebuild_rate; /* bytes/s, 0: unlimited */
	struct weir_blk_raid_member m[WEIR_BLK_RAID_MAX];
};

/* Fills st. -EOPNOTSUPP when dev is not a RAID array. Control thread. */
int weir_blk_raid_status(struct weir_blk *dev, struct weir_blk_raid_status *st);

/*
 * Marks member `slot` failed (mdadm --fail): it gets no more I/O, the
 * array runs degraded, every member's superblock records it. 0,
 * -EOPNOTSUPP, -EINVAL (no such slot, or it would lose data: why says so).
 */
int weir_blk_raid_fail(struct weir_blk *dev, unsigned slot, char *why, size_t whylen);

/*
 * Puts the device named by spec in place of failed or missing member
 * `slot` and starts rebuilding it online (RAID1, RAID5): the rebuild runs
 * inside queue pair 0's weir_blk_poll_burst() calls, at most `rate` bytes/s
 * (weir_blk_raid_set_rate), and checkpoints its progress in the
 * superblocks so a restart resumes it. 0 or a negative errno with why.
 */
int weir_blk_raid_replace(struct weir_blk *dev, unsigned slot, const char *spec, char *why,
			  size_t whylen);

/* Rebuild rate limit in bytes/s, 0: as fast as the members go. */
int weir_blk_raid_set_rate(struct weir_blk *dev, uint64_t bytes_per_s);

#endif
