// SPDX-License-Identifier: BSD-3-Clause
/*
 * drr: deficit round robin (Shreedhar & Varghese) between classes, each
 * with its own child qdisc and quantum. A class on the active list may
 * send while its deficit covers the head packet; otherwise it gets one
 * quantum more and goes to the back. Over a round every backlogged class
 * sends about its quantum in bytes, whatever its packet sizes, at O(1) per
 * packet.
 *
 * Classifiers: the packet's priority field (class = priority mod classes),
 * or sfq-style flow hashing: the 5-tuple hashed under a random key
 * (getrandom()), which can be redrawn every `perturb` so flows that
 * collide now do not collide forever (packets already queued stay in
 * their old class, so a new key may reorder a flow once, as sfq did).
 */
#include <errno.h>
#include <stdlib.h>

#include "qdisc_internal.h"

#define DRR_MAX_CLASSES 65536

enum drr_classify { DRR_BY_HASH, DRR_BY_PRIORITY };

struct drr_conf {
	uint32_t classes;
	uint64_t quantum;
	struct qd_list quanta;
	uint32_t classify;
	uint64_t perturb;
};

struct drr_class {
	struct weir_qdisc *child;
	struct drr_class *next; /* active list */
	uint32_t quantum;
	uint32_t deficit;
	bool active;
};

struct drr {
	struct drr_class *cls;
	struct drr_class *head, *tail;
	uint32_t n, nactive;
	uint32_t classify;
	struct weir_hash_key key;
	weir_ns_t perturb, next_perturb;
	uint64_t quantum;
};

static const char *const drr_classify_choices[] = { "hash", "priority", NULL };

