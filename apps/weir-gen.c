// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-gen: a packet generator and receiver/latency meter.
 *
 * TX: Ethernet/IPv4/UDP probes (see common/probe.h) paced in packets or bits
 * per second, or at line rate; fixed sizes, ranges or IMIX; N flows from
 * 5-tuple ranges; one lcore per queue. Each packet carries its flow's
 * sequence number and its *scheduled* send time: the schedule is a fixed
 * grid (start + k * interval), so when the sender stalls, the packets sent
 * late still carry the time they should have left, and the latency
 * measured from it includes the stall (no coordinated omission). A seed
 * makes sizes and everything else about a run reproducible.
 *
 * RX: counts probes per flow (loss from sequence gaps, reordering), records
 * one-way latency (or round-trip, for probes a reflector sent back) in an
 * HDR-style histogram. --mode reflect sends every probe back (MACs, IPs,
 * ports swapped), so a weir-gen elsewhere measures round trips.
 *
 * Threads: lcore q owns TX queue q of the TX port and RX queue q of the RX
 * port. Counters the main thread prints are relaxed atomics with one
 * writer; histograms are merged under a mutex once a second while frames
 * come in (an idle receiver sleeps instead).
 *
 * Files: gen/tx.c (pacing, probes), gen/rx.c (counting, timing,
 * reflecting), gen/lcore.c (the loop), gen/report.c (live line, summary,
 * JSON), gen/sizes.c (the --size parser); this file holds the options and setup, and hands the rest to the
 * app harness (common/app.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pool.h"
#include "weir/port.h"

#include "common/app.h"
#include "common/opts.h"
#include "gen/gen.h"

const char *const gen_mode_names[] = {"txrx", "tx", "rx", "reflect", NULL};

/* --- options ---------------------------------------------------------------- */

static const struct app_opt gen_opts[] = {
	{"port", 'p', "SPEC", "port to send on (and receive on, unless --rx-port)"},
	{"rx-port", 0, "SPEC", "port to receive on (default: --port)"},
	{"mode", 'm', "MODE", "txrx (default): send, and measure what comes back\n"
			      "tx: send only;  rx: receive and measure only\n"
			      "reflect: send probes back (for round trips), only those from\n"
			      "--src-ip to --dst-ip (the peer's ranges); the rest are refused"},
	{"rate", 'r', "RATE", "e.g. 1mpps, 250kpps, 100mbit, 1gbit (frame bytes), or line\n"
			      "(default 10kpps)"},
	{"size", 's', "SIZE", "frame bytes without FCS, >= 64: 64, 64-1500 (uniform),\n"
			      "imix (64:7,576:4,1500:1), or SIZE:WEIGHT,... (default 64)"},
	{"flows", 'f', "N", "UDP flows, spread over the address and port ranges (default 1)"},
	{"src-ip", 0, "IP[-IP]", "source address range (default 10.0.0.1)"},
	{"dst-ip", 0, "IP[-IP]", "destination address range (default 10.0.0.2)"},
	{"src-port", 0, "P[-P]", "UDP source port range (default 9000-65535 by flow)"},
	{"dst-port", 0, "P[-P]", "UDP destination port range (default 9)"},
	{"dst-mac", 0, "MAC", "destination MAC (default ff:ff:ff:ff:ff:ff); set it to the\n"
			      "peer's MAC when a Linux host must accept the frames"},
	{"src-mac", 0, "MAC", "source MAC (default: the port's)"},
	{"duration", 't', "TIME", "send for TIME (default: until Ctrl-C or --count)"},
	{"count", 'n', "N", "send N packets in all"},
	{"drain", 0, "TIME", "after sending, keep receiving for TIME (default 500ms)"},
	{"queues", 'q', "N", "queues, one lcore each; the rate is split (default 1)"},
	APP_OPT_CORES,
	{"burst", 'b', "N", "packets per burst (default 32, max 256)"},
	{"seed", 0, "N", "seed for sizes (default 1): same seed, same traffic"},
	{"pool", 0, "N", "packet buffers (default 16k)"},
	{"stats-socket", 'S', "PATH", "serve JSON telemetry on a unix socket (weir-stat PATH)"},
	APP_OPTS_OUTPUT,
};

/* --mode: one of gen_mode_names. */
static int set_mode(struct gen *g, const char *val, char *why, size_t len)
{
	for (int i = 0; gen_mode_names[i]; i++) {
		if (!strcmp(val, gen_mode_names[i])) {
			g->mode = (enum gen_mode)i;
			return 0;
		}
	}
	snprintf(why, len, "unknown mode (modes: txrx, tx, rx, reflect)");
	return -EINVAL;
}

static int set_rate(struct gen *g, const char *val, char *why, size_t len)
{
	int r = app_parse_rate(val, &g->rate, why, len);

	if (r < 0)
		return r;
	if (g->rate.pps > 1e9 || g->rate.bps > 1e12) {
		snprintf(why, len, "more than any port can carry (at most 1000 Mpps or "
				   "1000 Gbit/s); use 'line' for as fast as possible");
		return -EINVAL;
	}
	if ((g->rate.pps > 0 && g->rate.pps < 0.01) || (g->rate.bps > 0 && g->rate.bps < 1)) {
		snprintf(why, len, "below 0.01 pps: nothing would be sent");
		return -EINVAL;
	}
	return 0;
}

static int gen_set(void *ctx, const char *name, const char *val, char *why, size_t len)
{
	struct gen *g = ctx;
	uint64_t v;
	int r;

	if (!strcmp(name, "port"))
		return app_set_str(&g->tx_spec, val, why, len);
	if (!strcmp(name, "rx-port"))
		return app_set_str(&g->rx_spec, val, why, len);
	if (!strcmp(name, "mode"))
		return set_mode(g, val, why, len);
	if (!strcmp(name, "rate"))
		return set_rate(g, val, why, len);
	if (!strcmp(name, "size"))
		return gen_parse_sizes(val, &g->sizes, why, len);
	if (!strcmp(name, "flows")) {
		if ((r = app_parse_u64(val, 1, GEN_MAX_FLOWS, &v, why, len)) < 0)
			return r;
		g->flows = (uint32_t)v;
		return 0;
	}
	if (!strcmp(name, "src-ip"))
		return app_parse_ipv4_range(val, &g->sip_lo, &g->sip_hi, why, len);
	if (!strcmp(name, "dst-ip"))
		return app_parse_ipv4_range(val, &g->dip_lo, &g->dip_hi, why, len);
	if (!strcmp(name, "src-port"))
		return app_parse_port_range(val, &g->sport_lo, &g->sport_hi, why, len);
	if (!strcmp(name, "dst-port"))
		return app_parse_port_range(val, &g->dport_lo, &g->dport_hi, why, len);
	if (!strcmp(name, "dst-mac"))
		return app_parse_mac(val, g->dst_mac, why, len);
	if (!strcmp(name, "src-mac")) {
		g->src_mac_set = true;
		return app_parse_mac(val, g->src_mac, why, len);
	}
	if (!strcmp(name, "drain"))
		return app_parse_duration(val, &g->drain, why, len);
	if (!strcmp(name, "count"))
		return app_parse_u64(val, 1, UINT64_MAX / 2, &g->count, why, len);
	return 0;
}

static const struct app_cli gen_cli = {
	.prog = "weir-gen",
	.section = "gen",
	.synopsis = "weir-gen --port SPEC [--mode txrx|tx|rx|reflect] [--rate RATE] [--size SIZE]\n"
		    "                [--flows N] [--duration TIME | --count N] [OPTIONS]",
	.about = "Sends UDP probes (sequence number + scheduled send time) paced to a rate, and\n"
		 "measures what arrives: loss, reordering, and latency from each packet's\n"
		 "scheduled send time, so a stalled sender cannot hide delay (no coordinated\n"
		 "omission). Prints a line per second on a terminal and a summary at the end.",
	.footer = "Examples:\n"
		  "  # 1 Mpps of 64-byte frames for 10 s, measured where they come back\n"
		  "  weir-gen -p afxdp:veth0 --rx-port afxdp:veth3 -r 1mpps -t 10s\n"
		  "  # IMIX at 100 Mbit/s, 16 flows, to a Linux host's MAC and IP\n"
		  "  weir-gen -p afpacket:veth0 -m tx -r 100mbit -s imix -f 16 \\\n"
		  "           --dst-mac 02:00:00:00:00:02 --dst-ip 10.0.0.2 -t 30s\n"
		  "  # round trips: a reflector on the far side, weir-gen here\n"
		  "  weir-gen -p afpacket:veth3 -m reflect          (in the far namespace)\n"
		  "  weir-gen -p afpacket:veth0 -r 1kpps -t 10s     (reports rtt p50..p99.9)\n"
		  "Exit status: 0 ok, 1 bad usage, 2 a port failed, 3 buffers leaked.\n",
	.opts = gen_opts,
	.set = gen_set,
};

static int gen_check(void *ctx)
{
	struct gen *g = ctx;
	double pps;

	if (!g->tx_spec && !g->rx_spec) {
		fprintf(stderr, "weir-gen: no port (--port SPEC, e.g. afpacket:veth0; try --help)\n");
		return -EINVAL;
	}
	if ((g->mode == MODE_TXRX || g->mode == MODE_TX || g->mode == MODE_REFLECT) &&
	    !g->tx_spec) {
		fprintf(stderr, "weir-gen: --mode %s needs --port\n", gen_mode_names[g->mode]);
		return -EINVAL;
	}
	if (g->sizes.n == 0) {
		g->sizes.n = 1;
		g->sizes.size[0] = 64;
		g->sizes.weight[0] = 1;
		g->sizes.total = 1;
		g->sizes.mean = 64;
	}
	pps = g->rate.pps > 0 ? g->rate.pps : g->rate.bps / (8 * g->sizes.mean);
	if (!g->rate.line && pps > 1e9) {
		fprintf(stderr, "weir-gen: --rate %.0f bit/s of %.0f-byte frames is %.0f Mpps: "
				"more than any port can carry\n", g->rate.bps, g->sizes.mean,
			pps / 1e6);
		return -EINVAL;
	}
	if (g->flows > (uint64_t)(g->sip_hi - g->sip_lo + 1) * (g->sport_hi - g->sport_lo + 1) *
			       (g->dip_hi - g->dip_lo + 1) * (g->dport_hi - g->dport_lo + 1)) {
		fprintf(stderr, "weir-gen: --flows %u is more than the address and port ranges "
				"can make distinct (widen --src-port or --src-ip)\n", g->flows);
		return -EINVAL;
	}
	return 0;
}

/* Flow f's 5-tuple: source port varies fastest, then source IP, then
 * destination port and IP, so flows are distinct while the ranges last. */
static void flow_addr(struct gen *g, uint32_t f, struct probe_addr *a)
{
	uint32_t nsp = g->sport_hi - g->sport_lo + 1u, nsi = g->sip_hi - g->sip_lo + 1u;
	uint32_t ndp = g->dport_hi - g->dport_lo + 1u, ndi = g->dip_hi - g->dip_lo + 1u;
	uint64_t x = f;

	memcpy(a->dst_mac, g->dst_mac, 6);
	memcpy(a->src_mac, g->src_mac, 6);
	a->src_port = (uint16_t)(g->sport_lo + x % nsp);
	x /= nsp;
	a->src_ip = g->sip_lo + (uint32_t)(x % nsi);
	x /= nsi;
	a->dst_port = (uint16_t)(g->dport_lo + x % ndp);
	x /= ndp;
	a->dst_ip = g->dip_lo + (uint32_t)(x % ndi);
	a->ttl = 64;
	a->tos = 0;
}

static int lcores_alloc(struct gen *g);

static int gen_setup(void *ctx)
{
	struct gen *g = ctx;
	uint32_t buf_size = 0; /* the pool's default, unless frames need more */
	uint32_t maxlen = g->sizes.range ? g->sizes.hi : 0;
	int err;

	for (int i = 0; i < g->sizes.n && !g->sizes.range; i++)
		maxlen = WEIR_MAX(maxlen, g->sizes.size[i]);
	if (maxlen + 128 > 2048)
		buf_size = (uint32_t)weir_align_pow2(maxlen + 128);
	g->base.pool_shared = (g->tx_spec && weir_port_spec_shares_pool(g->tx_spec)) ||
			      (g->rx_spec && weir_port_spec_shares_pool(g->rx_spec));
	if ((err = app_pool_create(&g->base, "gen", buf_size)) < 0)
		return err;
	if (g->mode != MODE_RX && (err = app_port_open(&g->base, g->tx_spec, "", &g->txp)) < 0)
		return err;
	if (g->mode == MODE_RX || g->mode == MODE_REFLECT) {
		const char *s = g->rx_spec ? g->rx_spec : g->tx_spec;

		if (g->mode == MODE_REFLECT) {
			g->rxp = g->txp;
			g->txp = NULL; /* reflect generates nothing */
		} else if ((err = app_port_open(&g->base, s, "", &g->rxp)) < 0) {
			return err;
		}
	} else if (g->mode == MODE_TXRX) {
		if (g->rx_spec) {
			if ((err = app_port_open(&g->base, g->rx_spec, "", &g->rxp)) < 0)
				return err;
		} else {
			g->rxp = g->txp;
		}
	}
	if (g->txp) {
		if (!g->src_mac_set)
			weir_port_mac(g->txp, g->src_mac);
		g->tmpl = calloc(g->flows, sizeof(*g->tmpl));
		if (!g->tmpl)
			return -ENOMEM;
		for (uint32_t f = 0; f < g->flows; f++) {
			struct probe_addr a;

			flow_addr(g, f, &a);
			probe_tmpl_init(&g->tmpl[f], &a);
		}
	}
	return lcores_alloc(g);
}

/* Each lcore's flow table and histograms. */
static int lcores_alloc(struct gen *g)
{
	for (uint16_t q = 0; q < g->base.queues; q++) {
		struct gen_lcore *lc = &g->lcores[q];

		pthread_mutex_init(&lc->mu, NULL);
		lc->owd = malloc(sizeof(struct hist));
		lc->rtt = malloc(sizeof(struct hist));
		lc->pub_owd = malloc(sizeof(struct hist));
		lc->pub_rtt = malloc(sizeof(struct hist));
		lc->ivl_owd = malloc(sizeof(struct hist));
		lc->ivl_rtt = malloc(sizeof(struct hist));
		lc->frx = calloc(GEN_MAX_FLOWS, sizeof(*lc->frx));
		if (!lc->owd || !lc->rtt || !lc->pub_owd || !lc->pub_rtt || !lc->ivl_owd ||
		    !lc->ivl_rtt || !lc->frx)
			return -ENOMEM;
		hist_init(lc->owd);
		hist_init(lc->rtt);
		hist_init(lc->pub_owd);
		hist_init(lc->pub_rtt);
		hist_init(lc->ivl_owd);
		hist_init(lc->ivl_rtt);
	}
	return 0;
}

static void gen_teardown(void *ctx)
{
	struct gen *g = ctx;

	if (g->rxp && g->rxp != g->txp)
		weir_port_close(g->rxp);
	if (g->txp)
		weir_port_close(g->txp);
	for (uint16_t q = 0; q < GEN_MAX_QUEUES; q++) {
		struct gen_lcore *lc = &g->lcores[q];

		free(lc->owd);
		free(lc->rtt);
		free(lc->pub_owd);
		free(lc->pub_rtt);
		free(lc->ivl_owd);
		free(lc->ivl_rtt);
		free(lc->frx);
	}
	free(g->tmpl);
	free(g->tx_spec);
	free(g->rx_spec);
}

static bool all_tx_done(struct gen *g)
{
	for (uint16_t q = 0; q < g->base.queues; q++)
		if (!atomic_load(&g->lcores[q].c.tx_done))
			return false;
	return true;
}

/* A sender checks every 20 ms whether its lcores are done; a receiver
 * alone wakes only for the next line or the end. */
static weir_ns_t gen_wake(void *ctx, weir_ns_t now, weir_ns_t line)
{
	struct gen *g = ctx;
	weir_ns_t end = g->base.start + g->base.duration;

	if (g->txp)
		return now + 20 * WEIR_NS_PER_MS;
	return g->base.duration && weir_time_after(line, end) ? end : line;
}

/* Over when the lcores sent everything and the drain time passed (at
 * once without a receiver), or, receiving only, when --duration is up. */
static bool gen_done(void *ctx, weir_ns_t now)
{
	struct gen *g = ctx;

	if (g->txp && !g->tx_end && all_tx_done(g))
		g->tx_end = now;
	if (g->tx_end && (!g->rxp || now - g->tx_end >= g->drain))
		return true;
	return !g->txp && g->base.duration &&
	       !weir_time_after(g->base.start + g->base.duration, now);
}

/* Before the stop flag: the send time ends now, receivers stop. */
static void gen_stopping(void *ctx)
{
	struct gen *g = ctx;

	if (g->txp && !g->tx_end)
		g->tx_end = weir_clock_now();
	atomic_store(&g->rx_stop, true);
}

static void *gen_lcore_arg(void *ctx, uint16_t q)
{
	struct gen *g = ctx;
	struct gen_lcore *lc = &g->lcores[q];

	lc->g = g;
	lc->q = q;
	lc->rng = g->base.seed * 0x2545f4914f6cdd1dULL + q;
	return lc;
}

static const struct app_def gen_def = {
	.cli = &gen_cli,
	.check = gen_check,
	.setup = gen_setup,
	.teardown = gen_teardown,
	.lcore_main = gen_lcore_main,
	.lcore_arg = gen_lcore_arg,
	.wake = gen_wake,
	.done = gen_done,
	.stopping = gen_stopping,
	.totals_size = sizeof(struct gen_totals),
	.totals = gen_totals,
	.live = gen_live,
	.json = gen_json,
	.summary = gen_summary,
	.start_delay = 10 * WEIR_NS_PER_MS, /* lcores are up by then */
};

int main(int argc, char **argv)
{
	struct gen *g = calloc(1, sizeof(*g));
	int rc;

	if (!g)
		return APP_EXIT_FAIL;
	g->base.queues = 1;
	g->base.burst = 32;
	g->base.seed = 1;
	g->base.pool_size = 16384;
	g->flows = 1;
	g->drain = 500 * WEIR_NS_PER_MS;
	g->rate.pps = 10000;
	memset(g->dst_mac, 0xff, 6);
	g->sip_lo = g->sip_hi = 0x0a000001;
	g->dip_lo = g->dip_hi = 0x0a000002;
	g->sport_lo = 9000;
	g->sport_hi = 65535;
	g->dport_lo = g->dport_hi = 9;
	rc = app_main(&gen_def, &g->base, g, argc, argv);
	free(g);
	return rc;
}
