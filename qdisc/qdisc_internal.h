/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What every qdisc shares: the ops table, the common node (counters, tree
 * links, the peek stash), the parameter tables the spec parser fills, and
 * the accounting helpers that keep a subtree's backlog and drop counters
 * right in every ancestor.
 *
 * Accounting follows Linux's model. The wrappers qd_enqueue/qd_dequeue
 * count a packet into and out of the node they call (so an ops->enqueue or
 * ops->dequeue never touches its own backlog for the packet it takes or
 * returns). A packet dropped *inside* a qdisc goes through qd_drop (it was
 * never counted: a refused arrival) or qd_drop_queued (it was counted in
 * this node and every ancestor, e.g. CoDel dropping at the head); both
 * count the drop in the node and every ancestor and free the packet once.
 * "Every ancestor" stops below a node that computes its counters from its
 * children when read (ops->stats: mq), whose children run on different
 * lcores; see stats_parent.
 */
#ifndef WEIR_QDISC_INTERNAL_H
#define WEIR_QDISC_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weir/hash.h"
#include "weir/qdisc.h"

#define QD_WHY(why, len, ...) (snprintf((why), (len), __VA_ARGS__), -EINVAL)

enum qd_drop_reason {
	QD_DROP_LIMIT = 0, /* queue, flow or memory limit */
	QD_DROP_AQM,       /* CoDel's control law */
	QD_DROP_OTHER,     /* unclassifiable, larger than the shaper's burst */
};

/* --- parameters ------------------------------------------------------- */

enum qd_param_type {
	QD_P_U32,   /* plain count */
	QD_P_SIZE,  /* bytes: 1514, 32k, 1m (k = 1024, like tc) */
	QD_P_RATE,  /* bits/s: 100mbit, 1gbit, 10kbit, 5mbps (bytes) -> stored as bytes/s */
	QD_P_TIME,  /* 5ms, 100us, 1s, 250ns; bare number = us (like tc) */
	QD_P_FLAG,  /* present: 1; its `neg` name sets 0 */
	QD_P_ENUM,  /* one of `choices`, stored as its index */
	QD_P_LIST,  /* up to 16 u32 (priomap 1 2 2 ..., quanta 1514,3000) */
};

#define QD_LIST_MAX 16

struct qd_list {
	uint32_t n;
	uint32_t v[QD_LIST_MAX];
};

struct qd_param {
	const char *name;
	enum qd_param_type type;
	size_t off;           /* offset in the qdisc's conf struct */
	uint64_t min, max;    /* accepted range (inclusive), 0/0: any */
	const char *neg;      /* QD_P_FLAG: name that clears it (noecn) */
	const char *const *choices; /* QD_P_ENUM: NULL-terminated */
	const char *help;     /* default and meaning, for messages */
};

/* --- ops -------------------------------------------------------------- */

struct qd_dump;

struct weir_qdisc_ops {
	const char *kind;
	const char *usage;          /* one line, for error messages */
	size_t priv_size;
	size_t conf_size;
	const void *conf_default;
	const struct qd_param *params; /* terminated by {NULL} */
	/*
	 * Classful qdiscs: how many children this conf needs. given is the
	 * number in braces, or -1 for one spec after '/' that is replicated,
	 * or 0 for none. Returns the count (> 0) or -EINVAL with a message.
	 * NULL: classless (a child is a parent/child mismatch).
	 */
	int (*nb_children)(void *conf, int given, char *why, size_t len);
	const char *default_child;  /* spec of children not given */
	bool root_only;             /* mq: one per TX queue, only at the root */
	/* Create-from-args: children are already attached (q->children). */
	int (*init)(struct weir_qdisc *q, const void *conf, char *why, size_t len);
	enum weir_qdisc_verdict (*enqueue)(struct weir_qdisc *q, struct weir_pkt *p, weir_ns_t now);
	/* Returns a packet or NULL; a shaper sets *due when it holds some. */
	struct weir_pkt *(*dequeue)(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *due);
	/* Pure peek (head without side effects); NULL: the core peeks by
	 * dequeueing into a stash, as Linux's qdisc_peek_dequeued does. */
	struct weir_pkt *(*peek)(struct weir_qdisc *q, weir_ns_t now);
	/* Frees every packet held (not in children: the core resets them). */
	void (*reset)(struct weir_qdisc *q);
	/* Options (text: " key value", json: members) and extra stats. */
	void (*dump)(const struct weir_qdisc *q, struct qd_dump *d);
	void (*dump_stats)(const struct weir_qdisc *q, struct qd_dump *d);
	/* Frees what init allocated (packets are gone by then). */
	void (*destroy)(struct weir_qdisc *q);
	/*
	 * Counters computed when read instead of kept, for a node whose
	 * children belong to different lcores (mq: the sum of its children,
	 * as Linux's mq_dump). Such a node is no child's stats_parent: the
	 * children's accounting stops below it, so no lcore writes the
	 * counters of a node another lcore also writes. NULL: q->st.
	 */
	void (*stats)(const struct weir_qdisc *q, struct weir_qdisc_stats *st);
};

