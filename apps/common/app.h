/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The app harness: what every weir app does around its per-lcore engine.
 * app_main() parses the options (and --config), checks them, opens what the
 * app needs, launches one lcore per queue, serves telemetry, prints a live
 * line per second (to stderr, on a terminal or with --live), stops on
 * SIGINT/SIGTERM or when the app says it is done, joins the lcores, renders
 * the summary (text or --json), closes everything, checks that every packet
 * buffer came back to the pool, and returns the exit code. A new app is its
 * options, its engine (struct app_def) and its summary.
 *
 * The settings every app shares (queues, cores, burst, pool, seed,
 * duration, stats socket, json, live, quiet, log level) live in struct
 * app_base, parsed by app_base_set().
 */
#ifndef WEIR_APP_HARNESS_H
#define WEIR_APP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weir/clock.h"
#include "weir/lcore.h"

#include "common/opts.h"
#include "common/telemetry.h"

#define APP_MAX_LCORES 32
#define APP_MAX_BURST 256
#define APP_MAX_PORTS 16

/* Exit codes, the same for every app (and in every --help footer). */
enum app_exit {
	APP_EXIT_OK = 0,
	APP_EXIT_USAGE = 1, /* bad options: nothing was opened */
	APP_EXIT_FAIL = 2,  /* a port, a scheduler or an lcore failed at run time */
	APP_EXIT_LEAK = 3,  /* packet buffers still out of the pool at exit */
};

/* Settings and run state the harness owns; embedded in each app's context. */
struct app_base {
	/* settings (app_base_set); the app sets the defaults before app_main */
	uint16_t queues; /* one lcore per queue */
	uint16_t burst;
	int cpus[APP_MAX_LCORES];
	int ncpus;
	uint32_t pool_size;
	bool pool_shared; /* app_pool_create makes a shared pool (a port needs one) */
	uint64_t seed;
	weir_ns_t duration; /* 0: until Ctrl-C (or the app is done) */
	char *stats_socket;
	bool json, live, quiet;
	bool summary_stderr; /* the summary goes to stderr (stdout carries data) */
	/* state */
	const char *prog;       /* for messages: app_main sets it from the cli */
	struct weir_pool *pool; /* the app's setup creates it; the harness checks and frees it */
	weir_ns_t start;        /* when the run started (set before the lcores launch) */
	struct weir_lcore *lcores[APP_MAX_LCORES];
	/* Every port app_port_open opened, in order: what "capture port=N"
	 * (common/mirror_tap.c) can mirror, and what the harness watches: a
	 * run ends when one of them dies (its interface went away), with the
	 * summary and exit code 2 (port_died). */
	struct weir_port *ports[APP_MAX_PORTS];
	int nports;
	bool port_died;
};

/* Rows of the option table every app ends with (its own rows first, then
 * APP_OPT_CORES where it takes --cores, then APP_OPTS_OUTPUT). */
#define APP_OPT_CORES {"cores", 'c', "LIST", "pin lcore q to the q-th CPU of LIST, e.g. 0,1"}
#define APP_OPTS_OUTPUT                                                                   \
	{"json", 'j', NULL, "print the final summary as JSON"},                           \
	{"live", 0, NULL, "print the per-second line even when stderr is not a terminal"}, \
	{"quiet", 0, NULL, "no per-second line"},                                         \
	{"log-level", 0, "LEVEL", "error, warn, info (default) or debug"},                \
	{NULL, 0, NULL, NULL}

/*
 * Applies one of the shared settings: "queues", "cores", "burst", "pool",
 * "seed", "duration", "stats-socket", "json", "live", "quiet",
 * "log-level". Returns 1 when name is none of them (the app's own), else
 * as an app_set_fn: 0 or -EINVAL with a message in why.
 */
int app_base_set(struct app_base *b, const char *name, const char *val, char *why, size_t len);

/*
 * What an app plugs into app_main(). ctx is the app's context (with its
 * struct app_base); every callback gets it. Optional ones may be NULL.
 */