static const struct qd_param drr_params[] = {
	{ "classes", QD_P_U32, offsetof(struct drr_conf, classes), 1, DRR_MAX_CLASSES, NULL, NULL,
	  "default 16, or the number of children in { }" },
	{ "flows", QD_P_U32, offsetof(struct drr_conf, classes), 1, DRR_MAX_CLASSES, NULL, NULL,
	  "same as classes" },
	{ "quantum", QD_P_SIZE, offsetof(struct drr_conf, quantum), 64, 1 << 20, NULL, NULL,
	  "bytes per round for every class, default 1514" },
	{ "quanta", QD_P_LIST, offsetof(struct drr_conf, quanta), 64, 1 << 20, NULL, NULL,
	  "bytes per round for each class in order" },
	{ "classify", QD_P_ENUM, offsetof(struct drr_conf, classify), 0, 0, NULL,
	  drr_classify_choices, "hash (default) or priority" },
	{ "perturb", QD_P_TIME, offsetof(struct drr_conf, perturb), 0, 3600 * WEIR_NS_PER_SEC,
	  NULL, NULL, "period of drawing a new hash key, default 0 (never)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const struct drr_conf drr_default = {
	.classes = 0, .quantum = 1514, .classify = DRR_BY_HASH, .perturb = 0,
};

static int drr_nb_children(void *c, int given, char *why, size_t len)
{
	struct drr_conf *conf = c;

	if (given > 0) {
		if (conf->classes && conf->classes != (uint32_t)given)
			return QD_WHY(why, len, "drr has classes %u but %d children in { }",
				      conf->classes, given);
		conf->classes = (uint32_t)given;
	}
	if (!conf->classes)
		conf->classes = conf->quanta.n ? conf->quanta.n : 16;
	return (int)conf->classes;
}

/* A failed getrandom() leaves a weak but fresh key: drr still runs. The
 * kernel's pool is initialized by the first call, so later ones (every
 * perturb, on the enqueue path) never block. */
static void new_key(struct drr *d)
{
	(void)weir_hash_key_random(&d->key);
}

static int drr_init(struct weir_qdisc *q, const void *c, char *why, size_t len)
{
	const struct drr_conf *conf = c;
	struct drr *d = qd_priv(q);

	if (conf->quanta.n && conf->quanta.n != conf->classes)
		return QD_WHY(why, len, "drr has %u classes but quanta lists %u", conf->classes,
			      conf->quanta.n);
	d->cls = calloc(q->nb_children, sizeof(*d->cls));
	if (!d->cls)
		return -ENOMEM;
	d->n = q->nb_children;
	d->classify = conf->classify;
	d->perturb = conf->perturb;
	d->quantum = conf->quantum;
	new_key(d);
	for (uint32_t i = 0; i < d->n; i++) {
		d->cls[i].child = q->children[i];
		d->cls[i].quantum = conf->quanta.n ? conf->quanta.v[i] : (uint32_t)conf->quantum;
	}
	return 0;
}

static void drr_destroy(struct weir_qdisc *q)
{
	free(((struct drr *)qd_priv(q))->cls);
}

static void activate(struct drr *d, struct drr_class *cl)
{
	cl->active = true;
	cl->deficit = cl->quantum;
	cl->next = NULL;
	if (d->tail)
		d->tail->next = cl;
	else
		d->head = cl;
	d->tail = cl;
	d->nactive++;
}

static void deactivate_head(struct drr *d)
{
	struct drr_class *cl = d->head;

	d->head = cl->next;
	if (!d->head)
		d->tail = NULL;
	cl->active = false;
	cl->next = NULL;
	d->nactive--;
}

static void rotate_head(struct drr *d)
{
	struct drr_class *cl = d->head;

	if (cl == d->tail)
		return;
	d->head = cl->next;
	cl->next = NULL;
	d->tail->next = cl;
	d->tail = cl;
}

static enum weir_qdisc_verdict drr_enqueue(struct weir_qdisc *q, struct weir_pkt *p,
					   weir_ns_t now)
{
	struct drr *d = qd_priv(q);
	struct drr_class *cl;
	enum weir_qdisc_verdict v;
	uint32_t i;

	if (d->classify == DRR_BY_PRIORITY) {
		i = p->priority % d->n;
	} else {
		if (d->perturb && weir_time_after(now, d->next_perturb)) {
			new_key(d);
			d->next_perturb = now + d->perturb;
		}
		i = qd_scale(qd_flow_hash(p, &d->key), d->n);
	}
	cl = &d->cls[i];
	v = qd_enqueue(cl->child, p, now);
	if (v != WEIR_QDISC_DROPPED && !cl->active)
		activate(d, cl);
	return v;
}

static struct weir_pkt *drr_dequeue(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *due)
{
	struct drr *d = qd_priv(q);
	uint32_t stalls = 0;
	weir_ns_t first = 0;

	while (d->head) {
		struct drr_class *cl = d->head;
		weir_ns_t dd = 0;
		struct weir_pkt *p;
		uint32_t len;

		if (!cl->child->st.backlog_pkts) {
			deactivate_head(d);
			continue;
		}
		p = qd_peek_due(cl->child, now, &dd);
		if (!p) {
			/* A shaped child holds packets back: try the others. */
			if (!cl->child->st.backlog_pkts) {
				deactivate_head(d);
				continue;
			}
			if (dd && (!first || weir_time_after(first, dd)))
				first = dd;
			rotate_head(d);
			if (++stalls >= d->nactive)
				break;
			continue;
		}
		len = qd_len(p);
		if (len <= cl->deficit) {
			cl->deficit -= len;
			p = qd_dequeue(cl->child, now, due);
			if (!cl->child->st.backlog_pkts)
				deactivate_head(d);
			return p;
		}
		cl->deficit += cl->quantum;
		rotate_head(d);
	}
	*due = first;
	return NULL;
}

static void drr_reset(struct weir_qdisc *q)
{
	struct drr *d = qd_priv(q);

	while (d->head)
		deactivate_head(d);
}

static void drr_dump(const struct weir_qdisc *q, struct qd_dump *dd)
{
	const struct drr *d = qd_priv(q);

	qd_dump_u64(dd, "classes", d->n);
	qd_dump_size(dd, "quantum", d->quantum);
	qd_dump_str(dd, "classify", drr_classify_choices[d->classify]);
	if (d->perturb)
		qd_dump_time(dd, "perturb", d->perturb);
}

static void drr_dump_stats(const struct weir_qdisc *q, struct qd_dump *dd)
{
	const struct drr *d = qd_priv(q);

	qd_dump_u64(dd, "active_classes", d->nactive);
}

static const struct weir_qdisc_ops drr_ops = {
	.kind = "drr",
	.usage = "drr [classes N] [quantum SIZE] [quanta Q1,Q2,..] [classify hash|priority] "
		 "[perturb TIME] { CHILD ; ... } or / CHILD",
	.priv_size = sizeof(struct drr),
	.conf_size = sizeof(struct drr_conf),
	.conf_default = &drr_default,
	.params = drr_params,
	.nb_children = drr_nb_children,
	.default_child = "fifo limit 128",
	.init = drr_init,
	.enqueue = drr_enqueue,
	.dequeue = drr_dequeue,
	.reset = drr_reset,
	.dump = drr_dump,
	.dump_stats = drr_dump_stats,
	.destroy = drr_destroy,
};

WEIR_QDISC_REGISTER(drr_ops)
