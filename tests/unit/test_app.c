// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for apps/common/app.c, the app harness: the shared options
 * (app_base_set), and app_main's contract with a small fake app on a pool
 * and no ports: --help exits 0, bad usage 1, a failed setup or lcore 2
 * (no summary), a buffer still out of the pool 3 (with "leaked" in the
 * --json summary), and a clean run 0 with the app's summary on stdout, its
 * lcores run once each; and its signals (common/signals.c): the first
 * raises the stop flag, a second exits at once with 128 + the signal.
 * Criterion runs each test in its own process: app_main's stop flag and
 * signal handlers do not leak between tests.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/lcore.h"
#include "weir/pkt.h"
#include "weir/pool.h"

#include "common/app.h"

/* --- app_base_set -------------------------------------------------------- */

Test(app, base_set_parses_the_shared_options)
{
	struct app_base b = {0};
	char why[256];

	cr_expect_eq(app_base_set(&b, "queues", "4", why, sizeof(why)), 0);
	cr_expect_eq(b.queues, 4);
	cr_expect_eq(app_base_set(&b, "burst", "64", why, sizeof(why)), 0);
	cr_expect_eq(b.burst, 64);
	cr_expect_eq(app_base_set(&b, "pool", "8k", why, sizeof(why)), 0);
	cr_expect_eq(b.pool_size, 8000);
	cr_expect_eq(app_base_set(&b, "seed", "18446744073709551615", why, sizeof(why)), 0);
	cr_expect_eq(b.seed, UINT64_MAX);
	cr_expect_eq(app_base_set(&b, "duration", "1.5s", why, sizeof(why)), 0);
	cr_expect_eq(b.duration, 1500 * WEIR_NS_PER_MS);
	cr_expect_eq(app_base_set(&b, "cores", "0,2-3", why, sizeof(why)), 0);
	cr_expect_eq(b.ncpus, 3);
	cr_expect_eq(b.cpus[2], 3);
	cr_expect_eq(app_base_set(&b, "json", NULL, why, sizeof(why)), 0);
	cr_expect_eq(app_base_set(&b, "live", NULL, why, sizeof(why)), 0);
	cr_expect_eq(app_base_set(&b, "quiet", NULL, why, sizeof(why)), 0);
	cr_expect(b.json && b.live && b.quiet);
	cr_expect_eq(app_base_set(&b, "log-level", "warn", why, sizeof(why)), 0);
	cr_expect_eq(app_base_set(&b, "port", "null:", why, sizeof(why)), 1,
		     "an app's own option is not the harness'");
}

Test(app, base_set_says_what_is_wrong)
{
	struct app_base b = {.queues = 1, .burst = 32, .pool_size = 2048};
	char why[256];

	cr_expect_eq(app_base_set(&b, "queues", "33", why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "out of range") && strstr(why, "1..32"), "%s", why);
	cr_expect_eq(app_base_set(&b, "burst", "0", why, sizeof(why)), -EINVAL);
	cr_expect_eq(app_base_set(&b, "pool", "1000", why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "1024.."), "%s", why);
	cr_expect_eq(app_base_set(&b, "log-level", "loud", why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "error, warn, info, debug"), "%s", why);
	cr_expect_eq(b.queues, 1, "a refused value leaves the setting alone");
	cr_expect_eq(b.burst, 32);
	cr_expect_eq(b.pool_size, 2048);
}

/* Regression: --config hands inih's line buffer to the setter, and the
 * stats socket kept that pointer (bound a garbage path). */
Test(app, regression_stats_socket_kept_the_line_buffer)
{
	struct app_base b = {0};
	char line[64] = "/tmp/weir-test.sock", why[128];

	cr_assert_eq(app_base_set(&b, "stats-socket", line, why, sizeof(why)), 0);
	memset(line, 'x', sizeof(line) - 1);
	cr_expect_str_eq(b.stats_socket, "/tmp/weir-test.sock");
	free(b.stats_socket);
}

