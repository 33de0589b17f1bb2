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
 * Prints p50, p90 and max of each in microseconds, for each way of
 * sleeping (MODES, comma-separated; default all but the opt-in one):
 *
 *   poll     poll() on the socket, a 5 s timeout (weir's sleeps have one)
 *   pollinf  poll() with no timeout: no hrtimer armed and cancelled
 *   epoll    epoll_wait() on an epoll set holding the socket
 *   nested   poll() on an epoll fd holding the socket, as a weir lcore
 *            sleeps on an afpacket queue with a wake ring
 *   recv     a blocking recvmsg(): woken by the socket, no poll table
 *   futex    FUTEX_WAIT, woken by the sender's FUTEX_WAKE right after its
 *            clock: the bare wake-up, no network stack ("wake" is then
 *            from the sender's clock, "kernel" is 0)
 *   lat0     opt-in (named explicitly): poll, with /dev/cpu_dma_latency
 *            held at 0 for the row by this process (the kernel restores it
 *            when the fd closes): idle CPUs then spin in cpuidle's POLL
 *            state instead of halting. It burns the idle time of every
 *            CPU of the guest (the host sees busy vCPUs), printed as the
 *            share of RECV_CPU's time spent in the POLL state.
 *
 * A benchmark, not a test.
 *
 *   bench/wakeup [COUNT=20] [INTERVAL_MS=1000] [SEND_CPU=0] [RECV_CPU=1] [MODES]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum mode { M_POLL, M_POLLINF, M_EPOLL, M_NESTED, M_RECV, M_FUTEX, M_LAT0, M_N };

static const char *const mode_name[M_N] = {"poll", "pollinf", "epoll", "nested",
					   "recv", "futex", "lat0"};

struct probe {
	int fd;
	struct sockaddr_in to;
	int count, interval_ms, cpu;
	enum mode mode;
	_Atomic uint32_t word; /* futex: bumped for each wake */
	_Atomic int64_t sent;  /* futex: the sender's clock before the wake */
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

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
	return syscall(SYS_futex, (uint32_t *)w, op, val, NULL, NULL, 0);
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
		if (p->mode == M_FUTEX) {
			atomic_store(&p->sent, t);
			atomic_fetch_add(&p->word, 1);
			futex(&p->word, FUTEX_WAKE_PRIVATE, 1);
		} else if (sendto(s, &t, sizeof(t), 0, (struct sockaddr *)&p->to, sizeof(p->to)) < 0) {
			perror("sendto");
		}
	}
	close(s);
	return NULL;
}

/* Sleeps the mode's way until the socket is readable: 0, or -1. */
static int sleep_on(const struct probe *p, int epfd)
{
	struct pollfd pfd = {.fd = epfd >= 0 && p->mode == M_NESTED ? epfd : p->fd,
			     .events = POLLIN};
	struct epoll_event ev;

	switch (p->mode) {
	case M_EPOLL:
		return epoll_wait(epfd, &ev, 1, 5000) == 1 ? 0 : -1;
	case M_POLLINF:
		return poll(&pfd, 1, -1) == 1 ? 0 : -1;
	case M_RECV:
		return 0; /* recvmsg itself blocks */
	default:
		return poll(&pfd, 1, 5000) == 1 ? 0 : -1;
	}
}

/* One datagram: its send time, the kernel's stamp, the wake-up. */
static int receive(const struct probe *p, int epfd, int64_t out[3])
{
	char cbuf[128];
	int64_t sent = 0, woke = 0;
	struct iovec iov = {&sent, sizeof(sent)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};

	if (sleep_on(p, epfd))
		return -1;
	if (p->mode != M_RECV)
		woke = now_ns();
	if (recvmsg(p->fd, &m, 0) != sizeof(sent))
		return -1;
	if (p->mode == M_RECV)
		woke = now_ns();
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

/* futex: waits for the sender's next bump of the word. */
static int receive_futex(struct probe *p, uint32_t *seen, int64_t out[3])
{
	while (atomic_load(&p->word) == *seen) {
		struct timespec to = {5, 0};

		if (syscall(SYS_futex, (uint32_t *)&p->word, FUTEX_WAIT_PRIVATE, *seen, &to, NULL,
			    0) && errno == ETIMEDOUT)
			return -1;
	}
	out[2] = now_ns();
	(*seen)++;
	out[0] = out[1] = atomic_load(&p->sent);
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

/* Microseconds RECV_CPU has spent in cpuidle's POLL state (state0). */
static long long poll_state_us(int cpu)
{
	char path[96];
	long long us = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/cpuidle/state0/time", cpu);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lld", &us) != 1)
			us = -1;
		fclose(f);
	}
	return us;
}

