// SPDX-License-Identifier: BSD-3-Clause
/*
 * The helper behind test_afxdp.sh: each subcommand is one side of an
 * exchange between an afxdp: port and the Linux kernel on a veth pair.
 * Frames are deterministic (sequence number, length and payload follow
 * from the index), so the other side checks every byte.
 *
 *   rx SPEC COUNT [TIMEOUT_S [MIN MAX]]  receive COUNT test frames through weir
 *   tx SPEC COUNT [MIN MAX]        send COUNT test frames through weir
 *   rawtx IFACE COUNT [MIN MAX]    send them with an AF_PACKET socket
 *   rawrx IFACE COUNT [TIMEOUT_S]  receive them with an AF_PACKET socket
 *   udptx IP PORT COUNT            send UDP datagrams through the kernel
 *   udprx PORT COUNT [TIMEOUT_S]   count UDP datagrams the kernel delivers
 *   fwd SPEC_IN SPEC_OUT COUNT     forward COUNT frames in -> out
 *   idle SPEC IDLE_S               sleep in interrupt mode, report CPU use
 *                                  and the first frame's latency
 *   badopen SPEC                   expect the open to fail with a message
 *   vanish SPEC                    poll until the interface goes away
 *   steer SPEC UDP_PORT COUNT      receive COUNT UDP datagrams to UDP_PORT;
 *                                  fail on any other frame (they belong to
 *                                  the kernel)
 *
 * rawtx sends frames TX_FIRST, TX_FIRST + TX_STEP, ... (environment,
 * defaults 0 and 1), so senders pinned to different CPUs (and so, on a
 * veth, different queues) can share one sequence.
 *
 * Every weir subcommand fails when a pool buffer leaked, and when the
 * driver left its own libbpf/libxdp print callbacks installed after an open
 * or close (they are process-wide: the program's own must come back).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "weir/clock.h"
#include "weir/lcore.h"
#include "weir/log.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port.h"

#define ETYPE 0x88b5
#define HDR 30 /* eth 14 + seq 4 + len 4 + stamp 8 */
#define MAXF 9000

static uint32_t min_len = 60, max_len = 1514;

static uint32_t frame_len(uint32_t i)
{
	return min_len + (i * 37u) % (max_len - min_len + 1);
}

static void make_frame(uint32_t i, uint8_t *f, uint32_t len)
{
	static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
	weir_ns_t now = weir_clock_now();

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETYPE >> 8;
	f[13] = ETYPE & 0xff;
	memcpy(f + 14, &i, 4);
	memcpy(f + 18, &len, 4);
	memcpy(f + 22, &now, 8);
	for (uint32_t j = HDR; j < len; j++)
		f[j] = (uint8_t)(i * 7u + j * 13u);
}

/* 1: a test frame with every byte right; 0: not a test frame; -1: corrupt. */
static int check_frame(const uint8_t *f, uint32_t len, uint32_t *seq)
{
	uint32_t i, l;

	if (len < HDR || f[12] != (ETYPE >> 8) || f[13] != (ETYPE & 0xff))
		return 0;
	memcpy(&i, f + 14, 4);
	memcpy(&l, f + 18, 4);
	if (l != len || l != frame_len(i)) {
		fprintf(stderr, "frame %u: length %u, expected %u\n", i, len, frame_len(i));
		return -1;
	}
	for (uint32_t j = HDR; j < len; j++) {
		if (f[j] != (uint8_t)(i * 7u + j * 13u)) {
			fprintf(stderr, "frame %u: byte %u is %02x, expected %02x\n", i, j, f[j],
				(uint8_t)(i * 7u + j * 13u));
			return -1;
		}
	}
	*seq = i;
	return 1;
}

static struct weir_pool *pool_make(void)
{
	struct weir_pool_conf pc = {.name = "afxdp-test", .n = 16384};
	int err;
	struct weir_pool *p;

	if ((err = weir_pool_create(&pc, &p)) < 0) {
		fprintf(stderr, "pool: %s\n", strerror(-err));
		exit(1);
	}
	return p;
}

