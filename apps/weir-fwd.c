// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd: forwards frames between pairs of ports (0<->1, 2<->3, ...), with
 * an egress scheduler per port and link emulation.
 *
 * Per direction and queue, the path is
 *     rx burst -> [loss, delay line] -> [egress qdisc -> DQL] -> tx burst
 * The delay line (a FIFO of frames stamped with their release time) sits
 * before the bottleneck queue, so a link's propagation delay never counts as
 * queueing: a packet's sojourn time in the qdisc is only what the scheduler
 * made it wait. DQL keeps the driver's own ring short, so the real queue
 * stays in the qdisc, where it can be reordered and CoDel can see it.
 *
 * One lcore per queue index: lcore q polls RX queue q of every port and owns
 * TX queue q (with its delay line and qdisc) of every port, so nothing on
 * the fast path is shared. Counters the control thread reads are written
 * with relaxed atomic stores by their one writer; qdisc statistics are
 * snapshotted by the owning lcore under a mutex, at most 100 ms after they
 * change (an idle lcore sleeps instead of publishing the same numbers).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "weir/clock.h"
#include "weir/dql.h"
#include "weir/lcore.h"
#include "weir/log.h"
#include "weir/offload.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port.h"
#include "weir/qdisc.h"

#include "common/fastpath.h"
#include "common/opts.h"
#include "common/report.h"
#include "common/telemetry.h"

#define FWD_MAX_PORTS 16
#define FWD_MAX_QUEUES 32
#define FWD_MAX_BURST 256
#define FWD_PUBLISH_NS (100 * WEIR_NS_PER_MS) /* qdisc counters, for the control thread */
#define FWD_DUMP_NS WEIR_NS_PER_SEC             /* the tree's JSON */
#define FWD_IDLE_NS (10 * WEIR_NS_PER_SEC)      /* longest sleep, with nothing due */

enum fwd_mode { MODE_L2, MODE_IO, MODE_MACSWAP };
static const char *const mode_names[] = {"l2", "io", "macswap"};

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
	struct weir_dql dql;
	uint64_t done_seen;    /* txq->done_bytes already fed to DQL */
	struct dline dl;
	struct weir_pkt *pend[FWD_MAX_BURST]; /* dequeued, not yet taken */
	uint16_t npend, pend_off;
	_Atomic uint64_t emu_loss, emu_overflow, tx_drop;
	_Atomic uint64_t gso_frames, gso_segs, gso_errors; /* super-frames segmented */
	pthread_mutex_t mu;
	struct qsnap snap;
};

struct fwd_port {
	char *spec;
	char *egress; /* qdisc spec, NULL for none */
	struct weir_port *port;
	int peer;
	struct fwd_eg eg[FWD_MAX_QUEUES];
};

struct fwd;

struct fwd_lcore {
	struct fwd *f;
	uint16_t q;
	int cpu;
	uint64_t rng;
	struct weir_lcore *lc;
};

struct fwd {
	/* settings */
	enum fwd_mode mode;
	uint16_t queues;
	uint16_t burst;
	int cpus[FWD_MAX_QUEUES];
	int ncpus;
	char *egress_all;
	weir_ns_t delay, jitter, duration;
	double loss;
	uint64_t seed;
	uint32_t dline_size;
	uint32_t pool_size;
	char *stats_socket;
	bool json, live, quiet;
	/* state */
	int nports;
	struct fwd_port ports[FWD_MAX_PORTS];
	struct weir_pool *pool;
	struct fwd_lcore lcores[FWD_MAX_QUEUES];
	weir_ns_t start;
};

/* --- small helpers ------------------------------------------------------ */

static inline uint32_t dline_count(const struct dline *d)
{
	return d->tail - d->head;
}

/* --- the fast path ------------------------------------------------------- */

static void macswap(struct weir_pkt **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		uint8_t *h = weir_pkt_data(pkts[i]), t[6];

		if (pkts[i]->data_len < 12)
			continue;
		memcpy(t, h, 6);
		memcpy(h, h + 6, 6);
		memcpy(h + 6, t, 6);
	}
}

/* Takes wire frames bound for egress e: loss, then the delay line or the
 * qdisc. */
static void eg_admit_wire(struct fwd *f, struct fwd_lcore *lc, struct fwd_port *out,
			  struct fwd_eg *e, struct weir_pkt **pkts, uint16_t n, weir_ns_t now)
{
	uint16_t keep = 0;

	if (f->loss > 0) {
		uint64_t lost = 0;

		for (uint16_t i = 0; i < n; i++) {
			if (rng_unit(&lc->rng) < f->loss) {
				weir_pkt_free(pkts[i]);
				lost++;
			} else {
				pkts[keep++] = pkts[i];
			}
		}
		if (lost)
			ctr_add(&e->emu_loss, lost);
		n = keep;
	}
	if (f->delay || f->jitter) {
		uint64_t over = 0;

		for (uint16_t i = 0; i < n; i++) {
			weir_ns_t rel = now + f->delay;

			if (f->jitter) {
				int64_t j = (int64_t)(rng_unit(&lc->rng) * 2.0 * (double)f->jitter) -
					    (int64_t)f->jitter;

				rel = (int64_t)rel + j < (int64_t)now ? now : (weir_ns_t)((int64_t)rel + j);
			}
			/* No reordering on a link: a frame never overtakes the
			 * one in front of it (netem would, we do not). */
			if (weir_time_after(e->dl.last_release, rel))
				rel = e->dl.last_release;
			if (dline_count(&e->dl) > e->dl.mask) {
				weir_pkt_free(pkts[i]);
				over++;
				continue;
			}
			pkts[i]->udata64 = rel;
			e->dl.slot[e->dl.tail++ & e->dl.mask] = pkts[i];
			e->dl.last_release = rel;
		}
		if (over)
			ctr_add(&e->emu_overflow, over);
		return;
	}
	if (e->qd) {
		for (uint16_t i = 0; i < n; i++)
			weir_qdisc_enqueue(e->qd, pkts[i], now);
		return;
	}
	{
		uint16_t freed = weir_port_tx_burst_or_free(out->port, lc->q, pkts, n);

		if (freed)
			ctr_add(&e->tx_drop, freed);
	}
}

