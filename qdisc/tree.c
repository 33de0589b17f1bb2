// SPDX-License-Identifier: BSD-3-Clause
/*
 * The tree core: the registry of qdisc kinds, freeing and resetting
 * subtrees, and the public calls on a built tree, which go through the
 * accounting wrappers of qdisc_internal.h. Trees are built by the spec
 * parser (spec.c) and printed by dump.c.
 */
#include <stdlib.h>
#include <string.h>

#include "qdisc_internal.h"

/* --- registry ---------------------------------------------------------- */

#define QD_MAX_KINDS 32

static const struct weir_qdisc_ops *kinds[QD_MAX_KINDS];
static unsigned nb_kinds;

void weir_qdisc_register(const struct weir_qdisc_ops *ops)
{
	if (nb_kinds < QD_MAX_KINDS)
		kinds[nb_kinds++] = ops;
}

const struct weir_qdisc_ops *weir_qdisc_find(const char *kind)
{
	for (unsigned i = 0; i < nb_kinds; i++)
		if (!strcmp(kinds[i]->kind, kind))
			return kinds[i];
	return NULL;
}

void weir_qdisc_list(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < nb_kinds && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", kinds[i]->kind);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

const struct weir_qdisc_ops *qd_find_kind_n(const char *name, size_t len)
{
	for (unsigned i = 0; i < nb_kinds; i++)
		if (strlen(kinds[i]->kind) == len && !strncmp(kinds[i]->kind, name, len))
			return kinds[i];
	return NULL;
}

/* --- tree-wide operations ---------------------------------------------- */

void qd_node_free(struct weir_qdisc *q, bool inited)
{
	if (!q)
		return;
	for (uint32_t i = 0; i < q->nb_children; i++)
		qd_node_free(q->children[i], true);
	if (inited && q->ops->destroy)
		q->ops->destroy(q);
	free(q->children);
	free(q);
}

static void reset_subtree(struct weir_qdisc *q)
{
	if (q->peeked) {
		weir_pkt_free(q->peeked);
		q->peeked = NULL;
	}
	for (uint32_t i = 0; i < q->nb_children; i++)
		reset_subtree(q->children[i]);
	if (q->ops->reset)
		q->ops->reset(q);
	q->st.backlog_pkts = 0;
	q->st.backlog_bytes = 0;
}

void qd_reset(struct weir_qdisc *q)
{
	uint32_t pkts = q->st.backlog_pkts;
	uint64_t bytes = q->st.backlog_bytes;

	reset_subtree(q);
	for (struct weir_qdisc *a = q->stats_parent; a; a = a->stats_parent) {
		a->st.backlog_pkts -= pkts;
		a->st.backlog_bytes -= bytes;
	}
}

void weir_qdisc_destroy(struct weir_qdisc *q)
{
	if (!q)
		return;
	reset_subtree(q);
	qd_node_free(q, true);
}

/*
 * The public calls may be made on an inner node: the ancestors' counters
 * follow, as they would had the packet passed through them, up to (not
 * into) a node that sums its children when read. So an lcore driving its
 * TX queue's tree under an mq root writes only that tree's counters.
 */
enum weir_qdisc_verdict weir_qdisc_enqueue(struct weir_qdisc *q, struct weir_pkt *pkt,
					   weir_ns_t now)
{
	uint32_t len = qd_len(pkt);
	enum weir_qdisc_verdict v = qd_enqueue(q, pkt, now);

	if (weir_unlikely(q->stats_parent) && v != WEIR_QDISC_DROPPED) {
		for (struct weir_qdisc *a = q->stats_parent; a; a = a->stats_parent) {
			a->st.backlog_pkts++;
			a->st.backlog_bytes += len;
		}
	}
	return v;
}

struct weir_pkt *weir_qdisc_dequeue(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *next_due)
{
	weir_ns_t due = 0;
	struct weir_pkt *p = qd_dequeue(q, now, &due);

	if (next_due)
		*next_due = p ? 0 : due;
	if (weir_unlikely(q->stats_parent) && p) {
		uint32_t len = qd_len(p);

		for (struct weir_qdisc *a = q->stats_parent; a; a = a->stats_parent) {
			a->st.backlog_pkts--;
			a->st.backlog_bytes -= len;
			a->st.packets++;
			a->st.bytes += len;
		}
	}
	return p;
}

struct weir_pkt *weir_qdisc_peek(struct weir_qdisc *q, weir_ns_t now)
{
	return qd_peek(q, now);
}

void weir_qdisc_reset(struct weir_qdisc *q)
{
	qd_reset(q);
}

void qd_stats_read(const struct weir_qdisc *q, struct weir_qdisc_stats *st)
{
	if (q->ops->stats)
		q->ops->stats(q, st);
	else
		*st = q->st;
}

void weir_qdisc_stats_get(const struct weir_qdisc *q, struct weir_qdisc_stats *st)
{
	qd_stats_read(q, st);
}

const char *weir_qdisc_kind(const struct weir_qdisc *q)
{
	return q->ops->kind;
}

uint32_t weir_qdisc_nb_children(const struct weir_qdisc *q)
{
	return q->nb_children;
}

struct weir_qdisc *weir_qdisc_child(const struct weir_qdisc *q, uint32_t i)
{
	return i < q->nb_children ? q->children[i] : NULL;
}