static struct weir_port *port_make(const char *spec, struct weir_pool *pool)
{
	struct weir_port_conf conf = {.pool = pool};
	struct weir_port *port;
	char why[WEIR_PORT_ERRSIZE];
	int e = weir_port_open(spec, &conf, &port, why, sizeof(why));

	if (e) {
		fprintf(stderr, "open failed: %s\n", why);
		exit(2);
	}
	return port;
}

static void print_xstats(struct weir_port *port)
{
	struct weir_xstat xs[32];
	int n = weir_port_xstats_get(port, xs, 32);

	for (int i = 0; i < n && i < 32; i++)
		if (xs[i].value)
			printf("  %s=%llu\n", xs[i].name, (unsigned long long)xs[i].value);
}

/* Closes the port and destroys the pool; 1 when a buffer leaked. */
/* The program's own print callbacks, installed before any port is opened. */
__attribute__((format(printf, 2, 0))) static int own_libbpf_print(enum libbpf_print_level l,
								   const char *fmt, va_list ap)
{
	return l == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

__attribute__((format(printf, 2, 0))) static int own_libxdp_print(enum libxdp_print_level l,
								   const char *fmt, va_list ap)
{
	return l == LIBXDP_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

/* Regression: the driver replaced the print callbacks process-wide and
 * never put the program's back. 0 when they are still ours. */
static int check_print_callbacks(const char *when)
{
	libbpf_print_fn_t b = libbpf_set_print(own_libbpf_print);
	libxdp_print_fn_t x = libxdp_set_print(own_libxdp_print);

	if (b == own_libbpf_print && x == own_libxdp_print)
		return 0;
	fprintf(stderr, "FAIL: after %s, the libbpf/libxdp print callbacks are not the "
			"program's own (libbpf %s, libxdp %s)\n",
		when, b == own_libbpf_print ? "ok" : "replaced",
		x == own_libxdp_print ? "ok" : "replaced");
	return 1;
}

static int finish(struct weir_port *port, struct weir_pool *pool)
{
	uint32_t in_use;

	if (check_print_callbacks("an open"))
		return 1;
	weir_port_close(port);
	if (check_print_callbacks("a close"))
		return 1;
	weir_pool_cache_flush(pool, weir_lcore_id());
	in_use = weir_pool_in_use(pool);
	weir_pool_destroy(pool);
	if (in_use) {
		fprintf(stderr, "LEAK: %u pool buffers still in use after close\n", in_use);
		return 1;
	}
	return 0;
}

static int cmd_rx(int argc, char **argv)
{
	uint32_t count = (uint32_t)atoi(argv[3]), got = 0, bad = 0, segs = 0;
	double timeout = argc > 4 ? atof(argv[4]) : 10;
	struct weir_pool *pool;
	struct weir_port *port;
	uint16_t nq;
	uint64_t perq[64] = {0};
	uint8_t *seen = calloc(count, 1), *buf = malloc(MAXF + 64);
	weir_ns_t end = weir_clock_now() + (weir_ns_t)(timeout * 1e9);
	struct weir_pkt *pkts[64];
	uint32_t dups = 0;
	int rc;

	if (argc > 6) {
		min_len = (uint32_t)atoi(argv[5]);
		max_len = (uint32_t)atoi(argv[6]);
	}
	pool = pool_make();
	port = port_make(argv[2], pool);
	nq = weir_port_nb_rxq(port);
	printf("ready\n");
	fflush(stdout);
	while (got < count && weir_clock_now() < end) {
		for (uint16_t q = 0; q < nq; q++) {
			uint16_t n = weir_port_rx_burst(port, q, pkts, 64);

			for (uint16_t i = 0; i < n; i++) {
				struct weir_pkt *p = pkts[i];
				uint32_t seq;
				int r;

				if (p->nb_segs > 1)
					segs++;
				/* Headroom: XDP's 256 plus weir's own. */
				if (weir_pkt_headroom(p) < 256 + pool->headroom) {
					fprintf(stderr, "headroom %u < %u\n", weir_pkt_headroom(p),
						256 + pool->headroom);
					bad++;
				}
				weir_pkt_copy_out(p, 0, p->pkt_len, buf);
				r = check_frame(buf, p->pkt_len, &seq);
				if (r < 0)
					bad++;
				if (r > 0 && seq < count) {
					dups += seen[seq];
					seen[seq] = 1;
					got++;
					perq[q]++;
				}
				weir_pkt_free(p);
			}
		}
	}
	printf("rx: %u/%u frames, %u corrupt, %u duplicate, %u multi-buffer; per queue:", got,
	       count, bad, dups, segs);
	for (uint16_t q = 0; q < nq; q++)
		printf(" q%u=%llu", q, (unsigned long long)perq[q]);
	printf("\n");
	print_xstats(port);
	rc = finish(port, pool);
	free(seen);
	free(buf);
	return rc || got != count || bad || dups ? 1 : 0;
}

/*
 * Regression: a frame a burst takes but drops (a GSO super-frame AF_XDP
 * cannot send) must count as completed, or DQL above it waits for it for
 * good and the egress stalls. Sends one on queue 0; 0 or 1.
 */
static int tx_dropped_completes(struct weir_port *port, struct weir_pool *pool)
{
	struct weir_pkt *p = weir_pkt_alloc(pool);

	if (!p)
		return 1;
	weir_pkt_put(p, 1000);
	make_frame(0, weir_pkt_data(p), 1000);
	p->gso_type = WEIR_PKT_GSO_TCPV4;
	p->gso_size = 500;
	if (weir_port_tx_burst(port, 0, &p, 1) != 1) {
		weir_pkt_free(p);
		printf("FAIL: the driver did not take the super-frame it must drop\n");
		return 1;
	}
	return 0;
}

/* Every frame taken, sent or dropped, shows in the completion counters. */
static int tx_all_completed(struct weir_port *port, uint64_t want)
{
	uint64_t total = 0;

	for (uint16_t q = 0; q < weir_port_nb_txq(port); q++) {
		uint64_t n = 0;

		weir_port_tx_completed(port, q, &n, NULL);
		total += n;
	}
	if (total == want)
		return 0;
	printf("FAIL: %llu of %llu frames taken were reported completed\n",
	       (unsigned long long)total, (unsigned long long)want);
	return 1;
}

static int cmd_tx(int argc, char **argv)
{
	uint32_t count = (uint32_t)atoi(argv[3]), sent = 0;
	struct weir_pool *pool;
	struct weir_port *port;
	weir_ns_t end;
	int rc;

	if (argc > 5) {
		min_len = (uint32_t)atoi(argv[4]);
		max_len = (uint32_t)atoi(argv[5]);
	}
	pool = pool_make();
	port = port_make(argv[2], pool);
	end = weir_clock_now() + 10 * WEIR_NS_PER_SEC;
	while (sent < count && weir_clock_now() < end) {
		struct weir_pkt *pkts[32];
		uint16_t n = (uint16_t)WEIR_MIN(32u, count - sent), done;
		uint16_t q = (uint16_t)(sent / 32 % weir_port_nb_txq(port));

		if (weir_pkt_alloc_bulk(pool, pkts, n) < 0) {
			weir_port_tx_done(port, q);
			continue;
		}
		for (uint16_t i = 0; i < n; i++) {
			uint32_t len = frame_len(sent + i);

			weir_pkt_put(pkts[i], (uint16_t)len);
			make_frame(sent + i, weir_pkt_data(pkts[i]), len);
		}
		done = weir_port_tx_burst(port, q, pkts, n);
		weir_pkt_free_bulk(pkts + done, n - done);
		sent += done;
		weir_port_tx_done(port, q);
		/* Pace: the Linux receiver reads one frame per system call. */
		usleep(done < n ? 200 : 50);
	}
	rc = tx_dropped_completes(port, pool);
	/* Let the completions come back before closing. */
	for (int i = 0; i < 1000; i++) {
		for (uint16_t q = 0; q < weir_port_nb_txq(port); q++)
			weir_port_tx_done(port, q);
		usleep(1000);
	}
	rc |= tx_all_completed(port, sent + 1);
	printf("tx: %u/%u frames\n", sent, count);
	print_xstats(port);
	rc |= finish(port, pool);
	return rc || sent != count;
}

static int raw_socket(const char *ifname)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	int big = 64 << 20;

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	/* A burst of thousands of frames must not overflow the socket. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("raw socket");
		exit(1);
	}
	return fd;
}

static int cmd_rawtx(int argc, char **argv)
{
	uint32_t count = (uint32_t)atoi(argv[3]);
	uint8_t *f = malloc(MAXF);
	int fd = raw_socket(argv[2]);
	uint32_t first = getenv("TX_FIRST") ? (uint32_t)atoi(getenv("TX_FIRST")) : 0;
	uint32_t step = getenv("TX_STEP") ? (uint32_t)atoi(getenv("TX_STEP")) : 1;

	if (argc > 5) {
		min_len = (uint32_t)atoi(argv[4]);
		max_len = (uint32_t)atoi(argv[5]);
	}
	for (uint32_t i = first; i < count; i += step) {
		uint32_t len = frame_len(i);

		make_frame(i, f, len);
		while (send(fd, f, len, 0) < 0) {
			if (errno != ENOBUFS && errno != EAGAIN) {
				perror("send");
				return 1;
			}
			usleep(100);
		}
		if (i % 64 == 63)
			usleep(200); /* stay below the receiver's ring */
	}
	close(fd);
	free(f);
	return 0;
}

