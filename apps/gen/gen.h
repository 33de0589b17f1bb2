/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * weir-gen's pieces (see weir-gen.c for what it measures and how): the
 * settings, the per-lcore state and counters, and the calls between its
 * files: tx.c paces and builds probes, rx.c counts and times them (or
 * reflects them), lcore.c is the loop around both, report.c the live line,
 * summary and telemetry JSON.
 */
#ifndef WEIR_APP_GEN_H
#define WEIR_APP_GEN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "weir/clock.h"
#include "weir/pkt.h"

#include "common/app.h"
#include "common/histogram.h"
#include "common/opts.h"
#include "common/probe.h"

#define GEN_MAX_QUEUES APP_MAX_LCORES
#define GEN_MAX_BURST APP_MAX_BURST
#define GEN_MAX_FLOWS 65536
#define GEN_MAX_SIZES 16
#define GEN_PUBLISH_NS WEIR_NS_PER_SEC     /* histograms and loss, for the main thread */
#define GEN_IDLE_NS (10 * WEIR_NS_PER_SEC) /* longest sleep, with nothing due */

enum gen_mode { MODE_TXRX, MODE_TX, MODE_RX, MODE_REFLECT };
extern const char *const gen_mode_names[]; /* by enum gen_mode */

struct size_mix {
	int n;              /* entries; 1 = fixed size */
	bool range;         /* uniform in [lo, hi] */
	uint16_t lo, hi;
	uint16_t size[GEN_MAX_SIZES];
	uint32_t weight[GEN_MAX_SIZES];
	uint32_t total;     /* sum of weights */
	double mean;        /* mean frame size, bytes */
};

struct flow_rx {
	uint64_t first, max, rcvd;
};

/* Counters one lcore writes and the main thread reads. */
struct gen_ctr {
	_Atomic uint64_t tx_pkts, tx_bytes, tx_lag_max;
	_Atomic uint64_t rx_pkts, rx_bytes, rx_probes, rx_other, reordered, reflected;
	_Atomic uint64_t refused; /* reflect: probes not from the configured peer */
	_Atomic uint64_t lost;   /* gap-based, recomputed per publish */
	_Atomic uint64_t clock_skew; /* probes stamped in the future */
	_Atomic uint64_t tx_nobuf;
	_Atomic bool tx_done;
};

struct gen;

struct gen_lcore {
	struct gen *g;
	uint16_t q;
	struct gen_ctr c;
	/* owned by the lcore */
	uint64_t rng;
	struct flow_rx *frx;  /* GEN_MAX_FLOWS entries, lazily touched */
	struct hist *owd, *rtt; /* since last publish */
	/* published under mu */
	pthread_mutex_t mu;
	struct hist *pub_owd, *pub_rtt;         /* whole run */
	struct hist *ivl_owd, *ivl_rtt;         /* since the main thread last looked */
};

struct gen {
	struct app_base base; /* queues, burst, cores, pool, seed, duration, output */
	/* settings */
	enum gen_mode mode;
	char *tx_spec, *rx_spec;
	struct app_rate rate;
	struct size_mix sizes;
	uint32_t flows;
	uint8_t dst_mac[6], src_mac[6];
	bool src_mac_set;
	uint32_t sip_lo, sip_hi, dip_lo, dip_hi;
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
	weir_ns_t drain;
	uint64_t count;
	/* state */
	struct weir_port *txp, *rxp;
	struct probe_tmpl *tmpl; /* per flow */
	struct gen_lcore lcores[GEN_MAX_QUEUES];
	weir_ns_t tx_end;
	_Atomic bool rx_stop;
};

/* --- tx.c: on the lcore that owns TX queue q ---------------------------- */

/* One lcore's TX schedule and the burst the driver has not taken yet. */
struct tx_state {
	double next;          /* scheduled time of the next packet, ns */
	double ns_per_pkt;    /* pps pacing */
	double ns_per_bit;    /* bit-rate pacing */
	uint32_t flow_idx;    /* round robin over this queue's flows */
	uint32_t nflows;      /* flows of this queue: q, q + Q, q + 2Q, ... */
	uint64_t *seq;        /* per flow of this queue */
	uint64_t sent, limit; /* limit: packets for this queue, 0 = none */
	struct weir_pkt *pend[GEN_MAX_BURST];
	uint16_t npend, pend_off;
	uint64_t pend_bytes[GEN_MAX_BURST];
};

/* This lcore's share of the TX schedule; NULL with *err set, or a state
 * with no flows (more queues than flows: this one sends nothing). */
struct tx_state *gen_tx_new(struct gen *g, struct gen_lcore *lc, int *err);
/* Frees ts and the frames it still holds. NULL is allowed. */
void gen_tx_free(struct tx_state *ts);
/* Builds and sends what is due; returns packets sent. Lowers *wake to
 * when the next packet is due. */
uint32_t gen_tx_run(struct gen *g, struct gen_lcore *lc, struct tx_state *ts, weir_ns_t now,
		    weir_ns_t *wake);
/* This lcore's run is over: its count is sent, or the duration is up. */
bool gen_tx_over(const struct gen *g, const struct tx_state *ts, weir_ns_t now);

/* --- rx.c: on the lcore that owns RX queue q --------------------------- */

/* Receives a burst: counts, times or reflects it. Returns frames received. */
uint32_t gen_rx_run(struct gen *g, struct gen_lcore *lc, weir_ns_t now);
/* Publishes loss and the histograms for the main thread. */
void gen_publish(struct gen_lcore *lc);

/* --- sizes.c ----------------------------------------------------------- */

/*
 * --size: "N" (one size), "LO-HI" (uniform), "imix" or "N:W,N:W,..." (at
 * most GEN_MAX_SIZES sizes, weights 1..1000000) into *m, every size within
 * PROBE_MIN_FRAME..PROBE_MAX_FRAME. 0, or -EINVAL with what is wrong in
 * why (*m is then undefined). Reads only val; thread-safe.
 */
int gen_parse_sizes(const char *val, struct size_mix *m, char *why, size_t len);

/* --- lcore.c ------------------------------------------------------------ */

/* The lcore loop; arg is a struct gen_lcore. */
int gen_lcore_main(void *arg);

/* --- report.c: control and telemetry threads --------------------------- */

struct gen_totals {
	uint64_t tx_pkts, tx_bytes, rx_pkts, rx_bytes, probes, other, lost, reord, refl, refused, skew;
	uint64_t lag_max, nobuf;
};
void gen_totals(void *ctx, void *out);
void gen_live(void *ctx, const void *prev, const void *cur, double dt);
void gen_summary(FILE *o, void *ctx);
/* The telemetry document, also the --json summary. */
void gen_json(FILE *o, void *ctx);

#endif