/* True when super-frame p must become wire frames before egress e: a
 * qdisc counts and shapes what the wire carries, loss hits wire frames, and
 * some ports cannot send it whole. */
static inline bool eg_must_segment(const struct fwd *f, const struct fwd_port *out,
				   const struct fwd_eg *e, const struct weir_pkt *p)
{
	return weir_pkt_is_gso(p) &&
	       (e->qd || f->loss > 0 || !weir_port_tx_takes_gso(out->port, p));
}

/*
 * Takes frames bound for egress e. Super-frames pass whole where nothing
 * needs them cut; otherwise they are segmented here, in front of the
 * scheduler, as Linux's tbf does with GSO packets larger than its burst.
 * Order is kept: the frames before a super-frame go first.
 */
static void eg_admit(struct fwd *f, struct fwd_lcore *lc, struct fwd_port *out, struct fwd_eg *e,
		     struct weir_pkt **pkts, uint16_t n, weir_ns_t now)
{
	unsigned flags = weir_port_tx_offloads(out->port) & WEIR_PORT_OFFLOAD_CSUM
				 ? WEIR_GSO_CSUM_PARTIAL : 0;
	uint16_t run = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct weir_pkt *segs[FWD_MAX_BURST];
		int k;

		if (weir_likely(!eg_must_segment(f, out, e, pkts[i])))
			continue;
		if (i > run)
			eg_admit_wire(f, lc, out, e, pkts + run, (uint16_t)(i - run), now);
		run = (uint16_t)(i + 1);
		k = weir_gso_segment(pkts[i], f->pool, segs, FWD_MAX_BURST, flags);
		if (k < 0) {
			ctr_add(&e->gso_errors, 1);
			weir_pkt_free(pkts[i]);
			continue;
		}
		ctr_add(&e->gso_frames, 1);
		ctr_add(&e->gso_segs, (uint64_t)k);
		eg_admit_wire(f, lc, out, e, segs, (uint16_t)k, now);
	}
	if (n > run)
		eg_admit_wire(f, lc, out, e, pkts + run, (uint16_t)(n - run), now);
}

/* Feeds the driver's completions to DQL. */
static void eg_complete(struct weir_port *port, uint16_t q, struct fwd_eg *e, weir_ns_t now)
{
	uint64_t done;

	weir_port_tx_done(port, q);
	weir_port_tx_completed(port, q, NULL, &done);
	if (done != e->done_seen) {
		weir_dql_completed(&e->dql, (uint32_t)(done - e->done_seen), now);
		e->done_seen = done;
	}
}

/*
 * Moves frames along one egress: releases due frames from the delay line,
 * then hands the qdisc's output to the driver while DQL allows. Lowers
 * *deadline to when something becomes due. Returns frames moved.
 */
static uint32_t eg_run(struct fwd *f, struct fwd_port *out, struct fwd_eg *e, uint16_t q,
		       weir_ns_t now, weir_ns_t *deadline)
{
	struct weir_port *port = out->port;
	uint32_t work = 0;

	while (dline_count(&e->dl)) {
		struct weir_pkt *p = e->dl.slot[e->dl.head & e->dl.mask];

		if (weir_time_after(p->udata64, now)) {
			if (weir_time_after(*deadline, p->udata64))
				*deadline = p->udata64;
			break;
		}
		if (e->qd) {
			weir_qdisc_enqueue(e->qd, p, now);
			e->dl.head++;
			work++;
			continue;
		}
		/* No qdisc: send straight from the line; what the driver does
		 * not take waits at the head (backpressure, not loss). */
		{
			struct weir_pkt *b[FWD_MAX_BURST];
			uint16_t n = 0, sent;

			while (n < f->burst && e->dl.head + n != e->dl.tail) {
				struct weir_pkt *x = e->dl.slot[(e->dl.head + n) & e->dl.mask];

				if (weir_time_after(x->udata64, now))
					break;
				b[n++] = x;
			}
			sent = weir_port_tx_burst(port, q, b, n);
			e->dl.head += sent;
			work += sent;
			if (sent < n) {
				/* Ring full: retry soon rather than sleep. */
				*deadline = now;
				return work;
			}
		}
	}
	if (!e->qd)
		return work;

	eg_complete(port, q, e, now);
	for (;;) {
		uint16_t sent;

		if (e->npend == 0) {
			weir_ns_t due = 0;

			e->pend_off = 0;
			/* Linux BQL's rule: a queue may take a frame while the
			 * limit is not yet exceeded (avail >= 0). */
			while (e->npend < f->burst && weir_dql_avail(&e->dql) >= 0) {
				struct weir_pkt *p = weir_qdisc_dequeue(e->qd, now, &due);

				if (!p)
					break;
				weir_dql_queued(&e->dql, p->pkt_len);
				e->pend[e->npend++] = p;
			}
			if (due && weir_time_after(*deadline, due))
				*deadline = due;
			if (e->npend == 0)
				break;
		}
		sent = weir_port_tx_burst(port, q, e->pend + e->pend_off, e->npend);
		e->pend_off += sent;
		e->npend -= sent;
		work += sent;
		if (!weir_port_has_tx_done(port))
			eg_complete(port, q, e, now);
		if (e->npend) {
			*deadline = now;
			break;
		}
	}
	/* Bytes in flight with frames still queued: completions will open
	 * DQL again soon, so poll for them instead of sleeping long. */
	if (e->dql.num_queued != e->dql.num_completed) {
		weir_ns_t soon = now + 20 * WEIR_NS_PER_US;

		if (weir_time_after(*deadline, soon))
			*deadline = soon;
	}
	return work;
}

