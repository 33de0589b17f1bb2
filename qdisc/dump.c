// SPDX-License-Identifier: BSD-3-Clause
/*
 * The dump: a tree with its counters as `tc -s qdisc` prints it (one node
 * per stanza, indented by depth, "parent H:N" naming the class), or as one
 * JSON object per node with the children nested; plus the formatters
 * (times, rates, sizes in tc's units) and the helpers through which each
 * qdisc's ops->dump and ops->dump_stats write their members in either form.
 * Control path: it reads the counters the fast path writes (through
 * qd_stats_read, so an mq shows the sum of its children), so it runs on the
 * lcore that owns the tree, or while the lcores driving it are stopped.
 */
#include <stdio.h>

#include "qdisc_internal.h"

/* --- formatters -------------------------------------------------------- */

void qd_fmt_time(char *buf, size_t len, weir_ns_t ns)
{
	if (ns >= WEIR_NS_PER_SEC && ns % WEIR_NS_PER_MS == 0)
		snprintf(buf, len, "%gs", (double)ns / 1e9);
	else if (ns >= WEIR_NS_PER_MS)
		snprintf(buf, len, "%gms", (double)ns / 1e6);
	else if (ns >= WEIR_NS_PER_US)
		snprintf(buf, len, "%gus", (double)ns / 1e3);
	else
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
}

void qd_fmt_rate(char *buf, size_t len, uint64_t bytes_per_s)
{
	double bits = (double)bytes_per_s * 8;

	if (bits >= 1e9)
		snprintf(buf, len, "%gGbit", bits / 1e9);
	else if (bits >= 1e6)
		snprintf(buf, len, "%gMbit", bits / 1e6);
	else if (bits >= 1e3)
		snprintf(buf, len, "%gKbit", bits / 1e3);
	else
		snprintf(buf, len, "%gbit", bits);
}

void qd_fmt_size(char *buf, size_t len, uint64_t b)
{
	if (b >= (1 << 20) && b % (1 << 20) == 0)
		snprintf(buf, len, "%lluMb", (unsigned long long)(b >> 20));
	else if (b >= 1024 && b % 1024 == 0)
		snprintf(buf, len, "%lluKb", (unsigned long long)(b >> 10));
	else
		snprintf(buf, len, "%llub", (unsigned long long)b);
}

/* --- dump helpers for ops->dump and ops->dump_stats --------------------- */

static void json_key(struct qd_dump *d, const char *key)
{
	fprintf(d->out, "%s\"%s\":", d->first ? "" : ",", key);
	d->first = 0;
}

void qd_dump_u64(struct qd_dump *d, const char *key, uint64_t v)
{
	if (d->json) {
		json_key(d, key);
		fprintf(d->out, "%llu", (unsigned long long)v);
	} else {
		fprintf(d->out, " %s %llu", key, (unsigned long long)v);
	}
}

void qd_dump_str(struct qd_dump *d, const char *key, const char *v)
{
	if (d->json) {
		json_key(d, key);
		fprintf(d->out, "\"%s\"", v);
	} else {
		fprintf(d->out, " %s %s", key, v);
	}
}

void qd_dump_time(struct qd_dump *d, const char *key, weir_ns_t ns)
{
	char buf[32];

	if (d->json) {
		char k[64];

		snprintf(k, sizeof(k), "%s_ns", key);
		qd_dump_u64(d, k, ns);
		return;
	}
	qd_fmt_time(buf, sizeof(buf), ns);
	fprintf(d->out, " %s %s", key, buf);
}

void qd_dump_size(struct qd_dump *d, const char *key, uint64_t bytes)
{
	char buf[32];

	if (d->json) {
		qd_dump_u64(d, key, bytes);
		return;
	}
	qd_fmt_size(buf, sizeof(buf), bytes);
	fprintf(d->out, " %s %s", key, buf);
}

void qd_dump_rate(struct qd_dump *d, const char *key, uint64_t bytes_per_s)
{
	char buf[32];

	if (d->json) {
		char k[64];

		snprintf(k, sizeof(k), "%s_bps", key);
		qd_dump_u64(d, k, bytes_per_s * 8);
		return;
	}
	qd_fmt_rate(buf, sizeof(buf), bytes_per_s);
	fprintf(d->out, " %s %s", key, buf);
}

