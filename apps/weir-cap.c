// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-cap: captures what weir ports receive into pcapng (default) or pcap
 * files, like tcpdump -w / dumpcap: a tcpdump filter expression (compiled
 * by libpcap), snap length, frame count, rotation by size, by wall-clock
 * period and on SIGHUP, a ring of files, and the drop counts said at the
 * end and written into the file itself (pcapng interface statistics).
 *
 * Lcores: one receive lcore per queue (cap/rx.c) and one writer
 * (cap/writer.c), the last one; between them an SPSC ring of packets per
 * receive lcore, so the receive side never waits for the disk. When the
 * two would share one CPU the receive lcore writes itself (cap.h). This file
 * holds the options, setup and teardown; the harness runs the rest.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pool.h"

#include "cap/cap.h"
#include "common/opts.h"

static const struct app_opt cap_opts[] = {
	{"interface", 'i', "PORT", "a weir port to capture from (any port spec; give it\n"
				   "several times for several), e.g. afpacket:veth0, pcap:in.pcap;\n"
				   "or a port of a running weir app: app:SOCKET?port=N&dir=rx|tx|both\n"
				   "(SOCKET: the app's --stats-socket; dir default both)"},
	{"write", 'w', "FILE", "write to FILE (\"-\": standard output, e.g. | tshark -r -)"},
	{"filter", 'f', "EXPR", "tcpdump filter expression (also: the arguments after the\n"
				"options), e.g. \"udp port 53 and host 10.0.0.1\""},
	{"snaplen", 's', "N", "bytes kept of each frame (default and 0: 262144)"},
	{"count", 'c', "N", "stop after N frames are written"},
	{"format", 'F', "FMT", "pcapng (default) or pcap (classic, nanosecond timestamps)"},
	{"file-size", 'C', "MB", "start a new file before one would exceed MB million bytes"},
	{"rotate-seconds", 'G', "SECONDS", "start a new file at every multiple of SECONDS of\n"
					   "the wall clock (not of the first frame)"},
	{"files", 'W', "N", "with -C or -G: keep only the last N files"},
	{"isb-interval", 0, "TIME", "write interface statistics every TIME (default 10s;\n"
				    "0: only at the end of each file)"},
	{"ring", 0, "N", "frames queued per receive lcore for the writer (default 16k)"},
	{"queues", 'q', "N", "RX queues per port, one receive lcore each (default 1)"},
	{"cores", 0, "LIST", "CPUs of the receive lcores, then the writer's, e.g. 1,0"},
	{"writer", 0, "MODE", "thread: a writer lcore behind a ring; inline: the receive\n"
			      "lcore writes (one queue); auto (default): inline when the\n"
			      "two would share a CPU (--cores 1,1, or one CPU allowed)"},
	{"burst", 'b', "N", "frames per RX burst (default 32)"},
	{"pool", 0, "N", "packet buffers (default 64k; 8k with the writer inline)"},
	{"duration", 't', "TIME", "stop after TIME (default: until Ctrl-C or -c)"},
	{"stats-socket", 0, "PATH", "serve JSON telemetry on a unix socket"},
	APP_OPTS_OUTPUT,
};

static int set_format(struct cap *c, const char *val, char *why, size_t len)
{
	if (!strcmp(val, "pcapng")) {
		c->out.format = CAP_FMT_PCAPNG;
	} else if (!strcmp(val, "pcap")) {
		c->out.format = CAP_FMT_PCAP;
	} else {
		snprintf(why, len, "unknown format (pcapng or pcap)");
		return -EINVAL;
	}
	return 0;
}

