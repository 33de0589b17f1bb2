// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-echo: a UDP echo and ICMP-answering host on one weir port, made of
 * weir's stack (stack/): it answers ARP and ping (also fragmented pings up
 * to 64 KiB) and sends every UDP datagram that arrives on one of its ports
 * back to where it came from, byte for byte, without copying it (the echo
 * pushes new headers in front of the received payload).
 *
 * This file holds the options, setup and teardown; echo/lcore.c is the
 * poll loop, echo/report.c the live line, summary and JSON document (with
 * the stack's per-reason drop counters); the harness (common/app.c) does
 * the rest. Routes come from --gateway, --route (also as config-file keys)
 * and, at run time, the telemetry socket's route commands
 * (common/route_cmds.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pool.h"
#include "weir/port.h"
#include "weir/ring.h"
#include "weir/stack.h"
#include "weir/udp.h"

#include "common/app.h"
#include "common/opts.h"
#include "common/route_cmds.h"
#include "echo/echo.h"

static const struct app_opt echo_opts[] = {
	{"port", 'p', "SPEC", "the port, e.g. afxdp:veth1, afpacket:veth1?queues=2"},
	{"addr", 'a', "A/PREFIX", "the host's IPv4 address and prefix, e.g. 10.0.0.1/24"},
	{"gateway", 'g', "ADDR", "default route via ADDR (in the --addr subnet)"},
	{"route", 'r', "ROUTE", "another route, as `ip route add` takes it, repeatable:\n"
				"\"10.2.0.0/16 via 10.0.0.254\"; in a --config file one\n"
				"route = ... line each"},
	{"udp-port", 'u', "PORT", "UDP port to echo on, repeatable (default 7), up to 16"},
	{"vlan", 0, "VID", "send and require an 802.1Q tag with this VID (default none)"},
	{"frag-budget", 0, "BYTES", "reassembly memory per lcore (default 4m; per source 1/4)"},
	{"no-tx-offload", 0, NULL, "compute every checksum in software even where the port\n"
				  "could finish it"},
	{"spin", 0, "MIN:MAX", "idle spin before a sleep, in us, fitted to the gaps between\n"
			       "bursts between MIN and MAX (default 4:50); 0: 512 polls"},
	{"queues", 'q', "N", "queue pairs, one lcore and one stack per queue (default 1)"},
	APP_OPT_CORES,
	{"burst", 'b', "N", "frames per RX/TX burst (default 32, max 256)"},
	{"pool", 0, "N", "packet buffers (default 32k)"},
	{"duration", 't', "TIME", "stop after TIME (default: until Ctrl-C)"},
	{"stats-socket", 's', "PATH", "serve JSON telemetry and route commands on a unix socket"},
	APP_OPTS_OUTPUT,
};

static int parse_ip(const char *s, uint32_t *out, char *why, size_t len)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		snprintf(why, len, "not an IPv4 address: '%s' (e.g. 10.0.0.1)", s);
		return -EINVAL;
	}
	*out = ntohl(a.s_addr);
	return 0;
}

static int set_addr(struct echo *e, const char *val, char *why, size_t len)
{
	char buf[64];
	char *slash;
	uint64_t plen;

	snprintf(buf, sizeof(buf), "%s", val);
	slash = strchr(buf, '/');
	if (!slash) {
		snprintf(why, len, "'%s' has no prefix length (e.g. 10.0.0.1/24)", val);
		return -EINVAL;
	}
	*slash = '\0';
	if (parse_ip(buf, &e->addr, why, len) < 0 ||
	    app_parse_u64(slash + 1, 1, 32, &plen, why, len) < 0)
		return -EINVAL;
	e->prefix = (uint8_t)plen;
	return 0;
}

static int add_route(struct echo *e, const char *val, char *why, size_t len)
{
	char buf[256];

	if (e->nroutes == ECHO_MAX_ROUTES) {
		snprintf(why, len, "at most %d routes", ECHO_MAX_ROUTES);
		return -EINVAL;
	}
	/* "add" is implied; "add ..." as in a route command is taken too. */
	while (*val == ' ')
		val++;
	if (!strncmp(val, "add ", 4))
		val += 4;
	snprintf(buf, sizeof(buf), "add %s", val);
	return app_set_str(&e->routes[e->nroutes++], buf, why, len);
}