/* lat0: /dev/cpu_dma_latency held at 0 while the fd is open; -1 if not. */
static int latency_hold(void)
{
	int32_t zero = 0;
	int fd = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, &zero, sizeof(zero)) != sizeof(zero)) {
		perror("wakeup: lat0: /dev/cpu_dma_latency (needs root)");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The datagrams of one mode into k, w, t; returns how many came. */
static int collect(struct probe *p, int rcpu, double *k, double *w, double *t)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int epfd = -1, n = 0;
	uint32_t seen = atomic_load(&p->word);
	pthread_t th;

	if (p->mode == M_EPOLL || p->mode == M_NESTED) {
		epfd = epoll_create1(EPOLL_CLOEXEC);
		if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &ev)) {
			perror("wakeup: epoll");
			return 0;
		}
	}
	pin(rcpu);
	if (pthread_create(&th, NULL, sender, p)) {
		fprintf(stderr, "wakeup: cannot start the sender thread\n");
		return 0;
	}
	for (int i = 0; i < p->count; i++) {
		int64_t s[3] = {0};

		if ((p->mode == M_FUTEX ? receive_futex(p, &seen, s) : receive(p, epfd, s)) || !s[1])
			continue;
		k[n] = (double)(s[1] - s[0]) / 1e3;
		w[n] = (double)(s[2] - s[1]) / 1e3;
		t[n] = (double)(s[2] - s[0]) / 1e3;
		n++;
	}
	pthread_join(th, NULL);
	if (epfd >= 0)
		close(epfd);
	return n;
}

/* One mode's row. 0, or 1 when nothing came. */
static int run_mode(struct probe *p, int rcpu, double *k, double *w, double *t)
{
	int hold = -1, n;
	long long poll0 = 0;
	int64_t t0 = now_ns();

	if (p->mode == M_LAT0) {
		if ((hold = latency_hold()) < 0)
			return 1;
		poll0 = poll_state_us(rcpu);
	}
	n = collect(p, rcpu, k, w, t);
	printf("%s: %d of %d wake-ups %d ms apart, sender cpu %d, receiver cpu %d\n",
	       mode_name[p->mode], n, p->count, p->interval_ms, p->cpu, rcpu);
	if (hold >= 0) {
		long long poll1 = poll_state_us(rcpu);

		close(hold); /* the kernel drops the request: the setting is back */
		if (poll0 >= 0 && poll1 >= 0)
			printf("  cpu %d in the POLL idle state %.1f%% of the row (burnt, not idle)\n",
			       rcpu, (double)(poll1 - poll0) * 1e5 / (double)(now_ns() - t0));
	}
	if (!n)
		return 1;
	if (p->mode != M_FUTEX)
		show("kernel", k, n);
	show("wake", w, n);
	show("total", t, n);
	return 0;
}

static int parse_modes(const char *arg, bool want[M_N])
{
	char buf[128], *save = NULL;

	if (!arg) {
		for (int m = 0; m < M_N; m++)
			want[m] = m != M_LAT0;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int m = 0;

		while (m < M_N && strcmp(tok, mode_name[m]))
			m++;
		if (m == M_N) {
			fprintf(stderr, "wakeup: unknown mode '%s' (poll, pollinf, epoll, nested, "
					"recv, futex, lat0)\n", tok);
			return -1;
		}
		want[m] = true;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct probe p = {.count = argc > 1 ? atoi(argv[1]) : 20,
			  .interval_ms = argc > 2 ? atoi(argv[2]) : 1000,
			  .cpu = argc > 3 ? atoi(argv[3]) : 0};
	int rcpu = argc > 4 ? atoi(argv[4]) : 1, one = 1, bad = 0;
	bool want[M_N] = {false};
	socklen_t len = sizeof(p.to);
	double *k, *w, *t;

	if (p.count < 1 || p.interval_ms < 1 || parse_modes(argc > 5 ? argv[5] : NULL, want)) {
		fprintf(stderr, "usage: %s [COUNT] [INTERVAL_MS] [SEND_CPU] [RECV_CPU] [MODES]\n",
			argv[0]);
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
	for (int m = 0; m < M_N; m++) {
		if (!want[m])
			continue;
		p.mode = (enum mode)m;
		bad |= run_mode(&p, rcpu, k, w, t);
	}
	free(k), free(w), free(t);
	close(p.fd);
	return bad;
}
