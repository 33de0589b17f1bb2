// SPDX-License-Identifier: BSD-3-Clause
/*
 * Stress test of afpacket's wake ring switches (pmd/afpacket_wake.c): frames
 * must come out of the port in the order the kernel received them, none
 * lost, however often the queue switches between its block ring and its
 * per-frame wake ring.
 *
 *   test_afpacket_order IFACE PEER_NETNS PEER_IFACE SECONDS [PORT_ARGS]
 *
 * A child process in the peer namespace, on another CPU than the receiver,
 * sends sequence-numbered frames in bursts of 1..48 separated by gaps of
 * 0..400 us (now and then 3 ms): gaps around the time the receiver takes
 * to arm the wake ring (AFP_WAKE_ARM_EMPTY empty polls), so that frames
 * are on their way through the kernel while it switches, both to the wake
 * ring (idle) and back to the blocks (busy, or the wake ring full). The
 * receiver busy-polls, and after a run of empty polls sleeps on the queue's
 * wait_fd as an lcore would. Checks: every frame arrives exactly once, in
 * sequence (a frame older than the last one seen is a reorder), none lost
 * but what the kernel counted as dropped (PORT_ARGS with a ring too small
 * for the bursts: the drops then go through the wake ring's accounting
 * too), none at all with the defaults; and the switches really happened
 * (rx_wake_arms, rx_wake_packets). Exit 0 pass, 1 fail, 77 skip.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weir/clock.h"
#include "weir/log.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port.h"

#define MAGIC 0x4f524452u /* "ORDR" */
#define FRAME 96

static uint8_t mac_weir[6];

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s); /* best effort: one CPU is a weaker test */
}

/* A raw socket on the peer interface, made inside the peer namespace. */
static int peer_socket(const char *ns, const char *ifn)
{
	char path[256];
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP)};
	int nsfd, fd;

	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "cannot enter %s: %s\n", path, strerror(errno));
		exit(1);
	}
	sll.sll_ifindex = (int)if_nametoindex(ifn);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "peer socket on %s: %s\n", ifn, strerror(errno));
		exit(1);
	}
	return fd;
}

static void frame_build(uint8_t *f, uint32_t seq)
{
	uint32_t magic = htonl(MAGIC), nseq = htonl(seq);

	memset(f, 0, FRAME);
	memcpy(f, mac_weir, 6);
	memcpy(f + 6, (uint8_t[]){0x02, 0x00, 0x00, 0x77, 0x77, 0x02}, 6);
	f[12] = 0x08, f[14] = 0x45, f[17] = FRAME - 14, f[22] = 64, f[23] = 17;
	memcpy(f + 42, &magic, 4);
	memcpy(f + 46, &nseq, 4);
}

static long frame_seq(const struct weir_pkt *p)
{
	const uint8_t *f = weir_pkt_data(p);
	uint32_t magic, seq;

	if (p->data_len < 50)
		return -1;
	memcpy(&magic, f + 42, 4);
	memcpy(&seq, f + 46, 4);
	return ntohl(magic) == MAGIC ? (long)ntohl(seq) : -1;
}

static void spin_until(weir_ns_t t)
{
	while (weir_time_after(t, weir_clock_now()))
		;
}

/* The sender (child): bursts and gaps for `secs` seconds; the number of
 * frames sent goes back through pipe fd `out`. */
