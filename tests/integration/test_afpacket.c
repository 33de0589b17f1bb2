// SPDX-License-Identifier: BSD-3-Clause
/*
 * Integration test of the afpacket driver on a veth pair. Runs inside the
 * namespace of the weir end (ip netns exec); the Linux end is a plain
 * AF_PACKET socket opened inside the peer namespace (setns), so every frame
 * crosses the kernel for real:
 *
 *   test_afpacket IFACE PEER_NETNS PEER_IFACE CASE
 *
 * Cases: rx (Linux -> weir, sizes 60..1514, byte-exact, through the wake ring
 * and with wake=0 zero-copy),
 * tx (weir -> Linux, byte-exact, incl. chained packets and completions),
 * fanout (2 queues, many flows, all intact, both queues used),
 * hold (the application sits on packets: copy fallback, ring keeps going),
 * idle and wake (an idle queue sleeps, and wakes for a frame; with the
 * wake ring, the default, the frame comes through it; wake=0 never does),
 * errors (missing interface, down interface, no CAP_NET_RAW),
 * vanish (the interface is deleted while the port runs).
 * Exit 0 pass, 1 fail, 77 skip. Every case checks that no buffer leaked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weir/log.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port.h"

#define MAGIC 0x57454952u /* "WEIR" */
#define MIN_FRAME 60
#define MAX_FRAME 1514

static const char *ifname, *peer_ns, *peer_if;
static uint8_t mac_weir[6], mac_peer[6];
static int failures;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__);   \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			failures++;                                            \
		}                                                              \
	} while (0)

/* --- frames: IPv4/UDP with a self-describing payload --------------------- */

/* Writes frame `seq` of `size` bytes for flow `flow` into f. The payload says
 * its own seq and size, so a receiver can rebuild what it should be. */
static void frame_build(uint8_t *f, uint32_t seq, uint16_t size, uint16_t flow)
{
	uint16_t ip_len = (uint16_t)(size - 14), udp_len = (uint16_t)(size - 34);
	uint32_t magic = htonl(MAGIC), nseq = htonl(seq);
	uint16_t nsize = htons(size);

	memcpy(f, mac_weir, 6);
	memcpy(f + 6, mac_peer, 6);
	f[12] = 0x08, f[13] = 0x00;
	memset(f + 14, 0, 20);
	f[14] = 0x45;
	f[16] = (uint8_t)(ip_len >> 8), f[17] = (uint8_t)ip_len;
	f[22] = 64, f[23] = 17;
	memcpy(f + 26, (uint8_t[]){10, 99, 0, 1}, 4);
	memcpy(f + 30, (uint8_t[]){10, 99, (uint8_t)(flow >> 8), (uint8_t)flow}, 4);
	f[34] = (uint8_t)((1000 + flow) >> 8), f[35] = (uint8_t)(1000 + flow);
	f[36] = 0x07, f[37] = 0xd0;
	f[38] = (uint8_t)(udp_len >> 8), f[39] = (uint8_t)udp_len;
	f[40] = f[41] = 0;
	memcpy(f + 42, &magic, 4);
	memcpy(f + 46, &nseq, 4);
	memcpy(f + 50, &nsize, 2);
	for (uint32_t i = 52; i < size; i++)
		f[i] = (uint8_t)(seq * 7 + i * 13);
}

/* seq of a test frame (and its flow), or -1 for other traffic. */
static long frame_parse(const uint8_t *f, uint32_t len, uint16_t *flow)
{
	uint32_t magic, seq;

	if (len < 52 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17)
		return -1;
	memcpy(&magic, f + 42, 4);
	if (ntohl(magic) != MAGIC)
		return -1;
	memcpy(&seq, f + 46, 4);
	*flow = (uint16_t)(f[32] << 8 | f[33]);
	return (long)ntohl(seq);
}