struct weir_qdisc {
	const struct weir_qdisc_ops *ops;
	struct weir_qdisc *parent;
	/* The next node up whose counters include this one's: parent, or
	 * NULL at the root and under a parent with ops->stats (mq). Every
	 * walk that keeps ancestors' counters right follows this link. */
	struct weir_qdisc *stats_parent;
	struct weir_qdisc **children;
	uint32_t nb_children;
	uint32_t handle;             /* 1, 2, ... in build order */
	struct weir_pkt *peeked;     /* stash of a dequeue-based peek */
	struct weir_qdisc_stats st;  /* subtree backlog and drops, like tc */
	_Alignas(16) unsigned char priv[];
};

static inline void *qd_priv(const struct weir_qdisc *q)
{
	return (void *)q->priv;
}

void weir_qdisc_register(const struct weir_qdisc_ops *ops);
const struct weir_qdisc_ops *weir_qdisc_find(const char *kind);
/* The kind named by the len bytes at name (a token, not NUL-terminated). */
const struct weir_qdisc_ops *qd_find_kind_n(const char *name, size_t len);
/* "fifo, prio, ..." */
void weir_qdisc_list(char *buf, size_t len);
/* Frees q and its subtree, whose packets must be gone already; inited:
 * q's ops->init ran (its children's always did). NULL is allowed. */
void qd_node_free(struct weir_qdisc *q, bool inited);

#define WEIR_QDISC_REGISTER(ops)                                             \
	__attribute__((constructor)) static void weir_qdisc_register_##ops(void) \
	{                                                                    \
		weir_qdisc_register(&(ops));                                 \
	}

/* --- accounting ------------------------------------------------------- */

/* Length the scheduler charges for a packet (wire bytes without CRC). */
static inline uint32_t qd_len(const struct weir_pkt *p)
{
	return p->pkt_len;
}

static inline void qd_count_drop(struct weir_qdisc *q, enum qd_drop_reason why)
{
	for (; q; q = q->stats_parent) {
		q->st.drops++;
		if (why == QD_DROP_LIMIT)
			q->st.drops_limit++;
		else if (why == QD_DROP_AQM)
			q->st.drops_aqm++;
	}
}

/* A packet that was never counted (a refused arrival): count, free. */
static inline void qd_drop(struct weir_qdisc *q, struct weir_pkt *p, enum qd_drop_reason why)
{
	qd_count_drop(q, why);
	weir_pkt_free(p);
}

/* A packet counted in q and every ancestor: uncount, count the drop, free. */
static inline void qd_drop_queued(struct weir_qdisc *q, struct weir_pkt *p,
				  enum qd_drop_reason why)
{
	uint32_t len = qd_len(p);

	for (struct weir_qdisc *a = q; a; a = a->stats_parent) {
		a->st.backlog_pkts--;
		a->st.backlog_bytes -= len;
	}
	qd_count_drop(q, why);
	weir_pkt_free(p);
}

static inline void qd_count_mark(struct weir_qdisc *q)
{
	for (; q; q = q->stats_parent)
		q->st.ecn_marks++;
}

static inline enum weir_qdisc_verdict qd_enqueue(struct weir_qdisc *q, struct weir_pkt *p,
						 weir_ns_t now)
{
	uint32_t len = qd_len(p);
	enum weir_qdisc_verdict v;

	p->enq_time = now;
	v = q->ops->enqueue(q, p, now);
	if (v != WEIR_QDISC_DROPPED) {
		q->st.backlog_pkts++;
		q->st.backlog_bytes += len;
	}
	return v;
}

