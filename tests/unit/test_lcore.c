// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for src/lcore.c, and the small modules with no suite of their
 * own (src/clock.c, src/log.c): lcores launch pinned with their id and are
 * joined with fn's return value; the idle policy spins, then sleeps on its
 * fds and wakes as soon as one becomes readable, and stops waiting on an fd
 * that is readable with nothing to read; SIGINT/SIGTERM set the
 * stop flag and wake every idle sleeper, however long its timeout, as do
 * weir_stop_request() and weir_lcore_join() with the flag set, and
 * weir_stop_wait() returns when it goes up; the clock is
 * monotonic with wrap-safe comparisons; log levels parse and filter.
 *
 * An lcore test also moves packets through a pool cache on each lcore; the
 * suite's fini fails if any of them leaked.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "weir/clock.h"
#include "weir/lcore.h"
#include "weir/log.h"
#include "weir/pkt.h"

static struct weir_pool *pool;

static void init(void)
{
	int err;

	err = weir_pool_create(&(struct weir_pool_conf){.n = 1024, .huge = 2}, &pool);
	cr_assert_eq(err, 0, "pool: %d", err);
	weir_stop = 0;
}

static void fini(void)
{
	uint32_t left;

	for (uint32_t i = 0; i < WEIR_MAX_LCORE; i++)
		weir_pool_cache_flush(pool, i);
	left = weir_pool_in_use(pool);
	weir_pool_destroy(pool);
	if (left) {
		cr_log_error("leaked %u packet buffers", left);
		abort();
	}
}

TestSuite(lcore, .init = init, .fini = fini, .timeout = 30);

struct probe {
	uint32_t id;
	int cpu;
	int allowed; /* CPUs in the thread's affinity mask */
	int ret;
};

static int probe_fn(void *arg)
{
	struct probe *p = arg;
	cpu_set_t set;
	struct weir_pkt *k[16];

	p->id = weir_lcore_id();
	p->cpu = sched_getcpu();
	if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) == 0)
		p->allowed = CPU_COUNT(&set);
	/* Use this lcore's pool cache, then hand everything back. */
	if (weir_pkt_alloc_bulk(pool, k, 16) == 0) {
		weir_pkt_free_bulk(k, 16);
		weir_pool_cache_flush(pool, p->id);
	}
	return p->ret;
}

Test(lcore, launch_pins_sets_id_and_join_returns_value)
{
	int ncpu = weir_lcore_count();
	struct weir_lcore *lc;
	struct probe pr = {.ret = 42};
	int ret = 0;

	cr_assert_geq(ncpu, 1);
	cr_assert_eq(weir_lcore_launch(0, 7, probe_fn, &pr, &lc), 0);
	cr_assert_eq(weir_lcore_join(lc, &ret), 0);
	cr_expect_eq(ret, 42);
	cr_expect_eq(pr.id, 7);
	cr_expect_eq(pr.cpu, 0, "pinned to CPU 0 but ran on %d", pr.cpu);
	cr_expect_eq(pr.allowed, 1, "affinity mask holds %d CPUs", pr.allowed);
	/* Unpinned (-1): the thread keeps the process's mask. */
	pr = (struct probe){.ret = -5};
	cr_assert_eq(weir_lcore_launch(-1, 63, probe_fn, &pr, &lc), 0);
	cr_assert_eq(weir_lcore_join(lc, NULL), 0);
	cr_expect_eq(pr.id, 63);
	cr_expect_eq(pr.allowed, ncpu);
	cr_expect_eq(weir_lcore_id(), WEIR_LCORE_ANY, "the caller's id is untouched");
}