/* Checks a received frame against the one it claims to be. */
static int frame_verify(const uint8_t *f, uint32_t len, long seq, uint16_t flow)
{
	uint8_t want[MAX_FRAME];
	uint16_t size;

	memcpy(&size, f + 50, 2);
	size = ntohs(size);
	if (size != len || size < MIN_FRAME || size > MAX_FRAME)
		return -1;
	frame_build(want, (uint32_t)seq, size, flow);
	return memcmp(want, f, len) ? -1 : 0;
}

static uint16_t size_of(uint32_t seq)
{
	/* Sweeps 60..1514 and always hits both ends. */
	static const uint16_t edges[] = {MIN_FRAME, 61, 64, 127, 128, 1024, 1513, MAX_FRAME};

	if (seq < WEIR_ARRAY_SIZE(edges))
		return edges[seq];
	return (uint16_t)(MIN_FRAME + (seq * 37) % (MAX_FRAME - MIN_FRAME + 1));
}

/* --- the Linux side --------------------------------------------------------- */

/* An AF_PACKET socket (no ring) on the peer interface, made inside the peer
 * namespace; the socket stays there when we switch back. */
static int peer_socket(void)
{
	char path[256];
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int nsfd, fd = -1;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP)};
	int one = 1;

	snprintf(path, sizeof(path), "/var/run/netns/%s", peer_ns);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "cannot enter %s: %s\n", path, strerror(errno));
		exit(1);
	}
	sll.sll_ifindex = (int)if_nametoindex(peer_if);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "peer socket on %s: %s\n", peer_if, strerror(errno));
		exit(1);
	}
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	{
		int big = 8 << 20;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	}
	if (setns(self, CLONE_NEWNET) < 0) {
		fprintf(stderr, "cannot come back to our namespace: %s\n", strerror(errno));
		exit(1);
	}
	close(self);
	close(nsfd);
	return fd;
}

static void peer_send(int fd, uint32_t seq, uint16_t flow)
{
	uint8_t f[MAX_FRAME];
	uint16_t size = size_of(seq);

	frame_build(f, seq, size, flow);
	while (send(fd, f, size, 0) < 0) {
		if (errno != ENOBUFS && errno != EAGAIN) {
			fprintf(stderr, "peer send: %s\n", strerror(errno));
			exit(1);
		}
		usleep(100);
	}
}

/* --- helpers ---------------------------------------------------------------- */

static struct weir_pool *pool_make(uint32_t n)
{
	struct weir_pool_conf pc = {.name = "test", .n = n, .cache_size = UINT32_MAX};
	int err;
	struct weir_pool *p;

	if ((err = weir_pool_create(&pc, &p)) < 0) {
		fprintf(stderr, "pool: %s\n", strerror(-err));
		exit(1);
	}
	return p;
}

static struct weir_port *port_make(const char *args, struct weir_pool *pool)
{
	struct weir_port_conf conf = {.pool = pool};
	struct weir_port *port;
	char spec[256], why[WEIR_PORT_ERRSIZE];
	int err;

