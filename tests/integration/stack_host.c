// SPDX-License-Identifier: BSD-3-Clause
/*
 * A tiny host made of one weir port and the weir stack, for the interop
 * test (test_stack.sh) with the Linux kernel as the peer: it answers ARP
 * and ping, echoes UDP datagrams on its ports, and can greet a peer first
 * (so its own ARP resolution of the peer is exercised). Not an app: the
 * real one (weir-echo) will sit on the app harness.
 *
 *   stack_host SPEC ADDR/PREFIX [-g GATEWAY] [-u PORT]... [-s PEER:PORT]
 *              [-t SECONDS] [-O] [-q]
 *
 *   -g  default route via GATEWAY     -u  UDP echo port (default 7; repeat)
 *   -s  send "hello from weir" to PEER:PORT once the stack is up
 *   -t  stop after SECONDS (default: on SIGINT/SIGTERM)
 *   -O  no transmit offloads even where the port has them
 *   -q  no counters at exit
 *
 * Prints "ready" on stdout once it is serving. At exit it prints the
 * stack's non-zero counters (stderr) and fails (exit 1) if any packet
 * buffer leaked; exit 2 for bad arguments or a port that does not open.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weir/clock.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port.h"
#include "weir/stack.h"
#include "weir/udp.h"

#define BURST 32
#define MAX_SOCKS 8

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct host {
	const char *spec;
	uint32_t addr, gw;
	uint8_t prefix;
	uint16_t ports[MAX_SOCKS];
	int nports;
	struct weir_udp_addr hello;
	double seconds;
	bool no_offload, quiet;
	struct weir_pool *pool;
	struct weir_port *port;
	struct weir_stack *st;
	struct weir_udp_sock *socks[MAX_SOCKS];
};

static int usage(void)
{
	fprintf(stderr, "usage: stack_host SPEC ADDR/PREFIX [-g GATEWAY] [-u PORT]... "
			"[-s PEER:PORT] [-t SECONDS] [-O] [-q]\n");
	return 2;
}

static int parse_addr(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

static int parse_args(struct host *h, int argc, char **argv)
{
	char buf[64], *slash, *colon;
	int c;

	while ((c = getopt(argc, argv, "g:u:s:t:Oq")) != -1) {
		switch (c) {
		case 'g':
			if (parse_addr(optarg, &h->gw))
				return usage();
			break;
		case 'u':
			if (h->nports == MAX_SOCKS)
				return usage();
			h->ports[h->nports++] = (uint16_t)atoi(optarg);
			break;
		case 's':
			snprintf(buf, sizeof(buf), "%s", optarg);
			colon = strchr(buf, ':');
			if (!colon)
				return usage();
			*colon = '\0';
			if (parse_addr(buf, &h->hello.addr))
				return usage();
			h->hello.port = (uint16_t)atoi(colon + 1);
			break;
		case 't': h->seconds = atof(optarg); break;
		case 'O': h->no_offload = true; break;
		case 'q': h->quiet = true; break;
		default: return usage();
		}
	}
	if (argc - optind != 2)
		return usage();
	h->spec = argv[optind];
	snprintf(buf, sizeof(buf), "%s", argv[optind + 1]);
	slash = strchr(buf, '/');
	if (!slash)
		return usage();
	*slash = '\0';
	h->prefix = (uint8_t)atoi(slash + 1);
	if (parse_addr(buf, &h->addr))
		return usage();
	if (!h->nports)
		h->ports[h->nports++] = 7;
	return 0;
}

/* The port's fields have no accessors yet (see the report); read them. */
static int setup(struct host *h)
{
	struct weir_stack_iface_conf ic;
	struct weir_port_conf pc = {0};
	char why[WEIR_PORT_ERRSIZE];
	int err;

	err = weir_pool_create(&(struct weir_pool_conf){.name = "stack_host", .n = 16384}, &h->pool);
	if (!h->pool)
		return fprintf(stderr, "stack_host: pool: %s\n", strerror(-err)), 2;
	pc.pool = h->pool;
	if (weir_port_open(h->spec, &pc, &h->port, why, sizeof(why)))
		return fprintf(stderr, "stack_host: %s\n", why), 2;
	h->st = weir_stack_create(&(struct weir_stack_conf){.pool = h->pool}, &err);
	if (!h->st)
		return fprintf(stderr, "stack_host: stack: %s\n", strerror(-err)), 2;
	ic = (struct weir_stack_iface_conf){
		.name = "if0",
		.port = h->port,
		.port_id = weir_port_id(h->port),
		.addr = h->addr,
		.prefix = h->prefix,
		.mtu = weir_port_mtu(h->port),
		.tx_offloads = h->no_offload ? 0 : weir_port_tx_offloads(h->port),
	};
	weir_port_mac(h->port, ic.mac);
	err = weir_stack_iface_add(h->st, &ic, why, sizeof(why));
	if (err < 0)
		return fprintf(stderr, "stack_host: %s\n", why), 2;
	return 0;
}

