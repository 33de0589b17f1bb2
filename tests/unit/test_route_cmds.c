// SPDX-License-Identifier: BSD-3-Clause
/*
 * Route commands (apps/common/route_cmds.c) as the telemetry thread runs
 * them against stacks owned by other threads: answers of show, add, del
 * and get; a change reaches every stack; a stack whose lcore never polls
 * costs a late error and leaves no request behind (nor a readable
 * eventfd); after close, commands are refused at once; bad input. The
 * suite's fini fails if a packet buffer leaked.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/route.h"
#include "weir/stack.h"

#include "common/route_cmds.h"
#include "stack_helpers.h"

static void init(void)
{
	t_pool_init(256);
}

static void fini(void)
{
	t_pool_fini();
}

TestSuite(route_cmds, .init = init, .fini = fini, .timeout = 60);

/* An lcore: polls its mailbox until told to stop. */
struct owner {
	struct app_route_cmds *rc;
	uint16_t idx;
	struct weir_stack *st;
	atomic_bool stop;
	int ran;
	pthread_t th;
};

static void *owner_main(void *arg)
{
	struct owner *o = arg;

	while (!atomic_load(&o->stop)) {
		struct pollfd pfd = {.fd = app_route_cmds_fd(o->rc, o->idx), .events = POLLIN};

		poll(&pfd, 1, 10);
		o->ran += app_route_cmds_poll(o->rc, o->idx, o->st);
	}
	return NULL;
}

static void owner_start(struct owner *o, struct app_route_cmds *rc, uint16_t idx)
{
	o->rc = rc;
	o->idx = idx;
	o->st = t_stack();
	o->ran = 0;
	atomic_store(&o->stop, false);
	cr_assert_eq(pthread_create(&o->th, NULL, owner_main, o), 0);
}

static void owner_stop(struct owner *o)
{
	atomic_store(&o->stop, true);
	pthread_join(o->th, NULL);
}

/* The answer to cmd, in a static buffer. */
static const char *run(struct app_route_cmds *rc, const char *cmd)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	cr_assert_not_null(f);
	app_route_cmds_run(rc, cmd, f);
	fclose(f);
	return buf;
}

Test(route_cmds, show_add_get_del)
{
	struct app_route_cmds *rc;
	struct owner o;
	const char *r;

	cr_assert_eq(app_route_cmds_create(1, &rc), 0);
	owner_start(&o, rc, 0);
	r = run(rc, "show");
	cr_expect(strstr(r, "{\"count\":1,\"routes\":[{\"dst\":\"10.0.0.0/24\",\"dev\":\"eth0\","
			    "\"gateway\":null}]}") != NULL, "%s", r);
	r = run(rc, "add 10.9.0.0/16 via 10.0.0.254");
	cr_expect_str_eq(r, "{\"ok\":true,\"cmd\":\"add 10.9.0.0/16 via 10.0.0.254\",\"stacks\":1}");
	r = run(rc, "  get 10.9.3.4");
	cr_expect(strstr(r, "\"route\":\"10.9.0.0/16\",\"dev\":\"eth0\",\"gateway\":\"10.0.0.254\","
			    "\"nexthop\":\"10.0.0.254\",\"src\":\"10.0.0.1\",\"neigh\":\"NONE\","
			    "\"lladdr\":null") != NULL, "%s", r);
	cr_expect(strstr(r, "\"text\":\"10.9.3.4 via 10.0.0.254 dev eth0 src 10.0.0.1\"") != NULL,
		  "%s", r);
	r = run(rc, "show");
	cr_expect(strstr(r, "\"count\":2") && strstr(r, "\"gateway\":\"10.0.0.254\""), "%s", r);
	r = run(rc, "del 10.9.0.0/16");
	cr_expect(strstr(r, "\"ok\":true") != NULL, "%s", r);
	r = run(rc, "get 10.9.3.4");
	cr_expect(strstr(r, "{\"error\":\"10.9.3.4: no route") == r, "%s", r);
	r = run(rc, "get 10.0.0.77");
	cr_expect(strstr(r, "\"gateway\":null,\"nexthop\":\"10.0.0.77\"") != NULL, "%s", r);
	owner_stop(&o);
	cr_expect_eq(o.ran, 7, "one run on the owner per command (ran %d)", o.ran);
	cr_expect_eq(weir_route_count(weir_stack_routes(o.st)), 1);
	weir_stack_destroy(o.st);
	app_route_cmds_destroy(rc);
}