Test(lcore, launch_on_each_cpu)
{
	int ncpu = WEIR_MIN(weir_lcore_count(), 8);
	struct weir_lcore *lc[8];
	struct probe pr[8];
	cpu_set_t set;
	int cpus[8], n = 0;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int c = 0; c < CPU_SETSIZE && n < ncpu; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	for (int i = 0; i < n; i++) {
		pr[i] = (struct probe){.ret = i};
		cr_assert_eq(weir_lcore_launch(cpus[i], (uint32_t)i, probe_fn, &pr[i], &lc[i]), 0);
	}
	for (int i = 0; i < n; i++) {
		int ret;

		cr_assert_eq(weir_lcore_join(lc[i], &ret), 0);
		cr_expect_eq(ret, i);
		cr_expect_eq(pr[i].cpu, cpus[i]);
		cr_expect_eq(pr[i].id, (uint32_t)i);
	}
}

Test(lcore, launch_rejects_bad_arguments)
{
	struct weir_lcore *lc = NULL;
	struct probe pr = {0};

	cr_expect_eq(weir_lcore_launch(0, WEIR_MAX_LCORE, probe_fn, &pr, &lc), -EINVAL);
	cr_expect_eq(weir_lcore_launch(0, 0, NULL, &pr, &lc), -EINVAL);
	cr_expect_eq(weir_lcore_launch(CPU_SETSIZE, 0, probe_fn, &pr, &lc), -EINVAL);
	/* A CPU this process may not run on fails at launch, not silently. */
	cpu_set_t set;
	int absent = -1;
	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int c = CPU_SETSIZE - 1; c >= 0; c--) {
		if (!CPU_ISSET(c, &set)) {
			absent = c;
			break;
		}
	}
	if (absent >= 0) {
		int r = weir_lcore_launch(absent, 1, probe_fn, &pr, &lc);

		cr_expect_lt(r, 0, "launch on CPU %d (not ours) returned %d", absent, r);
		if (r == 0)
			weir_lcore_join(lc, NULL);
	}
	cr_expect_null(lc);
}

Test(lcore, pin_and_set_id_on_the_calling_thread)
{
	cpu_set_t old, now;

	cr_assert_eq(sched_getaffinity(0, sizeof(old), &old), 0);
	cr_expect_eq(weir_lcore_pin(-1), -EINVAL);
	cr_expect_eq(weir_lcore_pin(CPU_SETSIZE), -EINVAL);
	cr_assert_eq(weir_lcore_pin(0), 0);
	cr_assert_eq(pthread_getaffinity_np(pthread_self(), sizeof(now), &now), 0);
	cr_expect_eq(CPU_COUNT(&now), 1);
	cr_expect(CPU_ISSET(0, &now));
	cr_expect_eq(sched_getcpu(), 0);
	sched_setaffinity(0, sizeof(old), &old);
	weir_lcore_set_id(12);
	cr_expect_eq(weir_lcore_id(), 12);
	weir_lcore_set_id(WEIR_LCORE_ANY);
	cr_expect_eq(weir_lcore_id(), WEIR_LCORE_ANY);
}

/* --- idle policy -------------------------------------------------------- */

Test(lcore, idle_spins_then_sleeps_for_the_timeout)
{
	struct weir_idle idle;
	int efd = eventfd(0, EFD_NONBLOCK);
	weir_ns_t t0, dt;

	cr_assert_geq(efd, 0);
	cr_assert_eq(weir_idle_init(&idle, 5, 20000), 0);
	cr_expect_eq(weir_idle_add_fd(&idle, efd), 0);
	cr_expect_eq(weir_idle_add_fd(&idle, -1), -EINVAL);
	cr_expect_eq(weir_idle_add_fd(&idle, efd), -EEXIST);
	for (int i = 0; i < 4; i++)
		cr_expect_eq(weir_idle_poll(&idle, 0), 0, "slept after %d empty polls", i + 1);
	/* Work resets the count. */
	cr_expect_eq(weir_idle_poll(&idle, 3), 0);
	for (int i = 0; i < 4; i++)
		cr_expect_eq(weir_idle_poll(&idle, 0), 0);
	t0 = weir_clock_now();
	cr_expect_eq(weir_idle_poll(&idle, 0), 1);
	dt = weir_clock_now() - t0;
	cr_expect_eq(idle.sleeps, 1);
	cr_expect_geq(dt, 15 * WEIR_NS_PER_MS, "slept %llu ns of 20 ms", (unsigned long long)dt);
	weir_idle_fini(&idle);
	cr_expect_eq(idle.nfds, 0);
	weir_idle_fini(&idle); /* twice is harmless */
	close(efd);
}

