// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench/afxdp: the weir side of bench/afxdp.sh, which runs it against
 * dpdk-testpmd with net_af_xdp on the same veth topology and cores.
 *
 *   afxdp gen SPEC SECONDS [PPS]        64-byte UDP frames out of SPEC
 *                                       (PPS 0: as fast as it goes)
 *   afxdp rx SPEC SECONDS [idle]        count what arrives (rxonly)
 *   afxdp fwd IN OUT SECONDS [idle]     forward IN -> OUT (io forward)
 *
 * "idle" sleeps on the queue's fd after 64 empty polls (interrupt mode), so
 * CPU time measures work instead of polling. Each prints one line of
 * key=value results: pps, packets, cpu_ns_per_pkt (process CPU time per
 * packet), and the port's drop counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "weir/clock.h"
#include "weir/lcore.h"
#include "weir/log.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port.h"

static double cpu_seconds(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
	       (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static struct weir_port *open_port(const char *spec, struct weir_pool *pool)
{
	struct weir_port_conf conf = {.pool = pool};
	char why[WEIR_PORT_ERRSIZE];
	struct weir_port *port;

	if (weir_port_open(spec, &conf, &port, why, sizeof(why))) {
		fprintf(stderr, "afxdp bench: %s\n", why);
		exit(1);
	}
	return port;
}

static uint64_t xstat(struct weir_port *port, const char *name)
{
	struct weir_xstat xs[32];
	int n = weir_port_xstats_get(port, xs, 32);

	for (int i = 0; i < n && i < 32; i++)
		if (!strcmp(xs[i].name, name))
			return xs[i].value;
	return 0;
}

static void fill_frame(uint8_t *f, uint32_t seq)
{
	static const uint8_t hdr[42] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
		0x45, 0, 0, 50, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x04, 0xd2, 0x23, 0x28, 0, 30, 0, 0};

	memcpy(f, hdr, sizeof(hdr));
	memcpy(f + 42, &seq, 4);
	memset(f + 46, 0, 14);
}

static int cmd_gen(const char *spec, double secs, double pps)
{
	struct weir_pool_conf pc = {.name = "gen", .n = 16384};
	struct weir_pool *pool;
	struct weir_port *port;
	uint64_t sent = 0;
	weir_ns_t start, end, next;
	double cpu0;

	if (weir_pool_create(&pc, &pool) < 0)
		return 1;
	port = open_port(spec, pool);
	cpu0 = cpu_seconds();
	start = next = weir_clock_now();
	end = start + (weir_ns_t)(secs * 1e9);
	while (weir_clock_now() < end && !weir_should_stop()) {
		struct weir_pkt *pkts[64];
		uint16_t n = 64, done;

		if (pps > 0) {
			weir_clock_spin_until(next);
			next += (weir_ns_t)(64 * 1e9 / pps);
		}
		weir_port_tx_done(port, 0);
		if (weir_pkt_alloc_bulk(pool, pkts, n) < 0)
			continue;
		for (uint16_t i = 0; i < n; i++) {
			weir_pkt_put(pkts[i], 60);
			fill_frame(weir_pkt_data(pkts[i]), (uint32_t)(sent + i));
		}
		done = weir_port_tx_burst(port, 0, pkts, n);
		weir_pkt_free_bulk(pkts + done, n - done);
		sent += done;
	}
	end = weir_clock_now();
	printf("gen pps=%.0f packets=%llu cpu_ns_per_pkt=%.1f\n",
	       (double)sent / ((double)(end - start) / 1e9), (unsigned long long)sent,
	       sent ? (cpu_seconds() - cpu0) * 1e9 / (double)sent : 0.0);
	usleep(100000);
	weir_port_tx_done(port, 0);
	weir_port_close(port);
	weir_pool_destroy(pool);
	return 0;
}

static int run_loop(struct weir_port *in, struct weir_port *out, double secs, int idle_mode)
{
	uint64_t pkts_done = 0, warm = 0;
	struct weir_idle idle;
	weir_ns_t start = 0, end, deadline;
	double cpu0 = 0;
	bool started = false;

	weir_idle_init(&idle, 64, 100000);
	/* Only when sleeping: a registered fd puts an epoll entry on the
	 * socket's wait queue, and then every batch the kernel hands to the
	 * socket takes the wait-queue lock and runs the epoll callback in the
	 * sender's softirq (on a veth, the generator's CPU): 5% of its time. */
	if (idle_mode)
		weir_idle_add_fd(&idle, weir_port_wait_fd(in, 0));
	/* The clock starts at the first packet, so start-up does not count. */
	deadline = weir_clock_now() + (weir_ns_t)(secs * 1e9) + 10 * WEIR_NS_PER_SEC;
	end = deadline;
	while (!weir_should_stop()) {
		struct weir_pkt *pkts[64];
		uint16_t n = weir_port_rx_burst(in, 0, pkts, 64);
		weir_ns_t now;

		if (out) {
			weir_port_tx_done(out, 0);
			if (n)
				weir_port_tx_burst_or_free(out, 0, pkts, n);
		} else {
			weir_pkt_free_bulk(pkts, n);
		}
		if (n && !started) {
			started = true;
			start = weir_clock_now();
			end = start + (weir_ns_t)(secs * 1e9);
			cpu0 = cpu_seconds();
			warm = pkts_done;
		}
		pkts_done += n;
		if (idle_mode)
			weir_idle_poll(&idle, n);
		if (!(pkts_done & 0xff) || !n) {
			now = weir_clock_now();
			if (now >= end || now >= deadline)
				break;
		}
	}
	end = weir_clock_now();
	pkts_done -= warm;
	printf("%s pps=%.0f packets=%llu cpu_ns_per_pkt=%.1f rx_dropped=%llu rx_ring_full=%llu "
	       "fill_empty=%llu tx_copies=%llu\n",
	       out ? "fwd" : "rx", started ? (double)pkts_done / ((double)(end - start) / 1e9) : 0,
	       (unsigned long long)pkts_done,
	       pkts_done ? (cpu_seconds() - cpu0) * 1e9 / (double)pkts_done : 0.0,
	       (unsigned long long)xstat(in, "rx_dropped"),
	       (unsigned long long)xstat(in, "rx_ring_full"),
	       (unsigned long long)xstat(in, "rx_fill_ring_empty_descs"),
	       (unsigned long long)(out ? xstat(out, "tx_copies") : 0));
	weir_idle_fini(&idle);
	return 0;
}

int main(int argc, char **argv)
{
	struct weir_pool_conf pc = {.name = "bench", .n = 32768};
	struct weir_pool *pool;
	struct weir_port *in, *out = NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	weir_lcore_set_id(0);
	weir_signal_install();
	if (argc >= 4 && !strcmp(argv[1], "gen"))
		return cmd_gen(argv[2], atof(argv[3]), argc > 4 ? atof(argv[4]) : 0);
	if (argc < 4 || (strcmp(argv[1], "rx") && strcmp(argv[1], "fwd")) ||
	    (!strcmp(argv[1], "fwd") && argc < 5)) {
		fprintf(stderr, "usage: afxdp gen SPEC SECONDS [PPS] | rx SPEC SECONDS [idle] | "
				"fwd IN OUT SECONDS [idle]\n");
		return 2;
	}
	if (weir_pool_create(&pc, &pool) < 0)
		return 1;
	in = open_port(argv[2], pool);
	if (!strcmp(argv[1], "fwd")) {
		out = open_port(argv[3], pool);
		run_loop(in, out, atof(argv[4]), argc > 5 && !strcmp(argv[5], "idle"));
	} else {
		run_loop(in, NULL, atof(argv[3]), argc > 4 && !strcmp(argv[4], "idle"));
	}
	printf("ready-to-close\n");
	weir_port_close(in);
	weir_port_close(out);
	weir_pool_destroy(pool);
	return 0;
}
