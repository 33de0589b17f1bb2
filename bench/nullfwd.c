// SPDX-License-Identifier: BSD-3-Clause
/*
 * Forwarding between two null: ports on one pinned core, the way
 * dpdk-testpmd's macswap mode does it: receive a burst of 32 from port 0,
 * swap source and destination MAC of each frame, transmit the burst on
 * port 1, then the same from port 1 to port 0. null: makes a packet out of
 * a pool buffer on receive and frees it on transmit, so what is measured
 * is the framework: pool, port calls, packet metadata, one touch of the
 * data. bench/nullfwd.sh runs this and testpmd side by side.
 *
 *   nullfwd [-c CPU] [-t SECONDS] [-s FRAME_SIZE] [-b BURST]
 *
 * Prints "nullfwd: <Mpps> Mpps" (packets transmitted on both ports per
 * second) and the per-port counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weir/clock.h"
#include "weir/lcore.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port.h"

#define MAX_BURST 64

static inline void mac_swap(struct weir_pkt *p)
{
	uint8_t *d = weir_pkt_data(p);
	uint8_t tmp[6];

	memcpy(tmp, d, 6);
	memmove(d, d + 6, 6);
	memcpy(d + 6, tmp, 6);
}

/* One direction: rx burst, swap, tx burst; what tx refuses is freed. */
static inline uint32_t forward(struct weir_port *in, struct weir_port *out, uint16_t burst)
{
	struct weir_pkt *pkts[MAX_BURST];
	uint16_t n = weir_port_rx_burst(in, 0, pkts, burst);

	for (uint16_t i = 0; i < n; i++)
		mac_swap(pkts[i]);
	if (n)
		weir_port_tx_burst_or_free(out, 0, pkts, n);
	return n;
}

int main(int argc, char **argv)
{
	int cpu = weir_lcore_count() - 1, opt, err;
	double seconds = 5;
	unsigned size = 64, burst = 32;
	struct weir_port *p[2];
	struct weir_pool *pool;
	char spec[64], why[WEIR_PORT_ERRSIZE];

	while ((opt = getopt(argc, argv, "c:t:s:b:")) != -1) {
		switch (opt) {
		case 'c': cpu = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 's': size = (unsigned)atoi(optarg); break;
		case 'b': burst = (unsigned)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-c CPU] [-t SECONDS] [-s FRAME_SIZE] [-b BURST]\n",
				argv[0]);
			return 2;
		}
	}
	if (burst < 1 || burst > MAX_BURST || seconds <= 0) {
		fprintf(stderr, "nullfwd: burst must be 1..%d and seconds > 0\n", MAX_BURST);
		return 2;
	}
	if ((err = weir_lcore_pin(cpu)) < 0) {
		fprintf(stderr, "nullfwd: cannot pin to CPU %d: %s\n", cpu, strerror(-err));
		return 1;
	}
	weir_lcore_set_id(0);
	weir_signal_install();
	/* As testpmd: 8192 packets per port would do; its default cache is 250. */
	err = weir_pool_create(&(struct weir_pool_conf){.name = "nullfwd", .n = 16384,
							.cache_size = 256},
			       &pool);
	if (err < 0) {
		fprintf(stderr, "nullfwd: cannot create the pool: %s\n", strerror(-err));
		return 1;
	}
	snprintf(spec, sizeof(spec), "null:?size=%u", size);
	for (int i = 0; i < 2; i++) {
		if (weir_port_open(spec, &(struct weir_port_conf){.pool = pool}, &p[i], why,
				   sizeof(why))) {
			fprintf(stderr, "nullfwd: %s\n", why);
			return 1;
		}
	}

	weir_ns_t start = weir_clock_now(), end = start + (weir_ns_t)(seconds * 1e9), now;
	uint64_t fwd = 0;

	do {
		/* The clock costs ~20 ns: read it once per 256 rounds. */
		for (int i = 0; i < 256; i++) {
			fwd += forward(p[0], p[1], (uint16_t)burst);
			fwd += forward(p[1], p[0], (uint16_t)burst);
		}
		now = weir_clock_now();
	} while (now < end && !weir_should_stop());

	double secs = (double)(now - start) / 1e9;
	struct weir_port_stats st[2];

	for (int i = 0; i < 2; i++)
		weir_port_stats_get(p[i], &st[i]);
	printf("nullfwd: %.2f Mpps (%llu packets in %.2f s, CPU %d, %u-byte frames, burst %u)\n",
	       (double)fwd / secs / 1e6, (unsigned long long)fwd, secs, cpu, size, burst);
	for (int i = 0; i < 2; i++)
		printf("  port %d: rx %llu, tx %llu, tx dropped %llu, rx_nombuf %llu\n", i,
		       (unsigned long long)st[i].ipackets, (unsigned long long)st[i].opackets,
		       (unsigned long long)st[i].odropped, (unsigned long long)st[i].rx_nombuf);
	weir_port_close(p[0]);
	weir_port_close(p[1]);
	weir_pool_cache_flush(pool, 0);
	if (weir_pool_in_use(pool))
		fprintf(stderr, "nullfwd: %u packets leaked\n", weir_pool_in_use(pool));
	weir_pool_destroy(pool);
	return 0;
}
