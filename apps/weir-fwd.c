// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd: forwards frames between pairs of ports (0<->1, 2<->3, ...), or
 * routes IPv4 between any of them (--mode l3), with an egress scheduler per
 * port and link emulation.
 *
 * Per direction and queue, the path is
 *     rx burst -> engine -> [loss, delay line] -> [egress qdisc -> DQL] -> tx burst
 * where the engine is the --mode (fwd/l2.c, io.c, macswap.c; l3.c the
 * router, which picks the output port itself; its options and setup are
 * fwd/l3_setup.c), the egress path is fwd/egress.c, the lcore loop
 * fwd/lcore.c and the reports fwd/report.c; this file holds the options,
 * setup and teardown, and hands the rest to the app harness.
 * The delay line (a FIFO of frames stamped with their release time) sits
 * before the bottleneck queue, so a link's propagation delay never counts as
 * queueing: a packet's sojourn time in the qdisc is only what the scheduler
 * made it wait. DQL keeps the driver's own ring short, so the real queue
 * stays in the qdisc, where it can be reordered and CoDel can see it.
 *
 * One lcore per queue index: lcore q polls RX queue q of every port and owns
 * TX queue q (with its delay line and qdisc) of every port, so nothing on
 * the fast path is shared. Counters the control thread reads are written
 * with relaxed atomic stores by their one writer; qdisc statistics are
 * snapshotted by the owning lcore under a mutex, at most 100 ms after they
 * change (an idle lcore sleeps instead of publishing the same numbers).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/log.h"
#include "weir/pool.h"
#include "weir/port.h"

#include "common/app.h"
#include "common/opts.h"
#include "fwd/fwd.h"

const struct fwd_engine *const fwd_engines[] = {
	&fwd_engine_l2, &fwd_engine_io, &fwd_engine_macswap, &fwd_engine_l3, NULL,
};

/* --- setup ------------------------------------------------------------------ */

static const struct app_opt fwd_opts[] = {
	{"port", 'p', "SPEC", "a port, given two or more times; pairs 0<->1, 2<->3 ...\n"
			      "(l3: any number, numbered from 0)\n"
			      "e.g. afpacket:veth0, afxdp:veth1?queues=2, ring:a, null:"},
	{"mode", 'm', "MODE", "l2 (default): bump in the wire, both ways, frames as they are\n"
			      "io: the same path, for benchmarks like testpmd io\n"
			      "macswap: swap source and destination MAC, like testpmd\n"
			      "l3: IPv4 router between all ports (--addr, --route)"},
	{"egress", 'e', "[PORT@]QDISC", "scheduler tree on a port's egress (all ports if no\n"
					"PORT@), e.g. \"tbf rate 100mbit burst 32k / fq_codel\",\n"
					"or \"1@fifo\" for the bloated baseline on port 1"},
	{"addr", 'a', "PORT@ADDR/LEN", "l3: the port's address and subnet, e.g. 0@10.1.0.1/24\n"
				       "(one per port; ARP and ping answered for it)"},
	{"route", 'r', "ROUTE", "l3: a route as `ip route add` takes it, e.g.\n"
				"\"10.3.0.0/16 via 10.2.0.2\", \"default via 10.1.0.254\",\n"
				"\"10.4.0.0/24 dev 1\" (ports are devs 0, 1, ...)"},
	{"mtu", 0, "[PORT@]BYTES", "l3: IP MTU of a port (all ports if no PORT@; default the\n"
				   "interface's): larger datagrams are fragmented, or answered\n"
				   "with ICMP fragmentation needed when DF is set"},
	{"delay", 'd', "TIME", "propagation delay per direction, e.g. 20ms (kept apart\n"
			       "from the egress queue: never counted as queueing)"},
	{"jitter", 0, "TIME", "uniform jitter +-TIME around --delay (no reordering)"},
	{"loss", 0, "PROB", "random loss per direction, e.g. 0.1% or 0.001"},
	{"gro", 0, "on|off", "coalesce a burst's TCP segments into 64 KiB super-frames\n"
			     "for egress ports that send them whole (afpacket): the\n"
			     "receiving host pays once per 64 KiB (default on; off with\n"
			     "an egress qdisc or --loss, which count wire frames)"},
	{"seed", 0, "N", "seed for loss and jitter (default 1): runs repeat exactly"},
	{"queues", 'q', "N", "queue pairs per port, one lcore per queue (default 1)"},
	APP_OPT_CORES,
	{"burst", 'b', "N", "frames per RX/TX burst (default 32, max 256)"},
	{"pool", 0, "N", "packet buffers (default 32k)"},
	{"delay-limit", 0, "N", "frames the delay line holds per direction (default 64k)"},
	{"duration", 't', "TIME", "stop after TIME (default: until Ctrl-C)"},
	{"stats-socket", 's', "PATH", "serve JSON telemetry on a unix socket (read: weir-stat PATH)"},
	APP_OPTS_OUTPUT,
};

