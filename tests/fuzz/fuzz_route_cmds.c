// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: the route commands of the telemetry socket
 * (apps/common/route_cmds.c, with the stack's route parser behind it), as a
 * client's request lines reach them. The input is split into lines; each
 * one is run as the words after "route" against a stack owned by another
 * thread, as an lcore owns it in an app.
 *
 * Properties beyond "does not crash": every answer is one well-formed JSON
 * object (strings closed and escaped, brackets balanced); the table never
 * holds more routes than were added; a stack whose owner thread polls
 * always answers (no "did not answer" error). The stack is made anew for
 * every input.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pool.h"
#include "weir/route.h"
#include "weir/stack.h"

#include "common/route_cmds.h"
#include "json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct weir_pool *pool;
static struct app_route_cmds *rc;
static struct weir_stack *st;
static pthread_mutex_t st_mu = PTHREAD_MUTEX_INITIALIZER;

/* The lcore: runs what the mailbox holds on the current stack. */
static void *owner(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd pfd = {.fd = app_route_cmds_fd(rc, 0), .events = POLLIN};

		poll(&pfd, 1, 10);
		pthread_mutex_lock(&st_mu);
		app_route_cmds_poll(rc, 0, st);
		pthread_mutex_unlock(&st_mu);
	}
	return NULL;
}

static struct weir_stack *make_stack(void)
{
	struct weir_stack_iface_conf ic = {.name = "eth0", .mac = {2, 0, 0, 0, 0, 1},
					   .addr = 0x0a000001, .prefix = 24, .no_garp = true};
	struct weir_stack_iface_conf ic1 = {.name = "eth1", .port_id = 1,
					    .mac = {2, 0, 0, 0, 1, 1}, .addr = 0xc0a80101,
					    .prefix = 24, .no_garp = true};
	char why[256];
	int err;
	struct weir_stack *s = weir_stack_create(&(struct weir_stack_conf){.pool = pool, .seed = 1},
						 &err);

	if (!s || weir_stack_iface_add(s, &ic, why, sizeof(why)) < 0 ||
	    weir_stack_iface_add(s, &ic1, why, sizeof(why)) < 0)
		abort();
	return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pthread_t th;

	(void)argc;
	(void)argv;
	if (weir_pool_create(&(struct weir_pool_conf){.name = "fuzz_rc", .n = 256}, &pool) < 0 ||
	    app_route_cmds_create(1, &rc) < 0)
		abort();
	st = make_stack();
	if (pthread_create(&th, NULL, owner, NULL))
		abort();
	pthread_detach(th);
	return 0;
}

static void run_line(const char *line, uint32_t *adds)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		abort();
	app_route_cmds_run(rc, line, f);
	fclose(f);
	fuzz_check_json(out, len);
	/* The lcore never answering would be a bug; a command that only
	 * quotes those words back in its error is not (found by the fuzzer). */
	if (strstr(out, "\"error\":\"stack ") && strstr(out, "'s lcore did not answer"))
		abort();
	if (!strncmp(out, "{\"ok\":true,\"cmd\":\"add", 21))
		(*adds)++;
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[512];
	uint32_t adds = 2, lines = 0; /* the two connected routes */
	size_t i = 0;

	pthread_mutex_lock(&st_mu);
	weir_stack_destroy(st);
	st = make_stack();
	pthread_mutex_unlock(&st_mu);
	while (i < size && lines < 16) {
		size_t n = 0;

		while (i < size && data[i] != '\n' && n < sizeof(line) - 1)
			line[n++] = (char)data[i++];
		line[n] = '\0';
		i++;
		lines++;
		run_line(line, &adds);
	}
	pthread_mutex_lock(&st_mu);
	if (weir_route_count(weir_stack_routes(st)) > adds)
		abort();
	pthread_mutex_unlock(&st_mu);
	return 0;
}