struct waker {
	int fd;
	unsigned delay_ms;
	weir_ns_t at;
};

static void *wake_later(void *arg)
{
	struct waker *w = arg;
	uint64_t one = 1;

	usleep(w->delay_ms * 1000);
	w->at = weir_clock_now();
	if (write(w->fd, &one, sizeof(one)) != sizeof(one))
		abort();
	return NULL;
}

Test(lcore, idle_wakes_when_an_fd_becomes_readable)
{
	struct weir_idle idle;
	struct waker w = {.fd = eventfd(0, EFD_NONBLOCK), .delay_ms = 50};
	pthread_t th;
	weir_ns_t t0, woke;

	cr_assert_geq(w.fd, 0);
	/* A 5 s timeout: waking early can only be the fd's doing. */
	cr_assert_eq(weir_idle_init(&idle, 1, 5000000), 0);
	cr_assert_eq(weir_idle_add_fd(&idle, w.fd), 0);
	t0 = weir_clock_now();
	cr_assert_eq(pthread_create(&th, NULL, wake_later, &w), 0);
	cr_expect_eq(weir_idle_poll(&idle, 0), 1);
	woke = weir_clock_now();
	pthread_join(th, NULL);
	cr_expect_lt(woke - t0, 2 * WEIR_NS_PER_SEC, "slept through the wake-up");
	cr_expect_geq(woke, w.at);
	cr_expect_lt(woke - w.at, 500 * WEIR_NS_PER_MS, "woke %llu ns after the write",
		     (unsigned long long)(woke - w.at));
	weir_idle_fini(&idle);
	close(w.fd);
}

Test(lcore, idle_should_sleep_counts_empty_polls_in_a_row)
{
	struct weir_idle idle;

	cr_assert_eq(weir_idle_init(&idle, 3, 0), 0);
	cr_expect_eq(idle.timeout_us, 1000, "default timeout");
	cr_expect_not(weir_idle_should_sleep(&idle, 0));
	cr_expect_not(weir_idle_should_sleep(&idle, 0));
	cr_expect_not(weir_idle_should_sleep(&idle, 1), "work resets the run");
	cr_expect_not(weir_idle_should_sleep(&idle, 0));
	cr_expect_not(weir_idle_should_sleep(&idle, 0));
	cr_expect(weir_idle_should_sleep(&idle, 0), "3 empty polls in a row");
	cr_expect_not(weir_idle_should_sleep(&idle, 0), "the count starts again");
	cr_expect_eq(idle.sleeps, 0, "asking is not sleeping");
	cr_assert_eq(weir_idle_init(&idle, 0, 0), 0);
	cr_expect_eq(idle.spin_polls, WEIR_IDLE_SPIN_POLLS);
}

Test(lcore, idle_sleep_times_out_or_reports_the_fd)
{
	struct weir_idle idle;
	int efd = eventfd(0, EFD_NONBLOCK);
	uint64_t one = 1;
	weir_ns_t t0, dt;

	cr_assert_geq(efd, 0);
	cr_assert_eq(weir_idle_init(&idle, 1, 0), 0);
	cr_assert_eq(weir_idle_add_fd(&idle, efd), 0);
	t0 = weir_clock_now();
	cr_expect_eq(weir_idle_sleep(&idle, 2 * WEIR_NS_PER_MS), 0, "nothing was readable");
	dt = weir_clock_now() - t0;
	cr_expect_geq(dt, 2 * WEIR_NS_PER_MS, "slept %llu ns of 2 ms", (unsigned long long)dt);
	cr_assert_eq(write(efd, &one, sizeof(one)), (ssize_t)sizeof(one));
	t0 = weir_clock_now();
	cr_expect_eq(weir_idle_sleep(&idle, 5 * WEIR_NS_PER_SEC), 1, "the fd was readable");
	cr_expect_lt(weir_clock_now() - t0, WEIR_NS_PER_SEC);
	cr_expect_eq(idle.sleeps, 2);
	weir_idle_fini(&idle);
	close(efd);
}

