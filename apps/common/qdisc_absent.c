// SPDX-License-Identifier: BSD-3-Clause
/*
 * Linked into weir-fwd only while the tree has no scheduler (qdisc/ defines
 * no weir_qdisc_dep yet): every qdisc constructor fails with a message that
 * says so, so --egress is refused instead of silently ignored. Removed once
 * the scheduler lands.
 */
#include <errno.h>
#include <stdio.h>

#include "weir/qdisc.h"

int weir_qdisc_create(const char *spec, struct weir_qdisc **out, char *why, size_t whylen)
{
	(void)out;
	snprintf(why, whylen, "'%s': this build has no scheduler (qdisc/ is not built yet)",
		 spec);
	return -ENOTSUP;
}

void weir_qdisc_destroy(struct weir_qdisc *q)
{
	(void)q;
}

enum weir_qdisc_verdict weir_qdisc_enqueue(struct weir_qdisc *q, struct weir_pkt *pkt,
					   weir_ns_t now)
{
	(void)q;
	(void)now;
	weir_pkt_free(pkt);
	return WEIR_QDISC_DROPPED;
}

struct weir_pkt *weir_qdisc_dequeue(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *next_due)
{
	(void)q;
	(void)now;
	if (next_due)
		*next_due = 0;
	return NULL;
}

void weir_qdisc_reset(struct weir_qdisc *q)
{
	(void)q;
}

void weir_qdisc_stats_get(const struct weir_qdisc *q, struct weir_qdisc_stats *st)
{
	(void)q;
	*st = (struct weir_qdisc_stats){0};
}

void weir_qdisc_dump(const struct weir_qdisc *q, FILE *out, int json)
{
	(void)q;
	fputs(json ? "null" : "", out);
}

void weir_dql_init(struct weir_dql *dql, weir_ns_t hold_time)
{
	*dql = (struct weir_dql){.hold_time = hold_time};
}

void weir_dql_queued(struct weir_dql *dql, uint32_t bytes)
{
	dql->num_queued += bytes;
}

void weir_dql_completed(struct weir_dql *dql, uint32_t bytes, weir_ns_t now)
{
	(void)now;
	dql->num_completed += bytes;
}