	snprintf(spec, sizeof(spec), "afpacket:%s%s%s", ifname, args[0] ? "?" : "", args);
	err = weir_port_open(spec, &conf, &port, why, sizeof(why));
	if (err) {
		fprintf(stderr, "open %s: %s\n", spec, why);
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
	fprintf(stderr, "no xstat %s\n", name);
	exit(1);
}

static void pool_done(struct weir_pool *pool)
{
	CHECK(weir_pool_in_use(pool) == 0, "%u packet buffers leaked", weir_pool_in_use(pool));
	weir_pool_destroy(pool);
}

/* Receives from every queue of port until `want` test frames arrived or
 * timeout; verifies each; per-queue counts into perq. Returns how many. */
static uint32_t rx_collect(struct weir_port *port, uint32_t want, uint8_t *seen,
			   uint32_t *perq, weir_ns_t timeout)
{
	weir_ns_t end = weir_clock_now() + timeout;
	struct weir_pkt *pk[64];
	uint32_t got = 0;

	while (got < want && weir_time_after(end, weir_clock_now())) {
		for (uint16_t q = 0; q < weir_port_nb_rxq(port); q++) {
			uint16_t n = weir_port_rx_burst(port, q, pk, 64);

			for (uint16_t i = 0; i < n; i++) {
				uint8_t buf[MAX_FRAME];
				const uint8_t *d;
				uint16_t flow;
				long seq;

				CHECK(pk[i]->queue == q, "packet says queue %u, came from %u",
				      pk[i]->queue, q);
				CHECK(pk[i]->pkt_len <= MAX_FRAME, "frame of %u bytes",
				      pk[i]->pkt_len);
				if (pk[i]->pkt_len > MAX_FRAME)
					continue;
				d = weir_pkt_read(pk[i], 0, pk[i]->pkt_len, buf);
				seq = frame_parse(d, pk[i]->pkt_len, &flow);
				if (seq >= 0) {
					CHECK(seq < (long)want && !seen[seq],
					      "unexpected or duplicate seq %ld", seq);
					CHECK(frame_verify(d, pk[i]->pkt_len, seq, flow) == 0,
					      "frame %ld (%u bytes) differs from what was sent", seq,
					      pk[i]->pkt_len);
					if (seq < (long)want)
						seen[seq] = 1;
					got++;
					if (perq)
						perq[q]++;
				}
			}
			weir_pkt_free_bulk(pk, n);
		}
	}
	return got;
}

/* --- cases ------------------------------------------------------------------- */

/* With the wake ring (the default) frames sent one by one mostly come
 * through it (copied); with wake=0 all zero-copy. */
static void case_rx(const char *args)
{
	const uint32_t N = 3000;
	struct weir_pool *pool = pool_make(4096);
	struct weir_port *port = port_make(args, pool);
	bool wake = !strstr(args, "wake=0");
	uint8_t *seen = calloc(N, 1);
	int fd = peer_socket();
	struct weir_port_stats st;
	uint32_t got = 0;

	/* Send in rounds so a slow machine does not overrun the ring. */
	for (uint32_t s = 0; s < N; s += 500) {
		for (uint32_t i = s; i < s + 500 && i < N; i++)
			peer_send(fd, i, 1);
		got += rx_collect(port, N, seen, NULL, 200 * WEIR_NS_PER_MS);
	}
	got += rx_collect(port, N, seen, NULL, 2000 * WEIR_NS_PER_MS);
	weir_port_stats_get(port, &st);
	CHECK(got == N, "received %u of %u frames (kernel drops %llu)", got, N,
	      (unsigned long long)st.imissed);
	CHECK(st.ipackets >= N, "ipackets %llu < %u", (unsigned long long)st.ipackets, N);
	CHECK(xstat(port, "rx_zerocopy_packets") + xstat(port, "rx_wake_packets") >= N &&
		      xstat(port, "rx_zerocopy_packets") >= (wake ? 1 : N),
	      "frames were not received zero-copy (%llu zero-copy, %llu by the wake ring)",
	      (unsigned long long)xstat(port, "rx_zerocopy_packets"),
	      (unsigned long long)xstat(port, "rx_wake_packets"));
	CHECK(xstat(port, "rx_copy_packets") == 0, "copy fallback with nothing held");
	CHECK(xstat(port, "rx_blocks_held") == 0, "blocks still held after freeing");
	printf("rx %s: %u/%u frames of 60..1514 bytes byte-exact, %llu zero-copy, %llu by the wake "
	       "ring\n", args, got, N, (unsigned long long)xstat(port, "rx_zerocopy_packets"),
	       (unsigned long long)xstat(port, "rx_wake_packets"));
	close(fd);
	weir_port_close(port);
	free(seen);
	pool_done(pool);
}

/* tx_fill: up to 32 frames from seq on, every fifth big one a header
 * segment chained in front of its payload (*chained counts them). */
static uint16_t tx_fill(struct weir_pool *pool, struct weir_pkt **pk, uint32_t seq, uint32_t N,
			uint32_t *chained)
{
	uint16_t n = 0;

	for (; seq < N && n < 32; seq++) {
		uint16_t size = size_of(seq);
		struct weir_pkt *p = weir_pkt_alloc(pool);
		uint8_t f[MAX_FRAME];

		if (!p)
			break;
		frame_build(f, seq, size, 1);
		if (seq % 5 == 4 && size > 100) {
			struct weir_pkt *tail = weir_pkt_alloc(pool);

			CHECK(tail != NULL, "pool empty");
			memcpy(weir_pkt_put(p, 42), f, 42);
			memcpy(weir_pkt_put(tail, size - 42), f + 42, size - 42);
			CHECK(weir_pkt_chain(p, tail) == 0, "chain");
			(*chained)++;
		} else {
			memcpy(weir_pkt_put(p, size), f, size);
		}
		pk[n++] = p;
	}
	return n;
}

/* tx_drain: what the Linux socket fd has received so far, each frame
 * checked byte for byte and seen once; returns how many. */
static uint32_t tx_drain(int fd, uint8_t *seen, uint32_t N)
{
	uint32_t got = 0;

	for (;;) {
		uint8_t f[MAX_FRAME + 64];
		ssize_t r = recv(fd, f, sizeof(f), MSG_DONTWAIT);
		uint16_t flow;
		long s;

		if (r < 0)
			return got;
		s = frame_parse(f, (uint32_t)r, &flow);
		if (s < 0)
			continue;
		CHECK(s < (long)N && !seen[s], "unexpected or duplicate seq %ld", s);
		CHECK(frame_verify(f, (uint32_t)r, s, flow) == 0,
		      "frame %ld (%zd bytes) differs from what weir sent", s, r);
		seen[s] = 1;
		got++;
	}
}

static void case_tx(void)
{
	const uint32_t N = 3000;
	struct weir_pool *pool = pool_make(4096);
	struct weir_port *port = port_make("", pool);
	uint8_t *seen = calloc(N, 1);
	int fd = peer_socket();
	uint32_t got = 0, seq = 0, chained = 0;
	uint64_t done = 0, done_pkts = 0;
	weir_ns_t end;

	while (seq < N || got < N) {
		struct weir_pkt *pk[32];
		uint16_t n = tx_fill(pool, pk, seq, N, &chained);

		seq += n;
		if (n) {
			uint16_t sent = weir_port_tx_burst(port, 0, pk, n);

			/* What was not taken is ours: resend those later. */
			for (uint16_t i = sent; i < n; i++)
				if (pk[i]->next)
					chained--;
			weir_pkt_free_bulk(pk + sent, n - sent);
			seq -= n - sent;
		}
		done += weir_port_tx_done(port, 0);
		got += tx_drain(fd, seen, N);
		if (seq == N) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};

			if (poll(&pfd, 1, 2000) <= 0)
				break;
		}
	}
	end = weir_clock_now() + 2 * WEIR_NS_PER_SEC;
	while (done < N && weir_time_after(end, weir_clock_now()))
		done += weir_port_tx_done(port, 0);
	CHECK(got == N, "Linux received %u of %u frames", got, N);
	CHECK(done == N, "tx_done reported %llu of %u completions", (unsigned long long)done, N);
	weir_port_tx_completed(port, 0, &done_pkts, NULL);
	CHECK(done_pkts == N, "done_pkts %llu", (unsigned long long)done_pkts);
	CHECK(xstat(port, "tx_linearized") == chained, "tx_linearized %llu, sent %u chains",
	      (unsigned long long)xstat(port, "tx_linearized"), chained);
	CHECK(xstat(port, "tx_kicks") < N, "one sendto per frame, not per burst");
	printf("tx: %u/%u frames byte-exact on the Linux side (%u chained), %llu completions, "
	       "%llu kicks\n", got, N, chained, (unsigned long long)done,
	       (unsigned long long)xstat(port, "tx_kicks"));
	close(fd);
	weir_port_close(port);
	free(seen);
	pool_done(pool);
}

