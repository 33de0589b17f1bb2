/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * weir-fwd's pieces (see weir-fwd.c for the path a frame takes and the
 * threading): the per-port, per-queue egress state, the lcore, the engines
 * (forwarding modes), and the calls between its files: egress.c moves
 * frames through loss, delay line, qdisc and DQL; lcore.c is the poll loop
 * and its sleeps; report.c the live line, summary and telemetry JSON.
 */
#ifndef WEIR_APP_FWD_H
#define WEIR_APP_FWD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "weir/clock.h"
#include "weir/dql.h"
#include "weir/pkt.h"
#include "weir/port.h"
#include "weir/qdisc.h"

#include "common/app.h"
#include "common/fastpath.h"

#define FWD_MAX_PORTS 16
#define FWD_MAX_QUEUES 32
#define FWD_MAX_BURST 256
#define FWD_PUBLISH_NS (100 * WEIR_NS_PER_MS) /* qdisc counters, for the control thread */
#define FWD_DUMP_NS WEIR_NS_PER_SEC             /* the tree's JSON */
#define FWD_IDLE_NS (10 * WEIR_NS_PER_SEC)      /* longest sleep, with nothing due */

/* Frames waiting out the emulated propagation delay; FIFO in release order. */
struct dline {
	struct weir_pkt **slot;
	uint32_t mask, head, tail; /* free-running indexes */
	weir_ns_t last_release;
};

struct qsnap {
	struct weir_qdisc_stats qs;
	uint32_t dline_pkts;
	uint32_t dql_limit;
	char *tree_json; /* weir_qdisc_dump, refreshed each second; malloc'd */
};

/* Egress state of one TX queue of one port: owned by lcore `queue`. */
struct fwd_eg {
	struct weir_qdisc *qd; /* NULL: frames go straight to the driver */
	bool direct;           /* no loss, delay line or qdisc: nothing to run */
	bool gro;              /* --gro applies here (see fwd_eg_config) */
	uint32_t cut;          /* FWD_GSO kinds of super-frame cut before egress */
	struct weir_dql dql;
	uint64_t done_seen;    /* txq->done_bytes already fed to DQL */
	struct dline dl;
	struct weir_pkt *pend[FWD_MAX_BURST]; /* dequeued, not yet taken */
	uint16_t npend, pend_off;
	_Atomic uint64_t emu_loss, emu_overflow, tx_drop;
	_Atomic uint64_t gso_frames, gso_segs, gso_errors; /* super-frames segmented */
	/* --gro: super-frames made, segments in them, checksums verified, bad */
	_Atomic uint64_t gro_frames, gro_segs, gro_csum_verified, gro_csum_bad;
	pthread_mutex_t mu;
	struct qsnap snap;
};

struct fwd_port {
	char *spec;
	char *egress; /* qdisc spec, NULL for none */
	/* l3 mode: the port's address (host order, 0: none) and IP MTU (0:
	 * the port's) */
	uint32_t addr;
	uint8_t plen;
	uint32_t mtu;
	struct weir_port *port;
	int peer;
	uint32_t rx_gso; /* FWD_GSO kinds of super-frame its RX may deliver */
	struct fwd_eg eg[FWD_MAX_QUEUES];
};

struct fwd;

/* One lcore: polls RX queue q of every port, owns TX queue q of every port. */
struct fwd_lcore {
	struct fwd *f;
	uint16_t q;
	uint64_t rng;   /* loss and jitter draws */
	void *engine;   /* the engine's per-lcore state (lcore_init), or NULL */
};

/*
 * A forwarding mode, after testpmd's struct fwd_engine: what happens to a
 * burst between RX on one port and the egress of its peer. The rest of the
 * path (loss, delay line, qdisc, DQL, TX) is the same for every engine. One
 * file per engine (l2.c, io.c, macswap.c, l3.c), listed in fwd_engines.
 */