/* Snapshots e's qdisc statistics for the control thread, and with `dump`
 * the whole tree as JSON. */
static void eg_publish(struct fwd_eg *e, bool dump)
{
	char *tree = NULL;

	if (e->qd && dump) {
		size_t len;
		FILE *m = open_memstream(&tree, &len);

		if (m) {
			weir_qdisc_dump(e->qd, m, 1);
			fclose(m);
		}
	}
	pthread_mutex_lock(&e->mu);
	if (e->qd)
		weir_qdisc_stats_get(e->qd, &e->snap.qs);
	e->snap.dline_pkts = dline_count(&e->dl);
	e->snap.dql_limit = e->dql.limit;
	if (tree) {
		free(e->snap.tree_json);
		e->snap.tree_json = tree;
	}
	pthread_mutex_unlock(&e->mu);
}

static void eg_drain(struct fwd_eg *e)
{
	while (dline_count(&e->dl))
		weir_pkt_free(e->dl.slot[e->dl.head++ & e->dl.mask]);
	weir_pkt_free_bulk(e->pend + e->pend_off, e->npend);
	e->npend = 0;
	if (e->qd)
		weir_qdisc_reset(e->qd);
}

/*
 * When an lcore's snapshots (eg_publish) are next due. They are due only
 * while something moved since they were last taken: an idle lcore has
 * nothing new to tell and is not woken for it, yet what weir-stat reads
 * after a burst is at most FWD_PUBLISH_NS (tree: FWD_DUMP_NS) old.
 */
struct fwd_pub {
	weir_ns_t last_snap, last_dump;
	bool snap_dirty, dump_dirty;
};

static weir_ns_t pub_due(const struct fwd_pub *p, weir_ns_t deadline)
{
	weir_ns_t snap = p->last_snap + FWD_PUBLISH_NS, dump = p->last_dump + FWD_DUMP_NS;

	if (p->snap_dirty && weir_time_after(deadline, snap))
		deadline = snap;
	if (p->dump_dirty && weir_time_after(deadline, dump))
		deadline = dump;
	return deadline;
}

static void pub_run(struct fwd *f, uint16_t q, struct fwd_pub *p, weir_ns_t now)
{
	bool snap = p->snap_dirty && !weir_time_after(p->last_snap + FWD_PUBLISH_NS, now);
	bool dump = p->dump_dirty && !weir_time_after(p->last_dump + FWD_DUMP_NS, now);

	if (!snap && !dump)
		return;
	for (int i = 0; i < f->nports; i++)
		eg_publish(&f->ports[i].eg[q], dump);
	p->snap_dirty = false;
	p->last_snap = now;
	if (dump) {
		p->dump_dirty = false;
		p->last_dump = now;
	}
}

/*
 * Sleeps until a frame's deadline or until a port's RX fd fires, in sleeps
 * of at most 1 ms, and spins through the last few microseconds. Short
 * sleeps are the precise ones: the kernel lets a ppoll timeout run late by
 * 0.1% of its length (0.5% when niced), and this VM wakes later from longer
 * sleeps (measured: 30 us late after 0.5 ms, 60-80 us after 20 ms).
 */
static void wait_until(struct weir_idle *idle, weir_ns_t now, weir_ns_t deadline)
{
	weir_ns_t left = deadline - now;

	if (!weir_time_after(deadline, now) || left < 30 * WEIR_NS_PER_US)
		return;
	left -= 10 * WEIR_NS_PER_US;
	if (left > WEIR_NS_PER_MS)
		left = WEIR_NS_PER_MS;
	weir_idle_sleep(idle, left);
}

/*
 * Nothing in flight: sleeps until a frame comes, or the next snapshot is
 * due (only while there is something new to publish), or FWD_IDLE_NS,
 * which only bounds the sleep for a stop flag set without a wake-up.
 */
static void idle_sleep(struct fwd *f, uint16_t q, struct weir_idle *idle, const struct fwd_pub *pub,
		       weir_ns_t now)
{
	weir_ns_t until = pub_due(pub, now + FWD_IDLE_NS);

	if (!weir_time_after(until, now))
		return;
	/* Completions left unreaped and descriptors left unkicked would
	 * wait for the next frame, however long that takes. */
	for (int i = 0; i < f->nports; i++)
		weir_port_tx_done(f->ports[i].port, q);
	weir_idle_sleep(idle, until - now);
}

/*
 * One lcore: polls RX queue q of every port and moves each egress along.
 * With nothing to do it sleeps on the RX fds: at once in precise short
 * sleeps when something is due within 1 ms (the shaper's next token, DQL's
 * completions); after WEIR_IDLE_SPIN_POLLS empty polls when the next thing
 * due is further (a frame's release from the delay line, a snapshot); and
 * when nothing is due at all, until a frame comes (idle_sleep).
 */
