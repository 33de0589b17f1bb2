// SPDX-License-Identifier: BSD-3-Clause
/*
 * mq: the root of a multiqueue port, one child tree per TX queue. Each
 * lcore that owns a TX queue drives its own child (weir_qdisc_child(mq, i))
 * with no lock; enqueueing through mq itself picks the child by the
 * packet's `queue` field, and dequeueing through it serves the children
 * round robin (for single-threaded callers and the dump).
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
	.dump = mq_dump,
};

WEIR_QDISC_REGISTER(mq_ops)