static void case_fanout(const char *mode)
{
	const uint32_t N = 4000;
	struct weir_pool *pool = pool_make(4096);
	char args[64];
	struct weir_port *port;
	uint8_t *seen = calloc(N, 1);
	uint32_t perq[2] = {0, 0}, got = 0;
	int fd = peer_socket();

	snprintf(args, sizeof(args), "queues=2&fanout=%s", mode);
	port = port_make(args, pool);
	CHECK(weir_port_nb_rxq(port) == 2 && weir_port_nb_txq(port) == 2, "queue count");
	for (uint32_t s = 0; s < N; s += 500) {
		for (uint32_t i = s; i < s + 500 && i < N; i++)
			peer_send(fd, i, (uint16_t)(i % 64)); /* 64 flows */
		got += rx_collect(port, N, seen, perq, 200 * WEIR_NS_PER_MS);
	}
	got += rx_collect(port, N, seen, perq, 2000 * WEIR_NS_PER_MS);
	CHECK(got == N, "received %u of %u", got, N);
	if (strcmp(mode, "cpu"))
		CHECK(perq[0] > 0 && perq[1] > 0, "fanout=%s used one queue only (%u, %u)", mode,
		      perq[0], perq[1]);
	printf("fanout=%s: %u/%u frames intact, queue 0: %u, queue 1: %u\n", mode, got, N,
	       perq[0], perq[1]);
	close(fd);
	weir_port_close(port);
	free(seen);
	pool_done(pool);
}