struct fwd_engine {
	const char *name;
	/* Set for a slot not filled yet: why it cannot run (--mode says so). */
	const char *missing;
	/* Whole-run state once the ports are open (a router's tables), kept
	 * in f->engine_state: 0 or a negative errno with a message printed.
	 * teardown runs also after a failed setup. Both optional. */
	int (*setup)(struct fwd *f);
	void (*teardown)(struct fwd *f);
	/* Per-lcore state, on the lcore before its loop (0 or a negative
	 * errno) and after it. Optional. */
	int (*lcore_init)(struct fwd_lcore *lc);
	void (*lcore_fini)(struct fwd_lcore *lc);
	/* Checks the settings this mode needs, after parsing (prints why):
	 * 0 or -EINVAL. Optional; without it ports must come in pairs. */
	int (*check)(struct fwd *f);
	/* Works on n frames received on port `in` at now (in place); returns
	 * how many of them, moved to the front of pkts, go on to in's peer.
	 * Frames it keeps, frees or sends elsewhere (fwd_eg_admit to any
	 * port's egress q) are its own. NULL: all pass as they are. */
	uint16_t (*burst)(struct fwd_lcore *lc, int in, struct weir_pkt **pkts, uint16_t n,
			  weir_ns_t now);
	/* Runs on every pass of the lcore loop, after the bursts: the
	 * engine's timers and frames it made itself (ARP, ICMP). Returns
	 * frames moved; lowers *deadline to when it next needs to run.
	 * Optional. */
	uint32_t (*poll)(struct fwd_lcore *lc, weir_ns_t now, weir_ns_t *deadline);
	/* The engine's members of the JSON document (",\"l3\":{...}"), and
	 * its lines of the text summary. Control/telemetry threads. Optional. */
	void (*json)(FILE *o, struct fwd *f);
	void (*summary)(FILE *o, struct fwd *f);
	/* The mode's telemetry commands (app_def.tele_cmds), what it does
	 * when the run ends (app_def.stopping), and an fd each lcore also
	 * sleeps on, so a command wakes it (-1: none). Optional. */
	int (*tele_cmds)(struct fwd *f, struct app_tele *t);
	void (*stopping)(struct fwd *f);
	int (*wait_fd)(struct fwd_lcore *lc);
};

/* NULL-terminated, in the order --help and messages list them. */
extern const struct fwd_engine *const fwd_engines[];
extern const struct fwd_engine fwd_engine_l2, fwd_engine_io, fwd_engine_macswap, fwd_engine_l3;

struct fwd {
	struct app_base base; /* queues, burst, cores, pool, seed, duration, output */
	/* settings */
	const struct fwd_engine *engine;
	void *engine_state; /* the engine's setup */
	char *egress_all;
	weir_ns_t delay, jitter;
	double loss;
	bool gro; /* --gro: coalesce TCP segments where the egress takes super-frames */
	uint32_t dline_size;
	char **routes; /* l3: --route values, "PREFIX via GW [dev N]" */
	int nroutes;
	/* state */
	int nports;
	struct fwd_port ports[FWD_MAX_PORTS];
	struct fwd_lcore lcores[FWD_MAX_QUEUES];
};

static inline uint32_t dline_count(const struct dline *d)
{
	return d->tail - d->head;
}

/* --- egress.c: every call from the lcore that owns the egress ---------- */

/* The kinds of super-frame (enum weir_port_offload's GSO bits). */
#define FWD_GSO (WEIR_PORT_OFFLOAD_GSO_TCP | WEIR_PORT_OFFLOAD_GSO_UDP)

/* Sets e->direct, e->cut and e->gro from its qdisc, the run's loss, delay
 * and --gro, and what port out's transmit side takes. */
void fwd_eg_config(const struct fwd *f, const struct fwd_port *out, struct fwd_eg *e);
/* fwd_eg_admit's whole path: super-frames looked for and cut, loss, delay. */
void fwd_eg_admit_all(struct fwd *f, struct fwd_lcore *lc, struct fwd_port *out,
		      struct fwd_eg *e, struct weir_pkt **pkts, uint16_t n, weir_ns_t now);
