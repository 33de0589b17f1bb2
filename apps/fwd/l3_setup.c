// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd's l3 mode around its fast path (l3.c): the --route option
 * (--addr and --mtu are parsed in port_opts.c), the checks, the stack with one
 * interface per port (named "0", "1", ... so routes say `dev 1`) and the
 * routes, the route commands on the telemetry socket (common/route_cmds.c:
 * `weir-stat SOCK -x "route add 10.8.0.0/16 via 10.2.0.2"`), and the
 * router's part of the reports: its own counters, the stack's, and the
 * routing table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "weir/port.h"

#include "common/fastpath.h"
#include "common/report.h"
#include "fwd/l3.h"

const char *const l3_ctr_names[L3_NB_CTRS] = {
#define L3_NAME(n) #n,
	L3_CTRS(L3_NAME)
#undef L3_NAME
};

/* --- options ------------------------------------------------------------ */

int fwd_l3_set(struct fwd *f, const char *name, const char *val, char *why, size_t len)
{
	if (strcmp(name, "route"))
		return 1;
	{
		char **r = realloc(f->routes, (size_t)(f->nroutes + 1) * sizeof(*r));

		if (!r)
			return snprintf(why, len, "out of memory"), -EINVAL;
		f->routes = r;
		r[f->nroutes] = NULL;
		if (app_set_str(&r[f->nroutes], val, why, len) < 0)
			return -EINVAL;
		f->nroutes++;
	}
	return 0;
}

int l3_check(struct fwd *f)
{
	if (f->nports < 2) {
		fprintf(stderr, "weir-fwd: l3 routes between two or more ports (got %d; "
				"--port A --port B ...)\n", f->nports);
		return -EINVAL;
	}
	if (f->base.queues != 1) {
		fprintf(stderr, "weir-fwd: l3 runs on one lcore (its ARP cache and routes are one "
				"thread's): use --queues 1, not %u\n", f->base.queues);
		return -EINVAL;
	}
	for (int i = 0; i < f->nports; i++) {
		if (!f->ports[i].addr) {
			fprintf(stderr, "weir-fwd: l3: port %d has no address: give --addr "
					"%d@ADDRESS/PREFIXLEN (e.g. --addr %d@10.%d.0.1/24)\n",
				i, i, i, i + 1);
			return -EINVAL;
		}
	}
	for (int i = f->nports; i < FWD_MAX_PORTS; i++) {
		if (f->ports[i].addr) {
			fprintf(stderr, "weir-fwd: --addr %d@...: there is no port %d\n", i, i);
			return -EINVAL;
		}
	}
	return 0;
}

/* --- setup ------------------------------------------------------------------ */

static int add_iface(struct fwd *f, struct l3 *r, int i)
{
	struct fwd_port *p = &f->ports[i];
	struct weir_stack_iface_conf ic = {.port = p->port, .port_id = weir_port_id(p->port),
					   .addr = p->addr, .prefix = p->plen};
	static const uint8_t zero[6];
	char name[8], why[256];
	int err;

	weir_port_mac(p->port, ic.mac);
	if (!memcmp(ic.mac, zero, 6)) {
		/* A port without an Ethernet address (ring:, null:): a locally
		 * administered one of our own. */
		const uint8_t mac[6] = {0x02, 'w', 'e', 'i', 'r', (uint8_t)i};

		memcpy(ic.mac, mac, 6);
	}
	ic.mtu = p->mtu ? p->mtu : weir_port_mtu(p->port);
	if (!ic.mtu || ic.mtu > 65535)
		ic.mtu = 1500;
	ic.tx_offloads = weir_port_tx_offloads(p->port);
	snprintf(name, sizeof(name), "%d", i);
	ic.name = name;
	err = weir_stack_iface_add(r->st, &ic, why, sizeof(why));
	if (err < 0) {
		fprintf(stderr, "weir-fwd: l3: port %d: %s\n", i, why);
		return err;
	}
	memcpy(r->ports[i].mac, ic.mac, 6);
	r->ports[i].mtu = ic.mtu;
	return weir_ipfwd_addrs_add(&r->addrs, p->addr, p->plen);
}