/* Receives what is there; verifies test frames; keeps them in held[] when
 * keep, else frees. Returns test frames seen. */
static uint32_t hold_poll(struct weir_port *port, struct weir_pkt **held, uint32_t *nheld,
			  bool keep)
{
	struct weir_pkt *pk[32];
	uint16_t n = weir_port_rx_burst(port, 0, pk, 32);
	uint32_t got = 0;

	for (uint16_t i = 0; i < n; i++) {
		uint8_t buf[MAX_FRAME];
		const uint8_t *d = weir_pkt_read(pk[i], 0, pk[i]->pkt_len, buf);
		uint16_t flow;
		long seq = frame_parse(d, pk[i]->pkt_len, &flow);

		if (seq >= 0) {
			CHECK(frame_verify(d, pk[i]->pkt_len, seq, flow) == 0, "frame %ld", seq);
			got++;
		}
		if (seq >= 0 && keep)
			held[(*nheld)++] = pk[i];
		else
			weir_pkt_free(pk[i]);
	}
	return got;
}

static bool held_intact(struct weir_pkt **held, uint32_t nheld)
{
	for (uint32_t i = 0; i < nheld; i++) {
		uint8_t buf[MAX_FRAME];
		const uint8_t *d = weir_pkt_read(held[i], 0, held[i]->pkt_len, buf);
		uint16_t flow;
		long seq = frame_parse(d, held[i]->pkt_len, &flow);

		if (seq < 0 || frame_verify(d, held[i]->pkt_len, seq, flow))
			return false;
	}
	return true;
}

/* Sends n frames starting at seq, one at a time, polling in between. */
static uint32_t hold_round(struct weir_port *port, int fd, uint32_t seq, uint32_t n,
			   struct weir_pkt **held, uint32_t *nheld, bool keep)
{
	uint32_t got = 0;
	weir_ns_t end;

	for (uint32_t i = 0; i < n; i++) {
		peer_send(fd, seq + i, 1);
		got += hold_poll(port, held, nheld, keep);
	}
	end = weir_clock_now() + 300 * WEIR_NS_PER_MS;
	while (weir_time_after(end, weir_clock_now()))
		got += hold_poll(port, held, nheld, keep);
	return got;
}

