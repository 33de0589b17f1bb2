// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-cap's receive lcores: lcore q polls RX queue q of every port,
 * filters, stamps and hands matching frames to the writer through its own
 * SPSC ring, never waiting: what does not fit is freed and counted as
 * dropped by weir. Idle, it sleeps on the ports' wait fds; busy while the
 * writer falls behind, it yields its CPU (which the writer may share).
 * Inline (one lcore, cap.h), it writes the frames itself: the batch goes
 * to the file when it is full, before a sleep, or after CAP_FLUSH_NS.
 */
#include <sched.h>

#include "weir/lcore.h"
#include "weir/port.h"

#include "cap/cap.h"
#include "common/fastpath.h"

#define CAP_IDLE_NS (10 * WEIR_NS_PER_MS)
#define CAP_MIRROR_IDLE_NS (200 * WEIR_NS_PER_US) /* a mirror has no fd to wake us */
/* Empty polls before a sleep. An afpacket block comes whole (full, or
 * retired by its 1 ms timer): spinning for the next one is wasted. (At
 * 300 kpps bench/capture.sh PARTS=cpu saw no difference beyond its noise
 * against the harness's 512: 223 ns a frame against 226.) */
#define CAP_SPIN_POLLS 16

void cap_rx_hand(struct cap_rx *rx, int i, struct weir_pkt **pkts, uint32_t n, uint32_t seen)
{
	struct cap *c = rx->c;
	uint32_t sent = n;

	if (c->inline_write) {
		for (uint32_t k = 0; k < n; k++)
			cap_write_frame(c, pkts[k]);
		cap_out_release(&c->out);
	} else if (n) {
		sent = weir_ring_enqueue_burst(rx->ring, (void *const *)pkts, n);
		if (sent < n)
			weir_pkt_free_bulk(pkts + sent, n - sent);
	}
	ctr_add(&rx->cnt[i].recv, seen);
	if (n)
		ctr_add(&rx->cnt[i].match, n);
	if (sent < n)
		ctr_add(&rx->cnt[i].drop, n - sent);
}

/* One burst from port i: filter, stamp, hand over. Returns frames received. */
static uint32_t rx_port(struct cap *c, struct cap_rx *rx, int i)
{
	struct weir_pkt *pkts[APP_MAX_BURST], *keep[APP_MAX_BURST];
	uint16_t n = weir_port_rx_burst(c->ports[i], rx->q, pkts, c->base.burst);
	uint32_t nk = 0;
	weir_ns_t now;

	if (!n)
		return 0;
	now = weir_clock_now();
	for (uint16_t k = 0; k < n; k++) {
		struct weir_pkt *p = pkts[k];

		if (!cap_filter_match(&c->filter, p, c->snaplen, rx->scratch)) {
			weir_pkt_free(p);
			continue;
		}
		/* Drivers stamp frames with the monotonic clock; files want
		 * the wall clock. */
		p->timestamp = (p->timestamp ? p->timestamp : now) + c->rt_off;
		p->udata64 = CAP_META(i, WEIR_PCAPNG_DIR_IN);
		keep[nk++] = p;
	}
	cap_rx_hand(rx, i, keep, nk, n);
	/* A writer behind by an eighth of the ring may be waiting for this
	 * CPU (--writer thread with both on one): let it run. Alone on its
	 * CPU the yield returns at once. */
	if (!c->inline_write && weir_ring_count(rx->ring) > c->ring_size / 8)
		sched_yield();
	return n;
}

static int rx_fds(struct cap *c, struct cap_rx *rx, struct weir_idle *idle)
{
	int rc = app_idle_init(idle);

	if (rc < 0)
		return rc;
	idle->spin_polls = CAP_SPIN_POLLS;
	for (int i = 0; i < c->nports; i++) {
		int fd = c->ports[i] ? weir_port_wait_fd(c->ports[i], rx->q) : -1;

		if (fd >= 0)
			weir_idle_add_fd(idle, fd);
		if (c->ports[i])
			weir_idle_cap(idle, weir_port_idle_poll_ns(c->ports[i]));
	}
	/* Inline, a sleep also waits out -G boundaries and the ISB period
	 * (housekeeping runs between sleeps). */
	if (c->inline_write)
		weir_idle_cap(idle, CAP_IDLE_NS);
	return 0;
}

int cap_rx_main(void *arg)
{
	struct cap_rx *rx = arg;
	struct cap *c = rx->c;
	struct weir_idle idle;
	int rc = rx_fds(c, rx, &idle);

	if (rc < 0)
		goto out;
	if (c->inline_write)
		cap_writer_start(c);
	while (!weir_should_stop() && !atomic_load_explicit(&c->finished, memory_order_relaxed)) {
		uint32_t work = 0;
		bool sleep;

		for (int i = 0; i < c->nports; i++) {
			if (c->ports[i])
				work += rx_port(c, rx, i);
			else if (rx->q == 0)
				work += cap_mirror_poll(c, rx, i);
		}
		sleep = weir_idle_should_sleep(&idle, work);
		/* Inline, the batch goes to the file before a sleep. */
		if (c->inline_write && (work || sleep))
			cap_writer_step(c, sleep);
		if (sleep)
			weir_idle_sleep(&idle, c->nmirrors ? CAP_MIRROR_IDLE_NS : CAP_IDLE_NS);
	}
	weir_idle_fini(&idle);
out:
	if (c->inline_write)
		cap_writer_end(c);
	/* Pairs with the writer's acquire load: every enqueue above is
	 * visible before the writer sees done and drains the ring. */
	atomic_store_explicit(&rx->done, true, memory_order_release);
	return rc;
}