static int fwd_lcore_main(void *arg)
{
	struct fwd_lcore *lc = arg;
	struct fwd *f = lc->f;
	struct weir_pkt *pkts[FWD_MAX_BURST];
	struct weir_idle idle;
	weir_ns_t start = weir_clock_now();
	struct fwd_pub pub = {.last_snap = start - FWD_DUMP_NS, .last_dump = start - FWD_DUMP_NS,
			      .snap_dirty = true, .dump_dirty = true};
	uint16_t q = lc->q;

	/* Sub-millisecond sleeps only help if the timer is not coalesced. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	if (weir_idle_init(&idle, WEIR_IDLE_SPIN_POLLS, 0) < 0)
		return -1;
	for (int i = 0; i < f->nports; i++) {
		int fd = weir_port_wait_fd(f->ports[i].port, q);

		if (fd >= 0)
			weir_idle_add_fd(&idle, fd);
	}
	while (!weir_should_stop()) {
		weir_ns_t now = weir_clock_now(), forever = now + FWD_IDLE_NS, deadline = forever;
		uint32_t work = 0;

		for (int i = 0; i < f->nports; i++) {
			struct fwd_port *in = &f->ports[i], *out = &f->ports[in->peer];
			uint16_t n = weir_port_rx_burst(in->port, q, pkts, f->burst);

			if (!n)
				continue;
			work += n;
			if (f->mode == MODE_MACSWAP)
				macswap(pkts, n);
			eg_admit(f, lc, out, &out->eg[q], pkts, n, now);
		}
		for (int i = 0; i < f->nports; i++)
			work += eg_run(f, &f->ports[i], &f->ports[i].eg[q], q, now, &deadline);
		if (work)
			pub.snap_dirty = pub.dump_dirty = true;
		pub_run(f, q, &pub, now);
		if (work) {
			weir_idle_should_sleep(&idle, work);
			continue;
		}
		/* Due within 1 ms (a shaper's token, a completion): no spin,
		 * straight to the precise sleep, as a frame in flight needs. */
		if (weir_time_after(now + WEIR_NS_PER_MS, deadline)) {
			wait_until(&idle, now, deadline);
			continue;
		}
		if (!weir_idle_should_sleep(&idle, 0))
			continue;
		if (deadline != forever)
			wait_until(&idle, now, deadline);
		else
			idle_sleep(f, q, &idle, &pub, now);
	}
	for (int i = 0; i < f->nports; i++) {
		eg_drain(&f->ports[i].eg[q]);
		eg_publish(&f->ports[i].eg[q], true);
	}
	weir_idle_fini(&idle);
	return 0;
}

/* --- reporting ---------------------------------------------------------- */

struct totals {
	uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes, drops;
	uint64_t backlog_pkts, backlog_bytes, dline_pkts;
};

static void totals_get(struct fwd *f, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < f->nports; i++) {
		struct fwd_port *p = &f->ports[i];
		struct weir_port_stats st;

		weir_port_stats_get(p->port, &st);
		t->rx_pkts += st.ipackets;
		t->rx_bytes += st.ibytes;
		t->tx_pkts += st.opackets;
		t->tx_bytes += st.obytes;
		t->drops += st.imissed + st.rx_nombuf + st.oerrors + st.odropped;
		for (uint16_t q = 0; q < f->queues; q++) {
			struct fwd_eg *e = &p->eg[q];

			t->drops += ctr(&e->emu_loss) + ctr(&e->emu_overflow) + ctr(&e->tx_drop);
			pthread_mutex_lock(&e->mu);
			t->drops += e->snap.qs.drops;
			t->backlog_pkts += e->snap.qs.backlog_pkts;
			t->backlog_bytes += e->snap.qs.backlog_bytes;
			t->dline_pkts += e->snap.dline_pkts;
			pthread_mutex_unlock(&e->mu);
		}
	}
}

static void write_qstats_json(FILE *o, const struct weir_qdisc_stats *s)
{
	fprintf(o,
		"{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"backlog_pkts\":%u,"
		"\"backlog_bytes\":%" PRIu64 ",\"drops\":%" PRIu64 ",\"drops_limit\":%" PRIu64
		",\"drops_aqm\":%" PRIu64 ",\"ecn_marks\":%" PRIu64 ",\"overlimits\":%" PRIu64
		",\"sojourn_ns\":%" PRIu64 "}",
		s->packets, s->bytes, s->backlog_pkts, s->backlog_bytes, s->drops, s->drops_limit,
		s->drops_aqm, s->ecn_marks, s->overlimits, (uint64_t)s->last_sojourn);
}

/* The driver's own counters (checksums completed, frames too big, ...);
 * drivers keep them as relaxed atomics, so any thread may read them. */
static void write_xstats_json(FILE *o, struct weir_port *port)
{
	struct weir_xstat xs[64];
	int n = weir_port_xstats_get(port, xs, (int)WEIR_ARRAY_SIZE(xs));

	fputc('{', o);
	for (int i = 0; i < n && i < (int)WEIR_ARRAY_SIZE(xs); i++) {
		fprintf(o, "%s", i ? "," : "");
		report_json_str(o, xs[i].name);
		fprintf(o, ":%" PRIu64, xs[i].value);
	}
	fputc('}', o);
}