static void case_hold(void)
{
	/* 16 blocks of 4 KiB, a few frames each: easy to pin. */
	const uint32_t N = 400;
	struct weir_pool *pool = pool_make(4096);
	struct weir_port *port = port_make("blocks=16&block_size=4096&timeout_us=1000", pool);
	struct weir_pkt **held = calloc(N, sizeof(*held));
	int fd = peer_socket();
	uint32_t nheld = 0, got, zc, cp;

	/* 1: keep everything. Once half the ring is pinned the driver copies;
	 * when the kernel comes round to a pinned block the ring waits. */
	got = hold_round(port, fd, 0, N, held, &nheld, true);
	zc = (uint32_t)xstat(port, "rx_zerocopy_packets");
	cp = (uint32_t)xstat(port, "rx_copy_packets");
	printf("hold: kept %u frames: %u zero-copy, %u copied (%llu blocks), %llu of 16 blocks "
	       "pinned, %llu stalled polls, kernel drops %llu\n", nheld, zc, cp,
	       (unsigned long long)xstat(port, "rx_copy_blocks"),
	       (unsigned long long)xstat(port, "rx_blocks_held"),
	       (unsigned long long)xstat(port, "rx_ring_stalls"),
	       (unsigned long long)xstat(port, "rx_kernel_drops"));
	CHECK(got == nheld && got > 0, "kept %u of %u seen", nheld, got);
	CHECK(zc > 0 && cp > 0, "expected both paths (zero-copy %u, copied %u)", zc, cp);
	CHECK(xstat(port, "rx_blocks_held") <= 9,
	      "%llu blocks pinned, the copy threshold is 8 of 16",
	      (unsigned long long)xstat(port, "rx_blocks_held"));
	CHECK(held_intact(held, nheld), "a held packet was overwritten by the ring");

	/* 2: give them back; the ring must flow again, every frame arrives. */
	weir_pkt_free_bulk(held, nheld);
	nheld = 0;
	CHECK(xstat(port, "rx_blocks_held") == 0, "blocks still pinned after freeing");
	hold_round(port, fd, 0, 0, held, &nheld, false); /* drain what the ring kept */
	got = hold_round(port, fd, 1000, 200, held, &nheld, false);
	CHECK(got == 200, "after freeing, received %u of 200", got);

	/* 3: close with zero-copy packets still out; they stay readable. */
	got = hold_round(port, fd, 2000, 20, held, &nheld, true);
	CHECK(got == 20 && nheld == 20, "kept %u of 20", nheld);
	weir_port_close(port);
	CHECK(held_intact(held, nheld), "held packets unreadable after close");
	weir_pkt_free_bulk(held, nheld);
	printf("hold: ring recovered after freeing (200/200), packets outlive close\n");
	close(fd);
	free(held);
	pool_done(pool);
}

/* Interrupt mode: the queue's wait_fd sleeps while idle and wakes for a
 * frame (within the block retire timeout, 1 ms by default). */
/* wake: with the wake ring (the default), after the empty polls that arm
 * it, the frame comes through it (counted), not at the block retire timer. */
