// SPDX-License-Identifier: BSD-3-Clause
/*
 * lcores (pinned run-to-completion threads), the idle policy that sleeps on
 * queue fds after a run of empty polls, and the SIGINT/SIGTERM stop flag.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weir/lcore.h"

__thread uint32_t weir_lcore_id_tls = WEIR_LCORE_ANY;
volatile sig_atomic_t weir_stop;

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

int weir_lcore_join(struct weir_lcore *lc, int *ret)
{
	int r = pthread_join(lc->thread, NULL);

	if (ret)
		*ret = lc->ret;
	free(lc);
	return -r;
}

static void on_signal(int sig)
{
	(void)sig;
	weir_stop = 1;
}

void weir_signal_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int weir_idle_init(struct weir_idle *idle, uint32_t spin_polls, uint32_t timeout_us)
{
	memset(idle, 0, sizeof(*idle));
	idle->spin_polls = spin_polls ? spin_polls : 1000;
	idle->timeout_us = timeout_us ? timeout_us : 1000;
	return 0;
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

void weir_idle_sleep(struct weir_idle *idle, uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ULL),
		.tv_nsec = (long)(ns % 1000000000ULL),
	};

	/* Registered for this sleep only (see lcore.h). */
	ppoll(idle->fds, idle->nfds, &ts, NULL);
	idle->sleeps++;
}

int weir_idle_poll(struct weir_idle *idle, uint32_t work)
{
	if (work) {
		idle->empty = 0;
		return 0;
	}
	if (++idle->empty < idle->spin_polls)
		return 0;
	weir_idle_sleep(idle, (uint64_t)idle->timeout_us * 1000);
	idle->empty = 0;
	return 1;
}

void weir_idle_fini(struct weir_idle *idle)
{
	idle->nfds = 0;
}
