// SPDX-License-Identifier: BSD-3-Clause
/*
 * fifo: one first-in first-out queue with a packet limit, an optional byte
 * limit, and tail drop (refuse the arrival) or head drop (drop the oldest,
 * which keeps the freshest data, as pfifo_head_drop does). The anchor every
 * other qdisc is compared against, and the default leaf of classful ones.
 */
#include <errno.h>

#include "qdisc_internal.h"

struct fifo_conf {
	uint32_t limit;   /* packets */
	uint64_t bytes;   /* byte limit, 0: none */
	uint32_t drop;    /* 0 tail, 1 head */
};

struct fifo {
	struct qd_pktq q;
	uint32_t limit;
	uint64_t bytes_limit;
	bool head_drop;
};

static const char *const drop_choices[] = { "tail", "head", NULL };

static const struct qd_param fifo_params[] = {
	{ "limit", QD_P_U32, offsetof(struct fifo_conf, limit), 1, 1000000, NULL, NULL,
	  "packets, default 1000" },
	{ "bytes", QD_P_SIZE, offsetof(struct fifo_conf, bytes), 64, 1ULL << 32, NULL, NULL,
	  "byte limit, default none" },
	{ "drop", QD_P_ENUM, offsetof(struct fifo_conf, drop), 0, 0, NULL, drop_choices,
	  "tail (default) or head" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const struct fifo_conf fifo_default = { .limit = 1000, .bytes = 0, .drop = 0 };

static int fifo_init(struct weir_qdisc *q, const void *c, char *why, size_t len)
{
	const struct fifo_conf *conf = c;
	struct fifo *f = qd_priv(q);

	(void)why;
	(void)len;
	f->limit = conf->limit;
	f->bytes_limit = conf->bytes ? conf->bytes : UINT64_MAX;
	f->head_drop = conf->drop == 1;
	return 0;
}

static enum weir_qdisc_verdict fifo_enqueue(struct weir_qdisc *q, struct weir_pkt *p,
					    weir_ns_t now)
{
	struct fifo *f = qd_priv(q);
	enum weir_qdisc_verdict v = WEIR_QDISC_QUEUED;
	uint32_t len = qd_len(p);

	(void)now;
	if (weir_unlikely(len > f->bytes_limit)) {
		qd_drop(q, p, QD_DROP_LIMIT);
		return WEIR_QDISC_DROPPED;
	}
	while (q->st.backlog_pkts >= f->limit || q->st.backlog_bytes + len > f->bytes_limit) {
		if (!f->head_drop || !f->q.head) {
			qd_drop(q, p, QD_DROP_LIMIT);
			return WEIR_QDISC_DROPPED;
		}
		qd_drop_queued(q, qd_pktq_pop(&f->q), QD_DROP_LIMIT);
		v = WEIR_QDISC_CONGESTED;
	}
	qd_pktq_push(&f->q, p);
	return v;
}

static struct weir_pkt *fifo_dequeue(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *due)
{
	(void)now;
	(void)due;
	return qd_pktq_pop(&((struct fifo *)qd_priv(q))->q);
}

static struct weir_pkt *fifo_peek(struct weir_qdisc *q, weir_ns_t now)
{
	(void)now;
	return ((struct fifo *)qd_priv(q))->q.head;
}

static void fifo_reset(struct weir_qdisc *q)
{
	qd_pktq_purge(&((struct fifo *)qd_priv(q))->q);
}

static void fifo_dump(const struct weir_qdisc *q, struct qd_dump *d)
{
	const struct fifo *f = qd_priv(q);

	qd_dump_u64(d, "limit", f->limit);
	if (f->bytes_limit != UINT64_MAX)
		qd_dump_size(d, "bytes", f->bytes_limit);
	qd_dump_str(d, "drop", f->head_drop ? "head" : "tail");
}

static const struct weir_qdisc_ops fifo_ops = {
	.kind = "fifo",
	.usage = "fifo [limit PACKETS] [bytes SIZE] [drop tail|head]",
	.priv_size = sizeof(struct fifo),
	.conf_size = sizeof(struct fifo_conf),
	.conf_default = &fifo_default,
	.params = fifo_params,
	.init = fifo_init,
	.enqueue = fifo_enqueue,
	.dequeue = fifo_dequeue,
	.peek = fifo_peek,
	.reset = fifo_reset,
	.dump = fifo_dump,
};

WEIR_QDISC_REGISTER(fifo_ops)