/* late_ns learns how late short timed-out sleeps wake (never 0: a sleep
 * cannot end early), ignores long ones and fd wake-ups, and is capped. */
Test(lcore, idle_sleep_learns_its_lateness)
{
	struct weir_idle idle;
	uint64_t late;

	cr_assert_eq(weir_idle_init(&idle, 1, 0), 0);
	cr_expect_eq(idle.late_ns, 0);
	for (int i = 0; i < 40; i++)
		weir_idle_sleep(&idle, 100 * WEIR_NS_PER_US);
	late = idle.late_ns;
	cr_expect_gt(late, 0, "40 sleeps of 100 us learned no lateness");
	cr_expect_leq(late, WEIR_IDLE_LATE_CAP_NS);
	/* A 3 ms sleep is not a sample: the average moves only by decay. */
	weir_idle_sleep(&idle, 3 * WEIR_NS_PER_MS);
	cr_expect_eq(idle.late_ns, late, "a long sleep changed late_ns %llu -> %llu",
		     (unsigned long long)late, (unsigned long long)idle.late_ns);
	weir_idle_fini(&idle);
}

/* The bug: AF_PACKET's ring polls readable while weir-fwd holds a block in
 * its delay line, so every sleep returned at once and the lcore spun. */
Test(lcore, regression_fd_readable_without_work_turned_sleeps_into_spins)
{
	struct weir_idle idle;
	int stuck = eventfd(1, EFD_NONBLOCK), other = eventfd(0, EFD_NONBLOCK);
	uint64_t one = 1;
	weir_ns_t t0, dt;

	cr_assert_geq(stuck, 0);
	cr_assert_geq(other, 0);
	cr_assert_eq(weir_idle_init(&idle, 3, 0), 0);
	cr_assert_eq(weir_idle_add_fd(&idle, stuck), 0);
	cr_assert_eq(weir_idle_add_fd(&idle, other), 0);
	cr_expect_eq(weir_idle_sleep(&idle, 5 * WEIR_NS_PER_SEC), 1, "readable: at once");
	cr_expect_eq(idle.woke, 1u);
	/* A whole spin finds nothing: the fd is left out of the next sleeps,
	 * which then last at most WEIR_IDLE_MASKED_NS. */
	cr_expect_not(weir_idle_should_sleep(&idle, 0));
	cr_expect_not(weir_idle_should_sleep(&idle, 0));
	cr_expect(weir_idle_should_sleep(&idle, 0));
	cr_expect_eq(idle.masked, 1u);
	t0 = weir_clock_now();
	cr_expect_eq(weir_idle_sleep(&idle, 5 * WEIR_NS_PER_SEC), 0, "the stuck fd still woke it");
	dt = weir_clock_now() - t0;
	cr_expect_geq(dt, WEIR_IDLE_MASKED_NS * 9 / 10, "slept %llu ns", (unsigned long long)dt);
	cr_expect_lt(dt, 200 * WEIR_NS_PER_MS, "slept %llu ns, not cut", (unsigned long long)dt);
	/* The other fd still wakes a sleep. */
	cr_assert_eq(write(other, &one, sizeof(one)), (ssize_t)sizeof(one));
	cr_expect_eq(weir_idle_sleep(&idle, 5 * WEIR_NS_PER_SEC), 1);
	cr_expect_eq(idle.woke, 2u);
	/* Work: every fd is waited on again. */
	cr_expect_not(weir_idle_should_sleep(&idle, 1));
	cr_expect_eq(idle.masked, 0u);
	t0 = weir_clock_now();
	cr_expect_eq(weir_idle_sleep(&idle, 5 * WEIR_NS_PER_SEC), 1);
	cr_expect_lt(weir_clock_now() - t0, 100 * WEIR_NS_PER_MS);
	close(stuck);
	close(other);
}