/* --- app_main with a fake app ------------------------------------------- */

struct fake_lcore {
	struct fake *f;
	uint16_t q;
};

struct fake {
	struct app_base base;
	bool fail, leak, lcore_fails;
	struct weir_pkt *kept; /* the leaked buffer */
	_Atomic int ran;
	struct fake_lcore lcores[APP_MAX_LCORES];
	int torn_down;
};

static const struct app_opt fake_opts[] = {
	{"fail", 0, NULL, "setup fails"},
	{"leak", 0, NULL, "an lcore keeps a buffer"},
	{"lcore-fails", 0, NULL, "an lcore returns an error"},
	{"queues", 'q', "N", "lcores"},
	{"cores", 'c', "LIST", "CPUs"},
	{"duration", 't', "TIME", "run time"},
	{"json", 'j', NULL, "JSON summary"},
	{"quiet", 0, NULL, "no live line"},
	{NULL, 0, NULL, NULL},
};

static int fake_set(void *ctx, const char *name, const char *val, char *why, size_t len)
{
	struct fake *f = ctx;

	(void)val, (void)why, (void)len;
	if (!strcmp(name, "fail"))
		f->fail = true;
	else if (!strcmp(name, "leak"))
		f->leak = true;
	else if (!strcmp(name, "lcore-fails"))
		f->lcore_fails = true;
	return 0;
}

static const struct app_cli fake_cli = {
	.prog = "fake", .section = "fake", .synopsis = "fake [OPTIONS]",
	.about = "A test app.", .footer = "", .opts = fake_opts, .set = fake_set,
};

static int fake_setup(void *ctx)
{
	struct fake *f = ctx;

	if (f->fail) {
		fprintf(stderr, "fake: setup fails\n");
		return -EIO;
	}
	return weir_pool_create(&(struct weir_pool_conf){.name = "fake", .n = 1024}, &f->base.pool);
}

static void fake_teardown(void *ctx)
{
	((struct fake *)ctx)->torn_down++;
}

static int fake_lcore_main(void *arg)
{
	struct fake_lcore *lc = arg;

	atomic_fetch_add(&lc->f->ran, 1);
	if (lc->f->leak && lc->q == 0)
		lc->f->kept = weir_pkt_alloc(lc->f->base.pool);
	return lc->f->lcore_fails && lc->q == 1 ? -ENOMEM : 0;
}

static void *fake_lcore_arg(void *ctx, uint16_t q)
{
	struct fake *f = ctx;

	f->lcores[q] = (struct fake_lcore){.f = f, .q = q};
	return &f->lcores[q];
}

static void fake_totals(void *ctx, void *out)
{
	*(int *)out = atomic_load(&((struct fake *)ctx)->ran);
}

static void fake_live(void *ctx, const void *prev, const void *cur, double dt)
{
	(void)ctx, (void)prev, (void)cur, (void)dt;
}

static void fake_json(FILE *o, void *ctx)
{
	fprintf(o, "{\"app\":\"fake\",\"ran\":%d}", atomic_load(&((struct fake *)ctx)->ran));
}

static void fake_summary(FILE *o, void *ctx)
{
	fprintf(o, "fake: %d lcores ran\n", atomic_load(&((struct fake *)ctx)->ran));
}

static const struct app_def fake_def = {
	.cli = &fake_cli,
	.setup = fake_setup,
	.teardown = fake_teardown,
	.lcore_main = fake_lcore_main,
	.lcore_arg = fake_lcore_arg,
	.totals_size = sizeof(int),
	.totals = fake_totals,
	.live = fake_live,
	.json = fake_json,
	.summary = fake_summary,
};

static struct fake fake;

static int run(int argc, char **argv)
{
	memset(&fake, 0, sizeof(fake));
	fake.base.queues = 1;
	fake.base.burst = 32;
	return app_main(&fake_def, &fake.base, &fake, argc, argv);
}