static void sender(const char *ns, const char *ifn, int secs, int out)
{
	int fd = peer_socket(ns, ifn);
	weir_ns_t end = weir_clock_now() + (weir_ns_t)secs * WEIR_NS_PER_SEC;
	uint32_t seq = 0, rnd = 12345;
	uint8_t f[FRAME];

	pin(1);
	usleep(200000); /* the receiver is polling by now */
	while (weir_time_after(end, weir_clock_now())) {
		uint32_t burst, gap_us;

		rnd = rnd * 1103515245u + 12345u;
		burst = 1 + (rnd >> 16) % 48;
		rnd = rnd * 1103515245u + 12345u;
		gap_us = (rnd >> 16) % 64 == 0 ? 3000 : (rnd >> 16) % 400;
		for (uint32_t i = 0; i < burst; i++) {
			frame_build(f, seq);
			while (send(fd, f, FRAME, 0) < 0) {
				if (errno != ENOBUFS && errno != EAGAIN)
					_exit(2);
				usleep(50);
			}
			seq++;
		}
		spin_until(weir_clock_now() + (weir_ns_t)gap_us * WEIR_NS_PER_US);
	}
	if (write(out, &seq, sizeof(seq)) != sizeof(seq))
		_exit(2);
	_exit(0);
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

struct tally {
	uint32_t next, got, reordered, gaps;
};

static void count(struct tally *t, long seq)
{
	if (seq < 0)
		return;
	t->got++;
	if ((uint32_t)seq == t->next) {
		t->next++;
	} else if ((uint32_t)seq > t->next) {
		t->gaps += (uint32_t)seq - t->next; /* missing so far: lost or late */
		t->next = (uint32_t)seq + 1;
	} else {
		t->reordered++;
		if (t->reordered <= 5)
			fprintf(stderr, "reordered: seq %ld after %u\n", seq, t->next - 1);
	}
}

/* Receives until the sender's count arrives and then that many frames are
 * in, or 5 s after it; sleeps on the wait_fd after 2000 empty polls. */
static void receive(struct weir_port *port, int in, struct tally *t, uint32_t *sent)
{
	struct pollfd pfd[2] = {{.fd = weir_port_wait_fd(port, 0), .events = POLLIN},
				{.fd = in, .events = POLLIN}};
	weir_ns_t deadline = 0;
	uint32_t empty = 0;
	struct weir_pkt *pk[32];

	*sent = UINT32_MAX;
	for (;;) {
		uint16_t n = weir_port_rx_burst(port, 0, pk, 32);

		for (uint16_t i = 0; i < n; i++)
			count(t, frame_seq(pk[i]));
		weir_pkt_free_bulk(pk, n);
		if (*sent != UINT32_MAX && (t->got >= *sent || !weir_time_after(deadline,
										 weir_clock_now())))
			return;
		if (n) {
			empty = 0;
			continue;
		}
		if (++empty < 2000)
			continue;
		empty = 0;
		if (poll(pfd, 2, 10) > 0 && (pfd[1].revents & POLLIN) && *sent == UINT32_MAX) {
			if (read(in, sent, sizeof(*sent)) != sizeof(*sent))
				*sent = 0;
			deadline = weir_clock_now() + 5 * WEIR_NS_PER_SEC;
			pfd[1].fd = -1;
		}
	}
}

/* read_mac: weir's own address (mac_weir) from sysfs; -1 with a message
 * when IFACE has none. */
static int read_mac(const char *iface)
{
	char path[128];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", iface);
	f = fopen(path, "r");
	n = f ? fscanf(f, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac_weir[0], &mac_weir[1],
		       &mac_weir[2], &mac_weir[3], &mac_weir[4], &mac_weir[5]) : 0;
	if (f)
		fclose(f);
	if (n != 6) {
		fprintf(stderr, "cannot read the MAC of %s\n", iface);
		return -1;
	}
	return 0;
}

/* verdict: the number of failed checks of a run that received t out of
 * sent frames; strict (the default ring) allows no kernel drop at all. */
static int verdict(struct weir_port *port, const struct tally *t, uint32_t sent, bool strict)
{
	uint64_t kdrops;
	int fails = 0;

	if (sent == UINT32_MAX || sent == 0) {
		fprintf(stderr, "FAIL: the sender did not finish\n");
		fails++;
	}
	/* Every frame missing is one the kernel says it dropped (a ring too
	 * small for the bursts, PORT_ARGS); with the defaults, none. */
	kdrops = xstat(port, "rx_kernel_drops") + xstat(port, "rx_wake_drops");
	if (t->reordered || t->got + t->gaps != t->next || t->next != sent || t->gaps != kdrops ||
	    (strict && kdrops)) {
		fprintf(stderr, "FAIL: %u reordered, %u of %u received, %u lost, %llu dropped by the "
			"kernel\n", t->reordered, t->got, sent, t->gaps, (unsigned long long)kdrops);
		fails++;
	}
	if (xstat(port, "rx_wake_arms") < 500 || xstat(port, "rx_wake_packets") < 500) {
		fprintf(stderr, "FAIL: too few switches to the wake ring to test anything\n");
		fails++;
	}
	return fails;
}

int main(int argc, char **argv)
{
	struct weir_pool_conf pc = {.name = "order", .n = 4096, .cache_size = UINT32_MAX};
	struct weir_port_conf conf = {0};
	struct weir_port *port;
	struct weir_pool *pool;
	struct tally t = {0};
	char spec[256], why[WEIR_PORT_ERRSIZE];
	uint32_t sent;
	int p[2], st, fails;
	pid_t kid;

	if (argc < 5) {
		fprintf(stderr, "usage: %s IFACE PEER_NETNS PEER_IFACE SECONDS [PORT_ARGS]\n", argv[0]);
		return 1;
	}
	if (geteuid() != 0) {
		printf("SKIP: needs root (raw sockets, namespaces)\n");
		return 77;
	}
	weir_log_set_level(WEIR_LOG_WARN);
	if (read_mac(argv[1]))
		return 1;
	if (weir_pool_create(&pc, &pool)) {
		fprintf(stderr, "pool\n");
		return 1;
	}
	conf.pool = pool;
	snprintf(spec, sizeof(spec), "afpacket:%s%s%s", argv[1], argc > 5 ? "?" : "",
		 argc > 5 ? argv[5] : "");
	if (weir_port_open(spec, &conf, &port, why, sizeof(why))) {
		fprintf(stderr, "open %s: %s\n", spec, why);
		return 1;
	}
	if (pipe(p) || (kid = fork()) < 0)
		return 1;
	if (kid == 0) {
		close(p[0]);
		sender(argv[2], argv[3], atoi(argv[4]), p[1]);
	}
	close(p[1]);
	pin(0);
	receive(port, p[0], &t, &sent);
	kill(kid, SIGKILL);
	waitpid(kid, &st, 0);
	printf("order: %s: sent %u, received %u, reordered %u, lost %u (kernel drops: blocks %llu, "
	       "wake ring %llu); wake ring: %llu frames, %llu arms, %llu holds\n", spec, sent, t.got,
	       t.reordered, t.gaps, (unsigned long long)xstat(port, "rx_kernel_drops"),
	       (unsigned long long)xstat(port, "rx_wake_drops"),
	       (unsigned long long)xstat(port, "rx_wake_packets"),
	       (unsigned long long)xstat(port, "rx_wake_arms"),
	       (unsigned long long)xstat(port, "rx_wake_slips"));
	fails = verdict(port, &t, sent, argc == 5);
	weir_port_close(port);
	if (weir_pool_in_use(pool)) {
		fprintf(stderr, "FAIL: %u buffers leaked\n", weir_pool_in_use(pool));
		fails++;
	}
	weir_pool_destroy(pool);
	printf("order: %s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
}