/* --mode: an engine from fwd_engines; a slot not filled yet says why. */
static int set_engine(struct fwd *f, const char *val, char *why, size_t len)
{
	const struct fwd_engine *hit = NULL;
	char modes[128] = "";

	for (const struct fwd_engine *const *e = fwd_engines; *e; e++) {
		if (!strcmp(val, (*e)->name))
			hit = *e;
		if (!(*e)->missing)
			snprintf(modes + strlen(modes), sizeof(modes) - strlen(modes), "%s%s",
				 modes[0] ? ", " : "", (*e)->name);
	}
	if (hit && !hit->missing) {
		f->engine = hit;
		return 0;
	}
	snprintf(why, len, "%s (modes: %s)", hit ? hit->missing : "unknown mode", modes);
	return -EINVAL;
}

static int fwd_set(void *ctx, const char *name, const char *val, char *why, size_t len)
{
	struct fwd *f = ctx;
	uint64_t v;
	int r;

	if ((r = fwd_port_opt_set(f, name, val, why, len)) <= 0 ||
	    (r = fwd_l3_set(f, name, val, why, len)) <= 0)
		return r;
	if (!strcmp(name, "port")) {
		if (f->nports == FWD_MAX_PORTS) {
			snprintf(why, len, "at most %d ports", FWD_MAX_PORTS);
			return -EINVAL;
		}
		return app_set_str(&f->ports[f->nports++].spec, val, why, len);
	} else if (!strcmp(name, "mode")) {
		return set_engine(f, val, why, len);
	} else if (!strcmp(name, "delay")) {
		return app_parse_duration(val, &f->delay, why, len);
	} else if (!strcmp(name, "jitter")) {
		return app_parse_duration(val, &f->jitter, why, len);
	} else if (!strcmp(name, "loss")) {
		return app_parse_prob(val, &f->loss, why, len);
	} else if (!strcmp(name, "gro")) {
		if (strcmp(val, "on") && strcmp(val, "off")) {
			snprintf(why, len, "'%s': on or off", val);
			return -EINVAL;
		}
		f->gro = !strcmp(val, "on");
	} else if (!strcmp(name, "delay-limit")) {
		if ((r = app_parse_u64(val, 16, 1u << 24, &v, why, len)) < 0)
			return r;
		f->dline_size = (uint32_t)weir_align_pow2(v);
	}
	return 0;
}

static int fwd_check(void *ctx)
{
	struct fwd *f = ctx;

	if (f->engine->check) {
		if (f->engine->check(f) < 0)
			return -EINVAL;
	} else if (f->nports < 2 || f->nports % 2) {
		fprintf(stderr, "weir-fwd: give an even number of ports, at least two "
				"(--port A --port B; got %d; try --help)\n", f->nports);
		return -EINVAL;
	}
	for (int i = 0; i < FWD_MAX_PORTS && f->engine != &fwd_engine_l3; i++) {
		if (f->ports[i].addr || f->ports[i].mtu || f->nroutes) {
			fprintf(stderr, "weir-fwd: --addr, --route and --mtu are for --mode l3 (the "
					"mode is %s)\n", f->engine->name);
			return -EINVAL;
		}
	}
	for (int i = f->nports; i < FWD_MAX_PORTS; i++) {
		if (f->ports[i].egress) {
			fprintf(stderr, "weir-fwd: --egress %d@...: there is no port %d (ports are "
					"numbered from 0 in the order given)\n", i, i);
			return -EINVAL;
		}
	}
	if (f->jitter > f->delay && f->jitter) {
		fprintf(stderr, "weir-fwd: --jitter %.3f ms is larger than --delay %.3f ms (a "
				"frame cannot leave before it arrived)\n",
			(double)f->jitter / 1e6, (double)f->delay / 1e6);
		return -EINVAL;
	}
	return 0;
}

/*
 * An afpacket port without its own blocks= gets FWD_AFP_BLOCKS ring blocks
 * of 256 KiB (32 MiB, the driver's default is 16). The RX ring is the only
 * buffer between a Linux sender and a forwarder that is off its CPU (a
 * shared machine, a scheduler slice elsewhere): the kernel copies into it
 * until the sender's window is spent, and drops the rest. A Linux TCP
 * sender's in-flight data is capped by its send buffer (tcp_wmem's maximum,
 * 4 MiB by default), so the ring must hold a few such windows: 32 MiB takes
 * eight flows' as 64 KiB super-frames, five as 1500-byte frames (1616 ring
 * bytes per 1448-byte segment). With 16 MiB bench/tcp_fwd.sh's 4 Cubic
 * flows lost frames at the ring whenever weir-fwd waited for its CPU
 * (every one a retransmit, a super-frame 45); with 32 MiB none.
 */
