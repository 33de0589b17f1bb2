// SPDX-License-Identifier: BSD-3-Clause
/*
 * lcores (pinned run-to-completion threads), the idle policy that sleeps on
 * queue fds after a run of empty polls (or, adaptive, after a spin whose
 * length in time follows the gaps between bursts of work), and the
 * SIGINT/SIGTERM stop flag.
 *
 * The stop flag comes with an eventfd that every idle sleep also waits on:
 * raising the flag writes it (write(2) is async-signal-safe, so the signal
 * handler can), which wakes all sleepers at once and keeps any later sleep
 * from blocking. A loop may therefore sleep with no deadline of its own and
 * still stop promptly. The eventfd is never read while the flag is up; a
 * flag cleared again (tests do) is noticed by the next sleep, which drains it.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "weir/clock.h"
#include "weir/lcore.h"

__thread uint32_t weir_lcore_id_tls = WEIR_LCORE_ANY;
_Atomic int weir_stop;
static_assert(ATOMIC_INT_LOCK_FREE == 2, "weir_stop is written by signal handlers");

/* The stop flag's eventfd, made once (weir_idle_init, weir_signal_install). */
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;
static atomic_int stop_fd = -1;
static atomic_int stop_fd_err;

struct weir_lcore {
	pthread_t thread;
	int cpu;
	uint32_t id;
	weir_lcore_fn fn;
	void *arg;
	int ret;
};

int weir_lcore_pin(int cpu)
{
	cpu_set_t set;
	int r;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	r = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	return -r;
}

int weir_lcore_count(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	return CPU_COUNT(&set);
}

void weir_lcore_set_id(uint32_t id)
{
	weir_lcore_id_tls = id < WEIR_MAX_LCORE ? id : WEIR_LCORE_ANY;
}

static void *lcore_main(void *arg)
{
	struct weir_lcore *lc = arg;

	weir_lcore_set_id(lc->id);
	lc->ret = lc->fn(lc->arg);
	return NULL;
}

int weir_lcore_launch(int cpu, uint32_t id, weir_lcore_fn fn, void *arg, struct weir_lcore **out)
{
	struct weir_lcore *lc;
	pthread_attr_t attr;
	cpu_set_t set;
	int r;

	if (id >= WEIR_MAX_LCORE || !fn || cpu >= CPU_SETSIZE)
		return -EINVAL;
	lc = calloc(1, sizeof(*lc));
	if (!lc)
		return -ENOMEM;
	lc->cpu = cpu;
	lc->id = id;
	lc->fn = fn;
	lc->arg = arg;
	/* Pin through the attributes, not from inside the thread: the thread
	 * never runs on a wrong CPU, and a CPU we may not use fails here,
	 * where the caller can see it. */
	r = pthread_attr_init(&attr);
	if (r)
		goto fail;
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		r = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	if (!r)
		r = pthread_create(&lc->thread, &attr, lcore_main, lc);
	pthread_attr_destroy(&attr);
	if (r)
		goto fail;
	*out = lc;
	return 0;
fail:
	free(lc);
	return -r;
}

static void stop_wake(void);

int weir_lcore_join(struct weir_lcore *lc, int *ret)
{
	int r;

	if (weir_stop)
		stop_wake();
	r = pthread_join(lc->thread, NULL);

	if (ret)
		*ret = lc->ret;
	free(lc);
	return -r;
}

static void stop_fd_make(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (fd < 0)
		atomic_store(&stop_fd_err, -errno);
	atomic_store(&stop_fd, fd);
}

/* Async-signal-safe: an atomic load and a write(2), errno kept. */
static void stop_wake(void)
{
	int fd = atomic_load(&stop_fd), saved = errno;
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so it is readable anyway. */
	}
	errno = saved;
}

/* A sleep woke on the stop eventfd: if the flag was cleared again since it
 * was written (tests do), drain it, or every later sleep would return at
 * once. With the flag up it stays readable for every sleeper. */