static int cap_set(void *ctx, const char *name, const char *val, char *why, size_t len)
{
	struct cap *c = ctx;
	uint64_t v;
	int r = 0;

	if (!strcmp(name, "interface")) {
		if (c->nports == CAP_MAX_PORTS) {
			snprintf(why, len, "at most %d interfaces", CAP_MAX_PORTS);
			return -EINVAL;
		}
		return app_set_str(&c->specs[c->nports++], val, why, len);
	} else if (!strcmp(name, "write")) {
		return app_set_str(&c->write, val, why, len);
	} else if (!strcmp(name, "filter")) {
		return app_set_str(&c->filter_expr, val, why, len);
	} else if (!strcmp(name, "snaplen")) {
		if (!(r = app_parse_u64(val, 0, WEIR_PCAPNG_SNAPLEN_DEFAULT, &v, why, len)))
			c->snaplen = v ? (uint32_t)v : WEIR_PCAPNG_SNAPLEN_DEFAULT;
	} else if (!strcmp(name, "count")) {
		return app_parse_u64(val, 1, UINT64_MAX, &c->count, why, len);
	} else if (!strcmp(name, "format")) {
		return set_format(c, val, why, len);
	} else if (!strcmp(name, "file-size")) {
		if (!(r = app_parse_u64(val, 1, 1u << 24, &v, why, len)))
			c->out.rot_bytes = v * 1000000;
	} else if (!strcmp(name, "rotate-seconds")) {
		if (!(r = app_parse_u64(val, 1, 1u << 24, &v, why, len)))
			c->out.rot_ns = v * WEIR_NS_PER_SEC;
	} else if (!strcmp(name, "files")) {
		if (!(r = app_parse_u64(val, 1, 1u << 20, &v, why, len)))
			c->out.ring_files = (uint32_t)v;
	} else if (!strcmp(name, "isb-interval")) {
		return app_parse_duration(val, &c->isb_interval, why, len);
	} else if (!strcmp(name, "writer")) {
		static const char *const modes[] = {"auto", "thread", "inline"};

		for (int m = 0; m < 3; m++)
			if (!strcmp(val, modes[m]))
				c->writer_mode = (enum cap_writer)m;
		if (strcmp(val, modes[c->writer_mode])) {
			snprintf(why, len, "auto, thread or inline");
			return -EINVAL;
		}
	} else if (!strcmp(name, "ring")) {
		if (!(r = app_parse_u64(val, 64, 1u << 22, &v, why, len)))
			c->ring_size = (uint32_t)weir_align_pow2(v);
	}
	return r;
}

/* Inline when asked, or (auto) when one queue and the writer would share a
 * CPU: --cores names one CPU twice, or the process may run on one CPU. */
static int pick_writer(struct cap *c)
{
	cpu_set_t set;
	bool shared;

	if (c->base.ncpus && c->base.ncpus != c->nrx + 1 &&
	    !(c->writer_mode == CAP_WRITER_INLINE && c->base.ncpus == c->nrx)) {
		fprintf(stderr, "weir-cap: --cores lists %d CPUs; give one per receive queue (%u) "
				"and then the writer's, e.g. --cores 1,0\n", c->base.ncpus, c->nrx);
		return -EINVAL;
	}
	if (c->writer_mode == CAP_WRITER_INLINE && c->nrx > 1) {
		fprintf(stderr, "weir-cap: --writer inline takes one queue (--queues %u needs a "
				"writer lcore: --writer thread)\n", c->nrx);
		return -EINVAL;
	}
	shared = c->base.ncpus ? c->base.ncpus > 1 && c->base.cpus[0] == c->base.cpus[1]
			       : !sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) == 1;
	c->inline_write = c->writer_mode == CAP_WRITER_INLINE ||
			  (c->writer_mode == CAP_WRITER_AUTO && c->nrx == 1 && shared);
	return 0;
}

static int cap_check(void *ctx)
{
	struct cap *c = ctx;
	const char *why = NULL;
	char fwhy[512];

	if (!c->nports)
		why = "give a port to capture from (-i SPEC, e.g. -i afpacket:veth0)";
	else if (!c->write)
		why = "give the output (-w FILE, or -w - for standard output)";
	else if (c->out.ring_files && !c->out.rot_bytes && !c->out.rot_ns)
		why = "-W N needs -C or -G (it bounds the number of rotated files)";
	else if (!strcmp(c->write, "-") && (c->out.rot_bytes || c->out.rot_ns))
		why = "-C and -G need a file name, not standard output";
	else if (c->base.queues > CAP_MAX_RX)
		why = "at most 16 queues";
	if (why) {
		fprintf(stderr, "weir-cap: %s (try --help)\n", why);
		return -EINVAL;
	}
	/* A bad filter is bad usage: said before anything is opened. */
	if (cap_filter_compile(&c->filter, c->filter_expr, c->snaplen, fwhy, sizeof(fwhy)) < 0) {
		fprintf(stderr, "weir-cap: filter %s\n", fwhy);
		return -EINVAL;
	}
	c->nrx = c->base.queues;
	if (pick_writer(c) < 0)
		return -EINVAL;
	/* The writer is one more lcore, the last (none when inline). */
	c->base.queues = c->nrx + !c->inline_write;
	/* A ring holds up to --ring frames per receive lcore; inline only a
	 * batch waits (and a pool's pages are all touched at start-up:
	 * 64k buffers take 0.1 s, what tcpdump needs to copy 200k frames). */
	if (!c->base.pool_size)
		c->base.pool_size = c->inline_write ? 8192 : 65536;
	/* Standard output may carry the capture: the report goes to stderr,
	 * as tcpdump's does (a --json document to stdout unless it is taken). */
	c->base.summary_stderr = !c->base.json || !strcmp(c->write, "-");
	return 0;
}