static int cmd_rawrx(int argc, char **argv)
{
	uint32_t count = (uint32_t)atoi(argv[3]), got = 0, bad = 0;
	double timeout = argc > 4 ? atof(argv[4]) : 10;
	weir_ns_t end = weir_clock_now() + (weir_ns_t)(timeout * 1e9);
	uint8_t *f = malloc(MAXF + 64), *seen = calloc(count, 1);
	int fd = raw_socket(argv[2]);

	if (argc > 6) {
		min_len = (uint32_t)atoi(argv[5]);
		max_len = (uint32_t)atoi(argv[6]);
	}
	printf("ready\n");
	fflush(stdout);
	while (got < count && weir_clock_now() < end) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint32_t seq;
		ssize_t n;
		int r;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(fd, f, MAXF + 64, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		r = check_frame(f, (uint32_t)n, &seq);
		if (r < 0)
			bad++;
		if (r > 0 && seq < count && !seen[seq]) {
			seen[seq] = 1;
			got++;
		}
	}
	printf("rawrx: %u/%u frames, %u corrupt\n", got, count, bad);
	close(fd);
	free(f);
	free(seen);
	return got == count && !bad ? 0 : 1;
}

static int cmd_udptx(char **argv)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
	uint32_t count = (uint32_t)atoi(argv[4]);
	char msg[64] = "weir-afxdp-steer";
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, argv[2], &to.sin_addr);
	for (uint32_t i = 0; i < count; i++) {
		if (sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			perror("sendto");
		usleep(1000);
	}
	close(fd);
	return 0;
}