static void fwd_json(FILE *o, void *arg)
{
	struct fwd *f = arg;
	weir_ns_t now = weir_clock_now();

	fprintf(o, "{\"app\":\"weir-fwd\",\"mode\":\"%s\",\"uptime_s\":%.3f,\"queues\":%u,",
		mode_names[f->mode], (double)(now - f->start) / 1e9, f->queues);
	fprintf(o, "\"delay_ns\":%" PRIu64 ",\"jitter_ns\":%" PRIu64 ",\"loss\":%g,\"ports\":[",
		(uint64_t)f->delay, (uint64_t)f->jitter, f->loss);
	for (int i = 0; i < f->nports; i++) {
		struct fwd_port *p = &f->ports[i];
		struct weir_port_stats st;

		weir_port_stats_get(p->port, &st);
		fprintf(o, "%s{\"id\":%d,\"spec\":", i ? "," : "", i);
		report_json_str(o, p->spec);
		fprintf(o, ",\"peer\":%d,\"egress\":", p->peer);
		if (p->egress)
			report_json_str(o, p->egress);
		else
			fputs("null", o);
		fprintf(o,
			",\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 ",\"rx_missed\":%" PRIu64
			",\"rx_nombuf\":%" PRIu64 ",\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
			",\"tx_errors\":%" PRIu64 ",\"tx_dropped\":%" PRIu64 ",\"queues\":[",
			st.ipackets, st.ibytes, st.imissed, st.rx_nombuf, st.opackets, st.obytes,
			st.oerrors, st.odropped);
		for (uint16_t q = 0; q < f->queues; q++) {
			struct fwd_eg *e = &p->eg[q];
			struct weir_queue_stats rq, tq;

			weir_port_queue_stats(p->port, q, &rq, &tq);

			fprintf(o,
				"%s{\"queue\":%u,\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64
				",\"rx_drops\":%" PRIu64 ",\"tx_packets\":%" PRIu64
				",\"tx_bytes\":%" PRIu64 ",\"tx_drops\":%" PRIu64
				",\"fwd_tx_drops\":%" PRIu64 ",\"emu_loss\":%" PRIu64
				",\"emu_overflow\":%" PRIu64 ",\"gso_frames\":%" PRIu64
				",\"gso_segments\":%" PRIu64 ",\"gso_errors\":%" PRIu64,
				q ? "," : "", q, rq.packets, rq.bytes, rq.drops, tq.packets, tq.bytes,
				tq.drops, ctr(&e->tx_drop), ctr(&e->emu_loss),
				ctr(&e->emu_overflow), ctr(&e->gso_frames), ctr(&e->gso_segs),
				ctr(&e->gso_errors));
			pthread_mutex_lock(&e->mu);
			fprintf(o, ",\"delay_line_pkts\":%u", e->snap.dline_pkts);
			if (e->qd) {
				fprintf(o, ",\"dql_limit\":%u,\"qdisc\":", e->snap.dql_limit);
				write_qstats_json(o, &e->snap.qs);
				if (e->snap.tree_json)
					fprintf(o, ",\"tree\":%s", e->snap.tree_json);
			}
			pthread_mutex_unlock(&e->mu);
			fputc('}', o);
		}
		fputs("],\"xstats\":", o);
		write_xstats_json(o, p->port);
		fputc('}', o);
	}
	fprintf(o, "],\"pool\":{\"size\":%u,\"in_use\":%u,\"alloc_fails\":%" PRIu64 "}}",
		f->pool->n, weir_pool_in_use(f->pool),
		(uint64_t)atomic_load(&f->pool->alloc_fails));
}

static void live_line(struct fwd *f, const struct totals *prev, const struct totals *cur,
		      double dt)
{
	char a[32], b[32], c[32];

	fprintf(stderr, "weir-fwd: rx %spps  tx %spps %sbit/s  drops %" PRIu64
			"/s  backlog %" PRIu64 " pkts %" PRIu64 " B  delay-line %" PRIu64 "\n",
		app_fmt_si((double)(cur->rx_pkts - prev->rx_pkts) / dt, a, sizeof(a)),
		app_fmt_si((double)(cur->tx_pkts - prev->tx_pkts) / dt, b, sizeof(b)),
		app_fmt_si((double)(cur->tx_bytes - prev->tx_bytes) * 8 / dt, c, sizeof(c)),
		(uint64_t)((double)(cur->drops - prev->drops) / dt), cur->backlog_pkts,
		cur->backlog_bytes, cur->dline_pkts);
	(void)f;
}

static void summary(struct fwd *f, double secs, FILE *o)
{
	struct totals t;
	char a[32], b[32];

	if (f->json) {
		fwd_json(o, f);
		return;
	}
	totals_get(f, &t);
	fprintf(o, "weir-fwd: %s mode, %.2f s: rx %" PRIu64 " pkts (%spps), tx %" PRIu64
	       " pkts (%sbit/s), drops %" PRIu64 "\n",
	       mode_names[f->mode], secs, t.rx_pkts,
	       app_fmt_si(secs > 0 ? (double)t.rx_pkts / secs : 0, a, sizeof(a)), t.tx_pkts,
	       app_fmt_si(secs > 0 ? (double)t.tx_bytes * 8 / secs : 0, b, sizeof(b)), t.drops);
	for (int i = 0; i < f->nports; i++) {
		struct fwd_port *p = &f->ports[i];
		struct weir_port_stats st;
		uint64_t loss = 0, over = 0, txd = 0, qdrops = 0, marks = 0;

		weir_port_stats_get(p->port, &st);
		for (uint16_t q = 0; q < f->queues; q++) {
			loss += ctr(&p->eg[q].emu_loss);
			over += ctr(&p->eg[q].emu_overflow);
			txd += ctr(&p->eg[q].tx_drop);
			qdrops += p->eg[q].snap.qs.drops;
			marks += p->eg[q].snap.qs.ecn_marks;
		}
		fprintf(o, "  port %d %s: rx %" PRIu64 " missed %" PRIu64 " | tx %" PRIu64
		       " dropped %" PRIu64 " | egress %s: drops %" PRIu64 " ecn %" PRIu64
		       " | emu loss %" PRIu64 " overflow %" PRIu64 "\n",
		       i, p->spec, st.ipackets, st.imissed + st.rx_nombuf, st.opackets,
		       st.odropped + st.oerrors + txd, p->egress ? p->egress : "none", qdrops, marks,
		       loss, over);
	}
}