static int setup_rest(struct host *h)
{
	char why[256], cmd[64];
	struct in_addr gw;
	int err;

	if (h->gw) {
		gw.s_addr = htonl(h->gw);
		snprintf(cmd, sizeof(cmd), "add default via %s", inet_ntoa(gw));
		if (weir_stack_route_cmd(h->st, cmd, why, sizeof(why)))
			return fprintf(stderr, "stack_host: %s\n", why), 2;
	}
	for (int i = 0; i < h->nports; i++) {
		h->socks[i] = weir_udp_open(h->st, &(struct weir_udp_sock_conf){1024}, &err);
		if (!h->socks[i] || weir_udp_bind(h->socks[i], 0, h->ports[i]))
			return fprintf(stderr, "stack_host: cannot bind UDP port %u\n", h->ports[i]), 2;
	}
	return 0;
}

static void greet(struct host *h)
{
	static const char msg[] = "hello from weir";
	struct weir_pkt *p = weir_pkt_alloc(h->pool);
	int err;

	if (!p)
		return;
	memcpy(weir_pkt_put(p, sizeof(msg) - 1), msg, sizeof(msg) - 1);
	err = weir_udp_sendto(h->socks[0], p, &h->hello);
	if (err) {
		fprintf(stderr, "stack_host: hello: %s\n", strerror(-err));
		weir_pkt_free(p);
	}
}

/* One turn: receive, echo, timers, transmit. Returns frames received. */
static uint16_t turn(struct host *h)
{
	struct weir_pkt *pkts[BURST];
	struct weir_udp_addr from[BURST];
	weir_ns_t now = weir_clock_now();
	uint16_t n = weir_port_rx_burst(h->port, 0, pkts, BURST), k, sent;

	weir_stack_input(h->st, pkts, n, now);
	for (int i = 0; i < h->nports; i++) {
		while ((k = weir_udp_recv_burst(h->socks[i], pkts, from, BURST))) {
			sent = weir_udp_send_burst(h->socks[i], pkts, from, k);
			weir_pkt_free_bulk(pkts + sent, (uint32_t)(k - sent));
		}
	}
	weir_stack_timer(h->st, now);
	while ((k = weir_stack_drain(h->st, 0, pkts, BURST)))
		weir_port_tx_burst_or_free(h->port, 0, pkts, k);
	weir_port_tx_done(h->port, 0);
	return n;
}

static void serve(struct host *h)
{
	weir_ns_t end = h->seconds > 0 ? weir_clock_now() + (weir_ns_t)(h->seconds * 1e9) : 0;
	int fd = weir_port_wait_fd(h->port, 0), idle = 0;

	while (!stop && (!end || weir_time_after(end, weir_clock_now()))) {
		if (turn(h)) {
			idle = 0;
		} else if (++idle > 64) {
			/* Quiet: sleep on the port (or a little) instead of spinning. */
			struct pollfd pfd = {.fd = fd, .events = POLLIN};

			if (fd >= 0)
				poll(&pfd, 1, 5);
			else
				usleep(200);
		}
	}
}

static void print_counters(const struct weir_stack *st)
{
	struct weir_xstat xs[256];
	int n = weir_stack_xstats(st, xs, 256);

	for (int i = 0; i < n && i < 256; i++)
		if (xs[i].value)
			fprintf(stderr, "stack_host: %s %llu\n", xs[i].name,
				(unsigned long long)xs[i].value);
}

static int teardown(struct host *h)
{
	uint32_t leaked;

	if (h->st && !h->quiet)
		print_counters(h->st);
	for (int i = 0; i < h->nports; i++)
		weir_udp_close(h->socks[i]);
	weir_stack_destroy(h->st);
	if (h->port)
		weir_port_close(h->port);
	if (!h->pool)
		return 0;
	leaked = weir_pool_in_use(h->pool);
	weir_pool_destroy(h->pool);
	if (leaked) {
		fprintf(stderr, "stack_host: %u packet buffers leaked\n", leaked);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct host h = {0};
	int rc = parse_args(&h, argc, argv);

	if (rc)
		return rc;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = setup(&h);
	if (!rc)
		rc = setup_rest(&h);
	if (rc) {
		teardown(&h);
		return rc;
	}
	printf("ready\n");
	fflush(stdout);
	if (h.hello.addr)
		greet(&h);
	serve(&h);
	return teardown(&h);
}
