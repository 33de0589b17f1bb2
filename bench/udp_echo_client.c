// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench/udp_echo_client: request/response load on a UDP echo server, for
 * bench/udp_echo.sh. Each request is one datagram carrying a sequence
 * number and its send time (CLOCK_MONOTONIC); the round trip of each reply
 * goes into a log-linear histogram (apps/common/histogram.h).
 *
 * Two modes, both with recvmmsg/sendmmsg batches on one connected socket:
 *   closed loop (--window W): W requests in flight; each reply sends the
 *     next one. Rate = replies per second; a request lost for --timeout
 *     is given up and replaced, so a loss costs a timeout, not the window.
 *     It polls for replies; --wait 1 sleeps for them instead whenever the
 *     window is full, leaving its CPU to the kernel's receive work for it
 *     (the client veth's NAPI thread, on the same CPU).
 *   fixed rate (--rate PPS): requests sent on a 100 us grid at PPS, replies
 *     read as they come (the server's CPU per request is measured at this
 *     rate by the script, below saturation).
 * Prints one line: "replies N rate R rtt_p50_ns A rtt_p99_ns B rtt_p999_ns
 * C sent S lost L" (lost: requests never answered, not counting the closed
 * loop's window still in flight at the end).
 *
 *   udp_echo_client ADDR PORT [--size 64] [--window 16 [--wait 0|1] | --rate PPS]
 *                   [--duration 5] [--warmup 0.5] [--timeout-ms 20]
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "weir/port.h"

#include "udp_echo_client.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sends n requests stamped now; returns how many went. */
static uint32_t send_n(struct client *c, uint32_t n)
{
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	uint64_t t = now_ns();
	int r;

	if (c->port)
		return xdp_send_n(c, n);
	if (n > BATCH)
		n = BATCH;
	for (uint32_t i = 0; i < n; i++) {
		struct req q = {.seq = c->next_seq + i, .ts = t};

		memcpy(c->tx[i], &q, sizeof(q));
		iov[i] = (struct iovec){.iov_base = c->tx[i], .iov_len = c->size};
		m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	r = sendmmsg(c->fd, m, n, 0);
	if (r <= 0)
		return 0;
	c->next_seq += (uint64_t)r;
	c->sent += (uint64_t)r;
	return (uint32_t)r;
}

void client_reply(struct client *c, const uint8_t *d, uint32_t len, uint64_t t)
{
	struct req q;

	if (len < sizeof(q)) {
		c->stale++;
		return;
	}
	memcpy(&q, d, sizeof(q));
	if (c->measuring)
		hist_record(&c->hist, t - q.ts);
	c->replies += c->measuring;
	c->replies_all++;
}

/* Reads the replies waiting; with MSG_WAITFORONE in flags it sleeps for
 * the first (at most the socket's 1 ms receive timeout). Returns how many. */
static uint32_t recv_all(struct client *c, int flags)
{
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	uint64_t t;
	int r;

	if (c->port)
		return xdp_recv_all(c, flags & MSG_WAITFORONE);
	for (uint32_t i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){.iov_base = c->rx[i], .iov_len = MAX_SIZE};
		m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	r = recvmmsg(c->fd, m, BATCH, flags, NULL);
	if (r <= 0)
		return 0;
	t = now_ns();
	c->last_reply = t;
	for (int i = 0; i < r; i++)
		client_reply(c, c->rx[i], m[i].msg_len, t);
	return (uint32_t)r;
}

static void closed_loop(struct client *c, uint64_t end, uint64_t measure_from)
{
	uint64_t inflight = 0;

	c->last_reply = now_ns();
	while (1) {
		uint64_t t = now_ns();
		uint32_t got;

		if (t >= end)
			break;
		c->measuring = t >= measure_from;
		got = recv_all(c, c->wait && inflight >= c->window ? MSG_WAITFORONE : MSG_DONTWAIT);
		inflight -= got < inflight ? got : inflight;
		if (!got && t - c->last_reply > c->timeout_ns) {
			inflight = 0; /* given up: lost, or stuck behind a loss */
			c->last_reply = t;
		}
		while (inflight < c->window) {
			uint32_t s = send_n(c, (uint32_t)(c->window - inflight));

			if (!s)
				break;
			inflight += s;
		}
	}
	c->inflight_end = inflight;
}

static void fixed_rate(struct client *c, uint64_t end, uint64_t measure_from)
{
	const uint64_t tick = 100000; /* 100 us */
	uint64_t start = now_ns(), due = 0;

	while (1) {
		uint64_t t = now_ns();
		uint64_t want = (uint64_t)((double)(t - start) * c->rate / 1e9);

		if (t >= end)
			break;
		c->measuring = t >= measure_from;
		recv_all(c, MSG_DONTWAIT);
		while (due < want) {
			uint32_t s = send_n(c, (uint32_t)(want - due));

			if (!s)
				break;
			due += s;
		}
		if (t + tick / 4 < end)
			usleep(20); /* not a spin: the server's cost is measured */
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: udp_echo_client ADDR PORT [--size N] [--window W [--wait 0|1] | "
			"--rate PPS] [--duration S] [--warmup S] [--timeout-ms MS]\n"
			"       [--xdp SPEC --src ADDR --src-port P --dst-mac MAC]\n");
	return 2;
}

/* --xdp's options; 1 if k was one of them, -1 if its value was wrong. */
static int parse_xdp(struct client *c, const char *k, const char *v)
{
	uint8_t *m = c->dst_mac;

	if (!strcmp(k, "--xdp"))
		c->xdp_spec = v;
	else if (!strcmp(k, "--src"))
		return inet_pton(AF_INET, v, &c->src) == 1 ? 1 : -1;
	else if (!strcmp(k, "--src-port"))
		c->src_port = (uint16_t)atoi(v);
	else if (!strcmp(k, "--dst-mac"))
		return sscanf(v, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", m, m + 1, m + 2, m + 3, m + 4,
			      m + 5) == 6 ? 1 : -1;
	else
		return 0;
	return 1;
}

static int parse(struct client *c, int argc, char **argv)
{
	struct sockaddr_in *dst = &c->dst;

	if (argc < 3 || inet_pton(AF_INET, argv[1], &dst->sin_addr) != 1)
		return usage();
	dst->sin_family = AF_INET;
	dst->sin_port = htons((uint16_t)atoi(argv[2]));
	for (int i = 3; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		int x = parse_xdp(c, k, v);

		if (x < 0)
			return usage();
		if (x)
			continue;
		if (!strcmp(k, "--size"))
			c->size = (uint32_t)atoi(v);
		else if (!strcmp(k, "--window"))
			c->window = (uint32_t)atoi(v);
		else if (!strcmp(k, "--rate"))
			c->rate = atof(v);
		else if (!strcmp(k, "--duration"))
			c->duration = atof(v);
		else if (!strcmp(k, "--warmup"))
			c->warmup = atof(v);
		else if (!strcmp(k, "--wait"))
			c->wait = atoi(v) != 0;
		else if (!strcmp(k, "--timeout-ms"))
			c->timeout_ns = (uint64_t)(atof(v) * 1e6);
		else
			return usage();
	}
	if (c->size < sizeof(struct req) || c->size > MAX_SIZE || !c->window) {
		fprintf(stderr, "udp_echo_client: --size must be %zu..%d, --window at least 1\n",
			sizeof(struct req), MAX_SIZE);
		return 2;
	}
	if (c->xdp_spec && (!c->src.s_addr || !c->src_port)) {
		fprintf(stderr, "udp_echo_client: --xdp needs --src, --src-port and --dst-mac\n");
		return 2;
	}
	return 0;
}

static int open_socket(struct client *c)
{
	int buf = 4 << 20;

	c->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&c->dst, sizeof(c->dst)) < 0) {
		perror("udp_echo_client: socket");
		return -1;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){.tv_usec = 1000},
		   sizeof(struct timeval));
	return 0;
}