/* --- setup ------------------------------------------------------------------ */

static const struct app_opt fwd_opts[] = {
	{"port", 'p', "SPEC", "a port, given two or more times; pairs 0<->1, 2<->3 ...\n"
			      "e.g. afpacket:veth0, afxdp:veth1?queues=2, ring:a, null:"},
	{"mode", 'm', "MODE", "l2 (default): bump in the wire, both ways, frames as they are\n"
			      "io: the same path, for benchmarks like testpmd io\n"
			      "macswap: swap source and destination MAC, like testpmd"},
	{"egress", 'e', "[PORT@]QDISC", "scheduler tree on a port's egress (all ports if no\n"
					"PORT@), e.g. \"tbf rate 100mbit burst 32k / fq_codel\",\n"
					"or \"1@fifo\" for the bloated baseline on port 1"},
	{"delay", 'd', "TIME", "propagation delay per direction, e.g. 20ms (kept apart\n"
			       "from the egress queue: never counted as queueing)"},
	{"jitter", 0, "TIME", "uniform jitter +-TIME around --delay (no reordering)"},
	{"loss", 0, "PROB", "random loss per direction, e.g. 0.1% or 0.001"},
	{"seed", 0, "N", "seed for loss and jitter (default 1): runs repeat exactly"},
	{"queues", 'q', "N", "queue pairs per port, one lcore per queue (default 1)"},
	{"cores", 'c', "LIST", "pin lcore q to the q-th CPU of LIST, e.g. 0,1"},
	{"burst", 'b', "N", "frames per RX/TX burst (default 32, max 256)"},
	{"pool", 0, "N", "packet buffers (default 32k)"},
	{"delay-limit", 0, "N", "frames the delay line holds per direction (default 64k)"},
	{"duration", 't', "TIME", "stop after TIME (default: until Ctrl-C)"},
	{"stats-socket", 's', "PATH", "serve JSON telemetry on a unix socket (read: weir-stat PATH)"},
	{"json", 'j', NULL, "print the final summary as JSON"},
	{"live", 0, NULL, "print the per-second line even when stderr is not a terminal"},
	{"quiet", 0, NULL, "no per-second line"},
	{"log-level", 0, "LEVEL", "error, warn, info (default) or debug"},
	{NULL, 0, NULL, NULL},
};

static int fwd_set(void *ctx, const char *name, const char *val, char *why, size_t len)
{
	struct fwd *f = ctx;
	uint64_t v;
	int r;

	if (!strcmp(name, "port")) {
		if (f->nports == FWD_MAX_PORTS) {
			snprintf(why, len, "at most %d ports", FWD_MAX_PORTS);
			return -EINVAL;
		}
		f->ports[f->nports++].spec = strdup(val);
	} else if (!strcmp(name, "mode")) {
		for (size_t i = 0; i < WEIR_ARRAY_SIZE(mode_names); i++) {
			if (!strcmp(val, mode_names[i])) {
				f->mode = (enum fwd_mode)i;
				return 0;
			}
		}
		if (!strcmp(val, "l3"))
			snprintf(why, len, "l3 needs weir's UDP/IP stack, which is not built yet "
					   "(modes: l2, io, macswap)");
		else
			snprintf(why, len, "unknown mode (modes: l2, io, macswap)");
		return -EINVAL;
	} else if (!strcmp(name, "egress")) {
		const char *at = strchr(val, '@');

		if (at) {
			char idx[16];
			uint64_t pi;

			snprintf(idx, sizeof(idx), "%.*s", (int)(at - val), val);
			if (app_parse_u64(idx, 0, FWD_MAX_PORTS - 1, &pi, why, len) < 0)
				return -EINVAL;
			free(f->ports[pi].egress);
			f->ports[pi].egress = strdup(at + 1);
		} else {
			free(f->egress_all);
			f->egress_all = strdup(val);
		}
	} else if (!strcmp(name, "delay")) {
		return app_parse_duration(val, &f->delay, why, len);
	} else if (!strcmp(name, "jitter")) {
		return app_parse_duration(val, &f->jitter, why, len);
	} else if (!strcmp(name, "duration")) {
		return app_parse_duration(val, &f->duration, why, len);
	} else if (!strcmp(name, "loss")) {
		return app_parse_prob(val, &f->loss, why, len);
	} else if (!strcmp(name, "seed")) {
		return app_parse_u64(val, 0, UINT64_MAX, &f->seed, why, len);
	} else if (!strcmp(name, "queues")) {
		if ((r = app_parse_u64(val, 1, FWD_MAX_QUEUES, &v, why, len)) < 0)
			return r;
		f->queues = (uint16_t)v;
	} else if (!strcmp(name, "cores")) {
		r = app_parse_cpus(val, f->cpus, FWD_MAX_QUEUES, why, len);
		if (r < 0)
			return r;
		f->ncpus = r;
	} else if (!strcmp(name, "burst")) {
		if ((r = app_parse_u64(val, 1, FWD_MAX_BURST, &v, why, len)) < 0)
			return r;
		f->burst = (uint16_t)v;
	} else if (!strcmp(name, "pool")) {
		if ((r = app_parse_u64(val, 1024, 1u << 24, &v, why, len)) < 0)
			return r;
		f->pool_size = (uint32_t)v;
	} else if (!strcmp(name, "delay-limit")) {
		if ((r = app_parse_u64(val, 16, 1u << 24, &v, why, len)) < 0)
			return r;
		f->dline_size = (uint32_t)weir_align_pow2(v);
	} else if (!strcmp(name, "stats-socket")) {
		/* A copy: the pointer, from --config, bound a garbage path. */
		return app_set_str(&f->stats_socket, val, why, len);
	} else if (!strcmp(name, "json")) {
		f->json = true;
	} else if (!strcmp(name, "live")) {
		f->live = true;
	} else if (!strcmp(name, "quiet")) {
		f->quiet = true;
	} else if (!strcmp(name, "log-level")) {
		enum weir_log_level l;

		if (weir_log_parse_level(val, &l) < 0) {
			snprintf(why, len, "unknown level (error, warn, info, debug)");
			return -EINVAL;
		}
		weir_log_set_level(l);
	}
	return 0;
}

