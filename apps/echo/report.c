// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-echo's reports: the live line, the text summary and the JSON document
 * (telemetry and --json). They run on the control and telemetry threads and
 * read only what the lcores publish: relaxed-atomic counters, the port's own
 * counters, and the snapshots of each lcore's stack under its mutex. The
 * stack counters of all lcores are summed by name (every stack lists them
 * in the same order); the drops among them are listed apart, by reason.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "weir/pool.h"
#include "weir/port.h"

#include "common/fastpath.h"
#include "common/report.h"
#include "echo/echo.h"

/* Stack counters that count traffic, not drops; the gauges come after
 * them (from neigh_entries on) and are not drops either. */
static const char *const traffic[] = {
	"eth_rx_frames", "eth_tx_frames", "arp_rx_requests", "arp_rx_replies",
	"arp_tx_requests", "arp_tx_replies", "arp_tx_gratuitous", "ip_rx_packets",
	"ip_tx_packets", "ip_tx_fragments", "icmp_rx_packets", "icmp_rx_echo_requests",
	"icmp_rx_errors", "icmp_tx_echo_replies", "icmp_tx_errors", "udp_rx_datagrams",
	"udp_rx_delivered", "udp_rx_csum_trusted", "udp_tx_datagrams", "udp_tx_csum_partial",
	"frag_rx_fragments", "frag_reassembled", "frag_timeouts", "frag_copied",
	"neigh_entries", "neigh_queued", "frag_mem_bytes", "frag_datagrams",
	"frag_budget_bytes", "frag_budget_source_bytes", "tx_pending",
};

bool echo_is_drop(const char *name)
{
	for (size_t i = 0; i < WEIR_ARRAY_SIZE(traffic); i++)
		if (!strcmp(name, traffic[i]))
			return false;
	return true;
}

/* Sum of every lcore's published counter i into *v; its name. */
static const char *stack_ctr(struct echo *e, int i, uint64_t *v)
{
	const char *name = e->lcores[0].snap.xs[i].name;

	*v = 0;
	for (uint16_t q = 0; q < e->base.queues; q++) {
		struct echo_lcore *lc = &e->lcores[q];

		pthread_mutex_lock(&lc->mu);
		*v += lc->snap.xs[i].value;
		pthread_mutex_unlock(&lc->mu);
	}
	return name;
}

static uint64_t stack_named(struct echo *e, const char *name)
{
	uint64_t v;

	for (int i = 0; i < e->lcores[0].snap.n; i++)
		if (!strcmp(stack_ctr(e, i, &v), name))
			return v;
	return 0;
}

static uint64_t stack_drops(struct echo *e)
{
	uint64_t v, sum = 0;

	for (int i = 0; i < e->lcores[0].snap.n; i++)
		if (echo_is_drop(stack_ctr(e, i, &v)))
			sum += v;
	return sum;
}

void echo_totals(void *ctx, void *out)
{
	struct echo *e = ctx;
	struct echo_totals *t = out;
	struct weir_port_stats st;

	memset(t, 0, sizeof(*t));
	weir_port_stats_get(e->port, &st);
	t->rx_pkts = st.ipackets;
	t->rx_bytes = st.ibytes;
	t->tx_pkts = st.opackets;
	t->tx_bytes = st.obytes;
	t->drops = st.imissed + st.rx_nombuf + st.oerrors + st.odropped + stack_drops(e);
	for (uint16_t q = 0; q < e->base.queues; q++)
		t->echoed += ctr(&e->lcores[q].echoed);
	t->pings = stack_named(e, "icmp_tx_echo_replies");
}

void echo_live(void *ctx, const void *prev_totals, const void *cur_totals, double dt)
{
	const struct echo_totals *prev = prev_totals, *cur = cur_totals;
	char a[32], b[32], c[32], d[32];

	fprintf(stderr, "weir-echo: rx %spps  tx %spps %sbit/s  udp echo %s/s  ping %" PRIu64
			"/s  drops %" PRIu64 "/s\n",
		app_fmt_si((double)(cur->rx_pkts - prev->rx_pkts) / dt, a, sizeof(a)),
		app_fmt_si((double)(cur->tx_pkts - prev->tx_pkts) / dt, b, sizeof(b)),
		app_fmt_si((double)(cur->tx_bytes - prev->tx_bytes) * 8 / dt, c, sizeof(c)),
		app_fmt_si((double)(cur->echoed - prev->echoed) / dt, d, sizeof(d)),
		(uint64_t)((double)(cur->pings - prev->pings) / dt),
		(uint64_t)((double)(cur->drops - prev->drops) / dt));
	(void)ctx;
}

static void write_xstats_json(FILE *o, struct weir_port *port)
{
	struct weir_xstat xs[64];
	int n = weir_port_xstats_get(port, xs, (int)WEIR_ARRAY_SIZE(xs));

	fputc('{', o);
	for (int i = 0; i < n && i < (int)WEIR_ARRAY_SIZE(xs); i++) {
		fputs(i ? "," : "", o);
		report_json_str(o, xs[i].name);
		fprintf(o, ":%" PRIu64, xs[i].value);
	}
	fputc('}', o);
}

