/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For block drivers only (applications include weir/blk.h): the ops table,
 * the device and queue-pair structures, registration, spec arguments and
 * the completion helpers every driver uses.
 *
 * The framework validates each request before a driver sees it (range,
 * data length, alignment, read-only), so a driver's submit only ever gets
 * requests it can issue. A driver completes requests by pushing them into
 * the queue pair's done ring (weir_blk_qp_complete), from submit or poll;
 * the framework numbers write completions, tracks what flushes made
 * durable, counts, and hands them to the caller. The ring holds as many
 * requests as the queue pair may have in flight, so it never overflows.
 */
#ifndef WEIR_BLK_DRIVER_H
#define WEIR_BLK_DRIVER_H

#include <stdatomic.h>

#include "blk.h"
#include "spec.h"

struct weir_blk_qp;

struct weir_blk_ops {
	/* Opens the device: parse arguments (weir_blk_arg_*), fill dev->info
	 * (nblocks, lbs, dev_lbs, mem_align, max_blocks, features, ident),
	 * allocate queue pairs (weir_blk_alloc_qps). On failure, release what
	 * it took and return weir_blk_fail(...). */
	int (*open)(struct weir_blk *dev, const struct weir_blk_conf *conf);
	/* Issues up to n valid requests; returns how many it took. */
	uint16_t (*submit)(struct weir_blk_qp *qp, struct weir_blk_req **reqs, uint16_t n);
	/* Moves up to budget completions into the done ring; returns them. */
	uint16_t (*poll)(struct weir_blk_qp *qp, uint16_t budget);
	/* Optional: as poll, but first submits what is prepared and sleeps
	 * until at least one completion or timeout_ns (WEIR_BLK_F_WAIT). */
	uint16_t (*wait)(struct weir_blk_qp *qp, uint16_t budget, uint64_t timeout_ns);
	/* Optional: a file descriptor that polls readable (POLLIN) while qp
	 * has completions to reap, once all it took has reached the kernel
	 * (a poll hands it over); -1 when there is none (a polling mode).
	 * How a stacked driver sleeps on its members. */
	int (*qp_fd)(struct weir_blk_qp *qp);
	int (*xstats)(struct weir_blk *dev, struct weir_blk_xstat *xs, int n);
	/* Waits for what is in flight, frees everything open took. */
	void (*close)(struct weir_blk *dev);
	/* RAID control; NULL for other drivers. */
	int (*raid_status)(struct weir_blk *dev, struct weir_blk_raid_status *st);
	int (*raid_fail)(struct weir_blk *dev, unsigned slot);
	int (*raid_replace)(struct weir_blk *dev, unsigned slot, const char *spec);
	int (*raid_set_rate)(struct weir_blk *dev, uint64_t bytes_per_s);
};

/* A key a driver accepts in its spec. */
/* The types of weir/spec.h, shared with ports, under the names block
 * drivers use. */
#define weir_blk_param weir_spec_param
#define weir_blk_kv weir_spec_kv

struct weir_blk_driver {
	const char *name;
	const char *help;
	const struct weir_blk_ops *ops;
	const struct weir_blk_param *params; /* NULL-key terminated */
	size_t priv_size;                    /* zeroed, dev->priv */
	size_t qp_size;                      /* driver qp struct, starts with weir_blk_qp */
	/* Stacked over other devices: keys it does not know are kept for its
	 * members (weir_blk_member_args) instead of refused. */
	bool stacked;
	struct weir_blk_driver *next;
};

#define WEIR_BLK_MAX_KV 16


/* Every driver's queue pair starts with this. Owned by one lcore. */
struct weir_blk_qp {
	struct weir_blk *dev;
	uint16_t id;
	uint16_t qd;
	uint32_t inflight;  /* taken, not yet polled */
	/* Done ring: completed requests waiting to be polled. */
	struct weir_blk_req **done;
	uint32_t done_mask;
	uint32_t done_head; /* next to poll */
	uint32_t done_tail; /* next free */
	uint64_t write_seq;   /* write completions numbered so far */
	uint64_t durable_seq; /* highest made durable by a flush */
	struct weir_blk_stats stats;
	char err[WEIR_BLK_ERRSIZE];
};

struct weir_blk {
	const struct weir_blk_ops *ops;
	const struct weir_blk_driver *drv;
	struct weir_blk_qp **qp;
	uint16_t nb_qp;
	struct weir_blk_info info; /* filled by the driver's open */
	void *priv;
	char *spec;  /* as given */
	char *label; /* "driver:name" */
	char *name;  /* the part after "driver:" (members for stacked drivers) */
	struct weir_blk_kv kv[WEIR_BLK_MAX_KV];
	int nkv;
	char err[WEIR_BLK_ERRSIZE];
	char note[WEIR_BLK_ERRSIZE];
};

/* --- registry ---------------------------------------------------------- */

void weir_blk_driver_register(struct weir_blk_driver *drv);
const struct weir_blk_driver *weir_blk_driver_find(const char *name);