static void case_idle(bool wake)
{
	struct weir_pool *pool = pool_make(256);
	struct weir_port *port = port_make(wake ? "" : "wake=0", pool);
	int fd = peer_socket(), wfd = weir_port_wait_fd(port, 0);
	struct pollfd pfd = {.fd = wfd, .events = POLLIN};
	struct weir_pkt *pk[8];
	weir_ns_t t0, slept, woke;
	uint16_t n = 0, flow;
	int r;

	CHECK(wfd >= 0, "no wait_fd");
	while (weir_port_rx_burst(port, 0, pk, 8) > 0) /* anything stray */
		;
	for (int i = 0; i < 1000; i++) /* the idle polls that arm the wake ring */
		CHECK(weir_port_rx_burst(port, 0, pk, 8) == 0, "a stray frame");
	t0 = weir_clock_now();
	r = poll(&pfd, 1, 200);
	slept = weir_clock_now() - t0;
	CHECK(r == 0 && slept >= 150 * WEIR_NS_PER_MS, "idle poll returned %d after %llu ms", r,
	      (unsigned long long)(slept / WEIR_NS_PER_MS));
	peer_send(fd, 7, 1);
	t0 = weir_clock_now();
	r = poll(&pfd, 1, 1000);
	woke = weir_clock_now() - t0;
	CHECK(r == 1 && (pfd.revents & POLLIN), "no wake-up for a frame (poll %d)", r);
	n = weir_port_rx_burst(port, 0, pk, 8);
	CHECK(n == 1 && frame_parse(weir_pkt_data(pk[0]), pk[0]->pkt_len, &flow) == 7,
	      "woke, but rx_burst gave %u packets", n);
	weir_pkt_free_bulk(pk, n);
	CHECK(xstat(port, "rx_wake_packets") == (wake ? 1u : 0u),
	      "rx_wake_packets %llu with wake=%d", (unsigned long long)xstat(port, "rx_wake_packets"),
	      wake);
	printf("idle%s: slept %llu ms with nothing, woke %llu us after a frame\n", wake ? "" : " wake=0",
	       (unsigned long long)(slept / WEIR_NS_PER_MS),
	       (unsigned long long)(woke / WEIR_NS_PER_US));
	close(fd);
	weir_port_close(port);
	pool_done(pool);
}

static int open_err(const char *spec, struct weir_pool *pool, char *why, size_t len)
{
	struct weir_port_conf conf = {.pool = pool};
	struct weir_port *port = NULL;
	int err = weir_port_open(spec, &conf, &port, why, len);

	if (!err)
		weir_port_close(port);
	return err;
}

static void case_errors(void)
{
	struct weir_pool *pool = pool_make(256);
	char why[WEIR_PORT_ERRSIZE], spec[128];
	int err, st;
	pid_t pid;

	err = open_err("afpacket:weirnope0", pool, why, sizeof(why));
	printf("missing: %d %s\n", err, why);
	CHECK(err == -ENOENT && strstr(why, "no such interface") && strstr(why, ifname),
	      "missing interface: %d '%s'", err, why);

	snprintf(spec, sizeof(spec), "ip link set %s down", ifname);
	CHECK(system(spec) == 0, "%s", spec);
	snprintf(spec, sizeof(spec), "afpacket:%s", ifname);
	err = open_err(spec, pool, why, sizeof(why));
	printf("down: %d %s\n", err, why);
	CHECK(err == -ENETDOWN && strstr(why, "down") && strstr(why, "ip link set"),
	      "down interface: %d '%s'", err, why);
	snprintf(spec, sizeof(spec), "ip link set %s up", ifname);
	CHECK(system(spec) == 0, "%s", spec);

	snprintf(spec, sizeof(spec), "afpacket:%s?fanout=rr", ifname);
	err = open_err(spec, pool, why, sizeof(why));
	CHECK(err == -EINVAL && strstr(why, "hash|lb|cpu"), "bad fanout: %d '%s'", err, why);
	snprintf(spec, sizeof(spec), "afpacket:%s?block_size=5000", ifname);
	err = open_err(spec, pool, why, sizeof(why));
	CHECK(err == -EINVAL && strstr(why, "power of two"), "bad block_size: '%s'", why);

	/* Without CAP_NET_RAW: a child that became nobody (and so lost
	 * every capability). */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		snprintf(spec, sizeof(spec), "afpacket:%s", ifname);
		if (setgid(65534) || setuid(65534))
			_exit(3);
		err = open_err(spec, pool, why, sizeof(why));
		printf("no CAP_NET_RAW: %d %s\n", err, why);
		fflush(stdout);
		_exit(err == -EPERM && strstr(why, "CAP_NET_RAW") ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "no CAP_NET_RAW case failed (status %d)", st);
	pool_done(pool);
}