static void on_hup(int sig)
{
	(void)sig;
	cap_hup = 1;
}

/* A pcap: replay port says when it has played (xstat replay_done). */
static int replay_done(struct weir_port *port)
{
	struct weir_xstat xs[32];
	int n = weir_port_xstats_get(port, xs, 32);

	for (int k = 0; k < n && k < 32; k++)
		if (!strcmp(xs[k].name, "replay_done"))
			return xs[k].value != 0;
	return -1;
}

/* -i app:SOCKET?port=N: a mirror of a running app's port. */
static int open_mirror(struct cap *c, int i)
{
	char why[4608];
	int err = cap_mirror_open(c->specs[i], c->filter_expr, c->snaplen, &c->mirrors[i], why,
				  sizeof(why));

	if (err < 0) {
		fprintf(stderr, "weir-cap: -i %s: %s\n", c->specs[i], why);
		return err;
	}
	c->out.ifnames[i] = cap_mirror_name(c->mirrors[i]);
	c->nmirrors++;
	return 0;
}

/*
 * An afpacket port without its own timeout_us= gets CAP_AFP_TIMEOUT_STR (us): the
 * kernel then hands over a ring block when it is full or 10 ms old rather
 * than 1 ms (the driver's default, for forwarders). At 300 kpps that is a
 * wakeup, a poll and a write per ~1500 frames instead of per ~300, which
 * bench/capture.sh measured as about a third less CPU per frame; a frame
 * waits at most that much longer before it reaches the file (tcpdump's
 * libpcap holds them up to 1 s).
 */

#define CAP_AFP_TIMEOUT_STR "10000"

/*
 * It also gets wake=0 unless it says otherwise: the per-frame wake ring
 * (afpacket's default, for a forwarder's first frame after idle) runs an
 * eBPF fanout program per frame in the receiving kernel (on a veth, on the
 * sender's CPU; with the two it had before, bench/capture.sh's generator
 * fell from ~290-360 to ~260 kpps), and a capture gains nothing from waking
 * within 100 us when its blocks may wait 10 ms anyway.
 */
static const char *port_spec(const char *spec, char *buf, size_t len)
{
	/* 1 MiB blocks, 16 of them (the driver's 256 KiB x 64: the same
	 * 16 MiB): a wakeup, a poll and a block release per ~7000 frames.
	 * bench/capture.sh PARTS=cpu at 300 kpps, 3 rounds: 177 ns a frame
	 * (150-207) -> 142 (125-150), tcpdump 186 (148-190). */
	static const char *const defs[][2] = {
		{"timeout_us=", CAP_AFP_TIMEOUT_STR}, {"wake=", "0"},
		{"block_size=", "1048576"}, {"blocks=", "16"},
	};
	size_t at;
	int n;

	if (strncmp(spec, "afpacket:", 9))
		return spec;
	n = snprintf(buf, len, "%s", spec);
	if (n < 0 || (size_t)n >= len)
		return spec;
	at = (size_t)n;
	for (size_t k = 0; k < sizeof(defs) / sizeof(defs[0]); k++) {
		if (strstr(spec, defs[k][0]))
			continue;
		n = snprintf(buf + at, len - at, "%c%s%s", strchr(buf, '?') ? '&' : '?', defs[k][0],
			     defs[k][1]);
		if (n < 0 || (size_t)n >= len - at)
			return spec;
		at += (size_t)n;
	}
	return buf;
}

