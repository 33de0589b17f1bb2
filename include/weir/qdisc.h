/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The traffic scheduler: queueing disciplines (qdiscs) in trees, one root
 * per TX queue. (DQL, the dynamic limit that keeps the driver's own ring
 * short so the real queue stays here, where it can be reordered, is in
 * weir/dql.h.)
 *
 * A tree is built from a string, e.g.
 *     "tbf rate 100mbit burst 32k / fq_codel target 5ms interval 100ms"
 * ('/' separates a parent from its child; classful qdiscs such as prio take
 * their children in braces, see qdisc/README.md or weir_qdisc_create()).
 *
 * Time is passed in by the caller (now, ns), never read inside, so every
 * algorithm runs the same under a synthetic clock in tests and simulations.
 * A qdisc owns the packets it holds; dropped packets are freed by the qdisc.
 * Not thread-safe: a tree belongs to the lcore that owns its TX queue; the
 * one exception is an mq root, whose children belong to different lcores
 * (see weir_qdisc_child()).
 */
#ifndef WEIR_QDISC_H
#define WEIR_QDISC_H

#include <stddef.h>
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

/* Counters of a node include its whole subtree (like tc): a parent's
 * backlog is its children's, and a drop anywhere below counts in every
 * ancestor. An mq keeps no counters: its stats are the sum of its
 * children's, computed when read (last_sojourn: the largest of theirs), as
 * Linux's sch_mq does, so the lcores driving its children never write a
 * counter another lcore writes. */
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
 * Builds a tree from a spec string (grammar and every parameter with its
 * default: qdisc/README.md):
 *     node := KIND { PARAM [VALUE] } [ '/' node | '{' node { ';' node } '}' ]
 * A child after '/' is replicated for every class (prio bands, drr classes,
 * mq queues); children in braces are given one by one.
 * Returns 0 and sets *out, or -EINVAL with a message in why naming the bad
 * token, its column and what was expected (e.g. "qdisc: '0' at column 10:
 * rate must be > 0 ..."), or -ENOMEM. why may be NULL. Control path.
 */
int weir_qdisc_create(const char *spec, struct weir_qdisc **out, char *why, size_t whylen);

/*
 * Builds the tree of section [qdisc NAME] of an INI file, whose key
 * `tree` holds a spec (repeated `tree` lines, or indented continuation
 * lines, are joined with spaces). Errors: -ENOENT (no such file or
 * section, the sections found are listed), -EINVAL (with file:line and the
 * bad token), -ENOTSUP when weir was built without inih.
 */
int weir_qdisc_create_from_config(const char *path, const char *name, struct weir_qdisc **out,
				  char *why, size_t whylen);
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
/* q's counters (for an mq, its children's summed now). Reads counters the
 * owning lcore writes without synchronisation: call it on that lcore, or,
 * for an mq, once the lcores driving its children have stopped. */
void weir_qdisc_stats_get(const struct weir_qdisc *q, struct weir_qdisc_stats *st);
/* Writes the tree with its stats, like `tc -s qdisc`; json != 0 for one
 * JSON object per node, children nested. Reads counters as
 * weir_qdisc_stats_get() does, with the same rule. */
void weir_qdisc_dump(const struct weir_qdisc *q, FILE *out, int json);

/* "fq_codel", "tbf", ... */
const char *weir_qdisc_kind(const struct weir_qdisc *q);
uint32_t weir_qdisc_nb_children(const struct weir_qdisc *q);
/* Child i (prio band i, drr class i, the tree of TX queue i under mq), or
 * NULL. An lcore owning TX queue i of an mq root drives weir_qdisc_child(mq,
 * i) directly, with no lock: that child tree's counters are kept as if the
 * packets had passed through mq, and mq's own are its children's summed
 * when read, so no lcore writes another's. Calls on the mq itself
 * (enqueue, dequeue, peek, reset) touch every child: single-threaded use. */
struct weir_qdisc *weir_qdisc_child(const struct weir_qdisc *q, uint32_t i);

#endif
