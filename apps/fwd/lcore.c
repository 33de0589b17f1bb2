// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd's lcore: polls RX queue q of every port, runs the engine on each
 * burst, moves every egress it owns along, and sleeps when there is
 * nothing to do, so an idle weir-fwd costs almost nothing: precise short
 * sleeps when something is due within 1 ms, a spin and then a sleep until
 * the next release or snapshot, and with nothing due a sleep until a frame
 * comes. Snapshots for the control thread are taken only while something
 * moved since the last one.
 */
#include "weir/lcore.h"
#include "weir/port.h"

#include "fwd/fwd.h"

/*
 * When an lcore's snapshots (fwd_eg_publish) are next due. They are due only
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
		fwd_eg_publish(&f->ports[i].eg[q], dump);
	p->snap_dirty = false;
	p->last_snap = now;
	if (dump) {
		p->dump_dirty = false;
		p->last_dump = now;
	}
}

/*
 * Sleeps until a frame's deadline or until a port's RX fd fires (see
 * app_wait_until): sleeps of at most 1 ms, the last 10 us spun, nothing
 * under 30 us.
 */
static void wait_until(struct weir_idle *idle, weir_ns_t now, weir_ns_t deadline)
{
	app_wait_until(idle, now, deadline, 30 * WEIR_NS_PER_US, 10 * WEIR_NS_PER_US);
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

/* What wakes lc from a sleep: its RX queues, the engine's commands; and no
 * sleep longer than a port allows. */
static void wait_setup(struct fwd_lcore *lc, struct weir_idle *idle)
{
	struct fwd *f = lc->f;

	for (int i = 0; i < f->nports; i++) {
		int fd = weir_port_wait_fd(f->ports[i].port, lc->q);

		if (fd >= 0)
			weir_idle_add_fd(idle, fd);
		weir_idle_cap(idle, weir_port_idle_poll_ns(f->ports[i].port));
	}
	if (f->engine->wait_fd) {
		int fd = f->engine->wait_fd(lc); /* a command for the engine wakes it too */

		if (fd >= 0)
			weir_idle_add_fd(idle, fd);
	}
}

/*
 * One lcore: polls RX queue q of every port and moves each egress along.
 * With nothing to do it sleeps on the RX fds: at once in precise short
 * sleeps when something is due within 1 ms (the shaper's next token, DQL's
 * completions); after WEIR_IDLE_SPIN_POLLS empty polls when the next thing
 * due is further (a frame's release from the delay line, a snapshot); and
 * when nothing is due at all, until a frame comes (idle_sleep).
 */
int fwd_lcore_main(void *arg)
{
	struct fwd_lcore *lc = arg;
	struct fwd *f = lc->f;
	struct weir_pkt *pkts[FWD_MAX_BURST];
	struct weir_idle idle;
	weir_ns_t start = weir_clock_now();
	struct fwd_pub pub = {.last_snap = start - FWD_DUMP_NS, .last_dump = start - FWD_DUMP_NS,
			      .snap_dirty = true, .dump_dirty = true};
	uint16_t q = lc->q;
	const struct fwd_engine *eng = f->engine;
	/* Hoisted: one test per burst, as the mode switch was. */
	uint16_t (*burst)(struct fwd_lcore *, int, struct weir_pkt **, uint16_t, weir_ns_t) =
		eng->burst;
	int err = app_idle_init(&idle);

	if (err < 0)
		return err;
	if (eng->lcore_init && (err = eng->lcore_init(lc)) < 0) {
		weir_idle_fini(&idle);
		return err;
	}
	wait_setup(lc, &idle);
	while (!weir_should_stop()) {
		weir_ns_t now = weir_clock_now(), forever = now + FWD_IDLE_NS, deadline = forever;
		uint32_t work = 0;

		for (int i = 0; i < f->nports; i++) {
			struct fwd_port *in = &f->ports[i], *out;
			uint16_t n = weir_port_rx_burst(in->port, q, pkts, f->base.burst);

			if (!n)
				continue;
			work += n;
			if (burst && !(n = burst(lc, i, pkts, n, now)))
				continue;
			out = &f->ports[in->peer];
			fwd_eg_admit(f, lc, out, &out->eg[q], pkts, n, now, in->rx_gso);
		}
		if (eng->poll)
			work += eng->poll(lc, now, &deadline);
		for (int i = 0; i < f->nports; i++)
			work += fwd_eg_run(f, &f->ports[i], &f->ports[i].eg[q], q, now, &deadline);
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
		fwd_eg_drain(&f->ports[i].eg[q]);
		fwd_eg_publish(&f->ports[i].eg[q], true);
	}
	if (eng->lcore_fini)
		eng->lcore_fini(lc);
	weir_idle_fini(&idle);
	return 0;
}