int main(int argc, char **argv)
{
	static struct client c = {.size = 64, .window = 16, .duration = 5, .warmup = 0.5,
				  .timeout_ns = 20000000};
	int rc = parse(&c, argc, argv);
	uint64_t start, end, from;
	double secs;

	if (rc)
		return rc;
	hist_init(&c.hist);
	if (c.xdp_spec ? xdp_open(&c) : open_socket(&c))
		return 1;
	start = now_ns();
	from = start + (uint64_t)(c.warmup * 1e9);
	end = from + (uint64_t)(c.duration * 1e9);
	if (c.rate > 0)
		fixed_rate(&c, end, from);
	else
		closed_loop(&c, end, from);
	secs = (double)(now_ns() - from) / 1e9;
	printf("replies %lu rate %.0f rtt_p50_ns %lu rtt_p99_ns %lu rtt_p999_ns %lu sent %lu "
	       "lost %lu\n", (unsigned long)c.replies, (double)c.replies / secs,
	       (unsigned long)hist_percentile(&c.hist, 50), (unsigned long)hist_percentile(&c.hist, 99),
	       (unsigned long)hist_percentile(&c.hist, 99.9), (unsigned long)c.sent,
	       (unsigned long)(c.sent > c.replies_all + c.inflight_end
				       ? c.sent - c.replies_all - c.inflight_end : 0));
	if (c.port)
		xdp_close(&c);
	else
		close(c.fd);
	return 0;
}