static int cmd_udprx(int argc, char **argv)
{
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
	uint32_t count = (uint32_t)atoi(argv[3]), got = 0;
	double timeout = argc > 4 ? atof(argv[4]) : 5;
	weir_ns_t end = weir_clock_now() + (weir_ns_t)(timeout * 1e9);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[2048];

	if (bind(fd, (struct sockaddr *)&me, sizeof(me))) {
		perror("bind");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (got < count && weir_clock_now() < end) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		if (poll(&pfd, 1, 100) > 0 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			got++;
	}
	printf("udprx: the kernel delivered %u/%u datagrams\n", got, count);
	close(fd);
	return got == count ? 0 : 1;
}

static int cmd_fwd(char **argv)
{
	uint32_t count = (uint32_t)atoi(argv[4]), fwd = 0;
	struct weir_pool *pool = pool_make();
	struct weir_port *in = port_make(argv[2], pool), *out = port_make(argv[3], pool);
	weir_ns_t end = weir_clock_now() + 15 * WEIR_NS_PER_SEC;
	struct weir_xstat xs[32];
	uint64_t copies = 0;
	int rc, n;

	printf("ready\n");
	fflush(stdout);
	while (fwd < count && weir_clock_now() < end) {
		struct weir_pkt *pkts[64];
		uint16_t got = weir_port_rx_burst(in, 0, pkts, 64);

		weir_port_tx_done(out, 0);
		if (got)
			fwd += got - weir_port_tx_burst_or_free(out, 0, pkts, got);
	}
	for (int i = 0; i < 200; i++) {
		weir_port_tx_done(out, 0);
		usleep(1000);
	}
	n = weir_port_xstats_get(out, xs, 32);
	for (int i = 0; i < n && i < 32; i++)
		if (!strcmp(xs[i].name, "tx_copies"))
			copies = xs[i].value;
	printf("fwd: %u/%u frames, %llu copied (0 means the shared UMEM carried them)\n", fwd,
	       count, (unsigned long long)copies);
	weir_port_close(in);
	rc = finish(out, pool);
	return rc || fwd != count || copies;
}

static int cmd_idle(char **argv)
{
	double idle_s = atof(argv[3]);
	struct weir_pool *pool = pool_make();
	struct weir_port *port = port_make(argv[2], pool);
	struct weir_idle idle;
	struct rusage r0, r1;
	weir_ns_t t0, start, lat = 0;
	double cpu;
	int rc;

	/* Sleep after 64 empty polls, at most 200 ms at a time. */
	weir_idle_init(&idle, 64, 200000);
	weir_idle_add_fd(&idle, weir_port_wait_fd(port, 0));
	printf("ready\n");
	fflush(stdout);
	getrusage(RUSAGE_SELF, &r0);
	start = t0 = weir_clock_now();
	while (weir_clock_now() - start < (weir_ns_t)(idle_s * 1e9) + 10 * WEIR_NS_PER_SEC) {
		struct weir_pkt *pkts[32];
		uint16_t n = weir_port_rx_burst(port, 0, pkts, 32);

		if (n && !lat) {
			weir_ns_t stamp, now = weir_clock_now();

			memcpy(&stamp, weir_pkt_data(pkts[0]) + 22, 8);
			lat = now - stamp;
			getrusage(RUSAGE_SELF, &r1);
		}
		weir_pkt_free_bulk(pkts, n);
		if (lat)
			break;
		weir_idle_poll(&idle, n);
	}
	if (!lat)
		getrusage(RUSAGE_SELF, &r1);
	cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec -
		       r0.ru_stime.tv_sec) +
	      (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec -
		       r0.ru_stime.tv_usec) /
		      1e6;
	cpu = 100.0 * cpu / ((double)(weir_clock_now() - t0) / 1e9);
	printf("idle: %.3f%% of a core over %.1f s in interrupt mode (%llu sleeps); "
	       "first-frame latency after idle %.1f us\n",
	       cpu, (double)(weir_clock_now() - t0) / 1e9, (unsigned long long)idle.sleeps,
	       (double)lat / 1e3);
	weir_idle_fini(&idle);
	rc = finish(port, pool);
	return rc || !lat || cpu >= 1.0;
}