void qd_dump_flag(struct qd_dump *d, const char *key, bool on)
{
	if (d->json) {
		json_key(d, key);
		fprintf(d->out, "%s", on ? "true" : "false");
	} else if (on) {
		fprintf(d->out, " %s", key);
	}
}

/* --- the tree ---------------------------------------------------------- */

static void dump_node(const struct weir_qdisc *q, FILE *out, int json, int depth, uint32_t idx);

static void dump_json(const struct weir_qdisc *q, FILE *out, int depth)
{
	struct qd_dump d = { .out = out, .json = 1, .first = 1 };
	struct weir_qdisc_stats st, *s = &st;

	qd_stats_read(q, s);
	fprintf(out, "{\"kind\":\"%s\",\"handle\":%u,\"parent\":%u,\"options\":{",
		q->ops->kind, q->handle, q->parent ? q->parent->handle : 0);
	if (q->ops->dump)
		q->ops->dump(q, &d);
	fprintf(out,
		"},\"bytes\":%llu,\"packets\":%llu,\"drops\":%llu,\"drops_limit\":%llu,"
		"\"drops_aqm\":%llu,\"ecn_marks\":%llu,\"overlimits\":%llu,\"requeues\":%llu,"
		"\"backlog\":%llu,\"qlen\":%u,\"xstats\":{",
		(unsigned long long)s->bytes, (unsigned long long)s->packets,
		(unsigned long long)s->drops, (unsigned long long)s->drops_limit,
		(unsigned long long)s->drops_aqm, (unsigned long long)s->ecn_marks,
		(unsigned long long)s->overlimits, (unsigned long long)s->requeues,
		(unsigned long long)s->backlog_bytes, s->backlog_pkts);
	d.first = 1;
	if (q->ops->dump_stats)
		q->ops->dump_stats(q, &d);
	fprintf(out, "},\"children\":[");
	for (uint32_t i = 0; i < q->nb_children; i++) {
		if (i)
			fputc(',', out);
		dump_node(q->children[i], out, 1, depth + 1, i);
	}
	fprintf(out, "]}");
}

/* idx: q's place among its parent's children (passed down: looking it up
 * here made a dump of a qdisc with n children take n^2 steps). */
static void dump_text(const struct weir_qdisc *q, FILE *out, int depth, uint32_t idx)
{
	struct qd_dump d = { .out = out, .json = 0, .first = 1 };
	struct weir_qdisc_stats st, *s = &st;
	int ind = depth * 2;

	qd_stats_read(q, s);
	fprintf(out, "%*sqdisc %s %u: ", ind, "", q->ops->kind, q->handle);
	if (q->parent) {
		fprintf(out, "parent %u:%u", q->parent->handle, idx + 1);
	} else {
		fprintf(out, "root");
	}
	if (q->ops->dump)
		q->ops->dump(q, &d);
	fprintf(out, "\n%*s Sent %llu bytes %llu pkt (dropped %llu, overlimits %llu requeues %llu)\n",
		ind, "", (unsigned long long)s->bytes, (unsigned long long)s->packets,
		(unsigned long long)s->drops, (unsigned long long)s->overlimits,
		(unsigned long long)s->requeues);
	fprintf(out, "%*s backlog %llub %up (drops: limit %llu aqm %llu) ecn_mark %llu", ind, "",
		(unsigned long long)s->backlog_bytes, s->backlog_pkts,
		(unsigned long long)s->drops_limit, (unsigned long long)s->drops_aqm,
		(unsigned long long)s->ecn_marks);
	if (q->ops->dump_stats) {
		fprintf(out, "\n%*s", ind, "");
		q->ops->dump_stats(q, &d);
	}
	fputc('\n', out);
	for (uint32_t i = 0; i < q->nb_children; i++)
		dump_node(q->children[i], out, 0, depth + 1, i);
}

static void dump_node(const struct weir_qdisc *q, FILE *out, int json, int depth, uint32_t idx)
{
	if (json)
		dump_json(q, out, depth);
	else
		dump_text(q, out, depth, idx);
}

void weir_qdisc_dump(const struct weir_qdisc *q, FILE *out, int json)
{
	dump_node(q, out, json, 0, 0);
	if (json)
		fputc('\n', out);
}