#define US WEIR_NS_PER_US

/* The adaptive spin on a clock of the test's own (weir_idle_should_sleep_at):
 * a budget in time, not polls, that short gaps keep and long ones shrink. */
Test(lcore, idle_adaptive_spin_fits_the_gaps_between_work)
{
	struct weir_idle idle;
	uint64_t t;

	cr_assert_eq(weir_idle_init(&idle, 3, 0), 0);
	weir_idle_adaptive(&idle, 2 * US, 50 * US);
	cr_expect_eq(idle.spin_ns, 50 * US, "starts at the longest spin");
	t = idle.last_work + 1000 * US;
	cr_expect_not(weir_idle_should_sleep_at(&idle, 1, t));
	/* Many more than spin_polls empty polls: the time is what counts. */
	for (int i = 0; i < 100; i++)
		cr_expect_not(weir_idle_should_sleep_at(&idle, 0, t + 1 * US + (uint64_t)i * 100),
			      "slept %d polls into a 50 us spin", i + 1);
	/* Work 10 us after the last, within the spin: the budget stays. */
	t += 10 * US;
	cr_expect_not(weir_idle_should_sleep_at(&idle, 1, t));
	cr_expect_eq(idle.spin_ns, 50 * US - 50 * US / 8, "a hit decays the budget by 1/8");
	cr_expect_not(weir_idle_should_sleep_at(&idle, 0, t + 43 * US));
	cr_expect(weir_idle_should_sleep_at(&idle, 0, t + 44 * US), "the budget ran out");
	cr_expect_eq(idle.spin_ns, (50 * US - 50 * US / 8) / 2, "a miss halves it");
	/* A sleep that times out: asked again at once, it sleeps again, and
	 * each miss halves the budget down to the shortest spin. */
	cr_expect_eq(weir_idle_sleep(&idle, 1 * US), 0);
	cr_expect(idle.slept);
	for (int i = 0; i < 8; i++)
		cr_expect(weir_idle_should_sleep_at(&idle, 0, t + 50 * US), "spun after a timeout");
	cr_expect_eq(idle.spin_ns, 2 * US, "never below the shortest spin");
	/* Work that found it asleep 30 us after the last: a 60 us spin would
	 * have caught it, clamped to the longest. */
	cr_expect_not(weir_idle_should_sleep_at(&idle, 1, t + 30 * US));
	cr_expect_eq(idle.spin_ns, 50 * US);
	cr_expect_not(idle.slept);
	/* A hit decays the budget towards twice its gap, never below it. */
	t += 30 * US;
	cr_expect_not(weir_idle_should_sleep_at(&idle, 0, t + 20 * US));
	cr_expect_not(weir_idle_should_sleep_at(&idle, 1, t + 20 * US));
	cr_expect_eq(idle.spin_ns, 43750, "7/8 of 50 us is above 2 x 20 us");
	cr_expect_not(weir_idle_should_sleep_at(&idle, 0, t + 21 * US));
	cr_expect_not(weir_idle_should_sleep_at(&idle, 1, t + 44 * US));
	cr_expect_eq(idle.spin_ns, 48 * US, "2 x 24 us is above 7/8 of 43.75 us");
	t += 44 * US;
	/* Bursts far apart: spin, miss, sleep; work 200 us on leaves the
	 * shrunk budget alone, so the next gap is slept through too. */
	cr_expect(weir_idle_should_sleep_at(&idle, 0, t + 50 * US));
	weir_idle_sleep(&idle, 1 * US);
	cr_expect_not(weir_idle_should_sleep_at(&idle, 1, t + 200 * US));
	cr_expect_eq(idle.spin_ns, 24 * US);
	cr_expect(weir_idle_should_sleep_at(&idle, 0, t + 224 * US));
	cr_expect_eq(idle.spin_ns, 12 * US);
	weir_idle_fini(&idle);
}