#define RUN(...)                                                     \
	({                                                           \
		char *argv_[] = {"fake", __VA_ARGS__, NULL};         \
		run((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_); \
	})

Test(app, help_exits_0_and_tears_down, .init = cr_redirect_stdout)
{
	cr_expect_eq(RUN("--help"), APP_EXIT_OK);
	cr_expect_eq(fake.torn_down, 1);
	cr_expect_eq(atomic_load(&fake.ran), 0, "--help runs nothing");
}

Test(app, bad_usage_exits_1, .init = cr_redirect_stderr)
{
	cr_expect_eq(RUN("--bogus"), APP_EXIT_USAGE);
	cr_expect_eq(RUN("--queues", "2", "--cores", "0"), APP_EXIT_USAGE,
		     "two lcores, one CPU");
	cr_expect_eq(RUN("--cores", "999"), APP_EXIT_USAGE);
	cr_expect_eq(atomic_load(&fake.ran), 0);
}

Test(app, failed_setup_exits_2, .init = cr_redirect_stderr)
{
	cr_expect_eq(RUN("--fail", "-t", "10ms"), APP_EXIT_FAIL);
	cr_expect_eq(fake.torn_down, 1, "teardown runs after a failed setup");
	cr_expect_eq(atomic_load(&fake.ran), 0);
}

Test(app, clean_run_exits_0_with_the_summary, .init = cr_redirect_stdout)
{
	cr_expect_eq(RUN("-q", "3", "-t", "10ms", "--quiet"), APP_EXIT_OK);
	cr_expect_eq(atomic_load(&fake.ran), 3, "one lcore per queue");
	fflush(stdout);
	cr_expect_stdout_eq_str("fake: 3 lcores ran\n");
}

/* A buffer out of the pool at exit: exit 3, "leaked": 1 in the JSON. */
Test(app, leaked_buffer_exits_3, .init = cr_redirect_stdout)
{
	cr_redirect_stderr();
	cr_expect_eq(RUN("--leak", "-t", "10ms", "--json", "--quiet"), APP_EXIT_LEAK);
	fflush(stdout);
	cr_expect_stdout_eq_str("{\"app\":\"fake\",\"ran\":1,\"leaked\":1}\n");
}

/* An engine's error is a runtime failure: exit 2 and no summary. */
Test(app, failed_lcore_exits_2_without_summary, .init = cr_redirect_stdout)
{
	cr_redirect_stderr();
	cr_expect_eq(RUN("--lcore-fails", "-q", "2", "-t", "10ms", "--quiet"), APP_EXIT_FAIL);
	cr_expect_eq(atomic_load(&fake.ran), 2);
	fflush(stdout);
	fflush(stderr);
	cr_expect_stdout_eq_str("");
	cr_expect_stderr_eq_str("fake: lcore 1 failed: Cannot allocate memory\n");
}

/* In a child (the second signal ends the process): the first signal only
 * raises the stop flag, the second exits with 128 + the signal and removes
 * the telemetry socket file it was told of. */
Test(app, a_second_signal_exits_at_once_with_128_plus_its_number)
{
	const int sigs[] = {SIGINT, SIGTERM};

	for (int i = 0; i < 2; i++) {
		char path[] = "/tmp/weir-test-sig-XXXXXX";
		int fd = mkstemp(path), st;
		pid_t pid;

		cr_assert_geq(fd, 0);
		close(fd);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (!pid) {
			app_signals_install("test");
			app_signals_socket(path);
			raise(sigs[i]);
			if (!weir_should_stop() || access(path, F_OK))
				_exit(1); /* the first one must only ask for the stop */
			raise(sigs[i]);
			_exit(2);
		}
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		cr_assert(WIFEXITED(st), "killed by %d", WTERMSIG(st));
		cr_assert_eq(WEXITSTATUS(st), 128 + sigs[i]);
		cr_assert_neq(access(path, F_OK), 0, "%s was left behind", path);
		unlink(path);
	}
}
