// SPDX-License-Identifier: BSD-3-Clause
/*
 * fq_codel (RFC 8290): packets are hashed by 5-tuple into `flows` queues,
 * each under its own CoDel; a DRR scheduler with a byte quantum serves
 * them, new (sparse) flows first. A flow that arrives with nothing queued
 * joins the new list and is served before the bulk flows of the old list,
 * so a ping, a DNS query or a game packet waits for at most one quantum of
 * each other new flow, not for the bulk backlog. A flow that uses up its
 * quantum goes to the old list, so a flow cannot stay "new" by sending a
 * lot. When the packet limit or the memory limit is hit, up to drop_batch
 * packets go from the head of the fattest flow (the one causing the
 * problem), never from the sparse ones.
 *
 * Follows Linux's sch_fq_codel.c in its choices (deficit refill, the
 * forced pass through old flows when a new one empties, drop half the fat
 * flow's bytes per batch), so results compare with published ones.
 */
#include <errno.h>
#include <stdlib.h>

#include "codel.h"
#include "qdisc_internal.h"

#define FQ_MAX_FLOWS 65536

struct fq_conf {
	uint32_t limit;
	uint32_t flows;
	uint64_t quantum;
	uint64_t target, interval, ce_threshold;
	uint64_t memory_limit;
	uint32_t ecn;
	uint32_t trend;
	uint32_t drop_batch;
	uint32_t seed;
};

enum { FLOW_IDLE = 0, FLOW_NEW, FLOW_OLD };

struct fq_flow {
	struct qd_pktq q;
	struct fq_flow *next; /* in new_flows or old_flows */
	int32_t deficit;
	uint32_t backlog;     /* bytes */
	uint8_t list;         /* FLOW_* */
	struct codel_vars cvars;
};

struct fq_list {
	struct fq_flow *head, *tail;
};

struct fq {
	struct fq_flow *flows;
	uint32_t nb_flows;
	struct weir_hash_key key;
	int32_t quantum;
	uint32_t limit;
	uint32_t drop_batch;
	uint64_t memory_limit;
	uint64_t memory_usage;
	uint64_t memory_peak;
	uint64_t backlog;     /* bytes, as CoDel's mtu test sees it */
	struct fq_list new_flows, old_flows;
	struct fq_flow *cur;  /* flow under codel_dequeue */
	struct weir_qdisc *qd;
	struct codel_params cparams;
	struct codel_stats cstats;
	uint64_t drop_overlimit, drop_memlimit, new_flow_count;
};

