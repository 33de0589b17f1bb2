/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DQL: Linux BQL's dynamic queue limit (include/linux/dynamic_queue_limits.h
 * and lib/dynamic_queue_limits.c). The driver ring may hold `limit` bytes
 * not yet completed; the limit grows when the ring ran dry during a
 * completion interval (starvation) and shrinks when bytes sat in it
 * unneeded for hold_time. It keeps the driver's own ring short so the real
 * queue stays in the qdisc tree, where it can be reordered.
 *
 * The per-packet calls, weir_dql_queued() and weir_dql_avail(), are
 * static inline and touch only the first cache line of the struct; the
 * completion run, weir_dql_completed(), works on the second (and writes
 * adj_limit once per run), as Linux lays out struct dql. A struct weir_dql
 * is therefore cache-line aligned: embed it, or allocate what embeds it
 * with aligned_alloc(). Time is passed in by the caller (now, ns).
 * Not thread-safe: the TX lcore owns it (queued, and completed after
 * weir_port_tx_done(), from that one thread).
 */
#ifndef WEIR_DQL_H
#define WEIR_DQL_H

#include <stdint.h>

#include "clock.h"
#include "common.h"

struct weir_dql {
	/* Enqueue side: weir_dql_queued() writes it, weir_dql_avail() reads it. */
	uint64_t num_queued;     /* bytes handed to the driver, total */
	uint64_t adj_limit;      /* num_completed + limit at the last completion run */
	uint32_t last_obj_cnt;   /* bytes of the last weir_dql_queued() */

	/* Completion side: weir_dql_completed() and weir_dql_reset() only. */
	uint32_t limit weir_cache_aligned; /* current byte limit */
	uint32_t lowest_slack;
	uint64_t num_completed;  /* bytes the driver completed, total */
	uint64_t prev_ovlimit;
	uint64_t prev_num_queued;
	uint64_t prev_last_obj_cnt;
	weir_ns_t slack_start_time;
	/* Configuration (weir_dql_init(), then the caller may set the bounds). */
	uint32_t min_limit, max_limit;
	weir_ns_t hold_time;
};

static_assert(offsetof(struct weir_dql, last_obj_cnt) + sizeof(uint32_t) <= WEIR_CACHE_LINE,
	      "DQL enqueue fields fit in the first cache line");
static_assert(offsetof(struct weir_dql, limit) == WEIR_CACHE_LINE,
	      "DQL completion fields start on their own cache line");
static_assert(sizeof(struct weir_dql) == 2 * WEIR_CACHE_LINE, "struct weir_dql is two cache lines");

/* hold_time: how long slack must persist before the limit shrinks
 * (0: 1 s, Linux's default). min_limit/max_limit may be set afterwards. */
void weir_dql_init(struct weir_dql *dql, weir_ns_t hold_time);

/* Forgets all counts (e.g. the ring was flushed); limit = min_limit. */
void weir_dql_reset(struct weir_dql *dql, weir_ns_t now);

/* The driver took `bytes` (one packet or one burst) into its ring. */
static inline void weir_dql_queued(struct weir_dql *dql, uint32_t bytes)
{
	dql->last_obj_cnt = bytes;
	dql->num_queued += bytes;
}

/* Room left under the limit, in bytes. As with BQL, the driver may take
 * another packet while this is >= 0: the packet that crosses the limit is
 * still taken, and the queue stops once it is negative. */
static inline int64_t weir_dql_avail(const struct weir_dql *dql)
{
	return (int64_t)dql->adj_limit - (int64_t)dql->num_queued;
}

/* The driver's tx_done completed `bytes`; adjusts the limit. Call once per
 * completion run, also with 0 (that is how starvation is seen). */
void weir_dql_completed(struct weir_dql *dql, uint32_t bytes, weir_ns_t now);

#endif