static int check_settings(struct fwd *f)
{
	if (f->nports < 2 || f->nports % 2) {
		fprintf(stderr, "weir-fwd: give an even number of ports, at least two "
				"(--port A --port B; got %d; try --help)\n", f->nports);
		return -EINVAL;
	}
	if (f->ncpus && f->ncpus < f->queues) {
		fprintf(stderr, "weir-fwd: --cores lists %d CPUs but --queues %u needs one per "
				"queue\n", f->ncpus, f->queues);
		return -EINVAL;
	}
	{
		char why[512];

		if (app_check_cpus(f->cpus, f->ncpus, why, sizeof(why)) < 0) {
			fprintf(stderr, "weir-fwd: --cores: %s\n", why);
			return -EINVAL;
		}
	}
	for (int i = f->nports; i < FWD_MAX_PORTS; i++) {
		if (f->ports[i].egress) {
			fprintf(stderr, "weir-fwd: --egress %d@...: there is no port %d (ports are "
					"numbered from 0 in the order given)\n", i, i);
			return -EINVAL;
		}
	}
	if (f->jitter > f->delay && f->jitter) {
		fprintf(stderr, "weir-fwd: --jitter %.3f ms is larger than --delay %.3f ms (a "
				"frame cannot leave before it arrived)\n",
			(double)f->jitter / 1e6, (double)f->delay / 1e6);
		return -EINVAL;
	}
	return 0;
}

static int setup(struct fwd *f)
{
	struct weir_pool_conf pc = {.name = "fwd", .n = f->pool_size};
	char why[WEIR_PORT_ERRSIZE + 64];
	int err;

	if ((err = weir_pool_create(&pc, &f->pool)) < 0) {
		fprintf(stderr, "weir-fwd: cannot create a pool of %u buffers: %s (try a smaller "
				"--pool)\n", f->pool_size, strerror(-err));
		return err;
	}
	for (int i = 0; i < f->nports; i++) {
		struct fwd_port *p = &f->ports[i];
		struct weir_port_conf conf = {.pool = f->pool, .nb_rxq = f->queues,
					      .nb_txq = f->queues};

		p->peer = i ^ 1;
		if (!p->egress && f->egress_all)
			p->egress = strdup(f->egress_all);
		err = weir_port_open(p->spec, &conf, &p->port, why, sizeof(why));
		if (err < 0) {
			fprintf(stderr, "weir-fwd: port %d: %s\n", i, why);
			return err;
		}
		if (weir_port_nb_rxq(p->port) < f->queues || weir_port_nb_txq(p->port) < f->queues) {
			fprintf(stderr, "weir-fwd: port %d (%s) opened %u RX / %u TX queues, "
					"--queues %u needs that many (add ?queues=%u to the spec)\n",
				i, p->spec, weir_port_nb_rxq(p->port), weir_port_nb_txq(p->port),
				f->queues, f->queues);
			return -EINVAL;
		}
		for (uint16_t q = 0; q < f->queues; q++) {
			struct fwd_eg *e = &p->eg[q];

			pthread_mutex_init(&e->mu, NULL);
			if (f->delay || f->jitter) {
				e->dl.slot = calloc(f->dline_size, sizeof(*e->dl.slot));
				if (!e->dl.slot)
					return -ENOMEM;
				e->dl.mask = f->dline_size - 1;
			}
			if (!p->egress)
				continue;
			err = weir_qdisc_create(p->egress, &e->qd, why, sizeof(why));
			if (err < 0) {
				fprintf(stderr, "weir-fwd: --egress for port %d: %s\n", i, why);
				return err;
			}
			weir_dql_init(&e->dql, WEIR_NS_PER_SEC);
			weir_port_tx_completed(p->port, q, NULL, &e->done_seen);
		}
	}
	return 0;
}

static void teardown(struct fwd *f)
{
	for (int i = 0; i < FWD_MAX_PORTS; i++) {
		struct fwd_port *p = &f->ports[i];

		for (uint16_t q = 0; q < FWD_MAX_QUEUES && i < f->nports; q++) {
			weir_qdisc_destroy(p->eg[q].qd);
			free(p->eg[q].dl.slot);
			free(p->eg[q].snap.tree_json);
		}
		if (p->port)
			weir_port_close(p->port);
		free(p->spec);
		free(p->egress);
	}
	free(f->egress_all);
	free(f->stats_socket);
}