uint32_t fwd_eg_run_all(struct fwd *f, struct fwd_port *out, struct fwd_eg *e, uint16_t q,
			weir_ns_t now, weir_ns_t *deadline);

/*
 * Takes n frames received now, bound for egress e of port out: TCP segments
 * coalesced (--gro) where the egress gains from super-frames, GSO
 * super-frames cut where needed, then loss, the delay line or the qdisc, or
 * straight to the driver. Takes ownership of all of them. in_gso: the FWD_GSO
 * kinds the frames may include (their RX port's rx_gso; FWD_GSO when
 * unknown). A plain egress that none of them needs cutting for costs one
 * test before the driver's burst.
 */
static inline void fwd_eg_admit(struct fwd *f, struct fwd_lcore *lc, struct fwd_port *out,
				struct fwd_eg *e, struct weir_pkt **pkts, uint16_t n,
				weir_ns_t now, uint32_t in_gso)
{
	if (weir_likely(e->direct && !e->gro && !(e->cut & in_gso))) {
		uint16_t freed = weir_port_tx_burst_or_free(out->port, lc->q, pkts, n);

		if (freed)
			ctr_add(&e->tx_drop, freed);
		return;
	}
	fwd_eg_admit_all(f, lc, out, e, pkts, n, now);
}

/* Moves frames along egress e (queue q of port out): due frames from the
 * delay line, the qdisc's output to the driver while DQL allows. Lowers
 * *deadline to when something becomes due; returns frames moved. */
static inline uint32_t fwd_eg_run(struct fwd *f, struct fwd_port *out, struct fwd_eg *e,
				  uint16_t q, weir_ns_t now, weir_ns_t *deadline)
{
	return e->direct ? 0 : fwd_eg_run_all(f, out, e, q, now, deadline);
}
/* Snapshots e's counters for the control thread (under e->mu), with `dump`
 * the qdisc tree as JSON too. */
void fwd_eg_publish(struct fwd_eg *e, bool dump);
/* Frees every frame e still holds (delay line, pending, qdisc). */
void fwd_eg_drain(struct fwd_eg *e);

/* --- port_opts.c -------------------------------------------------------- */

/*
 * The per-port options: "egress" ([PORT@]QDISC: one port's scheduler, or
 * every port's), "addr" (PORT@ADDR/LEN) and "mtu" ([PORT@]BYTES, 68..65535).
 * PORT is 0..FWD_MAX_PORTS-1; whether that port was given is checked later
 * (fwd_check, l3_check). 1 when name is none of them; else 0, with the
 * value in f->ports[] (egress strings are copies, f->egress_all when no
 * PORT@), or -EINVAL with what is wrong in why and f unchanged. Control
 * thread only.
 */
int fwd_port_opt_set(struct fwd *f, const char *name, const char *val, char *why, size_t len);

/* --- l3_setup.c --------------------------------------------------------- */

/* --route: 1 when name is something else, else 0 or -EINVAL with a
 * message in why. */
int fwd_l3_set(struct fwd *f, const char *name, const char *val, char *why, size_t len);

/* --- lcore.c ----------------------------------------------------------- */

/* The lcore loop; arg is a struct fwd_lcore. */
int fwd_lcore_main(void *arg);

/* --- report.c: control and telemetry threads -------------------------- */

/* Counters for the live line; out is a struct fwd_totals. */
struct fwd_totals {
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes, drops;
	uint64_t backlog_pkts, backlog_bytes, dline_pkts;
};
void fwd_totals(void *ctx, void *out);
void fwd_live(void *ctx, const void *prev, const void *cur, double dt);
void fwd_summary(FILE *o, void *ctx);
/* The telemetry document, also the --json summary. */
void fwd_json(FILE *o, void *ctx);

#endif