int l3_setup(struct fwd *f)
{
	struct l3 *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	f->engine_state = r;
	pthread_mutex_init(&r->mu, NULL);
	r->nports = f->nports;
	r->st = weir_stack_create(&(struct weir_stack_conf){.pool = f->base.pool}, &err);
	if (!r->st) {
		fprintf(stderr, "weir-fwd: l3: cannot create the stack: %s (the pool's buffers "
				"need 128 bytes of headroom and 600 of room)\n", strerror(-err));
		return err;
	}
	r->rt = weir_stack_routes(r->st);
	if ((err = app_route_cmds_create(1, &r->rc)) < 0) {
		fprintf(stderr, "weir-fwd: l3: cannot set up route commands: %s\n", strerror(-err));
		return err;
	}
	for (int i = 0; i < f->nports; i++)
		if ((err = add_iface(f, r, i)) < 0)
			return err;
	for (int k = 0; k < f->nroutes; k++) {
		char cmd[256], why[256];

		snprintf(cmd, sizeof(cmd), "add %s", f->routes[k]);
		err = app_route_apply(r->st, cmd, why, sizeof(why));
		if (err < 0) {
			fprintf(stderr, "weir-fwd: --route %s: %s (ports are interfaces \"0\", "
					"\"1\", ...: dev 1)\n", f->routes[k], why);
			return err;
		}
	}
	return 0;
}

void l3_teardown(struct fwd *f)
{
	struct l3 *r = f->engine == &fwd_engine_l3 ? f->engine_state : NULL;

	for (int k = 0; k < f->nroutes; k++)
		free(f->routes[k]);
	free(f->routes);
	f->routes = NULL;
	f->nroutes = 0;
	if (!r)
		return;
	app_route_cmds_destroy(r->rc);
	weir_stack_destroy(r->st);
	pthread_mutex_destroy(&r->mu);
	free(r);
	f->engine_state = NULL;
}

int l3_tele_cmds(struct fwd *f, struct app_tele *t)
{
	struct l3 *r = f->engine_state;

	return app_route_cmds_register(r->rc, t);
}

/* Commands sent from now on are refused at once: the lcore is stopping. */
void l3_stopping(struct fwd *f)
{
	struct l3 *r = f->engine_state;

	if (r)
		app_route_cmds_close(r->rc);
}

/* --- reports ---------------------------------------------------------------- */

static void ip_str(uint32_t a, char *buf)
{
	struct in_addr in = {.s_addr = htonl(a)};

	inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

static void routes_json(FILE *o, struct l3 *r)
{
	struct weir_route rt[64];
	uint32_t n = weir_route_dump(r->rt, rt, WEIR_ARRAY_SIZE(rt));

	fputs(",\"routes\":[", o);
	for (uint32_t i = 0; i < n && i < WEIR_ARRAY_SIZE(rt); i++) {
		char p[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

		ip_str(rt[i].prefix, p);
		ip_str(rt[i].gateway, g);
		fprintf(o, "%s{\"prefix\":\"%s/%u\",\"dev\":%u,\"via\":", i ? "," : "", p, rt[i].len,
			rt[i].iface);
		if (rt[i].gateway)
			fprintf(o, "\"%s\"}", g);
		else
			fputs("null}", o);
	}
	fputc(']', o);
}

void l3_json(FILE *o, struct fwd *f)
{
	struct l3 *r = f->engine_state;
	struct weir_xstat xs[160];
	int n;

	if (!r || !r->st)
		return;
	fputs(",\"l3\":{\"counters\":{", o);
	for (int i = 0; i < L3_NB_CTRS; i++)
		fprintf(o, "%s\"%s\":%" PRIu64, i ? "," : "", l3_ctr_names[i], ctr(&r->ctr[i]));
	fputs("},\"stack\":{", o);
	pthread_mutex_lock(&r->mu);
	n = weir_stack_xstats(r->st, xs, (int)WEIR_ARRAY_SIZE(xs));
	for (int i = 0; i < n && i < (int)WEIR_ARRAY_SIZE(xs); i++)
		fprintf(o, "%s\"%s\":%" PRIu64, i ? "," : "", xs[i].name, xs[i].value);
	fputc('}', o);
	routes_json(o, r);
	pthread_mutex_unlock(&r->mu);
	fputc('}', o);
}

void l3_summary(FILE *o, struct fwd *f)
{
	struct l3 *r = f->engine_state;
	int col = 0;

	if (!r)
		return;
	fputs("  l3:", o);
	for (int i = 0; i < L3_NB_CTRS; i++) {
		uint64_t v = ctr(&r->ctr[i]);

		if (!v && i != L3_forwarded)
			continue;
		fprintf(o, "%s %s %" PRIu64, col++ ? "," : "", l3_ctr_names[i], v);
	}
	fputc('\n', o);
}
