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
#include <stdatomic.h>
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
/*
 * Waits for the lcore, stores fn's return value in *ret (may be NULL). When
 * the stop flag is set, first wakes the lcores asleep in weir_idle_sleep(),
 * so `weir_stop = 1; weir_lcore_join(...)` does not wait out their timeout.
 */
int weir_lcore_join(struct weir_lcore *lc, int *ret);

/* Makes the calling thread lcore `id` (e.g. the main thread). */
void weir_lcore_set_id(uint32_t id);
/* Pins the calling thread to cpu: 0 or -errno. */
int weir_lcore_pin(int cpu);
/* Number of CPUs this process may run on. */
int weir_lcore_count(void);

/*
 * The stop flag: set by the handlers weir_signal_install() installs (SIGINT,
 * SIGTERM) and by weir_stop_request(). Either also wakes every lcore asleep
 * in weir_idle_sleep(), so a loop that blocks with no timeout still stops at
 * once. Code that assigns weir_stop directly wakes nobody; weir_lcore_join()
 * makes up for it (see there), other sleepers see it when their timeout ends.
 * A lock-free atomic: signal handlers and other threads may both write it
 * (a volatile sig_atomic_t is only for the former; ThreadSanitizer rightly
 * reported the harness's store racing with the lcores' loads).
 */
extern _Atomic int weir_stop;
void weir_signal_install(void);
/* Sets the stop flag and wakes the sleepers. Any thread; async-signal-safe. */
void weir_stop_request(void);
/*
 * Sleeps until the stop flag is raised (by weir_stop_request() or a signal
 * weir_signal_install() handles) or `ns` nanoseconds have passed: a control
 * thread's wait between two looks at its lcores. Returns
 * weir_should_stop(). Any thread.
 */
bool weir_stop_wait(uint64_t ns);

WEIR_INLINE bool weir_should_stop(void)
{
	return atomic_load_explicit(&weir_stop, memory_order_relaxed) != 0;
}

/*
 * Idle policy: a polling loop reports each poll's work; after `spin_polls`
 * empty polls in a row it sleeps on the registered fds (and the stop flag's
 * eventfd) until one is readable or the timeout ends.
 *
 * The spin is there because a sleep costs: on the 2-vCPU VM weir is
 * developed on, a ppoll() that sleeps and is woken costs the sleeper 20-30 us
 * of CPU, and a frame that finds it asleep waits 30-40 us more for it to
 * run. Spinning about as long as one sleep costs before sleeping spends at
 * most twice the CPU of the best choice made in hindsight (ski rental), and
 * whatever comes back within the spin is seen at once. WEIR_IDLE_SPIN_POLLS
 * is that long for weir-fwd's loop over two ports: an empty poll there takes
 * 35 ns (55 ns with a qdisc on each egress), so 512 polls spin 18-28 us;
 * 2000, the old setting, spun 70-110 us. (Measured on an idle weir-fwd made
 * to sleep 1 ms at a time after 1, 2000 and 8000 empty polls: 20-25 us of
 * CPU per sleep, the rest linear in the polls.)
 *
 * The fds are handed to the kernel only for the length of a sleep (ppoll),
 * never left registered as with epoll: a socket with a standing waiter makes
 * the kernel take its wait-queue lock and run a wake-up callback for every
 * batch it delivers, which on a veth is paid by the sender's CPU even while
 * the receiver is busy polling (measured: ~5% of the generator's CPU and
 * 0.86x -> 1.02x of testpmd's AF_XDP forwarding rate).
 *
 * An fd can be readable with nothing to read: AF_PACKET's TPACKET_V3 ring
 * polls readable while the application still holds a block, e.g. frames
 * waiting in weir-fwd's delay line, which turned every sleep into a spin (60%
 * of a core for 20 pings/s through --delay 20ms). So an fd that ended a
 * sleep, after which a whole spin found no work, is left out of the
 * following sleeps until the loop reports work again, and while one is left
 * out a sleep lasts at most WEIR_IDLE_MASKED_NS: a frame on that fd is seen
 * that much later at worst, where the retire timer already makes it wait.
 *
 * A struct weir_idle belongs to one thread.
 */