Test(route_cmds, a_change_reaches_every_stack)
{
	struct app_route_cmds *rc;
	struct owner o[3];
	struct weir_route r;
	const char *a;

	cr_assert_eq(app_route_cmds_create(3, &rc), 0);
	for (uint16_t i = 0; i < 3; i++)
		owner_start(&o[i], rc, i);
	a = run(rc, "add default via 10.0.0.254");
	cr_expect(strstr(a, "\"stacks\":3") != NULL, "%s", a);
	a = run(rc, "add default via 10.0.0.253");
	cr_expect(strstr(a, "exists") != NULL, "refused by every stack alike: %s", a);
	a = run(rc, "get 1.1.1.1");
	cr_expect(strstr(a, "\"gateway\":\"10.0.0.254\"") != NULL, "%s", a);
	cr_expect(strstr(a, "\"stacks\":[\"NONE\",\"NONE\",\"NONE\"]") != NULL, "%s", a);
	a = run(rc, "show");
	cr_expect(strstr(a, "\"count\":2") != NULL, "%s", a);
	for (uint16_t i = 0; i < 3; i++) {
		owner_stop(&o[i]);
		cr_expect_eq(weir_route_find(weir_stack_routes(o[i].st), 0, 0, &r), 0, "stack %u", i);
		cr_expect_eq(r.gateway, IP(10, 0, 0, 254));
		weir_stack_destroy(o[i].st);
	}
	cr_expect_eq(o[0].ran, 4);
	cr_expect_eq(o[1].ran, 3, "show goes to the first stack only");
	app_route_cmds_destroy(rc);
}

Test(route_cmds, an_lcore_that_never_polls_costs_a_late_error)
{
	struct app_route_cmds *rc;
	struct weir_stack *st = t_stack();
	struct pollfd pfd;
	const char *a;

	cr_assert_eq(app_route_cmds_create(1, &rc), 0);
	a = run(rc, "add 10.9.0.0/16 via 10.0.0.254");
	cr_expect(strstr(a, "did not answer within 1 s") != NULL, "%s", a);
	/* Taken back: the lcore, were it to wake now, finds nothing to run,
	 * and nothing keeps waking it. */
	pfd = (struct pollfd){.fd = app_route_cmds_fd(rc, 0), .events = POLLIN};
	cr_expect_eq(poll(&pfd, 1, 0), 0, "the eventfd stays readable");
	cr_expect_eq(app_route_cmds_poll(rc, 0, st), 0);
	cr_expect_eq(weir_route_count(weir_stack_routes(st)), 1, "the change never ran");
	weir_stack_destroy(st);
	app_route_cmds_destroy(rc);
}

Test(route_cmds, closed_and_bad_input)
{
	struct app_route_cmds *rc;
	struct owner o;
	const char *a;

	cr_assert_eq(app_route_cmds_create(1, &rc), 0);
	cr_expect_eq(app_route_cmds_create(0, &rc), -EINVAL);
	cr_expect_eq(app_route_cmds_create(33, &rc), -EINVAL);
	owner_start(&o, rc, 0);
	a = run(rc, "get 10.0.0.300");
	cr_expect(strstr(a, "not an IPv4 address: 10.0.0.300") != NULL, "%s", a);
	a = run(rc, "get");
	cr_expect(strstr(a, "not an IPv4 address: (none)") != NULL, "%s", a);
	a = run(rc, "flush");
	cr_expect(strstr(a, "{\"error\":\"usage: route show") == a, "%s", a);
	a = run(rc, "add 10.9.0.0/16 via 192.168.7.1");
	cr_expect(strstr(a, "not on a connected subnet") != NULL, "%s", a);
	a = run(rc, "add 10.9.0.0/16 via \"quoted\\");
	cr_expect(strstr(a, "{\"error\":") == a, "escaped: %s", a);
	app_route_cmds_close(rc);
	a = run(rc, "show");
	cr_expect(strstr(a, "have stopped") != NULL, "%s", a);
	owner_stop(&o);
	cr_expect_eq(o.ran, 2, "only the two adds reached the lcore (ran %d)", o.ran);
	cr_expect_eq(weir_route_count(weir_stack_routes(o.st)), 1);
	weir_stack_destroy(o.st);
	app_route_cmds_destroy(rc);
}