static void stop_drain_stale(const struct pollfd *stop)
{
	uint64_t v;

	if (!(stop->revents & POLLIN) || weir_stop)
		return;
	if (read(stop->fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: another sleeper drained it first. */
	}
}

void weir_stop_request(void)
{
	/* The flag first: a sleeper the write wakes must find it set. */
	weir_stop = 1;
	stop_wake();
}

bool weir_stop_wait(uint64_t ns)
{
	struct pollfd pfd = {.events = POLLIN};
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ULL),
		.tv_nsec = (long)(ns % 1000000000ULL),
	};

	pthread_once(&stop_once, stop_fd_make);
	pfd.fd = atomic_load(&stop_fd);
	if (!weir_stop && ppoll(&pfd, 1, &ts, NULL) > 0)
		stop_drain_stale(&pfd);
	return weir_should_stop();
}

static void on_signal(int sig)
{
	(void)sig;
	weir_stop_request();
}

void weir_signal_install(void)
{
	struct sigaction sa;

	pthread_once(&stop_once, stop_fd_make);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int weir_idle_init(struct weir_idle *idle, uint32_t spin_polls, uint32_t timeout_us)
{
	memset(idle, 0, sizeof(*idle));
	idle->spin_polls = spin_polls ? spin_polls : WEIR_IDLE_SPIN_POLLS;
	idle->timeout_us = timeout_us ? timeout_us : 1000;
	pthread_once(&stop_once, stop_fd_make);
	return atomic_load(&stop_fd) < 0 ? atomic_load(&stop_fd_err) : 0;
}

void weir_idle_cap(struct weir_idle *idle, uint64_t ns)
{
	if (ns && (!idle->max_ns || ns < idle->max_ns))
		idle->max_ns = ns;
}

int weir_idle_add_fd(struct weir_idle *idle, int fd)
{
	if (fd < 0)
		return -EINVAL;
	for (uint32_t i = 0; i < idle->nfds; i++)
		if (idle->fds[i].fd == fd)
			return -EEXIST;
	if (idle->nfds == WEIR_IDLE_MAX_FDS)
		return -ENOSPC;
	idle->fds[idle->nfds].fd = fd;
	idle->fds[idle->nfds].events = POLLIN;
	idle->nfds++;
	return 0;
}

/* A sleep of ns that took slept ns: into the moving average of lateness. */
static void late_note(struct weir_idle *idle, uint64_t slept, uint64_t ns)
{
	uint64_t late = slept > ns ? slept - ns : 0;

	if (late > WEIR_IDLE_LATE_CAP_NS)
		late = WEIR_IDLE_LATE_CAP_NS;
	idle->late_ns = idle->late_ns - idle->late_ns / 8 + late / 8;
}

int weir_idle_sleep(struct weir_idle *idle, uint64_t ns)
{
	struct pollfd pf[WEIR_IDLE_MAX_FDS + 1];
	uint8_t which[WEIR_IDLE_MAX_FDS];
	struct timespec ts;
	uint32_t n = 0;
	weir_ns_t t0;
	int r;

	idle->sleeps++;
	idle->woke = 0;
	/* Stopping: the eventfd would end the sleep at once anyway. */
	if (weir_stop)
		return 1;
	/* Registered for this sleep only (see lcore.h). */
	for (uint32_t i = 0; i < idle->nfds; i++) {
		if (idle->masked & (1u << i))
			continue;
		pf[n] = (struct pollfd){.fd = idle->fds[i].fd, .events = POLLIN};
		which[n++] = (uint8_t)i;
	}
	pf[n] = (struct pollfd){.fd = atomic_load_explicit(&stop_fd, memory_order_relaxed),
				.events = POLLIN};
	if (idle->masked && ns > WEIR_IDLE_MASKED_NS)
		ns = WEIR_IDLE_MASKED_NS;
	if (idle->max_ns && ns > idle->max_ns)
		ns = idle->max_ns;
	ts.tv_sec = (time_t)(ns / 1000000000ULL);
	ts.tv_nsec = (long)(ns % 1000000000ULL);
	t0 = weir_clock_now();
	r = ppoll(pf, n + 1, &ts, NULL);
	/* Only the short sleeps deadlines are met with; a long one may run
	 * late by 0.1% of itself by design. */
	if (r == 0 && ns <= 2 * WEIR_NS_PER_MS)
		late_note(idle, weir_clock_now() - t0, ns);
	if (idle->spin_max_ns) {
		/* Woken by an fd, the work is on its way: an adaptive spin
		 * starts again from here. Timed out, the loop sleeps again at
		 * its next empty poll (its spin had run out). */
		idle->slept = true;
		if (r > 0)
			idle->spin_from = weir_clock_now();
	}
	if (r <= 0)
		return 0;
	for (uint32_t j = 0; j < n; j++)
		if (pf[j].revents)
			idle->woke |= 1u << which[j];
	stop_drain_stale(&pf[n]);
	return 1;
}

void weir_idle_adaptive(struct weir_idle *idle, uint64_t min_ns, uint64_t max_ns)
{
	idle->spin_max_ns = max_ns ? max_ns : 1;
	idle->spin_min_ns = min_ns < idle->spin_max_ns ? min_ns : idle->spin_max_ns;
	idle->spin_ns = idle->spin_max_ns;
	idle->last_work = idle->spin_from = weir_clock_now();
	idle->slept = false;
}

static uint64_t spin_clamp(const struct weir_idle *idle, uint64_t ns)
{
	return ns < idle->spin_min_ns ? idle->spin_min_ns
				      : ns > idle->spin_max_ns ? idle->spin_max_ns : ns;
}

/* Work at now after an idle run (empty polls, maybe sleeps): the budget
 * fitted to the gap since the last work (see weir_idle_adaptive). */
static void spin_fit(struct weir_idle *idle, uint64_t now)
{
	uint64_t gap = now - idle->last_work, b;

	if (!idle->slept) {
		b = idle->spin_ns - idle->spin_ns / 8;
		if (b < 2 * gap)
			b = 2 * gap;
	} else if (gap < idle->spin_max_ns) {
		b = 2 * gap;
	} else {
		return;
	}
	idle->spin_ns = spin_clamp(idle, b);
}

bool weir_idle_should_sleep_at(struct weir_idle *idle, uint32_t work, uint64_t now)
{
	if (work) {
		if (idle->spin_max_ns) {
			if (idle->empty || idle->slept)
				spin_fit(idle, now);
			idle->last_work = idle->spin_from = now;
			idle->slept = false;
		}
		idle->empty = 0;
		idle->woke = 0;
		idle->masked = 0;
		return false;
	}
	idle->empty++;
	if (idle->spin_max_ns) {
		if (now - idle->spin_from < idle->spin_ns)
			return false;
		idle->spin_ns = spin_clamp(idle, idle->spin_ns / 2);
	} else if (idle->empty < idle->spin_polls) {
		return false;
	}
	idle->empty = 0;
	/* Readable, yet a whole spin found nothing: not worth waking for. */
	idle->masked |= idle->woke;
	idle->woke = 0;
	return true;
}

bool weir_idle_should_sleep(struct weir_idle *idle, uint32_t work)
{
	return weir_idle_should_sleep_at(idle, work, idle->spin_max_ns ? weir_clock_now() : 0);
}

int weir_idle_poll(struct weir_idle *idle, uint32_t work)
{
	if (!weir_idle_should_sleep(idle, work))
		return 0;
	weir_idle_sleep(idle, (uint64_t)idle->timeout_us * 1000);
	return 1;
}

void weir_idle_fini(struct weir_idle *idle)
{
	idle->nfds = 0;
}
