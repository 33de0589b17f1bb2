// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench/afpacket: the two ends of the afpacket receive benchmark
 * (bench/afpacket.sh runs them on a veth pair, against dpdk-testpmd's
 * net_af_packet with the same sender and cores).
 *
 *   afpacket rx  SPEC SECONDS CPU [idle]      receive and free, print Mpps
 *   afpacket gen SPEC SECONDS CPU SIZE [PPS]  send SIZE-byte frames flat
 *                                             out, or paced at PPS
 *
 * "idle" sleeps on the queue's wait fd after 64 empty polls (interrupt
 * mode), so the receiver's CPU time (the script reads it from /proc, the
 * same way for testpmd) measures work rather than polling.
 *
 * rx runs for SECONDS (0: until SIGINT/SIGTERM) and reports packets per
 * second after a half-second warm-up, the total since open (the script
 * divides it by the sender's time, as it does for testpmd), the zero-copy /
 * copy split and kernel drops, so a figure can be checked against what the
 * kernel saw. Output is one line of
 * key=value pairs for the script to parse.
 */
#include <errno.h>
#include <stdbool.h>
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

#define BURST 64

static struct weir_port *open_port(const char *spec, struct weir_pool **pool)
{
	struct weir_pool_conf pc = {.name = "bench", .n = 16384};
	struct weir_port_conf conf;
	struct weir_port *port;
	char why[WEIR_PORT_ERRSIZE];
	int err;

	if ((err = weir_pool_create(&pc, pool)) < 0) {
		fprintf(stderr, "pool: %s\n", strerror(-err));
		exit(1);
	}
	conf = (struct weir_port_conf){.pool = *pool};
	err = weir_port_open(spec, &conf, &port, why, sizeof(why));
	if (err) {
		fprintf(stderr, "%s\n", why);
		exit(1);
	}
	return port;
}

static uint64_t xstat(struct weir_port *port, const char *name)
{
	struct weir_xstat xs[64];
	int n = weir_port_xstats_get(port, xs, 64);

	for (int i = 0; i < n && i < 64; i++)
		if (!strcmp(xs[i].name, name))
			return xs[i].value;
	return 0;
}

static int do_rx(struct weir_port *port, double secs, bool idle_mode)
{
	struct weir_idle idle;
	struct weir_pkt *pk[BURST];
	weir_ns_t warm = weir_clock_now() + WEIR_NS_PER_SEC / 2, start = 0, end = 0, now;
	uint64_t n = 0, base = 0;
	uint16_t nq = weir_port_nb_rxq(port);
	uint32_t work;

	weir_idle_init(&idle, 64, 100000);
	/* Only in idle mode: a registered fd is a wait-queue entry the
	 * kernel's delivery has to wake for every batch. */
	for (uint16_t q = 0; idle_mode && q < nq; q++)
		weir_idle_add_fd(&idle, weir_port_wait_fd(port, q));
	for (uint64_t iter = 0;; iter++) {
		work = 0;
		for (uint16_t q = 0; q < nq; q++) {
			uint16_t got = weir_port_rx_burst(port, q, pk, BURST);

			weir_pkt_free_bulk(pk, got);
			n += got;
			work += got;
		}
		if (idle_mode && weir_idle_poll(&idle, work))
			iter = 0; /* woke up: look at the clock now */
		if (iter % 64)
			continue;
		now = weir_clock_now();
		if (!start && weir_time_after(now, warm)) {
			start = now;
			base = n;
			end = start + (weir_ns_t)(secs * WEIR_NS_PER_SEC);
		}
		if ((start && secs > 0 && weir_time_after(now, end)) || weir_should_stop() ||
		    weir_port_is_dead(port))
			break;
	}
	weir_idle_fini(&idle);
	now = weir_clock_now();
	if (!start)
		start = now, base = n;
	printf("rx_pps=%.0f packets=%llu seconds=%.3f total=%llu zerocopy=%llu copied=%llu "
	       "kdrops=%llu\n",
	       (double)(n - base) * 1e9 / (double)(now - start + 1), (unsigned long long)(n - base),
	       (double)(now - start) / 1e9, (unsigned long long)n,
	       (unsigned long long)xstat(port, "rx_zerocopy_packets"),
	       (unsigned long long)xstat(port, "rx_copy_packets"),
	       (unsigned long long)xstat(port, "rx_kernel_drops"));
	return 0;
}

static int do_gen(struct weir_port *port, struct weir_pool *pool, double secs, uint16_t size,
		  double pps)
{
	weir_ns_t next = weir_clock_now();
	uint8_t frame[2048];
	struct weir_pkt *pk[BURST];
	weir_ns_t start = weir_clock_now(), end = start + (weir_ns_t)(secs * WEIR_NS_PER_SEC), now;
	uint64_t sent = 0, iter = 0;
	struct rusage ru;

	if (size < 60 || size > 1514) {
		fprintf(stderr, "size must be 60..1514\n");
		return 1;
	}
	/* To the port's own peer: broadcast, an experimental EtherType the
	 * receiving kernel drops right after the packet taps. */
	memset(frame, 0xff, 6);
	weir_port_mac(port, frame + 6);
	frame[12] = 0x88, frame[13] = 0xb5;
	for (uint16_t i = 14; i < size; i++)
		frame[i] = (uint8_t)i;
	while (!weir_should_stop()) {
		uint16_t n;

		if (pps > 0) {
			weir_clock_spin_until(next);
			next += (weir_ns_t)(BURST * 1e9 / pps);
		}
		if (weir_pkt_alloc_bulk(pool, pk, BURST) == 0) {
			for (int i = 0; i < BURST; i++) {
				memcpy(weir_pkt_put(pk[i], size), frame, size);
				memcpy(weir_pkt_data(pk[i]) + 14, &sent, sizeof(sent));
			}
			n = weir_port_tx_burst(port, 0, pk, BURST);
			sent += n;
			weir_pkt_free_bulk(pk + n, BURST - n);
		}
		weir_port_tx_done(port, 0);
		if (++iter % 16 == 0 && weir_time_after(weir_clock_now(), end))
			break;
	}
	now = weir_clock_now();
	/* The sender's own CPU time: on a veth it includes the kernel's
	 * receive work (the packet sockets' programs and copies). */
	getrusage(RUSAGE_SELF, &ru);
	printf("tx_pps=%.0f packets=%llu seconds=%.3f cpu=%.3f\n",
	       (double)sent * 1e9 / (double)(now - start), (unsigned long long)sent,
	       (double)(now - start) / 1e9,
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	struct weir_pool *pool;
	struct weir_port *port;
	double secs;
	int cpu, rc;

	if (argc < 5 || (strcmp(argv[1], "rx") && strcmp(argv[1], "gen")) ||
	    (!strcmp(argv[1], "gen") && argc < 6)) {
		fprintf(stderr, "usage: %s rx SPEC SECONDS CPU [idle] | gen SPEC SECONDS CPU SIZE [PPS]\n",
			argv[0]);
		return 1;
	}
	secs = atof(argv[3]);
	cpu = atoi(argv[4]);
	weir_signal_install();
	if (cpu >= 0 && weir_lcore_pin(cpu) < 0)
		fprintf(stderr, "warning: cannot pin to cpu %d\n", cpu);
	weir_lcore_set_id(0);
	port = open_port(argv[2], &pool);
	if (!strcmp(argv[1], "rx"))
		rc = do_rx(port, secs, argc > 5 && !strcmp(argv[5], "idle"));
	else
		rc = do_gen(port, pool, secs, (uint16_t)atoi(argv[5]), argc > 6 ? atof(argv[6]) : 0);
	weir_port_close(port);
	weir_pool_cache_flush(pool, 0);
	if (weir_pool_in_use(pool))
		fprintf(stderr, "warning: %u buffers not returned\n", weir_pool_in_use(pool));
	weir_pool_destroy(pool);
	return rc;
}