#define FWD_AFP_BLOCKS "128"

/*
 * An afxdp port on a veth or tap without its own mode= attaches in skb
 * mode. A native XDP program makes the kernel turn the veth peer's TSO off
 * (veth_xdp_set), so the Linux host on the other side cuts every TCP
 * segment itself; generic XDP leaves it on, and the driver's gso_rx takes
 * its super-frames whole (pmd/afxdp_gso.c). bench/tcp_fwd.sh: 2.6-4x the
 * TCP goodput of native mode with the hosts' defaults, with 64-byte
 * forwarding (bench/fwd.sh) within the machine's noise of native.
 */
static bool afxdp_wants_skb(const char *spec)
{
	char ifname[64];
	size_t n;

	if (strncmp(spec, "afxdp:", 6) || strstr(spec, "mode="))
		return false;
	n = strcspn(spec + 6, "?");
	if (n == 0 || n >= sizeof(ifname))
		return false;
	memcpy(ifname, spec + 6, n);
	ifname[n] = 0;
	return weir_port_iface_is_virtual_peer(ifname);
}

static const char *port_spec(const char *spec, char *buf, size_t len)
{
	const char *add;
	int n;

	if (!strncmp(spec, "afpacket:", 9) && !strstr(spec, "blocks="))
		add = "blocks=" FWD_AFP_BLOCKS;
	else if (afxdp_wants_skb(spec))
		add = "mode=skb";
	else
		return spec;
	n = snprintf(buf, len, "%s%c%s", spec, strchr(spec, '?') ? '&' : '?', add);
	if (n <= 0 || (size_t)n >= len)
		return spec;
	if (add[0] == 'm')
		WEIR_INFO("%s: a veth/tap: skb mode, so that its Linux peer keeps TSO and its "
			  "super-frames arrive whole (gso_rx); mode=native to keep native XDP", spec);
	return buf;
}

static int fwd_setup(void *ctx)
{
	struct fwd *f = ctx;
	char why[WEIR_PORT_ERRSIZE + 64];
	int err;

	for (int i = 0; i < f->nports; i++)
		f->base.pool_shared |= weir_port_spec_shares_pool(f->ports[i].spec);
	if ((err = app_pool_create(&f->base, "fwd", 0)) < 0)
		return err;
	for (int i = 0; i < f->nports; i++) {
		struct fwd_port *p = &f->ports[i];
		char what[32], spec[512];

		p->peer = f->engine->check ? -1 : i ^ 1; /* -1: the engine routes */
		if (!p->egress && f->egress_all)
			p->egress = strdup(f->egress_all);
		snprintf(what, sizeof(what), "port %d: ", i);
		if ((err = app_port_open(&f->base, port_spec(p->spec, spec, sizeof(spec)), what,
					 &p->port)) < 0)
			return err;
		p->rx_gso = weir_port_rx_offloads(p->port) & FWD_GSO;
		for (uint16_t q = 0; q < f->base.queues; q++) {
			struct fwd_eg *e = &p->eg[q];

			pthread_mutex_init(&e->mu, NULL);
			fwd_eg_config(f, p, e); /* again below once a qdisc exists */
			if (f->delay || f->jitter) {
				e->dl.slot = calloc(f->dline_size, sizeof(*e->dl.slot));
				if (!e->dl.slot)
					return -ENOMEM;
				e->dl.mask = f->dline_size - 1;
			}
			if (!p->egress)
				continue;
			err = weir_qdisc_create(p->egress, &e->qd, why, sizeof(why));
			if (err < 0) {
				fprintf(stderr, "weir-fwd: --egress for port %d: %s\n", i, why);
				return err;
			}
			fwd_eg_config(f, p, e);
			weir_dql_init(&e->dql, WEIR_NS_PER_SEC);
			weir_port_tx_completed(p->port, q, NULL, &e->done_seen);
		}
	}
	return f->engine->setup ? f->engine->setup(f) : 0;
}

static void fwd_teardown(void *ctx)
{
	struct fwd *f = ctx;

	if (f->engine->teardown)
		f->engine->teardown(f);
	for (int i = 0; i < FWD_MAX_PORTS; i++) {
		struct fwd_port *p = &f->ports[i];

		for (uint16_t q = 0; q < FWD_MAX_QUEUES && i < f->nports; q++) {
			weir_qdisc_destroy(p->eg[q].qd);
			free(p->eg[q].dl.slot);
			free(p->eg[q].snap.tree_json);
		}
		if (p->port)
			weir_port_close(p->port);
		free(p->spec);
		free(p->egress);
	}
	free(f->egress_all);
}