struct app_def {
	/* Options: the app's table (with the shared rows it takes) and its
	 * set, which app_main calls only for names app_base_set does not
	 * know, with ctx (cli->ctx is ignored). */
	const struct app_cli *cli;
	/* Checks the settings after parsing; prints why to stderr, returns
	 * -EINVAL for bad usage. The harness then checks --cores. Optional. */
	int (*check)(void *ctx);
	/* Creates base->pool and opens the ports; prints why on failure and
	 * returns a negative errno. */
	int (*setup)(void *ctx);
	/* Closes and frees what setup made, except the pool; runs also after
	 * a failed parse, check or setup, so it must cope with half-made state. */
	void (*teardown)(void *ctx);
	/* The engine: run on lcore q with lcore_arg(ctx, q); a negative
	 * errno returned is a runtime failure (exit 2, no summary). */
	int (*lcore_main)(void *arg);
	void *(*lcore_arg)(void *ctx, uint16_t q);
	/* When the control thread next wakes, given the next live line is
	 * due at `line` (default: line, or the end of --duration if sooner).
	 * Optional. */
	weir_ns_t (*wake)(void *ctx, weir_ns_t now, weir_ns_t line);
	/* True when the run is over (besides a signal). Optional: default,
	 * when --duration has passed since base->start. */
	bool (*done)(void *ctx, weir_ns_t now);
	/* Runs once the loop ends, before the stop flag is raised. Optional. */
	void (*stopping)(void *ctx);
	/* The live line, on the control thread: counters into a totals_size
	 * buffer (each second), and the line from two of them dt seconds
	 * apart, printed to stderr (only on a terminal or with --live). */
	size_t totals_size;
	void (*totals)(void *ctx, void *out);
	void (*live)(void *ctx, const void *prev, const void *cur, double dt);
	/* The JSON document, on the telemetry thread while the lcores run
	 * (it reads only what they publish), and as the --json summary on
	 * the control thread after they are joined; and the text summary.
	 * Both render before the ports close; app_main prints them after. */
	app_tele_fn json;
	void (*summary)(FILE *o, void *ctx);
	/* Registers the app's telemetry commands (app_tele_cmd) once the
	 * --stats-socket is up, before the lcores launch; only with a
	 * socket. A negative errno fails the run (exit 2). Optional. */
	int (*tele_cmds)(void *ctx, struct app_tele *t);
	/* The run starts this long after the lcores are launched. */
	weir_ns_t start_delay;
};

/*
 * Runs an app from argv to its exit code (enum app_exit): --help exits 0,
 * bad usage 1, a failed setup, lcore or telemetry socket 2, leaked buffers
 * 3. A stop by SIGINT or SIGTERM is a normal end (0, with the summary).
 * Call once, from main.
 */
int app_main(const struct app_def *def, struct app_base *base, void *ctx, int argc, char **argv);

struct weir_port;

/*
 * For the app's setup: creates b->pool, b->pool_size buffers named name
 * (buf_size 0: the pool's default). 0, or a negative errno after printing
 * "prog: cannot create a pool of N buffers: ... (try a smaller --pool)".
 */
int app_pool_create(struct app_base *b, const char *name, uint32_t buf_size);
/*
 * For the app's setup: opens spec with b->queues RX and TX queues on
 * b->pool into *out, and refuses a port that opened fewer. The harness
 * watches the port: when it dies the run ends (exit 2, with the summary). what prefixes
 * the messages (e.g. "port 0: ", or ""). 0, or a negative errno after
 * printing why; *out may then be set (the caller's teardown closes it).
 */
int app_port_open(struct app_base *b, const char *spec, const char *what, struct weir_port **out);

/*
 * SIGINT/SIGTERM (common/signals.c): the first raises the stop flag
 * (weir_stop_request); a second one, while the clean stop is still under
 * way, prints one line naming prog and the signal, removes the socket
 * file app_signals_socket named, and exits at once with 128 + the signal.
 * app_main installs them; a tool outside app_main (weir-blk raid) may
 * too. Control thread, before other threads start.
 */
void app_signals_install(const char *prog);
/* The telemetry socket file a second signal removes (NULL: none). Control
 * thread. */
void app_signals_socket(const char *path);

struct app_tele;
/*
 * Registers the "capture" command (common/mirror_tap.c) on t: weir-cap's
 * capture from a running app, on the ports b->ports lists. The harness
 * calls it for every app with a --stats-socket. 0 or app_tele_cmd's error;
 * -ENOTSUP when built without libpcap.
 */
int app_mirror_register(struct app_tele *t, struct app_base *b);

/*
 * Sleeps towards deadline on the idle policy's fds, in sleeps of at most
 * 1 ms, leaving `spin_ns` to be spun by the caller's loop (more when the
 * policy's sleeps have woken later than that: 1.5 x idle->late_ns, and
 * min_ns grows alike); returns at once when less than min_ns is left. Short sleeps are the precise ones: the
 * kernel lets a ppoll timeout run late by 0.1% of its length (0.5% when
 * niced), and a VM wakes later from longer sleeps (measured: 30 us late
 * after 0.5 ms, 60-80 us after 20 ms). Lcore threads only.
 */
void app_wait_until(struct weir_idle *idle, weir_ns_t now, weir_ns_t deadline, weir_ns_t min_ns,
		    weir_ns_t spin_ns);

/*
 * Prepares the calling lcore for sub-millisecond sleeps (timer slack of
 * 1 us: coalesced timers would make them useless) and sets up idle with
 * WEIR_IDLE_SPIN_POLLS. 0 or a negative errno.
 */
int app_idle_init(struct weir_idle *idle);

#endif
