/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The traffic scheduler: queueing disciplines (qdiscs) in trees, one root
 * per TX queue, and DQL, the dynamic limit that keeps the driver's own ring
 * short so the real queue stays here, where it can be reordered.
 *
 * A tree is built from a string, e.g.
 *     "tbf rate 100mbit burst 32k / fq_codel target 5ms interval 100ms"
 * ('/' separates a parent from its child; classful qdiscs such as prio take
 * their children in braces, see qdisc/README or weir_qdisc_create()).
 *
 * Time is passed in by the caller (now, ns), never read inside, so every
 * algorithm runs the same under a synthetic clock in tests and simulations.
 * A qdisc owns the packets it holds; dropped packets are freed by the qdisc.
 * Not thread-safe: a tree belongs to the lcore that owns its TX queue.
 */
#ifndef WEIR_QDISC_H
#define WEIR_QDISC_H

#include <stdint.h>
#include <stdio.h>

#include "clock.h"
#include "pkt.h"

struct weir_qdisc;

enum weir_qdisc_verdict {
	WEIR_QDISC_QUEUED = 0,  /* taken (it may have been ECN-marked) */
	WEIR_QDISC_DROPPED,     /* refused and freed (limit, overlimit) */
	WEIR_QDISC_CONGESTED,   /* taken, but other packets were dropped to make room */
};

struct weir_qdisc_stats {
	uint64_t packets, bytes;       /* dequeued (sent on) */
	uint32_t backlog_pkts;
	uint64_t backlog_bytes;
	uint64_t drops;                /* all drops */
	uint64_t drops_limit;          /* queue or memory limit */
	uint64_t drops_aqm;            /* CoDel's control law */
	uint64_t ecn_marks;
	uint64_t overlimits;           /* shaper said "not yet" */
	uint64_t requeues;
	weir_ns_t last_sojourn;        /* sojourn of the last dequeued packet */
};

/*
 * Builds a tree from a spec string. 0 and *out, or -EINVAL with a message
 * in why naming the bad token and what was expected (e.g.
 * "qdisc: 'rate 0': rate must be > 0 (e.g. rate 100mbit)").
 */
int weir_qdisc_create(const char *spec, struct weir_qdisc **out, char *why, size_t whylen);
/* Frees every queued packet and the tree. NULL is allowed. */
void weir_qdisc_destroy(struct weir_qdisc *q);

enum weir_qdisc_verdict weir_qdisc_enqueue(struct weir_qdisc *q, struct weir_pkt *pkt,
					   weir_ns_t now);
/* Next packet to send, or NULL. When NULL because a shaper holds packets
 * back, *next_due (may be NULL) is set to when to try again, else 0. */
struct weir_pkt *weir_qdisc_dequeue(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *next_due);
/* The packet dequeue would return, left in place; NULL if none. */
struct weir_pkt *weir_qdisc_peek(struct weir_qdisc *q, weir_ns_t now);
/* Drops (frees) everything queued, keeps configuration and counters. */
void weir_qdisc_reset(struct weir_qdisc *q);
void weir_qdisc_stats_get(const struct weir_qdisc *q, struct weir_qdisc_stats *st);
/* Writes the tree with its stats, like `tc -s qdisc`; json != 0 for JSON. */
void weir_qdisc_dump(const struct weir_qdisc *q, FILE *out, int json);

/*
 * DQL: Linux BQL's dynamic queue limit. The driver ring may hold `limit`
 * bytes not yet completed; the limit grows when the ring ran dry during a
 * completion interval (starvation) and shrinks when bytes sat in it
 * unneeded for hold_time.
 */
struct weir_dql {
	uint32_t limit;          /* current byte limit */
	uint32_t min_limit, max_limit;
	uint64_t num_queued;     /* bytes handed to the driver, total */
	uint64_t num_completed;  /* bytes the driver completed, total */
	uint64_t adj_limit;      /* num_completed + limit at last adjustment */
	uint64_t prev_ovlimit;
	uint64_t prev_num_queued;
	uint64_t prev_last_obj_cnt;
	uint32_t last_obj_cnt;
	uint32_t lowest_slack;
	weir_ns_t slack_start_time;
	weir_ns_t hold_time;
};

void weir_dql_init(struct weir_dql *dql, weir_ns_t hold_time);
/* Bytes that may be handed to the driver now (<= 0: none). */
static inline int64_t weir_dql_avail(const struct weir_dql *dql)
{
	return (int64_t)dql->adj_limit - (int64_t)dql->num_queued;
}
void weir_dql_queued(struct weir_dql *dql, uint32_t bytes);
void weir_dql_completed(struct weir_dql *dql, uint32_t bytes, weir_ns_t now);

#endif
