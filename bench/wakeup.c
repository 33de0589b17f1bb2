// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench/wakeup: the floor under bench/idle.sh's first-frame figure, how
 * long this machine takes to wake a thread asleep in poll() for a UDP
 * datagram, with no weir involved. A sender thread (pinned to SEND_CPU)
 * sends one datagram every INTERVAL_MS to a receiver thread (pinned to
 * RECV_CPU) that sleeps in poll() between them, over loopback; per
 * datagram:
 *
 *   kernel   the sender's clock just before sendto() to the kernel's
 *            receive timestamp (SO_TIMESTAMPNS: the datagram was queued)
 *   wake     that timestamp to the receiver's clock as poll() returns:
 *            the IPI, the idle CPU's exit (cpuidle: haltpoll here) and the
 *            scheduler, what a sleeping weir lcore pays for its first frame
 *   total    send to poll()'s return
 *
 * Prints p50, p90 and max of each in microseconds. A benchmark, not a test.
 *
 *   bench/wakeup [COUNT=20] [INTERVAL_MS=1000] [SEND_CPU=0] [RECV_CPU=1]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct probe {
	int fd;
	struct sockaddr_in to;
	int count, interval_ms, cpu;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		fprintf(stderr, "warning: cannot pin to cpu %d\n", cpu);
}

static void *sender(void *arg)
{
	struct probe *p = arg;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	pin(p->cpu);
	for (int i = 0; i < p->count; i++) {
		struct timespec gap = {p->interval_ms / 1000, (p->interval_ms % 1000) * 1000000L};
		int64_t t;

		nanosleep(&gap, NULL);
		t = now_ns();
		if (sendto(s, &t, sizeof(t), 0, (struct sockaddr *)&p->to, sizeof(p->to)) < 0)
			perror("sendto");
	}
	close(s);
	return NULL;
}

/* One datagram after poll(): its send time, the kernel's stamp, the wake-up. */
static int receive(int fd, int64_t out[3])
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char cbuf[128];
	int64_t sent = 0, woke;
	struct iovec iov = {&sent, sizeof(sent)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};

	if (poll(&pfd, 1, 5000) != 1)
		return -1;
	woke = now_ns();
	if (recvmsg(fd, &m, 0) != sizeof(sent))
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			out[1] = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		}
	out[0] = sent;
	out[2] = woke;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void show(const char *name, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("  %-7s p50 %6.1f  p90 %6.1f  max %6.1f us\n", name, v[n / 2], v[n * 9 / 10],
	       v[n - 1]);
}

int main(int argc, char **argv)
{
	struct probe p = {.count = argc > 1 ? atoi(argv[1]) : 20,
			  .interval_ms = argc > 2 ? atoi(argv[2]) : 1000,
			  .cpu = argc > 3 ? atoi(argv[3]) : 0};
	int rcpu = argc > 4 ? atoi(argv[4]) : 1, one = 1, n = 0;
	socklen_t len = sizeof(p.to);
	double *k, *w, *t;
	pthread_t th;

	if (p.count < 1 || p.interval_ms < 1) {
		fprintf(stderr, "usage: %s [COUNT] [INTERVAL_MS] [SEND_CPU] [RECV_CPU]\n", argv[0]);
		return 2;
	}
	k = calloc((size_t)p.count, sizeof(*k));
	w = calloc((size_t)p.count, sizeof(*w));
	t = calloc((size_t)p.count, sizeof(*t));
	p.fd = socket(AF_INET, SOCK_DGRAM, 0);
	p.to.sin_family = AF_INET;
	p.to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!k || !w || !t || p.fd < 0 ||
	    setsockopt(p.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) ||
	    bind(p.fd, (struct sockaddr *)&p.to, sizeof(p.to)) ||
	    getsockname(p.fd, (struct sockaddr *)&p.to, &len)) {
		perror("wakeup: socket");
		return 1;
	}
	pin(rcpu);
	if (pthread_create(&th, NULL, sender, &p)) {
		fprintf(stderr, "wakeup: cannot start the sender thread\n");
		return 1;
	}
	for (int i = 0; i < p.count; i++) {
		int64_t s[3] = {0};

		if (receive(p.fd, s) || !s[1])
			continue;
		k[n] = (double)(s[1] - s[0]) / 1e3;
		w[n] = (double)(s[2] - s[1]) / 1e3;
		t[n] = (double)(s[2] - s[0]) / 1e3;
		n++;
	}
	pthread_join(th, NULL);
	if (!n) {
		fprintf(stderr, "wakeup: no datagram received\n");
		return 1;
	}
	printf("poll() wake-up over loopback, %d datagrams %d ms apart, sender cpu %d, "
	       "receiver cpu %d:\n", n, p.interval_ms, p.cpu, rcpu);
	show("kernel", k, n);
	show("wake", w, n);
	show("total", t, n);
	free(k), free(w), free(t);
	close(p.fd);
	return 0;
}