static const struct app_cli fwd_cli = {
	.prog = "weir-fwd",
	.section = "fwd",
	.synopsis = "weir-fwd --port SPEC --port SPEC [--mode l2|io|macswap] [--egress QDISC]\n"
		    "                [--delay TIME] [OPTIONS]\n"
		    "       weir-fwd --mode l3 --port SPEC --addr 0@A/LEN --port SPEC --addr 1@B/LEN\n"
		    "                [--route ROUTE] [--mtu BYTES] [--egress QDISC] [OPTIONS]",
	.about = "Forwards frames between pairs of ports (0<->1, 2<->3, ...), both ways, or\n"
		 "with --mode l3 routes IPv4 between all its ports (ARP, ICMP, TTL, MTU), with\n"
		 "an egress scheduler per port and link emulation (delay, jitter, loss). The\n"
		 "delay sits before the egress queue, so it never counts as queueing. Prints\n"
		 "one line of stats per second on a terminal and a summary at the end.",
	.footer = "Examples:\n"
		  "  # a 100 Mbit/s link with 20 ms one-way delay and fq_codel, between veths\n"
		  "  weir-fwd -p afpacket:veth0 -p afpacket:veth1 --delay 20ms \\\n"
		  "           --egress \"tbf rate 100mbit burst 32k / fq_codel\"\n"
		  "  # the bloated baseline: a FIFO behind the shaper\n"
		  "  weir-fwd -p afpacket:veth0 -p afpacket:veth1 --delay 20ms \\\n"
		  "           --egress \"tbf rate 100mbit burst 32k / fifo limit 10000\"\n"
		  "  # testpmd-style benchmark on two null ports, two queues on CPUs 0,1\n"
		  "  weir-fwd -p null:?queues=2 -p null:?queues=2 -m io -q 2 -c 0,1 -t 5s\n"
		  "  # an IPv4 router between two subnets, a third reached through 10.2.0.2\n"
		  "  weir-fwd -m l3 -p afxdp:veth0 -a 0@10.1.0.1/24 -p afxdp:veth1 -a 1@10.2.0.1/24 \\\n"
		  "           --route \"10.3.0.0/16 via 10.2.0.2\"\n"
		  "  # the same settings from a file\n"
		  "  weir-fwd --config configs/fwd-l2-delay.conf\n"
		  "Exit status: 0 ok, 1 bad usage, 2 a port or scheduler failed, 3 buffers leaked.\n",
	.opts = fwd_opts,
	.set = fwd_set,
};

static int fwd_tele_cmds(void *ctx, struct app_tele *t)
{
	struct fwd *f = ctx;

	return f->engine->tele_cmds ? f->engine->tele_cmds(f, t) : 0;
}

static void fwd_stopping(void *ctx)
{
	struct fwd *f = ctx;

	if (f->engine->stopping)
		f->engine->stopping(f);
}

/* Lcore q's state: its queue and its own stream of loss and jitter draws. */
static void *fwd_lcore_arg(void *ctx, uint16_t q)
{
	struct fwd *f = ctx;
	struct fwd_lcore *lc = &f->lcores[q];

	lc->f = f;
	lc->q = q;
	lc->rng = f->base.seed * 0x9e3779b97f4a7c15ULL + q;
	return lc;
}

static const struct app_def fwd_def = {
	.cli = &fwd_cli,
	.check = fwd_check,
	.setup = fwd_setup,
	.teardown = fwd_teardown,
	.lcore_main = fwd_lcore_main,
	.lcore_arg = fwd_lcore_arg,
	.tele_cmds = fwd_tele_cmds,
	.stopping = fwd_stopping,
	.totals_size = sizeof(struct fwd_totals),
	.totals = fwd_totals,
	.live = fwd_live,
	.json = fwd_json,
	.summary = fwd_summary,
};

int main(int argc, char **argv)
{
	/* Cache-line aligned: every fwd_eg embeds a struct weir_dql. */
	struct fwd *f = aligned_alloc(_Alignof(struct fwd), sizeof(struct fwd));
	int rc;

	if (!f)
		return APP_EXIT_FAIL;
	memset(f, 0, sizeof(*f));
	f->engine = &fwd_engine_l2;
	f->base.queues = 1;
	f->base.burst = 32;
	f->base.seed = 1;
	f->base.pool_size = 32768;
	f->dline_size = 65536;
	f->gro = true; /* bench/tcp_fwd: see README, "Offloads" */
	rc = app_main(&fwd_def, &f->base, f, argc, argv);
	free(f);
	return rc;
}