static int open_ports(struct cap *c)
{
	for (int i = 0; i < c->nports; i++) {
		if (!strncmp(c->specs[i], "app:", 4)) {
			int err = open_mirror(c, i);

			if (err < 0)
				return err;
			continue;
		}
		struct weir_port_conf conf = {.pool = c->base.pool, .nb_rxq = c->nrx,
					      .nb_txq = c->nrx};
		char why[WEIR_PORT_ERRSIZE], spec[4096];
		int err;

		/* An AF_XDP RX ring of the default 2048 lasts 4.5 ms at 450
		 * kpps: one writev and a preemption on a shared CPU, and the
		 * kernel drops. A capture wants what afpacket's block ring
		 * gives it (megabytes, tens of ms): CAP_XDP_RX descriptors. */
		if (!strncmp(c->specs[i], "afxdp:", 6))
			conf.rx_size = CAP_XDP_RX;
		err = weir_port_open(port_spec(c->specs[i], spec, sizeof(spec)), &conf, &c->ports[i],
				     why, sizeof(why));
		if (err < 0) {
			fprintf(stderr, "weir-cap: -i %s: %s\n", c->specs[i], why);
			return err;
		}
		if (weir_port_nb_rxq(c->ports[i]) < c->nrx) {
			fprintf(stderr, "weir-cap: -i %s opened %u RX queues; --queues %u needs that "
					"many (add ?queues=%u to the spec)\n", c->specs[i],
				weir_port_nb_rxq(c->ports[i]), c->nrx, c->nrx);
			return -EINVAL;
		}
		c->replay[i] = replay_done(c->ports[i]) >= 0;
		c->out.ifnames[i] = c->specs[i];
	}
	return 0;
}

static int make_rx(struct cap *c)
{
	for (uint16_t q = 0; q <= c->nrx; q++) {
		struct cap_rx *rx = &c->rx[q];
		char name[WEIR_RING_NAMESIZE];
		int err;

		rx->c = c;
		rx->q = q;
		rx->writer = q == c->nrx;
		if (rx->writer)
			break;
		snprintf(name, sizeof(name), "cap-rx%u", q);
		err = c->inline_write ? 0
				      : weir_ring_create(name, c->ring_size,
							 WEIR_RING_SP_ENQ | WEIR_RING_SC_DEQ,
							 &rx->ring);
		rx->scratch = malloc(c->snaplen);
		if (err < 0 || !rx->scratch) {
			fprintf(stderr, "weir-cap: cannot allocate a ring of %u frames (try a "
					"smaller --ring)\n", c->ring_size);
			return err < 0 ? err : -ENOMEM;
		}
	}
	return 0;
}

static int cap_setup(void *ctx)
{
	struct cap *c = ctx;
	struct sigaction sa = {.sa_handler = on_hup, .sa_flags = SA_RESTART};
	int err;

	if ((err = app_pool_create(&c->base, "cap", 0)) < 0 || (err = open_ports(c)) < 0 ||
	    (err = make_rx(c)) < 0)
		return err;
	c->rt_off = weir_clock_realtime() - weir_clock_now();
	c->t_start = weir_clock_realtime();
	c->out.path = c->write;
	c->out.snaplen = c->snaplen;
	c->out.nifs = c->nports;
	c->out.named = c->out.rot_bytes || c->out.rot_ns;
	if (cap_files_open(&c->out, c->t_start) < 0 || cap_out_start(&c->out, c->t_start) < 0) {
		fprintf(stderr, "weir-cap: %s\n", c->out.errmsg);
		return c->out.err;
	}
	sigaction(SIGHUP, &sa, NULL);
	return 0;
}

static void cap_teardown(void *ctx)
{
	struct cap *c = ctx;

	if (c->out.fd >= 0 && c->out.files)
		cap_out_finish(&c->out);
	cap_files_free(&c->out);
	for (uint16_t q = 0; q < CAP_MAX_RX; q++) {
		struct weir_pkt *left[CAP_BATCH];
		uint32_t n;

		while (c->rx[q].ring &&
		       (n = weir_ring_dequeue_burst(c->rx[q].ring, (void **)left, CAP_BATCH)))
			weir_pkt_free_bulk(left, n);
		weir_ring_destroy(c->rx[q].ring);
		free(c->rx[q].scratch);
	}
	for (int i = 0; i < CAP_MAX_PORTS; i++) {
		if (c->ports[i])
			weir_port_close(c->ports[i]);
		cap_mirror_close(c->mirrors[i]);
		free(c->specs[i]);
	}
	cap_filter_free(&c->filter);
	free(c->filter_expr);
	free(c->write);
}