#define WEIR_BLK_DRIVER_REGISTER(drv)                                          \
	__attribute__((constructor)) static void weir_blk_register_##drv(void) \
	{                                                                      \
		weir_blk_driver_register(&(drv));                              \
	}

/* --- open-time helpers ------------------------------------------------- */

/* Formats dev's error message (prefixed with its label); returns err. */
int weir_blk_fail(struct weir_blk *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Appends a sentence to dev's note (and logs it as a warning). */
void weir_blk_notef(struct weir_blk *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Value of key in the spec, or NULL. Marks it used. */
const char *weir_blk_arg(struct weir_blk *dev, const char *key);
/* Integer argument in [min, max], def when absent; k/m/g suffixes (powers
 * of 1024). 0, or -EINVAL with dev's error set. */
int weir_blk_arg_u64(struct weir_blk *dev, const char *key, uint64_t def, uint64_t min,
		     uint64_t max, uint64_t *out);
/* Index of the value among the param's choices, def when absent; -EINVAL. */
int weir_blk_arg_choice(struct weir_blk *dev, const char *key, int def);
/* True when key was given in the spec (used or not). */
bool weir_blk_arg_given(const struct weir_blk *dev, const char *key);
/*
 * Stacked drivers: splits dev->name into member specs at top-level commas
 * ("uring:/a,[uring:/b?qd=8],uring:/c"; brackets hold a member with its own
 * keys). Writes up to max strdup'ed specs, each with the keys the stacked
 * driver does not know appended. Returns the count, or -EINVAL / -E2BIG /
 * -ENOMEM with dev's error set. Free with weir_blk_members_free().
 */
int weir_blk_members(struct weir_blk *dev, char **specs, int max);
void weir_blk_members_free(char **specs, int n);
/* Allocates n zeroed queue pairs of the driver's qp_size with done rings
 * for qd requests each: 0 or -ENOMEM. */
int weir_blk_alloc_qps(struct weir_blk *dev, uint16_t n, uint16_t qd);

/* --- completion -------------------------------------------------------- */

/* Records why the latest request of qp failed (prefixed with the label). */
void weir_blk_qp_errorf(struct weir_blk_qp *qp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Completes req with status: numbers writes, advances durability on a
 * flush, counts, and queues it for the caller's poll. Owner lcore. */
static inline void weir_blk_qp_complete(struct weir_blk_qp *qp, struct weir_blk_req *req,
					int status)
{
	req->status = status;
	if (weir_likely(status == 0)) {
		switch (req->op) {
		case WEIR_BLK_READ:
			qp->stats.reads++;
			qp->stats.read_bytes += (uint64_t)req->nblocks * qp->dev->info.lbs;
			break;
		case WEIR_BLK_WRITE:
			qp->stats.writes++;
			qp->stats.write_bytes += (uint64_t)req->nblocks * qp->dev->info.lbs;
			req->seq = ++qp->write_seq;
			if (req->flags & WEIR_BLK_REQ_FUA)
				req->done_flags |= WEIR_BLK_DONE_DURABLE;
			break;
		case WEIR_BLK_FLUSH:
			/* req->seq was set at submission: what it covers. */
			qp->stats.flushes++;
			if (req->seq > qp->durable_seq)
				qp->durable_seq = req->seq;
			req->done_flags |= WEIR_BLK_DONE_DURABLE;
			break;
		case WEIR_BLK_WRITE_ZEROES:
			qp->stats.zeroes++;
			req->seq = ++qp->write_seq;
			break;
		default:
			qp->stats.discards++;
			req->seq = ++qp->write_seq;
			break;
		}
	} else {
		qp->stats.errors++;
	}
	qp->done[qp->done_tail++ & qp->done_mask] = req;
}

/* The member's completion fd for a stacked driver's wait (ops->qp_fd), or
 * -1. Owner lcore. */
static inline int weir_blk_qp_fd(struct weir_blk *dev, uint16_t qp)
{
	return dev->ops->qp_fd ? dev->ops->qp_fd(dev->qp[qp]) : -1;
}

/* Total data bytes of a request (READ/WRITE). */
static inline uint64_t weir_blk_req_bytes(const struct weir_blk *dev, const struct weir_blk_req *r)
{
	return (uint64_t)r->nblocks * dev->info.lbs;
}

/*
 * Writes the request's data as iovecs (chain segments or its own iov) into
 * iov (room for WEIR_BLK_MAX_IOV), empty segments skipped; returns how
 * many. The framework has checked that they add up to the request's bytes.
 */
static inline int weir_blk_req_iov(const struct weir_blk_req *r, struct iovec *iov)
{
	int n = 0;

	if (r->nb_iov) {
		memcpy(iov, r->iov, r->nb_iov * sizeof(*iov));
		return r->nb_iov;
	}
	for (const struct weir_pkt *s = r->pkt; s && n < WEIR_BLK_MAX_IOV; s = s->next) {
		if (!s->data_len)
			continue;
		iov[n].iov_base = weir_pkt_data(s);
		iov[n].iov_len = s->data_len;
		n++;
	}
	return n;
}

#endif