/* An fd that ends a sleep starts the spin again from the wake-up (the work
 * is on its way), and weir_idle_should_sleep() reads the clock itself. */
Test(lcore, idle_adaptive_spin_restarts_when_an_fd_wakes_it)
{
	struct weir_idle idle;
	int efd = eventfd(1, EFD_NONBLOCK);
	uint64_t before;

	cr_assert_geq(efd, 0);
	cr_assert_eq(weir_idle_init(&idle, 3, 0), 0);
	cr_assert_eq(weir_idle_add_fd(&idle, efd), 0);
	weir_idle_adaptive(&idle, 1 * US, 20 * US);
	cr_expect(weir_idle_should_sleep_at(&idle, 0, idle.last_work + 20 * US));
	before = weir_clock_now();
	cr_expect_eq(weir_idle_sleep(&idle, 5 * WEIR_NS_PER_SEC), 1, "the fd was readable");
	cr_expect_geq(idle.spin_from, before);
	cr_expect_not(weir_idle_should_sleep_at(&idle, 0, idle.spin_from + 9 * US),
		      "no spin after the wake-up");
	cr_expect(weir_idle_should_sleep_at(&idle, 0, idle.spin_from + 10 * US));
	/* A spin of 1 s, on the real clock: the first polls do not sleep. */
	weir_idle_adaptive(&idle, WEIR_NS_PER_SEC, WEIR_NS_PER_SEC);
	cr_expect_not(weir_idle_should_sleep(&idle, 0));
	cr_expect_not(weir_idle_should_sleep(&idle, 0));
	weir_idle_fini(&idle);
	close(efd);
}