static bool cap_done(void *ctx, weir_ns_t now)
{
	struct cap *c = ctx;
	int ends = 0, ended = 0;

	if (atomic_load(&c->finished))
		return true;
	if (c->base.duration && !weir_time_after(c->base.start + c->base.duration, now))
		return true;
	for (int i = 0; i < c->nports; i++) {
		ends += c->replay[i] || c->mirrors[i];
		ended += (c->replay[i] && replay_done(c->ports[i]) == 1) ||
			 (c->mirrors[i] && cap_mirror_over(c->mirrors[i]));
	}
	/* Every source is a file that has played or an app that has gone:
	 * nothing more will come. */
	return ends == c->nports && ended == ends;
}

static weir_ns_t cap_wake(void *ctx, weir_ns_t now, weir_ns_t line)
{
	(void)ctx;
	/* -c, a failed output and the end of a replay are noticed here. */
	return weir_time_after(line, now + 20 * WEIR_NS_PER_MS) ? now + 20 * WEIR_NS_PER_MS : line;
}

static int cap_lcore_main(void *arg)
{
	struct cap_rx *rx = arg;

	return rx->writer ? cap_writer_main(rx->c) : cap_rx_main(rx);
}

static void *cap_lcore_arg(void *ctx, uint16_t q)
{
	return &((struct cap *)ctx)->rx[q];
}

static const struct app_cli cap_cli = {
	.prog = "weir-cap",
	.section = "cap",
	.synopsis = "weir-cap -i PORT [-i PORT ...] -w FILE|- [-s SNAPLEN] [-c COUNT] [-F pcap]\n"
		    "                [-C MB] [-G SECONDS] [-W N] [OPTIONS] [FILTER EXPRESSION]",
	.about = "Captures the frames weir ports receive into a pcapng file (one interface per\n"
		 "port, nanosecond timestamps, interface statistics with what weir and the\n"
		 "kernel dropped) or a classic pcap file, through a tcpdump filter. The\n"
		 "receive lcores never wait for the disk: frames go to a writer lcore through\n"
		 "a ring; what does not fit is dropped and counted. SIGHUP starts a new file.",
	.footer = "Examples:\n"
		  "  weir-cap -i afpacket:veth0 -w dns.pcapng udp port 53\n"
		  "  weir-cap -i afxdp:veth1 -w - -c 100 | tshark -r -\n"
		  "  weir-cap -i afpacket:veth0 -w /var/cap/x.pcapng -G 60 -W 24   # a day of hours\n"
		  "  weir-cap -i 'pcap:in.pcap?speed=max' -w out.pcap -F pcap 'vlan and arp'\n"
		  "  weir-cap -i 'app:/run/fwd.sock?port=1&dir=tx' -w out.pcapng   # a running weir-fwd\n"
		  "Rotated files are PREFIX_NNNNN_YYYYmmddHHMMSS.EXT (UTC).\n"
		  "Exit status: 0 ok, 1 bad usage, 2 a port or the output failed, 3 buffers leaked.\n",
	.opts = cap_opts,
	.set = cap_set,
	.rest = "filter",
};

static const struct app_def cap_def = {
	.cli = &cap_cli,
	.check = cap_check,
	.setup = cap_setup,
	.teardown = cap_teardown,
	.lcore_main = cap_lcore_main,
	.lcore_arg = cap_lcore_arg,
	.wake = cap_wake,
	.done = cap_done,
	.totals_size = sizeof(struct cap_totals),
	.totals = cap_totals,
	.live = cap_live,
	.json = cap_json,
	.summary = cap_summary,
};

int main(int argc, char **argv)
{
	struct cap *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return APP_EXIT_FAIL;
	c->base.queues = 1;
	c->base.burst = 32;
	c->base.pool_size = 0; /* cap_check: by the writer mode */
	c->snaplen = WEIR_PCAPNG_SNAPLEN_DEFAULT;
	c->ring_size = 16384;
	c->isb_interval = 10 * WEIR_NS_PER_SEC;
	c->out.fd = -1;
	rc = app_main(&cap_def, &c->base, c, argc, argv);
	if (rc == APP_EXIT_OK && c->out.err)
		rc = APP_EXIT_FAIL;
	free(c);
	return rc;
}