static const struct qd_param fq_params[] = {
	{ "limit", QD_P_U32, offsetof(struct fq_conf, limit), 1, 10000000, NULL, NULL,
	  "packets, default 10240" },
	{ "flows", QD_P_U32, offsetof(struct fq_conf, flows), 1, FQ_MAX_FLOWS, NULL, NULL,
	  "hash buckets, default 1024" },
	{ "quantum", QD_P_SIZE, offsetof(struct fq_conf, quantum), 64, 1 << 20, NULL, NULL,
	  "bytes per round, default 1514" },
	{ "target", QD_P_TIME, offsetof(struct fq_conf, target), 1000, 10 * WEIR_NS_PER_SEC,
	  NULL, NULL, "default 5ms" },
	{ "interval", QD_P_TIME, offsetof(struct fq_conf, interval), 1000,
	  100 * WEIR_NS_PER_SEC, NULL, NULL, "default 100ms" },
	{ "ce_threshold", QD_P_TIME, offsetof(struct fq_conf, ce_threshold), 0,
	  10 * WEIR_NS_PER_SEC, NULL, NULL, "default off" },
	{ "memory_limit", QD_P_SIZE, offsetof(struct fq_conf, memory_limit), 65536, 1ULL << 34,
	  NULL, NULL, "bytes of buffers, default 32mb" },
	{ "ecn", QD_P_FLAG, offsetof(struct fq_conf, ecn), 0, 0, "noecn", NULL, "default ecn" },
	{ "trend", QD_P_FLAG, offsetof(struct fq_conf, trend), 0, 0, "notrend", NULL,
	  "skip a drop while the sojourn falls (weir's, not RFC 8289), default notrend" },
	{ "drop_batch", QD_P_U32, offsetof(struct fq_conf, drop_batch), 1, 4096, NULL, NULL,
	  "default 64" },
	{ "seed", QD_P_U32, offsetof(struct fq_conf, seed), 0, UINT32_MAX, NULL, NULL,
	  "hash key seed for reproducible tests, default 0 (random key)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const struct fq_conf fq_default = {
	.limit = 10240,
	.flows = 1024,
	.quantum = 1514,
	.target = 5 * WEIR_NS_PER_MS,
	.interval = 100 * WEIR_NS_PER_MS,
	.ce_threshold = 0,
	.memory_limit = 32 << 20,
	.ecn = 1,
	.drop_batch = 64,
	.seed = 0,
};

/* Bytes a packet pins: its buffers and metadata, not just its payload. */
static inline uint32_t truesize(const struct weir_pkt *p)
{
	return (p->buf_len + (uint32_t)sizeof(struct weir_pkt)) * p->nb_segs;
}

static inline void list_add_tail(struct fq_list *l, struct fq_flow *f)
{
	f->next = NULL;
	if (l->tail)
		l->tail->next = f;
	else
		l->head = f;
	l->tail = f;
}

static inline struct fq_flow *list_pop(struct fq_list *l)
{
	struct fq_flow *f = l->head;

	l->head = f->next;
	if (!l->head)
		l->tail = NULL;
	f->next = NULL;
	return f;
}

/* --- CoDel's view of the current flow --------------------------------- */

static void *fq_cd_dequeue(void *ctx)
{
	struct fq *fq = ctx;
	struct fq_flow *f = fq->cur;
	struct weir_pkt *p = qd_pktq_pop(&f->q);

	if (p) {
		uint32_t len = qd_len(p);

		f->backlog -= len;
		fq->backlog -= len;
		fq->memory_usage -= truesize(p);
	}
	return p;
}

static weir_ns_t fq_cd_enq_time(const void *item)
{
	return ((const struct weir_pkt *)item)->enq_time;
}

static uint32_t fq_cd_len(const void *item)
{
	return qd_len(item);
}

static void fq_cd_drop(void *ctx, void *item)
{
	qd_drop_queued(((struct fq *)ctx)->qd, item, QD_DROP_AQM);
}

static bool fq_cd_set_ce(void *ctx, void *item)
{
	if (!qd_ecn_set_ce(item))
		return false;
	qd_count_mark(((struct fq *)ctx)->qd);
	return true;
}

static const struct codel_queue_ops fq_cd_ops = {
	.dequeue = fq_cd_dequeue,
	.enq_time = fq_cd_enq_time,
	.len = fq_cd_len,
	.drop = fq_cd_drop,
	.set_ce = fq_cd_set_ce,
};

/* --- ops ---------------------------------------------------------------- */

static int fq_init(struct weir_qdisc *q, const void *c, char *why, size_t len)
{
	const struct fq_conf *conf = c;
	struct fq *fq = qd_priv(q);

	if (conf->target >= conf->interval)
		return QD_WHY(why, len, "fq_codel target must be below interval (e.g. target 5ms interval 100ms)");
	fq->flows = calloc(conf->flows, sizeof(*fq->flows));
	if (!fq->flows)
		return -ENOMEM;
	fq->nb_flows = conf->flows;
	fq->quantum = (int32_t)conf->quantum;
	fq->limit = conf->limit;
	fq->drop_batch = conf->drop_batch;
	fq->memory_limit = conf->memory_limit;
	if (conf->seed)
		weir_hash_key_from_seed(&fq->key, conf->seed);
	else
		(void)weir_hash_key_random(&fq->key); /* on failure a weak key: still runs */
	fq->qd = q;
	codel_params_init(&fq->cparams);
	fq->cparams.target = conf->target;
	fq->cparams.interval = conf->interval;
	fq->cparams.ce_threshold = conf->ce_threshold;
	fq->cparams.ecn = conf->ecn;
	fq->cparams.trend = conf->trend;
	for (uint32_t i = 0; i < fq->nb_flows; i++)
		codel_vars_init(&fq->flows[i].cvars);
	return 0;
}

static void fq_destroy(struct weir_qdisc *q)
{
	free(((struct fq *)qd_priv(q))->flows);
}

/*
 * The queue is full: drop up to drop_batch packets, at most about half of
 * its bytes, from the head of the fattest flow. Returns how many were
 * dropped (at least one while any packet is queued); *self is set if
 * `arrival` (counted only here, not yet in the tree) was among them.
 */
static uint32_t fq_drop_fattest(struct weir_qdisc *q, struct fq *fq, struct weir_pkt *arrival,
				bool *self)
{
	struct fq_flow *fat = &fq->flows[0];
	uint32_t threshold, dropped_len = 0, i = 0;

	/* Linear, like Linux: this runs only at overload, once per batch.
	 * Among flows without bytes, a non-empty one wins: zero-length
	 * packets hold no bytes but a buffer each, and count against the
	 * memory limit. */
	for (uint32_t k = 1; k < fq->nb_flows; k++) {
		const struct fq_flow *f = &fq->flows[k];

		if (f->backlog > fat->backlog || (!fat->q.head && f->q.head))
			fat = &fq->flows[k];
	}
	threshold = fat->backlog >> 1;
	do {
		struct weir_pkt *p = qd_pktq_pop(&fat->q);
		uint32_t len;

		if (!p)
			break;
		len = qd_len(p);
		fat->backlog -= len;
		fq->backlog -= len;
		fq->memory_usage -= truesize(p);
		dropped_len += len;
		if (p == arrival) {
			*self = true;
			qd_drop(q, p, QD_DROP_LIMIT);
		} else {
			qd_drop_queued(q, p, QD_DROP_LIMIT);
		}
	} while (++i < fq->drop_batch && dropped_len < threshold);
	return i;
}

static enum weir_qdisc_verdict fq_enqueue(struct weir_qdisc *q, struct weir_pkt *p, weir_ns_t now)
{
	struct fq *fq = qd_priv(q);
	uint32_t idx = qd_scale(qd_flow_hash(p, &fq->key), fq->nb_flows);
	struct fq_flow *f = &fq->flows[idx];
	uint32_t len = qd_len(p);
	bool memory_limited;

	(void)now;
	qd_pktq_push(&f->q, p);
	f->backlog += len;
	fq->backlog += len;
	fq->memory_usage += truesize(p);
	if (fq->memory_usage > fq->memory_peak)
		fq->memory_peak = fq->memory_usage;
	if (f->list == FLOW_IDLE) {
		list_add_tail(&fq->new_flows, f);
		f->list = FLOW_NEW;
		f->deficit = fq->quantum;
		fq->new_flow_count++;
	}
	memory_limited = fq->memory_usage > fq->memory_limit;
	if (weir_likely(q->st.backlog_pkts + 1 <= fq->limit && !memory_limited))
		return WEIR_QDISC_QUEUED;
	if (memory_limited)
		fq->drop_memlimit++;
	else
		fq->drop_overlimit++;
	/* The memory cap is a hard cap: keep dropping batches until under.
	 * Each batch drops at least one of the backlog + 1 packets held (the
	 * arrival's flow is not empty), so this ends within that many
	 * batches; the bound and the stop on an empty batch keep it so
	 * whatever the choice of flow. */
	for (uint32_t batch = 0, max = q->st.backlog_pkts + 1; batch < max; batch++) {
		bool self = false;
		uint32_t n = fq_drop_fattest(q, fq, p, &self);

		if (self)
			return WEIR_QDISC_DROPPED;
		if (!n || fq->memory_usage <= fq->memory_limit)
			break;
	}
	return WEIR_QDISC_CONGESTED;
}

static struct weir_pkt *fq_dequeue(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *due)
{
	struct fq *fq = qd_priv(q);

	(void)q;
	(void)due;
	for (;;) {
		struct fq_list *head = &fq->new_flows;
		struct fq_flow *f;
		struct weir_pkt *p;

		if (!head->head) {
			head = &fq->old_flows;
			if (!head->head)
				return NULL;
		}
		f = head->head;
		if (f->deficit <= 0) {
			f->deficit += fq->quantum;
			list_pop(head);
			list_add_tail(&fq->old_flows, f);
			f->list = FLOW_OLD;
			continue;
		}
		fq->cur = f;
		p = codel_dequeue(fq, &fq->backlog, &fq->cparams, &f->cvars, &fq->cstats, &fq_cd_ops,
				  now);
		if (!p) {
			list_pop(head);
			/* An emptied new flow passes through the old list once,
			 * so a flow cannot stay "new" by sending in bursts
			 * (RFC 8290 section 4.2). */
			if (head == &fq->new_flows && fq->old_flows.head) {
				list_add_tail(&fq->old_flows, f);
				f->list = FLOW_OLD;
			} else {
				f->list = FLOW_IDLE;
			}
			continue;
		}
		f->deficit -= (int32_t)qd_len(p);
		return p;
	}
}

static void fq_reset(struct weir_qdisc *q)
{
	struct fq *fq = qd_priv(q);

	for (uint32_t i = 0; i < fq->nb_flows; i++) {
		struct fq_flow *f = &fq->flows[i];

		qd_pktq_purge(&f->q);
		f->backlog = 0;
		f->list = FLOW_IDLE;
		f->next = NULL;
		codel_vars_init(&f->cvars);
	}
	fq->new_flows = (struct fq_list){ NULL, NULL };
	fq->old_flows = (struct fq_list){ NULL, NULL };
	fq->backlog = 0;
	fq->memory_usage = 0;
}

static void fq_dump(const struct weir_qdisc *q, struct qd_dump *d)
{
	const struct fq *fq = qd_priv(q);

	qd_dump_u64(d, "limit", fq->limit);
	qd_dump_u64(d, "flows", fq->nb_flows);
	qd_dump_u64(d, "quantum", (uint64_t)fq->quantum);
	qd_dump_time(d, "target", fq->cparams.target);
	qd_dump_time(d, "interval", fq->cparams.interval);
	if (fq->cparams.ce_threshold)
		qd_dump_time(d, "ce_threshold", fq->cparams.ce_threshold);
	qd_dump_size(d, "memory_limit", fq->memory_limit);
	qd_dump_flag(d, "ecn", fq->cparams.ecn);
	if (fq->cparams.trend)
		qd_dump_flag(d, "trend", true);
	qd_dump_u64(d, "drop_batch", fq->drop_batch);
}

static void fq_dump_stats(const struct weir_qdisc *q, struct qd_dump *d)
{
	const struct fq *fq = qd_priv(q);
	uint32_t nnew = 0, nold = 0;

	for (const struct fq_flow *f = fq->new_flows.head; f; f = f->next)
		nnew++;
	for (const struct fq_flow *f = fq->old_flows.head; f; f = f->next)
		nold++;
	qd_dump_u64(d, "maxpacket", fq->cstats.maxpacket);
	qd_dump_u64(d, "drop_overlimit", fq->drop_overlimit);
	qd_dump_u64(d, "drop_memlimit", fq->drop_memlimit);
	qd_dump_u64(d, "new_flow_count", fq->new_flow_count);
	qd_dump_u64(d, "ecn_mark", fq->cstats.ecn_mark);
	qd_dump_u64(d, "ce_mark", fq->cstats.ce_mark);
	qd_dump_u64(d, "drop_held", fq->cstats.drop_held);
	qd_dump_u64(d, "new_flows_len", nnew);
	qd_dump_u64(d, "old_flows_len", nold);
	qd_dump_size(d, "memory_used", fq->memory_usage);
	qd_dump_size(d, "memory_peak", fq->memory_peak);
}

static const struct weir_qdisc_ops fq_codel_ops = {
	.kind = "fq_codel",
	.usage = "fq_codel [limit PACKETS] [flows N] [quantum SIZE] [target TIME] [interval TIME] "
		 "[ce_threshold TIME] [memory_limit SIZE] [ecn|noecn] [trend|notrend] [drop_batch N] [seed N]",
	.priv_size = sizeof(struct fq),
	.conf_size = sizeof(struct fq_conf),
	.conf_default = &fq_default,
	.params = fq_params,
	.init = fq_init,
	.enqueue = fq_enqueue,
	.dequeue = fq_dequeue,
	.reset = fq_reset,
	.dump = fq_dump,
	.dump_stats = fq_dump_stats,
	.destroy = fq_destroy,
};

WEIR_QDISC_REGISTER(fq_codel_ops)