static int cmd_badopen(char **argv)
{
	struct weir_pool *pool = pool_make();
	struct weir_port_conf conf = {.pool = pool};
	struct weir_port *port;
	char why[WEIR_PORT_ERRSIZE] = "";
	int e = weir_port_open(argv[2], &conf, &port, why, sizeof(why));
	uint32_t in_use;

	if (!e) {
		printf("UNEXPECTED: %s opened\n", argv[2]);
		weir_port_close(port);
		weir_pool_destroy(pool);
		return 1;
	}
	/* Before "refused", which test_afxdp.sh looks for. */
	if (check_print_callbacks("a failed open")) {
		weir_pool_destroy(pool);
		return 1;
	}
	printf("refused (%s): %s\n", strerror(-e), why);
	weir_pool_cache_flush(pool, weir_lcore_id());
	in_use = weir_pool_in_use(pool);
	weir_pool_destroy(pool);
	if (in_use)
		fprintf(stderr, "LEAK: %u buffers after a failed open\n", in_use);
	return in_use || !why[0];
}

static int cmd_vanish(char **argv)
{
	struct weir_pool *pool = pool_make();
	struct weir_port *port = port_make(argv[2], pool);
	weir_ns_t end = weir_clock_now() + 20 * WEIR_NS_PER_SEC;
	uint64_t rx = 0;
	bool dead;
	int rc;

	printf("ready\n");
	fflush(stdout);
	while (!weir_port_is_dead(port) && weir_clock_now() < end) {
		struct weir_pkt *pkts[32];
		uint16_t n = weir_port_rx_burst(port, 0, pkts, 32);

		rx += n;
		weir_pkt_free_bulk(pkts, n);
		if (!n)
			usleep(50);
	}
	dead = weir_port_is_dead(port);
	printf("vanish: port %s after %llu frames\n", dead ? "dead" : "alive",
	       (unsigned long long)rx);
	rc = finish(port, pool);
	return rc || !dead;
}

