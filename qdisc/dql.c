// SPDX-License-Identifier: BSD-3-Clause
/*
 * DQL: Linux's dynamic queue limits (lib/dynamic_queue_limits.c, the
 * engine of BQL), with the driver's completions as the clock. The limit is
 * the number of not-yet-completed bytes the driver ring may hold.
 *
 * - Starvation: the ring ran dry while the stack held data back (it was
 *   over the limit in the last interval and everything completed), so the
 *   limit was too small: grow it by what completed in the interval plus the
 *   previous over-limit.
 * - Slack: the ring never ran dry during the interval and held more than
 *   needed; after slack stayed for hold_time, shrink the limit by the
 *   smallest slack seen, so it settles at what the link drains between
 *   two completion runs.
 *
 * Counters are 64-bit here (Linux's are 32-bit and wrap), so no wrap
 * arithmetic is needed; not thread-safe: the TX lcore owns it. The
 * per-packet half (weir_dql_queued, weir_dql_avail) is inline in
 * weir/dql.h.
 */
#include <stdbool.h>

#include "weir/dql.h"

#define DQL_MAX_LIMIT (UINT32_MAX / 16)

static inline uint64_t posdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

void weir_dql_reset(struct weir_dql *dql, weir_ns_t now)
{
	dql->limit = dql->min_limit;
	dql->num_queued = 0;
	dql->num_completed = 0;
	dql->adj_limit = dql->limit;
	dql->last_obj_cnt = 0;
	dql->prev_num_queued = 0;
	dql->prev_last_obj_cnt = 0;
	dql->prev_ovlimit = 0;
	dql->lowest_slack = UINT32_MAX;
	dql->slack_start_time = now;
}

void weir_dql_init(struct weir_dql *dql, weir_ns_t hold_time)
{
	dql->max_limit = DQL_MAX_LIMIT;
	dql->min_limit = 0;
	dql->hold_time = hold_time ? hold_time : WEIR_NS_PER_SEC;
	weir_dql_reset(dql, 0);
}

void weir_dql_completed(struct weir_dql *dql, uint32_t count, weir_ns_t now)
{
	uint64_t num_queued = dql->num_queued;
	uint64_t completed, inprogress, prev_inprogress, limit, ovlimit;
	bool all_prev_completed;

	/* Never complete more than was queued (a driver bug; clamp). */
	if (count > num_queued - dql->num_completed)
		count = (uint32_t)(num_queued - dql->num_completed);
	completed = dql->num_completed + count;
	limit = dql->limit;
	ovlimit = posdiff(num_queued - dql->num_completed, limit);
	inprogress = num_queued - completed;
	prev_inprogress = posdiff(dql->prev_num_queued, dql->num_completed);
	all_prev_completed = completed >= dql->prev_num_queued;

	if ((ovlimit && !inprogress) || (dql->prev_ovlimit && all_prev_completed)) {
		/* Starved: grow by what went through in the interval plus
		 * what was held back the interval before. */
		limit += posdiff(completed, dql->prev_num_queued) + dql->prev_ovlimit;
		dql->slack_start_time = now;
		dql->lowest_slack = UINT32_MAX;
	} else if (inprogress && prev_inprogress && !all_prev_completed) {
		/* Busy all interval: is there slack to give back? Twice what
		 * completed bounds what is needed; the rounding of the last
		 * queued object is not slack. */
		uint64_t slack = posdiff(limit + dql->prev_ovlimit, 2 * (completed - dql->num_completed));
		uint64_t slack_last = dql->prev_ovlimit ?
			posdiff(dql->prev_last_obj_cnt, dql->prev_ovlimit) : 0;

		if (slack_last > slack)
			slack = slack_last;
		if (slack < dql->lowest_slack)
			dql->lowest_slack = (uint32_t)WEIR_MIN(slack, UINT32_MAX);
		if (weir_time_after(now, dql->slack_start_time + dql->hold_time)) {
			limit = posdiff(limit, dql->lowest_slack);
			dql->slack_start_time = now;
			dql->lowest_slack = UINT32_MAX;
		}
	}
	if (limit < dql->min_limit)
		limit = dql->min_limit;
	if (limit > dql->max_limit)
		limit = dql->max_limit;
	if (limit != dql->limit) {
		dql->limit = (uint32_t)limit;
		ovlimit = 0;
	}
	dql->adj_limit = limit + completed;
	dql->prev_ovlimit = ovlimit;
	dql->prev_last_obj_cnt = dql->last_obj_cnt;
	dql->num_completed = completed;
	dql->prev_num_queued = num_queued;
}
