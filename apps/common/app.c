// SPDX-License-Identifier: BSD-3-Clause
/*
 * The app harness (see app.h): the one main() every weir app runs, from
 * argv to the exit code, around the app's own engine and summary. It keeps
 * the control thread asleep between live lines (weir_stop_wait wakes it on
 * a signal), renders the summary before the ports close and prints it after,
 * so a --json summary can say whether every buffer came home.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "weir/log.h"
#include "weir/pool.h"
#include "weir/port.h"

#include "common/app.h"
#include "common/privs.h"
#include "common/report.h"

int app_base_set(struct app_base *b, const char *name, const char *val, char *why, size_t len)
{
	uint64_t v;
	int r = 0;

	if (!strcmp(name, "queues")) {
		if (!(r = app_parse_u64(val, 1, APP_MAX_LCORES, &v, why, len)))
			b->queues = (uint16_t)v;
	} else if (!strcmp(name, "burst")) {
		if (!(r = app_parse_u64(val, 1, APP_MAX_BURST, &v, why, len)))
			b->burst = (uint16_t)v;
	} else if (!strcmp(name, "pool")) {
		if (!(r = app_parse_u64(val, 1024, 1u << 24, &v, why, len)))
			b->pool_size = (uint32_t)v;
	} else if (!strcmp(name, "cores")) {
		if ((r = app_parse_cpus(val, b->cpus, APP_MAX_LCORES, why, len)) < 0)
			return r;
		b->ncpus = r;
		r = 0;
	} else if (!strcmp(name, "seed")) {
		return app_parse_u64(val, 0, UINT64_MAX, &b->seed, why, len);
	} else if (!strcmp(name, "duration")) {
		return app_parse_duration(val, &b->duration, why, len);
	} else if (!strcmp(name, "stats-socket")) {
		/* A copy: the pointer, from --config, bound a garbage path. */
		return app_set_str(&b->stats_socket, val, why, len);
	} else if (!strcmp(name, "json")) {
		b->json = true;
	} else if (!strcmp(name, "live")) {
		b->live = true;
	} else if (!strcmp(name, "quiet")) {
		b->quiet = true;
	} else if (!strcmp(name, "log-level")) {
		enum weir_log_level l;

		if (weir_log_parse_level(val, &l) < 0) {
			snprintf(why, len, "unknown level (error, warn, info, debug)");
			return -EINVAL;
		}
		weir_log_set_level(l);
	} else {
		return 1;
	}
	return r;
}

