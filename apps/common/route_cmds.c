// SPDX-License-Identifier: BSD-3-Clause
/*
 * Route commands for the telemetry socket (see route_cmds.h): a mailbox per
 * stack that the stack's own lcore empties between bursts, so the routing
 * table is only ever touched by its one thread. The telemetry thread posts
 * a request into each mailbox, wakes the lcore through an eventfd, and
 * waits on a condition variable for every answer; a request nobody took
 * within a second is taken back (compare-and-swap), so a stuck or stopped
 * lcore costs a late error, never a dangling request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "weir/route.h"
#include "weir/stack.h"

#include "common/report.h"
#include "common/route_cmds.h"
#include "common/telemetry.h"

#define RC_MAX 32
#define RC_WAIT_NS 1000000000LL
#define RC_DUMP_MAX 1024

enum rc_kind { RC_CHANGE, RC_SHOW, RC_GET };

struct rc_req {
	enum rc_kind kind;
	char cmd[256];
	uint32_t addr;
	/* the owner's answer */
	int err;
	char why[256];
	char *json; /* RC_SHOW: malloc'd by the owner */
	/* RC_GET: the owner's lookup, rendered by the telemetry thread */
	struct weir_stack_route_info ri;
	char line[256];
	char dev[WEIR_STACK_IFNAMESIZE];
	bool done;  /* under mu */
};

struct rc_slot {
	_Atomic(struct rc_req *) pending;
	int efd;
	struct rc_req req;
};

struct app_route_cmds {
	uint16_t n;
	atomic_bool closed;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rc_slot slots[RC_MAX];
};