static void case_vanish(void)
{
	struct weir_pool *pool = pool_make(4096);
	struct weir_port *port = port_make("queues=2", pool);
	int fd = peer_socket();
	struct weir_pkt *pk[32], *held = NULL;
	char cmd[128];
	uint16_t n = 0;
	weir_ns_t end;

	/* Keep one zero-copy packet across the deletion. */
	end = weir_clock_now() + 2 * WEIR_NS_PER_SEC;
	while (!held && weir_time_after(end, weir_clock_now())) {
		peer_send(fd, 0, 1);
		for (uint16_t q = 0; q < 2 && !held; q++) {
			n = weir_port_rx_burst(port, q, pk, 32);
			if (n) {
				held = pk[0];
				weir_pkt_free_bulk(pk + 1, n - 1);
			}
		}
		usleep(1000);
	}
	CHECK(held != NULL, "nothing received before the deletion");
	close(fd);
	snprintf(cmd, sizeof(cmd), "ip link del %s", ifname);
	CHECK(system(cmd) == 0, "%s", cmd);
	end = weir_clock_now() + 2 * WEIR_NS_PER_SEC;
	while (!weir_port_is_dead(port) && weir_time_after(end, weir_clock_now())) {
		for (uint16_t q = 0; q < 2; q++) {
			n = weir_port_rx_burst(port, q, pk, 32);
			weir_pkt_free_bulk(pk, n);
		}
	}
	CHECK(weir_port_is_dead(port), "port did not notice the interface was deleted");
	for (int i = 0; i < 4; i++) {
		struct weir_pkt *p = weir_pkt_alloc(pool);

		memset(weir_pkt_put(p, 60), 0, 60);
		n = weir_port_tx_burst(port, 0, &p, 1);
		CHECK(n == 0, "tx on a dead port took a packet");
		weir_pkt_free(p);
		CHECK(weir_port_rx_burst(port, 1, pk, 32) == 0, "rx on a dead port");
	}
	weir_port_close(port);
	weir_pkt_free(held);
	printf("vanish: port marked dead, bursts return 0, closed cleanly\n");
	pool_done(pool);
}

int main(int argc, char **argv)
{
	const char *c;
	char path[128];
	FILE *f;

	if (argc != 5) {
		fprintf(stderr, "usage: %s IFACE PEER_NETNS PEER_IFACE "
				"rx|tx|fanout|hold|idle|wake|errors|vanish\n", argv[0]);
		return 1;
	}
	ifname = argv[1], peer_ns = argv[2], peer_if = argv[3], c = argv[4];
	if (geteuid() != 0) {
		printf("SKIP: needs root (raw sockets, namespaces)\n");
		return 77;
	}
	weir_log_set_level(WEIR_LOG_WARN);
	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac_weir[0], &mac_weir[1],
			 &mac_weir[2], &mac_weir[3], &mac_weir[4], &mac_weir[5]) != 6) {
		fprintf(stderr, "cannot read the MAC of %s\n", ifname);
		return 1;
	}
	fclose(f);
	memcpy(mac_peer, (uint8_t[]){0x02, 0x00, 0x00, 0x77, 0x77, 0x01}, 6);

	if (!strcmp(c, "rx")) {
		case_rx("");
		case_rx("wake=0");
	}
	else if (!strcmp(c, "tx"))
		case_tx();
	else if (!strcmp(c, "fanout")) {
		case_fanout("hash");
		case_fanout("lb");
	} else if (!strcmp(c, "hold"))
		case_hold();
	else if (!strcmp(c, "idle"))
		case_idle(false);
	else if (!strcmp(c, "wake"))
		case_idle(true);
	else if (!strcmp(c, "errors"))
		case_errors();
	else if (!strcmp(c, "vanish"))
		case_vanish();
	else {
		fprintf(stderr, "unknown case %s\n", c);
		return 1;
	}
	if (failures) {
		printf("%s: %d check(s) failed\n", c, failures);
		return 1;
	}
	printf("%s: PASS\n", c);
	return 0;
}
