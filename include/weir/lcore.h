/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lcores: pinned threads that run to completion, each owning its queues;
 * plus the idle policy that lets a polling loop sleep on its queues' file
 * descriptors when nothing comes (the poll-mode driver's interrupt mode),
 * and the stop flag set by SIGINT/SIGTERM.
 */
#ifndef WEIR_LCORE_H
#define WEIR_LCORE_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "common.h"

struct weir_lcore;

typedef int (*weir_lcore_fn)(void *arg);

/*
 * Starts fn(arg) on a new thread pinned to cpu (-1: not pinned) with weir
 * lcore id `id` (< WEIR_MAX_LCORE, unique among running lcores; it selects
 * the per-lcore pool caches). 0 and *out, or -EINVAL / -errno.
 */
int weir_lcore_launch(int cpu, uint32_t id, weir_lcore_fn fn, void *arg, struct weir_lcore **out);
/* Waits for the lcore, stores fn's return value in *ret (may be NULL). */
int weir_lcore_join(struct weir_lcore *lc, int *ret);

/* Makes the calling thread lcore `id` (e.g. the main thread). */
void weir_lcore_set_id(uint32_t id);
/* Pins the calling thread to cpu: 0 or -errno. */
int weir_lcore_pin(int cpu);
/* Number of CPUs this process may run on. */
int weir_lcore_count(void);

/* Set by the handlers weir_signal_install() installs (SIGINT, SIGTERM). */
extern volatile sig_atomic_t weir_stop;
void weir_signal_install(void);

WEIR_INLINE bool weir_should_stop(void)
{
	return weir_stop != 0;
}

/*
 * Idle policy: after `spin_polls` consecutive empty polls, sleep on the
 * registered fds for at most timeout_us (0: default 1 ms).
 *
 * The fds are handed to the kernel only for the length of a sleep (ppoll),
 * never left registered as with epoll: a socket with a standing waiter makes
 * the kernel take its wait-queue lock and run a wake-up callback for every
 * batch it delivers, which on a veth is paid by the sender's CPU even while
 * the receiver is busy polling (measured: ~5% of the generator's CPU and
 * 0.86x -> 1.02x of testpmd's AF_XDP forwarding rate).
 */
#define WEIR_IDLE_MAX_FDS 16
struct weir_idle {
	struct pollfd fds[WEIR_IDLE_MAX_FDS];
	uint32_t nfds;
	uint32_t empty;
	uint32_t spin_polls;
	uint32_t timeout_us;
	uint64_t sleeps; /* how often it slept */
};

int weir_idle_init(struct weir_idle *idle, uint32_t spin_polls, uint32_t timeout_us);
/* Adds fd to wait on: 0, -EINVAL (fd < 0), -EEXIST, -ENOSPC (full). */
int weir_idle_add_fd(struct weir_idle *idle, int fd);
/* Call once per loop with the work just done; sleeps when due. Returns 1
 * when it slept, 0 otherwise. */
int weir_idle_poll(struct weir_idle *idle, uint32_t work);
/* Sleeps now until an fd is readable or `ns` nanoseconds have passed
 * (ns precision, for shapers and delay lines). Counts the sleep. */
void weir_idle_sleep(struct weir_idle *idle, uint64_t ns);
void weir_idle_fini(struct weir_idle *idle);

#endif