/* --spin MIN:MAX (us), or 0 for the count of polls. */
static int set_spin(struct echo *e, const char *val, char *why, size_t len)
{
	char buf[64];
	char *colon;
	uint64_t lo, hi;

	if (!strcmp(val, "0")) {
		e->spin_min_ns = e->spin_max_ns = 0;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", val);
	colon = strchr(buf, ':');
	if (!colon) {
		snprintf(why, len, "'%s' is not MIN:MAX in us (e.g. 4:50), or 0", val);
		return -EINVAL;
	}
	*colon = '\0';
	if (app_parse_u64(buf, 0, 100000, &lo, why, len) < 0 ||
	    app_parse_u64(colon + 1, 1, 100000, &hi, why, len) < 0)
		return -EINVAL;
	if (lo > hi) {
		snprintf(why, len, "MIN %s is above MAX %s", buf, colon + 1);
		return -EINVAL;
	}
	e->spin_min_ns = lo * WEIR_NS_PER_US;
	e->spin_max_ns = hi * WEIR_NS_PER_US;
	return 0;
}

static int echo_set(void *ctx, const char *name, const char *val, char *why, size_t len)
{
	struct echo *e = ctx;
	uint64_t v;

	if (!strcmp(name, "port"))
		return app_set_str(&e->spec, val, why, len);
	if (!strcmp(name, "addr"))
		return set_addr(e, val, why, len);
	if (!strcmp(name, "gateway"))
		return parse_ip(val, &e->gateway, why, len);
	if (!strcmp(name, "route"))
		return add_route(e, val, why, len);
	if (!strcmp(name, "udp-port")) {
		if (e->nudp == ECHO_MAX_UDP) {
			snprintf(why, len, "at most %d UDP ports", ECHO_MAX_UDP);
			return -EINVAL;
		}
		if (app_parse_u64(val, 1, 65535, &v, why, len) < 0)
			return -EINVAL;
		e->udp_ports[e->nudp++] = (uint16_t)v;
		return 0;
	}
	if (!strcmp(name, "vlan")) {
		if (app_parse_u64(val, 1, 4094, &v, why, len) < 0)
			return -EINVAL;
		e->vlan = (uint16_t)v;
		return 0;
	}
	if (!strcmp(name, "spin"))
		return set_spin(e, val, why, len);
	if (!strcmp(name, "frag-budget"))
		return app_parse_bytes(val, 4096, 1ull << 40, &e->frag_budget, why, len);
	if (!strcmp(name, "no-tx-offload"))
		e->no_tx_offload = true;
	return 0;
}

static int echo_check(void *ctx)
{
	struct echo *e = ctx;

	if (!e->spec || !e->addr) {
		fprintf(stderr, "weir-echo: give a port and an address (--port SPEC --addr "
				"A/PREFIX; try --help)\n");
		return -EINVAL;
	}
	for (int i = 0; i < e->nudp; i++)
		for (int j = 0; j < i; j++)
			if (e->udp_ports[i] == e->udp_ports[j]) {
				fprintf(stderr, "weir-echo: --udp-port %u is given twice\n",
					e->udp_ports[i]);
				return -EINVAL;
			}
	if (!e->nudp)
		e->udp_ports[e->nudp++] = 7;
	return 0;
}

/* Lcore q's stack: one interface (queue q of the port), the routes, the
 * sockets; only lcore 0's stack announces the address (one gratuitous ARP). */
static int stack_setup(struct echo *e, struct echo_lcore *lc)
{
	struct weir_stack_conf sc = {.pool = e->base.pool, .seed = e->base.seed};
	struct weir_stack_iface_conf ic = {
		.name = "if0",
		.port = e->port,
		.port_id = weir_port_id(e->port),
		.queue = lc->q,
		.addr = e->addr,
		.prefix = e->prefix,
		.vlan = e->vlan,
		.mtu = weir_port_mtu(e->port),
		.tx_offloads = e->no_tx_offload ? 0 : weir_port_tx_offloads(e->port),
		.no_garp = lc->q > 0,
	};
	char why[256], cmd[64];
	int err;

	if (e->frag_budget) {
		sc.frag_budget = e->frag_budget;
		sc.frag_budget_source = e->frag_budget / 4;
	}
	if (!(lc->st = weir_stack_create(&sc, &err))) {
		fprintf(stderr, "weir-echo: cannot create the stack: %s\n", strerror(-err));
		return err;
	}
	weir_port_mac(e->port, ic.mac);
	if ((err = weir_stack_iface_add(lc->st, &ic, why, sizeof(why))) < 0) {
		fprintf(stderr, "weir-echo: %s: %s\n", e->spec, why);
		return err;
	}
	if (e->gateway) {
		uint32_t be = htonl(e->gateway);
		char gw[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &be, gw, sizeof(gw));
		snprintf(cmd, sizeof(cmd), "add default via %s", gw);
		if ((err = app_route_apply(lc->st, cmd, why, sizeof(why))) < 0) {
			fprintf(stderr, "weir-echo: --gateway %s: %s\n", gw, why);
			return err;
		}
	}
	for (int i = 0; i < e->nroutes; i++) {
		if ((err = app_route_apply(lc->st, e->routes[i], why, sizeof(why))) < 0) {
			fprintf(stderr, "weir-echo: --route '%s': %s\n", e->routes[i] + 4, why);
			return err;
		}
	}
	return 0;
}

static int socks_setup(struct echo *e, struct echo_lcore *lc)
{
	int err;

	for (int i = 0; i < e->nudp; i++) {
		lc->socks[i] = weir_udp_open(lc->st, &(struct weir_udp_sock_conf){1024}, &err);
		if (!lc->socks[i] || (err = weir_udp_bind(lc->socks[i], 0, e->udp_ports[i])) < 0) {
			fprintf(stderr, "weir-echo: cannot bind UDP port %u: %s\n",
				e->udp_ports[i], strerror(-err));
			return err;
		}
	}
	return 0;
}

static int lcore_setup(struct echo *e, struct echo_lcore *lc)
{
	char name[WEIR_RING_NAMESIZE];
	int err, n;

	pthread_mutex_init(&lc->mu, NULL);
	if ((err = stack_setup(e, lc)) < 0 || (err = socks_setup(e, lc)) < 0)
		return err;
	n = weir_stack_xstats(lc->st, NULL, 0);
	lc->snap.xs = calloc((size_t)n, sizeof(*lc->snap.xs));
	lc->snap.scratch = calloc((size_t)n, sizeof(*lc->snap.scratch));
	if (!lc->snap.xs || !lc->snap.scratch)
		return -ENOMEM;
	lc->snap.n = weir_stack_xstats(lc->st, lc->snap.xs, n);
	if (e->base.queues == 1)
		return 0;
	snprintf(name, sizeof(name), "echo_arp%u", lc->q);
	err = weir_ring_create(name, 256, WEIR_RING_SC_DEQ, &lc->arp_in);
	if (err < 0)
		fprintf(stderr, "weir-echo: cannot create the ARP ring: %s\n", strerror(-err));
	return err;
}

static int echo_setup(void *ctx)
{
	struct echo *e = ctx;
	int err;

	if ((err = app_pool_create(&e->base, "echo", 0)) < 0 ||
	    (err = app_port_open(&e->base, e->spec, "", &e->port)) < 0)
		return err;
	for (uint16_t q = 0; q < e->base.queues; q++) {
		e->lcores[q].e = e;
		e->lcores[q].q = q;
		if ((err = lcore_setup(e, &e->lcores[q])) < 0)
			return err;
	}
	if ((err = app_route_cmds_create(e->base.queues, &e->rcmds)) < 0)
		fprintf(stderr, "weir-echo: cannot set up route commands: %s\n", strerror(-err));
	return err;
}

static void echo_teardown(void *ctx)
{
	struct echo *e = ctx;

	app_route_cmds_destroy(e->rcmds);
	for (uint16_t q = 0; q < APP_MAX_LCORES; q++) {
		struct echo_lcore *lc = &e->lcores[q];

		for (int i = 0; i < ECHO_MAX_UDP; i++)
			weir_udp_close(lc->socks[i]);
		weir_stack_destroy(lc->st);
		if (lc->arp_in) {
			struct weir_pkt *p[32];
			uint32_t n;

			while ((n = weir_ring_dequeue_burst(lc->arp_in, (void **)p, 32)))
				weir_pkt_free_bulk(p, n);
			weir_ring_destroy(lc->arp_in);
		}
		free(lc->snap.xs);
		free(lc->snap.scratch);
		if (lc->e)
			pthread_mutex_destroy(&lc->mu);
	}
	if (e->port)
		weir_port_close(e->port);
	for (int i = 0; i < e->nroutes; i++)
		free(e->routes[i]);
	free(e->spec);
}

static void echo_stopping(void *ctx)
{
	app_route_cmds_close(((struct echo *)ctx)->rcmds);
}

static int echo_tele_cmds(void *ctx, struct app_tele *t)
{
	return app_route_cmds_register(((struct echo *)ctx)->rcmds, t);
}

static void *echo_lcore_arg(void *ctx, uint16_t q)
{
	return &((struct echo *)ctx)->lcores[q];
}

static const struct app_cli echo_cli = {
	.prog = "weir-echo",
	.section = "echo",
	.synopsis = "weir-echo --port SPEC --addr A/PREFIX [--gateway ADDR] [--udp-port PORT]...\n"
		    "                 [OPTIONS]",
	.about = "A UDP echo host on weir's own UDP/IP stack: answers ARP and ping (also\n"
		 "fragmented, up to 64 KiB) and sends every datagram that arrives on one of its\n"
		 "UDP ports back to its sender unchanged, without copying it. Prints one line of\n"
		 "stats per second on a terminal and a summary (with every drop by reason) at\n"
		 "the end. The --stats-socket also takes route commands: route show, route add\n"
		 "PREFIX via GW [dev if0], route del PREFIX, route get ADDR.",
	.footer = "Examples:\n"
		  "  # echo on UDP ports 7 and 9000 as 10.0.0.1 behind a veth\n"
		  "  weir-echo -p afxdp:veth1 -a 10.0.0.1/24 -g 10.0.0.254 -u 7 -u 9000\n"
		  "  # two queues, two lcores on CPUs 0 and 1, telemetry and route commands\n"
		  "  weir-echo -p afpacket:veth1?queues=2 -a 10.0.0.1/24 -q 2 -c 0,1 -s /tmp/echo.sock\n"
		  "  echo 'route add 10.9.0.0/16 via 10.0.0.3' | socat - UNIX:/tmp/echo.sock\n"
		  "  # the same settings from a file (see configs/echo.conf)\n"
		  "  weir-echo --config configs/echo.conf\n"
		  "Exit status: 0 ok, 1 bad usage, 2 a port failed, 3 buffers leaked.\n",
	.opts = echo_opts,
	.set = echo_set,
};

static const struct app_def echo_def = {
	.cli = &echo_cli,
	.check = echo_check,
	.setup = echo_setup,
	.teardown = echo_teardown,
	.lcore_main = echo_lcore_main,
	.lcore_arg = echo_lcore_arg,
	.stopping = echo_stopping,
	.tele_cmds = echo_tele_cmds,
	.totals_size = sizeof(struct echo_totals),
	.totals = echo_totals,
	.live = echo_live,
	.json = echo_json,
	.summary = echo_summary,
};

int main(int argc, char **argv)
{
	struct echo *e = calloc(1, sizeof(*e));
	int rc;

	if (!e)
		return APP_EXIT_FAIL;
	e->base.queues = 1;
	e->base.burst = 32;
	e->base.seed = 0;
	e->base.pool_size = 32768;
	e->spin_min_ns = ECHO_SPIN_MIN_NS;
	e->spin_max_ns = ECHO_SPIN_MAX_NS;
	rc = app_main(&echo_def, &e->base, e, argc, argv);
	free(e);
	return rc;
}
