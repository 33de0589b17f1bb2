// SPDX-License-Identifier: BSD-3-Clause
/*
 * prio: N strict-priority bands, each with a child qdisc; band 0 is always
 * served first. A packet's 4-bit priority picks its band through the
 * priomap (Linux's default map unless given). The priority comes from the
 * packet's priority field, from the IP TOS byte as Linux's rt_tos2priority
 * does (RFC 1349 bits through ip_tos2prio: low delay -> 6, interactive), or from the DSCP (dscp >> 2: CS7/CS6 -> 14..15,
 * EF -> 11, AF4x -> 8..9, ..., CS0 -> 0).
 */
#include <errno.h>

#include "qdisc_internal.h"

#define PRIO_MAX_BANDS 16

enum prio_classify { PRIO_BY_PRIORITY, PRIO_BY_TOS, PRIO_BY_DSCP };

struct prio_conf {
	uint32_t bands;
	struct qd_list priomap;
	uint32_t classify;
};

struct prio {
	uint32_t bands;
	uint32_t classify;
	uint8_t priomap[16];
};

static const char *const classify_choices[] = { "priority", "tos", "dscp", NULL };

static const struct qd_param prio_params[] = {
	{ "bands", QD_P_U32, offsetof(struct prio_conf, bands), 2, PRIO_MAX_BANDS, NULL, NULL,
	  "default 3, or the number of children in { }" },
	{ "priomap", QD_P_LIST, offsetof(struct prio_conf, priomap), 0, PRIO_MAX_BANDS - 1, NULL,
	  NULL, "16 bands, default 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1" },
	{ "classify", QD_P_ENUM, offsetof(struct prio_conf, classify), 0, 0, NULL,
	  classify_choices, "priority (default), tos or dscp (tos, dscp: the sender picks its band; cap high bands with a tbf child)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const struct prio_conf prio_default = {
	.bands = 0,
	.priomap = { 0, { 0 } },
	.classify = PRIO_BY_PRIORITY,
};

static const uint8_t linux_priomap[16] = { 1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1 };

static int prio_nb_children(void *c, int given, char *why, size_t len)
{
	struct prio_conf *conf = c;

	if (given > 0) {
		if (conf->bands && conf->bands != (uint32_t)given)
			return QD_WHY(why, len, "prio has bands %u but %d children in { }",
				      conf->bands, given);
		if (given < 2 || given > PRIO_MAX_BANDS)
			return QD_WHY(why, len, "prio takes 2..%d children, got %d", PRIO_MAX_BANDS,
				      given);
		conf->bands = (uint32_t)given;
	}
	if (!conf->bands)
		conf->bands = 3;
	return (int)conf->bands;
}

static int prio_init(struct weir_qdisc *q, const void *c, char *why, size_t len)
{
	const struct prio_conf *conf = c;
	struct prio *pr = qd_priv(q);

	pr->bands = conf->bands;
	pr->classify = conf->classify;
	if (conf->priomap.n && conf->priomap.n != 16)
		return QD_WHY(why, len, "priomap needs 16 entries (one per priority 0..15), got %u",
			      conf->priomap.n);
	for (unsigned i = 0; i < 16; i++) {
		uint32_t b = conf->priomap.n ? conf->priomap.v[i] : linux_priomap[i];

		if (b >= pr->bands)
			return QD_WHY(why, len, "priomap entry %u is band %u, but there are only %u bands (0..%u)",
				      i, b, pr->bands, pr->bands - 1);
		pr->priomap[i] = (uint8_t)b;
	}
	return 0;
}

/* Linux's ip_tos2prio: RFC 1349 TOS bits to TC_PRIO_* values. */
static const uint8_t ip_tos2prio[16] = { 0, 1, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4 };

static uint32_t prio_band(const struct prio *pr, const struct weir_pkt *p)
{
	int tos;
	unsigned prio;

	switch (pr->classify) {
	case PRIO_BY_TOS:
		tos = qd_pkt_tos(p);
		prio = tos < 0 ? p->priority & 15u : ip_tos2prio[((unsigned)tos >> 1) & 15u];
		break;
	case PRIO_BY_DSCP:
		tos = qd_pkt_tos(p);
		prio = tos < 0 ? p->priority & 15u : ((unsigned)tos >> 2) >> 2;
		break;
	default:
		prio = p->priority & 15u;
	}
	return pr->priomap[prio];
}

static enum weir_qdisc_verdict prio_enqueue(struct weir_qdisc *q, struct weir_pkt *p,
					    weir_ns_t now)
{
	struct prio *pr = qd_priv(q);

	return qd_enqueue(q->children[prio_band(pr, p)], p, now);
}

static struct weir_pkt *prio_dequeue(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *due)
{
	struct prio *pr = qd_priv(q);
	weir_ns_t first = 0;

	for (uint32_t b = 0; b < pr->bands; b++) {
		struct weir_qdisc *c = q->children[b];
		weir_ns_t d = 0;
		struct weir_pkt *p;

		if (!c->st.backlog_pkts)
			continue;
		p = qd_dequeue(c, now, &d);
		if (p)
			return p;
		if (d && (!first || weir_time_after(first, d)))
			first = d;
	}
	*due = first;
	return NULL;
}

static void prio_dump(const struct weir_qdisc *q, struct qd_dump *d)
{
	const struct prio *pr = qd_priv(q);
	char map[64];
	size_t off = 0;

	qd_dump_u64(d, "bands", pr->bands);
	for (unsigned i = 0; i < 16; i++)
		off += (size_t)snprintf(map + off, sizeof(map) - off, "%s%u", i ? " " : "",
					pr->priomap[i]);
	qd_dump_str(d, "priomap", map);
	qd_dump_str(d, "classify", classify_choices[pr->classify]);
}

static const struct weir_qdisc_ops prio_ops = {
	.kind = "prio",
	.usage = "prio [bands N] [priomap P0 .. P15] [classify priority|tos|dscp] { CHILD ; ... } or / CHILD",
	.priv_size = sizeof(struct prio),
	.conf_size = sizeof(struct prio_conf),
	.conf_default = &prio_default,
	.params = prio_params,
	.nb_children = prio_nb_children,
	.default_child = "fifo",
	.init = prio_init,
	.enqueue = prio_enqueue,
	.dequeue = prio_dequeue,
	.dump = prio_dump,
};

WEIR_QDISC_REGISTER(prio_ops)