static int check_cores(const struct app_base *b, const char *prog)
{
	char why[512];

	if (b->ncpus && b->ncpus < b->queues) {
		fprintf(stderr, "%s: --cores lists %d CPUs but --queues %u needs one per queue\n",
			prog, b->ncpus, b->queues);
		return -EINVAL;
	}
	if (app_check_cpus(b->cpus, b->ncpus, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: --cores: %s\n", prog, why);
		return -EINVAL;
	}
	return 0;
}

static bool duration_over(const struct app_base *b, weir_ns_t now)
{
	return b->duration && !weir_time_after(b->start + b->duration, now);
}

/*
 * The control thread between launch and stop: wakes for the next live line
 * or what the app's wake() asks for (the end of --duration by default), not
 * to poll the stop flag.
 */
/* A port whose interface went away ends the run: the driver has said why;
 * this says what the app does about it. */
static bool port_died(struct app_base *b)
{
	for (int i = 0; i < b->nports; i++) {
		if (weir_port_is_dead(b->ports[i])) {
			fprintf(stderr, "%s: port %d (%s) stopped; ending the run\n", b->prog, i,
				weir_port_spec(b->ports[i]));
			b->port_died = true;
			return true;
		}
	}
	return false;
}

static void control_loop(const struct app_def *def, struct app_base *b, void *ctx)
{
	char *buf = calloc(2, def->totals_size ? def->totals_size : 1);
	void *prev = buf, *cur = buf + def->totals_size;
	bool show = !b->quiet && (b->live || isatty(STDERR_FILENO));
	weir_ns_t last = weir_clock_now();

	if (!buf)
		show = false;
	else
		def->totals(ctx, prev);
	while (!weir_should_stop()) {
		weir_ns_t now = weir_clock_now(), next = last + WEIR_NS_PER_SEC;

		if (def->wake)
			next = def->wake(ctx, now, next);
		else if (b->duration && weir_time_after(next, b->start + b->duration))
			next = b->start + b->duration;
		if (weir_time_after(next, now) && weir_stop_wait(next - now))
			break;
		now = weir_clock_now();
		if (def->done ? def->done(ctx, now) : duration_over(b, now))
			break;
		if (port_died(b))
			break;
		if (now - last < WEIR_NS_PER_SEC || !buf)
			continue;
		def->totals(ctx, cur);
		if (show)
			def->live(ctx, prev, cur, (double)(now - last) / 1e9);
		memcpy(prev, cur, def->totals_size);
		last = now;
	}
	free(buf);
}

static int launch(const struct app_def *def, struct app_base *b, void *ctx, int *launched)
{
	for (uint16_t q = 0; q < b->queues; q++) {
		int cpu = b->ncpus ? b->cpus[q] : -1;
		int r = weir_lcore_launch(cpu, 1 + q, def->lcore_main, def->lcore_arg(ctx, q),
					  &b->lcores[q]);

		if (r < 0) {
			fprintf(stderr, "%s: cannot start lcore %u on CPU %d: %s\n", b->prog,
				q, cpu, strerror(-r));
			return r;
		}
		(*launched)++;
	}
	return 0;
}

/* Once the ports are open: only what they need to close is kept, before
 * any thread of the harness starts (capabilities are per thread). */
static int drop_privileges(struct app_base *b)
{
	char what[256];
	int r = app_privs_drop(weir_port_caps_kept(), what, sizeof(what));

	if (r < 0)
		fprintf(stderr, "%s: cannot drop privileges: %s\n", b->prog, what);
	else
		WEIR_DEBUG("%s: capabilities after setup: %s", b->prog, what);
	return r;
}

/* The telemetry socket and the app's commands on it. */
static int tele_open(const struct app_def *def, struct app_base *b, void *ctx,
		     struct app_tele **tele)
{
	char why[256];
	int r = app_tele_start(b->stats_socket, def->json, ctx, tele, why, sizeof(why));

	if (r < 0) {
		fprintf(stderr, "%s: --stats-socket %s\n", b->prog, why);
		return r;
	}
	r = app_mirror_register(*tele, b);
	if (r == -ENOTSUP)
		r = 0; /* built without libpcap: no capture from this app */
	if (!r && def->tele_cmds)
		r = def->tele_cmds(ctx, *tele);
	if (r < 0)
		fprintf(stderr, "%s: cannot register telemetry commands: %s\n", b->prog,
			strerror(-r));
	return r;
}

/* Launch, serve, wait, stop, join; the summary into *doc when all went well. */
static int run(const struct app_def *def, struct app_base *b, void *ctx, char **doc, size_t *len)
{
	struct app_tele *tele = NULL;
	int rc = APP_EXIT_OK, launched = 0;

	if (drop_privileges(b) < 0)
		rc = APP_EXIT_FAIL;
	if (!rc && b->stats_socket && tele_open(def, b, ctx, &tele) < 0)
		rc = APP_EXIT_FAIL;
	app_signals_socket(tele ? b->stats_socket : NULL);
	b->start = weir_clock_now() + def->start_delay;
	if (!rc && launch(def, b, ctx, &launched) < 0)
		rc = APP_EXIT_FAIL;
	if (!rc)
		control_loop(def, b, ctx);
	if (def->stopping)
		def->stopping(ctx);
	weir_stop = 1;
	for (int q = 0; q < launched; q++) {
		int ret = 0;

		weir_lcore_join(b->lcores[q], &ret);
		if (ret < 0) {
			fprintf(stderr, "%s: lcore %d failed: %s\n", b->prog, q,
				strerror(-ret));
			rc = APP_EXIT_FAIL;
		}
	}
	app_signals_socket(NULL); /* before the file goes: never another's */
	app_tele_stop(tele);
	/* Rendered now, printed after the ports are closed, so the JSON can
	 * say whether every buffer came home. */
	if (!rc) {
		FILE *o = open_memstream(doc, len);

		if (o) {
			if (b->json)
				def->json(o, ctx);
			else
				def->summary(o, ctx);
			fclose(o);
		}
	}
	return rc;
}

struct set_ctx {
	struct app_base *base;
	app_set_fn app_set;
	void *app_ctx;
};

/* The shared settings first, then the app's own. */
static int set(void *ctx, const char *name, const char *val, char *why, size_t len)
{
	struct set_ctx *s = ctx;
	int r = app_base_set(s->base, name, val, why, len);

	return r <= 0 ? r : s->app_set(s->app_ctx, name, val, why, len);
}

int app_main(const struct app_def *def, struct app_base *b, void *ctx, int argc, char **argv)
{
	struct app_cli cli = *def->cli;
	struct set_ctx sc = {.base = b, .app_set = cli.set, .app_ctx = ctx};
	const char *prog = cli.prog;
	char *doc = NULL;
	size_t len = 0;
	uint32_t leaked = 0;
	int r, rc;

	cli.set = set;
	cli.ctx = &sc;
	b->prog = prog;
	r = app_cli_parse(&cli, argc, argv);
	if (r || (def->check && def->check(ctx) < 0) || check_cores(b, prog) < 0) {
		/* --help (r > 0) or bad usage: nothing was opened yet. */
		def->teardown(ctx);
		free(b->stats_socket);
		return r > 0 ? APP_EXIT_OK : APP_EXIT_USAGE;
	}
	app_signals_install(prog);
	rc = def->setup(ctx) < 0 ? APP_EXIT_FAIL : run(def, b, ctx, &doc, &len);
	if (!rc && b->port_died)
		rc = APP_EXIT_FAIL; /* with the summary: what ran until then */
	def->teardown(ctx);
	if (b->pool) {
		leaked = weir_pool_in_use(b->pool);
		if (leaked) {
			fprintf(stderr, "%s: %u packet buffers leaked\n", prog, leaked);
			if (!rc)
				rc = APP_EXIT_LEAK;
		}
		weir_pool_destroy(b->pool);
	}
	if (doc) {
		report_finish(b->summary_stderr ? stderr : stdout, doc, len, b->json, leaked);
		free(doc);
	}
	free(b->stats_socket);
	return rc;
}

int app_pool_create(struct app_base *b, const char *name, uint32_t buf_size)
{
	struct weir_pool_conf pc = {.name = name, .n = b->pool_size, .buf_size = buf_size,
				    .shared = b->pool_shared};
	int err = weir_pool_create(&pc, &b->pool);

	if (err < 0)
		fprintf(stderr, "%s: cannot create a pool of %u buffers: %s (try a smaller --pool)\n",
			b->prog, b->pool_size, strerror(-err));
	return err;
}

int app_port_open(struct app_base *b, const char *spec, const char *what, struct weir_port **out)
{
	struct weir_port_conf conf = {.pool = b->pool, .nb_rxq = b->queues, .nb_txq = b->queues};
	char why[WEIR_PORT_ERRSIZE + 64];
	int err = weir_port_open(spec, &conf, out, why, sizeof(why));

	if (err < 0) {
		fprintf(stderr, "%s: %s%s\n", b->prog, what, why);
		return err;
	}
	if (b->nports < APP_MAX_PORTS)
		b->ports[b->nports++] = *out;
	if (weir_port_nb_rxq(*out) < b->queues || weir_port_nb_txq(*out) < b->queues) {
		fprintf(stderr, "%s: %s%s opened %u RX / %u TX queues; --queues %u needs that many "
				"(add ?queues=%u to the spec)\n", b->prog, what, spec,
			weir_port_nb_rxq(*out), weir_port_nb_txq(*out), b->queues, b->queues);
		return -EINVAL;
	}
	return 0;
}

void app_wait_until(struct weir_idle *idle, weir_ns_t now, weir_ns_t deadline, weir_ns_t min_ns,
		    weir_ns_t spin_ns)
{
	weir_ns_t left = deadline - now, late = idle->late_ns + idle->late_ns / 2;

	/* Wake early by what sleeps have run late here, and spin the rest. */
	if (late > spin_ns) {
		min_ns += late - spin_ns;
		spin_ns = late;
	}
	if (!weir_time_after(deadline, now) || left < min_ns)
		return;
	left -= spin_ns;
	if (left > WEIR_NS_PER_MS)
		left = WEIR_NS_PER_MS;
	weir_idle_sleep(idle, left);
}

int app_idle_init(struct weir_idle *idle)
{
	/* Sub-millisecond sleeps only help if the timer is not coalesced. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	return weir_idle_init(idle, WEIR_IDLE_SPIN_POLLS, 0);
}
