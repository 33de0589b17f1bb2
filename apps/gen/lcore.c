// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-gen's lcore: lcore q owns TX queue q of the TX port and RX queue q of
 * the RX port, sends its share of the schedule (tx.c) and receives (rx.c).
 * Between packets it sleeps towards the next one's time; receiving only, it
 * sleeps until a frame comes, so an idle receiver costs almost nothing.
 */
#include "weir/lcore.h"
#include "weir/port.h"

#include "gen/gen.h"

/* Sleeps towards the next packet's time or until a frame comes (see
 * app_wait_until); the last 50 us are spun, a sleep wakes 5-50 us late. */
static void wait_until(struct weir_idle *idle, weir_ns_t now, weir_ns_t deadline)
{
	app_wait_until(idle, now, deadline, 60 * WEIR_NS_PER_US, 50 * WEIR_NS_PER_US);
}

/*
 * One lcore: sends its share of the schedule and receives its RX queue.
 * While sending it sleeps until the next packet is due (or a frame comes).
 * Receiving only, it spins WEIR_IDLE_SPIN_POLLS empty polls and then sleeps
 * until a frame comes: the histograms are merged for the main thread once a
 * second only while frames arrive, and GEN_IDLE_NS only bounds the sleep
 * for a stop flag set without weir_stop_request().
 */
int gen_lcore_main(void *arg)
{
	struct gen_lcore *lc = arg;
	struct gen *g = lc->g;
	struct tx_state *ts = NULL;
	struct weir_idle idle;
	weir_ns_t next_pub;
	bool tx = g->txp != NULL, rx = g->rxp != NULL, dirty = false;
	int rc = app_idle_init(&idle);

	if (rc < 0)
		return rc;
	if (rx) {
		int fd = weir_port_wait_fd(g->rxp, lc->q);

		if (fd >= 0)
			weir_idle_add_fd(&idle, fd);
		weir_idle_cap(&idle, weir_port_idle_poll_ns(g->rxp));
	}
	if (tx) {
		ts = gen_tx_new(g, lc, &rc);
		if (!ts)
			goto out;
		tx = ts->nflows != 0;
	}
	next_pub = weir_clock_now() + GEN_PUBLISH_NS;
	while (!weir_should_stop()) {
		weir_ns_t now = weir_clock_now(), forever = now + GEN_IDLE_NS, wake = forever;
		uint32_t work = 0, got;

		if (tx && gen_tx_over(g, ts, now)) {
			tx = false;
			/* Unsent packets of a finished run are not sent. */
			weir_pkt_free_bulk(ts->pend + ts->pend_off, ts->npend);
			ts->npend = 0;
			atomic_store(&lc->c.tx_done, true);
		} else if (tx) {
			work += gen_tx_run(g, lc, ts, now, &wake);
			if (g->base.duration && weir_time_after(wake, g->base.start + g->base.duration))
				wake = g->base.start + g->base.duration;
		}
		got = rx ? gen_rx_run(g, lc, now) : 0;
		work += got;
		if (!tx && (!rx || atomic_load(&g->rx_stop)))
			break;
		dirty |= got != 0;
		if (dirty && weir_time_after(now, next_pub)) {
			gen_publish(lc);
			dirty = false;
			next_pub = now + GEN_PUBLISH_NS;
		}
		if (dirty && weir_time_after(wake, next_pub))
			wake = next_pub;
		if (tx) {
			if (!work)
				wait_until(&idle, weir_clock_now(), wake);
			continue;
		}
		if (!weir_idle_should_sleep(&idle, work))
			continue;
		/* A reflector's last replies must not wait for the next frame. */
		if (wake == forever && g->mode == MODE_REFLECT)
			weir_port_tx_done(g->rxp, lc->q);
		now = weir_clock_now();
		if (weir_time_after(wake, now))
			weir_idle_sleep(&idle, wake - now);
	}
out:
	gen_tx_free(ts);
	gen_publish(lc);
	atomic_store(&lc->c.tx_done, true);
	weir_idle_fini(&idle);
	return rc;
}
