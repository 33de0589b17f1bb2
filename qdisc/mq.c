// SPDX-License-Identifier: BSD-3-Clause
/*
 * mq: the root of a multiqueue port, one child tree per TX queue. Each
 * lcore that owns a TX queue drives its own child (weir_qdisc_child(mq, i))
 * with no lock; enqueueing through mq itself picks the child by the
 * packet's `queue` field, and dequeueing through it serves the children
 * round robin (for single-threaded callers and the dump).
 *
 * mq keeps no counters of its own: as Linux's mq_dump does, its stats are
 * the sum of its children's, computed when read (ops->stats), so the
 * children, each on its lcore, never write a shared node. The q->st that
 * the core's wrappers update when a caller goes through mq itself is
 * never read. Peeking is pure (no stash in mq) for the same reason: a
 * packet stashed here would already be counted as sent by its child.
 */
#include <errno.h>

#include "qdisc_internal.h"

#define MQ_MAX_QUEUES 1024

struct mq_conf {
	uint32_t queues;
};

struct mq {
	uint32_t n, next;
};

static const struct qd_param mq_params[] = {
	{ "queues", QD_P_U32, offsetof(struct mq_conf, queues), 1, MQ_MAX_QUEUES, NULL, NULL,
	  "TX queues, default the number of children in { }, else 1" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const struct mq_conf mq_default = { 0 };

static int mq_nb_children(void *c, int given, char *why, size_t len)
{
	struct mq_conf *conf = c;

	if (given > 0) {
		if (conf->queues && conf->queues != (uint32_t)given)
			return QD_WHY(why, len, "mq has queues %u but %d children in { }", conf->queues,
				      given);
		conf->queues = (uint32_t)given;
	}
	if (!conf->queues)
		conf->queues = 1;
	return (int)conf->queues;
}

static int mq_init(struct weir_qdisc *q, const void *c, char *why, size_t len)
{
	struct mq *m = qd_priv(q);

	(void)c;
	(void)why;
	(void)len;
	m->n = q->nb_children;
	return 0;
}

static enum weir_qdisc_verdict mq_enqueue(struct weir_qdisc *q, struct weir_pkt *p, weir_ns_t now)
{
	struct mq *m = qd_priv(q);

	return qd_enqueue(q->children[p->queue % m->n], p, now);
}

static struct weir_pkt *mq_dequeue(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *due)
{
	struct mq *m = qd_priv(q);
	weir_ns_t first = 0;

	for (uint32_t k = 0; k < m->n; k++) {
		struct weir_qdisc *c = q->children[m->next];
		weir_ns_t d = 0;
		struct weir_pkt *p = NULL;

		if (++m->next == m->n)
			m->next = 0;
		if (c->st.backlog_pkts)
			p = qd_dequeue(c, now, &d);
		if (p)
			return p;
		if (d && (!first || weir_time_after(first, d)))
			first = d;
	}
	*due = first;
	return NULL;
}

/* The head mq_dequeue would return at `now`, left in its child. */
static struct weir_pkt *mq_peek(struct weir_qdisc *q, weir_ns_t now)
{
	struct mq *m = qd_priv(q);
	uint32_t i = m->next;

	for (uint32_t k = 0; k < m->n; k++) {
		struct weir_qdisc *c = q->children[i];
		struct weir_pkt *p = NULL;

		if (c->st.backlog_pkts)
			p = qd_peek(c, now);
		if (p)
			return p;
		if (++i == m->n)
			i = 0;
	}
	return NULL;
}

/* Sums the children; last_sojourn is the largest of theirs. Reads
 * counters the children's lcores write: exact once they are stopped. */
static void mq_stats(const struct weir_qdisc *q, struct weir_qdisc_stats *st)
{
	*st = (struct weir_qdisc_stats){ 0 };
	for (uint32_t i = 0; i < q->nb_children; i++) {
		struct weir_qdisc_stats c;

		weir_qdisc_stats_get(q->children[i], &c);
		st->packets += c.packets;
		st->bytes += c.bytes;
		st->backlog_pkts += c.backlog_pkts;
		st->backlog_bytes += c.backlog_bytes;
		st->drops += c.drops;
		st->drops_limit += c.drops_limit;
		st->drops_aqm += c.drops_aqm;
		st->ecn_marks += c.ecn_marks;
		st->overlimits += c.overlimits;
		st->requeues += c.requeues;
		st->last_sojourn = WEIR_MAX(st->last_sojourn, c.last_sojourn);
	}
}

static void mq_dump(const struct weir_qdisc *q, struct qd_dump *d)
{
	qd_dump_u64(d, "queues", ((const struct mq *)qd_priv(q))->n);
}

static const struct weir_qdisc_ops mq_ops = {
	.kind = "mq",
	.usage = "mq [queues N] / CHILD  or  mq { CHILD ; CHILD ; ... }",
	.priv_size = sizeof(struct mq),
	.conf_size = sizeof(struct mq_conf),
	.conf_default = &mq_default,
	.params = mq_params,
	.nb_children = mq_nb_children,
	.default_child = "fq_codel",
	.root_only = true,
	.init = mq_init,
	.enqueue = mq_enqueue,
	.dequeue = mq_dequeue,
	.peek = mq_peek,
	.dump = mq_dump,
	.stats = mq_stats,
};

WEIR_QDISC_REGISTER(mq_ops)
