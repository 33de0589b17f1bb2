// SPDX-License-Identifier: BSD-3-Clause
/*
 * codel: one FIFO under CoDel's control (RFC 8289). Packets are
 * timestamped on enqueue; on dequeue the control law in codel.h drops (or,
 * with ecn, marks) the head while the sojourn time has stayed above target
 * for an interval, at intervals shrinking as interval / sqrt(count). The
 * tail limit only guards memory; CoDel does the queue control.
 */
#include <errno.h>

#include "codel.h"
#include "qdisc_internal.h"

struct codel_conf {
	uint32_t limit;
	uint64_t target, interval, ce_threshold;
	uint32_t ecn;
	uint32_t trend;
};

struct codel_q {
	struct qd_pktq q;
	uint64_t bytes;     /* what codel's mtu test sees, updated on pop */
	struct weir_qdisc *qd;
	uint32_t limit;
	uint64_t drop_overlimit;
	struct codel_params params;
	struct codel_vars vars;
	struct codel_stats stats;
};

static const struct qd_param codel_params_tbl[] = {
	{ "limit", QD_P_U32, offsetof(struct codel_conf, limit), 1, 1000000, NULL, NULL,
	  "packets, default 1000" },
	{ "target", QD_P_TIME, offsetof(struct codel_conf, target), 1000, 10 * WEIR_NS_PER_SEC,
	  NULL, NULL, "default 5ms" },
	{ "interval", QD_P_TIME, offsetof(struct codel_conf, interval), 1000,
	  100 * WEIR_NS_PER_SEC, NULL, NULL, "default 100ms" },
	{ "ce_threshold", QD_P_TIME, offsetof(struct codel_conf, ce_threshold), 0,
	  10 * WEIR_NS_PER_SEC, NULL, NULL, "default off" },
	{ "ecn", QD_P_FLAG, offsetof(struct codel_conf, ecn), 0, 0, "noecn", NULL,
	  "default noecn" },
	{ "trend", QD_P_FLAG, offsetof(struct codel_conf, trend), 0, 0, "notrend", NULL,
	  "skip a drop while the sojourn falls (weir's, not RFC 8289), default notrend" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const struct codel_conf codel_default = {
	.limit = 1000,
	.target = 5 * WEIR_NS_PER_MS,
	.interval = 100 * WEIR_NS_PER_MS,
	.ce_threshold = 0,
	.ecn = 0,
};

static void *cq_dequeue(void *ctx)
{
	struct codel_q *c = ctx;
	struct weir_pkt *p = qd_pktq_pop(&c->q);

	if (p)
		c->bytes -= qd_len(p);
	return p;
}

static weir_ns_t cq_enq_time(const void *item)
{
	return ((const struct weir_pkt *)item)->enq_time;
}

static uint32_t cq_len(const void *item)
{
	return qd_len(item);
}

static void cq_drop(void *ctx, void *item)
{
	qd_drop_queued(((struct codel_q *)ctx)->qd, item, QD_DROP_AQM);
}

static bool cq_set_ce(void *ctx, void *item)
{
	if (!qd_ecn_set_ce(item))
		return false;
	qd_count_mark(((struct codel_q *)ctx)->qd);
	return true;
}

static const struct codel_queue_ops cq_ops = {
	.dequeue = cq_dequeue,
	.enq_time = cq_enq_time,
	.len = cq_len,
	.drop = cq_drop,
	.set_ce = cq_set_ce,
};

static int codel_init(struct weir_qdisc *q, const void *cf, char *why, size_t len)
{
	const struct codel_conf *conf = cf;
	struct codel_q *c = qd_priv(q);

	if (conf->target >= conf->interval)
		return QD_WHY(why, len, "codel target must be below interval (e.g. target 5ms interval 100ms)");
	c->qd = q;
	c->limit = conf->limit;
	codel_params_init(&c->params);
	c->params.target = conf->target;
	c->params.interval = conf->interval;
	c->params.ce_threshold = conf->ce_threshold;
	c->params.ecn = conf->ecn;
	c->params.trend = conf->trend;
	codel_vars_init(&c->vars);
	return 0;
}

static enum weir_qdisc_verdict codel_enqueue(struct weir_qdisc *q, struct weir_pkt *p,
					     weir_ns_t now)
{
	struct codel_q *c = qd_priv(q);

	(void)now;
	if (weir_unlikely(q->st.backlog_pkts >= c->limit)) {
		c->drop_overlimit++;
		qd_drop(q, p, QD_DROP_LIMIT);
		return WEIR_QDISC_DROPPED;
	}
	qd_pktq_push(&c->q, p);
	c->bytes += qd_len(p);
	return WEIR_QDISC_QUEUED;
}

static struct weir_pkt *codel_qdequeue(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *due)
{
	struct codel_q *c = qd_priv(q);

	(void)due;
	return codel_dequeue(c, &c->bytes, &c->params, &c->vars, &c->stats, &cq_ops, now);
}

static void codel_reset(struct weir_qdisc *q)
{
	struct codel_q *c = qd_priv(q);

	qd_pktq_purge(&c->q);
	c->bytes = 0;
	codel_vars_init(&c->vars);
}

static void codel_dump(const struct weir_qdisc *q, struct qd_dump *d)
{
	const struct codel_q *c = qd_priv(q);

	qd_dump_u64(d, "limit", c->limit);
	qd_dump_time(d, "target", c->params.target);
	qd_dump_time(d, "interval", c->params.interval);
	if (c->params.ce_threshold)
		qd_dump_time(d, "ce_threshold", c->params.ce_threshold);
	qd_dump_flag(d, "ecn", c->params.ecn);
	if (c->params.trend)
		qd_dump_flag(d, "trend", true);
}

static void codel_dump_stats(const struct weir_qdisc *q, struct qd_dump *d)
{
	const struct codel_q *c = qd_priv(q);

	qd_dump_u64(d, "count", c->vars.count);
	qd_dump_u64(d, "lastcount", c->vars.lastcount);
	qd_dump_time(d, "ldelay", c->vars.ldelay);
	qd_dump_flag(d, "dropping", c->vars.dropping);
	qd_dump_u64(d, "maxpacket", c->stats.maxpacket);
	qd_dump_u64(d, "drop_overlimit", c->drop_overlimit);
	qd_dump_u64(d, "ce_mark", c->stats.ce_mark);
	qd_dump_u64(d, "drop_held", c->stats.drop_held);
}

static const struct weir_qdisc_ops codel_ops = {
	.kind = "codel",
	.usage = "codel [limit PACKETS] [target TIME] [interval TIME] [ce_threshold TIME] [ecn|noecn] [trend|notrend]",
	.priv_size = sizeof(struct codel_q),
	.conf_size = sizeof(struct codel_conf),
	.conf_default = &codel_default,
	.params = codel_params_tbl,
	.init = codel_init,
	.enqueue = codel_enqueue,
	.dequeue = codel_qdequeue,
	.reset = codel_reset,
	.dump = codel_dump,
	.dump_stats = codel_dump_stats,
};

WEIR_QDISC_REGISTER(codel_ops)