/* "stack": every counter summed; "drops": the drop reasons among them. */
static void write_stack_json(FILE *o, struct echo *e)
{
	uint64_t v, total = 0;
	int n = e->lcores[0].snap.n;

	fputs(",\"stack\":{", o);
	for (int i = 0; i < n; i++) {
		const char *name = stack_ctr(e, i, &v);

		fputs(i ? "," : "", o);
		report_json_str(o, name);
		fprintf(o, ":%" PRIu64, v);
	}
	fputs("},\"drops\":{", o);
	for (int i = 0, first = 1; i < n; i++) {
		const char *name = stack_ctr(e, i, &v);

		if (!echo_is_drop(name))
			continue;
		fputs(first ? "" : ",", o);
		report_json_str(o, name);
		fprintf(o, ":%" PRIu64, v);
		total += v;
		first = 0;
	}
	fprintf(o, "},\"drops_total\":%" PRIu64, total);
}

static void write_udp_json(FILE *o, struct echo *e)
{
	fputs(",\"udp_ports\":[", o);
	for (int i = 0; i < e->nudp; i++) {
		uint64_t rx = 0, full = 0;

		for (uint16_t q = 0; q < e->base.queues; q++) {
			struct echo_lcore *lc = &e->lcores[q];

			pthread_mutex_lock(&lc->mu);
			rx += lc->snap.sock_rx[i];
			full += lc->snap.sock_full[i];
			pthread_mutex_unlock(&lc->mu);
		}
		fprintf(o, "%s{\"port\":%u,\"rx_datagrams\":%" PRIu64 ",\"rx_queue_full\":%" PRIu64
			   "}", i ? "," : "", e->udp_ports[i], rx, full);
	}
	fputc(']', o);
}

void echo_json(FILE *o, void *ctx)
{
	struct echo *e = ctx;
	uint64_t echoed = 0, bytes = 0, refused = 0, copied = 0, copy_drops = 0;
	uint32_t be = htonl(e->addr);
	char addr[INET_ADDRSTRLEN];
	struct weir_port_stats st;

	for (uint16_t q = 0; q < e->base.queues; q++) {
		struct echo_lcore *lc = &e->lcores[q];

		echoed += ctr(&lc->echoed);
		bytes += ctr(&lc->echoed_bytes);
		refused += ctr(&lc->echo_refused);
		copied += ctr(&lc->arp_copied);
		copy_drops += ctr(&lc->arp_copy_drops);
	}
	inet_ntop(AF_INET, &be, addr, sizeof(addr));
	fprintf(o, "{\"app\":\"weir-echo\",\"uptime_s\":%.3f,\"queues\":%u,\"addr\":\"%s/%u\",",
		(double)(weir_clock_now() - e->base.start) / 1e9, e->base.queues, addr, e->prefix);
	fprintf(o, "\"echoed\":%" PRIu64 ",\"echoed_bytes\":%" PRIu64 ",\"echo_refused\":%" PRIu64
		   ",\"arp_copied\":%" PRIu64 ",\"arp_copy_drops\":%" PRIu64 ",\"port\":{\"spec\":",
		echoed, bytes, refused, copied, copy_drops);
	weir_port_stats_get(e->port, &st);
	report_json_str(o, e->spec);
	report_port_stats_json(o, &st);
	fputs(",\"xstats\":", o);
	write_xstats_json(o, e->port);
	fputc('}', o);
	write_udp_json(o, e);
	fputs(",\"lcores\":[", o);
	for (uint16_t q = 0; q < e->base.queues; q++)
		fprintf(o, "%s{\"queue\":%u,\"echoed\":%" PRIu64 "}", q ? "," : "", q,
			ctr(&e->lcores[q].echoed));
	fputc(']', o);
	write_stack_json(o, e);
	fprintf(o, ",\"pool\":{\"size\":%u,\"in_use\":%u,\"alloc_fails\":%" PRIu64 "}}",
		e->base.pool->n, weir_pool_in_use(e->base.pool),
		(uint64_t)atomic_load(&e->base.pool->alloc_fails));
}

void echo_summary(FILE *o, void *ctx)
{
	struct echo *e = ctx;
	double secs = (double)(weir_clock_now() - e->base.start) / 1e9;
	struct echo_totals t;
	uint64_t v;
	char a[32];

	echo_totals(e, &t);
	fprintf(o, "weir-echo: %.2f s: rx %" PRIu64 " frames (%spps), tx %" PRIu64 ", udp echoed %"
		   PRIu64 ", ping replies %" PRIu64 ", drops %" PRIu64 "\n",
		secs, t.rx_pkts, app_fmt_si(secs > 0 ? (double)t.rx_pkts / secs : 0, a, sizeof(a)),
		t.tx_pkts, t.echoed, t.pings, t.drops);
	for (int i = 0; i < e->lcores[0].snap.n; i++) {
		const char *name = stack_ctr(e, i, &v);

		if (v && echo_is_drop(name))
			fprintf(o, "  drop %s %" PRIu64 "\n", name, v);
	}
}
