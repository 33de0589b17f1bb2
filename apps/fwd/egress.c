// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd's egress: per port and TX queue, the path after RX and the
 * engine,
 *     [GRO | GSO cut] -> [loss, delay line] -> [egress qdisc -> DQL] -> tx burst
 * all run by the one lcore that owns the queue, so nothing here is shared
 * but the counters (relaxed atomics, one writer) and the snapshots the
 * control thread reads under the egress' mutex.
 */
#include <stdio.h>
#include <stdlib.h>

#include "weir/offload.h"
#include "weir/port.h"

#include "common/fastpath.h"
#include "fwd/fwd.h"

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

/* Software GRO over the burst (a burst only: no frame waits for more). */
static uint16_t eg_gro(struct fwd_eg *e, struct weir_pkt **pkts, uint16_t n)
{
	struct weir_gro_stats st = {0};

	n = weir_gro_burst(pkts, n, &st);
	if (st.frames) {
		ctr_add(&e->gro_frames, st.frames);
		ctr_add(&e->gro_segs, st.segs);
	}
	if (st.csum_verified) {
		ctr_add(&e->gro_csum_verified, st.csum_verified);
		if (st.csum_bad)
			ctr_add(&e->gro_csum_bad, st.csum_bad);
	}
	return n;
}

/*
 * Takes frames bound for egress e. Super-frames pass whole where nothing
 * needs them cut; otherwise they are segmented here, in front of the
 * scheduler, as Linux's tbf does with GSO packets larger than its burst.
 * Order is kept: the frames before a super-frame go first.
 */
void fwd_eg_admit_all(struct fwd *f, struct fwd_lcore *lc, struct fwd_port *out,
		      struct fwd_eg *e, struct weir_pkt **pkts, uint16_t n, weir_ns_t now)
{
	unsigned flags = weir_port_tx_offloads(out->port) & WEIR_PORT_OFFLOAD_CSUM
				 ? WEIR_GSO_CSUM_PARTIAL : 0;
	uint16_t run = 0;

	if (n > 1 && e->gro)
		n = eg_gro(e, pkts, n);
	for (uint16_t i = 0; i < n; i++) {
		struct weir_pkt *segs[FWD_MAX_BURST];
		int k;

		if (weir_likely(!eg_must_segment(f, out, e, pkts[i])))
			continue;
		if (i > run)
			eg_admit_wire(f, lc, out, e, pkts + run, (uint16_t)(i - run), now);
		run = (uint16_t)(i + 1);
		k = weir_gso_segment(pkts[i], f->base.pool, segs, FWD_MAX_BURST, flags);
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
 * Releases due frames from e's delay line: into the qdisc, or with none
 * straight to the driver, where what it does not take waits at the head
 * (backpressure, not loss). Lowers *deadline to the next release; returns
 * frames moved, with *full set when the driver's ring was full.
 */
static uint32_t dl_release(struct fwd *f, struct weir_port *port, struct fwd_eg *e, uint16_t q,
			   weir_ns_t now, weir_ns_t *deadline, bool *full)
{
	uint32_t work = 0;

	while (dline_count(&e->dl)) {
		struct weir_pkt *p = e->dl.slot[e->dl.head & e->dl.mask];
		struct weir_pkt *b[FWD_MAX_BURST];
		uint16_t n = 0, sent;

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
		while (n < f->base.burst && e->dl.head + n != e->dl.tail) {
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
			*full = true;
			break;
		}
	}
	return work;
}

/* Hands the qdisc's output to the driver while DQL allows. Lowers
 * *deadline to when the qdisc or DQL lets the next frame go. */
static uint32_t qd_run(struct fwd *f, struct weir_port *port, struct fwd_eg *e, uint16_t q,
		       weir_ns_t now, weir_ns_t *deadline)
{
	uint32_t work = 0;

	eg_complete(port, q, e, now);
	for (;;) {
		uint16_t sent;

		if (e->npend == 0) {
			weir_ns_t due = 0;

			e->pend_off = 0;
			/* Linux BQL's rule: a queue may take a frame while the
			 * limit is not yet exceeded (avail >= 0). */
			while (e->npend < f->base.burst && weir_dql_avail(&e->dql) >= 0) {
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

void fwd_eg_config(const struct fwd *f, const struct fwd_port *out, struct fwd_eg *e)
{
	bool shaped = e->qd || f->loss > 0;

	const uint32_t need = WEIR_PORT_OFFLOAD_CSUM | WEIR_PORT_OFFLOAD_GSO_TCP |
			      WEIR_PORT_OFFLOAD_GSO_GAIN;

	e->direct = !shaped && !f->delay && !f->jitter;
	e->cut = shaped ? FWD_GSO : FWD_GSO & ~weir_port_tx_offloads(out->port);
	/* GRO's super-frames go where they are sent whole with partial
	 * checksums and are worth it (a kernel or guest past the port takes
	 * one 64 KiB frame for many), and where nothing counts or drops wire
	 * frames (a qdisc, emulated loss), which would have them cut again. */
	e->gro = f->gro && !shaped && (weir_port_tx_offloads(out->port) & need) == need;
}

uint32_t fwd_eg_run_all(struct fwd *f, struct fwd_port *out, struct fwd_eg *e, uint16_t q,
			weir_ns_t now, weir_ns_t *deadline)
{
	bool full = false;
	uint32_t work = dl_release(f, out->port, e, q, now, deadline, &full);

	if (full || !e->qd)
		return work;
	return work + qd_run(f, out->port, e, q, now, deadline);
}

/* Snapshots e's qdisc statistics for the control thread, and with `dump`
 * the whole tree as JSON. */
void fwd_eg_publish(struct fwd_eg *e, bool dump)
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

void fwd_eg_drain(struct fwd_eg *e)
{
	while (dline_count(&e->dl))
		weir_pkt_free(e->dl.slot[e->dl.head++ & e->dl.mask]);
	weir_pkt_free_bulk(e->pend + e->pend_off, e->npend);
	e->npend = 0;
	if (e->qd)
		weir_qdisc_reset(e->qd);
}