/* An lcore that sleeps with a 30 s timeout until the stop flag is up. */
static int sleep_until_stop(void *arg)
{
	struct weir_idle *idle = arg;
	sigset_t set;

	/* The signal tests must wake this thread through the eventfd, not by
	 * interrupting its ppoll: let another thread take the signal. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (weir_idle_init(idle, 1, 0) < 0)
		return -1;
	while (!weir_should_stop())
		weir_idle_sleep(idle, 30 * WEIR_NS_PER_SEC);
	return 0;
}

/* Starts sleep_until_stop, lets it fall asleep, runs `stop`, and returns
 * how long the lcore took to end after that. */
static weir_ns_t time_to_stop(void (*stop)(void))
{
	static struct weir_idle idle;
	struct weir_lcore *lc;
	weir_ns_t t0;
	int ret = 1;

	cr_assert_eq(weir_lcore_launch(-1, 3, sleep_until_stop, &idle, &lc), 0);
	usleep(50000);
	t0 = weir_clock_now();
	stop();
	cr_assert_eq(weir_lcore_join(lc, &ret), 0);
	cr_expect_eq(ret, 0);
	cr_expect_geq(idle.sleeps, 1, "the lcore never slept");
	return weir_clock_now() - t0;
}

static void stop_by_request(void)
{
	weir_stop_request();
}

static void stop_by_sigint(void)
{
	kill(getpid(), SIGINT);
}

static void stop_by_assignment(void)
{
	weir_stop = 1;
}

Test(lcore, stop_request_wakes_a_sleeping_lcore)
{
	weir_ns_t dt = time_to_stop(stop_by_request);

	cr_expect(weir_should_stop());
	cr_expect_lt(dt, 500 * WEIR_NS_PER_MS, "took %llu ns", (unsigned long long)dt);
}

Test(lcore, sigint_wakes_an_lcore_sleeping_with_no_timeout)
{
	weir_ns_t dt;

	weir_signal_install();
	dt = time_to_stop(stop_by_sigint);
	cr_expect(weir_should_stop());
	cr_expect_lt(dt, 500 * WEIR_NS_PER_MS, "took %llu ns", (unsigned long long)dt);
	signal(SIGINT, SIG_DFL);
}

Test(lcore, join_wakes_an_lcore_when_the_flag_was_set_directly)
{
	weir_ns_t dt = time_to_stop(stop_by_assignment);

	cr_expect_lt(dt, 500 * WEIR_NS_PER_MS, "took %llu ns", (unsigned long long)dt);
}

static int request_stop_later(void *arg)
{
	(void)arg;
	usleep(50000);
	weir_stop_request();
	return 0;
}

Test(lcore, stop_wait_times_out_or_returns_when_the_flag_goes_up)
{
	struct weir_lcore *lc;
	weir_ns_t t0 = weir_clock_now(), dt;

	cr_expect_not(weir_stop_wait(5 * WEIR_NS_PER_MS));
	dt = weir_clock_now() - t0;
	cr_expect_geq(dt, 5 * WEIR_NS_PER_MS, "waited %llu ns of 5 ms", (unsigned long long)dt);
	cr_assert_eq(weir_lcore_launch(-1, 4, request_stop_later, NULL, &lc), 0);
	t0 = weir_clock_now();
	cr_expect(weir_stop_wait(30 * WEIR_NS_PER_SEC));
	dt = weir_clock_now() - t0;
	cr_expect_lt(dt, 500 * WEIR_NS_PER_MS, "took %llu ns", (unsigned long long)dt);
	cr_assert_eq(weir_lcore_join(lc, NULL), 0);
	cr_expect(weir_stop_wait(30 * WEIR_NS_PER_SEC), "a raised flag returns at once");
	/* Cleared again: the old wake-up is drained, waits last. */
	weir_stop = 0;
	weir_stop_wait(WEIR_NS_PER_MS);
	t0 = weir_clock_now();
	cr_expect_not(weir_stop_wait(20 * WEIR_NS_PER_MS));
	cr_expect_geq(weir_clock_now() - t0, 15 * WEIR_NS_PER_MS);
}

Test(lcore, a_cleared_stop_flag_does_not_cut_later_sleeps_short)
{
	struct weir_idle idle;
	weir_ns_t t0, dt;

	cr_assert_eq(weir_idle_init(&idle, 1, 0), 0);
	weir_stop_request();
	cr_expect_eq(weir_idle_sleep(&idle, 5 * WEIR_NS_PER_SEC), 1, "stop wakes at once");
	weir_stop = 0;
	/* The first sleep may find the old wake-up and drain it; the next
	 * one must last. */
	weir_idle_sleep(&idle, WEIR_NS_PER_MS);
	t0 = weir_clock_now();
	cr_expect_eq(weir_idle_sleep(&idle, 20 * WEIR_NS_PER_MS), 0);
	dt = weir_clock_now() - t0;
	cr_expect_geq(dt, 15 * WEIR_NS_PER_MS, "slept %llu ns of 20 ms", (unsigned long long)dt);
}

/* --- stop flag ---------------------------------------------------------- */

Test(lcore, signals_set_the_stop_flag)
{
	weir_stop = 0;
	weir_signal_install();
	cr_expect_not(weir_should_stop());
	raise(SIGINT);
	cr_expect(weir_should_stop(), "SIGINT did not set the stop flag");
	weir_stop = 0;
	raise(SIGTERM);
	cr_expect(weir_should_stop(), "SIGTERM did not set the stop flag");
	weir_stop = 0;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

static int loop_until_stop(void *arg)
{
	uint64_t *spins = arg;

	while (!weir_should_stop())
		(*spins)++;
	return 0;
}

Test(lcore, a_running_lcore_sees_the_stop_flag)
{
	struct weir_lcore *lc;
	uint64_t spins = 0;

	weir_signal_install();
	cr_assert_eq(weir_lcore_launch(-1, 2, loop_until_stop, &spins, &lc), 0);
	usleep(20000);
	kill(getpid(), SIGTERM);
	cr_assert_eq(weir_lcore_join(lc, NULL), 0);
	cr_expect_gt(spins, 0);
	weir_stop = 0;
	signal(SIGTERM, SIG_DFL);
}

/* --- clock -------------------------------------------------------------- */

/* The out-of-line weir_clock_now that src/ffi.c exports, by symbol name. */
weir_ns_t ffi_clock_now(void) __asm__("weir_clock_now");

Test(clock, monotonic_and_wrap_safe)
{
	weir_ns_t a = weir_clock_now(), b, c;

	b = ffi_clock_now();
	cr_expect_geq(b, a);
	cr_expect(weir_time_after(a + 1, a));
	cr_expect_not(weir_time_after(a, a));
	cr_expect_not(weir_time_after(a, a + 1));
	/* Across the 64-bit wrap. */
	cr_expect(weir_time_after(5, UINT64_MAX - 5));
	cr_expect_not(weir_time_after(UINT64_MAX - 5, 5));
	c = weir_clock_now();
	weir_clock_spin_until(c + 2 * WEIR_NS_PER_MS);
	cr_expect_geq(weir_clock_now() - c, 2 * WEIR_NS_PER_MS);
	weir_clock_spin_until(c); /* the past returns at once */
	/* Realtime is a date after 2020. */
	cr_expect_gt(weir_clock_realtime(), 1577836800ULL * WEIR_NS_PER_SEC);
}

/* --- log ---------------------------------------------------------------- */

Test(log, parse_levels)
{
	enum weir_log_level l;

	cr_expect_eq(weir_log_parse_level("error", &l), 0);
	cr_expect_eq(l, WEIR_LOG_ERR);
	cr_expect_eq(weir_log_parse_level("WARN", &l), 0);
	cr_expect_eq(l, WEIR_LOG_WARN);
	cr_expect_eq(weir_log_parse_level("info", &l), 0);
	cr_expect_eq(l, WEIR_LOG_INFO);
	cr_expect_eq(weir_log_parse_level("Debug", &l), 0);
	cr_expect_eq(l, WEIR_LOG_DEBUG);
	l = WEIR_LOG_INFO;
	cr_expect_eq(weir_log_parse_level("verbose", &l), -EINVAL);
	cr_expect_eq(weir_log_parse_level("", &l), -EINVAL);
	cr_expect_eq(l, WEIR_LOG_INFO, "unchanged on error");
}

static void redirect(void)
{
	cr_redirect_stderr();
}

Test(log, filters_by_level_and_prefixes, .init = redirect)
{
	weir_log_set_level(WEIR_LOG_WARN);
	cr_expect_eq(weir_log_get_level(), WEIR_LOG_WARN);
	WEIR_DEBUG("hidden %d", 1);
	WEIR_INFO("hidden %d", 2);
	WEIR_WARN("careful %d", 3);
	WEIR_ERR("broken %s", "pipe");
	weir_log_set_level(WEIR_LOG_DEBUG);
	WEIR_DEBUG("seen");
	fflush(stderr);
	cr_expect_stderr_eq_str("weir: warning: careful 3\nweir: error: broken pipe\n"
				"weir: debug: seen\n");
}

Test(log, long_lines_are_cut_not_overrun, .init = redirect)
{
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	weir_log_set_level(WEIR_LOG_INFO);
	weir_log(WEIR_LOG_INFO, "%s", big);
	fflush(stderr);
	FILE *f = cr_get_redirected_stderr();
	char line[4096];
	cr_assert_not_null(fgets(line, sizeof(line), f));
	cr_expect_eq(strlen(line), 1023, "line length %zu", strlen(line));
	cr_expect_eq(line[strlen(line) - 1], '\n');
}