int app_route_cmds_create(uint16_t n, struct app_route_cmds **out)
{
	struct app_route_cmds *rc;
	pthread_condattr_t ca;

	if (n < 1 || n > RC_MAX)
		return -EINVAL;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	rc->n = n;
	for (uint16_t i = 0; i < RC_MAX; i++)
		rc->slots[i].efd = -1;
	for (uint16_t i = 0; i < n; i++) {
		rc->slots[i].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (rc->slots[i].efd < 0) {
			int err = -errno;

			app_route_cmds_destroy(rc);
			return err;
		}
	}
	pthread_mutex_init(&rc->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rc->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = rc;
	return 0;
}

void app_route_cmds_destroy(struct app_route_cmds *rc)
{
	if (!rc)
		return;
	for (uint16_t i = 0; i < RC_MAX; i++) {
		if (rc->slots[i].efd >= 0)
			close(rc->slots[i].efd);
		free(rc->slots[i].req.json);
	}
	pthread_mutex_destroy(&rc->mu);
	pthread_cond_destroy(&rc->cv);
	free(rc);
}

int app_route_cmds_fd(const struct app_route_cmds *rc, uint16_t idx)
{
	return idx < rc->n ? rc->slots[idx].efd : -1;
}

void app_route_cmds_close(struct app_route_cmds *rc)
{
	if (rc)
		atomic_store(&rc->closed, true);
}

int app_route_apply(struct weir_stack *st, const char *cmd, char *why, size_t len)
{
	return weir_stack_route_cmd(st, cmd, why, len);
}

/* --- on the owning lcore -------------------------------------------------- */

static void ip_str(uint32_t a, char *buf)
{
	uint32_t be = htonl(a);

	inet_ntop(AF_INET, &be, buf, INET_ADDRSTRLEN);
}

static void json_ip(FILE *o, const char *key, uint32_t a)
{
	char b[INET_ADDRSTRLEN];

	ip_str(a, b);
	fprintf(o, "\"%s\":\"%s\"", key, b);
}

static void write_route(FILE *o, struct weir_stack *st, const struct weir_route *r)
{
	char b[INET_ADDRSTRLEN];

	ip_str(r->prefix, b);
	fprintf(o, "{\"dst\":\"%s/%u\",\"dev\":", b, r->len);
	report_json_str(o, weir_stack_iface_name(st, r->iface));
	fputs(",\"gateway\":", o);
	if (r->gateway) {
		ip_str(r->gateway, b);
		fprintf(o, "\"%s\"", b);
	} else {
		fputs("null", o);
	}
	fputc('}', o);
}

static void run_show(struct weir_stack *st, FILE *o)
{
	static struct weir_route rs[RC_DUMP_MAX]; /* one owner runs at a time: rc is serial */
	uint32_t n = weir_route_dump(weir_stack_routes(st), rs, RC_DUMP_MAX);

	fprintf(o, "{\"count\":%u,\"routes\":[", n);
	for (uint32_t i = 0; i < n && i < RC_DUMP_MAX; i++) {
		fputs(i ? "," : "", o);
		write_route(o, st, &rs[i]);
	}
	fputs("]}", o);
}

static const char *const neigh_names[] = {"NONE", "INCOMPLETE", "REACHABLE", "STALE", "PROBE"};

/* On the owner: the lookup, kept in req for the telemetry thread. */
static void run_get(struct weir_stack *st, struct rc_req *req)
{
	const char *dev;

	req->err = weir_stack_route_get(st, req->addr, &req->ri);
	if (req->err < 0) {
		char b[INET_ADDRSTRLEN];

		ip_str(req->addr, b);
		snprintf(req->why, sizeof(req->why), "%s: no route (network unreachable; add one "
			 "with route add PREFIX via GW or a default route)", b);
		return;
	}
	weir_stack_route_format(st, &req->ri, req->line, sizeof(req->line));
	dev = weir_stack_iface_name(st, req->ri.iface);
	snprintf(req->dev, sizeof(req->dev), "%s", dev ? dev : "?");
}

static void run_req(struct rc_req *req, struct weir_stack *st)
{
	size_t len = 0;
	FILE *o;

	if (req->kind == RC_CHANGE) {
		req->err = weir_stack_route_cmd(st, req->cmd, req->why, sizeof(req->why));
		return;
	}
	if (req->kind == RC_GET) {
		run_get(st, req);
		return;
	}
	o = open_memstream(&req->json, &len);
	if (!o) {
		req->err = -ENOMEM;
		snprintf(req->why, sizeof(req->why), "out of memory");
		return;
	}
	run_show(st, o);
	fclose(o);
	req->err = 0;
}

int app_route_cmds_poll(struct app_route_cmds *rc, uint16_t idx, struct weir_stack *st)
{
	struct rc_slot *s = &rc->slots[idx];
	struct rc_req *req;
	uint64_t v;

	if (!atomic_load_explicit(&s->pending, memory_order_relaxed))
		return 0;
	/* Acquire pairs with the poster's release store of the request. */
	req = atomic_exchange_explicit(&s->pending, NULL, memory_order_acquire);
	if (!req)
		return 0; /* taken back by a poster that gave up */
	/* The poster wrote the eventfd before publishing the request, so
	 * this read clears exactly that wake-up. */
	if (read(s->efd, &v, sizeof(v)) < 0)
		v = 0;
	run_req(req, st);
	pthread_mutex_lock(&rc->mu);
	req->done = true;
	pthread_cond_broadcast(&rc->cv);
	pthread_mutex_unlock(&rc->mu);
	return 1;
}

/* --- on the telemetry thread ----------------------------------------------- */

static void post(struct rc_slot *s)
{
	uint64_t one = 1;

	/* Written before the request is visible: see app_route_cmds_poll. */
	if (write(s->efd, &one, sizeof(one)) < 0)
		return;
	atomic_store_explicit(&s->pending, &s->req, memory_order_release);
}

/* Waits for stacks [0, n): 0, or the index + 1 of the first stack that
 * never took its request (taken back). */
static int wait_all(struct app_route_cmds *rc, uint16_t n)
{
	struct timespec ts;
	int missing = 0;
	bool all;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += RC_WAIT_NS / 1000000000LL;
	pthread_mutex_lock(&rc->mu);
	for (;;) {
		all = true;
		for (uint16_t i = 0; i < n; i++)
			all = all && rc->slots[i].req.done;
		if (all || pthread_cond_timedwait(&rc->cv, &rc->mu, &ts) == ETIMEDOUT)
			break;
	}
	for (uint16_t i = 0; i < n && !all; i++) {
		struct rc_slot *s = &rc->slots[i];
		struct rc_req *expect = &s->req;
		uint64_t v;

		if (s->req.done)
			continue;
		if (atomic_compare_exchange_strong(&s->pending, &expect, NULL)) {
			if (read(s->efd, &v, sizeof(v)) < 0)
				v = 0;
			if (!missing)
				missing = i + 1;
			continue;
		}
		/* Taken: its lcore is running it now; the answer is close. */
		while (!s->req.done)
			pthread_cond_wait(&rc->cv, &rc->mu);
	}
	pthread_mutex_unlock(&rc->mu);
	return missing;
}

/* Fills the request for stack i; a change goes to every stack. */
static uint16_t prepare(struct app_route_cmds *rc, enum rc_kind kind, const char *cmd,
			uint32_t addr)
{
	uint16_t n = kind == RC_SHOW ? 1 : rc->n;

	for (uint16_t i = 0; i < n; i++) {
		struct rc_req *r = &rc->slots[i].req;

		free(r->json);
		memset(r, 0, sizeof(*r));
		r->kind = kind;
		r->addr = addr;
		snprintf(r->cmd, sizeof(r->cmd), "%s", cmd);
	}
	return n;
}

/* How much a neighbour state says: resolved and fresh first. */
static int neigh_rank(enum weir_neigh_state s)
{
	switch (s) {
	case WEIR_NEIGH_REACHABLE: return 4;
	case WEIR_NEIGH_STALE:
	case WEIR_NEIGH_PROBE: return 3;
	case WEIR_NEIGH_INCOMPLETE: return 2;
	default: return 1;
	}
}

/*
 * `route get` over n stacks: the route is the same in each, the neighbour
 * is each stack's own (the lcore that sent to it resolved it), so the
 * answer shows the best-resolved one and every stack's state.
 */
static void answer_get(struct app_route_cmds *rc, uint16_t n, FILE *o)
{
	const struct rc_req *best = &rc->slots[0].req;
	const struct weir_stack_route_info *ri;
	char b[INET_ADDRSTRLEN];

	for (uint16_t i = 1; i < n; i++)
		if (neigh_rank(rc->slots[i].req.ri.neigh) > neigh_rank(best->ri.neigh))
			best = &rc->slots[i].req;
	ri = &best->ri;
	fputc('{', o);
	json_ip(o, "dst", ri->dst);
	ip_str(ri->prefix, b);
	fprintf(o, ",\"route\":\"%s/%u\",\"dev\":", b, ri->len);
	report_json_str(o, best->dev);
	fputs(",\"gateway\":", o);
	if (ri->gateway) {
		ip_str(ri->gateway, b);
		fprintf(o, "\"%s\"", b);
	} else {
		fputs("null", o);
	}
	fputc(',', o);
	json_ip(o, "nexthop", ri->nexthop);
	fputc(',', o);
	json_ip(o, "src", ri->src);
	fprintf(o, ",\"neigh\":\"%s\",\"lladdr\":",
		ri->neigh <= WEIR_NEIGH_PROBE ? neigh_names[ri->neigh] : "?");
	if (ri->neigh >= WEIR_NEIGH_REACHABLE && ri->neigh <= WEIR_NEIGH_PROBE)
		fprintf(o, "\"%02x:%02x:%02x:%02x:%02x:%02x\"", ri->mac[0], ri->mac[1], ri->mac[2],
			ri->mac[3], ri->mac[4], ri->mac[5]);
	else
		fputs("null", o);
	fprintf(o, ",\"broadcast\":%s,\"stacks\":[", ri->broadcast ? "true" : "false");
	for (uint16_t i = 0; i < n; i++) {
		enum weir_neigh_state st = rc->slots[i].req.ri.neigh;

		fprintf(o, "%s\"%s\"", i ? "," : "", st <= WEIR_NEIGH_PROBE ? neigh_names[st] : "?");
	}
	fputs("],\"text\":", o);
	report_json_str(o, best->line);
	fputc('}', o);
}

static void answer(struct app_route_cmds *rc, uint16_t n, const char *cmd, FILE *out)
{
	for (uint16_t i = 0; i < n; i++) {
		const struct rc_req *r = &rc->slots[i].req;

		if (r->err < 0) {
			fputs("{\"error\":", out);
			report_json_str(out, r->why);
			fputc('}', out);
			return;
		}
	}
	if (rc->slots[0].req.kind == RC_GET)
		return answer_get(rc, n, out);
	if (rc->slots[0].req.json) {
		fputs(rc->slots[0].req.json, out);
		return;
	}
	fputs("{\"ok\":true,\"cmd\":", out);
	report_json_str(out, cmd);
	fprintf(out, ",\"stacks\":%u}", n);
}

static const char usage[] = "usage: route show | route add PREFIX via GW [dev NAME] | "
			    "route add PREFIX dev NAME | route del PREFIX | route get ADDR";

static void error(FILE *out, const char *msg, const char *arg)
{
	app_tele_error(out, "%s%s", msg, arg ? arg : "");
}

void app_route_cmds_run(struct app_route_cmds *rc, const char *args, FILE *out)
{
	char word[16] = "", rest[256] = "", cmd[300];
	enum rc_kind kind;
	uint32_t addr = 0;
	struct in_addr a;
	uint16_t n;
	int missing;

	while (*args == ' ' || *args == '\t')
		args++;
	if (sscanf(args, "%15s %255[^\n]", word, rest) < 1 || !strcmp(word, "show")) {
		kind = RC_SHOW;
	} else if (!strcmp(word, "add") || !strcmp(word, "del")) {
		kind = RC_CHANGE;
	} else if (!strcmp(word, "get")) {
		if (inet_pton(AF_INET, rest, &a) != 1)
			return error(out, "route get: not an IPv4 address: ", rest[0] ? rest : "(none)");
		kind = RC_GET;
		addr = ntohl(a.s_addr);
	} else {
		return error(out, usage, NULL);
	}
	if (atomic_load(&rc->closed))
		return error(out, "the stack's lcores have stopped (the app is exiting)", NULL);
	snprintf(cmd, sizeof(cmd), "%s %s", word, rest);
	n = prepare(rc, kind, cmd, addr);
	for (uint16_t i = 0; i < n; i++)
		post(&rc->slots[i]);
	missing = wait_all(rc, n);
	if (missing) {
		char msg[160];

		snprintf(msg, sizeof(msg), "stack %d's lcore did not answer within 1 s (busy or "
					   "stopped)%s", missing - 1,
			 kind == RC_CHANGE && missing > 1 ? "; the stacks' tables now differ" : "");
		return error(out, msg, NULL);
	}
	answer(rc, n, cmd, out);
}

static void route_cmd(struct app_tele_client *c, const char *args, FILE *out, void *arg)
{
	(void)c;
	app_route_cmds_run(arg, args, out);
}

int app_route_cmds_register(struct app_route_cmds *rc, struct app_tele *t)
{
	return app_tele_cmd(t, "route", "route show | add PREFIX via GW [dev NAME] | del PREFIX | "
					"get ADDR", route_cmd, rc);
}