static const struct app_cli fwd_cli = {
	.prog = "weir-fwd",
	.section = "fwd",
	.synopsis = "weir-fwd --port SPEC --port SPEC [--mode l2|io|macswap] [--egress QDISC]\n"
		    "                [--delay TIME] [OPTIONS]",
	.about = "Forwards frames between pairs of ports (0<->1, 2<->3, ...), both ways, with\n"
		 "an egress scheduler per port and link emulation (delay, jitter, loss). The\n"
		 "delay sits before the egress queue, so it never counts as queueing. Prints\n"
		 "one line of stats per second on a terminal and a summary at the end.",
	.footer = "Examples:\n"
		  "  # a 100 Mbit/s link with 20 ms one-way delay and fq_codel, between veths\n"
		  "  weir-fwd -p afpacket:veth0 -p afpacket:veth1 --delay 20ms \\\n"
		  "           --egress \"tbf rate 100mbit burst 32k / fq_codel\"\n"
		  "  # the bloated baseline: a FIFO behind the shaper\n"
		  "  weir-fwd -p afpacket:veth0 -p afpacket:veth1 --delay 20ms \\\n"
		  "           --egress \"tbf rate 100mbit burst 32k / fifo limit 10000\"\n"
		  "  # testpmd-style benchmark on two null ports, two queues on CPUs 0,1\n"
		  "  weir-fwd -p null:?queues=2 -p null:?queues=2 -m io -q 2 -c 0,1 -t 5s\n"
		  "  # the same settings from a file\n"
		  "  weir-fwd --config configs/fwd-l2-delay.conf\n"
		  "Exit status: 0 ok, 1 bad usage, 2 a port or scheduler failed, 3 buffers leaked.\n",
	.opts = fwd_opts,
	.set = fwd_set,
};

int main(int argc, char **argv)
{
	/* Cache-line aligned: every fwd_eg embeds a struct weir_dql. */
	struct fwd *f = aligned_alloc(_Alignof(struct fwd), sizeof(struct fwd));
	struct app_cli cli = fwd_cli;
	struct app_tele *tele = NULL;
	struct totals prev, cur;
	weir_ns_t last;
	int r, rc = 0, launched = 0;
	char *sum_doc = NULL;
	size_t sum_len = 0;
	FILE *sum_out;
	uint32_t leaked = 0;

	if (!f)
		return 2;
	memset(f, 0, sizeof(*f));
	f->queues = 1;
	f->burst = 32;
	f->seed = 1;
	f->pool_size = 32768;
	f->dline_size = 65536;
	cli.ctx = f;
	r = app_cli_parse(&cli, argc, argv);
	if (r || check_settings(f) < 0) {
		/* --help (r > 0) or bad usage: nothing was opened yet. */
		teardown(f);
		free(f);
		return r > 0 ? 0 : 1;
	}
	weir_signal_install();
	if (setup(f) < 0) {
		rc = 2;
		goto out;
	}
	f->start = weir_clock_now();
	for (uint16_t q = 0; q < f->queues; q++) {
		struct fwd_lcore *lc = &f->lcores[q];

		lc->f = f;
		lc->q = q;
		lc->cpu = f->ncpus ? f->cpus[q] : -1;
		lc->rng = f->seed * 0x9e3779b97f4a7c15ULL + q;
		r = weir_lcore_launch(lc->cpu, 1 + q, fwd_lcore_main, lc, &lc->lc);
		if (r < 0) {
			fprintf(stderr, "weir-fwd: cannot start lcore %u on CPU %d: %s\n", q,
				lc->cpu, strerror(-r));
			weir_stop = 1;
			rc = 2;
			break;
		}
		launched++;
	}
	if (f->stats_socket && !rc) {
		char why[256];

		r = app_tele_start(f->stats_socket, fwd_json, f, &tele, why, sizeof(why));
		if (r < 0) {
			fprintf(stderr, "weir-fwd: --stats-socket %s\n", why);
			weir_stop = 1;
			rc = 2;
		}
	}
	totals_get(f, &prev);
	last = f->start;
	while (!weir_should_stop()) {
		weir_ns_t now = weir_clock_now(), next = last + WEIR_NS_PER_SEC;

		/* Wakes for the next line or the end, not to poll the flag. */
		if (f->duration && weir_time_after(next, f->start + f->duration))
			next = f->start + f->duration;
		if (weir_time_after(next, now) && weir_stop_wait(next - now))
			break;
		now = weir_clock_now();
		if (f->duration && now - f->start >= f->duration)
			break;
		if (now - last < WEIR_NS_PER_SEC)
			continue;
		totals_get(f, &cur);
		if (!f->quiet && (f->live || isatty(STDERR_FILENO)))
			live_line(f, &prev, &cur, (double)(now - last) / 1e9);
		prev = cur;
		last = now;
	}
	weir_stop = 1;
	for (int q = 0; q < launched; q++)
		weir_lcore_join(f->lcores[q].lc, NULL);
	app_tele_stop(tele);
	/* Rendered now, printed after the ports are closed, so the JSON can
	 * say whether every buffer came home. */
	if (!rc) {
		sum_out = open_memstream(&sum_doc, &sum_len);
		if (sum_out) {
			summary(f, (double)(weir_clock_now() - f->start) / 1e9, sum_out);
			fclose(sum_out);
		}
	}
out:
	teardown(f);
	if (f->pool) {
		leaked = weir_pool_in_use(f->pool);

		if (leaked) {
			fprintf(stderr, "weir-fwd: %u packet buffers leaked\n", leaked);
			if (!rc)
				rc = 3;
		}
		weir_pool_destroy(f->pool);
	}
	if (sum_doc) {
		report_finish(stdout, sum_doc, sum_len, f->json, leaked);
		free(sum_doc);
	}
	free(f);
	return rc;
}
