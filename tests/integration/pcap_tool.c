// SPDX-License-Identifier: BSD-3-Clause
/*
 * The pcap: driver from outside, for tests/integration/test_pcap.sh: writes
 * numbered frames through a port opened in mode=w, or receives everything
 * a replay port hands out. Frames are printed one per line in hex, so the
 * script can compare them with what tshark and libpcap read; the port's
 * xstats go to stderr as name=value lines.
 *
 * A replay also says how long the scheduler kept the reader off its CPU:
 * desched_max_ns= is the longest run-queue wait (from
 * /proc/thread-self/schedstat, the kernel's own count) between two polls,
 * so the test can tell a replay that kept bad time from a process that was
 * not running (a loaded machine) and judge only the runs that ran.
 *
 *   pcap_tool write SPEC N [GAP_US]  N frames (every third a chain) in
 *                              bursts of 8, GAP_US apart; hex on stdout
 *   pcap_tool read SPEC        replays until the port says it is done
 *
 * Exit 0, or 1 with the port's message when it does not open or dies.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weir/lcore.h"
#include "weir/pkt.h"
#include "weir/port.h"

static uint32_t frame_len(int i)
{
	return 60 + (uint32_t)(i * 53) % 1400;
}

/* Hex lines of what was received, printed at the end: a printf per byte
 * in the receive loop would make the replay look late. */
static char *out;
static size_t out_len, out_cap;

static void print_hex(const struct weir_pkt *p)
{
	static const char digits[] = "0123456789abcdef";
	static uint8_t buf[70000];
	size_t need = 2 * (size_t)p->pkt_len + 1;

	if (p->pkt_len > sizeof(buf) || weir_pkt_copy_out(p, 0, p->pkt_len, buf) < 0)
		abort();
	if (out_len + need > out_cap) {
		out_cap = (out_len + need) * 2;
		out = realloc(out, out_cap);
		if (!out)
			abort();
	}
	for (uint32_t i = 0; i < p->pkt_len; i++) {
		out[out_len++] = digits[buf[i] >> 4];
		out[out_len++] = digits[buf[i] & 15];
	}
	out[out_len++] = '\n';
}

/* Frame i: Ethernet to 02:00:00:00:00:01 from ...:02, EtherType 0x88b5
 * (local experimental), then bytes counting from i; a chain split after
 * 100 bytes when i % 3 == 2. */
static struct weir_pkt *make_frame(struct weir_pool *pool, int i)
{
	static const uint8_t eth[14] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5};
	struct weir_pkt *p = weir_pkt_alloc(pool);
	uint32_t len = frame_len(i), first = i % 3 == 2 ? 100 : len;
	uint8_t *d;

	if (!p)
		return NULL;
	d = weir_pkt_put(p, (uint16_t)first);
	for (uint32_t j = 0; j < first; j++)
		d[j] = j < 14 ? eth[j] : (uint8_t)(i + j);
	if (first < len) {
		struct weir_pkt *s = weir_pkt_alloc(pool);

		if (!s || weir_pkt_chain(p, s) < 0)
			abort();
		d = weir_pkt_put(p, (uint16_t)(len - first));
		for (uint32_t j = first; j < len; j++)
			d[j - first] = (uint8_t)(i + j);
	}
	return p;
}

static void print_xstats(struct weir_port *port)
{
	struct weir_xstat xs[32];
	int n = weir_port_xstats_get(port, xs, 32);

	for (int i = 0; i < n && i < 32; i++)
		fprintf(stderr, "%s=%llu\n", xs[i].name, (unsigned long long)xs[i].value);
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

static int do_write(struct weir_port *port, struct weir_pool *pool, int n, long gap_us)
{
	for (int i = 0; i < n; i += 8) {
		struct weir_pkt *pkts[8];
		uint16_t k = 0;

		for (; k < 8 && i + k < n; k++) {
			pkts[k] = make_frame(pool, i + k);
			if (!pkts[k])
				abort();
			print_hex(pkts[k]);
		}
		weir_port_tx_burst(port, 0, pkts, k);
		if (weir_port_is_dead(port))
			return 1;
		if (gap_us)
			usleep((useconds_t)gap_us);
	}
	return 0;
}

/* Run-queue wait of this thread so far in ns (schedstat's second field),
 * or 0 when the kernel has no schedstat. */
static uint64_t runq_wait_ns(int fd)
{
	char buf[96];
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;
	uint64_t run, wait;

	if (n <= 0)
		return 0;
	buf[n] = 0;
	return sscanf(buf, "%" SCNu64 " %" SCNu64, &run, &wait) == 2 ? wait : 0;
}

static int do_read(struct weir_port *port)
{
	weir_ns_t end = weir_clock_now() + 60 * WEIR_NS_PER_SEC;
	struct weir_pkt *pkts[32];
	int sfd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	uint64_t wait = runq_wait_ns(sfd), wait_max = 0;
	unsigned idle = 0;
	int rc = 1;

	while (weir_clock_now() < end) {
		uint16_t got = weir_port_rx_burst(port, 0, pkts, 32);
		uint64_t w = runq_wait_ns(sfd);

		if (w - wait > wait_max)
			wait_max = w - wait;
		wait = w;
		for (uint16_t i = 0; i < got; i++)
			print_hex(pkts[i]);
		weir_pkt_free_bulk(pkts, got);
		idle = got ? 0 : idle + 1;
		if (idle % 64 == 1 && xstat(port, "replay_done")) {
			rc = 0;
			break;
		}
	}
	fprintf(stderr, "desched_max_ns=%" PRIu64 "%s\n", wait_max, sfd < 0 ? " (no schedstat)" : "");
	if (sfd >= 0)
		close(sfd);
	if (rc)
		fprintf(stderr, "pcap_tool: replay did not end within 60 s\n");
	return rc;
}

int main(int argc, char **argv)
{
	struct weir_pool *pool;
	struct weir_port *port;
	char why[256];
	int rc;

	if (argc < 3 || (strcmp(argv[1], "write") && strcmp(argv[1], "read")) ||
	    (!strcmp(argv[1], "write") && argc < 4)) {
		fprintf(stderr, "usage: pcap_tool write SPEC N | pcap_tool read SPEC\n");
		return 2;
	}
	weir_lcore_set_id(WEIR_LCORE_ANY);
	if (weir_pool_create(&(struct weir_pool_conf){.n = 4096, .huge = 2}, &pool) < 0)
		return 1;
	if (weir_port_open(argv[2], &(struct weir_port_conf){.pool = pool}, &port, why,
			   sizeof(why)) < 0) {
		fprintf(stderr, "pcap_tool: %s\n", why);
		weir_pool_destroy(pool);
		return 1;
	}
	if (!strcmp(argv[1], "write"))
		rc = do_write(port, pool, atoi(argv[3]), argc > 4 ? atol(argv[4]) : 0);
	else
		rc = do_read(port);
	if (out_len && fwrite(out, 1, out_len, stdout) != out_len)
		rc = 1;
	free(out);
	fflush(stdout);
	print_xstats(port);
	weir_port_close(port);
	weir_pool_cache_flush(pool, WEIR_LCORE_ANY);
	if (weir_pool_in_use(pool)) {
		fprintf(stderr, "pcap_tool: %u packet buffers leaked\n", weir_pool_in_use(pool));
		rc = 1;
	}
	weir_pool_destroy(pool);
	return rc;
}