static inline struct weir_pkt *qd_dequeue(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *due)
{
	struct weir_pkt *p = q->peeked;

	if (p)
		q->peeked = NULL;
	else
		p = q->ops->dequeue(q, now, due);
	if (p) {
		uint32_t len = qd_len(p);

		q->st.backlog_pkts--;
		q->st.backlog_bytes -= len;
		q->st.packets++;
		q->st.bytes += len;
		q->st.last_sojourn = now - p->enq_time;
	}
	return p;
}

/* The packet qd_dequeue would return, left in place. When NULL because a
 * shaper holds packets back, *due (if the qdisc can tell) says until when. */
static inline struct weir_pkt *qd_peek_due(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *due)
{
	if (q->peeked)
		return q->peeked;
	if (q->ops->peek)
		return q->ops->peek(q, now);
	q->peeked = q->ops->dequeue(q, now, due);
	return q->peeked;
}

static inline struct weir_pkt *qd_peek(struct weir_qdisc *q, weir_ns_t now)
{
	weir_ns_t due = 0;

	return qd_peek_due(q, now, &due);
}

/* Frees everything in q's subtree; ancestors' backlog follows. */
void qd_reset(struct weir_qdisc *q);

/* q's counters as weir_qdisc_stats_get() reports them (ops->stats or q->st). */
void qd_stats_read(const struct weir_qdisc *q, struct weir_qdisc_stats *st);

/* --- packet-level helpers (classify.c) -------------------------------- */

/* Simple singly linked packet queue through pkt->qnext. */
struct qd_pktq {
	struct weir_pkt *head, *tail;
};

static inline void qd_pktq_push(struct qd_pktq *l, struct weir_pkt *p)
{
	p->qnext = NULL;
	if (l->tail)
		l->tail->qnext = p;
	else
		l->head = p;
	l->tail = p;
}

static inline struct weir_pkt *qd_pktq_pop(struct qd_pktq *l)
{
	struct weir_pkt *p = l->head;

	if (p) {
		l->head = p->qnext;
		if (!l->head)
			l->tail = NULL;
		p->qnext = NULL;
	}
	return p;
}

/* Frees every packet; returns how many. */
uint32_t qd_pktq_purge(struct qd_pktq *l);

/*
 * Flow hash of the packet's 5-tuple (Ethernet, up to two VLAN tags, IPv4
 * or IPv6, TCP/UDP/SCTP ports), read with bounds checks from untrusted
 * bytes, under the qdisc's key (SipHash-1-3): without the key nobody can
 * tell which flows share a bucket, and a new key re-splits them all. A
 * hash the driver put in p->hash (the kernel's) is keyed instead of the
 * tuple. p is not changed.
 */
uint32_t qd_flow_hash(const struct weir_pkt *p, const struct weir_hash_key *key);

/* IP TOS / traffic class byte, or -1 when not IP. */
int qd_pkt_tos(const struct weir_pkt *p);

/*
 * ECN: sets CE when the packet is ECT(0)/ECT(1) (true), or is already CE
 * (true); false when not ECN-capable or not writable (shared, or header
 * not in the first segment) -- the caller then drops instead. Fixes the
 * IPv4 header checksum incrementally (RFC 1624).
 */
bool qd_ecn_set_ce(struct weir_pkt *p);

/* Maps x in [0, 2^32) onto [0, n) without a division. */
static inline uint32_t qd_scale(uint32_t x, uint32_t n)
{
	return (uint32_t)(((uint64_t)x * n) >> 32);
}

/* --- dump helpers (dump.c) -------------------------------------------- */

struct qd_dump {
	FILE *out;
	int json;
	int first; /* no comma before the next json member */
};

void qd_dump_u64(struct qd_dump *d, const char *key, uint64_t v);
void qd_dump_str(struct qd_dump *d, const char *key, const char *v);
void qd_dump_time(struct qd_dump *d, const char *key, weir_ns_t ns);
void qd_dump_size(struct qd_dump *d, const char *key, uint64_t bytes);
void qd_dump_rate(struct qd_dump *d, const char *key, uint64_t bytes_per_s);
void qd_dump_flag(struct qd_dump *d, const char *key, bool on);

/* Formatters used by dumps and messages. */
void qd_fmt_time(char *buf, size_t len, weir_ns_t ns);
void qd_fmt_rate(char *buf, size_t len, uint64_t bytes_per_s);
void qd_fmt_size(char *buf, size_t len, uint64_t bytes);

#endif