#define WEIR_IDLE_MAX_FDS 16
#define WEIR_IDLE_SPIN_POLLS 512
#define WEIR_IDLE_MASKED_NS 1000000ULL
struct weir_idle {
	struct pollfd fds[WEIR_IDLE_MAX_FDS];
	uint32_t nfds;
	uint32_t empty;
	uint32_t spin_polls;
	uint32_t timeout_us;
	uint32_t woke;   /* bit i: fds[i] ended the last sleep */
	uint32_t masked; /* bit i: fds[i] woke a sleep and gave no work since */
	uint64_t sleeps; /* how often it slept */
	/* How late timed-out sleeps of up to 2 ms woke, a moving average (1/8) of samples
	 * capped at WEIR_IDLE_LATE_CAP_NS: what a caller that must meet a
	 * deadline should spin rather than sleep (app_wait_until). On the
	 * 2-vCPU VM weir is developed on a sleep wakes 30-80 us late. */
	uint64_t late_ns;
	uint64_t max_ns; /* 0: none; no sleep lasts longer (weir_idle_cap) */
	/* Adaptive spin (weir_idle_adaptive); spin_max_ns 0: spin_polls counts. */
	uint64_t spin_min_ns, spin_max_ns;
	uint64_t spin_ns;    /* the budget of the spin now running */
	uint64_t last_work;  /* when the last poll with work ran */
	uint64_t spin_from;  /* when the spin began: last work, or a sleep's end */
	bool slept;          /* a sleep since last_work */
};
#define WEIR_IDLE_LATE_CAP_NS 200000ULL

/* From now on no sleep of idle lasts longer than ns (the smallest cap
 * given wins; 0 changes nothing): for a port that must be polled now and
 * then even with nothing to receive (weir_port_idle_poll_ns). */
void weir_idle_cap(struct weir_idle *idle, uint64_t ns);

/*
 * Makes idle's spin a time budget fitted to the gaps between bursts of work
 * instead of a count of polls (weir-echo: requests at a fixed rate come in
 * bursts 50-150 us apart, and 512 polls after each spun 20-40 us of every
 * gap for nothing, more CPU per request than Linux's blocking server).
 * The budget starts at max_ns. Work that comes within the spin, gap ns
 * after the last, keeps it at least 2 x gap (decaying by 1/8 a time
 * towards that); a spin that runs out halves it, down to min_ns; work that
 * found the loop asleep, gap ns after the last, sets it to 2 x gap when
 * gap < max_ns (a spin would have caught it), else leaves it. So frames
 * that come back at short gaps (one request in flight, saturation) are
 * polled for, and bursts farther apart than max_ns are slept between after
 * a spin of min_ns. min_ns <= max_ns, max_ns > 0; the poll loop passes its
 * clock to weir_idle_should_sleep_at(), or weir_idle_should_sleep() reads it.
 */
void weir_idle_adaptive(struct weir_idle *idle, uint64_t min_ns, uint64_t max_ns);
/*
 * Sets up an idle policy: spin_polls empty polls before a sleep (0:
 * WEIR_IDLE_SPIN_POLLS), sleeps of at most timeout_us (0: 1 ms) in
 * weir_idle_poll(). 0, or -errno when the stop flag's eventfd cannot be
 * made (-EMFILE, -ENFILE, -ENOMEM).
 */
int weir_idle_init(struct weir_idle *idle, uint32_t spin_polls, uint32_t timeout_us);
/* Adds fd to wait on: 0, -EINVAL (fd < 0), -EEXIST, -ENOSPC (full). */
int weir_idle_add_fd(struct weir_idle *idle, int fd);
/*
 * Counts one poll that did `work`: true once spin_polls empty polls came in
 * a row, i.e. the caller should sleep now (weir_idle_sleep), after settling
 * whatever must not wait for the wake-up (counters to publish, completions
 * to reap). The count then starts again. Work unmasks every fd; a spin
 * without work masks the fds that ended the last sleep (see above).
 */
bool weir_idle_should_sleep(struct weir_idle *idle, uint32_t work);
/* weir_idle_should_sleep() for a poll that ran at now (weir_clock_now()):
 * with an adaptive spin, true once the spin's budget has run out since the
 * last work or the end of the last sleep; otherwise the count of polls. */
bool weir_idle_should_sleep_at(struct weir_idle *idle, uint32_t work, uint64_t now);
/* weir_idle_should_sleep(), then a sleep of timeout_us when it says so.
 * Returns 1 when it slept, 0 otherwise. */
int weir_idle_poll(struct weir_idle *idle, uint32_t work);
/*
 * Sleeps now until an fd is readable (or in error), the stop flag is
 * raised, or `ns` nanoseconds have passed. The timeout is ns-grained but
 * runs late by the thread's timer slack or by 0.1% of ns (0.5% when
 * niced), whichever is more (the kernel's rule for poll timeouts): where a
 * deadline must be met to the microsecond, sleep towards it in short
 * sleeps. Masked fds are not waited on, and with any masked the sleep is
 * cut to WEIR_IDLE_MASKED_NS. Counts the sleep; a sleep whose time ran out
 * updates late_ns. Returns 1 when woken by an fd or the stop flag, 0 when
 * the time ran out (or a signal interrupted it).
 */
int weir_idle_sleep(struct weir_idle *idle, uint64_t ns);
void weir_idle_fini(struct weir_idle *idle);

#endif
