// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-cap's writer lcore: drains the receive lcores' rings into the
 * output (cap/out.c), rotates files (-C before a frame that would make the
 * file too big, -G at wall-clock boundaries by the frames' own timestamps
 * and by the clock when idle, SIGHUP at once), writes interface statistics
 * every --isb-interval and at the end of each file, and stops after -c
 * frames. It ends once every receive lcore has ended and its ring is
 * empty, so each frame a receive lcore took is written or freed: the
 * counts at the end are exact.
 *
 * When the output fails (full disk, I/O error) the error is said once, the
 * capture stops (c->finished), the file stays valid up to its last
 * complete block, and the rest is drained and freed.
 *
 * The same steps (cap_write_frame, cap_writer_step, cap_writer_end) run
 * inline in the receive lcore when weir-cap has one CPU for both (see
 * cap/rx.c): then there is no ring and no writer lcore.
 */
#include <stdio.h>
#include <time.h>

#include "weir/lcore.h"

#include "cap/cap.h"

#define WRITER_IDLE_NS (100 * WEIR_NS_PER_US)

volatile sig_atomic_t cap_hup;

void cap_port_stats(struct cap *c, int i, struct weir_pcapng_stats *st)
{
	struct weir_port_stats ps = {0};

	st->start = c->t_start;
	st->ifrecv = st->ifdrop = 0;
	for (uint16_t q = 0; q < c->nrx; q++) {
		st->ifrecv += atomic_load_explicit(&c->rx[q].cnt[i].recv, memory_order_relaxed);
		st->ifdrop += atomic_load_explicit(&c->rx[q].cnt[i].drop, memory_order_relaxed);
	}
	if (c->mirrors[i]) {
		uint64_t seen, drops;

		/* The app counts what matched and what found no room. */
		cap_mirror_stats(c->mirrors[i], &seen, &drops);
		st->ifrecv = seen;
		st->ifdrop += drops;
		st->osdrop = 0;
		return;
	}
	weir_port_stats_get(c->ports[i], &ps);
	st->ifdrop += ps.rx_nombuf;
	st->osdrop = ps.imissed;
}

static void write_isbs(struct cap *c, weir_ns_t ts)
{
	for (int i = 0; i < c->nports; i++) {
		struct weir_pcapng_stats st;

		cap_port_stats(c, i, &st);
		cap_out_stats(&c->out, (uint32_t)i, ts, &st);
	}
}

/* Ends the current file (its ISBs) and starts the next at ts. */
static void rotate(struct cap *c, weir_ns_t ts)
{
	struct cap_out *o = &c->out;

	write_isbs(c, ts);
	cap_out_flush(o);
	cap_files_close(o);
	o->named = true;
	if (cap_files_open(o, ts) == 0)
		cap_out_start(o, ts);
}

void cap_write_frame(struct cap *c, struct weir_pkt *p)
{
	struct cap_out *o = &c->out;

	if (c->count && o->frames + o->nframes >= c->count) {
		/* -c reached: what the receivers had already taken is freed. */
		atomic_store_explicit(&c->finished, true, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->over, 1, memory_order_relaxed);
		weir_pkt_free(p);
		return;
	}
	if (o->named) {
		uint32_t caplen = p->pkt_len < o->snaplen ? p->pkt_len : o->snaplen;
		uint32_t len = o->format == CAP_FMT_PCAP ? 16 + caplen
							  : (uint32_t)weir_pcapng_epb_size(caplen);

		if (cap_out_due(o, p->timestamp, len))
			rotate(c, p->timestamp);
	}
	cap_out_frame(o, p);
}

/* One pass over the rings: returns the frames taken. */
static uint32_t drain(struct cap *c)
{
	struct weir_pkt *pkts[CAP_BATCH];
	uint32_t got = 0;

	for (uint16_t q = 0; q < c->nrx; q++) {
		uint32_t n = weir_ring_dequeue_burst(c->rx[q].ring, (void **)pkts, CAP_BATCH);

		for (uint32_t k = 0; k < n; k++)
			cap_write_frame(c, pkts[k]);
		cap_out_release(&c->out);
		got += n;
	}
	return got;
}

static bool receivers_done(const struct cap *c)
{
	for (uint16_t q = 0; q < c->nrx; q++)
		if (!atomic_load_explicit(&c->rx[q].done, memory_order_acquire))
			return false;
	return true;
}

/* Time-driven work between bursts: SIGHUP, -G when idle, periodic ISBs. */
static void housekeeping(struct cap *c, bool idle, weir_ns_t now)
{
	struct cap_out *o = &c->out;
	weir_ns_t rt = now + c->rt_off;

	if (cap_hup && !o->err && o->fd != 1) {
		cap_hup = 0;
		rotate(c, rt);
	}
	if (idle && o->rot_ns && o->named && !weir_time_after(o->next_rot, rt))
		rotate(c, rt);
	if (c->isb_interval && !weir_time_after(c->next_isb, now)) {
		write_isbs(c, rt);
		cap_out_flush(o);
		c->next_isb = now + c->isb_interval;
	}
}

static void say_error(struct cap *c)
{
	struct cap_out *o = &c->out;

	if (!o->err || c->err_said)
		return;
	fprintf(stderr, "weir-cap: %s; capture stopped (the file is valid up to its last "
			"complete block)\n", o->errmsg);
	atomic_store_explicit(&c->out_err, o->err, memory_order_relaxed);
	atomic_store_explicit(&c->finished, true, memory_order_relaxed);
	c->err_said = true;
}

void cap_writer_start(struct cap *c)
{
	c->next_isb = c->last_flush = weir_clock_now();
	c->next_isb += c->isb_interval;
}

void cap_writer_step(struct cap *c, bool idle)
{
	struct cap_out *o = &c->out;
	weir_ns_t now = weir_clock_now();

	/* Frames wait in the batch (it flushes itself when full) until the
	 * source goes quiet or CAP_FLUSH_NS passed: a write per burst would
	 * cost a syscall per few frames at low rates. */
	if (idle || now - c->last_flush >= CAP_FLUSH_NS) {
		cap_out_flush(o);
		c->last_flush = now;
	}
	if (c->count && o->frames >= c->count)
		atomic_store_explicit(&c->finished, true, memory_order_relaxed);
	atomic_store_explicit(&c->written, o->frames, memory_order_relaxed);
	say_error(c);
	housekeeping(c, idle, now);
}

void cap_writer_end(struct cap *c)
{
	struct cap_out *o = &c->out;

	cap_out_flush(o);
	say_error(c);
	write_isbs(c, weir_clock_now() + c->rt_off);
	cap_out_finish(o);
	atomic_store_explicit(&c->written, o->frames, memory_order_relaxed);
	if (o->err && !c->err_said) {
		fprintf(stderr, "weir-cap: %s\n", o->errmsg);
		atomic_store_explicit(&c->out_err, o->err, memory_order_relaxed);
	}
}

int cap_writer_main(void *arg)
{
	struct cap *c = arg;

	cap_writer_start(c);
	for (;;) {
		/* done is read before the drain: an rx lcore that ended
		 * before it has all its frames in the ring by then. */
		bool last = receivers_done(c);
		uint32_t got = drain(c);

		cap_writer_step(c, !got);
		if (last && !got)
			break;
		if (!got)
			nanosleep(&(struct timespec){.tv_nsec = WRITER_IDLE_NS}, NULL);
	}
	cap_writer_end(c);
	return 0;
}