static int cmd_steer(char **argv)
{
	uint16_t port_no = (uint16_t)atoi(argv[3]);
	uint32_t count = (uint32_t)atoi(argv[4]), got = 0, other = 0;
	struct weir_pool *pool = pool_make();
	struct weir_port *port = port_make(argv[2], pool);
	weir_ns_t end = weir_clock_now() + 15 * WEIR_NS_PER_SEC;
	int rc;

	printf("ready\n");
	fflush(stdout);
	while (got < count && weir_clock_now() < end) {
		struct weir_pkt *pkts[32];
		uint16_t n = weir_port_rx_burst(port, 0, pkts, 32);

		for (uint16_t i = 0; i < n; i++) {
			const uint8_t *f = weir_pkt_data(pkts[i]);
			uint32_t len = pkts[i]->data_len, ihl;

			if (len >= 42 && f[12] == 0x08 && f[13] == 0 && f[23] == IPPROTO_UDP &&
			    (ihl = (f[14] & 15u) * 4) && len >= 14 + ihl + 8 &&
			    ((uint16_t)(f[14 + ihl + 2] << 8 | f[14 + ihl + 3])) == port_no) {
				got++;
			} else {
				other++;
				fprintf(stderr, "steer: weir got a frame it did not ask for "
					"(ethertype %02x%02x, %u bytes)\n", f[12], f[13], len);
			}
		}
		weir_pkt_free_bulk(pkts, n);
		if (!n)
			usleep(100);
	}
	printf("steer: weir took %u/%u UDP datagrams to port %u, %u other frames\n", got, count,
	       port_no, other);
	print_xstats(port);
	rc = finish(port, pool);
	return rc || got != count || other;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int args;
	} cmds[] = {{"rx", 4},	  {"tx", 4},	{"rawtx", 4}, {"rawrx", 4},   {"udptx", 5},
		    {"udprx", 4}, {"fwd", 5},	{"idle", 4},  {"badopen", 3}, {"vanish", 3},
		    {"steer", 5}};
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < WEIR_ARRAY_SIZE(cmds); i++)
		if (argc > 1 && !strcmp(argv[1], cmds[i].name))
			break;
	if (i == WEIR_ARRAY_SIZE(cmds) || argc < cmds[i].args) {
		fprintf(stderr, "usage: see the comment at the top of test_afxdp.c\n");
		return 2;
	}
	weir_lcore_set_id(0);
	libbpf_set_print(own_libbpf_print);
	libxdp_set_print(own_libxdp_print);
	switch (i) {
	case 0: return cmd_rx(argc, argv);
	case 1: return cmd_tx(argc, argv);
	case 2: return cmd_rawtx(argc, argv);
	case 3: return cmd_rawrx(argc, argv);
	case 4: return cmd_udptx(argv);
	case 5: return cmd_udprx(argc, argv);
	case 6: return cmd_fwd(argv);
	case 7: return cmd_idle(argv);
	case 8: return cmd_badopen(argv);
	case 9: return cmd_vanish(argv);
	default: return cmd_steer(argv);
	}
}
